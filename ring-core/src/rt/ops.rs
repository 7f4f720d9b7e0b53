//! Helpers that await the common operations and give plain results:
//! `(io::Result<usize>, buffer)` for transfers (the buffer always comes
//! back, whole, also when a [`Slice`] of it was given), owned descriptors
//! for accepts and opens.

use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use super::driver::Driver;
use super::stream::Multi;
use super::submit::{Finish, Outcome, Submit};
use crate::buf_ring::BufRing;
use crate::owned::{
    op::Accept, op::Close, op::Connect, op::Nop, op::Open, op::Read, op::Recv, op::RecvMulti,
    op::Send, op::Timeout, op::Write, Completion, IoBuf, OwnedBuf, Slice, Target,
};
use crate::{cqueue, Errno};

/// A transfer's outcome: bytes moved and the buffer back.
#[inline(always)]
fn transfer<T, B>(o: Outcome<T>, into_buf: fn(T) -> B) -> (io::Result<usize>, B) {
    match o {
        Ok(done) => {
            let res = done.result().map(|n| n as usize).map_err(io::Error::from);
            (res, into_buf(done.into_op()))
        }
        Err(e) => {
            let kind = io::ErrorKind::InvalidInput;
            let msg = e.to_string();
            (Err(io::Error::new(kind, msg)), into_buf(e.into_inner()))
        }
    }
}

/// The map of [`Driver::read`], [`write`](Driver::write),
/// [`recv`](Driver::recv) and [`send`](Driver::send): the byte count (or
/// the error) and the whole buffer back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Transfer;

/// Implements [`Finish`] for [`Transfer`] on one buffer operation.
macro_rules! transfer_finish {
    ($($op:ident),*) => {$(
        impl<B: IoBuf> Finish<$op<B>> for Transfer {
            type Output = (io::Result<usize>, B);
            #[inline(always)]
            fn finish(&self, o: Outcome<$op<B>>) -> Self::Output {
                transfer(o, $op::into_buf)
            }
            #[inline(always)]
            fn finish_plain(&self, op: $op<B>, cqe: cqueue::Entry) -> Self::Output {
                let res = cqe.result().map(|n| n as usize).map_err(io::Error::from);
                (res, op.into_buf())
            }
        }
    )*};
}
transfer_finish!(Read, Write, Recv, Send);

impl<B: IoBuf, F: Finish<Recv<B>>> Submit<Recv<B>, F> {
    /// Waits for the socket to be readable before the first receive try
    /// ([`Recv::poll_first`], `IORING_RECVSEND_POLL_FIRST`): for a receive
    /// that usually finds no data yet, such as an echo's or a server's
    /// next read after its reply. Set before the first poll; later calls
    /// change nothing.
    ///
    /// ```
    /// # use ring_core::owned::SharedFd;
    /// # use ring_core::rt::Driver;
    /// async fn next_request(driver: &Driver, conn: &SharedFd) -> std::io::Result<Vec<u8>> {
    ///     let (n, mut buf) = driver.recv(conn, vec![0u8; 4096]).poll_first().await;
    ///     buf.truncate(n?);
    ///     Ok(buf)
    /// }
    /// ```
    pub fn poll_first(self) -> Self {
        self.map_op(Recv::poll_first)
    }
}

/// The map of [`Driver::accept`] and [`open`](Driver::open): the new
/// descriptor, now the caller's.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewFd;

impl<T> Finish<T> for NewFd {
    type Output = io::Result<OwnedFd>;
    #[inline(always)]
    fn finish(&self, o: Outcome<T>) -> io::Result<OwnedFd> {
        let mut done = o?;
        done.result()?;
        done.take_fd()
            .ok_or_else(|| io::Error::other("operation created no descriptor"))
    }
}

/// The map of [`Driver::nop`], [`connect`](Driver::connect) and
/// [`close`](Driver::close): success or the error.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unit;

impl<T> Finish<T> for Unit {
    type Output = io::Result<()>;
    #[inline(always)]
    fn finish(&self, o: Outcome<T>) -> io::Result<()> {
        o?.result()?;
        Ok(())
    }
}

/// The map of [`Driver::sleep`]: the timeout's expiry (`ETIME`) is
/// success.
#[derive(Clone, Copy, Debug, Default)]
pub struct Slept;

