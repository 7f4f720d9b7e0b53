//! Properties of the ring and of provided-buffer rings, on the real kernel.
//!
//! Included by path from `ring-core/tests/fuzz_corpus.rs` (the corpus
//! replay) and from `fuzz/src/lib.rs` (the fuzz targets).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use ring_core::buf_ring::{self, BufError, BufRing};
use ring_core::opcode::{self, CancelBy};
use ring_core::squeue::{self, Flags};
use ring_core::types::Timespec;
use ring_core::{Errno, IoUring, SubmitError};

/// What the model expects of one submitted entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nop {
        skip: bool,
    },
    /// A NOP with IO_DRAIN; `after_skip`: submitted after a CQE_SKIP_SUCCESS
    /// entry, when the kernel refuses drains with EOPNOTSUPP.
    Drain {
        after_skip: bool,
    },
    Timeout,
    Cancel,
    /// A futex wait: woken (0), the word differed (`EAGAIN`), or cancelled.
    FutexWait,
    /// A futex wake: how many it woke.
    FutexWake,
    /// `IORING_OP_PIPE`: 0, and two new fds.
    Pipe,
    /// `EPOLL_CTL_MOD` of an fd the epoll instance already has.
    EpollCtl,
    /// `epoll_wait` on an instance whose one fd is always readable: 1.
    EpollWait,
    /// An xattr set or get on the sandbox's temp file.
    Xattr,
    /// `waitid` on one of this program's own children.
    Waitid,
}

struct Model {
    kinds: HashMap<u64, Kind>,
    seen: HashMap<u64, u32>,
    /// Entries that may post nothing: linked after a CQE_SKIP_SUCCESS entry
    /// in the same chain. When such a chain fails, the kernel posts no CQEs
    /// for the members it cancels.
    optional: std::collections::HashSet<u64>,
}

impl Model {
    fn check(&mut self, c: &ring_core::cqueue::Entry) {
        let kind = *self
            .kinds
            .get(&c.user_data())
            .unwrap_or_else(|| panic!("unknown completion {c:?}"));
        let n = self.seen.entry(c.user_data()).or_insert(0);
        *n += 1;
        assert_eq!(*n, 1, "completed twice: {c:?}");
        let r = c.result();
        let ok = match kind {
            Kind::Nop { skip } => (r == Ok(0) && !skip) || r == Err(Errno::CANCELED),
            Kind::Drain { after_skip } => {
                r == Ok(0)
                    || r == Err(Errno::CANCELED)
                    || (after_skip && r == Err(Errno::OPNOTSUPP))
            }
            Kind::Timeout => matches!(r, Err(Errno::TIME) | Err(Errno::CANCELED)),
            Kind::Cancel => matches!(
                r,
                Ok(_) | Err(Errno::NOENT) | Err(Errno::ALREADY) | Err(Errno::CANCELED)
            ),
            Kind::FutexWait => matches!(r, Ok(0) | Err(Errno::AGAIN) | Err(Errno::CANCELED)),
            Kind::FutexWake | Kind::Xattr if r == Err(Errno::CANCELED) => true,
            Kind::FutexWake => r.is_ok(),
            Kind::Pipe | Kind::EpollCtl => matches!(r, Ok(0) | Err(Errno::CANCELED)),
            Kind::EpollWait => matches!(r, Ok(1) | Err(Errno::CANCELED)),
            // Set: 0. Get: the value's length, or ENODATA before any set.
            // A filesystem without user xattrs: EOPNOTSUPP.
            Kind::Xattr => matches!(
                r,
                Ok(0) | Ok(4) | Err(Errno::NODATA) | Err(Errno::OPNOTSUPP)
            ),
            // ECHILD: an earlier waitid reaped the same child.
            Kind::Waitid => matches!(r, Ok(0) | Err(Errno::CHILD) | Err(Errno::CANCELED)),
        };
        assert!(ok, "{kind:?} completed with {r:?}");
    }
}

