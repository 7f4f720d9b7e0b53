//! Owned operations that name files by path besides open, unlink and mkdir
//! (in `fs.rs`): statx, rename, openat2, symlink and link.
//!
//! Invariant owned here: every pointer an entry carries targets a `CString`
//! or a `Box` the operation owns, and a directory descriptor the entry
//! names is a [`SharedFd`] the operation holds.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use super::fs::c_path;
use super::{Operation, SharedFd};
use crate::opcode;
use crate::squeue;
use crate::types::{OpenHow, Statx as StatxBuf};

/// `AT_FDCWD`: paths relative to the current directory.
fn at_fdcwd() -> RawFd {
    rustix::fs::CWD.as_raw_fd()
}
/// `AT_EMPTY_PATH`: an empty path means the directory descriptor itself.
const AT_EMPTY_PATH: u32 = 0x1000;
/// `STATX_BASIC_STATS`.
const STATX_BASIC_STATS: u32 = 0x7ff;

// The kernel writes a whole `struct statx` (256 bytes) into the buffer.
const _: () = assert!(std::mem::size_of::<StatxBuf>() == 256);

/// File status (`statx(2)`) of a path or of an open file, into a buffer the
/// operation owns; [`statx`](Self::statx) reads it once the operation is
/// back.
#[derive(Debug)]
pub struct Statx {
    /// The file itself (`AT_EMPTY_PATH`), or `None`: the path is relative
    /// to the current directory.
    dir: Option<SharedFd>,
    path: CString,
    buf: Box<MaybeUninit<StatxBuf>>,
    flags: u32,
    mask: u32,
}

impl Statx {
    fn with(dir: Option<SharedFd>, path: CString, flags: u32) -> Self {
        Statx {
            dir,
            path,
            buf: Box::new(MaybeUninit::zeroed()),
            flags,
            mask: STATX_BASIC_STATS,
        }
    }

    /// The status of the file at `path` (relative paths from the current
    /// directory; symlinks followed). A path with a NUL byte is an error
    /// here, not in the kernel.
    pub fn path(path: impl AsRef<Path>) -> Result<Self, std::ffi::NulError> {
        Ok(Self::with(None, c_path(path.as_ref())?, 0))
    }

    /// The status of the open file `fd` (`AT_EMPTY_PATH`). The kernel does
    /// not stat registered files, so this takes a descriptor share.
    pub fn fd(fd: &SharedFd) -> Self {
        Self::with(Some(fd.clone()), CString::default(), AT_EMPTY_PATH)
    }

    /// `AT_*` flags added to the defaults (`AT_SYMLINK_NOFOLLOW` is
    /// 0x100).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }

    /// The `STATX_*` fields asked for (default `STATX_BASIC_STATS`).
    pub fn mask(mut self, mask: u32) -> Self {
        self.mask = mask;
        self
    }

    /// What the kernel wrote, after a successful completion; all zeros
    /// before, or if it failed (`stx_mask` 0 then says no field is valid).
    pub fn statx(&self) -> &StatxBuf {
        // SAFETY: the buffer was zeroed at construction and since then
        // written only by the kernel's statx, which writes a whole `struct
        // statx`; every field of it is an integer (or integer flags or
        // padding), for which all-zero and any kernel-written bytes are
        // valid values.
        unsafe { self.buf.assume_init_ref() }
    }
}

// SAFETY: the entry points to the owned CString and the boxed statx buffer
// (heap, stable); the directory descriptor is a share the operation holds.
unsafe impl Operation for Statx {
    fn entry(&mut self) -> squeue::Entry {
        let dirfd = self.dir.as_ref().map_or(at_fdcwd(), |d| d.as_raw_fd());
        opcode::Statx::new(dirfd, self.path.as_ptr(), self.buf.as_mut_ptr())
            .flags(self.flags)
            .mask(self.mask)
            .build()
    }
}

/// Renames a file (`renameat2(2)`, paths relative to the current
/// directory).
#[derive(Debug)]
pub struct Rename {
    from: CString,
    to: CString,
    flags: u32,
}

