//! JSON lines without allocation beyond the caller's buffer.
//!
//! Keys are static snake_case names. Wire text that is valid UTF-8 is
//! escaped per RFC 8259; text that is not is written with each invalid
//! byte as `\u00XX`-style `\\xXX` escapes inside the string and a sibling
//! field `<key>_encoding: "escaped"`, so nothing is lost and the line stays
//! valid JSON.

use std::io::Write;

use super::FieldSink;
use crate::sys::{append as put, append_member};

/// Writes one JSON object into a byte buffer.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    depth: u8,
    /// One bit per open container, the innermost in bit 0: set for a
    /// list (so "inside a list", asked of every value, is one bit test).
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
    pub fn finish(mut self) {
        self.close_all();
        put(self.out, b"}\n");
    }

    /// Closes every open container, innermost first.
    fn close_all(&mut self) {
        for d in 0..self.depth {
            self.out
                .push(if self.lists >> d & 1 != 0 { b']' } else { b'}' });
        }
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

    /// Writes `key` as JSON `null` (a list item when `key` is empty in a
    /// list).
    pub fn null(&mut self, key: &str) {
        self.member(key.as_bytes(), b"null", false);
    }

    /// Closes what a fragment left open.
    pub fn end_fragment(mut self) {
        self.close_all();
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
    /// takes the general path, [`JsonWriter::text_at`]).
    #[inline]
    pub fn ascii(&mut self, key: impl KeyText, v: &[u8]) -> bool {
        if !plain(v) {
            return false;
        }
        self.key(key);
        self.out.push(b'"');
        put(self.out, v);
        self.out.push(b'"');
        true
    }

    /// [`FieldSink::text`] under any [`KeyText`].
    pub fn text_at(&mut self, key: impl KeyText, v: &[u8]) {
        self.key(key);
        self.out.push(b'"');
        if plain(v) {
            // ASCII without escapes: valid UTF-8 as it is.
            put(self.out, v);
            self.out.push(b'"');
            return;
        }
        if let Ok(s) = std::str::from_utf8(v) {
            escape_into(self.out, s);
            self.out.push(b'"');
            return;
        }
        let mut lossy = false;
        for chunk in v.utf8_chunks() {
            escape_into(self.out, chunk.valid());
            for &b in chunk.invalid() {
                lossy = true;
                put(
                    self.out,
                    &[
                        b'\\',
                        b'\\',
                        b'x',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 15)],
                    ],
                );
            }
        }
        self.out.push(b'"');
        if lossy && !self.in_list() {
            put(self.out, b",\"");
            key.write_to(self.out);
            put(self.out, b"_encoding\":\"escaped\"");
        }
    }

    /// Bytes written so far (the line's start included).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing was written (never: the object is open).
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    #[inline(always)]
    fn in_list(&self) -> bool {
        self.lists & 1 != 0
    }

    /// A member whose value is ready: one piece outside lists.
    #[inline(always)]
    fn member(&mut self, key: &[u8], value: &[u8], quoted: bool) {
        if self.in_list() {
            if !self.first {
                self.out.push(b',');
            }
            self.first = false;
            if quoted {
                self.out.push(b'"');
            }
            put(self.out, value);
            if quoted {
                self.out.push(b'"');
            }
            return;
        }
        append_member(self.out, !self.first, key, value, quoted);
        self.first = false;
    }

    #[inline(always)]
    fn key(&mut self, k: impl KeyText) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if self.in_list() {
            return;
        }
        self.out.push(b'"');
        k.write_to(self.out);
        put(self.out, b"\":");
    }
}

/// A key's text as written: it must need no JSON escaping.
pub trait KeyText: Copy {
    /// Appends the key's bytes.
    fn write_to(self, out: &mut Vec<u8>);
}

impl KeyText for &[u8] {
    #[inline(always)]
    fn write_to(self, out: &mut Vec<u8>) {
        put(out, self);
    }
}

/// Wire bytes made into a key through a byte map (a header name, say),
/// written straight into the record: building the key apart and copying
/// it stalled on every header.
#[derive(Clone, Copy)]
pub struct MappedKey<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// What each byte becomes; every value must need no escaping.
    pub map: &'static [u8; 256],
}

