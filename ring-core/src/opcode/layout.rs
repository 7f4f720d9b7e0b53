//! Byte-for-byte checks of the builders added for full Linux 6.18 coverage
//! against the offsets of `struct io_uring_sqe` in the kernel's
//! `include/uapi/linux/io_uring.h`. These run without a kernel, so opcodes
//! the test machine cannot execute (zero-copy receive, driver commands) are
//! still checked.

use super::*;
use crate::squeue::Entry;
use crate::types::{DestinationSlot, EpollEvent, Fixed, OpenHow, Siginfo};

// Offsets in `struct io_uring_sqe` (uapi).
const OPCODE: usize = 0;
const FLAGS: usize = 1;
const IOPRIO: usize = 2;
const FD: usize = 4;
const OFF: usize = 8; // off / addr2 / cmd_op
const ADDR: usize = 16; // addr / splice_off_in / level
const OPTNAME: usize = 20;
const LEN: usize = 24;
const OP_FLAGS: usize = 28; // rw_flags / xattr_flags / futex_flags / ...
const BUF_INDEX: usize = 40; // buf_index / buf_group
const FILE_INDEX: usize = 44; // splice_fd_in / file_index / zcrx_ifq_idx / optlen
const ADDR3: usize = 48; // addr3 / cmd[0..8]
const PAD2: usize = 56; // __pad2[0] / cmd[8..16]

/// The 64 bytes of an entry as the kernel reads them.
fn bytes(e: &Entry) -> [u8; 64] {
    // SAFETY: `Entry` is `repr(C)`, 64 bytes of integer fields with no
    // padding (their sizes sum to 64), so every byte is initialised.
    unsafe { core::mem::transmute::<Entry, [u8; 64]>(*e) }
}

/// An expected SQE, written field by field at the uapi offsets.
struct Sqe([u8; 64]);

impl Sqe {
    fn new(opcode: u8) -> Self {
        let mut b = [0u8; 64];
        b[OPCODE] = opcode;
        Sqe(b)
    }
    fn at(mut self, off: usize, v: &[u8]) -> Self {
        self.0[off..off + v.len()].copy_from_slice(v);
        self
    }
    fn u8(self, off: usize, v: u8) -> Self {
        self.at(off, &[v])
    }
    fn u16(self, off: usize, v: u16) -> Self {
        self.at(off, &v.to_ne_bytes())
    }
    fn u32(self, off: usize, v: u32) -> Self {
        self.at(off, &v.to_ne_bytes())
    }
    fn i32(self, off: usize, v: i32) -> Self {
        self.at(off, &v.to_ne_bytes())
    }
    fn u64(self, off: usize, v: u64) -> Self {
        self.at(off, &v.to_ne_bytes())
    }
    fn ptr<T>(self, off: usize, p: *const T) -> Self {
        self.u64(off, p as usize as u64)
    }
    #[track_caller]
    fn check(self, e: Entry) {
        assert_eq!(bytes(&e), self.0, "{e:?}");
    }
}

fn p<T>(addr: usize) -> *const T {
    addr as *const T
}
fn pm<T>(addr: usize) -> *mut T {
    addr as *mut T
}
const IOSQE_FIXED_FILE: u8 = 1;
const IOSQE_BUFFER_SELECT: u8 = 1 << 5;

#[test]
fn sync_file_range() {
    let e = SyncFileRange::new(Fixed(3), 4096)
        .offset(8192)
        .flags(2)
        .build();
    Sqe::new(8)
        .u8(FLAGS, IOSQE_FIXED_FILE)
        .i32(FD, 3)
        .u64(OFF, 8192)
        .u32(LEN, 4096)
        .u32(OP_FLAGS, 2)
        .check(e);
}

#[test]
fn files_update() {
    let e = FilesUpdate::new(p(0x1000), 3, -1).build();
    Sqe::new(20)
        .i32(FD, -1)
        .ptr(ADDR, p::<u8>(0x1000))
        .u32(LEN, 3)
        .u64(OFF, u64::MAX)
        .check(e);
}

