//! The future of one operation: pushed at its first poll, resolved at the
//! operation's final completion, cancelled (and left with the ring) when
//! dropped before it.
//!
//! Invariants owned here:
//! - a [`Submit`] holds its operation until it pushes it, and owns its key
//!   from its first poll (or its first [`Canceller`]) until it gives it
//!   up: when it takes the result, or in its drop;
//! - nothing unwinds between the push and the key's state becoming
//!   `Waiting` (a waker that is not the runtime's task is cloned after
//!   that state is stored): an unwind there would leave the operation in
//!   flight on a key the drop frees;
//! - a drop while the operation is in flight leaves the key abandoned (its
//!   completions go to nobody; it is freed at the final one) and pushes a
//!   cancel: the ring keeps the operation until its final completion, and
//!   that completion is dropped (closing a descriptor it created) at the
//!   driver's next turn.

use std::future::Future;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};
use std::time::Duration;

use super::driver::{Driver, Finished, Inner, State, Throttle, Took, NO_KEY};
use crate::owned::{unbox_unchecked, Operation, OwnedBuf, PushError};
use crate::{cqueue, Errno};

/// What a [`Submit`] resolves to before a helper maps it: the operation
/// back with its final completion, or the push error (with the operation).
pub type Outcome<T> = Result<Done<T>, PushError<T>>;

/// An operation's final completion, with the operation handed back.
pub struct Done<T> {
    op: T,
    cqe: cqueue::Entry,
    /// The descriptor the operation created, closed on drop if not taken.
    fd: Option<OwnedFd>,
    /// The buffer a buffer-select receive picked, given back on drop if
    /// not taken.
    buf: Option<OwnedBuf>,
}

impl<T> Done<T> {
    /// The result.
    #[inline]
    pub fn result(&self) -> Result<u32, Errno> {
        self.cqe.result()
    }
    /// The raw completion entry.
    pub fn cqe(&self) -> &cqueue::Entry {
        &self.cqe
    }
    /// The operation.
    pub fn op(&self) -> &T {
        &self.op
    }
    /// The operation back (its buffers, its descriptor share).
    pub fn into_op(self) -> T {
        self.op
    }
    /// The descriptor the operation created (accept, open); closed on drop
    /// if not taken.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fd.take()
    }
    /// The buffer a buffer-select receive picked; given back on drop if
    /// not taken.
    pub fn take_buf(&mut self) -> Option<OwnedBuf> {
        self.buf.take()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Done<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Done")
            .field("op", &self.op)
            .field("cqe", &self.cqe)
            .finish_non_exhaustive()
    }
}

/// How a [`Submit`] turns its operation's outcome into what it resolves
/// to. A function pointer is one ([`Driver::submit_map`]); the helpers'
/// maps ([`Unit`](super::Unit), [`Transfer`](super::Transfer), ...) are
/// zero-sized types, so the map is inlined into the future's poll rather
/// than called through a pointer with the outcome copied out.
pub trait Finish<T> {
    /// What the future resolves to.
    type Output;
    /// Maps the outcome.
    fn finish(&self, outcome: Outcome<T>) -> Self::Output;

    /// Maps a final completion that created no descriptor and picked no
    /// buffer (most): `op` back with its completion entry. The same as
    /// [`finish`](Self::finish) of that [`Done`], which is what it does
    /// unless a map overrides it to skip building the `Done` (as
    /// [`Transfer`](super::Transfer) does: each move of the operation is
    /// paid on every completion).
    #[inline(always)]
    fn finish_plain(&self, op: T, cqe: cqueue::Entry) -> Self::Output {
        self.finish(Ok(Done {
            op,
            cqe,
            fd: None,
            buf: None,
        }))
    }
}

impl<T, R> Finish<T> for fn(Outcome<T>) -> R {
    type Output = R;
    #[inline]
    fn finish(&self, outcome: Outcome<T>) -> R {
        self(outcome)
    }
}

