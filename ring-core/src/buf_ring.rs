//! Provided-buffer rings (`IORING_REGISTER_PBUF_RING`, Linux 5.19): a ring of
//! buffers the kernel picks from when an operation has `BUFFER_SELECT`.
//!
//! Invariants owned here:
//! - every buffer id is in exactly one place: with the kernel (published in
//!   the ring) or with the user (a [`Buf`] guard). A guard is created only
//!   for an id the kernel handed back, and returns it to the ring once;
//! - the ring tail is published with a `Release` store after the entry is
//!   written (pairs with the kernel's `smp_load_acquire` of the tail in
//!   `io_ring_buffer_select`);
//! - the ring is unregistered before its memory is unmapped (field order and
//!   `Drop`), through a duplicate of the ring fd so that the fd number can
//!   never have been reused by another file; if the kernel refuses to
//!   unregister it, the memory is leaked, never unmapped.

use core::cell::Cell;
use core::sync::atomic::{AtomicU16, Ordering};

use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::io_uring::{io_uring_buf_reg, io_uring_ptr, IoringRegisterOp};

use crate::cqueue;
use crate::error::Region;
use crate::mmap::Mmap;
use crate::{register, Error, IoUring, RingId};

/// `IOU_PBUF_RING_MMAP` (6.4): the kernel allocates the ring memory; we map it.
const PBUF_RING_MMAP: u16 = 1;
/// `IOU_PBUF_RING_INC` (6.12): incremental consumption.
const PBUF_RING_INC: u16 = 2;
/// `IORING_OFF_PBUF_RING`.
const OFF_PBUF_RING: u64 = 0x8000_0000;
/// `IORING_OFF_PBUF_SHIFT`.
const OFF_PBUF_SHIFT: u32 = 16;
/// Size of one `struct io_uring_buf`.
const BUF_ENTRY: usize = 16;

/// Options for [`BufRing::builder`].
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    bgid: u16,
    entries: u16,
    buf_len: u32,
    kernel_mapped: bool,
    incremental: bool,
}

impl Builder {
    /// Let the kernel allocate the ring memory and map it from the ring fd
    /// (`IOU_PBUF_RING_MMAP`, Linux 6.4).
    pub fn kernel_mapped(mut self) -> Self {
        self.kernel_mapped = true;
        self
    }

    /// Incremental consumption (`IOU_PBUF_RING_INC`, Linux 6.12): a receive
    /// uses only as much of a buffer as it needs; the rest stays with the
    /// kernel and the CQE has `BUF_MORE`.
    pub fn incremental(mut self) -> Self {
        self.incremental = true;
        self
    }

    /// Registers the ring with `ring` and provides every buffer.
    pub fn build(self, ring: &IoUring) -> Result<BufRing, Error> {
        BufRing::create(ring, self)
    }
}

/// Why a completion's buffer could not be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BufError {
    /// The completion carries no buffer (`IORING_CQE_F_BUFFER` unset).
    #[error("the completion carries no buffer")]
    NoBuffer,
    /// The buffer id is outside this ring.
    #[error("buffer id {0} is not in this ring")]
    UnknownId(u16),
    /// The buffer is not with the kernel: it was taken already.
    #[error("buffer id {0} is already taken")]
    AlreadyTaken(u16),
    /// The completion's length does not fit the buffer.
    #[error("length {len} does not fit buffer {bid}")]
    BadLength {
        /// The buffer id.
        bid: u16,
        /// The length the completion reported.
        len: u32,
    },
}

