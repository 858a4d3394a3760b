//! The `dns` record: a query and its response (either may be missing).

use super::parse::{self, flag, Header, Question, Text};
use super::txn::Pending;
use crate::app::Cx;
use crate::key;
use crate::record::json::JsonWriter;
use crate::record::{FieldSink, RecordOut};

/// Answers listed per record (and records per section in the section
/// lists).
const MAX_ANSWERS: usize = 64;
/// Bytes of answer text per record.
const ANSWER_BYTES: usize = 16 * 1024;
/// Bytes of the three section lists per record (owner names, data, and
/// their JSON punctuation: [`RR_OVERHEAD`] a record).
const SECTION_BYTES: usize = 16 * 1024;
/// JSON a section record takes besides its name and data.
const RR_OVERHEAD: usize = 128;

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// A response came.
    Answered,
    /// None within the DNS timeout.
    Timeout,
    /// None before the flow ended.
    FlowEnd,
}

/// A response message at hand.
pub struct Response<'a> {
    /// Its header.
    pub header: Header,
    /// The message (for a TCP message too long to hold, its first part).
    pub msg: &'a [u8],
    /// Its question, if it has one that parsed.
    pub question: Option<&'a Question>,
    /// Only the first part of the message is at hand.
    pub partial: bool,
    /// Of a zone transfer (AXFR over TCP), which message this is (from 1),
    /// and whether it ends the zone; 0 otherwise.
    pub axfr_part: u32,
    /// The zone transfer's last message (its closing SOA).
    pub axfr_done: bool,
}

fn flags(w: &mut JsonWriter, f: u16, response: bool) {
    if response {
        w.bool("aa", f & flag::AA != 0);
        w.bool("tc", f & flag::TC != 0);
        w.bool("ra", f & flag::RA != 0);
        w.bool("ad", f & flag::AD != 0);
    }
    w.bool("rd", f & flag::RD != 0);
    w.bool("cd", f & flag::CD != 0);
    if f & flag::Z != 0 {
        w.bool("z", true);
    }
}

fn typed(w: &mut JsonWriter, key: &str, key_name: &str, v: u16, name: Option<&str>) {
    w.u64(key, u64::from(v));
    if let Some(n) = name {
        w.token(key_name, n);
    }
}

