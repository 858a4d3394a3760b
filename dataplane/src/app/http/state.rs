//! The HTTP/1.x state machine of one connection: message framing per
//! direction and the queue of open transactions.
//!
//! Requests open transactions at the back of a FIFO queue (pipelining);
//! responses complete them from the front. 1xx responses other than 101
//! are interim (100-continue) and complete nothing. A transaction is
//! logged when its response ends, when it waits longer than the timeout,
//! or when the flow ends; a request the queue had no room for is counted
//! and its response consumed unlogged, so the pairing stays right.
//!
//! Bodies are framed by chunked coding, Content-Length, or (responses)
//! the end of the connection. Body bytes the capture limit does not want
//! are skipped through the stream layer, all but the last byte, which is
//! consumed so the message's end has the time of the packet that carried
//! it. HEAD, 1xx, 204 and 304 responses have no body. A 101 response, a
//! successful CONNECT, and the HTTP/2 preface end HTTP/1 parsing of the
//! connection (both directions stop). Garbage, or a gap, sends a direction
//! to probing: it looks for the next line that starts a message.
//!
//! A head is buffered whole up to a stream buffer; a larger one (padding
//! to hide a request) is logged from the lines in the buffer, and its rest
//! is read a line at a time for its framing and skipped, never buffered.

use super::parse::{self, probe_any_request, probe_response, H2_PREFACE};
use super::record;
use super::txn::{tf, Txn};
use crate::app::inflate::Coding;
use crate::app::open::Fifo;
use crate::app::pool::NONE;
use crate::app::{Cx, Step};
use crate::record::RecordOut;

/// Most transactions open at once per connection.
pub const MAX_OPEN: usize = crate::app::MAX_OPEN;
/// Headers a message may have to be parsed (more is an error).
const PARSE_HEADERS: usize = 128;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head,
    Len(u64),
    Chunked(Chunk),
    /// Response body until the connection closes.
    Close,
    /// After garbage or a gap: look for the start of a message.
    Probe,
    /// The rest of a head too large for a stream buffer: its lines are
    /// read one at a time for framing and skipped, never buffered.
    HeadRest,
    /// A message whose transaction is not logged (over the limit).
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Side {
    phase: Phase,
    /// First byte time of the message being parsed (0: none yet).
    start: u64,
    /// Whether the message being parsed is logged (has a queue slot).
    tracked: bool,
    /// Bytes of an unfinished head already searched for its end, so a
    /// head arriving a byte at a time is not searched over and over.
    scanned: u32,
    /// Body bytes counted before they came (a skip in progress): taken
    /// back if the stream ends or loses them first.
    ahead: u64,
    /// What the head said so far about the message's framing.
    framing: Framing,
}

/// What a head says about its message's body, gathered while its lines
/// are read.
#[derive(Clone, Copy, Debug, Default)]
struct Framing {
    /// The last transfer coding is chunked.
    chunked: bool,
    /// Content-Length: absent, invalid (`Some(None)`), or its value.
    length: Option<Option<u64>>,
    /// The request's method was CONNECT.
    connect: bool,
    /// The response's status code.
    code: u16,
    /// In [`Phase::HeadRest`], inside a line whose start was consumed.
    midline: bool,
}

impl Framing {
    fn header(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.chunked |= parse::last_is_chunked(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            self.length = Some(parse::content_length(value));
        }
    }
}

impl Side {
    /// The end of the head at the front of `data`, searching only what
    /// is new since the last call.
    fn head_end(&mut self, data: &[u8]) -> Option<usize> {
        // Back up over a line end that may have been cut in two.
        let from = (self.scanned as usize).saturating_sub(3).min(data.len());
        match parse::head_end(&data[from..]) {
            Some(e) => {
                self.scanned = 0;
                Some(from + e)
            }
            None => {
                self.scanned = data.len() as u32;
                None
            }
        }
    }
}

