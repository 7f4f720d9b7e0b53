//! The in-flight table: where the safe tier keeps each operation from its
//! push to its final completion.
//!
//! Invariants owned here:
//! - a slot holds an operation exactly while the kernel may use it: from
//!   `insert` (before its entry is published) to the `remove` that its final
//!   completion triggers;
//! - a token names a slot and the slot's generation at insert; `remove`
//!   checks both, so a stale or foreign `user_data` frees nothing.
//!   Generations stay in `FIRST_GEN..2^31` (see [`Token`]): `user_data` 0
//!   or with bit 63 set never matches a slot;
//! - free slots form a list threaded through `next_free`, headed by
//!   `free_head`; `free_head == slots.len()` means the list is empty and the
//!   next insert grows the vector;
//! - while a slot of a boxed ring (`Store::BOXED`) holds an operation,
//!   its `next_free` says whether a non-negative result is a new
//!   descriptor (1) or not (0): the answer of the operation's
//!   `result_is_fd`, asked once at its push. A typed ring asks the
//!   operation at each completion instead (see [`Table::results_are_fds`]).

use std::os::fd::{FromRawFd, OwnedFd};
use std::rc::Rc;

use super::completion::{buffer_len, Completion, Held};
use super::{next_gen, Store, Token, FIRST_GEN};
use crate::buf_ring::BufRing;
use crate::{cqueue, squeue};

/// One entry of the table: the operation and the user's tag for it.
struct Slot<S, T> {
    op: Option<(S, T)>,
    gen: u32,
    /// Free: the next free slot. Holding an operation, in a boxed ring: 1
    /// if its non-negative results are new descriptors, else 0 (asked at
    /// the push, so that its completions make no virtual call).
    next_free: u32,
}

/// The in-flight operations of one ring, indexed by token.
///
/// It keeps no count of operations in flight: the hot paths would pay for
/// it on every push and completion, and only the ring's drop needs it.
pub(super) struct Table<S, T> {
    slots: Vec<Slot<S, T>>,
    free_head: u32,
}

impl<S: Store, T: Clone + Default> Table<S, T> {
    pub(super) const fn new() -> Self {
        Table {
            slots: Vec::new(),
            free_head: 0,
        }
    }

