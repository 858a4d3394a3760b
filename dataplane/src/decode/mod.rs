//! Lax L2–L4 decoding for a passive sensor.
//!
//! [`Decoder::decode`] turns one captured frame into a [`Decoded`]: the
//! innermost IP packet's addresses, protocol and ports (ICMP type and code
//! stand in for ports), the TCP fields the tracker needs, where the L4
//! payload is, and what it was wrapped in (VLAN tags, the innermost tunnel
//! and its id, MACs of the innermost Ethernet header).
//!
//! Layers: Ethernet, Linux cooked v1/v2, BSD null/loop, raw IP, PPP, Cisco
//! HDLC, NFLOG; 802.1Q and QinQ, MPLS, PPPoE; IPv4 and IPv6 with extension
//! headers (through etherparse's lax slices); TCP, UDP, ICMP, ICMPv6; and
//! the tunnels a mirror feed or a monitored network uses: VXLAN, VXLAN-GPE,
//! Geneve, GTP-U, GRE (with keys, PPTP's enhanced GRE and PPP), ERSPAN
//! types I, II and III, GRE over UDP, IP-in-IP. Fragments go to the bounded
//! [`frag::FragTable`]. A link type or tunnel payload not decoded is
//! counted, kept in [`DecodeStats`] and named once on stderr.
//!
//! Byte counts come from the IP header's length, not from the capture
//! length, so a snaplen-truncated capture still counts what was on the wire.
//! What cannot be decoded is a [`Outcome::Malformed`] naming the reason;
//! a protocol number nobody here parses is a value, not an error.

pub mod checksum;
pub mod frag;
pub mod synth;
mod tunnel;

use etherparse::LaxIpSlice;

use crate::capture::LinkType;
use frag::{FragKey, FragResult, FragSource, FragTable, Fragment};

/// No VLAN tag.
pub const NO_VLAN: u16 = 0xffff;
/// Deepest tunnel nesting decoded; deeper packets are malformed.
pub const MAX_TUNNEL_DEPTH: u8 = 4;

/// IP protocol numbers used here.
pub mod ipproto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulation.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulation.
    pub const IPV6: u8 = 41;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// TCP flag bits as in the header's 13th byte.
pub mod tcpflag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// The tunnel directly around the tracked packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum TunnelKind {
    /// Not tunnelled.
    #[default]
    None = 0,
    /// VXLAN (id: VNI).
    Vxlan,
    /// Geneve (id: VNI).
    Geneve,
    /// GRE (id: key, when present).
    Gre,
    /// ERSPAN type I (no header; id 0).
    ErspanI,
    /// ERSPAN type II (id: session).
    ErspanII,
    /// ERSPAN type III (id: session).
    ErspanIII,
    /// IPv4 or IPv6 in IP.
    IpInIp,
    /// GTP-U, a mobile core's user plane (id: TEID).
    GtpU,
    /// VXLAN-GPE (id: VNI).
    VxlanGpe,
}

impl TunnelKind {
    /// Name used in records.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::None => "none",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Gre => "gre",
            TunnelKind::ErspanI => "erspan1",
            TunnelKind::ErspanII => "erspan2",
            TunnelKind::ErspanIII => "erspan3",
            TunnelKind::IpInIp => "ipip",
            TunnelKind::GtpU => "gtpu",
            TunnelKind::VxlanGpe => "vxlan-gpe",
        }
    }

    /// The kind stored as `n` ([`TunnelKind`] `as u8`).
    pub fn from_u8(n: u8) -> Self {
        const ALL: [TunnelKind; 10] = [
            TunnelKind::None,
            TunnelKind::Vxlan,
            TunnelKind::Geneve,
            TunnelKind::Gre,
            TunnelKind::ErspanI,
            TunnelKind::ErspanII,
            TunnelKind::ErspanIII,
            TunnelKind::IpInIp,
            TunnelKind::GtpU,
            TunnelKind::VxlanGpe,
        ];
        ALL.get(usize::from(n)).copied().unwrap_or_default()
    }
}

/// Which buffer holds a payload: the frame, or a reassembled datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PayloadBuf {
    /// The captured frame.
    #[default]
    Frame,
    /// A datagram completed in this fragment-table slot.
    Frag(u16),
}

/// Where the captured L4 payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PayloadRef {
    /// Buffer holding it.
    pub buf: PayloadBuf,
    /// Offset in that buffer.
    pub off: u32,
    /// Captured bytes (≤ the payload the IP length announces).
    pub len: u32,
}

