//! The safe tier's operations beyond read/write/accept, each run against
//! the kernel and checked by its effect (the file's size, the renamed path,
//! the bytes that moved, the connection that got through), with attacks
//! where safety depends on what the operation holds. No `unsafe` here: all
//! of it is what a user of the safe tier can write.

#![forbid(unsafe_code)]

#[path = "common/fds.rs"]
mod common;

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ring_core::owned::{
    self, op::Bind, op::Fadvise, op::Fallocate, op::Fsync, op::Ftruncate, op::Link, op::Listen,
    op::MsgRing, op::Open2, op::PollAdd, op::PollRemove, op::ProvideBuffers, op::Read,
    op::RemoveBuffers, op::Rename, op::SendMsgZc, op::Socket, op::Splice, op::Statx, op::Symlink,
    op::SyncFileRange, op::Tee, op::Timeout, op::TimeoutRemove, Message, ProvidedBufs, PushError,
    Ring, RingHandle, SharedFd, Store,
};
use ring_core::Errno;

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

/// Fallocate grows the file, ftruncate shrinks it, fsync and fdatasync
/// succeed on it; each checked against the file's size as `std` sees it.
#[test]
fn fallocate_ftruncate_fsync_change_the_file() {
    let (path, file) = common::temp_file("ops-size");
    let file = SharedFd::new(file);
    let mut ring = Ring::new(8).unwrap();
    ring.push(Fallocate::new(&file, 0, 8192)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 8192);
    ring.push(Ftruncate::new(&file, 100)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 100);
    // FALLOC_FL_KEEP_SIZE: blocks allocated, size unchanged.
    ring.push(Fallocate::new(&file, 0, 4096 * 4).mode(1))
        .unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 100);
    ring.push(Fsync::new(&file)).unwrap();
    ring.push(Fsync::new(&file).datasync()).unwrap();
    for c in wait_all(&mut ring, 2) {
        assert_eq!(c.result(), Ok(0));
    }
    // fsync reaches the file it was given: on a pipe the kernel refuses.
    let (r, _w) = common::pipe();
    ring.push(Fsync::new(r)).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::INVAL));
    std::fs::remove_file(path).unwrap();
}

/// The attack: an ftruncate linked behind a read that blocks resolves its
/// descriptor late; the user drops the file and opens another (which would
/// get the same number). The truncate still hits the first file only.
#[test]
fn a_late_ftruncate_hits_its_own_file_after_the_user_drops_it() {
    let (path_a, a) = common::temp_file("ops-trunc-a");
    a.set_len(50).unwrap();
    let a = SharedFd::new(a);
    let number = a.as_raw_fd();
    let (r, mut w) = common::pipe();
    let mut ring = Ring::new(8).unwrap();
    ring.push_linked(Read::new(r, vec![0u8; 1]), Ftruncate::new(&a, 7))
        .unwrap();
    ring.submit().unwrap();
    drop(a);
    let (path_b, b) = common::temp_file("ops-trunc-b");
    b.set_len(50).unwrap();
    assert_ne!(b.as_raw_fd(), number, "the truncate holds the first file");
    w.write_all(b"x").unwrap();
    let c = wait_all(&mut ring, 2);
    assert!(c.iter().all(|c| c.result().is_ok()), "{c:?}");
    assert_eq!(std::fs::metadata(&path_a).unwrap().len(), 7);
    assert_eq!(std::fs::metadata(&path_b).unwrap().len(), 50, "untouched");
    drop(b);
    std::fs::remove_file(path_a).unwrap();
    std::fs::remove_file(path_b).unwrap();
}

/// Statx of a path and of an open file report the file's size and type;
/// the open-file form holds the descriptor (dropped by the user before the
/// operation runs).
#[test]
fn statx_reports_the_size_of_a_path_and_of_an_open_file() {
    let (path, file) = common::temp_file("ops-statx");
    std::fs::write(&path, vec![7u8; 1234]).unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(Statx::path(&path).unwrap()).unwrap();
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0));
    let st: Statx = c.take_op().unwrap();
    assert_eq!(st.statx().stx_size, 1234);
    assert_eq!(
        u32::from(st.statx().stx_mode) & 0o170000,
        0o100000,
        "S_IFREG"
    );

    let shared = SharedFd::new(file);
    ring.push(Statx::fd(&shared)).unwrap();
    drop(shared);
    let mut c = one(&mut ring);
    assert_eq!(c.result(), Ok(0));
    assert_eq!(c.take_op::<Statx>().unwrap().statx().stx_size, 1234);

    ring.push(Statx::path(common::temp_path("ops-statx-missing")).unwrap())
        .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::NOENT));
    assert!(Statx::path("a\0b").is_err(), "a NUL in a path is refused");
    std::fs::remove_file(path).unwrap();
}

