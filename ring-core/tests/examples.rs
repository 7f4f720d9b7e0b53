//! The safe tier's examples (`examples/cp.rs`, `examples/echo_multishot.rs`,
//! `examples/timeout.rs`) and the async ones (`examples/copy.rs`,
//! `examples/echo.rs`) run as tests: each example's `main` is a thin
//! wrapper over a function that is included here and checked, so the
//! examples cannot rot.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use ring_core::Errno;

#[allow(dead_code)]
#[path = "../examples/cp.rs"]
mod cp;

#[allow(dead_code)]
#[path = "../examples/echo_multishot.rs"]
mod echo;

#[allow(dead_code)]
#[path = "../examples/timeout.rs"]
mod timeout;

#[allow(dead_code)]
#[path = "../examples/copy.rs"]
mod async_copy;

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod async_echo;

/// A copy program's entry point: source, destination, bytes copied.
type Copy = fn(&std::path::Path, &std::path::Path) -> std::io::Result<u64>;

/// `copy` copies a file of 50 chunks of 64 KiB and a bit, byte for byte.
fn check_copies_every_byte(name: &str, copy: Copy) {
    let (src, mut f) = common::temp_file(&format!("{name}-src"));
    let data: Vec<u8> = (0..50 * 64 * 1024 + 123)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    f.write_all(&data).unwrap();
    let dst = common::temp_path(&format!("{name}-dst"));
    assert_eq!(copy(&src, &dst).unwrap(), data.len() as u64);
    assert!(std::fs::read(&dst).unwrap() == data, "the copy differs");
    let _ = std::fs::remove_file(src);
    let _ = std::fs::remove_file(dst);
}

/// `copy` of a missing file is a `NotFound` error, not a panic.
fn check_missing_file_is_an_error(name: &str, copy: Copy) {
    let dst = common::temp_path(&format!("{name}-missing"));
    let err = copy(std::path::Path::new("/nonexistent/ring-core"), &dst).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

/// `count` clients at once, each sending `len` bytes to `addr` and reading
/// them back; panics if any byte differs.
fn echo_clients(addr: std::net::SocketAddr, count: usize, len: usize) {
    let clients: Vec<_> = (0..count)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let data: Vec<u8> = (0..len).map(|j| ((i * 31 + j) % 256) as u8).collect();
                let mut w = s.try_clone().unwrap();
                let sent = data.clone();
                let writer = std::thread::spawn(move || w.write_all(&sent).unwrap());
                let mut back = vec![0u8; data.len()];
                s.read_exact(&mut back).unwrap();
                writer.join().unwrap();
                assert!(back == data, "connection {i} echoed other bytes");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

/// `cp` copies a file of 50 chunks and a bit, byte for byte.
#[test]
fn cp_copies_every_byte() {
    check_copies_every_byte("example-cp", cp::copy);
}

/// `cp` of a missing file is an error, not a panic.
#[test]
fn cp_of_a_missing_file_is_an_error() {
    check_missing_file_is_an_error("example-cp", cp::copy);
}

/// `echo_multishot` serves 20 connections at once, each sending 64 KiB
/// (more than the buffer ring holds at once), and echoes every byte.
#[test]
fn echo_serves_many_connections() {
    const CONNS: usize = 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || echo::serve(listener, Some(CONNS)));
    echo_clients(addr, CONNS, 64 * 1024);
    server.join().unwrap().unwrap();
}

/// `timeout`: the linked timeout cancels the read, the chain's steps run
/// in time, the cancelled timeout reports `ECANCELED`, and none of it waits
/// for the one-minute timeout.
#[test]
fn timeout_cancels_what_it_should() {
    let r = timeout::run().unwrap();
    assert_eq!(r.bounded_read, Err(Errno::CANCELED));
    assert_eq!(r.link_timeout, Err(Errno::TIME));
    assert_eq!(r.chain, [Ok(4), Ok(4)]);
    assert_eq!(r.cancelled, Err(Errno::CANCELED));
    assert!(r.took < Duration::from_secs(5), "took {:?}", r.took);
}

/// The async `copy` copies a file of 50 chunks and a bit, byte for byte.
#[test]
fn async_copy_copies_every_byte() {
    check_copies_every_byte("example-async-copy", async_copy::copy);
}

/// The async `copy` of a missing file is an error, not a panic.
#[test]
fn async_copy_of_a_missing_file_is_an_error() {
    check_missing_file_is_an_error("example-async-copy", async_copy::copy);
}

/// The async `echo` serves 20 connections at once, each sending 64 KiB,
/// and echoes every byte; it returns once they are closed.
#[test]
fn async_echo_serves_many_connections() {
    const CONNS: usize = 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || async_echo::serve(listener, Some(CONNS)));
    echo_clients(addr, CONNS, 64 * 1024);
    server.join().unwrap().unwrap();
}
