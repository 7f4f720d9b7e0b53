//! Cancelling requests in flight.

use super::fileless;
use crate::squeue::Entry;
use crate::types::Target;

/// What [`AsyncCancel`] matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelBy {
    /// The request submitted with this `user_data`.
    UserData(u64),
    /// Requests on this file (`IORING_ASYNC_CANCEL_FD`, 5.19).
    Fd(Target),
    /// Any request (`IORING_ASYNC_CANCEL_ANY`, 5.19). The kernel treats it
    /// as "every request" and returns the count, as with `ALL`.
    Any,
}

/// `IORING_OP_ASYNC_CANCEL` (5.5; fd/any/all matching 5.19). The result is
/// the number cancelled with [`all`](Self::all), else 0, or `-ENOENT` when
/// nothing matched, `-EALREADY` when the request was already running.
#[derive(Clone, Copy, Debug)]
pub struct AsyncCancel {
    by: CancelBy,
    all: bool,
}

impl AsyncCancel {
    /// The opcode.
    pub const CODE: u8 = 14;
    /// Cancels the first request matching `by`.
    #[inline]
    pub const fn new(by: CancelBy) -> Self {
        AsyncCancel { by, all: false }
    }
    /// `IORING_ASYNC_CANCEL_ALL`: cancel every match.
    #[inline]
    pub const fn all(mut self) -> Self {
        self.all = true;
        self
    }
    /// The entry.
    #[inline]
    pub fn build(self) -> Entry {
        const ALL: u32 = 1 << 0;
        const FD: u32 = 1 << 1;
        const ANY: u32 = 1 << 2;
        const FD_FIXED: u32 = 1 << 3;
        let mut e = fileless(Self::CODE);
        let mut flags = if self.all { ALL } else { 0 };
        match self.by {
            CancelBy::UserData(u) => e.addr = u,
            CancelBy::Fd(Target::Fd(fd)) => {
                e.fd = fd;
                flags |= FD;
            }
            CancelBy::Fd(Target::Fixed(i)) => {
                e.fd = i as i32;
                flags |= FD | FD_FIXED;
            }
            CancelBy::Any => flags |= ANY,
        }
        e.op_flags = flags;
        e
    }
}
