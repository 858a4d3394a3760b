//! The kernel interfaces of `wirelog tune`: what `ethtool` reads and sets
//! on a NIC, spoken directly to the kernel (no `ethtool` binary), and the
//! XDP features a device reports.
//!
//! - Offloads, channels, rings, coalescing and pause go over the
//!   `ethtool` generic netlink family, as Debian's ethtool 6.1 sends them
//!   (the same requests byte for byte: `tests/ethtool_bytes.rs`).
//! - Driver facts, the RX ring count, RSS (hash function, input
//!   transform, indirection table, key) and the flow-hash fields go
//!   through `SIOCETHTOOL`, the only way on every kernel wirelog runs on.
//! - XDP features come from the `netdev` generic netlink family.
//!
//! Layout: `netlink.rs` builds and reads netlink messages, `netdev.rs` the
//! netdev family's, `ioctl.rs` the `SIOCETHTOOL` structs — all pure
//! functions over bytes, so tests compare requests without a device and
//! feed recorded kernel replies (and broken ones) to the parsers. `sys.rs`
//! holds the syscalls and the only unsafe code.
//!
//! Errors are `io::Error`s. A kernel refusal keeps its errno: with no
//! extack text, `raw_os_error()` is the errno; when the kernel explains
//! itself ("requested channel count exceeds maximum"), the error carries
//! the text and `raw_os_error()` is `None` (std keeps an errno only in
//! errors without a message), so test with [`errno`], which covers both.
//! `EOPNOTSUPP` means the driver does not implement the operation.

mod ioctl;
mod netdev;
mod netlink;
mod sys;

use std::cell::Cell;
use std::fmt;
use std::io;

pub use netdev::{
    XdpFeatures, NETDEV_XDP_ACT_BASIC, NETDEV_XDP_ACT_HW_OFFLOAD, NETDEV_XDP_ACT_NDO_XMIT,
    NETDEV_XDP_ACT_NDO_XMIT_SG, NETDEV_XDP_ACT_REDIRECT, NETDEV_XDP_ACT_RX_SG,
    NETDEV_XDP_ACT_XSK_ZEROCOPY, NETDEV_XDP_RX_METADATA_HASH, NETDEV_XDP_RX_METADATA_TIMESTAMP,
    NETDEV_XDP_RX_METADATA_VLAN_TAG,
};

/// Driver facts (`ETHTOOL_GDRVINFO`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrvInfo {
    /// Driver name ("veth", "mlx5_core", "ena").
    pub driver: String,
    /// Driver version.
    pub version: String,
    /// Firmware version, empty when there is none.
    pub fw_version: String,
    /// Bus address ("0000:00:05.0"), empty for virtual devices.
    pub bus_info: String,
}

/// One netdev feature (offload) of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// The kernel's name ("rx-gro", "tx-tcp-segmentation"), as `ethtool -k`
    /// prints and `set_features` takes.
    pub name: String,
    /// On now.
    pub active: bool,
    /// Asked for (it may be off while something it needs is off).
    pub wanted: bool,
    /// The driver lets it change (`ethtool -k` prints `[fixed]` otherwise).
    pub changeable: bool,
}

/// Queue counts and their maximums; 0 where the driver has no such kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channels {
    /// Most RX-only channels.
    pub rx_max: u32,
    /// Most TX-only channels.
    pub tx_max: u32,
    /// Most other (link interrupts, …) channels.
    pub other_max: u32,
    /// Most combined RX+TX channels.
    pub combined_max: u32,
    /// RX-only channels now.
    pub rx: u32,
    /// TX-only channels now.
    pub tx: u32,
    /// Other channels now.
    pub other: u32,
    /// Combined channels now.
    pub combined: u32,
}

/// Channel counts to set; `None` leaves a count as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelsSet {
    /// RX-only channels.
    pub rx: Option<u32>,
    /// TX-only channels.
    pub tx: Option<u32>,
    /// Other channels.
    pub other: Option<u32>,
    /// Combined channels.
    pub combined: Option<u32>,
}

