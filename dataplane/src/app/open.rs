//! Open transactions: the two ways an analyzer keeps the requests still
//! waiting for their answers, fixed in size inside its session state.
//!
//! - [`Fifo`]: answers come in the order the requests went (HTTP/1
//!   pipelining). Requests join at the back, answers complete the front.
//! - [`IdMap`]: each answer names its request (a DNS id and question; a
//!   Kafka correlation id, an MQTT packet id, an AMQP channel). Requests
//!   sit in any free slot and are found by a caller's predicate.
//!
//! Both hold at most `N` entries, and a runtime limit (`--max-open-txns`) of
//! at most `N`; past it `push`/`insert` hand the entry back, and the
//! caller counts it and leaves it unlogged. Neither allocates: the slots
//! are part of the session state, which is why `N` stays small (a session
//! slot holds 2 KiB).
//!
//! Redis's open commands are not a [`Fifo`]: each keeps a variable number
//! of argument bytes, and a connection may have a thousand waiting, so
//! they are a byte queue in a transaction buffer (`redis/state.rs`).

/// A ring of at most `N` open transactions, answered in order.
///
/// Which slots hold entries is told by `head` and `len` alone, so
/// [`Fifo::reset`] does not touch the slots: sessions are reset for every
/// connection, and rewriting the whole array each time cost measurable
/// instructions on HTTP's hot path.
#[derive(Clone, Debug)]
pub struct Fifo<T, const N: usize> {
    slots: [T; N],
    /// Slot of the front entry.
    head: u8,
    len: u8,
    limit: u8,
}

impl<T: Copy, const N: usize> Fifo<T, N> {
    /// The indices are bytes, and a ring of no slots has no front.
    const FITS: () = assert!(N > 0 && N <= u8::MAX as usize);

    /// An empty ring that takes at most `limit` (at most `N`) entries.
    pub fn new(limit: usize) -> Self
    where
        T: Default,
    {
        let () = Self::FITS;
        Self {
            slots: [T::default(); N],
            head: 0,
            len: 0,
            limit: limit.min(N) as u8,
        }
    }

    /// Empties the ring and sets its limit. The slots keep their stale
    /// contents: no entry is readable until it is pushed again.
    #[inline]
    pub fn reset(&mut self, limit: usize) {
        self.head = 0;
        self.len = 0;
        self.limit = limit.min(N) as u8;
    }

    /// Entries open.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether nothing is open.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the limit is reached: a push would be refused.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= self.limit
    }

    /// The most entries it takes.
    #[inline]
    pub fn limit(&self) -> usize {
        usize::from(self.limit)
    }

    /// The slot of the `k`th entry from the front (taken modulo `N`, which
    /// also spares the bounds check).
    #[inline]
    fn slot(&self, k: u8) -> usize {
        (usize::from(self.head) + usize::from(k)) % N
    }

    /// Opens `t` at the back; `Err(t)` when the limit is reached.
    #[inline]
    pub fn push(&mut self, t: T) -> Result<(), T> {
        if self.is_full() {
            return Err(t);
        }
        let i = self.slot(self.len);
        self.slots[i] = t;
        self.len += 1;
        Ok(())
    }

    /// Takes the front (oldest) entry out.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let t = self.slots[self.slot(0)];
        self.head = self.slot(1) as u8;
        self.len -= 1;
        Some(t)
    }

    /// The oldest entry: the one the next answer completes.
    #[inline]
    pub fn front(&self) -> Option<&T> {
        (self.len > 0).then(|| &self.slots[self.slot(0)])
    }

    /// The oldest entry, writable.
    #[inline]
    pub fn front_mut(&mut self) -> Option<&mut T> {
        let i = self.slot(0);
        (self.len > 0).then(|| &mut self.slots[i])
    }

    /// The newest entry: the request still being read.
    #[inline]
    pub fn back(&self) -> Option<&T> {
        let k = self.len.checked_sub(1)?;
        Some(&self.slots[self.slot(k)])
    }

    /// The newest entry, writable.
    #[inline]
    pub fn back_mut(&mut self) -> Option<&mut T> {
        let k = self.len.checked_sub(1)?;
        let i = self.slot(k);
        Some(&mut self.slots[i])
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len).map(|k| &self.slots[self.slot(k)])
    }
}

