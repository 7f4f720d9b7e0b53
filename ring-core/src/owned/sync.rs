//! Owned operations on an open file's data, size and caching: fsync,
//! sync_file_range, fallocate, ftruncate, fadvise.
//!
//! Invariant owned here: each operation holds the [`Target`] it acts on
//! until its final completion (none of them points the kernel at memory).

use super::Operation;
use super::Target;
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// Flushes a file's data and metadata to storage (`fsync`), or with
/// [`datasync`](Self::datasync) only what reading the data back needs
/// (`fdatasync`).
#[derive(Debug)]
pub struct Fsync {
    target: Target,
    datasync: bool,
}

impl Fsync {
    /// Flushes `fd`.
    pub fn new(fd: impl Into<Target>) -> Self {
        Fsync {
            target: fd.into(),
            datasync: false,
        }
    }
    /// `IORING_FSYNC_DATASYNC`: `fdatasync` instead of `fsync`.
    pub fn datasync(mut self) -> Self {
        self.datasync = true;
        self
    }
    /// The file it acts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds.
unsafe impl Operation for Fsync {
    fn entry(&mut self) -> squeue::Entry {
        let f = opcode::Fsync::new(self.target.raw());
        if self.datasync { f.datasync() } else { f }.build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Allocates (or with a mode, punches or zeroes) a byte range of a file
/// (`fallocate(2)`).
#[derive(Debug)]
pub struct Fallocate {
    target: Target,
    offset: u64,
    len: u64,
    mode: u32,
}

impl Fallocate {
    /// Allocates `len` bytes at `offset` of `fd` (mode 0: the file grows
    /// if the range ends past its end).
    pub fn new(fd: impl Into<Target>, offset: u64, len: u64) -> Self {
        Fallocate {
            target: fd.into(),
            offset,
            len,
            mode: 0,
        }
    }
    /// `FALLOC_FL_*` mode bits (`FALLOC_FL_KEEP_SIZE` is 1,
    /// `FALLOC_FL_PUNCH_HOLE` 2).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// The file it acts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds.
unsafe impl Operation for Fallocate {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Fallocate::new(self.target.raw(), self.offset, self.len)
            .mode(self.mode)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Sets a file's size (`ftruncate(2)`; Linux 6.9).
#[derive(Debug)]
pub struct Ftruncate {
    target: Target,
    len: u64,
}

impl Ftruncate {
    /// Truncates or extends `fd` to `len` bytes.
    pub fn new(fd: impl Into<Target>, len: u64) -> Self {
        Ftruncate {
            target: fd.into(),
            len,
        }
    }
    /// The file it acts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds.
unsafe impl Operation for Ftruncate {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Ftruncate::new(self.target.raw(), self.len).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Starts (or waits for) writeback of a byte range of a file
/// (`sync_file_range(2)`).
#[derive(Debug)]
pub struct SyncFileRange {
    target: Target,
    offset: u64,
    len: u32,
    flags: u32,
}

impl SyncFileRange {
    /// Syncs `len` bytes of `fd` from `offset` (`len` 0: to the end of the
    /// file).
    pub fn new(fd: impl Into<Target>, offset: u64, len: u32) -> Self {
        SyncFileRange {
            target: fd.into(),
            offset,
            len,
            flags: 0,
        }
    }
    /// `SYNC_FILE_RANGE_*` flags (`WAIT_BEFORE` 1, `WRITE` 2, `WAIT_AFTER`
    /// 4).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The file it acts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds.
unsafe impl Operation for SyncFileRange {
    fn entry(&mut self) -> squeue::Entry {
        opcode::SyncFileRange::new(self.target.raw(), self.len)
            .offset(self.offset)
            .flags(self.flags)
            .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}

/// Advises the kernel how a byte range of a file will be used
/// (`posix_fadvise(2)`).
#[derive(Debug)]
pub struct Fadvise {
    target: Target,
    offset: u64,
    len: u32,
    advice: i32,
}

impl Fadvise {
    /// Advice `advice` (`POSIX_FADV_NORMAL` 0, `RANDOM` 1, `SEQUENTIAL` 2,
    /// `WILLNEED` 3, `DONTNEED` 4, `NOREUSE` 5) for `len` bytes of `fd`
    /// from `offset` (`len` 0: to the end).
    pub fn new(fd: impl Into<Target>, offset: u64, len: u32, advice: i32) -> Self {
        Fadvise {
            target: fd.into(),
            offset,
            len,
            advice,
        }
    }
    /// The file it acts on.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

// SAFETY: points to no memory; the file is a share the operation holds.
unsafe impl Operation for Fadvise {
    fn entry(&mut self) -> squeue::Entry {
        opcode::Fadvise::new(self.target.raw(), self.offset, self.len, self.advice).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring)
    }
}
