//! The echo benchmark's server on monoio (its io_uring driver, one thread,
//! 256 ring entries): `monoio_echo <addr>`. One task per connection, one
//! 4 KiB buffer per connection read into and written back from, as
//! `echo_peer`'s servers do. Prints `ready <addr>` once listening.

use std::io;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = async_peers::addr_arg()?;
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(async_peers::ENTRIES)
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr)?;
        async_peers::ready(listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            conn.set_nodelay(true)?;
            monoio::spawn(async move {
                let _ = echo(conn).await;
            });
        }
    })
}

/// Sends back whatever arrives until the peer closes.
async fn echo(mut conn: TcpStream) -> io::Result<()> {
    // monoio reads into a Vec's capacity and sets its length to the count.
    let mut buf = Vec::with_capacity(async_peers::BUF);
    loop {
        let (n, b) = conn.read(buf).await;
        if n? == 0 {
            return Ok(());
        }
        let (sent, b) = conn.write_all(b).await;
        sent?;
        buf = b;
    }
}
