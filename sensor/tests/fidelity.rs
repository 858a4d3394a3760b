//! Flow, HTTP and DNS fidelity: each case a capture built here for one
//! defect that public test suites of other sensors found (issue 20), read
//! back with `wirelog replay`. Frames are built with etherparse (checksums
//! and lengths computed by a library we did not write).

mod common;

use dataplane::capture::{pcap, LinkType};
use etherparse::PacketBuilder;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CLI: [u8; 4] = [10, 1, 0, 1];
const SRV: [u8; 4] = [10, 1, 0, 2];
const T0: u64 = 1_700_000_000_000_000_000;

/// A pcap file being built: frames with times.
struct Trace {
    bytes: Vec<u8>,
    /// Time of the next frame (ns); each frame advances it by 1 ms.
    t: u64,
}

impl Trace {
    fn new() -> Self {
        let mut bytes = Vec::new();
        pcap::write_header(&mut bytes, LinkType::Ethernet, 65535);
        Trace { bytes, t: T0 }
    }

    fn frame(&mut self, f: &[u8]) {
        pcap::write_record(&mut self.bytes, self.t, f, f.len() as u32);
        self.t += 1_000_000;
    }

    /// Lets `secs` seconds pass before the next frame.
    fn wait(&mut self, secs: u64) {
        self.t += secs * 1_000_000_000;
    }

    fn save(&self, name: &str) -> Saved {
        Saved::write(name, &self.bytes)
    }

    /// A UDP datagram from `src` to `dst`.
    fn udp(&mut self, src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .udp(src.1, dst.1);
        let mut f = Vec::new();
        b.write(&mut f, payload).unwrap();
        self.frame(&f);
    }
}

/// A capture file a test wrote, removed when dropped.
struct Saved(PathBuf);

impl Saved {
    fn write(name: &str, bytes: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("wirelog-fidelity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        Saved(p)
    }
}

impl std::ops::Deref for Saved {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        // The last file of the process takes the directory with it.
        let _ = self.0.parent().map(std::fs::remove_dir);
    }
}

/// One TCP connection between CLI:`sport` and SRV:`dport`, its sequence
/// numbers kept per direction (0: client).
struct Tcp {
    ports: [u16; 2],
    seq: [u32; 2],
    ack: [u32; 2],
}

impl Tcp {
    fn new(sport: u16, dport: u16) -> Self {
        Tcp {
            ports: [sport, dport],
            seq: [0; 2],
            ack: [0; 2],
        }
    }

    fn seg(&mut self, tr: &mut Trace, dir: usize, flags: &str, payload: &[u8]) {
        let (src, dst) = if dir == 0 { (CLI, SRV) } else { (SRV, CLI) };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(self.ports[dir], self.ports[1 - dir], self.seq[dir], 65000);
        for c in flags.chars() {
            b = match c {
                'S' => b.syn(),
                'A' => b.ack(self.ack[dir]),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                _ => panic!("flag {c}"),
            };
        }
        let mut f = Vec::new();
        b.write(&mut f, payload).unwrap();
        tr.frame(&f);
        let used = payload.len() as u32 + u32::from(flags.contains('S') || flags.contains('F'));
        self.seq[dir] = self.seq[dir].wrapping_add(used);
        if used > 0 {
            self.ack[1 - dir] = self.seq[dir];
        }
    }

    /// SYN with initial sequence number `isn` from the client.
    fn syn(&mut self, tr: &mut Trace, isn: u32) {
        self.seq[0] = isn;
        self.seg(tr, 0, "S", &[]);
    }

    /// SYN-ACK with initial sequence number `isn` from the server.
    fn synack(&mut self, tr: &mut Trace, isn: u32) {
        self.seq[1] = isn;
        self.seg(tr, 1, "SA", &[]);
    }

    fn handshake(&mut self, tr: &mut Trace, isn_c: u32, isn_s: u32) {
        self.syn(tr, isn_c);
        self.synack(tr, isn_s);
        self.seg(tr, 0, "A", &[]);
    }

    fn send(&mut self, tr: &mut Trace, dir: usize, data: &[u8]) {
        for part in data.chunks(1400) {
            self.seg(tr, dir, "PA", part);
        }
        self.seg(tr, 1 - dir, "A", &[]);
    }

    /// A whole connection: handshake, GET, 200, close.
    fn exchange(&mut self, tr: &mut Trace, isn_c: u32, isn_s: u32) {
        self.handshake(tr, isn_c, isn_s);
        self.send(tr, 0, GET);
        self.send(tr, 1, OK);
        self.close(tr);
    }

    fn close(&mut self, tr: &mut Trace) {
        self.seg(tr, 0, "FA", &[]);
        self.seg(tr, 1, "FA", &[]);
        self.seg(tr, 0, "A", &[]);
    }
}

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

fn records(trace: &Path, args: &[&str]) -> Vec<Value> {
    replay_json(trace, args).0
}

/// The records of `wirelog replay ARGS TRACE`, and its stderr (the summary).
fn replay_json(trace: &Path, args: &[&str]) -> (Vec<Value>, String) {
    let (lines, err) = common::replay(trace, args);
    let recs = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (recs, err)
}

/// A connection from CLI:`sport` to SRV:`dport` carrying `msgs`, client and
/// server in turn, then closed.
fn conversation(tr: &mut Trace, sport: u16, dport: u16, msgs: &[&[u8]]) {
    let mut c = Tcp::new(sport, dport);
    c.handshake(tr, 1000, 5000);
    for (i, m) in msgs.iter().enumerate() {
        c.send(tr, i % 2, m);
    }
    c.close(tr);
}

