//! An async TCP echo server on ring-core's futures: a multishot accept,
//! one task per connection, on the built-in local executor.
//!
//! `cargo run --release -p ring-core --example echo -- 127.0.0.1:7878`

use std::io;

use ring_core::owned::SharedFd;
use ring_core::rt::{Driver, Runtime};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:7878".into());
    let listener = std::net::TcpListener::bind(addr)?;
    println!("echo listening on {}", listener.local_addr()?);
    let rt = Runtime::new(256)?;
    let handle = rt.handle();
    rt.block_on(async move {
        let listener = SharedFd::new(listener);
        let mut accepts = handle.driver().accept_multi(&listener);
        while let Some(conn) = accepts.next().await {
            let conn = SharedFd::new(conn?);
            let driver = handle.driver().clone();
            drop(handle.spawn_local(async move {
                if let Err(e) = echo(&driver, &conn).await {
                    eprintln!("connection: {e}");
                }
            }));
        }
        Ok(())
    })
}

/// Sends back whatever arrives until the peer closes.
async fn echo(driver: &Driver, conn: &SharedFd) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, mut b) = driver.recv(conn, buf).await;
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        b.truncate(n);
        while !b.is_empty() {
            let (sent, rest) = driver.send(conn, b).await;
            b = rest;
            b.drain(..sent?);
        }
        b.resize(4096, 0);
        buf = b;
    }
}
