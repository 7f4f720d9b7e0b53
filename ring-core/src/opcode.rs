//! Operations: one small builder per io_uring opcode.
//!
//! Each type takes its required arguments in `new`, has `const fn` setters
//! for the optional ones, a `CODE` constant (the kernel's `IORING_OP_*`
//! number, for [`Probe::is_supported`](crate::probe::Probe::is_supported)),
//! and `build()` returning a [`squeue::Entry`]. Building is safe; pushing
//! the entry is where the lifetime contract applies
//! ([`SubmissionQueue::push`](crate::squeue::SubmissionQueue::push)).
//!
//! Field placement follows the kernel's `io_uring_sqe` unions and liburing's
//! `io_uring_prep_*` helpers.

use rustix::fd::RawFd;

use crate::squeue::{self, Entry, Flags};
use crate::types::{DestinationSlot, Target, Timespec};

/// Starts an entry for `opcode` on `target`, setting `IOSQE_FIXED_FILE` for
/// a registered file.
#[inline(always)]
const fn on(opcode: u8, target: Target) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    match target {
        Target::Fd(fd) => e.fd = fd,
        Target::Fixed(i) => {
            e.fd = i as i32;
            e.flags = Flags::FIXED_FILE.bits();
        }
    }
    e
}

/// Starts an entry for `opcode` that acts on no file (`fd = -1`).
#[inline(always)]
const fn fileless(opcode: u8) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    e.fd = -1;
    e
}

#[inline(always)]
fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

// ---------------------------------------------------------------- basics

/// `IORING_OP_NOP` (Linux 5.1): completes with result 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nop;

impl Nop {
    /// The opcode.
    pub const CODE: u8 = 0;
    /// A NOP.
    #[inline]
    pub const fn new() -> Self {
        Nop
    }
    /// The entry.
    #[inline]
    pub const fn build(self) -> Entry {
        let mut e = squeue::ZERO;
        e.opcode = Self::CODE;
        e
    }
}

// ---------------------------------------------------------------- read / write

macro_rules! doc_rw {
    () => {
        "`offset` is the file position; `u64::MAX` (-1) means the current position on files that have one (`IORING_FEAT_RW_CUR_POS`) and is required for pipes and sockets."
    };
}

/// `IORING_OP_READ` (5.6): `read`/`pread` into one buffer. With
/// [`buf_group`](Self::buf_group) the kernel picks a provided buffer instead.
#[doc = doc_rw!()]
#[derive(Clone, Copy, Debug)]
pub struct Read {
    target: Target,
    buf: *mut u8,
    len: u32,
    offset: u64,
    rw_flags: u32,
    buf_group: Option<u16>,
}

