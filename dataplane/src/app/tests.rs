//! Analyzers driven end to end through a worker: synthetic TCP and UDP
//! conversations (handshake, segments split where the test says, FINs)
//! become packets with payloads, and the records that come out are read
//! back as JSON.

use serde_json::Value;

use super::{AppConfig, PortSet};
use crate::decode::{ipproto, synth, tcpflag, Decoded};
use crate::record::VecOut;
use crate::worker::{FlatPayloads, Worker, WorkerConfig};

const T0: u64 = 1_700_000_000_000_000_000;

/// Packets of a conversation and their payloads.
pub struct Conv {
    pkts: Vec<Decoded>,
    flat: Vec<u8>,
    seq: [u32; 2],
    ts: u64,
    ports: (u16, u16),
    proto: u8,
}

impl Conv {
    /// A TCP connection from 10.0.0.1:`sport` to 10.0.0.2:`dport`, with
    /// its handshake.
    pub fn tcp(sport: u16, dport: u16) -> Self {
        let mut c = Self::new(ipproto::TCP, sport, dport);
        c.raw(0, tcpflag::SYN, &[], 0);
        c.seq[0] = c.seq[0].wrapping_add(1);
        c.raw(1, tcpflag::SYN | tcpflag::ACK, &[], 0);
        c.seq[1] = c.seq[1].wrapping_add(1);
        c.raw(0, tcpflag::ACK, &[], 0);
        c
    }

    /// A UDP flow.
    pub fn udp(sport: u16, dport: u16) -> Self {
        Self::new(ipproto::UDP, sport, dport)
    }

    fn new(proto: u8, sport: u16, dport: u16) -> Self {
        Self {
            pkts: Vec::new(),
            flat: Vec::new(),
            seq: [1000, 0xffff_ff00],
            ts: T0,
            ports: (sport, dport),
            proto,
        }
    }

    /// A packet from `dir` (0 client) with `flags`, carrying `data` at the
    /// direction's next sequence number, and `wire_extra` more bytes the
    /// IP length announces but the capture lacks.
    fn raw(&mut self, dir: usize, flags: u8, data: &[u8], wire_extra: u32) -> &mut Self {
        self.ts += 1_000_000;
        let mut d = synth::packet(
            self.proto,
            dir,
            self.ports,
            flags,
            self.seq,
            self.flat.len(),
            data.len(),
            self.ts,
        );
        d.payload_wire += wire_extra;
        d.ip_len += wire_extra;
        self.flat.extend_from_slice(data);
        self.pkts.push(d);
        self
    }

    /// Sends `data` from `dir` in segments cut at `cuts` (offsets).
    pub fn send(&mut self, dir: usize, data: &[u8], cuts: &[usize]) -> &mut Self {
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            let c = c.min(data.len());
            if c <= at {
                continue;
            }
            self.segment(dir, &data[at..c]);
            at = c;
        }
        self
    }

    /// One segment (or datagram) from `dir`.
    pub fn segment(&mut self, dir: usize, data: &[u8]) -> &mut Self {
        let f = if self.proto == ipproto::TCP {
            tcpflag::ACK | tcpflag::PSH
        } else {
            0
        };
        self.raw(dir, f, data, 0);
        self.seq[dir] = self.seq[dir].wrapping_add(data.len() as u32);
        self
    }

    /// A segment lost by the capture: its sequence space is used.
    pub fn lose(&mut self, dir: usize, len: u32) -> &mut Self {
        self.seq[dir] = self.seq[dir].wrapping_add(len);
        self
    }

    /// A segment whose capture stops after `cap` of its bytes.
    pub fn short(&mut self, dir: usize, data: &[u8], cap: usize) -> &mut Self {
        let extra = (data.len() - cap) as u32;
        self.raw(dir, tcpflag::ACK, &data[..cap], extra);
        self.seq[dir] = self.seq[dir].wrapping_add(data.len() as u32);
        self
    }

    /// Both FINs.
    pub fn close(&mut self) -> &mut Self {
        for d in [0, 1] {
            self.raw(d, tcpflag::FIN | tcpflag::ACK, &[], 0);
            self.seq[d] = self.seq[d].wrapping_add(1);
        }
        self
    }

    /// Lets `ns` pass.
    pub fn wait(&mut self, ns: u64) -> &mut Self {
        self.ts += ns;
        self
    }

    /// Swaps packets `a` and `b` (counted from the end) to reorder them.
    pub fn swap_last(&mut self, a: usize, b: usize) -> &mut Self {
        let n = self.pkts.len();
        self.pkts.swap(n - 1 - a, n - 1 - b);
        self
    }

    /// Runs the packets through a worker with `app`; every record.
    pub fn run_with(&self, app: AppConfig) -> Vec<Value> {
        self.run_on(&mut worker(app))
    }

    /// Runs the packets through `w` (its counters stay to be read); every
    /// record.
    pub fn run_on(&self, w: &mut Worker) -> Vec<Value> {
        let mut out = VecOut::default();
        for chunk in self.pkts.chunks(7) {
            w.process(chunk, &FlatPayloads(&self.flat), &mut out);
        }
        w.flush_all(&mut out);
        let (seg, txn) = w.app_buffers_in_use();
        assert_eq!((seg, txn), (0, 0), "every buffer is back in its pool");
        let text = std::str::from_utf8(&out.buf).expect("UTF-8");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Runs with the default settings (and 256 body bytes).
    pub fn run(&self) -> Vec<Value> {
        let mut a = AppConfig::sized(4 << 20);
        a.protos.http.limits.body_bytes = 256;
        self.run_with(a)
    }
}

