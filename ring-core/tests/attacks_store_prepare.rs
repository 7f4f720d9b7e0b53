//! Attacks on how a boxed ring (`Ring<Box<dyn Operation>>`, and the
//! runtime's driver on one) decides whether a result is a descriptor: it
//! asks the operation's `result_is_fd` once, at the push (`Store::prepare`
//! for `push`, the boxed value for `push_chain`), and keeps the answer in
//! the slot. A user's own operation here answers differently after its
//! first call, within `Operation`'s contract (every non-negative result of
//! an open is a new descriptor nobody owns, whatever the answer). Each
//! test checks that the result is adopted (closed with its completion)
//! exactly when the operation said so at the push: a ring that asked again
//! at the completion would get the other answer. Runs under ASan in CI.
//!
//! The `unsafe` here is the user's `unsafe impl Operation` and closing a
//! descriptor that nobody adopted; nothing else.

#[path = "common/fds.rs"]
mod common;

use std::cell::Cell;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ring_core::owned::{op::Nop, op::Open, Operation, Ring};
use ring_core::rt::{Driver, Runtime};
use ring_core::squeue;

/// An open whose `result_is_fd` answers `first` on its first call and the
/// opposite on every later one.
#[derive(Debug)]
struct Fickle {
    open: Open,
    first: bool,
    calls: Cell<u32>,
}

impl Fickle {
    fn new(path: &Path, first: bool) -> Self {
        Fickle {
            open: Open::new(path, 0, 0).unwrap(),
            first,
            calls: Cell::new(0),
        }
    }
}

// SAFETY: the entry is `Open`'s, which points to `Open`'s own heap string
// (kept with `self`); its non-negative results are new descriptors in the
// normal table that nobody else owns, so either answer of
// `result_is_fd` keeps the contract.
unsafe impl Operation for Fickle {
    fn entry(&mut self) -> squeue::Entry {
        self.open.entry()
    }
    fn result_is_fd(&self) -> bool {
        let n = self.calls.get();
        self.calls.set(n + 1);
        if n == 0 {
            self.first
        } else {
            !self.first
        }
    }
}

/// A fresh file for one test.
fn file(name: &str) -> PathBuf {
    let (path, f) = common::temp_file(name);
    drop(f);
    path
}

/// Closes this process's descriptors of `path` that nobody adopted (the
/// ring was told they are no descriptors); returns how many.
fn close_stray(path: &Path) -> usize {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            if target == path {
                e.file_name().to_str()?.parse().ok()
            } else {
                None
            }
        })
        .collect();
    for &fd in &fds {
        // SAFETY: a descriptor of `path` that nothing in this process owns:
        // the test opened none itself, and the ring adopted none.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    fds.len()
}

/// Waits for `want` completions of a boxed ring (bounded).
fn wait(ring: &mut Ring, want: usize) -> Vec<ring_core::owned::Completion> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} completions",
            out.len()
        );
        ring.submit_and_wait(1).unwrap();
        out.extend(ring.completions());
    }
    out
}

#[test]
fn a_boxed_ring_adopts_a_result_exactly_when_result_is_fd_said_so_at_the_push() {
    for first in [true, false] {
        let path = file(&format!("prepare-push-{first}"));
        let mut ring = Ring::new(8).unwrap();
        ring.push(Fickle::new(&path, first)).unwrap();
        let mut c = wait(&mut ring, 1).pop().unwrap();
        assert!(c.result().is_ok());
        assert_eq!(c.take_fd().is_some(), first, "push said {first}");
        drop(c);
        // Adopted: closed with its completion. Not adopted: still open.
        assert_eq!(close_stray(&path), usize::from(!first));
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_boxed_chain_adopts_each_result_as_its_operation_said_at_the_push() {
    let path = file("prepare-chain");
    let mut ring = Ring::new(8).unwrap();
    let chain: [Box<dyn Operation>; 3] = [
        Box::new(Fickle::new(&path, true)),
        Box::new(Nop),
        Box::new(Fickle::new(&path, false)),
    ];
    let Ok(tokens) = ring.push_chain(chain) else {
        panic!("the chain was refused")
    };
    let mut adopted = 0;
    for mut c in wait(&mut ring, 3) {
        assert!(c.result().is_ok());
        let fd = c.take_fd();
        if c.token() == tokens[0] {
            assert!(fd.is_some(), "the first said true at the push");
            adopted += 1;
        } else {
            assert!(fd.is_none(), "{:?} said false at the push", c.token());
        }
    }
    assert_eq!(adopted, 1);
    assert_eq!(close_stray(&path), 1, "the third's descriptor is nobody's");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_driver_adopts_a_result_exactly_when_result_is_fd_said_so_at_the_push() {
    let rt = Runtime::new(8).unwrap();
    for first in [true, false] {
        let path = file(&format!("prepare-driver-{first}"));
        let d = rt.driver().clone();
        let op = Fickle::new(&path, first);
        let mut done = rt.block_on(async move { d.submit(op).await }).unwrap();
        assert!(done.result().is_ok());
        assert_eq!(done.take_fd().is_some(), first, "push said {first}");
        drop(done);
        assert_eq!(close_stray(&path), usize::from(!first));
        std::fs::remove_file(&path).unwrap();
    }
}

/// A ring given to the driver with the operation pushed (not yet
/// submitted): the driver retags it, and its completion goes to nobody and
/// is dropped, closing the descriptor only if the push said it was one.
#[test]
fn a_ring_retagged_by_the_driver_keeps_each_operations_answer_from_its_push() {
    for first in [true, false] {
        let path = file(&format!("prepare-retag-{first}"));
        let mut ring = Ring::new(8).unwrap();
        ring.push(Fickle::new(&path, first)).unwrap();
        let d = Driver::from_ring(ring);
        let deadline = Instant::now() + Duration::from_secs(10);
        while d.in_flight() > 0 {
            assert!(Instant::now() < deadline, "{d:?} never completed");
            d.park(Some(Duration::from_millis(20))).unwrap();
        }
        assert_eq!(close_stray(&path), usize::from(!first));
        drop(d);
        std::fs::remove_file(&path).unwrap();
    }
}