impl From<BufError> for std::io::Error {
    /// Wraps the error so that `?` works in a function returning
    /// [`std::io::Result`]: kind `InvalidData` (the completion does not match
    /// the ring), with the message of [`BufError`].
    fn from(e: BufError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// A ring of `entries` buffers of `buf_len` bytes, registered as buffer group
/// `bgid`.
///
/// Dropping it unregisters the group. On a ring set up with
/// `SINGLE_ISSUER` the kernel takes that only from the ring's thread:
/// dropped on another thread, the group stays registered and its memory is
/// leaked (never unmapped while the kernel may still write it).
///
/// ```
/// use ring_core::{buf_ring::BufRing, IoUring};
/// # fn main() -> Result<(), ring_core::Error> {
/// let ring = IoUring::new(8)?;
/// let bufs = BufRing::builder(7, 16, 4096).build(&ring)?;
/// assert_eq!(bufs.available(), 16);
/// # Ok(()) }
/// ```
pub struct BufRing {
    /// Ids at each ring index, as we placed them (for bundles).
    slot_bid: Box<[Cell<u16>]>,
    /// Where each id was last placed in the ring.
    pos_of: Box<[Cell<u16>]>,
    /// Per id: true while the kernel holds it.
    with_kernel: Box<[Cell<bool>]>,
    /// Per id, with incremental consumption: bytes already handed out.
    consumed: Box<[Cell<u32>]>,
    /// Per id: guards (or owned holders) alive for its bytes. With
    /// incremental consumption one buffer is handed out in several chunks,
    /// and it goes back to the kernel only when the kernel is done with it
    /// (`with_kernel` false) *and* the last of them has let go.
    holders: Box<[Cell<u32>]>,
    tail: Cell<u16>,
    mask: u16,
    entries: u16,
    bgid: u16,
    buf_len: u32,
    incremental: bool,
    /// The ring this group is registered with.
    ring_id: RingId,
    // Declared in this order: ring memory, then buffer memory, then the fd,
    // and `Drop` unregisters first.
    ring_mem: Mmap,
    buf_mem: Mmap,
    fd: OwnedFd,
}

// SAFETY: the memory is owned; moving the whole ring to another thread is
// fine. It is not Sync (Cell bookkeeping).
unsafe impl Send for BufRing {}

impl BufRing {
    /// Options for a ring of `entries` (a power of two, at most 32768)
    /// buffers of `buf_len` bytes as group `bgid`.
    pub fn builder(bgid: u16, entries: u16, buf_len: u32) -> Builder {
        Builder {
            bgid,
            entries,
            buf_len,
            kernel_mapped: false,
            incremental: false,
        }
    }

    fn create(ring: &IoUring, b: Builder) -> Result<Self, Error> {
        if !b.entries.is_power_of_two() || b.entries > 32768 {
            return Err(Error::InvalidArgument(
                "buffer ring entries must be a power of two ≤ 32768",
            ));
        }
        if b.buf_len == 0 {
            return Err(Error::InvalidArgument("buffer length must be positive"));
        }
        let ring_len = usize::from(b.entries) * BUF_ENTRY;
        let buf_total = usize::from(b.entries)
            .checked_mul(b.buf_len as usize)
            .ok_or(Error::InvalidArgument("buffer ring too large"))?;
        let fd = ring.dup_fd()?;
        let buf_mem = Mmap::anonymous(buf_total).map_err(|errno| Error::Map {
            region: Region::BufRing,
            errno,
        })?;

        let mut reg = io_uring_buf_reg::default();
        reg.ring_entries = u32::from(b.entries);
        reg.bgid = b.bgid;
        let mut flags = 0;
        let user_mem = if b.kernel_mapped {
            flags |= PBUF_RING_MMAP;
            None
        } else {
            let m = Mmap::anonymous(ring_len).map_err(|errno| Error::Map {
                region: Region::BufRing,
                errno,
            })?;
            reg.ring_addr = io_uring_ptr::new(m.as_ptr().cast());
            Some(m)
        };
        if b.incremental {
            flags |= PBUF_RING_INC;
        }
        reg.flags = flags;
        // SAFETY: one io_uring_buf_reg, read during the call; the ring memory
        // it names (ours, or none with PBUF_RING_MMAP) lives in `ring_mem`
        // until `Drop` has unregistered it.
        unsafe {
            register::call(
                fd.as_fd(),
                IoringRegisterOp::RegisterPbufRing,
                "IORING_REGISTER_PBUF_RING",
                (&reg as *const io_uring_buf_reg).cast(),
                1,
            )
        }?;
        let ring_mem = match user_mem {
            Some(m) => m,
            None => {
                let offset = OFF_PBUF_RING | (u64::from(b.bgid) << OFF_PBUF_SHIFT);
                // SAFETY: the kernel just allocated this group's ring of
                // `ring_len` bytes at this mmap offset of the ring fd.
                match unsafe { Mmap::ring(fd.as_fd(), ring_len, offset) } {
                    Ok(m) => m,
                    Err(errno) => {
                        let _ = unregister(&fd, b.bgid);
                        return Err(Error::Map {
                            region: Region::BufRing,
                            errno,
                        });
                    }
                }
            }
        };
        let n = usize::from(b.entries);
        let this = BufRing {
            slot_bid: (0..n).map(|_| Cell::new(0)).collect(),
            pos_of: (0..n).map(|_| Cell::new(0)).collect(),
            with_kernel: (0..n).map(|_| Cell::new(false)).collect(),
            consumed: (0..n).map(|_| Cell::new(0)).collect(),
            holders: (0..n).map(|_| Cell::new(0)).collect(),
            tail: Cell::new(0),
            mask: b.entries - 1,
            entries: b.entries,
            bgid: b.bgid,
            buf_len: b.buf_len,
            incremental: b.incremental,
            ring_id: ring.id(),
            ring_mem,
            buf_mem,
            fd,
        };
        for bid in 0..b.entries {
            this.provide(bid);
        }
        this.publish();
        Ok(this)
    }

    /// The ring this buffer group is registered with: its group id means
    /// nothing to any other ring.
    pub fn ring_id(&self) -> RingId {
        self.ring_id
    }

    /// The buffer group id to select from.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.entries
    }

    /// Length of each buffer.
    pub fn buf_len(&self) -> u32 {
        self.buf_len
    }

    /// Buffers currently with the kernel.
    pub fn available(&self) -> usize {
        self.with_kernel.iter().filter(|c| c.get()).count()
    }

    /// Whether buffer `bid` is with the kernel.
    pub fn is_with_kernel(&self, bid: u16) -> bool {
        self.with_kernel
            .get(usize::from(bid))
            .is_some_and(Cell::get)
    }

    #[inline]
    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: bid < entries, so the offset lies inside the buffer
        // mapping of entries * buf_len bytes.
        unsafe {
            self.buf_mem
                .as_ptr()
                .add(usize::from(bid) * self.buf_len as usize)
        }
    }

