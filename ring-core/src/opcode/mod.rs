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
//! | `opcode/rw.rs` | reads (also multishot), writes, vectored into registered buffers, fsync, sync_file_range |
//! | `opcode/fs.rs` | open, openat2, close, statx, fallocate, ftruncate, unlink, rename, mkdir, symlink, link |
//! | `opcode/xattr.rs` | extended attributes |
//! | `opcode/advise.rs` | fadvise, madvise |
//! | `opcode/files.rs` | the registered file table: update, install as fd |
//! | `opcode/pipe.rs` | splice, tee, pipe |
//! | `opcode/epoll.rs` | epoll_ctl, epoll_wait |
//! | `opcode/futex.rs` | futex wait, wake, waitv |
//! | `opcode/process.rs` | waitid |
//! | `opcode/cmd.rs` | driver commands (`URING_CMD`) |
//! | `opcode/time.rs` | timeouts, [`TimeoutFlags`] |
//! | `opcode/cancel.rs` | async cancel |
//! | `opcode/poll.rs` | poll add/remove |
//! | `opcode/net.rs` | sockets, send/receive, zero-copy receive, [`RecvSendFlags`] |
//! | `opcode/msg_ring.rs` | ring-to-ring messages |
//! | `opcode/buf.rs` | legacy provided buffers |

mod advise;
mod buf;
mod cancel;
mod cmd;
mod epoll;
mod files;
mod fs;
mod futex;
mod msg_ring;
mod net;
mod pipe;
mod poll;
mod process;
mod rw;
mod time;
mod xattr;

#[cfg(test)]
mod layout;

pub use advise::{Fadvise, Madvise};
pub use buf::{ProvideBuffers, RemoveBuffers};
pub use cancel::{AsyncCancel, CancelBy};
pub use cmd::{
    UringCmd, SOCKET_URING_OP_GETSOCKOPT, SOCKET_URING_OP_SETSOCKOPT, SOCKET_URING_OP_SIOCINQ,
    SOCKET_URING_OP_SIOCOUTQ,
};
pub use epoll::{EpollCtl, EpollWait};
pub use files::{FilesUpdate, FixedFdInstall};
pub use fs::{
    Close, Fallocate, Ftruncate, Linkat, Mkdirat, Openat, Openat2, Renameat, Statx, Symlinkat,
    Unlinkat,
};
pub use futex::{
    FutexWait, FutexWaitv, FutexWake, FUTEX2_PRIVATE, FUTEX2_SIZE_U32, FUTEX_BITSET_MATCH_ANY,
};
pub use msg_ring::MsgRing;
pub use net::{
    Accept, Bind, Connect, Listen, Recv, RecvMsg, RecvSendFlags, RecvZc, Send, SendMsg, SendMsgZc,
    SendZc, Shutdown, Socket,
};
pub use pipe::{Pipe, Splice, Tee};
pub use poll::{PollAdd, PollRemove};
pub use process::Waitid;
pub use rw::{
    Fsync, Read, ReadFixed, ReadMultishot, Readv, ReadvFixed, SyncFileRange, Write, WriteFixed,
    Writev, WritevFixed,
};
pub use time::{LinkTimeout, Timeout, TimeoutFlags, TimeoutRemove};
pub use xattr::{FgetXattr, FsetXattr, GetXattr, SetXattr};

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
