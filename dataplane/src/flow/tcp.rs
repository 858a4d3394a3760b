//! Per-packet flow updates: TCP analysis and the KPIs.
//!
//! Three models run over each TCP segment, each following the tool whose
//! output operators compare us with:
//! * tshark 4.0's sequence analysis (`tcp_analyze_sequence_number`):
//!   retransmissions (plain, fast and spurious), out-of-order segments,
//!   zero windows, keep-alives and duplicate ACKs;
//! * Zeek's endpoint state machine and history letters, which give
//!   `conn_state` and `history`;
//! * the sensor's own KPIs: handshake RTT split at the sensor, network delay
//!   from never-retransmitted data to its ACK (Karn), application response
//!   and transfer times.
//!
//! Sequence comparisons use serial arithmetic ([`seq_lt`] and friends).

use super::{cf, Cold, Hot};
use crate::decode::tcpflag::{ACK, FIN, RST, SYN};

/// Per-direction analysis bits in [`Hot::dbits`].
pub mod bits {
    /// Duplicate-ACK counter: 0, 1, 2 (two or more), 3 (tshark's -1).
    pub const DUPACK: u8 = 0b11;
    /// The last segment was a keep-alive.
    pub const KEEPALIVE: u8 = 1 << 2;
    /// The last segment was a zero-window probe.
    pub const ZWP: u8 = 1 << 3;
    /// A window was seen from this direction.
    pub const WIN_SET: u8 = 1 << 4;
    /// This direction skipped bytes in sequence space that its peer has
    /// not acknowledged past yet (mirror health: a fill counts only then).
    pub const HOLE: u8 = 1 << 5;
    /// This direction has sent payload.
    pub const DATA: u8 = 1 << 6;
}

/// Zeek's TCP endpoint states.
pub mod zs {
    /// Nothing seen.
    pub const INACTIVE: u8 = 0;
    /// SYN seen, no ACK.
    pub const SYN_SENT: u8 = 1;
    /// SYN-ACK seen, no initial SYN.
    pub const SYN_ACK_SENT: u8 = 2;
    /// Data seen but no SYN.
    pub const PARTIAL: u8 = 3;
    /// Established.
    pub const ESTABLISHED: u8 = 4;
    /// FIN seen.
    pub const CLOSED: u8 = 5;
    /// RST seen.
    pub const RESET: u8 = 6;
}

/// `a < b` in sequence space.
#[inline]
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
/// `a <= b` in sequence space.
#[inline]
pub fn seq_le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}
/// `a > b` in sequence space.
#[inline]
pub fn seq_gt(a: u32, b: u32) -> bool {
    seq_lt(b, a)
}

/// The fields of a segment the trackers read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seg {
    /// Flags.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (raw, even without ACK).
    pub ack: u32,
    /// Raw window.
    pub win: u16,
    /// Payload length per the IP header.
    pub len: u32,
    /// Time in µs (wrapping).
    pub t: u32,
}

#[inline]
fn state(z: u8) -> u8 {
    z & 0x0f
}
#[inline]
fn prev(z: u8) -> u8 {
    z >> 4
}
#[inline]
fn set_state(z: &mut u8, new: u8) {
    if state(*z) != new {
        *z = (state(*z) << 4) | new;
    }
}

/// Endpoint state of direction `d`.
pub fn endpoint_state(h: &Hot, d: usize) -> u8 {
    state(h.zstate[d])
}

/// Appends a history letter (upper case for the originator).
pub fn add_history(c: &mut Cold, d: usize, letter: u8) {
    let l = if d == 0 {
        letter
    } else {
        letter.to_ascii_lowercase()
    };
    push_history(c, l);
}

/// Appends a letter as is.
pub fn push_history(c: &mut Cold, l: u8) {
    if !c.push_hist(l) {
        c.flags |= cf::HIST_FULL;
    }
}

fn has_history(c: &Cold, d: usize, letter: u8) -> bool {
    let l = if d == 0 {
        letter
    } else {
        letter.to_ascii_lowercase()
    };
    c.hist().contains(&l)
}

/// Adds `letter` once per direction.
pub fn history_once(c: &mut Cold, d: usize, letter: u8) {
    if !has_history(c, d, letter) {
        add_history(c, d, letter);
    }
}

