//! Pure DNS message parsing (RFC 1035, 6891) over borrowed bytes, into
//! fixed buffers: no allocation, every offset checked, compression
//! pointers followed at most [`MAX_JUMPS`] times, names cut at 255 bytes.

/// Compression pointers followed per name.
pub const MAX_JUMPS: usize = 32;

/// A message header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Question count.
    pub qd: u16,
    /// Answer count.
    pub an: u16,
    /// Authority count.
    pub ns: u16,
    /// Additional count.
    pub ar: u16,
}

impl Header {
    /// A response.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// Opcode.
    pub fn opcode(&self) -> u8 {
        (self.flags >> 11 & 15) as u8
    }
    /// Response code (the header's four bits).
    pub fn rcode(&self) -> u8 {
        (self.flags & 15) as u8
    }
    /// Flag bit `mask` (one of [`flag`]).
    pub fn has(&self, mask: u16) -> bool {
        self.flags & mask != 0
    }
}

/// Header flag bits.
pub mod flag {
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Reserved bit.
    pub const Z: u16 = 0x0040;
    /// Authentic data.
    pub const AD: u16 = 0x0020;
    /// Checking disabled.
    pub const CD: u16 = 0x0010;
}

/// The header, if the message has one.
pub fn header(m: &[u8]) -> Option<Header> {
    let w = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    (m.len() >= 12).then(|| Header {
        id: w(0),
        flags: w(2),
        qd: w(4),
        an: w(6),
        ns: w(8),
        ar: w(10),
    })
}

/// A domain name as text (labels joined by dots, no trailing dot; the
/// root is empty).
#[derive(Clone, Copy)]
pub struct Name {
    /// The bytes.
    pub b: [u8; 256],
    /// Length.
    pub len: u8,
    /// The name was longer than the buffer.
    pub cut: bool,
}

impl Default for Name {
    fn default() -> Self {
        Self {
            b: [0; 256],
            len: 0,
            cut: false,
        }
    }
}

impl Name {
    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.b[..usize::from(self.len)]
    }
    fn push(&mut self, s: &[u8]) {
        for &c in s {
            if usize::from(self.len) >= 255 {
                self.cut = true;
                return;
            }
            self.b[usize::from(self.len)] = c;
            self.len += 1;
        }
    }
}

/// Reads the name at `off` into `out`; returns the offset after it (after
/// the first pointer, when compressed).
pub fn name(m: &[u8], off: usize, out: &mut Name) -> Option<usize> {
    out.len = 0;
    out.cut = false;
    walk(m, off, |s| {
        if out.len > 0 {
            out.push(b".");
        }
        out.push(s);
    })
}

/// The offset after the name at `off`, which is checked as [`name`]
/// checks it but not copied: a record's owner name is not logged.
pub fn name_end(m: &[u8], off: usize) -> Option<usize> {
    walk(m, off, |_| {})
}

/// Follows the name at `off`, handing each label to `label`; the offset
/// after it (after the first pointer, when compressed), or `None` for a
/// name that runs past the message, loops, or uses an extended label type.
#[inline(always)]
fn walk(m: &[u8], mut off: usize, mut label: impl FnMut(&[u8])) -> Option<usize> {
    let mut end = None;
    let mut jumps = 0;
    loop {
        let l = *m.get(off)?;
        match l >> 6 {
            0 => {
                if l == 0 {
                    return Some(end.unwrap_or(off + 1));
                }
                label(m.get(off + 1..off + 1 + usize::from(l))?);
                off += 1 + usize::from(l);
            }
            3 => {
                let p = usize::from(u16::from_be_bytes([l, *m.get(off + 1)?]) & 0x3fff);
                end.get_or_insert(off + 2);
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return None;
                }
                off = p;
            }
            // Extended label types (RFC 6891 retired them): not a name.
            _ => return None,
        }
    }
}

/// A question.
#[derive(Clone, Copy, Default)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// The first question, and the offset after the question section's
/// first entry.
pub fn question(m: &[u8], off: usize, q: &mut Question) -> Option<usize> {
    let o = name(m, off, &mut q.name)?;
    let b = m.get(o..o + 4)?;
    q.qtype = u16::from_be_bytes([b[0], b[1]]);
    q.qclass = u16::from_be_bytes([b[2], b[3]]);
    Some(o + 4)
}

