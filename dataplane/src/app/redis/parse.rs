//! Pure RESP2/RESP3 parsing for the Redis analyzer: item headers and bulk
//! payloads, inline commands, the nesting walk, the probe, and the command
//! table. The only state is [`Walk`]'s fixed stack.
//!
//! Invariants:
//! - Every function is total: any input gives an answer, never a panic.
//! - Nothing allocates, and a length or count read from the wire sizes
//!   nothing: it is returned for the caller to consume or skip.
//! - [`Parsed::Need`] only while more bytes can still make a valid item, so
//!   a prefix of a valid message never gives `Bad` or a wrong value, and a
//!   header that cannot become valid is `Bad` as soon as that shows.
//! - Header lines are bounded by [`MAX_LINE`], nesting by [`MAX_DEPTH`].
//!
//! RESP3 streamed strings and aggregates (`$?`, `*?`) are not supported:
//! Redis never sends them to clients, and they parse as `Bad`.

use std::cmp::Ordering;

/// Longest header line, type byte and CRLF included; the same bound holds
/// for an inline command line (Redis's own inline limit is 64 KiB).
pub const MAX_LINE: usize = 64 * 1024;

/// Deepest nesting of aggregates a [`Walk`] follows.
pub const MAX_DEPTH: usize = 32;

/// Longest command name kept by [`command_name_upper`].
pub const NAME_MAX: usize = 32;

/// A verbatim string's payload starts with a 3-byte format and a `:`.
const VERBATIM_PREFIX: usize = 4;

/// The answer of a parsing function over bytes that may be incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A complete, valid item.
    Done(T),
    /// Valid so far; more bytes are needed.
    Need,
    /// Cannot become valid, whatever follows.
    Bad,
}

/// A RESP type; its discriminant is an item's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A line of text.
    Simple = b'+',
    /// A line of error text.
    Error = b'-',
    /// A signed 64-bit integer.
    Integer = b':',
    /// A length-prefixed string (RESP2 null: `$-1`).
    Bulk = b'$',
    /// An array of elements (RESP2 null: `*-1`).
    Array = b'*',
    /// The RESP3 null.
    Null = b'_',
    /// `t` or `f`.
    Boolean = b'#',
    /// A floating point number.
    Double = b',',
    /// An integer of any size.
    BigNumber = b'(',
    /// A length-prefixed error.
    BulkError = b'!',
    /// A length-prefixed string starting with a format such as `txt:`.
    Verbatim = b'=',
    /// Key/value pairs; the count is of pairs.
    Map = b'%',
    /// An unordered collection.
    Set = b'~',
    /// Pairs of metadata about the value that follows.
    Attribute = b'|',
    /// Out-of-band data, shaped like an array.
    Push = b'>',
}

impl Kind {
    /// Every kind, in the order of [`Kind`]'s variants.
    pub const ALL: [Kind; 15] = [
        Kind::Simple,
        Kind::Error,
        Kind::Integer,
        Kind::Bulk,
        Kind::Array,
        Kind::Null,
        Kind::Boolean,
        Kind::Double,
        Kind::BigNumber,
        Kind::BulkError,
        Kind::Verbatim,
        Kind::Map,
        Kind::Set,
        Kind::Attribute,
        Kind::Push,
    ];

    /// The kind an item starting with `b` has, if any.
    pub fn from_byte(b: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.byte() == b)
    }

    /// The first byte of an item of this kind.
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// The `snake_case` name records use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Simple => "simple_string",
            Kind::Error => "error",
            Kind::Integer => "integer",
            Kind::Bulk => "bulk_string",
            Kind::Array => "array",
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Double => "double",
            Kind::BigNumber => "big_number",
            Kind::BulkError => "bulk_error",
            Kind::Verbatim => "verbatim_string",
            Kind::Map => "map",
            Kind::Set => "set",
            Kind::Attribute => "attribute",
            Kind::Push => "push",
        }
    }

    /// Whether the header is followed by a count of elements.
    pub fn is_aggregate(self) -> bool {
        matches!(
            self,
            Kind::Array | Kind::Map | Kind::Set | Kind::Attribute | Kind::Push
        )
    }

    /// Whether the header is followed by a payload of `len` bytes and CRLF.
    pub fn has_payload(self) -> bool {
        matches!(self, Kind::Bulk | Kind::BulkError | Kind::Verbatim)
    }

    /// Whether the count is of pairs (two elements each).
    pub fn is_paired(self) -> bool {
        matches!(self, Kind::Map | Kind::Attribute)
    }
}

/// One item's header line, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    /// The type.
    pub kind: Kind,
    /// The line between the type byte and CRLF.
    pub line: &'a [u8],
    /// Payload length (`$ ! =`), element count (`* ~ >`) or pair count
    /// (`% |`), -1 for RESP2 nulls; the value for `:`; else 0.
    pub len: i64,
    /// Bytes of the header: type byte, line and CRLF.
    pub size: usize,
}

impl Head<'_> {
    /// Bytes after the header that belong to this item's payload, CRLF
    /// included: `len + 2` for a non-null `$ ! =`, else 0.
    pub fn payload_size(&self) -> u64 {
        if !self.kind.has_payload() {
            return 0;
        }
        u64::try_from(self.len).map_or(0, |n| n + 2)
    }

    /// Whether the item is a null: `_`, `$-1` or `*-1`.
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null || (self.len < 0 && self.kind != Kind::Integer)
    }
}

/// Parses the header of the item at the start of `data`.
pub fn head(data: &[u8]) -> Parsed<Head<'_>> {
    let Some(&first) = data.first() else {
        return Parsed::Need;
    };
    let Some(kind) = Kind::from_byte(first) else {
        return Parsed::Bad;
    };
    let window = data.get(1..data.len().min(MAX_LINE)).unwrap_or_default();
    match line_end(window) {
        LineEnd::At(n) => {
            let line = window.get(..n).unwrap_or_default();
            match check(kind, line, true) {
                Some(len) => Parsed::Done(Head {
                    kind,
                    line,
                    len,
                    size: n + 3,
                }),
                None => Parsed::Bad,
            }
        }
        LineEnd::Open if data.len() < MAX_LINE => {
            let part = window.strip_suffix(b"\r").unwrap_or(window);
            match check(kind, part, false) {
                Some(_) => Parsed::Need,
                None => Parsed::Bad,
            }
        }
        LineEnd::Open | LineEnd::Broken => Parsed::Bad,
    }
}