/// `n` HTTP records, each a request with its 200 response.
fn assert_answered(recs: &[Value], n: usize) {
    let http = of_type(recs, "http");
    assert_eq!(http.len(), n, "{http:#?}");
    for h in &http {
        assert_eq!(h["status_code"], 200, "{h}");
        for k in [
            "request_missing",
            "request_gap",
            "response_gap",
            "response_incomplete",
        ] {
            assert!(h.get(k).is_none(), "{h}");
        }
    }
}

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

/// Item 1: a SYN repeated after the close with the connection's initial
/// sequence number is a retransmission; with a new one, or after the close
/// timeout, it starts a new connection.
#[test]
fn a_syn_repeated_after_the_close_is_not_a_new_connection() {
    let mut tr = Trace::new();
    let mut c = Tcp::new(40000, 80);
    c.exchange(&mut tr, 1000, 5000);
    // The same SYN five times (a mirror that duplicates, a client that
    // retransmits), answered by the server's ACK of the old connection.
    for _ in 0..5 {
        c.syn(&mut tr, 1000);
        c.seg(&mut tr, 1, "A", &[]);
    }
    let p = tr.save("syn-same-isn.pcap");
    let recs = records(&p, &["--tcp-close-timeout", "5"]);
    let flows = of_type(&recs, "flow");
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!(flows[0]["src_syn"], 6, "{}", flows[0]);
    let http = of_type(&recs, "http");
    assert_eq!(http.len(), 1, "{http:#?}");

    // A new initial sequence number: a new connection, with its own
    // transaction.
    let mut tr = Trace::new();
    let mut c = Tcp::new(40000, 80);
    c.exchange(&mut tr, 1000, 5000);
    c.exchange(&mut tr, 777_777, 9000);
    let p = tr.save("syn-new-isn.pcap");
    let recs = records(&p, &["--tcp-close-timeout", "5"]);
    let flows = of_type(&recs, "flow");
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert_eq!(flows[0]["reason"], "reused", "{}", flows[0]);
    assert_answered(&recs, 2);

    // The same initial sequence number once the close is older than the
    // close timeout: a new connection too.
    let mut tr = Trace::new();
    let mut c = Tcp::new(40000, 80);
    c.exchange(&mut tr, 1000, 5000);
    tr.wait(3);
    c.exchange(&mut tr, 1000, 9000);
    let p = tr.save("syn-same-isn-late.pcap");
    let recs = records(&p, &["--tcp-close-timeout", "1"]);
    let flows = of_type(&recs, "flow");
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert_answered(&recs, 2);
}

/// Item 2: the server answers the handshake again with a new initial
/// sequence number; its response follows the latest one.
#[test]
fn a_synack_repeated_with_a_new_isn_keeps_the_response() {
    for request_first in [false, true] {
        let mut tr = Trace::new();
        let mut c = Tcp::new(40001, 80);
        c.handshake(&mut tr, 1000, 5000);
        if request_first {
            // The request went out after the first SYN-ACK.
            c.send(&mut tr, 0, GET);
            c.synack(&mut tr, 3000);
        } else {
            c.synack(&mut tr, 3000);
            c.seg(&mut tr, 0, "A", &[]);
            c.send(&mut tr, 0, GET);
        }
        c.send(&mut tr, 1, OK);
        c.close(&mut tr);
        let p = tr.save(&format!("synack-new-isn-{request_first}.pcap"));
        let recs = records(&p, &[]);
        let http = of_type(&recs, "http");
        assert_eq!(http.len(), 1, "{recs:#?}");
        assert_eq!(http[0]["status_code"], 200, "{}", http[0]);
        assert_eq!(http[0]["uri"], "/index.html", "{}", http[0]);
        for k in ["request_gap", "response_gap", "response_incomplete"] {
            assert!(http[0].get(k).is_none(), "{}", http[0]);
        }
    }
}

/// Item 3: RTSP and SIP share HTTP's methods but are not HTTP (HTTP/0.9 is
/// a method and a target with nothing after it); an HTTP/0.9 request still
/// is.
#[test]
fn rtsp_and_sip_are_not_http() {
    let mut tr = Trace::new();
    let rtsp = b"OPTIONS rtsp://cam.example/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n";
    let rtsp_ok = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP\r\n\r\n";
    let sip =
        b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let sip_ok = b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    // On their own ports (found by probing) and on HTTP's port.
    for (sport, dport, req, resp) in [
        (41000, 554, &rtsp[..], &rtsp_ok[..]),
        (41001, 80, rtsp, rtsp_ok),
        (41002, 5060, sip, sip_ok),
        (41003, 8080, sip, sip_ok),
    ] {
        let mut c = Tcp::new(sport, dport);
        c.handshake(&mut tr, 1000, 5000);
        c.send(&mut tr, 0, req);
        c.send(&mut tr, 1, resp);
        c.send(&mut tr, 0, req);
        c.send(&mut tr, 1, resp);
        c.close(&mut tr);
    }
    let mut c = Tcp::new(41004, 80);
    c.handshake(&mut tr, 1000, 5000);
    c.send(&mut tr, 0, b"GET /zeek.html\r\n");
    c.send(&mut tr, 1, b"<html>hello</html>\n");
    c.close(&mut tr);
    let p = tr.save("rtsp-sip.pcap");
    let recs = records(&p, &[]);
    assert_eq!(of_type(&recs, "flow").len(), 5);
    let http = of_type(&recs, "http");
    assert_eq!(http.len(), 1, "{http:#?}");
    assert_eq!(http[0]["uri"], "/zeek.html");
    assert_eq!(http[0]["version"], "0.9");
}

