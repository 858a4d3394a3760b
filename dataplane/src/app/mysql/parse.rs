//! Pure MySQL / MariaDB (client/server protocol 4.1 and later) parsing:
//! packet framing, the probe, and the fields of the packets the analyzer
//! reads.
//!
//! Invariants:
//! - Every function is total: any input gives an answer, never a panic.
//! - Nothing allocates; every length read from the wire is checked against
//!   the bytes at hand before anything is read through it. A packet's
//!   length is returned for the caller to read, or to skip when it is
//!   long: a field parser is given a prefix of a long packet and reads as
//!   far as it goes.
//!
//! A packet is a 3-byte little-endian length, a sequence id, and that many
//! bytes of payload. A payload of 0xffffff bytes continues in the next
//! packet (and so on, up to one shorter than that).

use crate::app::sql::{self, Binary, Value};

/// Bytes of a packet header.
pub const HDR: usize = 4;
/// The length of a packet that the next one continues.
pub const MAX_PACKET: usize = 0xff_ffff;

/// Capability flags the analyzer reads.
pub mod cap {
    /// The client names a database in its login.
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
    /// The compressed protocol.
    pub const COMPRESS: u32 = 1 << 5;
    /// Protocol 4.1 (SQL states, 2-byte status in OK).
    pub const PROTOCOL_41: u32 = 1 << 9;
    /// TLS after a short login packet.
    pub const SSL: u32 = 1 << 11;
    /// The auth response is length-prefixed (one byte).
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    /// Pluggable authentication: the plugin's name is sent.
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    /// Connection attributes follow the login.
    pub const CONNECT_ATTRS: u32 = 1 << 20;
    /// The auth response is length-encoded.
    pub const PLUGIN_AUTH_LENENC: u32 = 1 << 21;
    /// OK packets (0xfe) replace EOF packets.
    pub const DEPRECATE_EOF: u32 = 1 << 24;
    /// A zstd compression level follows the login.
    pub const ZSTD: u32 = 1 << 26;
    /// COM_QUERY and COM_STMT_EXECUTE carry query attributes.
    pub const QUERY_ATTRIBUTES: u32 = 1 << 27;
}

/// The server's status flag: another result follows this one.
pub const MORE_RESULTS: u16 = 0x0008;
/// The server's status flag: a cursor was opened (rows come by
/// COM_STMT_FETCH).
pub const CURSOR_EXISTS: u16 = 0x0040;

/// A packet's place in the bytes at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Fewer bytes than the header.
    Need,
    /// A packet: its sequence id and the length of its payload (which may
    /// not all be here).
    Packet {
        /// The sequence id.
        seq: u8,
        /// Payload bytes.
        len: usize,
    },
}

/// The packet at the start of `data`.
pub fn frame(data: &[u8]) -> Frame {
    match data.get(..HDR) {
        Some(h) => Frame::Packet {
            seq: h[3],
            len: usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16,
        },
        None => Frame::Need,
    }
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A length-encoded integer at `at`: its value and the index after it.
/// 0xfb (NULL) and 0xff (an error's marker) are not integers.
pub fn lenenc(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let n = match first {
        0..=0xfa => return Some((u64::from(first), at + 1)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let s = b.get(at + 1..at + 1 + n)?;
    let mut v = 0u64;
    for (i, &x) in s.iter().enumerate() {
        v |= u64::from(x) << (8 * i);
    }
    Some((v, at + 1 + n))
}

/// A length-encoded string at `at`, whole: the string and the index after
/// it.
pub fn lenenc_str(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (n, at) = lenenc(b, at)?;
    let end = at.checked_add(usize::try_from(n).ok()?)?;
    Some((b.get(at..end)?, end))
}

// NUL-terminated strings are read as PostgreSQL's are.
pub use crate::app::analyzer::Probe;
pub use crate::app::sql::{cstr, cstr_prefix};

/// The server's greeting (HandshakeV10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Greeting<'a> {
    /// The server's version (MariaDB's carries a `5.5.5-` prefix for old
    /// replicas, kept as sent).
    pub version: &'a [u8],
    /// The connection (thread) id.
    pub connection_id: u32,
    /// Capability flags, both halves.
    pub caps: u32,
    /// The authentication plugin the server proposes.
    pub auth_plugin: Option<&'a [u8]>,
}

/// A HandshakeV10 packet's payload. `None` when it is not one.
pub fn greeting(p: &[u8]) -> Option<Greeting<'_>> {
    if *p.first()? != 10 {
        return None;
    }
    let (version, at) = cstr(p, 1)?;
    if version.is_empty() || !version.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let connection_id = le32(p, at)?;
    // Eight bytes of scramble and a filler of zero.
    let at = at + 4 + 8;
    if *p.get(at)? != 0 {
        return None;
    }
    let mut g = Greeting {
        version,
        connection_id,
        ..Greeting::default()
    };
    let Some(lo) = le16(p, at + 1) else {
        // A server of protocol 4.0 stops here.
        return Some(g);
    };
    g.caps = u32::from(lo);
    // Character set, status flags, the upper capabilities.
    if let Some(hi) = le16(p, at + 6) {
        g.caps |= u32::from(hi) << 16;
    }
    let scramble_len = usize::from(*p.get(at + 8).unwrap_or(&0));
    // Ten reserved bytes, then the scramble's second part.
    let mut at = at + 9 + 10;
    if g.caps & cap::SECURE_CONNECTION != 0 {
        at += scramble_len.saturating_sub(8).max(13);
    }
    if g.caps & cap::PLUGIN_AUTH != 0 {
        let (name, _) = cstr_prefix(p, at);
        g.auth_plugin = (!name.is_empty()).then_some(name);
    }
    Some(g)
}

/// Connection attributes the login keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attrs<'a> {
    /// `_client_name`.
    pub client_name: Option<&'a [u8]>,
    /// `_client_version`.
    pub client_version: Option<&'a [u8]>,
    /// `program_name`.
    pub program_name: Option<&'a [u8]>,
    /// Attributes sent.
    pub count: u32,
}

