//! The driver: a single-threaded handle to an owned ring that maps each
//! in-flight operation to the future (or stream) waiting for it.
//!
//! Invariants owned here:
//! - every operation pushed through a [`Driver`] carries a [`Route`] as
//!   its tag on the owned ring, so each of its completions names its
//!   route: the key of the future or stream waiting for it, or nobody
//!   ([`Route::default`]: the cancels and link timeouts the driver pushes
//!   itself, the operations a ring brought to [`Driver::from_ring`], and
//!   every completion of no operation, such as a message from another
//!   ring, whatever its `user_data`). Completions that name nobody, and
//!   those of an operation whose future was dropped ([`State::Abandoned`]),
//!   are dropped, which closes the descriptors they created and gives
//!   their buffers back;
//! - a key is free (and can be given to another future) only while no
//!   operation routed to it is in flight: a future dropped with its
//!   operation in flight leaves its key [`State::Abandoned`] until the
//!   operation's final completion, which frees it. So a route never names
//!   another future than its own;
//! - a key belongs to exactly one live future or stream from the moment it
//!   is allocated to the moment that future frees it (at its drop; a
//!   future that took its result keeps its key, marked taken, until then);
//!   the ring may free the token's slot earlier, so final completions wait
//!   in the key, not in the slot;
//! - no waker, completion or operation is dropped and no waker is woken
//!   while the `RefCell` is borrowed: they are moved out first, so a drop
//!   or a wake that re-enters the driver finds it free;
//! - a turn wakes every waker and drops every completion it hands out even
//!   if some of them panic, and resumes the first panic only once the
//!   borrow is over and its vectors are back ([`Deferred::run`]): one
//!   panicking waker loses no other future's wake-up;
//! - a stream's key is `ended` exactly when no operation routed to it is
//!   in flight (its final completion is queued), which is what
//!   [`Inner::abandon`] and a canceller look at; a stream with a bound
//!   ([`Throttle`]) is cancelled by the driver at most once per push, and
//!   only the `ECANCELED` final completion of that cancel is kept back
//!   (holding the operation) instead of ending the stream;
//! - a key waits with [`Wake::Task`] only if the future was polled with
//!   the very waker of that task of the attached runtime ([`Local`]), so
//!   queuing the index for that runtime wakes what the waker would have.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::pool::Pool;
use crate::owned::{
    op::AsyncCancel, op::LinkTimeout, Completion, Operation, OwnedBuf, PushError, Ring, Token,
};
use crate::{cqueue, Errno, Error, SubmitError};

/// A key's place in the free list when it is the last; also the key of
/// [`Route::default`], of a future or stream that holds no key, and of a
/// [`Canceller`](super::Canceller) that names nothing (never allocated:
/// see [`Inner::grow`]).
pub(super) const NO_KEY: u32 = u32::MAX;

/// The driver's tag for each operation it pushes: the key of the future
/// (or stream) that waits for its completions. The default (what
/// completions of no operation carry) is [`NO_KEY`]: nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Route(u32);

impl Default for Route {
    #[inline(always)]
    fn default() -> Self {
        Route(NO_KEY)
    }
}

/// The driver's owned ring: any operation, each tagged with its route.
type Tagged = Ring<Box<dyn Operation>, Route>;

/// A completion of the driver's ring.
pub(super) type Comp = Completion<Box<dyn Operation>, Route>;

/// Where the future (or stream) of one key is.
///
/// `repr(C, u8)`: its variant is a plain byte, read and written with one
/// instruction. Left to the compiler, the variant was folded into spare
/// values of the fields (a waker's pointer, the wake kind), and every
/// match decoded it with a subtract, a conditional move and a compare
/// (15 more instructions per NOP, measured).
#[repr(C, u8)]
pub(super) enum State {
    /// Free; the next free key.
    Free(u32),
    /// Its future exists but has not pushed yet; `cancel` if cancelled
    /// before the push (the push is then followed by a cancel).
    Unpushed { cancel: bool },
    /// In flight (single-shot), with its token: woken at the final
    /// completion.
    Waiting(Wake, Token),
    /// The final completion of an operation that created no descriptor
    /// and picked no buffer (most), waiting for its future's next poll:
    /// its entry and the operation, 32 bytes where the whole completion
    /// is 56, so both storing it and taking it out move less. The
    /// operation is taken out in place, not with the whole state; then
    /// `None`: taken, until the future's drop frees the key (without drop
    /// glue).
    Done(cqueue::Entry, Option<Box<dyn Operation>>),
    /// Any other final completion, waiting for its future's next poll.
    DoneWith(Comp),
    /// In flight (multishot): every completion is queued; `ended` once
    /// the final one is (no operation routed to the key is in flight
    /// then). `throttle` and `limit` bound the queue (see [`Throttle`]):
    /// they sit in what was padding after `ended`, so the state is no
    /// larger (checked below).
    Stream {
        queue: VecDeque<Comp>,
        waker: Wake,
        ended: bool,
        throttle: Throttle,
        /// Completions queued at which the operation is cancelled to be
        /// pushed again later; [`NO_LIMIT`]: never.
        limit: u32,
        token: Token,
    },
    /// Its future was dropped with the operation in flight (a cancel was
    /// pushed): every completion is dropped, and the final one frees the
    /// key.
    Abandoned,
}

