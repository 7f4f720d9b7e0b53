//! Registrations that configure the ring itself rather than hand it files
//! or buffers: resizing the rings, synchronous cancel, NAPI busy polling,
//! the wait clock, cloning another ring's buffers, memory regions,
//! zero-copy receive queues, and the kernel's capability query.
//!
//! Every failure is an [`Error::Register`] naming the kernel's register op.
//! Those that hand the kernel memory it keeps are `unsafe`, with the
//! lifetime it needs stated on the method.

use core::ffi::c_void;
use core::time::Duration;

use rustix::fd::AsFd;
use rustix::io_uring::{io_uring_params, IoringRegisterOp, IoringSetupFlags};

use crate::opcode::CancelBy;
use crate::setup::{map_regions, Regions};
use crate::types::{Target, Timespec};
use crate::{cqueue, register, squeue, sys, Error, IoUring, Params, Submitter};

/// `IORING_REGISTER_ZCRX_IFQ` (Linux 6.15).
const REGISTER_ZCRX_IFQ: u32 = 32;
/// `IORING_REGISTER_MEM_REGION` (6.14).
const REGISTER_MEM_REGION: u32 = 34;
/// `IORING_REGISTER_QUERY` (6.18).
const REGISTER_QUERY: u32 = 35;

/// Calls a register op newer than rustix's list and names it in the error.
///
/// # Safety
///
/// As [`sys::register_raw`].
unsafe fn call_raw(
    ring: &Submitter<'_>,
    op: u32,
    name: &'static str,
    arg: *const c_void,
    nr: u32,
) -> Result<u32, Error> {
    // SAFETY: forwarded contract.
    unsafe { sys::register_raw(ring.fd, op, arg, nr) }
        .map_err(|errno| Error::Register { op: name, errno })
}

/// `struct io_uring_sync_cancel_reg`.
#[repr(C)]
struct SyncCancelReg {
    addr: u64,
    fd: i32,
    flags: u32,
    timeout: Timespec,
    opcode: u8,
    pad: [u8; 7],
    pad2: [u64; 3],
}

const _: () = assert!(core::mem::size_of::<SyncCancelReg>() == 64);

/// `struct io_uring_napi`: NAPI busy-poll settings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Napi {
    /// Busy-poll time in microseconds (0: off).
    pub busy_poll_to: u32,
    /// `SO_PREFER_BUSY_POLL` semantics: 1 to prefer busy polling.
    pub prefer_busy_poll: u8,
    /// `IO_URING_NAPI_REGISTER_OP` (0) etc.; 0 with `op_param` 0 registers
    /// with dynamic NAPI id tracking.
    pub opcode: u8,
    pad: [u8; 2],
    /// The op's parameter (the tracking strategy for op 0).
    pub op_param: u32,
    resv: u32,
}

const _: () = assert!(core::mem::size_of::<Napi>() == 16);

impl Napi {
    /// Busy-poll for `busy_poll_to` microseconds, preferring busy polling
    /// if `prefer`.
    pub const fn new(busy_poll_to: u32, prefer: bool) -> Self {
        Napi {
            busy_poll_to,
            prefer_busy_poll: prefer as u8,
            opcode: 0,
            pad: [0; 2],
            op_param: 0,
            resv: 0,
        }
    }
}

/// The clock timed waits measure with ([`Submitter::register_clock`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `CLOCK_MONOTONIC` (the default).
    Monotonic,
    /// `CLOCK_BOOTTIME`: also counts time suspended.
    Boottime,
}

/// `struct io_uring_region_desc`: memory for
/// [`register_mem_region`](Submitter::register_mem_region) or a zero-copy
/// receive queue's refill ring.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionDesc {
    /// The memory's address (with `IORING_MEM_REGION_TYPE_USER`), page
    /// aligned.
    pub user_addr: u64,
    /// Its size in bytes, a multiple of the page size.
    pub size: u64,
    /// `IORING_MEM_REGION_TYPE_USER` (1): user memory; 0: the kernel
    /// allocates it and reports `mmap_offset`.
    pub flags: u32,
    /// The region's id (set by the kernel).
    pub id: u32,
    /// Where to `mmap` a kernel-allocated region (set by the kernel).
    pub mmap_offset: u64,
    resv: [u64; 4],
}

const _: () = assert!(core::mem::size_of::<RegionDesc>() == 64);

