//! The application layer: which flows get an analyzer, the streaming
//! contract every analyzer follows, and the per-worker state they share.
//!
//! A flow's first payload decides its protocol ([`App::payload`]): by the
//! responder's port, confirmed by probing the bytes (HTTP on 8081 is still
//! HTTP; a port match whose bytes are not the protocol stays a plain flow),
//! else by probing alone where the protocol has a reliable signature.
//! Each protocol can be switched off, given its own port lists, and
//! sampled 1-in-N by flow hash.
//!
//! Analyzers are streaming parsers ([`stream::Sink`]). TCP bytes reach them
//! through the reassembly of [`stream::Dir`]; a UDP datagram is one message.
//! A parse step answers with a [`Step`]. Transactions become records the
//! analyzer writes through [`Cx::record`], which adds the flow's endpoints,
//! Community ID and network-delay figures.
//!
//! Everything is sized at start ([`AppConfig::sized`]): sessions (one per
//! analyzed flow), stream buffers (held bytes) and transaction buffers
//! (a request's fields waiting for its response). Running out of any of
//! them is counted in [`AppStats`] and the flow or transaction goes on
//! without; nothing grows.
//!
//! Protocols live in one folder each, with the same files: `parse.rs` (pure
//! parsing functions), `state.rs` (the state machine and its
//! transactions), `record.rs` (the record it writes). `template/` is the
//! folder to copy for a new one.

pub mod dns;
pub mod http;
pub mod inflate;
pub mod pool;
pub mod stream;
pub mod template;
#[cfg(test)]
mod tests;
pub mod txn;

use crate::decode::{ipproto, tcpflag, Decoded};
use crate::flow::record::{endpoints, write_endpoints};
use crate::flow::{cf, Cold, Hot};
use crate::key;
use crate::record::json::JsonWriter;
use crate::record::{FieldSink, RecordOut};
use crate::sys::HugeArray;
use inflate::Inflate;
use pool::Pool;
use stream::{Dir, Feed, Sink, StreamLimits, StreamStats};
use txn::TxnPool;

/// What a parse step did with the bytes it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Used this many bytes; call again with the rest (0 means the same
    /// as `Need { consumed: 0, min: 0 }`).
    Consumed(usize),
    /// Used `consumed` bytes and cannot go on until at least `min` bytes
    /// follow them (0: any more). The stream layer keeps the rest.
    Need {
        /// Bytes used.
        consumed: usize,
        /// Bytes wanted before the next call.
        min: usize,
    },
    /// Used `consumed` bytes; the next `len` are not needed (a body past
    /// its limit). The stream layer counts them without buffering.
    Skip {
        /// Bytes used.
        consumed: usize,
        /// Bytes to pass over.
        len: u64,
    },
    /// Nothing more is wanted from this direction.
    Stop,
    /// The bytes are not this protocol: the direction stops, counted.
    Fatal,
}

impl Step {
    /// The parser changed state without using a byte: call it again at
    /// once with the same bytes.
    pub const AGAIN: Step = Step::Skip {
        consumed: 0,
        len: 0,
    };
}

/// Application protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// HTTP/1.x.
    Http,
    /// DNS over UDP or TCP.
    Dns,
}

/// A set of ports, one bit each.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    /// The set of `ports`.
    pub fn new(ports: &[u16]) -> Self {
        let mut b = Box::new([0u64; 1024]);
        for &p in ports {
            b[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        Self(b)
    }

    /// Whether `p` is in the set.
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p >> 6)] >> (p & 63) & 1 != 0
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<u16> = (0..=u16::MAX).filter(|&p| self.contains(p)).collect();
        write!(f, "{ports:?}")
    }
}

/// One protocol's switches.
#[derive(Clone, Debug)]
pub struct ProtoConfig {
    /// Analyze this protocol (default on).
    pub enabled: bool,
    /// TCP ports that select it (before content confirms it).
    pub tcp_ports: PortSet,
    /// UDP ports that select it.
    pub udp_ports: PortSet,
    /// Analyze 1 flow in N (default 1: every flow).
    pub sample: u32,
}

/// HTTP's default TCP ports.
pub const HTTP_PORTS: &[u16] = &[80, 81, 591, 3128, 8000, 8008, 8080, 8081, 8088, 8888];
/// DNS's default ports (TCP and UDP).
pub const DNS_PORTS: &[u16] = &[53, 5353, 5355];

