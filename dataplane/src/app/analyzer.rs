//! The analyzer contract: what every application protocol implements, and
//! the per-protocol settings and counters the registry makes of it.
//!
//! An analyzer is a streaming parser ([`Analyzer::parse`]) with a probe
//! that tells its protocol from a flow's first bytes, the state a
//! connection keeps while it rests between transactions
//! ([`Analyzer::Parked`]), and what it needs of the shared buffers. The
//! application layer ([`super::App`]) owns the sessions, the reassembly
//! and the choice of protocol; the analyzer sees only bytes in order, gaps
//! and the clock. `registry.rs` lists the analyzers; nothing else names
//! them.

use super::stream::Sink;
use super::txn::TxnSize;
use super::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// What a probe makes of a flow's first bytes in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// These bytes are the protocol: off its ports too.
    Yes,
    /// Consistent with the protocol but not proof (too few bytes, a weak
    /// signature): on its ports the port decides; elsewhere it is not
    /// taken.
    Maybe,
    /// These bytes do not say; decide at the flow's next payload, from
    /// either side (a client's junk on HTTP's port: the server's answer
    /// decides).
    Wait,
    /// Not the protocol.
    No,
}

impl Probe {
    /// What a probe that cannot be sure of a flow's first bytes means
    /// given the port (the SQL protocols' rule): off the protocol's
    /// ports a `Maybe` is not taken; on them, too few bytes to tell (a
    /// message cut short) are enough, the port deciding.
    pub fn by_port(self, on_port: bool) -> Probe {
        match self {
            Probe::Maybe | Probe::Wait if on_port => Probe::Maybe,
            Probe::Maybe => Probe::No,
            p => p,
        }
    }
}

/// A protocol's parser and everything the application layer must know of
/// it. One value lives in each session of the protocol.
pub trait Analyzer: Sized {
    /// Its name: the record type, the prefix of its options
    /// (`--<name>-ports`) and of its counters.
    const NAME: &'static str;
    /// What it is, for `--help`.
    const TITLE: &'static str;
    /// On unless switched off (the template is off).
    const ON: bool = true;
    /// TCP ports that select it (before its bytes confirm it).
    const TCP_PORTS: &'static [u16];
    /// UDP ports that select it (a datagram to or from one).
    const UDP_PORTS: &'static [u16];
    /// Names of its own counters besides transactions, unanswered and
    /// errors ([`ProtoStats::extra`], at most [`MAX_EXTRA`]).
    const COUNTERS: &'static [&'static str] = &[];
    /// A record's one-line summary (GELF's `short_message`): `{field}`
    /// is the field's value, `{field|text}` the value or `text` when the
    /// field is absent; the rest is literal.
    const SUMMARY: &'static str;
    /// A record's syslog severity.
    const SEVERITY: Severity;
    /// Its limits as options ([`Analyzer::set`] applies them).
    const SETTINGS: &'static [Setting] = &[];
    /// Its limits and their defaults.
    type Limits: Clone + std::fmt::Debug + Default;
    /// What a connection at rest between transactions keeps when its
    /// session is given back (a few bytes: the request count, a mode).
    type Parked: Copy + Default;

    /// Sets the limit [`Setting::name`] `name` from the option's `value`
    /// (a list comes comma-separated); the error says why it is refused.
    fn set(_limits: &mut Self::Limits, name: &str, _value: &str) -> Result<(), String> {
        Err(format!("{} has no setting `{name}`", Self::NAME))
    }

    /// Whether `data`, the first payload of direction `dir` (0: client),
    /// is this protocol. `on_port`: the flow is on one of its ports.
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe;

    /// State for a new flow (`tcp`: over TCP), or for one resuming from
    /// `parked`.
    fn new(tcp: bool, cfg: &AppConfig, parked: Self::Parked) -> Self;

    /// Makes `self` what [`Analyzer::new`] returns, in place (a session
    /// slot is reused; an analyzer with large state resets only what it
    /// must).
    fn reset(&mut self, tcp: bool, cfg: &AppConfig, parked: Self::Parked) {
        *self = Self::new(tcp, cfg, parked);
    }

    /// Parses bytes of direction `dir`, in order. See [`Step`].
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step;

    /// `len` bytes of direction `dir` are lost: what was partly parsed of
    /// the current message is gone; resynchronise at the next message
    /// boundary where the protocol allows it, else stop (counted).
    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>);

    /// The stream ended with `len` bytes of a [`Step::Skip`] not come.
    fn unskipped(&mut self, _dir: usize, _len: u64) {}

    /// Called before each payload: log what waited past its timeout.
    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>);

    /// The flow ended: log what is open.
    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>);

    /// [`Analyzer::pack`] never fails: the protocol needs no parked
    /// slots.
    const PACKED: bool = false;

    /// The parked state as at most [`PACK_BITS`] bits, kept in the flow's
    /// own word instead of a parked slot (the default: it is not small
    /// enough).
    fn pack(_p: &Self::Parked) -> Option<u32> {
        None
    }

    /// What [`Analyzer::pack`] packed.
    fn unpack(_v: u32) -> Self::Parked {
        Self::Parked::default()
    }

    /// The protocol the flow goes on in (a hand-over mid-stream:
    /// PostgreSQL's SSLRequest answered `S`, a STARTTLS, HTTP CONNECT), or
    /// `None`. The step that hands over answers `Step::Need { consumed,
    /// min: usize::MAX }`, so the bytes after it are held for the next
    /// analyzer, not lost. The application layer then ends this analyzer,
    /// resumes both directions where they are and opens the other's
    /// session on them; its records carry `upgraded_from`.
    fn handover(&self) -> Option<super::Proto> {
        None
    }

    /// Nothing more is wanted from this flow (a stream that is not
    /// requests and replies any more, or bytes that are not the
    /// protocol): the analyzer is ended, its session goes back and the
    /// flow is left unanalyzed.
    fn done(&self) -> bool {
        false
    }

    /// `Some(state to keep)` when nothing is in progress, so the session
    /// can go back to the pool until the next transaction (the stream
    /// layer must be at rest too).
    fn park(&self) -> Option<Self::Parked>;

    /// What one transaction buffer must hold for it (zero: it keeps
    /// nothing between request and response there).
    fn txn_size(_limits: &Self::Limits) -> TxnSize {
        TxnSize { frag: 0, body: 0 }
    }

    /// Scratch bytes its records need (a redacted URI, say).
    fn scratch_bytes(_limits: &Self::Limits) -> usize {
        0
    }

    /// Bytes of decoded (inflated) content it may ask for.
    fn inflate_bytes(_limits: &Self::Limits) -> usize {
        0
    }
}

