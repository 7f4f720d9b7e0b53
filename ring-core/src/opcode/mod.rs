//! Operations: one small builder per io_uring opcode.
//!
//! Each type takes its required arguments in `new`, has `const fn` setters
//! for the optional ones, a `CODE` constant (the kernel's `IORING_OP_*`
//! number, for [`Probe::is_supported`](crate::probe::Probe::is_supported)),
//! and `build()` returning a [`squeue::Entry`]. Building is safe; pushing
//! the entry is where the lifetime contract applies
//! ([`SubmissionQueue::push`](crate::squeue::SubmissionQueue::push)).
//!
//! Field placement follows the kernel's `io_uring_sqe` unions
//! (`include/uapi/linux/io_uring.h`). The builders live in one file per
//! kind of operation and are all re-exported here:
//!
//! | file | operations |
//! |------|------------|
//! | `opcode/rw.rs` | reads, writes, fsync |
//! | `opcode/fs.rs` | open, close, statx, fallocate, ftruncate, unlink, rename, mkdir |
//! | `opcode/pipe.rs` | splice, tee |
//! | `opcode/time.rs` | timeouts, [`TimeoutFlags`] |
//! | `opcode/cancel.rs` | async cancel |
//! | `opcode/poll.rs` | poll add/remove |
//! | `opcode/net.rs` | sockets, send/receive, [`RecvSendFlags`] |
//! | `opcode/msg_ring.rs` | ring-to-ring messages |
//! | `opcode/buf.rs` | legacy provided buffers |

mod buf;
mod cancel;
mod fs;
mod msg_ring;
mod net;
mod pipe;
mod poll;
mod rw;
mod time;

pub use buf::{ProvideBuffers, RemoveBuffers};
pub use cancel::{AsyncCancel, CancelBy};
pub use fs::{Close, Fallocate, Ftruncate, Mkdirat, Openat, Renameat, Statx, Unlinkat};
pub use msg_ring::MsgRing;
pub use net::{
    Accept, Bind, Connect, Listen, Recv, RecvMsg, RecvSendFlags, Send, SendMsg, SendMsgZc, SendZc,
    Shutdown, Socket,
};
pub use pipe::{Splice, Tee};
pub use poll::{PollAdd, PollRemove};
pub use rw::{Fsync, Read, ReadFixed, Readv, Write, WriteFixed, Writev};
pub use time::{LinkTimeout, Timeout, TimeoutFlags, TimeoutRemove};

use crate::squeue::{self, Entry, Flags};
use crate::types::Target;

/// Starts an entry for `opcode` on `target`, setting `IOSQE_FIXED_FILE` for
/// a registered file.
#[inline(always)]
const fn on(opcode: u8, target: Target) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    match target {
        Target::Fd(fd) => e.fd = fd,
        Target::Fixed(i) => {
            e.fd = i as i32;
            e.flags = Flags::FIXED_FILE.bits();
        }
    }
    e
}

/// Starts an entry for `opcode` that acts on no file (`fd = -1`).
#[inline(always)]
const fn fileless(opcode: u8) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    e.fd = -1;
    e
}

#[inline(always)]
fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// `IORING_OP_NOP` (Linux 5.1): completes with result 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nop;

impl Nop {
    /// The opcode.
    pub const CODE: u8 = 0;
    /// A NOP.
    #[inline]
    pub const fn new() -> Self {
        Nop
    }
    /// The entry.
    #[inline]
    pub const fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        e
    }
}