impl Finish<Timeout> for Slept {
    type Output = io::Result<()>;
    #[inline(always)]
    fn finish(&self, o: Outcome<Timeout>) -> io::Result<()> {
        match o?.result() {
            Ok(_) | Err(Errno::TIME) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The bound [`Driver::accept_multi`] gives its stream: accepted
/// connections it keeps queued for a consumer that has not taken them.
///
/// Each is an open descriptor. 256 is a quarter of the usual soft limit on
/// open descriptors (`ulimit -n`: 1024), so a server that does not keep up
/// still has room (beyond these and its listen queue's worth, taken when
/// the stream resumes: 128 for a std `TcpListener`) for the connections
/// it is serving, its files and its listeners, instead of running into
/// `EMFILE`; and it is enough that a
/// server that keeps up is not throttled by a burst (a turn hands out at
/// most a completion queue's worth). Change it with
/// [`Multi::with_backlog`].
pub const ACCEPT_BACKLOG: usize = 256;

impl Driver {
    /// Awaits a NOP.
    pub fn nop(&self) -> Submit<Nop, Unit> {
        self.submit_with(Nop, Unit)
    }

    /// Reads into `buf` (a buffer, or a [`Slice`] of one) from `fd` at
    /// `offset` (`u64::MAX`: the current position); the whole buffer comes
    /// back with the byte count.
    pub fn read_at<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
        offset: u64,
    ) -> Submit<Read<B>, Transfer> {
        self.submit_with(Read::new(fd, buf).at(offset), Transfer)
    }

    /// Reads into `buf` from `fd` at its current position (pipes, sockets,
    /// files read in order).
    pub fn read<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Read<B>, Transfer> {
        self.read_at(fd, buf, u64::MAX)
    }

    /// Writes `buf` (a buffer, or a [`Slice`] of one: `buf.slice(..n)`
    /// writes its first `n` bytes) to `fd` at `offset` (`u64::MAX`: the
    /// current position); the whole buffer comes back.
    pub fn write_at<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
        offset: u64,
    ) -> Submit<Write<B>, Transfer> {
        self.submit_with(Write::new(fd, buf).at(offset), Transfer)
    }

    /// Writes `buf` to `fd` at its current position.
    pub fn write<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Write<B>, Transfer> {
        self.write_at(fd, buf, u64::MAX)
    }

    /// Receives into `buf` (a buffer, or a [`Slice`] of one) from socket
    /// `fd`; the whole buffer comes back with the byte count.
    pub fn recv<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Recv<B>, Transfer> {
        self.submit_with(Recv::new(fd, buf), Transfer)
    }

    /// Sends `buf` (a buffer, or a [`Slice`] of one: `buf.slice(..n)`
    /// sends its first `n` bytes) on socket `fd`; the whole buffer comes
    /// back with the count sent.
    pub fn send<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Send<B>, Transfer> {
        self.submit_with(Send::new(fd, buf), Transfer)
    }

    /// Accepts one connection on listener `fd`.
    pub fn accept(&self, fd: impl Into<Target>) -> Submit<Accept, NewFd> {
        self.submit_with(Accept::new(fd), NewFd)
    }

    /// Connects socket `fd` to `addr`.
    pub fn connect(
        &self,
        fd: impl Into<Target>,
        addr: std::net::SocketAddr,
    ) -> Submit<Connect, Unit> {
        self.submit_with(Connect::new(fd, addr), Unit)
    }

    /// Opens a file (see [`Open`]); the new descriptor is the
    /// caller's.
    pub fn open(&self, open: Open) -> Submit<Open, NewFd> {
        self.submit_with(open, NewFd)
    }

    /// Closes a descriptor.
    pub fn close(&self, fd: OwnedFd) -> Submit<Close, Unit> {
        self.submit_with(Close::new(fd), Unit)
    }

    /// Sleeps for `after` (an io_uring timeout).
    pub fn sleep(&self, after: Duration) -> Submit<Timeout, Slept> {
        self.submit_with(Timeout::new(after), Slept)
    }

    /// Accepts connections on listener `fd` (multishot): one accepted
    /// descriptor (or error) per item; the final item is the operation's
    /// end (an error such as `ECANCELED`).
    ///
    /// About [`ACCEPT_BACKLOG`] accepted connections wait for a consumer
    /// that does not take them: beyond, the stream stops accepting (the
    /// kernel keeps new connections in the listen queue, up to the
    /// listener's backlog, and makes further clients wait) until they are
    /// taken, then takes at once what the listen queue holds; it yields no
    /// error for the pause ([`Multi::with_backlog`] changes the bound).
    pub fn accept_multi(&self, fd: impl Into<Target>) -> Multi<Accept, io::Result<OwnedFd>> {
        self.submit_multi_map(Accept::new(fd).multishot(), |mut c: Completion| {
            c.result()?;
            c.take_fd()
                .ok_or_else(|| io::Error::other("accept created no descriptor"))
        })
        .with_backlog(ACCEPT_BACKLOG)
    }

    /// Receives from socket `fd` into buffers of `bufs` (multishot): one
    /// filled buffer per item. The stream ends at end of file (after the
    /// last data), or with an error item (`ENOBUFS` when `bufs` ran dry:
    /// start a new stream once buffers are back).
    ///
    /// About half of `bufs`' buffers (at least one) wait, filled,
    /// for a consumer that does not take them: beyond, the stream stops
    /// receiving (the data waits in the socket) until they are taken, and
    /// yields no error for the pause. Half, to leave the other half for
    /// the buffers the consumer still holds and those the kernel fills
    /// before the pause takes effect ([`Multi::with_backlog`] changes the
    /// bound). What waited in the socket comes in one burst when the
    /// receive is pushed again: if that is more than the ring's free
    /// buffers, the ring runs dry and the stream ends with `ENOBUFS`, as
    /// without a bound.
    pub fn recv_multi(
        &self,
        fd: impl Into<Target>,
        bufs: Rc<BufRing>,
    ) -> Multi<RecvMulti, io::Result<Option<OwnedBuf>>> {
        let half = usize::from(bufs.entries()) / 2;
        self.submit_multi_map(RecvMulti::new(fd, bufs), |mut c: Completion| {
            c.result()?;
            Ok(c.take_buf())
        })
        .with_backlog(half)
    }

    /// A timeout that fires every `period`, `count` times (0: until the
    /// stream is dropped or cancelled). Each item is one expiry. If an
    /// expiry finds the completion queue full, the kernel ends the
    /// multishot there: that item is the last (the stream then ends after
    /// fewer than `count`).
    pub fn ticks(&self, period: Duration, count: u32) -> Multi<Timeout, io::Result<()>> {
        self.submit_multi_map(
            Timeout::new(period).multishot(count),
            |c: Completion| match c.result() {
                Ok(_) | Err(Errno::TIME) => Ok(()),
                Err(e) => Err(e.into()),
            },
        )
    }
}
