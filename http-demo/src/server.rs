//! The server: binds one SO_REUSEPORT listener per thread, starts one
//! worker (`worker/`, the I/O loop) per listener, and stops them all
//! gracefully on request.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use ring_core::owned::SharedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ring_core::{Errno, IoUring};

use crate::calls::Calls;
use crate::config::Config;
use crate::handler::Handler;
use crate::shared::Shared;
use crate::worker::Worker;

pub use crate::error::ServerError;

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
    ///
    /// Unless [`Config::reuse_port`] asks to share the port, a port another
    /// socket listens on is refused with `EADDRINUSE` (checked by binding a
    /// socket without SO_REUSEPORT first, which stays bound until the
    /// listeners are), so a second server cannot silently split the
    /// traffic of a first.
    pub fn bind<H: Handler + 'static>(config: Config, handler: H) -> Result<Server, ServerError> {
        Self::bind_arc(config, Arc::new(handler))
    }

    /// As [`bind`](Self::bind), with a shared handler.
    pub fn bind_arc(config: Config, handler: Arc<dyn Handler>) -> Result<Server, ServerError> {
        config.validate().map_err(ServerError::Config)?;
        // Fail early and clearly where io_uring is unavailable. The probe
        // ring is made and dropped on a thread of its own: the kernel's
        // teardown of a ring sends task work (TWA_SIGNAL) to the task that
        // created it, which makes a blocking socket call with a timeout on
        // the caller's thread fail with EINTR moments later. A thread that
        // has exited gets none.
        std::thread::scope(|s| s.spawn(|| IoUring::new(2).map(drop)).join())
            .map_err(|_| ServerError::WorkerPanicked)??;
        let mut listeners = Vec::with_capacity(config.threads);
        let mut addr = SocketAddr::new(config.addr, config.port);
        // Held until the listeners are bound: a bound, non-listening socket
        // without SO_REUSEPORT fails to bind where anything listens, and
        // does not stop our own SO_REUSEADDR listeners from binding.
        let _probe = if config.reuse_port {
            None
        } else {
            let probe =
                exclusive_probe(addr).map_err(|errno| ServerError::Listen { addr, errno })?;
            addr = local_addr(&probe).map_err(|errno| ServerError::Listen { addr, errno })?;
            Some(probe)
        };
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
            .map(|_| {
                rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).map(SharedFd::new)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|errno| ServerError::Os {
                what: "eventfd",
                errno,
            })?;
        let calls = handler
            .may_block()
            .then(|| Calls::new(config.threads, config.handler_threads));
        Ok(Server {
            config,
            handler,
            listeners,
            local_addr,
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                wakers,
                connections: AtomicUsize::new(0),
                calls,
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
        let pool = crate::pool::spawn(&shared, &handler).map_err(|e| ServerError::Os {
            what: "spawning a handler thread",
            errno: Errno::from_io_error(&e).unwrap_or(Errno::AGAIN),
        })?;
        let result = run_workers(&config, &handler, listeners, &shared);
        // Handler calls in progress finish (their results are dropped if
        // their connection is gone), then the pool stops.
        if let Some(calls) = &shared.calls {
            calls.close();
        }
        for t in pool {
            let _ = t.join();
        }
        result
    }
}

fn run_workers(
    config: &Config,
    handler: &Arc<dyn Handler>,
    listeners: Vec<OwnedFd>,
    shared: &Arc<Shared>,
) -> Result<(), ServerError> {
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let config = config.clone();
        let handler = handler.clone();
        let worker_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("http-demo-{i}"))
            .spawn(move || {
                let shared = worker_shared;
                let result =
                    Worker::new(&config, listener, i, &shared, &*handler).and_then(|mut w| w.run());
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

/// A TCP socket bound to `addr` (SO_REUSEADDR, not SO_REUSEPORT), not
/// listening: binding fails with `EADDRINUSE` if anything listens there.
fn exclusive_probe(addr: SocketAddr) -> Result<OwnedFd, Errno> {
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    let family = match addr.ip() {
        IpAddr::V4(_) => AddressFamily::INET,
        IpAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    Ok(fd)
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
