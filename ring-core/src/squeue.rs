//! The submission queue: SQE layout, SQE flags, and a borrowed view that
//! writes entries and publishes the tail.
//!
//! Invariants owned here:
//! - only this process writes the SQ tail and the SQE slots between the
//!   kernel's head and our tail;
//! - the tail is published with a `Release` store after the slots are
//!   written (pairs with the kernel's `smp_load_acquire(&rings->sq.tail)`);
//! - the head is read with `Acquire` (pairs with the kernel's
//!   `smp_store_release(&rings->sq.head, ..)`), so a slot is reused only
//!   after the kernel has finished reading it.

use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::index;

bitflags::bitflags! {
    /// Per-SQE flags (`IOSQE_*`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Flags: u8 {
        /// `IOSQE_FIXED_FILE` (Linux 5.1): `fd` is an index into the
        /// registered file table.
        const FIXED_FILE = 1 << 0;
        /// `IOSQE_IO_DRAIN` (5.2): start only after every earlier SQE has
        /// completed.
        const IO_DRAIN = 1 << 1;
        /// `IOSQE_IO_LINK` (5.3): the next SQE starts only after this one
        /// succeeds; a failure cancels the rest of the chain.
        const IO_LINK = 1 << 2;
        /// `IOSQE_IO_HARDLINK` (5.5): like `IO_LINK`, but the chain goes on
        /// even if this one fails.
        const IO_HARDLINK = 1 << 3;
        /// `IOSQE_ASYNC` (5.6): always issue from an io-wq worker.
        const ASYNC = 1 << 4;
        /// `IOSQE_BUFFER_SELECT` (5.7): pick the buffer from the group in
        /// `buf_group` (provided buffers or a buffer ring).
        const BUFFER_SELECT = 1 << 5;
        /// `IOSQE_CQE_SKIP_SUCCESS` (5.17): post no CQE when this succeeds.
        ///
        /// Incompatible with `IO_DRAIN`: once a ring has seen this flag, the
        /// kernel fails every later drained entry with `EOPNOTSUPP`. And
        /// when a link chain headed by such an entry fails, the kernel posts
        /// no CQEs for the members it cancels (seen on Linux 6.18): do not
        /// count on one completion per linked entry there. Both found by the
        /// `ring_ops` fuzzer.
        const CQE_SKIP_SUCCESS = 1 << 6;
    }
}

/// `IORING_SQ_NEED_WAKEUP` (Linux 5.1), in the SQ ring's flags: the SQPOLL
/// thread sleeps and needs `IORING_ENTER_SQ_WAKEUP`.
pub(crate) const SQ_NEED_WAKEUP: u32 = 1 << 0;
/// `IORING_SQ_CQ_OVERFLOW` (5.5), in the SQ ring's flags: completions wait in
/// the overflow list.
pub(crate) const SQ_CQ_OVERFLOW: u32 = 1 << 1;
/// `IORING_SQ_TASKRUN` (5.19), in the SQ ring's flags: task work is pending;
/// enter to run it.
pub(crate) const SQ_TASKRUN: u32 = 1 << 2;

/// One submission queue entry, laid out exactly as the kernel's 64-byte
/// `struct io_uring_sqe`.
///
/// The fields are plain integers rather than rustix's `io_uring_sqe`, whose
/// opcode is a Rust enum: writing an opcode newer than rustix's list into it
/// would be undefined behaviour. Build entries with the types in
/// [`crate::opcode`].
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    pub(crate) opcode: u8,
    pub(crate) flags: u8,
    /// `ioprio`, or the per-opcode 16-bit flags (recv/send/accept flags).
    pub(crate) ioprio: u16,
    pub(crate) fd: i32,
    /// `off`, `addr2`, `cmd_op`.
    pub(crate) off: u64,
    /// `addr`, `splice_off_in`, `msg_ring` command.
    pub(crate) addr: u64,
    pub(crate) len: u32,
    /// The per-opcode 32-bit flags union (`rw_flags`, `timeout_flags`, ...).
    pub(crate) op_flags: u32,
    pub(crate) user_data: u64,
    /// `buf_index` or `buf_group`.
    pub(crate) buf_index: u16,
    pub(crate) personality: u16,
    /// `splice_fd_in`, `file_index`, or `addr_len` (low 16 bits).
    pub(crate) file_index: u32,
    /// `addr3`, or the first 8 bytes of the command area.
    pub(crate) addr3: u64,
    pub(crate) pad2: u64,
}

const _: () = assert!(core::mem::size_of::<Entry>() == 64);

