//! HTTP/1.0 and 1.1: one `http` record per request/response pair.
//!
//! `parse.rs` holds the pure functions (probes, framing values, redaction),
//! `state.rs` the per-connection state machine and its transaction queue,
//! `txn.rs` a transaction's data, `record.rs` what a transaction writes. docs/schema.md lists the fields.

pub mod parse;
pub mod record;
pub mod state;
pub mod txn;

pub use state::Http;

use crate::app::analyzer::{parse_bool, parse_size, Analyzer, Probe, Setting, Severity, REDACT};
use crate::app::txn::TxnSize;
use crate::app::{AppConfig, Cx, Step};
use crate::record::RecordOut;

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
    /// Largest value each byte limit may take (a record must fit
    /// [`crate::record::MAX_RECORD`]).
    pub const MAX: usize = 8192;

    /// What a transaction buffer must hold: both sides' heads at their
    /// limits (the target as `uri`, `path` and `query`; each side's
    /// headers), the fixed fields (method, version, four request headers of
    /// at most 512 escaped bytes, status line, content type, users, their
    /// keys and `_encoding` siblings) in 4 KiB, and the bodies.
    pub fn txn_size(&self) -> TxnSize {
        TxnSize {
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

/// Index of the count of header lines that were not `name: value`
/// (skipped, the rest of the head logged) in HTTP's counters.
pub const BAD_HEADER_LINES: usize = 0;

impl Analyzer for Http {
    const NAME: &'static str = "http";
    const TITLE: &'static str = "HTTP/1.x";
    const TCP_PORTS: &'static [u16] = &[80, 81, 591, 3128, 8000, 8008, 8080, 8081, 8088, 8888];
    const UDP_PORTS: &'static [u16] = &[];
    const COUNTERS: &'static [&'static str] = &["bad_header_lines"];
    const SUMMARY: &'static str = "{method} {host}{uri} -> {status_code|unanswered}";
    /// Server errors and unanswered requests warn; client errors notice.
    const SEVERITY: Severity = Severity {
        field: "status_code",
        missing: 4,
        ranges: &[(500, u64::MAX, 4), (400, 499, 5)],
        otherwise: 6,
    };
    const SETTINGS: &'static [Setting] = &[
        Setting {
            name: "body-bytes",
            help: "HTTP body bytes logged per side, at most 8K; gzip/deflate bodies are inflated up to it; 0 logs only lengths [default: 0]",
            list: false,
            shared: false,
        },
        Setting {
            name: "header-bytes",
            help: "HTTP header bytes logged per message, at most 8K [default: 4K]",
            list: false,
            shared: false,
        },
        Setting {
            name: "headers",
            help: "HTTP headers logged per message [default: 64]",
            list: false,
            shared: false,
        },
        Setting {
            name: "uri-bytes",
            help: "Bytes of the request target logged, 64 to 8K [default: 2K]",
            list: false,
            shared: false,
        },
        Setting {
            name: "client-ip-headers",
            help: "Headers naming the original client, in order of preference; `orig_client` is the first present [default: x-forwarded-for,forwarded,x-real-ip,true-client-ip,cf-connecting-ip]",
            list: true,
            shared: false,
        },
        Setting {
            name: "body-types",
            help: "Content types whose bodies --http-body-bytes captures, `type/subtype` or `type/*` [default: every type]",
            list: true,
            shared: false,
        },
        REDACT,
        Setting {
            name: "redact-headers",
            help: "More HTTP headers whose values are redacted (besides authorization, proxy-authorization, cookie, set-cookie, x-api-key)",
            list: true,
            shared: true,
        },
        Setting {
            name: "redact-keys",
            help: "More query and form/JSON body keys whose values are redacted (besides password, token, secret, api_key and the like)",
            list: true,
            shared: true,
        },
    ];
    type Limits = Limits;
    /// Requests seen on the connection.
    type Parked = u32;

    /// A response's status line; a request line with a known method, or on
    /// HTTP's ports any token and a space (a client's junk there waits for
    /// the server's answer).
    fn probe(tcp: bool, dir: usize, data: &[u8], on_port: bool) -> Probe {
        let yes = |b| if b { Probe::Yes } else { Probe::No };
        if !tcp {
            Probe::No
        } else if dir == 1 {
            yes(parse::probe_response(data))
        } else if on_port {
            if parse::probe_any_request(data) {
                Probe::Yes
            } else {
                Probe::Wait
            }
        } else {
            yes(parse::probe_request(data))
        }
    }

    fn set(l: &mut Limits, name: &str, value: &str) -> Result<(), String> {
        let bytes = |v: &str| -> Result<usize, String> {
            let n = parse_size(v)?;
            if n > Limits::MAX {
                return Err(format!(
                    "is at most {} bytes (a record must fit 64 KiB), not {n}",
                    Limits::MAX
                ));
            }
            Ok(n)
        };
        let items = || value.split(',').map(str::trim).filter(|s| !s.is_empty());
        match name {
            "body-bytes" => l.body_bytes = bytes(value)?,
            "header-bytes" => l.header_bytes = bytes(value)?,
            "uri-bytes" => l.uri_bytes = bytes(value)?.max(64),
            "headers" => {
                l.headers = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{value}` is not a count"))?
            }
            "redact" => l.redact = parse_bool(value)?,
            "redact-headers" => l
                .redact_headers
                .extend(items().map(|h| h.to_ascii_lowercase())),
            "redact-keys" => l.redact_keys.extend(items().map(String::from)),
            "client-ip-headers" => {
                l.client_ip_headers = items().map(|h| h.to_ascii_lowercase()).collect()
            }
            "body-types" => {
                for t in items() {
                    let t = t.to_ascii_lowercase();
                    if !parse::content_type_pattern(&t) {
                        return Err(format!(
                            "{t:?} is not a content type (type/subtype or type/*)"
                        ));
                    }
                    l.body_types.push(t);
                }
            }
            _ => return Err(format!("HTTP has no setting `{name}`")),
        }
        Ok(())
    }

    fn new(_tcp: bool, cfg: &AppConfig, parked: u32) -> Self {
        Http::resume(cfg.max_open, parked)
    }

    fn reset(&mut self, _tcp: bool, cfg: &AppConfig, parked: u32) {
        Http::reset(self, cfg.max_open, parked)
    }

    #[inline]
    fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        Http::parse(self, dir, data, cx)
    }

    fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        Http::gap(self, dir, len, cx)
    }

    fn unskipped(&mut self, dir: usize, len: u64) {
        Http::unskipped(self, dir, len)
    }

    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Http::timeout(self, cx)
    }

    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        Http::end(self, cx)
    }

    #[inline]
    fn park(&self) -> Option<u32> {
        self.at_rest()
    }

    /// HTTP/1 is over on this connection (a tunnel, HTTP/2 with prior
    /// knowledge, another protocol's request line): the session and the
    /// stream buffers go back now rather than when the flow ends.
    #[inline]
    fn done(&self) -> bool {
        self.is_over()
    }

    /// A CONNECT tunnel goes on in TLS.
    fn handover(&self) -> Option<crate::app::Proto> {
        self.next()
    }

    const PACKED: bool = true;

    /// The request count, kept in the flow's word (a connection past
    /// 1,048,575 requests keeps counting from there after each rest).
    #[inline]
    fn pack(depth: &u32) -> Option<u32> {
        Some((*depth).min((1 << crate::app::analyzer::PACK_BITS) - 1))
    }

    #[inline]
    fn unpack(v: u32) -> u32 {
        v
    }

    fn txn_size(l: &Limits) -> TxnSize {
        l.txn_size()
    }

    /// Room for a redacted URI and query (redaction can make each ~4×
    /// longer: ~6.5× the URI limit in all) or body.
    fn scratch_bytes(l: &Limits) -> usize {
        8 * l.uri_bytes.max(l.body_bytes) + 64
    }

    fn inflate_bytes(l: &Limits) -> usize {
        l.body_bytes
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
