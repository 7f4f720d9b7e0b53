//! Ring creation: setup flags, the [`Builder`], the kernel's returned
//! [`Params`], and mapping the three regions (SQ ring, CQ ring, SQE array).
//!
//! Invariant: every region is mapped with the length the kernel's offsets
//! imply, and one shared mapping serves both rings when the kernel reports
//! `IORING_FEAT_SINGLE_MMAP`.

use core::marker::PhantomData;
use core::sync::atomic::AtomicU32;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use rustix::io_uring::{
    io_uring_params, io_uring_ptr, IoringEnterFlags, IoringSetupFlags, IORING_OFF_CQ_RING,
    IORING_OFF_SQES, IORING_OFF_SQ_RING,
};

use crate::cqueue::{self, RawCq};
use crate::error::{Error, Region};
use crate::mmap::Mmap;
use crate::squeue::{self, RawSq};
use crate::{sys, IoUring};

bitflags::bitflags! {
    /// `IORING_SETUP_*` flags, as passed to and echoed by the kernel.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct SetupFlags: u32 {
        /// `IORING_SETUP_IOPOLL` (Linux 5.1): busy-poll for completions
        /// (O_DIRECT files on polled block devices only).
        const IOPOLL = 1 << 0;
        /// `IORING_SETUP_SQPOLL` (5.1): a kernel thread polls the SQ.
        const SQPOLL = 1 << 1;
        /// `IORING_SETUP_SQ_AFF` (5.1): pin the SQPOLL thread to a CPU.
        const SQ_AFF = 1 << 2;
        /// `IORING_SETUP_CQSIZE` (5.5): `cq_entries` is set explicitly.
        const CQSIZE = 1 << 3;
        /// `IORING_SETUP_CLAMP` (5.6): clamp sizes to the maximum.
        const CLAMP = 1 << 4;
        /// `IORING_SETUP_ATTACH_WQ` (5.6): share another ring's io-wq.
        const ATTACH_WQ = 1 << 5;
        /// `IORING_SETUP_R_DISABLED` (5.10): start disabled.
        const R_DISABLED = 1 << 6;
        /// `IORING_SETUP_SUBMIT_ALL` (5.18): go on submitting after an error.
        const SUBMIT_ALL = 1 << 7;
        /// `IORING_SETUP_COOP_TASKRUN` (5.19): no IPI for task work.
        const COOP_TASKRUN = 1 << 8;
        /// `IORING_SETUP_TASKRUN_FLAG` (5.19): flag pending task work in the
        /// SQ ring's flags.
        const TASKRUN_FLAG = 1 << 9;
        /// `IORING_SETUP_SQE128` (5.19): 128-byte SQEs.
        const SQE128 = 1 << 10;
        /// `IORING_SETUP_CQE32` (5.19): 32-byte CQEs.
        const CQE32 = 1 << 11;
        /// `IORING_SETUP_SINGLE_ISSUER` (6.0): one task submits.
        const SINGLE_ISSUER = 1 << 12;
        /// `IORING_SETUP_DEFER_TASKRUN` (6.1): run task work only when the
        /// issuer enters with `GETEVENTS`.
        const DEFER_TASKRUN = 1 << 13;
        /// `IORING_SETUP_NO_MMAP` (6.5): rings in user memory.
        const NO_MMAP = 1 << 14;
        /// `IORING_SETUP_REGISTERED_FD_ONLY` (6.5).
        const REGISTERED_FD_ONLY = 1 << 15;
        /// `IORING_SETUP_NO_SQARRAY` (6.6): no SQ index array.
        const NO_SQARRAY = 1 << 16;
        /// `IORING_SETUP_HYBRID_IOPOLL` (6.13): with `IOPOLL`, sleep for part
        /// of the expected completion time before polling.
        const HYBRID_IOPOLL = 1 << 17;
        /// `IORING_SETUP_CQE_MIXED` (6.18): 16- and 32-byte CQEs in one ring.
        /// Named so its bit is not unknown; [`Builder::build`] refuses it,
        /// since [`cqueue`](crate::cqueue) reads fixed-size CQEs.
        const CQE_MIXED = 1 << 18;
        /// Bits this crate does not name are kept as they are.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `IORING_FEAT_*` bits the kernel reports in its params.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Features: u32 {
        /// `IORING_FEAT_SINGLE_MMAP` (5.4): one mapping for both rings.
        const SINGLE_MMAP = 1 << 0;
        /// `IORING_FEAT_NODROP` (5.5): overflowing CQEs are kept, not dropped.
        const NODROP = 1 << 1;
        /// `IORING_FEAT_SUBMIT_STABLE` (5.5): SQE data is copied at submit.
        const SUBMIT_STABLE = 1 << 2;
        /// `IORING_FEAT_RW_CUR_POS` (5.6): offset -1 means current position.
        const RW_CUR_POS = 1 << 3;
        /// `IORING_FEAT_CUR_PERSONALITY` (5.6).
        const CUR_PERSONALITY = 1 << 4;
        /// `IORING_FEAT_FAST_POLL` (5.7): internal poll instead of io-wq.
        const FAST_POLL = 1 << 5;
        /// `IORING_FEAT_POLL_32BITS` (5.9).
        const POLL_32BITS = 1 << 6;
        /// `IORING_FEAT_SQPOLL_NONFIXED` (5.11).
        const SQPOLL_NONFIXED = 1 << 7;
        /// `IORING_FEAT_EXT_ARG` (5.11): timed waits through enter.
        const EXT_ARG = 1 << 8;
        /// `IORING_FEAT_NATIVE_WORKERS` (5.12).
        const NATIVE_WORKERS = 1 << 9;
        /// `IORING_FEAT_RSRC_TAGS` (5.13).
        const RSRC_TAGS = 1 << 10;
        /// `IORING_FEAT_CQE_SKIP` (5.17): `IOSQE_CQE_SKIP_SUCCESS` works.
        const CQE_SKIP = 1 << 11;
        /// `IORING_FEAT_LINKED_FILE` (5.17).
        const LINKED_FILE = 1 << 12;
        /// `IORING_FEAT_REG_REG_RING` (6.3): register through the registered
        /// ring fd.
        const REG_REG_RING = 1 << 13;
        /// `IORING_FEAT_RECVSEND_BUNDLE` (6.10): bundled recv/send.
        const RECVSEND_BUNDLE = 1 << 14;
        /// `IORING_FEAT_MIN_TIMEOUT` (6.12): `min_wait_usec`.
        const MIN_TIMEOUT = 1 << 15;
        /// `IORING_FEAT_RW_ATTR` (6.13).
        const RW_ATTR = 1 << 16;
        /// `IORING_FEAT_NO_IOWAIT` (6.15).
        const NO_IOWAIT = 1 << 17;
        /// Bits this crate does not name are kept as they are.
        const _ = !0;
    }
}