/// A resource record's fixed part.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rr {
    /// TYPE.
    pub rtype: u16,
    /// CLASS (OPT: the requester's UDP payload size).
    pub class: u16,
    /// TTL (OPT: extended rcode, version, flags).
    pub ttl: u32,
    /// Offset of RDATA.
    pub rdata: usize,
    /// RDLENGTH.
    pub rdlen: usize,
}

/// The record at `off` and the offset after it. The owner name is checked,
/// not copied: records list answers' data, not their owners.
pub fn rr(m: &[u8], off: usize) -> Option<(Rr, usize)> {
    let o = name_end(m, off)?;
    let b = m.get(o..o + 10)?;
    let r = Rr {
        rtype: u16::from_be_bytes([b[0], b[1]]),
        class: u16::from_be_bytes([b[2], b[3]]),
        ttl: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        rdata: o + 10,
        rdlen: usize::from(u16::from_be_bytes([b[8], b[9]])),
    };
    m.get(r.rdata..r.rdata + r.rdlen)?;
    Some((r, r.rdata + r.rdlen))
}

/// Bytes of record data text kept (a 4 KiB TXT fits).
pub const TEXT_BYTES: usize = 4096;

/// Text for record data, written into a buffer the worker keeps (a
/// per-answer 4 KiB array cleared each time cost more than the parsing).
pub struct Text<'a> {
    /// The bytes: texts kept, then the current one from `base`.
    pub b: &'a mut Vec<u8>,
    /// Where the current text starts.
    base: usize,
    /// The data was longer than [`TEXT_BYTES`].
    pub cut: bool,
}

impl<'a> Text<'a> {
    /// Text written into `b` (cleared; each text replaces the last one
    /// unless it was kept).
    pub fn new(b: &'a mut Vec<u8>) -> Self {
        b.clear();
        Self {
            b,
            base: 0,
            cut: false,
        }
    }
    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.b[self.base..]
    }
    /// Its length.
    pub fn len(&self) -> usize {
        self.b.len() - self.base
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Keeps the current text (the next is written after it) if the buffer
    /// can still hold a whole text without growing; its place, for
    /// [`Text::kept`].
    pub fn keep(&mut self) -> Option<(usize, usize)> {
        let at = (self.base, self.len());
        (!self.cut && self.b.len() + TEXT_BYTES <= self.b.capacity()).then(|| {
            self.base = self.b.len();
            at
        })
    }
    /// A text kept by [`Text::keep`].
    pub fn kept(&self, (at, n): (usize, usize)) -> &[u8] {
        &self.b[at..at + n]
    }
    fn push(&mut self, s: &[u8]) {
        let k = s.len().min(TEXT_BYTES.saturating_sub(self.len()));
        crate::sys::append(self.b, &s[..k]);
        self.cut |= k < s.len();
    }
    fn num(&mut self, v: u64) {
        self.push(crate::record::decimal(v, &mut [0; 20]));
    }
}

/// Writes record `r`'s data as text: addresses, names, `pref name` (MX),
/// `prio weight port target` (SRV), the SOA fields, TXT strings joined by
/// spaces; other types as `\# len hex` (RFC 3597).
pub fn rdata_text(m: &[u8], r: &Rr, out: &mut Text) {
    out.b.truncate(out.base);
    out.cut = false;
    let d = &m[r.rdata..r.rdata + r.rdlen];
    let mut n = Name::default();
    let be16 = |b: &[u8]| u64::from(u16::from_be_bytes([b[0], b[1]]));
    match (r.rtype, d.len()) {
        (1, 4) => out.push(crate::record::ipv4([d[0], d[1], d[2], d[3]], &mut [0; 16])),
        (28, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(d);
            write_display(out, &std::net::Ipv6Addr::from(b));
        }
        (2 | 5 | 12 | 39, _) => {
            if name(m, r.rdata, &mut n).is_some() {
                out.push(n.as_bytes());
            }
        }
        (15, 3..) => {
            out.num(be16(d));
            out.push(b" ");
            if name(m, r.rdata + 2, &mut n).is_some() {
                out.push(n.as_bytes());
            }
        }
        (33, 7..) => {
            for k in 0..3 {
                out.num(be16(&d[2 * k..]));
                out.push(b" ");
            }
            if name(m, r.rdata + 6, &mut n).is_some() {
                out.push(n.as_bytes());
            }
        }
        (6, _) => {
            let Some(o) = name(m, r.rdata, &mut n) else {
                return;
            };
            out.push(n.as_bytes());
            out.push(b" ");
            let Some(o) = name(m, o, &mut n) else {
                return;
            };
            out.push(n.as_bytes());
            if let Some(nums) = m.get(o..o + 20) {
                for k in 0..5 {
                    out.push(b" ");
                    let w = &nums[4 * k..4 * k + 4];
                    out.num(u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])));
                }
            }
        }
        (16, _) => {
            let mut i = 0;
            while i < d.len() {
                let l = usize::from(d[i]);
                let s = &d[i + 1..(i + 1 + l).min(d.len())];
                if i > 0 {
                    out.push(b" ");
                }
                out.push(s);
                i += 1 + l;
            }
        }
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(b"\\# ");
            out.num(d.len() as u64);
            if !d.is_empty() {
                out.push(b" ");
            }
            for part in d[..d.len().min(2000)].chunks(128) {
                let mut hex = [0u8; 256];
                for (h, &c) in hex.chunks_exact_mut(2).zip(part) {
                    h[0] = HEX[usize::from(c >> 4)];
                    h[1] = HEX[usize::from(c & 15)];
                }
                out.push(&hex[..2 * part.len()]);
            }
        }
    }
}

