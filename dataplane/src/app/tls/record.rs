//! The `tls` record: one per handshake. The hellos' and certificates'
//! fields are written into the handshake's transaction buffer as they
//! come (each list and text bounded, so the buffer never fills), and the
//! record is written when the handshake is established, fails or ends.
//! docs/schema.md lists the fields.

use super::names;
use super::parse::{self, ClientHello, Ja4Form, Out, ServerHello, Text};
use super::state::{seen, Tls};
use super::x509;
use crate::app::Cx;
use crate::record::json::{cut, JsonWriter};
use crate::record::{FieldSink, RecordOut};

/// The most entries a list of the record keeps (the rest are counted in
/// the fingerprints, not listed).
const MAX_CIPHERS: usize = 128;
const MAX_EXTS: usize = 64;
const MAX_SMALL_LIST: usize = 32;
const MAX_ALPN: usize = 16;
const MAX_SANS: usize = 16;
/// Bytes of a text field (escaped) at most.
const TEXT: usize = 256;
/// Bytes of a raw JA4 form at most.
const RAW: usize = 2048;

/// Transaction buffer bytes of one handshake's fields. Without the raw
/// JA4 forms and the SAN list, the bounds above keep a handshake under
/// 8 KiB (both hellos and two certificates); those two are written only
/// while room is left, so the buffer never grows.
pub const FRAG_BYTES: usize = 16 * 1024;
/// Room kept, while the ClientHello's raw JA4 forms are written, for what
/// the ServerHello and the certificates write after them.
const LATER: usize = 6 * 1024;

/// The name of `v` (a TLS 1.3 draft as Zeek names it: `TLSv13-draft23`),
/// or its hex value.
fn version_text(v: u16) -> Text<16> {
    let mut t = Text::<16>::default();
    match names::version(v) {
        Some(n) => t.put(n.as_bytes()),
        None if v >> 8 == 0x7f => {
            let mut d = [0u8; 20];
            t.put(b"TLSv13-draft");
            t.put(crate::record::decimal(u64::from(v & 0xff), &mut d));
        }
        None => hex16(&mut t, v),
    }
    t
}

fn hex16(t: &mut impl Out, v: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = v.to_be_bytes();
    t.put(&[
        b'0',
        b'x',
        HEX[usize::from(b[0] >> 4)],
        HEX[usize::from(b[0] & 15)],
        HEX[usize::from(b[1] >> 4)],
        HEX[usize::from(b[1] & 15)],
    ]);
}

fn u16_list(w: &mut JsonWriter, key: &str, vals: impl Iterator<Item = u16>, max: usize) {
    w.begin_list(key);
    for v in vals.take(max) {
        w.u64("", u64::from(v));
    }
    w.end_list();
}

/// The ClientHello's fields.
pub fn client_hello<O: RecordOut>(t: &Tls, ch: &ClientHello<'_>, cx: &mut Cx<'_, O>) {
    let raw = cx.cfg.protos.tls.limits.ja4_raw;
    let Some(tb) = cx.txn.get(t.buf) else {
        return;
    };
    let cap = tb.frag.capacity();
    let mut w = JsonWriter::fragment(&mut tb.frag);
    w.text("client_version", version_text(ch.version).as_bytes());
    let versions = ch.versions().filter(|&v| !parse::grease(v));
    if versions.clone().next().is_some() {
        w.begin_list("client_versions");
        for v in versions.take(MAX_SMALL_LIST) {
            w.text("", version_text(v).as_bytes());
        }
        w.end_list();
    }
    if let Some(sni) = ch.sni() {
        w.text("sni", cut(sni, TEXT));
    }
    if ch.alpn().next().is_some() {
        w.begin_list("alpn_offered");
        for p in ch.alpn().take(MAX_ALPN) {
            w.text("", cut(p, 64));
        }
        w.end_list();
    }
    u16_list(&mut w, "ciphers", parse::u16s(ch.ciphers), MAX_CIPHERS);
    u16_list(&mut w, "extensions", ch.exts().map(|e| e.0), MAX_EXTS);
    let groups = ch.list(parse::EXT_SUPPORTED_GROUPS);
    if !groups.is_empty() {
        u16_list(&mut w, "groups", parse::u16s(groups), MAX_SMALL_LIST);
    }
    let sigs = ch.list(parse::EXT_SIGNATURE_ALGORITHMS);
    if !sigs.is_empty() {
        u16_list(&mut w, "sig_algs", parse::u16s(sigs), MAX_SMALL_LIST * 2);
    }
    let forms: &[(&str, Ja4Form)] = if raw {
        &[
            ("ja4", Ja4Form::Hashed),
            ("ja4_r", Ja4Form::Raw),
            ("ja4_o", Ja4Form::Original),
            ("ja4_ro", Ja4Form::RawOriginal),
        ]
    } else {
        &[("ja4", Ja4Form::Hashed)]
    };
    for &(key, form) in forms {
        let mut text = Text::<RAW>::default();
        // The raw forms are long: each is written only while the buffer
        // keeps room for everything after it (the buffer never grows).
        if parse::ja4(ch, form, &mut text) && w.len() + text.as_bytes().len() + 16 + LATER <= cap {
            w.text(key, text.as_bytes());
        }
    }
    let ja3 = parse::md5_hex(|h| parse::ja3(ch, h));
    w.text("ja3", &ja3);
    w.end_fragment();
}

