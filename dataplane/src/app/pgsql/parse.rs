//! Pure PostgreSQL (frontend/backend protocol 3.x) parsing: message
//! framing, the probe, and the fields of the messages the analyzer reads.
//!
//! Invariants:
//! - Every function is total: any input gives an answer, never a panic.
//! - Nothing allocates; every length read from the wire is checked against
//!   the bytes at hand before anything is read through it, and sizes
//!   nothing: a frame's length is returned for the caller to read, or to
//!   skip when it is long.
//!
//! Startup-phase messages (from the client, before the StartupMessage is
//! answered) have no type byte: an int32 length (itself included) and an
//! int32 code. Every later message is a type byte and an int32 length
//! (itself included, the type byte not).

pub use crate::app::analyzer::Probe;
pub use crate::app::sql::{cstr, cstr_prefix};
use crate::app::sql::{Binary, Value, VALUES_MAX};

/// SSLRequest's code.
pub const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest's code.
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// CancelRequest's code.
pub const CANCEL_REQUEST: u32 = 80_877_102;
/// StartupMessage of protocol 3.0 (3.x: the minor in the low 16 bits).
pub const PROTOCOL_3: u32 = 3 << 16;
/// The longest startup packet a server accepts (PostgreSQL's own bound).
pub const MAX_STARTUP: usize = 10_000;
/// A typed message's length is an int32: more is not PostgreSQL.
pub const MAX_LEN: u32 = i32::MAX as u32;

/// A message's place in the bytes at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Fewer bytes than the header: this many are wanted in all.
    Need(usize),
    /// A message: its type (0 for a startup-phase message), the bytes of
    /// its header, and the bytes of its body (which may not all be here).
    Msg {
        /// The type byte, 0 without one.
        ty: u8,
        /// Header bytes (5 typed, 4 untyped).
        hdr: usize,
        /// Body bytes the length announces.
        body: usize,
    },
    /// Not a message of the protocol.
    Bad,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// A startup-phase message (no type byte): its length bounds it to
/// [8, [`MAX_STARTUP`]].
pub fn startup_frame(data: &[u8]) -> Frame {
    let Some(len) = be32(data, 0) else {
        return Frame::Need(4);
    };
    if !(8..=MAX_STARTUP as u32).contains(&len) {
        return Frame::Bad;
    }
    Frame::Msg {
        ty: 0,
        hdr: 4,
        body: len as usize - 4,
    }
}

/// Whether `ty` is a message type the client sends (`dir` 0) or the
/// server (`dir` 1).
pub fn known_type(dir: usize, ty: u8) -> bool {
    if dir == 0 {
        b"BCcdDEfFHPpQSX".contains(&ty)
    } else {
        b"RK23CdcGHWDIEVvnNAtS1sZT".contains(&ty)
    }
}

/// The smallest and largest body a message of type `ty` from `dir` may
/// have (messages of a fixed size say so; others are bounded by the
/// int32 only).
pub fn body_bounds(dir: usize, ty: u8) -> (usize, usize) {
    let any = MAX_LEN as usize - 4;
    match (dir, ty) {
        (1, b'Z') => (1, 1),
        (1, b'1' | b'2' | b'3' | b'n' | b'I' | b's') => (0, 0),
        (0, b'S' | b'H' | b'X' | b'c') => (0, 0),
        // Protocol 3.2 lets the secret key be up to 256 bytes.
        (1, b'K') => (8, 4 + 256),
        (1, b'R') => (4, any),
        (0, b'E') => (5, any),
        (0, b'D' | b'C') => (2, any),
        _ => (0, any),
    }
}

/// A typed message from `dir`: a known type and a length its type allows.
pub fn typed_frame(dir: usize, data: &[u8]) -> Frame {
    let Some(&ty) = data.first() else {
        return Frame::Need(5);
    };
    if !known_type(dir, ty) {
        return Frame::Bad;
    }
    let Some(len) = be32(data, 1) else {
        return Frame::Need(5);
    };
    if !(4..=MAX_LEN).contains(&len) {
        return Frame::Bad;
    }
    let body = len as usize - 4;
    let (lo, hi) = body_bounds(dir, ty);
    if body < lo || body > hi {
        return Frame::Bad;
    }
    Frame::Msg { ty, hdr: 5, body }
}

