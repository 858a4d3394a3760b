//! The flow-tracking half of a worker: decoded packets in, records out.
//!
//! [`Worker::process`] works a batch in three stages (DESIGN.md): compute
//! every packet's key and hash and prefetch its bucket; look every flow up
//! and prefetch its entry; then update. Time is packet time: the worker's
//! clock advances when a packet crosses a one-second tick, and before that
//! packet is counted the flows that are due are ended. Replay with a
//! dispatcher delivers the same tick crossings in band, so the records are
//! the same for any number of workers.

use crate::app::{App, AppConfig, AppStats, Names};
use crate::decode::{ipproto, tcpflag, Decoded};
use crate::flow::record::write_flow;
use crate::flow::table::{FlowTable, NIL};
use crate::flow::tcp::{self, endpoint_state, zs, Seg};
use crate::flow::{cf, Cold, FlowConfig, FlowKey, Hot, Reason};
use crate::record::json::JsonWriter;
use crate::record::RecordOut;

/// Worker settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Flow tracking.
    pub flow: FlowConfig,
    /// Flows this worker's table holds.
    pub flows: usize,
    /// Map the table with huge pages.
    pub huge_pages: bool,
    /// Sensor name written in records.
    pub sensor: String,
    /// Community ID seed.
    pub cid_seed: u16,
    /// Emit flow records (else only count flows).
    pub emit_flows: bool,
    /// Largest batch [`Worker::process`] stages at once ([`STAGE`]).
    pub batch: usize,
    /// Application analyzers.
    pub app: AppConfig,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            flow: FlowConfig::default(),
            flows: 1 << 16,
            huge_pages: true,
            sensor: "wirelog".into(),
            cid_seed: 0,
            emit_flows: true,
            batch: STAGE,
            app: AppConfig::sized(16 << 20),
        }
    }
}

/// Packets staged at once. The lookup stage prefetches up to five lines a
/// packet (bucket, entry, session handle): at 64 packets that is some 300
/// lines asked for at once, more than a core keeps in flight, and `perf`
/// found the update stage waiting on entries it had prefetched. 32 took
/// 0.974 of 64's time in memory mode (30 paired runs) and 0.981 replaying
/// the file (20 paired runs).
pub const STAGE: usize = 32;

/// Counters of one worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Packets tracked.
    pub packets: u64,
    /// IP bytes tracked.
    pub bytes: u64,
    /// Records written (flows and transactions).
    pub records: u64,
    /// Records dropped: no output buffer free.
    pub records_dropped: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows evicted from a full table.
    pub flows_evicted: u64,
    /// Flows in the table now.
    pub flows_active: u64,
    /// Flow table capacity.
    pub flows_capacity: u64,
    /// The application layer (its records are in `records` too).
    pub app: AppStats,
    /// What TCP's acknowledgments say of the mirror feed.
    pub health: tcp::Health,
    /// TCP flows ended, and of those the ones seen in one direction only
    /// (not counting unanswered SYNs, which are one-sided by nature): a
    /// mirror that carries one direction, or an oversubscribed SPAN port,
    /// shows here.
    pub tcp_flows_ended: u64,
    pub tcp_one_sided: u64,
}

/// Where the worker finds each packet's captured payload.
pub trait Payloads {
    /// The payload of packet `k` of the slice given to [`Worker::process`].
    fn payload(&self, k: usize, d: &Decoded) -> &[u8];
    /// Called three times per packet, once in each pass over a stage:
    /// passes [`crate::capture::Capture::warm`] on to the frames' source.
    #[inline]
    fn warm(&self) {}
}

/// No payload bytes at hand (flow tracking only).
pub struct NoPayloads;

impl Payloads for NoPayloads {
    fn payload(&self, _k: usize, _d: &Decoded) -> &[u8] {
        &[]
    }
}

/// Payloads copied into one buffer, addressed by each packet's
/// `payload.off`/`len` (what a steering ring's slots become).
pub struct FlatPayloads<'a>(pub &'a [u8]);

