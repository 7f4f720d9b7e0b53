//! The safe tier: operations that own everything the kernel touches.
//!
//! An [`Operation`] is pushed *by value* into a [`Ring`]; the ring keeps it
//! (buffers, timespecs, sockaddrs, buffer-ring handles) until the
//! operation's final completion and then hands it back inside the
//! [`Completion`]. Safe code therefore cannot free, move or reuse memory the
//! kernel may still use:
//!
//! - single-shot operations are released at their completion;
//! - multishot operations (accept, receive, timeout) and zero-copy sends are
//!   released at the completion without `IORING_CQE_F_MORE` (for `SendZc`
//!   that is the `NOTIF` one);
//! - buffers a receive picked from a [`BufRing`] come back as [`OwnedBuf`]s,
//!   which keep the ring alive and return the buffer on drop;
//! - in a linked chain every operation is released at its own completion (a
//!   link timeout's timespec lives in the [`LinkTimeout`] operation).
//!
//! Dropping a [`Ring`] with operations in flight cancels them all
//! (`IORING_ASYNC_CANCEL_ANY | ALL`), reaps until every one has completed,
//! and only then frees them and unmaps the ring. If that does not finish
//! within [`Ring::set_drop_timeout`] (default 1 s), the remaining operations
//! are **leaked**, never freed: the kernel may still write to them.
//!
//! `CQE_SKIP_SUCCESS` is not offered here: an operation whose completion is
//! skipped could never be handed back.
//!
//! ```
//! use ring_core::owned::{Read, Ring};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = std::fs::File::open("/proc/self/stat")?;
//! let mut ring = Ring::new(8)?;
//! let token = ring.push(Read::new(&file, vec![0u8; 64]))?;
//! ring.submit_and_wait(1)?;
//! let mut done = ring.completions().next().expect("one completion");
//! assert_eq!(done.token(), token);
//! let n = done.result()? as usize;
//! let read: Read = done.take_op().expect("the Read comes back");
//! assert!(read.into_buf()[..n].iter().any(|&b| b == b' '));
//! # Ok(()) }
//! ```
//!
//! Freeing a buffer the kernel may write does not compile: the buffer moved
//! into the operation.
//!
//! ```compile_fail
//! use ring_core::owned::{Read, Ring};
//! let file = std::fs::File::open("/dev/zero").unwrap();
//! let mut ring = Ring::new(8).unwrap();
//! let buf = vec![0u8; 4096];
//! ring.push(Read::new(&file, buf)).unwrap();
//! drop(buf); // error[E0382]: use of moved value: `buf`
//! ```
//!
//! An operation cannot borrow a local either: buffers must be owned
//! (`'static`) heap memory.
//!
//! ```compile_fail
//! use ring_core::owned::{Read, Ring};
//! let file = std::fs::File::open("/dev/zero").unwrap();
//! let mut ring = Ring::new(8).unwrap();
//! let mut local = [0u8; 64];
//! ring.push(Read::new(&file, &mut local[..])).unwrap(); // not an owned buffer
//! ```

use std::any::Any;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::buf_ring::BufRing;
use crate::opcode::{self, CancelBy};
use crate::squeue::{self, Flags};
use crate::types::{Fd, Target, Timespec};
use crate::{cqueue, Errno, Error, IoUring, SubmitError};

/// An operation that owns every resource the kernel will touch.
///
/// # Safety
///
/// `entry` must return an entry whose pointers point only into memory owned
/// by `self` that does not move when `self` is moved (heap allocations:
/// `Vec`, `Box`), and that `self` keeps unchanged until it is dropped or
/// handed back. Buffer-select entries must name the group of the
/// [`BufRing`] returned by `buf_ring`. The entry must not set
/// `CQE_SKIP_SUCCESS`.
pub unsafe trait Operation: Any {
    /// The entry to submit (called once, when pushed).
    fn entry(&mut self) -> squeue::Entry;

    /// The buffer ring this operation selects from, if any.
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        None
    }
}

