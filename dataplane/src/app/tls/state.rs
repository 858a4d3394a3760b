//! One connection's TLS handshake, followed record by record in both
//! directions until it is established or fails; then the analyzer is done
//! and the rest of the stream is counted only.
//!
//! Each direction walks its records (type, length) and, inside plaintext
//! handshake records, the handshake messages, which may cross record
//! boundaries. A message the record needs whole (a hello, the leaf
//! certificate) is read in place when one record holds it, and otherwise
//! gathered across the records' headers into the worker's scratch space,
//! waiting (`Step::Need`) until the stream buffer holds all of it. One
//! larger than that is passed over, counted. Everything else is skipped by
//! its length, never buffered.
//!
//! What is established means, per version (docs/schema.md):
//! - TLS 1.2 and older: the server's Finished (its first protected record
//!   after its ChangeCipherSpec) was seen; `handshake_us` is ClientHello
//!   to it.
//! - TLS 1.3: the client's Finished (its first protected record after the
//!   ServerHello) was seen; `server_hello_us` is ClientHello to
//!   ServerHello, `handshake_us` ClientHello to the client's first record
//!   after its Finished (its first application data).

use super::parse::{self, ClientHello, RecordHeader, ServerHello};
use super::record;
use super::x509;
use crate::app::pool::NONE;
use crate::app::{Cx, Step};
use crate::record::RecordOut;

/// The longest handshake message (or leaf certificate) gathered whole.
pub const GATHER_MAX: usize = 16 * 1024;

/// Where a direction is in its handshake messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hs {
    /// A message header is next.
    Header,
    /// A message's body is next, to be read whole.
    Body { ty: u8, len: u32 },
    /// Bytes of a message to pass over.
    Skip { n: u32 },
    /// Inside a Certificate message: `left` bytes of it, `idx` entries
    /// read, `skip` bytes of the current entry to pass over; `started`
    /// once the list's length is read.
    Certs {
        left: u32,
        idx: u8,
        skip: u32,
        started: bool,
    },
}

/// One direction.
#[derive(Clone, Copy, Debug)]
struct Side {
    /// Payload bytes left in the current record (0: a header is next).
    rec_left: u32,
    /// The current record's type.
    rec_type: u8,
    /// This side's records are protected from here on.
    protected: bool,
    hs: Hs,
    /// Protected records this side sent (TLS 1.3: after the ServerHello).
    protected_records: u8,
}

const SIDE: Side = Side {
    rec_left: 0,
    rec_type: 0,
    protected: false,
    hs: Hs::Header,
    protected_records: 0,
};

/// What the handshake said so far (bits of [`Tls::seen`]).
pub mod seen {
    pub const CLIENT_HELLO: u16 = 1;
    pub const SERVER_HELLO: u16 = 2;
    pub const TLS13: u16 = 4;
    pub const ESTABLISHED: u16 = 8;
    pub const RETRY: u16 = 16;
    pub const RESUMED_ID: u16 = 32;
    pub const RESUMED_TICKET: u16 = 64;
    pub const RESUMED_PSK: u16 = 128;
    pub const CERT_REQUESTED: u16 = 256;
    pub const TICKET_ISSUED: u16 = 512;
    pub const SERVER_CCS: u16 = 1024;
    pub const OFFERED_TICKET: u16 = 2048;
    pub const SERVER_CERT: u16 = 4096;
    pub const FAILED: u16 = 8192;
}

/// TLS state of one connection.
#[derive(Debug)]
pub struct Tls {
    side: [Side; 2],
    /// The transaction buffer holding the record's fields so far.
    pub(super) buf: u32,
    /// When the first ClientHello came (ns; 0: none yet).
    pub(super) hello_ts: u64,
    /// ClientHello to ServerHello (µs), and to the end of the handshake.
    pub(super) server_hello_us: Option<u64>,
    pub(super) handshake_us: Option<u64>,
    /// What was seen (bits of [`seen`]).
    pub(super) seen: u16,
    /// The version and cipher the server chose.
    pub(super) version: u16,
    pub(super) cipher: u16,
    /// The last alert: level, description, from the server.
    pub(super) alert: Option<(u8, u8, bool)>,
    /// Protected alerts (their content unreadable).
    pub(super) protected_alerts: u8,
    /// TLS 1.3: protected records of the server after the client's
    /// Finished.
    server_after: u8,
    /// Certificates in each side's chain.
    pub(super) chain: [u8; 2],
    /// The host the client asked for, to match against the certificate.
    sni: [u8; 255],
    sni_len: u8,
    /// The session id the client offered.
    sid: [u8; 32],
    sid_len: u8,
    /// The record was written: the analyzer is done.
    pub(super) over: bool,
}

