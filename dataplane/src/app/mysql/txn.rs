//! What the MySQL state machine and its record share: a command waiting
//! for its answer, the answer being gathered, the login, and the bounded
//! texts they keep. Apart from both, so neither imports the other's
//! types.

pub use crate::app::sql::Short;

/// Bytes of a statement's text (or a command's argument) kept.
pub const TEXT_KEEP: usize = 128;
/// Bytes of a login string (user, database, plugin, version) kept.
pub const NAME_KEEP: usize = 32;
/// Bytes of an error's message kept.
pub const MESSAGE_KEEP: usize = 80;
/// Bytes of column names kept (the first few, comma-separated).
pub const COLUMNS_KEEP: usize = 40;
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
    /// The key of its parameter values in the connection's transaction
    /// buffer (0: none kept).
    pub vals: u32,
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
    /// Rows of a result set, counted.
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