/// Settings and limits of the application layer (per worker).
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// HTTP.
    pub http: ProtoConfig,
    /// DNS.
    pub dns: ProtoConfig,
    /// HTTP limits and redaction.
    pub http_limits: http::Limits,
    /// Bytes per direction an analyzer is given before it is stopped
    /// (default 0: no limit; skipped bodies do not count).
    pub depth: u64,
    /// Sessions (analyzed flows at once).
    pub sessions: usize,
    /// Stream buffers (directions holding bytes at once).
    pub stream_buffers: usize,
    /// Bytes per stream buffer: the largest message head an analyzer can
    /// wait for, and the out-of-order window (default 16 KiB).
    pub stream_buffer_bytes: usize,
    /// Transaction buffers (requests waiting for their response at once).
    pub txn_buffers: usize,
    /// Open transactions per flow (default 16; more are counted and not
    /// logged).
    pub max_open: usize,
    /// A request unanswered this long (ns) is logged as unanswered
    /// (default 30 s; DNS: 5 s).
    pub txn_timeout_ns: u64,
    /// DNS's timeout (default 5 s).
    pub dns_timeout_ns: u64,
}

impl AppConfig {
    /// Limits sized from `memory` bytes for one worker: 20 % for sessions,
    /// 30 % for stream buffers, 50 % for transaction buffers. Sessions are
    /// given back between transactions, so an HTTP transaction in flight
    /// needs a session (~1.5 KB) and a transaction buffer (~14 KB): the
    /// split gives about four sessions per buffer, the rest for DNS.
    pub fn sized(memory: usize) -> Self {
        let mut c = Self {
            http: ProtoConfig {
                enabled: true,
                tcp_ports: PortSet::new(HTTP_PORTS),
                udp_ports: PortSet::new(&[]),
                sample: 1,
            },
            dns: ProtoConfig {
                enabled: true,
                tcp_ports: PortSet::new(DNS_PORTS),
                udp_ports: PortSet::new(DNS_PORTS),
                sample: 1,
            },
            http_limits: http::Limits::default(),
            depth: 0,
            sessions: 0,
            stream_buffers: 0,
            stream_buffer_bytes: 16 * 1024,
            txn_buffers: 0,
            max_open: 16,
            txn_timeout_ns: 30_000_000_000,
            dns_timeout_ns: 5_000_000_000,
        };
        c.resize(memory);
        c
    }

    /// Every analyzer off: flow tracking only.
    pub fn off() -> Self {
        let mut c = Self::sized(0);
        c.http.enabled = false;
        c.dns.enabled = false;
        c
    }

    /// Recomputes the counts for `memory` bytes, keeping the sizes.
    pub fn resize(&mut self, memory: usize) {
        let sess = std::mem::size_of::<Session>() + 4;
        let txn = self.txn_bytes();
        self.sessions = (memory / 10 * 2 / sess).max(16);
        self.stream_buffers = (memory / 10 * 3 / self.stream_buffer_bytes).max(16);
        self.txn_buffers = (memory / 10 * 5 / txn).max(16);
    }

    /// Bytes one transaction buffer takes.
    pub fn txn_bytes(&self) -> usize {
        self.http_limits.txn_size().buffer_bytes()
    }

    /// Bytes this configuration maps.
    pub fn memory_bytes(&self) -> usize {
        self.sessions * (std::mem::size_of::<Session>() + 4)
            + self.stream_buffers * self.stream_buffer_bytes
            + self.txn_buffers * self.txn_bytes()
    }

    /// Whether any protocol is on.
    pub fn any(&self) -> bool {
        self.http.enabled || self.dns.enabled
    }
}

