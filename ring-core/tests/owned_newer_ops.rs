//! The safe tier's forms of the newer opcodes that point the kernel at
//! memory or descriptors (futexes, pipe, epoll, waitid, xattrs), each
//! checked by its effect against the running kernel: a woken waiter, bytes
//! through the new pipe, the ready fd's data, the child's exit status, the
//! attribute read back. Where the kernel lacks an opcode the test says so
//! and skips. No `unsafe` here.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;

use std::io::{Read as _, Write as _};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{
    self, op::EpollCtl, op::EpollWait, op::FutexWait, op::FutexWaitv, op::FutexWake, op::GetXattr,
    op::InstallFixed, op::Pipe, op::Read, op::ReadMulti, op::ReadvFixed, op::SetXattr, op::Waitid,
    op::WritevFixed, Ring, SharedFd, Store,
};
use ring_core::{opcode, Errno};

fn wait_all<S: Store>(ring: &mut Ring<S>, want: usize) -> Vec<owned::Completion<S>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while out.len() < want {
        assert!(Instant::now() < deadline, "only {} of {want}", out.len());
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(100));
        out.extend(ring.completions());
    }
    out
}

fn one<S: Store>(ring: &mut Ring<S>) -> owned::Completion<S> {
    wait_all(ring, 1).pop().unwrap()
}

/// Whether nothing completes within `ms` milliseconds (submitting first).
fn quiet_for<S: Store>(ring: &mut Ring<S>, ms: u64) -> bool {
    let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(ms));
    ring.completions().count() == 0
}

/// Whether the running kernel has `code`; prints why a test skips if not.
fn supported<S: Store>(ring: &Ring<S>, code: u8, name: &str) -> bool {
    let has = ring.raw().probe().unwrap().is_supported(code);
    if !has {
        eprintln!("skipped: this kernel has no {name} (opcode {code})");
    }
    has
}

/// A wait on the ring sleeps while the word holds its value and is
/// released by a wake from another thread's `futex` syscall; a wake on the
/// ring releases a wait on the ring and reports one waiter woken; a wait on
/// a value the word does not hold fails with EAGAIN.
#[test]
fn futex_wait_and_wake_release_waiters() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::FutexWait::CODE, "FUTEX_WAIT") {
        return;
    }
    let word = Arc::new(AtomicU32::new(0));
    ring.push(FutexWait::new(&word, 1)).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::AGAIN));

    let t = ring.push(FutexWait::new(&word, 0)).unwrap();
    assert!(quiet_for(&mut ring, 50), "the waiter sleeps");
    let waker = {
        let word = word.clone();
        std::thread::spawn(move || {
            word.store(1, Ordering::SeqCst);
            rustix::thread::futex::wake(&word, rustix::thread::futex::Flags::PRIVATE, 1).unwrap()
        })
    };
    let c = one(&mut ring);
    assert_eq!((c.token(), c.result()), (t, Ok(0)), "woken by the thread");
    assert_eq!(
        waker.join().unwrap(),
        1,
        "the thread woke the ring's waiter"
    );

    let t = ring.push(FutexWait::new(&word, 1)).unwrap();
    assert!(quiet_for(&mut ring, 50), "the waiter sleeps");
    let w = ring.push(FutexWake::new(&word, 1)).unwrap();
    let c = wait_all(&mut ring, 2);
    assert_eq!(c.iter().find(|c| c.token() == w).unwrap().result(), Ok(1));
    assert_eq!(c.iter().find(|c| c.token() == t).unwrap().result(), Ok(0));
}

/// A wait on several words reports which one was woken.
#[test]
fn futex_waitv_reports_the_woken_word() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::FutexWaitv::CODE, "FUTEX_WAITV") {
        return;
    }
    let a = Arc::new(AtomicU32::new(0));
    let b = Arc::new(AtomicU32::new(5));
    let t = ring.push(FutexWaitv::new(&[(&a, 0), (&b, 5)])).unwrap();
    assert!(quiet_for(&mut ring, 50), "the waiter sleeps");
    ring.push(FutexWake::new(&b, 1)).unwrap();
    let c = wait_all(&mut ring, 2);
    assert_eq!(c.iter().find(|c| c.token() == t).unwrap().result(), Ok(1));
}

