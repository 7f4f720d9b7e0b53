//! The I/O loop: the only code in http-demo that touches ring-core.
//!
//! One worker thread per configured thread, each with its own ring, its own
//! SO_REUSEPORT listener and its own provided-buffer ring. Per loop turn:
//! one `submit_and_wait(1)`, then every completion is handled and the
//! connections it touched are flushed (send, re-arm, close).
//!
//! Operations and what each keeps alive (the `push` contract):
//! - multishot accept: the listener fd, owned by the worker;
//! - multishot recv with buffer select: the worker's `BufRing`, which
//!   outlives every operation (the worker waits for all of them before it
//!   returns);
//! - send: the slot's `sending` buffer, never touched while `send_inflight`,
//!   and a slot is reused only once nothing of it is in flight;
//! - the tick timeout and the wake-up read: the worker's boxed timespec and
//!   8-byte buffer.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ring_core::buf_ring::BufRing;
use ring_core::opcode::{self, CancelBy};
use ring_core::types::{Fd, Timespec};
use ring_core::{cqueue, squeue, Errno, IoUring, SubmitError};

use crate::config::Config;
use crate::conn::{CloseMode, Conn, Limits};
use crate::handler::Handler;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Creating, binding or listening on a socket failed (port in use, ...).
    #[error("cannot listen on {addr}: {errno}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        errno: Errno,
    },
    /// Setting up io_uring failed.
    #[error("io_uring setup failed: {0}")]
    Ring(#[from] ring_core::Error),
    /// The settings are inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An unexpected io_uring_enter error stopped a worker.
    #[error("io_uring_enter failed: {0}")]
    Enter(SubmitError),
    /// A worker thread panicked (a bug; the others were stopped).
    #[error("a worker thread panicked")]
    WorkerPanicked,
    /// Creating the wake-up eventfd or a thread failed.
    #[error("{what}: {errno}")]
    Os {
        /// What failed.
        what: &'static str,
        /// The error.
        errno: Errno,
    },
}

struct Shared {
    stop: AtomicBool,
    /// One eventfd per worker, written to wake it for shutdown.
    wakers: Vec<OwnedFd>,
}

/// Stops a running server gracefully from any thread: stop accepting,
/// answer requests already received, close idle connections, return from
/// [`Server::run`].
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Requests a graceful shutdown. Idempotent.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for fd in &self.shared.wakers {
            let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
        }
    }

    /// Whether shutdown was requested.
    pub fn is_shutdown(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("stopped", &self.is_shutdown())
            .finish()
    }
}

