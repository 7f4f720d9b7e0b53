//! Futures on the safe tier (`ring_core::rt`) against the real kernel:
//! results and buffers come back, streams end with their final completion,
//! timeouts and cancellation, and above all dropping futures, streams and
//! the runtime while operations are in flight: nothing leaks (descriptors
//! created after the drop are closed), nothing is freed early (run under
//! ASan in CI), nothing hangs. No `unsafe` here.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;
#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{op::Nop, op::Open, op::PollAdd, SharedFd};
use ring_core::rt::{Driver, Runtime};
use ring_core::Errno;

/// Polls `f` once with a waker that does nothing: pushes its operation.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// Turns the driver until nothing is in flight (bounded).
fn settle(driver: &Driver) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while driver.in_flight() > 0 {
        assert!(Instant::now() < deadline, "{driver:?} did not settle");
        driver.park(Some(Duration::from_millis(50))).unwrap();
    }
}

#[test]
fn read_gives_the_count_and_the_buffer_back() {
    let (path, mut f) = common::temp_file("rt-read");
    f.write_all(b"hello ring").unwrap();
    let file = SharedFd::new(f);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let (res, buf) = rt.block_on(async move { d.read_at(&file, vec![0u8; 32], 0).await });
    assert_eq!(res.unwrap(), 10);
    assert_eq!(&buf[..10], b"hello ring");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn submit_hands_the_operation_back() {
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let done = rt.block_on(async move { d.submit(Nop).await }).unwrap();
    assert_eq!(done.result(), Ok(0));
    let _nop: Nop = done.into_op();
}

/// Many concurrent futures in spawned tasks, each awaited: every result
/// arrives at its own future.
#[test]
fn spawned_tasks_each_get_their_own_result() {
    let rt = Runtime::new(16).unwrap();
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let mut handles = Vec::new();
    for i in 0..40u8 {
        let d = rt.driver().clone();
        handles.push(rt.spawn_local(async move {
            d.sleep(Duration::from_millis(u64::from(i % 5)))
                .await
                .unwrap();
            d.nop().await.unwrap();
            i
        }));
    }
    let d = rt.driver().clone();
    let reader = rt.spawn_local(async move { d.read(&r, vec![0u8; 4]).await });
    w.write_all(b"abcd").unwrap();
    let outs = rt.block_on(async move {
        let mut outs = Vec::new();
        for h in handles {
            outs.push(h.await);
        }
        outs
    });
    assert_eq!(outs, (0..40).collect::<Vec<_>>());
    let (res, buf) = rt.block_on(reader);
    assert_eq!(res.unwrap(), 4);
    assert_eq!(buf, b"abcd");
}

#[test]
fn tcp_accept_recv_send() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener);
    let rt = Runtime::new(16).unwrap();
    let d = rt.driver().clone();
    let client = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).unwrap();
        back
    });
    rt.block_on(async move {
        let conn = SharedFd::new(d.accept(&listener).await.unwrap());
        let (n, buf) = d.recv(&conn, vec![0u8; 16]).await;
        let n = n.unwrap();
        let (sent, _) = d.send(&conn, buf[..n].to_vec()).await;
        assert_eq!(sent.unwrap(), n);
    });
    assert_eq!(&client.join().unwrap(), b"ping");
}

/// Receives and sends take a slice of a buffer: the receive fills only its
/// range, the send sends only its range, and both give the whole buffer
/// back (an echo loop reuses one buffer without resizing it).
#[test]
fn recv_and_send_take_a_slice_and_give_the_whole_buffer_back() {
    use ring_core::owned::IoBuf;
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    c.write_all(b"ping").unwrap();
    let buf = rt.block_on(async move {
        let (n, buf) = d.recv(&s, vec![b'.'; 16].slice(4..)).await;
        assert_eq!(n.unwrap(), 4);
        assert_eq!(buf.len(), 16);
        assert_eq!(&buf[..8], b"....ping");
        let (sent, buf) = d.send(&s, buf.slice(4..6)).await;
        assert_eq!(sent.unwrap(), 2);
        buf
    });
    drop(rt);
    assert_eq!(buf.len(), 16);
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"pi");
}

