//! The MySQL analyzer through the whole application layer: logins,
//! queries, prepared statements and their answers on byte arrays, cut at
//! every split point, with and without CLIENT_DEPRECATE_EOF, failed,
//! encrypted, compressed, lost, hostile.

use serde_json::Value;

use super::parse::cap;
use crate::app::tests::{of, timeless, tls_hellos, worker, Conv};
use crate::app::AppConfig;

fn run(c: &Conv) -> Vec<Value> {
    of(&c.run_with(AppConfig::sized(4 << 20)), "mysql")
}

fn timeless_all(v: &[Value]) -> Vec<Value> {
    v.iter().map(timeless).collect()
}

fn pkt(seq: u8, p: &[u8]) -> Vec<u8> {
    let mut m = (p.len() as u32).to_le_bytes()[..3].to_vec();
    m.push(seq);
    m.extend_from_slice(p);
    m
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn lenenc_str(s: &[u8]) -> Vec<u8> {
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s);
    v
}

const BASE: u32 = cap::PROTOCOL_41
    | cap::SECURE_CONNECTION
    | cap::PLUGIN_AUTH
    | cap::CONNECT_ATTRS
    | cap::PLUGIN_AUTH_LENENC
    | 1 << 16
    | 1 << 17;

fn greeting(caps: u32, plugin: &str) -> Vec<u8> {
    pkt(
        0,
        &super::parse::tests::greeting_payload("8.0.36", caps, plugin),
    )
}

/// The password's scramble: it must never be in a record.
const SCRAMBLE: [u8; 20] = *b"SECRETSECRETSECRET!!";

fn login_packet(caps: u32, user: &str, db: Option<&str>) -> Vec<u8> {
    let caps = caps
        | if db.is_some() {
            cap::CONNECT_WITH_DB
        } else {
            0
        };
    let mut l = caps.to_le_bytes().to_vec();
    l.extend(0x0100_0000u32.to_le_bytes());
    l.push(45);
    l.extend([0; 23]);
    l.extend(user.as_bytes());
    l.push(0);
    l.push(20);
    l.extend(SCRAMBLE);
    if let Some(d) = db {
        l.extend(d.as_bytes());
        l.push(0);
    }
    l.extend(b"caching_sha2_password\0");
    let mut a = Vec::new();
    for (k, v) in [
        ("_client_name", "libmysql"),
        ("_client_version", "8.0.36"),
        ("program_name", "mysql"),
    ] {
        a.extend(lenenc_str(k.as_bytes()));
        a.extend(lenenc_str(v.as_bytes()));
    }
    l.push(a.len() as u8);
    l.extend(a);
    pkt(1, &l)
}

fn ok(seq: u8, rows: u8, insert_id: u8, status: u16) -> Vec<u8> {
    let mut p = vec![0, rows, insert_id];
    p.extend(status.to_le_bytes());
    p.extend(0u16.to_le_bytes());
    pkt(seq, &p)
}

/// An OK in place of an EOF (CLIENT_DEPRECATE_EOF).
fn ok_fe(seq: u8, status: u16) -> Vec<u8> {
    let mut p = vec![0xfe, 0, 0];
    p.extend(status.to_le_bytes());
    p.extend(0u16.to_le_bytes());
    pkt(seq, &p)
}

fn eof(seq: u8, status: u16) -> Vec<u8> {
    let mut p = vec![0xfe, 0, 0];
    p.extend(status.to_le_bytes());
    pkt(seq, &p)
}

fn err(seq: u8, code: u16, state: &str, msg: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend(code.to_le_bytes());
    p.push(b'#');
    p.extend(state.as_bytes());
    p.extend(msg.as_bytes());
    pkt(seq, &p)
}

fn column(seq: u8, name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    for s in ["def", "shop", "users", "users", name, name] {
        p.extend(lenenc_str(s.as_bytes()));
    }
    p.push(0x0c);
    p.extend(33u16.to_le_bytes());
    p.extend(255u32.to_le_bytes());
    p.push(0xfd);
    p.extend([0, 0, 0, 0, 0]);
    pkt(seq, &p)
}

fn row(seq: u8, vals: &[&str]) -> Vec<u8> {
    let mut p = Vec::new();
    for v in vals {
        p.extend(lenenc_str(v.as_bytes()));
    }
    pkt(seq, &p)
}

/// A result set of `cols` columns and `rows` rows, its sequence ids from
/// 1, ending with `status` (EOFs, or OKs with CLIENT_DEPRECATE_EOF).
fn result_set(cols: &[&str], rows: &[&[&str]], deprecate: bool, first: u8, status: u16) -> Vec<u8> {
    let mut s = first;
    let mut next = || {
        s = s.wrapping_add(1);
        s - 1
    };
    let mut v = pkt(next(), &[cols.len() as u8]);
    for c in cols {
        v.extend(column(next(), c));
    }
    if !deprecate {
        v.extend(eof(next(), 2));
    }
    for r in rows {
        v.extend(row(next(), r));
    }
    if deprecate {
        v.extend(ok_fe(next(), status));
    } else {
        v.extend(eof(next(), status));
    }
    v
}

fn query(q: &str) -> Vec<u8> {
    let mut p = vec![3];
    p.extend(q.as_bytes());
    pkt(0, &p)
}

/// Greeting, login and its answer.
fn login_parts(caps: u32, db: Option<&str>) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        greeting(caps, "caching_sha2_password"),
        login_packet(caps, "alice", db),
        cat(&[pkt(2, &[1, 3]), ok(3, 0, 0, 2)]),
    )
}

fn logged_in(sport: u16, caps: u32) -> Conv {
    let (g, l, a) = login_parts(caps, Some("shop"));
    let mut c = Conv::tcp(sport, 3306);
    c.segment(1, &g).segment(0, &l).segment(1, &a);
    c
}

