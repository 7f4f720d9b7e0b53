//! The completion queue: CQE layout, CQE flags, and a borrowed view that
//! iterates completions and releases their slots.
//!
//! Invariants owned here:
//! - the tail is the kernel's: read with `Acquire` (pairs with the kernel's
//!   `smp_store_release(&rings->cq.tail, ..)`), so the CQE contents are
//!   visible before we read them;
//! - the head is ours: stored with `Release` after the CQEs are copied out
//!   (the kernel reads it before overwriting a slot), so the kernel never
//!   reuses a slot we are still reading.

use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};

use rustix::io::Errno;

use crate::index;

bitflags::bitflags! {
    /// Completion flags (`IORING_CQE_F_*`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Flags: u32 {
        /// `IORING_CQE_F_BUFFER` (Linux 5.7): the upper 16 bits hold the
        /// id of the provided buffer that was used.
        const BUFFER = 1 << 0;
        /// `IORING_CQE_F_MORE` (5.13): the operation is multishot and will
        /// post more completions; its resources stay in use.
        const MORE = 1 << 1;
        /// `IORING_CQE_F_SOCK_NONEMPTY` (5.19): the socket had more data
        /// after this receive.
        const SOCK_NONEMPTY = 1 << 2;
        /// `IORING_CQE_F_NOTIF` (6.0): the zero-copy notification; the send
        /// buffer may be reused now.
        const NOTIF = 1 << 3;
        /// `IORING_CQE_F_BUF_MORE` (6.12): with incremental buffer-ring
        /// consumption, the buffer is not used up and will be used again.
        const BUF_MORE = 1 << 4;
        /// `IORING_CQE_F_SKIP` (6.18): a padding CQE on mixed-size CQ rings.
        const SKIP = 1 << 5;
        /// `IORING_CQE_F_32` (6.18): this CQE is 32 bytes on a mixed ring.
        const CQE32 = 1 << 15;
    }
}

/// The shift of the buffer id in `flags` (`IORING_CQE_BUFFER_SHIFT`).
pub const BUFFER_SHIFT: u32 = 16;

/// One completion queue entry, laid out as the kernel's 16-byte
/// `struct io_uring_cqe`.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    user_data: u64,
    res: i32,
    flags: u32,
}

const _: () = assert!(core::mem::size_of::<Entry>() == 16);

impl Entry {
    /// Builds an entry from its raw parts (useful for models and tests).
    #[inline]
    pub const fn from_raw(user_data: u64, res: i32, flags: u32) -> Self {
        Self {
            user_data,
            res,
            flags,
        }
    }

    /// The `user_data` of the submission this completes.
    #[inline]
    pub const fn user_data(&self) -> u64 {
        self.user_data
    }

    /// The result: a non-negative count or value, or the error.
    #[inline]
    pub fn result(&self) -> Result<u32, Errno> {
        if self.res >= 0 {
            Ok(self.res as u32)
        } else {
            Err(Errno::from_raw_os_error(-self.res))
        }
    }

    /// The raw `res` field: negative values are `-errno`.
    #[inline]
    pub const fn raw_result(&self) -> i32 {
        self.res
    }

    /// The completion flags.
    #[inline]
    pub const fn flags(&self) -> Flags {
        Flags::from_bits_retain(self.flags)
    }

    /// The raw `flags` word.
    #[inline]
    pub const fn raw_flags(&self) -> u32 {
        self.flags
    }

    /// Whether more completions will follow for this (multishot) operation.
    #[inline]
    pub const fn more(&self) -> bool {
        self.flags & Flags::MORE.bits() != 0
    }

    /// Whether this is a zero-copy send's notification.
    #[inline]
    pub const fn notif(&self) -> bool {
        self.flags & Flags::NOTIF.bits() != 0
    }

    /// The provided buffer id, if the kernel picked a buffer.
    #[inline]
    pub const fn buffer_id(&self) -> Option<u16> {
        if self.flags & Flags::BUFFER.bits() != 0 {
            Some((self.flags >> BUFFER_SHIFT) as u16)
        } else {
            None
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("user_data", &self.user_data)
            .field("res", &self.res)
            .field("flags", &self.flags())
            .finish()
    }
}

/// A 32-byte completion from a ring set up with `CQE32`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Entry32 {
    /// The first 16 bytes, as for a normal ring.
    pub entry: Entry,
    /// The extra 16 bytes (`big_cqe`).
    pub big: [u64; 2],
}

const _: () = assert!(core::mem::size_of::<Entry32>() == 32);

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Entry {}
    impl Sealed for super::Entry32 {}
}

/// The CQE size of a ring, as a type: [`Entry`] (16 bytes) or [`Entry32`]
/// (rings set up with `CQE32`, through [`Builder::cqe32`](crate::Builder::cqe32)).
/// A ring's [`CompletionQueue`] yields its own entry type.
pub trait EntryMarker: Clone + Copy + fmt::Debug + sealed::Sealed + 'static {
    /// The `IORING_SETUP_*` bit this entry size needs (`CQE32`, or none).
    const SETUP_FLAGS: u32;
}

impl EntryMarker for Entry {
    const SETUP_FLAGS: u32 = 0;
}

impl EntryMarker for Entry32 {
    /// `IORING_SETUP_CQE32`.
    const SETUP_FLAGS: u32 = 1 << 11;
}

/// Raw pointers into the CQ ring mapping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawCq {
    pub(crate) head: *const AtomicU32,
    pub(crate) tail: *const AtomicU32,
    pub(crate) overflow: *const AtomicU32,
    pub(crate) ring_mask: u32,
    pub(crate) ring_entries: u32,
    pub(crate) cqes: *const Entry,
    /// log2 of the slot size in 16-byte units (1 for CQE32 rings).
    pub(crate) cqe_shift: u32,
}

