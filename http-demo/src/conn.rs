//! The connection state machine, sans I/O: bytes received go in, bytes to
//! send and a close decision come out. It holds no fd and no ring; the I/O
//! loop (`worker/`) moves bytes between it and the socket, asking it one
//! question after every event ([`Conn::next`]), and the fuzzer drives it
//! directly.
//!
//! Invariants:
//! - responses come out in request order, exactly one per request, until the
//!   connection decides to close (after which no more input is processed);
//! - the result does not depend on how the input was split into reads;
//! - buffered input is bounded: a request head is at most
//!   `max_header_bytes`, bodies are discarded as they arrive, and while
//!   `max_pending_output` bytes of responses wait to be sent no more input is
//!   processed (the I/O loop stops reading).

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::handler::{Handler, HandlerError};

/// Calls the handler; a panic is a failure (500), not a crash.
pub fn call(handler: &dyn Handler, n: i64) -> Result<i64, HandlerError> {
    catch_unwind(AssertUnwindSafe(|| handler.call(n)))
        .unwrap_or_else(|_| Err(HandlerError::Failed("the handler failed".into())))
}
use crate::parse::{self, BodyKind, ChunkProgress, ChunkedDecoder, Head, Parsed, Route};
use crate::response::{self, Status};

/// Limits and timeouts of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line and headers), default 8 KiB → 431.
    pub max_header_bytes: usize,
    /// Largest request body, default 1 MiB → 413.
    pub max_body_bytes: u64,
    /// Response bytes that may wait unsent before input processing pauses.
    pub max_pending_output: usize,
    /// A request begun but not complete after this long → 408 and close.
    pub header_timeout_ms: u64,
    /// An idle keep-alive connection is closed after this long.
    pub idle_timeout_ms: u64,
    /// A connection whose send makes no progress for this long (the client
    /// does not read) is closed. Enforced by the I/O loop.
    pub send_timeout_ms: u64,
    /// After an error response, how long to drain the client's input before
    /// closing (so the response is not lost to a reset).
    pub linger_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 8 * 1024,
            max_body_bytes: 1024 * 1024,
            max_pending_output: 64 * 1024,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            send_timeout_ms: 30_000,
            linger_ms: 1_000,
        }
    }
}

/// How to close once the output is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// Close the socket.
    Clean,
    /// Shut down the write side, read and discard until the peer closes or
    /// `linger_ms` passes, then close. Used after error responses, when
    /// unread input could otherwise turn the close into a reset.
    Linger,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    route: Route,
    keep_alive: bool,
    minor_version: u8,
    head_only: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Discarding `left` body bytes, then replying.
    Body { left: u64, reply: Reply },
    /// Decoding and discarding a chunked body, then replying.
    Chunked { dec: ChunkedDecoder, reply: Reply },
    /// Waiting for a handler that may block to compute `n` off the I/O
    /// thread (`dispatched` once the I/O loop has taken the call).
    Calling {
        n: i64,
        reply: Reply,
        dispatched: bool,
    },
    /// No more input is processed.
    Closing(CloseMode),
    /// The connection broke (reset, failed send): close without sending
    /// anything more.
    Aborted,
}

/// What the I/O loop should do next with a connection: the one question it
/// asks ([`Conn::next`]) after every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Output waits and none is in flight: take it
    /// ([`take_output`](Conn::take_output)), send it, then
    /// [`resume`](Conn::resume) and ask again. `read`: keep receiving.
    Send {
        /// Keep receiving meanwhile.
        read: bool,
    },
    /// A handler call that may block waits: take it
    /// ([`take_call`](Conn::take_call)) and run it off the I/O thread.
    Call {
        /// Keep receiving meanwhile.
        read: bool,
    },
    /// Everything is sent and the close lingers: shut down the write side,
    /// [`start_linger`](Conn::start_linger), and keep receiving (the input
    /// is discarded) until the peer's EOF or the linger deadline.
    ShutdownWrite,
    /// Close the socket: everything is sent, or the connection broke.
    Close,
    /// Nothing to send: keep receiving (`true`) or pause receiving
    /// (`false`: output backlog, or a send still in flight before a close).
    Read(bool),
}

