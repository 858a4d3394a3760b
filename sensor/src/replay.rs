//! `wirelog replay`: a capture file through the same workers a live
//! capture uses.
//!
//! One worker: the worker thread reads the file itself, zero copy from the
//! mapping. Several: a dispatcher (the reader, on the control core) decodes
//! each frame, hashes the inner flow with the symmetric Toeplitz hash and
//! copies the decoded packet into the owning worker's SPSC ring, with a
//! tick marker in every ring whenever packet time crosses a second, so each
//! worker ends flows at the same stream positions as a single worker would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dataplane::capture::pcap::{PcapReader, PcapStats};
use dataplane::capture::{Batch, Capture, Poll};
use dataplane::decode::{
    DecodeConfig, DecodeStats, Decoded, Decoder, Malformed, Outcome, PayloadBuf, PayloadRef,
};
use dataplane::dedup::Dedup;
use dataplane::filter::Filter;
use dataplane::flow::{FlowConfig, KeyConfig, BYTES_PER_FLOW};
use dataplane::spsc;
use dataplane::steer::{worker_of, Toeplitz};
use dataplane::worker::{Worker, WorkerConfig, WorkerStats};

use crate::output::{self, BlockOut, OutputStats, BLOCKS_PER_WORKER, BLOCK_BYTES};

/// Frames per batch.
const BATCH: usize = 64;
/// Dispatcher ring slots per worker.
const RING_SLOTS: usize = 1024;
/// Payload bytes a ring slot carries.
const SLOT_DATA: usize = 2048;

/// Everything replay needs, resolved from the options.
pub struct Plan {
    /// Capture file.
    pub path: String,
    /// Workers.
    pub workers: usize,
    /// Budget in bytes.
    pub memory: usize,
    /// Worker settings (flows per worker filled in by [`Plan::size`]).
    pub worker: WorkerConfig,
    /// Decoder settings.
    pub decode: DecodeConfig,
    /// Filter.
    pub filter: Filter,
    /// Duplicate window, ns.
    pub dedup_ns: u64,
    /// Replay at the recorded pace.
    pub paced: bool,
    /// Core pinning.
    pub profile: Option<tuning::Profile>,
}

impl Plan {
    /// Fixed memory besides the flow tables.
    fn fixed_bytes(&self) -> usize {
        let out = self.workers * BLOCKS_PER_WORKER * BLOCK_BYTES;
        let frag = dataplane::decode::frag::FragTable::memory_bytes(
            self.decode.frag_slots,
            self.decode.frag_max_bytes,
        );
        let rings = if self.workers > 1 {
            self.workers * RING_SLOTS * std::mem::size_of::<Slot>()
        } else {
            0
        };
        // Binary, stacks, steering table and small tables.
        let base = 8 << 20;
        out + frag + rings + base
    }

    /// Sizes the flow tables from the budget.
    pub fn size(&mut self) -> Result<()> {
        let fixed = self.fixed_bytes();
        let min = fixed + self.workers * 16 * BYTES_PER_FLOW;
        if self.memory < min {
            bail!(
                "--memory {} MiB is too small for {} worker(s): at least {} MiB is needed",
                self.memory >> 20,
                self.workers,
                min.div_ceil(1 << 20)
            );
        }
        self.worker.flows = (self.memory - fixed) / BYTES_PER_FLOW / self.workers;
        Ok(())
    }
}

/// Results of a replay.
pub struct Summary {
    /// Per-worker counters.
    pub workers: Vec<WorkerStats>,
    /// Decoder counters.
    pub decode: DecodeStats,
    /// Reader counters.
    pub pcap: PcapStats,
    /// Frames filtered out.
    pub filtered: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Frames read.
    pub frames: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Output bytes.
    pub out_bytes: u64,
    /// Flows per worker.
    pub flows_per_worker: usize,
}

/// The capture side of one thread: decoder, duplicate filter, filter.
struct Front {
    dec: Decoder,
    dedup: Dedup,
    filter: Filter,
    filtered: u64,
    paced: Option<(u64, Instant)>,
    pace: bool,
}

