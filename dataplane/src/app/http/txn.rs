//! An HTTP transaction: what the state machine gathers of a request and
//! its response, and the record reads. Apart from both, so neither
//! imports the other's types.

use crate::app::inflate::Coding;

/// Transaction flags.
pub mod tf {
    /// A request was seen.
    pub const REQ: u32 = 1;
    /// The request is complete.
    pub const REQ_DONE: u32 = 1 << 1;
    /// A response head was seen.
    pub const RESP: u32 = 1 << 2;
    /// The method was HEAD: the response has no body.
    pub const HEAD: u32 = 1 << 3;
    /// The method was CONNECT.
    pub const CONNECT: u32 = 1 << 4;
    /// A 100 Continue came before the response.
    pub const CONTINUE: u32 = 1 << 5;
    /// Request bytes were lost.
    pub const GAP_REQ: u32 = 1 << 6;
    /// Response bytes were lost.
    pub const GAP_RESP: u32 = 1 << 7;
    /// Request body is a form (`application/x-www-form-urlencoded`).
    pub const FORM_REQ: u32 = 1 << 8;
    /// Response body is a form.
    pub const FORM_RESP: u32 = 1 << 9;
    /// Request body is JSON.
    pub const JSON_REQ: u32 = 1 << 10;
    /// Response body is JSON.
    pub const JSON_RESP: u32 = 1 << 11;
    /// A side's body was cut at the capture limit (request, response).
    pub const TRUNC_REQ: u32 = 1 << 12;
    /// The response body was cut at the capture limit.
    pub const TRUNC_RESP: u32 = 1 << 13;
    /// The request's fields were not kept (no transaction buffer).
    pub const NO_FIELDS: u32 = 1 << 14;
    /// An HTTP/0.9 request: its response is a body without a head, to
    /// the close.
    pub const V09: u32 = 1 << 15;
    /// The request body's content type is among `--http-body-types`.
    pub const TYPE_REQ: u32 = 1 << 16;
    /// The response body's content type is.
    pub const TYPE_RESP: u32 = 1 << 17;
}

/// One request/response pair.
#[derive(Clone, Copy, Debug, Default)]
pub struct Txn {
    /// Transaction buffer, or [`NONE`](crate::app::pool::NONE).
    pub buf: u32,
    /// Position in the connection, from 1 (Zeek's `trans_depth`).
    pub depth: u32,
    /// First and last request byte, first and last response byte (ns).
    pub req_start: u64,
    /// Last request byte.
    pub req_end: u64,
    /// First response byte.
    pub resp_start: u64,
    /// Last response byte.
    pub resp_end: u64,
    /// Body bytes per side, after chunked decoding.
    pub body: [u64; 2],
    /// Bytes of each message on the wire: head, body, chunk framing.
    pub wire: [u64; 2],
    /// Response status.
    pub status: u16,
    /// [`tf`] bits.
    pub flags: u32,
    /// Content coding per side.
    pub coding: [Coding; 2],
    /// Requests not logged (the queue was full) that came just before
    /// this one: their responses come first.
    pub before: u16,
}