/// Identifies a pushed operation; every completion carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(u64);

impl Token {
    fn new(index: u32, gen: u32) -> Self {
        Token((u64::from(gen) << 32) | u64::from(index))
    }
    fn index(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
    fn gen(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// The submission queue was full; the operation comes back unchanged.
#[derive(Debug)]
pub struct Full<T>(pub T);

impl<T> std::fmt::Display for Full<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("submission queue is full")
    }
}

impl<T: std::fmt::Debug> std::error::Error for Full<T> {}

struct Slot {
    gen: u32,
    op: Option<Box<dyn Operation>>,
}

/// A received buffer from a [`BufRing`], owning a handle to the ring: it
/// returns the buffer to the kernel on drop.
pub struct OwnedBuf {
    ring: Rc<BufRing>,
    bid: u16,
    start: u32,
    len: u32,
    /// Whether dropping it gives the buffer back (false while the kernel
    /// keeps the rest of an incrementally consumed buffer).
    returns: bool,
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
        if self.returns {
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

/// One completion. On the final completion of an operation it carries the
/// operation back ([`take_op`](Self::take_op)).
pub struct Completion {
    cqe: cqueue::Entry,
    op: Option<Box<dyn Operation>>,
    buf: Option<OwnedBuf>,
}

impl Completion {
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
    /// Takes the operation back, if this is its final completion and it is
    /// a `T`.
    pub fn take_op<T: Operation>(&mut self) -> Option<T> {
        let op = self.op.take()?;
        let any: Box<dyn Any> = op;
        match any.downcast::<T>() {
            Ok(t) => Some(*t),
            Err(_) => None,
        }
    }
    /// The received buffer, for receives with buffer select.
    pub fn take_buf(&mut self) -> Option<OwnedBuf> {
        self.buf.take()
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("token", &self.token())
            .field("cqe", &self.cqe)
            .field("final", &self.op.is_some())
            .finish()
    }
}

/// The in-flight operations, indexed by token.
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    in_flight: usize,
}

impl Table {
    #[inline]
    fn insert(&mut self, op: Box<dyn Operation>) -> Token {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot { gen: 0, op: None });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.op = Some(op);
        self.in_flight += 1;
        Token::new(index, slot.gen)
    }

    #[inline]
    fn remove(&mut self, token: Token) -> Option<Box<dyn Operation>> {
        let slot = self.slots.get_mut(token.index())?;
        if slot.gen != token.gen() {
            return None;
        }
        let op = slot.op.take()?;
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(token.index() as u32);
        self.in_flight -= 1;
        Some(op)
    }

    /// Turns one CQE into a [`Completion`].
    #[inline]
    fn complete(&mut self, cqe: cqueue::Entry) -> Completion {
        let token = Token(cqe.user_data());
        let buf = match cqe.buffer_id() {
            None => None,
            Some(bid) => self.take_buf(token, bid, &cqe),
        };
        let op = if cqe.more() { None } else { self.remove(token) };
        Completion { cqe, op, buf }
    }

    #[cold]
    fn take_buf(&mut self, token: Token, bid: u16, cqe: &cqueue::Entry) -> Option<OwnedBuf> {
        let slot = self.slots.get(token.index())?;
        let ring = slot.op.as_ref()?.buf_ring()?.clone();
        let len = cqe.raw_result().max(0) as u32;
        let more = cqe.flags().contains(cqueue::Flags::BUF_MORE);
        // SAFETY: this CQE is from this ring, for an operation that selects
        // from `ring`'s group (Operation's contract).
        let guard = unsafe { ring.take(bid, len, more) }.ok()?;
        let (bid, start, len, returns) = guard.into_parts();
        Some(OwnedBuf {
            ring,
            bid,
            start,
            len,
            returns,
        })
    }
}

/// An io_uring that owns its in-flight operations. See the module docs.
pub struct Ring {
    table: Table,
    drop_timeout: Duration,
    // Declared last: dropped after `Drop` has reaped (or leaked) every
    // operation.
    ring: IoUring,
}

impl Ring {
    /// A ring with `entries` SQ slots and default setup.
    pub fn new(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(IoUring::new(entries)?))
    }

