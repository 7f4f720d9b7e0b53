//! `owned_drop`: the safe tier's rules for memory, descriptors and
//! ring-bound resources, as properties of random programs on two rings.
//!
//! The input decodes to at most [`MAX_STEPS`] steps over ring X (a boxed
//! `owned::Ring`) and ring Y (a typed `Ring<FuzzOp>`): open files, pipes and
//! socket pairs, each with its own tag byte; share them (`SharedFd`) or
//! install them in a ring's registered file table (`Files`); push reads,
//! writes, sends, receives, multishot receives on a buffer ring, fixed-buffer
//! reads and writes, shutdowns, cancels, timeouts and NOPs, alone or linked
//! behind another operation (a pipe read blocks until it is fed, so what is
//! linked behind it is resolved late); drop the program's shares and open new
//! files, which get the freed numbers; register buffer rings (every ring
//! starts with group 1, so the same group id is there on both), fixed-buffer
//! pools and file tables on either ring and push operations that use them on
//! either ring; feed the pipes and sockets; reap; drop a ring with operations
//! in flight (it is made again when a later step needs it). At the end both
//! rings are dropped with whatever is still in flight.
//!
//! The oracle:
//! - every byte of every file is its own tag or zero (never written); every
//!   write that completed is there; every read, receive and fixed read
//!   returns only its own file's tag; every byte a socket's peer receives is
//!   the socket's tag: nothing is read from or written to a file other than
//!   the one its operation was built with;
//! - a push is refused with `WrongRing` exactly when the operation uses a
//!   registered file, buffer ring or fixed buffer of another ring (the model
//!   records which ring each was registered with), and the ring keeps
//!   nothing it refused;
//! - no buffer-ring id is handed out while a buffer with that id is still
//!   held, and none is both held and with the kernel; no fixed buffer is lent
//!   twice; a second fixed-buffer pool or file table on a ring fails with
//!   `EBUSY` and the first keeps working;
//! - a socket no shutdown was built for still sends and receives at the end;
//! - every completion names an operation in flight on its ring, the final
//!   one hands it back, and the ring's count of operations in flight matches
//!   the model's;
//! - every owned buffer is freed exactly once, after the kernel is done
//!   (AddressSanitizer, the fuzzer's default, reports a use after free), and
//!   dropping a ring with operations in flight finishes within 3 s.
//!
//! Included by path from `ring-core/tests/fuzz_corpus.rs` (the corpus
//! replay) and from `fuzz/src/lib.rs` (the fuzz target).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::op::{
    self, AsyncCancel, Read, ReadFixed, Recv, RecvMulti, Shutdown, Timeout, Write, WriteFixed,
};
use ring_core::owned::{
    self, Completion, Files, FixedBufs, FixedFile, OwnedBuf, PushError, SharedFd, Store, Target,
    Token,
};
use ring_core::{Errno, RingId};
use rustix::net::{RecvFlags, SendFlags};

/// Steps per program.
const MAX_STEPS: usize = 48;
/// Files, pipes and socket pairs per program (tags `A`..).
const MAX_OBJECTS: usize = 12;
/// Each file starts with this many bytes of its tag; reads read from 0 and
/// read at most this much.
const HEAD: usize = 32;
/// Writes go to their own `CHUNK`-byte region each, after the head.
const CHUNK: u64 = 16;
/// Slots of each ring's registered file table.
const FILE_SLOTS: u32 = 4;
/// A ring's SQ size: small, so that pushes find it full.
const RING_ENTRIES: u32 = 8;

/// A buffer that counts its drops: every one must be freed exactly once.
#[derive(Debug)]
struct Counted {
    bytes: Vec<u8>,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: the Vec's heap memory is owned by `self` and stable across moves.
unsafe impl owned::IoBuf for Counted {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.bytes.len()
    }
}

ring_core::operations! {
    /// The operations the programs push, on either ring (ring X boxes them).
    enum FuzzOp {
        Read(Read<Counted>),
        Write(Write<Counted>),
        Send(op::Send<Counted>),
        Recv(Recv<Counted>),
        Multi(RecvMulti),
        ReadFixed(ReadFixed),
        WriteFixed(WriteFixed),
        Shutdown(Shutdown),
        Cancel(AsyncCancel),
        Timeout(Timeout),
        Nop(op::Nop),
    }
}

/// One of the two rings: X stores boxed operations, Y stores `FuzzOp`s
/// inline, so both kinds of store run every program.
enum AnyRing {
    Boxed(owned::Ring),
    Typed(owned::Ring<FuzzOp>),
}

/// A completion, with what it carried taken out.
struct Done {
    token: Token,
    result: Result<u32, Errno>,
    more: bool,
    is_final: bool,
    op: Option<FuzzOp>,
    buf: Option<OwnedBuf>,
}

