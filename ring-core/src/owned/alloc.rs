//! Zeroed byte blocks whose sizes come from the caller, allocated so that
//! a size the allocator cannot give is an error, not an abort.

use std::alloc::{self, Layout};

use crate::Error;

/// A zeroed block of `len` bytes for `what`, or [`Error::Alloc`] if the
/// allocator refuses it. Like `vec![0u8; len]` the memory comes zeroed
/// from the allocator (large blocks as untouched pages), so asking costs
/// no writes.
pub(crate) fn zeroed(what: &'static str, len: usize) -> Result<Box<[u8]>, Error> {
    let failed = || Error::Alloc { what, bytes: len };
    if len == 0 {
        return Ok(Box::default());
    }
    let layout = Layout::array::<u8>(len).map_err(|_| failed())?;
    // SAFETY: `layout` has a non-zero size (`len > 0`).
    let ptr = unsafe { alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(failed());
    }
    // SAFETY: `ptr` is a live allocation of the global allocator with
    // `layout`, which is the layout of a `[u8]` of `len` bytes, so a
    // `Box<[u8]>` of `len` may own and later free it; its bytes are
    // initialized (zeroed).
    Ok(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) })
}

#[cfg(test)]
mod tests {
    use super::zeroed;
    use crate::Error;

    #[test]
    fn gives_zeroed_blocks_of_the_size_asked() {
        let b = zeroed("test", 5000).unwrap();
        assert_eq!(b.len(), 5000);
        assert!(b.iter().all(|&x| x == 0));
        assert!(zeroed("test", 0).unwrap().is_empty());
    }

    #[test]
    fn a_size_no_allocator_can_give_is_an_error() {
        // More than `isize::MAX`: no layout exists.
        let err = zeroed("test", usize::MAX).unwrap_err();
        assert!(matches!(
            err,
            Error::Alloc {
                bytes: usize::MAX,
                ..
            }
        ));
        // A layout exists, but no machine has the memory (1 PiB).
        assert!(matches!(zeroed("test", 1 << 50), Err(Error::Alloc { .. })));
    }
}
