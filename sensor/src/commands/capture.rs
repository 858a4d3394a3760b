//! `wirelog capture`: live capture on an interface with AF_XDP (one socket
//! per queue) or AF_PACKET (a TPACKET_V3 ring per worker in a fanout group).
//!
//! Threads ("lanes"): with as many capture sources as workers, each worker
//! polls its own source, pinned to its core ("fused"); packets whose flow
//! belongs to another worker are copied into that worker's SPSC ring. That
//! is every packet whose owner by the symmetric Toeplitz hash differs for
//! AF_XDP (a NIC's RSS key need not be symmetric), and only tunnelled
//! packets for AF_PACKET (the kernel's fanout hash is symmetric on the outer
//! headers; tunnels are steered on the inner tuple; so are AF_XDP queues
//! with `--rss symmetric`). Re-steered packets reach their worker a ring
//! later than the packets it polls itself, so with an asymmetric RSS a
//! connection shorter than a poll interval can be seen out of order (and
//! split); a symmetric RSS key, one queue, or AF_PACKET (whose fanout hash
//! is computed in software) avoid that. With fewer sources
//! than workers (a single-queue NIC, veth), the capture lanes are
//! dispatchers on the control core that steer every packet into the
//! workers' rings. A full ring drops the packet and counts it: capture
//! never blocks.
//!
//! Polling is adaptive by default: a lane that drained its source sleeps a
//! little before the next poll so batches fill up (a wakeup per frame
//! costs more than the frame); after a few empty polls it backs off from
//! 50 µs to 1 ms waits, and once the link has been quiet for a while
//! waits up to 50 ms, so a quiet sensor uses almost no CPU. A lane with
//! only a socket waits in ppoll(2), which returns at the next frame; a
//! lane that also drains rings sleeps. Busy polling never sleeps, for
//! dedicated cores. Workers end idle flows on the wall clock.
//! SIGINT or SIGTERM (or `--duration`) stop the capture: lanes take what
//! the kernel already holds, drain their rings, end every open flow as a
//! record and flush the output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dataplane::app::PROTOCOLS;
use dataplane::capture::afpacket::{PacketConfig, PacketSource};
use dataplane::capture::iface;
use dataplane::capture::xdp::{XdpConfig, XdpSource};
use dataplane::capture::xdp_prog::{ProgramConfig, XdpCounters, XdpProgram};
use dataplane::capture::{Live, SourceStats};
use dataplane::decode::DecodeStats;
use dataplane::pipeline::{Front, Lane, OnFull, Parts, Policy, Slot, Steering};
use dataplane::spsc::{self, Consumer, Producer};
use dataplane::sys::{thread_cpu_ns, STOP};
use dataplane::worker::{Worker, WorkerStats};
use serde_json::json;

use crate::cores::pin_to;
use crate::outputs::thread::BlockOut;
use crate::outputs::thread::OutputEnd;
use crate::outputs::Output;
use crate::setup::Setup;

/// Empty polls before an adaptive lane starts sleeping.
const SPIN_POLLS: u32 = 16;
/// Sleep after a batch that drained the source, so the next one is
/// fuller: under load more frames arrive in it and batches grow (frames per
/// poll and system calls per frame are in the summary). Every frame
/// carries its own time (AF_PACKET's, or wirelog's XDP program's stamp),
/// so the wait costs no precision. Longer or self-adjusting waits were
/// tried on the veth bench (enterprise mix, 250,000 frames/s, AF_XDP SKB
/// mode): batches did not grow (the sleep's timer slack already makes a
/// 50 µs sleep last ~140 µs) and the fill ring ran dry more often.
const COALESCE_US: u64 = 50;
/// First and longest back-off sleep once polls come back empty. The
/// longest is well within what the rings hold at line rate (4096 frames).
const MIN_SLEEP_US: u64 = 50;
const MAX_SLEEP_US: u64 = 1000;
/// Empty polls (past the spinning ones) after which a lane with only a
/// socket waits in ppoll(2) for the next frame: the link is quiet.
const DEEP_IDLE_POLLS: u32 = 64;
/// Longest ppoll(2) of a quiet lane (it still ticks the flow clock).
const DEEP_WAIT_US: u32 = 50_000;
/// After a stop, lanes keep polling at least this long (longer than the
/// AF_PACKET block retire timeout) and at most this long.
const MIN_DRAIN: Duration = Duration::from_millis(50);
const MAX_DRAIN: Duration = Duration::from_millis(500);
/// How often lanes advance the flow clock and publish counters.
const TICK: Duration = Duration::from_millis(100);

/// The capture backend and its settings.
#[derive(Clone, Debug)]
pub enum Backend {
    /// AF_XDP; `queue` of the template is replaced per socket.
    Xdp(XdpConfig),
    /// AF_PACKET; the fanout group is set when there are several workers.
    Packet(PacketConfig),
}