/// Counters of the application layer, per worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Stream layer.
    pub stream: StreamStats,
    /// Sessions created.
    pub sessions: u64,
    /// Sessions open now.
    pub sessions_active: u64,
    /// Flows left unanalyzed: every session was in use.
    pub sessions_full: u64,
    /// Flows on a protocol's port whose bytes were not that protocol.
    pub probe_failed: u64,
    /// Flows left out by sampling.
    pub sampled_out: u64,
    /// Transactions not logged: no transaction buffer was free.
    pub txn_buffers_full: u64,
    /// Transactions not logged: the flow had `max_open` open already.
    pub txn_limit: u64,
    /// HTTP transactions logged.
    pub http: u64,
    /// Of those, without a response.
    pub http_unanswered: u64,
    /// HTTP messages that did not parse.
    pub http_errors: u64,
    /// DNS transactions logged.
    pub dns: u64,
    /// Of those, without a response.
    pub dns_unanswered: u64,
    /// DNS messages that did not parse.
    pub dns_errors: u64,
    /// Records written.
    pub records: u64,
    /// Records dropped: no output buffer.
    pub records_dropped: u64,
    /// Header lists cut at the header limits, or heads larger than a
    /// stream buffer whose rest was skipped.
    pub headers_truncated: u64,
    /// HTTP header lines that were not `name: value` (skipped, the rest of
    /// the head logged).
    pub http_bad_header_lines: u64,
    /// Bodies cut at the body limit.
    pub bodies_truncated: u64,
}

impl AppStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &AppStats) {
        self.stream.add(&o.stream);
        self.sessions += o.sessions;
        self.sessions_active += o.sessions_active;
        self.sessions_full += o.sessions_full;
        self.probe_failed += o.probe_failed;
        self.sampled_out += o.sampled_out;
        self.txn_buffers_full += o.txn_buffers_full;
        self.txn_limit += o.txn_limit;
        self.http += o.http;
        self.http_unanswered += o.http_unanswered;
        self.http_errors += o.http_errors;
        self.dns += o.dns;
        self.dns_unanswered += o.dns_unanswered;
        self.dns_errors += o.dns_errors;
        self.records += o.records;
        self.records_dropped += o.records_dropped;
        self.headers_truncated += o.headers_truncated;
        self.http_bad_header_lines += o.http_bad_header_lines;
        self.bodies_truncated += o.bodies_truncated;
    }
}

/// What an analyzer sees of the world while it parses: where records go,
/// the flow they belong to, the time, and the shared buffers.
pub struct Cx<'a, O> {
    /// Record buffers.
    pub out: &'a mut O,
    /// Transaction buffers.
    pub txn: &'a mut TxnPool,
    /// Counters.
    pub stats: &'a mut AppStats,
    /// Settings.
    pub cfg: &'a AppConfig,
    /// The flow.
    pub flow: &'a Cold,
    /// Who the records name.
    pub names: &'a Names<'a>,
    /// Time of the packet being parsed (ns).
    pub now: u64,
    /// Scratch space (a redacted URI, say), capacity fixed at start.
    pub scratch: &'a mut Vec<u8>,
    /// Undoes content codings of captured bodies.
    pub inflate: &'a mut Inflate,
}

impl<O: RecordOut> Cx<'_, O> {
    /// Writes one transaction record of type `kind` starting at `ts`: the
    /// common fields, then `body`'s. Returns false when it was dropped.
    pub fn record(&mut self, kind: &str, ts: u64, body: impl FnOnce(&mut JsonWriter)) -> bool {
        write_record(self.out, self.stats, self.flow, self.names, kind, ts, body)
    }
}

/// Writes one transaction record: type, time, the flow's endpoints and
/// Community ID, its network-delay figures, then `body`'s fields.
pub fn write_record<O: RecordOut>(
    out: &mut O,
    stats: &mut AppStats,
    flow: &Cold,
    names: &Names,
    kind: &str,
    ts: u64,
    body: impl FnOnce(&mut JsonWriter),
) -> bool {
    let Some(buf) = out.buffer() else {
        stats.records_dropped += 1;
        return false;
    };
    let mut w = JsonWriter::new(buf);
    w.token("type", kind);
    w.time("ts", ts);
    write_endpoints(&mut w, flow, names.sensor, names.cid_seed);
    write_net_delay(&mut w, flow);
    body(&mut w);
    w.finish();
    stats.records += 1;
    true
}

/// Marks a transaction logged without its response: its wait reached the
/// timeout, or its flow ended.
pub fn write_unanswered(w: &mut impl FieldSink, timed_out: bool) {
    w.bool("unanswered", true);
    w.token(
        "unanswered_reason",
        if timed_out { "timeout" } else { "flow_end" },
    );
}

