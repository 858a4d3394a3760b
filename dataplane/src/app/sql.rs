//! SQL text as the database analyzers see it: a lexer that knows each
//! dialect's quotes and comments, and on it the split of a text into its
//! statements and a statement's fingerprint (its literals replaced by `?`,
//! the KPI key of a statement whatever its values).
//!
//! Both analyzers read NUL-terminated strings and keep short bounded
//! texts ([`Short`]) with the helpers here.
//!
//! It also keeps statements' parameter values between the message that
//! binds them and the record ([`Kept`]), with texts too long to keep in
//! a session.
//!
//! Nothing here allocates: the lexer walks the bytes it is given and the
//! fingerprint is written into the caller's buffer, cut at its end. Any
//! bytes are accepted; an unterminated quote or comment runs to the end.

use crate::app::pool::NONE;
use crate::app::txn::{TxnBuf, TxnPool};
use crate::record::json::JsonWriter;
use crate::record::FieldSink;

/// Whose quoting and comment rules a text follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `--` and nested `/* */` comments; `'…'` strings with
    /// `''` (backslash escapes only in `E'…'`), dollar-quoted strings
    /// (`$tag$…$tag$`), `"…"` identifiers, `$1` parameters.
    Postgres,
    /// MySQL and MariaDB: `#`, `-- ` (a blank after the dashes) and
    /// `/* */` comments (not nested; `/*! … */` version comments are
    /// comments too); `'…'` and `"…"` strings with backslash escapes and
    /// doubled quotes; `` `…` `` identifiers; `?` placeholders.
    MySql,
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Blanks.
    Blank,
    /// A comment.
    Comment,
    /// A literal: a string (with its prefix), a number.
    Literal,
    /// A word, a quoted identifier, a parameter: kept as written.
    Word,
    /// One byte of anything else (operators, `;`, `?`).
    Punct,
}