// The stream's bound lives in the padding of `State::Stream`: a larger
// state would make every key, and every store of a state, larger.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<State>() == 80);

/// A stream's [`State::Stream::limit`] that never throttles.
pub(super) const NO_LIMIT: u32 = u32::MAX;

/// Where a stream is in bounding its queue (`Multi::with_backlog`).
///
/// Once a completion that is not the final one leaves `limit` completions
/// queued, the driver cancels the operation (`Open` → `Cancelling`). If
/// the operation's final completion is then `ECANCELED`, that completion
/// is the cancel's doing, not the stream's end: it is queued last with
/// the operation in it (`Parked`, and `ended`: nothing is in flight), and
/// the stream pushes the operation again once it has taken everything
/// before it. A user's cancel (`Cancelled`) makes that final completion
/// the stream's end again, and is never followed by a throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Throttle {
    /// Nothing done yet (below the bound, or no bound).
    Open,
    /// The bound was reached: a cancel of the operation waits in
    /// [`Inner::cancels`] for the start of the next turn (the turn that
    /// found it is reaping the ring), or is pushed.
    Cancelling,
    /// The cancel's `ECANCELED` came: the queue's last completion holds
    /// the operation, to be pushed again; it is not an item.
    Parked,
    /// The user cancelled the operation: its final completion ends the
    /// stream.
    Cancelled,
}

/// Whom a key wakes when its operation completes.
pub(super) enum Wake {
    /// Nobody (not polled since its waker was taken).
    None,
    /// A task of the runtime attached to the driver, by its index there:
    /// queued in [`Local::woken`] for that runtime, no waker cloned or
    /// woken.
    Task(usize),
    /// Any other waker.
    Waker(Waker),
}

/// The built-in runtime's fast path: the driver knows which of that
/// runtime's tasks is being polled and with which waker, so a future
/// polled with that very waker stores the task's index instead of a clone
/// of the waker, and its completion queues the index instead of waking.
/// At most one runtime is attached to a driver at a time; futures polled
/// by any other executor (or with any other waker) use their waker.
#[derive(Default)]
pub(super) struct Local {
    /// The attached runtime's id.
    owner: Option<usize>,
    /// The task that runtime is polling, with its waker's identity.
    current: Option<Current>,
    /// Tasks woken by completions, for the attached runtime to run.
    woken: Vec<usize>,
}

/// A task being polled, and who its waker is: the waker's data and
/// vtable pointers, which [`Waker::will_wake`] compares. Not a clone: the
/// runtime sets it only around a poll with that waker, which the runtime
/// holds for the whole poll, so the pointers name a live waker (no other
/// can take its address meanwhile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Current {
    task: usize,
    data: *const (),
    vtable: *const std::task::RawWakerVTable,
}

impl Current {
    pub(super) fn new(task: usize, waker: &Waker) -> Self {
        Current {
            task,
            data: waker.data(),
            vtable: waker.vtable(),
        }
    }

    /// Whether `waker` is this task's waker (as [`Waker::will_wake`]).
    #[inline]
    fn is(&self, waker: &Waker) -> bool {
        std::ptr::eq(waker.data(), self.data) && std::ptr::eq(waker.vtable(), self.vtable)
    }
}

pub(super) struct Entry {
    pub(super) state: State,
    /// Bumped when the key is freed or abandoned, so a stale
    /// [`Canceller`](super::Canceller) names nothing.
    pub(super) gen: u32,
}

/// A single-threaded handle to an owned ring: every operation of the safe
/// tier can be awaited from it ([`submit`](Self::submit) and the helpers
/// in [`ops`](super)). Clones are handles to the same ring.
///
/// Someone must drive it: the built-in [`Runtime`](super::Runtime) does, or
/// any executor can, by calling [`turn`](Self::turn) whenever the ring's fd
/// is readable or [`pushed`](Self::pushed) resolves (see the module docs).
///
/// Dropping the last handle (futures hold one too) drops the ring, which
/// cancels whatever is still in flight and reaps it before freeing it
/// ([`owned::Ring`](crate::owned::Ring)'s drop).
#[derive(Clone)]
pub struct Driver {
    pub(super) inner: Rc<RefCell<Inner>>,
}

