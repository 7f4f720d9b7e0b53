//! Owned socket operations whose kernel arguments go beyond one buffer:
//! socket addresses (connect, accept recording the peer) and message headers
//! (sendmsg, recvmsg with their iovecs and address).
//!
//! Invariant owned here: every pointer an entry carries (sockaddr, its
//! length, msghdr, iovec array, data buffers) targets a `Box` or an `IoBuf`
//! the operation owns, so it stays put while the operation moves.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use rustix::io_uring::MsgHdr;
use rustix::net::RecvFlags;

use super::buf::{IoBuf, Iovecs};
use super::ops::{MSG_NOSIGNAL, SOCK_CLOEXEC};
use super::Operation;
use super::Target;
use crate::opcode;
use crate::squeue;
use crate::RingId;

const AF_INET: u16 = rustix::net::AddressFamily::INET.as_raw();
const AF_INET6: u16 = rustix::net::AddressFamily::INET6.as_raw();

/// Room for any socket address (`sockaddr_storage`), aligned for the
/// kernel's reads and writes.
#[repr(C, align(8))]
struct Storage([u8; 128]);

/// A socket address in the kernel's layout, boxed so its address is stable,
/// with its length (which `accept` and `recvmsg` overwrite).
pub(super) struct SockAddr {
    storage: Box<Storage>,
    len: Box<u32>,
}

impl SockAddr {
    /// Room for the kernel to write an address into.
    fn empty() -> Self {
        SockAddr {
            storage: Box::new(Storage([0; 128])),
            len: Box::new(128),
        }
    }

    /// `addr` encoded as `sockaddr_in` / `sockaddr_in6`.
    pub(super) fn from_std(addr: SocketAddr) -> Self {
        let mut s = Self::empty();
        let b = &mut s.storage.0;
        match addr {
            SocketAddr::V4(a) => {
                b[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
                b[2..4].copy_from_slice(&a.port().to_be_bytes());
                b[4..8].copy_from_slice(&a.ip().octets());
                *s.len = 16;
            }
            SocketAddr::V6(a) => {
                b[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
                b[2..4].copy_from_slice(&a.port().to_be_bytes());
                b[4..8].copy_from_slice(&a.flowinfo().to_be_bytes());
                b[8..24].copy_from_slice(&a.ip().octets());
                b[24..28].copy_from_slice(&a.scope_id().to_ne_bytes());
                *s.len = 28;
            }
        }
        s
    }

    /// The address the kernel wrote, if it is IPv4 or IPv6.
    fn to_std(&self) -> Option<SocketAddr> {
        self.decode(*self.len)
    }

    /// The first `len` bytes of the storage as an IPv4 or IPv6 address.
    fn decode(&self, len: u32) -> Option<SocketAddr> {
        let b = &self.storage.0;
        let len = len as usize;
        let family = u16::from_ne_bytes([b[0], b[1]]);
        let port = u16::from_be_bytes([b[2], b[3]]);
        match family {
            AF_INET if len >= 16 => {
                let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
                Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
            }
            AF_INET6 if len >= 28 => {
                let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&b[8..24]);
                let scope = u32::from_ne_bytes([b[24], b[25], b[26], b[27]]);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(ip),
                    port,
                    flow,
                    scope,
                )))
            }
            _ => None,
        }
    }

    pub(super) fn ptr(&mut self) -> *mut u8 {
        self.storage.0.as_mut_ptr()
    }

    /// The length of the address (as encoded, or as the kernel wrote it).
    pub(super) fn len(&self) -> u32 {
        *self.len
    }
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_std() {
            Some(a) => write!(f, "{a}"),
            None => write!(f, "SockAddr(len {})", self.len),
        }
    }
}

/// Connects socket `fd` to an address the operation owns.
#[derive(Debug)]
pub struct Connect {
    target: Target,
    addr: SockAddr,
}

impl Connect {
    /// Connects `fd` to `addr`.
    pub fn new(fd: impl Into<Target>, addr: SocketAddr) -> Self {
        Connect {
            target: fd.into(),
            addr: SockAddr::from_std(addr),
        }
    }
    /// The socket it connects.
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// The address it connects to.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr.to_std()
    }
}

