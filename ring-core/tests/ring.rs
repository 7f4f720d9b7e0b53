//! The ring itself against the real kernel: setup flags, params, the
//! submit/wait engine, overflow, SQPOLL, DEFER_TASKRUN, registered ring fd,
//! probe.

mod common;

use std::time::{Duration, Instant};

use ring_core::{cqueue, opcode, squeue, Errno, Features, IoUring, SetupFlags, SubmitError};

fn nops(n: u64, base: u64) -> Vec<squeue::Entry> {
    (0..n)
        .map(|i| opcode::Nop::new().build().user_data(base + i))
        .collect()
}

/// Runs `rounds` batches of NOPs through `ring` and checks every one.
fn nop_rounds(ring: &mut IoUring, batch: u64, rounds: u64) {
    for r in 0..rounds {
        let cqes = common::run(ring, &nops(batch, r * batch), batch as usize);
        let map = common::by_user_data(&cqes);
        for i in 0..batch {
            assert_eq!(map[&(r * batch + i)].result(), Ok(0));
        }
    }
}

#[test]
fn params_and_features_are_reported() {
    let ring = IoUring::new(8).unwrap();
    let p = ring.params();
    assert_eq!(p.sq_entries(), 8);
    assert_eq!(p.cq_entries(), 16);
    assert!(p
        .features()
        .contains(Features::SINGLE_MMAP | Features::NODROP | Features::EXT_ARG));
}

#[test]
fn sizes_are_rounded_and_cqsize_honoured() {
    let ring = IoUring::builder().cq_entries(100).build(5).unwrap();
    assert_eq!(ring.params().sq_entries(), 8);
    assert_eq!(ring.params().cq_entries(), 128);
    assert!(ring.params().flags().contains(SetupFlags::CQSIZE));
}

#[test]
fn clamp_caps_too_large_sizes() {
    assert!(
        IoUring::new(1 << 20).is_err(),
        "an oversize ring is refused without CLAMP"
    );
    let ring = IoUring::builder().clamp().build(1 << 20).unwrap();
    assert!(ring.params().sq_entries() <= 32768);
}

#[test]
fn every_setup_flag_builds_a_working_ring() {
    let builders: Vec<(&str, ring_core::Builder)> = vec![
        ("default", IoUring::builder()),
        ("submit_all", IoUring::builder().submit_all()),
        (
            "coop_taskrun",
            IoUring::builder().coop_taskrun().taskrun_flag(),
        ),
        ("single_issuer", IoUring::builder().single_issuer()),
        (
            "defer_taskrun",
            IoUring::builder()
                .single_issuer()
                .defer_taskrun()
                .taskrun_flag(),
        ),
        ("no_sqarray", IoUring::builder().no_sqarray()),
        ("sqpoll", IoUring::builder().sqpoll(50)),
        ("sqpoll_cpu", IoUring::builder().sqpoll(50).sqpoll_cpu(0)),
        ("iopoll", IoUring::builder().iopoll()),
        ("hybrid_iopoll", IoUring::builder().hybrid_iopoll()),
        ("raw no_sqarray", IoUring::builder().raw_flags(1 << 16)),
    ];
    for (name, b) in builders {
        let mut ring = b.build(8).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.contains("iopoll") {
            // NOPs are not pollable I/O; an IOPOLL ring still sets up.
            assert!(ring.params().flags().contains(SetupFlags::IOPOLL));
            continue;
        }
        // Several rounds so the head/tail move past the ring size.
        nop_rounds(&mut ring, 6, 5);
        assert_eq!(
            ring.params().flags().bits() & b.setup_flags().bits(),
            b.setup_flags().bits(),
            "{name}"
        );
    }
}