/// Everything a live capture needs, resolved from the options.
pub struct LivePlan {
    /// Interface.
    pub iface: String,
    /// Backend.
    pub backend: Backend,
    /// What wirelog's XDP program is told (AF_XDP only).
    pub program: Option<ProgramConfig>,
    /// AF_XDP queues (one socket each).
    pub queues: Vec<u32>,
    /// Workers, budget and thread settings.
    pub s: Setup,
    /// Busy polling (never sleep).
    pub busy: bool,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Emit a stats record into the outputs this often.
    pub stats_interval: Option<Duration>,
    /// Slots of each steering ring.
    pub ring_slots: usize,
    /// The NIC's RSS hash is symmetric: AF_XDP queues keep their flows.
    pub symmetric_rss: bool,
    /// The `--profile` file, for messages that name it.
    pub profile_path: Option<std::path::PathBuf>,
    /// Frames a capture lane takes per poll (1 to [`dataplane::pipeline::BATCH`]).
    pub batch: usize,
}

impl LivePlan {
    fn captures(&self) -> usize {
        match self.backend {
            Backend::Xdp(_) => self.queues.len(),
            Backend::Packet(_) => self.s.workers,
        }
    }

    fn fused(&self) -> bool {
        self.captures() == self.s.workers
    }

    fn rings(&self) -> usize {
        if self.fused() {
            self.s.workers * (self.s.workers - 1)
        } else {
            self.captures() * self.s.workers
        }
    }

    fn source_bytes(&self) -> usize {
        match &self.backend {
            Backend::Xdp(x) => x.umem_bytes(),
            Backend::Packet(p) => p.ring_bytes(),
        }
    }

    /// Sizes the flow tables from the budget.
    pub fn size(&mut self) -> Result<()> {
        let rings = self.rings() * self.ring_slots * std::mem::size_of::<Slot>();
        let sources = self.captures() * self.source_bytes();
        let fixed = self.s.output_bytes()
            + self.captures() * self.s.frag_bytes()
            + rings
            + sources
            + (8 << 20);
        let what = format!(
            "{} worker(s) and {} capture socket(s) of {} MiB",
            self.s.workers,
            self.captures(),
            self.source_bytes() >> 20
        );
        self.s.size_flows(fixed, &what)
    }
}

/// Counters a lane publishes while it runs (read by the stats line).
#[derive(Default)]
struct Published {
    /// The lane has left its capture loop.
    stopped: std::sync::atomic::AtomicBool,
    frames: AtomicU64,
    kernel_drops: AtomicU64,
    xdp_drops: AtomicU64,
    /// Frames the decoder counted as malformed (skipped, not lost).
    malformed: AtomicU64,
    non_ip: AtomicU64,
    ring_drops: AtomicU64,
    packets: AtomicU64,
    bytes: AtomicU64,
    records: AtomicU64,
    records_dropped: AtomicU64,
    flows_active: AtomicU64,
    flows_capacity: AtomicU64,
    flows_evicted: AtomicU64,
    /// Transactions logged, per protocol.
    transactions: [AtomicU64; PROTOCOLS.len()],
    app_sessions: AtomicU64,
    app_gaps: AtomicU64,
    app_shed: AtomicU64,
    acks: AtomicU64,
    ack_bytes: AtomicU64,
    hole_bytes: AtomicU64,
    fill_bytes: AtomicU64,
    tcp_flows_ended: AtomicU64,
    tcp_one_sided: AtomicU64,
    checksums_checked: AtomicU64,
    checksums_bad: AtomicU64,
}

/// What a lane reports when it ends.
#[derive(Default)]
struct LaneEnd {
    worker: Option<WorkerStats>,
    source: Option<SourceStats>,
    decode: Option<DecodeStats>,
    filtered: u64,
    duplicates: u64,
    ring_drops: u64,
    polls: u64,
    busy_polls: u64,
    /// Frames the lane's source lent (the sum of its batches).
    frames_polled: u64,
    /// Sleeps and ppoll(2) waits the lane made (its own system calls).
    sleeps: u64,
    /// Time-stamp-counter cycles spent in iterations that found work, and
    /// the counter's rate (from the lane's start and end), for the CPU a
    /// frame costs as the worker's own cycle counter measures it: this
    /// kernel's tick accounting charges softirq work to whatever thread it
    /// interrupts, so CPU time overstates it.
    busy_cycles: u64,
    tsc_per_ns: f64,
    /// Frames whose checksums the lane's front checked, and the bad ones.
    checksums_checked: u64,
    checksums_bad: u64,
    cpu_ns: u64,
}

impl LaneEnd {
    /// Nanoseconds of work per item by the lane's cycle counter.
    fn ns_per(&self, items: u64) -> serde_json::Value {
        if items == 0 || self.tsc_per_ns <= 0.0 {
            return serde_json::Value::Null;
        }
        json!((self.busy_cycles as f64 / self.tsc_per_ns / items as f64 * 10.0).round() / 10.0)
    }
}

/// `a / b` rounded to 4 significant places, null when `b` is 0.
fn ratio(a: u64, b: u64) -> serde_json::Value {
    if b == 0 {
        return serde_json::Value::Null;
    }
    let r = a as f64 / b as f64;
    json!((r * 10_000.0).round() / 10_000.0)
}