/// A bound server, ready to [`run`](Self::run).
pub struct Server {
    config: Config,
    handler: Arc<dyn Handler>,
    listeners: Vec<OwnedFd>,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.config.threads)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds one SO_REUSEPORT listener per thread (so a port in use is
    /// reported here) and checks that io_uring works.
    pub fn bind<H: Handler + 'static>(config: Config, handler: H) -> Result<Server, ServerError> {
        Self::bind_arc(config, Arc::new(handler))
    }

    /// As [`bind`](Self::bind), with a shared handler.
    pub fn bind_arc(config: Config, handler: Arc<dyn Handler>) -> Result<Server, ServerError> {
        config.validate().map_err(ServerError::Config)?;
        // Fail early and clearly where io_uring is unavailable.
        drop(IoUring::new(2)?);
        let mut listeners = Vec::with_capacity(config.threads);
        let mut addr = SocketAddr::new(config.addr, config.port);
        for _ in 0..config.threads {
            let l = listen(addr, config.backlog)
                .map_err(|errno| ServerError::Listen { addr, errno })?;
            if addr.port() == 0 {
                // Bind the other listeners to the port the first one got.
                addr = local_addr(&l).map_err(|errno| ServerError::Listen { addr, errno })?;
            }
            listeners.push(l);
        }
        let local_addr =
            local_addr(&listeners[0]).map_err(|errno| ServerError::Listen { addr, errno })?;
        let wakers = (0..config.threads)
            .map(|_| rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|errno| ServerError::Os {
                what: "eventfd",
                errno,
            })?;
        Ok(Server {
            config,
            handler,
            listeners,
            local_addr,
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                wakers,
            }),
        })
    }

    /// The address the server listens on (with the real port if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves until [`ShutdownHandle::shutdown`]; returns after every worker
    /// has finished. If one worker fails, the others are shut down too.
    pub fn run(self) -> Result<(), ServerError> {
        let Server {
            config,
            handler,
            listeners,
            shared,
            ..
        } = self;
        let mut threads = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let config = config.clone();
            let handler = handler.clone();
            let worker_shared = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("http-demo-{i}"))
                .spawn(move || {
                    let shared = worker_shared;
                    let result = Worker::new(&config, listener, i, &shared, &*handler)
                        .and_then(|mut w| w.run());
                    if result.is_err() {
                        // Take the others down with us rather than serve half.
                        ShutdownHandle { shared }.shutdown();
                    }
                    result
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    ShutdownHandle {
                        shared: shared.clone(),
                    }
                    .shutdown();
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(ServerError::Os {
                        what: "spawning a worker thread",
                        errno: Errno::from_io_error(&e).unwrap_or(Errno::AGAIN),
                    });
                }
            }
        }
        let mut first_err = None;
        for t in threads {
            let r = t.join().unwrap_or(Err(ServerError::WorkerPanicked));
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn listen(addr: SocketAddr, backlog: u32) -> Result<OwnedFd, Errno> {
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    let family = match addr.ip() {
        IpAddr::V4(_) => AddressFamily::INET,
        IpAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux, so no
    // per-connection setsockopt is needed.
    sockopt::set_tcp_nodelay(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, backlog.min(i32::MAX as u32) as i32)?;
    Ok(fd)
}

fn local_addr(fd: &OwnedFd) -> Result<SocketAddr, Errno> {
    let a = rustix::net::getsockname(fd)?;
    SocketAddr::try_from(a).map_err(|_| Errno::AFNOSUPPORT)
}

// ---------------------------------------------------------------- user_data

const ACCEPT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
const CLOSE: u64 = 4;
const CANCEL: u64 = 5;
const TICK: u64 = 6;
const WAKE: u64 = 7;
const SHUTDOWN_WR: u64 = 8;

const fn ud(kind: u64, idx: u32, gen: u32) -> u64 {
    ((gen as u64) << 32) | ((idx as u64) << 8) | kind
}

const fn ud_parts(u: u64) -> (u64, u32, u32) {
    (u & 0xff, ((u >> 8) & 0xff_ffff) as u32, (u >> 32) as u32)
}

const MSG_NOSIGNAL: u32 = 0x4000;
const SOCK_CLOEXEC: u32 = 0o2000000;
const SHUT_WR: i32 = 1;
const BGID: u16 = 0;

// ---------------------------------------------------------------- slots

struct Slot {
    gen: u32,
    in_use: bool,
    fd: RawFd,
    conn: Conn,
    /// The bytes of the send in flight; untouched while `send_inflight`.
    sending: Vec<u8>,
    sent: usize,
    recv_armed: bool,
    recv_cancel_sent: bool,
    send_inflight: bool,
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
        !self.recv_armed && !self.send_inflight && !self.shutdown_inflight && !self.close_inflight
    }
}

// ---------------------------------------------------------------- worker

struct Worker<'a> {
    ring: IoUring,
    bufs: BufRing,
    listener: Option<OwnedFd>,
    listener_fd: RawFd,
    wake_fd: RawFd,
    shared: &'a Shared,
    handler: &'a dyn Handler,
    limits: Limits,
    config: &'a Config,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    dirty: Vec<u32>,
    cqes: Vec<cqueue::Entry>,
    backlog: VecDeque<squeue::Entry>,
    tick_ts: Box<Timespec>,
    wake_buf: Box<[u8; 8]>,
    accept_armed: bool,
    accept_resume_at: Option<u64>,
    accept_err_logged_at: Option<u64>,
    tick_armed: bool,
    wake_armed: bool,
    shutting_down: bool,
    shutdown_deadline: u64,
    forced: bool,
    clock: Instant,
}

