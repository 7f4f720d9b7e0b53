//! Registered (fixed) buffers for the safe tier: a pool registered with the
//! ring, whose buffers are lent one operation at a time.
//!
//! Invariants owned here:
//! - the pool's memory stays allocated while registered: `Drop`
//!   unregisters (through a duplicate of the ring fd, so the ring may
//!   already be gone) before it frees;
//! - each buffer has at most one holder, a [`FixedBuf`]; only its holder
//!   reads or writes it, and while a fixed operation owns the holder, safe
//!   code cannot reach the bytes the kernel writes;
//! - every holder keeps the pool alive (`Rc`), so the pool cannot be
//!   unregistered or freed under an operation in flight.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use rustix::io_uring::{iovec, IoringRegisterOp};

use super::alloc;
use super::Operation;
use crate::opcode;
use crate::register;
use crate::squeue;
use crate::{Error, IoUring, RingId};

/// A pool of buffers registered with one ring (`IORING_REGISTER_BUFFERS`)
/// for [`ReadFixed`] and [`WriteFixed`]. A ring has one such table: build
/// one pool per ring.
pub struct FixedBufs {
    /// The start of each buffer (from `Box<[u8]>::into_raw`), freed in
    /// `Drop` after unregistering.
    ptrs: Vec<*mut u8>,
    size: usize,
    free: RefCell<Vec<u16>>,
    /// The ring the buffers are registered with: an index means nothing to
    /// another ring.
    ring_id: RingId,
    /// A duplicate of the ring fd, to unregister on drop.
    ring_fd: OwnedFd,
}

impl FixedBufs {
    /// Allocates `count` zeroed buffers of `size` bytes and registers them
    /// with `ring`.
    ///
    /// A ring has one table of registered buffers: if it has one already
    /// the kernel refuses (`EBUSY`), this returns the error, and the pool
    /// registered before keeps working. Memory the allocator cannot give
    /// is [`Error::Alloc`] (an `OutOfMemory` [`std::io::Error`]).
    pub fn register(ring: &IoUring, count: u16, size: usize) -> Result<Rc<Self>, Error> {
        if count == 0 || size == 0 {
            return Err(Error::InvalidArgument(
                "fixed buffers need a count and a size",
            ));
        }
        let ring_fd = ring.dup_fd()?;
        let bufs = (0..count)
            .map(|_| alloc::zeroed("fixed buffers", size))
            .collect::<Result<Vec<_>, _>>()?;
        let iovecs: Vec<iovec> = bufs
            .iter()
            .map(|b| iovec {
                iov_base: b.as_ptr().cast_mut().cast(),
                iov_len: size,
            })
            .collect();
        // SAFETY: the buffers are heap allocations that do not move; from
        // here they stay allocated until `Drop` has unregistered them (on
        // failure nothing was registered and they are freed as plain
        // boxes). Rust reaches their bytes only through a `FixedBuf`, which
        // a fixed operation owns while the kernel uses it.
        unsafe { ring.submitter().register_buffers(&iovecs) }?;
        // Registered: only now does the pool exist, so only a pool that
        // registered ever unregisters (its `Drop`), never a failed attempt.
        Ok(Rc::new(FixedBufs {
            ptrs: bufs
                .into_iter()
                .map(|b| Box::into_raw(b).cast::<u8>())
                .collect(),
            size,
            free: RefCell::new((0..count).rev().collect()),
            ring_id: ring.id(),
            ring_fd,
        }))
    }

    /// The ring these buffers are registered with.
    pub fn ring_id(&self) -> RingId {
        self.ring_id
    }

    /// Lends a free buffer, or `None` if all are lent.
    pub fn take(self: &Rc<Self>) -> Option<FixedBuf> {
        let index = self.free.borrow_mut().pop()?;
        Some(FixedBuf {
            pool: self.clone(),
            index,
            len: self.size,
        })
    }

    /// Buffers not lent.
    pub fn available(&self) -> usize {
        self.free.borrow().len()
    }

