//! The I/O loop of one worker thread: the only code in http-demo that
//! touches ring-core, and it uses only the safe tier (`ring_core::owned`).
//!
//! Each worker has its own ring, its own SO_REUSEPORT listener and its own
//! provided-buffer ring. Per loop turn: one `submit_and_spin(1, ..)` (a
//! `submit_and_wait(1)` unless `--spin-us` is set), then every
//! completion is handled and the connections it touched are moved forward
//! (send, re-arm, close).
//!
//! Every operation owns what the kernel touches and comes back with its
//! final completion: a send owns the connection's output `Vec` (the slot
//! gets it back when the send completes), a receive holds an `Rc` of the
//! buffer ring, the tick owns its timespec, the wake-up read its 8 bytes,
//! and a close owns the descriptor it closes. So no memory the kernel may
//! use can be freed here, and no `unsafe` is needed; if the worker stops
//! with operations in flight, the ring's drop cancels and reaps them (or
//! leaks them past its timeout).
//!
//! Each operation is pushed with its `Owner` (kind, connection slot,
//! generation) as the ring's per-operation tag, and every completion carries
//! that tag back, so a completion says by itself what it is for. The worker
//! once kept its own table from token slot to owner and had to read it while
//! reaping, before a push of the same turn could reuse a slot that a final
//! completion had freed; with the owner in the completion that ordering no
//! longer matters.
//!
//! The files, one job each:
//!
//! | file | job |
//! |------|-----|
//! | `mod.rs` | the worker's state, its setup and the loop |
//! | `ops.rs` | the operation registry: `Op`, the `Owner` each is tagged with, cancellable states, the backlog |
//! | `slots.rs` | the connection slab: a slot's `Phase`, generations, the dirty list |
//! | `dispatch.rs` | completion handlers: accept, receive, send, wake-up (and handler results) |
//! | `driver.rs` | moves one connection forward by asking its `Conn` what next |
//! | `timers.rs` | the tick, armed for the earliest deadline: timeouts, the send timeout, accept back-off |
//! | `shutdown.rs` | graceful shutdown and its deadline |
//! | `spin.rs` | how long to poll for a completion before sleeping (`--spin-us`) |

mod dispatch;
mod driver;
mod ops;
mod shutdown;
mod slots;
mod spin;
mod timers;

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{self, Completion, Ring, SharedFd};
use ring_core::{IoUring, SubmitError};

use crate::calls::Done;
use crate::config::Config;
use crate::conn::Limits;
use crate::error::ServerError;
use crate::handler::Handler;
use crate::shared::Shared;
use spin::SpinPolicy;

use ops::{Armed, Kind, Op, Ops, Owner};
use slots::Slots;

const BGID: u16 = 0;

pub(crate) struct Worker<'a> {
    ops: Ops,
    slots: Slots,
    bufs: Rc<BufRing>,
    listener: Option<SharedFd>,
    wake_fd: &'a SharedFd,
    index: usize,
    shared: &'a Shared,
    handler: &'a dyn Handler,
    limits: Limits,
    config: &'a Config,
    /// Completions of the current turn (each tagged with its owner),
    /// handled after the completion queue is released.
    done: Vec<Completion<Op, Owner>>,
    accept: Armed,
    accept_resume_at: Option<u64>,
    accept_err_logged_at: Option<u64>,
    /// The latest tick pushed.
    tick: Armed,
    /// When that tick fires (ms), while it is armed.
    tick_at: Option<u64>,
    /// Ticks pushed and not completed (replaced ones complete cancelled).
    ticks_in_flight: u32,
    wake: Armed,
    shutting_down: bool,
    shutdown_deadline: u64,
    forced: bool,
    clock: Instant,
    /// Handler calls submitted to the pool and not yet back.
    calls_out: usize,
    /// Connections waiting for room in the pool, by (index, generation).
    calls_waiting: VecDeque<(u32, u32)>,
    /// Finished calls taken from the pool, handled this turn.
    calls_done: Vec<Done>,
    /// Refused connections (503) still closing.
    refusing: usize,
}

