//! The C ABI: run the server from C, Python (ctypes) or any FFI with a
//! handler of your own, as the original example did with
//! `server_listen(port, handler)`. Declared in `include/http_demo.h`.
//!
//! Nothing here unwinds across the boundary: every entry point catches
//! panics and turns them into [`HD_ERR_INTERNAL`].
//!
//! Handlers may block (sleep, wait for I/O): they run on a pool of handler
//! threads, never on the I/O threads, so a slow call delays only its own
//! connection. They are called from several threads at the same time and
//! must be safe to call that way. Inside a handler,
//! [`server_reject`] turns the call into a 422 ("n is outside my domain")
//! and [`server_fail`] into a 500; the handler's return value is then
//! ignored.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_long, c_uint, c_void, CStr};
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::handler::{Handler, HandlerError};
use crate::server::{Server, ServerError, ShutdownHandle};
use crate::Config;

/// Success.
pub const HD_OK: c_int = 0;
/// An argument was invalid (port out of range, null handler, bad address).
pub const HD_ERR_INVALID: c_int = -1;
/// The address is already in use.
pub const HD_ERR_ADDR_IN_USE: c_int = -2;
/// Listening failed for another reason (permission, address not available).
pub const HD_ERR_LISTEN: c_int = -3;
/// io_uring is unavailable or its setup failed.
pub const HD_ERR_IO_URING: c_int = -4;
/// An internal error (a bug); the server is not running.
pub const HD_ERR_INTERNAL: c_int = -5;
/// `server_stop`: no server runs on that port.
pub const HD_ERR_NOT_RUNNING: c_int = -6;
/// A server started through this API already runs on that port.
pub const HD_ERR_ALREADY_RUNNING: c_int = -7;

/// The plain handler: `long handler(long n)`.
pub type PlainHandler = extern "C" fn(c_long) -> c_long;
/// The handler with user data: `long handler(long n, void *user_data)`.
pub type DataHandler = extern "C" fn(c_long, *mut c_void) -> c_long;
/// Told the bound port once the server listens:
/// `void ready(int port, void *ready_data)`.
pub type ReadyFn = extern "C" fn(c_int, *mut c_void);

enum CFn {
    Plain(PlainHandler),
    Data(DataHandler, *mut c_void),
}

/// A C function as a [`Handler`].
struct CHandler(CFn);

// SAFETY: the C API's contract (see the header) requires handlers and their
// user data to be callable from several threads at once.
unsafe impl Send for CHandler {}
// SAFETY: as above.
unsafe impl Sync for CHandler {}

thread_local! {
    /// A verdict set by `server_reject`/`server_fail` during a handler call.
    static VERDICT: RefCell<Option<HandlerError>> = const { RefCell::new(None) };
}

impl Handler for CHandler {
    fn call(&self, n: i64) -> Result<i64, HandlerError> {
        VERDICT.with(|v| v.borrow_mut().take());
        let arg = c_long::try_from(n)
            .map_err(|_| HandlerError::Domain("n does not fit a C long".into()))?;
        let value = match self.0 {
            CFn::Plain(f) => f(arg),
            CFn::Data(f, ud) => f(arg, ud),
        };
        match VERDICT.with(|v| v.borrow_mut().take()) {
            Some(verdict) => Err(verdict),
            // `c_long` is `i64` here but `i32` on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            None => Ok(i64::from(value)),
        }
    }

    /// A C (or Python) handler may block: it runs on the handler pool.
    fn may_block(&self) -> bool {
        true
    }
}

/// Who is called back with the bound port.
struct Ready(Option<(ReadyFn, *mut c_void)>);

/// The servers started through this API, by bound port. `None` reserves a
/// port while its server binds.
type Registry = HashMap<u16, Option<ShutdownHandle>>;

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static SERVERS: std::sync::OnceLock<Mutex<Registry>> = std::sync::OnceLock::new();
    SERVERS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn error_code(e: &ServerError) -> c_int {
    match e {
        ServerError::Listen { errno, .. } if *errno == rustix::io::Errno::ADDRINUSE => {
            HD_ERR_ADDR_IN_USE
        }
        ServerError::Listen { .. } => HD_ERR_LISTEN,
        ServerError::Ring(_) | ServerError::Enter(_) => HD_ERR_IO_URING,
        ServerError::Config(_) => HD_ERR_INVALID,
        _ => HD_ERR_INTERNAL,
    }
}

