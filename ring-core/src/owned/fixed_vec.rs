//! Vectored reads and writes into one registered buffer
//! (`IORING_OP_READV_FIXED` / `WRITEV_FIXED`, Linux 6.15).
//!
//! Invariants owned here: the operation holds the lent [`FixedBuf`]
//! (its only holder), and every iovec of its boxed array lies inside that
//! buffer's first `len` bytes (checked in `new`), so the kernel reads or
//! writes only memory the operation owns; `usable_on` keeps it off every
//! ring but the pool's, where the buffer index names this very buffer.

use std::ops::Range;

use super::{FixedBuf, Operation, Target};
use crate::opcode;
use crate::squeue;
use crate::types::IoVec;
use crate::{Error, RingId};

/// The iovecs for `ranges` of `buf`, or an error if one leaves it.
fn iovecs(buf: &FixedBuf, ranges: &[Range<usize>]) -> Result<Box<[IoVec]>, Error> {
    let len = buf.len();
    if ranges.iter().any(|r| r.start > r.end || r.end > len) {
        return Err(Error::InvalidArgument(
            "a range of a fixed vectored operation lies outside its buffer",
        ));
    }
    if u32::try_from(ranges.len()).is_err() {
        return Err(Error::InvalidArgument("too many ranges"));
    }
    let base = buf.ptr();
    Ok(ranges
        .iter()
        .map(|r| IoVec {
            iov_base: base.wrapping_add(r.start).cast(),
            iov_len: r.end - r.start,
        })
        .collect())
}

/// A lent buffer and the iovecs into it that an operation hands the
/// kernel.
struct Pieces {
    buf: FixedBuf,
    iov: Box<[IoVec]>,
}

impl Pieces {
    fn new(buf: FixedBuf, ranges: &[Range<usize>]) -> Result<Self, Error> {
        let iov = iovecs(&buf, ranges)?;
        Ok(Pieces { buf, iov })
    }
    fn count(&self) -> u32 {
        // `iovecs` refused more than u32::MAX ranges.
        self.iov.len() as u32
    }
}

impl std::fmt::Debug for Pieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pieces")
            .field("buf", &self.buf)
            .field("ranges", &self.iov.len())
            .finish()
    }
}

/// Declares a fixed vectored operation: the struct (the file, the lent
/// buffer with its iovecs, the offset), `new` (which checks the ranges),
/// `at`, and the getters. The two differ only in name, docs and opcode;
/// each `Operation` impl is written out below its declaration.
macro_rules! fixed_vec_op {
    ($(#[$doc:meta])* $name:ident, $new_doc:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            target: Target,
            pieces: Pieces,
            offset: u64,
        }

        impl $name {
            #[doc = $new_doc]
            pub fn new(
                fd: impl Into<Target>,
                buf: FixedBuf,
                ranges: &[Range<usize>],
            ) -> Result<Self, Error> {
                Ok($name {
                    target: fd.into(),
                    pieces: Pieces::new(buf, ranges)?,
                    offset: 0,
                })
            }
            /// Sets the file offset (default 0; `u64::MAX`: the current
            /// position, advanced by the operation).
            pub fn at(mut self, offset: u64) -> Self {
                self.offset = offset;
                self
            }
            /// The file offset.
            pub fn offset(&self) -> u64 {
                self.offset
            }
            /// The file it acts on.
            pub fn target(&self) -> &Target {
                &self.target
            }
            /// The buffer back.
            pub fn into_buf(self) -> FixedBuf {
                self.pieces.buf
            }
        }
    };
}

fixed_vec_op!(
    /// Reads into several ranges of one registered buffer, filling each
    /// before the next (`IORING_OP_READV_FIXED`).
    ReadvFixed,
    "Reads from `fd` into `ranges` of `buf`, in order. A range that does not lie within the buffer's length is refused (`Error::InvalidArgument`)."
);

// SAFETY: the entry points to the boxed iovec array, whose entries lie
// inside the lent registered buffer the operation holds exclusively (checked
// in `new`); the pool keeps that buffer allocated and registered while the
// holder lives, and `usable_on` keeps the operation on the pool's ring.
unsafe impl Operation for ReadvFixed {
    fn entry(&mut self) -> squeue::Entry {
        let n = self.pieces.count();
        opcode::ReadvFixed::new(
            self.target.raw(),
            self.pieces.iov.as_ptr(),
            n,
            self.pieces.buf.index(),
        )
        .offset(self.offset)
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.pieces.buf.ring_id() == ring
    }
}

fixed_vec_op!(
    /// Writes several ranges of one registered buffer, one after the other
    /// (`IORING_OP_WRITEV_FIXED`).
    WritevFixed,
    "Writes `ranges` of `buf` to `fd`, in order. A range that does not lie within the buffer's length is refused (`Error::InvalidArgument`)."
);

// SAFETY: as for ReadvFixed; the kernel only reads the ranges.
unsafe impl Operation for WritevFixed {
    fn entry(&mut self) -> squeue::Entry {
        let n = self.pieces.count();
        opcode::WritevFixed::new(
            self.target.raw(),
            self.pieces.iov.as_ptr(),
            n,
            self.pieces.buf.index(),
        )
        .offset(self.offset)
        .build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.pieces.buf.ring_id() == ring
    }
}
