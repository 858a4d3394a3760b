//! PostgreSQL (frontend/backend protocol 3.x): one `pgsql` record per
//! statement (a Query, an Execute with the text its statement was prepared
//! with) and its answer, one per login, per SSLRequest or GSSENCRequest
//! and per CancelRequest. An SSLRequest answered `S` hands the connection
//! over to TLS.
//!
//! `parse.rs` holds the pure functions (framing, the probe, the fields of
//! each message), `state.rs` the per-connection state machine (the
//! startup, the waiting messages paired in order, the statement texts),
//! `txn.rs` what both share with `record.rs`, which writes the records.
//! docs/schema.md lists the fields.

#[cfg(test)]
mod differential;
pub mod parse;
pub mod record;
pub mod state;
#[cfg(test)]
pub(super) mod tests;
pub mod txn;

pub use state::Pgsql;

use crate::app::analyzer::{Analyzer, Probe, Setting, Severity, SQL_LITERALS};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

/// Index of the count of connections whose analysis stopped (bytes that
/// are not PostgreSQL, a gap in the startup, GSSAPI encryption).
pub const STOPPED: usize = 0;

pub use crate::app::sql::Limits;

impl Analyzer for Pgsql {
    const NAME: &'static str = "pgsql";
    const TITLE: &'static str = "PostgreSQL (frontend/backend protocol 3)";
    const TCP_PORTS: &'static [u16] = &[5432];
    const UDP_PORTS: &'static [u16] = &[];
    const COUNTERS: &'static [&'static str] = &["stopped"];
    const SUMMARY: &'static str = "pgsql {op} {tag|} {sqlstate|}";
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

    /// A startup-phase message is sure; typed messages only on the port.
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe {
        if !tcp {
            return Probe::No;
        }
        parse::probe(dir, data).by_port(on_port)
    }

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        l.set("PostgreSQL", name, value)
    }

    fn new(_tcp: bool, cfg: &AppConfig, parked: state::Parked) -> Self {
        Pgsql::new(cfg.protos.pgsql.limits.mask, parked)
    }

    /// Bind parameter values wait in a transaction buffer for their
    /// Execute's record.
    fn txn_size(_: &Limits) -> TxnSize {
        TxnSize {
            frag: crate::app::sql::KEPT_ROOM,
            body: 0,
        }
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Pgsql::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Pgsql::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Pgsql::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Pgsql::end(self, cx)
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

    /// Without a login seen, the phase is a few bits kept in the flow's
    /// word; with one, the user, database and application take a parked
    /// slot.
    fn pack(p: &state::Parked) -> Option<u32> {
        (!p.user.set && !p.database.set && !p.application.set).then_some(u32::from(p.bits))
    }

    fn unpack(v: u32) -> state::Parked {
        state::Parked {
            bits: v as u8,
            ..state::Parked::default()
        }
    }
}