/// Pushes an entry the kernel fails while submitting (a NOP with an SQE flag
/// bit no kernel knows: `EINVAL` when the request is initialised) and two
/// NOPs, submits once, and returns how many the kernel took.
fn submit_bad_then_two_nops(ring: &mut IoUring) -> usize {
    let bad = opcode::Nop::new()
        .build()
        .flags(squeue::Flags::from_bits_retain(0x80))
        .user_data(1);
    {
        let mut sq = ring.submission();
        // SAFETY: NOPs point to nothing.
        unsafe {
            sq.push_multiple(&[bad, nops(1, 2)[0], nops(1, 3)[0]])
                .unwrap()
        };
    }
    ring.submit().unwrap()
}

#[test]
fn submit_all_goes_on_past_a_failed_entry() {
    // Without SUBMIT_ALL the kernel stops at the entry it fails...
    let mut ring = IoUring::new(4).unwrap();
    assert_eq!(submit_bad_then_two_nops(&mut ring), 1);
    assert_eq!(ring.submission().len(), 2, "the NOPs wait in the SQ");
    // ...with it, it submits the rest of the batch.
    let mut ring = IoUring::builder().submit_all().build(4).unwrap();
    assert_eq!(submit_bad_then_two_nops(&mut ring), 3);
    let c = common::reap(&mut ring, 3);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Err(Errno::INVAL));
    assert_eq!((m[&2].result(), m[&3].result()), (Ok(0), Ok(0)));
}

#[test]
fn single_issuer_refuses_another_thread() {
    let mut ring = IoUring::builder().single_issuer().build(4).unwrap();
    nop_rounds(&mut ring, 2, 1); // this thread is the issuer
    let ring = std::thread::spawn(move || {
        {
            let mut sq = ring.submission();
            // SAFETY: a NOP points to nothing.
            unsafe { sq.push(&nops(1, 9)[0]).unwrap() };
        }
        assert_eq!(ring.submit(), Err(SubmitError::Os(Errno::EXIST)));
        ring
    })
    .join()
    .unwrap();
    drop(ring);
}

#[test]
fn unmappable_and_unknown_setup_flags_are_refused() {
    let err = IoUring::builder().raw_flags(1 << 15).build(8).unwrap_err();
    assert!(
        matches!(err, ring_core::Error::InvalidArgument(reason) if reason.contains("REGISTERED_FD_ONLY")),
        "{err:?}"
    );
    // CQE_MIXED, SQE_MIXED and bits SetupFlags does not name.
    for bit in [18, 19, 20, 31] {
        let err = IoUring::builder().raw_flags(1 << bit).build(8).unwrap_err();
        assert!(
            matches!(err, ring_core::Error::InvalidArgument(_)),
            "bit {bit}: {err:?}"
        );
    }
    // A named, mappable flag given raw goes through.
    let ring = IoUring::builder().raw_flags(1 << 4).build(8).unwrap();
    assert!(ring.params().flags().contains(SetupFlags::CLAMP));
}

#[test]
fn no_mmap_rings_live_in_memory_ring_core_provides() {
    let variants: Vec<(&str, ring_core::Builder)> = vec![
        ("no_mmap", IoUring::builder().no_mmap()),
        ("raw bit", IoUring::builder().raw_flags(1 << 14)),
        ("cqsize", IoUring::builder().no_mmap().cq_entries(64)),
        ("no_sqarray", IoUring::builder().no_mmap().no_sqarray()),
        (
            "defer_taskrun",
            IoUring::builder().no_mmap().single_issuer().defer_taskrun(),
        ),
    ];
    for (name, b) in variants {
        let mut ring = b.build(8).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            ring.params().flags().contains(SetupFlags::NO_MMAP),
            "{name}"
        );
        // The kernel has nothing to map at the ring offsets: the rings are
        // in our memory.
        // SAFETY: a fresh shared mapping at an address of the kernel's
        // choice; unmapped at once if it succeeds.
        let mapped = unsafe {
            rustix::mm::mmap(
                core::ptr::null_mut(),
                4096,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::SHARED,
                &ring,
                0, // IORING_OFF_SQ_RING
            )
        };
        assert!(mapped.is_err(), "{name}: the kernel mapped its own rings");
        // Rounds past the ring size, so head and tail wrap.
        nop_rounds(&mut ring, 6, 5);
    }
    // The same big ring, with 128-byte SQEs and 32-byte CQEs, in our memory.
    let ring = IoUring::builder()
        .no_mmap()
        .sqe128()
        .cqe32()
        .cq_entries(32)
        .build(16)
        .unwrap();
    strided_rounds(ring, |c: &cqueue::Entry32| {
        (c.entry.user_data(), c.entry.result())
    });
    // It cannot be resized: the new rings would need new memory.
    let mut ring = IoUring::builder()
        .no_mmap()
        .no_sqarray()
        .single_issuer()
        .defer_taskrun()
        .build(4)
        .unwrap();
    assert!(matches!(
        ring.resize(8, 0),
        Err(ring_core::Error::InvalidArgument(_))
    ));
}

