//! Graceful shutdown: stop accepting, let every connection answer what it
//! has received and close with a lingering close, and at the deadline
//! close what is left, cancelling the sends still in flight (a client that
//! never reads cannot hold the worker).

use super::ops::{Kind, Owner};
use super::Worker;

impl Worker<'_> {
    pub(super) fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.shutdown_deadline = self.now() + self.config.shutdown_deadline_ms;
        self.accept = self.ops.cancel(self.accept, Owner::worker(Kind::Accept));
        self.accept_resume_at = None;
        self.tick_by(self.shutdown_deadline);
        for idx in self.slots.indices() {
            let s = self.slots.get(idx);
            if s.fd().is_some() {
                s.conn.begin_shutdown();
                self.slots.mark(idx);
            }
        }
    }

    /// The shutdown deadline has passed (or the worker must stop): every
    /// connection is closed, and the sends still in flight are cancelled.
    pub(super) fn force_close_all(&mut self) {
        self.forced = true;
        for idx in self.slots.indices() {
            let s = self.slots.get(idx);
            if s.fd().is_some() {
                s.conn.abort();
                self.slots.mark(idx);
            }
            let s = self.slots.get(idx);
            s.send = self.ops.cancel(s.send, Owner::conn(Kind::Send, idx, s.gen));
        }
    }

    /// Whether the shutdown is complete: no connection and no accept left.
    /// Then the tick and the wake-up read are cancelled, for the worker to
    /// wait for and exit.
    pub(super) fn shutdown_done(&mut self) -> bool {
        if !(self.shutting_down && self.slots.live == 0 && self.accept.is_idle()) {
            return false;
        }
        self.cancel_tick();
        self.wake = self.ops.cancel(self.wake, Owner::worker(Kind::Wake));
        true
    }
}