/// The ServerHello's fields.
pub fn server_hello<O: RecordOut>(t: &Tls, sh: &ServerHello<'_>, cx: &mut Cx<'_, O>) {
    let Some(tb) = cx.txn.get(t.buf) else {
        return;
    };
    let mut w = JsonWriter::fragment(&mut tb.frag);
    w.text("version", version_text(t.version).as_bytes());
    match names::cipher(sh.cipher) {
        Some(n) => w.text("cipher", n.as_bytes()),
        None => {
            let mut x = Text::<8>::default();
            hex16(&mut x, sh.cipher);
            w.text("cipher", x.as_bytes());
        }
    }
    if let Some(p) = sh.alpn() {
        w.text("alpn", cut(p, 64));
    }
    u16_list(
        &mut w,
        "server_extensions",
        sh.exts().map(|e| e.0),
        MAX_EXTS,
    );
    let ja3s = parse::md5_hex(|h| parse::ja3s(sh, h));
    w.text("ja3s", &ja3s);
    w.end_fragment();
}

/// A chain's leaf certificate (`dir` 1: the server's; 0: the client's).
pub fn certificate<O: RecordOut>(t: &Tls, dir: usize, c: &x509::Cert<'_>, cx: &mut Cx<'_, O>) {
    let now_s = (cx.now / 1_000_000_000) as i64;
    let Some(tb) = cx.txn.get(t.buf) else {
        return;
    };
    let server = dir == 1;
    let key = |k: &'static str, c: &'static str| if server { k } else { c };
    let cap = tb.frag.capacity();
    let mut w = JsonWriter::fragment(&mut tb.frag);
    let mut name = Text::<TEXT>::default();
    c.subject.write(&mut |b| name.put(b));
    w.text(
        key("cert_subject", "client_cert_subject"),
        cut(name.as_bytes(), TEXT),
    );
    let mut name = Text::<TEXT>::default();
    c.issuer.write(&mut |b| name.put(b));
    w.text(
        key("cert_issuer", "client_cert_issuer"),
        cut(name.as_bytes(), TEXT),
    );
    let mut serial = Text::<TEXT>::default();
    x509::write_serial_hex(c.serial, &mut |b| serial.put(b));
    w.text(key("cert_serial", "client_cert_serial"), serial.as_bytes());
    let ns = |s: i64| (s.max(0) as u64).saturating_mul(1_000_000_000);
    w.time(
        key("cert_not_before", "client_cert_not_before"),
        ns(c.not_before),
    );
    w.time(
        key("cert_not_after", "client_cert_not_after"),
        ns(c.not_after),
    );
    w.f64(
        key("cert_days_left", "client_cert_days_left"),
        ((c.not_after - now_s) as f64 / 86_400.0).floor(),
    );
    let fp = x509::fingerprint(c.der);
    let mut hex = Text::<64>::default();
    for b in fp {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        hex.put(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    w.text(key("cert_sha256", "client_cert_sha256"), hex.as_bytes());
    let kt = match c.key {
        x509::Key::Rsa { .. } => "rsa",
        x509::Key::Ec { .. } => "ec",
        x509::Key::Ed25519 => "ed25519",
        x509::Key::Ed448 => "ed448",
        x509::Key::X25519 => "x25519",
        x509::Key::X448 => "x448",
        x509::Key::Dsa { .. } => "dsa",
        x509::Key::MlDsa { .. } => "ml-dsa",
        x509::Key::Other => "other",
    };
    w.token(key("cert_key_type", "client_cert_key_type"), kt);
    if let Some(bits) = c.key.bits() {
        w.u64(
            key("cert_key_bits", "client_cert_key_bits"),
            u64::from(bits),
        );
    }
    w.token(key("cert_sig_alg", "client_cert_sig_alg"), c.sig_alg);
    if server {
        let mut sans = c.sans.iter().peekable();
        if sans.peek().is_some() {
            w.begin_list("cert_sans");
            for s in sans.take(MAX_SANS) {
                // A name is at most 128 bytes escaped, with its quotes
                // and comma; the fields after the list need 64.
                if w.len() + 131 + 64 > cap {
                    break;
                }
                let mut b = [0u8; 40];
                let text = match s {
                    x509::San::DnsName(v) | x509::San::Email(v) | x509::San::Uri(v) => v,
                    x509::San::Ip(ip) => x509::ip_to_str(ip, &mut b).map_or(&[][..], str::as_bytes),
                    _ => continue,
                };
                w.text("", cut(text, 128));
            }
            w.end_list();
        }
        let sni = t.sni();
        if !sni.is_empty() {
            w.bool("sni_matches", x509::sni_matches(c, sni));
        }
    }
    w.end_fragment();
}

/// Writes the record of the handshake `t` (counted as one transaction).
pub fn emit<O: RecordOut>(t: &Tls, cx: &mut Cx<'_, O>) {
    let st = cx.stats.of::<super::Tls>();
    st.transactions += 1;
    if !t.has(seen::ESTABLISHED) {
        st.unanswered += u64::from(!t.has(seen::SERVER_HELLO));
    }
    let ts = if t.hello_ts != 0 { t.hello_ts } else { cx.now };
    let frag = cx.txn.get(t.buf).map_or(&[][..], |b| &b.frag[..]);
    crate::app::write_record(
        &mut *cx.out,
        &mut *cx.stats,
        cx.flow,
        cx.names,
        "tls",
        ts,
        |w| {
            w.raw(frag);
            if !t.has(seen::CLIENT_HELLO) {
                w.bool("client_hello_missing", true);
            }
            w.bool("established", t.has(seen::ESTABLISHED));
            if let Some(us) = t.server_hello_us {
                w.u64("server_hello_us", us);
            }
            if let Some(us) = t.handshake_us {
                w.u64("handshake_us", us);
            }
            if t.has(seen::RETRY) {
                w.bool("hello_retry", true);
            }
            let resumed = [
                (seen::RESUMED_PSK, "psk"),
                (seen::RESUMED_ID, "session_id"),
                (seen::RESUMED_TICKET, "ticket"),
            ]
            .into_iter()
            .find(|r| t.has(r.0));
            w.bool("resumed", resumed.is_some());
            if let Some((_, how)) = resumed {
                w.token("resumed_by", how);
            }
            if t.chain[1] > 0 {
                w.u64("cert_chain_len", u64::from(t.chain[1]));
            }
            if t.chain[0] > 0 {
                w.u64("client_cert_chain_len", u64::from(t.chain[0]));
            }
            if t.has(seen::CERT_REQUESTED) {
                w.bool("client_cert_requested", true);
            }
            if t.has(seen::TICKET_ISSUED) {
                w.bool("ticket_issued", true);
            }
            if let Some((level, desc, from_server)) = t.alert {
                w.token("alert_from", if from_server { "server" } else { "client" });
                w.token("alert_level", if level == 2 { "fatal" } else { "warning" });
                match names::alert(desc) {
                    Some(n) => w.token("alert", n),
                    None => w.u64("alert", u64::from(desc)),
                }
            }
            if t.protected_alerts > 0 {
                w.u64("protected_alerts", u64::from(t.protected_alerts));
            }
        },
    );
}