fn write_display(out: &mut Text, v: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out.b, "{v}");
}

/// Name of a record type, if well known.
pub fn type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return None,
    })
}

/// Name of a class.
pub fn class_name(c: u16) -> Option<&'static str> {
    Some(match c {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return None,
    })
}

/// Name of a response code (extended codes included).
pub fn rcode_name(r: u16) -> Option<&'static str> {
    Some(match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return None,
    })
}

/// Whether a message of a zone transfer ends the zone: its last answer is
/// the closing SOA (RFC 5936 2.2), which in the `first` message must be a
/// second SOA, the first opening the zone.
pub fn zone_ends(m: &[u8], h: &Header, first: bool) -> bool {
    let mut off = 12;
    let mut q = Question::default();
    for _ in 0..h.qd {
        match question(m, off, &mut q) {
            Some(o) => off = o,
            None => return false,
        }
    }
    let (mut soas, mut last) = (0, 0);
    for _ in 0..h.an {
        let Some((r, next)) = rr(m, off) else {
            return false;
        };
        soas += usize::from(r.rtype == 6);
        last = r.rtype;
        off = next;
    }
    last == 6 && (!first || soas >= 2)
}

/// Whether a message on a DNS flow is DNS by its bytes: section counts the
/// bytes can hold (a question takes at least 5, a record 11) and a first
/// question that parses; without a question, a defined opcode (QUERY,
/// IQUERY, STATUS, NOTIFY, UPDATE, DSO) and a first record that parses (an
/// undefined opcode with a real question is still logged, as Suricata
/// does, with its number). `partial`: the message was
/// cut (a TCP message longer than a buffer), so the counts are not held
/// against its length. What fails (DNSCrypt on 5353, junk) is counted by
/// the caller, not logged.
pub fn confirmed(m: &[u8], partial: bool) -> bool {
    let Some(h) = header(m) else {
        return false;
    };
    let need = 12
        + usize::from(h.qd) * 5
        + (usize::from(h.an) + usize::from(h.ns) + usize::from(h.ar)) * 11;
    if !partial && need > m.len() {
        return false;
    }
    if h.qd > 0 {
        let mut q = Question::default();
        return question(m, 12, &mut q).is_some();
    }
    if !matches!(h.opcode(), 0..=2 | 4..=6) {
        return false;
    }
    if h.an > 0 || h.ns > 0 || h.ar > 0 {
        return rr(m, 12).is_some();
    }
    // A bare header: only an error answer (FORMERR and the like) says
    // nothing more.
    h.qr() && h.rcode() != 0
}

