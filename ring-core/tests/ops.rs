//! Each first-tier operation against the real kernel, checking the effect
//! (file contents, fds, stat fields, timings), not only the CQE.

mod common;

use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use ring_core::opcode::{self, CancelBy};
use ring_core::squeue::Flags;
use ring_core::types::{Fd, Fixed, Timespec};
use ring_core::{Errno, IoUring};
use rustix::io_uring::iovec;

const AT_FDCWD: i32 = -100;

#[test]
fn write_then_read_a_file() {
    let mut ring = IoUring::new(8).unwrap();
    let (path, file) = common::temp_file("rw");
    let data = b"hello, ring";
    let w = opcode::Write::new(&file, data.as_ptr(), data.len() as u32)
        .offset(3)
        .build()
        .user_data(1);
    let c = common::run(&mut ring, &[w], 1);
    assert_eq!(c[0].result(), Ok(data.len() as u32));
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(&on_disk[3..], data);

    let mut buf = [0u8; 32];
    let r = opcode::Read::new(&file, buf.as_mut_ptr(), 32)
        .offset(3)
        .build()
        .user_data(2);
    let c = common::run(&mut ring, &[r], 1);
    assert_eq!(c[0].result(), Ok(data.len() as u32));
    assert_eq!(&buf[..data.len()], data);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn vectored_write_and_read() {
    let mut ring = IoUring::new(8).unwrap();
    let (path, file) = common::temp_file("vec");
    let (a, b) = (b"abc".to_vec(), b"defgh".to_vec());
    let iov = [
        iovec {
            iov_base: a.as_ptr() as *mut _,
            iov_len: a.len(),
        },
        iovec {
            iov_base: b.as_ptr() as *mut _,
            iov_len: b.len(),
        },
    ];
    let c = common::run(
        &mut ring,
        &[opcode::Writev::new(&file, iov.as_ptr(), 2).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(8));
    assert_eq!(std::fs::read(&path).unwrap(), b"abcdefgh");

    let (mut x, mut y) = ([0u8; 2], [0u8; 6]);
    let iov = [
        iovec {
            iov_base: x.as_mut_ptr().cast(),
            iov_len: 2,
        },
        iovec {
            iov_base: y.as_mut_ptr().cast(),
            iov_len: 6,
        },
    ];
    let c = common::run(
        &mut ring,
        &[opcode::Readv::new(&file, iov.as_ptr(), 2).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(8));
    assert_eq!(&x, b"ab");
    assert_eq!(&y, b"cdefgh");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn openat_statx_fsync_close() {
    let mut ring = IoUring::new(8).unwrap();
    let path = common::temp_path("open");
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let flags = (rustix::fs::OFlags::CREATE
        | rustix::fs::OFlags::RDWR
        | rustix::fs::OFlags::TRUNC
        | rustix::fs::OFlags::CLOEXEC)
        .bits();
    let open = opcode::Openat::new(AT_FDCWD, cpath.as_ptr())
        .flags(flags)
        .mode(0o640)
        .build();
    let c = common::run(&mut ring, &[open], 1);
    let fd = c[0].result().unwrap() as i32;
    assert!(fd > 2);
    // The fd is real: write through it with std.
    let data = b"0123456789";
    let w = opcode::Write::new(Fd(fd), data.as_ptr(), 10).build();
    let f = opcode::Fsync::new(Fd(fd)).datasync().build();
    let c = common::run(&mut ring, &[w.flags(Flags::IO_LINK), f], 2);
    assert!(c.iter().all(|c| c.result().is_ok()), "{c:?}");

    let mut stx = std::mem::MaybeUninit::<rustix::fs::Statx>::zeroed();
    let st = opcode::Statx::new(AT_FDCWD, cpath.as_ptr(), stx.as_mut_ptr()).build();
    let c = common::run(&mut ring, &[st], 1);
    assert_eq!(c[0].result(), Ok(0));
    // SAFETY: the kernel filled the struct (result 0); zeroed is valid too.
    let stx = unsafe { stx.assume_init() };
    assert_eq!(stx.stx_size, 10);
    assert_eq!(u32::from(stx.stx_mode) & 0o777, 0o640);

    let c = common::run(&mut ring, &[opcode::Close::new(Fd(fd)).build()], 1);
    assert_eq!(c[0].result(), Ok(0));
    // The fd is closed now: closing again fails.
    let c = common::run(&mut ring, &[opcode::Close::new(Fd(fd)).build()], 1);
    assert_eq!(c[0].result(), Err(Errno::BADF));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn timeout_relative_absolute_and_count() {
    let mut ring = IoUring::new(8).unwrap();
    // Relative: fires with ETIME after ~20 ms.
    let ts = Timespec::new(0, 20_000_000);
    let start = Instant::now();
    let c = common::run(
        &mut ring,
        &[opcode::Timeout::new(&ts).build().user_data(1)],
        1,
    );
    assert_eq!(c[0].result(), Err(Errno::TIME));
    assert!(start.elapsed() >= Duration::from_millis(18));

    // Absolute, on CLOCK_MONOTONIC, 20 ms from now.
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let mut abs = Timespec::new(now.tv_sec, now.tv_nsec + 20_000_000);
    if abs.tv_nsec >= 1_000_000_000 {
        abs.tv_sec += 1;
        abs.tv_nsec -= 1_000_000_000;
    }
    let start = Instant::now();
    let c = common::run(
        &mut ring,
        &[opcode::Timeout::new(&abs).absolute().build()],
        1,
    );
    assert_eq!(c[0].result(), Err(Errno::TIME));
    assert!(start.elapsed() >= Duration::from_millis(15));

    // Count: completes with 0 once 2 other completions have been posted,
    // long before its 10 s would pass.
    let long = Timespec::new(10, 0);
    let t = opcode::Timeout::new(&long).count(2).build().user_data(7);
    let n1 = opcode::Nop::new().build().user_data(8);
    let n2 = opcode::Nop::new().build().user_data(9);
    let c = common::run(&mut ring, &[t, n1, n2], 3);
    assert_eq!(common::by_user_data(&c)[&7].result(), Ok(0));
}

#[test]
fn multishot_timeout_fires_repeatedly() {
    let mut ring = IoUring::new(8).unwrap();
    let ts = Timespec::new(0, 5_000_000);
    let t = opcode::Timeout::new(&ts)
        .multishot()
        .count(3)
        .build()
        .user_data(3);
    let c = common::run(&mut ring, &[t], 3);
    assert_eq!(c.len(), 3);
    assert!(c[0].more() && c[1].more(), "{c:?}");
    assert!(!c[2].more(), "the last one ends it: {c:?}");
    assert!(c.iter().all(|c| c.result() == Err(Errno::TIME)));
}

#[test]
fn timeout_remove_cancels() {
    let mut ring = IoUring::new(8).unwrap();
    let long = Timespec::new(10, 0);
    let t = opcode::Timeout::new(&long).build().user_data(1);
    let rm = opcode::TimeoutRemove::new(1).build().user_data(2);
    let c = common::run(&mut ring, &[t, rm], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Err(Errno::CANCELED));
    assert_eq!(m[&2].result(), Ok(0));
    // Removing a timeout that does not exist.
    let c = common::run(&mut ring, &[opcode::TimeoutRemove::new(99).build()], 1);
    assert_eq!(c[0].result(), Err(Errno::NOENT));
}

#[test]
fn link_timeout_fires_and_cancels_the_read() {
    let mut ring = IoUring::new(8).unwrap();
    let (r, _w) = common::pipe();
    let mut buf = [0u8; 8];
    let read = opcode::Read::new(&r, buf.as_mut_ptr(), 8)
        .offset(u64::MAX)
        .build()
        .user_data(1)
        .flags(Flags::IO_LINK);
    let ts = Timespec::new(0, 10_000_000);
    let lt = opcode::LinkTimeout::new(&ts).build().user_data(2);
    let c = common::run(&mut ring, &[read, lt], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Err(Errno::CANCELED));
    assert_eq!(m[&2].result(), Err(Errno::TIME));
}

#[test]
fn linked_chain_failure_cancels_the_rest_and_hardlink_does_not() {
    let mut ring = IoUring::new(8).unwrap();
    // A read from a bad fd fails; the linked NOP and write are cancelled.
    let mut buf = [0u8; 4];
    let bad = opcode::Read::new(Fd(-1), buf.as_mut_ptr(), 4)
        .build()
        .user_data(1)
        .flags(Flags::IO_LINK);
    let n = opcode::Nop::new()
        .build()
        .user_data(2)
        .flags(Flags::IO_LINK);
    let path = common::temp_path("link");
    let file = std::fs::File::create(&path).unwrap();
    let w = opcode::Write::new(&file, b"x".as_ptr(), 1)
        .build()
        .user_data(3);
    let c = common::run(&mut ring, &[bad, n, w], 3);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Err(Errno::BADF));
    assert_eq!(m[&2].result(), Err(Errno::CANCELED));
    assert_eq!(m[&3].result(), Err(Errno::CANCELED));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "the cancelled write did not run"
    );

    // The same chain hard-linked: the write runs anyway.
    let bad = opcode::Read::new(Fd(-1), buf.as_mut_ptr(), 4)
        .build()
        .user_data(4)
        .flags(Flags::IO_HARDLINK);
    let w = opcode::Write::new(&file, b"y".as_ptr(), 1)
        .build()
        .user_data(5);
    let c = common::run(&mut ring, &[bad, w], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&4].result(), Err(Errno::BADF));
    assert_eq!(m[&5].result(), Ok(1));
    assert_eq!(std::fs::read(&path).unwrap(), b"y");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn drain_waits_for_earlier_entries() {
    let mut ring = IoUring::new(8).unwrap();
    let ts = Timespec::new(0, 20_000_000);
    let t = opcode::Timeout::new(&ts).build().user_data(1);
    let n = opcode::Nop::new()
        .build()
        .user_data(2)
        .flags(Flags::IO_DRAIN);
    let c = common::run(&mut ring, &[t, n], 2);
    // Without drain the NOP would complete first.
    assert_eq!(c[0].user_data(), 1, "{c:?}");
    assert_eq!(c[1].user_data(), 2);
}

#[test]
fn async_and_cqe_skip_success() {
    let mut ring = IoUring::new(8).unwrap();
    let a = opcode::Nop::new().build().user_data(1).flags(Flags::ASYNC);
    let s = opcode::Nop::new()
        .build()
        .user_data(2)
        .flags(Flags::CQE_SKIP_SUCCESS);
    let n = opcode::Nop::new().build().user_data(3);
    let c = common::run(&mut ring, &[a, s, n], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m.len(), 2);
    assert!(
        m.contains_key(&1) && m.contains_key(&3),
        "the skipped NOP posted nothing: {c:?}"
    );
    // A failing skip-success entry still posts.
    let mut buf = [0u8; 1];
    let bad = opcode::Read::new(Fd(-1), buf.as_mut_ptr(), 1)
        .build()
        .user_data(4)
        .flags(Flags::CQE_SKIP_SUCCESS);
    let c = common::run(&mut ring, &[bad], 1);
    assert_eq!(c[0].result(), Err(Errno::BADF));
}

#[test]
fn cancel_by_user_data_fd_any_and_all() {
    let mut ring = IoUring::new(16).unwrap();
    let (r1, _w1) = common::pipe();
    let (r2, _w2) = common::pipe();
    let mut bufs = [[0u8; 4]; 4];
    let [b0, b1, b2, b3] = &mut bufs;
    let reads = [
        opcode::Read::new(&r1, b0.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .user_data(10),
        opcode::Read::new(&r1, b1.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .user_data(11),
        opcode::Read::new(&r2, b2.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .user_data(12),
        opcode::Read::new(&r2, b3.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build()
            .user_data(13),
    ];
    {
        let mut sq = ring.submission();
        // SAFETY: the buffers outlive the completions reaped below.
        unsafe { sq.push_multiple(&reads).unwrap() };
    }
    ring.submit().unwrap();

    // By user_data.
    let c = common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::UserData(10))
            .build()
            .user_data(1)],
        2,
    );
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Ok(0));
    assert_eq!(m[&10].result(), Err(Errno::CANCELED));

    // By fd, all of them: both reads on r2.
    let by_fd = opcode::AsyncCancel::new(CancelBy::Fd(Fd(r2.as_raw_fd()).into()))
        .all()
        .build()
        .user_data(2);
    let c = common::run(&mut ring, &[by_fd], 3);
    let m = common::by_user_data(&c);
    assert_eq!(m[&2].result(), Ok(2), "two cancelled");
    assert_eq!(m[&12].result(), Err(Errno::CANCELED));
    assert_eq!(m[&13].result(), Err(Errno::CANCELED));

    // Any: the remaining read on r1. ANY matches every request, so the
    // kernel counts like ALL.
    let c = common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::Any).build().user_data(3)],
        2,
    );
    let m = common::by_user_data(&c);
    assert_eq!(m[&3].result(), Ok(1));
    assert_eq!(m[&11].result(), Err(Errno::CANCELED));

    // Nothing left.
    let c = common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::Any)
            .all()
            .build()
            .user_data(4)],
        1,
    );
    assert_eq!(c[0].result(), Ok(0), "cancel-all of nothing cancels 0");
    let c = common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::UserData(77)).build()],
        1,
    );
    assert_eq!(c[0].result(), Err(Errno::NOENT));
}