fn done<S: Store>(mut c: Completion<S>, take: fn(&mut Completion<S>) -> Option<FuzzOp>) -> Done {
    let is_final = c.is_final();
    Done {
        token: c.token(),
        result: c.result(),
        more: c.more(),
        is_final,
        buf: c.take_buf(),
        op: take(&mut c),
    }
}

impl AnyRing {
    fn new(typed: bool) -> Self {
        if typed {
            AnyRing::Typed(owned::Ring::typed(RING_ENTRIES).expect("ring"))
        } else {
            AnyRing::Boxed(owned::Ring::new(RING_ENTRIES).expect("ring"))
        }
    }

    fn id(&self) -> RingId {
        match self {
            AnyRing::Boxed(r) => r.id(),
            AnyRing::Typed(r) => r.id(),
        }
    }

    fn raw(&self) -> &ring_core::IoUring {
        match self {
            AnyRing::Boxed(r) => r.raw(),
            AnyRing::Typed(r) => r.raw(),
        }
    }

    fn in_flight(&self) -> usize {
        match self {
            AnyRing::Boxed(r) => r.in_flight(),
            AnyRing::Typed(r) => r.in_flight(),
        }
    }

    fn push(&mut self, op: FuzzOp) -> Result<Token, PushError<FuzzOp>> {
        match self {
            AnyRing::Boxed(r) => r.push(op),
            AnyRing::Typed(r) => r.push(op),
        }
    }

    // The ring's own error type, handed on: it carries both operations back.
    #[allow(clippy::result_large_err)]
    fn push_linked(
        &mut self,
        first: FuzzOp,
        then: FuzzOp,
    ) -> Result<(Token, Token), PushError<(FuzzOp, FuzzOp)>> {
        match self {
            AnyRing::Boxed(r) => r.push_linked(first, then),
            AnyRing::Typed(r) => r.push_linked(first, then),
        }
    }

    fn submit(&mut self, wait: Option<Duration>) {
        // Errors (EBUSY with a full CQ, an interrupted wait) only mean
        // fewer completions now; the reap sees what there is.
        let _ = match (self, wait) {
            (AnyRing::Boxed(r), None) => r.submit(),
            (AnyRing::Typed(r), None) => r.submit(),
            (AnyRing::Boxed(r), Some(d)) => r.submit_and_wait_timeout(1, d),
            (AnyRing::Typed(r), Some(d)) => r.submit_and_wait_timeout(1, d),
        };
    }

    /// Up to `max` ready completions.
    fn reap(&mut self, max: usize) -> Vec<Done> {
        match self {
            AnyRing::Boxed(r) => r
                .completions()
                .take(max)
                .map(|c| done(c, |c| c.take_op::<FuzzOp>()))
                .collect(),
            AnyRing::Typed(r) => r
                .completions()
                .take(max)
                .map(|c| done(c, |c| c.take_op()))
                .collect(),
        }
    }
}

/// What a program opened.
enum Kind {
    /// A regular file (already unlinked). `check` is the program's own
    /// descriptor for it, used only by the oracle (positional reads).
    File {
        check: File,
        next_off: u64,
        /// (offset, length) of every write that completed.
        written: Vec<(u64, usize)>,
    },
    /// A pipe; the operations get the read end. `write` feeds it; `_keep`
    /// is a duplicate of the read end, so that feeding never meets a closed
    /// pipe (SIGPIPE) after every share of the read end is gone.
    Pipe { write: File, _keep: File },
    /// One end of a socket pair (the operations get it); `peer` is the
    /// other end, kept by the program. `shut`: a shutdown was pushed on it.
    Sock { peer: UnixStream, shut: bool },
}

struct Object {
    tag: u8,
    kind: Kind,
    /// The program's own share; `None` once dropped.
    share: Option<SharedFd>,
}

/// A filled slot of a registered file table, as the program holds it.
struct Installed {
    object: usize,
    /// The ring the table was registered with, as the model recorded it.
    ring: RingId,
    file: FixedFile,
}

struct BufRingState {
    ring: RingId,
    bgid: u16,
    bufs: Rc<BufRing>,
    /// Ids the program holds as `OwnedBuf`s.
    held: HashSet<u16>,
}

struct PoolState {
    ring: RingId,
    pool: Rc<FixedBufs>,
    /// Indexes lent to operations that have not come back yet.
    lent: HashSet<u16>,
}

/// What the oracle needs to know about an operation in flight.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Read, Recv: the bytes must be `tag`.
    Bytes { tag: u8 },
    /// A write to a regular file at `off`.
    FileWrite { object: usize, off: u64 },
    /// A multishot receive: every buffer must be `tag`.
    Multi { tag: u8, br: usize },
    /// A fixed read: the buffer must be `tag`; then it goes back to `pool`.
    ReadFixed { tag: u8, pool: usize, index: u16 },
    /// A fixed write to a regular file at `off`.
    WriteFixed {
        object: usize,
        off: u64,
        pool: usize,
        index: u16,
    },
    /// Nothing to check but that it completes once.
    Other,
}

