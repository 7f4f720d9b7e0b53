//! Copies a file with ring-core's futures: open both files through the
//! ring, then read and write one chunk at a time, the buffer going back
//! and forth between the operations.
//!
//! `cargo run -p ring-core --example copy -- SRC DST`

use std::io;

use ring_core::owned::{op::Open, SharedFd};
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
    let rt = Runtime::new(8)?;
    let d = rt.driver().clone();
    let copied = rt.block_on(async move {
        let src = SharedFd::new(d.open(Open::new(src, 0, 0)?).await?);
        let flags = O_WRONLY | O_CREAT | O_TRUNC;
        let dst = SharedFd::new(d.open(Open::new(dst, flags, 0o644)?).await?);
        let (mut buf, mut offset) = (vec![0u8; CHUNK], 0u64);
        loop {
            let (n, mut b) = d.read_at(&src, buf, offset).await;
            let n = n?;
            if n == 0 {
                return io::Result::Ok(offset);
            }
            b.truncate(n);
            let mut done = 0;
            while done < n {
                let (w, rest) = d
                    .write_at(&dst, b.split_off(done), offset + done as u64)
                    .await;
                b.extend_from_slice(&rest);
                done += w?;
            }
            offset += n as u64;
            b.resize(CHUNK, 0);
            buf = b;
        }
    })?;
    println!("copied {copied} bytes");
    Ok(())
}