/// At most `N` open transactions, each found by what its answer carries
/// (an id), in no order.
///
/// An entry stays in the slot it was inserted into until it is taken, and
/// a new one goes into the lowest free slot; [`IdMap::find`] and the
/// iterators go by slot. So which entry an answer matches, and the order
/// entries come out in, depend only on the order of inserts and takes,
/// which keeps the records a flow writes the same from run to run.
#[derive(Clone, Debug)]
pub struct IdMap<T, const N: usize> {
    slots: [Option<T>; N],
    /// Occupied slots, so that "nothing open" is one read, not `N`.
    len: u8,
    limit: u8,
}

impl<T: Copy, const N: usize> IdMap<T, N> {
    /// The count is a byte.
    const FITS: () = assert!(N <= u8::MAX as usize);

    /// An empty map that takes at most `limit` (at most `N`) entries.
    pub fn new(limit: usize) -> Self {
        let () = Self::FITS;
        Self {
            slots: [None; N],
            len: 0,
            limit: limit.min(N) as u8,
        }
    }

    /// Empties the map and sets its limit. A map already empty (a
    /// session given back after its flow ended) is not rewritten.
    #[inline]
    pub fn reset(&mut self, limit: usize) {
        self.clear();
        self.limit = limit.min(N) as u8;
    }

    /// Drops every entry.
    #[inline]
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.slots = [None; N];
            self.len = 0;
        }
    }

    /// Entries open.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether nothing is open.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the limit is reached: an insert would be refused.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= self.limit
    }

    /// The most entries it takes.
    #[inline]
    pub fn limit(&self) -> usize {
        usize::from(self.limit)
    }

    /// Opens `t` in the lowest free slot, whose index it returns; `Err(t)`
    /// when the limit is reached.
    #[inline]
    pub fn insert(&mut self, t: T) -> Result<usize, T> {
        if self.is_full() {
            return Err(t);
        }
        let Some(i) = self.slots.iter().position(Option::is_none) else {
            return Err(t);
        };
        self.slots[i] = Some(t);
        self.len += 1;
        Ok(i)
    }

    /// The slot of the first entry (by slot) `pred` accepts.
    #[inline]
    pub fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(&mut pred))
    }

    /// The entry in slot `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        self.slots.get(i)?.as_ref()
    }

    /// The entry in slot `i`, writable.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// Takes the entry in slot `i` out: its answer came.
    #[inline]
    pub fn take(&mut self, i: usize) -> Option<T> {
        let t = self.slots.get_mut(i)?.take()?;
        self.len -= 1;
        Some(t)
    }

    /// Takes out the entry whose `key` is least, the lowest slot among
    /// equals: taken repeatedly, the entries come out sorted (oldest first,
    /// keyed by time, as a flow's end logs them).
    pub fn take_min_by_key<K: Ord>(&mut self, mut key: impl FnMut(&T) -> K) -> Option<T> {
        let (i, _) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, key(s.as_ref()?))))
            .min_by(|a, b| a.1.cmp(&b.1))?;
        self.take(i)
    }

    /// The entries, by slot.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().flatten()
    }

    /// The entries, by slot, writable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.slots.iter_mut().flatten()
    }

    /// Takes out, by slot, the entries `pred` accepts (those past their
    /// timeout, say). Entries the iterator has not reached when it is
    /// dropped stay.
    pub fn drain_where<F: FnMut(&T) -> bool>(&mut self, pred: F) -> DrainWhere<'_, T, N, F> {
        DrainWhere {
            map: self,
            at: 0,
            pred,
        }
    }

    /// Keeps only the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.drain_where(|t| !keep(t)).for_each(drop);
    }
}

/// The iterator of [`IdMap::drain_where`].
#[must_use = "entries are taken out only as the iterator is driven"]
pub struct DrainWhere<'a, T, const N: usize, F> {
    map: &'a mut IdMap<T, N>,
    /// The next slot to look at.
    at: usize,
    pred: F,
}