/// A receive that polls first (`IORING_RECVSEND_POLL_FIRST`) is a plain
/// receive to its user: pushed before any data, it waits and then
/// completes with the bytes that arrive; pushed with bytes already queued,
/// it completes with them.
#[test]
fn a_poll_first_recv_gets_the_bytes_sent_after_and_before_its_push() {
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let d = Driver::new(8).unwrap();
    let mut recv = d.recv(&s, vec![0u8; 16]).poll_first();
    assert!(poll_once(&mut recv).is_pending());
    d.park(Some(Duration::from_millis(50))).unwrap();
    assert!(
        poll_once(&mut recv).is_pending(),
        "completed with no data sent"
    );
    c.write_all(b"ping").unwrap();
    settle(&d);
    let Poll::Ready((n, buf)) = poll_once(&mut recv) else {
        panic!("the receive did not complete after the data came");
    };
    assert_eq!(&buf[..n.unwrap()], b"ping");

    c.write_all(b"pong").unwrap();
    let mut recv = d.recv(&s, vec![0u8; 16]).poll_first();
    assert!(poll_once(&mut recv).is_pending());
    settle(&d);
    let Poll::Ready((n, buf)) = poll_once(&mut recv) else {
        panic!("the receive did not complete with data already there");
    };
    assert_eq!(&buf[..n.unwrap()], b"pong");
}

/// An accept whose future was dropped after its push, on a listener with a
/// connection waiting: the accept completes after the drop with a new
/// descriptor, which the driver closes (the client sees end of file).
#[test]
fn a_connection_accepted_after_the_future_dropped_is_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let listener = SharedFd::new(listener);
    let d = Driver::new(8).unwrap();
    let mut accept = d.accept(&listener);
    assert!(poll_once(&mut accept).is_pending());
    drop(accept);
    settle(&d);
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 1];
    assert_eq!(
        client.read(&mut b).unwrap(),
        0,
        "the server side was closed"
    );
}

/// The same for an open: the file it opened after its future was dropped
/// is not left open.
#[test]
fn a_file_opened_after_the_future_dropped_is_closed() {
    let (path, f) = common::temp_file("rt-open-dropped");
    drop(f);
    let d = Driver::new(8).unwrap();
    for _ in 0..20 {
        let mut open = d.open(Open::new(&path, 0, 0).unwrap());
        assert!(poll_once(&mut open).is_pending());
        drop(open);
    }
    settle(&d);
    assert_eq!(
        common::fds_on(&path),
        0,
        "every opened descriptor was closed"
    );
    std::fs::remove_file(path).unwrap();
}