    /// The size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.size
    }
}

impl Drop for FixedBufs {
    fn drop(&mut self) {
        // Unregister before freeing. Every holder keeps the pool alive, so
        // no fixed operation of the owned tier is in flight here.
        // SAFETY: UNREGISTER_BUFFERS takes no argument.
        let unregistered = unsafe {
            register::call(
                self.ring_fd.as_fd(),
                IoringRegisterOp::UnregisterBuffers,
                "IORING_UNREGISTER_BUFFERS",
                std::ptr::null(),
                0,
            )
        };
        if unregistered.is_err() {
            // The kernel may still map them: leak rather than free.
            return;
        }
        for &p in &self.ptrs {
            // SAFETY: each pointer came from `Box<[u8]>::into_raw` of
            // `size` bytes and is freed once, after unregistering.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, self.size)) });
        }
    }
}

impl std::fmt::Debug for FixedBufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBufs")
            .field("count", &self.ptrs.len())
            .field("size", &self.size)
            .field("available", &self.available())
            .finish()
    }
}

/// One registered buffer, lent by a [`FixedBufs`]; dropping it returns it.
/// Its length ([`set_len`](Self::set_len)) is how much a fixed operation
/// reads or writes.
pub struct FixedBuf {
    pool: Rc<FixedBufs>,
    index: u16,
    len: usize,
}

impl FixedBuf {
    /// Its index in the registered table.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Sets how many bytes operations use (at most the buffer size).
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.pool.size);
    }

    /// The ring whose registered table holds this buffer.
    pub fn ring_id(&self) -> RingId {
        self.pool.ring_id
    }

    pub(super) fn ptr(&self) -> *mut u8 {
        self.pool.ptrs[usize::from(self.index)]
    }
}

impl std::ops::Deref for FixedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `len <= size` bytes of a live buffer (the pool outlives
        // this holder); this holder is the buffer's only one, and the kernel
        // writes it only while an operation owns the holder, when no
        // reference to it can exist.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

impl std::ops::DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.len) }
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        self.pool.free.borrow_mut().push(self.index);
    }
}

impl std::fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("len", &self.len)
            .finish()
    }
}

owned_op! {
    /// Reads into a registered buffer (`IORING_OP_READ_FIXED`), up to its
    /// length.
    pub struct ReadFixed {
        buf: FixedBuf => into_buf() -> FixedBuf,
        offset: u64,
    }
    new: "Reads from `fd` into `buf`."
}

impl FixedBuf {
    /// The length for the entry.
    fn len32(&self) -> u32 {
        u32::try_from(self.len).unwrap_or(u32::MAX)
    }
}

// SAFETY: the entry points into the registered buffer the operation holds
// exclusively, which the pool keeps allocated and registered while the
// holder lives; `usable_on` keeps it off every ring but the pool's, where
// the index names this very buffer.
unsafe impl Operation for ReadFixed {
    fn entry(&mut self) -> squeue::Entry {
        opcode::ReadFixed::new(
            self.target.raw(),
            self.buf.ptr(),
            self.buf.len32(),
            self.buf.index,
        )
        .offset(self.offset)
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.buf.ring_id() == ring
    }
}

owned_op! {
    /// Writes a registered buffer (`IORING_OP_WRITE_FIXED`), its length.
    /// Like [`Write`](super::op::Write), the result may be short.
    pub struct WriteFixed {
        buf: FixedBuf => into_buf() -> FixedBuf,
        offset: u64,
    }
    new: "Writes `buf` to `fd`."
}

// SAFETY: as for ReadFixed; the kernel only reads the buffer.
unsafe impl Operation for WriteFixed {
    fn entry(&mut self) -> squeue::Entry {
        opcode::WriteFixed::new(
            self.target.raw(),
            self.buf.ptr(),
            self.buf.len32(),
            self.buf.index,
        )
        .offset(self.offset)
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.buf.ring_id() == ring
    }
}