impl Tls {
    /// A connection before its first byte.
    pub fn new() -> Self {
        Self {
            side: [SIDE; 2],
            buf: NONE,
            hello_ts: 0,
            server_hello_us: None,
            handshake_us: None,
            seen: 0,
            version: 0,
            cipher: 0,
            alert: None,
            protected_alerts: 0,
            server_after: 0,
            chain: [0; 2],
            sni: [0; 255],
            sni_len: 0,
            sid: [0; 32],
            sid_len: 0,
            over: false,
        }
    }

    /// Makes `self` what [`Tls::new`] returns without rewriting the byte
    /// arrays (their lengths say what they hold).
    pub fn reset(&mut self) {
        let Self {
            side,
            buf,
            hello_ts,
            server_hello_us,
            handshake_us,
            seen,
            version,
            cipher,
            alert,
            protected_alerts,
            server_after,
            chain,
            sni: _,
            sni_len,
            sid: _,
            sid_len,
            over,
        } = self;
        *side = [SIDE; 2];
        *buf = NONE;
        *hello_ts = 0;
        *server_hello_us = None;
        *handshake_us = None;
        *seen = 0;
        *version = 0;
        *cipher = 0;
        *alert = None;
        *protected_alerts = 0;
        *server_after = 0;
        *chain = [0; 2];
        *sni_len = 0;
        *sid_len = 0;
        *over = false;
    }

    /// Whether bit `b` of [`seen`] is set.
    pub(super) fn has(&self, b: u16) -> bool {
        self.seen & b != 0
    }

    /// The host name the client asked for.
    pub(super) fn sni(&self) -> &[u8] {
        &self.sni[..usize::from(self.sni_len)]
    }

