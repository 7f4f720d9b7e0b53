//! The safe tier against the real kernel: resources come back with the
//! final completion, multishot and zero-copy operations keep them until the
//! last one, and dropping a ring with operations in flight cancels, reaps
//! and frees (or, past the timeout, leaks) — never frees early. Run under
//! AddressSanitizer in CI.

mod common;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring_core::buf_ring::BufRing;
use ring_core::owned::{
    self, op::Accept, op::Read, op::Recv, op::RecvMulti, op::SendZc, op::Timeout, op::Write, IoBuf,
    Ring, Store,
};
use ring_core::Errno;

fn wait_all<S: Store, T: Clone + Default>(
    ring: &mut Ring<S, T>,
    want: usize,
) -> Vec<owned::Completion<S, T>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while out.len() < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} completions",
            out.len()
        );
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(100));
        out.extend(ring.completions());
    }
    out
}

/// A buffer that counts its drops, to see when the ring frees it.
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

// SAFETY: the Vec's heap memory is stable and owned by `self`.
unsafe impl IoBuf for Counted {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.bytes.len()
    }
}

#[test]
fn write_then_read_hands_buffers_back() {
    let (path, file) = common::temp_file("owned");
    let mut ring = Ring::new(8).unwrap();
    let t = ring
        .push(Write::new(common::share(&file), b"owned data".to_vec()))
        .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.token(), t);
    assert_eq!(c.result(), Ok(10));
    let w: Write = c.take_op().unwrap();
    assert_eq!(w.into_buf(), b"owned data");
    ring.push(Read::new(common::share(&file), vec![0u8; 32]))
        .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    let n = c.result().unwrap() as usize;
    let r: Read = c.take_op().unwrap();
    assert_eq!(&r.into_buf()[..n], b"owned data");
    assert_eq!(ring.in_flight(), 0);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn multishot_recv_gives_owned_buffers_and_keeps_the_ring_alive() {
    let mut ring = Ring::new(8).unwrap();
    let bufs = Rc::new(BufRing::builder(3, 4, 64).build(ring.raw()).unwrap());
    let (mut client, server) = common::connected_pair();
    let t = ring
        .push(RecvMulti::new(common::share(&server), bufs.clone()))
        .unwrap();
    drop(bufs); // the operation keeps the buffer ring alive
    let mut got = Vec::new();
    for word in [&b"alpha"[..], b"beta", b"gamma"] {
        client.write_all(word).unwrap();
        let mut c = wait_all(&mut ring, 1).pop().unwrap();
        assert_eq!(c.token(), t);
        assert!(c.more() && !c.is_final());
        let b = c.take_buf().expect("a buffer");
        got.push(b.to_vec());
    }
    assert_eq!(
        got,
        vec![b"alpha".to_vec(), b"beta".to_vec(), b"gamma".to_vec()]
    );
    drop(client);
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(0), "EOF");
    assert!(c.is_final());
    assert!(c.take_op::<RecvMulti>().is_some());
}

#[test]
fn send_zc_keeps_the_buffer_until_the_notification() {
    let mut ring = Ring::new(8).unwrap();
    let (a, mut b) = common::connected_pair();
    let drops = Arc::new(AtomicUsize::new(0));
    ring.push(SendZc::new(
        common::share(&a),
        Counted {
            bytes: vec![9u8; 8192],
            drops: drops.clone(),
        },
    ))
    .unwrap();
    let mut cs = wait_all(&mut ring, 2);
    assert_eq!(cs[0].result(), Ok(8192));
    assert!(
        cs[0].more() && !cs[0].is_final(),
        "the result keeps the buffer"
    );
    assert!(
        cs[1].cqe().notif() && cs[1].is_final(),
        "the notification releases it"
    );
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    let op: SendZc<Counted> = cs[1].take_op().unwrap();
    drop(op);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let mut got = vec![0u8; 8192];
    std::io::Read::read_exact(&mut b, &mut got).unwrap();
    assert!(got.iter().all(|&x| x == 9));
}

