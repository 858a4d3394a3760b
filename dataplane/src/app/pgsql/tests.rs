//! The PostgreSQL analyzer through the whole application layer: logins,
//! simple and extended queries on byte arrays, cut at every split point,
//! pipelined, failed, encrypted, lost, hostile.

use serde_json::Value;

use crate::app::analyzer::Analyzer;
use crate::app::tests::{of, replay, timeless, tls_hellos, worker, Conv};
use crate::app::AppConfig;

fn run(c: &Conv) -> Vec<Value> {
    of(&c.run_with(AppConfig::sized(4 << 20)), "pgsql")
}

fn startup(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut b = (3u32 << 16).to_be_bytes().to_vec();
    for (k, v) in pairs {
        b.extend_from_slice(k.as_bytes());
        b.push(0);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
    }
    b.push(0);
    let mut m = ((b.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend(b);
    m
}

fn msg(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn z(status: u8) -> Vec<u8> {
    msg(b'Z', &[status])
}

fn complete(tag: &str) -> Vec<u8> {
    msg(b'C', format!("{tag}\0").as_bytes())
}

fn row_desc(cols: u16) -> Vec<u8> {
    let mut b = cols.to_be_bytes().to_vec();
    for i in 0..cols {
        b.extend(format!("c{i}\0").as_bytes());
        b.extend([0; 18]);
    }
    msg(b'T', &b)
}

fn data_row(v: &str) -> Vec<u8> {
    let mut b = 1u16.to_be_bytes().to_vec();
    b.extend((v.len() as u32).to_be_bytes());
    b.extend(v.as_bytes());
    msg(b'D', &b)
}

fn error(sev: &str, code: &str, m: &str) -> Vec<u8> {
    msg(
        b'E',
        format!("S{sev}\0V{sev}\0C{code}\0M{m}\0Fparse.c\0\0").as_bytes(),
    )
}

fn query(q: &str) -> Vec<u8> {
    msg(b'Q', format!("{q}\0").as_bytes())
}

/// The client's startup and the server's answer through a login with an
/// MD5 password.
fn login() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let c1 = startup(&[
        ("user", "alice"),
        ("database", "shop"),
        ("application_name", "psql"),
        ("client_encoding", "UTF8"),
    ]);
    let s1 = msg(b'R', b"\0\0\0\x05salt");
    let c2 = msg(b'p', b"md5secretsecretsecret\0");
    let s2 = cat(&[
        msg(b'R', b"\0\0\0\0"),
        msg(b'S', b"server_version\x0016.2\0"),
        msg(b'S', b"application_name\0\0"),
        msg(b'K', b"\0\0\x30\x39\x01\x02\x03\x04"),
        z(b'I'),
    ]);
    (c1, s1, c2, s2)
}

fn logged_in(sport: u16) -> Conv {
    let (c1, s1, c2, s2) = login();
    let mut c = Conv::tcp(sport, 5432);
    c.segment(0, &c1)
        .segment(1, &s1)
        .segment(0, &c2)
        .segment(1, &s2);
    c
}

#[test]
fn a_login_and_a_query_at_every_split_point() {
    let q = query("SELECT name FROM users");
    let resp = cat(&[
        row_desc(1),
        data_row("ann"),
        data_row("bob"),
        complete("SELECT 2"),
        z(b'I'),
    ]);
    let whole = {
        let mut c = logged_in(40000);
        c.segment(0, &q).segment(1, &resp).close();
        c.run_with(AppConfig::sized(4 << 20))
    };
    let recs = of(&whole, "pgsql");
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let l = &recs[0];
    assert_eq!(
        (&l["op"], &l["user"], &l["database"], &l["application_name"]),
        (
            &"login".into(),
            &"alice".into(),
            &"shop".into(),
            &"psql".into()
        )
    );
    assert_eq!(
        (
            &l["auth_method"],
            &l["success"],
            &l["server_version"],
            &l["backend_pid"]
        ),
        (&"md5".into(), &true.into(), &"16.2".into(), &12345.into())
    );
    let s = &recs[1];
    assert_eq!(
        (&s["op"], &s["statement"], &s["tag"], &s["rows"]),
        (
            &"query".into(),
            &"SELECT name FROM users".into(),
            &"SELECT 2".into(),
            &2.into()
        )
    );
    assert_eq!(
        (
            &s["data_rows"],
            &s["columns"],
            &s["success"],
            &s["tx_status"]
        ),
        (&2.into(), &1.into(), &true.into(), &"idle".into())
    );
    assert_eq!(s["user"], "alice");
    assert_eq!(s["fingerprint"], "SELECT name FROM users");
    // The password is never read, so never logged.
    assert!(!format!("{whole:?}").contains("secret"));
    let want: Vec<Value> = recs.iter().map(timeless).collect();
    for cut in 1..q.len() {
        let mut c = logged_in(40000);
        c.send(0, &q, &[cut]).segment(1, &resp).close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        assert_eq!(got, want, "query cut at {cut}");
    }
    for cut in 1..resp.len() {
        let mut c = logged_in(40000);
        c.segment(0, &q).send(1, &resp, &[cut]).close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        assert_eq!(got, want, "answer cut at {cut}");
    }
    let (c1, s1, c2, s2) = login();
    for cut in 1..c1.len() {
        let mut c = Conv::tcp(40000, 5432);
        c.send(0, &c1, &[cut])
            .segment(1, &s1)
            .segment(0, &c2)
            .send(1, &s2, &[cut.min(s2.len() - 1)])
            .segment(0, &q)
            .segment(1, &resp)
            .close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        assert_eq!(got, want, "startup cut at {cut}");
    }
}

#[test]
fn extended_protocol_finds_the_text_by_statement_name() {
    let parse = msg(b'P', b"s1\0SELECT * FROM t WHERE id = $1\0\0\x01\0\0\0\x17");
    let bind = msg(b'B', b"\0s1\0\0\0\0\x01\0\0\0\x0242\0\0");
    let describe = msg(b'D', b"P\0");
    let exec = msg(b'E', b"\0\0\0\0\0");
    let sync = msg(b'S', b"");
    let req = cat(&[parse, bind.clone(), describe, exec.clone(), sync.clone()]);
    // The same statement again, by name only, in the same flight.
    let req2 = cat(&[bind, exec, sync]);
    let resp = cat(&[
        msg(b'1', b""),
        msg(b'2', b""),
        row_desc(2),
        data_row("a"),
        data_row("b"),
        complete("SELECT 2"),
        z(b'I'),
    ]);
    let resp2 = cat(&[msg(b'2', b""), data_row("a"), complete("SELECT 1"), z(b'I')]);
    let all = cat(&[req.clone(), req2.clone()]);
    let back = cat(&[resp.clone(), resp2.clone()]);
    let whole = {
        let mut c = logged_in(40100);
        c.segment(0, &all).segment(1, &back).close();
        run(&c)
    };
    assert_eq!(whole.len(), 3, "{whole:#?}");
    for (r, rows) in whole[1..].iter().zip([2, 1]) {
        assert_eq!(r["op"], "execute");
        assert_eq!(r["statement"], "SELECT * FROM t WHERE id = $1");
        assert_eq!(r["fingerprint"], "SELECT * FROM t WHERE id = $1");
        assert_eq!(r["rows"], rows);
        assert_eq!(r["params"], 1);
        assert_eq!(r["param_values"], serde_json::json!(["42"]));
        assert_eq!(r["success"], true);
        assert_eq!(r["database"], "shop");
    }
    let want: Vec<Value> = whole.iter().map(timeless).collect();
    for cut in 1..all.len() {
        let mut c = logged_in(40100);
        c.send(0, &all, &[cut])
            .send(1, &back, &[cut.min(back.len() - 1)])
            .close();
        let got: Vec<Value> = run(&c).iter().map(timeless).collect();
        assert_eq!(got, want, "cut at {cut}");
    }
    // Answered flight by flight, the same.
    let mut c = logged_in(40100);
    c.segment(0, &req)
        .segment(1, &resp)
        .segment(0, &req2)
        .segment(1, &resp2)
        .close();
    let got: Vec<Value> = run(&c).iter().map(timeless).collect();
    assert_eq!(got, want);
}

/// A Bind of `vals` (None: NULL) to the unnamed portal of statement
/// `stmt`, in `fmt` (0 text, 1 binary) for all.
fn bind_of(stmt: &str, fmts: &[u16], vals: &[Option<&[u8]>]) -> Vec<u8> {
    let mut b = format!("\0{stmt}\0").into_bytes();
    b.extend((fmts.len() as u16).to_be_bytes());
    for f in fmts {
        b.extend(f.to_be_bytes());
    }
    b.extend((vals.len() as u16).to_be_bytes());
    for v in vals {
        match v {
            None => b.extend((-1i32).to_be_bytes()),
            Some(v) => {
                b.extend((v.len() as u32).to_be_bytes());
                b.extend(*v);
            }
        }
    }
    b.extend(0u16.to_be_bytes());
    msg(b'B', &b)
}

/// Pipelined Binds of the unnamed portal, each Execute logged with its
/// own Bind's values (text, NULL, binary as hex, long ones cut), and the
/// transaction buffer holding them given back.
#[test]
fn each_execute_is_logged_with_its_binds_values() {
    let parse = msg(b'P', b"\0INSERT INTO t VALUES ($1, $2, $3)\0\0\0");
    let exec = msg(b'E', b"\0\0\0\0\0");
    let sync = msg(b'S', b"");
    let long = vec![b'x'; 100];
    let req = cat(&[
        parse,
        bind_of("", &[], &[Some(b"1"), Some(b"o'brien"), None]),
        exec.clone(),
        bind_of("", &[1], &[Some(b"\0\0\0\x02"), Some(b"\xff"), Some(&long)]),
        exec.clone(),
        bind_of("", &[0, 1, 0], &[Some(b"3"), None, Some(b"\xc3\xa9")]),
        exec,
        sync,
    ]);
    let one = cat(&[msg(b'2', b""), complete("INSERT 0 1")]);
    let resp = cat(&[msg(b'1', b""), one.clone(), one.clone(), one, z(b'I')]);
    let want = [
        serde_json::json!(["1", "o'brien", null]),
        serde_json::json!(["\\x00000002", "\\xff", format!("\\x{}", "78".repeat(64))]),
        serde_json::json!(["3", null, "\u{e9}"]),
    ];
    for cut in [0, 7, 40, 80, req.len() - 1] {
        let mut c = logged_in(40150);
        if cut == 0 {
            c.segment(0, &req).segment(1, &resp);
        } else {
            c.send(0, &req, &[cut]).send(1, &resp, &[]);
        }
        c.close();
        let r = run(&c);
        assert_eq!(r.len(), 4, "{r:#?}");
        for (x, v) in r[1..].iter().zip(&want) {
            assert_eq!(x["op"], "execute");
            assert_eq!(x["statement"], "INSERT INTO t VALUES ($1, $2, $3)");
            assert_eq!(&x["param_values"], v, "cut at {cut}");
        }
        assert_eq!(r[2]["param_values_truncated"], true);
        assert!(r[1].get("param_values_truncated").is_none());
    }
    // Masked: the fingerprint only, no values, no error message.
    let mut app = AppConfig::sized(4 << 20);
    <super::Pgsql as Analyzer>::set(&mut app.protos.pgsql.limits, "sql-literals", "mask").unwrap();
    let mut c = logged_in(40151);
    c.segment(0, &req)
        .segment(1, &resp)
        .segment(0, &query("SELECT 'secret' FROM nowhere"))
        .segment(
            1,
            &cat(&[
                error("ERROR", "42P01", "relation \"nowhere\" does not exist"),
                z(b'I'),
            ]),
        )
        .close();
    let r = of(&c.run_with(app), "pgsql");
    assert_eq!(r.len(), 5, "{r:#?}");
    for x in &r[1..] {
        let text = x.to_string();
        assert!(
            x.get("statement").is_none() && x.get("param_values").is_none(),
            "{x}"
        );
        assert!(!text.contains("brien") && !text.contains("secret"), "{x}");
        assert!(x.get("error").is_none(), "{x}");
    }
    assert_eq!(r[1]["fingerprint"], "INSERT INTO t VALUES ($1, $2, $3)");
    assert_eq!(r[4]["fingerprint"], "SELECT ? FROM nowhere");
    assert_eq!(r[4]["sqlstate"], "42P01");
    let refused = <super::Pgsql as Analyzer>::set(&mut Default::default(), "sql-literals", "hide");
    assert_eq!(refused.unwrap_err(), "must be keep or mask, not hide");
}

/// A driver's batch pipelined in one flight (psycopg's executemany, a
/// JDBC batch: Parse, then Bind and Execute per row, one Sync) waits past
/// the session's ring in the transaction buffer: every Execute is logged,
/// in order, with its own values. Without a buffer the ones past the
/// ring are counted, not logged, and the pairing stays in order.
#[test]
fn a_pipelined_batch_of_a_hundred_rows_is_logged_whole() {
    use crate::app::tests::worker;
    let mut req = msg(b'P', b"\0INSERT INTO t VALUES ($1)\0\0\0");
    let mut resp = msg(b'1', b"");
    for i in 0..100 {
        let v = i.to_string();
        req.extend(bind_of("", &[], &[Some(v.as_bytes())]));
        req.extend(msg(b'E', b"\0\0\0\0\0"));
        resp.extend(msg(b'2', b""));
        resp.extend(complete("INSERT 0 1"));
    }
    req.extend(msg(b'S', b""));
    resp.extend(z(b'I'));
    let conv = |sport| {
        let mut c = logged_in(sport);
        c.segment(0, &req).segment(1, &resp);
        // The next flight pairs as usual.
        c.segment(0, &query("SELECT 1"))
            .segment(1, &cat(&[data_row("1"), complete("SELECT 1"), z(b'I')]))
            .close();
        c
    };
    let r = run(&conv(40180));
    assert_eq!(r.len(), 1 + 100 + 1, "{}", r.len());
    for (i, x) in r[1..101].iter().enumerate() {
        assert_eq!(x["op"], "execute");
        assert_eq!(x["param_values"], serde_json::json!([i.to_string()]), "{x}");
        assert_eq!(x["success"], true);
    }
    assert_eq!(r[101]["statement"], "SELECT 1");
    // No transaction buffer: the first ones, then counted.
    let mut app = AppConfig::sized(4 << 20);
    app.txn_buffers = 0;
    let mut w = worker(app);
    let r = of(&conv(40181).run_on(&mut w), "pgsql");
    let limited = w.app_stats().txn_limit;
    let executes = r.iter().filter(|x| x["op"] == "execute").count();
    // The ring holds the Parse and the first 7 rows' Bind and Execute
    // (and the 8th Bind); every message after them is counted.
    assert_eq!(executes, 7);
    assert_eq!(limited, 1 + 200 + 1 - 16);
    assert_eq!(r.last().unwrap()["statement"], "SELECT 1");
    assert_eq!(r.last().unwrap()["rows"], 1);
}

/// Values a driver sends in binary read as the types its Parse declared
/// (psycopg sends numbers so): integers, floats, booleans, UUIDs, text;
/// bytes and undeclared types as hex.
#[test]
fn binary_values_read_as_the_declared_types() {
    let mut parse = b"\0SELECT $1, $2, $3, $4, $5, $6, $7\0".to_vec();
    parse.extend(7u16.to_be_bytes());
    for oid in [21u32, 701, 16, 2950, 25, 17, 0] {
        parse.extend(oid.to_be_bytes());
    }
    let uuid = [0xa0u8; 16];
    let f = 2.25f64.to_be_bytes();
    let req = cat(&[
        msg(b'P', &parse),
        bind_of(
            "",
            &[1],
            &[
                Some(&7i16.to_be_bytes()),
                Some(&f),
                Some(&[0]),
                Some(&uuid),
                Some("naïve".as_bytes()),
                Some(&[0xde, 0xad]),
                Some(&[1, 2]),
            ],
        ),
        msg(b'E', b"\0\0\0\0\0"),
        msg(b'S', b""),
    ]);
    let resp = cat(&[
        msg(b'1', b""),
        msg(b'2', b""),
        data_row("x"),
        complete("SELECT 1"),
        z(b'I'),
    ]);
    let mut c = logged_in(40160);
    c.segment(0, &req).segment(1, &resp).close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        r[1]["param_values"],
        serde_json::json!([
            "7",
            "2.25",
            "f",
            "a0a0a0a0-a0a0-a0a0-a0a0-a0a0a0a0a0a0",
            "naïve",
            "\\xdead",
            "\\x0102"
        ])
    );
}

/// Statements longer than the session keeps are logged whole from the
/// transaction buffer (up to 2 KiB), a prepared one at every Execute;
/// without a free buffer, their first 128 bytes, marked cut.
#[test]
fn long_statements_are_logged_whole() {
    let cols: Vec<String> = (0..40).map(|i| format!("column_{i:02}")).collect();
    let long = format!("SELECT {} FROM t WHERE a = 'x'", cols.join(", "));
    let huge = format!("SELECT '{}'", "y".repeat(3000));
    assert!(long.len() > 300);
    let two = format!("{long}; {long};");
    let prepared = format!("{long} AND b = $1");
    let exec = cat(&[
        bind_of("s9", &[], &[Some(b"1")]).into_iter().collect(),
        msg(b'E', b"\0\0\0\0\0"),
        msg(b'S', b""),
    ]);
    let mut parse = b"s9\0".to_vec();
    parse.extend(prepared.as_bytes());
    parse.extend(b"\0\0\0");
    let answered = cat(&[msg(b'2', b""), complete("SELECT 0"), z(b'I')]);
    let conv = || {
        let mut c = logged_in(40170);
        c.segment(0, &query(&two))
            .segment(
                1,
                &cat(&[complete("SELECT 0"), complete("SELECT 0"), z(b'I')]),
            )
            .segment(0, &cat(&[msg(b'P', &parse), msg(b'S', b"")]))
            .segment(1, &cat(&[msg(b'1', b""), z(b'I')]))
            .segment(0, &exec)
            .segment(1, &answered)
            .segment(0, &query(&huge))
            .segment(1, &cat(&[complete("SELECT 1"), z(b'I')]))
            .segment(0, &exec)
            .segment(1, &answered)
            .close();
        c
    };
    let r = run(&conv());
    assert_eq!(r.len(), 6, "{r:#?}");
    let texts: Vec<&str> = r[1..]
        .iter()
        .map(|x| x["statement"].as_str().unwrap())
        .collect();
    let first = format!("{long};");
    assert_eq!(texts[..2], [first.as_str(), first.as_str()]);
    assert_eq!(texts[2], prepared);
    assert_eq!(texts[4], prepared);
    assert!(r[1..3]
        .iter()
        .all(|x| x.get("statement_truncated").is_none()));
    // Only what the analyzer reads of a long message: its first 2 KiB.
    assert_eq!(r[4]["statement_truncated"], true);
    assert!(texts[3].len() <= 2048 && texts[3].starts_with("SELECT 'yyy"));
    assert_eq!(r[4]["fingerprint"], "SELECT ?");
    assert!(r[3]["fingerprint"]
        .as_str()
        .unwrap()
        .ends_with("FROM t WHERE a = ? AND b = $1"));
    // No transaction buffer: the slots' 128 bytes.
    let mut app = AppConfig::sized(4 << 20);
    app.txn_buffers = 0;
    let r = of(&conv().run_with(app), "pgsql");
    assert_eq!(r.len(), 6, "{r:#?}");
    for x in [&r[1], &r[3], &r[4], &r[5]] {
        assert_eq!(x["statement_truncated"], true, "{x}");
        assert_eq!(x["statement"].as_str().unwrap().len(), 128);
    }
    // The Query's second statement starts past the bytes kept.
    assert_eq!(r[2]["statement_unknown"], true);
}

#[test]
fn after_an_error_the_rest_up_to_sync_is_skipped() {
    let req = cat(&[
        msg(b'P', b"\0SELEC 1\0\0\0"),
        msg(b'B', b"\0\0\0\0\0\0\0\0"),
        msg(b'E', b"\0\0\0\0\0"),
        msg(b'S', b""),
    ]);
    let resp = cat(&[
        error("ERROR", "42601", "syntax error at or near \"SELEC\""),
        z(b'I'),
    ]);
    let mut c = logged_in(40200);
    c.segment(0, &req).segment(1, &resp);
    c.segment(0, &query("SELECT 1/0"))
        .segment(
            1,
            &cat(&[
                row_desc(1),
                error("ERROR", "22012", "division by zero"),
                z(b'E'),
            ]),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 4, "{r:#?}");
    assert_eq!(
        (
            &r[1]["op"],
            &r[1]["statement"],
            &r[1]["sqlstate"],
            &r[1]["success"]
        ),
        (
            &"parse".into(),
            &"SELEC 1".into(),
            &"42601".into(),
            &false.into()
        )
    );
    assert_eq!(r[1]["severity"], "ERROR");
    assert_eq!(r[1]["error"], "syntax error at or near \"SELEC\"");
    assert_eq!(
        (&r[2]["op"], &r[2]["skipped"], &r[2]["success"]),
        (&"execute".into(), &true.into(), &false.into())
    );
    assert!(r[2].get("sqlstate").is_none());
    assert_eq!(
        (&r[3]["op"], &r[3]["sqlstate"], &r[3]["tx_status"]),
        (&"query".into(), &"22012".into(), &"failed".into())
    );
}

#[test]
fn a_failed_login_says_why() {
    let mut c = Conv::tcp(40300, 5432);
    c.segment(0, &startup(&[("user", "mallory")]))
        .segment(1, &msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0"))
        .segment(0, &msg(b'p', b"SCRAM-SHA-256\0\0\0\0\x10n,,n=,r=abcdefgh"))
        .segment(
            1,
            &error(
                "FATAL",
                "28P01",
                "password authentication failed for user \"mallory\"",
            ),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (
            &r[0]["op"],
            &r[0]["user"],
            &r[0]["database"],
            &r[0]["success"]
        ),
        (
            &"login".into(),
            &"mallory".into(),
            &"mallory".into(),
            &false.into()
        )
    );
    assert_eq!(
        (
            &r[0]["auth_method"],
            &r[0]["sasl_mechanism"],
            &r[0]["sqlstate"]
        ),
        (&"sasl".into(), &"SCRAM-SHA-256".into(), &"28P01".into())
    );
    assert!(!format!("{r:?}").contains("abcdefgh"));
}

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];

#[test]
fn ssl_request_answered_s_hands_over_to_tls() {
    let (ch, sh) = tls_hellos();
    let mut c = Conv::tcp(40400, 5432);
    c.segment(0, &SSL_REQUEST)
        .segment(1, b"S")
        .segment(0, &ch)
        .segment(1, &sh)
        .close();
    let all = c.run_with(AppConfig::sized(4 << 20));
    let (pg, tls) = (of(&all, "pgsql"), of(&all, "tls"));
    assert_eq!((pg.len(), tls.len()), (1, 1), "{all:#?}");
    assert_eq!(
        (&pg[0]["op"], &pg[0]["reply"], &pg[0]["encrypted"]),
        (&"ssl_request".into(), &"S".into(), &true.into())
    );
    assert_eq!(tls[0]["upgraded_from"], "pgsql");
    assert_eq!(tls[0]["community_id"], pg[0]["community_id"]);
    // The answer and the ServerHello in one segment: the hello is TLS's.
    let mut c = Conv::tcp(40401, 5432);
    let mut s_sh = b"S".to_vec();
    s_sh.extend(&sh);
    c.segment(0, &SSL_REQUEST)
        .segment(0, &ch)
        .segment(1, &s_sh)
        .close();
    let all = c.run_with(AppConfig::sized(4 << 20));
    assert_eq!(of(&all, "tls").len(), 1, "{all:#?}");
}

#[test]
fn ssl_request_answered_n_goes_on_in_the_clear() {
    let (c1, s1, c2, s2) = login();
    let mut c = Conv::tcp(40500, 5432);
    c.segment(0, &SSL_REQUEST)
        .segment(1, b"N")
        .segment(0, &c1)
        .segment(1, &s1)
        .segment(0, &c2)
        .segment(1, &s2)
        .segment(0, &query("BEGIN"))
        .segment(1, &cat(&[complete("BEGIN"), z(b'T')]))
        .close();
    let all = c.run_with(AppConfig::sized(4 << 20));
    let r = of(&all, "pgsql");
    assert!(of(&all, "tls").is_empty());
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (&r[0]["op"], &r[0]["encrypted"]),
        (&"ssl_request".into(), &false.into())
    );
    assert_eq!(
        (&r[1]["op"], &r[1]["ssl_refused"]),
        (&"login".into(), &true.into())
    );
    assert_eq!(
        (&r[2]["tag"], &r[2]["tx_status"]),
        (&"BEGIN".into(), &"transaction".into())
    );
    assert!(r[2].get("rows").is_none());
}