/// Whether a chunk that follows a gap starts at a message boundary: a
/// message that frames and ends inside the chunk, followed by the end of
/// the chunk or by another message's header (or the start of one). Bytes
/// in the middle of a message rarely pass both.
pub fn resyncs(dir: usize, data: &[u8]) -> bool {
    let Frame::Msg { hdr, body, .. } = typed_frame(dir, data) else {
        return false;
    };
    let Some(rest) = data.get(hdr + body..) else {
        return false;
    };
    rest.is_empty() || !matches!(typed_frame(dir, rest), Frame::Bad)
}

/// What a StartupMessage says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Startup<'a> {
    /// The protocol version asked for (major << 16 | minor).
    pub version: u32,
    /// `user`.
    pub user: Option<&'a [u8]>,
    /// `database`.
    pub database: Option<&'a [u8]>,
    /// `application_name`.
    pub application_name: Option<&'a [u8]>,
    /// `replication`, when asked.
    pub replication: Option<&'a [u8]>,
    /// Parameters sent, all of them.
    pub params: u32,
}

/// A StartupMessage's body (after the length): the version and its
/// parameters, name and value pairs ending with an empty name. `None`
/// when it is not one, or its pairs are not well formed.
pub fn startup(body: &[u8]) -> Option<Startup<'_>> {
    let version = be32(body, 0)?;
    if version >> 16 != 3 {
        return None;
    }
    let mut s = Startup {
        version,
        ..Startup::default()
    };
    let mut at = 4;
    loop {
        let (name, next) = cstr(body, at)?;
        if name.is_empty() {
            return Some(s);
        }
        let (value, next) = cstr(body, next)?;
        match name {
            b"user" => s.user = Some(value),
            b"database" => s.database = Some(value),
            b"application_name" => s.application_name = Some(value),
            b"replication" => s.replication = Some(value),
            _ => {}
        }
        s.params = s.params.saturating_add(1);
        at = next;
    }
}

/// A CancelRequest's body (after the length and code): the process id.
pub fn cancel_pid(body: &[u8]) -> Option<u32> {
    be32(body, 4)
}

/// Parse (`P`): the statement's name and (a prefix of) its text, and
/// whether the text is whole.
pub fn parse_msg(body: &[u8]) -> Option<(&[u8], &[u8], bool)> {
    let (name, at) = cstr(body, 0)?;
    let (text, whole) = cstr_prefix(body, at);
    Some((name, text, whole))
}

/// Bind (`B`): the portal's name, the statement's, and the count of
/// parameter values (when the prefix at hand holds it).
pub fn bind(body: &[u8]) -> Option<(&[u8], &[u8], Option<u16>)> {
    let (portal, at) = cstr(body, 0)?;
    let (stmt, at) = cstr(body, at)?;
    let nfmt = be16(body, at).map(usize::from);
    let values = nfmt
        .and_then(|n| at.checked_add(2)?.checked_add(n.checked_mul(2)?))
        .and_then(|p| be16(body, p));
    Some((portal, stmt, values))
}

/// How a binary value of type `oid` reads (the types PostgreSQL's
/// catalogue gives these numbers, `pg_type.dat`).
pub fn binary_of(oid: u32) -> Binary {
    match oid {
        20 | 21 | 23 => Binary::Int,
        700 | 701 => Binary::Float,
        16 => Binary::Bool,
        2950 => Binary::Uuid,
        // text, varchar, bpchar, name, json, xml, unknown
        25 | 1043 | 1042 | 19 | 114 | 142 | 705 => Binary::Text,
        _ => Binary::Hex,
    }
}

/// Parse (`P`): how each of its first [`VALUES_MAX`] declared parameter
/// types reads in binary, written into `out`; returns how many were
/// declared (0 when the body at hand does not reach them).
pub fn parse_types(body: &[u8], out: &mut [Binary; VALUES_MAX]) -> usize {
    let Some((_, at)) = cstr(body, 0) else {
        return 0;
    };
    let Some((_, at)) = cstr(body, at) else {
        return 0;
    };
    let n = be16(body, at).map_or(0, usize::from);
    for (i, t) in out.iter_mut().enumerate().take(n) {
        *t = be32(body, at + 2 + 4 * i).map_or(Binary::Hex, binary_of);
    }
    n.min(VALUES_MAX)
}

