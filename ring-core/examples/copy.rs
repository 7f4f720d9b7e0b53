//! Copies a file with ring-core's futures: open both files through the
//! ring, then read and write one chunk at a time, the buffer going back
//! and forth between the operations.
//!
//! `cargo run -p ring-core --example copy -- SRC DST`

use std::io;
use std::path::Path;

use ring_core::owned::{op::Open, IoBuf, SharedFd};
use ring_core::rt::Runtime;

const CHUNK: usize = 64 * 1024;
const O_WRONLY: u32 = 0o1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(src), Some(dst)) = (args.next(), args.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: copy SRC DST",
        ));
    };
    let copied = copy(Path::new(&src), Path::new(&dst))?;
    println!("copied {copied} bytes");
    Ok(())
}

/// Copies `src` to `dst` (created or truncated); returns the bytes copied.
pub fn copy(src: &Path, dst: &Path) -> io::Result<u64> {
    let rt = Runtime::new(8)?;
    let d = rt.driver().clone();
    let (src, dst) = (src.to_owned(), dst.to_owned());
    rt.block_on(async move {
        let src = SharedFd::new(d.open(Open::new(src, 0, 0)?).await?);
        let flags = O_WRONLY | O_CREAT | O_TRUNC;
        let dst = SharedFd::new(d.open(Open::new(dst, flags, 0o644)?).await?);
        let (mut buf, mut offset) = (vec![0u8; CHUNK], 0u64);
        loop {
            let (n, b) = d.read_at(&src, buf, offset).await;
            buf = b;
            let n = n?;
            if n == 0 {
                return Ok(offset);
            }
            // Write what was read, the rest of it after a short write.
            let mut done = 0;
            while done < n {
                let at = offset + done as u64;
                let (w, b) = d.write_at(&dst, buf.slice(done..n), at).await;
                buf = b;
                match w? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    w => done += w,
                }
            }
            offset += n as u64;
        }
    })
}
