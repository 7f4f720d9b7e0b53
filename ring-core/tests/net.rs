//! Networking, registered resources and provided-buffer rings against the
//! real kernel, on loopback sockets.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use ring_core::buf_ring::{self, BufRing, RecvMsgOut};
use ring_core::opcode::{self, CancelBy};
use ring_core::types::{DestinationSlot, Fd, Fixed};
use ring_core::{cqueue, Errno, IoUring};
use rustix::io_uring::{iovec, MsgHdr};

const AF_INET: i32 = 2;
const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;
const SOCK_CLOEXEC: i32 = 0o2000000;

/// A `sockaddr_in` for 127.0.0.1:port.
fn sockaddr_in(port: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0..2].copy_from_slice(&(AF_INET as u16).to_ne_bytes());
    a[2..4].copy_from_slice(&port.to_be_bytes());
    a[4..8].copy_from_slice(&[127, 0, 0, 1]);
    a
}

fn push(ring: &mut IoUring, e: &ring_core::squeue::Entry) {
    let mut sq = ring.submission();
    // SAFETY: every test keeps what its entries point to alive until their
    // final completions are reaped.
    unsafe { sq.push(e).unwrap() };
}

#[test]
fn socket_bind_listen_connect_accept_through_the_ring() {
    let mut ring = IoUring::new(16).unwrap();
    let probe = ring.probe().unwrap();
    if !probe.is_supported(opcode::Bind::CODE) {
        eprintln!("skipped: no IORING_OP_BIND");
        return;
    }
    let c = common::run(
        &mut ring,
        &[opcode::Socket::new(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).build()],
        1,
    );
    // SAFETY: the kernel created this fd for us; we own it now.
    let lfd = unsafe { OwnedFd::from_raw_fd(c[0].result().unwrap() as i32) };
    rustix::net::sockopt::set_socket_reuseaddr(&lfd, true).unwrap();
    let addr = sockaddr_in(0);
    let c = common::run(
        &mut ring,
        &[opcode::Bind::new(&lfd, addr.as_ptr(), 16).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    let c = common::run(&mut ring, &[opcode::Listen::new(&lfd, 16).build()], 1);
    assert_eq!(c[0].result(), Ok(0));
    let port = rustix::net::SocketAddrV4::try_from(rustix::net::getsockname(&lfd).unwrap())
        .unwrap()
        .port();

    // Connect a ring-made client, accept with the peer recorded.
    let c = common::run(
        &mut ring,
        &[opcode::Socket::new(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).build()],
        1,
    );
    // SAFETY: as above.
    let cfd = unsafe { OwnedFd::from_raw_fd(c[0].result().unwrap() as i32) };
    let target = sockaddr_in(port);
    let mut peer = [0u8; 16];
    let mut peer_len = 16u32;
    let conn = opcode::Connect::new(&cfd, target.as_ptr(), 16)
        .build()
        .user_data(1);
    let acc = opcode::Accept::new(&lfd)
        .peer(peer.as_mut_ptr(), &mut peer_len)
        .build()
        .user_data(2);
    let c = common::run(&mut ring, &[conn, acc], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Ok(0));
    // SAFETY: the accepted fd is ours.
    let sfd = unsafe { OwnedFd::from_raw_fd(m[&2].result().unwrap() as i32) };
    assert_eq!(peer_len, 16);
    assert_eq!(&peer[4..8], &[127, 0, 0, 1]);

    // Data flows both ways: Send / Recv.
    let msg = b"ping";
    let mut got = [0u8; 8];
    let s = opcode::Send::new(&cfd, msg.as_ptr(), 4)
        .build()
        .user_data(3);
    let r = opcode::Recv::new(&sfd, got.as_mut_ptr(), 8)
        .build()
        .user_data(4);
    let c = common::run(&mut ring, &[s, r], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&3].result(), Ok(4));
    assert_eq!(m[&4].result(), Ok(4));
    assert_eq!(&got[..4], b"ping");

    // Shutdown(SHUT_WR): the peer reads EOF.
    let c = common::run(&mut ring, &[opcode::Shutdown::new(&cfd, 1).build()], 1);
    assert_eq!(c[0].result(), Ok(0));
    let c = common::run(
        &mut ring,
        &[opcode::Recv::new(&sfd, got.as_mut_ptr(), 8).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0), "EOF after shutdown");
}

#[test]
fn multishot_accept_sets_more_until_cancelled() {
    let mut ring = IoUring::new(16).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    push(
        &mut ring,
        &opcode::Accept::new(&l).multishot().build().user_data(7),
    );
    ring.submit().unwrap();
    let mut clients = Vec::new();
    let mut accepted = Vec::new();
    for _ in 0..4 {
        clients.push(TcpStream::connect(addr).unwrap());
        let c = common::reap(&mut ring, 1);
        assert_eq!(c[0].user_data(), 7);
        assert!(c[0].more(), "multishot goes on: {c:?}");
        // SAFETY: an accepted fd, ours now.
        accepted.push(unsafe { OwnedFd::from_raw_fd(c[0].result().unwrap() as i32) });
    }
    // Each accepted socket is connected to its client.
    for (i, (c, s)) in clients.iter_mut().zip(&accepted).enumerate() {
        c.write_all(&[i as u8]).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(rustix::io::read(s, &mut b).unwrap(), 1);
        assert_eq!(b[0], i as u8);
    }
    let c = common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::UserData(7))
            .build()
            .user_data(8)],
        2,
    );
    let m = common::by_user_data(&c);
    assert_eq!(m[&8].result(), Ok(0));
    assert_eq!(m[&7].result(), Err(Errno::CANCELED));
    assert!(!m[&7].more(), "the final completion has no MORE");
}

