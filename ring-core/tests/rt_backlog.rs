//! A stream's bound on what it queues for a consumer that does not keep up
//! (`Multi::with_backlog`, and the default bounds of `accept_multi` and
//! `recv_multi`), on the real kernel: a stream kept alive but not polled
//! holds about its bound (accepted descriptors, filled buffers) while the
//! rest waits with the kernel, and once polled it yields everything, each
//! once, in order, without the pause's `ECANCELED`; under a flood it holds
//! about its bound plus the kernel's listen queue, not the flood. A
//! user's cancel, a drop and a real error while paused end the stream as
//! without a bound.
//! No `unsafe` here; run under ASan in CI.

#![forbid(unsafe_code)]

#[path = "common/accepts.rs"]
mod accepts;
#[path = "common/fds.rs"]
mod common;
use accepts::{
    accepted_on, client, connect_until_paused, each_once, id_of, listener, poll_next, pump,
};

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{op::Accept, op::RecvMulti, OwnedBuf, SharedFd};
use ring_core::rt::{Driver, Multi, Runtime, ACCEPT_BACKLOG};
use ring_core::Errno;

type Accepts = Multi<Accept, std::io::Result<OwnedFd>>;

/// Connects `n` clients (ids from `first`) one at a time, turning the
/// driver after each, while nobody polls the stream.
fn connect(d: &Driver, port: u16, first: u32, n: u32) -> Vec<TcpStream> {
    (first..first + n)
        .map(|id| {
            let c = client(port, id);
            pump(d);
            c
        })
        .collect()
}

/// Polls `s` (turning the driver between polls) until it has yielded
/// `want` connections; returns the ids they sent. Fails on any error item
/// or end.
fn drain_ids(d: &Driver, s: &mut Accepts, want: usize) -> Vec<u32> {
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids.len() < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} connections",
            ids.len()
        );
        match poll_next(s) {
            Poll::Ready(Some(Ok(fd))) => ids.push(id_of(fd)),
            Poll::Ready(Some(Err(e))) => panic!("the consumer saw an error item: {e}"),
            Poll::Ready(None) => panic!("the stream ended after {} connections", ids.len()),
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    }
    ids
}

#[test]
fn an_accept_stream_not_polled_holds_about_its_bound_then_yields_every_connection_once() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(4);
    assert!(poll_next(&mut s).is_pending(), "the first poll pushes");
    let clients = connect(&d, port, 0, 40);
    // Four queued, and those the kernel accepted before the bound's cancel
    // reached it; the other 30-odd wait in the listen backlog.
    let held = accepted_on(port);
    assert!((4..=8).contains(&held), "{held} accepted connections held");
    assert_eq!(
        d.in_flight(),
        0,
        "paused: neither accept nor cancel in flight"
    );
    let ids = drain_ids(&d, &mut s, 40);
    assert!(each_once(ids.clone(), 40), "{ids:?}");
    drop(clients);
}

