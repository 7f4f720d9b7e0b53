//! The registrations added to cover all of Linux 6.18, each against the
//! running kernel and checked by its effect. Where an op needs hardware
//! this machine lacks (a NIC for zero-copy receive) the test checks the
//! kernel's refusal and says why it skips.

mod common;

use std::io::Read as _;
use std::os::fd::AsFd;
use std::time::Duration;

use ring_core::control::{Clock, Napi, RegionDesc, ZcrxAreaReg, ZcrxIfqReg};
use ring_core::opcode::{self, CancelBy};
use ring_core::types::{Fixed, IoVec};
use ring_core::{Errno, Error, IoUring};

fn errno(r: Result<impl std::fmt::Debug, Error>) -> Errno {
    r.unwrap_err().errno().expect("an errno")
}

fn nop(ud: u64) -> ring_core::squeue::Entry {
    opcode::Nop::new().build().user_data(ud)
}

#[test]
fn a_resized_ring_keeps_its_entries() {
    let mut ring = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .no_sqarray()
        .build(4)
        .unwrap();
    // Two completed and reaped, two completed and not reaped, two pushed and not submitted.
    let done = common::run(&mut ring, &[nop(1), nop(2)], 2);
    assert_eq!(done.len(), 2);
    {
        let mut sq = ring.submission();
        // SAFETY: NOPs point to nothing.
        unsafe { sq.push_multiple(&[nop(3), nop(4)]).unwrap() };
    }
    ring.submit_and_wait(2).unwrap();
    {
        let mut sq = ring.submission();
        // SAFETY: NOPs point to nothing.
        unsafe { sq.push_multiple(&[nop(5), nop(6)]).unwrap() };
    }
    assert_eq!(ring.completion().len(), 2, "3 and 4 wait in the CQ");

    ring.resize(32, 128).unwrap();
    assert_eq!(ring.params().sq_entries(), 32);
    assert_eq!(ring.params().cq_entries(), 128);
    assert_eq!(ring.submission().capacity(), 32);
    assert_eq!(ring.completion().len(), 2, "unreaped completions moved");
    // The pushed entries moved too: submitting now runs them.
    assert_eq!(ring.submit_and_wait(4).unwrap(), 2);
    let mut seen: Vec<u64> = ring.completion().map(|c| c.user_data()).collect();
    seen.sort();
    assert_eq!(seen, [3, 4, 5, 6]);
    // And the new ring takes more than the old one could.
    let many: Vec<_> = (10..42).map(nop).collect();
    assert_eq!(common::run(&mut ring, &many, 32).len(), 32);

    // Without NO_SQARRAY or DEFER_TASKRUN it is refused before the kernel.
    let mut plain = IoUring::new(4).unwrap();
    assert!(matches!(plain.resize(8, 0), Err(Error::InvalidArgument(_))));
    let mut with_array = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .build(4)
        .unwrap();
    assert!(matches!(
        with_array.resize(8, 0),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn sync_cancel_stops_a_pending_read() {
    let mut ring = IoUring::new(4).unwrap();
    let (r, _w) = common::pipe();
    let mut buf = [0u8; 8];
    {
        let read = opcode::Read::new(&r, buf.as_mut_ptr(), 8)
            .offset(u64::MAX)
            .build()
            .user_data(7);
        let mut sq = ring.submission();
        // SAFETY: `buf` outlives the read, which is reaped below.
        unsafe { sq.push(&read).unwrap() };
    }
    ring.submit().unwrap();
    let n = ring
        .submitter()
        .register_sync_cancel(CancelBy::UserData(7), false, Some(Duration::from_secs(1)))
        .unwrap();
    assert_eq!(n, 0);
    // The read is already done when the call returns.
    let c: Vec<_> = ring.completion().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].result(), Err(Errno::CANCELED));
    // Nothing left to match.
    let again = ring
        .submitter()
        .register_sync_cancel(CancelBy::UserData(7), false, None);
    assert_eq!(errno(again), Errno::NOENT);
}

#[test]
fn napi_settings_are_kept_and_reported_back() {
    let ring = IoUring::new(4).unwrap();
    let before = match ring.submitter().register_napi(Napi::new(100, true)) {
        Err(e) if e.errno() == Some(Errno::INVAL) => {
            eprintln!("skipped: this kernel has no IORING_REGISTER_NAPI (6.9)");
            return;
        }
        r => r.unwrap(),
    };
    assert_eq!(before.busy_poll_to, 0, "off before");
    let was = ring.submitter().unregister_napi().unwrap();
    assert_eq!(was.busy_poll_to, 100);
    assert_eq!(was.prefer_busy_poll, 1);
}

#[test]
fn register_clock_accepts_the_wait_clocks() {
    let mut ring = IoUring::new(4).unwrap();
    ring.submitter().register_clock(Clock::Boottime).unwrap();
    // A timed wait still times out (measured on the new clock).
    let r = ring
        .submitter()
        .submit_and_wait_timeout(1, Duration::from_millis(10));
    assert_eq!(r, Err(ring_core::SubmitError::TimedOut));
    ring.submitter().register_clock(Clock::Monotonic).unwrap();
    assert_eq!(common::run(&mut ring, &[nop(1)], 1).len(), 1);
}

#[test]
fn cloned_buffers_write_the_source_rings_memory() {
    let src = IoUring::new(4).unwrap();
    let mut dst = IoUring::new(4).unwrap();
    let mem = b"shared buffer".to_vec();
    let reg = [IoVec {
        iov_base: mem.as_ptr().cast_mut().cast(),
        iov_len: mem.len(),
    }];
    // SAFETY: `mem` outlives both rings' registrations (both rings drop
    // before it, declared after it).
    unsafe { src.submitter().register_buffers(&reg) }.unwrap();
    // SAFETY: as above, for the clone in `dst`.
    unsafe { dst.submitter().register_clone_buffers(&src, 0, 0, 1, false) }.unwrap();
    let (mut r, w) = common::pipe();
    let write = opcode::WriteFixed::new(&w, mem.as_ptr(), mem.len() as u32, 0)
        .offset(u64::MAX)
        .build();
    let c = common::run(&mut dst, &[write], 1);
    assert_eq!(c[0].result(), Ok(mem.len() as u32));
    let mut got = vec![0u8; mem.len()];
    r.read_exact(&mut got).unwrap();
    assert_eq!(got, mem);
    drop(dst);
    drop(src);
}

#[test]
fn tagged_file_updates_post_the_tag_when_the_file_leaves() {
    let mut ring = IoUring::new(4).unwrap();
    ring.submitter().register_files_sparse(2).unwrap();
    let (mut r, w) = common::pipe();
    // SAFETY: a raw ring with no safe-tier file table (so any tag may come
    // back); the raw write below expects `w` at slot 0.
    let n = unsafe {
        ring.submitter()
            .register_files_update_tagged(0, &[Some(w.as_fd())], &[0xfeed])
    }
    .unwrap();
    assert_eq!(n, 1);
    let msg = b"tagged";
    let write = opcode::Write::new(Fixed(0), msg.as_ptr(), 6)
        .offset(u64::MAX)
        .build();
    assert_eq!(common::run(&mut ring, &[write], 1)[0].result(), Ok(6));
    let mut got = [0u8; 6];
    r.read_exact(&mut got).unwrap();
    assert_eq!(&got, msg);
    // Emptying the slot releases the file: its tag comes back as a CQE.
    // SAFETY: as above; nothing is in flight.
    unsafe {
        ring.submitter()
            .register_files_update_tagged(0, &[None], &[0])
    }
    .unwrap();
    let c = common::reap(&mut ring, 1);
    assert_eq!(c[0].user_data(), 0xfeed);
    assert!(matches!(
        // SAFETY: refused before the kernel is asked.
        unsafe {
            ring.submitter()
                .register_files_update_tagged(0, &[None, None], &[0])
        },
        Err(Error::InvalidArgument(_))
    ));
    drop(w);
}

#[test]
fn mem_region_holds_the_ring_to_one_region() {
    let ring = IoUring::builder().r_disabled().build(4).unwrap();
    // 64 KiB: a whole number of pages for every page size Linux uses.
    let page = 64 * 1024;
    // SAFETY: a fresh anonymous mapping aliases nothing.
    let mem = unsafe {
        rustix::mm::mmap_anonymous(
            core::ptr::null_mut(),
            page,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::PRIVATE,
        )
    }
    .unwrap();
    let mut desc = RegionDesc::user(mem.cast(), page as u64);
    // SAFETY: the mapping stays until after the ring is dropped (below).
    match unsafe { ring.submitter().register_mem_region(&mut desc, true) } {
        Err(e) if e.errno() == Some(Errno::INVAL) => {
            eprintln!("skipped: this kernel has no IORING_REGISTER_MEM_REGION (6.14)");
        }
        r => {
            r.unwrap();
            // The ring holds that region: a second one is refused.
            let mut again = desc;
            // SAFETY: as above.
            let second = unsafe { ring.submitter().register_mem_region(&mut again, true) };
            assert_eq!(errno(second), Errno::BUSY);
        }
    }
    drop(ring);
    // SAFETY: the ring that used the mapping is gone.
    unsafe { rustix::mm::munmap(mem, page) }.unwrap();
}

#[test]
fn zcrx_without_a_capable_nic_is_refused() {
    let ring = IoUring::builder()
        .single_issuer()
        .defer_taskrun()
        .cqe32()
        .build(4)
        .unwrap();
    let mut area_mem = vec![0u8; 4 * 4096];
    let area = ZcrxAreaReg::user(area_mem.as_mut_ptr(), area_mem.len() as u64);
    let mut rq = vec![0u64; 4096 / 8];
    let region = RegionDesc::user(rq.as_mut_ptr().cast(), 4096);
    // Interface 1 is loopback: no hardware queues, no header split.
    let mut reg = ZcrxIfqReg::new(1, 0, 64, &area, &region);
    // SAFETY: the area, region and their memory outlive the ring (dropped
    // at the end of this test, before them).
    let r = unsafe { ring.submitter().register_zcrx_ifq(&mut reg) };
    let e = errno(r);
    eprintln!("skipped receiving: zero-copy receive needs CAP_NET_ADMIN and a NIC with header split ({e})");
    assert!(
        [Errno::PERM, Errno::INVAL, Errno::OPNOTSUPP, Errno::NODEV].contains(&e),
        "{e:?}"
    );
    drop(ring);
}

#[test]
fn query_reports_this_kernels_opcodes() {
    let ring = IoUring::new(4).unwrap();
    let q = match ring.submitter().query_opcodes() {
        Err(e) if e.errno() == Some(Errno::INVAL) => {
            eprintln!("skipped: this kernel has no IORING_REGISTER_QUERY (6.18)");
            return;
        }
        r => r.unwrap(),
    };
    let probe = ring.probe().unwrap();
    assert_eq!(q.nr_request_opcodes, u32::from(probe.last_op()) + 1);
    assert!(q.nr_register_opcodes >= 36, "{q:?}");
    let features = u64::from(ring.params().features().bits());
    assert_eq!(q.feature_flags & features, features, "{q:?}");
    assert_eq!(q.sqe_flags & 0x7f, 0x7f, "every IOSQE_* flag: {q:?}");
}

/// `IORING_REGISTER_SEND_MSG_RING`: a message posted with no source ring
/// (fd -1, which ring-core passes with its own syscall) reaches the target
/// ring as the completion the entry describes; a non-message entry is
/// refused by the kernel.
#[test]
fn send_msg_ring_posts_without_a_source_ring() {
    let mut target = IoUring::new(4).unwrap();
    let msg = opcode::MsgRing::data(&target, 77, 0xfeed).build();
    // SAFETY: the target is a raw ring of this test that expects exactly
    // this completion; its fd is open for the call.
    unsafe { ring_core::register::send_msg_ring(&msg) }.unwrap();
    let got = common::reap(&mut target, 1);
    assert_eq!(got[0].user_data(), 0xfeed);
    assert_eq!(got[0].raw_result(), 77);
    let nop = opcode::Nop::new().build();
    // SAFETY: a NOP posts nothing anywhere.
    let err = unsafe { ring_core::register::send_msg_ring(&nop) }.unwrap_err();
    assert_eq!(err.errno(), Some(Errno::INVAL), "{err}");
}
