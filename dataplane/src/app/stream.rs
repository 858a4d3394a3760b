//! TCP reassembly for one direction of a flow, and the loop that feeds an
//! analyzer under the streaming contract of [`super::Step`].
//!
//! A [`Dir`] delivers a direction's bytes in sequence order. A segment that
//! arrives in order with nothing held goes to the analyzer straight from
//! the packet (zero copy); only what the analyzer leaves unconsumed, and
//! segments that arrive ahead of a hole, are copied into one buffer taken
//! from the worker's [`Pool`] (frames never outlive their batch). The
//! buffer is a window of sequence space: `[0, pend)` holds bytes the
//! analyzer has not consumed yet, which end at `next`; out-of-order
//! segments sit further on, at their distance from `next`, as up to
//! [`MAX_RANGES`] disjoint ranges. The buffer goes back to the pool as soon
//! as it holds nothing.
//!
//! Invariants and policies:
//! - Bytes before `next` were delivered (or declared lost); a retransmission
//!   of them is trimmed and counted as overlap. Where held data and a later
//!   copy of the same bytes overlap, the first copy wins.
//! - A hole becomes an explicit gap, handed to the analyzer with its length,
//!   when the peer acknowledges bytes beyond it while data after it is held
//!   (the capture lost them), when held data no longer fits the window or
//!   the range slots, when a segment's capture is shorter than its IP
//!   length, and at flow end. A
//!   gap that falls inside bytes the analyzer asked to skip costs nothing:
//!   the skip absorbs it.
//! - Bytes the analyzer skips, and every byte after it stops, are counted,
//!   never buffered.

use super::pool::{Pool, NONE};
use super::Step;

/// Out-of-order ranges held per direction.
pub const MAX_RANGES: usize = 4;

/// Per-direction flags.
const STARTED: u8 = 1;
const STOPPED: u8 = 2;
/// Started without the SYN: the analyzer is told about a gap first.
const MIDSTREAM: u8 = 4;
/// `acked` holds an acknowledgment past `next`.
const ACKED: u8 = 8;

/// Counters of the stream layer, per worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes handed to analyzers.
    pub delivered: u64,
    /// Bytes analyzers skipped (bodies past their limit), not buffered.
    pub skipped: u64,
    /// Bytes after an analyzer stopped, or after the stream depth.
    pub after_stop: u64,
    /// Gaps handed to analyzers.
    pub gaps: u64,
    /// Bytes those gaps covered (what the skips absorbed is not counted).
    pub gap_bytes: u64,
    /// Retransmitted bytes trimmed (already delivered or already held).
    pub overlap_bytes: u64,
    /// Out-of-order segments held for later.
    pub ooo_segments: u64,
    /// A buffer was needed and the pool had none: the bytes became a gap.
    pub buffer_exhausted: u64,
    /// The analyzer needed more unconsumed bytes than a buffer holds.
    pub overflow: u64,
    /// Directions that reached the stream depth.
    pub depth_reached: u64,
    /// Analyzer errors that ended a stream.
    pub fatal: u64,
}

impl StreamStats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &StreamStats) {
        // Byte counts come from lengths peers announce: saturate.
        self.delivered = self.delivered.saturating_add(o.delivered);
        self.skipped = self.skipped.saturating_add(o.skipped);
        self.after_stop = self.after_stop.saturating_add(o.after_stop);
        self.gaps += o.gaps;
        self.gap_bytes = self.gap_bytes.saturating_add(o.gap_bytes);
        self.overlap_bytes = self.overlap_bytes.saturating_add(o.overlap_bytes);
        self.ooo_segments += o.ooo_segments;
        self.buffer_exhausted += o.buffer_exhausted;
        self.overflow += o.overflow;
        self.depth_reached += o.depth_reached;
        self.fatal += o.fatal;
    }
}

/// What a stream feeds: one direction-aware streaming parser.
pub trait Sink<C> {
    /// Parses `data` (bytes of direction `dir`, in order). See [`Step`].
    fn parse(&mut self, dir: usize, data: &[u8], cx: &mut C) -> Step;
    /// `len` bytes of direction `dir` are lost; what was partly parsed of
    /// the current message is gone, and the parser must probe for the
    /// start of the next one.
    fn gap(&mut self, dir: usize, len: u64, cx: &mut C);
    /// The stream ended with `len` bytes of a skip not come.
    fn unskipped(&mut self, _dir: usize, _len: u64, _cx: &mut C) {}
}