/// The attack: a wait linked behind a blocking read starts (and reads its
/// word) only after the user has dropped every handle to the word. The
/// operation's own handle keeps the word: the wait finds the value and
/// sleeps, rather than reading freed memory, until it is cancelled; then
/// the word comes back with the operation, unchanged.
#[test]
fn a_late_futex_wait_reads_the_word_it_holds() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::FutexWait::CODE, "FUTEX_WAIT") {
        return;
    }
    let (r, mut w) = common::pipe();
    let word = Arc::new(AtomicU32::new(7));
    let (_, wait) = ring
        .push_linked(Read::new(r, vec![0u8; 1]), FutexWait::new(&word, 7))
        .unwrap();
    ring.submit().unwrap();
    drop(word);
    // Memory the allocator may hand out where the word was.
    let reuse: Vec<Box<u32>> = (0..64).map(|_| Box::new(0xdead)).collect();
    w.write_all(b"x").unwrap();
    let read = one(&mut ring);
    assert_eq!(read.result(), Ok(1));
    assert!(quiet_for(&mut ring, 50), "the wait saw 7 and sleeps");
    ring.cancel(wait).unwrap();
    let c = wait_all(&mut ring, 2);
    let mut back = c.into_iter().find(|c| c.token() == wait).unwrap();
    assert_eq!(back.result(), Err(Errno::CANCELED));
    let op: FutexWait = back.take_op().unwrap();
    assert_eq!(op.word().load(Ordering::SeqCst), 7);
    drop(reuse);
}

/// The pipe the ring creates works: bytes written into one end come out of
/// the other; the ends are the caller's (they outlive the operation).
#[test]
fn pipe_hands_back_two_working_owned_ends() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::Pipe::CODE, "PIPE") {
        return;
    }
    ring.push(Pipe::new()).unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0));
    let mut op: Pipe = c.take_op().unwrap();
    let (r, w) = op.take_fds().expect("both ends");
    assert!(op.take_fds().is_none(), "each end is given once");
    drop(op);
    let (mut r, mut w) = (std::fs::File::from(r), std::fs::File::from(w));
    w.write_all(b"piped").unwrap();
    drop(w);
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"piped");
    assert!(Pipe::new().take_fds().is_none(), "nothing before it ran");
}

/// An epoll_ctl on the ring adds the pipe; an epoll_wait on the ring sleeps
/// until the pipe is readable, then reports one event with the data given
/// at add. The wait holds the epoll descriptor, which the user dropped.
#[test]
fn epoll_ctl_and_wait_report_the_ready_fd() {
    const EPOLLIN: u32 = 0x1;
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::EpollWait::CODE, "EPOLL_WAIT") {
        return;
    }
    let ep = SharedFd::new(
        rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC).unwrap(),
    );
    let (r, mut w) = common::pipe();
    let r = SharedFd::new(r);
    ring.push(EpollCtl::add(&ep, &r, EPOLLIN, 77)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    ring.push(EpollWait::new(&ep, 4)).unwrap();
    drop(ep);
    assert!(quiet_for(&mut ring, 50), "nothing ready yet");
    w.write_all(b"x").unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(1));
    let op: EpollWait = c.take_op().unwrap();
    let ev = op.events()[0];
    let (events, data) = (ev.events, ev.data);
    assert_eq!(data, 77);
    assert_eq!(events & EPOLLIN, EPOLLIN);
}

/// A wait for more events than the kernel allows (`EP_MAX_EVENTS`) is
/// refused with `EINVAL` and allocates no array for them; the largest
/// allowed count still allocates what it asks (not tried: 2 GiB).
#[test]
fn epoll_wait_for_too_many_events_is_einval_not_an_allocation() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::EpollWait::CODE, "EPOLL_WAIT") {
        return;
    }
    let ep = SharedFd::new(
        rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC).unwrap(),
    );
    for max in [u32::MAX, i32::MAX as u32 / 12 + 1, 0] {
        let wait = EpollWait::new(&ep, max);
        assert!(wait.events().is_empty(), "{max}");
        ring.push(wait).unwrap();
        assert_eq!(one(&mut ring).result(), Err(Errno::INVAL), "{max}");
    }
}