    /// Wraps a ring built with any [`Builder`](crate::Builder) options. The
    /// ring must have nothing in flight.
    pub fn from_ring(ring: IoUring) -> Self {
        Ring {
            table: Table {
                slots: Vec::new(),
                free: Vec::new(),
                in_flight: 0,
            },
            drop_timeout: Duration::from_secs(1),
            ring,
        }
    }

    /// The raw ring, for registrations and setup queries. Only shared
    /// access: nothing can be pushed behind the owning tier's back.
    pub fn raw(&self) -> &IoUring {
        &self.ring
    }

    /// How long `Drop` waits for cancelled operations before leaking them.
    pub fn set_drop_timeout(&mut self, timeout: Duration) {
        self.drop_timeout = timeout;
    }

    /// Operations pushed and not yet finally completed.
    pub fn in_flight(&self) -> usize {
        self.table.in_flight
    }

    fn sq_room(&mut self) -> usize {
        let sq = self.ring.submission();
        sq.capacity() - sq.len()
    }

    /// Pushes an operation; it is submitted with the next submit. If the
    /// queue is full the operation comes back in [`Full`].
    #[inline]
    pub fn push<T: Operation>(&mut self, mut op: T) -> Result<Token, Full<T>> {
        let mut sq = self.ring.submission();
        if sq.is_full() {
            drop(sq);
            // Learn the kernel's progress before giving up.
            let _ = self.ring.submit();
            sq = self.ring.submission();
            if sq.is_full() {
                return Err(Full(op));
            }
        }
        // Built before boxing, with static dispatch: by `Operation`'s
        // contract the pointers target heap memory that does not move with
        // `op`.
        let entry = op.entry();
        let token = self.table.insert(Box::new(op));
        // SAFETY: by `Operation`'s contract the entry points only into heap
        // memory the operation owns; the operation now lives in the table
        // until its final completion is reaped (or it is leaked by Drop).
        // There is room (checked above on this same view).
        let pushed = unsafe { sq.push(&entry.user_data(token.0)) };
        debug_assert!(pushed.is_ok());
        Ok(token)
    }

    /// Pushes `first` linked (`IO_LINK`) to a [`LinkTimeout`]: if `first`
    /// has not completed in time it is cancelled. Both are released at
    /// their own completions.
    pub fn push_with_timeout<T: Operation>(
        &mut self,
        mut first: T,
        timeout: Duration,
    ) -> Result<(Token, Token), Full<T>> {
        if self.sq_room() < 2 {
            let _ = self.ring.submit();
            if self.sq_room() < 2 {
                return Err(Full(first));
            }
        }
        let mut lt = LinkTimeout::new(timeout);
        let (e1, e2) = (first.entry(), lt.entry());
        let t1 = self.table.insert(Box::new(first));
        let t2 = self.table.insert(Box::new(lt));
        let entries = [e1.user_data(t1.0).flags(Flags::IO_LINK), e2.user_data(t2.0)];
        // SAFETY: as in `push`; the link timeout's timespec is boxed inside
        // its operation, which lives until the link timeout's completion.
        let pushed = unsafe { self.ring.submission().push_multiple(&entries) };
        debug_assert!(pushed.is_ok());
        Ok((t1, t2))
    }

    /// Submits pushed operations.
    #[inline(always)]
    pub fn submit(&mut self) -> Result<usize, SubmitError> {
        self.ring.submit()
    }

    /// Submits and waits for `want` completions.
    #[inline(always)]
    pub fn submit_and_wait(&mut self, want: usize) -> Result<usize, SubmitError> {
        self.ring.submit_and_wait(want)
    }

    /// Submits and waits for `want` completions or `timeout`.
    pub fn submit_and_wait_timeout(
        &mut self,
        want: usize,
        timeout: Duration,
    ) -> Result<usize, SubmitError> {
        self.ring.submitter().submit_and_wait_timeout(want, timeout)
    }

