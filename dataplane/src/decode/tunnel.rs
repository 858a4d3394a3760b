//! Tunnel headers: VXLAN, VXLAN-GPE, Geneve, GTP-U, GRE (RFC 2784/2890,
//! PPTP's enhanced GRE with PPP), ERSPAN I/II/III. Each parser checks
//! lengths first and answers where the inner packet starts and what it is.

use super::{Malformed, TunnelKind};

/// What follows a tunnel header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// An Ethernet frame.
    Eth,
    /// An IP packet.
    Ip,
    /// Something not decoded (802.11 in Aruba GRE, PPP control ...).
    Unsupported,
}

/// A decoded tunnel header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tunnel {
    pub kind: TunnelKind,
    pub id: u32,
    /// Header length: the inner packet starts here.
    pub hdr: usize,
    pub next: Next,
    /// What the tunnel says it carries (an EtherType, a PPP protocol, a
    /// GTP message type, a VXLAN-GPE next protocol): named when it is not
    /// decoded.
    pub inner: u16,
}

const BAD: Malformed = Malformed::TunnelInvalid;

/// GTP-U's message type for user data (G-PDU).
pub(super) const GTP_GPDU: u8 = 255;

/// GTP-U (3GPP TS 29.281): version 1, protocol type GTP; 8 bytes, 4 more
/// when any of E, S, PN is set, then extension headers (a length in
/// 4-byte units first, the next header's type last, 0 ending the chain).
/// A G-PDU carries an IP packet; id: the TEID.
pub(super) fn gtpu(b: &[u8]) -> Result<Tunnel, Malformed> {
    if b.len() < 8 || b[0] >> 5 != 1 || b[0] & 0x10 == 0 {
        return Err(BAD);
    }
    let id = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let mut hdr = 8;
    if b[0] & 0x07 != 0 {
        if b.len() < 12 {
            return Err(BAD);
        }
        hdr = 12;
        let mut next = if b[0] & 0x04 != 0 { b[11] } else { 0 };
        while next != 0 {
            // Each header is at least 4 bytes: the loop ends with `b`.
            let len = usize::from(*b.get(hdr).ok_or(BAD)?) * 4;
            if len == 0 || b.len() < hdr + len {
                return Err(BAD);
            }
            next = b[hdr + len - 1];
            hdr += len;
        }
    }
    let next = match (b[1], b.get(hdr).map(|v| v >> 4)) {
        (GTP_GPDU, Some(4 | 6)) => Next::Ip,
        _ => Next::Unsupported,
    };
    Ok(Tunnel {
        kind: TunnelKind::GtpU,
        id,
        hdr,
        next,
        inner: u16::from(b[1]),
    })
}

/// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): 8 bytes, version 0; with the P
/// flag, byte 3 names what follows (1 IPv4, 2 IPv6, 3 Ethernet; NSH and
/// MPLS are not decoded), without it Ethernet follows as in VXLAN.
pub(super) fn vxlan_gpe(b: &[u8]) -> Result<Tunnel, Malformed> {
    if b.len() < 8 || b[0] & 0x30 != 0 {
        return Err(BAD);
    }
    let inner = if b[0] & 0x04 != 0 { u16::from(b[3]) } else { 3 };
    let next = match inner {
        1 | 2 => Next::Ip,
        3 => Next::Eth,
        _ => Next::Unsupported,
    };
    Ok(Tunnel {
        kind: TunnelKind::VxlanGpe,
        id: u32::from_be_bytes([0, b[4], b[5], b[6]]),
        hdr: 8,
        next,
        inner,
    })
}

/// VXLAN (RFC 7348): 8 bytes, VNI in bytes 4..7.
pub(super) fn vxlan(b: &[u8]) -> Result<Tunnel, Malformed> {
    if b.len() < 8 || b[0] & 0x08 == 0 {
        return Err(BAD);
    }
    let id = u32::from_be_bytes([0, b[4], b[5], b[6]]);
    Ok(Tunnel {
        kind: TunnelKind::Vxlan,
        id,
        hdr: 8,
        next: Next::Eth,
        inner: 0x6558,
    })
}

