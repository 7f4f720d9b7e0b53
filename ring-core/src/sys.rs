//! The syscall layer: the only code in ring-core that calls
//! `io_uring_setup`, `io_uring_enter`, `io_uring_register`, `mmap` and
//! `munmap`.
//!
//! Each wrapper is a thin, `#[inline]` call into rustix, whose linux_raw
//! backend issues the `syscall` instruction as inline assembly. Keeping the
//! whole enter path inlined down to that instruction matters: issued from a
//! small out-of-line function the same instruction was measured 50–155 ns
//! slower per call on our machines (see `docs/benchmarks.md`).
//!
//! One register call cannot go through rustix: the "blind" ones, which the
//! kernel takes only with fd `-1`, a value no `BorrowedFd` may hold. For
//! those, [`register_blind`] issues the `syscall` instruction itself.
//!
//! Nothing here interprets results; the layers above own the invariants.

use core::ffi::c_void;
use core::ptr::NonNull;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::io_uring::{
    io_uring_getevents_arg, io_uring_params, IoringEnterFlags, IoringRegisterOp,
};

/// `io_uring_setup(2)`: create a ring and fill in `params`.
///
/// # Safety
///
/// If `params.flags` contains `IORING_SETUP_ATTACH_WQ`, `params.wq_fd` must be
/// an open io_uring file descriptor. If it contains `IORING_SETUP_NO_MMAP`,
/// the user addresses in `params` must point to page-aligned, writable
/// memory at least as large as the regions the kernel lays out, used for
/// nothing else while the ring uses it. (The kernel pins those pages, so
/// unmapping them before the ring fd closes, as `IoUring`'s field order
/// does, never lets it write into memory reused for something else.)
///
/// See `man 2 io_uring_setup`.
#[inline]
pub(crate) unsafe fn setup(entries: u32, params: &mut io_uring_params) -> Result<OwnedFd, Errno> {
    // SAFETY: forwarded contract (see `# Safety` above).
    unsafe { rustix::io_uring::io_uring_setup(entries, params) }
}

/// `io_uring_enter(2)` without an extended argument.
///
/// # Safety
///
/// Every SQE published up to the ring's tail must point only to memory and
/// descriptors that stay valid until the kernel completes it, and `flags`
/// must not contain `EXT_ARG`/`EXT_ARG_REG`. When `flags` contains
/// `REGISTERED_RING`, `fd` must be the registered ring index.
///
/// See `man 2 io_uring_enter`.
#[inline(always)]
pub(crate) unsafe fn enter(
    fd: BorrowedFd<'_>,
    to_submit: u32,
    min_complete: u32,
    flags: IoringEnterFlags,
) -> Result<u32, Errno> {
    // SAFETY: forwarded contract (see `# Safety` above).
    unsafe { rustix::io_uring::io_uring_enter(fd, to_submit, min_complete, flags) }
}

/// `io_uring_enter2(2)` with an `io_uring_getevents_arg` (`EXT_ARG`).
///
/// # Safety
///
/// As [`enter`]; in addition `flags` must contain `EXT_ARG`, and the timespec
/// and signal mask `arg` points to must be valid for the call.
#[inline(always)]
pub(crate) unsafe fn enter_arg(
    fd: BorrowedFd<'_>,
    to_submit: u32,
    min_complete: u32,
    flags: IoringEnterFlags,
    arg: &io_uring_getevents_arg,
) -> Result<u32, Errno> {
    // SAFETY: forwarded contract (see `# Safety` above).
    unsafe { rustix::io_uring::io_uring_enter_arg(fd, to_submit, min_complete, flags, Some(arg)) }
}

/// `io_uring_register(2)`.
///
/// # Safety
///
/// `arg` must point to `nr_args` (or, for ops that take a struct, one)
/// objects of the type the kernel expects for `op`, valid for the call; for
/// ops the kernel writes through (`REGISTER_RING_FDS`, `REGISTER_PROBE`,
/// `REGISTER_PBUF_STATUS`, `IOWQ_MAX_WORKERS`), that memory must be writable
/// although the pointer is `*const`. Memory a registration keeps (buffers,
/// buffer rings) must outlive the registration.
///
/// See `man 2 io_uring_register`.
#[inline]
pub(crate) unsafe fn register(
    fd: BorrowedFd<'_>,
    op: IoringRegisterOp,
    arg: *const c_void,
    nr_args: u32,
) -> Result<u32, Errno> {
    // SAFETY: forwarded contract (see `# Safety` above).
    unsafe { rustix::io_uring::io_uring_register(fd.as_fd(), op, arg, nr_args) }
}