impl Front {
    fn new(plan: &Plan) -> Result<Self> {
        Ok(Self {
            dec: Decoder::new(plan.decode.clone()).context("reassembly table")?,
            dedup: Dedup::new(plan.dedup_ns),
            filter: plan.filter.clone(),
            filtered: 0,
            paced: None,
            pace: plan.paced,
        })
    }

    /// Reads the next batch and decodes it into `out`; counts frames.
    fn next(
        &mut self,
        r: &mut PcapReader,
        batch: &mut Batch,
        out: &mut Vec<Decoded>,
        frames: &mut u64,
    ) -> Result<Poll> {
        let p = r.next_batch(batch).context("reading the capture")?;
        *frames += batch.len() as u64;
        self.decode_batch(r, batch, out);
        Ok(p)
    }

    /// Decodes a batch into `out` (tracked packets, outer tunnel packets first).
    fn decode_batch(&mut self, r: &PcapReader, batch: &Batch, out: &mut Vec<Decoded>) {
        out.clear();
        for f in batch.frames() {
            let bytes = r.frame(f);
            if self.pace {
                self.wait_for(f.ts_ns);
            }
            if self.dedup.is_duplicate(bytes, f.ts_ns) {
                continue;
            }
            let mut d = Decoded::EMPTY;
            let r = self.dec.decode(bytes, f.link, f.ts_ns, &mut d);
            for o in self.dec.outers() {
                if self.filter.pass(o) {
                    out.push(*o);
                }
            }
            if r != Outcome::Packet {
                continue;
            }
            if self.filter.pass(&d) {
                out.push(d);
            } else {
                self.filtered += 1;
            }
        }
    }

    fn wait_for(&mut self, ts: u64) {
        let (t0, w0) = *self.paced.get_or_insert((ts, Instant::now()));
        let due = Duration::from_nanos(ts.saturating_sub(t0));
        let el = w0.elapsed();
        if due > el + Duration::from_micros(200) {
            std::thread::sleep(due - el);
        }
    }
}

/// A dispatcher ring slot: a decoded packet and its payload, or a tick.
#[derive(Clone, Copy)]
struct Slot {
    tick: u64,
    dec: Decoded,
    len: u16,
    data: [u8; SLOT_DATA],
}

fn pin(profile: &Option<tuning::Profile>, core: impl Fn(&tuning::Profile) -> usize) {
    if let Some(p) = profile {
        let id = core(p);
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            eprintln!("wirelog: warning: could not pin a thread to core {id}");
        }
    }
}

/// Runs a replay, writing records to `sink`.
pub fn run(plan: Plan, sink: Box<dyn std::io::Write + Send>) -> Result<Summary> {
    let start = Instant::now();
    let mut reader = PcapReader::open(&plan.path)?;
    let (outs, lanes) = output::lanes(plan.workers, true);
    let ostats = Arc::new(OutputStats::default());
    let ost = ostats.clone();
    let oprof = plan.profile.clone();
    let writer = std::thread::Builder::new()
        .name("wl-output".into())
        .spawn(move || {
            pin(&oprof, |p| p.control_core);
            output::run(lanes, sink, ost)
        })?;
    let flows_per_worker = plan.worker.flows;
    let (workers, front, frames) = if plan.workers == 1 {
        single(&plan, &mut reader, outs)?
    } else {
        dispatched(&plan, &mut reader, outs)?
    };
    let wres = writer
        .join()
        .map_err(|_| anyhow::anyhow!("output thread panicked"))?;
    if let Err(e) = wres {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing records");
        }
    }
    Ok(Summary {
        workers,
        decode: front.dec.stats,
        pcap: reader.stats(),
        filtered: front.filtered,
        duplicates: front.dedup.dropped,
        frames,
        elapsed: start.elapsed(),
        out_bytes: ostats.bytes.load(std::sync::atomic::Ordering::Relaxed),
        flows_per_worker,
    })
}

type Ran = (Vec<WorkerStats>, Front, u64);

