//! Multishot operations as streams: every completion is queued for the
//! stream, which yields them in order and ends after the final one.
//!
//! Invariants owned here: as for [`Submit`](super::Submit) — the stream
//! owns its key from its first poll to its drop; dropped before the final
//! completion, it leaves its key abandoned (the rest go to nobody; the
//! final one frees the key) and cancels the operation, and
//! the completions already queued (with their descriptors and buffers) are
//! dropped after the driver's borrow.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::driver::{Driver, State, NO_KEY};
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
#[must_use = "streams do nothing unless polled"]
pub struct Multi<T: Operation, I = Completion> {
    driver: Driver,
    key: u32,
    op: Option<T>,
    ended: bool,
    refused: bool,
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
                inner.set_pushed_for(self.key, cx, |waker| State::Stream {
                    queue: VecDeque::new(),
                    waker,
                    ended: false,
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
        let State::Stream { queue, ended, .. } = &mut inner.entries[self.key as usize].state else {
            unreachable!("a pushed stream's key is a stream")
        };
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
