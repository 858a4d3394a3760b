//! What the MySQL state machine and its record share: a command waiting
//! for its answer, the answer being gathered, the login, and the bounded
//! texts they keep. Apart from both, so neither imports the other's
//! types.

pub use crate::app::pgsql::txn::Short;

use super::parse::{ty, Value};

/// Bytes of a statement's text (or a command's argument) kept.
pub const TEXT_KEEP: usize = 128;
/// Bytes of a login string (user, database, plugin, version) kept.
pub const NAME_KEEP: usize = 32;
/// Bytes of an error's message kept.
pub const MESSAGE_KEEP: usize = 80;
/// Bytes of column names kept (the first few, comma-separated).
pub const COLUMNS_KEEP: usize = 40;
/// Bytes of one parameter value's text kept.
pub const VALUE_KEEP: usize = 23;
/// Parameter values logged at most.
pub const VALUES_MAX: usize = 6;

/// No statement slot.
pub const NO_SLOT: u8 = u8::MAX;

/// A command waiting for its answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pending {
    /// When it came (ns).
    pub ts: u64,
    /// The command byte.
    pub cmd: u8,
    /// The sequence id its answer starts at.
    pub seq: u8,
    /// The slot holding its text (a query's or prepared statement's, or
    /// the argument: a database, a table), or [`NO_SLOT`].
    pub slot: u8,
    /// Its values are the ones [`Values`] holds under this tag.
    pub values: u8,
    /// The statement id it names (execute, reset, fetch).
    pub stmt_id: Option<u32>,
    /// Parameters it binds (execute), or attributes it carries (query).
    pub params: u16,
}

/// The answer to the command in front, as it is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Answer {
    /// The OK's affected rows.
    pub rows: Option<u64>,
    /// The OK's last insert id (when not 0).
    pub insert_id: u64,
    /// Warnings (OK or EOF).
    pub warnings: u16,
    /// Rows of a result set.
    pub data_rows: u64,
    /// Columns of a result set (or of COM_FIELD_LIST's answer).
    pub columns: Option<u64>,
    /// The first column names, comma-separated.
    pub names: Short<COLUMNS_KEEP>,
    /// The ERR's code.
    pub code: Option<u16>,
    /// The ERR's SQL state.
    pub state: Short<5>,
    /// The ERR's message.
    pub message: Short<MESSAGE_KEEP>,
    /// COM_STMT_PREPARE_OK: the statement id, its columns and parameters.
    pub prepared: Option<(u32, u16, u16)>,
    /// A LOCAL INFILE request came; the bytes of the file the client sent.
    pub infile: Option<u64>,
    /// Results done (of a multi-statement query or a procedure).
    pub results: u32,
    /// The packet that ended it did not parse.
    pub malformed: bool,
}

impl Answer {
    /// Forgets one result's figures (the next result of the same command
    /// begins), keeping the count of results.
    pub fn next_result(&mut self) {
        *self = Answer {
            results: self.results.saturating_add(1),
            ..Answer::default()
        };
    }

    /// An ERR came.
    pub fn failed(&self) -> bool {
        self.code.is_some()
    }
}

/// The login: the greeting, what the client said and how it went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Login {
    /// When the client's login came; 0: none seen.
    pub ts: u64,
    /// A login is waiting for OK or ERR.
    pub open: bool,
    /// The user.
    pub user: Short<NAME_KEEP>,
    /// The database.
    pub database: Short<NAME_KEEP>,
    /// The server's version (greeting).
    pub server_version: Short<NAME_KEEP>,
    /// The connection id (greeting).
    pub connection_id: Option<u32>,
    /// The server's capabilities (greeting); 0: not seen.
    pub server_caps: u32,
    /// The client's capabilities (login); 0: not seen.
    pub client_caps: u32,
    /// The plugin the client used (else the one the greeting proposed).
    pub auth_plugin: Short<NAME_KEEP>,
    /// The plugin an AuthSwitchRequest switched to (the login's, or
    /// COM_CHANGE_USER's).
    pub switched: Short<NAME_KEEP>,
    /// caching_sha2_password's verdict: 3 fast, 4 full authentication.
    pub more: Option<u8>,
    /// `_client_name`.
    pub client_name: Short<NAME_KEEP>,
    /// `_client_version`.
    pub client_version: Short<12>,
    /// `program_name`.
    pub program_name: Short<NAME_KEEP>,
    /// Connection attributes sent.
    pub attrs: u32,
}

impl Login {
    /// The capabilities both sides have: the client's, less what a greeting
    /// seen did not offer.
    pub fn caps(&self) -> u32 {
        if self.server_caps == 0 {
            self.client_caps
        } else {
            self.client_caps & self.server_caps
        }
    }
}

