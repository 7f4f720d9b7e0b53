//! Properties of the request parser and the connection state machine.
//!
//! Included by path from `http-demo/tests/fuzz_corpus.rs`, so every corpus
//! file is replayed by `cargo test` without cargo-fuzz.

use http_demo::conn::{CloseMode, Conn, Limits};
use http_demo::handler::{Handler, HandlerError};
use http_demo::parse::{self, Parsed};
use http_demo::response::Status;

/// Limits small enough that the fuzzer reaches them.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_header_bytes: 512,
        max_body_bytes: 256,
        max_pending_output: 600,
        ..Limits::default()
    }
}

/// Slack for one response beyond the output limit (a 100 Continue plus the
/// longest response this server writes).
const ONE_RESPONSE: usize = 400;

/// Fibonacci, except that 7 fails (a 500), so that path is fuzzed too
/// without a panic (libFuzzer aborts on any panic, even a caught one).
struct FuzzHandler;

impl Handler for FuzzHandler {
    fn call(&self, n: i64) -> Result<i64, HandlerError> {
        match n {
            7 => Err(HandlerError::Failed("fails on 7".into())),
            _ => http_demo::fibonacci(n).map_err(HandlerError::Domain),
        }
    }
}

const HANDLER: &FuzzHandler = &FuzzHandler;

/// Splits a response stream into (status code, whole response) pairs,
/// checking each is well-formed.
///
/// A response to `HEAD` is its head alone, with the `Content-Length` a
/// `POST` would get (RFC 9110 §9.3.2). The stream does not say which
/// request was a `HEAD`, but this server's bodies (digits or a short text)
/// never begin with `HTTP/`: a head followed directly by another response,
/// or by the end of the stream, is taken as a `HEAD` response.
pub fn split_responses(mut out: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut v = Vec::new();
    while !out.is_empty() {
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head")
            + 4;
        let head = std::str::from_utf8(&out[..end]).expect("ASCII head");
        let code: u16 = head[9..12].parse().expect("a status code");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |n| n.parse().expect("a length"));
        if code != 100 {
            assert!(head.contains("Content-Length: "), "{head}");
        }
        let rest = &out[end..];
        let len = if rest.is_empty() || rest.starts_with(b"HTTP/") {
            0 // a HEAD response
        } else {
            len
        };
        assert!(out.len() >= end + len, "a response is cut short");
        v.push((code, out[..end + len].to_vec()));
        out = &out[end + len..];
    }
    v
}

/// `parse_request`: the parser never panics and never claims more bytes
/// than it was given; whatever the server answers is a status of its table.
pub fn parse_request(data: &[u8]) {
    let limits = fuzz_limits();
    match parse::parse_head(data, limits.max_header_bytes) {
        Ok(Parsed::Complete(h)) => {
            assert!(h.len <= data.len());
            assert!(h.len <= limits.max_header_bytes);
        }
        Ok(Parsed::Partial) => assert!(data.len() < limits.max_header_bytes),
        Err(e) => assert!(Status::ALL.contains(&e.status)),
    }
    let mut conn = Conn::new(0);
    conn.on_data(data, 0, &limits, HANDLER);
    let codes: Vec<u16> = Status::ALL.iter().map(|s| s.code()).chain([100]).collect();
    for (code, _) in split_responses(conn.output()) {
        assert!(codes.contains(&code), "status {code} is not in the table");
    }
}

/// Drives a connection like the I/O loop does: feeds `chunks`, taking the
/// output whenever the connection stops reading. Returns all output and the
/// close decision, and checks the memory bounds after every step.
pub fn drive(chunks: &[&[u8]], limits: &Limits) -> (Vec<u8>, Option<CloseMode>, u64) {
    let mut conn = Conn::new(0);
    let mut all = Vec::new();
    let mut sending = Vec::new();
    let mut drain = |conn: &mut Conn, all: &mut Vec<u8>| {
        for _ in 0..10_000 {
            if conn.wants_read(limits) || conn.close_mode().is_some() {
                break;
            }
            conn.take_output(&mut sending);
            all.extend_from_slice(&sending);
            sending.clear();
            conn.resume(0, limits, HANDLER);
        }
    };
    for chunk in chunks {
        drain(&mut conn, &mut all);
        conn.on_data(chunk, 0, limits, HANDLER);
        assert!(
            conn.buffered_input() <= limits.max_header_bytes + chunk.len(),
            "input buffered {} > limit + chunk {}",
            conn.buffered_input(),
            chunk.len()
        );
        assert!(
            conn.output().len() <= limits.max_pending_output + ONE_RESPONSE,
            "output buffered {}",
            conn.output().len()
        );
    }
    drain(&mut conn, &mut all);
    all.extend_from_slice(conn.output());
    (all, conn.close_mode(), conn.requests)
}

/// `conn_chunked`: the first bytes choose cut points; the rest is the
/// stream. Responses and the close decision must be the same as when the
/// stream arrives in one piece; memory stays bounded; each request gets one
/// response until a close.
pub fn conn_chunked(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let ncuts = usize::from(data[0] % 16);
    let (cuts, stream) = data[1..].split_at(ncuts.min(data.len() - 1));
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c)).collect();
    let mut acc = 0;
    for p in &mut points {
        acc += *p + 1;
        *p = acc.min(stream.len());
    }
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for &p in &points {
        chunks.push(&stream[start..p]);
        start = p;
    }
    chunks.push(&stream[start..]);

    let limits = fuzz_limits();
    let (whole, whole_close, whole_n) = drive(&[stream], &limits);
    let (split, split_close, split_n) = drive(&chunks, &limits);
    assert_eq!(
        whole, split,
        "responses depend on the read boundaries {points:?}"
    );
    assert_eq!(
        whole_close, split_close,
        "close decision depends on {points:?}"
    );
    assert_eq!(whole_n, split_n);
    let responses = split_responses(&whole);
    let finals = responses.iter().filter(|(c, _)| *c != 100).count() as u64;
    assert_eq!(finals, whole_n, "exactly one response per request");
    // Only the last response may close.
    for (i, (_, r)) in responses.iter().enumerate() {
        let closes = r.windows(19).any(|w| w == b"Connection: close\r\n");
        if closes {
            assert_eq!(i, responses.len() - 1, "a response after the closing one");
        }
    }
}
