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
//! - the runtime attached to its driver (the first one made on it) tells
//!   the driver which task it polls with which waker, around every poll;
//!   the driver then wakes that task's own futures by queuing its index,
//!   which the runtime takes after every turn and treats as a wake of that
//!   task's waker (the same `queued` flag): a task woken either way runs
//!   once, and no wake is lost. No other runtime on the same driver takes
//!   those indices (they are not its tasks). Indices at and above [`MAIN`]
//!   are the `block_on` futures, one per nesting depth;
//! - an enter error that the driver's turn does not retry itself ends
//!   `block_on` with a panic that names it, never a loop that enters
//!   again: the loop looks at what each of its turns returns (and only
//!   its own: an error the program's own `Driver::turn` got is the
//!   program's);
//! - a task's handle learns however the task ends, and wakes whoever
//!   awaits it: its output, or, dropped unfinished (`Settle`'s drop), a
//!   panic out of its poll or its runtime's drop;
//! - dropping the runtime drops every task's future (cancelling their
//!   operations) before its handle on the driver, so the ring then reaps
//!   them in its own drop.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use rustix::event::{eventfd, EventfdFlags};

use super::driver::{Current, Driver};
use super::submit::{Outcome, Submit};
use crate::owned::{op::Read, SharedFd};
use crate::{Errno, SubmitError};

/// The index of the outermost `block_on`'s own future in wake-ups; a
/// `block_on` nested in a task or future of the same runtime is `MAIN + 1`,
/// and so on. Task indices stay below.
const MAIN: usize = usize::MAX / 2;

/// The next runtime's id (its name for the driver's fast path).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// What wakers share with the runtime.
struct Shared {
    queue: Mutex<Vec<usize>>,
    /// Set (under the lock) whenever `queue` gets an index, cleared by the
    /// runtime only just before it takes the whole queue (under the lock):
    /// so it is set whenever the queue holds an index, and the runtime
    /// looks at it instead of taking the lock. A stale `false` only delays
    /// an index to the next look; the look before the runtime sleeps is
    /// made after it sets `parked` (see `TaskWake::wake_by_ref`).
    queued_any: AtomicBool,
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
        {
            let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push(self.index);
            // Release: pairs with the runtime's Acquire swap in `take_ready`
            // (which then takes the queue under the lock). SeqCst, with the
            // load of `parked` below, against the runtime's SeqCst store of
            // `parked` and then load of this flag before it sleeps: in the
            // single order of those four, either the runtime sees this flag
            // set (and does not sleep) or we see it parked (and wake it).
            self.shared.queued_any.store(true, Ordering::SeqCst);
        }
        if self.shared.parked.load(Ordering::SeqCst) {
            let _ = rustix::io::write(&self.shared.eventfd, &1u64.to_ne_bytes());
        }
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    waker: Waker,
}

/// The read of the runtime's eventfd.
type WakeupRead = Submit<Read<Vec<u8>>, fn(Outcome<Read<Vec<u8>>>)>;