/// What the model records about an operation besides the operation.
#[derive(Clone, Copy, Debug)]
struct Meta {
    /// The ring it is built for (0: X, 1: Y).
    ring: usize,
    /// The rings of the ring-bound resources it uses (registered file,
    /// buffer ring, fixed buffer), as the model recorded them: the push
    /// must be refused exactly when one differs from the ring's.
    uses: [Option<RingId>; 2],
    expect: Expect,
    /// The socket object a shutdown acts on.
    shuts: Option<usize>,
}

impl Meta {
    fn foreign_on(&self, ring: RingId) -> bool {
        self.uses.iter().flatten().any(|&r| r != ring)
    }
}

struct Built {
    op: FuzzOp,
    meta: Meta,
}

struct Program {
    rings: [Option<AnyRing>; 2],
    /// Each ring's file table, registered on first use.
    files: [Option<Files>; 2],
    objects: Vec<Object>,
    installed: Vec<Installed>,
    brs: Vec<BufRingState>,
    held_bufs: Vec<(usize, OwnedBuf)>,
    pools: Vec<PoolState>,
    pending: HashMap<(RingId, Token), Expect>,
    /// A link was asked for: `Some(None)` until its first operation is
    /// built, then `Some(Some(first))` until the second.
    linking: Option<Option<Built>>,
    drops: Arc<AtomicUsize>,
    made: usize,
}

fn all_tag(bytes: &[u8], tag: u8) -> bool {
    bytes.iter().all(|&b| b == tag)
}

/// A unique path in the temp dir (the file is unlinked as soon as it is
/// open, so nothing is left behind, even by a failing program).
fn temp_path() -> std::path::PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ring-fuzz-owned-{}-{seq}", std::process::id()))
}

/// Checks the bytes a read or receive returned.
fn check_read(buf: &Counted, result: Result<u32, Errno>, tag: u8) {
    if let Ok(n) = result {
        let got = &buf.bytes[..n as usize];
        assert!(
            all_tag(got, tag),
            "a read built for file {:?} returned {:?}",
            tag as char,
            String::from_utf8_lossy(got)
        );
    }
}

impl Program {
    fn new() -> Self {
        Program {
            rings: [None, None],
            files: [None, None],
            objects: Vec::new(),
            installed: Vec::new(),
            brs: Vec::new(),
            held_bufs: Vec::new(),
            pools: Vec::new(),
            pending: HashMap::new(),
            linking: None,
            drops: Arc::new(AtomicUsize::new(0)),
            made: 0,
        }
    }

    /// Ring `r`, made if it was dropped (with a new identity). Every ring
    /// starts with buffer group 1, so that a group of the same id is there
    /// on both rings (where a buffer ring pushed on the wrong ring would
    /// alias the other's buffers).
    fn ring(&mut self, r: usize) -> &mut AnyRing {
        if self.rings[r].is_none() {
            let ring = AnyRing::new(r == 1);
            let bufs = BufRing::builder(1, 4, 32)
                .build(ring.raw())
                .expect("buffer ring");
            self.brs.push(BufRingState {
                ring: ring.id(),
                bgid: 1,
                bufs: Rc::new(bufs),
                held: HashSet::new(),
            });
            self.rings[r] = Some(ring);
        }
        self.rings[r].as_mut().expect("made above")
    }

    fn ring_id(&mut self, r: usize) -> RingId {
        self.ring(r).id()
    }

    fn counted(&mut self, len: usize, fill: u8) -> Counted {
        self.made += 1;
        Counted {
            bytes: vec![fill; len],
            drops: self.drops.clone(),
        }
    }

    fn next_tag(&self) -> Option<u8> {
        (self.objects.len() < MAX_OBJECTS).then(|| b'A' + self.objects.len() as u8)
    }

    // ------------------------------------------------------------ opening

    fn open_file(&mut self) {
        let Some(tag) = self.next_tag() else { return };
        let path = temp_path();
        // The program's share first: it takes the lowest free number, the
        // one a dropped share may just have freed.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("temp file");
        let check = file.try_clone().expect("dup");
        std::fs::remove_file(&path).expect("unlink");
        check.write_all_at(&[tag; HEAD], 0).expect("head");
        self.objects.push(Object {
            tag,
            kind: Kind::File {
                check,
                next_off: 2 * HEAD as u64,
                written: Vec::new(),
            },
            share: Some(SharedFd::new(file)),
        });
    }