/// How a record's syslog severity follows from one of its numeric (or
/// boolean: 1 and 0) fields.
#[derive(Clone, Copy, Debug)]
pub struct Severity {
    /// The field.
    pub field: &'static str,
    /// The severity when the field is absent.
    pub missing: u8,
    /// `(low, high, severity)`: the first range holding the value wins.
    pub ranges: &'static [(u64, u64, u8)],
    /// The severity of any other value.
    pub otherwise: u8,
}

impl Severity {
    /// The severity of a record whose `field` is `value`.
    pub fn of(&self, value: Option<u64>) -> u8 {
        match value {
            None => self.missing,
            Some(v) => self
                .ranges
                .iter()
                .find(|r| (r.0..=r.1).contains(&v))
                .map_or(self.otherwise, |r| r.2),
        }
    }
}

/// One of an analyzer's limits as an option: `--<protocol>-<name>` on the
/// command line and `<protocol>_<name>` in the config file, or, when
/// `shared`, `--<name>` for every protocol that has it (`--redact`).
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The option's name after the protocol's, in kebab case.
    pub name: &'static str,
    /// What it does, ending with its default in brackets.
    pub help: &'static str,
    /// It takes a comma-separated list.
    pub list: bool,
    /// One option for every protocol that has it.
    pub shared: bool,
}

/// `--redact`, shared by every analyzer that logs secrets.
pub const REDACT: Setting = Setting {
    name: "redact",
    help: "Replace secrets in records: passwords, tokens and credentials (HTTP: the --redact-headers values and the --redact-keys query/body values; Redis: AUTH and HELLO credentials, passwords set) [default: true]",
    list: false,
    shared: true,
};