/// Zeek's logarithmic letters: added at the 1st, 10th, 100th ... event.
fn history_scaled(c: &mut Cold, d: usize, letter: u8, count: u64) {
    let mut t = 1u64;
    while t < count {
        t *= 10;
    }
    if t == count {
        add_history(c, d, letter);
    }
}

/// What the segments tell of the mirror feed itself, after Zeek's
/// capture_loss (bytes acknowledged that the sensor never saw): bytes
/// acknowledged, bytes skipped in sequence space (a segment beyond the
/// highest one seen opens a hole), and bytes that came later inside what
/// was skipped and the receiver had not acknowledged yet (a hole filled:
/// reordering, or a retransmission of a loss before the sensor). What was
/// skipped and never filled is what the mirror lost. A flow keeps no list
/// of its holes (its state is one cache line and a few more), only a bit
/// per direction saying one may be open ([`bits::HOLE`]), and the balance
/// is kept per worker: a retransmission of data lost beyond the sensor,
/// in a direction with a hole open, counts as a fill too, which makes the
/// estimate low, never high.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// ACKs that acknowledged new bytes.
    pub acks: u64,
    /// Bytes they acknowledged.
    pub ack_bytes: u64,
    /// Bytes skipped: a data segment started beyond the highest seen.
    pub hole_bytes: u64,
    /// Bytes that came below the highest seen and not yet acknowledged.
    pub fill_bytes: u64,
}

/// A step in sequence space larger than this is not a hole but a wild
/// number (a broken or foreign segment).
const SANE_STEP: u32 = 1 << 30;

impl Health {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Health) {
        self.acks += o.acks;
        self.ack_bytes += o.ack_bytes;
        self.hole_bytes += o.hole_bytes;
        self.fill_bytes += o.fill_bytes;
    }

    /// Bytes skipped and never filled: what the mirror lost.
    pub fn unseen_bytes(&self) -> u64 {
        self.hole_bytes.saturating_sub(self.fill_bytes)
    }

    /// Counts segment `s` from direction `d` before it updates the flow;
    /// keeps the flow's [`bits::HOLE`] bits.
    #[inline]
    fn segment(&mut self, h: &mut Hot, d: usize, s: &Seg) {
        let e = 1 - d;
        if s.flags & (ACK | RST) == ACK && h.lastack[d] != 0 && h.nextseq[e] != 0 {
            let acked = s.ack.wrapping_sub(h.lastack[d]);
            if seq_gt(s.ack, h.lastack[d]) && acked < SANE_STEP {
                self.acks += 1;
                self.ack_bytes += u64::from(acked);
            }
            // Everything the peer sent up to the highest byte seen is
            // acknowledged: its holes are over, filled or lost.
            if seq_le(h.nextseq[e], s.ack) {
                h.dbits[e] &= !bits::HOLE;
            }
        }
        let next = h.nextseq[d];
        if s.len == 0 || next == 0 || s.flags & (SYN | RST) != 0 {
            return;
        }
        if seq_gt(s.seq, next) {
            let skipped = s.seq.wrapping_sub(next);
            if skipped < SANE_STEP {
                self.hole_bytes += u64::from(skipped);
                h.dbits[d] |= bits::HOLE;
            }
        } else if seq_lt(s.seq, next)
            && h.dbits[d] & bits::HOLE != 0
            && (h.lastack[e] == 0 || seq_le(h.lastack[e], s.seq))
        {
            self.fill_bytes += u64::from(next.wrapping_sub(s.seq).min(s.len));
        }
    }
}

/// Whether a SYN-ACK from `d` restarts that direction's sequence space:
/// the server answered the handshake again with a new initial sequence
/// number before sending any data (it restarted), and its data follows the
/// latest one.
pub fn synack_restarts(h: &Hot, d: usize, s: &Seg) -> bool {
    s.flags & (SYN | ACK) == SYN | ACK
        && h.dbits[d] & bits::DATA == 0
        && h.nextseq[d] != 0
        && s.seq.wrapping_add(1) != h.nextseq[d]
}

