//! Ring index arithmetic, free of syscalls so it can be tested on plain memory.
//!
//! io_uring's head and tail are free-running `u32` counters: they are never
//! reduced modulo the ring size, they wrap at `u32::MAX`, and a slot is found
//! by masking with `ring_entries - 1` (ring sizes are powers of two). Every
//! distance is therefore a wrapping subtraction. These helpers are the only
//! place that arithmetic is written.

/// Number of entries between `head` and `tail` (`tail - head`, wrapping).
///
/// Correct across the `u32::MAX` → 0 wrap as long as the true distance is
/// at most `u32::MAX`, which holds for any ring (at most 2^15 SQEs and 2^16
/// CQEs per ring in current kernels).
#[inline(always)]
pub(crate) const fn distance(head: u32, tail: u32) -> u32 {
    tail.wrapping_sub(head)
}

/// Slot index of counter `index` in a ring with `mask = entries - 1`.
#[inline(always)]
pub(crate) const fn slot(index: u32, mask: u32) -> usize {
    (index & mask) as usize
}

/// Free slots in a ring of `entries` with the given head and tail.
#[inline(always)]
pub(crate) const fn free(head: u32, tail: u32, entries: u32) -> u32 {
    entries - distance(head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_plain() {
        assert_eq!(distance(0, 0), 0);
        assert_eq!(distance(3, 10), 7);
    }

    #[test]
    fn distance_across_wraparound() {
        assert_eq!(distance(u32::MAX, 0), 1);
        assert_eq!(distance(u32::MAX - 3, 4), 8);
        assert_eq!(distance(u32::MAX - 127, 128), 256);
    }

    #[test]
    fn slot_masks_across_wraparound() {
        let mask = 7;
        assert_eq!(slot(u32::MAX, mask), 7);
        assert_eq!(slot(u32::MAX.wrapping_add(1), mask), 0);
        assert_eq!(slot(13, mask), 5);
    }

    #[test]
    fn free_slots_across_wraparound() {
        assert_eq!(free(u32::MAX - 1, 2, 8), 4);
        assert_eq!(free(5, 5, 8), 8);
        assert_eq!(free(5, 13, 8), 0);
    }

    /// A model ring on plain heap memory driven across the wrap: every value
    /// pushed comes out once, in order.
    #[test]
    fn model_ring_survives_wraparound() {
        let entries = 8u32;
        let mask = entries - 1;
        let mut slots = vec![0u64; entries as usize];
        let mut head = u32::MAX - 20;
        let mut tail = head;
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        for round in 0..200u32 {
            let n = round % 9;
            for _ in 0..n {
                if free(head, tail, entries) == 0 {
                    break;
                }
                slots[slot(tail, mask)] = next_in;
                next_in += 1;
                tail = tail.wrapping_add(1);
            }
            let take = distance(head, tail).min(round % 5 + 1);
            for _ in 0..take {
                assert_eq!(slots[slot(head, mask)], next_out);
                next_out += 1;
                head = head.wrapping_add(1);
            }
            assert!(distance(head, tail) <= entries);
        }
        assert!(next_out > 100, "the model moved {next_out} values");
    }
}
