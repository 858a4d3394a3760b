#!/usr/bin/python3
"""Drives Redis traffic at the testbed's redis-server and writes a manifest.

Usage: redis-driver.py SERVER_IP MANIFEST

Speaks RESP itself over raw sockets (standard library only) to a real
redis-server 7.0 at SERVER_IP:6379, plus a few one-shot redis-cli runs, and
writes one JSON line per command sent and per pushed message received, as
the client saw them, so a test can compare a sensor's `redis` records with
it one to one. Exits non-zero if the server's answers are not the ones the
scenario relies on (each such check is a `want=` below).

The server the test must start (in its own namespace, nothing else set; the
driver flushes db 0 and 1 and creates its ACL user itself):

    redis_server() {  # $1 = SERVER_IP, $2 = empty scratch dir
        redis-server --bind "$1" --port 6379 --protected-mode no \
            --enable-debug-command yes --save '' --appendonly no \
            --dir "$2" --daemonize no
    }

No --requirepass: the default user stays passwordless; AUTH is exercised on
the user `wluser` / password `wlpass` that the driver makes with
`ACL SETUSER wluser reset on >wlpass ~* &* +@all`.

Manifest lines
--------------
Every line is one JSON object. Lines of one connection appear in the order
of that connection's byte stream (command lines in seq order, push lines
where the pushed message sat between replies); lines of different
connections interleave.

Command line (has the key "command"):
  src_port   the client socket's local port; null for redis-cli runs.
  seq        0-based index of the command on its connection, counting every
             command sent (inline ones, and ones that get no reply). Each
             redis-cli run is its own connection and sends exactly one
             command (no HELLO/AUTH/SELECT: checked with MONITOR), so its
             seq is 0.
  command    the command name as sent, upper-cased ("SET"; for an inline
             command its first word upper-cased). Subcommands stay in args
             ("CLIENT", args ["REPLY", "OFF"]).
  key        args[0] when the command is in KEYED below (the first key is
             the first argument after the name for all of them), else null.
             Null for PING, ECHO, AUTH, HELLO, CLIENT, SELECT, PUBLISH,
             SPUBLISH, (P|S)(UN)SUBSCRIBE, MULTI, EXEC, DISCARD, DEBUG, INFO,
             DBSIZE, FLUSHDB, CONFIG, COMMAND, ACL, QUIT and unknown commands.
  args       every argument after the name, as strings (all UTF-8 text; an
             inline command's arguments after the server's quote parsing:
             `SET inl "a b"` gives ["inl", "a b"]).
  resp       2 or 3: the protocol in force when the command was sent. HELLO
             itself carries the protocol it was sent under (HELLO 3 on a
             fresh connection: resp 2, reply_type "map"); a successful HELLO
             N switches the following commands to N, a failed one does not.
  reply_type one of simple_string, error, integer, bulk_string, array, null,
             boolean, double, big_number, bulk_error, verbatim_string, map,
             set, push; RESP2 `$-1` and `*-1` and RESP3 `_` are "null".
             Null when no_reply.
  reply      scalars as text: simple string text, integer in decimal, bulk
             string contents, double text exactly as sent, boolean
             "true"/"false", big number digits, verbatim string contents
             without its 3-letter format and colon (`txt:`). Null for
             errors, nulls, aggregates and no_reply.
  reply_len  element count for array/set/push, pair count for map; null
             otherwise (a null array is reply_type "null", reply_len null).
  error      the full error line without the leading `-`/`!` (e.g.
             "WRONGTYPE Operation against a key holding the wrong kind of
             value") for error/bulk_error, else null.
  attribute  true when an attribute (`|`) preceded the reply; the reply
             fields describe the real reply that followed it.
  no_reply   true when the server sends nothing for the command: CLIENT
             REPLY OFF and CLIENT REPLY SKIP themselves, every command while
             OFF, and the one command after SKIP. All reply fields are then
             null/false. CLIENT REPLY ON is answered (+OK).
  queued     true for a command sent inside MULTI and answered +QUEUED
             (reply_type simple_string, reply "QUEUED"). A command refused
             at queue time (wrong arg count) is an error with queued false,
             and its EXEC is answered -EXECABORT. EXEC is an ordinary line:
             reply_type array, reply_len = number of queued commands (an
             element may itself be an error), or reply_type null when a
             WATCHed key changed. MULTI and DISCARD: simple_string OK.

Push line (has the key "push"):
  src_port, resp (protocol in force when it was read),
  seq        for subscription confirmations, the seq of the command that
             caused them; null for everything else.
  push       the message kind: the first element, lower-case as sent
             ("subscribe", "psubscribe", "ssubscribe", "unsubscribe",
             "punsubscribe", "sunsubscribe", "message", "pmessage",
             "smessage", "invalidate", or another kind such as
             "server-cpu-usage" from DEBUG PROTOCOL push).
  channel    (s)subscribe/(s)unsubscribe: the channel (null when the
             server sent a null, as for UNSUBSCRIBE with no subscriptions);
             message/smessage/pmessage: the channel; else null.
  pattern    psubscribe/punsubscribe: the pattern (channel null);
             pmessage: the pattern; else null.
  payload    confirmations: the subscription count after it, as decimal
             text; message/smessage/pmessage: the message; other kinds:
             the second element as text if it is a scalar; invalidate: null.
  keys       invalidate: the list of invalidated keys (null if the server
             sent a null, i.e. a flush); null for every other kind.

Subscription confirmations: a (P|S)SUBSCRIBE or (P|S)UNSUBSCRIBE command is
answered by one confirmation per channel/pattern it names (UNSUBSCRIBE with
no arguments: one per channel the connection was subscribed to, or a single
one with a null channel if none). The FIRST confirmation is the command's
reply (command line: reply_type "array" in RESP2, "push" in RESP3,
reply_len 3, reply null), and EVERY confirmation, the first included, is
also listed as its own push line with the command's seq. The command line
comes before its push lines. Published messages (message/pmessage/smessage)
are never replies: each is one push line with seq null. In RESP2 subscribe
mode a PING is answered by the array ["pong", <arg or "">]: that is PING's
reply (reply_type array, reply_len 2), not a push. In RESP3 a push (`>`) is
never a reply except as a confirmation: an invalidation or DEBUG PROTOCOL
push arriving before a reply gets its own push line and the reply is still
paired with the next command.

Redis 7.0 never emits a bulk error (`!`): errors are always `-` lines, in
RESP3 too, so no line has reply_type "bulk_error" (the reader handles it).
"""

