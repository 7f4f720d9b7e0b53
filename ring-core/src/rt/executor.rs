//! A minimal local executor around a [`Driver`]: `block_on` and
//! `spawn_local` on one thread, waiting in the ring only when no task is
//! runnable.
//!
//! Invariants owned here:
//! - a task's future lives in `tasks` until it completes or the runtime's
//!   last handle drops; it is taken out while polled (so it can spawn);
//! - wakers are `Send + Sync` (std's contract): they push the task's index
//!   into a shared queue under a mutex, once per wake-up (`queued`), and
//!   write the runtime's eventfd if the runtime sleeps in the ring, which
//!   keeps a read of that eventfd in flight while it does;
//! - dropping the runtime drops every task's future (cancelling their
//!   operations) before its handle on the driver, so the ring then reaps
//!   them in its own drop.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use rustix::event::{eventfd, EventfdFlags};

use super::driver::Driver;
use super::submit::Submit;
use crate::owned::{op::Read, SharedFd};

/// The index of `block_on`'s own future in wake-ups.
const MAIN: usize = usize::MAX;

/// What wakers share with the runtime.
struct Shared {
    queue: Mutex<Vec<usize>>,
    /// Set while the runtime waits in the ring.
    parked: AtomicBool,
    /// Written to wake the runtime from another thread.
    eventfd: OwnedFd,
}

struct TaskWake {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // AcqRel: the runtime's swap to false before polling pairs with
        // this, so a wake during the poll queues the task again.
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.index);
        // SeqCst, paired with the runtime's SeqCst store of `parked` and its
        // re-check of the queue: either it sees our push or we see it parked.
        if self.shared.parked.load(Ordering::SeqCst) {
            let _ = rustix::io::write(&self.shared.eventfd, &1u64.to_ne_bytes());
        }
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    wake: Arc<TaskWake>,
    waker: Waker,
}

/// The read of the runtime's eventfd.
type WakeupRead = Submit<Read<Vec<u8>>, ()>;

struct Exec {
    tasks: RefCell<Vec<Option<Task>>>,
    free: RefCell<Vec<usize>>,
    shared: Arc<Shared>,
    /// The eventfd's read, in flight while the runtime is parked.
    wakeup: RefCell<Option<WakeupRead>>,
    eventfd: SharedFd,
}

/// A single-threaded runtime: a [`Driver`] and a local executor. Tasks
/// spawn more tasks through a [`Handle`] (which does not keep the runtime
/// alive, so a task holding one is still dropped with the runtime).
///
/// ```
/// use ring_core::rt::Runtime;
/// # fn main() -> std::io::Result<()> {
/// let rt = Runtime::new(64)?;
/// let driver = rt.driver().clone();
/// let task = rt.spawn_local(async move { driver.nop().await });
/// rt.block_on(task)?;
/// # Ok(()) }
/// ```
pub struct Runtime {
    exec: Rc<Exec>,
    // After `exec`: tasks drop (cancelling their operations) before this
    // handle on the ring does.
    driver: Driver,
}

impl Runtime {
    /// A runtime on a new ring with `entries` submission slots.
    pub fn new(entries: u32) -> io::Result<Self> {
        Self::with_driver(Driver::new(entries)?)
    }

    /// A runtime around an existing driver.
    pub fn with_driver(driver: Driver) -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC)?;
        let eventfd = SharedFd::try_clone_from(&fd)?;
        Ok(Runtime {
            exec: Rc::new(Exec {
                tasks: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                shared: Arc::new(Shared {
                    queue: Mutex::new(Vec::new()),
                    parked: AtomicBool::new(false),
                    eventfd: fd,
                }),
                wakeup: RefCell::new(None),
                eventfd,
            }),
            driver,
        })
    }

    /// The driver, to await operations.
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// A handle for tasks to spawn more tasks.
    pub fn handle(&self) -> Handle {
        Handle {
            exec: Rc::downgrade(&self.exec),
            driver: self.driver.clone(),
        }
    }

    /// Spawns a task on this thread; it runs while [`block_on`](Self::block_on)
    /// runs. The handle is a future of its output; dropping the handle does
    /// not stop the task; dropping the runtime does (its operations are
    /// cancelled).
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn(&self.exec, future)
    }
}

