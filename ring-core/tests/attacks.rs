//! Red-team attacks on the safe tier, written as a hostile user would: no
//! `unsafe` anywhere in this file. Each test tries one way to make the
//! kernel act on memory or a descriptor the program no longer owns, or to
//! make a completion release an operation the kernel still uses, and checks
//! that it fails to. The older attacks are in `io_safety.rs`; this file
//! holds the ones found later (safe raw-tier registration calls on an
//! owned ring, messages routed into the async layer, ring handles that
//! outlive their ring).

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;

use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::{
    self, Files, FixedBufs, MsgRing, PollAdd, Read, ReadFixed, Ring, RingHandle, SharedFd, Store,
    Write,
};
use ring_core::rt::Driver;

fn wait_all<S: Store>(ring: &mut Ring<S>, want: usize) -> Vec<owned::Completion<S>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while out.len() < want {
        assert!(Instant::now() < deadline, "only {} of {want}", out.len());
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(100));
        out.extend(ring.completions());
    }
    out
}

/// Reaps whatever arrives on `ring` within `for_how_long`.
fn drain_for<S: Store>(ring: &mut Ring<S>, for_how_long: Duration) -> Vec<owned::Completion<S>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + for_how_long;
    while Instant::now() < deadline {
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(20));
        out.extend(ring.completions());
    }
    out
}

/// A file-table tag is a `user_data` the kernel posts when the tagged file
/// leaves its slot. Tagging a file with a live read's token, then emptying
/// the slot, must not make the owned ring hand the read (and its buffer)
/// back while the kernel still waits to write into that buffer.
#[test]
fn a_file_tag_cannot_forge_a_live_tokens_completion() {
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let mut ring = Ring::new(8).unwrap();
    let token = ring.push(Read::new(&r, vec![0u8; 16])).unwrap();
    ring.submit().unwrap();
    let (x, _x_w) = common::pipe();
    let sub = ring.raw().submitter();
    sub.register_files_sparse(1).unwrap();
    sub.register_files_update_tagged(0, &[x.as_raw_fd()], &[token.raw()])
        .unwrap();
    sub.register_files_update_tagged(0, &[-1], &[0]).unwrap();
    let forged: Vec<_> = drain_for(&mut ring, Duration::from_millis(200))
        .into_iter()
        .filter(|c| c.is_final())
        .collect();
    assert!(
        forged.is_empty(),
        "a tag completion released the read while the kernel still waits on the pipe"
    );
    assert_eq!(ring.in_flight(), 1);
    w.write_all(b"late").unwrap();
    let c = wait_all(&mut ring, 1);
    assert_eq!(c[0].token(), token);
    assert_eq!(c[0].result(), Ok(4));
}

/// `Files` hands out slot 0 of its table. Unregistering the table behind
/// its back and registering a new one hands slot 0 out again: a write
/// built with the first `FixedFile` must not land in the second file.
#[test]
fn unregistering_the_file_table_cannot_alias_a_live_fixed_file() {
    let ring = Ring::new(8).unwrap();
    let mut ring = ring;
    let (path_a, a) = common::temp_file("atk-unreg-a");
    let files = Files::register(ring.raw(), 1).unwrap();
    let fixed_a = files.install(&a).unwrap();
    let _ = ring.raw().submitter().unregister_files();
    let (path_b, b) = common::temp_file("atk-unreg-b");
    match Files::register(ring.raw(), 1) {
        Ok(files_b) => {
            let _fixed_b = files_b.install(&b).unwrap();
            ring.push(Write::new(&fixed_a, b"meant for a".to_vec()))
                .unwrap();
            let _ = wait_all(&mut ring, 1);
            assert!(
                std::fs::read(&path_b).unwrap().is_empty(),
                "a write built for file a landed in file b"
            );
        }
        Err(_) => {} // the first table is still there: nothing to alias
    }
    drop((a, b));
    std::fs::remove_file(path_a).unwrap();
    std::fs::remove_file(path_b).unwrap();
}

