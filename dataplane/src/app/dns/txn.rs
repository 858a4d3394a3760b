//! A DNS transaction: a query waiting for its response, as the state
//! keeps it and the record reads it. Apart from both, so neither imports
//! the other's types.

/// Queries a flow may have open at once.
pub const MAX_PENDING: usize = 8;
/// Bytes of a query name kept while it waits.
pub const NAME_KEEP: usize = 128;

/// A query waiting for its response.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// Transaction id.
    pub id: u16,
    /// Query type.
    pub qtype: u16,
    /// Query class.
    pub qclass: u16,
    /// The query's header flags.
    pub flags: u16,
    /// When it was seen (ns).
    pub ts: u64,
    /// Hash of the whole name, to match responses.
    pub hash: u64,
    /// The name's first [`NAME_KEEP`] bytes.
    pub name: [u8; NAME_KEEP],
    /// Bytes kept.
    pub nlen: u8,
    /// The name was longer.
    pub cut: bool,
}
