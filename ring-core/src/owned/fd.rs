//! Descriptors in the safe tier: what an operation holds so that the file
//! it acts on stays open, and stays the same file, until its final
//! completion.
//!
//! Invariants owned here:
//! - an operation names a descriptor only through a [`Target`] it owns: a
//!   share of an [`OwnedFd`] ([`SharedFd`], closed when the last share
//!   drops) or of a slot in a ring's registered file table ([`FixedFile`],
//!   emptied when the last share drops). Both are one `Arc` of the same
//!   type, held as a raw pointer, so a target is one pointer whose drop
//!   passes only that pointer. Since the operation
//!   keeps its share until the ring hands it back, the number or the slot
//!   it submitted cannot be closed and reused for another file while the
//!   kernel may still resolve it (a linked operation or one on an io-wq
//!   worker resolves it late);
//! - a registered slot belongs to exactly one [`Files`] table, which
//!   belongs to exactly one ring ([`RingId`]); only the table fills or
//!   empties its slots, and only shares of a slot keep it filled;
//! - nothing here turns a bare number into a target: numbers come from
//!   [`OwnedFd`]s given up to a `SharedFd`, or from the table's own
//!   allocation.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use crate::types;
use crate::{Error, IoUring, RingId};

/// A shared, owned descriptor: cloning it is cheap (a reference count),
/// and the descriptor is closed when the last clone drops.
///
/// Operations of the safe tier take a `&SharedFd` (or anything that
/// becomes an [`OwnedFd`], such as a `File` or a `TcpStream`, by value) and
/// keep a clone until their final completion, so dropping your clone while
/// an operation is in flight cannot close the descriptor under it.
///
/// ```
/// use ring_core::owned::{op, Ring, SharedFd};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
/// let mut ring = Ring::new(8)?;
/// ring.push(op::Read::new(&file, vec![0u8; 64]))?;
/// drop(file); // the read keeps the file open until it completes
/// ring.submit_and_wait(1)?;
/// let done = ring.completions().next().expect("one completion");
/// assert!(done.result()? > 0);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SharedFd(Target);

/// What a [`Target`] shares: one allocation for either kind, so that an
/// operation carries a single pointer and a typed ring's operations stay
/// as small as with a bare number.
#[derive(Debug)]
enum Handle {
    Fd(OwnedFd),
    Fixed(Slot),
}

impl SharedFd {
    /// Takes ownership of `fd` (a `File`, a socket, an `OwnedFd`, ...).
    pub fn new(fd: impl Into<OwnedFd>) -> Self {
        SharedFd(Target::new(Handle::Fd(fd.into())))
    }

    /// A new descriptor for the same open file as `fd`
    /// (`fcntl(F_DUPFD_CLOEXEC)`), for when you keep using `fd` yourself.
    pub fn try_clone_from(fd: &impl AsFd) -> std::io::Result<Self> {
        Ok(SharedFd::new(fd.as_fd().try_clone_to_owned()?))
    }

    /// The descriptor back, if this is the last share (no operation holds
    /// it any more); otherwise the share, unchanged.
    pub fn try_unwrap(self) -> Result<OwnedFd, Self> {
        match Arc::try_unwrap(self.0.into_arc()) {
            Ok(Handle::Fd(fd)) => Ok(fd),
            // A SharedFd is only ever made around `Handle::Fd`.
            Ok(Handle::Fixed(slot)) => Err(SharedFd(Target::new(Handle::Fixed(slot)))),
            Err(shared) => Err(SharedFd(Target::from_arc(shared))),
        }
    }

    fn fd(&self) -> &OwnedFd {
        match self.0.handle() {
            Handle::Fd(fd) => fd,
            Handle::Fixed(_) => unreachable!("a SharedFd always holds a descriptor"),
        }
    }
}

impl<T: Into<OwnedFd>> From<T> for SharedFd {
    fn from(fd: T) -> Self {
        SharedFd::new(fd)
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd().as_fd()
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd().as_raw_fd()
    }
}

