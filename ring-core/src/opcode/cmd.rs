//! Driver commands (`IORING_OP_URING_CMD`): a command number and a small
//! command area the file's driver interprets.

use super::{on, ptr};
use crate::squeue::Entry;
use crate::types::Target;

/// `SOCKET_URING_OP_SIOCINQ` (6.7): bytes waiting in a socket's receive
/// queue.
pub const SOCKET_URING_OP_SIOCINQ: u32 = 0;
/// `SOCKET_URING_OP_SIOCOUTQ` (6.7): bytes not yet sent from a socket's send
/// queue.
pub const SOCKET_URING_OP_SIOCOUTQ: u32 = 1;
/// `SOCKET_URING_OP_GETSOCKOPT` (6.7).
pub const SOCKET_URING_OP_GETSOCKOPT: u32 = 2;
/// `SOCKET_URING_OP_SETSOCKOPT` (6.7).
pub const SOCKET_URING_OP_SETSOCKOPT: u32 = 3;

/// `IORING_OP_URING_CMD` (5.19; sockets 6.7): pass command `cmd_op` to the
/// file's driver (NVMe passthrough, ublk, sockets, ...).
///
/// In a 64-byte entry the command area is the last 16 bytes
/// ([`cmd`](Self::cmd)); a driver that needs the 80-byte area wants an
/// `SQE128` ring ([`Builder::sqe128`](crate::Builder::sqe128)): build the
/// entry, convert it to a [`squeue::Entry128`](crate::squeue::Entry128) and
/// fill its `cmd` too.
#[derive(Clone, Copy, Debug)]
pub struct UringCmd {
    target: Target,
    cmd_op: u32,
    /// `addr`: `level` and `optname` for socket options.
    addr: u64,
    /// `file_index`: `optlen` for socket options.
    optlen: u32,
    cmd: [u8; 16],
    fixed_buf: Option<u16>,
}

impl UringCmd {
    /// The opcode.
    pub const CODE: u8 = 46;
    /// Command `cmd_op` on `target`, with a zeroed command area.
    #[inline]
    pub fn new(target: impl Into<Target>, cmd_op: u32) -> Self {
        UringCmd {
            target: target.into(),
            cmd_op,
            addr: 0,
            optlen: 0,
            cmd: [0; 16],
            fixed_buf: None,
        }
    }
    /// The 16 command bytes of a 64-byte entry.
    #[inline]
    pub const fn cmd(mut self, cmd: [u8; 16]) -> Self {
        self.cmd = cmd;
        self
    }
    /// `SOCKET_URING_OP_GETSOCKOPT`/`SETSOCKOPT` arguments: `level`,
    /// `optname`, the option buffer and its length.
    #[inline]
    pub fn sockopt(mut self, level: u32, optname: u32, optval: *mut u8, optlen: u32) -> Self {
        // `struct { __u32 level; __u32 optname; }` over `addr`, `optlen` over
        // `file_index`, `optval` over `addr3` (the first command bytes).
        self.addr = two_u32(level, optname);
        self.optlen = optlen;
        self.cmd[..8].copy_from_slice(&ptr(optval).to_ne_bytes());
        self
    }
    /// `IORING_URING_CMD_FIXED`: the command's buffer is registered buffer
    /// `index`.
    #[inline]
    pub const fn fixed_buffer(mut self, index: u16) -> Self {
        self.fixed_buf = Some(index);
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.off = two_u32(self.cmd_op, 0); // cmd_op, __pad1
        e.addr = self.addr;
        e.file_index = self.optlen;
        let (a, b) = self.cmd.split_at(8);
        e.addr3 = u64::from_ne_bytes(a.try_into().unwrap_or([0; 8]));
        e.pad2 = u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        if let Some(index) = self.fixed_buf {
            e.op_flags = 1; // IORING_URING_CMD_FIXED
            e.buf_index = index;
        }
        e
    }
}

/// The `u64` whose memory holds `first` then `second` (a `struct { __u32;
/// __u32; }` in a `__u64` union).
#[inline(always)]
fn two_u32(first: u32, second: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&first.to_ne_bytes());
    bytes[4..].copy_from_slice(&second.to_ne_bytes());
    u64::from_ne_bytes(bytes)
}
