//! Captures made of public traces, copied with rewritten addresses.
//!
//! [`Traces`] holds every Ethernet/IPv4 frame of some capture files once.
//! Copy `k` of a frame has the second octet of both addresses XORed with
//! `k` (each copy is its own set of flows and both directions stay paired)
//! and its time shifted by `k` ns; files are placed one after another in
//! time, a second apart. `corpus-mix` writes the copies to a pcap file;
//! [`MemCapture`] hands them to a worker from memory, the way a capture
//! ring would: each batch is written into a small buffer that stays in the
//! cache, so what the worker costs is measured without the cost of
//! streaming a file from DRAM.

use anyhow::{bail, Result};
use dataplane::capture::pcap::PcapReader;
use dataplane::capture::{Batch, Capture, FrameDesc, LinkType, Poll};

/// Offsets of the bytes a copy rewrites: IPv4 source and destination,
/// second octet.
const REWRITE: [usize; 2] = [14 + 13, 14 + 17];

#[derive(Clone, Copy)]
struct Base {
    off: usize,
    len: u32,
    wire: u32,
    ts: u64,
}

/// The Ethernet/IPv4 frames of some capture files, in memory.
pub struct Traces {
    data: Vec<u8>,
    frames: Vec<Base>,
    max_len: usize,
}

impl Traces {
    /// Reads every Ethernet/IPv4 frame of `paths` (other frames are left out).
    pub fn load(paths: &[String]) -> Result<Self> {
        let mut t = Traces {
            data: Vec::new(),
            frames: Vec::new(),
            max_len: 0,
        };
        let mut base = 1_600_000_000_000_000_000u64;
        for path in paths {
            let mut r = PcapReader::open(path)?;
            let mut b = Batch::with_capacity(256);
            let (mut first, mut last) = (None, 0u64);
            loop {
                let p = r.next_batch(&mut b)?;
                for d in b.frames() {
                    let f = r.frame(d);
                    if d.link != LinkType::Ethernet || f.len() < 34 || f[12..14] != [0x08, 0x00] {
                        continue;
                    }
                    let t0 = *first.get_or_insert(d.ts_ns);
                    let ts = base + d.ts_ns.saturating_sub(t0);
                    last = last.max(ts);
                    t.frames.push(Base {
                        off: t.data.len(),
                        len: f.len() as u32,
                        wire: d.wire_len,
                        ts,
                    });
                    t.data.extend_from_slice(f);
                    t.max_len = t.max_len.max(f.len());
                }
                if p == Poll::End {
                    break;
                }
            }
            // A file with no frame taken leaves the clock where it was.
            base = base.max(last) + 1_000_000_000;
        }
        if t.frames.is_empty() {
            bail!("no Ethernet/IPv4 frame in {}", paths.join(", "));
        }
        Ok(t)
    }

    /// Frames of one copy.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame was loaded (never true after [`Traces::load`]).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frame bytes of one copy.
    pub fn bytes(&self) -> u64 {
        self.data.len() as u64
    }

    /// Copy `k` of frame `i`, appended to `out`; returns its time and
    /// original length on the wire.
    pub fn copy_into(&self, i: usize, k: u32, out: &mut Vec<u8>) -> (u64, u32) {
        let b = self.frames[i];
        let at = out.len();
        out.extend_from_slice(&self.data[b.off..b.off + b.len as usize]);
        for o in REWRITE {
            out[at + o] ^= k as u8;
        }
        (b.ts + u64::from(k), b.wire)
    }
}

/// Writes frames one at a time (trace copies, a generator).
pub trait FrameSource {
    /// Appends the next frame to `out`; its time and length on the wire,
    /// or `None` at the end.
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Option<(u64, u32)>;
    /// The longest frame it writes.
    fn max_frame(&self) -> usize;
}

/// Copies of [`Traces`], frame by frame: the copies `k ≡ lane (mod lanes)`
/// of `0..copies`, so `lanes` workers each get a disjoint set of flows.
pub struct Copies<'a> {
    t: &'a Traces,
    copies: u32,
    lanes: u32,
    lane: u32,
    i: usize,
    k: u32,
}

