//! Futures on the safe tier, for any executor (cargo feature `rt`).
//!
//! A [`Driver`] is a single-threaded handle to an [`owned::Ring`]: every
//! operation of the safe tier can be awaited from it, and the buffer comes
//! back with the result, as in the owned tier:
//!
//! ```
//! use ring_core::owned::SharedFd;
//! use ring_core::rt::Runtime;
//! # fn main() -> std::io::Result<()> {
//! let rt = Runtime::new(64)?;
//! let driver = rt.driver().clone();
//! let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
//! let (res, buf) = rt.block_on(async move { driver.read(&file, vec![0u8; 64]).await });
//! assert!(res? > 0 && buf.contains(&b' '));
//! # Ok(()) }
//! ```
//!
//! - A future ([`Submit`]) pushes its operation at its first poll and
//!   resolves at the operation's final completion. The driver keeps, per
//!   operation in flight, the key of the future waiting for it; the
//!   future's waker lives in that key (no table for the user to keep); a
//!   future of a [`Runtime`] task polled with that task's own waker keeps
//!   the task's index instead, and its completion queues the task.
//! - Dropping a future before its completion pushes a cancel and leaves the
//!   operation with the ring until the kernel is done with it; its
//!   completion is then dropped at the driver's next turn, closing a
//!   descriptor the operation created and giving back a buffer it picked.
//!   Dropping the last handle on the driver drops the ring, which cancels
//!   and reaps what is left (or leaks it, never frees it early).
//! - Multishot operations are streams ([`Multi`]): `next().await` yields
//!   each completion, the final one included, then `None`. A stream with
//!   a bound ([`Multi::with_backlog`]; multishot accept and receive have
//!   one) pauses its operation while that many completions wait for it.
//! - [`Submit::with_timeout`] links a timeout to the operation;
//!   [`Canceller`] cancels it from elsewhere.
//!
//! Driving: [`Runtime`] is a minimal local executor (`block_on`,
//! `spawn_local`) that waits in the ring only when no task is runnable.
//! Any other executor drives the driver by calling [`Driver::turn`] when
//! the ring's fd ([`Driver`] is `AsFd`) is readable or when
//! [`Driver::pushed`] resolves (operations were pushed and wait to be
//! submitted); the crate's `tokio_driver` example does it with tokio's
//! `AsyncFd`.
//!
//! [`owned::Ring`]: crate::owned::Ring

mod driver;
mod executor;
mod ops;
mod pool;
mod stream;
mod submit;

pub use driver::{Driver, Pushed};
pub use executor::{Handle, JoinHandle, Runtime};
pub use ops::{NewFd, Slept, Transfer, Unit, ACCEPT_BACKLOG};
pub use stream::{Multi, Next};
pub use submit::{Canceller, Done, Finish, Outcome, Submit};

#[cfg(test)]
mod keys;