/// Rename moves the file; with RENAME_NOREPLACE onto an existing name it
/// fails and both files stay as they were.
#[test]
fn rename_moves_a_file_and_noreplace_refuses() {
    let from = common::temp_path("ops-rename-from");
    let to = common::temp_path("ops-rename-to");
    std::fs::write(&from, b"moved").unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(Rename::new(&from, &to).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert!(!from.exists());
    assert_eq!(std::fs::read(&to).unwrap(), b"moved");

    std::fs::write(&from, b"other").unwrap();
    ring.push(Rename::new(&from, &to).unwrap().flags(1))
        .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::EXIST));
    assert_eq!(std::fs::read(&from).unwrap(), b"other");
    assert_eq!(std::fs::read(&to).unwrap(), b"moved");
    std::fs::remove_file(from).unwrap();
    std::fs::remove_file(to).unwrap();
}

/// Tee copies pipe data into a second pipe without consuming it; splice
/// then moves it from the first pipe into a file at an offset.
#[test]
fn tee_copies_and_splice_moves_pipe_data() {
    let (r1, mut w1) = common::pipe();
    let (mut r2, w2) = common::pipe();
    let (path, file) = common::temp_file("ops-splice");
    w1.write_all(b"through the pipe").unwrap();
    let r1 = SharedFd::new(r1);
    let mut ring = Ring::new(8).unwrap();
    ring.push(Tee::new(&r1, w2, 64)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(16));
    let mut copy = [0u8; 16];
    r2.read_exact(&mut copy).unwrap();
    assert_eq!(&copy, b"through the pipe");

    ring.push(Splice::new(&r1, file, 64).offset_out(4)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(16), "tee left the data in");
    let got = std::fs::read(&path).unwrap();
    assert_eq!(&got[..4], &[0, 0, 0, 0]);
    assert_eq!(&got[4..], b"through the pipe");
    std::fs::remove_file(path).unwrap();
}

/// A registered file of one ring as either end of a splice is refused on
/// another ring: its index would name another file there.
#[test]
fn splice_with_another_rings_registered_file_is_refused() {
    let (path, file) = common::temp_file("ops-splice-ring");
    let (r, _w) = common::pipe();
    let ring_x = Ring::new(8).unwrap();
    let files_x = owned::Files::register(ring_x.raw(), 2).unwrap();
    let fixed = files_x.install(&file).unwrap();
    let mut ring_y = Ring::new(8).unwrap();
    match ring_y.push(Splice::new(r, &fixed, 8)) {
        Err(PushError::WrongRing(_)) => {}
        other => panic!("expected WrongRing, got {other:?}"),
    }
    let (r, w) = common::pipe();
    match ring_y.push(Tee::new(&fixed, w, 8)) {
        Err(PushError::WrongRing(_)) => {}
        other => panic!("expected WrongRing, got {other:?}"),
    }
    drop(r);
    std::fs::remove_file(path).unwrap();
}

