//! One echo server of the echo benchmark: `echo_peer <impl> <addr>`, impls
//! `ring-core` (ring_core::rt's futures on its built-in runtime, the same
//! program as ring-core's `echo` example) and `tokio` (current-thread
//! runtime, epoll). Each runs on one thread, one task per connection,
//! 4 KiB buffers, until killed. It prints `ready <addr>` once listening.

use std::io;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(imp), Some(addr)) = (args.first(), args.get(1)) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: echo_peer <ring-core|tokio> <addr>",
        ));
    };
    match imp.as_str() {
        "ring-core" => ring_core_echo(addr),
        "tokio" => tokio_echo(addr),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown impl {other}"),
        )),
    }
}

fn ring_core_echo(addr: &str) -> io::Result<()> {
    use ring_core::owned::SharedFd;
    use ring_core::rt::{Driver, Runtime};

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

    let listener = std::net::TcpListener::bind(addr)?;
    println!("ready {}", listener.local_addr()?);
    let rt = Runtime::new(256)?;
    let handle = rt.handle();
    rt.block_on(async move {
        let listener = SharedFd::new(listener);
        let mut accepts = handle.driver().accept_multi(&listener);
        while let Some(conn) = accepts.next().await {
            let conn = SharedFd::new(conn?);
            let driver = handle.driver().clone();
            drop(handle.spawn_local(async move {
                let _ = echo(&driver, &conn).await;
            }));
        }
        Ok(())
    })
}

fn tokio_echo(addr: &str) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("ready {}", listener.local_addr()?);
        loop {
            let (conn, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = tokio_conn(conn).await;
            });
        }
    })
}

/// One tokio connection: readiness, then non-blocking reads and writes (the
/// same as `AsyncReadExt::read` / `write_all` without the `io-util` feature).
async fn tokio_conn(conn: tokio::net::TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        conn.readable().await?;
        let n = match conn.try_read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        let mut done = 0;
        while done < n {
            conn.writable().await?;
            match conn.try_write(&buf[done..n]) {
                Ok(w) => done += w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}
