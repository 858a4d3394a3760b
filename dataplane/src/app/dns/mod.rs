//! DNS over UDP and TCP: one `dns` record per query and its response.
//!
//! `parse.rs` holds the pure message parser, `state.rs` the queries
//! waiting for responses (and TCP's length framing), `record.rs` what a
//! transaction writes. docs/schema.md lists the fields.

pub mod parse;
pub mod record;
pub mod state;
pub mod txn;

pub use state::Dns;

use crate::app::analyzer::{parse_seconds, Analyzer, Probe, Setting, Severity};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// Bytes a TCP probe needs to judge.
pub const TCP_PROBE_BYTES: usize = 14;

/// Whether a TCP stream's first bytes look like a length-prefixed DNS
/// message (the message may continue in later segments).
pub fn probe_tcp(data: &[u8]) -> bool {
    if data.len() < TCP_PROBE_BYTES {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    len >= 12 && parse::header(&data[2..]).is_some_and(|h| h.opcode() <= 6 && h.qd <= 16)
}

/// Bytes of a response kept while it waits for its query.
pub const EARLY_BYTES: usize = 16 * 1024;

/// DNS's limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A query unanswered this long (ns) is logged as unanswered
    /// (default 5 s).
    pub timeout_ns: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ns: 5_000_000_000,
        }
    }
}

impl Analyzer for Dns {
    const NAME: &'static str = "dns";
    const TITLE: &'static str = "DNS";
    const TCP_PORTS: &'static [u16] = &[53, 5353, 5355];
    const UDP_PORTS: &'static [u16] = &[53, 5353, 5355];
    const SUMMARY: &'static str = "dns {qtype_name} {query} -> {rcode_name|unanswered}";
    /// SERVFAIL and unanswered queries warn, other errors notice.
    const SEVERITY: Severity = Severity {
        field: "rcode",
        missing: 4,
        ranges: &[(0, 0, 6), (2, 2, 4)],
        otherwise: 5,
    };
    const SETTINGS: &'static [Setting] = &[Setting {
        name: "timeout",
        help: "Seconds a DNS query waits for its response [default: 5]",
        list: false,
        shared: false,
    }];
    type Limits = Limits;
    /// A UDP flow with no query waiting keeps nothing.
    type Parked = ();

    /// Over TCP, a length-prefixed header (too few bytes to tell: the port
    /// decides). Over UDP the port decides: a junk first datagram does not
    /// keep the queries after it from being logged (the parser counts what
    /// does not parse). Never found off its ports.
    fn probe(tcp: bool, _dir: usize, data: &[u8], on_port: bool) -> Probe {
        if !on_port {
            Probe::No
        } else if !tcp || data.len() < TCP_PROBE_BYTES {
            Probe::Maybe
        } else if probe_tcp(data) {
            Probe::Yes
        } else {
            Probe::No
        }
    }

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        match name {
            "timeout" => l.timeout_ns = parse_seconds(value)?,
            _ => return Err(format!("DNS has no setting `{name}`")),
        }
        Ok(())
    }

    fn new(tcp: bool, cfg: &AppConfig, _parked: ()) -> Self {
        Dns::new(tcp, cfg.max_open)
    }

    fn reset(&mut self, tcp: bool, cfg: &AppConfig, _parked: ()) {
        Dns::reset(self, tcp, cfg.max_open)
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Dns::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Dns::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Dns::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Dns::end(self, cx)
    }

    const PACKED: bool = true;

    fn pack(_: &()) -> Option<u32> {
        Some(0)
    }

    /// Over UDP with nothing waiting; a TCP connection keeps its session.
    #[inline]
    fn park(&self) -> Option<()> {
        (!self.tcp() && self.idle()).then_some(())
    }

    /// A response that came before its query waits in a transaction
    /// buffer (one longer than this is logged alone).
    fn txn_size(_: &Limits) -> TxnSize {
        TxnSize {
            frag: EARLY_BYTES,
            body: 0,
        }
    }

    /// An answer's texts are made in the scratch buffer.
    fn scratch_bytes(_: &Limits) -> usize {
        parse::TEXT_BYTES + 64
    }
}
