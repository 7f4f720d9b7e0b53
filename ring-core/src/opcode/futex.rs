//! Futexes (the `futex2` interface): wait, wake, wait on several.

use super::{fileless, ptr};
use crate::squeue::{self, Entry};

/// `FUTEX2_SIZE_U32`: a 32-bit futex word (the size the kernel supports).
pub const FUTEX2_SIZE_U32: u32 = 0x02;
/// `FUTEX2_PRIVATE`: the futex is private to this process.
pub const FUTEX2_PRIVATE: u32 = 128;
/// `FUTEX_BITSET_MATCH_ANY`: a mask that matches every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;

/// A futex entry: the word in `addr`, the value in `addr2`, the mask in
/// `addr3`, the `FUTEX2_*` flags in `fd`.
#[inline(always)]
fn futex(opcode: u8, uaddr: *const u32, val: u64, mask: u64, flags: u32) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    e.fd = flags as i32;
    e.addr = ptr(uaddr);
    e.off = val;
    e.addr3 = mask;
    e
}

/// `IORING_OP_FUTEX_WAIT` (6.7): sleep while the futex word equals `val`;
/// completes with 0 when woken, `-EAGAIN` if the word differed.
#[derive(Clone, Copy, Debug)]
pub struct FutexWait {
    uaddr: *const u32,
    val: u64,
    mask: u64,
    flags: u32,
}

impl FutexWait {
    /// The opcode.
    pub const CODE: u8 = 51;
    /// Waits on the 32-bit private futex at `uaddr` while it holds `val`.
    #[inline]
    pub const fn new(uaddr: *const u32, val: u32) -> Self {
        FutexWait {
            uaddr,
            val: val as u64,
            mask: FUTEX_BITSET_MATCH_ANY,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
        }
    }
    /// Wake only for wakes whose mask shares a bit (default: any).
    #[inline]
    pub const fn mask(mut self, mask: u64) -> Self {
        self.mask = mask;
        self
    }
    /// `FUTEX2_*` flags (default `FUTEX2_SIZE_U32 | FUTEX2_PRIVATE`).
    #[inline]
    pub const fn futex_flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        futex(Self::CODE, self.uaddr, self.val, self.mask, self.flags)
    }
}

/// `IORING_OP_FUTEX_WAKE` (6.7): wake up to `nr` waiters; the result is how
/// many were woken.
#[derive(Clone, Copy, Debug)]
pub struct FutexWake {
    uaddr: *const u32,
    nr: u64,
    mask: u64,
    flags: u32,
}

impl FutexWake {
    /// The opcode.
    pub const CODE: u8 = 52;
    /// Wakes up to `nr` waiters of the 32-bit private futex at `uaddr`.
    #[inline]
    pub const fn new(uaddr: *const u32, nr: u32) -> Self {
        FutexWake {
            uaddr,
            nr: nr as u64,
            mask: FUTEX_BITSET_MATCH_ANY,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
        }
    }
    /// Wake only waiters whose mask shares a bit (default: any).
    #[inline]
    pub const fn mask(mut self, mask: u64) -> Self {
        self.mask = mask;
        self
    }
    /// `FUTEX2_*` flags (default `FUTEX2_SIZE_U32 | FUTEX2_PRIVATE`).
    #[inline]
    pub const fn futex_flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        futex(Self::CODE, self.uaddr, self.nr, self.mask, self.flags)
    }
}

/// `IORING_OP_FUTEX_WAITV` (6.7): wait on several futexes; the result is
/// the index of the one that woke it.
#[derive(Clone, Copy, Debug)]
pub struct FutexWaitv {
    futexes: *const crate::types::FutexWaitv,
    nr: u32,
}

impl FutexWaitv {
    /// The opcode.
    pub const CODE: u8 = 53;
    /// Waits on the `nr` futexes of the array at `futexes`.
    #[inline]
    pub const fn new(futexes: *const crate::types::FutexWaitv, nr: u32) -> Self {
        FutexWaitv { futexes, nr }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.fd = 0;
        e.addr = ptr(self.futexes);
        e.len = self.nr;
        e
    }
}
