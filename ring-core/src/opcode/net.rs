//! Sockets: create, bind, listen, accept, connect, send and receive
//! (plain, `msghdr` and zero-copy), shutdown.

use super::{on, ptr};
use crate::squeue::{Entry, Flags};
use crate::types::{DestinationSlot, Target};

/// `IORING_OP_SOCKET` (5.19).
#[derive(Clone, Copy, Debug)]
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
    dest: DestinationSlot,
}

impl Socket {
    /// The opcode.
    pub const CODE: u8 = 45;
    /// `socket(domain, ty, protocol)` (`ty` may include `SOCK_CLOEXEC`).
    #[inline]
    pub const fn new(domain: i32, ty: i32, protocol: i32) -> Self {
        Socket {
            domain,
            ty,
            protocol,
            dest: DestinationSlot::Normal,
        }
    }
    /// Where the new socket goes.
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.domain));
        e.off = self.ty as u32 as u64;
        e.len = self.protocol as u32;
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_BIND` (6.11).
#[derive(Clone, Copy, Debug)]
pub struct Bind {
    target: Target,
    addr: *const u8,
    addrlen: u32,
}

impl Bind {
    /// The opcode.
    pub const CODE: u8 = 56;
    /// Binds to the `sockaddr` at `addr` of `addrlen` bytes.
    #[inline]
    pub fn new(target: impl Into<Target>, addr: *const u8, addrlen: u32) -> Self {
        Bind {
            target: target.into(),
            addr,
            addrlen,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = u64::from(self.addrlen);
        e
    }
}

/// `IORING_OP_LISTEN` (6.11).
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    target: Target,
    backlog: u32,
}

impl Listen {
    /// The opcode.
    pub const CODE: u8 = 57;
    /// `listen(fd, backlog)`.
    #[inline]
    pub fn new(target: impl Into<Target>, backlog: u32) -> Self {
        Listen {
            target: target.into(),
            backlog,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.backlog;
        e
    }
}

/// `IORING_OP_ACCEPT` (5.5; multishot 5.19; direct 5.15).
#[derive(Clone, Copy, Debug)]
pub struct Accept {
    target: Target,
    addr: *mut u8,
    addrlen: *mut u32,
    flags: u32,
    multishot: bool,
    dest: DestinationSlot,
}

impl Accept {
    /// The opcode.
    pub const CODE: u8 = 13;
    /// Accepts on the listening socket, not recording the peer address.
    #[inline]
    pub fn new(target: impl Into<Target>) -> Self {
        Accept {
            target: target.into(),
            addr: core::ptr::null_mut(),
            addrlen: core::ptr::null_mut(),
            flags: 0,
            multishot: false,
            dest: DestinationSlot::Normal,
        }
    }
    /// Record the peer into `addr`, whose size `*addrlen` holds on entry.
    #[inline]
    pub const fn peer(mut self, addr: *mut u8, addrlen: *mut u32) -> Self {
        self.addr = addr;
        self.addrlen = addrlen;
        self
    }
    /// `SOCK_NONBLOCK`/`SOCK_CLOEXEC` for the new socket.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// `IORING_ACCEPT_MULTISHOT`: one completion (with `MORE`) per
    /// connection until cancelled or an error.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
    /// Where accepted sockets go (multishot needs `Normal` or `AutoFixed`).
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = ptr(self.addrlen);
        e.op_flags = self.flags;
        e.ioprio = self.multishot as u16; // IORING_ACCEPT_MULTISHOT
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_CONNECT` (5.5).
#[derive(Clone, Copy, Debug)]
pub struct Connect {
    target: Target,
    addr: *const u8,
    addrlen: u32,
}

impl Connect {
    /// The opcode.
    pub const CODE: u8 = 16;
    /// Connects to the `sockaddr` at `addr` of `addrlen` bytes.
    #[inline]
    pub fn new(target: impl Into<Target>, addr: *const u8, addrlen: u32) -> Self {
        Connect {
            target: target.into(),
            addr,
            addrlen,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = u64::from(self.addrlen);
        e
    }
}

bitflags::bitflags! {
    /// `IORING_RECVSEND_*` / `IORING_RECV_*` / `IORING_SEND_*` flags: the
    /// SQE's `ioprio` field for send and receive operations.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RecvSendFlags: u16 {
        /// `IORING_RECVSEND_POLL_FIRST` (Linux 5.19): poll before trying.
        const POLL_FIRST = 1 << 0;
        /// `IORING_RECV_MULTISHOT` (6.0): keep receiving into provided buffers.
        const RECV_MULTISHOT = 1 << 1;
        /// `IORING_RECVSEND_FIXED_BUF` (6.0): the buffer is a registered one.
        const FIXED_BUF = 1 << 2;
        /// `IORING_SEND_ZC_REPORT_USAGE` (6.2): report whether the kernel copied.
        const ZC_REPORT_USAGE = 1 << 3;
        /// `IORING_RECVSEND_BUNDLE` (6.10): several buffers at once.
        const BUNDLE = 1 << 4;
    }
}

