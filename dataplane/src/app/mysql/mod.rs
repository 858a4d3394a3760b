//! MySQL and MariaDB (client/server protocol 4.1 and later): one `mysql`
//! record per command and its answer (one per result of a query of
//! several statements), one per login and per SSLRequest. An SSLRequest
//! hands the connection over to TLS; the compressed protocol stops the
//! analysis (counted).
//!
//! `parse.rs` holds the pure functions (framing, the probe, the fields of
//! each packet), `state.rs` the per-connection state machine (greeting,
//! login, commands paired in order with their answers, prepared
//! statements), `txn.rs` what both share with `record.rs`, which writes
//! the records. docs/schema.md lists the fields.

#[cfg(test)]
mod diff_tests;
pub mod parse;
pub mod record;
pub mod state;
#[cfg(test)]
mod tests;
pub mod txn;

pub use state::Mysql;

use crate::app::analyzer::{Analyzer, Probe, Setting, Severity, SQL_LITERALS};
use crate::app::sql::{Limits, KEPT_ROOM};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// Index of the count of connections whose analysis stopped (the
/// compressed protocol, a binlog stream, bytes that are not MySQL).
pub const STOPPED: usize = 0;

impl Analyzer for Mysql {
    const NAME: &'static str = "mysql";
    const TITLE: &'static str = "MySQL and MariaDB (client/server protocol 4.1)";
    const TCP_PORTS: &'static [u16] = &[3306];
    const UDP_PORTS: &'static [u16] = &[];
    const COUNTERS: &'static [&'static str] = &["stopped"];
    const SUMMARY: &'static str = "mysql {op} {error_code|}";
    /// Failures notice.
    const SEVERITY: Severity = Severity {
        field: "success",
        missing: 6,
        ranges: &[(0, 0, 5)],
        otherwise: 6,
    };
    const SETTINGS: &'static [Setting] = &[SQL_LITERALS];
    type Limits = Limits;
    type Parked = state::Parked;

    /// The server's greeting is sure; a client's command or an answer only
    /// on the port.
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe {
        if !tcp {
            return Probe::No;
        }
        parse::probe(dir, data).by_port(on_port)
    }

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        l.set("MySQL", name, value)
    }

    fn new(_tcp: bool, cfg: &AppConfig, parked: state::Parked) -> Self {
        Mysql::new(cfg.protos.mysql.limits.mask, parked)
    }

    /// Statement texts longer than the session keeps and parameter values
    /// wait in a transaction buffer for their records.
    fn txn_size(_: &Limits) -> TxnSize {
        TxnSize {
            frag: KEPT_ROOM,
            body: 0,
        }
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Mysql::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Mysql::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Mysql::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Mysql::end(self, cx)
    }

    fn done(&self) -> bool {
        self.over()
    }

    fn handover(&self) -> Option<crate::app::Proto> {
        self.next
    }

    fn park(&self) -> Option<state::Parked> {
        self.at_rest()
    }

    /// Without a user or database, the phase and the capabilities that lay
    /// packets out are a few bits kept in the flow's word; with them, a
    /// parked slot.
    fn pack(p: &state::Parked) -> Option<u32> {
        if p.user.set || p.database.set {
            return None;
        }
        let mut v = u32::from(p.bits & state::Parked::COMMANDS);
        for (i, c) in state::Parked::PACKED_CAPS.iter().enumerate() {
            if p.caps & c != 0 {
                v |= 2 << i;
            }
        }
        Some(v)
    }

    fn unpack(v: u32) -> state::Parked {
        let mut caps = 0;
        for (i, c) in state::Parked::PACKED_CAPS.iter().enumerate() {
            if v & 2 << i != 0 {
                caps |= c;
            }
        }
        state::Parked {
            bits: (v & 1) as u8,
            caps,
            ..state::Parked::default()
        }
    }
}
