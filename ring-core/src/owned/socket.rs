//! Owned socket set-up and zero-copy message sends: socket, bind, listen,
//! sendmsg_zc.
//!
//! Invariants owned here: a socket the kernel creates comes back owned
//! (`result_is_fd`: always into the normal fd table, always
//! `SOCK_CLOEXEC`); every address or message an entry points to is boxed
//! in the operation; every socket an entry names is a [`Target`] the
//! operation holds until its final completion (for `SendMsgZc`, the
//! notification).

use std::net::SocketAddr;

use super::buf::IoBuf;
use super::net::{Message, SockAddr};
use super::ops::MSG_NOSIGNAL;
use super::{Operation, Target};
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// `SOCK_CLOEXEC`, in `socket(2)`'s `type` argument.
const SOCK_CLOEXEC: i32 = rustix::net::SocketFlags::CLOEXEC.bits() as i32;

/// Creates a socket (`socket(2)`, Linux 5.19); the completion's
/// [`take_fd`](super::Completion::take_fd) gives it.
#[derive(Debug)]
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
}

impl Socket {
    /// `socket(domain, ty | SOCK_CLOEXEC, protocol)`: `AF_INET` is 2,
    /// `AF_INET6` 10, `AF_UNIX` 1; `SOCK_STREAM` is 1, `SOCK_DGRAM` 2.
    pub fn new(domain: i32, ty: i32, protocol: i32) -> Self {
        Socket {
            domain,
            ty: ty | SOCK_CLOEXEC,
            protocol,
        }
    }
}

// SAFETY: points to no memory and names no existing descriptor. The
// socket goes into the normal fd table (no direct descriptor), so a
// non-negative result is a new descriptor nobody else owns.
unsafe impl Operation for Socket {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Socket::new(self.domain, self.ty, self.protocol).build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
}

/// Binds a socket to an address the operation owns (`bind(2)`, Linux
/// 6.11).
#[derive(Debug)]
pub struct Bind {
    target: Target,
    addr: SockAddr,
}

impl Bind {
    /// Binds `fd` to `addr`.
    pub fn new(fd: impl Into<Target>, addr: SocketAddr) -> Self {
        Bind {
            target: fd.into(),
            addr: SockAddr::from_std(addr),
        }
    }
    /// The socket it binds.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: the entry points to the boxed sockaddr, owned and stable; the
// socket is a share the operation holds.
unsafe impl Operation for Bind {
    fn entry(&mut self) -> squeue::Entry {
        let len = self.addr.len();
        opcode::Bind::new(self.target.raw(), self.addr.ptr(), len).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Marks a bound socket as accepting connections (`listen(2)`, Linux
/// 6.11).
#[derive(Debug)]
pub struct Listen {
    target: Target,
    backlog: u32,
}

impl Listen {
    /// Listens on `fd` with a queue of `backlog` pending connections.
    pub fn new(fd: impl Into<Target>, backlog: u32) -> Self {
        Listen {
            target: fd.into(),
            backlog,
        }
    }
    /// The socket it marks.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the socket is a share the operation holds.
unsafe impl Operation for Listen {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Listen::new(self.target.raw(), self.backlog).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// A zero-copy `sendmsg` (Linux 6.1) of owned buffers, with `MSG_NOSIGNAL`:
/// two completions, the result (with `MORE`) and the notification that the
/// kernel is done with the buffers; the operation, and the buffers, come
/// back with the notification.
#[derive(Debug)]
pub struct SendMsgZc<B: IoBuf = Vec<u8>> {
    target: Target,
    msg: Message<B>,
}

impl<B: IoBuf> SendMsgZc<B> {
    /// Sends `bufs`, in order, on connected socket `fd`.
    pub fn new(fd: impl Into<Target>, bufs: Vec<B>) -> Self {
        SendMsgZc {
            target: fd.into(),
            msg: Message::new(bufs, None),
        }
    }
    /// Sends `bufs` to `addr` (unconnected datagram sockets).
    pub fn to(fd: impl Into<Target>, bufs: Vec<B>, addr: SocketAddr) -> Self {
        SendMsgZc {
            target: fd.into(),
            msg: Message::new(bufs, Some(SockAddr::from_std(addr))),
        }
    }
    /// The socket it sends on.
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// The buffers it owns.
    pub fn bufs(&self) -> &[B] {
        self.msg.data.bufs()
    }
    /// The buffers back.
    pub fn into_bufs(self) -> Vec<B> {
        self.msg.data.into_bufs()
    }
}

// SAFETY: the entry points to the boxed msghdr, which points to the boxed
// iovec array, the owned buffers and the boxed address: all owned and
// stable, and kept until the notification (the completion without MORE),
// after which the kernel no longer reads the buffers.
unsafe impl<B: IoBuf> Operation for SendMsgZc<B> {
    fn entry(&mut self) -> squeue::Entry {
        opcode::SendMsgZc::new(self.target.raw(), self.msg.hdr())
            .msg_flags(MSG_NOSIGNAL)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}