/// `strict`, or when httparse refused the head, the head read by
/// `lenient` into header space made only then (clearing 4 KiB per head up
/// front cost more than parsing it).
fn or_lenient<'b, 'h>(
    strict: Option<parse::Head<'b, 'h>>,
    head: &'b [u8],
    space: &'h mut Option<[httparse::Header<'b>; PARSE_HEADERS]>,
    lenient: fn(&'b [u8], &'h mut [httparse::Header<'b>]) -> Option<parse::Head<'b, 'h>>,
) -> Option<parse::Head<'b, 'h>> {
    strict.or_else(|| lenient(head, space.insert([httparse::EMPTY_HEADER; PARSE_HEADERS])))
}

/// HTTP state of one connection.
#[derive(Debug)]
pub struct Http {
    side: [Side; 2],
    /// Open transactions: requests join at the back, responses complete
    /// the front.
    q: Fifo<Txn, MAX_OPEN>,
    /// Requests seen (the next one's depth minus one).
    depth: u32,
    /// Requests not logged (queue full) after the last queued one, still
    /// waiting for a response (those before a queued one are counted in
    /// its `before`).
    untracked: u32,
    /// HTTP/1 parsing of this connection is over.
    over: bool,
    /// The protocol the connection goes on in (a CONNECT tunnel's).
    next: Option<crate::app::Proto>,
    /// A CONNECT waits for its answer: the client's bytes are held.
    tunnel_wait: bool,
    /// A transaction whose response ended before its request did (a
    /// server that answers without reading the body): it waits here for
    /// the rest of the request, then is logged.
    early: Option<Txn>,
}

/// A side waiting for its first message head.
const SIDE_START: Side = Side {
    phase: Phase::Head,
    start: 0,
    tracked: false,
    scanned: 0,
    ahead: 0,
    framing: Framing {
        chunked: false,
        length: None,
        connect: false,
        code: 0,
        midline: false,
    },
};

impl Http {
    /// A connection with at most `max_open` open transactions.
    pub fn new(max_open: usize) -> Self {
        Self {
            side: [SIDE_START; 2],
            q: Fifo::new(max_open.clamp(1, MAX_OPEN)),
            depth: 0,
            untracked: 0,
            over: false,
            next: None,
            tunnel_wait: false,
            early: None,
        }
    }

    /// A connection that was at rest after `depth` transactions.
    pub fn resume(max_open: usize, depth: u32) -> Self {
        let mut h = Self::new(max_open);
        h.depth = depth;
        h
    }

    /// Makes `self` what [`Http::resume`] returns, in place, without
    /// writing the transaction queue's slots ([`Fifo::reset`]).
    pub fn reset(&mut self, max_open: usize, depth: u32) {
        // Every field named, so one added later is not forgotten here.
        let Self {
            side,
            q,
            depth: seen,
            untracked,
            over,
            next,
            tunnel_wait,
            early,
        } = self;
        *side = [SIDE_START; 2];
        q.reset(max_open.clamp(1, MAX_OPEN));
        *seen = depth;
        *untracked = 0;
        *over = false;
        *next = None;
        *tunnel_wait = false;
        *early = None;
    }

    /// HTTP/1 parsing of this connection is over.
    pub fn is_over(&self) -> bool {
        self.over
    }

    /// The protocol the connection goes on in.
    pub fn next(&self) -> Option<crate::app::Proto> {
        self.next
    }

    /// `Some(transactions so far)` when nothing is in progress: no open
    /// transaction, both sides waiting for a message head.
    pub fn at_rest(&self) -> Option<u32> {
        let idle = |s: &Side| s.phase == Phase::Head && s.start == 0 && s.scanned == 0;
        (self.q.is_empty()
            && self.untracked == 0
            && self.early.is_none()
            && !self.over
            && idle(&self.side[0])
            && idle(&self.side[1]))
        .then_some(self.depth)
    }

    /// The transaction the side's current message belongs to.
    fn cur(&mut self, dir: usize) -> Option<&mut Txn> {
        if !self.side[dir].tracked {
            return None;
        }
        if dir == 0 {
            if self.early.is_some() {
                return self.early.as_mut();
            }
            self.q.back_mut()
        } else {
            self.q.front_mut()
        }
    }

    /// `n` more bytes of the message `dir` is in, on the wire.
    fn wire(&mut self, dir: usize, n: usize) {
        if let Some(t) = self.cur(dir) {
            t.wire[dir] += n as u64;
        }
    }

    /// Opens `t` at the back of the queue, after the requests not logged
    /// since the last one that was (their responses come before its own).
    fn push(&mut self, mut t: Txn) -> bool {
        t.before = self.untracked.min(u32::from(u16::MAX)) as u16;
        let opened = self.q.push(t).is_ok();
        if opened {
            self.untracked = 0;
        }
        opened
    }

    /// Parses bytes of one direction (0: requests, 1: responses).
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if self.over {
            return Step::Stop;
        }
        match self.side[dir].phase {
            Phase::Probe => self.probe(dir, data),
            Phase::Head if dir == 0 => self.request_head(data, cx),
            Phase::Head => self.response_head(data, cx),
            Phase::HeadRest => self.head_rest(dir, data, cx),
            Phase::Len(rem) => self.body(dir, data, rem, false, cx),
            Phase::Chunked(c) => self.chunked(dir, data, c, cx),
            Phase::Close => {
                if let Some(t) = self.cur(1) {
                    t.body[1] += data.len() as u64;
                    t.wire[1] += data.len() as u64;
                    t.resp_end = cx.now;
                }
                self.capture(1, data, cx);
                Step::Consumed(data.len())
            }
            // A client's bytes after its CONNECT wait for the answer: a
            // tunnel's are the next protocol's, a refusal's are requests.
            Phase::Done if dir == 0 && self.tunnel_wait => Step::Need {
                consumed: 0,
                min: 0,
            },
            Phase::Done => Step::Consumed(data.len()),
        }
    }

    /// Looks for the start of the next message after garbage or a gap.
    fn probe(&mut self, dir: usize, data: &[u8]) -> Step {
        let mut at = 0;
        loop {
            let rest = &data[at..];
            if starts_message(dir, rest) {
                if at > 0 {
                    return Step::Consumed(at);
                }
                // A whole method or version, not just a cut prefix.
                if rest.len() < 8 {
                    return Step::Need {
                        consumed: 0,
                        min: 8,
                    };
                }
                self.side[dir].phase = Phase::Head;
                self.side[dir].start = 0;
                return Step::AGAIN;
            }
            match parse::memchr(b'\n', rest) {
                Some(k) => at += k + 1,
                None => return Step::Consumed(data.len()),
            }
            if at >= data.len() {
                return Step::Consumed(data.len());
            }
        }
    }

    /// What every head starts with: blank lines before it are used up,
    /// bytes that cannot start a message send the side to probing, and the
    /// first byte's time is noted. `Some` is the step to return.
    fn head_start<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        cx: &mut Cx<'_, O>,
    ) -> Option<Step> {
        let lead = data
            .iter()
            .take_while(|&&c| c == b'\r' || c == b'\n')
            .count();
        if lead > 0 {
            return Some(Step::Consumed(lead));
        }
        if !starts_message(dir, data) {
            cx.stats.of::<Http>().errors += 1;
            self.side[dir].phase = Phase::Probe;
            return Some(self.probe(dir, data));
        }
        if self.side[dir].start == 0 {
            self.side[dir].start = cx.now;
        }
        None
    }

    fn request_head<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if let Some(step) = self.head_start(0, data, cx) {
            return step;
        }
        let n = data.len().min(H2_PREFACE.len());
        if data[..n] == H2_PREFACE[..n] {
            if n < H2_PREFACE.len() {
                return Step::Need {
                    consumed: 0,
                    min: H2_PREFACE.len(),
                };
            }
            // HTTP/2 with prior knowledge: not ours.
            self.over = true;
            return Step::Stop;
        }
        let (end, whole) = match self.side[0].head_end(data) {
            Some(e) => (e, true),
            None => match self.head_cut(0, data, cx) {
                Ok(Some(e)) => (e, false),
                Ok(None) => match parse::simple_request_end(data) {
                    Some(e) => (e, true),
                    None => {
                        return Step::Need {
                            consumed: 0,
                            min: 0,
                        }
                    }
                },
                Err(step) => return step,
            },
        };
        // Left uninitialised: clearing two 4 KiB header arrays per head
        // cost more than parsing it.
        let mut hs = [const { std::mem::MaybeUninit::uninit() }; PARSE_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        let parsed = if whole {
            req.parse_with_uninit_headers(&data[..end], &mut hs)
        } else {
            Ok(httparse::Status::Partial)
        };
        let strict = match (parsed, req.method, req.path, req.version) {
            (Ok(httparse::Status::Complete(_)), Some(m), Some(t), Some(v)) => {
                Some(parse::Head::strict(
                    m.as_bytes(),
                    t.as_bytes(),
                    if v == 0 { b"1.0" } else { b"1.1" },
                    0,
                    req.headers,
                ))
            }
            _ => None,
        };
        // What httparse refuses, Zeek still logs: read it leniently.
        let mut hs2 = None;
        let head = or_lenient(strict, &data[..end], &mut hs2, parse::lenient_request);
        let Some(head) = head else {
            cx.stats.of::<Http>().errors += 1;
            if self.depth == 0 && parse::other_protocol(&data[..end]) {
                // The connection opens with another protocol's request
                // (RTSP and SIP share HTTP's methods): the flow is not
                // HTTP. Any other refused line sends it to probing.
                self.over = true;
                return Step::Stop;
            }
            self.side[0].phase = Phase::Probe;
            return Step::Consumed(end);
        };
        let (method, version) = (head.first, head.version);
        let headers = head.headers;
        let start = std::mem::take(&mut self.side[0].start);
        self.depth += 1;
        let mut t = Txn {
            buf: NONE,
            depth: self.depth,
            req_start: start,
            flags: tf::REQ,
            ..Txn::default()
        };
        if method == b"HEAD" {
            t.flags |= tf::HEAD;
        }
        if version == b"0.9" {
            t.flags |= tf::V09;
        }
        let connect = method == b"CONNECT";
        if connect {
            t.flags |= tf::CONNECT;
        }
        let mut framing = Framing {
            connect,
            ..Framing::default()
        };
        for h in headers {
            let name = h.name.as_bytes();
            framing.header(name, h.value);
            note_body_kind(&mut t, 0, name, h.value, &cx.cfg.protos.http.limits);
        }
        // Lines past the headers kept still frame the body and say what
        // it is (a form to redact, say).
        parse::header_lines(head.unread, |n, v| {
            framing.header(n, v);
            note_body_kind(&mut t, 0, n, v, &cx.cfg.protos.http.limits);
        });
        let shape = record::HeadShape {
            bad_lines: head.bad,
            cut: !whole || !head.unread.is_empty(),
        };
        let tracked = if self.q.is_full() {
            cx.stats.txn_limit += 1;
            self.untracked += 1;
            false
        } else {
            match cx.txn.take() {
                Some(b) => {
                    t.buf = b;
                    if let Some(tb) = cx.txn.get(b) {
                        record::write_request(
                            tb,
                            &head,
                            shape,
                            &cx.cfg.protos.http.limits,
                            cx.scratch,
                            cx.stats,
                        );
                    }
                }
                None => {
                    cx.stats.txn_buffers_full += 1;
                    t.flags |= tf::NO_FIELDS;
                }
            }
            self.push(t)
        };
        self.side[0].tracked = tracked;
        self.side[0].framing = framing;
        self.wire(0, end);
        self.head_done(0, end, whole, cx)
    }

    /// A head with no end in `data` although a stream buffer's worth has
    /// come (10,000 headers, a 1 MB line): `Ok(Some(n))`, its first `n`
    /// bytes (whole lines) are parsed as the head and the rest is read by
    /// [`Phase::HeadRest`]. `Ok(None)`: wait for more. `Err`: not even the
    /// first line fits; the message is lost, counted.
    fn head_cut<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        cx: &mut Cx<'_, O>,
    ) -> Result<Option<usize>, Step> {
        if data.len() < cx.cfg.stream_buffer_bytes {
            return Ok(None);
        }
        match parse::whole_lines(data) {
            Some(e) => Ok(Some(e)),
            None => {
                cx.stats.of::<Http>().errors += 1;
                self.side[dir].phase = Phase::Probe;
                self.side[dir].start = 0;
                self.side[dir].scanned = 0;
                Err(Step::Consumed(data.len()))
            }
        }
    }

    /// The head's first `end` bytes are parsed: the body follows, or, for
    /// a head cut where a buffer was full, the rest of the head.
    fn head_done<O: RecordOut>(
        &mut self,
        dir: usize,
        end: usize,
        whole: bool,
        cx: &mut Cx<'_, O>,
    ) -> Step {
        self.side[dir].scanned = 0;
        if !whole {
            self.side[dir].phase = Phase::HeadRest;
            return Step::Consumed(end);
        }
        if dir == 0 {
            self.request_body(end, cx)
        } else {
            self.response_body(end, cx)
        }
    }

    /// The rest of a head too large to buffer: lines are consumed as they
    /// come, Content-Length and Transfer-Encoding still read for framing,
    /// until the blank line.
    fn head_rest<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let mut at = 0;
        while let Some(k) = parse::memchr(b'\n', &data[at..]) {
            let line = &data[at..at + k];
            at += k + 1;
            let f = &mut self.side[dir].framing;
            if std::mem::take(&mut f.midline) {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.wire(dir, at);
                return self.head_done(dir, at, true, cx);
            }
            if let Some((name, value)) = parse::name_value(line) {
                f.header(name, value);
                if let Some(t) = self.cur(dir) {
                    note_body_kind(t, dir, name, value, &cx.cfg.protos.http.limits);
                }
            }
        }
        // A short unfinished line waits for its end (a framing header or
        // the blank line's CR may be cut in two); a long one is consumed
        // as it comes and its end skipped.
        if data.len() - at > MAX_LINE {
            self.side[dir].framing.midline = true;
            self.wire(dir, data.len());
            return Step::Consumed(data.len());
        }
        self.wire(dir, at);
        Step::Need {
            consumed: at,
            min: 0,
        }
    }

    /// Framing (RFC 9112 6.3) of a request whose head ended `end` bytes in:
    /// chunked wins over a length; a bad length makes it unknowable.
    fn request_body<O: RecordOut>(&mut self, end: usize, cx: &mut Cx<'_, O>) -> Step {
        let f = self.side[0].framing;
        let body = if f.chunked {
            Phase::Chunked(Chunk::Size)
        } else {
            match f.length {
                Some(Some(n)) => Phase::Len(n),
                Some(None) => {
                    cx.stats.of::<Http>().errors += 1;
                    self.finish_request(cx);
                    self.side[0].phase = Phase::Probe;
                    return Step::Consumed(end);
                }
                None => Phase::Len(0),
            }
        };
        if body == Phase::Len(0) {
            self.finish_request(cx);
            if f.connect {
                // What follows is the tunnel, or after a refusal more
                // requests: the answer says which.
                self.side[0].phase = Phase::Done;
                self.tunnel_wait = true;
            }
        } else {
            self.side[0].phase = body;
        }
        Step::Consumed(end)
    }

    fn finish_request<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if let Some(t) = self.cur(0) {
            t.req_end = cx.now;
            t.flags |= tf::REQ_DONE;
        }
        self.side[0].phase = Phase::Head;
        self.side[0].start = 0;
        if let Some(t) = self.early.take() {
            record::emit(&t, cx, record::End::Complete);
        }
    }

    fn response_head<O: RecordOut>(&mut self, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        let v09 = tf::V09 | tf::REQ;
        if !probe_response(data)
            && self
                .q
                .front()
                .is_some_and(|t| t.flags & (v09 | tf::RESP) == v09 && t.before == 0)
        {
            // The answer to an HTTP/0.9 request: the body, to the close.
            self.side[1].tracked = true;
            self.side[1].phase = Phase::Close;
            let now = cx.now;
            if let Some(t) = self.q.front_mut() {
                t.flags |= tf::RESP;
                t.resp_start = now;
            }
            return Step::AGAIN;
        }
        if let Some(step) = self.head_start(1, data, cx) {
            return step;
        }
        let (end, whole) = match self.side[1].head_end(data) {
            Some(e) => (e, true),
            None => match self.head_cut(1, data, cx) {
                Ok(Some(e)) => (e, false),
                Ok(None) => {
                    return Step::Need {
                        consumed: 0,
                        min: 0,
                    }
                }
                Err(step) => return step,
            },
        };
        let mut hs = [const { std::mem::MaybeUninit::uninit() }; PARSE_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = if whole {
            httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut resp,
                &data[..end],
                &mut hs,
            )
        } else {
            Ok(httparse::Status::Partial)
        };
        let strict = match (parsed, resp.code, resp.version) {
            (Ok(httparse::Status::Complete(_)), Some(c), Some(v)) => Some(parse::Head::strict(
                if v == 0 { b"1.0" } else { b"1.1" },
                resp.reason.unwrap_or("").as_bytes(),
                &[],
                c,
                resp.headers,
            )),
            _ => None,
        };
        let mut hs2 = None;
        let head = or_lenient(strict, &data[..end], &mut hs2, parse::lenient_response);
        let Some(head) = head else {
            cx.stats.of::<Http>().errors += 1;
            self.side[1].phase = Phase::Probe;
            return Step::Consumed(end);
        };
        let (code, headers) = (head.code, head.headers);
        let start = self.side[1].start;
        // Which transaction this answers.
        let front_waits = self
            .q
            .front()
            .is_some_and(|t| t.flags & tf::RESP == 0 && t.flags & tf::REQ != 0);
        let interim = (100..200).contains(&code) && code != 101;
        let owed = self.q.front().map_or(0, |t| t.before);
        let tracked = if owed > 0 {
            // It answers a request that was not logged, before the front.
            if !interim {
                if let Some(t) = self.q.front_mut() {
                    t.before -= 1;
                }
            }
            false
        } else if front_waits {
            true
        } else if interim {
            // An interim response nobody waits for opens nothing.
            false
        } else if self.untracked > 0 {
            self.untracked -= 1;
            false
        } else {
            // No request seen (a capture that started mid-connection).
            let mut t = Txn {
                buf: cx.txn.take().unwrap_or(NONE),
                ..Txn::default()
            };
            if t.buf == NONE {
                cx.stats.txn_buffers_full += 1;
                t.flags |= tf::NO_FIELDS;
            }
            if self.push(t) {
                true
            } else {
                cx.txn.give(t.buf);
                cx.stats.txn_limit += 1;
                false
            }
        };
        self.side[1].tracked = tracked;
        let mut framing = Framing {
            code,
            ..Framing::default()
        };
        if interim {
            if let Some(t) = self.cur(1) {
                t.flags |= tf::CONTINUE;
            }
        } else if let Some(t) = self.cur(1) {
            t.flags |= tf::RESP;
            t.status = code;
            t.resp_start = start;
            for h in headers {
                note_body_kind(t, 1, h.name.as_bytes(), h.value, &cx.cfg.protos.http.limits);
            }
            parse::header_lines(head.unread, |n, v| {
                note_body_kind(t, 1, n, v, &cx.cfg.protos.http.limits);
            });
            let b = t.buf;
            if let Some(tb) = cx.txn.get(b) {
                let shape = record::HeadShape {
                    bad_lines: head.bad,
                    cut: !whole || !head.unread.is_empty(),
                };
                record::write_response(tb, &head, shape, &cx.cfg.protos.http.limits, cx.stats);
            }
        }
        for h in headers {
            framing.header(h.name.as_bytes(), h.value);
        }
        parse::header_lines(head.unread, |n, v| framing.header(n, v));
        self.side[1].framing = framing;
        self.wire(1, end);
        self.head_done(1, end, whole, cx)
    }

    /// Framing of a response whose head ended `end` bytes in: none after
    /// HEAD, 1xx, 204, 304 or a tunnel's start, else chunked, a length, or
    /// to the close.
    fn response_body<O: RecordOut>(&mut self, end: usize, cx: &mut Cx<'_, O>) -> Step {
        let f = self.side[1].framing;
        let code = f.code;
        if (100..200).contains(&code) && code != 101 {
            // Interim: the response proper follows.
            self.side[1].phase = Phase::Head;
            self.side[1].start = 0;
            return Step::Consumed(end);
        }
        let (head, connect) = self.cur(1).map_or((false, false), |t| {
            (t.flags & tf::HEAD != 0, t.flags & tf::CONNECT != 0)
        });
        let tunnel = code == 101 || (connect && (200..300).contains(&code));
        if connect && !tunnel && self.tunnel_wait {
            // A refused CONNECT: the client's next bytes are requests.
            self.tunnel_wait = false;
            self.side[0].phase = Phase::Head;
        }
        let no_body = head || code == 204 || code == 304 || tunnel;
        let phase = if no_body {
            Phase::Len(0)
        } else if f.chunked {
            Phase::Chunked(Chunk::Size)
        } else {
            match f.length {
                Some(Some(n)) => Phase::Len(n),
                Some(None) => {
                    cx.stats.of::<Http>().errors += 1;
                    Phase::Close
                }
                None => Phase::Close,
            }
        };
        if phase == Phase::Len(0) {
            self.finish_response(cx);
            if connect && code != 101 {
                // A CONNECT tunnel carries TLS (a proxy's HTTPS) or
                // something else: TLS reads what follows, and refuses
                // what is not TLS. The bytes after the head are its.
                self.next = Some(crate::app::Proto::Tls);
                return Step::Need {
                    consumed: end,
                    min: usize::MAX,
                };
            }
            if tunnel {
                self.over = true;
                return Step::Stop;
            }
        } else {
            self.side[1].phase = phase;
        }
        Step::Consumed(end)
    }

    fn finish_response<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let tracked = self.side[1].tracked;
        self.side[1].phase = Phase::Head;
        self.side[1].start = 0;
        self.side[1].tracked = false;
        if !tracked {
            return;
        }
        if let Some(mut t) = self.q.pop() {
            t.resp_end = cx.now;
            if t.flags & tf::REQ != 0 && t.flags & tf::REQ_DONE == 0 && self.side[0].tracked {
                // Every earlier request is answered, so this is the one the
                // request side is still reading.
                self.early = Some(t);
            } else {
                record::emit(&t, cx, record::End::Complete);
            }
        }
    }

    /// A Content-Length body, or a chunk's data.
    fn body<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        rem: u64,
        chunk: bool,
        cx: &mut Cx<'_, O>,
    ) -> Step {
        let set = |s: &mut Self, r: u64| {
            s.side[dir].phase = if chunk {
                Phase::Chunked(Chunk::Data(r))
            } else {
                Phase::Len(r)
            };
        };
        if rem == 0 {
            return self.body_done(dir, chunk, cx);
        }
        if !self.capturing(dir, cx) && rem > data.len() as u64 && rem > 1 {
            // Not wanted: skip all but the last byte, whose packet time
            // ends the message.
            if let Some(t) = self.cur(dir) {
                t.body[dir] += rem - 1;
                t.wire[dir] += rem - 1;
            }
            self.side[dir].ahead = rem - 1;
            set(self, 1);
            return Step::Skip {
                consumed: 0,
                len: rem - 1,
            };
        }
        let k = rem.min(data.len() as u64) as usize;
        // The skip (if any) came whole.
        self.side[dir].ahead = 0;
        self.capture(dir, &data[..k], cx);
        if let Some(t) = self.cur(dir) {
            t.body[dir] += k as u64;
            t.wire[dir] += k as u64;
        }
        let r = rem - k as u64;
        set(self, r);
        if r == 0 {
            if let Step::Stop = self.body_done(dir, chunk, cx) {
                return Step::Stop;
            }
        }
        Step::Consumed(k)
    }

    fn body_done<O: RecordOut>(&mut self, dir: usize, chunk: bool, cx: &mut Cx<'_, O>) -> Step {
        if chunk {
            self.side[dir].phase = Phase::Chunked(Chunk::DataEnd);
            return Step::AGAIN;
        }
        self.message_done(dir, cx)
    }

    fn message_done<O: RecordOut>(&mut self, dir: usize, cx: &mut Cx<'_, O>) -> Step {
        if dir == 0 {
            self.finish_request(cx);
        } else {
            self.finish_response(cx);
        }
        Step::AGAIN
    }

    fn chunked<O: RecordOut>(
        &mut self,
        dir: usize,
        data: &[u8],
        c: Chunk,
        cx: &mut Cx<'_, O>,
    ) -> Step {
        match c {
            Chunk::Data(rem) => self.body(dir, data, rem, true, cx),
            Chunk::Size => {
                let Some(nl) = parse::memchr(b'\n', data) else {
                    return self.need_line(dir, data, cx);
                };
                self.wire(dir, nl + 1);
                match parse::chunk_size(&data[..nl]) {
                    Some(0) => self.side[dir].phase = Phase::Chunked(Chunk::Trailer),
                    Some(n) => self.side[dir].phase = Phase::Chunked(Chunk::Data(n)),
                    None => return self.framing_error(dir, nl + 1, cx),
                }
                Step::Consumed(nl + 1)
            }
            Chunk::DataEnd => {
                let Some(nl) = parse::memchr(b'\n', data) else {
                    return self.need_line(dir, data, cx);
                };
                if !parse::trim(&data[..nl]).is_empty() {
                    return self.framing_error(dir, nl + 1, cx);
                }
                self.wire(dir, nl + 1);
                self.side[dir].phase = Phase::Chunked(Chunk::Size);
                Step::Consumed(nl + 1)
            }
            Chunk::Trailer => {
                let Some(nl) = parse::memchr(b'\n', data) else {
                    return self.need_line(dir, data, cx);
                };
                self.wire(dir, nl + 1);
                if parse::trim(&data[..nl]).is_empty() {
                    // The blank line ends the message.
                    let _ = self.message_done(dir, cx);
                    if self.over {
                        return Step::Stop;
                    }
                }
                Step::Consumed(nl + 1)
            }
        }
    }

    fn need_line<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if data.len() > MAX_LINE {
            return self.framing_error(dir, data.len(), cx);
        }
        Step::Need {
            consumed: 0,
            min: 0,
        }
    }

    /// Framing that cannot be followed: the message ends here, marked.
    fn framing_error<O: RecordOut>(&mut self, dir: usize, used: usize, cx: &mut Cx<'_, O>) -> Step {
        cx.stats.of::<Http>().errors += 1;
        self.cut(dir, cx);
        Step::Consumed(used)
    }

    /// The message in progress on `dir` loses bytes: it ends here, marked,
    /// and the side probes for the next message.
    fn cut<O: RecordOut>(&mut self, dir: usize, cx: &mut Cx<'_, O>) {
        let in_body = !matches!(
            self.side[dir].phase,
            Phase::Head | Phase::Probe | Phase::Done
        );
        let in_msg = in_body || self.side[dir].start != 0;
        let flag = if dir == 0 { tf::GAP_REQ } else { tf::GAP_RESP };
        if in_msg {
            if let Some(t) = self.cur(dir) {
                t.flags |= flag;
            }
            if in_body {
                if dir == 0 {
                    self.finish_request(cx);
                } else {
                    self.finish_response(cx);
                }
            }
        }
        self.side[dir].phase = Phase::Probe;
        self.side[dir].start = 0;
        self.side[dir].scanned = 0;
    }

    /// The stream ended `len` bytes short of a skip: body bytes counted
    /// ahead of it are taken back.
    pub fn unskipped(&mut self, dir: usize, len: u64) {
        let back = std::mem::take(&mut self.side[dir].ahead).min(len);
        if let Some(t) = self.cur(dir) {
            t.body[dir] -= back.min(t.body[dir]);
            t.wire[dir] -= back.min(t.wire[dir]);
        }
    }

    /// Bytes of `dir` were lost (0: the stream starts mid-connection).
    pub fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        if self.over {
            return;
        }
        // A gap inside a skip was absorbed by it; one that reaches here
        // starts after the skip: nothing counted ahead is in question.
        let _ = len;
        self.side[dir].ahead = 0;
        if self.side[dir].phase == Phase::Close {
            // The body ran to the close: what is missing is its tail.
            if let Some(t) = self.cur(1) {
                t.flags |= tf::GAP_RESP;
            }
            return;
        }
        self.cut(dir, cx);
    }

    /// Whether `--http-body-types` wants the body of the message `dir` is in
    /// (every body when the list is empty).
    fn type_wanted<O: RecordOut>(&mut self, dir: usize, cx: &Cx<'_, O>) -> bool {
        let typed = if dir == 0 {
            tf::TYPE_REQ
        } else {
            tf::TYPE_RESP
        };
        cx.cfg.protos.http.limits.body_types.is_empty()
            || self.cur(dir).is_some_and(|t| t.flags & typed != 0)
    }

    fn capturing<O: RecordOut>(&mut self, dir: usize, cx: &mut Cx<'_, O>) -> bool {
        let lim = cx.cfg.protos.http.limits.body_bytes;
        if lim == 0 {
            return false;
        }
        if !self.type_wanted(dir, cx) {
            return false;
        }
        let Some(t) = self.cur(dir) else {
            return false;
        };
        let b = t.buf;
        cx.txn.get(b).is_some_and(|tb| tb.body[dir].len() < lim)
    }

    fn capture<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) {
        let lim = cx.cfg.protos.http.limits.body_bytes;
        if lim == 0 || data.is_empty() {
            return;
        }
        if !self.type_wanted(dir, cx) {
            return;
        }
        let Some(t) = self.cur(dir) else {
            return;
        };
        let b = t.buf;
        let trunc = if dir == 0 {
            tf::TRUNC_REQ
        } else {
            tf::TRUNC_RESP
        };
        if let Some(tb) = cx.txn.get(b) {
            let room = lim - tb.body[dir].len().min(lim);
            let k = room.min(data.len());
            tb.body[dir].extend_from_slice(&data[..k]);
            if k < data.len() && t.flags & trunc == 0 {
                t.flags |= trunc;
                cx.stats.bodies_truncated += 1;
            }
        }
    }

    /// Requests waiting past the timeout are logged as unanswered.
    pub fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let limit = cx.cfg.txn_timeout_ns;
        if self.side[1].start != 0 {
            // A response head is arriving (for the front transaction).
            return;
        }
        while let Some(t) = self.q.front() {
            let waiting = t.flags & tf::REQ_DONE != 0 && t.flags & tf::RESP == 0;
            if !waiting || cx.now.saturating_sub(t.req_end) < limit {
                break;
            }
            let t = self.q.pop().unwrap_or_default();
            // The response side never started on it.
            record::emit(&t, cx, record::End::Timeout);
        }
    }

    /// The connection ends: every open transaction is logged.
    pub fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        if let Some(t) = self.early.take() {
            record::emit(&t, cx, record::End::Complete);
        }
        let close = self.side[1].phase == Phase::Close && self.side[1].tracked;
        let mut first = true;
        while let Some(mut t) = self.q.pop() {
            let how = if t.flags & tf::RESP == 0 {
                record::End::FlowEnd
            } else if first && close {
                // A body delimited by the close ends with the connection.
                if t.resp_end == 0 {
                    t.resp_end = t.resp_start;
                }
                record::End::Complete
            } else {
                record::End::Incomplete
            };
            first = false;
            record::emit(&t, cx, how);
        }
    }
}

