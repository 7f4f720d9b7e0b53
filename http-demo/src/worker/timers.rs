//! The tick: a one-shot timeout, armed only while something needs timing
//! (a connection, an accept back-off), that checks the connections'
//! timeouts, the send timeout, the accept back-off and the shutdown
//! deadline. With nothing to time no tick runs, so an idle worker makes no
//! wake-ups and an SQPOLL thread's idle clock runs out (it sleeps).

use std::sync::atomic::Ordering;

use ring_core::owned;

use super::ops::{Armed, Kind, Owner};
use super::Worker;
use crate::conn::Limits;

/// How often the worker checks timeouts: a quarter of the shortest timeout,
/// between 5 ms and 250 ms.
pub(super) fn tick_interval(l: &Limits) -> u64 {
    let shortest = l
        .header_timeout_ms
        .min(l.idle_timeout_ms)
        .min(l.linger_ms)
        .min(l.send_timeout_ms);
    (shortest / 4).clamp(5, 250)
}

impl Worker<'_> {
    /// Arms the next tick if something needs timing and none is armed.
    pub(super) fn arm_tick(&mut self) {
        if !self.tick.is_idle() || (self.slots.live == 0 && self.accept_resume_at.is_none()) {
            return;
        }
        let op = owned::op::Timeout::new(self.tick_every);
        self.tick = self.ops.push(op, Owner::worker(Kind::Tick));
    }

    /// The tick fired (or was cancelled, at exit).
    pub(super) fn on_tick(&mut self, now: u64) {
        self.tick = Armed::Idle;
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
            if s.conn.close_mode() != before || s.conn.has_output() {
                self.slots.mark(idx);
            } else if s.conn.is_idle() && s.send.is_idle() {
                s.conn.compact();
                if s.sending.is_empty() {
                    s.sending = Vec::new();
                }
            }
        }
        self.arm_tick();
    }
}
