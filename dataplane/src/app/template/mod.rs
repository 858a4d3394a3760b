//! The folder to copy for a new protocol. It is compiled and tested, so it
//! stays true to the contract, but no flow selects it.
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
//! Then: a variant in [`crate::app::Parser`], a [`crate::app::Proto`] and
//! its [`crate::app::ProtoConfig`], selection in `App::select`, a fuzz
//! target, and the record's fields in docs/schema.md.

pub mod parse;
pub mod record;
pub mod state;

pub use state::Lines;