    fn open_pipe(&mut self) {
        let Some(tag) = self.next_tag() else { return };
        let (r, w) = rustix::pipe::pipe().expect("pipe");
        let keep = File::from(r.try_clone().expect("dup"));
        self.objects.push(Object {
            tag,
            kind: Kind::Pipe {
                write: File::from(w),
                _keep: keep,
            },
            share: Some(SharedFd::new(r)),
        });
    }

    fn open_socket(&mut self) {
        let Some(tag) = self.next_tag() else { return };
        let (a, peer) = UnixStream::pair().expect("socketpair");
        self.objects.push(Object {
            tag,
            kind: Kind::Sock { peer, shut: false },
            share: Some(SharedFd::new(a)),
        });
    }

    /// Writes `len` bytes of its tag into a pipe or to a socket (from its
    /// peer), for reads and receives in flight to find.
    fn feed(&mut self, pick: u8, len: usize) {
        let n = self.objects.len();
        let Some(o) = self.objects.get(usize::from(pick) % n.max(1)) else {
            return;
        };
        let bytes = vec![o.tag; len];
        // Errors (a full socket buffer, a peer shut down) only mean nothing
        // was fed.
        match &o.kind {
            Kind::Pipe { write, .. } => {
                let _ = rustix::io::write(write, &bytes);
            }
            Kind::Sock { peer, .. } => {
                let _ = rustix::net::send(peer, &bytes, SendFlags::NOSIGNAL | SendFlags::DONTWAIT);
            }
            Kind::File { .. } => {}
        }
    }

    // ---------------------------------------------------------- resources

    /// Puts object `pick`'s file into ring `r`'s file table.
    fn install(&mut self, r: usize, pick: u8) {
        let n = self.objects.len();
        let o = usize::from(pick) % n.max(1);
        let Some(share) = self.objects.get(o).and_then(|x| x.share.clone()) else {
            return;
        };
        let id = self.ring_id(r);
        if self.files[r].is_none() {
            let files = Files::register(self.ring(r).raw(), FILE_SLOTS).expect("file table");
            self.files[r] = Some(files);
        }
        let files = self.files[r].as_ref().expect("registered above");
        match files.install(&share) {
            Ok(file) => self.installed.push(Installed {
                object: o,
                ring: id,
                file,
            }),
            Err(e) => assert_eq!(files.available(), 0, "install failed with room: {e}"),
        }
    }

    /// A second file table on ring `r` fails with EBUSY and leaves the
    /// first one as it was (later operations on its slots show that).
    fn register_files_again(&mut self, r: usize) {
        if self.files[r].is_none() {
            return;
        }
        let err = Files::register(self.ring(r).raw(), FILE_SLOTS)
            .expect_err("a second file table on one ring");
        assert_eq!(err.errno(), Some(Errno::BUSY), "{err}");
    }

    fn register_buf_ring(&mut self, r: usize, bgid: u16) {
        if self.brs.len() >= 8 {
            return;
        }
        let id = self.ring_id(r);
        let taken = self.brs.iter().any(|b| b.ring == id && b.bgid == bgid);
        match BufRing::builder(bgid, 4, 32).build(self.ring(r).raw()) {
            Ok(bufs) => {
                assert!(!taken, "group {bgid} registered twice on one ring");
                self.brs.push(BufRingState {
                    ring: id,
                    bgid,
                    bufs: Rc::new(bufs),
                    held: HashSet::new(),
                });
            }
            Err(e) => assert!(taken, "buffer ring registration failed: {e}"),
        }
    }

    /// A fixed-buffer pool on ring `r`: the second on one ring fails with
    /// EBUSY, and the first keeps working.
    fn register_pool(&mut self, r: usize) {
        if self.pools.len() >= 4 {
            return;
        }
        let id = self.ring_id(r);
        let taken = self.pools.iter().any(|p| p.ring == id);
        match FixedBufs::register(self.ring(r).raw(), 2, 32) {
            Ok(pool) => {
                assert!(!taken, "two fixed-buffer tables on one ring");
                self.pools.push(PoolState {
                    ring: id,
                    pool,
                    lent: HashSet::new(),
                });
            }
            Err(e) => {
                assert!(taken, "fixed buffer registration failed: {e}");
                assert_eq!(e.errno(), Some(Errno::BUSY), "{e}");
            }
        }
    }

    /// Gives a held buffer-ring buffer back.
    fn release_buf(&mut self, pick: u8) {
        if self.held_bufs.is_empty() {
            return;
        }
        let (br, buf) = self
            .held_bufs
            .swap_remove(usize::from(pick) % self.held_bufs.len());
        let bid = buf.bid();
        drop(buf);
        let state = &mut self.brs[br];
        state.held.remove(&bid);
        assert!(
            state.bufs.is_with_kernel(bid),
            "buffer {bid} did not go back"
        );
    }

    // -------------------------------------------------------- operations

