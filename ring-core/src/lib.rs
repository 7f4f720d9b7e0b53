//! # ring-core
//!
//! io_uring for Rust, written from the syscalls up: it calls
//! `io_uring_setup`, `io_uring_enter` and `io_uring_register` through
//! rustix's raw bindings and maps the SQ ring, CQ ring and SQE array itself.
//!
//! Start with the safe tier, [`owned`]: an operation is pushed by value,
//! owns everything the kernel touches (its buffers, a share of its file),
//! and comes back with its final completion, so safe code cannot free memory
//! or close a descriptor the kernel may still use.
//!
//! ```
//! use ring_core::owned::{op, Ring, SharedFd};
//!
//! # fn main() -> std::io::Result<()> {
//! let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
//! let mut ring = Ring::new(8)?;
//! // The operation holds a share of the file and owns the buffer.
//! let token = ring.push(op::Read::new(&file, vec![0u8; 64]))?;
//! ring.submit_and_wait(1)?;
//! let mut done = ring.completions().next().expect("one completion");
//! assert_eq!(done.token(), token);
//! let n = done.result()? as usize;
//! // Both come back with the final completion.
//! let buf = done.take_op::<op::Read>().expect("the Read comes back").into_buf();
//! assert!(n > 0 && buf[..n].contains(&b' '));
//! # Ok(())
//! # }
//! ```
//!
//! Layers, each calling only the ones below it:
//!
//! | file | layer |
//! |------|-------|
//! | [`sys`](self) (`sys.rs`) | the syscalls and `mmap`/`munmap`, nothing else |
//! | `mmap.rs` | owned mappings, unmapped on drop |
//! | `index.rs` | head/tail arithmetic across `u32` wraparound |
//! | [`squeue`], [`cqueue`] | SQE/CQE layouts and borrowed queue views |
//! | [`setup`] | [`Builder`], [`Params`], mapping the regions |
//! | [`submit`] | when and how to enter: [`Submitter`] |
//! | [`opcode`] | one builder per operation |
//! | [`register`], [`control`], [`probe`], [`buf_ring`] | registrations (files, buffers, ...; ring control), the opcode probe, provided-buffer rings |
//! | [`owned`] | the safe tier: operations that own their resources |
//! | `rt` (feature `rt`) | futures on the safe tier, a local executor |
//!
//! Below [`owned`], the raw tier mirrors the kernel and is `unsafe` where
//! the kernel keeps pointers:
//! [`SubmissionQueue::push`](squeue::SubmissionQueue::push) states exactly
//! what must outlive an operation.
//!
//! ```
//! use ring_core::{opcode, IoUring};
//!
//! # fn main() -> std::io::Result<()> {
//! let mut ring = IoUring::new(8)?;
//! let nop = opcode::Nop::new().build().user_data(42);
//! // SAFETY: a NOP points to no memory.
//! unsafe { ring.submission().push(&nop)? };
//! ring.submit_and_wait(1)?;
//! let cqe = ring.completion().next().expect("one completion");
//! assert_eq!(cqe.user_data(), 42);
//! assert_eq!(cqe.result(), Ok(0));
//! # Ok(()) }
//! ```
//!
//! [`Error`], [`SubmitError`], both tiers' push errors
//! ([`owned::PushError`], [`squeue::PushError`]) and [`buf_ring::BufError`]
//! convert into [`std::io::Error`], so `?` works in a function returning
//! [`std::io::Result`].

#![deny(missing_docs)]

pub mod buf_ring;
pub mod control;
pub mod cqueue;
mod error;
mod index;
mod mmap;
pub mod opcode;
pub mod owned;
pub mod probe;
pub mod register;
mod ring_id;
#[cfg(feature = "rt")]
pub mod rt;
pub mod setup;
pub mod squeue;
pub mod submit;
mod sys;
mod thread;
pub mod types;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use rustix::io_uring::IoringEnterFlags;

pub use error::{Error, Region};
pub use ring_id::RingId;
pub use rustix::io::Errno;
pub use setup::{Builder, Features, Params, SetupFlags};
pub use submit::{Spun, SubmitError, Submitter};

// The crate README's examples run as doctests, so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use cqueue::{CompletionQueue, RawCq};
use mmap::Mmap;
use squeue::{RawSq, SubmissionQueue};