    #[inline]
    fn tail_atomic(&self) -> &AtomicU16 {
        // SAFETY: the kernel's tail is the u16 at byte 14 of the ring (it
        // overlays `resv` of entry 0); the mapping is page-aligned and live.
        unsafe { &*self.ring_mem.as_ptr().add(14).cast::<AtomicU16>() }
    }

    /// Writes buffer `bid` (whole, from its start) at the local tail.
    fn provide(&self, bid: u16) {
        let tail = self.tail.get();
        let idx = tail & self.mask;
        let entry = self
            .ring_mem
            .as_ptr()
            .wrapping_add(usize::from(idx) * BUF_ENTRY);
        let addr = self.buf_ptr(bid) as u64;
        // SAFETY: `idx` < entries, so the 16-byte entry lies in the ring
        // mapping. The kernel reads only the entries from its head up to
        // our *published* tail; this one is at our local tail, at or past
        // the published one, and less than `entries` past the kernel's head
        // (every id is in one place, so the kernel's entries plus the ones
        // provided but not yet published are at most `entries`): it lies
        // outside the window the kernel reads until `publish`. Entry 0's
        // bytes 14..16 are the tail, so we write addr (0..8), len (8..12)
        // and bid (12..14) separately and never touch the tail's bytes here.
        unsafe {
            entry.cast::<u64>().write(addr);
            entry.add(8).cast::<u32>().write(self.buf_len);
            entry.add(12).cast::<u16>().write(bid);
        }
        self.slot_bid[usize::from(idx)].set(bid);
        self.pos_of[usize::from(bid)].set(tail);
        self.consumed[usize::from(bid)].set(0);
        self.with_kernel[usize::from(bid)].set(true);
        self.tail.set(tail.wrapping_add(1));
    }

    /// Publishes the local tail (Release; pairs with the kernel's
    /// `smp_load_acquire` of the tail).
    fn publish(&self) {
        self.tail_atomic().store(self.tail.get(), Ordering::Release);
    }