#[test]
fn a_login_and_a_query_at_every_split_point() {
    let q = query("SELECT name FROM users WHERE id < 10");
    let resp = result_set(&["name"], &[&["ann"], &["bob"]], false, 1, 2);
    let whole = {
        let mut c = logged_in(40000, BASE);
        c.segment(0, &q).segment(1, &resp).close();
        c.run_with(AppConfig::sized(4 << 20))
    };
    let recs = of(&whole, "mysql");
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let l = &recs[0];
    assert_eq!(
        (&l["op"], &l["user"], &l["database"], &l["success"]),
        (
            &"login".into(),
            &"alice".into(),
            &"shop".into(),
            &true.into()
        )
    );
    assert_eq!(
        (&l["server_version"], &l["connection_id"], &l["auth_plugin"]),
        (
            &"8.0.36".into(),
            &1234.into(),
            &"caching_sha2_password".into()
        )
    );
    assert_eq!(
        (&l["auth_result"], &l["client_name"], &l["program_name"]),
        (
            &"fast_auth_success".into(),
            &"libmysql".into(),
            &"mysql".into()
        )
    );
    assert_eq!(
        (&l["client_version"], &l["client_attributes"]),
        (&"8.0.36".into(), &3.into())
    );
    assert_eq!(l["deprecate_eof"], false);
    let s = &recs[1];
    assert_eq!(
        (&s["op"], &s["statement"], &s["columns"], &s["rows"]),
        (
            &"query".into(),
            &"SELECT name FROM users WHERE id < 10".into(),
            &1.into(),
            &2.into()
        )
    );
    assert_eq!(
        (
            &s["fingerprint"],
            &s["column_names"],
            &s["success"],
            &s["user"]
        ),
        (
            &"SELECT name FROM users WHERE id < ?".into(),
            &"name".into(),
            &true.into(),
            &"alice".into()
        )
    );
    assert!(s.get("data_rows").is_none() && s.get("statement_index").is_none());
    // The password's scramble is never read, so never logged.
    assert!(!format!("{whole:?}").contains("SECRET"));
    let want = timeless_all(&recs);
    for cut in 1..q.len() {
        let mut c = logged_in(40000, BASE);
        c.send(0, &q, &[cut]).segment(1, &resp).close();
        assert_eq!(timeless_all(&run(&c)), want, "query cut at {cut}");
    }
    for cut in 1..resp.len() {
        let mut c = logged_in(40000, BASE);
        c.segment(0, &q).send(1, &resp, &[cut]).close();
        assert_eq!(timeless_all(&run(&c)), want, "answer cut at {cut}");
    }
    let (g, l, a) = login_parts(BASE, Some("shop"));
    for cut in 1..l.len() {
        let mut c = Conv::tcp(40000, 3306);
        c.send(1, &g, &[cut.min(g.len() - 1)])
            .send(0, &l, &[cut])
            .send(1, &a, &[cut.min(a.len() - 1)])
            .segment(0, &q)
            .segment(1, &resp)
            .close();
        assert_eq!(timeless_all(&run(&c)), want, "login cut at {cut}");
    }
}

#[test]
fn deprecate_eof_on_and_off_give_the_same_records() {
    let caps = BASE | cap::DEPRECATE_EOF;
    let mut all = Vec::new();
    for (deprecate, caps) in [(false, BASE), (true, caps)] {
        let mut c = logged_in(40100, caps);
        c.segment(0, &query("SELECT a, b FROM t"))
            .segment(
                1,
                &result_set(
                    &["a", "b"],
                    &[&["1", "2"], &["3", "4"], &["5", "6"]],
                    deprecate,
                    1,
                    2,
                ),
            )
            // An empty result.
            .segment(0, &query("SELECT a FROM t WHERE 0"))
            .segment(1, &result_set(&["a"], &[], deprecate, 1, 2))
            .segment(0, &query("UPDATE t SET a = 1"))
            .segment(1, &ok(1, 3, 0, 2))
            .close();
        let r = run(&c);
        assert_eq!(r.len(), 4, "{r:#?}");
        assert_eq!(r[0]["deprecate_eof"], deprecate);
        assert_eq!(
            (&r[1]["rows"], &r[1]["column_names"]),
            (&3.into(), &"a,b".into())
        );
        assert_eq!((&r[2]["rows"], &r[2]["columns"]), (&0.into(), &1.into()));
        assert_eq!((&r[3]["rows"], &r[3]["success"]), (&3.into(), &true.into()));
        all.push(timeless_all(&r[1..]));
    }
    assert_eq!(all[0], all[1]);
    // Seen without its login, the answers tell which it is by themselves.
    for deprecate in [false, true] {
        let mut c = Conv::tcp(40101, 3306);
        c.segment(0, &query("SELECT a, b FROM t"))
            .segment(
                1,
                &result_set(
                    &["a", "b"],
                    &[&["1", "2"], &["3", "4"], &["5", "6"]],
                    deprecate,
                    1,
                    2,
                ),
            )
            .segment(0, &query("SELECT a FROM t WHERE 0"))
            .segment(1, &result_set(&["a"], &[], deprecate, 1, 2))
            .close();
        let r = run(&c);
        let fields = |v: &[Value]| -> Vec<String> {
            v.iter()
                .map(|x| {
                    format!(
                        "{} {} {} {}",
                        x["statement"], x["columns"], x["rows"], x["column_names"]
                    )
                })
                .collect()
        };
        assert_eq!(fields(&r), fields(&all[0][..2]), "deprecate {deprecate}");
    }
}

#[test]
fn logins_without_a_database_switched_and_failed() {
    // No database; the server switches to mysql_native_password.
    let (g, l, _) = login_parts(BASE, None);
    let mut c = Conv::tcp(40200, 3306);
    let mut switch = vec![0xfe];
    switch.extend(b"mysql_native_password\0");
    switch.extend([7; 20]);
    c.segment(1, &g)
        .segment(0, &l)
        .segment(1, &pkt(2, &switch))
        .segment(0, &pkt(3, b"SECRETSECRETSECRET!!"))
        .segment(1, &ok(4, 0, 0, 2))
        .segment(0, &pkt(0, &[0x0e]))
        .segment(1, &ok(1, 0, 0, 2))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (&r[0]["auth_switch"], &r[0]["success"]),
        (&"mysql_native_password".into(), &true.into())
    );
    assert!(r[0].get("database").is_none() && r[1].get("database").is_none());
    assert_eq!(
        (&r[1]["op"], &r[1]["user"]),
        (&"ping".into(), &"alice".into())
    );
    assert!(!format!("{r:?}").contains("SECRET"));
    // caching_sha2_password's full authentication (RSA key asked, the
    // password sent encrypted), then refused.
    let mut c = Conv::tcp(40201, 3306);
    c.segment(1, &g)
        .segment(0, &l)
        .segment(1, &pkt(2, &[1, 4]))
        .segment(0, &pkt(3, &[2]))
        .segment(1, &pkt(4, b"\x01-----BEGIN PUBLIC KEY-----\n"))
        .segment(0, &pkt(5, b"SECRETSECRETSECRET!!"))
        .segment(
            1,
            &err(
                6,
                1045,
                "28000",
                "Access denied for user 'alice'@'10.0.0.1' (using password: YES)",
            ),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (
            &r[0]["op"],
            &r[0]["success"],
            &r[0]["error_code"],
            &r[0]["sqlstate"]
        ),
        (
            &"login".into(),
            &false.into(),
            &1045.into(),
            &"28000".into()
        )
    );
    assert_eq!(r[0]["auth_result"], "full_auth");
    assert_eq!(
        r[0]["error"],
        "Access denied for user 'alice'@'10.0.0.1' (using password: YES)"
    );
    assert!(!format!("{r:?}").contains("SECRET"));
    // A server refusing the connection at once.
    let mut c = Conv::tcp(40202, 3306);
    let mut e = vec![0xff];
    e.extend(1040u16.to_le_bytes());
    e.extend(b"Too many connections");
    c.segment(1, &pkt(0, &e)).close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (&r[0]["error_code"], &r[0]["error"]),
        (&1040.into(), &"Too many connections".into())
    );
}