    /// Parses bytes of one direction (0: the client).
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let mut at = 0;
        loop {
            if self.over {
                return Step::Stop;
            }
            if self.side[dir].rec_left == 0 {
                let h = match parse::record_header(&data[at..]) {
                    Ok(Some(h)) => h,
                    Ok(None) => {
                        return Step::Need {
                            consumed: at,
                            min: 5,
                        }
                    }
                    Err(parse::NotTls) => return self.not_tls(cx),
                };
                at += 5;
                let s = &mut self.side[dir];
                s.rec_type = h.ty;
                s.rec_left = h.len as u32;
                self.record_start(dir, h, cx);
                if self.over {
                    return Step::Stop;
                }
                if h.len == 0 {
                    continue;
                }
            }
            let s = self.side[dir];
            let step = match s.rec_type {
                parse::HANDSHAKE if !s.protected => self.handshake(dir, data, &mut at, cx),
                parse::ALERT if !s.protected || self.has(seen::TLS13) => {
                    self.alert(dir, data, &mut at, cx)
                }
                // Protected records, ChangeCipherSpec and heartbeats are
                // passed over.
                _ => self.skip_record(dir, data, &mut at),
            };
            if let Some(step) = step {
                return step;
            }
        }
    }

    /// Bytes that are not TLS records: the record is written with what
    /// was seen, and parsing stops.
    fn not_tls<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) -> Step {
        cx.stats.of::<super::Tls>().errors += 1;
        self.finish(cx);
        Step::Fatal
    }

    /// A record of `dir` begins: what its type says of the handshake.
    fn record_start<O: RecordOut>(&mut self, dir: usize, h: RecordHeader, cx: &mut Cx<'_, O>) {
        let tls13 = self.has(seen::TLS13);
        let s = &mut self.side[dir];
        match h.ty {
            // TLS 1.3's is for middleboxes only.
            parse::CHANGE_CIPHER_SPEC if !tls13 => {
                s.protected = true;
                if dir == 1 {
                    self.seen |= seen::SERVER_CCS;
                }
            }
            parse::HANDSHAKE if s.protected && dir == 1 && !tls13 => {
                // The server's Finished: TLS 1.2 is established.
                self.established(cx);
                self.finish(cx);
            }
            parse::APPLICATION_DATA if tls13 => {
                s.protected_records = s.protected_records.saturating_add(1);
                let client_done = self.has(seen::ESTABLISHED);
                if dir == 0 && !client_done {
                    // The client's Finished (with client authentication,
                    // its Certificate: unreadable, taken alike).
                    self.established(cx);
                } else if dir == 0 {
                    // The client's first record after its Finished.
                    if self.hello_ts != 0 {
                        self.handshake_us = Some(self.since_hello(cx));
                    }
                    self.finish(cx);
                } else if client_done {
                    // The server's session tickets follow the client's
                    // Finished (one or two); more is the server speaking
                    // first: the client's first record is not waited for.
                    self.server_after = self.server_after.saturating_add(1);
                    if self.server_after > 2 {
                        self.finish(cx);
                    }
                }
            }
            // TLS 1.3 protects records as application data: an alert
            // record is in the clear.
            parse::ALERT if s.protected && !tls13 => {
                self.protected_alerts = self.protected_alerts.saturating_add(1);
            }
            _ => {}
        }
    }

    fn since_hello<O: RecordOut>(&self, cx: &Cx<'_, O>) -> u64 {
        cx.now.saturating_sub(self.hello_ts) / 1000
    }

    fn established<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.has(seen::ESTABLISHED) {
            return;
        }
        self.seen |= seen::ESTABLISHED;
        if !self.has(seen::TLS13) && self.hello_ts != 0 {
            self.handshake_us = Some(self.since_hello(cx));
        }
    }

    /// Passes over the rest of the current record.
    fn skip_record(&mut self, dir: usize, data: &[u8], at: &mut usize) -> Option<Step> {
        let s = &mut self.side[dir];
        let have = data.len() - *at;
        let left = s.rec_left as usize;
        if have >= left {
            *at += left;
            s.rec_left = 0;
            return None;
        }
        s.rec_left = 0;
        Some(Step::Skip {
            consumed: *at,
            len: left as u64,
        })
    }

    /// An alert in the clear: its level and description.
    fn alert<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        at: &mut usize,
        cx: &mut Cx<'_, O>,
    ) -> Option<Step> {
        let rec_left = self.side[dir].rec_left as usize;
        let (b, used, left) = match gather_array::<2, O>(data, *at, rec_left, cx) {
            Ok(got) => got,
            Err(Gathered::Need(min)) => return Some(Step::Need { consumed: *at, min }),
            // A one-byte alert (SSL 2 style or cut): passed over.
            Err(_) => return self.skip_record(dir, data, at),
        };
        *at += used;
        self.side[dir].rec_left = left as u32;
        self.alert = Some((b[0], b[1], dir == 1));
        if b[0] == 2 && !self.has(seen::ESTABLISHED) {
            // A fatal alert ends the handshake.
            self.seen |= seen::FAILED;
            self.finish(cx);
            return Some(Step::Stop);
        }
        None
    }

    /// Bytes of the handshake stream of `dir` at `data[*at..]`, inside a
    /// plaintext handshake record.
    fn handshake<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        at: &mut usize,
        cx: &mut Cx<'_, O>,
    ) -> Option<Step> {
        let s = self.side[dir];
        let rec_left = s.rec_left as usize;
        match s.hs {
            Hs::Header => {
                let (h, used, left) = match gather_array::<4, O>(data, *at, rec_left, cx) {
                    Ok(got) => got,
                    Err(Gathered::Need(min)) => return Some(Step::Need { consumed: *at, min }),
                    Err(_) => return Some(self.not_tls(cx)),
                };
                *at += used;
                let side = &mut self.side[dir];
                side.rec_left = left as u32;
                let ty = h[0];
                let len = u32::from_be_bytes([0, h[1], h[2], h[3]]);
                side.hs = match (dir, ty) {
                    (0, parse::CLIENT_HELLO) | (1, parse::SERVER_HELLO)
                        if len as usize <= GATHER_MAX =>
                    {
                        Hs::Body { ty, len }
                    }
                    (_, parse::CERTIFICATE) => Hs::Certs {
                        left: len,
                        idx: 0,
                        skip: 0,
                        started: false,
                    },
                    _ => {
                        match ty {
                            parse::CLIENT_HELLO | parse::SERVER_HELLO => {
                                cx.stats.of::<super::Tls>().extra[super::TOO_LARGE] += 1;
                            }
                            parse::CERTIFICATE_REQUEST => self.seen |= seen::CERT_REQUESTED,
                            parse::NEW_SESSION_TICKET => self.seen |= seen::TICKET_ISSUED,
                            _ => {}
                        }
                        Hs::Skip { n: len }
                    }
                };
                None
            }
            Hs::Body { ty, len } => {
                let n = len as usize;
                let g = gather(data, *at, rec_left, n, cx);
                let (used, left) = match g {
                    Gathered::Here(b, used, left) => {
                        self.message(dir, ty, b, cx);
                        (used, left)
                    }
                    Gathered::Copied(used, left) => {
                        let scratch = std::mem::take(cx.scratch);
                        self.message(dir, ty, &scratch[..n], cx);
                        *cx.scratch = scratch;
                        (used, left)
                    }
                    Gathered::Need(min) => return Some(Step::Need { consumed: *at, min }),
                    Gathered::TooLarge => {
                        cx.stats.of::<super::Tls>().extra[super::TOO_LARGE] += 1;
                        self.side[dir].hs = Hs::Skip { n: len };
                        return None;
                    }
                    Gathered::Bad => return Some(self.not_tls(cx)),
                };
                *at += used;
                let side = &mut self.side[dir];
                side.rec_left = left as u32;
                side.hs = Hs::Header;
                if self.over {
                    return Some(Step::Stop);
                }
                None
            }
            Hs::Skip { n } => {
                let k = (n as usize).min(rec_left);
                let side = &mut self.side[dir];
                side.hs = if n as usize == k {
                    Hs::Header
                } else {
                    Hs::Skip { n: n - k as u32 }
                };
                side.rec_left -= k as u32;
                if data.len() - *at >= k {
                    *at += k;
                    None
                } else {
                    Some(Step::Skip {
                        consumed: *at,
                        len: k as u64,
                    })
                }
            }
            Hs::Certs {
                left,
                idx,
                skip,
                started,
            } => self.certs(dir, data, at, (left, idx, skip, started), cx),
        }
    }

    /// Inside a Certificate message: the list's length, each entry's
    /// length, the leaf read whole, the others passed over.
    fn certs<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        at: &mut usize,
        (left, idx, skip, started): (u32, u8, u32, bool),
        cx: &mut Cx<'_, O>,
    ) -> Option<Step> {
        let rec_left = self.side[dir].rec_left as usize;
        let set = |t: &mut Self, hs: Hs| t.side[dir].hs = hs;
        if skip > 0 {
            let k = (skip as usize).min(rec_left);
            let side = &mut self.side[dir];
            side.rec_left -= k as u32;
            side.hs = Hs::Certs {
                left,
                idx,
                skip: skip - k as u32,
                started,
            };
            if data.len() - *at >= k {
                *at += k;
                return None;
            }
            return Some(Step::Skip {
                consumed: *at,
                len: k as u64,
            });
        }
        if left == 0 {
            self.chain[dir] = idx;
            set(self, Hs::Header);
            return None;
        }
        // A length of three bytes (the list's, or the next entry's).
        if left < 3 {
            set(self, Hs::Skip { n: left });
            return None;
        }
        let (l, used, rl) = match gather_array::<3, O>(data, *at, rec_left, cx) {
            Ok(got) => got,
            Err(Gathered::Need(min)) => return Some(Step::Need { consumed: *at, min }),
            Err(_) => return Some(self.not_tls(cx)),
        };
        let n = u32::from_be_bytes([0, l[0], l[1], l[2]]);
        if !started {
            *at += used;
            self.side[dir].rec_left = rl as u32;
            set(
                self,
                Hs::Certs {
                    left: left - 3,
                    idx,
                    skip: 0,
                    started: true,
                },
            );
            return None;
        }
        if n > left - 3 {
            // An entry longer than its message: the rest is passed over.
            set(self, Hs::Skip { n: left });
            return None;
        }
        let after = left - 3 - n;
        if idx == 0 && n as usize + 3 <= GATHER_MAX {
            // The leaf, read whole with its length.
            let total = n as usize + 3;
            let (used, rl) = match gather(data, *at, rec_left, total, cx) {
                Gathered::Here(b, used, rl) => {
                    self.leaf(dir, &b[3..], cx);
                    (used, rl)
                }
                Gathered::Copied(used, rl) => {
                    let scratch = std::mem::take(cx.scratch);
                    self.leaf(dir, &scratch[3..total], cx);
                    *cx.scratch = scratch;
                    (used, rl)
                }
                Gathered::Need(min) => return Some(Step::Need { consumed: *at, min }),
                Gathered::TooLarge => {
                    cx.stats.of::<super::Tls>().extra[super::TOO_LARGE] += 1;
                    *at += used;
                    self.side[dir].rec_left = rl as u32;
                    set(
                        self,
                        Hs::Certs {
                            left: after,
                            idx: 1,
                            skip: n,
                            started,
                        },
                    );
                    return None;
                }
                Gathered::Bad => return Some(self.not_tls(cx)),
            };
            *at += used;
            self.side[dir].rec_left = rl as u32;
            set(
                self,
                Hs::Certs {
                    left: after,
                    idx: 1,
                    skip: 0,
                    started,
                },
            );
            return None;
        }
        if idx == 0 {
            // A leaf larger than can be gathered: passed over.
            cx.stats.of::<super::Tls>().extra[super::TOO_LARGE] += 1;
        }
        *at += used;
        self.side[dir].rec_left = rl as u32;
        set(
            self,
            Hs::Certs {
                left: after,
                idx: idx.saturating_add(1),
                skip: n,
                started,
            },
        );
        None
    }

    /// A whole hello.
    fn message<O: RecordOut>(&mut self, dir: usize, ty: u8, body: &[u8], cx: &mut Cx<'_, O>) {
        match ty {
            parse::CLIENT_HELLO => self.client_hello(body, cx),
            parse::SERVER_HELLO => self.server_hello(body, cx),
            _ => {}
        }
        let _ = dir;
    }

    fn client_hello<O: RecordOut>(&mut self, body: &[u8], cx: &mut Cx<'_, O>) {
        let Some(ch) = ClientHello::parse(body) else {
            cx.stats.of::<super::Tls>().errors += 1;
            return;
        };
        if self.has(seen::CLIENT_HELLO) {
            // The second hello after a HelloRetryRequest (or a
            // retransmission the stream layer did not catch): the first
            // one is the fingerprint.
            return;
        }
        self.seen |= seen::CLIENT_HELLO;
        self.hello_ts = cx.now;
        if let Some(name) = ch.sni() {
            let n = name.len().min(self.sni.len());
            self.sni[..n].copy_from_slice(&name[..n]);
            self.sni_len = n as u8;
        }
        let n = ch.session_id.len().min(32);
        self.sid[..n].copy_from_slice(&ch.session_id[..n]);
        self.sid_len = n as u8;
        if ch
            .exts()
            .find(parse::EXT_SESSION_TICKET)
            .is_some_and(|t| !t.is_empty())
        {
            self.seen |= seen::OFFERED_TICKET;
        }
        match cx.txn.take() {
            Some(h) => {
                self.buf = h;
                record::client_hello(self, &ch, cx);
            }
            None => cx.stats.txn_buffers_full += 1,
        }
    }

    fn server_hello<O: RecordOut>(&mut self, body: &[u8], cx: &mut Cx<'_, O>) {
        let Some(sh) = ServerHello::parse(body) else {
            cx.stats.of::<super::Tls>().errors += 1;
            return;
        };
        if sh.retry() {
            // A HelloRetryRequest is TLS 1.3's: the middlebox
            // ChangeCipherSpec after it protects nothing.
            self.seen |= seen::RETRY;
            if parse::tls13(sh.chosen_version()) {
                self.seen |= seen::TLS13;
            }
            return;
        }
        if self.has(seen::SERVER_HELLO) {
            return;
        }
        self.seen |= seen::SERVER_HELLO;
        if self.hello_ts != 0 {
            self.server_hello_us = Some(self.since_hello(cx));
        }
        self.version = sh.chosen_version();
        self.cipher = sh.cipher;
        if parse::tls13(self.version) {
            self.seen |= seen::TLS13;
            // Everything after the ServerHello is protected, both ways.
            self.side[0].protected = true;
            self.side[1].protected = true;
            if sh.exts().find(parse::EXT_PRE_SHARED_KEY).is_some() {
                self.seen |= seen::RESUMED_PSK;
            }
        } else if !sh.session_id.is_empty()
            && sh.session_id == &self.sid[..usize::from(self.sid_len)]
        {
            // A server that accepts a ticket echoes the session id the
            // client sent with it (RFC 5077 §3.4).
            self.seen |= if self.has(seen::OFFERED_TICKET) {
                seen::RESUMED_TICKET
            } else {
                seen::RESUMED_ID
            };
        }
        record::server_hello(self, &sh, cx);
    }

    /// The leaf certificate of `dir`'s chain.
    fn leaf<O: RecordOut>(&mut self, dir: usize, der: &[u8], cx: &mut Cx<'_, O>) {
        if dir == 1 {
            self.seen |= seen::SERVER_CERT;
        }
        match x509::parse(der) {
            Some(c) => record::certificate(self, dir, &c, cx),
            None => cx.stats.of::<super::Tls>().extra[super::BAD_CERTIFICATES] += 1,
        }
    }

    /// The record is written (once), with what was seen.
    pub fn finish<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if self.over {
            return;
        }
        self.over = true;
        // A TLS 1.2 resumption by ticket: the server's CCS came without
        // a certificate, after a ticket was offered.
        if !self.has(seen::TLS13)
            && !self.has(seen::RESUMED_ID | seen::RESUMED_TICKET)
            && self.has(seen::OFFERED_TICKET)
            && self.has(seen::SERVER_CCS)
            && !self.has(seen::SERVER_CERT)
        {
            self.seen |= seen::RESUMED_TICKET;
        }
        if self.has(seen::CLIENT_HELLO) || self.has(seen::SERVER_HELLO) {
            record::emit(self, cx);
        }
        if self.buf != NONE {
            cx.txn.give(self.buf);
            self.buf = NONE;
        }
    }

    /// Bytes of `dir` were lost: the handshake cannot be followed.
    pub fn gap<O: RecordOut>(&mut self, _dir: usize, _len: u64, cx: &mut Cx<'_, O>) {
        cx.stats.of::<super::Tls>().extra[super::GAPS] += 1;
        self.finish(cx);
    }

    /// A handshake open past the timeout is written as it stands.
    pub fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if !self.over
            && self.hello_ts != 0
            && cx.now.saturating_sub(self.hello_ts) > cx.cfg.txn_timeout_ns
        {
            self.finish(cx);
        }
    }
}

