//! The `http` record: a request's and its response's fields, written as
//! each head is parsed (into the transaction buffer) and completed with
//! the timings, sizes and bodies when the transaction ends.
//!
//! Size discipline: every variable field is cut before it is written so
//! that its escaped form fits the room left ([`cut`]); a fragment never
//! outgrows its buffer and a record stays under
//! [`crate::record::MAX_RECORD`] for limits within [`Limits::MAX`].

use super::parse::{self, REDACTED};
use super::txn::{tf, Txn};
use super::Limits;
use crate::app::inflate::Coding;
use crate::app::txn::TxnBuf;
use crate::app::{AppStats, Cx};
use crate::key;
use crate::record::json::{cut, escaped_len, escaped_len_as, plain, JsonWriter, MappedKey};
use crate::record::{FieldSink, RecordOut};

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The response completed it.
    Complete,
    /// The response head came, its body did not end before the flow.
    Incomplete,
    /// No response within the timeout.
    Timeout,
    /// No response before the flow ended.
    FlowEnd,
}

/// The first `limit` bytes of a body, a UTF-8 sequence cut at the end
/// left out (the limit counts body bytes, not their escaped form).
fn body_prefix(v: &[u8], limit: usize) -> &[u8] {
    let v = &v[..v.len().min(limit)];
    match std::str::from_utf8(v) {
        Err(e) if e.error_len().is_none() && v.len() - e.valid_up_to() < 4 => &v[..e.valid_up_to()],
        _ => v,
    }
}

/// Whether a body is written as text: valid UTF-8 whose escaped form is at
/// most a third larger (base64's cost); else it is written in base64, so a
/// body of control bytes is neither cut short by its escaping nor blown
/// up six-fold.
fn is_text(v: &[u8]) -> bool {
    if plain(v) {
        return true;
    }
    std::str::from_utf8(v).is_ok() && escaped_len_as(v, true) <= v.len() + v.len() / 3 + 16
}

/// Bytes of a header name kept in its record key.
const KEY_MAX: usize = 64;

/// What each byte of a header name becomes in a record key: lower case,
/// `[a-z0-9_.-]`, others `_`.
static KEY_BYTE: [u8; 256] = {
    let mut t = [b'_'; 256];
    let mut c = 0;
    while c < 256 {
        let l = (c as u8).to_ascii_lowercase();
        if l.is_ascii_alphanumeric() || l == b'-' || l == b'_' || l == b'.' {
            t[c] = l;
        }
        c += 1;
    }
    t
};

/// A name's bit in a 64-bit set, from its length and three of its bytes
/// folded to lower case: names equal but for case share a bit.
#[inline]
fn name_bit(n: &[u8]) -> u64 {
    let fold = |c: u8| u64::from(c | 0x20);
    let fp = match n {
        [] => 0,
        [first, .., last] | [first @ last] => {
            (n.len() as u64) << 24 | fold(*first) << 16 | fold(n[n.len() / 2]) << 8 | fold(*last)
        }
    };
    1 << (fp.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// A header name as a record key.
fn key_of(name: &[u8]) -> MappedKey<'_> {
    MappedKey {
        bytes: &name[..name.len().min(KEY_MAX)],
        map: &KEY_BYTE,
    }
}

/// Writes a header list as a map: duplicates joined with ", ", redacted
/// names replaced, at most `limits.headers` names and `header_bytes` bytes.
/// How a message head parsed, beyond its fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadShape {
    /// Header lines that were not `name: value`, skipped.
    pub bad_lines: usize,
    /// Header lines were left unread: more than could be parsed, or a head
    /// larger than a stream buffer.
    pub cut: bool,
}

