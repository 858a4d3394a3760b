//! The TLS analyzer through the whole application layer, on handshakes
//! built from the RFCs' message layouts: cut at every split point, across
//! records, resumed, retried, refused, handed over, hostile.

use serde_json::Value;

use super::parse::{self, ClientHello, Ja4Form, ServerHello, Text};
use crate::app::tests::{of, Conv};
use crate::app::AppConfig;

fn u16b(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

/// `body` behind a length of `w` bytes.
fn vec_of(w: usize, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut v = n.to_be_bytes()[8 - w..].to_vec();
    v.extend_from_slice(body);
    v
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut v = u16b(ty).to_vec();
    v.extend(vec_of(2, data));
    v
}

fn list16(vals: &[u16]) -> Vec<u8> {
    vals.iter().flat_map(|v| u16b(*v)).collect()
}

/// A handshake message.
fn hs(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend(vec_of(3, body));
    v
}

/// One record.
fn rec(ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, 3, 3];
    v.extend(vec_of(2, payload));
    v
}

/// What a ClientHello offers.
struct Offer {
    version: u16,
    ciphers: Vec<u16>,
    sni: Option<&'static str>,
    alpn: Vec<&'static [u8]>,
    versions: Vec<u16>,
    session_id: Vec<u8>,
    ticket: bool,
    extra: Vec<(u16, Vec<u8>)>,
}

impl Default for Offer {
    fn default() -> Self {
        Self {
            version: 0x0303,
            ciphers: vec![0x0a0a, 0x1301, 0x1302, 0xc02f, 0xc030, 0x009c],
            sni: Some("www.example.com"),
            alpn: vec![b"h2", b"http/1.1"],
            versions: vec![],
            session_id: vec![],
            ticket: false,
            extra: vec![],
        }
    }
}

impl Offer {
    fn tls13() -> Self {
        Self {
            versions: vec![0x1a1a, 0x0304, 0x0303],
            session_id: vec![7; 32],
            ..Self::default()
        }
    }

    /// The ClientHello's handshake message.
    fn message(&self) -> Vec<u8> {
        let mut b = u16b(self.version).to_vec();
        b.extend([0x11; 32]);
        b.extend(vec_of(1, &self.session_id));
        b.extend(vec_of(2, &list16(&self.ciphers)));
        b.extend([1, 0]);
        let mut e = ext(0x2a2a, &[]);
        if let Some(h) = self.sni {
            let mut n = vec![0];
            n.extend(vec_of(2, h.as_bytes()));
            e.extend(ext(0, &vec_of(2, &n)));
        }
        e.extend(ext(
            10,
            &vec_of(2, &list16(&[0x3a3a, 0x001d, 0x0017, 0x0018])),
        ));
        e.extend(ext(11, &vec_of(1, &[0])));
        e.extend(ext(13, &vec_of(2, &list16(&[0x0403, 0x0804, 0x0401]))));
        if !self.alpn.is_empty() {
            let l: Vec<u8> = self.alpn.iter().flat_map(|p| vec_of(1, p)).collect();
            e.extend(ext(16, &vec_of(2, &l)));
        }
        if self.ticket {
            e.extend(ext(35, &[9; 64]));
        }
        if !self.versions.is_empty() {
            e.extend(ext(43, &vec_of(1, &list16(&self.versions))));
        }
        for (t, d) in &self.extra {
            e.extend(ext(*t, d));
        }
        b.extend(vec_of(2, &e));
        hs(parse::CLIENT_HELLO, &b)
    }
}

/// A ServerHello's handshake message.
fn server_hello(version: u16, cipher: u16, session_id: &[u8], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut b = u16b(if version == 0x0304 { 0x0303 } else { version }).to_vec();
    b.extend([0x22; 32]);
    b.extend(vec_of(1, session_id));
    b.extend(u16b(cipher));
    b.push(0);
    let mut e = Vec::new();
    if version == 0x0304 {
        e.extend(ext(43, &u16b(0x0304)));
        e.extend(ext(
            51,
            &[0, 0x1d, 0, 32]
                .iter()
                .copied()
                .chain([5; 32])
                .collect::<Vec<_>>(),
        ));
    }
    for (t, d) in exts {
        e.extend(ext(*t, d));
    }
    b.extend(vec_of(2, &e));
    hs(parse::SERVER_HELLO, &b)
}