/// What the kernel returned from `io_uring_setup`.
#[derive(Clone, Copy)]
pub struct Params(pub(crate) io_uring_params);

impl Params {
    /// Number of SQ slots the kernel allocated.
    pub fn sq_entries(&self) -> u32 {
        self.0.sq_entries
    }
    /// Number of CQ slots the kernel allocated.
    pub fn cq_entries(&self) -> u32 {
        self.0.cq_entries
    }
    /// The setup flags in force.
    pub fn flags(&self) -> SetupFlags {
        SetupFlags::from_bits_retain(self.0.flags.bits())
    }
    /// The feature bits of the running kernel.
    pub fn features(&self) -> Features {
        Features::from_bits_retain(self.0.features.bits())
    }
    /// The SQPOLL thread's idle time in milliseconds.
    pub fn sq_thread_idle(&self) -> u32 {
        self.0.sq_thread_idle
    }
    /// The SQPOLL thread's CPU (with `SQ_AFF`).
    pub fn sq_thread_cpu(&self) -> u32 {
        self.0.sq_thread_cpu
    }
    /// Whether the kernel keeps overflowing completions (`FEAT_NODROP`).
    pub fn is_feature_nodrop(&self) -> bool {
        self.features().contains(Features::NODROP)
    }
}

impl core::fmt::Debug for Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Params")
            .field("sq_entries", &self.sq_entries())
            .field("cq_entries", &self.cq_entries())
            .field("flags", &self.flags())
            .field("features", &self.features())
            .finish()
    }
}

