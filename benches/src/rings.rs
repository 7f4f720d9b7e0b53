//! The ring implementations under test, each doing the same rounds: push
//! `batch` entries, submit and wait for them, reap them.

use std::fs::File;
use std::os::fd::AsRawFd;

use ring_core::owned::{self, Operation, SharedFd, Store};

mod floor;
mod limit;

/// One implementation's rounds.
pub trait RingBench {
    /// `rounds` rounds of `batch` NOPs, looping inside the implementation
    /// (so the enter path sits in the loop, as in a real event loop).
    fn nop_rounds(&mut self, batch: u32, rounds: u64);
    /// `batch` 4 KiB reads of `file` into `buf` (at least `batch * 4096` bytes).
    fn read_round(&mut self, file: &File, buf: &mut [u8], batch: u32, base: u64);
}

/// The names [`make`] knows, in report order.
pub const IMPLS: &[&str] = &[
    "ring-core",
    "ring-core-owned",
    "ring-core-owned-dyn",
    "ring-core+defer+regfd",
    "io-uring",
    "io-uring+defer",
    "liburing",
    "liburing+defer+regfd",
    "limit",
    "limit+defer+regfd",
];

/// The owned rings set up as `ring_core::rt::Runtime::new` sets up its
/// own (single issuer, deferred task work with the TASKRUN flag, the ring
/// fd registered): the rt benchmark's baselines, so that its ratio counts
/// the futures and not the ring's setup. [`make`] knows them; they are no
/// column of the ring benchmark.
pub const OWNED_AS_RUNTIME: &[&str] = &[
    "ring-core-owned+runtime-setup",
    "ring-core-owned-dyn+runtime-setup",
];

/// Sketches [`make`] also knows, measured by the `nop` binary, and by the
/// ring benchmark only when `RING_BENCH_SKETCHES` is set (never a column
/// of its default run): `floor-sketch`, the least a table of in-flight
/// operations with the safe tier's guarantees executes, on the raw tier
/// (see `rings/floor.rs`; not a product).
pub const SKETCHES: &[&str] = &["floor-sketch"];

/// Builds an implementation by name with `entries` SQ slots; `None` if it is
/// not available in this build (liburing without its headers, the limit
/// ring without a C compiler or the kernel's headers).
pub fn make(name: &str, entries: u32) -> Option<Box<dyn RingBench>> {
    match name {
        "ring-core" => Some(Box::new(RingCore::new(entries, false))),
        "ring-core-owned" => Some(Box::new(Owned::<BenchOp>::new(entries, false))),
        "ring-core-owned-dyn" => Some(Box::new(Owned::<Box<dyn Operation>>::new(entries, false))),
        "ring-core-owned+runtime-setup" => Some(Box::new(Owned::<BenchOp>::new(entries, true))),
        "ring-core-owned-dyn+runtime-setup" => {
            Some(Box::new(Owned::<Box<dyn Operation>>::new(entries, true)))
        }
        "ring-core+defer+regfd" => Some(Box::new(RingCore::new(entries, true))),
        "io-uring" => Some(Box::new(IoUringCrate::new(entries, false))),
        "io-uring+defer" => Some(Box::new(IoUringCrate::new(entries, true))),
        "liburing" => liburing::make(entries, false),
        "liburing+defer+regfd" => liburing::make(entries, true),
        "limit" => limit::make(entries, false),
        "limit+defer+regfd" => limit::make(entries, true),
        "floor-sketch" => Some(Box::new(floor::FloorSketch::new(entries))),
        _ => None,
    }
}

const READ_SPAN: u64 = 1 << 20;

struct RingCore {
    ring: ring_core::IoUring,
}

impl RingCore {
    fn new(entries: u32, defer: bool) -> Self {
        let mut b = ring_core::IoUring::builder();
        if defer {
            b = b.single_issuer().defer_taskrun();
        }
        let mut ring = b.build(entries).expect("ring-core ring");
        if defer {
            ring.register_ring_fd().expect("register ring fd");
        }
        RingCore { ring }
    }
}

impl RingBench for RingCore {
    #[inline(never)]
    fn nop_rounds(&mut self, batch: u32, rounds: u64) {
        let (submitter, mut sq, mut cq) = self.ring.split();
        let nop = ring_core::opcode::Nop::new().build();
        for _ in 0..rounds {
            for i in 0..batch {
                // SAFETY: a NOP points to no memory.
                unsafe { sq.push(&nop.user_data(u64::from(i))) }.expect("room");
            }
            sq.sync();
            submitter.submit_and_wait(batch as usize).expect("submit");
            cq.sync();
            // Count successes in the loop and check after it: a panic
            // inside the loop would make every implementation keep its
            // completion in memory for unwinding.
            let (mut n, mut ok) = (0u32, 0u32);
            for c in &mut cq {
                ok += u32::from(c.raw_result() >= 0);
                n += 1;
            }
            assert_eq!((n, ok), (batch, batch));
        }
    }