/// The client's login (HandshakeResponse41, or its short form asking for
/// TLS). The auth response is passed over, never returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Login<'a> {
    /// Capability flags.
    pub caps: u32,
    /// The short form (32 bytes) with CLIENT_SSL: TLS follows.
    pub ssl: bool,
    /// The user.
    pub user: Option<&'a [u8]>,
    /// The database, when CLIENT_CONNECT_WITH_DB.
    pub database: Option<&'a [u8]>,
    /// The authentication plugin the client used.
    pub auth_plugin: Option<&'a [u8]>,
    /// Connection attributes.
    pub attrs: Attrs<'a>,
}

/// The fixed head of a HandshakeResponse41: capabilities, the largest
/// packet, the character set and 23 bytes of filler.
pub const LOGIN_HEAD: usize = 32;

/// Connection attributes: length-encoded key and value pairs, in a block
/// whose length comes first. A cut block gives the pairs that are whole.
fn attrs(p: &[u8], at: usize) -> Attrs<'_> {
    let mut a = Attrs::default();
    let Some((n, mut at)) = lenenc(p, at) else {
        return a;
    };
    let end = usize::try_from(n).map_or(p.len(), |n| at.saturating_add(n).min(p.len()));
    let block = &p[..end];
    while let Some((k, next)) = lenenc_str(block, at) {
        let Some((v, next)) = lenenc_str(block, next) else {
            break;
        };
        match k {
            b"_client_name" => a.client_name = Some(v),
            b"_client_version" => a.client_version = Some(v),
            b"program_name" => a.program_name = Some(v),
            _ => {}
        }
        a.count = a.count.saturating_add(1);
        at = next;
    }
    a
}

/// The client's answer to the greeting. `None` when it is not one (too
/// short, or protocol 4.0's, whose fields are not read).
pub fn login(p: &[u8]) -> Option<Login<'_>> {
    let caps = le32(p, 0)?;
    if caps & cap::PROTOCOL_41 == 0 || p.len() < LOGIN_HEAD {
        return None;
    }
    let mut l = Login {
        caps,
        ..Login::default()
    };
    if p.len() == LOGIN_HEAD {
        l.ssl = caps & cap::SSL != 0;
        return l.ssl.then_some(l);
    }
    let (user, at) = cstr(p, LOGIN_HEAD)?;
    l.user = Some(user);
    // The auth response: passed over.
    let at = if caps & cap::PLUGIN_AUTH_LENENC != 0 {
        let (n, at) = lenenc(p, at)?;
        at.checked_add(usize::try_from(n).ok()?)?
    } else if caps & cap::SECURE_CONNECTION != 0 {
        at + 1 + usize::from(*p.get(at)?)
    } else {
        cstr(p, at)?.1
    };
    let mut at = at.min(p.len());
    if caps & cap::CONNECT_WITH_DB != 0 {
        if let Some((db, next)) = cstr(p, at) {
            l.database = Some(db);
            at = next;
        }
    }
    if caps & cap::PLUGIN_AUTH != 0 {
        if let Some((name, next)) = cstr(p, at) {
            l.auth_plugin = Some(name);
            at = next;
        }
    }
    if caps & cap::CONNECT_ATTRS != 0 {
        l.attrs = attrs(p, at);
    }
    Some(l)
}