/// An all-zero entry (`IORING_OP_NOP` with no flags), the start of every
/// builder in [`crate::opcode`].
pub(crate) const ZERO: Entry = Entry {
    opcode: 0,
    flags: 0,
    ioprio: 0,
    fd: 0,
    off: 0,
    addr: 0,
    len: 0,
    op_flags: 0,
    user_data: 0,
    buf_index: 0,
    personality: 0,
    file_index: 0,
    addr3: 0,
    pad2: 0,
};
const _: () = assert!(core::mem::align_of::<Entry>() == 8);
const _: () = assert!(
    core::mem::size_of::<Entry>() == core::mem::size_of::<rustix::io_uring::io_uring_sqe>()
);

impl Entry {
    /// Sets the `user_data` the completion will carry back.
    #[inline]
    #[must_use]
    pub const fn user_data(mut self, user_data: u64) -> Self {
        self.user_data = user_data;
        self
    }

    /// Adds SQE flags (link, drain, async, skip-success, ...).
    #[inline]
    #[must_use]
    pub const fn flags(mut self, flags: Flags) -> Self {
        self.flags |= flags.bits();
        self
    }

    /// Runs the operation with a registered personality (credentials).
    #[inline]
    #[must_use]
    pub const fn personality(mut self, personality: u16) -> Self {
        self.personality = personality;
        self
    }

    /// The `user_data` set on this entry.
    #[inline]
    pub const fn get_user_data(&self) -> u64 {
        self.user_data
    }

    /// The SQE flags set on this entry.
    #[inline]
    pub const fn get_flags(&self) -> Flags {
        Flags::from_bits_retain(self.flags)
    }

    /// The opcode byte.
    #[inline]
    pub const fn get_opcode(&self) -> u8 {
        self.opcode
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("opcode", &self.opcode)
            .field("flags", &Flags::from_bits_retain(self.flags))
            .field("fd", &self.fd)
            .field("user_data", &self.user_data)
            .finish_non_exhaustive()
    }
}

/// A 128-byte entry for rings set up with `SQE128`: a normal entry followed
/// by 64 bytes of command data (`IORING_OP_URING_CMD`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry128 {
    /// The first 64 bytes, as for a normal ring.
    pub entry: Entry,
    /// The extra command area.
    pub cmd: [u8; 64],
}

const _: () = assert!(core::mem::size_of::<Entry128>() == 128);

impl From<Entry> for Entry128 {
    /// The entry with a zeroed command area.
    fn from(entry: Entry) -> Self {
        Entry128 {
            entry,
            cmd: [0; 64],
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Entry {}
    impl Sealed for super::Entry128 {}
}

/// The SQE size of a ring, as a type: [`Entry`] (64 bytes) or [`Entry128`]
/// (rings set up with `SQE128`, through [`Builder::sqe128`](crate::Builder::sqe128)).
/// A ring's [`SubmissionQueue`] takes only its own entry type, so an entry
/// can never be written into a slot of the other size.
pub trait EntryMarker: Clone + Copy + fmt::Debug + sealed::Sealed + 'static {
    /// The `IORING_SETUP_*` bit this entry size needs (`SQE128`, or none).
    const SETUP_FLAGS: u32;
}

impl EntryMarker for Entry {
    const SETUP_FLAGS: u32 = 0;
}

impl EntryMarker for Entry128 {
    /// `IORING_SETUP_SQE128`.
    const SETUP_FLAGS: u32 = 1 << 10;
}

/// The submission queue was full; the entry was not queued (the caller still
/// owns it). Submit and reap, then push again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("submission queue is full")]
pub struct PushError;

impl From<PushError> for std::io::Error {
    /// Wraps the error so that `?` works in a function returning
    /// [`std::io::Result`]: kind `WouldBlock` (submit and reap, then push
    /// again), message "submission queue is full".
    fn from(e: PushError) -> Self {
        std::io::Error::new(std::io::ErrorKind::WouldBlock, e)
    }
}

/// Raw pointers into the SQ ring mapping. Copied into views; valid while the
/// owning [`crate::IoUring`] lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawSq {
    pub(crate) head: *const AtomicU32,
    pub(crate) tail: *const AtomicU32,
    pub(crate) flags: *const AtomicU32,
    pub(crate) dropped: *const AtomicU32,
    pub(crate) ring_mask: u32,
    pub(crate) ring_entries: u32,
    /// Base of the SQE array.
    pub(crate) sqes: *mut Entry,
    /// log2 of the slot size in 64-byte units (1 for SQE128 rings).
    pub(crate) sqe_shift: u32,
}