/// A result that arrived but was never taken (the future dropped between
/// completion and its next poll) is dropped with its descriptor.
#[test]
fn a_completed_open_never_polled_again_is_closed() {
    let (path, f) = common::temp_file("rt-open-done");
    drop(f);
    let d = Driver::new(8).unwrap();
    let mut open = d.open(Open::new(&path, 0, 0).unwrap());
    assert!(poll_once(&mut open).is_pending());
    settle(&d);
    assert_eq!(
        common::fds_on(&path),
        1,
        "the completion holds the descriptor"
    );
    drop(open);
    assert_eq!(common::fds_on(&path), 0);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn with_timeout_cancels_a_read_that_does_not_come() {
    let (r, _w) = common::pipe();
    let r = SharedFd::new(r);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let start = Instant::now();
    let (res, buf) = rt.block_on(async move {
        d.read(&r, vec![0u8; 8])
            .with_timeout(Duration::from_millis(20))
            .await
    });
    assert_eq!(
        res.unwrap_err().raw_os_error(),
        Some(Errno::CANCELED.raw_os_error())
    );
    assert_eq!(buf.len(), 8, "the buffer comes back");
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn with_timeout_lets_a_quick_operation_finish() {
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let r = rt.block_on(async move { d.nop().with_timeout(Duration::from_secs(5)).await });
    r.unwrap();
    // The link timeout was cancelled and reaped, not left behind.
    settle(rt.driver());
}

#[test]
fn a_canceller_stops_a_pending_recv() {
    let (_c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let h = rt.handle();
    let (res, _) = rt.block_on(async move {
        let mut recv = d.recv(&s, vec![0u8; 8]);
        let cancel = recv.canceller();
        let d2 = d.clone();
        drop(h.spawn_local(async move {
            d2.sleep(Duration::from_millis(10)).await.unwrap();
            cancel.cancel();
        }));
        recv.await
    });
    assert_eq!(
        res.unwrap_err().raw_os_error(),
        Some(Errno::CANCELED.raw_os_error())
    );
}

#[test]
fn a_canceller_used_before_the_push_cancels_after_it() {
    let (_c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let (res, _) = rt.block_on(async move {
        let mut recv = d.recv(&s, vec![0u8; 8]);
        recv.canceller().cancel();
        recv.await
    });
    assert_eq!(
        res.unwrap_err().raw_os_error(),
        Some(Errno::CANCELED.raw_os_error())
    );
}

#[test]
fn multishot_accept_yields_each_connection_and_ends_with_the_final_completion() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener);
    let rt = Runtime::new(16).unwrap();
    let d = rt.driver().clone();
    let clients: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let (accepted, last, after) = rt.block_on(async move {
        let mut accepts = d.accept_multi(&listener);
        let mut fds: Vec<OwnedFd> = Vec::new();
        while fds.len() < 3 {
            fds.push(accepts.next().await.expect("more").unwrap());
        }
        accepts.cancel();
        let last = accepts.next().await.expect("the final completion");
        let after = accepts.next().await;
        (fds.len(), last, after.is_none())
    });
    assert_eq!(accepted, 3);
    assert_eq!(
        last.unwrap_err().raw_os_error(),
        Some(Errno::CANCELED.raw_os_error())
    );
    assert!(after, "nothing after the final completion");
    drop(clients);
}

#[test]
fn multishot_recv_yields_buffers_until_end_of_file() {
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = Runtime::new(16).unwrap();
    let d = rt.driver().clone();
    let bufs = Rc::new(d.with_raw(|r| BufRing::builder(7, 8, 64).build(r)).unwrap());
    c.write_all(b"one").unwrap();
    let got = rt.block_on(async move {
        let mut recvs = d.recv_multi(&s, bufs);
        let mut got = Vec::new();
        let first = recvs.next().await.unwrap().unwrap().unwrap();
        got.extend_from_slice(&first);
        drop(first);
        c.write_all(b"two").unwrap();
        drop(c);
        while let Some(item) = recvs.next().await {
            if let Some(buf) = item.unwrap() {
                got.extend_from_slice(&buf);
            }
        }
        got
    });
    assert_eq!(got, b"onetwo");
}

#[test]
fn ticks_fire_count_times_then_end() {
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let n = rt.block_on(async move {
        let mut ticks = d.ticks(Duration::from_millis(2), 3);
        let mut n = 0;
        while let Some(t) = ticks.next().await {
            t.unwrap();
            n += 1;
        }
        n
    });
    assert_eq!(n, 3);
}

/// A future woken from another thread while the runtime waits in the
/// ring: the runtime's eventfd read wakes it.
#[test]
fn a_wake_from_another_thread_reaches_a_parked_runtime() {
    use std::sync::{Arc, Mutex};
    struct Flag(Arc<Mutex<(bool, Option<Waker>)>>);
    impl Future for Flag {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut s = self.0.lock().unwrap();
            if s.0 {
                return Poll::Ready(());
            }
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
    let shared = Arc::new(Mutex::new((false, None::<Waker>)));
    let remote = shared.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let w = {
            let mut s = remote.lock().unwrap();
            s.0 = true;
            s.1.take()
        };
        w.expect("the runtime polled first").wake();
    });
    let rt = Runtime::new(8).unwrap();
    let start = Instant::now();
    rt.block_on(Flag(shared));
    assert!(start.elapsed() < Duration::from_secs(5));
    t.join().unwrap();
}

/// Dropping the runtime with tasks blocked in accept, recv, read and a
/// long timeout: no hang (well under the ring's 1 s drop timeout, so they
/// were cancelled and reaped, not leaked), and the accept's listener and
/// the connections are closed.
#[test]
fn dropping_the_runtime_with_operations_outstanding_cancels_them() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener);
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let (r, _w) = common::pipe();
    let r = SharedFd::new(r);
    let rt = Runtime::new(16).unwrap();
    let d = rt.driver().clone();
    {
        let d = d.clone();
        drop(rt.spawn_local(async move { d.accept(&listener).await }));
    }
    {
        let d = d.clone();
        drop(rt.spawn_local(async move { d.recv(&s, vec![0u8; 64]).await }));
    }
    {
        let d = d.clone();
        drop(rt.spawn_local(async move { d.read(&r, vec![0u8; 64]).await }));
    }
    {
        let d = d.clone();
        drop(rt.spawn_local(async move { d.sleep(Duration::from_secs(3600)).await }));
    }
    rt.block_on(async {
        for _ in 0..3 {
            d.nop().await.unwrap();
        }
    });
    assert!(d.in_flight() >= 4, "{d:?}");
    let start = Instant::now();
    drop(rt);
    drop(d);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    // The listener was closed with the accept's share: connecting fails.
    assert!(std::net::TcpStream::connect(addr).is_err());
    // The server side of the pair was closed with the recv's share.
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(c.read(&mut b).unwrap(), 0);
}