/// The case the bound is for, on the built-in runtime: a server loop
/// whose handler is slower than connections arrive (100 clients from four
/// threads, each handled in 5 ms). Without a bound the multishot accept
/// takes every connection as it comes, so the descriptors held grow with
/// the flood (about 80 at its end). With one, the accept pauses, the
/// kernel's listen queue fills (16 here), further clients wait in their
/// connect, and the stream pushing the accept again takes at once what
/// waits there: held at once stay under bound + listen queue + what a
/// turn brings before the cancel goes out. Every client is served once.
#[test]
fn a_slow_server_loop_under_a_flood_holds_its_bound_and_the_listen_queue() {
    let (l, port, share) = listener();
    rustix::net::listen(&l, 16).unwrap();
    let rt = Runtime::new(64).unwrap();
    let d = rt.driver().clone();
    let flood: Vec<_> = (0..4u32)
        .map(|t| {
            std::thread::spawn(move || {
                (0..25u32)
                    .map(|i| {
                        let c = client(port, t * 25 + i);
                        std::thread::sleep(Duration::from_millis(2));
                        c
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let (ids, most) = rt.block_on(async move {
        let mut accepts = d.accept_multi(&share).with_backlog(4);
        let (mut ids, mut most) = (Vec::new(), 0);
        while ids.len() < 100 {
            let Some(conn) = accepts.next().await else {
                panic!("the stream ended after {} connections", ids.len());
            };
            let mut conn = TcpStream::from(conn.expect("no error item"));
            // The slow handler. (It looks at what is held every fourth
            // time: a look reads the machine's whole TCP table.)
            d.sleep(Duration::from_millis(5)).await.unwrap();
            if ids.len() % 4 == 0 {
                most = most.max(accepted_on(port));
            }
            let mut id = [0u8; 4];
            conn.read_exact(&mut id).unwrap();
            ids.push(u32::from_le_bytes(id));
        }
        (ids, most)
    });
    let clients: Vec<_> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        most <= 4 + 17 + 12,
        "{most} accepted connections held at once"
    );
    assert!(each_once(ids.clone(), 100), "{ids:?}");
    drop(clients);
}

#[test]
fn accept_multi_bounds_itself_by_default() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share);
    assert!(poll_next(&mut s).is_pending());
    let n = ACCEPT_BACKLOG as u32 + 20;
    let clients = connect(&d, port, 0, n);
    let held = accepted_on(port);
    assert!(
        (ACCEPT_BACKLOG..=ACCEPT_BACKLOG + 4).contains(&held),
        "{held} accepted connections held"
    );
    let ids = drain_ids(&d, &mut s, n as usize);
    assert!(each_once(ids, n));
    drop(clients);
}

#[test]
fn a_bound_of_usize_max_holds_everything_and_a_later_bound_applies() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(usize::MAX);
    assert!(poll_next(&mut s).is_pending());
    let mut clients = connect(&d, port, 0, 12);
    assert_eq!(accepted_on(port), 12, "no bound: every connection queued");
    // Set on the stream in flight: the next completion finds it reached.
    s = s.with_backlog(2);
    clients.extend(connect(&d, port, 12, 12));
    let held = accepted_on(port);
    assert!(
        (13..=16).contains(&held),
        "{held} accepted connections held"
    );
    let ids = drain_ids(&d, &mut s, 24);
    assert!(each_once(ids, 24));
    drop(clients);
}

#[test]
fn a_users_cancel_while_paused_ends_the_stream() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(2);
    assert!(poll_next(&mut s).is_pending());
    let mut clients = Vec::new();
    connect_until_paused(&d, port, &mut clients);
    clients.extend(connect(&d, port, clients.len() as u32, 5));
    s.cancel();
    // What was queued, then the end: ECANCELED, then nothing. Not pushed
    // again: the five later clients are never accepted.
    let mut fds = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    let last = loop {
        assert!(Instant::now() < deadline, "the stream never ended");
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(_))) => fds += 1,
            Poll::Ready(Some(Err(e))) => break e,
            Poll::Ready(None) => panic!("ended without its final completion"),
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    };
    assert_eq!(last.raw_os_error(), Some(Errno::CANCELED.raw_os_error()));
    assert!(matches!(poll_next(&mut s), Poll::Ready(None)));
    assert!((2..clients.len() - 4).contains(&fds), "{fds} yielded");
    pump(&d);
    assert_eq!(d.in_flight(), 0);
}

/// A cancel before the first poll is followed by the push; the bound must
/// not take that cancel's `ECANCELED` for its own and push again.
#[test]
fn a_cancel_before_the_first_poll_is_not_undone_by_the_bound() {
    let (_l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    // Waiting in the listen backlog: the push accepts them at once, so the
    // bound is reached before the cancel's completion.
    let clients: Vec<_> = (0..3).map(|id| client(port, id)).collect();
    let mut s = d.accept_multi(&share).with_backlog(1);
    s.canceller().cancel();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut fds = 0;
    loop {
        assert!(Instant::now() < deadline, "the stream never ended");
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(_))) => fds += 1,
            Poll::Ready(Some(Err(e))) => {
                assert_eq!(e.raw_os_error(), Some(Errno::CANCELED.raw_os_error()));
            }
            Poll::Ready(None) => break,
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    }
    assert!(fds <= 3);
    drop(clients);
}

