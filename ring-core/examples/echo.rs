//! An async TCP echo server on ring-core's futures: a multishot accept,
//! one task per connection, on the built-in local executor.
//!
//! `cargo run --release -p ring-core --example echo -- 127.0.0.1:7878`

use std::io;
use std::net::{TcpListener, TcpStream};

use ring_core::owned::{Files, IoBuf, SharedFd, Target};
use ring_core::rt::{Driver, Runtime};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:7878".into());
    let listener = TcpListener::bind(addr)?;
    println!("echo listening on {}", listener.local_addr()?);
    serve(listener, None)
}

/// Echoes every connection `listener` accepts; with `Some(n)`, stops
/// accepting after `n` connections and returns once their peers have
/// closed them.
pub fn serve(listener: TcpListener, connections: Option<usize>) -> io::Result<()> {
    let rt = Runtime::new(256)?;
    let handle = rt.handle();
    // A registered file table (Linux 5.19): a receive or send on a
    // connection in it names the connection's slot, and the kernel skips
    // the descriptor lookup (and the reference count taken and dropped
    // around it) of every operation. Without one (an older kernel) the
    // connections are used by descriptor.
    let files = rt.driver().with_raw(|r| Files::register(r, 1024)).ok();
    rt.block_on(async move {
        let listener = SharedFd::new(listener);
        let mut accepts = handle.driver().accept_multi(&listener);
        let mut tasks = Vec::new();
        while connections.is_none_or(|n| tasks.len() < n) {
            let Some(conn) = accepts.next().await else {
                break;
            };
            let conn = TcpStream::from(conn?);
            // Small replies go out at once, not after the peer's next ACK.
            conn.set_nodelay(true)?;
            // Into a free slot of the table, which keeps the socket open
            // until the task's last use of the slot drops; by descriptor if
            // there is no table or it is full.
            let conn: Target = match files.as_ref().map(|f| f.install(&conn)) {
                Some(Ok(slot)) => slot.into(),
                _ => SharedFd::new(conn).into(),
            };
            let driver = handle.driver().clone();
            let task = handle.spawn_local(async move {
                if let Err(e) = echo(&driver, &conn).await {
                    eprintln!("connection: {e}");
                }
            });
            if connections.is_some() {
                tasks.push(task);
            }
        }
        // Dropping the accept stream cancels it.
        drop(accepts);
        for task in tasks {
            task.await;
        }
        Ok(())
    })
}

/// Sends back whatever arrives until the peer closes: one buffer, received
/// into and sent back from (the rest of it after a short send).
async fn echo(driver: &Driver, conn: &Target) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        // The peer sends its next message only after this echo, so the
        // receive usually finds nothing yet: `poll_first` has the kernel
        // wait for data instead of first trying (and failing) to receive.
        let (n, b) = driver.recv(conn, buf).poll_first().await;
        buf = b;
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let mut done = 0;
        while done < n {
            let (sent, b) = driver.send(conn, buf.slice(done..n)).await;
            buf = b;
            match sent? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                k => done += k,
            }
        }
    }
}