impl RegionDesc {
    /// A region of user memory: `size` bytes at `addr` (page aligned).
    pub fn user(addr: *mut u8, size: u64) -> Self {
        RegionDesc {
            user_addr: addr as usize as u64,
            size,
            flags: MEM_REGION_TYPE_USER,
            ..RegionDesc::default()
        }
    }
}

/// `IORING_MEM_REGION_TYPE_USER`: the region is user memory.
pub const MEM_REGION_TYPE_USER: u32 = 1;

/// `struct io_uring_mem_region_reg`.
#[repr(C)]
struct MemRegionReg {
    region_uptr: u64,
    flags: u64,
    resv: [u64; 2],
}

/// `struct io_uring_zcrx_area_reg`: the memory a zero-copy receive queue
/// receives into.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZcrxAreaReg {
    /// The area's address.
    pub addr: u64,
    /// Its length.
    pub len: u64,
    /// Set by the kernel: the token refill entries name the area by.
    pub rq_area_token: u64,
    /// `IORING_ZCRX_AREA_DMABUF` (1) when `dmabuf_fd` names the memory.
    pub flags: u32,
    /// A dma-buf fd with `IORING_ZCRX_AREA_DMABUF`.
    pub dmabuf_fd: u32,
    resv: [u64; 2],
}

impl ZcrxAreaReg {
    /// An area of `len` bytes of user memory at `addr`.
    pub fn user(addr: *mut u8, len: u64) -> Self {
        ZcrxAreaReg {
            addr: addr as usize as u64,
            len,
            ..ZcrxAreaReg::default()
        }
    }
}

/// `struct io_uring_zcrx_offsets`: where the refill ring's fields are,
/// filled by the kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZcrxOffsets {
    /// Offset of the refill ring's head.
    pub head: u32,
    /// Offset of its tail.
    pub tail: u32,
    /// Offset of its entries.
    pub rqes: u32,
    resv2: u32,
    resv: [u64; 2],
}

/// `struct io_uring_zcrx_ifq_reg`: a zero-copy receive queue on hardware
/// queue `if_rxq` of interface `if_idx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZcrxIfqReg {
    /// The network interface index.
    pub if_idx: u32,
    /// Its hardware receive queue.
    pub if_rxq: u32,
    /// Refill ring entries.
    pub rq_entries: u32,
    /// Flags (none defined for 6.18 beyond 0).
    pub flags: u32,
    /// Address of a [`ZcrxAreaReg`].
    pub area_ptr: u64,
    /// Address of a [`RegionDesc`] for the refill ring.
    pub region_ptr: u64,
    /// Set by the kernel.
    pub offsets: ZcrxOffsets,
    /// Set by the kernel: the queue's id for [`RecvZc`](crate::opcode::RecvZc).
    pub zcrx_id: u32,
    /// Receive buffer length (0: the page size).
    pub rx_buf_len: u32,
    resv: [u64; 3],
}

impl ZcrxIfqReg {
    /// Queue `if_rxq` of interface `if_idx`, with a refill ring of
    /// `rq_entries` in `region`, receiving into `area`.
    pub fn new(
        if_idx: u32,
        if_rxq: u32,
        rq_entries: u32,
        area: *const ZcrxAreaReg,
        region: *const RegionDesc,
    ) -> Self {
        ZcrxIfqReg {
            if_idx,
            if_rxq,
            rq_entries,
            area_ptr: area as usize as u64,
            region_ptr: region as usize as u64,
            ..ZcrxIfqReg::default()
        }
    }
}

const _: () = assert!(core::mem::size_of::<ZcrxAreaReg>() == 48);
const _: () = assert!(core::mem::size_of::<ZcrxIfqReg>() == 96);

/// `struct io_uring_query_hdr`.
#[repr(C)]
#[derive(Default)]
struct QueryHdr {
    next_entry: u64,
    query_data: u64,
    query_op: u32,
    size: u32,
    result: i32,
    resv: [u32; 3],
}