#[test]
fn oks_and_errors() {
    let mut c = logged_in(40300, BASE);
    c.segment(0, &query("INSERT INTO t VALUES (1, 'x')"))
        .segment(1, &ok(1, 1, 42, 2))
        .segment(0, &query("SELEC 1"))
        .segment(
            1,
            &err(1, 1064, "42000", "You have an error in your SQL syntax"),
        )
        .segment(0, &pkt(0, b"\x02archive"))
        .segment(1, &ok(1, 0, 0, 2))
        .segment(0, &query("SELECT 1"))
        .segment(1, &result_set(&["1"], &[&["1"]], false, 1, 2))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 5, "{r:#?}");
    assert_eq!(
        (&r[1]["rows"], &r[1]["insert_id"], &r[1]["fingerprint"]),
        (&1.into(), &42.into(), &"INSERT INTO t VALUES (?, ?)".into())
    );
    assert_eq!(
        (&r[2]["success"], &r[2]["error_code"], &r[2]["sqlstate"]),
        (&false.into(), &1064.into(), &"42000".into())
    );
    assert_eq!(
        (&r[3]["op"], &r[3]["database"], &r[3]["success"]),
        (&"init_db".into(), &"archive".into(), &true.into())
    );
    // The records after COM_INIT_DB name the new database.
    assert_eq!(r[4]["database"], "archive");
}

#[test]
fn a_multi_statement_query_gives_a_record_per_result() {
    let more = 2 | super::parse::MORE_RESULTS;
    let q = query("BEGIN; INSERT INTO t VALUES (';'); SELECT * FROM t");
    let resp = cat(&[
        ok(1, 0, 0, more),
        ok(2, 1, 9, more),
        result_set(&["a"], &[&["x"]], false, 3, 2),
    ]);
    let mut c = logged_in(40400, BASE);
    c.segment(0, &q).segment(1, &resp);
    // The second of three fails: the third is not run.
    c.segment(0, &query("SELECT 1; SELECT x; SELECT 3"))
        .segment(
            1,
            &cat(&[
                result_set(&["1"], &[&["1"]], false, 1, more),
                err(6, 1054, "42S22", "Unknown column 'x' in 'field list'"),
            ]),
        )
        .close();
    let r = run(&c);
    let got: Vec<(String, u64, String, bool)> = r[1..]
        .iter()
        .map(|x| {
            (
                x["statement"].as_str().unwrap_or("").to_string(),
                x["statement_index"].as_u64().unwrap_or(99),
                x["sqlstate"].as_str().unwrap_or("").to_string(),
                x["skipped"] == true,
            )
        })
        .collect();
    let s = |a: &str, i: u64, c: &str, d: bool| (a.to_string(), i, c.to_string(), d);
    assert_eq!(
        got,
        [
            s("BEGIN;", 0, "", false),
            s("INSERT INTO t VALUES (';');", 1, "", false),
            s("SELECT * FROM t", 2, "", false),
            s("SELECT 1;", 0, "", false),
            s("SELECT x;", 1, "42S22", false),
            s("SELECT 3", 2, "", true),
        ],
        "{r:#?}"
    );
    assert_eq!((&r[2]["rows"], &r[2]["insert_id"]), (&1.into(), &9.into()));
    assert_eq!(r[3]["rows"], 1);
    // Cut anywhere, the same.
    let want = timeless_all(&r[..4]);
    for cut in 1..resp.len() {
        let mut c = logged_in(40400, BASE);
        c.segment(0, &q).send(1, &resp, &[cut]).close();
        assert_eq!(timeless_all(&run(&c)), want, "cut at {cut}");
    }
}

/// COM_STMT_PREPARE's answer: the id, one parameter definition and two
/// column definitions, each list with its EOF unless `deprecate`.
fn prepare_ok(id: u32, deprecate: bool) -> Vec<u8> {
    let mut p = vec![0];
    p.extend(id.to_le_bytes());
    p.extend(2u16.to_le_bytes());
    p.extend(2u16.to_le_bytes());
    p.push(0);
    p.extend(0u16.to_le_bytes());
    let mut v = pkt(1, &p);
    let mut s = 2;
    for name in ["?", "?"] {
        v.extend(column(s, name));
        s += 1;
    }
    if !deprecate {
        v.extend(eof(s, 2));
        s += 1;
    }
    for name in ["id", "name"] {
        v.extend(column(s, name));
        s += 1;
    }
    if !deprecate {
        v.extend(eof(s, 2));
    }
    v
}

fn execute(id: u32, types: Option<&[u16]>, values: &[u8], nulls: u8) -> Vec<u8> {
    let mut p = vec![0x17];
    p.extend(id.to_le_bytes());
    p.push(0);
    p.extend(1u32.to_le_bytes());
    p.push(nulls);
    match types {
        Some(t) => {
            p.push(1);
            for x in t {
                p.extend(x.to_le_bytes());
            }
        }
        None => p.push(0),
    }
    p.extend(values);
    pkt(0, &p)
}

