//! Helpers of the stream-bound tests (`rt_backlog.rs`,
//! `attacks_rt_backlog.rs`): loopback listeners and clients and the id
//! each client sends, polling a stream once, turning a driver until it is
//! quiet, and counting the accepted connections this process holds open. Included with `#[path]` next to `common/fds.rs`
//! (as `mod common`).

use std::collections::HashSet;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::{Operation, SharedFd};
use ring_core::rt::{Driver, Multi};

/// Polls the stream's next item once with a waker that does nothing.
pub fn poll_next<T: Operation, I>(s: &mut Multi<T, I>) -> Poll<Option<I>> {
    let mut next = s.next();
    Pin::new(&mut next).poll(&mut Context::from_waker(Waker::noop()))
}

/// Turns the driver until a turn finds nothing for 20 ms (bounded):
/// what the kernel had to complete has been handed out.
pub fn pump(d: &Driver) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.park(Some(Duration::from_millis(20))).unwrap() > 0 {
        assert!(Instant::now() < deadline, "{d:?} kept completing");
    }
}

/// The socket inodes of this process's descriptors.
pub fn socket_inodes() -> HashSet<u64> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|t| {
            let t = t.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// This process's open descriptors of TCP connections accepted on `port`
/// (local port `port`, not listening), found through /proc/net/tcp: other
/// tests of this binary open and close descriptors meanwhile, so a plain
/// count of descriptors would not do.
pub fn accepted_on(port: u16) -> usize {
    let ours = socket_inodes();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    // The machine may have thousands of sockets: look closer only at the
    // lines that name the port.
    let hex = format!(":{port:04X} ");
    table
        .lines()
        .skip(1)
        .filter(|line| line.contains(&hex))
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f[1].rsplit(':').next().unwrap();
            let listening = f[3] == "0A";
            let inode: u64 = f[9].parse().unwrap();
            u16::from_str_radix(local_port, 16).unwrap() == port
                && !listening
                && ours.contains(&inode)
        })
        .count()
}

/// A listener on loopback, its port, and a share of it for the ring.
pub fn listener() -> (TcpListener, u16, SharedFd) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let share = crate::common::share(&l);
    (l, port, share)
}

/// Connects client `id`, which sends its id at once.
pub fn client(port: u16, id: u32) -> TcpStream {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&id.to_le_bytes()).unwrap();
    c
}

/// The id the client of an accepted connection sent ([`client`]).
pub fn id_of(fd: OwnedFd) -> u32 {
    let mut conn = TcpStream::from(fd);
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut id = [0u8; 4];
    conn.read_exact(&mut id).unwrap();
    u32::from_le_bytes(id)
}

/// Turns the driver until the stream is paused (nothing in flight),
/// connecting clients one at a time meanwhile.
pub fn connect_until_paused(d: &Driver, port: u16, clients: &mut Vec<TcpStream>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "never paused: {d:?}");
        clients.push(client(port, clients.len() as u32));
        pump(d);
        if d.in_flight() == 0 {
            return;
        }
    }
}

/// Whether `ids` is each of `0..n` exactly once.
pub fn each_once(mut ids: Vec<u32>, n: u32) -> bool {
    ids.sort_unstable();
    ids == (0..n).collect::<Vec<_>>()
}