/// The records of `offer` answered by an abbreviated (resumed) TLS 1.2
/// handshake: a ServerHello echoing `sid`, then the server's
/// ChangeCipherSpec and Finished.
fn abbreviated(offer: &Offer, sid: &[u8], exts: &[(u16, Vec<u8>)], sport: u16) -> Vec<Value> {
    let mut sflight = rec(22, &server_hello(0x0303, 0xc02f, sid, exts));
    sflight.extend(rec(20, &[1]));
    sflight.extend(rec(22, &[0x55; 40]));
    let mut c = Conv::tcp(sport, 443);
    c.segment(0, &rec(22, &offer.message()))
        .segment(1, &sflight)
        .close();
    run(&c)
}

/// A HelloRetryRequest's handshake message (a ServerHello whose random
/// is RFC 8446's constant).
fn hello_retry() -> Vec<u8> {
    let mut b = u16b(0x0303).to_vec();
    b.extend(parse::HRR_RANDOM);
    b.extend(vec_of(1, &[7; 32]));
    b.extend(u16b(0x1301));
    b.push(0);
    b.extend(vec_of(2, &ext(43, &u16b(0x0304))));
    hs(parse::SERVER_HELLO, &b)
}

/// A self-signed certificate (openssl req -x509 -newkey ec -pkeyopt
/// ec_paramgen_curve:P-256 -subj /CN=www.example.com
/// -addext subjectAltName=DNS:www.example.com,DNS:example.com).
const CERT: &[u8] = include_bytes!("testdata/example.der");

fn certificate(certs: &[&[u8]]) -> Vec<u8> {
    let list: Vec<u8> = certs.iter().flat_map(|c| vec_of(3, c)).collect();
    hs(parse::CERTIFICATE, &vec_of(3, &list))
}

fn run(c: &Conv) -> Vec<Value> {
    of(&c.run_with(AppConfig::sized(4 << 20)), "tls")
}

/// The client's and server's bytes of a full TLS 1.2 handshake.
fn tls12() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let ch = rec(22, &Offer::default().message());
    let mut flight = server_hello(
        0x0303,
        0xc02f,
        &[3; 32],
        &[(16, vec_of(2, &vec_of(1, b"h2")))],
    );
    flight.extend(certificate(&[CERT, CERT]));
    flight.extend(hs(14, &[]));
    let sh = rec(22, &flight);
    let mut fin = rec(22, &hs(16, &[0; 66]));
    fin.extend(rec(20, &[1]));
    fin.extend(rec(22, &[0x44; 40]));
    let mut sfin = rec(20, &[1]);
    sfin.extend(rec(22, &[0x55; 40]));
    (ch, sh, fin, sfin)
}

/// The record of [`tls12`] sent whole, times removed: what every other
/// way of delivering it must give.
fn whole_tls12(sport: u16) -> Value {
    let (ch, sh, fin, sfin) = tls12();
    let mut c = Conv::tcp(sport, 443);
    c.segment(0, &ch)
        .segment(1, &sh)
        .segment(0, &fin)
        .segment(1, &sfin)
        .close();
    timeless(&run(&c)[0])
}

fn timeless(r: &Value) -> Value {
    let mut r = r.clone();
    let m = r.as_object_mut().unwrap();
    m.retain(|k, _| {
        !k.ends_with("_us") && k != "ts" && !k.contains("net_delay") && k != "cert_days_left"
    });
    r
}

