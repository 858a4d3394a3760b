//! One worker's flow table: fixed capacity, preallocated, huge pages.
//!
//! Buckets of 16 ways. A bucket's 16 tags (32-bit hash fingerprints, 0 =
//! free) fill one cache line, so a lookup reads one line of tags and then
//! only the entries whose tag matches. The hot and cold arrays are indexed
//! like the tags (bucket × 16 + way). A new flow goes to its first-choice
//! bucket, or to a second choice when that is full (a per-bucket counter
//! says when lookups must look there too); when both are full the first
//! bucket replaces its least recently seen entry: eviction never walks a
//! global list.
//!
//! Timeouts use a lazy timer wheel of one-second ticks: every flow sits in
//! at most one wheel list (linked through [`Cold::t_next`]); when its list
//! comes due the worker recomputes the flow's deadline and either ends it
//! or files it again. Packets never touch the wheel. A flow whose index is
//! reused while still listed keeps its list position; its deadline is
//! recomputed when the list comes due, and the worker also checks the
//! deadline on every lookup, so a late list never merges two flows.

use super::{cf, Cold, FlowKey, Hot};
use crate::sys::{HugeArray, Zeroable};

/// Ways per bucket.
pub const WAYS: usize = 16;
/// Timer-wheel slots (ticks).
pub const WHEEL_SLOTS: usize = 4096;
/// Free ways above which a new flow always takes its first-choice bucket.
const ROOMY: usize = 6;
/// End of a wheel list.
pub const NIL: u32 = u32::MAX;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Bucket {
    tags: [u32; WAYS],
}

// SAFETY: an array of integers; zero is valid (all ways free).
#[allow(unsafe_code)]
unsafe impl Zeroable for Bucket {}

/// Table counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Flows in the table now.
    pub active: u64,
    /// Flows created.
    pub created: u64,
    /// Flows evicted from full buckets.
    pub evicted: u64,
}

/// A fixed-capacity flow table with its timer wheel.
pub struct FlowTable {
    buckets: HugeArray<Bucket>,
    hot: HugeArray<Hot>,
    cold: HugeArray<Cold>,
    nbuckets: usize,
    /// Per bucket: flows whose first-choice bucket this is but which live in
    /// their second choice (saturating: 255 means "maybe, always look").
    over: Vec<u8>,
    heads: Vec<u32>,
    tick_ns: u64,
    /// Last tick processed; `None` before the first packet.
    tick: Option<u64>,
    /// Counters.
    pub stats: TableStats,
}

impl FlowTable {
    /// A table for at least `flows` flows (rounded up to whole buckets).
    pub fn new(flows: usize, huge: bool) -> std::io::Result<Self> {
        let nbuckets = flows.div_ceil(WAYS).max(1);
        let n = nbuckets * WAYS;
        Ok(Self {
            buckets: HugeArray::new(nbuckets, huge)?,
            hot: HugeArray::new(n, huge)?,
            cold: HugeArray::new(n, huge)?,
            nbuckets,
            over: vec![0; nbuckets],
            heads: vec![NIL; WHEEL_SLOTS],
            tick_ns: 1_000_000_000,
            tick: None,
            stats: TableStats::default(),
        })
    }

    /// Flows the table holds.
    pub fn capacity(&self) -> usize {
        self.nbuckets * WAYS
    }

    /// Bytes mapped for the table.
    pub fn memory_bytes(&self) -> usize {
        self.buckets.bytes()
            + self.hot.bytes()
            + self.cold.bytes()
            + self.over.len()
            + self.heads.len() * 4
    }

    #[inline]
    fn bucket_of(&self, h: u64) -> usize {
        ((u64::from(h as u32) * self.nbuckets as u64) >> 32) as usize
    }

    /// The second-choice bucket: from other hash bits, never the first.
    #[inline]
    fn bucket2_of(&self, h: u64) -> usize {
        let x = ((h >> 32) as u32 ^ (h as u32).rotate_left(16)).wrapping_mul(0x9e37_79b9);
        let b = ((u64::from(x) * self.nbuckets as u64) >> 32) as usize;
        if b == self.bucket_of(h) {
            (b + 1) % self.nbuckets
        } else {
            b
        }
    }