/// Three rounds of four NOPs through a ring of entry types `S`/`C`: the
/// head and tail pass the ring size, so every slot is written and read at
/// its stride.
fn strided_rounds<S, C>(mut ring: IoUring<S, C>, user_data: fn(&C) -> (u64, Result<u32, Errno>))
where
    S: squeue::EntryMarker + From<squeue::Entry>,
    C: cqueue::EntryMarker,
{
    for round in 0..3u64 {
        {
            let mut sq = ring.submission();
            for i in 0..4 {
                let e = S::from(opcode::Nop::new().build().user_data(round * 10 + i));
                // SAFETY: NOPs point to nothing.
                unsafe { sq.push(&e).unwrap() };
            }
        }
        ring.submit_and_wait(4).unwrap();
        let mut seen = Vec::new();
        for c in ring.completion() {
            let (ud, res) = user_data(&c);
            assert_eq!(res, Ok(0));
            seen.push(ud);
        }
        seen.sort();
        assert_eq!(seen, (0..4).map(|i| round * 10 + i).collect::<Vec<_>>());
    }
}

#[test]
fn sqe128_and_cqe32_slots_are_strided() {
    let big = |c: &cqueue::Entry32| (c.entry.user_data(), c.entry.result());
    let small = |c: &cqueue::Entry| (c.user_data(), c.result());
    let ring = IoUring::builder().sqe128().cqe32().build(4).unwrap();
    assert!(ring
        .params()
        .flags()
        .contains(SetupFlags::SQE128 | SetupFlags::CQE32));
    strided_rounds(ring, big);
    strided_rounds(IoUring::builder().sqe128().build(4).unwrap(), small);
    strided_rounds(IoUring::builder().cqe32().build(4).unwrap(), big);
    // The sizes come with the types: as raw bits they are refused.
    for bit in [10, 11] {
        let err = IoUring::builder().raw_flags(1 << bit).build(4).unwrap_err();
        assert!(matches!(err, ring_core::Error::InvalidArgument(_)), "{err}");
    }
}

#[test]
fn push_reports_full_and_keeps_the_queue_intact() {
    let mut ring = IoUring::new(4).unwrap();
    let entries = nops(4, 0);
    {
        let mut sq = ring.submission();
        assert_eq!(sq.capacity(), 4);
        // SAFETY: NOPs point to nothing.
        unsafe {
            sq.push_multiple(&entries).unwrap();
            assert!(sq.is_full());
            assert_eq!(sq.push(&entries[0]), Err(squeue::PushError));
            assert_eq!(sq.push_multiple(&entries[..1]), Err(squeue::PushError));
        }
        assert_eq!(sq.len(), 4);
    }
    assert_eq!(ring.submit_and_wait(4).unwrap(), 4);
    assert_eq!(ring.completion().len(), 4);
    assert!(ring.submission().is_empty());
    assert_eq!(
        ring.submission().dropped(),
        0,
        "the kernel dropped no entry"
    );
}

