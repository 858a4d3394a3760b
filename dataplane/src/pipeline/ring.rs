//! The steering rings between threads: a ring slot carries one decoded
//! packet and its payload (a longer payload takes a group of slots the
//! consumer reads whole) or a clock tick; the symmetric hash picks the
//! worker that owns a packet's flow.

use crate::decode::{Decoded, PayloadBuf, PayloadRef};
use crate::spsc::{Consumer, Producer};
use crate::steer::{worker_of, Toeplitz};
use crate::worker::FlatPayloads;

/// Payload bytes a ring slot carries.
pub const SLOT_DATA: usize = 2048;

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
        let (t, c, _) = crate::community_id::icmp_ports(d.v6, d.sport as u8, d.dport as u8);
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
    pub fn payloads(&self) -> FlatPayloads<'_> {
        FlatPayloads(&self.flat)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Batch, Capture, FrameDesc, LinkType, Poll};
    use crate::decode::DecodeConfig;
    use crate::filter::Filter;
    use crate::pipeline::{Front, BATCH};

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
        let b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(1000, 53);
        let mut f = Vec::with_capacity(b.size(p.len()));
        b.write(&mut f, p).unwrap();
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
