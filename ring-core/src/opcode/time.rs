//! Timeouts: standalone, removal, and linked to the entry before.

use super::{fileless, ptr};
use crate::squeue::Entry;
use crate::types::Timespec;

bitflags::bitflags! {
    /// Flags for [`Timeout`] and [`LinkTimeout`] (`IORING_TIMEOUT_*`, the
    /// SQE's `timeout_flags`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct TimeoutFlags: u32 {
        /// `IORING_TIMEOUT_ABS` (Linux 5.5): the timespec is an absolute time.
        const ABS = 1 << 0;
        /// `IORING_TIMEOUT_BOOTTIME` (5.15): measure with `CLOCK_BOOTTIME`.
        const BOOTTIME = 1 << 2;
        /// `IORING_TIMEOUT_REALTIME` (5.15): measure with `CLOCK_REALTIME`.
        const REALTIME = 1 << 3;
        /// `IORING_TIMEOUT_ETIME_SUCCESS` (5.16): expiry is not a link failure.
        const ETIME_SUCCESS = 1 << 5;
        /// `IORING_TIMEOUT_MULTISHOT` (6.4): fire repeatedly.
        const MULTISHOT = 1 << 6;
    }
}

/// `IORING_OP_TIMEOUT` (5.4): completes with `-ETIME` when the time passes,
/// or with 0 once `count` other completions have been posted.
///
/// The timespec is read when the entry is submitted
/// (`IORING_FEAT_SUBMIT_STABLE`) but must stay valid until then, and for
/// [`LinkTimeout`] until the linked chain is submitted.
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    ts: *const Timespec,
    count: u32,
    flags: TimeoutFlags,
}

impl Timeout {
    /// The opcode.
    pub const CODE: u8 = 11;
    /// A relative timeout of `*ts`.
    #[inline]
    pub const fn new(ts: *const Timespec) -> Self {
        Timeout {
            ts,
            count: 0,
            flags: TimeoutFlags::empty(),
        }
    }
    /// Complete after `count` completions, if that happens first; with
    /// [`multishot`](Self::multishot), the number of times to fire (0:
    /// forever).
    #[inline]
    pub const fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }
    /// `IORING_TIMEOUT_ABS`: `*ts` is an absolute `CLOCK_MONOTONIC` time.
    #[inline]
    pub const fn absolute(mut self) -> Self {
        self.flags = self.flags.union(TimeoutFlags::ABS);
        self
    }
    /// `IORING_TIMEOUT_MULTISHOT` (6.4): fire every `*ts`, each with `MORE`.
    #[inline]
    pub const fn multishot(mut self) -> Self {
        self.flags = self.flags.union(TimeoutFlags::MULTISHOT);
        self
    }
    /// Adds `IORING_TIMEOUT_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: TimeoutFlags) -> Self {
        self.flags = self.flags.union(flags);
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.ts);
        e.len = 1;
        e.off = u64::from(self.count);
        e.op_flags = self.flags.bits();
        e
    }
}

/// `IORING_OP_TIMEOUT_REMOVE` (5.5): cancel the timeout with `user_data`.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutRemove {
    user_data: u64,
}

impl TimeoutRemove {
    /// The opcode.
    pub const CODE: u8 = 12;
    /// Removes the timeout submitted with `user_data`.
    #[inline]
    pub const fn new(user_data: u64) -> Self {
        TimeoutRemove { user_data }
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = self.user_data;
        e
    }
}

/// `IORING_OP_LINK_TIMEOUT` (5.5): placed right after an entry with
/// `IO_LINK`, cancels that entry if it has not completed in time.
#[derive(Clone, Copy, Debug)]
pub struct LinkTimeout {
    ts: *const Timespec,
    flags: TimeoutFlags,
}

impl LinkTimeout {
    /// The opcode.
    pub const CODE: u8 = 15;
    /// A relative timeout of `*ts` for the previous linked entry.
    #[inline]
    pub const fn new(ts: *const Timespec) -> Self {
        LinkTimeout {
            ts,
            flags: TimeoutFlags::empty(),
        }
    }
    /// Adds `IORING_TIMEOUT_*` flags.
    #[inline]
    pub const fn flags(mut self, flags: TimeoutFlags) -> Self {
        self.flags = self.flags.union(flags);
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        let mut e = fileless(Self::CODE);
        e.addr = ptr(self.ts);
        e.len = 1;
        e.op_flags = self.flags.bits();
        e
    }
}