/// The flow's network-delay figures as they stand (handshake RTT halves
/// and the Karn estimates per side), so a transaction can be judged
/// against the network it crossed.
fn write_net_delay(w: &mut impl FieldSink, c: &Cold) {
    if c.key.proto != ipproto::TCP {
        return;
    }
    if c.flags & cf::HS_SYNACK != 0 {
        w.u64_at(key!("rtt_server_us"), u64::from(c.hs_a));
    }
    if c.flags & cf::HS_ACK != 0 {
        w.u64_at(key!("rtt_client_us"), u64::from(c.hs_b));
    }
    for (d, k) in [(0, "src_net_delay_avg_us"), (1, "dst_net_delay_avg_us")] {
        if c.nd_cnt[d] > 0 {
            w.u64(k, u64::from(c.nd_sum[d] / u32::from(c.nd_cnt[d])));
        }
    }
}

/// A protocol's state in a session.
#[allow(clippy::large_enum_variant)]
pub enum Parser {
    /// HTTP/1.x.
    Http(http::Http),
    /// DNS.
    Dns(dns::Dns),
}

impl<O: RecordOut> Sink<Cx<'_, O>> for Parser {
    fn parse(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        match self {
            Parser::Http(p) => p.parse(dir, data, cx),
            Parser::Dns(p) => p.parse(dir, data, cx),
        }
    }
    fn gap(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        match self {
            Parser::Http(p) => p.gap(dir, len, cx),
            Parser::Dns(p) => p.gap(dir, len, cx),
        }
    }
    fn unskipped(&mut self, dir: usize, len: u64, _cx: &mut Cx<'_, O>) {
        if let Parser::Http(p) = self {
            p.unskipped(dir, len);
        }
    }
}

impl Parser {
    fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        match self {
            Parser::Http(p) => p.timeout(cx),
            Parser::Dns(p) => p.timeout(cx),
        }
    }
    fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        match self {
            Parser::Http(p) => p.end(cx),
            Parser::Dns(p) => p.end(cx),
        }
    }
}

/// One analyzed flow: reassembly per direction and the protocol's state.
pub struct Session {
    dirs: [Dir; 2],
    parser: Parser,
}

/// The protocol state a new session starts with.
#[derive(Clone, Copy)]
enum Fresh {
    Http { max_open: usize, depth: u32 },
    Dns { tcp: bool },
}

/// Makes `slot` a new session. A slot given back keeps its bytes, and one
/// that held the same protocol is reset where it lies: a session is
/// ~1.5 KB, nearly all of it HTTP's transaction queue or DNS's waiting
/// queries, which a new session never reads before writing; building a
/// whole one and moving it in wrote every line of it, several times, for
/// every transaction.
fn open(slot: &mut Option<Session>, dirs: [Dir; 2], fresh: Fresh) {
    match (slot.as_mut(), fresh) {
        (
            Some(Session {
                dirs: d,
                parser: Parser::Http(x),
            }),
            Fresh::Http { max_open, depth },
        ) => {
            *d = dirs;
            x.reset(max_open, depth);
        }
        (
            Some(Session {
                dirs: d,
                parser: Parser::Dns(x),
            }),
            Fresh::Dns { tcp },
        ) => {
            *d = dirs;
            x.reset(tcp);
        }
        (_, Fresh::Http { max_open, depth }) => {
            *slot = Some(Session {
                dirs,
                parser: Parser::Http(http::Http::resume(max_open, depth)),
            });
        }
        (_, Fresh::Dns { tcp }) => {
            *slot = Some(Session {
                dirs,
                parser: Parser::Dns(dns::Dns::new(tcp)),
            });
        }
    }
}

impl Session {
    /// Runs `op` on direction `d`'s reassembly, feeding this session's
    /// parser.
    fn on_dir<'c, O: RecordOut>(
        &mut self,
        d: usize,
        pool: &mut Pool,
        depth: u64,
        stats: &mut StreamStats,
        cx: &mut Cx<'c, O>,
        op: impl FnOnce(&mut Dir, &mut Feed<'_, Parser, Cx<'c, O>>),
    ) {
        let Session { dirs, parser } = self;
        let mut f = Feed {
            pool,
            stats,
            limits: StreamLimits { depth },
            sink: parser,
            cx,
            dir: d,
        };
        op(&mut dirs[d], &mut f);
    }
}

/// `sess_of` values below [`FIRST`] are not sessions: not decided yet, no
/// analyzer, or DNS over UDP with no query waiting. Values with
/// [`HTTP_IDLE`] set are an HTTP connection at rest between transactions,
/// the low bits its transaction count. Sessions are given back at rest,
/// so idle connections and DNS flows hold none: sessions count
/// transactions in progress, not connections.
const UNDECIDED: u32 = 0;
const NO_APP: u32 = 1;
const DNS_IDLE: u32 = 2;
const FIRST: u32 = 3;
const HTTP_IDLE: u32 = 1 << 31;

