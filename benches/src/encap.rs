//! Tunnels around generated frames, as a cloud mirror or a mobile core
//! delivers them: each frame of a profile wrapped in an outer
//! Ethernet/IPv4/UDP packet from 192.0.2.1 to 192.0.2.2 and a tunnel
//! header, so the same flows can be checked plain and encapsulated.

/// How frames are wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// Not at all.
    None,
    /// VXLAN (RFC 7348, UDP 4789): the whole Ethernet frame, VNI 42.
    Vxlan,
    /// VXLAN-GPE (UDP 4790): the IP packet, next protocol IPv4, VNI 42.
    VxlanGpe,
    /// GTP-U (3GPP TS 29.281, UDP 2152): the IP packet in a G-PDU whose
    /// TEID is the inner source address (one per direction, as bearers
    /// have).
    Gtpu,
}

impl Encap {
    /// Every kind, by name.
    pub const ALL: [(&'static str, Encap); 4] = [
        ("none", Encap::None),
        ("vxlan", Encap::Vxlan),
        ("vxlan-gpe", Encap::VxlanGpe),
        ("gtpu", Encap::Gtpu),
    ];

    /// The kind called `name`.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, e)| e)
    }
}

/// Bytes of the inner Ethernet header left out where IP is carried.
const ETH: usize = 14;

/// Appends `inner` (an Ethernet/IPv4 frame of a profile) to `out`, wrapped
/// as `e` says.
pub fn encapsulate(e: Encap, inner: &[u8], out: &mut Vec<u8>) {
    let (port, ip_only) = match e {
        Encap::None => {
            out.extend_from_slice(inner);
            return;
        }
        Encap::Vxlan => (4789u16, false),
        Encap::VxlanGpe => (4790, true),
        Encap::Gtpu => (2152, true),
    };
    let payload = if ip_only {
        &inner[ETH.min(inner.len())..]
    } else {
        inner
    };
    let udp_len = 8 + 8 + payload.len();
    crate::profile::ipv4(out, [192, 0, 2, 1], [192, 0, 2, 2], 17, udp_len);
    // The source port spreads flows as a cloud mirror's does: from the
    // inner addresses and ports (GTP-U uses its own port both ways).
    let spread = inner.get(ETH + 12..ETH + 24).map_or(0u16, |b| {
        b.iter().fold(0u16, |h, &x| h.rotate_left(5) ^ u16::from(x))
    });
    let sport = if e == Encap::Gtpu {
        port
    } else {
        49152 | (spread & 0x3fff)
    };
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&port.to_be_bytes());
    out.extend_from_slice(&(udp_len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    match e {
        Encap::Vxlan => out.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 42, 0]),
        Encap::VxlanGpe => out.extend_from_slice(&[0x0c, 0, 0, 1, 0, 0, 42, 0]),
        Encap::Gtpu => {
            // Version 1, protocol type GTP, no optional fields; G-PDU.
            out.extend_from_slice(&[0x30, 0xff]);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            let teid = inner.get(ETH + 12..ETH + 16).unwrap_or(&[0; 4]);
            out.extend_from_slice(teid);
        }
        Encap::None => {}
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_headers() {
        let mut inner = vec![0u8; 14];
        inner[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 172, 16, 0, 1,
        ];
        ip.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
        inner.extend_from_slice(&ip);
        for (e, port, carried) in [
            (Encap::Vxlan, 4789u16, inner.len()),
            (Encap::VxlanGpe, 4790, ip.len()),
            (Encap::Gtpu, 2152, ip.len()),
        ] {
            let mut out = Vec::new();
            encapsulate(e, &inner, &mut out);
            assert_eq!(out.len(), 14 + 20 + 8 + 8 + carried, "{e:?}");
            assert_eq!(u16::from_be_bytes([out[36], out[37]]), port, "{e:?}");
            assert_eq!(
                usize::from(u16::from_be_bytes([out[16], out[17]])),
                out.len() - 14
            );
            assert_eq!(&out[out.len() - carried..], &inner[inner.len() - carried..]);
        }
    }
}
