//! Capture sources: where frames come from.
//!
//! A source lends a *batch* of frames. [`Batch`] holds descriptors (time,
//! lengths, link type, where the bytes are), never the bytes themselves;
//! [`Capture::frame`] resolves a descriptor to a slice borrowed from the
//! source's memory (an mmap'd file, a ring, a UMEM). Descriptors are valid
//! until the next call to [`Capture::next_batch`], which is also when the
//! source takes the previous batch back: frames never outlive their batch.
//!
//! Live sources (AF_XDP, AF_PACKET) implement the same trait, so the worker
//! loop does not care where frames come from, plus [`Live`]: waiting for
//! frames without spinning, and the kernel's drop counters.

pub mod afpacket;
pub mod iface;
pub mod pcap;
pub mod xdp;
pub mod xdp_prog;

/// Link-layer framing of a captured frame (pcap LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    #[default]
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1.
    Sll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2.
    Sll2,
    /// LINKTYPE_NULL (0): BSD loopback, address family in host byte order.
    Null,
    /// LINKTYPE_LOOP (108): BSD loopback, address family in network order.
    Loop,
    /// LINKTYPE_RAW (101, and DLT_RAW 12/14): raw IPv4 or IPv6.
    Raw,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_PPP (9): PPP, optionally with HDLC address and control.
    Ppp,
    /// LINKTYPE_C_HDLC (104): Cisco HDLC, an EtherType after 2 bytes.
    CHdlc,
    /// LINKTYPE_NFLOG (239): Linux NFLOG, the packet in a TLV.
    Nflog,
    /// Anything else: frames are counted and skipped.
    Other(u32),
}

impl LinkType {
    /// Maps a pcap/pcapng link type number. The upper bits of the legacy
    /// pcap header field carry FCS information and are masked off.
    pub fn from_pcap(n: u32) -> Self {
        match n & 0x03ff_ffff {
            1 => LinkType::Ethernet,
            113 => LinkType::Sll,
            276 => LinkType::Sll2,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            9 => LinkType::Ppp,
            104 => LinkType::CHdlc,
            239 => LinkType::Nflog,
            other => LinkType::Other(other),
        }
    }

    /// The pcap LINKTYPE number written for this link type.
    pub fn to_pcap(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::Sll => 113,
            LinkType::Sll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Ppp => 9,
            LinkType::CHdlc => 104,
            LinkType::Nflog => 239,
            LinkType::Other(n) => n,
        }
    }
}

/// One frame lent by a source: where its bytes are and what it was on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameDesc {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Source-specific location of the bytes (an offset into a mapping).
    pub off: usize,
    /// Bytes captured (possibly fewer than on the wire).
    pub cap_len: u32,
    /// Bytes the frame had on the wire.
    pub wire_len: u32,
    /// Link-layer framing.
    pub link: LinkType,
}

/// A reusable batch of frame descriptors with a capacity fixed at creation.
pub struct Batch {
    frames: Vec<FrameDesc>,
    cap: usize,
}

impl Batch {
    /// A batch holding at most `cap` frames; the only allocation it makes.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            frames: Vec::with_capacity(cap),
            cap: cap.max(1),
        }
    }
    /// Frames in the batch.
    pub fn frames(&self) -> &[FrameDesc] {
        &self.frames
    }
    /// Whether another frame fits.
    pub fn is_full(&self) -> bool {
        self.frames.len() >= self.cap
    }
    /// Adds a frame; the caller checks [`Batch::is_full`] first.
    pub fn push(&mut self, f: FrameDesc) {
        debug_assert!(!self.is_full());
        self.frames.push(f);
    }
    /// Empties the batch (keeps its memory).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    /// Whether the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
    /// Capacity fixed at creation.
    pub fn capacity(&self) -> usize {
        self.cap
    }
}

/// What a call to [`Capture::next_batch`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// The batch holds frames (maybe zero, for a live source that timed out).
    Frames,
    /// The source is exhausted (end of file); the batch may still hold the
    /// last frames.
    End,
}

/// A source of frames, lent in batches.
pub trait Capture {
    /// Error type of the source.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Takes the previous batch back and fills `batch` with new frames.
    fn next_batch(&mut self, batch: &mut Batch) -> Result<Poll, Self::Error>;
    /// The bytes of a frame of the current batch.
    fn frame(&self, d: &FrameDesc) -> &[u8];
    /// Called by the worker a few times per packet it processes. A source
    /// that streams from memory (a mapped file) prefetches a share of what
    /// comes next, so the stream's misses overlap the worker's work rather
    /// than stall the next [`Capture::next_batch`] in one burst.
    #[inline]
    fn warm(&self) {}
}

/// Counters of a live source: frames it lent, and what the kernel says it
/// received and dropped before we saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames lent to the worker.
    pub frames: u64,
    /// AF_PACKET: frames dropped because the ring was full.
    pub kernel_drops: u64,
    /// AF_PACKET: times the queue was frozen.
    pub kernel_freeze_q: u64,
    /// AF_XDP: frames dropped for other reasons than a full ring (too large
    /// for a UMEM frame, for one).
    pub xdp_rx_dropped: u64,
    /// AF_XDP: invalid descriptors.
    pub xdp_rx_invalid: u64,
    /// AF_XDP: frames dropped because the RX ring was full.
    pub xdp_rx_ring_full: u64,
    /// AF_XDP: times the fill ring was empty when a frame came.
    pub xdp_fill_ring_empty: u64,
    /// AF_XDP: UMEM frames the fill ring refused back (capacity lost).
    pub xdp_frames_lost: u64,
    /// AF_XDP: frames without the XDP program's timestamp (stamped with
    /// their batch instead).
    pub xdp_no_timestamp: u64,
    /// System calls the source made to receive (AF_XDP fill-ring wakeups).
    pub syscalls: u64,
}

impl SourceStats {
    /// Frames lost before they reached us, by any kernel counter.
    pub fn drops(&self) -> u64 {
        self.kernel_drops + self.xdp_rx_dropped + self.xdp_rx_invalid + self.xdp_rx_ring_full
    }

    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &SourceStats) {
        self.frames += o.frames;
        self.kernel_drops += o.kernel_drops;
        self.kernel_freeze_q += o.kernel_freeze_q;
        self.xdp_rx_dropped += o.xdp_rx_dropped;
        self.xdp_rx_invalid += o.xdp_rx_invalid;
        self.xdp_rx_ring_full += o.xdp_rx_ring_full;
        self.xdp_fill_ring_empty += o.xdp_fill_ring_empty;
        self.xdp_frames_lost += o.xdp_frames_lost;
        self.xdp_no_timestamp += o.xdp_no_timestamp;
        self.syscalls += o.syscalls;
    }
}

/// A live source: a [`Capture`] that never ends by itself.
pub trait Live: Capture<Error = std::io::Error> + Send {
    /// Sleeps until frames may be ready or `timeout_us` passes.
    fn wait(&mut self, timeout_us: u32) -> std::io::Result<()>;
    /// Counters so far (reads the kernel's).
    fn stats(&mut self) -> std::io::Result<SourceStats>;
    /// One line saying what the source is and the mode it obtained.
    fn describe(&self) -> String;
}