/// Configures and creates an [`IoUring`].
///
/// ```
/// # fn main() -> Result<(), ring_core::Error> {
/// let ring = ring_core::IoUring::builder()
///     .cq_entries(256)
///     .single_issuer()
///     .defer_taskrun()
///     .build(64)?;
/// assert_eq!(ring.params().cq_entries(), 256);
/// # Ok(()) }
/// ```
///
/// The entry sizes are type parameters, set by [`sqe128`](Self::sqe128) and
/// [`cqe32`](Self::cqe32): the ring [`build`](Self::build) returns takes and
/// yields entries of the size its slots have.
#[derive(Clone, Copy, Debug)]
pub struct Builder<S: squeue::EntryMarker = squeue::Entry, C: cqueue::EntryMarker = cqueue::Entry> {
    flags: u32,
    cq_entries: u32,
    sq_thread_idle: u32,
    sq_thread_cpu: u32,
    wq_fd: Option<RawFd>,
    _entries: PhantomData<fn() -> (S, C)>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            flags: 0,
            cq_entries: 0,
            sq_thread_idle: 0,
            sq_thread_cpu: 0,
            wq_fd: None,
            _entries: PhantomData,
        }
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> Builder<S, C> {
    /// The same settings with other entry types.
    fn with_entries<S2: squeue::EntryMarker, C2: cqueue::EntryMarker>(self) -> Builder<S2, C2> {
        Builder {
            flags: self.flags,
            cq_entries: self.cq_entries,
            sq_thread_idle: self.sq_thread_idle,
            sq_thread_cpu: self.sq_thread_cpu,
            wq_fd: self.wq_fd,
            _entries: PhantomData,
        }
    }

    fn flag(mut self, flag: SetupFlags) -> Self {
        self.flags |= flag.bits();
        self
    }

    /// `CQSIZE`: ask for `n` CQ slots (rounded up to a power of two; the
    /// default is twice the SQ size).
    pub fn cq_entries(mut self, n: u32) -> Self {
        self.cq_entries = n;
        self.flag(SetupFlags::CQSIZE)
    }

    /// `SQPOLL`: a kernel thread polls the SQ and sleeps after `idle_ms`
    /// milliseconds without work.
    pub fn sqpoll(mut self, idle_ms: u32) -> Self {
        self.sq_thread_idle = idle_ms;
        self.flag(SetupFlags::SQPOLL)
    }

    /// `SQ_AFF`: pin the SQPOLL thread to `cpu` (with [`sqpoll`](Self::sqpoll)).
    pub fn sqpoll_cpu(mut self, cpu: u32) -> Self {
        self.sq_thread_cpu = cpu;
        self.flag(SetupFlags::SQ_AFF)
    }

    /// `IOPOLL`: busy-poll for completions of polled O_DIRECT I/O.
    pub fn iopoll(self) -> Self {
        self.flag(SetupFlags::IOPOLL)
    }

    /// `CLAMP`: clamp too-large sizes to the kernel's maximum instead of
    /// failing.
    pub fn clamp(self) -> Self {
        self.flag(SetupFlags::CLAMP)
    }

    /// `ATTACH_WQ`: share the SQ thread, and with it the io-wq workers, of
    /// the SQPOLL ring `fd` (use together with [`sqpoll`](Self::sqpoll); the
    /// test `attach_wq_shares_workers` counts the threads).
    ///
    /// Without SQPOLL the kernel (since 5.12, when io-wq became per task)
    /// only checks that `fd` is a ring: the workers belong to the task that
    /// submits, so rings used from one thread share them anyway.
    pub fn attach_wq(mut self, fd: &impl AsRawFd) -> Self {
        self.wq_fd = Some(fd.as_raw_fd());
        self.flag(SetupFlags::ATTACH_WQ)
    }

    /// `R_DISABLED`: start the ring disabled, so that restrictions can be
    /// registered; enable it with [`IoUring::enable`].
    pub fn r_disabled(self) -> Self {
        self.flag(SetupFlags::R_DISABLED)
    }

    /// `SUBMIT_ALL`: keep submitting the batch after an SQE fails early.
    pub fn submit_all(self) -> Self {
        self.flag(SetupFlags::SUBMIT_ALL)
    }

    /// `COOP_TASKRUN`: run task work at the next kernel transition, without
    /// interrupting the task.
    pub fn coop_taskrun(self) -> Self {
        self.flag(SetupFlags::COOP_TASKRUN)
    }

    /// `TASKRUN_FLAG`: set `IORING_SQ_TASKRUN` when task work is pending (with
    /// `COOP_TASKRUN` or `DEFER_TASKRUN`).
    pub fn taskrun_flag(self) -> Self {
        self.flag(SetupFlags::TASKRUN_FLAG)
    }

    /// `SQE128`: 128-byte SQEs (for `URING_CMD`). The ring's submission
    /// queue then takes [`squeue::Entry128`].
    pub fn sqe128(self) -> Builder<squeue::Entry128, C> {
        self.flag(SetupFlags::SQE128).with_entries()
    }

    /// `CQE32`: 32-byte CQEs. The ring's completion queue then yields
    /// [`cqueue::Entry32`].
    pub fn cqe32(self) -> Builder<S, cqueue::Entry32> {
        self.flag(SetupFlags::CQE32).with_entries()
    }

    /// `SINGLE_ISSUER`: only one thread will submit.
    ///
    /// The kernel binds the ring to the thread that builds it (with
    /// [`r_disabled`](Self::r_disabled), to the one that enables it) and
    /// from then on refuses submissions, waits and registrations from any
    /// other thread with `EEXIST` (test
    /// `single_issuer_refuses_another_thread`). [`IoUring`] is `Send`, but
    /// build such a ring on the thread that will use it: moved to another
    /// one it cannot submit, and the safe tier's registered files and
    /// buffer rings dropped there cannot unregister (they keep the file
    /// open, or leak the memory).
    pub fn single_issuer(self) -> Self {
        self.flag(SetupFlags::SINGLE_ISSUER)
    }

    /// `DEFER_TASKRUN`: completions are processed only when the issuer waits
    /// (needs [`single_issuer`](Self::single_issuer)).
    pub fn defer_taskrun(self) -> Self {
        self.flag(SetupFlags::DEFER_TASKRUN)
    }

    /// `HYBRID_IOPOLL` (Linux 6.13): polled I/O that first sleeps for part of
    /// the expected completion time (sets [`iopoll`](Self::iopoll) too,
    /// which it needs).
    pub fn hybrid_iopoll(self) -> Self {
        self.flag(SetupFlags::IOPOLL)
            .flag(SetupFlags::HYBRID_IOPOLL)
    }

    /// `NO_MMAP` (Linux 6.5): the rings live in memory ring-core allocates
    /// and hands the kernel (anonymous mappings the ring owns) instead of
    /// memory mapped from the ring fd. The queues work as with mapped rings;
    /// [`IoUring::resize`] is refused for such a ring.
    pub fn no_mmap(self) -> Self {
        self.flag(SetupFlags::NO_MMAP)
    }

    /// `NO_SQARRAY`: no SQ index array; SQEs are consumed in order.
    pub fn no_sqarray(self) -> Self {
        self.flag(SetupFlags::NO_SQARRAY)
    }

    /// Raw `IORING_SETUP_*` bits, for setting several named flags at once.
    ///
    /// [`build`](Self::build) refuses, with [`Error::InvalidArgument`] and
    /// before any syscall, every bit this crate cannot set a ring up for:
    /// `REGISTERED_FD_ONLY`, the layout-changing `CQE_MIXED`, `SQE128` and
    /// `CQE32` (use [`sqe128`](Self::sqe128) / [`cqe32`](Self::cqe32), which
    /// set the ring's entry types), and every bit that [`SetupFlags`] does
    /// not name (a newer flag may change the layout, as `CQE_MIXED` did).
    pub fn raw_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }

    /// The flags set so far.
    pub fn setup_flags(&self) -> SetupFlags {
        SetupFlags::from_bits_retain(self.flags)
    }

    /// Creates the ring with at least `entries` SQ slots (a power of two,
    /// rounded up by the kernel) and maps it.
    pub fn build(&self, entries: u32) -> Result<IoUring<S, C>, Error> {
        if let Some(reason) = unmappable(self.flags) {
            return Err(Error::InvalidArgument(reason));
        }
        let sizes = SetupFlags::SQE128.bits() | SetupFlags::CQE32.bits();
        if self.flags & sizes != S::SETUP_FLAGS | C::SETUP_FLAGS {
            return Err(Error::InvalidArgument(
                "SQE128/CQE32 given as raw flags: use Builder::sqe128/cqe32, which give the ring its entry types",
            ));
        }
        let mut p = io_uring_params::default();
        p.flags = IoringSetupFlags::from_bits_retain(self.flags);
        p.cq_entries = self.cq_entries;
        p.sq_thread_idle = self.sq_thread_idle;
        p.sq_thread_cpu = self.sq_thread_cpu;
        if let Some(fd) = self.wq_fd {
            p.wq_fd = fd;
        }
        let no_mmap = if self.flags & SetupFlags::NO_MMAP.bits() != 0 {
            let (rings, sqes) = no_mmap_memory(entries, self.flags, self.cq_entries)?;
            p.cq_off.user_addr = io_uring_ptr::new(rings.as_ptr().cast());
            p.sq_off.user_addr = io_uring_ptr::new(sqes.as_ptr().cast());
            Some((rings, sqes))
        } else {
            None
        };
        // SAFETY: `p` is a live, writable io_uring_params for the call.
        // With NO_MMAP its two user addresses are the fresh anonymous
        // mappings just made, sized for the entry counts the kernel will
        // choose (and checked against its layout in `map_no_mmap`); the
        // IoUring built below owns them, and the kernel pins their pages for
        // as long as it uses them. With ATTACH_WQ, `wq_fd` is only a number that the kernel
        // looks up and checks to be an io_uring (EBADF/EINVAL otherwise) -
        // no memory of ours depends on it, and at worst this ring shares the
        // workers of whichever ring now has that number.
        let fd = unsafe { sys::setup(entries, &mut p) }.map_err(Error::Setup)?;
        match no_mmap {
            Some((rings, sqes)) => map_no_mmap(fd, p, rings, sqes),
            None => map(fd, p),
        }
    }
}