impl KeyText for MappedKey<'_> {
    #[inline]
    fn write_to(self, out: &mut Vec<u8>) {
        out.extend(self.bytes.iter().map(|&c| self.map[usize::from(c)]));
    }
}

/// Bytes that need no escaping and are ASCII: most of what records carry.
#[inline]
pub fn plain(b: &[u8]) -> bool {
    first_not_plain(b) == b.len()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte of `x` below `n` (the "has less" test of the
/// bit-twiddling hacks; `n <= 0x80`). Bytes above a flagged one may be
/// flagged falsely, never the lowest: so the lowest flag is exact.
#[inline(always)]
fn less(x: u64, n: u64) -> u64 {
    x.wrapping_sub(ONES * n) & !x & HIGH
}

/// Flags of bytes JSON must escape: controls, DEL, `"` and `\`.
#[inline(always)]
fn escapes(w: u64) -> u64 {
    less(w, 0x20)
        | less(w ^ (ONES * 0x7f), 1)
        | less(w ^ (ONES * u64::from(b'"')), 1)
        | less(w ^ (ONES * u64::from(b'\\')), 1)
}

/// Index of the first byte of `b` that `flags` marks, eight at a time, or
/// `b.len()`. Bytes already found clean never carry a false flag (those
/// come only from a flagged byte below), so the tail is one overlapping
/// word, and a short slice is padded with a clean byte.
#[inline(always)]
fn first(b: &[u8], flags: impl Fn(u64) -> u64) -> usize {
    let n = b.len();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let at = |base: usize, f: u64| base + (f.trailing_zeros() / 8) as usize;
    if n < 8 {
        let mut t = [b'a'; 8];
        for (d, &c) in t.iter_mut().zip(b) {
            *d = c;
        }
        let f = flags(u64::from_le_bytes(t));
        return if f != 0 { at(0, f) } else { n };
    }
    let mut i = 0;
    while i + 8 <= n {
        let f = flags(word(i));
        if f != 0 {
            return at(i, f);
        }
        i += 8;
    }
    if i < n {
        let f = flags(word(n - 8));
        if f != 0 {
            return at(n - 8, f);
        }
    }
    n
}

/// Index of the first byte that is not plain (non-ASCII, or one JSON must
/// escape), or `b.len()`.
#[inline]
pub fn first_not_plain(b: &[u8]) -> usize {
    scan(b, true)
}

/// Index of the first byte JSON must escape, or `b.len()` (bytes at or
/// above 0x80 are left to the caller's UTF-8 handling).
#[inline]
pub fn first_escape(b: &[u8]) -> usize {
    scan(b, false)
}

/// The first byte JSON must escape (and, with `high`, the first at or
/// above 0x80): 16 or 32 at a time with AVX2, a word at a time otherwise
/// and below 16 bytes.
#[inline(always)]
fn scan(b: &[u8], high: bool) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    if b.len() >= 16 {
        // SAFETY: built only when the build targets AVX2, and the binary
        // refuses to start on a CPU without it (`sensor::cpu`).
        #[allow(unsafe_code)]
        return unsafe { wide::first(b, high) };
    }
    if high {
        first(b, |w| (w & HIGH) | escapes(w))
    } else {
        first(b, escapes)
    }
}

/// [`first_not_plain`] and [`first_escape`] 32 or 16 bytes a compare, for
/// builds with AVX2 (x86-64-v3, the default): URIs, user agents and most
/// header values are longer than a word, and the word test costs a dozen
/// operations per eight bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod wide {
    use core::arch::x86_64::*;

    /// `$name(v, high)`: the bytes of `v` JSON must escape (and, with
    /// `high`, those at or above 0x80), one bit each, byte 0 in bit 0.
    /// Exact: no byte is flagged falsely. One body for both widths.
    macro_rules! flags {
        ($name:ident, $v:ty, $gt:ident, $eq:ident, $min:ident, $set:ident, $or:ident, $mask:ident) => {
            #[inline]
            #[target_feature(enable = "avx2")]
            fn $name(v: $v, high: bool) -> u32 {
                let ctl = if high {
                    // Signed: below 0x20 is a control or a byte at or above 0x80.
                    $gt($set(0x20), v)
                } else {
                    $eq($min(v, $set(0x1f)), v)
                };
                let del = $eq(v, $set(0x7f));
                let quote = $eq(v, $set(b'"' as i8));
                let bs = $eq(v, $set(b'\\' as i8));
                $mask($or($or(ctl, del), $or(quote, bs))) as u32
            }
        };
    }
    flags!(
        flags256,
        __m256i,
        _mm256_cmpgt_epi8,
        _mm256_cmpeq_epi8,
        _mm256_min_epu8,
        _mm256_set1_epi8,
        _mm256_or_si256,
        _mm256_movemask_epi8
    );
    flags!(
        flags128,
        __m128i,
        _mm_cmpgt_epi8,
        _mm_cmpeq_epi8,
        _mm_min_epu8,
        _mm_set1_epi8,
        _mm_or_si128,
        _mm_movemask_epi8
    );

    /// Index of the first flagged byte of `b` (at least 16 long), or
    /// `b.len()`. The tail is one overlapping load: the bytes it shares
    /// with the last full one are clean, and flags are exact.
    #[inline]
    #[target_feature(enable = "avx2")]
    #[allow(unsafe_code)]
    pub fn first(b: &[u8], high: bool) -> usize {
        let (n, p) = (b.len(), b.as_ptr());
        debug_assert!(n >= 16);
        // SAFETY (both loads): unaligned loads of 32 or 16 bytes at offsets
        // `o` with `o + width <= n`, inside `b`.
        let at32 = |o: usize| flags256(unsafe { _mm256_loadu_si256(p.add(o).cast()) }, high);
        let at16 = |o: usize| flags128(unsafe { _mm_loadu_si128(p.add(o).cast()) }, high);
        if n < 32 {
            for o in [0, n - 16] {
                let f = at16(o);
                if f != 0 {
                    return o + f.trailing_zeros() as usize;
                }
            }
            return n;
        }
        let mut o = 0;
        while o + 32 <= n {
            let f = at32(o);
            if f != 0 {
                return o + f.trailing_zeros() as usize;
            }
            o += 32;
        }
        if o < n {
            let f = at32(n - 32);
            if f != 0 {
                return n - 32 + f.trailing_zeros() as usize;
            }
        }
        n
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string body (no quotes), escaping as RFC 8259 asks.
/// Runs of bytes that need nothing are copied whole.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let mut b = s.as_bytes();
    loop {
        let i = first_escape(b);
        put(out, &b[..i]);
        let Some(&c) = b.get(i) else {
            return;
        };
        match c {
            b'"' => put(out, b"\\\""),
            b'\\' => put(out, b"\\\\"),
            b'\n' => put(out, b"\\n"),
            b'\r' => put(out, b"\\r"),
            b'\t' => put(out, b"\\t"),
            _ => put(
                out,
                &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ],
            ),
        }
        b = &b[i + 1..];
    }
}