/// Limits of the stream layer.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Bytes per direction handed to the analyzer before it is stopped
    /// (0: no limit).
    pub depth: u64,
}

/// Reassembly state of one direction.
#[derive(Clone, Copy, Debug)]
pub struct Dir {
    next: u32,
    buf: u32,
    pend: u32,
    need: u32,
    ranges: [(u32, u32); MAX_RANGES],
    nranges: u8,
    flags: u8,
    skip: u64,
    delivered: u64,
    /// The furthest the peer acknowledged past `next` (a hole not yet
    /// proven lost; declared at flow end if still open).
    acked: u32,
}

impl Default for Dir {
    fn default() -> Self {
        Self {
            next: 0,
            buf: NONE,
            pend: 0,
            need: 0,
            ranges: [(0, 0); MAX_RANGES],
            nranges: 0,
            flags: 0,
            skip: 0,
            delivered: 0,
            acked: 0,
        }
    }
}

#[inline]
fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// One call's context: the pool, the counters, the analyzer and its own.
pub struct Feed<'a, S, C> {
    /// Buffers for held bytes.
    pub pool: &'a mut Pool,
    /// Counters.
    pub stats: &'a mut StreamStats,
    /// Limits.
    pub limits: StreamLimits,
    /// The analyzer.
    pub sink: &'a mut S,
    /// The analyzer's context (where its records go).
    pub cx: &'a mut C,
    /// The direction.
    pub dir: usize,
}

impl Dir {
    /// Starts the direction at sequence number `next` (the byte after the
    /// SYN); `midstream` when the SYN was not seen.
    pub fn start(&mut self, next: u32, midstream: bool) {
        self.next = next;
        self.flags = STARTED | if midstream { MIDSTREAM } else { 0 };
    }

