//! Helpers: an in-process server on an ephemeral port, and a client that
//! reads whole responses.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_demo::{Config, Handler, Server, ShutdownHandle};

pub struct Running {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    pub thread: Option<JoinHandle<Result<(), http_demo::ServerError>>>,
}

impl Running {
    /// Shuts down and returns what `run` returned.
    pub fn stop(mut self) -> Result<(), http_demo::ServerError> {
        self.handle.shutdown();
        self.thread.take().unwrap().join().expect("server thread")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

pub fn config() -> Config {
    Config {
        addr: "127.0.0.1".parse().unwrap(),
        port: 0,
        threads: 1,
        ..Config::default()
    }
}

pub fn start_with(config: Config, handler: Arc<dyn Handler>) -> Running {
    let server = Server::bind_arc(config, handler).expect("bind");
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}

pub fn start() -> Running {
    start_with(config(), Arc::new(http_demo::fibonacci))
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Reads one response (skipping a 100 Continue).
pub fn read_response(r: &mut BufReader<TcpStream>) -> Option<Response> {
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).ok()? == 0 {
                return None;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
        if status == 100 {
            continue;
        }
        let mut resp = Response {
            status,
            head,
            body: Vec::new(),
        };
        let len: usize = resp.header("content-length")?.parse().ok()?;
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body).ok()?;
        return Some(resp);
    }
}

/// Sends `req` on a new connection and reads one response.
pub fn roundtrip(addr: SocketAddr, req: &[u8]) -> Response {
    let mut s = connect(addr);
    s.write_all(req).unwrap();
    let mut r = BufReader::new(s);
    read_response(&mut r).expect("a response")
}

/// Whether the server has closed the connection (EOF within the timeout).
pub fn closed_by_server(r: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

pub fn post(n: &str) -> Vec<u8> {
    format!("POST /{n} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}
