//! The capture side of one thread: the decoder, the duplicate window, the
//! filter and flow sampling, and the payloads of a decoded batch as a
//! worker reads them (from the frames, or from the reassembly table).

use std::time::{Duration, Instant};

use crate::capture::{Batch, Capture, FrameDesc, LinkType};
use crate::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use crate::dedup::Dedup;
use crate::filter::Filter;
use crate::worker::Payloads;

use super::DECODED_PER_BATCH;

/// One packet in this many has its frame's checksums checked (for the
/// mirror health summary; ~1 KB summed every 256 packets costs a few
/// cycles a packet, and a mirror carries offload artifacts, so nothing is
/// dropped for a bad one).
pub const CHECKSUM_SAMPLE: u32 = 256;

/// The capture side of one thread: decoder, duplicate filter, filter.
pub struct Front {
    pub dec: Decoder,
    /// For each packet of the last decoded batch, its frame in the batch.
    origin: Vec<u16>,
    pub dedup: Dedup,
    /// `None` when it lets everything through (then nothing is checked).
    filter: Option<Filter>,
    pub filtered: u64,
    /// Keep one flow in this many (≤ 1: all).
    sample: u32,
    /// Frames whose checksums were checked (one packet in
    /// [`CHECKSUM_SAMPLE`]), and of those the ones with a bad one.
    pub checksums_checked: u64,
    pub checksums_bad: u64,
    checksum_countdown: u32,
    paced: Option<(u64, Instant)>,
    pace: bool,
}

impl Front {
    pub fn new(
        decode: &DecodeConfig,
        dedup_ns: u64,
        filter: &Filter,
        sample: u32,
        pace: bool,
    ) -> std::io::Result<Self> {
        Ok(Self {
            // The error is the reassembly table's (its memory).
            dec: Decoder::new(decode.clone())?,
            origin: Vec::with_capacity(DECODED_PER_BATCH),
            dedup: Dedup::new(dedup_ns),
            filter: (!filter.is_empty()).then(|| filter.clone()),
            filtered: 0,
            sample,
            checksums_checked: 0,
            checksums_bad: 0,
            checksum_countdown: CHECKSUM_SAMPLE,
            paced: None,
            pace,
        })
    }

    /// Decodes a batch into `out` (tracked packets, outer tunnel packets first).
    #[inline]
    pub fn decode_batch<C: Capture>(&mut self, src: &C, batch: &Batch, out: &mut Vec<Decoded>) {
        out.clear();
        self.origin.clear();
        for (fi, f) in batch.frames().iter().enumerate() {
            let bytes = src.frame(f);
            if self.pace {
                self.wait_for(f.ts_ns);
            }
            if self.dedup.is_duplicate(bytes, f.ts_ns) {
                continue;
            }
            // Decoded in place: building it apart and copying it in
            // stalled on every packet (its fields are written one by one,
            // the copy reads them 16 bytes at a time).
            let at = out.len();
            out.push(Decoded::EMPTY);
            let r = self.dec.decode(bytes, f.link, f.ts_ns, &mut out[at]);
            if !self.dec.outers().is_empty() {
                // Outer tunnel packets go first (rare: moved aside).
                let d = out.pop().unwrap_or(Decoded::EMPTY);
                for o in self.dec.outers() {
                    if self.passes(o) {
                        out.push(*o);
                        self.origin.push(fi as u16);
                    }
                }
                out.push(d);
            }
            let last = out.len() - 1;
            if r != Outcome::Packet {
                out.truncate(last);
            } else if self.passes(&out[last]) {
                self.origin.push(fi as u16);
                self.checksum_countdown -= 1;
                if self.checksum_countdown == 0 {
                    self.sample_checksums(f, bytes);
                }
            } else {
                out.truncate(last);
                self.filtered += 1;
            }
        }
    }

    /// Checks a whole Ethernet frame's checksums, for the mirror health
    /// summary only (a mirror carries offload artifacts; nothing is dropped
    /// for them).
    #[cold]
    fn sample_checksums(&mut self, f: &FrameDesc, bytes: &[u8]) {
        use crate::decode::checksum::{check_frame, Verdict};
        self.checksum_countdown = CHECKSUM_SAMPLE;
        if f.link != LinkType::Ethernet || f.cap_len != f.wire_len {
            return;
        }
        match check_frame(bytes) {
            Verdict::Good => self.checksums_checked += 1,
            Verdict::Bad => {
                self.checksums_checked += 1;
                self.checksums_bad += 1;
            }
            Verdict::Skipped => {}
        }
    }

    /// Whether the packet passes the filter and is in the flow sample
    /// (the XDP program applies both alike where it can decide).
    #[inline]
    fn passes(&self, d: &Decoded) -> bool {
        self.filter.as_ref().is_none_or(|f| f.pass(d)) && crate::filter::sampled(d, self.sample)
    }

    /// The payload of packet `i` of the last decoded batch (from its frame,
    /// or from the reassembly table), valid until the batch is returned.
    #[inline]
    pub fn payload_of<'a, C: Capture>(
        &'a self,
        src: &'a C,
        batch: &Batch,
        i: usize,
        d: &Decoded,
    ) -> &'a [u8] {
        let frame = match self.origin.get(i) {
            Some(&fi) => src.frame(&batch.frames()[fi as usize]),
            None => &[],
        };
        self.dec.payload(frame, &d.payload)
    }

    fn wait_for(&mut self, ts: u64) {
        let (t0, w0) = *self.paced.get_or_insert((ts, Instant::now()));
        let due = Duration::from_nanos(ts.saturating_sub(t0));
        let el = w0.elapsed();
        if due > el + Duration::from_micros(200) {
            std::thread::sleep(due - el);
        }
    }
}

/// Payloads of a decoded batch, from its frames (`idx` maps the packets
/// given to the worker back to the batch's, when only some are given).
pub struct FramePayloads<'a, C: Capture> {
    pub front: &'a Front,
    pub src: &'a C,
    pub batch: &'a Batch,
    pub idx: Option<&'a [u16]>,
}

impl<C: Capture> Payloads for FramePayloads<'_, C> {
    #[inline]
    fn payload(&self, k: usize, d: &Decoded) -> &[u8] {
        let i = self.idx.map_or(k, |x| usize::from(x[k]));
        self.front.payload_of(self.src, self.batch, i, d)
    }

    #[inline]
    fn warm(&self) {
        self.src.warm();
    }
}
