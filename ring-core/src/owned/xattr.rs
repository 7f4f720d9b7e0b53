//! Owned extended-attribute operations (Linux 5.19): set and get, by path
//! or on an open file.
//!
//! Invariant owned here: the name, the value buffer and the path an entry
//! points to are a `CString` or a `Vec` the operation owns (heap, stable
//! while it moves), and the descriptor of the `F*` forms is a [`SharedFd`]
//! it holds (the kernel does not take registered files here).

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::fs::c_path;
use super::{Operation, SharedFd};
use crate::opcode;
use crate::squeue;

/// Where an attribute lives: a path or an open file.
#[derive(Debug)]
enum On {
    Path(CString),
    Fd(SharedFd),
}

/// `XATTR_SIZE_MAX`: the kernel reads at most this much of a value, and
/// cuts a larger buffer size down to it.
const VALUE_MAX: usize = 64 * 1024;

fn c_name(name: &str) -> Result<CString, std::ffi::NulError> {
    CString::new(name)
}

fn len32(v: &[u8]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

/// Sets an extended attribute (`setxattr(2)` / `fsetxattr(2)`) to an
/// owned value.
#[derive(Debug)]
pub struct SetXattr {
    on: On,
    name: CString,
    value: Vec<u8>,
    flags: u32,
}

impl SetXattr {
    /// Sets attribute `name` (such as `user.comment`) of the file at
    /// `path` to `value`. A NUL byte in the path or the name is an error
    /// here, not in the kernel.
    pub fn path(
        path: impl AsRef<Path>,
        name: &str,
        value: Vec<u8>,
    ) -> Result<Self, std::ffi::NulError> {
        Ok(SetXattr {
            on: On::Path(c_path(path.as_ref())?),
            name: c_name(name)?,
            value,
            flags: 0,
        })
    }
    /// Sets attribute `name` of the open file `fd` to `value`.
    pub fn fd(fd: &SharedFd, name: &str, value: Vec<u8>) -> Result<Self, std::ffi::NulError> {
        Ok(SetXattr {
            on: On::Fd(fd.clone()),
            name: c_name(name)?,
            value,
            flags: 0,
        })
    }
    /// `XATTR_CREATE` (1: fail if it exists) or `XATTR_REPLACE` (2: fail
    /// if it does not).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
    /// The value back.
    pub fn into_value(self) -> Vec<u8> {
        self.value
    }
}

// SAFETY: the entry points to the owned name, value and path (heap,
// stable); the kernel only reads them. The descriptor is a held share.
unsafe impl Operation for SetXattr {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(&self.value);
        let value = self.value.as_ptr();
        match &self.on {
            On::Path(p) => opcode::SetXattr::new(p.as_ptr(), self.name.as_ptr(), value, len)
                .flags(self.flags)
                .build(),
            On::Fd(fd) => opcode::FsetXattr::new(fd.as_raw_fd(), self.name.as_ptr(), value, len)
                .flags(self.flags)
                .build(),
        }
    }
}

/// Reads an extended attribute (`getxattr(2)` / `fgetxattr(2)`) into an
/// owned buffer; the result is the value's length, which is at the start
/// of [`into_value`](Self::into_value)'s buffer. `ERANGE` if the buffer is
/// too small, `ENODATA` if there is no such attribute.
#[derive(Debug)]
pub struct GetXattr {
    on: On,
    name: CString,
    value: Vec<u8>,
}

impl GetXattr {
    /// Reads attribute `name` of the file at `path` into a zeroed buffer
    /// of `size` bytes, at most 64 KiB (`XATTR_SIZE_MAX`: the kernel
    /// cuts a larger size down to that, so a larger buffer would never be
    /// filled further).
    pub fn path(
        path: impl AsRef<Path>,
        name: &str,
        size: usize,
    ) -> Result<Self, std::ffi::NulError> {
        Ok(GetXattr {
            on: On::Path(c_path(path.as_ref())?),
            name: c_name(name)?,
            value: vec![0; size.min(VALUE_MAX)],
        })
    }
    /// Reads attribute `name` of the open file `fd` into a zeroed buffer
    /// of `size` bytes, at most 64 KiB (as [`path`](Self::path)).
    pub fn fd(fd: &SharedFd, name: &str, size: usize) -> Result<Self, std::ffi::NulError> {
        Ok(GetXattr {
            on: On::Fd(fd.clone()),
            name: c_name(name)?,
            value: vec![0; size.min(VALUE_MAX)],
        })
    }
    /// The buffer back (all of it; the value is the first `result` bytes).
    pub fn into_value(self) -> Vec<u8> {
        self.value
    }
}

// SAFETY: the entry points to the owned name and path, which the kernel
// reads, and to the owned value buffer of `value.len()` bytes, which it
// writes; all heap and stable. The descriptor is a held share.
unsafe impl Operation for GetXattr {
    fn entry(&mut self) -> squeue::Entry {
        let len = len32(&self.value);
        let value = self.value.as_mut_ptr();
        match &self.on {
            On::Path(p) => {
                opcode::GetXattr::new(p.as_ptr(), self.name.as_ptr(), value, len).build()
            }
            On::Fd(fd) => {
                opcode::FgetXattr::new(fd.as_raw_fd(), self.name.as_ptr(), value, len).build()
            }
        }
    }
}
