//! Access-pattern advice: `fadvise` on a file, `madvise` on memory.

use super::{fileless, on, ptr};
use crate::squeue::Entry;
use crate::types::Target;

/// `IORING_OP_FADVISE` (5.6): `posix_fadvise(fd, offset, len, advice)`.
#[derive(Clone, Copy, Debug)]
pub struct Fadvise {
    target: Target,
    offset: u64,
    len: u32,
    advice: i32,
}

impl Fadvise {
    /// The opcode.
    pub const CODE: u8 = 24;
    /// Advises `advice` (`POSIX_FADV_*`) for `len` bytes from `offset`
    /// (0 bytes: to the end of the file).
    #[inline]
    pub fn new(target: impl Into<Target>, offset: u64, len: u32, advice: i32) -> Self {
        Fadvise {
            target: target.into(),
            offset,
            len,
            advice,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.off = self.offset;
        e.len = self.len;
        e.op_flags = self.advice as u32;
        e
    }
}

/// `IORING_OP_MADVISE` (5.6): `madvise(addr, len, advice)`.
#[derive(Clone, Copy, Debug)]
pub struct Madvise {
    addr: *const u8,
    len: u32,
    advice: i32,
}

impl Madvise {
    /// The opcode.
    pub const CODE: u8 = 25;
    /// Advises `advice` (`MADV_*`) for the `len` bytes at `addr` (page
    /// aligned).
    #[inline]
    pub fn new(addr: *const u8, len: u32, advice: i32) -> Self {
        Madvise { addr, len, advice }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.addr);
        e.len = self.len;
        e.op_flags = self.advice as u32;
        e
    }
}
