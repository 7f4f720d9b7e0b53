//! Registrations (`io_uring_register`): files, buffers, eventfds, the ring
//! fd, personalities, io-wq limits and affinity, restrictions.
//!
//! Every failure is an [`Error::Register`] naming the kernel's register op.
//! Registrations that keep pointers to memory (buffers) are `unsafe`, with
//! the lifetime the kernel needs stated on the method; so are those that
//! fill registered-file slots, which decide what file an index names.
//! Descriptors are passed as `BorrowedFd`s: the kernel takes its own
//! reference during the call, so it only ever acts on files the caller
//! holds.

use core::ffi::c_void;

use rustix::fd::{AsRawFd, BorrowedFd, RawFd};
use rustix::io_uring::{
    io_uring_files_update, io_uring_ptr, io_uring_rsrc_register, io_uring_rsrc_update,
    io_uring_rsrc_update2, iovec, IoringRegisterOp, IoringRsrcFlags,
};

use crate::{sys, Error, Submitter};

/// Calls `io_uring_register` and names the op in the error.
///
/// # Safety
///
/// As [`sys::register`].
#[inline]
pub(crate) unsafe fn call(
    fd: BorrowedFd<'_>,
    op: IoringRegisterOp,
    name: &'static str,
    arg: *const c_void,
    nr: u32,
) -> Result<u32, Error> {
    // SAFETY: forwarded contract.
    unsafe { sys::register(fd, op, arg, nr) }.map_err(|errno| Error::Register { op: name, errno })
}

/// `IORING_REGISTER_RING_FDS` for one ring, at a kernel-chosen index.
pub(crate) fn register_ring_fd(fd: BorrowedFd<'_>) -> Result<u32, Error> {
    let mut update = io_uring_rsrc_update::default();
    update.offset = u32::MAX; // -1: let the kernel pick the slot
    update.data = io_uring_ptr::new(fd.as_raw_fd() as usize as *mut c_void);
    // SAFETY: one io_uring_rsrc_update, which the kernel writes the chosen
    // index back into: `update` is a live local, writable despite `*const`.
    unsafe {
        call(
            fd,
            IoringRegisterOp::RegisterRingFds,
            "IORING_REGISTER_RING_FDS",
            (&mut update as *mut io_uring_rsrc_update).cast(),
            1,
        )
    }?;
    Ok(update.offset)
}

/// `IORING_UNREGISTER_RING_FDS` for one index.
pub(crate) fn unregister_ring_fd(fd: BorrowedFd<'_>, index: u32) -> Result<(), Error> {
    let mut update = io_uring_rsrc_update::default();
    update.offset = index;
    // SAFETY: one io_uring_rsrc_update naming the slot, valid for the call.
    unsafe {
        call(
            fd,
            IoringRegisterOp::UnregisterRingFds,
            "IORING_UNREGISTER_RING_FDS",
            (&update as *const io_uring_rsrc_update).cast(),
            1,
        )
    }?;
    Ok(())
}

/// One rule for [`Submitter::register_restrictions`] (`struct
/// io_uring_restriction`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restriction {
    opcode: u16,
    arg: u8,
    resv: u8,
    resv2: [u32; 3],
}

const _: () = assert!(core::mem::size_of::<Restriction>() == 16);

impl Restriction {
    const fn new(opcode: u16, arg: u8) -> Self {
        Restriction {
            opcode,
            arg,
            resv: 0,
            resv2: [0; 3],
        }
    }
    /// `IORING_RESTRICTION_REGISTER_OP`: allow this register op.
    pub const fn register_op(op: u8) -> Self {
        Self::new(0, op)
    }
    /// `IORING_RESTRICTION_SQE_OP`: allow this opcode (see `opcode::*::CODE`).
    pub const fn sqe_op(op: u8) -> Self {
        Self::new(1, op)
    }
    /// `IORING_RESTRICTION_SQE_FLAGS_ALLOWED`: allow these SQE flags.
    pub const fn sqe_flags_allowed(flags: crate::squeue::Flags) -> Self {
        Self::new(2, flags.bits())
    }
    /// `IORING_RESTRICTION_SQE_FLAGS_REQUIRED`: require these SQE flags.
    pub const fn sqe_flags_required(flags: crate::squeue::Flags) -> Self {
        Self::new(3, flags.bits())
    }
}

/// `struct io_uring_file_index_range`.
#[repr(C)]
struct FileIndexRange {
    off: u32,
    len: u32,
    resv: u64,
}

