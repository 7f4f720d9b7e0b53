//! The safe tier's operations: each owns what the kernel touches (buffers,
//! timespecs, buffer-ring handles) and builds its entry from it.
//!
//! Invariant owned here: every `entry` points only into heap memory its
//! operation owns (the `Operation` contract), never into the operation's own
//! bytes, so moving an operation into the ring's table keeps its entry valid.

use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use super::Target;
use super::{Operation, Token};
use crate::buf_ring::BufRing;
use crate::opcode::{self, CancelBy};
use crate::squeue;
use crate::types::{Fd, Timespec};
use crate::RingId;

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
            pub fn new(fd: impl Into<Target>, buf: B) -> Self {
                $name { target: fd.into(), buf, $($offset: 0,)? }
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
        opcode::Read::new(self.target.raw(), self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
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
        opcode::Write::new(self.target.raw(), self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
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
        opcode::Recv::new(self.target.raw(), self.buf.stable_ptr(), len).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// A multishot receive into a [`BufRing`]: each completion carries an
/// [`OwnedBuf`](super::OwnedBuf); the operation ends at the completion
/// without `MORE` (EOF, an error, `ENOBUFS`, or cancellation). With
/// [`once`](Self::once) it ends after the first receive.
#[derive(Debug)]
pub struct RecvMulti {
    target: Target,
    bufs: Rc<BufRing>,
    multishot: bool,
}

impl RecvMulti {
    /// Receives from `fd` into buffers of `bufs`.
    pub fn new(fd: impl Into<Target>, bufs: Rc<BufRing>) -> Self {
        RecvMulti {
            target: fd.into(),
            bufs,
            multishot: true,
        }
    }

    /// One receive only: the operation is done (and lets go of the
    /// socket) with its first completion.
    pub fn once(mut self) -> Self {
        self.multishot = false;
        self
    }
}

// SAFETY: selects from `bufs`' group; the Rc keeps that ring registered and
// its memory alive while the operation lives.
unsafe impl Operation for RecvMulti {
    fn entry(&mut self) -> squeue::Entry {
        let r = opcode::Recv::with_buf_group(self.target.raw(), self.bufs.bgid());
        if self.multishot { r.multishot() } else { r }.build()
    }
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        Some(&self.bufs)
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.bufs.ring_id() == ring
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
        opcode::Send::new(self.target.raw(), self.buf.stable_ptr(), len)
            .msg_flags(0x4000)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
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
        opcode::SendZc::new(self.target.raw(), self.buf.stable_ptr(), len)
            .msg_flags(0x4000)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Accepts connections; multishot with [`multishot`](Self::multishot).
#[derive(Debug)]
pub struct Accept {
    target: Target,
    multishot: bool,
}

impl Accept {
    /// Accepts one connection on listener `fd` (`SOCK_CLOEXEC`); each
    /// completion's [`take_fd`](super::Completion::take_fd) gives the new
    /// connection, and dropping the completion closes it.
    pub fn new(fd: impl Into<Target>) -> Self {
        Accept {
            target: fd.into(),
            multishot: false,
        }
    }
    /// One completion per connection until cancelled.
    pub fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
}

// SAFETY: records no peer address: points to nothing. It accepts into the
// normal fd table (no direct descriptor), so a non-negative result is a new
// descriptor nobody else owns.
unsafe impl Operation for Accept {
    fn entry(&mut self) -> squeue::Entry {
        let a = opcode::Accept::new(self.target.raw()).flags(0o2000000);
        if self.multishot { a.multishot() } else { a }.build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
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

/// The link timeout of [`Ring::push_with_timeout`](super::Ring::push_with_timeout), owning its timespec.
#[derive(Debug)]
pub struct LinkTimeout {
    ts: Box<Timespec>,
}

impl LinkTimeout {
    pub(super) fn new(after: Duration) -> Self {
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

/// Cancels operations (see [`Ring::cancel`](super::Ring::cancel)).
#[derive(Debug)]
pub struct AsyncCancel(Cancel);

/// What an [`AsyncCancel`] matches.
#[derive(Debug)]
enum Cancel {
    Token(Token),
    /// Every operation on this file; the share keeps the number from being
    /// reused for another file before the cancel runs.
    File(Target),
}

impl AsyncCancel {
    /// Cancels the operation `token` names.
    pub fn token(token: Token) -> Self {
        AsyncCancel(Cancel::Token(token))
    }
    /// Cancels every in-flight operation on `fd`.
    pub fn all_on_fd(fd: impl Into<Target>) -> Self {
        AsyncCancel(Cancel::File(fd.into()))
    }
}

// SAFETY: points to no memory; the file it matches by is a share it holds.
unsafe impl Operation for AsyncCancel {
    fn entry(&mut self) -> squeue::Entry {
        match &self.0 {
            Cancel::Token(t) => opcode::AsyncCancel::new(CancelBy::UserData(t.raw())),
            Cancel::File(f) => opcode::AsyncCancel::new(CancelBy::Fd(f.raw())).all(),
        }
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        match &self.0 {
            Cancel::Token(_) => true,
            Cancel::File(f) => f.usable_on(ring),
        }
    }
}

/// Closes a descriptor the caller gives up: it takes the [`OwnedFd`]
/// (from a [`SharedFd::try_unwrap`](super::SharedFd::try_unwrap) once no
/// operation shares it), so no other operation can be using it.
///
/// [`OwnedFd`]: std::os::fd::OwnedFd
#[derive(Debug)]
pub struct Close(RawFd);

impl Close {
    /// Closes `fd`, which the caller owned and no longer uses.
    pub fn new(fd: std::os::fd::OwnedFd) -> Self {
        use std::os::fd::IntoRawFd;
        Close(fd.into_raw_fd())
    }
}

/// The number of the descriptor to close: a close that comes back without
/// having run (`ECANCELED`, as a linked close does when the operation before
/// it failed) still owns an open descriptor, which other operations can go
/// on using until the close is pushed again.
impl AsRawFd for Close {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

// SAFETY: points to nothing.
unsafe impl Operation for Close {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Close::new(Fd(self.0)).build()
    }
}

/// Shuts down part of a full-duplex connection (`shutdown(2)`'s `how`:
/// 0 read, 1 write, 2 both).
///
/// The kernel runs this on an io-wq worker and resolves the fd number only
/// then; the operation's share of the socket keeps that number from being
/// closed and reused for another socket until it has completed.
#[derive(Debug)]
pub struct Shutdown {
    target: Target,
    how: i32,
}

impl Shutdown {
    /// Shuts down `how` of socket `fd`.
    pub fn new(fd: impl Into<Target>, how: i32) -> Self {
        Shutdown {
            target: fd.into(),
            how,
        }
    }
}

// SAFETY: points to nothing.
unsafe impl Operation for Shutdown {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Shutdown::new(self.target.raw(), self.how).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}
