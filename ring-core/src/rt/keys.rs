//! The driver's keys across a future's life, on the real kernel: which key
//! a future holds when, and when it goes back to the free list.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::driver::{State, Throttle};
use super::{Driver, Submit, Unit};
use crate::owned::{op::Nop, SharedFd};

/// Polls `f` once with a waker that does nothing.
fn poll_once(f: &mut Submit<Nop, Unit>) -> Poll<std::io::Result<()>> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// A NOP future run to its result by hand: pushed, completed, taken.
fn taken(d: &Driver) -> Submit<Nop, Unit> {
    let mut f = d.nop();
    assert!(poll_once(&mut f).is_pending(), "the first poll pushes");
    d.park(None).expect("wait for the NOP");
    match poll_once(&mut f) {
        Poll::Ready(r) => r.expect("a NOP succeeds"),
        Poll::Pending => panic!("the NOP completed in the wait"),
    }
    f
}

/// Whether `key` is on the driver's free list.
fn is_free(d: &Driver, key: u32) -> bool {
    matches!(d.inner.borrow().entries[key as usize].state, State::Free(_))
}

#[test]
fn a_taken_result_keeps_its_key_until_the_future_drops() {
    let d = Driver::new(8).unwrap();
    let f = taken(&d);
    // The only key so far is this future's: taken, not free, so no other
    // future can get it while this one may still be moved or polled.
    assert_eq!(d.inner.borrow().entries.len(), 1);
    assert!(matches!(
        d.inner.borrow().entries[0].state,
        State::Done(_, None)
    ));
    let gen = d.inner.borrow().entries[0].gen;
    // Moved (as a join moves a ready future out of its list), then dropped.
    let mut list = vec![f];
    let moved = list.swap_remove(0);
    assert!(!is_free(&d, 0));
    drop(moved);
    assert!(is_free(&d, 0), "the drop frees the key");
    assert_ne!(
        d.inner.borrow().entries[0].gen,
        gen,
        "and retires its cancellers"
    );
}

#[test]
fn keys_of_moved_and_dropped_futures_are_reused() {
    let d = Driver::new(8).unwrap();
    for _ in 0..100 {
        let mut batch: Vec<_> = (0..8).map(|_| d.nop()).collect();
        for f in &mut batch {
            assert!(poll_once(f).is_pending());
        }
        d.park(None).unwrap();
        while d.in_flight() > 0 {
            d.park(None).unwrap();
        }
        while !batch.is_empty() {
            let mut f = batch.swap_remove(0);
            assert!(matches!(poll_once(&mut f), Poll::Ready(Ok(()))));
            let moved = vec![f];
            drop(moved);
        }
    }
    // Eight at a time, each key freed by its future's drop: eight keys.
    assert_eq!(d.inner.borrow().entries.len(), 8);
    assert!((0..8).all(|k| is_free(&d, k)));
}

#[test]
fn a_future_dropped_before_its_result_is_taken_frees_its_key_once() {
    let d = Driver::new(8).unwrap();
    let mut f = d.nop();
    assert!(poll_once(&mut f).is_pending());
    d.park(None).unwrap();
    // Completed, result not taken: the drop frees the key (and the
    // operation stored in it) without a cancel.
    assert!(matches!(
        d.inner.borrow().entries[0].state,
        State::Done(_, Some(_))
    ));
    drop(f);
    assert!(is_free(&d, 0));
    assert_eq!(d.in_flight(), 0, "no cancel was pushed");
    // The next future gets that key, and the one after a new one.
    let (a, b) = (taken(&d), taken(&d));
    drop((a, b));
    assert_eq!(d.inner.borrow().entries.len(), 2);
}

/// Turns `d` until nothing is in flight (bounded).
fn settle(d: &Driver) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while d.in_flight() > 0 {
        assert!(std::time::Instant::now() < deadline, "{d:?} did not settle");
        d.park(Some(std::time::Duration::from_millis(20))).unwrap();
    }
}

/// The bound and token of the stream on `key`, if it is one.
fn stream(d: &Driver, key: u32) -> Option<(Throttle, crate::owned::Token)> {
    match &d.inner.borrow().entries[key as usize].state {
        State::Stream {
            throttle, token, ..
        } => Some((*throttle, *token)),
        _ => None,
    }
}

#[test]
fn a_paused_stream_pushes_again_on_its_own_key_and_a_drop_frees_it() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let share = SharedFd::try_clone_from(&l).unwrap();
    let d = Driver::new(8).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(1);
    let noop = &mut Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut s.next()).poll(noop).is_pending());
    let (_, first) = stream(&d, 0).expect("pushed");
    // One connection reaches the bound; the cancel ends the accept.
    let _c1 = std::net::TcpStream::connect(addr).unwrap();
    settle(&d);
    assert_eq!(stream(&d, 0).map(|s| s.0), Some(Throttle::Parked));
    // Taken, then the next poll pushes again: same key, a new token.
    assert!(matches!(
        Pin::new(&mut s.next()).poll(noop),
        Poll::Ready(Some(Ok(_)))
    ));
    assert!(Pin::new(&mut s.next()).poll(noop).is_pending());
    let (throttle, second) = stream(&d, 0).expect("pushed again");
    assert_eq!(throttle, Throttle::Open);
    assert_ne!(first, second);
    assert_eq!(d.inner.borrow().entries.len(), 1, "no other key");
    // Paused again, and dropped so: the key is free at once (nothing in
    // flight for it).
    let _c2 = std::net::TcpStream::connect(addr).unwrap();
    settle(&d);
    assert_eq!(stream(&d, 0).map(|s| s.0), Some(Throttle::Parked));
    drop(s);
    assert!(is_free(&d, 0));
    assert_eq!(d.in_flight(), 0);
}
