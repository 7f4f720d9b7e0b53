//! Timeouts on the safe tier: a read that may never complete, bounded by a
//! linked timeout; a chain of steps each with its own deadline; and a
//! cancel of an operation in flight.
//!
//! `cargo run -p ring-core --example timeout`

use std::io::{self, Write as _};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ring_core::owned::{op, Operation, Ring, SharedFd};
use ring_core::Errno;

fn main() -> io::Result<()> {
    let report = run()?;
    println!("{report:#?}");
    Ok(())
}

/// What happened to each operation.
#[derive(Debug)]
pub struct Report {
    /// A read of a quiet socket, linked to a 20 ms timeout: `ECANCELED`.
    pub bounded_read: Result<u32, Errno>,
    /// The timeout itself: `ETIME` (it fired).
    pub link_timeout: Result<u32, Errno>,
    /// A write, then a read of what it wrote, each bounded by 1 s: both in
    /// time, so both succeed.
    pub chain: [Result<u32, Errno>; 2],
    /// A one-minute timeout cancelled right away: `ECANCELED`.
    pub cancelled: Result<u32, Errno>,
    /// How long all of it took.
    pub took: Duration,
}

/// Runs the three scenarios and reports what each operation returned.
pub fn run() -> io::Result<Report> {
    let start = Instant::now();
    let (reader, mut writer) = UnixStream::pair()?;
    let reader = SharedFd::new(reader);
    let mut ring = Ring::new(16)?;

    // 1. Nothing is ever written before the deadline: the read is cancelled.
    let chain: [Box<dyn Operation>; 2] = [
        Box::new(op::Read::new(&reader, vec![0u8; 16])),
        Box::new(op::LinkTimeout::new(Duration::from_millis(20))),
    ];
    let [read, timeout] = ring.push_chain(chain)?;
    let done = wait(&mut ring, 2)?;
    let bounded_read = result_of(&done, read);
    let link_timeout = result_of(&done, timeout);

    // 2. Write, then read it back, each step with its own deadline.
    let (pipe_r, pipe_w) = UnixStream::pair()?;
    let steps: [Box<dyn Operation>; 4] = [
        Box::new(op::Write::new(pipe_w, b"ping".to_vec())),
        Box::new(op::LinkTimeout::new(Duration::from_secs(1))),
        Box::new(op::Read::new(pipe_r, vec![0u8; 4])),
        Box::new(op::LinkTimeout::new(Duration::from_secs(1))),
    ];
    let [write, _, read_back, _] = ring.push_chain(steps)?;
    let done = wait(&mut ring, 4)?;
    let chain = [result_of(&done, write), result_of(&done, read_back)];

    // 3. Cancel a long timeout.
    let long = ring.push(op::Timeout::new(Duration::from_secs(60)))?;
    ring.cancel(long)?;
    let done = wait(&mut ring, 2)?;
    let cancelled = result_of(&done, long);

    // The first read's socket is still open; writing to it now reaches nobody.
    writer.write_all(b"late")?;
    Ok(Report {
        bounded_read,
        link_timeout,
        chain,
        cancelled,
        took: start.elapsed(),
    })
}

/// Waits for `n` completions and returns (token, result) of each.
fn wait(
    ring: &mut Ring,
    n: usize,
) -> io::Result<Vec<(ring_core::owned::Token, Result<u32, Errno>)>> {
    let mut done = Vec::new();
    while done.len() < n {
        ring.submit_and_wait(1)?;
        done.extend(ring.completions().map(|c| (c.token(), c.result())));
    }
    Ok(done)
}

fn result_of(
    done: &[(ring_core::owned::Token, Result<u32, Errno>)],
    token: ring_core::owned::Token,
) -> Result<u32, Errno> {
    done.iter()
        .find(|(t, _)| *t == token)
        .map_or(Err(Errno::NOENT), |(_, r)| *r)
}
