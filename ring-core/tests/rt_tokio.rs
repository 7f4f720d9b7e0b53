//! ring-core's futures driven by tokio (a dev-dependency only): a tokio
//! current-thread runtime turns the driver through `AsyncFd` on the ring's
//! fd, and ring futures run next to tokio's own. Dropping the tokio
//! runtime with ring operations outstanding neither hangs nor leaks their
//! descriptors. A bounded accept stream pauses and is pushed again under
//! tokio as under the built-in runtime.

#[path = "common/fds.rs"]
mod common;

use std::io::{self, Read as _, Write as _};
use std::time::{Duration, Instant};

use ring_core::owned::SharedFd;
use ring_core::rt::Driver;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The driving task, as in the `tokio_driver` example.
async fn drive(driver: Driver) -> io::Result<()> {
    // SAFETY: the `AsyncFd` owns a `Driver` handle, which keeps the ring
    // (and so its fd) open; `as_raw_fd` always returns that ring's fd.
    let ring_fd = unsafe { AsyncFd::register_with_interest(driver.clone(), Interest::READABLE)? };
    loop {
        driver.turn()?;
        tokio::select! {
            ready = ring_fd.readable() => ready?.clear_ready(),
            () = driver.pushed() => {}
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

#[test]
fn tokio_drives_ring_futures_next_to_its_own() {
    let rt = runtime();
    let local = tokio::task::LocalSet::new();
    let driver = Driver::new(32).unwrap();
    local.spawn_local(drive(driver.clone()));
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let client = std::thread::spawn(move || {
        for i in 0..50u8 {
            c.write_all(&[i; 10]).unwrap();
            let mut back = [0u8; 10];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, [i; 10]);
        }
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    local.block_on(&rt, async move {
        // A tokio-native future, woken by tokio, in the same set.
        tokio::task::spawn_local(async move {
            tx.send(7u32).unwrap();
        });
        let mut buf = vec![0u8; 64];
        let mut echoed = 0;
        while echoed < 500 {
            let (n, mut b) = driver.recv(&s, buf).await;
            let n = n.unwrap();
            assert!(n > 0);
            b.truncate(n);
            let (sent, mut b) = driver.send(&s, b).await;
            assert_eq!(sent.unwrap(), n);
            echoed += n;
            b.resize(64, 0);
            buf = b;
        }
        driver.sleep(Duration::from_millis(5)).await.unwrap();
        assert_eq!(rx.await.unwrap(), 7);
    });
    client.join().unwrap();
}

#[test]
fn dropping_the_tokio_runtime_with_ring_operations_outstanding() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = SharedFd::new(listener);
    let (mut c, s) = common::connected_pair();
    let s = SharedFd::new(s);
    let rt = runtime();
    let local = tokio::task::LocalSet::new();
    let driver = Driver::new(32).unwrap();
    local.spawn_local(drive(driver.clone()));
    for _ in 0..4 {
        let (d, l) = (driver.clone(), listener.clone());
        local.spawn_local(async move { d.accept(&l).await });
        let (d, s) = (driver.clone(), s.clone());
        local.spawn_local(async move { d.recv(&s, vec![0u8; 16]).await });
        let d = driver.clone();
        local.spawn_local(async move { d.sleep(Duration::from_secs(3600)).await });
    }
    local.block_on(&rt, async {
        driver.nop().await.unwrap();
    });
    assert!(driver.in_flight() >= 12, "{driver:?}");
    drop((listener, s));
    let start = Instant::now();
    drop(local);
    drop(rt);
    drop(driver);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the listener is closed"
    );
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(c.read(&mut b).unwrap(), 0, "the connection is closed");
}

/// A bounded accept stream driven by tokio through the ring's fd: the
/// bound's cancel is pushed at a later turn, and the push again after the
/// pause must wake the driving task (`Driver::pushed`), or the stream
/// hangs. 30 clients connect while the consumer sleeps; the stream pauses
/// (nothing in flight) and then yields each client once, with no error
/// item (no pause's `ECANCELED`).
#[test]
fn tokio_drives_a_bounded_accept_stream_through_its_pauses() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let rt = runtime();
    let local = tokio::task::LocalSet::new();
    let driver = Driver::new(32).unwrap();
    local.spawn_local(drive(driver.clone()));
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let share = common::share(&l);
    let n = 30u32;
    let go = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicBool::new(false));
    let client = {
        let (go, connected) = (go.clone(), connected.clone());
        std::thread::spawn(move || {
            let connect = |id: u32| {
                let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(&id.to_le_bytes()).unwrap();
                c
            };
            // The first, then the rest once the consumer took it.
            let mut clients = vec![connect(0)];
            let deadline = Instant::now() + Duration::from_secs(30);
            while !go.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "the first was never taken");
                std::thread::sleep(Duration::from_millis(1));
            }
            clients.extend((1..n).map(connect));
            connected.store(true, Ordering::SeqCst);
            clients
        })
    };
    let d = driver.clone();
    let (ids, paused) = local.block_on(&rt, async move {
        let consume = async {
            let mut s = d.accept_multi(&share).with_backlog(2);
            let mut ids = Vec::new();
            let mut paused = false;
            while ids.len() < n as usize {
                if ids.len() == 1 && !paused {
                    // The first is taken (the accept is in flight): let the
                    // rest connect, and give the driver time to pause it.
                    while !connected.load(Ordering::SeqCst) {
                        d.sleep(Duration::from_millis(5)).await.unwrap();
                    }
                    d.sleep(Duration::from_millis(100)).await.unwrap();
                    // In flight: the watchdog's sleep below, and the
                    // accept unless it is paused.
                    paused = d.in_flight() == 1;
                }
                match s.next().await {
                    Some(Ok(fd)) => {
                        if ids.is_empty() {
                            go.store(true, Ordering::SeqCst);
                        }
                        let mut conn = std::net::TcpStream::from(fd);
                        conn.set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let mut id = [0u8; 4];
                        conn.read_exact(&mut id).unwrap();
                        ids.push(u32::from_le_bytes(id));
                    }
                    Some(Err(e)) => panic!("an error item (a pause's?): {e}"),
                    None => panic!("ended after {} connections", ids.len()),
                }
            }
            (ids, paused)
        };
        // The watchdog first: a stream whose push again is never
        // submitted waits for the watchdog's completion, whose turn submits
        // it too; the watchdog must win then.
        tokio::select! {
            biased;
            () = async { d.sleep(Duration::from_secs(30)).await.unwrap() } => {
                panic!("the stream hung under tokio")
            }
            out = consume => out,
        }
    });
    let clients = client.join().unwrap();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "{ids:?}");
    assert!(paused, "the stream never paused under tokio");
    drop((clients, l));
}