/// Futures of reads, receives, accepts, opens and timeouts dropped
/// mid-flight, many times, in random order, with random turns and random
/// data arriving in between; every so often the whole driver is dropped
/// with operations outstanding. Afterwards: the accepted connections were
/// closed (every client sees end of file), no descriptor of the opened file
/// is left, and nothing hung. Under ASan (CI) it also shows nothing was
/// freed while the kernel could still write it.
/// A future dropped with its operation in flight gives up its key, but
/// the operation's completions keep coming (here the timeout's
/// `ECANCELED`). The next future must not get that key while they can
/// still come, or it resolves with the dropped one's result.
#[test]
fn a_dropped_futures_completion_never_reaches_the_next_future() {
    let driver = Driver::new(8).unwrap();
    let mut slow = driver.sleep(Duration::from_secs(3600));
    assert!(poll_once(&mut slow).is_pending());
    driver.turn().unwrap();
    drop(slow);
    let mut quick = driver.sleep(Duration::from_millis(1));
    assert!(poll_once(&mut quick).is_pending());
    let deadline = Instant::now() + Duration::from_secs(5);
    let res = loop {
        assert!(Instant::now() < deadline, "the quick sleep never ended");
        driver.park(Some(Duration::from_millis(50))).unwrap();
        if let Poll::Ready(r) = poll_once(&mut quick) {
            break r;
        }
    };
    assert!(
        res.is_ok(),
        "the quick sleep resolved with {res:?} (the dropped sleep's ECANCELED)"
    );
    settle(&driver);
}

/// As above for streams: the completions a dropped repeating timeout
/// still makes (its last expiries, its final `ECANCELED`) must not come
/// out of the next stream.
#[test]
fn a_dropped_streams_completions_never_reach_the_next_stream() {
    let driver = Driver::new(8).unwrap();
    let mut ticks = driver.ticks(Duration::from_millis(1), 0);
    assert!(poll_once(&mut ticks.next()).is_pending());
    driver.turn().unwrap();
    drop(ticks);
    let (r, _w) = common::pipe();
    let r = SharedFd::new(r);
    let mut polls = driver.submit_multi(PollAdd::new(&r, 1).multishot());
    assert!(poll_once(&mut polls.next()).is_pending());
    // Only the poll is left in flight once the timeout and its cancel are
    // done: every completion they made has gone through the driver.
    let deadline = Instant::now() + Duration::from_secs(5);
    while driver.in_flight() > 1 {
        assert!(Instant::now() < deadline, "{driver:?} did not settle");
        driver.park(Some(Duration::from_millis(50))).unwrap();
    }
    match poll_once(&mut polls.next()) {
        Poll::Pending => {}
        Poll::Ready(c) => panic!("the poll's stream yielded {c:?}, not its own"),
    }
}