/// What the kernel supports, from `IORING_REGISTER_QUERY`
/// (`IO_URING_QUERY_OPCODES`, Linux 6.18): `struct io_uring_query_opcode`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryOpcodes {
    /// How many `IORING_OP_*` opcodes the kernel has (`IORING_OP_LAST`).
    pub nr_request_opcodes: u32,
    /// How many register ops (`IORING_REGISTER_LAST`).
    pub nr_register_opcodes: u32,
    /// Every `IORING_FEAT_*` bit it can report.
    pub feature_flags: u64,
    /// Every `IORING_SETUP_*` flag it accepts.
    pub ring_setup_flags: u64,
    /// Every `IORING_ENTER_*` flag it accepts.
    pub enter_flags: u64,
    /// Every `IOSQE_*` flag it accepts.
    pub sqe_flags: u64,
    /// How many query ops it has.
    pub nr_query_opcodes: u32,
    pad: u32,
}

const _: () = assert!(core::mem::size_of::<QueryOpcodes>() == 48);

impl Submitter<'_> {
    /// Cancels matching requests and waits for them to finish, without an
    /// SQE (`IORING_REGISTER_SYNC_CANCEL`, Linux 6.0). With `all`, every
    /// match; `timeout` bounds the wait (`ETIME` when it passes). Returns
    /// how many were cancelled with `all`, else 0; no match is
    /// [`Error::Register`] with `ENOENT`.
    pub fn register_sync_cancel(
        &self,
        by: CancelBy,
        all: bool,
        timeout: Option<Duration>,
    ) -> Result<u32, Error> {
        // IORING_ASYNC_CANCEL_ALL, _FD, _ANY, _FD_FIXED.
        let mut flags = if all { 1 } else { 0 };
        let (mut addr, mut fd) = (0, -1);
        match by {
            CancelBy::UserData(u) => addr = u,
            CancelBy::Fd(Target::Fd(f)) => {
                fd = f;
                flags |= 1 << 1;
            }
            CancelBy::Fd(Target::Fixed(i)) => {
                fd = i as i32;
                flags |= (1 << 1) | (1 << 3);
            }
            CancelBy::Any => flags |= 1 << 2,
        }
        let reg = SyncCancelReg {
            addr,
            fd,
            flags,
            timeout: timeout.map_or(Timespec::new(-1, -1), Timespec::from),
            opcode: 0,
            pad: [0; 7],
            pad2: [0; 3],
        };
        // SAFETY: one io_uring_sync_cancel_reg, read during the call.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::RegisterSyncCancel,
                "IORING_REGISTER_SYNC_CANCEL",
                (&reg as *const SyncCancelReg).cast(),
                1,
            )
        }
    }

    /// Turns on NAPI busy polling for the ring's network waits
    /// (`IORING_REGISTER_NAPI`, Linux 6.9) and returns the settings that
    /// were in force before.
    pub fn register_napi(&self, napi: Napi) -> Result<Napi, Error> {
        let mut arg = napi;
        // SAFETY: one io_uring_napi, which the kernel overwrites with the
        // previous settings: `arg` is a writable local despite `*const`.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::RegisterNapi,
                "IORING_REGISTER_NAPI",
                (&mut arg as *mut Napi).cast(),
                1,
            )
        }?;
        Ok(arg)
    }

    /// Turns NAPI busy polling off (`IORING_UNREGISTER_NAPI`, 6.9) and
    /// returns the settings that were in force.
    pub fn unregister_napi(&self) -> Result<Napi, Error> {
        let mut arg = Napi::default();
        // SAFETY: as in `register_napi`.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::UnregisterNapi,
                "IORING_UNREGISTER_NAPI",
                (&mut arg as *mut Napi).cast(),
                1,
            )
        }?;
        Ok(arg)
    }

    /// Chooses the clock the ring's timed waits measure with
    /// (`IORING_REGISTER_CLOCK`, Linux 6.12).
    pub fn register_clock(&self, clock: Clock) -> Result<(), Error> {
        // struct io_uring_clock_register { clockid; __resv[3] }.
        let reg: [u32; 4] = [
            match clock {
                Clock::Monotonic => 1, // CLOCK_MONOTONIC
                Clock::Boottime => 7,  // CLOCK_BOOTTIME
            },
            0,
            0,
            0,
        ];
        // SAFETY: one io_uring_clock_register, read during the call.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::RegisterClock,
                "IORING_REGISTER_CLOCK",
                reg.as_ptr().cast(),
                0,
            )
        }?;
        Ok(())
    }

    /// Gives this ring `nr` of `src`'s registered buffers, from `src_off`,
    /// at slots from `dst_off` (`IORING_REGISTER_CLONE_BUFFERS`, Linux
    /// 6.12; offsets 6.13). With `replace`, existing slots are overwritten
    /// (`IORING_REGISTER_DST_REPLACE`); otherwise this ring must have no
    /// buffer table yet.
    ///
    /// # Safety
    ///
    /// The cloned buffers are the same memory as `src`'s: the contract of
    /// [`register_buffers`](Self::register_buffers) now holds for this ring
    /// too, so the memory must outlive both registrations.
    pub unsafe fn register_clone_buffers<S: squeue::EntryMarker, C: cqueue::EntryMarker>(
        &self,
        src: &IoUring<S, C>,
        src_off: u32,
        dst_off: u32,
        nr: u32,
        replace: bool,
    ) -> Result<(), Error> {
        use rustix::fd::AsRawFd;
        // struct io_uring_clone_buffers.
        let reg: [u32; 8] = [
            src.as_fd().as_raw_fd() as u32,
            if replace { 1 << 1 } else { 0 },
            src_off,
            dst_off,
            nr,
            0,
            0,
            0,
        ];
        // SAFETY: one io_uring_clone_buffers, read during the call; the
        // buffers' lifetime is the caller's contract.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::RegisterCloneBuffers,
                "IORING_REGISTER_CLONE_BUFFERS",
                reg.as_ptr().cast(),
                1,
            )
        }?;
        Ok(())
    }

    /// Registers a memory region (`IORING_REGISTER_MEM_REGION`, Linux
    /// 6.14); with `wait_arg` (`IORING_MEM_REGION_REG_WAIT_ARG`) it holds
    /// registered wait arguments, which needs a ring still disabled
    /// ([`Builder::r_disabled`](crate::Builder::r_disabled)). The kernel
    /// fills in `desc.id` and, for kernel memory, `desc.mmap_offset`. A ring
    /// has at most one region.
    ///
    /// # Safety
    ///
    /// With [`MEM_REGION_TYPE_USER`], the kernel pins and keeps using the
    /// memory `desc` names until the ring is dropped: it must stay mapped
    /// until then.
    pub unsafe fn register_mem_region(
        &self,
        desc: &mut RegionDesc,
        wait_arg: bool,
    ) -> Result<(), Error> {
        let reg = MemRegionReg {
            region_uptr: desc as *mut RegionDesc as usize as u64,
            flags: u64::from(wait_arg),
            resv: [0; 2],
        };
        // SAFETY: one io_uring_mem_region_reg pointing at `desc`, which the
        // kernel writes back into (a live `&mut`); the region's memory is
        // the caller's contract.
        unsafe {
            call_raw(
                self,
                REGISTER_MEM_REGION,
                "IORING_REGISTER_MEM_REGION",
                (&reg as *const MemRegionReg).cast(),
                1,
            )
        }?;
        Ok(())
    }

    /// Registers a zero-copy receive queue on a NIC
    /// (`IORING_REGISTER_ZCRX_IFQ`, Linux 6.15) for
    /// [`RecvZc`](crate::opcode::RecvZc). Needs `CAP_NET_ADMIN`, a ring
    /// with `DEFER_TASKRUN` and `CQE32`, and a NIC with header split and
    /// flow steering. The kernel fills in `reg.offsets` and `reg.zcrx_id`.
    ///
    /// # Safety
    ///
    /// `reg.area_ptr` and `reg.region_ptr` must point to a valid
    /// [`ZcrxAreaReg`] and [`RegionDesc`]; the memory they name is the
    /// kernel's until the ring is dropped.
    pub unsafe fn register_zcrx_ifq(&self, reg: &mut ZcrxIfqReg) -> Result<(), Error> {
        // SAFETY: one io_uring_zcrx_ifq_reg the kernel writes back into (a
        // live `&mut`); the pointers in it are the caller's contract.
        unsafe {
            call_raw(
                self,
                REGISTER_ZCRX_IFQ,
                "IORING_REGISTER_ZCRX_IFQ",
                (reg as *mut ZcrxIfqReg).cast(),
                1,
            )
        }?;
        Ok(())
    }

    /// Asks the kernel what it supports (`IORING_REGISTER_QUERY` with
    /// `IO_URING_QUERY_OPCODES`, Linux 6.18): opcode and register-op counts
    /// and every setup, enter, feature and SQE flag it knows.
    pub fn query_opcodes(&self) -> Result<QueryOpcodes, Error> {
        let mut out = QueryOpcodes::default();
        let mut hdr = QueryHdr {
            query_data: &mut out as *mut QueryOpcodes as usize as u64,
            query_op: 0, // IO_URING_QUERY_OPCODES
            size: core::mem::size_of::<QueryOpcodes>() as u32,
            ..QueryHdr::default()
        };
        // SAFETY: one io_uring_query_hdr (nr_args 0: a single entry, no
        // chain) pointing at `out`; the kernel writes both, and both are
        // live writable locals.
        unsafe {
            call_raw(
                self,
                REGISTER_QUERY,
                "IORING_REGISTER_QUERY",
                (&mut hdr as *mut QueryHdr).cast(),
                0,
            )
        }?;
        if hdr.result < 0 {
            return Err(Error::Register {
                op: "IORING_REGISTER_QUERY",
                errno: rustix::io::Errno::from_raw_os_error(-hdr.result),
            });
        }
        Ok(out)
    }
}

