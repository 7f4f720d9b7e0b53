//! Completion handlers: each completion of a turn goes to the handler of
//! its kind, which updates the worker or the connection it is for and
//! marks that connection for the driver. Finished handler calls arrive with
//! the wake-up read.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;

use ring_core::owned::{Completion, SharedFd};
use ring_core::Errno;

use super::ops::{Armed, Kind, Op, Owner};
use super::slots::Phase;
use super::Worker;
use crate::conn::Conn;

impl Worker<'_> {
    /// Handles every ready completion, then moves the connections they
    /// touched forward: the second half of each loop turn.
    pub(super) fn process_completions(&mut self) {
        let mut done = std::mem::take(&mut self.done);
        self.ops.reap(&mut done);
        let now = self.now();
        for c in done.drain(..) {
            self.handle(c, now);
        }
        self.done = done;
        self.flush_dirty(now);
    }

    /// Hands a completion to the handler of its kind; the completion
    /// carries its owner as its tag.
    fn handle(&mut self, mut c: Completion<Op, Owner>, now: u64) {
        let owner = *c.tag();
        match owner.kind {
            Kind::Accept => self.on_accept(c, now),
            Kind::Tick => self.on_tick(now),
            Kind::Wake => {
                self.wake = Armed::Idle;
                self.on_calls_done(now);
                if self.shared.stop.load(Ordering::SeqCst) {
                    self.begin_shutdown();
                }
                // Re-armed until the worker exits: finished handler calls
                // arrive through it during a shutdown too.
                if c.result().is_ok() {
                    if let Some(Op::Wake(read)) = c.take_op() {
                        self.arm_wake(read.into_buf());
                    }
                }
            }
            Kind::Cancel => {}
            Kind::ShutdownWr => {
                if let Some(slot) = self.slots.live(owner) {
                    if let Phase::ShuttingWrite(_) = slot.phase {
                        let Phase::ShuttingWrite(fd) =
                            std::mem::replace(&mut slot.phase, Phase::Free)
                        else {
                            unreachable!("matched above")
                        };
                        slot.phase = Phase::Open(fd);
                    }
                    self.slots.mark(owner.idx);
                }
            }
            Kind::Recv => self.on_recv(owner, c, now),
            Kind::Send => self.on_send(owner, c),
            Kind::Close => {
                if let Some(slot) = self.slots.live(owner) {
                    slot.phase = Phase::Closed {
                        close_in_flight: false,
                    };
                    self.slots.mark(owner.idx);
                }
            }
        }
    }

    fn on_accept(&mut self, mut c: Completion<Op, Owner>, now: u64) {
        if c.is_final() {
            self.accept = Armed::Idle;
        }
        match c.result() {
            Ok(_) => {
                if let Some(fd) = c.take_fd() {
                    if !self.shutting_down {
                        self.open_conn(fd, now);
                    } // else: dropping it closes it
                }
            }
            Err(Errno::CANCELED) => {}
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS/ENOMEM and the like: back off, log
                // once per interval, accept again later.
                let interval = 10 * self.config.accept_backoff_ms.max(100);
                if self
                    .accept_err_logged_at
                    .is_none_or(|t| now >= t + interval)
                {
                    eprintln!(
                        "http-demo: accept failed ({e}); pausing accepts for {} ms",
                        self.config.accept_backoff_ms
                    );
                    self.accept_err_logged_at = Some(now);
                }
                if self.accept.is_idle() {
                    let at = now + self.config.accept_backoff_ms;
                    self.accept_resume_at = Some(at);
                    self.tick_by(at);
                }
            }
        }
        if self.accept.is_idle() && self.accept_resume_at.is_none() && !self.shutting_down {
            self.arm_accept();
        }
    }

    /// A new connection: a slot for it, or, at the connection limit, a 503
    /// and a lingering close (past twice the limit, a flood, it is closed at
    /// once).
    fn open_conn(&mut self, fd: OwnedFd, now: u64) {
        let open = self.shared.connections.fetch_add(1, Ordering::Relaxed);
        let counted = open < self.config.max_connections;
        if !counted {
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
            if self.refusing >= self.config.max_connections {
                return; // dropping `fd` closes it
            }
            self.refusing += 1;
        }
        let conn = if counted {
            Conn::new(now)
        } else {
            Conn::refused(now)
        };
        if self.slots.open(SharedFd::new(fd), conn, counted).is_none() {
            self.release(counted);
        }
    }

    /// A connection slot is gone: un-count it.
    pub(super) fn release(&mut self, counted: bool) {
        if counted {
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.refusing -= 1;
        }
    }

    fn on_recv(&mut self, owner: Owner, mut c: Completion<Op, Owner>, now: u64) {
        let (limits, handler) = (self.limits, self.handler);
        let Some(slot) = self.slots.live(owner) else {
            return;
        };
        if c.is_final() {
            slot.recv = Armed::Idle;
        }
        match c.result() {
            Ok(0) => slot.conn.on_eof(),
            Ok(_) => match c.take_buf() {
                Some(buf) => slot.conn.on_data(&buf, now, &limits, handler),
                None => {
                    eprintln!("http-demo: a receive completion without its buffer");
                    slot.conn.abort();
                }
            },
            Err(Errno::NOBUFS) | Err(Errno::CANCELED) => {} // re-armed by the driver if still wanted
            Err(_) => slot.conn.abort(),                    // ECONNRESET and friends
        }
        self.slots.mark(owner.idx);
    }

    fn on_send(&mut self, owner: Owner, mut c: Completion<Op, Owner>) {
        let Some(slot) = self.slots.live(owner) else {
            return;
        };
        slot.send = Armed::Idle;
        let Some(Op::Send(send)) = c.take_op() else {
            return;
        };
        let mut bytes = send.into_buf();
        match c.result() {
            Ok(n) => {
                // A short send leaves the rest for the next one.
                bytes.drain(..(n as usize).min(bytes.len()));
                if bytes.is_empty() {
                    slot.conn.on_sent();
                }
            }
            Err(_) => {
                // EPIPE, ECONNRESET, ...: the peer is gone.
                slot.conn.abort();
                bytes.clear();
            }
        }
        slot.sending = bytes;
        self.slots.mark(owner.idx);
    }

    /// Takes the pool's finished calls: answers them, and lets connections
    /// waiting for room in the pool go on.
    fn on_calls_done(&mut self, now: u64) {
        let Some(calls) = &self.shared.calls else {
            return;
        };
        let (limits, handler) = (self.limits, self.handler);
        let mut done = std::mem::take(&mut self.calls_done);
        calls.take_results(self.index, &mut done);
        for d in done.drain(..) {
            self.calls_out -= 1;
            if let Some(slot) = self.slots.live(Owner::conn(Kind::Send, d.idx, d.gen)) {
                slot.conn.complete_call(d.result, now, &limits, handler);
                self.slots.mark(d.idx);
            }
        }
        self.calls_done = done;
        let room = calls.per_worker().saturating_sub(self.calls_out);
        for _ in 0..room {
            let Some((idx, gen)) = self.calls_waiting.pop_front() else {
                break;
            };
            if let Some(slot) = self.slots.live(Owner::conn(Kind::Send, idx, gen)) {
                slot.call_queued = false;
                self.slots.mark(idx);
            }
        }
    }
}