/// Bind (`B`): its parameter values in order, each with whether it is
/// whole in `body` (a body cut short ends the values it reaches). The
/// format codes say text or binary: none means all text, one applies to
/// all; `types` says how the binary ones read (see [`parse_types`]).
pub fn bind_values<'a>(
    body: &'a [u8],
    types: &'a [Binary],
) -> impl Iterator<Item = (Value<'a>, bool)> + 'a {
    let head = (|| {
        let (_, at) = cstr(body, 0)?;
        let (_, at) = cstr(body, at)?;
        let nfmt = usize::from(be16(body, at)?);
        let fmts = at + 2;
        let vals = fmts.checked_add(nfmt * 2)?;
        let n = be16(body, vals)?;
        Some((nfmt, fmts, n, vals + 2))
    })();
    let (nfmt, fmts, n, mut at) = head.unwrap_or((0, 0, 0, body.len()));
    let mut i = 0u16;
    std::iter::from_fn(move || {
        if i >= n {
            return None;
        }
        let k = match nfmt {
            0 => None,
            1 => Some(0),
            _ => Some(usize::from(i)),
        };
        let binary = k.and_then(|k| be16(body, fmts + 2 * k)) == Some(1);
        let len = be32(body, at)? as i32;
        at += 4;
        i += 1;
        if len < 0 {
            return Some((Value::Null, true));
        }
        let len = len as usize;
        let end = at.saturating_add(len);
        let v = &body[at.min(body.len())..end.min(body.len())];
        let whole = end <= body.len();
        at = end;
        let t = types.get(usize::from(i - 1)).copied().unwrap_or_default();
        Some((
            if binary {
                Value::Binary(v, t)
            } else {
                Value::Text(v)
            },
            whole,
        ))
    })
}

/// Execute (`E`): the portal's name and the most rows asked (0: all).
pub fn execute(body: &[u8]) -> Option<(&[u8], u32)> {
    let (portal, at) = cstr(body, 0)?;
    Some((portal, be32(body, at)?))
}

/// Describe (`D`) or Close (`C`): `S` (a statement) or `P` (a portal), and
/// the name.
pub fn target(body: &[u8]) -> Option<(u8, &[u8])> {
    let (&which, _) = body.split_first()?;
    if which != b'S' && which != b'P' {
        return None;
    }
    Some((which, cstr(body, 1)?.0))
}

/// RowDescription (`T`): the count of columns.
pub fn row_description(body: &[u8]) -> Option<u16> {
    be16(body, 0)
}

/// CommandComplete (`C`): the tag, and the row count it ends with for the
/// commands that have one (`INSERT oid rows`, `SELECT rows`, `UPDATE`,
/// `DELETE`, `MERGE`, `MOVE`, `FETCH`, `COPY`).
pub fn command_complete(body: &[u8]) -> (&[u8], Option<u64>) {
    let (tag, _) = cstr_prefix(body, 0);
    let first = tag.split(|&c| c == b' ').next().unwrap_or_default();
    let counted = matches!(
        first,
        b"INSERT" | b"SELECT" | b"UPDATE" | b"DELETE" | b"MERGE" | b"MOVE" | b"FETCH" | b"COPY"
    );
    let rows = tag
        .rsplit(|&c| c == b' ')
        .next()
        .filter(|w| counted && !w.is_empty() && w.len() <= 19 && tag.len() > w.len())
        .filter(|w| w.iter().all(u8::is_ascii_digit))
        .and_then(|w| std::str::from_utf8(w).ok()?.parse().ok());
    (tag, rows)
}

/// The fields of an ErrorResponse or NoticeResponse that are logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    /// `S`: the severity, localized.
    pub severity: Option<&'a [u8]>,
    /// `V`: the severity, never localized (9.6 and later).
    pub severity_v: Option<&'a [u8]>,
    /// `C`: the SQLSTATE code.
    pub code: Option<&'a [u8]>,
    /// `M`: the primary message.
    pub message: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// The severity to log: `V` when sent, else `S`.
    pub fn severity(&self) -> Option<&'a [u8]> {
        self.severity_v.or(self.severity)
    }
}

