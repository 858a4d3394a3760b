#!/usr/bin/python3
"""Drives PostgreSQL traffic at the testbed's server and writes a manifest.

Usage: pgsql-driver.py SERVER_IP MANIFEST

The server is the one scripts/db-testbed.sh starts (PostgreSQL on
SERVER_IP:5432, TLS offered, users wl_scram (scram-sha-256) and wl_md5
(md5), database wldb, fresh). Clients: psycopg 3 (libpq underneath) for the
extended protocol (unnamed statements whenever a query has parameters,
named ones with prepare=True, a pipeline with one Sync for several
Executes), for simple Queries (no parameters; ClientCursor, which inlines
the parameters as literals) and for COPY and a CancelRequest; and psql
with several statements in one Query. Sessions with sslmode=disable, and
sessions with sslmode=require, whose statements are encrypted.

Exits non-zero when the server did not answer as the scenario relies on
(a `want` below): the manifest is then not written whole.

Manifest: one JSON object per line.

Session line ("kind": "session"), one per connection, before its
statements:
  session           the driver's name for it (unique)
  client            "psycopg" or "psql"
  src_port          the client's port; null when the login failed (no
                    socket left to ask)
  user, database, application_name   as sent in the StartupMessage (the
                    application_name is unique per session: a session's
                    records are found by it)
  tls               true under sslmode=require (an SSLRequest answered S,
                    then TLS); false under sslmode=disable (no SSLRequest)
  auth              the method pg_hba.conf gives the user: "sasl"
                    (scram-sha-256) or "md5"
  login_sqlstate    null when the login succeeded, else the error's code
  backend_pid       the server process (BackendKeyData); null on failure

Statement line ("kind": "statement"), in the order sent on the session:
  session, src_port, application_name   its session's
  seq               0-based, per session
  statement         the text as sent; for a Query of several statements,
                    this statement's part of it (from its first character to
                    its `;` included, or to the text's end)
  index             its place in a Query of several statements, else null
  offset            its first byte's offset in that Query's text, else null
                    (a sensor keeping the first N bytes of a Query sees the
                    statements that start before N, the one across N cut)
  params            the bind parameters as the driver gave them (bytes in
                    hex; null for SQL NULL); [] when none. Extended protocol
                    only (psycopg sends numbers in binary, text as text).
  extended          true: Parse/Bind/Execute (op "execute"); false: a
                    simple Query (op "query")
  prepared          the named statement's name (psycopg's _pg3_N), null for
                    the unnamed statement and simple Queries
  sent_by           "driver", or "psycopg" for what the library sent by
                    itself (BEGIN before the first statement out of
                    autocommit; COMMIT and ROLLBACK of conn.commit() and
                    conn.rollback())
  tag               the CommandComplete tag ("INSERT 0 1"), null on error,
                    for an empty query or when skipped
  rows              the rows the tag counts (libpq's PQcmdTuples), else null
  data_rows         the DataRows received (statements returning rows)
  sqlstate          the ErrorResponse's code, else null
  failed_at         the message the error answered: "parse" (the Parse of an
                    extended statement failed: the text never ran) or
                    "execute"; null without error
  skipped           the server discarded it after an earlier error (up to
                    the Sync, or the rest of a simple Query's text)
  empty             answered EmptyQueryResponse
  copy              "in" or "out" for COPY
  copy_bytes        the COPY data bytes sent or received (CopyData payloads)
  tx_status         after a simple Query: the transaction status of its
                    ReadyForQuery ("idle", "transaction", "failed"); null
                    for extended statements and for a Query's statements
                    other than its last
  tls               its session's

Cancel line ("kind": "cancel"): a CancelRequest sent on its own connection
(port unknown: libpq opens it) for the session's backend_pid; the statement
it cancelled has sqlstate 57014.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import psycopg
from psycopg import pq
from psycopg._queries import PostgresClientQuery, PostgresQuery
from psycopg.adapt import Transformer

SRV = sys.argv[1]
OUT = open(sys.argv[2], "w")
PORT = 5432
DB = "wldb"
USERS = {"wl_scram": ("wl-scram-pw", "sasl"), "wl_md5": ("wl-md5-pw", "md5")}


def note(**kv):
    OUT.write(json.dumps(kv) + "\n")
    OUT.flush()


def want(ok, what):
    if not ok:
        sys.exit("pgsql-driver: " + what)


def tag_rows(res):
    """The rows the tag counts: libpq's PQcmdTuples (empty when none)."""
    t = res.command_tuples
    return t if isinstance(t, int) and t >= 0 else None


