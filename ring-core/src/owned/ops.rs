//! The safe tier's operations: each owns what the kernel touches (buffers,
//! timespecs, buffer-ring handles) and builds its entry from it.
//!
//! Invariant owned here: every `entry` points only into heap memory its
//! operation owns (the `Operation` contract), never into the operation's own
//! bytes, so moving an operation into the ring's table keeps its entry valid.

use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use super::buf::{IoBuf, Slice};
use super::Target;
use super::{Operation, Token};
use crate::buf_ring::BufRing;
use crate::opcode::{self, CancelBy};
use crate::squeue;
use crate::types::{Fd, Timespec};
use crate::RingId;

/// `MSG_NOSIGNAL`: a send on a closed connection fails with `EPIPE`
/// instead of raising `SIGPIPE`.
pub(super) const MSG_NOSIGNAL: u32 = rustix::net::SendFlags::NOSIGNAL.bits();

/// `MSG_WAITALL` (the receive flag's bit): io_uring honours it on stream
/// sends too, retrying until the whole buffer is sent (Linux 5.19).
const MSG_WAITALL: u32 = rustix::net::RecvFlags::WAITALL.bits();

/// `SOCK_CLOEXEC`: accepted connections are not inherited across `exec`.
pub(super) const SOCK_CLOEXEC: u32 = rustix::net::SocketFlags::CLOEXEC.bits();

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

owned_op! {
    /// Reads into an owned buffer (or a [`Slice`] of one);
    /// [`into_buf`](Self::into_buf) gives the whole buffer back. The result
    /// is the number of bytes read into the start of the range (0 at end of
    /// file).
    pub struct Read<B: IoBuf = Vec<u8>> {
        buf: Slice<B> => into_buf() -> B,
        offset: u64,
    }
    new: "Reads up to `buf.len()` bytes from `fd` (at offset 0 unless [`at`](Self::at) says otherwise)."
}