/// A worker of 64 flows with `app`, its counters to be read after a
/// [`Conv::run_on`].
pub fn worker(app: AppConfig) -> Worker {
    Worker::new(WorkerConfig {
        flows: 64,
        huge_pages: false,
        app,
        ..Default::default()
    })
    .unwrap()
}

/// A minimal TLS 1.2 ClientHello and ServerHello, each in one record (for
/// a protocol's hand-over to TLS).
pub fn tls_hellos() -> (Vec<u8>, Vec<u8>) {
    let rec = |hs_ty: u8, body: &[u8]| {
        let mut h = vec![hs_ty];
        h.extend(&(body.len() as u32).to_be_bytes()[1..]);
        h.extend(body);
        let mut r = vec![22, 3, 1];
        r.extend((h.len() as u16).to_be_bytes());
        r.extend(h);
        r
    };
    let mut ch = vec![3, 3];
    ch.extend([0x11; 32]);
    ch.extend([0, 0, 2, 0xc0, 0x2f, 1, 0]);
    let mut sh = vec![3, 3];
    sh.extend([0x22; 32]);
    sh.extend([0, 0xc0, 0x2f, 0]);
    (rec(1, &ch), rec(2, &sh))
}

/// The records of one type.
pub fn of(recs: &[Value], t: &str) -> Vec<Value> {
    recs.iter().filter(|r| r["type"] == t).cloned().collect()
}

/// A record without the fields that depend on packet times.
/// The record of REQ and RESP sent whole on one connection, times removed:
/// what every other way of delivering them must give.
fn plain_exchange() -> Value {
    http_timeless(
        &Conv::tcp(1, 80)
            .send(0, REQ, &[])
            .send(1, RESP, &[])
            .close()
            .run(),
    )
}

/// The one HTTP record of `recs`, times removed.
fn http_timeless(recs: &[Value]) -> Value {
    timeless(&of(recs, "http")[0])
}

/// A record without its times (and durations).
pub fn timeless(r: &Value) -> Value {
    let mut r = r.clone();
    if let Some(m) = r.as_object_mut() {
        m.retain(|k, _| {
            !(k.ends_with("_us") || k == "ts" || k.ends_with("_start") || k.ends_with("_end"))
        });
    }
    r
}

const REQ: &[u8] = b"GET /a/b?x=1&password=hunter2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAuthorization: Basic Zm9vOmJhcg==\r\nCookie: s=1\r\nX-Forwarded-For: 203.0.113.9, 10.1.1.1\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nSet-Cookie: id=2\r\n\r\nhello world";

#[test]
fn http_get_fields() {
    let recs = Conv::tcp(40000, 80)
        .send(0, REQ, &[])
        .send(1, RESP, &[])
        .close()
        .run();
    let h = of(&recs, "http");
    assert_eq!(h.len(), 1, "{recs:?}");
    let h = &h[0];
    assert_eq!(h["method"], "GET");
    assert_eq!(h["uri"], "/a/b?x=1&password=[redacted]");
    assert_eq!(h["path"], "/a/b");
    assert_eq!(h["query"], "x=1&password=[redacted]");
    assert_eq!(h["host"], "example.com");
    assert_eq!(h["user_agent"], "t/1");
    assert_eq!(h["orig_client"], "203.0.113.9");
    assert_eq!(h["request_headers"]["authorization"], "[redacted]");
    assert_eq!(h["request_headers"]["cookie"], "[redacted]");
    assert_eq!(h["response_headers"]["set-cookie"], "[redacted]");
    assert_eq!(h["status_code"], 200);
    assert_eq!(h["status_msg"], "OK");
    assert_eq!(h["response_body_len"], 11);
    assert_eq!(h["response_body"], "hello world");
    assert_eq!(h["trans_depth"], 1);
    assert_eq!(h["src_port"], 40000);
    assert_eq!(h["dst_port"], 80);
    assert_eq!(h["proto"], "tcp");
    let flow = &of(&recs, "flow")[0];
    assert_eq!(h["community_id"], flow["community_id"]);
    // 1 ms per packet: the response's first byte came one packet after
    // the request's last.
    assert_eq!(h["latency_us"], 1000);
    assert_eq!(h["load_us"], 0);
    assert!(h.get("unanswered").is_none());
}

#[test]
fn every_split_point_gives_the_same_record() {
    let base = plain_exchange();
    for k in 1..REQ.len() {
        let r = Conv::tcp(1, 80)
            .send(0, REQ, &[k])
            .send(1, RESP, &[])
            .close()
            .run();
        assert_eq!(http_timeless(&r), base, "request cut at {k}");
    }
    for k in 1..RESP.len() {
        let r = Conv::tcp(1, 80)
            .send(0, REQ, &[])
            .send(1, RESP, &[k])
            .close()
            .run();
        assert_eq!(http_timeless(&r), base, "response cut at {k}");
    }
    // One byte per segment.
    let all: Vec<usize> = (1..RESP.len()).collect();
    let r = Conv::tcp(1, 80)
        .send(0, REQ, &all)
        .send(1, RESP, &all)
        .close()
        .run();
    assert_eq!(http_timeless(&r), base, "byte by byte");
}

/// A head larger than a stream buffer, cut at every point of its tail
/// (where the framing header and the blank line are): the same record,
/// headers marked truncated, the body framed by the length at its end.
#[test]
fn an_oversized_head_cut_anywhere_keeps_its_framing() {
    let mut req = b"POST /up HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..3000 {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"Content-Length: 3\r\n\r\nabc");
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let run = |cuts: &[usize]| {
        let r = Conv::tcp(1, 80)
            .send(0, &req, cuts)
            .send(1, resp, &[])
            .close()
            .run();
        let h = of(&r, "http");
        assert_eq!(h.len(), 1, "{r:?}");
        (
            h[0]["uri"].clone(),
            h[0]["request_body_len"].clone(),
            h[0]["status_code"].clone(),
            h[0]["request_headers_truncated"].clone(),
        )
    };
    let want = (
        Value::from("/up"),
        Value::from(3),
        Value::from(200),
        Value::from(true),
    );
    let n = req.len();
    for k in n - 40..n {
        assert_eq!(run(&[1400, 20_000, k]), want, "cut at {k}");
    }
    let tail: Vec<usize> = (n - 60..n).collect();
    assert_eq!(run(&tail), want, "tail byte by byte");
}

