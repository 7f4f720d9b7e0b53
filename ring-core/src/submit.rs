//! The submit/wait engine: when to call `io_uring_enter`, with which flags,
//! and how to read its result. It follows liburing's rules (queue.c):
//!
//! - enter only when there is something to submit, something to wait for,
//!   a CQ overflow to flush, or deferred task work to run (the SQ ring's
//!   `CQ_OVERFLOW` / `TASKRUN` flags, checked under SQPOLL too);
//! - under SQPOLL, enter to submit only when the SQ thread sleeps
//!   (`NEED_WAKEUP`, read after a full fence);
//! - retry `EINTR`, keeping the time already spent on a timed wait;
//! - report `EBUSY`/`EAGAIN` as [`SubmitError::CompletionQueueFull`].

use core::cell::Cell;
use core::sync::atomic::{fence, Ordering};
use core::time::Duration;
use std::time::Instant;

use rustix::fd::{BorrowedFd, RawFd};
use rustix::io::Errno;
use rustix::io_uring::{io_uring_getevents_arg, io_uring_ptr, IoringEnterFlags};

use crate::cqueue::RawCq;
use crate::setup::{Features, SetupFlags};
use crate::squeue::{RawSq, SQ_CQ_OVERFLOW, SQ_NEED_WAKEUP, SQ_TASKRUN};
use crate::sys;
use crate::types::Timespec;

/// Why an enter did not do what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// `EBUSY`/`EAGAIN`: the kernel cannot take more submissions until
    /// completions are reaped (the CQ and its overflow are full), or it could
    /// not allocate for them right now. Reap, then submit again; the entries
    /// not yet consumed stay queued.
    #[error("completion queue full: reap completions, then submit again")]
    CompletionQueueFull,
    /// The timeout of a timed wait expired before enough completions
    /// arrived. Entries submitted by the call stay submitted.
    #[error("timed out waiting for completions")]
    TimedOut,
    /// The running kernel lacks a feature this call needs.
    #[error("the running kernel does not support {0}")]
    Unsupported(&'static str),
    /// Any other error from `io_uring_enter`.
    #[error("io_uring_enter failed: {0}")]
    Os(Errno),
}

/// What [`Submitter::submit_and_spin`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spun {
    /// Entries submitted.
    pub submitted: usize,
    /// The spin ran out and the call waited in the kernel (it may have
    /// slept).
    pub waited: bool,
}

impl From<Errno> for SubmitError {
    #[inline]
    fn from(errno: Errno) -> Self {
        match errno {
            Errno::BUSY | Errno::AGAIN => SubmitError::CompletionQueueFull,
            Errno::TIME => SubmitError::TimedOut,
            other => SubmitError::Os(other),
        }
    }
}

impl From<SubmitError> for std::io::Error {
    /// Wraps the error so that `?` works in a function returning
    /// [`std::io::Result`], with the message of [`SubmitError`]. The
    /// [`kind`](std::io::Error::kind): `WouldBlock` for
    /// [`CompletionQueueFull`](SubmitError::CompletionQueueFull) (reap, then
    /// retry), `TimedOut`, `Unsupported`, and the errno's kind for
    /// [`Os`](SubmitError::Os), whose errno a downcast recovers
    /// (`err.get_ref()` then `downcast_ref::<SubmitError>()`).
    fn from(e: SubmitError) -> Self {
        let kind = match e {
            SubmitError::CompletionQueueFull => std::io::ErrorKind::WouldBlock,
            SubmitError::TimedOut => std::io::ErrorKind::TimedOut,
            SubmitError::Unsupported(_) => std::io::ErrorKind::Unsupported,
            SubmitError::Os(errno) => errno.kind(),
        };
        std::io::Error::new(kind, e)
    }
}

/// Submits and waits. Borrowed from [`IoUring::submitter`](crate::IoUring::submitter)
/// or [`IoUring::split`](crate::IoUring::split); it may be used while a
/// [`SubmissionQueue`](crate::squeue::SubmissionQueue) view is alive.
///
/// Entries pushed through a view reach the kernel only once the view has
/// published them ([`sync`](crate::squeue::SubmissionQueue::sync) or drop).
#[derive(Clone, Copy)]
pub struct Submitter<'a> {
    pub(crate) fd: BorrowedFd<'a>,
    /// The fd passed to enter: the ring fd, or its registered index.
    pub(crate) enter_fd: RawFd,
    /// `REGISTERED_RING` when the ring fd is registered on this thread,
    /// else empty.
    pub(crate) enter_flags: IoringEnterFlags,
    pub(crate) setup_flags: SetupFlags,
    pub(crate) features: Features,
    pub(crate) sq: &'a RawSq,
    pub(crate) cq: &'a RawCq,
    /// The ring's count of `io_uring_enter` calls.
    pub(crate) enters: &'a Cell<u64>,
    /// Under SQPOLL, the SQ tail up to which entries were counted.
    pub(crate) sq_counted: &'a Cell<u32>,
}