// SAFETY: the entry points into `buf`, a stable owned buffer (IoBuf).
unsafe impl<B: IoBuf> Operation for Read<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.buf.len32();
        opcode::Read::new(self.target.raw(), self.buf.ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

owned_op! {
    /// Writes an owned buffer (or a [`Slice`] of one).
    ///
    /// The result is the number of bytes written, which can be **less than
    /// the buffer's length** (a pipe or socket with less room, a disk that
    /// fills up, a signal): the rest is not written. Push
    /// `Write::new(fd, buf.slice(n..))` with the buffer from
    /// [`into_buf`](Self::into_buf) to write the rest; to a socket,
    /// [`Send::wait_all`] has the kernel do that.
    pub struct Write<B: IoBuf = Vec<u8>> {
        buf: Slice<B> => into_buf() -> B,
        offset: u64,
    }
    new: "Writes `buf` to `fd` (at offset 0 unless [`at`](Self::at) says otherwise); see the type's docs for short writes."
}

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Write<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.buf.len32();
        opcode::Write::new(self.target.raw(), self.buf.ptr(), len)
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

owned_op! {
    /// Receives into an owned buffer (or a [`Slice`] of one). The result is
    /// the number of bytes received (0: the peer closed its side).
    pub struct Recv<B: IoBuf = Vec<u8>> {
        buf: Slice<B> => into_buf() -> B,
        hidden poll_first: bool,
    }
    new: "Receives up to `buf.len()` bytes from socket `fd`."
}

impl<B: IoBuf> Recv<B> {
    /// Waits for the socket to be readable before the first try
    /// (`IORING_RECVSEND_POLL_FIRST`, Linux 5.19). Without it the kernel
    /// tries the receive at once and, if nothing is there (`EAGAIN`), arms
    /// a poll and tries again when data comes: for a receive that usually
    /// finds nothing yet (the next request of a connection just answered)
    /// that first try is wasted work. Where data is usually there already,
    /// leave it off: the poll then costs more than the try saves.
    pub fn poll_first(mut self) -> Self {
        self.poll_first = true;
        self
    }
}

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Recv<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.buf.len32();
        let recv = opcode::Recv::new(self.target.raw(), self.buf.ptr(), len);
        if self.poll_first {
            recv.poll_first()
        } else {
            recv
        }
        .build()
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

    /// The socket it receives from.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The buffer ring it selects from.
    pub fn bufs(&self) -> &Rc<BufRing> {
        &self.bufs
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

owned_op! {
    /// Sends an owned buffer (or a [`Slice`] of one), with `MSG_NOSIGNAL`.
    ///
    /// The result is the number of bytes sent. On a stream socket that can
    /// be **less than the buffer's length**: the kernel sends what fits in
    /// the socket's buffer, and a large send commonly completes short.
    /// Either push
    /// `Send::new(fd, buf.slice(n..))` for the rest, or set
    /// [`wait_all`](Self::wait_all) and let the kernel retry until all of
    /// it is sent.
    pub struct Send<B: IoBuf = Vec<u8>> {
        buf: Slice<B> => into_buf() -> B,
        hidden flags: SendFlagBits,
    }
    new: "Sends `buf` on socket `fd`; see the type's docs for short sends."
}

/// The `msg_flags` of a [`Send`]: `MSG_NOSIGNAL`, plus `MSG_WAITALL` with
/// [`Send::wait_all`].
#[derive(Debug, Clone, Copy)]
struct SendFlagBits(u32);

impl Default for SendFlagBits {
    fn default() -> Self {
        SendFlagBits(MSG_NOSIGNAL)
    }
}

impl<B: IoBuf> Send<B> {
    /// All or error (`MSG_WAITALL`): on a stream socket the kernel sends
    /// again until the whole buffer is sent, so the result is the buffer's
    /// length, or an error; if the connection fails after part of it was
    /// sent, the result is the count sent so far. Needs Linux 5.19 (older
    /// kernels return after the first partial send).
    pub fn wait_all(mut self) -> Self {
        self.flags.0 |= MSG_WAITALL;
        self
    }
}

// SAFETY: the entry points into `buf`, a stable owned buffer.
unsafe impl<B: IoBuf> Operation for Send<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.buf.len32();
        opcode::Send::new(self.target.raw(), self.buf.ptr(), len)
            .msg_flags(self.flags.0)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

owned_op! {
    /// A zero-copy send (with `MSG_NOSIGNAL`): two completions, the result
    /// (with `MORE`) and the notification; the buffer comes back with the
    /// notification. Like [`Send`], the result may be short.
    pub struct SendZc<B: IoBuf = Vec<u8>> {
        buf: Slice<B> => into_buf() -> B,
    }
    new: "Sends `buf` on socket `fd` without copying."
}

// SAFETY: the entry points into `buf`, a stable owned buffer, kept until
// the NOTIF completion (the one without MORE).
unsafe impl<B: IoBuf> Operation for SendZc<B> {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.buf.len32();
        opcode::SendZc::new(self.target.raw(), self.buf.ptr(), len)
            .msg_flags(MSG_NOSIGNAL)
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
    /// The listener it accepts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: records no peer address: points to nothing. It accepts into the
// normal fd table (no direct descriptor), so a non-negative result is a new
// descriptor nobody else owns.
unsafe impl Operation for Accept {
    fn entry(&mut self) -> squeue::Entry {
        let a = opcode::Accept::new(self.target.raw()).flags(SOCK_CLOEXEC);
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
///
/// Its completion when it fires is `Err(ETIME)`: the expected outcome, not
/// a failure, so `completion.result()?` would return early on it (the
/// futures' `Driver::sleep` maps it to `Ok`).
/// Cancelled, it completes with `ECANCELED`.
///
/// ```
/// use std::time::Duration;
/// use ring_core::owned::{op, Ring};
/// use ring_core::Errno;
/// # fn main() -> std::io::Result<()> {
/// let mut ring = Ring::new(4)?;
/// ring.push(op::Timeout::new(Duration::from_millis(1)))?;
/// ring.submit_and_wait(1)?;
/// let fired = ring.completions().next().expect("one completion");
/// assert_eq!(fired.result(), Err(Errno::TIME)); // it fired: no failure
/// # Ok(()) }
/// ```
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
    /// How long it waits (each period, if multishot).
    pub fn duration(&self) -> Duration {
        let ts = &*self.ts;
        // Made from a `Duration`: both fields are in range.
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

// SAFETY: the entry points to the boxed timespec, owned and stable.
unsafe impl Operation for Timeout {
    fn entry(&mut self) -> squeue::Entry {
        let t = opcode::Timeout::new(&*self.ts).count(self.count);
        if self.multishot { t.multishot() } else { t }.build()
    }
}

/// A link timeout, owning its timespec: placed right after an operation
/// in a chain ([`Ring::push_chain`](super::Ring::push_chain),
/// [`Ring::push_with_timeout`](super::Ring::push_with_timeout)), it cancels
/// that operation (and the rest of the chain) if it has not completed in
/// time. Its own completion is `ETIME` if it fired, `ECANCELED` if the
/// operation completed first. Pushed on its own (not after a linked
/// operation) the kernel refuses it with `EINVAL`.
#[derive(Debug)]
pub struct LinkTimeout {
    ts: Box<Timespec>,
}

impl LinkTimeout {
    /// Cancels the operation before it after `after`.
    pub fn new(after: Duration) -> Self {
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
    /// The socket it shuts down.
    pub fn target(&self) -> &Target {
        &self.target
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

#[cfg(test)]
mod tests {
    use super::{Operation, Recv};
    use crate::opcode::RecvSendFlags;
    use crate::owned::SharedFd;

    /// `poll_first` reaches the entry's `ioprio`, and only when asked for.
    #[test]
    fn recv_poll_first_sets_its_flag_in_the_entry() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = SharedFd::new(a);
        let plain = Recv::new(&fd, vec![0u8; 8]).entry().ioprio;
        let first = Recv::new(&fd, vec![0u8; 8]).poll_first().entry().ioprio;
        assert_eq!(plain, 0);
        assert_eq!(first, RecvSendFlags::POLL_FIRST.bits());
    }
}