#[test]
fn truncated_response_at_every_length_is_logged_once() {
    for k in 0..RESP.len() {
        let r = Conv::tcp(1, 80)
            .send(0, REQ, &[])
            .send(1, &RESP[..k], &[])
            .close()
            .run();
        let h = of(&r, "http");
        assert_eq!(h.len(), 1, "cut at {k}: {r:?}");
        let answered = h[0].get("status_code").is_some();
        assert_eq!(answered, k >= RESP.len() - 11, "head complete at {k}");
        if !answered {
            assert_eq!(h[0]["unanswered"], true);
            assert_eq!(h[0]["unanswered_reason"], "flow_end");
        } else {
            assert_eq!(h[0]["response_incomplete"], true, "cut at {k}");
        }
    }
}

#[test]
fn pipelining_chunked_head_304_in_order() {
    let reqs = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\nPOST /4 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let resps = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nHTTP/1.0 201 Created\r\n\r\nrest until close";
    let r = Conv::tcp(5, 8080)
        .send(0, reqs, &[30, 31])
        .send(1, resps, &[9, 60, 100])
        .close()
        .run();
    let h = of(&r, "http");
    let got: Vec<(u64, &str, u64, u64)> = h
        .iter()
        .map(|x| {
            (
                x["trans_depth"].as_u64().unwrap(),
                x["method"].as_str().unwrap(),
                x["status_code"].as_u64().unwrap(),
                x["response_body_len"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "GET", 200, 11),
            (2, "HEAD", 200, 0),
            (3, "GET", 304, 0),
            (4, "POST", 201, 16)
        ]
    );
    assert_eq!(h[0]["response_body"], "hello world");
    assert_eq!(h[3]["request_body_len"], 3);
    assert_eq!(h[3]["request_body"], "abc");
    assert_eq!(h[3]["response_body"], "rest until close");
    assert!(h.iter().all(|x| x.get("response_incomplete").is_none()));
}

#[test]
fn continue_upgrade_connect_and_h2_end_http1() {
    let req = b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    let r = Conv::tcp(6, 80)
        .send(0, req, &[])
        .send(1, b"HTTP/1.1 100 Continue\r\n\r\n", &[])
        .send(0, b"data", &[])
        .send(1, b"HTTP/1.1 204 No Content\r\n\r\n", &[])
        .close()
        .run();
    let h = &of(&r, "http")[0];
    assert_eq!(
        (h["status_code"].as_u64(), h["continue"].as_bool()),
        (Some(204), Some(true))
    );
    assert_eq!(h["request_body_len"], 4);

    let ws = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let r = Conv::tcp(7, 80)
        .send(0, ws, &[])
        .send(
            1,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
            &[],
        )
        .send(0, b"\x81\x85garbage that is not http\r\n\r\n", &[])
        .close()
        .run();
    let h = of(&r, "http");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["status_code"], 101);

    let r = Conv::tcp(8, 3128)
        .send(
            0,
            b"CONNECT db.example:443 HTTP/1.1\r\nHost: db.example:443\r\n\r\n",
            &[],
        )
        .send(1, b"HTTP/1.1 200 Connection established\r\n\r\n", &[])
        .send(0, b"\x16\x03\x01\x00\x10client hello....", &[])
        .send(1, b"\x16\x03\x03\x00\x10server hello....", &[])
        .close()
        .run();
    let h = of(&r, "http");
    assert_eq!(h.len(), 1, "{r:?}");
    assert_eq!(
        (h[0]["method"].as_str(), h[0]["status_code"].as_u64()),
        (Some("CONNECT"), Some(200))
    );

    let mut a = AppConfig::sized(1 << 20);
    a.protos.http.limits.body_bytes = 0;
    let r = Conv::tcp(9, 80)
        .send(0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04", &[])
        .send(1, b"\x00\x00\x00\x04\x01\x00\x00\x00\x00", &[])
        .close()
        .run_with(a);
    assert!(of(&r, "http").is_empty(), "{r:?}");
}

#[test]
fn gzip_bodies_are_inflated_to_the_limit_and_forms_redacted() {
    use std::io::Write;
    let text: Vec<u8> = (0..2000).map(|i| b'a' + (i % 26) as u8).collect();
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&text).unwrap();
    let gz = z.finish().unwrap();
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    resp.extend_from_slice(&gz);
    let form = b"user=bob&password=x&token=y";
    let mut req = format!(
        "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    )
    .into_bytes();
    req.extend_from_slice(form);
    let r = Conv::tcp(10, 80)
        .send(0, &req, &[])
        .send(1, &resp, &[])
        .close()
        .run();
    let h = &of(&r, "http")[0];
    assert_eq!(
        h["request_body"],
        "user=bob&password=[redacted]&token=[redacted]"
    );
    assert_eq!(
        h["response_body"].as_str().unwrap().as_bytes(),
        &text[..256]
    );
    assert_eq!(h["response_body_truncated"], true);
    assert_eq!(h["response_body_len"].as_u64(), Some(gz.len() as u64));
}

#[test]
fn reordering_loss_and_short_captures() {
    let base = plain_exchange();
    // The request's two halves arrive swapped: held, then delivered.
    let r = Conv::tcp(1, 80)
        .send(0, REQ, &[40])
        .swap_last(0, 1)
        .send(1, RESP, &[])
        .close()
        .run();
    assert_eq!(http_timeless(&r), base);
    // Body bytes lost (the server's next segment is acknowledged past
    // them): the skip absorbs the gap when bodies are not kept.
    let head = &RESP[..RESP.len() - 11];
    let mut a = AppConfig::sized(1 << 20);
    a.protos.http.limits.body_bytes = 0;
    let r = Conv::tcp(1, 80)
        .send(0, REQ, &[])
        .send(1, head, &[])
        .segment(1, b"hello")
        .lose(1, 6)
        .send(0, b"GET /2 HTTP/1.1\r\nHost: b\r\n\r\n", &[])
        .send(
            1,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &[],
        )
        .close()
        .run_with(a);
    let h = of(&r, "http");
    assert_eq!(h.len(), 2, "{r:?}");
    assert_eq!(h[1]["status_code"], 404);
    // A lost piece of a request head: that request is cut, the next one
    // parses after probing.
    let r = Conv::tcp(1, 80)
        .segment(0, &REQ[..20])
        .lose(0, 20)
        .segment(0, &REQ[40..])
        .send(1, b"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n", &[])
        .send(0, b"GET /next HTTP/1.1\r\nHost: c\r\n\r\n", &[])
        .send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &[])
        .close()
        .run();
    let h = of(&r, "http");
    assert!(
        h.iter()
            .any(|x| x["uri"] == "/next" && x["status_code"] == 200),
        "{h:?}"
    );
    // A segment captured short: its tail is a gap.
    let r = Conv::tcp(1, 80)
        .send(0, REQ, &[])
        .short(1, RESP, 20)
        .close()
        .run();
    let h = of(&r, "http");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["unanswered"], true, "the head never completed: {h:?}");
}

