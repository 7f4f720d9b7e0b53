//! The owning ring: pushes operations by value, hands them back with their
//! final completions, and on drop cancels and reaps (or leaks) whatever is
//! still in flight.
//!
//! Invariants owned here:
//! - every entry this ring publishes was built from an operation that the
//!   table holds until its final completion;
//! - the raw ring is reachable only by shared reference, through which
//!   nothing can be pushed;
//! - the mapping and the table outlive the kernel's use of them: `Drop`
//!   reaps first, leaks what it cannot reap, and only then lets the fields
//!   drop.

use std::mem::ManuallyDrop;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use super::completion::Completion;
use super::ops::{AsyncCancel, LinkTimeout};
use super::table::Table;
use super::{Operation, PushError, Store, Token};
use crate::opcode::{self, CancelBy};
use crate::squeue::{Flags, SubmissionQueue};
use crate::{cqueue, Error, IoUring, RingId, SubmitError, Submitter};

/// The `user_data` of the cancel that `Drop` pushes; never a token (bit 63
/// is set).
const DROP_CANCEL: u64 = u64::MAX;

/// An io_uring that owns its in-flight operations. See the module docs.
///
/// `S` is what it stores per operation: `Box<dyn Operation>` (the default,
/// made with [`new`](Ring::new)), or one operation type (made with
/// [`typed`](Ring::typed)).
///
/// `T` is the user's tag per operation (default `()`): given with
/// [`push_tagged`](Ring::push_tagged), kept with the operation, and carried
/// by each of its completions ([`Completion::tag`]), so a program needs no
/// table of its own from [`Token`] to what the operation is for. A tag is
/// cloned for every completion that is not the final one (multishot,
/// zero-copy), so make it something cheap to clone: an index, a small
/// enum, an `Rc`. Its `Default` is what [`push`](Ring::push) gives and
/// what a completion of no operation (a message from another ring)
/// carries.
///
/// ```
/// use ring_core::owned::{op, Ring};
/// # fn main() -> std::io::Result<()> {
/// #[derive(Clone, Debug, Default, PartialEq)]
/// enum Why { #[default] Unknown, Tick, Deadline(u32) }
/// let mut ring: Ring<Box<dyn ring_core::owned::Operation>, Why> = Ring::tagged(8)?;
/// ring.push_tagged(op::Timeout::new(std::time::Duration::from_millis(1)).multishot(2), Why::Tick)?;
/// ring.push_tagged(op::Nop, Why::Deadline(7))?;
/// let mut seen = Vec::new();
/// while seen.len() < 3 {
///     ring.submit_and_wait(1)?;
///     seen.extend(ring.completions().map(|c| c.tag().clone()));
/// }
/// assert_eq!(seen.iter().filter(|w| **w == Why::Tick).count(), 2);
/// assert!(seen.contains(&Why::Deadline(7)));
/// # Ok(()) }
/// ```
pub struct Ring<S: Store = Box<dyn Operation>, T: Clone + Default + 'static = ()> {
    table: Table<S, T>,
    /// `ring.id()`, kept at hand for the push-time resource check.
    id: RingId,
    drop_timeout: Duration,
    // Declared last: dropped after `Drop` has reaped (or leaked) every
    // operation.
    ring: IoUring,
}

impl Ring {
    /// A ring with `entries` SQ slots and default setup, taking any
    /// operation (each boxed).
    pub fn new(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(IoUring::new(entries)?))
    }
}

impl<O: Operation> Ring<O> {
    /// A ring with `entries` SQ slots and default setup that stores
    /// operations of type `O` inline.
    pub fn typed(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(IoUring::new(entries)?))
    }
}

impl<T: Clone + Default + 'static> Ring<Box<dyn Operation>, T> {
    /// A ring with `entries` SQ slots and default setup, taking any
    /// operation (each boxed) with a tag of type `T`.
    pub fn tagged(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(IoUring::new(entries)?))
    }
}