    /// Cancels the operation `token` (its completion reports `ECANCELED`).
    pub fn cancel(&mut self, token: Token) -> Result<Token, Full<AsyncCancel>> {
        self.push(AsyncCancel(CancelBy::UserData(token.0)))
    }

    /// A batch view for pushing many operations cheaply: it holds the
    /// submission queue for its lifetime and publishes the tail on drop.
    /// Unlike [`push`](Self::push) it does not submit when the queue is
    /// full; it hands the operation back.
    #[inline]
    pub fn pusher(&mut self) -> Pusher<'_> {
        Pusher {
            sq: self.ring.submission(),
            table: &mut self.table,
        }
    }

    /// The ready completions. Their slots go back to the kernel when the
    /// iterator is dropped.
    #[inline]
    pub fn completions(&mut self) -> Completions<'_> {
        Completions {
            cq: self.ring.completion(),
            table: &mut self.table,
        }
    }
}

/// A batch of pushes into a [`Ring`] (see [`Ring::pusher`]).
pub struct Pusher<'a> {
    sq: crate::squeue::SubmissionQueue<'a>,
    table: &'a mut Table,
}

impl Pusher<'_> {
    /// Pushes an operation, or hands it back if the queue is full.
    #[inline]
    pub fn push<T: Operation>(&mut self, mut op: T) -> Result<Token, Full<T>> {
        if self.sq.is_full() {
            return Err(Full(op));
        }
        let entry = op.entry();
        let token = self.table.insert(Box::new(op));
        // SAFETY: as in `Ring::push`: the entry points only into heap
        // memory the operation owns, which the table keeps until the final
        // completion; there is room (checked above).
        let pushed = unsafe { self.sq.push(&entry.user_data(token.0)) };
        debug_assert!(pushed.is_ok());
        Ok(token)
    }
}

impl std::fmt::Debug for Pusher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("sq", &self.sq)
            .finish_non_exhaustive()
    }
}

/// Iterator over ready completions of a [`Ring`].
pub struct Completions<'a> {
    cq: crate::cqueue::CompletionQueue<'a>,
    table: &'a mut Table,
}