/// One HTTP/1.1 connection's protocol state.
#[derive(Debug)]
pub struct Conn {
    inbuf: Vec<u8>,
    out: Vec<u8>,
    state: State,
    /// When the first byte of the current request arrived (ms).
    request_started: Option<u64>,
    last_activity: u64,
    linger_deadline: Option<u64>,
    shutting_down: bool,
    /// The peer has shut down its write side: answer what has arrived,
    /// then close.
    peer_closed: bool,
    /// Input processing stopped at the output limit with input left over.
    paused: bool,
    /// Output taken by the I/O loop and not yet reported sent.
    output_in_flight: bool,
    /// Requests answered.
    pub requests: u64,
}

impl Conn {
    /// A fresh connection accepted at `now` (ms, any monotonic origin).
    pub fn new(now: u64) -> Self {
        Conn {
            inbuf: Vec::new(),
            out: Vec::new(),
            state: State::Head,
            request_started: None,
            last_activity: now,
            linger_deadline: None,
            shutting_down: false,
            peer_closed: false,
            paused: false,
            output_in_flight: false,
            requests: 0,
        }
    }

    /// The one question the I/O loop asks: what to do next. See [`Next`].
    pub fn next(&self, limits: &Limits) -> Next {
        if self.state == State::Aborted {
            return Next::Close;
        }
        let read = self.wants_read(limits);
        if !self.out.is_empty() && !self.output_in_flight {
            return Next::Send { read };
        }
        if self.call_pending() {
            return Next::Call { read };
        }
        if self.output_in_flight || !self.out.is_empty() {
            return Next::Read(read);
        }
        match self.state {
            State::Closing(CloseMode::Clean) => Next::Close,
            State::Closing(CloseMode::Linger) if self.linger_deadline.is_none() => {
                Next::ShutdownWrite
            }
            _ => Next::Read(read),
        }
    }

    /// When [`on_tick`](Self::on_tick) next has something to do (ms), if
    /// ever: the header timeout of a request in progress, the idle timeout
    /// of an idle connection, the end of a lingering close.
    pub fn deadline(&self, limits: &Limits) -> Option<u64> {
        match self.state {
            State::Closing(CloseMode::Linger) => self.linger_deadline,
            State::Closing(CloseMode::Clean) | State::Aborted | State::Calling { .. } => None,
            _ => match self.request_started {
                Some(start) => Some(start.saturating_add(limits.header_timeout_ms)),
                None if self.out.is_empty() => {
                    Some(self.last_activity.saturating_add(limits.idle_timeout_ms))
                }
                None => None,
            },
        }
    }

    /// The output taken with [`take_output`](Self::take_output) has been
    /// sent in full.
    pub fn on_sent(&mut self) {
        self.output_in_flight = false;
    }

    /// A connection refused because the server is at its connection limit:
    /// a `503` with `Connection: close`, then a lingering close.
    pub fn refused(now: u64) -> Self {
        let mut c = Conn::new(now);
        response::write_error(
            &mut c.out,
            Status::ServiceUnavailable,
            "too many connections",
            false,
            1,
        );
        c.state = State::Closing(CloseMode::Linger);
        c
    }

    /// Feeds received bytes.
    pub fn on_data(&mut self, data: &[u8], now: u64, limits: &Limits, handler: &dyn Handler) {
        if self.state == State::Aborted {
            return;
        }
        self.last_activity = now;
        if let State::Closing(mode) = self.state {
            // Draining: input is discarded. Bytes after a clean-close
            // decision mean the close must linger, wherever the read
            // boundary fell (the same decision as `keep_leftover`).
            if mode == CloseMode::Clean && !data.is_empty() && self.linger_deadline.is_none() {
                self.state = State::Closing(CloseMode::Linger);
            }
            return;
        }
        if self.inbuf.is_empty() {
            // Fast path: parse straight from the received bytes; keep only
            // what is left over.
            let used = self.process(data, now, limits, handler);
            self.keep_leftover(&data[used..]);
        } else {
            // Re-parse the whole buffered head: httparse can reject a
            // request before its first newline, and the answer must not
            // depend on where reads were cut. The head is at most
            // `max_header_bytes`, which bounds the cost.
            self.inbuf.extend_from_slice(data);
            self.process_buffered(now, limits, handler);
        }
    }

    /// Processes `inbuf`, keeping what is left over.
    fn process_buffered(&mut self, now: u64, limits: &Limits, handler: &dyn Handler) {
        let buf = std::mem::take(&mut self.inbuf);
        let used = self.process(&buf, now, limits, handler);
        self.inbuf = buf;
        self.inbuf.drain(..used);
        if let State::Closing(_) = self.state {
            let rest = std::mem::take(&mut self.inbuf);
            self.keep_leftover(&rest);
        }
    }

