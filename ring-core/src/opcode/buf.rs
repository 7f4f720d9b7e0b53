//! Legacy provided buffers (`PROVIDE_BUFFERS` / `REMOVE_BUFFERS`); buffer
//! rings live in [`crate::buf_ring`].

use super::ptr;
use crate::squeue::{self, Entry};

/// `IORING_OP_PROVIDE_BUFFERS` (5.7): hand `nr` buffers of `len` bytes,
/// laid out back to back from `addr`, to group `bgid` with ids from `bid`.
/// The memory belongs to the kernel until each buffer comes back in a CQE
/// (or is removed).
#[derive(Clone, Copy, Debug)]
pub struct ProvideBuffers {
    addr: *mut u8,
    len: u32,
    nr: u16,
    bgid: u16,
    bid: u16,
}

impl ProvideBuffers {
    /// The opcode.
    pub const CODE: u8 = 31;
    /// Provides `nr` buffers of `len` bytes each.
    #[inline]
    pub const fn new(addr: *mut u8, len: u32, nr: u16, bgid: u16, bid: u16) -> Self {
        ProvideBuffers {
            addr,
            len,
            nr,
            bgid,
            bid,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        e.fd = i32::from(self.nr);
        e.addr = ptr(self.addr);
        e.len = self.len;
        e.off = u64::from(self.bid);
        e.buf_index = self.bgid;
        e
    }
}

/// `IORING_OP_REMOVE_BUFFERS` (5.7): take up to `nr` unused buffers of group
/// `bgid` back. The result is how many were removed.
#[derive(Clone, Copy, Debug)]
pub struct RemoveBuffers {
    nr: u16,
    bgid: u16,
}

impl RemoveBuffers {
    /// The opcode.
    pub const CODE: u8 = 32;
    /// Removes up to `nr` buffers from group `bgid`.
    #[inline]
    pub const fn new(nr: u16, bgid: u16) -> Self {
        RemoveBuffers { nr, bgid }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        e.fd = i32::from(self.nr);
        e.buf_index = self.bgid;
        e
    }
}