#[test]
fn fadvise_and_madvise() {
    Sqe::new(24)
        .i32(FD, 5)
        .u64(OFF, 100)
        .u32(LEN, 200)
        .u32(OP_FLAGS, 4)
        .check(Fadvise::new(crate::types::Fd(5), 100, 200, 4).build());
    Sqe::new(25)
        .i32(FD, -1)
        .ptr(ADDR, p::<u8>(0x2000))
        .u32(LEN, 4096)
        .u32(OP_FLAGS, 4)
        .check(Madvise::new(p(0x2000), 4096, 4).build());
}

#[test]
fn openat2() {
    let e = Openat2::new(-100, p(0x10), p(0x20))
        .destination(DestinationSlot::Fixed(2))
        .build();
    Sqe::new(28)
        .i32(FD, -100)
        .ptr(ADDR, p::<u8>(0x10))
        .u32(LEN, core::mem::size_of::<OpenHow>() as u32)
        .ptr(OFF, p::<u8>(0x20))
        .u32(FILE_INDEX, 3)
        .check(e);
}

#[test]
fn epoll_ctl_and_wait() {
    Sqe::new(29)
        .i32(FD, 7)
        .ptr(ADDR, p::<u8>(0x30))
        .u32(LEN, 1)
        .u64(OFF, 9)
        .check(EpollCtl::new(crate::types::Fd(7), 9, 1, p::<EpollEvent>(0x30)).build());
    Sqe::new(59)
        .i32(FD, 7)
        .ptr(ADDR, p::<u8>(0x40))
        .u32(LEN, 16)
        .check(EpollWait::new(crate::types::Fd(7), pm(0x40), 16).build());
}

#[test]
fn symlinkat_and_linkat() {
    Sqe::new(38)
        .i32(FD, -100)
        .ptr(ADDR, p::<u8>(0x50))
        .ptr(OFF, p::<u8>(0x60))
        .check(Symlinkat::new(p(0x50), -100, p(0x60)).build());
    Sqe::new(39)
        .i32(FD, 3)
        .ptr(ADDR, p::<u8>(0x50))
        .u32(LEN, 4)
        .ptr(OFF, p::<u8>(0x60))
        .u32(OP_FLAGS, 0x400)
        .check(Linkat::new(3, p(0x50), 4, p(0x60)).flags(0x400).build());
}

#[test]
fn xattrs() {
    Sqe::new(41)
        .i32(FD, 3)
        .ptr(ADDR, p::<u8>(0x10))
        .ptr(OFF, p::<u8>(0x20))
        .u32(LEN, 5)
        .u32(OP_FLAGS, 1)
        .check(FsetXattr::new(3, p(0x10), p(0x20), 5).flags(1).build());
    Sqe::new(42)
        .ptr(ADDR, p::<u8>(0x10))
        .ptr(OFF, p::<u8>(0x20))
        .u32(LEN, 5)
        .ptr(ADDR3, p::<u8>(0x30))
        .u32(OP_FLAGS, 2)
        .check(SetXattr::new(p(0x30), p(0x10), p(0x20), 5).flags(2).build());
    Sqe::new(43)
        .i32(FD, 3)
        .ptr(ADDR, p::<u8>(0x10))
        .ptr(OFF, p::<u8>(0x20))
        .u32(LEN, 5)
        .check(FgetXattr::new(3, p(0x10), pm(0x20), 5).build());
    Sqe::new(44)
        .ptr(ADDR, p::<u8>(0x10))
        .ptr(OFF, p::<u8>(0x20))
        .u32(LEN, 5)
        .ptr(ADDR3, p::<u8>(0x30))
        .check(GetXattr::new(p(0x30), p(0x10), pm(0x20), 5).build());
}

