//! # http-demo
//!
//! The fibonacci HTTP/1.1 server on ring-core, in three layers:
//!
//! - [`parse`]: pure request parsing (httparse), bytes in → a request head,
//!   "need more", or a typed error with its status;
//! - [`conn`]: the sans-IO connection state machine, bytes in → bytes to
//!   send and what to do next ([`conn::Next`]); no fd, no ring;
//! - the worker (private, `worker/`): the I/O loop, the only code that
//!   touches ring-core; [`server`] starts one per thread.
//!
//! ```no_run
//! use http_demo::{Config, Server};
//!
//! let server = Server::bind(Config::default(), http_demo::fibonacci)?;
//! println!("listening on {}", server.local_addr());
//! server.run()?;
//! # Ok::<(), http_demo::ServerError>(())
//! ```

#![deny(missing_docs)]

mod calls;
pub mod config;
pub mod conn;
mod error;
pub mod ffi;
pub mod handler;
pub mod parse;
mod pool;
pub mod response;
pub mod server;
mod shared;
pub mod signals;
mod worker;

pub use config::Config;
pub use handler::{fibonacci, Handler, HandlerError};
pub use server::{Server, ServerError, ShutdownHandle};