/// Why this crate refuses `flags`, if it does: flags that move the rings
/// out of kernel-allocated memory or change their layout, and bits
/// [`SetupFlags`] does not name (bits 0 to 18 are named), which might.
/// Refused instead of misreading the ring.
fn unmappable(flags: u32) -> Option<&'static str> {
    const REFUSED: [(u32, &str); 3] = [
        (
            SetupFlags::REGISTERED_FD_ONLY.bits(),
            "setup flag REGISTERED_FD_ONLY is not supported (an IoUring owns its ring fd)",
        ),
        (
            SetupFlags::CQE_MIXED.bits(),
            "setup flag CQE_MIXED is not supported (16- and 32-byte CQEs in one ring)",
        ),
        (
            1 << 19, // IORING_SETUP_SQE_MIXED
            "setup flag SQE_MIXED is not supported (64- and 128-byte SQEs in one ring)",
        ),
    ];
    const NAMED: u32 = (1 << 19) - 1;
    REFUSED
        .iter()
        .find(|(bit, _)| flags & bit != 0)
        .map(|&(_, reason)| reason)
        .or(if flags & !NAMED != 0 {
            Some("an unknown setup flag is not supported (it may change the ring layout)")
        } else {
            None
        })
}

/// Maps the regions of a freshly set-up ring and assembles the [`IoUring`].
fn map<S: squeue::EntryMarker, C: cqueue::EntryMarker>(
    fd: OwnedFd,
    p: io_uring_params,
) -> Result<IoUring<S, C>, Error> {
    let Regions {
        sq,
        cq,
        sq_map,
        cq_map,
        sqe_map,
    } = map_regions(fd.as_fd(), &p)?;
    Ok(assemble(fd, p, sq, cq, sq_map, cq_map, sqe_map))
}

