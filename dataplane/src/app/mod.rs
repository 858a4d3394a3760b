//! The application layer: which flows get an analyzer, the streaming
//! contract every analyzer follows, and the per-worker state they share.
//!
//! Every protocol implements one contract, [`Analyzer`], and is named in
//! one place, `registry.rs`; the options, counters, record types and
//! session pools of each come from that list.
//!
//! A flow's first payload decides its protocol ([`App::payload`]): by the
//! responder's port, confirmed by the protocol's probe (HTTP on 8081 is
//! still HTTP; a port match whose bytes are not the protocol stays a plain
//! flow), else by a probe that is sure, for protocols with a reliable
//! signature. Each protocol can be switched off, given its own port lists,
//! and sampled 1-in-N by flow hash.
//!
//! Analyzers are streaming parsers. TCP bytes reach them through the
//! reassembly of [`stream::Dir`]; a UDP datagram is one message. A parse
//! step answers with a [`Step`]. Transactions become records the analyzer
//! writes through [`Cx::record`], which adds the flow's endpoints,
//! Community ID and network-delay figures.
//!
//! Everything is sized at start ([`AppConfig::sized`]): sessions (one per
//! flow in a transaction, per protocol), parked slots (what a connection at
//! rest between transactions keeps), stream buffers (held bytes) and
//! transaction buffers (a request's fields waiting for its response).
//! Running out of any of them is counted in [`AppStats`] and the flow or
//! transaction goes on without; nothing grows.
//!
//! Protocols live in one folder each, with the same files: `parse.rs` (pure
//! parsing functions), `state.rs` (the state machine), `txn.rs` (a
//! transaction's data, which the state fills and the record reads),
//! `record.rs` (the record it writes). `template/` is the
//! folder to copy for a new one (docs/adding-a-protocol.md). Requests
//! waiting for their answers are kept in one of [`open`]'s two shapes: a
//! FIFO (answered in order) or a map by id.

pub mod analyzer;
pub mod inflate;
pub mod open;
pub mod pool;
mod registry;
mod slab;
pub mod sql;
pub mod stream;
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
use analyzer::AsSink;
use inflate::Inflate;
use pool::Pool;
use slab::{Parking, Session};
use stream::{Dir, Feed, StreamLimits, StreamStats};
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

pub use analyzer::{Analyzer, PortSet, Probe, ProtoConfig, ProtoStats, Setting, Severity};
// The registry's items, the protocols' folders among them.
pub use registry::*;

/// The most open transactions per flow `max_open` may allow.
pub const MAX_OPEN: usize = 16;

/// Settings and limits of the application layer (per worker).
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Every protocol's switches, limits and parked slots.
    pub protos: Protos,
    /// Sessions (flows in a transaction at once, of any protocol).
    pub sessions: usize,
    /// Bytes per direction an analyzer is given before it is stopped
    /// (default 0: no limit; skipped bodies do not count).
    pub depth: u64,
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
    /// (default 30 s; a protocol may have its own).
    pub txn_timeout_ns: u64,
}

impl AppConfig {
    /// Limits sized from `memory` bytes for one worker: 20 % for
    /// sessions, 30 % for stream buffers, 50 % for transaction buffers.
    /// Sessions are given back between transactions, so an HTTP
    /// transaction in flight needs a session (~2 KB) and a transaction
    /// buffer (~16 KB). A protocol whose parked state does not fit the
    /// flow's word gets parked slots from 3 % taken from the stream
    /// buffers' share, split evenly between such protocols.
    pub fn sized(memory: usize) -> Self {
        let mut c = Self {
            protos: Protos::new(),
            sessions: 0,
            depth: 0,
            stream_buffers: 0,
            stream_buffer_bytes: 16 * 1024,
            txn_buffers: 0,
            max_open: 16,
            txn_timeout_ns: 30_000_000_000,
        };
        c.resize(memory);
        c
    }

    /// Every analyzer off: flow tracking only.
    pub fn off() -> Self {
        let mut c = Self::sized(0);
        c.protos.each(|_, s| *s.enabled = false);
        c
    }