impl<O: Operation, T: Clone + Default + 'static> Ring<O, T> {
    /// A ring with `entries` SQ slots and default setup that stores
    /// operations of type `O` inline, each with a tag of type `T`.
    pub fn typed_tagged(entries: u32) -> Result<Self, Error> {
        Ok(Self::from_ring(IoUring::new(entries)?))
    }
}

impl<S: Store, T: Clone + Default + 'static> Ring<S, T> {
    /// Wraps a ring built with any [`Builder`](crate::Builder) options (and
    /// registrations such as [`IoUring::register_ring_fd`]). Name the kind
    /// of ring: `let r: Ring = Ring::from_ring(raw)` (boxed) or
    /// `Ring::<MyOp>::from_ring(raw)`.
    ///
    /// Entries pushed through the raw tier before (still in flight, or
    /// completed and not reaped) come out of [`completions`](Self::completions)
    /// as completions without an operation: the raw push contract
    /// ([`SubmissionQueue::push`]) keeps their `user_data` out of the range
    /// of [`Token`]s, so they cannot release an operation of this ring.
    pub fn from_ring(ring: IoUring) -> Self {
        Ring {
            table: Table::new(),
            id: ring.id(),
            drop_timeout: Duration::from_secs(1),
            ring,
        }
    }

    /// The same ring with tags of type `U`: the operations in flight stay
    /// (same tokens), each with `U::default()` for its tag, so their
    /// completions carry the default tag like those of no operation.
    pub(crate) fn retag<U: Copy + Default + 'static>(self) -> Ring<S, U> {
        let tag = U::default();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped or used again, and each of these
        // two fields is read exactly once, so each has exactly one owner
        // from here on (the new ring below).
        let (table, ring) = unsafe { (std::ptr::read(&this.table), std::ptr::read(&this.ring)) };
        // Until the new ring owns them, an unwind would drop the table (the
        // operations the kernel may still use) and the raw ring without
        // reaping: abort instead. (Only the table's allocation can fail
        // here, and that aborts anyway.)
        let guard = AbortOnUnwind;
        let table = table.retag(tag);
        std::mem::forget(guard);
        Ring {
            table,
            id: this.id,
            drop_timeout: this.drop_timeout,
            ring,
        }
    }

    /// The raw ring, for registrations and setup queries. Only shared
    /// access: nothing can be pushed behind the owning tier's back.
    pub fn raw(&self) -> &IoUring {
        &self.ring
    }

    /// How long `Drop` waits for cancelled operations before leaking them.
    pub fn set_drop_timeout(&mut self, timeout: Duration) {
        self.drop_timeout = timeout;
    }

    /// Operations pushed and not yet finally completed. It walks the table
    /// (one step per slot ever used), so it is meant for checks and
    /// shutdown, not for every loop turn.
    pub fn in_flight(&self) -> usize {
        self.table.in_flight()
    }

    /// Free SQ slots, as the kernel's head says now.
    fn room(&mut self) -> usize {
        let sq = self.ring.submission();
        sq.capacity() - sq.len()
    }

    /// Whether `n` more entries fit, submitting what is queued to make room
    /// if they do not.
    #[cold]
    fn make_room(&mut self, n: usize) -> bool {
        if self.room() >= n {
            return true;
        }
        // Hand the queued entries to the kernel, then look again.
        let _ = self.ring.submit();
        self.room() >= n
    }

    /// This ring's identity (that of the raw ring it wraps).
    pub fn id(&self) -> RingId {
        self.id
    }

    /// Pushes an operation (with the default tag; see
    /// [`push_tagged`](Self::push_tagged)); it is submitted with the next
    /// submit. If the queue is full it submits what is queued to make room,
    /// and if it is still full the operation comes back in
    /// [`PushError::Full`]. An operation that uses a resource of another
    /// ring comes back in [`PushError::WrongRing`].
    ///
    /// # Panics
    ///
    /// If converting the operation into the ring's type (`Into<S>`, a
    /// typed ring's `From` impls) returns a value that uses another ring's
    /// resources: such an impl hands over another operation than the one
    /// checked (test
    /// `a_lying_conversion_cannot_smuggle_another_rings_buffer_ring`).
    #[inline]
    pub fn push<O: Operation + Into<S>>(&mut self, op: O) -> Result<Token, PushError<O>> {
        self.push_tagged(op, T::default())
            .map_err(|e| e.map(|(op, _)| op))
    }

    /// Pushes an operation with its tag, which each of the operation's
    /// completions carries ([`Completion::tag`]). As [`push`](Self::push)
    /// otherwise; on failure both come back.
    ///
    /// # Panics
    ///
    /// If converting the operation into the ring's type (`Into<S>`, a
    /// typed ring's `From` impls) returns a value that uses another ring's
    /// resources: such an impl hands over another operation than the one
    /// checked (test
    /// `a_lying_conversion_cannot_smuggle_another_rings_buffer_ring`).
    #[inline]
    pub fn push_tagged<O: Operation + Into<S>>(
        &mut self,
        op: O,
        tag: T,
    ) -> Result<Token, PushError<(O, T)>> {
        self.push_tagged_with(op, tag, &mut Into::into)
    }

    /// As [`push_tagged`](Self::push_tagged), with `convert` turning the
    /// operation into the ring's type (called at most once, and only once
    /// the push is sure to go in). `convert` must hand over `op` itself,
    /// as the `From` impls do: for boxes, `check_converted` relies on it,
    /// and so does [`Store::prepare`], which builds the entry from `op`
    /// before it is boxed.
    /// (How the runtime's driver boxes operations into allocations it
    /// keeps for reuse.)
    #[inline]
    pub(crate) fn push_tagged_with<O: Operation>(
        &mut self,
        op: O,
        tag: T,
        convert: &mut impl FnMut(O) -> S,
    ) -> Result<Token, PushError<(O, T)>> {
        // The batch view is dropped (its tail published) before
        // `make_room` submits. The token is handed on by itself: passing
        // the whole result on copied the room for the operation too, on
        // every push.
        let pushed = self.pusher().push_tagged_with(op, tag, convert);
        match pushed {
            Ok(token) => Ok(token),
            Err(PushError::Full((op, tag))) if self.make_room(1) => {
                self.pusher().push_tagged_with(op, tag, convert)
            }
            Err(e) => Err(e),
        }
    }

    /// Pushes `first` linked (`IO_LINK`) to a [`LinkTimeout`]: if `first`
    /// has not completed in time it is cancelled. Both are released at
    /// their own completions.
    pub fn push_with_timeout<O: Operation + Into<S>>(
        &mut self,
        first: O,
        timeout: Duration,
    ) -> Result<(Token, Token), PushError<O>>
    where
        LinkTimeout: Into<S>,
    {
        self.push_linked(first, LinkTimeout::new(timeout))
            .map_err(|e| e.map(|(first, _)| first))
    }

    /// Pushes `first` and `then` as a chain (`IO_LINK`): `then` starts
    /// only after `first` has completed successfully; if `first` fails (for
    /// reads, writes, sends and receives a short transfer counts as
    /// failure) `then` completes with `ECANCELED` without running. Each is
    /// released at its own completion. Both go in or, if the queue has no
    /// room for two, both come back. For longer chains see
    /// [`push_chain`](Self::push_chain).
    ///
    /// # Panics
    ///
    /// If converting the operation into the ring's type (`Into<S>`, a
    /// typed ring's `From` impls) returns a value that uses another ring's
    /// resources: such an impl hands over another operation than the one
    /// checked (test
    /// `a_lying_conversion_cannot_smuggle_another_rings_buffer_ring`).
    pub fn push_linked<O: Operation + Into<S>, U: Operation + Into<S>>(
        &mut self,
        first: O,
        then: U,
    ) -> Result<(Token, Token), PushError<(O, U)>> {
        if !(first.usable_on(self.id) && then.usable_on(self.id)) {
            return Err(PushError::WrongRing((first, then)));
        }
        if !self.make_room(2) {
            return Err(PushError::Full((first, then)));
        }
        let (first, then): (S, S) = (first.into(), then.into());
        check_converted(&first, self.id);
        check_converted(&then, self.id);
        let [t1, t2] = self.link([(first, T::default()), (then, T::default())]);
        Ok((t1, t2))
    }

    /// Pushes `ops` as one chain (`IO_LINK` on all but the last): each
    /// starts only after the one before has completed successfully; once
    /// one fails (a short read, write, send or receive counts as failure)
    /// the rest complete with `ECANCELED` without running. Each is released
    /// at its own completion, with its own tag.
    ///
    /// A [`LinkTimeout`] in the chain bounds the operation just before it:
    /// if that one has not completed in time it is cancelled, and with it
    /// the rest of the chain. So `[a, b, LinkTimeout]` times `b`, and a
    /// timeout after every operation bounds each step.
    ///
    /// All go in, or (no room for all of them, or one uses a resource of
    /// another ring) all come back, in order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ring_core::owned::{op, Operation, Ring};
    /// # fn main() -> std::io::Result<()> {
    /// let mut ring = Ring::new(8)?;
    /// let chain: [Box<dyn Operation>; 3] = [
    ///     Box::new(op::Nop),
    ///     Box::new(op::Timeout::new(Duration::from_secs(10))), // never fires in time
    ///     Box::new(op::LinkTimeout::new(Duration::from_millis(1))),
    /// ];
    /// let [_, slow, _] = ring.push_chain(chain)?;
    /// ring.submit_and_wait(3)?;
    /// let mut seen = 0;
    /// while seen < 3 {
    ///     ring.submit_and_wait(1)?;
    ///     for c in ring.completions() {
    ///         if c.token() == slow {
    ///             assert_eq!(c.result(), Err(ring_core::Errno::CANCELED));
    ///         }
    ///         seen += 1;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn push_chain<const N: usize>(
        &mut self,
        ops: [S; N],
    ) -> Result<[Token; N], PushError<[S; N]>> {
        self.push_chain_tagged(ops.map(|op| (op, T::default())))
            .map_err(|e| e.map(|ops| ops.map(|(op, _)| op)))
    }

    /// [`push_chain`](Self::push_chain) with a tag per operation.
    pub fn push_chain_tagged<const N: usize>(
        &mut self,
        ops: [(S, T); N],
    ) -> Result<[Token; N], PushError<[(S, T); N]>> {
        if !ops.iter().all(|(op, _)| op.usable_on(self.id)) {
            return Err(PushError::WrongRing(ops));
        }
        if !self.make_room(N) {
            return Err(PushError::Full(ops));
        }
        Ok(self.link(ops))
    }

    /// Admits `ops` and pushes them as one chain. The caller has checked
    /// that each is usable on this ring and that there is room for all.
    fn link<const N: usize>(&mut self, ops: [(S, T); N]) -> [Token; N] {
        let mut i = 0;
        let admitted = ops.map(|(op, tag)| {
            self.table.reserve();
            let (entry, token) = self.table.admit(op, tag);
            i += 1;
            let entry = if i < N {
                entry.flags(Flags::IO_LINK)
            } else {
                entry
            };
            (entry, token)
        });
        let entries = admitted.map(|(entry, _)| entry);
        // SAFETY: as in `Pusher::push_tagged`, for every entry (their
        // resources were checked against this ring by the caller); there is
        // room for all of them (checked by the caller), so the chain is
        // never cut at the queue's end.
        let pushed = unsafe { self.ring.submission().push_multiple(&entries) };
        debug_assert!(pushed.is_ok());
        admitted.map(|(_, token)| token)
    }

    /// Submits pushed operations.
    #[inline(always)]
    pub fn submit(&mut self) -> Result<usize, SubmitError> {
        self.ring.submit()
    }

    /// Submits and waits for `want` completions.
    #[inline(always)]
    pub fn submit_and_wait(&mut self, want: usize) -> Result<usize, SubmitError> {
        self.ring.submit_and_wait(want)
    }

    /// Submits and waits for `want` completions or `timeout`.
    pub fn submit_and_wait_timeout(
        &mut self,
        want: usize,
        timeout: Duration,
    ) -> Result<usize, SubmitError> {
        self.ring.submitter().submit_and_wait_timeout(want, timeout)
    }

    /// Submits and waits for `want` completions or `timeout`, returning
    /// early once `min_wait` has passed and any completion is ready; see
    /// [`Submitter::submit_and_wait_with`](crate::Submitter::submit_and_wait_with)
    /// (`min_wait` needs Linux 6.12).
    pub fn submit_and_wait_with(
        &mut self,
        want: usize,
        timeout: Duration,
        min_wait: Option<Duration>,
    ) -> Result<usize, SubmitError> {
        self.ring
            .submitter()
            .submit_and_wait_with(want, timeout, min_wait)
    }

    /// Submits, then polls for `want` completions for up to `spin` before
    /// waiting in the kernel; see
    /// [`Submitter::submit_and_spin`](crate::Submitter::submit_and_spin).
    pub fn submit_and_spin(
        &mut self,
        want: usize,
        spin: Duration,
    ) -> Result<crate::Spun, SubmitError> {
        self.ring.submitter().submit_and_spin(want, spin)
    }

    /// Cancels the operation `token` (its completion reports `ECANCELED`).
    pub fn cancel(&mut self, token: Token) -> Result<Token, PushError<AsyncCancel>>
    where
        AsyncCancel: Into<S>,
    {
        self.push(AsyncCancel::token(token))
    }

    /// A batch view for pushing many operations cheaply: it holds the
    /// submission queue for its lifetime and publishes the tail on drop.
    /// Unlike [`push`](Self::push) it does not submit when the queue is
    /// full; it hands the operation back.
    #[inline]
    pub fn pusher(&mut self) -> Pusher<'_, S, T> {
        Pusher {
            sq: self.ring.submission(),
            table: &mut self.table,
            id: self.id,
        }
    }

    /// The ready completions. Their slots go back to the kernel when the
    /// iterator is dropped.
    #[inline]
    pub fn completions(&mut self) -> Completions<'_, S, T> {
        Completions {
            cq: ManuallyDrop::new(self.ring.completion()),
            table: &mut self.table,
        }
    }

    /// Hands each ready completion to `f` together with a [`Pusher`], so a
    /// completion can be answered with new operations in the same pass
    /// (re-arm a receive, send a reply, start the next read): no need to
    /// collect the completions first. Before each completion, if the
    /// submission queue is full, the drain submits what is queued, so a
    /// handler always has room for at least one push (more fails with
    /// [`PushError::Full`] only if the kernel has taken none of the queue).
    /// Pushed operations go to the kernel with the next submit. Returns how
    /// many completions were handled.
    ///
    /// ```
    /// use ring_core::owned::{op, Ring};
    /// # fn main() -> std::io::Result<()> {
    /// let mut ring: Ring<Box<dyn ring_core::owned::Operation>, u32> = Ring::tagged(4)?;
    /// ring.push_tagged(op::Nop, 3)?; // a countdown: each NOP pushes the next
    /// let mut done = 0;
    /// while done < 4 {
    ///     ring.submit_and_wait(1)?;
    ///     done += ring.drain(|c, pusher| {
    ///         let left = *c.tag();
    ///         if left > 0 {
    ///             pusher.push_tagged(op::Nop, left - 1).expect("room");
    ///         }
    ///     });
    /// }
    /// assert_eq!(ring.in_flight(), 0);
    /// # Ok(()) }
    /// ```
    pub fn drain(&mut self, mut f: impl FnMut(Completion<S, T>, &mut Pusher<'_, S, T>)) -> usize {
        let (submitter, sq, cq) = self.ring.split();
        let mut pusher = Pusher {
            sq,
            table: &mut self.table,
            id: self.id,
        };
        let mut n = 0;
        for cqe in cq {
            if !pusher.sq.has_room() {
                submit_queued(&mut pusher.sq, &submitter);
            }
            let c = pusher.table.complete(cqe);
            f(c, &mut pusher);
            n += 1;
        }
        n
    }
}