#[test]
fn prepared_statements_with_their_texts_and_values() {
    for deprecate in [false, true] {
        let caps = if deprecate {
            BASE | cap::DEPRECATE_EOF
        } else {
            BASE
        };
        let mut c = logged_in(40500, caps);
        let mut prep = vec![0x16];
        prep.extend(b"SELECT id, name FROM users WHERE id = ? AND name = ?");
        // LONGLONG 42 and VAR_STRING 'o''brien'.
        let mut vals = 42u64.to_le_bytes().to_vec();
        vals.extend(lenenc_str(b"o'brien"));
        let mut long = vec![0x18];
        long.extend(5u32.to_le_bytes());
        long.extend(1u16.to_le_bytes());
        long.extend([b'z'; 100]);
        // Long data for the first parameter: the execute after it holds
        // only the second's value.
        let mut long0 = vec![0x18];
        long0.extend(5u32.to_le_bytes());
        long0.extend(0u16.to_le_bytes());
        long0.extend([b'y'; 10]);
        let mut close = vec![0x19];
        close.extend(5u32.to_le_bytes());
        c.segment(0, &pkt(0, &prep))
            .segment(1, &prepare_ok(5, deprecate))
            .segment(0, &execute(5, Some(&[0x08, 0xfd]), &vals, 0))
            .segment(
                1,
                &result_set(&["id", "name"], &[&["42", "o'brien"]], deprecate, 1, 2),
            )
            // The second execute sends no types: the first's are kept. The
            // second value is NULL.
            .segment(0, &pkt(0, &long))
            .segment(0, &execute(5, None, &7u64.to_le_bytes(), 0b10))
            .segment(1, &result_set(&["id", "name"], &[], deprecate, 1, 2))
            .segment(0, &pkt(0, &long0))
            .segment(0, &execute(5, None, &lenenc_str(b"x"), 0))
            .segment(1, &result_set(&["id", "name"], &[], deprecate, 1, 2))
            .segment(0, &pkt(0, &close))
            .segment(0, &query("SELECT 2"))
            .segment(1, &result_set(&["2"], &[&["2"]], deprecate, 1, 2))
            .close();
        let r = run(&c);
        let ops: Vec<&str> = r.iter().map(|x| x["op"].as_str().unwrap()).collect();
        // Long data and the close open no transaction: nothing waits for
        // them, the query after them is paired right.
        assert_eq!(
            ops,
            [
                "login",
                "stmt_prepare",
                "stmt_execute",
                "stmt_execute",
                "stmt_execute",
                "stmt_close",
                "query"
            ],
            "{r:#?}"
        );
        assert_eq!(
            (
                &r[1]["statement_id"],
                &r[1]["params"],
                &r[1]["columns"],
                &r[1]["success"]
            ),
            (&5.into(), &2.into(), &2.into(), &true.into())
        );
        for x in &r[2..6] {
            assert_eq!(
                x["statement"],
                "SELECT id, name FROM users WHERE id = ? AND name = ?"
            );
            assert_eq!(
                x["fingerprint"],
                "SELECT id, name FROM users WHERE id = ? AND name = ?"
            );
            assert_eq!(x["statement_id"], 5);
        }
        assert_eq!(r[2]["param_values"], serde_json::json!(["42", "o'brien"]));
        assert_eq!((&r[2]["params"], &r[2]["rows"]), (&2.into(), &1.into()));
        assert_eq!(r[3]["param_values"], serde_json::json!(["7", null]));
        assert_eq!(r[3]["long_data_bytes"], 100);
        // The long-data parameter is not in the execute: empty, cut.
        assert_eq!(r[4]["param_values"], serde_json::json!(["\\x", "x"]));
        assert_eq!(r[4]["param_values_truncated"], true);
        assert_eq!(r[4]["long_data_bytes"], 10);
        assert!(r[5].get("success").is_none());
        assert_eq!((&r[6]["rows"], &r[6]["success"]), (&1.into(), &true.into()));
    }
}

#[test]
fn local_infile_is_counted_and_the_file_never_kept() {
    let mut c = logged_in(40600, BASE);
    let mut req = vec![0xfb];
    req.extend(b"/tmp/data.csv");
    c.segment(
        0,
        &query("LOAD DATA LOCAL INFILE '/tmp/data.csv' INTO TABLE t"),
    )
    .segment(1, &pkt(1, &req))
    .segment(0, &cat(&[pkt(2, b"1,secret-a\n2,secret-b\n"), pkt(3, b"")]))
    .segment(1, &ok(4, 2, 0, 2))
    .segment(0, &query("SELECT 1"))
    .segment(1, &ok(1, 0, 0, 2))
    .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (&r[1]["local_infile"], &r[1]["infile_bytes"], &r[1]["rows"]),
        (&true.into(), &22.into(), &2.into())
    );
    assert_eq!(r[2]["statement"], "SELECT 1");
    assert!(!format!("{r:?}").contains("secret"));
}

#[test]
fn a_packet_of_16_mib_and_its_continuation() {
    // A query of 0xffffff bytes continued by one of 10: its first bytes
    // are read, the rest skipped, the answer paired (its sequence id 2).
    let mut big = vec![3];
    big.extend(b"INSERT INTO blobs VALUES ('");
    big.resize(0xff_ffff, b'a');
    let mut c = logged_in(40700, BASE);
    let first = pkt(0, &big);
    c.send(
        0,
        &first,
        &(1..first.len() / 60_000)
            .map(|k| k * 60_000)
            .collect::<Vec<_>>(),
    )
    .segment(0, &pkt(1, b"aaaaaaa')"))
    .segment(1, &ok(2, 1, 0, 2))
    .segment(0, &query("SELECT 1"))
    .segment(1, &ok(1, 0, 0, 2))
    .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (
            &r[1]["statement_truncated"],
            &r[1]["rows"],
            &r[1]["success"]
        ),
        (&true.into(), &1.into(), &true.into())
    );
    assert!(r[1]["statement"]
        .as_str()
        .unwrap()
        .starts_with("INSERT INTO blobs"));
    assert_eq!(r[2]["statement"], "SELECT 1");
    // A row of 16 MiB is counted once.
    let mut c = logged_in(40701, BASE);
    let mut rowp = vec![0xfc, 0xff, 0xff];
    rowp.resize(0xff_ffff, b'r');
    let rows = cat(&[
        pkt(1, &[1]),
        column(2, "blob"),
        eof(3, 2),
        pkt(4, &rowp),
        pkt(5, b"rr"),
        eof(6, 2),
    ]);
    c.segment(0, &query("SELECT blob FROM t"))
        .send(
            1,
            &rows,
            &(1..rows.len() / 60_000)
                .map(|k| k * 60_000)
                .collect::<Vec<_>>(),
        )
        .close();
    let r = run(&c);
    assert_eq!(
        (&r[1]["rows"], &r[1]["success"]),
        (&1.into(), &true.into()),
        "{r:#?}"
    );
}

