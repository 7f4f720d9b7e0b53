//! The soak client: mixed valid and invalid requests over many keep-alive
//! connections, every answer checked. Used by `benches --bin soak` (the
//! 1,000,000-request run) and, included by path, by http-demo's reliability
//! test (the 100,000-request version in CI).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What one request is and what must come back.
fn request(i: u64) -> (Vec<u8>, u16, Option<String>, bool) {
    let n = (i * 7919) % 100;
    match i % 10 {
        // 422: outside fib's domain.
        7 => (
            format!("POST /{} HTTP/1.1\r\nHost: s\r\n\r\n", 93 + n).into_bytes(),
            422,
            None,
            false,
        ),
        // 405.
        8 => (
            format!("GET /{n} HTTP/1.1\r\nHost: s\r\n\r\n").into_bytes(),
            405,
            None,
            false,
        ),
        // 404, with a body to discard.
        9 if i % 20 == 9 => (
            b"POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            404,
            None,
            false,
        ),
        // 400: the server closes; the client reconnects.
        9 => (
            b"POST /1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nHost: s\r\n\r\n"
                .to_vec(),
            400,
            None,
            true,
        ),
        _ => {
            let n = n % 93;
            let want = {
                let (mut a, mut b) = (0i64, 1i64);
                for _ in 0..n {
                    let t = a.wrapping_add(b);
                    a = b;
                    b = t;
                }
                a
            };
            (
                format!("POST /{n} HTTP/1.1\r\nHost: s\r\n\r\n").into_bytes(),
                200,
                Some(want.to_string()),
                false,
            )
        }
    }
}

fn connect(port: u16) -> BufReader<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    BufReader::new(s)
}

/// Reads one response: (status, body).
fn read_response(r: &mut BufReader<TcpStream>) -> Option<(u16, String)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())?;
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8(body).ok()?))
}

/// Counts of a soak run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Requests answered as expected.
    pub ok: u64,
    /// Requests answered wrongly (status or body), or not at all.
    pub wrong: u64,
}

/// Sends `total` requests over `conns` connections (one thread each),
/// starting at request number `first`; checks every answer.
pub fn soak(port: u16, conns: u64, first: u64, total: u64) -> Tally {
    let ok = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|t| {
            let (ok, wrong) = (ok.clone(), wrong.clone());
            std::thread::spawn(move || {
                let mut r = connect(port);
                let mut i = first + t;
                while i < first + total {
                    let (req, status, body, closes) = request(i);
                    if r.get_mut().write_all(&req).is_err() {
                        wrong.fetch_add(1, Ordering::Relaxed);
                        r = connect(port);
                        i += conns;
                        continue;
                    }
                    match read_response(&mut r) {
                        Some((s, b))
                            if s == status && body.as_ref().is_none_or(|want| *want == b) =>
                        {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => {
                            eprintln!("soak: request {i}: wanted {status} {body:?}, got {other:?}");
                            wrong.fetch_add(1, Ordering::Relaxed);
                            // Start clean so one failure is counted once.
                            r = connect(port);
                            i += conns;
                            continue;
                        }
                    }
                    if closes {
                        r = connect(port);
                    }
                    i += conns;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("soak thread");
    }
    Tally {
        ok: ok.load(Ordering::Relaxed),
        wrong: wrong.load(Ordering::Relaxed),
    }
}