#[test]
fn a_cancel_request_is_logged() {
    let mut c = Conv::tcp(40600, 5432);
    let mut m = vec![0, 0, 0, 16, 4, 210, 22, 46, 0, 0, 0x30, 0x39];
    m.extend([9, 9, 9, 9]);
    c.segment(0, &m).close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (&r[0]["op"], &r[0]["backend_pid"]),
        (&"cancel".into(), &12345.into())
    );
}

#[test]
fn hostile_lengths_are_skipped_not_buffered() {
    // A Query announcing 2^31 - 1 bytes: its first bytes are read, the
    // rest would be skipped.
    let mut q = vec![b'Q', 0x7f, 0xff, 0xff, 0xff];
    q.extend(b"SELECT ".repeat(1000));
    let mut c = logged_in(40700);
    c.segment(0, &q).close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[1]["statement_truncated"], true);
    assert_eq!(r[1]["unanswered"], true);
    // A DataRow of 2^31 - 1 is skipped.
    let mut c = logged_in(40701);
    let mut d = vec![b'D', 0x7f, 0xff, 0xff, 0xff];
    d.extend([0; 3000]);
    c.segment(0, &query("SELECT big")).segment(1, &d).close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    // 2^31 is not PostgreSQL: the flow stops, what waits is logged.
    let mut c = logged_in(40702);
    c.segment(0, &query("SELECT 1"))
        .segment(1, &[b'C', 0x80, 0, 0, 0, 0])
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (&r[1]["unanswered"], &r[1]["unanswered_reason"]),
        (&true.into(), &"malformed".into())
    );
}

