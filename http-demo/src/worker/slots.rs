//! The connection slab: one [`Slot`] per connection, reused through a free
//! list, each with a generation so that a late completion for a previous
//! connection in the same slot is recognised and ignored; and the list of
//! slots an event touched this turn ("dirty"), which the driver moves
//! forward at the end of the turn.

use ring_core::owned::SharedFd;

use super::ops::{Armed, Owner};
use crate::conn::Conn;

/// Where a connection's socket stands. One enum, so that a slot cannot be
/// both free and closing, or closed and still sending.
pub(super) enum Phase {
    /// No connection.
    Free,
    /// Serving. The descriptor is shared with the operations in flight on
    /// it.
    Open(SharedFd),
    /// A `shutdown(SHUT_WR)` is in flight. The kernel runs shutdown on an
    /// io-wq worker and resolves the descriptor only then, so it is not
    /// closed before that completes.
    ShuttingWrite(SharedFd),
    /// Closed (`close_in_flight` until the close completes); the slot is
    /// freed once nothing is in flight on it.
    Closed {
        /// The close operation has not completed yet.
        close_in_flight: bool,
    },
}

pub(super) struct Slot {
    pub(super) gen: u32,
    pub(super) phase: Phase,
    pub(super) conn: Conn,
    /// Output being sent: moved into the send in flight, and back with its
    /// completion (the rest of a short send stays here for the next one).
    pub(super) sending: Vec<u8>,
    pub(super) recv: Armed,
    /// The send in flight, if any (one at a time).
    pub(super) send: Armed,
    /// When the send in flight was pushed: a send that has not completed
    /// after `send_timeout_ms` means the client reads nothing.
    pub(super) send_since: u64,
    /// Counted in `Shared::connections` (refused connections are not).
    pub(super) counted: bool,
    /// Waiting in the worker for room in the handler pool.
    pub(super) call_queued: bool,
    dirty: bool,
}

impl Slot {
    /// The descriptor, while the socket is open.
    pub(super) fn fd(&self) -> Option<&SharedFd> {
        match &self.phase {
            Phase::Open(fd) | Phase::ShuttingWrite(fd) => Some(fd),
            Phase::Free | Phase::Closed { .. } => None,
        }
    }

    /// Closed, and nothing in flight on it any more: the slot can be freed.
    pub(super) fn finished(&self) -> bool {
        matches!(
            self.phase,
            Phase::Closed {
                close_in_flight: false
            }
        ) && self.recv.is_idle()
            && self.send.is_idle()
    }
}

/// The slab.
#[derive(Default)]
pub(super) struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Slots not free.
    pub(super) live: usize,
    dirty: Vec<u32>,
}

impl Slots {
    /// Takes a slot for a new connection; `None` at the slab's limit.
    pub(super) fn open(&mut self, fd: SharedFd, conn: Conn, counted: bool) -> Option<u32> {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() >= 0xff_ffff {
                    return None;
                }
                self.slots.push(Slot {
                    gen: 0,
                    phase: Phase::Free,
                    conn: Conn::new(0),
                    sending: Vec::new(),
                    recv: Armed::Idle,
                    send: Armed::Idle,
                    send_since: 0,
                    counted: false,
                    call_queued: false,
                    dirty: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        s.phase = Phase::Open(fd);
        s.conn = conn;
        s.sending.clear();
        s.recv = Armed::Idle;
        s.send = Armed::Idle;
        s.counted = counted;
        s.call_queued = false;
        self.live += 1;
        self.mark(idx);
        Some(idx)
    }

    /// Frees a finished slot; returns whether it was counted.
    pub(super) fn free(&mut self, idx: u32, now: u64) -> bool {
        let s = &mut self.slots[idx as usize];
        s.phase = Phase::Free;
        s.gen = s.gen.wrapping_add(1);
        s.conn = Conn::new(now);
        s.sending = Vec::new();
        self.free.push(idx);
        self.live -= 1;
        s.counted
    }

    /// The slot `owner` names, if it still holds that connection.
    pub(super) fn live(&mut self, owner: Owner) -> Option<&mut Slot> {
        self.slots
            .get_mut(owner.idx as usize)
            .filter(|s| !matches!(s.phase, Phase::Free) && s.gen == owner.gen)
    }

    /// Slot `idx`, whatever it holds.
    pub(super) fn get(&mut self, idx: u32) -> &mut Slot {
        &mut self.slots[idx as usize]
    }

    /// Every slot index (for the tick and shutdown scans).
    pub(super) fn indices(&self) -> std::ops::Range<u32> {
        0..self.slots.len() as u32
    }

    /// Notes that slot `idx` needs moving forward this turn.
    pub(super) fn mark(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(idx);
        }
    }

    /// Takes the dirty list (give it back with [`put_dirty`](Self::put_dirty)
    /// to keep its allocation), clearing each slot's mark.
    pub(super) fn take_dirty(&mut self) -> Vec<u32> {
        let dirty = std::mem::take(&mut self.dirty);
        for &idx in &dirty {
            self.slots[idx as usize].dirty = false;
        }
        dirty
    }

    pub(super) fn put_dirty(&mut self, mut dirty: Vec<u32>) {
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }
}
