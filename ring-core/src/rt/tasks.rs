//! The runtime's task indices across a task's life, a panicking one
//! included, on the real kernel.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};

use crate::rt::Runtime;

/// Ready at its second poll, having woken itself at the first: a
/// `block_on` with it turns the runtime's loop once.
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

/// Spawns a task that hands out its waker and then panics, and runs the
/// runtime until the panic comes out of `block_on`.
fn panicked_task(rt: &Runtime) -> Waker {
    let (tx, rx) = mpsc::channel();
    let _task = rt.spawn_local(async move {
        let waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        tx.send(waker).unwrap();
        panic!("this task panics on purpose");
    });
    let out = catch_unwind(AssertUnwindSafe(|| rt.block_on(YieldOnce(false))));
    assert!(out.is_err(), "the task's panic comes out of block_on");
    rx.try_recv().expect("the task ran")
}

#[test]
fn a_panicked_tasks_index_is_reused() {
    let rt = Runtime::new(8).unwrap();
    let _waker = panicked_task(&rt);
    assert!(
        rt.exec.wakes.borrow()[0].is_none(),
        "its wake-up flag dropped"
    );
    assert_eq!(*rt.exec.free.borrow(), [0], "its index free");
    let next = rt.spawn_local(async { 7 });
    assert_eq!(rt.block_on(next), 7);
    assert_eq!(
        rt.exec.tasks.borrow().len(),
        1,
        "the next task took index 0"
    );
}

#[test]
fn waking_a_panicked_task_strands_nothing() {
    let rt = Runtime::new(8).unwrap();
    let waker = panicked_task(&rt);
    for _ in 0..3 {
        waker.wake_by_ref();
        rt.block_on(YieldOnce(false));
    }
    assert!(rt.exec.stranded.borrow().is_empty());
}

/// A task woken while out being polled (a `block_on` nested in its poll
/// ran the wake, and listed it as stranded) that then panics: its index
/// goes back with nothing stranded under it, so the next task to take the
/// index is not polled again for the dead task's wake-up.
#[test]
fn a_task_that_panics_after_a_nested_wake_leaves_nothing_stranded() {
    use std::cell::Cell;
    use std::rc::Rc;

    let rt = Rc::new(Runtime::new(8).unwrap());
    let weak = Rc::downgrade(&rt);
    let _task = rt.spawn_local(poll_fn(move |cx| {
        // Woken while out being polled: the nested loop finds it out.
        cx.waker().wake_by_ref();
        let rt = weak.upgrade().expect("the runtime runs this task");
        rt.block_on(YieldOnce(false));
        assert!(
            !rt.exec.stranded.borrow().is_empty(),
            "the nested loop listed the task as stranded"
        );
        panic!("this task panics on purpose");
        #[allow(unreachable_code)]
        Poll::<()>::Pending
    }));
    let out = catch_unwind(AssertUnwindSafe(|| rt.block_on(YieldOnce(false))));
    assert!(out.is_err(), "the task's panic comes out of block_on");
    assert!(rt.exec.stranded.borrow().is_empty(), "nothing stranded");
    // The next task takes the index: it is polled at its spawn's wake-up,
    // and not again for the dead task's.
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let _next = rt.spawn_local(poll_fn(move |_| {
        p.set(p.get() + 1);
        Poll::<()>::Pending
    }));
    assert_eq!(rt.exec.tasks.borrow().len(), 1, "it took index 0");
    for _ in 0..3 {
        rt.block_on(YieldOnce(false));
    }
    assert_eq!(polls.get(), 1, "polled once, for its own wake-up");
}