/// The application layer of one worker.
pub struct App {
    sessions: Vec<Option<Session>>,
    free: Vec<u32>,
    /// Per flow-table entry: [`UNDECIDED`], [`NO_APP`], or a session.
    sess_of: HugeArray<u32>,
    sh: Shared,
}

/// What every session's analyzer borrows while it runs.
struct Shared {
    cfg: AppConfig,
    seg: Pool,
    txn: TxnPool,
    scratch: Vec<u8>,
    inflate: Inflate,
    stats: AppStats,
    /// The stream layer's counters, apart from `stats` so a feed can count
    /// into them while the analyzer holds `stats` (folded in by
    /// [`App::stats`]); a per-packet copy added up was a cost per packet.
    stream: StreamStats,
}

impl Shared {
    /// The stream pool, and the context for records of `flow` at `now`.
    fn split<'a, O>(
        &'a mut self,
        out: &'a mut O,
        flow: &'a Cold,
        names: &'a Names<'a>,
        now: u64,
    ) -> (&'a mut Pool, &'a mut StreamStats, Cx<'a, O>) {
        let Self {
            cfg,
            seg,
            txn,
            scratch,
            inflate,
            stats,
            stream,
        } = self;
        let cx = Cx {
            out,
            txn,
            stats,
            cfg,
            flow,
            names,
            now,
            scratch,
            inflate,
        };
        (seg, stream, cx)
    }
}

/// Who the records name.
pub struct Names<'a> {
    /// Sensor name.
    pub sensor: &'a str,
    /// Community ID seed.
    pub cid_seed: u16,
}

impl App {
    /// The application layer for a table of `flows` entries.
    pub fn new(cfg: AppConfig, flows: usize, huge: bool) -> std::io::Result<Self> {
        let on = cfg.any();
        let n = if on { cfg.sessions } else { 0 };
        let mut sessions = Vec::with_capacity(n);
        sessions.resize_with(n, || None);
        let seg = Pool::new(
            if on { cfg.stream_buffers } else { 0 },
            cfg.stream_buffer_bytes,
            huge,
        )?;
        let txn = TxnPool::new(
            if on { cfg.txn_buffers } else { 0 },
            cfg.http_limits.txn_size(),
        );
        Ok(Self {
            sess_of: HugeArray::new(if on { flows } else { 0 }, huge)?,
            free: (0..n as u32).rev().collect(),
            sessions,
            sh: Shared {
                seg,
                txn,
                // Room for a redacted URI and query (redaction can make
                // each ~4× longer: ~6.5× the URI limit in all) or body, and
                // for a DNS answer's texts (so it never grows: HTTP's
                // body redaction checks its capacity).
                scratch: Vec::with_capacity(
                    (8 * cfg.http_limits.uri_bytes.max(cfg.http_limits.body_bytes) + 64)
                        .max(dns::parse::TEXT_BYTES + 64),
                ),
                inflate: Inflate::new(cfg.http_limits.body_bytes),
                stats: AppStats::default(),
                stream: StreamStats::default(),
                cfg,
            },
        })
    }

    /// Direction `d` of flow `i` restarted its sequence space at `next` (a
    /// SYN-ACK repeated with a new initial sequence number): a session
    /// whose direction has delivered nothing yet follows it.
    pub fn restart(&mut self, i: usize, d: usize, next: u32) {
        let s = self.sess_of[i];
        if s < FIRST || s == DNS_IDLE || s & HTTP_IDLE != 0 {
            return;
        }
        if let Some(sess) = self.sessions[(s - FIRST) as usize].as_mut() {
            sess.dirs[d].restart(next);
        }
    }

    /// Whether any analyzer is on.
    #[inline]
    pub fn enabled(&self) -> bool {
        !self.sess_of.is_empty()
    }

    /// Counters.
    pub fn stats(&self) -> AppStats {
        let mut s = self.sh.stats;
        s.stream.add(&self.sh.stream);
        s.sessions_active = (self.sessions.len() - self.free.len()) as u64;
        s
    }

