//! Community ID v1 (corelight/community-id-spec): a flow hash shared by
//! Zeek, Suricata, Arkime and Wireshark, so records join across tools.
//!
//! `"1:" + base64(sha1(seed ‖ saddr ‖ daddr ‖ proto ‖ 0 ‖ sport ‖ dport))`
//! with the endpoints ordered (address, then port) unless the flow is a
//! one-way ICMP message. ICMP types map to "ports" through the
//! request/reply table; protocols without ports hash the 3-tuple.

use crate::decode::ipproto;

/// The "port" pair of an ICMP message: (type, counterpart type) for
/// request/reply types, else (type, code) and one-way.
pub fn icmp_ports(v6: bool, icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let pair = if v6 {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            130 => Some(131),
            131 => Some(130),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            139 => Some(140),
            140 => Some(139),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match icmp_type {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    };
    match pair {
        Some(p) => (u16::from(icmp_type), p, false),
        None => (u16::from(icmp_type), u16::from(code), true),
    }
}

/// Whether the protocol's hash includes ports.
pub fn has_ports(proto: u8) -> bool {
    matches!(
        proto,
        ipproto::TCP | ipproto::UDP | ipproto::SCTP | ipproto::ICMP | ipproto::ICMPV6
    )
}

/// Computes the Community ID of a flow seen as `src:sport → dst:dport`
/// (ICMP: sport/dport already mapped by [`icmp_ports`]), into `out`
/// (30 ASCII bytes).
#[allow(clippy::too_many_arguments)]
pub fn community_id(
    seed: u16,
    src: &[u8; 16],
    dst: &[u8; 16],
    v6: bool,
    proto: u8,
    sport: u16,
    dport: u16,
    one_way: bool,
    out: &mut [u8; 30],
) {
    let n = if v6 { 16 } else { 4 };
    let (s, d) = (&src[..n], &dst[..n]);
    let ports = has_ports(proto);
    let lt = match s.cmp(d) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => !ports || sport < dport,
        std::cmp::Ordering::Greater => false,
    };
    let (a, b, pa, pb) = if one_way || lt {
        (s, d, sport, dport)
    } else {
        (d, s, dport, sport)
    };
    // The message is at most 40 bytes: one SHA-1 block with its padding,
    // compressed directly (the streaming hasher's buffering cost more than
    // the compression with SHA-NI).
    let mut block = [0u8; 64];
    let mut n = 0;
    for part in [&seed.to_be_bytes()[..], a, b, &[proto, 0]] {
        block[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    if ports {
        block[n..n + 2].copy_from_slice(&pa.to_be_bytes());
        block[n + 2..n + 4].copy_from_slice(&pb.to_be_bytes());
        n += 4;
    }
    block[n] = 0x80;
    block[56..].copy_from_slice(&(n as u64 * 8).to_be_bytes());
    let mut state = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    sha1::compress(&mut state, &[block.into()]);
    let mut digest = [0u8; 20];
    for (d, w) in digest.chunks_exact_mut(4).zip(state) {
        d.copy_from_slice(&w.to_be_bytes());
    }
    out[..2].copy_from_slice(b"1:");
    crate::record::base64(&digest, &mut out[2..30]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    fn cid(
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        sp: u16,
        dp: u16,
        one_way: bool,
        seed: u16,
    ) -> String {
        let mut out = [0u8; 30];
        community_id(
            seed,
            &v4(src),
            &v4(dst),
            false,
            proto,
            sp,
            dp,
            one_way,
            &mut out,
        );
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// Vectors from the spec's reference implementations.
    #[test]
    fn reference_vectors() {
        let (a, b) = ([128, 232, 110, 120], [66, 35, 250, 204]);
        assert_eq!(
            cid(a, b, 6, 34855, 80, false, 0),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            cid(b, a, 6, 80, 34855, false, 0),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            cid(a, b, 6, 34855, 80, false, 1),
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc="
        );
        assert_eq!(
            cid([192, 168, 1, 52], [8, 8, 8, 8], 17, 54585, 53, false, 0),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
        let (t, c, ow) = icmp_ports(false, 8, 0);
        assert_eq!(
            cid([192, 168, 0, 89], [192, 168, 0, 1], 1, t, c, ow, 0),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
        let (t, c, ow) = icmp_ports(false, 20, 1);
        assert_eq!(
            cid([192, 168, 0, 89], [192, 168, 0, 1], 1, t, c, ow, 0),
            "1:tz/fHIDUHs19NkixVVoOZywde+I="
        );
        assert_eq!(
            cid([10, 1, 24, 4], [10, 1, 12, 1], 46, 0, 0, false, 0),
            "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4="
        );
    }
}
