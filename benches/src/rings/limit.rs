//! The limit peer: a minimal hand-written C ring (`c/limit_ring.c`, raw
//! `io_uring_setup`/`mmap`/`io_uring_enter` with an inline `syscall`, no
//! library), the floor every other implementation is compared to.

use super::RingBench;

#[cfg(has_limit_ring)]
mod ffi {
    use super::RingBench;
    use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void};
    use std::fs::File;
    use std::os::fd::AsRawFd;

    extern "C" {
        fn limit_setup(entries: c_uint, defer: c_int) -> *mut c_void;
        fn limit_free(p: *mut c_void);
        fn limit_nop_rounds(p: *mut c_void, batch: c_uint, rounds: c_ulonglong) -> c_int;
        fn limit_read_round(
            p: *mut c_void,
            fd: c_int,
            buf: *mut c_char,
            batch: c_uint,
            base: c_ulonglong,
        ) -> c_int;
    }

    /// A ring from `limit_setup`, freed once on drop.
    pub struct Limit {
        ring: *mut c_void,
        entries: u32,
    }

    pub fn make(entries: u32, defer: bool) -> Option<Box<dyn RingBench>> {
        // SAFETY: limit_setup allocates and returns a ring or NULL.
        let ring = unsafe { limit_setup(entries, c_int::from(defer)) };
        (!ring.is_null()).then(|| Box::new(Limit { ring, entries }) as Box<dyn RingBench>)
    }

    impl RingBench for Limit {
        fn nop_rounds(&mut self, batch: u32, rounds: u64) {
            // The C loop never reads the SQ head: a round must fit the ring.
            assert!(batch <= self.entries);
            // SAFETY: a live ring from limit_setup; NOPs point to no memory.
            assert_eq!(unsafe { limit_nop_rounds(self.ring, batch, rounds) }, 0);
        }

        fn read_round(&mut self, file: &File, buf: &mut [u8], batch: u32, base: u64) {
            let fd = file.as_raw_fd();
            assert!(batch <= self.entries);
            assert!(buf.len() >= batch as usize * 4096);
            // SAFETY: `buf` holds `batch` 4 KiB slots and `file` is open;
            // both outlive the call, which reaps every read before it
            // returns.
            let rc =
                unsafe { limit_read_round(self.ring, fd, buf.as_mut_ptr().cast(), batch, base) };
            assert_eq!(rc, 0);
        }
    }

    impl Drop for Limit {
        fn drop(&mut self) {
            // SAFETY: the ring from limit_setup, freed once; no operation is
            // in flight (every round reaps all it submitted).
            unsafe { limit_free(self.ring) };
        }
    }
}

/// The limit ring with `entries` slots (`defer`: SINGLE_ISSUER |
/// DEFER_TASKRUN and a registered ring fd); `None` if it was not built or
/// the kernel refuses the setup.
#[cfg(has_limit_ring)]
pub fn make(entries: u32, defer: bool) -> Option<Box<dyn RingBench>> {
    ffi::make(entries, defer)
}

/// The limit ring was not built (no C compiler or no `linux/io_uring.h`).
#[cfg(not(has_limit_ring))]
pub fn make(_entries: u32, _defer: bool) -> Option<Box<dyn RingBench>> {
    None
}