#[test]
fn a_stream_dropped_while_paused_closes_what_it_queued_and_keeps_nothing() {
    let (l, port, share) = listener();
    let d = Driver::new(64).unwrap();
    let mut s = d.accept_multi(&share).with_backlog(3);
    assert!(poll_next(&mut s).is_pending());
    let mut clients = Vec::new();
    connect_until_paused(&d, port, &mut clients);
    assert!(accepted_on(port) >= 3);
    drop(share);
    drop(s);
    // The queued connections are closed, and the operation kept for the
    // next push (with its share of the listener) is dropped: the listener
    // closes with its last descriptor.
    assert_eq!(accepted_on(port), 0, "accepted connections left open");
    assert_eq!(d.in_flight(), 0, "nothing pushed for the dropped stream");
    let inode = {
        use std::os::fd::AsRawFd;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", l.as_fd().as_raw_fd()));
        link.unwrap()
    };
    drop(l);
    let target = inode.to_str().unwrap().to_string();
    let left = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.to_str() == Some(target.as_str()))
        .count();
    assert_eq!(left, 0, "the listener is still open (its share leaked)");
    // The driver goes on: a new stream works on a new listener.
    let (_l2, port2, share2) = listener();
    let mut s2 = d.accept_multi(&share2).with_backlog(2);
    assert!(poll_next(&mut s2).is_pending());
    let c = connect(&d, port2, 7, 1);
    assert_eq!(drain_ids(&d, &mut s2, 1), vec![7]);
    drop((c, clients));
}

/// The bytes `from..from + n` of the test's byte stream.
fn pattern(from: usize, n: usize) -> Vec<u8> {
    (from..from + n).map(|i| (i % 251) as u8).collect()
}

/// A receive stream, its server side and buffer ring, and the client.
struct Recv {
    d: Driver,
    bufs: Rc<BufRing>,
    client: TcpStream,
}

fn recv_setup(entries: u16, buf_len: u32) -> (Recv, SharedFd) {
    let (client, server) = common::connected_pair();
    let server = SharedFd::new(server);
    let d = Driver::new(64).unwrap();
    let bufs = Rc::new(
        d.with_raw(|r| BufRing::builder(5, entries, buf_len).build(r))
            .unwrap(),
    );
    (Recv { d, bufs, client }, server)
}

/// Buffers of the ring out with the stream or its consumer.
fn out(r: &Recv) -> usize {
    usize::from(r.bufs.entries()) - r.bufs.available()
}

type Recvs = Multi<RecvMulti, std::io::Result<Option<OwnedBuf>>>;

/// Polls `s` to its end, taking each buffer's bytes; fails on an error.
fn drain_bytes(d: &Driver, s: &mut Recvs) -> Vec<u8> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "{} bytes, no end", got.len());
        match poll_next(s) {
            Poll::Ready(Some(Ok(Some(buf)))) => got.extend_from_slice(&buf),
            Poll::Ready(Some(Ok(None))) => {} // end of file
            Poll::Ready(Some(Err(e))) => panic!("error item after {} bytes: {e}", got.len()),
            Poll::Ready(None) => return got,
            Poll::Pending => {
                d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    }
}

#[test]
fn a_recv_stream_with_a_bound_yields_every_byte_in_order_to_a_slow_consumer() {
    // 256 buffers of 64 bytes: room for all 8 KiB sent, so without the
    // bound nothing would stop the stream from holding 128 of them.
    let (mut r, server) = recv_setup(256, 64);
    let mut s = r.d.recv_multi(&server, r.bufs.clone()).with_backlog(4);
    assert!(poll_next(&mut s).is_pending());
    for i in 0..128 {
        r.client.write_all(&pattern(i * 64, 64)).unwrap();
        pump(&r.d);
    }
    let held = out(&r);
    assert!((4..=8).contains(&held), "{held} filled buffers held");
    r.client.shutdown(std::net::Shutdown::Write).unwrap();
    // A consumer that takes one buffer per turn: paused and pushed again
    // several times on the way.
    let got = drain_bytes(&r.d, &mut s);
    assert_eq!(got.len(), 128 * 64);
    assert!(got == pattern(0, 128 * 64), "bytes out of order or changed");
}