    #[inline(never)]
    fn read_round(&mut self, file: &File, buf: &mut [u8], batch: u32, base: u64) {
        let fd = file.as_raw_fd();
        let (submitter, mut sq, mut cq) = self.ring.split();
        for i in 0..batch {
            let e = ring_core::opcode::Read::new(
                ring_core::types::Fd(fd),
                buf[i as usize * 4096..].as_mut_ptr(),
                4096,
            )
            .offset((base + u64::from(i)) * 4096 % READ_SPAN)
            .build()
            .user_data(u64::from(i));
            // SAFETY: `buf` outlives this round, which reaps every read.
            unsafe { sq.push(&e) }.expect("room");
        }
        sq.sync();
        submitter.submit_and_wait(batch as usize).expect("submit");
        cq.sync();
        let mut n = 0;
        for c in &mut cq {
            assert_eq!(c.raw_result(), 4096);
            n += 1;
        }
        assert_eq!(n, batch);
    }
}

ring_core::operations! {
    /// The operations the typed owned ring of this benchmark keeps, declared
    /// as a program declares its own: dispatch goes through this enum.
    enum BenchOp {
        Nop(owned::op::Nop),
        Read(owned::op::Read),
    }
}

/// How the benchmark gets its read back from either kind of owned ring.
trait TakeRead: Store + Sized {
    fn take_read(c: &mut owned::Completion<Self>) -> Option<owned::op::Read>;
}

impl TakeRead for BenchOp {
    fn take_read(c: &mut owned::Completion<Self>) -> Option<owned::op::Read> {
        match c.take_op()? {
            BenchOp::Read(r) => Some(r),
            BenchOp::Nop(_) => None,
        }
    }
}

impl TakeRead for Box<dyn Operation> {
    fn take_read(c: &mut owned::Completion<Self>) -> Option<owned::op::Read> {
        c.take_op()
    }
}

/// ring-core's safe tier: operations owned by the ring until completion,
/// stored as `S` (the typed enum above, or boxed).
struct Owned<S: Store> {
    ring: owned::Ring<S>,
    pool: Vec<Vec<u8>>,
    file: Option<SharedFd>,
}

impl<S: Store> Owned<S> {
    /// With `as_runtime`, the ring is set up as `rt::Runtime::new` sets up
    /// its own ([`OWNED_AS_RUNTIME`]).
    fn new(entries: u32, as_runtime: bool) -> Self {
        let raw = if as_runtime {
            let mut raw = ring_core::IoUring::builder()
                .single_issuer()
                .defer_taskrun()
                .taskrun_flag()
                .build(entries)
                .expect("owned ring with the runtime's setup");
            raw.register_ring_fd().expect("register ring fd");
            raw
        } else {
            ring_core::IoUring::new(entries).expect("owned ring")
        };
        Owned {
            ring: owned::Ring::from_ring(raw),
            pool: Vec::new(),
            file: None,
        }
    }
}

impl<S: TakeRead> RingBench for Owned<S>
where
    owned::op::Nop: Into<S>,
    owned::op::Read: Into<S>,
{
    #[inline(never)]
    fn nop_rounds(&mut self, batch: u32, rounds: u64) {
        for _ in 0..rounds {
            let mut pusher = self.ring.pusher();
            for _ in 0..batch {
                pusher.push(owned::op::Nop).expect("room");
            }
            drop(pusher);
            self.ring.submit_and_wait(batch as usize).expect("submit");
            // Count successes in the loop and check after it: a panic
            // inside the loop would make every implementation keep its
            // completion in memory for unwinding.
            let (mut n, mut ok) = (0u32, 0u32);
            for c in self.ring.completions() {
                ok += u32::from(c.cqe().raw_result() >= 0);
                n += 1;
            }
            assert_eq!((n, ok), (batch, batch));
        }
    }

    #[inline(never)]
    fn read_round(&mut self, file: &File, _buf: &mut [u8], batch: u32, base: u64) {
        // The safe tier shares the descriptor with each read: one dup of
        // the bench's file, made once, and a reference count per read.
        let shared = match &self.file {
            Some(f) => f.clone(),
            None => self
                .file
                .insert(SharedFd::try_clone_from(file).expect("dup"))
                .clone(),
        };
        for i in 0..batch {
            let buf = self.pool.pop().unwrap_or_else(|| vec![0u8; 4096]);
            let op =
                owned::op::Read::new(&shared, buf).at((base + u64::from(i)) * 4096 % READ_SPAN);
            self.ring.push(op).expect("room");
        }
        self.ring.submit_and_wait(batch as usize).expect("submit");
        let mut n = 0;
        for mut c in self.ring.completions() {
            assert_eq!(c.cqe().raw_result(), 4096);
            let op = S::take_read(&mut c).expect("the read comes back");
            self.pool.push(op.into_buf());
            n += 1;
        }
        assert_eq!(n, batch);
    }
}

