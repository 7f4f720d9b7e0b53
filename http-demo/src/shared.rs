//! What the server and its workers share across threads: the stop flag,
//! the wake-up eventfds, the connection count and the handler pool. Its
//! own file so that `server.rs` (which owns it) and the worker (which reads
//! it) both depend on it instead of on each other.

use std::sync::atomic::{AtomicBool, AtomicUsize};

use ring_core::owned::SharedFd;

use crate::calls::Calls;

pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    /// One eventfd per worker, written to wake it for shutdown and when a
    /// handler call it submitted has finished; shared, since the worker's
    /// ring reads it.
    pub(crate) wakers: Vec<SharedFd>,
    /// Open connections, all workers together (for `max_connections`).
    pub(crate) connections: AtomicUsize,
    /// The handler pool, when the handler may block.
    pub(crate) calls: Option<Calls>,
}
