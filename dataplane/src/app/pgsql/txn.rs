//! What the PostgreSQL state machine and its record share: a client
//! message waiting for its answer, the answer being gathered, the login,
//! and the bounded texts they keep. Apart from both, so neither imports
//! the other's types.

pub use crate::app::sql::Short;

/// Bytes of a statement's text kept.
pub const TEXT_KEEP: usize = 128;
/// Bytes of a login string (user, database, application name) kept.
pub const NAME_KEEP: usize = 32;
/// Bytes of a command tag kept.
pub const TAG_KEEP: usize = 32;
/// Bytes of an error's message kept.
pub const MESSAGE_KEEP: usize = 96;

/// What a client message is, for the pairing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Op {
    /// Query (`Q`): answered up to ReadyForQuery.
    #[default]
    Query,
    /// Parse (`P`): ParseComplete.
    Parse,
    /// Bind (`B`): BindComplete.
    Bind,
    /// Describe (`D`): (ParameterDescription and) RowDescription or NoData.
    Describe,
    /// Execute (`E`): CommandComplete, EmptyQueryResponse or
    /// PortalSuspended.
    Execute,
    /// Close (`C`): CloseComplete.
    Close,
    /// Sync (`S`): ReadyForQuery.
    Sync,
    /// FunctionCall (`F`): FunctionCallResponse, ReadyForQuery.
    Function,
}

impl Op {
    /// Its name in a record.
    pub fn name(self) -> &'static str {
        match self {
            Op::Query => "query",
            Op::Parse => "parse",
            Op::Bind => "bind",
            Op::Describe => "describe",
            Op::Execute => "execute",
            Op::Close => "close",
            Op::Sync => "sync",
            Op::Function => "function_call",
        }
    }
}

impl Op {
    const ALL: [Op; 8] = [
        Op::Query,
        Op::Parse,
        Op::Bind,
        Op::Describe,
        Op::Execute,
        Op::Close,
        Op::Sync,
        Op::Function,
    ];
}

/// No statement slot.
pub const NO_SLOT: u8 = u8::MAX;

/// A client message waiting for its answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pending {
    /// When it came (ns).
    pub ts: u64,
    /// What it is.
    pub op: Op,
    /// The statement slot holding its text, or [`NO_SLOT`].
    pub slot: u8,
    /// Bind parameters (Bind and Execute of its portal).
    pub params: u16,
    /// The key of its parameter values in the connection's transaction
    /// buffer (0: none kept).
    pub vals: u32,
}

impl Pending {
    /// Its bytes, to wait in a transaction buffer.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.ts.to_le_bytes());
        b[8] = Op::ALL.iter().position(|&o| o == self.op).unwrap_or(0) as u8;
        b[9] = self.slot;
        b[10..12].copy_from_slice(&self.params.to_le_bytes());
        b[12..].copy_from_slice(&self.vals.to_le_bytes());
        b
    }

    /// What [`Pending::to_bytes`] wrote.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 16] = b.try_into().ok()?;
        let mut ts = [0; 8];
        ts.copy_from_slice(&b[..8]);
        Some(Pending {
            ts: u64::from_le_bytes(ts),
            op: *Op::ALL.get(usize::from(b[8]))?,
            slot: b[9],
            params: u16::from_le_bytes([b[10], b[11]]),
            vals: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        })
    }
}

/// The answer to the front message, as it is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Answer {
    /// The last CommandComplete tag.
    pub tag: Short<TAG_KEEP>,
    /// Rows the tags counted.
    pub rows: Option<u64>,
    /// DataRow messages.
    pub data_rows: u64,
    /// Columns of the last RowDescription.
    pub columns: Option<u16>,
    /// CommandComplete and EmptyQueryResponse messages (statements done).
    pub statements: u32,
    /// EmptyQueryResponse came.
    pub empty: bool,
    /// PortalSuspended came: more rows wait for another Execute.
    pub suspended: bool,
    /// COPY data bytes, either way.
    pub copy_bytes: u64,
    /// The error's severity, SQLSTATE and message.
    pub severity: Short<16>,
    /// SQLSTATE.
    pub code: Short<5>,
    /// The primary message.
    pub message: Short<MESSAGE_KEEP>,
    /// ReadyForQuery's status.
    pub tx_status: Option<&'static str>,
    /// A Query's statement is complete and waits for ReadyForQuery.
    pub held: bool,
    /// NoticeResponse messages in the answer.
    pub notices: u16,
    /// The key of the first one's fields in the connection's transaction
    /// buffer (0: none kept; see [`notice_bytes`]).
    pub notice: u32,
}

/// A notice's fields as kept: the severity's length, the severity, the
/// SQLSTATE's length and SQLSTATE, then the message (cut at
/// [`MESSAGE_KEEP`]; left out when `mask`). Returns the bytes used.
pub fn notice_bytes(
    severity: &[u8],
    code: &[u8],
    message: &[u8],
    mask: bool,
    out: &mut [u8; 2 + 16 + 5 + MESSAGE_KEEP],
) -> usize {
    let sev = &severity[..severity.len().min(16)];
    let code = &code[..code.len().min(5)];
    let msg = if mask {
        &[][..]
    } else {
        &message[..message.len().min(MESSAGE_KEEP)]
    };
    let mut n = 0;
    for part in [
        &[sev.len() as u8][..],
        sev,
        &[code.len() as u8][..],
        code,
        msg,
    ] {
        out[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    n
}

/// What [`notice_bytes`] wrote: severity, SQLSTATE, message.
pub fn notice_fields(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (&n, b) = b.split_first()?;
    let (sev, b) = b.split_at_checked(usize::from(n))?;
    let (&n, b) = b.split_first()?;
    let (code, msg) = b.split_at_checked(usize::from(n))?;
    Some((sev, code, msg))
}

impl Answer {
    /// Forgets one statement's results (a Query's next statement begins),
    /// keeping the count of statements done.
    pub fn clear_statement(&mut self) {
        *self = Answer {
            statements: self.statements,
            ..Answer::default()
        };
    }

    /// An ErrorResponse came.
    pub fn failed(&self) -> bool {
        self.code.set || self.severity.set
    }
}

/// The login: what the StartupMessage said and how the server answered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Login {
    /// When the StartupMessage came; 0: none seen.
    pub ts: u64,
    /// A StartupMessage is waiting for ReadyForQuery (or an error).
    pub open: bool,
    /// `user`.
    pub user: Short<NAME_KEEP>,
    /// `database`.
    pub database: Short<NAME_KEEP>,
    /// `application_name`.
    pub application: Short<NAME_KEEP>,
    /// Parameters sent.
    pub params: u32,
    /// Protocol version asked.
    pub version: u32,
    /// The first authentication method the server asked for (its code).
    pub auth: Option<u32>,
    /// SASL's first mechanism.
    pub mechanism: Short<NAME_KEEP>,
    /// `server_version` from ParameterStatus.
    pub server_version: Short<NAME_KEEP>,
    /// BackendKeyData's process id.
    pub pid: Option<u32>,
    /// The SSLRequest before it was refused (`N`).
    pub ssl_refused: bool,
}
