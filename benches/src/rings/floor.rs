//! A **floor sketch, not a product**: the least a table of in-flight
//! operations can execute while keeping the safe tier's guarantees, written
//! directly on the raw tier to measure that floor (issue #18's instruction
//! goal; docs/benchmarks.md, "The floor sketch").
//!
//! What it keeps, as `owned::Ring` does: each operation is stored in a slot
//! from its push until its final completion; a completion's `user_data` is
//! a token (slot index, slot generation; never 0, bit 63 never set) and
//! frees a slot only if the index is in range, the generation matches and
//! the slot holds an operation; a completion with `MORE` leaves the
//! operation in place; the final one hands it back by value and puts the
//! slot on the free list with the next generation.
//!
//! What it leaves out, all of which the safe tier needs and this benchmark
//! does not exercise: per-operation tags, buffer-ring and descriptor
//! results, the ring-bound resource checks, cancel-and-reap on drop (the
//! sketch leaks what is in flight when dropped), and a safe API: the push is
//! the raw tier's `unsafe` one, argued here for the two operations the
//! benchmark pushes.

use std::fs::File;

use ring_core::owned::{self, Operation, SharedFd};
use ring_core::{cqueue, squeue};

use super::{BenchOp, RingBench, READ_SPAN};

/// One slot: the operation while it is in flight, its generation, and the
/// next free slot while it is free.
struct Slot {
    op: Option<BenchOp>,
    gen: u32,
    next_free: u32,
}

/// The first generation, and the one after `gen`: odd numbers below 2^31,
/// so that a token is never 0 and never has bit 63 set (as the owned
/// ring's).
const FIRST_GEN: u32 = 1;
#[inline(always)]
fn next_gen(gen: u32) -> u32 {
    gen.wrapping_add(2) & 0x7fff_ffff
}

/// The raw ring and its table of in-flight operations.
pub struct FloorSketch {
    ring: ring_core::IoUring,
    slots: Vec<Slot>,
    /// Head of the free list threaded through `next_free`; `slots.len()`
    /// when empty.
    free_head: u32,
    /// A share of the read scenario's file, made once.
    file: Option<SharedFd>,
    pool: Vec<Vec<u8>>,
}

impl FloorSketch {
    pub fn new(entries: u32) -> Self {
        FloorSketch {
            ring: ring_core::IoUring::new(entries).expect("floor sketch ring"),
            slots: Vec::new(),
            free_head: 0,
            file: None,
            pool: Vec::new(),
        }
    }
}

/// Files `op` in a free slot (growing the table if there is none) and
/// returns its entry, with the token as `user_data`.
#[inline(always)]
fn admit(slots: &mut Vec<Slot>, free_head: &mut u32, mut op: BenchOp) -> squeue::Entry {
    if *free_head as usize >= slots.len() {
        grow(slots);
    }
    let index = *free_head;
    let Some(slot) = slots.get_mut(index as usize) else {
        std::process::abort() // `grow` made one
    };
    *free_head = slot.next_free;
    let entry = op.entry();
    // A free slot holds nothing: forget the `None` rather than drop-check it.
    std::mem::forget(slot.op.replace(op));
    entry.user_data((u64::from(slot.gen) << 32) | u64::from(index))
}

#[cold]
#[inline(never)]
fn grow(slots: &mut Vec<Slot>) {
    let next = u32::try_from(slots.len() + 1).expect("fewer than 2^32 in flight");
    slots.push(Slot {
        op: None,
        gen: FIRST_GEN,
        next_free: next,
    });
}

/// The operation `cqe` finally completes, if it names a live one; frees its
/// slot.
#[inline(always)]
fn complete(slots: &mut [Slot], free_head: &mut u32, cqe: &cqueue::Entry) -> Option<BenchOp> {
    let token = cqe.user_data();
    let index = token as u32;
    let slot = slots.get_mut(index as usize)?;
    if slot.gen != (token >> 32) as u32 || slot.op.is_none() || cqe.more() {
        return None;
    }
    let op = slot.op.take();
    slot.gen = next_gen(slot.gen);
    slot.next_free = *free_head;
    *free_head = index;
    op
}