    /// Delivers again after a stop or a wait, from where the direction is
    /// (a flow handed over to another analyzer), offering what it holds
    /// to the analyzer it now feeds.
    pub fn resume_into<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>) {
        self.flags &= !STOPPED;
        self.need = 0;
        self.drain(f);
    }

    /// Moves the start to `next` if nothing was delivered, held or skipped
    /// yet (the peer restarted its handshake).
    pub fn restart(&mut self, next: u32) {
        if self.started()
            && self.delivered == 0
            && self.buf == NONE
            && self.nranges == 0
            && self.skip == 0
        {
            self.next = next;
            self.flags &= !MIDSTREAM;
        }
    }

    /// Whether the direction has a starting point.
    pub fn started(&self) -> bool {
        self.flags & STARTED != 0
    }

    /// Whether the analyzer wants nothing more from this direction.
    pub fn stopped(&self) -> bool {
        self.flags & STOPPED != 0
    }

    /// The next sequence number expected in order.
    pub fn next(&self) -> u32 {
        self.next
    }

    /// Whether nothing is held or pending: no buffer, no skip, no open
    /// hole, not stopped (the state can be dropped and restarted from
    /// the flow's sequence numbers).
    pub fn at_rest(&self) -> bool {
        self.started()
            && self.buf == NONE
            && self.skip == 0
            && self.need == 0
            && self.flags & (STOPPED | MIDSTREAM) == 0
            && (self.flags & ACKED == 0 || diff(self.acked, self.next) <= 0)
    }

    /// Whether a pool buffer is held.
    pub fn holds_buffer(&self) -> bool {
        self.buf != NONE
    }

    /// A segment: sequence number, the captured payload, and the payload
    /// length the IP header announces (the rest was not captured).
    pub fn segment<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, seq: u32, data: &[u8], wire: u32) {
        if !self.started() {
            self.start(seq, true);
        }
        if self.flags & MIDSTREAM != 0 {
            self.flags &= !MIDSTREAM;
            f.stats.gaps += 1;
            f.sink.gap(f.dir, 0, f.cx);
        }
        let wire = wire.max(data.len() as u32);
        let end = seq.wrapping_add(wire);
        self.place(f, seq, data);
        if wire as usize > data.len() && diff(end, self.next) > 0 && self.nranges == 0 {
            // The capture cut the segment short: the rest is lost.
            self.skip_to(f, end);
        }
    }

    /// The peer acknowledged up to `ack`: a hole before it, with data held
    /// beyond it, was lost by the capture. Without held data the bytes may
    /// still come: a mirror port can deliver one direction ahead of the
    /// other, so an ACK alone proves nothing yet.
    pub fn ack<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, ack: u32) {
        if !self.started() || self.stopped() {
            return;
        }
        // A far-off ACK is garbage or a wrap we cannot judge: ignore it.
        let d = diff(ack, self.next);
        if d <= 0 || d >= 1 << 30 {
            return;
        }
        if self.flags & ACKED == 0 || diff(ack, self.acked) > 0 {
            self.acked = ack;
            self.flags |= ACKED;
        }
        if self.nranges > 0 {
            self.skip_to(f, ack);
        }
    }

    /// Flow end: whatever is held is delivered, holes becoming gaps.
    /// `fin`: the direction sent a FIN, whose sequence number a final ACK
    /// covers too.
    pub fn finish<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, fin: bool) {
        while self.nranges > 0 {
            let start = self.seq_at(self.ranges[0].0);
            self.skip_to(f, start);
        }
        // Acknowledged bytes that never came were lost (the FIN's
        // sequence number is not data).
        let end = self.acked.wrapping_sub(u32::from(fin));
        let d = diff(end, self.next);
        if self.flags & ACKED != 0 && d > 0 && d < 1 << 30 {
            self.skip_to(f, end);
        }
        // The bytes a skip still waited for never came: the analyzer,
        // which may have counted them ahead, hears it.
        if self.skip > 0 && !self.stopped() {
            let n = std::mem::take(&mut self.skip);
            f.sink.unskipped(f.dir, n, f.cx);
        }
        self.release(f.pool);
    }

    /// Gives the buffer back (the flow is gone).
    pub fn release(&mut self, pool: &mut Pool) {
        pool.give(self.buf);
        self.buf = NONE;
        self.pend = 0;
        self.nranges = 0;
    }

    /// Sequence number of buffer offset `off`.
    fn seq_at(&self, off: u32) -> u32 {
        self.next.wrapping_sub(self.pend).wrapping_add(off)
    }

    fn place<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, seq: u32, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut seq = seq;
        let d = diff(seq, self.next);
        if d < 0 {
            let dup = (-d) as usize;
            let trim = dup.min(data.len());
            f.stats.overlap_bytes += trim as u64;
            data = &data[trim..];
            seq = self.next;
            if data.is_empty() {
                return;
            }
        }
        if self.stopped() {
            let d = diff(seq, self.next);
            if d >= 0 {
                // Nothing is reassembled any more: advance over what came.
                let end = seq.wrapping_add(data.len() as u32);
                f.stats.after_stop += data.len() as u64;
                self.next = end;
            }
            return;
        }
        if seq == self.next {
            self.in_order(f, data);
        } else {
            self.out_of_order(f, seq, data);
        }
    }

    fn in_order<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, mut data: &[u8]) {
        while !data.is_empty() {
            if self.pend == 0 && self.nranges == 0 {
                let used = self.run(f, data);
                self.next = self.next.wrapping_add(data.len() as u32);
                let rest = &data[used..];
                if !rest.is_empty() {
                    self.stash(f, rest);
                }
                return;
            }
            if self.buf == NONE {
                match f.pool.take() {
                    Some(b) => self.buf = b,
                    None => {
                        f.stats.buffer_exhausted += 1;
                        self.lose(f, data.len() as u64);
                        self.next = self.next.wrapping_add(data.len() as u32);
                        return;
                    }
                }
            }
            let cap = f.pool.size() as u32;
            let k = (cap - self.pend).min(data.len() as u32);
            if k == 0 {
                // The analyzer holds a full buffer unconsumed.
                f.stats.overflow += 1;
                let held = self.pend;
                self.advance_window(f.pool, held);
                self.lose(f, u64::from(held));
                continue;
            }
            self.write_holes(f.pool, self.pend, &data[..k as usize]);
            self.pend += k;
            self.next = self.next.wrapping_add(k);
            data = &data[k as usize..];
            self.merge_front();
            self.drain(f);
        }
    }

    fn out_of_order<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, seq: u32, data: &[u8]) {
        let cap = f.pool.size() as u64;
        loop {
            let off = u64::from(self.pend) + diff(seq, self.next) as u64;
            let fits = off + data.len() as u64 <= cap;
            let slot = self.nranges < MAX_RANGES as u8 || self.touches_range(off, data.len());
            if fits && slot {
                break;
            }
            // No room to hold it: the hole before it becomes a gap.
            if self.nranges > 0 {
                let start = self.seq_at(self.ranges[0].0);
                self.skip_to(f, start);
            } else {
                self.skip_to(f, seq);
            }
            if diff(seq, self.next) <= 0 {
                // The window reached it (or passed its start): trim, deliver.
                self.place(f, seq, data);
                return;
            }
        }
        if self.buf == NONE {
            match f.pool.take() {
                Some(b) => self.buf = b,
                None => {
                    f.stats.buffer_exhausted += 1;
                    // Dropped; the hole it leaves is declared later.
                    return;
                }
            }
        }
        let off = self.pend + diff(seq, self.next) as u32;
        let end = off + data.len() as u32;
        if self.ranges[..self.nranges as usize]
            .iter()
            .any(|&(s, e)| s <= off && end <= e)
        {
            // Every byte is held already.
            f.stats.overlap_bytes += data.len() as u64;
            return;
        }
        f.stats.ooo_segments += 1;
        self.write_holes(f.pool, off, data);
        self.add_range(off, off + data.len() as u32);
    }

    fn touches_range(&self, off: u64, len: usize) -> bool {
        let end = off + len as u64;
        self.ranges[..self.nranges as usize]
            .iter()
            .any(|&(s, e)| off <= u64::from(e) && end >= u64::from(s))
    }

    /// Copies `data` to buffer offset `off`, except over bytes a held range
    /// already has (the first copy wins).
    fn write_holes(&mut self, pool: &mut Pool, off: u32, data: &[u8]) {
        let buf = pool.get_mut(self.buf);
        let end = off + data.len() as u32;
        let mut at = off;
        for &(s, e) in &self.ranges[..self.nranges as usize] {
            if e <= at || s >= end {
                continue;
            }
            if s > at {
                buf[at as usize..s as usize]
                    .copy_from_slice(&data[(at - off) as usize..(s - off) as usize]);
            }
            at = at.max(e);
        }
        if at < end {
            buf[at as usize..end as usize].copy_from_slice(&data[(at - off) as usize..]);
        }
    }

    fn add_range(&mut self, s: u32, e: u32) {
        let n = self.nranges as usize;
        let (mut s, mut e) = (s, e);
        let mut out = [(0u32, 0u32); MAX_RANGES + 1];
        let mut k = 0;
        let mut placed = false;
        for &(rs, re) in &self.ranges[..n] {
            if re < s {
                out[k] = (rs, re);
                k += 1;
            } else if rs > e {
                if !placed {
                    out[k] = (s, e);
                    k += 1;
                    placed = true;
                }
                out[k] = (rs, re);
                k += 1;
            } else {
                s = s.min(rs);
                e = e.max(re);
            }
        }
        if !placed {
            out[k] = (s, e);
            k += 1;
        }
        debug_assert!(k <= MAX_RANGES, "caller checked for a free range slot");
        let k = k.min(MAX_RANGES);
        self.ranges[..k].copy_from_slice(&out[..k]);
        self.nranges = k as u8;
    }

    /// Held ranges that now touch the pending bytes join them.
    fn merge_front(&mut self) {
        while self.nranges > 0 && self.ranges[0].0 <= self.pend {
            let e = self.ranges[0].1;
            if e > self.pend {
                self.next = self.next.wrapping_add(e - self.pend);
                self.pend = e;
            }
            self.ranges.copy_within(1..self.nranges as usize, 0);
            self.nranges -= 1;
        }
    }

    /// Runs the analyzer over the pending bytes and keeps what it left.
    fn drain<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>) {
        if self.pend == 0 || self.buf == NONE {
            return;
        }
        let used = self.run_pool(f, self.pend as usize);
        self.advance_window(f.pool, used as u32);
    }

    fn run_pool<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, pend: usize) -> usize {
        let Feed {
            pool,
            stats,
            limits,
            sink,
            cx,
            dir,
        } = f;
        // The analyzer never sees the stream pool: lend it the bytes.
        let data = &pool.get(self.buf)[..pend];
        run(self, stats, *limits, *sink, cx, *dir, data)
    }

    /// Moves the window start on by `n` bytes: consumed pending bytes, or
    /// (past `pend`) a hole declared lost. Held ranges keep their place in
    /// sequence space.
    fn advance_window(&mut self, pool: &mut Pool, n: u32) {
        if n == 0 {
            return;
        }
        let hi = if self.nranges > 0 {
            self.ranges[self.nranges as usize - 1].1
        } else {
            self.pend
        };
        if self.buf != NONE && n < hi {
            pool.get_mut(self.buf)
                .copy_within(n as usize..hi as usize, 0);
        }
        let mut k = 0;
        for i in 0..self.nranges as usize {
            let (s, e) = self.ranges[i];
            if e <= n {
                continue;
            }
            self.ranges[k] = (s.saturating_sub(n), e - n);
            k += 1;
        }
        self.nranges = k as u8;
        if n >= self.pend {
            let start = self.next.wrapping_sub(self.pend);
            self.next = start.wrapping_add(n);
            self.pend = 0;
        } else {
            self.pend -= n;
        }
        if self.pend == 0 && self.nranges == 0 && self.buf != NONE {
            pool.give(self.buf);
            self.buf = NONE;
        }
    }

    /// Keeps bytes the analyzer left unconsumed on the direct path.
    fn stash<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, rest: &[u8]) {
        if self.stopped() {
            return;
        }
        let cap = f.pool.size();
        if rest.len() > cap {
            f.stats.overflow += 1;
            self.lose(f, rest.len() as u64);
            return;
        }
        let b = match f.pool.take() {
            Some(b) => b,
            None => {
                f.stats.buffer_exhausted += 1;
                self.lose(f, rest.len() as u64);
                return;
            }
        };
        f.pool.get_mut(b)[..rest.len()].copy_from_slice(rest);
        self.buf = b;
        self.pend = rest.len() as u32;
    }

    /// Declares the holes before `target` lost and moves on to it; held
    /// ranges on the way are delivered, not dropped.
    fn skip_to<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, target: u32) {
        while diff(target, self.next) > 0 {
            // The hole ends at the first held range, or at the target.
            let mut stop = target;
            if self.nranges > 0 {
                let r = self.seq_at(self.ranges[0].0);
                if diff(r, stop) < 0 {
                    stop = r;
                }
            }
            let d = diff(stop, self.next).max(0) as u32;
            // Unconsumed bytes of a message the hole cuts are lost with it.
            let lost = u64::from(self.pend) + u64::from(d);
            self.advance_window(f.pool, self.pend + d);
            self.lose(f, lost);
            self.merge_front();
            self.drain(f);
            if self.stopped() {
                // Nothing more is wanted: drop what is held.
                self.release(f.pool);
                if diff(target, self.next) > 0 {
                    self.next = target;
                }
                return;
            }
        }
    }

    /// Tells the analyzer `len` bytes are lost, unless a skip covers them.
    fn lose<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, len: u64) {
        if self.stopped() {
            f.stats.after_stop = f.stats.after_stop.saturating_add(len);
            return;
        }
        let k = self.skip.min(len);
        self.skip -= k;
        f.stats.skipped = f.stats.skipped.saturating_add(k);
        let len = len - k;
        if len > 0 {
            f.stats.gaps += 1;
            f.stats.gap_bytes = f.stats.gap_bytes.saturating_add(len);
            self.need = 0;
            f.sink.gap(f.dir, len, f.cx);
        }
    }
}

