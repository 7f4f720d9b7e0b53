//! Every public error of the raw tier converts into `std::io::Error` (so `?`
//! works in a function returning `std::io::Result`), keeps its errno and the
//! name of the failed call, and says each part of its message once.

use std::io::{self, ErrorKind};
use std::time::Duration;

use ring_core::buf_ring::BufError;
use ring_core::squeue::PushError;
use ring_core::{opcode, Errno, IoUring, SubmitError};

/// The ring-core error inside an `io::Error` made by `From`.
fn inner<E: std::error::Error + 'static>(err: &io::Error) -> &E {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<E>())
        .unwrap_or_else(|| panic!("{err:?} does not wrap the expected error type"))
}

/// A NOP pushed, submitted and reaped with nothing but `?` on io::Result.
fn nop_round_trip(user_data: u64) -> io::Result<(u64, i32)> {
    let mut ring = IoUring::new(4)?;
    let nop = opcode::Nop::new().build().user_data(user_data);
    // SAFETY: a NOP points to no memory.
    unsafe { ring.submission().push(&nop)? };
    ring.submit_and_wait(1)?;
    let cqe = ring
        .completion()
        .next()
        .ok_or_else(|| io::Error::other("no completion"))?;
    Ok((cqe.user_data(), cqe.raw_result()))
}

#[test]
fn question_mark_works_in_an_io_result_function() {
    assert_eq!(nop_round_trip(7).unwrap(), (7, 0));
}

#[test]
fn setup_error_keeps_errno_kind_and_says_its_call_once() {
    fn create(entries: u32) -> io::Result<IoUring> {
        Ok(IoUring::new(entries)?)
    }
    // The kernel refuses a ring of zero entries with EINVAL.
    let err = create(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("io_uring_setup failed: {}", Errno::INVAL)
    );
    assert_eq!(err.kind(), Errno::INVAL.kind());
    assert_eq!(inner::<ring_core::Error>(&err).errno(), Some(Errno::INVAL));
}

#[test]
fn refused_setup_flags_are_invalid_arguments_naming_the_flag() {
    // (NO_MMAP is supported now: `no_mmap_rings_live_in_memory_ring_core_provides`.)
    for (bit, name) in [
        (1 << 15, "REGISTERED_FD_ONLY"),
        (1 << 18, "CQE_MIXED"),
        (1 << 19, "SQE_MIXED"),
    ] {
        let err = IoUring::builder().raw_flags(bit).build(8).unwrap_err();
        let ring_core::Error::InvalidArgument(reason) = err else {
            panic!("{name}: {err:?} is not InvalidArgument");
        };
        assert!(reason.contains(name), "{name}: {reason}");
        assert_eq!(err.errno(), None, "{name}: refused before any syscall");
        let io_err = io::Error::from(err);
        assert_eq!(io_err.kind(), ErrorKind::InvalidInput, "{name}");
        assert_eq!(io_err.to_string(), format!("invalid argument: {reason}"));
    }
}

#[test]
fn register_error_names_the_register_op() {
    let ring = IoUring::new(4).unwrap();
    // No file table is registered: the kernel answers ENXIO.
    // SAFETY: a raw ring with no safe-tier file table and no operations.
    let err: io::Error = unsafe { ring.submitter().unregister_files() }
        .unwrap_err()
        .into();
    assert_eq!(
        err.to_string(),
        format!(
            "io_uring_register(IORING_UNREGISTER_FILES) failed: {}",
            Errno::NXIO
        )
    );
    assert_eq!(err.kind(), Errno::NXIO.kind());
    assert_eq!(inner::<ring_core::Error>(&err).errno(), Some(Errno::NXIO));
}

