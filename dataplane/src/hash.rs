//! A fast 64-bit hash for fixed-size keys (flow-table buckets and tags,
//! duplicate detection). Not keyed: the flow table bounds every bucket, so
//! collisions cost evictions, never unbounded work.

const K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a ^ K) * u128::from(b ^ 0xe703_7ed1_a0b4_28db);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Hashes bytes, eight at a time.
#[inline]
pub fn hash_bytes(b: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut t = [0u8; 8];
        t[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(t));
    }
    mix(h, 0x5851_f42d_4c95_7f2d)
}

/// Hashes a fixed number of words: pairs are mixed independently (as
/// wyhash does) and the results folded, so the multiplies overlap instead
/// of forming one chain per word (a flow key is six words, on every
/// packet).
#[inline]
pub fn hash_words<const N: usize>(w: &[u64; N], seed: u64) -> u64 {
    const S: [u64; 2] = [0xa076_1d64_78bd_642f, 0x8ebc_6af0_9c88_c6e3];
    let mut h = seed ^ (N as u64 * 8).wrapping_mul(K);
    let mut pairs = w.chunks_exact(2);
    for (i, p) in (&mut pairs).enumerate() {
        let s = S[i & 1].wrapping_add(i as u64);
        h ^= mix(p[0] ^ s, p[1] ^ seed).rotate_left(i as u32 * 17);
    }
    if let [x] = pairs.remainder() {
        h ^= mix(*x ^ S[1], seed);
    }
    mix(h, 0x5851_f42d_4c95_7f2d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differs_on_any_byte_and_length() {
        let a = [7u8; 44];
        let h = hash_bytes(&a, 0);
        for i in 0..44 {
            let mut b = a;
            b[i] ^= 1;
            assert_ne!(hash_bytes(&b, 0), h, "byte {i}");
        }
        assert_ne!(hash_bytes(&a[..43], 0), h);
        assert_ne!(hash_bytes(&a, 1), h);
    }

    #[test]
    fn words_differ_on_any_bit_and_order() {
        let a = [0x1234_5678_9abc_def0u64, 7, 0, u64::MAX, 42, 1 << 40];
        let h = hash_words(&a, 5);
        let mut seen = std::collections::HashSet::new();
        seen.insert(h);
        for i in 0..6 {
            for bit in 0..64 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(seen.insert(hash_words(&b, 5)), "word {i} bit {bit}");
            }
        }
        // Swapped words (the two endpoints of a key) must not collide.
        let mut s = a;
        s.swap(0, 2);
        s.swap(1, 3);
        assert_ne!(hash_words(&s, 5), h);
        assert_ne!(hash_words(&a, 6), h);
    }
}
