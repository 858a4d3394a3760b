#!/usr/bin/env python3
"""Drives HTTP and DNS traffic at the testbed's servers and writes a manifest.

Usage: l7-driver.py SERVER_IP MANIFEST

Every request it sends becomes one JSON line of the manifest: what was
asked and what came back, as the client saw it, keyed by the client port
(and position in the connection, or DNS id), so the sensor's records can
be compared with it field by field. HTTP goes to nginx on port 80
(keep-alive, pipelining, HEAD, 304, 404, 503, gzip with chunked coding,
POST with 100-continue, a chunked request body, a form with a password,
and curl); DNS to dnsmasq on port 53 (UDP, an NXDOMAIN, a truncated
answer and its TCP retry, two queries on one TCP connection, and dig).
"""

import json
import os
import random
import re
import socket
import struct
import subprocess
import sys

SRV = sys.argv[1]
OUT = open(sys.argv[2], "w")
HOST = "wl.test"


def note(**kv):
    OUT.write(json.dumps(kv) + "\n")


class Conn:
    """One keep-alive HTTP/1.1 connection that counts its requests."""

    def __init__(self):
        self.s = socket.create_connection((SRV, 80), timeout=5)
        self.port = self.s.getsockname()[1]
        self.buf = b""
        self.depth = 0

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("server closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def head(self):
        status = self.line().split(b" ", 2)
        headers = {}
        while True:
            l = self.line()
            if not l:
                break
            k, v = l.split(b":", 1)
            headers[k.strip().lower().decode()] = v.strip().decode()
        return int(status[1]), headers

    def response(self, method):
        """Reads one final response: status, headers, decoded body length."""
        code, h = self.head()
        while 100 <= code < 200:
            code, h = self.head()
        if method == "HEAD" or code in (204, 304):
            return code, h, 0
        if "chunked" in h.get("transfer-encoding", ""):
            n = 0
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return code, h, n
                self.take(size)
                self.take(2)
                n += size
        n = int(h.get("content-length", "0"))
        self.take(n)
        return code, h, n

    def request(self, method, uri, headers=(), body=b"", record=True):
        self.depth += 1
        hs = "".join(f"{k}: {v}\r\n" for k, v in headers)
        if body and not any(k.lower() == "transfer-encoding" for k, _ in headers):
            hs += f"Content-Length: {len(body)}\r\n"
        return f"{method} {uri} HTTP/1.1\r\nHost: {HOST}\r\n{hs}\r\n".encode() + body

    def note(self, method, uri, code, n, req_body, h, **extra):
        note(kind="http", src_port=self.port, trans_depth=self.depth, method=method,
             uri=uri, host=HOST, status_code=code, request_body_len=req_body,
             response_body_len=n, **extra)

    def exchange(self, method, uri, headers=(), body=b"", **extra):
        self.s.sendall(self.request(method, uri, headers, body))
        code, h, n = self.response(method)
        self.note(method, uri, code, n, len(body), h, **extra)
        return code, h


def http():
    c = Conn()
    _, h = c.exchange("GET", "/small.txt")
    c.exchange("GET", "/nope")
    c.exchange("GET", "/busy")
    c.exchange("HEAD", "/small.txt")
    c.exchange("GET", "/small.txt", [("If-Modified-Since", h["last-modified"])])
    c.exchange("GET", "/gz.txt", [("Accept-Encoding", "gzip")], gzip=True)
    c.exchange("GET", "/q?user=a&token=s3cret", redacted_uri="/q?user=a&token=[redacted]")
    c.exchange("POST", "/post", [("Content-Type", "application/x-www-form-urlencoded")],
               b"user=bob&password=hunter2")
    # 100-continue: the head, the interim response, then the body.
    body = os.urandom(3000)
    c.depth += 1
    c.s.sendall(f"POST /post HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n"
                "Expect: 100-continue\r\n\r\n".encode())
    code, _ = c.head()
    assert code == 100, code
    c.s.sendall(body)
    code, h, n = c.response("POST")
    c.note("POST", "/post", code, n, len(body), h, expect_continue=True)
    # A chunked request body.
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    c.exchange("POST", "/post", [("Transfer-Encoding", "chunked")], chunked, chunked_len=11)
    c.s.close()

    # Pipelining: three requests in one write, three responses in order.
    p = Conn()
    wire = b""
    uris = ["/small.txt", "/nope", "/gz.txt"]
    for u in uris:
        wire += p.request("GET", u)
    p.s.sendall(wire)
    for k, u in enumerate(uris):
        code, h, n = p.response("GET")
        p.depth = k + 1
        p.note("GET", u, code, n, 0, h, pipelined=True)
    p.s.close()

    # Short connections.
    for i in range(5):
        c = Conn()
        c.exchange("GET", f"/small.txt?n={i}", [("Connection", "close")])
        c.s.close()


def dns_query(qid, name, qtype, edns):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return q


def dns_parse(m):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", m[:12])
    off = 12

    def name(off):
        while True:
            l = m[off]
            if l == 0:
                return off + 1
            if l >= 0xC0:
                return off + 2
            off += 1 + l

    for _ in range(qd):
        off = name(off) + 4
    answers = []
    for _ in range(an):
        off = name(off)
        t, _, _, rdlen = struct.unpack(">HHIH", m[off:off + 10])
        off += 10
        if t == 1:
            answers.append(socket.inet_ntoa(m[off:off + 4]))
        off += rdlen
    return qid, flags & 15, bool(flags & 0x200), an, answers


def dns_note(transport, port, qid, name, qtype, resp):
    rid, rcode, tc, an, answers = dns_parse(resp)
    assert rid == qid
    note(kind="dns", transport=transport, src_port=port, trans_id=qid, query=name,
         qtype=qtype, rcode=rcode, tc=tc, answer_count=an, answers=answers)
    return tc


def dns_udp(name, qtype=1, edns=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((SRV, 53))
    qid = random.randrange(65536)
    s.send(dns_query(qid, name, qtype, edns))
    tc = dns_note("udp", s.getsockname()[1], qid, name, qtype, s.recv(65535))
    s.close()
    return tc


def dns_tcp(names, qtype=1):
    s = socket.create_connection((SRV, 53), timeout=3)
    port = s.getsockname()[1]
    ids = [random.randrange(65536) for _ in names]
    for qid, n in zip(ids, names):
        q = dns_query(qid, n, qtype, False)
        s.sendall(struct.pack(">H", len(q)) + q)
    buf = b""
    for qid, n in zip(ids, names):
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            d = s.recv(65535)
            assert d, "server closed"
            buf += d
        l = struct.unpack(">H", buf[:2])[0]
        dns_note("tcp", port, qid, n, qtype, buf[2:2 + l])
        buf = buf[2 + l:]
    s.close()


def curl():
    """curl, one connection per request: its own port and what it got."""
    for method, uri, extra in [("GET", "/small.txt", []), ("GET", "/missing.html", []),
                               ("POST", "/post", ["--data-binary", "a=1&b=2"]),
                               ("GET", "/gz.txt", ["--compressed"])]:
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-X", method, "-H", f"Host: {HOST}",
             "-w", "%{local_port} %{http_code} %{size_download}", *extra,
             f"http://{SRV}{uri}"], capture_output=True, text=True, check=True).stdout
        port, code, size = (int(x) for x in out.split())
        note(kind="http", src_port=port, trans_depth=1, method=method, uri=uri, host=HOST,
             status_code=code, request_body_len=7 if method == "POST" else 0,
             response_body_len=size, client="curl")