fn listen(
    addr: Option<IpAddr>,
    port: c_int,
    threads: c_uint,
    handler: CHandler,
    ready: Ready,
) -> c_int {
    let Ok(port) = u16::try_from(port) else {
        return HD_ERR_INVALID;
    };
    let mut config = Config {
        port,
        ..Config::default()
    };
    if let Some(a) = addr {
        config.addr = a;
    }
    if threads > 0 {
        config.threads = threads as usize;
    }
    // Checked before anything binds: a second server on a port this API
    // already serves must not open listeners there, even for a moment.
    if port != 0 {
        let mut reg = registry();
        if reg.contains_key(&port) {
            return HD_ERR_ALREADY_RUNNING;
        }
        reg.insert(port, None);
    }
    let server = match Server::bind_arc(config, Arc::new(handler)) {
        Ok(s) => s,
        Err(e) => {
            if port != 0 {
                registry().remove(&port);
            }
            eprintln!("http-demo: {e}");
            return error_code(&e);
        }
    };
    let bound = server.local_addr().port();
    registry().insert(bound, Some(server.shutdown_handle()));
    if let Ready(Some((f, data))) = ready {
        f(c_int::from(bound), data);
    }
    let result = server.run();
    registry().remove(&bound);
    match result {
        Ok(()) => HD_OK,
        Err(e) => {
            eprintln!("http-demo: {e}");
            error_code(&e)
        }
    }
}

/// Serves `POST /<n>` on 0.0.0.0:`port` with `handler`, one worker per CPU;
/// blocks until [`server_stop`] is called for `port`. Returns 0 or an
/// `HD_ERR_*` code.
#[no_mangle]
pub extern "C" fn server_listen(port: c_int, handler: Option<PlainHandler>) -> c_int {
    let Some(handler) = handler else {
        return HD_ERR_INVALID;
    };
    catch_unwind(AssertUnwindSafe(|| {
        listen(None, port, 0, CHandler(CFn::Plain(handler)), Ready(None))
    }))
    .unwrap_or(HD_ERR_INTERNAL)
}

/// As [`server_listen`], with a listen address (`NULL` for 0.0.0.0), a
/// thread count (0 for one per CPU) and a `user_data` pointer passed back to
/// every handler call.
///
/// # Safety
///
/// `addr` must be `NULL` or a NUL-terminated string. `user_data` must stay
/// valid, and `handler` callable with it from several threads at once, until
/// this function returns.
#[no_mangle]
pub unsafe extern "C" fn server_listen_ex(
    addr: *const c_char,
    port: c_int,
    threads: c_uint,
    handler: Option<DataHandler>,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: the same contract, and no ready callback.
    unsafe {
        server_listen_ready(
            addr,
            port,
            threads,
            handler,
            user_data,
            None,
            std::ptr::null_mut(),
        )
    }
}

/// As [`server_listen_ex`], and once the server listens (before it serves
/// a request), calls `ready(bound_port, ready_data)` on the calling thread:
/// the way to learn the port when `port` is 0.
///
/// # Safety
///
/// As [`server_listen_ex`]; `ready` is called once with `ready_data`.
#[no_mangle]
pub unsafe extern "C" fn server_listen_ready(
    addr: *const c_char,
    port: c_int,
    threads: c_uint,
    handler: Option<DataHandler>,
    user_data: *mut c_void,
    ready: Option<ReadyFn>,
    ready_data: *mut c_void,
) -> c_int {
    let Some(handler) = handler else {
        return HD_ERR_INVALID;
    };
    let addr = if addr.is_null() {
        None
    } else {
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        let text = unsafe { CStr::from_ptr(addr) };
        match text.to_str().ok().and_then(|t| t.parse().ok()) {
            Some(a) => Some(a),
            None => return HD_ERR_INVALID,
        }
    };
    catch_unwind(AssertUnwindSafe(|| {
        let handler = CHandler(CFn::Data(handler, user_data));
        let ready = Ready(ready.map(|f| (f, ready_data)));
        listen(addr, port, threads, handler, ready)
    }))
    .unwrap_or(HD_ERR_INTERNAL)
}

