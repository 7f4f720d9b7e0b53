//! Multishot operations as streams: every completion is queued for the
//! stream, which yields them in order and ends after the final one.
//!
//! Invariants owned here: as for [`Submit`](super::Submit) — the stream
//! owns its key from its first poll to its drop; dropped before the final
//! completion, it leaves its key abandoned (the rest go to nobody; the
//! final one frees the key) and cancels the operation, and
//! the completions already queued (with their descriptors and buffers) are
//! dropped after the driver's borrow. And for a stream with a bound
//! ([`Multi::with_backlog`]):
//! - the operation is pushed again only after its final completion came
//!   back as the driver's own cancel (the key is then `ended`: nothing
//!   routed to it is in flight), with the same key and a new token, and
//!   only once every completion queued before it was taken: the items
//!   come out in the order the kernel made them;
//! - between taking the operation out of that completion and its push,
//!   the key is [`State::Unpushed`] and the operation is the stream's
//!   (`op`), as before a first push: a drop frees the key, a canceller
//!   marks the push to be cancelled, a full queue keeps the operation for
//!   the next poll;
//! - a user's cancel is never undone: the stream's state remembers it
//!   (`Cancelled`), including across that push, so the final
//!   `ECANCELED` ends the stream.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::driver::{Driver, State, Throttle, NO_KEY, NO_LIMIT};
use super::submit::Canceller;
use crate::owned::{Completion, Operation, PushError};

/// A multishot operation (multishot accept, receive into a buffer ring,
/// repeating timeout) as a stream of its completions, from
/// [`Driver::submit_multi`] or a helper such as [`Driver::accept_multi`].
///
/// [`next`](Self::next) yields each completion (mapped by the helper to
/// `I`) in order, the final one included, then `None`. Dropping the stream
/// before the final completion cancels the operation; the ring keeps it
/// until the kernel is done, and every completion still to come is dropped
/// (closing accepted connections, giving buffers back).
///
/// Completions wait in the driver until `next` takes them. A stream with a
/// bound ([`with_backlog`](Self::with_backlog); [`Driver::accept_multi`]
/// and [`Driver::recv_multi`] have one by default) stops growing there: at
/// the bound the driver cancels the operation, and pushes it again once
/// the stream has taken what is queued, so a consumer that falls behind
/// leaves the rest with the kernel (connections in the listen queue, data
/// in the socket), whose own limits (the listen backlog, the socket's
/// buffer) then hold back the flood.
#[must_use = "streams do nothing unless polled"]
pub struct Multi<T: Operation, I = Completion> {
    driver: Driver,
    key: u32,
    op: Option<T>,
    ended: bool,
    refused: bool,
    /// The bound on queued completions ([`NO_LIMIT`]: none).
    limit: u32,
    map: fn(Completion) -> I,
}

impl Driver {
    /// Pushes a multishot operation at the first [`Multi::next`] and yields
    /// its completions. An operation that uses a resource registered with
    /// another ring is refused at that push ([`Multi::refused`]), and the
    /// stream ends at once.
    pub fn submit_multi<T: Operation>(&self, op: T) -> Multi<T> {
        self.submit_multi_map(op, |c| c)
    }

    /// As [`submit_multi`](Self::submit_multi), each completion mapped by
    /// `map`.
    pub fn submit_multi_map<T: Operation, I>(
        &self,
        op: T,
        map: fn(Completion) -> I,
    ) -> Multi<T, I> {
        Multi {
            driver: self.clone(),
            key: NO_KEY,
            op: Some(op),
            ended: false,
            refused: false,
            limit: NO_LIMIT,
            map,
        }
    }
}

