//! Turning a registered file back into a normal descriptor
//! (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8).
//!
//! Invariant owned here: the slot the entry names is a [`FixedFile`] the
//! operation holds (so the slot stays filled with that file until the
//! operation completes) and belongs to the ring the operation goes on; the
//! descriptor the kernel creates comes back owned (`result_is_fd`).

use super::{FixedFile, Operation};
use crate::opcode;
use crate::squeue;
use crate::RingId;

/// Installs the file of a registered slot in the process's fd table (with
/// `O_CLOEXEC`); the completion's [`take_fd`](super::Completion::take_fd)
/// gives the new descriptor. The slot stays filled.
#[derive(Debug)]
pub struct InstallFixed {
    file: FixedFile,
}

impl InstallFixed {
    /// A normal descriptor for the file in `file`'s slot.
    pub fn new(file: &FixedFile) -> Self {
        InstallFixed { file: file.clone() }
    }
}

// SAFETY: points to no memory. The slot is a share the operation holds,
// and `usable_on` keeps it off every ring but its table's. The kernel puts
// the file into the normal fd table, so a non-negative result is a new
// descriptor nobody else owns.
unsafe impl Operation for InstallFixed {
    fn entry(&mut self) -> squeue::Entry {
        opcode::FixedFdInstall::new(self.file.index()).build()
    }
    fn result_is_fd(&self) -> bool {
        true
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.file.ring_id() == ring
    }
}