/// Updates the flow for one TCP segment from direction `d` (0: originator)
/// and the mirror's `health`. Returns the direction after a possible role
/// flip.
// Inlined into the worker's one call: out of line it cost ~50 instructions a
// segment (callgrind, the corpus mix).
#[inline(always)]
pub fn track(h: &mut Hot, c: &mut Cold, mut d: usize, s: &Seg, health: &mut Health) -> usize {
    health.segment(h, d, s);
    let f = s.flags;
    let sfr = f & (SYN | FIN | RST);
    // Simple counters.
    if f & SYN != 0 {
        if f & ACK != 0 {
            c.synack = c.synack.saturating_add(1);
        } else {
            c.syn = c.syn.saturating_add(1);
        }
    }
    if f & FIN != 0 {
        c.fin[d] = c.fin[d].saturating_add(1);
    }
    if f & RST != 0 {
        c.rst[d] = c.rst[d].saturating_add(1);
    }
    if sfr == 0 && f & ACK != 0 && s.len == 0 {
        c.pure_ack[d] = c.pure_ack[d].saturating_add(1);
    }
    if (1..=63).contains(&s.len) {
        c.tiny[d] = c.tiny[d].saturating_add(1);
    }

    zeek_history(c, d, s);
    let new_data = tshark_analysis(h, c, d, s);
    d = zeek_state_machine(h, c, d, s);
    if f & (SYN | ACK) == SYN && d == 0 {
        c.isn = s.seq;
    }
    // Zeek's 'G': the peer acknowledges data of this endpoint never seen.
    let rv = 1 - d;
    let clean = |z: u8| {
        state(z) == zs::ESTABLISHED || (state(z) == zs::CLOSED && prev(z) == zs::ESTABLISHED)
    };
    if f & ACK != 0
        && h.nextseq[rv] != 0
        && seq_gt(s.ack, h.nextseq[rv])
        && clean(h.zstate[0])
        && clean(h.zstate[1])
    {
        history_once(c, rv, b'G');
    }

    // Handshake RTT, split at the sensor.
    if f & SYN != 0 && f & ACK == 0 && d == 0 && c.flags & cf::HS_SYNACK == 0 {
        c.hs_a = s.t;
        c.flags |= cf::HS_SYN;
    } else if f & SYN != 0
        && f & ACK != 0
        && d == 1
        && c.flags & cf::HS_SYN != 0
        && c.flags & cf::HS_SYNACK == 0
    {
        c.hs_a = s.t.wrapping_sub(c.hs_a);
        c.hs_b = s.t;
        c.flags |= cf::HS_SYNACK;
    } else if sfr == 0
        && f & ACK != 0
        && d == 0
        && c.flags & (cf::HS_SYNACK | cf::HS_ACK) == cf::HS_SYNACK
    {
        c.hs_b = s.t.wrapping_sub(c.hs_b);
        c.flags |= cf::HS_ACK;
    }

    // Network delay: one sample at a time, from data never retransmitted.
    if c.flags & cf::SAMPLE != 0 {
        let sample_dir = usize::from(c.flags & cf::SAMPLE_RESP != 0);
        if sample_dir != d && f & ACK != 0 && seq_le(c.sample_seq, s.ack) {
            let delay = s.t.wrapping_sub(c.sample_t);
            nd_add(c, 1 - sample_dir, delay);
            c.flags &= !(cf::SAMPLE | cf::SAMPLE_RESP);
        } else if sample_dir == d && !new_data && s.len > 0 && seq_lt(s.seq, c.sample_seq) {
            // Karn: a retransmission makes the sample ambiguous.
            c.flags &= !(cf::SAMPLE | cf::SAMPLE_RESP);
        }
    }
    if new_data && s.len > 0 && c.flags & cf::SAMPLE == 0 {
        c.sample_seq = s.seq.wrapping_add(s.len);
        c.sample_t = s.t;
        c.flags |= cf::SAMPLE | if d == 1 { cf::SAMPLE_RESP } else { 0 };
    }
    if new_data && s.len > 0 {
        app_data(c, d, s.t);
    }
    d
}

fn nd_add(c: &mut Cold, side: usize, delay: u32) {
    if c.nd_cnt[side] == u16::MAX {
        return;
    }
    if c.nd_cnt[side] == 0 || delay < c.nd_min[side] {
        c.nd_min[side] = delay;
    }
    c.nd_max[side] = c.nd_max[side].max(delay);
    c.nd_sum[side] = c.nd_sum[side].saturating_add(delay);
    c.nd_cnt[side] += 1;
}