#[test]
fn multishot_accept_and_timeout_release_at_the_last_completion() {
    let mut ring = Ring::new(8).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let ta = ring
        .push(Accept::new(common::share(&l)).multishot())
        .unwrap();
    let tt = ring
        .push(Timeout::new(Duration::from_millis(5)).multishot(3))
        .unwrap();
    let c1 = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let c2 = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let cs = wait_all(&mut ring, 5);
    let accepts: Vec<_> = cs.iter().filter(|c| c.token() == ta).collect();
    let ticks: Vec<_> = cs.iter().filter(|c| c.token() == tt).collect();
    assert_eq!(accepts.len(), 2);
    assert!(accepts.iter().all(|c| c.more() && !c.is_final()));
    assert_eq!(ticks.len(), 3);
    assert!(ticks[2].is_final() && !ticks[0].is_final());
    let mut cs = cs;
    let first = cs.iter_mut().find(|c| c.token() == ta).unwrap();
    let fd = first.take_fd().expect("an accepted connection");
    assert!(first.take_fd().is_none(), "taken once");
    drop(cs); // closes the accepted connection nobody took
              // The taken one stays open; the peer of the other one sees EOF.
    let taken = TcpStream::from(fd);
    let (mut kept_peer, mut closed_peer) = if taken.peer_addr().unwrap() == c1.local_addr().unwrap()
    {
        (c1, c2)
    } else {
        (c2, c1)
    };
    closed_peer
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(
        std::io::Read::read(&mut closed_peer, &mut byte).unwrap(),
        0,
        "EOF"
    );
    (&taken).write_all(b"k").unwrap();
    std::io::Read::read_exact(&mut kept_peer, &mut byte).unwrap();
    assert_eq!(&byte, b"k");
    assert_eq!(ring.in_flight(), 1, "the accept is still armed");
    ring.cancel(ta).unwrap();
    let cs = wait_all(&mut ring, 2);
    assert!(cs
        .iter()
        .any(|c| c.token() == ta && c.result() == Err(Errno::CANCELED) && c.is_final()));
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn link_timeout_cancels_and_both_come_back() {
    let mut ring = Ring::new(8).unwrap();
    let (r, _w) = rustix::pipe::pipe().unwrap();
    let (tr, tl) = ring
        .push_with_timeout(
            Read::new(common::share(&r), vec![0u8; 8]).at(u64::MAX),
            Duration::from_millis(10),
        )
        .unwrap();
    let cs = wait_all(&mut ring, 2);
    let read = cs.iter().find(|c| c.token() == tr).unwrap();
    let lt = cs.iter().find(|c| c.token() == tl).unwrap();
    assert_eq!(read.result(), Err(Errno::CANCELED));
    assert_eq!(lt.result(), Err(Errno::TIME));
    assert!(read.is_final() && lt.is_final());
}

/// Drop a ring with reads, receives and timeouts in flight: everything is
/// cancelled and reaped, then freed — each buffer exactly once, and only
/// after the kernel is done (AddressSanitizer checks the "after").
#[test]
fn drop_with_operations_in_flight_frees_after_the_kernel_is_done() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (pr, _pw) = rustix::pipe::pipe().unwrap();
    let (_client, server) = common::connected_pair();
    let counted = |n| Counted {
        bytes: vec![0u8; n],
        drops: drops.clone(),
    };
    let start = Instant::now();
    {
        let mut ring = Ring::new(16).unwrap();
        let bufs = Rc::new(BufRing::builder(1, 4, 256).build(ring.raw()).unwrap());
        for _ in 0..4 {
            ring.push(Read::new(common::share(&pr), counted(4096)).at(u64::MAX))
                .unwrap();
            ring.push(Recv::new(common::share(&server), counted(4096)))
                .unwrap();
        }
        ring.push(RecvMulti::new(common::share(&server), bufs))
            .unwrap();
        ring.push(Timeout::new(Duration::from_secs(3600))).unwrap();
        ring.push(Timeout::new(Duration::from_secs(3600)).multishot(0))
            .unwrap();
        ring.submit().unwrap();
        assert_eq!(ring.in_flight(), 11);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        8,
        "every buffer freed once, after its completion"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "cancellation was prompt: {:?}",
        start.elapsed()
    );
}