/// A tagged file-table update takes raw numbers and any slot: it must not
/// be able to put another file into a slot an owned `FixedFile` holds.
#[test]
fn a_tagged_update_cannot_swap_the_file_behind_a_fixed_file() {
    let mut ring = Ring::new(8).unwrap();
    let (path_a, a) = common::temp_file("atk-swap-a");
    let (path_b, b) = common::temp_file("atk-swap-b");
    let files = Files::register(ring.raw(), 1).unwrap();
    let fixed_a = files.install(&a).unwrap();
    let _ = ring.raw().submitter().register_files_update_tagged(
        fixed_a.index(),
        &[b.as_raw_fd()],
        &[0],
    );
    ring.push(Write::new(&fixed_a, b"meant for a".to_vec()))
        .unwrap();
    let _ = wait_all(&mut ring, 1);
    assert!(
        std::fs::read(&path_b).unwrap().is_empty(),
        "a write built for file a landed in file b"
    );
    drop((a, b));
    std::fs::remove_file(path_a).unwrap();
    std::fs::remove_file(path_b).unwrap();
}

/// Unregistering the buffer table behind a `FixedBufs` pool and
/// registering a second pool makes index 0 name the second pool's buffer.
/// A `ReadFixed` built with the first pool's buffer 0 must not write into
/// the second pool's buffer 0, which the test holds as `&mut [u8]`: the
/// kernel checks the address against the registered buffer and refuses.
#[test]
fn a_stale_fixed_buffer_cannot_write_another_pools_buffer() {
    let mut ring = Ring::new(8).unwrap();
    let pool_a = FixedBufs::register(ring.raw(), 1, 64).unwrap();
    let a0 = pool_a.take().unwrap();
    ring.raw().submitter().unregister_buffers().unwrap();
    let pool_b = FixedBufs::register(ring.raw(), 1, 64).unwrap();
    let mut b0 = pool_b.take().unwrap();
    assert_eq!(a0.index(), b0.index());
    b0.fill(b'B');
    let (path, mut f) = common::temp_file("atk-fixedbuf");
    f.write_all(&[b'X'; 64]).unwrap();
    let f = SharedFd::new(f);
    ring.push(ReadFixed::new(&f, a0).offset(0)).unwrap();
    let c = wait_all(&mut ring, 1);
    assert!(
        b0.iter().all(|&x| x == b'B'),
        "the kernel wrote into a buffer the program holds as &mut [u8]"
    );
    assert!(c[0].result().is_err(), "{:?}", c[0].result());
    std::fs::remove_file(path).unwrap();
}

/// A `RingHandle` outlives its ring: a message sent after the ring was
/// dropped and a new ring (which may get the old ring's descriptor number)
/// was made must not reach the new ring.
#[test]
fn a_message_to_a_dropped_ring_reaches_no_other_ring() {
    let first = Ring::new(4).unwrap();
    let handle = RingHandle::of(&first).unwrap();
    let number = first.raw().as_raw_fd();
    drop(first);
    let mut second = Ring::new(4).unwrap();
    assert_eq!(
        second.raw().as_raw_fd(),
        number,
        "the new ring reuses the dropped ring's number (the attack needs it)"
    );
    let mut sender = Ring::new(4).unwrap();
    sender.push(MsgRing::new(&handle, 42, 7).unwrap()).unwrap();
    let sent = wait_all(&mut sender, 1);
    assert_eq!(sent[0].result(), Ok(0));
    let got = drain_for(&mut second, Duration::from_millis(100));
    assert!(
        got.is_empty(),
        "the message reached a ring it was not sent to"
    );
}

/// A message's `user_data` is the sender's value with bit 63 set; the
/// async driver routes completions by the slot in their low bits. A
/// message whose value names the slot of a live multishot poll must not
/// come out of that poll's stream as one of its completions.
#[test]
fn a_message_is_not_delivered_into_a_streams_completions() {
    let ring = Ring::new(16).unwrap();
    let handle = RingHandle::of(&ring).unwrap();
    let driver = Driver::from_ring(ring);
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    let mut polls = driver.submit_multi(PollAdd::new(&r, 1).multishot());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(polls.poll_next(&mut cx).is_pending(), "the poll is pushed");
    // Every slot the poll could have: the message names one of them.
    let mut sender = Ring::new(16).unwrap();
    for slot in 0..8u64 {
        sender
            .push(MsgRing::new(&handle, slot, 7).unwrap())
            .unwrap();
    }
    assert_eq!(wait_all(&mut sender, 8).len(), 8);
    w.write_all(b"x").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        assert!(Instant::now() < deadline, "the poll never fired");
        driver.park(Some(Duration::from_millis(50))).unwrap();
        if let Poll::Ready(c) = polls.poll_next(&mut cx) {
            break c.expect("the stream has an item");
        }
    };
    assert_eq!(
        first.message(),
        None,
        "a message came out of the poll's stream"
    );
    assert_eq!(first.result(), Ok(1), "POLLIN from the pipe");
}
