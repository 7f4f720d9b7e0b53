//! The safe tier: operations that own everything the kernel touches.
//!
//! An [`Operation`] is pushed *by value* into a [`Ring`]; the ring keeps it
//! (buffers, timespecs, sockaddrs, buffer-ring handles) until the
//! operation's final completion and then hands it back inside the
//! [`Completion`]. Safe code therefore cannot free, move or reuse memory the
//! kernel may still use:
//!
//! - single-shot operations are released at their completion;
//! - multishot operations (accept, receive, timeout) and zero-copy sends are
//!   released at the completion without `IORING_CQE_F_MORE` (for `SendZc`
//!   that is the `NOTIF` one);
//! - buffers a receive picked from a [`BufRing`] come back as [`OwnedBuf`]s,
//!   which keep the ring alive and return the buffer on drop;
//! - in a linked chain every operation is released at its own completion (a
//!   link timeout's timespec lives in the [`op::LinkTimeout`] operation).
//!
//! Dropping a [`Ring`] with operations in flight cancels them all
//! (`IORING_ASYNC_CANCEL_ANY | ALL`), reaps until every one has completed,
//! and only then frees them and unmaps the ring. If that does not finish
//! within [`Ring::set_drop_timeout`] (default 1 s), the remaining operations
//! are **leaked**, never freed: the kernel may still write to them.
//!
//! ## Descriptors and ring-bound resources
//!
//! The safe tier is sound for descriptors too (std's I/O safety): an
//! operation holds a share of the file it acts on, a [`SharedFd`] or a
//! [`FixedFile`] (a registered slot), until its final completion, so no
//! safe code can close the descriptor (or empty the slot) and have the
//! kernel act on whatever file gets the number next. Constructors take
//! `impl Into<`[`Target`]`>`: `&shared`, or a `File`/socket by value; a
//! borrowed `&File` or a bare number does not compile.
//!
//! Buffer rings, fixed-buffer pools and registered-file tables record the
//! ring they were registered with ([`RingId`]); pushing an
//! operation that uses one on another ring is refused with
//! [`PushError::WrongRing`].
//!
//! Completions find their operation by the token in `user_data`. Tokens
//! are never 0 and never have bit 63 set ([`Token`]); the raw tier's push
//! contract forbids other values on a ring the safe tier wraps, so no
//! completion can release an operation the kernel still uses.
//!
//! The operations are in [`op`] (`op::Read`, `op::Send`, ...: the module
//! keeps their short names from clashing with `std::io::Read` or the
//! `Send` trait). Besides single buffers (or [`Slice`]s of them) they own
//! iovec arrays ([`op::Readv`], [`op::Writev`]), socket addresses
//! ([`op::Connect`], [`op::AcceptPeer`]), message headers ([`op::SendMsg`],
//! [`op::RecvMsg`]), paths ([`op::Open`], [`op::Unlink`], [`op::Mkdir`]) and
//! registered buffers ([`FixedBufs`], [`op::ReadFixed`], [`op::WriteFixed`]).
//! Descriptors an operation creates come back owned
//! ([`Completion::take_fd`]: [`op::Accept`], [`op::Open`], [`op::Socket`]).
//!
//! Messages from other rings ([`op::MsgRing`] to a [`RingHandle`]) arrive as
//! completions without an operation; [`Completion::message`] reads them.
//! Their `user_data` always has bit 63 set, so they never release an
//! operation.
//!
//! `CQE_SKIP_SUCCESS` is not offered here: an operation whose completion is
//! skipped could never be handed back.
//!
//! ## Two ways to store operations
//!
//! [`Ring`] (that is, `Ring<Box<dyn Operation>>`) takes any mix of
//! operations and boxes each one; [`Completion::take_op`] downcasts it back.
//! A ring of one type, `Ring<O>` made with [`Ring::typed`], stores `O`
//! inline with static dispatch: no allocation, no virtual call. `O` is
//! usually an enum of the operations a program uses, with an `Operation`
//! impl that forwards to each variant (`From` impls let `push` take the
//! variants directly):
//!
//! ```
//! use ring_core::owned::{op, Ring};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut ring = Ring::<op::Nop>::typed(8)?;
//! for _ in 0..4 {
//!     ring.push(op::Nop)?;
//! }
//! ring.submit_and_wait(4)?;
//! let done: Vec<op::Nop> = ring.completions().filter_map(|mut c| c.take_op()).collect();
//! assert_eq!(done.len(), 4);
//! # Ok(()) }
//! ```
//!
//! ```
//! use ring_core::owned::{op, Ring, SharedFd};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
//! let mut ring = Ring::new(8)?;
//! let token = ring.push(op::Read::new(&file, vec![0u8; 64]))?;
//! ring.submit_and_wait(1)?;
//! let mut done = ring.completions().next().expect("one completion");
//! assert_eq!(done.token(), token);
//! let n = done.result()? as usize;
//! let read: op::Read = done.take_op().expect("the Read comes back");
//! assert!(read.into_buf()[..n].iter().any(|&b| b == b' '));
//! # Ok(()) }
//! ```
//!
//! Freeing a buffer the kernel may write does not compile: the buffer moved
//! into the operation.
//!
//! ```compile_fail
//! use ring_core::owned::{op::Read, Ring};
//! let file = ring_core::owned::SharedFd::new(std::fs::File::open("/dev/zero").unwrap());
//! let mut ring = Ring::new(8).unwrap();
//! let buf = vec![0u8; 4096];
//! ring.push(Read::new(&file, buf)).unwrap();
//! drop(buf); // error[E0382]: use of moved value: `buf`
//! ```
//!
//! An operation cannot borrow a local either: buffers must be owned
//! (`'static`) heap memory.
//!
//! ```compile_fail
//! use ring_core::owned::{op::Read, Ring};
//! let file = ring_core::owned::SharedFd::new(std::fs::File::open("/dev/zero").unwrap());
//! let mut ring = Ring::new(8).unwrap();
//! let mut local = [0u8; 64];
//! ring.push(Read::new(&file, &mut local[..])).unwrap(); // not an owned buffer
//! ```