    /// Recomputes the counts for `memory` bytes, keeping the sizes.
    pub fn resize(&mut self, memory: usize) {
        let keeps = |on: bool, bytes: usize| on && bytes > 0;
        let mut parking = 0;
        registry::protocols!(registry::each_proto!({
            parking += usize::from(keeps(
                A::conf(&self.protos).enabled,
                slab::parked_bytes::<A>(),
            ));
        }));
        // Parked slots only for protocols whose parked state does not fit
        // the flow's word (PostgreSQL's, once a login named its user).
        let share = if parking > 0 { memory / 100 * 3 } else { 0 };
        let parked = share / parking.max(1);
        registry::protocols!(registry::each_proto!({
            let c = A::conf_mut(&mut self.protos);
            c.parked = match slab::parked_bytes::<A>() {
                0 => 0,
                n => (parked / n).clamp(16, slab::IN_SLOT as usize - 1),
            };
        }));
        self.sessions = (memory / 10 * 2 / slab::session_bytes()).clamp(16, INDEX as usize);
        let txn = self.txn_bytes();
        self.stream_buffers = ((memory / 10 * 3 - share) / self.stream_buffer_bytes).max(16);
        self.txn_buffers = (memory / 10 * 5 / txn).max(16);
    }

    /// What one transaction buffer holds: the most any protocol that is on
    /// asks for.
    pub fn txn_size(&self) -> txn::TxnSize {
        let mut t = txn::TxnSize { frag: 0, body: 0 };
        registry::protocols!(registry::each_proto!({
            let c = A::conf(&self.protos);
            if c.enabled {
                let s = A::txn_size(&c.limits);
                t.frag = t.frag.max(s.frag);
                t.body = t.body.max(s.body);
            }
        }));
        t
    }

    /// Bytes one transaction buffer takes.
    pub fn txn_bytes(&self) -> usize {
        self.txn_size().buffer_bytes()
    }

    /// Bytes this configuration maps.
    pub fn memory_bytes(&self) -> usize {
        let mut n = 0;
        registry::protocols!(registry::each_proto!({
            let c = A::conf(&self.protos);
            if c.enabled {
                n += c.parked * slab::parked_bytes::<A>();
            }
        }));
        n + self.sessions * slab::session_bytes()
            + self.stream_buffers * self.stream_buffer_bytes
            + self.txn_buffers * self.txn_bytes()
    }

    /// Sets protocol `p`'s limit `name` (one of its
    /// [`Analyzer::SETTINGS`]) from `value`.
    pub fn set(&mut self, p: Proto, name: &str, value: &str) -> Result<(), String> {
        registry::protocols!(registry::each_proto!({
            if A::PROTO == p {
                return A::set(&mut A::conf_mut(&mut self.protos).limits, name, value);
            }
        }));
        Err(format!("no protocol {p:?}"))
    }

    /// Protocol `p`'s share of the budget.
    pub fn share(&self, p: Proto) -> Share {
        let mut sh = Share::default();
        registry::protocols!(registry::each_proto!({
            let c = A::conf(&self.protos);
            if A::PROTO == p {
                sh = Share {
                    enabled: c.enabled,
                    parked: c.parked,
                    parked_bytes: slab::parked_bytes::<A>(),
                };
            }
        }));
        sh
    }

    /// Whether protocol `p` is on.
    pub fn enabled(&self, p: Proto) -> bool {
        let mut on = false;
        registry::protocols!(registry::each_proto!({
            if A::PROTO == p {
                on = A::conf(&self.protos).enabled;
            }
        }));
        on
    }

    /// Whether any protocol is on.
    pub fn any(&self) -> bool {
        Proto::ALL.iter().any(|&p| self.enabled(p))
    }
}

/// One protocol's share of the application layer's budget.
#[derive(Clone, Copy, Debug, Default)]
pub struct Share {
    /// The protocol is on.
    pub enabled: bool,
    /// Parked slots.
    pub parked: usize,
    /// Bytes per parked slot (0: a parked connection keeps nothing).
    pub parked_bytes: usize,
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
    /// Per protocol, in [`Proto`] order.
    pub protos: [ProtoStats; Proto::ALL.len()],
    /// Records written.
    pub records: u64,
    /// Records dropped: no output buffer.
    pub records_dropped: u64,
    /// Header lists cut at the header limits, or heads larger than a
    /// stream buffer whose rest was skipped.
    pub headers_truncated: u64,
    /// Bodies cut at the body limit.
    pub bodies_truncated: u64,
}

