//! The opcodes added to cover all of Linux 6.18 (`docs/ring-core.md`'s
//! coverage table), each against the running kernel and checked by its
//! effect. Where the kernel lacks an opcode the test says so and skips;
//! where an opcode needs hardware this machine lacks (zero-copy receive),
//! it checks the kernel's refusal. Every builder is also checked byte for
//! byte against the uapi layout in `src/opcode/layout.rs`.

mod common;

use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use ring_core::opcode;
use ring_core::types::{EpollEvent, Fixed, FutexWaitv, IoVec, OpenHow, Siginfo};
use ring_core::{Errno, IoUring};

const AT_FDCWD: i32 = -100;

/// Whether the running kernel has `code`; prints why a test skips if not.
fn supported(ring: &IoUring, code: u8, name: &str) -> bool {
    let has = ring.probe().unwrap().is_supported(code);
    if !has {
        eprintln!("skipped: this kernel has no {name} (opcode {code})");
    }
    has
}

/// Pushes one entry and submits it, without waiting.
fn start(ring: &mut IoUring, e: ring_core::squeue::Entry) {
    {
        let mut sq = ring.submission();
        // SAFETY: every caller keeps what `e` points to alive until it has
        // reaped the entry's final completion.
        unsafe { sq.push(&e).unwrap() };
    }
    ring.submit().unwrap();
}

/// Whether a completion is ready after a short wait (without consuming it).
fn completes_within(ring: &mut IoUring, ms: u64) -> bool {
    match ring
        .submitter()
        .submit_and_wait_timeout(1, Duration::from_millis(ms))
    {
        Ok(_) => ring.submitter().completions_ready() > 0,
        Err(ring_core::SubmitError::TimedOut) => false,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn sync_file_range_reaches_the_file() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::SyncFileRange::CODE, "SYNC_FILE_RANGE") {
        return;
    }
    let (_path, mut file) = common::temp_file("sfr");
    file.write_all(&[7u8; 8192]).unwrap();
    // WAIT_BEFORE | WRITE | WAIT_AFTER over the whole file.
    let ok = opcode::SyncFileRange::new(&file, 0).flags(7).build();
    // An unknown flag bit is refused: the flags field reaches the kernel.
    let bad = opcode::SyncFileRange::new(&file, 0)
        .flags(8)
        .build()
        .user_data(1);
    let (r, w) = common::pipe();
    let on_pipe = opcode::SyncFileRange::new(&r, 0).build().user_data(2);
    let c = common::run(&mut ring, &[ok, bad, on_pipe], 3);
    let m = common::by_user_data(&c);
    assert_eq!(m[&0].result(), Ok(0));
    assert_eq!(m[&1].result(), Err(Errno::INVAL));
    assert_eq!(m[&2].result(), Err(Errno::SPIPE));
    drop(w);
}

#[test]
fn files_update_fills_a_registered_slot() {
    let mut ring = IoUring::new(4).unwrap();
    ring.submitter().register_files_sparse(4).unwrap();
    let (mut r, w) = common::pipe();
    let fds = [w.as_raw_fd()];
    let up = opcode::FilesUpdate::new(fds.as_ptr(), 1, 2).build();
    let c = common::run(&mut ring, &[up], 1);
    assert_eq!(c[0].result(), Ok(1), "one slot updated");
    drop(w); // the table holds its own reference
    let msg = b"via slot 2";
    let write = opcode::Write::new(Fixed(2), msg.as_ptr(), msg.len() as u32)
        .offset(u64::MAX)
        .build();
    let c = common::run(&mut ring, &[write], 1);
    assert_eq!(c[0].result(), Ok(msg.len() as u32));
    let mut got = [0u8; 10];
    r.read_exact(&mut got).unwrap();
    assert_eq!(&got, msg);
}