#[test]
fn a_tls12_handshake_is_one_record() {
    let (ch, sh, fin, sfin) = tls12();
    let mut c = Conv::tcp(40000, 443);
    c.segment(0, &ch)
        .wait(1_000_000)
        .segment(1, &sh)
        .segment(0, &fin)
        .wait(2_000_000)
        .segment(1, &sfin)
        .segment(0, &rec(23, &[0x66; 100]))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    let t = &r[0];
    assert_eq!(t["sni"], "www.example.com");
    assert_eq!(t["version"], "TLSv12");
    assert_eq!(t["client_version"], "TLSv12");
    assert_eq!(t["cipher"], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(t["alpn"], "h2");
    assert_eq!(t["alpn_offered"], serde_json::json!(["h2", "http/1.1"]));
    assert_eq!(t["established"], true);
    // Each packet is a millisecond after the one before (Conv).
    assert_eq!(t["handshake_us"], 6000);
    assert_eq!(t["resumed"], false);
    assert_eq!(t["cert_chain_len"], 2);
    assert_eq!(t["cert_subject"], "CN=www.example.com");
    assert_eq!(t["sni_matches"], true);
    assert_eq!(
        t["cert_sans"],
        serde_json::json!(["www.example.com", "example.com"])
    );
    assert_eq!(t["cert_key_type"], "ec");
    assert_eq!(t["cert_key_bits"], 256);
    assert_eq!(t["ciphers"][0], 0x0a0a, "offered as sent, GREASE too");
    let ja4 = t["ja4"].as_str().unwrap();
    assert!(ja4.starts_with("t12d0505h2_"), "{ja4}");
    assert_eq!(ja4.len(), 36);
}

#[test]
fn every_split_point_gives_the_same_record() {
    let (ch, sh, fin, sfin) = tls12();
    let whole = whole_tls12(40001);
    for cut in 1..ch.len() {
        let mut c = Conv::tcp(40001, 443);
        c.send(0, &ch, &[cut])
            .segment(1, &sh)
            .segment(0, &fin)
            .segment(1, &sfin)
            .close();
        let r = run(&c);
        assert_eq!(r.len(), 1, "client hello cut at {cut}");
        assert_eq!(timeless(&r[0]), whole, "client hello cut at {cut}");
    }
    for cut in (1..sh.len()).step_by(7) {
        let mut c = Conv::tcp(40001, 443);
        c.segment(0, &ch)
            .send(1, &sh, &[cut, cut + 3])
            .segment(0, &fin)
            .segment(1, &sfin)
            .close();
        let r = run(&c);
        assert_eq!(timeless(&r[0]), whole, "server flight cut at {cut}");
    }
}

/// A hello and a certificate spread over several records (the record
/// layer may fragment any handshake message) read as in one.
#[test]
fn messages_across_records_are_gathered() {
    let (ch, sh, fin, sfin) = tls12();
    let whole = whole_tls12(40002);
    let refrag = |r: &[u8], size: usize| -> Vec<u8> {
        r[5..].chunks(size).flat_map(|p| rec(22, p)).collect()
    };
    for size in [1, 3, 50, 333] {
        let mut c = Conv::tcp(40002, 443);
        c.segment(0, &refrag(&ch, size))
            .segment(1, &refrag(&sh, size))
            .segment(0, &fin)
            .segment(1, &sfin)
            .close();
        let r = run(&c);
        assert_eq!(r.len(), 1, "records of {size}");
        assert_eq!(timeless(&r[0]), whole, "records of {size}");
    }
}

#[test]
fn a_tls13_handshake_measures_both_latencies() {
    let ch = rec(22, &Offer::tls13().message());
    let mut sflight = rec(22, &server_hello(0x0304, 0x1301, &[7; 32], &[]));
    sflight.extend(rec(20, &[1]));
    sflight.extend(rec(23, &[0x33; 500]));
    let mut cfin = rec(20, &[1]);
    cfin.extend(rec(23, &[0x44; 53]));
    let mut c = Conv::tcp(40003, 443);
    c.segment(0, &ch)
        .wait(1_000_000)
        .segment(1, &sflight)
        .wait(1_000_000)
        .segment(0, &cfin)
        .wait(500_000)
        .segment(0, &rec(23, &[0x55; 80]))
        .segment(1, &rec(23, &[0x66; 90]))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    let t = &r[0];
    assert_eq!(t["version"], "TLSv13");
    assert_eq!(
        t["client_versions"],
        serde_json::json!(["TLSv13", "TLSv12"])
    );
    assert_eq!(t["cipher"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(t["established"], true);
    // Each packet is a millisecond after the one before (Conv).
    assert_eq!(t["server_hello_us"], 2000);
    assert_eq!(t["handshake_us"], 5500);
    assert!(t["ja4"].as_str().unwrap().starts_with("t13d0506h2_"), "{t}");
    assert!(
        t.get("cert_subject").is_none(),
        "TLS 1.3 certificates are encrypted"
    );
}

#[test]
fn a_retry_and_a_psk_resumption_are_said() {
    let first = rec(22, &Offer::tls13().message());
    let hrr = rec(22, &hello_retry());
    let mut second = rec(20, &[1]);
    second.extend(rec(22, &Offer::tls13().message()));
    let sh = rec(
        22,
        &server_hello(0x0304, 0x1301, &[7; 32], &[(41, vec![0, 0])]),
    );
    let mut c = Conv::tcp(40004, 443);
    c.segment(0, &first)
        .segment(1, &hrr)
        .segment(0, &second)
        .segment(1, &sh)
        .segment(0, &rec(23, &[1; 40]))
        .segment(0, &rec(23, &[2; 40]))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["hello_retry"], true);
    assert_eq!(r[0]["resumed"], true);
    assert_eq!(r[0]["resumed_by"], "psk");
}

#[test]
fn tls12_resumptions_by_session_id_and_by_ticket() {
    let offer = Offer {
        session_id: vec![9; 32],
        ..Offer::default()
    };
    let r = abbreviated(&offer, &[9; 32], &[], 40005);
    assert_eq!(
        (&r[0]["resumed_by"], &r[0]["established"]),
        (&"session_id".into(), &true.into())
    );
    let offer = Offer {
        ticket: true,
        ..Offer::default()
    };
    let r = abbreviated(&offer, &[4; 32], &[(35, vec![])], 40006);
    assert_eq!(r[0]["resumed_by"], "ticket", "{r:#?}");
}

#[test]
fn a_refused_handshake_logs_its_alert() {
    let mut c = Conv::tcp(40007, 8443);
    c.segment(0, &rec(22, &Offer::default().message()))
        .segment(1, &rec(21, &[2, 40]))
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["established"], false);
    assert_eq!(
        (&r[0]["alert"], &r[0]["alert_level"], &r[0]["alert_from"]),
        (
            &"handshake_failure".into(),
            &"fatal".into(),
            &"server".into()
        )
    );
}

/// A proxy's CONNECT: HTTP logs the request, TLS the handshake that
/// follows in the tunnel, joined by the Community ID.
#[test]
fn http_connect_hands_the_tunnel_to_tls() {
    let (ch, sh, fin, sfin) = tls12();
    let mut c = Conv::tcp(40008, 3128);
    c.segment(
        0,
        b"CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n",
    )
    .segment(1, b"HTTP/1.1 200 Connection established\r\n\r\n")
    .segment(0, &ch)
    .segment(1, &sh)
    .segment(0, &fin)
    .segment(1, &sfin)
    .close();
    let all = c.run_with(AppConfig::sized(4 << 20));
    let (http, tls) = (of(&all, "http"), of(&all, "tls"));
    assert_eq!((http.len(), tls.len()), (1, 1), "{all:#?}");
    assert_eq!(http[0]["method"], "CONNECT");
    assert_eq!(tls[0]["upgraded_from"], "http");
    assert_eq!(tls[0]["community_id"], http[0]["community_id"]);
    assert_eq!(tls[0]["established"], true);
    assert_eq!(tls[0]["sni"], "www.example.com");
    // The server's answer and its first TLS bytes in one segment: the
    // bytes after the head are TLS's.
    let mut both = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    both.extend(&sh);
    let mut c = Conv::tcp(40009, 3128);
    c.segment(0, b"CONNECT www.example.com:443 HTTP/1.1\r\n\r\n")
        .segment(0, &ch)
        .segment(1, &both)
        .segment(0, &fin)
        .segment(1, &sfin)
        .close();
    let tls = of(&c.run_with(AppConfig::sized(4 << 20)), "tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["version"], "TLSv12", "{tls:#?}");
}

#[test]
fn a_gap_ends_the_handshake_with_what_was_seen() {
    let (ch, sh, ..) = tls12();
    let mut c = Conv::tcp(40010, 443);
    c.segment(0, &ch)
        .lose(1, 100)
        .segment(1, &sh[100..])
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["sni"], "www.example.com");
    assert_eq!(r[0]["established"], false);
}

/// Lengths that claim more than any buffer: passed over or refused,
/// counted, never sized from.
#[test]
fn hostile_lengths_are_bounded() {
    // A handshake message of 2^24 - 1 bytes in records of its own.
    let mut m = vec![parse::CLIENT_HELLO, 0xff, 0xff, 0xff];
    m.extend([0; 1000]);
    let mut c = Conv::tcp(40011, 443);
    c.segment(0, &rec(22, &m))
        .segment(0, &[0x17, 3, 3, 0xff])
        .close();
    let r = run(&c);
    assert!(r.is_empty(), "{r:#?}");
    // A record longer than the record layer allows: not TLS.
    let mut c = Conv::tcp(40012, 443);
    c.segment(0, &[22, 3, 1, 0xff, 0xff, 1, 0, 0, 50]).close();
    assert!(run(&c).is_empty());
    // 5,000 cipher suites: listed up to the bound, fingerprinted not.
    let offer = Offer {
        ciphers: (1..=5000).collect(),
        ..Offer::default()
    };
    let mut c = Conv::tcp(40013, 443);
    c.segment(0, &rec(22, &offer.message())).close();
    let r = run(&c);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["ciphers"].as_array().unwrap().len(), 128);
    assert!(r[0].get("ja4").is_none(), "more suites than JA4 sorts");
    assert!(r[0]["ja3"].is_string());
}

/// JA4 edge cases by the specification: GREASE everywhere, no SNI, no
/// ALPN, an ALPN that is not alphanumeric.
#[test]
fn ja4_by_the_specification() {
    let ja4 = |o: &Offer, form| {
        let m = o.message();
        let ch = ClientHello::parse(&m[4..]).unwrap();
        let mut t = Text::<2048>::default();
        assert!(parse::ja4(&ch, form, &mut t));
        String::from_utf8(t.as_bytes().to_vec()).unwrap()
    };
    let o = Offer {
        sni: None,
        alpn: vec![],
        ..Offer::default()
    };
    // 5 suites and 5 extensions once GREASE is out.
    assert_eq!(
        ja4(&o, Ja4Form::Raw),
        "t12i050300_009c,1301,1302,c02f,c030_000a,000b,000d_0403,0804,0401"
    );
    let o = Offer {
        alpn: vec![b"\xab\x01\xcd"],
        ..Offer::default()
    };
    assert!(ja4(&o, Ja4Form::Hashed).starts_with("t12d0505ad_"));
    // The original order keeps SNI and ALPN and does not sort.
    let o = Offer::default();
    let ro = ja4(&o, Ja4Form::RawOriginal);
    assert!(
        ro.contains("_1301,1302,c02f,c030,009c_0000,000a,000b,000d,0010_"),
        "{ro}"
    );
    assert!(parse::grease(0x0a0a) && parse::grease(0xfafa) && !parse::grease(0x0a0b));
}

/// A certificate larger than any buffer (the corpus has one of 340 KB)
/// in full-size records: passed over, counted, and the handshake
/// followed to its end.
#[test]
fn a_huge_certificate_is_passed_over() {
    let huge = vec![0x30; 100_000];
    let mut flight = server_hello(0x0303, 0xc02f, &[3; 32], &[]);
    flight.extend(certificate(&[&huge, CERT]));
    flight.extend(hs(14, &[]));
    let sh: Vec<u8> = flight.chunks(16384).flat_map(|p| rec(22, p)).collect();
    let (ch, _, fin, sfin) = tls12();
    let mut c = Conv::tcp(40014, 443);
    c.segment(0, &ch)
        .send(1, &sh, &(1..80).map(|k| k * 1448).collect::<Vec<_>>())
        .segment(0, &fin)
        .segment(1, &sfin)
        .close();
    let r = run(&c);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["established"], true, "{r:#?}");
    assert_eq!(r[0]["cert_chain_len"], 2);
    assert!(r[0].get("cert_subject").is_none());
}