#[test]
fn submit_without_entries_makes_no_syscall() {
    let mut ring = IoUring::new(4).unwrap();
    assert_eq!(ring.submit().unwrap(), 0);
    assert_eq!(ring.submit_and_wait(0).unwrap(), 0);
    assert_eq!(
        ring.submitter().enter_calls(),
        0,
        "nothing to submit or wait for"
    );
    // One entry: exactly one enter submits it.
    {
        let mut sq = ring.submission();
        // SAFETY: a NOP points to nothing.
        unsafe { sq.push(&opcode::Nop::new().build()).unwrap() };
    }
    assert_eq!(ring.submit().unwrap(), 1);
    assert_eq!(ring.submitter().enter_calls(), 1);
}

#[test]
fn wait_without_submitting_and_timeouts() {
    let mut ring = IoUring::new(4).unwrap();
    // Nothing in flight: a timed wait times out after roughly the timeout.
    let start = Instant::now();
    let err = ring
        .submitter()
        .submit_and_wait_timeout(1, Duration::from_millis(30))
        .unwrap_err();
    assert_eq!(err, SubmitError::TimedOut);
    assert!(
        start.elapsed() >= Duration::from_millis(25),
        "{:?}",
        start.elapsed()
    );

    // Submit, then wait without submitting.
    {
        let mut sq = ring.submission();
        // SAFETY: a NOP points to nothing.
        unsafe { sq.push(&opcode::Nop::new().build().user_data(9)).unwrap() };
    }
    ring.submit().unwrap();
    ring.submitter().wait(1).unwrap();
    let c: Vec<_> = ring.completion().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].user_data(), 9);
}

#[test]
fn min_wait_returns_with_fewer_than_wanted() {
    let mut ring = IoUring::new(4).unwrap();
    if !ring.params().features().contains(Features::MIN_TIMEOUT) {
        eprintln!("skipped: kernel lacks IORING_FEAT_MIN_TIMEOUT");
        return;
    }
    {
        let mut sq = ring.submission();
        // SAFETY: a NOP points to nothing.
        unsafe { sq.push(&opcode::Nop::new().build()).unwrap() };
    }
    // Want 4, but only one will ever come: with min_wait the call returns
    // after min_wait once one is there, long before the 5 s timeout.
    let start = Instant::now();
    let n = ring
        .submitter()
        .submit_and_wait_with(4, Duration::from_secs(5), Some(Duration::from_millis(5)))
        .unwrap();
    assert_eq!(n, 1);
    assert!(start.elapsed() < Duration::from_secs(4));
    assert_eq!(ring.completion().count(), 1);
}

