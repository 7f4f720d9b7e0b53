//! Owned pipe plumbing: splice and tee.
//!
//! Invariant owned here: both files an entry names are [`Target`]s the
//! operation holds until its completion, and both must belong to the ring
//! the operation goes on (`usable_on` checks each).

use super::{Operation, Target};
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// Moves up to `len` bytes from one file to another where one of them is a
/// pipe (`splice(2)`), without a copy through user memory.
#[derive(Debug)]
pub struct Splice {
    fd_in: Target,
    off_in: i64,
    fd_out: Target,
    off_out: i64,
    len: u32,
    flags: u32,
}

impl Splice {
    /// Moves up to `len` bytes from `fd_in` to `fd_out`, at their current
    /// positions.
    pub fn new(fd_in: impl Into<Target>, fd_out: impl Into<Target>, len: u32) -> Self {
        Splice {
            fd_in: fd_in.into(),
            off_in: -1,
            fd_out: fd_out.into(),
            off_out: -1,
            len,
            flags: 0,
        }
    }
    /// Reads `fd_in` from `offset` (not for a pipe).
    pub fn offset_in(mut self, offset: u64) -> Self {
        self.off_in = i64::try_from(offset).unwrap_or(i64::MAX);
        self
    }
    /// Writes `fd_out` at `offset` (not for a pipe).
    pub fn offset_out(mut self, offset: u64) -> Self {
        self.off_out = i64::try_from(offset).unwrap_or(i64::MAX);
        self
    }
    /// `SPLICE_F_*` flags (`SPLICE_F_MOVE` 1, `SPLICE_F_NONBLOCK` 2,
    /// `SPLICE_F_MORE` 4); the fixed-file bit is set from the target.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags & !(1 << 31);
        self
    }
}

// SAFETY: points to no memory; both files are shares the operation holds,
// and `usable_on` checks that a registered one is this ring's.
unsafe impl Operation for Splice {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Splice::new(
            self.fd_in.raw(),
            self.off_in,
            self.fd_out.raw(),
            self.off_out,
            self.len,
        )
        .flags(self.flags)
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.fd_in.usable_on(ring) && self.fd_out.usable_on(ring)
    }
}

/// Copies up to `len` bytes from one pipe to another without consuming
/// them (`tee(2)`).
#[derive(Debug)]
pub struct Tee {
    fd_in: Target,
    fd_out: Target,
    len: u32,
    flags: u32,
}

impl Tee {
    /// Copies up to `len` bytes of pipe `fd_in` into pipe `fd_out`.
    pub fn new(fd_in: impl Into<Target>, fd_out: impl Into<Target>, len: u32) -> Self {
        Tee {
            fd_in: fd_in.into(),
            fd_out: fd_out.into(),
            len,
            flags: 0,
        }
    }
    /// `SPLICE_F_*` flags; the fixed-file bit is set from the target.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags & !(1 << 31);
        self
    }
}

// SAFETY: as for Splice.
unsafe impl Operation for Tee {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Tee::new(self.fd_in.raw(), self.fd_out.raw(), self.len)
            .flags(self.flags)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.fd_in.usable_on(ring) && self.fd_out.usable_on(ring)
    }
}
