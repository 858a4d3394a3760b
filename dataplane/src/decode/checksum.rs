//! Checksums of a frame, checked only to judge the mirror feed.
//!
//! wirelog never drops or trusts a packet for its checksum (a mirror
//! carries offload artifacts: a host that leaves checksums to its NIC is
//! mirrored before the NIC fills them in). What this module answers is how
//! many frames arrive with a wrong IPv4 header, TCP or UDP checksum (RFC
//! 791, 793, 768; IPv6 pseudo-header per RFC 8200), so the mirror health
//! summary can say so. It works on a plain Ethernet frame with at most two
//! VLAN tags and no IPv6 extension header; anything else is not judged.

/// What checking a frame found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every checksum present was right.
    Good,
    /// The IPv4 header's or the transport's checksum was wrong.
    Bad,
    /// Not a frame this module judges (truncated, fragment, tunnel, other
    /// protocol, extension headers).
    Skipped,
}

/// Adds `b` to a one's-complement sum as big-endian 16-bit words.
fn sum(mut acc: u32, b: &[u8]) -> u32 {
    let mut chunks = b.chunks_exact(2);
    for w in &mut chunks {
        acc += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Checks the IPv4 header and TCP/UDP checksums of an Ethernet frame
/// captured whole.
pub fn check_frame(f: &[u8]) -> Verdict {
    let Some(mut et) = f.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return Verdict::Skipped;
    };
    let mut off = 14;
    for _ in 0..2 {
        if matches!(et, 0x8100 | 0x88a8 | 0x9100) {
            let Some(b) = f.get(off + 2..off + 4) else {
                return Verdict::Skipped;
            };
            et = u16::from_be_bytes([b[0], b[1]]);
            off += 4;
        }
    }
    let ip = &f[off.min(f.len())..];
    let (proto, l4, pseudo) = match et {
        0x0800 => {
            let Some(&vihl) = ip.first() else {
                return Verdict::Skipped;
            };
            let ihl = usize::from(vihl & 0x0f) * 4;
            if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl {
                return Verdict::Skipped;
            }
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            if total < ihl || total > ip.len() {
                return Verdict::Skipped;
            }
            if fold(sum(0, &ip[..ihl])) != 0xffff {
                return Verdict::Bad;
            }
            // Fragments carry a part of the transport's checksum span.
            if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return Verdict::Good;
            }
            let l4 = &ip[ihl..total];
            let mut p = sum(0, &ip[12..20]);
            p += u32::from(ip[9]) + l4.len() as u32;
            (ip[9], l4, p)
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return Verdict::Skipped;
            }
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            if 40 + plen > ip.len() {
                return Verdict::Skipped;
            }
            let l4 = &ip[40..40 + plen];
            let mut p = sum(0, &ip[8..40]);
            p += u32::from(ip[6]) + l4.len() as u32;
            (ip[6], l4, p)
        }
        _ => return Verdict::Skipped,
    };
    match proto {
        6 if l4.len() >= 20 => {}
        17 if l4.len() >= 8 => {
            // IPv4 UDP may go without a checksum (0).
            if et == 0x0800 && l4[6] == 0 && l4[7] == 0 {
                return Verdict::Good;
            }
        }
        _ => return Verdict::Skipped,
    }
    if fold(sum(pseudo, l4)) == 0xffff {
        Verdict::Good
    } else {
        Verdict::Bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn frame(v6: bool, udp: bool, vlan: bool) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut out = Vec::new();
        let payload = b"hello, checksum";
        match (v6, vlan) {
            (false, false) => {
                let b = b.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64);
                if udp {
                    b.udp(1000, 53).write(&mut out, payload).unwrap();
                } else {
                    b.tcp(1000, 80, 7, 100).write(&mut out, payload).unwrap();
                }
            }
            (false, true) => {
                let b = b.single_vlan(etherparse::VlanId::try_new(7).unwrap()).ipv4(
                    [10, 0, 0, 1],
                    [10, 0, 0, 2],
                    64,
                );
                b.tcp(1000, 80, 7, 100).write(&mut out, payload).unwrap();
            }
            (true, _) => {
                let mut a = [0u8; 16];
                a[0] = 0xfd;
                let mut z = a;
                z[15] = 1;
                let b = b.ipv6(a, z, 64);
                if udp {
                    b.udp(1000, 53).write(&mut out, payload).unwrap();
                } else {
                    b.tcp(1000, 80, 7, 100).write(&mut out, payload).unwrap();
                }
            }
        }
        out
    }

    #[test]
    fn right_checksums_pass_and_any_flipped_bit_fails() {
        for (v6, udp, vlan) in [
            (false, false, false),
            (false, true, false),
            (false, false, true),
            (true, false, false),
            (true, true, false),
        ] {
            let f = frame(v6, udp, vlan);
            assert_eq!(check_frame(&f), Verdict::Good, "{v6} {udp} {vlan}");
            // Every bit past the MACs and EtherType that a checksum covers:
            // flipping it must be caught (IPv6's traffic class, flow label
            // and hop limit are outside any checksum).
            let ip = if vlan { 18 } else { 14 };
            for byte in ip..f.len() {
                if v6 && (byte < ip + 8 && byte != ip + 4 && byte != ip + 5 && byte != ip + 6) {
                    continue;
                }
                let mut g = f.clone();
                g[byte] ^= 0x10;
                let v = check_frame(&g);
                assert_ne!(v, Verdict::Good, "{v6} {udp} {vlan}: byte {byte}");
            }
        }
    }

    #[test]
    fn what_it_does_not_judge_is_skipped() {
        let f = frame(false, false, false);
        for cut in 0..f.len() {
            // A frame cut short is never judged bad.
            assert_ne!(check_frame(&f[..cut]), Verdict::Bad, "cut at {cut}");
        }
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(check_frame(&arp), Verdict::Skipped);
        // IPv4 UDP without a checksum is fine.
        let mut u = frame(false, true, false);
        let l4 = 14 + 20;
        u[l4 + 6] = 0;
        u[l4 + 7] = 0;
        assert_eq!(check_frame(&u), Verdict::Good);
    }
}
