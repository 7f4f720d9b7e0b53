//! Pure request parsing: bytes in, a request head, "need more bytes", or a
//! typed error with the status to answer. No I/O, no allocation on the happy
//! path. Built on `httparse`.
//!
//! What is decided here (and only here):
//! - framing: `Content-Length` (one value; identical repeats allowed),
//!   `Transfer-Encoding: chunked` (HTTP/1.1 only), both at once → 400;
//! - keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
//!   `Connection: keep-alive`;
//! - the route: `POST /<integer>` (an optional query string is ignored).

use crate::response::Status;

/// Most header lines a request may have.
pub const MAX_HEADERS: usize = 64;

/// How the request body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body (no `Content-Length`, or zero).
    None,
    /// Exactly this many bytes follow.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /<n>`.
    Compute(i64),
    /// A path of the form `/<integer>` whose number does not fit an `i64`.
    OutOfRange,
    /// `/<integer>` with another method.
    WrongMethod,
    /// Any other path.
    NotFound,
}

/// A parsed request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Bytes the head took (request line, headers, the blank line).
    pub len: usize,
    /// HTTP minor version (0 or 1).
    pub minor_version: u8,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// The body's framing.
    pub body: BodyKind,
    /// The route.
    pub route: Route,
    /// `Expect: 100-continue` was sent (HTTP/1.1 only: RFC 9110 §10.1.1
    /// says an HTTP/1.0 request's 100-continue is ignored).
    pub expect_continue: bool,
    /// The method is `HEAD`: the response is sent without its body.
    pub head_only: bool,
}

/// A request that cannot be served; the connection answers `status` and,
/// if `close`, closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The status to answer.
    pub status: Status,
    /// A short reason for the body.
    pub reason: &'static str,
}

impl ParseError {
    const fn new(status: Status, reason: &'static str) -> Self {
        ParseError { status, reason }
    }
}

/// The outcome of [`parse_head`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete head.
    Complete(Head),
    /// More bytes are needed.
    Partial,
}