/// A ring's registered file table, managed by the safe tier: it hands out
/// [`FixedFile`]s, each a share of one filled slot.
///
/// Build one per ring with [`register`](Self::register); a ring has one
/// file table, so a second registration fails (and leaves the first one as
/// it was).
///
/// ```
/// use ring_core::owned::{op, Files, Ring};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut ring = Ring::new(8)?;
/// let files = Files::register(ring.raw(), 16)?;
/// let stat = files.install(&std::fs::File::open("/proc/self/stat")?)?;
/// ring.push(op::Read::new(&stat, vec![0u8; 16]))?; // no descriptor lookup per operation
/// ring.submit_and_wait(1)?;
/// assert_eq!(ring.completions().next().unwrap().result()?, 16);
/// # Ok(()) }
/// ```
///
/// The raw tier's slot-filling registrations are `unsafe`: a slot filled
/// behind the table's back would give its `FixedFile`s another file.
///
/// ```compile_fail
/// #![forbid(unsafe_code)]
/// use std::os::fd::AsFd;
/// let ring = ring_core::IoUring::new(4).unwrap();
/// let other = std::fs::File::open("/dev/null").unwrap();
/// ring.submitter().register_files(&[Some(other.as_fd())]).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Files(Arc<Table>);

/// The shared state of a [`Files`] table. Behind an `Arc` and a `Mutex`
/// (taken only to fill or empty a slot, never per operation) so that its
/// handles, like [`SharedFd`]s, may go to other threads.
struct Table {
    /// A duplicate of the ring fd: slots are emptied through it, even
    /// after the ring itself has been dropped.
    ring_fd: OwnedFd,
    ring_id: RingId,
    free: Mutex<Vec<u32>>,
    size: u32,
}

impl Files {
    /// Registers an empty table of `slots` slots with `ring`
    /// (`IORING_REGISTER_FILES2`, sparse; Linux 5.19).
    ///
    /// If the ring has a file table already the kernel refuses
    /// (`EBUSY`), and the table that is there stays as it was.
    pub fn register(ring: &IoUring, slots: u32) -> Result<Files, Error> {
        if slots == 0 {
            return Err(Error::InvalidArgument(
                "a file table needs at least one slot",
            ));
        }
        let ring_fd = ring.dup_fd()?;
        ring.submitter().register_files_sparse(slots)?;
        Ok(Files(Arc::new(Table {
            ring_fd,
            ring_id: ring.id(),
            free: Mutex::new((0..slots).rev().collect()),
            size: slots,
        })))
    }

    /// Puts the file `fd` refers to into a free slot
    /// (`IORING_REGISTER_FILES_UPDATE`). The kernel takes its own
    /// reference: `fd` stays yours, and closing it does not empty the slot.
    /// The slot is emptied when the last share of the returned
    /// [`FixedFile`] drops.
    pub fn install(&self, fd: &impl AsFd) -> Result<FixedFile, Error> {
        let index = self
            .0
            .free_list()
            .pop()
            .ok_or(Error::InvalidArgument("the file table is full"))?;
        let fds = [fd.as_fd().as_raw_fd()];
        if let Err(e) = self.0.update(index, &fds) {
            self.0.free_list().push(index);
            return Err(e);
        }
        Ok(FixedFile(Target::new(Handle::Fixed(Slot {
            table: self.0.clone(),
            index,
        }))))
    }

    /// Slots not filled.
    pub fn available(&self) -> usize {
        self.0.free_list().len()
    }

    /// The number of slots.
    pub fn size(&self) -> u32 {
        self.0.size
    }

    /// The ring this table is registered with.
    pub fn ring_id(&self) -> RingId {
        self.0.ring_id
    }
}

impl Table {
    /// The free slots. A panic while the lock was held cannot leave the
    /// list inconsistent (each change is one push or pop), so a poisoned
    /// lock is taken as it is.
    fn free_list(&self) -> std::sync::MutexGuard<'_, Vec<u32>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `IORING_REGISTER_FILES_UPDATE` of slots from `index` on.
    fn update(&self, index: u32, fds: &[RawFd]) -> Result<(), Error> {
        let mut update = rustix::io_uring::io_uring_files_update::default();
        update.offset = index;
        update.fds = rustix::io_uring::io_uring_ptr::new(fds.as_ptr().cast_mut().cast());
        // SAFETY: one io_uring_files_update naming `fds.len()` descriptors,
        // both read during the call only. The descriptors are ours to
        // register (borrowed by `install`, or -1 to empty the slot), and
        // the slot is this table's: no share of it is live while it changes
        // (a new slot has none yet; an emptied one has lost its last).
        unsafe {
            crate::register::call(
                self.ring_fd.as_fd(),
                rustix::io_uring::IoringRegisterOp::RegisterFilesUpdate,
                "IORING_REGISTER_FILES_UPDATE",
                (&update as *const rustix::io_uring::io_uring_files_update).cast(),
                fds.len() as u32,
            )
        }?;
        Ok(())
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("ring", &self.ring_id)
            .field("size", &self.size)
            .field("available", &self.free_list().len())
            .finish()
    }
}

