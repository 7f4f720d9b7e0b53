//! Readiness polling.

use super::{fileless, on};
use crate::squeue::Entry;
use crate::types::Target;

/// `IORING_OP_POLL_ADD` (5.1; multishot 5.13): completes with the ready
/// `POLL*` events.
#[derive(Clone, Copy, Debug)]
pub struct PollAdd {
    target: Target,
    events: u32,
    multishot: bool,
}

impl PollAdd {
    /// The opcode.
    pub const CODE: u8 = 6;
    /// Polls for `events` (`POLLIN`, `POLLOUT`, ...).
    #[inline]
    pub fn new(target: impl Into<Target>, events: u32) -> Self {
        PollAdd {
            target: target.into(),
            events,
            multishot: false,
        }
    }
    /// `IORING_POLL_ADD_MULTI`: post a completion with `MORE` on every
    /// readiness until cancelled.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.op_flags = self.events;
        e.len = self.multishot as u32;
        e
    }
}

/// `IORING_OP_POLL_REMOVE` (5.1): cancel the poll with `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct PollRemove {
    user_data: u64,
}

impl PollRemove {
    /// The opcode.
    pub const CODE: u8 = 7;
    /// Removes the poll submitted with `user_data`.
    #[inline]
    pub const fn new(user_data: u64) -> Self {
        PollRemove { user_data }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = self.user_data;
        e
    }
}
