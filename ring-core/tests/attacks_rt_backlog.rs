//! Red-team attacks on the stream bound (`Multi::with_backlog`) and on the
//! driver's delivery of panics (`Deferred::run`), written as a hostile
//! user would, on the real kernel: a canceller taken before a pause and
//! used after the stream pushed its operation again, a bound changed at
//! every poll, a bound of one, many paused streams dropped at once with
//! their driver, a driving waker that re-enters the driver and panics
//! inside the push again, and panic payloads whose drops panic with
//! payloads whose drops panic. Each checks that no connection is lost,
//! repeated or left open, that no pause's `ECANCELED` is yielded, and that
//! every wait ends.
//! No `unsafe` here; run under ASan in CI.

#![forbid(unsafe_code)]

#[path = "common/accepts.rs"]
mod accepts;
#[path = "common/fds.rs"]
mod common;
use accepts::{
    accepted_on, client, connect_until_paused, each_once, id_of, listener, poll_next, pump,
};

use std::cell::RefCell;
use std::future::Future;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use std::rc::Rc;

use ring_core::buf_ring::BufRing;
use ring_core::owned::{op::RecvMulti, OwnedBuf, SharedFd};
use ring_core::rt::{Driver, Multi};
use ring_core::Errno;

/// A canceller names the stream's key, not one push of its operation: taken
/// before a pause and used after the stream pushed the operation again, it
/// must cancel that new push and end the stream (a canceller that named
/// only the first push's token would cancel nothing, and the stream would
/// accept forever).
#[test]
fn a_canceller_taken_before_a_pause_cancels_the_push_after_it_and_ends_the_stream() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(3);
    let canceller = s.canceller();
    assert!(poll_next(&mut s).is_pending());
    let mut clients = Vec::new();
    connect_until_paused(&d, port, &mut clients);
    // Take everything queued; the poll after the last pushes again.
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.in_flight() == 0 {
        assert!(Instant::now() < deadline, "never pushed again: {d:?}");
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(fd))) => ids.push(id_of(fd)),
            // The poll that pushes again.
            Poll::Pending => {}
            other => panic!("while paused: {other:?} after {ids:?}, {d:?}"),
        }
    }
    canceller.cancel();
    let last = loop {
        assert!(Instant::now() < deadline, "the stream never ended");
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(fd))) => ids.push(id_of(fd)),
            Poll::Ready(Some(Err(e))) => break e,
            Poll::Ready(None) => panic!("ended without its final completion"),
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    };
    assert_eq!(last.raw_os_error(), Some(Errno::CANCELED.raw_os_error()));
    assert!(matches!(poll_next(&mut s), Poll::Ready(None)));
    // Ended for good: a later client waits in the listen queue.
    clients.push(client(port, clients.len() as u32));
    pump(&d);
    assert_eq!(d.in_flight(), 0, "pushed again after the user's cancel");
    assert!(matches!(poll_next(&mut s), Poll::Ready(None)));
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a connection came twice: {ids:?}");
    drop(clients);
}

/// The bound changed at every poll (one, a few, none), while paused and
/// while open: 40 clients come out each exactly once, none as an error (no
/// pause's `ECANCELED`), and the stream goes on after each pause.
#[test]
fn a_bound_changed_at_every_poll_loses_and_repeats_no_connection() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(1);
    assert!(poll_next(&mut s).is_pending());
    let n = 40u32;
    let bounds = [1usize, 2, 1, usize::MAX, 3, 1, 1, 5];
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    let mut polls = 0usize;
    let mut pauses = 0usize;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ids.len() < n as usize {
        assert!(Instant::now() < deadline, "{} of {n}: {d:?}", ids.len());
        if clients.len() < n as usize {
            // Two at a time: more than a bound of one.
            for _ in 0..2 {
                if clients.len() < n as usize {
                    clients.push(client(port, clients.len() as u32));
                }
            }
            pump(&d);
        }
        if d.in_flight() == 0 {
            pauses += 1;
        }
        s = s.with_backlog(bounds[polls % bounds.len()]);
        polls += 1;
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(fd))) => ids.push(id_of(fd)),
            Poll::Ready(Some(Err(e))) => panic!("an error item (a pause's?): {e}"),
            Poll::Ready(None) => panic!("ended after {} connections", ids.len()),
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    }
    assert!(each_once(ids.clone(), n), "{ids:?}");
    assert!(pauses > 0, "the bound never paused the stream");
    drop(s);
    pump(&d);
    assert_eq!(d.in_flight(), 0);
    assert_eq!(accepted_on(port), 0, "accepted connections left open");
    drop(clients);
}