/// One decoded packet. Plain data: copyable into a steering ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Source address (IPv4 in the first four bytes, rest zero).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// IPv6 addresses.
    pub v6: bool,
    /// IP protocol of the innermost packet.
    pub proto: u8,
    /// Source port; ICMP type.
    pub sport: u16,
    /// Destination port; ICMP code.
    pub dport: u16,
    /// The innermost IP packet's length per its header (reassembled size
    /// for fragmented datagrams).
    pub ip_len: u32,
    /// L4 payload length per the IP header.
    pub payload_wire: u32,
    /// Captured L4 payload.
    pub payload: PayloadRef,
    /// TCP flags.
    pub tcp_flags: u8,
    /// TCP window-scale option (shift), if the segment carries it.
    pub tcp_wscale: Option<u8>,
    /// TCP sequence number.
    pub seq: u32,
    /// TCP acknowledgment number.
    pub ack: u32,
    /// TCP window (unscaled).
    pub win: u16,
    /// Outer VLAN id, [`NO_VLAN`] if untagged.
    pub vlan: u16,
    /// Inner (QinQ) VLAN id, [`NO_VLAN`] if none.
    pub inner_vlan: u16,
    /// Source MAC of the innermost Ethernet header.
    pub src_mac: [u8; 6],
    /// Destination MAC of the innermost Ethernet header.
    pub dst_mac: [u8; 6],
    /// MACs were present.
    pub has_mac: bool,
    /// Innermost tunnel.
    pub tunnel: TunnelKind,
    /// Its id (VNI, GRE key, ERSPAN session).
    pub tunnel_id: u32,
    /// Reassembled from fragments.
    pub reassembled: bool,
}

impl Decoded {
    /// An empty packet, for preallocated arrays.
    pub const EMPTY: Decoded = Decoded {
        ts_ns: 0,
        src: [0; 16],
        dst: [0; 16],
        v6: false,
        proto: 0,
        sport: 0,
        dport: 0,
        ip_len: 0,
        payload_wire: 0,
        payload: PayloadRef {
            buf: PayloadBuf::Frame,
            off: 0,
            len: 0,
        },
        tcp_flags: 0,
        tcp_wscale: None,
        seq: 0,
        ack: 0,
        win: 0,
        vlan: NO_VLAN,
        inner_vlan: NO_VLAN,
        src_mac: [0; 6],
        dst_mac: [0; 6],
        has_mac: false,
        tunnel: TunnelKind::None,
        tunnel_id: 0,
        reassembled: false,
    };

    /// Source address as a std type.
    pub fn src_addr(&self) -> std::net::IpAddr {
        addr(&self.src, self.v6)
    }
    /// Destination address as a std type.
    pub fn dst_addr(&self) -> std::net::IpAddr {
        addr(&self.dst, self.v6)
    }
}

impl Default for Decoded {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// An address held in 16 bytes as a std type.
pub fn addr(a: &[u8; 16], v6: bool) -> std::net::IpAddr {
    if v6 {
        std::net::IpAddr::V6((*a).into())
    } else {
        std::net::IpAddr::V4([a[0], a[1], a[2], a[3]].into())
    }
}

/// Why a frame was not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Malformed {
    /// Shorter than its link-layer header.
    LinkTruncated,
    /// A link type this decoder does not read.
    LinkUnsupported,
    /// VLAN/MPLS/PPPoE header cut short.
    TagTruncated,
    /// IP header cut short.
    IpTruncated,
    /// IP header length or version impossible.
    IpInvalid,
    /// IPv6 extension header chain cut short or invalid.
    Ipv6ExtInvalid,
    /// TCP header cut short or its data offset impossible.
    TcpTruncated,
    /// UDP header cut short.
    UdpTruncated,
    /// ICMP header cut short.
    IcmpTruncated,
    /// SCTP common header cut short.
    SctpTruncated,
    /// Tunnel header cut short or invalid.
    TunnelInvalid,
    /// Tunnels nested deeper than [`MAX_TUNNEL_DEPTH`].
    TunnelTooDeep,
    /// Tunnel payload of a kind not decoded (e.g. GRE with 802.11 frames).
    TunnelUnsupported,
    /// Fragment impossible (past 64 KiB or the datagram's end).
    FragmentInvalid,
    /// Fragment dropped: no reassembly slot free.
    FragmentNoSlot,
}

impl Malformed {
    /// Number of reasons.
    pub const COUNT: usize = 15;
    /// Every reason, in counter order.
    pub const ALL: [Malformed; Self::COUNT] = [
        Malformed::LinkTruncated,
        Malformed::LinkUnsupported,
        Malformed::TagTruncated,
        Malformed::IpTruncated,
        Malformed::IpInvalid,
        Malformed::Ipv6ExtInvalid,
        Malformed::TcpTruncated,
        Malformed::UdpTruncated,
        Malformed::IcmpTruncated,
        Malformed::SctpTruncated,
        Malformed::TunnelInvalid,
        Malformed::TunnelTooDeep,
        Malformed::TunnelUnsupported,
        Malformed::FragmentInvalid,
        Malformed::FragmentNoSlot,
    ];
    /// Counter name.
    pub fn name(self) -> &'static str {
        match self {
            Malformed::LinkTruncated => "link_truncated",
            Malformed::LinkUnsupported => "link_unsupported",
            Malformed::TagTruncated => "tag_truncated",
            Malformed::IpTruncated => "ip_truncated",
            Malformed::IpInvalid => "ip_invalid",
            Malformed::Ipv6ExtInvalid => "ipv6_ext_invalid",
            Malformed::TcpTruncated => "tcp_truncated",
            Malformed::UdpTruncated => "udp_truncated",
            Malformed::IcmpTruncated => "icmp_truncated",
            Malformed::SctpTruncated => "sctp_truncated",
            Malformed::TunnelInvalid => "tunnel_invalid",
            Malformed::TunnelTooDeep => "tunnel_too_deep",
            Malformed::TunnelUnsupported => "tunnel_unsupported",
            Malformed::FragmentInvalid => "fragment_invalid",
            Malformed::FragmentNoSlot => "fragment_no_slot",
        }
    }
}