use std::any::Any;
use std::rc::Rc;

use crate::buf_ring::BufRing;
use crate::{squeue, RingId};

#[macro_use]
mod decl;

mod alloc;
mod buf;
mod completion;
mod epoll;
mod fd;
mod fixed;
mod fixed_vec;
mod fs;
mod futex;
mod install;
mod msg;
mod net;
mod ops;
mod path;
mod pipe;
mod poll;
mod process;
mod provided;
mod read_multi;
mod ring;
mod socket;
mod sync;
mod table;
mod xattr;

pub use buf::{IoBuf, Slice};
pub use completion::{Completion, OwnedBuf};
pub use fd::{Files, FixedFile, SharedFd, Target};
pub use fixed::{FixedBuf, FixedBufs};
pub use msg::{Message, RingHandle};
pub use provided::ProvidedBufs;
pub use ring::{Completions, Pusher, Ring};

/// The operations, by name: `op::Read`, `op::Send`, `op::Write`, ...
///
/// They live in their own module so that their short names never clash
/// with the `Send` trait or `std::io::{Read, Write}`: import the module,
/// not the operations.
///
/// ```
/// use ring_core::owned::{op, Ring, SharedFd};
/// use std::io::Read; // no clash with op::Read
/// # fn main() -> std::io::Result<()> {
/// let file = SharedFd::new(std::fs::File::open("/proc/self/stat")?);
/// let mut ring = Ring::new(8)?;
/// ring.push(op::Read::new(&file, vec![0u8; 64]))?;
/// ring.submit_and_wait(1)?;
/// assert!(ring.completions().next().expect("one completion").result()? > 0);
/// let mut again = String::new();
/// std::fs::File::open("/proc/self/stat")?.read_to_string(&mut again)?;
/// fn is_send<T: Send>(_: &T) {} // the trait, not op::Send
/// is_send(&again);
/// # Ok(()) }
/// ```
pub mod op {
    pub use super::epoll::{EpollCtl, EpollWait};
    pub use super::fixed::{ReadFixed, WriteFixed};
    pub use super::fixed_vec::{ReadvFixed, WritevFixed};
    pub use super::fs::{Mkdir, Open, Readv, Unlink, Writev};
    pub use super::futex::{FutexWait, FutexWaitv, FutexWake};
    pub use super::install::InstallFixed;
    pub use super::msg::MsgRing;
    pub use super::net::{AcceptPeer, Connect, RecvMsg, SendMsg};
    pub use super::ops::{
        Accept, AsyncCancel, Close, LinkTimeout, Nop, Read, Recv, RecvMulti, Send, SendZc,
        Shutdown, Timeout, Write,
    };
    pub use super::path::{Link, Open2, Rename, Statx, Symlink};
    pub use super::pipe::{Pipe, Splice, Tee};
    pub use super::poll::{PollAdd, PollRemove, TimeoutRemove};
    pub use super::process::Waitid;
    pub use super::provided::{ProvideBuffers, RemoveBuffers};
    pub use super::read_multi::ReadMulti;
    pub use super::socket::{Bind, Listen, SendMsgZc, Socket};
    pub use super::sync::{Fadvise, Fallocate, Fsync, Ftruncate, SyncFileRange};
    pub use super::xattr::{GetXattr, SetXattr};
}