impl RingBench for FloorSketch {
    #[inline(never)]
    fn nop_rounds(&mut self, batch: u32, rounds: u64) {
        let (submitter, mut sq, mut cq) = self.ring.split();
        for _ in 0..rounds {
            for _ in 0..batch {
                let entry = admit(&mut self.slots, &mut self.free_head, owned::op::Nop.into());
                // SAFETY: a NOP points to no memory; its user_data is a
                // token.
                unsafe { sq.push(&entry) }.expect("room");
            }
            sq.sync();
            submitter.submit_and_wait(batch as usize).expect("submit");
            cq.sync();
            // Count in the loop, check after it (as every implementation).
            let (mut n, mut ok) = (0u32, 0u32);
            for cqe in &mut cq {
                let op = complete(&mut self.slots, &mut self.free_head, &cqe);
                ok += u32::from(cqe.raw_result() >= 0);
                n += 1;
                drop(op);
            }
            assert_eq!((n, ok), (batch, batch));
        }
    }

    #[inline(never)]
    fn read_round(&mut self, file: &File, _buf: &mut [u8], batch: u32, base: u64) {
        let shared = match &self.file {
            Some(f) => f.clone(),
            None => self
                .file
                .insert(SharedFd::try_clone_from(file).expect("dup"))
                .clone(),
        };
        let (submitter, mut sq, mut cq) = self.ring.split();
        for i in 0..batch {
            let buf = self.pool.pop().unwrap_or_else(|| vec![0u8; 4096]);
            let op =
                owned::op::Read::new(&shared, buf).at((base + u64::from(i)) * 4096 % READ_SPAN);
            let entry = admit(&mut self.slots, &mut self.free_head, op.into());
            // SAFETY: the entry points into the read's own buffer and names
            // the descriptor it shares; the table keeps the read until its
            // completion, reaped below (a dropped sketch leaks it).
            unsafe { sq.push(&entry) }.expect("room");
        }
        sq.sync();
        submitter.submit_and_wait(batch as usize).expect("submit");
        cq.sync();
        let mut n = 0;
        for cqe in &mut cq {
            assert_eq!(cqe.raw_result(), 4096);
            match complete(&mut self.slots, &mut self.free_head, &cqe) {
                Some(BenchOp::Read(r)) => self.pool.push(r.into_buf()),
                _ => panic!("the read comes back"),
            }
            n += 1;
        }
        assert_eq!(n, batch);
    }
}

impl Drop for FloorSketch {
    fn drop(&mut self) {
        // The kernel may still use what is in flight: leak it.
        for slot in &mut self.slots {
            std::mem::forget(slot.op.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sketch's table gives every operation back and reuses its slots:
    /// after rounds of NOPs and reads, every read's buffer is back in the
    /// pool, every slot is free, and the table never grew past one round.
    #[test]
    fn the_sketch_hands_back_every_operation_and_reuses_its_slots() {
        let path = std::env::temp_dir().join(format!("floor-sketch-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 16 * 4096]).expect("test file");
        let file = File::open(&path).expect("test file");
        let mut sketch = FloorSketch::new(8);
        sketch.nop_rounds(8, 3);
        let mut buf = vec![0u8; 8 * 4096];
        sketch.read_round(&file, &mut buf, 8, 0);
        sketch.read_round(&file, &mut buf, 8, 8);
        sketch.nop_rounds(5, 2);
        let _ = std::fs::remove_file(&path);
        assert_eq!(sketch.pool.len(), 8, "each read's buffer came back");
        assert_eq!(sketch.slots.len(), 8, "slots are reused, not added");
        assert!(sketch.slots.iter().all(|s| s.op.is_none()), "all free");
        // A stale token (slot 0, an old generation) frees nothing.
        let stale = ring_core::opcode::Nop::new().build().user_data(1 << 32);
        // SAFETY: a NOP points to no memory.
        unsafe { sketch.ring.submission().push(&stale) }.expect("room");
        sketch.ring.submit_and_wait(1).expect("submit");
        let cqe = sketch.ring.completion().next().expect("a completion");
        let (head, gen) = (sketch.free_head, sketch.slots[0].gen);
        assert!(complete(&mut sketch.slots, &mut sketch.free_head, &cqe).is_none());
        assert_eq!((sketch.free_head, sketch.slots[0].gen), (head, gen));
    }
}