/// A poll completes when the pipe becomes readable, not before; a
/// multishot poll reports each readiness and comes back when removed by
/// its token.
#[test]
fn poll_waits_for_readiness_and_multishot_ends_on_remove() {
    const POLLIN: u32 = 0x1;
    let (mut rr, mut w) = common::pipe();
    let mut ring = Ring::new(8).unwrap();
    let t = ring.push(PollAdd::new(common::share(&rr), POLLIN)).unwrap();
    let _ = ring.submit_and_wait_timeout(1, Duration::from_millis(50));
    assert_eq!(ring.completions().count(), 0, "nothing to read yet");
    w.write_all(b"a").unwrap();
    let c = one(&mut ring);
    assert_eq!(c.token(), t);
    assert_eq!(c.result().unwrap() & POLLIN, POLLIN);
    assert!(c.is_final());

    // Multishot on an eventfd-like edge: read the pipe empty between
    // writes so each write is a new readiness.
    let multi = ring
        .push(PollAdd::new(common::share(&rr), POLLIN).multishot())
        .unwrap();
    let mut seen = 0;
    for _ in 0..3 {
        let mut byte = [0u8; 1];
        // Drain what is there, then make the pipe readable again.
        let _ = rr.read(&mut byte);
        w.write_all(b"b").unwrap();
        let c = one(&mut ring);
        assert_eq!(c.token(), multi);
        assert!(c.more(), "a multishot poll goes on");
        assert!(!c.is_final());
        seen += 1;
    }
    assert_eq!(seen, 3);
    assert_eq!(ring.in_flight(), 1);
    let remove = ring.push(PollRemove::new(multi)).unwrap();
    let done = wait_all(&mut ring, 2);
    let removed = done.iter().find(|c| c.token() == remove).unwrap();
    assert_eq!(removed.result(), Ok(0));
    let last = done.iter().find(|c| c.token() == multi).unwrap();
    assert!(
        last.is_final(),
        "the poll came back with its last completion"
    );
    assert_eq!(ring.in_flight(), 0);
}

/// Removing by the token of another ring's poll is harmless: the removal
/// fails with ENOENT here and the other ring's poll is untouched.
#[test]
fn poll_remove_with_another_rings_token_removes_nothing() {
    const POLLIN: u32 = 0x1;
    let (r, mut w) = common::pipe();
    let mut ring_x = Ring::new(8).unwrap();
    let mut ring_y = Ring::new(8).unwrap();
    let token = ring_x
        .push(PollAdd::new(common::share(&r), POLLIN))
        .unwrap();
    ring_x.submit().unwrap();
    // Ring y has a poll of its own with the same token value.
    let own = ring_y
        .push(PollAdd::new(common::share(&r), POLLIN))
        .unwrap();
    assert_eq!(own, token, "fresh rings hand out the same first token");
    let (r2, _w2) = common::pipe();
    let other = ring_y.push(PollAdd::new(r2, POLLIN)).unwrap();
    ring_y.push(PollRemove::new(token)).unwrap();
    // On y the token names y's own first poll, which is what a token of
    // this ring would do: it is removed, nothing else.
    let c = wait_all(&mut ring_y, 2);
    assert!(c
        .iter()
        .any(|c| c.token() == own && c.result() == Err(Errno::CANCELED)));
    assert_eq!(ring_y.in_flight(), 1, "y's other poll is still armed");
    let _ = other;
    // Ring x's poll still fires when the pipe gets data.
    w.write_all(b"x").unwrap();
    let c = one(&mut ring_x);
    assert_eq!(c.token(), token);
    assert_eq!(c.result().unwrap() & POLLIN, POLLIN);
}

/// A timeout removed by its token comes back early with ECANCELED; a
/// removal for a timeout that already fired fails with ENOENT.
#[test]
fn timeout_remove_cancels_a_pending_timeout() {
    let mut ring = Ring::new(8).unwrap();
    let start = Instant::now();
    let t = ring.push(Timeout::new(Duration::from_secs(10))).unwrap();
    let rm = ring.push(TimeoutRemove::new(t)).unwrap();
    let c = wait_all(&mut ring, 2);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "removed, not fired"
    );
    let timeout = c.iter().find(|c| c.token() == t).unwrap();
    assert_eq!(timeout.result(), Err(Errno::CANCELED));
    assert!(timeout.is_final());
    assert_eq!(c.iter().find(|c| c.token() == rm).unwrap().result(), Ok(0));

    let fired = ring.push(Timeout::new(Duration::from_millis(1))).unwrap();
    assert_eq!(one(&mut ring).token(), fired);
    ring.push(TimeoutRemove::new(fired)).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::NOENT));
}

