//! Which opcodes the running kernel supports (`IORING_REGISTER_PROBE`,
//! Linux 5.6).
//!
//! The kernel's answer is read as plain bytes, never through rustix's
//! `io_uring_probe`, whose opcode fields are a Rust enum: a kernel newer than
//! rustix's list writes values past its last variant, and reading those
//! through the enum is undefined behaviour.

use rustix::io_uring::IoringRegisterOp;

use crate::{register, Error, Submitter};

/// Most ops the kernel's u8 opcode space can describe.
const MAX_OPS: usize = 256;
/// `struct io_uring_probe` header: last_op u8, ops_len u8, resv u16, resv2 u32[3].
const HEADER: usize = 16;
/// `struct io_uring_probe_op`: op u8, resv u8, flags u16, resv2 u32.
const OP_SIZE: usize = 8;
/// `IO_URING_OP_SUPPORTED`.
const OP_SUPPORTED: u16 = 1;

/// The kernel's opcode support table.
#[derive(Clone)]
pub struct Probe {
    last_op: u8,
    supported: [bool; MAX_OPS],
}

impl Probe {
    /// The highest opcode the kernel knows (`last_op`).
    pub fn last_op(&self) -> u8 {
        self.last_op
    }

    /// Whether `opcode` (an `opcode::*::CODE`) is supported.
    pub fn is_supported(&self, opcode: u8) -> bool {
        self.supported[opcode as usize]
    }

    /// Every supported opcode, ascending.
    pub fn supported(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&op| self.is_supported(op))
    }
}

impl core::fmt::Debug for Probe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Probe")
            .field("last_op", &self.last_op)
            .field("supported", &self.supported().collect::<Vec<_>>())
            .finish()
    }
}

/// Decodes a probe buffer as the kernel fills it.
fn decode(buf: &[u8]) -> Probe {
    let last_op = buf[0];
    let ops_len = usize::from(buf[1]).min((buf.len() - HEADER) / OP_SIZE);
    let mut supported = [false; MAX_OPS];
    for i in 0..ops_len {
        let at = HEADER + i * OP_SIZE;
        let op = buf[at];
        let flags = u16::from_ne_bytes([buf[at + 2], buf[at + 3]]);
        if flags & OP_SUPPORTED != 0 {
            supported[usize::from(op)] = true;
        }
    }
    Probe { last_op, supported }
}

impl Submitter<'_> {
    /// Asks the kernel which opcodes it supports.
    pub fn probe(&self) -> Result<Probe, Error> {
        // u64 storage for the struct's 8-byte-aligned fields; zeroed as the
        // kernel requires.
        let mut storage = vec![0u64; (HEADER + MAX_OPS * OP_SIZE) / 8];
        // SAFETY: a zeroed io_uring_probe with room for MAX_OPS ops (the
        // nr_args we pass); the kernel writes into it, so it is a live,
        // writable allocation despite the `*const` parameter.
        unsafe {
            register::call(
                self.fd,
                IoringRegisterOp::RegisterProbe,
                "IORING_REGISTER_PROBE",
                storage.as_mut_ptr().cast(),
                MAX_OPS as u32,
            )
        }?;
        let bytes: Vec<u8> = storage.iter().flat_map(|w| w.to_ne_bytes()).collect();
        Ok(decode(&bytes))
    }
}

impl<S: crate::squeue::EntryMarker, C: crate::cqueue::EntryMarker> crate::IoUring<S, C> {
    /// Asks the kernel which opcodes it supports; see [`Submitter::probe`].
    pub fn probe(&self) -> Result<Probe, Error> {
        self.submitter().probe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_opcodes_past_rustix_enum() {
        let mut buf = vec![0u8; HEADER + 3 * OP_SIZE];
        buf[0] = 250; // a last_op no Rust enum of ours names
        buf[1] = 3;
        for (i, (op, flags)) in [(0u8, 1u16), (62, 1), (250, 0)].iter().enumerate() {
            let at = HEADER + i * OP_SIZE;
            buf[at] = *op;
            buf[at + 2..at + 4].copy_from_slice(&flags.to_ne_bytes());
        }
        let p = decode(&buf);
        assert_eq!(p.last_op(), 250);
        assert!(p.is_supported(0));
        assert!(p.is_supported(62));
        assert!(!p.is_supported(250));
        assert_eq!(p.supported().collect::<Vec<_>>(), vec![0, 62]);
    }

    #[test]
    fn ops_len_is_clamped_to_the_buffer() {
        let mut buf = vec![0u8; HEADER + OP_SIZE];
        buf[1] = 200;
        buf[HEADER + 2] = 1;
        let p = decode(&buf);
        assert_eq!(p.supported().collect::<Vec<_>>(), vec![0]);
    }
}
