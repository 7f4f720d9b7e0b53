//! Owned pipe plumbing: splice, tee, and pipe creation.
//!
//! Invariants owned here: both files a splice or tee names are [`Target`]s
//! the operation holds until its completion, and both must belong to the
//! ring the operation goes on (`usable_on` checks each); the two
//! descriptors a [`Pipe`] creates are owned by it from the completion on,
//! given out once ([`Pipe::take_fds`]) or closed when it drops.

use std::os::fd::{FromRawFd, OwnedFd};

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
    /// The file it reads from.
    pub fn fd_in(&self) -> &Target {
        &self.fd_in
    }
    /// The file it writes to.
    pub fn fd_out(&self) -> &Target {
        &self.fd_out
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
    /// The file it reads from.
    pub fn fd_in(&self) -> &Target {
        &self.fd_in
    }
    /// The file it writes to.
    pub fn fd_out(&self) -> &Target {
        &self.fd_out
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

/// `O_CLOEXEC`, always set on both ends.
const O_CLOEXEC: u32 = rustix::fs::OFlags::CLOEXEC.bits();
/// The `pipe2` flags a caller may add: `O_NONBLOCK`, `O_DIRECT`.
const PIPE_FLAGS: u32 = rustix::fs::OFlags::NONBLOCK.bits() | rustix::fs::OFlags::DIRECT.bits();

/// Creates a pipe (`pipe2(2)`, Linux 6.16); once it is back,
/// [`take_fds`](Self::take_fds) gives both ends, owned (and dropping the
/// operation without taking them closes them).
#[derive(Debug)]
pub struct Pipe {
    /// Where the kernel writes the two descriptors; -1 until it has.
    fds: Box<[i32; 2]>,
    flags: u32,
}

impl Pipe {
    /// A pipe with `O_CLOEXEC` on both ends.
    pub fn new() -> Self {
        Pipe {
            fds: Box::new([-1, -1]),
            flags: O_CLOEXEC,
        }
    }
    /// Adds `O_NONBLOCK` and/or `O_DIRECT`; other bits
    /// are ignored.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = O_CLOEXEC | (flags & PIPE_FLAGS);
        self
    }
    /// The read and write ends, if the pipe was created (the operation came
    /// back with a successful completion); each is given once.
    pub fn take_fds(&mut self) -> Option<(OwnedFd, OwnedFd)> {
        let [r, w] = *self.fds;
        if r < 0 || w < 0 {
            return None;
        }
        *self.fds = [-1, -1];
        // SAFETY: the kernel wrote both numbers (they were -1 before) as
        // the new pipe's ends in the normal fd table, before the completion
        // that handed this operation back; nothing else knows them, and the
        // -1s just stored make sure they are taken once.
        Some(unsafe { (OwnedFd::from_raw_fd(r), OwnedFd::from_raw_fd(w)) })
    }
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe::new()
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Ends the kernel created and nobody took are closed here. A
        // `Pipe` is dropped only before it was pushed or after its
        // completion, never while the kernel may still write `fds`.
        drop(self.take_fds());
    }
}

// SAFETY: the entry points to the boxed pair (heap, stable) the kernel
// writes. The ends go into the normal fd table (no direct descriptors), so
// the numbers it writes are new descriptors nobody else owns; the result
// itself is 0, not a descriptor.
unsafe impl Operation for Pipe {
    fn entry(&mut self) -> squeue::Entry {
        let fds: *mut [i32; 2] = &mut *self.fds;
        opcode::Pipe::new(fds).flags(self.flags).build()
    }
}
