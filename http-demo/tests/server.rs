//! The server over real sockets and the real kernel: every behaviour of the
//! issue, byte for byte.

mod common;

use std::io::{BufReader, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn answers_fibonacci_byte_for_byte() {
    let srv = start();
    for (n, want) in [
        ("15", "610"),
        ("17", "1597"),
        ("0", "0"),
        ("92", "7540113804746346429"),
    ] {
        let mut s = connect(srv.addr);
        s.write_all(&post(n)).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r).unwrap();
        let expected = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            want.len()
        );
        assert_eq!(resp.head, expected);
        assert_eq!(resp.body_str(), want);
    }
}

#[test]
fn keep_alive_reuses_the_connection() {
    let srv = start();
    let s = connect(srv.addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    for n in 1..=20 {
        w.write_all(&post(&n.to_string())).unwrap();
        let resp = read_response(&mut r).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.body_str(),
            http_demo::fibonacci(n).unwrap().to_string()
        );
        assert_eq!(resp.header("connection"), None);
    }
}

#[test]
fn connection_close_and_http10() {
    let srv = start();
    // HTTP/1.1 with Connection: close.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /10 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r).unwrap();
    assert_eq!(resp.body_str(), "55");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed_by_server(&mut r));

    // HTTP/1.0: answered and closed.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /10 HTTP/1.0\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r).unwrap();
    assert!(
        resp.head.starts_with("HTTP/1.0 200 OK\r\n"),
        "{}",
        resp.head
    );
    assert!(closed_by_server(&mut r));

    // HTTP/1.0 asking for keep-alive stays open.
    let s = connect(srv.addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    for _ in 0..3 {
        w.write_all(b"POST /11 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r).unwrap();
        assert_eq!(resp.body_str(), "89");
        assert_eq!(resp.header("connection"), Some("keep-alive"));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = start();
    let mut s = connect(srv.addr);
    let mut batch = Vec::new();
    for n in 0..50 {
        batch.extend(post(&n.to_string()));
    }
    batch.extend(b"GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
    batch.extend(post("20"));
    s.write_all(&batch).unwrap();
    let mut r = BufReader::new(s);
    for n in 0..50 {
        let resp = read_response(&mut r).unwrap();
        assert_eq!(
            resp.body_str(),
            http_demo::fibonacci(n).unwrap().to_string(),
            "response {n}"
        );
    }
    assert_eq!(read_response(&mut r).unwrap().status, 405);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "6765");
}

#[test]
fn one_byte_at_a_time_with_a_body() {
    let srv = start();
    let mut s = connect(srv.addr);
    let req = b"POST /17 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloPOST /1 HTTP/1.1\r\nHost: t\r\n\r\n";
    for b in req {
        s.write_all(std::slice::from_ref(b)).unwrap();
        s.flush().unwrap();
    }
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "1597");
    assert_eq!(read_response(&mut r).unwrap().body_str(), "1");
}

#[test]
fn chunked_body_is_decoded_and_discarded() {
    let srv = start();
    let s = connect(srv.addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(
        b"POST /12 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut r).unwrap().body_str(), "144");
    // The connection is still in sync: the next request is answered.
    w.write_all(&post("13")).unwrap();
    assert_eq!(read_response(&mut r).unwrap().body_str(), "233");
}

#[test]
fn smuggling_attempts_get_400_and_close() {
    let srv = start();
    for req in [
        &b"POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        b"POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
        b"POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
    ] {
        let mut s = connect(srv.addr);
        s.write_all(req).unwrap();
        s.write_all(&post("2")).unwrap(); // must never be answered
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r).unwrap();
        assert_eq!(resp.status, 400, "{}", String::from_utf8_lossy(req));
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(closed_by_server(&mut r), "closed without answering the smuggled request");
    }
}

#[test]
fn error_table() {
    let srv = start_with(
        http_demo::Config {
            limits: http_demo::conn::Limits {
                max_body_bytes: 100,
                ..Default::default()
            },
            ..config()
        },
        Arc::new(http_demo::fibonacci),
    );
    let cases: Vec<(Vec<u8>, u16, bool)> = vec![
        (b"POST /15 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 200, false),
        (b"GARBAGE\r\n\r\n".to_vec(), 400, true),
        (b"POST /15 HTTP/1.1\r\n\r\n".to_vec(), 400, true), // no Host
        (post("abc"), 404, false),
        (post(""), 404, false),
        (b"GET /15 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, false),
        (post("93"), 422, false),
        (post("-1"), 422, false),
        (post("99999999999999999999999"), 422, false),
        (
            format!(
                "POST /1 HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
                "a".repeat(9000)
            )
            .into_bytes(),
            431,
            true,
        ),
        (
            b"POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n".to_vec(),
            413,
            true,
        ),
        (
            b"POST /1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            501,
            true,
        ),
        (b"POST /1 HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505, true),
    ];
    for (req, status, closes) in cases {
        let mut s = connect(srv.addr);
        s.write_all(&req).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r).unwrap_or_else(|| {
            panic!(
                "no response to {:?}",
                String::from_utf8_lossy(&req[..40.min(req.len())])
            )
        });
        assert_eq!(
            resp.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&req[..40.min(req.len())])
        );
        if status == 405 {
            assert_eq!(resp.header("allow"), Some("POST"));
        }
        if status != 200 {
            assert!(resp
                .header("content-type")
                .unwrap()
                .starts_with("text/plain"));
            assert!(!resp.body.is_empty());
        }
        assert_eq!(
            resp.header("connection") == Some("close"),
            closes,
            "{status}"
        );
        if closes {
            assert!(closed_by_server(&mut r));
        }
    }
    // After all that, the server still serves.
    assert_eq!(roundtrip(srv.addr, &post("15")).body_str(), "610");
}

#[test]
fn stalled_request_gets_408_and_idle_connection_closes() {
    let limits = http_demo::conn::Limits {
        header_timeout_ms: 200,
        idle_timeout_ms: 300,
        ..Default::default()
    };
    let srv = start_with(
        http_demo::Config { limits, ..config() },
        Arc::new(http_demo::fibonacci),
    );
    let mut s = connect(srv.addr);
    s.write_all(b"POST /15 HTTP/1.1\r\nHo").unwrap();
    let start = Instant::now();
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r).unwrap();
    assert_eq!(resp.status, 408);
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert!(closed_by_server(&mut r));

    // Idle keep-alive: closed silently after the idle timeout.
    let mut s = connect(srv.addr);
    s.write_all(&post("5")).unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "5");
    let start = Instant::now();
    assert!(closed_by_server(&mut r));
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_stalled_client_does_not_delay_others() {
    let srv = start();
    let mut stalled = connect(srv.addr);
    stalled
        .write_all(b"POST /15 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(roundtrip(srv.addr, &post("15")).body_str(), "610");
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The stalled one completes when its body arrives.
    stalled.write_all(b"cdefghij").unwrap();
    let mut r = BufReader::new(stalled);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "610");
}

#[test]
fn panicking_handler_costs_one_request() {
    let handler = |n: i64| -> Result<i64, String> {
        if n == 7 {
            panic!("handler bug on 7");
        }
        Ok(n * 10)
    };
    let srv = start_with(config(), Arc::new(handler));
    let s = connect(srv.addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(&post("7")).unwrap();
    assert_eq!(read_response(&mut r).unwrap().status, 500);
    w.write_all(&post("8")).unwrap();
    assert_eq!(read_response(&mut r).unwrap().body_str(), "80");
}

#[test]
fn expect_100_continue() {
    let srv = start();
    let mut s = connect(srv.addr);
    s.write_all(
        b"POST /9 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"data").unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r).unwrap().body_str(), "34");
}

#[test]
fn many_threads_and_connections() {
    let srv = start_with(
        http_demo::Config {
            threads: 3,
            ..config()
        },
        Arc::new(http_demo::fibonacci),
    );
    let addr = srv.addr;
    let clients: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    let n = (t * 7 + i) % 90;
                    assert_eq!(
                        roundtrip(addr, &post(&n.to_string())).body_str(),
                        http_demo::fibonacci(n).unwrap().to_string()
                    );
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

#[test]
fn graceful_shutdown_answers_what_was_read_and_returns() {
    let srv = start();
    // An idle keep-alive connection and one with a request in the pipe.
    let idle = connect(srv.addr);
    let mut busy = connect(srv.addr);
    busy.write_all(&post("20")).unwrap();
    let mut busy_r = BufReader::new(busy.try_clone().unwrap());
    assert_eq!(read_response(&mut busy_r).unwrap().body_str(), "6765");
    let start = Instant::now();
    assert!(srv.stop().is_ok());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let mut idle_r = BufReader::new(idle);
    assert!(closed_by_server(&mut idle_r), "idle connection closed");
    assert!(closed_by_server(&mut busy_r));
}

#[test]
fn port_in_use_is_a_clear_error() {
    // std's listener has no SO_REUSEPORT, so it holds the port exclusively.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cfg2 = http_demo::Config {
        port: blocker.local_addr().unwrap().port(),
        ..config()
    };
    let err = http_demo::Server::bind(cfg2, http_demo::fibonacci).unwrap_err();
    assert!(err.to_string().contains("Address already in use"), "{err}");
}

/// Regression: a lingering close's shutdown(SHUT_WR) runs on an io-wq
/// worker and resolves the fd number late; closing the fd before it
/// completed let it shut down the next connection that reused the number.
#[test]
fn error_close_never_disturbs_the_next_connection() {
    let srv = start();
    let addr = srv.addr;
    let bad = b"POST /1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nHost: s\r\n\r\n";
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..60 {
                    let mut a = connect(addr);
                    a.write_all(bad).unwrap();
                    let mut ra = BufReader::new(a);
                    assert_eq!(read_response(&mut ra).unwrap().status, 400);
                    let mut b = connect(addr);
                    drop(ra); // close the first while the second is new
                    b.write_all(&post("12")).unwrap();
                    let mut rb = BufReader::new(b);
                    assert_eq!(
                        read_response(&mut rb)
                            .expect("the next connection is answered")
                            .body_str(),
                        "144"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A closing connection whose output far exceeds the socket buffers while
/// the client does not read: everything still arrives before the EOF.
#[test]
fn a_large_output_before_close_arrives_whole() {
    let srv = start();
    let s = connect(srv.addr);
    const N: usize = 20_000;
    let mut batch = Vec::new();
    for n in 0..N {
        batch.extend(post(&(n % 90).to_string()));
    }
    batch.extend(b"POST /10 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || s.write_all(&batch).unwrap())
    };
    std::thread::sleep(Duration::from_millis(300)); // let the send buffer fill
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s);
    for n in 0..N {
        let resp = read_response(&mut r).unwrap_or_else(|| panic!("response {n}"));
        assert_eq!(
            resp.body_str(),
            http_demo::fibonacci((n % 90) as i64).unwrap().to_string(),
            "response {n}"
        );
    }
    assert_eq!(read_response(&mut r).unwrap().body_str(), "55");
    assert!(closed_by_server(&mut r), "the server closes after the last");
    writer.join().unwrap();
}

/// The client resets the connection while the responses to its pipelined
/// requests, the last asking to close, are still being sent: the server
/// closes every such socket and goes on serving.
#[test]
fn reset_during_the_last_send_still_closes() {
    let srv = start();
    let before = open_sockets();
    for _ in 0..20 {
        let s = socket2_like_small_rcvbuf(srv.addr);
        let mut batch = Vec::new();
        // About 40 KiB of responses: under the output limit, so the last
        // request is read, but far more than the client's 4 KiB receive
        // buffer takes.
        for n in 0..400 {
            batch.extend(post(&(n % 90).to_string()));
        }
        batch.extend(b"POST /10 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let _ = (&s).write_all(&batch);
        std::thread::sleep(Duration::from_millis(20));
        // SO_LINGER 0: close sends a reset.
        rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).unwrap();
        drop(s);
    }
    eventually(
        Duration::from_secs(5),
        "the server closed every reset connection",
        || open_sockets() <= before,
    );
    assert_eq!(roundtrip(srv.addr, &post("12")).body_str(), "144");
}

/// Sockets open in this process (the server's listener and connections, and
/// any client still open).
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// A connected client socket with a small receive buffer, so the server's
/// sends stall.
fn socket2_like_small_rcvbuf(addr: std::net::SocketAddr) -> std::net::TcpStream {
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
    std::net::TcpStream::from(fd)
}