#[test]
fn a_gap_logs_what_waits_and_reading_resumes() {
    let mut c = logged_in(40800, BASE);
    c.segment(0, &query("SELECT 1"))
        .lose(1, 40)
        .segment(0, &query("SELECT 2"))
        .segment(1, &ok(1, 0, 0, 2))
        .segment(0, &query("SELECT 3"))
        .segment(1, &result_set(&["3"], &[&["3"]], false, 1, 2))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 4, "{r:#?}");
    for (i, q) in [(1, "SELECT 1"), (2, "SELECT 2")] {
        assert_eq!(
            (&r[i]["statement"], &r[i]["unanswered_reason"]),
            (&q.into(), &"gap".into())
        );
    }
    assert_eq!(
        (&r[3]["statement"], &r[3]["rows"], &r[3]["user"]),
        (&"SELECT 3".into(), &1.into(), &"alice".into())
    );
    // A gap in the middle of a packet: the chunk after it does not start
    // one and is passed over.
    let mut c = logged_in(40801, BASE);
    let big = result_set(&["x"], &[&["1"], &["2"]], false, 1, 2);
    c.segment(0, &query("SELECT x"))
        .segment(1, &big[..6])
        .lose(1, 10)
        .segment(1, &big[16..])
        .segment(0, &query("SELECT 3"))
        .segment(1, &ok(1, 5, 0, 2))
        .close();
    let r = run(&c);
    assert_eq!(
        (&r.last().unwrap()["statement"], &r.last().unwrap()["rows"]),
        (&"SELECT 3".into(), &5.into()),
        "{r:#?}"
    );
}

#[test]
fn hostile_and_malformed_packets() {
    // A column count that is not one: the command ends (malformed),
    // reading goes on at the next packet.
    let mut c = logged_in(40900, BASE);
    c.segment(0, &query("SELECT 1"))
        .segment(1, &pkt(1, &[0xfc, 1]))
        .segment(0, &query("SELECT 2"))
        .segment(1, &ok(1, 0, 0, 2))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(r[1]["unanswered_reason"], "malformed");
    assert_eq!(
        (&r[2]["statement"], &r[2]["success"]),
        (&"SELECT 2".into(), &true.into())
    );
    // An unknown command byte: not MySQL, the flow is left.
    let mut c = logged_in(40901, BASE);
    c.segment(0, &pkt(0, &[0x77, 1, 2, 3]))
        .segment(0, &query("SELECT 2"))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    // A packet claiming 16 MiB that never comes: nothing is buffered
    // past the first bytes, the end logs the query.
    let mut c = logged_in(40902, BASE);
    let mut q = vec![0xff, 0xff, 0xfe, 0, 3];
    q.extend(b"SELECT ".repeat(500));
    c.segment(0, &q).close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (&r[1]["statement_truncated"], &r[1]["unanswered"]),
        (&true.into(), &true.into())
    );
}

#[test]
fn an_ssl_request_hands_over_to_tls() {
    let (ch, sh) = tls_hellos();
    let mut ssl = (BASE | cap::SSL).to_le_bytes().to_vec();
    ssl.extend(0x0100_0000u32.to_le_bytes());
    ssl.push(45);
    ssl.extend([0; 23]);
    for together in [false, true] {
        let mut c = Conv::tcp(41000, 3306);
        c.segment(1, &greeting(BASE | cap::SSL, "caching_sha2_password"));
        if together {
            c.segment(0, &cat(&[pkt(1, &ssl), ch.clone()]));
        } else {
            c.segment(0, &pkt(1, &ssl)).segment(0, &ch);
        }
        c.segment(1, &sh).close();
        let all = c.run_with(AppConfig::sized(4 << 20));
        let (my, tls) = (of(&all, "mysql"), of(&all, "tls"));
        assert_eq!((my.len(), tls.len()), (1, 1), "{all:#?}");
        assert_eq!(
            (&my[0]["op"], &my[0]["encrypted"], &my[0]["server_version"]),
            (&"ssl_request".into(), &true.into(), &"8.0.36".into())
        );
        assert_eq!(tls[0]["upgraded_from"], "mysql");
        assert_eq!(tls[0]["community_id"], my[0]["community_id"]);
    }
}

#[test]
fn the_compressed_protocol_stops_the_analysis() {
    let caps = BASE | cap::COMPRESS;
    let (g, l, a) = login_parts(caps, Some("shop"));
    let mut c = Conv::tcp(41100, 3306);
    c.segment(1, &g)
        .segment(0, &l)
        .segment(1, &a)
        // A compressed packet: a 7-byte header, then zlib or raw bytes.
        .segment(
            0,
            &[
                13, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3, b'S', b'E', b'L', b'E', b'C', b'T', b' ', b'1',
            ],
        )
        .close();
    let mut w = worker(AppConfig::sized(4 << 20));
    let r = of(&c.run_on(&mut w), "mysql");
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (&r[0]["compressed"], &r[0]["success"]),
        (&true.into(), &true.into())
    );
    let st = *w.app_stats().proto(crate::app::Proto::Mysql);
    assert_eq!(st.extra[super::STOPPED], 1);
}

/// A connection at rest after its login gives its session back and keeps
/// who it is in a parked slot: the commands after the rest still name
/// the user. A prepared statement keeps the session.
#[test]
fn a_connection_at_rest_parks_with_its_user() {
    let conv = || {
        let mut c = logged_in(41200, BASE | cap::QUERY_ATTRIBUTES);
        c.wait(1_000_000_000)
            .segment(0, &query("\x00\x01SELECT 1"))
            .segment(1, &ok(1, 0, 0, 2))
            .wait(1_000_000_000)
            .segment(0, &query("\x00\x01SELECT 2"))
            .segment(1, &ok(1, 0, 0, 2))
            .close();
        c
    };
    let run_parked = |slots: Option<usize>| {
        let mut app = AppConfig::sized(4 << 20);
        if let Some(n) = slots {
            app.protos.mysql.parked = n;
        }
        let mut w = worker(app);
        let r = of(&conv().run_on(&mut w), "mysql");
        let st = *w.app_stats().proto(crate::app::Proto::Mysql);
        (r, st.parked_full)
    };
    let (r, full) = run_parked(None);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(r
        .iter()
        .all(|x| x["user"] == "alice" && x["database"] == "shop"));
    // The query attributes' prefix is understood after the rest too.
    assert_eq!(
        (&r[1]["statement"], &r[2]["statement"]),
        (&"SELECT 1".into(), &"SELECT 2".into())
    );
    assert_eq!(full, 0);
    let (r2, full) = run_parked(Some(0));
    assert!(full > 0);
    assert_eq!(timeless_all(&r2), timeless_all(&r));
}