#[test]
fn a_gap_logs_what_waits_and_reading_resumes() {
    // The server's loss shows when its next bytes come: what waits then
    // is logged unanswered, and the answer after the hole is not paired.
    let mut c = logged_in(40800);
    c.segment(0, &query("SELECT 1"))
        .lose(1, 40)
        .segment(0, &query("SELECT 2"))
        .segment(1, &cat(&[data_row("2"), complete("SELECT 1"), z(b'I')]))
        .segment(0, &query("SELECT 3"))
        .segment(1, &cat(&[data_row("3"), complete("SELECT 1"), z(b'I')]))
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
        (&r[3]["statement"], &r[3]["tag"], &r[3]["data_rows"]),
        (&"SELECT 3".into(), &"SELECT 1".into(), &1.into())
    );
    // A gap in the middle of a message: the chunk after it does not start
    // one and is passed over.
    let mut c = logged_in(40801);
    let big = cat(&[row_desc(1), data_row("x"), complete("SELECT 1"), z(b'I')]);
    c.segment(0, &query("SELECT 1"))
        .segment(1, &big[..3])
        .lose(1, 4)
        .segment(1, &big[7..])
        .segment(0, &query("SELECT 3"))
        .segment(1, &cat(&[complete("SELECT 0"), z(b'I')]))
        .close();
    let r = run(&c);
    assert_eq!(r.last().unwrap()["tag"], "SELECT 0", "{r:#?}");
}

