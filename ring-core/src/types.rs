//! Small argument types shared by the opcodes: file targets, timespecs and
//! the kernel structs operations point to.
//!
//! ring-core's public API names no rustix path: the kernel structs it takes
//! that rustix already defines are re-exported here ([`IoVec`], [`MsgHdr`],
//! [`Statx`], [`CpuSet`]), so a user never needs rustix in their own
//! manifest. They are rustix's types, so a rustix major version that changes
//! them is a ring-core major version too. Structs rustix lacks are defined
//! here with the kernel's layout.

use core::time::Duration;

use rustix::fd::{AsRawFd, RawFd};

/// `struct statx`, filled by `Statx` (rustix's type).
pub use rustix::fs::Statx;
/// `struct iovec`: one buffer of a vectored operation (rustix's type).
pub use rustix::io_uring::iovec as IoVec;
/// `struct msghdr` for `SendMsg`/`RecvMsg` (rustix's type).
pub use rustix::io_uring::MsgHdr;
/// A CPU set for `register_iowq_aff` (rustix's type).
pub use rustix::thread::CpuSet;

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

/// The kernel's `struct open_how` for [`Openat2`](crate::opcode::Openat2)
/// (`openat2(2)`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OpenHow {
    /// `O_*` flags.
    pub flags: u64,
    /// The mode for `O_CREAT`/`O_TMPFILE`.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}

const _: () = assert!(core::mem::size_of::<OpenHow>() == 24);

/// The kernel's `struct epoll_event`, for
/// [`EpollCtl`](crate::opcode::EpollCtl) and
/// [`EpollWait`](crate::opcode::EpollWait). Packed on x86-64, as the kernel
/// declares it there.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EpollEvent {
    /// `EPOLL*` event bits.
    pub events: u32,
    /// The user's value, returned with the event.
    pub data: u64,
}

#[cfg(target_arch = "x86_64")]
const _: () = assert!(core::mem::size_of::<EpollEvent>() == 12);

/// The kernel's `struct futex_waitv`: one futex of a
/// [`FutexWaitv`](crate::opcode::FutexWaitv).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FutexWaitv {
    /// The value the futex word must still hold for the wait to sleep.
    pub val: u64,
    /// The futex word's address.
    pub uaddr: u64,
    /// `FUTEX2_*` flags (size, `FUTEX2_PRIVATE`).
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

const _: () = assert!(core::mem::size_of::<FutexWaitv>() == 24);

/// The `siginfo_t` that [`Waitid`](crate::opcode::Waitid) fills, with the
/// fields `waitid(2)` sets for a child's state change.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Siginfo([u8; 128]);

impl Siginfo {
    /// An all-zero siginfo.
    pub const fn zeroed() -> Self {
        Siginfo([0; 128])
    }
    fn i32_at(&self, at: usize) -> i32 {
        i32::from_ne_bytes([self.0[at], self.0[at + 1], self.0[at + 2], self.0[at + 3]])
    }
    /// `si_signo` (`SIGCHLD` once filled).
    pub fn signo(&self) -> i32 {
        self.i32_at(0)
    }
    /// `si_code` (`CLD_EXITED`, `CLD_KILLED`, ...).
    pub fn code(&self) -> i32 {
        self.i32_at(8)
    }
    /// `si_pid`: the child.
    pub fn pid(&self) -> i32 {
        self.i32_at(16)
    }
    /// `si_status`: the exit status or the signal.
    pub fn status(&self) -> i32 {
        self.i32_at(24)
    }
}

impl Default for Siginfo {
    fn default() -> Self {
        Siginfo::zeroed()
    }
}

impl core::fmt::Debug for Siginfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Siginfo")
            .field("signo", &self.signo())
            .field("code", &self.code())
            .field("pid", &self.pid())
            .field("status", &self.status())
            .finish()
    }
}