/// Whether `data` can start a message of direction `dir`: a request line
/// with any method, or a status line.
fn starts_message(dir: usize, data: &[u8]) -> bool {
    if dir == 0 {
        probe_any_request(data)
    } else {
        probe_response(data)
    }
}

/// Notes the content type and coding of a side's body, and whether
/// `--http-body-types` wants it.
fn note_body_kind(t: &mut Txn, dir: usize, name: &[u8], v: &[u8], limits: &super::Limits) {
    if name.eq_ignore_ascii_case(b"content-type") {
        let v = parse::trim(v);
        let ty = &v[..parse::memchr(b';', v).unwrap_or(v.len())];
        let ty = parse::trim(ty);
        if limits.wants_body(ty) {
            t.flags |= if dir == 0 {
                tf::TYPE_REQ
            } else {
                tf::TYPE_RESP
            };
        }
        if ty.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
            t.flags |= if dir == 0 {
                tf::FORM_REQ
            } else {
                tf::FORM_RESP
            };
        } else if ty.eq_ignore_ascii_case(b"application/json")
            || (ty.len() > 5 && ty[ty.len() - 5..].eq_ignore_ascii_case(b"+json"))
        {
            t.flags |= if dir == 0 {
                tf::JSON_REQ
            } else {
                tf::JSON_RESP
            };
        }
    } else if name.eq_ignore_ascii_case(b"content-encoding") {
        let v = parse::trim(v);
        t.coding[dir] = if v.eq_ignore_ascii_case(b"gzip") || v.eq_ignore_ascii_case(b"x-gzip") {
            Coding::Gzip
        } else if v.eq_ignore_ascii_case(b"deflate") {
            Coding::Deflate
        } else {
            Coding::Identity
        };
    }
}
