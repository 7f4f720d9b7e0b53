//! The echo benchmark's server on tokio-uring (its runtime: a current-thread
//! tokio runtime driving one ring, 256 entries): `tokio_uring_echo <addr>`.
//! One task per connection, one 4 KiB buffer per connection read into and
//! written back from, as `echo_peer`'s servers do. Prints `ready <addr>`
//! once listening.

use std::io;

use tokio_uring::buf::BoundedBuf;
use tokio_uring::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = async_peers::addr_arg()?;
    tokio_uring::builder()
        .entries(async_peers::ENTRIES)
        .start(async move {
            let listener = TcpListener::bind(addr)?;
            async_peers::ready(listener.local_addr()?);
            loop {
                let (conn, _) = listener.accept().await?;
                conn.set_nodelay(true)?;
                tokio_uring::spawn(async move {
                    let _ = echo(conn).await;
                });
            }
        })
}

/// Sends back whatever arrives until the peer closes.
async fn echo(conn: TcpStream) -> io::Result<()> {
    // tokio-uring reads into a Vec's capacity; the count says what is new.
    let mut buf = Vec::with_capacity(async_peers::BUF);
    loop {
        let (n, b) = conn.read(buf).await;
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let (sent, slice) = conn.write_all(b.slice(..n)).await;
        sent?;
        buf = slice.into_inner();
    }
}