/// When the wait for cancelled operations runs out, they are leaked, not
/// freed.
#[test]
fn drop_timeout_leaks_rather_than_frees() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (pr, _pw) = rustix::pipe::pipe().unwrap();
    {
        let mut ring = Ring::new(8).unwrap();
        ring.set_drop_timeout(Duration::ZERO);
        ring.push(
            Read::new(
                common::share(&pr),
                Counted {
                    bytes: vec![0u8; 64],
                    drops: drops.clone(),
                },
            )
            .at(u64::MAX),
        )
        .unwrap();
        ring.submit().unwrap();
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "leaked, never freed while the kernel might use it"
    );
}

#[test]
fn full_queue_hands_the_operation_back() {
    // A disabled ring cannot submit, so its 2-entry SQ stays full.
    let ring = ring_core::IoUring::builder().r_disabled().build(2).unwrap();
    let mut ring: Ring = Ring::from_ring(ring);
    let (pr, _pw) = rustix::pipe::pipe().unwrap();
    ring.push(owned::op::Nop).unwrap();
    ring.push(owned::op::Nop).unwrap();
    match ring.push(Read::new(common::share(&pr), vec![1u8, 2, 3])) {
        Err(owned::PushError::Full(op)) => {
            assert_eq!(op.into_buf(), vec![1u8, 2, 3], "the very buffer came back")
        }
        Ok(_) => panic!("a full queue accepted an operation"),
        Err(e) => panic!("not a full queue: {e}"),
    }
    ring.raw().enable().unwrap();
    let cs = wait_all(&mut ring, 2);
    assert!(cs.iter().all(|c| c.result() == Ok(0) && c.is_final()));
}

ring_core::operations! {
    /// The operations of the typed-ring tests.
    enum Op {
        Read(Read<Counted>),
        Recv(RecvMulti),
        Timeout(Timeout),
        Nop(owned::op::Nop),
    }
}

/// The typed ring hands each operation back as its enum variant, buffers
/// included, and takes variants through `From`.
#[test]
fn typed_ring_hands_variants_back() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (path, file) = common::temp_file("owned-typed");
    std::fs::write(&path, b"typed").unwrap();
    let mut ring = Ring::<Op>::typed(8).unwrap();
    let bufs = Rc::new(BufRing::builder(5, 4, 64).build(ring.raw()).unwrap());
    let (mut client, server) = common::connected_pair();
    let tr = ring
        .push(Read::new(
            common::share(&file),
            Counted {
                bytes: vec![0u8; 16],
                drops: drops.clone(),
            },
        ))
        .unwrap();
    let tm = ring
        .push(RecvMulti::new(common::share(&server), bufs))
        .unwrap();
    ring.push(owned::op::Nop).unwrap();
    client.write_all(b"hello").unwrap();
    let mut cs = wait_all(&mut ring, 3);
    let read = cs.iter_mut().find(|c| c.token() == tr).unwrap();
    assert_eq!(read.result(), Ok(5));
    match read.take_op() {
        Some(Op::Read(r)) => assert_eq!(&r.into_buf().bytes[..5], b"typed"),
        _ => panic!("the read came back as something else"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let recv = cs.iter_mut().find(|c| c.token() == tm).unwrap();
    assert!(recv.more() && !recv.is_final());
    assert_eq!(&*recv.take_buf().expect("a buffer"), b"hello");
    drop(cs);
    assert_eq!(ring.in_flight(), 1, "the multishot receive is still armed");
    drop(client);
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(0));
    assert!(matches!(c.take_op(), Some(Op::Recv(_))));
    std::fs::remove_file(path).unwrap();
}

/// A buffer completion dropped without `take_buf` gives its buffer back:
/// with two buffers, six messages arrive without running out.
#[test]
fn untaken_buffers_go_back_to_their_ring() {
    let mut ring = Ring::<Op>::typed(8).unwrap();
    let bufs = Rc::new(BufRing::builder(6, 2, 64).build(ring.raw()).unwrap());
    let (mut client, server) = common::connected_pair();
    ring.push(RecvMulti::new(common::share(&server), bufs))
        .unwrap();
    for i in 0..6u8 {
        client.write_all(&[i; 3]).unwrap();
        let c = wait_all(&mut ring, 1).pop().unwrap();
        assert_eq!(c.result(), Ok(3), "message {i}");
        assert!(c.more(), "message {i}: still armed, not out of buffers");
    }
}

