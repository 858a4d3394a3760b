//! Tunnel headers: VXLAN, Geneve, GRE (RFC 2784/2890, PPTP's enhanced GRE
//! with PPP), ERSPAN I/II/III. Each parser checks lengths first and
//! answers where the inner packet starts and what it is.

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
}

const BAD: Malformed = Malformed::TunnelInvalid;

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
    let next = ether_next(u16::from_be_bytes([b[2], b[3]]));
    Ok(Tunnel {
        kind: TunnelKind::Geneve,
        id,
        hdr,
        next,
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
            let next = match (rest[10] >> 2) & 0x1f {
                0 => Next::Eth,
                2 => Next::Ip,
                _ => Next::Unsupported,
            };
            t(TunnelKind::ErspanIII, session, extra, next)
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
            t(TunnelKind::Gre, id, p + plen, next)
        }
        _ => t(TunnelKind::Gre, id, 0, ether_next(proto)),
    }
}