/// Where a header line ends.
enum LineEnd {
    /// CRLF at this index.
    At(usize),
    /// No CRLF yet (possibly a final CR).
    Open,
    /// A CR or LF alone.
    Broken,
}

fn line_end(s: &[u8]) -> LineEnd {
    let Some(i) = s.iter().position(|&c| c == b'\r' || c == b'\n') else {
        return LineEnd::Open;
    };
    match (s.get(i), s.get(i + 1)) {
        (Some(b'\r'), None) => LineEnd::Open,
        (Some(b'\r'), Some(b'\n')) => LineEnd::At(i),
        _ => LineEnd::Broken,
    }
}

/// Validates a header line of `kind`, or (`done` false) the start of one;
/// gives the header's `len` (meaningless for a line not yet ended).
fn check(kind: Kind, line: &[u8], done: bool) -> Option<i64> {
    let maybe = |ok: bool| ok.then_some(0);
    match kind {
        Kind::Simple | Kind::Error => Some(0),
        Kind::Integer => int(line, true, done),
        Kind::Bulk | Kind::Array => length(line, true, done),
        Kind::Verbatim => length(line, false, done)
            .filter(|&n| !done || usize::try_from(n).is_ok_and(|n| n >= VERBATIM_PREFIX)),
        Kind::BulkError | Kind::Map | Kind::Set | Kind::Attribute | Kind::Push => {
            length(line, false, done)
        }
        Kind::Null => maybe(line.is_empty()),
        Kind::Boolean => maybe(matches!(line, b"t" | b"f") || (!done && line.is_empty())),
        Kind::Double if done => maybe(double(line)),
        Kind::Double => maybe(line.iter().all(u8::is_ascii_graphic)),
        Kind::BigNumber => {
            let digits = strip_sign(line).1;
            maybe(digits.iter().all(u8::is_ascii_digit) && (!done || !digits.is_empty()))
        }
    }
}

/// Splits a leading `-` (true) or `+` off.
fn strip_sign(s: &[u8]) -> (bool, &[u8]) {
    match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    }
}

/// A decimal `i64`, with an optional sign if `signed`; when not `done`,
/// any start of one (its value is then the digits so far).
fn int(s: &[u8], signed: bool, done: bool) -> Option<i64> {
    let (neg, digits) = if signed { strip_sign(s) } else { (false, s) };
    if digits.is_empty() {
        return (!done).then_some(0);
    }
    let mut mag = 0u64;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        mag = mag.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        0i64.checked_sub_unsigned(mag)
    } else {
        i64::try_from(mag).ok()
    }
}

/// A length or count: digits, or `-1` when `null_ok`.
fn length(s: &[u8], null_ok: bool, done: bool) -> Option<i64> {
    match s.strip_prefix(b"-") {
        Some(rest) if null_ok && (rest == b"1" || (!done && rest.is_empty())) => Some(-1),
        Some(_) => None,
        None => int(s, false, done),
    }
}

/// A RESP3 double: `[sign] digits [. digits] [e|E [sign] digits]`, or
/// `inf`, `infinity`, `nan` in any case, or `nan(...)` as libc writes it
/// (Redis before 7.2 sent what libc wrote).
fn double(s: &[u8]) -> bool {
    let body = strip_sign(s).1;
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return true;
    }
    if body
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"nan"))
    {
        return match body.get(3..).unwrap_or_default() {
            [] => true,
            [b'(', inner @ .., b')'] => inner
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_'),
            _ => false,
        };
    }
    let digits = |from: usize| {
        from + body
            .iter()
            .skip(from)
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = digits(0);
    if i == 0 {
        return false;
    }
    if body.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == body.len()
}

/// The payload of a `$ ! =` item from `rest`, the bytes after its header:
/// `len` bytes followed by CRLF (a verbatim string's fourth byte must be
/// `:`). Other kinds and nulls have an empty one.
pub fn payload<'a>(h: &Head<'_>, rest: &'a [u8]) -> Parsed<&'a [u8]> {
    if !h.kind.has_payload() || h.len < 0 {
        return Parsed::Done(&[]);
    }
    let Ok(len) = usize::try_from(h.len) else {
        return Parsed::Need;
    };
    if h.kind == Kind::Verbatim && rest.get(VERBATIM_PREFIX - 1).is_some_and(|&c| c != b':') {
        return Parsed::Bad;
    }
    let trailer = rest.get(len..).unwrap_or_default();
    let trailer = trailer.get(..2).unwrap_or(trailer);
    if !b"\r\n".starts_with(trailer) {
        return Parsed::Bad;
    }
    match rest.get(..len) {
        Some(body) if trailer.len() == 2 => Parsed::Done(body),
        _ => Parsed::Need,
    }
}

/// The length of the inline command line at the start of `data`, up to and
/// including its `\n` (a `\r` before it is part of the line).
pub fn inline_end(data: &[u8]) -> Parsed<usize> {
    let window = data.get(..MAX_LINE).unwrap_or(data);
    match window.iter().position(|&c| c == b'\n') {
        Some(i) => Parsed::Done(i + 1),
        None if data.len() < MAX_LINE => Parsed::Need,
        None => Parsed::Bad,
    }
}

/// One argument of an inline command, as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg<'a> {
    /// The argument's bytes. A token wholly in quotes comes without them;
    /// one that mixes bare and quoted parts (`a"b c"`) comes whole.
    pub raw: &'a [u8],
    /// Whether quoting was used, so `raw` still holds escapes: `\n \r \t
    /// \b \a \\ \" \xHH` in double quotes, `\'` in single quotes.
    pub quoted: bool,
}

/// An inline line with an unterminated quote, or a closing quote followed
/// by something other than a space (Redis: "unbalanced quotes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unbalanced;