/// An ErrorResponse's or NoticeResponse's fields: a type byte and a
/// string each, up to a zero byte. A prefix is read as far as it goes.
pub fn fields(body: &[u8]) -> Fields<'_> {
    let mut f = Fields::default();
    let mut at = 0;
    while let Some(&t) = body.get(at) {
        if t == 0 {
            break;
        }
        let (v, whole) = cstr_prefix(body, at + 1);
        match t {
            b'S' => f.severity = Some(v),
            b'V' => f.severity_v = Some(v),
            b'C' => f.code = Some(v),
            b'M' => f.message = Some(v),
            _ => {}
        }
        if !whole {
            break;
        }
        at += 1 + v.len() + 1;
    }
    f
}

/// ReadyForQuery's transaction status: `idle`, `transaction` or `failed`.
pub fn tx_status(b: u8) -> Option<&'static str> {
    match b {
        b'I' => Some("idle"),
        b'T' => Some("transaction"),
        b'E' => Some("failed"),
        _ => None,
    }
}

/// ParameterStatus (`S`): the name and the value (which may be empty).
pub fn parameter_status(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, at) = cstr(body, 0)?;
    let (value, _) = cstr(body, at)?;
    Some((name, value))
}

/// BackendKeyData (`K`): the process id.
pub fn backend_pid(body: &[u8]) -> Option<u32> {
    be32(body, 0)
}

/// An Authentication message (`R`): its code, and for SASL the first
/// mechanism offered.
pub fn auth(body: &[u8]) -> Option<(u32, Option<&[u8]>)> {
    let code = be32(body, 0)?;
    let mech = (code == 10).then(|| cstr_prefix(body, 4).0);
    Some((code, mech))
}

/// The name of an authentication code: what the server asked for.
pub fn auth_name(code: u32) -> &'static str {
    match code {
        0 => "ok",
        2 => "kerberos_v5",
        3 => "cleartext",
        5 => "md5",
        7 => "gss",
        8 => "gss_continue",
        9 => "sspi",
        10 => "sasl",
        11 => "sasl_continue",
        12 => "sasl_final",
        _ => "unknown",
    }
}

