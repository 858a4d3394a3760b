//! The `netdev` generic netlink family (Linux 6.3 and later): what XDP a
//! device offers, read with `NETDEV_CMD_DEV_GET`. Layouts follow the uapi
//! header `linux/netdev.h` (generated from
//! `Documentation/netlink/specs/netdev.yaml`, whose names [`XdpFeatures::names`]
//! uses). Pure like `netlink.rs`: an encoder and a checked parser.

use std::io;

use super::netlink::{genl_payload, get_u32, get_uint, malformed, Attrs, Msg};

const NETDEV_FAMILY_VERSION: u8 = 1;
const NETDEV_CMD_DEV_GET: u8 = 1;

const NETDEV_A_DEV_IFINDEX: u16 = 1;
const NETDEV_A_DEV_XDP_FEATURES: u16 = 3;
const NETDEV_A_DEV_XDP_ZC_MAX_SEGS: u16 = 4;
const NETDEV_A_DEV_XDP_RX_METADATA_FEATURES: u16 = 5;
const NETDEV_A_DEV_XSK_FEATURES: u16 = 6;

/// `NETDEV_XDP_ACT_BASIC`: XDP_ABORTED, XDP_DROP, XDP_PASS and XDP_TX in
/// the driver: native (driver-mode) XDP.
pub const NETDEV_XDP_ACT_BASIC: u64 = 1;
/// `NETDEV_XDP_ACT_REDIRECT`: XDP_REDIRECT from the driver's receive path.
pub const NETDEV_XDP_ACT_REDIRECT: u64 = 2;
/// `NETDEV_XDP_ACT_NDO_XMIT`: the device takes redirected frames.
pub const NETDEV_XDP_ACT_NDO_XMIT: u64 = 4;
/// `NETDEV_XDP_ACT_XSK_ZEROCOPY`: AF_XDP zero-copy.
pub const NETDEV_XDP_ACT_XSK_ZEROCOPY: u64 = 8;
/// `NETDEV_XDP_ACT_HW_OFFLOAD`: programs offloaded to the NIC.
pub const NETDEV_XDP_ACT_HW_OFFLOAD: u64 = 16;
/// `NETDEV_XDP_ACT_RX_SG`: multi-buffer frames on receive.
pub const NETDEV_XDP_ACT_RX_SG: u64 = 32;
/// `NETDEV_XDP_ACT_NDO_XMIT_SG`: multi-buffer frames redirected to it.
pub const NETDEV_XDP_ACT_NDO_XMIT_SG: u64 = 64;

/// `NETDEV_XDP_RX_METADATA_TIMESTAMP`: `bpf_xdp_metadata_rx_timestamp()`.
pub const NETDEV_XDP_RX_METADATA_TIMESTAMP: u64 = 1;
/// `NETDEV_XDP_RX_METADATA_HASH`: `bpf_xdp_metadata_rx_hash()`.
pub const NETDEV_XDP_RX_METADATA_HASH: u64 = 2;
/// `NETDEV_XDP_RX_METADATA_VLAN_TAG`: `bpf_xdp_metadata_rx_vlan_tag()`.
pub const NETDEV_XDP_RX_METADATA_VLAN_TAG: u64 = 4;

/// The `xdp-act` names of netdev.yaml, bit i named by entry i.
const ACT_NAMES: [&str; 7] = [
    "basic",
    "redirect",
    "ndo-xmit",
    "xsk-zerocopy",
    "hw-offload",
    "rx-sg",
    "ndo-xmit-sg",
];

/// What XDP a device offers, as `NETDEV_CMD_DEV_GET` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpFeatures {
    /// `NETDEV_XDP_ACT_*` bits.
    pub flags: u64,
    /// Most fragments of one frame the driver takes in zero-copy mode
    /// (`xdp-zc-max-segs`); the kernel reports it only for zero-copy
    /// devices, so it is 0 for the others.
    pub zc_max_segs: u32,
    /// `NETDEV_XDP_RX_METADATA_*` bits: what an XDP program can read
    /// from the driver (hardware timestamp, hash, VLAN tag).
    pub rx_metadata: u64,
    /// `NETDEV_XSK_FLAGS_*` bits: AF_XDP TX metadata the driver offers.
    pub xsk_features: u64,
}

impl XdpFeatures {
    /// The netdev.yaml names of the set `flags` bits, lowest first; a bit
    /// this build does not know appears as "unknown".
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = ACT_NAMES
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.flags >> i & 1 == 1)
            .map(|(_, &n)| n)
            .collect();
        if self.flags >> ACT_NAMES.len() != 0 {
            names.push("unknown");
        }
        names
    }

    /// AF_XDP can run zero-copy (else only in copy mode).
    pub fn zero_copy(&self) -> bool {
        self.flags & NETDEV_XDP_ACT_XSK_ZEROCOPY != 0
    }

    /// XDP runs in the driver (native mode); without it only generic
    /// (SKB) mode is there.
    pub fn native(&self) -> bool {
        self.flags & NETDEV_XDP_ACT_BASIC != 0
    }
}