    /// Takes the buffer a completion names.
    ///
    /// # Safety
    ///
    /// `cqe` must have been posted by an operation that selected its buffer
    /// from this ring's group, on the io_uring this ring is registered with
    /// (otherwise the id could name a buffer the kernel still writes).
    pub unsafe fn get(&self, cqe: &cqueue::Entry) -> Result<Buf<'_>, BufError> {
        let bid = cqe.buffer_id().ok_or(BufError::NoBuffer)?;
        let len = cqe.raw_result().max(0) as u32;
        // SAFETY: forwarded contract.
        unsafe { self.take(bid, len, cqe.flags().contains(cqueue::Flags::BUF_MORE)) }
    }

    /// Takes buffer `bid` holding `len` received bytes.
    ///
    /// # Safety
    ///
    /// The kernel must have handed `bid` of this group back (in a CQE of this
    /// ring's io_uring) and `len` must be what that CQE reported.
    pub unsafe fn take(&self, bid: u16, len: u32, buf_more: bool) -> Result<Buf<'_>, BufError> {
        let i = usize::from(bid);
        if i >= usize::from(self.entries) {
            return Err(BufError::UnknownId(bid));
        }
        if !self.with_kernel[i].get() {
            return Err(BufError::AlreadyTaken(bid));
        }
        let start = if self.incremental {
            self.consumed[i].get()
        } else {
            0
        };
        if u64::from(start) + u64::from(len) > u64::from(self.buf_len) {
            return Err(BufError::BadLength { bid, len });
        }
        let keep_with_kernel = self.incremental && buf_more;
        if keep_with_kernel {
            // The kernel goes on using the rest of this buffer.
            self.consumed[i].set(start + len);
        } else {
            self.with_kernel[i].set(false);
        }
        self.holders[i].set(self.holders[i].get() + 1);
        Ok(Buf {
            ring: self,
            bid,
            start,
            len,
            returns: true,
        })
    }

    /// Takes every buffer of a bundle receive (`IORING_RECVSEND_BUNDLE`):
    /// the CQE names the first id; the following ones are the next ring
    /// entries, filled in order.
    ///
    /// # Safety
    ///
    /// As [`get`](Self::get), and the operation must have been a bundle.
    pub unsafe fn get_bundle(&self, cqe: &cqueue::Entry) -> Result<Vec<Buf<'_>>, BufError> {
        let first = cqe.buffer_id().ok_or(BufError::NoBuffer)?;
        if first >= self.entries {
            return Err(BufError::UnknownId(first));
        }
        let mut left = cqe.raw_result().max(0) as u32;
        let mut pos = self.pos_of[usize::from(first)].get();
        let mut out = Vec::new();
        loop {
            let bid = self.slot_bid[usize::from(pos & self.mask)].get();
            let len = left.min(self.buf_len);
            // SAFETY: the kernel consumed these ring entries in order for
            // this bundle (caller's contract).
            out.push(unsafe { self.take(bid, len, false) }?);
            left -= len;
            pos = pos.wrapping_add(1);
            if left == 0 {
                return Ok(out);
            }
        }
    }

    /// Gives a buffer taken through a guard back to the kernel.
    fn recycle(&self, bid: u16) {
        self.provide(bid);
        self.publish();
    }

    /// One holder of (a chunk of) `bid` lets go: a guard drops, or the
    /// owner of a guard turned into parts. The buffer goes back to the
    /// kernel when the kernel is done with it and no holder is left, so an
    /// incremental buffer's last chunk cannot give it back while an earlier
    /// chunk is still held
    /// (`an_incremental_buffer_is_not_given_back_while_an_earlier_chunk_is_held`).
    pub(crate) fn give_back(&self, bid: u16) {
        let i = usize::from(bid);
        let left = self.holders[i].get().saturating_sub(1);
        self.holders[i].set(left);
        if left == 0 && !self.with_kernel[i].get() {
            self.recycle(bid);
        }
    }

    /// The bytes `start..start + len` of buffer `bid`, which the caller
    /// holds (taken and not given back).
    pub(crate) fn slice_at(&self, bid: u16, start: u32, len: u32) -> &[u8] {
        assert!(bid < self.entries && u64::from(start) + u64::from(len) <= u64::from(self.buf_len));
        // SAFETY: in bounds (asserted); the caller holds the buffer, so the
        // kernel does not write these bytes until it is given back.
        unsafe { core::slice::from_raw_parts(self.buf_ptr(bid).add(start as usize), len as usize) }
    }

    /// The kernel's current head (`IORING_REGISTER_PBUF_STATUS`, 6.8): how
    /// many buffers it has consumed in total (mod 2^16).
    pub fn head(&self) -> Result<u16, Error> {
        #[repr(C)]
        struct Status {
            buf_group: u32,
            head: u32,
            resv: [u32; 8],
        }
        let mut status = Status {
            buf_group: u32::from(self.bgid),
            head: 0,
            resv: [0; 8],
        };
        // SAFETY: one io_uring_buf_status, which the kernel writes the head
        // into: a live, writable local despite the `*const`.
        unsafe {
            register::call(
                self.fd.as_fd(),
                IoringRegisterOp::RegisterPbufStatus,
                "IORING_REGISTER_PBUF_STATUS",
                (&mut status as *mut Status).cast(),
                1,
            )
        }?;
        Ok(status.head as u16)
    }
}