/// COM_CHANGE_USER's payload after its command byte: the user, the
/// database and the plugin (`caps`: the connection's capabilities, which
/// say how the auth response is framed). The auth response is passed
/// over.
pub fn change_user(p: &[u8], caps: u32) -> Option<Login<'_>> {
    let (user, at) = cstr(p, 0)?;
    let mut l = Login {
        caps,
        user: Some(user),
        ..Login::default()
    };
    let at = if caps & cap::SECURE_CONNECTION != 0 {
        at + 1 + usize::from(*p.get(at)?)
    } else {
        cstr(p, at)?.1
    };
    let (db, at) = cstr(p, at)?;
    l.database = Some(db);
    // The character set, then the plugin's name.
    if caps & cap::PLUGIN_AUTH != 0 {
        if let Some((name, next)) = cstr(p, at + 2) {
            l.auth_plugin = Some(name);
            if caps & cap::CONNECT_ATTRS != 0 {
                l.attrs = attrs(p, next);
            }
        }
    }
    Some(l)
}

/// An OK packet (0x00, or 0xfe where it replaces EOF).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ok {
    /// Affected rows.
    pub rows: u64,
    /// The last insert id.
    pub insert_id: u64,
    /// Status flags.
    pub status: u16,
    /// Warnings.
    pub warnings: u16,
}

/// An OK packet's payload (its header byte included).
pub fn ok(p: &[u8]) -> Option<Ok> {
    let (rows, at) = lenenc(p, 1)?;
    let (insert_id, at) = lenenc(p, at)?;
    Some(Ok {
        rows,
        insert_id,
        status: le16(p, at).unwrap_or(0),
        warnings: le16(p, at + 2).unwrap_or(0),
    })
}

/// An EOF packet's payload (0xfe, then warnings and status): the status
/// and the warnings.
pub fn eof(p: &[u8]) -> (u16, u16) {
    (le16(p, 3).unwrap_or(0), le16(p, 1).unwrap_or(0))
}

/// Whether a 0xfe packet of `len` bytes ends rows or a list of columns:
/// an EOF (5 bytes in 4.1, 1 before) or an OK that replaces one (7 bytes
/// or more), never a row (a row starting 0xfe would be 16 MiB long).
pub fn is_end(first: u8, len: usize) -> bool {
    first == 0xfe && len < MAX_PACKET
}

/// Whether a 0xfe packet is an EOF proper (not an OK in its place).
pub fn is_eof(first: u8, len: usize) -> bool {
    first == 0xfe && len < 7
}

/// An ERR packet's fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Err<'a> {
    /// The error code.
    pub code: u16,
    /// The SQL state, when sent.
    pub state: Option<&'a [u8]>,
    /// The message (as much as the prefix holds).
    pub message: &'a [u8],
}

/// An ERR packet's payload (0xff included).
pub fn err(p: &[u8]) -> Option<Err<'_>> {
    let code = le16(p, 1)?;
    let rest = p.get(3..).unwrap_or_default();
    let (state, message) = match rest.split_first() {
        Some((b'#', r)) if r.len() >= 5 => (Some(&r[..5]), &r[5..]),
        _ => (None, rest),
    };
    Some(Err {
        code,
        state,
        message,
    })
}

/// MariaDB's progress report: an ERR packet of code 0xffff, not an
/// answer.
pub fn is_progress(p: &[u8]) -> bool {
    p.first() == Some(&0xff) && le16(p, 1) == Some(0xffff)
}

/// A result set's first packet: the column count, and whether column
/// definitions follow (MySQL's CLIENT_OPTIONAL_RESULTSET_METADATA and
/// MariaDB's MARIADB_CLIENT_CACHE_METADATA may leave them out: a byte 0
/// after the count).
pub fn column_count(p: &[u8]) -> Option<(u64, bool)> {
    let (n, at) = lenenc(p, 0)?;
    if n == 0 {
        return None;
    }
    Some((n, p.get(at) != Some(&0)))
}

/// A column definition's name (ColumnDefinition41: catalog, schema, table,
/// original table, then the name).
pub fn column_name(p: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    for _ in 0..4 {
        at = lenenc_str(p, at)?.1;
    }
    Some(lenenc_str(p, at)?.0)
}

/// COM_STMT_PREPARE's answer: the statement id, columns and parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The statement id.
    pub id: u32,
    /// Columns of its result.
    pub columns: u16,
    /// Parameters it takes.
    pub params: u16,
    /// Warnings.
    pub warnings: u16,
    /// Column and parameter definitions follow (not left out by
    /// CLIENT_OPTIONAL_RESULTSET_METADATA).
    pub metadata: bool,
}

