//! The registered file table from inside the ring: update slots, install a
//! slot as a normal descriptor.

use rustix::fd::RawFd;

use super::{fileless, ptr};
use crate::squeue::{Entry, Flags};

/// `IORING_OP_FILES_UPDATE` (5.6): replace registered file slots from
/// `offset` with the `nr` fds at `fds` (-1 empties a slot); the result is
/// how many were updated.
#[derive(Clone, Copy, Debug)]
pub struct FilesUpdate {
    fds: *const RawFd,
    nr: u32,
    offset: i32,
}

impl FilesUpdate {
    /// The opcode.
    pub const CODE: u8 = 20;
    /// Updates `nr` slots from `offset` (`IORING_FILE_INDEX_ALLOC` = -1:
    /// any free slots, whose indices the kernel writes back into `fds`).
    #[inline]
    pub const fn new(fds: *const RawFd, nr: u32, offset: i32) -> Self {
        FilesUpdate { fds, nr, offset }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.fds);
        e.len = self.nr;
        e.off = self.offset as i64 as u64;
        e
    }
}

/// `IORING_OP_FIXED_FD_INSTALL` (6.8): make registered file `slot` a normal
/// descriptor too; the result is the new fd (close-on-exec unless
/// [`no_cloexec`](Self::no_cloexec)).
#[derive(Clone, Copy, Debug)]
pub struct FixedFdInstall {
    slot: u32,
    flags: u32,
}

impl FixedFdInstall {
    /// The opcode.
    pub const CODE: u8 = 54;
    /// Installs registered file `slot` in the process's fd table.
    #[inline]
    pub const fn new(slot: u32) -> Self {
        FixedFdInstall { slot, flags: 0 }
    }
    /// `IORING_FIXED_FD_NO_CLOEXEC`: leave the new fd without `O_CLOEXEC`.
    #[inline]
    pub const fn no_cloexec(mut self) -> Self {
        self.flags |= 1;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.fd = self.slot as i32;
        e.flags = Flags::FIXED_FILE.bits();
        e.op_flags = self.flags;
        e
    }
}
