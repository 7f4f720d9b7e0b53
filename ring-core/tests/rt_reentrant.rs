//! Attacks on the driver's hand-out of wake-ups: every waker a turn wakes
//! is woken after the driver's borrow is released, under `catch_unwind`
//! (`Deferred::run` in `rt/driver.rs`). These wakers re-enter the driver
//! from there: they drop other futures (in flight, completed and not
//! taken, taken), poll them, make and push new ones of other operation
//! types (which take the keys just freed), turn the driver again (nested
//! hand-outs) and panic, in random order. Every future checks that what
//! it gets back is its own (its own buffer, its own descriptor), every
//! descriptor an open created is closed, and nothing is left in flight.
//! A mix-up is a recorded failure here (a panic in a future may be one of
//! several in a turn, of which only the first comes out), a panic of the
//! unchecked unbox's type check in a debug build, and a fault under ASan.
//! No `unsafe` here.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;
#[path = "common/panics.rs"]
mod panics;
use panics::message;
#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::Write as _;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use ring_core::owned::{op::Open, SharedFd};
use ring_core::rt::Driver;

type Fut = Pin<Box<dyn Future<Output = ()>>>;

/// What the wakers act on: this thread's driver and live futures.
struct World {
    d: Driver,
    live: Vec<Fut>,
    rng: Rng,
    path: PathBuf,
    file: SharedFd,
    pipe: SharedFd,
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
    /// Futures that finished and found their own result.
    static CHECKED: Cell<usize> = const { Cell::new(0) };
    /// Panics that were not this test's own: a mix-up.
    static FAILURES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

const OURS: &str = "a re-entering waker panics on purpose";

/// Keeps a panic that is not [`OURS`] as a failure.
fn record(p: Box<dyn std::any::Any + Send>) {
    let m = message(&*p);
    if m != OURS {
        FAILURES.with(|f| f.borrow_mut().push(m));
    }
}

/// Polls `f` with a re-entering waker; a panic out of it is recorded and
/// ends the future (`true`: done).
fn poll(f: &mut Fut) -> bool {
    let waker = Waker::from(Arc::new(Reenter));
    match catch_unwind(AssertUnwindSafe(|| {
        f.as_mut().poll(&mut Context::from_waker(&waker))
    })) {
        Ok(p) => p.is_ready(),
        Err(p) => {
            record(p);
            true
        }
    }
}

/// A new future of one of five kinds, each checking its own result.
fn make(w: &mut World) -> Fut {
    let d = &w.d;
    match w.rng.below(5) {
        0 => {
            let n = d.nop();
            Box::pin(async move {
                n.await.unwrap();
                CHECKED.with(|c| c.set(c.get() + 1));
            })
        }
        1 => {
            let len = 1 + w.rng.below(300);
            let r = d.read_at(&w.file, vec![0u8; len], 0);
            Box::pin(async move {
                let (n, buf) = r.await;
                assert_eq!(buf.len(), len, "another future's buffer");
                assert_eq!(n.unwrap(), len);
                assert!(buf.iter().all(|&b| b == 7), "another file's bytes");
                CHECKED.with(|c| c.set(c.get() + 1));
            })
        }
        2 => {
            let o = d.open(Open::new(&w.path, 0, 0).unwrap());
            Box::pin(async move {
                let fd = o.await.unwrap();
                let len = std::fs::File::from(fd).metadata().unwrap().len();
                assert_eq!(len, 300, "another descriptor");
                CHECKED.with(|c| c.set(c.get() + 1));
            })
        }
        3 => {
            let s = d.sleep(Duration::from_micros(w.rng.below(500) as u64));
            Box::pin(async move {
                s.await.unwrap();
                CHECKED.with(|c| c.set(c.get() + 1));
            })
        }
        _ => {
            // Never gets data: cancelled by its timeout, or dropped.
            let len = 1000 + w.rng.below(500);
            let r = d
                .read(&w.pipe, vec![0u8; len])
                .with_timeout(Duration::from_micros(w.rng.below(800) as u64));
            Box::pin(async move {
                let (n, buf) = r.await;
                assert_eq!(buf.len(), len, "another future's buffer");
                assert!(n.is_err(), "the pipe got no bytes");
                CHECKED.with(|c| c.set(c.get() + 1));
            })
        }
    }
}

/// The waker that re-enters: what it does depends on the world's dice.
struct Reenter;

impl Wake for Reenter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let nested = WORLD.with(|world| {
            // Already borrowed: a wake from a poll further up; skip.
            let Ok(mut guard) = world.try_borrow_mut() else {
                return None;
            };
            let w = guard.as_mut()?;
            match w.rng.below(6) {
                0 if !w.live.is_empty() => {
                    let i = w.rng.below(w.live.len());
                    let f = w.live.swap_remove(i);
                    drop(guard);
                    drop(f);
                }
                1 if !w.live.is_empty() => {
                    let i = w.rng.below(w.live.len());
                    let mut f = w.live.swap_remove(i);
                    drop(guard);
                    if !poll(&mut f) {
                        WORLD.with(|world| {
                            if let Some(w) = world.borrow_mut().as_mut() {
                                w.live.push(f);
                            }
                        });
                    }
                }
                2 => {
                    let mut f = make(w);
                    drop(guard);
                    if !poll(&mut f) {
                        WORLD.with(|world| {
                            if let Some(w) = world.borrow_mut().as_mut() {
                                w.live.push(f);
                            }
                        });
                    }
                }
                3 => return Some(w.d.clone()),
                4 => {
                    drop(guard);
                    panic!("{OURS}");
                }
                _ => {}
            }
            None
        });
        // A turn handed out from inside another's hand-out; its panic (if
        // any) comes out of this wake, into the outer hand-out.
        if let Some(d) = nested {
            let _ = d.turn();
        }
    }
}

