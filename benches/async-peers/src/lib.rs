//! What the echo servers of this workspace share with `echo_peer` (in the
//! `benches` crate): the command line, the `ready <addr>` line, the sizes.

use std::io;
use std::net::SocketAddr;

/// Submission queue entries of each server's ring (ring-core's echo uses
/// the same).
pub const ENTRIES: u32 = 256;

/// Bytes of each connection's buffer.
pub const BUF: usize = 4096;

/// The address to listen on, the only argument.
pub fn addr_arg() -> io::Result<SocketAddr> {
    let arg = std::env::args().nth(1).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "usage: <server> <addr:port>")
    })?;
    arg.parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address {arg}: {e}")))
}

/// Tells the benchmark where the server listens (it reads this line).
pub fn ready(addr: SocketAddr) {
    println!("ready {addr}");
}