/// The future of one operation, from [`Driver::submit`] or a helper such
/// as [`Driver::read`]. It pushes the operation at its first poll and
/// resolves with its final completion, mapped by `F` ([`Finish`]).
///
/// Dropping it before then cancels the operation, which stays with the
/// ring until the kernel is done with it; its completion is then dropped
/// (a descriptor it created is closed, a buffer it picked is given back).
#[must_use = "futures do nothing unless polled"]
pub struct Submit<T: Operation, F: Finish<T> = fn(Outcome<T>) -> Outcome<T>> {
    driver: Driver,
    key: u32,
    op: Option<T>,
    timeout: Option<Duration>,
    finish: F,
}

impl Driver {
    /// Awaits any operation of the safe tier: `driver.submit(op).await`
    /// gives the operation back with its final completion.
    ///
    /// ```
    /// use ring_core::owned::op::Nop;
    /// use ring_core::rt::Runtime;
    /// # fn main() -> std::io::Result<()> {
    /// let rt = Runtime::new(8)?;
    /// let driver = rt.driver().clone();
    /// let done = rt.block_on(async move { driver.submit(Nop).await })?;
    /// assert_eq!(done.result(), Ok(0));
    /// # Ok(()) }
    /// ```
    pub fn submit<T: Operation>(&self, op: T) -> Submit<T> {
        self.submit_map(op, |o| o)
    }

    /// As [`submit`](Self::submit), with the outcome mapped by `finish`.
    pub fn submit_map<T: Operation, R>(
        &self,
        op: T,
        finish: fn(Outcome<T>) -> R,
    ) -> Submit<T, fn(Outcome<T>) -> R> {
        self.submit_with(op, finish)
    }

    /// As [`submit`](Self::submit), with the outcome mapped by any
    /// [`Finish`] (how the helpers give `(result, buffer)` pairs).
    pub fn submit_with<T: Operation, F: Finish<T>>(&self, op: T, finish: F) -> Submit<T, F> {
        Submit {
            driver: self.clone(),
            key: NO_KEY,
            op: Some(op),
            timeout: None,
            finish,
        }
    }
}

impl<T: Operation, F: Finish<T>> Submit<T, F> {
    /// Cancels the operation if it has not completed `after` its push (a
    /// linked timeout, `IORING_OP_LINK_TIMEOUT`): it then completes with
    /// `ECANCELED` (or with what it did so far). Set before the first poll;
    /// later calls change nothing.
    pub fn with_timeout(mut self, after: Duration) -> Self {
        self.timeout = Some(after);
        self
    }

    /// Changes the operation before its push (an option of it, such as
    /// [`Submit::poll_first`]); after the push it changes nothing.
    pub(super) fn map_op(mut self, f: impl FnOnce(T) -> T) -> Self {
        self.op = self.op.take().map(f);
        self
    }

    /// A handle that cancels this operation (see [`Canceller`]).
    pub fn canceller(&mut self) -> Canceller {
        if self.key == NO_KEY && self.op.is_none() {
            // Finished, its key given back (a result with a descriptor or
            // a buffer, or a refused push): nothing left to cancel, and a
            // new key would make a later poll wait instead of panicking.
            return Canceller::of_nothing(&self.driver);
        }
        Canceller::of_key(&self.driver, &mut self.key)
    }
}

impl<T: Operation, F: Finish<T>> Unpin for Submit<T, F> {}

impl<T: Operation, F: Finish<T>> Future for Submit<T, F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if this.op.is_some() {
            this.push(cx)
        } else {
            this.take(cx)
        }
    }
}

