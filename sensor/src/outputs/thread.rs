//! Record output: workers fill fixed-size blocks with JSON lines; the
//! output thread (on the control core) hands each record to the sinks that
//! take its type (`sinks`), emits the periodic stats record, and hands the
//! blocks back. Blocks are preallocated per worker; a worker never allocates for
//! output. In replay a worker waits for a free block (a file does not run
//! away); a live capture drops the record and counts it instead, so a live
//! capture gets as many blocks as its budget affords
//! ([`crate::pipeline::Setup::handoff_blocks`]): they are what carries the
//! workers through a moment when the control core does not run (on a small
//! cloud VM it shares a CPU with the kernel's packet work). The peak number
//! of blocks waiting is kept and reported.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use dataplane::record::{RecordOut, MAX_RECORD};
use serde_json::{json, Map, Value};

use crate::outputs::{Output, SinkStats};

/// Size of one output block.
pub const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks per worker at least (and what replay uses: its workers wait).
pub const MIN_BLOCKS: usize = 8;

/// A filled block and when its first record was written (ns after the
/// lanes' epoch).
type Full = (Vec<u8>, u64);

/// One worker's queues to the output thread.
pub struct Lane {
    full: ArrayQueue<Full>,
    free: ArrayQueue<Vec<u8>>,
    done: AtomicBool,
    epoch: Instant,
    /// Most blocks ever waiting for the output thread at once.
    peak: AtomicUsize,
}

impl Lane {
    fn new(epoch: Instant, blocks: usize) -> Self {
        let free = ArrayQueue::new(blocks);
        for _ in 0..blocks {
            let _ = free.push(Vec::with_capacity(BLOCK_BYTES));
        }
        Self {
            full: ArrayQueue::new(blocks),
            free,
            done: AtomicBool::new(false),
            epoch,
            peak: AtomicUsize::new(0),
        }
    }
}

/// The worker's end: a [`RecordOut`].
pub struct BlockOut {
    lane: Arc<Lane>,
    cur: Option<Vec<u8>>,
    /// When the current block's first record was written.
    first_ns: u64,
    wait: bool,
}

impl BlockOut {
    fn submit(&mut self) {
        if let Some(b) = self.cur.take() {
            if b.is_empty() {
                self.cur = Some(b);
                return;
            }
            // A block always fits: there are as many slots as blocks.
            let _ = self.lane.full.push((b, self.first_ns));
            self.lane
                .peak
                .fetch_max(self.lane.full.len(), Ordering::Relaxed);
        }
    }

    /// Marks the lane finished (after the last flush).
    pub fn finish(self) {
        // Drop does it: a worker that ends early (an error, a panic) must
        // not leave the output thread waiting for its lane.
    }

    /// Wait for a free block instead of dropping the record (a capture
    /// flushing its open flows at shutdown).
    pub fn set_wait(&mut self, wait: bool) {
        self.wait = wait;
    }
}

impl Drop for BlockOut {
    fn drop(&mut self) {
        self.submit();
        self.lane.done.store(true, Ordering::Release);
    }
}