impl FieldSink for JsonWriter<'_> {
    fn str(&mut self, key: &str, v: &str) {
        if plain(v.as_bytes()) {
            // Most strings need no escaping: one piece, as a token.
            self.member(key.as_bytes(), v.as_bytes(), true);
            return;
        }
        self.key(key.as_bytes());
        self.out.push(b'"');
        escape_into(self.out, v);
        self.out.push(b'"');
    }

    #[inline]
    fn token(&mut self, key: &str, v: &str) {
        self.token_bytes(key, v.as_bytes());
    }

    #[inline]
    fn token_bytes(&mut self, key: &str, v: &[u8]) {
        debug_assert!(plain(v), "not a token: {v:?}");
        self.member(key.as_bytes(), v, true);
    }

    fn text(&mut self, key: &str, v: &[u8]) {
        if plain(v) {
            // ASCII without escapes: valid UTF-8 as it is.
            self.member(key.as_bytes(), v, true);
        } else {
            self.text_at(key.as_bytes(), v);
        }
    }

    fn binary(&mut self, key: &str, v: &[u8]) {
        self.key(key.as_bytes());
        self.out.push(b'"');
        let at = self.out.len();
        self.out.resize(at + super::base64_len(v.len()), 0);
        super::base64(v, &mut self.out[at..]);
        self.out.push(b'"');
        if !self.in_list() {
            put(self.out, b",\"");
            put(self.out, key.as_bytes());
            put(self.out, b"_encoding\":\"base64\"");
        }
    }

    #[inline]
    fn u64(&mut self, key: &str, v: u64) {
        self.member(key.as_bytes(), super::decimal(v, &mut [0; 20]), false);
    }

    #[inline(always)]
    fn u64_at(&mut self, key: super::Key, v: u64) {
        if self.first || self.in_list() {
            self.u64(key.name, v);
            return;
        }
        // The key's punctuation is part of it: two pieces, lengths known
        // where the key is a literal.
        crate::sys::append_two(self.out, key.member, super::decimal(v, &mut [0; 20]));
    }

    fn f64(&mut self, key: &str, v: f64) {
        self.key(key.as_bytes());
        if v.is_finite() {
            let _ = write!(self.out, "{v}");
        } else {
            put(self.out, b"null");
        }
    }

    #[inline]
    fn bool(&mut self, key: &str, v: bool) {
        self.member(key.as_bytes(), if v { b"true" } else { b"false" }, false);
    }

    #[inline]
    fn time(&mut self, key: &str, ns: u64) {
        self.member(key.as_bytes(), &crate::time::rfc3339_us(ns), true);
    }

    fn ip(&mut self, key: &str, v: std::net::IpAddr) {
        match v {
            std::net::IpAddr::V4(a) => {
                let mut b = [0; 16];
                self.member(key.as_bytes(), super::ipv4(a.octets(), &mut b), true);
            }
            // RFC 5952 compression: std's formatting, rare enough.
            std::net::IpAddr::V6(a) => {
                self.key(key.as_bytes());
                let _ = write!(self.out, "\"{a}\"");
            }
        }
    }

    fn begin_map(&mut self, key: &str) {
        self.key(key.as_bytes());
        self.out.push(b'{');
        self.first = true;
        debug_assert!(self.depth < 64, "records nest at most 64 deep");
        self.lists <<= 1;
        self.depth += 1;
    }

    fn end_map(&mut self) {
        if self.depth > 0 && !self.in_list() {
            self.out.push(b'}');
            self.first = false;
            self.lists >>= 1;
            self.depth -= 1;
        }
    }

    fn begin_list(&mut self, key: &str) {
        self.key(key.as_bytes());
        self.out.push(b'[');
        self.first = true;
        debug_assert!(self.depth < 64, "records nest at most 64 deep");
        self.lists = self.lists << 1 | 1;
        self.depth += 1;
    }

    fn end_list(&mut self) {
        if self.in_list() {
            self.out.push(b']');
            self.first = false;
            self.lists >>= 1;
            self.depth -= 1;
        }
    }
}

