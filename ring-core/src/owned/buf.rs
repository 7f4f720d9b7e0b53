//! Owned buffers the safe tier hands to the kernel: the [`IoBuf`] contract
//! and [`Slice`], a range of one that gives the whole buffer back.
//!
//! Invariant owned here: a buffer's pointer and length, as the operation
//! reports them, stay valid and unchanged while the buffer is moved, and
//! a [`Slice`]'s range always lies inside its buffer (checked when the slice
//! is made).

use std::ops::{Bound, RangeBounds};

/// Owned heap memory an operation may hand to the kernel: its address and
/// length do not change while the value is moved.
///
/// Anything that is an `IoBuf` can be given to an operation whole or as a
/// [`Slice`] ([`slice`](Self::slice)); either way the operation gives the
/// whole buffer back.
///
/// # Safety
///
/// `stable_ptr` must point to `bytes_total()` bytes owned by `self`, at an
/// address that does not change when `self` is moved, and nothing but `self`
/// may access them; `bytes_total` must not change while the kernel may use
/// them (between a push and the operation's final completion the operation
/// owns the buffer, so no safe code can change it).
pub unsafe trait IoBuf: 'static {
    /// The start of the memory.
    fn stable_ptr(&mut self) -> *mut u8;
    /// Its length in bytes.
    fn bytes_total(&self) -> usize;

    /// The bytes `range` of this buffer, for an operation that should use
    /// only those (the rest of a short write: `buf.slice(n..)`). The
    /// operation gives back the whole buffer.
    ///
    /// # Panics
    ///
    /// If the range does not lie inside `0..bytes_total()` (as slicing a
    /// `[u8]` does).
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let total = self.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => total,
        };
        assert!(
            begin <= end && end <= total,
            "slice {begin}..{end} out of a buffer of {total} bytes"
        );
        Slice {
            buf: self,
            begin,
            end,
        }
    }
}

// SAFETY: a Vec's heap buffer does not move when the Vec is moved; its
// initialised length is what we report.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: as for Vec.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

/// A range of an owned buffer ([`IoBuf::slice`]): what an operation stores
/// for its buffer. Operations take a buffer or a slice of one (anything
/// `Into<Slice<B>>`) and give back the whole buffer.
///
/// ```
/// use ring_core::owned::{IoBuf, Slice};
/// let s = b"hello world".to_vec().slice(6..);
/// assert_eq!(&*s, b"world");
/// assert_eq!((s.begin(), s.end()), (6, 11));
/// assert_eq!(s.into_inner(), b"hello world");
/// ```
#[derive(Debug)]
pub struct Slice<B> {
    buf: B,
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    /// Where the range starts in the buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// Where the range ends (exclusive).
    pub fn end(&self) -> usize {
        self.end
    }

    /// The length of the range.
    pub fn len(&self) -> usize {
        self.end - self.begin
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.begin == self.end
    }

    /// The whole buffer.
    pub fn get_ref(&self) -> &B {
        &self.buf
    }

    /// The whole buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// The start of the range, for the entry (valid while `self` lives;
    /// it does not move when `self` moves).
    #[inline]
    pub(super) fn ptr(&mut self) -> *mut u8 {
        // `begin <= bytes_total()` (checked when made), so this stays
        // inside the allocation or one past its end.
        self.buf.stable_ptr().wrapping_add(self.begin)
    }

    /// The length of the range for the entry's 32-bit length field
    /// (saturating: the kernel never transfers more than `i32::MAX` at
    /// once anyway).
    #[inline]
    pub(super) fn len32(&self) -> u32 {
        u32::try_from(self.len()).unwrap_or(u32::MAX)
    }
}

/// A whole buffer as a slice of itself.
impl<B: IoBuf> From<B> for Slice<B> {
    #[inline]
    fn from(buf: B) -> Self {
        let end = buf.bytes_total();
        Slice { buf, begin: 0, end }
    }
}

/// The bytes of the range.
impl<B: IoBuf + AsRef<[u8]>> std::ops::Deref for Slice<B> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf.as_ref()[self.begin..self.end]
    }
}

/// What an operation stores for its buffer, turned back into what the
/// user gave it: the whole buffer of a [`Slice`], or the stored value as
/// it is (used by `owned_op!`'s `into_...`).
pub(super) trait Whole {
    /// What the user gets back.
    type Out;
    /// It.
    fn whole(self) -> Self::Out;
}

impl<B: IoBuf> Whole for Slice<B> {
    type Out = B;
    #[inline]
    fn whole(self) -> B {
        self.buf
    }
}

impl<B: IoBuf> Whole for Vec<B> {
    type Out = Vec<B>;
    #[inline]
    fn whole(self) -> Vec<B> {
        self
    }
}

impl Whole for super::FixedBuf {
    type Out = super::FixedBuf;
    #[inline]
    fn whole(self) -> Self {
        self
    }
}

/// The iovec array of a vectored operation, pointing into its buffers:
/// built when the entry is, from buffers that never move, and kept (boxed,
/// so it does not move either) until the operation is handed back.
#[derive(Default)]
pub(super) struct Iovecs(Box<[rustix::io_uring::iovec]>);

impl Iovecs {
    /// An array describing `bufs`, in order.
    pub(super) fn over<B: IoBuf>(bufs: &mut [B]) -> Self {
        Iovecs(
            bufs.iter_mut()
                .map(|b| rustix::io_uring::iovec {
                    iov_base: b.stable_ptr().cast(),
                    iov_len: b.bytes_total(),
                })
                .collect(),
        )
    }

    pub(super) fn ptr(&mut self) -> *mut rustix::io_uring::iovec {
        self.0.as_mut_ptr()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn len32(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }
}

impl std::fmt::Debug for Iovecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Iovecs({})", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::IoBuf;

    #[test]
    fn slices_keep_their_range_inside_the_buffer() {
        let s = vec![1u8, 2, 3, 4].slice(1..=2);
        assert_eq!(&*s, &[2, 3]);
        assert_eq!(s.len32(), 2);
        let whole: super::Slice<Vec<u8>> = vec![7u8; 3].into();
        assert_eq!((whole.begin(), whole.end()), (0, 3));
        assert!(vec![0u8; 2].slice(2..).is_empty());
    }

    #[test]
    #[should_panic(expected = "out of a buffer of 4 bytes")]
    fn a_slice_past_the_end_is_refused() {
        let _ = vec![0u8; 4].slice(2..5);
    }
}