/// One thread: its data path, how it waits, and where it publishes.
struct LiveLane<S: Live> {
    lane: Lane<S, BlockOut>,
    busy: bool,
    core: Option<usize>,
    pubs: Arc<Published>,
}

impl<S: Live> LiveLane<S> {
    fn run(self) -> Result<LaneEnd> {
        let LiveLane {
            mut lane,
            busy,
            core,
            pubs,
        } = self;
        pin_to(core);
        let has_src = lane.source().is_some();
        let socket_alone = has_src && !lane.has_rings();
        let mut end = LaneEnd::default();
        let mut idle = 0u32;
        let mut next_tick = Instant::now() + TICK;
        let mut stop_at: Option<Instant> = None;
        let (tsc0, t0) = (dataplane::sys::tsc(), Instant::now());
        loop {
            let stopping = STOP.load(Ordering::Relaxed);
            let c0 = dataplane::sys::tsc();
            let r = lane.step().context("capture")?;
            if has_src {
                end.polls += 1;
                if r.frames > 0 {
                    end.busy_polls += 1;
                    end.frames_polled += r.frames as u64;
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                lane.advance_clock(dataplane::time::wall_now_ns());
                // Flows the clock ended leave now, even on a quiet link.
                lane.flush();
                publish(&pubs, &mut lane);
            }
            if stopping {
                // Take what the kernel already holds (AF_PACKET hands a
                // partly filled block over only after its retire timeout),
                // but do not let a saturated link keep us from stopping.
                let t = *stop_at.get_or_insert(now);
                let el = now - t;
                if (r.work == 0 && el >= MIN_DRAIN) || el >= MAX_DRAIN {
                    break;
                }
            }
            if r.work > 0 {
                end.busy_cycles += dataplane::sys::tsc().wrapping_sub(c0);
                idle = 0;
                if !busy && !r.full && !stopping {
                    std::thread::sleep(Duration::from_micros(COALESCE_US));
                    end.sleeps += 1;
                }
                continue;
            }
            idle += 1;
            if idle == 1 {
                // Records of a quiet moment leave now, not when a block fills.
                lane.flush();
            }
            if busy {
                std::hint::spin_loop();
            } else if idle > SPIN_POLLS {
                let k = idle - SPIN_POLLS;
                let us = (MIN_SLEEP_US << k.min(6)).min(MAX_SLEEP_US);
                match lane.source() {
                    // A socket alone: ppoll(2) returns at the first frame,
                    // where a sleep would let a burst fill the ring (a late
                    // wakeup on a busy machine lost frames to an empty fill
                    // ring).
                    Some((s, _)) if socket_alone => {
                        let t = if k > DEEP_IDLE_POLLS {
                            DEEP_WAIT_US
                        } else {
                            us as u32
                        };
                        s.wait(t).context("capture")?
                    }
                    _ => std::thread::sleep(Duration::from_micros(us)),
                }
                end.sleeps += 1;
            }
        }
        pubs.stopped.store(true, Ordering::Release);
        if let Some((s, front)) = lane.source() {
            end.source = Some(s.stats().context("capture counters")?);
            end.decode = Some(front.dec.stats);
            end.filtered = front.filtered;
            end.checksums_checked = front.checksums_checked;
            end.checksums_bad = front.checksums_bad;
            end.duplicates = front.dedup.dropped;
        }
        // Closing our rings lets the other workers finish.
        lane.close();
        if lane.worker().is_some() {
            lane.drain();
        }
        end.ring_drops = lane.ring_drops();
        let Parts { mut src, worker } = lane.into_parts();
        if let Some((mut w, mut out)) = worker {
            // Every open flow becomes a record: wait for output blocks now.
            out.set_wait(true);
            w.flush_all(&mut out);
            // The final counters, before the lane says it is done.
            publish_worker(&pubs, &w.stats());
            out.finish();
            end.worker = Some(w.stats());
        }
        let el = t0.elapsed().as_nanos().max(1) as f64;
        end.tsc_per_ns = dataplane::sys::tsc().wrapping_sub(tsc0) as f64 / el;
        if let Some((s, front)) = &mut src {
            publish_source(&pubs, s, front);
        }
        pubs.ring_drops.store(end.ring_drops, Ordering::Relaxed);
        end.cpu_ns = thread_cpu_ns();
        Ok(end)
    }
}

/// The lane's counters so far, for the stats line.
fn publish<S: Live>(p: &Published, lane: &mut Lane<S, BlockOut>) {
    if let Some((s, front)) = lane.source() {
        publish_source(p, s, front);
    }
    p.ring_drops.store(lane.ring_drops(), Ordering::Relaxed);
    if let Some((w, _)) = lane.worker() {
        publish_worker(p, &w.stats());
    }
}

fn publish_source<S: Live>(p: &Published, s: &mut S, front: &Front) {
    if let Ok(st) = s.stats() {
        p.frames.store(st.frames, Ordering::Relaxed);
        p.kernel_drops.store(st.kernel_drops, Ordering::Relaxed);
        p.xdp_drops
            .store(st.drops() - st.kernel_drops, Ordering::Relaxed);
    }
    let d = &front.dec.stats;
    p.malformed
        .store(d.malformed.iter().sum(), Ordering::Relaxed);
    p.non_ip.store(d.non_ip, Ordering::Relaxed);
    p.checksums_checked
        .store(front.checksums_checked, Ordering::Relaxed);
    p.checksums_bad
        .store(front.checksums_bad, Ordering::Relaxed);
}

fn publish_worker(p: &Published, s: &WorkerStats) {
    {
        p.packets.store(s.packets, Ordering::Relaxed);
        p.bytes.store(s.bytes, Ordering::Relaxed);
        p.records.store(s.records, Ordering::Relaxed);
        p.records_dropped
            .store(s.records_dropped, Ordering::Relaxed);
        p.flows_active.store(s.flows_active, Ordering::Relaxed);
        p.flows_capacity.store(s.flows_capacity, Ordering::Relaxed);
        p.flows_evicted.store(s.flows_evicted, Ordering::Relaxed);
        let a = &s.app;
        for (t, s) in p.transactions.iter().zip(&a.protos) {
            t.store(s.transactions, Ordering::Relaxed);
        }
        p.app_sessions.store(a.sessions_active, Ordering::Relaxed);
        p.app_gaps.store(a.stream.gaps, Ordering::Relaxed);
        // What the analyzers shed for want of room.
        let shed = a.sessions_full
            + a.txn_buffers_full
            + a.txn_limit
            + a.stream.buffer_exhausted
            + a.stream.overflow;
        p.app_shed.store(shed, Ordering::Relaxed);
        p.acks.store(s.health.acks, Ordering::Relaxed);
        p.ack_bytes.store(s.health.ack_bytes, Ordering::Relaxed);
        p.hole_bytes.store(s.health.hole_bytes, Ordering::Relaxed);
        p.fill_bytes.store(s.health.fill_bytes, Ordering::Relaxed);
        p.tcp_flows_ended
            .store(s.tcp_flows_ended, Ordering::Relaxed);
        p.tcp_one_sided.store(s.tcp_one_sided, Ordering::Relaxed);
    }
}

/// Results of a live capture.
pub struct LiveSummary {
    lanes: Vec<LaneEnd>,
    sources: Vec<String>,
    elapsed: Duration,
    outputs: OutputEnd,
    flows_per_worker: usize,
    app_capacity: serde_json::Value,
    backend: &'static str,
    iface: String,
    /// Frames the interface dropped during the capture (/proc/net/dev).
    if_drops: u64,
    /// The XDP program's counters at the end (AF_XDP).
    xdp: Option<XdpCounters>,
    /// Output blocks per worker.
    blocks: usize,
    /// Resident bytes before the budget was taken.
    overhead: u64,
    /// The budget.
    memory: usize,
}

impl LiveSummary {
    /// What the traffic said of the mirror feed.
    pub fn mirror_health(&self) -> crate::stats::MirrorHealth {
        let (checked, bad) = self.lanes.iter().fold((0, 0), |(c, b), l| {
            (c + l.checksums_checked, b + l.checksums_bad)
        });
        crate::stats::MirrorHealth::of(self.lanes.iter().filter_map(|l| l.worker.as_ref()))
            .with_checksums(checked, bad)
    }