/// Checks against the ring the value a push converted from the operation
/// it checked. For a typed ring the `From` impls may be the user's, and one
/// that returns another operation (say, a receive holding another ring's
/// buffer ring) would otherwise bypass that check. Such an impl is a bug
/// in the caller's code, like an inconsistent `Ord`: it panics, before the
/// value reaches the table (dropping it is then safe), rather than hand the
/// kernel a resource of another ring.
#[inline(always)]
fn check_converted<S: Store>(op: &S, ring: RingId) {
    assert!(
        op.converted_usable_on(ring),
        "push: the conversion changed the ring-bound resources of the operation \
         (a From impl returned an operation that uses another ring's resources)"
    );
}

/// A batch of pushes into a [`Ring`] (see [`Ring::pusher`] and
/// [`Ring::drain`]).
pub struct Pusher<'a, S: Store = Box<dyn Operation>, T: Clone + Default + 'static = ()> {
    sq: SubmissionQueue<'a>,
    table: &'a mut Table<S, T>,
    id: RingId,
}

impl<S: Store, T: Clone + Default + 'static> Pusher<'_, S, T> {
    /// Pushes an operation with the default tag, or hands it back if the
    /// queue is full or it uses a resource of another ring (it does not
    /// submit; see [`Ring::drain`] for when there is room).
    #[inline]
    pub fn push<O: Operation + Into<S>>(&mut self, op: O) -> Result<Token, PushError<O>> {
        self.push_tagged(op, T::default())
            .map_err(|e| e.map(|(op, _)| op))
    }

