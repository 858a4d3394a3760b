//! `wirelog bench memory`: the dataplane's ceiling per core.
//!
//! Traffic goes straight into N pinned workers, no capture source and no
//! dispatcher in between: worker i reads the copies `k ≡ i (mod N)` of some
//! traces ([`crate::mix::MemCapture`]), each batch written into a small
//! buffer that stays in the cache, as a capture ring's frames would be.
//! The worker then runs exactly what a live worker runs (a
//! [`dataplane::pipeline::Lane`]): decode, flow tracking, the analyzers
//! and record writing into its output; the caller's output thread ships
//! the records to the configured sinks.
//!
//! Two figures come out per worker. The worker's own CPU (decode through
//! record writing) gives packets/s and Gbit/s per core, the dataplane
//! ceiling. The time spent making the batches (the copy with its address
//! rewrite, what a capture ring costs the kernel or the NIC) is measured
//! apart and reported, not hidden. End to end is wall time from the first
//! packet until the output thread has shipped every record (building the
//! tables is `setup_s`).

use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dataplane::capture::Capture;
use dataplane::pipeline::{Front, OnFull, Policy, Steering, BATCH};
use dataplane::record::RecordOut;
use dataplane::sys::thread_cpu_ns;
use dataplane::worker::{Worker, WorkerStats};
use serde_json::Value;

use super::{generated_json, r3, WIRE_OVERHEAD};
use crate::mix::{Copies, Limited, MemCapture, Traces};
use crate::profile::{Generated, Generator, Profile, VERSION};

/// Where a memory-mode run's frames come from.
pub enum Input {
    /// Copies of capture files' Ethernet/IPv4 frames.
    Traces {
        /// Their frames, loaded.
        traces: Traces,
        /// How many files they came from.
        files: usize,
        /// Copies of every frame (1..=256), spread over the workers.
        copies: u32,
    },
    /// A generator profile.
    Profile(Gen),
}

/// A generator profile's parameters ([`benches::profile`]).
pub struct Gen {
    /// Which.
    pub profile: Profile,
    /// Flows (or conversations open at once), split over the workers.
    pub flows: u32,
    /// Frames in all, split over the workers.
    pub packets: u64,
    /// Frames per second of packet time (timestamps, not pacing).
    pub rate: u64,
    /// Seed; worker i uses seed + i.
    pub seed: u64,
}

impl Gen {
    /// Worker `i` of `n`'s share: its own flow numbers, seed and frames.
    fn lane(&self, i: usize, n: usize) -> Limited {
        let share = (self.flows / n as u32).max(1);
        let first = (i as u32).wrapping_mul(share.next_power_of_two().max(1 << 24));
        let g = Generator::new(self.profile, share, first, self.rate, self.seed + i as u64);
        let left = self.packets / n as u64 + u64::from((i as u64) < self.packets % n as u64);
        Limited { g, left }
    }
}

/// What a worker thread does first, given its index: pin itself and build
/// its front and flow table (the caller's settings and budget).
pub type Start<'a> = dyn Fn(usize) -> Result<(Front, Worker)> + Sync + 'a;

/// One worker's share of a run.
pub struct Lane {
    /// Its worker's counters.
    pub stats: WorkerStats,
    frames: u64,
    frame_bytes: u64,
    /// CPU from decode through record writing.
    worker_ns: u64,
    /// CPU making the batches.
    source_ns: u64,
    /// When its tables were built and the first batch was asked for.
    started: Instant,
    /// What its generator produced (profiles only).
    made: Generated,
    /// Batches asked for, and those that brought frames.
    polls: u64,
    busy: u64,
}

/// A run's lanes, and when it started (before any table was built).
pub struct Ran {
    /// Per worker.
    pub lanes: Vec<Lane>,
    /// When the run started.
    pub start: Instant,
}