/// Application timing from new payload in direction `d` at `t` (µs):
/// response time is last request byte → first response byte, transfer
/// time first → last response byte, per request/response turn.
pub fn app_data(c: &mut Cold, d: usize, t: u32) {
    if d == 0 {
        c.flags = (c.flags & !cf::APP_RESP) | cf::APP_REQ;
        c.app_t = t;
    } else if c.flags & cf::APP_RESP != 0 {
        c.xfer_sum = c.xfer_sum.saturating_add(t.wrapping_sub(c.app_t));
        c.app_t = t;
    } else if c.flags & cf::APP_REQ != 0 {
        c.art_sum = c.art_sum.saturating_add(t.wrapping_sub(c.app_t));
        c.art_cnt = c.art_cnt.saturating_add(1);
        c.flags = (c.flags & !cf::APP_REQ) | cf::APP_RESP;
        c.app_t = t;
    }
}

/// Zeek's `update_history`, before the state machine.
fn zeek_history(c: &mut Cold, d: usize, s: &Seg) {
    let f = s.flags;
    let n = (f & SYN != 0) as u8 + (f & FIN != 0) as u8 + (f & RST != 0) as u8;
    if n > 1 {
        history_once(
            c,
            d,
            if f & FIN != 0 && f & RST != 0 {
                b'I'
            } else {
                b'Q'
            },
        );
    } else if n == 1 {
        if f & SYN != 0 {
            if !has_history(c, d, b'S') && !has_history(c, d, b'H') {
                add_history(c, d, if f & ACK != 0 { b'H' } else { b'S' });
            }
        } else if f & FIN != 0 {
            history_once(c, d, b'F');
        } else {
            history_once(c, d, b'R');
        }
    } else if s.len > 0 {
        history_once(c, d, b'D');
    } else if f & ACK != 0 {
        history_once(c, d, b'A');
    }
}

/// tshark's sequence analysis. Returns whether the segment advanced the
/// sequence space (new data, as opposed to a retransmission).
fn tshark_analysis(h: &mut Hot, c: &mut Cold, fw: usize, s: &Seg) -> bool {
    let rv = 1 - fw;
    let f = s.flags;
    let sfr = f & (SYN | FIN | RST);
    let mut ta = 0u8;
    let nextseq = h.nextseq[fw];
    let fwin_set = h.dbits[fw] & bits::WIN_SET != 0;
    let rwin_set = h.dbits[rv] & bits::WIN_SET != 0;
    let same_ack = s.seq == nextseq && s.ack == h.lastack[fw] && sfr == 0 && s.len == 0;
    let mut skip_dup = false;
    if s.len == 1 && s.seq == nextseq && rwin_set && h.window[rv] == 0 {
        ta |= bits::ZWP;
    } else {
        if s.win == 0 && sfr == 0 {
            c.zero_win[fw] = c.zero_win[fw].saturating_add(1);
            history_scaled(c, fw, b'W', u64::from(c.zero_win[fw]));
        }
        if s.len <= 1 && s.seq == nextseq.wrapping_sub(1) && sfr == 0 {
            ta |= bits::KEEPALIVE;
        }
        let same_win = fwin_set && s.win == h.window[fw];
        if same_ack && s.win != 0 && same_win && h.dbits[rv] & bits::KEEPALIVE != 0 {
            skip_dup = true; // keep-alive ACK
        } else if same_ack && s.win == 0 && same_win && h.dbits[rv] & bits::ZWP != 0 {
            skip_dup = true; // zero-window-probe ACK
        }
        if !skip_dup && same_ack && s.win != 0 && same_win {
            let n = h.dbits[fw] & bits::DUPACK;
            let n = if n == 3 { 1 } else { (n + 1).min(2) };
            h.dbits[fw] = (h.dbits[fw] & !bits::DUPACK) | n;
        }
    }
    if s.ack != h.lastack[fw] {
        h.dbits[fw] &= !bits::DUPACK;
    }
    let mut advanced = true;
    if s.len > 0 || f & (SYN | FIN) != 0 {
        let mut not_adv = nextseq != 0 && seq_lt(s.seq, nextseq);
        if ta & bits::KEEPALIVE == 0 {
            if s.len > 1 && nextseq.wrapping_sub(1) == s.seq {
                not_adv = false;
            }
            let rack = h.lastack[rv];
            let spurious = s.len > 0 && rack != 0 && seq_le(s.seq.wrapping_add(s.len), rack);
            let fast = not_adv && h.dbits[rv] & bits::DUPACK >= 2 && rack == s.seq;
            // Spurious and fast retransmissions count as retransmissions,
            // and take precedence over out-of-order.
            let kind = if spurious || fast {
                1
            } else if not_adv
                && s.t.wrapping_sub(h.nextseq_t[fw]) < ooo_threshold(c)
                && nextseq
                    != s.seq
                        .wrapping_add(s.len)
                        .wrapping_add(u32::from(f & (SYN | FIN) != 0))
            {
                2
            } else if not_adv {
                1
            } else {
                0
            };
            match kind {
                1 => {
                    c.retrans[fw] = c.retrans[fw].saturating_add(1);
                    advanced = false;
                }
                2 => {
                    c.ooo[fw] = c.ooo[fw].saturating_add(1);
                    advanced = false;
                }
                _ => {}
            }
            if kind != 0 && s.len > 0 {
                history_scaled(c, fw, b'T', u64::from(c.retrans[fw]) + u64::from(c.ooo[fw]));
            }
        } else {
            advanced = false;
        }
    }
    let mut next = s.seq.wrapping_add(s.len);
    if f & (SYN | FIN) != 0 {
        next = next.wrapping_add(1);
    }
    // tshark counts it as it would; the sequence space follows it.
    let restart = synack_restarts(h, fw, s);
    if (nextseq == 0 || seq_gt(next, nextseq) || restart) && ta & bits::ZWP == 0 {
        h.nextseq[fw] = next;
        h.nextseq_t[fw] = s.t;
    } else if s.len > 0 {
        advanced = false;
    }
    h.window[fw] = s.win;
    h.lastack[fw] = s.ack;
    let data = if s.len > 0 { bits::DATA } else { 0 };
    h.dbits[fw] = (h.dbits[fw] & !(bits::KEEPALIVE | bits::ZWP)) | ta | data | bits::WIN_SET;
    advanced
}