/// What the sandboxed operations of [`ring_ops`] point to. Every pointer an
/// entry holds goes into a box owned here, which lives until the ring has
/// been drained and dropped.
// Boxes inside the `Vec`s keep each pointee's address while the `Vec` grows
// (the kernel holds those addresses), which clippy's `vec_box` misses.
#[allow(clippy::vec_box)]
struct Sandbox {
    futex: Box<u32>,
    /// A second ring that wakes futex waiters from outside the program, so
    /// a wait stuck behind a drain or a chain cannot hang the run.
    waker: IoUring,
    pipes: Vec<Box<[i32; 2]>>,
    epoll: rustix::fd::OwnedFd,
    /// Readable for the whole run (one byte written, never read), and in
    /// `epoll`'s interest list.
    readable: (std::fs::File, std::fs::File),
    epoll_event: Box<ring_core::types::EpollEvent>,
    epoll_out: Vec<Box<[ring_core::types::EpollEvent; 2]>>,
    file: (std::path::PathBuf, std::fs::File),
    xattr_name: std::ffi::CString,
    xattr_value: Box<[u8; 4]>,
    xattr_out: Vec<Box<[u8; 16]>>,
    children: Vec<std::process::Child>,
    infos: Vec<Box<ring_core::types::Siginfo>>,
}