/// An io_uring instance: the ring fd, its three mappings, and the state that
/// decides how to enter it.
///
/// Drop order: the mappings are unmapped first, then the fd is closed (field
/// order). Dropping a ring with operations in flight is the caller's
/// business in this raw tier: the kernel cancels them when the fd's last
/// reference goes, but memory they point to must be kept alive until then
/// (see [`SubmissionQueue::push`]).
///
/// The entry sizes are part of the type: `IoUring` has 64-byte SQEs and
/// 16-byte CQEs; [`Builder::sqe128`] and [`Builder::cqe32`] build an
/// `IoUring<squeue::Entry128, _>` / `IoUring<_, cqueue::Entry32>`, whose
/// queues take and yield those entries.
pub struct IoUring<S: squeue::EntryMarker = squeue::Entry, C: cqueue::EntryMarker = cqueue::Entry> {
    sq: RawSq,
    cq: RawCq,
    /// The fd given to enter: the ring fd or its registered index.
    enter_fd: RawFd,
    enter_flags: IoringEnterFlags,
    registered_index: Option<u32>,
    /// The [`thread`] number of the thread `registered_index` belongs to,
    /// 0 if none: on any other thread the index names another thread's
    /// registration, so enters there use the ring fd.
    registered_on: u64,
    id: RingId,
    params: Params,
    /// `io_uring_enter` calls made so far ([`Submitter::enter_calls`]).
    enters: core::cell::Cell<u64>,
    /// Under SQPOLL, the SQ tail up to which a submit call has already
    /// counted the entries as submitted (see `Submitter::counted`).
    sq_counted: core::cell::Cell<u32>,
    // The mappings are declared before `fd` so they are unmapped before the
    // fd closes.
    #[allow(dead_code)]
    sq_map: Mmap,
    #[allow(dead_code)]
    cq_map: Option<Mmap>,
    #[allow(dead_code)]
    sqe_map: Mmap,
    fd: OwnedFd,
    _entries: core::marker::PhantomData<(S, C)>,
}

// SAFETY: the raw pointers point into mappings this value owns; the ring
// may move to another thread as a whole. A registered ring fd index is
// used (and unregistered) only on the thread that registered it
// (`registered_on`), so a moved ring never enters, or unregisters, what
// another thread registered at that index. It is not `Sync`: the views and
// submitter assume a single user at a time (they take `&mut self` or are
// created from one).
unsafe impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> Send for IoUring<S, C> {}

impl IoUring {
    /// Creates a ring with default setup and at least `entries` SQ slots.
    pub fn new(entries: u32) -> Result<Self, Error> {
        Builder::default().build(entries)
    }

    /// A [`Builder`] for setup flags and sizes.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> IoUring<S, C> {
    /// This ring's identity: resources registered with it (buffer rings,
    /// fixed buffers, registered files) record it, and the safe tier refuses
    /// them on any other ring.
    pub fn id(&self) -> RingId {
        self.id
    }