/// Socket, bind and listen on the ring make a listener a plain `std`
/// client can connect to; the socket comes back owned.
#[test]
fn socket_bind_listen_make_a_listener() {
    const AF_INET: i32 = 2;
    const SOCK_STREAM: i32 = 1;
    let mut ring = Ring::new(8).unwrap();
    ring.push(Socket::new(AF_INET, SOCK_STREAM, 0)).unwrap();
    let mut c = one(&mut ring);
    let sock = SharedFd::new(c.take_fd().expect("the socket comes back owned"));
    drop(c);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    ring.push(Bind::new(&sock, addr)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    ring.push(Listen::new(&sock, 8)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    let listener = std::net::TcpListener::from(sock.try_unwrap().unwrap());
    let bound = listener.local_addr().unwrap();
    assert_eq!(bound.ip(), addr.ip());
    assert_ne!(bound.port(), 0, "bound to a port the kernel chose");
    let mut client = std::net::TcpStream::connect(bound).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"hi").unwrap();
    let mut got = [0u8; 2];
    server.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");
}

/// A zero-copy sendmsg delivers its buffers in order and hands them back
/// only with the notification (the completion without MORE).
#[test]
fn sendmsg_zc_delivers_and_returns_buffers_with_the_notification() {
    let (c, mut s) = common::connected_pair();
    let mut ring = Ring::new(8).unwrap();
    let t = ring
        .push(SendMsgZc::new(c, vec![b"zero ".to_vec(), b"copy".to_vec()]))
        .unwrap();
    let mut done = wait_all(&mut ring, 2);
    assert!(done.iter().all(|d| d.token() == t));
    let result = &done[0];
    assert_eq!(result.result(), Ok(9));
    assert!(
        result.more() && !result.is_final(),
        "the result comes first"
    );
    let mut last = done.pop().unwrap();
    assert!(last.is_final(), "the notification hands the operation back");
    let bufs = last.take_op::<SendMsgZc>().unwrap().into_bufs();
    assert_eq!(bufs, vec![b"zero ".to_vec(), b"copy".to_vec()]);
    let mut got = [0u8; 9];
    s.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"zero copy");
}

/// A message arrives on the target ring as a completion without an
/// operation, carrying its value and res; the sender's own completion says
/// it was posted.
#[test]
fn msg_ring_posts_a_message_the_target_reads() {
    let mut target = Ring::new(8).unwrap();
    let handle = RingHandle::of(&target).unwrap();
    assert_eq!(handle.ring_id(), target.id());
    let mut sender = Ring::new(8).unwrap();
    sender.push(MsgRing::new(&handle, 42, -7).unwrap()).unwrap();
    assert_eq!(one(&mut sender).result(), Ok(0));
    let c = one(&mut target);
    assert!(!c.is_final(), "a message releases no operation");
    assert_eq!(c.message(), Some(Message { value: 42, res: -7 }));
    assert!(
        MsgRing::new(&handle, 1 << 63, 0).is_err(),
        "bit 63 is the marker"
    );
}

/// A message posted with no ring of the sender's (the blind
/// `IORING_REGISTER_SEND_MSG_RING`, from another thread) arrives like a
/// pushed one, and follows the same rules: bit 63 is refused, and a value
/// equal to a live token releases nothing.
#[test]
fn a_ring_handle_posts_without_a_ring() {
    let (r, mut w) = common::pipe();
    let mut target = Ring::new(8).unwrap();
    let read = target.push(Read::new(r, vec![0u8; 2])).unwrap();
    target.submit().unwrap();
    let handle = RingHandle::of(&target).unwrap();
    let token = read.raw();
    std::thread::spawn(move || {
        handle.post(token, 5).unwrap();
        assert!(handle.post(1 << 63, 0).is_err(), "bit 63 is the marker");
    })
    .join()
    .unwrap();
    let c = one(&mut target);
    assert!(!c.is_final(), "a message releases no operation");
    assert_eq!(
        c.message(),
        Some(Message {
            value: token,
            res: 5
        })
    );
    drop(c);
    assert_eq!(target.in_flight(), 1, "the read is still in flight");
    w.write_all(b"ok").unwrap();
    let mut c = one(&mut target);
    assert_eq!(c.token(), read);
    assert_eq!(c.take_op::<Read>().unwrap().into_buf(), b"ok");
}

/// The attack: a message whose value is the token of an operation in
/// flight on the target ring does not release it: the operation stays in
/// flight, its memory in use, and comes back with its own completion.
#[test]
fn a_message_with_a_live_tokens_value_releases_nothing() {
    let (r, mut w) = common::pipe();
    let mut target = Ring::new(8).unwrap();
    let read = target.push(Read::new(r, vec![0u8; 4])).unwrap();
    target.submit().unwrap();
    let handle = RingHandle::of(&target).unwrap();
    let mut sender = Ring::new(8).unwrap();
    sender
        .push(MsgRing::new(&handle, read.raw(), 0).unwrap())
        .unwrap();
    assert_eq!(one(&mut sender).result(), Ok(0));
    let c = one(&mut target);
    assert_ne!(c.token(), read, "the message does not carry the token");
    assert_eq!(c.message().unwrap().value, read.raw());
    drop(c);
    assert_eq!(target.in_flight(), 1, "the read is still in flight");
    w.write_all(b"data").unwrap();
    let mut c = one(&mut target);
    assert_eq!(c.token(), read);
    assert_eq!(c.take_op::<Read>().unwrap().into_buf(), b"data");
}