/// What [`Decoder::decode`] made of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A packet to track.
    Packet,
    /// A fragment, held until its datagram completes.
    Fragment,
    /// Not IP (ARP, LLDP, STP ...): counted, not tracked.
    NonIp,
    /// Not decodable, for the reason given.
    Malformed(Malformed),
}

/// Counters of one decoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Packets decoded.
    pub packets: u64,
    /// Frames that were not IP.
    pub non_ip: u64,
    /// Frames per malformation reason ([`Malformed::ALL`] order).
    pub malformed: [u64; Malformed::COUNT],
    /// Outer tunnel packets also reported as flows.
    pub tunnel_outer: u64,
    /// The first link type met that is not decoded.
    pub unsupported_link: Option<u32>,
    /// The first tunnel payload met that is not decoded: the tunnel, and
    /// what it said it carries.
    pub unsupported_tunnel: Option<(TunnelKind, u16)>,
}

impl DecodeStats {
    /// Adds `o` into `self` (the first unsupported kinds kept).
    pub fn add(&mut self, o: &DecodeStats) {
        self.packets += o.packets;
        self.non_ip += o.non_ip;
        self.tunnel_outer += o.tunnel_outer;
        for (a, b) in self.malformed.iter_mut().zip(&o.malformed) {
            *a += b;
        }
        self.unsupported_link = self.unsupported_link.or(o.unsupported_link);
        self.unsupported_tunnel = self.unsupported_tunnel.or(o.unsupported_tunnel);
    }

    /// What was met and not decoded, in words (for summaries).
    pub fn unsupported_words(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(n) = self.unsupported_link {
            v.push(format!(
                "link type {n} ({}) is not decoded: its frames give no records",
                link_type_name(n)
            ));
        }
        if let Some((k, inner)) = self.unsupported_tunnel {
            v.push(format!(
                "{} carrying {} is not decoded: such packets give no records",
                k.name(),
                tunnel_inner_name(k, inner)
            ));
        }
        v
    }
}

static WARNED_LINK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static WARNED_TUNNEL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says `msg` on stderr once per process (the first frame of a kind that
/// is not decoded; the counters and the summary tell the rest).
fn warn_once(flag: &std::sync::atomic::AtomicBool, msg: &str) {
    if !flag.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!("wirelog: {msg}");
    }
}

/// Where the packet of an NFLOG frame is: a 4-byte header (family,
/// version, resource id), then TLVs of a little-endian length (header
/// included) and type, each padded to 4 bytes; type 9 (NFULA_PAYLOAD)
/// holds the packet. `None`: a frame without one.
fn nflog_payload(f: &[u8]) -> Result<Option<(usize, usize)>, Malformed> {
    if f.len() < 4 {
        return Err(Malformed::LinkTruncated);
    }
    let mut at = 4;
    while at + 4 <= f.len() {
        let len = usize::from(u16::from_le_bytes([f[at], f[at + 1]]));
        let ty = u16::from_le_bytes([f[at + 2], f[at + 3]]) & 0x7fff;
        if len < 4 || at + len > f.len() {
            return Err(Malformed::LinkTruncated);
        }
        if ty == 9 {
            return Ok(Some((at + 4, at + len)));
        }
        at += len.div_ceil(4) * 4;
    }
    Ok(None)
}

/// A pcap link type's name, for messages.
pub fn link_type_name(n: u32) -> &'static str {
    match n {
        6 => "IEEE 802.5 Token Ring",
        9 => "PPP",
        10 => "FDDI",
        50 => "PPP in HDLC framing",
        104 => "Cisco HDLC",
        105 => "IEEE 802.11",
        119 => "Prism 802.11",
        127 => "IEEE 802.11 with radiotap",
        143 => "DOCSIS",
        163 => "AVS 802.11",
        187 => "Bluetooth HCI",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        220 => "USB",
        239 => "Linux NFLOG",
        249 => "USB",
        _ => "unknown",
    }
}

/// What a tunnel carries, in words.
fn tunnel_inner_name(k: TunnelKind, inner: u16) -> String {
    match k {
        TunnelKind::GtpU => "a G-PDU whose payload is not IP".to_string(),
        TunnelKind::VxlanGpe => format!("next protocol {inner}"),
        TunnelKind::ErspanIII => format!("frame type {inner}"),
        _ => format!("protocol 0x{inner:04x}"),
    }
}

/// Decoder settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeConfig {
    /// UDP destination ports decoded as VXLAN.
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports decoded as Geneve.
    pub geneve_ports: Vec<u16>,
    /// UDP destination ports decoded as GRE over UDP (RFC 8086).
    pub gre_udp_ports: Vec<u16>,
    /// UDP destination ports decoded as GTP-U.
    pub gtpu_ports: Vec<u16>,
    /// UDP destination ports decoded as VXLAN-GPE.
    pub vxlan_gpe_ports: Vec<u16>,
    /// Also report the outer UDP packet of a UDP tunnel as its own flow
    /// (as Zeek does).
    pub outer_tunnel_flows: bool,
    /// Reassembly slots.
    pub frag_slots: usize,
    /// Largest reassembled datagram payload.
    pub frag_max_bytes: usize,
    /// Reassembly timeout.
    pub frag_timeout_ns: u64,
}

