//! Helpers shared by the kernel tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use ring_core::{cqueue, squeue, IoUring};

mod fds;
#[allow(unused_imports)]
pub use fds::*;

/// Pushes `entries` (which must point to nothing that dies before this
/// returns), submits, and reaps until `want` completions have arrived.
/// Fails the test if they do not arrive within five seconds.
pub fn run(ring: &mut IoUring, entries: &[squeue::Entry], want: usize) -> Vec<cqueue::Entry> {
    // An SQPOLL ring's thread can post the completions of entries before
    // it moves the SQ head past them (a NOP completes while it is being
    // submitted): reaped completions do not mean the queue has room yet.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let room = {
            let sq = ring.submission();
            sq.capacity() - sq.len()
        };
        if room >= entries.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no room for {} entries",
            entries.len()
        );
        ring.submitter().squeue_wait().expect("waiting for room");
    }
    {
        let mut sq = ring.submission();
        // SAFETY: callers keep everything the entries point to alive until
        // this function has reaped `want` completions.
        unsafe { sq.push_multiple(entries).expect("queue has room") };
    }
    reap(ring, want)
}

/// Reaps until `want` completions have arrived (five-second bound).
pub fn reap(ring: &mut IoUring, want: usize) -> Vec<cqueue::Entry> {
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while out.len() < want {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "timed out with {} of {want} completions: {out:?}",
            out.len()
        );
        match ring.submitter().submit_and_wait_timeout(1, left) {
            Ok(_) | Err(ring_core::SubmitError::TimedOut) => {}
            Err(e) => panic!("submit failed: {e}"),
        }
        out.extend(ring.completion());
    }
    out
}

/// Completions keyed by user_data (each must be unique).
pub fn by_user_data(cqes: &[cqueue::Entry]) -> HashMap<u64, cqueue::Entry> {
    let mut map = HashMap::new();
    for c in cqes {
        assert!(
            map.insert(c.user_data(), *c).is_none(),
            "duplicate completion {c:?}"
        );
    }
    map
}
