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

/// A child process killed (and reaped) on drop, so a failing test leaves no
/// server behind.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl KillOnDrop {
    /// Everything the (exited) child wrote to its piped stderr.
    pub fn stderr_text(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The built binary, started with `args` (plus `--addr 127.0.0.1 --port 0`)
/// under `sh -c 'ulimit -n <nofile>; exec ...'` when `nofile` is given.
/// Returns the child and the port from its banner. Its stderr is piped.
pub fn spawn_binary(args: &[&str], nofile: Option<u32>) -> (KillOnDrop, u16) {
    use std::process::Command;
    let exe = env!("CARGO_BIN_EXE_http-demo");
    let mut all: Vec<String> = vec![
        "--addr".into(),
        "127.0.0.1".into(),
        "--port".into(),
        "0".into(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(exe)
                .args(&all);
            c
        }
        None => {
            let mut c = Command::new(exe);
            c.args(&all);
            c
        }
    };
    let (child, line) = start_and_read_banner(cmd);
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

/// Starts `cmd` (stdout and stderr piped) and reads its first stdout line,
/// the server's banner.
pub fn start_and_read_banner(mut cmd: std::process::Command) -> (KillOnDrop, String) {
    use std::process::Stdio;
    let mut child = KillOnDrop(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start http-demo"),
    );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// Sends SIGTERM and waits (bounded) for the exit status.
pub fn sigterm(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit within {within:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[path = "../../../benches/src/procfs.rs"]
mod procfs;
#[allow(unused_imports)] // not every test file uses them
pub use procfs::{cpu_secs, raise_nofile, rss_kib};

/// Open descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until `f` holds, polling, or panics with `what` after `within`.
pub fn eventually(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A connected client socket with a small receive buffer, so the server's
/// sends to it stall soon.
pub fn small_rcvbuf_client(addr: SocketAddr) -> TcpStream {
    use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    sockopt::set_socket_recv_buffer_size(&fd, 4096).unwrap();
    rustix::net::connect(&fd, &addr).unwrap();
    TcpStream::from(fd)
}

/// How a read of the next response ended.
#[derive(Debug)]
pub enum Next {
    /// A whole response.
    Response(Response),
    /// A clean end of stream (FIN) before any byte of a response.
    Eof,
    /// An error: `ConnectionReset` means the client saw a RST.
    Error(std::io::ErrorKind),
}

/// Reads the next response, telling a clean EOF from a reset.
pub fn next_response(r: &mut BufReader<TcpStream>) -> Next {
    loop {
        match r.fill_buf() {
            Ok([]) => return Next::Eof,
            Ok(_) => break,
            // Retried, as `read_line` and `read_exact` do.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Next::Error(e.kind()),
        }
    }
    match read_response(r) {
        Some(resp) => Next::Response(resp),
        None => Next::Error(std::io::ErrorKind::UnexpectedEof),
    }
}

/// Starts a writer thread that pipelines `req` until a write fails, counting
/// the bytes written; returns the counter and the thread (which ends with
/// the error that stopped it).
pub fn flood_writer(
    mut s: TcpStream,
    req: Vec<u8>,
) -> (
    Arc<std::sync::atomic::AtomicU64>,
    JoinHandle<std::io::ErrorKind>,
) {
    let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let w = written.clone();
    let t = std::thread::spawn(move || {
        let batch = req.repeat(256);
        loop {
            if let Err(e) = s.write_all(&batch) {
                return e.kind();
            }
            w.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    });
    (written, t)
}

/// Waits (bounded) until `counter` stops moving for 500 ms: the peer's
/// buffers are full and the writer is blocked.
pub fn until_stalled(counter: &std::sync::atomic::AtomicU64, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    let mut last = counter.load(std::sync::atomic::Ordering::Relaxed);
    let mut still_since = std::time::Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = counter.load(std::sync::atomic::Ordering::Relaxed);
        if now != last {
            last = now;
            still_since = std::time::Instant::now();
        } else if now > 0 && still_since.elapsed() >= Duration::from_millis(500) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never stalled"
        );
    }
}