impl Payloads for FlatPayloads<'_> {
    fn payload(&self, _k: usize, d: &Decoded) -> &[u8] {
        let (o, n) = (d.payload.off as usize, d.payload.len as usize);
        self.0.get(o..o + n).unwrap_or(&[])
    }
}

struct Staged {
    key: FlowKey,
    hash: u64,
    fwd: bool,
    idx: Option<usize>,
}

/// Flow tracking for one worker.
pub struct Worker {
    table: FlowTable,
    app: App,
    cfg: WorkerConfig,
    stats: WorkerStats,
    stage: Vec<Staged>,
}

impl Worker {
    /// A worker with its table allocated.
    pub fn new(cfg: WorkerConfig) -> std::io::Result<Self> {
        let table = FlowTable::new(cfg.flows, cfg.huge_pages)?;
        let app = App::new(cfg.app.clone(), table.capacity(), cfg.huge_pages)?;
        let stage = Vec::with_capacity(cfg.batch.max(1));
        Ok(Self {
            table,
            app,
            cfg,
            stats: WorkerStats::default(),
            stage,
        })
    }

    /// Counters.
    pub fn stats(&self) -> WorkerStats {
        let mut s = self.stats;
        s.flows_active = self.table.stats.active;
        s.flows_created = self.table.stats.created;
        s.flows_capacity = self.table.capacity() as u64;
        s.app = self.app.stats();
        s.records += s.app.records;
        s.records_dropped += s.app.records_dropped;
        s
    }

    /// Whether application analyzers run (payloads are wanted).
    pub fn app_enabled(&self) -> bool {
        self.app.enabled()
    }

    /// Stream and transaction buffers in use.
    pub fn app_buffers_in_use(&self) -> (usize, usize) {
        self.app.buffers_in_use()
    }

    /// Counters of the application layer.
    pub fn app_stats(&self) -> AppStats {
        self.app.stats()
    }

    /// Bytes the flow table maps.
    pub fn table_bytes(&self) -> usize {
        self.table.memory_bytes()
    }

    /// Bytes the application layer holds.
    pub fn app_bytes(&self) -> usize {
        self.app.memory_bytes()
    }

