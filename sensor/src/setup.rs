//! What replay, live capture and `bench memory` size from the options: the
//! workers, the memory budget and its split, and the settings every
//! capture thread and worker starts from. The threads' data path itself is
//! [`dataplane::pipeline`].

use anyhow::{bail, Context, Result};
use dataplane::decode::DecodeConfig;
use dataplane::filter::Filter;
use dataplane::pipeline::Front;
use dataplane::worker::WorkerConfig;

use crate::outputs::thread::{BLOCK_BYTES, MIN_BLOCKS};

/// What replay and live capture share: workers, the budget, and the
/// settings every capture thread and worker starts from.
pub struct Setup {
    /// Workers.
    pub workers: usize,
    /// Budget in bytes.
    pub memory: usize,
    /// Worker settings (flows per worker filled in by [`Setup::size_flows`]).
    pub worker: WorkerConfig,
    /// Bytes of the application layer, all workers together.
    pub app_memory: usize,
    /// Decoder settings.
    pub decode: DecodeConfig,
    /// Filter.
    pub filter: Filter,
    /// Keep one flow in this many (0 or 1: all).
    pub sample: u32,
    /// Duplicate window, ns.
    pub dedup_ns: u64,
    /// Core pinning.
    pub profile: Option<tuning::Profile>,
    /// Memory of the outputs' buffers and queues ([`crate::outputs::Sink::memory_bytes`]).
    pub sinks_bytes: usize,
    /// Output blocks per worker ([`Setup::handoff_blocks`] for a live
    /// capture, [`MIN_BLOCKS`] where workers wait for a free block).
    pub blocks: usize,
}

impl Setup {
    /// Output blocks per worker of a live capture: a sixteenth of the
    /// budget, shared by the workers, between 8 and 1024 blocks of 256 KiB.
    /// A live worker drops a record when it finds no free block, so these
    /// are what carries it through a stall of the output thread: at the
    /// default 128 MiB, 32 blocks (8 MiB), about half a second of the
    /// enterprise mix's flow records at 250,000 frames/s.
    pub fn handoff_blocks(&self) -> usize {
        (self.memory / 16 / self.workers.max(1) / BLOCK_BYTES).clamp(MIN_BLOCKS, 1024)
    }

    /// A capture thread's front.
    pub fn front(&self, pace: bool) -> Result<Front> {
        Front::new(&self.decode, self.dedup_ns, &self.filter, self.sample, pace)
            .context("reassembly table")
    }

    /// Output blocks of every worker, and what the outputs' own buffers
    /// and queues can hold.
    pub fn output_bytes(&self) -> usize {
        self.workers * self.blocks * BLOCK_BYTES + self.sinks_bytes
    }

    /// One reassembly table.
    pub fn frag_bytes(&self) -> usize {
        dataplane::decode::frag::FragTable::memory_bytes(
            self.decode.frag_slots,
            self.decode.frag_max_bytes,
        )
    }

    /// Gives the flow tables what the budget leaves after `fixed` bytes
    /// (`what` says what those are, for the error).
    pub fn size_flows(&mut self, fixed: usize, what: &str) -> Result<()> {
        use dataplane::flow::BYTES_PER_FLOW;
        let fixed = if self.worker.app.any() {
            self.worker.app.resize(self.app_memory / self.workers);
            fixed + self.worker.app.memory_bytes() * self.workers
        } else {
            fixed
        };
        let min = fixed + self.workers * 16 * BYTES_PER_FLOW;
        if self.memory < min {
            bail!(
                "--memory {} MiB is too small for {what}: at least {} MiB is needed",
                self.memory >> 20,
                min.div_ceil(1 << 20)
            );
        }
        self.worker.flows = (self.memory - fixed) / BYTES_PER_FLOW / self.workers;
        Ok(())
    }

    pub fn worker_core(&self, i: usize) -> Option<usize> {
        self.profile.as_ref().map(|p| p.worker_core(i))
    }

    pub fn control_core(&self) -> Option<usize> {
        self.profile.as_ref().map(|p| p.control_core)
    }
}