/// A waitid on the ring reports the child's pid, CLD_EXITED and its exit
/// status, by pid and by pidfd.
#[test]
fn waitid_reports_a_childs_exit() {
    const WEXITED: u32 = 4;
    const CLD_EXITED: i32 = 1;
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::Waitid::CODE, "WAITID") {
        return;
    }
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 7"])
        .spawn()
        .unwrap();
    ring.push(Waitid::pid(child.id(), WEXITED)).unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0));
    let op: Waitid = c.take_op().unwrap();
    let info = op.siginfo();
    assert_eq!(info.pid(), child.id() as i32);
    assert_eq!(info.code(), CLD_EXITED);
    assert_eq!(info.status(), 7);
    assert!(child.wait().is_err(), "the ring reaped it: ECHILD");

    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .spawn()
        .unwrap();
    let pidfd = SharedFd::new(
        rustix::process::pidfd_open(
            rustix::process::Pid::from_child(&child),
            rustix::process::PidfdFlags::empty(),
        )
        .unwrap(),
    );
    ring.push(Waitid::pidfd(&pidfd, WEXITED)).unwrap();
    drop(pidfd);
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0));
    let op: Waitid = c.take_op().unwrap();
    assert_eq!(op.siginfo().pid(), child.id() as i32);
    assert_eq!(op.siginfo().status(), 3);
    assert!(child.wait().is_err(), "the ring reaped it: ECHILD");
}

/// An attribute set by path is read back by descriptor (and by path); a
/// buffer too small gives ERANGE, a missing name ENODATA.
#[test]
fn xattrs_set_and_read_back() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::SetXattr::CODE, "SETXATTR") {
        return;
    }
    let (path, file) = common::temp_file("owned-xattr");
    ring.push(SetXattr::path(&path, "user.ring", b"core".to_vec()).unwrap())
        .unwrap();
    match one(&mut ring).result() {
        Ok(0) => {}
        Err(Errno::OPNOTSUPP) => {
            eprintln!("skipped: the temp directory's filesystem has no user xattrs");
            std::fs::remove_file(path).unwrap();
            return;
        }
        other => panic!("setxattr: {other:?}"),
    }
    let file = SharedFd::new(file);
    ring.push(GetXattr::fd(&file, "user.ring", 16).unwrap())
        .unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(4));
    assert_eq!(&c.take_op::<GetXattr>().unwrap().into_value()[..4], b"core");

    ring.push(SetXattr::fd(&file, "user.ring", b"changed".to_vec()).unwrap())
        .unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    ring.push(GetXattr::path(&path, "user.ring", 16).unwrap())
        .unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(7));
    assert_eq!(
        &c.take_op::<GetXattr>().unwrap().into_value()[..7],
        b"changed"
    );

    ring.push(GetXattr::path(&path, "user.ring", 2).unwrap())
        .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::RANGE));
    ring.push(GetXattr::fd(&file, "user.missing", 16).unwrap())
        .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::NODATA));
    // XATTR_CREATE on an existing name.
    ring.push(
        SetXattr::path(&path, "user.ring", b"x".to_vec())
            .unwrap()
            .flags(1),
    )
    .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::EXIST));
    assert!(SetXattr::path(&path, "user.a\0b", vec![]).is_err());
    // A size past the kernel's 64 KiB cap gets a buffer of the cap (not
    // 4 GiB), and the value still reads.
    let huge = GetXattr::path(&path, "user.ring", u32::MAX as usize).unwrap();
    ring.push(huge).unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(7));
    let value = c.take_op::<GetXattr>().unwrap().into_value();
    assert_eq!((value.len(), &value[..7]), (64 * 1024, &b"changed"[..]));
    std::fs::remove_file(path).unwrap();
}

/// A multishot read of a pipe delivers each write in its own buffer of the
/// buffer ring, and ends (handing the operation back) at end of file.
#[test]
fn read_multishot_delivers_several_buffers() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::ReadMultishot::CODE, "READ_MULTISHOT") {
        return;
    }
    let bufs = Rc::new(BufRing::builder(5, 4, 64).build(ring.raw()).unwrap());
    let (r, mut w) = common::pipe();
    let t = ring.push(ReadMulti::new(r, bufs.clone())).unwrap();
    drop(bufs);
    let mut got = Vec::new();
    for word in [&b"one"[..], b"two", b"three"] {
        w.write_all(word).unwrap();
        let mut c = one(&mut ring);
        assert_eq!(c.token(), t);
        assert!(c.more() && !c.is_final());
        got.push(c.take_buf().expect("a buffer").to_vec());
    }
    assert_eq!(
        got,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    drop(w);
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0), "end of file");
    assert!(c.take_op::<ReadMulti>().is_some());
}

