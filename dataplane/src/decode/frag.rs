//! Bounded IPv4/IPv6 fragment reassembly.
//!
//! Mirror feeds carry fragments, often of the *outer* tunnel packet (a
//! full-size inner frame plus VXLAN/ERSPAN overhead exceeds the path MTU).
//! The table has a fixed number of slots, each with a buffer of fixed size,
//! all in one mapping. A datagram completes when every 8-byte unit up to the
//! last fragment's end has arrived; overlapping fragments overwrite (last
//! wins) and are counted. A datagram that does not complete within the
//! timeout, or whose slot is needed while the table is full (oldest first),
//! is dropped and counted. Nothing here allocates after creation.
//!
//! A completed slot is *held*: the decoder keeps reading the datagram from
//! it until the end of the batch, when [`FragTable::release_held`] frees it.

use crate::sys::HugeArray;

/// Units tracked per slot: 8-byte fragment-offset units of a 64 KiB datagram.
const UNITS: usize = 65536 / 8;
const WORDS: usize = UNITS / 64;

/// Identifies the datagram a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FragKey {
    /// Source address (IPv4 in the first four bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
    /// Upper-layer protocol.
    pub proto: u8,
    /// IPv6.
    pub v6: bool,
}

/// One fragment's place in its datagram.
#[derive(Clone, Copy, Debug)]
pub struct Fragment {
    /// The datagram.
    pub key: FragKey,
    /// Byte offset of the fragment's payload.
    pub offset: u32,
    /// More fragments follow (MF).
    pub more: bool,
    /// IP header length of this fragment.
    pub hdr_len: u32,
}

/// Where a fragment's payload is.
#[derive(Clone, Copy, Debug)]
pub enum FragSource<'a> {
    /// In the captured frame.
    Bytes(&'a [u8]),
    /// In a datagram reassembled in this table (a fragment nested in a
    /// reassembled packet).
    Slot {
        /// Slot of the outer datagram.
        slot: u16,
        /// Offset of the payload in it.
        off: usize,
        /// Payload length.
        len: usize,
    },
}

/// What inserting a fragment did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragResult {
    /// Held; the datagram is not complete yet.
    Held,
    /// The datagram is complete in slot `slot`, `len` bytes of payload,
    /// after an IP header of `hdr_len` bytes (taken from the first fragment).
    Complete { slot: u16, len: u32, hdr_len: u32 },
    /// Dropped: the fragment reaches past 64 KiB or the datagram's size.
    Bad,
    /// Dropped: the slot was already completed in this batch.
    Busy,
}

#[derive(Clone, Copy)]
struct Slot {
    key: FragKey,
    in_use: bool,
    held: bool,
    first_ns: u64,
    /// Payload length, once the last fragment (MF clear) arrived.
    total: Option<u32>,
    hdr_len: u32,
    have: [u64; WORDS],
}

const EMPTY: Slot = Slot {
    key: FragKey {
        src: [0; 16],
        dst: [0; 16],
        id: 0,
        proto: 0,
        v6: false,
    },
    in_use: false,
    held: false,
    first_ns: 0,
    total: None,
    hdr_len: 0,
    have: [0; WORDS],
};

/// Counters of the reassembly table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragStats {
    /// Fragments accepted into a slot.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped after the timeout.
    pub timed_out: u64,
    /// Datagrams dropped because every slot was in use.
    pub evicted: u64,
    /// Fragments that overlapped bytes already received.
    pub overlaps: u64,
    /// Fragments dropped as impossible (past 64 KiB, past the end).
    pub bad: u64,
}

/// The reassembly table of one worker.
pub struct FragTable {
    slots: Vec<Slot>,
    bufs: HugeArray<u8>,
    slot_bytes: usize,
    timeout_ns: u64,
    held: Vec<u16>,
    /// Counters.
    pub stats: FragStats,
}

