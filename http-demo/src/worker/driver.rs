//! The per-connection driver: at the end of a turn, each connection an
//! event touched asks its [`Conn`](crate::conn::Conn) one question —
//! [`next`](crate::conn::Conn::next) — and the driver turns the answer into
//! operations: a send, a handler call for the pool, a `shutdown(SHUT_WR)`, a
//! close, and the receive armed or cancelled. A closed slot is freed once
//! nothing is in flight on it.

use ring_core::owned;

use super::ops::{Kind, Owner};
use super::slots::Phase;
use super::Worker;
use crate::calls::Job;
use crate::conn::Next;

const SHUT_WR: i32 = 1;

impl Worker<'_> {
    pub(super) fn flush_dirty(&mut self, now: u64) {
        // `flush` never marks a slot, so one pass empties the list; the
        // allocation is kept for the next turn.
        let dirty = self.slots.take_dirty();
        for &idx in &dirty {
            self.flush(idx, now);
        }
        self.slots.put_dirty(dirty);
        if self.listener.is_some() && self.shutting_down && self.accept.is_idle() {
            // The accept is gone; close the listener so new connections are
            // refused by the kernel.
            self.listener = None;
        }
    }

    /// Moves one connection forward.
    fn flush(&mut self, idx: u32, now: u64) {
        let (limits, handler) = (self.limits, self.handler);
        let s = self.slots.get(idx);
        let gen = s.gen;
        let owner = |kind| Owner::conn(kind, idx, gen);
        let mut read = false;
        // The rest of a short send goes out before anything else.
        if s.send.is_idle() && !s.sending.is_empty() {
            if let Phase::Open(fd) | Phase::ShuttingWrite(fd) = &s.phase {
                let op = owned::op::Send::new(fd, std::mem::take(&mut s.sending));
                s.send_since = now;
                s.send = self.ops.push(op, owner(Kind::Send));
            }
        }
        // Each answer acted on changes the connection's state, so this asks
        // at most a few times (send, then a call or a close decision).
        for _ in 0..4 {
            let s = self.slots.get(idx);
            if matches!(s.phase, Phase::Free | Phase::Closed { .. }) {
                break;
            }
            match s.conn.next(&limits) {
                Next::Send { read: r } => {
                    read = r;
                    if !s.send.is_idle() || !s.sending.is_empty() {
                        break; // one send at a time
                    }
                    let (Phase::Open(fd) | Phase::ShuttingWrite(fd)) = &s.phase else {
                        break;
                    };
                    s.conn.take_output(&mut s.sending);
                    s.conn.resume(now, &limits, handler);
                    let op = owned::op::Send::new(fd, std::mem::take(&mut s.sending));
                    s.send_since = now;
                    s.send = self.ops.push(op, owner(Kind::Send));
                }
                Next::Call { read: r } => {
                    read = r;
                    let Some(calls) = &self.shared.calls else {
                        break;
                    };
                    if s.call_queued {
                        break;
                    }
                    if self.calls_out < calls.per_worker() {
                        if let Some(n) = s.conn.take_call() {
                            self.calls_out += 1;
                            let worker = self.index;
                            calls.submit(Job {
                                worker,
                                idx,
                                gen,
                                n,
                            });
                        }
                    } else {
                        s.call_queued = true;
                        self.calls_waiting.push_back((idx, gen));
                        break;
                    }
                }
                Next::ShutdownWrite => {
                    read = true;
                    let Phase::Open(fd) = &s.phase else { break };
                    let op = owned::op::Shutdown::new(fd, SHUT_WR);
                    s.phase = Phase::ShuttingWrite(fd.clone());
                    s.conn.start_linger(now, &limits);
                    self.ops.push(op, owner(Kind::ShutdownWr));
                    break;
                }
                Next::Close => {
                    if let Phase::ShuttingWrite(_) = s.phase {
                        break; // closed once the shutdown completes
                    }
                    let Phase::Open(fd) = std::mem::replace(
                        &mut s.phase,
                        Phase::Closed {
                            close_in_flight: false,
                        },
                    ) else {
                        break;
                    };
                    // The close goes through the ring if no operation
                    // shares the descriptor; otherwise the last one closes
                    // it as it drops.
                    if let Ok(fd) = fd.try_unwrap() {
                        s.phase = Phase::Closed {
                            close_in_flight: true,
                        };
                        self.ops.push(owned::op::Close::new(fd), owner(Kind::Close));
                    }
                    break;
                }
                Next::Read(r) => {
                    read = r;
                    break;
                }
            }
        }
        // Keep the receive armed while reading is wanted; cancel it when not.
        let s = self.slots.get(idx);
        if let (true, Some(fd), true) = (read, s.fd(), s.recv.is_idle()) {
            let op = owned::op::RecvMulti::new(fd, self.bufs.clone());
            s.recv = self.ops.push(op, owner(Kind::Recv));
        } else if !read {
            s.recv = self.ops.cancel(s.recv, owner(Kind::Recv));
        }
        if s.finished() {
            let counted = self.slots.free(idx, now);
            self.release(counted);
        } else {
            self.tick_for_conn(idx);
        }
    }
}