/// Ring sizes (descriptors per queue) and their maximums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rings {
    /// Largest RX ring.
    pub rx_max: u32,
    /// Largest TX ring.
    pub tx_max: u32,
    /// RX ring now.
    pub rx: u32,
    /// TX ring now.
    pub tx: u32,
}

/// Interrupt coalescing. Read: the parameters the driver reports (the
/// ones it supports). Set: only the `Some` fields are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coalesce {
    /// Microseconds an RX interrupt is delayed.
    pub rx_usecs: Option<u32>,
    /// RX frames that raise an interrupt without waiting.
    pub rx_max_frames: Option<u32>,
    /// The driver adapts RX coalescing to the load.
    pub adaptive_rx: Option<bool>,
    /// Microseconds a TX completion interrupt is delayed.
    pub tx_usecs: Option<u32>,
    /// TX completions that raise an interrupt without waiting.
    pub tx_max_frames: Option<u32>,
    /// The driver adapts TX coalescing to the load.
    pub adaptive_tx: Option<bool>,
}

/// Ethernet flow control (pause frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// Negotiated with the link partner.
    pub autoneg: bool,
    /// Honour received pause frames.
    pub rx: bool,
    /// Send pause frames.
    pub tx: bool,
}

/// The RSS configuration of the main context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rss {
    /// RX rings RSS spreads over (`ETHTOOL_GRXRINGS`).
    pub rx_rings: u32,
    /// The active hash function: one `ETH_RSS_HASH_*` bit (see [`hfuncs`](Rss::hfuncs)).
    pub hfunc: u32,
    /// The hash functions the kernel names (`ETH_SS_RSS_HASH_FUNCS`:
    /// "toeplitz", "xor", "crc32"), each with its bit.
    pub hfuncs: Vec<(String, u32)>,
    /// The input transform, `RXH_XFRM_*` (0: none; kernels before 6.8 say 0).
    pub input_xfrm: u8,
    /// The hash key.
    pub key: Vec<u8>,
    /// The indirection table: entry i holds the RX ring of hash bucket i.
    pub indir: Vec<u32>,
}

/// RSS changes; `None` leaves a part as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RssSet {
    /// One `ETH_RSS_HASH_*` bit.
    pub hfunc: Option<u32>,
    /// `RXH_XFRM_*`; `Some(0)` clears the transform.
    pub input_xfrm: Option<u8>,
    /// A key of exactly the device's key size.
    pub key: Option<Vec<u8>>,
    /// A table of exactly the device's table size; `Some(vec![])` restores
    /// the driver's default spread.
    pub indir: Option<Vec<u32>>,
}

/// The flows whose hash fields `rx_hash` reads and `set_rx_hash` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowType {
    /// TCP over IPv4 (`TCP_V4_FLOW`).
    Tcp4,
    /// UDP over IPv4 (`UDP_V4_FLOW`).
    Udp4,
    /// TCP over IPv6 (`TCP_V6_FLOW`).
    Tcp6,
    /// UDP over IPv6 (`UDP_V6_FLOW`).
    Udp6,
}

impl FlowType {
    /// Every flow type, in ethtool's order.
    pub const ALL: [FlowType; 4] = [
        FlowType::Tcp4,
        FlowType::Udp4,
        FlowType::Tcp6,
        FlowType::Udp6,
    ];

    /// ethtool's name ("tcp4", …).
    pub fn name(self) -> &'static str {
        match self {
            FlowType::Tcp4 => "tcp4",
            FlowType::Udp4 => "udp4",
            FlowType::Tcp6 => "tcp6",
            FlowType::Udp6 => "udp6",
        }
    }

    /// The uapi flow type number.
    fn code(self) -> u32 {
        match self {
            FlowType::Tcp4 => 0x01,
            FlowType::Udp4 => 0x02,
            FlowType::Tcp6 => 0x05,
            FlowType::Udp6 => 0x06,
        }
    }
}

