//! Records and how they are written.
//!
//! A record writes its fields into a [`FieldSink`]; the sink decides the
//! encoding. [`json::JsonWriter`] writes one JSON object per line with
//! nested maps; the GELF output flattens the same calls by the one rule of
//! DESIGN.md. Records are written where they are produced (the worker), into
//! buffers that are handed to the output thread whole.

pub mod json;

/// A record key and its JSON member prefix (`,"key":`), both fixed at
/// compile time: [`key!`](crate::key) makes one.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// The key.
    pub name: &'static str,
    /// The key with the comma, quotes and colon that start a member after
    /// another one.
    pub member: &'static [u8],
}

/// A [`Key`] from a string literal.
#[macro_export]
macro_rules! key {
    ($k:literal) => {
        $crate::record::Key {
            name: $k,
            member: concat!(",\"", $k, "\":").as_bytes(),
        }
    };
}

/// Where a record's fields go.
pub trait FieldSink {
    /// A string known to be valid UTF-8.
    fn str(&mut self, key: &str, v: &str);
    /// A value this program made from a fixed alphabet (names, hex,
    /// base64, history letters): printable ASCII without `"` or `\`, so a
    /// sink may skip escaping it.
    fn token(&mut self, key: &str, v: &str) {
        self.str(key, v);
    }
    /// [`FieldSink::token`] from bytes this program made ASCII (an
    /// address, an identifier): no UTF-8 check.
    fn token_bytes(&mut self, key: &str, v: &[u8]) {
        self.text(key, v);
    }
    /// Text from the wire: written losslessly even when not UTF-8.
    fn text(&mut self, key: &str, v: &[u8]);
    /// Binary data from the wire (a body that is not text): standard
    /// base64, marked by `<key>_encoding: "base64"` beside it.
    fn binary(&mut self, key: &str, v: &[u8]);
    /// An unsigned integer.
    fn u64(&mut self, key: &str, v: u64);
    /// An unsigned integer under a fixed key, after the record's first
    /// field: a sink may write the member's fixed part whole.
    fn u64_at(&mut self, key: Key, v: u64) {
        self.u64(key.name, v);
    }
    /// A floating-point number.
    fn f64(&mut self, key: &str, v: f64);
    /// A boolean.
    fn bool(&mut self, key: &str, v: bool);
    /// A time, ns since the Unix epoch, written as RFC 3339 UTC.
    fn time(&mut self, key: &str, ns: u64);
    /// An IP address.
    fn ip(&mut self, key: &str, v: std::net::IpAddr);
    /// Opens a nested map.
    fn begin_map(&mut self, key: &str);
    /// Closes the innermost map.
    fn end_map(&mut self);
    /// Opens a list; the values inside it ignore their keys.
    fn begin_list(&mut self, key: &str);
    /// Closes the innermost list.
    fn end_list(&mut self);
}

/// Buffers records are written into, handed out by the output side.
pub trait RecordOut {
    /// A buffer with room for at least one more record of up to
    /// [`MAX_RECORD`] bytes, or `None` when no buffer is free (the caller
    /// drops the record and counts it).
    fn buffer(&mut self) -> Option<&mut Vec<u8>>;
    /// Hands any partly filled buffer to the output.
    fn flush(&mut self);
}

/// Bytes [`base64`] writes for `n` bytes.
pub const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Standard base64 (RFC 4648, padded) of `v` into `out`, which holds
/// exactly [`base64_len`]`(v.len())` bytes.
pub fn base64(v: &[u8], out: &mut [u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (g, o) in v.chunks(3).zip(out.chunks_exact_mut(4)) {
        let b = |i: usize| u32::from(g.get(i).copied().unwrap_or(0));
        let w = b(0) << 16 | b(1) << 8 | b(2);
        for (k, c) in o.iter_mut().enumerate() {
            *c = if k > g.len() {
                b'='
            } else {
                ALPHABET[(w >> (18 - 6 * k) & 63) as usize]
            };
        }
    }
}

/// `v` in decimal, written into `buf`; the digits are the returned slice.
/// Two digits per division, from a table: most numbers in records are
/// ports, counts and microseconds.
#[inline]
pub fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while v >= 100 {
        i -= 2;
        two_digits(&mut buf[i..i + 2], v % 100);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        two_digits(&mut buf[i..i + 2], v);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    &buf[i..]
}

/// Writes `v` (below 100) as two digits into `out[..2]`, from a table.
#[inline(always)]
pub fn two_digits(out: &mut [u8], v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let p = (v % 100) as usize * 2;
    out[..2].copy_from_slice(&PAIRS[p..p + 2]);
}

/// `a` in dotted decimal (as `Ipv4Addr`'s `Display` writes it), written
/// into `buf`; the text is the returned slice. Each octet is one 4-byte
/// copy from a table (its digits and a dot) and a length: dividing by 100
/// and 10 per octet was ~110 instructions an address, two per record.
#[inline]
pub fn ipv4(a: [u8; 4], buf: &mut [u8; 16]) -> &[u8] {
    let mut n = 0;
    for o in a {
        let (text, len) = OCTETS[usize::from(o)];
        buf[n..n + 4].copy_from_slice(&text);
        n += usize::from(len);
    }
    // Without the last octet's dot.
    &buf[..n - 1]
}

/// Each octet's digits followed by a dot (padded to four bytes), and how
/// many of those bytes count.
static OCTETS: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut o = 0;
    while o < 256 {
        let v = o as u8;
        let (h, d, u) = (b'0' + v / 100, b'0' + v / 10 % 10, b'0' + v % 10);
        t[o] = if v >= 100 {
            ([h, d, u, b'.'], 4)
        } else if v >= 10 {
            ([d, u, b'.', 0], 3)
        } else {
            ([u, b'.', 0, 0], 2)
        };
        o += 1;
    }
    t
};

/// The largest record a worker writes.
pub const MAX_RECORD: usize = 64 * 1024;

/// A [`RecordOut`] collecting everything in memory (tests, tools).
#[derive(Default)]
pub struct VecOut {
    /// All records written, one per line.
    pub buf: Vec<u8>,
}

impl RecordOut for VecOut {
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        Some(&mut self.buf)
    }
    fn flush(&mut self) {}
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The hand-written encoder is standard base64 with padding.
        #[test]
        fn base64_is_the_standard_one(d in proptest::collection::vec(any::<u8>(), 0..100)) {
            use base64::Engine;
            let mut out = vec![0u8; super::base64_len(d.len())];
            super::base64(&d, &mut out);
            let want = base64::engine::general_purpose::STANDARD.encode(&d);
            prop_assert_eq!(&out[..], want.as_bytes());
        }

        /// Numbers and addresses read as std writes them.
        #[test]
        fn decimal_and_ipv4_as_std(v in any::<u64>(), small in 0u64..1000, a in any::<[u8; 4]>()) {
            for v in [v, small, v % 100_000] {
                let (mut b, want) = ([0; 20], v.to_string());
                prop_assert_eq!(super::decimal(v, &mut b), want.as_bytes());
            }
            let want = std::net::Ipv4Addr::from(a).to_string();
            let mut b = [0; 16];
            prop_assert_eq!(super::ipv4(a, &mut b), want.as_bytes());
        }
    }
}