#[test]
fn enter_error_keeps_errno_and_says_io_uring_enter_once() {
    // A ring created disabled refuses to be entered (EBADFD) until it is
    // enabled.
    let mut ring = IoUring::builder().r_disabled().build(4).unwrap();
    let nop = opcode::Nop::new().build();
    // SAFETY: a NOP points to no memory.
    unsafe { ring.submission().push(&nop).unwrap() };
    let submit_err = ring.submit().unwrap_err();
    let SubmitError::Os(errno) = submit_err else {
        panic!("{submit_err:?} is not an OS error");
    };
    assert_eq!(errno, Errno::BADFD);
    let err = io::Error::from(submit_err);
    assert_eq!(err.to_string(), format!("io_uring_enter failed: {errno}"));
    assert_eq!(err.kind(), errno.kind());
    assert_eq!(*inner::<SubmitError>(&err), SubmitError::Os(errno));
}

#[test]
fn timed_out_wait_converts_to_timed_out_kind() {
    let ring = IoUring::new(4).unwrap();
    let err = ring
        .submitter()
        .submit_and_wait_timeout(1, Duration::from_millis(1))
        .unwrap_err();
    assert_eq!(err, SubmitError::TimedOut);
    let err = io::Error::from(err);
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(err.to_string(), "timed out waiting for completions");
}

#[test]
fn retry_later_errors_convert_to_would_block() {
    let full = io::Error::from(SubmitError::CompletionQueueFull);
    assert_eq!(full.kind(), ErrorKind::WouldBlock);
    assert_eq!(
        full.to_string(),
        "completion queue full: reap completions, then submit again"
    );
    let unsupported = io::Error::from(SubmitError::Unsupported("min_wait"));
    assert_eq!(unsupported.kind(), ErrorKind::Unsupported);
    assert_eq!(
        unsupported.to_string(),
        "the running kernel does not support min_wait"
    );
}

#[test]
fn full_submission_queue_converts_through_question_mark() {
    fn fill(ring: &mut IoUring) -> io::Result<usize> {
        let nop = opcode::Nop::new().build();
        let mut sq = ring.submission();
        let mut pushed = 0;
        for _ in 0..=sq.capacity() {
            // SAFETY: a NOP points to no memory.
            unsafe { sq.push(&nop)? };
            pushed += 1;
        }
        Ok(pushed)
    }
    let mut ring = IoUring::new(2).unwrap();
    let err = fill(&mut ring).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert_eq!(err.to_string(), "submission queue is full");
    assert_eq!(*inner::<PushError>(&err), PushError);
    assert_eq!(ring.submission().len(), 2, "both slots were filled first");
}

#[test]
fn buffer_errors_convert_to_invalid_data() {
    for (e, msg) in [
        (BufError::NoBuffer, "the completion carries no buffer"),
        (BufError::UnknownId(9), "buffer id 9 is not in this ring"),
        (BufError::AlreadyTaken(3), "buffer id 3 is already taken"),
        (
            BufError::BadLength { bid: 1, len: 4097 },
            "length 4097 does not fit buffer 1",
        ),
    ] {
        let err = io::Error::from(e);
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(err.to_string(), msg);
        assert_eq!(*inner::<BufError>(&err), e);
    }
}

/// Pools sized by the caller: a size no allocator can give (1 PiB, 256 TiB:
/// past x86-64's 128 TiB of user address space) is an `OutOfMemory` error,
/// not an abort, and the ring goes on working.
#[test]
fn pools_too_large_to_allocate_are_errors_not_aborts() {
    use ring_core::owned::{FixedBufs, ProvidedBufs};
    let ring = IoUring::new(4).unwrap();
    let err: io::Error = FixedBufs::register(&ring, 2, 1 << 50).unwrap_err().into();
    assert_eq!(err.kind(), ErrorKind::OutOfMemory);
    assert!(err.to_string().contains("fixed buffers"), "{err}");
    let err: io::Error = ProvidedBufs::new(ring.id(), 1, u16::MAX, u32::MAX)
        .unwrap_err()
        .into();
    assert_eq!(err.kind(), ErrorKind::OutOfMemory);
    assert_eq!(inner::<ring_core::Error>(&err).errno(), Some(Errno::NOMEM));
    // Nothing was registered: a pool of sane size registers now.
    assert!(FixedBufs::register(&ring, 2, 4096).is_ok());
}
