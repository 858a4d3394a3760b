//! The folder to copy for a new protocol. It is registered (in test
//! builds) and tested through the whole application layer, so it stays
//! true to the contract; it is off by default and has no ports.
//!
//! The example protocol is the smallest one with transactions: the client
//! sends a line, the server answers with a line, and each pair is logged.
//! A new protocol keeps the three files and their roles:
//! - `parse.rs`: pure functions over borrowed bytes (probe, message
//!   boundaries), total on any input;
//! - `state.rs`: the per-flow state machine, answering every call with a
//!   [`crate::app::Step`] and handling gaps by probing again;
//! - `record.rs`: the record, written through [`crate::app::Cx::record`].
//!
//! and this file implements [`Analyzer`] for the state. Then: one line in
//! `app/registry.rs`, a fuzz target, and the record's fields in
//! docs/schema.md (docs/adding-a-protocol.md has the whole checklist).

pub mod parse;
pub mod record;
pub mod state;

pub use state::Lines;

use crate::app::analyzer::{Analyzer, Probe, Severity};
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

impl Analyzer for Lines {
    const NAME: &'static str = "line";
    const TITLE: &'static str = "the template's line protocol";
    const ON: bool = false;
    const TCP_PORTS: &'static [u16] = &[];
    const UDP_PORTS: &'static [u16] = &[];
    const SUMMARY: &'static str = "line {request_len} -> {response_len|unanswered}";
    const SEVERITY: Severity = Severity {
        field: "response_len",
        missing: 4,
        ranges: &[],
        otherwise: 6,
    };
    type Limits = ();
    type Parked = ();

    /// Printable text, on its ports only.
    fn probe(tcp: bool, _dir: usize, data: &[u8], on_port: bool) -> Probe {
        if tcp && on_port && parse::probe(data) {
            Probe::Yes
        } else {
            Probe::No
        }
    }

    fn new(_tcp: bool, _cfg: &AppConfig, _parked: ()) -> Self {
        Lines::default()
    }

    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Lines::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Lines::gap(self, dir, len, cx)
    }

    fn timeout<O: RecordOut>(&mut self, _cx: &mut Cx<'_, O>) {}

    /// A request still waiting is logged unanswered.
    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if let Some(r) = self.waiting.take() {
            record::emit(Some(r), None, cx);
        }
    }

    const PACKED: bool = true;

    fn pack(_: &()) -> Option<u32> {
        Some(0)
    }

    fn handover(&self) -> Option<crate::app::Proto> {
        self.next
    }

    fn park(&self) -> Option<()> {
        self.waiting.is_none().then_some(())
    }
}