import collections
import json
import socket
import subprocess
import sys
import time

SRV = sys.argv[1]
OUT = open(sys.argv[2], "w")
PORT = 6379

KEYED = set("""
GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX APPEND STRLEN GETRANGE SETRANGE
INCR INCRBY INCRBYFLOAT DECR DECRBY MGET MSET MSETNX DEL UNLINK EXISTS TYPE
EXPIRE PEXPIRE EXPIREAT TTL PTTL PERSIST RENAME WATCH
HSET HSETNX HGET HMGET HGETALL HDEL HLEN HEXISTS HINCRBY HKEYS HVALS
LPUSH RPUSH LPOP RPOP LRANGE LLEN LINDEX LSET BLPOP BRPOP
SADD SREM SMEMBERS SISMEMBER SCARD
ZADD ZSCORE ZRANGE ZCARD ZINCRBY ZREM ZRANK
""".split())

SUB_CMDS = {"SUBSCRIBE": "ch", "UNSUBSCRIBE": "ch",
            "PSUBSCRIBE": "pat", "PUNSUBSCRIBE": "pat",
            "SSUBSCRIBE": "sch", "SUNSUBSCRIBE": "sch"}
CONF_KINDS = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
              "ssubscribe", "sunsubscribe"}
MSG_KINDS = {"message", "pmessage", "smessage"}
PUBSUB_KINDS = CONF_KINDS | MSG_KINDS

SCALARS = {"simple_string", "integer", "bulk_string", "double", "boolean",
           "big_number", "verbatim_string"}

counts = collections.Counter()


def note(**kv):
    OUT.write(json.dumps(kv) + "\n")
    OUT.flush()