/// The handle keeps the target ring's descriptor: after the target `Ring`
/// is dropped and its number reused by another file, a message still goes
/// to the (now unread) ring, not to whatever got the number.
#[test]
fn a_ring_handle_outlives_its_ring() {
    let target = Ring::new(8).unwrap();
    let handle = RingHandle::of(&target).unwrap();
    drop(target);
    let (path, other) = common::temp_file("ops-msg-reuse");
    let mut sender = Ring::new(8).unwrap();
    sender.push(MsgRing::new(&handle, 1, 0).unwrap()).unwrap();
    assert_eq!(one(&mut sender).result(), Ok(0), "posted to the old ring");
    drop(other);
    std::fs::remove_file(path).unwrap();
}

/// sync_file_range and fadvise reach the file they hold: on a regular file
/// they succeed, on a pipe the kernel refuses them (ESPIPE). Their effect
/// on the page cache is not observed here.
#[test]
fn sync_file_range_and_fadvise_reach_their_file() {
    let (path, file) = common::temp_file("ops-sfr");
    std::fs::write(&path, vec![1u8; 8192]).unwrap();
    let file = SharedFd::new(file);
    let mut ring = Ring::new(8).unwrap();
    // SYNC_FILE_RANGE_WRITE | WAIT_AFTER; POSIX_FADV_DONTNEED.
    ring.push(SyncFileRange::new(&file, 0, 0).flags(2 | 4))
        .unwrap();
    ring.push(Fadvise::new(&file, 0, 0, 4)).unwrap();
    for c in wait_all(&mut ring, 2) {
        assert_eq!(c.result(), Ok(0));
    }
    let (r, _w) = common::pipe();
    let r = SharedFd::new(r);
    ring.push(SyncFileRange::new(&r, 0, 0)).unwrap();
    ring.push(Fadvise::new(&r, 0, 0, 4)).unwrap();
    for c in wait_all(&mut ring, 2) {
        assert_eq!(c.result(), Err(Errno::SPIPE));
    }
    std::fs::remove_file(path).unwrap();
}

/// openat2 opens the file (which comes back owned and reads its contents)
/// and applies its resolve rules: RESOLVE_BENEATH refuses an absolute path.
#[test]
fn openat2_opens_and_applies_resolve_rules() {
    let path = common::temp_path("ops-openat2");
    std::fs::write(&path, b"how").unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(Open2::new(&path, 0, 0).unwrap()).unwrap();
    let mut c = one(&mut ring);
    let mut f = std::fs::File::from(c.take_fd().expect("an owned file"));
    let mut got = String::new();
    f.read_to_string(&mut got).unwrap();
    assert_eq!(got, "how");
    ring.push(Open2::new(&path, 0, 0).unwrap().resolve(8))
        .unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::XDEV));
    std::fs::remove_file(path).unwrap();
}

