//! Hostile and careless clients (issue: half-closes, clients that never
//! read, shutdown under load, HEAD, slow handlers, the C ABI's edges, port
//! sharing, SQPOLL when idle, limits), over real loopback sockets on the
//! real kernel. Each test is bounded in time: reads have timeouts, waits
//! have deadlines, and a spawned server is killed if a test fails.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use http_demo::{Config, Handler, HandlerError};

// ------------------------------------------------------------ 1. half-close

/// 10,000 pipelined requests, then `shutdown(SHUT_WR)`: every one is
/// answered before the server's FIN (input held back by the output limit
/// is not dropped at EOF).
#[test]
fn half_close_answers_every_pipelined_request() {
    let srv = start();
    let s = connect(srv.addr);
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    const N: usize = 10_000;
    let writer = std::thread::spawn(move || {
        w.write_all(&post("15").repeat(N)).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut r = BufReader::new(s);
    let mut answered = 0;
    let end = loop {
        match next_response(&mut r) {
            Next::Response(resp) => {
                assert_eq!(resp.body_str(), "610");
                answered += 1;
            }
            other => break other,
        }
    };
    writer.join().unwrap();
    assert_eq!(answered, N, "answered {answered} of {N}, then {end:?}");
    assert!(matches!(end, Next::Eof), "{end:?}");
}

// ---------------------------------------------- 2. and 3. clients that never read

/// A client that pipelines and never reads: once no send has made progress
/// for `--send-timeout-ms`, the server closes the connection (the client's
/// blocked write then fails).
#[test]
fn send_timeout_closes_a_client_that_never_reads() {
    let (mut child, port) = spawn_binary(&["--threads", "1", "--send-timeout-ms", "300"], None);
    let s = small_rcvbuf_client(SocketAddr::from(([127, 0, 0, 1], port)));
    let (_, writer) = flood_writer(s, post("90"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(writer.join().unwrap());
    });
    let err = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server never closed the connection of a client that does not read");
    assert!(
        matches!(
            err,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{err:?}"
    );
    // A normal client is still served.
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(roundtrip(addr, &post("15")).body_str(), "610");
    assert!(sigterm(&mut child, Duration::from_secs(10)).success());
}

/// Starts the binary with `args` and a client whose server-side send is
/// stuck (it pipelines and never reads); returns once the send is stuck.
fn server_with_a_stuck_send(
    args: &[&str],
) -> (KillOnDrop, std::thread::JoinHandle<std::io::ErrorKind>) {
    let (child, port) = spawn_binary(args, None);
    let s = small_rcvbuf_client(SocketAddr::from(([127, 0, 0, 1], port)));
    let (written, writer) = flood_writer(s, post("90"));
    until_stalled(&written, Duration::from_secs(20));
    (child, writer)
}

/// One client that never reads must not hold a shutdown past its deadline:
/// at the deadline the stuck send is cancelled and the server exits.
#[test]
fn shutdown_deadline_cuts_a_client_that_never_reads() {
    let (mut child, _writer) = server_with_a_stuck_send(&[
        "--threads",
        "1",
        "--send-timeout-ms",
        "600000",
        "--shutdown-deadline-ms",
        "500",
    ]);
    let t = Instant::now();
    let status = sigterm(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// A second SIGTERM exits at once, whatever the deadline.
#[test]
fn second_signal_exits_at_once() {
    let (mut child, _writer) = server_with_a_stuck_send(&[
        "--threads",
        "1",
        "--send-timeout-ms",
        "600000",
        "--shutdown-deadline-ms",
        "600000",
    ]);
    let kill = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    kill(child.id());
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "still draining");
    let status = sigterm(&mut child, Duration::from_secs(3));
    assert!(!status.success(), "{status:?}");
    assert!(child.stderr_text().contains("again, exiting now"));
}

// ------------------------------------------------ 4. shutdown under load

/// SIGTERM with 64 busy keep-alive clients: each client's last request is
/// answered (with `Connection: close`) or its connection ends with a FIN;
/// no client sees a reset, and the server exits 0 within its deadline.
#[test]
fn shutdown_under_load_resets_no_client() {
    raise_nofile();
    let (mut child, port) =
        spawn_binary(&["--threads", "2", "--shutdown-deadline-ms", "3000"], None);
    let clients: Vec<_> = (0..64u64)
        .map(|c| {
            std::thread::spawn(move || {
                let s = connect(SocketAddr::from(([127, 0, 0, 1], port)));
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                for i in 0.. {
                    let n = (c + i) % 90;
                    if let Err(e) = w.write_all(&post(&n.to_string())) {
                        return (i, format!("write: {:?}", e.kind()));
                    }
                    match next_response(&mut r) {
                        Next::Response(resp) => {
                            let want = http_demo::fibonacci(n as i64).unwrap().to_string();
                            assert_eq!(resp.body_str(), want);
                            if resp.header("connection") == Some("close") {
                                // The server's FIN follows.
                                let end = next_response(&mut r);
                                return (i + 1, format!("close, then {end:?}"));
                            }
                        }
                        end => return (i, format!("{end:?}")),
                    }
                }
                unreachable!()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let status = sigterm(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let mut ends = Vec::new();
    for c in clients {
        ends.push(c.join().unwrap());
    }
    let total: u64 = ends.iter().map(|(n, _)| n).sum();
    let closes = ends.iter().filter(|(_, e)| e.starts_with("close")).count();
    eprintln!("{total} answered; {closes} of 64 ended with Connection: close, the rest with a FIN");
    assert!(total > 64, "the clients were busy: {total} answered");
    let bad: Vec<_> = ends
        .iter()
        .filter(|(_, end)| !(end == "Eof" || end == "close, then Eof"))
        .collect();
    assert!(bad.is_empty(), "{} of 64 ended badly: {bad:?}", bad.len());
}

// ------------------------------------------------------------------ 5. HEAD

/// `HEAD` gets the head of the response without its body, so a request
/// pipelined after it is read in sync.
#[test]
fn head_has_no_body_and_keeps_the_stream_in_sync() {
    let srv = start();
    for target in ["/15", "/x"] {
        let mut s = connect(srv.addr);
        let head = format!("HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        s.write_all(&[head.as_bytes(), &post("17")].concat())
            .unwrap();
        let mut r = BufReader::new(s);
        let mut first = String::new();
        loop {
            let mut line = String::new();
            assert!(r.read_line(&mut line).unwrap() > 0);
            first.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        assert!(
            first.starts_with("HTTP/1.1 405") || first.starts_with("HTTP/1.1 404"),
            "{first}"
        );
        assert!(first.contains("Content-Length: "), "{first}");
        let next = read_response(&mut r).expect("the next response");
        assert_eq!(
            next.status, 200,
            "out of sync after HEAD {target}: {next:?}"
        );
        assert_eq!(next.body_str(), "1597");
    }
}

// --------------------------------------------------------- 6. slow handlers

/// A gate a handler waits at (bounded) until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let g = self.open.lock().unwrap();
        let _ = self
            .cv
            .wait_timeout_while(g, Duration::from_secs(20), |open| !*open)
            .unwrap();
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

/// A handler that may block: `n = 1` waits at the gate; counts the calls
/// in progress and their maximum.
struct Slow {
    gate: Gate,
    running: AtomicUsize,
    most: AtomicUsize,
}

impl Handler for Slow {
    fn call(&self, n: i64) -> Result<i64, HandlerError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if n == 1 {
            self.gate.wait();
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(n * 10)
    }
    fn may_block(&self) -> bool {
        true
    }
}

fn slow() -> Arc<Slow> {
    Arc::new(Slow {
        gate: Gate::default(),
        running: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
    })
}

/// A handler blocked on one connection does not delay another on the same
/// I/O thread: the blocking call runs on the handler pool.
#[test]
fn blocking_handler_runs_off_the_io_thread() {
    let h = slow();
    let srv = start_with(config(), h.clone());
    let mut blocked = connect(srv.addr);
    blocked.write_all(&post("1")).unwrap();
    // Answered while the first call is still blocked (the read times out
    // after 5 s if it waits behind it).
    let r = roundtrip(srv.addr, &post("2"));
    assert_eq!(r.body_str(), "20");
    assert_eq!(h.running.load(Ordering::SeqCst), 1, "n=1 is still blocked");
    h.gate.open();
    let mut r = BufReader::new(blocked);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "10");
    srv.stop().unwrap();
}

/// With the pool full, further calls wait for room (never more than the
/// pool's threads run at once) and none is lost.
#[test]
fn full_handler_pool_applies_back_pressure() {
    let h = slow();
    let cfg = Config {
        handler_threads: 2,
        ..config()
    };
    let srv = start_with(cfg, h.clone());
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s.write_all(&post("1")).unwrap();
            s
        })
        .collect();
    eventually(Duration::from_secs(5), "two calls blocked", || {
        h.running.load(Ordering::SeqCst) == 2
    });
    h.gate.open();
    for s in clients {
        let mut r = BufReader::new(s);
        assert_eq!(read_response(&mut r).unwrap().body_str(), "10");
    }
    assert_eq!(h.most.load(Ordering::SeqCst), 2);
    srv.stop().unwrap();
}

static C_GATE: Gate = Gate {
    open: Mutex::new(false),
    cv: Condvar::new(),
};

extern "C" fn c_slow(n: std::ffi::c_long, _: *mut std::ffi::c_void) -> std::ffi::c_long {
    if n == 1 {
        C_GATE.wait();
    }
    n * 10
}

extern "C" fn tell_port(port: std::ffi::c_int, data: *mut std::ffi::c_void) {
    // SAFETY: `data` is the `&Mutex<Option<u16>>` the test passed, alive
    // while the server runs.
    let slot = unsafe { &*(data as *const Mutex<Option<u16>>) };
    *slot.lock().unwrap() = u16::try_from(port).ok();
}

/// Starts a server through the C ABI on 127.0.0.1:`port` (0: any) on one
/// I/O thread; returns its bound port (from the ready callback) and the
/// thread running `server_listen_ready`.
fn c_server(
    port: u16,
    handler: http_demo::ffi::DataHandler,
) -> (u16, std::thread::JoinHandle<i32>) {
    let bound: &'static Mutex<Option<u16>> = Box::leak(Box::new(Mutex::new(None)));
    let t = std::thread::spawn(move || {
        // SAFETY: a NUL-terminated address; the handler is callable from
        // any thread; `bound` lives for the whole test run.
        unsafe {
            http_demo::ffi::server_listen_ready(
                c"127.0.0.1".as_ptr(),
                i32::from(port),
                1,
                Some(handler),
                std::ptr::null_mut(),
                Some(tell_port),
                bound as *const _ as *mut _,
            )
        }
    });
    let mut got = None;
    eventually(Duration::from_secs(10), "the ready callback", || {
        got = *bound.lock().unwrap();
        got.is_some() || t.is_finished()
    });
    let port = got.expect("server_listen_ready failed");
    (port, t)
}

/// A C handler that blocks for one request does not delay a fast request
/// on the same I/O thread.
#[test]
fn slow_c_handler_does_not_delay_others() {
    let (port, t) = c_server(0, c_slow);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut blocked = connect(addr);
    blocked.write_all(&post("1")).unwrap();
    assert_eq!(roundtrip(addr, &post("2")).body_str(), "20");
    C_GATE.open();
    let mut r = BufReader::new(blocked);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "10");
    assert_eq!(http_demo::ffi::server_stop(i32::from(port)), 0);
    assert_eq!(t.join().unwrap(), 0);
}

// ------------------------------------------------------------ 7. C ABI edges

extern "C" fn c_times_ten(n: std::ffi::c_long, _: *mut std::ffi::c_void) -> std::ffi::c_long {
    n * 10
}

/// A second `server_listen` on a port this library already serves is
/// refused before it binds anything: clients of the first server never see
/// a reset while 300 such calls are made.
#[test]
fn second_listen_on_a_served_port_binds_nothing() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (port, t) = c_server(free, c_times_ten);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut s = match TcpStream::connect(addr) {
                        Ok(s) => s,
                        Err(e) => {
                            bad.push(format!("connect: {:?}", e.kind()));
                            continue;
                        }
                    };
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let ok = s.write_all(&post("3")).is_ok();
                    let mut r = BufReader::new(s);
                    match (ok, next_response(&mut r)) {
                        (true, Next::Response(resp)) if resp.body_str() == "30" => n += 1,
                        (ok, end) => bad.push(format!("write ok {ok}, {end:?}")),
                    }
                }
                (n, bad)
            })
        })
        .collect();
    for _ in 0..300 {
        // SAFETY: a NUL-terminated address; a handler callable from any
        // thread.
        let rc = unsafe {
            http_demo::ffi::server_listen_ex(
                c"127.0.0.1".as_ptr(),
                i32::from(port),
                1,
                Some(c_times_ten),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, http_demo::ffi::HD_ERR_ALREADY_RUNNING);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut n, mut bad) = (0, Vec::new());
    for c in clients {
        let (cn, cbad) = c.join().unwrap();
        n += cn;
        bad.extend(cbad);
    }
    assert!(n > 0);
    assert!(
        bad.is_empty(),
        "{} failed: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert_eq!(http_demo::ffi::server_stop(i32::from(port)), 0);
    assert_eq!(t.join().unwrap(), 0);
}

/// Two servers on port 0 both start, each reports its own port, and each
/// answers there.
#[test]
fn port_zero_servers_report_their_ports() {
    let (a, ta) = c_server(0, c_times_ten);
    let (b, tb) = c_server(0, c_times_ten);
    assert_ne!(a, b);
    for port in [a, b] {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(roundtrip(addr, &post("4")).body_str(), "40");
        assert_eq!(http_demo::ffi::server_stop(i32::from(port)), 0);
    }
    assert_eq!(ta.join().unwrap(), 0);
    assert_eq!(tb.join().unwrap(), 0);
}

// ------------------------------------------------------ 8. port sharing

fn run_binary(args: &[&str]) -> std::process::Output {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_http-demo"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{args:?} kept running");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    std::process::Output {
        status,
        stdout: out.into_bytes(),
        stderr: err.into_bytes(),
    }
}

/// A second http-demo on a port the first serves fails with "address in
/// use"; with `--reuse-port` it joins (and so shares the traffic).
#[test]
fn second_server_on_a_port_fails_unless_sharing() {
    let (mut first, port) = spawn_binary(&["--threads", "1"], None);
    let port_s = port.to_string();
    let out = run_binary(&["--addr", "127.0.0.1", "--port", &port_s, "--threads", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("Address already in use"), "{err}");
    assert!(out.stdout.is_empty(), "it never said it listens");
    // Asked to share, it starts.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_http-demo"));
    cmd.args([
        "--addr",
        "127.0.0.1",
        "--port",
        &port_s,
        "--threads",
        "1",
        "--reuse-port",
    ]);
    let (mut second, banner) = start_and_read_banner(cmd);
    assert!(banner.contains("listening"), "{banner}");
    assert!(sigterm(&mut second, Duration::from_secs(10)).success());
    assert!(sigterm(&mut first, Duration::from_secs(10)).success());
}

// --------------------------------------------------------- 9. SQPOLL idle

/// An idle server costs no CPU, with and without SQPOLL, also with an idle
/// keep-alive connection open: the tick fires only at deadlines (here the
/// 60 s idle timeout), so nothing wakes the worker, or the SQPOLL thread,
/// whose idle clock then runs out. With the longest `--spin-us` too: after
/// long waits the worker stops spinning.
#[test]
fn idle_server_uses_no_cpu_with_and_without_sqpoll() {
    for args in [
        &["--threads", "1"][..],
        &["--threads", "1", "--sqpoll"][..],
        &["--threads", "1", "--spin-us", "10000"][..],
    ] {
        let (mut child, port) = spawn_binary(args, None);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(roundtrip(addr, &post("15")).body_str(), "610");
        // A keep-alive connection stays open, idle, while measuring.
        let mut open = connect(addr);
        open.write_all(&post("3")).unwrap();
        let mut open = BufReader::new(open);
        assert_eq!(read_response(&mut open).unwrap().body_str(), "2");
        // Past the SQPOLL idle time (1 s) before measuring.
        std::thread::sleep(Duration::from_millis(1500));
        let cpu0 = cpu_secs(child.id());
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let used = cpu_secs(child.id()) - cpu0;
        let wall = t0.elapsed().as_secs_f64();
        eprintln!("{args:?}: {used:.2} s of CPU in {wall:.2} s idle");
        assert!(
            used < 0.05 * wall,
            "{args:?}: {used:.2} s of CPU in {wall:.2} s while idle"
        );
        assert!(sigterm(&mut child, Duration::from_secs(10)).success());
    }
}

// ------------------------------------------------------------ 10. limits

/// Impossible options are refused up front with a clear message, before
/// anything listens or allocates.
#[test]
fn bad_options_fail_before_listening() {
    for (args, says) in [
        (&["--threads", "1000"][..], "MiB"),
        (&["--recv-buffer-size", "4294967295"][..], "between 64 and"),
        (
            &["--header-timeout-ms", "0"][..],
            "--header-timeout-ms must be",
        ),
        (&["--send-timeout-ms", "0"][..], "--send-timeout-ms must be"),
        (&["--max-connections", "0"][..], "--max-connections must be"),
    ] {
        let out = run_binary(&[&["--addr", "127.0.0.1", "--port", "0"][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed a banner");
    }
}

/// Past `--max-connections`, a new connection gets a 503 and is closed;
/// once a connection goes, new ones are served again.
#[test]
fn connection_cap_refuses_with_503() {
    let cfg = Config {
        max_connections: 2,
        ..config()
    };
    let srv = start_with(cfg, Arc::new(http_demo::fibonacci));
    let open: Vec<_> = (0..2)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(&post("3")).unwrap();
            let mut r = BufReader::new(s);
            assert_eq!(read_response(&mut r).unwrap().body_str(), "2");
            r
        })
        .collect();
    let mut s = connect(srv.addr);
    s.write_all(&post("3")).unwrap();
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r).expect("a 503");
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed_by_server(&mut r));
    drop(open);
    eventually(Duration::from_secs(5), "served again", || {
        let mut s = connect(srv.addr);
        s.write_all(&post("3")).unwrap();
        let mut r = BufReader::new(s);
        read_response(&mut r).is_some_and(|resp| resp.status == 200)
    });
    srv.stop().unwrap();
}

/// A chunk size with leading zeros is the same size.
#[test]
fn chunk_size_with_leading_zeros_is_accepted() {
    let srv = start();
    let req = b"POST /17 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
                0000000000000000003\r\nabc\r\n00000000000000000000\r\n\r\n";
    let r = roundtrip(srv.addr, req);
    assert_eq!((r.status, r.body_str()), (200, "1597"));
}

/// An absolute-form target (RFC 9112 §3.2.2) is served like its path.
#[test]
fn absolute_form_target_is_accepted() {
    let srv = start();
    for target in [
        "http://localhost:8000/15",
        "HTTP://x/15?a=1",
        "https://h/15",
    ] {
        let req = format!("POST {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = roundtrip(srv.addr, req.as_bytes());
        assert_eq!((r.status, r.body_str()), (200, "610"), "{target}");
    }
    let r = roundtrip(srv.addr, b"POST http://h HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
}

/// `Expect: 100-continue` on HTTP/1.0 is ignored (RFC 9110 §10.1.1): no
/// interim 1.1 response is sent to a 1.0 client.
#[test]
fn expect_continue_on_http10_is_ignored() {
    let srv = start();
    let mut s = connect(srv.addr);
    s.write_all(b"POST /15 HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab")
        .unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert!(all.starts_with("HTTP/1.0 200 OK\r\n"), "{all}");
    assert!(!all.contains("100 Continue"), "{all}");
    assert!(all.ends_with("\r\n\r\n610"), "{all}");
}
