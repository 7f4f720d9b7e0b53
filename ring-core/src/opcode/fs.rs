//! Filesystem operations: open, close, stat, allocate, truncate and the
//! path operations (unlink, rename, mkdir).

use rustix::fd::RawFd;

use super::{on, ptr};
use crate::squeue::{self, Entry};
use crate::types::{DestinationSlot, OpenHow, Target};

/// `IORING_OP_OPENAT` (5.6): `openat(dirfd, path, flags, mode)`, optionally
/// straight into the registered file table.
#[derive(Clone, Copy, Debug)]
pub struct Openat {
    dirfd: RawFd,
    path: *const core::ffi::c_char,
    flags: u32,
    mode: u32,
    dest: DestinationSlot,
}

impl Openat {
    /// The opcode.
    pub const CODE: u8 = 18;
    /// Opens the NUL-terminated `path` relative to `dirfd` (`AT_FDCWD` for
    /// the working directory).
    #[inline]
    pub fn new(dirfd: RawFd, path: *const core::ffi::c_char) -> Self {
        Openat {
            dirfd,
            path,
            flags: 0,
            mode: 0,
            dest: DestinationSlot::Normal,
        }
    }
    /// `O_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The mode for `O_CREAT`.
    #[inline]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// Where the new descriptor goes.
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.dirfd));
        e.addr = ptr(self.path);
        e.len = self.mode;
        e.op_flags = self.flags;
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_CLOSE` (5.6; direct descriptors 5.15).
#[derive(Clone, Copy, Debug)]
pub struct Close {
    target: Target,
}

impl Close {
    /// The opcode.
    pub const CODE: u8 = 19;
    /// Closes an fd, or empties a registered file slot.
    #[inline]
    pub fn new(target: impl Into<Target>) -> Self {
        Close {
            target: target.into(),
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        match self.target {
            Target::Fd(fd) => e.fd = fd,
            Target::Fixed(slot) => e.file_index = slot + 1,
        }
        e
    }
}

/// `IORING_OP_STATX` (5.6): `statx(dirfd, path, flags, mask, statxbuf)`.
#[derive(Clone, Copy, Debug)]
pub struct Statx {
    dirfd: RawFd,
    path: *const core::ffi::c_char,
    statx: *mut crate::types::Statx,
    flags: u32,
    mask: u32,
}

impl Statx {
    /// The opcode.
    pub const CODE: u8 = 21;
    /// Stats the NUL-terminated `path` into `statx`.
    #[inline]
    pub fn new(
        dirfd: RawFd,
        path: *const core::ffi::c_char,
        statx: *mut crate::types::Statx,
    ) -> Self {
        Statx {
            dirfd,
            path,
            statx,
            flags: 0,
            mask: 0x7ff, // STATX_BASIC_STATS
        }
    }
    /// `AT_*` flags (`AT_EMPTY_PATH` to stat `dirfd` itself).
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// `STATX_*` mask (default `STATX_BASIC_STATS`).
    #[inline]
    pub const fn mask(mut self, mask: u32) -> Self {
        self.mask = mask;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.dirfd));
        e.addr = ptr(self.path);
        e.len = self.mask;
        e.off = ptr(self.statx);
        e.op_flags = self.flags;
        e
    }
}

/// `IORING_OP_FALLOCATE` (5.6).
#[derive(Clone, Copy, Debug)]
pub struct Fallocate {
    target: Target,
    offset: u64,
    len: u64,
    mode: u32,
}

impl Fallocate {
    /// The opcode.
    pub const CODE: u8 = 17;
    /// Allocates `len` bytes at `offset`.
    #[inline]
    pub fn new(target: impl Into<Target>, offset: u64, len: u64) -> Self {
        Fallocate {
            target: target.into(),
            offset,
            len,
            mode: 0,
        }
    }
    /// `FALLOC_FL_*` mode.
    #[inline]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.off = self.offset;
        e.addr = self.len;
        e.len = self.mode;
        e
    }
}

/// `IORING_OP_FTRUNCATE` (6.9).
#[derive(Clone, Copy, Debug)]
pub struct Ftruncate {
    target: Target,
    len: u64,
}

impl Ftruncate {
    /// The opcode.
    pub const CODE: u8 = 55;
    /// Truncates (or extends) the file to `len` bytes.
    #[inline]
    pub fn new(target: impl Into<Target>, len: u64) -> Self {
        Ftruncate {
            target: target.into(),
            len,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.off = self.len;
        e
    }
}

/// `IORING_OP_UNLINKAT` (5.11).
#[derive(Clone, Copy, Debug)]
pub struct Unlinkat {
    dirfd: RawFd,
    path: *const core::ffi::c_char,
    flags: u32,
}

impl Unlinkat {
    /// The opcode.
    pub const CODE: u8 = 36;
    /// Removes the NUL-terminated `path`.
    #[inline]
    pub fn new(dirfd: RawFd, path: *const core::ffi::c_char) -> Self {
        Unlinkat {
            dirfd,
            path,
            flags: 0,
        }
    }
    /// `AT_REMOVEDIR` to remove a directory.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.dirfd));
        e.addr = ptr(self.path);
        e.op_flags = self.flags;
        e
    }
}

/// `IORING_OP_RENAMEAT` (5.11).
#[derive(Clone, Copy, Debug)]
pub struct Renameat {
    old_dirfd: RawFd,
    old_path: *const core::ffi::c_char,
    new_dirfd: RawFd,
    new_path: *const core::ffi::c_char,
    flags: u32,
}

impl Renameat {
    /// The opcode.
    pub const CODE: u8 = 35;
    /// Renames `old_path` to `new_path` (both NUL-terminated).
    #[inline]
    pub fn new(
        old_dirfd: RawFd,
        old_path: *const core::ffi::c_char,
        new_dirfd: RawFd,
        new_path: *const core::ffi::c_char,
    ) -> Self {
        Renameat {
            old_dirfd,
            old_path,
            new_dirfd,
            new_path,
            flags: 0,
        }
    }
    /// `RENAME_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.old_dirfd));
        e.addr = ptr(self.old_path);
        e.len = self.new_dirfd as u32;
        e.off = ptr(self.new_path);
        e.op_flags = self.flags;
        e
    }
}