/// `--sql-literals`, shared by the database analyzers.
pub const SQL_LITERALS: Setting = Setting {
    name: "sql-literals",
    help: "What SQL records keep of values: `keep` logs statements as sent and their parameter values; `mask` logs only the statement's fingerprint (literals replaced by ?), no parameter values and no server error messages (which can quote values) [default: keep]",
    list: false,
    shared: true,
};

/// `keep` (false) or `mask` (true), for [`SQL_LITERALS`].
pub fn parse_sql_literals(s: &str) -> Result<bool, String> {
    match s.trim() {
        "keep" => Ok(false),
        "mask" => Ok(true),
        _ => Err(format!("must be keep or mask, not {s}")),
    }
}

/// A size such as `128M`, `1G`, `512K`, `65536` (`B`/`iB` suffixes
/// allowed).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1usize << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 128M, 1G)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// A positive number of seconds, in nanoseconds.
pub fn parse_seconds(s: &str) -> Result<u64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1e6 => Ok((x * 1e9) as u64),
        _ => Err(format!("must be a positive number of seconds, not {s}")),
    }
}

/// A boolean: `true`/`false` (also `1`/`0`, `on`/`off`, `yes`/`no`).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(format!("must be true or false, not `{s}`")),
    }
}

/// Bits a packed parked state may take ([`Analyzer::pack`]).
pub const PACK_BITS: u32 = 20;

/// The stream layer's view of an analyzer.
pub(super) struct AsSink<'a, A>(pub &'a mut A);

impl<A: Analyzer, O: RecordOut> Sink<Cx<'_, O>> for AsSink<'_, A> {
    #[inline]
    fn parse(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        self.0.parse(dir, data, cx)
    }
    fn gap(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        self.0.gap(dir, len, cx)
    }
    fn unskipped(&mut self, dir: usize, len: u64, _cx: &mut Cx<'_, O>) {
        self.0.unskipped(dir, len)
    }
}

/// A set of ports, one bit each.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    /// The set of `ports`.
    pub fn new(ports: &[u16]) -> Self {
        let mut b = Box::new([0u64; 1024]);
        for &p in ports {
            b[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        Self(b)
    }

    /// Whether `p` is in the set.
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p >> 6)] >> (p & 63) & 1 != 0
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<u16> = (0..=u16::MAX).filter(|&p| self.contains(p)).collect();
        write!(f, "{ports:?}")
    }
}

/// One protocol's switches, limits and share of the budget.
#[derive(Clone, Debug)]
pub struct ProtoConfig<L> {
    /// Analyze this protocol (default on).
    pub enabled: bool,
    /// TCP ports that select it (before content confirms it).
    pub tcp_ports: PortSet,
    /// UDP ports that select it.
    pub udp_ports: PortSet,
    /// Analyze 1 flow in N (default 1: every flow).
    pub sample: u32,
    /// Its own limits.
    pub limits: L,
    /// Connections at rest whose parked state can be kept at once.
    pub parked: usize,
}

impl<L: Default> ProtoConfig<L> {
    /// `enabled` or not, on `tcp` and `udp` ports, default limits.
    pub fn new(enabled: bool, tcp: &[u16], udp: &[u16]) -> Self {
        Self {
            enabled,
            tcp_ports: PortSet::new(tcp),
            udp_ports: PortSet::new(udp),
            sample: 1,
            limits: L::default(),
            parked: 0,
        }
    }
}

/// Most named counters of one protocol.
pub const MAX_EXTRA: usize = 4;

/// One protocol's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProtoStats {
    /// Transactions logged.
    pub transactions: u64,
    /// Of those, without a response.
    pub unanswered: u64,
    /// Messages that did not parse.
    pub errors: u64,
    /// Connections at rest that kept their session: no parked slot was
    /// free.
    pub parked_full: u64,
    /// Sessions full: flows of this protocol left unanalyzed.
    pub sessions_full: u64,
    /// The analyzer's own counters, named by [`Analyzer::COUNTERS`].
    pub extra: [u64; MAX_EXTRA],
}

impl ProtoStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &ProtoStats) {
        self.transactions += o.transactions;
        self.unanswered += o.unanswered;
        self.errors += o.errors;
        self.parked_full += o.parked_full;
        self.sessions_full += o.sessions_full;
        for (a, b) in self.extra.iter_mut().zip(o.extra) {
            *a += b;
        }
    }
}