/// A share of one filled slot of a ring's registered file table: an
/// operation given one acts on that file without the kernel's per-operation
/// descriptor lookup. Cloning is cheap; the slot is emptied when the last
/// share drops, and not before, so no operation that holds one can find
/// another file in its slot.
///
/// A `FixedFile` means something only to the ring of its [`Files`] table;
/// pushing an operation that uses it on another ring is refused
/// ([`PushError::WrongRing`](super::PushError::WrongRing)).
///
/// On a ring set up with `SINGLE_ISSUER` (the [`rt`](crate::rt) runtime's
/// ring is) the kernel takes register calls only from the ring's thread,
/// so drop the last share there. Dropped on another thread the slot is
/// given back but stays filled: the file stays open (a connection is not
/// closed) until the slot is filled again by [`Files::install`] on the
/// ring's thread, or the ring goes
/// (`a_slot_dropped_on_another_thread_keeps_its_file_until_refilled`).
#[derive(Clone, Debug)]
pub struct FixedFile(Target);

struct Slot {
    table: Arc<Table>,
    index: u32,
}

impl FixedFile {
    fn slot(&self) -> &Slot {
        match self.0.handle() {
            Handle::Fixed(slot) => slot,
            Handle::Fd(_) => unreachable!("a FixedFile always holds a slot"),
        }
    }

    /// The slot's index in the table.
    pub fn index(&self) -> u32 {
        self.slot().index
    }

    /// The ring whose table holds the slot.
    pub fn ring_id(&self) -> RingId {
        self.slot().table.ring_id
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The last share is gone, so no operation uses the slot any more:
        // empty it (the kernel drops its reference to the file) before it
        // can be handed out again. If the kernel refuses, the slot is
        // empty anyway (the table was unregistered behind our back) or
        // still holds the file (a `SINGLE_ISSUER` ring's slot emptied from
        // another thread: `EEXIST`), which `install` then replaces; no
        // share names the slot meanwhile, so no operation reaches it.
        let _ = self.table.update(self.index, &[-1]);
        self.table.free_list().push(self.index);
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("ring", &self.table.ring_id)
            .field("index", &self.index)
            .finish()
    }
}

/// The file an operation acts on: a share of a descriptor or of a
/// registered slot (one pointer). Constructors take `impl Into<Target>`: a `&SharedFd`,
/// a `&FixedFile`, either by value, a `&Target` (so code can take either
/// kind as one type, as the `echo` example does), or anything that becomes an
/// [`OwnedFd`] (a `File`, a `TcpStream`, ...) by value.
///
/// A borrowed `&File` is not a target: its number could be closed and
/// reused while the operation is in flight.
///
/// ```compile_fail
/// use ring_core::owned::{op::Read, Ring};
/// let file = std::fs::File::open("/dev/zero").unwrap();
/// let mut ring = Ring::new(8).unwrap();
/// ring.push(Read::new(&file, vec![0u8; 8])).unwrap(); // a borrow is not a share
/// ```
///
/// Nor is a bare number, which could name a descriptor someone else owns:
///
/// ```compile_fail
/// use ring_core::owned::{op::Read, Ring};
/// use ring_core::types::Fd;
/// let mut ring = Ring::new(8).unwrap();
/// ring.push(Read::new(Fd(0), vec![0u8; 8])).unwrap();
/// ```
///
/// Nor is a raw registered index:
///
/// ```compile_fail
/// use ring_core::owned::{op::Read, Ring};
/// use ring_core::types::Fixed;
/// let mut ring = Ring::new(8).unwrap();
/// ring.push(Read::new(Fixed(0), vec![0u8; 8])).unwrap();
/// ```
pub struct Target {
    /// From `Arc::into_raw`: this value owns one strong count.
    ptr: NonNull<Handle>,
}

