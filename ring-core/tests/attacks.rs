//! Red-team attacks on the safe tier, written as a hostile user would: no
//! `unsafe` anywhere in this file. Each test tries one way to make the
//! kernel act on memory or a descriptor the program no longer owns, or to
//! make a completion release an operation the kernel still uses, and checks
//! that it fails to. The older attacks are in `io_safety.rs`; this file
//! holds the ones found later (raw-tier registration calls on an owned
//! ring, messages routed into the async layer, ring handles that outlive
//! their ring).
//!
//! Three attacks here broke the safe tier and no longer compile, so they
//! live on as compile-fail doctests: a tagged file update
//! (`Submitter::register_files_update_tagged`) tagged with a live token
//! made the kernel post that token when the file left its slot, and the
//! owned ring handed back a read and its buffer while the kernel still
//! waited to write into it; the same call took raw numbers and put
//! another file into a slot an owned `FixedFile` held; and
//! `Submitter::unregister_files` followed by a second `Files` table gave
//! slot 0 to another file while a `FixedFile` still named it. Both calls
//! are `unsafe` now, with those rules in their contracts.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;

use std::future::Future as _;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{
    self,
    op::{MsgRing, Nop, PollAdd, Read, ReadFixed, RecvMulti},
    FixedBufs, Ring, RingHandle, SharedFd, Store,
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
    ring.push(ReadFixed::new(&f, a0).at(0)).unwrap();
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
    // The attack needs the new ring to get the dropped ring's number. Other
    // tests of this binary open descriptors in parallel and may take it for
    // a moment: make rings (keeping the ones that got another number, so the
    // next takes the next free one) until one gets it.
    let mut others = Vec::new();
    let mut second = loop {
        let ring = Ring::new(4).unwrap();
        if ring.raw().as_raw_fd() == number {
            break ring;
        }
        assert!(
            others.len() < 200,
            "no new ring got the dropped ring's number (the attack needs it)"
        );
        others.push(ring);
        std::thread::sleep(Duration::from_millis(1));
    };
    drop(others);
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

ring_core::operations! {
    /// A typed ring's operations, with a `From` impl written to lie.
    enum Smuggler {
        Recv(RecvMulti),
    }
}

thread_local! {
    static SMUGGLED: std::cell::RefCell<Option<RecvMulti>> = const { std::cell::RefCell::new(None) };
}

/// `From<Nop>` hands back a receive whose buffer ring is another ring's.
impl From<Nop> for Smuggler {
    fn from(_: Nop) -> Self {
        Smuggler::Recv(
            SMUGGLED
                .with(|s| s.borrow_mut().take())
                .expect("a receive to smuggle"),
        )
    }
}

/// `Ring::push` checks the operation it is given against the ring, then
/// converts it into the ring's operation type. A conversion that swaps in
/// a receive whose buffer ring belongs to another ring must not get that
/// receive onto this ring: the kernel would fill this ring's buffer and
/// the completion would hand out the other ring's buffer with that id
/// (`a_buffer_ring_of_another_ring_is_refused` for the honest path).
#[test]
#[should_panic(expected = "conversion changed the ring-bound resources")]
fn a_lying_conversion_cannot_smuggle_another_rings_buffer_ring() {
    let other = Ring::new(4).unwrap();
    let bufs = Rc::new(BufRing::builder(1, 4, 64).build(other.raw()).unwrap());
    let mut ring = Ring::<Smuggler>::typed(4).unwrap();
    let _own = BufRing::builder(1, 4, 64).build(ring.raw()).unwrap();
    let (c, s) = common::connected_pair();
    SMUGGLED.with(|slot| *slot.borrow_mut() = Some(RecvMulti::new(s, bufs)));
    let pushed = ring.push(Nop);
    // Reached on a ring that lets it through: the other ring's buffer is
    // now named by this ring's completions.
    drop(c);
    panic!(
        "the smuggled receive was pushed: {:?}",
        pushed.map(|t| t.raw())
    );
}

/// `Driver::from_ring` takes a ring that may already have operations in
/// flight ("completed and dropped by the driver"). Their completions must
/// not drive the driver's count of operations in flight below zero (a
/// panic in debug builds, a count near `usize::MAX` that never settles in
/// release).
#[test]
fn a_driver_over_a_busy_ring_counts_the_operations_it_inherits() {
    let mut ring = Ring::new(8).unwrap();
    ring.push(Nop).unwrap();
    let driver = Driver::from_ring(ring);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        driver.park(Some(Duration::from_millis(20))).unwrap();
        if driver.in_flight() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{driver:?} counts operations that are not in flight"
        );
    }
}

ring_core::operations! {
    /// A typed ring's operations, with a `Drop` impl (the user's own code)
    /// that panics for one of them.
    enum Bomb {
        Read(Read<Vec<u8>>),
        Nop(Nop),
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if matches!(self, Bomb::Nop(_)) && !std::thread::panicking() {
            panic!("the user's drop panics");
        }
    }
}

