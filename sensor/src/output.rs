//! Record output: workers fill fixed-size blocks with JSON lines; the
//! output thread (on the control core) writes whole blocks and hands them
//! back. Blocks are preallocated per worker; a worker never allocates for
//! output. In replay a worker waits for a free block (a file does not run
//! away); a live capture drops the record and counts it instead.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use dataplane::record::{RecordOut, MAX_RECORD};

/// Size of one output block.
pub const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks per worker.
pub const BLOCKS_PER_WORKER: usize = 8;

/// One worker's queues to the output thread.
pub struct Lane {
    full: ArrayQueue<Vec<u8>>,
    free: ArrayQueue<Vec<u8>>,
    done: AtomicBool,
}

impl Lane {
    fn new() -> Self {
        let free = ArrayQueue::new(BLOCKS_PER_WORKER);
        for _ in 0..BLOCKS_PER_WORKER {
            let _ = free.push(Vec::with_capacity(BLOCK_BYTES));
        }
        Self {
            full: ArrayQueue::new(BLOCKS_PER_WORKER),
            free,
            done: AtomicBool::new(false),
        }
    }
}

/// The worker's end: a [`RecordOut`].
pub struct BlockOut {
    lane: Arc<Lane>,
    cur: Option<Vec<u8>>,
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
            let _ = self.lane.full.push(b);
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
        self.cur.as_mut()
    }

    fn flush(&mut self) {
        self.submit();
    }
}

/// Output counters.
#[derive(Default)]
pub struct OutputStats {
    /// Bytes written.
    pub bytes: AtomicU64,
    /// Write errors.
    pub errors: AtomicU64,
}

/// Creates one lane per worker; returns the workers' ends and the lanes.
fn lanes(n: usize, wait: bool) -> (Vec<BlockOut>, Vec<Arc<Lane>>) {
    let lanes: Vec<Arc<Lane>> = (0..n).map(|_| Arc::new(Lane::new())).collect();
    let outs = lanes
        .iter()
        .map(|l| BlockOut {
            lane: l.clone(),
            cur: None,
            wait,
        })
        .collect();
    (outs, lanes)
}

/// The output loop: writes blocks from every lane until all are done.
pub fn run(
    lanes: Vec<Arc<Lane>>,
    mut sink: Box<dyn Write + Send>,
    stats: Arc<OutputStats>,
) -> std::io::Result<()> {
    let mut first_err: Option<std::io::Error> = None;
    loop {
        let mut idle = true;
        let mut all_done = true;
        for l in &lanes {
            let done = l.done.load(Ordering::Acquire);
            while let Some(mut b) = l.full.pop() {
                idle = false;
                match sink.write_all(&b) {
                    Ok(()) => {
                        stats.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    }
                    Err(e) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        first_err.get_or_insert(e);
                    }
                }
                b.clear();
                let _ = l.free.push(b);
            }
            all_done &= done && l.full.is_empty();
        }
        if all_done {
            break;
        }
        if idle {
            let _ = sink.flush();
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
    if let Err(e) = sink.flush() {
        first_err.get_or_insert(e);
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The running output thread.
pub struct Writer {
    stats: Arc<OutputStats>,
    handle: std::thread::JoinHandle<std::io::Result<()>>,
}

/// Starts the output thread for `n` workers on `core`; returns the
/// workers' ends. `wait`: workers wait for a free block (replay) instead
/// of dropping the record (live).
pub fn start(
    n: usize,
    wait: bool,
    sink: Box<dyn Write + Send>,
    core: Option<usize>,
) -> std::io::Result<(Vec<BlockOut>, Writer)> {
    let (outs, lanes) = lanes(n, wait);
    let stats = Arc::new(OutputStats::default());
    let st = stats.clone();
    let handle = std::thread::Builder::new()
        .name("wl-output".into())
        .spawn(move || {
            crate::pipeline::pin_to(core);
            run(lanes, sink, st)
        })?;
    Ok((outs, Writer { stats, handle }))
}

impl Writer {
    /// Waits for the output thread (after every lane finished); returns
    /// the bytes written. A reader that went away (a closed pipe) is not
    /// an error.
    pub fn finish(self) -> anyhow::Result<u64> {
        use anyhow::Context;
        let r = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("output thread panicked"))?;
        if let Err(e) = r {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(e).context("writing records");
            }
        }
        Ok(self.stats.bytes.load(Ordering::Relaxed))
    }
}
