//! Pieces replay and live capture share: the capture-side front (decoder,
//! duplicate window, filter), the dispatcher ring slot, steering a decoded
//! packet to its worker, and thread pinning.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dataplane::capture::{Batch, Capture};
use dataplane::decode::{DecodeConfig, Decoded, Decoder, Outcome, PayloadBuf, PayloadRef};
use dataplane::dedup::Dedup;
use dataplane::filter::Filter;
use dataplane::spsc::{Consumer, Producer};
use dataplane::steer::{worker_of, Toeplitz};
use dataplane::worker::WorkerConfig;

use crate::outputs::thread::{BLOCK_BYTES, MIN_BLOCKS};

/// Frames per batch.
pub const BATCH: usize = 64;
/// Payload bytes a ring slot carries.
pub const SLOT_DATA: usize = 2048;
/// Decoded packets one batch can produce (outer tunnel packets included).
pub const DECODED_PER_BATCH: usize = BATCH * (1 + dataplane::decode::MAX_TUNNEL_DEPTH as usize);

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
    /// [`crate::stats::CHECKSUM_SAMPLE`]), and of those the ones with a bad one.
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
    ) -> Result<Self> {
        Ok(Self {
            dec: Decoder::new(decode.clone()).context("reassembly table")?,
            origin: Vec::with_capacity(DECODED_PER_BATCH),
            dedup: Dedup::new(dedup_ns),
            filter: (!filter.is_empty()).then(|| filter.clone()),
            filtered: 0,
            sample,
            checksums_checked: 0,
            checksums_bad: 0,
            checksum_countdown: crate::stats::CHECKSUM_SAMPLE,
            paced: None,
            pace,
        })
    }

    /// Decodes a batch into `out` (tracked packets, outer tunnel packets first).
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
    fn sample_checksums(&mut self, f: &dataplane::capture::FrameDesc, bytes: &[u8]) {
        use dataplane::decode::checksum::{check_frame, Verdict};
        self.checksum_countdown = crate::stats::CHECKSUM_SAMPLE;
        if f.link != dataplane::capture::LinkType::Ethernet || f.cap_len != f.wire_len {
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
    fn passes(&self, d: &Decoded) -> bool {
        self.filter.as_ref().is_none_or(|f| f.pass(d)) && dataplane::filter::sampled(d, self.sample)
    }

    /// Decodes every frame of `batch`, runs the packets through `worker`
    /// with their payloads from the frames, and frees the batch's
    /// reassembly space: what a worker that reads its own source does per
    /// batch.
    pub fn run_batch<C: Capture>(
        &mut self,
        src: &C,
        batch: &Batch,
        decoded: &mut Vec<Decoded>,
        worker: &mut dataplane::worker::Worker,
        out: &mut impl dataplane::record::RecordOut,
    ) {
        self.decode_batch(src, batch, decoded);
        let pay = FramePayloads {
            front: self,
            src,
            batch,
            idx: None,
        };
        worker.process(decoded, &pay, out);
        self.dec.end_batch();
    }

    /// The payload of packet `i` of the last decoded batch (from its frame,
    /// or from the reassembly table), valid until the batch is returned.
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

/// `Slot::tick` of a slot that carries more payload of the packet before it.
const CONT: u64 = u64::MAX;
/// The longest payload a packet carries across a ring (an IP datagram).
pub const MAX_RING_PAYLOAD: usize = 65536;

/// Pushes a packet and its payload onto a ring: one slot, or (payloads
/// longer than a slot, such as reassembled datagrams) a group of slots the
/// consumer takes whole. False if the ring has no room for all of them.
#[inline]
pub fn push_packet(p: &mut Producer<Slot>, d: &Decoded, payload: &[u8]) -> bool {
    if payload.len() <= SLOT_DATA {
        return p.push_with(|s| s.set(d, payload));
    }
    let payload = &payload[..payload.len().min(MAX_RING_PAYLOAD)];
    let k = payload.len().div_ceil(SLOT_DATA);
    p.push_many(k, |j, s| {
        let part = &payload[j * SLOT_DATA..((j + 1) * SLOT_DATA).min(payload.len())];
        s.set(d, part);
        if j > 0 {
            s.tick = CONT;
        }
    })
}

/// A dispatcher ring slot: a decoded packet and its payload, or a tick.
#[derive(Clone, Copy)]
pub struct Slot {
    /// Non-zero: a clock tick to this time (ns) instead of a packet.
    pub tick: u64,
    pub dec: Decoded,
    pub len: u16,
    pub data: [u8; SLOT_DATA],
}

impl Slot {
    pub const EMPTY: Slot = Slot {
        tick: 0,
        dec: Decoded::EMPTY,
        len: 0,
        data: [0; SLOT_DATA],
    };

    /// Fills the slot with a packet and (a bounded copy of) its payload.
    #[inline]
    pub fn set(&mut self, d: &Decoded, payload: &[u8]) {
        let len = payload.len().min(SLOT_DATA);
        self.tick = 0;
        self.dec = *d;
        self.len = len as u16;
        self.data[..len].copy_from_slice(&payload[..len]);
    }

    /// The packet, its payload now addressed in the slot.
    #[inline]
    pub fn packet(&self) -> Decoded {
        let mut d = self.dec;
        d.payload = PayloadRef {
            buf: PayloadBuf::Frame,
            off: 0,
            len: u32::from(self.len),
        };
        d
    }
}

/// The worker (of `n`) that owns the packet's flow: the symmetric hash of
/// the (inner) tuple; ICMP requests and replies map to the same "ports".
#[inline]
pub fn owner(t: &Toeplitz, d: &Decoded, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let (sp, dp) = if d.proto == 1 || d.proto == 58 {
        let (t, c, _) = dataplane::community_id::icmp_ports(d.v6, d.sport as u8, d.dport as u8);
        (t, c)
    } else {
        (d.sport, d.dport)
    };
    worker_of(t.hash_tuple(&d.src, &d.dst, d.v6, sp, dp), n)
}

/// Packets read from a steering ring: the packets, where ticks fell among
/// them, and their payloads (copied out of the slots only when analyzers
/// want them; capacities fixed at start).
pub struct Popped {
    pub pkts: Vec<Decoded>,
    pub ticks: Vec<(usize, u64)>,
    pub flat: Vec<u8>,
    payloads: bool,
}

impl Popped {
    /// Room for `max` slots per pop.
    pub fn new(max: usize, payloads: bool) -> Self {
        Self {
            pkts: Vec::with_capacity(max),
            ticks: Vec::with_capacity(max),
            flat: Vec::with_capacity(if payloads {
                max * SLOT_DATA + MAX_RING_PAYLOAD
            } else {
                0
            }),
            payloads,
        }
    }

    /// The payloads of `pkts`.
    pub fn payloads(&self) -> dataplane::worker::FlatPayloads<'_> {
        dataplane::worker::FlatPayloads(&self.flat)
    }
}

/// Reads up to `max` slots from a ring into `p` (emptied first); returns
/// slots read.
#[inline]
pub fn pop_into(c: &mut Consumer<Slot>, max: usize, p: &mut Popped) -> usize {
    p.pkts.clear();
    p.ticks.clear();
    p.flat.clear();
    let max = max.min(p.pkts.capacity());
    c.pop_groups(
        max,
        |s| s.tick == CONT,
        |s| {
            if s.tick == CONT {
                if let Some(last) = p.pkts.last_mut().filter(|_| p.payloads) {
                    p.flat.extend_from_slice(&s.data[..usize::from(s.len)]);
                    last.payload.len += u32::from(s.len);
                }
            } else if s.tick != 0 {
                p.ticks.push((p.pkts.len(), s.tick));
            } else {
                let mut d = s.packet();
                if p.payloads {
                    d.payload.off = p.flat.len() as u32;
                    p.flat.extend_from_slice(&s.data[..usize::from(s.len)]);
                }
                p.pkts.push(d);
            }
        },
    )
}

/// Payloads of a decoded batch, from its frames (`idx` maps the packets
/// given to the worker back to the batch's, when only some are given).
pub struct FramePayloads<'a, C: Capture> {
    pub front: &'a Front,
    pub src: &'a C,
    pub batch: &'a Batch,
    pub idx: Option<&'a [u16]>,
}