/// tshark's out-of-order threshold: the initial RTT, else 3 ms (µs).
fn ooo_threshold(c: &Cold) -> u32 {
    if c.flags & cf::HS_ACK != 0 {
        c.hs_a.wrapping_add(c.hs_b).max(1)
    } else {
        3000
    }
}

fn closed_bit(d: usize) -> u16 {
    if d == 0 {
        cf::CLOSED_ORIG
    } else {
        cf::CLOSED_RESP
    }
}

/// Zeek's `UpdateStateMachine` and `ConnectionClosed`. Returns the
/// direction of this segment after a SYN/SYN-ACK reversal flip.
fn zeek_state_machine(h: &mut Hot, c: &mut Cold, mut e: usize, s: &Seg) -> usize {
    let f = s.flags;
    let mut p = 1 - e;
    let mut do_close = false;
    match state(h.zstate[e]) {
        zs::INACTIVE => {
            if f & SYN != 0 {
                if e == 0 {
                    set_state(
                        &mut h.zstate[e],
                        if f & ACK != 0 {
                            zs::SYN_ACK_SENT
                        } else {
                            zs::SYN_SENT
                        },
                    );
                } else {
                    if f & ACK == 0 && state(h.zstate[p]) == zs::SYN_ACK_SENT {
                        // The SYN-ACK came first: the roles were wrong.
                        flip(h, c);
                        e = 1 - e;
                        p = 1 - p;
                        set_state(&mut h.zstate[p], zs::ESTABLISHED);
                    }
                    if state(h.zstate[p]) == zs::SYN_SENT {
                        set_state(&mut h.zstate[p], zs::ESTABLISHED);
                    }
                    set_state(&mut h.zstate[e], zs::ESTABLISHED);
                }
            }
            if f & FIN != 0 {
                set_state(&mut h.zstate[e], zs::CLOSED);
                do_close = true;
            }
            if f & RST != 0 {
                set_state(&mut h.zstate[e], zs::RESET);
                do_close = true;
            }
            if state(h.zstate[e]) == zs::INACTIVE {
                if e == 1 && s.len == 0 && state(h.zstate[0]) == zs::SYN_SENT {
                    // A pure ACK of a SYN before the SYN-ACK.
                } else if f & ACK != 0 && state(h.zstate[p]) == zs::ESTABLISHED {
                    set_state(&mut h.zstate[e], zs::ESTABLISHED);
                } else {
                    set_state(&mut h.zstate[e], zs::PARTIAL);
                }
            }
        }
        zs::SYN_SENT | zs::SYN_ACK_SENT => {
            if f & FIN != 0 {
                set_state(&mut h.zstate[e], zs::CLOSED);
                do_close = true;
            }
            if f & RST != 0 {
                set_state(&mut h.zstate[e], zs::RESET);
                do_close = true;
            }
        }
        zs::ESTABLISHED | zs::PARTIAL => {
            if f & SYN != 0
                && f & ACK == 0
                && state(h.zstate[e]) == zs::PARTIAL
                && state(h.zstate[p]) == zs::INACTIVE
            {
                set_state(&mut h.zstate[e], zs::SYN_SENT);
            }
            if f & FIN != 0 && f & RST == 0 {
                set_state(&mut h.zstate[e], zs::CLOSED);
                if state(h.zstate[p]) == zs::RESET && prev(h.zstate[p]) == zs::CLOSED {
                    set_state(&mut h.zstate[p], zs::CLOSED);
                }
                do_close = true;
            }
            if f & RST != 0 {
                set_state(&mut h.zstate[e], zs::RESET);
                do_close = true;
            }
        }
        zs::CLOSED if f & RST != 0 && state(h.zstate[p]) != zs::CLOSED => {
            set_state(&mut h.zstate[e], zs::RESET);
            do_close = true;
        }
        _ => {}
    }
    if do_close && c.flags & closed_bit(e) == 0 {
        c.flags |= closed_bit(e);
        if state(h.zstate[e]) == zs::RESET
            || c.flags & closed_bit(p) != 0
            || state(h.zstate[p]) == zs::INACTIVE
        {
            c.flags |= cf::CLOSE_DONE;
        }
    }
    e
}

