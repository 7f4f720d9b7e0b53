//! Processes: waiting for a child's state change.

use super::{on, ptr};
use crate::squeue::Entry;
use crate::types::{Siginfo, Target};

/// `IORING_OP_WAITID` (6.7): `waitid(idtype, id, infop, options)`; the
/// result is 0 and `*infop` describes the child.
#[derive(Clone, Copy, Debug)]
pub struct Waitid {
    idtype: u32,
    id: i32,
    infop: *mut Siginfo,
    options: u32,
}

impl Waitid {
    /// The opcode.
    pub const CODE: u8 = 50;
    /// Waits for the child(ren) `idtype` (`P_ALL`=0, `P_PID`=1, `P_PGID`=2,
    /// `P_PIDFD`=3) and `id` name, with `options` (`WEXITED`=4, `WSTOPPED`,
    /// `WNOHANG`, ...), filling `*infop` (may be null).
    #[inline]
    pub const fn new(idtype: u32, id: i32, infop: *mut Siginfo, options: u32) -> Self {
        Waitid {
            idtype,
            id,
            infop,
            options,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.id));
        e.len = self.idtype;
        e.file_index = self.options;
        e.off = ptr(self.infop);
        e
    }
}