pub(super) struct Inner {
    pub(super) entries: Vec<Entry>,
    free_head: u32,
    /// Entries pushed and not yet submitted.
    unsubmitted: bool,
    /// Operations pushed and not finally completed (cancels and link
    /// timeouts included).
    pub(super) pending: usize,
    /// Woken when something is pushed (an outside executor's driving task).
    submit_waker: Option<Waker>,
    /// Futures that found the submission queue full.
    room_waiters: Vec<Waker>,
    /// Cancels that found the submission queue full, pushed at the next turn.
    cancels: Vec<Token>,
    /// The attached runtime's view (see [`Local`]).
    local: Local,
    /// `turn`'s wakers and drops, kept for their capacity.
    scratch: Deferred,
    /// The allocations of the boxed operations futures took back.
    pub(super) pool: Pool,
    /// Last: dropped after every completion and waker above.
    ring: Tagged,
}

/// What `Inner` hands out to be woken or dropped once the borrow is over.
#[derive(Default)]
pub(super) struct Deferred {
    pub(super) wake: Vec<Waker>,
    pub(super) drop: Vec<Comp>,
}

impl Deferred {
    /// Wakes every waker and drops every completion, each even if another
    /// panicked: a waker's `wake` and a completion's drop (its buffer's)
    /// run code of the program's, and a wake skipped would leave its
    /// future's completion waiting in its key, never polled. Returns the
    /// first panic's payload, if any, for the caller to resume once the
    /// driver is whole again. Later ones are dropped where a panic of
    /// their drop is caught (a payload is the program's value too: its
    /// drop panicking here would leave wakers unwoken, or abort), and such
    /// a panic's own payload is forgotten (its drop could panic in turn).
    /// Leaves both vectors empty.
    #[must_use]
    pub(super) fn run(&mut self) -> Option<Box<dyn Any + Send>> {
        let mut first = None;
        let mut keep = |p: Box<dyn Any + Send>| match first {
            None => first = Some(p),
            Some(_) => {
                if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(p))) {
                    std::mem::forget(again);
                }
            }
        };
        while let Some(w) = self.wake.pop() {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| w.wake())) {
                keep(p);
            }
        }
        for c in self.drop.drain(..) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(c))) {
                keep(p);
            }
        }
        first
    }
}

/// Sets a key's state. The old one is usually trivial (free, unpushed,
/// waiting without a waker to drop): then it is neither read nor run
/// through drop glue (an out-of-line call, and a copy of the whole state,
/// on every assignment otherwise).
#[inline(always)]
pub(super) fn put(slot: &mut State, new: State) {
    if matches!(
        slot,
        State::Free(_)
            | State::Unpushed { .. }
            | State::Abandoned
            | State::Waiting(Wake::None | Wake::Task(_), _)
            | State::Done(_, None)
    ) {
        // Nothing to drop in these (no waker, no completion).
        std::mem::forget(std::mem::replace(slot, new));
    } else {
        *slot = new;
    }
}

/// Stores a final completion that carries a descriptor or a buffer. Out
/// of line: sharing the store of [`State::Done`] made every completion
/// write all of a whole completion's bytes.
#[cold]
#[inline(never)]
fn done_with(slot: &mut State, c: Comp) {
    put(slot, State::DoneWith(c));
}

/// Looks at a stream's queue after a completion was queued, if that was
/// the final one or if the queue is at the bound. At the bound, hands
/// back the operation's token for the driver to cancel (from
/// [`Inner::cancels`], at the start of the next turn: this one is reaping
/// the ring). The final completion of that cancel, `ECANCELED`, parks
/// the stream instead of ending it ([`Throttle`]).
///
/// Out of line and given nothing but the state (the caller pushes the
/// token): no NOP reaches it, but inlined it made every NOP 14
/// instructions longer (the turn's loop compiled worse), and given the
/// driver's list to push to, 4; as it is, 2 (callgrind, `rt_nop rt 8`,
/// docs/benchmarks.md).
#[cold]
#[inline(never)]
fn at_bound(state: &mut State) -> Option<Token> {
    let State::Stream {
        queue,
        ended,
        throttle,
        limit,
        token,
        ..
    } = state
    else {
        unreachable!("called on a stream's key")
    };
    let Some(last) = queue.back() else {
        unreachable!("called after a completion was queued")
    };
    if last.is_final() {
        debug_assert!(*ended);
        if *throttle == Throttle::Cancelling && last.result() == Err(Errno::CANCELED) {
            // The bound's cancel: the operation comes back in `last`, to
            // be pushed again. (Woken as at every completion: a stream
            // waiting with nothing queued pushes it again.)
            *throttle = Throttle::Parked;
        }
        None
    } else if *throttle == Throttle::Open && *limit != NO_LIMIT && queue.len() >= *limit as usize {
        *throttle = Throttle::Cancelling;
        Some(*token)
    } else {
        None
    }
}

