//! Owned epoll operations: changing an interest list and waiting for
//! events through the ring.
//!
//! Invariants owned here: the epoll instance and the watched file are
//! descriptors the operation holds (the kernel resolves both numbers when
//! the operation runs, which for a linked one is late); the event an
//! `EpollCtl` hands in and the array an `EpollWait` fills are boxed in the
//! operation.

use std::os::fd::AsRawFd;

use super::{Operation, SharedFd, Target};
use crate::opcode;
use crate::squeue;
use crate::types::EpollEvent;
use crate::RingId;

/// Adds, changes or removes a file in an epoll instance's interest list
/// (`epoll_ctl(2)`, Linux 5.6).
#[derive(Debug)]
pub struct EpollCtl {
    epfd: SharedFd,
    fd: SharedFd,
    op: i32,
    event: Box<EpollEvent>,
}

impl EpollCtl {
    fn with(epfd: &SharedFd, fd: &SharedFd, op: i32, events: u32, data: u64) -> Self {
        EpollCtl {
            epfd: epfd.clone(),
            fd: fd.clone(),
            op,
            event: Box::new(EpollEvent { events, data }),
        }
    }
    /// `EPOLL_CTL_ADD`: watch `fd` for `events` (`EPOLLIN` 0x1, `EPOLLOUT`
    /// 0x4, ...); `data` comes back with each event. The epoll instance
    /// is a descriptor, not a registered file: the kernel looks it up by
    /// number.
    pub fn add(epfd: &SharedFd, fd: &SharedFd, events: u32, data: u64) -> Self {
        Self::with(epfd, fd, 1, events, data)
    }
    /// `EPOLL_CTL_MOD`: change what `fd` is watched for.
    pub fn modify(epfd: &SharedFd, fd: &SharedFd, events: u32, data: u64) -> Self {
        Self::with(epfd, fd, 3, events, data)
    }
    /// `EPOLL_CTL_DEL`: stop watching `fd`.
    pub fn delete(epfd: &SharedFd, fd: &SharedFd) -> Self {
        Self::with(epfd, fd, 2, 0, 0)
    }
}

// SAFETY: the entry points to the boxed event (heap, stable), which the
// kernel reads; both descriptors are shares the operation holds.
unsafe impl Operation for EpollCtl {
    fn entry(&mut self) -> squeue::Entry {
        let event: *const EpollEvent = &*self.event;
        opcode::EpollCtl::new(
            crate::types::Target::Fd(self.epfd.as_raw_fd()),
            self.fd.as_raw_fd(),
            self.op,
            event,
        )
        .build()
    }
}

/// Waits until an epoll instance has events and collects up to `max` of
/// them (`epoll_wait(2)`, Linux 6.15); the result is how many, at the
/// start of [`events`](Self::events).
#[derive(Debug)]
pub struct EpollWait {
    target: Target,
    events: Box<[EpollEvent]>,
}

/// `EP_MAX_EVENTS`: the most events one wait may ask for.
const MAX_EVENTS: u32 = i32::MAX as u32 / std::mem::size_of::<EpollEvent>() as u32;

impl EpollWait {
    /// Waits on the epoll instance `epfd` for up to `max` events.
    ///
    /// The kernel refuses a `max` of 0 or above `EP_MAX_EVENTS` (about
    /// 179 million) with `EINVAL`; for those no array is allocated and
    /// the wait completes with that error.
    pub fn new(epfd: impl Into<Target>, max: u32) -> Self {
        let len = if max > MAX_EVENTS { 0 } else { max as usize };
        EpollWait {
            target: epfd.into(),
            events: vec![EpollEvent::default(); len].into_boxed_slice(),
        }
    }
    /// The epoll instance it waits on.
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// The event array (all of it; the first `result` entries are the
    /// events, the rest zeroed).
    pub fn events(&self) -> &[EpollEvent] {
        &self.events
    }
}

// SAFETY: the entry points to the boxed event array (heap, stable), whose
// length is the `max` the kernel writes at most; the epoll instance is a
// held share (or a slot of this ring, checked by `usable_on`).
unsafe impl Operation for EpollWait {
    fn entry(&mut self) -> squeue::Entry {
        let max = u32::try_from(self.events.len()).unwrap_or(u32::MAX);
        opcode::EpollWait::new(self.target.raw(), self.events.as_mut_ptr(), max).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}