impl Iterator for Completions<'_> {
    type Item = Completion;

    #[inline]
    fn next(&mut self) -> Option<Completion> {
        let cqe = self.cq.next()?;
        Some(self.table.complete(cqe))
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if self.table.in_flight == 0 {
            return;
        }
        // Cancel everything, then reap until every operation is back.
        let cancel = opcode::AsyncCancel::new(CancelBy::Any)
            .all()
            .build()
            .user_data(u64::MAX);
        let deadline = Instant::now() + self.drop_timeout;
        let mut cancel_pushed = false;
        while self.table.in_flight > 0 {
            if !cancel_pushed {
                // SAFETY: a cancel points to no memory.
                cancel_pushed = unsafe { self.ring.submission().push(&cancel) }.is_ok();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = self
                .ring
                .submitter()
                .submit_and_wait_timeout(1, left.min(Duration::from_millis(50)));
            loop {
                let next = self.ring.completion().next();
                let Some(cqe) = next else { break };
                if cqe.user_data() != u64::MAX {
                    drop(self.table.complete(cqe));
                }
            }
            if cancel_pushed && self.table.in_flight > 0 {
                // Multishot operations re-armed meanwhile: cancel again.
                cancel_pushed = false;
            }
        }
        if self.table.in_flight > 0 {
            // The kernel may still use these: leak rather than free.
            for slot in &mut self.table.slots {
                if let Some(op) = slot.op.take() {
                    std::mem::forget(op);
                }
            }
        }
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("in_flight", &self.table.in_flight)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- buffers

/// Owned heap memory an operation may hand to the kernel: its address and
/// length do not change while the value is moved.
///
/// # Safety
///
/// `stable_ptr` must point to `bytes_total()` bytes owned by `self`, at an
/// address that does not change when `self` is moved, and nothing but `self`
/// may access them.
pub unsafe trait IoBuf: 'static {
    /// The start of the memory.
    fn stable_ptr(&mut self) -> *mut u8;
    /// Its length in bytes.
    fn bytes_total(&self) -> usize;
}

// SAFETY: a Vec's heap buffer does not move when the Vec is moved; its
// initialised length is what we report.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for Vec.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------- operations

/// A NOP.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nop;

// SAFETY: points to nothing.
unsafe impl Operation for Nop {
    #[inline]
    fn entry(&mut self) -> squeue::Entry {
        opcode::Nop::new().build()
    }
}

/// Declares an operation that owns one buffer: the struct, `new`, and
/// `into_buf` (and `offset` for file operations). Each operation's `entry`
/// is written out below it.
macro_rules! buf_op {
    ($(#[$doc:meta])* $name:ident, $new_doc:literal $(, $offset:ident)?) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<B: IoBuf = Vec<u8>> {
            target: Target,
            buf: B,
            $($offset: u64,)?
        }

        impl<B: IoBuf> $name<B> {
            #[doc = $new_doc]
            pub fn new(fd: &impl AsRawFd, buf: B) -> Self {
                $name { target: Target::Fd(fd.as_raw_fd()), buf, $($offset: 0,)? }
            }
            /// The buffer back.
            pub fn into_buf(self) -> B {
                self.buf
            }
            $(
                /// The file offset (default 0; `u64::MAX`: the current
                /// position).
                pub fn $offset(mut self, offset: u64) -> Self {
                    self.$offset = offset;
                    self
                }
            )?
        }
    };
}

buf_op!(
    /// Reads into an owned buffer; [`into_buf`](Self::into_buf) gives it back.
    Read,
    "Reads up to `buf.len()` bytes from `fd`.",
    offset
);

// SAFETY: the entry points into `buf`, a stable owned buffer (IoBuf).
unsafe impl<B: IoBuf> Operation for Read<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(self.buf.bytes_total());
        opcode::Read::new(self.target, self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }
}

buf_op!(
    /// Writes an owned buffer.
    Write,
    "Writes all of `buf` to `fd`.",
    offset
);

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Write<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(self.buf.bytes_total());
        opcode::Write::new(self.target, self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }
}

buf_op!(
    /// Receives into an owned buffer.
    Recv,
    "Receives up to `buf.len()` bytes from socket `fd`."
);

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Recv<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(self.buf.bytes_total());
        opcode::Recv::new(self.target, self.buf.stable_ptr(), len).build()
    }
}

/// A multishot receive into a [`BufRing`]: each completion carries an
/// [`OwnedBuf`]; the operation ends at the completion without `MORE`
/// (EOF, an error, `ENOBUFS`, or cancellation).
#[derive(Debug)]
pub struct RecvMulti {
    target: Target,
    bufs: Rc<BufRing>,
}

impl RecvMulti {
    /// Receives from `fd` into buffers of `bufs`.
    pub fn new(fd: &impl AsRawFd, bufs: Rc<BufRing>) -> Self {
        RecvMulti {
            target: Target::Fd(fd.as_raw_fd()),
            bufs,
        }
    }
}

// SAFETY: selects from `bufs`' group; the Rc keeps that ring registered and
// its memory alive while the operation lives.
unsafe impl Operation for RecvMulti {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Recv::with_buf_group(self.target, self.bufs.bgid())
            .multishot()
            .build()
    }
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        Some(&self.bufs)
    }
}

buf_op!(
    /// Sends an owned buffer (with `MSG_NOSIGNAL`).
    Send,
    "Sends all of `buf` on socket `fd`."
);

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Send<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(self.buf.bytes_total());
        opcode::Send::new(self.target, self.buf.stable_ptr(), len)
            .msg_flags(0x4000)
            .build()
    }
}

