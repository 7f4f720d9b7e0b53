//! Completions of the safe tier, and the received buffers they carry.
//!
//! Invariants owned here:
//! - a final completion carries its operation back; nothing else does;
//! - a buffer a completion carries goes back to its ring exactly once: when
//!   the [`OwnedBuf`] taken from it drops, or when the completion drops if
//!   it was never taken.

use std::mem::ManuallyDrop;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use super::{Operation, Store, Token};
use crate::buf_ring::BufRing;
use crate::{cqueue, Errno};

/// One completion. On the final completion of an operation it carries the
/// operation back ([`take_op`](Self::take_op)); every completion of an
/// operation carries its tag ([`tag`](Self::tag)): the value given to
/// [`Ring::push_tagged`](super::Ring::push_tagged) (a clone on multishot
/// completions, the value itself on the final one).
pub struct Completion<S: Store = Box<dyn Operation>, T = ()> {
    cqe: cqueue::Entry,
    op: Option<S>,
    tag: T,
    /// The buffer this completion carries, if any; the id and length are in
    /// `cqe`. Given back on drop unless taken.
    ///
    /// This and `fd` are released by `Drop` (out of line, by value), not by
    /// drop glue: with their glue the completion's glue grew past what the
    /// compiler inlines, every completion was then built in memory for an
    /// out-of-line drop, and a typed ring's NOP executed 46 more
    /// instructions (measured).
    held: ManuallyDrop<Option<Held>>,
    /// The descriptor the operation created (accept), closed on drop unless
    /// taken.
    fd: ManuallyDrop<Option<OwnedFd>>,
}

/// What a buffer completion holds besides its CQE: 16 bytes, so the cold
/// path that fills it returns it in registers, and a completion without a
/// buffer costs one null pointer.
pub(super) struct Held {
    pub(super) ring: Rc<BufRing>,
    pub(super) start: u32,
    /// As [`OwnedBuf`]'s field of the same name.
    pub(super) returns: u8,
}

impl<S: Store, T> Completion<S, T> {
    #[inline(always)]
    pub(super) fn new(
        cqe: cqueue::Entry,
        op: Option<S>,
        tag: T,
        held: Option<Held>,
        fd: Option<OwnedFd>,
    ) -> Self {
        Completion {
            cqe,
            op,
            tag,
            held: ManuallyDrop::new(held),
            fd: ManuallyDrop::new(fd),
        }
    }

    /// A completion of no operation of this ring (a message from another
    /// ring, an entry of the raw tier, a stale token): the default tag.
    /// Built inline, with only the tag made out of line: a completion
    /// returned from an out-of-line call is built in memory on every path
    /// (34 more instructions per typed NOP, measured).
    #[inline(always)]
    pub(super) fn orphan(cqe: cqueue::Entry) -> Self
    where
        T: Default,
    {
        Completion::new(cqe, None, default_tag(), None, None)
    }

    /// A final completion that carries nothing but its entry and its
    /// operation (no descriptor, no buffer), taken apart: what a holder
    /// that keeps it for later needs to store. Otherwise it comes back.
    #[inline(always)]
    pub(crate) fn into_plain(self) -> Result<(cqueue::Entry, S), Self>
    where
        T: Copy,
    {
        // Not dropped on the way out: its drop glue (the operation's) is an
        // out-of-line call the compiler cannot prove away, 20 more
        // instructions per completion (measured, rt_nop).
        let mut this = ManuallyDrop::new(self);
        if this.held.is_none() && this.fd.is_none() {
            if let Some(op) = this.op.take() {
                // What `this` still owns needs no drop: no buffer, no
                // descriptor, no operation (taken), and a `Copy` tag.
                return Ok((this.cqe, op));
            }
        }
        Err(ManuallyDrop::into_inner(this))
    }

    /// The same completion with `tag` for its tag (its operation,
    /// descriptor and buffer move over; the old tag is dropped).
    pub(crate) fn retag<U>(mut self, tag: U) -> Completion<S, U> {
        let held = self.held.take();
        let fd = self.fd.take();
        // What is left of `self` owns nothing that its `Drop` releases.
        Completion::new(self.cqe, self.op.take(), tag, held, fd)
    }

    /// The tag of the operation this completes; `T::default()` for a
    /// completion that is no operation's (a message from another ring, or
    /// an entry the raw tier pushed before the ring was wrapped).
    pub fn tag(&self) -> &T {
        &self.tag
    }