/// Far more NOPs than the CQ holds, submitted before reaping anything:
/// every one arrives, none twice (IORING_FEAT_NODROP and the overflow flush
/// through GETEVENTS).
#[test]
fn cq_overflow_loses_nothing() {
    let mut ring = IoUring::new(4).unwrap(); // CQ of 8
    assert!(ring.params().is_feature_nodrop());
    let total = 1000u64;
    let mut next = 0u64;
    let mut cq_full_seen = 0;
    while next < total {
        {
            let mut sq = ring.submission();
            while next < total {
                // SAFETY: NOPs point to nothing.
                if unsafe { sq.push(&opcode::Nop::new().build().user_data(next)) }.is_err() {
                    break;
                }
                next += 1;
            }
        }
        match ring.submit() {
            Ok(_) => {}
            Err(SubmitError::CompletionQueueFull) => {
                cq_full_seen += 1;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ring.submitter().cq_overflow_pending(), "the CQ overflowed");
    let mut seen = vec![false; total as usize];
    let mut count = 0;
    loop {
        for c in ring.completion() {
            assert_eq!(c.result(), Ok(0));
            assert!(
                !std::mem::replace(&mut seen[c.user_data() as usize], true),
                "twice: {c:?}"
            );
            count += 1;
        }
        if count == next {
            break;
        }
        // Flush the overflow list (and submit anything left over).
        ring.submitter().submit_and_wait(1).unwrap();
    }
    // Entries refused with "CQ full" are submitted after reaping.
    while count < total {
        ring.submitter().submit_and_wait(1).unwrap();
        for c in ring.completion() {
            assert!(!std::mem::replace(&mut seen[c.user_data() as usize], true));
            count += 1;
        }
    }
    assert!(
        seen.iter().all(|&s| s),
        "cq-full errors seen: {cq_full_seen}"
    );
    assert_eq!(ring.completion().overflow(), 0, "nothing dropped");
}

/// Pushes `n` NOPs and calls `submit` once.
fn push_nops_and_submit(ring: &mut IoUring, n: u64) {
    {
        let mut sq = ring.submission();
        // SAFETY: NOPs point to nothing.
        unsafe { sq.push_multiple(&nops(n, 0)).unwrap() };
    }
    assert_eq!(ring.submit().unwrap(), n as usize);
}

/// Spins, without entering the kernel, until `n` completions are ready.
fn spin_until_ready(ring: &mut IoUring, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while ring.submitter().completions_ready() < n {
        assert!(Instant::now() < deadline, "the SQ thread never ran them");
        std::hint::spin_loop();
    }
    assert_eq!(ring.completion().count(), n);
}

#[test]
fn sqpoll_submits_without_enter_and_wakes_the_thread() {
    // A long idle time keeps the SQ thread awake between the rounds below.
    let mut ring = IoUring::builder().sqpoll(2_000).build(8).unwrap();
    push_nops_and_submit(&mut ring, 8); // may enter once to wake the new thread
    spin_until_ready(&mut ring, 8);
    let before = ring.submitter().enter_calls();
    assert!(before <= 1, "{before} enters for the first batch");
    for _ in 0..3 {
        push_nops_and_submit(&mut ring, 8);
        spin_until_ready(&mut ring, 8);
    }
    assert_eq!(
        ring.submitter().enter_calls(),
        before,
        "an awake SQ thread needs no io_uring_enter"
    );

    // A short idle time lets it fall asleep: then one submit must enter (with
    // SQ_WAKEUP), and the completions arrive with no other enter.
    let mut ring = IoUring::builder().sqpoll(10).build(8).unwrap();
    push_nops_and_submit(&mut ring, 8);
    spin_until_ready(&mut ring, 8);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !ring.submitter().sq_thread_sleeping() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        ring.submitter().sq_thread_sleeping(),
        "the SQ thread went idle"
    );
    let before = ring.submitter().enter_calls();
    push_nops_and_submit(&mut ring, 8);
    assert_eq!(
        ring.submitter().enter_calls(),
        before + 1,
        "one enter wakes it"
    );
    spin_until_ready(&mut ring, 8);
    assert_eq!(ring.submitter().enter_calls(), before + 1);
}

#[test]
fn defer_taskrun_completions_arrive_through_getevents() {
    let mut ring = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .taskrun_flag()
        .build(8)
        .unwrap();
    let ts = ring_core::types::Timespec::new(0, 1_000_000);
    let t = opcode::Timeout::new(&ts).build().user_data(1);
    let cqes = common::run(&mut ring, &[t], 1);
    assert_eq!(cqes[0].result(), Err(Errno::TIME));
    nop_rounds(&mut ring, 4, 4);
}

#[test]
fn registered_ring_fd_is_used_by_later_enters() {
    let mut ring = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .build(8)
        .unwrap();
    let index = ring.register_ring_fd().unwrap();
    assert_eq!(ring.registered_ring_index(), Some(index));
    assert_eq!(ring.register_ring_fd().unwrap(), index, "idempotent");
    nop_rounds(&mut ring, 8, 4);
    ring.unregister_ring_fd().unwrap();
    assert_eq!(ring.registered_ring_index(), None);
    nop_rounds(&mut ring, 8, 2);
}

/// A registered ring moved to another thread enters there by its fd (the
/// index names that thread's registrations, not this ring), and works.
#[test]
fn a_registered_ring_moved_to_another_thread_enters_by_its_fd() {
    let mut ring = IoUring::new(8).unwrap();
    let index = ring.register_ring_fd().unwrap();
    let mut ring = std::thread::spawn(move || {
        assert_eq!(ring.registered_ring_index(), None, "not this thread's");
        nop_rounds(&mut ring, 8, 2);
        ring
    })
    .join()
    .unwrap();
    // Back on the thread that registered it, it uses the index again.
    assert_eq!(ring.registered_ring_index(), Some(index));
    nop_rounds(&mut ring, 8, 2);
}

#[test]
fn r_disabled_ring_rejects_until_enabled() {
    let mut ring = IoUring::builder().r_disabled().build(4).unwrap();
    {
        let mut sq = ring.submission();
        // SAFETY: a NOP points to nothing.
        unsafe { sq.push(&opcode::Nop::new().build()).unwrap() };
    }
    // A disabled ring refuses to enter with EBADFD.
    assert_eq!(ring.submit(), Err(SubmitError::Os(Errno::BADFD)));
    ring.enable().unwrap();
    ring.submit_and_wait(1).unwrap();
    assert_eq!(ring.completion().count(), 1);
}

/// The names (`comm`) of this process's threads.
fn thread_names() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let entry = entry.unwrap();
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A thread may exit between read_dir and the read.
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            out.push((tid, comm.trim_end().to_owned()));
        }
    }
    out
}

