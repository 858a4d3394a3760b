//! pcap and pcapng files as a capture source.
//!
//! Plain files are memory-mapped and frames are lent straight out of the
//! mapping (zero copy). Gzip-compressed files (`.gz`, detected by their
//! magic, not their name) are inflated as a stream into one bounded buffer
//! that is refilled only between batches, so lent frames stay valid for the
//! whole batch.
//!
//! Both legacy pcap (micro- and nanosecond, either byte order) and pcapng
//! (several sections and interfaces, `if_tsresol`, `if_tsoffset`; enhanced,
//! simple and obsolete packet blocks) are read. A record cut short by the
//! end of the file is reported in [`PcapStats::truncated_tail_bytes`], not
//! treated as an error; a record whose header is impossible ends the file
//! with [`PcapStats::corrupt_at`] set.

use std::cell::Cell;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use memmap2::Mmap;

use super::{Batch, Capture, FrameDesc, LinkType, Poll};

/// The largest record accepted; larger claims mean a corrupt file.
const MAX_RECORD: usize = 16 << 20;
/// Stream buffer size for compressed input.
const STREAM_BUF: usize = 4 << 20;
/// Interfaces tracked per pcapng section.
const MAX_IFACES: usize = 256;

/// Errors opening or reading a capture file.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The file could not be opened, mapped or read.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is neither pcap nor pcapng.
    #[error("{path}: not a pcap or pcapng file (magic {magic:#010x})")]
    BadMagic {
        /// File path.
        path: String,
        /// First four bytes.
        magic: u32,
    },
    /// The file is too short to hold a header.
    #[error("{path}: file too short for a capture header")]
    Short {
        /// File path.
        path: String,
    },
}

/// What the reader saw besides frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapStats {
    /// Frames lent.
    pub frames: u64,
    /// Bytes of a last record cut short by the end of the file.
    pub truncated_tail_bytes: u64,
    /// File offset of an impossible record header, where reading stopped.
    pub corrupt_at: Option<u64>,
    /// pcapng blocks skipped (statistics, name resolution, custom ...).
    pub skipped_blocks: u64,
    /// Packets naming an interface that was never described.
    pub unknown_interface: u64,
}

#[derive(Clone, Copy, Debug)]
struct Iface {
    link: LinkType,
    units_per_sec: u64,
    offset_s: i64,
    snaplen: u32,
}

enum Format {
    Legacy {
        swap: bool,
        nanos: bool,
        link: LinkType,
    },
    Ng {
        swap: bool,
        ifaces: Vec<Iface>,
    },
}

enum Source {
    Mmap(Mmap),
    Stream {
        buf: Vec<u8>,
        rdr: Box<dyn Read + Send>,
    },
}

/// A pcap or pcapng file, lent in batches.
pub struct PcapReader {
    src: Source,
    /// Where parsing continues, relative to the buffer start.
    pos: usize,
    /// Valid bytes in the buffer.
    end: usize,
    /// Bytes consumed before the buffer start (stream mode).
    base: u64,
    /// No more input beyond `end`.
    eof: bool,
    fmt: Format,
    stats: PcapStats,
    path: String,
    /// Mapped files: bytes whose page-table entries were made ahead of
    /// parsing, and bytes prefetched into the cache (moved by
    /// [`Capture::warm`], which has only `&self`).
    populated: usize,
    prefetched: Cell<usize>,
}

/// Bytes of a mapped file mapped ahead of parsing, in one `madvise`: a
/// minor fault every 64 KiB would cost more (and prefetches into unmapped
/// pages are dropped).
const POPULATE_CHUNK: usize = 4 << 20;
/// How far ahead of the parsing position mapped bytes are prefetched:
/// record headers are a chain (each gives the next one's place), so
/// without this every frame waited for DRAM. The worker's
/// [`Capture::warm`] calls move the prefetch up to [`WARM_AHEAD`], more
/// than a batch of the largest frames, so a batch is in the cache before
/// it is read; the reader itself keeps only [`PREFETCH_AHEAD`], for when
/// they do not keep up (frames the worker never sees, small frames).
const PREFETCH_AHEAD: usize = 16 << 10;
/// See [`PREFETCH_AHEAD`].
const WARM_AHEAD: usize = 128 << 10;
/// Lines one [`Capture::warm`] call prefetches at most (a multiple of four,
/// [`PcapReader::prefetch_to`]'s turn). The worker calls it three
/// times a packet, so 24 lines (more than the mean frame) keep the prefetch
/// ahead; in one burst of 24 the reader still stalled on record headers as
/// if nothing had been prefetched (rdtsc around `next_batch`: ~70 TSC
/// cycles a frame), in three bursts of 8 it does not (~36).
const WARM_LINES: usize = 8;
const _: () = assert!(WARM_LINES.is_multiple_of(4), "warm prefetches whole turns");