#[test]
fn a_connection_seen_after_its_startup_is_read() {
    let mut c = Conv::tcp(40900, 5432);
    c.segment(0, &query("SELECT 1"))
        .segment(
            1,
            &cat(&[row_desc(1), data_row("1"), complete("SELECT 1"), z(b'I')]),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (&r[0]["statement"], &r[0]["rows"]),
        (&"SELECT 1".into(), &1.into())
    );
    assert!(r[0].get("user").is_none());
    // Off its port, typed messages are not taken; a startup is.
    let mut c = Conv::tcp(40901, 6000);
    c.segment(0, &query("SELECT 1"))
        .segment(1, &cat(&[complete("SELECT 1"), z(b'I')]))
        .close();
    assert!(run(&c).is_empty());
    let (c1, s1, c2, s2) = login();
    let mut c = Conv::tcp(40902, 6000);
    c.segment(0, &c1)
        .segment(1, &s1)
        .segment(0, &c2)
        .segment(1, &s2)
        .close();
    assert_eq!(run(&c).len(), 1);
}

/// Zeek's PostgreSQL traces: what each gives, against Zeek's
/// postgresql.log (`cargo test pgsql::tests::corpus -- --nocapture`
/// prints them).
#[test]
fn corpus_traces_against_zeeks_baselines() {
    let dir = "zeek/Traces/postgresql/";
    let Some(r) = replay(&format!("{dir}psql-create-insert-select-delete-drop.pcap")) else {
        return;
    };
    let pg = of(&r, "pgsql");
    let ops: Vec<(&str, &str)> = pg
        .iter()
        .map(|x| {
            (
                x["op"].as_str().unwrap_or(""),
                x["statement"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("login", ""),
            ("query", "DROP TABLE IF EXISTS t;"),
            (
                "query",
                "CREATE TABLE IF NOT EXISTS t (i int, s varchar, t time);"
            ),
            ("query", "INSERT INTO t VALUES (42, 'forty-two', now());"),
            ("query", "INSERT INTO t VALUES (86, 'eighty-six', now());"),
            ("query", "SELECT * from t;"),
            ("query", "DELETE FROM t;"),
            ("query", "DROP TABLE t;"),
        ],
        "{pg:#?}"
    );
    assert_eq!(
        (&pg[0]["user"], &pg[0]["auth_method"], &pg[0]["success"]),
        (&"postgres".into(), &"sasl".into(), &true.into())
    );
    assert_eq!(pg[5]["rows"], 2);
    assert_eq!(pg[3]["fingerprint"], "INSERT INTO t VALUES (?, ?, now());");
    for t in [
        "psql-login.pcap",
        "psql-login-fail.pcap",
        "psql-login-wrong.pcap",
        "psql-login-no-role.pcap",
        "psql-login-no-sslrequest.pcap",
        "psql-select-now.pcap",
        "psql-insert-fail-drop-fail.pcap",
        "psql-aws-ssl-disable.pcap",
        "psql-aws-ssl-preferred.pcap",
        "psql-aws-ssl-require.pcap",
        "greenhouse-app.pcap",
        "bad-backend-message-1.pcap",
        "bad-startup-message-1.pcap",
        "http-on-port-5432.pcap",
        "mysql-on-port-5432.pcap",
    ] {
        let r = replay(&format!("{dir}{t}")).unwrap();
        println!("== {t}");
        for x in of(&r, "pgsql").iter().chain(&of(&r, "tls")) {
            let mut x = x.clone();
            for k in [
                "ts",
                "src_ip",
                "dst_ip",
                "community_id",
                "sensor",
                "proto",
                "ip_proto",
                "rtt_client_us",
                "rtt_server_us",
                "src_net_delay_avg_us",
                "dst_net_delay_avg_us",
            ] {
                x.as_object_mut().unwrap().remove(k);
            }
            println!("{x}");
        }
    }
}

#[test]
fn gssenc_request_answered_g_stops_and_n_goes_on() {
    let gss = [0, 0, 0, 8, 4, 210, 22, 48];
    let mut c = Conv::tcp(41000, 5432);
    c.segment(0, &gss)
        .segment(1, b"G")
        .segment(0, &[0x60, 0x82, 1, 2, 3, 4, 5, 6])
        .segment(1, &[0x60, 0x82, 9, 9])
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(
        (&r[0]["op"], &r[0]["reply"], &r[0]["encrypted"]),
        (&"gssenc_request".into(), &"G".into(), &true.into())
    );
    let (c1, s1, c2, s2) = login();
    let mut c = Conv::tcp(41001, 5432);
    c.segment(0, &gss)
        .segment(1, b"N")
        .segment(0, &c1)
        .segment(1, &s1)
        .segment(0, &c2)
        .segment(1, &s2)
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (&r[1]["op"], &r[1]["success"]),
        (&"login".into(), &true.into())
    );
}

/// Direct SSL (PostgreSQL 17's `sslnegotiation=direct`): a ClientHello
/// first on the port is TLS's, not an error of PostgreSQL's.
#[test]
fn a_client_hello_first_on_the_port_is_tls() {
    let (ch, sh) = tls_hellos();
    let mut c = Conv::tcp(41100, 5432);
    c.segment(0, &ch).segment(1, &sh).close();
    let all = c.run_with(AppConfig::sized(4 << 20));
    assert!(of(&all, "pgsql").is_empty(), "{all:#?}");
    assert_eq!(of(&all, "tls").len(), 1, "{all:#?}");
}

#[test]
fn a_query_of_several_statements_gives_a_record_each() {
    let q = query("BEGIN; INSERT INTO t VALUES (1, ';'); SELECT * FROM t");
    let resp = cat(&[
        complete("BEGIN"),
        complete("INSERT 0 1"),
        row_desc(2),
        data_row("1"),
        complete("SELECT 1"),
        z(b'T'),
    ]);
    let mut c = logged_in(41200);
    c.segment(0, &q).segment(1, &resp);
    // The second of three fails: the third is skipped.
    c.segment(0, &query("SELECT 1; SELECT x; SELECT 3;"))
        .segment(
            1,
            &cat(&[
                row_desc(1),
                data_row("1"),
                complete("SELECT 1"),
                error("ERROR", "42703", "column \"x\" does not exist"),
                z(b'E'),
            ]),
        )
        .close();
    let r = run(&c);
    let got: Vec<(String, String, String, bool)> = r[1..]
        .iter()
        .map(|x| {
            (
                x["statement"].as_str().unwrap_or("").to_string(),
                x["tag"].as_str().unwrap_or("").to_string(),
                x["sqlstate"].as_str().unwrap_or("").to_string(),
                x["skipped"] == true,
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str, d: bool| (a.to_string(), b.to_string(), c.to_string(), d);
    assert_eq!(
        got,
        [
            s("BEGIN;", "BEGIN", "", false),
            s("INSERT INTO t VALUES (1, ';');", "INSERT 0 1", "", false),
            s("SELECT * FROM t", "SELECT 1", "", false),
            s("SELECT 1;", "SELECT 1", "", false),
            s("SELECT x;", "", "42703", false),
            s("SELECT 3;", "", "", true),
        ],
        "{r:#?}"
    );
    assert_eq!((&r[3]["rows"], &r[3]["data_rows"]), (&1.into(), &1.into()));
    assert_eq!(
        (&r[3]["tx_status"], &r[3]["statement_index"]),
        (&"transaction".into(), &2.into())
    );
    assert_eq!(
        (&r[2]["rows"], &r[2]["statement_index"]),
        (&1.into(), &1.into())
    );
    assert!(r[1].get("tx_status").is_none());
    assert_eq!(r[5]["tx_status"], "failed");
    // A single statement has no index.
    let mut c = logged_in(41201);
    c.segment(0, &query("SELECT 1;"))
        .segment(1, &cat(&[complete("SELECT 1"), z(b'I')]))
        .close();
    let r = run(&c);
    assert!(r[1].get("statement_index").is_none(), "{r:#?}");
    assert_eq!(r[1]["tx_status"], "idle");
}

/// A Query longer than the text kept (psql -c with several statements):
/// the statement across the limit is cut, the ones past it have no text,
/// and every one of them still says its place in the Query.
#[test]
fn statements_past_the_kept_text_keep_their_index() {
    let parts = [
        "CREATE TABLE wl_psql (k text PRIMARY KEY, v int);",
        "INSERT INTO wl_psql VALUES ('a', 1), ('b;', 2);",
        "SELECT * FROM wl_psql ORDER BY k;",
        "UPDATE wl_psql SET v = v + 1;",
        "DELETE FROM wl_psql WHERE k = 'a'",
    ];
    let text = parts.join(" ");
    assert!(text.find("UPDATE").unwrap() > super::txn::TEXT_KEEP);
    // Without a transaction buffer: the session's 128 bytes only.
    let run = |c: &Conv| {
        let mut app = AppConfig::sized(4 << 20);
        app.txn_buffers = 0;
        of(&c.run_with(app), "pgsql")
    };
    let mut c = logged_in(41210);
    c.segment(0, &query(&text))
        .segment(
            1,
            &cat(&[
                complete("CREATE TABLE"),
                complete("INSERT 0 2"),
                row_desc(2),
                data_row("a"),
                data_row("b;"),
                complete("SELECT 2"),
                complete("UPDATE 2"),
                complete("DELETE 1"),
                z(b'I'),
            ]),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 6, "{r:#?}");
    for (i, x) in r[1..].iter().enumerate() {
        assert_eq!(x["statement_index"], i, "{x:#}");
    }
    assert_eq!(r[3]["statement"], "SELECT * FROM wl_psql ORDER BY");
    assert_eq!(r[3]["statement_truncated"], true);
    for x in &r[4..] {
        assert_eq!(x["statement_unknown"], true, "{x:#}");
        assert!(x.get("statement").is_none() && x.get("fingerprint").is_none());
    }
    assert_eq!(
        (&r[4]["tag"], &r[5]["tag"]),
        (&"UPDATE 2".into(), &"DELETE 1".into())
    );
    // After an error past the kept text, what the server skipped cannot
    // be told: nothing is logged for it.
    let mut c = logged_in(41211);
    c.segment(0, &query(&text))
        .segment(
            1,
            &cat(&[
                complete("CREATE TABLE"),
                complete("INSERT 0 2"),
                row_desc(2),
                complete("SELECT 0"),
                error("ERROR", "42P01", "relation does not exist"),
                z(b'I'),
            ]),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 5, "{r:#?}");
    assert_eq!(
        (
            &r[4]["statement_index"],
            &r[4]["sqlstate"],
            &r[4]["statement_unknown"]
        ),
        (&3.into(), &"42P01".into(), &true.into())
    );
}

/// More prepared statements than slots: the oldest are forgotten, the
/// newest found (a driver preparing every statement it runs).
#[test]
fn the_newest_prepared_statements_are_kept() {
    let mut c = logged_in(41300);
    for i in 0..12 {
        let parse = msg(b'P', format!("s{i}\0SELECT {i}\0\0\0").as_bytes());
        let bind = msg(b'B', format!("\0s{i}\0\0\0\0\0\0\0").as_bytes());
        let exec = msg(b'E', b"\0\0\0\0\0");
        c.segment(0, &cat(&[parse, bind, exec, msg(b'S', b"")]));
        c.segment(
            1,
            &cat(&[
                msg(b'1', b""),
                msg(b'2', b""),
                complete("SELECT 1"),
                z(b'I'),
            ]),
        );
    }
    // The first again, by name only: forgotten long ago.
    c.segment(
        0,
        &cat(&[
            msg(b'B', b"\0s0\0\0\0\0\0\0\0"),
            msg(b'E', b"\0\0\0\0\0"),
            msg(b'S', b""),
        ]),
    )
    .segment(1, &cat(&[msg(b'2', b""), complete("SELECT 1"), z(b'I')]));
    // The last again: known.
    c.segment(
        0,
        &cat(&[
            msg(b'B', b"\0s11\0\0\0\0\0\0\0"),
            msg(b'E', b"\0\0\0\0\0"),
            msg(b'S', b""),
        ]),
    )
    .segment(1, &cat(&[msg(b'2', b""), complete("SELECT 1"), z(b'I')]))
    .close();
    let r = run(&c);
    assert_eq!(r.len(), 15, "{r:#?}");
    for (i, x) in r[1..13].iter().enumerate() {
        assert_eq!(x["statement"], format!("SELECT {i}"));
    }
    assert_eq!(r[13]["statement_unknown"], true, "{:#?}", r[13]);
    assert_eq!(r[14]["statement"], "SELECT 11");
}

/// A connection at rest after its login gives its session back and keeps
/// who it is in a parked slot: the statements after the rest still name
/// the user. Without a free parked slot it keeps its session (counted).
#[test]
fn a_connection_at_rest_parks_with_its_user() {
    let conv = || {
        let mut c = logged_in(41400);
        c.wait(1_000_000_000)
            .segment(0, &query("SELECT 1"))
            .segment(1, &cat(&[complete("SELECT 1"), z(b'I')]))
            .wait(1_000_000_000)
            .segment(0, &query("SELECT 2"))
            .segment(1, &cat(&[complete("SELECT 1"), z(b'I')]))
            .close();
        c
    };
    let run_parked = |slots: Option<usize>| {
        let mut app = AppConfig::sized(4 << 20);
        if let Some(n) = slots {
            app.protos.pgsql.parked = n;
        }
        let mut w = worker(app);
        let r = of(&conv().run_on(&mut w), "pgsql");
        let st = *w.app_stats().proto(crate::app::Proto::Pgsql);
        (r, st.parked_full)
    };
    let (r, full) = run_parked(None);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(r
        .iter()
        .all(|x| x["user"] == "alice" && x["database"] == "shop"));
    assert_eq!(full, 0);
    let (r2, full) = run_parked(Some(0));
    assert!(full > 0);
    let strip = |v: &[Value]| v.iter().map(timeless).collect::<Vec<_>>();
    assert_eq!(strip(&r2), strip(&r));
}

/// The unnamed portal ends with its transaction: a driver's connection
/// idle between extended queries parks like one of simple queries.
#[test]
fn a_connection_idle_after_the_extended_protocol_parks() {
    use crate::worker::{Worker, WorkerConfig};
    let flight = cat(&[
        msg(b'P', b"\0SELECT $1\0\0\0"),
        bind_of("", &[], &[Some(b"7")]),
        msg(b'E', b"\0\0\0\0\0"),
        msg(b'S', b""),
    ]);
    let answer = cat(&[
        msg(b'1', b""),
        msg(b'2', b""),
        data_row("7"),
        complete("SELECT 1"),
        z(b'I'),
    ]);
    let mut c = logged_in(41450);
    c.wait(1_000_000_000)
        .segment(0, &flight)
        .segment(1, &answer)
        .wait(1_000_000_000)
        .segment(0, &flight)
        .segment(1, &answer)
        .close();
    let mut app = AppConfig::sized(4 << 20);
    // No parked slots: each attempt to park is counted.
    app.protos.pgsql.parked = 0;
    let mut w = Worker::new(WorkerConfig {
        flows: 64,
        huge_pages: false,
        app,
        ..Default::default()
    })
    .unwrap();
    let r = of(&c.run_on(&mut w), "pgsql");
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(r[2]["param_values"], serde_json::json!(["7"]));
    let st = *w.app_stats().proto(crate::app::Proto::Pgsql);
    assert!(st.parked_full >= 2, "{}", st.parked_full);
}

/// COPY in both ways: its data counted, never kept; the Query logged at
/// its ReadyForQuery with the tag's count.
#[test]
fn copy_data_is_counted_not_kept() {
    let mut c = logged_in(41500);
    c.segment(0, &query("COPY t FROM STDIN"))
        .segment(1, &msg(b'G', b"\0\0\x01\0\0"))
        .segment(
            0,
            &cat(&[
                msg(b'd', b"1\tsecret-a\n"),
                msg(b'd', b"2\tsecret-b\n"),
                msg(b'c', b""),
            ]),
        )
        .segment(1, &cat(&[complete("COPY 2"), z(b'I')]))
        .segment(0, &query("COPY t TO STDOUT"))
        .segment(
            1,
            &cat(&[
                msg(b'H', b"\0\0\x01\0\0"),
                msg(b'd', b"1\tsecret-a\n"),
                msg(b'c', b""),
                complete("COPY 1"),
                z(b'I'),
            ]),
        )
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (&r[1]["rows"], &r[1]["copy_bytes"]),
        (&2.into(), &22.into())
    );
    assert_eq!(
        (&r[2]["rows"], &r[2]["copy_bytes"]),
        (&1.into(), &11.into())
    );
    assert!(!format!("{r:?}").contains("secret"));
}

/// Notices and notifications come between answers without moving the
/// pairing; an empty Query is answered EmptyQueryResponse.
#[test]
fn notices_and_empty_queries() {
    let mut c = logged_in(41600);
    c.segment(0, &query("DROP TABLE IF EXISTS t;"))
        .segment(
            1,
            &cat(&[
                msg(
                    b'N',
                    b"SNOTICE\0VNOTICE\0C00000\0Mtable \"t\" does not exist, skipping\0\0",
                ),
                complete("DROP TABLE"),
                msg(b'A', b"\0\0\0\x01chan\0payload\0"),
                z(b'I'),
            ]),
        )
        .segment(0, &query(""))
        .segment(1, &cat(&[msg(b'I', b""), z(b'I')]))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert_eq!(
        (&r[1]["tag"], &r[1]["success"]),
        (&"DROP TABLE".into(), &true.into())
    );
    assert!(r[1].get("sqlstate").is_none());
    // The notice is the statement's, not an error.
    assert_eq!(
        (
            &r[1]["notice_severity"],
            &r[1]["notice_sqlstate"],
            &r[1]["notice"]
        ),
        (
            &"NOTICE".into(),
            &"00000".into(),
            &"table \"t\" does not exist, skipping".into()
        )
    );
    assert!(r[1].get("notices").is_none());
    assert_eq!(
        (&r[2]["empty_query"], &r[2]["statement"]),
        (&true.into(), &"".into())
    );
    assert!(r[2].get("notice").is_none());
}

/// The fuzz target's parser half (fuzz/fuzz_targets/pgsql.rs), kept the
/// same here so that it builds with the crate, on a conversation's bytes
/// and their prefixes.
#[test]
fn the_fuzz_targets_parser_half() {
    use crate::app::pgsql::parse::{self, Frame};
    use crate::app::sql;
    let (c1, s1, c2, s2) = login();
    let all = cat(&[c1, s1, c2, s2, query("SELECT 'a'; SELECT 2")]);
    for n in 0..all.len() {
        let data = &all[n..];

        // Message by message: every frame consumes bytes, and no body is
        // read past the bytes at hand.
        for dir in 0..2 {
            let mut rest = data;
            while let Frame::Msg { hdr, body, .. } = parse::typed_frame(dir, rest) {
                assert!(hdr == 5 && body <= parse::MAX_LEN as usize);
                let b = rest.get(hdr..).unwrap_or_default();
                let b = &b[..body.min(b.len())];
                let _ = (
                    parse::parse_msg(b),
                    parse::bind(b),
                    parse::execute(b),
                    parse::target(b),
                );
                let _ = (parse::command_complete(b), parse::fields(b), parse::auth(b));
                let _ = (
                    parse::parameter_status(b),
                    parse::row_description(b),
                    parse::backend_pid(b),
                );
                // Values never reach past the body.
                for (v, _) in parse::bind_values(b, &[sql::Binary::Int; 3]) {
                    if let sql::Value::Text(x) | sql::Value::Binary(x, _) = v {
                        assert!(x.len() <= b.len());
                    }
                }
                let Some(r) = rest.get(hdr + body..) else {
                    break;
                };
                rest = r;
            }
            let _ = parse::probe(dir, data);
            let _ = parse::resyncs(dir, data);
            let d = sql::Dialect::Postgres;
            assert!(sql::fingerprint(d, data, &mut [0; 64]) <= data.len());
            let _ = sql::statement_at(d, data, usize::from(data.first().copied().unwrap_or(0) % 8));
        }
        if let Frame::Msg { body, .. } = parse::startup_frame(data) {
            assert!(body + 4 <= parse::MAX_STARTUP);
            let _ = parse::startup(data.get(4..).unwrap_or_default());
        }
    }
}