    /// Frames lost at any stage (interface, kernel/XDP, rings, output),
    /// each counted once.
    ///
    /// A driver-mode XDP redirect that finds the socket without room (fill
    /// ring empty, RX ring full) is counted by the socket and, on veth, in
    /// the interface's `rx_dropped` too (measured: 936 frames lost, 936 in
    /// each). Other drivers keep the two apart, so the larger of the two is
    /// taken: exact whenever one stage lost the frames, a lower bound when
    /// both did at once. The summary lists each counter as it is.
    pub fn drops(&self) -> u64 {
        let mut redirect = 0;
        let mut rest = 0;
        for l in &self.lanes {
            if let Some(s) = l.source {
                let r = s.xdp_rx_dropped + s.xdp_rx_ring_full;
                redirect += r;
                rest += s.drops() - r;
            }
            rest += l.ring_drops + l.worker.map_or(0, |w| w.records_dropped);
        }
        self.if_drops.max(redirect) + rest
    }
}

/// Opens the sources, runs the capture until stopped, returns the summary.
pub fn run(plan: LivePlan, sinks: Vec<Output>) -> Result<LiveSummary> {
    // What the process holds before the budget's tables, buffers and rings
    // exist (the binary, its libraries, the outputs' own start-up): the
    // resident size stays under the budget plus this, whatever the traffic.
    let overhead = dataplane::sys::rss_bytes();
    eprintln!(
        "wirelog: memory: a budget of {} MiB (--memory) for tables, buffers and rings, and {} MiB the process held before them",
        plan.s.memory >> 20,
        overhead.div_ceil(1 << 20)
    );
    // Flow tables first (prefaulting them takes a while): a socket open
    // before its worker is ready would fill and drop.
    let workers = (0..plan.s.workers)
        .map(|_| Worker::new(plan.s.worker.clone()).context("flow table"))
        .collect::<Result<Vec<_>>>()?;
    let mut summary = match plan.backend.clone() {
        Backend::Xdp(x) => {
            let pcfg = plan.program.clone().unwrap_or_default();
            let slots = plan.queues.iter().max().map_or(1, |q| q + 1);
            let mut prog = XdpProgram::load(&pcfg, slots).context(plan.iface.clone())?;
            let mut sources = Vec::with_capacity(plan.queues.len());
            for &q in &plan.queues {
                let cfg = XdpConfig {
                    queue: q,
                    ..x.clone()
                };
                sources.push(
                    XdpSource::open(&cfg, plan.batch, &prog)
                        .with_context(|| format!("{} queue {q}", plan.iface))?,
                );
            }
            // Every queue has its socket: frames may come now.
            let ifindex = iface::index(&plan.iface)?;
            prog.attach(ifindex, &plan.iface, x.attach)?;
            for s in &mut sources {
                s.set_driver_mode(prog.driver_mode());
            }
            eprintln!(
                "wirelog: {}: wirelog's XDP program attached in {} mode through a BPF link (the kernel removes it when wirelog exits, however it exits)",
                plan.iface,
                if prog.driver_mode() { "driver" } else { "SKB" }
            );
            warn_irq_affinity(&plan);
            run_with(plan, sources, workers, "afxdp", sinks, Some(Arc::new(prog)))?
        }
        Backend::Packet(p) => {
            let fanout = (plan.s.workers > 1).then(|| (std::process::id() & 0xffff) as u16);
            let mut sources = Vec::with_capacity(plan.s.workers);
            for _ in 0..plan.s.workers {
                let cfg = PacketConfig {
                    fanout,
                    ..p.clone()
                };
                sources.push(PacketSource::open(&cfg).with_context(|| plan.iface.clone())?);
            }
            run_with(plan, sources, workers, "afpacket", sinks, None)?
        }
    };
    summary.overhead = overhead;
    Ok(summary)
}

/// Some drivers reset their queues' IRQ affinity when an XDP program
/// attaches: say so when a queue's IRQ no longer runs on its worker's core.
fn warn_irq_affinity(plan: &LivePlan) {
    // Only a profile that names its queues (not the derived default) says
    // where the IRQs belong.
    let Some(p) = &plan.s.profile else { return };
    if p.queues.is_none() || p.nic.irq_affinity == Some(false) {
        return;
    }
    let Ok(irqs) = tuning::host::nic_irqs(&tuning::host::Roots::default(), &plan.iface) else {
        return;
    };
    for (i, q) in plan.queues.iter().enumerate() {
        let core = p.queue_core(i);
        for irq in irqs
            .iter()
            .filter(|x| x.queue == Some(*q) && x.affinity != [core])
        {
            eprintln!(
                "wirelog: warning: {} queue {q}: IRQ {} runs on CPUs {}, not on core {core}, which reads the queue (some drivers reset it when XDP attaches): `wirelog tune apply --iface {} --profile {}` pins it",
                plan.iface,
                irq.irq,
                tuning::topology::format_cpulist(&irq.affinity),
                plan.iface,
                plan.profile_path
                    .as_deref()
                    .map_or("PROFILE".into(), |p| p.display().to_string())
            );
        }
    }
}

fn run_with<S: Live + 'static>(
    plan: LivePlan,
    sources: Vec<S>,
    workers: Vec<Worker>,
    backend: &'static str,
    sinks: Vec<Output>,
    prog: Option<Arc<XdpProgram>>,
) -> Result<LiveSummary> {
    let start = Instant::now();
    let n = plan.s.workers;
    let k = sources.len();
    let fused = plan.fused();
    let descriptions: Vec<String> = sources.iter().map(|s| s.describe()).collect();
    for d in &descriptions {
        eprintln!("wirelog: {}: {d}", plan.iface);
    }

    let lane_count = if fused { n } else { k + n };
    let pubs: Vec<Arc<Published>> = (0..lane_count).map(|_| Arc::default()).collect();
    let probe_pubs = pubs.clone();
    let probe_prog = prog.clone();
    let probe: crate::outputs::thread::Probe = Box::new(move || {
        let mut m = probe_json(&probe_pubs);
        if let Some(c) = probe_prog.as_ref().and_then(|p| p.counters().ok()) {
            m.insert("xdp_program".into(), xdp_json(&c));
        }
        m
    });
    let stats = plan.stats_interval.map(|e| (e, probe));
    let (outs, writer) = crate::outputs::thread::start(
        n,
        plan.s.blocks,
        false,
        sinks,
        plan.s.control_core(),
        stats,
    )?;
    eprintln!(
        "wirelog: record hand-off: {} blocks of {} KiB per worker ({} MiB in all, a sixteenth of --memory): what carries the workers through a stall of the output thread",
        plan.s.blocks,
        crate::outputs::thread::BLOCK_BYTES >> 10,
        (n * plan.s.blocks * crate::outputs::thread::BLOCK_BYTES) >> 20
    );
    let mut pubs_iter = pubs.iter().cloned();

    // Rings: producer[c][w] from capture lane c to worker w.
    let mut to: Vec<Vec<Option<Producer<Slot>>>> =
        (0..k).map(|_| (0..n).map(|_| None).collect()).collect();
    let mut from: Vec<Vec<Consumer<Slot>>> = (0..n).map(|_| Vec::new()).collect();
    for (c, row) in to.iter_mut().enumerate() {
        for (w, cell) in row.iter_mut().enumerate() {
            if fused && c == w {
                continue;
            }
            if fused && n == 1 {
                continue;
            }
            let (p, cons) = spsc::ring(plan.ring_slots, || Slot::EMPTY);
            *cell = Some(p);
            from[w].push(cons);
        }
    }
    let policy = match (&plan.backend, fused) {
        (_, true) if n == 1 => Policy::Local,
        (Backend::Packet(_), true) => Policy::LocalUnlessTunnel,
        (Backend::Xdp(_), true) if plan.symmetric_rss => Policy::LocalUnlessTunnel,
        _ => Policy::Hash,
    };

    let steer = Steering {
        policy,
        workers: n,
        // A live source cannot wait for a busy worker: its kernel ring
        // would overflow instead, uncounted by us.
        on_full: OnFull::Drop,
        ticks: false,
    };
    let mut lanes: Vec<LiveLane<S>> = Vec::new();
    let mut outs = outs.into_iter();
    let mut tos = to.into_iter();
    let mut froms = from.into_iter();
    let mut srcs = sources.into_iter();
    let mut tables = workers.into_iter();
    let front = || plan.s.front(false);
    let mut live = |lane, core| LiveLane {
        lane,
        busy: plan.busy,
        core,
        pubs: pubs_iter.next().expect("one per lane"),
    };
    if fused {
        for i in 0..n {
            let lane = Lane::new(
                Some((srcs.next().expect("one source per worker"), front()?)),
                Some((
                    i,
                    tables.next().expect("one table per worker"),
                    outs.next().expect("one lane per worker"),
                )),
                tos.next().expect("row per source"),
                froms.next().expect("row per worker"),
                steer,
            )
            .with_batch(plan.batch);
            lanes.push(live(lane, plan.s.worker_core(i)));
        }
    } else {
        for s in srcs.by_ref() {
            let to = tos.next().expect("row per source");
            let lane =
                Lane::new(Some((s, front()?)), None, to, Vec::new(), steer).with_batch(plan.batch);
            lanes.push(live(lane, plan.s.control_core()));
        }
        for i in 0..n {
            let lane = Lane::new(
                None,
                Some((
                    i,
                    tables.next().expect("one table per worker"),
                    outs.next().expect("one lane per worker"),
                )),
                Vec::new(),
                froms.next().expect("row per worker"),
                steer,
            );
            lanes.push(live(lane, plan.s.worker_core(i)));
        }
    }
    let mut handles = Vec::with_capacity(lanes.len());
    for (i, lane) in lanes.into_iter().enumerate() {
        handles.push(
            std::thread::Builder::new()
                .name(format!("wl-lane-{i}"))
                .spawn(move || lane.run())?,
        );
    }

    let if_drops0 = iface::rx_drops(&plan.iface);
    // Said once every lane runs: a caller may start traffic now.
    eprintln!(
        "wirelog: {} worker(s), {} flows each, {} polling, {}",
        n,
        plan.s.worker.flows,
        if plan.busy { "busy" } else { "adaptive" },
        if fused {
            "each worker polls its own socket".to_string()
        } else {
            format!("{k} dispatcher(s) steer into the workers' rings")
        }
    );
    let deadline = plan.duration.map(|d| start + d);
    while !STOP.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if deadline.is_some_and(|d| Instant::now() >= d) {
            STOP.store(true, Ordering::SeqCst);
        }
        if handles.iter().any(|h| h.is_finished()) {
            // A lane failed: stop the others and report its error below.
            STOP.store(true, Ordering::SeqCst);
        }
    }
    // The interface's drops up to the moment capture stopped (after it, a
    // full socket makes the kernel drop what still comes, which is no loss
    // of the capture).
    while !pubs
        .iter()
        .zip(&handles)
        .all(|(p, h)| p.stopped.load(Ordering::Acquire) || h.is_finished())
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let if_drops1 = iface::rx_drops(&plan.iface);
    let mut ends = Vec::with_capacity(handles.len());
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(e)) => ends.push(e),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(anyhow::anyhow!("a capture thread panicked"));
            }
        }
    }
    let xdp = prog.as_ref().and_then(|p| p.counters().ok());
    let if_drops = match (if_drops0, if_drops1) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    let outputs = writer.finish();
    if let Some(e) = first_err {
        return Err(e);
    }
    let outputs = outputs?;
    Ok(LiveSummary {
        lanes: ends,
        sources: descriptions,
        elapsed: start.elapsed(),
        outputs,
        flows_per_worker: plan.s.worker.flows,
        app_capacity: crate::stats::app_capacity(&plan.s.worker.app),
        backend,
        iface: plan.iface,
        if_drops,
        xdp,
        blocks: plan.s.blocks,
        // Measured before the tables were built: `run` fills it in.
        overhead: 0,
        memory: plan.s.memory,
    })
}