#[test]
fn fadvise_is_parsed_and_madvise_dontneed_zeroes_pages() {
    let mut ring = IoUring::new(4).unwrap();
    let (_path, mut file) = common::temp_file("fadv");
    file.write_all(&[1u8; 4096]).unwrap();
    // POSIX_FADV_DONTNEED = 4; advice 99 does not exist.
    let good = opcode::Fadvise::new(&file, 0, 4096, 4).build();
    let bad = opcode::Fadvise::new(&file, 0, 4096, 99)
        .build()
        .user_data(1);
    let c = common::by_user_data(&common::run(&mut ring, &[good, bad], 2));
    assert_eq!(c[&0].result(), Ok(0));
    assert_eq!(c[&1].result(), Err(Errno::INVAL));

    // 64 KiB: a whole number of pages for every page size Linux uses.
    let page = 64 * 1024;
    // SAFETY: a fresh private anonymous mapping aliases nothing.
    let map = unsafe {
        rustix::mm::mmap_anonymous(
            core::ptr::null_mut(),
            page,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::PRIVATE,
        )
    }
    .unwrap()
    .cast::<u8>();
    // SAFETY: `map` is `page` writable bytes owned by this test.
    unsafe { map.write_bytes(0xab, page) };
    // MADV_DONTNEED = 4: a private anonymous page reads back as zeroes.
    let e = opcode::Madvise::new(map, page as u32, 4).build();
    let c = common::run(&mut ring, &[e], 1);
    assert_eq!(c[0].result(), Ok(0));
    // SAFETY: the mapping is still there; the kernel is done with it.
    let first = unsafe { map.read_volatile() };
    assert_eq!(first, 0, "the page was dropped");
    // SAFETY: unmapping the mapping made above, used no more.
    unsafe { rustix::mm::munmap(map.cast(), page) }.unwrap();
}

#[test]
fn openat2_applies_resolve_flags() {
    let mut ring = IoUring::new(4).unwrap();
    let dir = common::temp_path("openat2-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("inside"), b"in").unwrap();
    let dirfd = std::fs::File::open(&dir).unwrap();
    // O_RDONLY | O_CLOEXEC, RESOLVE_BENEATH (0x08).
    let how = OpenHow {
        flags: 0o2000000,
        mode: 0,
        resolve: 0x08,
    };
    let inside = CString::new("inside").unwrap();
    let outside = CString::new("../").unwrap();
    let a = opcode::Openat2::new(dirfd.as_raw_fd(), inside.as_ptr(), &how).build();
    let b = opcode::Openat2::new(dirfd.as_raw_fd(), outside.as_ptr(), &how)
        .build()
        .user_data(1);
    let c = common::by_user_data(&common::run(&mut ring, &[a, b], 2));
    let fd = c[&0].result().unwrap() as i32;
    // SAFETY: the kernel just opened `fd` for us; nobody else owns it.
    let mut f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "in");
    assert_eq!(
        c[&1].result(),
        Err(Errno::XDEV),
        "RESOLVE_BENEATH refused .."
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn epoll_ctl_adds_and_epoll_wait_returns_the_ready_fd() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::EpollWait::CODE, "EPOLL_WAIT") {
        return;
    }
    let ep = rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC).unwrap();
    let (r, mut w) = common::pipe();
    let ev = EpollEvent {
        events: 0x001, // EPOLLIN
        data: 77,
    };
    let add = opcode::EpollCtl::new(&ep, r.as_raw_fd(), 1, &ev).build(); // EPOLL_CTL_ADD
    let c = common::run(&mut ring, &[add], 1);
    assert_eq!(c[0].result(), Ok(0));

    let mut events = [EpollEvent::default(); 4];
    start(
        &mut ring,
        opcode::EpollWait::new(&ep, events.as_mut_ptr(), 4)
            .build()
            .user_data(9),
    );
    assert!(!completes_within(&mut ring, 50), "nothing is ready yet");
    w.write_all(b"x").unwrap();
    let c = common::reap(&mut ring, 1);
    assert_eq!(c[0].result(), Ok(1));
    let got = events[0];
    assert_eq!({ got.data }, 77);
    assert_ne!({ got.events } & 0x001, 0);
}

