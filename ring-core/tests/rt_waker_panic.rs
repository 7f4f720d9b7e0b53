//! A waker whose `clone` panics, polled into a future of the async layer.
//! Such a waker is sound (nothing in `RawWakerVTable`'s contract forbids a
//! clone to unwind), but safe code cannot build one: this file has the one
//! `unsafe` of the attacks, the vtable. The future clones the waker just
//! after it pushed its operation; if that unwinds, dropping the future
//! must still leave its key with the operation in flight, or the key goes
//! to the next future, which then gets the first one's completion (and,
//! unboxed as its own type, another type's operation).

use std::future::Future;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::SharedFd;
use ring_core::rt::Driver;

#[path = "common/fds.rs"]
mod common;

fn clone_panics(_: *const ()) -> RawWaker {
    panic!("this waker cannot be cloned")
}
fn nothing(_: *const ()) {}
static PANICKY: RawWakerVTable = RawWakerVTable::new(clone_panics, nothing, nothing, nothing);

fn panicky_waker() -> Waker {
    // SAFETY: every function of the vtable ignores the data pointer (null),
    // and `clone` never returns.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &PANICKY)) }
}

/// Has `poll_first` poll a future (or stream) it owns once, with a waker
/// whose clone panics, so that it is dropped in the unwind; then a read of
/// another pipe takes the next key, `complete` makes the first operation
/// complete (if it was pushed), and only then does the read get its data.
/// The read must get its own buffer and bytes.
fn attack(poll_first: impl FnOnce(&mut Context<'_>), complete: impl FnOnce(), d: &Driver) {
    let waker = panicky_waker();
    let polled = catch_unwind(AssertUnwindSafe(|| {
        poll_first(&mut Context::from_waker(&waker))
    }));
    // The future was dropped with its operation pushed (or not): either
    // way its key must not go to another future while that operation can
    // still complete.
    assert!(polled.is_err(), "the clone did not panic");
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let mut read = d.read(&r, vec![0u8; 16]);
    let noop = &mut Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut read).poll(noop).is_pending());
    complete();
    // The first operation's completions come and go (to nobody).
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.in_flight() > 1 {
        assert!(Instant::now() < deadline, "{d:?} never settled");
        let _ = d.park(Some(Duration::from_millis(20)));
    }
    w.write_all(b"mine").unwrap();
    let (n, buf) = loop {
        assert!(Instant::now() < deadline, "the read never completed");
        let _ = d.park(Some(Duration::from_millis(20)));
        if let Poll::Ready(done) = Pin::new(&mut read).poll(noop) {
            break done;
        }
    };
    assert_eq!(buf.len(), 16, "the read got another operation's buffer");
    assert_eq!(&buf[..n.unwrap()], b"mine");
}

#[test]
fn a_waker_whose_clone_panics_after_the_push_gives_no_key_away() {
    let d = Driver::new(8).unwrap();
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let mut read = d.read(&r, vec![0u8; 64]);
    let poll = move |cx: &mut Context<'_>| {
        let _ = Pin::new(&mut read).poll(cx);
    };
    attack(poll, || w.write_all(b"late").unwrap(), &d);
}

#[test]
fn a_stream_whose_waker_clone_panics_after_the_push_gives_no_key_away() {
    let d = Driver::new(8).unwrap();
    let mut ticks = d.ticks(Duration::from_millis(2), 2);
    let poll = move |cx: &mut Context<'_>| {
        let _ = ticks.poll_next(cx);
    };
    attack(poll, || (), &d);
}
