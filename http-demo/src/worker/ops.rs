//! The worker's operation registry: what it puts in flight ([`Op`]), who
//! each operation is for ([`Owner`]), where a cancellable one stands
//! ([`Armed`]), and the backlog of operations that did not fit the
//! submission queue.
//!
//! Each operation is pushed with its [`Owner`] as the ring's per-operation
//! tag: its kind and, for connection operations, the connection's index and
//! generation. The ring hands that tag back with every completion of the
//! operation (multishot ones included), so the worker keeps no table of its
//! own from token to owner (see the worker's module docs for the hazard
//! such a table had).

use std::collections::VecDeque;
use std::time::Duration;

use ring_core::owned::{self, Completion, Ring, Token};
use ring_core::SubmitError;

ring_core::operations! {
    /// Everything a worker puts in flight.
    pub(super) enum Op {
        Accept(owned::op::Accept),
        Recv(owned::op::RecvMulti),
        Send(owned::op::Send),
        Close(owned::op::Close),
        Cancel(owned::op::AsyncCancel),
        Shutdown(owned::op::Shutdown),
        Tick(owned::op::Timeout),
        Wake(owned::op::Read),
    }
}

/// What an operation in flight is for: a kind and, for connection
/// operations, the connection slot and its generation. It is the ring's tag
/// for the operation; the default (a worker's `Cancel`, whose completion is
/// ignored) is what a completion of no operation carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) kind: Kind,
    pub(super) idx: u32,
    pub(super) gen: u32,
}

/// The kinds of operation, one per completion handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Kind {
    Accept,
    Recv,
    Send,
    Close,
    #[default]
    Cancel,
    Tick,
    Wake,
    ShutdownWr,
}

impl Owner {
    /// An operation of the worker itself (no connection).
    pub(super) const fn worker(kind: Kind) -> Self {
        Owner {
            kind,
            idx: 0,
            gen: 0,
        }
    }

    /// An operation on connection `idx` of generation `gen`.
    pub(super) const fn conn(kind: Kind, idx: u32, gen: u32) -> Self {
        Owner { kind, idx, gen }
    }
}

/// Where an operation that may be cancelled stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Armed {
    /// Not pushed.
    Idle,
    /// Waiting in the backlog: the kernel has not seen it, so "cancelling"
    /// it is taking it out of the backlog.
    Queued,
    /// In flight.
    InFlight(Token),
    /// In flight, and its cancellation has been pushed.
    Cancelling,
}

impl Armed {
    pub(super) fn is_idle(self) -> bool {
        self == Armed::Idle
    }
}

/// The ring (each operation in flight tagged with its owner) and the
/// backlog.
pub(super) struct Ops {
    ring: Ring<Op, Owner>,
    /// Operations that did not fit the submission queue, in order.
    backlog: VecDeque<(Op, Owner)>,
}

impl Ops {
    pub(super) fn new(ring: Ring<Op, Owner>) -> Self {
        Ops {
            ring,
            backlog: VecDeque::new(),
        }
    }

    /// Pushes an operation for `owner`; if the SQ is full even after
    /// submitting, keeps it for the next turn. Says where it stands.
    pub(super) fn push(&mut self, op: impl Into<Op>, owner: Owner) -> Armed {
        let op = op.into();
        if !self.backlog.is_empty() {
            self.backlog.push_back((op, owner));
            return Armed::Queued;
        }
        match self.try_push(op, owner) {
            Ok(token) => Armed::InFlight(token),
            Err(op) => {
                self.backlog.push_back((op, owner));
                Armed::Queued
            }
        }
    }

    /// Pushes an operation tagged with its owner, or hands it back if the
    /// SQ stays full.
    fn try_push(&mut self, op: Op, owner: Owner) -> Result<Token, Op> {
        self.ring
            .push_tagged(op, owner)
            .map_err(|e| e.into_inner().0)
    }

    /// Pushes what the backlog holds, in order, until the queue is full;
    /// tells `pushed` the token each operation got, so the state of the
    /// cancellable ones can move from `Queued` to `InFlight`.
    pub(super) fn drain_backlog(&mut self, mut pushed: impl FnMut(Owner, Token)) {
        while let Some((op, owner)) = self.backlog.pop_front() {
            match self.try_push(op, owner) {
                Ok(token) => pushed(owner, token),
                Err(op) => {
                    self.backlog.push_front((op, owner));
                    break;
                }
            }
        }
    }

    /// Cancels a cancellable operation and returns its new state: in
    /// flight, by token (`Cancelling` until its completion); still in the
    /// backlog, by taking it out (`Idle`: the kernel never saw it).
    pub(super) fn cancel(&mut self, armed: Armed, owner: Owner) -> Armed {
        match armed {
            Armed::Idle | Armed::Cancelling => armed,
            Armed::InFlight(t) => {
                self.push(
                    owned::op::AsyncCancel::token(t),
                    Owner::worker(Kind::Cancel),
                );
                Armed::Cancelling
            }
            Armed::Queued => {
                self.backlog.retain(|(_, o)| *o != owner);
                Armed::Idle
            }
        }
    }

    /// Moves the ready completions into `done`; each carries its owner
    /// ([`Completion::tag`]).
    pub(super) fn reap(&mut self, done: &mut Vec<Completion<Op, Owner>>) {
        done.extend(self.ring.completions());
    }

    pub(super) fn submit_and_spin(
        &mut self,
        want: usize,
        spin: Duration,
    ) -> Result<ring_core::Spun, SubmitError> {
        self.ring.submit_and_spin(want, spin)
    }

    pub(super) fn submit_and_wait_timeout(
        &mut self,
        want: usize,
        timeout: Duration,
    ) -> Result<usize, SubmitError> {
        self.ring.submit_and_wait_timeout(want, timeout)
    }

    pub(super) fn in_flight(&self) -> usize {
        self.ring.in_flight()
    }
}
