//! When something fails under the async layer, against the real kernel:
//! the program's own code (a waker that panics, a buffer whose drop
//! panics) or the ring (an enter that can never succeed). Each failure is
//! reported (a panic comes out), and none of them costs another future
//! its wake-up, hangs, aborts the process or leaves the driver unusable.
//!
//! The one `unsafe` here is the `IoBuf` impl of a buffer whose drop
//! panics, which safe code cannot build otherwise.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::{IoBuf, Ring, SharedFd};
use ring_core::rt::{Driver, Runtime};
use ring_core::IoUring;

#[path = "common/fds.rs"]
mod common;
#[path = "common/panics.rs"]
mod panics;
use panics::{message, on_a_ring_another_thread_owns, panic_of};

/// Counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Panics when woken.
struct Panicking;

impl Wake for Panicking {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

/// Polls `f` once with `waker`.
fn poll_with<F: std::future::Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// Checks that `d` still completes a NOP after whatever happened to it.
fn still_works(d: &Driver) {
    let mut nop = d.nop();
    assert!(poll_with(&mut nop, Waker::noop()).is_pending());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "{d:?}: the NOP never completed");
        d.park(Some(Duration::from_millis(20))).unwrap();
        if let Poll::Ready(r) = poll_with(&mut nop, Waker::noop()) {
            r.unwrap();
            break;
        }
    }
    assert_eq!(d.in_flight(), 0);
}

#[test]
fn a_panicking_waker_costs_no_other_future_its_wake_up() {
    let d = Driver::new(8).unwrap();
    let counted = Arc::new(Counting::default());
    let good = Waker::from(counted.clone());
    let bad = Waker::from(Arc::new(Panicking));
    // The panicking waker between two good ones: whichever order the turn
    // wakes them in, one good waker comes after it.
    let mut first = d.nop();
    let mut middle = d.nop();
    let mut last = d.nop();
    assert!(poll_with(&mut first, &good).is_pending());
    assert!(poll_with(&mut middle, &bad).is_pending());
    assert!(poll_with(&mut last, &good).is_pending());
    // The three NOPs complete at the submit, so one turn hands out all
    // three wake-ups; the panic comes out of it.
    let turned = catch_unwind(AssertUnwindSafe(|| d.park(None)));
    assert_eq!(
        d.in_flight(),
        0,
        "the NOPs did not all complete in one turn"
    );
    let Err(panicked) = turned else {
        panic!("the waker's panic did not come out of the turn")
    };
    assert_eq!(message(&*panicked), "this waker panics");
    assert_eq!(
        counted.0.load(Ordering::SeqCst),
        2,
        "a good waker was not woken"
    );
    // Both good futures are ready, and so is the other one.
    assert!(matches!(poll_with(&mut first, &good), Poll::Ready(Ok(()))));
    assert!(matches!(poll_with(&mut last, &good), Poll::Ready(Ok(()))));
    assert!(matches!(
        poll_with(&mut middle, Waker::noop()),
        Poll::Ready(Ok(()))
    ));
    still_works(&d);
}

/// A buffer whose drop panics (after freeing its memory).
struct PanicsOnDrop(Vec<u8>);

// SAFETY: as for the Vec inside, whose heap buffer does not move when it
// is moved and whose length does not change.
unsafe impl IoBuf for PanicsOnDrop {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.0.len()
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("this buffer's drop panics");
    }
}

/// The marker the child run of a test prints when its body finished.
const FINISHED: &str = "rt_failures: the body finished";

/// Runs the test `name` again in a child process, with `RT_FAILURES_CHILD`
/// set, and checks that its body ran to its end there (a run that aborts
/// fails here rather than taking this process down).
fn in_child(name: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("RT_FAILURES_CHILD", name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(FINISHED),
        "the child run failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// A panic payload whose own drop panics. Zero-sized, and its drop's
/// panic carries a zero-sized payload: a payload forgotten rather than
/// dropped leaks no memory (the ASan step checks for leaks).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        std::panic::panic_any(());
    }
}

