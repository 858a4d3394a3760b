//! Redis (RESP2 and RESP3): one `redis` record per command and its reply,
//! and one per pushed message.
//!
//! `parse.rs` holds the pure functions (item headers, inline commands, the
//! nesting walk, the probe, the command table), `state.rs` the
//! per-connection state machine (the open commands, paired with replies in
//! order), `txn.rs` an open command and a reply's data, `record.rs` what a
//! command or a push writes. docs/schema.md
//! lists the fields.

pub mod parse;
pub mod record;
pub mod state;
#[cfg(test)]
mod tests;
pub mod txn;

pub use state::Redis;

use crate::app::analyzer::{parse_bool, parse_size, Analyzer, Probe, Setting, Severity, REDACT};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// What Redis keeps of each command and reply.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of a command's arguments logged, all together (default 256).
    pub arg_bytes: usize,
    /// Bytes of a reply's value logged (default 256).
    pub reply_bytes: usize,
    /// Commands waiting for their replies per connection (default 128, at
    /// most [`state::OPEN_CAP`]); more are counted, not logged.
    pub max_open: usize,
    /// Replace credentials (AUTH, HELLO AUTH, MIGRATE AUTH, CONFIG SET of
    /// a password, ACL SETUSER passwords) with `[redacted]` (default on).
    pub redact: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            arg_bytes: 256,
            reply_bytes: 256,
            max_open: 128,
            redact: true,
        }
    }
}

/// Index of the count of pushed messages logged in Redis's counters.
pub const PUSHES: usize = 0;
/// Index of the count of connections whose analysis stopped (a gap or
/// bytes that are not RESP).
pub const STOPPED: usize = 1;

/// The most a byte limit may be (a record must fit
/// [`crate::record::MAX_RECORD`]).
pub const MAX_BYTES: usize = 8192;

/// Whether `data` starts with a line of printable words.
fn inline_words(data: &[u8]) -> bool {
    let line = match parse::inline_end(data) {
        parse::Parsed::Done(n) => &data[..n],
        parse::Parsed::Need => data,
        parse::Parsed::Bad => return false,
    };
    line.first().is_some_and(u8::is_ascii_alphabetic)
        && line
            .iter()
            .all(|&c| c == b'\r' || c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c))
}

impl Analyzer for Redis {
    const NAME: &'static str = "redis";
    const TITLE: &'static str = "Redis (RESP2/RESP3)";
    const TCP_PORTS: &'static [u16] = &[6379, 6380, 26379];
    const UDP_PORTS: &'static [u16] = &[];
    const COUNTERS: &'static [&'static str] = &["pushes", "stopped"];
    const SUMMARY: &'static str = "redis {command|push} {key|} -> {reply_type|unanswered}";
    /// Unanswered commands warn, errors notice.
    const SEVERITY: Severity = Severity {
        field: "success",
        missing: 6,
        ranges: &[(0, 0, 5)],
        otherwise: 6,
    };
    const SETTINGS: &'static [Setting] = &[
        Setting {
            name: "arg-bytes",
            help: "Bytes of a Redis command's arguments logged, all together, at most 8K [default: 256]",
            list: false,
            shared: false,
        },
        Setting {
            name: "reply-bytes",
            help: "Bytes of a Redis reply's value logged, at most 512 [default: 256]",
            list: false,
            shared: false,
        },
        Setting {
            name: "max-open",
            help: "Redis commands waiting for their replies per connection (pipelining), at most 1024 (and as many as a transaction buffer holds); more are counted, not logged [default: 128]",
            list: false,
            shared: false,
        },
        REDACT,
    ];
    type Limits = Limits;
    /// The connection's modes: RESP3, subscribed, inside MULTI, replies
    /// off or skipped.
    type Parked = state::Modes;

    /// A framed command is sure; an inline one only on Redis's ports.
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe {
        if !tcp {
            return Probe::No;
        }
        match parse::probe(dir, data) {
            parse::Probe::Yes => Probe::Yes,
            parse::Probe::Maybe if on_port => Probe::Maybe,
            // On its ports, a client's line of words is an inline command
            // Redis answers, if only with an error.
            parse::Probe::No if on_port && dir == 0 && inline_words(data) => Probe::Maybe,
            _ => Probe::No,
        }
    }

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        let bytes = |v: &str| -> Result<usize, String> {
            let n = parse_size(v)?;
            if n > MAX_BYTES {
                return Err(format!("is at most {MAX_BYTES} bytes, not {n}"));
            }
            Ok(n)
        };
        match name {
            "arg-bytes" => l.arg_bytes = bytes(value)?,
            "reply-bytes" => {
                let n = bytes(value)?;
                if n > txn::REPLY_CAP {
                    return Err(format!("is at most {} bytes, not {n}", txn::REPLY_CAP));
                }
                l.reply_bytes = n;
            }
            "max-open" => match value.trim().parse::<usize>() {
                Ok(n) if (1..=state::OPEN_CAP).contains(&n) => l.max_open = n,
                _ => {
                    return Err(format!(
                        "must be between 1 and {}, not {value}",
                        state::OPEN_CAP
                    ))
                }
            },
            "redact" => l.redact = parse_bool(value)?,
            _ => return Err(format!("Redis has no setting `{name}`")),
        }
        Ok(())
    }

    fn new(_tcp: bool, cfg: &AppConfig, parked: state::Modes) -> Self {
        Redis::new(cfg.protos.redis.limits.max_open, parked)
    }

    fn reset(&mut self, _tcp: bool, cfg: &AppConfig, parked: state::Modes) {
        Redis::reset(self, cfg.protos.redis.limits.max_open, parked)
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Redis::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Redis::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Redis::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Redis::end(self, cx)
    }

    fn done(&self) -> bool {
        self.over()
    }

    fn park(&self) -> Option<state::Modes> {
        self.at_rest()
    }

    const PACKED: bool = true;

    /// The modes are a few bits: kept in the flow's word.
    fn pack(m: &state::Modes) -> Option<u32> {
        Some(u32::from(m.bits()))
    }

    fn unpack(v: u32) -> state::Modes {
        state::Modes::from_bits(v as u8)
    }

    /// The open commands (a 40-byte header each) and their arguments wait
    /// in a transaction buffer: 16 KiB hold 128 commands of 80 argument
    /// bytes; past its room, arguments are cut, then commands counted and
    /// not logged.
    fn txn_size(_: &Limits) -> TxnSize {
        TxnSize {
            frag: 16 * 1024,
            body: 0,
        }
    }
}
