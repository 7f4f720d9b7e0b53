#!/usr/bin/env python3
"""The original example, on io_uring through Rust: a Python `fibonacci`
served over HTTP.

    cargo build --release -p http-demo
    python3 examples/python/fib_server.py            # port 8000
    curl -X POST http://localhost:8000/15            # 610

Options: --port N, --threads N, --lib PATH (default: target/release).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ring_server  # noqa: E402


def fibonacci(n):
    if n < 0 or n > 92:
        raise ring_server.DomainError("n must be between 0 and 92")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--addr", default="0.0.0.0")
    p.add_argument("--lib", default=None)
    args = p.parse_args()
    lib = ring_server.load(args.lib)
    print(f"serving Python fibonacci on http://{args.addr}:{args.port}", flush=True)
    return ring_server.run(args.port, fibonacci, threads=args.threads, addr=args.addr, lib=lib)


if __name__ == "__main__":
    sys.exit(main())