/// The contract loop: feeds `data` to the analyzer until it is used up or
/// the analyzer needs more; returns the bytes consumed (or skipped).
fn run<S: Sink<C>, C>(
    d: &mut Dir,
    stats: &mut StreamStats,
    limits: StreamLimits,
    sink: &mut S,
    cx: &mut C,
    dir: usize,
    data: &[u8],
) -> usize {
    let mut i = 0;
    loop {
        if d.skip > 0 {
            let k = d.skip.min((data.len() - i) as u64);
            d.skip -= k;
            i += k as usize;
            stats.skipped = stats.skipped.saturating_add(k);
        }
        if i == data.len() {
            break;
        }
        if d.stopped() {
            stats.after_stop += (data.len() - i) as u64;
            i = data.len();
            break;
        }
        if data.len() - i < d.need as usize {
            break;
        }
        d.need = 0;
        if limits.depth > 0 && d.delivered >= limits.depth {
            stats.depth_reached += 1;
            d.flags |= STOPPED;
            continue;
        }
        let rest = &data[i..];
        match sink.parse(dir, rest, cx) {
            Step::Consumed(n) if n > 0 => {
                let n = n.min(rest.len());
                i += n;
                d.delivered += n as u64;
                stats.delivered += n as u64;
            }
            Step::Consumed(_) => {
                d.need = rest.len() as u32 + 1;
                break;
            }
            Step::Need { consumed, min } => {
                let c = consumed.min(rest.len());
                i += c;
                d.delivered += c as u64;
                stats.delivered += c as u64;
                d.need = min.max(data.len() - i + 1).min(u32::MAX as usize) as u32;
                break;
            }
            Step::Skip { consumed, len } => {
                let c = consumed.min(rest.len());
                i += c;
                d.delivered += c as u64;
                stats.delivered += c as u64;
                d.skip = len;
            }
            Step::Stop => d.flags |= STOPPED,
            Step::Fatal => {
                stats.fatal += 1;
                d.flags |= STOPPED;
            }
        }
    }
    i
}