/// COM_STMT_PREPARE_OK's payload (0x00 included).
pub fn prepared(p: &[u8]) -> Option<Prepared> {
    if p.first() != Some(&0) || p.len() < 9 {
        return None;
    }
    Some(Prepared {
        id: le32(p, 1)?,
        columns: le16(p, 5)?,
        params: le16(p, 7)?,
        warnings: le16(p, 10).unwrap_or(0),
        metadata: p.get(12) != Some(&0),
    })
}

/// Query attributes ahead of a COM_QUERY's text (CLIENT_QUERY_ATTRIBUTES):
/// the count of parameters, the count of sets (1), a NULL bitmap, a flag
/// and types with names, then the values. Returns where the text starts
/// and the count of attributes, or `None` when the prefix does not hold
/// them whole.
pub fn query_attributes(p: &[u8]) -> Option<(usize, u64)> {
    let (n, at) = lenenc(p, 0)?;
    let (_sets, mut at) = lenenc(p, at)?;
    if n == 0 {
        return Some((at, 0));
    }
    let n16 = u16::try_from(n).ok()?;
    at += usize::from(n16).div_ceil(8);
    let nulls = p.get(at - usize::from(n16).div_ceil(8)..at)?;
    let bound = *p.get(at)?;
    at += 1;
    if bound != 1 {
        // No types: the values cannot be told apart.
        return None;
    }
    let types_at = at;
    for _ in 0..n16 {
        at = lenenc_str(p, at + 2)?.1;
    }
    let mut t = types_at;
    for i in 0..usize::from(n16) {
        let ty = le16(p, t)?;
        t = lenenc_str(p, t + 2)?.1;
        if nulls[i / 8] >> (i % 8) & 1 == 0 {
            let (_, whole, next) = value(p, at, ty)?;
            if !whole {
                return None;
            }
            at = next;
        }
    }
    Some((at, n))
}

/// Binary protocol types (`MYSQL_TYPE_*`).
pub mod ty {
    /// TINY: one byte.
    pub const TINY: u8 = 0x01;
    /// SHORT: two bytes.
    pub const SHORT: u8 = 0x02;
    /// LONG: four bytes.
    pub const LONG: u8 = 0x03;
    /// FLOAT: four bytes.
    pub const FLOAT: u8 = 0x04;
    /// DOUBLE: eight bytes.
    pub const DOUBLE: u8 = 0x05;
    /// NULL: no bytes.
    pub const NULL: u8 = 0x06;
    /// TIMESTAMP: a length byte and a date-time.
    pub const TIMESTAMP: u8 = 0x07;
    /// LONGLONG: eight bytes.
    pub const LONGLONG: u8 = 0x08;
    /// INT24: four bytes.
    pub const INT24: u8 = 0x09;
    /// DATE: a length byte and a date.
    pub const DATE: u8 = 0x0a;
    /// TIME: a length byte and a duration.
    pub const TIME: u8 = 0x0b;
    /// DATETIME: a length byte and a date-time.
    pub const DATETIME: u8 = 0x0c;
    /// YEAR: two bytes.
    pub const YEAR: u8 = 0x0d;
    /// BIT: length-encoded bytes.
    pub const BIT: u8 = 0x10;
    /// GEOMETRY: length-encoded bytes (0xf9 to 0xfc, the blobs, too).
    pub const GEOMETRY: u8 = 0xff;
}

/// The binary value of type `ty` (its low byte the type, bit 15
/// unsigned) at `at`: the value as [`sql::Binary`] reads it (integers,
/// floats, dates and times from their binary forms; blobs and bits as
/// bytes; strings, decimals, JSON as the text they are), whether it is
/// whole in `p`, and the index after it. A value that runs past `p` (a
/// long packet's prefix) gives the bytes at hand, not whole, and
/// `p.len()`; `None` when not even its length is there.
pub fn value(p: &[u8], at: usize, ty: u16) -> Option<(Value<'_>, bool, usize)> {
    let int = if ty & 0x8000 != 0 {
        Binary::UintLe
    } else {
        Binary::IntLe
    };
    let (start, n, t) = match ty as u8 {
        ty::NULL => return Some((Value::Null, true, at)),
        ty::TINY => (at, 1, int),
        ty::SHORT | ty::YEAR => (at, 2, int),
        ty::LONG | ty::INT24 => (at, 4, int),
        ty::LONGLONG => (at, 8, int),
        ty::FLOAT => (at, 4, Binary::FloatLe),
        ty::DOUBLE => (at, 8, Binary::FloatLe),
        // A length byte, then a date or a time.
        t @ (ty::DATE | ty::DATETIME | ty::TIMESTAMP | ty::TIME) => {
            let t = match t {
                ty::DATE => Binary::Date,
                ty::TIME => Binary::Time,
                _ => Binary::DateTime,
            };
            (at.checked_add(1)?, usize::from(*p.get(at)?), t)
        }
        // A length-encoded length, then the bytes.
        t => {
            let (n, start) = lenenc(p, at)?;
            let bytes = matches!(t, ty::BIT | 0xf9..=0xfc | ty::GEOMETRY);
            let t = if bytes { Binary::Hex } else { Binary::Text };
            (start, usize::try_from(n).unwrap_or(usize::MAX), t)
        }
    };
    let end = start.saturating_add(n);
    let v = p.get(start.min(p.len())..end.min(p.len()))?;
    let whole = end <= p.len();
    let v = match t {
        Binary::Text => Value::Text(v),
        t => Value::Binary(v, t),
    };
    Some((v, whole, end.min(p.len())))
}

