//! Attacks on the async layer's keys: a final completion waits in its
//! future's key and is unboxed as that future's operation type without a
//! run-time check in release builds (`rt/submit.rs`). That is sound only if
//! no completion of another operation ever reaches a key while a future
//! of another type holds it. These tests reuse keys as hard as safe code
//! can (futures of many operation types, streams, linked timeouts,
//! cancellers, drops before the push, mid-flight and after the
//! completion, futures moved between runtimes) and check that each
//! future gets its own operation back: its own buffer, its own result.
//! A mix-up is a failed assertion here, a panic in a debug build (the
//! unchecked unbox asserts the type there) and a fault under ASan.
//! No `unsafe` here.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;
#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

use std::cell::Cell;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::{op::Nop, op::Open, op::PollAdd, op::Read, op::Timeout, SharedFd};
use ring_core::rt::{Canceller, Driver, Runtime};
use ring_core::Errno;
use std::cell::RefCell;

type Fut = Pin<Box<dyn Future<Output = ()>>>;

fn poll(f: &mut Fut) -> Poll<()> {
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// Futures of nine kinds (six operation types, single-shot and
/// multishot, with and without linked timeouts, cancellers and a bound
/// that pauses a stream and pushes its operation again), created,
/// polled, cancelled and dropped in random order on one driver, so that
/// keys pass from one kind to another in every state: each one that
/// completes checks that what it got back is its own.
#[test]
fn reused_keys_hand_every_future_its_own_operation() {
    let seed = rng::seed_from_env("RT_KEYS_SEED", 0x0dd5_eed7_u64);
    let mut rng = Rng(seed);
    let (path, mut f) = common::temp_file("rt-keys");
    f.write_all(&[7u8; 512]).unwrap();
    drop(f);
    let file = SharedFd::new(std::fs::File::open(&path).unwrap());
    let checked = Rc::new(Cell::new(0usize));
    for round in 0..20 {
        let d = Driver::new(16).unwrap();
        let (pr, mut pw) = common::pipe();
        let pr = SharedFd::new(pr);
        let mut live: Vec<Fut> = Vec::new();
        let mut cancellers: Vec<Canceller> = Vec::new();
        for _ in 0..60 {
            let ok = checked.clone();
            let fut: Fut = match rng.below(9) {
                0 => {
                    let n = d.nop();
                    Box::pin(async move {
                        n.await.unwrap();
                        ok.set(ok.get() + 1);
                    })
                }
                1 => {
                    // A length no other future's buffer has.
                    let len = 1 + rng.below(400);
                    let r = d.read_at(&file, vec![0u8; len], 0);
                    Box::pin(async move {
                        let (n, buf) = r.await;
                        assert_eq!(buf.len(), len, "another future's buffer");
                        assert_eq!(n.unwrap(), len);
                        assert!(buf.iter().all(|&b| b == 7));
                        ok.set(ok.get() + 1);
                    })
                }
                2 => {
                    let o = d.open(Open::new(&path, 0, 0).unwrap());
                    Box::pin(async move {
                        let fd = o.await.unwrap();
                        let len = std::fs::File::from(fd).metadata().unwrap().len();
                        assert_eq!(len, 512);
                        ok.set(ok.get() + 1);
                    })
                }
                3 => {
                    let s = d.sleep(Duration::from_micros(rng.below(3000) as u64));
                    Box::pin(async move {
                        s.await.unwrap();
                        ok.set(ok.get() + 1);
                    })
                }
                4 => {
                    // A read that usually never gets data, cut short by its
                    // linked timeout; its buffer has a length of its own.
                    let len = 1000 + rng.below(1000);
                    let r = d
                        .read(&pr, vec![0u8; len])
                        .with_timeout(Duration::from_micros(rng.below(2000) as u64));
                    Box::pin(async move {
                        let (n, buf) = r.await;
                        assert_eq!(buf.len(), len, "another future's buffer");
                        match n {
                            Ok(n) => assert!(buf[..n].iter().all(|&b| b == 1)),
                            Err(e) => {
                                assert_eq!(e.raw_os_error(), Some(Errno::CANCELED.raw_os_error()))
                            }
                        }
                        ok.set(ok.get() + 1);
                    })
                }
                5 => {
                    // A stream: every item its own timeout's expiry, the
                    // last carrying that timeout back.
                    let count = 1 + rng.below(4) as u32;
                    let timeout = Timeout::new(Duration::from_micros(200)).multishot(count);
                    let mut t = d.submit_multi(timeout);
                    Box::pin(async move {
                        let mut got = 0;
                        while let Some(mut c) = t.next().await {
                            assert_eq!(c.result(), Err(Errno::TIME), "not an expiry");
                            got += 1;
                            if c.is_final() {
                                assert!(c.take_op::<Timeout>().is_some(), "not its timeout");
                            }
                        }
                        // Its own final completion ends it; the kernel ends
                        // a multishot early when the completion queue is
                        // full (its CQEs then post nowhere), so not always
                        // after `count`.
                        assert!((1..=count).contains(&got), "{got} of {count}");
                        ok.set(ok.get() + 1);
                    })
                }
                6 => {
                    // The whole operation back, through `submit`.
                    let s = d.submit(Nop).with_timeout(Duration::from_millis(5));
                    Box::pin(async move {
                        let done = s.await.unwrap();
                        assert_eq!(done.result(), Ok(0));
                        let _nop: Nop = done.into_op();
                        ok.set(ok.get() + 1);
                    })
                }
                8 => {
                    // A stream with a small bound: paused and pushed again
                    // (same key, new token) as it is polled or not, its
                    // key reused by others once it ends or is dropped
                    // (maybe while paused). Every item is its own poll's
                    // readiness; the last carries its own poll back.
                    let bound = 1 + rng.below(3);
                    let mut p = d
                        .submit_multi(PollAdd::new(&pr, 1).multishot())
                        .with_backlog(bound);
                    cancellers.push(p.canceller());
                    Box::pin(async move {
                        while let Some(mut c) = p.next().await {
                            // A readiness (the last one too if the kernel
                            // ended the poll on a full completion queue),
                            // or the end of a cancel.
                            let res = c.result();
                            assert!(
                                res == Ok(1) || (c.is_final() && res == Err(Errno::CANCELED)),
                                "not its poll's: {res:?}"
                            );
                            if c.is_final() {
                                assert!(c.take_op::<PollAdd>().is_some(), "not its poll");
                            }
                        }
                        ok.set(ok.get() + 1);
                    })
                }
                _ => {
                    // A read with a canceller, cancelled later (maybe
                    // before its push, maybe after it completed).
                    let len = 3000 + rng.below(1000);
                    let mut s = d.submit(Read::new(&pr, vec![0u8; len]));
                    cancellers.push(s.canceller());
                    Box::pin(async move {
                        let done = s.await.unwrap();
                        let res = done.result();
                        let buf = done.into_op().into_buf();
                        assert_eq!(buf.len(), len, "another future's buffer");
                        match res {
                            Ok(n) => assert!(buf[..n as usize].iter().all(|&b| b == 1)),
                            Err(e) => assert_eq!(e, Errno::CANCELED),
                        }
                        ok.set(ok.get() + 1);
                    })
                }
            };
            live.push(fut);
            // Sometimes the new future is dropped before its first poll
            // (a canceller may hold its key).
            if rng.below(10) != 0 {
                let i = live.len() - 1;
                if poll(&mut live[i]).is_ready() {
                    drop(live.swap_remove(i));
                }
            }
            match rng.below(9) {
                0 => pw.write_all(&[1u8; 8]).unwrap(),
                1 | 2 => {
                    let _ = d.turn();
                }
                3 if !live.is_empty() => {
                    // Dropped: unpushed, in flight, or completed and not
                    // yet taken.
                    let i = rng.below(live.len());
                    drop(live.swap_remove(i));
                }
                4 if !cancellers.is_empty() => {
                    let i = rng.below(cancellers.len());
                    cancellers.swap_remove(i).cancel();
                }
                5 => {
                    // Poll everything: completions are taken and keys
                    // freed for the next futures.
                    live.retain_mut(|f| poll(f).is_pending());
                }
                _ => {}
            }
        }
        // Every future left runs to its end: nothing hangs. Data keeps
        // coming so pipe reads without a timeout or canceller end too.
        for c in cancellers.drain(..) {
            c.cancel();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !live.is_empty() {
            assert!(
                Instant::now() < deadline,
                "round {round}: {} futures never ended",
                live.len()
            );
            let _ = pw.write_all(&[1u8; 8]);
            let _ = d.park(Some(Duration::from_millis(5)));
            live.retain_mut(|f| poll(f).is_pending());
        }
    }
    assert!(
        checked.get() > 500,
        "only {} futures completed",
        checked.get()
    );
    std::fs::remove_file(path).unwrap();
}

/// A future polled first by one runtime's task (which the driver then
/// knows by its index in that runtime) and taken out of it, that runtime
/// dropped, and the future awaited by a second runtime on the same driver
/// among new futures of other types that reuse keys: it still gets its own
/// buffer, and nothing hangs.
#[test]
fn a_future_moved_to_another_runtime_gets_its_own_operation() {
    let first = Runtime::new(8).unwrap();
    let d = first.driver().clone();
    let (pr, mut pw) = common::pipe();
    let pr = SharedFd::new(pr);
    let stash = Rc::new(RefCell::new(None));
    let (d2, pr2, stash2) = (d.clone(), pr.clone(), stash.clone());
    let task = first.spawn_local(async move {
        let mut read = d2.read(&pr2, vec![0u8; 77]);
        // Pushed, with this task's index as whom to wake.
        std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut read).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        *stash2.borrow_mut() = Some(read);
    });
    first.block_on(task);
    drop(first);
    let read = stash.borrow_mut().take().unwrap();
    let second = Runtime::with_driver(d.clone()).unwrap();
    let d3 = d.clone();
    // Other futures first, so keys are freed and taken again meanwhile.
    let others = second.spawn_local(async move {
        for i in 0..50u32 {
            d3.nop().await.unwrap();
            d3.sleep(Duration::from_micros(u64::from(i))).await.unwrap();
        }
    });
    pw.write_all(b"moved").unwrap();
    let (n, buf) = second.block_on(async move {
        others.await;
        read.await
    });
    assert_eq!(buf.len(), 77, "another future's buffer");
    assert_eq!(&buf[..n.unwrap()], b"moved");
}