/// An operation that owns every resource the kernel will touch.
///
/// # Safety
///
/// `entry` must return an entry whose pointers point only into memory owned
/// by `self` that does not move when `self` is moved (heap allocations:
/// `Vec`, `Box`), and that `self` keeps unchanged until it is dropped or
/// handed back.
///
/// Every descriptor or registered-file index the entry names must be one
/// that `self` owns or shares (a [`Target`], an `OwnedFd`) and keeps open
/// (filled) until it is dropped or handed back; never a number copied from
/// a borrow.
///
/// Buffer-select entries must name the group of the [`BufRing`] returned
/// by `buf_ring`. If the entry names any ring-bound resource (a buffer
/// group, a fixed buffer, a registered-file slot), `usable_on` must return
/// false for every ring other than the one that resource is registered
/// with.
///
/// The entry must not set `CQE_SKIP_SUCCESS`. A completion it posts to a
/// ring (`MSG_RING`) must go to an owned [`Ring`] whose fd `self` keeps
/// open, carry a `user_data` with bit 63 set (never a [`Token`]) and no
/// flags, and install no descriptor. If `result_is_fd` returns
/// true, every non-negative result of the operation's completions must be
/// a new file descriptor that nothing else owns (not a direct descriptor).
pub unsafe trait Operation: Any {
    /// The entry to submit (called once, when pushed, on the value the
    /// ring then keeps).
    fn entry(&mut self) -> squeue::Entry;

    /// The buffer ring this operation selects from, if any.
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        None
    }

    /// Whether a non-negative result is a new file descriptor, which the
    /// completion then owns ([`Completion::take_fd`]).
    fn result_is_fd(&self) -> bool {
        false
    }

    /// Whether every ring-bound resource this operation uses (registered
    /// file, buffer ring, fixed buffer) belongs to ring `ring`. The ring
    /// refuses the operation otherwise.
    fn usable_on(&self, ring: RingId) -> bool {
        let _ = ring;
        true
    }
}

