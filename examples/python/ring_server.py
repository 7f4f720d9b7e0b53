"""A small ctypes binding of libhttp_demo.so (standard library only).

    import ring_server
    ring_server.run(8000, lambda n: n * 2)

`run` serves POST /<n> with a Python function until SIGINT/SIGTERM (or
`stop(port)` from another thread), then returns.

Threads and the GIL: the server runs the handler on its pool of handler
threads (never on its I/O threads) through a ctypes callback, which takes
the GIL for the duration of each call. Python code therefore runs one
request at a time however many threads there are, except while a handler
waits with the GIL released (time.sleep, I/O, most blocking calls): then the
other handler threads run. So a handler that sleeps does not hold up other
requests; one that computes without releasing the GIL shares the
interpreter with them. The server's own work (parsing, I/O) runs in parallel
outside the GIL. One or two server threads are usually best.

Return values: an int that fits a C long. Anything else (a float, a bool, an
int out of range, None) and any exception, including SystemExit and
KeyboardInterrupt, is a 500 for that request and one line on stderr (at most
one per second, with a count of the others) -- never a silent wrong answer.
"""

import ctypes
import os
import signal
import sys
import threading
import time

HANDLER = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_void_p)
READY = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)
_LONG_MIN = -(2 ** (8 * ctypes.sizeof(ctypes.c_long) - 1))
_LONG_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_long) - 1) - 1


class _FailureLog:
    """One stderr line per failure, at most one per second (then a count)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = 0.0
        self._quiet = 0

    def __call__(self, text):
        with self._lock:
            now = time.monotonic()
            if now - self._last < 1.0:
                self._quiet += 1
                return
            extra = f" ({self._quiet} more since the last line)" if self._quiet else ""
            self._last, self._quiet = now, 0
        print(f"ring_server: handler failed: {text}{extra}", file=sys.stderr, flush=True)

_HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_LIB = os.path.join(_HERE, "..", "..", "target", "release", "libhttp_demo.so")


class DomainError(ValueError):
    """Raise from a handler: n is outside its domain (HTTP 422)."""


def load(path=None):
    """Loads the library (HTTP_DEMO_LIB, or target/release)."""
    lib = ctypes.CDLL(path or os.environ.get("HTTP_DEMO_LIB") or _DEFAULT_LIB)
    lib.server_listen_ex.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, HANDLER, ctypes.c_void_p]
    lib.server_listen_ex.restype = ctypes.c_int
    lib.server_listen_ready.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, HANDLER, ctypes.c_void_p, READY, ctypes.c_void_p]
    lib.server_listen_ready.restype = ctypes.c_int
    lib.server_stop.argtypes = [ctypes.c_int]
    lib.server_stop.restype = ctypes.c_int
    lib.server_reject.argtypes = [ctypes.c_char_p]
    lib.server_reject.restype = None
    lib.server_fail.argtypes = [ctypes.c_char_p]
    lib.server_fail.restype = None
    lib.server_strerror.argtypes = [ctypes.c_int]
    lib.server_strerror.restype = ctypes.c_char_p
    return lib


def run(port, fn, threads=1, addr="0.0.0.0", lib=None, on_ready=None):
    """Serves `fn(n) -> int` on addr:port until SIGINT/SIGTERM; returns 0.

    `fn` raising DomainError gives a 422; any other exception a 500 (the
    server keeps serving).
    """
    lib = lib or load()

    log = _FailureLog()

    def fail(text):
        log(text)
        lib.server_fail(text.encode(errors="replace"))
        return 0

    def trampoline(n, _user_data):
        # Nothing may escape a ctypes callback: an exception there prints a
        # traceback and returns 0, a silent wrong answer.
        try:
            value = fn(n)
        except DomainError as e:
            lib.server_reject(str(e).encode(errors="replace"))
            return 0
        except BaseException as e:  # noqa: BLE001 - SystemExit too: a 500, not an exit
            return fail(f"{type(e).__name__}: {e}")
        if type(value) is not int:
            return fail(f"returned {type(value).__name__} {value!r}, not int")
        if not _LONG_MIN <= value <= _LONG_MAX:
            return fail(f"returned {value}, which does not fit a C long")
        return value

    callback = HANDLER(trampoline)  # keep a reference while serving
    result = {}

    def serve():
        result["rc"] = lib.server_listen_ex(addr.encode(), port, threads, callback, None)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = threading.Thread(target=serve)
    server.start()
    if on_ready:
        on_ready()
    while server.is_alive() and not stop.wait(0.1):
        pass
    if server.is_alive():
        lib.server_stop(port)
    server.join()
    rc = result.get("rc", -5)
    if rc != 0:
        raise OSError(f"server_listen failed: {lib.server_strerror(rc).decode()}")
    return 0