impl DecodeConfig {
    /// Every UDP port decapsulated (VXLAN, Geneve, GRE over UDP, GTP-U,
    /// VXLAN-GPE): what the XDP program leaves to user space.
    pub fn udp_tunnel_ports(&self) -> Vec<u16> {
        self.vxlan_ports
            .iter()
            .chain(&self.geneve_ports)
            .chain(&self.gre_udp_ports)
            .chain(&self.gtpu_ports)
            .chain(&self.vxlan_gpe_ports)
            .copied()
            .collect()
    }
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self {
            vxlan_ports: vec![4789],
            geneve_ports: vec![6081],
            gre_udp_ports: vec![4754],
            gtpu_ports: vec![2152],
            vxlan_gpe_ports: vec![4790],
            outer_tunnel_flows: false,
            frag_slots: 64,
            frag_max_bytes: 65535,
            frag_timeout_ns: 30_000_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    /// An EtherType-identified payload at the cursor.
    Ether(u16),
    /// An Ethernet header at the cursor.
    Eth,
    /// An IP header (v4 or v6 by its first nibble) at the cursor.
    Ip,
}

/// One decoding thread's state: counters and the reassembly table.
pub struct Decoder {
    cfg: DecodeConfig,
    frag: FragTable,
    /// Counters.
    pub stats: DecodeStats,
    outer: Vec<Decoded>,
}

impl Decoder {
    /// A decoder with its reassembly table allocated.
    pub fn new(cfg: DecodeConfig) -> std::io::Result<Self> {
        let frag = FragTable::new(cfg.frag_slots, cfg.frag_max_bytes, cfg.frag_timeout_ns)?;
        Ok(Self {
            cfg,
            frag,
            stats: DecodeStats::default(),
            outer: Vec::with_capacity(MAX_TUNNEL_DEPTH as usize),
        })
    }

    /// Reassembly counters.
    pub fn frag_stats(&self) -> frag::FragStats {
        self.frag.stats
    }

    /// The bytes of a payload reference (`frame` is the frame it was decoded from).
    pub fn payload<'a>(&'a self, frame: &'a [u8], p: &PayloadRef) -> &'a [u8] {
        match p.buf {
            PayloadBuf::Frame => frame
                .get(p.off as usize..(p.off + p.len) as usize)
                .unwrap_or(&[]),
            PayloadBuf::Frag(s) => {
                let d = self.frag.data(s, p.off + p.len);
                d.get(p.off as usize..).unwrap_or(&[])
            }
        }
    }

    /// Ends a batch: frees reassembled datagrams lent during it.
    pub fn end_batch(&mut self) {
        self.frag.release_held();
    }

    /// The outer packets of the UDP tunnels the last decoded frame came in
    /// (outermost first), when [`DecodeConfig::outer_tunnel_flows`] is on,
    /// whatever the inner packet's outcome. Valid until the next decode.
    pub fn outers(&self) -> &[Decoded] {
        &self.outer
    }

    /// Decodes one frame into `d`.
    pub fn decode(&mut self, frame: &[u8], link: LinkType, ts_ns: u64, d: &mut Decoded) -> Outcome {
        self.outer.clear();
        if link == LinkType::Ethernet && plain_tcp_frame(frame, ts_ns, d) {
            self.stats.packets += 1;
            return Outcome::Packet;
        }
        self.decode_layered(frame, link, ts_ns, d)
    }

    /// [`Decoder::decode`] without the shortcut: layer by layer.
    fn decode_layered(
        &mut self,
        frame: &[u8],
        link: LinkType,
        ts_ns: u64,
        d: &mut Decoded,
    ) -> Outcome {
        *d = Decoded::EMPTY;
        d.ts_ns = ts_ns;
        let r = self.decode_inner(frame, link, d);
        match r {
            Outcome::Packet => self.stats.packets += 1,
            Outcome::NonIp => self.stats.non_ip += 1,
            Outcome::Malformed(m) => self.stats.malformed[m as usize] += 1,
            Outcome::Fragment => {}
        }
        // The outer packet of a UDP tunnel stays valid (and reported) even
        // when what it carries cannot be decoded, as Zeek logs it too.
        r
    }