    /// The targets an operation can be built with: the program's shares,
    /// then the installed slots; each with its object and, for a slot, the
    /// ring its table was registered with.
    fn target(&self, pick: u8) -> Option<(Target, usize, Option<RingId>)> {
        let shares = self
            .objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.share.as_ref().map(|s| (Target::from(s), i, None)));
        let slots = self
            .installed
            .iter()
            .map(|s| (Target::from(&s.file), s.object, Some(s.ring)));
        let all: Vec<_> = shares.chain(slots).collect();
        let n = all.len();
        all.into_iter().nth(usize::from(pick) % n.max(1))
    }

    /// The next unwritten region of file object `o`.
    fn region(&mut self, o: usize) -> Option<u64> {
        match &mut self.objects[o].kind {
            Kind::File { next_off, .. } => {
                let off = *next_off;
                *next_off += CHUNK;
                Some(off)
            }
            _ => None,
        }
    }

    /// Builds operation `kind` for ring `r`, or nothing if the program has
    /// nothing to build it with.
    fn build(&mut self, kind: u8, r: usize, a: u8, b: u8) -> Option<Built> {
        let len_head = 1 + usize::from(a >> 2) % HEAD;
        let len_chunk = 1 + usize::from(a >> 2) % CHUNK as usize;
        let mut shuts = None;
        let mut uses = [None, None];
        let (op, expect) = match kind {
            // Read or receive into an owned buffer.
            0 | 1 => {
                let (target, o, ring) = self.target(b)?;
                uses[0] = ring;
                let tag = self.objects[o].tag;
                let buf = self.counted(len_head, 0);
                let op = if kind == 1 {
                    FuzzOp::Recv(Recv::new(target, buf))
                } else if let Kind::File { .. } = self.objects[o].kind {
                    FuzzOp::Read(Read::new(target, buf).at(0))
                } else {
                    FuzzOp::Read(Read::new(target, buf).at(u64::MAX))
                };
                (op, Expect::Bytes { tag })
            }
            // Write (a file: a region of its own) or send (a socket).
            2 => {
                let (target, o, ring) = self.target(b)?;
                uses[0] = ring;
                let tag = self.objects[o].tag;
                let buf = self.counted(len_chunk, tag);
                match self.objects[o].kind {
                    Kind::File { .. } => {
                        let off = self.region(o)?;
                        let op = FuzzOp::Write(Write::new(target, buf).at(off));
                        (op, Expect::FileWrite { object: o, off })
                    }
                    Kind::Sock { .. } => (FuzzOp::Send(op::Send::new(target, buf)), Expect::Other),
                    // The read end: the kernel refuses (EBADF).
                    Kind::Pipe { .. } => (
                        FuzzOp::Write(Write::new(target, buf).at(u64::MAX)),
                        Expect::Other,
                    ),
                }
            }
            // Multishot (or one-shot) receive into a buffer ring.
            3 => {
                if self.brs.is_empty() {
                    return None;
                }
                let (target, o, ring) = self.target(b)?;
                let br = usize::from(a >> 2) % self.brs.len();
                let state = &self.brs[br];
                uses = [ring, Some(state.ring)];
                let recv = RecvMulti::new(target, state.bufs.clone());
                let recv = if a & 0x80 != 0 { recv.once() } else { recv };
                let tag = self.objects[o].tag;
                (FuzzOp::Multi(recv), Expect::Multi { tag, br })
            }
            // A fixed-buffer read, or a fixed-buffer write to a file.
            4 => {
                if self.pools.is_empty() {
                    return None;
                }
                let (target, o, ring) = self.target(b)?;
                let p = usize::from(a >> 2) % self.pools.len();
                let tag = self.objects[o].tag;
                let is_file = matches!(self.objects[o].kind, Kind::File { .. });
                let write = a & 0x80 != 0;
                // A write goes to a region of a file of its own (to a
                // socket it could raise SIGPIPE); a read of a file from 0.
                let off = match (write, is_file) {
                    (true, true) => self.region(o)?,
                    (true, false) => return None,
                    (false, true) => 0,
                    (false, false) => u64::MAX,
                };
                let state = &mut self.pools[p];
                let mut buf = state.pool.take()?;
                let index = buf.index();
                assert!(state.lent.insert(index), "fixed buffer {index} lent twice");
                uses = [ring, Some(state.ring)];
                if write {
                    buf[..len_chunk].fill(tag);
                    buf.set_len(len_chunk);
                    let op = FuzzOp::WriteFixed(WriteFixed::new(target, buf).at(off));
                    let expect = Expect::WriteFixed {
                        object: o,
                        off,
                        pool: p,
                        index,
                    };
                    (op, expect)
                } else {
                    buf.set_len(len_head);
                    let op = FuzzOp::ReadFixed(ReadFixed::new(target, buf).at(off));
                    let expect = Expect::ReadFixed {
                        tag,
                        pool: p,
                        index,
                    };
                    (op, expect)
                }
            }
            // Shut a socket down (anything else: ENOTSOCK).
            5 => {
                let (target, o, ring) = self.target(b)?;
                uses[0] = ring;
                if let Kind::Sock { .. } = self.objects[o].kind {
                    shuts = Some(o);
                }
                let how = i32::from(a >> 2) % 3;
                (FuzzOp::Shutdown(Shutdown::new(target, how)), Expect::Other)
            }
            // Cancel everything on a file.
            6 => {
                let (target, _, ring) = self.target(b)?;
                uses[0] = ring;
                (
                    FuzzOp::Cancel(AsyncCancel::all_on_fd(target)),
                    Expect::Other,
                )
            }
            // Timeouts (50 µs or an hour; one-shot or three shots) and NOPs.
            _ => {
                let op = match (a >> 2) & 3 {
                    0 => FuzzOp::Nop(op::Nop),
                    n => {
                        let after = if b & 1 == 0 {
                            Duration::from_micros(50)
                        } else {
                            Duration::from_secs(3600)
                        };
                        let t = Timeout::new(after);
                        FuzzOp::Timeout(if n == 3 { t.multishot(3) } else { t })
                    }
                };
                (op, Expect::Other)
            }
        };
        Some(Built {
            op,
            meta: Meta {
                ring: r,
                uses,
                expect,
                shuts,
            },
        })
    }

    /// An operation the ring refused (or never got) comes back: its fixed
    /// buffer returns to the pool, the rest is freed.
    fn returned(&mut self, op: FuzzOp, expect: Expect) {
        drop(op);
        if let Expect::ReadFixed { pool, index, .. } | Expect::WriteFixed { pool, index, .. } =
            expect
        {
            self.pools[pool].lent.remove(&index);
        }
    }

    fn admitted(&mut self, ring: RingId, token: Token, meta: Meta) {
        let old = self.pending.insert((ring, token), meta.expect);
        assert!(old.is_none(), "token {token:?} given to two operations");
        if let Some(o) = meta.shuts {
            if let Kind::Sock { shut, .. } = &mut self.objects[o].kind {
                *shut = true;
            }
        }
    }

    /// Step `kind`: build an operation and push it, or keep it as the first
    /// of a link, or push it linked behind the first.
    fn op_step(&mut self, kind: u8, r: usize, a: u8, b: u8) {
        // The second of a link goes on the first one's ring.
        let r = match &self.linking {
            Some(Some(first)) => first.meta.ring,
            _ => r,
        };
        let Some(built) = self.build(kind, r, a, b) else {
            return;
        };
        match self.linking.take() {
            None => self.push(built),
            Some(None) => self.linking = Some(Some(built)),
            Some(Some(first)) => self.push_linked(first, built),
        }
    }

    /// Pushes one operation: refused with `WrongRing` exactly when it uses
    /// another ring's resource.
    fn push(&mut self, built: Built) {
        let Built { op, meta } = built;
        let ring = self.ring(meta.ring);
        let id = ring.id();
        let foreign = meta.foreign_on(id);
        match ring.push(op) {
            Ok(token) => {
                assert!(
                    !foreign,
                    "pushed an operation that uses another ring's resource"
                );
                self.admitted(id, token, meta);
            }
            Err(PushError::WrongRing(op)) => {
                assert!(
                    foreign,
                    "WrongRing for an operation of this ring's own resources"
                );
                self.returned(op, meta.expect);
            }
            Err(PushError::Full(op)) => {
                assert!(!foreign, "Full (not WrongRing) for another ring's resource");
                self.returned(op, meta.expect);
            }
        }
    }

    /// Pushes a linked pair: refused with `WrongRing` exactly when either
    /// uses another ring's resource.
    fn push_linked(&mut self, first: Built, then: Built) {
        let ring = self.ring(first.meta.ring);
        let id = ring.id();
        let foreign = first.meta.foreign_on(id) || then.meta.foreign_on(id);
        match ring.push_linked(first.op, then.op) {
            Ok((t1, t2)) => {
                assert!(
                    !foreign,
                    "linked an operation that uses another ring's resource"
                );
                self.admitted(id, t1, first.meta);
                self.admitted(id, t2, then.meta);
            }
            Err(PushError::WrongRing((a, b))) => {
                assert!(foreign, "WrongRing for a pair of this ring's own resources");
                self.returned(a, first.meta.expect);
                self.returned(b, then.meta.expect);
            }
            Err(PushError::Full((a, b))) => {
                assert!(!foreign, "Full (not WrongRing) for another ring's resource");
                self.returned(a, first.meta.expect);
                self.returned(b, then.meta.expect);
            }
        }
    }

    // ------------------------------------------------------- completions

    /// Submits ring `r` (waiting up to `wait` for a completion) and checks
    /// up to `max` completions.
    fn reap(&mut self, r: usize, max: usize, wait: Option<Duration>) {
        let Some(ring) = self.rings[r].as_mut() else {
            return;
        };
        ring.submit(wait);
        let id = ring.id();
        for d in ring.reap(max) {
            self.complete(id, d);
        }
        let in_flight = self.rings[r].as_ref().map_or(0, AnyRing::in_flight);
        let model = self.pending.keys().filter(|(ring, _)| *ring == id).count();
        assert_eq!(
            in_flight, model,
            "operations in flight: ring and model differ"
        );
    }

    fn complete(&mut self, ring: RingId, d: Done) {
        let key = (ring, d.token);
        let expect = *self
            .pending
            .get(&key)
            .unwrap_or_else(|| panic!("a completion for no operation in flight: {:?}", d.token));
        assert_eq!(d.is_final, !d.more, "final exactly when no more follow");
        assert_eq!(
            d.op.is_some(),
            d.is_final,
            "the final completion hands the operation back"
        );
        if let Some(buf) = d.buf {
            let Expect::Multi { tag, br } = expect else {
                panic!("a buffer for an operation that selects none ({expect:?})");
            };
            let state = &mut self.brs[br];
            let bid = buf.bid();
            assert!(
                !state.bufs.is_with_kernel(bid),
                "buffer {bid} is both handed out and with the kernel"
            );
            assert!(state.held.insert(bid), "buffer {bid} handed out twice");
            assert_eq!(d.result, Ok(buf.len() as u32), "buffer length");
            assert!(
                all_tag(&buf, tag),
                "a receive built for {:?} got {:?} in buffer {bid}",
                tag as char,
                String::from_utf8_lossy(&buf)
            );
            self.held_bufs.push((br, buf));
        }
        if !d.is_final {
            return;
        }
        self.pending.remove(&key);
        let op = d.op.expect("checked above");
        match (expect, op) {
            (Expect::Bytes { tag }, FuzzOp::Read(op)) => check_read(&op.into_buf(), d.result, tag),
            (Expect::Bytes { tag }, FuzzOp::Recv(op)) => check_read(&op.into_buf(), d.result, tag),
            (Expect::FileWrite { object, off }, FuzzOp::Write(_)) => {
                self.written(object, off, d.result);
            }
            (Expect::Multi { .. }, FuzzOp::Multi(_)) | (Expect::Other, _) => {}
            (Expect::ReadFixed { tag, pool, index }, FuzzOp::ReadFixed(op)) => {
                let buf = op.into_buf();
                assert_eq!(buf.index(), index);
                if let Ok(n) = d.result {
                    assert!(
                        all_tag(&buf[..n as usize], tag),
                        "a fixed read built for {:?} returned {:?}",
                        tag as char,
                        String::from_utf8_lossy(&buf[..n as usize])
                    );
                }
                drop(buf);
                self.pools[pool].lent.remove(&index);
            }
            (
                Expect::WriteFixed {
                    object,
                    off,
                    pool,
                    index,
                },
                FuzzOp::WriteFixed(op),
            ) => {
                assert_eq!(op.into_buf().index(), index);
                self.pools[pool].lent.remove(&index);
                self.written(object, off, d.result);
            }
            (expect, _) => panic!("another operation came back for {expect:?}"),
        }
    }

    fn written(&mut self, object: usize, off: u64, result: Result<u32, Errno>) {
        if let (Ok(n), Kind::File { written, .. }) = (result, &mut self.objects[object].kind) {
            written.push((off, n as usize));
        }
    }

    /// Drops ring `r` with whatever is in flight: it cancels and reaps all
    /// of it, promptly, and frees it.
    fn drop_ring(&mut self, r: usize) {
        let Some(ring) = self.rings[r].take() else {
            return;
        };
        let id = ring.id();
        self.files[r] = None;
        let start = Instant::now();
        drop(ring);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(3), "the drop took {took:?}");
        let gone: Vec<_> = self.pending.keys().filter(|k| k.0 == id).copied().collect();
        for key in gone {
            let expect = self.pending.remove(&key).expect("listed above");
            if let Expect::ReadFixed { pool, index, .. } | Expect::WriteFixed { pool, index, .. } =
                expect
            {
                self.pools[pool].lent.remove(&index);
            }
        }
    }

    // ------------------------------------------------------------ program

    fn step(&mut self, op: u8, a: u8, b: u8) {
        let r = usize::from(a & 1);
        match op % 22 {
            0 => self.open_file(),
            1 => self.open_pipe(),
            2 => self.open_socket(),
            3 => {
                // Drop the program's share of a file.
                let n = self.objects.len();
                if let Some(o) = self.objects.get_mut(usize::from(b) % n.max(1)) {
                    o.share = None;
                }
            }
            4 => self.install(r, b),
            5 => {
                // Drop the program's share of a registered slot.
                if !self.installed.is_empty() {
                    let i = usize::from(b) % self.installed.len();
                    self.installed.swap_remove(i);
                }
            }
            k @ 6..=13 => self.op_step(k - 6, r, a, b),
            14 => {
                if self.linking.is_none() {
                    self.linking = Some(None);
                }
            }
            15 => self.feed(b, 1 + usize::from(a >> 2) % 16),
            16 => self.reap(r, 0, None),
            17 => {
                let wait = (a & 2 != 0).then_some(Duration::from_micros(200));
                self.reap(r, 1 + usize::from(a >> 2) % 8, wait);
            }
            18 => match (a >> 1) & 3 {
                0 | 1 => self.register_buf_ring(r, 1 + u16::from((a >> 1) & 1)),
                2 => self.register_pool(r),
                _ => self.register_files_again(r),
            },
            19 => self.release_buf(b),
            20 => self.drop_ring(r),
            _ => {
                // Make the ring now (a new identity if it was dropped).
                self.ring(r);
            }
        }
    }

    /// The end of the program: drop both rings with what is in flight,
    /// then check every file, socket and buffer.
    fn finish(mut self) {
        if let Some(Some(first)) = self.linking.take() {
            self.returned(first.op, first.meta.expect);
        }
        for r in 0..2 {
            self.reap(r, usize::MAX, None);
        }
        for r in 0..2 {
            self.drop_ring(r);
        }
        assert!(self.pending.is_empty());
        for (br, buf) in std::mem::take(&mut self.held_bufs) {
            self.brs[br].held.remove(&buf.bid());
        }
        for state in &self.brs {
            assert_eq!(
                state.bufs.available(),
                usize::from(state.bufs.entries()),
                "every buffer went back to its ring"
            );
        }
        self.installed.clear();
        for p in &self.pools {
            assert!(p.lent.is_empty());
            assert_eq!(p.pool.available(), 2, "every fixed buffer went back");
        }
        for o in &self.objects {
            check_object(o);
        }
        let Program { drops, made, .. } = self;
        assert_eq!(
            drops.load(Ordering::SeqCst),
            made,
            "every buffer freed exactly once"
        );
    }
}

