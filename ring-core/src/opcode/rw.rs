//! Reads, writes and syncs on a file: plain, vectored and into registered
//! buffers.

use super::{on, ptr};
use crate::squeue::{Entry, Flags};
use crate::types::Target;

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
    iovecs: *const crate::types::IoVec,
    nr: u32,
    offset: u64,
    rw_flags: u32,
}

impl Readv {
    /// The opcode.
    pub const CODE: u8 = 1;
    /// Reads into the `nr` buffers the iovec array names.
    #[inline]
    pub fn new(target: impl Into<Target>, iovecs: *const crate::types::IoVec, nr: u32) -> Self {
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
    iovecs: *const crate::types::IoVec,
    nr: u32,
    offset: u64,
    rw_flags: u32,
}

impl Writev {
    /// The opcode.
    pub const CODE: u8 = 2;
    /// Writes the `nr` buffers the iovec array names.
    #[inline]
    pub fn new(target: impl Into<Target>, iovecs: *const crate::types::IoVec, nr: u32) -> Self {
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
    iovecs: *const crate::types::IoVec,
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

/// `IORING_OP_SYNC_FILE_RANGE` (5.2): `sync_file_range(fd, offset, len,
/// flags)`.
#[derive(Clone, Copy, Debug)]
pub struct SyncFileRange {
    target: Target,
    len: u32,
    offset: u64,
    flags: u32,
}

impl SyncFileRange {
    /// The opcode.
    pub const CODE: u8 = 8;
    /// Syncs `len` bytes from `offset` (0 bytes: to the end of the file).
    #[inline]
    pub fn new(target: impl Into<Target>, len: u32) -> Self {
        SyncFileRange {
            target: target.into(),
            len,
            offset: 0,
            flags: 0,
        }
    }
    /// The start of the range (default 0).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// `SYNC_FILE_RANGE_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.len;
        e.off = self.offset;
        e.op_flags = self.flags;
        e
    }
}

/// `IORING_OP_READ_MULTISHOT` (6.7): keep reading from a pollable file
/// (pipe, socket, eventfd) into buffers of a provided-buffer ring, one
/// completion (with `MORE`) per buffer filled, until an error, end of file
/// or the group runs dry.
#[derive(Clone, Copy, Debug)]
pub struct ReadMultishot {
    target: Target,
    bgid: u16,
    len: u32,
    offset: u64,
}

impl ReadMultishot {
    /// The opcode.
    pub const CODE: u8 = 49;
    /// Reads into buffers of buffer-ring group `bgid` (sets
    /// `IOSQE_BUFFER_SELECT`).
    #[inline]
    pub fn new(target: impl Into<Target>, bgid: u16) -> Self {
        ReadMultishot {
            target: target.into(),
            bgid,
            len: 0,
            offset: 0,
        }
    }
    /// Read at most `len` bytes per buffer (default 0: the buffer's size).
    #[inline]
    pub const fn len(mut self, len: u32) -> Self {
        self.len = len;
        self
    }
    /// The file offset (default 0; pollable files have none).
    #[inline]
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = on(Self::CODE, self.target);
        e.len = self.len;
        e.off = self.offset;
        e.buf_index = self.bgid;
        e.flags |= Flags::BUFFER_SELECT.bits();
        e
    }
}

/// `IORING_OP_READV_FIXED` (6.15): vectored read whose iovecs all lie in
/// registered buffer `buf_index`.
#[derive(Clone, Copy, Debug)]
pub struct ReadvFixed {
    target: Target,
    iovecs: *const crate::types::IoVec,
    nr: u32,
    buf_index: u16,
    offset: u64,
    rw_flags: u32,
}

impl ReadvFixed {
    /// The opcode.
    pub const CODE: u8 = 60;
    /// Reads into the `nr` buffers the iovec array names, all inside
    /// registered buffer `buf_index`.
    #[inline]
    pub fn new(
        target: impl Into<Target>,
        iovecs: *const crate::types::IoVec,
        nr: u32,
        buf_index: u16,
    ) -> Self {
        ReadvFixed {
            target: target.into(),
            iovecs,
            nr,
            buf_index,
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
        let mut e = vectored(
            Self::CODE,
            self.target,
            self.iovecs,
            self.nr,
            self.offset,
            self.rw_flags,
        );
        e.buf_index = self.buf_index;
        e
    }
}

/// `IORING_OP_WRITEV_FIXED` (6.15): vectored write whose iovecs all lie in
/// registered buffer `buf_index`.
#[derive(Clone, Copy, Debug)]
pub struct WritevFixed {
    target: Target,
    iovecs: *const crate::types::IoVec,
    nr: u32,
    buf_index: u16,
    offset: u64,
    rw_flags: u32,
}

impl WritevFixed {
    /// The opcode.
    pub const CODE: u8 = 61;
    /// Writes the `nr` buffers the iovec array names, all inside registered
    /// buffer `buf_index`.
    #[inline]
    pub fn new(
        target: impl Into<Target>,
        iovecs: *const crate::types::IoVec,
        nr: u32,
        buf_index: u16,
    ) -> Self {
        WritevFixed {
            target: target.into(),
            iovecs,
            nr,
            buf_index,
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
        let mut e = vectored(
            Self::CODE,
            self.target,
            self.iovecs,
            self.nr,
            self.offset,
            self.rw_flags,
        );
        e.buf_index = self.buf_index;
        e
    }
}