impl Dir {
    fn run<S: Sink<C>, C>(&mut self, f: &mut Feed<S, C>, data: &[u8]) -> usize {
        run(self, f.stats, f.limits, f.sink, f.cx, f.dir, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the analyzer saw: bytes, and gaps by length.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data(Vec<u8>),
        Gap(u64),
    }

    /// Takes every byte, or (lines) only whole lines.
    struct Rec {
        ev: Vec<Ev>,
        lines: bool,
    }

    impl Sink<()> for Rec {
        fn parse(&mut self, _dir: usize, data: &[u8], _cx: &mut ()) -> Step {
            let n = if self.lines {
                data.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)
            } else {
                data.len()
            };
            if n == 0 {
                return Step::Need {
                    consumed: 0,
                    min: 0,
                };
            }
            match self.ev.last_mut() {
                Some(Ev::Data(v)) => v.extend_from_slice(&data[..n]),
                _ => self.ev.push(Ev::Data(data[..n].to_vec())),
            }
            Step::Consumed(n)
        }
        fn gap(&mut self, _dir: usize, len: u64, _cx: &mut ()) {
            self.ev.push(Ev::Gap(len));
        }
    }

    struct H {
        pool: Pool,
        st: StreamStats,
        rec: Rec,
        dir: Dir,
        unit: (),
    }