/// Splits an inline command line into arguments as Redis does, calling
/// `f` on each until it returns false; gives the number of calls. Like
/// Redis, splitting stops at a NUL byte.
///
/// # Errors
///
/// [`Unbalanced`] for unbalanced quotes, before any call of `f`.
pub fn inline_args<'a>(
    line: &'a [u8],
    mut f: impl FnMut(Arg<'a>) -> bool,
) -> Result<usize, Unbalanced> {
    let line = line.split(|&c| c == 0).next().unwrap_or_default();
    let mut pos = 0;
    while let Some((_, next)) = next_arg(line, pos)? {
        pos = next;
    }
    let (mut pos, mut calls) = (0, 0);
    while let Some((arg, next)) = next_arg(line, pos)? {
        calls += 1;
        pos = next;
        if !f(arg) {
            break;
        }
    }
    Ok(calls)
}

/// C's `isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The argument starting at or after `from`, and where the next search
/// starts.
fn next_arg(line: &[u8], from: usize) -> Result<Option<(Arg<'_>, usize)>, Unbalanced> {
    let rest = line.get(from..).unwrap_or_default();
    let Some(start) = rest.iter().position(|&c| !is_space(c)).map(|i| from + i) else {
        return Ok(None);
    };
    let mut i = start;
    while let Some(&c) = line.get(i) {
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            break;
        }
        if c == b'"' || c == b'\'' {
            let close = closing_quote(line, i + 1, c).ok_or(Unbalanced)?;
            if line.get(close + 1).is_some_and(|&c| !is_space(c)) {
                return Err(Unbalanced);
            }
            let raw = if i == start {
                line.get(start + 1..close)
            } else {
                line.get(start..=close)
            };
            let arg = Arg {
                raw: raw.unwrap_or_default(),
                quoted: true,
            };
            return Ok(Some((arg, close + 1)));
        }
        i += 1;
    }
    let raw = line.get(start..i).unwrap_or_default();
    Ok(Some((Arg { raw, quoted: false }, i)))
}