/// The typed ring's drop cancels, reaps and frees like the boxed one's.
#[test]
fn typed_ring_drop_with_operations_in_flight() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (pr, _pw) = rustix::pipe::pipe().unwrap();
    let (_client, server) = common::connected_pair();
    {
        let mut ring = Ring::<Op>::typed(16).unwrap();
        let bufs = Rc::new(BufRing::builder(7, 4, 256).build(ring.raw()).unwrap());
        for _ in 0..4 {
            let buf = Counted {
                bytes: vec![0u8; 4096],
                drops: drops.clone(),
            };
            ring.push(Read::new(common::share(&pr), buf).at(u64::MAX))
                .unwrap();
        }
        ring.push(RecvMulti::new(common::share(&server), bufs))
            .unwrap();
        ring.push(Timeout::new(Duration::from_secs(3600)).multishot(0))
            .unwrap();
        ring.submit().unwrap();
        assert_eq!(ring.in_flight(), 6);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4, "each buffer freed once");
}

/// Vectored operations own their iovec array and buffers.
#[test]
fn vectored_write_and_read() {
    let (path, file) = common::temp_file("owned-vec");
    let mut ring = Ring::new(8).unwrap();
    ring.push(owned::op::Writev::new(
        common::share(&file),
        vec![b"hello ".to_vec(), b"world".to_vec()],
    ))
    .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(11));
    let w: owned::op::Writev = c.take_op().unwrap();
    assert_eq!(w.into_bufs(), vec![b"hello ".to_vec(), b"world".to_vec()]);
    ring.push(owned::op::Readv::new(
        common::share(&file),
        vec![vec![0u8; 3], vec![0u8; 8]],
    ))
    .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(11));
    let r: owned::op::Readv = c.take_op().unwrap();
    assert_eq!(r.into_bufs(), vec![b"hel".to_vec(), b"lo world".to_vec()]);
    std::fs::remove_file(path).unwrap();
}

/// Connect and accept own their socket addresses; the accepted peer is
/// the connecting socket's address.
#[test]
fn connect_and_accept_with_peer_address() {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let mut ring = Ring::new(8).unwrap();
    let ta = ring
        .push(owned::op::AcceptPeer::new(common::share(&l)))
        .unwrap();
    let tc = ring
        .push(owned::op::Connect::new(
            common::share(&client),
            l.local_addr().unwrap(),
        ))
        .unwrap();
    let mut cs = wait_all(&mut ring, 2);
    let conn = cs.iter().find(|c| c.token() == tc).unwrap();
    assert_eq!(conn.result(), Ok(0));
    let acc = cs.iter_mut().find(|c| c.token() == ta).unwrap();
    let fd = acc.take_fd().expect("the accepted connection");
    let op: owned::op::AcceptPeer = acc.take_op().unwrap();
    let local = rustix::net::getsockname(&client).unwrap();
    let local = std::net::SocketAddr::try_from(local).unwrap();
    assert_eq!(op.peer_addr(), Some(local));
    // And the two ends talk: a message of two buffers arrives whole.
    drop(cs);
    ring.push(owned::op::SendMsg::new(
        common::share(&client),
        vec![b"ab".to_vec(), b"cd".to_vec()],
    ))
    .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(4));
    let sent: owned::op::SendMsg = c.take_op().unwrap();
    assert_eq!(sent.into_bufs().concat(), b"abcd");
    let mut got = [0u8; 4];
    std::io::Read::read_exact(&mut TcpStream::from(fd), &mut got).unwrap();
    assert_eq!(&got, b"abcd");
}