fn write_headers(
    w: &mut JsonWriter,
    key: &str,
    headers: &[httparse::Header],
    shape: HeadShape,
    limits: &Limits,
    room: usize,
    stats: &mut AppStats,
) {
    let mut budget = limits.header_bytes.min(room.saturating_sub(64));
    let mut names = 0;
    let mut cut_any = shape.cut;
    // Names are compared only where their bits in a 64-bit set meet: most
    // heads repeat no name and redact none, and comparing every name with
    // every other one and with each redacted name was a third of the map.
    let (mut seen, mut shared) = (0u64, 0u64);
    for h in headers {
        let b = name_bit(h.name.as_bytes());
        shared |= seen & b;
        seen |= b;
    }
    let redacted = if limits.redact {
        limits
            .redact_headers
            .iter()
            .fold(0, |m, r| m | name_bit(r.as_bytes()))
    } else {
        0
    };
    w.begin_map(key);
    for (i, h) in headers.iter().enumerate() {
        let name = h.name.as_bytes();
        let bit = name_bit(name);
        let same = |e: &httparse::Header| e.name.as_bytes().eq_ignore_ascii_case(name);
        let repeated = shared & bit != 0;
        if repeated && headers[..i].iter().any(same) {
            continue;
        }
        if names >= limits.headers || budget < 2 * name.len().min(64) + 40 {
            cut_any = true;
            break;
        }
        names += 1;
        let k = key_of(name);
        // The key, its punctuation, and a possible `<key>_encoding` sibling.
        budget = budget.saturating_sub(2 * k.bytes.len() + 32);
        let redact = redacted & bit != 0
            && limits
                .redact_headers
                .iter()
                .any(|r| r.as_bytes().eq_ignore_ascii_case(name));
        if redact {
            w.text_at(k, REDACTED);
            budget = budget.saturating_sub(REDACTED.len());
            continue;
        }
        let dups = if repeated {
            headers[i + 1..].iter().filter(|e| same(e)).count()
        } else {
            0
        };
        if dups == 0 {
            // Most values: ASCII with nothing to escape, within the budget.
            if h.value.len() <= budget && w.ascii(k, h.value) {
                budget -= h.value.len();
                continue;
            }
            let v = cut(h.value, budget);
            cut_any |= v.len() < h.value.len();
            budget = budget.saturating_sub(escaped_len(v));
            w.text_at(k, v);
        } else {
            // Joined per RFC 9110 5.3; written in pieces into one string.
            let mut joined = [0u8; 1024];
            let mut n = 0;
            for e in headers[i..].iter().filter(|e| same(e)) {
                let sep: &[u8] = if n > 0 { b", " } else { b"" };
                for &c in sep.iter().chain(e.value) {
                    if n < joined.len() {
                        joined[n] = c;
                        n += 1;
                    }
                }
            }
            let v = cut(&joined[..n], budget);
            cut_any |= v.len() < n;
            budget = budget.saturating_sub(escaped_len(v));
            w.text_at(k, v);
        }
    }
    w.end_map();
    let request = key == "request_headers";
    if cut_any {
        stats.headers_truncated += 1;
        let name = if request {
            "request_headers_truncated"
        } else {
            "response_headers_truncated"
        };
        w.bool(name, true);
    }
    if shape.bad_lines > 0 {
        stats.of::<super::Http>().extra[super::BAD_HEADER_LINES] += shape.bad_lines as u64;
        let name = if request {
            "request_headers_malformed"
        } else {
            "response_headers_malformed"
        };
        w.bool(name, true);
    }
}