    /// Bytes held at start.
    pub fn memory_bytes(&self) -> usize {
        self.sessions.capacity() * std::mem::size_of::<Option<Session>>()
            + self.sess_of.bytes()
            + self.sh.seg.memory_bytes()
            + self.sh.txn.memory_bytes()
    }

    /// Hints the CPU to load flow `i`'s session handle.
    #[inline]
    pub fn prefetch(&self, i: usize) {
        self.sess_of.prefetch(i);
    }

    /// A packet with payload of flow `i` (entry `h`, `c`), travelling in
    /// direction `d`; call before the TCP tracker sees it.
    #[allow(clippy::too_many_arguments)]
    pub fn payload<O: RecordOut>(
        &mut self,
        i: usize,
        h: &Hot,
        c: &Cold,
        d: usize,
        p: &Decoded,
        payload: &[u8],
        names: &Names<'_>,
        out: &mut O,
    ) {
        let mut s = self.sess_of[i];
        if s == NO_APP {
            return;
        }
        if s == UNDECIDED {
            s = self.decide(i, h, c, d, p, payload);
            if s == NO_APP {
                return;
            }
        } else if s == DNS_IDLE || s & HTTP_IDLE != 0 {
            let Some(k) = self.free.pop() else {
                self.sh.stats.sessions_full += 1;
                return;
            };
            let slot = &mut self.sessions[k as usize];
            if s == DNS_IDLE {
                open(slot, [Dir::default(); 2], Fresh::Dns { tcp: false });
            } else {
                // At rest, both directions were at a message boundary at
                // the tracker's next sequence numbers.
                let mut dirs = [Dir::default(); 2];
                for (dd, dir) in dirs.iter_mut().enumerate() {
                    dir.start(h.nextseq[dd], false);
                }
                let (max_open, depth) = (self.sh.cfg.max_open, s & !HTTP_IDLE);
                open(slot, dirs, Fresh::Http { max_open, depth });
            }
            s = k + FIRST;
            self.sess_of[i] = s;
        }
        let Self { sessions, sh, .. } = self;
        let Some(sess) = sessions[(s - FIRST) as usize].as_mut() else {
            return;
        };
        let depth = sh.cfg.depth;
        let (seg, st, mut cx) = sh.split(out, c, names, p.ts_ns);
        sess.parser.timeout(&mut cx);
        let mark = if p.proto == ipproto::TCP {
            if p.tcp_flags & tcpflag::ACK != 0 {
                sess.on_dir(1 - d, seg, depth, st, &mut cx, |dir, f| dir.ack(f, p.ack));
            }
            sess.on_dir(d, seg, depth, st, &mut cx, |dir, f| {
                dir.segment(f, p.seq, payload, p.payload_wire)
            });
            match &sess.parser {
                Parser::Http(x) => x
                    .at_rest()
                    .filter(|_| sess.dirs.iter().all(Dir::at_rest))
                    .map(|depth| HTTP_IDLE | depth.min(HTTP_IDLE - 1)),
                Parser::Dns(_) => None,
            }
        } else {
            // A datagram is a message; a truncated capture cuts it.
            if (payload.len() as u32) < p.payload_wire {
                sess.parser.gap(d, u64::from(p.payload_wire), &mut cx);
            } else {
                let _ = sess.parser.parse(d, payload, &mut cx);
            }
            matches!(&sess.parser, Parser::Dns(x) if x.idle()).then_some(DNS_IDLE)
        };
        if let Some(m) = mark {
            // At rest: the session goes back (its slot keeps the bytes,
            // for `open` to reuse), the flow keeps only `m`.
            self.free.push(s - FIRST);
            self.sess_of[i] = m;
        }
    }