/// Writes the answer section (and finds EDNS in the additional section).
fn answers(w: &mut JsonWriter, r: &Response, scratch: &mut Vec<u8>) {
    let m = r.msg;
    let h = &r.header;
    let mut off = 12;
    let mut q = Question::default();
    for _ in 0..h.qd {
        match parse::question(m, off, &mut q) {
            Some(o) => off = o,
            None => return,
        }
    }
    let mut t = Text::new(scratch);
    let mut rrs = [(0u16, 0u32, 0usize); MAX_ANSWERS];
    let mut n = 0;
    let mut complete = true;
    let mut opt = None;
    // Offsets of the authority and additional records (OPT aside).
    let mut other = [[0usize; MAX_ANSWERS]; 2];
    let mut others = [0usize; 2];
    let total = usize::from(h.an) + usize::from(h.ns) + usize::from(h.ar);
    for k in 0..total {
        let Some((rr, next)) = parse::rr(m, off) else {
            complete = false;
            break;
        };
        if k < usize::from(h.an) {
            if n < MAX_ANSWERS {
                rrs[n] = (rr.rtype, rr.ttl, off);
                n += 1;
            } else {
                complete = false;
            }
        } else if k >= usize::from(h.an) + usize::from(h.ns) && rr.rtype == 41 {
            opt = Some(rr);
        } else {
            let s = usize::from(k >= usize::from(h.an) + usize::from(h.ns));
            if others[s] < MAX_ANSWERS {
                other[s][others[s]] = off;
                others[s] += 1;
            } else {
                complete = false;
            }
        }
        off = next;
    }
    // The extended rcode's high bits live in OPT.
    let rcode = u16::from(h.rcode()) | opt.map_or(0, |o| (o.ttl >> 24) as u16) << 4;
    typed(w, "rcode", "rcode_name", rcode, parse::rcode_name(rcode));
    // Answers' data texts are kept from the `answers` list for
    // `answer_records` as far as the buffer holds them: making them was
    // most of a record's cost.
    let mut kept_at: [Option<(usize, usize)>; MAX_ANSWERS] = [None; MAX_ANSWERS];
    if n > 0 {
        let mut budget = ANSWER_BYTES;
        w.begin_list("answers");
        for (&(_, _, at), keep) in rrs[..n].iter().zip(kept_at.iter_mut()) {
            if let Some((rr, _)) = parse::rr(m, at) {
                if matches!(rr.rtype, 249 | 250) {
                    // TKEY and TSIG authenticate the message: their data
                    // (keys, MACs) is not logged.
                    w.text("", b"");
                    continue;
                }
                parse::rdata_text(m, &rr, &mut t);
                let v = crate::record::json::cut(t.as_bytes(), budget);
                // Escaped, as written: a 0x01 byte takes six.
                budget -= crate::record::json::escaped_len(v).min(budget);
                complete &= !t.cut && v.len() == t.len();
                w.text("", v);
                *keep = t.keep();
            }
        }
        w.end_list();
        w.begin_list("ttls");
        for &(_, ttl, _) in &rrs[..n] {
            w.u64("", u64::from(ttl));
        }
        w.end_list();
        w.begin_list("answer_types");
        for &(ty, _, _) in &rrs[..n] {
            match parse::type_name(ty) {
                Some(s) => w.token("", s),
                None => w.u64("", u64::from(ty)),
            }
        }
        w.end_list();
    }
    w.u64_at(key!("answer_count"), u64::from(h.an));
    w.u64_at(key!("authority_count"), u64::from(h.ns));
    w.u64_at(key!("additional_count"), u64::from(h.ar));
    let mut answer_at = [0usize; MAX_ANSWERS];
    for (a, &(_, _, at)) in answer_at.iter_mut().zip(&rrs[..n]) {
        *a = at;
    }
    let mut budget = SECTION_BYTES;
    let none: [Option<(usize, usize)>; 0] = [];
    for (key, offs, known) in [
        ("answer_records", &answer_at[..n], &kept_at[..n]),
        ("authority_records", &other[0][..others[0]], &none[..]),
        ("additional_records", &other[1][..others[1]], &none[..]),
    ] {
        if !offs.is_empty() {
            complete &= section(w, key, m, offs, known, &mut t, &mut budget);
        }
    }
    if let Some(o) = opt {
        w.begin_map("edns");
        w.u64_at(key!("udp_size"), u64::from(o.class));
        w.u64_at(key!("version"), u64::from(o.ttl >> 16 & 0xff));
        w.u64_at(key!("extended_rcode"), u64::from(o.ttl >> 24));
        w.bool("do", o.ttl & 0x8000 != 0);
        w.end_map();
    }
    if !complete || r.partial {
        w.bool("answers_truncated", true);
    }
}