/// `Ring`'s `Drop` reaps operations one by one and drops each; a user's
/// `Drop` that panics on one of them must not unwind out of it while
/// another is still in flight (the table would free that one's buffer with
/// the kernel still about to write into it). The ring is kept alive in the
/// kernel by a `RingHandle`, so a read left in flight would take the bytes
/// written afterwards out of the pipe, into freed memory.
#[test]
fn a_panicking_user_drop_during_ring_drop_frees_nothing_in_flight() {
    let (r, mut w) = common::pipe();
    let probe = r.try_clone().unwrap();
    // Two slots: the drop's cancel finds the queue full of the two
    // unsubmitted entries, so the nop completes (and panics) before the
    // read has been cancelled.
    let mut ring = Ring::<Bomb>::typed(2).unwrap();
    let kernel_side = RingHandle::of(&ring).unwrap();
    ring.push(Read::new(SharedFd::new(r), vec![0u8; 64]))
        .unwrap();
    ring.push(Nop).unwrap();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(ring)));
    assert!(dropped.is_err(), "the user's panic reaches the caller");
    w.write_all(b"hello").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        rustix::io::ioctl_fionread(&probe).unwrap(),
        5,
        "a read still in flight took the bytes into the buffer the unwinding freed"
    );
    drop(kernel_side);
}

/// A tag type whose `Clone` (the user's code) panics.
#[derive(Debug, Default)]
struct Grenade;

impl Clone for Grenade {
    fn clone(&self) -> Self {
        panic!("the user's Clone panics")
    }
}

/// Building a completion that is not an operation's last runs the tag's
/// `Clone` (the user's code). `Ring`'s `Drop` builds completions while it
/// reaps; a panic there must not unwind out of it while a read is still in
/// flight. A multishot poll's completion is waiting when the ring drops,
/// and the queue is full, so the drop's cancel goes in only after that
/// completion has been reaped. The ring is kept alive in the kernel by a
/// file table (which holds a duplicate of its descriptor).
#[test]
fn a_panicking_user_tag_during_ring_drop_frees_nothing_in_flight() {
    let (r, mut w) = common::pipe();
    let (ready, mut make_ready) = common::pipe();
    let probe = r.try_clone().unwrap();
    let mut ring = Ring::<Box<dyn owned::Operation>, Grenade>::tagged(4).unwrap();
    let kernel_side = owned::Files::register(ring.raw(), 1).unwrap();
    ring.push_tagged(Read::new(SharedFd::new(r), vec![0u8; 64]), Grenade)
        .unwrap();
    ring.push_tagged(PollAdd::new(SharedFd::new(ready), 1).multishot(), Grenade)
        .unwrap();
    ring.submit().unwrap();
    make_ready.write_all(b"!").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ring.raw().submitter().completions_ready() == 0 {
        assert!(Instant::now() < deadline, "the poll never fired");
        std::thread::sleep(Duration::from_millis(1));
    }
    for _ in 0..4 {
        ring.push_tagged(Nop, Grenade).unwrap();
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(ring)));
    assert!(dropped.is_err(), "the user's panic reaches the caller");
    w.write_all(b"hello").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        rustix::io::ioctl_fionread(&probe).unwrap(),
        5,
        "a read still in flight took the bytes into the buffer the unwinding freed"
    );
    drop(kernel_side);
}