    /// The parameters the kernel returned (sizes, flags, features).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A borrowed view of the submission queue.
    #[inline]
    pub fn submission(&mut self) -> SubmissionQueue<'_, S> {
        SubmissionQueue::new(self.sq)
    }

    /// A borrowed view of the completion queue.
    #[inline]
    pub fn completion(&mut self) -> CompletionQueue<'_, C> {
        CompletionQueue::new(self.cq)
    }

    /// The submitter (submit, wait, register).
    #[inline]
    pub fn submitter(&self) -> Submitter<'_> {
        let (enter_fd, enter_flags) = if self.index_usable_here() {
            (self.enter_fd, self.enter_flags)
        } else {
            (self.fd.as_raw_fd(), IoringEnterFlags::empty())
        };
        Submitter {
            fd: self.fd.as_fd(),
            enter_fd,
            enter_flags,
            setup_flags: self.params.flags(),
            features: self.params.features(),
            sq: &self.sq,
            cq: &self.cq,
            enters: &self.enters,
            sq_counted: &self.sq_counted,
        }
    }

    /// All three at once, for loops that push, submit and reap together.
    #[inline]
    pub fn split(
        &mut self,
    ) -> (
        Submitter<'_>,
        SubmissionQueue<'_, S>,
        CompletionQueue<'_, C>,
    ) {
        let sq = SubmissionQueue::new(self.sq);
        let cq = CompletionQueue::new(self.cq);
        (self.submitter(), sq, cq)
    }

    /// Submits published entries; see [`Submitter::submit`].
    #[inline(always)]
    pub fn submit(&self) -> Result<usize, SubmitError> {
        self.submitter().submit()
    }

    /// Submits and waits; see [`Submitter::submit_and_wait`].
    #[inline(always)]
    pub fn submit_and_wait(&self, want: usize) -> Result<usize, SubmitError> {
        self.submitter().submit_and_wait(want)
    }

    /// Registers the ring fd in this thread's registered-ring table
    /// (`IORING_REGISTER_RING_FDS`, Linux 5.18), so that later enters from
    /// this thread skip the fd lookup. The ring remembers the index and the
    /// thread: every [`Submitter`] made afterwards on this thread uses the
    /// index.
    ///
    /// The registration belongs to the calling thread (the index means
    /// something only in its table). On any other thread the ring enters
    /// by its fd, as if unregistered, and never touches that thread's
    /// table; calling this there registers it anew in that thread's table
    /// (the first registration stays with its thread until that thread
    /// exits, keeping the ring's kernel object alive until then).
    pub fn register_ring_fd(&mut self) -> Result<u32, Error> {
        if let Some(index) = self.registered_index {
            if self.registered_on == thread::current() {
                return Ok(index);
            }
        }
        let index = register::register_ring_fd(self.fd.as_fd())?;
        self.registered_index = Some(index);
        self.registered_on = thread::current();
        self.enter_fd = index as RawFd;
        self.enter_flags = IoringEnterFlags::REGISTERED_RING;
        Ok(index)
    }

    /// Undoes [`register_ring_fd`](Self::register_ring_fd). On another
    /// thread than the one that registered the ring, the ring only stops
    /// using the index: that thread's table cannot be reached from here,
    /// and the same index in this thread's table is another registration.
    pub fn unregister_ring_fd(&mut self) -> Result<(), Error> {
        if let Some(index) = self.registered_index.take() {
            let on = std::mem::replace(&mut self.registered_on, 0);
            self.enter_fd = self.fd.as_raw_fd();
            self.enter_flags = IoringEnterFlags::empty();
            if on == thread::current() {
                register::unregister_ring_fd(self.fd.as_fd(), index)?;
            }
        }
        Ok(())
    }

    /// The registered ring index enters from this thread use, if
    /// [`register_ring_fd`](Self::register_ring_fd) was called on this
    /// thread; `None` on any other thread.
    pub fn registered_ring_index(&self) -> Option<u32> {
        if self.index_usable_here() {
            self.registered_index
        } else {
            None
        }
    }

    /// Whether enters from the calling thread may use `enter_fd` and
    /// `enter_flags` as they are: the ring is not registered, or it is
    /// registered on this thread.
    #[inline(always)]
    fn index_usable_here(&self) -> bool {
        self.registered_on == 0 || self.registered_on == thread::current()
    }

    /// Enables a ring created with [`Builder::r_disabled`]
    /// (`IORING_REGISTER_ENABLE_RINGS`, Linux 5.10).
    pub fn enable(&self) -> Result<(), Error> {
        self.submitter().register_enable_rings()
    }

    /// A duplicate of the ring fd (`F_DUPFD_CLOEXEC`), for resources that
    /// must reach the ring after it is dropped (to unregister) and that
    /// keep its kernel object alive meanwhile.
    pub(crate) fn dup_fd(&self) -> Result<OwnedFd, Error> {
        rustix::io::fcntl_dupfd_cloexec(self.fd.as_fd(), 0).map_err(|errno| Error::Register {
            op: "F_DUPFD_CLOEXEC of the ring fd",
            errno,
        })
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> AsFd for IoUring<S, C> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> AsRawFd for IoUring<S, C> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> core::fmt::Debug for IoUring<S, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoUring")
            .field("fd", &self.fd)
            .field("params", &self.params)
            .field("registered_index", &self.registered_index)
            .finish_non_exhaustive()
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> Drop for IoUring<S, C> {
    fn drop(&mut self) {
        // A registered ring fd holds a reference to the ring until the thread
        // exits; drop it so closing `fd` really releases the ring.
        let _ = self.unregister_ring_fd();
    }
}
