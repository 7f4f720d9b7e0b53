//! Small argument types shared by the opcodes: file targets and timespecs.

use core::time::Duration;

use rustix::fd::{AsRawFd, RawFd};

/// A file descriptor as an operation target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fd(pub RawFd);

/// An index into the ring's registered file table (a "direct descriptor");
/// the operation is submitted with `IOSQE_FIXED_FILE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed(pub u32);

/// The file an operation acts on: a normal fd or a registered index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A normal file descriptor.
    Fd(RawFd),
    /// A registered file index (`IOSQE_FIXED_FILE`).
    Fixed(u32),
}

impl From<Fd> for Target {
    #[inline]
    fn from(fd: Fd) -> Self {
        Target::Fd(fd.0)
    }
}

impl From<Fixed> for Target {
    #[inline]
    fn from(fixed: Fixed) -> Self {
        Target::Fixed(fixed.0)
    }
}

impl<T: AsRawFd> From<&T> for Target {
    #[inline]
    fn from(fd: &T) -> Self {
        Target::Fd(fd.as_raw_fd())
    }
}

/// Where an operation that creates a descriptor (accept, socket, openat)
/// puts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DestinationSlot {
    /// A normal file descriptor in the process's table (the default).
    #[default]
    Normal,
    /// This slot of the registered file table (a direct descriptor).
    Fixed(u32),
    /// Any free slot of the registered file table, within the allocation
    /// range (`IORING_FILE_INDEX_ALLOC`); the CQE's result is the slot.
    AutoFixed,
}

impl DestinationSlot {
    /// The `file_index` SQE field: slot + 1, `IORING_FILE_INDEX_ALLOC`, or 0.
    #[inline]
    pub(crate) const fn file_index(self) -> u32 {
        match self {
            DestinationSlot::Normal => 0,
            DestinationSlot::Fixed(slot) => slot + 1,
            DestinationSlot::AutoFixed => u32::MAX, // IORING_FILE_INDEX_ALLOC (~0U)
        }
    }
}

/// The kernel's `struct __kernel_timespec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, below 1,000,000,000.
    pub tv_nsec: i64,
}

impl Timespec {
    /// A timespec of `sec` seconds and `nsec` nanoseconds.
    #[inline]
    pub const fn new(sec: i64, nsec: i64) -> Self {
        Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        }
    }
}

impl From<Duration> for Timespec {
    #[inline]
    fn from(d: Duration) -> Self {
        Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        }
    }
}

const _: () = assert!(core::mem::size_of::<Timespec>() == 16);