/// A multishot read whose buffer ring belongs to another ring is refused:
/// the group id would name the other ring's group here.
#[test]
fn read_multishot_with_another_rings_buffers_is_refused() {
    let ring_x = Ring::new(8).unwrap();
    let bufs_x = Rc::new(BufRing::builder(6, 4, 64).build(ring_x.raw()).unwrap());
    let mut ring_y = Ring::new(8).unwrap();
    let _bufs_y = BufRing::builder(6, 4, 64).build(ring_y.raw()).unwrap();
    let (r, _w) = common::pipe();
    match ring_y.push(ReadMulti::new(r, bufs_x)) {
        Err(owned::PushError::WrongRing(_)) => {}
        other => panic!("expected WrongRing, got {other:?}"),
    }
}

/// A registered file installed as a normal descriptor comes back owned and
/// reads the registered file; a slot of another ring's table is refused.
#[test]
fn install_fixed_gives_an_owned_descriptor_of_the_slot() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::FixedFdInstall::CODE, "FIXED_FD_INSTALL") {
        return;
    }
    let (path, file) = common::temp_file("owned-install");
    std::fs::write(&path, b"slot").unwrap();
    let files = owned::Files::register(ring.raw(), 2).unwrap();
    let fixed = files.install(&file).unwrap();
    drop(file);
    ring.push(InstallFixed::new(&fixed)).unwrap();
    let mut c = one(&mut ring);
    let mut f = std::fs::File::from(c.take_fd().expect("an owned descriptor"));
    let mut got = String::new();
    f.read_to_string(&mut got).unwrap();
    assert_eq!(got, "slot");

    let mut other = Ring::new(8).unwrap();
    let _other_files = owned::Files::register(other.raw(), 2).unwrap();
    match other.push(InstallFixed::new(&fixed)) {
        Err(owned::PushError::WrongRing(_)) => {}
        r => panic!("expected WrongRing, got {r:?}"),
    }
    std::fs::remove_file(path).unwrap();
}

/// A vectored write of two ranges of a registered buffer puts them in the
/// file in order; a vectored read fills a range of it from the file. A
/// range outside the buffer is refused before anything is pushed, and a
/// buffer of another ring's pool is refused at push.
#[test]
fn readv_and_writev_fixed_use_ranges_of_the_registered_buffer() {
    let mut ring = Ring::new(8).unwrap();
    if !supported(&ring, opcode::ReadvFixed::CODE, "READV_FIXED") {
        return;
    }
    let pool = owned::FixedBufs::register(ring.raw(), 2, 64).unwrap();
    let mut buf = pool.take().unwrap();
    buf[..6].copy_from_slice(b"abcdef");
    let (path, file) = common::temp_file("owned-vfixed");
    let file = SharedFd::new(file);
    ring.push(WritevFixed::new(&file, buf, &[3..6, 0..3]).unwrap())
        .unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(6));
    assert_eq!(std::fs::read(&path).unwrap(), b"defabc");
    let buf = c.take_op::<WritevFixed>().unwrap().into_buf();

    ring.push(ReadvFixed::new(&file, buf, &[40..43, 32..35]).unwrap())
        .unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(6));
    let buf = c.take_op::<ReadvFixed>().unwrap().into_buf();
    assert_eq!(&buf[32..35], b"abc");
    assert_eq!(&buf[40..43], b"def");

    let err = ReadvFixed::new(&file, buf, &[0..2, 60..65]).unwrap_err();
    assert!(err.to_string().contains("outside its buffer"), "{err}");

    let other = Ring::new(8).unwrap();
    let other_pool = owned::FixedBufs::register(other.raw(), 1, 64).unwrap();
    match ring.push(WritevFixed::new(&file, other_pool.take().unwrap(), &[0..2, 2..4]).unwrap()) {
        Err(owned::PushError::WrongRing(_)) => {}
        r => panic!("expected WrongRing, got {r:?}"),
    }
    std::fs::remove_file(path).unwrap();
}