/// Parses a request head from the start of `buf`.
///
/// `max_header_bytes` bounds the head: a head that is not complete within
/// that many bytes is a 431.
pub fn parse_head(buf: &[u8], max_header_bytes: usize) -> Result<Parsed, ParseError> {
    // Look at no byte past the limit: what lies beyond it must not change
    // the answer (a 431), or the answer would depend on how much arrived in
    // one read.
    let buf = &buf[..buf.len().min(max_header_bytes)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = match req.parse(buf) {
        Ok(s) => s,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ParseError::new(
                Status::HeadersTooLarge,
                "too many header fields",
            ))
        }
        Err(httparse::Error::Version) => {
            return Err(ParseError::new(
                Status::VersionNotSupported,
                "unsupported HTTP version",
            ))
        }
        Err(_) => return Err(ParseError::new(Status::BadRequest, "malformed request")),
    };
    let len = match status {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => {
            return if buf.len() >= max_header_bytes {
                Err(ParseError::new(
                    Status::HeadersTooLarge,
                    "request head too large",
                ))
            } else {
                Ok(Parsed::Partial)
            };
        }
    };
    if len > max_header_bytes {
        return Err(ParseError::new(
            Status::HeadersTooLarge,
            "request head too large",
        ));
    }
    // httparse fills these for a complete parse.
    let (Some(method), Some(path), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(ParseError::new(Status::BadRequest, "malformed request"));
    };

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut has_host = false;
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let v = parse_content_length(h.value)?;
            match content_length {
                Some(prev) if prev != v => {
                    return Err(ParseError::new(
                        Status::BadRequest,
                        "conflicting Content-Length",
                    ))
                }
                _ => content_length = Some(v),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if transfer_encoding {
                return Err(ParseError::new(
                    Status::NotImplemented,
                    "repeated Transfer-Encoding",
                ));
            }
            transfer_encoding = true;
            if trim(h.value).eq_ignore_ascii_case(b"chunked") {
                chunked = true;
            } else {
                return Err(ParseError::new(
                    Status::NotImplemented,
                    "only Transfer-Encoding: chunked is supported",
                ));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = trim(token);
                if token.eq_ignore_ascii_case(b"close") {
                    conn_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    conn_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("host") {
            if has_host {
                return Err(ParseError::new(Status::BadRequest, "repeated Host"));
            }
            has_host = true;
        } else if name.eq_ignore_ascii_case("expect") {
            if trim(h.value).eq_ignore_ascii_case(b"100-continue") {
                // An HTTP/1.0 client does not wait for a 100 (RFC 9110
                // §10.1.1: the server MUST ignore the expectation).
                expect_continue = minor_version == 1;
            } else {
                return Err(ParseError::new(
                    Status::ExpectationFailed,
                    "unsupported expectation",
                ));
            }
        }
    }
    if transfer_encoding && content_length.is_some() {
        return Err(ParseError::new(
            Status::BadRequest,
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if minor_version == 1 && !has_host {
        return Err(ParseError::new(Status::BadRequest, "missing Host header"));
    }
    if chunked && minor_version == 0 {
        return Err(ParseError::new(
            Status::BadRequest,
            "chunked encoding in HTTP/1.0",
        ));
    }
    let body = if chunked {
        BodyKind::Chunked
    } else {
        match content_length {
            None | Some(0) => BodyKind::None,
            Some(n) => BodyKind::Length(n),
        }
    };
    let keep_alive = if minor_version == 1 {
        !conn_close
    } else {
        conn_keep_alive && !conn_close
    };
    Ok(Parsed::Complete(Head {
        len,
        minor_version,
        keep_alive,
        body,
        route: route(method, path),
        expect_continue,
        head_only: method == "HEAD",
    }))
}

fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    const BAD: ParseError = ParseError::new(Status::BadRequest, "invalid Content-Length");
    let v = trim(value);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(BAD);
    }
    v.iter()
        .try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(BAD)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// Maps method and target to a [`Route`]. The target may be in origin form
/// (`/15`) or absolute form (`http://host/15`, RFC 9112 §3.2.2, which a
/// server must accept).
pub fn route(method: &str, target: &str) -> Route {
    let target = origin_form(target);
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let Some(num) = path.strip_prefix('/') else {
        return Route::NotFound;
    };
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Route::NotFound;
    }
    if method != "POST" {
        return Route::WrongMethod;
    }
    match num.parse::<i64>() {
        Ok(n) => Route::Compute(n),
        Err(_) => Route::OutOfRange,
    }
}

/// The path and query of an absolute-form target (`http://host:8000/15?x`
/// → `/15?x`; `http://host` → `/`); any other target as it is.
fn origin_form(target: &str) -> &str {
    let Some(scheme_end) = target.find("://") else {
        return target;
    };
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return target;
    }
    let rest = &target[scheme_end + 3..];
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
        _ => "/",
    }
}

/// Incremental decoder of a chunked body, discarding the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Data bytes seen so far.
    pub body_bytes: u64,
    /// Bytes of the current size or trailer line.
    line_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading hex digits of a chunk size.
    Size { value: u64, digits: u8 },
    /// After the size: an extension until CR.
    Extension { value: u64 },
    /// Expecting LF after the size line's CR.
    SizeLf { value: u64 },
    /// `n` data bytes left in this chunk.
    Data(u64),
    /// Expecting CR after chunk data.
    DataCr,
    /// Expecting LF after chunk data.
    DataLf,
    /// In the trailer section, at the start of a line.
    TrailerLineStart,
    /// Inside a trailer line.
    TrailerLine,
    /// Expecting LF of a trailer line.
    TrailerLf { empty: bool },
    /// Done.
    Done,
}

