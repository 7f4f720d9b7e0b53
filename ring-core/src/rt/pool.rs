//! The driver's boxes: every operation a future pushes goes into the ring
//! as a `Box<dyn Operation>`, and the box's allocation is kept here when
//! the future takes its operation back, for the next operation of the same
//! layout. A program that keeps awaiting the same operations (a server's
//! receives and sends) then makes no allocator call per operation: the
//! allocator's own cache holds a handful of blocks per size, and a
//! runtime's completions come back in waves of many (measured on the echo
//! example: about 250 instructions per message in `malloc` and `free`).
//!
//! Invariants owned here:
//! - every block in a list was allocated by the global allocator with
//!   exactly that list's layout (a `Box<T>` of a `T` of that layout) and
//!   is owned by nobody else: a box built from it may free it, and the
//!   pool frees what it still holds when dropped;
//! - each layout's list holds at most [`KEEP`] bytes of blocks, so the
//!   pool never keeps more than that per layout, whatever once was in
//!   flight.

use std::alloc::Layout;
use std::ptr::NonNull;

use crate::owned::Operation;

/// Bytes of free blocks kept per layout.
const KEEP: usize = 64 * 1024;
/// The alignment of the layouts kept: that of a pointer, which is what an
/// operation holding a buffer or a descriptor share has. Operations of
/// other alignments are boxed and freed as usual.
const ALIGN: usize = std::mem::align_of::<usize>();
/// The largest operation kept; larger ones are boxed and freed as usual.
const LARGEST: usize = 512;

/// Where the blocks of `layout` are kept, if it is kept: its size in
/// units of [`ALIGN`]. Constant for each operation type, so the check
/// and the index fold away.
#[inline(always)]
fn index(layout: Layout) -> Option<usize> {
    (layout.align() == ALIGN && layout.size() > 0 && layout.size() <= LARGEST)
        .then_some(layout.size() / ALIGN)
}

/// Allocations of boxed operations, kept for reuse (see the module docs).
#[derive(Default)]
pub(super) struct Pool {
    /// The free blocks of each kept layout, by [`index`]: those of size
    /// `i * ALIGN` (and alignment [`ALIGN`]) at `i`, at most
    /// `KEEP / (i * ALIGN)` of them.
    free: Vec<Vec<NonNull<u8>>>,
}

impl Pool {
    /// `op`, boxed: in a kept block of its layout if there is one.
    #[inline]
    pub(super) fn boxed<T: Operation>(&mut self, op: T) -> Box<dyn Operation> {
        if let Some(i) = index(Layout::new::<T>()) {
            if let Some(block) = self.free.get_mut(i).and_then(Vec::pop) {
                let raw = block.cast::<T>().as_ptr();
                // SAFETY: `block` is a live, unowned allocation of the
                // global allocator with `T`'s layout (the one kept at
                // index `i`, and the invariant of the module), so it is
                // valid and aligned for a `T`; `Box::from_raw` then owns it
                // as a `Box<T>` would, and the box frees it with the same
                // layout if it is dropped instead of coming back.
                unsafe {
                    raw.write(op);
                    return Box::from_raw(raw);
                }
            }
        }
        Box::new(op)
    }

    /// The operation in `op`, moved out of its box, whose allocation is
    /// kept (or freed if its layout is not kept or has enough blocks).
    ///
    /// # Safety
    ///
    /// `op` must be a `T`.
    #[inline]
    pub(super) unsafe fn unboxed<T: Operation>(&mut self, op: Box<dyn Operation>) -> T {
        let layout = Layout::new::<T>();
        let Some(i) = index(layout) else {
            // SAFETY: the caller guarantees that `op` is a `T`.
            return unsafe { crate::owned::unbox_unchecked::<T>(op) };
        };
        crate::owned::debug_assert_is::<T>(&*op);
        let raw = Box::into_raw(op).cast::<T>();
        // SAFETY: the caller guarantees that `op` is a `T`, so the box's
        // allocation holds a live `T` with `T`'s layout (a `Box<dyn
        // Operation>` is made from a `Box<T>`: `Box::new` or `boxed`
        // above). `into_raw` gave up its ownership: the value is read out
        // once, and the allocation, no longer holding a value, is kept or
        // freed just below, exactly once.
        let op = unsafe { raw.read() };
        // SAFETY: `raw` is not null (it came from a box).
        let block = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
        match self.free.get_mut(i) {
            Some(blocks) if blocks.len() < KEEP / layout.size() => blocks.push(block),
            _ => self.keep_slow(i, block, layout),
        }
        op
    }