/// What the testbed's clients found (scripts/tls-driver.py): OpenSSL
/// resumes a ticket with the session id it sends beside it echoed; a
/// TLS 1.3 alert after the ServerHello is in the clear; a
/// HelloRetryRequest comes with a middlebox ChangeCipherSpec.
#[test]
fn openssl_resumption_alerts_and_retries() {
    let offer = Offer {
        ticket: true,
        session_id: vec![9; 32],
        ..Offer::default()
    };
    let r = abbreviated(&offer, &[9; 32], &[(35, vec![])], 40015);
    assert_eq!(r[0]["resumed_by"], "ticket");

    let mut c = Conv::tcp(40016, 443);
    c.segment(0, &rec(22, &Offer::tls13().message()))
        .segment(1, &rec(22, &server_hello(0x0304, 0x1301, &[7; 32], &[])))
        .segment(1, &rec(23, &[0x33; 500]))
        .segment(0, &rec(21, &[2, 48]))
        .close();
    let r = run(&c);
    assert_eq!(
        (&r[0]["alert"], &r[0]["alert_from"], &r[0]["established"]),
        (&"unknown_ca".into(), &"client".into(), &false.into()),
        "{r:#?}"
    );

    // The middlebox ChangeCipherSpec comes right after it.
    let mut hrr = rec(22, &hello_retry());
    hrr.extend(rec(20, &[1]));
    let mut second = rec(20, &[1]);
    second.extend(rec(22, &Offer::tls13().message()));
    let mut sh = rec(22, &server_hello(0x0304, 0x1302, &[7; 32], &[]));
    sh.extend(rec(23, &[0x33; 300]));
    let mut c = Conv::tcp(40017, 443);
    c.segment(0, &rec(22, &Offer::tls13().message()))
        .segment(1, &hrr)
        .segment(0, &second)
        .segment(1, &sh)
        .segment(0, &rec(23, &[1; 40]))
        .segment(0, &rec(23, &[2; 40]))
        .close();
    let r = run(&c);
    assert_eq!(
        (&r[0]["version"], &r[0]["cipher"], &r[0]["hello_retry"]),
        (
            &"TLSv13".into(),
            &"TLS_AES_256_GCM_SHA384".into(),
            &true.into()
        ),
        "{r:#?}"
    );
    assert!(r[0]["server_hello_us"].is_u64() && r[0]["handshake_us"].is_u64());
}

