//! The I/O loop of one worker thread: the only code in http-demo that
//! touches ring-core, and it uses only the safe tier (`ring_core::owned`).
//!
//! Each worker has its own ring, its own SO_REUSEPORT listener and its own
//! provided-buffer ring. Per loop turn: one `submit_and_wait(1)`, then every
//! completion is handled and the connections it touched are flushed (send,
//! re-arm, close).
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
//! Multishot completions do not carry their operation, so each push records
//! in `owners` (indexed by the token's slot) what the operation is for: its
//! kind and, for connection operations, the connection's index and
//! generation. A completion's owner is read when it is reaped, before any
//! push of that turn can reuse the slot.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{self, Completion, PushError, Ring, SharedFd, Token};
use ring_core::{Errno, IoUring, SubmitError};

use crate::calls::{Done, Job};
use crate::config::Config;
use crate::conn::{CloseMode, Conn, Limits};
use crate::handler::Handler;
use crate::server::{ServerError, Shared};

ring_core::operations! {
    /// Everything a worker puts in flight.
    enum Op {
        Accept(owned::Accept),
        Recv(owned::RecvMulti),
        Send(owned::Send),
        Close(owned::Close),
        Cancel(owned::AsyncCancel),
        Shutdown(owned::Shutdown),
        Tick(owned::Timeout),
        Wake(owned::Read),
    }
}

// ---------------------------------------------------------------- owners

/// What an operation in flight is for: a kind and, for connection
/// operations, the connection slot and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Owner {
    kind: Kind,
    idx: u32,
    gen: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Accept,
    Recv,
    Send,
    Close,
    Cancel,
    Tick,
    Wake,
    ShutdownWr,
}

impl Owner {
    const fn worker(kind: Kind) -> Self {
        Owner {
            kind,
            idx: 0,
            gen: 0,
        }
    }
}

/// Where an operation that may be cancelled stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Armed {
    /// Not pushed.
    Idle,
    /// Waiting in the backlog: the kernel has not seen it, so "cancelling"
    /// it is taking it out of the backlog.
    Queued,
    /// In flight.
    InFlight(Token),
}

impl Armed {
    fn is_idle(self) -> bool {
        self == Armed::Idle
    }
}

const SHUT_WR: i32 = 1;
const BGID: u16 = 0;

// ---------------------------------------------------------------- slots

struct Slot {
    gen: u32,
    in_use: bool,
    /// The connection, shared with the operations in flight on it. At close
    /// it goes to a close operation if no operation shares it any more;
    /// otherwise the last one to complete closes it as it drops.
    fd: Option<SharedFd>,
    conn: Conn,
    /// Output waiting to be sent; empty while a send is in flight (the send
    /// owns the bytes and gives them back with its completion).
    sending: Vec<u8>,
    recv: Armed,
    recv_cancel_sent: bool,
    /// The send in flight, if any (one at a time).
    send: Armed,
    /// When the send in flight was pushed: a send that has not completed
    /// after `send_timeout_ms` means the client reads nothing.
    send_since: u64,
    /// Counted in `Shared::connections` (refused connections are not).
    counted: bool,
    /// Waiting for room in the handler pool.
    call_queued: bool,
    /// A shutdown(SHUT_WR) is in flight. The kernel always runs shutdown on
    /// an io-wq worker and resolves the fd number only then, so the fd must
    /// not be closed (and its number reused by a new connection) before it
    /// completes.
    shutdown_inflight: bool,
    close_inflight: bool,
    /// Close has been issued; the slot is freed once nothing is in flight.
    closed: bool,
    /// The peer reset or a send failed: close without sending more.
    broken: bool,
    dirty: bool,
}

impl Slot {
    fn idle_in_flight(&self) -> bool {
        self.recv.is_idle()
            && self.send.is_idle()
            && !self.shutdown_inflight
            && !self.close_inflight
    }
}

// ---------------------------------------------------------------- worker