impl Read {
    /// The opcode.
    pub const CODE: u8 = 22;
    /// Reads up to `len` bytes into `buf` at `offset`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *mut u8, len: u32) -> Self {
        Read {
            target: target.into(),
            buf,
            len,
            offset: 0,
            rw_flags: 0,
            buf_group: None,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// `RWF_*` flags.
    #[inline]
    pub const fn rw_flags(mut self, flags: u32) -> Self {
        self.rw_flags = flags;
        self
    }
    /// Select a buffer from provided-buffer group `bgid` (sets
    /// `IOSQE_BUFFER_SELECT`; `buf` is ignored and may be null).
    #[inline]
    pub const fn buf_group(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.off = self.offset;
        e.op_flags = self.rw_flags;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_WRITE` (5.6): `write`/`pwrite` from one buffer.
#[doc = doc_rw!()]
#[derive(Clone, Copy, Debug)]
pub struct Write {
    target: Target,
    buf: *const u8,
    len: u32,
    offset: u64,
    rw_flags: u32,
}

impl Write {
    /// The opcode.
    pub const CODE: u8 = 23;
    /// Writes `len` bytes from `buf`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32) -> Self {
        Write {
            target: target.into(),
            buf,
            len,
            offset: 0,
            rw_flags: 0,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// `RWF_*` flags.
    #[inline]
    pub const fn rw_flags(mut self, flags: u32) -> Self {
        self.rw_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.off = self.offset;
        e.op_flags = self.rw_flags;
        e
    }
}

/// `IORING_OP_READV` (5.1) / `IORING_OP_WRITEV` (5.1): vectored I/O.
#[derive(Clone, Copy, Debug)]
pub struct Readv {
    target: Target,
    iovecs: *const rustix::io_uring::iovec,
    nr: u32,
    offset: u64,
    rw_flags: u32,
}

impl Readv {
    /// The opcode.
    pub const CODE: u8 = 1;
    /// Reads into the `nr` buffers the iovec array names.
    #[inline]
    pub fn new(target: impl Into<Target>, iovecs: *const rustix::io_uring::iovec, nr: u32) -> Self {
        Readv {
            target: target.into(),
            iovecs,
            nr,
            offset: 0,
            rw_flags: 0,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// `RWF_*` flags.
    #[inline]
    pub const fn rw_flags(mut self, flags: u32) -> Self {
        self.rw_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        vectored(
            Self::CODE,
            self.target,
            self.iovecs,
            self.nr,
            self.offset,
            self.rw_flags,
        )
    }
}

/// `IORING_OP_WRITEV` (5.1): vectored write.
#[derive(Clone, Copy, Debug)]
pub struct Writev {
    target: Target,
    iovecs: *const rustix::io_uring::iovec,
    nr: u32,
    offset: u64,
    rw_flags: u32,
}

impl Writev {
    /// The opcode.
    pub const CODE: u8 = 2;
    /// Writes the `nr` buffers the iovec array names.
    #[inline]
    pub fn new(target: impl Into<Target>, iovecs: *const rustix::io_uring::iovec, nr: u32) -> Self {
        Writev {
            target: target.into(),
            iovecs,
            nr,
            offset: 0,
            rw_flags: 0,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// `RWF_*` flags.
    #[inline]
    pub const fn rw_flags(mut self, flags: u32) -> Self {
        self.rw_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        vectored(
            Self::CODE,
            self.target,
            self.iovecs,
            self.nr,
            self.offset,
            self.rw_flags,
        )
    }
}

#[inline(always)]
fn vectored(
    code: u8,
    target: Target,
    iovecs: *const rustix::io_uring::iovec,
    nr: u32,
    offset: u64,
    rw_flags: u32,
) -> Entry {
    let mut e = on(code, target);
    e.addr = ptr(iovecs);
    e.len = nr;
    e.off = offset;
    e.op_flags = rw_flags;
    e
}

/// `IORING_OP_READ_FIXED` (5.1): read into registered buffer `buf_index`;
/// `buf..buf+len` must lie inside that buffer.
#[derive(Clone, Copy, Debug)]
pub struct ReadFixed {
    target: Target,
    buf: *mut u8,
    len: u32,
    buf_index: u16,
    offset: u64,
}

impl ReadFixed {
    /// The opcode.
    pub const CODE: u8 = 4;
    /// Reads `len` bytes into `buf`, which lies in registered buffer `buf_index`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *mut u8, len: u32, buf_index: u16) -> Self {
        ReadFixed {
            target: target.into(),
            buf,
            len,
            buf_index,
            offset: 0,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.off = self.offset;
        e.buf_index = self.buf_index;
        e
    }
}

/// `IORING_OP_WRITE_FIXED` (5.1): write from registered buffer `buf_index`.
#[derive(Clone, Copy, Debug)]
pub struct WriteFixed {
    target: Target,
    buf: *const u8,
    len: u32,
    buf_index: u16,
    offset: u64,
}

impl WriteFixed {
    /// The opcode.
    pub const CODE: u8 = 5;
    /// Writes `len` bytes from `buf`, which lies in registered buffer `buf_index`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32, buf_index: u16) -> Self {
        WriteFixed {
            target: target.into(),
            buf,
            len,
            buf_index,
            offset: 0,
        }
    }
    /// The file offset (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.off = self.offset;
        e.buf_index = self.buf_index;
        e
    }
}

/// `IORING_OP_FSYNC` (5.1).
#[derive(Clone, Copy, Debug)]
pub struct Fsync {
    target: Target,
    datasync: bool,
}

impl Fsync {
    /// The opcode.
    pub const CODE: u8 = 3;
    /// `fsync(fd)`.
    #[inline]
    pub fn new(target: impl Into<Target>) -> Self {
        Fsync {
            target: target.into(),
            datasync: false,
        }
    }
    /// `IORING_FSYNC_DATASYNC`: `fdatasync` instead.
    #[inline]
    pub const fn datasync(mut self) -> Self {
        self.datasync = true;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.op_flags = self.datasync as u32;
        e
    }
}

// ---------------------------------------------------------------- files

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
    statx: *mut rustix::fs::Statx,
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
        statx: *mut rustix::fs::Statx,
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

// ---------------------------------------------------------------- time, cancel, poll

/// Flags for [`Timeout`] and [`LinkTimeout`] (`IORING_TIMEOUT_*`).
pub mod timeout_flags {
    /// `IORING_TIMEOUT_ABS` (5.5): the timespec is an absolute time.
    pub const ABS: u32 = 1 << 0;
    /// `IORING_TIMEOUT_BOOTTIME` (5.15): measure with `CLOCK_BOOTTIME`.
    pub const BOOTTIME: u32 = 1 << 2;
    /// `IORING_TIMEOUT_REALTIME` (5.15): measure with `CLOCK_REALTIME`.
    pub const REALTIME: u32 = 1 << 3;
    /// `IORING_TIMEOUT_ETIME_SUCCESS` (5.16): expiry is not a link failure.
    pub const ETIME_SUCCESS: u32 = 1 << 5;
    /// `IORING_TIMEOUT_MULTISHOT` (6.4): fire repeatedly.
    pub const MULTISHOT: u32 = 1 << 6;
}

/// `IORING_OP_TIMEOUT` (5.4): completes with `-ETIME` when the time passes,
/// or with 0 once `count` other completions have been posted.
///
/// The timespec is read when the entry is submitted
/// (`IORING_FEAT_SUBMIT_STABLE`) but must stay valid until then, and for
/// [`LinkTimeout`] until the linked chain is submitted.
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    ts: *const Timespec,
    count: u32,
    flags: u32,
}

impl Timeout {
    /// The opcode.
    pub const CODE: u8 = 11;
    /// A relative timeout of `*ts`.
    #[inline]
    pub const fn new(ts: *const Timespec) -> Self {
        Timeout {
            ts,
            count: 0,
            flags: 0,
        }
    }
    /// Complete after `count` completions, if that happens first; with
    /// [`multishot`](Self::multishot), the number of times to fire (0:
    /// forever).
    #[inline]
    pub const fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }
    /// `IORING_TIMEOUT_ABS`: `*ts` is an absolute `CLOCK_MONOTONIC` time.
    #[inline]
    pub const fn absolute(mut self) -> Self {
        self.flags |= timeout_flags::ABS;
        self
    }
    /// `IORING_TIMEOUT_MULTISHOT` (6.4): fire every `*ts`, each with `MORE`.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.flags |= timeout_flags::MULTISHOT;
        self
    }
    /// Any `IORING_TIMEOUT_*` flags (see [`timeout_flags`]).
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.ts);
        e.len = 1;
        e.off = u64::from(self.count);
        e.op_flags = self.flags;
        e
    }
}

/// `IORING_OP_TIMEOUT_REMOVE` (5.5): cancel the timeout with `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutRemove {
    user_data: u64,
}

impl TimeoutRemove {
    /// The opcode.
    pub const CODE: u8 = 12;
    /// Removes the timeout submitted with `user_data`.
    #[inline]
    pub const fn new(user_data: u64) -> Self {
        TimeoutRemove { user_data }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = self.user_data;
        e
    }
}

/// `IORING_OP_LINK_TIMEOUT` (5.5): placed right after an entry with
/// `IO_LINK`, cancels that entry if it has not completed in time.
#[derive(Clone, Copy, Debug)]
pub struct LinkTimeout {
    ts: *const Timespec,
    flags: u32,
}

impl LinkTimeout {
    /// The opcode.
    pub const CODE: u8 = 15;
    /// A relative timeout of `*ts` for the previous linked entry.
    #[inline]
    pub const fn new(ts: *const Timespec) -> Self {
        LinkTimeout { ts, flags: 0 }
    }
    /// Any `IORING_TIMEOUT_*` flags (see [`timeout_flags`]).
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.ts);
        e.len = 1;
        e.op_flags = self.flags;
        e
    }
}

/// What [`AsyncCancel`] matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelBy {
    /// The request submitted with this `user_data`.
    UserData(u64),
    /// Requests on this file (`IORING_ASYNC_CANCEL_FD`, 5.19).
    Fd(Target),
    /// Any request (`IORING_ASYNC_CANCEL_ANY`, 5.19). The kernel treats it
    /// as "every request" and returns the count, as with `ALL`.
    Any,
}