#[test]
fn symlinkat_and_linkat_make_links() {
    let mut ring = IoUring::new(4).unwrap();
    let (path, _file) = common::temp_file("link-target");
    let sym = common::temp_path("symlink");
    let hard = common::temp_path("hardlink");
    let _ = std::fs::remove_file(&sym);
    let _ = std::fs::remove_file(&hard);
    let target = CString::new(path.to_str().unwrap()).unwrap();
    let sym_c = CString::new(sym.to_str().unwrap()).unwrap();
    let hard_c = CString::new(hard.to_str().unwrap()).unwrap();
    let s = opcode::Symlinkat::new(target.as_ptr(), AT_FDCWD, sym_c.as_ptr()).build();
    let h = opcode::Linkat::new(AT_FDCWD, target.as_ptr(), AT_FDCWD, hard_c.as_ptr())
        .build()
        .user_data(1);
    let c = common::by_user_data(&common::run(&mut ring, &[s, h], 2));
    assert_eq!(c[&0].result(), Ok(0));
    assert_eq!(c[&1].result(), Ok(0));
    assert_eq!(std::fs::read_link(&sym).unwrap(), path);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 2);
    for p in [&sym, &hard, &path] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn xattrs_round_trip_on_a_temp_file() {
    let mut ring = IoUring::new(4).unwrap();
    let (path, file) = common::temp_file("xattr");
    let path_c = CString::new(path.to_str().unwrap()).unwrap();
    let name = CString::new("user.ring").unwrap();
    let value = b"core";
    let set = opcode::FsetXattr::new(file.as_raw_fd(), name.as_ptr(), value.as_ptr(), 4).build();
    let c = common::run(&mut ring, &[set], 1);
    match c[0].result() {
        Err(e) if e == Errno::OPNOTSUPP => {
            eprintln!("skipped: the temp directory's filesystem has no user xattrs");
            return;
        }
        r => assert_eq!(r, Ok(0)),
    }
    let mut got = [0u8; 16];
    let get = opcode::GetXattr::new(path_c.as_ptr(), name.as_ptr(), got.as_mut_ptr(), 16).build();
    let c = common::run(&mut ring, &[get], 1);
    assert_eq!(c[0].result(), Ok(4));
    assert_eq!(&got[..4], value);

    let other = b"ring-core";
    let set = opcode::SetXattr::new(path_c.as_ptr(), name.as_ptr(), other.as_ptr(), 9)
        .flags(2) // XATTR_REPLACE: it must exist already
        .build();
    let mut got = [0u8; 16];
    let get = opcode::FgetXattr::new(file.as_raw_fd(), name.as_ptr(), got.as_mut_ptr(), 16).build();
    let c = common::run(&mut ring, &[set], 1);
    assert_eq!(c[0].result(), Ok(0));
    let c = common::run(&mut ring, &[get], 1);
    assert_eq!(c[0].result(), Ok(9));
    assert_eq!(&got[..9], other);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn uring_cmd_asks_a_socket_for_its_queues() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::UringCmd::CODE, "URING_CMD") {
        return;
    }
    let (mut client, server) = common::connected_pair();
    client.write_all(b"12345").unwrap();
    // Let the bytes land in the server's receive queue.
    std::thread::sleep(Duration::from_millis(20));
    let inq = opcode::UringCmd::new(&server, opcode::SOCKET_URING_OP_SIOCINQ).build();
    let c = common::run(&mut ring, &[inq], 1);
    match c[0].result() {
        Err(e) if e == Errno::OPNOTSUPP => {
            eprintln!("skipped: this kernel has no socket uring commands (6.7)");
        }
        r => assert_eq!(r, Ok(5), "five bytes wait in the receive queue"),
    }
}