/// The [`IoUring`] around a ring's fd, params and regions.
fn assemble<S: squeue::EntryMarker, C: cqueue::EntryMarker>(
    fd: OwnedFd,
    p: io_uring_params,
    sq: RawSq,
    cq: RawCq,
    sq_map: Mmap,
    cq_map: Option<Mmap>,
    sqe_map: Mmap,
) -> IoUring<S, C> {
    let enter_fd = fd.as_raw_fd();
    IoUring {
        sq,
        cq,
        enter_fd,
        enter_flags: IoringEnterFlags::empty(),
        registered_index: None,
        registered_on: 0,
        params: Params(p),
        enters: core::cell::Cell::new(0),
        // The SQ tail of a new ring is 0.
        sq_counted: core::cell::Cell::new(0),
        id: crate::RingId::next(),
        sq_map,
        cq_map,
        sqe_map,
        fd,
        _entries: PhantomData,
    }
}

/// A ring's three mappings and the queue pointers into them.
pub(crate) struct Regions {
    pub(crate) sq: RawSq,
    pub(crate) cq: RawCq,
    pub(crate) sq_map: Mmap,
    pub(crate) cq_map: Option<Mmap>,
    pub(crate) sqe_map: Mmap,
}

/// Maps the regions the kernel describes in `p` (after setup, or after
/// `IORING_REGISTER_RESIZE_RINGS`) and finds the queue fields in them.
pub(crate) fn map_regions(fd: BorrowedFd<'_>, p: &io_uring_params) -> Result<Regions, Error> {
    let flags = SetupFlags::from_bits_retain(p.flags.bits());
    let features = Features::from_bits_retain(p.features.bits());
    let sqe_shift = u32::from(flags.contains(SetupFlags::SQE128));
    let cqe_shift = u32::from(flags.contains(SetupFlags::CQE32));

    let sq_len = if flags.contains(SetupFlags::NO_SQARRAY) {
        // No array: the SQ ring needs only its header fields.
        (p.sq_off.flags + 4).max(p.sq_off.dropped + 4) as usize
    } else {
        p.sq_off.array as usize + p.sq_entries as usize * 4
    };
    let cq_len = p.cq_off.cqes as usize
        + (p.cq_entries as usize) * (core::mem::size_of::<cqueue::Entry>() << cqe_shift);
    let single = features.contains(Features::SINGLE_MMAP);
    let ring_len = if single { sq_len.max(cq_len) } else { sq_len };

    // SAFETY: IORING_OFF_SQ_RING is the SQ ring region, at least `ring_len`
    // long by the kernel's offsets (and, with SINGLE_MMAP, the CQ ring too).
    let sq_map =
        unsafe { Mmap::ring(fd, ring_len, IORING_OFF_SQ_RING) }.map_err(|errno| Error::Map {
            region: Region::SqRing,
            errno,
        })?;
    let cq_map = if single {
        None
    } else {
        // SAFETY: the CQ ring region, `cq_len` long by the kernel's offsets.
        Some(
            unsafe { Mmap::ring(fd, cq_len, IORING_OFF_CQ_RING) }.map_err(|errno| Error::Map {
                region: Region::CqRing,
                errno,
            })?,
        )
    };
    let sqes_len = (p.sq_entries as usize) * (core::mem::size_of::<squeue::Entry>() << sqe_shift);
    // SAFETY: the SQE array region, `sq_entries` SQEs of the configured size.
    let sqe_map =
        unsafe { Mmap::ring(fd, sqes_len, IORING_OFF_SQES) }.map_err(|errno| Error::Map {
            region: Region::Sqes,
            errno,
        })?;

    // SAFETY: the three mappings are the regions `p` describes, of the
    // lengths computed above from `p`.
    Ok(unsafe { regions_in(p, sq_map, cq_map, sqe_map) })
}