#[test]
fn futures_dropped_mid_flight_in_random_order() {
    let seed = rng::seed_from_env("RT_DROP_SEED", 0x5eed_1234_abcd_u64);
    let mut rng = Rng(seed);
    let (path, mut f) = common::temp_file("rt-random-drop");
    f.write_all(&[7u8; 256]).unwrap();
    drop(f);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener);
    let mut clients = Vec::new();
    for round in 0..30 {
        let d = Driver::new(32).unwrap();
        let (pr, mut pw) = common::pipe();
        let pr = SharedFd::new(pr);
        let (mut c, s) = common::connected_pair();
        let s = SharedFd::new(s);
        type Fut = Pin<Box<dyn Future<Output = ()>>>;
        let mut live: Vec<Fut> = Vec::new();
        for _ in 0..40 {
            let f: Fut = match rng.below(6) {
                0 => Box::pin(drop_output(d.read(&pr, vec![0u8; 1 + rng.below(64)]))),
                1 => Box::pin(drop_output(d.recv(&s, vec![0u8; 1 + rng.below(64)]))),
                2 => Box::pin(drop_output(d.accept(&listener))),
                3 => Box::pin(drop_output(d.open(Open::new(&path, 0, 0).unwrap()))),
                4 => Box::pin(drop_output(
                    d.sleep(Duration::from_micros(rng.below(2000) as u64)),
                )),
                _ => Box::pin(drop_output(
                    d.read_at(common::share(&pr), vec![0u8; 8], u64::MAX)
                        .with_timeout(Duration::from_micros(rng.below(500) as u64)),
                )),
            };
            live.push(f);
            let mut f = live.last_mut().unwrap().as_mut();
            let _ = f.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            match rng.below(8) {
                0 => pw.write_all(&[1u8; 16]).unwrap(),
                1 => c.write_all(&[2u8; 16]).unwrap(),
                2 => clients.push(std::net::TcpStream::connect(addr).unwrap()),
                3 => {
                    let _ = d.turn();
                }
                4 if !live.is_empty() => {
                    let i = rng.below(live.len());
                    drop(live.swap_remove(i));
                }
                _ => {}
            }
        }
        // Drop the rest in random order, turning now and then.
        while !live.is_empty() {
            let i = rng.below(live.len());
            drop(live.swap_remove(i));
            if rng.below(4) == 0 {
                let _ = d.turn();
            }
        }
        if round % 3 == 0 {
            // Drop the driver with everything still outstanding.
            let start = Instant::now();
            drop(d);
            assert!(start.elapsed() < Duration::from_millis(900));
        } else {
            settle(&d);
        }
    }
    assert_eq!(
        common::fds_on(&path),
        0,
        "every opened descriptor was closed"
    );
    drop(listener);
    for mut c in clients {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        // Either closed after its accept, or never accepted and reset with
        // the listener: never left open.
        match c.read(&mut b) {
            Ok(0) => {}
            Ok(n) => panic!("read {n} bytes from a connection nobody wrote to"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    std::fs::remove_file(path).unwrap();
}

async fn drop_output<F: Future>(f: F) {
    let _ = f.await;
}

/// `Driver` is the ring fd, for outside reactors.
/// `Runtime::new` sets its ring up for the one thread that waits in it
/// (single issuer, task work deferred to its waits, the TASKRUN flag so a
/// turn that does not wait sees it), and operations complete through it,
/// also one woken from another thread while the runtime waits.
#[test]
fn the_runtime_ring_defers_task_work_to_its_waits() {
    use ring_core::SetupFlags;
    let rt = Runtime::new(8).unwrap();
    let flags = rt.driver().with_raw(|r| r.params().flags());
    let want = SetupFlags::SINGLE_ISSUER | SetupFlags::DEFER_TASKRUN | SetupFlags::TASKRUN_FLAG;
    assert!(flags.contains(want), "{flags:?}");
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let d = rt.driver().clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        w.write_all(b"late").unwrap();
    });
    let (n, buf) = rt.block_on(async move {
        d.nop().await.unwrap();
        d.read(&r, vec![0u8; 8]).await
    });
    writer.join().unwrap();
    assert_eq!(n.unwrap(), 4);
    assert_eq!(&buf[..4], b"late");
}