#[test]
fn poll_single_multishot_and_remove() {
    let mut ring = IoUring::new(8).unwrap();
    let (mut r, mut w) = common::pipe();
    const POLLIN: u32 = 0x1;
    // Single shot: completes once data is there.
    let p = opcode::PollAdd::new(&r, POLLIN).build().user_data(1);
    {
        let mut sq = ring.submission();
        // SAFETY: a poll points to no memory.
        unsafe { sq.push(&p).unwrap() };
    }
    ring.submit().unwrap();
    assert_eq!(ring.completion().count(), 0, "not ready yet");
    w.write_all(b"a").unwrap();
    let c = common::reap(&mut ring, 1);
    assert_eq!(c[0].result().unwrap() & POLLIN, POLLIN);
    assert!(!c[0].more());
    let mut one = [0u8; 1];
    r.read_exact(&mut one).unwrap();

    // Multishot: one completion with MORE per readiness edge.
    let p = opcode::PollAdd::new(&r, POLLIN)
        .multishot()
        .build()
        .user_data(2);
    {
        let mut sq = ring.submission();
        // SAFETY: as above.
        unsafe { sq.push(&p).unwrap() };
    }
    ring.submit().unwrap();
    for _ in 0..3 {
        w.write_all(b"b").unwrap();
        let c = common::reap(&mut ring, 1);
        assert_eq!(c[0].user_data(), 2);
        assert!(c[0].more(), "{c:?}");
        r.read_exact(&mut one).unwrap();
    }
    // Remove ends it: the poll completes without MORE.
    let c = common::run(
        &mut ring,
        &[opcode::PollRemove::new(2).build().user_data(3)],
        2,
    );
    let m = common::by_user_data(&c);
    assert_eq!(m[&3].result(), Ok(0));
    assert_eq!(m[&2].result(), Err(Errno::CANCELED));
    assert!(!m[&2].more());
}