/// The XDP program's counters as a JSON object.
fn xdp_json(c: &XdpCounters) -> serde_json::Value {
    serde_json::Value::Object(
        c.named()
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// The capture side of a periodic stats record: per lane, what it polled
/// and tracked so far, and the drops of every stage.
fn probe_json(pubs: &[Arc<Published>]) -> serde_json::Map<String, serde_json::Value> {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let sum = |f: fn(&Published) -> &AtomicU64| -> u64 { pubs.iter().map(|p| g(f(p))).sum() };
    let lanes: Vec<serde_json::Value> = pubs
        .iter()
        .map(|p| {
            let mut lane = json!({
                "frames": g(&p.frames),
                "packets": g(&p.packets),
                "ip_bytes": g(&p.bytes),
                "records": g(&p.records),
                "flows_active": g(&p.flows_active),
                "flows_capacity": g(&p.flows_capacity),
                "flows_evicted": g(&p.flows_evicted),
                "app_sessions": g(&p.app_sessions),
                "drops_source": g(&p.kernel_drops) + g(&p.xdp_drops),
                "drops_kernel": g(&p.kernel_drops),
                "drops_xdp": g(&p.xdp_drops),
                "malformed": g(&p.malformed),
                "non_ip": g(&p.non_ip),
                "drops_rings": g(&p.ring_drops),
                "drops_output": g(&p.records_dropped),
            });
            for (info, t) in PROTOCOLS.iter().zip(&p.transactions) {
                lane[info.name] = g(t).into();
            }
            lane
        })
        .collect();
    let source = sum(|p| &p.kernel_drops) + sum(|p| &p.xdp_drops);
    let total = source + sum(|p| &p.ring_drops) + sum(|p| &p.records_dropped);
    let mut v = json!({
        "frames": sum(|p| &p.frames),
        "packets": sum(|p| &p.packets),
        "ip_bytes": sum(|p| &p.bytes),
        "records": sum(|p| &p.records),
        "flows_active": sum(|p| &p.flows_active),
        "flows_evicted": sum(|p| &p.flows_evicted),
        "app_sessions": sum(|p| &p.app_sessions),
        "app_gaps": sum(|p| &p.app_gaps),
        "app_shed": sum(|p| &p.app_shed),
        "malformed": sum(|p| &p.malformed),
        "non_ip": sum(|p| &p.non_ip),
        "drops": {
            "total": total,
            "source": source,
            "kernel": sum(|p| &p.kernel_drops),
            "xdp": sum(|p| &p.xdp_drops),
            "rings": sum(|p| &p.ring_drops),
            "output": sum(|p| &p.records_dropped),
        },
        "lanes": lanes,
        "mirror_health": crate::stats::MirrorHealth {
            health: dataplane::flow::tcp::Health {
                acks: sum(|p| &p.acks),
                ack_bytes: sum(|p| &p.ack_bytes),
                hole_bytes: sum(|p| &p.hole_bytes),
                fill_bytes: sum(|p| &p.fill_bytes),
            },
            tcp_flows_ended: sum(|p| &p.tcp_flows_ended),
            tcp_one_sided: sum(|p| &p.tcp_one_sided),
            checksums_checked: sum(|p| &p.checksums_checked),
            checksums_bad: sum(|p| &p.checksums_bad),
        }
        .json(),
    });
    for (k, info) in PROTOCOLS.iter().enumerate() {
        v[info.name] = pubs
            .iter()
            .map(|p| g(&p.transactions[k]))
            .sum::<u64>()
            .into();
    }
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The summary as a JSON line (the final `stats` record of a capture).
pub fn summary_json(s: &LiveSummary, sensor: &str) -> String {
    let mut src = SourceStats::default();
    let mut dec = DecodeStats::default();
    let (mut filtered, mut duplicates, mut ring_drops) = (0, 0, 0);
    let (mut polled, mut busy_polls, mut syscalls) = (0u64, 0u64, 0u64);
    let mut ws = Vec::new();
    let mut workers = Vec::new();
    let mut captures = Vec::new();
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    for l in &s.lanes {
        if let Some(x) = &l.source {
            src.add(x);
            captures.push(json!({
                "frames": x.frames,
                "drops": x.drops(),
                "cpu_s": l.cpu_ns as f64 / 1e9,
                "busy_fraction": if l.polls == 0 { 0.0 } else { l.busy_polls as f64 / l.polls as f64 },
                "frames_per_poll": ratio(l.frames_polled, l.busy_polls),
                "syscalls_per_frame": ratio(l.sleeps + x.syscalls, l.frames_polled),
                "cpu_ns_per_frame": l.ns_per(l.frames_polled),
            }));
            polled += l.frames_polled;
            busy_polls += l.busy_polls;
            syscalls += l.sleeps + x.syscalls;
        }
        if let Some(d) = &l.decode {
            dec.add(d);
        }
        filtered += l.filtered;
        duplicates += l.duplicates;
        ring_drops += l.ring_drops;
        if let Some(w) = &l.worker {
            ws.push(*w);
            if l.source.is_none() {
                syscalls += l.sleeps;
            }
            workers.push(json!({
                // The lane's time-stamp-counter cycles in iterations that
                // found work, per packet its worker processed (a fused
                // lane's include capturing and decoding them).
                "cpu_ns_per_packet": l.ns_per(w.packets),
                "packets": w.packets,
                "records": w.records,
                "flows_active_at_end": w.flows_active,
                "cpu_s": l.cpu_ns as f64 / 1e9,
                "cpu_percent": (l.cpu_ns as f64 / 1e9 / secs * 1000.0).round() / 10.0,
                "busy_fraction": if l.polls == 0 { serde_json::Value::Null } else { json!(l.busy_polls as f64 / l.polls as f64) },
            }));
        }
    }
    let tot = |f: fn(&WorkerStats) -> u64| ws.iter().map(f).sum::<u64>();
    let malformed = crate::stats::malformed_json(&dec);
    json!({
        "type": "stats",
        "sensor": sensor,
        "interface": s.iface,
        "capture": s.backend,
        "sources": s.sources,
        "frames": src.frames,
        "packets": tot(|w| w.packets),
        "ip_bytes": tot(|w| w.bytes),
        "records": tot(|w| w.records),
        "flows_created": tot(|w| w.flows_created),
        "flows_evicted": tot(|w| w.flows_evicted),
        "flows_per_worker": s.flows_per_worker,
        "app_per_worker": s.app_capacity,
        "filtered": filtered,
        "duplicates": duplicates,
        "non_ip": dec.non_ip,
        "tunnel_outer_packets": dec.tunnel_outer,
        "malformed": malformed,
        "not_decoded": dec.unsupported_words(),
        "drops": {
            "total": s.drops(),
            "interface": s.if_drops,
            "kernel": src.kernel_drops,
            "kernel_freeze_q": src.kernel_freeze_q,
            "xdp_rx_dropped": src.xdp_rx_dropped,
            "xdp_rx_invalid": src.xdp_rx_invalid,
            "xdp_rx_ring_full": src.xdp_rx_ring_full,
            "xdp_fill_ring_empty": src.xdp_fill_ring_empty,
            "xdp_frames_lost": src.xdp_frames_lost,
            "xdp_no_timestamp": src.xdp_no_timestamp,
            "rings": ring_drops,
            "output": tot(|w| w.records_dropped),
        },
        "elapsed_s": (secs * 1000.0).round() / 1000.0,
        "frames_per_s": (src.frames as f64 / secs).round(),
        "output_bytes": s.outputs.sinks.iter().map(|(_, o)| o.bytes).sum::<u64>(),
        "records_per_s": (tot(|w| w.records) as f64 / secs).round(),
        "outputs": crate::outputs::thread::sinks_json(&s.outputs.sinks),
        "output_cpu_s": s.outputs.cpu_s,
        "record_latency_us": s.outputs.latency.json(),
        "handoff": {
            "blocks_per_worker": s.blocks,
            "block_bytes": crate::outputs::thread::BLOCK_BYTES,
            "peak_blocks_queued": s.outputs.peak_blocks,
        },
        "peak_rss_bytes": dataplane::sys::peak_rss_bytes(),
        "memory_budget_bytes": s.memory,
        "rss_before_budget_bytes": s.overhead,
        "app": crate::stats::app_json(&crate::stats::app_total(ws.iter())),
        "workers": workers,
        "captures": captures,
        "mirror_health": s.mirror_health().json(),
        "frames_per_poll": ratio(polled, busy_polls),
        "syscalls_per_frame": ratio(syscalls, polled),
        "xdp_program": s.xdp.as_ref().map(xdp_json),
    })
    .to_string()
}

/// Start-up checks that need no socket: capabilities, interface state,
/// queue range, locked memory. Errors say what to do.
pub fn preflight(plan: &LivePlan) -> Result<()> {
    let xdp = matches!(plan.backend, Backend::Xdp(_));
    iface::check_caps(xdp)?;
    iface::check_up(&plan.iface)?;
    if let Backend::Xdp(x) = &plan.backend {
        let nq = iface::rx_queues(&plan.iface)?;
        for &q in &plan.queues {
            if q >= nq {
                bail!(
                    "queue {q} is out of range: {} has {nq} receive queue(s) (0-{})",
                    plan.iface,
                    nq - 1
                );
            }
        }
        iface::ensure_memlock((x.umem_bytes() * plan.queues.len()) as u64 + (16 << 20))?;
    }
    Ok(())
}