#[test]
fn wakers_that_reenter_the_driver_get_nobody_anothers_operation() {
    let seed = rng::seed_from_env("RT_REENTRANT_SEED", 0x5eed_4eea_u64);
    // The wakers' own panics (hundreds) are not reported; any other is.
    // (The hook is the process's: this file holds this one test.)
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if message(info.payload()) != OURS {
            report(info);
        }
    }));
    let (path, mut f) = common::temp_file("rt-reentrant");
    f.write_all(&[7u8; 300]).unwrap();
    drop(f);
    let (pr, pw) = common::pipe();
    for round in 0..12u64 {
        let d = Driver::new(16).unwrap();
        WORLD.with(|w| {
            *w.borrow_mut() = Some(World {
                d: d.clone(),
                live: Vec::new(),
                rng: Rng(seed ^ (round + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                path: path.clone(),
                file: SharedFd::new(std::fs::File::open(&path).unwrap()),
                pipe: SharedFd::new(pr.try_clone().unwrap()),
            })
        });
        for _ in 0..40 {
            // New futures, pushed with re-entering wakers.
            for _ in 0..4 {
                let mut f = WORLD.with(|w| make(w.borrow_mut().as_mut().unwrap()));
                if !poll(&mut f) {
                    WORLD.with(|w| w.borrow_mut().as_mut().unwrap().live.push(f));
                }
            }
            // A turn whose hand-out runs the wakers: the first panic of
            // one comes out of it.
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| {
                d.park(Some(Duration::from_micros(300)))
            })) {
                record(p);
            }
            // Poll what is left, one at a time, outside the world's borrow.
            let n = WORLD.with(|w| w.borrow().as_ref().unwrap().live.len());
            for _ in 0..n {
                let f = WORLD.with(|w| w.borrow_mut().as_mut().unwrap().live.pop());
                let Some(mut f) = f else { break };
                if !poll(&mut f) {
                    WORLD.with(|w| w.borrow_mut().as_mut().unwrap().live.insert(0, f));
                }
            }
        }
        // Everything left is dropped, mid-flight or not, and reaped.
        let world = WORLD.with(|w| w.borrow_mut().take()).unwrap();
        drop(world);
        let deadline = Instant::now() + Duration::from_secs(5);
        while d.in_flight() > 0 {
            assert!(Instant::now() < deadline, "{d:?} did not settle");
            if let Err(p) =
                catch_unwind(AssertUnwindSafe(|| d.park(Some(Duration::from_millis(20)))))
            {
                record(p);
            }
        }
        assert_eq!(common::fds_on(&path), 0, "an opened descriptor leaked");
    }
    drop(pw);
    let failures = FAILURES.with(|f| f.borrow().clone());
    if !failures.is_empty() {
        resume_unwind(Box::new(format!("futures failed: {failures:?}")));
    }
    let checked = CHECKED.with(Cell::get);
    assert!(checked > 300, "only {checked} futures got a result");
    std::fs::remove_file(path).unwrap();
}