impl<C: Capture> dataplane::worker::Payloads for FramePayloads<'_, C> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::capture::{FrameDesc, LinkType, Poll};

    /// Frames from memory, for the tests.
    struct Mem(Vec<Vec<u8>>);

    impl Capture for Mem {
        type Error = std::io::Error;
        fn next_batch(&mut self, batch: &mut Batch) -> std::io::Result<Poll> {
            batch.clear();
            for (i, f) in self.0.iter().enumerate() {
                batch.push(FrameDesc {
                    ts_ns: 1,
                    off: i,
                    cap_len: f.len() as u32,
                    wire_len: f.len() as u32,
                    link: LinkType::Ethernet,
                });
            }
            Ok(Poll::End)
        }
        fn frame(&self, d: &FrameDesc) -> &[u8] {
            &self.0[d.off]
        }
    }

    /// Ethernet + IPv4 + UDP from 10.0.0.1:1000 to 10.0.0.2:53 carrying `p`.
    fn udp(p: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let ip_len = (20 + 8 + p.len()) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let udp_len = (8 + p.len()) as u16;
        f.extend_from_slice(&[0x03, 0xe8, 0, 53, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
        f.extend_from_slice(p);
        f
    }

    #[test]
    fn payload_crosses_a_ring_slot() {
        let mut src = Mem(vec![udp(b"first"), vec![1, 2, 3], udp(b"second one")]);
        let mut front =
            Front::new(&DecodeConfig::default(), 0, &Filter::default(), 1, false).unwrap();
        let mut batch = Batch::with_capacity(BATCH);
        src.next_batch(&mut batch).unwrap();
        let mut out = Vec::new();
        front.decode_batch(&src, &batch, &mut out);
        assert_eq!(out.len(), 2, "the garbage frame is not a packet");
        let mut slot = Slot::EMPTY;
        for (i, want) in [&b"first"[..], &b"second one"[..]].iter().enumerate() {
            slot.set(&out[i], front.payload_of(&src, &batch, i, &out[i]));
            let d = slot.packet();
            assert_eq!(&slot.data[..d.payload.len as usize], *want);
            assert_eq!((d.sport, d.dport), (1000, 53));
        }
    }
}