/// A final completion taken apart for its future.
pub(super) struct Finished {
    pub(super) cqe: cqueue::Entry,
    pub(super) op: Box<dyn Operation>,
    pub(super) fd: Option<OwnedFd>,
    pub(super) buf: Option<OwnedBuf>,
}

/// What [`Inner::take_done`] found.
pub(super) enum Took {
    /// A final completion without descriptor or buffer: its entry and
    /// operation.
    Plain(cqueue::Entry, Box<dyn Operation>),
    /// That completion, already taken by an earlier poll.
    Taken,
    /// Any other final completion: left in place for
    /// [`Inner::take_done_with`].
    With,
    /// No final completion yet.
    NotYet,
}

impl Driver {
    /// A driver on a new ring with `entries` submission slots.
    pub fn new(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(Ring::new(entries)?))
    }

    /// A driver on an owned ring built with any options. Operations already
    /// in flight on it are completed and dropped by the driver.
    pub fn from_ring(ring: Ring) -> Self {
        // The operations already in flight complete through this driver:
        // count them, or their final completions take the count below zero.
        let inherited = ring.in_flight();
        // Their tags become the default route: nobody waits for them.
        let ring: Tagged = ring.retag();
        Driver {
            inner: Rc::new(RefCell::new(Inner {
                entries: Vec::new(),
                free_head: NO_KEY,
                unsubmitted: inherited > 0,
                pending: inherited,
                submit_waker: None,
                room_waiters: Vec::new(),
                cancels: Vec::new(),
                local: Local::default(),
                scratch: Deferred::default(),
                pool: Pool::default(),
                ring,
            })),
        }
    }

    /// A driver on `raw` with its fd registered on this thread (enters
    /// then skip the kernel's fd lookup) if the kernel can (Linux 5.18).
    /// The driver never leaves this thread (it is behind an `Rc`), so
    /// every enter, and the unregistration at the ring's drop, is made on
    /// the thread the registration belongs to.
    pub(super) fn from_registered_ring(mut raw: crate::IoUring) -> Self {
        // Refused by an older kernel: the ring works unregistered.
        let _ = raw.register_ring_fd();
        Self::from_ring(Ring::from_ring(raw))
    }

    /// Operations pushed and not finally completed, including the cancels
    /// and link timeouts the driver pushed itself.
    pub fn in_flight(&self) -> usize {
        self.inner.borrow().pending
    }

    /// Calls `f` with the raw ring, for registrations (buffer rings, files)
    /// and setup queries. `f` must not use this driver.
    pub fn with_raw<R>(&self, f: impl FnOnce(&crate::IoUring) -> R) -> R {
        f(self.inner.borrow().ring.raw())
    }

    /// Submits what futures pushed and hands every ready completion to
    /// its future (waking it). Never blocks. Returns how many completions
    /// it handed out.
    ///
    /// An interrupted enter (`EINTR`) and a kernel that takes no more
    /// submissions until completions are reaped, or is short of memory
    /// (`EAGAIN`, `EBUSY`), are not errors: what was pushed stays queued,
    /// and the next turn submits it. Any other error of `io_uring_enter`
    /// is returned (the same error, turn after turn, if it is the ring's
    /// state: see [`Runtime::block_on`](super::Runtime::block_on)).
    ///
    /// # Panics
    ///
    /// If a waker it wakes panics, or the drop of a completion it drops
    /// (one nobody waits for; its buffer's drop): it wakes every other
    /// waker and drops every other completion first, then resumes the
    /// first such panic. The driver keeps working.
    pub fn turn(&self) -> Result<usize, SubmitError> {
        self.turn_inner(None)
    }

    /// As [`turn`](Self::turn), but first waits for at least one
    /// completion, or `timeout`. Returns at once if nothing is in flight.
    ///
    /// # Panics
    ///
    /// As [`turn`](Self::turn).
    pub fn park(&self, timeout: Option<Duration>) -> Result<usize, SubmitError> {
        self.turn_inner(Some(timeout))
    }

    fn turn_inner(&self, wait: Option<Option<Duration>>) -> Result<usize, SubmitError> {
        let (n, out) = {
            let mut inner = self.inner.borrow_mut();
            let mut out = std::mem::take(&mut inner.scratch);
            let n = inner.turn(wait, &mut out);
            if out.wake.is_empty() && out.drop.is_empty() {
                // Nothing to wake or drop (the built-in runtime's usual
                // turn: its tasks are queued by index): the vectors go back
                // at once, without a second borrow. What `take` left owns
                // nothing (nothing can put a scratch back under this
                // borrow), and its drop glue is an out-of-line call.
                std::mem::forget(std::mem::replace(&mut inner.scratch, out));
                return n;
            }
            (n, out)
        };
        self.deliver(out);
        n
    }

    /// Wakes and drops what a turn handed out, after its borrow, and gives
    /// the vectors back; then resumes the first panic of a wake or a drop,
    /// if any. Out of line: inlined, its unwinding paths changed how the
    /// usual turn (nothing to wake or drop) was compiled, and cost it
    /// instructions.
    #[inline(never)]
    fn deliver(&self, mut out: Deferred) {
        let panicked = out.run();
        // Give the (now empty) vectors back for their capacity.
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            let left = std::mem::replace(&mut inner.scratch, out);
            drop(inner);
            if left.wake.capacity() == 0 && left.drop.capacity() == 0 {
                // The empty default `take` left: it owns nothing, and its
                // drop glue is an out-of-line call per turn.
                std::mem::forget(left);
            } else {
                drop(left); // a nested turn's, put back meanwhile
            }
        }
        if let Some(payload) = panicked {
            // Every other waker was woken and every completion dropped; the
            // borrow is over and the vectors are back: the driver is whole.
            std::panic::resume_unwind(payload);
        }
    }

    /// A future that resolves when a future has pushed an operation that
    /// is not yet submitted: an outside executor's driving task waits for
    /// it (and for the ring fd's readiness) and then calls
    /// [`turn`](Self::turn).
    pub fn pushed(&self) -> Pushed<'_> {
        Pushed { driver: self }
    }

    /// Attaches the runtime `id` (the fast path of [`Local`]) if no other
    /// is attached; returns whether it did. Only the attached runtime may
    /// take [`Local::woken`] ([`take_woken`](Self::take_woken)): the
    /// indices there are its tasks'.
    pub(super) fn attach(&self, id: usize) -> bool {
        let mut inner = self.inner.borrow_mut();
        if inner.local.owner.is_none() {
            inner.local.owner = Some(id);
        }
        inner.local.owner == Some(id)
    }

    /// Detaches the runtime `id`: tasks it has not yet taken from
    /// [`Local::woken`] are forgotten with it.
    pub(super) fn detach(&self, id: usize) {
        let old = match self.inner.try_borrow_mut() {
            Ok(mut inner) if inner.local.owner == Some(id) => std::mem::take(&mut inner.local),
            _ => return,
        };
        drop(old);
    }

    /// Sets the task the runtime `id` is polling, or none, if that runtime
    /// is attached; returns the previous one, to be restored after the
    /// poll, or `Err` if it set nothing (not attached: then no fast path,
    /// and the waker path is correct).
    pub(super) fn set_current(
        &self,
        id: usize,
        current: Option<Current>,
    ) -> Result<Option<Current>, ()> {
        match self.inner.try_borrow_mut() {
            Ok(mut inner) if inner.local.owner == Some(id) => {
                Ok(std::mem::replace(&mut inner.local.current, current))
            }
            _ => Err(()),
        }
    }

    /// Whether tasks were woken since the last [`take_woken`](Self::take_woken).
    /// For the attached runtime only (see [`attach`](Self::attach)).
    pub(super) fn has_woken(&self) -> bool {
        self.inner
            .try_borrow()
            .is_ok_and(|inner| !inner.local.woken.is_empty())
    }

    /// Moves the tasks woken since the last call into `into` (empty). For
    /// the attached runtime only: another runtime on this driver would
    /// take the attached one's task indices as its own, waking its own
    /// task of that index, and the attached one's never.
    pub(super) fn take_woken(&self, into: &mut Vec<usize>) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            // Usually empty (every other look of the runtime's loop): then
            // nothing to swap.
            if !inner.local.woken.is_empty() {
                std::mem::swap(&mut inner.local.woken, into);
            }
        }
    }
}