    fn decode_inner(&mut self, frame: &[u8], link: LinkType, d: &mut Decoded) -> Outcome {
        let mut buf = PayloadBuf::Frame;
        let mut off = 0usize;
        let mut end = frame.len();
        let mut depth = 0u8;
        let mut layer = match link {
            LinkType::Ethernet => Layer::Eth,
            LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => Layer::Ip,
            LinkType::Null | LinkType::Loop => {
                if frame.len() < 4 {
                    return Outcome::Malformed(Malformed::LinkTruncated);
                }
                off = 4;
                Layer::Ip
            }
            LinkType::Sll => {
                if frame.len() < 16 {
                    return Outcome::Malformed(Malformed::LinkTruncated);
                }
                if be16(frame, 4) == 6 {
                    d.src_mac.copy_from_slice(&frame[6..12]);
                }
                off = 16;
                Layer::Ether(be16(frame, 14))
            }
            LinkType::Sll2 => {
                if frame.len() < 20 {
                    return Outcome::Malformed(Malformed::LinkTruncated);
                }
                if frame[11] == 6 {
                    d.src_mac.copy_from_slice(&frame[12..18]);
                }
                off = 20;
                Layer::Ether(be16(frame, 0))
            }
            LinkType::Ppp => {
                // Address and control (ff 03) may be there; the protocol is
                // one byte when odd (compressed), else two.
                let p = if frame.starts_with(&[0xff, 0x03]) {
                    2
                } else {
                    0
                };
                let (proto, len) = match frame.get(p) {
                    Some(&x) if x & 1 == 1 => (u16::from(x), 1),
                    Some(_) if frame.len() >= p + 2 => (be16(frame, p), 2),
                    _ => return Outcome::Malformed(Malformed::LinkTruncated),
                };
                off = p + len;
                match proto {
                    0x21 | 0x57 => Layer::Ip,
                    _ => return Outcome::NonIp,
                }
            }
            LinkType::CHdlc => {
                if frame.len() < 4 {
                    return Outcome::Malformed(Malformed::LinkTruncated);
                }
                off = 4;
                Layer::Ether(be16(frame, 2))
            }
            LinkType::Nflog => match nflog_payload(frame) {
                Ok(Some((s, e))) => {
                    off = s;
                    end = e;
                    Layer::Ip
                }
                Ok(None) => return Outcome::NonIp,
                Err(m) => return Outcome::Malformed(m),
            },
            LinkType::Other(n) => {
                if self.stats.unsupported_link.is_none() {
                    self.stats.unsupported_link = Some(n);
                    warn_once(
                        &WARNED_LINK,
                        &format!(
                            "frames of link type {n} ({}) are not decoded: they are counted (malformed.{}) and give no records",
                            link_type_name(n),
                            Malformed::LinkUnsupported.name()
                        ),
                    );
                }
                return Outcome::Malformed(Malformed::LinkUnsupported);
            }
        };
        loop {
            let bytes: &[u8] = match buf {
                PayloadBuf::Frame => frame,
                PayloadBuf::Frag(s) => self.frag.data(s, end as u32),
            };
            match layer {
                Layer::Eth => {
                    if end - off < 14 {
                        return Outcome::Malformed(Malformed::LinkTruncated);
                    }
                    d.dst_mac.copy_from_slice(&bytes[off..off + 6]);
                    d.src_mac.copy_from_slice(&bytes[off + 6..off + 12]);
                    d.has_mac = true;
                    let et = be16(bytes, off + 12);
                    off += 14;
                    layer = Layer::Ether(et);
                }
                Layer::Ether(et) => match et {
                    0x0800 | 0x86dd => layer = Layer::Ip,
                    0x8100 | 0x88a8 | 0x9100 => {
                        if end - off < 4 {
                            return Outcome::Malformed(Malformed::TagTruncated);
                        }
                        let id = be16(bytes, off) & 0x0fff;
                        if d.vlan == NO_VLAN {
                            d.vlan = id;
                        } else if d.inner_vlan == NO_VLAN {
                            d.inner_vlan = id;
                        }
                        layer = Layer::Ether(be16(bytes, off + 2));
                        off += 4;
                    }
                    0x8847 | 0x8848 => {
                        // MPLS: pop labels to the bottom of the stack.
                        loop {
                            if end - off < 4 {
                                return Outcome::Malformed(Malformed::TagTruncated);
                            }
                            let bos = bytes[off + 2] & 1 != 0;
                            off += 4;
                            if bos {
                                break;
                            }
                        }
                        layer = Layer::Ip;
                    }
                    0x8864 => {
                        // PPPoE session: 6-byte header, then a PPP protocol.
                        if end - off < 8 {
                            return Outcome::Malformed(Malformed::TagTruncated);
                        }
                        let ppp = be16(bytes, off + 6);
                        off += 8;
                        match ppp {
                            0x0021 | 0x0057 => layer = Layer::Ip,
                            _ => return Outcome::NonIp,
                        }
                    }
                    0x6558 => layer = Layer::Eth,
                    // 802.3 with a length: IP only behind LLC/SNAP
                    // (AA AA 03, an OUI, then the EtherType).
                    0..=1500 => {
                        if end - off < 8 || bytes[off..off + 3] != [0xaa, 0xaa, 0x03] {
                            return Outcome::NonIp;
                        }
                        layer = Layer::Ether(be16(bytes, off + 6));
                        off += 8;
                    }
                    _ => return Outcome::NonIp,
                },
                Layer::Ip => {
                    let region = &bytes[off..end];
                    let ip = match parse_ip(region, d) {
                        Ok(ip) => ip,
                        Err(m) => return Outcome::Malformed(m),
                    };
                    if let Some(f) = ip.frag {
                        let key = FragKey {
                            src: d.src,
                            dst: d.dst,
                            id: f.id,
                            proto: d.proto,
                            v6: d.v6,
                        };
                        let l4_len = ip.l4_end - ip.l4_start;
                        let ts = d.ts_ns;
                        let frag = Fragment {
                            key,
                            offset: f.offset,
                            more: f.more,
                            hdr_len: ip.l4_start as u32,
                        };
                        let src = match buf {
                            PayloadBuf::Frame => {
                                FragSource::Bytes(&frame[off + ip.l4_start..off + ip.l4_end])
                            }
                            PayloadBuf::Frag(s) => FragSource::Slot {
                                slot: s,
                                off: off + ip.l4_start,
                                len: l4_len,
                            },
                        };
                        let r = self.frag.insert(&frag, src, ts);
                        match r {
                            FragResult::Held => return Outcome::Fragment,
                            FragResult::Bad => {
                                return Outcome::Malformed(Malformed::FragmentInvalid)
                            }
                            FragResult::Busy => {
                                return Outcome::Malformed(Malformed::FragmentNoSlot)
                            }
                            FragResult::Complete { slot, len, hdr_len } => {
                                buf = PayloadBuf::Frag(slot);
                                off = 0;
                                end = len as usize;
                                // The reassembled packet: its first fragment's
                                // header (less IPv6's fragment header) and all data.
                                let hdr = if d.v6 {
                                    hdr_len.saturating_sub(8)
                                } else {
                                    hdr_len
                                };
                                d.ip_len = hdr + len;
                                d.payload_wire = len;
                                d.reassembled = true;
                            }
                        }
                    } else {
                        end = off + ip.l4_end;
                        off += ip.l4_start;
                    }
                    let bytes: &[u8] = match buf {
                        PayloadBuf::Frame => frame,
                        PayloadBuf::Frag(s) => self.frag.data(s, end as u32),
                    };
                    match l4(
                        &self.cfg,
                        &mut self.stats,
                        &mut self.outer,
                        bytes,
                        buf,
                        off,
                        end,
                        d,
                        &mut depth,
                    ) {
                        L4::Done(o) => return o,
                        L4::Next(l, o) => {
                            layer = l;
                            off = o;
                        }
                    }
                }
            }
        }
    }
}

/// Decodes the L4 header at `off`; follows tunnels.
#[allow(clippy::too_many_arguments)]
fn l4(
    cfg: &DecodeConfig,
    stats: &mut DecodeStats,
    outer: &mut Vec<Decoded>,
    b: &[u8],
    buf: PayloadBuf,
    off: usize,
    end: usize,
    d: &mut Decoded,
    depth: &mut u8,
) -> L4 {
    let avail = end - off;
    match d.proto {
        ipproto::TCP => {
            // A header of at least 20 bytes, all of it captured (what
            // etherparse's header slice checks).
            let hl = usize::from(b.get(off + 12).map_or(0, |o| o >> 4)) * 4;
            if avail < 20 || hl < 20 || avail < hl {
                return L4::Done(Outcome::Malformed(Malformed::TcpTruncated));
            }
            let h = &b[off..off + 20];
            let be32 = |o: usize| u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
            d.sport = be16(h, 0);
            d.dport = be16(h, 2);
            d.seq = be32(4);
            d.ack = be32(8);
            d.win = be16(h, 14);
            d.tcp_flags = h[13] & 0x3f;
            if d.tcp_flags & tcpflag::SYN != 0 {
                d.tcp_wscale = window_scale(&b[off + 20..off + hl]);
            }
            d.payload_wire = d.payload_wire.saturating_sub(hl as u32);
            d.payload = PayloadRef {
                buf,
                off: (off + hl) as u32,
                len: (avail - hl) as u32,
            };
            L4::Done(Outcome::Packet)
        }
        ipproto::UDP => {
            if avail < 8 {
                return L4::Done(Outcome::Malformed(Malformed::UdpTruncated));
            }
            d.sport = be16(b, off);
            d.dport = be16(b, off + 4 - 2);
            d.payload_wire = d.payload_wire.saturating_sub(8);
            d.payload = PayloadRef {
                buf,
                off: (off + 8) as u32,
                len: (avail - 8) as u32,
            };
            let kind = if cfg.vxlan_ports.contains(&d.dport) {
                Some(TunnelKind::Vxlan)
            } else if cfg.geneve_ports.contains(&d.dport) {
                Some(TunnelKind::Geneve)
            } else if cfg.gre_udp_ports.contains(&d.dport) {
                Some(TunnelKind::Gre)
            } else if cfg.gtpu_ports.contains(&d.dport) {
                // GTP-U signalling (echo, error indication) is the outer
                // flow's own traffic, not a tunnelled packet.
                match b.get(off + 9) {
                    Some(&tunnel::GTP_GPDU) => Some(TunnelKind::GtpU),
                    _ => None,
                }
            } else if cfg.vxlan_gpe_ports.contains(&d.dport) {
                Some(TunnelKind::VxlanGpe)
            } else {
                None
            };
            let Some(kind) = kind else {
                return L4::Done(Outcome::Packet);
            };
            let p = off + 8;
            let t = match kind {
                TunnelKind::Vxlan => tunnel::vxlan(&b[p..end]),
                TunnelKind::Geneve => tunnel::geneve(&b[p..end]),
                TunnelKind::GtpU => tunnel::gtpu(&b[p..end]),
                TunnelKind::VxlanGpe => tunnel::vxlan_gpe(&b[p..end]),
                _ => tunnel::gre(&b[p..end]),
            };
            match t {
                // Not a tunnel after all (a UDP flow on that port).
                Err(_) if kind != TunnelKind::Gre && avail - 8 < 8 => L4::Done(Outcome::Packet),
                Err(m) => L4::Done(Outcome::Malformed(m)),
                Ok(t) => {
                    if cfg.outer_tunnel_flows {
                        stats.tunnel_outer += 1;
                        if outer.len() < MAX_TUNNEL_DEPTH as usize {
                            outer.push(*d);
                        }
                    }
                    enter(t, p, d, depth, stats)
                }
            }
        }
        ipproto::ICMP | ipproto::ICMPV6 => {
            if avail < 4 {
                return L4::Done(Outcome::Malformed(Malformed::IcmpTruncated));
            }
            d.sport = u16::from(b[off]);
            d.dport = u16::from(b[off + 1]);
            d.payload_wire = d.payload_wire.saturating_sub(8);
            let h = avail.min(8);
            d.payload = PayloadRef {
                buf,
                off: (off + h) as u32,
                len: (avail - h) as u32,
            };
            L4::Done(Outcome::Packet)
        }
        ipproto::SCTP => {
            if avail < 12 {
                return L4::Done(Outcome::Malformed(Malformed::UdpTruncated));
            }
            d.sport = be16(b, off);
            d.dport = be16(b, off + 2);
            d.payload_wire = d.payload_wire.saturating_sub(12);
            d.payload = PayloadRef {
                buf,
                off: (off + 12) as u32,
                len: (avail - 12) as u32,
            };
            L4::Done(Outcome::Packet)
        }
        ipproto::GRE => match tunnel::gre(&b[off..end]) {
            Ok(t) => enter(t, off, d, depth, stats),
            Err(m) => L4::Done(Outcome::Malformed(m)),
        },
        ipproto::IPIP | ipproto::IPV6 => {
            let t = tunnel::Tunnel {
                kind: TunnelKind::IpInIp,
                id: 0,
                hdr: 0,
                next: tunnel::Next::Ip,
                inner: 0,
            };
            enter(t, off, d, depth, stats)
        }
        _ => {
            d.payload = PayloadRef {
                buf,
                off: off as u32,
                len: avail as u32,
            };
            L4::Done(Outcome::Packet)
        }
    }
}

fn enter(
    t: tunnel::Tunnel,
    at: usize,
    d: &mut Decoded,
    depth: &mut u8,
    stats: &mut DecodeStats,
) -> L4 {
    *depth += 1;
    if *depth > MAX_TUNNEL_DEPTH {
        return L4::Done(Outcome::Malformed(Malformed::TunnelTooDeep));
    }
    d.tunnel = t.kind;
    d.tunnel_id = t.id;
    d.sport = 0;
    d.dport = 0;
    let next = match t.next {
        tunnel::Next::Eth => Layer::Eth,
        tunnel::Next::Ip => Layer::Ip,
        tunnel::Next::Unsupported => {
            if stats.unsupported_tunnel.is_none() {
                stats.unsupported_tunnel = Some((t.kind, t.inner));
                warn_once(
                    &WARNED_TUNNEL,
                    &format!(
                        "{} carrying {} is not decoded: such packets are counted (malformed.{}) and give no records; other kinds are not reported again",
                        t.kind.name(),
                        tunnel_inner_name(t.kind, t.inner),
                        Malformed::TunnelUnsupported.name()
                    ),
                );
            }
            return L4::Done(Outcome::Malformed(Malformed::TunnelUnsupported));
        }
    };
    L4::Next(next, at + t.hdr)
}

enum L4 {
    Done(Outcome),
    Next(Layer, usize),
}

#[derive(Debug, PartialEq)]
struct FragInfo {
    id: u32,
    offset: u32,
    more: bool,
}

#[derive(Debug, PartialEq)]
struct IpParsed {
    /// L4 start and end, relative to the IP header.
    l4_start: usize,
    l4_end: usize,
    frag: Option<FragInfo>,
}

/// Parses an IP header with etherparse's lax slicing; fills addresses,
/// protocol and lengths of `d`.
fn parse_ip(region: &[u8], d: &mut Decoded) -> Result<IpParsed, Malformed> {
    match plain_ipv4(region, d) {
        Some(ip) => Ok(ip),
        None => parse_ip_lax(region, d),
    }
}

/// [`parse_ip`] through etherparse.
fn parse_ip_lax(region: &[u8], d: &mut Decoded) -> Result<IpParsed, Malformed> {
    let (ip, ext_err) = LaxIpSlice::from_slice(region).map_err(|e| match e {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => Malformed::IpTruncated,
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => Malformed::IpInvalid,
    })?;
    if ext_err.is_some() {
        return Err(Malformed::Ipv6ExtInvalid);
    }
    let payload = ip.payload();
    let l4_start = payload.payload.as_ptr() as usize - region.as_ptr() as usize;
    let l4_end = l4_start + payload.payload.len();
    let mut frag = None;
    match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            d.v6 = false;
            d.src = [0; 16];
            d.dst = [0; 16];
            d.src[..4].copy_from_slice(&h.source());
            d.dst[..4].copy_from_slice(&h.destination());
            let tl = u32::from(h.total_len());
            d.ip_len = if tl >= h.slice().len() as u32 {
                tl
            } else {
                region.len() as u32
            };
            if h.is_fragmenting_payload() {
                frag = Some(FragInfo {
                    id: u32::from(h.identification()),
                    offset: u32::from(h.fragments_offset().value()) * 8,
                    more: h.more_fragments(),
                });
            }
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            d.v6 = true;
            d.src = h.source();
            d.dst = h.destination();
            let pl = u32::from(h.payload_length());
            d.ip_len = if pl == 0 {
                region.len() as u32
            } else {
                40 + pl
            };
            if v6.extensions().is_fragmenting_payload() {
                for e in v6.extensions().clone().into_iter() {
                    if let etherparse::Ipv6ExtensionSlice::Fragment(fh) = e {
                        frag = Some(FragInfo {
                            id: fh.identification(),
                            offset: u32::from(fh.fragment_offset().value()) * 8,
                            more: fh.more_fragments(),
                        });
                    }
                }
            }
        }
    }
    d.proto = payload.ip_number.0;
    d.payload_wire = d.ip_len.saturating_sub(l4_start as u32);
    Ok(IpParsed {
        l4_start,
        l4_end,
        frag,
    })
}