    /// Pushes an operation with its tag; see [`Ring::push_tagged`].
    ///
    /// # Panics
    ///
    /// If converting the operation into the ring's type (`Into<S>`, a
    /// typed ring's `From` impls) returns a value that uses another ring's
    /// resources: such an impl hands over another operation than the one
    /// checked (test
    /// `a_lying_conversion_cannot_smuggle_another_rings_buffer_ring`).
    #[inline]
    pub fn push_tagged<O: Operation + Into<S>>(
        &mut self,
        op: O,
        tag: T,
    ) -> Result<Token, PushError<(O, T)>> {
        self.push_tagged_with(op, tag, &mut Into::into)
    }

    /// See [`Ring::push_tagged_with`].
    #[inline]
    pub(crate) fn push_tagged_with<O: Operation>(
        &mut self,
        op: O,
        tag: T,
        convert: &mut impl FnMut(O) -> S,
    ) -> Result<Token, PushError<(O, T)>> {
        if !op.usable_on(self.id) {
            return Err(PushError::WrongRing((op, tag)));
        }
        if !self.sq.has_room() {
            return Err(PushError::Full((op, tag)));
        }
        self.table.reserve();
        let (op, entry, is_fd) = S::prepare(op, convert);
        check_converted(&op, self.id);
        let (entry, token) = self.table.admit_built(op, entry, is_fd, tag);
        // SAFETY: the entry points only into memory the operation owns and
        // names only descriptors and ring-bound resources it holds
        // (Operation's contract), which the table keeps until its final
        // completion; every ring-bound resource is this ring's (`usable_on`
        // just above); its user_data is a token (set by `admit`);
        // `has_room` said yes just above.
        unsafe { self.sq.push_unchecked(&entry) };
        Ok(token)
    }
}

