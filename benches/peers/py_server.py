"""Python's own http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive)
serving the same fibonacci: the server the original example set out to beat.

    python3 py_server.py PORT
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        try:
            n = int(self.path[1:])
        except ValueError:
            return self.reply(404, b"try POST /<n>\n")
        if n < 0 or n > 92:
            return self.reply(422, b"n must be between 0 and 92\n")
        self.reply(200, str(fibonacci(n)).encode(), "application/json")

    def reply(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(f"python http.server on {sys.argv[1]}", flush=True)
    server.serve_forever()
