//! Owned readiness polling and the removal of polls and timeouts by token.
//!
//! Invariants owned here: a poll holds the [`Target`] it watches until its
//! final completion (for a multishot poll, the one without `MORE`); a
//! removal names its victim by [`Token`], which points the kernel at no
//! memory and no descriptor: a token that names nothing (an operation that
//! has completed, or one of another ring) makes the removal fail with
//! `ENOENT` and touches nothing.

use super::{Operation, Target, Token};
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// Waits until a file is ready (`poll(2)` events: `POLLIN` is 0x1,
/// `POLLOUT` 0x4); the result is the ready events. With
/// [`multishot`](Self::multishot) it reports every readiness until it is
/// removed ([`PollRemove`]) or cancelled.
#[derive(Debug)]
pub struct PollAdd {
    target: Target,
    events: u32,
    multishot: bool,
}

impl PollAdd {
    /// Waits for `events` on `fd`.
    pub fn new(fd: impl Into<Target>, events: u32) -> Self {
        PollAdd {
            target: fd.into(),
            events,
            multishot: false,
        }
    }
    /// `IORING_POLL_ADD_MULTI` (Linux 5.13): one completion (with `MORE`)
    /// per readiness; the operation comes back with the last one.
    pub fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
    /// The file it watches.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds
// until its final completion.
unsafe impl Operation for PollAdd {
    fn entry(&mut self) -> squeue::Entry {
        let p = opcode::PollAdd::new(self.target.raw(), self.events);
        if self.multishot { p.multishot() } else { p }.build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Removes the poll that `token` names (`IORING_OP_POLL_REMOVE`): it
/// completes with `ECANCELED` and is handed back. The result of the removal
/// is 0, or `ENOENT` if no poll has that token.
#[derive(Debug)]
pub struct PollRemove(Token);

impl PollRemove {
    /// Removes the poll pushed as `token` (on the ring this goes on).
    pub fn new(token: Token) -> Self {
        PollRemove(token)
    }
    /// The token of the poll it removes.
    pub fn token(&self) -> Token {
        self.0
    }
}

// SAFETY: points to no memory and names no descriptor: the token only
// matches user_data, and the victim keeps what it owns until its own final
// completion.
unsafe impl Operation for PollRemove {
    fn entry(&mut self) -> squeue::Entry {
        opcode::PollRemove::new(self.0.raw()).build()
    }
}

/// Removes the [`Timeout`](super::op::Timeout) that `token` names
/// (`IORING_OP_TIMEOUT_REMOVE`): it completes with `ECANCELED` and is
/// handed back. The result of the removal is 0, or `ENOENT` if no timeout
/// has that token (it fired already).
#[derive(Debug)]
pub struct TimeoutRemove(Token);

impl TimeoutRemove {
    /// Removes the timeout pushed as `token` (on the ring this goes on).
    pub fn new(token: Token) -> Self {
        TimeoutRemove(token)
    }
    /// The token of the timeout it removes.
    pub fn token(&self) -> Token {
        self.0
    }
}

// SAFETY: as for PollRemove: a token is not a pointer, and the timeout it
// names keeps its timespec until its own final completion.
unsafe impl Operation for TimeoutRemove {
    fn entry(&mut self) -> squeue::Entry {
        opcode::TimeoutRemove::new(self.0.raw()).build()
    }
}