/// `IORING_OP_MKDIRAT` (5.15).
#[derive(Clone, Copy, Debug)]
pub struct Mkdirat {
    dirfd: RawFd,
    path: *const core::ffi::c_char,
    mode: u32,
}

impl Mkdirat {
    /// The opcode.
    pub const CODE: u8 = 37;
    /// Creates the directory `path` (NUL-terminated).
    #[inline]
    pub fn new(dirfd: RawFd, path: *const core::ffi::c_char) -> Self {
        Mkdirat {
            dirfd,
            path,
            mode: 0o777,
        }
    }
    /// The mode (default 0o777, before umask).
    #[inline]
    pub const fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.dirfd));
        e.addr = ptr(self.path);
        e.len = self.mode;
        e
    }
}

/// `IORING_OP_OPENAT2` (5.6): `openat2(dirfd, path, how)`, optionally
/// straight into the registered file table.
#[derive(Clone, Copy, Debug)]
pub struct Openat2 {
    dirfd: RawFd,
    path: *const core::ffi::c_char,
    how: *const OpenHow,
    dest: DestinationSlot,
}

impl Openat2 {
    /// The opcode.
    pub const CODE: u8 = 28;
    /// Opens the NUL-terminated `path` relative to `dirfd` as `*how` says.
    #[inline]
    pub fn new(dirfd: RawFd, path: *const core::ffi::c_char, how: *const OpenHow) -> Self {
        Openat2 {
            dirfd,
            path,
            how,
            dest: DestinationSlot::Normal,
        }
    }
    /// Where the new descriptor goes.
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.dirfd));
        e.addr = ptr(self.path);
        e.len = core::mem::size_of::<OpenHow>() as u32;
        e.off = ptr(self.how);
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_SYMLINKAT` (5.15): `symlinkat(target, newdirfd, linkpath)`.
#[derive(Clone, Copy, Debug)]
pub struct Symlinkat {
    target: *const core::ffi::c_char,
    newdirfd: RawFd,
    linkpath: *const core::ffi::c_char,
}

impl Symlinkat {
    /// The opcode.
    pub const CODE: u8 = 38;
    /// Creates `linkpath` (relative to `newdirfd`) pointing to `target`;
    /// both NUL-terminated.
    #[inline]
    pub fn new(
        target: *const core::ffi::c_char,
        newdirfd: RawFd,
        linkpath: *const core::ffi::c_char,
    ) -> Self {
        Symlinkat {
            target,
            newdirfd,
            linkpath,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.newdirfd));
        e.addr = ptr(self.target);
        e.off = ptr(self.linkpath);
        e
    }
}

/// `IORING_OP_LINKAT` (5.15): `linkat(olddirfd, oldpath, newdirfd, newpath,
/// flags)`.
#[derive(Clone, Copy, Debug)]
pub struct Linkat {
    old_dirfd: RawFd,
    old_path: *const core::ffi::c_char,
    new_dirfd: RawFd,
    new_path: *const core::ffi::c_char,
    flags: u32,
}

impl Linkat {
    /// The opcode.
    pub const CODE: u8 = 39;
    /// Makes `new_path` a hard link to `old_path` (both NUL-terminated).
    #[inline]
    pub fn new(
        old_dirfd: RawFd,
        old_path: *const core::ffi::c_char,
        new_dirfd: RawFd,
        new_path: *const core::ffi::c_char,
    ) -> Self {
        Linkat {
            old_dirfd,
            old_path,
            new_dirfd,
            new_path,
            flags: 0,
        }
    }
    /// `AT_*` flags (`AT_SYMLINK_FOLLOW`).
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.old_dirfd));
        e.addr = ptr(self.old_path);
        e.len = self.new_dirfd as u32;
        e.off = ptr(self.new_path);
        e.op_flags = self.flags;
        e
    }
}