/// The probe: from the client, a StartupMessage of protocol 3 naming its
/// user, an SSLRequest, a GSSENCRequest or a CancelRequest (each of its
/// exact length) is sure; a typed message that frames is a maybe. From
/// the server, a typed message that frames is a maybe.
pub fn probe(dir: usize, data: &[u8]) -> Probe {
    if dir == 0 {
        if let Frame::Msg { body, .. } = startup_frame(data) {
            let code = be32(data, 4);
            match code {
                Some(SSL_REQUEST | GSSENC_REQUEST) if body == 4 => return Probe::Yes,
                Some(CANCEL_REQUEST) if body == 12 => return Probe::Yes,
                Some(v) if v >> 16 == 3 => {
                    let Some(b) = data.get(4..4 + body) else {
                        return Probe::Wait;
                    };
                    return match startup(b) {
                        Some(s) if s.user.is_some() => Probe::Yes,
                        _ => Probe::No,
                    };
                }
                None => return Probe::Wait,
                _ => {}
            }
        } else if data.len() < 4 {
            return Probe::Wait;
        }
    }
    match typed_frame(dir, data) {
        Frame::Need(_) => Probe::Wait,
        Frame::Msg { ty, body, .. } => {
            // A query's text is printable; a server's first message is
            // an authentication request, an error or a notice.
            let ok = match (dir, ty) {
                (0, b'Q') => data.get(5..(5 + body).min(data.len())).is_some_and(|t| {
                    t.iter()
                        .all(|&c| c == 0 || c >= 0x20 || c == b'\n' || c == b'\t' || c == b'\r')
                }),
                (0, b'P' | b'X') => true,
                (1, b'R' | b'E' | b'N' | b'S' | b'Z' | b'T' | b'C') => true,
                _ => false,
            };
            if ok {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
        Frame::Bad => Probe::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup_msg(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut b = PROTOCOL_3.to_be_bytes().to_vec();
        for (k, v) in pairs {
            b.extend_from_slice(k.as_bytes());
            b.push(0);
            b.extend_from_slice(v.as_bytes());
            b.push(0);
        }
        b.push(0);
        let mut m = ((b.len() + 4) as u32).to_be_bytes().to_vec();
        m.extend(b);
        m
    }

    fn typed(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn startup_messages_frame_and_parse() {
        let m = startup_msg(&[
            ("user", "alice"),
            ("database", "shop"),
            ("application_name", "psql"),
        ]);
        let Frame::Msg {
            ty: 0,
            hdr: 4,
            body,
        } = startup_frame(&m)
        else {
            panic!()
        };
        assert_eq!(body, m.len() - 4);
        let s = startup(&m[4..]).unwrap();
        assert_eq!(s.user, Some(&b"alice"[..]));
        assert_eq!(s.database, Some(&b"shop"[..]));
        assert_eq!(s.application_name, Some(&b"psql"[..]));
        assert_eq!(s.params, 3);
        // Every prefix is not a startup (its terminator is missing), and
        // never panics.
        for n in 0..body {
            assert_eq!(startup(&m[4..4 + n]), None, "{n}");
        }
        assert_eq!(probe(0, &m), Probe::Yes);
        assert_eq!(probe(0, &m[..3]), Probe::Wait);
        assert_eq!(probe(0, &m[..10]), Probe::Wait);
        let ssl = [0, 0, 0, 8, 4, 210, 22, 47];
        assert_eq!(u32::from_be_bytes([4, 210, 22, 47]), SSL_REQUEST);
        assert_eq!(probe(0, &ssl), Probe::Yes);
        let gss = [0, 0, 0, 8, 4, 210, 22, 48];
        assert_eq!(probe(0, &gss), Probe::Yes);
        let mut cancel = vec![0, 0, 0, 16, 4, 210, 22, 46];
        cancel.extend([0, 0, 0x30, 0x39, 1, 2, 3, 4]);
        assert_eq!(probe(0, &cancel), Probe::Yes);
        assert_eq!(cancel_pid(&cancel[4..]), Some(12345));
        // Protocol 2 and an HTTP request are not it.
        let mut v2 = startup_msg(&[("user", "a")]);
        v2[4..8].copy_from_slice(&(2u32 << 16).to_be_bytes());
        assert_eq!(probe(0, &v2), Probe::No);
        assert_eq!(probe(0, b"GET / HTTP/1.1\r\n\r\n"), Probe::No);
    }

    #[test]
    fn hostile_lengths_are_refused_or_left_to_skip() {
        // A startup length past the server's bound, or under the header.
        assert_eq!(
            startup_frame(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]),
            Frame::Bad
        );
        assert_eq!(startup_frame(&[0, 0, 0, 7]), Frame::Bad);
        // 2^31 is past the int32: not a message at all.
        assert_eq!(typed_frame(0, &[b'Q', 0x80, 0, 0, 0]), Frame::Bad);
        // 2^31 - 1 frames; the caller skips it, never buffers it.
        assert_eq!(
            typed_frame(0, &[b'Q', 0x7f, 0xff, 0xff, 0xff]),
            Frame::Msg {
                ty: b'Q',
                hdr: 5,
                body: (1 << 31) - 5
            }
        );
        // Fixed-size messages with another size.
        assert_eq!(typed_frame(1, &[b'Z', 0, 0, 0, 6]), Frame::Bad);
        assert_eq!(typed_frame(1, &[b'1', 0, 0, 0, 5]), Frame::Bad);
        assert_eq!(
            typed_frame(0, &[b'S', 0, 0, 0, 4]),
            Frame::Msg {
                ty: b'S',
                hdr: 5,
                body: 0
            }
        );
        assert_eq!(typed_frame(1, &[b'Z', 0, 0, 0, 3]), Frame::Bad);
        assert_eq!(typed_frame(1, &[b'?', 0, 0, 0, 4]), Frame::Bad);
        assert_eq!(typed_frame(1, &[b'Z', 0, 0]), Frame::Need(5));
        assert_eq!(typed_frame(1, &[]), Frame::Need(5));
        // After a gap: a whole message, then a header or the end.
        assert!(resyncs(1, &[b'Z', 0, 0, 0, 5, b'I']));
        assert!(resyncs(1, &[b'Z', 0, 0, 0, 5, b'I', b'Z']));
        assert!(!resyncs(1, &[b'Z', 0, 0, 0, 5, b'I', b'?']));
        assert!(!resyncs(1, b"c0\0\0\0\0"));
        // Field parsers on truncated or lying bodies.
        assert_eq!(bind(b"p\0s\0\xff\xff"), Some((&b"p"[..], &b"s"[..], None)));
        assert_eq!(bind(b"p\0"), None);
        assert_eq!(execute(b"p\0\0\0"), None);
        assert_eq!(target(b"X\0"), None);
        assert_eq!(auth(b"\0\0"), None);
        assert_eq!(row_description(b"\0"), None);
    }

    #[test]
    fn extended_protocol_messages() {
        let (name, text, whole) = parse_msg(b"s1\0SELECT $1\0\0\x01\0\0\0\x17").unwrap();
        assert_eq!((name, text, whole), (&b"s1"[..], &b"SELECT $1"[..], true));
        let (_, text, whole) = parse_msg(b"\0SELECT 1 FROM t WHE").unwrap();
        assert_eq!((text, whole), (&b"SELECT 1 FROM t WHE"[..], false));
        assert_eq!(
            bind(b"\0s1\0\0\x01\0\0\0\x02\0\0\0\x01" as &[u8]),
            Some((&b""[..], &b"s1"[..], Some(2)))
        );
        assert_eq!(execute(b"\0\0\0\0\0"), Some((&b""[..], 0)));
        assert_eq!(target(b"Ss1\0"), Some((b'S', &b"s1"[..])));
        let m = typed(b'P', b"\0SELECT 1\0\0\0");
        assert_eq!(probe(0, &m), Probe::Maybe);
        assert_eq!(probe(0, &typed(b'Q', b"SELECT 1\0")), Probe::Maybe);
        assert_eq!(probe(0, &typed(b'Q', b"\x01\x02\0")), Probe::No);
    }

    #[test]
    fn backend_messages() {
        assert_eq!(command_complete(b"SELECT 3\0"), (&b"SELECT 3"[..], Some(3)));
        assert_eq!(
            command_complete(b"INSERT 0 12\0"),
            (&b"INSERT 0 12"[..], Some(12))
        );
        assert_eq!(
            command_complete(b"CREATE TABLE\0"),
            (&b"CREATE TABLE"[..], None)
        );
        assert_eq!(command_complete(b"BEGIN\0"), (&b"BEGIN"[..], None));
        assert_eq!(command_complete(b"SELECT\0"), (&b"SELECT"[..], None));
        assert_eq!(command_complete(b"SELECT 99999999999999999999\0").1, None);
        let f = fields(b"SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0P15\0\0");
        assert_eq!(f.severity(), Some(&b"ERROR"[..]));
        assert_eq!(f.code, Some(&b"42P01"[..]));
        assert_eq!(f.message, Some(&b"relation \"x\" does not exist"[..]));
        // A prefix: what is whole, and the cut message.
        let f = fields(b"SFATAL\0C28P01\0Mpassword auth");
        assert_eq!(f.severity(), Some(&b"FATAL"[..]));
        assert_eq!(f.message, Some(&b"password auth"[..]));
        assert_eq!(tx_status(b'T'), Some("transaction"));
        assert_eq!(tx_status(b'x'), None);
        assert_eq!(
            parameter_status(b"application_name\0\0"),
            Some((&b"application_name"[..], &b""[..]))
        );
        assert_eq!(backend_pid(b"\0\0\x30\x39\x01\x02\x03\x04"), Some(12345));
        assert_eq!(auth(b"\0\0\0\x05salt"), Some((5, None)));
        assert_eq!(
            auth(b"\0\0\0\x0aSCRAM-SHA-256\0\0"),
            Some((10, Some(&b"SCRAM-SHA-256"[..])))
        );
        assert_eq!(auth_name(10), "sasl");
        assert_eq!(probe(1, &typed(b'R', b"\0\0\0\0")), Probe::Maybe);
        assert_eq!(probe(1, b"S"), Probe::Wait);
        assert_eq!(probe(1, b"HTTP/1.1 200 OK\r\n"), Probe::No);
    }

    #[test]
    fn total_on_any_bytes() {
        let mut x: u32 = 1;
        for n in 0..2000usize {
            let mut b = [0u8; 24];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *v = x as u8;
            }
            let b = &b[..n % 25];
            let _ = (startup_frame(b), typed_frame(n & 1, b), probe(n & 1, b));
            let _ = (startup(b), parse_msg(b), bind(b), execute(b), target(b));
            let _ = (command_complete(b), fields(b), parameter_status(b), auth(b));
        }
    }
}
