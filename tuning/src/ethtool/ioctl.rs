//! The `SIOCETHTOOL` structs wirelog passes to the kernel, as bytes:
//! `struct ethtool_drvinfo` (driver facts), `struct ethtool_rxnfc` (RX
//! ring count, flow-hash fields) and `struct ethtool_rxfh` (RSS hash
//! function, input transform, indirection table, key). These have no
//! netlink form on the kernels wirelog supports (netlink RSS_GET came in
//! 6.2, RSS_SET in 6.17), or ethtool's netlink leaves them out (drvinfo).
//!
//! Encoders return the exact bytes of the struct (host byte order, as the
//! kernel reads them); parsers check the length of what came back before
//! reading. The syscall itself is in `sys.rs`. Layouts follow the
//! uapi header `linux/ethtool.h` of Linux 6.8 and later, where the byte
//! after `hfunc` in `struct ethtool_rxfh` became `input_xfrm`.

use std::io;

use super::netlink::malformed;
use super::DrvInfo;

pub(crate) const ETHTOOL_GDRVINFO: u32 = 0x03;
pub(crate) const ETHTOOL_GRXFH: u32 = 0x29;
pub(crate) const ETHTOOL_SRXFH: u32 = 0x2a;
pub(crate) const ETHTOOL_GRXRINGS: u32 = 0x2d;
pub(crate) const ETHTOOL_GRSSH: u32 = 0x46;
pub(crate) const ETHTOOL_SRSSH: u32 = 0x47;

/// `sizeof(struct ethtool_drvinfo)`.
pub(crate) const DRVINFO_LEN: usize = 196;
/// `sizeof(struct ethtool_rxnfc)` on 64-bit Linux (its flow spec is
/// 8-aligned): cmd, flow_type, data, fs, rule_cnt, padding.
pub(crate) const RXNFC_LEN: usize = 192;
/// Offset of `data` in `struct ethtool_rxnfc`.
const RXNFC_DATA: usize = 8;
/// `sizeof(struct ethtool_rxfh)` before its `rss_config[]`.
pub(crate) const RXFH_LEN: usize = 24;
/// Offsets in `struct ethtool_rxfh`.
const RXFH_INDIR_SIZE: usize = 8;
const RXFH_KEY_SIZE: usize = 12;
const RXFH_HFUNC: usize = 16;
/// `input_xfrm`, the first of the bytes that were `rsvd8[3]` before 6.8.
pub(crate) const RXFH_INPUT_XFRM: usize = 17;

/// `ETH_RXFH_INDIR_NO_CHANGE`: leave the indirection table as it is.
pub(crate) const ETH_RXFH_INDIR_NO_CHANGE: u32 = 0xffff_ffff;
/// `ETH_RSS_HASH_NO_CHANGE`: leave the hash function as it is.
pub(crate) const ETH_RSS_HASH_NO_CHANGE: u8 = 0;
/// `RXH_XFRM_NO_CHANGE`: leave the input transform as it is. (0 is not
/// "no change": it clears the transform.)
pub(crate) const RXH_XFRM_NO_CHANGE: u8 = 0xff;

