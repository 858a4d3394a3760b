//! GELF 1.1: turning a record (one JSON line as the workers wrote it) into
//! a GELF message, compressing it, and sending it over UDP (chunked) or
//! TCP (null-delimited).
//!
//! Flattening, the one rule (docs/schema.md): every field of the record
//! becomes an additional field `_<name>`; a nested map's fields become
//! `_<name>_<key>` (recursively); a list becomes one string, its elements
//! joined with `,`; booleans become `true`/`false` strings; nulls are left
//! out. Characters GELF does not allow in a field name (anything but
//! letters, digits, `_`, `.` and `-`) become `_`, one per byte, and the
//! reserved name `id` (`_id`) becomes `_id_`. Besides: `version` "1.1", `host` the sensor
//! name, `timestamp` the record's `ts` in seconds with microseconds,
//! `short_message` a one-line summary, and `level` 6 (informational), 5
//! (notice) for a flow ended by a reset or evicted from a full table, 4
//! (warning) for a stats record that counts drops.
//!
//! A message has a size cap of 128 chunks. Past it, fields are truncated in
//! a fixed order (bodies, then headers; `_truncated` says which) and the
//! truncation counted; a message still too large is dropped and counted.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, FlushCompress};
use serde_json::{Map, Value};

use crate::outputs::{Sink, SinkStats};

/// GELF's chunk limit.
pub const MAX_CHUNKS: usize = 128;
/// Bytes of a chunk header: magic, message id, sequence number, count.
pub const CHUNK_HEADER: usize = 12;

/// How a GELF payload is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compressor {
    /// Plain JSON.
    None,
    /// zlib (RFC 1950).
    Zlib,
    /// gzip (RFC 1952).
    Gzip,
}

/// A byte of a GELF field name: letters, digits, `_`, `.` and `-` stay,
/// anything else (each byte of a non-ASCII character too) becomes `_`.
fn name_byte(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-' {
        b
    } else {
        b'_'
    }
}

fn valid_name(k: &str) -> String {
    k.bytes().map(|b| char::from(name_byte(b))).collect()
}

/// Flows ended by a reset or evicted from a full table are notices.
fn flow_level(reason: &[u8]) -> u8 {
    if reason == b"rst" || reason == b"evicted" {
        5
    } else {
        6
    }
}

fn flat_into(out: &mut Map<String, Value>, prefix: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => {
            out.insert(prefix.to_string(), Value::String(b.to_string()));
        }
        Value::Number(_) | Value::String(_) => {
            out.insert(prefix.to_string(), v.clone());
        }
        Value::Array(a) => {
            let s: Vec<String> = a
                .iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            out.insert(prefix.to_string(), Value::String(s.join(",")));
        }
        Value::Object(m) => {
            for (k, v) in m {
                flat_into(out, &format!("{prefix}_{}", valid_name(k)), v);
            }
        }
    }
}

/// The additional fields of a record, flattened by the rule above.
pub fn flatten(rec: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in rec {
        let name = if k == "id" {
            "_id_".to_string()
        } else {
            format!("_{}", valid_name(k))
        };
        flat_into(&mut out, &name, v);
    }
    out
}