pub(crate) struct Worker<'a> {
    ring: Ring<Op>,
    bufs: Rc<BufRing>,
    listener: Option<SharedFd>,
    wake_fd: &'a SharedFd,
    index: usize,
    shared: &'a Shared,
    handler: &'a dyn Handler,
    limits: Limits,
    config: &'a Config,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    dirty: Vec<u32>,
    /// By token slot: what each operation in flight is for.
    owners: Vec<Owner>,
    /// Completions of the current turn with their owners, handled after
    /// the queue is released.
    done: Vec<(Completion<Op>, Owner)>,
    /// Operations that did not fit the submission queue, in order.
    backlog: VecDeque<(Op, Owner)>,
    tick_every: Duration,
    accept: Armed,
    accept_resume_at: Option<u64>,
    accept_err_logged_at: Option<u64>,
    tick: Armed,
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
        let tick_every = Duration::from_millis(tick_interval(&config.limits));
        Ok(Worker {
            ring: Ring::<Op>::from_ring(raw),
            bufs,
            listener: Some(SharedFd::new(listener)),
            wake_fd: &shared.wakers[index],
            index,
            shared,
            handler,
            limits: config.limits,
            config,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            dirty: Vec::new(),
            owners: Vec::new(),
            done: Vec::with_capacity(1024),
            backlog: VecDeque::new(),
            tick_every,
            accept: Armed::Idle,
            accept_resume_at: None,
            accept_err_logged_at: None,
            tick: Armed::Idle,
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

    /// Pushes an operation for `owner`; if the SQ is full even after
    /// submitting, keeps it for the next turn. Says where it stands.
    fn push(&mut self, op: impl Into<Op>, owner: Owner) -> Armed {
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

    /// Pushes an operation and records its owner, or hands it back if the
    /// SQ stays full.
    fn try_push(&mut self, op: Op, owner: Owner) -> Result<Token, Op> {
        let token = self.ring.push(op).map_err(PushError::into_inner)?;
        self.own(token, owner);
        Ok(token)
    }

    fn own(&mut self, token: Token, owner: Owner) {
        let i = token.slot();
        if i >= self.owners.len() {
            self.owners.resize(i + 1, Owner::worker(Kind::Cancel));
        }
        self.owners[i] = owner;
    }

    /// Pushes what the backlog holds, in order, until the queue is full,
    /// and records the tokens of the operations that may be cancelled.
    fn drain_backlog(&mut self) {
        while let Some((op, owner)) = self.backlog.pop_front() {
            match self.try_push(op, owner) {
                Ok(token) => {
                    if let Some(armed) = self.armed_mut(owner) {
                        *armed = Armed::InFlight(token);
                    }
                }
                Err(op) => {
                    self.backlog.push_front((op, owner));
                    break;
                }
            }
        }
    }

    /// The state of the cancellable operation `owner` names.
    fn armed_mut(&mut self, owner: Owner) -> Option<&mut Armed> {
        match owner.kind {
            Kind::Accept => Some(&mut self.accept),
            Kind::Tick => Some(&mut self.tick),
            Kind::Wake => Some(&mut self.wake),
            Kind::Recv => self.live_slot(owner).map(|s| &mut s.recv),
            Kind::Send => self.live_slot(owner).map(|s| &mut s.send),
            _ => None,
        }
    }

    /// Cancels a cancellable operation: in flight, by token; still in the
    /// backlog, by taking it out (the kernel never saw it).
    fn cancel(&mut self, armed: Armed, owner: Owner) {
        match armed {
            Armed::Idle => {}
            Armed::InFlight(t) => {
                self.push(owned::AsyncCancel::token(t), Owner::worker(Kind::Cancel));
            }
            Armed::Queued => {
                self.backlog.retain(|(_, o)| *o != owner);
                if let Some(a) = self.armed_mut(owner) {
                    *a = Armed::Idle;
                }
            }
        }
    }

    pub(crate) fn run(&mut self) -> Result<(), ServerError> {
        self.arm_accept();
        self.arm_wake(vec![0u8; 8]);
        loop {
            self.drain_backlog();
            match self.ring.submit_and_wait(1) {
                Ok(_) | Err(SubmitError::CompletionQueueFull) => {}
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
            if self.shutting_down && self.live == 0 && self.accept.is_idle() {
                self.cancel(self.tick, Owner::worker(Kind::Tick));
                self.cancel(self.wake, Owner::worker(Kind::Wake));
                self.finish_in_flight();
                return Ok(());
            }
        }
    }

    /// Handles every ready completion, then moves the connections they
    /// touched forward: the second half of each loop turn.
    fn process_completions(&mut self) {
        let mut done = std::mem::take(&mut self.done);
        // Owners are looked up now, before handling pushes anything: a
        // final completion frees its token's slot, and a push while
        // handling an earlier completion may reuse it.
        let owners = &self.owners;
        done.extend(self.ring.completions().map(|c| {
            let owner = owners.get(c.token().slot()).copied();
            (c, owner.unwrap_or(Owner::worker(Kind::Cancel)))
        }));
        let now = self.now();
        for (c, owner) in done.drain(..) {
            self.handle(c, owner, now);
        }
        self.done = done;
        self.flush_dirty(now);
    }

    /// Waits (bounded) for the worker's own operations to complete. What is
    /// still in flight after that is the ring's to cancel and reap (or leak)
    /// when it drops.
    fn finish_in_flight(&mut self) {
        let deadline = self.now() + 2000;
        while (!self.tick.is_idle()
            || !self.wake.is_idle()
            || !self.accept.is_idle()
            || self.live > 0)
            && self.now() < deadline
        {
            self.drain_backlog();
            let _ = self
                .ring
                .submit_and_wait_timeout(1, Duration::from_millis(100));
            self.process_completions();
        }
        let left = self.ring.in_flight();
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
        let op = owned::Accept::new(listener).multishot();
        self.accept = self.push(op, Owner::worker(Kind::Accept));
    }

    /// Arms the next tick if something needs timing and none is armed.
    /// With nothing to time (no connection, no accept back-off) no tick
    /// runs, so an idle worker makes no wake-ups: with SQPOLL the kernel
    /// thread's idle clock runs out and it sleeps.
    fn arm_tick(&mut self) {
        if !self.tick.is_idle() || (self.live == 0 && self.accept_resume_at.is_none()) {
            return;
        }
        let op = owned::Timeout::new(self.tick_every);
        self.tick = self.push(op, Owner::worker(Kind::Tick));
    }

    fn arm_wake(&mut self, buf: Vec<u8>) {
        let op = owned::Read::new(self.wake_fd, buf);
        self.wake = self.push(op, Owner::worker(Kind::Wake));
    }

    fn handle(&mut self, mut c: Completion<Op>, owner: Owner, now: u64) {
        match owner.kind {
            Kind::Accept => self.on_accept(c, now),
            Kind::Tick => {
                if c.is_final() {
                    self.tick = Armed::Idle;
                }
                self.on_tick(now);
                self.arm_tick();
            }
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
                if let Some(slot) = self.live_slot(owner) {
                    slot.shutdown_inflight = false;
                    self.mark(owner.idx);
                }
            }
            Kind::Recv => {
                if self.live_slot(owner).is_some() {
                    self.on_recv(owner.idx, c, now);
                }
            }
            Kind::Send => {
                if self.live_slot(owner).is_some() {
                    self.on_send(owner.idx, c);
                }
            }
            Kind::Close => {
                if let Some(slot) = self.live_slot(owner) {
                    slot.close_inflight = false;
                    self.mark(owner.idx);
                }
            }
        }
    }

    /// The slot `owner` names, if it is still that connection.
    fn live_slot(&mut self, owner: Owner) -> Option<&mut Slot> {
        self.slots
            .get_mut(owner.idx as usize)
            .filter(|s| s.in_use && s.gen == owner.gen)
    }

    fn on_accept(&mut self, mut c: Completion<Op>, now: u64) {
        if c.is_final() {
            self.accept = Armed::Idle;
        }
        match c.result() {
            Ok(_) => {
                if let Some(fd) = c.take_fd() {
                    if !self.shutting_down {
                        self.open_slot(fd, now);
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
                    self.accept_resume_at = Some(now + self.config.accept_backoff_ms);
                    self.arm_tick();
                }
            }
        }
        if self.accept.is_idle() && self.accept_resume_at.is_none() && !self.shutting_down {
            self.arm_accept();
        }
    }

    fn open_slot(&mut self, fd: OwnedFd, now: u64) {
        // At the limit, a connection gets a 503 and a lingering close; past
        // twice the limit (a flood), it is closed at once.
        let open = self.shared.connections.fetch_add(1, Ordering::Relaxed);
        let counted = open < self.config.max_connections;
        if !counted {
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
            if self.refusing >= self.config.max_connections {
                return; // dropping `fd` closes it
            }
            self.refusing += 1;
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() >= 0xff_ffff {
                    self.release(counted);
                    return; // dropping `fd` closes it
                }
                self.slots.push(Slot {
                    gen: 0,
                    in_use: false,
                    fd: None,
                    conn: Conn::new(now),
                    sending: Vec::new(),
                    recv: Armed::Idle,
                    recv_cancel_sent: false,
                    send: Armed::Idle,
                    send_since: 0,
                    counted: false,
                    call_queued: false,
                    shutdown_inflight: false,
                    close_inflight: false,
                    closed: false,
                    broken: false,
                    dirty: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        s.in_use = true;
        s.fd = Some(SharedFd::new(fd));
        s.conn = if counted {
            Conn::new(now)
        } else {
            Conn::refused(now)
        };
        s.sending.clear();
        s.recv = Armed::Idle;
        s.recv_cancel_sent = false;
        s.send = Armed::Idle;
        s.counted = counted;
        s.call_queued = false;
        s.shutdown_inflight = false;
        s.close_inflight = false;
        s.closed = false;
        s.broken = false;
        self.live += 1;
        self.mark(idx);
        self.arm_tick();
    }

    /// A connection slot is gone: un-count it.
    fn release(&mut self, counted: bool) {
        if counted {
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.refusing -= 1;
        }
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
            let owner = Owner {
                kind: Kind::Send,
                idx: d.idx,
                gen: d.gen,
            };
            if let Some(slot) = self.live_slot(owner) {
                slot.conn.complete_call(d.result, now, &limits, handler);
                self.mark(d.idx);
            }
        }
        self.calls_done = done;
        let room = calls.per_worker().saturating_sub(self.calls_out);
        for _ in 0..room {
            let Some((idx, gen)) = self.calls_waiting.pop_front() else {
                break;
            };
            let owner = Owner {
                kind: Kind::Send,
                idx,
                gen,
            };
            if let Some(slot) = self.live_slot(owner) {
                slot.call_queued = false;
                self.mark(idx);
            }
        }
    }

    fn mark(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(idx);
        }
    }

    fn on_recv(&mut self, idx: u32, mut c: Completion<Op>, now: u64) {
        let Worker {
            slots,
            handler,
            limits,
            ..
        } = self;
        let slot = &mut slots[idx as usize];
        if c.is_final() {
            slot.recv = Armed::Idle;
        }
        match c.result() {
            Ok(0) => slot.conn.on_eof(),
            Ok(_) => match c.take_buf() {
                Some(buf) => {
                    if !slot.closed && !slot.broken {
                        slot.conn.on_data(&buf, now, limits, *handler);
                    }
                }
                None => {
                    eprintln!("http-demo: a receive completion without its buffer");
                    slot.broken = true;
                }
            },
            Err(Errno::NOBUFS) | Err(Errno::CANCELED) => {} // re-armed in flush if still wanted
            Err(_) => slot.broken = true,                   // ECONNRESET and friends
        }
        self.mark(idx);
    }

    fn on_send(&mut self, idx: u32, mut c: Completion<Op>) {
        let slot = &mut self.slots[idx as usize];
        slot.send = Armed::Idle;
        let Some(Op::Send(send)) = c.take_op() else {
            return;
        };
        let mut bytes = send.into_buf();
        match c.result() {
            Ok(n) => {
                // A short send leaves the rest for the next one.
                bytes.drain(..(n as usize).min(bytes.len()));
            }
            Err(_) => {
                // EPIPE, ECONNRESET, ...: the peer is gone.
                slot.broken = true;
                bytes.clear();
            }
        }
        slot.sending = bytes;
        self.mark(idx);
    }

    fn on_tick(&mut self, now: u64) {
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
        for idx in 0..self.slots.len() as u32 {
            let s = &mut self.slots[idx as usize];
            if !s.in_use || s.closed {
                continue;
            }
            if let Armed::InFlight(_) = s.send {
                if now.saturating_sub(s.send_since) >= send_timeout {
                    // The client has not read for send_timeout_ms: cancel
                    // the send and close the connection.
                    let (send, gen) = (s.send, s.gen);
                    s.broken = true;
                    self.cancel(
                        send,
                        Owner {
                            kind: Kind::Send,
                            idx,
                            gen,
                        },
                    );
                    self.mark(idx);
                    continue;
                }
            }
            let before = s.conn.close_mode();
            s.conn.on_tick(now, &self.limits);
            if s.conn.close_mode() != before || s.conn.has_output() {
                self.mark(idx);
            } else if s.conn.is_idle() && s.send.is_idle() {
                s.conn.compact();
                if s.sending.is_empty() {
                    s.sending = Vec::new();
                }
            }
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.shutdown_deadline = self.now() + self.config.shutdown_deadline_ms;
        self.cancel(self.accept, Owner::worker(Kind::Accept));
        self.accept_resume_at = None;
        for idx in 0..self.slots.len() as u32 {
            if self.slots[idx as usize].in_use {
                self.slots[idx as usize].conn.begin_shutdown();
                self.mark(idx);
            }
        }
    }

    /// The shutdown deadline has passed (or the worker must stop): every
    /// connection is closed, and the sends still in flight are cancelled so
    /// that a client that never reads cannot hold the worker.
    fn force_close_all(&mut self) {
        self.forced = true;
        for idx in 0..self.slots.len() as u32 {
            let s = &mut self.slots[idx as usize];
            if !s.in_use {
                continue;
            }
            let (send, gen) = (s.send, s.gen);
            if !s.closed {
                s.broken = true;
                self.mark(idx);
            }
            let owner = Owner {
                kind: Kind::Send,
                idx,
                gen,
            };
            self.cancel(send, owner);
        }
    }

    fn flush_dirty(&mut self, now: u64) {
        // `flush` never marks a slot, so one pass empties the list; the
        // allocation is kept for the next turn.
        let mut dirty = std::mem::take(&mut self.dirty);
        for &idx in &dirty {
            self.slots[idx as usize].dirty = false;
            self.flush(idx, now);
        }
        dirty.clear();
        self.dirty = dirty;
        if self.listener.is_some() && self.shutting_down && self.accept.is_idle() {
            // The accept is gone; close the listener so new connections are
            // refused by the kernel.
            self.listener = None;
        }
    }

    /// Moves one connection forward: send output, close, (re-)arm or pause
    /// the receive, free the slot.
    fn flush(&mut self, idx: u32, now: u64) {
        let limits = self.limits;
        let handler = self.handler;
        let s = &mut self.slots[idx as usize];
        if !s.in_use {
            return;
        }
        let gen = s.gen;
        let owner = |kind| Owner { kind, idx, gen };
        let mut send = None;
        let mut stop_recv = false;
        let mut shutdown = None;
        let mut recv = None;
        let mut close = None;
        let mut call = None;
        if !s.closed {
            if s.broken {
                s.conn.abort();
            }
            // Send what is ready, one send in flight at a time.
            if !s.broken && s.send.is_idle() {
                if s.sending.is_empty() && s.conn.has_output() {
                    s.conn.take_output(&mut s.sending);
                    s.conn.resume(now, &limits, handler);
                }
                if let (false, Some(fd)) = (s.sending.is_empty(), &s.fd) {
                    send = Some(owned::Send::new(fd, std::mem::take(&mut s.sending)));
                    s.send_since = now;
                }
            }
            // A handler call that may block goes to the pool, or waits for
            // room there.
            if !s.broken && !s.call_queued && s.conn.is_calling() {
                if let Some(calls) = &self.shared.calls {
                    if self.calls_out < calls.per_worker() {
                        call = s.conn.take_call();
                    } else if s.conn.call_pending() {
                        s.call_queued = true;
                        self.calls_waiting.push_back((idx, gen));
                    }
                }
            }
            let flushed =
                send.is_none() && s.send.is_idle() && s.sending.is_empty() && !s.conn.has_output();
            let close_now = !s.shutdown_inflight
                && (s.broken || (flushed && s.conn.close_mode() == Some(CloseMode::Clean)));
            if close_now {
                s.closed = true;
                stop_recv = !s.recv_cancel_sent;
                s.recv_cancel_sent = true;
                if let Some(Ok(fd)) = s.fd.take().map(SharedFd::try_unwrap) {
                    s.close_inflight = true;
                    close = Some(owned::Close::new(fd));
                }
            } else if let Some(fd) = &s.fd {
                if flushed && s.conn.close_mode() == Some(CloseMode::Linger) && !s.conn.lingering()
                {
                    s.conn.start_linger(now, &limits);
                    s.shutdown_inflight = true;
                    shutdown = Some(owned::Shutdown::new(fd, SHUT_WR));
                }
                let wants = s.conn.wants_read(&limits);
                if wants && s.recv.is_idle() {
                    s.recv_cancel_sent = false;
                    recv = Some(owned::RecvMulti::new(fd, self.bufs.clone()));
                } else if !wants && !s.recv_cancel_sent && !s.recv.is_idle() {
                    // Output backlog: stop reading until it drains.
                    s.recv_cancel_sent = true;
                    stop_recv = true;
                }
            }
        }
        let recv_state = s.recv;
        if let Some(op) = send {
            let armed = self.push(op, owner(Kind::Send));
            self.slots[idx as usize].send = armed;
        }
        if let (Some(n), Some(calls)) = (call, &self.shared.calls) {
            self.calls_out += 1;
            calls.submit(Job {
                worker: self.index,
                idx,
                gen,
                n,
            });
        }
        if stop_recv {
            self.cancel(recv_state, owner(Kind::Recv));
        }
        if let Some(op) = shutdown {
            self.push(op, owner(Kind::ShutdownWr));
        }
        if let Some(op) = recv {
            let armed = self.push(op, owner(Kind::Recv));
            self.slots[idx as usize].recv = armed;
        }
        if let Some(op) = close {
            self.push(op, owner(Kind::Close));
        }
        let s = &mut self.slots[idx as usize];
        if s.closed && s.idle_in_flight() {
            s.in_use = false;
            s.gen = s.gen.wrapping_add(1);
            s.conn = Conn::new(now);
            s.sending = Vec::new();
            let counted = s.counted;
            self.free.push(idx);
            self.live -= 1;
            self.release(counted);
        }
    }
}

/// How often the worker checks timeouts: a quarter of the shortest timeout,
/// between 5 ms and 250 ms.
fn tick_interval(l: &Limits) -> u64 {
    let shortest = l
        .header_timeout_ms
        .min(l.idle_timeout_ms)
        .min(l.linger_ms)
        .min(l.send_timeout_ms);
    (shortest / 4).clamp(5, 250)
}