/// Panics with a [`Bomb`] when woken.
struct PanicsWithABomb;

impl Wake for PanicsWithABomb {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(Bomb);
    }
}

#[test]
fn panics_whose_payloads_panic_when_dropped_cost_no_wake_up_and_do_not_abort() {
    const NAME: &str = "panics_whose_payloads_panic_when_dropped_cost_no_wake_up_and_do_not_abort";
    if std::env::var("RT_FAILURES_CHILD").as_deref() != Ok(NAME) {
        return in_child(NAME);
    }
    let d = Driver::new(8).unwrap();
    let counted = Arc::new(Counting::default());
    let good = Waker::from(counted.clone());
    let bomb = Waker::from(Arc::new(PanicsWithABomb));
    // Two such panics between two good wakers: the turn keeps one payload
    // to resume, and the other must not be dropped (its drop would panic
    // out of the turn, or abort, before the last good waker is woken).
    let mut futures = [d.nop(), d.nop(), d.nop(), d.nop()];
    for (f, w) in futures.iter_mut().zip([&good, &bomb, &bomb, &good]) {
        assert!(poll_with(f, w).is_pending());
    }
    let turned = catch_unwind(AssertUnwindSafe(|| d.park(None)));
    assert_eq!(
        d.in_flight(),
        0,
        "the NOPs did not all complete in one turn"
    );
    let Err(payload) = turned else {
        panic!("the wakers' panic did not come out of the turn")
    };
    assert!(payload.is::<Bomb>(), "the first payload is resumed");
    // Not dropped here: it would panic.
    std::mem::forget(payload);
    assert_eq!(
        counted.0.load(Ordering::SeqCst),
        2,
        "a good waker was not woken"
    );
    for f in &mut futures {
        assert!(matches!(poll_with(f, Waker::noop()), Poll::Ready(Ok(()))));
    }
    still_works(&d);
    println!("{FINISHED}");
}

#[test]
fn two_panicking_completion_drops_in_one_turn_do_not_abort() {
    const NAME: &str = "two_panicking_completion_drops_in_one_turn_do_not_abort";
    if std::env::var("RT_FAILURES_CHILD").as_deref() != Ok(NAME) {
        return in_child(NAME);
    }
    let d = Driver::new(8).unwrap();
    let (r, w) = common::pipe();
    let w = SharedFd::new(w);
    // Two writes pushed and then dropped before any turn: each future's
    // key is abandoned, so the driver drops each final completion (and
    // with it the buffer), both in the turn that submits them (a pipe
    // write with room completes at the submit).
    for _ in 0..2 {
        let mut write = d.write(&w, PanicsOnDrop(vec![7u8; 4]));
        assert!(poll_with(&mut write, Waker::noop()).is_pending());
        drop(write);
    }
    assert_eq!(d.in_flight(), 4, "two writes and their cancels");
    let turned = catch_unwind(AssertUnwindSafe(|| d.park(None)));
    assert_eq!(
        d.in_flight(),
        0,
        "the writes did not all complete in one turn"
    );
    // One panic comes out; the other was dropped.
    let Err(panicked) = turned else {
        panic!("the drops' panic did not come out of the turn")
    };
    assert_eq!(message(&*panicked), "this buffer's drop panics");
    // Both writes went through.
    let mut got = [0u8; 8];
    std::io::Read::read_exact(&mut &r, &mut got).unwrap();
    assert_eq!(got, [7u8; 8]);
    still_works(&d);
    println!("{FINISHED}");
}

#[test]
fn a_single_issuer_ring_moved_to_another_thread_panics_instead_of_spinning() {
    // Built on one thread, which it then belongs to; `IoUring` is `Send`.
    let msg = on_a_ring_another_thread_owns(|raw| {
        let rt = Runtime::with_driver(Driver::from_ring(Ring::from_ring(raw))).unwrap();
        let d = rt.driver().clone();
        (panic_of(|| rt.block_on(d.nop())), rt)
    });
    assert!(
        msg.contains("EEXIST") && msg.contains("single-issuer"),
        "{msg}"
    );
}