#[test]
fn ports_and_probing_decide() {
    // HTTP on a port nobody listed is found by its bytes.
    let r = Conv::tcp(1, 12345)
        .send(0, REQ, &[])
        .send(1, RESP, &[])
        .close()
        .run();
    assert_eq!(of(&r, "http").len(), 1);
    // Not HTTP on port 80: a plain flow.
    let r = Conv::tcp(1, 80)
        .send(0, b"\x16\x03\x01\x00\x05hello", &[])
        .close()
        .run();
    assert!(of(&r, "http").is_empty());
    assert_eq!(of(&r, "flow").len(), 1);
    // Off: no record.
    let mut a = AppConfig::sized(1 << 20);
    a.protos.http.enabled = false;
    let r = Conv::tcp(1, 80)
        .send(0, REQ, &[])
        .send(1, RESP, &[])
        .close()
        .run_with(a);
    assert!(of(&r, "http").is_empty());
}

#[test]
fn unanswered_requests_time_out() {
    let mut a = AppConfig::sized(1 << 20);
    a.txn_timeout_ns = 2_000_000_000;
    let r = Conv::tcp(1, 80)
        .send(0, b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .wait(3_000_000_000)
        .send(0, b"GET /fast HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &[])
        .close()
        .run_with(a);
    let h = of(&r, "http");
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0]["uri"].as_str(), h[0]["unanswered_reason"].as_str()),
        (Some("/slow"), Some("timeout"))
    );
    assert_eq!(
        (h[1]["uri"].as_str(), h[1]["status_code"].as_u64()),
        (Some("/fast"), Some(200))
    );
}