impl<T: Operation, F: Finish<T>> Submit<T, F> {
    /// The first poll (or the next after a full queue): pushes the
    /// operation. Ready only with a push error.
    #[inline]
    fn push(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut inner = self.driver.inner.borrow_mut();
        let Some(op) = self.op.take() else {
            unreachable!("called with the operation")
        };
        let cancel = if self.key == NO_KEY {
            self.key = inner.alloc();
            false
        } else {
            matches!(
                inner.entries[self.key as usize].state,
                State::Unpushed { cancel: true }
            )
        };
        let mut driving = None;
        match inner.push(self.key, op, self.timeout, cx, &mut driving) {
            Ok(token) => {
                // Nothing from the push to the state saying so may unwind:
                // a waker that is not the runtime's task is cloned only
                // once the state is stored.
                inner.set_pushed_for(self.key, cx, |wake| State::Waiting(wake, token));
                if cancel {
                    driving = driving.or(inner.cancel(token));
                }
                drop(inner);
                if let Some(w) = driving {
                    w.wake();
                }
                Poll::Pending
            }
            Err(PushError::Full(op)) => {
                self.op = Some(op);
                drop(inner);
                if let Some(w) = driving {
                    w.wake();
                }
                Poll::Pending
            }
            Err(e) => {
                let k = std::mem::replace(&mut self.key, NO_KEY);
                let old = inner.free(k);
                drop(inner);
                drop(old);
                Poll::Ready(self.finish.finish(Err(e)))
            }
        }
    }

    /// A later poll: takes the final completion if it is there.
    #[inline]
    fn take(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        if self.key == NO_KEY {
            polled_after_completion();
        }
        let mut inner = self.driver.inner.borrow_mut();
        match inner.take_done(self.key) {
            Took::Plain(cqe, op) => {
                // The key stays set: the drop frees it (see `take_done`).
                // SAFETY: as in `finish`: the final completion routed to
                // this future's key carries this future's own `T`.
                let op = unsafe { inner.pool.unboxed::<T>(op) };
                drop(inner);
                Poll::Ready(self.finish.finish_plain(op, cqe))
            }
            Took::With => {
                drop(inner);
                Poll::Ready(self.take_with())
            }
            Took::Taken => {
                drop(inner);
                polled_after_completion()
            }
            Took::NotYet => {
                // Still waiting (a pushed single-shot future is waiting or
                // done).
                let old = inner.rewake(self.key, cx);
                drop(inner);
                drop(old);
                Poll::Pending
            }
        }
    }

    /// Maps the final completion of this future's operation.
    #[inline(always)]
    fn finish(&self, done: Finished) -> F::Output {
        let Finished { cqe, op, fd, buf } = done;
        // SAFETY: `take_done` hands back only a final completion routed to
        // this future's key, and the only operation pushed with that route
        // is this future's own `T` (`push`): the driver's cancels and link
        // timeouts carry the default route, and a key is given to no other
        // future while an operation routed to it is in flight (driver.rs's
        // invariants).
        let op = unsafe { unbox_unchecked::<T>(op) };
        self.finish.finish(Ok(Done { op, cqe, fd, buf }))
    }

    /// Takes and maps a final completion that carries a descriptor or a
    /// buffer ([`Took::With`]). Out of line, so that it does not share the
    /// common path's registers and stack (which then moved every
    /// completion through memory, measured).
    #[cold]
    #[inline(never)]
    fn take_with(&mut self) -> F::Output {
        let key = std::mem::replace(&mut self.key, NO_KEY);
        let done = self.driver.inner.borrow_mut().take_done_with(key);
        self.finish(done)
    }
}

/// A finished future has given out its result: polling it again is a
/// misuse (the `Future` contract allows a panic), reported as such.
#[cold]
#[inline(never)]
fn polled_after_completion() -> ! {
    panic!("a ring_core::rt future was polled after it completed")
}

impl<T: Operation, F: Finish<T>> Drop for Submit<T, F> {
    #[inline]
    fn drop(&mut self) {
        if self.key == NO_KEY {
            return;
        }
        // The common end: the result was taken, the key is freed here.
        if let Ok(mut inner) = self.driver.inner.try_borrow_mut() {
            if inner.release_taken(self.key) {
                return;
            }
        }
        self.abandon();
    }
}