    fn decide(
        &mut self,
        i: usize,
        h: &Hot,
        c: &Cold,
        d: usize,
        p: &Decoded,
        payload: &[u8],
    ) -> u32 {
        // A first segment that is not where its direction starts (it came
        // out of order) cannot be probed: the port alone decides, or the
        // next segment does.
        let syn_seen = if d == 0 { c.syn > 0 } else { c.synack > 0 };
        let at_start = p.proto != ipproto::TCP || !syn_seen || p.seq == h.nextseq[d];
        let proto = match self.select(c, d, p.proto, payload, at_start) {
            Ok(Some(proto)) => proto,
            Ok(None) => {
                self.sess_of[i] = NO_APP;
                return NO_APP;
            }
            Err(()) => return NO_APP,
        };
        let pc = match proto {
            Proto::Http => &self.sh.cfg.http,
            Proto::Dns => &self.sh.cfg.dns,
        };
        if pc.sample > 1 && !c.key.hash().is_multiple_of(u64::from(pc.sample)) {
            self.sh.stats.sampled_out += 1;
            self.sess_of[i] = NO_APP;
            return NO_APP;
        }
        let Some(k) = self.free.pop() else {
            self.sh.stats.sessions_full += 1;
            self.sess_of[i] = NO_APP;
            return NO_APP;
        };
        let mut dirs = [Dir::default(); 2];
        if p.proto == ipproto::TCP {
            // A direction whose SYN was seen starts right after it; the
            // other starts mid-stream at its first segment.
            for (dd, seen) in [(0, c.syn > 0), (1, c.synack > 0)] {
                if seen {
                    dirs[dd].start(h.nextseq[dd], false);
                }
            }
        }
        let fresh = match proto {
            Proto::Http => Fresh::Http {
                max_open: self.sh.cfg.max_open,
                depth: 0,
            },
            Proto::Dns => Fresh::Dns {
                tcp: p.proto == ipproto::TCP,
            },
        };
        open(&mut self.sessions[k as usize], dirs, fresh);
        self.sh.stats.sessions += 1;
        let s = k + FIRST;
        self.sess_of[i] = s;
        s
    }

    /// The protocol of a flow's first payload; `Err` when it cannot be
    /// told yet (decide again at the next segment).
    fn select(
        &mut self,
        c: &Cold,
        d: usize,
        proto: u8,
        payload: &[u8],
        at_start: bool,
    ) -> Result<Option<Proto>, ()> {
        let ((_, sport), (_, dport)) = endpoints(c);
        let (http, dns) = (&self.sh.cfg.http, &self.sh.cfg.dns);
        match proto {
            ipproto::TCP => {
                if http.enabled && http.tcp_ports.contains(dport) {
                    if !at_start || http::probe(d, payload, true) {
                        return Ok(Some(Proto::Http));
                    }
                    if d == 0 {
                        // A request that is not one: the server's answer
                        // (a 400, say) decides.
                        return Err(());
                    }
                    self.sh.stats.probe_failed += 1;
                    return Ok(None);
                }
                if dns.enabled && dns.tcp_ports.contains(dport) {
                    // Too few bytes to tell: the port decides.
                    if !at_start || payload.len() < dns::TCP_PROBE_BYTES || dns::probe_tcp(payload)
                    {
                        return Ok(Some(Proto::Dns));
                    }
                    self.sh.stats.probe_failed += 1;
                    return Ok(None);
                }
                if !at_start {
                    return Err(());
                }
                Ok((http.enabled && http::probe(d, payload, false)).then_some(Proto::Http))
            }
            ipproto::UDP => {
                // On DNS's ports the port decides: a junk first datagram
                // does not keep the queries after it from being logged
                // (the parser counts what does not parse).
                let on_port = dns.udp_ports.contains(dport) || dns.udp_ports.contains(sport);
                let _ = payload;
                Ok((dns.enabled && on_port).then_some(Proto::Dns))
            }
            _ => Ok(None),
        }
    }

    /// Flow `i` ends: held bytes are delivered, open transactions logged.
    pub fn end<O: RecordOut>(
        &mut self,
        i: usize,
        c: &Cold,
        now: u64,
        names: &Names<'_>,
        out: &mut O,
    ) {
        if !self.enabled() {
            return;
        }
        let s = std::mem::replace(&mut self.sess_of[i], UNDECIDED);
        if s < FIRST || s & HTTP_IDLE != 0 {
            return;
        }
        let k = (s - FIRST) as usize;
        let Self {
            sessions, free, sh, ..
        } = self;
        let Some(sess) = sessions[k].as_mut() else {
            return;
        };
        free.push(k as u32);
        let depth = sh.cfg.depth;
        let (seg, st, mut cx) = sh.split(out, c, names, now);
        for d in 0..2 {
            sess.on_dir(d, seg, depth, st, &mut cx, |dir, f| {
                dir.finish(f, c.fin[d] > 0)
            });
        }
        sess.parser.end(&mut cx);
    }

    /// Stream buffers in use (for tests and stats).
    pub fn buffers_in_use(&self) -> (usize, usize) {
        (self.sh.seg.in_use(), self.sh.txn.in_use())
    }
}