/// COM_STMT_SEND_LONG_DATA's parameter (after its command byte and the
/// statement id).
pub fn long_data_param(p: &[u8]) -> Option<u16> {
    le16(p, 4)
}

/// COM_STMT_EXECUTE's `n` parameter values from `at` (after the types),
/// their NULL bitmap at `nulls`, typed by `types` (the first
/// [`sql::VALUES_MAX`]): each with whether it is whole in `p`. A value
/// cut short is the last; past [`sql::VALUES_MAX`] one NULL stands for
/// the rest (the list is cut there). The parameters `long` names (bit
/// `k`: parameter `k`) came by COM_STMT_SEND_LONG_DATA and are not in the
/// packet: each is an empty value marked cut.
pub fn execute_values<'a>(
    p: &'a [u8],
    nulls: usize,
    mut at: usize,
    n: u16,
    types: [u16; sql::VALUES_MAX],
    long: u16,
) -> impl Iterator<Item = (Value<'a>, bool)> + 'a {
    let mut k = 0usize;
    std::iter::from_fn(move || {
        if k >= usize::from(n) || k > sql::VALUES_MAX {
            return None;
        }
        k += 1;
        let i = k - 1;
        let null = p.get(nulls + i / 8).is_some_and(|b| b >> (i % 8) & 1 != 0);
        if i == sql::VALUES_MAX || null {
            return Some((Value::Null, true));
        }
        if i < 16 && long >> i & 1 != 0 {
            return Some((Value::Binary(&[], Binary::Hex), false));
        }
        let (v, whole, next) = value(p, at, types[i])?;
        at = next;
        if !whole {
            k = usize::MAX;
        }
        Some((v, whole))
    })
}

/// The statement id that COM_STMT_EXECUTE, COM_STMT_CLOSE, COM_STMT_RESET,
/// COM_STMT_FETCH and COM_STMT_SEND_LONG_DATA start with (after their
/// command byte).
pub fn stmt_id(p: &[u8]) -> Option<u32> {
    le32(p, 0)
}

/// COM_STMT_EXECUTE's head (after its command byte): the statement id and
/// the flags; the parameters follow at [`EXECUTE_HEAD`].
pub fn execute(p: &[u8]) -> Option<(u32, u8)> {
    Some((le32(p, 0)?, *p.get(4)?))
}

/// Bytes of COM_STMT_EXECUTE after its command byte before the
/// parameters: id, flags, iteration count.
pub const EXECUTE_HEAD: usize = 9;

/// COM_STMT_EXECUTE's flag: the parameter count is sent (with query
/// attributes).
pub const PARAMETER_COUNT_AVAILABLE: u8 = 0x08;

/// A command's name in a record: `COM_` dropped, lower case; `None` for a
/// byte that is no command.
pub fn command_name(c: u8) -> Option<&'static str> {
    Some(match c {
        0x00 => "sleep",
        0x01 => "quit",
        0x02 => "init_db",
        0x03 => "query",
        0x04 => "field_list",
        0x05 => "create_db",
        0x06 => "drop_db",
        0x07 => "refresh",
        0x08 => "shutdown",
        0x09 => "statistics",
        0x0a => "process_info",
        0x0b => "connect",
        0x0c => "process_kill",
        0x0d => "debug",
        0x0e => "ping",
        0x0f => "time",
        0x10 => "delayed_insert",
        0x11 => "change_user",
        0x12 => "binlog_dump",
        0x13 => "table_dump",
        0x14 => "connect_out",
        0x15 => "register_slave",
        0x16 => "stmt_prepare",
        0x17 => "stmt_execute",
        0x18 => "stmt_send_long_data",
        0x19 => "stmt_close",
        0x1a => "stmt_reset",
        0x1b => "set_option",
        0x1c => "stmt_fetch",
        0x1d => "daemon",
        0x1e => "binlog_dump_gtid",
        0x1f => "reset_connection",
        0x20 => "clone",
        0x21 => "subscribe_group_replication_stream",
        // MariaDB's bulk execute.
        0xfa => "stmt_bulk_execute",
        _ => return None,
    })
}