/// sendmsg to an address and recvmsg recording the sender, on UDP.
#[test]
fn datagram_messages_carry_addresses() {
    let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut ring = Ring::new(8).unwrap();
    let tr = ring
        .push(owned::op::RecvMsg::new(
            common::share(&b),
            vec![vec![0u8; 2], vec![0u8; 16]],
        ))
        .unwrap();
    ring.push(owned::op::SendMsg::to(
        common::share(&a),
        vec![b"da".to_vec(), b"tagram".to_vec()],
        b.local_addr().unwrap(),
    ))
    .unwrap();
    let mut cs = wait_all(&mut ring, 2);
    let rc = cs.iter_mut().find(|c| c.token() == tr).unwrap();
    assert_eq!(rc.result(), Ok(8));
    let r: owned::op::RecvMsg = rc.take_op().unwrap();
    assert_eq!(r.from_addr(), Some(a.local_addr().unwrap()));
    let bufs = r.into_bufs();
    assert_eq!(&bufs[0], b"da");
    assert_eq!(&bufs[1][..6], b"tagram");
}

/// Path operations own a NUL-terminated copy of the path; an open's
/// descriptor comes back owned.
#[test]
fn paths_mkdir_open_unlink() {
    let dir = common::temp_path("owned-dir");
    let file = dir.join("f");
    let mut ring = Ring::new(8).unwrap();
    ring.push(owned::op::Mkdir::new(&dir, 0o755).unwrap())
        .unwrap();
    assert_eq!(wait_all(&mut ring, 1)[0].result(), Ok(0));
    assert!(dir.is_dir());
    const O_WRONLY_CREAT: u32 = 0o1 | 0o100;
    ring.push(owned::op::Open::new(&file, O_WRONLY_CREAT, 0o644).unwrap())
        .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    let fd = c.take_fd().expect("an opened file");
    std::io::Write::write_all(&mut std::fs::File::from(fd), b"x").unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    let tf = ring.push(owned::op::Unlink::new(&file).unwrap()).unwrap();
    let td = ring
        .push(owned::op::Unlink::new(&dir).unwrap().dir())
        .unwrap();
    // The second may run before the first has removed the file: retry it.
    let cs = wait_all(&mut ring, 2);
    let result = |t| cs.iter().find(|c| c.token() == t).unwrap().result();
    assert_eq!(result(tf), Ok(0));
    if result(td).is_err() {
        ring.push(owned::op::Unlink::new(&dir).unwrap().dir())
            .unwrap();
        assert_eq!(wait_all(&mut ring, 1)[0].result(), Ok(0));
    }
    assert!(!dir.exists());
    assert!(
        owned::op::Open::new("a\0b", 0, 0).is_err(),
        "a NUL in a path is refused"
    );
}

/// Registered buffers are lent one operation at a time and come back.
#[test]
fn fixed_buffers_are_lent_and_returned() {
    let (path, file) = common::temp_file("owned-fixed");
    let mut ring = Ring::new(8).unwrap();
    let pool = owned::FixedBufs::register(ring.raw(), 2, 4096).unwrap();
    let mut w = pool.take().unwrap();
    let r = pool.take().unwrap();
    assert!(pool.take().is_none(), "two buffers, both lent");
    w.set_len(5);
    w.copy_from_slice(b"fixed");
    ring.push(owned::op::WriteFixed::new(common::share(&file), w))
        .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(5));
    drop(c.take_op::<owned::op::WriteFixed>().unwrap().into_buf());
    assert_eq!(pool.available(), 1, "the written buffer is back");
    ring.push(owned::op::ReadFixed::new(common::share(&file), r))
        .unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(5));
    let r = c.take_op::<owned::op::ReadFixed>().unwrap().into_buf();
    assert_eq!(&r[..5], b"fixed");
    drop(r);
    drop(ring); // the pool outlives the ring and unregisters through its own fd
    assert_eq!(pool.available(), 2);
    std::fs::remove_file(path).unwrap();
}

/// Owned operations take registered files (a `Files` table's `FixedFile`)
/// as well as descriptors; the slot stays filled while the handle lives and
/// is emptied when the last share drops.
#[test]
fn registered_files_are_targets_too() {
    let (path, file) = common::temp_file("owned-regfile");
    std::fs::write(&path, b"registered").unwrap();
    let mut ring = Ring::new(8).unwrap();
    let files = owned::Files::register(ring.raw(), 4).unwrap();
    let fixed = files.install(&file).unwrap();
    drop(file); // the table keeps its own reference to the file
    assert_eq!(files.available(), 3);
    ring.push(Read::new(&fixed, vec![0u8; 10])).unwrap();
    drop(fixed); // the read keeps the slot filled
    assert_eq!(files.available(), 3);
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.result(), Ok(10));
    assert_eq!(c.take_op::<Read>().unwrap().into_buf(), b"registered");
    drop(c);
    assert_eq!(files.available(), 4, "the last share emptied the slot");
    std::fs::remove_file(path).unwrap();
}