impl<S: squeue::EntryMarker, C: cqueue::EntryMarker> IoUring<S, C> {
    /// Resizes the SQ and CQ rings in place (`IORING_REGISTER_RESIZE_RINGS`,
    /// Linux 6.13), keeping the entries in them: published but unsubmitted
    /// SQEs and unreaped CQEs move to the new rings. `cq_entries` 0 means
    /// twice `sq_entries`.
    ///
    /// Only for rings built with [`defer_taskrun`](crate::Builder::defer_taskrun)
    /// (the kernel's rule) and [`no_sqarray`](crate::Builder::no_sqarray)
    /// (ours: the kernel does not report where a resized ring's SQ index
    /// array is — Linux 6.18 returns offset 0 — so a ring that has one could
    /// not be set up again safely); anything else is
    /// [`Error::InvalidArgument`] before any syscall, as is a ring built with
    /// [`no_mmap`](crate::Builder::no_mmap).
    ///
    /// The kernel frees the old rings; this remaps the new ones and
    /// replaces the old mappings, so no view of the old ones can be alive
    /// (`&mut self`).
    pub fn resize(&mut self, sq_entries: u32, cq_entries: u32) -> Result<(), Error> {
        let flags = self.params.flags();
        if flags.contains(crate::SetupFlags::NO_MMAP) {
            return Err(Error::InvalidArgument(
                "resize of a NO_MMAP ring is not supported (the new rings would need new user memory)",
            ));
        }
        if !flags.contains(crate::SetupFlags::NO_SQARRAY) {
            return Err(Error::InvalidArgument(
                "resize needs a ring built with no_sqarray: the kernel does not report where a resized SQ index array is",
            ));
        }
        if !flags.contains(crate::SetupFlags::DEFER_TASKRUN) {
            return Err(Error::InvalidArgument(
                "resize needs a ring built with defer_taskrun (the kernel's rule)",
            ));
        }
        let mut p = io_uring_params::default();
        p.sq_entries = sq_entries;
        if cq_entries != 0 {
            p.cq_entries = cq_entries;
            p.flags = IoringSetupFlags::CQSIZE;
        }
        // SAFETY: one io_uring_params, which the kernel overwrites with the
        // new sizes and offsets: `p` is a writable local despite `*const`.
        unsafe {
            register::call(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterResizeRings,
                "IORING_REGISTER_RESIZE_RINGS",
                (&mut p as *mut io_uring_params).cast(),
                1,
            )
        }?;
        // The kernel reports the ring's own flags and features back.
        p.flags = IoringSetupFlags::from_bits_retain(self.params.flags().bits());
        p.features = self.params.0.features;
        p.sq_thread_cpu = self.params.0.sq_thread_cpu;
        p.sq_thread_idle = self.params.0.sq_thread_idle;
        let Regions {
            sq,
            cq,
            sq_map,
            cq_map,
            sqe_map,
        } = map_regions(self.fd.as_fd(), &p)?;
        // Replacing the mappings unmaps the old ones (the kernel already
        // moved their contents).
        self.sq = sq;
        self.cq = cq;
        self.sq_map = sq_map;
        self.cq_map = cq_map;
        self.sqe_map = sqe_map;
        self.params = Params(p);
        Ok(())
    }
}