impl<'a> Worker<'a> {
    pub(crate) fn new(
        config: &'a Config,
        listener: OwnedFd,
        index: usize,
        shared: &'a Shared,
        handler: &'a dyn Handler,
    ) -> Result<Self, ServerError> {
        let mut b = IoUring::builder()
            .cq_entries(config.ring_entries.saturating_mul(16).min(65536))
            .submit_all();
        if config.sqpoll {
            b = b.sqpoll(1000);
        } else {
            b = b.single_issuer().defer_taskrun().taskrun_flag();
        }
        let mut raw = b.build(config.ring_entries)?;
        if !config.sqpoll {
            // Enters skip the fd lookup; the ring stays on this thread.
            raw.register_ring_fd()?;
        }
        let bufs = Rc::new(
            BufRing::builder(BGID, config.recv_buffers, config.recv_buffer_size).build(&raw)?,
        );
        Ok(Worker {
            ops: Ops::new(Ring::<Op, Owner>::from_ring(raw)),
            slots: Slots::default(),
            bufs,
            listener: Some(SharedFd::new(listener)),
            wake_fd: &shared.wakers[index],
            index,
            shared,
            handler,
            limits: config.limits,
            config,
            done: Vec::with_capacity(1024),
            accept: Armed::Idle,
            accept_resume_at: None,
            accept_err_logged_at: None,
            tick: Armed::Idle,
            tick_at: None,
            ticks_in_flight: 0,
            wake: Armed::Idle,
            shutting_down: false,
            shutdown_deadline: 0,
            forced: false,
            clock: Instant::now(),
            calls_out: 0,
            calls_waiting: VecDeque::new(),
            calls_done: Vec::new(),
            refusing: 0,
        })
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    pub(crate) fn run(&mut self) -> Result<(), ServerError> {
        self.arm_accept();
        self.arm_wake(vec![0u8; 8]);
        let mut spin = SpinPolicy::new(Duration::from_micros(u64::from(self.config.spin_us)));
        loop {
            self.drain_backlog();
            let start = spin.enabled().then(Instant::now);
            match self.ops.submit_and_spin(1, spin.budget()) {
                Ok(spun) => {
                    if let Some(start) = start {
                        spin.after(spun, start);
                    }
                }
                Err(SubmitError::CompletionQueueFull) => {}
                Err(e) => {
                    // Fatal for this worker: stop cleanly.
                    eprintln!("http-demo: worker stopping: io_uring_enter failed: {e}");
                    self.begin_shutdown();
                    self.force_close_all();
                    self.finish_in_flight();
                    return Err(ServerError::Enter(e));
                }
            }
            self.process_completions();
            if self.shutdown_done() {
                self.finish_in_flight();
                return Ok(());
            }
        }
    }

    /// Pushes what the backlog holds; the cancellable operations among them
    /// become `InFlight` with their tokens.
    fn drain_backlog(&mut self) {
        let Worker {
            ops,
            slots,
            accept,
            tick,
            wake,
            ..
        } = self;
        ops.drain_backlog(|owner, token| {
            let armed = match owner.kind {
                Kind::Accept => Some(&mut *accept),
                Kind::Tick => Some(&mut *tick),
                Kind::Wake => Some(&mut *wake),
                Kind::Recv => slots.live(owner).map(|s| &mut s.recv),
                Kind::Send => slots.live(owner).map(|s| &mut s.send),
                _ => None,
            };
            if let Some(a @ Armed::Queued) = armed {
                *a = Armed::InFlight(token);
            }
        });
    }

    /// Waits (bounded) for the worker's own operations to complete. What is
    /// still in flight after that is the ring's to cancel and reap (or leak)
    /// when it drops.
    fn finish_in_flight(&mut self) {
        let deadline = self.now() + 2000;
        while (self.ticks_in_flight > 0
            || !self.wake.is_idle()
            || !self.accept.is_idle()
            || self.slots.live > 0)
            && self.now() < deadline
        {
            self.drain_backlog();
            let _ = self
                .ops
                .submit_and_wait_timeout(1, Duration::from_millis(100));
            self.process_completions();
        }
        let left = self.ops.in_flight();
        if left > 0 {
            eprintln!(
                "http-demo: {left} operations still in flight at exit; the ring cancels them"
            );
        }
    }

    fn arm_accept(&mut self) {
        if !self.accept.is_idle() {
            return;
        }
        let Some(listener) = &self.listener else {
            return;
        };
        let op = owned::op::Accept::new(listener).multishot();
        self.accept = self.ops.push(op, Owner::worker(Kind::Accept));
    }

    fn arm_wake(&mut self, buf: Vec<u8>) {
        let op = owned::op::Read::new(self.wake_fd, buf);
        self.wake = self.ops.push(op, Owner::worker(Kind::Wake));
    }
}