impl Default for Tls {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` bytes of a handshake stream, found from `data[at..]` inside a
/// record with `rec_left` payload bytes left.
enum Gathered<'d> {
    /// In place: the bytes, raw bytes used, and payload left in the
    /// record they end in.
    Here(&'d [u8], usize, usize),
    /// Across records: copied to the front of the scratch space.
    Copied(usize, usize),
    /// Wait for at least this many bytes from `at`.
    Need(usize),
    /// More than the stream buffer or the scratch space can hold.
    TooLarge,
    /// A record on the way is not a handshake record.
    Bad,
}

/// [`gather`] of a few bytes (a length, a header) as an array, with the
/// raw bytes used and the payload left; or the gather's other outcome.
fn gather_array<'d, const N: usize, O>(
    data: &'d [u8],
    at: usize,
    rec_left: usize,
    cx: &mut Cx<'_, O>,
) -> Result<([u8; N], usize, usize), Gathered<'d>> {
    let mut a = [0u8; N];
    let (used, left) = match gather(data, at, rec_left, N, cx) {
        Gathered::Here(b, used, left) => {
            a.copy_from_slice(b);
            (used, left)
        }
        Gathered::Copied(used, left) => {
            a.copy_from_slice(&cx.scratch[..N]);
            (used, left)
        }
        other => return Err(other),
    };
    Ok((a, used, left))
}

fn gather<'d, O>(
    data: &'d [u8],
    at: usize,
    rec_left: usize,
    n: usize,
    cx: &mut Cx<'_, O>,
) -> Gathered<'d> {
    let have = data.len() - at;
    if rec_left >= n {
        return if have >= n {
            Gathered::Here(&data[at..at + n], n, rec_left - n)
        } else {
            Gathered::Need(n)
        };
    }
    let cap = cx.cfg.stream_buffer_bytes.min(cx.scratch.capacity());
    if n > cap {
        return Gathered::TooLarge;
    }
    let (mut pos, mut left, mut got) = (at, rec_left, 0);
    let scratch = &mut *cx.scratch;
    scratch.clear();
    loop {
        let k = left.min(n - got);
        if data.len() - pos < k {
            return Gathered::Need(pos - at + k);
        }
        scratch.extend_from_slice(&data[pos..pos + k]);
        (pos, left, got) = (pos + k, left - k, got + k);
        if got == n {
            return Gathered::Copied(pos - at, left);
        }
        // Every byte from `at` must fit the stream buffer at once.
        if pos - at + 5 + (n - got) > cap {
            return Gathered::TooLarge;
        }
        match parse::record_header(&data[pos..]) {
            Ok(Some(h)) if h.ty == parse::HANDSHAKE => {
                pos += 5;
                left = h.len;
            }
            Ok(Some(_)) | Err(parse::NotTls) => return Gathered::Bad,
            Ok(None) => return Gathered::Need(pos - at + 5),
        }
    }
}
