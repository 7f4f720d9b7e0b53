//! The handler pool's threads: each takes [`Job`](crate::calls::Job)s from
//! the queue in `calls.rs`, runs the handler, and hands the result back to
//! the worker that asked by writing its eventfd (from `shared.rs`). Apart
//! from the queue so that the queue and the shared state need not know
//! each other.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::calls::{lock, Done};
use crate::handler::Handler;
use crate::shared::Shared;

/// Starts the pool threads of `shared.calls`.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    handler: &Arc<dyn Handler>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let Some(calls) = &shared.calls else {
        return Ok(Vec::new());
    };
    let mut threads = Vec::with_capacity(calls.threads);
    for i in 0..calls.threads {
        let shared = shared.clone();
        let handler = handler.clone();
        let t = std::thread::Builder::new()
            .name(format!("http-demo-call-{i}"))
            .spawn(move || run(&shared, &*handler));
        match t {
            Ok(t) => threads.push(t),
            Err(e) => {
                calls.close();
                for t in threads {
                    let _ = t.join();
                }
                return Err(e);
            }
        }
    }
    Ok(threads)
}

fn run(shared: &Shared, handler: &dyn Handler) {
    let Some(calls) = &shared.calls else {
        return;
    };
    while let Some(job) = calls.next_job() {
        let result = crate::conn::call(handler, job.n);
        if let Some(r) = calls.results.get(job.worker) {
            lock(r).push(Done {
                idx: job.idx,
                gen: job.gen,
                result,
            });
            if let Some(fd) = shared.wakers.get(job.worker) {
                let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
            }
        }
    }
}
