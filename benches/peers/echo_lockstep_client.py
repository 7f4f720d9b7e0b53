"""Lock-step client for counting an echo server's instructions per message.

usage: python3 echo_lockstep_client.py PORT MESSAGES [CONNECTIONS=64]

Opens CONNECTIONS connections to 127.0.0.1:PORT and, in rounds, sends one
32-byte message on each (its connection and sequence number) and reads
every echo back (checked byte for byte) before the next round, until
MESSAGES messages are echoed; then closes them. Used with an `echo_peer`
server under `valgrind --tool=callgrind` (see docs/benchmarks.md, "Async
echo"): the load is the same from run to run, so the count per message is
repeatable.
"""
import socket
import sys

port = int(sys.argv[1])
n = int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 64
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
for s in socks:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def message(i, seq):
    return f"{i:08d} {seq:022d}\n".encode()


done = 0
seq = 0
while done < n:
    k = min(conns, n - done)
    for i in range(k):
        socks[i].sendall(message(i, seq))
    for i in range(k):
        want = message(i, seq)
        got = b""
        while len(got) < len(want):
            d = socks[i].recv(len(want) - len(got))
            assert d, "eof"
            got += d
        assert got == want, (got, want)
    done += k
    seq += 1
for s in socks:
    s.close()
print("echoed", done)