impl Sandbox {
    fn new() -> Self {
        use rustix::event::epoll;
        use std::os::fd::AsFd;
        let (r, w) = rustix::pipe::pipe().expect("pipe");
        let (r, mut w) = (std::fs::File::from(r), std::fs::File::from(w));
        w.write_all(b"x").expect("write");
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll");
        epoll::add(
            &ep,
            r.as_fd(),
            epoll::EventData::new_u64(1),
            epoll::EventFlags::IN,
        )
        .expect("epoll add");
        let path = std::env::temp_dir().join(format!(
            "ring-core-fuzz-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = std::fs::File::create(&path).expect("temp file");
        Sandbox {
            futex: Box::new(0),
            waker: IoUring::new(2).expect("waker ring"),
            pipes: Vec::new(),
            epoll: ep,
            readable: (r, w),
            epoll_event: Box::new(ring_core::types::EpollEvent {
                events: 0x001, // EPOLLIN
                data: 2,
            }),
            epoll_out: Vec::new(),
            file: (path, file),
            xattr_name: std::ffi::CString::new("user.fuzz").expect("name"),
            xattr_value: Box::new(*b"ring"),
            xattr_out: Vec::new(),
            children: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// Wakes every waiter of the futex word, through the side ring.
    fn wake_all(&mut self) {
        let e = opcode::FutexWake::new(&*self.futex, u32::MAX >> 1).build();
        // SAFETY: the entry points to `self.futex`, alive until `self` is
        // dropped, after this wake has been reaped just below.
        if unsafe { self.waker.submission().push(&e) }.is_ok() {
            let _ = self.waker.submit_and_wait(1);
            self.waker.completion().for_each(drop);
        }
    }

    /// The entry for sandboxed op `op` (13..=15) with argument `arg`, and
    /// what the model expects of it; `None` when the op is skipped.
    fn entry(&mut self, op: u8, arg: u8) -> Option<(squeue::Entry, Kind)> {
        use std::os::fd::AsRawFd;
        Some(match (op, arg & 3) {
            (13, 0) => (
                opcode::FutexWait::new(&*self.futex, 0).build(),
                Kind::FutexWait,
            ),
            (13, 1) => (
                opcode::FutexWait::new(&*self.futex, 1).build(),
                Kind::FutexWait,
            ),
            (13, _) => (
                opcode::FutexWake::new(&*self.futex, u32::from(arg)).build(),
                Kind::FutexWake,
            ),
            (14, 0 | 1) => {
                self.pipes.push(Box::new([-1; 2]));
                let fds: *mut [i32; 2] = &mut **self.pipes.last_mut()?;
                (opcode::Pipe::new(fds).flags(0o2000000).build(), Kind::Pipe) // O_CLOEXEC
            }
            (14, 2) => (
                opcode::EpollCtl::new(
                    &self.epoll,
                    self.readable.0.as_raw_fd(),
                    3, // EPOLL_CTL_MOD
                    &*self.epoll_event,
                )
                .build(),
                Kind::EpollCtl,
            ),
            (14, _) => {
                self.epoll_out.push(Box::default());
                let out = self.epoll_out.last_mut()?.as_mut_ptr();
                (
                    opcode::EpollWait::new(&self.epoll, out, 2).build(),
                    Kind::EpollWait,
                )
            }
            (15, 0) => (
                opcode::FsetXattr::new(
                    self.file.1.as_raw_fd(),
                    self.xattr_name.as_ptr(),
                    self.xattr_value.as_ptr(),
                    4,
                )
                .build(),
                Kind::Xattr,
            ),
            (15, 1) => {
                self.xattr_out.push(Box::new([0; 16]));
                let out = self.xattr_out.last_mut()?.as_mut_ptr();
                let e = opcode::FgetXattr::new(
                    self.file.1.as_raw_fd(),
                    self.xattr_name.as_ptr(),
                    out,
                    16,
                );
                (e.build(), Kind::Xattr)
            }
            _ => {
                // At most three children per program: spawning is slow.
                if self.children.len() >= 3 {
                    return None;
                }
                let child = std::process::Command::new("true").spawn().ok()?;
                let pid = child.id() as i32;
                self.children.push(child);
                self.infos.push(Box::default());
                let info: *mut ring_core::types::Siginfo = &mut **self.infos.last_mut()?;
                // P_PID, WEXITED.
                (opcode::Waitid::new(1, pid, info, 4).build(), Kind::Waitid)
            }
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        use std::os::fd::FromRawFd;
        for fds in &self.pipes {
            for &fd in fds.iter().filter(|&&fd| fd >= 0) {
                // SAFETY: the kernel created `fd` for this sandbox's PIPE op
                // and nothing else owns it.
                drop(unsafe { rustix::fd::OwnedFd::from_raw_fd(fd) });
            }
        }
        for child in &mut self.children {
            // Reaps what a waitid did not (a cancelled one); ECHILD otherwise.
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.file.0);
    }
}

/// `ring_ops`: a program of ring operations on a small ring (SQ 8, CQ 16).
/// Every operation that must complete completes exactly once with a result
/// the model allows; nothing is lost when the CQ overflows; no panic.
pub fn ring_ops(data: &[u8]) {
    let mut ring = IoUring::builder().cq_entries(16).build(8).expect("ring");
    let ts_short: Box<[Timespec; 4]> = Box::new([
        Timespec::new(0, 1_000),
        Timespec::new(0, 50_000),
        Timespec::new(0, 300_000),
        Timespec::new(0, 1_000_000),
    ]);
    let mut model = Model {
        kinds: HashMap::new(),
        seen: HashMap::new(),
        optional: std::collections::HashSet::new(),
    };
    let mut sandbox: Option<Sandbox> = None;
    let mut chain_has_skip = false;
    let mut next_ud = 1u64;
    let mut timeouts: Vec<u64> = Vec::new();
    let mut linking = false;
    let mut skip_used = false;
    let push = |ring: &mut IoUring, e: squeue::Entry, model: &mut Model| -> bool {
        // SAFETY: entries point only to `ts_short` and into `sandbox`'s
        // boxes, which live until the end of this function, after every
        // completion has been reaped and the ring dropped.
        let pushed = unsafe { ring.submission().push(&e) }.is_ok();
        if !pushed {
            // Queue full: submit and reap, then retry once.
            let _ = ring.submit();
            for c in ring.completion() {
                model.check(&c);
            }
            // SAFETY: as above.
            return unsafe { ring.submission().push(&e) }.is_ok();
        }
        true
    };
    for &b in data.iter().take(96) {
        let op = b & 0x0f;
        let arg = b >> 4;
        let mut flags = Flags::empty();
        if linking {
            flags |= if arg & 1 == 0 {
                Flags::IO_LINK
            } else {
                Flags::IO_HARDLINK
            };
        }
        let ud = next_ud;
        let entry = match op {
            0..=3 => {
                let skip = arg & 2 != 0;
                if skip {
                    flags |= Flags::CQE_SKIP_SUCCESS;
                    skip_used = true;
                }
                model.kinds.insert(ud, Kind::Nop { skip });
                Some(opcode::Nop::new().build())
            }
            4 | 5 => {
                model.kinds.insert(ud, Kind::Timeout);
                timeouts.push(ud);
                Some(opcode::Timeout::new(&ts_short[usize::from(arg & 3)]).build())
            }
            6 => {
                model.kinds.insert(ud, Kind::Cancel);
                let target = if arg & 8 != 0 || timeouts.is_empty() {
                    CancelBy::Any
                } else {
                    CancelBy::UserData(timeouts[usize::from(arg) % timeouts.len()])
                };
                let c = opcode::AsyncCancel::new(target);
                Some(if arg & 4 != 0 { c.all() } else { c }.build())
            }
            7 => {
                // Start or end a chain. The kernel's chain only ends at an
                // entry without a link flag, so `chain_has_skip` is reset
                // there, not here.
                linking = !linking;
                None
            }
            8 => {
                model.kinds.insert(
                    ud,
                    Kind::Drain {
                        after_skip: skip_used,
                    },
                );
                flags |= Flags::IO_DRAIN;
                Some(opcode::Nop::new().build())
            }
            9 => {
                let _ = ring.submit();
                None
            }
            10 => {
                let want = usize::from(arg % 4);
                match ring
                    .submitter()
                    .submit_and_wait_timeout(want, Duration::from_millis(5))
                {
                    Ok(_) | Err(SubmitError::TimedOut) | Err(SubmitError::CompletionQueueFull) => {}
                    Err(e) => panic!("{e}"),
                }
                None
            }
            11 => {
                for c in ring.completion() {
                    model.check(&c);
                }
                None
            }
            13..=15 => {
                let sb = sandbox.get_or_insert_with(Sandbox::new);
                match sb.entry(op, arg) {
                    Some((e, kind)) => {
                        model.kinds.insert(ud, kind);
                        Some(e)
                    }
                    None => None,
                }
            }
            _ => {
                // A burst of NOPs far past the CQ size, without reaping.
                for _ in 0..(8 * usize::from(arg + 1)) {
                    let ud = next_ud;
                    next_ud += 1;
                    model.kinds.insert(ud, Kind::Nop { skip: false });
                    // A burst NOP has no link flag: it ends any open chain,
                    // as its last member.
                    if chain_has_skip {
                        model.optional.insert(ud);
                        chain_has_skip = false;
                    }
                    let e = opcode::Nop::new().build().user_data(ud);
                    // SAFETY: a NOP points to nothing.
                    if unsafe { ring.submission().push(&e) }.is_err() {
                        let _ = ring.submit();
                        // SAFETY: as above.
                        if unsafe { ring.submission().push(&e) }.is_err() {
                            model.kinds.remove(&ud);
                        }
                    }
                }
                None
            }
        };
        if let Some(e) = entry {
            next_ud += 1;
            if chain_has_skip {
                model.optional.insert(ud);
            }
            if !linking {
                chain_has_skip = false; // this entry ended any chain
            } else if flags.contains(Flags::CQE_SKIP_SUCCESS) {
                chain_has_skip = true;
            }
            if !push(&mut ring, e.flags(flags).user_data(ud), &mut model) {
                model.kinds.remove(&ud);
                timeouts.retain(|&t| t != ud);
            }
        }
    }
    // Close an open chain with a plain NOP so it is not left dangling.
    if linking {
        let ud = next_ud;
        model.kinds.insert(ud, Kind::Nop { skip: false });
        if chain_has_skip {
            model.optional.insert(ud);
        }
        if !push(
            &mut ring,
            opcode::Nop::new().build().user_data(ud),
            &mut model,
        ) {
            model.kinds.remove(&ud);
        }
    }
    // Reap until everything that must complete has, bounded in time.
    let optional = std::mem::take(&mut model.optional);
    let required =
        |u: &u64, k: &Kind| !matches!(k, Kind::Nop { skip: true }) && !optional.contains(u);
    let must: usize = model.kinds.iter().filter(|(u, k)| required(u, k)).count();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for c in ring.completion() {
            model.check(&c);
        }
        let done = model
            .seen
            .keys()
            .filter(|u| required(u, &model.kinds[u]))
            .count();
        if done == must && !ring.submitter().cq_overflow_pending() && ring.submission().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost completions: {done} of {must}"
        );
        if let Some(sb) = sandbox.as_mut() {
            // Futex waiters get a wake on every pass: one may be submitted
            // only after an earlier wake.
            sb.wake_all();
        }
        match ring
            .submitter()
            .submit_and_wait_timeout(1, Duration::from_millis(50))
        {
            Ok(_) | Err(SubmitError::TimedOut) | Err(SubmitError::CompletionQueueFull) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        ring.completion().overflow(),
        0,
        "the kernel dropped completions"
    );
    drop(ring);
    drop(ts_short);
    drop(sandbox);
}

/// `buf_ring`: provide / consume (real receives pick buffers) / recycle /
/// double-take on a 4-buffer ring against a model: no id is handed out
/// twice, none is lost.
pub fn buf_ring(data: &[u8]) {
    let mut ring = IoUring::new(8).expect("ring");
    let bufs = BufRing::builder(1, 4, 16)
        .build(&ring)
        .expect("buffer ring");
    let (mut tx, rx) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let mut held: Vec<(ring_core::buf_ring::Buf<'_>, ring_core::cqueue::Entry)> = Vec::new();
    let mut with_kernel = [true; 4];
    for &b in data.iter().take(64) {
        match b % 4 {
            0 | 1 => {
                // A receive of 1..=16 bytes picks a buffer (or finds none).
                let len = usize::from(b >> 4) + 1;
                tx.write_all(&vec![b; len]).expect("write");
                let e = opcode::Recv::with_buf_group(&rx, 1).build().user_data(9);
                // SAFETY: selects from `bufs`, which outlives the reap below.
                unsafe { ring.submission().push(&e) }.expect("room");
                ring.submit_and_wait(1).expect("submit");
                let c = ring.completion().next().expect("one completion");
                if buf_ring::is_out_of_buffers(&c) {
                    assert!(with_kernel.iter().all(|k| !k), "ENOBUFS with buffers free");
                    // Drain what was written so the stream stays in step.
                    let mut sink = vec![0u8; len];
                    std::io::Read::read_exact(&mut &rx, &mut sink).expect("drain");
                    continue;
                }
                // SAFETY: the completion of our receive on group 1.
                let buf = unsafe { bufs.get(&c) }.expect("a fresh buffer");
                let bid = usize::from(buf.bid());
                assert!(with_kernel[bid], "buffer {bid} handed out twice");
                with_kernel[bid] = false;
                assert_eq!(buf.len(), len);
                assert!(buf.iter().all(|&x| x == b));
                held.push((buf, c));
            }
            2 => {
                // Recycle one held buffer.
                if !held.is_empty() {
                    let (buf, _) = held.remove(usize::from(b >> 2) % held.len());
                    with_kernel[usize::from(buf.bid())] = true;
                    drop(buf);
                }
            }
            _ => {
                // Taking a held buffer again is refused.
                if let Some((buf, c)) = held.get(usize::from(b >> 2) % held.len().max(1)) {
                    // SAFETY: the same completion of our receive on group 1;
                    // the ring must refuse it.
                    let again = unsafe { bufs.get(c) };
                    assert_eq!(again.err(), Some(BufError::AlreadyTaken(buf.bid())));
                }
            }
        }
        let free = with_kernel.iter().filter(|&&k| k).count();
        assert_eq!(bufs.available(), free, "the ring and the model disagree");
    }
    drop(held);
    assert_eq!(bufs.available(), 4, "every buffer came back");
}
