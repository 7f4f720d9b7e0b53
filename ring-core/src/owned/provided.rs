//! Legacy provided buffers (`IORING_OP_PROVIDE_BUFFERS` /
//! `REMOVE_BUFFERS`, Linux 5.7) in the safe tier.
//!
//! The kernel keeps the addresses of provided buffers until an operation
//! that selects from their group consumes one or they are removed, and it
//! never tells the group which. Invariants owned here:
//! - a [`ProvidedBufs`] group's memory is one heap block that is never
//!   freed once it has been provided: if the group was provided, dropping
//!   it leaks the block (the kernel may still hold its addresses);
//! - Rust never reads or writes the block after it was provided (the group
//!   gives no access to it), so whatever the kernel does with it aliases
//!   nothing;
//! - the safe tier has no operation that selects from a legacy group: its
//!   buffer-select operations use [`BufRing`](crate::buf_ring::BufRing)s,
//!   whose group ids the kernel keeps apart from legacy groups (it refuses
//!   to provide into a ring-mapped group, to remove from one, and to
//!   register a ring where legacy buffers are), so a buffer completion on
//!   an owned ring never names a provided buffer;
//! - both operations hold the group, and `usable_on` keeps them on its
//!   ring.
//!
//! So provided buffers are sound here but of little use beyond counting:
//! receives into kernel-chosen buffers are [`RecvMulti`](super::RecvMulti)
//! and [`ReadMulti`](super::ReadMulti) with a buffer ring.

use std::cell::Cell;
use std::rc::Rc;

use super::alloc;
use super::Operation;
use crate::opcode;
use crate::squeue;
use crate::{Error, RingId};

/// A group of `count` buffers of `size` bytes for one ring's legacy
/// provided-buffer group `bgid`. Once provided ([`ProvideBuffers`]) its
/// memory belongs to the kernel for good: dropping the group leaks it.
pub struct ProvidedBufs {
    /// The block, from `Box::<[u8]>::into_raw`: no Rust reference to it
    /// exists, so the kernel writing it aliases nothing.
    mem: *mut [u8],
    size: u32,
    count: u16,
    bgid: u16,
    ring_id: RingId,
    provided: Cell<bool>,
}

impl ProvidedBufs {
    /// `count` zeroed buffers of `size` bytes for group `bgid` of `ring`;
    /// [`Error::Alloc`] if the allocator cannot give `count * size` bytes.
    pub fn new(ring: RingId, bgid: u16, count: u16, size: u32) -> Result<Rc<Self>, Error> {
        if count == 0 || size == 0 {
            return Err(Error::InvalidArgument(
                "provided buffers need a count and a size",
            ));
        }
        let total = usize::from(count)
            .checked_mul(size as usize)
            .ok_or(Error::InvalidArgument("provided buffers too large"))?;
        Ok(Rc::new(ProvidedBufs {
            mem: Box::into_raw(alloc::zeroed("provided buffers", total)?),
            size,
            count,
            bgid,
            ring_id: ring,
            provided: Cell::new(false),
        }))
    }

    /// The group id.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// The number of buffers.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The ring whose group this is.
    pub fn ring_id(&self) -> RingId {
        self.ring_id
    }
}

impl Drop for ProvidedBufs {
    fn drop(&mut self) {
        if self.provided.get() {
            // The kernel may still hold these addresses: never free them.
            return;
        }
        // SAFETY: `mem` came from `Box::into_raw` in `new`, was never
        // provided (so the kernel never had its address), and is freed
        // once, here.
        drop(unsafe { Box::from_raw(self.mem) });
    }
}

impl std::fmt::Debug for ProvidedBufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidedBufs")
            .field("bgid", &self.bgid)
            .field("count", &self.count)
            .field("size", &self.size)
            .field("provided", &self.provided.get())
            .finish()
    }
}

/// Hands all buffers of a [`ProvidedBufs`] group to the kernel (ids 0 to
/// `count - 1`); the result is 0. A group is provided once.
#[derive(Debug)]
pub struct ProvideBuffers {
    group: Rc<ProvidedBufs>,
    /// The block's start, taken while nothing else used the group.
    addr: *mut u8,
}

impl ProvideBuffers {
    /// Provides `group`'s buffers. A group that was provided already is
    /// refused (its memory is the kernel's). The group counts as provided
    /// from the moment a ring admits this operation; one refused by the
    /// ring (`PushError`) leaves it as it was.
    pub fn new(group: &Rc<ProvidedBufs>) -> Result<Self, Error> {
        if group.provided.get() {
            return Err(Error::InvalidArgument(
                "this group of buffers was provided already",
            ));
        }
        // Only the pointer is taken; Rust never touches the block (the
        // group gives no access to it).
        let addr = group.mem.cast::<u8>();
        Ok(ProvideBuffers {
            group: group.clone(),
            addr,
        })
    }
}

// SAFETY: the entry points to the group's heap block, `count * size` bytes
// that stay allocated for good once provided (the group leaks them on
// drop, `provided` being set here, before the kernel can see the entry)
// and that Rust never accesses;
// `usable_on` keeps the group's id on its own ring.
unsafe impl Operation for ProvideBuffers {
    fn entry(&mut self) -> squeue::Entry {
        let g = &self.group;
        // Called once the ring has admitted the operation, just before the
        // entry is published: from here the kernel may hold the addresses.
        g.provided.set(true);
        opcode::ProvideBuffers::new(self.addr, g.size, g.count, g.bgid, 0).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.group.ring_id == ring
    }
}

/// Takes up to all of a group's unused buffers back from the kernel; the
/// result is how many it removed (`ENOENT` if the group has none).
#[derive(Debug)]
pub struct RemoveBuffers {
    group: Rc<ProvidedBufs>,
}

impl RemoveBuffers {
    /// Removes `group`'s buffers.
    pub fn new(group: &Rc<ProvidedBufs>) -> Self {
        RemoveBuffers {
            group: group.clone(),
        }
    }
}

// SAFETY: points to no memory; the kernel only forgets addresses of the
// group, which stays this ring's (`usable_on`).
unsafe impl Operation for RemoveBuffers {
    fn entry(&mut self) -> squeue::Entry {
        opcode::RemoveBuffers::new(self.group.count, self.group.bgid).build()
    }
    fn usable_on(&self, ring: RingId) -> bool {
        self.group.ring_id == ring
    }
}