/// Progress of a [`ChunkedDecoder::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkProgress {
    /// All of the input was consumed; the body goes on.
    NeedMore,
    /// The body ended after this many input bytes.
    Done(usize),
}

/// Longest chunk-size or trailer line accepted.
const MAX_CHUNK_LINE: usize = 4096;

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub const fn new() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size {
                value: 0,
                digits: 0,
            },
            body_bytes: 0,
            line_bytes: 0,
        }
    }

    /// Feeds body bytes. `max_body` bounds the decoded size (413 past it).
    pub fn feed(&mut self, input: &[u8], max_body: u64) -> Result<ChunkProgress, ParseError> {
        const BAD: ParseError = ParseError::new(Status::BadRequest, "malformed chunked body");
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                ChunkState::Data(left) => {
                    let take = (left.min((input.len() - i) as u64)) as usize;
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(left)
                    };
                    continue;
                }
                ChunkState::Size { value, digits } => {
                    self.line_bytes += 1;
                    if let Some(d) = (b as char).to_digit(16) {
                        // Leading zeros are not significant (`0003` is 3;
                        // the line length limit bounds how many may come):
                        // the limit is on the value, 15 hex digits at most.
                        if value >= 1 << 56 {
                            return Err(ParseError::new(
                                Status::ContentTooLarge,
                                "chunk too large",
                            ));
                        }
                        self.state = ChunkState::Size {
                            value: value * 16 + u64::from(d),
                            digits: digits.saturating_add(1),
                        };
                    } else if digits == 0 {
                        return Err(BAD);
                    } else if b == b'\r' {
                        self.state = ChunkState::SizeLf { value };
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = ChunkState::Extension { value };
                    } else {
                        return Err(BAD);
                    }
                }
                ChunkState::Extension { value } => {
                    self.line_bytes += 1;
                    if b == b'\r' {
                        self.state = ChunkState::SizeLf { value };
                    } else if b == b'\n' {
                        return Err(BAD);
                    }
                }
                ChunkState::SizeLf { value } => {
                    if b != b'\n' {
                        return Err(BAD);
                    }
                    self.line_bytes = 0;
                    if value == 0 {
                        self.state = ChunkState::TrailerLineStart;
                    } else {
                        self.body_bytes = self.body_bytes.saturating_add(value);
                        if self.body_bytes > max_body {
                            return Err(ParseError::new(
                                Status::ContentTooLarge,
                                "request body too large",
                            ));
                        }
                        self.state = ChunkState::Data(value);
                    }
                }
                ChunkState::DataCr => {
                    if b != b'\r' {
                        return Err(BAD);
                    }
                    self.state = ChunkState::DataLf;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return Err(BAD);
                    }
                    self.state = ChunkState::Size {
                        value: 0,
                        digits: 0,
                    };
                }
                ChunkState::TrailerLineStart => {
                    self.line_bytes += 1;
                    self.state = if b == b'\r' {
                        ChunkState::TrailerLf { empty: true }
                    } else if b == b'\n' {
                        return Err(BAD);
                    } else {
                        ChunkState::TrailerLine
                    };
                }
                ChunkState::TrailerLine => {
                    self.line_bytes += 1;
                    if b == b'\r' {
                        self.state = ChunkState::TrailerLf { empty: false };
                    } else if b == b'\n' {
                        return Err(BAD);
                    }
                }
                ChunkState::TrailerLf { empty } => {
                    if b != b'\n' {
                        return Err(BAD);
                    }
                    if empty {
                        self.state = ChunkState::Done;
                        return Ok(ChunkProgress::Done(i + 1));
                    }
                    self.state = ChunkState::TrailerLineStart;
                }
                ChunkState::Done => return Ok(ChunkProgress::Done(i)),
            }
            if self.line_bytes > MAX_CHUNK_LINE {
                return Err(ParseError::new(
                    Status::HeadersTooLarge,
                    "chunk line too long",
                ));
            }
            i += 1;
        }
        Ok(ChunkProgress::NeedMore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(s: &str) -> Result<Parsed, ParseError> {
        parse_head(s.as_bytes(), 8192)
    }

    fn complete(s: &str) -> Head {
        match head(s) {
            Ok(Parsed::Complete(h)) => h,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    #[test]
    fn simple_post() {
        let h = complete("POST /15 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(h.route, Route::Compute(15));
        assert!(h.keep_alive);
        assert_eq!(h.body, BodyKind::None);
        assert_eq!(h.len, 30);
    }

    #[test]
    fn partial_and_too_large() {
        assert_eq!(head("POST /15 HTTP/1.1\r\nHost"), Ok(Parsed::Partial));
        let big = format!("POST /1 HTTP/1.1\r\nHost: x\r\nX: {}\r\n", "a".repeat(9000));
        assert_eq!(head(&big).unwrap_err().status, Status::HeadersTooLarge);
        let mut many = String::from("POST /1 HTTP/1.1\r\nHost: x\r\n");
        for i in 0..70 {
            many.push_str(&format!("X{i}: y\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(head(&many).unwrap_err().status, Status::HeadersTooLarge);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!complete("POST /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!complete("POST /1 HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete("POST /1 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(
            !complete("POST /1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n")
                .keep_alive
        );
    }

    #[test]
    fn framing_conflicts_are_400() {
        let both = "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(head(both).unwrap_err().status, Status::BadRequest);
        let two = "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(head(two).unwrap_err().status, Status::BadRequest);
        let same = "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(complete(same).body, BodyKind::Length(3));
        for bad in ["-1", "+3", "3 4", "0x10", "", "99999999999999999999"] {
            let r = format!("POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(head(&r).unwrap_err().status, Status::BadRequest, "{bad:?}");
        }
        let gzip = "POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(head(gzip).unwrap_err().status, Status::NotImplemented);
        let no_host = "POST /1 HTTP/1.1\r\n\r\n";
        assert_eq!(head(no_host).unwrap_err().status, Status::BadRequest);
    }

    #[test]
    fn routes() {
        assert_eq!(route("POST", "/0"), Route::Compute(0));
        assert_eq!(route("POST", "/-3"), Route::Compute(-3));
        assert_eq!(route("POST", "/17?x=1"), Route::Compute(17));
        assert_eq!(route("GET", "/17"), Route::WrongMethod);
        assert_eq!(route("POST", "/abc"), Route::NotFound);
        assert_eq!(route("POST", "/"), Route::NotFound);
        assert_eq!(route("POST", "/1/2"), Route::NotFound);
        assert_eq!(route("POST", "/99999999999999999999999"), Route::OutOfRange);
        assert_eq!(route("POST", "*"), Route::NotFound);
    }

    #[test]
    fn chunked_decodes_across_any_split() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for split in 0..body.len() {
            let mut d = ChunkedDecoder::new();
            let (a, b) = body.split_at(split);
            let done = match d.feed(a, 100).unwrap() {
                ChunkProgress::Done(n) => n,
                ChunkProgress::NeedMore => match d.feed(b, 100).unwrap() {
                    ChunkProgress::Done(n) => a.len() + n,
                    ChunkProgress::NeedMore => panic!("not done at split {split}"),
                },
            };
            assert_eq!(&body[done..], b"NEXT", "split {split}");
            assert_eq!(d.body_bytes, 9);
        }
    }

    #[test]
    fn chunked_errors() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(b"zz\r\n", 100).unwrap_err().status,
            Status::BadRequest
        );
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(b"ff\r\n", 100).unwrap_err().status,
            Status::ContentTooLarge
        );
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(b"ffffffffffffffffff\r\n", u64::MAX)
                .unwrap_err()
                .status,
            Status::ContentTooLarge
        );
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(b"1\r\nab", 100).unwrap_err().status,
            Status::BadRequest
        );
    }
}