impl<'a> Copies<'a> {
    /// Lane `lane` of `lanes`. `copies` must be at most 256 (the rewrite
    /// is one octet).
    pub fn new(t: &'a Traces, copies: u32, lane: u32, lanes: u32) -> Result<Self> {
        if copies == 0 || copies > 256 {
            bail!("copies must be 1..=256, not {copies}");
        }
        if lanes == 0 || lane >= lanes {
            bail!("lane {lane} of {lanes}");
        }
        Ok(Self {
            t,
            copies,
            lanes,
            lane,
            i: 0,
            k: lane,
        })
    }
}

impl FrameSource for Copies<'_> {
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Option<(u64, u32)> {
        if self.k >= self.copies {
            self.i += 1;
            self.k = self.lane;
        }
        if self.i >= self.t.len() || self.lane >= self.copies {
            return None;
        }
        let r = self.t.copy_into(self.i, self.k, out);
        self.k += self.lanes;
        Some(r)
    }

    fn max_frame(&self) -> usize {
        self.t.max_len
    }
}

/// A generator's first `left` frames.
pub struct Limited {
    /// The generator (its counts are what was produced).
    pub g: crate::profile::Generator,
    /// Frames still to produce.
    pub left: u64,
}

impl FrameSource for Limited {
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Option<(u64, u32)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = out.len();
        let ts = self.g.next_frame(out);
        Some((ts, (out.len() - at) as u32))
    }

    fn max_frame(&self) -> usize {
        1514
    }
}

/// A [`FrameSource`] as a capture source: each batch is written into one
/// buffer, sized once, that stays in the cache.
pub struct MemCapture<S> {
    /// Where the frames come from.
    pub src: S,
    arena: Vec<u8>,
}

impl<S: FrameSource> MemCapture<S> {
    /// A capture of `src` for batches of up to `batch` frames.
    pub fn new(src: S, batch: usize) -> Self {
        let arena = Vec::with_capacity(batch * src.max_frame());
        Self { src, arena }
    }
}

impl<S: FrameSource> Capture for MemCapture<S> {
    type Error = std::io::Error;

    fn next_batch(&mut self, batch: &mut Batch) -> Result<Poll, std::io::Error> {
        batch.clear();
        self.arena.clear();
        while !batch.is_full() {
            let off = self.arena.len();
            let Some((ts_ns, wire_len)) = self.src.next_frame(&mut self.arena) else {
                return Ok(Poll::End);
            };
            batch.push(FrameDesc {
                ts_ns,
                off,
                cap_len: (self.arena.len() - off) as u32,
                wire_len,
                link: LinkType::Ethernet,
            });
        }
        Ok(Poll::Frames)
    }

    #[inline]
    fn frame(&self, d: &FrameDesc) -> &[u8] {
        &self.arena[d.off..d.off + d.cap_len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traces() -> Traces {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/zeek/Traces"
        );
        Traces::load(&[format!("{dir}/http/100-continue.pcap")]).expect("corpus trace")
    }

    #[test]
    fn lanes_split_the_copies_and_rewrite_both_addresses() {
        let t = traces();
        let mut per_copy = [0usize; 8];
        for lane in 0..3 {
            let mut c = MemCapture::new(Copies::new(&t, 8, lane, 3).unwrap(), 16);
            let mut b = Batch::with_capacity(16);
            let want = (0..t.len()).flat_map(|i| (lane..8).step_by(3).map(move |k| (i, k)));
            let mut want = want.peekable();
            loop {
                let p = c.next_batch(&mut b).unwrap();
                for d in b.frames() {
                    let (i, k) = want.next().expect("more frames than copies");
                    let mut exp = Vec::new();
                    let (ts, wire) = t.copy_into(i, k, &mut exp);
                    assert_eq!((c.frame(d), d.ts_ns, d.wire_len), (&exp[..], ts, wire));
                    let mut orig = Vec::new();
                    t.copy_into(i, 0, &mut orig);
                    for o in REWRITE {
                        assert_eq!(exp[o], orig[o] ^ k as u8);
                    }
                    per_copy[k as usize] += 1;
                }
                if p == Poll::End {
                    break;
                }
            }
            assert!(want.peek().is_none(), "lane {lane} ended early");
        }
        assert_eq!(per_copy, [t.len(); 8]);
    }
}