impl Rename {
    /// Renames `from` to `to`, replacing `to` if it exists. A path with a
    /// NUL byte is an error here, not in the kernel.
    pub fn new(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<Self, std::ffi::NulError> {
        Ok(Rename {
            from: c_path(from.as_ref())?,
            to: c_path(to.as_ref())?,
            flags: 0,
        })
    }
    /// `RENAME_*` flags (`RENAME_NOREPLACE` is 1, `RENAME_EXCHANGE` 2).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

// SAFETY: the entry points to the two owned CStrings (heap, stable).
unsafe impl Operation for Rename {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Renameat::new(at_fdcwd(), self.from.as_ptr(), at_fdcwd(), self.to.as_ptr())
            .flags(self.flags)
            .build()
    }
}

/// `O_CLOEXEC`, always set on what [`Open2`] opens.
const O_CLOEXEC: u64 = rustix::fs::OFlags::CLOEXEC.bits() as u64;

/// Opens a file with `openat2(2)` (Linux 5.6): `open(2)` flags, a mode,
/// and `RESOLVE_*` rules for the path's lookup; always `O_CLOEXEC`. The
/// completion's [`take_fd`](super::Completion::take_fd) gives the file.
#[derive(Debug)]
pub struct Open2 {
    path: CString,
    how: Box<OpenHow>,
}

impl Open2 {
    /// Opens `path` (relative paths from the current directory) with
    /// `flags` and, for a new file, `mode`.
    pub fn new(path: impl AsRef<Path>, flags: u64, mode: u64) -> Result<Self, std::ffi::NulError> {
        Ok(Open2 {
            path: c_path(path.as_ref())?,
            how: Box::new(OpenHow {
                flags: flags | O_CLOEXEC,
                mode,
                resolve: 0,
            }),
        })
    }
    /// `RESOLVE_*` flags (`RESOLVE_NO_XDEV` 1, `NO_MAGICLINKS` 2,
    /// `NO_SYMLINKS` 4, `BENEATH` 8, `IN_ROOT` 0x10, `CACHED` 0x20).
    pub fn resolve(mut self, resolve: u64) -> Self {
        self.how.resolve = resolve;
        self
    }
}

// SAFETY: the entry points to the owned CString and the boxed open_how
// (heap, stable), which the kernel reads. The file goes into the normal fd
// table, so a non-negative result is a new descriptor nobody else owns.
unsafe impl Operation for Open2 {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Openat2::new(at_fdcwd(), self.path.as_ptr(), &*self.how).build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
}

/// Creates a symbolic link (`symlinkat(2)`, relative to the current
/// directory).
#[derive(Debug)]
pub struct Symlink {
    target: CString,
    link: CString,
}

impl Symlink {
    /// Creates `link`, pointing to `target` (which need not exist).
    pub fn new(
        target: impl AsRef<Path>,
        link: impl AsRef<Path>,
    ) -> Result<Self, std::ffi::NulError> {
        Ok(Symlink {
            target: c_path(target.as_ref())?,
            link: c_path(link.as_ref())?,
        })
    }
}

// SAFETY: the entry points to the two owned CStrings (heap, stable).
unsafe impl Operation for Symlink {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Symlinkat::new(self.target.as_ptr(), at_fdcwd(), self.link.as_ptr()).build()
    }
}

/// Creates a hard link (`linkat(2)`, relative to the current directory).
#[derive(Debug)]
pub struct Link {
    from: CString,
    to: CString,
    flags: u32,
}

impl Link {
    /// Makes `to` another name of the file `from`.
    pub fn new(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<Self, std::ffi::NulError> {
        Ok(Link {
            from: c_path(from.as_ref())?,
            to: c_path(to.as_ref())?,
            flags: 0,
        })
    }
    /// `AT_SYMLINK_FOLLOW` (0x400): link what a symlink `from` points to.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

// SAFETY: the entry points to the two owned CStrings (heap, stable).
unsafe impl Operation for Link {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Linkat::new(at_fdcwd(), self.from.as_ptr(), at_fdcwd(), self.to.as_ptr())
            .flags(self.flags)
            .build()
    }
}