/// Eight streams paused with connections queued, dropped at once, then
/// their driver: every accepted connection is closed, each once (a double
/// close would show under ASan or close another test's descriptor, and a
/// leak in `accepted_on`), and the listeners close with their last
/// descriptor.
#[test]
fn many_paused_streams_dropped_at_once_with_their_driver_leave_nothing_open() {
    let d = Driver::new(8).unwrap();
    let mut all = Vec::new();
    for _ in 0..8 {
        let (l, port, share) = listener();
        let mut s = d.accept_multi(&share).with_backlog(2);
        assert!(poll_next(&mut s).is_pending());
        all.push((l, port, share, s, Vec::new()));
    }
    // Four clients each, over a bound of two: each stream pauses (the
    // rest wait in their listen queue, or are queued before the cancel).
    for (_, port, _, _, clients) in &mut all {
        for id in 0..4 {
            clients.push(client(*port, id));
            pump(&d);
        }
    }
    // Each paused: nothing in flight, connections queued.
    assert_eq!(d.in_flight(), 0);
    for (_, port, _, _, _) in &all {
        assert!(accepted_on(*port) >= 2);
    }
    let mut streams = Vec::new();
    let mut rest = Vec::new();
    for (l, port, share, s, clients) in all {
        drop(share);
        streams.push(s);
        rest.push((l, port, clients));
    }
    drop(streams);
    drop(d);
    for (l, port, clients) in rest {
        assert_eq!(accepted_on(port), 0, "accepted connections left open");
        let target = std::fs::read_link(format!("/proc/self/fd/{}", {
            use std::os::fd::AsRawFd;
            l.as_raw_fd()
        }))
        .unwrap();
        drop(l);
        let left = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|t| *t == target)
            .count();
        assert_eq!(left, 0, "a listener's share leaked");
        drop(clients);
    }
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// A driving task's waker that turns the thread's driver and then panics.
struct TurnThenPanic(AtomicUsize);

impl Wake for TurnThenPanic {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        DRIVER.with(|d| {
            if let Some(d) = d.borrow().as_ref() {
                let _ = d.turn();
            }
        });
        panic!("the driving task's waker panics after a turn");
    }
}

/// The push again after a pause wakes the outside executor's driving task
/// (its waker from `Driver::pushed`); that waker re-enters the driver
/// with a turn and panics, out of the stream's poll. The stream must be
/// whole: its operation pushed once, every connection yielded once after.
#[test]
fn a_driving_waker_that_turns_and_panics_inside_the_push_again_loses_nothing() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    DRIVER.with(|slot| *slot.borrow_mut() = Some(d.clone()));
    let mut s = d.accept_multi(&share).with_backlog(2);
    assert!(poll_next(&mut s).is_pending());
    let mut clients = Vec::new();
    connect_until_paused(&d, port, &mut clients);
    let queued = clients.len();
    // More clients wait in the listen queue for the push again.
    for _ in 0..3 {
        clients.push(client(port, clients.len() as u32));
    }
    let bomb = Arc::new(TurnThenPanic(AtomicUsize::new(0)));
    let waker = Waker::from(bomb.clone());
    let mut ids = Vec::new();
    let mut panicked = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ids.len() < clients.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {}: {d:?}",
            ids.len(),
            clients.len()
        );
        // The driving task waits for a push (nothing waits to be
        // submitted: the pump submitted it all).
        let mut pushed = Box::pin(d.pushed());
        let _ = pushed.as_mut().poll(&mut Context::from_waker(&waker));
        drop(pushed);
        match catch_unwind(AssertUnwindSafe(|| poll_next(&mut s))) {
            Ok(Poll::Ready(Some(Ok(fd)))) => ids.push(id_of(fd)),
            Ok(Poll::Ready(Some(Err(e)))) => panic!("an error item: {e}"),
            Ok(Poll::Ready(None)) => panic!("ended after {} connections", ids.len()),
            Ok(Poll::Pending) => {}
            Err(_) => panicked += 1,
        }
        // A turn pushes the bound's cancel, which wakes the driving task
        // too: its panic comes out of the turn, after the turn's work.
        if catch_unwind(AssertUnwindSafe(|| d.park(Some(Duration::from_millis(20)))))
            .is_ok_and(|r| r.is_err())
        {
            panic!("a turn failed");
        }
    }
    assert!(panicked > 0, "the push again never woke the driving task");
    assert!(bomb.0.load(Ordering::SeqCst) >= panicked);
    assert!(ids.len() > queued);
    assert!(each_once(ids.clone(), clients.len() as u32), "{ids:?}");
    DRIVER.with(|slot| slot.borrow_mut().take());
    drop(s);
    pump(&d);
    assert_eq!(d.in_flight(), 0);
    assert_eq!(accepted_on(port), 0);
    drop(clients);
}