/// What a [`Ring`] keeps per operation: one [`Operation`] type `O`
/// (statically dispatched, stored inline) or `Box<dyn Operation>` (any
/// operation). Sealed: those are the only two kinds.
pub trait Store: sealed::Sealed + 'static {
    /// The entry to submit; see [`Operation::entry`].
    fn entry(&mut self) -> squeue::Entry;
    /// The buffer ring; see [`Operation::buf_ring`].
    fn buf_ring(&self) -> Option<&Rc<BufRing>>;
    /// See [`Operation::result_is_fd`].
    fn result_is_fd(&self) -> bool;
    /// See [`Operation::usable_on`].
    fn usable_on(&self, ring: RingId) -> bool;
    /// [`usable_on`](Self::usable_on) asked again of the value a push
    /// converted (`Into<Self>`) from the operation it checked: a typed
    /// ring's `From` impls may be the user's own, and one may return
    /// another operation than the one it was given.
    fn converted_usable_on(&self, ring: RingId) -> bool;
    /// Whether this is the boxed kind: the table then keeps the answer of
    /// `result_is_fd` from the push ([`prepare`](Self::prepare)). A typed
    /// ring's completions ask `result_is_fd` again: an inlined match,
    /// where reading a kept answer instead cost a typed NOP 30
    /// instructions (measured).
    const BOXED: bool;
    /// Converts `op` into the ring's type with `convert` (which must hand
    /// over `op` itself for a boxed ring, as the blanket `From` does) and
    /// builds its entry; with the answer of `result_is_fd`, asked once,
    /// here. A typed ring asks the converted value (a `From` impl may be
    /// the user's); a boxed ring asks `op` itself before boxing it, so both
    /// calls are static, not virtual. Either way the entry's pointers stay
    /// valid as the value moves into the table (`Operation`'s contract).
    fn prepare<O: Operation>(
        op: O,
        convert: &mut impl FnMut(O) -> Self,
    ) -> (Self, squeue::Entry, bool)
    where
        Self: Sized;
}

mod sealed {
    pub trait Sealed {}
    impl<O: super::Operation> Sealed for O {}
    impl Sealed for Box<dyn super::Operation> {}
}

impl<O: Operation> Store for O {
    const BOXED: bool = false;
    #[inline(always)]
    fn entry(&mut self) -> squeue::Entry {
        Operation::entry(self)
    }
    #[inline(always)]
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        Operation::buf_ring(self)
    }
    #[inline(always)]
    fn result_is_fd(&self) -> bool {
        Operation::result_is_fd(self)
    }
    #[inline(always)]
    fn usable_on(&self, ring: RingId) -> bool {
        Operation::usable_on(self, ring)
    }
    #[inline(always)]
    fn converted_usable_on(&self, ring: RingId) -> bool {
        Operation::usable_on(self, ring)
    }
    #[inline(always)]
    fn prepare<P: Operation>(
        op: P,
        convert: &mut impl FnMut(P) -> Self,
    ) -> (Self, squeue::Entry, bool) {
        let mut op = convert(op);
        let entry = Operation::entry(&mut op);
        let is_fd = Operation::result_is_fd(&op);
        (op, entry, is_fd)
    }
}

impl Store for Box<dyn Operation> {
    const BOXED: bool = true;
    #[inline]
    fn entry(&mut self) -> squeue::Entry {
        (**self).entry()
    }
    #[inline]
    fn buf_ring(&self) -> Option<&Rc<BufRing>> {
        (**self).buf_ring()
    }
    #[inline]
    fn result_is_fd(&self) -> bool {
        (**self).result_is_fd()
    }
    #[inline]
    fn usable_on(&self, ring: RingId) -> bool {
        (**self).usable_on(ring)
    }
    #[inline(always)]
    fn converted_usable_on(&self, _ring: RingId) -> bool {
        // The one conversion of an `Operation` into `Box<dyn Operation>` is
        // the blanket `From` below (coherence rules out any other for a
        // type that is an `Operation`): it boxes the value already checked.
        true
    }
    #[inline(always)]
    fn prepare<O: Operation>(
        mut op: O,
        convert: &mut impl FnMut(O) -> Self,
    ) -> (Self, squeue::Entry, bool) {
        // Asked of `op` before it is boxed: `convert` hands over `op`
        // itself (the blanket `From`, or the runtime's pool), so these are
        // the boxed value's answers, without two virtual calls and the
        // entry's copy out of one.
        let entry = op.entry();
        let is_fd = op.result_is_fd();
        (convert(op), entry, is_fd)
    }
}

impl<T: Operation> From<T> for Box<dyn Operation> {
    #[inline]
    fn from(op: T) -> Self {
        Box::new(op)
    }
}