buf_op!(
    /// A zero-copy send: two completions, the result (with `MORE`) and the
    /// notification; the buffer comes back with the notification.
    SendZc,
    "Sends all of `buf` on socket `fd` without copying."
);

// SAFETY: the entry points into `buf`, a stable owned buffer, kept until
// the NOTIF completion (the one without MORE).
unsafe impl<B: IoBuf> Operation for SendZc<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(self.buf.bytes_total());
        opcode::SendZc::new(self.target, self.buf.stable_ptr(), len)
            .msg_flags(0x4000)
            .build()
    }
}

/// Accepts connections; multishot with [`multishot`](Self::multishot).
#[derive(Debug)]
pub struct Accept {
    target: Target,
    multishot: bool,
}

impl Accept {
    /// Accepts one connection on listener `fd` (the result is the new fd,
    /// which the caller then owns).
    pub fn new(fd: &impl AsRawFd) -> Self {
        Accept {
            target: Target::Fd(fd.as_raw_fd()),
            multishot: false,
        }
    }
    /// One completion per connection until cancelled.
    pub fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
}

// SAFETY: records no peer address: points to nothing.
unsafe impl Operation for Accept {
    fn entry(&mut self) -> squeue::Entry {
        let a = opcode::Accept::new(self.target).flags(0o2000000);
        if self.multishot { a.multishot() } else { a }.build()
    }
}

/// A timeout owning its timespec.
#[derive(Debug)]
pub struct Timeout {
    ts: Box<Timespec>,
    count: u32,
    multishot: bool,
}

impl Timeout {
    /// Fires once after `after`.
    pub fn new(after: Duration) -> Self {
        Timeout {
            ts: Box::new(after.into()),
            count: 0,
            multishot: false,
        }
    }
    /// Fires every period, `count` times (0: until cancelled).
    pub fn multishot(mut self, count: u32) -> Self {
        self.multishot = true;
        self.count = count;
        self
    }
}

// SAFETY: the entry points to the boxed timespec, owned and stable.
unsafe impl Operation for Timeout {
    fn entry(&mut self) -> squeue::Entry {
        let t = opcode::Timeout::new(&*self.ts).count(self.count);
        if self.multishot { t.multishot() } else { t }.build()
    }
}

/// The link timeout of [`Ring::push_with_timeout`], owning its timespec.
#[derive(Debug)]
pub struct LinkTimeout {
    ts: Box<Timespec>,
}

impl LinkTimeout {
    fn new(after: Duration) -> Self {
        LinkTimeout {
            ts: Box::new(after.into()),
        }
    }
}

// SAFETY: the entry points to the boxed timespec, owned and stable.
unsafe impl Operation for LinkTimeout {
    fn entry(&mut self) -> squeue::Entry {
        opcode::LinkTimeout::new(&*self.ts).build()
    }
}

/// Cancels operations (see [`Ring::cancel`]).
#[derive(Debug)]
pub struct AsyncCancel(CancelBy);

impl AsyncCancel {
    /// Cancels every in-flight operation on `fd`.
    pub fn all_on_fd(fd: &impl AsRawFd) -> Self {
        AsyncCancel(CancelBy::Fd(Fd(fd.as_raw_fd()).into()))
    }
}

// SAFETY: points to nothing.
unsafe impl Operation for AsyncCancel {
    fn entry(&mut self) -> squeue::Entry {
        let c = opcode::AsyncCancel::new(self.0);
        if matches!(self.0, CancelBy::Fd(_)) {
            c.all()
        } else {
            c
        }
        .build()
    }
}

/// Closes a descriptor the caller gives up (`into_raw_fd`).
#[derive(Debug)]
pub struct Close(RawFd);

impl Close {
    /// Closes `fd`, which the caller owned and no longer uses.
    pub fn new(fd: std::os::fd::OwnedFd) -> Self {
        use std::os::fd::IntoRawFd;
        Close(fd.into_raw_fd())
    }
}

// SAFETY: points to nothing.
unsafe impl Operation for Close {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Close::new(Fd(self.0)).build()
    }
}