/// Hash on the layer-2 destination address (ethtool letter `m`).
pub const RXH_L2DA: u64 = 1 << 1;
/// Hash on the VLAN tag (`v`).
pub const RXH_VLAN: u64 = 1 << 2;
/// Hash on the layer-3 protocol (`t`).
pub const RXH_L3_PROTO: u64 = 1 << 3;
/// Hash on the IP source address (`s`).
pub const RXH_IP_SRC: u64 = 1 << 4;
/// Hash on the IP destination address (`d`).
pub const RXH_IP_DST: u64 = 1 << 5;
/// Hash on bytes 0–1 of the layer-4 header: the source port (`f`).
pub const RXH_L4_B_0_1: u64 = 1 << 6;
/// Hash on bytes 2–3 of the layer-4 header: the destination port (`n`).
pub const RXH_L4_B_2_3: u64 = 1 << 7;
/// Drop the flow type instead of hashing it (`r`).
pub const RXH_DISCARD: u64 = 1 << 31;

/// The symmetric transform: source and destination fields XORed before
/// hashing, so both directions of a flow hash alike (Linux 6.8).
pub const RXH_XFRM_SYM_XOR: u8 = 1;
/// Symmetric by XOR of one copy and OR of the other (Linux 6.12).
pub const RXH_XFRM_SYM_OR_XOR: u8 = 2;

/// `ETH_RSS_HASH_TOP`: Toeplitz, string 0 of `ETH_SS_RSS_HASH_FUNCS`.
pub const ETH_RSS_HASH_TOP: u32 = 1 << 0;
/// `ETH_RSS_HASH_XOR`, string 1.
pub const ETH_RSS_HASH_XOR: u32 = 1 << 1;
/// `ETH_RSS_HASH_CRC32`, string 2.
pub const ETH_RSS_HASH_CRC32: u32 = 1 << 2;

/// ethtool's letters for hash fields, in the order it prints them.
const RXH_LETTERS: [(char, u64); 8] = [
    ('m', RXH_L2DA),
    ('v', RXH_VLAN),
    ('t', RXH_L3_PROTO),
    ('s', RXH_IP_SRC),
    ('d', RXH_IP_DST),
    ('f', RXH_L4_B_0_1),
    ('n', RXH_L4_B_2_3),
    ('r', RXH_DISCARD),
];

/// The hash fields as ethtool's letters ("sdfn" for addresses and ports);
/// bits without a letter follow as `+0x…`.
pub fn rxh_letters(fields: u64) -> String {
    let mut s: String = RXH_LETTERS
        .iter()
        .filter(|&&(_, bit)| fields & bit != 0)
        .map(|&(c, _)| c)
        .collect();
    let known = RXH_LETTERS.iter().fold(0, |m, &(_, bit)| m | bit);
    if fields & !known != 0 {
        s.push_str(&format!("+{:#x}", fields & !known));
    }
    s
}

/// Hash fields from ethtool's letters, as `ethtool -N … rx-flow-hash`
/// takes them.
pub fn parse_rxh(letters: &str) -> Result<u64, String> {
    if letters.is_empty() {
        return Err("no hash fields given (letters from \"mvtsdfnr\")".into());
    }
    letters.chars().try_fold(0, |fields, c| {
        RXH_LETTERS
            .iter()
            .find(|&&(l, _)| l == c)
            .map(|&(_, bit)| fields | bit)
            .ok_or_else(|| format!("unknown hash field letter {c:?} (letters from \"mvtsdfnr\")"))
    })
}

/// The indirection table `ethtool -X … equal N` makes: entry i sends its
/// hash bucket to RX ring `i % queues`.
pub fn indir_equal(size: u32, queues: u32) -> Vec<u32> {
    (0..size).map(|i| i % queues.max(1)).collect()
}