/// Panic payloads whose drops panic with a payload whose drop panics,
/// three deep: `Deep3`'s drop panics with `Deep2`, whose drop panics with
/// `Deep1`, whose drop panics with `()`. Zero-sized, so that a payload the
/// driver (or this test) forgets leaks no allocation for LeakSanitizer to
/// report.
struct Deep3;
struct Deep2;
struct Deep1;

impl Drop for Deep3 {
    fn drop(&mut self) {
        std::panic::panic_any(Deep2);
    }
}

impl Drop for Deep2 {
    fn drop(&mut self) {
        std::panic::panic_any(Deep1);
    }
}

impl Drop for Deep1 {
    fn drop(&mut self) {
        std::panic::panic_any(());
    }
}

/// A waker that turns the thread's driver, then panics with a [`Deep3`].
struct Nastier;

impl Wake for Nastier {
    fn wake(self: Arc<Self>) {
        DRIVER.with(|d| {
            if let Some(d) = d.borrow().as_ref() {
                let _ = d.turn();
            }
        });
        std::panic::panic_any(Deep3);
    }
}

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Two wakers of one turn re-enter the driver and panic with payloads
/// whose drops panic (three deep); the turn resumes the first, and must
/// drop the second where its panics are caught: escaping the delivery,
/// they would leave the third waker (woken last) unwoken, its future's
/// completion waiting forever. Then the driver keeps working.
#[test]
fn payloads_whose_drops_panic_three_deep_lose_no_other_wake() {
    let d = Driver::new(16).unwrap();
    DRIVER.with(|slot| *slot.borrow_mut() = Some(d.clone()));
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let counted = Waker::from(count.clone());
    let nasty = Waker::from(Arc::new(Nastier));
    // Completed in push order, woken last-first: the counted one last.
    let mut futs = vec![Box::pin(d.nop()), Box::pin(d.nop()), Box::pin(d.nop())];
    for (i, f) in futs.iter_mut().enumerate() {
        let w = if i == 0 { &counted } else { &nasty };
        assert!(f.as_mut().poll(&mut Context::from_waker(w)).is_pending());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut resumed = 0;
    while count.0.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the counted waker was never woken"
        );
        match catch_unwind(AssertUnwindSafe(|| d.park(Some(Duration::from_millis(50))))) {
            Ok(r) => {
                r.unwrap();
            }
            Err(p) => {
                resumed += 1;
                // The resumed payload is ours: its drop would panic.
                std::mem::forget(p);
            }
        }
    }
    assert_eq!(resumed, 1, "one turn, one resumed panic");
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    for f in &mut futs {
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r.unwrap(),
            Poll::Pending => panic!("a nop's completion was lost"),
        }
    }
    DRIVER.with(|slot| slot.borrow_mut().take());
    // The driver still works.
    let mut nop = Box::pin(d.nop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the driver stopped");
        if let Poll::Ready(r) = nop.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            r.unwrap();
            break;
        }
        d.park(Some(Duration::from_millis(20))).unwrap();
    }
    assert_eq!(d.in_flight(), 0);
}

/// The bytes `from..from + n` of stream `seed`'s byte stream (two streams
/// never agree at one offset).
fn pattern(seed: u8, from: usize, n: usize) -> Vec<u8> {
    (from..from + n)
        .map(|i| ((i % 251) as u8).wrapping_add(seed.wrapping_mul(101)))
        .collect()
}

type Recvs = Multi<RecvMulti, std::io::Result<Option<OwnedBuf>>>;