/// Whether a server packet of sequence `seq` > 0 (`p`: its payload, `len`
/// bytes) can be an answer: an OK, an ERR with its SQL state, an EOF, a
/// column count, of a modest size.
fn answer_like(p: &[u8], len: usize) -> bool {
    if len > 0xffff {
        return false;
    }
    match p.first() {
        Some(0x00) => ok(p).is_some() || p.len() < len,
        Some(0xff) => p.get(3).is_none_or(|&c| c == b'#'),
        Some(0xfe) => len < 9,
        Some(&n) => (1..=0xfa).contains(&n) && len <= 2,
        None => true,
    }
}

/// The probe: from the server, a greeting (sequence 0, protocol 10, a
/// printable version ending in NUL, the filler byte where it belongs) or
/// an error refusing the connection is sure; from the client, a packet
/// of sequence 0 holding a known command, or a login, is a maybe.
pub fn probe(dir: usize, data: &[u8]) -> Probe {
    let Frame::Packet { seq, len } = frame(data) else {
        return Probe::Wait;
    };
    if len == 0 {
        return Probe::No;
    }
    let p = &data[HDR..];
    let p = &p[..p.len().min(len)];
    if dir == 1 {
        if seq != 0 {
            // An answer of a connection seen late.
            return if answer_like(p, len) {
                Probe::Maybe
            } else {
                Probe::No
            };
        }
        return match p.first() {
            None => Probe::Wait,
            Some(10) => match greeting(p) {
                Some(_) => Probe::Yes,
                None if p.len() < len && p.len() < 64 => Probe::Wait,
                None => Probe::No,
            },
            // "Host is not allowed to connect": an error at once.
            Some(0xff) if p.len() >= 3 => Probe::Maybe,
            _ => Probe::No,
        };
    }
    match (seq, p.first()) {
        (_, None) => Probe::Wait,
        (0, Some(&c)) if command_name(c).is_some() => match c {
            0x03 => {
                // A query's text is printable (after attributes, if any).
                let t = &p[1..];
                let ok = t
                    .iter()
                    .take(64)
                    .all(|&c| c >= 0x20 || c == b'\n' || c == b'\t' || c == b'\r')
                    || query_attributes(t).is_some();
                if ok {
                    Probe::Maybe
                } else {
                    Probe::No
                }
            }
            _ => Probe::Maybe,
        },
        (1, Some(_)) if login(p).is_some() => Probe::Maybe,
        _ => Probe::No,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn pkt(seq: u8, p: &[u8]) -> Vec<u8> {
        let mut m = (p.len() as u32).to_le_bytes()[..3].to_vec();
        m.push(seq);
        m.extend_from_slice(p);
        m
    }

    /// A MySQL 8 greeting offering caching_sha2_password.
    pub(in crate::app) fn greeting_payload(version: &str, caps: u32, plugin: &str) -> Vec<u8> {
        let mut g = vec![10];
        g.extend(version.as_bytes());
        g.push(0);
        g.extend(1234u32.to_le_bytes());
        g.extend([1; 8]);
        g.push(0);
        g.extend((caps as u16).to_le_bytes());
        g.push(0xff);
        g.extend(2u16.to_le_bytes());
        g.extend(((caps >> 16) as u16).to_le_bytes());
        g.push(21);
        g.extend([0; 10]);
        g.extend([2; 12]);
        g.push(0);
        g.extend(plugin.as_bytes());
        g.push(0);
        g
    }

    const CAPS: u32 = cap::PROTOCOL_41
        | cap::SECURE_CONNECTION
        | cap::PLUGIN_AUTH
        | cap::CONNECT_WITH_DB
        | cap::CONNECT_ATTRS
        | cap::PLUGIN_AUTH_LENENC;

    #[test]
    fn greetings_are_read_and_sure() {
        let g = greeting_payload("8.0.36", CAPS, "caching_sha2_password");
        let r = greeting(&g).unwrap();
        assert_eq!(r.version, b"8.0.36");
        assert_eq!(r.connection_id, 1234);
        assert_eq!(r.caps, CAPS);
        assert_eq!(r.auth_plugin, Some(&b"caching_sha2_password"[..]));
        let p = pkt(0, &g);
        assert_eq!(probe(1, &p), Probe::Yes);
        for n in 0..HDR + 1 {
            assert_eq!(probe(1, &p[..n]), Probe::Wait, "{n}");
        }
        assert_eq!(probe(1, &pkt(1, &g)), Probe::No);
        assert_eq!(probe(1, &pkt(1, &[0, 0, 0, 2, 0, 0, 0])), Probe::Maybe);
        assert_eq!(probe(1, b"HTTP/1.1 200 OK\r\n\r\n"), Probe::No);
        // PostgreSQL's first server message is not a greeting.
        assert_eq!(probe(1, b"R\0\0\0\x08\0\0\0\0"), Probe::No);
        let mut bad = g.clone();
        bad[1] = 1;
        assert_eq!(greeting(&bad), None);
        for n in 0..g.len() {
            let _ = greeting(&g[..n]);
        }
    }

    #[test]
    fn logins_skip_the_auth_response() {
        let mut l = CAPS.to_le_bytes().to_vec();
        l.extend(0x0100_0000u32.to_le_bytes());
        l.push(45);
        l.extend([0; 23]);
        l.extend(b"alice\0");
        l.push(20);
        l.extend([0xaa; 20]);
        l.extend(b"shop\0caching_sha2_password\0");
        let mut a = Vec::new();
        for (k, v) in [
            ("_client_name", "libmysql"),
            ("_os", "Linux"),
            ("program_name", "mysql"),
        ] {
            a.push(k.len() as u8);
            a.extend(k.as_bytes());
            a.push(v.len() as u8);
            a.extend(v.as_bytes());
        }
        l.push(a.len() as u8);
        l.extend(a);
        let r = login(&l).unwrap();
        assert_eq!(r.user, Some(&b"alice"[..]));
        assert_eq!(r.database, Some(&b"shop"[..]));
        assert_eq!(r.auth_plugin, Some(&b"caching_sha2_password"[..]));
        assert_eq!(r.attrs.client_name, Some(&b"libmysql"[..]));
        assert_eq!(r.attrs.program_name, Some(&b"mysql"[..]));
        assert_eq!(r.attrs.count, 3);
        assert!(!r.ssl);
        // The short form with CLIENT_SSL.
        let mut s = (CAPS | cap::SSL).to_le_bytes().to_vec();
        s.extend([0; 28]);
        assert!(login(&s).unwrap().ssl);
        s[1] &= !(cap::SSL >> 8) as u8;
        assert_eq!(login(&s), None);
        for n in 0..l.len() {
            let _ = login(&l[..n]);
        }
    }

    #[test]
    fn ok_err_eof_and_columns() {
        assert_eq!(
            ok(&[0, 0xfc, 0x10, 0x27, 5, 2, 0, 1, 0]),
            Some(Ok {
                rows: 10000,
                insert_id: 5,
                status: 2,
                warnings: 1
            })
        );
        assert_eq!(eof(&[0xfe, 3, 0, 0x0a, 0]), (0x0a, 3));
        let e = err(b"\xff\x15\x04#28000Access denied").unwrap();
        assert_eq!(
            (e.code, e.state, e.message),
            (1045, Some(&b"28000"[..]), &b"Access denied"[..])
        );
        // Before the capabilities are agreed: no SQL state.
        let e = err(b"\xff\x6a\x04Host not allowed").unwrap();
        assert_eq!((e.code, e.state), (1130, None));
        assert!(is_progress(b"\xff\xff\xff\x01"));
        assert!(is_eof(0xfe, 5) && !is_eof(0xfe, 7) && is_end(0xfe, 7));
        assert!(!is_end(0xfe, MAX_PACKET));
        assert_eq!(column_count(&[3]), Some((3, true)));
        assert_eq!(column_count(&[3, 0]), Some((3, false)));
        assert_eq!(column_count(&[0xfb]), None);
        let mut c = Vec::new();
        for s in ["def", "shop", "u", "users", "name", "name"] {
            c.push(s.len() as u8);
            c.extend(s.as_bytes());
        }
        assert_eq!(column_name(&c), Some(&b"name"[..]));
        assert_eq!(
            prepared(&[0, 7, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0]),
            Some(Prepared {
                id: 7,
                columns: 2,
                params: 1,
                warnings: 0,
                metadata: true
            })
        );
        assert_eq!(lenenc(&[0xfe, 1, 0, 0, 0, 0, 0, 0], 0), None);
        assert_eq!(lenenc(&[0xfd, 1, 0, 1], 0), Some((0x10001, 4)));
    }

    #[test]
    fn binary_values_and_query_attributes() {
        use Binary::{Date, Hex, IntLe, UintLe};
        let bin = |v, t| Value::Binary(v, t);
        assert_eq!(value(&[0xff], 0, 1), Some((bin(&[0xff], IntLe), true, 1)));
        assert_eq!(
            value(&[0xff], 0, 0x8001),
            Some((bin(&[0xff], UintLe), true, 1))
        );
        assert_eq!(
            value(&[9, 0xfe, 0xff, 0xff, 0xff], 1, 3),
            Some((bin(&[0xfe, 0xff, 0xff, 0xff], IntLe), true, 5))
        );
        assert_eq!(
            value(b"\x03abc", 0, 0xfd),
            Some((Value::Text(b"abc"), true, 4))
        );
        assert_eq!(
            value(b"\x03\x00\x01\xff", 0, 0xfc),
            Some((bin(&[0, 1, 0xff], Hex), true, 4))
        );
        assert_eq!(
            value(&[4, 0xe8, 7, 1, 2], 0, 0x0a),
            Some((bin(&[0xe8, 7, 1, 2], Date), true, 5))
        );
        assert_eq!(value(&[], 0, 6), Some((Value::Null, true, 0)));
        // Past the bytes at hand: what there is, not whole.
        assert_eq!(value(&[1, 2], 0, 8), Some((bin(&[1, 2], IntLe), false, 2)));
        assert_eq!(
            value(b"\x05ab", 0, 0xfe),
            Some((Value::Text(b"ab"), false, 3))
        );
        assert_eq!(value(&[], 0, 0xfe), None);
        // NULL (bit 1), 7 and 'x', then a value cut short.
        let mut types = [0u16; sql::VALUES_MAX];
        types[..4].copy_from_slice(&[0x08, 0x08, 0xfe, 0xfe]);
        let p = [0b10, 7, 0, 0, 0, 0, 0, 0, 0, 1, b'x', 9, b'y'];
        let v: Vec<_> = execute_values(&p, 0, 1, 4, types, 0).collect();
        assert_eq!(
            v,
            [
                (bin(&[7, 0, 0, 0, 0, 0, 0, 0], IntLe), true),
                (Value::Null, true),
                (Value::Text(b"x"), true),
                (Value::Text(b"y"), false)
            ]
        );
        // Past VALUES_MAX: one NULL for the rest.
        let many = [0u8; 8];
        assert_eq!(
            execute_values(&many, 0, 8, 300, [ty::NULL as u16; sql::VALUES_MAX], 0).count(),
            sql::VALUES_MAX + 1
        );
        // One attribute `n1` = 'v1', then the text.
        let q = b"\x01\x01\x00\x01\xfe\x00\x02n1\x02v1select 1";
        let (at, n) = query_attributes(q).unwrap();
        assert_eq!((&q[at..], n), (&b"select 1"[..], 1));
        assert_eq!(query_attributes(b"\x00\x01select 1"), Some((2, 0)));
        assert_eq!(query_attributes(b"\x01\x01\x00\x01\xfe\x00"), None);
    }

    #[test]
    fn client_packets_are_maybes() {
        assert_eq!(probe(0, &pkt(0, b"\x03select 1")), Probe::Maybe);
        assert_eq!(probe(0, &pkt(0, b"\x0e")), Probe::Maybe);
        assert_eq!(probe(0, &pkt(0, b"\x03\x01\x02\x03")), Probe::No);
        assert_eq!(probe(0, &pkt(0, b"\x99")), Probe::No);
        assert_eq!(probe(0, &pkt(3, b"\x03select 1")), Probe::No);
        assert_eq!(probe(0, b"GET / HTTP/1.1\r\n"), Probe::No);
        assert_eq!(command_name(0x17), Some("stmt_execute"));
        assert_eq!(command_name(0x40), None);
    }

    #[test]
    fn total_on_any_bytes() {
        let mut x: u32 = 7;
        for n in 0..3000usize {
            let mut b = [0u8; 40];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *v = x as u8;
            }
            let b = &b[..n % 41];
            let _ = (
                frame(b),
                probe(n & 1, b),
                greeting(b),
                login(b),
                ok(b),
                err(b),
            );
            let _ = (
                column_count(b),
                column_name(b),
                prepared(b),
                query_attributes(b),
            );
            let _ = (
                change_user(b, x),
                value(b, n % 5, x as u16),
                execute_values(
                    b,
                    n % 3,
                    n % 7,
                    x as u16,
                    [x as u16; sql::VALUES_MAX],
                    x as u16,
                )
                .count(),
                execute(b),
                eof(b),
            );
        }
    }
}