    /// Keeps `block` (a global allocation of `layout`, whose index is `i`,
    /// now unowned) where `unboxed` could not: in a list not made yet, or
    /// frees it if its list is full.
    #[cold]
    #[inline(never)]
    fn keep_slow(&mut self, i: usize, block: NonNull<u8>, layout: Layout) {
        if self.free.len() <= i {
            self.free.resize_with(i + 1, Vec::new);
        }
        let blocks = &mut self.free[i];
        if blocks.len() < KEEP / layout.size() {
            blocks.push(block);
        } else {
            // SAFETY: `block` was allocated by the global allocator with
            // `layout` and nobody owns it (the caller's promise).
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for (i, blocks) in self.free.iter().enumerate() {
            if blocks.is_empty() {
                continue;
            }
            let Ok(layout) = Layout::from_size_align(i * ALIGN, ALIGN) else {
                unreachable!("a kept layout is a valid one")
            };
            for block in blocks {
                // SAFETY: every block at index `i` was allocated by the
                // global allocator with size `i * ALIGN` and alignment
                // `ALIGN` (`index`), which is `layout`, and is owned by
                // nobody (the module's invariant); each is freed once, here.
                unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;
    use crate::owned::op::{Nop, Recv, Send};
    use crate::owned::{Operation, SharedFd};

    fn fd() -> SharedFd {
        SharedFd::new(std::fs::File::open("/dev/null").unwrap())
    }

    #[test]
    fn a_taken_back_allocation_boxes_the_next_operation_of_its_layout() {
        let mut pool = Pool::default();
        let b = pool.boxed(Recv::new(fd(), vec![1u8; 8]));
        let first = (&*b as *const dyn Operation).cast::<u8>();
        // SAFETY: `b` is a `Recv<Vec<u8>>`.
        let recv: Recv<Vec<u8>> = unsafe { pool.unboxed(b) };
        assert_eq!(recv.into_buf(), vec![1u8; 8]);
        let b = pool.boxed(Recv::new(fd(), vec![2u8; 4]));
        assert_eq!((&*b as *const dyn Operation).cast::<u8>(), first);
        // SAFETY: `b` is a `Recv<Vec<u8>>`.
        let recv: Recv<Vec<u8>> = unsafe { pool.unboxed(b) };
        assert_eq!(recv.into_buf(), vec![2u8; 4]);
    }

    #[test]
    fn boxes_from_the_pool_can_be_dropped_as_boxes() {
        let mut pool = Pool::default();
        let b = pool.boxed(Send::new(fd(), vec![0u8; 16]));
        // SAFETY: `b` is a `Send<Vec<u8>>`.
        drop(unsafe { pool.unboxed::<Send<Vec<u8>>>(b) });
        // From the kept block; dropped as an ordinary box (as the ring
        // drops an operation nobody takes back).
        drop(pool.boxed(Send::new(fd(), vec![0u8; 16])));
        // Zero-sized operations take no block.
        let nop = pool.boxed(Nop);
        // SAFETY: `nop` is a `Nop`.
        let Nop = unsafe { pool.unboxed::<Nop>(nop) };
        assert!(pool.free.first().is_none_or(Vec::is_empty));
    }
}