/// Finds the queue fields in a ring's mappings: `sq_map` holds the SQ ring
/// (and the CQ ring when `cq_map` is `None`), `sqe_map` the SQE array.
///
/// # Safety
///
/// The mappings must hold the regions `p` describes: every offset in
/// `p.sq_off`/`p.cq_off` plus what lies there (the SQ index array, the
/// CQEs, the SQEs) must be inside them.
unsafe fn regions_in(
    p: &io_uring_params,
    sq_map: Mmap,
    cq_map: Option<Mmap>,
    sqe_map: Mmap,
) -> Regions {
    let flags = SetupFlags::from_bits_retain(p.flags.bits());
    let sqe_shift = u32::from(flags.contains(SetupFlags::SQE128));
    let cqe_shift = u32::from(flags.contains(SetupFlags::CQE32));
    let cq_base = cq_map.as_ref().unwrap_or(&sq_map);
    // SAFETY: the offsets come from the kernel's params for these very
    // regions, lie within them (the caller's contract), and are 4-byte aligned
    // (8 for the CQE array); ring_mask/ring_entries are written once by the
    // kernel at setup and only read afterwards.
    let sq = unsafe {
        RawSq {
            head: sq_map.offset::<AtomicU32>(p.sq_off.head),
            tail: sq_map.offset::<AtomicU32>(p.sq_off.tail),
            flags: sq_map.offset::<AtomicU32>(p.sq_off.flags),
            dropped: sq_map.offset::<AtomicU32>(p.sq_off.dropped),
            ring_mask: *sq_map.offset::<u32>(p.sq_off.ring_mask),
            ring_entries: *sq_map.offset::<u32>(p.sq_off.ring_entries),
            sqes: sqe_map.as_ptr().cast(),
            sqe_shift,
        }
    };
    // SAFETY: as above, for the CQ ring region.
    let cq = unsafe {
        RawCq {
            head: cq_base.offset::<AtomicU32>(p.cq_off.head),
            tail: cq_base.offset::<AtomicU32>(p.cq_off.tail),
            overflow: cq_base.offset::<AtomicU32>(p.cq_off.overflow),
            ring_mask: *cq_base.offset::<u32>(p.cq_off.ring_mask),
            ring_entries: *cq_base.offset::<u32>(p.cq_off.ring_entries),
            cqes: cq_base.offset::<cqueue::Entry>(p.cq_off.cqes),
            cqe_shift,
        }
    };
    if !flags.contains(SetupFlags::NO_SQARRAY) {
        // Identity-map the SQ index array once, so `push` never touches it
        // (liburing does the same at setup).
        // SAFETY: the array has `sq_entries` u32 slots inside `sq_map`; the
        // kernel reads it only for entries we publish later.
        let array = unsafe { sq_map.offset::<u32>(p.sq_off.array) };
        for i in 0..p.sq_entries {
            // SAFETY: i < sq_entries, in bounds of the array.
            unsafe { array.add(i as usize).write(i) };
        }
    }
    Regions {
        sq,
        cq,
        sq_map,
        cq_map,
        sqe_map,
    }
}