#[test]
fn uring_cmd() {
    let mut cmd = [0u8; 16];
    cmd[0] = 0xaa;
    cmd[15] = 0xbb;
    Sqe::new(46)
        .i32(FD, 4)
        .u32(OFF, 7) // cmd_op; __pad1 stays 0
        .at(ADDR3, &cmd[..8])
        .at(PAD2, &cmd[8..])
        .check(UringCmd::new(crate::types::Fd(4), 7).cmd(cmd).build());
    Sqe::new(46)
        .i32(FD, 4)
        .u32(OFF, SOCKET_URING_OP_GETSOCKOPT)
        .u32(ADDR, 1) // level
        .u32(OPTNAME, 2)
        .u32(FILE_INDEX, 4) // optlen
        .ptr(ADDR3, p::<u8>(0x70)) // optval
        .check(
            UringCmd::new(crate::types::Fd(4), SOCKET_URING_OP_GETSOCKOPT)
                .sockopt(1, 2, pm(0x70), 4)
                .build(),
        );
    Sqe::new(46)
        .i32(FD, 4)
        .u32(OP_FLAGS, 1) // IORING_URING_CMD_FIXED
        .u16(BUF_INDEX, 3)
        .check(
            UringCmd::new(crate::types::Fd(4), 0)
                .fixed_buffer(3)
                .build(),
        );
}

#[test]
fn read_multishot() {
    Sqe::new(49)
        .u8(FLAGS, IOSQE_BUFFER_SELECT)
        .i32(FD, 5)
        .u32(LEN, 64)
        .u16(BUF_INDEX, 9)
        .check(ReadMultishot::new(crate::types::Fd(5), 9).len(64).build());
}

#[test]
fn waitid() {
    let e = Waitid::new(1, 1234, pm::<Siginfo>(0x80), 4).build();
    Sqe::new(50)
        .i32(FD, 1234)
        .u32(LEN, 1)
        .u32(FILE_INDEX, 4)
        .ptr(OFF, p::<u8>(0x80))
        .check(e);
}

#[test]
fn futexes() {
    let flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
    Sqe::new(51)
        .u32(FD, flags)
        .ptr(ADDR, p::<u8>(0x90))
        .u64(OFF, 5)
        .u64(ADDR3, FUTEX_BITSET_MATCH_ANY)
        .check(FutexWait::new(p(0x90), 5).build());
    Sqe::new(52)
        .u32(FD, flags)
        .ptr(ADDR, p::<u8>(0x90))
        .u64(OFF, 1)
        .u64(ADDR3, 0b10)
        .check(FutexWake::new(p(0x90), 1).mask(0b10).build());
    Sqe::new(53)
        .ptr(ADDR, p::<u8>(0xa0))
        .u32(LEN, 2)
        .check(FutexWaitv::new(p(0xa0), 2).build());
}

#[test]
fn fixed_fd_install() {
    Sqe::new(54)
        .u8(FLAGS, IOSQE_FIXED_FILE)
        .i32(FD, 6)
        .u32(OP_FLAGS, 1)
        .check(FixedFdInstall::new(6).no_cloexec().build());
}

#[test]
fn recv_zc() {
    Sqe::new(58)
        .i32(FD, 8)
        .u16(IOPRIO, 1 << 1 | 1) // IORING_RECV_MULTISHOT | POLL_FIRST
        .u32(LEN, 100)
        .u32(FILE_INDEX, 2) // zcrx_ifq_idx
        .check(
            RecvZc::new(crate::types::Fd(8), 2)
                .len(100)
                .poll_first()
                .build(),
        );
}

#[test]
fn recv_poll_first() {
    Sqe::new(27)
        .i32(FD, 5)
        .ptr(ADDR, p::<u8>(0xc0))
        .u32(LEN, 64)
        .u16(IOPRIO, 1) // IORING_RECVSEND_POLL_FIRST
        .check(
            Recv::new(crate::types::Fd(5), pm(0xc0), 64)
                .poll_first()
                .build(),
        );
}