#[test]
fn query_attributes_and_commands_by_name() {
    let caps = BASE | cap::QUERY_ATTRIBUTES;
    let mut c = logged_in(41300, caps);
    // One attribute, a string.
    let mut q = vec![3, 1, 1, 0, 1, 0xfe, 0];
    q.extend(lenenc_str(b"trace_id"));
    q.extend(lenenc_str(b"abc"));
    q.extend(b"SELECT mysql_query_attribute_string('trace_id')");
    let mut kill = vec![0x0c];
    kill.extend(9u32.to_le_bytes());
    c.segment(0, &pkt(0, &q))
        .segment(1, &result_set(&["a"], &[&["abc"]], false, 1, 2))
        .segment(0, &pkt(0, b"\x04users\0"))
        .segment(1, &cat(&[column(1, "id"), column(2, "name"), eof(3, 2)]))
        .segment(0, &pkt(0, b"\x09"))
        .segment(1, &pkt(1, b"Uptime: 5  Threads: 1"))
        .segment(0, &pkt(0, &kill))
        .segment(1, &ok(1, 0, 0, 2))
        .segment(0, &pkt(0, b"\x1f"))
        .segment(1, &ok(1, 0, 0, 2))
        .segment(0, &pkt(0, b"\x01"))
        .close();
    let r = run(&c);
    let ops: Vec<&str> = r.iter().map(|x| x["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        [
            "login",
            "query",
            "field_list",
            "statistics",
            "process_kill",
            "reset_connection",
            "quit"
        ],
        "{r:#?}"
    );
    assert_eq!(
        (&r[1]["statement"], &r[1]["query_attributes"]),
        (
            &"SELECT mysql_query_attribute_string('trace_id')".into(),
            &1.into()
        )
    );
    assert_eq!(
        (&r[2]["table"], &r[2]["columns"], &r[2]["column_names"]),
        (&"users".into(), &2.into(), &"id,name".into())
    );
    assert!(r[..6].iter().all(|x| x["success"] == true));
    assert!(r[6].get("success").is_none() && r[6].get("unanswered").is_none());
}

#[test]
fn change_user_names_the_new_user() {
    let mut c = logged_in(41400, BASE);
    let mut cu = vec![0x11];
    cu.extend(b"bob\0");
    cu.push(20);
    cu.extend(SCRAMBLE);
    cu.extend(b"hr\0");
    cu.extend(45u16.to_le_bytes());
    cu.extend(b"caching_sha2_password\0");
    let mut switch = vec![0xfe];
    switch.extend(b"mysql_native_password\0");
    switch.extend([7; 20]);
    c.segment(0, &pkt(0, &cu))
        .segment(1, &pkt(1, &switch))
        .segment(0, &pkt(2, &SCRAMBLE))
        .segment(1, &ok(3, 0, 0, 2))
        .segment(0, &query("SELECT 1"))
        .segment(1, &ok(1, 0, 0, 2))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (
            &r[1]["op"],
            &r[1]["user"],
            &r[1]["database"],
            &r[1]["success"]
        ),
        (
            &"change_user".into(),
            &"bob".into(),
            &"hr".into(),
            &true.into()
        )
    );
    assert_eq!(r[1]["auth_switch"], "mysql_native_password");
    assert_eq!(
        (&r[2]["user"], &r[2]["database"]),
        (&"bob".into(), &"hr".into())
    );
    assert!(!format!("{r:?}").contains("SECRET"));
}

/// MySQL on PostgreSQL's port: the greeting is sure, so MySQL takes the
/// flow PostgreSQL's probe refuses.
#[test]
fn mysql_on_another_port_is_found_by_its_greeting() {
    for port in [5432, 13306] {
        let (g, l, a) = login_parts(BASE, Some("shop"));
        let mut c = Conv::tcp(41500, port);
        c.segment(1, &g).segment(0, &l).segment(1, &a).close();
        let all = c.run_with(AppConfig::sized(4 << 20));
        assert_eq!(of(&all, "mysql").len(), 1, "{port}: {all:#?}");
        assert!(of(&all, "pgsql").is_empty());
    }
    // A client's command off the port is not taken.
    let mut c = Conv::tcp(41501, 13306);
    c.segment(0, &query("SELECT 1"))
        .segment(1, &ok(1, 0, 0, 2))
        .close();
    assert!(run(&c).is_empty());
}

/// The fuzz target's parser half (fuzz/fuzz_targets/mysql.rs), kept the
/// same here so that it builds with the crate, on a conversation's bytes
/// and their suffixes.
#[test]
fn the_fuzz_targets_parser_half() {
    use crate::app::mysql::parse::{self, Frame};
    let (g, l, a) = login_parts(BASE, Some("shop"));
    let all = cat(&[g, l, a, query("SELECT 'a'; SELECT 2"), prepare_ok(3, false)]);
    for n in 0..all.len() {
        let data = &all[n..];

        // Packet by packet: every frame consumes bytes, and no payload is
        // read past the bytes at hand.
        let mut rest = data;
        while let Frame::Packet { len, .. } = parse::frame(rest) {
            assert!(len <= parse::MAX_PACKET);
            let b = rest.get(parse::HDR..).unwrap_or_default();
            let b = &b[..len.min(b.len())];
            let _ = (
                parse::greeting(b),
                parse::login(b),
                parse::ok(b),
                parse::err(b),
            );
            let _ = (
                parse::column_count(b),
                parse::column_name(b),
                parse::prepared(b),
            );
            let _ = (parse::query_attributes(b), parse::execute(b), parse::eof(b));
            let caps = u32::from(b.first().copied().unwrap_or(0)) << 15;
            let _ = parse::change_user(b, caps);
            let mut at = 0;
            while let Some((_, _, next)) =
                parse::value(b, at, u16::from(b.get(at).copied().unwrap_or(0)))
            {
                if next <= at {
                    break;
                }
                at = next;
            }
            let Some(r) = rest.get(parse::HDR + len..) else {
                break;
            };
            rest = r;
        }
        for dir in 0..2 {
            let _ = parse::probe(dir, data);
        }
    }
}

