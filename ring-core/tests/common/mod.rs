//! Helpers shared by the kernel tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use ring_core::{cqueue, squeue, IoUring};

/// Pushes `entries` (which must point to nothing that dies before this
/// returns), submits, and reaps until `want` completions have arrived.
/// Fails the test if they do not arrive within five seconds.
pub fn run(ring: &mut IoUring, entries: &[squeue::Entry], want: usize) -> Vec<cqueue::Entry> {
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

/// A temporary file path unique to this process and `name`.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ring-core-test-{}-{name}", std::process::id()))
}

/// A pipe as two files (read end, write end).
pub fn pipe() -> (std::fs::File, std::fs::File) {
    let (r, w) = rustix::pipe::pipe().unwrap();
    (std::fs::File::from(r), std::fs::File::from(w))
}

/// A connected TCP pair on loopback (client, server side).
pub fn connected_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

/// A fresh read/write temporary file unique to this process and `name`.
pub fn temp_file(name: &str) -> (std::path::PathBuf, std::fs::File) {
    let path = temp_path(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    (path, file)
}

/// A share of a descriptor for the safe tier, duplicated from one the test
/// keeps using itself.
#[allow(dead_code)]
pub fn share(fd: &impl std::os::fd::AsFd) -> ring_core::owned::SharedFd {
    ring_core::owned::SharedFd::try_clone_from(fd).expect("dup")
}
