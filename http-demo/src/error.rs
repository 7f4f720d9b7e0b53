//! [`ServerError`]: why the server could not start or stopped, for
//! `server.rs` (which starts it) and the worker (which reports how it
//! stopped). Its own file so that neither has to reach into the other.

use std::net::SocketAddr;

use ring_core::{Errno, SubmitError};

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
    /// Setting up io_uring failed (a ring, a buffer ring, a registration).
    /// The message is ring-core's, which names the failed call.
    #[error(transparent)]
    Ring(#[from] ring_core::Error),
    /// The settings are inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An unexpected io_uring_enter error stopped a worker. The message
    /// adds that to ring-core's, which names `io_uring_enter`.
    #[error("a worker stopped: {0}")]
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

impl From<ServerError> for std::io::Error {
    /// Wraps the error so that `?` works in a function returning
    /// [`std::io::Result`], with the message of [`ServerError`]; the
    /// [`kind`](std::io::Error::kind) is the errno's where there is one
    /// (as ring-core's own conversions give for [`ServerError::Ring`] and
    /// [`ServerError::Enter`]), `InvalidInput` for a bad configuration.
    fn from(e: ServerError) -> Self {
        let kind = match &e {
            ServerError::Listen { errno, .. } | ServerError::Os { errno, .. } => errno.kind(),
            ServerError::Ring(r) => r
                .errno()
                .map_or(std::io::ErrorKind::InvalidInput, Errno::kind),
            ServerError::Enter(s) => std::io::Error::from(*s).kind(),
            ServerError::Config(_) => std::io::ErrorKind::InvalidInput,
            ServerError::WorkerPanicked => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
