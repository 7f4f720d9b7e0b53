//! A TCP echo server on the safe tier: one multishot accept, one multishot
//! receive per connection into a shared buffer ring, and a send back of
//! every chunk received. Each operation's tag says which connection it
//! serves, so each completion, multishot ones included, says where its
//! bytes go: the program keeps no table of its own.
//!
//! `cargo run -p ring-core --example echo_multishot -- 127.0.0.1:7878`

use std::io;
use std::net::TcpListener;
use std::rc::Rc;

use ring_core::buf_ring::BufRing;
use ring_core::owned::{op, Operation, PushError, Ring, SharedFd, Token};

/// What an operation is for.
#[derive(Clone, Debug, Default)]
enum Tag {
    /// A completion of no operation (none are expected).
    #[default]
    None,
    /// The listener's multishot accept.
    Accept,
    /// A connection's multishot receive.
    Recv(SharedFd),
    /// A send back on a connection.
    Send,
}

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:7878".into());
    let listener = TcpListener::bind(addr)?;
    println!("echo listening on {}", listener.local_addr()?);
    serve(listener, None)
}

/// Echoes every connection `listener` accepts; with `Some(n)`, returns once
/// `n` connections have been served and closed by their peers.
pub fn serve(listener: TcpListener, connections: Option<usize>) -> io::Result<()> {
    let mut ring: Ring<Box<dyn Operation>, Tag> = Ring::tagged(256)?;
    // 64 buffers of 4 KiB shared by every connection's receive.
    let bufs = Rc::new(BufRing::builder(0, 64, 4096).build(ring.raw())?);
    let listener = SharedFd::new(listener);
    ring.push_tagged(op::Accept::new(&listener).multishot(), Tag::Accept)?;
    let mut closed = 0;
    let mut failed: Option<io::Error> = None;
    while connections.is_none_or(|n| closed < n) {
        ring.submit_and_wait(1)?;
        ring.drain(|mut c, pusher| {
            let pushed = match c.tag().clone() {
                Tag::Accept => match c.take_fd() {
                    Some(conn) => {
                        let conn = SharedFd::new(conn);
                        let recv = op::RecvMulti::new(&conn, bufs.clone());
                        io_result(pusher.push_tagged(recv, Tag::Recv(conn)))
                    }
                    None => {
                        failed = Some(result_error(c.result()));
                        return;
                    }
                },
                Tag::Recv(conn) => match (c.result(), c.take_buf()) {
                    // Bytes: send them back (the buffer returns to the
                    // ring when `data` drops, right after the copy).
                    (Ok(n), Some(data)) if n > 0 => {
                        let send = op::Send::new(&conn, data.to_vec()).wait_all();
                        let sent = io_result(pusher.push_tagged(send, Tag::Send));
                        if sent.is_ok() && c.is_final() {
                            // The receive stopped but the peer did not close
                            // (the kernel ended the multishot): re-arm it.
                            let recv = op::RecvMulti::new(&conn, bufs.clone());
                            io_result(pusher.push_tagged(recv, Tag::Recv(conn)))
                        } else {
                            sent
                        }
                    }
                    // Out of buffers: the receive ended; arm it again.
                    (Err(e), _) if e == ring_core::Errno::NOBUFS => {
                        let recv = op::RecvMulti::new(&conn, bufs.clone());
                        io_result(pusher.push_tagged(recv, Tag::Recv(conn)))
                    }
                    // End of stream or a reset peer: the connection is done
                    // (its descriptor closes with the last share).
                    _ => {
                        if c.is_final() {
                            closed += 1;
                        }
                        return;
                    }
                },
                Tag::Send => {
                    if let Err(e) = c.result() {
                        // A peer that went away: its receive ends too.
                        eprintln!("send: {e}");
                    }
                    return;
                }
                Tag::None => return,
            };
            if let Err(e) = pushed {
                failed = Some(e);
            }
        });
        if let Some(e) = failed.take() {
            return Err(e);
        }
    }
    Ok(())
}

fn result_error(r: Result<u32, ring_core::Errno>) -> io::Error {
    match r {
        Err(e) => e.into(),
        Ok(_) => io::Error::other("accept completed without a connection"),
    }
}

/// A push's outcome as an `io::Result` (a full queue is `WouldBlock`).
fn io_result<T>(pushed: Result<Token, PushError<T>>) -> io::Result<()> {
    pushed.map(drop).map_err(io::Error::from)
}