impl<'a> Worker<'a> {
    fn new(
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
        let mut ring = b.build(config.ring_entries)?;
        if !config.sqpoll {
            // Enters skip the fd lookup; the ring stays on this thread.
            ring.register_ring_fd()?;
        }
        let bufs =
            BufRing::builder(BGID, config.recv_buffers, config.recv_buffer_size).build(&ring)?;
        let tick = tick_interval(&config.limits);
        Ok(Worker {
            ring,
            bufs,
            listener_fd: listener.as_raw_fd(),
            listener: Some(listener),
            wake_fd: shared.wakers[index].as_raw_fd(),
            shared,
            handler,
            limits: config.limits,
            config,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            dirty: Vec::new(),
            cqes: Vec::with_capacity(1024),
            backlog: VecDeque::new(),
            tick_ts: Box::new(Timespec::new(
                (tick / 1000) as i64,
                ((tick % 1000) * 1_000_000) as i64,
            )),
            wake_buf: Box::new([0; 8]),
            accept_armed: false,
            accept_resume_at: None,
            accept_err_logged_at: None,
            tick_armed: false,
            wake_armed: false,
            shutting_down: false,
            shutdown_deadline: 0,
            forced: false,
            clock: Instant::now(),
        })
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    /// Queues an entry; if the SQ is full, submits, and if it is still full,
    /// keeps the entry for the next turn.
    fn push(&mut self, e: squeue::Entry) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(e);
            return;
        }
        // SAFETY: every entry built in this file points only to memory the
        // worker keeps alive until the entry's final completion (see the
        // module docs): slot send buffers, the BufRing, the boxed tick
        // timespec and wake buffer, and fds it closes only through the ring.
        if unsafe { self.ring.submission().push(&e) }.is_ok() {
            return;
        }
        let _ = self.ring.submit();
        // SAFETY: as above.
        if unsafe { self.ring.submission().push(&e) }.is_err() {
            self.backlog.push_back(e);
        }
    }

    fn drain_backlog(&mut self) {
        while let Some(e) = self.backlog.front() {
            // SAFETY: as in `push`.
            if unsafe { self.ring.submission().push(e) }.is_err() {
                break;
            }
            self.backlog.pop_front();
        }
    }

    fn run(&mut self) -> Result<(), ServerError> {
        self.arm_accept();
        self.arm_tick();
        self.arm_wake();
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
            if self.shutting_down && self.live == 0 && !self.accept_armed {
                if self.tick_armed || self.wake_armed {
                    self.push(
                        opcode::AsyncCancel::new(CancelBy::UserData(ud(TICK, 0, 0)))
                            .build()
                            .user_data(CANCEL),
                    );
                    self.push(
                        opcode::AsyncCancel::new(CancelBy::UserData(ud(WAKE, 0, 0)))
                            .build()
                            .user_data(CANCEL),
                    );
                    self.finish_in_flight();
                }
                return Ok(());
            }
        }
    }

    /// Handles every ready completion, then moves the connections they
    /// touched forward: the second half of each loop turn.
    fn process_completions(&mut self) {
        self.cqes.clear();
        self.cqes.extend(self.ring.completion());
        let now = self.now();
        for i in 0..self.cqes.len() {
            let cqe = self.cqes[i];
            self.handle(cqe, now);
        }
        self.flush_dirty(now);
    }

    /// Waits (bounded) for the worker's own operations to complete.
    fn finish_in_flight(&mut self) {
        let deadline = self.now() + 2000;
        while (self.tick_armed || self.wake_armed || self.accept_armed || self.live > 0)
            && self.now() < deadline
        {
            self.drain_backlog();
            let _ = self
                .ring
                .submitter()
                .submit_and_wait_timeout(1, std::time::Duration::from_millis(100));
            self.process_completions();
        }
        if self.tick_armed || self.wake_armed || self.accept_armed || self.live > 0 {
            // The kernel may still use memory we own: leak it rather than
            // free it under the kernel's feet.
            eprintln!("http-demo: operations still in flight at exit; leaking their buffers");
            std::mem::forget(std::mem::take(&mut self.slots));
            std::mem::forget(std::mem::replace(
                &mut self.tick_ts,
                Box::new(Timespec::default()),
            ));
            std::mem::forget(std::mem::replace(&mut self.wake_buf, Box::new([0; 8])));
        }
    }

    fn arm_accept(&mut self) {
        if self.listener.is_none() || self.accept_armed {
            return;
        }
        self.accept_armed = true;
        self.push(
            opcode::Accept::new(Fd(self.listener_fd))
                .multishot()
                .flags(SOCK_CLOEXEC)
                .build()
                .user_data(ud(ACCEPT, 0, 0)),
        );
    }

    fn arm_tick(&mut self) {
        self.tick_armed = true;
        let ts: *const Timespec = &*self.tick_ts;
        self.push(
            opcode::Timeout::new(ts)
                .multishot()
                .build()
                .user_data(ud(TICK, 0, 0)),
        );
    }

    fn arm_wake(&mut self) {
        self.wake_armed = true;
        let buf = self.wake_buf.as_mut_ptr();
        self.push(
            opcode::Read::new(Fd(self.wake_fd), buf, 8)
                .build()
                .user_data(ud(WAKE, 0, 0)),
        );
    }

    fn handle(&mut self, cqe: cqueue::Entry, now: u64) {
        let (kind, idx, gen) = ud_parts(cqe.user_data());
        match kind {
            ACCEPT => self.on_accept(cqe, now),
            TICK => {
                if !cqe.more() {
                    self.tick_armed = false;
                    if !self.shutting_down || self.live > 0 || self.accept_armed {
                        self.arm_tick();
                    }
                }
                self.on_tick(now);
            }
            WAKE => {
                self.wake_armed = false;
                if self.shared.stop.load(Ordering::SeqCst) {
                    self.begin_shutdown();
                } else if cqe.result().is_ok() {
                    self.arm_wake();
                }
            }
            CANCEL => {}
            SHUTDOWN_WR => {
                if let Some(slot) = self.slots.get_mut(idx as usize) {
                    if slot.in_use && slot.gen == gen {
                        slot.shutdown_inflight = false;
                        self.mark(idx);
                    }
                }
            }
            RECV | SEND | CLOSE => {
                let Some(slot) = self.slots.get(idx as usize) else {
                    return self.drop_buffer(&cqe);
                };
                if !slot.in_use || slot.gen != gen {
                    return self.drop_buffer(&cqe);
                }
                match kind {
                    RECV => self.on_recv(idx, cqe, now),
                    SEND => self.on_send(idx, cqe),
                    _ => {
                        let slot = &mut self.slots[idx as usize];
                        slot.close_inflight = false;
                        self.mark(idx);
                    }
                }
            }
            _ => self.drop_buffer(&cqe),
        }
    }

    /// Returns a buffer a stray completion carried.
    fn drop_buffer(&mut self, cqe: &cqueue::Entry) {
        if cqe.buffer_id().is_some() {
            // SAFETY: only our receives select buffers, all from this ring's
            // group BGID.
            drop(unsafe { self.bufs.get(cqe) });
        }
    }

    fn on_accept(&mut self, cqe: cqueue::Entry, now: u64) {
        if !cqe.more() {
            self.accept_armed = false;
        }
        match cqe.result() {
            Ok(fd) => {
                let fd = fd as RawFd;
                if self.shutting_down {
                    self.push(opcode::Close::new(Fd(fd)).build().user_data(CANCEL));
                } else {
                    self.open_slot(fd, now);
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
                if !self.accept_armed {
                    self.accept_resume_at = Some(now + self.config.accept_backoff_ms);
                }
            }
        }
        if !self.accept_armed && self.accept_resume_at.is_none() && !self.shutting_down {
            self.arm_accept();
        }
    }

    fn open_slot(&mut self, fd: RawFd, now: u64) {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.slots.len() >= 0xff_ffff {
                    self.push(opcode::Close::new(Fd(fd)).build().user_data(CANCEL));
                    return;
                }
                self.slots.push(Slot {
                    gen: 0,
                    in_use: false,
                    fd: -1,
                    conn: Conn::new(now),
                    sending: Vec::new(),
                    sent: 0,
                    recv_armed: false,
                    recv_cancel_sent: false,
                    send_inflight: false,
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
        s.fd = fd;
        s.conn = Conn::new(now);
        s.sent = 0;
        s.sending.clear();
        s.recv_armed = false;
        s.recv_cancel_sent = false;
        s.send_inflight = false;
        s.shutdown_inflight = false;
        s.close_inflight = false;
        s.closed = false;
        s.broken = false;
        self.live += 1;
        self.mark(idx);
    }

    fn mark(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(idx);
        }
    }

    fn on_recv(&mut self, idx: u32, cqe: cqueue::Entry, now: u64) {
        let Worker {
            slots,
            bufs,
            handler,
            limits,
            ..
        } = self;
        let slot = &mut slots[idx as usize];
        if !cqe.more() {
            slot.recv_armed = false;
        }
        match cqe.result() {
            Ok(0) => slot.conn.on_eof(),
            Ok(_) => {
                // SAFETY: this completion is from our multishot receive,
                // which selects from `bufs`' group on this ring.
                match unsafe { bufs.get(&cqe) } {
                    Ok(buf) => {
                        if !slot.closed && !slot.broken {
                            slot.conn.on_data(&buf, now, limits, *handler);
                        }
                    }
                    Err(e) => {
                        eprintln!("http-demo: bad receive completion: {e}");
                        slot.broken = true;
                    }
                }
            }
            Err(Errno::NOBUFS) | Err(Errno::CANCELED) => {} // re-armed in flush if still wanted
            Err(_) => slot.broken = true,                   // ECONNRESET and friends
        }
        self.mark(idx);
    }

    fn on_send(&mut self, idx: u32, cqe: cqueue::Entry) {
        let slot = &mut self.slots[idx as usize];
        slot.send_inflight = false;
        match cqe.result() {
            Ok(n) => {
                slot.sent += n as usize;
                if slot.sent >= slot.sending.len() {
                    slot.sending.clear();
                    slot.sent = 0;
                }
            }
            Err(_) => {
                // EPIPE, ECONNRESET, ...: the peer is gone.
                slot.broken = true;
                slot.sending.clear();
                slot.sent = 0;
            }
        }
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
        for idx in 0..self.slots.len() as u32 {
            let s = &mut self.slots[idx as usize];
            if !s.in_use || s.closed {
                continue;
            }
            let before = s.conn.close_mode();
            s.conn.on_tick(now, &self.limits);
            if s.conn.close_mode() != before || s.conn.has_output() {
                self.mark(idx);
            } else if s.conn.is_idle() && !s.send_inflight {
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
        if self.accept_armed {
            self.push(
                opcode::AsyncCancel::new(CancelBy::UserData(ud(ACCEPT, 0, 0)))
                    .build()
                    .user_data(CANCEL),
            );
        }
        self.accept_resume_at = None;
        for idx in 0..self.slots.len() as u32 {
            if self.slots[idx as usize].in_use {
                self.slots[idx as usize].conn.begin_shutdown();
                self.mark(idx);
            }
        }
    }

    fn force_close_all(&mut self) {
        self.forced = true;
        for idx in 0..self.slots.len() as u32 {
            let s = &mut self.slots[idx as usize];
            if s.in_use && !s.closed {
                s.broken = true;
                self.mark(idx);
            }
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
        if self.listener.is_some() && self.shutting_down && !self.accept_armed {
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
        let fd = s.fd;
        let mut entries: [Option<squeue::Entry>; 3] = [None, None, None];
        if !s.closed {
            if s.broken {
                s.conn.on_eof();
            }
            // Send what is ready, one send in flight at a time.
            if !s.broken && !s.send_inflight {
                if s.sending.is_empty() && s.conn.has_output() {
                    s.conn.take_output(&mut s.sending);
                    s.sent = 0;
                    s.conn.resume(now, &limits, handler);
                }
                if s.sent < s.sending.len() {
                    let rest = &s.sending[s.sent..];
                    entries[0] = Some(
                        opcode::Send::new(
                            Fd(fd),
                            rest.as_ptr(),
                            rest.len().min(u32::MAX as usize) as u32,
                        )
                        .msg_flags(MSG_NOSIGNAL)
                        .build()
                        .user_data(ud(SEND, idx, gen)),
                    );
                    s.send_inflight = true;
                }
            }
            let flushed = !s.send_inflight && s.sending.is_empty() && !s.conn.has_output();
            let close_now = !s.shutdown_inflight
                && (s.broken || (flushed && s.conn.close_mode() == Some(CloseMode::Clean)));
            if close_now {
                s.closed = true;
                if s.recv_armed && !s.recv_cancel_sent {
                    s.recv_cancel_sent = true;
                    entries[1] = Some(
                        opcode::AsyncCancel::new(CancelBy::UserData(ud(RECV, idx, gen)))
                            .build()
                            .user_data(CANCEL),
                    );
                }
                s.close_inflight = true;
                entries[2] = Some(
                    opcode::Close::new(Fd(fd))
                        .build()
                        .user_data(ud(CLOSE, idx, gen)),
                );
            } else {
                if flushed && s.conn.close_mode() == Some(CloseMode::Linger) && !s.conn.lingering()
                {
                    s.conn.start_linger(now, &limits);
                    s.shutdown_inflight = true;
                    entries[1] =
                        Some(opcode::Shutdown::new(Fd(fd), SHUT_WR).build().user_data(ud(
                            SHUTDOWN_WR,
                            idx,
                            gen,
                        )));
                }
                let wants = s.conn.wants_read(&limits);
                if wants && !s.recv_armed {
                    s.recv_armed = true;
                    s.recv_cancel_sent = false;
                    entries[2] = Some(
                        opcode::Recv::with_buf_group(Fd(fd), BGID)
                            .multishot()
                            .build()
                            .user_data(ud(RECV, idx, gen)),
                    );
                } else if !wants && s.recv_armed && !s.recv_cancel_sent {
                    // Output backlog: stop reading until it drains.
                    s.recv_cancel_sent = true;
                    entries[2] = Some(
                        opcode::AsyncCancel::new(CancelBy::UserData(ud(RECV, idx, gen)))
                            .build()
                            .user_data(CANCEL),
                    );
                }
            }
        }
        let s = &mut self.slots[idx as usize];
        if s.closed && s.idle_in_flight() {
            s.in_use = false;
            s.gen = s.gen.wrapping_add(1);
            s.conn = Conn::new(now);
            s.sending = Vec::new();
            self.free.push(idx);
            self.live -= 1;
        }
        for e in entries.into_iter().flatten() {
            self.push(e);
        }
    }
}

/// How often the worker checks timeouts: a quarter of the shortest timeout,
/// between 5 ms and 250 ms.
fn tick_interval(l: &Limits) -> u64 {
    (l.header_timeout_ms.min(l.idle_timeout_ms).min(l.linger_ms) / 4).clamp(5, 250)
}
