//! Pipe plumbing: splice and tee.

use super::{on, ptr};
use crate::squeue::{self, Entry};
use crate::types::{DestinationSlot, Target};

/// `IORING_OP_SPLICE` (5.7): move data between a pipe and a file.
#[derive(Clone, Copy, Debug)]
pub struct Splice {
    fd_in: Target,
    off_in: i64,
    fd_out: Target,
    off_out: i64,
    len: u32,
    flags: u32,
}

impl Splice {
    /// The opcode.
    pub const CODE: u8 = 30;
    /// Splices `len` bytes; an offset of -1 means "no offset" (pipes).
    #[inline]
    pub fn new(
        fd_in: impl Into<Target>,
        off_in: i64,
        fd_out: impl Into<Target>,
        off_out: i64,
        len: u32,
    ) -> Self {
        Splice {
            fd_in: fd_in.into(),
            off_in,
            fd_out: fd_out.into(),
            off_out,
            len,
            flags: 0,
        }
    }
    /// `SPLICE_F_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.fd_out);
        e.off = self.off_out as u64;
        e.addr = self.off_in as u64;
        e.len = self.len;
        e.op_flags = self.flags | splice_in(self.fd_in, &mut e);
        e
    }
}

/// Puts `fd_in` in `splice_fd_in`; returns `SPLICE_F_FD_IN_FIXED` for a
/// registered file.
#[inline(always)]
fn splice_in(fd_in: Target, e: &mut Entry) -> u32 {
    match fd_in {
        Target::Fd(fd) => {
            e.file_index = fd as u32;
            0
        }
        Target::Fixed(i) => {
            e.file_index = i;
            1 << 31 // SPLICE_F_FD_IN_FIXED
        }
    }
}

/// `IORING_OP_TEE` (5.8): duplicate pipe data.
#[derive(Clone, Copy, Debug)]
pub struct Tee {
    fd_in: Target,
    fd_out: Target,
    len: u32,
    flags: u32,
}

impl Tee {
    /// The opcode.
    pub const CODE: u8 = 33;
    /// Copies up to `len` bytes from pipe `fd_in` to pipe `fd_out` without
    /// consuming them.
    #[inline]
    pub fn new(fd_in: impl Into<Target>, fd_out: impl Into<Target>, len: u32) -> Self {
        Tee {
            fd_in: fd_in.into(),
            fd_out: fd_out.into(),
            len,
            flags: 0,
        }
    }
    /// `SPLICE_F_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.fd_out);
        e.len = self.len;
        e.op_flags = self.flags | splice_in(self.fd_in, &mut e);
        e
    }
}

/// `IORING_OP_PIPE` (6.16): `pipe2(fds, flags)`; the kernel writes the read
/// and write ends into `fds[0]` and `fds[1]` (normal descriptors, or
/// registered slots with [`destination`](Self::destination)).
#[derive(Clone, Copy, Debug)]
pub struct Pipe {
    fds: *mut [i32; 2],
    flags: u32,
    dest: DestinationSlot,
}

impl Pipe {
    /// The opcode.
    pub const CODE: u8 = 62;
    /// Creates a pipe whose ends land in `*fds`.
    #[inline]
    pub const fn new(fds: *mut [i32; 2]) -> Self {
        Pipe {
            fds,
            flags: 0,
            dest: DestinationSlot::Normal,
        }
    }
    /// `O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT`.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// Registered slots for both ends: `Fixed(n)` uses slots `n` and `n+1`,
    /// `AutoFixed` any two free ones.
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        e.addr = ptr(self.fds);
        e.op_flags = self.flags;
        e.file_index = self.dest.file_index();
        e
    }
}
