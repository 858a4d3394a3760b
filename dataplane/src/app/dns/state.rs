//! Queries waiting for their responses, per flow, and DNS-over-TCP's
//! two-byte length framing.
//!
//! A query opens a transaction (at most the flow's open limit; a
//! retransmission with the same id and name is the same transaction). A
//! response closes the transaction with its id and question, and is
//! logged with it; a response nobody asked (the capture started late) is
//! logged alone, after waiting up to the DNS timeout for its query to turn
//! up late (a mirror port may deliver the directions out of order; the
//! record then has `latency_us` 0 and `reordered`). Queries wait at most
//! the DNS timeout, or until the flow ends, and are then logged as
//! unanswered. A TCP message longer than a
//! stream buffer is logged from the part at hand (its header and question
//! are at the front) and the rest is skipped.

use super::parse::{self, Header, Question};
use super::record::{self, End};
use super::txn::{Pending, MAX_PENDING, NAME_KEEP};
use crate::app::open::IdMap;
use crate::app::{Cx, Step};
use crate::record::RecordOut;

/// The AXFR query type (RFC 5936).
const AXFR: u16 = 252;

/// A response that came before its query (a mirror port may deliver the
/// two directions out of order): its bytes wait in a transaction buffer
/// for the query, at most the DNS timeout.
#[derive(Clone, Copy, Debug)]
struct Early {
    buf: u32,
    len: usize,
    id: u16,
    qtype: u16,
    hash: Option<u64>,
    ts: u64,
}

/// DNS state of one flow.
#[derive(Debug)]
pub struct Dns {
    tcp: bool,
    /// Queries waiting, found by id and question.
    pend: IdMap<Pending, MAX_PENDING>,
    early: Option<Early>,
    /// TCP directions whose framing was lost.
    lost: [bool; 2],
    /// A zone transfer under way (AXFR over TCP): its query, and the
    /// messages of the zone seen so far. Its later messages carry no
    /// question and pair with it by id.
    axfr: Option<(Pending, u32)>,
}

