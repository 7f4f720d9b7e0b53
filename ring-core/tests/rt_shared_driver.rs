//! Two runtimes on one driver (`Runtime::with_driver` with clones of one
//! [`Driver`]), against the real kernel. Only the first is attached to the
//! driver's fast path: the driver names its tasks by index. The second
//! must never take those indices as its own (its task of the same index
//! would be woken instead, and the first's task never), and an enter
//! error while the second drives the ring must end its `block_on` with a
//! panic, as it does the first's. No `unsafe` here.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;
#[path = "common/panics.rs"]
mod panics;
use panics::{on_a_ring_another_thread_owns, panic_of};

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::Write as _;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use ring_core::owned::{Ring, SharedFd};
use ring_core::rt::{Driver, Runtime};

/// Ready at its second poll, having woken itself at the first.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A task of the first runtime waits for a read; the second runtime's
/// `block_on` reaps its completion. The first runtime must still wake its
/// task: the driver queued the task's index, which is the first's.
#[test]
fn a_task_woken_while_another_runtime_drives_the_ring_still_runs() {
    let first = Runtime::new(8).unwrap();
    let d = first.driver().clone();
    let second = Runtime::with_driver(d.clone()).unwrap();
    // A task of the second runtime with the same index (0) as the first's
    // reader: taking the first's index as its own would poll it instead.
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let _idle = second.spawn_local(poll_fn(move |_| {
        p.set(p.get() + 1);
        Poll::<()>::Pending
    }));
    let (pr, mut pw) = common::pipe();
    let pr = SharedFd::new(pr);
    let d1 = d.clone();
    let reader = first.spawn_local(async move {
        let (n, buf) = d1.read(&pr, vec![0u8; 8]).await;
        buf[..n.unwrap()].to_vec()
    });
    // Runs the reader until its read is pushed (the driver knows it as
    // the first runtime's task 0).
    first.block_on(YieldOnce(false));
    pw.write_all(b"hi").unwrap();
    // The second runtime waits in the ring, and reaps the read's
    // completion.
    second.block_on(d.sleep(Duration::from_millis(50))).unwrap();
    let after_second = polls.get();
    // The first runtime: its task must run and finish; a sleep bounds the
    // wait, so a lost wake-up fails the test rather than hangs it.
    let mut reader = reader;
    let mut limit = d.sleep(Duration::from_secs(2));
    let got = first.block_on(poll_fn(|cx| {
        if let Poll::Ready(out) = Pin::new(&mut reader).poll(cx) {
            return Poll::Ready(Some(out));
        }
        match Pin::new(&mut limit).poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }));
    assert_eq!(
        got.as_deref(),
        Some(&b"hi"[..]),
        "the first runtime's task was never woken"
    );
    assert_eq!(
        after_second, 1,
        "the second runtime polled its own task 0 for the first's wake-up"
    );
}

/// The second runtime's `block_on` on a ring that can never be entered
/// (single-issuer, built on another thread) panics, as the first's does,
/// rather than enter again forever: the driver tells only the first
/// runtime of the error, by its woken list.
#[test]
fn an_enter_error_ends_the_second_runtimes_block_on_too() {
    let msg = on_a_ring_another_thread_owns(|raw| {
        let d = Driver::from_ring(Ring::from_ring(raw));
        let first = Runtime::with_driver(d.clone()).unwrap();
        let second = Runtime::with_driver(d.clone()).unwrap();
        (panic_of(|| second.block_on(d.nop())), (first, second, d))
    });
    assert!(
        msg.contains("EEXIST") && msg.contains("single-issuer"),
        "{msg}"
    );
}