def dig():
    """dig from a chosen source port; the id is read from its output."""
    for i, name in enumerate(["d1.wl.test", "d2.wl.test", "gone.nx.test"]):
        port = 41000 + i
        out = subprocess.run(["dig", "-b", f"0.0.0.0#{port}", f"@{SRV}", "+notcp", "+tries=1",
                              "+time=2", name, "A"], capture_output=True, text=True,
                             check=True).stdout
        head = re.search(r"status: (\w+), id: (\d+)", out)
        rcode = {"NOERROR": 0, "NXDOMAIN": 3}[head.group(1)]
        answers = re.findall(r"\sIN\s+A\s+([\d.]+)", out)
        note(kind="dns", transport="udp", src_port=port, trans_id=int(head.group(2)), query=name,
             qtype=1, rcode=rcode, tc=False, answer_count=len(answers), answers=answers,
             client="dig")


def dns():
    for i in range(10):
        dns_udp(f"h{i}.wl.test")
    dns_udp("missing.nx.test")
    # Too big for 512 bytes without EDNS: truncated, retried over TCP.
    assert dns_udp("big.wl.test", 16, edns=False), "expected a truncated answer"
    dns_tcp(["big.wl.test"], 16)
    dns_tcp(["t1.wl.test", "t2.wl.test"])


http()
curl()
dns()
dig()
OUT.close()