// SAFETY: the entry points to the boxed sockaddr, owned and stable.
unsafe impl Operation for Connect {
    fn entry(&mut self) -> squeue::Entry {
        let len = *self.addr.len;
        opcode::Connect::new(self.target.raw(), self.addr.ptr(), len).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Accepts one connection and records the peer's address
/// ([`peer_addr`](Self::peer_addr) once it has completed). The new
/// connection comes from the completion's
/// [`take_fd`](super::Completion::take_fd).
#[derive(Debug)]
pub struct AcceptPeer {
    target: Target,
    peer: SockAddr,
}

impl AcceptPeer {
    /// Accepts on listener `fd` (`SOCK_CLOEXEC`).
    pub fn new(fd: impl Into<Target>) -> Self {
        AcceptPeer {
            target: fd.into(),
            peer: SockAddr::empty(),
        }
    }

    /// The listener it accepts on.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The peer of the accepted connection (after a successful completion).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer.to_std()
    }
}

// SAFETY: the entry points to the boxed sockaddr and the boxed length, both
// owned and stable; the kernel writes them before the (single) completion.
// It accepts into the normal fd table, so a non-negative result is a new
// descriptor nobody else owns.
unsafe impl Operation for AcceptPeer {
    fn entry(&mut self) -> squeue::Entry {
        let len: *mut u32 = &mut *self.peer.len;
        opcode::Accept::new(self.target.raw())
            .peer(self.peer.ptr(), len)
            .flags(SOCK_CLOEXEC)
            .build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// The buffers of a message and the iovec array that points into them:
/// the array is built once, from buffers that never move.
pub(super) struct Vectored<B: IoBuf> {
    bufs: Vec<B>,
    iov: Iovecs,
}

impl<B: IoBuf> Vectored<B> {
    fn new(mut bufs: Vec<B>) -> Self {
        let iov = Iovecs::over(&mut bufs);
        Vectored { bufs, iov }
    }

    pub(super) fn bufs(&self) -> &[B] {
        &self.bufs
    }

    pub(super) fn into_bufs(self) -> Vec<B> {
        self.bufs
    }
}

impl<B: IoBuf> std::fmt::Debug for Vectored<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vectored")
            .field("buffers", &self.iov.len())
            .finish()
    }
}

/// A message header and everything it points to.
#[derive(Debug)]
pub(super) struct Message<B: IoBuf> {
    pub(super) data: Vectored<B>,
    name: Option<SockAddr>,
    hdr: Box<MsgHdrCell>,
}

/// `MsgHdr` is not `Debug`; this wrapper only says so.
struct MsgHdrCell(MsgHdr);

impl std::fmt::Debug for MsgHdrCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsgHdr")
    }
}

impl<B: IoBuf> Message<B> {
    pub(super) fn new(bufs: Vec<B>, name: Option<SockAddr>) -> Self {
        let mut m = Message {
            data: Vectored::new(bufs),
            name,
            hdr: Box::new(MsgHdrCell(MsgHdr {
                msg_name: std::ptr::null_mut(),
                msg_namelen: 0,
                msg_iov: std::ptr::null_mut(),
                msg_iovlen: 0,
                msg_control: std::ptr::null_mut(),
                msg_controllen: 0,
                msg_flags: RecvFlags::empty(),
            })),
        };
        let h = &mut m.hdr.0;
        h.msg_iov = m.data.iov.ptr();
        h.msg_iovlen = m.data.iov.len();
        if let Some(name) = &mut m.name {
            h.msg_name = name.ptr().cast();
            h.msg_namelen = *name.len;
        }
        m
    }

    pub(super) fn hdr(&mut self) -> *mut MsgHdr {
        &mut self.hdr.0
    }

    /// The address the kernel wrote into the header (recvmsg).
    fn name(&self) -> Option<SocketAddr> {
        // The kernel writes the length into the header, not into `len`.
        self.name.as_ref()?.decode(self.hdr.0.msg_namelen)
    }
}

/// Sends the concatenation of owned buffers in one message (`sendmsg`,
/// with `MSG_NOSIGNAL`), to a given address if [`to`](Self::to) is set.
#[derive(Debug)]
pub struct SendMsg<B: IoBuf = Vec<u8>> {
    target: Target,
    msg: Message<B>,
}

impl<B: IoBuf> SendMsg<B> {
    /// Sends `bufs`, in order, on socket `fd`.
    pub fn new(fd: impl Into<Target>, bufs: Vec<B>) -> Self {
        SendMsg {
            target: fd.into(),
            msg: Message::new(bufs, None),
        }
    }
    /// Sends `bufs` to `addr` (unconnected datagram sockets).
    pub fn to(fd: impl Into<Target>, bufs: Vec<B>, addr: SocketAddr) -> Self {
        SendMsg {
            target: fd.into(),
            msg: Message::new(bufs, Some(SockAddr::from_std(addr))),
        }
    }
    /// The socket it acts on.
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
// iovec array, the owned buffers and the boxed address: all owned, stable.
unsafe impl<B: IoBuf> Operation for SendMsg<B> {
    fn entry(&mut self) -> squeue::Entry {
        opcode::SendMsg::new(self.target.raw(), self.msg.hdr())
            .msg_flags(MSG_NOSIGNAL)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Receives one message into owned buffers (`recvmsg`), recording the
/// sender's address ([`from_addr`](Self::from_addr)).
#[derive(Debug)]
pub struct RecvMsg<B: IoBuf = Vec<u8>> {
    target: Target,
    msg: Message<B>,
}

impl<B: IoBuf> RecvMsg<B> {
    /// Receives into `bufs`, in order, from socket `fd`.
    pub fn new(fd: impl Into<Target>, bufs: Vec<B>) -> Self {
        RecvMsg {
            target: fd.into(),
            msg: Message::new(bufs, Some(SockAddr::empty())),
        }
    }
    /// The sender's address, if the socket reported an IPv4 or IPv6 one.
    pub fn from_addr(&self) -> Option<SocketAddr> {
        self.msg.name()
    }
    /// The socket it acts on.
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

// SAFETY: as for SendMsg; the kernel writes the buffers, the address and
// the header's length fields, all owned by the operation.
unsafe impl<B: IoBuf> Operation for RecvMsg<B> {
    fn entry(&mut self) -> squeue::Entry {
        opcode::RecvMsg::new(self.target.raw(), self.msg.hdr()).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}
