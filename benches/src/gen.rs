//! Seeded frame generators.

/// xorshift64*: small, fast, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Length of a minimal Ethernet/IPv4/TCP frame (no FCS).
pub const TCP64_LEN: usize = 60;

/// Writes the 64-byte-class TCP frame of flow `flow` (client → server,
/// ACK, 6 bytes of payload so the frame fills the 60-byte minimum).
pub fn tcp64(flow: u32, seq: u32, out: &mut [u8; TCP64_LEN]) {
    let f = flow.to_be_bytes();
    *out = [0; TCP64_LEN];
    out[..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2]);
    out[12..14].copy_from_slice(&[0x08, 0x00]);
    // IPv4: total length 46 (20 + 20 + 6), TTL 64, TCP.
    out[14..24].copy_from_slice(&[0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 6]);
    out[26..30].copy_from_slice(&[10, f[1], f[2], f[3]]);
    out[30..34].copy_from_slice(&[172, 16 | (f[0] & 0x0f), 0, 1]);
    let sport = 1024 + (flow % 60000) as u16;
    out[34..36].copy_from_slice(&sport.to_be_bytes());
    out[36..38].copy_from_slice(&80u16.to_be_bytes());
    out[38..42].copy_from_slice(&seq.to_be_bytes());
    out[42..46].copy_from_slice(&1u32.to_be_bytes());
    out[46] = 0x50;
    out[47] = 0x18; // PSH|ACK
    out[48..50].copy_from_slice(&8192u16.to_be_bytes());
}

/// `n` frames of the 64-byte TCP profile over `flows` flows, each packet's
/// flow drawn uniformly at random, laid out back to back.
pub fn tcp64_random(flows: u32, n: usize, seed: u64) -> Vec<[u8; TCP64_LEN]> {
    let mut rng = Rng::new(seed);
    let mut v = vec![[0u8; TCP64_LEN]; n];
    for (i, f) in v.iter_mut().enumerate() {
        let flow = rng.below(u64::from(flows)) as u32;
        tcp64(flow, 1000 + i as u32 * 6, f);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_decodable() {
        assert_eq!(tcp64_random(1000, 50, 7), tcp64_random(1000, 50, 7));
        assert_ne!(tcp64_random(1000, 50, 7), tcp64_random(1000, 50, 8));
        let mut dec = dataplane::decode::Decoder::new(Default::default()).unwrap();
        let mut d = dataplane::decode::Decoded::EMPTY;
        for f in tcp64_random(10, 20, 1) {
            let r = dec.decode(&f, dataplane::capture::LinkType::Ethernet, 0, &mut d);
            assert_eq!(r, dataplane::decode::Outcome::Packet);
            assert_eq!((d.ip_len, d.payload_wire, d.dport), (46, 6, 80));
        }
    }

    #[test]
    fn uniform_enough() {
        let mut r = Rng::new(1);
        let mut hist = [0u32; 10];
        for _ in 0..100_000 {
            hist[r.below(10) as usize] += 1;
        }
        assert!(
            hist.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{hist:?}"
        );
    }
}
