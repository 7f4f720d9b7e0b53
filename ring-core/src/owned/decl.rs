//! How the safe tier declares an operation that acts on a file through
//! owned buffers: one macro, [`owned_op!`], used by every such operation
//! (`ops.rs`, `fs.rs`, `fixed.rs`). It writes the struct, `new`, the getters
//! and, for file operations, the offset; each operation's `Operation` impl
//! (its `entry`, the one place its `unsafe` contract is argued) is written
//! out by hand below its declaration.
//!
//! Operations without a buffer (accept, connect, shutdown, ...) are plain
//! structs with the same getters written by hand.

/// Declares an operation on a [`Target`](super::Target) that owns its
/// buffer(s):
///
/// ```text
/// owned_op! {
///     /// Docs of the struct.
///     pub struct Read<B: IoBuf = Vec<u8>> {
///         buf: Slice<B> => into_buf() -> B,  // stored: its type => how the user gets it back
///         offset: u64,         // optional: a file offset (`at`, `offset()`)
///     }
///     new: "Docs of `new`."
/// }
/// ```
///
/// Generates `new(fd, buf)` (the buffer argument takes anything that is
/// `Into` the stored type), `target()`, a getter named after the field (a
/// reference to what is stored), the named `into_...` (what the user gets
/// back: all of the buffer),
/// and with `offset`: `at(offset)` to set it and `offset()` to read it.
/// Hidden fields (`hidden iov: Iovecs,`, written after `offset`) start
/// at `Default::default()` and have no getter.
macro_rules! owned_op {
    (
        $(#[$doc:meta])*
        pub struct $name:ident $(<$g:ident: $bound:ident = $def:ty>)? {
            $field:ident: $fty:ty => $into:ident() -> $back:ty,
            $(offset: $oty:ty,)?
            $(hidden $hid:ident: $hty:ty,)*
        }
        new: $new_doc:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name $(<$g: $bound = $def>)? {
            target: $crate::owned::Target,
            $field: $fty,
            $(offset: $oty,)?
            $($hid: $hty,)*
        }

        impl $(<$g: $bound>)? $name $(<$g>)? {
            #[doc = $new_doc]
            pub fn new(
                fd: impl Into<$crate::owned::Target>,
                $field: impl Into<$fty>,
            ) -> Self {
                $name {
                    target: fd.into(),
                    $field: $field.into(),
                    $(offset: <$oty>::default(),)?
                    $($hid: Default::default(),)*
                }
            }

            /// The file it acts on.
            pub fn target(&self) -> &$crate::owned::Target {
                &self.target
            }

            /// The buffer it owns.
            pub fn $field(&self) -> &$fty {
                &self.$field
            }

            /// The buffer back (all of it, also when the operation was given
            /// a slice of it).
            pub fn $into(self) -> $back {
                $crate::owned::buf::Whole::whole(self.$field)
            }

            $(
                /// Sets the file offset (default 0; `u64::MAX`: the current
                /// position, advanced by the operation).
                pub fn at(mut self, offset: $oty) -> Self {
                    self.offset = offset;
                    self
                }

                /// The file offset.
                pub fn offset(&self) -> $oty {
                    self.offset
                }
            )?
        }
    };
}