/// On a fresh thread: builds two SQPOLL rings, the second attached to the
/// first with `ATTACH_WQ` if `attach`, and runs an `IOSQE_ASYNC` read (which
/// the SQ thread hands to an io-wq worker) on each. Returns how many SQ
/// threads this thread created and how many of them own io-wq workers.
fn sq_threads_and_worker_owners(attach: bool) -> (usize, usize) {
    std::thread::spawn(move || {
        let me = rustix::thread::gettid().as_raw_nonzero().get();
        let mut first = IoUring::builder().sqpoll(1_000).build(4).unwrap();
        let builder = IoUring::builder().sqpoll(1_000);
        let builder = if attach {
            builder.attach_wq(&first)
        } else {
            builder
        };
        let mut second = builder.build(4).unwrap();
        assert_eq!(
            second.params().flags().contains(SetupFlags::ATTACH_WQ),
            attach
        );
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        for ring in [&mut first, &mut second] {
            let mut buf = [0u8; 64];
            let read = opcode::Read::new(&file, buf.as_mut_ptr(), 64)
                .build()
                .flags(squeue::Flags::ASYNC)
                .user_data(1);
            let cqes = common::run(ring, &[read], 1);
            assert_eq!(cqes[0].result(), Ok(64));
        }
        // Idle workers linger for seconds: both rings' are still there.
        let names = thread_names();
        let sq_threads: Vec<String> = names
            .iter()
            .filter(|(_, name)| *name == format!("iou-sqp-{me}"))
            .map(|(tid, _)| tid.to_string())
            .collect();
        let owners: std::collections::HashSet<&str> = names
            .iter()
            .filter_map(|(_, name)| name.strip_prefix("iou-wrk-"))
            .filter(|owner| sq_threads.iter().any(|t| t == owner))
            .collect();
        (sq_threads.len(), owners.len())
    })
    .join()
    .unwrap()
}

#[test]
fn attach_wq_shares_workers() {
    // Without ATTACH_WQ each SQPOLL ring has its own SQ thread, and each SQ
    // thread its own io-wq workers...
    assert_eq!(sq_threads_and_worker_owners(false), (2, 2));
    // ...with it, the second ring uses the first's SQ thread and workers.
    assert_eq!(sq_threads_and_worker_owners(true), (1, 1));
}

