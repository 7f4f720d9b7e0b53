//! The ring itself against the real kernel: setup flags, params, the
//! submit/wait engine, overflow, SQPOLL, DEFER_TASKRUN, registered ring fd,
//! probe.

mod common;

use std::time::{Duration, Instant};

use ring_core::{opcode, squeue, Errno, Features, IoUring, SetupFlags, SubmitError};

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
        ("sqe128", IoUring::builder().sqe128()),
        ("cqe32", IoUring::builder().cqe32()),
        ("sqe128+cqe32", IoUring::builder().sqe128().cqe32()),
        ("no_sqarray", IoUring::builder().no_sqarray()),
        ("sqpoll", IoUring::builder().sqpoll(50)),
        ("sqpoll_cpu", IoUring::builder().sqpoll(50).sqpoll_cpu(0)),
        ("iopoll", IoUring::builder().iopoll()),
        ("raw no_sqarray", IoUring::builder().raw_flags(1 << 16)),
    ];
    for (name, b) in builders {
        let mut ring = b.build(8).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "iopoll" {
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

#[test]
fn layout_changing_raw_flags_are_refused() {
    let err = IoUring::builder().raw_flags(1 << 14).build(8).unwrap_err();
    assert!(
        matches!(err, ring_core::Error::InvalidArgument(reason) if reason.contains("NO_MMAP")),
        "{err:?}"
    );
}

#[test]
fn sqe128_and_cqe32_slots_are_strided() {
    let mut ring = IoUring::builder().sqe128().cqe32().build(4).unwrap();
    for round in 0..3u64 {
        {
            let mut sq = ring.submission();
            for i in 0..4 {
                let e =
                    squeue::Entry128::from(opcode::Nop::new().build().user_data(round * 10 + i));
                // SAFETY: NOPs point to nothing.
                unsafe { sq.push128(&e).unwrap() };
            }
        }
        ring.submit_and_wait(4).unwrap();
        let mut cq = ring.completion();
        let mut seen = Vec::new();
        while let Some(c) = cq.next32() {
            assert_eq!(c.entry.result(), Ok(0));
            seen.push(c.entry.user_data());
        }
        seen.sort();
        assert_eq!(seen, (0..4).map(|i| round * 10 + i).collect::<Vec<_>>());
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
fn submit_without_entries_makes_no_wait() {
    let ring = IoUring::new(4).unwrap();
    assert_eq!(ring.submit().unwrap(), 0);
    // wait(0) with nothing pending returns at once.
    ring.submitter().wait(0).unwrap();
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

#[test]
fn sqpoll_submits_without_enter_and_wakes_the_thread() {
    let mut ring = IoUring::builder().sqpoll(10).build(8).unwrap();
    nop_rounds(&mut ring, 8, 3);
    // Let the SQ thread fall asleep, then submit again: the submitter must
    // see NEED_WAKEUP and wake it.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !ring.submitter().sq_thread_sleeping() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        ring.submitter().sq_thread_sleeping(),
        "the SQ thread went idle"
    );
    nop_rounds(&mut ring, 8, 3);
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

#[test]
fn attach_wq_shares_workers() {
    let first = IoUring::new(4).unwrap();
    let mut second = IoUring::builder().attach_wq(&first).build(4).unwrap();
    assert!(second.params().flags().contains(SetupFlags::ATTACH_WQ));
    nop_rounds(&mut second, 4, 2);
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