/// `IORING_OP_ASYNC_CANCEL` (5.5; fd/any/all matching 5.19). The result is
/// the number cancelled with [`all`](Self::all), else 0, or `-ENOENT` when
/// nothing matched, `-EALREADY` when the request was already running.
#[derive(Clone, Copy, Debug)]
pub struct AsyncCancel {
    by: CancelBy,
    all: bool,
}

impl AsyncCancel {
    /// The opcode.
    pub const CODE: u8 = 14;
    /// Cancels the first request matching `by`.
    #[inline]
    pub const fn new(by: CancelBy) -> Self {
        AsyncCancel { by, all: false }
    }
    /// `IORING_ASYNC_CANCEL_ALL`: cancel every match.
    #[inline]
    pub const fn all(mut self) -> Self {
        self.all = true;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        const ALL: u32 = 1 << 0;
        const FD: u32 = 1 << 1;
        const ANY: u32 = 1 << 2;
        const FD_FIXED: u32 = 1 << 3;
        let mut e = fileless(Self::CODE);
        let mut flags = if self.all { ALL } else { 0 };
        match self.by {
            CancelBy::UserData(u) => e.addr = u,
            CancelBy::Fd(Target::Fd(fd)) => {
                e.fd = fd;
                flags |= FD;
            }
            CancelBy::Fd(Target::Fixed(i)) => {
                e.fd = i as i32;
                flags |= FD | FD_FIXED;
            }
            CancelBy::Any => flags |= ANY,
        }
        e.op_flags = flags;
        e
    }
}

