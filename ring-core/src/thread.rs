//! Thread identity: a number that tells the calling thread from every
//! other thread of the process, for as long as the process lives.
//!
//! A registered ring fd (`IORING_REGISTER_RING_FDS`) is an index into the
//! registering thread's own table: on another thread the same index names
//! whatever that thread registered there, or nothing. A ring records the
//! number of the thread it registered on and uses the index only there.
//! A thread's kernel id or the address of a thread-local would not do:
//! both are reused once a thread exits.

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};

/// The calling thread's number: never 0, and never the number of another
/// thread of this process, even one that has exited.
#[inline]
pub(crate) fn current() -> u64 {
    // A `const` thread-local without drop glue: reading it is one load
    // relative to the thread pointer, valid even while the thread's other
    // thread-locals are being destroyed (a ring dropped by one of them).
    thread_local! {
        static NUMBER: Cell<u64> = const { Cell::new(0) };
    }
    NUMBER.with(|n| match n.get() {
        0 => {
            let new = next();
            n.set(new);
            new
        }
        number => number,
    })
}

/// A fresh number, the first time a thread asks for its own. `Relaxed`
/// is enough: the counter only has to hand out distinct values.
#[cold]
fn next() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Counted up once per thread, a u64 cannot wrap within a process's
    // life.
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::current;

    #[test]
    fn a_thread_keeps_its_number_and_no_other_thread_has_it() {
        let here = current();
        assert_ne!(here, 0);
        assert_eq!(current(), here);
        let there = std::thread::spawn(current).join().unwrap();
        assert_ne!(there, 0);
        assert_ne!(there, here);
        // A thread started after that one exited gets a number of its own.
        let later = std::thread::spawn(current).join().unwrap();
        assert_ne!(later, there);
        assert_ne!(later, here);
    }
}