class Val:
    """One decoded RESP value: t is the manifest's reply_type."""

    __slots__ = ("t", "v", "items", "attr")

    def __init__(self, t, v=None, items=None):
        self.t, self.v, self.items, self.attr = t, v, items, False

    def text(self):
        return self.v if self.t in SCALARS else None

    def length(self):
        if self.t == "map":
            return len(self.items) // 2
        if self.t in ("array", "set", "push"):
            return len(self.items)
        return None

    def __repr__(self):
        return "Val(%s,%r,%r)" % (self.t, self.v, self.items)


def enc(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Conn:
    """One TCP connection to the server, with its own seq counter."""

    def __init__(self, name):
        self.name = name
        self.s = socket.create_connection((SRV, PORT), timeout=5)
        self.port = self.s.getsockname()[1]
        self.buf = b""
        self.seq = 0
        self.resp = 2
        self.pending = collections.deque()
        self.reply_off = False
        self.skip_next = False
        self.in_multi = False
        self.pubsub = False
        self.subs = {"ch": set(), "pat": set(), "sch": set()}

    # -- reading ---------------------------------------------------------
    def fill(self):
        d = self.s.recv(262144)
        if not d:
            raise EOFError("%s: server closed" % self.name)
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln, self.buf = self.buf[:i], self.buf[i + 2:]
                return ln
            self.fill()

    def take(self, n):
        while len(self.buf) < n + 2:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def val(self):
        ln = self.line()
        t, rest = chr(ln[0]), ln[1:].decode()
        if t == "|":
            for _ in range(2 * int(rest)):
                self.val()
            v = self.val()
            v.attr = True
            return v
        if t == "+":
            return Val("simple_string", rest)
        if t == "-":
            return Val("error", rest)
        if t == ":":
            return Val("integer", rest)
        if t == ",":
            return Val("double", rest)
        if t == "(":
            return Val("big_number", rest)
        if t == "#":
            return Val("boolean", {"t": "true", "f": "false"}[rest])
        if t == "_":
            return Val("null")
        if t in "$!=":
            n = int(rest)
            if n < 0:
                return Val("null")
            data = self.take(n).decode()
            if t == "$":
                return Val("bulk_string", data)
            if t == "!":
                return Val("bulk_error", data)
            return Val("verbatim_string", data[4:])
        if t in "*~%>":
            n = int(rest)
            if n < 0:
                return Val("null")
            kind = {"*": "array", "~": "set", "%": "map", ">": "push"}[t]
            m = 2 if t == "%" else 1
            return Val(kind, items=[self.val() for _ in range(m * n)])
        raise ValueError("%s: bad RESP line %r" % (self.name, ln))

    # -- sending ---------------------------------------------------------
    def _rec(self, name, args, want=None):
        up = name.upper()
        rec = dict(src_port=self.port, seq=self.seq, command=up,
                   key=args[0] if up in KEYED and args else None,
                   args=list(args), resp=self.resp, reply_type=None,
                   reply=None, reply_len=None, error=None, attribute=False,
                   no_reply=False, queued=False)
        self.seq += 1
        sub = (args[0].upper() if up == "CLIENT" and len(args) > 1
               and args[0].upper() == "REPLY" else None)
        mode = args[1].upper() if sub else None
        expect = 1
        if mode == "OFF":
            self.reply_off, expect = True, 0
        elif mode == "SKIP":
            expect = 0
            if not self.reply_off:
                self.skip_next = True
        elif mode == "ON":
            self.reply_off = self.skip_next = False
        elif self.reply_off:
            expect = 0
        elif self.skip_next:
            self.skip_next, expect = False, 0
        conf = 0
        if up in SUB_CMDS and expect:
            self.pubsub = True
            conf = len(args) or max(1, len(self.subs[SUB_CMDS[up]]))
        if up == "HELLO":
            assert not self.pending, "HELLO is never pipelined"
        p = dict(rec=rec, expect=expect, conf=conf, got=0, want=want,
                 in_multi=self.in_multi and up not in ("EXEC", "DISCARD",
                                                       "MULTI", "WATCH"))
        if expect:
            if up == "MULTI":
                self.in_multi = True
            elif up in ("EXEC", "DISCARD"):
                self.in_multi = False
        else:
            rec["no_reply"] = True
        self.pending.append(p)
        return p

    def send(self, *args, want=None):
        self._rec(args[0], args[1:], want)
        self.s.sendall(enc(args))

    def inline(self, raw, args, want=None):
        """Sends raw text as an inline command; args is what the server
        parses it into (name first)."""
        self._rec(args[0], args[1:], want)
        self.s.sendall(raw.encode() + b"\r\n")

    def pipeline(self, cmds):
        """Sends every command in one sendall."""
        data = b""
        for c in cmds:
            want = None
            if isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], dict):
                c, want = c[0], c[1].get("want")
            self._rec(c[0], c[1:], want)
            data += enc(list(c))
        self.s.sendall(data)

    def call(self, *args, want=None):
        self.send(*args, want=want)
        return self.wait()

    # -- pairing ---------------------------------------------------------
    def finish(self, p):
        rec = p["rec"]
        note(**rec)
        counts["no_reply" if rec["no_reply"] else rec["reply_type"]] += 1
        want = p["want"]
        if want is not None:
            got = rec["reply"] if rec["reply"] is not None else rec["reply_type"]
            ok = (want(rec) if callable(want)
                  else want in (rec["reply_type"], rec["reply"]))
            if not ok:
                raise AssertionError("%s seq %d %s %s: wanted %r, got %r / %r"
                                     % (self.name, rec["seq"], rec["command"],
                                        rec["args"][:3], want, got,
                                        rec["error"]))

    def fill_reply(self, p, v):
        rec = p["rec"]
        rec.update(reply_type=v.t, reply=v.text(), reply_len=v.length(),
                   error=v.v if v.t in ("error", "bulk_error") else None,
                   attribute=v.attr)
        if p["in_multi"] and v.t == "simple_string" and v.v == "QUEUED":
            rec["queued"] = True
        if rec["command"] == "HELLO" and v.t != "error" and rec["args"]:
            self.resp = int(rec["args"][0])

    def push_line(self, v, seq):
        it = [x.text() for x in v.items]
        kind = it[0]
        line = dict(src_port=self.port, seq=seq, resp=self.resp, push=kind,
                    channel=None, pattern=None, payload=None, keys=None)
        if kind in ("psubscribe", "punsubscribe"):
            line.update(pattern=it[1], payload=it[2])
        elif kind in CONF_KINDS:
            line.update(channel=it[1], payload=it[2])
        elif kind in ("message", "smessage"):
            line.update(channel=it[1], payload=it[2])
        elif kind == "pmessage":
            line.update(pattern=it[1], channel=it[2], payload=it[3])
        elif kind == "invalidate":
            k = v.items[1]
            line["keys"] = (None if k.t == "null"
                            else [x.text() for x in k.items])
        elif len(it) > 1:
            line["payload"] = it[1]
        note(**line)
        counts["push:" + kind] += 1
        return kind, it

    def is_push(self, v):
        if v.t == "push":
            return True
        return (self.pubsub and self.resp == 2 and v.t == "array" and v.items
                and v.items[0].t == "bulk_string"
                and v.items[0].v in PUBSUB_KINDS)

    def wait(self):
        """Reads until every command sent so far is answered; returns the
        records of the commands completed."""
        done = []
        while self.pending:
            p = self.pending[0]
            if not p["expect"]:
                self.pending.popleft()
                self.finish(p)
                done.append(p["rec"])
                continue
            v = self.val()
            if self.is_push(v):
                kind = v.items[0].text()
                if kind in CONF_KINDS and p["conf"]:
                    if p["got"] == 0:
                        self.fill_reply(p, v)
                        self.finish(p)
                    self.push_line(v, p["rec"]["seq"])
                    subs = self.subs[SUB_CMDS[kind.upper()]]
                    name = v.items[1].text()
                    if kind.startswith(("sub", "psub", "ssub")):
                        subs.add(name)
                    else:
                        subs.discard(name)
                    p["got"] += 1
                    if p["got"] == p["conf"]:
                        self.pending.popleft()
                        done.append(p["rec"])
                    continue
                self.push_line(v, None)
                continue
            self.pending.popleft()
            self.fill_reply(p, v)
            self.finish(p)
            done.append(p["rec"])
        return done

    def quit(self):
        self.call("QUIT", want="OK")
        self.s.settimeout(2)
        assert self.s.recv(1) == b"", "%s: open after QUIT" % self.name
        self.s.close()

    def close(self):
        self.s.close()