/// Stops the server started on `port` gracefully, from any thread:
/// `server_listen` returns once requests already received are answered.
/// Returns 0, or `HD_ERR_NOT_RUNNING`.
#[no_mangle]
pub extern "C" fn server_stop(port: c_int) -> c_int {
    catch_unwind(|| {
        let Ok(port) = u16::try_from(port) else {
            return HD_ERR_INVALID;
        };
        let reg = registry();
        match reg.get(&port) {
            Some(Some(h)) => {
                h.shutdown();
                HD_OK
            }
            _ => HD_ERR_NOT_RUNNING,
        }
    })
    .unwrap_or(HD_ERR_INTERNAL)
}

fn set_verdict(reason: *const c_char, make: fn(String) -> HandlerError, default: &str) {
    let text = if reason.is_null() {
        default.to_string()
    } else {
        // SAFETY: the callers' contract: NULL or a NUL-terminated string.
        unsafe { CStr::from_ptr(reason) }
            .to_string_lossy()
            .into_owned()
    };
    VERDICT.with(|v| *v.borrow_mut() = Some(make(text)));
}

/// Called from inside a handler: `n` is outside the handler's domain; the
/// request gets a 422 with `reason` (or a default text when `NULL`).
///
/// # Safety
///
/// `reason` must be `NULL` or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn server_reject(reason: *const c_char) {
    let _ = catch_unwind(|| {
        set_verdict(
            reason,
            HandlerError::Domain,
            "n is outside the handler's domain",
        )
    });
}

/// Called from inside a handler: the handler failed; the request gets a 500
/// with `reason` (or a default text when `NULL`).
///
/// # Safety
///
/// `reason` must be `NULL` or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn server_fail(reason: *const c_char) {
    let _ = catch_unwind(|| set_verdict(reason, HandlerError::Failed, "the handler failed"));
}

/// A static, NUL-terminated description of a return code.
#[no_mangle]
pub extern "C" fn server_strerror(code: c_int) -> *const c_char {
    let text: &'static CStr = match code {
        HD_OK => c"success",
        HD_ERR_INVALID => c"invalid argument",
        HD_ERR_ADDR_IN_USE => c"address already in use",
        HD_ERR_LISTEN => c"cannot listen on the address",
        HD_ERR_IO_URING => c"io_uring is unavailable or failed",
        HD_ERR_INTERNAL => c"internal error",
        HD_ERR_NOT_RUNNING => c"no server is running on that port",
        HD_ERR_ALREADY_RUNNING => c"a server is already running on that port",
        _ => c"unknown error code",
    };
    text.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn double(n: c_long) -> c_long {
        if n < 0 {
            // SAFETY: a NUL-terminated literal.
            unsafe { server_reject(c"negative".as_ptr()) };
        }
        if n == 13 {
            // SAFETY: NULL is allowed.
            unsafe { server_fail(std::ptr::null()) };
        }
        n * 2
    }

    #[test]
    fn verdicts_map_to_errors() {
        let h = CHandler(CFn::Plain(double));
        assert_eq!(h.call(4), Ok(8));
        assert_eq!(h.call(-1), Err(HandlerError::Domain("negative".into())));
        assert_eq!(
            h.call(13),
            Err(HandlerError::Failed("the handler failed".into()))
        );
        assert_eq!(
            h.call(5),
            Ok(10),
            "a verdict does not leak into the next call"
        );
    }

    #[test]
    fn strerror_and_bad_arguments() {
        // SAFETY: server_strerror returns static NUL-terminated strings.
        let s = unsafe { CStr::from_ptr(server_strerror(HD_ERR_ADDR_IN_USE)) };
        assert_eq!(s.to_str().unwrap(), "address already in use");
        assert_eq!(server_listen(70000, Some(double)), HD_ERR_INVALID);
        assert_eq!(server_listen(8000, None), HD_ERR_INVALID);
        assert_eq!(server_stop(1), HD_ERR_NOT_RUNNING);
        // SAFETY: a NUL-terminated literal address.
        let rc =
            unsafe { server_listen_ex(c"not an ip".as_ptr(), 0, 1, None, std::ptr::null_mut()) };
        assert_eq!(rc, HD_ERR_INVALID);
    }
}