/// The indirection table `ethtool -X … weight W0 W1 …` makes: rings take
/// shares of the table in proportion to their weights, in ring order —
/// entry i goes to the first ring j with i < size·(W0+…+Wj)/ΣW (integer
/// division). `None` when the weights sum to 0.
pub fn indir_weighted(size: u32, weights: &[u32]) -> Option<Vec<u32>> {
    let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if sum == 0 {
        return None;
    }
    let mut table = Vec::with_capacity(size as usize);
    let (mut ring, mut upto) = (0usize, 0u64);
    let mut cum = 0u64;
    for i in 0..u64::from(size) {
        while i >= upto {
            cum += u64::from(weights[ring]);
            upto = u64::from(size) * cum / sum;
            ring += 1;
        }
        table.push(ring as u32 - 1);
    }
    Some(table)
}

/// An error with words: the kernel's extack text, or wirelog's account of
/// what the driver refused, with the errno when there is one. It travels
/// inside an `io::Error`; [`errno`] reads the errno back.
#[derive(Debug)]
pub struct Error {
    /// The errno, when the failure has one.
    pub errno: Option<i32>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(e) => write!(f, "{}: {}", self.message, io::Error::from_raw_os_error(e)),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A kernel refusal: the plain errno, or the errno with its text.
    pub(crate) fn kernel(errno: i32, message: Option<String>) -> io::Error {
        match message {
            Some(m) if !m.is_empty() => Error::with_errno(errno, m),
            _ => io::Error::from_raw_os_error(errno),
        }
    }

    fn with_errno(errno: i32, message: String) -> io::Error {
        io::Error::new(
            io::Error::from_raw_os_error(errno).kind(),
            Error {
                errno: Some(errno),
                message,
            },
        )
    }
}

/// The errno of an error from this module, whether or not it carries the
/// kernel's text.
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
            .and_then(|err| err.errno)
    })
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A handle on the kernel's ethtool and netdev interfaces, for the network
/// namespace of the thread that opened it. Not `Sync`: requests on its
/// netlink socket are matched to answers by sequence number, one at a time.
pub struct Ethtool {
    nl: sys::NlSocket,
    inet: sys::InetSocket,
    /// Family id of "ethtool" (Linux 5.6), `None` when the kernel lacks it.
    ethtool_family: Option<u16>,
    /// Family id of "netdev" (Linux 6.3), `None` when the kernel lacks it.
    netdev_family: Option<u16>,
    seq: Cell<u32>,
}

impl Ethtool {
    /// Opens the sockets and resolves the families once through nlctrl.
    pub fn open() -> io::Result<Ethtool> {
        let mut e = Ethtool {
            nl: sys::NlSocket::open()?,
            inet: sys::InetSocket::open()?,
            ethtool_family: None,
            netdev_family: None,
            seq: Cell::new(0),
        };
        e.ethtool_family = e.resolve("ethtool")?;
        e.netdev_family = e.resolve("netdev")?;
        Ok(e)
    }