def is_len(n, t="array"):
    return lambda r: r["reply_type"] == t and r["reply_len"] == n


def err_starts(prefix):
    return lambda r: (r["reply_type"] == "error"
                      and r["error"].startswith(prefix))


def cli(args, want_type, want_reply):
    """One redis-cli run: its own connection, one command, seq 0."""
    out = subprocess.run(["redis-cli", "-h", SRV, "--no-raw"] + args,
                         capture_output=True, text=True, timeout=10).stdout
    out = out.rstrip("\n")
    if out.startswith("(integer) "):
        t, r, n, e = "integer", out[10:], None, None
    elif out == "(nil)":
        t, r, n, e = "null", None, None, None
    elif out.startswith("(error) "):
        t, r, n, e = "error", None, None, out[8:]
    elif out.startswith("1) "):
        t, r, n, e = "array", None, len(out.split("\n")), None
    elif out.startswith('"'):
        t, r, n, e = "bulk_string", json.loads(out), None, None
    else:
        t, r, n, e = "simple_string", out, None, None
    if t != want_type or (want_reply is not None and r != want_reply
                          and n != want_reply):
        raise AssertionError("redis-cli %s: got %r" % (args, out))
    note(src_port=None, seq=0, command=args[0].upper(),
         key=args[1] if args[0].upper() in KEYED else None, args=args[1:],
         resp=2, reply_type=t, reply=r, reply_len=n, error=e,
         attribute=False, no_reply=False, queued=False)
    counts[t] += 1