/// Swaps originator and responder (Zeek's `FlipRoles`), adding '^'.
pub fn flip(h: &mut Hot, c: &mut Cold) {
    h.bytes.swap(0, 1);
    h.pkts.swap(0, 1);
    h.nextseq.swap(0, 1);
    h.lastack.swap(0, 1);
    h.nextseq_t.swap(0, 1);
    h.window.swap(0, 1);
    h.dbits.swap(0, 1);
    h.zstate.swap(0, 1);
    let (a, b) = c.macs.split_at_mut(6);
    a.swap_with_slice(b);
    c.retrans.swap(0, 1);
    c.ooo.swap(0, 1);
    c.pure_ack.swap(0, 1);
    c.tiny.swap(0, 1);
    c.zero_win.swap(0, 1);
    c.fin.swap(0, 1);
    c.rst.swap(0, 1);
    c.nd_min.swap(0, 1);
    c.nd_max.swap(0, 1);
    c.nd_sum.swap(0, 1);
    c.nd_cnt.swap(0, 1);
    let closed = c.flags & (cf::CLOSED_ORIG | cf::CLOSED_RESP);
    let swapped = ((closed & cf::CLOSED_ORIG) << 1) | ((closed & cf::CLOSED_RESP) >> 1);
    c.flags = (c.flags & !(cf::CLOSED_ORIG | cf::CLOSED_RESP)) | swapped;
    c.flags ^= cf::ORIG_IS_B
        | if c.flags & cf::SAMPLE != 0 {
            cf::SAMPLE_RESP
        } else {
            0
        };
    push_history(c, b'^');
}