impl<T: Operation, F: Finish<T>> Submit<T, F> {
    /// Drops a future that holds a key: frees it, and cancels the
    /// operation if it is in flight.
    #[inline(never)]
    fn abandon(&mut self) {
        // A drop that re-enters a borrowed driver cannot happen through
        // this module (nothing is dropped under the borrow); if a user
        // manages it, the key stays allocated and its completion is
        // dropped with the ring: a leak of one entry, not a fault.
        let Ok(mut inner) = self.driver.inner.try_borrow_mut() else {
            return;
        };
        let (old, driving) = inner.abandon(self.key);
        drop(inner);
        drop(old);
        if let Some(w) = driving {
            w.wake();
        }
    }
}

impl<T: Operation + std::fmt::Debug, F: Finish<T>> std::fmt::Debug for Submit<T, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submit")
            .field("op", &self.op)
            .field("pushed", &(self.op.is_none() && self.key != NO_KEY))
            .finish_non_exhaustive()
    }
}

/// Cancels one operation of a [`Submit`] or [`Multi`](super::Multi)
/// future from elsewhere (another task, a timer): the future then
/// resolves with `ECANCELED`, or with its result if it completed first.
/// Before the push, the cancel follows the push at once. After the future
/// is gone it does nothing. Single-threaded, like the driver.
#[derive(Clone, Debug)]
pub struct Canceller {
    pub(super) driver: Weak<std::cell::RefCell<Inner>>,
    pub(super) key: u32,
    pub(super) gen: u32,
    pub(super) _not_send: PhantomData<*const ()>,
}

impl Canceller {
    /// A canceller of `key`, allocated first if it is [`NO_KEY`] (a future
    /// not yet pushed: the cancel then follows its push).
    pub(super) fn of_key(driver: &Driver, key: &mut u32) -> Self {
        let mut inner = driver.inner.borrow_mut();
        if *key == NO_KEY {
            *key = inner.alloc();
        }
        Canceller {
            driver: std::rc::Rc::downgrade(&driver.inner),
            key: *key,
            gen: inner.entries[*key as usize].gen,
            _not_send: PhantomData,
        }
    }

    /// A canceller that names no key: cancels nothing.
    pub(super) fn of_nothing(driver: &Driver) -> Self {
        Canceller {
            driver: std::rc::Rc::downgrade(&driver.inner),
            key: NO_KEY,
            gen: 0,
            _not_send: PhantomData,
        }
    }

    /// Asks the kernel to cancel the operation (`IORING_OP_ASYNC_CANCEL`).
    pub fn cancel(&self) {
        let Some(inner) = self.driver.upgrade() else {
            return;
        };
        let wake = {
            let Ok(mut inner) = inner.try_borrow_mut() else {
                return;
            };
            let Some(e) = inner.entries.get_mut(self.key as usize) else {
                return;
            };
            if e.gen != self.gen {
                return;
            }
            match e.state {
                State::Unpushed { ref mut cancel } => {
                    *cancel = true;
                    None
                }
                State::Waiting(_, t) => inner.cancel(t),
                State::Stream {
                    ended: false,
                    token: t,
                    ref mut throttle,
                    ..
                } => {
                    // Its final completion ends the stream, even if a
                    // bound's cancel is on its way too.
                    *throttle = Throttle::Cancelled;
                    inner.cancel(t)
                }
                State::Stream {
                    throttle: ref mut parked @ Throttle::Parked,
                    ..
                } => {
                    // Kept back by a bound, nothing in flight: its final
                    // `ECANCELED` (queued last) becomes the stream's end.
                    *parked = Throttle::Cancelled;
                    None
                }
                _ => None,
            }
        };
        if let Some(w) = wake {
            w.wake();
        }
    }
}