    impl H {
        fn new(buf: usize, lines: bool) -> Self {
            let mut dir = Dir::default();
            dir.start(100, false);
            Self {
                pool: Pool::new(4, buf, false).unwrap(),
                st: StreamStats::default(),
                rec: Rec {
                    ev: Vec::new(),
                    lines,
                },
                dir,
                unit: (),
            }
        }
        fn f(&mut self) -> (Feed<'_, Rec, ()>, &mut Dir) {
            (
                Feed {
                    pool: &mut self.pool,
                    stats: &mut self.st,
                    limits: StreamLimits { depth: 0 },
                    sink: &mut self.rec,
                    cx: &mut self.unit,
                    dir: 0,
                },
                &mut self.dir,
            )
        }
        fn seg(&mut self, off: u32, data: &[u8]) {
            let (mut f, d) = self.f();
            d.segment(&mut f, 100 + off, data, data.len() as u32);
        }
        fn ack(&mut self, off: u32) {
            let (mut f, d) = self.f();
            d.ack(&mut f, 100 + off);
        }
        fn finish(&mut self) {
            let (mut f, d) = self.f();
            d.finish(&mut f, false);
        }
    }

    #[test]
    fn in_order_is_direct_and_holds_nothing() {
        let mut h = H::new(64, false);
        h.seg(0, b"abc");
        assert!(!h.dir.holds_buffer());
        h.seg(3, b"def");
        h.finish();
        assert_eq!(h.rec.ev, [Ev::Data(b"abcdef".to_vec())]);
        assert_eq!(h.pool.in_use(), 0);
    }

