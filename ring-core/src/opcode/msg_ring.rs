//! Ring-to-ring messages.

use super::on;
use crate::squeue::Entry;
use crate::types::{DestinationSlot, Target};

/// `IORING_OP_MSG_RING` (5.18; fd passing 6.0): post a completion into
/// another ring, optionally passing it one of our registered files.
#[derive(Clone, Copy, Debug)]
pub struct MsgRing {
    ring: Target,
    cmd: u64,
    res: u32,
    user_data: u64,
    src_fixed: u32,
    dest: u32,
    flags: u32,
}

impl MsgRing {
    /// The opcode.
    pub const CODE: u8 = 40;
    /// Posts a CQE with `res` and `user_data` into the ring `ring`
    /// (`IORING_MSG_DATA`).
    #[inline]
    pub fn data(ring: impl Into<Target>, res: u32, user_data: u64) -> Self {
        MsgRing {
            ring: ring.into(),
            cmd: 0,
            res,
            user_data,
            src_fixed: 0,
            dest: 0,
            flags: 0,
        }
    }
    /// Installs our registered file `src_fixed` into the target ring's file
    /// table at `dest` (`IORING_MSG_SEND_FD`), and posts a CQE with
    /// `user_data` there.
    #[inline]
    pub fn send_fd(
        ring: impl Into<Target>,
        src_fixed: u32,
        dest: DestinationSlot,
        user_data: u64,
    ) -> Self {
        MsgRing {
            ring: ring.into(),
            cmd: 1,
            res: 0,
            user_data,
            src_fixed,
            dest: dest.file_index(),
            flags: 0,
        }
    }
    /// `IORING_MSG_RING_CQE_SKIP`: post nothing in the target ring.
    #[inline]
    pub const fn skip_target_cqe(mut self) -> Self {
        self.flags |= 1;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.ring);
        e.addr = self.cmd;
        e.len = self.res;
        e.off = self.user_data;
        e.addr3 = u64::from(self.src_fixed);
        e.file_index = self.dest;
        e.op_flags = self.flags;
        e
    }
}