/// The end of a quoted run opened at `i` by `q`: past its closing `q`,
/// a doubled `q` inside it; with `backslash`, `\` escapes the next byte.
fn quoted(t: &[u8], i: usize, q: u8, backslash: bool) -> usize {
    let n = t.len();
    let mut j = i + 1;
    while j < n {
        let c = t[j];
        if c == q {
            if t.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += if backslash && c == b'\\' { 2 } else { 1 };
    }
    n
}

/// Past the end of the line from `i`.
fn line(t: &[u8], i: usize) -> usize {
    t[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(t.len(), |p| i + p + 1)
}

/// Past a `/* */` comment opened at `i` (nested when `nest`).
fn block(t: &[u8], i: usize, nest: bool) -> usize {
    let n = t.len();
    let mut depth = 1u32;
    let mut j = i + 2;
    while j < n {
        match (t[j], t.get(j + 1).copied()) {
            (b'/', Some(b'*')) if nest => {
                depth += 1;
                j += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    n
}

fn word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The token at `i` (`i < t.len()`): its kind and its end.
fn token(d: Dialect, t: &[u8], i: usize) -> (Kind, usize) {
    let n = t.len();
    let c = t[i];
    let next = t.get(i + 1).copied();
    let pg = d == Dialect::Postgres;
    match c {
        c if c.is_ascii_whitespace() => {
            let e = t[i..]
                .iter()
                .position(|x| !x.is_ascii_whitespace())
                .map_or(n, |p| i + p);
            (Kind::Blank, e)
        }
        b'-' if next == Some(b'-')
            && (pg
                || t.get(i + 2)
                    .is_none_or(|&x| x.is_ascii_whitespace() || x < 0x20)) =>
        {
            (Kind::Comment, line(t, i))
        }
        b'#' if !pg => (Kind::Comment, line(t, i)),
        b'/' if next == Some(b'*') => (Kind::Comment, block(t, i, pg)),
        b'\'' => (Kind::Literal, quoted(t, i, b'\'', !pg)),
        b'"' if pg => (Kind::Word, quoted(t, i, b'"', false)),
        b'"' => (Kind::Literal, quoted(t, i, b'"', true)),
        b'`' if !pg => (Kind::Word, quoted(t, i, b'`', false)),
        b'$' if pg => {
            // `$1`: a parameter; `$tag$` or `$$`: a dollar-quoted string.
            if next.is_some_and(|x| x.is_ascii_digit()) {
                let e = t[i + 1..]
                    .iter()
                    .position(|x| !x.is_ascii_digit())
                    .map_or(n, |p| i + 1 + p);
                return (Kind::Word, e);
            }
            let mut j = i + 1;
            while j < n
                && (t[j] == b'_'
                    || t[j].is_ascii_alphabetic()
                    || (j > i + 1 && t[j].is_ascii_digit()))
            {
                j += 1;
            }
            if t.get(j) == Some(&b'$') {
                let tag = &t[i..=j];
                let e = t[j + 1..]
                    .windows(tag.len())
                    .position(|w| w == tag)
                    .map_or(n, |p| j + 1 + p + tag.len());
                (Kind::Literal, e)
            } else {
                (Kind::Punct, i + 1)
            }
        }
        c if c.is_ascii_digit() || (c == b'.' && next.is_some_and(|x| x.is_ascii_digit())) => {
            let mut j = i + 1;
            while j < n {
                let x = t[j];
                let exp_sign = (x == b'+' || x == b'-') && matches!(t[j - 1], b'e' | b'E');
                if x.is_ascii_alphanumeric() || x == b'.' || x == b'_' || exp_sign {
                    j += 1;
                } else {
                    break;
                }
            }
            (Kind::Literal, j)
        }
        c if word_byte(c) => {
            let e = t[i..]
                .iter()
                .position(|&x| !word_byte(x))
                .map_or(n, |p| i + p);
            // A string's prefix: E'…' (backslash escapes), B'…', X'…',
            // N'…', U&'…' and MySQL's charset introducers (_utf8mb4'…').
            let w = &t[i..e];
            let prefix = matches!(w, [b'e' | b'E' | b'b' | b'B' | b'x' | b'X' | b'n' | b'N'])
                || (!pg && w.len() > 1 && w[0] == b'_');
            match t.get(e) {
                Some(b'\'') if prefix => {
                    let escapes = !pg || matches!(w, [b'e' | b'E']);
                    (Kind::Literal, quoted(t, e, b'\'', escapes))
                }
                Some(b'&') if pg && matches!(w, [b'u' | b'U']) && t.get(e + 1) == Some(&b'\'') => {
                    (Kind::Literal, quoted(t, e + 1, b'\'', false))
                }
                _ => (Kind::Word, e),
            }
        }
        _ => (Kind::Punct, i + 1),
    }
}

/// The next statement of a text from `from`: its range (its first byte
/// that is not blank or a comment, up to and with its `;`, or to the
/// end), or `None` when only blanks, comments and empty statements are
/// left. Quotes and comments hide their `;`.
pub fn next_statement(d: Dialect, t: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    let mut start = None;
    while i < t.len() {
        let (k, e) = token(d, t, i);
        match k {
            Kind::Blank | Kind::Comment => {}
            Kind::Punct if t[i] == b';' => {
                if let Some(s) = start {
                    return Some((s, e));
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
        i = e;
    }
    start.map(|s| (s, t.len()))
}

/// The `k`-th statement (from 0) of a text: its range, and whether
/// another follows it.
pub fn statement_at(d: Dialect, t: &[u8], k: usize) -> Option<(usize, usize, bool)> {
    let mut at = 0;
    let mut i = 0;
    while let Some((s, e)) = next_statement(d, t, at) {
        if i == k {
            return Some((s, e, next_statement(d, t, e).is_some()));
        }
        i += 1;
        at = e;
    }
    None
}

/// A statement's fingerprint, written into `out`: literals (strings with
/// their prefixes, numbers) replaced by `?`, comments dropped, blanks
/// folded to one space; words, parameters and quoted identifiers kept.
/// Never longer than the text. Returns the bytes written; it stops at
/// `out`'s end.
pub fn fingerprint(d: Dialect, t: &[u8], out: &mut [u8]) -> usize {
    let mut o = 0;
    let mut space = false;
    let mut i = 0;
    while i < t.len() && o < out.len() {
        let (k, e) = token(d, t, i);
        let b: &[u8] = match k {
            Kind::Blank | Kind::Comment => {
                space = true;
                i = e;
                continue;
            }
            Kind::Literal => b"?",
            Kind::Word | Kind::Punct => &t[i..e],
        };
        if space && o > 0 {
            out[o] = b' ';
            o += 1;
        }
        space = false;
        let m = b.len().min(out.len() - o);
        out[o..o + m].copy_from_slice(&b[..m]);
        o += m;
        i = e;
    }
    o
}

/// What a database analyzer's records keep (its `Analyzer::Limits`).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `--sql-literals mask`: statements logged only as fingerprints, no
    /// parameter values, no error messages (default off).
    pub mask: bool,
}

impl Limits {
    /// Sets `name` to `value` (only [`SQL_LITERALS`] is known); `title`
    /// names the protocol in the error.
    ///
    /// [`SQL_LITERALS`]: crate::app::analyzer::SQL_LITERALS
    pub fn set(&mut self, title: &str, name: &str, value: &str) -> Result<(), String> {
        match name {
            "sql-literals" => self.mask = crate::app::analyzer::parse_sql_literals(value)?,
            _ => return Err(format!("{title} has no setting `{name}`")),
        }
        Ok(())
    }
}

/// Bytes of a transaction buffer a database connection asks for: its
/// long texts and parameter values (cut at [`VALUE_KEEP`] bytes each and
/// [`VALUES_MAX`] in all, at most [`VALUES_ENTRY_MAX`] bytes a statement)
/// until their records. Past it, what nothing names any more is dropped.
pub const KEPT_ROOM: usize = 8192;

/// A statement text longer than a session keeps is kept whole up to this
/// many bytes (the most of a message the analyzers read) in the
/// connection's transaction buffer, while one is free.
pub const TEXT_LONG: usize = 2048;
// ------------------------------------------------ strings on the wire

/// A NUL-terminated string at `at`: the string and the index after its
/// NUL, or `None` when the NUL is not in `b`.
pub fn cstr(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(at..)?;
    let n = rest.iter().position(|&c| c == 0)?;
    Some((&rest[..n], at + n + 1))
}

/// A string at `at` that may be cut by the end of `b` (a prefix of a long
/// message): the string, and whether its NUL was there.
pub fn cstr_prefix(b: &[u8], at: usize) -> (&[u8], bool) {
    let rest = b.get(at..).unwrap_or_default();
    match rest.iter().position(|&c| c == 0) {
        Some(n) => (&rest[..n], true),
        None => (rest, false),
    }
}

/// A short text cut at `N` bytes.
#[derive(Clone, Copy, Debug)]
pub struct Short<const N: usize> {
    buf: [u8; N],
    len: u16,
    /// Longer than kept.
    pub cut: bool,
    /// Set (even if empty).
    pub set: bool,
}

impl<const N: usize> Default for Short<N> {
    fn default() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            cut: false,
            set: false,
        }
    }
}

impl<const N: usize> Short<N> {
    /// Keeps `v`'s first `N` bytes; `whole`: `v` is all of it.
    pub fn put(&mut self, v: &[u8], whole: bool) {
        let n = v.len().min(N);
        self.buf[..n].copy_from_slice(&v[..n]);
        self.len = n as u16;
        self.cut = n < v.len() || !whole;
        self.set = true;
    }

    /// The bytes kept.
    pub fn get(&self) -> &[u8] {
        &self.buf[..usize::from(self.len).min(N)]
    }

    /// Unset.
    pub fn clear(&mut self) {
        self.len = 0;
        self.cut = false;
        self.set = false;
    }
}

/// Bytes of one parameter value kept.
pub const VALUE_KEEP: usize = 64;
/// Parameter values kept per statement.
pub const VALUES_MAX: usize = 16;

/// A bound parameter's value as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// Text (or a number or a date the driver sent as text).
    Text(&'a [u8]),
    /// Binary, logged as the type says (its hex digits after `\x` when
    /// the type is not one read here).
    Binary(&'a [u8], Binary),
}

/// How a value sent in binary reads as text: the type the statement
/// declared for its parameter (PostgreSQL: the Parse's; MySQL: the
/// execute's type list), as far as it is read here. A value whose length
/// the type does not have, or cut short, reads as its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Binary {
    /// Unknown, or bytes: `\x` and hex digits.
    #[default]
    Hex = 0,
    /// A signed big-endian integer of 2, 4 or 8 bytes (PostgreSQL).
    Int = 1,
    /// An IEEE 754 big-endian float of 4 or 8 bytes (PostgreSQL).
    Float = 2,
    /// One byte: `t` or `f`.
    Bool = 3,
    /// 16 bytes, written 8-4-4-4-12.
    Uuid = 4,
    /// Text as it is.
    Text = 5,
    /// A signed little-endian integer of 1, 2, 4 or 8 bytes (MySQL).
    IntLe = 6,
    /// An unsigned little-endian integer of 1, 2, 4 or 8 bytes (MySQL).
    UintLe = 7,
    /// An IEEE 754 little-endian float of 4 or 8 bytes (MySQL).
    FloatLe = 8,
    /// MySQL's binary date (0 or 4 bytes and more: year u16, month, day),
    /// written `YYYY-MM-DD`.
    Date = 9,
    /// MySQL's binary date-time (0, 4, 7 or 11 bytes: a date, then hour,
    /// minute, second, then microseconds u32), written
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    DateTime = 10,
    /// MySQL's binary time (0, 8 or 12 bytes: negative, days u32, hour,
    /// minute, second, then microseconds u32), written
    /// `[-]HH:MM:SS[.ffffff]` (the days counted in the hours).
    Time = 11,
}

impl Binary {
    /// The value `code` (`self as u8`) stands for.
    pub fn of(code: u8) -> Self {
        match code {
            1 => Binary::Int,
            2 => Binary::Float,
            3 => Binary::Bool,
            4 => Binary::Uuid,
            5 => Binary::Text,
            6 => Binary::IntLe,
            7 => Binary::UintLe,
            8 => Binary::FloatLe,
            9 => Binary::Date,
            10 => Binary::DateTime,
            11 => Binary::Time,
            _ => Binary::Hex,
        }
    }

    /// Writes `v` as text into `out` (at least 2 + 2 * [`VALUE_KEEP`]
    /// bytes); `whole`: `v` is all of the value.
    fn text<'o>(self, v: &[u8], whole: bool, out: &'o mut [u8]) -> &'o [u8] {
        use std::io::Write;
        // The integer of `v`'s bytes, most significant first or last.
        let be = |v: &[u8]| v.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
        let le = |v: &[u8]| v.iter().rev().fold(0u64, |a, &x| a << 8 | u64::from(x));
        let signed = |x: u64, n: usize| ((x << (64 - 8 * n)) as i64) >> (64 - 8 * n);
        let n = {
            let mut c = std::io::Cursor::new(&mut *out);
            let ok = match (self, v.len(), whole) {
                (Binary::Int, n @ (2 | 4 | 8), true) => write!(c, "{}", signed(be(v), n)).is_ok(),
                (Binary::IntLe, n @ (1 | 2 | 4 | 8), true) => {
                    write!(c, "{}", signed(le(v), n)).is_ok()
                }
                (Binary::UintLe, 1 | 2 | 4 | 8, true) => write!(c, "{}", le(v)).is_ok(),
                (Binary::Float | Binary::FloatLe, 4 | 8, true) => {
                    let bits = if self == Binary::Float { be(v) } else { le(v) };
                    let x = if v.len() == 4 {
                        f64::from(f32::from_bits(bits as u32))
                    } else {
                        f64::from_bits(bits)
                    };
                    // PostgreSQL's spellings of the special values.
                    match x {
                        x if x.is_nan() => write!(c, "NaN"),
                        x if x == f64::INFINITY => write!(c, "Infinity"),
                        x if x == f64::NEG_INFINITY => write!(c, "-Infinity"),
                        x if v.len() == 4 => write!(c, "{}", x as f32),
                        x => write!(c, "{x}"),
                    }
                    .is_ok()
                }
                (Binary::Bool, 1, true) => c.write_all(if v[0] != 0 { b"t" } else { b"f" }).is_ok(),
                (Binary::Uuid, 16, true) => write!(
                    c,
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    be(&v[..4]),
                    be(&v[4..6]),
                    be(&v[6..8]),
                    be(&v[8..10]),
                    be(&v[10..])
                )
                .is_ok(),
                (Binary::Date | Binary::DateTime, 0 | 4 | 7 | 11, true) => {
                    let at = |i: usize| v.get(i).copied().unwrap_or(0);
                    let mut ok = write!(
                        c,
                        "{:04}-{:02}-{:02}",
                        le(v.get(..2).unwrap_or_default()),
                        at(2),
                        at(3)
                    )
                    .is_ok();
                    if self == Binary::DateTime {
                        ok &= write!(c, " {:02}:{:02}:{:02}", at(4), at(5), at(6)).is_ok();
                        if v.len() == 11 {
                            ok &= write!(c, ".{:06}", le(&v[7..])).is_ok();
                        }
                    }
                    ok
                }
                (Binary::Time, 0 | 8 | 12, true) => {
                    let at = |i: usize| v.get(i).copied().unwrap_or(0);
                    let days = le(v.get(1..5).unwrap_or_default());
                    let sign = if at(0) == 1 { "-" } else { "" };
                    let hours = days * 24 + u64::from(at(5));
                    let mut ok = write!(c, "{sign}{hours:02}:{:02}:{:02}", at(6), at(7)).is_ok();
                    if v.len() == 12 {
                        ok &= write!(c, ".{:06}", le(&v[8..])).is_ok();
                    }
                    ok
                }
                (Binary::Text, _, _) => c.write_all(v).is_ok(),
                _ => false,
            };
            if ok {
                c.position() as usize
            } else {
                0
            }
        };
        if n > 0 || (self == Binary::Text && v.is_empty()) {
            return &out[..n];
        }
        out[..2].copy_from_slice(b"\\x");
        for (k, b) in v.iter().enumerate() {
            out[2 + 2 * k] = b"0123456789abcdef"[usize::from(b >> 4)];
            out[3 + 2 * k] = b"0123456789abcdef"[usize::from(b & 15)];
        }
        &out[..2 + 2 * v.len()]
    }
}

/// An item's flags: its kind (bits 0-1), a binary value's [`Binary`]
/// (bits 2-6) and whether it was cut.
const NULL: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CUT: u8 = 0x80;
/// An entry's header: its key (u32) and its items' length (u16).
const ENTRY: usize = 6;
/// The most bytes one entry takes.
pub const VALUES_ENTRY_MAX: usize = ENTRY + VALUES_MAX * (2 + VALUE_KEEP);

/// What a connection keeps in a transaction buffer's fragment between
/// the message that brings it and the record that logs it: statement
/// texts too long for the session state, and parameter values. Entries
/// of a key (u32) and a length (u16), then the bytes: a text as sent, or
/// values as items (`[flags][len][bytes]`, each cut at [`VALUE_KEEP`]).
/// Raw bytes are kept, not JSON, so an entry's size is known before it
/// is written, and the buffer never grows past its capacity.
pub struct Kept;

impl Kept {
    /// Appends an entry of `key` holding `bytes`; false (and nothing
    /// written) when it does not fit.
    pub fn put_bytes(frag: &mut Vec<u8>, key: u32, bytes: &[u8]) -> bool {
        let Ok(len) = u16::try_from(bytes.len()) else {
            return false;
        };
        if frag.capacity() - frag.len() < ENTRY + bytes.len() {
            return false;
        }
        frag.extend_from_slice(&key.to_le_bytes());
        frag.extend_from_slice(&len.to_le_bytes());
        frag.extend_from_slice(bytes);
        true
    }

    /// Appends an entry of `key` holding what `values` yields (at most
    /// [`VALUES_MAX`], as many as there is room for; `cut`: more were
    /// sent than kept). Returns false when not even its header fits.
    pub fn put_values<'a>(
        frag: &mut Vec<u8>,
        key: u32,
        values: impl Iterator<Item = (Value<'a>, bool)>,
    ) -> bool {
        let room = |f: &Vec<u8>| f.capacity() - f.len();
        if room(frag) < ENTRY {
            return false;
        }
        let at = frag.len();
        frag.extend_from_slice(&key.to_le_bytes());
        frag.extend_from_slice(&[0, 0]);
        for (n, (v, whole)) in values.enumerate() {
            let (kind, b) = match v {
                Value::Null => (NULL, &[][..]),
                Value::Text(b) => (TEXT, b),
                Value::Binary(b, t) => (BINARY | (t as u8) << 2, b),
            };
            let keep = b.len().min(VALUE_KEEP);
            if n == VALUES_MAX || room(frag) < 2 + keep {
                // Marks the last item kept: more followed.
                if let Some(f) = Self::last_flags(&mut frag[at + ENTRY..]) {
                    *f |= CUT;
                }
                break;
            }
            let cut = if keep < b.len() || !whole { CUT } else { 0 };
            frag.extend_from_slice(&[kind | cut, keep as u8]);
            frag.extend_from_slice(&b[..keep]);
        }
        let len = (frag.len() - at - ENTRY) as u16;
        frag[at + 4..at + ENTRY].copy_from_slice(&len.to_le_bytes());
        true
    }

    fn last_flags(items: &mut [u8]) -> Option<&mut u8> {
        let mut i = 0;
        let mut last = None;
        while i + 2 <= items.len() {
            last = Some(i);
            i += 2 + usize::from(items[i + 1]);
        }
        items.get_mut(last?)
    }

    fn entries(frag: &[u8]) -> impl Iterator<Item = (u32, std::ops::Range<usize>)> + '_ {
        let mut i = 0;
        std::iter::from_fn(move || {
            let h = frag.get(i..i + ENTRY)?;
            let key = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let len = usize::from(u16::from_le_bytes([h[4], h[5]]));
            let r = i + ENTRY..(i + ENTRY + len).min(frag.len());
            i = r.end;
            Some((key, r))
        })
    }

    /// The bytes of entry `key`.
    pub fn find(frag: &[u8], key: u32) -> Option<&[u8]> {
        Self::entries(frag)
            .find(|(k, _)| *k == key)
            .map(|(_, r)| &frag[r])
    }

    /// Drops the entries whose key `keep` refuses, moving the others to
    /// the front.
    pub fn retain(frag: &mut Vec<u8>, keep: impl Fn(u32) -> bool) {
        let mut w = 0;
        let mut r = 0;
        loop {
            let Some((key, items)) = Self::entries(&frag[r..]).next() else {
                break;
            };
            let end = r + items.end;
            if keep(key) {
                frag.copy_within(r..end, w);
                w += end - r;
            }
            r = end;
        }
        frag.truncate(w);
    }

    /// Writes `items` as the list `key`: text as text, binary as its
    /// type reads (see [`Binary`]), NULL as null; and `cut_key` true when
    /// a value or the list was cut.
    pub fn write_values(w: &mut JsonWriter, key: &str, cut_key: &str, items: &[u8]) {
        let mut cut = false;
        w.begin_list(key);
        let mut i = 0;
        while i + 2 <= items.len() {
            let (f, len) = (items[i], usize::from(items[i + 1]));
            let v = items.get(i + 2..i + 2 + len).unwrap_or_default();
            cut |= f & CUT != 0;
            match f & 3 {
                NULL => w.null(""),
                BINARY => {
                    let mut out = [0u8; 2 + 2 * VALUE_KEEP];
                    let t = Binary::of((f >> 2) & 0x1f);
                    w.text("", t.text(v, f & CUT == 0, &mut out));
                }
                _ => w.text("", v),
            }
            i += 2 + len;
        }
        w.end_list();
        if cut {
            w.bool(cut_key, true);
        }
    }
}

/// Where a session finds the whole of a text it keeps only the start of:
/// its key in the [`Hold`]'s buffer (0: none), and whether the whole was
/// cut all the same.
#[derive(Clone, Copy, Debug, Default)]
pub struct Long {
    /// The entry's key.
    pub key: u32,
    /// Cut at [`TEXT_LONG`], or by the end of its message.
    pub cut: bool,
}

/// A connection's hold on one transaction buffer for what [`Kept`]
/// keeps: taken when something is first kept, given back when nothing
/// kept is wanted any more, and always before the connection rests (it
/// parks only without one) or ends.
#[derive(Clone, Copy, Debug)]
pub struct Hold {
    /// The buffer, or [`NONE`].
    pub buf: u32,
    /// The last key given.
    seq: u32,
}

impl Default for Hold {
    fn default() -> Self {
        Self { buf: NONE, seq: 0 }
    }
}

impl Hold {
    /// A buffer is held.
    pub fn held(&self) -> bool {
        self.buf != NONE
    }

    /// A new key for what is kept: never 0, which means none, and never
    /// with the top bit set, which is left to the analyzer's own keys.
    pub fn key(&mut self) -> u32 {
        self.seq = (self.seq.wrapping_add(1) & !(1 << 31)).max(1);
        self.seq
    }

    /// The buffer, taken if none is held (none free: counted in `full`),
    /// with room made for `need` bytes within its first `room` by dropping
    /// the entries whose keys `wanted` refuses.
    pub fn buffer<'t>(
        &mut self,
        need: usize,
        room: usize,
        txn: &'t mut TxnPool,
        full: &mut u64,
        wanted: impl Fn(u32) -> bool,
    ) -> Option<&'t mut TxnBuf> {
        if self.buf == NONE {
            match txn.take() {
                Some(h) => self.buf = h,
                None => {
                    *full += 1;
                    return None;
                }
            }
        }
        let tb = txn.get(self.buf)?;
        if tb.frag.len() + need > room.min(tb.frag.capacity()) {
            Kept::retain(&mut tb.frag, wanted);
        }
        Some(tb)
    }

    /// Keeps `text` whole up to [`TEXT_LONG`] bytes (`whole`: it is all
    /// of the statement) under a new key, room made as [`Hold::buffer`]
    /// makes it; `None` when it did not fit.
    pub fn keep_text(
        &mut self,
        text: &[u8],
        whole: bool,
        room: usize,
        txn: &mut TxnPool,
        full: &mut u64,
        wanted: impl Fn(u32) -> bool,
    ) -> Option<Long> {
        let text = &text[..text.len().min(TEXT_LONG)];
        let key = self.key();
        let tb = self.buffer(text.len() + ENTRY, room, txn, full, wanted)?;
        Kept::put_bytes(&mut tb.frag, key, text).then_some(Long {
            key,
            cut: !whole || text.len() == TEXT_LONG,
        })
    }

    /// The text to log: the whole one `long` names, copied into `tmp`,
    /// when it is kept; else `short` (the start a session keeps, and
    /// whether it is cut).
    pub fn text<'a>(
        &self,
        long: Long,
        short: (&'a [u8], bool),
        txn: &mut TxnPool,
        tmp: &'a mut [u8],
    ) -> (&'a [u8], bool) {
        if long.key == 0 {
            return short;
        }
        match self.copy(long.key, txn, tmp) {
            Some(t) => (t, long.cut),
            None => short,
        }
    }

    /// Entry `key`'s bytes copied into `tmp` (as many as fit), if it is
    /// kept.
    pub fn copy<'a>(&self, key: u32, txn: &mut TxnPool, tmp: &'a mut [u8]) -> Option<&'a [u8]> {
        let t = Kept::find(&txn.get(self.buf)?.frag, key)?;
        let n = t.len().min(tmp.len());
        tmp[..n].copy_from_slice(&t[..n]);
        Some(&tmp[..n])
    }

    /// Entry `key`'s bytes, if it is kept (0: none).
    pub fn find<'t>(&self, key: u32, txn: &'t mut TxnPool) -> Option<&'t [u8]> {
        if key == 0 {
            return None;
        }
        Kept::find(&txn.get(self.buf)?.frag, key)
    }

    /// Gives the buffer back (what it keeps is gone).
    pub fn give_back(&mut self, txn: &mut TxnPool) {
        if self.buf != NONE {
            txn.give(self.buf);
            self.buf = NONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: Dialect, t: &[u8]) -> Vec<String> {
        let mut v = Vec::new();
        let mut at = 0;
        while let Some((s, e)) = next_statement(d, t, at) {
            v.push(String::from_utf8_lossy(&t[s..e]).into_owned());
            at = e;
        }
        v
    }

    fn fp(d: Dialect, t: &[u8]) -> String {
        let mut out = [0u8; 256];
        let n = fingerprint(d, t, &mut out);
        assert!(
            n <= t.len(),
            "longer than its text: {:?}",
            String::from_utf8_lossy(t)
        );
        String::from_utf8_lossy(&out[..n]).into_owned()
    }

    use Dialect::{MySql, Postgres};

    #[test]
    fn a_text_is_split_into_its_statements() {
        assert_eq!(all(Postgres, b"SELECT 1;"), ["SELECT 1;"]);
        assert_eq!(
            all(Postgres, b"BEGIN; SELECT 1;\n COMMIT"),
            ["BEGIN;", "SELECT 1;", "COMMIT"]
        );
        assert_eq!(
            all(Postgres, b" ;; -- nothing;\n /* a; /* b; */ c; */ "),
            Vec::<String>::new()
        );
        assert_eq!(
            all(
                Postgres,
                b"SELECT 'a;''b'; SELECT \"x;\" FROM t; SELECT $f$ ; $f$, $1; DO $$ ; $$"
            ),
            [
                "SELECT 'a;''b';",
                "SELECT \"x;\" FROM t;",
                "SELECT $f$ ; $f$, $1;",
                "DO $$ ; $$"
            ]
        );
        assert_eq!(all(Postgres, b"SELECT 'open;"), ["SELECT 'open;"]);
        // A backslash is an ordinary byte in a standard string, an
        // escape in E'…'.
        assert_eq!(
            all(Postgres, br"SELECT 'C:\'; SELECT E'\';'; SELECT 2"),
            [r"SELECT 'C:\';", r"SELECT E'\';';", "SELECT 2"]
        );
        assert_eq!(statement_at(Postgres, b"A; B; C", 1), Some((3, 5, true)));
        assert_eq!(statement_at(Postgres, b"A; B; C", 2), Some((6, 7, false)));
        assert_eq!(statement_at(Postgres, b"A; B; C", 3), None);
    }

    #[test]
    fn mysql_quotes_and_comments_hide_their_semicolons() {
        assert_eq!(
            all(
                MySql,
                b"SELECT 'it\\'s;'; SELECT \"a;\"\"b\"; SELECT `c;` # x;\n; SELECT 1 -- y;\n"
            ),
            [
                "SELECT 'it\\'s;';",
                "SELECT \"a;\"\"b\";",
                "SELECT `c;` # x;\n;",
                "SELECT 1 -- y;\n"
            ]
        );
        // `--` without a blank after it is two minus signs.
        assert_eq!(
            all(MySql, b"SELECT 1--1; SELECT 2"),
            ["SELECT 1--1;", "SELECT 2"]
        );
        // Comments do not nest.
        assert_eq!(
            all(
                MySql,
                b"/* a /* b */ SELECT 1; /*!40101 SET x=1; */ SELECT 2"
            ),
            ["SELECT 1;", "SELECT 2"]
        );
    }

    #[test]
    fn fingerprints_replace_literals_and_fold_blanks() {
        assert_eq!(
            fp(
                Postgres,
                b"SELECT *  FROM t\n  WHERE id = 42 AND name = 'o''brien' -- why\n"
            ),
            "SELECT * FROM t WHERE id = ? AND name = ?"
        );
        assert_eq!(
            fp(
                Postgres,
                b"select a1, \"Col 2\" from t2 where x in (1, 2.5e-3, .5)"
            ),
            "select a1, \"Col 2\" from t2 where x in (?, ?, ?)"
        );
        assert_eq!(
            fp(
                Postgres,
                b"SELECT $1, $body$ x; y $body$ /* c */ ,E'a\\'b', U&'d', x'1f'"
            ),
            "SELECT $1, ? ,?, ?, ?"
        );
        assert_eq!(
            fp(Postgres, b"INSERT INTO t VALUES (42, 'forty-two', now());"),
            "INSERT INTO t VALUES (?, ?, now());"
        );
        assert_eq!(
            fp(
                MySql,
                b"SELECT `a`, \"s\\\"t\", _utf8mb4'x', 0x1F, X'ab' FROM t WHERE id = ? # c\n LIMIT 10"
            ),
            "SELECT `a`, ?, ?, ?, ? FROM t WHERE id = ? LIMIT ?"
        );
        // Bounded by its buffer, whatever the text.
        let mut small = [0u8; 4];
        assert_eq!(fingerprint(Postgres, b"SELECT 1", &mut small), 4);
        assert_eq!(fingerprint(Postgres, b"'unterminated", &mut small), 1);
    }

    #[test]
    fn values_are_kept_found_and_dropped_within_the_capacity() {
        let mut frag = Vec::with_capacity(150);
        let v = |b: &'static [u8]| (Value::Text(b), true);
        assert!(Kept::put_values(
            &mut frag,
            1,
            [v(b"a"), (Value::Null, true)].into_iter()
        ));
        let long = [7u8; 100];
        assert!(Kept::put_values(
            &mut frag,
            2,
            [(Value::Binary(&long, Binary::Hex), true), v(b"b"), v(b"c")].into_iter()
        ));
        // No room for all of the third: what fits, marked cut.
        assert!(Kept::put_values(
            &mut frag,
            3,
            [v(b"d"), (Value::Binary(&long, Binary::Hex), true)].into_iter()
        ));
        assert!(frag.len() <= 150 && frag.capacity() == 150);
        let json = |items: &[u8]| {
            let mut out = Vec::new();
            let mut w = JsonWriter::new(&mut out);
            Kept::write_values(&mut w, "v", "cut", items);
            w.finish();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            json(Kept::find(&frag, 1).unwrap()),
            "{\"v\":[\"a\",null]}\n"
        );
        let two = json(Kept::find(&frag, 2).unwrap());
        assert!(
            two.starts_with("{\"v\":[\"\\\\x0707")
                && two.ends_with(",\"b\",\"c\"],\"cut\":true}\n"),
            "{two}"
        );
        assert_eq!(
            json(Kept::find(&frag, 3).unwrap()),
            "{\"v\":[\"d\"],\"cut\":true}\n"
        );
        Kept::retain(&mut frag, |k| k == 3);
        assert!(Kept::find(&frag, 1).is_none() && Kept::find(&frag, 2).is_none());
        assert_eq!(
            json(Kept::find(&frag, 3).unwrap()),
            "{\"v\":[\"d\"],\"cut\":true}\n"
        );
        // A buffer without room for a header takes nothing.
        let mut full = Vec::with_capacity(4);
        assert!(!Kept::put_values(&mut full, 9, [v(b"x")].into_iter()) && full.is_empty());
        let mut full = Vec::with_capacity(8);
        // A text whole or not at all.
        assert!(!Kept::put_bytes(&mut full, 9, b"abc") && full.is_empty());
        assert!(Kept::put_bytes(&mut full, 9, b"ab") && Kept::find(&full, 9) == Some(&b"ab"[..]));
    }

    #[test]
    fn binary_values_read_as_their_types() {
        let t = |b: Binary, v: &[u8], whole: bool| {
            let mut out = [0u8; 2 + 2 * VALUE_KEEP];
            String::from_utf8(b.text(v, whole, &mut out).to_vec()).unwrap()
        };
        assert_eq!(t(Binary::Int, &(-2i16).to_be_bytes(), true), "-2");
        assert_eq!(t(Binary::Int, &70000i32.to_be_bytes(), true), "70000");
        assert_eq!(
            t(Binary::Int, &i64::MIN.to_be_bytes(), true),
            i64::MIN.to_string()
        );
        assert_eq!(t(Binary::Float, &1.5f64.to_be_bytes(), true), "1.5");
        assert_eq!(t(Binary::Float, &20f64.to_be_bytes(), true), "20");
        assert_eq!(t(Binary::Float, &0.1f32.to_be_bytes(), true), "0.1");
        assert_eq!(t(Binary::Float, &f64::NAN.to_be_bytes(), true), "NaN");
        assert_eq!(
            t(Binary::Float, &f64::NEG_INFINITY.to_be_bytes(), true),
            "-Infinity"
        );
        assert_eq!(t(Binary::Bool, &[1], true), "t");
        let uuid = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7,
        ];
        assert_eq!(
            t(Binary::Uuid, &uuid, true),
            "12345678-9abc-def0-0001-020304050607"
        );
        assert_eq!(t(Binary::Text, "é".as_bytes(), true), "é");
        assert_eq!(t(Binary::Text, b"", true), "");
        // A length the type does not have, or a value cut: its bytes.
        assert_eq!(t(Binary::Int, &[0, 0, 1], true), "\\x000001");
        assert_eq!(t(Binary::Int, &[0, 0, 0, 1], false), "\\x00000001");
        assert_eq!(t(Binary::Hex, &[0xff], true), "\\xff");
        assert_eq!(t(Binary::Hex, &[], true), "\\x");
        // MySQL's: little-endian, 1-byte and unsigned integers, dates
        // and times from their structs.
        assert_eq!(t(Binary::IntLe, &[0x80], true), "-128");
        assert_eq!(t(Binary::IntLe, &(-3i16).to_le_bytes(), true), "-3");
        assert_eq!(
            t(Binary::UintLe, &u32::MAX.to_le_bytes(), true),
            "4294967295"
        );
        assert_eq!(
            t(Binary::UintLe, &u64::MAX.to_le_bytes(), true),
            u64::MAX.to_string()
        );
        assert_eq!(t(Binary::FloatLe, &2.5f32.to_le_bytes(), true), "2.5");
        assert_eq!(t(Binary::FloatLe, &(-0.25f64).to_le_bytes(), true), "-0.25");
        assert_eq!(t(Binary::Date, &[0xe8, 7, 12, 31], true), "2024-12-31");
        assert_eq!(t(Binary::Date, &[], true), "0000-00-00");
        assert_eq!(
            t(Binary::DateTime, &[0xe8, 7, 12, 31], true),
            "2024-12-31 00:00:00"
        );
        assert_eq!(
            t(
                Binary::DateTime,
                &[0xe8, 7, 12, 31, 23, 59, 58, 1, 0, 0, 0],
                true
            ),
            "2024-12-31 23:59:58.000001"
        );
        assert_eq!(t(Binary::Time, &[], true), "00:00:00");
        assert_eq!(t(Binary::Time, &[0, 0, 0, 0, 0, 1, 2, 3], true), "01:02:03");
        assert_eq!(
            t(
                Binary::Time,
                &[1, 2, 0, 0, 0, 1, 2, 3, 0x20, 0xa1, 0x07, 0],
                true
            ),
            "-49:02:03.500000"
        );
        assert_eq!(t(Binary::Date, &[1, 2, 3], true), "\\x010203");
        assert_eq!(t(Binary::IntLe, &[1, 2, 3], true), "\\x010203");
        for c in 0..32 {
            assert_eq!(Binary::of(Binary::of(c) as u8), Binary::of(c));
            assert!((Binary::of(c) as u8) < 32, "fits the item's flags");
        }
    }

    #[test]
    fn total_on_any_bytes() {
        let mut x: u32 = 1;
        for n in 0..4000usize {
            let mut b = [0u8; 24];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Mostly the bytes the lexer cares about.
                *v = b"'\"`$-#/*;\\ eE1_xU&?"[(x as usize) % 19];
                if x & 0x100 != 0 {
                    *v = x as u8;
                }
            }
            let b = &b[..n % 25];
            for d in [Postgres, MySql] {
                let _ = (statement_at(d, b, n % 4), next_statement(d, b, n % 7));
                let mut out = [0; 32];
                assert!(fingerprint(d, b, &mut out) <= b.len());
                // Statements cover the text in order, without overlap.
                let mut at = 0;
                while let Some((s, e)) = next_statement(d, b, at) {
                    assert!(at <= s && s < e && e <= b.len());
                    at = e;
                }
            }
        }
    }
}
