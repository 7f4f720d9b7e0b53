//! Owned futex operations (the `futex2` interface, Linux 6.7): wait, wake,
//! and wait on several.
//!
//! Invariant owned here: every futex word an entry points the kernel at is
//! an `AtomicU32` inside an `Arc` the operation holds until its
//! completion, so the word stays allocated at the same address while the
//! kernel may read it (a linked wait reads it only when it starts). The
//! kernel only reads futex words (`FUTEX2_SIZE_U32`: four bytes, the
//! atomic's size), and an atomic may be read by another party at any time,
//! so Rust code can go on using the word through its own `Arc`.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use super::Operation;
use crate::opcode::{self, FUTEX2_PRIVATE, FUTEX2_SIZE_U32, FUTEX_BITSET_MATCH_ANY};
use crate::squeue;
use crate::types;

/// The futex flags of every operation here: a private 32-bit word.
const FLAGS: u32 = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;

/// The address the kernel sees for `word`.
fn addr(word: &Arc<AtomicU32>) -> *const u32 {
    word.as_ptr().cast_const()
}

/// Sleeps while a futex word holds a value, until a wake on the word
/// (from the ring's [`FutexWake`], or another thread's `futex` wake on the
/// same private word). Completes with 0 when woken, `EAGAIN` if the word
/// did not hold the value when the wait started.
#[derive(Debug)]
pub struct FutexWait {
    word: Arc<AtomicU32>,
    val: u32,
    mask: u64,
}

impl FutexWait {
    /// Waits on `word` while it holds `val`.
    pub fn new(word: &Arc<AtomicU32>, val: u32) -> Self {
        FutexWait {
            word: word.clone(),
            val,
            mask: FUTEX_BITSET_MATCH_ANY,
        }
    }
    /// Woken only by wakes whose mask shares a bit with `mask` (default:
    /// any). A mask of 0 is refused by the kernel (`EINVAL`).
    pub fn mask(mut self, mask: u64) -> Self {
        self.mask = mask;
        self
    }
    /// The word it waits on.
    pub fn word(&self) -> &Arc<AtomicU32> {
        &self.word
    }
}

// SAFETY: the entry points to the atomic in the Arc the operation holds (a
// stable heap address, four bytes, the size FUTEX2_SIZE_U32 reads); the
// kernel only reads it.
unsafe impl Operation for FutexWait {
    fn entry(&mut self) -> squeue::Entry {
        opcode::FutexWait::new(addr(&self.word), self.val)
            .mask(self.mask)
            .futex_flags(FLAGS)
            .build()
    }
}

/// Wakes up to `nr` waiters of a futex word; the result is how many woke.
#[derive(Debug)]
pub struct FutexWake {
    word: Arc<AtomicU32>,
    nr: u32,
    mask: u64,
}

impl FutexWake {
    /// Wakes up to `nr` waiters on `word`.
    pub fn new(word: &Arc<AtomicU32>, nr: u32) -> Self {
        FutexWake {
            word: word.clone(),
            nr,
            mask: FUTEX_BITSET_MATCH_ANY,
        }
    }
    /// Wakes only waiters whose mask shares a bit with `mask` (default:
    /// any).
    pub fn mask(mut self, mask: u64) -> Self {
        self.mask = mask;
        self
    }
    /// The word it wakes.
    pub fn word(&self) -> &Arc<AtomicU32> {
        &self.word
    }
}

// SAFETY: as for FutexWait: the entry points to the held atomic, which the
// kernel uses only as the key of the waiters to wake.
unsafe impl Operation for FutexWake {
    fn entry(&mut self) -> squeue::Entry {
        opcode::FutexWake::new(addr(&self.word), self.nr)
            .mask(self.mask)
            .futex_flags(FLAGS)
            .build()
    }
}

/// Sleeps on several futex words at once, each while it holds its value;
/// the result is the index of the word whose wake ended the wait (or
/// `EAGAIN` if one did not hold its value at the start). At most 128 words
/// (the kernel refuses more with `EINVAL`).
#[derive(Debug)]
pub struct FutexWaitv {
    words: Vec<Arc<AtomicU32>>,
    /// The kernel's array, pointing into `words`; built once.
    waitv: Box<[types::FutexWaitv]>,
}

impl FutexWaitv {
    /// Waits on each `(word, value)` pair.
    pub fn new(futexes: &[(&Arc<AtomicU32>, u32)]) -> Self {
        let words: Vec<Arc<AtomicU32>> = futexes.iter().map(|(w, _)| Arc::clone(w)).collect();
        let waitv = futexes
            .iter()
            .map(|(w, val)| types::FutexWaitv {
                val: u64::from(*val),
                uaddr: addr(w) as usize as u64,
                flags: FLAGS,
                reserved: 0,
            })
            .collect();
        FutexWaitv { words, waitv }
    }
    /// The words, in the order given.
    pub fn words(&self) -> &[Arc<AtomicU32>] {
        &self.words
    }
}

// SAFETY: the entry points to the boxed futex_waitv array (heap, stable),
// whose entries point to the atomics in the Arcs the operation holds; the
// kernel only reads them all.
unsafe impl Operation for FutexWaitv {
    fn entry(&mut self) -> squeue::Entry {
        let nr = u32::try_from(self.waitv.len()).unwrap_or(u32::MAX);
        opcode::FutexWaitv::new(self.waitv.as_ptr(), nr).build()
    }
}