/// Runs `f` on a new thread and gives its result, or fails if it has not
/// returned after `limit`: a hang fails the test rather than the run (the
/// thread is left behind).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("did not return in time: awaiting a handle hangs")
}

#[test]
fn a_panicked_tasks_handle_panics_when_awaited_instead_of_hanging() {
    let [out_of_block_on, from_waiting_task, awaited_later, after] =
        within(Duration::from_secs(10), || {
            let rt = Runtime::new(8).unwrap();
            let d = rt.driver().clone();
            let failing = rt.spawn_local(async move {
                d.nop().await.unwrap();
                panic!("the task fails");
            });
            // Awaits the failing task's handle before that task panics: it
            // must be woken then.
            let waiting = rt.spawn_local(failing);
            let out_of_block_on = panic_of(|| rt.block_on(std::future::pending::<()>()));
            let from_waiting_task = panic_of(|| rt.block_on(waiting));
            // A task that panics at once, its handle awaited only after.
            let at_once = rt.spawn_local(async { panic!("this one fails at once") });
            let _ = panic_of(|| rt.block_on(std::future::pending::<()>()));
            let awaited_later = panic_of(|| rt.block_on(at_once));
            // The runtime still works.
            let after = format!("{:?}", rt.block_on(rt.driver().nop()));
            [out_of_block_on, from_waiting_task, awaited_later, after]
        });
    assert_eq!(out_of_block_on, "the task fails");
    assert!(
        from_waiting_task.starts_with("the task panicked"),
        "{from_waiting_task}"
    );
    assert!(
        awaited_later.starts_with("the task panicked"),
        "{awaited_later}"
    );
    assert_eq!(after, "Ok(())");
}

#[test]
fn a_task_dropped_with_its_runtime_makes_its_handle_panic_instead_of_hanging() {
    let [from_waiting_task, spawned_too_late] = within(Duration::from_secs(10), || {
        let first = Runtime::new(8).unwrap();
        let d = first.driver().clone();
        let sleeper = first.spawn_local(async move { d.sleep(Duration::from_secs(3600)).await });
        let handle = first.handle();
        // The sleeper pushes its timeout.
        first.block_on(first.driver().nop()).unwrap();
        let second = Runtime::new(8).unwrap();
        // A task of another runtime awaits the sleeper's handle, before the
        // sleeper is dropped: it must be woken then.
        let waiting = second.spawn_local(sleeper);
        second.block_on(second.driver().nop()).unwrap();
        drop(first);
        let from_waiting_task = panic_of(|| second.block_on(waiting));
        // Spawned through a handle once its runtime is gone: never run.
        let late = handle.spawn_local(async {});
        let spawned_too_late = panic_of(|| second.block_on(late));
        [from_waiting_task, spawned_too_late]
    });
    for msg in [from_waiting_task, spawned_too_late] {
        assert!(
            msg.starts_with("the task was dropped before it completed"),
            "{msg}"
        );
    }
}

/// An enter error that the program's own `Driver::turn` got (and was
/// handed) is the program's: cured (a disabled ring enabled), it must not
/// make the runtime's next `block_on` panic as if its own enters failed.
#[test]
fn an_enter_error_of_the_programs_own_turn_is_not_the_runtimes() {
    let raw = IoUring::builder().r_disabled().build(8).unwrap();
    let d = Driver::from_ring(Ring::from_ring(raw));
    let rt = Runtime::with_driver(d.clone()).unwrap();
    let mut nop = d.nop();
    assert!(poll_with(&mut nop, Waker::noop()).is_pending());
    let turned = d.turn();
    assert!(
        matches!(turned, Err(ring_core::SubmitError::Os(e)) if e == ring_core::Errno::BADFD),
        "a disabled ring refuses the enter: {turned:?}"
    );
    d.with_raw(|r| r.enable()).unwrap();
    let ran = panic_of(|| rt.block_on(nop));
    assert_eq!(ran, "returned Ok(())");
}