struct Exec {
    /// This runtime's name for the driver's fast path.
    id: usize,
    /// Whether the driver's fast path is this runtime's (the first runtime
    /// made on a driver; for good: a later one does not take it over when
    /// the first drops). Only then are the driver's woken indices this
    /// runtime's tasks; another runtime on the same driver does not take
    /// them.
    attached: bool,
    tasks: RefCell<Vec<Option<Task>>>,
    /// Each live task's wake-up flag, by index, also while the task is out
    /// being polled.
    wakes: RefCell<Vec<Option<Arc<TaskWake>>>>,
    /// The `block_on` futures' wake-up flags, by nesting depth.
    mains: RefCell<Vec<Arc<TaskWake>>>,
    /// Tasks the driver woke, taken from it (kept for its capacity).
    woken: RefCell<Vec<usize>>,
    /// Tasks woken while out being polled further up the stack (a
    /// `block_on` nested in them ran the wake): queued again when put back.
    stranded: RefCell<Vec<usize>>,
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
    /// A runtime on a new ring with `entries` submission slots. The ring
    /// is set up for one thread that waits in it: `single_issuer`,
    /// `defer_taskrun` (completions are posted when the runtime enters to
    /// wait, in one batch, not by interrupting the thread) and
    /// `taskrun_flag` (so a turn that does not wait still sees them).
    /// A kernel older than 6.1 refuses `defer_taskrun`; the runtime then
    /// runs on a ring with the default setup. The ring's fd is registered
    /// with the kernel for this thread (`IORING_REGISTER_RING_FDS`, Linux
    /// 5.18; skipped if refused), so that each wait skips the fd lookup;
    /// the ring's drop unregisters it.
    /// [`with_driver`](Self::with_driver) takes a driver on any ring.
    pub fn new(entries: u32) -> io::Result<Self> {
        let deferred = crate::IoUring::builder()
            .single_issuer()
            .defer_taskrun()
            .taskrun_flag()
            .build(entries);
        let raw = match deferred {
            Ok(raw) => raw,
            // Whatever made that fail, the plain ring's error (if any) is
            // the one to report.
            Err(_) => crate::IoUring::new(entries)?,
        };
        Self::with_driver(Driver::from_registered_ring(raw))
    }