/// Writes one section's records (at `offs`) as a list of maps: owner
/// `name`, `type`, `class` (when not IN), `ttl`, `data` (kept in `t` at
/// `known[i]` when it was made already), within `budget` bytes shared by
/// the sections. TSIG and TKEY
/// data (message authentication) is left out. Returns whether every record
/// fitted.
fn section(
    w: &mut JsonWriter,
    key: &str,
    m: &[u8],
    offs: &[usize],
    known: &[Option<(usize, usize)>],
    t: &mut Text,
    budget: &mut usize,
) -> bool {
    use crate::record::json::{cut, escaped_len};
    let mut owner = parse::Name::default();
    let mut complete = true;
    w.begin_list(key);
    for (i, &at) in offs.iter().enumerate() {
        let (Some((rr, _)), Some(_)) = (parse::rr(m, at), parse::name(m, at, &mut owner)) else {
            continue;
        };
        if *budget < RR_OVERHEAD + 16 {
            complete = false;
            break;
        }
        *budget -= RR_OVERHEAD;
        w.begin_map("");
        let name = cut(owner.as_bytes(), *budget / 2);
        *budget -= escaped_len(name).min(*budget);
        w.text("name", name);
        match parse::type_name(rr.rtype) {
            Some(s) => w.token("type", s),
            None => w.u64("type", u64::from(rr.rtype)),
        }
        if rr.class != 1 {
            match parse::class_name(rr.class) {
                Some(s) => w.token("class", s),
                None => w.u64("class", u64::from(rr.class)),
            }
        }
        w.u64("ttl", u64::from(rr.ttl));
        if !matches!(rr.rtype, 249 | 250) {
            let data = match known.get(i).copied().flatten() {
                Some(at) => t.kept(at),
                None => {
                    parse::rdata_text(m, &rr, t);
                    complete &= !t.cut;
                    t.as_bytes()
                }
            };
            let v = cut(data, *budget);
            *budget -= escaped_len(v).min(*budget);
            complete &= v.len() == data.len();
            w.text("data", v);
        }
        w.end_map();
    }
    w.end_list();
    complete
}

/// Logs one transaction.
pub fn emit<O: RecordOut>(
    p: Option<&Pending>,
    r: Option<&Response>,
    tcp: bool,
    how: End,
    cx: &mut Cx<'_, O>,
) {
    cx.stats.of::<super::Dns>().transactions += 1;
    if how != End::Answered {
        cx.stats.of::<super::Dns>().unanswered += 1;
    }
    let ts = p.map_or(cx.now, |p| p.ts);
    let now = cx.now;
    let scratch = &mut *cx.scratch;
    crate::app::write_record(cx.out, cx.stats, cx.flow, cx.names, "dns", ts, |w| {
        let id = p.map(|p| p.id).or(r.map(|r| r.header.id)).unwrap_or(0);
        w.u64_at(key!("trans_id"), u64::from(id));
        w.token("transport", if tcp { "tcp" } else { "udp" });
        let (name, qtype, qclass, cut): (&[u8], u16, u16, bool) =
            match (p, r.and_then(|r| r.question)) {
                (_, Some(q)) => (q.name.as_bytes(), q.qtype, q.qclass, q.name.cut),
                (Some(p), None) => (&p.name[..usize::from(p.nlen)], p.qtype, p.qclass, p.cut),
                (None, None) => (&[], 0, 0, false),
            };
        if qtype != 0 || !name.is_empty() {
            w.text("query", name);
            if cut {
                w.bool("query_truncated", true);
            }
            typed(w, "qtype", "qtype_name", qtype, parse::type_name(qtype));
            typed(
                w,
                "qclass",
                "qclass_name",
                qclass,
                parse::class_name(qclass),
            );
        }
        let hflags = r
            .map(|r| r.header.flags)
            .or(p.map(|p| p.flags))
            .unwrap_or(0);
        w.u64_at(key!("opcode"), u64::from(hflags >> 11 & 15));
        flags(w, hflags, r.is_some());
        if let Some(r) = r {
            answers(w, r, scratch);
            if r.axfr_part > 0 {
                w.u64_at(key!("axfr_part"), u64::from(r.axfr_part));
                if r.axfr_done {
                    w.bool("axfr_done", true);
                }
            }
            if let Some(p) = p {
                w.u64_at(key!("latency_us"), now.saturating_sub(p.ts) / 1000);
                if p.ts > now {
                    w.bool("reordered", true);
                }
            } else {
                w.bool("query_missing", true);
            }
        }
        match how {
            End::Answered => {}
            End::Timeout | End::FlowEnd => crate::app::write_unanswered(w, how == End::Timeout),
        }
    });
}