def main():
    # -- setup: clean state, the ACL user, keys for redis-cli -------------
    setup = Conn("setup")
    setup.call("SELECT", "1", want="OK")
    setup.call("FLUSHDB", want="OK")
    setup.call("SELECT", "0", want="OK")
    setup.call("FLUSHDB", want="OK")
    setup.call("ACL", "SETUSER", "wluser", "reset", "on", ">wlpass", "~*",
               "&*", "+@all", want="OK")
    setup.call("SET", "cli-get", "from-setup", want="OK")
    setup.call("SET", "cli-wrongtype", "a string", want="OK")
    setup.call("RPUSH", "cli-lrange", "a", "b", "c", want="3")
    setup.call("DBSIZE", want="3")
    setup.call("INFO", "server", want="bulk_string")
    setup.quit()

    aux = Conn("aux")  # changes keys under other connections' feet
    aux.call("PING", want="PONG")

    # -- RESP2: every reply type, errors, inline, transactions, big value -
    c = Conn("resp2")
    c.call("PING", want="PONG")
    c.call("ECHO", "hello resp2", want="hello resp2")
    c.call("CLIENT", "SETNAME", "wl-resp2", want="OK")
    c.call("CLIENT", "GETNAME", want="wl-resp2")
    c.call("SET", "k1", "v1", want="OK")
    c.call("GET", "k1", want="v1")
    c.call("GET", "missing", want="null")
    c.call("EXISTS", "k1", "missing", want="1")
    c.call("INCR", "n", want="1")
    c.call("INCRBY", "n", "41", want="42")
    c.call("DECR", "n", want="41")
    c.call("APPEND", "k1", "-more", want="7")
    c.call("STRLEN", "k1", want="7")
    c.call("GETRANGE", "k1", "0", "1", want="v1")
    c.call("MSET", "ma", "1", "mb", "2", want="OK")
    c.call("MGET", "ma", "missing", "mb", want=is_len(3))
    c.call("HSET", "h", "f1", "v1", "f2", "v2", want="2")
    c.call("HGET", "h", "f1", want="v1")
    c.call("HGETALL", "h", want=is_len(4))
    c.call("HLEN", "h", want="2")
    c.call("LPUSH", "l", "x", "y", "z", want="3")
    c.call("LRANGE", "l", "0", "-1", want=is_len(3))
    c.call("LRANGE", "emptylist", "0", "-1", want=is_len(0))
    c.call("LLEN", "l", want="3")
    c.call("SADD", "s", "m1", "m2", "m3", want="3")
    c.call("SMEMBERS", "s", want=is_len(3))
    c.call("SISMEMBER", "s", "m2", want="1")
    c.call("ZADD", "z", "1.5", "one", "2", "two", want="2")
    c.call("ZSCORE", "z", "one", want="1.5")
    c.call("ZRANGE", "z", "0", "-1", "WITHSCORES", want=is_len(4))
    c.call("EXPIRE", "k1", "1000", want="1")
    c.call("TTL", "k1", want=lambda r: r["reply_type"] == "integer")
    c.call("TYPE", "h", want="hash")
    c.call("TYPE", "missing", want="none")
    c.call("DEL", "ma", "mb", "missing", want="2")
    c.call("BLPOP", "missing", "0.01", want="null")      # *-1
    c.call("CONFIG", "GET", "maxmemory", want=is_len(2))
    c.call("COMMAND", "COUNT", want="integer")
    c.call("DBSIZE", want="integer")
    c.call("SELECT", "1", want="OK")
    c.call("SET", "db1key", "in db 1", want="OK")
    c.call("SELECT", "0", want="OK")
    # errors
    c.call("SET", "str", "a string", want="OK")
    c.call("LPUSH", "str", "x", want=err_starts("WRONGTYPE "))
    c.call("NOSUCHCMD", "x", "y", want=err_starts("ERR unknown command"))
    c.call("GET", want=err_starts("ERR wrong number of arguments"))
    c.call("INCR", "str", want=err_starts("ERR value is not an integer"))
    c.call("SET", "k2", "v", "BADOPT", want=err_starts("ERR syntax error"))
    # DEBUG PROTOCOL downgraded to RESP2
    for t, w in [("string", "Hello World"), ("integer", "12345"),
                 ("double", "3.141"), ("bignum", "bulk_string"),
                 ("null", "null"), ("array", is_len(3)), ("set", is_len(3)),
                 ("map", is_len(6)), ("attrib", "bulk_string"),
                 ("verbatim", "This is a verbatim\nstring"), ("true", "1"),
                 ("false", "0")]:
        c.call("DEBUG", "PROTOCOL", t, want=w)
    # inline commands
    c.inline("PING", ["PING"], want="PONG")
    c.inline('SET inl "a b"', ["SET", "inl", "a b"], want="OK")
    c.inline("GET inl", ["GET", "inl"], want="a b")
    # transactions
    c.call("MULTI", want="OK")
    c.call("SET", "mk", "a", want="QUEUED")
    c.call("INCR", "mcount", want="QUEUED")
    c.call("LPUSH", "mk", "x", want="QUEUED")   # fails inside EXEC
    c.call("GET", "mk", want="QUEUED")
    c.call("EXEC", want=is_len(4))
    c.call("MULTI", want="OK")
    c.call("SET", "dk", "never", want="QUEUED")
    c.call("DISCARD", want="OK")
    c.call("EXISTS", "dk", want="0")
    c.call("MULTI", want="OK")
    c.call("GET", want=err_starts("ERR wrong number"))   # refused
    c.call("SET", "ak", "b", want="QUEUED")
    c.call("EXEC", want=err_starts("EXECABORT"))
    c.call("WATCH", "wk", want="OK")
    aux.call("SET", "wk", "changed", want="OK")
    c.call("MULTI", want="OK")
    c.call("SET", "wk", "mine", want="QUEUED")
    c.call("EXEC", want="null")                          # *-1
    # a large value
    big = ("0123456789abcdef" * 6400)                    # 102400 bytes
    c.call("SET", "big", big, want="OK")
    c.call("GET", "big", want=big)
    c.call("STRLEN", "big", want="102400")
    c.quit()

    # -- one burst of 100 pipelined commands ------------------------------
    p = Conn("pipeline")
    burst = []
    for i in range(100):
        if i == 50:
            burst.append(("NOSUCHCMD", "p"))
        elif i == 70:
            burst.append(("GET", "pipe-missing"))
        elif i % 10 == 3:
            burst.append(("SET", "pk%d" % i, "v%d" % i))
        elif i % 10 == 4:
            burst.append(("GET", "pk%d" % (i - 1)))
        else:
            burst.append(("INCR", "counter"))
    p.pipeline(burst)
    got = p.wait()
    assert len(got) == 100, len(got)
    incrs = [r["reply"] for r in got if r["command"] == "INCR"]
    assert incrs == [str(i + 1) for i in range(len(incrs))], incrs
    assert got[4]["reply"] == "v3" and got[70]["reply_type"] == "null"
    assert got[50]["reply_type"] == "error"
    p.call("GET", "counter", want=str(len(incrs)))
    p.quit()

    # -- RESP3: every type -------------------------------------------------
    r = Conn("resp3")
    r.call("HELLO", "3", want="map")
    r.call("PING", want="PONG")
    r.call("SET", "r3k", "v3", want="OK")
    r.call("GET", "r3k", want="v3")
    r.call("GET", "missing", want="null")                # _
    r.call("INCR", "r3n", want="1")
    r.call("HSET", "r3h", "a", "1", "b", "2", want="2")
    r.call("HGETALL", "r3h", want=is_len(2, "map"))
    r.call("CONFIG", "GET", "maxmemory", want=is_len(1, "map"))
    r.call("SADD", "r3s", "x", "y", want="2")
    r.call("SMEMBERS", "r3s", want=is_len(2, "set"))
    r.call("ZADD", "r3z", "2.5", "m", want="1")
    r.call("ZSCORE", "r3z", "m", want=lambda x: x["reply_type"] == "double"
           and x["reply"] == "2.5")
    r.call("ZRANGE", "r3z", "0", "-1", "WITHSCORES", want=is_len(1))
    r.call("LPUSH", "r3k", "x", want=err_starts("WRONGTYPE "))
    r.call("NOSUCHCMD", want=err_starts("ERR unknown command"))
    r.call("BLPOP", "missing", "0.01", want="null")
    r.call("EXISTS", "r3k", want="1")
    r.call("INFO", "server", want="verbatim_string")
    for t, w in [("string", "Hello World"), ("integer", "12345"),
                 ("double", "double"), ("bignum", "big_number"),
                 ("null", "null"), ("array", is_len(3)),
                 ("set", is_len(3, "set")), ("map", is_len(3, "map")),
                 ("attrib", lambda x: x["attribute"]
                  and x["reply_type"] == "bulk_string"),
                 ("verbatim", "verbatim_string"), ("true", "true"),
                 ("false", "false"),
                 ("push", "Some real reply following the push reply")]:
        r.call("DEBUG", "PROTOCOL", t, want=w)
    r.call("MULTI", want="OK")
    r.call("SET", "r3m", "a", want="QUEUED")
    r.call("INCR", "r3n", want="QUEUED")
    r.call("EXEC", want=is_len(2))
    r.call("HELLO", "2", want="array")                   # back to RESP2
    r.call("GET", "r3k", want="v3")
    r.call("DEBUG", "PROTOCOL", "null", want="null")     # $-1 again
    r.quit()

    # -- RESP3 client-side caching: invalidation pushes -------------------
    t = Conn("tracking")
    t.call("HELLO", "3", want="map")
    aux.call("SET", "trk", "v0", want="OK")
    t.call("CLIENT", "TRACKING", "ON", want="OK")
    t.call("GET", "trk", want="v0")
    aux.call("SET", "trk", "v1", want="OK")
    time.sleep(0.1)
    t.call("PING", want="PONG")          # the invalidate push comes first
    t.call("GET", "trk", want="v1")
    t.call("GET", "trk2", want="null")
    aux.call("SET", "trk2", "x", want="OK")
    time.sleep(0.1)
    t.pipeline([("ECHO", "after invalidate"), ("GET", "trk2")])
    got = t.wait()
    assert got[0]["reply"] == "after invalidate" and got[1]["reply"] == "x"
    t.quit()

    # -- AUTH and HELLO with credentials ----------------------------------
    a = Conn("auth")
    a.call("AUTH", "wluser", "wrongpass", want=err_starts("WRONGPASS"))
    a.call("AUTH", "wluser", "wlpass", want="OK")
    a.call("ACL", "WHOAMI", want="wluser")
    a.call("AUTH", "nouserpass", want=err_starts("ERR AUTH"))
    a.call("SET", "auth-k", "v", want="OK")
    a.quit()
    h = Conn("hello-auth")
    h.call("HELLO", "3", "AUTH", "wluser", "badpass",
           want=err_starts("WRONGPASS"))
    h.call("HELLO", "3", "AUTH", "wluser", "wlpass", "SETNAME", "wl-hello",
           want="map")
    h.call("ACL", "WHOAMI", want="wluser")
    h.call("CLIENT", "GETNAME", want="wl-hello")
    h.quit()

    # -- CLIENT REPLY OFF / ON / SKIP --------------------------------------
    q = Conn("client-reply")
    q.call("PING", want="PONG")
    q.send("CLIENT", "REPLY", "OFF")
    q.send("SET", "cr1", "a")
    q.send("INCR", "crn")
    q.send("GET", "cr1")
    q.send("CLIENT", "REPLY", "ON")
    q.wait()
    q.call("GET", "cr1", want="a")
    q.send("CLIENT", "REPLY", "SKIP")
    q.send("SET", "cr2", "b")
    q.send("ECHO", "after skip", want="after skip")
    q.wait()
    q.call("GET", "crn", want="1")
    q.quit()

    # -- pub/sub, RESP2 subscriber -----------------------------------------
    sub = Conn("sub2")
    pub = Conn("publisher")
    sub.call("SUBSCRIBE", "ch1", "ch2", want=is_len(3))
    sub.call("PSUBSCRIBE", "news.*", want=is_len(3))
    for ch, msg, n in [("ch1", "hello 1", "1"), ("ch2", "hello 2", "1"),
                       ("news.sport", "goal", "1"), ("ch1", "hello 3", "1"),
                       ("news.weather", "rain today", "1"),
                       ("nobody", "lost", "0")]:
        pub.call("PUBLISH", ch, msg, want=n)
    sub.call("PING", want=is_len(2))         # ["pong", ""]
    sub.call("PING", "still here", want=is_len(2))
    sub.call("GET", "k1", want=err_starts("ERR Can't execute 'get'"))
    sub.call("UNSUBSCRIBE", want=is_len(3))  # one confirmation per channel
    sub.call("PUNSUBSCRIBE", want=is_len(3))
    sub.call("PING", want="PONG")            # out of subscribe mode
    sub.quit()

    # -- pub/sub, RESP3 subscriber (pushes; commands allowed meanwhile) ----
    s3 = Conn("sub3")
    s3.call("HELLO", "3", want="map")
    s3.call("SUBSCRIBE", "r3ch", want=is_len(3, "push"))
    s3.call("PSUBSCRIBE", "r3.*", want=is_len(3, "push"))
    s3.call("SSUBSCRIBE", "r3shard", want=is_len(3, "push"))
    pub.call("PUBLISH", "r3ch", "to resp3", want="1")
    pub.call("PUBLISH", "r3.x", "by pattern", want="1")
    pub.call("SPUBLISH", "r3shard", "sharded", want="1")
    s3.call("PING", want="PONG")
    s3.call("GET", "r3k", want="v3")
    s3.call("UNSUBSCRIBE", want=is_len(3, "push"))
    s3.call("PUNSUBSCRIBE", "r3.*", want=is_len(3, "push"))
    s3.call("SUNSUBSCRIBE", want=is_len(3, "push"))
    s3.quit()
    pub.quit()
    aux.quit()

    # -- redis-cli, each run its own connection ----------------------------
    cli(["SET", "cli-set", "v"], "simple_string", "OK")
    cli(["GET", "cli-get"], "bulk_string", "from-setup")
    cli(["INCR", "cli-incr"], "integer", "1")
    cli(["GET", "cli-missing"], "null", None)
    cli(["LRANGE", "cli-lrange", "0", "-1"], "array", 3)
    cli(["LPUSH", "cli-wrongtype", "x"], "error", None)

    OUT.close()
    sys.stderr.write("redis-driver: %s\n" % json.dumps(dict(sorted(counts.items()))))


if __name__ == "__main__":
    main()