/// Largest indirection table and key wirelog accepts from a driver: far
/// above any NIC's (tables of 128–2048 entries, keys of 40–52 bytes), so a
/// nonsense size is refused instead of allocated.
pub(crate) const MAX_INDIR: u32 = 1 << 16;
pub(crate) const MAX_KEY: u32 = 1 << 12;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// `ETHTOOL_GDRVINFO`: the command word, the kernel fills the rest.
pub(crate) fn drvinfo_request() -> [u8; DRVINFO_LEN] {
    let mut b = [0u8; DRVINFO_LEN];
    b[0..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
    b
}

/// A `char[len]` field up to its NUL.
fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// `struct ethtool_drvinfo` after the kernel filled it.
pub(crate) fn parse_drvinfo(b: &[u8]) -> io::Result<DrvInfo> {
    if b.len() != DRVINFO_LEN {
        return Err(malformed("ethtool_drvinfo of the wrong size"));
    }
    // cmd 0..4, driver 4..36, version 36..68, fw_version 68..100,
    // bus_info 100..132.
    Ok(DrvInfo {
        driver: c_string(&b[4..36]),
        version: c_string(&b[36..68]),
        fw_version: c_string(&b[68..100]),
        bus_info: c_string(&b[100..132]),
    })
}

/// `struct ethtool_rxnfc` for `cmd` (GRXRINGS, GRXFH, SRXFH): the kernel
/// reads cmd, flow_type and data for these, and wirelog sends the rest
/// zeroed.
pub(crate) fn rxnfc_request(cmd: u32, flow_type: u32, data: u64) -> [u8; RXNFC_LEN] {
    let mut b = [0u8; RXNFC_LEN];
    b[0..4].copy_from_slice(&cmd.to_ne_bytes());
    b[4..8].copy_from_slice(&flow_type.to_ne_bytes());
    b[RXNFC_DATA..RXNFC_DATA + 8].copy_from_slice(&data.to_ne_bytes());
    b
}

/// `data` of a `struct ethtool_rxnfc` the kernel filled (ring count,
/// hash fields).
pub(crate) fn parse_rxnfc_data(b: &[u8]) -> io::Result<u64> {
    if b.len() != RXNFC_LEN {
        return Err(malformed("ethtool_rxnfc of the wrong size"));
    }
    Ok(u64::from_ne_bytes(
        b[RXNFC_DATA..RXNFC_DATA + 8].try_into().expect("8 bytes"),
    ))
}

/// `ETHTOOL_GRSSH` with room for `indir_size` entries and `key_size`
/// bytes (both 0: the kernel only says the sizes).
pub(crate) fn rxfh_get_request(indir_size: u32, key_size: u32) -> Vec<u8> {
    let mut b = vec![0u8; RXFH_LEN + indir_size as usize * 4 + key_size as usize];
    b[0..4].copy_from_slice(&ETHTOOL_GRSSH.to_ne_bytes());
    b[RXFH_INDIR_SIZE..RXFH_INDIR_SIZE + 4].copy_from_slice(&indir_size.to_ne_bytes());
    b[RXFH_KEY_SIZE..RXFH_KEY_SIZE + 4].copy_from_slice(&key_size.to_ne_bytes());
    b
}

/// The device's table and key sizes from a sizes-only `ETHTOOL_GRSSH`,
/// refused past [`MAX_INDIR`] / [`MAX_KEY`].
pub(crate) fn parse_rxfh_sizes(b: &[u8]) -> io::Result<(u32, u32)> {
    if b.len() < RXFH_LEN {
        return Err(malformed("ethtool_rxfh cut short"));
    }
    let (indir, key) = (u32_at(b, RXFH_INDIR_SIZE), u32_at(b, RXFH_KEY_SIZE));
    if indir > MAX_INDIR || key > MAX_KEY {
        return Err(malformed("RSS table or key size beyond any NIC's"));
    }
    Ok((indir, key))
}

/// What a full `ETHTOOL_GRSSH` answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RxfhGot {
    pub(crate) hfunc: u8,
    pub(crate) input_xfrm: u8,
    pub(crate) indir: Vec<u32>,
    pub(crate) key: Vec<u8>,
}

/// A `ETHTOOL_GRSSH` built by [`rxfh_get_request`] with the device's
/// sizes, after the kernel filled it. The sizes it reports must be the
/// ones asked for (else the kernel refuses with EINVAL and fills nothing).
pub(crate) fn parse_rxfh(b: &[u8], indir_size: u32, key_size: u32) -> io::Result<RxfhGot> {
    let indir_bytes = indir_size as usize * 4;
    if b.len() != RXFH_LEN + indir_bytes + key_size as usize {
        return Err(malformed("ethtool_rxfh of the wrong size"));
    }
    if u32_at(b, RXFH_INDIR_SIZE) != indir_size || u32_at(b, RXFH_KEY_SIZE) != key_size {
        return Err(malformed("RSS sizes changed between two reads"));
    }
    let table = &b[RXFH_LEN..RXFH_LEN + indir_bytes];
    Ok(RxfhGot {
        hfunc: b[RXFH_HFUNC],
        input_xfrm: b[RXFH_INPUT_XFRM],
        indir: table
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes(c.try_into().expect("4 bytes")))
            .collect(),
        key: b[RXFH_LEN + indir_bytes..].to_vec(),
    })
}

/// The indirection table part of an `ETHTOOL_SRSSH`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Indir<'a> {
    /// `ETH_RXFH_INDIR_NO_CHANGE`.
    Keep,
    /// Size 0: the driver's default spread over the RX rings.
    Default,
    /// These entries (as many as the device's table has).
    Table(&'a [u32]),
}