    fn keep_leftover(&mut self, rest: &[u8]) {
        if rest.is_empty() {
            return;
        }
        match self.state {
            State::Closing(CloseMode::Clean) => {
                // Input after a closing request: drain it rather than reset.
                self.state = State::Closing(CloseMode::Linger);
            }
            State::Closing(CloseMode::Linger) => {}
            _ => self.inbuf.extend_from_slice(rest),
        }
    }

    /// Processes requests from `buf`; returns how many bytes were used.
    fn process(&mut self, buf: &[u8], now: u64, limits: &Limits, handler: &dyn Handler) -> usize {
        let mut pos = 0;
        self.paused = false;
        loop {
            if self.out.len() >= limits.max_pending_output {
                // Paused until the output drains.
                self.paused = pos < buf.len();
                break;
            }
            match self.state {
                State::Head => {
                    if pos == buf.len() {
                        break;
                    }
                    self.request_started.get_or_insert(now);
                    match parse::parse_head(&buf[pos..], limits.max_header_bytes) {
                        Ok(Parsed::Partial) => break,
                        Err(e) => {
                            self.fail(e.status, e.reason, 1);
                            break;
                        }
                        Ok(Parsed::Complete(head)) => {
                            pos += head.len;
                            self.start_request(head, limits, handler);
                        }
                    }
                }
                State::Body { left, reply } => {
                    let take = left.min((buf.len() - pos) as u64);
                    pos += take as usize;
                    if take == left {
                        self.finish(reply, handler);
                    } else {
                        self.state = State::Body {
                            left: left - take,
                            reply,
                        };
                        break;
                    }
                }
                State::Chunked { mut dec, reply } => {
                    match dec.feed(&buf[pos..], limits.max_body_bytes) {
                        Ok(ChunkProgress::NeedMore) => {
                            pos = buf.len();
                            self.state = State::Chunked { dec, reply };
                            break;
                        }
                        Ok(ChunkProgress::Done(n)) => {
                            pos += n;
                            self.finish(reply, handler);
                        }
                        Err(e) => {
                            self.fail(e.status, e.reason, reply.minor_version);
                            break;
                        }
                    }
                }
                State::Closing(_) | State::Calling { .. } | State::Aborted => break,
            }
        }
        pos
    }

    fn start_request(&mut self, head: Head, limits: &Limits, handler: &dyn Handler) {
        let reply = Reply {
            route: head.route,
            keep_alive: head.keep_alive,
            minor_version: head.minor_version,
            head_only: head.head_only,
        };
        match head.body {
            BodyKind::None => self.finish(reply, handler),
            BodyKind::Length(n) if n > limits.max_body_bytes => self.fail(
                Status::ContentTooLarge,
                "request body too large",
                head.minor_version,
            ),
            BodyKind::Length(n) => {
                if head.expect_continue {
                    self.out.extend_from_slice(response::CONTINUE);
                }
                self.state = State::Body { left: n, reply };
            }
            BodyKind::Chunked => {
                if head.expect_continue {
                    self.out.extend_from_slice(response::CONTINUE);
                }
                self.state = State::Chunked {
                    dec: ChunkedDecoder::new(),
                    reply,
                };
            }
        }
    }

    /// Answers a complete request, or hands it to the I/O loop when the
    /// handler may block.
    fn finish(&mut self, reply: Reply, handler: &dyn Handler) {
        let value = match reply.route {
            Route::Compute(n) if handler.may_block() => {
                self.state = State::Calling {
                    n,
                    reply,
                    dispatched: false,
                };
                return;
            }
            Route::Compute(n) => Some(call(handler, n)),
            _ => None,
        };
        self.respond(reply, value);
    }

