//! `wirelog replay`: a capture file through the same workers a live
//! capture uses.
//!
//! One worker: the worker thread reads the file itself, zero copy from the
//! mapping. Several: a dispatcher (the reader, on the control core) decodes
//! each frame, hashes the inner flow with the symmetric Toeplitz hash and
//! copies the decoded packet into the owning worker's SPSC ring, with a
//! tick marker in every ring whenever packet time crosses a second, so each
//! worker ends flows at the same stream positions as a single worker would.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dataplane::capture::pcap::{PcapReader, PcapStats};
use dataplane::decode::DecodeStats;
use dataplane::flow::{FlowConfig, KeyConfig};
use dataplane::pipeline::{Front, Lane, OnFull, Parts, Policy, Slot, Steering};
use dataplane::spsc;
use dataplane::worker::{Worker, WorkerStats};

use crate::cores::pin_to;
use crate::outputs::thread::BlockOut;
use crate::outputs::thread::OutputEnd;
use crate::outputs::Output;
use crate::setup::Setup;

/// How often a paced replay hands partly filled output blocks over.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Dispatcher ring slots per worker.
const RING_SLOTS: usize = 1024;

/// Everything replay needs, resolved from the options.
pub struct Plan {
    /// Capture file.
    pub path: String,
    /// Replay at the recorded pace.
    pub paced: bool,
    /// Workers, budget and thread settings.
    pub s: Setup,
}

impl Plan {
    /// Sizes the flow tables from the budget.
    pub fn size(&mut self) -> Result<()> {
        let n = self.s.workers;
        let rings = if n > 1 {
            n * RING_SLOTS * std::mem::size_of::<Slot>()
        } else {
            0
        };
        // Binary, stacks, steering table and small tables: 8 MiB.
        let fixed = self.s.output_bytes() + self.s.frag_bytes() + rings + (8 << 20);
        self.s.size_flows(fixed, &format!("{n} worker(s)"))
    }
}

/// Results of a replay.
pub struct Summary {
    /// Per-worker counters.
    pub workers: Vec<WorkerStats>,
    /// CPU each worker's thread spent from its first packet to its last
    /// record (table building excluded).
    pub worker_cpu_ns: Vec<u64>,
    /// Decoder counters.
    pub decode: DecodeStats,
    /// Reader counters.
    pub pcap: PcapStats,
    /// Frames filtered out.
    pub filtered: u64,
    /// Frames whose checksums were sampled, and the bad ones.
    pub checksums: (u64, u64),
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Sessions and buffers of each worker's application layer.
    pub app_capacity: serde_json::Value,
    /// Frames read.
    pub frames: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Output bytes.
    pub outputs: OutputEnd,
    /// Flows per worker.
    pub flows_per_worker: usize,
}

/// Runs a replay, writing records to `sink`.
pub fn run(plan: Plan, sinks: Vec<Output>) -> Result<Summary> {
    let start = Instant::now();
    let reader = PcapReader::open(&plan.path)?;
    let (outs, writer) = crate::outputs::thread::start(
        plan.s.workers,
        plan.s.blocks,
        true,
        sinks,
        plan.s.control_core(),
        None,
    )?;
    let flows_per_worker = plan.s.worker.flows;
    let app_capacity = crate::stats::app_capacity(&plan.s.worker.app);
    let (ran, front, frames, reader) = if plan.s.workers == 1 {
        single(&plan, reader, outs)?
    } else {
        dispatched(&plan, reader, outs)?
    };
    let outputs = writer.finish()?;
    let (workers, worker_cpu_ns) = ran.into_iter().unzip();
    Ok(Summary {
        workers,
        worker_cpu_ns,
        decode: front.dec.stats,
        pcap: reader.stats(),
        filtered: front.filtered,
        checksums: (front.checksums_checked, front.checksums_bad),
        duplicates: front.dedup.dropped,
        frames,
        elapsed: start.elapsed(),
        outputs,
        flows_per_worker,
        app_capacity,
    })
}

/// A worker's counters and the CPU its thread spent on packets (after its
/// tables were built).
type Worked = (WorkerStats, u64);

/// Per worker, what it [`Worked`]; the front; frames read; the reader back.
type Ran = (Vec<Worked>, Front, u64, PcapReader);

/// A replay lane: the file, or rings from the dispatcher.
type ReplayLane = Lane<PcapReader, BlockOut>;

fn steering(n: usize) -> Steering {
    Steering {
        policy: if n == 1 { Policy::Local } else { Policy::Hash },
        workers: n,
        // A file waits for a busy worker: nothing is lost.
        on_full: OnFull::Wait,
        ticks: true,
    }
}