/// See [`Driver::pushed`].
#[must_use = "futures do nothing unless polled"]
pub struct Pushed<'a> {
    driver: &'a Driver,
}

impl std::future::Future for Pushed<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let old;
        {
            let mut inner = self.driver.inner.borrow_mut();
            if inner.unsubmitted || !inner.cancels.is_empty() || !inner.room_waiters.is_empty() {
                return Poll::Ready(());
            }
            old = inner.submit_waker.replace(cx.waker().clone());
        }
        drop(old);
        Poll::Pending
    }
}

impl Inner {
    /// A new key, in state [`State::Unpushed`].
    #[inline]
    pub(super) fn alloc(&mut self) -> u32 {
        let key = self.free_head;
        if key == NO_KEY {
            return self.grow();
        }
        let e = &mut self.entries[key as usize];
        let State::Free(next) = e.state else {
            unreachable!("the free list holds free keys")
        };
        self.free_head = next;
        put(&mut e.state, State::Unpushed { cancel: false });
        key
    }

    /// Sets the state of `key` once its future has pushed: the key is
    /// [`State::Unpushed`] (allocated by that future, which holds the
    /// borrow from the check to the push), so the old state holds nothing
    /// to drop and is neither read nor matched ([`put`] looks at it through
    /// a jump table). Hands the new state over with `f`, built where it
    /// goes: passed by value, the whole 72-byte state was built on the
    /// stack and copied.
    #[inline(always)]
    fn set_pushed(&mut self, key: u32, f: impl FnOnce() -> State) {
        let slot = &mut self.entries[key as usize].state;
        debug_assert!(matches!(slot, State::Unpushed { .. }));
        // Nothing to drop in an unpushed state (no waker, no completion).
        std::mem::forget(std::mem::replace(slot, f()));
    }