    /// Writes the response to a complete request (`value` is the handler's
    /// result for a `Compute` route) and moves to the next request or to
    /// closing.
    fn respond(&mut self, reply: Reply, value: Option<Result<i64, HandlerError>>) {
        let keep_alive = reply.keep_alive && !self.shutting_down;
        let minor = reply.minor_version;
        let start = self.out.len();
        let out = &mut self.out;
        match (reply.route, value) {
            (Route::Compute(_), Some(Ok(v))) => response::write_ok(out, v, keep_alive, minor),
            (Route::Compute(_), Some(Err(HandlerError::Domain(reason)))) => {
                let status = Status::UnprocessableContent;
                response::write_error(out, status, &reason, keep_alive, minor);
            }
            (Route::Compute(_), Some(Err(HandlerError::Failed(reason)))) => {
                let status = Status::InternalError;
                response::write_error(out, status, &reason, keep_alive, minor);
            }
            (Route::Compute(_), None) => {
                let status = Status::InternalError;
                response::write_error(out, status, "the handler failed", keep_alive, minor);
            }
            (Route::OutOfRange, _) => {
                let reason = "n does not fit a 64-bit integer";
                let status = Status::UnprocessableContent;
                response::write_error(out, status, reason, keep_alive, minor);
            }
            (Route::WrongMethod, _) => {
                let status = Status::MethodNotAllowed;
                response::write_error(out, status, "use POST", keep_alive, minor);
            }
            (Route::NotFound, _) => {
                let status = Status::NotFound;
                response::write_error(out, status, "try POST /<n>", keep_alive, minor);
            }
        }
        if reply.head_only {
            // HEAD: the head of the response, without its body (RFC 9110
            // §9.3.2); Content-Length still says what GET would send.
            let head_len = self.out[start..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(self.out.len() - start, |i| i + 4);
            self.out.truncate(start + head_len);
        }
        self.requests += 1;
        self.request_started = None;
        self.state = if keep_alive {
            State::Head
        } else if self.shutting_down {
            // The client may have sent more already: drain it so the
            // close is a FIN, not a reset.
            State::Closing(CloseMode::Linger)
        } else {
            State::Closing(CloseMode::Clean)
        };
    }

    /// Answers an unrecoverable request error and closes.
    fn fail(&mut self, status: Status, reason: &str, minor: u8) {
        response::write_error(&mut self.out, status, reason, false, minor);
        self.requests += 1;
        self.request_started = None;
        self.state = State::Closing(CloseMode::Linger);
    }

    /// The peer closed its write side: every complete request already
    /// received is still answered (input held back at the output limit is
    /// processed as the output drains), then the connection closes.
    pub fn on_eof(&mut self) {
        self.peer_closed = true;
        self.settle_eof();
    }

    /// The connection is broken (reset, failed send): close without
    /// answering anything more.
    pub fn abort(&mut self) {
        self.state = State::Aborted;
        self.inbuf = Vec::new();
        self.out.clear();
    }

    /// After the peer's EOF: close once nothing that arrived is left to
    /// answer (an incomplete request at EOF is dropped).
    fn settle_eof(&mut self) {
        if !self.peer_closed {
            return;
        }
        match self.state {
            State::Calling { .. } | State::Aborted => {}
            State::Closing(_) => {
                // Nothing more will arrive, so nothing can turn the close
                // into a reset: no need to linger.
                self.state = State::Closing(CloseMode::Clean);
                self.inbuf = Vec::new();
            }
            _ if self.paused && !self.inbuf.is_empty() => {}
            _ => {
                self.state = State::Closing(CloseMode::Clean);
                self.inbuf = Vec::new();
                self.request_started = None;
            }
        }
    }

    /// The call the I/O loop should run off its thread, if one waits:
    /// returns `n` once (the call is then in progress).
    pub fn take_call(&mut self) -> Option<i64> {
        match &mut self.state {
            State::Calling {
                n,
                dispatched: dispatched @ false,
                ..
            } => {
                *dispatched = true;
                Some(*n)
            }
            _ => None,
        }
    }

    /// Whether a handler call waits to be taken with
    /// [`take_call`](Self::take_call).
    pub fn call_pending(&self) -> bool {
        matches!(
            self.state,
            State::Calling {
                dispatched: false,
                ..
            }
        )
    }

    /// Whether a handler call is pending or in progress.
    pub fn is_calling(&self) -> bool {
        matches!(self.state, State::Calling { .. })
    }

    /// The result of the call taken with [`take_call`](Self::take_call):
    /// answers it and goes on with the input that waited behind it.
    pub fn complete_call(
        &mut self,
        result: Result<i64, HandlerError>,
        now: u64,
        limits: &Limits,
        handler: &dyn Handler,
    ) {
        let State::Calling { reply, .. } = self.state else {
            return;
        };
        self.last_activity = now;
        self.respond(reply, Some(result));
        self.resume(now, limits, handler);
    }

    /// Checks timeouts at `now`.
    pub fn on_tick(&mut self, now: u64, limits: &Limits) {
        match self.state {
            State::Closing(CloseMode::Linger) => {
                if self.linger_deadline.is_some_and(|d| now >= d) {
                    self.state = State::Closing(CloseMode::Clean);
                }
            }
            State::Closing(CloseMode::Clean) | State::Aborted => {}
            // The handler's time is not the client's: no 408 while waiting.
            State::Calling { .. } => {}
            _ => {
                if let Some(start) = self.request_started {
                    if now.saturating_sub(start) >= limits.header_timeout_ms {
                        self.inbuf = Vec::new();
                        self.fail(Status::RequestTimeout, "request not completed in time", 1);
                    }
                } else if self.out.is_empty()
                    && now.saturating_sub(self.last_activity) >= limits.idle_timeout_ms
                {
                    self.state = State::Closing(CloseMode::Clean);
                }
            }
        }
    }

    /// Stops keep-alive: requests already received are answered with
    /// `Connection: close`; an idle connection closes now.
    pub fn begin_shutdown(&mut self) {
        self.shutting_down = true;
        if self.is_idle() {
            // A request may be on its way: a lingering close drains it, so
            // the client sees a FIN rather than a reset.
            self.state = State::Closing(CloseMode::Linger);
            self.settle_eof();
        }
    }

    /// No request in progress and nothing to send.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.request_started.is_none() && self.out.is_empty()
    }

