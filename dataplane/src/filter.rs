//! Include/exclude filters applied before flow tracking.
//!
//! A packet is tracked when, for every category (networks, ports,
//! protocols, VLANs), the include list is empty or matches, and no exclude
//! list matches. Lists are short and scanned linearly.

use crate::decode::{Decoded, NO_VLAN};

/// An address prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: [u8; 16],
    v6: bool,
    len: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, ""));
        let ip: std::net::IpAddr = a.parse().map_err(|_| format!("invalid address in `{s}`"))?;
        let (addr, v6, max) = match ip {
            std::net::IpAddr::V4(v) => {
                let mut x = [0; 16];
                x[..4].copy_from_slice(&v.octets());
                (x, false, 32)
            }
            std::net::IpAddr::V6(v) => (v.octets(), true, 128),
        };
        let len = if l.is_empty() {
            max
        } else {
            l.parse::<u8>()
                .map_err(|_| format!("invalid prefix length in `{s}`"))?
        };
        if len > max {
            return Err(format!("prefix length {len} too long in `{s}`"));
        }
        Ok(Cidr { addr, v6, len })
    }
}

impl Cidr {
    /// The prefix's address bytes (IPv4 in the first four), family and
    /// length.
    pub fn parts(&self) -> (&[u8; 16], bool, u8) {
        (&self.addr, self.v6, self.len)
    }

    /// Whether `a` (of family `v6`) lies in the prefix.
    pub fn contains(&self, a: &[u8; 16], v6: bool) -> bool {
        if v6 != self.v6 {
            return false;
        }
        let full = usize::from(self.len / 8);
        if a[..full] != self.addr[..full] {
            return false;
        }
        let rem = self.len % 8;
        rem == 0 || (a[full] ^ self.addr[full]) & (0xffu8 << (8 - rem)) == 0
    }
}

/// The filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Track only packets with an address in one of these.
    pub include_net: Vec<Cidr>,
    /// Skip packets with an address in one of these.
    pub exclude_net: Vec<Cidr>,
    /// Track only packets with one of these ports.
    pub include_port: Vec<u16>,
    /// Skip packets with one of these ports.
    pub exclude_port: Vec<u16>,
    /// Track only these IP protocols.
    pub include_proto: Vec<u8>,
    /// Skip these IP protocols.
    pub exclude_proto: Vec<u8>,
    /// Track only these VLANs.
    pub include_vlan: Vec<u16>,
    /// Skip these VLANs.
    pub exclude_vlan: Vec<u16>,
}

impl Filter {
    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether the packet is tracked.
    pub fn pass(&self, d: &Decoded) -> bool {
        let net = |c: &Cidr| c.contains(&d.src, d.v6) || c.contains(&d.dst, d.v6);
        let port = |p: &u16| *p == d.sport || *p == d.dport;
        let vlan = |v: &u16| d.vlan != NO_VLAN && (*v == d.vlan || *v == d.inner_vlan);
        (self.include_net.is_empty() || self.include_net.iter().any(net))
            && !self.exclude_net.iter().any(net)
            && (self.include_port.is_empty() || self.include_port.iter().any(port))
            && !self.exclude_port.iter().any(port)
            && (self.include_proto.is_empty() || self.include_proto.contains(&d.proto))
            && !self.exclude_proto.contains(&d.proto)
            && (self.include_vlan.is_empty() || self.include_vlan.iter().any(vlan))
            && !self.exclude_vlan.iter().any(vlan)
    }
}

/// The flow sample's hash, symmetric in the two endpoints: the XOR of both
/// sides' addresses (as native-order words) and ports, through murmur3's
/// finalizer. wirelog's XDP program computes the same (`sample_hash` in
/// `bpf/wirelog_xdp.c`) on the frames it decides on, so a flow is kept or
/// left out alike in the kernel and here.
pub fn sample_hash(d: &Decoded) -> u32 {
    let w = |a: &[u8; 16], i: usize| u32::from_ne_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    let mut h = w(&d.src, 0) ^ w(&d.dst, 0);
    if d.v6 {
        for i in [4, 8, 12] {
            h ^= w(&d.src, i) ^ w(&d.dst, i);
        }
    }
    h ^= (u32::from(d.sport ^ d.dport) << 8) ^ u32::from(d.proto);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Whether the packet's flow is in a 1-in-`n` sample (`n` ≤ 1: all are).
pub fn sampled(d: &Decoded, n: u32) -> bool {
    n <= 1 || sample_hash(d).is_multiple_of(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_lists() {
        let c: Cidr = "10.1.0.0/15".parse().unwrap();
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[10, 1, 255, 1]);
        assert!(c.contains(&a, false));
        a[1] = 2;
        assert!(!c.contains(&a, false));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("x/8".parse::<Cidr>().is_err());
        let mut d = Decoded {
            sport: 1234,
            dport: 80,
            proto: 6,
            ..Decoded::EMPTY
        };
        d.src[..4].copy_from_slice(&[10, 1, 0, 5]);
        let f = Filter {
            include_net: vec![c],
            exclude_port: vec![22],
            ..Default::default()
        };
        assert!(f.pass(&d));
        d.dport = 22;
        assert!(!f.pass(&d));
        let f = Filter {
            include_vlan: vec![5],
            ..Default::default()
        };
        assert!(!f.pass(&d));
    }
}