    #[test]
    fn out_of_order_waits_and_first_copy_wins() {
        let mut h = H::new(64, false);
        h.seg(6, b"ghi");
        h.seg(3, b"DEF");
        h.seg(3, b"xyz"); // a later copy of held bytes: ignored
        assert!(h.rec.ev.is_empty());
        assert!(h.dir.holds_buffer());
        h.seg(0, b"abcd"); // overlaps the held "D"
        h.seg(2, b"cdefghij"); // mostly delivered already
        h.finish();
        assert_eq!(h.rec.ev, [Ev::Data(b"abcDEFghij".to_vec())]);
        assert_eq!(h.st.ooo_segments, 2);
        assert!(h.st.overlap_bytes >= 7);
        assert_eq!(h.pool.in_use(), 0);
    }

    #[test]
    fn holes_become_gaps_by_ack_window_and_end() {
        // The peer acknowledges past a hole: the capture lost it.
        let mut h = H::new(64, false);
        h.seg(0, b"ab");
        h.ack(5);
        assert_eq!(h.rec.ev.len(), 1, "nothing held: the bytes may still come");
        h.seg(5, b"fg");
        h.ack(7);
        assert_eq!(
            h.rec.ev,
            [
                Ev::Data(b"ab".to_vec()),
                Ev::Gap(3),
                Ev::Data(b"fg".to_vec())
            ]
        );
        // Held data past the window: the hole before it gives way.
        let mut h = H::new(8, false);
        h.seg(2, b"cd");
        h.seg(6, b"ghijk");
        assert_eq!(h.rec.ev, [Ev::Gap(2), Ev::Data(b"cd".to_vec())]);
        h.finish();
        assert_eq!(h.rec.ev[2..], [Ev::Gap(2), Ev::Data(b"ghijk".to_vec())]);
        // A short capture: the rest of the segment is a gap.
        let mut h = H::new(64, false);
        let (mut f, d) = h.f();
        d.segment(&mut f, 100, b"abc", 10);
        assert_eq!(h.rec.ev, [Ev::Data(b"abc".to_vec()), Ev::Gap(7)]);
        assert_eq!(h.dir.next(), 110);
    }

    #[test]
    fn a_segment_the_window_passes_is_trimmed_not_looped_on() {
        // Found by the stream fuzz target: an empty segment far ahead, then
        // one too long for the window whose start the gap then passed.
        let mut h = H::new(27, true);
        h.seg(20, b"");
        let data: Vec<u8> = (0..66u8).collect();
        h.seg(3, &data[3..]);
        h.finish();
        assert_eq!(h.pool.in_use(), 0);
        let mut h = H::new(27, false);
        h.seg(10, b"k");
        h.seg(3, &data[3..]);
        h.finish();
        let got: u64 = h
            .rec
            .ev
            .iter()
            .map(|e| match e {
                Ev::Data(v) => v.len() as u64,
                Ev::Gap(n) => *n,
            })
            .sum();
        assert_eq!(got, 66, "every byte is delivered or declared lost once");
    }

    #[test]
    fn unconsumed_bytes_wait_for_more() {
        let mut h = H::new(64, true);
        h.seg(0, b"one\ntw");
        assert!(h.dir.holds_buffer());
        h.seg(6, b"o\nthr");
        h.seg(11, b"ee\n");
        h.finish();
        assert_eq!(h.rec.ev, [Ev::Data(b"one\ntwo\nthree\n".to_vec())]);
        assert_eq!(h.pool.in_use(), 0);
        // More than a buffer without a line end: counted, and a gap.
        let mut h = H::new(8, true);
        h.seg(0, b"0123456789abc");
        assert_eq!(h.st.overflow, 1);
        assert_eq!(h.rec.ev, [Ev::Gap(13)]);
    }