#[test]
fn probe_reads_opcodes_as_integers() {
    let ring = IoUring::new(4).unwrap();
    let probe = ring.probe().unwrap();
    assert!(probe.is_supported(opcode::Nop::CODE));
    assert!(probe.is_supported(opcode::Read::CODE));
    assert!(probe.is_supported(opcode::Listen::CODE));
    // The kernel may know opcodes past rustix's enum; reading them is fine.
    assert!(
        probe.last_op() >= opcode::Listen::CODE,
        "last_op {}",
        probe.last_op()
    );
    assert!(!probe.is_supported(255));
}

/// This thread's voluntary context switches (the times it slept), read
/// from its `/proc` status file, opened once, into a buffer on the stack:
/// taking a reading allocates nothing, so the reading cannot itself wait
/// for the allocator's address-space lock (which another test thread's
/// mmap may hold) and count that as a sleep.
struct Sleeps(std::fs::File);

impl Sleeps {
    /// For the calling thread.
    fn of_this_thread() -> Self {
        Sleeps(std::fs::File::open("/proc/thread-self/status").unwrap())
    }

    fn now(&self) -> u64 {
        use std::os::unix::fs::FileExt as _;
        let mut buf = [0u8; 8192];
        let n = self.0.read_at(&mut buf, 0).unwrap();
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("voluntary_ctxt_switches in /proc/thread-self/status")
    }
}

/// A thread that writes one byte after a delay, started and parked before
/// the measurement and kept alive until after it: a thread starting or
/// exiting maps and unmaps its stack, and a page fault of the measured
/// thread that waits for that address-space lock would count as a sleep.
struct LateWriter {
    thread: std::thread::JoinHandle<()>,
    release: std::sync::mpsc::Sender<()>,
}