impl AppStats {
    /// Protocol `A`'s counters.
    #[inline]
    pub fn of<A: Registered>(&mut self) -> &mut ProtoStats {
        &mut self.protos[A::PROTO as usize]
    }

    /// Protocol `p`'s counters.
    pub fn proto(&self, p: Proto) -> &ProtoStats {
        &self.protos[p as usize]
    }

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
        for (a, b) in self.protos.iter_mut().zip(&o.protos) {
            a.add(b);
        }
        self.records += o.records;
        self.records_dropped += o.records_dropped;
        self.headers_truncated += o.headers_truncated;
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
    if let Some(f) = names.from {
        w.token("upgraded_from", f);
    }
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

/// `sess_of` values: [`UNDECIDED`], [`NO_APP`], or a protocol's tag (its
/// [`Proto`] index plus one, above [`TAG_SHIFT`]) with an index: of a
/// session, or with [`PARKED`] of a parked slot (a connection at rest
/// between transactions: it holds no session).
const UNDECIDED: u32 = 0;
const NO_APP: u32 = 1;
const TAG_SHIFT: u32 = 27;
const PARKED: u32 = 1 << 26;
const INDEX: u32 = PARKED - 1;
/// In a parked value: the protocol that handed the flow over (its index
/// plus one), above the parked state.
const FROM_SHIFT: u32 = analyzer::PACK_BITS + 1;
const PARK_VALUE: u32 = (1 << FROM_SHIFT) - 1;
const _: () = assert!(Proto::ALL.len() < 31, "the tag has 5 bits");

#[inline]
fn tag_of(p: Proto) -> u32 {
    (p as u32 + 1) << TAG_SHIFT
}

/// Makes `session` one of protocol `to` on `dirs` (a hand-over).
/// Makes `session` one of protocol `to` on `dirs`, handed over by `from`,
/// and offers it what the directions hold (the bytes after the hand-over).
#[allow(clippy::too_many_arguments)]
fn hand_over<O: RecordOut>(
    session: &mut Option<Session>,
    to: Proto,
    from: Proto,
    dirs: [Dir; 2],
    tcp: bool,
    sh: &mut Shared,
    out: &mut O,
    c: &Cold,
    names: &Names<'_>,
    now: u64,
) {
    let names = &Names {
        from: Some(from.info().name),
        ..*names
    };
    registry::protocols!(registry::each_proto!({
        if A::PROTO == to {
            slab::open::<A>(session, dirs, tcp, &sh.cfg, None);
            if let Some(Session {
                dirs,
                state,
                from: f,
            }) = session.as_mut()
            {
                *f = Some(from);
                if let Some(a) = A::state(state) {
                    let depth = sh.cfg.depth;
                    let (seg, st, mut cx) = sh.split(out, c, names, now);
                    for d in 0..2 {
                        feed(dirs, a, d, seg, depth, st, &mut cx, |dir, f| {
                            dir.resume_into(f)
                        });
                    }
                }
            }
        }
    }));
}

/// The application layer of one worker.
pub struct App {
    sessions: Vec<Option<Session>>,
    free: Vec<u32>,
    parkings: registry::Parkings,
    /// Per flow-table entry: see [`UNDECIDED`].
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
#[derive(Clone, Copy)]
pub struct Names<'a> {
    /// Sensor name.
    pub sensor: &'a str,
    /// Community ID seed.
    pub cid_seed: u16,
    /// The protocol that handed the flow over (`upgraded_from`).
    pub from: Option<&'static str>,
}

impl App {
    /// The application layer for a table of `flows` entries.
    pub fn new(cfg: AppConfig, flows: usize, huge: bool) -> std::io::Result<Self> {
        let on = cfg.any();
        let seg = Pool::new(
            if on { cfg.stream_buffers } else { 0 },
            cfg.stream_buffer_bytes,
            huge,
        )?;
        let txn = TxnPool::new(if on { cfg.txn_buffers } else { 0 }, cfg.txn_size());
        let (mut scratch, mut inflate) = (64, 0);
        registry::protocols!(registry::each_proto!({
            let c = A::conf(&cfg.protos);
            if c.enabled {
                scratch = scratch.max(A::scratch_bytes(&c.limits));
                inflate = inflate.max(A::inflate_bytes(&c.limits));
            }
        }));
        let n = if on { cfg.sessions } else { 0 };
        let mut sessions = Vec::with_capacity(n);
        sessions.resize_with(n, || None);
        Ok(Self {
            sessions,
            free: (0..n as u32).rev().collect(),
            parkings: registry::Parkings::new(&cfg),
            sess_of: HugeArray::new(if on { flows } else { 0 }, huge)?,
            sh: Shared {
                seg,
                txn,
                scratch: Vec::with_capacity(scratch),
                inflate: Inflate::new(inflate),
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
        if s <= NO_APP || s & PARKED != 0 {
            return;
        }
        if let Some(sess) = self.sessions[(s & INDEX) as usize].as_mut() {
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
            + self.free.capacity() * 4
            + self.parkings.memory_bytes()
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
    #[inline(always)]
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
        }
        let Some(&proto) = Proto::ALL.get((s >> TAG_SHIFT) as usize - 1) else {
            return;
        };
        let Self {
            sessions,
            free,
            parkings,
            sess_of,
            sh,
        } = self;
        let slot = &mut sess_of[i];
        let f = Feeding {
            h,
            c,
            d,
            p,
            payload,
            names,
        };
        let mut pool = SessionPool { sessions, free };
        registry::protocols!(
            registry::with_parking!(parkings, proto, pk => f.run(pk, &mut pool, sh, slot, s, out))
        );
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
        let tcp = p.proto == ipproto::TCP;
        let syn_seen = if d == 0 { c.syn > 0 } else { c.synack > 0 };
        let at_start = !tcp || !syn_seen || p.seq == h.nextseq[d];
        let proto = match self.select(c, d, p.proto, payload, at_start) {
            Ok(Some(proto)) => proto,
            Ok(None) => {
                self.sess_of[i] = NO_APP;
                return NO_APP;
            }
            Err(()) => return NO_APP,
        };
        let mut sample = 1;
        registry::protocols!(registry::each_proto!({
            if A::PROTO == proto {
                sample = A::conf(&self.sh.cfg.protos).sample;
            }
        }));
        if sample > 1 && !c.key.hash().is_multiple_of(u64::from(sample)) {
            self.sh.stats.sampled_out += 1;
            self.sess_of[i] = NO_APP;
            return NO_APP;
        }
        let mut dirs = [Dir::default(); 2];
        if tcp {
            // A direction whose SYN was seen starts right after it; the
            // other starts mid-stream at its first segment.
            for (dd, seen) in [(0, c.syn > 0), (1, c.synack > 0)] {
                if seen {
                    dirs[dd].start(h.nextseq[dd], false);
                }
            }
        }
        let Some(k) = self.free.pop() else {
            self.sh.stats.sessions_full += 1;
            self.sh.stats.protos[proto as usize].sessions_full += 1;
            self.sess_of[i] = NO_APP;
            return NO_APP;
        };
        let slot = &mut self.sessions[k as usize];
        registry::protocols!(registry::each_proto!({
            if A::PROTO == proto {
                slab::open::<A>(slot, dirs, tcp, &self.sh.cfg, None);
            }
        }));
        self.sh.stats.sessions += 1;
        let s = tag_of(proto) | k;
        self.sess_of[i] = s;
        s
    }

    /// The protocol of a flow's first payload; `Err` when it cannot be
    /// told yet (decide again at the next segment). On a protocol's port
    /// its probe confirms it (or waits, or refuses: counted); elsewhere a
    /// protocol whose probe is sure takes the flow.
    fn select(
        &mut self,
        c: &Cold,
        d: usize,
        proto: u8,
        payload: &[u8],
        at_start: bool,
    ) -> Result<Option<Proto>, ()> {
        let ((_, sport), (_, dport)) = endpoints(c);
        let cfg = &self.sh.cfg.protos;
        let tcp = match proto {
            ipproto::TCP => true,
            ipproto::UDP => false,
            _ => return Ok(None),
        };
        // The port's protocol refused the bytes: another protocol's sure
        // signature may still claim them (TLS to an HTTP port).
        let mut refused = None;
        let mut wait = false;
        registry::protocols!(registry::each_proto!({
            let pc = A::conf(cfg);
            // A datagram's port is the server's whichever way it goes.
            let on_port = pc.enabled
                && if tcp {
                    pc.tcp_ports.contains(dport)
                } else {
                    pc.udp_ports.contains(dport) || pc.udp_ports.contains(sport)
                };
            if on_port && refused.is_none() {
                if !at_start {
                    return Ok(Some(A::PROTO));
                }
                match A::probe(tcp, d, payload, true) {
                    Probe::Yes | Probe::Maybe => return Ok(Some(A::PROTO)),
                    // Undecided: unless another protocol is sure of these
                    // bytes, the other side's first payload decides.
                    Probe::Wait => {
                        wait = true;
                        refused = Some(A::PROTO);
                    }
                    Probe::No => {
                        self.sh.stats.probe_failed += 1;
                        refused = Some(A::PROTO);
                    }
                }
            }
        }));
        if !at_start {
            return Err(());
        }
        registry::protocols!(registry::each_proto!({
            if A::conf(cfg).enabled
                && refused != Some(A::PROTO)
                && A::probe(tcp, d, payload, false) == Probe::Yes
            {
                return Ok(Some(A::PROTO));
            }
        }));
        if wait {
            return Err(());
        }
        Ok(None)
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
        if s <= NO_APP {
            return;
        }
        let Some(&proto) = Proto::ALL.get((s >> TAG_SHIFT) as usize - 1) else {
            return;
        };
        let Self {
            sessions,
            free,
            parkings,
            sh,
            ..
        } = self;
        registry::protocols!(registry::with_parking!(parkings, proto, pk => {
            if s & PARKED != 0 {
                pk.unpark(s & PARK_VALUE);
            } else {
                end_session::<A, O>(sessions, free, sh, s & INDEX, c, now, names, out);
            }
        }));
    }

    /// Stream buffers in use (for tests and stats).
    pub fn buffers_in_use(&self) -> (usize, usize) {
        (self.sh.seg.in_use(), self.sh.txn.in_use())
    }
}

/// Session `k` (of protocol `A`) ends with its flow `c`.
#[allow(clippy::too_many_arguments)]
fn end_session<A: Registered, O: RecordOut>(
    sessions: &mut [Option<Session>],
    free: &mut Vec<u32>,
    sh: &mut Shared,
    k: u32,
    c: &Cold,
    now: u64,
    names: &Names<'_>,
    out: &mut O,
) {
    let Some(Session { dirs, state, from }) = sessions[k as usize].as_mut() else {
        return;
    };
    free.push(k);
    let Some(a) = A::state(state) else {
        return;
    };
    let depth = sh.cfg.depth;
    let names = &Names {
        from: from.map(|p| p.info().name),
        ..*names
    };
    let (seg, st, mut cx) = sh.split(out, c, names, now);
    for d in 0..2 {
        feed(dirs, a, d, seg, depth, st, &mut cx, |dir, f| {
            dir.finish(f, c.fin[d] > 0)
        });
    }
    a.end(&mut cx);
}

/// Runs `op` on direction `d`'s reassembly, feeding the session's
/// analyzer.
#[inline]
#[allow(clippy::too_many_arguments)]
fn feed<'c, A: Analyzer, O: RecordOut>(
    dirs: &mut [Dir; 2],
    a: &mut A,
    d: usize,
    pool: &mut Pool,
    depth: u64,
    stats: &mut StreamStats,
    cx: &mut Cx<'c, O>,
    op: impl FnOnce(&mut Dir, &mut Feed<'_, AsSink<'_, A>, Cx<'c, O>>),
) {
    let mut sink = AsSink(a);
    let mut f = Feed {
        pool,
        stats,
        limits: StreamLimits { depth },
        sink: &mut sink,
        cx,
        dir: d,
    };
    op(&mut dirs[d], &mut f);
}

/// The session pool, borrowed apart from the rest of [`App`].
struct SessionPool<'a> {
    sessions: &'a mut Vec<Option<Session>>,
    free: &'a mut Vec<u32>,
}

/// A packet on its way to its flow's analyzer.
struct Feeding<'a> {
    h: &'a Hot,
    c: &'a Cold,
    d: usize,
    p: &'a Decoded,
    payload: &'a [u8],
    names: &'a Names<'a>,
}

impl Feeding<'_> {
    /// Feeds the packet to the session `s` names (taking one for a parked
    /// connection), and parks the connection when it comes to rest.
    #[inline]
    fn run<A: Registered, O: RecordOut>(
        &self,
        parking: &mut Parking<A>,
        pool: &mut SessionPool<'_>,
        sh: &mut Shared,
        slot: &mut u32,
        s: u32,
        out: &mut O,
    ) {
        let Feeding {
            h,
            c,
            d,
            p,
            payload,
            names,
        } = *self;
        let tcp = p.proto == ipproto::TCP;
        let tag = s & !(PARKED | INDEX);
        let k = if s & PARKED != 0 {
            let Some(k) = pool.free.pop() else {
                // Its bytes are lost to it: resuming later at the tracker's
                // position would read mid-message. Left unanalyzed.
                sh.stats.sessions_full += 1;
                sh.stats.of::<A>().sessions_full += 1;
                parking.unpark(s & PARK_VALUE);
                *slot = NO_APP;
                return;
            };
            let parked = parking.unpark(s & PARK_VALUE);
            let from = ((s & INDEX) >> FROM_SHIFT)
                .checked_sub(1)
                .and_then(|i| Proto::ALL.get(i as usize).copied());
            // At rest, both directions were at a message boundary at the
            // tracker's next sequence numbers.
            let mut dirs = [Dir::default(); 2];
            if tcp {
                for (dd, dir) in dirs.iter_mut().enumerate() {
                    dir.start(h.nextseq[dd], false);
                }
            }
            let session = &mut pool.sessions[k as usize];
            slab::open::<A>(session, dirs, tcp, &sh.cfg, Some(parked));
            if let Some(s) = session.as_mut() {
                s.from = from;
            }
            *slot = tag | k;
            k
        } else {
            s & INDEX
        };
        let Some(Session { dirs, state, from }) = pool.sessions[k as usize].as_mut() else {
            return;
        };
        let from = *from;
        let Some(a) = A::state(state) else {
            return;
        };
        let depth = sh.cfg.depth;
        let upgraded;
        let names = match from {
            Some(f) => {
                upgraded = Names {
                    from: Some(f.info().name),
                    ..*names
                };
                &upgraded
            }
            None => names,
        };
        let rest = {
            let (seg, st, mut cx) = sh.split(out, c, names, p.ts_ns);
            a.timeout(&mut cx);
            if tcp {
                if p.tcp_flags & tcpflag::ACK != 0 {
                    feed(dirs, a, 1 - d, seg, depth, st, &mut cx, |dir, f| {
                        dir.ack(f, p.ack)
                    });
                }
                feed(dirs, a, d, seg, depth, st, &mut cx, |dir, f| {
                    dir.segment(f, p.seq, payload, p.payload_wire)
                });
                a.park().filter(|_| dirs.iter().all(Dir::at_rest))
            } else {
                // A datagram is a message; a truncated capture cuts it.
                if (payload.len() as u32) < p.payload_wire {
                    a.gap(d, u64::from(p.payload_wire), &mut cx);
                } else {
                    let _ = a.parse(d, payload, &mut cx);
                }
                a.park()
            }
        };
        // A hand-over to a protocol that is off is a clean stop.
        let next = a.handover();
        if a.done() || next.is_some_and(|to| !sh.cfg.enabled(to)) {
            let (seg, _, mut cx) = sh.split(out, c, names, p.ts_ns);
            a.end(&mut cx);
            // What the directions held is not wanted any more.
            dirs.iter_mut().for_each(|dir| dir.release(seg));
            pool.free.push(k);
            *slot = NO_APP;
            return;
        }
        if let Some(to) = next {
            // The flow goes on in another protocol: this one logs what it
            // had open, the directions deliver again from where they are.
            {
                let (_, _, mut cx) = sh.split(out, c, names, p.ts_ns);
                a.end(&mut cx);
            }
            let dirs = *dirs;
            let session = &mut pool.sessions[k as usize];
            hand_over(session, to, A::PROTO, dirs, tcp, sh, out, c, names, p.ts_ns);
            *slot = tag_of(to) | k;
            return;
        }
        if let Some(v) = rest {
            // At rest: the session goes back (its slot keeps the bytes,
            // for `open` to reuse), the flow keeps only its parked state.
            match parking.park(v) {
                Some(pk) => {
                    pool.free.push(k);
                    let from = from.map_or(0, |p| p as u32 + 1);
                    *slot = tag | PARKED | from << FROM_SHIFT | pk;
                }
                None => sh.stats.of::<A>().parked_full += 1,
            }
        }
    }
}
