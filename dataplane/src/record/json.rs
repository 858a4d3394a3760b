//! JSON lines without allocation beyond the caller's buffer.
//!
//! Keys are static snake_case names. Wire text that is valid UTF-8 is
//! escaped per RFC 8259; text that is not is written with each invalid
//! byte as `\u00XX`-style `\\xXX` escapes inside the string and a sibling
//! field `<key>_encoding: "escaped"`, so nothing is lost and the line stays
//! valid JSON.

use std::io::Write;

use super::FieldSink;

/// Writes one JSON object into a byte buffer.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    depth: u8,
    /// Bit `d` set: the container opened at depth `d + 1` is a list.
    lists: u64,
}

impl<'a> JsonWriter<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            first: true,
            depth: 0,
            lists: 0,
        }
    }

    /// Closes the object and ends the line.
    pub fn finish(self) {
        for d in (0..self.depth).rev() {
            self.out
                .push(if self.lists >> d & 1 != 0 { b']' } else { b'}' });
        }
        self.out.extend_from_slice(b"}\n");
    }

    /// A writer of members only (`,"key":value` each), appended to `out`
    /// without braces: a fragment to splice into a record later with
    /// [`JsonWriter::raw`].
    pub fn fragment(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            first: false,
            depth: 0,
            lists: 0,
        }
    }

    /// Closes what a fragment left open.
    pub fn end_fragment(self) {
        for d in (0..self.depth).rev() {
            self.out
                .push(if self.lists >> d & 1 != 0 { b']' } else { b'}' });
        }
    }

    /// Appends members a fragment writer produced (each starting with a
    /// comma); only valid at the top level of an object with a member.
    pub fn raw(&mut self, members: &[u8]) {
        if !members.is_empty() {
            self.out.extend_from_slice(members);
            self.first = false;
        }
    }

    /// Writes `v` as a string if it is ASCII needing no escape and returns
    /// true; writes nothing and returns false otherwise (the caller then
    /// takes the general path, [`FieldSink::text`]).
    #[inline]
    pub fn ascii(&mut self, key: &str, v: &[u8]) -> bool {
        if !plain(v) {
            return false;
        }
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(v);
        self.out.push(b'"');
        true
    }

    /// Bytes written so far (the line's start included).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing was written (never: the object is open).
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    fn in_list(&self) -> bool {
        self.depth > 0 && self.lists >> (self.depth - 1) & 1 != 0
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if self.in_list() {
            return;
        }
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
}

