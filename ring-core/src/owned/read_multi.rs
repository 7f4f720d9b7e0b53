//! Owned multishot reads (`IORING_OP_READ_MULTISHOT`, Linux 6.7): one
//! completion per buffer filled from a [`BufRing`].
//!
//! Invariants owned here: the operation holds the file ([`Target`]) and an
//! `Rc` of the buffer ring it selects from until its final completion (the
//! one without `MORE`); `buf_ring` names that ring, so each buffer
//! completion's id is taken from it (`owned/table.rs`), and `usable_on`
//! keeps the operation off every ring but the buffer ring's.

use std::rc::Rc;

use super::{Operation, Target};
use crate::buf_ring::BufRing;
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// Reads a pollable file (pipe, socket, eventfd) again and again into
/// buffers of a [`BufRing`]: each completion carries an
/// [`OwnedBuf`](super::OwnedBuf) ([`Completion::take_buf`](super::Completion::take_buf));
/// the operation ends at the completion without `MORE` (end of file, an
/// error, `ENOBUFS` when the ring runs dry, or cancellation). Regular files
/// are refused by the kernel (`EBADFD`).
#[derive(Debug)]
pub struct ReadMulti {
    target: Target,
    bufs: Rc<BufRing>,
}

impl ReadMulti {
    /// Reads `fd` into buffers of `bufs`.
    pub fn new(fd: impl Into<Target>, bufs: Rc<BufRing>) -> Self {
        ReadMulti {
            target: fd.into(),
            bufs,
        }
    }
    /// The file it reads.
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// The buffer ring it reads into.
    pub fn bufs(&self) -> &Rc<BufRing> {
        &self.bufs
    }
}

// SAFETY: the entry points to no memory of its own; it selects from
// `bufs`' group, and the Rc keeps that ring registered and its memory
// alive while the operation lives; `usable_on` checks that the buffer
// ring and the file belong to the ring the operation goes on.
unsafe impl Operation for ReadMulti {
    fn entry(&mut self) -> squeue::Entry {
        opcode::ReadMultishot::new(self.target.raw(), self.bufs.bgid()).build()
    }
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        Some(&self.bufs)
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.target.usable_on(ring) && self.bufs.ring_id() == ring
    }
}