/// Zeek's `conn_state` for a TCP flow.
pub fn conn_state(h: &Hot, c: &Cold) -> &'static str {
    let os = state(h.zstate[0]);
    let rs = state(h.zstate[1]);
    let o_inactive = os == zs::INACTIVE || os == zs::PARTIAL;
    let r_inactive = rs == zs::INACTIVE || rs == zs::PARTIAL;
    if rs == zs::RESET {
        // Zeek's REJ also needs both endpoints' payload sizes to be zero
        // when both reset: no data letter in the history stands in for that.
        let hist = &c.hist();
        let no_data = !hist.contains(&b'D') && !hist.contains(&b'd');
        if os == zs::SYN_SENT || os == zs::SYN_ACK_SENT || (os == zs::RESET && no_data) {
            "REJ"
        } else if o_inactive {
            "RSTRH"
        } else {
            "RSTR"
        }
    } else if os == zs::RESET {
        if r_inactive {
            let hist = &c.hist();
            if rstos0(hist) {
                "RSTOS0"
            } else {
                "OTH"
            }
        } else {
            "RSTO"
        }
    } else if rs == zs::CLOSED && os == zs::CLOSED {
        "SF"
    } else if os == zs::CLOSED {
        if r_inactive {
            "SH"
        } else {
            "S2"
        }
    } else if rs == zs::CLOSED {
        if o_inactive {
            "SHR"
        } else {
            "S3"
        }
    } else if os == zs::SYN_SENT && rs == zs::INACTIVE {
        "S0"
    } else if os == zs::ESTABLISHED && rs == zs::ESTABLISHED {
        "S1"
    } else {
        "OTH"
    }
}

