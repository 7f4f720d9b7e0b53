"""Lock-step keep-alive client for counting a server's instructions per request.

usage: python3 lockstep_client.py PORT REQUESTS [CONNECTIONS=64]

Opens CONNECTIONS keep-alive connections to 127.0.0.1:PORT and sends
`POST /10` on each in rounds, reading every answer (checked to be a 200)
before the next round, until REQUESTS requests are answered. Used with the
server under `valgrind --tool=callgrind` (see docs/benchmarks.md): the load
is the same from run to run, so the count per request is repeatable.
"""
import socket
import sys

port = int(sys.argv[1])
n = int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 64
req = b"POST /10 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
bufs = [b""] * conns


def read_one(i):
    s = socks[i]
    b = bufs[i]
    while True:
        h = b.find(b"\r\n\r\n")
        if h >= 0:
            head = b[:h].decode()
            assert head.startswith("HTTP/1.1 200"), head
            cl = 0
            for line in head.split("\r\n")[1:]:
                k, v = line.split(":", 1)
                if k.lower() == "content-length":
                    cl = int(v)
            if len(b) >= h + 4 + cl:
                bufs[i] = b[h + 4 + cl:]
                return
        d = s.recv(65536)
        assert d, "eof"
        b += d


done = 0
while done < n:
    k = min(conns, n - done)
    for i in range(k):
        socks[i].sendall(req)
    for i in range(k):
        read_one(i)
    done += k
print("sent", done)