fn header<'a>(headers: &'a [httparse::Header], name: &[u8]) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.as_bytes().eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// Writes a request head's fields into the transaction buffer.
pub fn write_request(
    tb: &mut TxnBuf,
    head: &parse::Head,
    shape: HeadShape,
    limits: &Limits,
    scratch: &mut Vec<u8>,
    stats: &mut AppStats,
) {
    let (method, target, version, headers) = (head.first, head.second, head.version, head.headers);
    let room = tb.room();
    let mut w = JsonWriter::fragment(&mut tb.frag);
    w.text("method", cut(method, 32));
    // An absolute-form target (to a proxy): its path is the part after
    // the authority, its host the authority's.
    let abs = parse::absolute_target(target);
    let origin = &target[abs.map_or(0, |a| a.authority_end)..];
    let (path, query) = parse::split_target(origin);
    let ub = limits.uri_bytes;
    // What `uri` and `query` can show (each is cut to its budget), with
    // redaction's replacements (query values, a user-info password) made in
    // `scratch`, which is sized for them: nothing goes out unredacted for
    // want of room.
    let shown = &target[..target.len().min(ub)];
    let q_shown = query.map(|q| &q[..q.len().min(ub / 2)]);
    let (uri, q_text): (&[u8], Option<&[u8]>) = if limits.redact {
        scratch.clear();
        let mut from = 0;
        if let Some(a) = abs.filter(|a| a.userinfo_end > a.scheme_end) {
            // user:password@ → user:[redacted]@
            let info = &target[a.scheme_end..a.userinfo_end - 1];
            if let Some(c) = parse::memchr(b':', info) {
                let pw = a.scheme_end + c + 1;
                if pw <= shown.len() {
                    scratch.extend_from_slice(&shown[..pw]);
                    scratch.extend_from_slice(REDACTED);
                    from = (a.userinfo_end - 1).min(shown.len());
                } else {
                    from = shown.len();
                    scratch.extend_from_slice(shown);
                }
            }
        }
        match query.map(|q| target.len() - q.len()) {
            Some(at) if at <= shown.len() => {
                scratch.extend_from_slice(&shown[from.min(at)..at]);
                parse::redact_pairs(&shown[at..], &limits.redact_keys, scratch);
            }
            _ => scratch.extend_from_slice(&shown[from..]),
        }
        let uri_end = scratch.len();
        if let Some(q) = q_shown {
            parse::redact_pairs(q, &limits.redact_keys, scratch);
        }
        let (u, q) = scratch.split_at(uri_end);
        (u, q_shown.map(|_| q))
    } else {
        (shown, q_shown)
    };
    let u = cut(uri, ub);
    w.text("uri", u);
    if u.len() < uri.len() || shown.len() < target.len() {
        w.bool("uri_truncated", true);
    }
    let path: &[u8] = if abs.is_some() && path.is_empty() {
        b"/"
    } else {
        path
    };
    w.text("path", cut(path, ub / 2));
    if let Some(q) = q_text {
        w.text("query", cut(q, ub / 2));
    }
    w.text("version", cut(version, 16));
    let small = |v: &[u8]| cut(v, 512).len();
    if let (Some(a), None) = (abs, header(headers, b"host")) {
        let v = &target[a.userinfo_end..a.authority_end];
        w.text("host", &v[..small(v)]);
    }
    for (h, k) in [
        (&b"host"[..], "host"),
        (b"user-agent", "user_agent"),
        (b"referer", "referrer"),
        (b"content-type", "request_content_type"),
    ] {
        if let Some(v) = header(headers, h) {
            w.text(k, &v[..small(v)]);
        }
    }
    if let Some(n) = header(headers, b"content-length").and_then(parse::content_length) {
        w.u64_at(key!("request_content_length"), n);
    }
    // The first of the client-address headers, in the list's order.
    if let Some(c) = limits.client_ip_headers.iter().find_map(|name| {
        let name = name.as_bytes();
        header(headers, name).and_then(|v| parse::original_client(name, v))
    }) {
        w.text("orig_client", cut(c, 128));
    }
    // Basic authentication's user (never its password).
    for (name, key) in [
        (&b"authorization"[..], "username"),
        (b"proxy-authorization", "proxy_username"),
    ] {
        if let Some(v) = header(headers, name) {
            let mut buf = [0u8; parse::BASIC_MAX];
            if let Some(u) = parse::basic_user(v, &mut buf) {
                w.text(key, cut(u, 128));
            }
        }
    }
    // The fields above, besides the target's.
    let used = 3072 + 2 * ub;
    write_headers(
        &mut w,
        "request_headers",
        headers,
        shape,
        limits,
        room.saturating_sub(used) / 2,
        stats,
    );
    w.end_fragment();
}