    /// Whether response bytes wait to be sent.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// The response bytes waiting to be sent.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Moves the pending output into `dst` (which must be empty), keeping
    /// `dst`'s old allocation for the next responses.
    pub fn take_output(&mut self, dst: &mut Vec<u8>) {
        debug_assert!(dst.is_empty());
        std::mem::swap(&mut self.out, dst);
        self.output_in_flight = !dst.is_empty();
    }

    /// Processes input held back while output was pending (call after the
    /// output has been taken).
    pub fn resume(&mut self, now: u64, limits: &Limits, handler: &dyn Handler) {
        if !self.inbuf.is_empty() && !matches!(self.state, State::Closing(_) | State::Aborted) {
            self.process_buffered(now, limits, handler);
        }
        self.settle_eof();
    }

    /// Whether the I/O loop should keep receiving: not while the output
    /// backlog is at its limit, and not once a clean close is decided.
    pub fn wants_read(&self, limits: &Limits) -> bool {
        if self.peer_closed {
            return false;
        }
        match self.state {
            State::Closing(CloseMode::Clean) | State::Aborted => false,
            State::Closing(CloseMode::Linger) => true,
            // Keep reading behind a pending call (pipelined input), up to a
            // head's worth.
            State::Calling { .. } => self.inbuf.len() < limits.max_header_bytes,
            _ => self.out.len() < limits.max_pending_output,
        }
    }

    /// The close decided, if any (act on it once the output is sent).
    pub fn close_mode(&self) -> Option<CloseMode> {
        match self.state {
            State::Closing(mode) => Some(mode),
            State::Aborted => Some(CloseMode::Clean),
            _ => None,
        }
    }

    /// The I/O loop has shut down the write side at `now`: linger until the
    /// peer closes or `linger_ms` passes.
    pub fn start_linger(&mut self, now: u64, limits: &Limits) {
        self.linger_deadline = Some(now + limits.linger_ms);
    }

    /// Whether lingering has begun.
    pub fn lingering(&self) -> bool {
        self.linger_deadline.is_some()
    }

    /// Bytes held in buffers (input not yet processed, output not yet taken).
    pub fn buffered(&self) -> usize {
        self.inbuf.len() + self.out.len()
    }

    /// Received bytes not yet processed.
    pub fn buffered_input(&self) -> usize {
        self.inbuf.len()
    }

