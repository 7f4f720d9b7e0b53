//! `Server::bind` and the caller's thread, in a process of its own.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;

/// `Server::bind` leaves nothing pending on the caller's thread: the
/// kernel's teardown of the io_uring probe ring sends task work to the ring's
/// creator, which used to make the caller's next blocking read with a
/// timeout fail with EINTR (found by the half-close test in `hostile.rs`).
/// In a file of its own, so that it observes `bind` alone: in the process
/// shared with `hostile.rs`'s other servers it saw a rare EINTR (about one
/// run in ten) whose source was not found.
#[test]
fn bind_does_not_interrupt_the_callers_blocking_reads() {
    for _ in 0..5 {
        let srv = start();
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            b.write_all(b"x").unwrap();
        });
        let mut byte = [0u8; 1];
        let got = a.read(&mut byte);
        assert!(matches!(got, Ok(1)), "{got:?}");
        writer.join().unwrap();
        srv.stop().unwrap();
    }
}