/// `IORING_OP_POLL_ADD` (5.1; multishot 5.13): completes with the ready
/// `POLL*` events.
#[derive(Clone, Copy, Debug)]
pub struct PollAdd {
    target: Target,
    events: u32,
    multishot: bool,
}

impl PollAdd {
    /// The opcode.
    pub const CODE: u8 = 6;
    /// Polls for `events` (`POLLIN`, `POLLOUT`, ...).
    #[inline]
    pub fn new(target: impl Into<Target>, events: u32) -> Self {
        PollAdd {
            target: target.into(),
            events,
            multishot: false,
        }
    }
    /// `IORING_POLL_ADD_MULTI`: post a completion with `MORE` on every
    /// readiness until cancelled.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.op_flags = self.events;
        e.len = self.multishot as u32;
        e
    }
}

/// `IORING_OP_POLL_REMOVE` (5.1): cancel the poll with `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct PollRemove {
    user_data: u64,
}

impl PollRemove {
    /// The opcode.
    pub const CODE: u8 = 7;
    /// Removes the poll submitted with `user_data`.
    #[inline]
    pub const fn new(user_data: u64) -> Self {
        PollRemove { user_data }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = self.user_data;
        e
    }
}

// ---------------------------------------------------------------- sockets

/// `IORING_OP_SOCKET` (5.19).
#[derive(Clone, Copy, Debug)]
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
    dest: DestinationSlot,
}

