//! Handler calls off the I/O threads: a bounded pool of threads that run
//! handlers which may block (C and Python handlers), and hand the results
//! back to the worker that asked.
//!
//! A worker submits a [`Job`] and goes on serving. A pool thread runs the
//! handler, appends the result to that worker's result list and writes the
//! worker's eventfd, whose read is always in flight on the worker's ring:
//! the result comes back as a completion like any other I/O. Each worker
//! keeps at most [`Calls::per_worker`] jobs outstanding (back-pressure: a
//! connection whose call does not fit waits in the worker, and stops
//! reading once a request head's worth of input has queued behind it).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::handler::HandlerError;

/// One call for a pool thread: compute `n` for connection `idx`
/// (generation `gen`) of worker `worker`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job {
    pub(crate) worker: usize,
    pub(crate) idx: u32,
    pub(crate) gen: u32,
    pub(crate) n: i64,
}

/// A finished call, for the worker that submitted it.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) idx: u32,
    pub(crate) gen: u32,
    pub(crate) result: Result<i64, HandlerError>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// The job queue and the per-worker result lists.
pub(crate) struct Calls {
    queue: Mutex<Queue>,
    ready: Condvar,
    pub(crate) results: Vec<Mutex<Vec<Done>>>,
    pub(crate) threads: usize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Calls {
    /// Queues and result lists for `workers` workers served by `threads`
    /// pool threads.
    pub(crate) fn new(workers: usize, threads: usize) -> Self {
        Calls {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            results: (0..workers).map(|_| Mutex::new(Vec::new())).collect(),
            threads,
        }
    }

    /// How many jobs one worker may have outstanding.
    pub(crate) fn per_worker(&self) -> usize {
        self.threads.max(1)
    }

    /// Queues a job (never blocks: the worker bounds its own jobs).
    pub(crate) fn submit(&self, job: Job) {
        lock(&self.queue).jobs.push_back(job);
        self.ready.notify_one();
    }

    /// Moves worker `worker`'s finished calls into `into`.
    pub(crate) fn take_results(&self, worker: usize, into: &mut Vec<Done>) {
        if let Some(r) = self.results.get(worker) {
            into.append(&mut lock(r));
        }
    }

    /// Stops the pool threads once the queue is empty.
    pub(crate) fn close(&self) {
        lock(&self.queue).closed = true;
        self.ready.notify_all();
    }

    pub(crate) fn next_job(&self) -> Option<Job> {
        let mut q = lock(&self.queue);
        loop {
            if let Some(job) = q.jobs.pop_front() {
                return Some(job);
            }
            if q.closed {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }
}
