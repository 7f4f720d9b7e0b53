//! Owned process waits: `waitid` through the ring (Linux 6.7).
//!
//! Invariant owned here: the `siginfo_t` the kernel fills is boxed in the
//! operation, and a pidfd the wait names is a [`SharedFd`] it holds.

use std::os::fd::AsRawFd;

use super::{Operation, SharedFd};
use crate::opcode;
use crate::squeue;
use crate::types::Siginfo;

const P_ALL: u32 = 0;
const P_PID: u32 = 1;
const P_PIDFD: u32 = 3;

/// What a [`Waitid`] waits for.
#[derive(Debug)]
enum Who {
    /// Any child (`P_ALL`).
    Any,
    /// One child by pid (`P_PID`).
    Pid(i32),
    /// One child by pidfd (`P_PIDFD`), held.
    PidFd(SharedFd),
}

/// Waits for a child's state change (`waitid(2)`); once back,
/// [`siginfo`](Self::siginfo) says which child and how (pid, `CLD_EXITED`
/// and the exit status, ...).
///
/// Without `WNOWAIT`, waiting for an exit reaps the child, whoever spawned
/// it: a [`std::process::Child`] for it (or another runtime's handle) is
/// then out of date (its `wait` fails with `ECHILD`: test
/// `waitid_reports_a_childs_exit`), and its `kill` would signal the pid, which the
/// system may have given to an unrelated process by then. Wait only for
/// children nothing else waits for, or pass `WNOWAIT` and let their owner
/// reap them.
#[derive(Debug)]
pub struct Waitid {
    who: Who,
    options: u32,
    info: Box<Siginfo>,
}

impl Waitid {
    fn with(who: Who, options: u32) -> Self {
        Waitid {
            who,
            options,
            info: Box::new(Siginfo::zeroed()),
        }
    }
    /// Waits for the child with process id `pid`; `options` as `waitid`'s
    /// (`WEXITED` is 4, `WSTOPPED` 2, `WNOHANG` 1, `WNOWAIT` 0x1000000).
    pub fn pid(pid: u32, options: u32) -> Self {
        Self::with(Who::Pid(pid as i32), options)
    }
    /// Waits for any child.
    pub fn any(options: u32) -> Self {
        Self::with(Who::Any, options)
    }
    /// Waits for the child the pidfd `fd` refers to.
    pub fn pidfd(fd: &SharedFd, options: u32) -> Self {
        Self::with(Who::PidFd(fd.clone()), options)
    }
    /// What the kernel reported (all zeros until it has).
    pub fn siginfo(&self) -> &Siginfo {
        &self.info
    }
}

// SAFETY: the entry points to the boxed siginfo (heap, stable, the 128
// bytes of a siginfo_t), which the kernel writes; a pidfd is a held share.
unsafe impl Operation for Waitid {
    fn entry(&mut self) -> squeue::Entry {
        let (idtype, id) = match &self.who {
            Who::Any => (P_ALL, 0),
            Who::Pid(pid) => (P_PID, *pid),
            Who::PidFd(fd) => (P_PIDFD, fd.as_raw_fd()),
        };
        opcode::Waitid::new(idtype, id, &mut *self.info, self.options).build()
    }
}
