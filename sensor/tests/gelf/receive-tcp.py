"""GELF over TCP as the spec frames it: messages split on NUL bytes.
Prints each message as one line. Usage: python3 receive-tcp.py PORT"""
import socket, sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
print("listening", flush=True, file=sys.stderr)
while True:
    c, _ = s.accept()
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        buf += d
        *msgs, buf = buf.split(b"\0")
        for m in msgs:
            sys.stdout.write(m.decode() + "\n")
        sys.stdout.flush()
    c.close()