/// Geneve (RFC 8926): 8 bytes plus options, protocol type in bytes 2..4.
pub(super) fn geneve(b: &[u8]) -> Result<Tunnel, Malformed> {
    if b.len() < 8 || b[0] >> 6 != 0 {
        return Err(BAD);
    }
    let hdr = 8 + usize::from(b[0] & 0x3f) * 4;
    if b.len() < hdr {
        return Err(BAD);
    }
    let id = u32::from_be_bytes([0, b[4], b[5], b[6]]);
    let inner = u16::from_be_bytes([b[2], b[3]]);
    Ok(Tunnel {
        kind: TunnelKind::Geneve,
        id,
        hdr,
        next: ether_next(inner),
        inner,
    })
}

fn ether_next(et: u16) -> Next {
    match et {
        0x6558 => Next::Eth,
        0x0800 | 0x86dd => Next::Ip,
        _ => Next::Unsupported,
    }
}

/// GRE, including PPTP (version 1) and ERSPAN carried in GRE.
pub(super) fn gre(b: &[u8]) -> Result<Tunnel, Malformed> {
    if b.len() < 4 {
        return Err(BAD);
    }
    let flags = u16::from_be_bytes([b[0], b[1]]);
    let proto = u16::from_be_bytes([b[2], b[3]]);
    let ver = flags & 7;
    let (c, k, s) = (
        flags & 0x8000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    let mut hdr = 4;
    if ver > 1 {
        return Err(BAD);
    }
    if c {
        hdr += 4;
    }
    let mut id = 0;
    if k {
        if b.len() < hdr + 4 {
            return Err(BAD);
        }
        id = u32::from_be_bytes([b[hdr], b[hdr + 1], b[hdr + 2], b[hdr + 3]]);
        hdr += 4;
    }
    if s {
        hdr += 4;
    }
    if ver == 1 && flags & 0x0080 != 0 {
        hdr += 4; // PPTP acknowledgment number
    }
    if b.len() < hdr {
        return Err(BAD);
    }
    let rest = &b[hdr..];
    let t = |kind, id, extra, next| {
        Ok(Tunnel {
            kind,
            id,
            hdr: hdr + extra,
            next,
            inner: proto,
        })
    };
    match proto {
        0x88be if !s => t(TunnelKind::ErspanI, 0, 0, Next::Eth),
        0x88be => {
            // ERSPAN II: ver(4) vlan(12) cos(3) en(2) t(1) session(10) ...
            if rest.len() < 8 {
                return Err(BAD);
            }
            let session = u32::from(u16::from_be_bytes([rest[2], rest[3]]) & 0x03ff);
            t(TunnelKind::ErspanII, session, 8, Next::Eth)
        }
        0x22eb => {
            // ERSPAN III: ver(4) vlan(12) cos(3) bso(2) t(1) session(10)
            // timestamp(32) sgt(16) P(1) FT(5) hw(6) D(1) gra(2) O(1);
            // 12 bytes, plus an 8-byte platform sub-header when O is set.
            if rest.len() < 12 {
                return Err(BAD);
            }
            let session = u32::from(u16::from_be_bytes([rest[2], rest[3]]) & 0x03ff);
            let extra = if rest[11] & 1 != 0 { 20 } else { 12 };
            if rest.len() < extra {
                return Err(BAD);
            }
            // Frame type 0 is Ethernet, 2 is IP.
            let ft = (rest[10] >> 2) & 0x1f;
            let next = match ft {
                0 => Next::Eth,
                2 => Next::Ip,
                _ => Next::Unsupported,
            };
            Ok(Tunnel {
                kind: TunnelKind::ErspanIII,
                id: session,
                hdr: hdr + extra,
                next,
                inner: u16::from(ft),
            })
        }
        0x880b => {
            // PPP: optional address/control (ff 03), then a 1- or 2-byte protocol.
            let mut p = 0;
            if rest.len() >= 2 && rest[0] == 0xff && rest[1] == 0x03 {
                p = 2;
            }
            let (proto, plen) = match rest.get(p) {
                Some(&x) if x & 1 == 1 => (u16::from(x), 1),
                Some(_) if rest.len() >= p + 2 => (u16::from_be_bytes([rest[p], rest[p + 1]]), 2),
                _ => return Err(BAD),
            };
            let next = if proto == 0x21 || proto == 0x57 {
                Next::Ip
            } else {
                Next::Unsupported
            };
            Ok(Tunnel {
                kind: TunnelKind::Gre,
                id,
                hdr: hdr + p + plen,
                next,
                inner: proto,
            })
        }
        _ => t(TunnelKind::Gre, id, 0, ether_next(proto)),
    }
}
