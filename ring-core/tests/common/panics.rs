//! Panics as test results: their messages, and runs on a ring no enter
//! can succeed on, which must end in a panic rather than spin.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use ring_core::IoUring;

/// The message of a panic's payload (a `&str` or a `String`; empty for
/// any other payload).
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match payload.downcast_ref::<&str>() {
        Some(s) => s.to_string(),
        None => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
    }
}

/// The message `f` panicked with, or what it returned.
pub fn panic_of<T: std::fmt::Debug>(f: impl FnOnce() -> T) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => format!("returned {r:?}"),
        Err(p) => message(&*p),
    }
}

/// Runs `f` on a thread of its own with a single-issuer ring built on
/// another thread, which it belongs to: every enter made with it fails
/// (`EEXIST`). `f` gives back its finding and what must stay alive, which
/// the thread keeps while it sleeps until the process exits: a ring
/// nobody can enter would wait out its drop timeout and then leak what
/// it holds. Fails the test if `f` has not returned within 10 s, so a
/// hang fails the test rather than the run.
pub fn on_a_ring_another_thread_owns<K: 'static>(
    f: impl FnOnce(IoUring) -> (String, K) + Send + 'static,
) -> String {
    let raw = std::thread::spawn(|| IoUring::builder().single_issuer().build(8).unwrap())
        .join()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (found, _keep) = f(raw);
        let _ = tx.send(found);
        loop {
            std::thread::park();
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("did not return in time: it spins on the failing enter")
}