fn unregister(fd: &OwnedFd, bgid: u16) -> Result<u32, Error> {
    let mut reg = io_uring_buf_reg::default();
    reg.bgid = bgid;
    // SAFETY: one io_uring_buf_reg naming the group, read during the call.
    unsafe {
        register::call(
            fd.as_fd(),
            IoringRegisterOp::UnregisterPbufRing,
            "IORING_UNREGISTER_PBUF_RING",
            (&reg as *const io_uring_buf_reg).cast(),
            1,
        )
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // Unregister before the memory goes: afterwards the kernel picks no
        // more buffers from it. (Operations already holding a selected
        // buffer are covered by `push`'s contract.)
        if unregister(&self.fd, self.bgid).is_err() {
            // The kernel still has the group, with the addresses of this
            // ring and its buffers: a later selection from it would write
            // into whatever memory is mapped there then. That happens when
            // the ring was set up with `SINGLE_ISSUER` and this value is
            // dropped on another thread (the kernel takes register calls
            // only from the ring's thread: `EEXIST`), or when restrictions
            // forbid the unregistration. Leak rather than unmap.
            self.ring_mem.leak();
            self.buf_mem.leak();
        }
    }
}

impl core::fmt::Debug for BufRing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BufRing")
            .field("bgid", &self.bgid)
            .field("entries", &self.entries)
            .field("buf_len", &self.buf_len)
            .field("available", &self.available())
            .finish()
    }
}

/// A received buffer, taken from a [`BufRing`]. Dropping it returns the
/// buffer to the kernel, unless, with incremental consumption, the kernel
/// still owns the rest of it or another chunk of it is still held.
pub struct Buf<'a> {
    ring: &'a BufRing,
    bid: u16,
    start: u32,
    len: u32,
    returns: bool,
}

impl Buf<'_> {
    /// The buffer id.
    pub fn bid(&self) -> u16 {
        self.bid
    }

    /// The received bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `start + len <= buf_len` (checked in `take`); the kernel
        // filled these bytes before posting the CQE and will not write them
        // again until the buffer is provided again, which only this guard
        // can do (or, with incremental consumption, it has moved past them).
        unsafe {
            core::slice::from_raw_parts(
                self.ring.buf_ptr(self.bid).add(self.start as usize),
                self.len as usize,
            )
        }
    }

    /// Returns the buffer now (same as dropping the guard).
    pub fn recycle(self) {}

    /// (bid, start, len, returns) without giving the buffer back: the
    /// caller takes over the guard's duty.
    pub(crate) fn into_parts(self) -> (u16, u32, u32, bool) {
        let parts = (self.bid, self.start, self.len, self.returns);
        core::mem::forget(self);
        parts
    }
}

impl core::ops::Deref for Buf<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for Buf<'_> {
    fn drop(&mut self) {
        if self.returns {
            self.ring.give_back(self.bid);
        }
    }
}

impl core::fmt::Debug for Buf<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Buf")
            .field("bid", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

/// A parsed `io_uring_recvmsg_out` header at the start of a multishot
/// `RecvMsg` buffer, followed by the name, control and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMsgOut<'a> {
    /// The peer address bytes (at most the reserved name length).
    pub name: &'a [u8],
    /// The peer address length the kernel reported (may exceed `name.len()`
    /// when truncated).
    pub name_len: u32,
    /// The control (ancillary) bytes.
    pub control: &'a [u8],
    /// The payload bytes.
    pub payload: &'a [u8],
    /// The payload length the kernel reported (may exceed `payload.len()`
    /// when `MSG_TRUNC`).
    pub payload_len: u32,
    /// `MSG_*` flags of the message.
    pub flags: u32,
}

