//! Ring identity: a number that tells one [`IoUring`](crate::IoUring) from
//! every other in the process, for as long as the process lives.
//!
//! Resources that only mean something to one ring (a buffer ring's group,
//! a fixed-buffer index, a registered-file slot) record the id of the ring
//! they were registered with; the safe tier refuses to push an operation
//! that names a resource of another ring. A descriptor number or a pointer
//! would not do: both can be reused after the ring is gone.

use core::sync::atomic::{AtomicU64, Ordering};

/// Identifies one ring. Two rings of a process never share an id, even if
/// one was dropped before the other was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RingId(u64);

impl RingId {
    /// A fresh id. `Relaxed` is enough: the counter only has to hand out
    /// distinct values, which an atomic read-modify-write does whatever
    /// the ordering; nothing else is published through it.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // A u64 counted up once per ring cannot wrap within a process's
        // life (at a million rings a second, 584,000 years).
        RingId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::RingId;

    #[test]
    fn ids_are_distinct() {
        let a = RingId::next();
        let b = RingId::next();
        assert_ne!(a, b);
    }
}