impl<T: Operation, I> Multi<T, I> {
    /// The next completion, or `None` after the final one.
    // An async stream's `next`, as in tokio-stream's `StreamExt`; it cannot
    // be `Iterator::next`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T, I> {
        Next { stream: self }
    }

    /// Bounds the completions queued for this stream at `limit` (at least
    /// one; `usize::MAX`, or anything from `u32::MAX` up: no bound, as
    /// [`Driver::submit_multi`] starts):
    /// once that many wait to be taken, the driver cancels the operation,
    /// and once the stream has taken them all, its next poll pushes the
    /// operation again, with the cancel's `ECANCELED` never yielded. What
    /// the kernel would have completed meanwhile stays with the kernel.
    /// More than `limit` may be queued: those that came before the cancel
    /// did (it is pushed at the driver's next turn), and, when the
    /// operation is pushed again, what the kernel kept meanwhile comes at
    /// once (an accept takes every connection of the listen queue, a
    /// receive fills buffers from the socket's data): so a stream holds up
    /// to about `limit` plus the kernel's own queue, not `limit` plus the
    /// whole flood. Applies from the next completion, also to a stream
    /// already polled.
    ///
    /// Only for an operation that loses and repeats nothing when
    /// cancelled between two completions and pushed again: multishot
    /// accept (connections wait in the listen backlog) and multishot
    /// receive (data waits in the socket). Not, for instance, a multishot
    /// timeout with a count (pushed again, it counts from the start) or
    /// a multishot read of a file at an offset.
    ///
    /// A final completion that is not that cancel's `ECANCELED` (an error,
    /// the operation ending on its own, or after a user's
    /// [`cancel`](Self::cancel)) ends the stream as without a bound.
    ///
    /// ```
    /// use ring_core::owned::SharedFd;
    /// use ring_core::rt::Driver;
    /// # fn main() -> std::io::Result<()> {
    /// let driver = Driver::new(64)?;
    /// let listener = SharedFd::new(std::net::TcpListener::bind("127.0.0.1:0")?);
    /// // About 16 accepted connections (and the listen queue's worth when
    /// // it resumes) wait for this server loop, not the whole flood.
    /// let accepts = driver.accept_multi(&listener).with_backlog(16);
    /// # drop(accepts);
    /// # Ok(()) }
    /// ```
    pub fn with_backlog(mut self, limit: usize) -> Self {
        self.limit = u32::try_from(limit.max(1)).unwrap_or(NO_LIMIT);
        if self.key != NO_KEY {
            // Already pushed: the driver's copy too. (Under a borrow, that
            // is from a drop or a wake inside the driver, the next push
            // takes it.)
            if let Ok(mut inner) = self.driver.inner.try_borrow_mut() {
                if let State::Stream { limit, .. } = &mut inner.entries[self.key as usize].state {
                    *limit = self.limit;
                }
            }
        }
        self
    }

    /// Whether the push refused the operation (it uses a buffer ring,
    /// registered file or fixed buffer of another ring); the stream then
    /// yields nothing.
    pub fn refused(&self) -> bool {
        self.refused
    }

    /// Cancels the operation; the stream goes on to yield what is queued
    /// and the final completion (usually `ECANCELED`).
    pub fn cancel(&mut self) {
        self.canceller().cancel();
    }

    /// A handle that cancels this operation from elsewhere.
    pub fn canceller(&mut self) -> Canceller {
        if self.ended {
            // Its key is given back: nothing left to cancel.
            return Canceller::of_nothing(&self.driver);
        }
        Canceller::of_key(&self.driver, &mut self.key)
    }

    /// Polls for the next completion.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<I>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let polled = if self.op.is_some() {
            self.push(cx)
        } else {
            self.take(cx)
        };
        match polled {
            Poll::Ready(Some(c)) => Poll::Ready(Some((self.map)(c))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The first poll (or the next after a full queue): pushes the
    /// operation. Ready (and ended) only if it was refused.
    fn push(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
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
        match inner.push(self.key, op, None, cx, &mut driving) {
            Ok(token) => {
                // As in `Submit::push`: nothing from the push to the state
                // saying so may unwind.
                let limit = self.limit;
                inner.set_pushed_for(self.key, cx, |waker| State::Stream {
                    queue: VecDeque::new(),
                    waker,
                    ended: false,
                    // A user's cancel before the push is never undone by
                    // pushing again.
                    throttle: if cancel {
                        Throttle::Cancelled
                    } else {
                        Throttle::Open
                    },
                    limit,
                    token,
                });
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
            Err(PushError::WrongRing(_)) => {
                // The operation can never run here: the stream is empty.
                // (The push error says why; a typed helper maps nothing,
                // so it ends.)
                let key = std::mem::replace(&mut self.key, NO_KEY);
                let old = inner.free(key);
                drop(inner);
                drop(old);
                self.ended = true;
                self.refused = true;
                Poll::Ready(None)
            }
        }
    }

    /// A later poll: the next queued completion, if any.
    fn take(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
        let mut inner = self.driver.inner.borrow_mut();
        let State::Stream {
            queue,
            ended,
            throttle,
            ..
        } = &mut inner.entries[self.key as usize].state
        else {
            unreachable!("a pushed stream's key is a stream")
        };
        if *throttle == Throttle::Parked && queue.len() == 1 {
            // Everything before the bound's cancel is taken.
            drop(inner);
            return self.rearm(cx);
        }
        match queue.pop_front() {
            Some(c) => {
                if queue.is_empty() && *ended {
                    self.ended = true;
                }
                drop(inner);
                // The driver's route is its own business: the stream's
                // items carry no tag.
                Poll::Ready(Some(c.retag(())))
            }
            None => {
                let old = inner.rewake(self.key, cx);
                drop(inner);
                drop(old);
                Poll::Pending
            }
        }
    }
}

impl<T: Operation, I> Multi<T, I> {
    /// Pushes again the operation that the bound's cancel gave back (the
    /// key is parked, and only that completion is queued).
    #[cold]
    #[inline(never)]
    fn rearm(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
        let old = {
            let mut inner = self.driver.inner.borrow_mut();
            let slot = &mut inner.entries[self.key as usize].state;
            // As before a first push: the key is the stream's, with no
            // operation in flight.
            std::mem::replace(slot, State::Unpushed { cancel: false })
        };
        // Dropped after the borrow: the waker (the executor's code), the
        // emptied completion.
        let State::Stream {
            mut queue, waker, ..
        } = old
        else {
            unreachable!("a parked stream's key is a stream")
        };
        let Some(mut parked) = queue.pop_back() else {
            unreachable!("a parked stream's last completion is queued")
        };
        // The route names this stream's key, whose only operation is its
        // own `T` (the driver's invariants): the check cannot fail.
        let Some(op) = parked.take_op::<T>() else {
            unreachable!("a parked stream's last completion holds its operation")
        };
        self.op = Some(op);
        drop((parked, queue, waker));
        self.push(cx)
    }
}

impl<T: Operation, I> Drop for Multi<T, I> {
    fn drop(&mut self) {
        if self.key == NO_KEY {
            return;
        }
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

impl<T: Operation, I> std::fmt::Debug for Multi<T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multi")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// The future of [`Multi::next`].
#[must_use = "futures do nothing unless polled"]
pub struct Next<'a, T: Operation, I> {
    stream: &'a mut Multi<T, I>,
}

impl<T: Operation, I> Future for Next<'_, T, I> {
    type Output = Option<I>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I>> {
        self.stream.poll_next(cx)
    }
}

impl<T: Operation, I> std::fmt::Debug for Next<'_, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}
