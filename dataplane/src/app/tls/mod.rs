//! TLS (SSL 3.0 to TLS 1.3): one `tls` record per handshake, on any port
//! (TLS is found by its bytes), or from a flow another analyzer hands
//! over (HTTP CONNECT).
//!
//! `parse.rs` reads records and hellos and makes the fingerprints (JA4,
//! JA3, JA3S), `x509.rs` reads certificates, `state.rs` follows the
//! handshake in both directions, `record.rs` writes it, `names.rs` names
//! cipher suites, alerts and versions. After the handshake the analyzer is
//! done: the rest of the stream is counted by the flow only. DTLS and QUIC
//! are not read. docs/schema.md lists the fields.

pub mod names;
pub mod parse;
pub mod record;
pub mod state;
#[cfg(test)]
mod tests;
pub mod x509;

pub use state::Tls;

use crate::app::analyzer::{parse_bool, Analyzer, Probe, Setting, Severity};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// What TLS logs beyond the default.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Also log JA4's raw and original-order forms (`ja4_r`, `ja4_o`,
    /// `ja4_ro`).
    pub ja4_raw: bool,
}

/// Index of the count of handshake messages (or leaf certificates) too
/// large to read whole, passed over.
pub const TOO_LARGE: usize = 0;
/// Index of the count of certificates that could not be read.
pub const BAD_CERTIFICATES: usize = 1;
/// Index of the count of handshakes a gap cut short.
pub const GAPS: usize = 2;

impl Analyzer for Tls {
    const NAME: &'static str = "tls";
    const TITLE: &'static str = "TLS handshakes (SSL 3.0 to TLS 1.3, JA4, certificates)";
    const TCP_PORTS: &'static [u16] = &[
        443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443,
    ];
    const UDP_PORTS: &'static [u16] = &[];
    const COUNTERS: &'static [&'static str] = &["too_large", "bad_certificates", "gaps"];
    const SUMMARY: &'static str = "tls {sni|-} {version|-} {cipher|} established={established}";
    /// A handshake that failed warns.
    const SEVERITY: Severity = Severity {
        field: "established",
        missing: 6,
        ranges: &[(0, 0, 4)],
        otherwise: 6,
    };
    const SETTINGS: &'static [Setting] = &[Setting {
        name: "ja4-raw",
        help: "Also log JA4's raw and original-order forms (ja4_r, ja4_o, ja4_ro) [default: false]",
        list: false,
        shared: false,
    }];
    type Limits = Limits;
    type Parked = ();

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        match name {
            "ja4-raw" => l.ja4_raw = parse_bool(value)?,
            _ => return Err(format!("TLS has no setting `{name}`")),
        }
        Ok(())
    }

    /// A ClientHello (or, when the capture missed it, a ServerHello) in a
    /// handshake record is sure on any port.
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe {
        if !tcp {
            return Probe::No;
        }
        let want = if dir == 0 {
            parse::CLIENT_HELLO
        } else {
            parse::SERVER_HELLO
        };
        match parse::record_header(data) {
            // A message cut into records shorter than its header (an
            // evasion): only its type can be read.
            Ok(Some(h)) if h.ty == parse::HANDSHAKE && h.len < 4 => match data.get(5) {
                Some(&t) if t == want && on_port => Probe::Yes,
                Some(&t) if t == want => Probe::Maybe,
                Some(_) => Probe::No,
                None => Probe::Wait,
            },
            Ok(Some(h)) if h.ty == parse::HANDSHAKE => match data.get(5..9) {
                Some(m) if m[0] == want => {
                    let len = u32::from_be_bytes([0, m[1], m[2], m[3]]) as usize;
                    // The smallest hello has its version and random.
                    if (34..=state::GATHER_MAX * 4).contains(&len) {
                        Probe::Yes
                    } else {
                        Probe::No
                    }
                }
                Some(_) => Probe::No,
                None if on_port => Probe::Maybe,
                None => Probe::Wait,
            },
            Ok(Some(_)) | Err(parse::NotTls) => Probe::No,
            Ok(None) if data.first() == Some(&parse::HANDSHAKE) => {
                if on_port {
                    Probe::Maybe
                } else {
                    Probe::Wait
                }
            }
            Ok(None) => Probe::No,
        }
    }

    fn new(_tcp: bool, _cfg: &AppConfig, _parked: ()) -> Self {
        Tls::new()
    }

    fn reset(&mut self, _tcp: bool, _cfg: &AppConfig, _parked: ()) {
        Tls::reset(self)
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Tls::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Tls::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Tls::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        self.finish(cx)
    }

    /// The handshake's record is written: the stream is not read further.
    fn done(&self) -> bool {
        self.over
    }

    /// A connection is at rest only when its handshake is over, and then
    /// it is done: nothing is parked.
    fn park(&self) -> Option<()> {
        None
    }

    const PACKED: bool = true;

    fn pack(_: &()) -> Option<u32> {
        Some(0)
    }

    /// The hellos' and certificates' fields wait in a transaction buffer
    /// until the handshake's record is written.
    fn txn_size(_: &Limits) -> TxnSize {
        TxnSize {
            frag: record::FRAG_BYTES,
            body: 0,
        }
    }

    /// A handshake message that crosses records is gathered whole here.
    fn scratch_bytes(_: &Limits) -> usize {
        state::GATHER_MAX
    }
}