fn spawn<F>(exec: &Exec, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let slot = Rc::new(RefCell::new(JoinSlot::Running(None)));
    let done = slot.clone();
    let future = Box::pin(async move {
        let out = future.await;
        let prev = std::mem::replace(&mut *done.borrow_mut(), JoinSlot::Done(out));
        if let JoinSlot::Running(Some(w)) = prev {
            w.wake();
        }
    });
    let index = match exec.free.borrow_mut().pop() {
        Some(i) => i,
        None => {
            let mut tasks = exec.tasks.borrow_mut();
            tasks.push(None);
            tasks.len() - 1
        }
    };
    let wake = Arc::new(TaskWake {
        index,
        queued: AtomicBool::new(false),
        shared: exec.shared.clone(),
    });
    let waker = Waker::from(wake.clone());
    exec.tasks.borrow_mut()[index] = Some(Task {
        future,
        wake,
        waker: waker.clone(),
    });
    waker.wake();
    JoinHandle { slot }
}

impl Runtime {
    /// Runs `future` to completion on this thread, running spawned tasks
    /// and driving the ring meanwhile: it waits in the ring
    /// (`submit_and_wait`) only when no task is runnable.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let main = Arc::new(TaskWake {
            index: MAIN,
            queued: AtomicBool::new(true),
            shared: self.exec.shared.clone(),
        });
        let main_waker = Waker::from(main.clone());
        let mut ready = Vec::new();
        loop {
            if main.queued.swap(false, Ordering::AcqRel) {
                if let Poll::Ready(out) =
                    future.as_mut().poll(&mut Context::from_waker(&main_waker))
                {
                    return out;
                }
            }
            std::mem::swap(&mut ready, &mut *self.lock_queue());
            for index in ready.drain(..) {
                if index != MAIN {
                    self.run_task(index);
                }
            }
            if main.queued.load(Ordering::Acquire) || !self.lock_queue().is_empty() {
                let _ = self.driver.turn();
            } else {
                self.park();
            }
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.exec
            .shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn run_task(&self, index: usize) {
        let taken = self
            .exec
            .tasks
            .borrow_mut()
            .get_mut(index)
            .and_then(Option::take);
        let Some(mut task) = taken else { return };
        task.wake.queued.store(false, Ordering::Release);
        let done = task
            .future
            .as_mut()
            .poll(&mut Context::from_waker(&task.waker))
            .is_ready();
        if done {
            drop(task);
            self.exec.free.borrow_mut().push(index);
        } else {
            self.exec.tasks.borrow_mut()[index] = Some(task);
        }
    }

    /// Waits in the ring for a completion or a wake-up from another thread.
    fn park(&self) {
        let shared = &self.exec.shared;
        {
            let mut wakeup = self.exec.wakeup.borrow_mut();
            let read = wakeup.get_or_insert_with(|| {
                self.driver
                    .submit_map(Read::new(&self.exec.eventfd, vec![0u8; 8]), drop)
            });
            // Pushes the read (first poll) or finds it done.
            let noop = Waker::noop();
            if Pin::new(read)
                .poll(&mut Context::from_waker(noop))
                .is_ready()
            {
                *wakeup = None;
                return; // A wake-up from another thread: look at the queue.
            }
        }
        shared.parked.store(true, Ordering::SeqCst);
        if self.lock_queue().is_empty() {
            let _ = self.driver.park(None);
        } else {
            let _ = self.driver.turn();
        }
        shared.parked.store(false, Ordering::SeqCst);
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        // Drop the tasks (and with them their futures, which cancel their
        // operations) one at a time, outside the borrow: a future's drop
        // may drop a `JoinHandle` or a `Runtime` clone.
        loop {
            let task = self.tasks.borrow_mut().iter_mut().find_map(Option::take);
            match task {
                Some(t) => drop(t),
                None => break,
            }
        }
        let wakeup = self.wakeup.borrow_mut().take();
        drop(wakeup);
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

/// A handle on a [`Runtime`] for its tasks: spawns more tasks, reaches
/// the driver. It does not keep the runtime's tasks alive.
#[derive(Clone)]
pub struct Handle {
    exec: std::rc::Weak<Exec>,
    driver: Driver,
}

impl Handle {
    /// The driver, to await operations.
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Spawns a task, as [`Runtime::spawn_local`]. If the runtime is gone
    /// the future is dropped unpolled and the handle never resolves.
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match self.exec.upgrade() {
            Some(exec) => spawn(&exec, future),
            None => JoinHandle {
                slot: Rc::new(RefCell::new(JoinSlot::Running(None))),
            },
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

enum JoinSlot<T> {
    Running(Option<Waker>),
    Done(T),
    Taken,
}

/// The output of a task spawned with [`Runtime::spawn_local`], as a future
/// (dropping it detaches the task).
pub struct JoinHandle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match std::mem::replace(&mut *slot, JoinSlot::Taken) {
            JoinSlot::Done(out) => Poll::Ready(out),
            JoinSlot::Running(_) => {
                *slot = JoinSlot::Running(Some(cx.waker().clone()));
                Poll::Pending
            }
            JoinSlot::Taken => panic!("JoinHandle polled after it returned the output"),
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}