impl<'a> RecvMsgOut<'a> {
    /// Parses `buf` (the bytes of a multishot recvmsg completion) given the
    /// `msg_namelen` and `msg_controllen` of the `msghdr` submitted with it.
    /// Returns `None` if the buffer is too short for the header and the
    /// reserved areas. Never reads out of bounds.
    pub fn parse(buf: &'a [u8], msg_namelen: u32, msg_controllen: usize) -> Option<Self> {
        const HDR: usize = 16; // struct io_uring_recvmsg_out
        let header = buf.get(..HDR)?;
        let word =
            |i: usize| u32::from_ne_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (namelen, controllen, payloadlen, flags) = (word(0), word(4), word(8), word(12));
        let name_start = HDR;
        let control_start = name_start.checked_add(msg_namelen as usize)?;
        let payload_start = control_start.checked_add(msg_controllen)?;
        if payload_start > buf.len() {
            return None;
        }
        let name_end = name_start + (namelen.min(msg_namelen) as usize);
        let control_end = control_start + (controllen as usize).min(msg_controllen);
        let payload_end = payload_start + (payloadlen as usize).min(buf.len() - payload_start);
        Some(RecvMsgOut {
            name: &buf[name_start..name_end],
            name_len: namelen,
            control: &buf[control_start..control_end],
            payload: &buf[payload_start..payload_end],
            payload_len: payloadlen,
            flags,
        })
    }
}

/// Whether a receive completion says the buffer group ran dry (`ENOBUFS`):
/// recycle buffers, then re-arm the (multishot) receive.
pub fn is_out_of_buffers(cqe: &cqueue::Entry) -> bool {
    cqe.result() == Err(Errno::NOBUFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `[start, start + len)` lies inside one mapping of this
    /// process (`/proc/self/maps`).
    fn mapped(start: usize, len: usize) -> bool {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        maps.lines().any(|line| {
            let range = line.split(' ').next().unwrap_or("");
            let Some((lo, hi)) = range.split_once('-') else {
                return false;
            };
            match (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                (Ok(lo), Ok(hi)) => lo <= start && start + len <= hi,
                _ => false,
            }
        })
    }

    /// A `BufRing` is `Send`, but the kernel takes register calls on a
    /// `SINGLE_ISSUER` ring only from the ring's thread: dropped on
    /// another one, its unregistration fails (`EEXIST`) and the kernel
    /// keeps the group and its buffers' addresses. The memory must then
    /// stay mapped (before the fix it was unmapped, and the next mapping
    /// there would have received what the kernel writes into the group).
    #[test]
    fn a_group_the_kernel_keeps_is_leaked_not_unmapped() {
        let ring = match IoUring::builder().single_issuer().build(4) {
            Ok(ring) => ring,
            Err(e) => {
                eprintln!("skipped: no SINGLE_ISSUER ring ({e})");
                return;
            }
        };
        // An unusual size (7 pages a buffer), so that no other test's
        // mapping is mistaken for this one.
        let bufs = BufRing::builder(5, 2, 7 * 4096)
            .build(&ring)
            .expect("registers");
        let (start, len) = (bufs.buf_mem.as_ptr() as usize, bufs.buf_mem.len());
        let (ring_start, ring_len) = (bufs.ring_mem.as_ptr() as usize, bufs.ring_mem.len());
        std::thread::spawn(move || drop(bufs))
            .join()
            .expect("the drop does not panic");
        // The kernel still has group 5 ...
        let again = BufRing::builder(5, 2, 4096).build(&ring);
        assert!(
            matches!(again, Err(Error::Register { errno, .. }) if errno == Errno::EXIST),
            "group 5 is still registered: {again:?}"
        );
        // ... so its memory is still mapped.
        assert!(mapped(start, len), "the buffers were unmapped");
        assert!(mapped(ring_start, ring_len), "the ring was unmapped");
    }

    #[test]
    fn recvmsg_out_parses_and_bounds() {
        let mut buf = vec![0u8; 16 + 8 + 5];
        buf[0..4].copy_from_slice(&16u32.to_ne_bytes()); // namelen (truncated to 8)
        buf[8..12].copy_from_slice(&5u32.to_ne_bytes());
        buf[24..29].copy_from_slice(b"hello");
        let out = RecvMsgOut::parse(&buf, 8, 0).expect("parses");
        assert_eq!(out.name.len(), 8);
        assert_eq!(out.name_len, 16);
        assert_eq!(out.payload, b"hello");
        // Too short for the reserved name area.
        assert!(RecvMsgOut::parse(&buf[..20], 8, 0).is_none());
        // A lying payload length is clamped to the buffer.
        buf[8..12].copy_from_slice(&500u32.to_ne_bytes());
        let out = RecvMsgOut::parse(&buf, 8, 0).expect("parses");
        assert_eq!(out.payload.len(), 5);
        assert_eq!(out.payload_len, 500);
        assert!(RecvMsgOut::parse(&buf[..3], 0, 0).is_none());
    }
}