    /// A runtime around an existing driver.
    pub fn with_driver(driver: Driver) -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC)?;
        let eventfd = SharedFd::try_clone_from(&fd)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let attached = driver.attach(id);
        Ok(Runtime {
            exec: Rc::new(Exec {
                id,
                attached,
                tasks: RefCell::new(Vec::new()),
                wakes: RefCell::new(Vec::new()),
                mains: RefCell::new(Vec::new()),
                woken: RefCell::new(Vec::new()),
                stranded: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                shared: Arc::new(Shared {
                    queue: Mutex::new(Vec::new()),
                    queued_any: AtomicBool::new(false),
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
    ///
    /// A task that panics unwinds out of the `block_on` that ran it; the
    /// runtime keeps working, and awaiting the task's handle then panics
    /// (see [`JoinHandle`]).
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn(&self.exec, future)
    }
}

fn spawn<F>(exec: &Rc<Exec>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let slot = Rc::new(RefCell::new(JoinSlot::Running(None)));
    let settle = Settle {
        slot: slot.clone(),
        exec: Rc::downgrade(exec),
    };
    let future = Box::pin(async move {
        // `settle` is moved in (`async move`): dropped with this future
        // however it ends.
        let out = future.await;
        settle.end(JoinSlot::Done(out));
    });
    let index = match exec.free.borrow_mut().pop() {
        Some(i) => i,
        None => {
            let mut tasks = exec.tasks.borrow_mut();
            tasks.push(None);
            exec.wakes.borrow_mut().push(None);
            tasks.len() - 1
        }
    };
    assert!(index < MAIN, "fewer than 2^62 tasks");
    let wake = Arc::new(TaskWake {
        index,
        queued: AtomicBool::new(false),
        shared: exec.shared.clone(),
    });
    let waker = Waker::from(wake.clone());
    exec.wakes.borrow_mut()[index] = Some(wake);
    exec.tasks.borrow_mut()[index] = Some(Task {
        future,
        waker: waker.clone(),
    });
    waker.wake();
    JoinHandle { slot }
}

/// Settles a task's [`JoinSlot`] with its output; dropped before that,
/// with how the task ended unfinished. Wakes whoever awaits the handle.
struct Settle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
    /// The task's runtime: gone while it drops its tasks.
    exec: std::rc::Weak<Exec>,
}

impl<T> Settle<T> {
    fn end(&self, end: JoinSlot<T>) {
        let prev = std::mem::replace(&mut *self.slot.borrow_mut(), end);
        if let JoinSlot::Running(Some(w)) = prev {
            w.wake();
        }
    }
}

impl<T> Drop for Settle<T> {
    fn drop(&mut self) {
        let unfinished = self
            .slot
            .try_borrow()
            .is_ok_and(|s| matches!(*s, JoinSlot::Running(_)));
        if !unfinished {
            return;
        }
        // A task's future is dropped unfinished only by its runtime's drop
        // (then the runtime cannot be reached any more), or by the unwind
        // of a panic out of its poll (the future is out of the runtime's
        // table while polled, so the unwind drops it).
        if std::thread::panicking() && self.exec.strong_count() > 0 {
            self.end(JoinSlot::Panicked);
        } else {
            self.end(JoinSlot::Dropped);
        }
    }
}

impl Runtime {
    /// Runs `future` to completion on this thread, running spawned tasks
    /// and driving the ring meanwhile: it waits in the ring
    /// (`submit_and_wait`) only when no task is runnable.
    ///
    /// # Panics
    ///
    /// If `future` panics, or a task it runs does: the panic unwinds out
    /// of `block_on`, and the runtime keeps working (its other tasks run at
    /// the next `block_on`;
    /// `a_panicked_tasks_handle_panics_when_awaited_instead_of_hanging` in
    /// `ring-core/tests/rt_failures.rs`).
    ///
    /// If entering the ring fails with an error that entering again cannot
    /// cure (rather than spin on it forever): the message names the errno
    /// and what it likely means. The usual one is `EEXIST`, a
    /// single-issuer ring (as [`Runtime::new`] builds) entered from another
    /// thread than the one that built it: [`IoUring`](crate::IoUring) is
    /// `Send`, but such a ring moved to another thread cannot be entered
    /// there
    /// (`a_single_issuer_ring_moved_to_another_thread_panics_instead_of_spinning`
    /// in `ring-core/tests/rt_failures.rs`). An interrupted wait
    /// (`EINTR`), a kernel short of room for completions or of memory
    /// (`EAGAIN`, `EBUSY`) and a wait that timed out are no errors of
    /// [`Driver::turn`]: they are retried.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let main = Arc::new(TaskWake {
            index: MAIN + self.exec.mains.borrow().len(),
            queued: AtomicBool::new(true),
            shared: self.exec.shared.clone(),
        });
        let main_waker = Waker::from(main.clone());
        self.exec.mains.borrow_mut().push(main.clone());
        // However `block_on` ends (a panic too): gives back the tasks it
        // took as woken and did not run (they stay queued, for the next
        // `block_on` or an outer one), pops this depth's flag, and the
        // outermost one withdraws the eventfd read (its cancel is
        // submitted, and reaped if done), leaving nothing of its own in
        // flight.
        struct Depth<'a> {
            rt: &'a Runtime,
            ready: Vec<usize>,
        }
        impl Drop for Depth<'_> {
            fn drop(&mut self) {
                let exec = &self.rt.exec;
                self.rt.requeue(&mut self.ready);
                let outermost = match exec.mains.try_borrow_mut() {
                    Ok(mut mains) => {
                        mains.pop();
                        mains.is_empty()
                    }
                    Err(_) => false,
                };
                if !outermost {
                    return;
                }
                let read = exec.wakeup.try_borrow_mut().ok().and_then(|mut w| w.take());
                if read.is_some() {
                    drop(read);
                    if !std::thread::panicking() {
                        let _ = self.rt.driver.turn();
                    }
                }
            }
        }
        let mut depth = Depth {
            rt: self,
            ready: Vec::new(),
        };
        let ready = &mut depth.ready;
        loop {
            if main.queued.swap(false, Ordering::AcqRel) {
                let polled = self.polling(main.index, &main_waker, |cx| future.as_mut().poll(cx));
                if let Poll::Ready(out) = polled {
                    return out;
                }
            }
            self.take_ready(ready);
            // In the order woken; popped one at a time, so that a panic
            // leaves the rest to the guard.
            ready.reverse();
            while let Some(index) = ready.pop() {
                self.run_task(index);
            }
            let runnable = main.queued.load(Ordering::Acquire)
                || self.exec.shared.queued_any.load(Ordering::Acquire)
                || self.has_woken();
            let turned = if runnable {
                self.driver.turn()
            } else {
                self.park()
            };
            if let Err(SubmitError::Os(errno)) = turned {
                enter_failed(errno);
            }
            // Flags `block_on` futures the turn woke, so they are polled
            // next (their tasks are run after them).
            self.take_ready(ready);
        }
    }

    /// Moves the tasks woken since the last call into `ready`: those woken
    /// through their wakers (the shared queue) and those the driver woke
    /// by index; a `block_on` future is flagged, not listed.
    #[inline]
    fn take_ready(&self, ready: &mut Vec<usize>) {
        // Half of the loop's looks find nothing: they cost two loads here,
        // not a call that saves and restores registers. A `false` loaded
        // just before a waker sets the flag is as a swap's would be: the
        // index waits for the next look.
        if self.exec.shared.queued_any.load(Ordering::Relaxed) || self.has_woken() {
            self.take_woken_and_queued(ready);
        }
    }

    /// Whether the driver woke tasks of this runtime by index: only the
    /// attached runtime's are (see `Exec::attached`). The flag second: the
    /// list is usually empty.
    #[inline]
    fn has_woken(&self) -> bool {
        self.driver.has_woken() && self.exec.attached
    }

    /// [`take_ready`](Self::take_ready) when something may be there.
    #[inline(never)]
    fn take_woken_and_queued(&self, ready: &mut Vec<usize>) {
        // A load first: the swap is a locked instruction, paid on every
        // look, and the flag is usually clear.
        let shared = &self.exec.shared;
        if shared.queued_any.load(Ordering::Relaxed)
            && shared.queued_any.swap(false, Ordering::Acquire)
        {
            ready.append(&mut self.lock_queue());
        }
        if !self.exec.attached {
            return;
        }
        let mut woken = self.exec.woken.borrow_mut();
        self.driver.take_woken(&mut woken);
        if woken.is_empty() {
            return;
        }
        let wakes = self.exec.wakes.borrow();
        let mains = self.exec.mains.borrow();
        for index in woken.drain(..) {
            match index.checked_sub(MAIN) {
                // A `block_on` future: only flagged, for its loop (on this
                // thread) to poll. A store, not a swap: the old value is
                // not needed, and a swap is a locked instruction, paid on
                // every wait that a completion of that future ends.
                Some(depth) => {
                    if let Some(w) = mains.get(depth) {
                        w.queued.store(true, Ordering::Release);
                    }
                }
                None => {
                    // As `TaskWake::wake_by_ref`: queued once per wake-up.
                    if let Some(w) = wakes.get(index).and_then(Option::as_ref) {
                        if !w.queued.swap(true, Ordering::AcqRel) {
                            ready.push(index);
                        }
                    }
                }
            }
        }
    }

    /// Puts woken tasks back in the shared queue (they stay `queued`).
    fn requeue(&self, indices: &mut Vec<usize>) {
        if indices.is_empty() {
            return;
        }
        let mut queue = self.lock_queue();
        queue.append(indices);
        self.exec.shared.queued_any.store(true, Ordering::Release);
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.exec
            .shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Polls with `waker`, telling the driver that task `index` is being
    /// polled (its fast path) until the poll returns or unwinds.
    fn polling<R>(
        &self,
        index: usize,
        waker: &Waker,
        poll: impl FnOnce(&mut Context<'_>) -> R,
    ) -> R {
        struct Restore<'a> {
            rt: &'a Runtime,
            prev: Result<Option<Current>, ()>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                if let Ok(prev) = self.prev {
                    let _ = self.rt.driver.set_current(self.rt.exec.id, prev);
                }
            }
        }
        let prev = self
            .driver
            .set_current(self.exec.id, Some(Current::new(index, waker)));
        let _restore = Restore { rt: self, prev };
        poll(&mut Context::from_waker(waker))
    }

    fn run_task(&self, index: usize) {
        if index >= MAIN {
            return; // A `block_on` future: its flag is set.
        }
        let taken = self
            .exec
            .tasks
            .borrow_mut()
            .get_mut(index)
            .and_then(Option::take);
        let Some(mut task) = taken else {
            let live = self
                .exec
                .wakes
                .borrow()
                .get(index)
                .is_some_and(Option::is_some);
            if live {
                // Out being polled by an outer frame: its wake must not be
                // lost (it stays `queued`, so no later wake queues it).
                self.exec.stranded.borrow_mut().push(index);
            }
            return;
        };
        if let Some(w) = self.exec.wakes.borrow().get(index).and_then(Option::as_ref) {
            w.queued.store(false, Ordering::Release);
        }
        // A poll that panics drops the task as the panic unwinds: its index
        // is then retired here, as a finished task's is; otherwise it would
        // never be reused, and a later wake of its waker would find it live
        // and out being polled, and strand it for good.
        struct Retire<'a> {
            rt: &'a Runtime,
            index: usize,
        }
        impl Drop for Retire<'_> {
            fn drop(&mut self) {
                self.rt.retire(self.index);
                // A wake-up it got while out (a `block_on` nested in its
                // poll listed it as stranded) dies with it: left listed, it
                // would poll the next task given the index once more.
                if let Ok(mut stranded) = self.rt.exec.stranded.try_borrow_mut() {
                    stranded.retain(|&i| i != self.index);
                }
            }
        }
        let unwinding = Retire { rt: self, index };
        let done = self
            .polling(index, &task.waker, |cx| task.future.as_mut().poll(cx))
            .is_ready();
        std::mem::forget(unwinding);
        if done {
            drop(task);
            self.retire(index);
        } else {
            self.exec.tasks.borrow_mut()[index] = Some(task);
        }
        let mut stranded = self.exec.stranded.borrow_mut();
        if let Some(at) = stranded.iter().position(|&i| i == index) {
            stranded.swap_remove(at);
            if !done {
                self.requeue(&mut vec![index]);
            }
        }
    }

    /// Frees the index of a task that finished or panicked (its future
    /// is gone): its wake-up flag is dropped and the index reused.
    fn retire(&self, index: usize) {
        let (Ok(mut wakes), Ok(mut free)) = (
            self.exec.wakes.try_borrow_mut(),
            self.exec.free.try_borrow_mut(),
        ) else {
            return; // Not reached: neither is borrowed across a poll.
        };
        let wake = wakes.get_mut(index).and_then(Option::take);
        if wake.is_some() {
            free.push(index);
        }
        drop((wakes, free));
        drop(wake);
    }

    /// Waits in the ring for a completion or a wake-up from another thread;
    /// returns what the turn did (nothing if a wake-up was already there).
    fn park(&self) -> Result<usize, SubmitError> {
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
                return Ok(0); // A wake-up from another thread: look at the queue.
            }
        }
        shared.parked.store(true, Ordering::SeqCst);
        // SeqCst: see `TaskWake::wake_by_ref`. The flag rather than the
        // queue under its lock: two locked instructions fewer per wait.
        // An error is handed back for `block_on`.
        let turned = if shared.queued_any.load(Ordering::SeqCst) {
            self.driver.turn()
        } else {
            self.driver.park(None)
        };
        // Not SeqCst (a locked instruction on every wait): nothing is
        // ordered against this store. A waker that still reads `true`
        // writes the eventfd for nothing (its read completes and is pushed
        // again at the next park); the next park's SeqCst store and load
        // are what keep a wake from being lost.
        shared.parked.store(false, Ordering::Release);
        turned
    }
}