impl core::fmt::Debug for Submitter<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Submitter")
            .field("fd", &self.fd)
            .field("enter_fd", &self.enter_fd)
            .finish_non_exhaustive()
    }
}

impl<'a> Submitter<'a> {
    /// The fd to pass to `io_uring_enter`.
    #[inline(always)]
    fn enter_fd(&self) -> BorrowedFd<'a> {
        // SAFETY: `enter_fd` is either the ring's own fd, open for 'a, or
        // (with REGISTERED_RING) the ring's index in this thread's
        // registered-ring table: `IoUring::submitter` hands the index out
        // only on the thread that registered it, and a `Submitter` cannot
        // leave its thread (it borrows `Cell`s). The kernel interprets it,
        // rustix only passes the integer. It is never -1.
        unsafe { BorrowedFd::borrow_raw(self.enter_fd) }
    }

    /// `io_uring_enter` without an extended argument, counted.
    ///
    /// # Safety
    ///
    /// As [`sys::enter`], with this ring's `enter_fd`.
    #[inline(always)]
    unsafe fn enter(
        &self,
        to_submit: u32,
        want: u32,
        flags: IoringEnterFlags,
    ) -> Result<u32, Errno> {
        self.enters.set(self.enters.get().wrapping_add(1));
        // SAFETY: forwarded contract; `enter_fd` matches REGISTERED_RING
        // (see `enter_fd`).
        unsafe { sys::enter(self.enter_fd(), to_submit, want, flags) }
    }

    /// How many times this ring has called `io_uring_enter` (every call,
    /// whatever its flags or result, made through any [`Submitter`] of the
    /// ring). The submit path enters only when it must (see the module
    /// docs); this count is how a test or a profile can see that.
    #[inline]
    pub fn enter_calls(&self) -> u64 {
        self.enters.get()
    }

    /// Whether the kernel has completions or task work we can only get by
    /// entering with `GETEVENTS` (overflow flush, deferred task work).
    #[inline(always)]
    fn cq_needs_enter(&self) -> bool {
        self.sq.kflags().load(Ordering::Relaxed) & (SQ_CQ_OVERFLOW | SQ_TASKRUN) != 0
    }

    /// Under SQPOLL: whether the SQ thread sleeps and needs waking. The full
    /// fence pairs with the kernel's `smp_mb()` after it sets `NEED_WAKEUP`:
    /// either it sees our tail, or we see its flag.
    #[inline(always)]
    fn sq_needs_wakeup(&self) -> bool {
        fence(Ordering::SeqCst);
        self.sq.kflags().load(Ordering::Relaxed) & SQ_NEED_WAKEUP != 0
    }

    /// Whether the SQPOLL thread has fallen asleep and needs
    /// `IORING_ENTER_SQ_WAKEUP` (the same check the submit path makes, with
    /// its full fence).
    #[inline]
    pub fn sq_thread_sleeping(&self) -> bool {
        self.sq_needs_wakeup()
    }

    /// Works out the enter flags, or `None` if no syscall is needed.
    #[inline(always)]
    fn plan(&self, to_submit: u32, want: u32) -> Option<IoringEnterFlags> {
        let mut flags = self.enter_flags;
        let getevents = want > 0 || self.cq_needs_enter();
        if getevents {
            flags |= IoringEnterFlags::GETEVENTS;
        }
        if self.setup_flags.contains(SetupFlags::SQPOLL) {
            if to_submit > 0 && self.sq_needs_wakeup() {
                flags |= IoringEnterFlags::SQ_WAKEUP;
            } else if !getevents {
                return None;
            }
        } else if to_submit == 0 && !getevents {
            return None;
        }
        Some(flags)
    }

    /// Submits every published entry; does not wait. Returns how many were
    /// submitted.
    #[inline(always)]
    pub fn submit(&self) -> Result<usize, SubmitError> {
        self.submit_and_wait(0)
    }

    /// Submits every published entry and waits until at least `want`
    /// completions are ready (capped at the CQ size). Returns how many
    /// entries were submitted.
    ///
    /// A signal that interrupts the wait is retried; so is a wait cut short
    /// after the submission went through.
    #[inline(always)]
    pub fn submit_and_wait(&self, want: usize) -> Result<usize, SubmitError> {
        let want = self.cap_want(want);
        let mut to_submit = self.sq.pending();
        let mut submitted = 0usize;
        loop {
            let Some(flags) = self.plan(to_submit, want) else {
                return Ok(self.counted(submitted + to_submit as usize));
            };
            // SAFETY: every published SQE was pushed under `push`'s contract,
            // which makes its pointees valid until completion; `flags` has no
            // EXT_ARG; `enter_fd` matches REGISTERED_RING (see `enter_fd`).
            match unsafe { self.enter(to_submit, want, flags) } {
                Ok(n) => {
                    submitted += n as usize;
                    if want == 0 || self.cq.ready() >= want {
                        return Ok(self.counted(submitted));
                    }
                    // The submission went through but the wait was cut short
                    // (a signal): wait again, submitting nothing new.
                }
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            to_submit = self.sq.pending();
        }
    }

    /// How many entries a call submitted: what its enters consumed, or,
    /// under SQPOLL, the entries published since the last call counted
    /// them. An SQPOLL enter reports the count it was given whether or not
    /// the SQ thread has taken those entries yet (and the kernel's head can
    /// lag the completions of entries it took), so neither a sum of enter
    /// results nor the pending count says what a call submitted: each
    /// published entry is counted once, by the first call after its
    /// publication.
    #[inline(always)]
    fn counted(&self, entered: usize) -> usize {
        if self.setup_flags.contains(SetupFlags::SQPOLL) {
            let tail = self.sq.tail().load(Ordering::Relaxed);
            let n = tail.wrapping_sub(self.sq_counted.get());
            self.sq_counted.set(tail);
            n as usize
        } else {
            entered
        }
    }

    /// Submits every published entry, then polls for `want` completions for
    /// up to `spin` before waiting in the kernel as
    /// [`submit_and_wait`](Self::submit_and_wait) does. Returns how many
    /// entries were submitted and whether the spin ran out.
    ///
    /// While it polls it makes no syscall: it reads the CQ tail, and the SQ
    /// ring's `TASKRUN`/`CQ_OVERFLOW` flags, and enters (without waiting)
    /// only when one of those flags says completions are waiting to be
    /// posted. A ring with `defer_taskrun` needs `taskrun_flag` for that:
    /// without the flag its completions are posted only by an enter, so
    /// polling could see nothing, and such a ring waits at once, as with a
    /// zero `spin`.
    ///
    /// This trades CPU time for fewer sleeps: a thread that would sleep and
    /// be woken within `spin` stays on its core instead, and whoever posts
    /// its completion (another core's network receive path, say) does not
    /// have to wake it. A zero `spin` is `submit_and_wait` (and reports the
    /// spin as run out). Tests: `spinning_wait_*` in `tests/ring.rs`.
    pub fn submit_and_spin(&self, want: usize, spin: Duration) -> Result<Spun, SubmitError> {
        let cap = self.cap_want(want);
        // Deferred task work without the TASKRUN flag is posted only by an
        // enter: polling would see nothing, so such a ring waits at once.
        let blind = self.setup_flags.contains(SetupFlags::DEFER_TASKRUN)
            && !self.setup_flags.contains(SetupFlags::TASKRUN_FLAG);
        if spin.is_zero() || cap == 0 || blind {
            let submitted = self.submit_and_wait(want)?;
            return Ok(Spun {
                submitted,
                waited: cap > 0,
            });
        }
        // The submits below count what they submit (once each under
        // SQPOLL, see `counted`); their sum is this call's.
        let mut submitted = self.submit()?;
        // A spin too long for the clock to represent never runs out.
        let deadline = Instant::now().checked_add(spin);
        let mut polls = 0u32;
        loop {
            if self.cq.ready() >= cap {
                return Ok(Spun {
                    submitted,
                    waited: false,
                });
            }
            if self.cq_needs_enter() {
                // Deferred task work or an overflow: a non-waiting enter
                // with GETEVENTS (which `plan` adds) posts the completions.
                submitted += self.submit()?;
            } else {
                core::hint::spin_loop();
            }
            polls = polls.wrapping_add(1);
            // Reading the clock costs more than a poll: look every 32.
            if polls % 32 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        submitted += self.submit_and_wait(want)?;
        Ok(Spun {
            submitted,
            waited: true,
        })
    }

    /// Waits for at least `want` completions without submitting anything.
    #[inline]
    pub fn wait(&self, want: usize) -> Result<(), SubmitError> {
        let want = self.cap_want(want);
        loop {
            if want > 0 && self.cq.ready() >= want && !self.cq_needs_enter() {
                return Ok(());
            }
            let flags = self.enter_flags | IoringEnterFlags::GETEVENTS;
            // SAFETY: submits nothing (to_submit = 0); see `submit_and_wait`.
            match unsafe { self.enter(0, want, flags) } {
                Ok(_) if want == 0 || self.cq.ready() >= want => return Ok(()),
                Ok(_) | Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Submits every published entry and waits for `want` completions or
    /// until `timeout` has passed, whichever is first.
    ///
    /// Uses `IORING_ENTER_EXT_ARG` (Linux 5.11, `IORING_FEAT_EXT_ARG`), so no
    /// timeout SQE is spent. `EINTR` is retried with the time that is left.
    /// Returns the number submitted, or [`SubmitError::TimedOut`].
    #[inline]
    pub fn submit_and_wait_timeout(
        &self,
        want: usize,
        timeout: Duration,
    ) -> Result<usize, SubmitError> {
        self.submit_and_wait_with(want, timeout, None)
    }

    /// As [`submit_and_wait_timeout`](Self::submit_and_wait_timeout), and
    /// with `min_wait`: once `min_wait` has passed, return as soon as *any*
    /// completion is ready even if fewer than `want` are (batching with a
    /// latency bound). `min_wait` needs Linux 6.12
    /// (`IORING_FEAT_MIN_TIMEOUT`).
    pub fn submit_and_wait_with(
        &self,
        want: usize,
        timeout: Duration,
        min_wait: Option<Duration>,
    ) -> Result<usize, SubmitError> {
        if !self.features.contains(Features::EXT_ARG) {
            return Err(SubmitError::Unsupported("IORING_FEAT_EXT_ARG (Linux 5.11)"));
        }
        let min_wait_usec = match min_wait {
            None => 0,
            Some(_) if !self.features.contains(Features::MIN_TIMEOUT) => {
                return Err(SubmitError::Unsupported(
                    "IORING_FEAT_MIN_TIMEOUT (Linux 6.12)",
                ))
            }
            Some(d) => u32::try_from(d.as_micros()).unwrap_or(u32::MAX),
        };
        let want = self.cap_want(want);
        let deadline = Instant::now().checked_add(timeout);
        let mut submitted = 0usize;
        let mut left = timeout;
        loop {
            let to_submit = self.sq.pending();
            let ts = Timespec::from(left);
            let arg = io_uring_getevents_arg {
                min_wait_usec,
                ts: io_uring_ptr::new((&ts as *const Timespec).cast_mut().cast()),
                ..Default::default()
            };
            // A timed wait always waits, so `plan` always asks for an enter;
            // it adds SQ_WAKEUP when an SQPOLL thread sleeps.
            let flags = self.plan(to_submit, want).unwrap_or(self.enter_flags)
                | IoringEnterFlags::GETEVENTS
                | IoringEnterFlags::EXT_ARG;
            self.enters.set(self.enters.get().wrapping_add(1));
            // SAFETY: as in `submit_and_wait`; `arg` and the timespec it
            // points to live on this stack frame for the whole call.
            let res = unsafe { sys::enter_arg(self.enter_fd(), to_submit, want, flags, &arg) };
            match res {
                Ok(n) => {
                    submitted += n as usize;
                    let ready = self.cq.ready();
                    if ready >= want || (min_wait.is_some() && ready > 0) {
                        return Ok(self.counted(submitted));
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::TIME) => return Err(SubmitError::TimedOut),
                Err(e) => return Err(e.into()),
            }
            // Interrupted, or a wait cut short after submitting: go on with
            // the time that is left.
            left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return Err(SubmitError::TimedOut),
                },
                None => left,
            };
        }
    }

    /// Under SQPOLL: waits until the SQ has a free slot
    /// (`IORING_ENTER_SQ_WAIT`, Linux 5.10).
    pub fn squeue_wait(&self) -> Result<(), SubmitError> {
        let flags = self.enter_flags | IoringEnterFlags::SQ_WAIT;
        loop {
            // SAFETY: submits nothing; see `submit_and_wait`.
            match unsafe { self.enter(0, 0, flags) } {
                Ok(_) => return Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[inline(always)]
    fn cap_want(&self, want: usize) -> u32 {
        (want.min(self.cq.ring_entries as usize)) as u32
    }

    /// Completions ready to be reaped right now.
    #[inline]
    pub fn completions_ready(&self) -> usize {
        self.cq.ready() as usize
    }

    /// Whether completions wait in the kernel's overflow list (flushed by the
    /// next enter with `GETEVENTS`, which every wait here does).
    #[inline]
    pub fn cq_overflow_pending(&self) -> bool {
        self.sq.kflags().load(Ordering::Relaxed) & SQ_CQ_OVERFLOW != 0
    }
}
