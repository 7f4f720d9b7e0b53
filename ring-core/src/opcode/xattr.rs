//! Extended attributes: get and set, by descriptor or by path.

use rustix::fd::RawFd;

use super::{on, ptr};
use crate::squeue::{self, Entry};
use crate::types::Target;

type CStr = *const core::ffi::c_char;

/// The entry the four xattr operations share: `name` in `addr`, the value
/// in `addr2`, its size in `len`, the path (if any) in `addr3`.
#[inline(always)]
fn xattr(mut e: Entry, name: CStr, value: u64, len: u32, path: CStr, flags: u32) -> Entry {
    e.addr = ptr(name);
    e.off = value;
    e.len = len;
    e.addr3 = ptr(path);
    e.op_flags = flags;
    e
}

/// A fileless entry for the path forms (`fd` is unused and 0, as liburing
/// sets it).
#[inline(always)]
fn by_path(opcode: u8) -> Entry {
    let mut e = squeue::ZERO;
    e.opcode = opcode;
    e
}

/// `IORING_OP_FSETXATTR` (5.19): `fsetxattr(fd, name, value, len, flags)`.
#[derive(Clone, Copy, Debug)]
pub struct FsetXattr {
    fd: RawFd,
    name: CStr,
    value: *const u8,
    len: u32,
    flags: u32,
}

impl FsetXattr {
    /// The opcode.
    pub const CODE: u8 = 41;
    /// Sets attribute `name` (NUL-terminated) of `fd` to the `len` bytes at
    /// `value`. Registered files are not accepted by the kernel.
    #[inline]
    pub fn new(fd: RawFd, name: CStr, value: *const u8, len: u32) -> Self {
        FsetXattr {
            fd,
            name,
            value,
            len,
            flags: 0,
        }
    }
    /// `XATTR_CREATE` / `XATTR_REPLACE`.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let e = on(Self::CODE, Target::Fd(self.fd));
        xattr(
            e,
            self.name,
            ptr(self.value),
            self.len,
            core::ptr::null(),
            self.flags,
        )
    }
}

/// `IORING_OP_SETXATTR` (5.19): `setxattr(path, name, value, len, flags)`.
#[derive(Clone, Copy, Debug)]
pub struct SetXattr {
    path: CStr,
    name: CStr,
    value: *const u8,
    len: u32,
    flags: u32,
}

impl SetXattr {
    /// The opcode.
    pub const CODE: u8 = 42;
    /// Sets attribute `name` of the file at `path` (both NUL-terminated) to
    /// the `len` bytes at `value`.
    #[inline]
    pub fn new(path: CStr, name: CStr, value: *const u8, len: u32) -> Self {
        SetXattr {
            path,
            name,
            value,
            len,
            flags: 0,
        }
    }
    /// `XATTR_CREATE` / `XATTR_REPLACE`.
    #[inline]
    pub const fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let e = by_path(Self::CODE);
        xattr(
            e,
            self.name,
            ptr(self.value),
            self.len,
            self.path,
            self.flags,
        )
    }
}

/// `IORING_OP_FGETXATTR` (5.19): `fgetxattr(fd, name, value, len)`. The
/// result is the attribute's size.
#[derive(Clone, Copy, Debug)]
pub struct FgetXattr {
    fd: RawFd,
    name: CStr,
    value: *mut u8,
    len: u32,
}

impl FgetXattr {
    /// The opcode.
    pub const CODE: u8 = 43;
    /// Reads attribute `name` (NUL-terminated) of `fd` into the `len` bytes
    /// at `value` (`len` 0: only report the size).
    #[inline]
    pub fn new(fd: RawFd, name: CStr, value: *mut u8, len: u32) -> Self {
        FgetXattr {
            fd,
            name,
            value,
            len,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let e = on(Self::CODE, Target::Fd(self.fd));
        xattr(
            e,
            self.name,
            ptr(self.value),
            self.len,
            core::ptr::null(),
            0,
        )
    }
}

/// `IORING_OP_GETXATTR` (5.19): `getxattr(path, name, value, len)`. The
/// result is the attribute's size.
#[derive(Clone, Copy, Debug)]
pub struct GetXattr {
    path: CStr,
    name: CStr,
    value: *mut u8,
    len: u32,
}

impl GetXattr {
    /// The opcode.
    pub const CODE: u8 = 44;
    /// Reads attribute `name` of the file at `path` (both NUL-terminated)
    /// into the `len` bytes at `value`.
    #[inline]
    pub fn new(path: CStr, name: CStr, value: *mut u8, len: u32) -> Self {
        GetXattr {
            path,
            name,
            value,
            len,
        }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let e = by_path(Self::CODE);
        xattr(e, self.name, ptr(self.value), self.len, self.path, 0)
    }
}
