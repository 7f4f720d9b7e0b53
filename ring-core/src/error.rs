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
    /// The memory asked for (a pool of buffers sized by the caller) could
    /// not be allocated. Its [`errno`](Error::errno) is `ENOMEM`, so as an
    /// [`std::io::Error`] its kind is `OutOfMemory`.
    #[error("allocating {bytes} bytes for {what} failed")]
    Alloc {
        /// What the memory was for.
        what: &'static str,
        /// The size asked for.
        bytes: usize,
    },
}

impl Error {
    /// The underlying errno, where there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Setup(e) | Error::Map { errno: e, .. } | Error::Register { errno: e, .. } => {
                Some(*e)
            }
            Error::Alloc { .. } => Some(Errno::NOMEM),
            Error::InvalidArgument(_) => None,
        }
    }
}

impl From<Error> for std::io::Error {
    /// Wraps the error so that `?` works in a function returning
    /// [`std::io::Result`]. The [`kind`](std::io::Error::kind) is the errno's
    /// (`InvalidInput` for [`Error::InvalidArgument`]); the message names the
    /// failed call and the errno, as [`Error`]'s does.
    ///
    /// [`raw_os_error`](std::io::Error::raw_os_error) is `None`: std keeps
    /// an errno there only in an error without a message of its own. The
    /// errno is one downcast away:
    ///
    /// ```
    /// use ring_core::{Errno, IoUring};
    ///
    /// // A setup flag this crate refuses before any syscall, and
    /// // an SQ size the kernel refuses.
    /// let refused: std::io::Error = IoUring::builder().raw_flags(1 << 15).build(8).unwrap_err().into();
    /// assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    /// let err: std::io::Error = IoUring::new(0).unwrap_err().into();
    /// assert!(err.to_string().starts_with("io_uring_setup failed: "));
    /// let errno = err
    ///     .get_ref()
    ///     .and_then(|e| e.downcast_ref::<ring_core::Error>())
    ///     .and_then(ring_core::Error::errno);
    /// assert_eq!(errno, Some(Errno::INVAL));
    /// assert_eq!(err.kind(), Errno::INVAL.kind());
    /// ```
    fn from(e: Error) -> Self {
        let kind = match e.errno() {
            Some(errno) => errno.kind(),
            None => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, e)
    }
}