/// The index of the quote `q` closing a quoted part that starts at `from`.
fn closing_quote(line: &[u8], from: usize, q: u8) -> Option<usize> {
    let mut i = from;
    while let Some(&c) = line.get(i) {
        let escaped = line.get(i + 1).is_some_and(|&n| q == b'"' || n == b'\'');
        if c == b'\\' && escaped {
            i += 2;
        } else if c == q {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

/// One open aggregate of a [`Walk`].
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Elements still to come (pairs counted twice, saturating).
    left: u64,
    /// Whether this level is an attribute, which is not an element itself.
    attribute: bool,
}

/// Follows nested values header by header, to tell when a top-level value
/// is complete. Counts from the wire size nothing; nesting deeper than
/// [`MAX_DEPTH`] is refused.
#[derive(Debug, Clone)]
pub struct Walk {
    levels: [Level; MAX_DEPTH],
    depth: usize,
    /// A top-level attribute was seen; its value has not begun.
    annotated: bool,
}

/// An aggregate would nest deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

impl Default for Walk {
    fn default() -> Self {
        Walk::new()
    }
}

impl Walk {
    /// A walk at top level.
    pub const fn new() -> Self {
        Walk {
            levels: [Level {
                left: 0,
                attribute: false,
            }; MAX_DEPTH],
            depth: 0,
            annotated: false,
        }
    }

    /// Takes the next item's header (after the caller consumed or skipped
    /// the payload of a `$ ! =` item); true when it completes a top-level
    /// value. An attribute, with its elements, is not a value: the value it
    /// annotates is still awaited.
    ///
    /// # Errors
    ///
    /// [`TooDeep`] when `h` would open a level past [`MAX_DEPTH`]; the walk
    /// is unchanged, and the caller gives up on the stream or resets it.
    pub fn push(&mut self, h: &Head<'_>) -> Result<bool, TooDeep> {
        let attribute = h.kind == Kind::Attribute;
        if h.kind.is_aggregate() && h.len > 0 {
            let count = h.len.unsigned_abs();
            let left = if h.kind.is_paired() {
                count.saturating_mul(2)
            } else {
                count
            };
            let level = self.levels.get_mut(self.depth).ok_or(TooDeep)?;
            *level = Level { left, attribute };
            self.depth += 1;
            return Ok(false);
        }
        if attribute {
            self.annotated |= self.depth == 0;
            return Ok(false);
        }
        Ok(self.complete())
    }

    /// One element is complete: closes the levels it completes.
    fn complete(&mut self) -> bool {
        while let Some(top) = self
            .depth
            .checked_sub(1)
            .and_then(|i| self.levels.get_mut(i))
        {
            top.left = top.left.saturating_sub(1);
            if top.left > 0 {
                return false;
            }
            let attribute = top.attribute;
            self.depth -= 1;
            if attribute {
                self.annotated |= self.depth == 0;
                return false;
            }
        }
        self.annotated = false;
        true
    }

    /// Open aggregates.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Whether no value has begun (not even an attribute before one).
    pub fn is_idle(&self) -> bool {
        self.depth == 0 && !self.annotated
    }

    /// Whether the next item is inside an attribute (metadata).
    pub fn in_attribute(&self) -> bool {
        self.levels.iter().take(self.depth).any(|l| l.attribute)
    }

    /// Back to top level, as after [`Walk::new`].
    pub fn reset(&mut self) {
        *self = Walk::new();
    }
}

/// What a probe concludes about a stream's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Redis.
    Yes,
    /// Could be Redis: too few bytes to tell, or nothing Redis-specific.
    Maybe,
    /// Not Redis.
    No,
}

/// Whether `data`, the first bytes of direction `dir` (0 client, else
/// server), are Redis. Only a framed command (an array whose first bulk
/// string is a known command) is `Yes`; an inline command is at most
/// `Maybe` because its words are shared with HTTP, SMTP, FTP and others.
/// A server speaking first is not Redis-like: any valid header is `Maybe`.
pub fn probe(dir: usize, data: &[u8]) -> Probe {
    if dir != 0 {
        return match head(data) {
            Parsed::Bad => Probe::No,
            _ => Probe::Maybe,
        };
    }
    match data.first() {
        None => Probe::Maybe,
        Some(b'*') => probe_framed(data),
        Some(c) if c.is_ascii_alphabetic() => probe_inline(data),
        Some(_) => Probe::No,
    }
}

fn probe_framed(data: &[u8]) -> Probe {
    let array = match head(data) {
        Parsed::Done(h) if h.len > 0 => h,
        Parsed::Need => return Probe::Maybe,
        _ => return Probe::No,
    };
    let rest = data.get(array.size..).unwrap_or_default();
    match rest.first() {
        None => return Probe::Maybe,
        Some(b'$') => {}
        Some(_) => return Probe::No,
    }
    let name = match head(rest) {
        Parsed::Done(h) => h,
        Parsed::Need => return Probe::Maybe,
        Parsed::Bad => return Probe::No,
    };
    let Some(len) = usize::try_from(name.len)
        .ok()
        .filter(|n| (1..=NAME_MAX).contains(n))
    else {
        return Probe::No;
    };
    let body = rest.get(name.size..).unwrap_or_default();
    let part = body.get(..len).unwrap_or(body);
    match payload(&name, body) {
        Parsed::Done(n) if known_command(n) => Probe::Yes,
        Parsed::Need if part.len() == len && known_command(part) => Probe::Maybe,
        Parsed::Need if part.len() < len && could_be_command(part) => Probe::Maybe,
        _ => Probe::No,
    }
}

fn probe_inline(data: &[u8]) -> Probe {
    let (line, ended) = match inline_end(data) {
        Parsed::Done(n) => (data.get(..n).unwrap_or_default(), true),
        Parsed::Need => (data, false),
        Parsed::Bad => return Probe::No,
    };
    let control = |c: u8| c == 0x7f || (c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n'));
    if line.iter().any(|&c| control(c)) || line.windows(5).any(|w| w == b"HTTP/") {
        return Probe::No;
    }
    let word_end = line
        .iter()
        .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'));
    let word_fits = match word_end.and_then(|n| line.get(..n)) {
        Some(word) => known_command(word),
        None => could_be_command(line),
    };
    if !word_fits || (ended && inline_args(line, |_| true).is_err()) {
        return Probe::No;
    }
    Probe::Maybe
}

/// Redis commands (through 8.2, upper case, sorted by bytes) with the
/// argument index of their first key; 0 when no key sits at a fixed index
/// (no key, a channel, keys after `numkeys` or `STREAMS`, or a container
/// command whose subcommand decides). Container commands (CLIENT, CONFIG,
/// XINFO, ...) are listed by their own name.
#[rustfmt::skip]
const COMMANDS: &[(&str, u8)] = &[
    ("ACL", 0), ("APPEND", 1), ("ASKING", 0), ("AUTH", 0),
    ("BGREWRITEAOF", 0), ("BGSAVE", 0), ("BITCOUNT", 1), ("BITFIELD", 1), ("BITFIELD_RO", 1),
    ("BITOP", 2), ("BITPOS", 1), ("BLMOVE", 1), ("BLMPOP", 3), ("BLPOP", 1), ("BRPOP", 1),
    ("BRPOPLPUSH", 1), ("BZMPOP", 3), ("BZPOPMAX", 1), ("BZPOPMIN", 1),
    ("CLIENT", 0), ("CLUSTER", 0), ("COMMAND", 0), ("CONFIG", 0), ("COPY", 1),
    ("DBSIZE", 0), ("DEBUG", 0), ("DECR", 1), ("DECRBY", 1), ("DEL", 1), ("DISCARD", 0),
    ("DUMP", 1),
    ("ECHO", 0), ("EVAL", 0), ("EVALSHA", 0), ("EVALSHA_RO", 0), ("EVAL_RO", 0), ("EXEC", 0),
    ("EXISTS", 1), ("EXPIRE", 1), ("EXPIREAT", 1), ("EXPIRETIME", 1),
    ("FAILOVER", 0), ("FCALL", 0), ("FCALL_RO", 0), ("FLUSHALL", 0), ("FLUSHDB", 0),
    ("FUNCTION", 0),
    ("GEOADD", 1), ("GEODIST", 1), ("GEOHASH", 1), ("GEOPOS", 1), ("GEORADIUS", 1),
    ("GEORADIUSBYMEMBER", 1), ("GEORADIUSBYMEMBER_RO", 1), ("GEORADIUS_RO", 1), ("GEOSEARCH", 1),
    ("GEOSEARCHSTORE", 1), ("GET", 1), ("GETBIT", 1), ("GETDEL", 1), ("GETEX", 1),
    ("GETRANGE", 1), ("GETSET", 1),
    ("HDEL", 1), ("HELLO", 0), ("HEXISTS", 1), ("HEXPIRE", 1), ("HEXPIREAT", 1),
    ("HEXPIRETIME", 1), ("HGET", 1), ("HGETALL", 1), ("HGETDEL", 1), ("HGETEX", 1),
    ("HINCRBY", 1), ("HINCRBYFLOAT", 1), ("HKEYS", 1), ("HLEN", 1), ("HMGET", 1), ("HMSET", 1),
    ("HPERSIST", 1), ("HPEXPIRE", 1), ("HPEXPIREAT", 1), ("HPEXPIRETIME", 1), ("HPTTL", 1),
    ("HRANDFIELD", 1), ("HSCAN", 1), ("HSET", 1), ("HSETEX", 1), ("HSETNX", 1), ("HSTRLEN", 1),
    ("HTTL", 1), ("HVALS", 1),
    ("INCR", 1), ("INCRBY", 1), ("INCRBYFLOAT", 1), ("INFO", 0),
    ("KEYS", 0),
    ("LASTSAVE", 0), ("LATENCY", 0), ("LCS", 1), ("LINDEX", 1), ("LINSERT", 1), ("LLEN", 1),
    ("LMOVE", 1), ("LMPOP", 2), ("LOLWUT", 0), ("LPOP", 1), ("LPOS", 1), ("LPUSH", 1),
    ("LPUSHX", 1), ("LRANGE", 1), ("LREM", 1), ("LSET", 1), ("LTRIM", 1),
    ("MEMORY", 0), ("MGET", 1), ("MIGRATE", 0), ("MODULE", 0), ("MONITOR", 0), ("MOVE", 1),
    ("MSET", 1), ("MSETNX", 1), ("MULTI", 0),
    ("OBJECT", 0),
    ("PERSIST", 1), ("PEXPIRE", 1), ("PEXPIREAT", 1), ("PEXPIRETIME", 1), ("PFADD", 1),
    ("PFCOUNT", 1), ("PFDEBUG", 0), ("PFMERGE", 1), ("PFSELFTEST", 0), ("PING", 0), ("PSETEX", 1),
    ("PSUBSCRIBE", 0), ("PSYNC", 0), ("PTTL", 1), ("PUBLISH", 0), ("PUBSUB", 0),
    ("PUNSUBSCRIBE", 0),
    ("QUIT", 0),
    ("RANDOMKEY", 0), ("READONLY", 0), ("READWRITE", 0), ("RENAME", 1), ("RENAMENX", 1),
    ("REPLCONF", 0), ("REPLICAOF", 0), ("RESET", 0), ("RESTORE", 1), ("RESTORE-ASKING", 0),
    ("ROLE", 0), ("RPOP", 1), ("RPOPLPUSH", 1), ("RPUSH", 1), ("RPUSHX", 1),
    ("SADD", 1), ("SAVE", 0), ("SCAN", 0), ("SCARD", 1), ("SCRIPT", 0), ("SDIFF", 1),
    ("SDIFFSTORE", 1), ("SELECT", 0), ("SET", 1), ("SETBIT", 1), ("SETEX", 1), ("SETNX", 1),
    ("SETRANGE", 1), ("SHUTDOWN", 0), ("SINTER", 1), ("SINTERCARD", 2), ("SINTERSTORE", 1),
    ("SISMEMBER", 1), ("SLAVEOF", 0), ("SLOWLOG", 0), ("SMEMBERS", 1), ("SMISMEMBER", 1),
    ("SMOVE", 1), ("SORT", 1), ("SORT_RO", 1), ("SPOP", 1), ("SPUBLISH", 0), ("SRANDMEMBER", 1),
    ("SREM", 1), ("SSCAN", 1), ("SSUBSCRIBE", 0), ("STRLEN", 1), ("SUBSCRIBE", 0), ("SUBSTR", 1),
    ("SUNION", 1), ("SUNIONSTORE", 1), ("SUNSUBSCRIBE", 0), ("SWAPDB", 0), ("SYNC", 0),
    ("TIME", 0), ("TOUCH", 1), ("TTL", 1), ("TYPE", 1),
    ("UNLINK", 1), ("UNSUBSCRIBE", 0), ("UNWATCH", 0),
    ("VADD", 1), ("VCARD", 1), ("VDIM", 1), ("VEMB", 1), ("VGETATTR", 1), ("VINFO", 1),
    ("VLINKS", 1), ("VRANDMEMBER", 1), ("VREM", 1), ("VSETATTR", 1), ("VSIM", 1),
    ("WAIT", 0), ("WAITAOF", 0), ("WATCH", 1),
    ("XACK", 1), ("XACKDEL", 1), ("XADD", 1), ("XAUTOCLAIM", 1), ("XCLAIM", 1), ("XDEL", 1),
    ("XDELEX", 1), ("XGROUP", 0), ("XINFO", 0), ("XLEN", 1), ("XPENDING", 1), ("XRANGE", 1),
    ("XREAD", 0), ("XREADGROUP", 0), ("XREVRANGE", 1), ("XSETID", 1), ("XTRIM", 1),
    ("ZADD", 1), ("ZCARD", 1), ("ZCOUNT", 1), ("ZDIFF", 2), ("ZDIFFSTORE", 1), ("ZINCRBY", 1),
    ("ZINTER", 2), ("ZINTERCARD", 2), ("ZINTERSTORE", 1), ("ZLEXCOUNT", 1), ("ZMPOP", 2),
    ("ZMSCORE", 1), ("ZPOPMAX", 1), ("ZPOPMIN", 1), ("ZRANDMEMBER", 1), ("ZRANGE", 1),
    ("ZRANGEBYLEX", 1), ("ZRANGEBYSCORE", 1), ("ZRANGESTORE", 1), ("ZRANK", 1), ("ZREM", 1),
    ("ZREMRANGEBYLEX", 1), ("ZREMRANGEBYRANK", 1), ("ZREMRANGEBYSCORE", 1), ("ZREVRANGE", 1),
    ("ZREVRANGEBYLEX", 1), ("ZREVRANGEBYSCORE", 1), ("ZREVRANK", 1), ("ZSCAN", 1), ("ZSCORE", 1),
    ("ZUNION", 2), ("ZUNIONSTORE", 1),
];

/// Prefixes of module commands (Redis Stack, bundled since Redis 8).
const MODULE_PREFIXES: &[&[u8]] = &[
    b"BF.",
    b"CF.",
    b"CMS.",
    b"FT.",
    b"JSON.",
    b"TDIGEST.",
    b"TOPK.",
    b"TS.",
];

/// Compares a table entry with `name` upper-cased.
fn cmp_upper(entry: &str, name: &[u8]) -> Ordering {
    let name = name.iter().map(u8::to_ascii_uppercase);
    entry.bytes().cmp(name)
}

/// Whether `entry` starts with `prefix` upper-cased.
fn starts_with_upper(entry: &[u8], prefix: &[u8]) -> bool {
    entry.len() >= prefix.len()
        && entry
            .iter()
            .zip(prefix)
            .all(|(e, p)| *e == p.to_ascii_uppercase())
}

fn lookup(name: &[u8]) -> Option<u8> {
    let i = COMMANDS
        .binary_search_by(|(c, _)| cmp_upper(c, name))
        .ok()?;
    COMMANDS.get(i).map(|e| e.1)
}

/// A module command: a known prefix and then letters, digits or `_`; when
/// not `done`, any start of one.
fn module_command(name: &[u8], done: bool) -> bool {
    MODULE_PREFIXES.iter().any(|p| match name.get(..p.len()) {
        Some(head) if head.eq_ignore_ascii_case(p) => {
            let rest = name.get(p.len()..).unwrap_or_default();
            rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && (!done || !rest.is_empty())
        }
        Some(_) => false,
        None => !done && starts_with_upper(p, name),
    })
}

/// Whether `name` (any case) is a Redis command or a module command.
pub fn known_command(name: &[u8]) -> bool {
    lookup(name).is_some() || module_command(name, true)
}

/// Whether `prefix` (any case) starts a known command name.
fn could_be_command(prefix: &[u8]) -> bool {
    let i = COMMANDS.partition_point(|(c, _)| cmp_upper(c, prefix).is_lt());
    COMMANDS
        .get(i)
        .is_some_and(|(c, _)| starts_with_upper(c.as_bytes(), prefix))
        || module_command(prefix, false)
}

/// `name` upper-cased into `out`, cut at [`NAME_MAX`] bytes.
pub fn command_name_upper<'o>(name: &[u8], out: &'o mut [u8; NAME_MAX]) -> &'o [u8] {
    let n = name.len().min(NAME_MAX);
    for (o, c) in out.iter_mut().zip(name) {
        *o = c.to_ascii_uppercase();
    }
    out.get(..n).unwrap_or_default()
}