struct IoUringCrate {
    ring: io_uring::IoUring,
}

impl IoUringCrate {
    fn new(entries: u32, defer: bool) -> Self {
        let mut b = io_uring::IoUring::builder();
        if defer {
            b.setup_single_issuer().setup_defer_taskrun();
        }
        IoUringCrate {
            ring: b.build(entries).expect("io-uring ring"),
        }
    }
}

impl RingBench for IoUringCrate {
    #[inline(never)]
    fn nop_rounds(&mut self, batch: u32, rounds: u64) {
        let (submitter, mut sq, mut cq) = self.ring.split();
        let nop = io_uring::opcode::Nop::new().build();
        for _ in 0..rounds {
            // The io-uring crate's view learns the kernel's new head only on
            // sync(): its users call it after each submit.
            sq.sync();
            for i in 0..batch {
                // SAFETY: a NOP points to no memory.
                unsafe { sq.push(&nop.clone().user_data(u64::from(i))) }.expect("room");
            }
            sq.sync();
            submitter.submit_and_wait(batch as usize).expect("submit");
            cq.sync();
            // Count successes in the loop and check after it: a panic
            // inside the loop would make every implementation keep its
            // completion in memory for unwinding.
            let (mut n, mut ok) = (0u32, 0u32);
            for c in &mut cq {
                ok += u32::from(c.result() >= 0);
                n += 1;
            }
            assert_eq!((n, ok), (batch, batch));
        }
    }

    #[inline(never)]
    fn read_round(&mut self, file: &File, buf: &mut [u8], batch: u32, base: u64) {
        let fd = file.as_raw_fd();
        let (submitter, mut sq, mut cq) = self.ring.split();
        for i in 0..batch {
            let e = io_uring::opcode::Read::new(
                io_uring::types::Fd(fd),
                buf[i as usize * 4096..].as_mut_ptr(),
                4096,
            )
            .offset((base + u64::from(i)) * 4096 % READ_SPAN)
            .build()
            .user_data(u64::from(i));
            // SAFETY: `buf` outlives this round, which reaps every read.
            unsafe { sq.push(&e) }.expect("room");
        }
        sq.sync();
        submitter.submit_and_wait(batch as usize).expect("submit");
        cq.sync();
        let mut n = 0;
        for c in &mut cq {
            assert_eq!(c.result(), 4096);
            n += 1;
        }
        assert_eq!(n, batch);
    }
}

#[cfg(has_liburing)]
mod liburing {
    use super::RingBench;
    use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void};
    use std::fs::File;
    use std::os::fd::AsRawFd;

    extern "C" {
        fn lu_setup(entries: c_uint, defer: c_int) -> *mut c_void;
        fn lu_free(p: *mut c_void);
        fn lu_nop_rounds(p: *mut c_void, batch: c_uint, rounds: c_ulonglong) -> c_int;
        fn lu_read_round(
            p: *mut c_void,
            fd: c_int,
            buf: *mut c_char,
            batch: c_uint,
            base: c_ulonglong,
        ) -> c_int;
    }

    pub struct Liburing(*mut c_void);

    pub fn make(entries: u32, defer: bool) -> Option<Box<dyn RingBench>> {
        // SAFETY: lu_setup allocates and returns a ring or NULL.
        let p = unsafe { lu_setup(entries, c_int::from(defer)) };
        (!p.is_null()).then(|| Box::new(Liburing(p)) as Box<dyn RingBench>)
    }

    impl RingBench for Liburing {
        fn nop_rounds(&mut self, batch: u32, rounds: u64) {
            // SAFETY: a live ring from lu_setup; NOPs point to no memory.
            assert_eq!(unsafe { lu_nop_rounds(self.0, batch, rounds) }, 0);
        }
        fn read_round(&mut self, file: &File, buf: &mut [u8], batch: u32, base: u64) {
            let fd = file.as_raw_fd();
            assert!(buf.len() >= batch as usize * 4096);
            // SAFETY: `buf` holds `batch` 4 KiB slots and outlives the call,
            // which reaps every read.
            let rc = unsafe { lu_read_round(self.0, fd, buf.as_mut_ptr().cast(), batch, base) };
            assert_eq!(rc, 0);
        }
    }

    impl Drop for Liburing {
        fn drop(&mut self) {
            // SAFETY: the ring from lu_setup, freed once.
            unsafe { lu_free(self.0) };
        }
    }
}

#[cfg(not(has_liburing))]
mod liburing {
    use super::RingBench;

    pub fn make(_entries: u32, _defer: bool) -> Option<Box<dyn RingBench>> {
        None
    }
}
