//! `ServerError` converts into `std::io::Error` (so `?` works in a function
//! returning `std::io::Result`), and each layer of a message adds its
//! context once: the server's words never repeat ring-core's.

use std::io::{self, ErrorKind};

use http_demo::{Config, Server, ServerError};
use ring_core::{Errno, IoUring, SubmitError};

fn config() -> Config {
    Config {
        addr: "127.0.0.1".parse().unwrap(),
        port: 0,
        threads: 1,
        ..Config::default()
    }
}

/// Binds with nothing but `?` on io::Result.
fn bind(config: Config) -> io::Result<Server> {
    Ok(Server::bind(config, http_demo::fibonacci)?)
}

#[test]
fn port_in_use_converts_to_addr_in_use() {
    // std's listener has no SO_REUSEPORT, so it holds the port exclusively.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let err = bind(Config { port, ..config() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert_eq!(
        err.to_string(),
        format!("cannot listen on 127.0.0.1:{port}: {}", Errno::ADDRINUSE)
    );
}

#[test]
fn bad_configuration_converts_to_invalid_input() {
    let err = bind(Config {
        threads: 0,
        ..config()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "invalid configuration: --threads must be between 1 and 1024"
    );
}

#[test]
fn ring_errors_are_named_once() {
    // A real setup error from the kernel (a ring of zero entries: EINVAL).
    let ring_err = IoUring::new(0).unwrap_err();
    let setup = ServerError::from(ring_err);
    assert_eq!(
        setup.to_string(),
        format!("io_uring_setup failed: {}", Errno::INVAL)
    );
    assert_eq!(io::Error::from(setup).kind(), Errno::INVAL.kind());

    let enter = ServerError::Enter(SubmitError::Os(Errno::BADF));
    assert_eq!(
        enter.to_string(),
        format!("a worker stopped: io_uring_enter failed: {}", Errno::BADF)
    );
    assert_eq!(io::Error::from(enter).kind(), Errno::BADF.kind());
}