// The text cut and escape rules every record shares: how long a value
// is once escaped, and how much of it fits a budget.

/// Escaped bytes `c` can take in JSON, at most.
#[inline]
fn cost(c: u8) -> usize {
    match c {
        b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
        0..=0x1f | 0x7f => 6,
        0x80.. => 5,
        _ => 1,
    }
}

/// Bytes `v` can take escaped, at most. Plain runs are counted whole.
pub fn escaped_len(v: &[u8]) -> usize {
    escaped_len_as(v, false)
}

/// [`escaped_len`]; `utf8`: `v` is valid UTF-8, so the bytes of its
/// multi-byte characters are written as they are.
#[inline]
pub fn escaped_len_as(v: &[u8], utf8: bool) -> usize {
    let mut n = 0;
    let mut v = v;
    loop {
        let i = first_not_plain(v);
        n += i;
        let Some(&c) = v.get(i) else {
            return n;
        };
        n += if utf8 && c >= 0x80 { 1 } else { cost(c) };
        v = &v[i + 1..];
    }
}

/// The longest prefix of `v` whose escaped form fits `budget` bytes.
pub fn cut(v: &[u8], budget: usize) -> &[u8] {
    // Fits whatever it holds, or plain text that fits as it is.
    if v.len().saturating_mul(6) <= budget || (v.len() <= budget && plain(v)) {
        return v;
    }
    // Plain runs are taken whole; other bytes one at a time.
    let (mut used, mut at) = (0, 0);
    loop {
        let run = first_not_plain(&v[at..]);
        if used + run > budget {
            // Inside a plain (ASCII) run: any byte is a boundary.
            return &v[..at + (budget - used)];
        }
        used += run;
        at += run;
        let Some(&c) = v.get(at) else {
            return v;
        };
        used += cost(c);
        if used > budget {
            // Not inside a UTF-8 sequence: its head would be cut alone.
            let mut e = at;
            while e > 0 && v[e] & 0xc0 == 0x80 {
                e -= 1;
            }
            return &v[..e];
        }
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcuts of `cut` and `escaped_len` give what the byte
        /// walk gives.
        #[test]
        fn cut_shortcuts_agree_with_the_walk(
            v in proptest::collection::vec(proptest::prop_oneof![proptest::prelude::any::<u8>(), proptest::strategy::Just(b'a')], 0..96),
            budget in 0usize..300,
        ) {
            let walk_len: usize = v.iter().map(|&c| cost(c)).sum();
            proptest::prop_assert_eq!(escaped_len(&v), walk_len);
            let mut used = 0;
            let mut want = &v[..];
            for (i, &c) in v.iter().enumerate() {
                used += cost(c);
                if used > budget {
                    let mut e = i;
                    while e > 0 && v[e] & 0xc0 == 0x80 {
                        e -= 1;
                    }
                    want = &v[..e];
                    break;
                }
            }
            proptest::prop_assert_eq!(cut(&v, budget), want);
        }
    }

    proptest! {
        /// The word-at-a-time test agrees with the byte-at-a-time one, on
        /// bytes drawn mostly from the edges it must catch.
        #[test]
        fn plain_matches_bytewise(v in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(0x7f), Just(0x1f), Just(0x20), Just(0x80), Just(b'a')],
            0..100,
        )) {
            let bytewise = v.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\');
            prop_assert_eq!(plain(&v), bytewise);
        }

        /// Escaping runs at a time writes what escaping byte by byte does.
        #[test]
        fn escape_runs_match_bytewise(s in "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é€ ]{0,80}") {
            let mut want = Vec::new();
            for c in s.chars() {
                match c {
                    '"' => want.extend_from_slice(b"\\\""),
                    '\\' => want.extend_from_slice(b"\\\\"),
                    '\n' => want.extend_from_slice(b"\\n"),
                    '\r' => want.extend_from_slice(b"\\r"),
                    '\t' => want.extend_from_slice(b"\\t"),
                    '\u{0}'..='\u{1f}' | '\u{7f}' => {
                        want.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                    }
                    c => want.extend_from_slice(c.to_string().as_bytes()),
                }
            }
            let mut out = Vec::new();
            escape_into(&mut out, &s);
            prop_assert_eq!(out, want);
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

    /// Every length either scan takes (words, 16, 32 and overlapping
    /// tails) and every place of the one byte it must stop at: the first
    /// such byte is found, and a clean string runs to its end.
    #[test]
    fn scans_stop_at_the_first_flagged_byte_at_any_length() {
        for n in 0..=100 {
            let clean = vec![b'a'; n];
            assert_eq!(first_not_plain(&clean), n);
            assert_eq!(first_escape(&clean), n);
            for at in 0..n {
                // A second flagged byte later must not move the answer; a
                // byte only `first_not_plain` flags leaves `first_escape` to
                // find that one (or the end).
                let next = if at + 1 < n { n - 1 } else { n };
                for (bad, escaped) in [
                    (b'"', true),
                    (b'\\', true),
                    (0x1f, true),
                    (0x7f, true),
                    (0x00, true),
                    (0x80, false),
                    (0xff, false),
                ] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    if next < n {
                        v[next] = b'"';
                    }
                    let why = format!("n {n} at {at} byte {bad:#x}");
                    assert_eq!(first_not_plain(&v), at, "{why}");
                    assert_eq!(first_escape(&v), if escaped { at } else { next }, "{why}");
                }
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

    #[test]
    fn cut_fits_the_budget() {
        assert_eq!(cut(b"abc", 3), b"abc");
        assert_eq!(cut(b"abc", 2), b"ab");
        assert_eq!(cut(b"a\"b", 2), b"a", "a quote costs two");
        assert_eq!(cut(b"\x01x", 6), b"\x01");
        assert_eq!(cut("é".as_bytes(), 10), "é".as_bytes());
        assert_eq!(cut("aé".as_bytes(), 10), b"a", "never half a character");
    }
}
