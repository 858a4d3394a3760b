//! A sink run on threads of its own, so the output thread on the control
//! core only copies record lines into batches: GELF conversion,
//! compression and sending (the costly part) happen on `threads` encoder
//! threads, each with its own sink (socket, compressor, buffer). Batches go
//! round-robin over bounded queues; a full queue drops the batch and counts
//! its records, so the output thread never waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use dataplane::record::MAX_RECORD;

use crate::outputs::{Sink, SinkStats};

/// Bytes of lines gathered before a batch goes to an encoder thread.
const BATCH_BYTES: usize = 64 * 1024;
/// Batches waiting per encoder thread.
const QUEUE_BATCHES: usize = 64;

struct Shared {
    queue: ArrayQueue<Vec<u8>>,
    stats: Mutex<SinkStats>,
}

/// A sink whose work runs on encoder threads.
pub struct Pool {
    shared: Vec<Arc<Shared>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    cur: Vec<u8>,
    cur_n: u64,
    next: usize,
    /// Records handed to the pool, and those it dropped itself.
    handed: u64,
    dropped: u64,
    /// Wait for a queue with room instead of dropping (replay).
    wait: bool,
    /// What the encoder threads' own sinks can hold.
    inner_bytes: usize,
}

impl Pool {
    /// Runs the sinks `make(i)` builds on `threads` threads.
    pub fn new(
        threads: usize,
        mut make: impl FnMut(usize) -> anyhow::Result<Box<dyn Sink>>,
    ) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut shared = Vec::new();
        let mut handles = Vec::new();
        let mut inner_bytes = 0;
        for i in 0..threads.max(1) {
            let mut sink = make(i)?;
            inner_bytes += sink.memory_bytes();
            let sh = Arc::new(Shared {
                queue: ArrayQueue::new(QUEUE_BATCHES),
                stats: Mutex::new(SinkStats::default()),
            });
            let (sh2, stop2) = (sh.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("wl-enc-{i}"))
                    .spawn(move || encode_loop(sink.as_mut(), &sh2, &stop2))?,
            );
            shared.push(sh);
        }
        Ok(Self {
            shared,
            handles,
            stop,
            cur: Vec::with_capacity(BATCH_BYTES + MAX_RECORD),
            cur_n: 0,
            next: 0,
            handed: 0,
            dropped: 0,
            wait: false,
            inner_bytes,
        })
    }

    fn send_batch(&mut self) {
        if self.cur_n == 0 {
            return;
        }
        let mut item =
            std::mem::replace(&mut self.cur, Vec::with_capacity(BATCH_BYTES + MAX_RECORD));
        let n = std::mem::take(&mut self.cur_n);
        let k = self.shared.len();
        // The first queue with room, starting from the next in turn.
        loop {
            for j in 0..k {
                let sh = &self.shared[(self.next + j) % k];
                match sh.queue.push(item) {
                    Ok(()) => {
                        self.next = (self.next + j + 1) % k;
                        return;
                    }
                    Err(back) => item = back,
                }
            }
            if !self.wait {
                self.dropped += n;
                return;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

fn encode_loop(sink: &mut dyn Sink, sh: &Shared, stop: &AtomicBool) {
    let mut last_poll = Instant::now();
    loop {
        match sh.queue.pop() {
            Some(batch) => {
                for line in batch.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                    sink.record(line);
                }
            }
            None => {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let now = Instant::now();
        if now - last_poll >= Duration::from_millis(50) {
            sink.poll(now);
            last_poll = now;
            *sh.stats.lock().unwrap_or_else(|e| e.into_inner()) = sink.stats();
        }
    }
    sink.finish(Instant::now() + Duration::from_secs(2));
    *sh.stats.lock().unwrap_or_else(|e| e.into_inner()) = sink.stats();
}

impl Sink for Pool {
    fn record(&mut self, line: &[u8]) {
        self.handed += 1;
        self.cur.extend_from_slice(line);
        self.cur.push(b'\n');
        self.cur_n += 1;
        if self.cur.len() >= BATCH_BYTES {
            self.send_batch();
        }
    }
    fn poll(&mut self, _now: Instant) {
        self.send_batch();
    }
    fn finish(&mut self, _deadline: Instant) {
        self.send_batch();
        self.stop.store(true, Ordering::Release);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
    fn set_wait(&mut self, wait: bool) {
        self.wait = wait;
    }
    fn memory_bytes(&self) -> usize {
        // The batch being filled, the queued batches, each thread's sink.
        let batch = BATCH_BYTES + MAX_RECORD;
        batch + self.shared.len() * QUEUE_BATCHES * batch + self.inner_bytes
    }
    fn stats(&self) -> SinkStats {
        let mut t = SinkStats::default();
        for sh in &self.shared {
            t.add(&sh.stats.lock().unwrap_or_else(|e| e.into_inner()));
        }
        // Records are counted where they enter: here, not per thread.
        t.records = self.handed;
        t.dropped += self.dropped;
        t.queue_full += self.dropped;
        t
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
