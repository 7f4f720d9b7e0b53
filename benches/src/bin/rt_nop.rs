//! A fixed amount of NOP work through ring-core's futures (`rt`) or the
//! owned tier without futures, for instruction counting with callgrind:
//! `rt_nop <impl> <batch> <rounds>`; impls: `rt`, `ring-core-owned`,
//! `ring-core-owned-dyn`, and those two with `+runtime-setup` (the ring
//! set up as the runtime's).
//!
//! `rt` awaits `batch` concurrent NOP futures per round in one task on the
//! built-in runtime (pushed at their first poll, submitted when the task
//! waits); the owned rings push `batch` NOPs, submit and reap.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ring_core::rt::{Runtime, Submit, Unit};

/// Awaits every future of a batch; counts the successful ones.
struct JoinAll<'a> {
    futs: &'a mut Vec<Submit<ring_core::owned::op::Nop, Unit>>,
    ok: u32,
}

impl Future for JoinAll<'_> {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = &mut *self;
        let mut i = 0;
        while i < this.futs.len() {
            match Pin::new(&mut this.futs[i]).poll(cx) {
                Poll::Ready(r) => {
                    this.ok += u32::from(r.is_ok());
                    drop(this.futs.swap_remove(i));
                }
                Poll::Pending => i += 1,
            }
        }
        if this.futs.is_empty() {
            Poll::Ready(this.ok)
        } else {
            Poll::Pending
        }
    }
}

/// `rounds` rounds of `batch` concurrent NOP futures.
#[inline(never)]
pub fn rt_rounds(rt: &Runtime, batch: u32, rounds: u64) {
    let d = rt.driver().clone();
    rt.block_on(async move {
        let mut futs = Vec::with_capacity(batch as usize);
        for _ in 0..rounds {
            futs.extend((0..batch).map(|_| d.nop()));
            let ok = JoinAll {
                futs: &mut futs,
                ok: 0,
            }
            .await;
            assert_eq!(ok, batch);
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        eprintln!("usage: rt_nop <rt|ring-core-owned[-dyn][+runtime-setup]> <batch> <rounds>");
        std::process::exit(2);
    }
    let batch: u32 = args[1].parse().expect("batch");
    let rounds: u64 = args[2].parse().expect("rounds");
    let entries = batch.next_power_of_two();
    if args[0] == "rt" {
        let rt = Runtime::new(entries).expect("runtime");
        rt_rounds(&rt, batch, rounds);
        return;
    }
    let Some(mut ring) = benches::rings::make(&args[0], entries) else {
        eprintln!("{} is not available in this build", args[0]);
        std::process::exit(3);
    };
    ring.nop_rounds(batch, rounds);
}
