//! Status codes and response serialisation. Pure: writes bytes into a
//! `Vec<u8>`.

/// The statuses the server answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 200: the computed number.
    Ok,
    /// 400: malformed request line, headers or framing.
    BadRequest,
    /// 404: a path other than `/<integer>`.
    NotFound,
    /// 405: another method on `/<integer>` (with `Allow: POST`).
    MethodNotAllowed,
    /// 408: the request stalled past the header timeout.
    RequestTimeout,
    /// 413: body over the limit.
    ContentTooLarge,
    /// 417: an `Expect` other than `100-continue`.
    ExpectationFailed,
    /// 422: the number is outside the handler's domain.
    UnprocessableContent,
    /// 431: headers over the limit.
    HeadersTooLarge,
    /// 500: the handler panicked or failed.
    InternalError,
    /// 501: a transfer coding other than chunked.
    NotImplemented,
    /// 503: the server is at its connection limit.
    ServiceUnavailable,
    /// 505: an HTTP version other than 1.0/1.1.
    VersionNotSupported,
}

impl Status {
    /// The numeric code.
    pub const fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::ContentTooLarge => 413,
            Status::ExpectationFailed => 417,
            Status::UnprocessableContent => 422,
            Status::HeadersTooLarge => 431,
            Status::InternalError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// The status line from the code on, e.g. `"404 Not Found"`.
    pub const fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::RequestTimeout => "408 Request Timeout",
            Status::ContentTooLarge => "413 Content Too Large",
            Status::ExpectationFailed => "417 Expectation Failed",
            Status::UnprocessableContent => "422 Unprocessable Content",
            Status::HeadersTooLarge => "431 Request Header Fields Too Large",
            Status::InternalError => "500 Internal Server Error",
            Status::NotImplemented => "501 Not Implemented",
            Status::ServiceUnavailable => "503 Service Unavailable",
            Status::VersionNotSupported => "505 HTTP Version Not Supported",
        }
    }

    /// Every status, for tests and fuzz checks.
    pub const ALL: [Status; 13] = [
        Status::Ok,
        Status::BadRequest,
        Status::NotFound,
        Status::MethodNotAllowed,
        Status::RequestTimeout,
        Status::ContentTooLarge,
        Status::ExpectationFailed,
        Status::UnprocessableContent,
        Status::HeadersTooLarge,
        Status::InternalError,
        Status::NotImplemented,
        Status::ServiceUnavailable,
        Status::VersionNotSupported,
    ];
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub fn fmt_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Appends a `200 OK` with the JSON number `value`.
pub fn write_ok(out: &mut Vec<u8>, value: i64, keep_alive: bool, minor_version: u8) {
    let mut digits = [0u8; 20];
    let body = fmt_i64(value, &mut digits);
    write_head(
        out,
        Status::Ok,
        "application/json",
        body.len(),
        keep_alive,
        minor_version,
    );
    out.extend_from_slice(body);
}

/// Appends an error response with a short plain-text body.
pub fn write_error(
    out: &mut Vec<u8>,
    status: Status,
    reason: &str,
    keep_alive: bool,
    minor_version: u8,
) {
    write_head(
        out,
        status,
        "text/plain; charset=utf-8",
        reason.len() + 1,
        keep_alive,
        minor_version,
    );
    out.extend_from_slice(reason.as_bytes());
    out.push(b'\n');
}

/// The interim `100 Continue` response.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_type: &str,
    len: usize,
    keep_alive: bool,
    minor: u8,
) {
    out.extend_from_slice(if minor == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status.line().as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    let mut digits = [0u8; 20];
    out.extend_from_slice(fmt_i64(len as i64, &mut digits));
    if status == Status::MethodNotAllowed {
        out.extend_from_slice(b"\r\nAllow: POST");
    }
    if !keep_alive {
        out.extend_from_slice(b"\r\nConnection: close");
    } else if minor == 0 {
        out.extend_from_slice(b"\r\nConnection: keep-alive");
    }
    out.extend_from_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        let mut b = [0u8; 20];
        assert_eq!(fmt_i64(0, &mut b), b"0");
        assert_eq!(fmt_i64(610, &mut b), b"610");
        assert_eq!(fmt_i64(-42, &mut b), b"-42");
        assert_eq!(fmt_i64(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(fmt_i64(i64::MAX, &mut b), b"9223372036854775807");
    }

    #[test]
    fn ok_response_bytes() {
        let mut out = Vec::new();
        write_ok(&mut out, 610, true, 1);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n610"
        );
        out.clear();
        write_ok(&mut out, 1, true, 0);
        assert!(out.starts_with(b"HTTP/1.0 200 OK\r\n"));
        assert!(out.windows(24).any(|w| w == b"Connection: keep-alive\r\n"));
    }

    #[test]
    fn error_response_bytes() {
        let mut out = Vec::new();
        write_error(&mut out, Status::MethodNotAllowed, "use POST", true, 1);
        assert_eq!(
            out,
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nAllow: POST\r\n\r\nuse POST\n"
        );
        out.clear();
        write_error(&mut out, Status::BadRequest, "bad", false, 1);
        assert!(out.ends_with(b"Connection: close\r\n\r\nbad\n"));
    }
}
