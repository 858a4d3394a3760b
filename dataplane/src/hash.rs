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

/// Hashes a fixed number of words.
#[inline]
pub fn hash_words<const N: usize>(w: &[u64; N], seed: u64) -> u64 {
    let mut h = seed ^ (N as u64 * 8).wrapping_mul(K);
    for &x in w {
        h = mix(h, x);
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
}