enum Step {
    Frame(FrameDesc),
    Skip,
    NeedMore(usize),
    Corrupt,
}

impl PcapReader {
    /// Opens `path`, memory-mapping it, or inflating it as a stream when it
    /// is gzip-compressed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PcapError> {
        let p = path.as_ref();
        let name = p.display().to_string();
        let io = |source| PcapError::Io {
            path: name.clone(),
            source,
        };
        let mut f = File::open(p).map_err(io)?;
        let mut magic = [0u8; 2];
        let n = f.read(&mut magic).map_err(io)?;
        let src = if n == 2 && magic == [0x1f, 0x8b] {
            let f = File::open(p).map_err(io)?;
            let rdr: Box<dyn Read + Send> = Box::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::with_capacity(1 << 16, f),
            ));
            Source::Stream {
                buf: vec![0u8; STREAM_BUF],
                rdr,
            }
        } else {
            // SAFETY-free: memmap2's map is unsafe only because another
            // process may truncate the file; we read it once, front to back.
            Source::Mmap(map_file(&f).map_err(io)?)
        };
        Self::from_source(src, name)
    }

    /// Reads a capture held in memory (tests, fuzzing), through the same
    /// streaming path as a compressed file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, PcapError> {
        let rdr: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(bytes));
        Self::from_source(
            Source::Stream {
                buf: vec![0u8; 1 << 16],
                rdr,
            },
            "<memory>".into(),
        )
    }

    fn from_source(src: Source, path: String) -> Result<Self, PcapError> {
        let end = match &src {
            Source::Mmap(m) => m.len(),
            Source::Stream { .. } => 0,
        };
        let mut r = PcapReader {
            eof: matches!(src, Source::Mmap(_)),
            src,
            pos: 0,
            end,
            base: 0,
            fmt: Format::Legacy {
                swap: false,
                nanos: false,
                link: LinkType::Ethernet,
            },
            stats: PcapStats::default(),
            path,
            populated: 0,
            prefetched: Cell::new(0),
        };
        r.refill(32).map_err(|source| PcapError::Io {
            path: r.path.clone(),
            source,
        })?;
        let b = &r.buf()[..r.end];
        if b.len() < 4 {
            return Err(PcapError::Short {
                path: r.path.clone(),
            });
        }
        let magic = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match magic {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
                if b.len() < 24 {
                    return Err(PcapError::Short {
                        path: r.path.clone(),
                    });
                }
                let swap = magic == 0xd4c3_b2a1 || magic == 0x4d3c_b2a1;
                let nanos = magic == 0xa1b2_3c4d || magic == 0x4d3c_b2a1;
                let link = LinkType::from_pcap(rd32(b, 20, swap));
                r.fmt = Format::Legacy { swap, nanos, link };
                r.pos = 24;
            }
            0x0a0d_0d0a => {
                r.fmt = Format::Ng {
                    swap: false,
                    ifaces: Vec::with_capacity(8),
                };
            }
            _ => {
                return Err(PcapError::BadMagic {
                    path: r.path.clone(),
                    magic: magic.swap_bytes(),
                })
            }
        }
        Ok(r)
    }

    /// Counters gathered so far.
    pub fn stats(&self) -> PcapStats {
        self.stats
    }

    /// Link type of a legacy pcap file (pcapng files carry one per interface).
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.fmt {
            Format::Legacy { link, .. } => Some(*link),
            Format::Ng { ifaces, .. } => ifaces.first().map(|i| i.link),
        }
    }

    fn buf(&self) -> &[u8] {
        buf_of(&self.src)
    }

    /// Stream mode: moves the unparsed tail to the front and reads until at
    /// least `need` bytes are buffered or the input ends. Only called when
    /// no frame is lent.
    fn refill(&mut self, need: usize) -> std::io::Result<()> {
        let Source::Stream { buf, rdr } = &mut self.src else {
            return Ok(());
        };
        if self.pos > 0 {
            buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.base += self.pos as u64;
            self.pos = 0;
        }
        if need > buf.len() {
            buf.resize(need.min(MAX_RECORD + 64), 0);
        }
        while !self.eof && self.end < buf.len() {
            match rdr.read(&mut buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    if self.end >= need {
                        // Keep reading to fill the buffer: fewer refills.
                        continue;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Keeps a mapped file's page tables [`POPULATE_CHUNK`] and its cache
    /// [`PREFETCH_AHEAD`] ahead of the parsing position: one `madvise` per
    /// chunk, one prefetch per cache line.
    #[inline]
    fn read_ahead(&mut self) {
        let Source::Mmap(m) = &self.src else {
            return;
        };
        if self.pos + POPULATE_CHUNK > self.populated && self.populated < m.len() {
            let len = POPULATE_CHUNK.min(m.len() - self.populated);
            // Best effort: without it (before Linux 5.14) pages fault in
            // as they are touched.
            let _ = m.advise_range(memmap2::Advice::PopulateRead, self.populated, len);
            self.populated += len;
        }
        self.prefetch_to(
            m,
            (self.pos + PREFETCH_AHEAD).min(self.populated),
            usize::MAX,
        );
    }

    /// Moves the prefetch frontier (never behind the parsing position)
    /// toward `limit`, four lines a turn (a frame is ~11; the loop's
    /// compare and add cost more than the prefetch they guard), at most
    /// `turns` turns. `limit` is at most `populated <= m.len()`: inside
    /// the mapping but for up to three lines past it, and a prefetch never
    /// faults.
    #[inline(always)]
    fn prefetch_to(&self, m: &Mmap, limit: usize, turns: usize) {
        let base = m.as_ptr();
        let mut at = self.prefetched.get().max(self.pos);
        let mut n = 0;
        while at < limit && n < turns {
            for k in 0..4 {
                crate::sys::prefetch_ptr(base.wrapping_add(at + 64 * k));
            }
            at += 256;
            n += 1;
        }
        self.prefetched.set(at);
    }

    fn step(&mut self) -> Step {
        let pos = self.pos;
        let end = self.end;
        let avail = end - pos;
        match &mut self.fmt {
            Format::Legacy { swap, nanos, link } => {
                let (swap, nanos, link) = (*swap, *nanos, *link);
                if avail < 16 {
                    return Step::NeedMore(16);
                }
                let b = &buf_of(&self.src)[pos..end];
                // The record header whole, swapped (rarely) in one branch.
                let mut h = [0u32; 4];
                for (k, v) in h.iter_mut().enumerate() {
                    *v = rd32(b, 4 * k, false);
                }
                if swap {
                    h = h.map(u32::swap_bytes);
                }
                let [sec, frac, incl, orig] = h;
                let (sec, frac, incl) = (u64::from(sec), u64::from(frac), incl as usize);
                if incl > MAX_RECORD {
                    return Step::Corrupt;
                }
                if avail < 16 + incl {
                    return Step::NeedMore(16 + incl);
                }
                let ts_ns = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
                self.pos = pos + 16 + incl;
                Step::Frame(FrameDesc {
                    ts_ns,
                    off: pos + 16,
                    cap_len: incl as u32,
                    wire_len: orig.max(incl as u32),
                    link,
                })
            }
            Format::Ng { .. } => self.step_ng(),
        }
    }

    fn step_ng(&mut self) -> Step {
        let pos = self.pos;
        let avail = self.end - pos;
        if avail < 12 {
            return Step::NeedMore(12);
        }
        let Format::Ng { swap, .. } = &self.fmt else {
            unreachable!()
        };
        let mut swap = *swap;
        let b = &buf_of(&self.src)[pos..self.end];
        let raw_type = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if raw_type == 0x0a0d_0d0a {
            // Section header: the byte-order magic decides this section's order.
            let bom = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
            swap = match bom {
                0x1a2b_3c4d => false,
                0x4d3c_2b1a => true,
                _ => return Step::Corrupt,
            };
        }
        let btype = rd32(b, 0, swap);
        let blen = rd32(b, 4, swap) as usize;
        if blen < 12 || !blen.is_multiple_of(4) || blen > MAX_RECORD {
            return Step::Corrupt;
        }
        if avail < blen {
            return Step::NeedMore(blen);
        }
        let body = &b[8..blen - 4];
        let Format::Ng {
            swap: sswap,
            ifaces,
        } = &mut self.fmt
        else {
            unreachable!()
        };
        let mut out = Step::Skip;
        match btype {
            0x0a0d_0d0a => {
                *sswap = swap;
                ifaces.clear();
            }
            1 => {
                if body.len() < 8 {
                    return Step::Corrupt;
                }
                let mut iface = Iface {
                    link: LinkType::from_pcap(rd16(body, 0, swap) as u32),
                    units_per_sec: 1_000_000,
                    offset_s: 0,
                    snaplen: rd32(body, 4, swap),
                };
                let mut o = 8;
                while o + 4 <= body.len() {
                    let code = rd16(body, o, swap);
                    let len = rd16(body, o + 2, swap) as usize;
                    let v = o + 4;
                    if code == 0 || v + len > body.len() {
                        break;
                    }
                    match (code, len) {
                        (9, 1) => {
                            let r = body[v];
                            iface.units_per_sec = if r & 0x80 != 0 {
                                1u64 << (r & 0x7f).min(63)
                            } else {
                                10u64.pow(u32::from(r.min(19)))
                            };
                        }
                        (14, 8) => iface.offset_s = rd64(body, v, swap) as i64,
                        _ => {}
                    }
                    o = v + len.div_ceil(4) * 4;
                }
                if ifaces.len() < MAX_IFACES {
                    ifaces.push(iface);
                }
            }
            6 | 2 => {
                if body.len() < 20 {
                    return Step::Corrupt;
                }
                let id = if btype == 6 {
                    rd32(body, 0, swap) as usize
                } else {
                    rd16(body, 0, swap) as usize
                };
                let ts = (u64::from(rd32(body, 4, swap)) << 32) | u64::from(rd32(body, 8, swap));
                let cap = rd32(body, 12, swap) as usize;
                let orig = rd32(body, 16, swap);
                match ifaces.get(id) {
                    Some(i) if 20 + cap <= body.len() => {
                        out = Step::Frame(FrameDesc {
                            ts_ns: ts_to_ns(ts, i.units_per_sec, i.offset_s),
                            off: pos + 8 + 20,
                            cap_len: cap as u32,
                            wire_len: orig.max(cap as u32),
                            link: i.link,
                        });
                    }
                    Some(_) => return Step::Corrupt,
                    None => self.stats.unknown_interface += 1,
                }
            }
            3 => {
                if body.len() < 4 {
                    return Step::Corrupt;
                }
                let orig = rd32(body, 0, swap);
                match ifaces.first() {
                    Some(i) => {
                        let mut cap = (orig as usize).min(body.len() - 4);
                        if i.snaplen != 0 {
                            cap = cap.min(i.snaplen as usize);
                        }
                        out = Step::Frame(FrameDesc {
                            // Simple packet blocks carry no time.
                            ts_ns: 0,
                            off: pos + 8 + 4,
                            cap_len: cap as u32,
                            wire_len: orig.max(cap as u32),
                            link: i.link,
                        });
                    }
                    None => self.stats.unknown_interface += 1,
                }
            }
            _ => self.stats.skipped_blocks += 1,
        }
        self.pos = pos + blen;
        out
    }
}

impl Capture for PcapReader {
    type Error = std::io::Error;

    fn next_batch(&mut self, batch: &mut Batch) -> Result<Poll, std::io::Error> {
        batch.clear();
        loop {
            if batch.is_full() {
                return Ok(Poll::Frames);
            }
            match self.step() {
                Step::Frame(d) => {
                    self.stats.frames += 1;
                    batch.push(d);
                    self.read_ahead();
                }
                Step::Skip => {}
                Step::NeedMore(n) => {
                    if !self.eof {
                        if !batch.is_empty() {
                            // Frames are lent from the buffer: refill next call.
                            return Ok(Poll::Frames);
                        }
                        self.refill(n)?;
                        continue;
                    }
                    let rest = (self.end - self.pos) as u64;
                    self.stats.truncated_tail_bytes += rest;
                    self.pos = self.end;
                    return Ok(Poll::End);
                }
                Step::Corrupt => {
                    self.stats.corrupt_at = Some(self.base + self.pos as u64);
                    self.pos = self.end;
                    self.eof = true;
                    return Ok(Poll::End);
                }
            }
        }
    }

    #[inline]
    fn frame(&self, d: &FrameDesc) -> &[u8] {
        &self.buf()[d.off..d.off + d.cap_len as usize]
    }

    #[inline]
    fn warm(&self) {
        if let Source::Mmap(m) = &self.src {
            self.prefetch_to(
                m,
                (self.pos + WARM_AHEAD).min(self.populated),
                WARM_LINES / 4,
            );
        }
    }
}

fn ts_to_ns(ts: u64, units_per_sec: u64, offset_s: i64) -> u64 {
    let ups = units_per_sec.max(1);
    let secs = (ts / ups) as i64 + offset_s;
    let frac = ((ts % ups) as u128 * 1_000_000_000u128 / ups as u128) as u64;
    (secs.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(frac)
}

fn buf_of(src: &Source) -> &[u8] {
    match src {
        Source::Mmap(m) => m,
        Source::Stream { buf, .. } => buf,
    }
}

#[inline]
fn rd16(b: &[u8], o: usize, swap: bool) -> u16 {
    let v = u16::from_le_bytes([b[o], b[o + 1]]);
    if swap {
        v.swap_bytes()
    } else {
        v
    }
}
#[inline]
fn rd32(b: &[u8], o: usize, swap: bool) -> u32 {
    let v = u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    if swap {
        v.swap_bytes()
    } else {
        v
    }
}
#[inline]
fn rd64(b: &[u8], o: usize, swap: bool) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    let v = u64::from_le_bytes(a);
    if swap {
        v.swap_bytes()
    } else {
        v
    }
}

#[allow(unsafe_code)]
fn map_file(f: &File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and private to this reader. If another
    // process truncates the file while we read it, accesses past the new end
    // raise SIGBUS; capture files are not rewritten in place by their writers
    // once closed, and this is the documented contract of replay.
    let m = unsafe { Mmap::map(f)? };
    let _ = m.advise(memmap2::Advice::Sequential);
    // Pages read in through this mapping come as huge folios, mapped 2 MiB
    // at a time: a 4 KiB page every few frames cost a TLB walk (and its
    // populate) per page, a tenth of a replay's time.
    let _ = m.advise(memmap2::Advice::HugePage);
    Ok(m)
}

/// Writes a legacy pcap (microsecond) file header; for tools and tests.
pub fn write_header(out: &mut Vec<u8>, link: LinkType, snaplen: u32) {
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&link.to_pcap().to_le_bytes());
}

/// Appends one legacy pcap record (microsecond time).
pub fn write_record(out: &mut Vec<u8>, ts_ns: u64, frame: &[u8], wire_len: u32) {
    out.extend_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(((ts_ns % 1_000_000_000) / 1000) as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&wire_len.to_le_bytes());
    out.extend_from_slice(frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    type Frames = Vec<(u64, Vec<u8>, u32, LinkType)>;

    fn read_all(bytes: Vec<u8>) -> (Frames, PcapStats) {
        let mut r = PcapReader::from_bytes(bytes).unwrap();
        let mut b = Batch::with_capacity(3);
        let mut out = Vec::new();
        loop {
            let p = r.next_batch(&mut b).unwrap();
            for d in b.frames() {
                out.push((d.ts_ns, r.frame(d).to_vec(), d.wire_len, d.link));
            }
            if p == Poll::End {
                break;
            }
        }
        (out, r.stats())
    }

    fn legacy(n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        write_header(&mut v, LinkType::Ethernet, 65535);
        for i in 0..n {
            write_record(&mut v, 1_000_000_000 * i as u64 + 5_000, &[i as u8; 20], 60);
        }
        v
    }

    #[test]
    fn legacy_roundtrip() {
        let (f, s) = read_all(legacy(7));
        assert_eq!(f.len(), 7);
        assert_eq!(f[3], (3_000_005_000, vec![3u8; 20], 60, LinkType::Ethernet));
        assert_eq!(s.truncated_tail_bytes, 0);
    }

    /// A mapped file longer than several read-ahead chunks (and not a
    /// multiple of one) gives every frame, as read from memory, whether the
    /// worker's warm calls keep the prefetch ahead, let it fall behind, or
    /// run it up to its limit.
    #[test]
    fn mapped_file_past_read_ahead_chunks() {
        let mut v = Vec::new();
        write_header(&mut v, LinkType::Ethernet, 65535);
        let mut i = 0u64;
        while v.len() < 2 * POPULATE_CHUNK + 12_345 {
            let len = 60 + (i as usize * 7919) % 1400;
            write_record(&mut v, 1_000 * i, &vec![i as u8; len], len as u32);
            i += 1;
        }
        let path = std::env::temp_dir().join(format!("wl-readahead-{}.pcap", std::process::id()));
        std::fs::write(&path, &v).unwrap();
        let mut r = PcapReader::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut b = Batch::with_capacity(64);
        let mut got = Vec::new();
        for turn in 0.. {
            let p = r.next_batch(&mut b).unwrap();
            for d in b.frames() {
                got.push((d.ts_ns, r.frame(d).to_vec()));
            }
            for _ in 0..[0, 1, 64, 5000][turn % 4] {
                r.warm();
            }
            if p == Poll::End {
                break;
            }
        }
        let (want, _) = read_all(v);
        assert_eq!(got.len(), i as usize);
        assert!(got
            .iter()
            .map(|(t, f)| (t, f))
            .eq(want.iter().map(|w| (&w.0, &w.1))));
    }

    #[test]
    fn truncated_tail_at_every_length_is_reported_not_fatal() {
        let full = legacy(3);
        let last = 24 + 2 * 36;
        for cut in last + 1..full.len() {
            let (f, s) = read_all(full[..cut].to_vec());
            assert_eq!(f.len(), 2, "cut at {cut}");
            assert_eq!(s.truncated_tail_bytes, (cut - last) as u64);
        }
    }

    #[test]
    fn header_too_short_or_wrong_is_an_error() {
        for cut in 0..24 {
            assert!(PcapReader::from_bytes(legacy(1)[..cut].to_vec()).is_err());
        }
        assert!(matches!(
            PcapReader::from_bytes(vec![0x12; 64]),
            Err(PcapError::BadMagic { .. })
        ));
    }

    #[test]
    fn big_endian_nanosecond() {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_3c4du32.to_be_bytes());
        v.extend_from_slice(&[
            0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 101,
        ]);
        v.extend_from_slice(&7u32.to_be_bytes());
        v.extend_from_slice(&9u32.to_be_bytes());
        v.extend_from_slice(&4u32.to_be_bytes());
        v.extend_from_slice(&4u32.to_be_bytes());
        v.extend_from_slice(&[0x45, 0, 0, 4]);
        let (f, _) = read_all(v);
        assert_eq!(
            f,
            vec![(7_000_000_009, vec![0x45, 0, 0, 4], 4, LinkType::Raw)]
        );
    }

    fn ng_block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = 12 + body.len().div_ceil(4) * 4;
        let mut v = Vec::new();
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len - 4, 0);
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v
    }

    #[test]
    fn pcapng_sections_interfaces_tsresol() {
        let mut v = ng_block(
            0x0a0d_0d0a,
            &[
                0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        );
        // IDB: ethernet, tsresol 10^-9.
        v.extend(ng_block(
            1,
            &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
        ));
        // IDB: SLL2, default microseconds.
        v.extend(ng_block(1, &[0x14, 1, 0, 0, 0, 0, 0, 0]));
        let mut epb = Vec::new();
        epb.extend_from_slice(&1u32.to_le_bytes());
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&2_000_001u32.to_le_bytes());
        epb.extend_from_slice(&3u32.to_le_bytes());
        epb.extend_from_slice(&90u32.to_le_bytes());
        epb.extend_from_slice(&[1, 2, 3]);
        v.extend(ng_block(6, &epb));
        v.extend(ng_block(5, &[0; 8])); // statistics: skipped
        epb[0] = 0;
        v.extend(ng_block(6, &epb));
        epb[0] = 9; // undefined interface
        v.extend(ng_block(6, &epb));
        let (f, s) = read_all(v);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], (2_000_001_000, vec![1, 2, 3], 90, LinkType::Sll2));
        assert_eq!(f[1].0, 2_000_001);
        assert_eq!(f[1].3, LinkType::Ethernet);
        assert_eq!(s.skipped_blocks, 1);
        assert_eq!(s.unknown_interface, 1);
    }

    #[test]
    fn corrupt_length_stops_with_offset() {
        let mut v = legacy(2);
        v[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let (f, s) = read_all(v);
        assert!(f.is_empty());
        assert_eq!(s.corrupt_at, Some(24));
    }
}
