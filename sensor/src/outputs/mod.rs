//! The outputs: the contract every sink implements ([`Sink`]), and where
//! records go. Several at once, each with its own record types,
//! configured by `--out SPEC` (repeatable):
//!
//! ```text
//! stdout[?records=flow,http,dns,stats] (any record type)
//! file:/var/log/wirelog/flows.json[?rotate_size=100M&rotate_secs=3600&keep=10&gzip=true&records=…]
//! gelf-udp:graylog.example:12201[?compression=zlib|gzip|none&level=1&chunk_size=8192&records=…]
//! gelf-tcp:graylog.example:12201[?buffer=8M&records=…]
//! ```
//!
//! JSON lines sinks (`json.rs`) run on the output thread (`thread.rs`);
//! GELF sinks (`gelf/`) run on encoder threads of their own (`threads=N`,
//! default 1, `pool.rs`), so the control core only copies lines for them.
//! None of them blocks the output thread: a file that cannot be written
//! (disk full, directory gone) counts the records it loses and tries again
//! a second later; GELF over TCP keeps a bounded buffer while the receiver
//! is away; GELF over UDP never waits.

pub mod gelf;
pub mod json;
pub mod pool;
pub mod thread;

use std::time::Instant;

pub use json::from_spec;

/// Counters of one sink.
#[derive(Clone, Copy, Debug, Default)]
pub struct SinkStats {
    /// Records handed to the sink.
    pub records: u64,
    /// Records written or sent.
    pub delivered: u64,
    /// Records lost (every reason below included).
    pub dropped: u64,
    /// Of those: larger than the GELF cap even after truncation.
    pub too_large: u64,
    /// Of those: no room in the buffer (receiver away).
    pub queue_full: u64,
    /// Records truncated to fit (and delivered).
    pub truncated: u64,
    /// Write, send or connect errors.
    pub errors: u64,
    /// Bytes written or sent.
    pub bytes: u64,
    /// Bytes waiting in the sink's buffer.
    pub queued_bytes: u64,
}

impl SinkStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &SinkStats) {
        self.records += o.records;
        self.delivered += o.delivered;
        self.dropped += o.dropped;
        self.too_large += o.too_large;
        self.queue_full += o.queue_full;
        self.truncated += o.truncated;
        self.errors += o.errors;
        self.bytes += o.bytes;
        self.queued_bytes += o.queued_bytes;
    }
}

/// An output as configured: its spec, the record types it takes, the sink.
pub struct Output {
    /// The spec it was made from (names it in stats).
    pub name: String,
    /// Record types it takes (empty: all).
    pub records: Vec<String>,
    /// Where the records go.
    pub sink: Box<dyn Sink>,
}

impl Output {
    /// Whether the output takes records of type `t`.
    pub fn wants(&self, t: &str) -> bool {
        self.records.is_empty() || self.records.iter().any(|r| r == t)
    }
}

/// Where an output's records go.
pub trait Sink: Send {
    /// Takes one record, a JSON line as the workers wrote it.
    fn record(&mut self, line: &[u8]);
    /// Called every few ms: flush, reconnect, rotate.
    fn poll(&mut self, now: Instant);
    /// Last chance to deliver what is buffered, until `deadline`.
    fn finish(&mut self, deadline: Instant);
    /// Counters.
    fn stats(&self) -> SinkStats;
    /// Replay: wait for room rather than drop (a file does not run away).
    fn set_wait(&mut self, _wait: bool) {}
    /// The most memory its buffers and queues can hold (for the budget).
    fn memory_bytes(&self) -> usize;
}