// SAFETY: a `Target` is an `Arc<Handle>` in raw form, and `Handle` (an
// `OwnedFd`, or a slot whose table is behind `Arc` + `Mutex`) is `Send` and
// `Sync`, so sharing and sending it is as sound as for the `Arc`.
unsafe impl Send for Target {}
// SAFETY: as for `Send`.
unsafe impl Sync for Target {}

/// Gives back one strong count of a `Target`'s `Arc`. Out of line, and
/// taking the pointer by value: an operation's drop then only passes a
/// scalar, and a typed ring's completions of other operations need not
/// keep a copy of the operation in memory for it (an `Arc` field, whose
/// drop takes `&mut self`, cost the NOP path 30 instructions).
#[inline(never)]
fn release(ptr: NonNull<Handle>) {
    // SAFETY: `ptr` came from `Arc::into_raw` and the `Target` being dropped
    // owned one strong count of it, given up here exactly once.
    drop(unsafe { Arc::from_raw(ptr.as_ptr()) });
}

impl Target {
    fn new(handle: Handle) -> Self {
        Self::from_arc(Arc::new(handle))
    }

    fn from_arc(arc: Arc<Handle>) -> Self {
        let ptr = Arc::into_raw(arc).cast_mut();
        // `Arc::into_raw` never returns null.
        Target {
            ptr: NonNull::new(ptr).expect("Arc::into_raw is non-null"),
        }
    }

    fn into_arc(self) -> Arc<Handle> {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: `ptr` came from `Arc::into_raw`; `self` owned one strong
        // count and was forgotten, so the count moves to the new `Arc`.
        unsafe { Arc::from_raw(ptr.as_ptr()) }
    }

    #[inline]
    fn handle(&self) -> &Handle {
        // SAFETY: `self` owns a strong count, so the allocation lives at
        // least as long as this borrow of `self`.
        unsafe { self.ptr.as_ref() }
    }

    /// What the entry names: the descriptor's number or the slot's index.
    /// Valid as long as `self` lives.
    #[inline]
    pub(crate) fn raw(&self) -> types::Target {
        match self.handle() {
            Handle::Fd(fd) => types::Target::Fd(fd.as_raw_fd()),
            Handle::Fixed(slot) => types::Target::Fixed(slot.index),
        }
    }

    /// Whether an operation on this target may go on ring `ring`: a
    /// descriptor on any, a registered slot only on its table's ring.
    #[inline]
    pub(crate) fn usable_on(&self, ring: RingId) -> bool {
        match self.handle() {
            Handle::Fd(_) => true,
            Handle::Fixed(slot) => slot.table.ring_id == ring,
        }
    }

    /// Whether this is a registered slot rather than a descriptor.
    pub fn is_fixed(&self) -> bool {
        matches!(self.handle(), Handle::Fixed(_))
    }
}

impl Clone for Target {
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: `ptr` came from `Arc::into_raw` and is live (`self` owns a
        // count); the new `Target` owns the count added here.
        unsafe { Arc::increment_strong_count(self.ptr.as_ptr()) };
        Target { ptr: self.ptr }
    }
}

impl Drop for Target {
    #[inline]
    fn drop(&mut self) {
        release(self.ptr);
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle().fmt(f)
    }
}

impl From<&Target> for Target {
    /// Another share of the same descriptor or slot.
    #[inline]
    fn from(target: &Target) -> Self {
        target.clone()
    }
}

impl From<&SharedFd> for Target {
    #[inline]
    fn from(fd: &SharedFd) -> Self {
        fd.0.clone()
    }
}

impl From<SharedFd> for Target {
    fn from(fd: SharedFd) -> Self {
        fd.0
    }
}

impl From<&FixedFile> for Target {
    fn from(f: &FixedFile) -> Self {
        f.0.clone()
    }
}

impl From<FixedFile> for Target {
    fn from(f: FixedFile) -> Self {
        f.0
    }
}

impl<T: Into<OwnedFd>> From<T> for Target {
    fn from(fd: T) -> Self {
        SharedFd::new(fd).0
    }
}