/// Aborts the process if dropped (while unwinding from a panic that
/// would otherwise free operations the kernel may still use).
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        std::process::abort();
    }
}

/// Publishes what `sq` holds and submits it, so that it has room again.
#[cold]
#[inline(never)]
fn submit_queued(sq: &mut SubmissionQueue<'_>, submitter: &Submitter<'_>) {
    sq.sync();
    let _ = submitter.submit();
    sq.sync();
}

impl<S: Store, T: Clone + Default + 'static> std::fmt::Debug for Pusher<'_, S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("sq", &self.sq)
            .finish_non_exhaustive()
    }
}

/// Iterator over ready completions of a [`Ring`].
pub struct Completions<'a, S: Store = Box<dyn Operation>, T: Clone + Default + 'static = ()> {
    /// Not dropped: `next` hands each slot back as it reads it, so the
    /// view's drop (which publishes the head) would only repeat the last
    /// store, and with it every completion kept the head in memory for the
    /// unwinding path (measured: 1 instruction per completion).
    cq: ManuallyDrop<cqueue::CompletionQueue<'a>>,
    table: &'a mut Table<S, T>,
}

impl<S: Store, T: Clone + Default + 'static> Iterator for Completions<'_, S, T> {
    type Item = Completion<S, T>;

    #[inline(always)]
    fn next(&mut self) -> Option<Completion<S, T>> {
        let cqe = self.cq.next()?;
        // Hand the slot back now, not when the iterator drops: forgetting
        // the iterator (safe) would otherwise let the next one read this
        // completion again, and adopt its descriptor or take its buffer a
        // second time (a_forgotten_completion_iterator_hands_out_no_descriptor_twice).
        self.cq.release();
        Some(self.table.complete(cqe))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.cq.size_hint()
    }
}