/// The largest SQ and CQ the kernel allows (`IORING_MAX_ENTRIES`,
/// `IORING_MAX_CQ_ENTRIES`).
const MAX_SQ: u32 = 32768;
const MAX_CQ: u32 = 2 * MAX_SQ;
/// Room for the kernel's `struct io_rings` header before the CQEs (64 bytes
/// on 6.18; a page leaves room for it to grow).
const RINGS_HEADER: usize = 4096;

/// Memory for a `NO_MMAP` ring: the rings region (both rings, as the kernel
/// lays them out) and the SQE array, sized from the entry counts the kernel
/// will choose for `entries` and `b`'s settings.
fn no_mmap_memory(entries: u32, flags: u32, cq_entries: u32) -> Result<(Mmap, Mmap), Error> {
    let clamp = flags & SetupFlags::CLAMP.bits() != 0;
    let too_big = Error::InvalidArgument("too many entries for a NO_MMAP ring");
    let sq = match entries {
        0 => return Err(Error::InvalidArgument("a ring needs at least one entry")),
        n if n > MAX_SQ && !clamp => return Err(too_big),
        n => n.min(MAX_SQ).next_power_of_two(),
    };
    let cq = if flags & SetupFlags::CQSIZE.bits() != 0 {
        match cq_entries {
            n if n > MAX_CQ && !clamp => return Err(too_big),
            n => n.clamp(sq, MAX_CQ).next_power_of_two(),
        }
    } else {
        2 * sq
    };
    let cqe = 16usize << u32::from(flags & SetupFlags::CQE32.bits() != 0);
    let sqe = 64usize << u32::from(flags & SetupFlags::SQE128.bits() != 0);
    // Header, CQEs, cache-line padding, the SQ index array.
    let rings = RINGS_HEADER + cq as usize * cqe + 64 + sq as usize * 4;
    let sqes = sq as usize * sqe;
    let map =
        |len: usize, region| Mmap::anonymous(len).map_err(|errno| Error::Map { region, errno });
    Ok((map(rings, Region::SqRing)?, map(sqes, Region::Sqes)?))
}

