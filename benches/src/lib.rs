//! Benchmarks of ring-core and http-demo against their peers.
//!
//! - `cargo bench -p benches --bench ring`: NOP and read round trips of
//!   ring-core against the `io-uring` crate, liburing and the limit ring (a
//!   minimal hand-written C ring on raw syscalls, the floor), same run,
//!   alternating rounds; instructions per NOP with callgrind when valgrind
//!   is installed.
//! - `cargo bench -p benches --bench echo`: ring-core's async echo server
//!   (`ring_core::rt`) against the same server on tokio, tokio-uring and
//!   monoio (the last two built from `benches/async-peers`, their own
//!   workspace); messages/s and server CPU per message.
//! - `cargo run --release -p benches --bin load`: HTTP load with wrk against
//!   hyper, Python's http.server and nginx.
//! - `cargo run --release -p benches --bin nop -- <impl> <batch> <rounds>`:
//!   a fixed amount of NOP work, for callgrind.

pub mod docs;
pub mod perf;
pub mod procfs;
pub mod rings;
pub mod sleeps;