impl RecordOut for BlockOut {
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        if self
            .cur
            .as_ref()
            .is_some_and(|b| b.len() + MAX_RECORD > b.capacity())
        {
            self.submit();
        }
        if self.cur.is_none() {
            loop {
                if let Some(b) = self.lane.free.pop() {
                    self.cur = Some(b);
                    break;
                }
                if !self.wait {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
        // One clock read per block: the record about to be written is its
        // first.
        if self.cur.as_ref().is_some_and(|b| b.is_empty()) {
            self.first_ns = self.lane.epoch.elapsed().as_nanos() as u64;
        }
        self.cur.as_mut()
    }

    fn flush(&mut self) {
        self.submit();
    }
}

/// Creates one lane of `blocks` blocks per worker; returns the workers'
/// ends and the lanes.
fn lanes(n: usize, blocks: usize, wait: bool) -> (Vec<BlockOut>, Vec<Arc<Lane>>) {
    let epoch = Instant::now();
    let lanes: Vec<Arc<Lane>> = (0..n)
        .map(|_| Arc::new(Lane::new(epoch, blocks.max(1))))
        .collect();
    let outs = lanes
        .iter()
        .map(|l| BlockOut {
            lane: l.clone(),
            cur: None,
            first_ns: 0,
            wait,
        })
        .collect();
    (outs, lanes)
}

/// Builds the capture side of a periodic stats record.
pub type Probe = Box<dyn FnMut() -> Map<String, Value> + Send>;

/// The record type of a JSON line as the workers write it (`{"type":"…"`).
fn record_type(line: &[u8]) -> &str {
    line.strip_prefix(b"{\"type\":\"")
        .and_then(|r| r.iter().position(|&c| c == b'"').map(|e| &r[..e]))
        .and_then(|t| std::str::from_utf8(t).ok())
        .unwrap_or("")
}

/// Hands one record to every sink that takes its type.
fn deliver(outputs: &mut [Output], line: &[u8]) {
    let t = record_type(line);
    for o in outputs.iter_mut() {
        if o.wants(t) {
            o.sink.record(line);
        }
    }
}

/// The output loop: hands every record of every lane's blocks to the
/// sinks until all lanes are done; every `every` it also emits a stats
/// record built by `probe` plus the sinks' own counters.
fn run(
    lanes: Vec<Arc<Lane>>,
    mut sinks: Vec<Output>,
    mut stats: Option<(Duration, Probe)>,
) -> OutputEnd {
    let start = Instant::now();
    let mut next_stats = stats.as_ref().map(|(e, _)| start + *e);
    let mut next_poll = Instant::now();
    let mut latency = Latency::new();
    loop {
        let mut idle = true;
        let mut all_done = true;
        for l in &lanes {
            let done = l.done.load(Ordering::Acquire);
            while let Some((mut b, first_ns)) = l.full.pop() {
                idle = false;
                let mut n = 0;
                let mut from = 0;
                for end in memchr::memchr_iter(b'\n', &b) {
                    if end > from {
                        deliver(&mut sinks, &b[from..end]);
                        n += 1;
                    }
                    from = end + 1;
                }
                if from < b.len() {
                    deliver(&mut sinks, &b[from..]);
                    n += 1;
                }
                latency.add(l.epoch.elapsed().as_nanos() as u64, first_ns, n);
                b.clear();
                let _ = l.free.push(b);
            }
            all_done &= done && l.full.is_empty();
        }
        let now = Instant::now();
        if let (Some(at), Some((every, probe))) = (next_stats, stats.as_mut()) {
            if now >= at {
                next_stats = Some(at + *every);
                let rec = stats_record(probe(), &sinks, &lanes, now - start);
                deliver(&mut sinks, rec.as_bytes());
            }
        }
        if all_done {
            // A last stats record with the final counters.
            if let Some((_, probe)) = stats.as_mut() {
                let rec = stats_record(probe(), &sinks, &lanes, now - start);
                deliver(&mut sinks, rec.as_bytes());
            }
            break;
        }
        if idle || now >= next_poll {
            for s in sinks.iter_mut() {
                s.sink.poll(now);
            }
            next_poll = now + Duration::from_millis(50);
        }
        if idle {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    for s in sinks.iter_mut() {
        s.sink.finish(deadline);
    }
    let stats = sinks
        .iter()
        .map(|o| (o.name.clone(), o.sink.stats()))
        .collect();
    OutputEnd {
        sinks: stats,
        cpu_s: cpu_s(),
        latency,
        peak_blocks: lanes
            .iter()
            .map(|l| l.peak.load(Ordering::Relaxed))
            .collect(),
    }
}

/// Record latency: from the moment the worker wrote the first record of a
/// block (the packet that completed it was being processed) to the moment
/// the output thread handed the block's records to the sinks. Per block,
/// counted once per record: an upper bound for every record but a block's
/// first (later ones waited less for the block to leave).
pub struct Latency(hdrhistogram::Histogram<u64>);

impl Latency {
    fn new() -> Self {
        // Microseconds, three significant digits, up to an hour.
        Latency(
            hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds"),
        )
    }

    fn add(&mut self, now_ns: u64, first_ns: u64, records: u64) {
        if records > 0 {
            let us = (now_ns.saturating_sub(first_ns) / 1000).clamp(1, 3_600_000_000);
            let _ = self.0.record_n(us, records);
        }
    }

    /// Percentiles in µs, as JSON.
    pub fn json(&self) -> Value {
        let h = &self.0;
        if h.is_empty() {
            return Value::Null;
        }
        json!({
            "records": h.len(),
            "p50_us": h.value_at_quantile(0.5),
            "p90_us": h.value_at_quantile(0.9),
            "p99_us": h.value_at_quantile(0.99),
            "p99_9_us": h.value_at_quantile(0.999),
            "max_us": h.max(),
            "basis": "block",
        })
    }
}

fn cpu_s() -> f64 {
    (dataplane::sys::thread_cpu_ns() as f64 / 1e6).round() / 1e3
}

/// What the output thread reports when it ends.
pub struct OutputEnd {
    /// Every sink's counters, by spec.
    pub sinks: Vec<(String, SinkStats)>,
    /// CPU seconds of the output thread (the control core's share).
    pub cpu_s: f64,
    /// Record latency, packet seen to record out.
    pub latency: Latency,
    /// Per worker, the most output blocks that waited at once.
    pub peak_blocks: Vec<usize>,
}

/// Counters of every sink, as a JSON object keyed by spec.
pub fn sinks_json(stats: &[(String, SinkStats)]) -> Value {
    let mut m = Map::new();
    for (name, st) in stats {
        m.insert(
            name.clone(),
            json!({
                "records": st.records,
                "delivered": st.delivered,
                "dropped": st.dropped,
                "too_large": st.too_large,
                "queue_full": st.queue_full,
                "truncated": st.truncated,
                "errors": st.errors,
                "bytes": st.bytes,
                "queued_bytes": st.queued_bytes,
            }),
        );
    }
    Value::Object(m)
}

fn stats_record(
    mut m: Map<String, Value>,
    sinks: &[Output],
    lanes: &[Arc<Lane>],
    up: Duration,
) -> String {
    let st: Vec<(String, SinkStats)> = sinks
        .iter()
        .map(|o| (o.name.clone(), o.sink.stats()))
        .collect();
    let mut rec = Map::new();
    // `type` first: outputs pick records by it.
    rec.insert("type".into(), "stats".into());
    let mut ts = Vec::new();
    dataplane::time::write_rfc3339_us(&mut ts, dataplane::time::wall_now_ns());
    rec.insert(
        "ts".into(),
        String::from_utf8_lossy(&ts).into_owned().into(),
    );
    rec.insert(
        "uptime_s".into(),
        json!((up.as_secs_f64() * 1000.0).round() / 1000.0),
    );
    m.remove("type");
    rec.extend(m);
    rec.insert("outputs".into(), sinks_json(&st));
    // Output blocks waiting per worker, now and at the peak: a backlog
    // here means the output side is the bottleneck.
    let q: Vec<usize> = lanes.iter().map(|l| l.full.len()).collect();
    rec.insert("output_blocks_queued".into(), json!(q));
    let peak: Vec<usize> = lanes
        .iter()
        .map(|l| l.peak.load(Ordering::Relaxed))
        .collect();
    rec.insert("output_blocks_peak".into(), json!(peak));
    rec.insert("output_cpu_s".into(), json!(cpu_s()));
    Value::Object(rec).to_string()
}

/// The running output thread.
pub struct Writer {
    handle: std::thread::JoinHandle<OutputEnd>,
}

/// Starts the output thread for `n` workers of `blocks` output blocks each
/// on `core`; returns the workers' ends. `wait`: workers wait for a free
/// block (replay) instead of dropping the record (live).
pub fn start(
    n: usize,
    blocks: usize,
    wait: bool,
    sinks: Vec<Output>,
    core: Option<usize>,
    stats: Option<(Duration, Probe)>,
) -> std::io::Result<(Vec<BlockOut>, Writer)> {
    let (outs, lanes) = lanes(n, blocks, wait);
    let mut sinks = sinks;
    for s in sinks.iter_mut() {
        s.sink.set_wait(wait);
    }
    let handle = std::thread::Builder::new()
        .name("wl-output".into())
        .spawn(move || {
            crate::cores::pin_to(core);
            run(lanes, sinks, stats)
        })?;
    Ok((outs, Writer { handle }))
}

impl Writer {
    /// Waits for the output thread (after every lane finished); returns
    /// every sink's counters and the thread's CPU time.
    pub fn finish(self) -> anyhow::Result<OutputEnd> {
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("output thread panicked"))
    }
}
