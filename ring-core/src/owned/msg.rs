//! Ring-to-ring messages (`IORING_OP_MSG_RING`) in the safe tier.
//!
//! A message posts a completion into another ring. Completions find their
//! operation by the token in `user_data`, so a message that carried a
//! token's value would release an operation the kernel is still using.
//! Invariants owned here:
//! - every message's `user_data` has bit 63 set, which no [`Token`] has
//!   (tokens are never 0 and never have bit 63 set): the target ring's
//!   table matches it to no operation, and its completion iterator yields
//!   it as a completion without an operation, which
//!   [`Completion::message`] decodes;
//! - the target is a [`RingHandle`], made only from an owned [`Ring`] (so
//!   the ring that receives messages is one that treats them as above, not
//!   a raw ring whose owner may read `user_data` as a pointer) and holding
//!   a duplicate of its fd, so the descriptor the entry names stays open
//!   (and is the same ring) until the message has completed;
//! - messages carry data only. `IORING_MSG_SEND_FD` would install a file
//!   into a slot of the target's registered file table, which the
//!   target's [`Files`](super::Files) manages: a chosen slot would swap
//!   the file under the target's [`FixedFile`](super::FixedFile) shares,
//!   and an allocated one would be a slot its table believes free and
//!   hands out again. Neither can be made sound without the target's
//!   table taking part, so descriptor passing is left to the raw tier.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use super::completion::Completion;
use super::ring::Ring;
use super::{Operation, Store};
use crate::opcode;
use crate::squeue;
use crate::{Error, RingId};

/// The bit every message's `user_data` has and no token has.
const MESSAGE_BIT: u64 = 1 << 63;

/// A ring that can receive [`MsgRing`] messages: a duplicate of an owned
/// [`Ring`]'s fd. Cheap to clone and `Send`, so another thread's ring can
/// message this one.
///
/// ```
/// use ring_core::owned::{Message, op::MsgRing, Ring, RingHandle};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut target = Ring::new(8)?;
/// let handle = RingHandle::of(&target)?;
/// let sender = std::thread::spawn(move || -> std::io::Result<()> {
///     let mut ring = Ring::new(8)?;
///     ring.push(MsgRing::new(&handle, 7, 0)?)?;
///     ring.submit_and_wait(1)?;
///     Ok(())
/// });
/// sender.join().unwrap()?;
/// target.submit_and_wait(1)?;
/// let c = target.completions().next().unwrap();
/// assert_eq!(c.message(), Some(Message { value: 7, res: 0 }));
/// # Ok(()) }
/// ```
///
/// Only an owned ring gives a handle: a raw ring's owner may read
/// `user_data` as a pointer, so safe code must not post into it.
///
/// ```compile_fail
/// let raw = ring_core::IoUring::new(8).unwrap();
/// let handle = ring_core::owned::RingHandle::of(&raw).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct RingHandle {
    fd: Arc<OwnedFd>,
    id: RingId,
}

impl RingHandle {
    /// A handle to `ring` (`F_DUPFD_CLOEXEC` of its fd). The handle keeps
    /// the ring's kernel object alive: messages sent after the `Ring` is
    /// dropped complete normally and are never read.
    pub fn of<S: Store>(ring: &Ring<S>) -> Result<Self, Error> {
        let fd = ring.raw().dup_fd()?;
        Ok(RingHandle {
            fd: Arc::new(fd),
            id: ring.id(),
        })
    }

    /// The ring this handle reaches.
    pub fn ring_id(&self) -> RingId {
        self.id
    }

    /// Posts a message to this ring now, from any thread, without a ring
    /// of the caller's (`IORING_REGISTER_SEND_MSG_RING`, Linux 6.13): the
    /// same completion a [`MsgRing`] would post, with the same rules
    /// (`value` below 2^63). Fails with the kernel's error, for example
    /// `EOVERFLOW` when the target's completion queue is full.
    pub fn post(&self, value: u64, res: i32) -> Result<(), Error> {
        let mut msg = MsgRing::new(self, value, res)?;
        let entry = Operation::entry(&mut msg);
        // SAFETY: the entry is a data message to the ring fd `msg` holds
        // (open for the call), with a user_data that has bit 63 set (checked
        // in `MsgRing::new`) and no flags: on the owned ring it reaches it
        // is a completion without an operation, as for a pushed MsgRing.
        unsafe { crate::register::send_msg_ring(&entry) }
    }
}

/// Posts a completion into another ring (or this one): its
/// [`Completion::message`] there gives `value` and `res` back. This
/// operation's own completion says whether it was posted (0, or an error
/// such as `EOVERFLOW` when the target's completion queue is full).
#[derive(Debug)]
pub struct MsgRing {
    to: RingHandle,
    res: i32,
    user_data: u64,
}

impl MsgRing {
    /// A message of `value` (below 2^63) and `res` to `to`. A `value` with
    /// bit 63 set is refused: that bit is what keeps a message from being
    /// taken for an operation's token.
    pub fn new(to: &RingHandle, value: u64, res: i32) -> Result<Self, Error> {
        if value & MESSAGE_BIT != 0 {
            return Err(Error::InvalidArgument(
                "a message value must be below 2^63 (bit 63 marks messages)",
            ));
        }
        Ok(MsgRing {
            to: to.clone(),
            res,
            user_data: value | MESSAGE_BIT,
        })
    }
}

// SAFETY: points to no memory. The ring fd the entry names is the handle's
// duplicate, which the operation holds until its completion. The completion
// it posts carries a user_data with bit 63 set (checked in `new`) and no
// flags (no IORING_MSG_RING_FLAGS_PASS), so the target's table matches it
// to no operation; the target is an owned ring (RingHandle::of), which
// yields such a completion without an operation. It sends no descriptor.
unsafe impl Operation for MsgRing {
    fn entry(&mut self) -> squeue::Entry {
        opcode::MsgRing::data(
            crate::types::Target::Fd(self.to.fd.as_raw_fd()),
            self.res as u32,
            self.user_data,
        )
        .build()
    }
}

/// A message another ring (or this one) posted with [`MsgRing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The value it was sent with.
    pub value: u64,
    /// The `res` it was sent with.
    pub res: i32,
}

impl<S: Store, T> Completion<S, T> {
    /// The message this completion is, if it is one: a completion without
    /// an operation whose `user_data` has bit 63 set. Entries the raw tier
    /// pushed before the ring was wrapped
    /// ([`Ring::from_ring`](super::Ring::from_ring)) with such a
    /// `user_data` look the same.
    pub fn message(&self) -> Option<Message> {
        let data = self.cqe().user_data();
        if self.is_final() || data & MESSAGE_BIT == 0 {
            return None;
        }
        Some(Message {
            value: data & !MESSAGE_BIT,
            res: self.cqe().raw_result(),
        })
    }
}
