//! Copies a file on the safe tier with 16 operations in flight: each of 16
//! buffers goes read → write → read (the next chunk) and so on. Short reads
//! and short writes are finished with a slice of the same buffer
//! (`buf.slice(n..)`), and each operation's tag says which chunk it serves,
//! so the program keeps no table of its own.
//!
//! `cargo run -p ring-core --example cp -- SRC DST`

use std::io;
use std::path::Path;

use ring_core::owned::{op, IoBuf, Ring, SharedFd};

/// Operations in flight at most.
const DEPTH: u64 = 16;
/// Bytes per read and write.
const CHUNK: u64 = 64 * 1024;

ring_core::operations! {
    /// What the copy puts in flight.
    enum Op {
        Read(op::Read),
        Write(op::Write),
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(src), Some(dst)) = (args.next(), args.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: cp SRC DST",
        ));
    };
    let n = copy(Path::new(&src), Path::new(&dst))?;
    println!("copied {n} bytes");
    Ok(())
}

/// Copies `src` to `dst` (created or truncated); returns the bytes copied.
pub fn copy(src: &Path, dst: &Path) -> io::Result<u64> {
    let src = std::fs::File::open(src)?;
    let len = src.metadata()?.len();
    let src = SharedFd::new(src);
    let dst = SharedFd::new(std::fs::File::create(dst)?);
    // Each operation's tag is the offset of the chunk it serves.
    let mut ring: Ring<Op, u64> = Ring::typed_tagged(2 * DEPTH as u32)?;
    let mut next = 0; // the next chunk to read
    let mut in_flight = 0;
    while in_flight < DEPTH && next < len {
        let read = op::Read::new(&src, vec![0u8; chunk_len(next, len)]).at(next);
        ring.push_tagged(read, next)?;
        next += CHUNK;
        in_flight += 1;
    }
    let mut copied = 0;
    let mut failed: Option<io::Error> = None;
    while in_flight > 0 {
        ring.submit_and_wait(1)?;
        ring.drain(|mut c, pusher| {
            in_flight -= 1;
            let chunk = *c.tag();
            let (done, op) = match (c.result(), c.take_op()) {
                (Ok(n), Some(op)) => (n as usize, op),
                (Err(e), _) => {
                    failed = Some(e.into());
                    return;
                }
                (Ok(_), None) => unreachable!("single-shot operations come back"),
            };
            let follow_up = match op {
                Op::Read(read) => {
                    let (start, end) = (read.buf().begin(), read.buf().end());
                    let buf = read.into_buf();
                    if done == 0 {
                        failed = Some(io::ErrorKind::UnexpectedEof.into());
                        return;
                    }
                    if start + done < end {
                        // A short read: read the rest of the chunk into the
                        // rest of the buffer.
                        let at = chunk + (start + done) as u64;
                        Op::from(op::Read::new(&src, buf.slice(start + done..end)).at(at))
                    } else {
                        Op::from(op::Write::new(&dst, buf).at(chunk))
                    }
                }
                Op::Write(write) => {
                    copied += done as u64;
                    let (start, end) = (write.buf().begin(), write.buf().end());
                    let buf = write.into_buf();
                    if start + done < end {
                        // A short write: write the rest from the same buffer.
                        let at = chunk + (start + done) as u64;
                        Op::from(op::Write::new(&dst, buf.slice(start + done..end)).at(at))
                    } else if next < len {
                        // The buffer is free: it reads the next chunk.
                        let mut buf = buf;
                        buf.resize(chunk_len(next, len), 0);
                        let read = op::Read::new(&src, buf).at(next);
                        next += CHUNK;
                        Op::from(read)
                    } else {
                        return;
                    }
                }
            };
            // The chunk a read or write serves stays its tag; a new read
            // serves the chunk at its offset.
            let tag = match &follow_up {
                Op::Read(r) if r.buf().begin() == 0 => r.offset(),
                _ => chunk,
            };
            match pusher.push_tagged(follow_up, tag) {
                Ok(_) => in_flight += 1,
                Err(e) => failed = Some(e.into()),
            }
        });
        if let Some(e) = failed.take() {
            return Err(e);
        }
    }
    Ok(copied)
}

/// The length of the chunk at `offset` of a `len`-byte file.
fn chunk_len(offset: u64, len: u64) -> usize {
    CHUNK.min(len - offset) as usize
}