/// Runs a lane's worker to the end of its input and ends every flow; returns
/// its counters and the CPU its thread spent from its first packet, and the
/// lane's source.
fn work(
    paced: bool,
    mut lane: ReplayLane,
    frames: &mut u64,
) -> Result<(Worked, Option<(PcapReader, Front)>)> {
    let cpu0 = dataplane::sys::thread_cpu_ns();
    let mut flushed = Instant::now();
    loop {
        let r = lane.step().context("reading the capture")?;
        *frames += r.frames as u64;
        // At the recorded pace, records leave as they would live.
        if paced && flushed.elapsed() >= FLUSH_EVERY {
            lane.flush();
            flushed = Instant::now();
        }
        if r.end {
            break;
        }
        if r.work == 0 && lane.has_rings() {
            if lane.rings_finished() {
                break;
            }
            // A quiet ring at the recorded pace: records leave now.
            if paced {
                lane.flush();
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }
    let Parts { src, worker } = lane.into_parts();
    let (mut w, mut out) = worker.context("no worker")?;
    w.flush_all(&mut out);
    out.finish();
    Ok(((w.stats(), dataplane::sys::thread_cpu_ns() - cpu0), src))
}

fn single(plan: &Plan, reader: PcapReader, mut outs: Vec<BlockOut>) -> Result<Ran> {
    let out = outs.pop().context("no output lane")?;
    let core = plan.s.worker_core(0);
    std::thread::scope(|s| -> Result<Ran> {
        let h = s.spawn(move || -> Result<Ran> {
            pin_to(core);
            let front = plan.s.front(plan.paced)?;
            let worker = Worker::new(plan.s.worker.clone()).context("flow table")?;
            let lane = ReplayLane::new(
                Some((reader, front)),
                Some((0, worker, out)),
                Vec::new(),
                Vec::new(),
                steering(1),
            );
            let mut frames = 0;
            let (ran, src) = work(plan.paced, lane, &mut frames)?;
            let (reader, front) = src.context("no source")?;
            Ok((vec![ran], front, frames, reader))
        });
        h.join()
            .map_err(|_| anyhow::anyhow!("worker thread panicked"))?
    })
}

fn dispatched(plan: &Plan, reader: PcapReader, outs: Vec<BlockOut>) -> Result<Ran> {
    let n = plan.s.workers;
    let mut producers = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for (i, out) in outs.into_iter().enumerate() {
        let (p, c) = spsc::ring(RING_SLOTS, || Slot::EMPTY);
        producers.push(Some(p));
        let core = plan.s.worker_core(i);
        let cfg = plan.s.worker.clone();
        let paced = plan.paced;
        handles.push(
            std::thread::Builder::new()
                .name(format!("wl-worker-{i}"))
                .spawn(move || -> Result<Worked> {
                    pin_to(core);
                    let worker = Worker::new(cfg).context("flow table")?;
                    let lane = ReplayLane::new(
                        None,
                        Some((i, worker, out)),
                        Vec::new(),
                        vec![c],
                        steering(n),
                    );
                    Ok(work(paced, lane, &mut 0)?.0)
                })?,
        );
    }
    pin_to(plan.s.control_core());
    let front = plan.s.front(plan.paced)?;
    let mut lane = ReplayLane::new(
        Some((reader, front)),
        None,
        producers,
        Vec::new(),
        steering(n),
    );
    let mut frames = 0u64;
    loop {
        let r = lane.step().context("reading the capture")?;
        frames += r.frames as u64;
        if r.end {
            break;
        }
    }
    lane.close();
    let mut stats = Vec::with_capacity(n);
    for h in handles {
        stats.push(
            h.join()
                .map_err(|_| anyhow::anyhow!("worker thread panicked"))??,
        );
    }
    let (reader, front) = lane.into_parts().src.context("no source")?;
    Ok((stats, front, frames, reader))
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

impl Summary {
    /// What the traffic said of the mirror feed it was captured from.
    pub fn mirror_health(&self) -> crate::stats::MirrorHealth {
        crate::stats::MirrorHealth::of(self.workers.iter())
            .with_checksums(self.checksums.0, self.checksums.1)
    }
}

/// The summary as a JSON line (the `stats` record of a replay).
pub fn summary_json(s: &Summary, sensor: &str) -> String {
    let tot = |f: fn(&WorkerStats) -> u64| s.workers.iter().map(f).sum::<u64>();
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let malformed = crate::stats::malformed_json(&s.decode);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    serde_json::json!({
        "type": "stats",
        "sensor": sensor,
        "frames": s.frames,
        "packets": tot(|w| w.packets),
        "ip_bytes": tot(|w| w.bytes),
        "records": tot(|w| w.records),
        "records_dropped": tot(|w| w.records_dropped),
        "flows_created": tot(|w| w.flows_created),
        "flows_evicted": tot(|w| w.flows_evicted),
        "flows_per_worker": s.flows_per_worker,
        "app_per_worker": s.app_capacity,
        "filtered": s.filtered,
        "duplicates": s.duplicates,
        "non_ip": s.decode.non_ip,
        "tunnel_outer_packets": s.decode.tunnel_outer,
        "not_decoded": s.decode.unsupported_words(),
        "pcap_truncated_tail_bytes": s.pcap.truncated_tail_bytes,
        "pcap_corrupt_at": s.pcap.corrupt_at,
        "elapsed_s": round(secs),
        "packets_per_s": (s.frames as f64 / secs).round(),
        "records_per_s": (tot(|w| w.records) as f64 / secs).round(),
        "output_bytes": s.outputs.sinks.iter().map(|(_, o)| o.bytes).sum::<u64>(),
        "outputs": crate::outputs::thread::sinks_json(&s.outputs.sinks),
        "output_cpu_s": s.outputs.cpu_s,
        "record_latency_us": s.outputs.latency.json(),
        "peak_rss_bytes": dataplane::sys::peak_rss_bytes(),
        "workers": s.workers.len(),
        "worker_cpu_s": s.worker_cpu_ns.iter().map(|&n| round(n as f64 / 1e9)).collect::<Vec<_>>(),
        "app": crate::stats::app_json(&crate::stats::app_total(s.workers.iter())),
        "malformed": malformed,
        "mirror_health": s.mirror_health().json(),
    })
    .to_string()
}