/// `/^\^?S[^HAFGIQ]*R.*$/`
fn rstos0(h: &[u8]) -> bool {
    let h = h.strip_prefix(b"^").unwrap_or(h);
    let Some(rest) = h.strip_prefix(b"S") else {
        return false;
    };
    for &b in rest {
        if b == b'R' {
            return true;
        }
        if b"HAFGIQ".contains(&b) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Serial comparison agrees with plain comparison on the unwrapped
        /// numbers whenever the two are less than 2^31 apart.
        #[test]
        fn serial_arithmetic(base: u32, d in 0u32..(1 << 31) - 1) {
            let a = base;
            let b = base.wrapping_add(d);
            prop_assert_eq!(seq_lt(a, b), d != 0);
            prop_assert!(seq_le(a, b));
            prop_assert_eq!(seq_gt(b, a), d != 0);
            prop_assert!(!seq_lt(b, a));
        }
    }

    fn seg(flags: u8, seq: u32, ack: u32, len: u32, t: u32) -> Seg {
        Seg {
            flags,
            seq,
            ack,
            win: 1000,
            len,
            t,
        }
    }

    #[test]
    fn handshake_data_close_is_sf_with_zeek_history() {
        let (mut h, mut c) = (Hot::default(), Cold::default());
        let segs = [
            (0, seg(SYN, 100, 0, 0, 0)),
            (1, seg(SYN | ACK, 500, 101, 0, 1000)),
            (0, seg(ACK, 101, 501, 0, 1500)),
            (0, seg(ACK, 101, 501, 10, 1600)),
            (1, seg(ACK, 501, 111, 20, 3600)),
            (0, seg(FIN | ACK, 111, 521, 0, 4000)),
            (1, seg(FIN | ACK, 521, 112, 0, 4100)),
            (0, seg(ACK, 112, 522, 0, 4200)),
        ];
        for (d, s) in segs {
            track(&mut h, &mut c, d, &s, &mut Health::default());
        }
        assert_eq!(&c.hist(), b"ShADdFf");
        assert_eq!(conn_state(&h, &c), "SF");
        assert_eq!((c.hs_a, c.hs_b), (1000, 500));
        assert_eq!((c.art_cnt, c.art_sum), (1, 2000));
        // Client data at 1600 acked by the server at 3600: server side.
        assert_eq!((c.nd_cnt[1], c.nd_min[1]), (1, 2000));
        assert_eq!(c.flags & cf::CLOSE_DONE, cf::CLOSE_DONE);
        assert_eq!(c.retrans, [0, 0]);
    }

    #[test]
    fn retransmission_and_out_of_order() {
        let (mut h, mut c) = (Hot::default(), Cold::default());
        track(
            &mut h,
            &mut c,
            0,
            &seg(ACK, 1000, 1, 100, 0),
            &mut Health::default(),
        );
        track(
            &mut h,
            &mut c,
            0,
            &seg(ACK, 1100, 1, 100, 10),
            &mut Health::default(),
        );
        // Same bytes again, long after: a retransmission.
        track(
            &mut h,
            &mut c,
            0,
            &seg(ACK, 1100, 1, 100, 1_000_000),
            &mut Health::default(),
        );
        assert_eq!(c.retrans[0], 1);
        // A gap, then the missing segment within 3 ms: out of order.
        track(
            &mut h,
            &mut c,
            0,
            &seg(ACK, 1300, 1, 100, 1_000_100),
            &mut Health::default(),
        );
        track(
            &mut h,
            &mut c,
            0,
            &seg(ACK, 1200, 1, 100, 1_000_200),
            &mut Health::default(),
        );
        assert_eq!(c.ooo[0], 1);
        assert_eq!(&c.hist(), b"DT");
    }

    #[test]
    fn syn_ack_first_then_syn_flips() {
        let (mut h, mut c) = (Hot::default(), Cold::default());
        // The SYN-ACK sender was taken for the originator.
        track(
            &mut h,
            &mut c,
            0,
            &seg(SYN | ACK, 500, 101, 0, 0),
            &mut Health::default(),
        );
        let d = track(
            &mut h,
            &mut c,
            1,
            &seg(SYN, 100, 0, 0, 10),
            &mut Health::default(),
        );
        assert_eq!(d, 0);
        assert_eq!(c.flags & cf::ORIG_IS_B, cf::ORIG_IS_B);
        assert_eq!(&c.hist(), b"Hs^");
    }

    #[test]
    fn rejected() {
        let (mut h, mut c) = (Hot::default(), Cold::default());
        track(
            &mut h,
            &mut c,
            0,
            &seg(SYN, 100, 0, 0, 0),
            &mut Health::default(),
        );
        track(
            &mut h,
            &mut c,
            1,
            &seg(RST | ACK, 0, 101, 0, 10),
            &mut Health::default(),
        );
        assert_eq!(conn_state(&h, &c), "REJ");
        assert_eq!(&c.hist(), b"Sr");
    }

    /// A segment the mirror dropped opens a hole nothing fills: the
    /// mirror's loss. One the network reordered fills it: no loss.
    #[test]
    fn holes_never_filled_are_capture_loss() {
        let (mut h, mut c) = (Hot::default(), Cold::default());
        let mut m = Health::default();
        let mut t = |d: usize, s: Seg, m: &mut Health| {
            track(&mut h, &mut c, d, &s, m);
        };
        t(0, seg(SYN, 100, 0, 0, 0), &mut m);
        t(1, seg(SYN | ACK, 500, 101, 0, 1), &mut m);
        t(0, seg(ACK, 101, 501, 0, 2), &mut m);
        // 1000 bytes seen, acknowledged: no loss.
        t(0, seg(ACK, 101, 501, 1000, 3), &mut m);
        t(1, seg(ACK, 501, 1101, 0, 4), &mut m);
        assert_eq!(m.ack_bytes, 1000);
        assert_eq!(m.unseen_bytes(), 0);
        // 500 bytes the mirror dropped, then 1000 more, all acknowledged.
        t(0, seg(ACK, 1601, 501, 1000, 5), &mut m);
        t(1, seg(ACK, 501, 2601, 0, 6), &mut m);
        assert_eq!(
            (m.ack_bytes, m.hole_bytes, m.unseen_bytes()),
            (2500, 500, 500)
        );
        // Reordered: a hole of 300 bytes, filled before it is acknowledged.
        t(0, seg(ACK, 2901, 501, 100, 7), &mut m);
        t(0, seg(ACK, 2601, 501, 300, 8), &mut m);
        t(1, seg(ACK, 501, 3001, 0, 9), &mut m);
        assert_eq!(
            (m.hole_bytes, m.fill_bytes, m.unseen_bytes()),
            (800, 300, 500)
        );
        // A spurious retransmission of acknowledged data fills nothing.
        t(0, seg(ACK, 2601, 501, 300, 10), &mut m);
        assert_eq!(m.fill_bytes, 300);
        // A duplicate ACK acknowledges nothing new; a wild one is ignored.
        t(1, seg(ACK, 501, 3001, 0, 11), &mut m);
        t(
            1,
            seg(ACK, 501, 3001u32.wrapping_add(1 << 30), 0, 12),
            &mut m,
        );
        assert_eq!(m.acks, 3);
    }
}