/// Assembles a `NO_MMAP` ring from the memory it was set up in, after
/// checking that the kernel's layout fits that memory.
fn map_no_mmap<S: squeue::EntryMarker, C: cqueue::EntryMarker>(
    fd: OwnedFd,
    p: io_uring_params,
    rings: Mmap,
    sqes: Mmap,
) -> Result<IoUring<S, C>, Error> {
    let flags = SetupFlags::from_bits_retain(p.flags.bits());
    let cqe = 16usize << u32::from(flags.contains(SetupFlags::CQE32));
    let sqe = 64usize << u32::from(flags.contains(SetupFlags::SQE128));
    let cq_end = p.cq_off.cqes as usize + p.cq_entries as usize * cqe;
    let sq_end = if flags.contains(SetupFlags::NO_SQARRAY) {
        0
    } else {
        p.sq_off.array as usize + p.sq_entries as usize * 4
    };
    let header_end = [p.sq_off.dropped, p.sq_off.flags, p.cq_off.overflow]
        .iter()
        .map(|&o| o as usize + 4)
        .max()
        .unwrap_or(0);
    if cq_end.max(sq_end).max(header_end) > rings.len() || p.sq_entries as usize * sqe > sqes.len()
    {
        return Err(Error::InvalidArgument(
            "the kernel laid out a NO_MMAP ring larger than the memory ring-core gave it",
        ));
    }
    // SAFETY: with NO_MMAP both rings live in `rings` (offsets relative to
    // its start) and the SQEs in `sqes`, and every offset and array was just
    // checked to lie inside them.
    let Regions {
        sq,
        cq,
        sq_map,
        cq_map,
        sqe_map,
    } = unsafe { regions_in(&p, rings, None, sqes) };
    Ok(assemble(fd, p, sq, cq, sq_map, cq_map, sqe_map))
}