/// `ETHTOOL_SRSSH` for the main RSS context: `hfunc` (an `ETH_RSS_HASH_*`
/// bit, or [`ETH_RSS_HASH_NO_CHANGE`]), `input_xfrm` (`RXH_XFRM_*`, or
/// [`RXH_XFRM_NO_CHANGE`]), the table, and the key. `rss_config` holds the
/// table entries given, then the key, as current kernels read them and
/// ethtool lays them out (older kernels read a key sent with the default
/// table after a table-sized gap).
pub(crate) fn rxfh_set_request(
    hfunc: u8,
    input_xfrm: u8,
    indir: Indir<'_>,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let (indir_size, entries): (u32, &[u32]) = match indir {
        Indir::Keep => (ETH_RXFH_INDIR_NO_CHANGE, &[]),
        Indir::Default => (0, &[]),
        Indir::Table(t) => (t.len() as u32, t),
    };
    let key = key.unwrap_or(&[]);
    let mut b = Vec::with_capacity(RXFH_LEN + entries.len() * 4 + key.len());
    b.extend_from_slice(&ETHTOOL_SRSSH.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // rss_context: the main one
    b.extend_from_slice(&indir_size.to_ne_bytes());
    b.extend_from_slice(&(key.len() as u32).to_ne_bytes());
    b.push(hfunc);
    b.push(input_xfrm);
    b.extend_from_slice(&[0, 0]); // rsvd8[2]
    b.extend_from_slice(&0u32.to_ne_bytes()); // rsvd32
    for e in entries {
        b.extend_from_slice(&e.to_ne_bytes());
    }
    b.extend_from_slice(key);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethtool::testdata::recorded;

    /// The struct ethtool 6.1 passed to `ioctl` (logged by
    /// tests/ethtool/shim.c): these hex strings are its log lines.
    fn logged(hex: &str, len: usize) -> Vec<u8> {
        let mut b: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        b.resize(len, 0); // the log's trailing zeros, cut here for width
        b
    }

    #[test]
    fn drvinfo() {
        assert_eq!(
            drvinfo_request().to_vec(),
            logged("03000000", DRVINFO_LEN),
            "ethtool -i va"
        );
        let va = parse_drvinfo(&recorded!("drvinfo_va")).unwrap();
        // The version field holds "1.0", NUL, then the tail of the kernel
        // release the kernel wrote first: only "1.0" is the version.
        assert_eq!(
            va,
            DrvInfo {
                driver: "veth".into(),
                version: "1.0".into(),
                fw_version: String::new(),
                bus_info: String::new(),
            }
        );
        let eth0 = parse_drvinfo(&recorded!("drvinfo_eth0")).unwrap();
        assert_eq!(eth0.driver, "virtio_net");
        assert_eq!(eth0.version, "1.0.0");
        assert_eq!(eth0.bus_info, "0000:00:03.0");
        let d = recorded!("drvinfo_eth0");
        for cut in 0..d.len() {
            assert!(parse_drvinfo(&d[..cut]).is_err());
        }
        // No NUL in a field: the whole field, lossily.
        let mut full = d.clone();
        full[4..36].fill(0xff);
        assert_eq!(parse_drvinfo(&full).unwrap().driver.chars().count(), 32);
    }

    #[test]
    fn rxnfc() {
        // ethtool -N va rx-flow-hash udp4 sd: SRXFH, UDP_V4_FLOW,
        // RXH_IP_SRC | RXH_IP_DST, the rest of the 192 bytes zero.
        assert_eq!(
            rxnfc_request(ETHTOOL_SRXFH, 2, 0x30).to_vec(),
            logged("2a000000020000003000000000000000", RXNFC_LEN)
        );
        // ethtool -n va rx-flow-hash tcp4: GRXFH, TCP_V4_FLOW.
        assert_eq!(
            rxnfc_request(ETHTOOL_GRXFH, 1, 0).to_vec(),
            logged("2900000001000000", RXNFC_LEN)
        );
        assert_eq!(
            rxnfc_request(ETHTOOL_GRXRINGS, 0, 0).to_vec(),
            logged("2d000000", RXNFC_LEN)
        );
        assert_eq!(parse_rxnfc_data(&recorded!("grxrings_eth0")).unwrap(), 1);
        assert_eq!(parse_rxnfc_data(&recorded!("grxfh_tcp4_eth0")).unwrap(), 0);
        let d = recorded!("grxrings_eth0");
        for cut in 0..d.len() {
            assert!(parse_rxnfc_data(&d[..cut]).is_err());
        }
    }

    #[test]
    fn rxfh_gets() {
        assert_eq!(rxfh_get_request(0, 0), logged("46000000", RXFH_LEN));
        // ethtool -x with a 128-entry table and a 40-byte key.
        assert_eq!(
            rxfh_get_request(128, 40),
            logged("46000000000000008000000028000000", RXFH_LEN + 512 + 40)
        );
        // virtio_net without RSS: no table, no key, Toeplitz.
        let d = recorded!("grssh_sizes_eth0");
        assert_eq!(parse_rxfh_sizes(&d).unwrap(), (0, 0));
        let got = parse_rxfh(&d, 0, 0).unwrap();
        assert_eq!((got.hfunc, got.input_xfrm), (1, 0));
        assert!(got.indir.is_empty() && got.key.is_empty());
        // A full answer laid out per the uapi (no device here has RSS):
        // table then key.
        let mut b = rxfh_get_request(4, 3);
        b[RXFH_HFUNC] = 1;
        b[RXFH_INPUT_XFRM] = 1;
        for (i, q) in [0u32, 1, 0, 1].iter().enumerate() {
            b[RXFH_LEN + 4 * i..RXFH_LEN + 4 * i + 4].copy_from_slice(&q.to_ne_bytes());
        }
        b[RXFH_LEN + 16..].copy_from_slice(&[7, 8, 9]);
        let got = parse_rxfh(&b, 4, 3).unwrap();
        assert_eq!(
            got,
            RxfhGot {
                hfunc: 1,
                input_xfrm: 1,
                indir: vec![0, 1, 0, 1],
                key: vec![7, 8, 9]
            }
        );
        for cut in 0..b.len() {
            assert!(parse_rxfh(&b[..cut], 4, 3).is_err());
            assert_eq!(parse_rxfh_sizes(&b[..cut]).is_ok(), cut >= RXFH_LEN);
        }
        // Sizes the kernel changed under us, and sizes beyond any NIC.
        assert!(parse_rxfh(&b, 2, 11).is_err());
        let mut huge = rxfh_get_request(0, 0);
        huge[RXFH_INDIR_SIZE..RXFH_INDIR_SIZE + 4].copy_from_slice(&(MAX_INDIR + 1).to_ne_bytes());
        assert!(parse_rxfh_sizes(&huge).is_err());
        let mut huge = rxfh_get_request(0, 0);
        huge[RXFH_KEY_SIZE..RXFH_KEY_SIZE + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse_rxfh_sizes(&huge).is_err());
    }

    #[test]
    fn rxfh_sets() {
        // ethtool 6.1 -X va hfunc toeplitz, and the same from wirelog: the
        // table kept (0xffffffff), no key, hfunc bit 0. The one difference
        // is byte 17: ethtool 6.1 predates input_xfrm and sends 0 there
        // (which 6.8+ reads as "clear the transform"); wirelog sends
        // RXH_XFRM_NO_CHANGE.
        let mut ethtool = logged("4700000000000000ffffffff000000000100000000000000", RXFH_LEN);
        let ours = rxfh_set_request(1, RXH_XFRM_NO_CHANGE, Indir::Keep, None);
        assert_eq!(ethtool[RXFH_INPUT_XFRM], 0);
        ethtool[RXFH_INPUT_XFRM] = RXH_XFRM_NO_CHANGE;
        assert_eq!(ours, ethtool);
        // The symmetric transform lands in byte 17 (uapi: cmd, rss_context,
        // indir_size, key_size are 4 words, then hfunc, then input_xfrm).
        let sym = rxfh_set_request(1, 1, Indir::Keep, None);
        assert_eq!(sym[16..20], [1, 1, 0, 0]);
        // ethtool -X va default: table size 0.
        let mut ethtool = logged("47", RXFH_LEN);
        ethtool[RXFH_INPUT_XFRM] = RXH_XFRM_NO_CHANGE;
        assert_eq!(
            rxfh_set_request(
                ETH_RSS_HASH_NO_CHANGE,
                RXH_XFRM_NO_CHANGE,
                Indir::Default,
                None
            ),
            ethtool
        );
        // A key after a table: ethtool -X va hkey … equal 4 laid out.
        let table = [0u32, 1, 2, 3];
        let key = [0xaa, 0xbb];
        let b = rxfh_set_request(0, 0, Indir::Table(&table), Some(&key));
        assert_eq!(b.len(), RXFH_LEN + 16 + 2);
        assert_eq!(u32_at(&b, RXFH_INDIR_SIZE), 4);
        assert_eq!(u32_at(&b, RXFH_KEY_SIZE), 2);
        assert_eq!(u32_at(&b, RXFH_LEN + 12), 3);
        assert_eq!(b[RXFH_LEN + 16..], key);
        // With the default table the key follows the header directly.
        let b = rxfh_set_request(0, 0, Indir::Default, Some(&key));
        assert_eq!(b[RXFH_LEN..], key);
    }
}