impl<S: Store, T: Clone + Default + 'static> ExactSizeIterator for Completions<'_, S, T> {}

impl<S: Store, T: Clone + Default + 'static> std::fmt::Debug for Completions<'_, S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completions")
            .field("ready", &self.cq.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store, T: Clone + Default + 'static> Drop for Ring<S, T> {
    fn drop(&mut self) {
        // Cancel everything, then reap until every operation is back.
        let cancel = opcode::AsyncCancel::new(CancelBy::Any)
            .all()
            .build()
            .user_data(DROP_CANCEL);
        let deadline = Instant::now() + self.drop_timeout;
        // A panic must not unwind out of this function while operations
        // are in flight, or the table would free them under the kernel.
        // The user's code runs in two places here: building a completion
        // (the tag's `Clone` or `Default`) and dropping one (a typed ring's
        // enum or a tag can have its own `Drop`). So completions are
        // dropped only once the loop is over, when every operation still
        // in the table has completed or been leaked, and a panic while
        // building one is caught (the table is consistent at either of
        // those calls: the operation is still in its slot, or has none)
        // and resumed after the loop.
        let mut done = Vec::new();
        let mut panicked = None;
        while self.table.in_flight() > 0 {
            // Every round: multishot operations may have re-armed since the
            // last cancel, and a cancel that found the queue full is retried.
            // SAFETY: a cancel points to no memory.
            let _ = unsafe { self.ring.submission().push(&cancel) };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // The kernel may still use these: leak rather than free.
                self.table.leak_all();
                break;
            }
            let _ = self
                .ring
                .submitter()
                .submit_and_wait_timeout(1, left.min(Duration::from_millis(50)));
            loop {
                let next = self.ring.completion().next();
                let Some(cqe) = next else { break };
                if cqe.user_data() != DROP_CANCEL {
                    let table = &mut self.table;
                    match std::panic::catch_unwind(AssertUnwindSafe(|| table.complete(cqe))) {
                        Ok(c) => done.push(c),
                        Err(payload) => {
                            panicked.get_or_insert(payload);
                        }
                    }
                }
            }
        }
        drop(done);
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
    }
}

impl<S: Store, T: Clone + Default + 'static> std::fmt::Debug for Ring<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("in_flight", &self.table.in_flight())
            .finish_non_exhaustive()
    }
}