impl RawSq {
    #[inline(always)]
    pub(crate) fn head(&self) -> &AtomicU32 {
        // SAFETY: points into the live SQ ring mapping at the kernel's head
        // offset (u32-aligned), valid as long as the ring.
        unsafe { &*self.head }
    }
    #[inline(always)]
    pub(crate) fn tail(&self) -> &AtomicU32 {
        // SAFETY: as `head`, at the tail offset.
        unsafe { &*self.tail }
    }
    #[inline(always)]
    pub(crate) fn kflags(&self) -> &AtomicU32 {
        // SAFETY: as `head`, at the flags offset.
        unsafe { &*self.flags }
    }
    #[inline(always)]
    pub(crate) fn kdropped(&self) -> &AtomicU32 {
        // SAFETY: as `head`, at the dropped offset.
        unsafe { &*self.dropped }
    }

    /// Pointer to the slot for counter `index`, on a ring whose SQEs are
    /// `S`. The size comes from the type, not from `sqe_shift`: a shift by
    /// a loaded value costs two instructions on every push.
    #[inline(always)]
    fn slot<S: EntryMarker>(&self, index: u32) -> *mut S {
        // The ring was set up with `S::SETUP_FLAGS` (`Builder::build` makes
        // type and flags agree), so its slots are `S`-sized.
        debug_assert_eq!(core::mem::size_of::<S>(), 64 << self.sqe_shift);
        let slot = index::slot(index, self.ring_mask);
        // SAFETY: `slot` < ring_entries, the number of `S`-sized slots the
        // SQE mapping holds (see above).
        unsafe { self.sqes.cast::<S>().add(slot) }
    }

    /// Entries published to the kernel that it has not consumed yet.
    #[inline(always)]
    pub(crate) fn pending(&self) -> u32 {
        // We are the only writer of the tail: a relaxed load reads our own
        // last store. The head is the kernel's: Acquire pairs with its
        // smp_store_release.
        index::distance(
            self.head().load(Ordering::Acquire),
            self.tail().load(Ordering::Relaxed),
        )
    }
}

/// A borrowed view of the submission queue.
///
/// It caches the tail while entries are pushed and publishes it on
/// [`sync`](Self::sync) and on drop. Get one from
/// [`IoUring::submission`](crate::IoUring::submission) or
/// [`IoUring::split`](crate::IoUring::split).
pub struct SubmissionQueue<'a, S: EntryMarker = Entry> {
    raw: RawSq,
    head: u32,
    tail: u32,
    _ring: PhantomData<(&'a mut (), S)>,
}

impl<'a, S: EntryMarker> SubmissionQueue<'a, S> {
    #[inline]
    pub(crate) fn new(raw: RawSq) -> Self {
        Self {
            head: raw.head().load(Ordering::Acquire),
            tail: raw.tail().load(Ordering::Relaxed),
            raw,
            _ring: PhantomData,
        }
    }

    /// Publishes pushed entries to the kernel (Release store of the tail) and
    /// refreshes the cached head (Acquire load).
    #[inline]
    pub fn sync(&mut self) {
        // Release: the SQE writes above happen-before the kernel's
        // smp_load_acquire of the tail.
        self.raw.tail().store(self.tail, Ordering::Release);
        self.head = self.raw.head().load(Ordering::Acquire);
    }