/// A borrowed descriptor's number, or -1 for an empty slot.
fn raw_or_empty(fd: &Option<BorrowedFd<'_>>) -> RawFd {
    fd.map_or(-1, |fd| fd.as_raw_fd())
}

fn len_u32(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument("too many entries to register"))
}

impl Submitter<'_> {
    /// Registers a dense file table (`IORING_REGISTER_FILES`, Linux 5.1).
    /// Slot `i` refers to the file of `fds[i]`; `None` leaves a slot empty.
    /// The kernel takes its own reference to each file: closing the fds
    /// afterwards is fine.
    ///
    /// # Safety
    ///
    /// Operations address the table by index, so whoever fills a slot
    /// decides which file those operations act on. The caller must make
    /// sure that no operation in flight or pushed later expects another
    /// file at any of these slots: in particular, this ring must not have a
    /// file table managed by the safe tier ([`owned::Files`](crate::owned::Files)),
    /// whose [`FixedFile`](crate::owned::FixedFile)s name slots by index.
    pub unsafe fn register_files(&self, fds: &[Option<BorrowedFd<'_>>]) -> Result<(), Error> {
        let raw: Vec<RawFd> = fds.iter().map(raw_or_empty).collect();
        let nr = len_u32(raw.len())?;
        // SAFETY: `nr` i32 fds, read during the call only; each is open
        // (borrowed for the call) or -1.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterFiles,
                "IORING_REGISTER_FILES",
                raw.as_ptr().cast(),
                nr,
            )
        }?;
        Ok(())
    }

    /// Registers an empty (sparse) file table of `nr` slots
    /// (`IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE`, 5.19),
    /// to be filled by direct-descriptor operations or updates.
    pub fn register_files_sparse(&self, nr: u32) -> Result<(), Error> {
        let mut reg = io_uring_rsrc_register::default();
        reg.nr = nr;
        reg.flags = IoringRsrcFlags::REGISTER_SPARSE;
        // SAFETY: one io_uring_rsrc_register (nr_args is its size), read
        // during the call only.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterFiles2,
                "IORING_REGISTER_FILES2",
                (&reg as *const io_uring_rsrc_register).cast(),
                core::mem::size_of::<io_uring_rsrc_register>() as u32,
            )
        }?;
        Ok(())
    }

    /// Replaces slots `offset..offset + fds.len()` of the file table
    /// (`IORING_REGISTER_FILES_UPDATE`, 5.5); `None` empties a slot.
    /// Returns how many slots were updated.
    ///
    /// # Safety
    ///
    /// As for [`register_files`](Self::register_files): no operation in
    /// flight or pushed later may expect another file at these slots, and
    /// no safe-tier [`Files`](crate::owned::Files) table may manage them.
    pub unsafe fn register_files_update(
        &self,
        offset: u32,
        fds: &[Option<BorrowedFd<'_>>],
    ) -> Result<u32, Error> {
        let raw: Vec<RawFd> = fds.iter().map(raw_or_empty).collect();
        let nr = len_u32(raw.len())?;
        let mut update = io_uring_files_update::default();
        update.offset = offset;
        update.fds = io_uring_ptr::new(raw.as_ptr().cast_mut().cast());
        // SAFETY: one io_uring_files_update pointing to `nr` fds, both valid
        // for the call; each fd is open (borrowed for the call) or -1.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterFilesUpdate,
                "IORING_REGISTER_FILES_UPDATE",
                (&update as *const io_uring_files_update).cast(),
                nr,
            )
        }
    }

    /// Replaces slots `offset..offset + fds.len()` of the file table and
    /// gives each new file a tag (`IORING_REGISTER_FILES_UPDATE2`, 5.13):
    /// when a tagged file later leaves the table (replaced, or the table
    /// dropped), the kernel posts a completion whose `user_data` is its tag
    /// (0: no completion). `None` empties a slot (its tag must be 0).
    /// Returns how many slots were updated.
    ///
    /// # Safety
    ///
    /// As for [`register_files`](Self::register_files): no operation in
    /// flight or pushed later may expect another file at these slots, and
    /// no safe-tier [`Files`](crate::owned::Files) table may manage them.
    /// A tag comes back as a completion's `user_data`, so it is bound by
    /// [`push`](crate::squeue::SubmissionQueue::push)'s rule for
    /// `user_data`: on a ring the safe tier wraps
    /// ([`owned::Ring::from_ring`](crate::owned::Ring::from_ring)), every
    /// tag is 0 or has bit 63 set, else its completion could hand back an
    /// operation the kernel still uses.
    ///
    /// Without `unsafe` it does not compile:
    ///
    /// ```compile_fail,E0133
    /// let ring = ring_core::IoUring::new(4).unwrap();
    /// ring.submitter().register_files_sparse(1).unwrap();
    /// ring.submitter().register_files_update_tagged(0, &[None], &[0]).unwrap();
    /// ```
    ///
    /// The same call with `unsafe`, on a raw ring that keeps the contract:
    ///
    /// ```
    /// let ring = ring_core::IoUring::new(4).unwrap();
    /// ring.submitter().register_files_sparse(1).unwrap();
    /// // SAFETY: a raw ring: no safe-tier table, nothing in flight.
    /// let n = unsafe { ring.submitter().register_files_update_tagged(0, &[None], &[0]) };
    /// assert_eq!(n.unwrap(), 1);
    /// ```
    pub unsafe fn register_files_update_tagged(
        &self,
        offset: u32,
        fds: &[Option<BorrowedFd<'_>>],
        tags: &[u64],
    ) -> Result<u32, Error> {
        if fds.len() != tags.len() {
            return Err(Error::InvalidArgument(
                "register_files_update_tagged needs one tag per fd",
            ));
        }
        let raw: Vec<RawFd> = fds.iter().map(raw_or_empty).collect();
        let mut update = io_uring_rsrc_update2::default();
        update.offset = offset;
        update.data = io_uring_ptr::new(raw.as_ptr().cast_mut().cast());
        update.tags = io_uring_ptr::new(tags.as_ptr().cast_mut().cast());
        update.nr = len_u32(raw.len())?;
        // SAFETY: one io_uring_rsrc_update2 pointing at `nr` fds and `nr`
        // tags, all read during the call only; each fd is open (borrowed
        // for the call) or -1.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterFilesUpdate2,
                "IORING_REGISTER_FILES_UPDATE2",
                (&update as *const io_uring_rsrc_update2).cast(),
                core::mem::size_of::<io_uring_rsrc_update2>() as u32,
            )
        }
    }

    /// Drops the file table (`IORING_UNREGISTER_FILES`).
    ///
    /// # Safety
    ///
    /// No safe-tier [`Files`](crate::owned::Files) table may manage this
    /// ring's file table: its [`FixedFile`](crate::owned::FixedFile)s name
    /// slots by index, and a table registered afterwards would give the
    /// same indices to other files. Likewise no operation pushed later may
    /// expect the old table's file at a slot.
    ///
    /// Without `unsafe` it does not compile:
    ///
    /// ```compile_fail,E0133
    /// let ring = ring_core::IoUring::new(4).unwrap();
    /// ring.submitter().register_files_sparse(1).unwrap();
    /// ring.submitter().unregister_files().unwrap();
    /// ```
    ///
    /// The same call with `unsafe`, on a raw ring that keeps the contract:
    ///
    /// ```
    /// let ring = ring_core::IoUring::new(4).unwrap();
    /// ring.submitter().register_files_sparse(1).unwrap();
    /// // SAFETY: a raw ring: no safe-tier table, nothing in flight.
    /// unsafe { ring.submitter().unregister_files() }.unwrap();
    /// ```
    pub unsafe fn unregister_files(&self) -> Result<(), Error> {
        // SAFETY: takes no argument; what the slots named is the caller's
        // contract.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::UnregisterFiles,
                "IORING_UNREGISTER_FILES",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(())
    }

    /// Limits the slots that `DestinationSlot::AutoFixed` may allocate to
    /// `offset..offset + len` (`IORING_REGISTER_FILE_ALLOC_RANGE`, 6.0).
    pub fn register_file_alloc_range(&self, offset: u32, len: u32) -> Result<(), Error> {
        let range = FileIndexRange {
            off: offset,
            len,
            resv: 0,
        };
        // SAFETY: one io_uring_file_index_range, read during the call.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterFileAllocRange,
                "IORING_REGISTER_FILE_ALLOC_RANGE",
                (&range as *const FileIndexRange).cast(),
                0,
            )
        }?;
        Ok(())
    }

    /// Registers fixed buffers (`IORING_REGISTER_BUFFERS`, 5.1) for
    /// `ReadFixed`/`WriteFixed`; buffer `i` is `bufs[i]`.
    ///
    /// # Safety
    ///
    /// The kernel pins the pages and keeps using them: each buffer must stay
    /// allocated (not freed or unmapped) until the buffers are unregistered
    /// or the ring is dropped, and Rust code must not hold references to a
    /// buffer while a fixed operation writes into it.
    pub unsafe fn register_buffers(&self, bufs: &[iovec]) -> Result<(), Error> {
        let nr = len_u32(bufs.len())?;
        // SAFETY: `nr` iovecs, read during the call; the lifetime of the
        // memory they name is the caller's contract.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterBuffers,
                "IORING_REGISTER_BUFFERS",
                bufs.as_ptr().cast(),
                nr,
            )
        }?;
        Ok(())
    }

    /// Registers `nr` empty buffer slots (`IORING_REGISTER_BUFFERS2` with
    /// `IORING_RSRC_REGISTER_SPARSE`, 5.19), to fill with
    /// [`register_buffers_update`](Self::register_buffers_update).
    pub fn register_buffers_sparse(&self, nr: u32) -> Result<(), Error> {
        let mut reg = io_uring_rsrc_register::default();
        reg.nr = nr;
        reg.flags = IoringRsrcFlags::REGISTER_SPARSE;
        // SAFETY: one io_uring_rsrc_register, read during the call.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterBuffers2,
                "IORING_REGISTER_BUFFERS2",
                (&reg as *const io_uring_rsrc_register).cast(),
                core::mem::size_of::<io_uring_rsrc_register>() as u32,
            )
        }?;
        Ok(())
    }

    /// Replaces buffer slots from `offset` (`IORING_REGISTER_BUFFERS_UPDATE`,
    /// 5.13). Returns how many were updated.
    ///
    /// # Safety
    ///
    /// As [`register_buffers`](Self::register_buffers), for the new buffers.
    pub unsafe fn register_buffers_update(
        &self,
        offset: u32,
        bufs: &[iovec],
    ) -> Result<u32, Error> {
        let mut update = io_uring_rsrc_update2::default();
        update.offset = offset;
        update.data = io_uring_ptr::new(bufs.as_ptr().cast_mut().cast());
        update.nr = len_u32(bufs.len())?;
        // SAFETY: one io_uring_rsrc_update2 pointing at `nr` iovecs, valid
        // for the call; the buffers' lifetime is the caller's contract.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterBuffersUpdate,
                "IORING_REGISTER_BUFFERS_UPDATE",
                (&update as *const io_uring_rsrc_update2).cast(),
                core::mem::size_of::<io_uring_rsrc_update2>() as u32,
            )
        }
    }

    /// Drops the fixed buffers (`IORING_UNREGISTER_BUFFERS`). The kernel
    /// waits for fixed operations using them before releasing the pages.
    pub fn unregister_buffers(&self) -> Result<(), Error> {
        // SAFETY: takes no argument.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::UnregisterBuffers,
                "IORING_UNREGISTER_BUFFERS",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(())
    }

    fn eventfd(
        &self,
        fd: BorrowedFd<'_>,
        op: IoringRegisterOp,
        name: &'static str,
    ) -> Result<(), Error> {
        let fd = fd.as_raw_fd();
        // SAFETY: one i32 fd, read during the call; it is open (borrowed for
        // the call), and the kernel keeps its own reference to the eventfd.
        unsafe { call(self.fd, op, name, (&fd as *const RawFd).cast(), 1) }?;
        Ok(())
    }

    /// Signals `eventfd` on every completion (`IORING_REGISTER_EVENTFD`, 5.2).
    /// The kernel takes its own reference to the eventfd.
    pub fn register_eventfd(&self, eventfd: BorrowedFd<'_>) -> Result<(), Error> {
        self.eventfd(
            eventfd,
            IoringRegisterOp::RegisterEventfd,
            "IORING_REGISTER_EVENTFD",
        )
    }

    /// Signals `eventfd` only for completions posted asynchronously
    /// (`IORING_REGISTER_EVENTFD_ASYNC`, 5.6).
    pub fn register_eventfd_async(&self, eventfd: BorrowedFd<'_>) -> Result<(), Error> {
        self.eventfd(
            eventfd,
            IoringRegisterOp::RegisterEventfdAsync,
            "IORING_REGISTER_EVENTFD_ASYNC",
        )
    }

    /// Stops eventfd notification (`IORING_UNREGISTER_EVENTFD`).
    pub fn unregister_eventfd(&self) -> Result<(), Error> {
        // SAFETY: takes no argument.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::UnregisterEventfd,
                "IORING_UNREGISTER_EVENTFD",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(())
    }

    /// Registers the current credentials and returns their id, for
    /// [`squeue::Entry::personality`](crate::squeue::Entry::personality)
    /// (`IORING_REGISTER_PERSONALITY`, 5.6).
    pub fn register_personality(&self) -> Result<u16, Error> {
        // SAFETY: takes no argument.
        let id = unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterPersonality,
                "IORING_REGISTER_PERSONALITY",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(id as u16)
    }

    /// Drops a personality (`IORING_UNREGISTER_PERSONALITY`).
    pub fn unregister_personality(&self, id: u16) -> Result<(), Error> {
        // SAFETY: the id travels in nr_args; no memory is passed.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::UnregisterPersonality,
                "IORING_UNREGISTER_PERSONALITY",
                core::ptr::null(),
                u32::from(id),
            )
        }?;
        Ok(())
    }

    /// Sets the io-wq worker limits `[bounded, unbounded]` (0 leaves one as
    /// it is) and returns the previous limits
    /// (`IORING_REGISTER_IOWQ_MAX_WORKERS`, 5.15).
    pub fn register_iowq_max_workers(&self, limits: [u32; 2]) -> Result<[u32; 2], Error> {
        let mut values = limits;
        // SAFETY: two u32s, which the kernel overwrites with the old limits:
        // `values` is a writable local, despite the `*const` type.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterIowqMaxWorkers,
                "IORING_REGISTER_IOWQ_MAX_WORKERS",
                values.as_mut_ptr().cast(),
                2,
            )
        }?;
        Ok(values)
    }

    /// Pins the io-wq workers to `cpus` (`IORING_REGISTER_IOWQ_AFF`, 5.14).
    pub fn register_iowq_aff(&self, cpus: &crate::types::CpuSet) -> Result<(), Error> {
        // SAFETY: a cpu_set_t of the given byte size, read during the call.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterIowqAff,
                "IORING_REGISTER_IOWQ_AFF",
                (cpus as *const crate::types::CpuSet).cast(),
                core::mem::size_of::<crate::types::CpuSet>() as u32,
            )
        }?;
        Ok(())
    }

    /// Lets io-wq workers run anywhere again (`IORING_UNREGISTER_IOWQ_AFF`).
    pub fn unregister_iowq_aff(&self) -> Result<(), Error> {
        // SAFETY: takes no argument.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::UnregisterIowqAff,
                "IORING_UNREGISTER_IOWQ_AFF",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(())
    }

    /// Restricts what the ring may do (`IORING_REGISTER_RESTRICTIONS`, 5.10).
    /// Only on a ring built with `R_DISABLED`, before it is enabled.
    pub fn register_restrictions(&self, rules: &[Restriction]) -> Result<(), Error> {
        let nr = len_u32(rules.len())?;
        // SAFETY: `nr` io_uring_restriction structs, read during the call.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterRestrictions,
                "IORING_REGISTER_RESTRICTIONS",
                rules.as_ptr().cast(),
                nr,
            )
        }?;
        Ok(())
    }

    /// Enables an `R_DISABLED` ring (`IORING_REGISTER_ENABLE_RINGS`, 5.10).
    pub fn register_enable_rings(&self) -> Result<(), Error> {
        // SAFETY: takes no argument.
        unsafe {
            call(
                self.fd,
                IoringRegisterOp::RegisterEnableRings,
                "IORING_REGISTER_ENABLE_RINGS",
                core::ptr::null(),
                0,
            )
        }?;
        Ok(())
    }
}