    /// Releases buffer memory of an idle connection.
    pub fn compact(&mut self) {
        if self.inbuf.is_empty() {
            self.inbuf = Vec::new();
        }
        if self.out.is_empty() {
            self.out = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::fibonacci;

    fn feed(conn: &mut Conn, data: &[u8]) -> Vec<u8> {
        conn.on_data(data, 0, &Limits::default(), &fibonacci);
        let mut out = Vec::new();
        conn.take_output(&mut out);
        out
    }

    #[test]
    fn answers_and_keeps_alive() {
        let mut c = Conn::new(0);
        let out = feed(&mut c, b"POST /15 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(out.ends_with(b"\r\n\r\n610"));
        assert_eq!(c.close_mode(), None);
        assert!(c.is_idle());
    }

    #[test]
    fn pipelined_in_order() {
        let mut c = Conn::new(0);
        let out = feed(&mut c, b"POST /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /17 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
        let text = String::from_utf8(out).unwrap();
        let a = text.find("\r\n\r\n1").unwrap();
        let b = text.find("1597").unwrap();
        let c405 = text.find("405").unwrap();
        assert!(a < b && b < c405, "{text}");
    }

    #[test]
    fn one_byte_at_a_time() {
        let req = b"POST /17 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
        let mut c = Conn::new(0);
        let mut out = Vec::new();
        for b in req {
            out.extend(feed(&mut c, std::slice::from_ref(b)));
        }
        assert!(out.ends_with(b"1597"), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn header_timeout_gives_408_and_idle_closes() {
        let limits = Limits::default();
        let mut c = Conn::new(0);
        c.on_data(b"POST /1 HT", 0, &limits, &fibonacci);
        c.on_tick(limits.header_timeout_ms - 1, &limits);
        assert_eq!(c.close_mode(), None);
        c.on_tick(limits.header_timeout_ms, &limits);
        assert!(c.output().starts_with(b"HTTP/1.1 408"));
        assert_eq!(c.close_mode(), Some(CloseMode::Linger));

        let mut idle = Conn::new(0);
        idle.on_tick(limits.idle_timeout_ms, &limits);
        assert_eq!(idle.close_mode(), Some(CloseMode::Clean));
        assert!(!idle.has_output(), "idle close is silent");
    }

    #[test]
    fn backlog_pauses_and_resumes() {
        let limits = Limits {
            max_pending_output: 100,
            ..Limits::default()
        };
        let mut c = Conn::new(0);
        let req = b"POST /5 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10);
        c.on_data(&req, 0, &limits, &fibonacci);
        assert!(!c.wants_read(&limits));
        let mut total = 0;
        let mut out = Vec::new();
        for _ in 0..20 {
            c.take_output(&mut out);
            total += out.windows(4).filter(|w| w == b"200 ").count();
            out.clear();
            c.resume(0, &limits, &fibonacci);
        }
        assert_eq!(total, 10);
        assert!(c.wants_read(&limits));
    }

    #[test]
    fn next_walks_send_then_close() {
        let limits = Limits::default();
        let mut c = Conn::new(0);
        assert_eq!(c.next(&limits), Next::Read(true));
        c.on_data(
            b"POST /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            0,
            &limits,
            &fibonacci,
        );
        assert_eq!(c.next(&limits), Next::Send { read: false });
        let mut out = Vec::new();
        c.take_output(&mut out);
        // Sent but not confirmed: no close yet.
        assert_eq!(c.next(&limits), Next::Read(false));
        c.on_sent();
        assert_eq!(c.next(&limits), Next::Close);
    }

    #[test]
    fn next_lingers_after_an_error_and_closes_on_abort() {
        let limits = Limits::default();
        let mut c = Conn::new(0);
        c.on_data(b"BAD\r\n\r\n", 0, &limits, &fibonacci);
        let mut out = Vec::new();
        c.take_output(&mut out);
        c.on_sent();
        assert_eq!(c.next(&limits), Next::ShutdownWrite);
        c.start_linger(0, &limits);
        assert_eq!(c.next(&limits), Next::Read(true));
        c.abort();
        assert_eq!(c.next(&limits), Next::Close);
    }

    #[test]
    fn panicking_handler_is_500() {
        let h = |n: i64| -> Result<i64, String> {
            if n == 3 {
                panic!("boom");
            }
            Ok(n)
        };
        let mut c = Conn::new(0);
        c.on_data(
            b"POST /3 HTTP/1.1\r\nHost: x\r\n\r\nPOST /4 HTTP/1.1\r\nHost: x\r\n\r\n",
            0,
            &Limits::default(),
            &h,
        );
        let text = String::from_utf8(c.output().to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 500"), "{text}");
        assert!(text.ends_with("\r\n\r\n4"), "{text}");
    }
}