    /// Number of slots in the queue.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.ring_entries as usize
    }

    /// Entries pushed and not yet consumed by the kernel (as of the last
    /// sync).
    #[inline]
    pub fn len(&self) -> usize {
        index::distance(self.head, self.tail) as usize
    }

    /// Whether no entry is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether no slot is free (as of the last sync).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Entries the kernel dropped as invalid since the ring was created.
    #[inline]
    pub fn dropped(&self) -> u32 {
        self.raw.kdropped().load(Ordering::Acquire)
    }

    #[inline(always)]
    fn free(&self) -> u32 {
        index::free(self.head, self.tail, self.raw.ring_entries)
    }

    /// Queues one entry. It reaches the kernel after [`sync`](Self::sync) (or
    /// drop of this view) and a submit.
    ///
    /// # Safety
    ///
    /// The kernel will read and write, after this call returns and until the
    /// entry's final completion has been reaped, whatever the entry points
    /// to: data buffers, iovec arrays and the buffers they name, paths,
    /// `msghdr`s and their name/control buffers, `sockaddr`s and their
    /// length words, timespecs, `statx` and `open_how` structs. All of it must
    /// stay valid (allocated, not moved, not reused for something else, and
    /// for buffers the kernel writes, not read or written by Rust code) until
    /// then. For multishot operations that is the completion without
    /// `IORING_CQE_F_MORE`; for zero-copy sends it is the `NOTIF` completion;
    /// for `BUFFER_SELECT` entries the buffer group (provided buffers or a
    /// [`BufRing`](crate::buf_ring::BufRing)) stays registered and alive;
    /// for linked chains, the resources of every entry live until that
    /// entry's completion (a `LinkTimeout`'s timespec until the timeout's).
    ///
    /// Descriptors and registered-file indices (I/O safety): every one the
    /// entry names must be one the caller owns or borrows, and it must stay
    /// open (the slot filled with the same file) until the entry's final
    /// completion has been reaped, not merely until it starts: a linked
    /// entry, or one the kernel hands to an io-wq worker (`shutdown`,
    /// buffered file I/O), resolves the number only when it runs, and would
    /// act on whatever file got the number in between. A registered-file
    /// slot, a fixed-buffer index and a buffer group must be this ring's.
    ///
    /// Completions (`user_data`): if this ring is, or will be, wrapped by
    /// the safe tier ([`owned::Ring::from_ring`](crate::owned::Ring::from_ring)),
    /// the entry's `user_data` must be 0 or have bit 63 set, and the same
    /// holds for any completion the entry posts to another ring that the
    /// safe tier wraps (`MSG_RING`): other values are the safe tier's
    /// [`Token`](crate::owned::Token)s, and a completion carrying one
    /// releases that token's operation while the kernel may still use it.
    ///
    /// The ring itself must not be dropped or forgotten while such an
    /// operation is in flight unless the memory is leaked too.
    #[inline]
    pub unsafe fn push(&mut self, entry: &S) -> Result<(), PushError> {
        if !self.has_room() {
            return Err(PushError);
        }
        // SAFETY: `has_room` said yes just above; the caller's contract
        // covers what the entry points to.
        unsafe { self.push_unchecked(entry) };
        Ok(())
    }

    /// Whether one more entry fits, learning the kernel's head first if the
    /// cached one says the queue is full.
    #[inline(always)]
    pub(crate) fn has_room(&mut self) -> bool {
        if self.free() == 0 {
            self.head = self.raw.head().load(Ordering::Acquire);
        }
        self.free() != 0
    }

    /// Writes `entry` into the next slot without checking for room.
    ///
    /// # Safety
    ///
    /// [`has_room`](Self::has_room) must have returned true with no push in
    /// between, and `entry` must satisfy [`push`](Self::push)'s contract.
    #[inline(always)]
    pub(crate) unsafe fn push_unchecked(&mut self, entry: &S) {
        debug_assert!(self.free() != 0);
        // SAFETY: the caller checked that a slot is free; as in `push`, the
        // kernel does not read it until we publish the tail. Slots are
        // `size_of::<S>()` long: the ring was set up with `S::SETUP_FLAGS`
        // (`Builder::build` makes the ring's type and flags agree).
        unsafe { self.raw.slot::<S>(self.tail).write(*entry) };
        self.tail = self.tail.wrapping_add(1);
    }

    /// Queues all of `entries`, or none of them if they do not all fit.
    ///
    /// # Safety
    ///
    /// As [`push`](Self::push), for every entry.
    #[inline]
    pub unsafe fn push_multiple(&mut self, entries: &[S]) -> Result<(), PushError> {
        if (self.free() as usize) < entries.len() {
            self.head = self.raw.head().load(Ordering::Acquire);
            if (self.free() as usize) < entries.len() {
                return Err(PushError);
            }
        }
        for entry in entries {
            // SAFETY: there are at least `entries.len()` free slots (checked
            // above); each write is to the next one, as in `push`, and slots
            // are `size_of::<S>()` long (see `push_unchecked`).
            unsafe { self.raw.slot::<S>(self.tail).write(*entry) };
            self.tail = self.tail.wrapping_add(1);
        }
        Ok(())
    }
}

impl<S: EntryMarker> Drop for SubmissionQueue<'_, S> {
    #[inline]
    fn drop(&mut self) {
        // Release: see `sync`.
        self.raw.tail().store(self.tail, Ordering::Release);
    }
}

impl<S: EntryMarker> fmt::Debug for SubmissionQueue<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmissionQueue")
            .field("head", &self.head)
            .field("tail", &self.tail)
            .field("capacity", &self.capacity())
            .finish()
    }
}