    fn find_in(&self, b: usize, tag: u32, key: &FlowKey) -> Option<usize> {
        let tags = &self.buckets[b].tags;
        for (w, &t) in tags.iter().enumerate() {
            if t == tag {
                let i = b * WAYS + w;
                if self.cold[i].key == *key {
                    return Some(i);
                }
            }
        }
        None
    }

    #[inline]
    fn tag_of(h: u64) -> u32 {
        ((h >> 32) as u32) | 1
    }

    /// Prefetches the tag line a key's hash maps to.
    #[inline]
    pub fn prefetch_bucket(&self, h: u64) {
        self.buckets.prefetch(self.bucket_of(h));
    }

    /// Prefetches an entry's hot line and its three cold lines.
    #[inline]
    pub fn prefetch_entry(&self, i: usize) {
        self.hot.prefetch(i);
        let p = self.cold[i..].as_ptr().cast::<u8>();
        for line in 0..std::mem::size_of::<Cold>() / 64 {
            crate::sys::prefetch_ptr(p.wrapping_add(line * 64));
        }
    }

    /// The first entry of the key's first-choice bucket whose tag matches,
    /// without reading any entry (the caller verifies the key once the
    /// entry is in cache, falling back to [`FlowTable::lookup`]). When
    /// there is none but the bucket sent flows to their second choice, that
    /// bucket's tags are prefetched for the fallback.
    #[inline]
    pub fn candidate(&self, h: u64) -> Option<usize> {
        let b = self.bucket_of(h);
        let tag = Self::tag_of(h);
        let c = self.buckets[b]
            .tags
            .iter()
            .position(|&t| t == tag)
            .map(|w| b * WAYS + w);
        if c.is_none() {
            if self.over[b] > 0 {
                self.buckets.prefetch(self.bucket2_of(h));
            }
            // Most likely a new flow: the entry `claim` will give it, when
            // the first choice has room, is about to be written whole.
            let tags = &self.buckets[b].tags;
            if tags.iter().filter(|&&t| t == 0).count() >= ROOMY {
                if let Some(w) = tags.iter().position(|&t| t == 0) {
                    self.prefetch_entry(b * WAYS + w);
                }
            }
        }
        c
    }

    /// The entry holding `key`, if any: in its first-choice bucket, or in
    /// its second when the first has sent flows there.
    #[inline]
    pub fn lookup(&self, key: &FlowKey, h: u64) -> Option<usize> {
        let b = self.bucket_of(h);
        let tag = Self::tag_of(h);
        self.find_in(b, tag, key).or_else(|| {
            if self.over[b] > 0 {
                self.find_in(self.bucket2_of(h), tag, key)
            } else {
                None
            }
        })
    }

    /// Picks the entry a new flow with hash `h` will use: a free way in the
    /// emptier of its two buckets (two choices keep buckets from
    /// overflowing until the table is nearly full), else the first
    /// bucket's least recently seen flow, which the caller must emit and
    /// [`FlowTable::free`] first (returned as `true`).
    pub fn claim(&self, h: u64) -> (usize, bool) {
        let b = self.bucket_of(h);
        let b2 = self.bucket2_of(h);
        let free = |bb: usize| self.buckets[bb].tags.iter().filter(|&&t| t == 0).count();
        // The first choice while it has room (lookups then read one tag
        // line, and the second bucket's line is not even loaded), else
        // the emptier of the two.
        let f1 = free(b);
        let f2 = if f1 >= ROOMY { 0 } else { free(b2) };
        let pick = if f1 >= ROOMY || f1 >= f2 { b } else { b2 };
        if f1.max(f2) > 0 {
            let w = self.buckets[pick]
                .tags
                .iter()
                .position(|&t| t == 0)
                .unwrap_or(0);
            return (pick * WAYS + w, false);
        }
        let base = b * WAYS;
        let victim = (0..WAYS)
            .min_by_key(|&w| self.hot[base + w].last_ns)
            .unwrap_or(0);
        (base + victim, true)
    }