/// Unboxes an operation as a `T` without asking its type at run time (a
/// virtual `type_id` call and a compare in [`Completion::take_op`]); the
/// type is checked in debug builds.
///
/// # Safety
///
/// `op` must be a `T`.
#[inline(always)]
pub(crate) unsafe fn unbox_unchecked<T: Operation>(op: Box<dyn Operation>) -> T {
    debug_assert_is::<T>(&*op);
    let raw: *mut T = Box::into_raw(op).cast::<T>();
    // SAFETY: the caller guarantees that `op` is a `T`, so the box was made
    // as a `Box<T>` and unsized (the one conversion of an operation into
    // `Box<dyn Operation>` is the `From` impl above, `Box::new`): its
    // allocation has `T`'s layout. `into_raw` gave up its ownership, which
    // `from_raw` takes back exactly once.
    *unsafe { Box::from_raw(raw) }
}

/// In debug builds, checks that `op` is a `T`, for the unchecked unboxes
/// (this module's [`unbox_unchecked`], the rt driver's pool): their
/// callers promise it, and a broken promise would read one type as
/// another.
#[inline(always)]
pub(crate) fn debug_assert_is<T: Operation>(op: &dyn Operation) {
    debug_assert_eq!(
        {
            let any: &dyn Any = op;
            any.type_id()
        },
        std::any::TypeId::of::<T>(),
        "an unchecked unbox of an operation that is not a T"
    );
}

/// Identifies a pushed operation; every completion carries it.
///
/// A token is the operation's slot index in the low 32 bits and the slot's
/// generation in the high 32; generations are the odd numbers from 1 to
/// 2^31 - 1 (2^30 of them per slot before one comes back), so a token is
/// never 0 (the `user_data` of an entry that did not set one) and
/// never has bit 63 set. Values outside that range never name an operation:
/// they are free for the raw tier's own entries on a wrapped ring (see
/// [`SubmissionQueue::push`](crate::squeue::SubmissionQueue::push)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token(u64);

/// The first generation of a slot.
pub(crate) const FIRST_GEN: u32 = 1;

/// The generation after `gen`: the next odd number, from 2^31 - 1 back to
/// [`FIRST_GEN`], so that a generation is never 0 and bit 31 (bit 63 of the
/// token) is never set. Steps of 2 with a mask are two instructions where
/// steps of 1 with a compare were four (measured, issue #18), for half as
/// many generations before one comes back.
#[inline(always)]
pub(crate) const fn next_gen(gen: u32) -> u32 {
    gen.wrapping_add(2) & 0x7fff_ffff
}

impl Token {
    #[inline(always)]
    fn new(index: u32, gen: u32) -> Self {
        Token((u64::from(gen) << 32) | u64::from(index))
    }
    #[inline(always)]
    fn index(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
    #[inline(always)]
    fn gen(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// The raw value, as it travels in `user_data`.
    pub fn raw(self) -> u64 {
        self.0
    }
    /// A small index, unique among the ring's operations in flight and
    /// reused after this one's final completion: dense from 0, so a caller
    /// can keep per-operation state in a `Vec` indexed by it (multishot
    /// completions do not carry their operation; this says which it is).
    pub fn slot(self) -> usize {
        self.index()
    }
}

/// Why a push did not go in; the operation comes back unchanged.
#[derive(Debug)]
pub enum PushError<T> {
    /// The submission queue is full (submit, reap, and push again).
    Full(T),
    /// The operation uses a resource (registered file, buffer ring, fixed
    /// buffer) of another ring: it would name something else here.
    WrongRing(T),
}

impl<T> PushError<T> {
    /// The operation back.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(op) | PushError::WrongRing(op) => op,
        }
    }

    /// The same error around another value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> PushError<U> {
        match self {
            PushError::Full(op) => PushError::Full(f(op)),
            PushError::WrongRing(op) => PushError::WrongRing(f(op)),
        }
    }
}

impl<T> std::fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushError::Full(_) => "submission queue is full",
            PushError::WrongRing(_) => "operation uses a resource registered with another ring",
        })
    }
}

impl<T: std::fmt::Debug> std::error::Error for PushError<T> {}