impl FragTable {
    /// A table of `slots` datagrams of at most `slot_bytes` (≤ 65535) payload each.
    pub fn new(slots: usize, slot_bytes: usize, timeout_ns: u64) -> std::io::Result<Self> {
        let slots = slots.clamp(1, u16::MAX as usize);
        let slot_bytes = slot_bytes.clamp(8, 65535);
        Ok(Self {
            slots: vec![EMPTY; slots],
            bufs: HugeArray::new(slots * slot_bytes, false)?,
            slot_bytes,
            timeout_ns,
            held: Vec::with_capacity(slots),
            stats: FragStats::default(),
        })
    }

    /// Bytes of memory this table holds.
    pub fn memory_bytes(slots: usize, slot_bytes: usize) -> usize {
        slots * (slot_bytes + std::mem::size_of::<Slot>())
    }

    /// The payload bytes of a completed datagram.
    pub fn data(&self, slot: u16, len: u32) -> &[u8] {
        let start = slot as usize * self.slot_bytes;
        &self.bufs[start..start + (len as usize).min(self.slot_bytes)]
    }

    /// Inserts one fragment: `f` says where it belongs, `src` where its
    /// payload is.
    pub fn insert(&mut self, f: &Fragment, src: FragSource<'_>, now_ns: u64) -> FragResult {
        let len = match src {
            FragSource::Bytes(b) => b.len(),
            FragSource::Slot { len, .. } => len,
        };
        let (slot, start) = match self.locate(&f.key, f.offset, f.more, f.hdr_len, len, now_ns) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let dst = slot as usize * self.slot_bytes + start;
        match src {
            FragSource::Bytes(b) => self.bufs[dst..dst + len].copy_from_slice(b),
            FragSource::Slot { slot: s, off, .. } => {
                // Both ranges lie in one mapping; different slots never overlap.
                let from = s as usize * self.slot_bytes + off;
                self.bufs.copy_within(from..from + len, dst);
            }
        }
        self.finish(slot, f.offset, len, f.more)
    }