#[test]
fn accept_into_direct_descriptors_and_fixed_file_io() {
    let mut ring = IoUring::new(16).unwrap();
    ring.submitter().register_files_sparse(8).unwrap();
    ring.submitter().register_file_alloc_range(2, 4).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    // Auto-allocated slot: the result is the slot index, within the range.
    let c = common::run(
        &mut ring,
        &[opcode::Accept::new(&l)
            .destination(DestinationSlot::AutoFixed)
            .build()],
        1,
    );
    let slot = c[0].result().unwrap();
    assert!((2..6).contains(&slot), "slot {slot}");
    // Use it with FIXED_FILE.
    client.write_all(b"direct").unwrap();
    let mut buf = [0u8; 16];
    let c = common::run(
        &mut ring,
        &[opcode::Recv::new(Fixed(slot), buf.as_mut_ptr(), 16).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(6));
    assert_eq!(&buf[..6], b"direct");
    let c = common::run(
        &mut ring,
        &[opcode::Send::new(Fixed(slot), b"back".as_ptr(), 4).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(4));
    let mut four = [0u8; 4];
    client.read_exact(&mut four).unwrap();
    assert_eq!(&four, b"back");
    // Close the direct descriptor: the client sees EOF.
    let c = common::run(&mut ring, &[opcode::Close::new(Fixed(slot)).build()], 1);
    assert_eq!(c[0].result(), Ok(0));
    assert_eq!(client.read(&mut four).unwrap(), 0);
    // A socket straight into slot 0.
    let c = common::run(
        &mut ring,
        &[opcode::Socket::new(AF_INET, SOCK_DGRAM, 0)
            .destination(DestinationSlot::Fixed(0))
            .build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    // Dense registration and update.
    let (a, b) = common::connected_pair();
    // SAFETY: a raw ring with no safe-tier file table; nothing in flight,
    // and the raw entries below expect the new table's files.
    unsafe { ring.submitter().unregister_files() }.unwrap();
    // SAFETY: no safe-tier file table on this ring; the raw entries below
    // expect exactly these files at these slots.
    unsafe { ring.submitter().register_files(&[None, Some(a.as_fd())]) }.unwrap();
    assert_eq!(
        // SAFETY: as above.
        unsafe {
            ring.submitter()
                .register_files_update(0, &[Some(b.as_fd())])
        }
        .unwrap(),
        1
    );
    let c = common::run(
        &mut ring,
        &[opcode::Send::new(Fixed(0), b"x".as_ptr(), 1).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(1));
    let mut one = [0u8; 1];
    (&a).read_exact(&mut one).unwrap();
    assert_eq!(&one, b"x");
}

#[test]
fn sendmsg_recvmsg() {
    let mut ring = IoUring::new(8).unwrap();
    let (a, b) = common::connected_pair();
    let (p1, p2) = (b"hello ".to_vec(), b"world".to_vec());
    let out_iov = [
        iovec {
            iov_base: p1.as_ptr() as *mut _,
            iov_len: p1.len(),
        },
        iovec {
            iov_base: p2.as_ptr() as *mut _,
            iov_len: p2.len(),
        },
    ];
    let mut smsg = zeroed_msghdr();
    smsg.msg_iov = out_iov.as_ptr().cast_mut();
    smsg.msg_iovlen = 2;
    let mut inbuf = [0u8; 32];
    let in_iov = [iovec {
        iov_base: inbuf.as_mut_ptr().cast(),
        iov_len: 32,
    }];
    let mut rmsg = zeroed_msghdr();
    rmsg.msg_iov = in_iov.as_ptr().cast_mut();
    rmsg.msg_iovlen = 1;
    let s = opcode::SendMsg::new(&a, &smsg).build().user_data(1);
    let r = opcode::RecvMsg::new(&b, &mut rmsg).build().user_data(2);
    let c = common::run(&mut ring, &[s, r], 2);
    let m = common::by_user_data(&c);
    assert_eq!(m[&1].result(), Ok(11));
    assert_eq!(m[&2].result(), Ok(11));
    assert_eq!(&inbuf[..11], b"hello world");
}

fn zeroed_msghdr() -> MsgHdr {
    // SAFETY: MsgHdr is a plain C struct of pointers, lengths and flags;
    // all-zero is a valid empty message header.
    unsafe { std::mem::zeroed() }
}

#[test]
fn multishot_recv_fills_buffer_ring_with_ids_and_lengths() {
    let mut ring = IoUring::new(16).unwrap();
    let bufs = BufRing::builder(1, 8, 64).build(&ring).unwrap();
    let (mut client, server) = common::connected_pair();
    push(
        &mut ring,
        &opcode::Recv::with_buf_group(&server, 1)
            .multishot()
            .build()
            .user_data(5),
    );
    ring.submit().unwrap();
    let mut seen = std::collections::HashSet::new();
    for i in 0..5u8 {
        let msg = vec![i; 10 + i as usize];
        client.write_all(&msg).unwrap();
        let c = common::reap(&mut ring, 1);
        assert!(c[0].more(), "{c:?}");
        // SAFETY: the CQE comes from our multishot recv on group 1.
        let buf = unsafe { bufs.get(&c[0]) }.unwrap();
        assert!(bid_ok(buf.bid()), "{}", buf.bid());
        seen.insert(buf.bid());
        assert_eq!(&*buf, &msg[..], "data of message {i}");
        // Dropping `buf` returns it to the kernel.
    }
    assert!(
        seen.len() >= 2,
        "the kernel moved on through the ring: {seen:?}"
    );
    assert_eq!(bufs.available(), 8, "every buffer is back");
    // A CQE's buffer can be taken once only.
    drop(client);
    let c = common::reap(&mut ring, 1);
    assert_eq!(c[0].result(), Ok(0), "EOF ends the multishot recv");
    assert!(!c[0].more());
}

fn bid_ok(bid: u16) -> bool {
    bid < 8
}

#[test]
fn buffer_ring_exhaustion_gives_enobufs_and_rearm_works() {
    let mut ring = IoUring::new(16).unwrap();
    let bufs = BufRing::builder(2, 2, 16).build(&ring).unwrap();
    let (mut client, server) = common::connected_pair();
    let arm = opcode::Recv::with_buf_group(&server, 2)
        .multishot()
        .build()
        .user_data(9);
    push(&mut ring, &arm);
    ring.submit().unwrap();
    // The sender outruns the 2 buffers: hold on to what we take.
    let mut held = Vec::new();
    let mut received = Vec::new();
    let mut enobufs = false;
    let payload: Vec<u8> = (0..200u8).collect();
    client.write_all(&payload).unwrap();
    while !enobufs {
        for c in common::reap(&mut ring, 1) {
            if buf_ring::is_out_of_buffers(&c) {
                assert!(!c.more(), "ENOBUFS ends the multishot");
                enobufs = true;
            } else {
                // SAFETY: from our recv on group 2.
                let b = unsafe { bufs.get(&c) }.unwrap();
                received.extend_from_slice(&b);
                held.push(b);
            }
        }
    }
    assert_eq!(held.len(), 2, "both buffers were used before ENOBUFS");
    assert_eq!(bufs.available(), 0);
    drop(held);
    assert_eq!(bufs.available(), 2);
    // Re-arm and receive the rest, recycling as we go.
    push(&mut ring, &arm);
    ring.submit().unwrap();
    while received.len() < payload.len() {
        for c in common::reap(&mut ring, 1) {
            if buf_ring::is_out_of_buffers(&c) {
                push(&mut ring, &arm);
                ring.submit().unwrap();
                continue;
            }
            // SAFETY: from our recv on group 2.
            let b = unsafe { bufs.get(&c) }.unwrap();
            received.extend_from_slice(&b);
        }
    }
    assert_eq!(received, payload, "every byte, in order");
    // The kernel's head moved past every buffer it consumed.
    match bufs.head() {
        Ok(head) => assert!(head >= 2, "head {head}"),
        Err(e) => eprintln!("PBUF_STATUS unavailable: {e}"),
    }
}

#[test]
fn double_take_is_refused() {
    let mut ring = IoUring::new(8).unwrap();
    let bufs = BufRing::builder(3, 4, 32).build(&ring).unwrap();
    let (mut client, server) = common::connected_pair();
    client.write_all(b"once").unwrap();
    let c = common::run(
        &mut ring,
        &[opcode::Recv::with_buf_group(&server, 3).build()],
        1,
    );
    // SAFETY: from our recv on group 3.
    let b = unsafe { bufs.get(&c[0]) }.unwrap();
    // SAFETY: same CQE; the ring refuses to hand the id out twice.
    let again = unsafe { bufs.get(&c[0]) };
    assert_eq!(
        again.unwrap_err(),
        buf_ring::BufError::AlreadyTaken(b.bid())
    );
    let none = cqueue::Entry::from_raw(0, 4, 0);
    // SAFETY: a CQE without a buffer: refused before anything is read.
    let refused = unsafe { bufs.get(&none) };
    assert_eq!(refused.unwrap_err(), buf_ring::BufError::NoBuffer);
}

#[test]
fn kernel_mapped_and_incremental_buffer_rings() {
    let mut ring = IoUring::new(8).unwrap();
    let mapped = BufRing::builder(4, 4, 64)
        .kernel_mapped()
        .build(&ring)
        .unwrap();
    let (mut client, server) = common::connected_pair();
    client.write_all(b"mapped").unwrap();
    let c = common::run(
        &mut ring,
        &[opcode::Recv::with_buf_group(&server, 4).build()],
        1,
    );
    // SAFETY: from our recv on group 4.
    assert_eq!(&*unsafe { mapped.get(&c[0]) }.unwrap(), b"mapped");

    let inc = match BufRing::builder(5, 2, 64).incremental().build(&ring) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skipped incremental: {e}");
            return;
        }
    };
    // Two small receives land in the same buffer, the first with BUF_MORE.
    client.write_all(b"abc").unwrap();
    let c1 = common::run(
        &mut ring,
        &[opcode::Recv::with_buf_group(&server, 5).build()],
        1,
    );
    assert!(c1[0].flags().contains(cqueue::Flags::BUF_MORE), "{c1:?}");
    client.write_all(b"defg").unwrap();
    let c2 = common::run(
        &mut ring,
        &[opcode::Recv::with_buf_group(&server, 5).build()],
        1,
    );
    assert_eq!(
        c1[0].buffer_id(),
        c2[0].buffer_id(),
        "same buffer, consumed incrementally"
    );
    // SAFETY: both from our recvs on group 5.
    let (b1, b2) = unsafe { (inc.get(&c1[0]).unwrap(), inc.get(&c2[0]).unwrap()) };
    assert_eq!(&*b1, b"abc");
    assert_eq!(&*b2, b"defg");
}

#[test]
fn bundle_recv_spans_buffers() {
    let mut ring = IoUring::new(8).unwrap();
    if !ring
        .params()
        .features()
        .contains(ring_core::Features::RECVSEND_BUNDLE)
    {
        eprintln!("skipped: no bundles");
        return;
    }
    let bufs = BufRing::builder(6, 8, 8).build(&ring).unwrap();
    let (mut client, server) = common::connected_pair();
    let data: Vec<u8> = (0..20).collect();
    client.write_all(&data).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // The kernel may fill fewer buffers than it could per completion; go on
    // until all 20 bytes are in, checking every bundle's bytes and order.
    let mut joined = Vec::new();
    let mut widest = 0;
    while joined.len() < data.len() {
        let c = common::run(
            &mut ring,
            &[opcode::Recv::with_buf_group(&server, 6).bundle().build()],
            1,
        );
        // SAFETY: from our bundle recv on group 6.
        let parts = unsafe { bufs.get_bundle(&c[0]) }.unwrap();
        widest = widest.max(parts.len());
        joined.extend(parts.iter().flat_map(|b| b.iter().copied()));
    }
    assert_eq!(joined, data);
    assert!(widest >= 2, "a bundle spanned several 8-byte buffers");
    assert_eq!(bufs.available(), 8);
}

#[test]
fn multishot_recvmsg_header_parses() {
    let mut ring = IoUring::new(8).unwrap();
    let bufs = BufRing::builder(7, 4, 256).build(&ring).unwrap();
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut msg = zeroed_msghdr();
    msg.msg_namelen = 16; // reserve room for a sockaddr_in
    push(
        &mut ring,
        &opcode::RecvMsg::new(&rx, &mut msg)
            .buf_group(7)
            .multishot()
            .build()
            .user_data(1),
    );
    ring.submit().unwrap();
    for text in [&b"one"[..], b"two!"] {
        tx.send_to(text, rx.local_addr().unwrap()).unwrap();
        let c = common::reap(&mut ring, 1);
        assert!(c[0].more());
        // SAFETY: from our recvmsg on group 7.
        let b = unsafe { bufs.get(&c[0]) }.unwrap();
        let out = RecvMsgOut::parse(&b, 16, 0).expect("a full header");
        assert_eq!(out.payload, text);
        assert_eq!(out.name_len, 16);
        assert_eq!(&out.name[4..8], &[127, 0, 0, 1]);
        let port = u16::from_be_bytes([out.name[2], out.name[3]]);
        assert_eq!(port, tx.local_addr().unwrap().port());
    }
    common::run(
        &mut ring,
        &[opcode::AsyncCancel::new(CancelBy::UserData(1)).build()],
        2,
    );
}

#[test]
fn send_zc_posts_result_then_notification() {
    let mut ring = IoUring::new(8).unwrap();
    if !ring.probe().unwrap().is_supported(opcode::SendZc::CODE) {
        eprintln!("skipped: no SEND_ZC");
        return;
    }
    let (a, mut b) = common::connected_pair();
    let data = vec![7u8; 4096];
    let c = common::run(
        &mut ring,
        &[opcode::SendZc::new(&a, data.as_ptr(), 4096)
            .build()
            .user_data(11)],
        2,
    );
    assert_eq!(c[0].user_data(), 11);
    assert_eq!(c[0].result(), Ok(4096));
    assert!(c[0].more(), "the result says a notification follows");
    assert!(c[1].notif(), "then the notification: {c:?}");
    assert!(!c[1].more());
    let mut got = vec![0u8; 4096];
    b.read_exact(&mut got).unwrap();
    assert_eq!(got, data);

    // SendMsgZc: the same two completions.
    let iov = [iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: 100,
    }];
    let mut msg = zeroed_msghdr();
    msg.msg_iov = iov.as_ptr().cast_mut();
    msg.msg_iovlen = 1;
    let c = common::run(
        &mut ring,
        &[opcode::SendMsgZc::new(&a, &msg).build().user_data(12)],
        2,
    );
    assert_eq!(c[0].result(), Ok(100));
    assert!(c[0].more() && c[1].notif());
    b.read_exact(&mut got[..100]).unwrap();
}

#[test]
fn registered_buffers_with_fixed_read_and_write() {
    let mut ring = IoUring::new(8).unwrap();
    let (path, file) = common::temp_file("fixed");
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    a[..5].copy_from_slice(b"fixed");
    let iovs = [
        iovec {
            iov_base: a.as_mut_ptr().cast(),
            iov_len: 4096,
        },
        iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: 4096,
        },
    ];
    // SAFETY: `a` and `b` outlive the registration (unregistered below).
    unsafe { ring.submitter().register_buffers(&iovs) }.unwrap();
    let c = common::run(
        &mut ring,
        &[opcode::WriteFixed::new(&file, a.as_ptr(), 5, 0).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(5));
    assert_eq!(std::fs::read(&path).unwrap(), b"fixed");
    let c = common::run(
        &mut ring,
        &[opcode::ReadFixed::new(&file, b.as_mut_ptr(), 5, 1).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(5));
    assert_eq!(&b[..5], b"fixed");
    // Wrong index for the address: the kernel refuses.
    let c = common::run(
        &mut ring,
        &[opcode::ReadFixed::new(&file, b.as_mut_ptr(), 5, 0).build()],
        1,
    );
    assert_eq!(c[0].result(), Err(Errno::FAULT));
    ring.submitter().unregister_buffers().unwrap();

    // Sparse table plus update.
    ring.submitter().register_buffers_sparse(4).unwrap();
    // SAFETY: `b` outlives the registration (ring dropped at the end).
    let updated = unsafe { ring.submitter().register_buffers_update(3, &iovs[1..]) };
    assert_eq!(updated.unwrap(), 1);
    let c = common::run(
        &mut ring,
        &[opcode::ReadFixed::new(&file, b.as_mut_ptr(), 5, 3).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(5));
    drop(ring);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn splice_tee_and_file_metadata_ops() {
    let mut ring = IoUring::new(16).unwrap();
    let dir = common::temp_path("dir");
    let _ = std::fs::remove_dir_all(&dir);
    let cdir = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let c = common::run(
        &mut ring,
        &[opcode::Mkdirat::new(-100, cdir.as_ptr())
            .mode(0o755)
            .build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    assert!(dir.is_dir());

    let f1 = dir.join("a");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&f1)
        .unwrap();
    let c = common::run(
        &mut ring,
        &[opcode::Fallocate::new(&file, 0, 8192).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    assert_eq!(file.metadata().unwrap().len(), 8192);
    if ring.probe().unwrap().is_supported(opcode::Ftruncate::CODE) {
        let c = common::run(&mut ring, &[opcode::Ftruncate::new(&file, 10).build()], 1);
        assert_eq!(c[0].result(), Ok(0));
        assert_eq!(file.metadata().unwrap().len(), 10);
    }

    // Splice file -> pipe, tee pipe -> pipe.
    std::fs::write(&f1, b"spliced!").unwrap();
    let (r1, w1) = rustix::pipe::pipe().unwrap();
    let (r2, w2) = rustix::pipe::pipe().unwrap();
    let s = opcode::Splice::new(&file, 0, Fd(w1.as_raw_fd()), -1, 8)
        .build()
        .user_data(1);
    let c = common::run(&mut ring, &[s], 1);
    assert_eq!(c[0].result(), Ok(8));
    let t = opcode::Tee::new(Fd(r1.as_raw_fd()), Fd(w2.as_raw_fd()), 8).build();
    let c = common::run(&mut ring, &[t], 1);
    assert_eq!(c[0].result(), Ok(8));
    let mut x = [0u8; 8];
    assert_eq!(rustix::io::read(&r1, &mut x).unwrap(), 8);
    assert_eq!(&x, b"spliced!");
    assert_eq!(rustix::io::read(&r2, &mut x).unwrap(), 8);
    assert_eq!(&x, b"spliced!", "tee duplicated the data");

    let f2 = dir.join("b");
    let (c1, c2) = (
        std::ffi::CString::new(f1.to_str().unwrap()).unwrap(),
        std::ffi::CString::new(f2.to_str().unwrap()).unwrap(),
    );
    let c = common::run(
        &mut ring,
        &[opcode::Renameat::new(-100, c1.as_ptr(), -100, c2.as_ptr()).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    assert!(!f1.exists() && f2.exists());
    let c = common::run(
        &mut ring,
        &[opcode::Unlinkat::new(-100, c2.as_ptr()).build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    assert!(!f2.exists());
    const AT_REMOVEDIR: u32 = 0x200;
    let c = common::run(
        &mut ring,
        &[opcode::Unlinkat::new(-100, cdir.as_ptr())
            .flags(AT_REMOVEDIR)
            .build()],
        1,
    );
    assert_eq!(c[0].result(), Ok(0));
    assert!(!dir.exists());
}

#[test]
fn msg_ring_passes_data_and_fds_between_threads() {
    let mut a = IoUring::new(8).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut b = IoUring::new(8).unwrap();
        b.submitter().register_files_sparse(4).unwrap();
        tx.send(rustix::io::fcntl_dupfd_cloexec(&b, 0).unwrap())
            .unwrap();
        let got = common::reap(&mut b, 2);
        let m = common::by_user_data(&got);
        assert_eq!(m[&0xdada].result(), Ok(42), "data message");
        assert_eq!(m[&0xf0f0].result(), Ok(0), "fd message");
        // The passed socket is now B's slot 1: send through it.
        let c = common::run(
            &mut b,
            &[opcode::Send::new(Fixed(1), b"via b".as_ptr(), 5).build()],
            1,
        );
        assert_eq!(c[0].result(), Ok(5));
        done_tx.send(()).unwrap();
    });
    let b_fd: OwnedFd = rx.recv().unwrap();
    let (sock, mut peer) = common::connected_pair();
    // SAFETY: no safe-tier file table on ring `a`; slot 0 is `sock`.
    unsafe { a.submitter().register_files(&[Some(sock.as_fd())]) }.unwrap();
    let data = opcode::MsgRing::data(&b_fd, 42, 0xdada)
        .build()
        .user_data(1);
    let pass = opcode::MsgRing::send_fd(&b_fd, 0, DestinationSlot::Fixed(1), 0xf0f0)
        .build()
        .user_data(2);
    let c = common::run(&mut a, &[data, pass], 2);
    assert!(c.iter().all(|c| c.result() == Ok(0)), "{c:?}");
    done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    worker.join().unwrap();
    let mut got = [0u8; 5];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"via b");
}

#[test]
fn eventfd_personality_iowq_and_restrictions() {
    let mut ring = IoUring::new(8).unwrap();
    let efd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap();
    ring.submitter().register_eventfd(efd.as_fd()).unwrap();
    common::run(&mut ring, &[opcode::Nop::new().build()], 1);
    let mut count = [0u8; 8];
    assert_eq!(rustix::io::read(&efd, &mut count).unwrap(), 8);
    assert!(u64::from_ne_bytes(count) >= 1, "the eventfd was signalled");
    ring.submitter().unregister_eventfd().unwrap();
    ring.submitter()
        .register_eventfd_async(efd.as_fd())
        .unwrap();
    ring.submitter().unregister_eventfd().unwrap();

    let id = ring.submitter().register_personality().unwrap();
    let c = common::run(&mut ring, &[opcode::Nop::new().build().personality(id)], 1);
    assert_eq!(c[0].result(), Ok(0));
    ring.submitter().unregister_personality(id).unwrap();
    let c = common::run(&mut ring, &[opcode::Nop::new().build().personality(id)], 1);
    assert_eq!(
        c[0].result(),
        Err(Errno::INVAL),
        "an unregistered personality is refused"
    );

    let old = ring.submitter().register_iowq_max_workers([2, 3]).unwrap();
    let now = ring.submitter().register_iowq_max_workers([0, 0]).unwrap();
    assert_eq!(now, [2, 3], "the limits we set (old were {old:?})");
    let mut cpus = rustix::thread::CpuSet::new();
    cpus.set(0);
    ring.submitter().register_iowq_aff(&cpus).unwrap();
    ring.submitter().unregister_iowq_aff().unwrap();

    // Restrictions on a disabled ring: only NOP allowed.
    let mut r = IoUring::builder().r_disabled().build(4).unwrap();
    r.submitter()
        .register_restrictions(&[ring_core::register::Restriction::sqe_op(opcode::Nop::CODE)])
        .unwrap();
    r.enable().unwrap();
    let c = common::run(&mut r, &[opcode::Nop::new().build().user_data(1)], 1);
    assert_eq!(c[0].result(), Ok(0));
    let ts = ring_core::types::Timespec::new(0, 1);
    let c = common::run(&mut r, &[opcode::Timeout::new(&ts).build().user_data(2)], 1);
    assert_eq!(
        c[0].result(),
        Err(Errno::ACCESS),
        "a restricted opcode is refused"
    );
}

#[test]
fn register_errors_name_the_op() {
    let ring = IoUring::new(4).unwrap();
    let stdin = std::io::stdin();
    // SAFETY: the ring has no file table, so nothing is registered.
    let err = unsafe {
        ring.submitter()
            .register_files_update(0, &[Some(stdin.as_fd())])
    }
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("IORING_REGISTER_FILES_UPDATE"), "{text}");
    assert_eq!(err.errno(), Some(Errno::NXIO));
}