/// Panics for an error of `io_uring_enter` that the driver's turn did not
/// retry itself (it retries an interrupted wait, `EINTR`, and a kernel
/// short of room or memory, `EAGAIN`/`EBUSY`; a timed-out wait is no
/// error): entering again would fail again, forever, so `block_on`
/// reports it rather than spin. Names the errno and what it likely means.
#[cold]
#[inline(never)]
fn enter_failed(errno: Errno) -> ! {
    let meaning = match errno {
        Errno::EXIST => {
            "EEXIST: the ring is single-issuer and this is not the thread it belongs to \
             (the one that built it, or enabled it): build it on the thread that runs it"
        }
        Errno::BADFD => "EBADFD: the ring was built disabled (r_disabled) and has not been enabled",
        Errno::OWNERDEAD => "EOWNERDEAD: the ring's SQPOLL thread has died",
        Errno::NXIO => "ENXIO: the ring is being torn down",
        Errno::NOMEM => "ENOMEM: the kernel is out of memory",
        Errno::FAULT => "EFAULT: the kernel cannot read the ring's memory",
        Errno::INVAL => "EINVAL: the kernel refuses the ring's state",
        _ => "an error entering again would not cure",
    };
    let e = SubmitError::Os(errno);
    panic!(
        "Runtime::block_on cannot drive its ring: {e} ({meaning}); \
         every enter would fail the same way"
    )
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

impl Drop for Runtime {
    fn drop(&mut self) {
        // Before the tasks drop (with `exec`): the driver forgets this
        // runtime's tasks, so it queues no index for them from now on.
        self.driver.detach(self.exec.id);
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
    /// the future is dropped unpolled, and awaiting the handle panics (the
    /// task was dropped before it completed).
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match self.exec.upgrade() {
            Some(exec) => spawn(&exec, future),
            None => JoinHandle {
                slot: Rc::new(RefCell::new(JoinSlot::Dropped)),
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
    /// The task panicked.
    Panicked,
    /// The task was dropped before it completed.
    Dropped,
}

/// The output of a task spawned with [`Runtime::spawn_local`], as a future
/// (dropping it detaches the task).
///
/// # Panics
///
/// Awaiting it panics if the task cannot give its output, where
/// `std::thread::JoinHandle::join` would return `Err` (a task's output has
/// no error of its own to carry this):
/// - "the task panicked" if the task panicked (its panic unwound out of
///   the `block_on` that ran it);
/// - "the task was dropped before it completed" if the task was dropped
///   unfinished: its runtime was dropped, or it was spawned through a
///   [`Handle`] whose runtime was gone.
///
/// Either way whoever awaits the handle is woken, so it panics rather
/// than waits forever
/// (`a_panicked_tasks_handle_panics_when_awaited_instead_of_hanging`,
/// `a_task_dropped_with_its_runtime_makes_its_handle_panic_instead_of_hanging`
/// in `ring-core/tests/rt_failures.rs`).
pub struct JoinHandle<T> {
    slot: Rc<RefCell<JoinSlot<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match &mut *slot {
            JoinSlot::Running(w) => {
                let old = w.replace(cx.waker().clone());
                drop(slot);
                drop(old);
                Poll::Pending
            }
            JoinSlot::Done(_) => match std::mem::replace(&mut *slot, JoinSlot::Taken) {
                JoinSlot::Done(out) => Poll::Ready(out),
                _ => unreachable!("matched Done"),
            },
            JoinSlot::Taken => panic!("JoinHandle polled after it returned the output"),
            JoinSlot::Panicked => {
                panic!("the task panicked (its panic unwound out of the block_on that ran it)")
            }
            JoinSlot::Dropped => {
                panic!("the task was dropped before it completed (its runtime is gone)")
            }
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

// In a child module, so that they can look at the runtime's private lists.
#[cfg(test)]
#[path = "tasks.rs"]
mod tasks;