#[test]
fn read_multishot_delivers_several_buffers() {
    let mut ring = IoUring::new(8).unwrap();
    if !supported(&ring, opcode::ReadMultishot::CODE, "READ_MULTISHOT") {
        return;
    }
    let bufs = ring_core::buf_ring::BufRing::builder(5, 4, 32)
        .build(&ring)
        .unwrap();
    let (r, mut w) = common::pipe();
    start(
        &mut ring,
        opcode::ReadMultishot::new(&r, 5).build().user_data(3),
    );
    let mut chunks = Vec::new();
    for chunk in [&b"first"[..], b"second", b"third"] {
        w.write_all(chunk).unwrap();
        let c = common::reap(&mut ring, 1);
        assert!(
            c[0].flags().contains(ring_core::cqueue::Flags::MORE),
            "{c:?}"
        );
        // SAFETY: the completion is from group 5's ring, `bufs`.
        let buf = unsafe { bufs.get(&c[0]) }.unwrap();
        chunks.push(buf.as_slice().to_vec());
    }
    assert_eq!(chunks, [&b"first"[..], b"second", b"third"]);
    drop(w);
    let c = common::reap(&mut ring, 1);
    assert_eq!(c[0].result(), Ok(0), "end of file ends it");
    assert!(!c[0].flags().contains(ring_core::cqueue::Flags::MORE));
}

#[test]
fn waitid_reports_a_childs_exit() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::Waitid::CODE, "WAITID") {
        return;
    }
    let child = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut info = Siginfo::zeroed();
    // P_PID = 1, WEXITED = 4.
    let e = opcode::Waitid::new(1, pid, &mut info, 4).build();
    let c = common::run(&mut ring, &[e], 1);
    assert_eq!(c[0].result(), Ok(0));
    assert_eq!(info.signo(), 17, "SIGCHLD");
    assert_eq!(info.code(), 1, "CLD_EXITED");
    assert_eq!(info.pid(), pid);
    assert_eq!(info.status(), 3);
    std::mem::forget(child); // reaped by the waitid above
}

#[test]
fn futex_wake_releases_a_waiter() {
    let mut ring = IoUring::new(8).unwrap();
    if !supported(&ring, opcode::FutexWait::CODE, "FUTEX_WAIT") {
        return;
    }
    let word = Box::new(0u32);
    // A wait on a stale value fails at once.
    let stale = opcode::FutexWait::new(&*word, 1).build().user_data(1);
    let c = common::run(&mut ring, &[stale], 1);
    assert_eq!(c[0].result(), Err(Errno::AGAIN));

    start(
        &mut ring,
        opcode::FutexWait::new(&*word, 0).build().user_data(2),
    );
    assert!(!completes_within(&mut ring, 50), "the waiter sleeps");
    let wake = opcode::FutexWake::new(&*word, 1).build().user_data(3);
    let c = common::by_user_data(&common::run(&mut ring, &[wake], 2));
    assert_eq!(c[&3].result(), Ok(1), "one waiter woken");
    assert_eq!(c[&2].result(), Ok(0), "and it returns");

    // FUTEX_WAITV on two words: waking the second reports index 1.
    let words = Box::new([0u32; 2]);
    let flags = opcode::FUTEX2_SIZE_U32 | opcode::FUTEX2_PRIVATE;
    let vec = [
        FutexWaitv {
            val: 0,
            uaddr: &words[0] as *const u32 as u64,
            flags,
            reserved: 0,
        },
        FutexWaitv {
            val: 0,
            uaddr: &words[1] as *const u32 as u64,
            flags,
            reserved: 0,
        },
    ];
    start(
        &mut ring,
        opcode::FutexWaitv::new(vec.as_ptr(), 2)
            .build()
            .user_data(4),
    );
    assert!(!completes_within(&mut ring, 50), "the waiter sleeps");
    let wake = opcode::FutexWake::new(&words[1], 1).build().user_data(5);
    let c = common::by_user_data(&common::run(&mut ring, &[wake], 2));
    assert_eq!(c[&5].result(), Ok(1));
    assert_eq!(c[&4].result(), Ok(1), "woken by futex 1");
}