/// Runs `input` through one lane per output in `outs`, each worker thread
/// made ready by `start`; returns when every worker has written its last
/// record into its output.
pub fn run<O: RecordOut + Send>(input: &Input, outs: Vec<O>, start: &Start<'_>) -> Result<Ran> {
    let n = outs.len();
    let t0 = Instant::now();
    let ready = Barrier::new(n);
    let lanes = std::thread::scope(|sc| -> Result<Vec<Lane>> {
        let handles: Vec<_> = outs
            .into_iter()
            .enumerate()
            .map(|(i, out)| {
                let ready = &ready;
                std::thread::Builder::new()
                    .name(format!("wl-worker-{i}"))
                    .spawn_scoped(sc, move || -> Result<Lane> {
                        let parts = || start(i);
                        match input {
                            Input::Traces {
                                traces: t, copies, ..
                            } => match Copies::new(t, *copies, i as u32, n as u32) {
                                Ok(src) => {
                                    Ok(lane(MemCapture::new(src, BATCH), out, parts, ready)?.0)
                                }
                                Err(e) => {
                                    ready.wait();
                                    Err(e)
                                }
                            },
                            Input::Profile(g) => {
                                let cap = MemCapture::new(g.lane(i, n), BATCH);
                                let (mut l, cap) = lane(cap, out, parts, ready)?;
                                l.made = cap.src.g.made;
                                Ok(l)
                            }
                        }
                    })
            })
            .collect::<std::io::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("worker thread panicked"))?
            })
            .collect()
    })?;
    Ok(Ran { lanes, start: t0 })
}

/// One worker: what a live worker runs, on frames from `src`; returns the
/// source back.
fn lane<C: Capture, O: RecordOut>(
    src: C,
    out: O,
    parts: impl FnOnce() -> Result<(Front, Worker)>,
    ready: &Barrier,
) -> Result<(Lane, C)> {
    let setup = parts();
    // Every worker starts its first batch together (a failed one too, so
    // none waits for it), so end to end counts no worker's table building.
    ready.wait();
    let (front, worker) = setup?;
    let steer = Steering {
        policy: Policy::Local,
        workers: 1,
        on_full: OnFull::Wait,
        ticks: false,
    };
    let mut l = dataplane::pipeline::Lane::new(
        Some((src, front)),
        Some((0, worker, out)),
        Vec::new(),
        Vec::new(),
        steer,
    );
    let mut lane = Lane {
        stats: WorkerStats::default(),
        frames: 0,
        frame_bytes: 0,
        worker_ns: 0,
        source_ns: 0,
        started: Instant::now(),
        made: Generated::default(),
        polls: 0,
        busy: 0,
    };
    // The thread's CPU clock is a system call (about 0.6 µs here): read
    // per batch it would cost the worker ~10 ns a frame and disturb its
    // caches. It is read once at each end, and the monotonic clock (vDSO)
    // splits the time between making batches and processing them; a
    // preemption falls on either side in proportion to its length.
    let cpu0 = thread_cpu_ns();
    let (mut source_wall, mut worker_wall) = (Duration::ZERO, Duration::ZERO);
    let mut t = Instant::now();
    loop {
        let (frames, end) = l.poll().map_err(|e| anyhow::anyhow!("frame source: {e}"))?;
        let t1 = Instant::now();
        source_wall += t1 - t;
        lane.polls += 1;
        lane.busy += u64::from(frames > 0);
        lane.frames += frames as u64;
        lane.frame_bytes += l
            .batch()
            .frames()
            .iter()
            .map(|f| u64::from(f.cap_len))
            .sum::<u64>();
        l.process();
        t = Instant::now();
        worker_wall += t - t1;
        if end {
            break;
        }
    }
    let parts = l.into_parts();
    let ((src, _), (mut worker, mut out)) = parts
        .src
        .zip(parts.worker)
        .context("a lane without its parts")?;
    worker.flush_all(&mut out);
    out.flush();
    worker_wall += t.elapsed();
    let cpu = thread_cpu_ns().saturating_sub(cpu0);
    let wall = (source_wall + worker_wall).as_nanos().max(1);
    lane.worker_ns = (u128::from(cpu) * worker_wall.as_nanos() / wall) as u64;
    lane.source_ns = cpu - lane.worker_ns;
    lane.stats = worker.stats();
    Ok((lane, src))
}

/// What the caller's side says of a run, for its report: the output
/// thread's figures, and the application layer's.
pub struct Shipped {
    /// Records every sink delivered (the fewest of any sink).
    pub records_delivered: u64,
    /// CPU seconds of the output thread.
    pub output_cpu_s: f64,
    /// Record latency, packet seen to record out.
    pub record_latency_us: Value,
    /// Every sink's counters.
    pub outputs: Value,
    /// The analyzers' counters, all workers together.
    pub app: Value,
    /// Sessions and buffers of each worker's application layer.
    pub app_per_worker: Value,
    /// Flow table entries per worker.
    pub flows_per_worker: usize,
}