#[test]
fn readv_writev_fixed() {
    Sqe::new(60)
        .i32(FD, 3)
        .ptr(ADDR, p::<u8>(0xb0))
        .u32(LEN, 2)
        .u64(OFF, 10)
        .u16(BUF_INDEX, 1)
        .check(
            ReadvFixed::new(crate::types::Fd(3), p(0xb0), 2, 1)
                .offset(10)
                .build(),
        );
    Sqe::new(61)
        .i32(FD, 3)
        .ptr(ADDR, p::<u8>(0xb0))
        .u32(LEN, 2)
        .u32(OP_FLAGS, 0x10)
        .u16(BUF_INDEX, 1)
        .check(
            WritevFixed::new(crate::types::Fd(3), p(0xb0), 2, 1)
                .rw_flags(0x10)
                .build(),
        );
}

#[test]
fn pipe() {
    Sqe::new(62)
        .ptr(ADDR, p::<u8>(0xc0))
        .u32(OP_FLAGS, 0o2000000)
        .check(Pipe::new(pm(0xc0)).flags(0o2000000).build());
    Sqe::new(62)
        .ptr(ADDR, p::<u8>(0xc0))
        .u32(FILE_INDEX, u32::MAX)
        .check(
            Pipe::new(pm(0xc0))
                .destination(DestinationSlot::AutoFixed)
                .build(),
        );
}

#[test]
fn codes_match_the_uapi_enum() {
    // `enum io_uring_op` from 0 (NOP) to 62 (PIPE), Linux 6.18.
    let codes = [
        (Nop::CODE, 0),
        (Readv::CODE, 1),
        (Writev::CODE, 2),
        (Fsync::CODE, 3),
        (ReadFixed::CODE, 4),
        (WriteFixed::CODE, 5),
        (PollAdd::CODE, 6),
        (PollRemove::CODE, 7),
        (SyncFileRange::CODE, 8),
        (SendMsg::CODE, 9),
        (RecvMsg::CODE, 10),
        (Timeout::CODE, 11),
        (TimeoutRemove::CODE, 12),
        (Accept::CODE, 13),
        (AsyncCancel::CODE, 14),
        (LinkTimeout::CODE, 15),
        (Connect::CODE, 16),
        (Fallocate::CODE, 17),
        (Openat::CODE, 18),
        (Close::CODE, 19),
        (FilesUpdate::CODE, 20),
        (Statx::CODE, 21),
        (Read::CODE, 22),
        (Write::CODE, 23),
        (Fadvise::CODE, 24),
        (Madvise::CODE, 25),
        (Send::CODE, 26),
        (Recv::CODE, 27),
        (Openat2::CODE, 28),
        (EpollCtl::CODE, 29),
        (Splice::CODE, 30),
        (ProvideBuffers::CODE, 31),
        (RemoveBuffers::CODE, 32),
        (Tee::CODE, 33),
        (Shutdown::CODE, 34),
        (Renameat::CODE, 35),
        (Unlinkat::CODE, 36),
        (Mkdirat::CODE, 37),
        (Symlinkat::CODE, 38),
        (Linkat::CODE, 39),
        (MsgRing::CODE, 40),
        (FsetXattr::CODE, 41),
        (SetXattr::CODE, 42),
        (FgetXattr::CODE, 43),
        (GetXattr::CODE, 44),
        (Socket::CODE, 45),
        (UringCmd::CODE, 46),
        (SendZc::CODE, 47),
        (SendMsgZc::CODE, 48),
        (ReadMultishot::CODE, 49),
        (Waitid::CODE, 50),
        (FutexWait::CODE, 51),
        (FutexWake::CODE, 52),
        (FutexWaitv::CODE, 53),
        (FixedFdInstall::CODE, 54),
        (Ftruncate::CODE, 55),
        (Bind::CODE, 56),
        (Listen::CODE, 57),
        (RecvZc::CODE, 58),
        (EpollWait::CODE, 59),
        (ReadvFixed::CODE, 60),
        (WritevFixed::CODE, 61),
        (Pipe::CODE, 62),
    ];
    for (i, &(code, want)) in codes.iter().enumerate() {
        assert_eq!(i, want as usize);
        assert_eq!(code, want, "opcode {want}");
    }
}