/// Whether `m` looks like a DNS message: a header whose counts are sane
/// and, for a query, one question that parses.
pub fn looks_like(m: &[u8]) -> bool {
    let Some(h) = header(m) else {
        return false;
    };
    if h.qd > 16 || (!h.qr() && (h.qd != 1 || h.an > 16)) {
        return false;
    }
    if h.qd == 0 {
        return h.qr();
    }
    let mut q = Question::default();
    question(m, 12, &mut q).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Skipping a name accepts and rejects exactly what reading it
        /// does, and ends at the same offset, on bytes dense in pointers
        /// and label lengths.
        #[test]
        fn name_end_agrees_with_name(
            m in proptest::collection::vec(
                proptest::prop_oneof![0u8..64, 0xc0u8..0xc4, proptest::prelude::any::<u8>()],
                0..80,
            ),
            off in 0usize..80,
        ) {
            let mut n = Name::default();
            proptest::prop_assert_eq!(name_end(&m, off), name(&m, off, &mut n));
        }
    }

    /// A response for `example.com A` with a compressed CNAME and an A.
    pub const RESP: &[u8] = &[
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0,
        1, // header: id, QR RD RA, 1 q, 2 an, 1 ar
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, // qname @12
        0, 1, 0, 1, // A IN
        0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, // CNAME, ttl 60, rdlen 6
        3, b'w', b'w', b'w', 0xc0, 12, // www.example.com
        0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 93, 184, 216, 34, // A 93.184.216.34 ttl 256
        0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0, // OPT: 4096, DO
    ];

    #[test]
    fn parses_a_compressed_response() {
        let h = header(RESP).unwrap();
        assert_eq!(
            (h.id, h.qr(), h.rcode(), h.an, h.ar),
            (0x1234, true, 0, 2, 1)
        );
        assert!(h.has(flag::RD) && h.has(flag::RA) && !h.has(flag::AA));
        let mut q = Question::default();
        let mut off = question(RESP, 12, &mut q).unwrap();
        assert_eq!(
            (q.name.as_bytes(), q.qtype, q.qclass),
            (&b"example.com"[..], 1, 1)
        );
        let mut tb = Vec::new();
        let mut t = Text::new(&mut tb);
        let mut got = Vec::new();
        for _ in 0..3 {
            let (r, next) = rr(RESP, off).unwrap();
            rdata_text(RESP, &r, &mut t);
            got.push((
                r.rtype,
                r.ttl,
                String::from_utf8_lossy(t.as_bytes()).into_owned(),
            ));
            off = next;
        }
        assert_eq!(off, RESP.len());
        assert_eq!(got[0], (5, 60, "www.example.com".into()));
        assert_eq!(got[1], (1, 256, "93.184.216.34".into()));
        assert_eq!((got[2].0, got[2].1 >> 15 & 1), (41, 1), "OPT with DO");
    }

    #[test]
    fn every_truncation_is_handled() {
        for n in 0..RESP.len() {
            let m = &RESP[..n];
            let _ = looks_like(m);
            let mut q = Question::default();
            if let Some(mut off) = question(m, 12, &mut q) {
                let mut tb = Vec::new();
                let mut t = Text::new(&mut tb);
                while let Some((r, next)) = rr(m, off) {
                    rdata_text(m, &r, &mut t);
                    off = next;
                }
            }
        }
    }

    #[test]
    fn pointer_loops_and_long_names_stop() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[0xc0, 12]); // points at itself
        let mut n = Name::default();
        assert_eq!(name(&m, 12, &mut n), None);
        assert_eq!(name_end(&m, 12), None);
        let mut long = vec![0u8; 12];
        for _ in 0..200 {
            long.extend_from_slice(&[3, b'a', b'b', b'c']);
        }
        long.push(0);
        assert!(name(&long, 12, &mut n).is_some());
        assert!(n.cut && n.len == 255);
    }

    #[test]
    fn confirmed_by_counts_opcode_and_question() {
        // id, RD, one question: example.com A IN.
        let mut q = b"\x42\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
        q.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        assert!(confirmed(&q, false));
        // An undefined opcode with a real question is still DNS.
        let mut odd = q.clone();
        odd[2] = 0x48;
        assert!(confirmed(&odd, false));
        // Three answers announced that the bytes cannot hold; unless the
        // message was cut.
        let mut lie = q.clone();
        lie[7] = 3;
        assert!(!confirmed(&lie, false));
        assert!(confirmed(&lie, true));
        // No question, opcode 13: not DNS.
        let junk = b"\x27\x42\xea\x11\x00\x00\x00\x00\x00\x00\x00\x00";
        assert!(!confirmed(junk, false));
        // Many questions (mDNS asks for a dozen names at once) are fine
        // when the bytes hold them.
        let mut many = b"\0\0\0\0\0\x14\0\0\0\0\0\0".to_vec();
        for _ in 0..20 {
            many.extend_from_slice(b"\x01a\x05local\x00\x00\x0c\x00\x01");
        }
        assert!(confirmed(&many, false));
        // A bare FORMERR answer is.
        assert!(confirmed(b"\x42\x42\x81\x01\0\0\0\0\0\0\0\0", false));
        assert!(!confirmed(b"\x42\x42\x81\x00\0\0\0\0\0\0\0\0", false));
    }
}
