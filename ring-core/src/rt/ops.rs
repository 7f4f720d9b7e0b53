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
use super::submit::{Outcome, Submit};
use crate::buf_ring::BufRing;
use crate::owned::{
    op::Accept, op::Close, op::Connect, op::Nop, op::Open, op::Read, op::Recv, op::RecvMulti,
    op::Send, op::Timeout, op::Write, Completion, IoBuf, OwnedBuf, Slice, Target,
};
use crate::Errno;

/// A transfer's outcome: bytes moved and the buffer back.
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

/// An outcome whose success is a new descriptor.
fn new_fd<T>(o: Outcome<T>) -> io::Result<OwnedFd> {
    let mut done = o?;
    done.result()?;
    done.take_fd()
        .ok_or_else(|| io::Error::other("operation created no descriptor"))
}

/// An outcome with nothing but success.
fn unit<T>(o: Outcome<T>) -> io::Result<()> {
    o?.result()?;
    Ok(())
}

impl Driver {
    /// Awaits a NOP.
    pub fn nop(&self) -> Submit<Nop, io::Result<()>> {
        self.submit_map(Nop, unit)
    }

    /// Reads into `buf` (a buffer, or a [`Slice`] of one) from `fd` at
    /// `offset` (`u64::MAX`: the current position); the whole buffer comes
    /// back with the byte count.
    pub fn read_at<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
        offset: u64,
    ) -> Submit<Read<B>, (io::Result<usize>, B)> {
        self.submit_map(Read::new(fd, buf).at(offset), |o| {
            transfer(o, Read::into_buf)
        })
    }

    /// Reads into `buf` from `fd` at its current position (pipes, sockets,
    /// files read in order).
    pub fn read<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Read<B>, (io::Result<usize>, B)> {
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
    ) -> Submit<Write<B>, (io::Result<usize>, B)> {
        self.submit_map(Write::new(fd, buf).at(offset), |o| {
            transfer(o, Write::into_buf)
        })
    }

    /// Writes `buf` to `fd` at its current position.
    pub fn write<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Write<B>, (io::Result<usize>, B)> {
        self.write_at(fd, buf, u64::MAX)
    }

    /// Receives into `buf` (a buffer, or a [`Slice`] of one) from socket
    /// `fd`; the whole buffer comes back with the byte count.
    pub fn recv<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Recv<B>, (io::Result<usize>, B)> {
        self.submit_map(Recv::new(fd, buf), |o| transfer(o, Recv::into_buf))
    }

    /// Sends `buf` (a buffer, or a [`Slice`] of one: `buf.slice(..n)`
    /// sends its first `n` bytes) on socket `fd`; the whole buffer comes
    /// back with the count sent.
    pub fn send<B: IoBuf>(
        &self,
        fd: impl Into<Target>,
        buf: impl Into<Slice<B>>,
    ) -> Submit<Send<B>, (io::Result<usize>, B)> {
        self.submit_map(Send::new(fd, buf), |o| transfer(o, Send::into_buf))
    }

    /// Accepts one connection on listener `fd`.
    pub fn accept(&self, fd: impl Into<Target>) -> Submit<Accept, io::Result<OwnedFd>> {
        self.submit_map(Accept::new(fd), new_fd)
    }

    /// Connects socket `fd` to `addr`.
    pub fn connect(
        &self,
        fd: impl Into<Target>,
        addr: std::net::SocketAddr,
    ) -> Submit<Connect, io::Result<()>> {
        self.submit_map(Connect::new(fd, addr), unit)
    }

    /// Opens a file (see [`Open`]); the new descriptor is the
    /// caller's.
    pub fn open(&self, open: Open) -> Submit<Open, io::Result<OwnedFd>> {
        self.submit_map(open, new_fd)
    }

    /// Closes a descriptor.
    pub fn close(&self, fd: OwnedFd) -> Submit<Close, io::Result<()>> {
        self.submit_map(Close::new(fd), unit)
    }

    /// Sleeps for `after` (an io_uring timeout).
    pub fn sleep(&self, after: Duration) -> Submit<Timeout, io::Result<()>> {
        self.submit_map(Timeout::new(after), |o| match o?.result() {
            Ok(_) | Err(Errno::TIME) => Ok(()),
            Err(e) => Err(e.into()),
        })
    }

    /// Accepts connections on listener `fd` (multishot): one accepted
    /// descriptor (or error) per item; the final item is the operation's
    /// end (an error such as `ECANCELED`).
    pub fn accept_multi(&self, fd: impl Into<Target>) -> Multi<Accept, io::Result<OwnedFd>> {
        self.submit_multi_map(Accept::new(fd).multishot(), |mut c: Completion| {
            c.result()?;
            c.take_fd()
                .ok_or_else(|| io::Error::other("accept created no descriptor"))
        })
    }

    /// Receives from socket `fd` into buffers of `bufs` (multishot): one
    /// filled buffer per item. The stream ends at end of file (after the
    /// last data), or with an error item (`ENOBUFS` when `bufs` ran dry:
    /// start a new stream once buffers are back).
    pub fn recv_multi(
        &self,
        fd: impl Into<Target>,
        bufs: Rc<BufRing>,
    ) -> Multi<RecvMulti, io::Result<Option<OwnedBuf>>> {
        self.submit_multi_map(RecvMulti::new(fd, bufs), |mut c: Completion| {
            c.result()?;
            Ok(c.take_buf())
        })
    }

    /// A timeout that fires every `period`, `count` times (0: until the
    /// stream is dropped or cancelled). Each item is one expiry.
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