/// Zeek's MySQL traces as wirelog reads them (`cargo test
/// mysql::tests::corpus -- --nocapture` prints them); sensor/tests/corpus_l7.rs
/// holds them against Zeek's mysql.log.
#[test]
fn corpus_traces_print() {
    let dir = "zeek/Traces/mysql/";
    let Ok(list) = std::fs::read_dir("/work/shared/corpus/zeek/Traces/mysql") else {
        return;
    };
    let mut names: Vec<String> = list
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.push("../postgresql/mysql-on-port-5432.pcap".into());
    for t in names {
        let Some(r) = crate::app::tests::replay(&format!("{dir}{t}")) else {
            continue;
        };
        println!("== {t}");
        for x in of(&r, "mysql").iter().chain(&of(&r, "tls")) {
            let keep = [
                "type",
                "op",
                "user",
                "database",
                "statement",
                "table",
                "success",
                "rows",
                "error",
                "error_code",
                "unanswered_reason",
                "statement_index",
                "auth_switch",
                "auth_result",
                "param_values",
                "server_version",
            ];
            let m: serde_json::Map<String, Value> = x
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            println!("{}", Value::Object(m));
        }
    }
}

/// COM_STMT_PREPARE's OK for `params` parameters and no columns, with
/// their definitions (and an EOF unless `deprecate`).
fn prepared_ok(id: u32, params: u16, deprecate: bool) -> Vec<u8> {
    let mut p = vec![0];
    p.extend(id.to_le_bytes());
    p.extend(0u16.to_le_bytes());
    p.extend(params.to_le_bytes());
    p.push(0);
    p.extend(0u16.to_le_bytes());
    let mut v = pkt(1, &p);
    for k in 0..params {
        v.extend(column(2 + k as u8, "?"));
    }
    if !deprecate {
        v.extend(eof(2 + params as u8, 2));
    }
    v
}

fn prepare(text: &str) -> Vec<u8> {
    let mut p = vec![0x16];
    p.extend(text.as_bytes());
    pkt(0, &p)
}

fn stmt_close(id: u32) -> Vec<u8> {
    let mut p = vec![0x19];
    p.extend(id.to_le_bytes());
    pkt(0, &p)
}

/// Values sent in the binary protocol read as the execute's types say:
/// integers signed and unsigned of every width, floats, dates, date-times
/// and times from their structs, decimals and strings as text, blobs as
/// hex, NULL as null; a value cut at 64 bytes; the same list format as
/// PostgreSQL's.
#[test]
fn binary_values_read_as_their_types() {
    let text = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    let mut one = vec![0xff];
    one.extend(u16::MAX.to_le_bytes());
    one.extend((-2i32).to_le_bytes());
    one.extend(i64::MIN.to_le_bytes());
    one.extend(1.5f32.to_le_bytes());
    one.extend(0.1f64.to_le_bytes());
    one.extend([4, 0xe8, 0x07, 2, 29]);
    one.extend([11, 0xe8, 0x07, 2, 29, 13, 4, 5]);
    one.extend(123u32.to_le_bytes());
    let mut two = vec![8, 1];
    two.extend(1u32.to_le_bytes());
    two.extend([2, 3, 4]);
    two.extend(lenenc_str(&[0, 1, 0xff]));
    two.extend(lenenc_str(b"12.50"));
    two.extend(lenenc_str("é".as_bytes()));
    two.extend(lenenc_str(&[b'z'; 70]));
    two.push(0);
    two.extend(u64::MAX.to_le_bytes());
    let done = ok(1, 1, 0, 2);
    let mut c = logged_in(41300, BASE | cap::DEPRECATE_EOF);
    c.segment(0, &prepare(text))
        .segment(1, &prepared_ok(3, 8, true))
        .segment(
            0,
            &execute(
                3,
                Some(&[0x01, 0x8002, 0x03, 0x08, 0x04, 0x05, 0x0a, 0x0c]),
                &one,
                0,
            ),
        )
        .segment(1, &done)
        .segment(
            0,
            &execute(
                3,
                Some(&[0x0b, 0xfc, 0xf6, 0xfe, 0xfd, 0x06, 0x07, 0x8008]),
                &two,
                0,
            ),
        )
        .segment(1, &done)
        // No types: the last ones bound; the second value NULL.
        .segment(0, &execute(3, None, &two[..9], 0b10))
        .segment(1, &done)
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 5, "{r:#?}");
    assert_eq!(
        r[2]["param_values"],
        serde_json::json!([
            "-1",
            "65535",
            "-2",
            "-9223372036854775808",
            "1.5",
            "0.1",
            "2024-02-29",
            "2024-02-29 13:04:05.000123"
        ])
    );
    assert!(r[2].get("param_values_truncated").is_none());
    assert_eq!(
        r[3]["param_values"],
        serde_json::json!([
            "-26:03:04",
            "\\x0001ff",
            "12.50",
            "\u{e9}",
            "z".repeat(64),
            null,
            "0000-00-00 00:00:00",
            "18446744073709551615"
        ])
    );
    assert_eq!(r[3]["param_values_truncated"], true);
    // The third execute's packet ends after its first value.
    assert_eq!(r[4]["param_values"], serde_json::json!(["-26:03:04", null]));
    assert!(r[2..].iter().all(|x| x["params"] == 8 && x["rows"] == 1));
}