#[test]
fn fixed_fd_install_gives_a_working_fd() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::FixedFdInstall::CODE, "FIXED_FD_INSTALL") {
        return;
    }
    ring.submitter().register_files_sparse(2).unwrap();
    let (mut r, w) = common::pipe();
    let fds = [w.as_raw_fd()];
    let up = opcode::FilesUpdate::new(fds.as_ptr(), 1, 1).build();
    assert_eq!(common::run(&mut ring, &[up], 1)[0].result(), Ok(1));
    drop(w);
    let c = common::run(&mut ring, &[opcode::FixedFdInstall::new(1).build()], 1);
    let fd = c[0].result().unwrap() as i32;
    // SAFETY: the kernel just installed `fd` for us; nobody else owns it.
    let mut installed = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let fl = rustix::io::fcntl_getfd(&installed).unwrap();
    assert!(
        fl.contains(rustix::io::FdFlags::CLOEXEC),
        "O_CLOEXEC by default"
    );
    installed.write_all(b"ok").unwrap();
    let mut got = [0u8; 2];
    r.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ok");
}

#[test]
fn recv_zc_without_a_zero_copy_queue_is_refused() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::RecvZc::CODE, "RECV_ZC") {
        return;
    }
    // Zero-copy receive needs a queue registered on a NIC with header split
    // (IORING_REGISTER_ZCRX_IFQ); this machine has none, so the kernel must
    // refuse queue 0 at prep.
    eprintln!("skipped receiving: RECV_ZC needs a NIC with header split and flow steering");
    let (_c, s) = common::connected_pair();
    let c = common::run(&mut ring, &[opcode::RecvZc::new(&s, 0).build()], 1);
    assert_eq!(c[0].result(), Err(Errno::INVAL));
}

#[test]
fn readv_and_writev_fixed_use_the_registered_buffer() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::ReadvFixed::CODE, "READV_FIXED") {
        return;
    }
    let mut mem = vec![0u8; 64];
    mem[..6].copy_from_slice(b"abcdef");
    let base = mem.as_mut_ptr();
    let reg = [IoVec {
        iov_base: base.cast(),
        iov_len: 64,
    }];
    // SAFETY: `mem` outlives the registration (unregistered below, before it
    // is dropped); Rust does not touch it while an operation is in flight.
    unsafe { ring.submitter().register_buffers(&reg) }.unwrap();
    let (path, file) = common::temp_file("vfixed");
    // Two pieces of the registered buffer: "def" then "abc".
    let out = [
        IoVec {
            // SAFETY: offset 3 is inside the 64-byte buffer.
            iov_base: unsafe { base.add(3) }.cast(),
            iov_len: 3,
        },
        IoVec {
            iov_base: base.cast(),
            iov_len: 3,
        },
    ];
    let w = opcode::WritevFixed::new(&file, out.as_ptr(), 2, 0).build();
    assert_eq!(common::run(&mut ring, &[w], 1)[0].result(), Ok(6));
    assert_eq!(std::fs::read(&path).unwrap(), b"defabc");

    let back = [IoVec {
        // SAFETY: offset 32 is inside the 64-byte buffer.
        iov_base: unsafe { base.add(32) }.cast(),
        iov_len: 6,
    }];
    let r = opcode::ReadvFixed::new(&file, back.as_ptr(), 1, 0).build();
    assert_eq!(common::run(&mut ring, &[r], 1)[0].result(), Ok(6));
    ring.submitter().unregister_buffers().unwrap();
    assert_eq!(&mem[32..38], b"defabc");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn pipe_gives_working_fds() {
    let mut ring = IoUring::new(4).unwrap();
    if !supported(&ring, opcode::Pipe::CODE, "PIPE") {
        return;
    }
    let mut fds = [-1i32; 2];
    let e = opcode::Pipe::new(&mut fds).flags(0o2000000).build(); // O_CLOEXEC
    assert_eq!(common::run(&mut ring, &[e], 1)[0].result(), Ok(0));
    // SAFETY: the kernel just created both fds for us; nobody else owns them.
    let (mut r, mut w) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    w.write_all(b"through").unwrap();
    drop(w);
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "through");
}