    fn resolve(&self, name: &str) -> io::Result<Option<u16>> {
        match self.transact(netlink::GENL_ID_CTRL, |seq| {
            netlink::getfamily_request(seq, name)
        }) {
            Ok(answer) => match answer.as_slice() {
                [reply] => netlink::parse_family_id(reply).map(Some),
                _ => Err(netlink::malformed("not exactly one nlctrl reply")),
            },
            Err(e) if errno(&e) == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one request built for the next sequence number and collects
    /// the kernel's data messages until its ack.
    fn transact(
        &self,
        family: u16,
        build: impl FnOnce(u32) -> Vec<u8>,
    ) -> io::Result<Vec<Vec<u8>>> {
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        self.nl.send(&build(seq))?;
        let mut answer = netlink::Answer::default();
        let mut buf = Vec::new();
        while !answer.done {
            self.nl.recv(&mut buf).map_err(|e| {
                if e.kind() == io::ErrorKind::WouldBlock {
                    io::Error::new(io::ErrorKind::TimedOut, "no answer from the kernel")
                } else {
                    e
                }
            })?;
            netlink::read_datagram(&buf, family, seq, &mut answer)?;
        }
        Ok(answer.replies)
    }

    fn ethtool_family(&self) -> io::Result<u16> {
        self.ethtool_family.ok_or_else(|| {
            Error::with_errno(
                libc::EOPNOTSUPP,
                "this kernel has no ethtool netlink family (Linux 5.6 has it)".into(),
            )
        })
    }

    /// An ethtool netlink request on `ifname`.
    fn ethtool_nl(
        &self,
        ifname: &str,
        build: impl FnOnce(u16, u32) -> Vec<u8>,
    ) -> io::Result<Vec<Vec<u8>>> {
        sys::check_ifname(ifname)?;
        let family = self.ethtool_family()?;
        self.transact(family, |seq| build(family, seq))
    }

    fn strset(&self, set: u32) -> io::Result<Vec<String>> {
        let family = self.ethtool_family()?;
        let answer = self.transact(family, |seq| netlink::strset_request(family, seq, set))?;
        netlink::parse_strset(&answer, set)
    }

    /// The ifindex of `ifname` (for [`xdp_features`](Ethtool::xdp_features)).
    pub fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        self.inet.ifindex(ifname)
    }

    /// Driver name, version, firmware and bus address (`ETHTOOL_GDRVINFO`).
    pub fn drvinfo(&self, ifname: &str) -> io::Result<DrvInfo> {
        let mut buf = ioctl::drvinfo_request();
        self.inet.ethtool(ifname, &mut buf)?;
        ioctl::parse_drvinfo(&buf)
    }

    /// Every netdev feature the kernel names, with its state on `ifname`.
    pub fn features(&self, ifname: &str) -> io::Result<Vec<Feature>> {
        let names = self.strset(netlink::ETH_SS_FEATURES)?;
        self.features_named(ifname, &names)
    }

    fn features_named(&self, ifname: &str, names: &[String]) -> io::Result<Vec<Feature>> {
        let answer = self.ethtool_nl(ifname, |f, seq| netlink::features_request(f, seq, ifname))?;
        netlink::parse_features(&answer, names)
    }

    /// Turns features on or off by the kernel's names ("rx-gro", not
    /// ethtool's shorthand "gro"), then reads them back: a feature
    /// the kernel did not leave as asked (fixed, or held by another) fails
    /// the call with every such feature named (`EOPNOTSUPP` when all of
    /// them are fixed). An unknown name fails before any change is sent.
    pub fn set_features(&self, ifname: &str, want: &[(&str, bool)]) -> io::Result<()> {
        sys::check_ifname(ifname)?;
        let names = self.strset(netlink::ETH_SS_FEATURES)?;
        for &(name, _) in want {
            if !names.iter().any(|n| n == name) {
                return Err(invalid(format!(
                    "{ifname}: the kernel has no feature named {name:?}"
                )));
            }
        }
        if want.is_empty() {
            return Ok(());
        }
        // The SET_REPLY that comes back says which bits differ from the
        // request; the GET below says the same from the device's state,
        // which is what counts.
        self.ethtool_nl(ifname, |f, seq| {
            netlink::features_set_request(f, seq, ifname, want)
        })?;
        let now = self.features_named(ifname, &names)?;
        let mut refused = Vec::new();
        let mut all_fixed = true;
        for &(name, on) in want {
            if let Some(f) = now.iter().find(|f| f.name == name) {
                if f.active != on {
                    all_fixed &= !f.changeable;
                    refused.push(format!(
                        "{name} (asked {}, is {}{})",
                        on_off(on),
                        on_off(f.active),
                        if f.changeable { "" } else { ", fixed" }
                    ));
                }
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        let message = format!("{ifname}: the driver refused {}", refused.join(", "));
        Err(if all_fixed {
            Error::with_errno(libc::EOPNOTSUPP, message)
        } else {
            io::Error::other(Error {
                errno: None,
                message,
            })
        })
    }

    /// Channel (queue) counts and maximums.
    pub fn channels(&self, ifname: &str) -> io::Result<Channels> {
        let answer = self.ethtool_nl(ifname, |f, seq| netlink::channels_request(f, seq, ifname))?;
        netlink::parse_channels(&answer)
    }

    /// Sets the given channel counts (nothing is sent when none is given).
    pub fn set_channels(&self, ifname: &str, c: &ChannelsSet) -> io::Result<()> {
        if *c == ChannelsSet::default() {
            return sys::check_ifname(ifname);
        }
        self.ethtool_nl(ifname, |f, seq| {
            netlink::channels_set_request(f, seq, ifname, c)
        })
        .map(drop)
    }

    /// Ring sizes and maximums.
    pub fn rings(&self, ifname: &str) -> io::Result<Rings> {
        let answer = self.ethtool_nl(ifname, |f, seq| netlink::rings_request(f, seq, ifname))?;
        netlink::parse_rings(&answer)
    }

    /// Sets the given ring sizes (nothing is sent when none is given).
    pub fn set_rings(&self, ifname: &str, rx: Option<u32>, tx: Option<u32>) -> io::Result<()> {
        if rx.is_none() && tx.is_none() {
            return sys::check_ifname(ifname);
        }
        self.ethtool_nl(ifname, |f, seq| {
            netlink::rings_set_request(f, seq, ifname, rx, tx)
        })
        .map(drop)
    }

    /// Interrupt coalescing, the parameters the driver reports.
    pub fn coalesce(&self, ifname: &str) -> io::Result<Coalesce> {
        let answer = self.ethtool_nl(ifname, |f, seq| netlink::coalesce_request(f, seq, ifname))?;
        netlink::parse_coalesce(&answer)
    }

    /// Sets the `Some` coalescing fields (nothing is sent when none is).
    pub fn set_coalesce(&self, ifname: &str, c: &Coalesce) -> io::Result<()> {
        if *c == Coalesce::default() {
            return sys::check_ifname(ifname);
        }
        self.ethtool_nl(ifname, |f, seq| {
            netlink::coalesce_set_request(f, seq, ifname, c)
        })
        .map(drop)
    }

    /// Flow control.
    pub fn pause(&self, ifname: &str) -> io::Result<Pause> {
        let answer = self.ethtool_nl(ifname, |f, seq| netlink::pause_request(f, seq, ifname))?;
        netlink::parse_pause(&answer)
    }

    /// Sets flow control: autonegotiation, RX and TX, all three.
    pub fn set_pause(&self, ifname: &str, p: &Pause) -> io::Result<()> {
        self.ethtool_nl(ifname, |f, seq| {
            netlink::pause_set_request(f, seq, ifname, p)
        })
        .map(drop)
    }

    fn rx_rings(&self, ifname: &str) -> io::Result<u32> {
        let mut buf = ioctl::rxnfc_request(ioctl::ETHTOOL_GRXRINGS, 0, 0);
        self.inet.ethtool(ifname, &mut buf)?;
        u32::try_from(ioctl::parse_rxnfc_data(&buf)?)
            .map_err(|_| netlink::malformed("RX ring count beyond u32"))
    }

    fn rss_sizes(&self, ifname: &str) -> io::Result<(u32, u32)> {
        let mut buf = ioctl::rxfh_get_request(0, 0);
        self.inet.ethtool(ifname, &mut buf)?;
        ioctl::parse_rxfh_sizes(&buf)
    }

    /// The RSS configuration: `ETHTOOL_GRXRINGS`, then `ETHTOOL_GRSSH` for
    /// the sizes and again for the contents (as `ethtool -x` asks), and the
    /// hash function names over netlink.
    pub fn rss(&self, ifname: &str) -> io::Result<Rss> {
        let rx_rings = self.rx_rings(ifname)?;
        let (indir_size, key_size) = self.rss_sizes(ifname)?;
        let mut buf = ioctl::rxfh_get_request(indir_size, key_size);
        self.inet.ethtool(ifname, &mut buf)?;
        let got = ioctl::parse_rxfh(&buf, indir_size, key_size)?;
        let hfuncs = self
            .strset(netlink::ETH_SS_RSS_HASH_FUNCS)?
            .into_iter()
            .zip(0..u32::BITS)
            .map(|(name, bit)| (name, 1u32 << bit))
            .collect();
        Ok(Rss {
            rx_rings,
            hfunc: got.hfunc.into(),
            hfuncs,
            input_xfrm: got.input_xfrm,
            key: got.key,
            indir: got.indir,
        })
    }

    /// Changes RSS (`ETHTOOL_SRSSH`) after checking the key and table
    /// against the device's sizes and RX rings, which it reads first as
    /// `ethtool -X` does. Nothing is sent when nothing is asked. The input
    /// transform needs Linux 6.8: a part not asked for is sent as "no
    /// change", which kernels before 6.8 refuse (EINVAL).
    pub fn set_rss(&self, ifname: &str, r: &RssSet) -> io::Result<()> {
        if *r == RssSet::default() {
            return sys::check_ifname(ifname);
        }
        let rings = self.rx_rings(ifname)?;
        let (indir_size, key_size) = self.rss_sizes(ifname)?;
        if let Some(key) = &r.key {
            if key.len() != key_size as usize {
                return Err(invalid(format!(
                    "{ifname}: the RSS key is {key_size} bytes, {} given",
                    key.len()
                )));
            }
        }
        let indir = match &r.indir {
            None => ioctl::Indir::Keep,
            Some(t) if t.is_empty() => ioctl::Indir::Default,
            Some(t) => {
                if t.len() != indir_size as usize {
                    return Err(invalid(format!(
                        "{ifname}: the indirection table has {indir_size} entries, {} given",
                        t.len()
                    )));
                }
                if let Some((i, q)) = t.iter().enumerate().find(|&(_, &q)| q >= rings) {
                    return Err(invalid(format!(
                        "{ifname}: indirection entry {i} names RX ring {q}, there are {rings}"
                    )));
                }
                ioctl::Indir::Table(t)
            }
        };
        let hfunc = match r.hfunc {
            None => ioctl::ETH_RSS_HASH_NO_CHANGE,
            Some(h) => u8::try_from(h)
                .map_err(|_| invalid(format!("{ifname}: no RSS hash function has bit {h:#x}")))?,
        };
        let xfrm = r.input_xfrm.unwrap_or(ioctl::RXH_XFRM_NO_CHANGE);
        let mut buf = ioctl::rxfh_set_request(hfunc, xfrm, indir, r.key.as_deref());
        self.inet.ethtool(ifname, &mut buf)
    }

    /// The header fields `f` flows are hashed on (`RXH_*` bits).
    pub fn rx_hash(&self, ifname: &str, f: FlowType) -> io::Result<u64> {
        let mut buf = ioctl::rxnfc_request(ioctl::ETHTOOL_GRXFH, f.code(), 0);
        self.inet.ethtool(ifname, &mut buf)?;
        ioctl::parse_rxnfc_data(&buf)
    }

    /// Sets the header fields `f` flows are hashed on.
    pub fn set_rx_hash(&self, ifname: &str, f: FlowType, fields: u64) -> io::Result<()> {
        let mut buf = ioctl::rxnfc_request(ioctl::ETHTOOL_SRXFH, f.code(), fields);
        self.inet.ethtool(ifname, &mut buf)
    }

    /// What XDP the device `ifindex` offers (netdev `DEV_GET`, Linux 6.3).
    pub fn xdp_features(&self, ifindex: u32) -> io::Result<XdpFeatures> {
        let family = self.netdev_family.ok_or_else(|| {
            Error::with_errno(
                libc::EOPNOTSUPP,
                "this kernel has no netdev netlink family (Linux 6.3 has it)".into(),
            )
        })?;
        let answer = self.transact(family, |seq| netdev::dev_get_request(family, seq, ifindex))?;
        netdev::parse_dev(&answer, ifindex)
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Recorded kernel answers (`testdata/*.hex`) for the parsers' tests.
#[cfg(test)]
pub(crate) mod testdata {
    /// The bytes of a `.hex` file: `#` lines are comments, the rest hex
    /// pairs separated by blanks.
    pub(crate) fn hex(text: &str) -> Vec<u8> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split_whitespace())
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    macro_rules! recorded {
        ($name:literal) => {
            $crate::ethtool::testdata::hex(include_str!(concat!("testdata/", $name, ".hex")))
        };
    }
    pub(crate) use recorded;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_field_letters_round_trip() {
        assert_eq!(rxh_letters(RXH_IP_SRC | RXH_IP_DST), "sd");
        assert_eq!(
            rxh_letters(RXH_IP_SRC | RXH_IP_DST | RXH_L4_B_0_1 | RXH_L4_B_2_3),
            "sdfn"
        );
        assert_eq!(rxh_letters(0), "");
        assert_eq!(rxh_letters(RXH_IP_SRC | 1 << 8), "s+0x100");
        for letters in ["sd", "sdfn", "mvtsdfn", "r"] {
            assert_eq!(rxh_letters(parse_rxh(letters).unwrap()), letters);
        }
        // Order does not matter to ethtool, nor here.
        assert_eq!(parse_rxh("nfds"), parse_rxh("sdfn"));
        assert!(parse_rxh("").is_err());
        let e = parse_rxh("sdx").unwrap_err();
        assert!(e.contains("'x'"), "{e}");
    }

    #[test]
    fn flow_types() {
        let names: Vec<_> = FlowType::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["tcp4", "udp4", "tcp6", "udp6"]);
        // TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW, UDP_V6_FLOW of the uapi.
        let codes: Vec<_> = FlowType::ALL.iter().map(|f| f.code()).collect();
        assert_eq!(codes, [1, 2, 5, 6]);
    }

    #[test]
    fn indirection_tables() {
        assert_eq!(indir_equal(8, 3), [0, 1, 2, 0, 1, 2, 0, 1]);
        assert_eq!(indir_equal(4, 0), [0, 0, 0, 0]);
        // Weights 1 2 1 0 over 8 entries: bounds at 8·1/4 = 2, 8·3/4 = 6,
        // 8·4/4 = 8; ring 3 gets nothing.
        assert_eq!(
            indir_weighted(8, &[1, 2, 1, 0]).unwrap(),
            [0, 0, 1, 1, 1, 1, 2, 2]
        );
        // A zero weight first is skipped.
        assert_eq!(indir_weighted(4, &[0, 1, 1]).unwrap(), [1, 1, 2, 2]);
        assert_eq!(indir_weighted(4, &[0, 0]), None);
        assert_eq!(indir_weighted(0, &[1]).unwrap(), Vec::<u32>::new());
        let t = indir_weighted(128, &[3, 1]).unwrap();
        assert_eq!(t.iter().filter(|&&q| q == 0).count(), 96);
    }

    #[test]
    fn errors_keep_their_errno() {
        let plain = Error::kernel(libc::EOPNOTSUPP, None);
        assert_eq!(plain.raw_os_error(), Some(libc::EOPNOTSUPP));
        assert_eq!(errno(&plain), Some(libc::EOPNOTSUPP));
        let worded = Error::kernel(
            libc::EINVAL,
            Some("requested channel count exceeds maximum".into()),
        );
        assert_eq!(worded.raw_os_error(), None);
        assert_eq!(errno(&worded), Some(libc::EINVAL));
        assert_eq!(worded.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            worded.to_string(),
            "requested channel count exceeds maximum: Invalid argument (os error 22)"
        );
        // An empty extack text is no text.
        assert_eq!(
            Error::kernel(libc::EBUSY, Some(String::new())).raw_os_error(),
            Some(libc::EBUSY)
        );
        assert_eq!(errno(&io::Error::other("x")), None);
    }
}