/// `NETDEV_CMD_DEV_GET` for one device.
pub(crate) fn dev_get_request(family: u16, seq: u32, ifindex: u32) -> Vec<u8> {
    Msg::new(family, seq, NETDEV_CMD_DEV_GET, NETDEV_FAMILY_VERSION)
        .u32(NETDEV_A_DEV_IFINDEX, ifindex)
        .finish()
}

/// The reply to [`dev_get_request`]. A device without XDP reports zero
/// flags; the ifindex must be the one asked for.
pub(crate) fn parse_dev(answer: &[Vec<u8>], ifindex: u32) -> io::Result<XdpFeatures> {
    let [reply] = answer else {
        return Err(malformed("not exactly one reply to DEV_GET"));
    };
    let mut f = XdpFeatures::default();
    let mut seen_ifindex = None;
    for a in Attrs::new(genl_payload(reply)?) {
        let (ty, v) = a?;
        match ty {
            NETDEV_A_DEV_IFINDEX => seen_ifindex = Some(get_u32(v)?),
            NETDEV_A_DEV_XDP_FEATURES => f.flags = get_uint(v)?,
            NETDEV_A_DEV_XDP_ZC_MAX_SEGS => f.zc_max_segs = get_u32(v)?,
            NETDEV_A_DEV_XDP_RX_METADATA_FEATURES => f.rx_metadata = get_uint(v)?,
            NETDEV_A_DEV_XSK_FEATURES => f.xsk_features = get_uint(v)?,
            _ => {}
        }
    }
    if seen_ifindex != Some(ifindex) {
        return Err(malformed("DEV_GET reply for another device"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethtool::netlink::{read_datagram, Answer};
    use crate::ethtool::testdata::recorded;

    /// Sequence number of the recorded request (the 21st of its run).
    const SEQ: u32 = 21;

    fn answer(d: &[u8]) -> io::Result<Answer> {
        let mut a = Answer::default();
        read_datagram(d, 0x14, SEQ, &mut a)?;
        Ok(a)
    }

    #[test]
    fn request() {
        // nlmsghdr (28 bytes, family 0x14, REQUEST|ACK, seq 7), genl
        // header DEV_GET v1, NETDEV_A_DEV_IFINDEX = 3.
        let mut want = 28u32.to_ne_bytes().to_vec();
        want.extend_from_slice(&0x14u16.to_ne_bytes());
        want.extend_from_slice(&5u16.to_ne_bytes());
        want.extend_from_slice(&7u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(b"\x01\x01\x00\x00\x08\x00\x01\x00\x03\x00\x00\x00");
        assert_eq!(dev_get_request(0x14, 7, 3), want);
    }

    #[test]
    fn veth_reply() {
        // veth va with its peer's GRO on: basic, redirect, rx-sg, and
        // ndo-xmit (+sg) because the peer can take redirected frames;
        // timestamp, hash and VLAN metadata; no zero-copy, no XSK flags.
        let a = answer(&recorded!("dev_get_va")).unwrap();
        let f = parse_dev(&a.replies, 3).unwrap();
        assert_eq!(
            f,
            XdpFeatures {
                flags: NETDEV_XDP_ACT_BASIC
                    | NETDEV_XDP_ACT_REDIRECT
                    | NETDEV_XDP_ACT_NDO_XMIT
                    | NETDEV_XDP_ACT_RX_SG
                    | NETDEV_XDP_ACT_NDO_XMIT_SG,
                zc_max_segs: 0,
                rx_metadata: 7,
                xsk_features: 0,
            }
        );
        assert_eq!(
            f.names(),
            ["basic", "redirect", "ndo-xmit", "rx-sg", "ndo-xmit-sg"]
        );
        assert!(f.native() && !f.zero_copy());
        // The reply is for ifindex 3; asking about 4 must not take it.
        assert!(parse_dev(&a.replies, 4).is_err());
    }

    #[test]
    fn names_and_modes() {
        let zc = XdpFeatures {
            flags: NETDEV_XDP_ACT_BASIC | NETDEV_XDP_ACT_XSK_ZEROCOPY | 1 << 9,
            ..Default::default()
        };
        assert_eq!(zc.names(), ["basic", "xsk-zerocopy", "unknown"]);
        assert!(zc.zero_copy() && zc.native());
        let generic_only = XdpFeatures::default();
        assert!(generic_only.names().is_empty());
        assert!(!generic_only.native());
    }

    #[test]
    fn cut_and_corrupted_replies() {
        let d = recorded!("dev_get_va");
        for cut in 1..d.len() {
            assert!(answer(&d[..cut]).is_err(), "cut at {cut}");
        }
        // Cut inside the attributes with the length fixed up: the
        // ifindex comes first, so a cut after it still parses but any cut
        // inside an attribute fails.
        for cut in 20..d.len() {
            let mut m = d[..cut].to_vec();
            m[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            if let Ok(a) = answer(&m) {
                let r = parse_dev(&a.replies, 3);
                let boundary = [20, 28, 40, 52, 64].contains(&cut);
                assert!(r.is_err() || boundary, "cut at {cut}: {r:?}");
            }
        }
        for at in 0..d.len() {
            for v in [0, 0xff, d[at] ^ 0x80] {
                let mut m = d.clone();
                m[at] = v;
                if let Ok(a) = answer(&m) {
                    let _ = parse_dev(&a.replies, 3);
                }
            }
        }
    }
}