    /// Occupies entry `i` with a fresh flow; returns its state, zeroed but
    /// for the key and the wheel membership.
    pub fn occupy(&mut self, i: usize, h: u64, key: &FlowKey) -> (&mut Hot, &mut Cold) {
        self.buckets[i / WAYS].tags[i % WAYS] = Self::tag_of(h);
        let b = self.bucket_of(h);
        if i / WAYS != b {
            self.over[b] = self.over[b].saturating_add(1);
        }
        let keep = self.cold[i].flags & cf::IN_WHEEL;
        let next = self.cold[i].t_next;
        self.hot[i] = Hot::default();
        self.cold[i] = Cold {
            key: *key,
            flags: keep,
            t_next: next,
            ..Cold::default()
        };
        self.stats.active += 1;
        self.stats.created += 1;
        (&mut self.hot[i], &mut self.cold[i])
    }

    /// Frees entry `i`.
    pub fn free(&mut self, i: usize) {
        if self.buckets[i / WAYS].tags[i % WAYS] != 0 {
            self.buckets[i / WAYS].tags[i % WAYS] = 0;
            self.stats.active -= 1;
            let b = self.bucket_of(self.cold[i].key.hash());
            if i / WAYS != b && self.over[b] < u8::MAX {
                self.over[b] -= 1;
            }
        }
    }

    /// Whether entry `i` holds a flow.
    pub fn occupied(&self, i: usize) -> bool {
        self.buckets[i / WAYS].tags[i % WAYS] != 0
    }

    /// An entry's state.
    #[inline]
    pub fn entry(&mut self, i: usize) -> (&mut Hot, &mut Cold) {
        (&mut self.hot[i], &mut self.cold[i])
    }

    /// An entry's state, read-only.
    #[inline]
    pub fn entry_ref(&self, i: usize) -> (&Hot, &Cold) {
        (&self.hot[i], &self.cold[i])
    }

