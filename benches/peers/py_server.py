"""Python's own http.server (ThreadingHTTPServer, HTTP/1.1 keep-alive)
serving the same fibonacci: the server the original example set out to beat.

    python3 py_server.py PORT            # the fair peer
    python3 py_server.py PORT --naive    # the naive one, for comparison

The fair peer is written the way a Python programmer who cares would write
it with the standard library: `TCP_NODELAY` on accepted sockets, the whole
response (head and body) in one write, and `Connection: close` echoed when
the client asks for it.

The naive peer is `BaseHTTPRequestHandler` used as its documentation shows:
`send_response`/`send_header`/`end_headers` write the head, then the body
goes in a second write. On a keep-alive connection that second small write
waits for the ACK of the first (Nagle's algorithm) while the client delays
that ACK: about 40 ms per request. It also answers `Connection: close`
requests without saying so in the response.
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class NaiveHandler(BaseHTTPRequestHandler):
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


class FairHandler(NaiveHandler):
    # StreamRequestHandler sets TCP_NODELAY on the accepted socket.
    disable_nagle_algorithm = True

    def reply(self, status, body, ctype="text/plain"):
        # parse_request has set close_connection from the request's
        # Connection header (and the HTTP version).
        close = b"Connection: close\r\n" if self.close_connection else b""
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
            % (status, self.responses[status][0].encode(), ctype.encode(), len(body), close)
        )
        self.wfile.write(head + body)


if __name__ == "__main__":
    naive = "--naive" in sys.argv[2:]
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    handler = NaiveHandler if naive else FairHandler
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
    kind = "naive" if naive else "fair"
    print(f"python http.server ({kind}) on {sys.argv[1]}", flush=True)
    server.serve_forever()