/// `IORING_REGISTER_SEND_MSG_RING` (Linux 6.13): posts the completion an
/// `IORING_OP_MSG_RING` entry describes into its target ring, synchronously
/// and without a ring of the caller's (a "blind" register call). Only data
/// messages (`opcode::MsgRing::data`) are accepted, with no SQE flags.
///
/// # Safety
///
/// As for pushing `entry` ([`SubmissionQueue::push`](crate::squeue::SubmissionQueue::push)):
/// the target ring fd it names is the caller's and open for the call, and
/// the completion it posts must be one the target's owner expects: on a
/// ring the safe tier wraps, a `user_data` of 0 or with bit 63 set
/// (others are its tokens).
pub unsafe fn send_msg_ring(entry: &crate::squeue::Entry) -> Result<(), Error> {
    /// `IORING_REGISTER_SEND_MSG_RING`.
    const SEND_MSG_RING: u32 = 31;
    // SAFETY: one 64-byte SQE, read during the call; what it posts is the
    // caller's contract.
    unsafe {
        sys::register_blind(
            SEND_MSG_RING,
            (entry as *const crate::squeue::Entry).cast(),
            1,
        )
    }
    .map_err(|errno| Error::Register {
        op: "IORING_REGISTER_SEND_MSG_RING",
        errno,
    })?;
    Ok(())
}