/// `Runtime::new` registers its ring's fd for its thread (enters skip the
/// fd lookup), and the slot comes back when the runtime drops: a thread
/// has 16, so the 17th runtime on a thread would otherwise run
/// unregistered (and each dropped ring stay open until the thread exits).
#[test]
fn each_runtime_registers_its_ring_fd_and_gives_the_slot_back() {
    let first = Runtime::new(8).unwrap();
    if first
        .driver()
        .with_raw(|r| r.registered_ring_index())
        .is_none()
    {
        eprintln!("skipped: this kernel does not register ring fds (Linux 5.18)");
        return;
    }
    drop(first);
    for i in 0..40 {
        let rt = Runtime::new(8).unwrap();
        let index = rt.driver().with_raw(|r| r.registered_ring_index());
        assert!(index.is_some(), "runtime {i} was not registered");
        let d = rt.driver().clone();
        rt.block_on(async move { d.nop().await }).unwrap();
    }
}

#[test]
fn the_driver_exposes_the_ring_fd() {
    let d = Driver::new(4).unwrap();
    let fd = d.as_fd();
    assert!(rustix::io::fcntl_getfd(fd).is_ok());
}

/// Polls every future of a set until all are done; their outputs in order.
struct JoinAll<F: Future + Unpin> {
    futs: Vec<Option<F>>,
    outs: Vec<Option<F::Output>>,
}

impl<F: Future + Unpin> Future for JoinAll<F>
where
    F::Output: Unpin,
{
    type Output = Vec<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let this = &mut *self;
        for (f, out) in this.futs.iter_mut().zip(this.outs.iter_mut()) {
            if let Some(fut) = f {
                if let Poll::Ready(v) = Pin::new(fut).poll(cx) {
                    *out = Some(v);
                    *f = None;
                }
            }
        }
        if this.futs.iter().all(Option::is_none) {
            Poll::Ready(this.outs.iter_mut().map(|o| o.take().unwrap()).collect())
        } else {
            Poll::Pending
        }
    }
}

fn join_all<F: Future + Unpin>(futs: Vec<F>) -> JoinAll<F> {
    let outs = futs.iter().map(|_| None).collect();
    JoinAll {
        futs: futs.into_iter().map(Some).collect(),
        outs,
    }
}

/// Far more futures in flight than the ring has submission slots (4): each
/// push that finds the queue full submits to make room, and every future
/// still gets its own result.
#[test]
fn more_futures_than_submission_slots_all_complete() {
    let rt = Runtime::new(4).unwrap();
    let d = rt.driver().clone();
    let outs = rt.block_on(async move {
        let futs: Vec<_> = (0..300)
            .map(|i| d.sleep(Duration::from_micros(i % 7)))
            .collect();
        join_all(futs).await
    });
    assert_eq!(outs.len(), 300);
    assert!(outs.iter().all(Result::is_ok));
    settle(rt.driver());
}