/// A linked pair runs in order; when the first fails, the second comes back
/// with ECANCELED without running. A one-shot buffer-ring receive ends with
/// its first completion.
#[test]
fn linked_pairs_and_one_shot_receives() {
    let (r, w) = common::pipe();
    let mut ring = Ring::new(8).unwrap();
    let (tw, tr) = ring
        .push_linked(
            Write::new(common::share(&w), b"x".to_vec()),
            Read::new(common::share(&r), vec![0u8; 1]),
        )
        .unwrap();
    let mut cs = wait_all(&mut ring, 2);
    assert_eq!(cs[0].token(), tw, "in order");
    let read = cs.iter_mut().find(|c| c.token() == tr).unwrap();
    assert_eq!(read.result(), Ok(1));
    assert_eq!(read.take_op::<Read>().unwrap().into_buf(), b"x");
    // Reading the pipe's write end fails (EBADF).
    let (_, tn) = ring
        .push_linked(Read::new(common::share(&w), vec![0u8; 1]), owned::op::Nop)
        .unwrap();
    let cs = wait_all(&mut ring, 2);
    let nop = cs.iter().find(|c| c.token() == tn).unwrap();
    assert_eq!(nop.result(), Err(Errno::CANCELED));

    let bufs = Rc::new(BufRing::builder(8, 4, 64).build(ring.raw()).unwrap());
    let (mut client, server) = common::connected_pair();
    ring.push(RecvMulti::new(common::share(&server), bufs).once())
        .unwrap();
    client.write_all(b"one").unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert!(!c.more() && c.is_final(), "one completion only");
    assert_eq!(&*c.take_buf().unwrap(), b"one");
    assert_eq!(ring.in_flight(), 0);
}

/// Entries pushed through the raw tier before the ring is wrapped, with
/// the default `user_data` 0 and with bit 63 set (the values the raw push
/// contract leaves to them), complete without releasing the owned
/// operation whose token names slot 0.
#[test]
fn raw_completions_on_a_wrapped_ring_release_nothing() {
    let mut raw = ring_core::IoUring::new(8).unwrap();
    let nop = ring_core::opcode::Nop::new().build();
    // SAFETY: NOPs point to nothing; user_data 0 and 1 << 63 are outside
    // the safe tier's token range, as the contract asks of a ring it wraps.
    unsafe {
        let mut sq = raw.submission();
        sq.push(&nop).unwrap();
        sq.push(&nop.user_data(1 << 63)).unwrap();
    }
    let mut ring: Ring = Ring::from_ring(raw);
    let (r, mut w) = common::pipe();
    let token = ring
        .push(Read::new(common::share(&r), vec![0u8; 2]))
        .unwrap();
    assert_eq!(
        token.slot(),
        0,
        "the read has the slot a forged 0 would name"
    );
    let cs = wait_all(&mut ring, 2);
    assert!(cs.iter().all(|c| !c.is_final()), "no operation came back");
    assert_eq!(ring.in_flight(), 1, "the read is still in flight");
    w.write_all(b"hi").unwrap();
    let mut c = wait_all(&mut ring, 1).pop().unwrap();
    assert_eq!(c.token(), token);
    assert_eq!(c.take_op::<Read>().unwrap().into_buf(), b"hi");
}