/// Bytes that need no escaping and are ASCII: most of what records carry.
#[inline]
pub fn plain(b: &[u8]) -> bool {
    // Eight bytes at a time: flags any byte at or above 0x80, below 0x20,
    // 0x7f, `"` or `\` (the "has less" and "has value" tests of the
    // bit-twiddling hacks, exact for "any byte").
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn less(x: u64, n: u64) -> u64 {
        x.wrapping_sub(ONES * n) & !x & HIGH
    }
    let mut chunks = b.chunks_exact(8);
    let mut bad = 0u64;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        bad |= (w & HIGH)
            | less(w, 0x20)
            | less(w ^ (ONES * 0x7f), 1)
            | less(w ^ (ONES * u64::from(b'"')), 1)
            | less(w ^ (ONES * u64::from(b'\\')), 1);
    }
    bad == 0
        && chunks
            .remainder()
            .iter()
            .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string body (no quotes), escaping as RFC 8259 asks.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if plain(b) {
        out.extend_from_slice(b);
        return;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

impl FieldSink for JsonWriter<'_> {
    fn str(&mut self, key: &str, v: &str) {
        self.key(key);
        self.out.push(b'"');
        escape_into(self.out, v);
        self.out.push(b'"');
    }

    fn text(&mut self, key: &str, v: &[u8]) {
        self.key(key);
        self.out.push(b'"');
        if plain(v) {
            // ASCII without escapes: valid UTF-8 as it is.
            self.out.extend_from_slice(v);
            self.out.push(b'"');
            return;
        }
        let mut lossy = false;
        for chunk in v.utf8_chunks() {
            escape_into(self.out, chunk.valid());
            for &b in chunk.invalid() {
                lossy = true;
                self.out.extend_from_slice(&[
                    b'\\',
                    b'\\',
                    b'x',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]);
            }
        }
        self.out.push(b'"');
        if lossy && !self.in_list() {
            self.out.extend_from_slice(b",\"");
            self.out.extend_from_slice(key.as_bytes());
            self.out.extend_from_slice(b"_encoding\":\"escaped\"");
        }
    }

    fn u64(&mut self, key: &str, v: u64) {
        self.key(key);
        self.out.extend_from_slice(super::decimal(v, &mut [0; 20]));
    }

    fn f64(&mut self, key: &str, v: f64) {
        self.key(key);
        if v.is_finite() {
            let _ = write!(self.out, "{v}");
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    fn bool(&mut self, key: &str, v: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    fn time(&mut self, key: &str, ns: u64) {
        self.key(key);
        self.out.push(b'"');
        crate::time::write_rfc3339_us(self.out, ns);
        self.out.push(b'"');
    }

    fn ip(&mut self, key: &str, v: std::net::IpAddr) {
        self.key(key);
        match v {
            std::net::IpAddr::V4(a) => {
                let mut b = [0u8; 17];
                let mut n = 0;
                b[n] = b'"';
                n += 1;
                for (i, o) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        b[n] = b'.';
                        n += 1;
                    }
                    if o >= 100 {
                        b[n] = b'0' + o / 100;
                        n += 1;
                    }
                    if o >= 10 {
                        b[n] = b'0' + o / 10 % 10;
                        n += 1;
                    }
                    b[n] = b'0' + o % 10;
                    n += 1;
                }
                b[n] = b'"';
                self.out.extend_from_slice(&b[..n + 1]);
            }
            // RFC 5952 compression: std's formatting, rare enough.
            std::net::IpAddr::V6(a) => {
                let _ = write!(self.out, "\"{a}\"");
            }
        }
    }

    fn begin_map(&mut self, key: &str) {
        self.key(key);
        self.out.push(b'{');
        self.first = true;
        self.lists &= !(1 << self.depth);
        self.depth += 1;
    }

    fn end_map(&mut self) {
        if self.depth > 0 && !self.in_list() {
            self.out.push(b'}');
            self.first = false;
            self.depth -= 1;
        }
    }

    fn begin_list(&mut self, key: &str) {
        self.key(key);
        self.out.push(b'[');
        self.first = true;
        self.lists |= 1 << self.depth;
        self.depth += 1;
    }

    fn end_list(&mut self) {
        if self.in_list() {
            self.out.push(b']');
            self.first = false;
            self.depth -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time test agrees with the byte-at-a-time one, on
        /// bytes drawn mostly from the edges it must catch.
        #[test]
        fn plain_matches_bytewise(v in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(0x7f), Just(0x1f), Just(0x20), Just(0x80), Just(b'a')],
            0..40,
        )) {
            let bytewise = v.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\');
            prop_assert_eq!(plain(&v), bytewise);
        }

        /// IPv4 addresses are written as std writes them.
        #[test]
        fn ipv4_as_std_writes_it(a in any::<[u8; 4]>()) {
            let ip = std::net::IpAddr::from(a);
            let mut out = Vec::new();
            let mut w = JsonWriter::new(&mut out);
            w.ip("ip", ip);
            w.finish();
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{{\"ip\":\"{ip}\"}}\n"));
        }

        /// Any bytes and numbers: one valid JSON object whose strings read
        /// back as the input when it was UTF-8.
        #[test]
        fn text_and_numbers_round_trip(v in prop::collection::vec(any::<u8>(), 0..64), n in any::<u64>()) {
            let mut out = Vec::new();
            let mut w = JsonWriter::new(&mut out);
            w.text("t", &v);
            w.u64("n", n);
            w.finish();
            let j: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
            prop_assert_eq!(j["n"].as_u64(), Some(n));
            if let Ok(s) = std::str::from_utf8(&v) {
                prop_assert_eq!(j["t"].as_str(), Some(s));
            }
        }
    }

    #[test]
    fn valid_json_for_any_bytes() {
        let mut out = Vec::new();
        let mut w = JsonWriter::new(&mut out);
        w.str("a", "q\"\\\n\u{1}é");
        w.text("b", b"ok\xff\xfe\"x");
        w.u64("n", 42);
        w.begin_map("m");
        w.bool("t", true);
        w.end_map();
        w.f64("f", f64::NAN);
        w.begin_list("l");
        w.str("", "x");
        w.text("", b"\xff");
        w.u64("", 7);
        w.end_list();
        w.begin_list("open");
        w.u64("", 1);
        w.finish();
        let s = std::str::from_utf8(&out).unwrap();
        serde_json::from_str::<serde_json::Value>(s).expect("valid JSON");
        assert_eq!(
            s,
            "{\"a\":\"q\\\"\\\\\\n\\u0001é\",\"b\":\"ok\\\\xff\\\\xfe\\\"x\",\"b_encoding\":\"escaped\",\"n\":42,\"m\":{\"t\":true},\"f\":null,\"l\":[\"x\",\"\\\\xff\",7],\"open\":[1]}\n"
        );
    }
}