    /// A new key at the end (the free list is empty).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> u32 {
        let key = u32::try_from(self.entries.len())
            .ok()
            .filter(|&k| k != NO_KEY)
            .expect("fewer than 2^32 - 1 futures");
        self.entries.push(Entry {
            state: State::Unpushed { cancel: false },
            gen: 0,
        });
        key
    }

    /// Frees `key`, returning what it held (to be dropped after the borrow).
    #[inline]
    pub(super) fn free(&mut self, key: u32) -> State {
        let e = &mut self.entries[key as usize];
        e.gen = e.gen.wrapping_add(1);
        let old = std::mem::replace(&mut e.state, State::Free(self.free_head));
        self.free_head = key;
        old
    }

    /// Hands back the final completion of `key` if it has arrived and
    /// carries no descriptor or buffer ([`State::Done`]), taking the
    /// operation out in place and leaving the entry `Done(_, None)`: taken.
    /// The key stays its future's until the future's drop frees it
    /// ([`release_taken`](Self::release_taken)), so taking a result writes
    /// nothing to the future itself: a future moved right after it
    /// returned (out of a `Vec`, as `select_all` does) is not read back
    /// through a store still on its way to the cache (a store-forwarding
    /// stall: 24% of the samples in rt_nop's join loop, docs/benchmarks.md).
    #[inline]
    pub(super) fn take_done(&mut self, key: u32) -> Took {
        match &mut self.entries[key as usize].state {
            State::Done(cqe, op) => match op.take() {
                Some(op) => Took::Plain(*cqe, op),
                None => Took::Taken,
            },
            State::DoneWith(_) => Took::With,
            _ => Took::NotYet,
        }
    }

    /// Frees `key` if its future took its result ([`Took::Plain`]);
    /// otherwise changes nothing and returns `false`.
    #[inline]
    pub(super) fn release_taken(&mut self, key: u32) -> bool {
        let free_head = self.free_head;
        let e = &mut self.entries[key as usize];
        if !matches!(e.state, State::Done(_, None)) {
            return false;
        }
        put(&mut e.state, State::Free(free_head));
        e.gen = e.gen.wrapping_add(1);
        self.free_head = key;
        true
    }

    /// Frees `key`, which is in [`State::DoneWith`], handing back its
    /// completion taken apart.
    pub(super) fn take_done_with(&mut self, key: u32) -> Finished {
        // `c` is dropped here, under the borrow, only once emptied: its
        // operation, descriptor and buffer go to the future (its tag is a
        // `Copy` route), so its drop runs nothing.
        let State::DoneWith(mut c) = self.free(key) else {
            unreachable!("called on a DoneWith key")
        };
        let Some(op) = c.take_boxed() else {
            unreachable!("a final completion carries its operation")
        };
        Finished {
            cqe: *c.cqe(),
            op,
            fd: c.take_fd(),
            buf: c.take_buf(),
        }
    }

    /// Whom to wake for a future polled with `cx`: the attached runtime's
    /// task by index if `cx` carries that task's own waker, else a clone.
    #[inline]
    pub(super) fn wake_for(&self, cx: &Context<'_>) -> Wake {
        match self.task_for(cx) {
            Some(task) => Wake::Task(task),
            None => Wake::Waker(cx.waker().clone()),
        }
    }

    /// The attached runtime's task whose very waker `cx` carries, if any.
    /// Runs no executor code (compares pointers, clones nothing).
    #[inline]
    fn task_for(&self, cx: &Context<'_>) -> Option<usize> {
        match &self.local.current {
            Some(c) if c.is(cx.waker()) => Some(c.task),
            _ => None,
        }
    }

    /// Sets the state of `key` once its future (or stream) has pushed:
    /// `state` given whom to wake. The runtime's own task is named by
    /// index; any other waker goes through
    /// [`set_pushed_then_waker`](Self::set_pushed_then_waker), so that
    /// nothing from the push to the state saying so may unwind.
    #[inline(always)]
    pub(super) fn set_pushed_for(
        &mut self,
        key: u32,
        cx: &Context<'_>,
        state: impl FnOnce(Wake) -> State,
    ) {
        match self.task_for(cx) {
            Some(t) => self.set_pushed(key, || state(Wake::Task(t))),
            None => self.set_pushed_then_waker(key, || state(Wake::None), cx),
        }
    }

    /// [`set_pushed`](Self::set_pushed) for a future whose waker is not a
    /// task of the attached runtime: `state` is stored first, waking
    /// nobody, and only then is the waker cloned into it. In that order
    /// because the clone runs the executor's code, which may unwind: from
    /// the push on, the key must say that an operation is in flight, or
    /// the future's drop in that unwind frees the key for the next future,
    /// which would get this operation's completion (and unbox it as its
    /// own type).
    #[cold]
    #[inline(never)]
    fn set_pushed_then_waker(&mut self, key: u32, state: impl FnOnce() -> State, cx: &Context<'_>) {
        self.set_pushed(key, state);
        let waker = cx.waker().clone();
        if let State::Waiting(w, _) | State::Stream { waker: w, .. } =
            &mut self.entries[key as usize].state
        {
            *w = Wake::Waker(waker);
        }
    }

    /// Whether `wake` still wakes what `cx` asks to be woken.
    #[inline]
    pub(super) fn wakes(&self, wake: &Wake, cx: &Context<'_>) -> bool {
        match wake {
            Wake::None => false,
            Wake::Task(t) => {
                matches!(&self.local.current, Some(c) if c.task == *t && c.is(cx.waker()))
            }
            Wake::Waker(w) => w.will_wake(cx.waker()),
        }
    }

    /// Makes `key`'s (waiting or streaming) future wake what `cx` asks to
    /// be woken; hands back the one it replaced, to drop after the borrow.
    #[inline]
    pub(super) fn rewake(&mut self, key: u32, cx: &Context<'_>) -> Option<Wake> {
        let (State::Waiting(now, _) | State::Stream { waker: now, .. }) =
            &self.entries[key as usize].state
        else {
            return None;
        };
        if self.wakes(now, cx) {
            return None;
        }
        let new = self.wake_for(cx);
        let (State::Waiting(now, _) | State::Stream { waker: now, .. }) =
            &mut self.entries[key as usize].state
        else {
            return None;
        };
        Some(std::mem::replace(now, new))
    }

    /// Counts a push; hands back the outside executor's driving task, to
    /// be woken after the borrow.
    #[inline]
    fn pushed(&mut self) -> Option<Waker> {
        self.pending += 1;
        self.unsubmitted = true;
        self.submit_waker.take()
    }

    /// Pushes `op` for `key` (optionally with a link timeout). On a full
    /// queue the waker is kept and the operation handed back.
    #[inline]
    pub(super) fn push<T: Operation>(
        &mut self,
        key: u32,
        op: T,
        timeout: Option<Duration>,
        cx: &mut Context<'_>,
        driving: &mut Option<Waker>,
    ) -> Result<Token, PushError<T>> {
        let route = Route(key);
        let pushed = match timeout {
            None => {
                let Inner { ring, pool, .. } = self;
                ring.push_tagged_with(op, route, &mut |op| pool.boxed(op))
                    .map_err(|e| e.map(|(op, _)| op))
            }
            Some(t) => self.push_with_timeout(op, route, t).inspect(|_| {
                // The link timeout: at most one driving waker (the later
                // take finds none).
                *driving = self.pushed();
            }),
        };
        match pushed {
            Ok(token) => {
                if let Some(w) = self.pushed() {
                    *driving = Some(w);
                }
                Ok(token)
            }
            Err(PushError::Full(op)) => {
                self.room_waiters.push(cx.waker().clone());
                *driving = self.submit_waker.take();
                Err(PushError::Full(op))
            }
            Err(e) => Err(e),
        }
    }

    /// Pushes `op` with `route`, linked to a timeout nobody waits for.
    #[cold]
    fn push_with_timeout<T: Operation>(
        &mut self,
        op: T,
        route: Route,
        after: Duration,
    ) -> Result<Token, PushError<T>> {
        let chain: [(Box<dyn Operation>, Route); 2] = [
            (Box::new(op), route),
            (Box::new(LinkTimeout::new(after)), Route::default()),
        ];
        match self.ring.push_chain_tagged(chain) {
            Ok([first, _]) => Ok(first),
            Err(e) => Err(e.map(|[(op, _), _]| {
                let any: Box<dyn std::any::Any> = op;
                match any.downcast::<T>() {
                    Ok(op) => *op,
                    Err(_) => unreachable!("the chain comes back as it was given"),
                }
            })),
        }
    }

    /// Pushes a cancel of `token`, whose completion nobody waits for; if
    /// the queue is full it is pushed at the next turn. Hands back the
    /// outside executor's driving task, to be woken after the borrow.
    pub(super) fn cancel(&mut self, token: Token) -> Option<Waker> {
        match self.ring.push(AsyncCancel::token(token)) {
            Ok(_) => self.pushed(),
            Err(_) => {
                self.cancels.push(token);
                self.submit_waker.take()
            }
        }
    }

    /// Gives up `key` for its future's drop, returning what it held (to be
    /// dropped after the borrow) and the driving task to wake. If its
    /// operation is in flight, the operation is cancelled and the key
    /// stays [`State::Abandoned`] until its final completion (no other
    /// future may get it while completions routed to it can come);
    /// otherwise it is freed.
    pub(super) fn abandon(&mut self, key: u32) -> (State, Option<Waker>) {
        let e = &mut self.entries[key as usize];
        let in_flight = match e.state {
            State::Waiting(_, t)
            | State::Stream {
                ended: false,
                token: t,
                ..
            } => t,
            _ => return (self.free(key), None),
        };
        e.gen = e.gen.wrapping_add(1);
        let old = std::mem::replace(&mut e.state, State::Abandoned);
        (old, self.cancel(in_flight))
    }

    fn turn(
        &mut self,
        wait: Option<Option<Duration>>,
        out: &mut Deferred,
    ) -> Result<usize, SubmitError> {
        if !self.cancels.is_empty() {
            for token in std::mem::take(&mut self.cancels) {
                out.wake.extend(self.cancel(token));
            }
        }
        let entered = match wait {
            Some(_) if self.pending == 0 => self.ring.submit().map(drop),
            Some(None) => self.ring.submit_and_wait(1).map(drop),
            Some(Some(t)) => self.ring.submit_and_wait_timeout(1, t).map(drop),
            // Makes no syscall unless something is queued or the ring's
            // flags say completions wait to be posted (a `defer_taskrun`
            // ring's task work, an overflow).
            None => self.ring.submit().map(drop),
        };
        match entered {
            Ok(()) | Err(SubmitError::TimedOut) => self.unsubmitted = false,
            // An interrupted wait, and a kernel that wants completions reaped
            // first, are not errors of the driver: the entries stay queued
            // and the next turn submits them.
            Err(SubmitError::CompletionQueueFull | SubmitError::Os(Errno::INTR)) => {}
            Err(e) => return Err(e),
        }
        let mut n = 0;
        let Inner {
            ring,
            entries,
            free_head,
            pending,
            local,
            cancels,
            ..
        } = self;
        for c in ring.completions() {
            n += 1;
            let fin = c.is_final();
            if fin {
                *pending -= 1;
            }
            // The owned ring gives a completion of no operation (a message,
            // whose user_data is the sender's value with bit 63 set and can
            // look like any token) the default route, which names no key.
            let key = c.tag().0;
            let Some(e) = entries.get_mut(key as usize) else {
                out.drop.push(c);
                continue;
            };
            let wake = match &mut e.state {
                State::Waiting(w, _) if fin => {
                    let w = std::mem::replace(w, Wake::None);
                    match c.into_plain() {
                        Ok((cqe, op)) => put(&mut e.state, State::Done(cqe, Some(op))),
                        Err(c) => done_with(&mut e.state, c),
                    }
                    w
                }
                State::Stream {
                    queue,
                    waker,
                    ended,
                    limit,
                    ..
                } => {
                    *ended |= fin;
                    queue.push_back(c);
                    let w = std::mem::replace(waker, Wake::None);
                    // Out of line, see there.
                    if fin || queue.len() >= *limit as usize {
                        if let Some(t) = at_bound(&mut e.state) {
                            cancels.push(t);
                        }
                    }
                    w
                }
                State::Abandoned if fin => {
                    put(&mut e.state, State::Free(*free_head));
                    *free_head = key;
                    out.drop.push(c);
                    continue;
                }
                // A single-shot future ignores the completions before the
                // final one (a zero-copy send's result): they are dropped.
                _ => {
                    out.drop.push(c);
                    continue;
                }
            };
            match wake {
                Wake::None => {}
                Wake::Task(t) => {
                    // Consecutive completions of one task's futures queue
                    // it once; the runtime drops other repeats.
                    if local.owner.is_some() && local.woken.last() != Some(&t) {
                        local.woken.push(t);
                    }
                }
                Wake::Waker(w) => out.wake.push(w),
            }
        }
        if n > 0 && !self.room_waiters.is_empty() {
            out.wake.append(&mut self.room_waiters);
        }
        Ok(n)
    }
}

impl AsFd for Driver {
    /// The ring's fd: readable when completions are ready (register it
    /// with an outside executor's reactor).
    fn as_fd(&self) -> BorrowedFd<'_> {
        let fd = self.inner.borrow().ring.raw().as_raw_fd();
        // SAFETY: the ring (and its fd) lives as long as `self.inner`, which
        // `self` keeps alive for the borrow's lifetime.
        unsafe { BorrowedFd::borrow_raw(fd) }
    }
}

impl AsRawFd for Driver {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.borrow().ring.raw().as_raw_fd()
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.try_borrow() {
            Ok(inner) => f
                .debug_struct("Driver")
                .field("in_flight", &inner.pending)
                .finish_non_exhaustive(),
            Err(_) => f.debug_struct("Driver").finish_non_exhaustive(),
        }
    }
}