impl RawCq {
    #[inline(always)]
    pub(crate) fn head(&self) -> &AtomicU32 {
        // SAFETY: points into the live CQ ring mapping at the kernel's head
        // offset (u32-aligned), valid as long as the ring.
        unsafe { &*self.head }
    }
    #[inline(always)]
    pub(crate) fn tail(&self) -> &AtomicU32 {
        // SAFETY: as `head`, at the tail offset.
        unsafe { &*self.tail }
    }
    #[inline(always)]
    fn koverflow(&self) -> &AtomicU32 {
        // SAFETY: as `head`, at the overflow offset.
        unsafe { &*self.overflow }
    }

    /// Completions ready to be reaped.
    #[inline(always)]
    pub(crate) fn ready(&self) -> u32 {
        index::distance(
            self.head().load(Ordering::Relaxed),
            self.tail().load(Ordering::Acquire),
        )
    }

    /// Pointer to the slot for counter `index`, on a ring whose CQEs are
    /// `C`. The size comes from the type, not from `cqe_shift`: a shift by
    /// a loaded value costs two instructions on every completion.
    #[inline(always)]
    fn slot<C: EntryMarker>(&self, index: u32) -> *const C {
        // The ring was set up with `C::SETUP_FLAGS` (`Builder::build` makes
        // type and flags agree), so its slots are `C`-sized.
        debug_assert_eq!(core::mem::size_of::<C>(), 16 << self.cqe_shift);
        let slot = index::slot(index, self.ring_mask);
        // SAFETY: slot < ring_entries, the number of `C`-sized slots the CQE
        // array holds (see above).
        unsafe { self.cqes.cast::<C>().add(slot) }
    }
}

/// A borrowed view of the completion queue: an iterator over ready
/// completions. Reaped slots are handed back to the kernel on
/// [`sync`](Self::sync) and on drop.
pub struct CompletionQueue<'a, C: EntryMarker = Entry> {
    raw: RawCq,
    head: u32,
    tail: u32,
    _ring: PhantomData<(&'a mut (), C)>,
}

impl<'a, C: EntryMarker> CompletionQueue<'a, C> {
    #[inline]
    pub(crate) fn new(raw: RawCq) -> Self {
        Self {
            head: raw.head().load(Ordering::Relaxed),
            tail: raw.tail().load(Ordering::Acquire),
            raw,
            _ring: PhantomData,
        }
    }

    /// Releases reaped slots (Release store of the head) and loads the
    /// kernel's tail again (Acquire) to see new completions.
    #[inline]
    pub fn sync(&mut self) {
        self.raw.head().store(self.head, Ordering::Release);
        self.tail = self.raw.tail().load(Ordering::Acquire);
    }

    /// Hands the slots read so far back to the kernel (Release store of
    /// the head) without loading the tail again: after this, a reaped
    /// completion cannot be read a second time even if this view is never
    /// dropped (`mem::forget`).
    #[inline(always)]
    pub(crate) fn release(&self) {
        self.raw.head().store(self.head, Ordering::Release);
    }

    /// Number of slots in the queue.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.ring_entries as usize
    }

    /// Completions the kernel could not post and dropped (only on kernels
    /// without `IORING_FEAT_NODROP`, or when even its overflow list failed).
    #[inline]
    pub fn overflow(&self) -> u32 {
        self.raw.koverflow().load(Ordering::Acquire)
    }

    /// Whether no completion is ready (as of the last sync).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// Copies ready completions into `out` and returns how many.
    #[inline]
    pub fn fill(&mut self, out: &mut [C]) -> usize {
        let n = out.len().min(self.len());
        for slot in &mut out[..n] {
            // SAFETY: `n` entries are ready, checked above.
            *slot = unsafe { self.next_unchecked() };
        }
        n
    }

    /// # Safety
    /// At least one completion must be ready (`head != tail`).
    #[inline(always)]
    unsafe fn next_unchecked(&mut self) -> C {
        // SAFETY: the caller guarantees head != tail, so the slot holds a
        // completion the kernel published before the tail we loaded with
        // Acquire; it will not overwrite it until our head passes it. Slots
        // are `size_of::<C>()` long: the ring was set up with
        // `C::SETUP_FLAGS` (`Builder::build` makes type and flags agree).
        let entry = unsafe { self.raw.slot::<C>(self.head).read() };
        self.head = self.head.wrapping_add(1);
        entry
    }
}

impl<C: EntryMarker> Iterator for CompletionQueue<'_, C> {
    type Item = C;

    #[inline]
    fn next(&mut self) -> Option<C> {
        if self.head == self.tail {
            return None;
        }
        // SAFETY: head != tail was just checked.
        Some(unsafe { self.next_unchecked() })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = index::distance(self.head, self.tail) as usize;
        (n, Some(n))
    }
}

impl<C: EntryMarker> ExactSizeIterator for CompletionQueue<'_, C> {}

impl<C: EntryMarker> Drop for CompletionQueue<'_, C> {
    #[inline]
    fn drop(&mut self) {
        // Release: our reads of the reaped CQEs happen-before the kernel
        // sees their slots as free.
        self.raw.head().store(self.head, Ordering::Release);
    }
}

impl<C: EntryMarker> fmt::Debug for CompletionQueue<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionQueue")
            .field("head", &self.head)
            .field("tail", &self.tail)
            .field("capacity", &self.capacity())
            .finish()
    }
}