/// Writes a response head's fields into the transaction buffer.
pub fn write_response(
    tb: &mut TxnBuf,
    head: &parse::Head,
    shape: HeadShape,
    limits: &Limits,
    stats: &mut AppStats,
) {
    let (code, reason, version, headers) = (head.code, head.second, head.first, head.headers);
    let room = tb.room();
    let mut w = JsonWriter::fragment(&mut tb.frag);
    w.u64_at(key!("status_code"), u64::from(code));
    w.text("status_msg", cut(reason, 256));
    w.text("response_version", cut(version, 16));
    if let Some(v) = header(headers, b"content-type") {
        w.text("response_content_type", cut(v, 512));
    }
    if let Some(n) = header(headers, b"content-length").and_then(parse::content_length) {
        w.u64_at(key!("response_content_length"), n);
    }
    write_headers(
        &mut w,
        "response_headers",
        headers,
        shape,
        limits,
        room.saturating_sub(2048),
        stats,
    );
    w.end_fragment();
}

/// Logs transaction `t` and gives its buffer back.
pub fn emit<O: RecordOut>(t: &Txn, cx: &mut Cx<'_, O>, how: End) {
    let limits = &cx.cfg.protos.http.limits;
    // Move the buffer's contents out for the write (no allocation: an
    // empty Vec holds nothing), and put them back after.
    let (frag, mut bodies) = match cx.txn.get(t.buf) {
        Some(tb) => (
            std::mem::take(&mut tb.frag),
            [
                std::mem::take(&mut tb.body[0]),
                std::mem::take(&mut tb.body[1]),
            ],
        ),
        None => (Vec::new(), [Vec::new(), Vec::new()]),
    };
    let ts = [t.req_start, t.resp_start, cx.now]
        .into_iter()
        .find(|&x| x != 0)
        .unwrap_or(0);
    let (inflate, scratch) = (&mut *cx.inflate, &mut *cx.scratch);
    let redact = limits.redact;
    let keys = &limits.redact_keys;
    let answered = t.flags & tf::RESP != 0;
    cx.stats.of::<super::Http>().transactions += 1;
    if !answered {
        cx.stats.of::<super::Http>().unanswered += 1;
    }
    let rec = |w: &mut JsonWriter| {
        if t.depth > 0 {
            w.u64_at(key!("trans_depth"), u64::from(t.depth));
        }
        w.raw(&frag);
        if t.flags & tf::REQ != 0 {
            w.u64_at(key!("request_body_len"), t.body[0]);
            w.u64_at(key!("request_bytes"), t.wire[0]);
            if t.req_end != 0 {
                w.time("request_end", t.req_end);
            }
        } else {
            w.bool("request_missing", true);
        }
        if answered {
            w.u64_at(key!("response_body_len"), t.body[1]);
            w.u64_at(key!("response_bytes"), t.wire[1]);
            w.time("response_start", t.resp_start);
            if t.req_end != 0 && t.flags & tf::REQ_DONE != 0 {
                w.u64_at(
                    key!("latency_us"),
                    t.resp_start.saturating_sub(t.req_end) / 1000,
                );
            }
            if t.resp_end != 0 && how == End::Complete {
                w.time("response_end", t.resp_end);
                w.u64_at(
                    key!("load_us"),
                    t.resp_end.saturating_sub(t.resp_start) / 1000,
                );
            }
        }
        for (side, body) in bodies.iter_mut().enumerate() {
            if body.is_empty() {
                continue;
            }
            let (name, form, json, trunc) = if side == 0 {
                ("request_body", tf::FORM_REQ, tf::JSON_REQ, tf::TRUNC_REQ)
            } else {
                (
                    "response_body",
                    tf::FORM_RESP,
                    tf::JSON_RESP,
                    tf::TRUNC_RESP,
                )
            };
            let mut text: &[u8] = body;
            let mut cut_short = t.flags & trunc != 0;
            if t.coding[side] != Coding::Identity && inflate.run(t.coding[side], body) {
                text = &inflate.out;
                cut_short |= inflate.full();
            }
            scratch.clear();
            if redact && text.len() * 5 + 64 <= scratch.capacity() {
                let done = if t.flags & form != 0 {
                    parse::redact_pairs(text, keys, scratch)
                } else if t.flags & json != 0 {
                    parse::redact_json(text, keys, scratch)
                } else {
                    false
                };
                if done {
                    text = scratch;
                }
            }
            let v = body_prefix(text, limits.body_bytes);
            if is_text(v) {
                w.text(name, v);
            } else {
                w.binary(name, v);
            }
            if cut_short || v.len() < text.len() {
                let k = if side == 0 {
                    "request_body_truncated"
                } else {
                    "response_body_truncated"
                };
                w.bool(k, true);
            }
        }
        match how {
            End::Complete => {}
            End::Incomplete => w.bool("response_incomplete", true),
            End::Timeout | End::FlowEnd => crate::app::write_unanswered(w, how == End::Timeout),
        }
        if t.flags & tf::CONTINUE != 0 {
            w.bool("continue", true);
        }
        if t.flags & tf::GAP_REQ != 0 {
            w.bool("request_gap", true);
        }
        if t.flags & tf::GAP_RESP != 0 {
            w.bool("response_gap", true);
        }
        if t.flags & tf::NO_FIELDS != 0 {
            w.bool("fields_dropped", true);
        }
    };
    crate::app::write_record(cx.out, cx.stats, cx.flow, cx.names, "http", ts, rec);
    if let Some(tb) = cx.txn.get(t.buf) {
        tb.frag = frag;
        let [a, b] = bodies;
        tb.body = [a, b];
    }
    cx.txn.give(t.buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Names repeated in any case are one key with the values joined
        /// in order; redacted names in any case are replaced; every other
        /// name is its own key, in order of first appearance.
        #[test]
        fn header_maps_join_repeats_and_redact(
            picks in proptest::collection::vec((0usize..8, proptest::prelude::any::<bool>(), 0u8..10), 0..20),
        ) {
            const NAMES: [&str; 8] = ["Accept", "Accept-Encoding", "Accept-Language", "Cookie", "Host", "X-A", "X-B", "Connection"];
            let names: Vec<String> = picks.iter().map(|&(n, upper, _)| {
                if upper { NAMES[n].to_uppercase() } else { NAMES[n].to_lowercase() }
            }).collect();
            let values: Vec<String> = picks.iter().map(|&(_, _, v)| format!("v{v}")).collect();
            let headers: Vec<httparse::Header> = names.iter().zip(&values).map(|(n, v)| httparse::Header { name: n, value: v.as_bytes() }).collect();
            let mut out = Vec::new();
            let mut w = JsonWriter::new(&mut out);
            write_headers(&mut w, "h", &headers, HeadShape::default(), &Limits::default(), 1 << 20, &mut AppStats::default());
            w.finish();
            let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let mut want = serde_json::Map::new();
            for (n, v) in names.iter().zip(&values) {
                let k = n.to_lowercase();
                let v = if k == "cookie" { "[redacted]".to_string() } else { v.clone() };
                match want.get_mut(&k) {
                    Some(serde_json::Value::String(s)) if k != "cookie" => { s.push_str(", "); s.push_str(&v); }
                    Some(_) => {}
                    None => { want.insert(k, serde_json::Value::String(v)); }
                }
            }
            // In order of first appearance.
            let text = String::from_utf8(out.clone()).unwrap();
            let mut order: Vec<String> = Vec::new();
            for n in &names {
                let k = n.to_lowercase();
                if !order.contains(&k) {
                    order.push(k);
                }
            }
            let at: Vec<usize> = order.iter().map(|k| text.find(&format!("\"{k}\":")).unwrap()).collect();
            proptest::prop_assert!(at.windows(2).all(|p| p[0] < p[1]), "{}", text);
            proptest::prop_assert_eq!(&got["h"], &serde_json::Value::Object(want));
        }
    }
}
