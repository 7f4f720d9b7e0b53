//! The tick: a one-shot timeout armed for the earliest deadline the worker
//! has (a connection's header, idle or linger timeout, a send's timeout,
//! the accept back-off, the shutdown deadline), and re-armed earlier when
//! an event brings a deadline forward. With nothing to time no tick runs;
//! between deadlines none fires either, so an idle worker — with or
//! without connections open — makes no wake-ups, and an SQPOLL thread's
//! idle clock runs out (it sleeps).

use std::sync::atomic::Ordering;

use ring_core::owned;

use std::time::Duration;

use super::ops::{Armed, Kind, Owner};
use super::Worker;

impl Worker<'_> {
    /// Makes sure a tick fires by `at` (ms on the worker's clock): arms
    /// one if none is armed, or replaces one that fires later (it is
    /// cancelled; its completion is then only counted).
    pub(super) fn tick_by(&mut self, at: u64) {
        if self.tick_at.is_some_and(|t| t <= at) {
            return;
        }
        self.cancel_tick();
        let after = at.saturating_sub(self.now()).max(1);
        let op = owned::op::Timeout::new(Duration::from_millis(after));
        self.tick = self.ops.push(op, Owner::worker(Kind::Tick));
        self.ticks_in_flight += 1;
        self.tick_at = Some(at);
    }

    /// Cancels the armed tick, if any. One still in the backlog is taken
    /// out and will not complete, so it is no longer counted.
    pub(super) fn cancel_tick(&mut self) {
        if self.tick_at.take().is_none() {
            return;
        }
        let was = self.tick;
        self.tick = self.ops.cancel(was, Owner::worker(Kind::Tick));
        if was == Armed::Queued {
            self.ticks_in_flight -= 1;
        }
    }

    /// A connection's next deadline (its timeouts, its send's timeout),
    /// for the tick.
    pub(super) fn tick_for_conn(&mut self, idx: u32) {
        let send_timeout = self.limits.send_timeout_ms;
        let s = self.slots.get(idx);
        if s.fd().is_none() {
            return;
        }
        let send = match s.send {
            Armed::InFlight(_) => Some(s.send_since.saturating_add(send_timeout)),
            _ => None,
        };
        let at = match (s.conn.deadline(&self.limits), send) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(at) => at,
                None => return,
            },
        };
        self.tick_by(at);
    }

    /// A tick completed: it fired, or it was cancelled (replaced by an
    /// earlier one, or at exit). Whatever is due at `now` is done, and the
    /// tick re-armed for the earliest deadline left.
    pub(super) fn on_tick(&mut self, now: u64) {
        self.ticks_in_flight -= 1;
        if self.tick_at.is_some_and(|t| now >= t) {
            // The current tick fired (a cancelled one completes early).
            self.tick_at = None;
            self.tick = Armed::Idle;
        }
        if let Some(at) = self.accept_resume_at {
            if now >= at && !self.shutting_down {
                self.accept_resume_at = None;
                self.arm_accept();
            }
        }
        if !self.shutting_down && self.shared.stop.load(Ordering::SeqCst) {
            self.begin_shutdown();
        }
        if self.shutting_down && !self.forced && now >= self.shutdown_deadline {
            self.force_close_all();
        }
        let send_timeout = self.limits.send_timeout_ms;
        let mut next = u64::MAX;
        if let Some(at) = self.accept_resume_at {
            next = next.min(at);
        }
        if self.shutting_down && !self.forced {
            next = next.min(self.shutdown_deadline);
        }
        for idx in self.slots.indices() {
            let s = self.slots.get(idx);
            if s.fd().is_none() {
                continue;
            }
            if let Armed::InFlight(_) = s.send {
                if now.saturating_sub(s.send_since) >= send_timeout {
                    // The client has not read for send_timeout_ms: cancel
                    // the send and close the connection.
                    s.conn.abort();
                    s.send = self.ops.cancel(s.send, Owner::conn(Kind::Send, idx, s.gen));
                    self.slots.mark(idx);
                    continue;
                }
            }
            let before = s.conn.close_mode();
            s.conn.on_tick(now, &self.limits);
            let changed = s.conn.close_mode() != before || s.conn.has_output();
            if !changed && s.conn.is_idle() && s.send.is_idle() {
                s.conn.compact();
                if s.sending.is_empty() {
                    s.sending = Vec::new();
                }
            }
            if let Some(at) = s.conn.deadline(&self.limits) {
                next = next.min(at);
            }
            if let Armed::InFlight(_) = s.send {
                next = next.min(s.send_since.saturating_add(send_timeout));
            }
            if changed {
                self.slots.mark(idx);
            }
        }
        if next != u64::MAX && !(self.shutting_down && self.slots.live == 0) {
            // Not sooner than 5 ms from now: a deadline that is already due
            // is handled by the marked connection's driver this turn.
            self.tick_by(next.max(now + 5));
        }
    }
}