/// The oracle for one file at the end: a regular file holds only its tag
/// (its head and every write that completed) and zeros; a socket's peer
/// received only the socket's tag, and a socket no shutdown was built for
/// still sends both ways.
fn check_object(o: &Object) {
    let tag = o.tag;
    match &o.kind {
        Kind::File { check, written, .. } => {
            let len = check.metadata().expect("stat").len() as usize;
            let mut content = vec![0u8; len];
            check.read_exact_at(&mut content, 0).expect("read back");
            assert!(
                content.len() >= HEAD && all_tag(&content[..HEAD], tag),
                "file {:?} lost its head",
                tag as char
            );
            if let Some(i) = content.iter().position(|&b| b != tag && b != 0) {
                panic!(
                    "file {:?} has {:?} at {i}: another file's write landed here",
                    tag as char, content[i] as char
                );
            }
            for &(off, n) in written {
                let at = off as usize;
                assert!(
                    content.get(at..at + n).is_some_and(|c| all_tag(c, tag)),
                    "a completed write of {n} bytes at {off} to {:?} is missing",
                    tag as char
                );
            }
        }
        Kind::Sock { peer, shut } => {
            let mut got = [0u8; 512];
            while let Ok((n, _)) = rustix::net::recv(peer, &mut got[..], RecvFlags::DONTWAIT) {
                if n == 0 {
                    break;
                }
                assert!(
                    all_tag(&got[..n], tag),
                    "the peer of socket {:?} received {:?}",
                    tag as char,
                    String::from_utf8_lossy(&got[..n])
                );
            }
            if let (false, Some(a)) = (shut, &o.share) {
                let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
                let sent = rustix::net::send(a, &[tag], flags);
                assert_ne!(
                    sent.err(),
                    Some(Errno::PIPE),
                    "socket {:?} was shut down for writing; no shutdown was built for it",
                    tag as char
                );
                let sent = rustix::net::send(peer, &[tag], flags);
                assert_ne!(
                    sent.err(),
                    Some(Errno::PIPE),
                    "socket {:?} was shut down for reading; no shutdown was built for it",
                    tag as char
                );
            }
        }
        Kind::Pipe { .. } => {}
    }
}

/// Runs the program `data` decodes to (three bytes a step: what, and two
/// arguments), then checks the oracle. See the module docs.
pub fn owned_drop(data: &[u8]) {
    let mut program = Program::new();
    for step in data.chunks(3).take(MAX_STEPS) {
        let at = |i: usize| step.get(i).copied().unwrap_or(0);
        program.step(at(0), at(1), at(2));
    }
    program.finish();
}
