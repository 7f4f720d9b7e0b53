//! Errors of ring setup and registration. The hot path (submit, wait, CQE
//! results) uses [`rustix::io::Errno`] and [`crate::SubmitError`] instead.

use rustix::io::Errno;

/// Which ring region failed to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Region {
    /// The SQ ring (`IORING_OFF_SQ_RING`), which is also the CQ ring with
    /// `IORING_FEAT_SINGLE_MMAP`.
    SqRing,
    /// The CQ ring (`IORING_OFF_CQ_RING`).
    CqRing,
    /// The SQE array (`IORING_OFF_SQES`).
    Sqes,
    /// A provided-buffer ring's memory.
    BufRing,
}

impl core::fmt::Display for Region {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Region::SqRing => "submission queue ring",
            Region::CqRing => "completion queue ring",
            Region::Sqes => "SQE array",
            Region::BufRing => "provided-buffer ring",
        })
    }
}

/// An error creating a ring or registering something with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `io_uring_setup` failed (for example `ENOMEM` for a too-large ring,
    /// `EINVAL` for flags the kernel does not know, `ENOSYS` where io_uring is
    /// disabled).
    #[error("io_uring_setup failed: {0}")]
    Setup(Errno),
    /// Mapping a ring region failed.
    #[error("mapping the {region} failed: {errno}")]
    Map {
        /// The region.
        region: Region,
        /// The error of `mmap`.
        errno: Errno,
    },
    /// An `io_uring_register` operation failed.
    #[error("io_uring_register({op}) failed: {errno}")]
    Register {
        /// The register operation, as the kernel names it.
        op: &'static str,
        /// The error.
        errno: Errno,
    },
    /// An argument was out of range before any syscall was made.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl Error {
    /// The underlying errno, where there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Setup(e) | Error::Map { errno: e, .. } | Error::Register { errno: e, .. } => {
                Some(*e)
            }
            Error::InvalidArgument(_) => None,
        }
    }
}