    /// Finds or claims the slot and checks bounds; returns (slot, byte offset).
    fn locate(
        &mut self,
        key: &FragKey,
        offset: u32,
        more: bool,
        hdr_len: u32,
        len: usize,
        now_ns: u64,
    ) -> Result<(u16, usize), FragResult> {
        let end = offset as usize + len;
        if end > self.slot_bytes || (more && !len.is_multiple_of(8)) {
            self.stats.bad += 1;
            return Err(FragResult::Bad);
        }
        let mut free = None;
        let mut oldest: Option<(usize, u64)> = None;
        let mut found = None;
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.in_use && !s.held && now_ns.saturating_sub(s.first_ns) > self.timeout_ns {
                s.in_use = false;
                self.stats.timed_out += 1;
            }
            if s.in_use && s.key == *key {
                found = Some(i);
                break;
            }
            if !s.in_use {
                free.get_or_insert(i);
            } else if !s.held && oldest.is_none_or(|(_, t)| s.first_ns < t) {
                oldest = Some((i, s.first_ns));
            }
        }
        let i = match (found, free, oldest) {
            (Some(i), _, _) => {
                if self.slots[i].held {
                    return Err(FragResult::Busy);
                }
                i
            }
            (None, Some(i), _) => i,
            (None, None, Some((i, _))) => {
                self.stats.evicted += 1;
                i
            }
            (None, None, None) => return Err(FragResult::Busy),
        };
        let s = &mut self.slots[i];
        if found.is_none() {
            *s = EMPTY;
            s.key = *key;
            s.in_use = true;
            s.first_ns = now_ns;
        }
        if let Some(t) = s.total {
            if end > t as usize || (!more && end != t as usize) {
                self.stats.bad += 1;
                return Err(FragResult::Bad);
            }
        }
        if offset == 0 {
            s.hdr_len = hdr_len;
        }
        self.stats.fragments += 1;
        Ok((i as u16, offset as usize))
    }

    fn finish(&mut self, slot: u16, offset: u32, len: usize, more: bool) -> FragResult {
        let s = &mut self.slots[slot as usize];
        if !more {
            s.total = Some(offset + len as u32);
        }
        let first = offset as usize / 8;
        let last = (offset as usize + len).div_ceil(8);
        let mut overlap = false;
        for u in first..last {
            let (w, b) = (u / 64, u % 64);
            overlap |= s.have[w] & (1 << b) != 0;
            s.have[w] |= 1 << b;
        }
        if overlap {
            self.stats.overlaps += 1;
        }
        let Some(total) = s.total else {
            return FragResult::Held;
        };
        let units = (total as usize).div_ceil(8);
        let full_words = units / 64;
        let complete = s.have[..full_words].iter().all(|&w| w == u64::MAX)
            && (units.is_multiple_of(64) || s.have[full_words] == (1u64 << (units % 64)) - 1);
        if !complete {
            return FragResult::Held;
        }
        s.held = true;
        self.held.push(slot);
        self.stats.reassembled += 1;
        FragResult::Complete {
            slot,
            len: total,
            hdr_len: s.hdr_len,
        }
    }

    /// Frees the datagrams completed during the batch that just ended.
    pub fn release_held(&mut self) {
        for &i in &self.held {
            self.slots[i as usize] = EMPTY;
        }
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            id,
            proto: 17,
            ..Default::default()
        }
    }

    /// Fragment of datagram `id` at `offset` behind a 20-byte IPv4 header.
    fn frag(id: u32, offset: u32, more: bool) -> Fragment {
        Fragment {
            key: key(id),
            offset,
            more,
            hdr_len: 20,
        }
    }

    #[test]
    fn in_and_out_of_order() {
        let mut t = FragTable::new(4, 65535, 30_000_000_000).unwrap();
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        assert_eq!(
            t.insert(
                &frag(1, 1480, true),
                FragSource::Bytes(&data[1480..2960]),
                0
            ),
            FragResult::Held
        );
        assert_eq!(
            t.insert(&frag(1, 2960, false), FragSource::Bytes(&data[2960..]), 0),
            FragResult::Held
        );
        let r = t.insert(&frag(1, 0, true), FragSource::Bytes(&data[..1480]), 0);
        let FragResult::Complete { slot, len, hdr_len } = r else {
            panic!("{r:?}")
        };
        assert_eq!((len, hdr_len), (3000, 20));
        assert_eq!(t.data(slot, len), &data[..]);
        assert_eq!(
            t.insert(&frag(1, 0, true), FragSource::Bytes(&data[..8]), 0),
            FragResult::Busy
        );
        t.release_held();
        assert_eq!(t.stats.reassembled, 1);
    }

    #[test]
    fn bounded_and_counted() {
        let mut t = FragTable::new(2, 4096, 1_000).unwrap();
        assert_eq!(
            t.insert(&frag(1, 4000, false), FragSource::Bytes(&[0; 200]), 0),
            FragResult::Bad
        );
        assert_eq!(
            t.insert(&frag(1, 0, true), FragSource::Bytes(&[0; 7]), 0),
            FragResult::Bad
        );
        t.insert(&frag(2, 0, true), FragSource::Bytes(&[0; 8]), 0);
        t.insert(&frag(3, 0, true), FragSource::Bytes(&[0; 8]), 10);
        // Table full: the oldest datagram makes room.
        t.insert(&frag(4, 0, true), FragSource::Bytes(&[0; 8]), 20);
        assert_eq!(t.stats.evicted, 1);
        // Past the timeout, stale slots are reclaimed.
        t.insert(&frag(5, 0, true), FragSource::Bytes(&[0; 8]), 5_000);
        assert_eq!(t.stats.timed_out, 2);
        // The last fragment fixes the size; a fragment past it is bad.
        t.insert(&frag(5, 8, false), FragSource::Bytes(&[0; 8]), 5_000);
        assert_eq!(
            t.insert(&frag(6, 16, false), FragSource::Bytes(&[0; 8]), 5_000),
            FragResult::Held
        );
        assert_eq!(
            t.insert(&frag(6, 24, true), FragSource::Bytes(&[0; 8]), 5_000),
            FragResult::Bad
        );
    }
}