    /// Operations inserted and not yet removed (a walk over the slots).
    pub(super) fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| s.op.is_some()).count()
    }

    /// Makes sure a free slot exists, growing the table if needed. Called
    /// before the operation is converted into the ring's type and
    /// [`admit`](Self::admit)ted, so that nothing between its conversion
    /// and its push can unwind: a value that an unwinding path would have
    /// to drop is kept in memory, and the whole operation was then copied
    /// through the stack on every push (a typed ring's NOP cost 31 more
    /// instructions; growing after the conversion still stored the
    /// converted value on the stack, 2 more). (Calling it from `admit`
    /// instead executes 5 more instructions per NOP, measured.)
    #[inline(always)]
    pub(super) fn reserve(&mut self) {
        if self.free_head as usize >= self.slots.len() {
            Self::grow(&mut self.slots);
        }
    }

    /// Builds the entry of `op` and files `op` with its tag; the entry's
    /// pointers target memory `op` owns, which by `Operation`'s contract
    /// does not move when `op` moves into its slot.
    /// [`reserve`](Self::reserve) must have run since the last insert.
    #[inline(always)]
    pub(super) fn admit(&mut self, mut op: S, tag: T) -> (squeue::Entry, Token) {
        let entry = op.entry();
        let is_fd = S::BOXED && op.result_is_fd();
        self.admit_built(op, entry, is_fd, tag)
    }

    /// Files `op`, whose `entry` and `result_is_fd` answer `is_fd` were
    /// taken from it (or from the value it was converted from, moved into
    /// it: see [`Store::prepare`]); hands the entry back with its token.
    /// `is_fd` is kept only by a boxed ring.
    /// [`reserve`](Self::reserve) must have run since the last insert.
    #[inline(always)]
    pub(super) fn admit_built(
        &mut self,
        op: S,
        entry: squeue::Entry,
        is_fd: bool,
        tag: T,
    ) -> (squeue::Entry, Token) {
        let token = self.insert((op, tag), is_fd);
        (entry.user_data(token.raw()), token)
    }

    #[inline(always)]
    fn insert(&mut self, op: (S, T), is_fd: bool) -> Token {
        let index = self.free_head;
        let Some(slot) = self.slots.get_mut(index as usize) else {
            // `reserve` made a free slot: this cannot happen. Abort rather
            // than unwind, so that no unwinding path holds `op` (see
            // `reserve`).
            std::process::abort()
        };
        self.free_head = slot.next_free;
        if S::BOXED {
            slot.next_free = u32::from(is_fd);
        }
        // A free slot holds no operation, so nothing is dropped here;
        // `forget` spares the drop check the compiler cannot prove away.
        let old = slot.op.replace(op);
        debug_assert!(old.is_none());
        std::mem::forget(old);
        Token::new(index, slot.gen)
    }

    /// Whether the non-negative results of `op`, in a slot whose
    /// `next_free` is `flag`, are new descriptors: a boxed ring's answer
    /// was kept at the push (`insert`); a typed ring asks again, an inlined
    /// match on the operation's variant (reading a kept flag instead cost
    /// a typed NOP 30 more instructions, measured).
    #[inline(always)]
    fn results_are_fds(flag: u32, op: &S) -> bool {
        if S::BOXED {
            flag != 0
        } else {
            op.result_is_fd()
        }
    }

    /// Appends a free slot (the free list was empty: `free_head` is the
    /// length).
    #[cold]
    #[inline(never)]
    fn grow(slots: &mut Vec<Slot<S, T>>) {
        let next = u32::try_from(slots.len() + 1).expect("fewer than 2^32 operations in flight");
        slots.push(Slot {
            op: None,
            gen: FIRST_GEN,
            next_free: next,
        });
    }

    /// Turns one CQE into a [`Completion`]: a final completion (no `MORE`)
    /// takes its operation and tag out of the table; any other completion
    /// of a live operation carries a clone of the tag (and a completion of
    /// no operation the default tag); a buffer completion
    /// takes the buffer from the ring its operation selects from.
    #[inline(always)]
    pub(super) fn complete(&mut self, cqe: cqueue::Entry) -> Completion<S, T> {
        let token = Token(cqe.user_data());
        let index = token.index();
        let Some(slot) = self.slots.get_mut(index) else {
            return Completion::orphan(cqe);
        };
        if slot.gen != token.gen() {
            return Completion::orphan(cqe);
        }
        // The operation this completion is for, still in its slot: the
        // buffer and the descriptor are taken while it stays there, since
        // taking a buffer may unwind and an operation already out of the
        // table would then be kept in memory for that path (see `reserve`).
        // For operations that never select buffers or create descriptors
        // both checks are constant and fold away.
        let Some((op, tag)) = &slot.op else {
            return Completion::orphan(cqe);
        };
        let mut held = None;
        if cqe.raw_flags() & cqueue::Flags::BUFFER.bits() != 0 {
            if let Some(ring) = op.buf_ring() {
                held = hold_buffer(ring, cqe);
            }
        }
        let res = cqe.raw_result();
        let mut fd = None;
        if res >= 0 && Self::results_are_fds(slot.next_free, op) {
            // SAFETY: that is the operation's `result_is_fd` (asked now, or
            // at its push), whose contract makes a non-negative result a
            // new descriptor nobody else owns.
            fd = Some(unsafe { OwnedFd::from_raw_fd(res) });
        }
        if cqe.more() {
            // Not the final one: the operation stays, the tag is cloned.
            return Completion::new(cqe, None, tag.clone(), held, fd);
        }
        // The final completion hands the operation and its tag back. From
        // here to the return nothing can unwind.
        let Some((op, tag)) = slot.op.take() else {
            // Checked above, with nothing in between that could empty it.
            std::process::abort()
        };
        slot.gen = next_gen(slot.gen);
        slot.next_free = self.free_head;
        self.free_head = index as u32;
        Completion::new(cqe, Some(op), tag, held, fd)
    }

    /// Takes every operation out, for the ring's drop to leak: the kernel
    /// may still use them.
    pub(super) fn leak_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(op) = slot.op.take() {
                std::mem::forget(op);
            }
        }
    }

    /// The same table with every tag `tag`: each operation stays in its
    /// slot (same token).
    pub(super) fn retag<U: Copy>(self, tag: U) -> Table<S, U> {
        Table {
            slots: self
                .slots
                .into_iter()
                .map(|s| Slot {
                    op: s.op.map(|(op, _)| (op, tag)),
                    gen: s.gen,
                    next_free: s.next_free,
                })
                .collect(),
            free_head: self.free_head,
        }
    }
}

/// Takes the buffer `cqe` names from `ring`.
#[cold]
#[inline(never)]
fn hold_buffer(ring: &Rc<BufRing>, cqe: cqueue::Entry) -> Option<Held> {
    let bid = cqe.buffer_id()?;
    let more = cqe.flags().contains(cqueue::Flags::BUF_MORE);
    // SAFETY: this CQE is from the io_uring this table's ring owns, for an
    // operation that selects from `ring`'s group (Operation's contract), and
    // `ring` is registered with that io_uring: the ring refused, at push,
    // any operation whose buffer ring belongs to another (`usable_on`). So
    // the buffer id names a buffer of `ring` that the kernel just handed
    // back.
    let guard = unsafe { ring.take(bid, buffer_len(&cqe), more) }.ok()?;
    let (_, start, _, returns) = guard.into_parts();
    Some(Held {
        ring: ring.clone(),
        start,
        returns: u8::from(returns),
    })
}
