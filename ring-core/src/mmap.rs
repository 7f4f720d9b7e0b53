//! Owned memory mappings: the ring regions the kernel shares with us, and
//! anonymous memory for provided-buffer rings.
//!
//! Invariant: a [`Mmap`] is exactly one live mapping of `len` bytes; dropping
//! it unmaps it (ignoring the error: nothing useful can be done about a failed
//! `munmap` in `Drop`), unless it was [leaked](Mmap::leak) (`len` 0). Ring mappings must be dropped *before* the ring fd is
//! closed; [`crate::IoUring`] guarantees that by field order.

use core::ffi::c_void;
use core::ptr::NonNull;

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

use crate::sys;

/// One owned mapping.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: the mapping is plain memory; all access to it goes through the
// owning ring types, which impose their own synchronisation.
unsafe impl Send for Mmap {}
// SAFETY: as above; `Mmap` itself hands out only raw pointers.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Maps a ring region of the io_uring fd.
    ///
    /// # Safety
    ///
    /// `offset` must be an `IORING_OFF_*` region of `fd` at least `len` long.
    pub(crate) unsafe fn ring(fd: BorrowedFd<'_>, len: usize, offset: u64) -> Result<Self, Errno> {
        // SAFETY: forwarded contract.
        let ptr = unsafe { sys::mmap_ring(fd, len, offset) }?;
        Ok(Self { ptr, len })
    }

    /// Maps `len` bytes of zeroed anonymous memory.
    pub(crate) fn anonymous(len: usize) -> Result<Self, Errno> {
        let ptr = sys::mmap_anonymous(len)?;
        Ok(Self { ptr, len })
    }

    /// Length of the mapping in bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Base address of the mapping.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr().cast()
    }

    /// Gives the mapping up without unmapping it, for memory the kernel
    /// may still use (a registration it refused to undo): dropping the
    /// value then leaves the mapping in place for good.
    pub(crate) fn leak(&mut self) {
        self.len = 0;
    }

    /// Pointer to `T` at byte `offset`.
    ///
    /// # Safety
    ///
    /// `offset + size_of::<T>()` must not exceed the mapping's length; the
    /// caller is responsible for the alignment of what it reads through the
    /// pointer.
    #[inline]
    pub(crate) unsafe fn offset<T>(&self, offset: u32) -> *mut T {
        debug_assert!(offset as usize + core::mem::size_of::<T>() <= self.len);
        // SAFETY: in bounds by the caller's contract.
        unsafe { self.as_ptr().add(offset as usize).cast() }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            // Leaked (`leak`): the kernel may still use it.
            return;
        }
        // SAFETY: `ptr`/`len` are the mapping this value owns, and it is
        // dropped only once; nothing reads it after the owner is gone.
        let _ = unsafe { sys::munmap(self.ptr, self.len) };
    }
}