/// A write given `buf.slice(n..)` writes only that range, at the offset
/// it was given, and hands back the whole buffer: the rest of a short
/// write needs no copy. The getters report what the operation was built
/// with.
#[test]
fn a_sliced_write_writes_its_range_and_returns_the_whole_buffer() {
    let (path, file) = common::temp_file("owned-slice");
    let shared = owned::SharedFd::new(file);
    let mut ring = Ring::new(4).unwrap();
    let buf = b"0123456789".to_vec();
    let write = Write::new(&shared, buf.slice(4..8)).at(2);
    assert_eq!(write.offset(), 2);
    assert_eq!(&**write.buf(), b"4567");
    assert_eq!(write.buf().begin(), 4);
    assert!(!write.target().is_fixed());
    ring.push(write).unwrap();
    let mut done = wait_all(&mut ring, 1);
    assert_eq!(done[0].result(), Ok(4));
    let back: Write = done[0].take_op().unwrap();
    assert_eq!(back.into_buf(), b"0123456789");
    assert_eq!(std::fs::read(&path).unwrap(), b"\0\x004567");
    let _ = std::fs::remove_file(path);
}

/// Every completion of a multishot accept carries the tag it was pushed
/// with, and so does its final one after a cancel: no table from token to
/// purpose is needed. A drain answers each accept in the same pass.
#[test]
fn tags_come_back_with_every_completion_including_multishot() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut ring: Ring<Box<dyn owned::Operation>, u32> = Ring::tagged(16).unwrap();
    let accept = ring
        .push_tagged(owned::op::Accept::new(listener).multishot(), 7)
        .unwrap();
    let _clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let (mut accepted, mut nops) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while accepted < 3 || nops < 3 {
        assert!(Instant::now() < deadline, "{accepted} accepts, {nops} nops");
        ring.submit_and_wait_timeout(1, Duration::from_millis(100))
            .ok();
        ring.drain(|mut c, pusher| match *c.tag() {
            7 => {
                assert!(c.take_fd().is_some() && !c.is_final());
                accepted += 1;
                pusher.push_tagged(owned::op::Nop, 100 + accepted).unwrap();
            }
            t => {
                assert!((101..=103).contains(&t), "tag {t}");
                nops += 1;
            }
        });
    }
    ring.cancel(accept).unwrap();
    let done = wait_all(&mut ring, 2);
    let last = done.iter().find(|c| c.token() == accept).unwrap();
    assert!(last.is_final());
    assert_eq!(*last.tag(), 7);
}

/// `Send::wait_all` (MSG_WAITALL) sends all of a 32 MiB buffer over
/// loopback in one operation, far more than the socket buffer holds, and
/// every byte arrives in order.
#[test]
fn send_wait_all_sends_32_mib_and_every_byte_arrives() {
    use std::io::Read as _;
    const LEN: usize = 32 << 20;
    let (a, b) = common::connected_pair();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let reader = std::thread::spawn(move || {
        let mut b = b;
        b.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = vec![0u8; LEN];
        b.read_exact(&mut got).unwrap();
        got
    });
    let mut ring = Ring::new(4).unwrap();
    ring.push(owned::op::Send::new(a, data.clone()).wait_all())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        assert!(Instant::now() < deadline, "the send did not complete");
        let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(100));
        if let Some(c) = ring.completions().next() {
            break c;
        }
    };
    assert_eq!(done.result(), Ok(LEN as u32));
    let got = reader.join().unwrap();
    let first_bad = got.iter().zip(&data).position(|(x, y)| x != y);
    assert_eq!(first_bad, None, "bytes differ");
}

/// A chain longer than the queue comes back whole, in order, and nothing of
/// it is in flight; one that fits goes in whole.
#[test]
fn a_chain_goes_in_whole_or_not_at_all() {
    let mut ring = Ring::<owned::op::Nop>::typed(4).unwrap();
    match ring.push_chain([owned::op::Nop; 5]) {
        Err(owned::PushError::Full(back)) => assert_eq!(back.len(), 5),
        other => panic!("a chain of 5 in a queue of 4: {:?}", other.map(|_| ())),
    }
    assert_eq!(ring.in_flight(), 0);
    let tokens = ring.push_chain([owned::op::Nop; 4]).unwrap();
    assert_eq!(ring.in_flight(), 4);
    let done = wait_all(&mut ring, 4);
    let order: Vec<_> = done.iter().map(|c| c.token()).collect();
    assert_eq!(order, tokens, "a chain completes in order");
    assert!(done.iter().all(|c| c.result() == Ok(0)));
}