/// The argument index (the command is 0) of the first key of command
/// `cmd` (any case), from Redis's key specs. None when unknown or when no
/// key sits at a fixed index: keyless commands, channels (PUBLISH), keys
/// after `numkeys` (EVAL, FCALL), after `STREAMS` (XREAD), or chosen by a
/// subcommand (OBJECT, XGROUP). Commands with a mandatory `numkeys` before
/// the keys (ZUNION, LMPOP, BLMPOP) give the index after it.
pub fn first_key_index(cmd: &[u8]) -> Option<usize> {
    lookup(cmd).filter(|&i| i > 0).map(usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(data: &[u8]) -> Head<'_> {
        match head(data) {
            Parsed::Done(h) => h,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(data)),
        }
    }

    /// Feeds `data` item by item through `head`, `payload` and a walk: the
    /// top-level values completed, and whether the bytes end between
    /// values (`Done`), inside one (`Need`), or are malformed (`Bad`).
    fn feed(data: &[u8]) -> (usize, Parsed<()>) {
        let (mut walk, mut rest, mut values) = (Walk::new(), data, 0);
        while !rest.is_empty() {
            let h = match head(rest) {
                Parsed::Done(h) => h,
                Parsed::Need => return (values, Parsed::Need),
                Parsed::Bad => return (values, Parsed::Bad),
            };
            let after = &rest[h.size..];
            match payload(&h, after) {
                Parsed::Done(_) => {}
                Parsed::Need => return (values, Parsed::Need),
                Parsed::Bad => return (values, Parsed::Bad),
            }
            values += usize::from(walk.push(&h).expect("shallow"));
            rest = &after[h.payload_size() as usize..];
        }
        let state = if walk.is_idle() {
            Parsed::Done(())
        } else {
            Parsed::Need
        };
        (values, state)
    }

    /// The top-level `values` sent back to back: every prefix gives the
    /// values that end within it and `Need` inside one, never `Bad`; the
    /// whole gives them all and `Done`.
    fn every_split(values: &[&[u8]]) {
        let msg = values.concat();
        let ends: Vec<usize> = values
            .iter()
            .scan(0, |end, v| {
                *end += v.len();
                Some(*end)
            })
            .collect();
        for cut in 0..=msg.len() {
            let want = ends.iter().filter(|&&e| e <= cut).count();
            let between = cut == 0 || ends.contains(&cut);
            let state = if between {
                Parsed::Done(())
            } else {
                Parsed::Need
            };
            assert_eq!(feed(&msg[..cut]), (want, state), "cut at {cut}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_byte(k.byte()), Some(k));
            assert_eq!(k.is_paired(), k.name() == "map" || k.name() == "attribute");
        }
        assert_eq!(Kind::from_byte(b'@'), None);
        assert!(Kind::Push.is_aggregate() && !Kind::Bulk.is_aggregate());
        assert!(Kind::Verbatim.has_payload() && !Kind::Simple.has_payload());
    }

    #[test]
    fn every_type_header() {
        #[rustfmt::skip]
        let cases: &[(&[u8], Kind, &[u8], i64)] = &[
            (b"+OK\r\n", Kind::Simple, b"OK", 0),
            (b"-ERR unknown command\r\n", Kind::Error, b"ERR unknown command", 0),
            (b":-42\r\n", Kind::Integer, b"-42", -42), (b":+7\r\n", Kind::Integer, b"+7", 7),
            (b":-9223372036854775808\r\n", Kind::Integer, b"-9223372036854775808", i64::MIN),
            (b"$5\r\nhello\r\n", Kind::Bulk, b"5", 5),
            (b"$-1\r\n", Kind::Bulk, b"-1", -1), (b"*-1\r\n", Kind::Array, b"-1", -1), // RESP2 nulls
            (b"*2\r\n", Kind::Array, b"2", 2), (b"_\r\n", Kind::Null, b"", 0),
            (b"#t\r\n", Kind::Boolean, b"t", 0), (b"#f\r\n", Kind::Boolean, b"f", 0),
            (b",1.23\r\n", Kind::Double, b"1.23", 0), (b",10\r\n", Kind::Double, b"10", 0),
            (b",-1.5e+10\r\n", Kind::Double, b"-1.5e+10", 0), (b",-inf\r\n", Kind::Double, b"-inf", 0),
            (b",nan\r\n", Kind::Double, b"nan", 0),
            (b",-nan(ind)\r\n", Kind::Double, b"-nan(ind)", 0), // libc's, from Redis < 7.2
            (b"(-34928903284092385093248509438509\r\n", Kind::BigNumber,
                b"-34928903284092385093248509438509", 0),
            (b"!21\r\n", Kind::BulkError, b"21", 21),
            (b"=15\r\ntxt:Some string\r\n", Kind::Verbatim, b"15", 15),
            (b"%2\r\n", Kind::Map, b"2", 2), (b"~5\r\n", Kind::Set, b"5", 5), // Map: two pairs
            (b"|1\r\n", Kind::Attribute, b"1", 1), (b">3\r\n", Kind::Push, b"3", 3),
        ];
        for &(data, kind, line, len) in cases {
            let h = done(data);
            assert_eq!(
                (h.kind, h.line, h.len, h.size),
                (kind, line, len, line.len() + 3)
            );
        }
        assert!(
            done(b"_\r\n").is_null() && done(b"$-1\r\n").is_null() && !done(b":-1\r\n").is_null()
        );
        assert_eq!(done(b"$5\r\n").payload_size(), 7);
        assert_eq!(done(b"*5\r\n").payload_size(), 0);
    }

    #[test]
    fn malformed_headers_are_bad() {
        #[rustfmt::skip]
        let bad: &[&[u8]] = &[
            b"$-2\r\n", b"$abc\r\n", b"*99999999999999999999\r\n", b":+-1\r\n", b":\r\n", b":-\r\n",
            b"$\r\n", b"$-0\r\n", b"$+3\r\n", b"%-1\r\n", b"!-1\r\n", b"=3\r\n", // -1 is RESP2's, $ and * only
            b"$?\r\n", b"*?\r\n", // streamed: unsupported
            b"#x\r\n", b"#tt\r\n", b"_x\r\n", b",.5\r\n", b",1.\r\n", b",1e\r\n", b",1.5x\r\n", b",\r\n",
            b"(1.5\r\n", b"(\r\n", b"$9223372036854775808\r\n", b":9223372036854775808\r\n",
            b"+a\nb\r\n", b"+a\rb\r\n", // bare LF, bare CR
            b"@foo\r\n", b"GET\r\n", b"\x16\x03\x01", // unknown type bytes
            b"$ab", b"#x", b"_ ", b"$-1x", b"$-10", // cannot become valid: Bad at once
        ];
        for &data in bad {
            assert_eq!(
                head(data),
                Parsed::Bad,
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn big_lengths_are_values_not_sizes() {
        assert_eq!(done(b"$2147483648\r\n").len, 1 << 31); // 2^31: the caller skips it
        assert_eq!(done(b"$9223372036854775807\r\n").len, i64::MAX);
        assert_eq!(done(b"*1000000\r\n").len, 1_000_000);
        // A map of i64::MAX pairs saturates in the walk and never completes.
        let mut walk = Walk::new();
        assert_eq!(walk.push(&done(b"%9223372036854775807\r\n")), Ok(false));
        for _ in 0..4 {
            assert_eq!(walk.push(&done(b":1\r\n")), Ok(false));
        }
        assert_eq!(walk.depth(), 1);
    }

    #[test]
    fn long_lines() {
        let mut line = vec![b'+'; MAX_LINE - 1];
        assert_eq!(head(&line), Parsed::Need);
        line.push(b'+');
        assert_eq!(head(&line), Parsed::Bad);
        // A header of exactly MAX_LINE bytes is accepted.
        line.truncate(MAX_LINE - 2);
        line.extend_from_slice(b"\r\n");
        assert_eq!(done(&line).size, MAX_LINE);
        // The same bound for inline lines.
        assert_eq!(inline_end(&vec![b'a'; MAX_LINE - 1]), Parsed::Need);
        assert_eq!(inline_end(&vec![b'a'; MAX_LINE]), Parsed::Bad);
    }

    #[test]
    fn payloads() {
        let h = done(b"$5\r\n");
        assert_eq!(payload(&h, b"hello\r\n"), Parsed::Done(&b"hello"[..]));
        assert_eq!(payload(&h, b"hello\r"), Parsed::Need);
        assert_eq!(payload(&h, b"hello!"), Parsed::Bad); // no CRLF after 5 bytes
        assert_eq!(payload(&h, b"hello\rx"), Parsed::Bad);
        let v = done(b"=8\r\n");
        assert_eq!(payload(&v, b"txt:abcd\r\n"), Parsed::Done(&b"txt:abcd"[..]));
        assert_eq!(payload(&v, b"txt!"), Parsed::Bad); // format must end in ':'
        assert_eq!(payload(&done(b"$-1\r\n"), b""), Parsed::Done(&b""[..]));
    }

    #[test]
    fn split_resp3_map_with_nested_array() {
        // {"first": 1, "list": [1, "ab", #t]}, then +OK
        every_split(&[
            b"%2\r\n+first\r\n:1\r\n$4\r\nlist\r\n*3\r\n:1\r\n$2\r\nab\r\n#t\r\n",
            b"+OK\r\n",
        ]);
    }

    #[test]
    fn split_attribute_before_value() {
        // |1 {key-popularity: {a: 0.19}} then the reply [2039123, 9543892]
        every_split(&[
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
        ]);
        // An attribute on one element inside an array: [1, 2, {ttl: 3600} 3]
        every_split(&[b"*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n"]);
        // An empty attribute still awaits its value.
        every_split(&[b"|0\r\n:7\r\n"]);
    }

    #[test]
    fn split_pipelined_commands_and_push() {
        // SET k v, then GET k.
        every_split(&[
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        ]);
        // A push, a null bulk, a RESP3 null, an empty array, a verbatim string.
        every_split(&[
            b">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n",
            b"$-1\r\n",
            b"_\r\n",
            b"*0\r\n",
            b"=8\r\ntxt:ab\r\n\r\n",
        ]);
    }

    #[test]
    fn walk_depth_is_bounded() {
        let mut walk = Walk::new();
        let open = done(b"*1\r\n");
        let mut refused = 0;
        for _ in 0..1000 {
            if walk.push(&open) == Err(TooDeep) {
                refused += 1;
            }
        }
        assert_eq!((walk.depth(), refused), (MAX_DEPTH, 1000 - MAX_DEPTH));
        // Closing the innermost element completes every level.
        assert_eq!(walk.push(&done(b":1\r\n")), Ok(true));
        assert!(walk.is_idle());
    }

    #[test]
    fn walk_tracks_attributes() {
        let mut walk = Walk::new();
        assert_eq!(walk.push(&done(b"|1\r\n")), Ok(false));
        assert!(walk.in_attribute());
        walk.push(&done(b"+ttl\r\n")).unwrap();
        walk.push(&done(b":3600\r\n")).unwrap();
        assert!(!walk.in_attribute() && !walk.is_idle() && walk.depth() == 0);
        walk.reset();
        assert!(walk.is_idle());
        assert_eq!(walk.push(&done(b">0\r\n")), Ok(true)); // an empty push is a value
    }

    #[test]
    fn inline_lines() {
        assert_eq!(inline_end(b"PING\r\nPING"), Parsed::Done(6));
        assert_eq!(inline_end(b"PING\nx"), Parsed::Done(5));
        assert_eq!(inline_end(b"PIN"), Parsed::Need);
        let args = |line: &[u8]| {
            let mut out = Vec::new();
            inline_args(line, |a| {
                out.push((String::from_utf8_lossy(a.raw).into_owned(), a.quoted));
                true
            })
            .map(|n| (n, out))
        };
        let s = |t: &str, q: bool| (t.to_string(), q);
        assert_eq!(
            args(b"  SET k \"a b\\\"c\\x41\"\r\n"),
            Ok((
                3,
                vec![s("SET", false), s("k", false), s("a b\\\"c\\x41", true)]
            ))
        );
        assert_eq!(
            args(b"SET 'it\\'s' ''\n"),
            Ok((3, vec![s("SET", false), s("it\\'s", true), s("", true)]))
        );
        assert_eq!(args(b"a\"b c\"\n"), Ok((1, vec![s("a\"b c\"", true)]))); // mixed token
        assert_eq!(args(b"x\0y z"), Ok((1, vec![s("x", false)]))); // NUL ends the line
        assert_eq!(args(b"\r\n"), Ok((0, vec![])));
        for bad in [
            &b"SET k \"a b\r\n"[..],
            b"SET 'a",
            b"\"a\"b",
            b"'a\\\\'",
            b"\"a\\\"",
        ] {
            assert_eq!(
                args(bad),
                Err(Unbalanced),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut seen = 0;
        assert_eq!(
            inline_args(b"a b c", |_| {
                seen += 1;
                seen < 2
            }),
            Ok(2)
        ); // stops early
    }

    #[test]
    fn probes() {
        let cmd = b"*2\r\n$3\r\nget\r\n$1\r\nk\r\n";
        assert_eq!(probe(0, cmd), Probe::Yes);
        assert_eq!(probe(0, &cmd[..13]), Probe::Yes); // name complete
        for cut in 0..13 {
            assert_eq!(probe(0, &cmd[..cut]), Probe::Maybe, "cut {cut}");
        }
        assert_eq!(probe(0, b"*1\r\n$8\r\nJSON.GET\r\n"), Probe::Yes); // module command
        assert_eq!(probe(0, b"*1\r\n$5\r\nHELLX\r\n"), Probe::No);
        assert_eq!(probe(0, b"*1\r\n$2\r\nGX"), Probe::No); // no command starts with GX
        assert_eq!(probe(0, b"*1\r\n:1\r\n"), Probe::No); // commands are bulk strings
        assert_eq!(probe(0, b"*0\r\n"), Probe::No);
        assert_eq!(probe(0, b"PING\r\n"), Probe::Maybe); // inline: at most Maybe
        assert_eq!(probe(0, b"set k \"a b\"\r\n"), Probe::Maybe);
        assert_eq!(probe(0, b"SET k \"a b\r\n"), Probe::No); // unbalanced
        assert_eq!(probe(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Probe::No);
        assert_eq!(probe(0, b"POST / HTTP/1.1\r\n"), Probe::No);
        assert_eq!(probe(0, b"EHLO mail.example\r\n"), Probe::No);
        // TLS ClientHello record header and start of the handshake.
        assert_eq!(
            probe(0, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Probe::No
        );
        // PostgreSQL startup: length 8, protocol 3.0 (SSLRequest-like bytes).
        assert_eq!(probe(0, b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), Probe::No);
        assert_eq!(
            probe(0, b"\x00\x00\x00\x29\x00\x03\x00\x00user\x00bob\x00"),
            Probe::No
        );
        assert_eq!(probe(0, b"\xde\xad\xbe\xef\x01\x02"), Probe::No); // junk
        assert_eq!(probe(0, b"*\xff"), Probe::No);
        assert_eq!(probe(0, b""), Probe::Maybe);
        // Server first: any valid header is only Maybe.
        assert_eq!(probe(1, b"+OK\r\n"), Probe::Maybe);
        assert_eq!(probe(1, b"-ERR"), Probe::Maybe);
        assert_eq!(probe(1, b"HTTP/1.1 200 OK\r\n"), Probe::No);
        assert_eq!(probe(1, b"\x16\x03\x03"), Probe::No);
    }

    #[test]
    fn command_tables() {
        for pair in COMMANDS.windows(2) {
            assert!(pair[0].0.as_bytes() < pair[1].0.as_bytes(), "{:?}", pair);
        }
        for (name, _) in COMMANDS {
            assert!(name.len() <= NAME_MAX && !name.bytes().any(|c| c.is_ascii_lowercase()));
        }
        for name in [
            "get",
            "Client",
            "XINFO",
            "restore-asking",
            "geoRadius_ro",
            "ft.search",
        ] {
            assert!(known_command(name.as_bytes()), "{name}");
        }
        for name in ["", "GE", "GETT", "HTTP", "FT.", "JSON.x y", "DELETE"] {
            assert!(!known_command(name.as_bytes()), "{name}");
        }
        assert!(could_be_command(b"geo") && could_be_command(b"jso") && !could_be_command(b"zz"));
        let key = |c: &str| first_key_index(c.as_bytes());
        assert_eq!(
            (key("get"), key("SET"), key("hset"), key("LPUSH")),
            (Some(1), Some(1), Some(1), Some(1))
        );
        assert_eq!(
            (key("BITOP"), key("zunion"), key("BLMPOP")),
            (Some(2), Some(2), Some(3))
        );
        for c in [
            "PING", "AUTH", "HELLO", "CLIENT", "INFO", "SELECT", "PUBLISH", "EVAL", "XREAD", "nope",
        ] {
            assert_eq!(key(c), None, "{c}");
        }
        let mut out = [0u8; NAME_MAX];
        assert_eq!(command_name_upper(b"hGetAll", &mut out), b"HGETALL");
        assert_eq!(
            command_name_upper(&[b'a'; 40], &mut out),
            &[b'A'; NAME_MAX][..]
        );
    }

    #[test]
    fn total_on_random_bytes() {
        // xorshift; bytes drawn mostly from RESP's alphabet to reach deep paths.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"+-:$*_#,(!=%~|>0123456789\r\n-1tfnaie.\"' \\xGETSET";
        let mut buf = [0u8; 48];
        for _ in 0..20_000 {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if x & 7 == 0 {
                    x as u8
                } else {
                    alphabet[(x >> 8) as usize % alphabet.len()]
                };
            }
            let n = (x >> 40) as usize % buf.len();
            let data = &buf[..n];
            let _ = (feed(data), probe(0, data), probe(1, data), inline_end(data));
            let _ = inline_args(data, |_| true);
        }
    }
}