/// The common case by hand: an unfragmented IPv4 packet whose total
/// length fits its header and the capture. Anything else (and every
/// doubt) is left to etherparse's lax slicing, which gives the same result
/// for this case.
#[inline]
fn plain_ipv4(r: &[u8], d: &mut Decoded) -> Option<IpParsed> {
    let v = *r.first()?;
    let ihl = usize::from(v & 15) * 4;
    if v >> 4 != 4 || ihl < 20 || r.len() < ihl {
        return None;
    }
    let tl = usize::from(be16(r, 2));
    // Fragments, and IPsec AH (etherparse reads past it as an extension
    // header), go the long way.
    if tl < ihl || tl > r.len() || be16(r, 6) & 0x3fff != 0 || r[9] == 51 {
        return None;
    }
    d.v6 = false;
    d.src = [0; 16];
    d.dst = [0; 16];
    d.src[..4].copy_from_slice(&r[12..16]);
    d.dst[..4].copy_from_slice(&r[16..20]);
    d.ip_len = tl as u32;
    d.proto = r[9];
    d.payload_wire = (tl - ihl) as u32;
    Some(IpParsed {
        l4_start: ihl,
        l4_end: tl,
        frag: None,
    })
}

/// Most of what a sensor sees, in one pass: an untagged Ethernet frame
/// carrying an unfragmented IPv4 packet without options whose total
/// length fits the capture, with a whole TCP header. Writes what the
/// layered decoder would (the tests hold the two to the same result) and
/// returns true; leaves `d` alone and returns false for anything else.
#[inline]
fn plain_tcp_frame(f: &[u8], ts_ns: u64, d: &mut Decoded) -> bool {
    const IP: usize = 14;
    const TCP: usize = IP + 20;
    if f.len() < TCP + 20 || be16(f, 12) != 0x0800 || f[IP] != 0x45 || f[IP + 9] != ipproto::TCP {
        return false;
    }
    let tl = usize::from(be16(f, IP + 2));
    let hl = usize::from(f[TCP + 12] >> 4) * 4;
    if be16(f, IP + 6) & 0x3fff != 0 || tl > f.len() - IP || hl < 20 || tl < 20 + hl {
        return false;
    }
    let be32 = |o: usize| u32::from_be_bytes([f[o], f[o + 1], f[o + 2], f[o + 3]]);
    let addr = |o: usize| {
        let mut a = [0; 16];
        a[..4].copy_from_slice(&f[o..o + 4]);
        a
    };
    let flags = f[TCP + 13] & 0x3f;
    let mut dst_mac = [0; 6];
    let mut src_mac = [0; 6];
    dst_mac.copy_from_slice(&f[..6]);
    src_mac.copy_from_slice(&f[6..12]);
    *d = Decoded {
        ts_ns,
        src: addr(IP + 12),
        dst: addr(IP + 16),
        proto: ipproto::TCP,
        sport: be16(f, TCP),
        dport: be16(f, TCP + 2),
        ip_len: tl as u32,
        payload_wire: (tl - 20 - hl) as u32,
        payload: PayloadRef {
            buf: PayloadBuf::Frame,
            off: (TCP + hl) as u32,
            len: (tl - 20 - hl) as u32,
        },
        tcp_flags: flags,
        tcp_wscale: if flags & tcpflag::SYN != 0 {
            window_scale(&f[TCP + 20..TCP + hl])
        } else {
            None
        },
        seq: be32(TCP + 4),
        ack: be32(TCP + 8),
        win: be16(f, TCP + 14),
        src_mac,
        dst_mac,
        has_mac: true,
        ..Decoded::EMPTY
    };
    true
}

fn window_scale(opts: &[u8]) -> Option<u8> {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = *opts.get(i + 1)? as usize;
                if len < 2 || i + len > opts.len() {
                    return None;
                }
                if kind == 3 && len == 3 {
                    return Some(opts[i + 2].min(14));
                }
                i += len;
            }
        }
    }
    None
}

#[inline]
fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

#[cfg(test)]
mod tests;