/// A prepared statement's parameter values as text, for the one command
/// that bound them: each value's text after its length (a byte).
#[derive(Clone, Copy, Debug)]
pub struct Values {
    /// The [`Pending::values`] of the command they belong to.
    pub tag: u8,
    /// Values kept.
    pub n: u8,
    /// A value or the list was cut.
    pub cut: bool,
    /// The values, one after the other.
    pub buf: [u8; VALUES_MAX * (VALUE_KEEP + 1)],
    /// Bytes used.
    pub len: u16,
}

impl Default for Values {
    fn default() -> Self {
        Self {
            tag: 0,
            n: 0,
            cut: false,
            buf: [0; VALUES_MAX * (VALUE_KEEP + 1)],
            len: 0,
        }
    }
}

impl Values {
    /// Empties the list for the command tagged `tag`.
    pub fn start(&mut self, tag: u8) {
        self.tag = tag;
        self.n = 0;
        self.cut = false;
        self.len = 0;
    }

    /// Appends a parameter's value as SQL would write it: numbers bare,
    /// strings, dates and times quoted (a quote in them doubled), NULL as
    /// `NULL`; its text cut at [`VALUE_KEEP`] bytes. The one place values
    /// are written: masking them is a change here.
    pub fn push(&mut self, v: Value<'_>) {
        if usize::from(self.n) >= VALUES_MAX {
            self.cut = true;
            return;
        }
        let mut text = [0u8; VALUE_KEEP];
        let mut w = Cursor {
            buf: &mut text,
            len: 0,
            cut: false,
        };
        match v {
            Value::Null => w.put(b"NULL"),
            Value::Int(i) => w.fmt(format_args!("{i}")),
            Value::Uint(u) => w.fmt(format_args!("{u}")),
            Value::Float(f) => w.fmt(format_args!("{f}")),
            Value::Bytes(b) => {
                w.put(b"'");
                for &c in b {
                    w.put(if c == b'\'' {
                        b"''"
                    } else {
                        std::slice::from_ref(&c)
                    });
                }
                w.put(b"'");
            }
            Value::Temporal(ty, b) => {
                w.put(b"'");
                temporal(&mut w, ty, b);
                w.put(b"'");
            }
        }
        let (n, cut) = (w.len, w.cut);
        let at = usize::from(self.len);
        let Some(dst) = self.buf.get_mut(at..at + 1 + n) else {
            self.cut = true;
            return;
        };
        dst[0] = n as u8;
        dst[1..].copy_from_slice(&text[..n]);
        self.cut |= cut;
        self.len += 1 + n as u16;
        self.n += 1;
    }

    /// The values' texts.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut at = 0usize;
        (0..self.n).map_while(move |_| {
            let l = usize::from(*self.buf.get(at)?);
            let v = self.buf.get(at + 1..at + 1 + l)?;
            at += 1 + l;
            Some(v)
        })
    }
}

/// Text written into a fixed buffer, cut at its end.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
    cut: bool,
}

impl Cursor<'_> {
    fn put(&mut self, b: &[u8]) {
        let room = self.buf.len() - self.len;
        let n = b.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        self.cut |= n < b.len();
    }

    fn fmt(&mut self, a: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        struct W<'c, 'd>(&'c mut Cursor<'d>);
        impl std::fmt::Write for W<'_, '_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.put(s.as_bytes());
                Ok(())
            }
        }
        let _ = W(self).write_fmt(a);
    }
}

/// A binary date (`YYYY-MM-DD`), date-time (with ` HH:MM:SS[.ffffff]`)
/// or time (`[-][D ]HH:MM:SS[.ffffff]`) from its 0, 4, 7, 8, 11 or 12
/// bytes.
fn temporal(w: &mut Cursor<'_>, t: u8, b: &[u8]) {
    let u16at = |i: usize| {
        b.get(i..i + 2)
            .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
    };
    let u32at = |i: usize| {
        b.get(i..i + 4)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    if t == ty::TIME {
        if b.is_empty() {
            w.put(b"00:00:00");
            return;
        }
        let sign = if byte(0) == 1 { "-" } else { "" };
        let days = u32at(1);
        let hours = u32::from(byte(5)) + days * 24;
        w.fmt(format_args!(
            "{sign}{hours:02}:{:02}:{:02}",
            byte(6),
            byte(7)
        ));
        if b.len() >= 12 {
            w.fmt(format_args!(".{:06}", u32at(8)));
        }
        return;
    }
    w.fmt(format_args!(
        "{:04}-{:02}-{:02}",
        u16at(0),
        byte(2),
        byte(3)
    ));
    if t != ty::DATE && b.len() >= 7 {
        w.fmt(format_args!(
            " {:02}:{:02}:{:02}",
            byte(4),
            byte(5),
            byte(6)
        ));
        if b.len() >= 11 {
            w.fmt(format_args!(".{:06}", u32at(7)));
        }
    }
}