/// A DNS query for `name` (type A) with id `id`, or its answer with one
/// address.
fn dns_msg(id: u16, name: &str, answer: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(if answer { 0x8180u16 } else { 0x0100 }).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if answer {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    }
    m
}

/// Item 4: datagrams on a DNS port that are not DNS (DNSCrypt on 5353,
/// junk) are counted, not logged, and the flow stays DNS: a real query
/// after them is logged (suricata-verify's dns-udp-junkrequest-first).
#[test]
fn junk_on_a_dns_port_is_counted_not_logged() {
    let mut tr = Trace::new();
    let (c, s) = ((CLI, 40053), (SRV, 5353));
    // DNSCrypt: a query starts with the client magic (the first bytes of
    // the resolver's key: here they read as a response, opcode 13, no
    // question), then the key and nonce; the answer with the resolver's
    // magic.
    let mut q = b"\x27\x42\xea\x11\x00\x00\x9a\x11".to_vec();
    q.extend((0u8..80).map(|i| i.wrapping_mul(37)));
    tr.udp(c, s, &q);
    let mut r = b"r6fnvWj8".to_vec();
    r.extend((0u8..120).map(|i| i.wrapping_mul(91)));
    tr.udp(s, c, &r);
    // Junk with a plausible header but counts no datagram can hold.
    tr.udp(
        c,
        s,
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff",
    );
    tr.udp(c, s, &dns_msg(0x4242, "example.com", false));
    tr.udp(s, c, &dns_msg(0x4242, "example.com", true));
    let p = tr.save("dns-junk.pcap");
    let (recs, err) = replay_json(&p, &[]);
    let dns = of_type(&recs, "dns");
    assert_eq!(dns.len(), 1, "{dns:#?}");
    assert_eq!(dns[0]["query"], "example.com", "{}", dns[0]);
    assert_eq!(dns[0]["rcode_name"], "NOERROR", "{}", dns[0]);
    assert!(err.contains("\"dns_errors\":3"), "{err}");
}

/// Item 5: `--http-body-bytes` counts body bytes. A body of NUL bytes is
/// written in base64 (marked), whole up to the limit; a UTF-8 text body
/// stays text, cut on a character boundary.
#[test]
fn body_limit_counts_body_bytes() {
    let nul = vec![0u8; 2048];
    let mut text = "ü€".repeat(300).into_bytes(); // 5 bytes per repeat
    text.truncate(1500);
    let mut tr = Trace::new();
    for (port, body, ty) in [
        (42000, &nul, "application/octet-stream"),
        (42001, &text, "text/plain; charset=utf-8"),
    ] {
        let mut c = Tcp::new(port, 80);
        c.handshake(&mut tr, 1000, 5000);
        c.send(&mut tr, 0, GET);
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ty}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        resp.extend_from_slice(body);
        c.send(&mut tr, 1, &resp);
        c.close(&mut tr);
    }
    let p = tr.save("bodies.pcap");
    let b64 = |v: &Value| -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    for (limit, n) in [("1K", 1024usize), ("4K", 2048)] {
        let recs = records(&p, &["--http-body-bytes", limit]);
        let http = of_type(&recs, "http");
        assert_eq!(http.len(), 2, "{http:#?}");
        let h = http.iter().find(|h| h["src_port"] == 42000).unwrap();
        assert_eq!(h["response_body_encoding"], "base64", "{h}");
        assert_eq!(b64(&h["response_body"]), vec![0u8; n], "{h}");
        assert_eq!(h.get("response_body_truncated").is_some(), n < 2048, "{h}");
        let h = http.iter().find(|h| h["src_port"] == 42001).unwrap();
        assert!(h.get("response_body_encoding").is_none(), "{h}");
        let got = h["response_body"].as_str().unwrap().as_bytes();
        // The longest whole-character prefix within the limit.
        let k = (0..=n.min(text.len()))
            .rev()
            .find(|&k| std::str::from_utf8(&text[..k]).is_ok())
            .unwrap();
        let want = &text[..k];
        assert_eq!(got, want, "{h}");
    }
}