#[test]
fn open_transactions_are_limited() {
    let mut a = AppConfig::sized(1 << 20);
    a.max_open = 2;
    let mut c = Conv::tcp(1, 80);
    for i in 0..4 {
        c.send(
            0,
            format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
            &[],
        );
    }
    for _ in 0..4 {
        c.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &[]);
    }
    let r = c.close().run_with(a);
    let h = of(&r, "http");
    let uris: Vec<&str> = h.iter().map(|x| x["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, ["/0", "/1"], "the others are counted, not logged");
}

/// A DNS query for `name`, type A, id `id`.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = vec![(id >> 8) as u8, id as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Its response with one A record per address; `tc` sets TC.
fn dns_answer(id: u16, name: &str, addrs: &[[u8; 4]], tc: bool) -> Vec<u8> {
    let mut m = dns_query(id, name);
    m[2] = 0x81 | if tc { 2 } else { 0 };
    m[3] = 0x80;
    m[7] = addrs.len() as u8;
    for a in addrs {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        m.extend_from_slice(a);
    }
    m
}

#[test]
fn dns_udp_answered_unanswered_and_orphan() {
    let r = Conv::udp(5353, 53)
        .segment(0, &dns_query(7, "example.com"))
        .segment(
            1,
            &dns_answer(7, "example.com", &[[1, 2, 3, 4], [5, 6, 7, 8]], false),
        )
        .segment(0, &dns_query(8, "nope.example"))
        .segment(1, &dns_answer(9, "other.example", &[], false))
        .run();
    let d = of(&r, "dns");
    assert_eq!(d.len(), 3, "{r:?}");
    assert_eq!(d[0]["query"], "example.com");
    assert_eq!(d[0]["qtype_name"], "A");
    assert_eq!(d[0]["answers"], serde_json::json!(["1.2.3.4", "5.6.7.8"]));
    assert_eq!(d[0]["ttls"], serde_json::json!([3600, 3600]));
    assert_eq!(d[0]["rcode_name"], "NOERROR");
    assert_eq!(
        (d[0]["rd"].as_bool(), d[0]["ra"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(d[0]["latency_us"], 1000);
    assert_eq!(d[1]["query_missing"], true);
    assert_eq!(d[2]["query"], "nope.example");
    assert_eq!(d[2]["unanswered"], true);
}

/// Queries still open when the flow ends are logged oldest first, though
/// a newer one took the slot an answered one left; those past the timeout
/// are logged by slot, as they always were.
#[test]
fn dns_open_queries_leave_oldest_first_at_the_end_by_slot_at_the_timeout() {
    let mut c = Conv::udp(5354, 53);
    c.segment(0, &dns_query(1, "a.example"))
        .segment(0, &dns_query(2, "b.example"))
        .segment(0, &dns_query(3, "c.example"))
        .segment(1, &dns_answer(1, "a.example", &[], false))
        .segment(0, &dns_query(4, "d.example"));
    let seen = |r: &[Value]| -> Vec<(String, String)> {
        of(r, "dns")
            .iter()
            .map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or("-").to_owned();
                (s("query"), s("unanswered_reason"))
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|&(a, b)| (a.into(), b.into())).collect()
    };
    assert_eq!(
        seen(&c.run()),
        pairs(&[
            ("a.example", "-"),
            ("b.example", "flow_end"),
            ("c.example", "flow_end"),
            ("d.example", "flow_end"),
        ])
    );
    c.wait(6_000_000_000).segment(0, &dns_query(5, "e.example"));
    assert_eq!(
        seen(&c.run()),
        pairs(&[
            ("a.example", "-"),
            ("d.example", "timeout"),
            ("b.example", "timeout"),
            ("c.example", "timeout"),
            ("e.example", "flow_end"),
        ])
    );
}

#[test]
fn dns_truncated_then_tcp_retry_split_everywhere() {
    let q = dns_query(42, "big.example");
    let a = dns_answer(42, "big.example", &[[9, 9, 9, 9]; 3], false);
    let r = Conv::udp(40000, 53)
        .segment(0, &q)
        .segment(1, &dns_answer(42, "big.example", &[], true))
        .run();
    assert_eq!(of(&r, "dns")[0]["tc"], true);
    let framed = |m: &[u8]| {
        let mut v = vec![(m.len() >> 8) as u8, m.len() as u8];
        v.extend_from_slice(m);
        v
    };
    let (fq, fa) = (framed(&q), framed(&a));
    for k in 1..fa.len() {
        let r = Conv::tcp(40001, 53)
            .send(0, &fq, &[k.min(fq.len() - 1)])
            .send(1, &fa, &[k])
            .close()
            .run();
        let d = of(&r, "dns");
        assert_eq!(d.len(), 1, "cut at {k}: {r:?}");
        assert_eq!(
            (d[0]["transport"].as_str(), d[0]["answers"][2].as_str()),
            (Some("tcp"), Some("9.9.9.9"))
        );
        assert!(d[0].get("query_missing").is_none());
    }
}

#[test]
fn dns_sessions_are_released_between_queries() {
    let mut a = AppConfig::sized(1 << 20);
    a.sessions = 1;
    // Two flows take turns with the one session.
    let mut c = Conv::udp(1000, 53);
    c.segment(0, &dns_query(1, "a.example"))
        .segment(1, &dns_answer(1, "a.example", &[[1, 1, 1, 1]], false));
    let r = c.run_with(a);
    assert_eq!(of(&r, "dns").len(), 1);
}

#[test]
fn a_response_before_the_request_body_waits_for_it() {
    let head = b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n";
    let r = Conv::tcp(11, 80)
        .send(0, head, &[])
        .send(
            1,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            &[],
        )
        .send(0, b"abcdef", &[3])
        .send(0, b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(
            1,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &[],
        )
        .close()
        .run();
    let h = of(&r, "http");
    assert_eq!(h.len(), 2, "{r:?}");
    assert_eq!(
        (
            h[0]["request_body_len"].as_u64(),
            h[0]["status_code"].as_u64()
        ),
        (Some(6), Some(200))
    );
    assert_eq!(h[0]["request_body"], "abcdef");
    assert_eq!(
        (h[1]["uri"].as_str(), h[1]["status_code"].as_u64()),
        (Some("/next"), Some(404))
    );
}

#[test]
fn dns_response_before_its_query_pairs_with_it() {
    let q = dns_query(77, "late.example");
    let a = dns_answer(77, "late.example", &[[4, 3, 2, 1]], false);
    let r = Conv::udp(3333, 53).segment(1, &a).segment(0, &q).run();
    let d = of(&r, "dns");
    assert_eq!(d.len(), 1, "{r:?}");
    assert_eq!(
        (d[0]["reordered"].as_bool(), d[0]["latency_us"].as_u64()),
        (Some(true), Some(0))
    );
    assert_eq!(d[0]["answers"], serde_json::json!(["4.3.2.1"]));
    assert!(d[0].get("query_missing").is_none());
    // No query ever: logged alone at the flow's end.
    let r = Conv::udp(3334, 53).segment(1, &a).run();
    assert_eq!(of(&r, "dns")[0]["query_missing"], true);
}

/// A worker whose application layer has one session.
fn one_session_worker() -> Worker {
    let mut a = AppConfig::sized(1 << 20);
    a.sessions = 1;
    Worker::new(WorkerConfig {
        flows: 64,
        huge_pages: false,
        app: a,
        ..Default::default()
    })
    .unwrap()
}

/// Every record written to `out`.
fn lines(out: &VecOut) -> Vec<Value> {
    std::str::from_utf8(&out.buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn connections_at_rest_hold_no_session() {
    // One session for two keep-alive connections taking turns: each gives
    // it back between transactions, and the depth carries on.
    let mut w = one_session_worker();
    let mut out = VecOut::default();
    let mut c1 = Conv::tcp(1001, 80);
    let mut c2 = Conv::tcp(1002, 80);
    for k in 0..3 {
        for c in [&mut c1, &mut c2] {
            if k > 0 {
                // The handshake went in the first round.
                c.pkts.clear();
                c.flat.clear();
            }
            c.send(
                0,
                format!("GET /{k} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
                &[],
            )
            .send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &[]);
            w.process(&c.pkts, &FlatPayloads(&c.flat), &mut out);
        }
    }
    w.flush_all(&mut out);
    let recs = lines(&out);
    let h = of(&recs, "http");
    assert_eq!(h.len(), 6, "{recs:?}");
    for port in [1001, 1002] {
        let depths: Vec<u64> = h
            .iter()
            .filter(|r| r["src_port"] == port)
            .map(|r| r["trans_depth"].as_u64().unwrap())
            .collect();
        assert_eq!(depths, [1, 2, 3]);
    }
    assert_eq!(w.app_stats().sessions_full, 0);
}

#[test]
fn a_slow_response_head_is_not_timed_out_and_unseen_body_is_not_counted() {
    let mut a = AppConfig::sized(1 << 20);
    a.txn_timeout_ns = 2_000_000_000;
    a.protos.http.limits.body_bytes = 0;
    let r = Conv::tcp(1, 80)
        .send(0, b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .wait(1_000_000_000)
        .send(1, b"HTTP/1.1 206 Partial\r\n", &[])
        .wait(3_000_000_000)
        .send(1, b"Content-Length: 2200000000\r\n\r\n", &[])
        .send(1, &[b'x'; 100], &[])
        .close()
        .run_with(a);
    let h = of(&r, "http");
    assert_eq!(h.len(), 1, "{r:?}");
    assert_eq!(h[0]["status_code"], 206);
    assert!(h[0].get("unanswered").is_none());
    assert_eq!(h[0]["response_body_len"], 100, "only what came");
}

#[test]
fn review_findings_stay_fixed() {
    // An interim response nobody waits for does not derail the pairing.
    let r = Conv::tcp(1, 80)
        .send(1, b"HTTP/1.1 100 Continue\r\n\r\n", &[])
        .send(0, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &[])
        .send(0, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(
            1,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &[],
        )
        .close()
        .run();
    let h = of(&r, "http");
    let got: Vec<(&str, u64)> = h
        .iter()
        .map(|x| {
            (
                x["uri"].as_str().unwrap_or("-"),
                x["status_code"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, [("/a", 200), ("/b", 404)], "{r:?}");
    // Lengths past a petabyte are framing errors, and nothing overflows.
    let r = Conv::tcp(2, 80)
        .send(
            0,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\nabc",
            &[],
        )
        .send(
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\nxyz",
            &[],
        )
        .close()
        .run();
    let h = of(&r, "http");
    assert_eq!(h.len(), 1, "{r:?}");
    assert_eq!(h[0]["response_body_len"], 3, "only what came");
    // A DNS answer of control bytes stays under the record cap.
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 64, 0, 0, 0, 0];
    for _ in 0..4 {
        m.push(63);
        m.extend_from_slice(&[1u8; 63]);
    }
    m.extend_from_slice(&[0, 0, 5, 0, 1]);
    for _ in 0..64 {
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12]);
    }
    let r = Conv::udp(5, 53).segment(1, &m).run();
    let d = of(&r, "dns");
    assert_eq!(d.len(), 1);
    assert!(
        d[0].to_string().len() <= crate::record::MAX_RECORD,
        "{}",
        d[0].to_string().len()
    );
}

#[test]
fn requests_past_the_limit_do_not_shift_the_pairing() {
    let mut a = AppConfig::sized(1 << 20);
    a.max_open = 2;
    let req = |i: u32| format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes();
    // Response i has an i-byte body, so the pairing shows in the lengths.
    let resp = |i: u32| {
        let body = "x".repeat(i as usize);
        format!("HTTP/1.1 200 OK\r\nContent-Length: {i}\r\n\r\n{body}").into_bytes()
    };
    let mut c = Conv::tcp(1, 80);
    // 1 and 2 are logged, 3 is over the limit; then 1 is answered, 4 comes.
    c.send(0, &req(1), &[])
        .send(0, &req(2), &[])
        .send(0, &req(3), &[]);
    c.send(1, &resp(1), &[]).send(0, &req(4), &[]);
    c.send(1, &resp(2), &[])
        .send(1, &resp(3), &[])
        .send(1, &resp(4), &[]);
    let r = c.close().run_with(a);
    let h = of(&r, "http");
    let got: Vec<(&str, u64)> = h
        .iter()
        .map(|x| {
            (
                x["uri"].as_str().unwrap(),
                x["response_body_len"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("/1", 1), ("/2", 2), ("/4", 4)], "{r:?}");
}

/// The scratch buffer is sized for a DNS answer's text whatever the HTTP
/// limits, so it never grows in the packet path (HTTP's redaction decides
/// by its capacity, which must not depend on earlier DNS traffic).
#[test]
fn scratch_holds_dns_text_under_small_http_limits() {
    let mut cfg = AppConfig::sized(1 << 20);
    cfg.protos.http.limits.uri_bytes = 64;
    cfg.protos.http.limits.body_bytes = 0;
    let app = super::App::new(cfg, 16, false).unwrap();
    let cap = app.sh.scratch.capacity();
    assert!(cap >= super::dns::parse::TEXT_BYTES + 64, "{cap}");
}

#[test]
fn a_reused_session_slot_carries_nothing_over() {
    // One session slot, used in turn by: an HTTP connection ended with a
    // request still open (its queue non-empty when the slot goes back),
    // another HTTP connection (same protocol: reset in place), a DNS flow
    // (the slot changes protocol), a DNS flow ended with a query waiting,
    // and another DNS flow (reset in place). Each must log only its own.
    let mut w = one_session_worker();
    let mut out = VecOut::default();
    // Far enough apart that each flow has ended (and given the slot back)
    // before the next one starts.
    const APART: u64 = 600_000_000_000;
    let mut h1 = Conv::tcp(2001, 80);
    h1.send(0, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(0, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &[])
        .send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &[])
        .close();
    let mut h2 = Conv::tcp(2002, 80);
    h2.wait(APART)
        .send(0, b"GET /c HTTP/1.1\r\nHost: c\r\n\r\n", &[])
        .send(
            1,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &[],
        )
        .close();
    let mut d1 = Conv::udp(3001, 53);
    d1.wait(2 * APART)
        .segment(0, &dns_query(1, "one.example"))
        .segment(1, &dns_answer(1, "one.example", &[[1, 1, 1, 1]], false));
    let mut d2 = Conv::udp(3002, 53);
    d2.wait(3 * APART).segment(0, &dns_query(2, "two.example"));
    let mut d3 = Conv::udp(3003, 53);
    d3.wait(4 * APART)
        .segment(0, &dns_query(3, "three.example"))
        .segment(1, &dns_answer(3, "three.example", &[[3, 3, 3, 3]], false));
    for c in [&h1, &h2, &d1, &d2, &d3] {
        w.process(&c.pkts, &FlatPayloads(&c.flat), &mut out);
    }
    w.flush_all(&mut out);
    assert_eq!(
        w.app_stats().sessions_full,
        0,
        "the slot was free each time"
    );
    let recs = lines(&out);
    let h = of(&recs, "http");
    let got: Vec<_> = h
        .iter()
        .map(|r| {
            (
                r["src_port"].as_u64().unwrap(),
                r["uri"].as_str().unwrap().to_string(),
                r["trans_depth"].as_u64().unwrap(),
                r["status_code"].as_u64(),
                r["unanswered"].as_bool(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2001, "/a".into(), 1, Some(200), None),
            (2001, "/b".into(), 2, None, Some(true)),
            (2002, "/c".into(), 1, Some(404), None),
        ],
        "{recs:?}"
    );
    let d = of(&recs, "dns");
    let got: Vec<_> = d
        .iter()
        .map(|r| {
            (
                r["src_port"].as_u64().unwrap(),
                r["query"].as_str().unwrap().to_string(),
                r["answers"].clone(),
                r["unanswered"].as_bool(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                3001,
                "one.example".into(),
                serde_json::json!(["1.1.1.1"]),
                None
            ),
            (3002, "two.example".into(), Value::Null, Some(true)),
            (
                3003,
                "three.example".into(),
                serde_json::json!(["3.3.3.3"]),
                None
            ),
        ],
        "{recs:?}"
    );
}

/// The application layer with the template analyzer on, on `port`.
pub(crate) fn template_on(port: u16) -> AppConfig {
    let mut a = AppConfig::sized(1 << 20);
    a.protos.template.enabled = true;
    a.protos.template.tcp_ports = PortSet::new(&[port]);
    a.resize(1 << 20);
    a
}

/// The template folder is a working analyzer: switched on for a port, its
/// line protocol is logged through the same layer as every protocol, with
/// its connection parked between exchanges and a pipelined pair answered
/// in order.
#[test]
fn the_template_analyzer_works_through_the_registry() {
    let a = template_on(7777);
    let mut c = Conv::tcp(4000, 7777);
    c.segment(0, b"HELLO\r\n")
        .segment(1, b"WORLD!\r\n")
        .wait(1_000_000_000)
        .send(0, b"AGAIN\r\n", &[2])
        .segment(1, b"OK\r\n")
        .segment(0, b"LAST ONE\r\n")
        .close();
    let r = c.run_with(a.clone());
    let lines = of(&r, "line");
    assert_eq!(lines.len(), 3, "{r:?}");
    assert_eq!(lines[0]["request_len"], 7);
    assert_eq!(lines[0]["response_len"], 8);
    assert_eq!(lines[1]["request_len"], 7);
    assert_eq!(lines[1]["response_len"], 4);
    assert_eq!(lines[2]["unanswered"], true);
    assert_eq!(lines[0]["dst_port"], 7777);
    // Off its port it is not taken, and binary bytes on its port are not
    // the protocol.
    let mut off = Conv::tcp(4001, 7778);
    off.segment(0, b"HELLO\r\n").segment(1, b"WORLD\r\n");
    assert!(of(&off.run_with(a.clone()), "line").is_empty());
    let mut bin = Conv::tcp(4002, 7777);
    bin.segment(0, b"\x00\x01\x02\r\n").segment(1, b"x\r\n");
    assert!(of(&bin.run_with(a), "line").is_empty());
}

/// Every analyzer's state fits a session slot of the size HTTP's needs
/// (the slot is as large as the largest: a protocol may not grow it).
#[test]
fn session_slots_are_as_large_as_http_needs() {
    let http = std::mem::size_of::<super::http::Http>();
    let redis = std::mem::size_of::<super::redis::Redis>();
    let dns = std::mem::size_of::<super::dns::Dns>();
    let pgsql = std::mem::size_of::<super::pgsql::Pgsql>();
    let mysql = std::mem::size_of::<super::mysql::Mysql>();
    assert!(
        redis <= http && dns <= http && pgsql <= http && mysql <= http,
        "http {http}, redis {redis}, dns {dns}, pgsql {pgsql}, mysql {mysql}"
    );
}

/// An analyzer hands its flow over to another mid-stream (as STARTTLS
/// hands a connection to TLS): the template's `UPGRADE redis` answered
/// `OK` makes the rest of the connection Redis, whose records carry
/// `upgraded_from` and the same Community ID.
#[test]
fn a_flow_is_handed_over_to_another_analyzer() {
    let a = template_on(7777);
    let mut c = Conv::tcp(4100, 7777);
    c.segment(0, b"UPGRADE redis\r\n")
        .segment(1, b"OK\r\n")
        .segment(0, b"*1\r\n$4\r\nPING\r\n")
        .segment(1, b"+PONG\r\n")
        .send(0, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &[5])
        .segment(1, b"$-1\r\n")
        .close();
    let r = c.run_with(a);
    let (line, redis) = (of(&r, "line"), of(&r, "redis"));
    assert_eq!(line.len(), 1, "{r:?}");
    assert_eq!(redis.len(), 2, "{r:?}");
    assert_eq!(
        (redis[0]["command"].clone(), redis[0]["reply"].clone()),
        ("PING".into(), "PONG".into())
    );
    assert_eq!(redis[1]["reply_type"], "null");
    for x in &redis {
        assert_eq!(x["upgraded_from"], "line");
        assert_eq!(x["community_id"], line[0]["community_id"]);
    }
    assert!(line[0].get("upgraded_from").is_none());
    // Bytes after the answer in the same segment are the next
    // protocol's: held for it, not lost.
    let a = template_on(7777);
    let mut c = Conv::tcp(4102, 7777);
    c.segment(0, b"UPGRADE redis\r\n")
        .segment(1, b"OK\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n")
        .segment(0, b"*1\r\n$4\r\nPING\r\n")
        .segment(1, b"+PONG\r\n")
        .close();
    let r = c.run_with(a);
    let redis = of(&r, "redis");
    assert_eq!(redis.len(), 2, "{r:?}");
    assert_eq!(
        (redis[0]["push"].clone(), redis[0]["payload"].clone()),
        ("message".into(), "hi".into())
    );
    assert_eq!(redis[1]["reply"], "PONG", "{r:?}");
    // Without the answer the connection stays the template's.
    let a = template_on(7777);
    let mut c = Conv::tcp(4101, 7777);
    c.segment(0, b"UPGRADE redis\r\n")
        .segment(1, b"NO\r\n")
        .segment(0, b"PING\r\n")
        .segment(1, b"PONG\r\n")
        .close();
    let r = c.run_with(a);
    assert_eq!(
        (of(&r, "line").len(), of(&r, "redis").len()),
        (2, 0),
        "{r:?}"
    );
}

/// An upgrade ends HTTP on its connection: the session and the stream
/// buffers go back when the new protocol starts, not when the flow ends.
/// (A CONNECT tunnel goes on in TLS: `tls/tests.rs`.)
#[test]
fn a_tunnel_gives_its_session_back_when_it_opens() {
    let mut c = Conv::tcp(5200, 8080);
    c.segment(
        0,
        b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .segment(1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    .segment(0, b"\x81\x05hello")
    .segment(1, b"\x81\x05world");
    let mut w = Worker::new(WorkerConfig {
        flows: 64,
        huge_pages: false,
        app: AppConfig::sized(4 << 20),
        ..Default::default()
    })
    .unwrap();
    let mut out = VecOut::default();
    w.process(&c.pkts, &FlatPayloads(&c.flat), &mut out);
    assert_eq!(w.stats().app.sessions_active, 0);
    assert_eq!(w.app_buffers_in_use(), (0, 0));
    let text = std::str::from_utf8(&out.buf).unwrap();
    let r: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let http = of(&r, "http");
    assert_eq!(http.len(), 1, "{r:#?}");
    assert_eq!(
        (&http[0]["method"], &http[0]["status_code"]),
        (&"GET".into(), &101.into())
    );
}

/// The packets of the corpus trace `file` (under shared/corpus) decoded,
/// their payloads in one buffer (each packet's `payload` indexes it), or
/// `None` when the corpus is not there.
pub fn corpus_packets(file: &str) -> Option<(Vec<crate::decode::Decoded>, Vec<u8>)> {
    use crate::capture::pcap::PcapReader;
    use crate::capture::{Batch, Capture};
    use crate::decode::{DecodeConfig, Decoder, Outcome};

    let rel = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/");
    let root = if std::path::Path::new(rel).exists() {
        rel.to_string()
    } else {
        "/work/shared/corpus/".to_string()
    };
    let mut r = PcapReader::open(format!("{root}{file}")).ok()?;
    let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
    let mut batch = Batch::with_capacity(64);
    let (mut pkts, mut flat) = (Vec::new(), Vec::new());
    while r.next_batch(&mut batch).is_ok() {
        if batch.frames().is_empty() {
            break;
        }
        for f in batch.frames() {
            let frame = r.frame(f);
            let mut d = Decoded::EMPTY;
            if dec.decode(frame, f.link, f.ts_ns, &mut d) == Outcome::Packet {
                let pay = dec.payload(frame, &d.payload).to_vec();
                d.payload.off = flat.len() as u32;
                d.payload.len = pay.len() as u32;
                flat.extend(pay);
                pkts.push(d);
            }
        }
    }
    Some((pkts, flat))
}

/// The records the corpus trace `file` (under shared/corpus) gives, or
/// `None` when the corpus is not there.
pub fn replay(file: &str) -> Option<Vec<Value>> {
    let (pkts, flat) = corpus_packets(file)?;
    let mut w = worker(AppConfig::sized(4 << 20));
    let mut out = VecOut::default();
    for chunk in pkts.chunks(7) {
        w.process(chunk, &FlatPayloads(&flat), &mut out);
    }
    w.flush_all(&mut out);
    let text = std::str::from_utf8(&out.buf).unwrap();
    Some(
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}