/// Two bounded receive streams share one buffer ring, both paused and
/// pushed again while a consumer takes one buffer at a time from each in
/// turn: each stream yields its own bytes in order (a buffer filled for
/// one never comes out of the other, and none twice), up to its end or a
/// dry ring's ENOBUFS, and once both are dropped every buffer is back.
#[test]
fn two_bounded_recv_streams_on_one_buffer_ring_keep_their_own_bytes() {
    let d = Driver::new(64).unwrap();
    let bufs = Rc::new(
        d.with_raw(|r| BufRing::builder(9, 32, 64).build(r))
            .unwrap(),
    );
    let mut pairs = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..2 {
        let (client, server) = common::connected_pair();
        let server = SharedFd::new(server);
        let mut s: Recvs = d.recv_multi(&server, bufs.clone()).with_backlog(4);
        assert!(poll_next(&mut s).is_pending());
        streams.push(s);
        pairs.push(client);
    }
    let chunks = 24;
    for i in 0..chunks {
        for (seed, c) in pairs.iter_mut().enumerate() {
            c.write_all(&pattern(seed as u8, i * 64, 64)).unwrap();
        }
        pump(&d);
    }
    // 48 buffers' worth sent to a ring of 32: both bounds held (about
    // four each, plus what came before each cancel), the rest waits in
    // the sockets.
    let held = usize::from(bufs.entries()) - bufs.available();
    assert!((8..=16).contains(&held), "{held} filled buffers held");
    assert_eq!(d.in_flight(), 0, "both paused");
    for c in &pairs {
        c.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut got = [Vec::new(), Vec::new()];
    let mut ended = [None, None];
    let deadline = Instant::now() + Duration::from_secs(20);
    while ended.iter().any(Option::is_none) {
        assert!(
            Instant::now() < deadline,
            "{:?} bytes, {ended:?}",
            got.each_ref().map(Vec::len)
        );
        for (k, s) in streams.iter_mut().enumerate() {
            if ended[k].is_some() {
                continue;
            }
            match poll_next(s) {
                Poll::Ready(Some(Ok(Some(buf)))) => got[k].extend_from_slice(&buf),
                Poll::Ready(Some(Ok(None))) => {} // end of file
                Poll::Ready(Some(Err(e))) => {
                    assert_eq!(
                        e.raw_os_error(),
                        Some(Errno::NOBUFS.raw_os_error()),
                        "stream {k}: {e}"
                    );
                    ended[k] = Some("ENOBUFS");
                }
                Poll::Ready(None) => ended[k] = Some("end"),
                Poll::Pending => {}
            }
        }
        d.park(Some(Duration::from_millis(5))).unwrap();
    }
    for (k, bytes) in got.iter().enumerate() {
        assert!(
            *bytes == pattern(k as u8, 0, bytes.len()),
            "stream {k}: bytes lost, repeated or from the other stream"
        );
        if ended[k] == Some("end") {
            assert_eq!(bytes.len(), chunks * 64, "stream {k} ended early");
        }
    }
    drop(streams);
    pump(&d);
    assert_eq!(d.in_flight(), 0);
    assert_eq!(
        bufs.available(),
        usize::from(bufs.entries()),
        "buffers not given back"
    );
    drop(pairs);
}

/// A stream dropped while its bound's cancel waits in the driver for the
/// next turn (the turn that reached the bound was reaping the ring): the
/// drop cancels the operation itself, the waiting cancel goes out later
/// for a finished operation, and nothing is left open or in flight; a
/// new stream made at once gets only its own completions.
#[test]
fn a_stream_dropped_while_its_bounds_cancel_waits_for_the_next_turn_leaves_nothing() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(1);
    assert!(poll_next(&mut s).is_pending());
    d.turn().unwrap(); // submits the accept
    let c = client(port, 0);
    // One turn reaps the connection: the bound is reached, and the cancel
    // waits for the next turn; the accept is still in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.turn().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the accept never completed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(d.in_flight(), 1, "the accept, its cancel not yet pushed");
    assert_eq!(accepted_on(port), 1);
    drop(s);
    // At once a new stream, before any turn: had the drop given its key
    // away with the accept in flight, the new stream would get the old
    // accept's completions (its final ECANCELED, or a connection).
    let mut s2 = d.accept_multi(&share).with_backlog(1);
    assert!(poll_next(&mut s2).is_pending());
    pump(&d);
    assert_eq!(d.in_flight(), 1, "only the new stream's accept");
    assert_eq!(accepted_on(port), 0, "the queued connection left open");
    let c2 = client(port, 1);
    pump(&d);
    let deadline = Instant::now() + Duration::from_secs(10);
    let id = loop {
        assert!(Instant::now() < deadline, "the new stream got nothing");
        match poll_next(&mut s2) {
            Poll::Ready(Some(Ok(fd))) => break id_of(fd),
            Poll::Ready(other) => panic!("{other:?}"),
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    };
    assert_eq!(id, 1);
    drop((s2, c, c2));
    pump(&d);
    assert_eq!(d.in_flight(), 0);
    assert_eq!(accepted_on(port), 0);
}