impl Socket {
    /// The opcode.
    pub const CODE: u8 = 45;
    /// `socket(domain, ty, protocol)` (`ty` may include `SOCK_CLOEXEC`).
    #[inline]
    pub const fn new(domain: i32, ty: i32, protocol: i32) -> Self {
        Socket {
            domain,
            ty,
            protocol,
            dest: DestinationSlot::Normal,
        }
    }
    /// Where the new socket goes.
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, Target::Fd(self.domain));
        e.off = self.ty as u32 as u64;
        e.len = self.protocol as u32;
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_BIND` (6.11).
#[derive(Clone, Copy, Debug)]
pub struct Bind {
    target: Target,
    addr: *const u8,
    addrlen: u32,
}

impl Bind {
    /// The opcode.
    pub const CODE: u8 = 56;
    /// Binds to the `sockaddr` at `addr` of `addrlen` bytes.
    #[inline]
    pub fn new(target: impl Into<Target>, addr: *const u8, addrlen: u32) -> Self {
        Bind {
            target: target.into(),
            addr,
            addrlen,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = u64::from(self.addrlen);
        e
    }
}

/// `IORING_OP_LISTEN` (6.11).
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    target: Target,
    backlog: u32,
}

impl Listen {
    /// The opcode.
    pub const CODE: u8 = 57;
    /// `listen(fd, backlog)`.
    #[inline]
    pub fn new(target: impl Into<Target>, backlog: u32) -> Self {
        Listen {
            target: target.into(),
            backlog,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.backlog;
        e
    }
}

/// `IORING_OP_ACCEPT` (5.5; multishot 5.19; direct 5.15).
#[derive(Clone, Copy, Debug)]
pub struct Accept {
    target: Target,
    addr: *mut u8,
    addrlen: *mut u32,
    flags: u32,
    multishot: bool,
    dest: DestinationSlot,
}

impl Accept {
    /// The opcode.
    pub const CODE: u8 = 13;
    /// Accepts on the listening socket, not recording the peer address.
    #[inline]
    pub fn new(target: impl Into<Target>) -> Self {
        Accept {
            target: target.into(),
            addr: core::ptr::null_mut(),
            addrlen: core::ptr::null_mut(),
            flags: 0,
            multishot: false,
            dest: DestinationSlot::Normal,
        }
    }
    /// Record the peer into `addr`, whose size `*addrlen` holds on entry.
    #[inline]
    pub const fn peer(mut self, addr: *mut u8, addrlen: *mut u32) -> Self {
        self.addr = addr;
        self.addrlen = addrlen;
        self
    }
    /// `SOCK_NONBLOCK`/`SOCK_CLOEXEC` for the new socket.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// `IORING_ACCEPT_MULTISHOT`: one completion (with `MORE`) per
    /// connection until cancelled or an error.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.multishot = true;
        self
    }
    /// Where accepted sockets go (multishot needs `Normal` or `AutoFixed`).
    #[inline]
    pub const fn destination(mut self, dest: DestinationSlot) -> Self {
        self.dest = dest;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = ptr(self.addrlen);
        e.op_flags = self.flags;
        e.ioprio = self.multishot as u16; // IORING_ACCEPT_MULTISHOT
        e.file_index = self.dest.file_index();
        e
    }
}

/// `IORING_OP_CONNECT` (5.5).
#[derive(Clone, Copy, Debug)]
pub struct Connect {
    target: Target,
    addr: *const u8,
    addrlen: u32,
}

impl Connect {
    /// The opcode.
    pub const CODE: u8 = 16;
    /// Connects to the `sockaddr` at `addr` of `addrlen` bytes.
    #[inline]
    pub fn new(target: impl Into<Target>, addr: *const u8, addrlen: u32) -> Self {
        Connect {
            target: target.into(),
            addr,
            addrlen,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.addr);
        e.off = u64::from(self.addrlen);
        e
    }
}

/// `IORING_RECVSEND_*` / `IORING_RECV_*` flags (the SQE's `ioprio` for
/// send and receive operations).
pub mod recvsend_flags {
    /// `IORING_RECVSEND_POLL_FIRST` (5.19): poll before trying.
    pub const POLL_FIRST: u16 = 1 << 0;
    /// `IORING_RECV_MULTISHOT` (6.0).
    pub const RECV_MULTISHOT: u16 = 1 << 1;
    /// `IORING_RECVSEND_FIXED_BUF` (6.0): the buffer is a registered one.
    pub const FIXED_BUF: u16 = 1 << 2;
    /// `IORING_SEND_ZC_REPORT_USAGE` (6.2).
    pub const ZC_REPORT_USAGE: u16 = 1 << 3;
    /// `IORING_RECVSEND_BUNDLE` (6.10): several buffers at once.
    pub const BUNDLE: u16 = 1 << 4;
}

/// `IORING_OP_SEND` (5.6): `send(fd, buf, len, flags)`.
#[derive(Clone, Copy, Debug)]
pub struct Send {
    target: Target,
    buf: *const u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl Send {
    /// The opcode.
    pub const CODE: u8 = 26;
    /// Sends `len` bytes from `buf`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32) -> Self {
        Send {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// [`recvsend_flags`] bits.
    #[inline]
    pub const fn recvsend_flags(mut self, flags: u16) -> Self {
        self.ioprio |= flags;
        self
    }
    /// `IORING_RECVSEND_BUNDLE` (6.10): send from buffers of group `bgid`.
    #[inline]
    pub const fn bundle(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self.ioprio |= recvsend_flags::BUNDLE;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_RECV` (5.6; multishot 6.0): `recv(fd, buf, len, flags)`, or