#[test]
fn fixed_file_and_buffer_select() {
    let mut ring = IoUring::new(8).unwrap();
    let (r, mut w) = common::pipe();
    // SAFETY: no safe-tier file table on this ring; slot 0 is `r`.
    unsafe { ring.submitter().register_files(&[Some(r.as_fd())]) }.unwrap();
    // Classic provided buffers: 2 buffers of 8 bytes in group 3.
    let mut pool = vec![0u8; 16];
    let provide = opcode::ProvideBuffers::new(pool.as_mut_ptr(), 8, 2, 3, 0).build();
    let c = common::run(&mut ring, &[provide], 1);
    assert_eq!(c[0].result(), Ok(0));
    w.write_all(b"fixed").unwrap();
    let read = opcode::Read::new(Fixed(0), std::ptr::null_mut(), 8)
        .offset(u64::MAX)
        .buf_group(3)
        .build();
    assert!(read
        .get_flags()
        .contains(Flags::FIXED_FILE | Flags::BUFFER_SELECT));
    let c = common::run(&mut ring, &[read], 1);
    assert_eq!(c[0].result(), Ok(5));
    let bid = c[0].buffer_id().expect("a buffer was selected");
    assert_eq!(&pool[bid as usize * 8..bid as usize * 8 + 5], b"fixed");
    // Take the remaining buffer back.
    let c = common::run(&mut ring, &[opcode::RemoveBuffers::new(2, 3).build()], 1);
    assert_eq!(c[0].result(), Ok(1));
}