    /// Tracks a batch of packets; `pay` gives their payloads to the
    /// application analyzers.
    pub fn process(&mut self, pkts: &[Decoded], pay: &impl Payloads, out: &mut impl RecordOut) {
        let cap = self.stage.capacity();
        for (ci, chunk) in pkts.chunks(cap).enumerate() {
            self.stage.clear();
            for p in chunk {
                let (key, fwd) = FlowKey::of(p, self.cfg.flow.key);
                let hash = key.hash();
                self.table.prefetch_bucket(hash);
                pay.warm();
                self.stage.push(Staged {
                    key,
                    hash,
                    fwd,
                    idx: None,
                });
            }
            let app = self.app.enabled();
            for (s, p) in self.stage.iter_mut().zip(chunk) {
                // Tags only: reading the key now would stall on its line.
                s.idx = self.table.candidate(s.hash);
                pay.warm();
                if let Some(i) = s.idx {
                    self.table.prefetch_entry(i);
                    if app && p.payload_wire > 0 {
                        self.app.prefetch(i);
                    }
                }
            }
            let base = ci * cap;
            // Borrowed in place rather than each key copied out.
            let stage = std::mem::take(&mut self.stage);
            for (k, (p, s)) in chunk.iter().zip(&stage).enumerate() {
                let bytes = if app && p.payload_wire > 0 {
                    pay.payload(base + k, p)
                } else {
                    &[]
                };
                pay.warm();
                self.packet(p, bytes, &s.key, s.hash, s.fwd, s.idx, out);
            }
            self.stage = stage;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        p: &Decoded,
        payload: &[u8],
        key: &FlowKey,
        hash: u64,
        fwd: bool,
        hint: Option<usize>,
        out: &mut impl RecordOut,
    ) {
        let tick = p.ts_ns / 1_000_000_000;
        if self.table.now_tick().is_none_or(|t| tick > t) {
            self.advance_clock(p.ts_ns, out);
        }
        self.stats.packets += 1;
        self.stats.bytes += u64::from(p.ip_len);
        // Validate the staged lookup: an earlier packet of the batch may
        // have created, ended or evicted flows.
        let mut idx = match hint {
            Some(i) if self.table.occupied(i) && self.table.entry_ref(i).1.key == *key => Some(i),
            _ => self.table.lookup(key, hash),
        };
        if let Some(i) = idx {
            let (h, c) = self.table.entry_ref(i);
            let d = dir_of(c, fwd);
            if p.ts_ns >= idle_deadline(&self.cfg.flow, h, c) {
                let r = end_reason(h, c);
                self.end(i, r, out);
                idx = None;
            } else if key.proto == ipproto::TCP && is_reuse(&self.cfg.flow, h, c, d, p) {
                self.end(i, Reason::Reused, out);
                idx = None;
            }
        }
        let i = match idx {
            Some(i) => i,
            None => {
                let (i, victim) = self.table.claim(hash);
                if victim {
                    self.stats.flows_evicted += 1;
                    self.table.stats.evicted += 1;
                    self.end(i, Reason::Evicted, out);
                }
                self.create(i, hash, key, fwd, p);
                i
            }
        };
        let cfg = &self.cfg.flow;
        let (h, c) = self.table.entry(i);
        let d = dir_of(c, fwd);
        let both_closed =
            c.flags & (cf::CLOSED_ORIG | cf::CLOSED_RESP) == (cf::CLOSED_ORIG | cf::CLOSED_RESP);
        if p.payload_wire > 0 && self.app.enabled() {
            // Before the tracker: a direction starts after its SYN.
            let names = Names {
                sensor: &self.cfg.sensor,
                cid_seed: self.cfg.cid_seed,
                from: None,
            };
            self.app.payload(i, h, c, d, p, payload, &names, out);
        }
        h.pkts[d] = h.pkts[d].saturating_add(1);
        h.bytes[d] += u64::from(p.ip_len);
        let t = (p.ts_ns / 1000) as u32;
        match key.proto {
            ipproto::TCP => {
                if !both_closed {
                    h.last_ns = h.last_ns.max(p.ts_ns);
                }
                let seg = Seg {
                    flags: p.tcp_flags,
                    seq: p.seq,
                    ack: p.ack,
                    win: p.win,
                    len: p.payload_wire,
                    t,
                };
                let restart = tcp::synack_restarts(h, d, &seg);
                tcp::track(h, c, d, &seg, &mut self.stats.health);
                if restart && self.app.enabled() {
                    self.app.restart(i, d, seg.seq.wrapping_add(1));
                }
            }
            ipproto::UDP => {
                h.last_ns = h.last_ns.max(p.ts_ns);
                tcp::history_once(c, d, b'D');
                if p.payload_wire > 0 {
                    tcp::app_data(c, d, t);
                }
            }
            _ => h.last_ns = h.last_ns.max(p.ts_ns),
        }
        // Flows reach the wheel once; a later, earlier deadline (a close)
        // is enforced at lookup time and when the wheel list comes due.
        if c.flags & cf::IN_WHEEL == 0 {
            let dl = next_deadline(cfg, h, c);
            self.table.schedule(i, dl);
        }
    }

    fn create(&mut self, i: usize, hash: u64, key: &FlowKey, fwd: bool, p: &Decoded) {
        let cfg = &self.cfg.flow;
        let flip = match key.proto {
            ipproto::TCP => {
                let f = p.tcp_flags;
                let sp = &cfg.server_ports;
                if f & tcpflag::SYN != 0 && f & tcpflag::ACK != 0 {
                    // A SYN-ACK's sender is the responder.
                    true
                } else if f & tcpflag::SYN == 0 && sp.contains(key.proto, p.sport) {
                    !sp.contains(key.proto, p.dport) || p.sport < p.dport
                } else {
                    false
                }
            }
            ipproto::UDP => {
                cfg.server_ports.contains(key.proto, p.sport)
                    && !cfg.server_ports.contains(key.proto, p.dport)
            }
            _ => false,
        };
        let (h, c) = self.table.occupy(i, hash, key);
        c.first_ns = p.ts_ns;
        h.last_ns = p.ts_ns;
        // The originator is the packet's source unless flipped.
        let orig_is_b = fwd == flip;
        if orig_is_b {
            c.flags |= cf::ORIG_IS_B;
        }
        if p.has_mac {
            let (o, r) = if flip {
                (p.dst_mac, p.src_mac)
            } else {
                (p.src_mac, p.dst_mac)
            };
            c.macs[..6].copy_from_slice(&o);
            c.macs[6..].copy_from_slice(&r);
        }
        c.set_tunnel(p.tunnel as u8);
        c.tunnel_id = p.tunnel_id;
        if flip {
            tcp::push_history(c, b'^');
        }
    }

    /// Emits entry `i`'s record and frees it.
    fn end(&mut self, i: usize, reason: Reason, out: &mut impl RecordOut) {
        {
            let (h, c) = self.table.entry_ref(i);
            if c.key.proto == ipproto::TCP {
                self.stats.tcp_flows_ended += 1;
                let only_syns = h.pkts[1] == 0 && u32::from(c.syn) >= h.pkts[0];
                if (h.pkts[0] == 0 || h.pkts[1] == 0) && !only_syns {
                    self.stats.tcp_one_sided += 1;
                }
            }
        }
        if self.app.enabled() {
            let (h, c) = self.table.entry_ref(i);
            let names = Names {
                sensor: &self.cfg.sensor,
                cid_seed: self.cfg.cid_seed,
                from: None,
            };
            self.app.end(i, c, h.last_ns, &names, out);
        }
        self.emit(i, reason, out);
        self.table.free(i);
    }

    fn emit(&mut self, i: usize, reason: Reason, out: &mut impl RecordOut) {
        if !self.cfg.emit_flows {
            return;
        }
        let (h, c) = self.table.entry_ref(i);
        match out.buffer() {
            Some(buf) => {
                let mut w = JsonWriter::new(buf);
                write_flow(&mut w, h, c, reason, &self.cfg.sensor, self.cfg.cid_seed);
                w.finish();
                self.stats.records += 1;
            }
            None => self.stats.records_dropped += 1,
        }
    }

    /// Advances packet time to `now_ns`, ending or reporting due flows.
    pub fn advance_clock(&mut self, now_ns: u64, out: &mut impl RecordOut) {
        for t in self.table.advance(now_ns) {
            let mut i = self.table.take_list(t);
            while i != NIL {
                let next = self.table.unlist(i);
                // The list is a chain through the entries: start loading
                // the next one while this one is handled.
                if next != NIL {
                    self.table.prefetch_entry(next as usize);
                }
                self.on_timer(i as usize, now_ns, out);
                i = next;
            }
        }
    }

    fn on_timer(&mut self, i: usize, now_ns: u64, out: &mut impl RecordOut) {
        if !self.table.occupied(i) {
            return;
        }
        let cfg = &self.cfg.flow;
        let (h, c) = self.table.entry_ref(i);
        if now_ns >= idle_deadline(cfg, h, c) {
            let r = end_reason(h, c);
            self.end(i, r, out);
            return;
        }
        if cfg.active_ns > 0 && now_ns >= active_deadline(cfg, c) {
            self.emit(i, Reason::Active, out);
            let (_, c) = self.table.entry(i);
            c.reports = c.reports.saturating_add(1);
        }
        let (h, c) = self.table.entry_ref(i);
        let dl = next_deadline(&self.cfg.flow, h, c);
        self.table.schedule(i, dl);
    }

    /// Ends every flow (capture over, or shutdown) and flushes the output.
    pub fn flush_all(&mut self, out: &mut impl RecordOut) {
        let live: Vec<usize> = self.table.occupied_indices().collect();
        for i in live {
            let (h, c) = self.table.entry_ref(i);
            let r = match end_reason(h, c) {
                Reason::Idle => Reason::Shutdown,
                r => r,
            };
            self.end(i, r, out);
        }
        out.flush();
    }
}

#[inline]
fn dir_of(c: &Cold, fwd: bool) -> usize {
    usize::from(fwd == (c.flags & cf::ORIG_IS_B != 0))
}

fn end_reason(h: &Hot, c: &Cold) -> Reason {
    if c.key.proto == ipproto::TCP && c.flags & cf::CLOSE_DONE != 0 {
        if endpoint_state(h, 0) == zs::RESET || endpoint_state(h, 1) == zs::RESET {
            Reason::Rst
        } else {
            Reason::Fin
        }
    } else {
        Reason::Idle
    }
}

/// When the flow ends if no packet comes (Zeek's timers).
pub fn idle_deadline(cfg: &FlowConfig, h: &Hot, c: &Cold) -> u64 {
    match c.key.proto {
        ipproto::TCP => {
            let (os, rs) = (endpoint_state(h, 0), endpoint_state(h, 1));
            let hs = |s| s == zs::INACTIVE || s == zs::SYN_SENT || s == zs::SYN_ACK_SENT;
            if c.flags & cf::CLOSE_DONE != 0 {
                h.last_ns + cfg.tcp_close_ns
            } else if (os == zs::SYN_SENT || os == zs::SYN_ACK_SENT) && rs == zs::INACTIVE {
                c.first_ns + cfg.tcp_attempt_ns
            } else if hs(os) && hs(rs) {
                h.last_ns + cfg.tcp_handshake_idle_ns
            } else {
                h.last_ns + cfg.tcp_idle_ns
            }
        }
        ipproto::UDP => h.last_ns + cfg.udp_idle_ns,
        ipproto::ICMP | ipproto::ICMPV6 => h.last_ns + cfg.icmp_idle_ns,
        _ => h.last_ns + cfg.other_idle_ns,
    }
}

fn active_deadline(cfg: &FlowConfig, c: &Cold) -> u64 {
    c.first_ns + (u64::from(c.reports) + 1) * cfg.active_ns
}

fn next_deadline(cfg: &FlowConfig, h: &Hot, c: &Cold) -> u64 {
    let idle = idle_deadline(cfg, h, c);
    if cfg.active_ns > 0 {
        idle.min(active_deadline(cfg, c))
    } else {
        idle
    }
}

/// Zeek's `IsReuse`: a SYN that starts a new connection on these endpoints.
/// After a close, a SYN repeating the originator's initial sequence number
/// is the old connection's SYN retransmitted (or duplicated by the mirror),
/// unless the close is older than the close timeout.
fn is_reuse(cfg: &FlowConfig, h: &Hot, c: &Cold, d: usize, p: &Decoded) -> bool {
    let f = p.tcp_flags;
    if f & tcpflag::SYN == 0 {
        return false;
    }
    let mut conn_orig = 0;
    if f & tcpflag::ACK != 0 {
        if endpoint_state(h, 0) != zs::INACTIVE {
            return false;
        }
        conn_orig = 1;
    }
    if c.flags & (cf::CLOSED_ORIG | cf::CLOSED_RESP) != 0 {
        let same = conn_orig == 0 && d == 0 && c.syn > 0 && p.seq == c.isn;
        return !same || p.ts_ns >= h.last_ns.saturating_add(cfg.tcp_close_ns);
    }
    let st = endpoint_state(h, conn_orig);
    if d != conn_orig || !(st == zs::SYN_SENT || st == zs::SYN_ACK_SENT) {
        return false;
    }
    // A retransmitted SYN has the same sequence number.
    p.seq.wrapping_add(1) != h.nextseq[conn_orig]
}