/// symlinkat makes a link that points where it was told; linkat makes a
/// second name of the same inode.
#[test]
fn symlink_and_link_make_names() {
    use std::os::unix::fs::MetadataExt;
    let file = common::temp_path("ops-link-file");
    let sym = common::temp_path("ops-link-sym");
    let hard = common::temp_path("ops-link-hard");
    std::fs::write(&file, b"linked").unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(Symlink::new(&file, &sym).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert_eq!(std::fs::read_link(&sym).unwrap(), file);
    ring.push(Link::new(&file, &hard).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert_eq!(
        std::fs::metadata(&hard).unwrap().ino(),
        std::fs::metadata(&file).unwrap().ino()
    );
    assert_eq!(std::fs::metadata(&file).unwrap().nlink(), 2);
    ring.push(Link::new(&file, &hard).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::EXIST));
    for p in [file, sym, hard] {
        std::fs::remove_file(p).unwrap();
    }
}

/// Provided buffers reach the kernel: removing the group takes back as
/// many as were provided, and a second removal finds none. A group is
/// provided once.
#[test]
fn provided_buffers_are_counted_back_by_remove() {
    let mut ring = Ring::new(8).unwrap();
    let group = ProvidedBufs::new(ring.id(), 9, 4, 64).unwrap();
    let provide = ProvideBuffers::new(&group).unwrap();
    assert!(
        ProvideBuffers::new(&group).is_ok(),
        "not provided until pushed"
    );
    ring.push(provide).unwrap();
    assert!(ProvideBuffers::new(&group).is_err(), "provided once");
    assert_eq!(one(&mut ring).result(), Ok(0));
    ring.push(RemoveBuffers::new(&group)).unwrap();
    assert_eq!(
        one(&mut ring).result(),
        Ok(4),
        "all four were with the kernel"
    );
    ring.push(RemoveBuffers::new(&group)).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0), "none left");
    assert!(ProvidedBufs::new(ring.id(), 9, 0, 64).is_err());
}

/// What keeps a buffer completion's id meaningful: the kernel keeps legacy
/// groups and buffer rings apart. Providing into (or removing from) a
/// buffer ring's group is refused and the ring keeps working; a buffer ring
/// cannot be registered where provided buffers are. And a group of one ring
/// is refused on another.
#[test]
fn provided_groups_and_buffer_rings_stay_apart() {
    let mut ring = Ring::new(8).unwrap();
    let bufs = std::rc::Rc::new(
        ring_core::buf_ring::BufRing::builder(10, 4, 64)
            .build(ring.raw())
            .unwrap(),
    );
    let legacy = ProvidedBufs::new(ring.id(), 10, 2, 64).unwrap();
    ring.push(ProvideBuffers::new(&legacy).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::INVAL));
    ring.push(RemoveBuffers::new(&legacy)).unwrap();
    assert_eq!(one(&mut ring).result(), Err(Errno::INVAL));
    let (mut client, server) = common::connected_pair();
    ring.push(owned::op::RecvMulti::new(server, bufs.clone()).once())
        .unwrap();
    client.write_all(b"ring").unwrap();
    let mut c = one(&mut ring);
    assert_eq!(&*c.take_buf().expect("a buffer of the ring"), b"ring");

    let other = ProvidedBufs::new(ring.id(), 11, 2, 64).unwrap();
    ring.push(ProvideBuffers::new(&other).unwrap()).unwrap();
    assert_eq!(one(&mut ring).result(), Ok(0));
    assert!(
        ring_core::buf_ring::BufRing::builder(11, 4, 64)
            .build(ring.raw())
            .is_err(),
        "no buffer ring over provided buffers"
    );

    let ring_y = Ring::new(8).unwrap();
    let mut ring_x = Ring::new(8).unwrap();
    let of_y = ProvidedBufs::new(ring_y.id(), 12, 2, 64).unwrap();
    match ring_x.push(ProvideBuffers::new(&of_y).unwrap()) {
        Err(PushError::WrongRing(_)) => {}
        r => panic!("expected WrongRing, got {r:?}"),
    }
    assert!(
        ProvideBuffers::new(&of_y).is_ok(),
        "a refused provide leaves the group unprovided (and freed on drop)"
    );
    match ring_x.push(RemoveBuffers::new(&of_y)) {
        Err(PushError::WrongRing(_)) => {}
        r => panic!("expected WrongRing, got {r:?}"),
    }
}

/// The attack: asking for `SPLICE_F_FD_IN_FIXED` through the flags would
/// make the kernel read the input descriptor's number as a slot index of
/// the registered file table. The setter drops that bit (only a
/// `FixedFile` target sets it), so the splice reads the descriptor it holds.
#[test]
fn splice_flags_cannot_turn_a_descriptor_into_a_slot_index() {
    let (r, mut w) = common::pipe();
    let (path, file) = common::temp_file("ops-splice-flag");
    w.write_all(b"held").unwrap();
    let mut ring = Ring::new(8).unwrap();
    ring.push(Splice::new(r, file, 4).flags(1 << 31)).unwrap();
    assert_eq!(
        one(&mut ring).result(),
        Ok(4),
        "not EBADF from a slot lookup"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"held");
    std::fs::remove_file(path).unwrap();
}