impl<T: Copy, const N: usize, F: FnMut(&T) -> bool> Iterator for DrainWhere<'_, T, N, F> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        while self.at < N {
            let i = self.at;
            self.at += 1;
            if self.map.slots[i].as_ref().is_some_and(&mut self.pred) {
                return self.map.take(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained<const N: usize>(q: &mut Fifo<u32, N>) -> Vec<u32> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn fifo_answers_in_order_across_the_wrap() {
        let mut q = Fifo::<u32, 4>::new(4);
        let (mut next_in, mut next_out) = (0, 0);
        for _ in 0..10 {
            // Filled, then three answered: the front moves three slots a
            // round, round and round the ring.
            while q.push(next_in).is_ok() {
                next_in += 1;
            }
            assert_eq!(q.len(), 4);
            assert_eq!(
                q.iter().copied().collect::<Vec<_>>(),
                (next_out..next_in).collect::<Vec<_>>()
            );
            assert_eq!(q.back(), Some(&(next_in - 1)));
            for _ in 0..3 {
                assert_eq!(q.pop(), Some(next_out));
                next_out += 1;
            }
        }
        let mut q = Fifo::<u32, 4>::new(4);
        for t in 1..=4 {
            q.push(t).unwrap();
        }
        assert_eq!((q.pop(), q.pop()), (Some(1), Some(2)));
        q.push(5).unwrap();
        q.push(6).unwrap();
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), [3, 4, 5, 6]);
        assert_eq!((q.front(), q.back()), (Some(&3), Some(&6)));
        assert_eq!(drained(&mut q), [3, 4, 5, 6]);
        assert_eq!((q.pop(), q.front(), q.back()), (None, None, None));
    }

    #[test]
    fn fifo_refuses_past_its_limit_and_hands_the_entry_back() {
        let mut q = Fifo::<u32, 8>::new(3);
        assert_eq!(q.limit(), 3);
        for t in 0..3 {
            assert!(!q.is_full());
            q.push(t).unwrap();
        }
        assert!(q.is_full());
        assert_eq!(q.push(99), Err(99));
        assert_eq!(q.len(), 3);
        q.pop();
        assert_eq!(q.push(3), Ok(()));
        assert_eq!(drained(&mut q), [1, 2, 3]);
        // A limit past the capacity is the capacity.
        let mut q = Fifo::<u32, 2>::new(100);
        assert_eq!(q.limit(), 2);
        assert_eq!((q.push(1), q.push(2), q.push(3)), (Ok(()), Ok(()), Err(3)));
        // A limit of 0 takes nothing.
        let mut q = Fifo::<u32, 2>::new(0);
        assert_eq!(q.push(1), Err(1));
    }

    #[test]
    fn fifo_reset_keeps_nothing_and_takes_a_new_limit() {
        let mut q = Fifo::<u32, 4>::new(4);
        for t in 1..=3 {
            q.push(t).unwrap();
        }
        q.pop();
        q.reset(2);
        assert!(q.is_empty());
        assert_eq!((q.front(), q.back(), q.iter().count()), (None, None, 0));
        assert_eq!(q.pop(), None);
        assert_eq!((q.push(7), q.push(8), q.push(9)), (Ok(()), Ok(()), Err(9)));
        assert_eq!(drained(&mut q), [7, 8]);
    }

    #[test]
    fn fifo_front_and_back_are_writable() {
        let mut q = Fifo::<u32, 4>::new(4);
        assert!(q.front_mut().is_none() && q.back_mut().is_none());
        q.push(1).unwrap();
        q.push(2).unwrap();
        *q.front_mut().unwrap() += 10;
        *q.back_mut().unwrap() += 20;
        assert_eq!(drained(&mut q), [11, 22]);
        // One entry is both.
        q.push(5).unwrap();
        *q.back_mut().unwrap() += 1;
        assert_eq!(q.front(), Some(&6));
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Q {
        id: u16,
        ts: u64,
    }

    fn q(id: u16, ts: u64) -> Q {
        Q { id, ts }
    }

    #[test]
    fn idmap_inserts_into_the_lowest_free_slot() {
        let mut m = IdMap::<Q, 4>::new(4);
        assert_eq!(m.insert(q(1, 0)), Ok(0));
        assert_eq!(m.insert(q(2, 0)), Ok(1));
        assert_eq!(m.insert(q(3, 0)), Ok(2));
        assert_eq!(m.take(0), Some(q(1, 0)));
        assert_eq!(m.insert(q(4, 0)), Ok(0));
        assert_eq!(
            m.iter().map(|t| t.id).collect::<Vec<_>>(),
            [4, 2, 3],
            "by slot, not by age"
        );
    }

    #[test]
    fn idmap_finds_and_takes_by_id() {
        let mut m = IdMap::<Q, 4>::new(4);
        for id in [10, 11, 10] {
            m.insert(q(id, u64::from(id))).unwrap();
        }
        // Of two with the same id, the lower slot answers first.
        assert_eq!(m.find(|t| t.id == 10), Some(0));
        assert_eq!(m.find(|t| t.id == 99), None);
        assert_eq!(m.take(0), Some(q(10, 10)));
        assert_eq!(m.take(0), None, "taken once");
        assert_eq!(m.find(|t| t.id == 10), Some(2));
        assert_eq!(m.get(1), Some(&q(11, 11)));
        assert_eq!((m.get(0), m.get(9)), (None, None));
        assert_eq!(m.take(9), None);
        m.get_mut(1).unwrap().ts = 5;
        m.iter_mut().for_each(|t| t.ts += 1);
        assert_eq!(m.get(1), Some(&q(11, 6)));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn idmap_refuses_past_its_limit() {
        let mut m = IdMap::<Q, 4>::new(2);
        assert_eq!(m.insert(q(1, 0)), Ok(0));
        assert_eq!(m.insert(q(2, 0)), Ok(1));
        assert!(m.is_full());
        assert_eq!(m.insert(q(3, 0)), Err(q(3, 0)));
        m.take(0);
        assert_eq!(m.insert(q(3, 0)), Ok(0));
        let mut m = IdMap::<Q, 2>::new(9);
        assert_eq!(m.limit(), 2);
        m.insert(q(1, 0)).unwrap();
        m.insert(q(2, 0)).unwrap();
        assert_eq!(m.insert(q(3, 0)), Err(q(3, 0)));
    }

    #[test]
    fn idmap_drains_expired_entries_by_slot() {
        let mut m = IdMap::<Q, 8>::new(8);
        for (id, ts) in [(1, 50), (2, 5), (3, 70), (4, 1)] {
            m.insert(q(id, ts)).unwrap();
        }
        let old: Vec<_> = m.drain_where(|t| t.ts < 60).map(|t| t.id).collect();
        assert_eq!(old, [1, 2, 4]);
        assert_eq!(m.iter().map(|t| t.id).collect::<Vec<_>>(), [3]);
        assert_eq!(m.len(), 1);
        // Stopping early leaves the rest.
        for (id, ts) in [(5, 0), (6, 0)] {
            m.insert(q(id, ts)).unwrap();
        }
        assert_eq!(m.drain_where(|t| t.ts == 0).next(), Some(q(5, 0)));
        assert_eq!(m.iter().map(|t| t.id).collect::<Vec<_>>(), [6, 3]);
        m.retain(|t| t.id == 3);
        assert_eq!(m.iter().map(|t| t.id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn idmap_gives_up_the_oldest_first_ties_by_slot() {
        let mut m = IdMap::<Q, 8>::new(8);
        for (id, ts) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, u64::MAX)] {
            m.insert(q(id, ts)).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| m.take_min_by_key(|t| t.ts))
            .map(|t| t.id)
            .collect();
        assert_eq!(order, [2, 4, 3, 1, 5]);
        assert!(m.is_empty());
    }

    #[test]
    fn idmap_reset_keeps_nothing() {
        let mut m = IdMap::<Q, 4>::new(4);
        m.insert(q(1, 0)).unwrap();
        m.insert(q(2, 0)).unwrap();
        m.reset(1);
        assert!(m.is_empty());
        assert_eq!(
            (m.find(|_| true), m.get(0), m.iter().count()),
            (None, None, 0)
        );
        assert_eq!(m.insert(q(3, 0)), Ok(0));
        assert_eq!(m.insert(q(4, 0)), Err(q(4, 0)), "the new limit");
        m.clear();
        assert!(m.is_empty() && m.take(0).is_none());
    }
}