/// For `?` in functions returning `std::io::Result`: a full queue is
/// `WouldBlock`, a resource of another ring `InvalidInput`. The operation
/// is dropped.
impl<T> From<PushError<T>> for std::io::Error {
    fn from(e: PushError<T>) -> Self {
        let kind = match e {
            PushError::Full(_) => std::io::ErrorKind::WouldBlock,
            PushError::WrongRing(_) => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, e.to_string())
    }
}

/// Declares an enum of operations for a typed [`Ring`]: the enum, an
/// [`Operation`] impl that forwards to each variant, and a `From` impl per
/// variant (so `push` takes the variants directly). No `unsafe` in the
/// caller: each variant's own impl carries the contract. Each variant type
/// must appear once.
///
/// ```
/// use ring_core::owned::{op, Ring};
/// ring_core::operations! {
///     /// What this program puts in flight.
///     pub enum Op {
///         Nop(op::Nop),
///         Read(op::Read),
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let file = ring_core::owned::SharedFd::new(std::fs::File::open("/proc/self/stat")?);
/// let mut ring = Ring::<Op>::typed(8)?;
/// ring.push(op::Nop)?;
/// ring.push(op::Read::new(&file, vec![0u8; 16]))?;
/// ring.submit_and_wait(2)?;
/// for mut c in ring.completions() {
///     match c.take_op() {
///         Some(Op::Read(r)) => assert_eq!(r.into_buf().len(), 16),
///         Some(Op::Nop(_)) => {}
///         None => unreachable!("single-shot operations complete once"),
///     }
/// }
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! operations {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
        }

        // SAFETY: forwards to each variant's own `Operation` impl, whose
        // contract covers the entry it builds; the enum owns the variant, so
        // the memory the entry points to lives and stays put as long as the
        // enum value does.
        unsafe impl $crate::owned::Operation for $name {
            #[inline(always)]
            fn entry(&mut self) -> $crate::squeue::Entry {
                match self {
                    $( $name::$variant(op) => $crate::owned::Operation::entry(op), )+
                }
            }
            #[inline(always)]
            fn buf_ring(&self) -> ::core::option::Option<&::std::rc::Rc<$crate::buf_ring::BufRing>> {
                match self {
                    $( $name::$variant(op) => $crate::owned::Operation::buf_ring(op), )+
                }
            }
            #[inline(always)]
            fn result_is_fd(&self) -> bool {
                match self {
                    $( $name::$variant(op) => $crate::owned::Operation::result_is_fd(op), )+
                }
            }
            #[inline(always)]
            fn usable_on(&self, ring: $crate::RingId) -> bool {
                match self {
                    $( $name::$variant(op) => $crate::owned::Operation::usable_on(op, ring), )+
                }
            }
        }

        $(
            impl ::core::convert::From<$ty> for $name {
                #[inline(always)]
                fn from(op: $ty) -> Self {
                    $name::$variant(op)
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::{next_gen, Token, FIRST_GEN};

    /// Generations are odd and wrap from 2^31 - 1 back to the first, so no
    /// token is 0 or has bit 63 set, however often a slot is reused.
    #[test]
    fn tokens_stay_out_of_the_raw_range() {
        assert_eq!(next_gen(FIRST_GEN), FIRST_GEN + 2);
        assert_eq!(next_gen(0x7fff_fffd), 0x7fff_ffff);
        assert_eq!(next_gen(0x7fff_ffff), FIRST_GEN);
        // From a generation a slot can have (odd, below 2^31) to another.
        for gen in [
            FIRST_GEN,
            3,
            0x1234_5679,
            0x7fff_fffb,
            0x7fff_fffd,
            0x7fff_ffff,
        ] {
            let next = next_gen(gen);
            assert!(next % 2 == 1 && next < 1 << 31, "{gen:#x} -> {next:#x}");
        }
        for gen in [FIRST_GEN, 3, 0x7fff_ffff, next_gen(0x7fff_ffff)] {
            for index in [0, 1, u32::MAX] {
                let t = Token::new(index, gen);
                assert_ne!(t.raw(), 0);
                assert_eq!(t.raw() >> 63, 0);
            }
        }
    }
}