/// `IORING_OP_SEND` (5.6): `send(fd, buf, len, flags)`.
#[derive(Clone, Copy, Debug)]
pub struct Send {
    target: Target,
    buf: *const u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl Send {
    /// The opcode.
    pub const CODE: u8 = 26;
    /// Sends `len` bytes from `buf`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32) -> Self {
        Send {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// Adds [`RecvSendFlags`].
    #[inline]
    pub const fn recvsend_flags(mut self, flags: RecvSendFlags) -> Self {
        self.ioprio |= flags.bits();
        self
    }
    /// `IORING_RECVSEND_BUNDLE` (6.10): send from buffers of group `bgid`.
    #[inline]
    pub const fn bundle(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self.ioprio |= RecvSendFlags::BUNDLE.bits();
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_RECV` (5.6; multishot 6.0): `recv(fd, buf, len, flags)`, or
/// into provided buffers.
#[derive(Clone, Copy, Debug)]
pub struct Recv {
    target: Target,
    buf: *mut u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl Recv {
    /// The opcode.
    pub const CODE: u8 = 27;
    /// Receives up to `len` bytes into `buf`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *mut u8, len: u32) -> Self {
        Recv {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// Receives into a buffer the kernel picks from group `bgid`.
    #[inline]
    pub fn with_buf_group(target: impl Into<Target>, bgid: u16) -> Self {
        Recv::new(target, core::ptr::null_mut(), 0).buf_group(bgid)
    }
    /// `IOSQE_BUFFER_SELECT` from group `bgid`.
    #[inline]
    pub const fn buf_group(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self
    }
    /// `IORING_RECV_MULTISHOT`: keep receiving (needs a buffer group); each
    /// completion carries `MORE` until the last.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.ioprio |= RecvSendFlags::RECV_MULTISHOT.bits();
        self
    }
    /// `IORING_RECVSEND_BUNDLE` (6.10): fill several buffers per completion.
    #[inline]
    pub const fn bundle(mut self) -> Self {
        self.ioprio |= RecvSendFlags::BUNDLE.bits();
        self
    }
    /// `IORING_RECVSEND_POLL_FIRST` (5.19): wait for the socket to be
    /// readable before the first try, instead of trying at once and, if
    /// nothing is there (`EAGAIN`), then waiting. For a receive that
    /// expects no data yet, such as the next request after a reply.
    #[inline]
    pub const fn poll_first(mut self) -> Self {
        self.ioprio |= RecvSendFlags::POLL_FIRST.bits();
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_SENDMSG` (5.3).
#[derive(Clone, Copy, Debug)]
pub struct SendMsg {
    target: Target,
    msg: *const crate::types::MsgHdr,
    msg_flags: u32,
}

impl SendMsg {
    /// The opcode.
    pub const CODE: u8 = 9;
    /// `sendmsg(fd, msg, flags)`.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *const crate::types::MsgHdr) -> Self {
        SendMsg {
            target: target.into(),
            msg,
            msg_flags: 0,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e
    }
}

/// `IORING_OP_RECVMSG` (5.3; multishot 6.0). In multishot mode each
/// provided buffer starts with an `io_uring_recvmsg_out` header: parse it
/// with [`crate::buf_ring::RecvMsgOut`].
#[derive(Clone, Copy, Debug)]
pub struct RecvMsg {
    target: Target,
    msg: *mut crate::types::MsgHdr,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl RecvMsg {
    /// The opcode.
    pub const CODE: u8 = 10;
    /// `recvmsg(fd, msg, flags)`.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *mut crate::types::MsgHdr) -> Self {
        RecvMsg {
            target: target.into(),
            msg,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// `IOSQE_BUFFER_SELECT` from group `bgid`.
    #[inline]
    pub const fn buf_group(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self
    }
    /// `IORING_RECV_MULTISHOT` (needs a buffer group); `msg` then only
    /// describes the name/control sizes to reserve in each buffer.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.ioprio |= RecvSendFlags::RECV_MULTISHOT.bits();
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_SEND_ZC` (6.0): zero-copy send. It posts **two** completions:
/// the send result (with `MORE`), then a `NOTIF` completion once the kernel
/// no longer reads the buffer. The buffer must stay untouched until the
/// `NOTIF` one. Both carry the entry's `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct SendZc {
    target: Target,
    buf: *const u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_index: u16,
}

impl SendZc {
    /// The opcode.
    pub const CODE: u8 = 47;
    /// Sends `len` bytes from `buf` without copying.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32) -> Self {
        SendZc {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_index: 0,
        }
    }
    /// Send from registered buffer `index` (`IORING_RECVSEND_FIXED_BUF`).
    #[inline]
    pub const fn fixed_buffer(mut self, index: u16) -> Self {
        self.buf_index = index;
        self.ioprio |= RecvSendFlags::FIXED_BUF.bits();
        self
    }
    /// `IORING_SEND_ZC_REPORT_USAGE` (6.2): the `NOTIF` result reports
    /// `IORING_NOTIF_USAGE_ZC_COPIED` when the kernel copied after all.
    #[inline]
    pub const fn report_usage(mut self) -> Self {
        self.ioprio |= RecvSendFlags::ZC_REPORT_USAGE.bits();
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        e.buf_index = self.buf_index;
        e
    }
}

/// `IORING_OP_SENDMSG_ZC` (6.1): zero-copy `sendmsg`, with the same two
/// completions as [`SendZc`].
#[derive(Clone, Copy, Debug)]
pub struct SendMsgZc {
    target: Target,
    msg: *const crate::types::MsgHdr,
    msg_flags: u32,
}

impl SendMsgZc {
    /// The opcode.
    pub const CODE: u8 = 48;
    /// `sendmsg(fd, msg, flags)` without copying the payload.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *const crate::types::MsgHdr) -> Self {
        SendMsgZc {
            target: target.into(),
            msg,
            msg_flags: 0,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e
    }
}

/// `IORING_OP_SHUTDOWN` (5.11).
///
/// The kernel always runs shutdown on an io-wq worker, and for a normal fd
/// it looks the fd number up only then: close the fd (or let its number be
/// reused) only after this operation has completed, or it may shut down
/// whatever file got the number next. Found by http-demo's soak test: a
/// lingering close's shutdown hit the next connection.
#[derive(Clone, Copy, Debug)]
pub struct Shutdown {
    target: Target,
    how: i32,
}

impl Shutdown {
    /// The opcode.
    pub const CODE: u8 = 34;
    /// `shutdown(fd, how)` (`SHUT_RD`=0, `SHUT_WR`=1, `SHUT_RDWR`=2).
    #[inline]
    pub fn new(target: impl Into<Target>, how: i32) -> Self {
        Shutdown {
            target: target.into(),
            how,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.how as u32;
        e
    }
}

/// `IORING_OP_RECV_ZC` (6.15): zero-copy receive into the area of a
/// registered zero-copy receive queue (`IORING_REGISTER_ZCRX_IFQ`, which
/// needs a NIC with header split and flow steering). Always multishot.
#[derive(Clone, Copy, Debug)]
pub struct RecvZc {
    target: Target,
    ifq: u32,
    len: u32,
    ioprio: u16,
}

impl RecvZc {
    /// The opcode.
    pub const CODE: u8 = 58;
    /// Receives through zero-copy queue `ifq` (the index its registration
    /// returned).
    #[inline]
    pub fn new(target: impl Into<Target>, ifq: u32) -> Self {
        RecvZc {
            target: target.into(),
            ifq,
            len: 0,
            ioprio: RecvSendFlags::RECV_MULTISHOT.bits(),
        }
    }
    /// Stop after `len` bytes (default 0: no limit).
    #[inline]
    pub const fn len(mut self, len: u32) -> Self {
        self.len = len;
        self
    }
    /// `IORING_RECVSEND_POLL_FIRST`.
    #[inline]
    pub const fn poll_first(mut self) -> Self {
        self.ioprio |= RecvSendFlags::POLL_FIRST.bits();
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.len;
        e.ioprio = self.ioprio;
        e.file_index = self.ifq;
        e
    }
}
