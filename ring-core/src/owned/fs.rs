//! Owned file operations whose kernel arguments go beyond one buffer:
//! vectored reads and writes (an iovec array and its buffers) and
//! operations on paths (a NUL-terminated copy of the path).
//!
//! Invariant owned here: every pointer an entry carries targets a `Box`, a
//! `CString` or an `IoBuf` the operation owns, so it stays put while the
//! operation moves.

use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::buf::{IoBuf, Iovecs};
use super::Operation;
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// `AT_FDCWD`: paths relative to the current directory.
fn at_fdcwd() -> RawFd {
    rustix::fs::CWD.as_raw_fd()
}

/// `O_CLOEXEC`: opened files are not inherited across `exec`.
const O_CLOEXEC: u32 = rustix::fs::OFlags::CLOEXEC.bits();

/// `AT_REMOVEDIR`: `unlinkat` removes a directory.
const AT_REMOVEDIR: u32 = rustix::fs::AtFlags::REMOVEDIR.bits();

owned_op! {
    /// Reads into several owned buffers in order (`readv`).
    pub struct Readv<B: IoBuf = Vec<u8>> {
        bufs: Vec<B> => into_bufs() -> Vec<B>,
        offset: u64,
        hidden iov: Iovecs,
    }
    new: "Reads from `fd` into `bufs`, filling each before the next."
}

// SAFETY: the entry points to the boxed iovec array (kept in `iov` until
// the operation is handed back), whose entries point into the owned
// buffers: all owned and stable.
unsafe impl<B: IoBuf> Operation for Readv<B> {
    fn entry(&mut self) -> squeue::Entry {
        self.iov = Iovecs::over(&mut self.bufs);
        opcode::Readv::new(self.target.raw(), self.iov.ptr(), self.iov.len32())
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

owned_op! {
    /// Writes several owned buffers in order (`writev`). Like [`Write`],
    /// the result may be short.
    ///
    /// [`Write`]: super::op::Write
    pub struct Writev<B: IoBuf = Vec<u8>> {
        bufs: Vec<B> => into_bufs() -> Vec<B>,
        offset: u64,
        hidden iov: Iovecs,
    }
    new: "Writes `bufs` to `fd`, one after the other."
}

// SAFETY: as for Readv; the kernel only reads the buffers.
unsafe impl<B: IoBuf> Operation for Writev<B> {
    fn entry(&mut self) -> squeue::Entry {
        self.iov = Iovecs::over(&mut self.bufs);
        opcode::Writev::new(self.target.raw(), self.iov.ptr(), self.iov.len32())
            .offset(self.offset)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// A path the kernel reads: a NUL-terminated copy.
pub(super) fn c_path(path: &Path) -> Result<CString, std::ffi::NulError> {
    CString::new(path.as_os_str().as_bytes())
}

/// Opens a file (`openat`, relative to the current directory, always with
/// `O_CLOEXEC`); the completion's [`take_fd`](super::Completion::take_fd)
/// gives it.
#[derive(Debug)]
pub struct Open {
    path: CString,
    flags: u32,
    mode: u32,
}

impl Open {
    /// Opens `path` with `open(2)` flags (`O_RDONLY` is 0) and, for a new
    /// file, `mode`. A path with a NUL byte is an error here, not in the
    /// kernel.
    pub fn new(path: impl AsRef<Path>, flags: u32, mode: u32) -> Result<Self, std::ffi::NulError> {
        Ok(Open {
            path: c_path(path.as_ref())?,
            flags: flags | O_CLOEXEC,
            mode,
        })
    }
}

// SAFETY: the entry points to the owned CString (heap, stable). The open
// goes into the normal fd table, so a non-negative result is a new
// descriptor nobody else owns.
unsafe impl Operation for Open {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Openat::new(at_fdcwd(), self.path.as_ptr())
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
}

/// Removes a file, or with [`dir`](Self::dir) an empty directory
/// (`unlinkat`, relative to the current directory).
#[derive(Debug)]
pub struct Unlink {
    path: CString,
    flags: u32,
}

impl Unlink {
    /// Removes the file at `path`.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, std::ffi::NulError> {
        Ok(Unlink {
            path: c_path(path.as_ref())?,
            flags: 0,
        })
    }
    /// Removes a directory instead (`AT_REMOVEDIR`).
    pub fn dir(mut self) -> Self {
        self.flags = AT_REMOVEDIR;
        self
    }
}

// SAFETY: the entry points to the owned CString.
unsafe impl Operation for Unlink {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Unlinkat::new(at_fdcwd(), self.path.as_ptr())
            .flags(self.flags)
            .build()
    }
}

/// Creates a directory (`mkdirat`, relative to the current directory).
#[derive(Debug)]
pub struct Mkdir {
    path: CString,
    mode: u32,
}

impl Mkdir {
    /// Creates the directory `path` with `mode` (less the umask).
    pub fn new(path: impl AsRef<Path>, mode: u32) -> Result<Self, std::ffi::NulError> {
        Ok(Mkdir {
            path: c_path(path.as_ref())?,
            mode,
        })
    }
}

// SAFETY: the entry points to the owned CString.
unsafe impl Operation for Mkdir {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Mkdirat::new(at_fdcwd(), self.path.as_ptr())
            .mode(self.mode)
            .build()
    }
}