/// The report of a run: per core, per worker and end to end (from the
/// first packet until now: call it once the outputs have shipped every
/// record).
pub fn report(input: &Input, ran: &Ran, o: &Shipped) -> Value {
    let lanes = &ran.lanes;
    // From the first packet: building and prefaulting the tables is
    // reported apart.
    let first = lanes.iter().map(|l| l.started).min().unwrap_or(ran.start);
    let setup_s = first.duration_since(ran.start).as_secs_f64();
    let wall_s = first.elapsed().as_secs_f64();
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let per_worker: Vec<_> = lanes
        .iter()
        .map(|l| {
            let s = (l.worker_ns as f64 / 1e9).max(1e-9);
            serde_json::json!({
                "frames": l.frames,
                "frame_bytes": l.frame_bytes,
                "worker_cpu_s": r3(s),
                "source_cpu_s": r3(l.source_ns as f64 / 1e9),
                "ns_per_frame": r1(l.worker_ns as f64 / l.frames.max(1) as f64),
                "frames_per_s": (l.frames as f64 / s).round(),
                "gbit_per_s": r3(l.frame_bytes as f64 * 8.0 / s / 1e9),
                "gbit_per_s_on_wire": r3((l.frame_bytes + l.frames * WIRE_OVERHEAD) as f64 * 8.0 / s / 1e9),
                "records": l.stats.records,
                "records_per_s": (l.stats.records as f64 / s).round(),
                "records_dropped": l.stats.records_dropped,
                "busy_fraction": l.busy as f64 / l.polls.max(1) as f64,
            })
        })
        .collect();
    let frames: u64 = lanes.iter().map(|l| l.frames).sum();
    let bytes: u64 = lanes.iter().map(|l| l.frame_bytes).sum();
    let cpu: u64 = lanes.iter().map(|l| l.worker_ns).sum();
    let records: u64 = lanes.iter().map(|l| l.stats.records).sum();
    let core_s = (cpu as f64 / 1e9).max(1e-9);
    let input = match input {
        Input::Traces {
            traces: t,
            files,
            copies,
        } => serde_json::json!({
            "traces": files,
            "frames_per_copy": t.len(),
            "bytes_per_copy": t.bytes(),
            "copies": copies,
        }),
        Input::Profile(g) => {
            let mut m = Generated::default();
            for l in lanes {
                m.add(&l.made);
            }
            serde_json::json!({
                "profile": g.profile.name(),
                "version": VERSION,
                "describe": g.profile.describe(),
                "flows": g.flows,
                "packets": g.packets,
                "rate": g.rate,
                "seed": g.seed,
                "generated": generated_json(&m),
            })
        }
    };
    let tot = |f: fn(&WorkerStats) -> u64| lanes.iter().map(|l| f(&l.stats)).sum::<u64>();
    serde_json::json!({
        "type": "bench",
        "mode": "memory",
        "input": input,
        "workers": lanes.len(),
        "flows_created": tot(|w| w.flows_created),
        "flows_evicted": tot(|w| w.flows_evicted),
        "frames": frames,
        "frame_bytes": bytes,
        "per_core": {
            "frames_per_s": (frames as f64 / core_s).round(),
            "gbit_per_s": r3(bytes as f64 * 8.0 / core_s / 1e9),
            "gbit_per_s_on_wire": r3((bytes + frames * WIRE_OVERHEAD) as f64 * 8.0 / core_s / 1e9),
            "ns_per_frame": r1(cpu as f64 / frames.max(1) as f64),
        },
        "per_worker": per_worker,
        "setup_s": r3(setup_s),
        "end_to_end": {
            "wall_s": r3(wall_s),
            "frames_per_s": (frames as f64 / wall_s.max(1e-9)).round(),
            "gbit_per_s": r3(bytes as f64 * 8.0 / wall_s.max(1e-9) / 1e9),
            "records": records,
            "records_per_s": (records as f64 / wall_s.max(1e-9)).round(),
            "records_delivered": o.records_delivered,
            "output_cpu_s": o.output_cpu_s,
            "record_latency_us": o.record_latency_us,
        },
        "app": o.app,
        "app_per_worker": o.app_per_worker,
        "flows_per_worker": o.flows_per_worker,
        "outputs": o.outputs,
        "peak_rss_bytes": dataplane::sys::peak_rss_bytes(),
    })
}