fn single(plan: &Plan, reader: &mut PcapReader, mut outs: Vec<BlockOut>) -> Result<Ran> {
    let mut out = outs.pop().context("no output lane")?;
    let prof = plan.profile.clone();
    std::thread::scope(|s| -> Result<Ran> {
        let h = s.spawn(move || -> Result<Ran> {
            pin(&prof, |p| p.worker_core(0));
            let mut front = Front::new(plan)?;
            let mut worker = Worker::new(plan.worker.clone()).context("flow table")?;
            let mut batch = Batch::with_capacity(BATCH);
            let mut decoded =
                Vec::with_capacity(BATCH * (1 + dataplane::decode::MAX_TUNNEL_DEPTH as usize));
            let mut frames = 0u64;
            loop {
                let p = front.next(reader, &mut batch, &mut decoded, &mut frames)?;
                worker.process(&decoded, &mut out);
                front.dec.end_batch();
                if p == Poll::End {
                    break;
                }
            }
            worker.flush_all(&mut out);
            out.finish();
            Ok((vec![worker.stats()], front, frames))
        });
        h.join()
            .map_err(|_| anyhow::anyhow!("worker thread panicked"))?
    })
}

fn dispatched(plan: &Plan, reader: &mut PcapReader, outs: Vec<BlockOut>) -> Result<Ran> {
    let n = plan.workers;
    let mut producers = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let empty = Slot {
        tick: 0,
        dec: Decoded::EMPTY,
        len: 0,
        data: [0; SLOT_DATA],
    };
    for (i, mut out) in outs.into_iter().enumerate() {
        let (p, mut c) = spsc::ring(RING_SLOTS, || empty);
        producers.push(p);
        let cfg = plan.worker.clone();
        let prof = plan.profile.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("wl-worker-{i}"))
                .spawn(move || -> Result<WorkerStats> {
                    pin(&prof, |p| p.worker_core(i));
                    let mut worker = Worker::new(cfg).context("flow table")?;
                    let mut pkts: Vec<Decoded> = Vec::with_capacity(BATCH);
                    // Tick markers and where they fell among the packets.
                    let mut ticks: Vec<(usize, u64)> = Vec::with_capacity(BATCH);
                    loop {
                        pkts.clear();
                        ticks.clear();
                        let got = c.pop_with(BATCH, |s| {
                            if s.tick != 0 {
                                ticks.push((pkts.len(), s.tick));
                            } else {
                                let mut d = s.dec;
                                d.payload = PayloadRef {
                                    buf: PayloadBuf::Frame,
                                    off: 0,
                                    len: u32::from(s.len),
                                };
                                pkts.push(d);
                            }
                        });
                        if got == 0 {
                            if c.finished() {
                                break;
                            }
                            std::thread::sleep(Duration::from_micros(20));
                            continue;
                        }
                        let mut from = 0;
                        for &(at, t) in &ticks {
                            worker.process(&pkts[from..at], &mut out);
                            worker.advance_clock(t, &mut out);
                            from = at;
                        }
                        worker.process(&pkts[from..], &mut out);
                    }
                    worker.flush_all(&mut out);
                    out.finish();
                    Ok(worker.stats())
                })?,
        );
    }
    pin(&plan.profile, |p| p.control_core);
    let mut front = Front::new(plan)?;
    let toeplitz = Toeplitz::default();
    let mut batch = Batch::with_capacity(BATCH);
    let mut decoded =
        Vec::with_capacity(BATCH * (1 + dataplane::decode::MAX_TUNNEL_DEPTH as usize));
    let mut frames = 0u64;
    let mut last_tick = 0u64;
    loop {
        let p = front.next(reader, &mut batch, &mut decoded, &mut frames)?;
        for d in &decoded {
            let tick = d.ts_ns / 1_000_000_000;
            if tick > last_tick {
                last_tick = tick;
                for prod in producers.iter_mut() {
                    while !prod.push_with(|s| s.tick = d.ts_ns.max(1)) {
                        std::thread::sleep(Duration::from_micros(20));
                    }
                }
            }
            // ICMP requests and replies steer alike: hash the mapped "ports".
            let (sp, dp) = if d.proto == 1 || d.proto == 58 {
                let (t, c, _) =
                    dataplane::community_id::icmp_ports(d.v6, d.sport as u8, d.dport as u8);
                (t, c)
            } else {
                (d.sport, d.dport)
            };
            let h = toeplitz.hash_tuple(&d.src, &d.dst, d.v6, sp, dp);
            let w = worker_of(h, n);
            let frame = &[][..];
            let payload = front.dec.payload(frame, &d.payload);
            let len = payload.len().min(SLOT_DATA);
            while !producers[w].push_with(|s| {
                s.tick = 0;
                s.dec = *d;
                s.len = len as u16;
                s.data[..len].copy_from_slice(&payload[..len]);
            }) {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
        front.dec.end_batch();
        if p == Poll::End {
            break;
        }
    }
    drop(producers);
    let mut stats = Vec::with_capacity(n);
    for h in handles {
        stats.push(
            h.join()
                .map_err(|_| anyhow::anyhow!("worker thread panicked"))??,
        );
    }
    Ok((stats, front, frames))
}

/// Builds the flow configuration from options (shared with live capture later).
pub fn flow_config(o: &crate::config::Options) -> FlowConfig {
    const S: u64 = 1_000_000_000;
    let d = FlowConfig::default();
    FlowConfig {
        key: KeyConfig {
            vlan: o.key_vlan.unwrap_or(d.key.vlan),
            tunnel: o.key_tunnel.unwrap_or(d.key.tunnel),
        },
        tcp_idle_ns: o.tcp_idle_timeout.map_or(d.tcp_idle_ns, |v| v * S),
        udp_idle_ns: o.udp_idle_timeout.map_or(d.udp_idle_ns, |v| v * S),
        icmp_idle_ns: o.icmp_idle_timeout.map_or(d.icmp_idle_ns, |v| v * S),
        other_idle_ns: o.other_idle_timeout.map_or(d.other_idle_ns, |v| v * S),
        tcp_close_ns: o.tcp_close_timeout.map_or(d.tcp_close_ns, |v| v * S),
        active_ns: o.active_timeout.map_or(d.active_ns, |v| v * S),
        ..d
    }
}

/// The summary as a JSON line (the `stats` record of a replay).
pub fn summary_json(s: &Summary, sensor: &str) -> String {
    use std::fmt::Write;
    let mut w = String::new();
    let tot = |f: fn(&WorkerStats) -> u64| s.workers.iter().map(f).sum::<u64>();
    let pkts = tot(|w| w.packets);
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let _ = write!(
        w,
        "{{\"type\":\"stats\",\"sensor\":\"{sensor}\",\"frames\":{},\"packets\":{pkts},\"ip_bytes\":{},\"records\":{},\
         \"records_dropped\":{},\"flows_created\":{},\"flows_evicted\":{},\"flows_per_worker\":{},\"filtered\":{},\
         \"duplicates\":{},\"non_ip\":{},\"tunnel_outer_packets\":{},\"pcap_truncated_tail_bytes\":{},\
         \"pcap_corrupt_at\":{},\"elapsed_s\":{:.3},\"packets_per_s\":{:.0},\"output_bytes\":{},\"workers\":{},\"malformed\":{{",
        s.frames,
        tot(|w| w.bytes),
        tot(|w| w.records),
        tot(|w| w.records_dropped),
        tot(|w| w.flows_created),
        tot(|w| w.flows_evicted),
        s.flows_per_worker,
        s.filtered,
        s.duplicates,
        s.decode.non_ip,
        s.decode.tunnel_outer,
        s.pcap.truncated_tail_bytes,
        s.pcap.corrupt_at.map_or("null".to_string(), |o| o.to_string()),
        secs,
        s.frames as f64 / secs,
        s.out_bytes,
        s.workers.len(),
    );
    let mut first = true;
    for m in Malformed::ALL {
        let n = s.decode.malformed[m as usize];
        if n > 0 {
            let _ = write!(w, "{}\"{}\":{n}", if first { "" } else { "," }, m.name());
            first = false;
        }
    }
    w.push_str("}}");
    w
}