/// Item 6: an absolute-form target (as sent to a proxy): `path` is the
/// path, the host comes from the target unless a Host header says
/// otherwise, and a password in it never reaches the record.
#[test]
fn absolute_form_targets_give_path_and_host() {
    let mut tr = Trace::new();
    let mut c = Tcp::new(43000, 3128);
    c.handshake(&mut tr, 1000, 5000);
    let reqs: [&[u8]; 3] = [
        b"GET http://example.org/path/a?x=1 HTTP/1.1\r\nUser-Agent: t\r\n\r\n",
        b"GET HTTP://example.org:8080 HTTP/1.1\r\nHost: other.example\r\n\r\n",
        b"GET http://user:secret@example.net/p HTTP/1.1\r\n\r\n",
    ];
    for r in reqs {
        c.send(&mut tr, 0, r);
        c.send(&mut tr, 1, OK);
    }
    c.close(&mut tr);
    let p = tr.save("absolute-form.pcap");
    let recs = records(&p, &["--http-ports", "3128"]);
    let http = of_type(&recs, "http");
    assert_eq!(http.len(), 3, "{recs:#?}");
    let got: Vec<_> = http
        .iter()
        .map(|h| {
            (
                h["uri"].as_str().unwrap(),
                h["path"].as_str().unwrap(),
                h["host"].as_str().unwrap(),
                h["query"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "http://example.org/path/a?x=1",
                "/path/a",
                "example.org",
                Some("x=1")
            ),
            ("HTTP://example.org:8080", "/", "other.example", None),
            (
                "http://user:[redacted]@example.net/p",
                "/p",
                "example.net",
                None
            ),
        ]
    );
    assert!(!recs.iter().any(|r| r.to_string().contains("secret")));

    // A target longer than the logged part: what is logged is redacted
    // all the same.
    let long = format!(
        "GET /a?token=s3cr3t&pad={} HTTP/1.1\r\nHost: h\r\n\r\n",
        "x".repeat(3000)
    );
    let mut tr = Trace::new();
    conversation(&mut tr, 43001, 80, &[long.as_bytes(), OK]);
    let p = tr.save("long-target.pcap");
    for limit in ["2K", "64"] {
        let recs = records(&p, &["--http-uri-bytes", limit]);
        let h = of_type(&recs, "http");
        assert_eq!(h.len(), 1);
        assert!(
            h[0]["uri"]
                .as_str()
                .unwrap()
                .starts_with("/a?token=[redacted]"),
            "{}",
            h[0]
        );
        assert!(
            h[0]["query"]
                .as_str()
                .unwrap()
                .starts_with("token=[redacted]"),
            "{}",
            h[0]
        );
        assert_eq!(h[0]["uri_truncated"], true);
        assert!(!h[0].to_string().contains("s3cr3t"), "{}", h[0]);
    }
}

/// Item 7: a header line of binary junk loses only itself: the request
/// and response are logged with the headers that parsed, the bad line
/// flagged and counted.
#[test]
fn a_garbage_header_line_loses_only_itself() {
    let junk: Vec<u8> = (0..1800u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .map(|b| if b == b'\n' { 0 } else { b })
        .collect();
    let mut req = b"GET /a HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    req.extend_from_slice(&junk);
    req.extend_from_slice(b"\r\nUser-Agent: ua/1\r\n\r\n");
    let mut resp = b"HTTP/1.1 200 OK\r\n".to_vec();
    resp.extend_from_slice(&junk[..300]);
    resp.extend_from_slice(b"\r\nContent-Length: 5\r\n\r\nhello");
    let mut tr = Trace::new();
    conversation(&mut tr, 44000, 80, &[&req, &resp, GET, OK]);
    let p = tr.save("junk-header.pcap");
    let (recs, err) = replay_json(&p, &[]);
    let http = of_type(&recs, "http");
    assert_eq!(http.len(), 2, "{recs:#?}");
    let h = http[0];
    assert_eq!(
        (&h["uri"], &h["host"], &h["user_agent"], &h["status_code"]),
        (
            &Value::from("/a"),
            &Value::from("example.com"),
            &Value::from("ua/1"),
            &Value::from(200)
        ),
        "{h}"
    );
    assert_eq!(h["request_headers_malformed"], true, "{h}");
    assert_eq!(h["response_headers_malformed"], true, "{h}");
    assert_eq!(h["response_body_len"], 5, "{h}");
    assert_eq!(http[1]["status_code"], 200);
    assert!(err.contains("\"http_bad_header_lines\":2"), "{err}");
}

/// Item 8: a head larger than a stream buffer (10,000 headers, or one
/// header line of 1 MB) is logged: its first line and the headers that
/// fit, the rest counted and skipped unbuffered, and its framing still
/// read, so the body and the next transaction stay in step.
#[test]
fn a_head_larger_than_a_buffer_is_logged_not_lost() {
    let mut many = b"POST /many HTTP/1.1\r\nHost: example.com\r\n".to_vec();
    for i in 0..10_000 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    // The framing comes last.
    many.extend_from_slice(b"Content-Length: 4\r\n\r\nbody");
    let mut long = b"GET /long HTTP/1.1\r\nHost: example.com\r\nX-Pad: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 1 << 20));
    long.extend_from_slice(b"\r\nAccept: */*\r\n\r\n");
    let mut big_resp = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..10_000 {
        big_resp.extend_from_slice(format!("Y-{i}: w\r\n").as_bytes());
    }
    big_resp.extend_from_slice(b"Content-Length: 5\r\n\r\nhello");
    let mut tr = Trace::new();
    conversation(&mut tr, 45000, 80, &[&many, &big_resp, &long, OK, GET, OK]);
    let p = tr.save("huge-heads.pcap");
    let (recs, err) = replay_json(&p, &[]);
    let http = of_type(&recs, "http");
    let got: Vec<_> = http
        .iter()
        .map(|h| {
            (
                h["uri"].as_str(),
                h["status_code"].as_u64(),
                h["host"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some("/many"), Some(200), Some("example.com")),
            (Some("/long"), Some(200), Some("example.com")),
            (Some("/index.html"), Some(200), Some("example.com")),
        ],
        "{recs:#?}"
    );
    assert_eq!(http[0]["request_headers_truncated"], true);
    assert_eq!(http[0]["response_headers_truncated"], true);
    assert_eq!(http[0]["request_body_len"], 4);
    assert_eq!(http[0]["response_body_len"], 5);
    assert_eq!(http[1]["request_headers_truncated"], true);
    for h in &http {
        assert!(h.get("request_missing").is_none(), "{h}");
        assert!(h.get("request_gap").is_none(), "{h}");
    }
    assert!(err.contains("\"overflow\":0"), "{err}");
}

/// DNS wire-format pieces for the tests below.
fn dns_name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn dns_rr(owner: &str, ty: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut v = dns_name(owner);
    v.extend_from_slice(&ty.to_be_bytes());
    v.extend_from_slice(&class.to_be_bytes());
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

/// A message: id, flags, the question (if any), then the sections.
fn dns_message(id: u16, flags: u16, q: Option<(&str, u16)>, sections: [&[Vec<u8>]; 3]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&u16::from(q.is_some()).to_be_bytes());
    for s in sections {
        m.extend_from_slice(&(s.len() as u16).to_be_bytes());
    }
    if let Some((name, ty)) = q {
        m.extend(dns_name(name));
        m.extend_from_slice(&ty.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    for s in sections {
        for r in s {
            m.extend_from_slice(r);
        }
    }
    m
}

fn soa(zone: &str, serial: u32) -> Vec<u8> {
    let mut d = dns_name(&format!("ns1.{zone}"));
    d.extend(dns_name(&format!("admin.{zone}")));
    for v in [serial, 3600, 600, 86400, 300] {
        d.extend_from_slice(&v.to_be_bytes());
    }
    dns_rr(zone, 6, 1, 3600, &d)
}

/// Item 9: every answer's owner, type, TTL and data; the authority and
/// additional sections themselves; the EDNS extended rcode.
#[test]
fn dns_records_carry_every_section() {
    let answers = [
        dns_rr("www.example.com", 5, 1, 300, &dns_name("web.example.net")),
        dns_rr("web.example.net", 1, 1, 60, &[192, 0, 2, 7]),
    ];
    let authority = [dns_rr(
        "example.net",
        2,
        1,
        86400,
        &dns_name("ns1.example.net"),
    )];
    // Glue, and OPT: UDP size 1232, extended rcode bits 1 (with the
    // header's 0: BADVERS, 16), version 0, DO set.
    let mut opt = vec![0];
    opt.extend_from_slice(&41u16.to_be_bytes());
    opt.extend_from_slice(&1232u16.to_be_bytes());
    opt.extend_from_slice(&0x0100_8000u32.to_be_bytes());
    opt.extend_from_slice(&0u16.to_be_bytes());
    let additional = [
        dns_rr("ns1.example.net", 1, 1, 86400, &[198, 51, 100, 1]),
        opt,
    ];
    let q = dns_message(7, 0x0100, Some(("www.example.com", 1)), [&[], &[], &[]]);
    let r = dns_message(
        7,
        0x8180,
        Some(("www.example.com", 1)),
        [&answers, &authority, &additional],
    );
    let mut tr = Trace::new();
    tr.udp((CLI, 40000), (SRV, 53), &q);
    tr.udp((SRV, 53), (CLI, 40000), &r);
    let p = tr.save("dns-sections.pcap");
    let recs = records(&p, &[]);
    let d = of_type(&recs, "dns");
    assert_eq!(d.len(), 1, "{recs:#?}");
    let d = d[0];
    assert_eq!(
        d["answer_records"],
        serde_json::json!([
            {"name": "www.example.com", "type": "CNAME", "ttl": 300, "data": "web.example.net"},
            {"name": "web.example.net", "type": "A", "ttl": 60, "data": "192.0.2.7"},
        ]),
        "{d}"
    );
    assert_eq!(
        d["authority_records"],
        serde_json::json!([{"name": "example.net", "type": "NS", "ttl": 86400, "data": "ns1.example.net"}]),
        "{d}"
    );
    assert_eq!(
        d["additional_records"],
        serde_json::json!([{"name": "ns1.example.net", "type": "A", "ttl": 86400, "data": "198.51.100.1"}]),
        "{d}"
    );
    assert_eq!(d["edns"]["extended_rcode"], 1, "{d}");
    assert_eq!(
        (&d["rcode"], &d["rcode_name"]),
        (&Value::from(16), &Value::from("BADVERS")),
        "{d}"
    );
    // The Zeek-like lists stay.
    assert_eq!(
        d["answers"],
        serde_json::json!(["web.example.net", "192.0.2.7"])
    );
}

/// Item 9: an AXFR over TCP in three messages: each logged with the zone
/// as its query, its records, its part number, and the last one closing.
#[test]
fn an_axfr_logs_the_zone() {
    let zone = "zone.example";
    let a = |n: &str, last: u8| dns_rr(&format!("{n}.{zone}"), 1, 1, 300, &[192, 0, 2, last]);
    let msgs = [
        dns_message(
            9,
            0x8400,
            Some((zone, 252)),
            [&[soa(zone, 7), a("a", 1)], &[], &[]],
        ),
        dns_message(9, 0x8400, None, [&[a("b", 2), a("c", 3)], &[], &[]]),
        dns_message(9, 0x8400, None, [&[a("d", 4), soa(zone, 7)], &[], &[]]),
    ];
    let framed = |m: &[u8]| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    };
    let mut tr = Trace::new();
    let mut c = Tcp::new(40100, 53);
    c.handshake(&mut tr, 1000, 5000);
    c.send(
        &mut tr,
        0,
        &framed(&dns_message(9, 0, Some((zone, 252)), [&[], &[], &[]])),
    );
    for m in &msgs {
        c.send(&mut tr, 1, &framed(m));
    }
    c.close(&mut tr);
    let p = tr.save("axfr.pcap");
    let recs = records(&p, &[]);
    let d = of_type(&recs, "dns");
    assert_eq!(d.len(), 3, "{recs:#?}");
    let names: Vec<Vec<&str>> = d
        .iter()
        .map(|r| {
            assert_eq!(r["query"], zone, "{r}");
            assert_eq!(r["qtype_name"], "AXFR", "{r}");
            assert!(r.get("query_missing").is_none(), "{r}");
            r["answer_records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["name"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [
            vec![zone, "a.zone.example"],
            vec!["b.zone.example", "c.zone.example"],
            vec!["d.zone.example", zone],
        ]
    );
    let parts: Vec<_> = d
        .iter()
        .map(|r| (r["axfr_part"].clone(), r.get("axfr_done").cloned()))
        .collect();
    assert_eq!(
        parts,
        [
            (Value::from(1), None),
            (Value::from(2), None),
            (Value::from(3), Some(Value::from(true))),
        ]
    );
}

/// Item 10: Basic authentication's user (never the password), each
/// message's bytes on the wire, client-address headers from a list, and
/// bodies captured only for the listed content types.
#[test]
fn http_users_wire_bytes_client_headers_and_body_types() {
    let req1 = b"POST /api HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjE6czNjcmV0\r\nX-Real-IP: 203.0.113.9\r\nCF-Connecting-IP: 198.51.100.4\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"one\"}";
    let resp1 = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let req2 = b"GET /p HTTP/1.1\r\nHost: h\r\nProxy-Authorization: basic YWxpY2U6b3BlbiBzZXNhbWU=\r\n\r\n";
    let resp2 = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}";
    let mut tr = Trace::new();
    conversation(&mut tr, 46000, 80, &[req1, resp1, req2, resp2]);
    let p = tr.save("http-gaps.pcap");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--http-body-bytes",
            "1K",
            "--http-body-types",
            "application/json",
        ];
        args.extend_from_slice(extra);
        let recs = records(&p, &args);
        assert!(!recs.iter().any(|r| {
            let s = r.to_string();
            s.contains("s3cret") || s.contains("sesame")
        }));
        of_type(&recs, "http")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    let http = run(&[]);
    assert_eq!(http.len(), 2);
    let (a, b) = (&http[0], &http[1]);
    assert_eq!(a["username"], "user1", "{a}");
    assert_eq!(b["proxy_username"], "alice", "{b}");
    assert_eq!(a["orig_client"], "203.0.113.9", "{a}");
    assert_eq!(a["request_bytes"], req1.len(), "{a}");
    assert_eq!(a["response_bytes"], resp1.len(), "{a}");
    assert_eq!(a["response_body_len"], 11, "{a}");
    assert_eq!(b["request_bytes"], req2.len(), "{b}");
    assert_eq!(b["response_bytes"], resp2.len(), "{b}");
    // JSON bodies kept, the HTML one not.
    assert_eq!(a["request_body"], "{\"a\":\"one\"}", "{a}");
    assert!(a.get("response_body").is_none(), "{a}");
    assert_eq!(b["response_body"], "{}", "{b}");
    let http = run(&["--http-client-ip-headers", "CF-Connecting-IP,X-Real-IP"]);
    assert_eq!(http[0]["orig_client"], "198.51.100.4");
    let err = common::refused(["replay", "--http-body-types", "json", p.to_str().unwrap()]);
    assert!(err.contains("--http-body-types"), "{err}");
}

/// The conversations tshark (a decoder we did not write) finds in `trace`:
/// the innermost addresses and ports of every frame, ends sorted.
fn tshark_conversations(trace: &Path) -> std::collections::BTreeSet<String> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(trace)
        .args(["-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
        ])
        .args(["-e", "udp.srcport", "-e", "udp.dstport"])
        .output()
        .expect("tshark is required (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = |f: &str| f.rsplit(',').next().unwrap_or("").to_string();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            // Inner TCP: its ports; inner UDP: the last UDP ports (the
            // outer UDP header of the tunnel comes first).
            let (sp, dp) = if f[2].is_empty() {
                (last(f[4]), last(f[5]))
            } else {
                (f[2].to_string(), f[3].to_string())
            };
            let mut ends = [
                format!("{}:{sp}", last(f[0])),
                format!("{}:{dp}", last(f[1])),
            ];
            ends.sort();
            ends.join(" ")
        })
        .collect()
}

/// wirelog's flows of `recs` the way [`tshark_conversations`] writes them.
fn flow_conversations(recs: &[Value]) -> std::collections::BTreeSet<String> {
    of_type(recs, "flow")
        .iter()
        .map(|r| {
            let end = |a: &str| {
                format!(
                    "{}:{}",
                    r[format!("{a}_ip")].as_str().unwrap(),
                    r[format!("{a}_port")]
                )
            };
            let mut ends = [end("src"), end("dst")];
            ends.sort();
            ends.join(" ")
        })
        .collect()
}

/// Item 11: GTP-U and VXLAN-GPE captures made by the generator give the
/// flows of the same capture unencapsulated, and the inner conversations
/// tshark reads from them.
#[test]
fn gtpu_and_vxlan_gpe_are_decapsulated() {
    let dir = common::TempDir::new("wirelog-encap");
    let gen = |encap: &str| {
        let p = dir.0.join(format!("enterprise-{encap}.pcap"));
        let args = ["--gen", "enterprise", "--flows", "300", "--packets", "4000"];
        let _ = common::bench_pcap(&p, &[&args[..], &["--encap", encap]].concat());
        p
    };
    let flows = |recs: &[Value]| {
        let mut v: Vec<String> = of_type(recs, "flow")
            .iter()
            .map(|r| {
                let k = [
                    "src_ip",
                    "src_port",
                    "dst_ip",
                    "dst_port",
                    "proto",
                    "src_pkts",
                    "dst_pkts",
                    "src_bytes",
                    "dst_bytes",
                    "conn_state",
                ];
                k.iter()
                    .map(|f| r[*f].to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let plain = records(&gen("none"), &[]);
    assert!(of_type(&plain, "flow").len() > 250);
    for (encap, name) in [("gtpu", "gtpu"), ("vxlan-gpe", "vxlan-gpe")] {
        let p = gen(encap);
        let (recs, err) = replay_json(&p, &[]);
        assert_eq!(flows(&recs), flows(&plain), "{encap}");
        assert!(
            of_type(&recs, "flow")
                .iter()
                .all(|r| r["tunnel_type"] == name),
            "{encap}"
        );
        assert!(!err.contains("\"malformed\":{\""), "{encap}: {err}");
        assert_eq!(
            flow_conversations(&recs),
            tshark_conversations(&p),
            "{encap}"
        );
        // The application records are the same too.
        assert_eq!(
            of_type(&recs, "http").len(),
            of_type(&plain, "http").len(),
            "{encap}"
        );
        assert_eq!(
            of_type(&recs, "dns").len(),
            of_type(&plain, "dns").len(),
            "{encap}"
        );
    }
}

/// Item 11: a link type wirelog does not read is named on stderr at its
/// first frame and in the summary; PPP, Cisco HDLC and NFLOG are read, with
/// the conversations tshark finds.
#[test]
fn link_types_are_read_or_named() {
    let mut tcp = Trace::new();
    let mut c = Tcp::new(47000, 80);
    c.exchange(&mut tcp, 1000, 5000);
    // The same IP packets behind other link layers.
    let ip_packets: Vec<(u64, Vec<u8>)> = {
        let mut v = Vec::new();
        let b = &tcp.bytes[24..];
        let mut at = 0;
        while at + 16 <= b.len() {
            let sec = u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()));
            let us = u64::from(u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()));
            let n = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
            v.push((
                sec * 1_000_000_000 + us * 1000,
                b[at + 16 + 14..at + 16 + n].to_vec(),
            ));
            at += 16 + n;
        }
        v
    };
    let with_link = |link: u32, wrap: &dyn Fn(&[u8]) -> Vec<u8>, name: &str| {
        let mut bytes = Vec::new();
        pcap::write_header(&mut bytes, LinkType::from_pcap(link), 65535);
        for (ts, ip) in &ip_packets {
            let f = wrap(ip);
            pcap::write_record(&mut bytes, *ts, &f, f.len() as u32);
        }
        Saved::write(name, &bytes)
    };
    let ppp = with_link(
        9,
        &|ip| [&[0xff, 0x03, 0x00, 0x21][..], ip].concat(),
        "ppp.pcap",
    );
    let chdlc = with_link(
        104,
        &|ip| [&[0x0f, 0x00, 0x08, 0x00][..], ip].concat(),
        "chdlc.pcap",
    );
    let nflog = with_link(
        239,
        &|ip| {
            // Header, a prefix TLV (padded), then the payload TLV.
            let mut f = vec![2, 0, 0, 1];
            f.extend_from_slice(&[8, 0, 10, 0]);
            f.extend_from_slice(b"fw\0\0");
            f.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
            f.extend_from_slice(&9u16.to_le_bytes());
            f.extend_from_slice(ip);
            f
        },
        "nflog.pcap",
    );
    for p in [&ppp, &chdlc, &nflog] {
        let recs = records(p, &[]);
        assert_eq!(
            of_type(&recs, "flow").len(),
            1,
            "{}: {recs:#?}",
            p.display()
        );
        assert_eq!(of_type(&recs, "http").len(), 1, "{}", p.display());
        assert_eq!(
            flow_conversations(&recs),
            tshark_conversations(p),
            "{}",
            p.display()
        );
    }
    let radiotap = with_link(
        127,
        &|ip| [&[0u8, 0, 8, 0, 0, 0, 0, 0][..], ip].concat(),
        "radiotap.pcap",
    );
    let (recs, err) = replay_json(&radiotap, &[]);
    assert!(recs.is_empty(), "{recs:?}");
    let said = "frames of link type 127 (IEEE 802.11 with radiotap) are not decoded";
    assert!(err.contains(said), "{err}");
    assert!(
        err.contains("\"not_decoded\":[\"link type 127 (IEEE 802.11 with radiotap)"),
        "{err}"
    );
    // A tunnel carrying what is not decoded (Aruba's 802.11 in GRE).
    let mut tr = Trace::new();
    let mut gre = vec![0, 0, 0x88, 0xbb];
    gre.extend_from_slice(&[0u8; 40]);
    let mut f = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(CLI, SRV, 64)
        .write(&mut f, etherparse::IpNumber(47), &gre)
        .unwrap();
    tr.frame(&f);
    let (_, err) = replay_json(&tr.save("aruba.pcap"), &[]);
    assert!(
        err.contains("gre carrying protocol 0x88bb is not decoded"),
        "{err}"
    );
}

/// A form body whose Content-Type comes after more headers than are kept
/// (200, or a head larger than a stream buffer) is still known as a form:
/// its secrets are redacted and its length frames it.
#[test]
fn form_bodies_after_many_headers_are_redacted() {
    let body = b"password=hunter2&user=bob";
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    for (n, pad) in [(200, 1), (3000, 40)] {
        let mut r = b"POST /login HTTP/1.1\r\nHost: h\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(pad)).as_bytes());
        }
        r.extend_from_slice(b"Content-Type: application/x-www-form-urlencoded\r\n");
        r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        r.extend_from_slice(body);
        msgs.push(r);
        msgs.push(OK.to_vec());
    }
    let refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
    let mut tr = Trace::new();
    conversation(&mut tr, 48000, 80, &refs);
    let p = tr.save("many-headers-form.pcap");
    let recs = records(&p, &["--http-body-bytes", "1K"]);
    let http = of_type(&recs, "http");
    assert_eq!(http.len(), 2, "{recs:#?}");
    for h in http {
        assert_eq!(h["request_body"], "password=[redacted]&user=bob", "{h}");
        assert_eq!(h["request_body_len"], body.len(), "{h}");
        assert_eq!(h["status_code"], 200, "{h}");
        assert_eq!(h["request_headers_truncated"], true, "{h}");
    }
}

// ---------------------------------------------------------------- TLS JA4

/// `body` behind a big-endian length of `w` bytes.
fn prefixed(w: usize, body: &[u8]) -> Vec<u8> {
    let mut v = body.len().to_be_bytes()[8 - w..].to_vec();
    v.extend_from_slice(body);
    v
}

fn be16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

/// An extension: its type and data.
type Ext = (u16, Vec<u8>);

/// A TLS record holding a ClientHello that offers `ciphers` and the
/// extensions `exts` (type, data) in that order.
fn hello_record(ciphers: &[u16], exts: &[Ext]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend([0x42; 32]);
    body.push(0);
    body.extend(prefixed(2, &be16s(ciphers)));
    body.extend([1, 0]);
    let e: Vec<u8> = exts
        .iter()
        .flat_map(|(t, d)| [t.to_be_bytes().to_vec(), prefixed(2, d)].concat())
        .collect();
    body.extend(prefixed(2, &e));
    let mut hs = vec![1];
    hs.extend(prefixed(3, &body));
    let mut rec = vec![22, 3, 1];
    rec.extend(prefixed(2, &hs));
    rec
}

/// JA4's corner cases in captures built here, fingerprinted by wirelog and
/// by scripts/ja4-tshark.py from tshark's dissection: GREASE in every
/// list, no SNI, no ALPN, an ALPN that is not alphanumeric, and a hello
/// across two TCP segments.
#[test]
fn ja4_corner_cases_match_tshark() {
    let sni = (
        0u16,
        prefixed(2, &[vec![0], prefixed(2, b"edge.example")].concat()),
    );
    let alpn = |p: &[u8]| (16u16, prefixed(2, &prefixed(1, p)));
    let groups = (10u16, prefixed(2, &be16s(&[0x3a3a, 0x001d, 0x0017])));
    let sigs = (13u16, prefixed(2, &be16s(&[0x4a4a, 0x0403, 0x0804])));
    let versions = (43u16, prefixed(1, &be16s(&[0x5a5a, 0x0304, 0x0303])));
    let ciphers = [0x0a0a, 0x1301, 0x1302, 0xc02f, 0x009c];
    let cases: Vec<(u16, Vec<Ext>)> = vec![
        // GREASE in every list, and as extensions first and last.
        (
            41001,
            vec![
                (0x1a1a, vec![]),
                sni.clone(),
                groups.clone(),
                sigs.clone(),
                alpn(b"h2"),
                versions.clone(),
                (0xfafa, vec![0]),
            ],
        ),
        (41002, vec![groups.clone(), sigs.clone(), alpn(b"http/1.1")]),
        (41003, vec![sni.clone(), groups.clone(), versions.clone()]),
        (
            41004,
            vec![sni.clone(), alpn(b"\xab\x01\xcd"), sigs.clone()],
        ),
        // A padding extension makes the hello span two segments.
        (
            41005,
            vec![sni.clone(), alpn(b"h2"), sigs.clone(), (21, vec![0; 2000])],
        ),
    ];
    let mut tr = Trace::new();
    for (port, exts) in &cases {
        conversation(&mut tr, *port, 443, &[&hello_record(&ciphers, exts)]);
    }
    let pcap = tr.save("ja4-corners.pcap");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ja4-tshark.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&*pcap)
        .output()
        .expect("python3 and tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ours = records(&pcap, &["--records", "tls", "--tls-ja4-raw", "true"]);
    for (port, _) in &cases {
        let t = theirs
            .iter()
            .find(|r| r["sport"] == *port)
            .unwrap_or_else(|| panic!("tshark saw no hello from port {port}"));
        let o = ours
            .iter()
            .find(|r| r["type"] == "tls" && r["src_port"] == *port)
            .unwrap_or_else(|| panic!("no tls record from port {port}: {ours:#?}"));
        for k in ["ja4", "ja4_r", "ja4_o", "ja4_ro"] {
            assert_eq!(o[k], t[k], "port {port} {k}");
        }
        assert_eq!(o["ja3"], t["ja3_hash"], "port {port} ja3");
    }
    assert_eq!(
        theirs.iter().find(|r| r["sport"] == 41005).unwrap()["reassembled"],
        true,
        "the last hello spans segments"
    );
}