/// The test analyzer hands its connection to TLS (as PostgreSQL's
/// SSLRequest answered `S` will): one tls record, joined to the first
/// protocol's by the Community ID and saying where it came from.
#[test]
fn the_test_analyzer_hands_its_connection_to_tls() {
    let (ch, sh, fin, sfin) = tls12();
    let a = crate::app::tests::template_on(7777);
    let mut c = Conv::tcp(40020, 7777);
    c.segment(0, b"UPGRADE tls\r\n")
        .segment(1, b"OK\r\n")
        .segment(0, &ch)
        .segment(1, &sh)
        .segment(0, &fin)
        .segment(1, &sfin)
        .close();
    let all = c.run_with(a);
    let (line, tls) = (of(&all, "line"), of(&all, "tls"));
    assert_eq!((line.len(), tls.len()), (1, 1), "{all:#?}");
    assert_eq!(tls[0]["upgraded_from"], "line");
    assert_eq!(tls[0]["community_id"], line[0]["community_id"]);
    assert_eq!(tls[0]["established"], true);
    assert_eq!(tls[0]["cert_subject"], "CN=www.example.com");
}

/// A TCP direction: source address and port, destination address and port.
type Direction = (Vec<u8>, u16, Vec<u8>, u16);

/// Every ClientHello and ServerHello of the corpus's TLS traces read by
/// wirelog's parser and by tls-parser (rusticata's, a dev-dependency):
/// versions, suites, session ids, extension blocks and types, SNI and
/// ALPN must agree wherever both read a hello.
#[test]
fn hellos_agree_with_tls_parser_on_the_corpus() {
    use crate::capture::pcap::PcapReader;
    use crate::capture::{Batch, Capture, Poll};
    use crate::decode::{DecodeConfig, Decoded, Decoder, Outcome};
    use std::collections::BTreeMap;
    use tls_parser::{TlsExtension, TlsExtensionType, TlsMessage, TlsMessageHandshake};

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/");
    let list = include_str!("../../../../sensor/tests/tls-traces.tsv");
    let (mut compared, mut traces) = (0, 0);
    for file in list
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap())
    {
        let Ok(mut r) = PcapReader::open(format!("{root}{file}")) else {
            continue;
        };
        traces += 1;
        // Each direction's segments by sequence number, first seen kept.
        let mut flows: BTreeMap<Direction, BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
        let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
        let mut batch = Batch::with_capacity(64);
        while let Ok(p) = r.next_batch(&mut batch) {
            for f in batch.frames() {
                let frame = r.frame(f);
                let mut d = Decoded::EMPTY;
                if dec.decode(frame, f.link, f.ts_ns, &mut d) == Outcome::Packet && d.proto == 6 {
                    let pay = dec.payload(frame, &d.payload);
                    if !pay.is_empty() {
                        let key = (d.src.to_vec(), d.sport, d.dst.to_vec(), d.dport);
                        flows
                            .entry(key)
                            .or_default()
                            .entry(d.seq)
                            .or_insert_with(|| pay.to_vec());
                    }
                }
            }
            dec.end_batch();
            if p == Poll::End {
                break;
            }
        }
        for segs in flows.values() {
            // The bytes in order from the first segment, up to a hole.
            let mut stream = Vec::new();
            let mut next: Option<u32> = None;
            for (&seq, b) in segs {
                let at = next.unwrap_or(seq);
                let skip = at.wrapping_sub(seq) as usize;
                if seq.wrapping_sub(at) as i32 > 0 {
                    break;
                }
                if skip < b.len() {
                    stream.extend_from_slice(&b[skip..]);
                    next = Some(seq.wrapping_add(b.len() as u32));
                }
            }
            // Every record that starts a hello, wherever it is (STARTTLS
            // streams start later).
            for at in 0..stream.len().saturating_sub(9) {
                let s = &stream[at..];
                let Ok(Some(h)) = parse::record_header(s) else {
                    continue;
                };
                if h.ty != parse::HANDSHAKE || !matches!(s[5], 1 | 2) || s.len() < 5 + h.len {
                    continue;
                }
                let body_len = u32::from_be_bytes([0, s[6], s[7], s[8]]) as usize;
                let Some(body) = s.get(9..9 + body_len).filter(|_| 4 + body_len <= h.len) else {
                    continue;
                };
                let Ok((_, theirs)) = tls_parser::parse_tls_plaintext(&s[..5 + h.len]) else {
                    continue;
                };
                let Some(TlsMessage::Handshake(m)) = theirs.msg.first() else {
                    continue;
                };
                let at_str = format!("{file} @{at}");
                match m {
                    TlsMessageHandshake::ClientHello(t) => {
                        let o = ClientHello::parse(body).unwrap_or_else(|| {
                            panic!("{at_str}: ours refuses a hello tls-parser reads")
                        });
                        assert_eq!(o.version, t.version.0, "{at_str}");
                        let ciphers: Vec<u16> = t.ciphers.iter().map(|c| c.0).collect();
                        assert_eq!(
                            parse::u16s(o.ciphers).collect::<Vec<_>>(),
                            ciphers,
                            "{at_str}"
                        );
                        assert_eq!(o.session_id, t.session_id.unwrap_or_default(), "{at_str}");
                        assert_eq!(o.exts, t.ext.unwrap_or_default(), "{at_str}");
                        if let Ok((_, exts)) = tls_parser::parse_tls_client_hello_extensions(o.exts)
                        {
                            // tls-parser names every GREASE extension 0xfafa.
                            let g = |t: u16| if parse::grease(t) { 0xfafa } else { t };
                            let types: Vec<u16> = exts
                                .iter()
                                .map(|e| g(TlsExtensionType::from(e).0))
                                .collect();
                            assert_eq!(
                                o.exts().map(|e| g(e.0)).collect::<Vec<_>>(),
                                types,
                                "{at_str}"
                            );
                            for e in &exts {
                                match e {
                                    TlsExtension::SNI(names) => {
                                        let host = names.iter().find(|n| n.0 .0 == 0).map(|n| n.1);
                                        assert_eq!(o.sni(), host, "{at_str}");
                                    }
                                    TlsExtension::ALPN(protos) => {
                                        assert_eq!(
                                            o.alpn().collect::<Vec<_>>(),
                                            *protos,
                                            "{at_str}"
                                        );
                                    }
                                    _ => {}
                                }
                            }
                        }
                        compared += 1;
                    }
                    TlsMessageHandshake::ServerHello(t) => {
                        let o = ServerHello::parse(body).unwrap_or_else(|| {
                            panic!("{at_str}: ours refuses a hello tls-parser reads")
                        });
                        assert_eq!((o.version, o.cipher), (t.version.0, t.cipher.0), "{at_str}");
                        assert_eq!(o.session_id, t.session_id.unwrap_or_default(), "{at_str}");
                        assert_eq!(o.exts, t.ext.unwrap_or_default(), "{at_str}");
                        compared += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(traces > 90, "{traces} traces read");
    assert!(compared > 250, "{compared} hellos compared");
    eprintln!("tls-parser: {compared} hellos of {traces} traces agree");
}

/// TLS 1.3 drafts before 22 name themselves in the ServerHello, which has
/// no session id and no compression method then (suricata-verify's
/// draft traces).
#[test]
fn an_early_draft_server_hello_is_read() {
    let offer = Offer {
        versions: vec![0x7f12, 0x0303],
        ..Offer::default()
    };
    let mut b = u16b(0x7f12).to_vec();
    b.extend([0x22; 32]);
    b.extend(u16b(0x1301));
    b.extend(vec_of(2, &ext(51, &[0, 0x1d, 0, 1, 5])));
    let mut sflight = rec(22, &hs(parse::SERVER_HELLO, &b));
    sflight.extend(rec(23, &[0x33; 200]));
    let mut c = Conv::tcp(40021, 443);
    c.segment(0, &rec(22, &offer.message()))
        .segment(1, &sflight)
        .segment(0, &rec(23, &[1; 40]))
        .segment(0, &rec(23, &[2; 40]))
        .close();
    let r = run(&c);
    assert_eq!(
        (&r[0]["version"], &r[0]["cipher"], &r[0]["established"]),
        (
            &"TLSv13-draft18".into(),
            &"TLS_AES_128_GCM_SHA256".into(),
            &true.into()
        ),
        "{r:#?}"
    );
}