    /// Takes the tag (see [`tag`](Self::tag)), leaving `T::default()`.
    pub fn take_tag(&mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.tag)
    }

    /// The operation this completes.
    pub fn token(&self) -> Token {
        Token(self.cqe.user_data())
    }
    /// The result.
    pub fn result(&self) -> Result<u32, Errno> {
        self.cqe.result()
    }
    /// The raw completion.
    pub fn cqe(&self) -> &cqueue::Entry {
        &self.cqe
    }
    /// Whether more completions follow for this operation.
    pub fn more(&self) -> bool {
        self.cqe.more()
    }
    /// Whether this is the final completion (the operation is handed back).
    pub fn is_final(&self) -> bool {
        self.op.is_some()
    }
    /// The operation, on its final completion, without taking it.
    pub fn op(&self) -> Option<&S> {
        self.op.as_ref()
    }
    /// The received buffer, for receives with buffer select. If it is not
    /// taken, dropping the completion gives it back to its ring.
    pub fn take_buf(&mut self) -> Option<OwnedBuf> {
        Some(self.held.take()?.into_buf(&self.cqe))
    }

    /// The file descriptor the operation created (an accepted connection),
    /// now the caller's. If it is not taken, dropping the completion closes
    /// it.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fd.take()
    }
}

/// Gives an untaken buffer back to its ring (`held`, with the CQE that
/// delivered it). By value: a completion's drop passes no pointer to
/// itself out of line, so a completion without a buffer can live in
/// registers.
#[cold]
#[inline(never)]
fn give_back(held: Held, cqe: cqueue::Entry) {
    drop(held.into_buf(&cqe));
}

/// The tag of a completion of no operation, out of the hot path.
#[cold]
#[inline(never)]
fn default_tag<T: Default>() -> T {
    T::default()
}

/// Closes a descriptor nobody took.
#[cold]
#[inline(never)]
fn close(fd: OwnedFd) {
    drop(fd);
}

impl Held {
    /// The buffer this holds, as the CQE `cqe` describes it.
    #[inline]
    fn into_buf(self, cqe: &cqueue::Entry) -> OwnedBuf {
        let Held {
            ring,
            start,
            returns,
        } = self;
        OwnedBuf {
            ring,
            bid: cqe.buffer_id().unwrap_or_default(),
            start,
            len: buffer_len(cqe),
            returns,
        }
    }
}

impl<Tag> Completion<Box<dyn Operation>, Tag> {
    /// Takes the operation back, if this is its final completion and it is
    /// a `T`.
    pub fn take_op<T: Operation>(&mut self) -> Option<T> {
        let op = self.op.take()?;
        let any: Box<dyn std::any::Any> = op;
        match any.downcast::<T>() {
            Ok(t) => Some(*t),
            Err(_) => None,
        }
    }

    /// Takes the operation back as it is stored (boxed).
    #[inline(always)]
    pub(crate) fn take_boxed(&mut self) -> Option<Box<dyn Operation>> {
        self.op.take()
    }
}

impl<O: Operation, T> Completion<O, T> {
    /// Takes the operation back, if this is its final completion.
    pub fn take_op(&mut self) -> Option<O> {
        self.op.take()
    }
}

impl<S: Store, T> Drop for Completion<S, T> {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            give_back(held, self.cqe);
        }
        if let Some(fd) = self.fd.take() {
            close(fd);
        }
    }
}

impl<S: Store, T> std::fmt::Debug for Completion<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("token", &self.token())
            .field("cqe", &self.cqe)
            .field("final", &self.is_final())
            .finish()
    }
}

/// How many bytes a buffer completion delivered.
#[inline]
pub(super) fn buffer_len(cqe: &cqueue::Entry) -> u32 {
    cqe.raw_result().max(0) as u32
}

/// A received buffer from a [`BufRing`], owning a handle to the ring: it
/// returns the buffer to the kernel on drop.
pub struct OwnedBuf {
    ring: Rc<BufRing>,
    bid: u16,
    start: u32,
    len: u32,
    /// Whether dropping it gives the buffer back (0 while the kernel keeps
    /// the rest of an incrementally consumed buffer). A `u8`, not a `bool`:
    /// a bool's spare values would become the niche of `Option`s holding
    /// this, which then copy every field even when empty; this way the
    /// niche is the `Rc` pointer.
    returns: u8,
}

impl OwnedBuf {
    /// The buffer id.
    pub fn bid(&self) -> u16 {
        self.bid
    }
}

impl std::ops::Deref for OwnedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.ring.slice_at(self.bid, self.start, self.len)
    }
}

impl Drop for OwnedBuf {
    fn drop(&mut self) {
        if self.returns != 0 {
            self.ring.give_back(self.bid);
        }
    }
}

impl std::fmt::Debug for OwnedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedBuf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}
