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
//! loop does not care where frames come from.

pub mod pcap;

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
}
