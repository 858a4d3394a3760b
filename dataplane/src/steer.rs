//! Symmetric Toeplitz hashing: which worker owns a flow.
//!
//! The same function a NIC's RSS applies, with the symmetric key
//! (`0x6d5a` repeated), so both directions of a flow hash alike (Woo and
//! Park, 2012). Computed table-driven: for each byte position and value the
//! 32-bit contribution is precomputed (`40 × 256` entries, 40 KiB), so a
//! hash is one XOR per input byte. Input: source address, destination
//! address, source port, destination port, as RSS lays them out; both
//! addresses in one family.

/// The symmetric RSS key, long enough for IPv6 (36 input bytes + 4).
pub const SYMMETRIC_KEY: [u8; 40] = {
    let mut k = [0u8; 40];
    let mut i = 0;
    while i < 40 {
        k[i] = if i % 2 == 0 { 0x6d } else { 0x5a };
        i += 1;
    }
    k
};

const MAX_INPUT: usize = 36;

/// A Toeplitz hasher with its lookup table.
pub struct Toeplitz {
    table: Box<[[u32; 256]; MAX_INPUT]>,
}

impl Toeplitz {
    /// Builds the table for `key` (≥ 40 bytes).
    pub fn new(key: &[u8; 40]) -> Self {
        let mut table = Box::new([[0u32; 256]; MAX_INPUT]);
        for (pos, row) in table.iter_mut().enumerate() {
            let w: [u32; 8] = std::array::from_fn(|bit| key_window(key, pos * 8 + bit));
            // The hash is linear: a byte's entry is the entry without its
            // lowest set bit, XOR that bit's key window (bit 0 is the
            // byte's most significant).
            for v in 1..256usize {
                row[v] = row[v & (v - 1)] ^ w[7 - v.trailing_zeros() as usize];
            }
        }
        Self { table }
    }

    /// Hashes up to 36 input bytes.
    #[inline]
    pub fn hash(&self, input: &[u8]) -> u32 {
        let mut h = 0;
        for (i, &b) in input.iter().take(MAX_INPUT).enumerate() {
            h ^= self.table[i][b as usize];
        }
        h
    }

    /// Hashes a flow's addresses and ports the way RSS does.
    #[inline]
    pub fn hash_tuple(
        &self,
        src: &[u8; 16],
        dst: &[u8; 16],
        v6: bool,
        sport: u16,
        dport: u16,
    ) -> u32 {
        let mut buf = [0u8; MAX_INPUT];
        let n = if v6 { 16 } else { 4 };
        buf[..n].copy_from_slice(&src[..n]);
        buf[n..2 * n].copy_from_slice(&dst[..n]);
        buf[2 * n..2 * n + 2].copy_from_slice(&sport.to_be_bytes());
        buf[2 * n + 2..2 * n + 4].copy_from_slice(&dport.to_be_bytes());
        self.hash(&buf[..2 * n + 4])
    }
}

impl Default for Toeplitz {
    fn default() -> Self {
        Self::new(&SYMMETRIC_KEY)
    }
}

/// The 32 key bits starting at bit `bit`.
fn key_window(key: &[u8; 40], bit: usize) -> u32 {
    let mut w = 0u32;
    for i in 0..32 {
        let b = bit + i;
        let set = key[b / 8] & (0x80 >> (b % 8)) != 0;
        w = (w << 1) | u32::from(set);
    }
    w
}

/// Maps a hash onto `n` workers without a modulo.
#[inline]
pub fn worker_of(hash: u32, n: usize) -> usize {
    ((u64::from(hash) * n as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Microsoft's RSS verification vector (their published key).
    #[test]
    fn matches_the_rss_reference() {
        let mskey: [u8; 40] = [
            0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
            0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
            0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
        ];
        let t = Toeplitz::new(&mskey);
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s[..4].copy_from_slice(&[66, 9, 149, 187]);
        d[..4].copy_from_slice(&[161, 142, 100, 80]);
        // 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178.
        assert_eq!(t.hash_tuple(&s, &d, false, 2794, 1766), 0x51cc_c178);
        assert_eq!(t.hash(&[66, 9, 149, 187, 161, 142, 100, 80]), 0x323e_8fc2);
    }

    proptest! {
        #[test]
        fn symmetric(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), v6: bool, p: u16, q: u16) {
            let t = Toeplitz::default();
            prop_assert_eq!(t.hash_tuple(&a, &b, v6, p, q), t.hash_tuple(&b, &a, v6, q, p));
        }

        #[test]
        fn worker_in_range(h: u32, n in 1usize..64) {
            prop_assert!(worker_of(h, n) < n);
        }
    }
}