/// into provided buffers.
#[derive(Clone, Copy, Debug)]
pub struct Recv {
    target: Target,
    buf: *mut u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl Recv {
    /// The opcode.
    pub const CODE: u8 = 27;
    /// Receives up to `len` bytes into `buf`.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *mut u8, len: u32) -> Self {
        Recv {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// Receives into a buffer the kernel picks from group `bgid`.
    #[inline]
    pub fn with_buf_group(target: impl Into<Target>, bgid: u16) -> Self {
        Recv::new(target, core::ptr::null_mut(), 0).buf_group(bgid)
    }
    /// `IOSQE_BUFFER_SELECT` from group `bgid`.
    #[inline]
    pub const fn buf_group(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self
    }
    /// `IORING_RECV_MULTISHOT`: keep receiving (needs a buffer group); each
    /// completion carries `MORE` until the last.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.ioprio |= recvsend_flags::RECV_MULTISHOT;
        self
    }
    /// `IORING_RECVSEND_BUNDLE` (6.10): fill several buffers per completion.
    #[inline]
    pub const fn bundle(mut self) -> Self {
        self.ioprio |= recvsend_flags::BUNDLE;
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_SENDMSG` (5.3).
#[derive(Clone, Copy, Debug)]
pub struct SendMsg {
    target: Target,
    msg: *const rustix::io_uring::MsgHdr,
    msg_flags: u32,
}

impl SendMsg {
    /// The opcode.
    pub const CODE: u8 = 9;
    /// `sendmsg(fd, msg, flags)`.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *const rustix::io_uring::MsgHdr) -> Self {
        SendMsg {
            target: target.into(),
            msg,
            msg_flags: 0,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e
    }
}

/// `IORING_OP_RECVMSG` (5.3; multishot 6.0). In multishot mode each
/// provided buffer starts with an `io_uring_recvmsg_out` header: parse it
/// with [`crate::buf_ring::RecvMsgOut`].
#[derive(Clone, Copy, Debug)]
pub struct RecvMsg {
    target: Target,
    msg: *mut rustix::io_uring::MsgHdr,
    msg_flags: u32,
    ioprio: u16,
    buf_group: Option<u16>,
}

impl RecvMsg {
    /// The opcode.
    pub const CODE: u8 = 10;
    /// `recvmsg(fd, msg, flags)`.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *mut rustix::io_uring::MsgHdr) -> Self {
        RecvMsg {
            target: target.into(),
            msg,
            msg_flags: 0,
            ioprio: 0,
            buf_group: None,
        }
    }
    /// `IOSQE_BUFFER_SELECT` from group `bgid`.
    #[inline]
    pub const fn buf_group(mut self, bgid: u16) -> Self {
        self.buf_group = Some(bgid);
        self
    }
    /// `IORING_RECV_MULTISHOT` (needs a buffer group); `msg` then only
    /// describes the name/control sizes to reserve in each buffer.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.ioprio |= recvsend_flags::RECV_MULTISHOT;
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        if let Some(g) = self.buf_group {
            e.buf_index = g;
            e.flags |= Flags::BUFFER_SELECT.bits();
        }
        e
    }
}

/// `IORING_OP_SEND_ZC` (6.0): zero-copy send. It posts **two** completions:
/// the send result (with `MORE`), then a `NOTIF` completion once the kernel
/// no longer reads the buffer. The buffer must stay untouched until the
/// `NOTIF` one. Both carry the entry's `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct SendZc {
    target: Target,
    buf: *const u8,
    len: u32,
    msg_flags: u32,
    ioprio: u16,
    buf_index: u16,
}

impl SendZc {
    /// The opcode.
    pub const CODE: u8 = 47;
    /// Sends `len` bytes from `buf` without copying.
    #[inline]
    pub fn new(target: impl Into<Target>, buf: *const u8, len: u32) -> Self {
        SendZc {
            target: target.into(),
            buf,
            len,
            msg_flags: 0,
            ioprio: 0,
            buf_index: 0,
        }
    }
    /// Send from registered buffer `index` (`IORING_RECVSEND_FIXED_BUF`).
    #[inline]
    pub const fn fixed_buffer(mut self, index: u16) -> Self {
        self.buf_index = index;
        self.ioprio |= recvsend_flags::FIXED_BUF;
        self
    }
    /// `IORING_SEND_ZC_REPORT_USAGE` (6.2): the `NOTIF` result reports
    /// `IORING_NOTIF_USAGE_ZC_COPIED` when the kernel copied after all.
    #[inline]
    pub const fn report_usage(mut self) -> Self {
        self.ioprio |= recvsend_flags::ZC_REPORT_USAGE;
        self
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.buf);
        e.len = self.len;
        e.op_flags = self.msg_flags;
        e.ioprio = self.ioprio;
        e.buf_index = self.buf_index;
        e
    }
}

/// `IORING_OP_SENDMSG_ZC` (6.1): zero-copy `sendmsg`, with the same two
/// completions as [`SendZc`].
#[derive(Clone, Copy, Debug)]
pub struct SendMsgZc {
    target: Target,
    msg: *const rustix::io_uring::MsgHdr,
    msg_flags: u32,
}

impl SendMsgZc {
    /// The opcode.
    pub const CODE: u8 = 48;
    /// `sendmsg(fd, msg, flags)` without copying the payload.
    #[inline]
    pub fn new(target: impl Into<Target>, msg: *const rustix::io_uring::MsgHdr) -> Self {
        SendMsgZc {
            target: target.into(),
            msg,
            msg_flags: 0,
        }
    }
    /// `MSG_*` flags.
    #[inline]
    pub const fn msg_flags(mut self, flags: u32) -> Self {
        self.msg_flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.addr = ptr(self.msg);
        e.len = 1;
        e.op_flags = self.msg_flags;
        e
    }
}

/// `IORING_OP_SHUTDOWN` (5.11).
///
/// The kernel always runs shutdown on an io-wq worker, and for a normal fd
/// it looks the fd number up only then: close the fd (or let its number be
/// reused) only after this operation has completed, or it may shut down
/// whatever file got the number next. Found by http-demo's soak test: a
/// lingering close's shutdown hit the next connection.
#[derive(Clone, Copy, Debug)]
pub struct Shutdown {
    target: Target,
    how: i32,
}

impl Shutdown {
    /// The opcode.
    pub const CODE: u8 = 34;
    /// `shutdown(fd, how)` (`SHUT_RD`=0, `SHUT_WR`=1, `SHUT_RDWR`=2).
    #[inline]
    pub fn new(target: impl Into<Target>, how: i32) -> Self {
        Shutdown {
            target: target.into(),
            how,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.how as u32;
        e
    }
}

// ---------------------------------------------------------------- ring to ring

/// `IORING_OP_MSG_RING` (5.18; fd passing 6.0): post a completion into
/// another ring, optionally passing it one of our registered files.
#[derive(Clone, Copy, Debug)]
pub struct MsgRing {
    ring: Target,
    cmd: u64,
    res: u32,
    user_data: u64,
    src_fixed: u32,
    dest: u32,
    flags: u32,
}

impl MsgRing {
    /// The opcode.
    pub const CODE: u8 = 40;
    /// Posts a CQE with `res` and `user_data` into the ring `ring`
    /// (`IORING_MSG_DATA`).
    #[inline]
    pub fn data(ring: impl Into<Target>, res: u32, user_data: u64) -> Self {
        MsgRing {
            ring: ring.into(),
            cmd: 0,
            res,
            user_data,
            src_fixed: 0,
            dest: 0,
            flags: 0,
        }
    }
    /// Installs our registered file `src_fixed` into the target ring's file
    /// table at `dest` (`IORING_MSG_SEND_FD`), and posts a CQE with
    /// `user_data` there.
    #[inline]
    pub fn send_fd(
        ring: impl Into<Target>,
        src_fixed: u32,
        dest: DestinationSlot,
        user_data: u64,
    ) -> Self {
        MsgRing {
            ring: ring.into(),
            cmd: 1,
            res: 0,
            user_data,
            src_fixed,
            dest: dest.file_index(),
            flags: 0,
        }
    }
    /// `IORING_MSG_RING_CQE_SKIP`: post nothing in the target ring.
    #[inline]
    pub const fn skip_target_cqe(mut self) -> Self {
        self.flags |= 1;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.ring);
        e.addr = self.cmd;
        e.len = self.res;
        e.off = self.user_data;
        e.addr3 = u64::from(self.src_fixed);
        e.file_index = self.dest;
        e.op_flags = self.flags;
        e
    }
}

// ---------------------------------------------------------------- provided buffers

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