    #[test]
    fn skips_absorb_gaps_and_stop_counts() {
        struct Skipper(Vec<Ev>);
        impl Sink<()> for Skipper {
            fn parse(&mut self, _d: usize, data: &[u8], _cx: &mut ()) -> Step {
                self.0.push(Ev::Data(data[..1].to_vec()));
                match data[0] {
                    b'S' => Step::Skip {
                        consumed: 1,
                        len: 9,
                    },
                    b'X' => Step::Stop,
                    _ => Step::Consumed(1),
                }
            }
            fn gap(&mut self, _d: usize, len: u64, _cx: &mut ()) {
                self.0.push(Ev::Gap(len));
            }
        }
        let mut pool = Pool::new(2, 32, false).unwrap();
        let mut st = StreamStats::default();
        let mut sk = Skipper(Vec::new());
        let mut d = Dir::default();
        d.start(0, false);
        let mut unit = ();
        let mut f = Feed {
            pool: &mut pool,
            stats: &mut st,
            limits: StreamLimits { depth: 0 },
            sink: &mut sk,
            cx: &mut unit,
            dir: 0,
        };
        d.segment(&mut f, 0, b"aS123", 5);
        // Bytes 5..11 lost (the peer acknowledges past them): inside the
        // skip, so no gap is reported.
        d.segment(&mut f, 11, b"bX", 2);
        d.ack(&mut f, 11);
        d.segment(&mut f, 13, b"after", 5);
        assert_eq!(sk.0, [b"a", b"S", b"b", b"X"].map(|x| Ev::Data(x.to_vec())));
        // After the stop: the unconsumed "X" and "after".
        assert_eq!((st.skipped, st.after_stop, st.gaps), (9, 6, 0));
    }

    /// A stream cut into segments, some duplicated, neighbours swapped.
    fn scrambled() -> impl Strategy<Value = (Vec<u8>, Vec<(u32, u32)>)> {
        (
            prop::collection::vec(any::<u8>(), 1..600),
            prop::collection::vec(1usize..40, 1..60),
            any::<u64>(),
        )
            .prop_map(|(data, cuts, seed)| {
                let mut segs = Vec::new();
                let mut at = 0usize;
                for c in cuts {
                    if at >= data.len() {
                        break;
                    }
                    let e = (at + c).min(data.len());
                    segs.push((at as u32, e as u32));
                    at = e;
                }
                if at < data.len() {
                    segs.push((at as u32, data.len() as u32));
                }
                let mut s = seed;
                let mut out = Vec::new();
                let mut i = 0;
                while i < segs.len() {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if s >> 62 == 0 && i + 1 < segs.len() {
                        out.push(segs[i + 1]);
                        out.push(segs[i]);
                        i += 2;
                        continue;
                    }
                    out.push(segs[i]);
                    if s >> 61 & 1 == 1 {
                        out.push(segs[i]);
                    }
                    i += 1;
                }
                (data, out)
            })
    }

    proptest! {
        /// Reordered and duplicated segments, no loss, a window larger
        /// than any hole: the analyzer sees exactly the stream.
        #[test]
        fn reassembly_equals_the_stream((data, segs) in scrambled(), lines in any::<bool>()) {
            let mut h = H::new(1024, lines);
            for &(s, e) in &segs {
                h.seg(s, &data[s as usize..e as usize]);
            }
            h.finish();
            let mut got = Vec::new();
            for e in &h.rec.ev {
                match e {
                    Ev::Data(v) => got.extend_from_slice(v),
                    Ev::Gap(_) => prop_assert!(lines, "a gap without loss: {:?}", h.rec.ev),
                }
            }
            if lines {
                let whole = data.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
                prop_assert_eq!(&got[..], &data[..whole]);
            } else {
                prop_assert_eq!(got, data);
            }
            prop_assert_eq!(h.pool.in_use(), 0);
        }

        /// Loss, any order, tiny windows: every byte delivered sits at its
        /// place in the stream (gaps count the bytes they cover).
        #[test]
        fn delivered_bytes_are_never_misplaced((data, segs) in scrambled(), drop in any::<u64>(), buf in 8usize..64) {
            let mut h = H::new(buf, false);
            for (k, &(s, e)) in segs.iter().enumerate() {
                if drop >> (k % 64) & 1 == 1 && k % 3 == 0 {
                    continue;
                }
                h.seg(s, &data[s as usize..e as usize]);
            }
            h.ack(data.len() as u32);
            h.finish();
            let mut pos = 0usize;
            for e in &h.rec.ev {
                match e {
                    Ev::Data(v) => {
                        prop_assert_eq!(&data[pos..pos + v.len()], &v[..]);
                        pos += v.len();
                    }
                    Ev::Gap(n) => pos += *n as usize,
                }
            }
            prop_assert_eq!(pos, data.len());
            prop_assert_eq!(h.pool.in_use(), 0);
        }
    }
}
