//! DNS over UDP and TCP: one `dns` record per query and its response.
//!
//! `parse.rs` holds the pure message parser, `state.rs` the queries
//! waiting for responses (and TCP's length framing), `record.rs` what a
//! transaction writes. docs/schema.md lists the fields.

pub mod parse;
pub mod record;
pub mod state;

pub use state::Dns;

/// Whether a UDP payload looks like a DNS message.
pub fn probe_udp(data: &[u8]) -> bool {
    parse::looks_like(data)
}

/// Bytes [`probe_tcp`] needs to judge.
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
