//! epoll through the ring: change an interest list, wait for events.

use rustix::fd::RawFd;

use super::{on, ptr};
use crate::squeue::Entry;
use crate::types::{EpollEvent, Target};

/// `IORING_OP_EPOLL_CTL` (5.6): `epoll_ctl(epfd, op, fd, event)`.
#[derive(Clone, Copy, Debug)]
pub struct EpollCtl {
    epfd: Target,
    fd: RawFd,
    op: i32,
    event: *const EpollEvent,
}

impl EpollCtl {
    /// The opcode.
    pub const CODE: u8 = 29;
    /// Applies `op` (`EPOLL_CTL_ADD`=1, `DEL`=2, `MOD`=3) for `fd` on the
    /// epoll instance `epfd`; `event` may be null for `DEL`.
    #[inline]
    pub fn new(epfd: impl Into<Target>, fd: RawFd, op: i32, event: *const EpollEvent) -> Self {
        EpollCtl {
            epfd: epfd.into(),
            fd,
            op,
            event,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.epfd);
        e.addr = ptr(self.event);
        e.len = self.op as u32;
        e.off = self.fd as u32 as u64;
        e
    }
}

/// `IORING_OP_EPOLL_WAIT` (6.15): `epoll_wait(epfd, events, maxevents, 0)`
/// that completes when the epoll instance has events; the result is how
/// many were written.
#[derive(Clone, Copy, Debug)]
pub struct EpollWait {
    epfd: Target,
    events: *mut EpollEvent,
    max: u32,
}

impl EpollWait {
    /// The opcode.
    pub const CODE: u8 = 59;
    /// Waits for up to `max` events into the array at `events`.
    #[inline]
    pub fn new(epfd: impl Into<Target>, events: *mut EpollEvent, max: u32) -> Self {
        EpollWait {
            epfd: epfd.into(),
            events,
            max,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.epfd);
        e.addr = ptr(self.events);
        e.len = self.max;
        e
    }
}