TX = {pq.TransactionStatus.IDLE: "idle",
      pq.TransactionStatus.INTRANS: "transaction",
      pq.TransactionStatus.INERROR: "failed"}


class Session:
    """One psycopg connection; `stmt` writes a statement line."""

    def __init__(self, name, user, tls=False, autocommit=True, password=None):
        self.name, self.user, self.tls = name, user, tls
        self.app = "wl-" + name
        self.seq = 0
        pw, self.auth = USERS[user]
        self.conninfo = dict(host=SRV, port=PORT, user=user, dbname=DB,
                             password=password or pw, application_name=self.app,
                             sslmode="require" if tls else "disable",
                             connect_timeout=5)
        self.port = None
        try:
            # No statement is prepared unless asked (prepare=True, and
            # executemany, which always prepares).
            self.conn = psycopg.connect(autocommit=autocommit, **self.conninfo)
            self.conn.prepare_threshold = 1000
        except psycopg.OperationalError as e:
            self.conn = None
            self.session_line(getattr(e, "sqlstate", None) or sqlstate_of(e), None)
            return
        s = socket.fromfd(self.conn.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        self.port = s.getsockname()[1]
        s.close()
        want(bool(self.conn.pgconn.ssl_in_use) == tls, f"{name}: TLS in use is not {tls}")
        self.session_line(None, self.conn.info.backend_pid)

    def session_line(self, sqlstate, pid):
        note(kind="session", session=self.name, client="psycopg", src_port=self.port,
             user=self.user, database=DB, application_name=self.app, tls=self.tls,
             auth=self.auth, login_sqlstate=sqlstate, backend_pid=pid)

    def psycopg_sent(self, command, tag):
        """A command psycopg sent by itself (its _exec_command: the
        extended protocol with no parameters)."""
        self.stmt(command, sent_by="psycopg", extended=True, tag=tag)

    def stmt(self, statement, **kv):
        line = dict(kind="statement", session=self.name, src_port=self.port,
                    application_name=self.app, seq=self.seq, statement=statement,
                    index=None, offset=None, params=[], extended=False, prepared=None,
                    sent_by="driver", tag=None, rows=None, data_rows=None,
                    sqlstate=None, failed_at=None, skipped=False, empty=False,
                    copy=None, copy_bytes=None, tx_status=None, tls=self.tls)
        line.update(kv)
        self.seq += 1
        note(**line)

    def tx(self):
        return TX.get(self.conn.info.transaction_status)


    def params_json(self, params):
        # bytes as PostgreSQL writes bytea (\x and hex digits)
        return ["\\x" + v.hex() if isinstance(v, bytes) else v for v in params or []]

    def outcome(self, cur):
        """A statement's answer, from the cursor's result."""
        res = cur.pgresult
        out = dict(tag=res.command_status.decode(), rows=tag_rows(res))
        if res.status == pq.ExecStatus.TUPLES_OK:
            out["data_rows"] = res.ntuples
        return out

    def prepared_name(self, pgq):
        """The name psycopg gave the statement it prepared for `pgq`."""
        name = self.conn._prepared._names.get((pgq.query, pgq.types))
        want(name is not None, f"{pgq.query}: not prepared")
        return name.decode()

    def execute(self, q, params=None, prepare=None, cursor=None, **expect):
        """Runs one statement; logs it with its outcome; returns the rows."""
        cur = cursor or self.conn.cursor()
        client = isinstance(cur, psycopg.ClientCursor)
        extended = not client and (params is not None or bool(prepare))
        # psycopg forgets its prepared statements at a ROLLBACK or DROP and
        # has the server forget them too (DEALLOCATE ALL, a simple Query).
        had_prepared = bool(self.conn._prepared._names)
        # The text as sent ($1 for %s; ClientCursor: the literals inlined).
        pgq = (PostgresClientQuery if client else PostgresQuery)(Transformer(cur))
        pgq.convert(q, params)
        rows = None
        try:
            cur.execute(q, params, prepare=prepare)
            out = self.outcome(cur)
            if cur.pgresult.status == pq.ExecStatus.TUPLES_OK:
                rows = cur.fetchall()
            err = None
        except psycopg.Error as e:
            out, err = dict(sqlstate=e.sqlstate), e
        text = pgq.query.decode()
        ps = self.params_json(params) if extended else []
        name = self.prepared_name(pgq) if prepare else None
        for k, v in expect.items():
            got = out.get(k) if k != "failed_at" else None
            if k != "failed_at":
                want(got == v, f"{self.name}: {q}: {k} is {got!r}, wants {v!r} ({err})")
        failed_at = expect.get("failed_at", "execute") if out.get("sqlstate") else None
        tx = None if extended else self.tx()
        self.stmt(text, params=ps, extended=extended, prepared=name,
                  failed_at=failed_at, tx_status=tx, **out)
        if failed_at == "parse":
            # What followed the failed Parse up to the Sync (Bind,
            # Describe, Execute) was discarded by the server.
            want(extended and not prepare, f"{q}: a failed Parse outside the unnamed path")
            self.stmt(text, params=ps, extended=True, skipped=True)
        tag = out.get("tag") or ""
        if had_prepared and (tag == "ROLLBACK" or tag.startswith("DROP ")):
            want(not self.conn._prepared._names, "psycopg kept its prepared statements")
            self.stmt("DEALLOCATE ALL", sent_by="psycopg", extended=True,
                      tag="DEALLOCATE ALL")
        return rows

    def simple_parts(self, parts, expect):
        """One simple Query of several statements, sent with libpq itself
        (psycopg raises at the first error and drops the results before
        it): `expect` is each statement's sqlstate (None: success), or
        "skipped"."""
        text = " ".join(parts)
        pgc = self.conn.pgconn
        pgc.send_query(text.encode())
        results = []
        while True:
            r = pgc.get_result()
            if r is None:
                break
            results.append(r)
        tx = self.tx()
        want(len(results) == len([e for e in expect if e != "skipped"]),
             f"{text}: {len(results)} results")
        offsets = [len(" ".join(parts[:i] + [""]).encode()) for i in range(len(parts))]
        for i, (part, e) in enumerate(zip(parts, expect)):
            last = i == len(parts) - 1
            kv = dict(index=i, offset=offsets[i], tx_status=tx if last else None)
            if e == "skipped":
                kv.update(skipped=True)
                # A failed Query's transaction status goes on the record of
                # the statement that failed (the last one the server ran).
                kv["tx_status"] = None
            else:
                r = results[i]
                code = r.error_field(pq.DiagnosticField.SQLSTATE)
                code = code.decode() if code else None
                want(code == e, f"{part}: sqlstate {code}, wants {e}")
                if code:
                    kv.update(sqlstate=code, failed_at="execute", tx_status=tx)
                else:
                    kv.update(tag=r.command_status.decode(), rows=tag_rows(r))
                    if r.status == pq.ExecStatus.TUPLES_OK:
                        kv["data_rows"] = r.ntuples
                    if i == len(results) - 1 and not last:
                        kv["tx_status"] = None
            self.stmt(part, **kv)

    def close(self):
        if self.conn:
            self.conn.close()


def sqlstate_of(e):
    """A failed login's SQLSTATE: libpq gives only the message; the error
    codes the scenario makes are known by their text."""
    m = str(e)
    if "password authentication failed" in m:
        return "28P01"
    if "does not exist" in m and "database" in m:
        return "3D000"
    return "?????"


def extended_session():
    """psycopg, scram, autocommit: the extended protocol's paths."""
    s = Session("pg-ext", "wl_scram")
    ex = s.execute
    ex("CREATE TABLE wl_items (id int PRIMARY KEY, name text NOT NULL, price numeric, note text)",
       tag="CREATE TABLE")
    ex("INSERT INTO wl_items VALUES (%s, %s, %s, %s)", [1, "apple", 1.5, None], rows=1)
    # executemany: in a pipeline, one Parse (psycopg prepares it), four
    # Bind/Describe/Execute and one Sync: 14 messages waiting at once (the
    # sensor keeps 16 per connection).
    cur = s.conn.cursor()
    q = "INSERT INTO wl_items (id, name, price) VALUES (%s, %s, %s)"
    batch = [(i, f"item {i}", i * 10) for i in range(2, 6)]
    cur.executemany(q, batch)
    want(cur.rowcount == 4, f"executemany: rowcount {cur.rowcount}")
    name = s.prepared_name(cur._query)
    for b in batch:
        s.stmt("INSERT INTO wl_items (id, name, price) VALUES ($1, $2, $3)",
               params=list(b), extended=True, prepared=name, tag="INSERT 0 1",
               rows=1)
    # A batch of 60 rows in one pipeline: some 180 messages waiting at
    # once, past the 16 the sensor keeps in a session (the others wait in
    # its transaction buffer).
    ex("CREATE TABLE wl_batch (id int PRIMARY KEY, v text)", tag="CREATE TABLE")
    big = [(i, f"v{i}") for i in range(60)]
    cur.executemany("INSERT INTO wl_batch VALUES (%s, %s)", big)
    want(cur.rowcount == 60, f"executemany: rowcount {cur.rowcount}")
    name = s.prepared_name(cur._query)
    for b in big:
        s.stmt("INSERT INTO wl_batch VALUES ($1, $2)", params=list(b), extended=True,
               prepared=name, tag="INSERT 0 1", rows=1)
    ex("SELECT id, name FROM wl_items WHERE id > %s ORDER BY id", [2], rows=3, data_rows=3)
    # A named statement: Parse once, then Bind/Execute by its name.
    for i, n in [(1, 1), (3, 1), (99, 0)]:
        ex("SELECT name, price FROM wl_items WHERE id = %s", [i], prepare=True, rows=n)
    ex("UPDATE wl_items SET price = price * %s WHERE id <= %s", [2, 3], rows=3)
    ex("DELETE FROM wl_items WHERE id = %s", [5], rows=1)
    # Errors: at Execute (a duplicate key), at Parse (a syntax error, the
    # Bind/Describe/Execute behind it skipped up to the Sync).
    ex("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [1, "again"], sqlstate="23505")
    ex("SELEC %s", [1], sqlstate="42601", failed_at="parse")
    # A pipeline: three Executes, one Sync; the second fails, the third
    # is skipped by the server.
    q = "INSERT INTO wl_items (id, name) VALUES ($1, $2)"
    got = []
    try:
        with s.conn.pipeline():
            c1, c2, c3 = s.conn.cursor(), s.conn.cursor(), s.conn.cursor()
            c1.execute("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [7, "seven"])
            c2.execute("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [2, "dup"])
            c3.execute("SELECT count(*) FROM wl_items WHERE id > %s", [0])
    except psycopg.errors.UniqueViolation as e:
        got.append(e.sqlstate)
    want(got == ["23505"], f"pipeline: {got}")
    s.stmt(q, params=[7, "seven"], extended=True, tag="INSERT 0 1", rows=1)
    s.stmt(q, params=[2, "dup"], extended=True, sqlstate="23505", failed_at="execute")
    s.stmt("SELECT count(*) FROM wl_items WHERE id > $1", params=[0], extended=True,
           skipped=True)
    # Transactions: committed, rolled back, failed then rolled back.
    ex("BEGIN", tag="BEGIN")
    ex("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [8, "eight"], rows=1)
    ex("COMMIT", tag="COMMIT")
    ex("BEGIN", tag="BEGIN")
    ex("DELETE FROM wl_items WHERE id > %s", [0], rows=5)
    ex("ROLLBACK", tag="ROLLBACK")
    ex("BEGIN", tag="BEGIN")
    ex("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [1, "dup"], sqlstate="23505")
    # In a failed transaction even the Parse is refused.
    ex("SELECT count(*) FROM wl_items WHERE id > %s", [0], sqlstate="25P02", failed_at="parse")
    ex("ROLLBACK", tag="ROLLBACK")
    # COPY in and out (simple Queries), their data bytes counted.
    cur = s.conn.cursor()
    data = b"".join(b"%d\tcopied %d\n" % (i, i) for i in range(30, 33))
    with cur.copy("COPY wl_items (id, name) FROM STDIN") as cp:
        cp.write(data)
    want(cur.rowcount == 3, f"copy in: {cur.rowcount}")
    s.stmt("COPY wl_items (id, name) FROM STDIN", tag="COPY 3", rows=3, copy="in",
           copy_bytes=len(data), tx_status=s.tx())
    cur = s.conn.cursor()
    got = b""
    with cur.copy("COPY (SELECT id, name FROM wl_items ORDER BY id) TO STDOUT") as cp:
        for block in cp:
            got += bytes(block)
    n = got.count(b"\n")
    want(n == 8 and cur.rowcount == 8, f"copy out: {n} {cur.rowcount}")
    s.stmt("COPY (SELECT id, name FROM wl_items ORDER BY id) TO STDOUT", tag="COPY 8",
           rows=8, copy="out", copy_bytes=len(got), tx_status=s.tx())
    # An empty query: EmptyQueryResponse.
    pgc = s.conn.pgconn
    r = pgc.exec_(b"")
    want(r.status == pq.ExecStatus.EMPTY_QUERY, f"empty query: {r.status}")
    s.stmt("", empty=True, tx_status=s.tx())
    # Simple Queries of several statements: all run; one fails, the rest
    # of the text is skipped.
    s.simple_parts(["INSERT INTO wl_items (id, name) VALUES (20, 'multi');",
                    "SELECT count(*) FROM wl_items;",
                    "UPDATE wl_items SET note = 'm;x' WHERE id >= 20"], [None, None, None])
    s.simple_parts(["INSERT INTO wl_items (id, name) VALUES (21, 'x');",
                    "INSERT INTO wl_items (id, name) VALUES (1, 'dup');",
                    "SELECT 1"], [None, "23505", "skipped"])
    ex("SELEC 1", sqlstate="42601")
    # A statement cancelled by a CancelRequest (its own connection).
    pid = s.conn.info.backend_pid
    t = threading.Timer(0.5, s.conn.cancel)
    t.start()
    ex("SELECT pg_sleep(%s)", [5], sqlstate="57014")
    t.join()
    note(kind="cancel", session=s.name, backend_pid=pid)
    ex("SELECT %s::text AS a, %s::int AS b, %s::bytea AS c", ["x'y", None, b"\x00\xff"],
       rows=1, data_rows=1)
    s.close()


def client_cursor_session():
    """psycopg's ClientCursor (parameters inlined: simple Queries), md5,
    not autocommit: psycopg sends BEGIN, COMMIT and ROLLBACK itself."""
    s = Session("pg-client", "wl_md5", autocommit=False)
    cur = psycopg.ClientCursor(s.conn)
    s.psycopg_sent("BEGIN", "BEGIN")
    s.execute("SELECT id, name FROM wl_items WHERE id < %s ORDER BY id", [4], cursor=cur,
              rows=3, data_rows=3)
    s.execute("INSERT INTO wl_items (id, name, note) VALUES (%s, %s, %s)",
              [40, "O'Brien", None], cursor=cur, rows=1)
    s.conn.commit()
    s.psycopg_sent("COMMIT", "COMMIT")
    s.psycopg_sent("BEGIN", "BEGIN")
    s.execute("INSERT INTO wl_items (id, name) VALUES (%s, %s)", [40, "again"], cursor=cur,
              sqlstate="23505")
    s.conn.rollback()
    s.psycopg_sent("ROLLBACK", "ROLLBACK")
    s.close()


def psql_session(name, statements, tls=False, expect_port=True):
    """psql: the port asked first (its own Query), then the statements as
    one Query."""
    app = "wl-" + name
    conn = (f"host={SRV} port={PORT} user=wl_scram dbname={DB} application_name={app} "
            f"sslmode={'require' if tls else 'disable'} connect_timeout=5")
    first = "SELECT inet_client_port(), pg_backend_pid(), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())"
    text = " ".join(p for p, _ in statements)
    env = dict(os.environ, PGPASSWORD=USERS["wl_scram"][0])
    o = subprocess.run(["psql", "-X", "-At", "-F", ",", conn, "-c", first, "-c", text],
                       capture_output=True, text=True, env=env, timeout=20)
    lines = o.stdout.splitlines()
    port, pid, ssl = lines[0].split(",")
    want(ssl == ("t" if tls else "f"), f"psql ssl {ssl}")
    port = int(port)
    note(kind="session", session=name, client="psql", src_port=port, user="wl_scram",
         database=DB, application_name=app, tls=tls, auth="sasl", login_sqlstate=None,
         backend_pid=int(pid))
    base = dict(kind="statement", session=name, src_port=port, application_name=app,
                params=[], extended=False, prepared=None, sent_by="driver", sqlstate=None,
                failed_at=None, skipped=False, empty=False, copy=None, copy_bytes=None,
                tls=tls)
    note(**base, seq=0, statement=first, index=None, offset=None, tag="SELECT 1", rows=1, data_rows=1,
         tx_status="idle")
    for i, (part, out) in enumerate(statements):
        last = i == len(statements) - 1
        multi = len(statements) > 1
        off = len(" ".join([p for p, _ in statements[:i]] + [""]).encode())
        note(**base, seq=1 + i, statement=part, index=i if multi else None,
             offset=off if multi else None,
             tag=out.get("tag"), rows=out.get("rows"), data_rows=out.get("data_rows"),
             tx_status="idle" if last else None)
    want(o.returncode == 0, f"psql: {o.stderr}")
    return lines


def failed_logins():
    """A wrong password (28P01) and an unknown database (3D000)."""
    Session("pg-badpw", "wl_scram", password="wrong")
    app = "wl-pg-nodb"
    conn = (f"host={SRV} port={PORT} user=wl_md5 dbname=nodb application_name={app} "
            "sslmode=disable connect_timeout=5")
    o = subprocess.run(["psql", "-X", "-At", conn, "-c", "SELECT 1"], capture_output=True,
                       text=True, env=dict(os.environ, PGPASSWORD=USERS["wl_md5"][0]),
                       timeout=20)
    want(o.returncode != 0 and "does not exist" in o.stderr, f"psql nodb: {o.stderr}")
    note(kind="session", session="pg-nodb", client="psql", src_port=None, user="wl_md5",
         database="nodb", application_name=app, tls=False, auth="md5",
         login_sqlstate="3D000", backend_pid=None)


def tls_sessions():
    """sslmode=require: an SSLRequest answered S, then TLS."""
    for name, user in [("pg-tls-scram", "wl_scram"), ("pg-tls-md5", "wl_md5")]:
        s = Session(name, user, tls=True)
        s.execute("SELECT id, name FROM wl_items WHERE id < %s", [3], rows=2, data_rows=2)
        s.execute("SELECT count(*) FROM wl_items", rows=1, data_rows=1)
        s.execute("UPDATE wl_items SET note = %s WHERE id = %s", ["tls", 1], prepare=True,
                  rows=1)
        s.close()
    psql_session("psql-tls", [("SELECT 1;", dict(tag="SELECT 1", rows=1, data_rows=1)),
                              ("SELECT 2", dict(tag="SELECT 1", rows=1, data_rows=1))],
                 tls=True)


def main():
    extended_session()
    client_cursor_session()
    lines = psql_session("psql", [
        ("CREATE TABLE wl_psql (k text PRIMARY KEY, v int);", dict(tag="CREATE TABLE")),
        ("INSERT INTO wl_psql VALUES ('a', 1), ('b;', 2);", dict(tag="INSERT 0 2", rows=2)),
        ("SELECT * FROM wl_psql ORDER BY k;", dict(tag="SELECT 2", rows=2, data_rows=2)),
        ("UPDATE wl_psql SET v = v + 1;", dict(tag="UPDATE 2", rows=2)),
        ("DELETE FROM wl_psql WHERE k = 'a'", dict(tag="DELETE 1", rows=1)),
    ])
    want("b;,2" in lines, f"psql output {lines}")
    failed_logins()
    tls_sessions()
    OUT.close()


main()
