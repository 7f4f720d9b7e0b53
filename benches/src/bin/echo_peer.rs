//! One echo server of the echo benchmark: `echo_peer <impl> <addr>`, impls
//! `ring-core` (ring_core::rt's futures on its built-in runtime: ring-core's
//! `echo` example itself, included below), `ring-core-multishot` (the same
//! runtime with one multishot receive per connection into a shared buffer
//! ring) and `tokio` (current-thread runtime, epoll). Each runs on one
//! thread, one task per connection, sets TCP_NODELAY on each connection,
//! reads into a 4 KiB buffer and writes the bytes back from it, until
//! killed. It prints `ready <addr>` once listening.
//!
//! The tokio-uring and monoio servers are in `benches/async-peers` (their
//! own workspace, so that `cargo test --workspace` does not build them).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;

use ring_core::buf_ring::BufRing;
use ring_core::owned::{IoBuf, SharedFd};
use ring_core::rt::{Driver, Runtime};

/// ring-core's `echo` example, measured as it is.
#[allow(dead_code)]
#[path = "../../../ring-core/examples/echo.rs"]
mod example;

/// Each connection's buffer (and each buffer of the multishot server's
/// buffer ring).
const BUF: usize = 4096;
/// Submission queue entries of the ring.
const ENTRIES: u32 = 256;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(imp), Some(addr)) = (args.first(), args.get(1)) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: echo_peer <ring-core|ring-core-multishot|tokio> <addr>",
        ));
    };
    match imp.as_str() {
        "ring-core" => {
            let listener = TcpListener::bind(addr)?;
            println!("ready {}", listener.local_addr()?);
            example::serve(listener, None)
        }
        "ring-core-multishot" => multishot_serve(addr),
        "tokio" => tokio_serve(addr),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown impl {other}"),
        )),
    }
}

/// The accept loop of the example, each connection served by
/// [`echo_multishot`].
fn multishot_serve(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("ready {}", listener.local_addr()?);
    let rt = Runtime::new(ENTRIES)?;
    let handle = rt.handle();
    // 128 buffers: twice the benchmark's connections, each of which has
    // one message in flight.
    let bufs = Rc::new(
        rt.driver()
            .with_raw(|r| BufRing::builder(0, 128, BUF as u32).build(r))?,
    );
    rt.block_on(async move {
        let listener = SharedFd::new(listener);
        let mut accepts = handle.driver().accept_multi(&listener);
        while let Some(conn) = accepts.next().await {
            let conn = TcpStream::from(conn?);
            conn.set_nodelay(true)?;
            let conn = SharedFd::new(conn);
            let driver = handle.driver().clone();
            let bufs = bufs.clone();
            drop(handle.spawn_local(async move {
                let _ = echo_multishot(&driver, &conn, bufs).await;
            }));
        }
        Ok(())
    })
}

/// One multishot receive per connection into the shared buffer ring: each
/// chunk is copied into the connection's send buffer (so the ring's buffer
/// goes back at once) and sent back from it. A receive the kernel ends
/// without end of file (out of buffers, or its own limit) is started again.
async fn echo_multishot(driver: &Driver, conn: &SharedFd, bufs: Rc<BufRing>) -> io::Result<()> {
    let mut out = Vec::with_capacity(BUF);
    loop {
        let mut recvs = driver.recv_multi(conn, bufs.clone());
        while let Some(item) = recvs.next().await {
            let chunk = match item {
                Ok(Some(chunk)) => chunk,
                // End of file.
                Ok(None) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(ring_core::Errno::NOBUFS.raw_os_error()) => {
                    continue
                }
                Err(e) => return Err(e),
            };
            out.clear();
            out.extend_from_slice(&chunk);
            drop(chunk);
            let n = out.len();
            let mut done = 0;
            while done < n {
                let (sent, b) = driver.send(conn, out.slice(done..n)).await;
                out = b;
                match sent? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    k => done += k,
                }
            }
        }
    }
}

fn tokio_serve(addr: &str) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("ready {}", listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            conn.set_nodelay(true)?;
            tokio::spawn(async move {
                let _ = tokio_echo(conn).await;
            });
        }
    })
}

/// The same loop on tokio: one buffer, read into and written back from.
async fn tokio_echo(mut conn: tokio::net::TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; BUF];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n]).await?;
    }
}