/// `Driver::pushed` resolves only once something waits to be submitted,
/// and `turn` submits it: the handshake an outside executor relies on.
#[test]
fn pushed_resolves_when_an_operation_waits_for_submission() {
    let d = Driver::new(8).unwrap();
    let mut pushed = Box::pin(d.pushed());
    assert!(pushed
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    drop(pushed);
    let mut nop = d.nop();
    assert!(poll_once(&mut nop).is_pending());
    let mut pushed = Box::pin(d.pushed());
    assert!(pushed
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready());
    drop(pushed);
    settle(&d);
    assert!(matches!(poll_once(&mut nop), Poll::Ready(Ok(()))));
    let mut pushed = Box::pin(d.pushed());
    assert!(pushed
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
}

/// A buffer ring of another ring is refused at the push, by the future
/// (an `InvalidInput` error) and by the stream (it ends at once, and says
/// why): it would name another ring's buffers.
#[test]
fn resources_of_another_ring_are_refused() {
    let other = Driver::new(8).unwrap();
    let theirs = Rc::new(
        other
            .with_raw(|r| BufRing::builder(5, 4, 64).build(r))
            .unwrap(),
    );
    let (_c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let (refused_future, refused_stream) = rt.block_on(async move {
        let once = d
            .submit(ring_core::owned::op::RecvMulti::new(&s, theirs.clone()).once())
            .await;
        let mut stream = d.recv_multi(&s, theirs);
        let first = stream.next().await;
        (
            matches!(once, Err(ring_core::owned::PushError::WrongRing(_))),
            first.is_none() && stream.refused(),
        )
    });
    assert!(refused_future);
    assert!(refused_stream);
    // Nothing went in: at most the runtime's own eventfd read is in flight.
    assert!(rt.driver().in_flight() <= 1, "{:?}", rt.driver());
}

/// Runs `f` on its own thread and fails (rather than hangs) if it does
/// not finish within 10 s: a lost wake-up shows as a timeout.
fn within_10s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("hung: a wake-up was lost")
}

/// A `block_on` nested in a task of the same runtime runs the wake-ups of
/// the turns it makes, including that of the task it is nested in (whose
/// read completes meanwhile, while the task is out being polled). That
/// wake-up must not be lost, neither when the nested loop finds the task
/// out nor when it returns with the wake-up still listed: the task runs
/// again and finishes.
#[test]
fn a_block_on_nested_in_a_task_loses_no_wake_up() {
    let n = within_10s(|| {
        let rt = Rc::new(Runtime::new(8).unwrap());
        let weak = Rc::downgrade(&rt);
        let d = rt.driver().clone();
        let (r, mut w) = common::pipe();
        let r = SharedFd::new(r);
        w.write_all(b"ready").unwrap(); // the read completes at its submit
        let task = rt.spawn_local(async move {
            let mut read = d.read(&r, vec![0u8; 8]);
            let mut nested = false;
            // One poll pushes the read, runs the nested `block_on` (whose
            // turn completes the read) and returns pending: only the
            // read's wake-up brings the task back.
            std::future::poll_fn(|cx| {
                let polled = Pin::new(&mut read).poll(cx);
                if std::mem::replace(&mut nested, true) {
                    return polled.map(|(n, _)| n.unwrap());
                }
                assert!(polled.is_pending(), "pushed");
                let rt = weak.upgrade().expect("the runtime is running this task");
                // Two turns: after the first it also tries to run the task.
                rt.block_on(async {
                    d.nop().await.unwrap();
                    d.nop().await.unwrap();
                });
                Poll::Pending
            })
            .await
        });
        rt.block_on(task)
    });
    assert_eq!(n, 5);
}

/// A future polled by a task of the runtime, but with another waker (a
/// combinator's own), is woken through that waker, not by queuing the
/// task: the runtime's shortcut applies only to the task's own waker.
#[test]
fn a_future_polled_with_a_combinators_waker_wakes_that_waker() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Counting {
        wakes: AtomicUsize,
        inner: Waker,
    }
    impl std::task::Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            self.inner.wake_by_ref();
        }
    }
    let rt = Runtime::new(8).unwrap();
    let d = rt.driver().clone();
    let wakes = rt.block_on(async move {
        let mut nop = d.nop();
        let mut counting: Option<Arc<Counting>> = None;
        std::future::poll_fn(|cx| {
            let c = counting.get_or_insert_with(|| {
                Arc::new(Counting {
                    wakes: AtomicUsize::new(0),
                    inner: cx.waker().clone(),
                })
            });
            let waker = Waker::from(c.clone());
            match Pin::new(&mut nop).poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(r) => Poll::Ready(r.map(|()| c.wakes.load(Ordering::SeqCst))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    });
    assert_eq!(wakes.unwrap(), 1, "the combinator's waker was woken once");
}

/// A future first polled by one task and then handed to another (which
/// awaits it) wakes the second: the waker it waits with follows the task
/// that polled it last.
#[test]
fn a_future_handed_to_another_task_wakes_that_task() {
    let n = within_10s(|| {
        let rt = Runtime::new(8).unwrap();
        let d = rt.driver().clone();
        let (r, mut w) = common::pipe();
        let r = SharedFd::new(r);
        let handoff = Rc::new(std::cell::RefCell::new(None));
        let put = handoff.clone();
        let first = rt.spawn_local(async move {
            let mut read = d.read(&r, vec![0u8; 8]);
            std::future::poll_fn(|cx| {
                assert!(Pin::new(&mut read).poll(cx).is_pending(), "pushed");
                Poll::Ready(())
            })
            .await;
            *put.borrow_mut() = Some(read);
        });
        let second = rt.spawn_local(async move {
            let read = std::future::poll_fn(|cx| match handoff.borrow_mut().take() {
                Some(read) => Poll::Ready(read),
                None => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            });
            read.await.await.0.unwrap()
        });
        rt.block_on(first);
        w.write_all(b"later").unwrap();
        rt.block_on(second)
    });
    assert_eq!(n, 5);
}

/// Wakes from another thread racing the runtime as it runs, turns and
/// parks, many times: none is lost (the runtime skips the shared queue's
/// lock when no waker queued anything, and must still see every wake).
/// The future is ready only after each of the other thread's steps was
/// seen, and each step waits for the runtime to have polled since.
#[test]
fn many_wakes_from_another_thread_all_arrive() {
    use std::sync::{Arc, Mutex};
    const STEPS: u32 = 2000;
    /// (steps the thread made, steps the future saw, the future's waker)
    type State = Arc<Mutex<(u32, u32, Option<Waker>)>>;
    struct Steps(State);
    impl Future for Steps {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            let mut s = self.0.lock().unwrap();
            s.1 = s.0;
            if s.1 == STEPS {
                return Poll::Ready(s.1);
            }
            s.2 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
    let seen = within_10s(|| {
        let state: State = Arc::default();
        let remote = state.clone();
        let t = std::thread::spawn(move || {
            for step in 1..=STEPS {
                // Wait until the future saw the last step (and left its
                // waker), then make the next and wake it.
                let waker = loop {
                    let mut s = remote.lock().unwrap();
                    if s.1 == step - 1 {
                        if let Some(w) = s.2.take() {
                            s.0 = step;
                            break w;
                        }
                    }
                    drop(s);
                    std::thread::yield_now();
                };
                waker.wake();
            }
        });
        let rt = Runtime::new(8).unwrap();
        let d = rt.driver().clone();
        // A task that keeps the ring busy, so the runtime alternates
        // between turning and parking while the wakes come in.
        let busy = rt.spawn_local(async move {
            for _ in 0..STEPS {
                d.nop().await.unwrap();
            }
        });
        let seen = rt.block_on(Steps(state));
        rt.block_on(busy);
        t.join().unwrap();
        seen
    });
    assert_eq!(seen, STEPS);
}

/// A canceller asked of a future that has finished (here an open, whose
/// result hands over a descriptor and gives its key back) names nothing:
/// polling the future again still panics, not waits on a new key forever.
#[test]
fn a_canceller_of_a_finished_future_cancels_nothing() {
    let driver = Driver::new(8).unwrap();
    let mut open = driver.open(Open::new("/proc/self/stat", 0, 0).unwrap());
    assert!(poll_once(&mut open).is_pending());
    settle(&driver);
    let Poll::Ready(Ok(fd)) = poll_once(&mut open) else {
        panic!("the open completed")
    };
    open.canceller().cancel();
    assert_eq!(driver.in_flight(), 0, "no cancel was pushed");
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut open)));
    let msg = again.expect_err("polled again, it panics");
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("polled after it completed"), "{msg:?}");
    drop(fd);
}

/// A future polled again after it completed panics with a message that
/// says so (not an index out of bounds), and the driver keeps working.
#[test]
fn a_future_polled_after_completing_says_so() {
    let driver = Driver::new(8).unwrap();
    let mut nop = driver.nop();
    assert!(poll_once(&mut nop).is_pending());
    settle(&driver);
    assert!(matches!(poll_once(&mut nop), Poll::Ready(Ok(()))));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut nop)));
    let msg = again.unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("polled after it completed"), "{msg:?}");
    let mut next = driver.nop();
    assert!(poll_once(&mut next).is_pending());
    settle(&driver);
    assert!(matches!(poll_once(&mut next), Poll::Ready(Ok(()))));
}