/// A task's waker can outlive the runtime (another thread may hold it).
/// Waking it after the runtime, its driver and its ring are gone must touch
/// nothing freed (checked under AddressSanitizer in CI).
#[test]
fn a_waker_outliving_its_runtime_touches_nothing_freed() {
    let kept: std::sync::Arc<std::sync::Mutex<Option<Waker>>> = Default::default();
    let rt = ring_core::rt::Runtime::new(8).unwrap();
    let slot = kept.clone();
    let (r, _w) = common::pipe();
    let r = SharedFd::new(r);
    let driver = rt.driver().clone();
    let task = rt.spawn_local(async move {
        // An operation in flight when the runtime drops, and a waker kept.
        let mut read = driver.read(&r, vec![0u8; 8]);
        std::future::poll_fn(|cx| {
            assert!(std::pin::Pin::new(&mut read).poll(cx).is_pending());
            *slot.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await;
    });
    let d = rt.driver().clone();
    rt.block_on(async move { d.nop().await }).unwrap();
    assert!(
        kept.lock().unwrap().is_some(),
        "the task ran and kept its waker"
    );
    drop(task);
    drop(rt);
    let waker = kept.lock().unwrap().take().unwrap();
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .unwrap();
}

/// The completion iterator hands the kernel back each slot as it reads
/// it. Forgetting it (`mem::forget` is safe) must not let the same
/// completion be seen again: a multishot accept's completion carries
/// a new descriptor, and seeing it twice would make two `OwnedFd`s own one
/// socket (the second would close whatever file got the number next).
#[test]
fn a_forgotten_completion_iterator_hands_out_no_descriptor_twice() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(owned::op::Accept::new(listener).multishot())
        .unwrap();
    ring.submit().unwrap();
    let _client = std::net::TcpStream::connect(addr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ring.raw().submitter().completions_ready() == 0 {
        assert!(Instant::now() < deadline, "no connection accepted");
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(20));
    }
    let mut reaped = ring.completions();
    let mut c = reaped.next().unwrap();
    let first = c.take_fd().expect("the accepted socket");
    drop(c);
    // The iterator has no drop of its own today; forgetting it is what a
    // program may do, and must stay harmless whatever it gets.
    #[allow(clippy::forget_non_drop)]
    std::mem::forget(reaped);
    let mut again = Vec::new();
    for mut c in ring.completions() {
        again.extend(c.take_fd());
    }
    let twice = again.iter().any(|fd| fd.as_raw_fd() == first.as_raw_fd());
    // Whatever the outcome, never let two owners close one descriptor.
    for fd in again {
        if fd.as_raw_fd() == first.as_raw_fd() {
            std::mem::forget(fd);
        }
    }
    assert!(
        !twice,
        "a completion seen twice adopted the accepted socket a second time"
    );
}

/// With an incremental buffer ring (`IOU_PBUF_RING_INC`) one buffer is
/// handed out in pieces: the kernel fills it chunk by chunk and only the
/// last chunk ends its use. Dropping the last chunk's `OwnedBuf` while an
/// earlier chunk's is still alive must not give the buffer back to the
/// kernel, which would then write over bytes the program holds as `&[u8]`.
#[test]
fn an_incremental_buffer_is_not_given_back_while_an_earlier_chunk_is_held() {
    let mut ring = Ring::new(8).unwrap();
    let bufs = match BufRing::builder(3, 1, 8).incremental().build(ring.raw()) {
        Ok(b) => Rc::new(b),
        Err(e) => {
            println!("skipped: no incremental buffer rings here ({e})");
            return;
        }
    };
    let (mut client, server) = common::connected_pair();
    let server = SharedFd::new(server);
    let recv = |ring: &mut Ring| {
        ring.push(RecvMulti::new(&server, bufs.clone()).once())
            .unwrap();
        wait_all(ring, 1).pop().unwrap()
    };
    let mut chunk = |ring: &mut Ring, bytes: &[u8]| {
        client.write_all(bytes).unwrap();
        let mut c = recv(ring);
        assert_eq!(c.result(), Ok(4));
        c.take_buf().expect("a buffer")
    };
    let first = chunk(&mut ring, b"AAAA");
    let last = chunk(&mut ring, b"BBBB");
    assert_eq!(
        (first.bid(), last.bid()),
        (0, 0),
        "two chunks of one buffer"
    );
    assert_eq!(&first[..], b"AAAA");
    drop(last);
    client.write_all(b"CCCC").unwrap();
    let mut third = recv(&mut ring);
    assert_eq!(
        &first[..],
        b"AAAA",
        "the kernel wrote into a chunk the program still holds"
    );
    // The buffer is still held, so the kernel has none: ENOBUFS.
    assert_eq!(third.result(), Err(ring_core::Errno::NOBUFS));
    drop(third.take_buf());
    // Once the first chunk goes too, the buffer is the kernel's again.
    drop(first);
    let mut fourth = recv(&mut ring);
    assert_eq!(fourth.result(), Ok(4));
    assert_eq!(
        &fourth.take_buf().expect("the buffer came back")[..],
        b"CCCC"
    );
}

/// Runs `f` on a thread of its own and gives its result, or `None` if it
/// has not finished within `limit` (the thread is then left behind).
fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// A raw ring registered on one thread (`register_ring_fd`), which is
/// `Send`, is handed to a thread where a runtime registered its own ring at
/// the same index of that thread's table. Dropping it there must not
/// unregister the runtime's ring: the runtime's waits would then fail
/// (`EBADF`) or, once another ring takes the index, enter that other ring,
/// and its NOP would never be submitted.
#[test]
fn a_registered_ring_moved_to_another_thread_leaves_that_threads_runtime_alone() {
    use ring_core::rt::Runtime;
    let done = within(Duration::from_secs(10), || {
        let rt = Runtime::new(8).unwrap();
        let ours = rt.driver().with_raw(|r| r.registered_ring_index());
        // A ring registered on a thread of its own, at the first free
        // index of that thread's table: the index the runtime has here.
        let (foreign, theirs) = std::thread::spawn(|| {
            let mut r = ring_core::IoUring::new(4).unwrap();
            let index = r.register_ring_fd().unwrap();
            (r, index)
        })
        .join()
        .unwrap();
        assert_eq!(ours, Some(theirs), "both first in their thread's table");
        // Entering from here must not reach the runtime's ring, and the
        // drop must not unregister it.
        let _ = foreign.submit();
        drop(foreign);
        // Another ring registered here now takes the first free index.
        let mut other = ring_core::IoUring::new(4).unwrap();
        other.register_ring_fd().unwrap();
        let driver = rt.driver().clone();
        let results: Vec<_> = rt.block_on(async move {
            let mut results = Vec::new();
            for _ in 0..4 {
                results.push(driver.submit(Nop).await.map(|d| d.result()).ok());
            }
            results
        });
        drop(other);
        results
    });
    assert_eq!(
        done,
        Some(vec![Some(Ok(0)); 4]),
        "the runtime's ring went unentered"
    );
}