/// Fills a protocol's summary template (see
/// [`dataplane::app::Analyzer::SUMMARY`]) from `rec`; `s` renders a field.
fn summary(template: &str, s: &dyn Fn(&str) -> String, rec: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let inner = &rest[i + 1..i + j];
        let (field, absent) = inner.split_once('|').unwrap_or((inner, ""));
        if rec.contains_key(field) {
            out.push_str(&s(field));
        } else {
            out.push_str(absent);
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn short_message(rec: &Map<String, Value>) -> String {
    let s = |k: &str| {
        rec.get(k).map_or(String::new(), |v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    match rec.get("type").and_then(Value::as_str) {
        Some("flow") => format!(
            "{} {}:{} -> {}:{} {} {}",
            s("proto"),
            s("src_ip"),
            s("src_port"),
            s("dst_ip"),
            s("dst_port"),
            s("conn_state"),
            s("reason")
        ),
        Some("stats") => format!(
            "wirelog stats: {} packets, {} records",
            s("packets"),
            s("records")
        ),
        Some(t) => match dataplane::app::Info::named(t) {
            Some(p) => summary(p.info().summary, &s, rec),
            None => t.to_string(),
        },
        None => "record".into(),
    }
}

fn level(rec: &Map<String, Value>) -> u8 {
    match rec.get("type").and_then(Value::as_str) {
        Some("flow") => flow_level(
            rec.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes(),
        ),
        Some("stats") => {
            let dropped = rec
                .get("drops")
                .and_then(|d| d.get("total"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if dropped > 0 {
                4
            } else {
                6
            }
        }
        Some(t) => match dataplane::app::Info::named(t) {
            Some(p) => {
                let sev = &p.info().severity;
                sev.of(rec
                    .get(sev.field)
                    .and_then(|v| v.as_u64().or(v.as_bool().map(u64::from))))
            }
            None => 6,
        },
        _ => 6,
    }
}

/// A record as a GELF message object.
pub fn message(rec: &Map<String, Value>, default_host: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("version".into(), "1.1".into());
    let host = rec
        .get("sensor")
        .and_then(Value::as_str)
        .unwrap_or(default_host);
    m.insert("host".into(), host.into());
    m.insert("short_message".into(), short_message(rec).into());
    let ts = rec
        .get("ts")
        .and_then(Value::as_str)
        .and_then(dataplane::time::parse_rfc3339)
        .unwrap_or_else(dataplane::time::wall_now_ns);
    // Seconds with microseconds, as GELF wants a number.
    let us = ts / 1000;
    let t = serde_json::Number::from_f64(us as f64 / 1e6).unwrap_or_else(|| 0.into());
    m.insert("timestamp".into(), Value::Number(t));
    m.insert("level".into(), level(rec).into());
    m.extend(flatten(rec));
    m
}

/// A cursor over a JSON line as the workers write it.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// A string, quotes included, escapes left as they are.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i]);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
    }
    fn scalar(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b',' || c == b'}' {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| &self.b[start..self.i])
    }
}

/// The values of a flow record the GELF header fields are made from.
#[derive(Default)]
struct Head<'a> {
    kind: &'a [u8],
    sensor: Option<&'a [u8]>,
    ts: &'a [u8],
    short: [&'a [u8]; 7],
}

const SHORT_KEYS: [&[u8]; 7] = [
    b"proto",
    b"src_ip",
    b"src_port",
    b"dst_ip",
    b"dst_port",
    b"conn_state",
    b"reason",
];

fn unquote(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v)
}

/// Writes the fields of the object at `c` as `"<prefix>_<key>":value`.
fn fields<'a>(
    c: &mut Cur<'a>,
    prefix: &mut Vec<u8>,
    top: bool,
    head: &mut Head<'a>,
    out: &mut Vec<u8>,
) -> Option<()> {
    c.eat(b'{')?;
    if c.eat(b'}').is_some() {
        return Some(());
    }
    loop {
        let key = c.string()?;
        let key = &key[1..key.len() - 1];
        if key.contains(&b'\\') {
            return None;
        }
        c.eat(b':')?;
        let plen = prefix.len();
        if top && key == b"id" {
            prefix.extend_from_slice(b"_id_");
        } else {
            prefix.push(b'_');
            prefix.extend(key.iter().map(|&k| name_byte(k)));
        }
        match c.peek()? {
            b'{' => fields(c, prefix, false, head, out)?,
            b'[' => return None,
            b'"' => {
                let v = c.string()?;
                if top {
                    match key {
                        b"type" => head.kind = unquote(v),
                        b"sensor" => head.sensor = Some(v),
                        b"ts" => head.ts = unquote(v),
                        _ => {}
                    }
                    if let Some(k) = SHORT_KEYS.iter().position(|s| *s == key) {
                        if v.contains(&b'\\') {
                            return None;
                        }
                        head.short[k] = unquote(v);
                    }
                }
                put_field(out, prefix, v);
            }
            _ => {
                let v = c.scalar()?;
                if top {
                    if let Some(k) = SHORT_KEYS.iter().position(|s| *s == key) {
                        head.short[k] = v;
                    }
                }
                match v {
                    b"null" => {}
                    b"true" => put_field(out, prefix, b"\"true\""),
                    b"false" => put_field(out, prefix, b"\"false\""),
                    n => put_field(out, prefix, n),
                }
            }
        }
        prefix.truncate(plen);
        if c.eat(b',').is_some() {
            continue;
        }
        return c.eat(b'}');
    }
}

fn put_field(out: &mut Vec<u8>, name: &[u8], v: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
    out.extend_from_slice(v);
    out.push(b',');
}

/// One pass from a flow record's JSON line to its GELF message, by the
/// same rule as [`message`]; `None` sends the line down the general path.
pub fn convert(line: &[u8], default_host: &str, out: &mut Vec<u8>) -> Option<()> {
    let mut c = Cur { b: line, i: 0 };
    let mut head = Head::default();
    let mut prefix = Vec::with_capacity(64);
    out.push(b'{');
    fields(&mut c, &mut prefix, true, &mut head, out)?;
    if head.kind != b"flow" || c.i != line.len() {
        return None;
    }
    use std::io::Write as _;
    out.extend_from_slice(b"\"version\":\"1.1\",\"host\":");
    match head.sensor {
        Some(s) => out.extend_from_slice(s),
        None => {
            let _ = serde_json::to_writer(&mut *out, default_host);
        }
    }
    out.extend_from_slice(b",\"short_message\":\"");
    let s = &head.short;
    // "proto src_ip:src_port -> dst_ip:dst_port conn_state reason"
    for part in [
        s[0], b" ", s[1], b":", s[2], b" -> ", s[3], b":", s[4], b" ", s[5], b" ", s[6],
    ] {
        out.extend_from_slice(part);
    }
    let ts = std::str::from_utf8(head.ts)
        .ok()
        .and_then(dataplane::time::parse_rfc3339)
        .unwrap_or_else(dataplane::time::wall_now_ns);
    let level = flow_level(s[6]);
    let _ = write!(
        out,
        "\",\"timestamp\":{}.{:06},\"level\":{level}}}",
        ts / 1_000_000_000,
        ts % 1_000_000_000 / 1000
    );
    Some(())
}

/// Field-name suffixes truncated first, then these.
const TRUNCATE_ORDER: [(&str, &str); 2] = [("body", "_body"), ("headers", "_headers_")];

/// What an encoder holds: its JSON and compressed buffers (a record is at
/// most MAX_RECORD bytes, its GELF form a little more) and the deflate
/// state (zlib's 64 KiB window and tables).
const ENCODER_BYTES: usize = 4 * dataplane::record::MAX_RECORD + 384 * 1024;

/// Encodes and compresses messages with reused compressor state.
pub struct Encoder {
    kind: Compressor,
    z: Compress,
    out: Vec<u8>,
    json: Vec<u8>,
}

impl Encoder {
    /// An encoder for `kind` at zlib `level` (0-9).
    pub fn new(kind: Compressor, level: u32) -> Self {
        let lvl = Compression::new(level.min(9));
        let z = match kind {
            Compressor::Gzip => Compress::new_gzip(lvl, 15),
            _ => Compress::new(lvl, true),
        };
        Self {
            kind,
            z,
            out: Vec::with_capacity(64 * 1024),
            json: Vec::with_capacity(64 * 1024),
        }
    }

    /// The payload of `m` (compressed as configured).
    pub fn encode(&mut self, m: &Map<String, Value>) -> &[u8] {
        self.json.clear();
        let _ = serde_json::to_writer(&mut self.json, m);
        self.finish_payload()
    }

    /// The payload of a record given as its JSON line, converted in one
    /// pass without building a tree; `None` when the line needs the general
    /// path ([`message`]): lists, escaped names, other record types.
    pub fn encode_line(&mut self, line: &[u8], host: &str) -> Option<&[u8]> {
        self.json.clear();
        convert(line, host, &mut self.json)?;
        Some(self.finish_payload())
    }

    /// The payload of the last message encoded.
    pub fn payload(&self) -> &[u8] {
        if self.kind == Compressor::None {
            &self.json
        } else {
            &self.out
        }
    }

    fn finish_payload(&mut self) -> &[u8] {
        if self.kind == Compressor::None {
            return &self.json;
        }
        self.z.reset();
        self.out.clear();
        self.out.reserve(self.json.len() + 64);
        loop {
            let before = self.z.total_in() as usize;
            let st =
                self.z
                    .compress_vec(&self.json[before..], &mut self.out, FlushCompress::Finish);
            match st {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => self.out.reserve(self.out.capacity().max(4096)),
                Err(_) => break,
            }
        }
        &self.out
    }

    /// Encodes `m`, truncating by [`TRUNCATE_ORDER`] until it fits `cap`
    /// bytes ([`Encoder::payload`] then holds it); `None` when it cannot.
    /// `Some(true)` when it truncated.
    pub fn encode_capped(&mut self, m: &mut Map<String, Value>, cap: usize) -> Option<bool> {
        let mut truncated = Vec::new();
        while self.encode(m).len() > cap {
            let &(what, pat) = TRUNCATE_ORDER
                .iter()
                .find(|(_, pat)| m.keys().any(|k| k.contains(pat)))?;
            m.retain(|k, _| !k.contains(pat));
            truncated.push(what);
            m.insert("_truncated".into(), truncated.join(",").into());
        }
        Some(!truncated.is_empty())
    }
}

/// GELF over UDP: one datagram, or up to 128 chunks.
pub struct UdpSink {
    enc: Encoder,
    host: String,
    tx: Chunker,
    stats: SinkStats,
}

/// Sends payloads as one datagram or as chunks, from one reused buffer.
struct Chunker {
    sock: UdpSocket,
    chunk: usize,
    ids: u64,
    dgram: Vec<u8>,
}

impl Chunker {
    fn next_id(&mut self) -> [u8; 8] {
        // xorshift64*: message ids only need to differ between messages.
        let mut x = self.ids;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.ids = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_be_bytes()
    }

    /// Sends `payload`; counts failed sends in `errors`. False if any failed.
    fn send(&mut self, payload: &[u8], errors: &mut u64) -> bool {
        if payload.len() <= self.chunk {
            return self.sock.send(payload).is_ok() || {
                *errors += 1;
                false
            };
        }
        let per = self.chunk - CHUNK_HEADER;
        let n = payload.len().div_ceil(per);
        let id = self.next_id();
        let mut ok = true;
        for (i, part) in payload.chunks(per).enumerate() {
            self.dgram.clear();
            self.dgram.extend_from_slice(&[0x1e, 0x0f]);
            self.dgram.extend_from_slice(&id);
            self.dgram.push(i as u8);
            self.dgram.push(n as u8);
            self.dgram.extend_from_slice(part);
            if self.sock.send(&self.dgram).is_err() {
                *errors += 1;
                ok = false;
            }
        }
        ok
    }
}

impl UdpSink {
    /// A sink sending to `addr`.
    pub fn new(
        addr: SocketAddr,
        kind: Compressor,
        level: u32,
        chunk: usize,
        host: String,
    ) -> std::io::Result<Self> {
        let bind: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let sock = UdpSocket::bind(bind)?;
        sock.connect(addr)?;
        sock.set_nonblocking(true)?;
        let seed = dataplane::time::wall_now_ns() ^ (u64::from(std::process::id()) << 32);
        Ok(Self {
            enc: Encoder::new(kind, level),
            host,
            tx: Chunker {
                sock,
                chunk,
                ids: seed | 1,
                dgram: Vec::with_capacity(chunk),
            },
            stats: SinkStats::default(),
        })
    }
}

impl Sink for UdpSink {
    fn record(&mut self, line: &[u8]) {
        self.stats.records += 1;
        let cap = (self.tx.chunk - CHUNK_HEADER) * MAX_CHUNKS;
        let fits = self
            .enc
            .encode_line(line, &self.host)
            .is_some_and(|p| p.len() <= cap);
        if !fits {
            let rec: Map<String, Value> = serde_json::from_slice(line).unwrap_or_default();
            let mut m = message(&rec, &self.host);
            match self.enc.encode_capped(&mut m, cap) {
                None => {
                    self.stats.too_large += 1;
                    self.stats.dropped += 1;
                    return;
                }
                Some(true) => self.stats.truncated += 1,
                Some(false) => {}
            }
        }
        let payload = self.enc.payload();
        if self.tx.send(payload, &mut self.stats.errors) {
            self.stats.delivered += 1;
            self.stats.bytes += payload.len() as u64;
        } else {
            self.stats.dropped += 1;
        }
    }
    fn poll(&mut self, _now: Instant) {}
    fn finish(&mut self, _deadline: Instant) {}
    fn stats(&self) -> SinkStats {
        self.stats
    }
    fn memory_bytes(&self) -> usize {
        ENCODER_BYTES + self.tx.chunk
    }
}

/// GELF over TCP: messages end with a NUL byte; a bounded buffer holds
/// them while the receiver is away, and the connection is retried with
/// back-off. What does not fit is dropped and counted; nothing waits.
pub struct TcpSink {
    addr: SocketAddr,
    conn: Option<TcpStream>,
    buf: VecDeque<u8>,
    cap: usize,
    /// Bytes of the message at the front already written (it must be
    /// finished on this connection or dropped).
    partial: usize,
    retry_at: Instant,
    backoff: Duration,
    enc: Encoder,
    host: String,
    stats: SinkStats,
}

impl TcpSink {
    /// A sink for `addr` with `cap` bytes of buffer.
    pub fn new(addr: SocketAddr, cap: usize, host: String) -> Self {
        Self {
            addr,
            conn: None,
            buf: VecDeque::with_capacity(cap),
            cap,
            partial: 0,
            retry_at: Instant::now(),
            backoff: Duration::from_millis(100),
            enc: Encoder::new(Compressor::None, 0),
            host,
            stats: SinkStats::default(),
        }
    }

    fn disconnect(&mut self, now: Instant) {
        self.conn = None;
        self.stats.errors += 1;
        // The receiver saw the start of the front message: the rest of it
        // would corrupt the stream on a new connection.
        if self.partial > 0 {
            if let Some(end) = self.buf.iter().position(|&b| b == 0) {
                self.buf.drain(..=end);
                self.stats.dropped += 1;
            }
            self.partial = 0;
        }
        self.retry_at = now + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
    }

    fn pump(&mut self, now: Instant) {
        if self.conn.is_none() {
            if now < self.retry_at || self.buf.is_empty() {
                return;
            }
            match TcpStream::connect_timeout(&self.addr, Duration::from_millis(50)) {
                Ok(c) => {
                    let _ = c.set_nonblocking(true);
                    let _ = c.set_nodelay(true);
                    self.conn = Some(c);
                    self.backoff = Duration::from_millis(100);
                }
                Err(_) => {
                    self.disconnect(now);
                    return;
                }
            }
        }
        while !self.buf.is_empty() {
            let (a, _) = self.buf.as_slices();
            let Some(c) = self.conn.as_mut() else { return };
            match c.write(a) {
                Ok(0) => return self.disconnect(now),
                Ok(n) => {
                    let done = a[..n].iter().filter(|&&b| b == 0).count() as u64;
                    self.stats.delivered += done;
                    self.stats.bytes += n as u64;
                    // Bytes of a message started but not finished.
                    self.partial = match a[..n].iter().rposition(|&b| b == 0) {
                        Some(p) => n - p - 1,
                        None => self.partial + n,
                    };
                    self.buf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => return self.disconnect(now),
            }
        }
    }
}

impl Sink for TcpSink {
    fn record(&mut self, line: &[u8]) {
        self.stats.records += 1;
        if self.enc.encode_line(line, &self.host).is_none() {
            let rec: Map<String, Value> = serde_json::from_slice(line).unwrap_or_default();
            self.enc.encode(&message(&rec, &self.host));
        }
        let p = self.enc.payload();
        if self.buf.len() + p.len() + 1 > self.cap {
            self.stats.dropped += 1;
            self.stats.queue_full += 1;
        } else {
            self.buf.extend(p);
            self.buf.push_back(0);
        }
        self.pump(Instant::now());
    }
    fn poll(&mut self, now: Instant) {
        self.pump(now);
        self.stats.queued_bytes = self.buf.len() as u64;
    }
    fn finish(&mut self, deadline: Instant) {
        while !self.buf.is_empty() && Instant::now() < deadline {
            self.pump(Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        // Whatever is left is lost: count each message once.
        let left = self.buf.iter().filter(|&&b| b == 0).count() as u64;
        self.stats.dropped += left;
        self.buf.clear();
        if let Some(c) = self.conn.as_mut() {
            let _ = c.flush();
        }
        self.stats.queued_bytes = 0;
    }
    fn stats(&self) -> SinkStats {
        self.stats
    }
    fn memory_bytes(&self) -> usize {
        ENCODER_BYTES + self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(j: &str) -> Map<String, Value> {
        serde_json::from_str(j).unwrap()
    }

    #[test]
    fn flattening_rule() {
        let r = rec(
            r#"{"type":"http","ts":"2009-02-13T23:31:30.123456Z","sensor":"s1","id":7,"ok":true,"n":null,
            "headers":{"Content-Type":"text/html","x y":"1"},"answers":["a","b",3]}"#,
        );
        let m = message(&r, "h");
        assert_eq!(m["version"], "1.1");
        assert_eq!(m["host"], "s1");
        assert_eq!(m["timestamp"].as_f64().unwrap(), 1234567890.123456);
        assert_eq!(m["_id_"], 7);
        assert_eq!(m["_ok"], "true");
        assert!(!m.contains_key("_n"));
        assert_eq!(m["_headers_Content-Type"], "text/html");
        assert_eq!(m["_headers_x_y"], "1");
        assert_eq!(m["_answers"], "a,b,3");
        assert_eq!(m["_type"], "http");
    }

    #[test]
    fn transaction_summaries_and_levels() {
        let h = rec(
            r#"{"type":"http","ts":"2009-02-13T23:31:30Z","sensor":"s","method":"GET","host":"a.b","uri":"/x?q=1","status_code":503}"#,
        );
        let m = message(&h, "h");
        assert_eq!(
            (m["short_message"].as_str(), m["level"].as_u64()),
            (Some("GET a.b/x?q=1 -> 503"), Some(4))
        );
        let d = rec(
            r#"{"type":"dns","ts":"2009-02-13T23:31:30Z","sensor":"s","qtype_name":"A","query":"x.y","rcode":3,"rcode_name":"NXDOMAIN"}"#,
        );
        let m = message(&d, "h");
        assert_eq!(
            (m["short_message"].as_str(), m["level"].as_u64()),
            (Some("dns A x.y -> NXDOMAIN"), Some(5))
        );
        let u = rec(
            r#"{"type":"dns","ts":"2009-02-13T23:31:30Z","qtype_name":"A","query":"x.y","unanswered":true}"#,
        );
        let m = message(&u, "h");
        assert_eq!(
            (m["short_message"].as_str(), m["level"].as_u64()),
            (Some("dns A x.y -> unanswered"), Some(4))
        );
    }

    fn inflate(kind: Compressor, b: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match kind {
            Compressor::Zlib => flate2::read::ZlibDecoder::new(b)
                .read_to_end(&mut out)
                .unwrap(),
            Compressor::Gzip => flate2::read::GzDecoder::new(b)
                .read_to_end(&mut out)
                .unwrap(),
            Compressor::None => {
                out.extend_from_slice(b);
                0
            }
        };
        out
    }

    #[test]
    fn one_pass_conversion_equals_the_general_rule() {
        for line in [
            r#"{"type":"flow","ts":"2023-11-14T22:13:20.453333Z","end":"2023-11-14T22:13:20.453633Z","sensor":"s\u00e9","src_ip":"10.1.0.68","src_port":20068,"dst_ip":"10.2.0.1","dst_port":5005,"proto":"udp","community_id":"1:q5G+/=","reason":"idle","final":true,"conn_state":"SF","history":"Dd","rtt_us":null,"src_pkts":1,"ratio":0.25,"id":3,"tls":{"sni":"a b","v":{"x":-1}},"empty":{},"héad":{"ä-x":1}}"#,
            r#"{"type":"flow","ts":"2023-11-14T22:13:20Z","sensor":"x","proto":"tcp","reason":"rst","conn_state":"RSTO","src_ip":"::1","src_port":1,"dst_ip":"::2","dst_port":2}"#,
        ] {
            let rec: Map<String, Value> = serde_json::from_str(line).unwrap();
            let want = message(&rec, "h");
            let mut out = Vec::new();
            convert(line.as_bytes(), "h", &mut out).unwrap();
            let got: Map<String, Value> = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            assert_eq!(got.len(), want.len(), "{got:?}");
            for (k, v) in &want {
                match (v.as_f64(), got[k].as_f64()) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{k}"),
                    _ => assert_eq!(&got[k], v, "{k}"),
                }
            }
        }
        // The general path takes what the one pass does not.
        let mut out = Vec::new();
        assert!(convert(br#"{"type":"stats","x":1}"#, "h", &mut out).is_none());
        out.clear();
        assert!(convert(br#"{"type":"flow","a":[1,2]}"#, "h", &mut out).is_none());
        out.clear();
        assert!(convert(br#"{"type":"flow","a":1"#, "h", &mut out).is_none());
    }

    #[test]
    fn compressor_state_is_reused_and_streams_are_complete() {
        for kind in [Compressor::Zlib, Compressor::Gzip, Compressor::None] {
            let mut e = Encoder::new(kind, 6);
            for i in 0..3 {
                let mut m = Map::new();
                m.insert("short_message".into(), format!("m{i}").repeat(1000).into());
                let p = e.encode(&m).to_vec();
                let v: Map<String, Value> = serde_json::from_slice(&inflate(kind, &p)).unwrap();
                assert_eq!(v, m);
            }
        }
    }

    #[test]
    fn truncation_order_then_too_large() {
        let mut e = Encoder::new(Compressor::None, 0);
        let mut m = Map::new();
        m.insert("_req_body".into(), "b".repeat(500).into());
        m.insert("_headers_a".into(), "h".repeat(300).into());
        m.insert("short_message".into(), "x".into());
        assert!(e.encode_capped(&mut m.clone(), 400).unwrap());
        let v: Map<String, Value> = serde_json::from_slice(e.payload()).unwrap();
        assert_eq!(v["_truncated"], "body");
        assert!(v.contains_key("_headers_a"));
        assert!(e.encode_capped(&mut m.clone(), 100).unwrap());
        let v: Map<String, Value> = serde_json::from_slice(e.payload()).unwrap();
        assert_eq!(v["_truncated"], "body,headers");
        assert!(e.encode_capped(&mut m, 10).is_none());
    }
}