/// Texts longer than the session keeps are logged whole from the
/// transaction buffer (up to the packet's 2 KiB read), a prepared one at
/// its prepare and every execute; without a free buffer, their first 128
/// bytes, marked cut. The buffer is given back when nothing names it, so
/// the connection still rests.
#[test]
fn long_statements_are_logged_whole() {
    let cols: Vec<String> = (0..40).map(|i| format!("column_{i:02}")).collect();
    let long = format!("SELECT {} FROM t WHERE a = 'x'", cols.join(", "));
    let huge = format!("SELECT '{}'", "y".repeat(3000));
    assert!(long.len() > 300);
    let prepared = format!("{long} AND b = ?");
    let conv = || {
        let mut c = logged_in(41310, BASE | cap::DEPRECATE_EOF);
        c.segment(0, &query(&long))
            .segment(1, &result_set(&["a"], &[&["1"]], true, 1, 2))
            .segment(0, &prepare(&prepared))
            .segment(1, &prepared_ok(4, 1, true))
            .segment(0, &execute(4, Some(&[0x08]), &7u64.to_le_bytes(), 0))
            .segment(1, &result_set(&["a"], &[], true, 1, 2))
            .segment(0, &stmt_close(4))
            .segment(0, &query(&huge))
            .segment(1, &result_set(&["y"], &[&["y"]], true, 1, 2))
            .wait(1_000_000_000)
            .segment(0, &query("SELECT 1"))
            .segment(1, &ok(1, 0, 0, 2))
            .close();
        c
    };
    let mut app = AppConfig::sized(4 << 20);
    app.protos.mysql.parked = 0;
    let mut w = worker(app);
    let r = of(&conv().run_on(&mut w), "mysql");
    assert_eq!(r.len(), 7, "{r:#?}");
    // At rest after the huge query: nothing held, so it tried to park.
    assert!(w.app_stats().proto(crate::app::Proto::Mysql).parked_full > 0);
    let texts: Vec<&str> = r[1..6]
        .iter()
        .map(|x| x["statement"].as_str().unwrap())
        .collect();
    assert_eq!(texts[..4], [&long, &prepared, &prepared, &prepared]);
    assert!(r[1..5]
        .iter()
        .all(|x| x.get("statement_truncated").is_none()));
    assert_eq!(r[2]["statement_id"], 4);
    assert_eq!(r[3]["param_values"], serde_json::json!(["7"]));
    // Only what the analyzer reads of a long packet: its first 2 KiB.
    assert_eq!(r[5]["statement_truncated"], true);
    assert_eq!(texts[4].len(), 2047);
    assert!(texts[4].starts_with("SELECT 'yyy"));
    assert_eq!(r[5]["fingerprint"], "SELECT ?");
    assert!(r[3]["fingerprint"]
        .as_str()
        .unwrap()
        .ends_with("FROM t WHERE a = ? AND b = ?"));
    // No transaction buffer: the slots' 128 bytes, and no values.
    let mut app = AppConfig::sized(4 << 20);
    app.txn_buffers = 0;
    let r = of(&conv().run_with(app), "mysql");
    assert_eq!(r.len(), 7, "{r:#?}");
    for x in &r[1..6] {
        assert_eq!(x["statement_truncated"], true, "{x}");
        assert_eq!(x["statement"].as_str().unwrap().len(), 128);
    }
    assert!(r[3].get("param_values").is_none() && r[3]["params"] == 1);
}

/// `--sql-literals mask`: a statement is its fingerprint only; no
/// parameter values, no error message (its code and SQL state stay), no
/// column names (a literal selected names its column).
#[test]
fn masked_literals_leave_fingerprints_only() {
    let text = "SELECT id, name FROM users WHERE id = ? AND name = ?";
    let mut vals = 42u64.to_le_bytes().to_vec();
    vals.extend(lenenc_str(b"o'brien"));
    let mut c = logged_in(41320, BASE);
    c.segment(0, &prepare(text))
        .segment(1, &prepare_ok(5, false))
        .segment(0, &execute(5, Some(&[0x08, 0xfd]), &vals, 0))
        .segment(1, &result_set(&["id", "name"], &[], false, 1, 2))
        .segment(0, &query("SELECT 'secret' FROM nowhere"))
        .segment(
            1,
            &err(1, 1146, "42S02", "Table 'shop.nowhere' doesn't exist"),
        )
        .segment(0, &query("SELECT 'secret'"))
        .segment(1, &result_set(&["secret"], &[&["secret"]], false, 1, 2))
        .close();
    let keep = run(&c);
    assert_eq!(
        keep[2]["param_values"],
        serde_json::json!(["42", "o'brien"])
    );
    assert_eq!(keep[3]["error"], "Table 'shop.nowhere' doesn't exist");
    let mut app = AppConfig::sized(4 << 20);
    <super::Mysql as crate::app::analyzer::Analyzer>::set(
        &mut app.protos.mysql.limits,
        "sql-literals",
        "mask",
    )
    .unwrap();
    let r = of(&c.run_with(app), "mysql");
    assert_eq!(r.len(), keep.len(), "{r:#?}");
    for x in &r[1..] {
        let t = x.to_string();
        assert!(
            x.get("statement").is_none()
                && x.get("param_values").is_none()
                && x.get("error").is_none()
                && x.get("column_names").is_none(),
            "{x}"
        );
        assert!(!t.contains("brien") && !t.contains("secret"), "{x}");
    }
    assert_eq!(r[2]["fingerprint"], text);
    assert_eq!(r[2]["params"], 2);
    assert_eq!(
        (&r[3]["fingerprint"], &r[3]["error_code"], &r[3]["sqlstate"]),
        (
            &"SELECT ? FROM nowhere".into(),
            &1146.into(),
            &"42S02".into()
        )
    );
    assert_eq!((&r[4]["rows"], &r[4]["columns"]), (&1.into(), &1.into()));
    let refused = <super::Mysql as crate::app::analyzer::Analyzer>::set(
        &mut Default::default(),
        "sql-literals",
        "hide",
    );
    assert_eq!(refused.unwrap_err(), "must be keep or mask, not hide");
}

/// A result set without its column definitions (MariaDB's cached
/// metadata, as DBD::MariaDB gets for an execute: the count, a byte 0,
/// then the EOF unless CLIENT_DEPRECATE_EOF) still counts its binary rows.
#[test]
fn rows_without_column_definitions_are_counted() {
    for deprecate in [false, true] {
        let caps = if deprecate {
            BASE | cap::DEPRECATE_EOF
        } else {
            BASE
        };
        let mut resp = pkt(1, &[2, 0]);
        let mut s = 2;
        if !deprecate {
            resp.extend(eof(s, 2));
            s += 1;
        }
        for id in [1u8, 2, 3] {
            resp.extend(pkt(s, &[0, 0, id, 0, 0, 0, 1, b'a']));
            s += 1;
        }
        resp.extend(if deprecate { ok_fe(s, 2) } else { eof(s, 2) });
        let mut c = logged_in(41330, caps);
        c.segment(0, &prepare("SELECT id, name FROM t WHERE id >= ?"))
            .segment(1, &prepare_ok(6, deprecate))
            .segment(0, &execute(6, Some(&[0xfe, 0xfe]), b"\x011\x01x", 0))
            .segment(1, &resp)
            .segment(0, &query("SELECT 2"))
            .segment(1, &result_set(&["2"], &[&["2"]], deprecate, 1, 2))
            .close();
        let r = run(&c);
        assert_eq!(r.len(), 4, "{r:#?}");
        assert_eq!(
            (&r[2]["rows"], &r[2]["columns"], &r[2]["success"]),
            (&3.into(), &2.into(), &true.into()),
            "deprecate_eof {deprecate}"
        );
        assert_eq!(
            (&r[3]["statement"], &r[3]["rows"]),
            (&"SELECT 2".into(), &1.into())
        );
    }
}