    /// Indices of all occupied entries (for shutdown flushing).
    pub fn occupied_indices(&self) -> impl Iterator<Item = usize> + '_ {
        // A bucket's tags are one line, tested whole: the table is sized
        // for the budget, not for the flows still open at the end of a
        // replay, and tag by tag its scan was a share of a replay's time.
        self.buckets[..self.nbuckets]
            .iter()
            .enumerate()
            .filter(|(_, b)| b.tags.iter().fold(0, |a, &t| a | t) != 0)
            .flat_map(|(bi, b)| {
                b.tags
                    .iter()
                    .enumerate()
                    .filter(|&(_, &t)| t != 0)
                    .map(move |(w, _)| bi * WAYS + w)
            })
    }

    /// Files entry `i` in the wheel list of `deadline_ns` unless it is in a
    /// list already.
    pub fn schedule(&mut self, i: usize, deadline_ns: u64) {
        if self.cold[i].flags & cf::IN_WHEEL != 0 {
            return;
        }
        let now = self.tick.unwrap_or(deadline_ns / self.tick_ns);
        let t = (deadline_ns / self.tick_ns).clamp(now + 1, now + WHEEL_SLOTS as u64 - 1);
        let slot = (t % WHEEL_SLOTS as u64) as usize;
        self.cold[i].t_next = self.heads[slot];
        self.cold[i].flags |= cf::IN_WHEEL;
        self.heads[slot] = i as u32;
    }

    /// Advances the wheel to `now_ns`, detaching the lists that came due.
    /// Returns the range of ticks to drain with [`FlowTable::take_list`].
    pub fn advance(&mut self, now_ns: u64) -> std::ops::Range<u64> {
        let target = now_ns / self.tick_ns;
        let Some(cur) = self.tick else {
            self.tick = Some(target);
            return 0..0;
        };
        if target <= cur {
            return 0..0;
        }
        self.tick = Some(target);
        // A jump longer than the wheel visits every list once.
        let start = (cur + 1).max(target.saturating_sub(WHEEL_SLOTS as u64 - 1));
        start..target + 1
    }

    /// Detaches the list of tick `t`; returns its head.
    pub fn take_list(&mut self, t: u64) -> u32 {
        std::mem::replace(&mut self.heads[(t % WHEEL_SLOTS as u64) as usize], NIL)
    }

    /// Unlinks `i` from the list being drained; returns the next index.
    pub fn unlist(&mut self, i: u32) -> u32 {
        let c = &mut self.cold[i as usize];
        c.flags &= !cf::IN_WHEEL;
        std::mem::replace(&mut c.t_next, NIL)
    }

    /// Current tick (seconds of packet time).
    pub fn now_tick(&self) -> Option<u64> {
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u32) -> FlowKey {
        let mut k = FlowKey::default();
        k.a[..4].copy_from_slice(&n.to_be_bytes());
        k.proto = 6;
        k
    }

    #[test]
    fn insert_lookup_evict() {
        let mut t = FlowTable::new(16, false).unwrap();
        assert_eq!(t.capacity(), 16);
        for n in 0..16u32 {
            let k = key(n);
            let h = k.hash();
            assert_eq!(t.lookup(&k, h), None);
            let (i, victim) = t.claim(h);
            assert!(!victim);
            t.occupy(i, h, &k).0.last_ns = u64::from(n) + 100;
            assert_eq!(t.lookup(&k, h), Some(i));
        }
        // The bucket is full: the oldest (n = 0) is the victim.
        let k = key(99);
        let (i, victim) = t.claim(k.hash());
        assert!(victim);
        assert_eq!(t.entry_ref(i).1.key, key(0));
        assert_eq!(t.stats.active, 16);
        t.free(i);
        assert_eq!(t.stats.active, 15);
    }

    /// Two choices: a table filled to 90 % evicts (almost) nothing, and
    /// every flow is found again after frees.
    #[test]
    fn two_choices_fill_to_ninety_percent() {
        let mut t = FlowTable::new(1 << 16, false).unwrap();
        let n = (t.capacity() * 9 / 10) as u32;
        let mut evictions = 0;
        for k in 0..n {
            let key = key(k.wrapping_mul(2_654_435_761));
            let h = key.hash();
            let (i, victim) = t.claim(h);
            if victim {
                evictions += 1;
                t.free(i);
            }
            t.occupy(i, h, &key);
        }
        assert!(evictions < n as usize / 1000, "{evictions} evictions");
        let mut found = 0;
        for k in 0..n {
            let key = key(k.wrapping_mul(2_654_435_761));
            if let Some(i) = t.lookup(&key, key.hash()) {
                found += 1;
                if k % 2 == 0 {
                    t.free(i);
                }
            }
        }
        assert_eq!(found, n as usize - evictions);
        // Odd keys stay findable after the even ones left (the second-choice
        // counters stay right); only evicted ones may be missing.
        let missing = (1..n)
            .step_by(2)
            .map(|k| key(k.wrapping_mul(2_654_435_761)))
            .filter(|k| t.lookup(k, k.hash()).is_none())
            .count();
        assert!(
            missing <= evictions,
            "{missing} missing, {evictions} evicted"
        );
        // Once every flow has left, no bucket claims overflow any more.
        for k in (1..n).step_by(2) {
            let key = key(k.wrapping_mul(2_654_435_761));
            if let Some(i) = t.lookup(&key, key.hash()) {
                t.free(i);
            }
        }
        assert_eq!(t.stats.active, 0);
        assert!(t.over.iter().all(|&o| o == 0 || o == u8::MAX));
    }

    // The wheel against a model: no flow comes due before its deadline,
    // and every flow whose deadline passed has come due, however the
    // clock jumps.
    proptest! {
        #[test]
        fn wheel_delivers_each_flow_on_time(
            deadlines in proptest::collection::vec(1u64..5000, 1..40),
            steps in proptest::collection::vec(1u64..700, 1..60),
        ) {
            let mut t = FlowTable::new(64, false).unwrap();
            t.advance(0);
            let s = 1_000_000_000;
            for (i, &d) in deadlines.iter().enumerate() {
                t.schedule(i, d * s);
            }
            let mut now = 0u64;
            let mut due: Vec<Option<u64>> = vec![None; deadlines.len()];
            for st in steps {
                now += st;
                let r = t.advance(now * s);
                for tick in r {
                    let mut i = t.take_list(tick);
                    while i != NIL {
                        let next = t.unlist(i);
                        let dl = deadlines[i as usize];
                        if dl <= now {
                            due[i as usize] = Some(now);
                        } else {
                            t.schedule(i as usize, dl * s);
                        }
                        i = next;
                    }
                }
            }
            for (i, &dl) in deadlines.iter().enumerate() {
                match due[i] {
                    Some(at) => prop_assert!(at >= dl),
                    None => prop_assert!(dl > now),
                }
            }
        }
    }
}
