//! HTTP/1.0 and 1.1: one `http` record per request/response pair.
//!
//! `parse.rs` holds the pure functions (probes, framing values, redaction),
//! `state.rs` the per-connection state machine and its transaction queue,
//! `record.rs` what a transaction writes. docs/schema.md lists the fields.

pub mod parse;
pub mod record;
pub mod state;

pub use state::Http;

/// What HTTP keeps of each message, and what it hides.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Header names logged per message (default 64).
    pub headers: usize,
    /// Header bytes logged per message (default 4096).
    pub header_bytes: usize,
    /// Bytes of the request target logged (default 2048).
    pub uri_bytes: usize,
    /// Body bytes captured per side (default 0: bodies are not logged, only
    /// their lengths). gzip and deflate bodies are inflated up to it.
    pub body_bytes: usize,
    /// Redact (default on).
    pub redact: bool,
    /// Headers whose values are replaced (lower case).
    pub redact_headers: Vec<String>,
    /// Query and form/JSON body keys whose values are replaced.
    pub redact_keys: Vec<String>,
    /// Headers that name the original client, in order of preference
    /// (lower case; `orig_client` is the first present).
    pub client_ip_headers: Vec<String>,
    /// Content types whose bodies are captured (`type/subtype` or
    /// `type/*`, lower case); empty: every body.
    pub body_types: Vec<String>,
}

/// Client-address headers by default, in order of preference.
pub const CLIENT_IP_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
];

impl Limits {
    /// What a transaction buffer must hold: both sides' heads at their
    /// limits (the target as `uri`, `path` and `query`; each side's
    /// headers), the fixed fields (method, version, four request headers of
    /// at most 512 escaped bytes, status line, content type, users, their
    /// keys and `_encoding` siblings) in 4 KiB, and the bodies.
    pub fn txn_size(&self) -> crate::app::txn::TxnSize {
        crate::app::txn::TxnSize {
            frag: 2 * (self.uri_bytes + self.header_bytes) + 4096,
            body: self.body_bytes,
        }
    }

    /// Whether a body of content type `ty` (without parameters) is
    /// captured.
    pub fn wants_body(&self, ty: &[u8]) -> bool {
        self.body_types.iter().any(|p| {
            let p = p.as_bytes();
            if p == b"*/*" {
                return true;
            }
            match p.strip_suffix(b"/*") {
                Some(major) => {
                    ty.len() > major.len()
                        && ty[major.len()] == b'/'
                        && ty[..major.len()].eq_ignore_ascii_case(major)
                }
                None => ty.eq_ignore_ascii_case(p),
            }
        })
    }
}

impl Limits {
    /// Largest value each byte limit may take (a record must fit
    /// [`crate::record::MAX_RECORD`]).
    pub const MAX: usize = 8192;

    /// The limits clamped to [`Limits::MAX`].
    pub fn clamped(mut self) -> Self {
        self.header_bytes = self.header_bytes.min(Self::MAX);
        self.uri_bytes = self.uri_bytes.clamp(64, Self::MAX);
        self.body_bytes = self.body_bytes.min(Self::MAX);
        self
    }
}

/// Headers redacted by default.
pub const REDACT_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Query and body keys redacted by default.
pub const REDACT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "client_secret",
];

impl Default for Limits {
    fn default() -> Self {
        Self {
            headers: 64,
            header_bytes: 4096,
            uri_bytes: 2048,
            body_bytes: 0,
            redact: true,
            redact_headers: REDACT_HEADERS.iter().map(|s| s.to_string()).collect(),
            redact_keys: REDACT_KEYS.iter().map(|s| s.to_string()).collect(),
            client_ip_headers: CLIENT_IP_HEADERS.iter().map(|s| s.to_string()).collect(),
            body_types: Vec::new(),
        }
    }
}

/// Whether the first payload of direction `dir` looks like HTTP/1: a known
/// method, or (`any_method`, on HTTP's ports) any token and a space.
pub fn probe(dir: usize, data: &[u8], any_method: bool) -> bool {
    if dir == 1 {
        parse::probe_response(data)
    } else if any_method {
        parse::probe_any_request(data)
    } else {
        parse::probe_request(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_types_match_exactly_or_by_major_type() {
        let l = |types: &[&str]| Limits {
            body_types: types.iter().map(|s| s.to_string()).collect(),
            ..Limits::default()
        };
        let json = l(&["application/json", "text/*"]);
        assert!(json.wants_body(b"application/json"));
        assert!(json.wants_body(b"Text/HTML"));
        assert!(!json.wants_body(b"application/jsonx"));
        assert!(!json.wants_body(b"textual/x"));
        assert!(!json.wants_body(b"text"));
        assert!(l(&["*/*"]).wants_body(b"image/png"));
        assert!(!l(&[]).wants_body(b"image/png"));
    }
}