impl LateWriter {
    fn start(w: std::fs::File, delay: Duration) -> Self {
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            ready_tx.send(()).unwrap();
            std::thread::sleep(delay);
            std::io::Write::write_all(&mut &w, b"x").unwrap();
            let _ = release_rx.recv();
        });
        ready.recv().unwrap();
        LateWriter { thread, release }
    }

    fn finish(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

/// Arms a read of one byte from `r` and submits it; a [`LateWriter`] writes
/// that byte after `delay`. Returns the writer and the buffer the read fills.
fn arm_late_pipe_read(
    ring: &mut IoUring,
    r: &std::fs::File,
    w: std::fs::File,
    delay: Duration,
) -> (LateWriter, Box<[u8; 1]>) {
    let mut buf = Box::new([0u8; 1]);
    let read = opcode::Read::new(r, buf.as_mut_ptr(), 1)
        .offset(u64::MAX)
        .build()
        .user_data(9);
    // SAFETY: the box outlives the read: every caller reaps its completion
    // before dropping it.
    unsafe { ring.submission().push(&read).unwrap() };
    ring.submit().unwrap();
    (LateWriter::start(w, delay), buf)
}

/// The spinning wait takes a completion that arrives during its spin with
/// no sleep of the waiting thread, on a DEFER_TASKRUN ring (where only the
/// TASKRUN flag says it is there) and on a plain one; the same wait without
/// a spin sleeps (which shows the count can see a sleep).
#[test]
fn spinning_wait_takes_a_completion_without_sleeping() {
    let deferred = || {
        IoUring::builder()
            .single_issuer()
            .defer_taskrun()
            .taskrun_flag()
            .build(4)
            .unwrap()
    };
    let plain = || IoUring::new(4).unwrap();
    for (name, make) in [
        ("defer_taskrun", &deferred as &dyn Fn() -> IoUring),
        ("plain", &plain),
    ] {
        for spin in [Duration::ZERO, Duration::from_secs(5)] {
            let mut ring = make();
            let (r, w) = common::pipe();
            let (writer, buf) = arm_late_pipe_read(&mut ring, &r, w, Duration::from_millis(20));
            let sleeps = Sleeps::of_this_thread();
            let before = sleeps.now();
            let spun = ring.submitter().submit_and_spin(1, spin).unwrap();
            assert_eq!(spun.waited, spin.is_zero(), "{name}, spin {spin:?}");
            let slept = sleeps.now() - before;
            let c: Vec<_> = ring.completion().collect();
            writer.finish();
            assert_eq!(c.len(), 1, "{name}, spin {spin:?}");
            assert_eq!(c[0].result(), Ok(1), "{name}, spin {spin:?}");
            assert_eq!(buf[0], b'x');
            if spin.is_zero() {
                assert!(slept >= 1, "{name}: a plain wait for a late byte sleeps");
            } else {
                assert_eq!(slept, 0, "{name}: the spin caught the completion");
            }
        }
    }
}

/// When nothing arrives within the spin, the spinning wait sleeps in the
/// kernel like `submit_and_wait`, and still returns with the completion.
#[test]
fn spinning_wait_sleeps_once_the_spin_runs_out() {
    let mut ring = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .taskrun_flag()
        .build(4)
        .unwrap();
    let (r, w) = common::pipe();
    let (writer, _buf) = arm_late_pipe_read(&mut ring, &r, w, Duration::from_millis(100));
    let sleeps = Sleeps::of_this_thread();
    let before = sleeps.now();
    let start = Instant::now();
    let spun = ring
        .submitter()
        .submit_and_spin(1, Duration::from_millis(2))
        .unwrap();
    assert!(spun.waited);
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(sleeps.now() > before);
    assert_eq!(ring.completion().count(), 1);
    writer.finish();
}

/// A `defer_taskrun` ring without `taskrun_flag` posts its completions
/// only when entered, so polling can never see them: the spinning wait
/// then waits in the kernel at once, and returns when the completion comes
/// even with a spin that never runs out (it used to poll forever).
#[test]
fn spinning_wait_on_a_ring_polling_cannot_see_waits_at_once() {
    let (done_tx, done) = std::sync::mpsc::channel();
    // The ring is single-issuer: made and used on the thread that waits.
    std::thread::spawn(move || {
        let mut ring = IoUring::builder()
            .single_issuer()
            .defer_taskrun()
            .build(4)
            .unwrap();
        let (r, w) = common::pipe();
        let (writer, buf) = arm_late_pipe_read(&mut ring, &r, w, Duration::from_millis(20));
        let spun = ring.submitter().submit_and_spin(1, Duration::MAX);
        let n = ring.completion().count();
        writer.finish();
        drop(buf);
        done_tx.send((spun, n)).unwrap();
    });
    let (spun, n) = done
        .recv_timeout(Duration::from_secs(10))
        .expect("the spinning wait returned");
    assert!(spun.unwrap().waited);
    assert_eq!(n, 1);
}

/// Under SQPOLL an enter reports the count it was given, whether or not the
/// SQ thread has taken those entries yet, and the kernel's head can lag the
/// completions of entries it took: the waits count each published entry
/// once, in the first call after it was published (they used to count
/// entries twice when they entered twice, and a head read too early counted
/// the last round's entries again).
#[test]
fn sqpoll_waits_count_each_entry_once() {
    let mut ring = IoUring::builder().sqpoll(1).build(16).unwrap();
    let nop = opcode::Nop::new().build();
    for round in 0..10_000u32 {
        {
            let mut sq = ring.submission();
            for _ in 0..8 {
                // SAFETY: a NOP points to nothing.
                unsafe { sq.push(&nop).unwrap() };
            }
        }
        let submitted = if round % 2 == 0 {
            ring.submitter()
                .submit_and_spin(8, Duration::from_micros(20))
                .unwrap()
                .submitted
        } else {
            ring.submitter().submit_and_wait(8).unwrap()
        };
        assert_eq!(submitted, 8, "round {round}");
        assert_eq!(ring.completion().count(), 8, "round {round}");
    }
}