fn name_hash(n: &[u8]) -> u64 {
    // Names compare case-blind (RFC 4343).
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &c in n {
        h = (h ^ u64::from(c.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Dns {
    /// State for a flow over TCP or UDP with at most `max_open` queries
    /// waiting.
    pub fn new(tcp: bool, max_open: usize) -> Self {
        Self {
            tcp,
            pend: IdMap::new(max_open.clamp(1, MAX_PENDING)),
            early: None,
            lost: [false; 2],
            axfr: None,
        }
    }

    /// Makes `self` what [`Dns::new`] returns, in place. A session goes
    /// back idle or after [`Dns::end`] emptied it, so the waiting queries
    /// are not rewritten ([`IdMap::reset`]; they are most of the state).
    pub fn reset(&mut self, tcp: bool, max_open: usize) {
        let Self {
            tcp: t,
            pend,
            early,
            lost,
            axfr,
        } = self;
        *t = tcp;
        pend.reset(max_open.clamp(1, MAX_PENDING));
        *early = None;
        *lost = [false; 2];
        *axfr = None;
    }

    /// Whether nothing is waiting (no query, no early response, no zone
    /// transfer under way).
    pub fn idle(&self) -> bool {
        self.early.is_none() && self.axfr.is_none() && self.pend.is_empty()
    }

    /// Over TCP.
    pub fn tcp(&self) -> bool {
        self.tcp
    }

    /// Parses a datagram (UDP) or stream bytes (TCP).
    pub fn parse<O: RecordOut>(&mut self, dir: usize, data: &[u8], cx: &mut Cx<'_, O>) -> Step {
        if !self.tcp {
            self.message(data, false, cx);
            return Step::Consumed(data.len());
        }
        if self.lost[dir] {
            // After a gap, resume where a length-prefixed message plausibly
            // starts (a segment often does); drop bytes until then.
            if data.len() < super::TCP_PROBE_BYTES {
                return Step::Need {
                    consumed: 0,
                    min: super::TCP_PROBE_BYTES,
                };
            }
            if !super::probe_tcp(data) {
                return Step::Consumed(data.len());
            }
            self.lost[dir] = false;
        }
        if data.len() < 2 {
            return Step::Need {
                consumed: 0,
                min: 2,
            };
        }
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        if data.len() >= 2 + len {
            self.message(&data[2..2 + len], false, cx);
            return Step::Consumed(2 + len);
        }
        if 2 + len > cx.cfg.stream_buffer_bytes {
            // Too long to hold: log what is here, skip the rest.
            self.message(&data[2..], true, cx);
            return Step::Skip {
                consumed: data.len(),
                len: (2 + len - data.len()) as u64,
            };
        }
        Step::Need {
            consumed: 0,
            min: 2 + len,
        }
    }

    /// Bytes were lost: a datagram cut short, or TCP framing gone.
    pub fn gap<O: RecordOut>(&mut self, dir: usize, len: u64, cx: &mut Cx<'_, O>) {
        if self.tcp && len > 0 {
            // Without the framing there is no telling where a message
            // starts: the direction looks for one. A stream first seen
            // mid-connection is taken to start at a message.
            self.lost[dir] = true;
        } else if !self.tcp && len > 0 {
            cx.stats.of::<Dns>().errors += 1;
        }
    }

    fn message<O: RecordOut>(&mut self, m: &[u8], partial: bool, cx: &mut Cx<'_, O>) {
        let Some(h) = parse::header(m).filter(|_| parse::confirmed(m, partial)) else {
            // Not DNS (junk, DNSCrypt on a DNS port): counted, and the
            // flow stays DNS for the messages that are.
            cx.stats.of::<Dns>().errors += 1;
            return;
        };
        let mut q = Question::default();
        let has_q = h.qd > 0 && parse::question(m, 12, &mut q).is_some();
        if !h.qr() {
            if !has_q {
                cx.stats.of::<Dns>().errors += 1;
                return;
            }
            self.query(&h, &q, cx);
            return;
        }
        let hash = has_q.then(|| name_hash(q.name.as_bytes()));
        // Without a question only a non-zero id can pair (mDNS answers
        // carry id 0 and no question: they answer nobody in particular).
        let pairable = has_q || h.id != 0;
        let k = if pairable {
            self.pend
                .find(|p| p.id == h.id && hash.is_none_or(|x| x == p.hash && p.qtype == q.qtype))
        } else {
            None
        };
        let mut p = k.and_then(|k| self.pend.take(k));
        let mut axfr_part = 0;
        if let Some(a) = p.filter(|p| self.tcp && p.qtype == AXFR) {
            self.axfr = Some((a, 1));
            axfr_part = 1;
        } else if let Some((a, parts)) = self
            .axfr
            .as_mut()
            .filter(|(a, _)| p.is_none() && a.id == h.id && hash.is_none_or(|x| x == a.hash))
        {
            // The zone goes on.
            *parts += 1;
            axfr_part = *parts;
            p = Some(*a);
        }
        if p.is_none() && !partial && self.keep_early(&h, &q, hash, m, cx) {
            return;
        }
        let axfr_done = axfr_part > 0 && parse::zone_ends(m, &h, axfr_part == 1);
        if axfr_done || (axfr_part > 0 && h.rcode() != 0) {
            self.axfr = None;
        }
        let resp = record::Response {
            header: h,
            msg: m,
            question: has_q.then_some(&q),
            partial,
            axfr_part,
            axfr_done,
        };
        record::emit(p.as_ref(), Some(&resp), self.tcp, End::Answered, cx);
    }

    /// Keeps a response nobody asked yet; false if it cannot be kept.
    fn keep_early<O: RecordOut>(
        &mut self,
        h: &Header,
        q: &Question,
        hash: Option<u64>,
        m: &[u8],
        cx: &mut Cx<'_, O>,
    ) -> bool {
        // One at a time: an older one is logged as it is.
        self.flush_early(cx);
        let Some(b) = cx.txn.take() else {
            return false;
        };
        let Some(tb) = cx.txn.get(b).filter(|tb| tb.room() >= m.len()) else {
            cx.txn.give(b);
            return false;
        };
        tb.frag.extend_from_slice(m);
        self.early = Some(Early {
            buf: b,
            len: m.len(),
            id: h.id,
            qtype: q.qtype,
            hash,
            ts: cx.now,
        });
        true
    }

    /// Logs the early response, with `p` (its query) if it came.
    fn flush_early_with<O: RecordOut>(&mut self, p: Option<&Pending>, cx: &mut Cx<'_, O>) {
        let Some(e) = self.early.take() else {
            return;
        };
        let Some(tb) = cx.txn.get(e.buf) else {
            return;
        };
        // Moved out for the write (no allocation), then put back.
        let bytes = std::mem::take(&mut tb.frag);
        let m = &bytes[..e.len.min(bytes.len())];
        if let Some(h) = parse::header(m) {
            let mut q = Question::default();
            let has_q = h.qd > 0 && parse::question(m, 12, &mut q).is_some();
            let resp = record::Response {
                header: h,
                msg: m,
                question: has_q.then_some(&q),
                partial: false,
                axfr_part: 0,
                axfr_done: false,
            };
            let now = std::mem::replace(&mut cx.now, e.ts);
            record::emit(p, Some(&resp), self.tcp, End::Answered, cx);
            cx.now = now;
        }
        if let Some(tb) = cx.txn.get(e.buf) {
            tb.frag = bytes;
        }
        cx.txn.give(e.buf);
    }

    fn flush_early<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        self.flush_early_with(None, cx);
    }

    fn query<O: RecordOut>(&mut self, h: &Header, q: &Question, cx: &mut Cx<'_, O>) {
        let hash = name_hash(q.name.as_bytes());
        if let Some(e) = self.early {
            if e.id == h.id && e.hash.is_none_or(|x| x == hash) && e.qtype == q.qtype {
                // Its response came first: log them together now.
                let p = self.pending(h, q, hash, cx.now);
                self.flush_early_with(Some(&p), cx);
                return;
            }
        }
        if self
            .pend
            .iter()
            .any(|p| p.id == h.id && p.hash == hash && p.qtype == q.qtype)
        {
            // A retransmission: the same transaction.
            return;
        }
        if self.pend.is_full() || self.pend.insert(self.pending(h, q, hash, cx.now)).is_err() {
            cx.stats.txn_limit += 1;
        }
    }

    fn pending(&self, h: &Header, q: &Question, hash: u64, ts: u64) -> Pending {
        let n = q.name.as_bytes();
        let keep = n.len().min(NAME_KEEP);
        let mut name = [0u8; NAME_KEEP];
        name[..keep].copy_from_slice(&n[..keep]);
        Pending {
            id: h.id,
            qtype: q.qtype,
            qclass: q.qclass,
            flags: h.flags,
            ts,
            hash,
            name,
            nlen: keep as u8,
            cut: q.name.cut || n.len() > NAME_KEEP,
        }
    }

    /// Queries waiting past the DNS timeout are logged as unanswered.
    pub fn timeout<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        let limit = cx.cfg.protos.dns.limits.timeout_ns;
        if self
            .early
            .is_some_and(|e| cx.now.saturating_sub(e.ts) >= limit)
        {
            self.flush_early(cx);
        }
        let now = cx.now;
        for p in self.pend.drain_where(|p| now.saturating_sub(p.ts) >= limit) {
            record::emit(Some(&p), None, self.tcp, End::Timeout, cx);
        }
    }

    /// The flow ends: waiting queries are logged as unanswered.
    pub fn end<O: RecordOut>(&mut self, cx: &mut Cx<'_, O>) {
        self.flush_early(cx);
        self.axfr = None;
        // Oldest first.
        while let Some(p) = self.pend.take_min_by_key(|p| p.ts) {
            record::emit(Some(&p), None, self.tcp, End::FlowEnd, cx);
        }
    }
}