/// `io_uring_register(2)` for a register op newer than rustix's
/// `IoringRegisterOp` list (`IORING_REGISTER_ZCRX_IFQ`, `MEM_REGION`,
/// `QUERY`).
///
/// rustix passes `opcode | flags` to the kernel as one word, and its
/// `IoringRegisterFlags` keeps unknown bits; so op 0 with `op` as the flag
/// bits is the word `op`. The kernel reads that word the same way (the op in
/// the low bits, `IORING_REGISTER_USE_REGISTERED_RING` in bit 31). The test
/// `query_reports_this_kernels_opcodes` would fail if this stopped reaching
/// the kernel as `op`.
///
/// # Safety
///
/// As [`register`], for the struct `op` expects.
#[inline]
pub(crate) unsafe fn register_raw(
    fd: BorrowedFd<'_>,
    op: u32,
    arg: *const c_void,
    nr_args: u32,
) -> Result<u32, Errno> {
    debug_assert!(op < 256, "a register op, not a flag");
    let word = rustix::io_uring::IoringRegisterFlags::from_bits_retain(op);
    // SAFETY: forwarded contract; `RegisterBuffers` is 0, so the word the
    // kernel sees is `op` (see above).
    unsafe {
        rustix::io_uring::io_uring_register_with(
            fd,
            IoringRegisterOp::RegisterBuffers,
            word,
            arg,
            nr_args,
        )
    }
}

/// `mmap(2)` of a ring region of `len` bytes at `offset` of the ring fd,
/// shared and populated.
///
/// # Safety
///
/// `offset` must be one of the ring's mmap offsets (`IORING_OFF_*`) and `len`
/// no larger than the region the kernel exposes there.
#[inline]
pub(crate) unsafe fn mmap_ring(
    fd: BorrowedFd<'_>,
    len: usize,
    offset: u64,
) -> Result<NonNull<c_void>, Errno> {
    use rustix::mm::{MapFlags, ProtFlags};
    // SAFETY: a fresh mapping at an address of the kernel's choice aliases no
    // Rust memory; the offset/len contract is forwarded to the caller.
    let ptr = unsafe {
        rustix::mm::mmap(
            core::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED | MapFlags::POPULATE,
            fd,
            offset,
        )
    }?;
    // mmap never returns null on success for a non-fixed mapping.
    NonNull::new(ptr).ok_or(Errno::NOMEM)
}

/// Anonymous private mapping of `len` zeroed bytes (for buffer rings).
#[inline]
pub(crate) fn mmap_anonymous(len: usize) -> Result<NonNull<c_void>, Errno> {
    use rustix::mm::{MapFlags, ProtFlags};
    // SAFETY: an anonymous mapping at an address of the kernel's choice
    // aliases no existing memory.
    let ptr = unsafe {
        rustix::mm::mmap_anonymous(
            core::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::POPULATE,
        )
    }?;
    NonNull::new(ptr).ok_or(Errno::NOMEM)
}

/// `munmap(2)`.
///
/// # Safety
///
/// `ptr`/`len` must be exactly a mapping returned by [`mmap_ring`] or
/// [`mmap_anonymous`], not yet unmapped, and nothing may use it afterwards.
#[inline]
pub(crate) unsafe fn munmap(ptr: NonNull<c_void>, len: usize) -> Result<(), Errno> {
    // SAFETY: forwarded contract.
    unsafe { rustix::mm::munmap(ptr.as_ptr(), len) }
}

/// `io_uring_register(2)` with fd `-1`: the kernel's "blind" register ops,
/// which act on no ring of the caller's (`IORING_REGISTER_SEND_MSG_RING`).
/// rustix cannot pass `-1` (its `BorrowedFd` never holds it), so this
/// issues the syscall itself; on architectures other than x86_64 and
/// aarch64 it fails with `ENOSYS`.
///
/// # Safety
///
/// `arg` must point to `nr_args` values of the struct `op` expects, valid
/// for the call, and what the op does must be sound for the caller (for
/// SEND_MSG_RING: the message's contract, see
/// [`register::send_msg_ring`](crate::register::send_msg_ring)).
#[inline]
pub(crate) unsafe fn register_blind(
    op: u32,
    arg: *const c_void,
    nr_args: u32,
) -> Result<u32, Errno> {
    /// `__NR_io_uring_register`, the same on every architecture (the
    /// numbers from 424 on are shared).
    const NR_IO_URING_REGISTER: usize = 427;
    #[cfg(target_arch = "x86_64")]
    {
        let ret: isize;
        // SAFETY: the Linux x86_64 syscall convention: number in rax,
        // arguments in rdi, rsi, rdx, r10; the kernel clobbers rcx and r11
        // and returns in rax. It touches no memory but what `arg` names
        // (the caller's contract) and no stack.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") NR_IO_URING_REGISTER as isize => ret,
                in("rdi") -1isize,
                in("rsi") op as usize,
                in("rdx") arg,
                in("r10") nr_args as usize,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        decode(ret)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let ret: isize;
        // SAFETY: the Linux aarch64 syscall convention: number in x8,
        // arguments in x0..x3, result in x0. It touches no memory but what
        // `arg` names (the caller's contract) and no stack.
        unsafe {
            core::arch::asm!(
                "svc 0",
                in("x8") NR_IO_URING_REGISTER,
                inlateout("x0") -1isize => ret,
                in("x1") op as usize,
                in("x2") arg,
                in("x3") nr_args as usize,
                options(nostack),
            );
        }
        decode(ret)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (NR_IO_URING_REGISTER, op, arg, nr_args);
        Err(Errno::NOSYS)
    }
}

/// A raw syscall return: `-4095..=-1` is an errno, anything else the result.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline]
fn decode(ret: isize) -> Result<u32, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as u32)
    }
}