#[test]
fn recv_multi_bounds_itself_at_half_its_ring_by_default() {
    let (mut r, server) = recv_setup(16, 64);
    let mut s = r.d.recv_multi(&server, r.bufs.clone());
    assert!(poll_next(&mut s).is_pending());
    // Twenty chunks, one per turn: without a bound the ring would run dry
    // (ENOBUFS, the stream's end) after sixteen. With it, eight wait in
    // buffers and twelve in the socket: fewer than the ring's buffers, so
    // the burst of the push again fits.
    for i in 0..20 {
        r.client.write_all(&pattern(i * 64, 64)).unwrap();
        pump(&r.d);
    }
    let held = out(&r);
    assert!((8..=11).contains(&held), "{held} filled buffers held");
    drop(r.client);
    let got = drain_bytes(&r.d, &mut s);
    assert!(got == pattern(0, 20 * 64), "{} bytes", got.len());
}

/// The limit of a bound on a receive: what waited in the socket comes in
/// one burst when the receive is pushed again, and the kernel fills the
/// ring's free buffers before the driver sees any of it. More than those
/// buffers, and the ring runs dry: the stream ends with ENOBUFS, as it
/// would without a bound (after the bytes so far, in order).
#[test]
fn a_paused_recv_with_more_waiting_than_its_ring_ends_with_enobufs_when_pushed_again() {
    let (mut r, server) = recv_setup(16, 64);
    let mut s = r.d.recv_multi(&server, r.bufs.clone());
    assert!(poll_next(&mut s).is_pending());
    for i in 0..30 {
        r.client.write_all(&pattern(i * 64, 64)).unwrap();
        pump(&r.d);
    }
    assert!(out(&r) <= 11, "paused");
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        assert!(Instant::now() < deadline, "no end");
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(Some(buf)))) => got.extend_from_slice(&buf),
            Poll::Ready(Some(Err(e))) => break e,
            Poll::Ready(other) => panic!("{other:?} from an open socket"),
            Poll::Pending => {
                r.d.park(Some(Duration::from_millis(20))).unwrap();
            }
        }
    };
    assert_eq!(err.raw_os_error(), Some(Errno::NOBUFS.raw_os_error()));
    // The paused eight, then a burst of the sixteen buffers.
    assert_eq!(got.len(), 24 * 64);
    assert!(got == pattern(0, got.len()));
}

#[test]
fn a_real_error_while_paused_ends_the_stream_with_it() {
    // Four buffers, bound two: one burst of five buffers' worth fills the
    // four (the bound is reached at the second, its cancel waits for the
    // next turn) and the kernel ends the receive with ENOBUFS before that
    // cancel comes. That end is the stream's, not the pause's.
    let (mut r, server) = recv_setup(4, 16);
    r.client.write_all(&pattern(0, 80)).unwrap();
    let mut s = r.d.recv_multi(&server, r.bufs.clone()).with_backlog(2);
    assert!(poll_next(&mut s).is_pending());
    pump(&r.d);
    let mut got = Vec::new();
    let err = loop {
        match poll_next(&mut s) {
            Poll::Ready(Some(Ok(Some(buf)))) => got.extend_from_slice(&buf),
            Poll::Ready(Some(Ok(None))) => panic!("end of file from an open socket"),
            Poll::Ready(Some(Err(e))) => break e,
            Poll::Ready(None) => panic!("ended without its final completion"),
            Poll::Pending => panic!("pushed again after the receive ended: {} bytes", got.len()),
        }
    };
    assert_eq!(err.raw_os_error(), Some(Errno::NOBUFS.raw_os_error()));
    assert!(matches!(poll_next(&mut s), Poll::Ready(None)));
    assert_eq!(got, pattern(0, 64));
}
