"""A small ctypes binding of libhttp_demo.so (standard library only).

    import ring_server
    ring_server.run(8000, lambda n: n * 2)

`run` serves POST /<n> with a Python function until SIGINT/SIGTERM (or
`stop(port)` from another thread), then returns.

Threads and the GIL: the server's worker threads call the handler through a
ctypes callback, which takes the GIL for the duration of each call. Python
code therefore runs one request at a time however many server threads there
are; the server's own work (parsing, I/O) runs in parallel outside the GIL.
Throughput is bounded by how fast Python runs the handler; extra server
threads mostly add GIL contention. One or two threads are usually best.
"""

import ctypes
import os
import signal
import threading

HANDLER = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long, ctypes.c_void_p)

_HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_LIB = os.path.join(_HERE, "..", "..", "target", "release", "libhttp_demo.so")


class DomainError(ValueError):
    """Raise from a handler: n is outside its domain (HTTP 422)."""


def load(path=None):
    """Loads the library (HTTP_DEMO_LIB, or target/release)."""
    lib = ctypes.CDLL(path or os.environ.get("HTTP_DEMO_LIB") or _DEFAULT_LIB)
    lib.server_listen_ex.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, HANDLER, ctypes.c_void_p]
    lib.server_listen_ex.restype = ctypes.c_int
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

    def trampoline(n, _user_data):
        try:
            return int(fn(n))
        except DomainError as e:
            lib.server_reject(str(e).encode())
        except Exception as e:  # noqa: BLE001 - every failure becomes a 500
            lib.server_fail(f"{type(e).__name__}: {e}".encode())
        return 0

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
