//! Flows: keys, per-flow state, the per-worker table and its timers.
//!
//! A flow's state is split in two (DESIGN.md): [`Hot`], one cache line that
//! every packet touches (times, counters, TCP sequence tracking), and
//! [`Cold`], the key and the KPI accumulators. Hot and cold together are
//! 256 bytes; the table adds a 4-byte tag per flow for lookups.
//!
//! Direction: index 0 of every per-direction array is the *originator*
//! (client), index 1 the responder (server). Who is who is decided when the
//! flow is created (the handshake, else well-known ports, as Zeek does) and
//! may flip once if a SYN turns up after its SYN-ACK.

pub mod record;
pub mod table;
pub mod tcp;

use crate::community_id::icmp_ports;
use crate::decode::{ipproto, Decoded, NO_VLAN};
use crate::sys::Zeroable;

/// Key flag: IPv6 addresses.
pub const KEY_V6: u8 = 1;
/// Key flag: a one-way ICMP message (endpoints not reordered).
pub const KEY_ONE_WAY: u8 = 2;

/// A direction-free flow key: the two endpoints in canonical order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowKey {
    /// Lower endpoint's address.
    pub a: [u8; 16],
    /// Higher endpoint's address.
    pub b: [u8; 16],
    /// Lower endpoint's port (ICMP: type or counterpart).
    pub pa: u16,
    /// Higher endpoint's port.
    pub pb: u16,
    /// Outer VLAN, when VLANs are part of the key.
    pub vlan: u16,
    /// Inner VLAN, when VLANs are part of the key.
    pub inner_vlan: u16,
    /// Tunnel id, when tunnel ids are part of the key.
    pub tunnel_id: u32,
    /// IP protocol.
    pub proto: u8,
    /// [`KEY_V6`], [`KEY_ONE_WAY`].
    pub flags: u8,
    _pad: [u8; 2],
}

impl PartialEq for FlowKey {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        // Six XORs folded, not `==` on the arrays: that became a memcmp
        // call on every table probe.
        let (x, y) = (self.words(), o.words());
        x.iter().zip(&y).fold(0, |d, (a, b)| d | (a ^ b)) == 0
    }
}

impl Eq for FlowKey {}

/// Which optional fields distinguish flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyConfig {
    /// VLAN ids are part of the key.
    pub vlan: bool,
    /// Tunnel ids are part of the key.
    pub tunnel: bool,
}

impl FlowKey {
    /// The key of a packet, and whether the packet travels from `a` to `b`.
    #[inline]
    pub fn of(d: &Decoded, kc: KeyConfig) -> (FlowKey, bool) {
        let (sp, dp, one_way) = if d.proto == ipproto::ICMP || d.proto == ipproto::ICMPV6 {
            icmp_ports(d.v6, d.sport as u8, d.dport as u8)
        } else {
            (d.sport, d.dport, false)
        };
        // Addresses compare as big-endian integers: byte order, no memcmp call.
        let (s, t) = if d.v6 {
            (u128::from_be_bytes(d.src), u128::from_be_bytes(d.dst))
        } else {
            (
                u128::from(u32::from_be_bytes([d.src[0], d.src[1], d.src[2], d.src[3]])),
                u128::from(u32::from_be_bytes([d.dst[0], d.dst[1], d.dst[2], d.dst[3]])),
            )
        };
        let forward = one_way || (s, sp) <= (t, dp);
        let (a, b, pa, pb) = if forward {
            (d.src, d.dst, sp, dp)
        } else {
            (d.dst, d.src, dp, sp)
        };
        let key = FlowKey {
            a,
            b,
            pa,
            pb,
            vlan: if kc.vlan { d.vlan } else { NO_VLAN },
            inner_vlan: if kc.vlan { d.inner_vlan } else { NO_VLAN },
            tunnel_id: if kc.tunnel { d.tunnel_id } else { 0 },
            proto: d.proto,
            flags: if d.v6 { KEY_V6 } else { 0 } | if one_way { KEY_ONE_WAY } else { 0 },
            _pad: [0; 2],
        };
        (key, forward)
    }

    /// 64-bit hash of the key.
    #[inline]
    pub fn hash(&self) -> u64 {
        crate::hash::hash_words(&self.words(), 0x5eed)
    }

    /// The key as six words (the padding is always zero).
    #[inline]
    fn words(&self) -> [u64; 6] {
        let a = u128::from_ne_bytes(self.a);
        let b = u128::from_ne_bytes(self.b);
        [
            a as u64,
            (a >> 64) as u64,
            b as u64,
            (b >> 64) as u64,
            u64::from(self.pa)
                | u64::from(self.pb) << 16
                | u64::from(self.vlan) << 32
                | u64::from(self.inner_vlan) << 48,
            u64::from(self.tunnel_id) | u64::from(self.proto) << 32 | u64::from(self.flags) << 40,
        ]
    }

    /// IPv6 addresses.
    pub fn v6(&self) -> bool {
        self.flags & KEY_V6 != 0
    }
}

/// The per-packet part of a flow: one cache line.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Hot {
    /// Time of the last packet (ns).
    pub last_ns: u64,
    /// IP bytes per direction.
    pub bytes: [u64; 2],
    /// Packets per direction.
    pub pkts: [u32; 2],
    /// TCP: highest sequence number + length (+SYN/FIN) seen (0: unset).
    pub nextseq: [u32; 2],
    /// TCP: last acknowledgment number sent.
    pub lastack: [u32; 2],
    /// TCP: when `nextseq` last advanced (µs, wrapping).
    pub nextseq_t: [u32; 2],
    /// TCP: last window sent (raw).
    pub window: [u16; 2],
    /// TCP analysis bits per direction ([`tcp::bits`]).
    pub dbits: [u8; 2],
    /// TCP endpoint state (low nibble) and previous state (high nibble).
    pub zstate: [u8; 2],
}

/// Cold flags.
pub mod cf {
    /// The originator is key endpoint `b`.
    pub const ORIG_IS_B: u16 = 1;
    /// The flow's index sits in a timer-wheel list.
    pub const IN_WHEEL: u16 = 1 << 1;
    /// Handshake: SYN seen (hs_a holds its time).
    pub const HS_SYN: u16 = 1 << 2;
    /// Handshake: SYN-ACK seen (hs_a holds the server RTT, hs_b its time).
    pub const HS_SYNACK: u16 = 1 << 3;
    /// Handshake: the client's ACK seen (hs_b holds the client RTT).
    pub const HS_ACK: u16 = 1 << 4;
    /// Application: the server is answering (app_t: last response byte).
    pub const APP_RESP: u16 = 1 << 5;
    /// Application: the client has sent data (app_t: last request byte).
    pub const APP_REQ: u16 = 1 << 6;
    /// A network-delay sample is pending.
    pub const SAMPLE: u16 = 1 << 7;
    /// The pending sample is of data sent by the responder.
    pub const SAMPLE_RESP: u16 = 1 << 8;
    /// The originator has closed (FIN or RST).
    pub const CLOSED_ORIG: u16 = 1 << 9;
    /// The responder has closed.
    pub const CLOSED_RESP: u16 = 1 << 10;
    /// Closing is complete: the flow ends after the close delay.
    pub const CLOSE_DONE: u16 = 1 << 11;
    /// The history string overflowed.
    pub const HIST_FULL: u16 = 1 << 12;
}

/// History letters kept per flow.
pub const HISTORY_LEN: usize = 12;

/// The rarely touched part of a flow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Cold {
    /// The flow's key.
    pub key: FlowKey,
    /// Time of the first packet (ns).
    pub first_ns: u64,
    /// Next flow in the same timer-wheel list.
    pub t_next: u32,
    /// [`cf`] bits.
    pub flags: u16,
    /// Request/response turns.
    pub art_cnt: u16,
    /// Tunnel id (kept even when not part of the key).
    pub tunnel_id: u32,
    /// Zeek-style history, [`Cold::hist`].
    pub history: [u8; HISTORY_LEN],
    /// MACs of the first packet: originator's, then responder's.
    pub macs: [u8; 12],
    /// Retransmitted segments (tshark's `tcp.analysis.retransmission`).
    pub retrans: [u32; 2],
    /// Out-of-order segments (`tcp.analysis.out_of_order`, saturating: a
    /// u16 made room for `isn` in the 256 bytes a flow may take).
    pub ooo: [u16; 2],
    /// The originator's initial sequence number (valid once `syn` > 0): a
    /// SYN repeated with it after the close is a retransmission, not a new
    /// connection.
    pub isn: u32,
    /// Pure ACKs (ACK, no payload, no SYN/FIN/RST).
    pub pure_ack: [u32; 2],
    /// Data segments of 1–63 payload bytes.
    pub tiny: [u32; 2],
    /// Zero-window segments (`tcp.analysis.zero_window`, saturating).
    pub zero_win: [u16; 2],
    /// FIN segments per direction (saturating).
    pub fin: [u8; 2],
    /// RST segments per direction (saturating).
    pub rst: [u8; 2],
    /// SYN segments from the originator (saturating).
    pub syn: u8,
    /// SYN-ACK segments from the responder (saturating).
    pub synack: u8,
    /// Letters in `history` (low nibble, at most [`HISTORY_LEN`]) and the
    /// tunnel around the flow's first packet (high nibble): [`Cold::hist`],
    /// [`Cold::tunnel`].
    pub hist_tun: u8,
    /// Interim records emitted so far.
    pub reports: u8,
    /// Handshake: SYN time, then the server-side RTT (µs).
    pub hs_a: u32,
    /// Handshake: SYN-ACK time, then the client-side RTT (µs).
    pub hs_b: u32,
    /// Network delay per side (µs): minimum.
    pub nd_min: [u32; 2],
    /// Maximum.
    pub nd_max: [u32; 2],
    /// Sum (saturating).
    pub nd_sum: [u32; 2],
    /// Samples.
    pub nd_cnt: [u16; 2],
    /// Pending sample: the acknowledgment number that completes it.
    pub sample_seq: u32,
    /// Pending sample: when its data was seen (µs).
    pub sample_t: u32,
    /// Application timing: last request byte, or last response byte (µs).
    pub app_t: u32,
    /// Application response time: sum (µs, saturating).
    pub art_sum: u32,
    /// Transfer time sum (µs, saturating).
    pub xfer_sum: u32,
}

impl Cold {
    /// The tunnel kind ([`crate::decode::TunnelKind`] as a number).
    pub fn tunnel(&self) -> u8 {
        self.hist_tun >> 4
    }
    /// Stores the tunnel kind (at most 15).
    pub fn set_tunnel(&mut self, t: u8) {
        self.hist_tun = (self.hist_tun & 0x0f) | t.min(15) << 4;
    }
    /// The history letters so far.
    #[inline]
    pub fn hist(&self) -> &[u8] {
        &self.history[..usize::from(self.hist_tun & 0x0f)]
    }
    /// Appends a history letter if there is room; false if not.
    #[inline]
    pub fn push_hist(&mut self, l: u8) -> bool {
        let n = usize::from(self.hist_tun & 0x0f);
        if n >= HISTORY_LEN {
            return false;
        }
        self.history[n] = l;
        self.hist_tun += 1;
        true
    }
}

const _: () = assert!(std::mem::size_of::<Hot>() == 64);
const _: () = assert!(std::mem::size_of::<FlowKey>() == 48);
const _: () = assert!(std::mem::size_of::<Cold>() == 192);
const _: () = assert!(std::mem::size_of::<Hot>() + std::mem::size_of::<Cold>() == 256);

// SAFETY: plain integers and arrays of integers; zero is valid.
#[allow(unsafe_code)]
unsafe impl Zeroable for Hot {}
// SAFETY: plain integers and arrays of integers; zero is valid.
#[allow(unsafe_code)]
unsafe impl Zeroable for Cold {}

/// Bytes of state per flow, table tag included.
pub const BYTES_PER_FLOW: usize = std::mem::size_of::<Hot>() + std::mem::size_of::<Cold>() + 4;

/// Why a flow record was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No packet for the idle timeout.
    Idle,
    /// Interim record at the active timeout; the flow goes on.
    Active,
    /// Closed by FIN.
    Fin,
    /// Closed by RST.
    Rst,
    /// Evicted to make room in a full table.
    Evicted,
    /// The sensor stopped or the capture ended.
    Shutdown,
    /// A new connection reused the same endpoints.
    Reused,
}

impl Reason {
    /// Name used in records.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Idle => "idle",
            Reason::Active => "active_timeout",
            Reason::Fin => "fin",
            Reason::Rst => "rst",
            Reason::Evicted => "evicted",
            Reason::Shutdown => "shutdown",
            Reason::Reused => "reused",
        }
    }
}

/// Flow-tracking settings (timeouts in ns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowConfig {
    /// Which optional fields are part of the key.
    pub key: KeyConfig,
    /// TCP idle timeout once established (Zeek: 5 min).
    pub tcp_idle_ns: u64,
    /// TCP idle timeout during the handshake (Zeek: 1 min).
    pub tcp_handshake_idle_ns: u64,
    /// An unanswered SYN ends this long after the first SYN (Zeek: 5 s).
    pub tcp_attempt_ns: u64,
    /// A closed TCP flow ends this long after its last packet (Zeek: 5 s).
    pub tcp_close_ns: u64,
    /// UDP idle timeout (Zeek: 1 min).
    pub udp_idle_ns: u64,
    /// ICMP idle timeout (Zeek: 1 min).
    pub icmp_idle_ns: u64,
    /// Other protocols' idle timeout.
    pub other_idle_ns: u64,
    /// Interim record interval; 0 disables.
    pub active_ns: u64,
    /// Ports taken to be servers when no handshake says otherwise.
    pub server_ports: ServerPorts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        const S: u64 = 1_000_000_000;
        Self {
            key: KeyConfig {
                vlan: true,
                tunnel: false,
            },
            tcp_idle_ns: 300 * S,
            tcp_handshake_idle_ns: 60 * S,
            tcp_attempt_ns: 5 * S,
            tcp_close_ns: 5 * S,
            udp_idle_ns: 60 * S,
            icmp_idle_ns: 60 * S,
            other_idle_ns: 60 * S,
            active_ns: 0,
            server_ports: ServerPorts::default(),
        }
    }
}

/// A bitmap of likely server ports, per transport.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerPorts {
    tcp: Box<[u64; 1024]>,
    udp: Box<[u64; 1024]>,
}

impl std::fmt::Debug for ServerPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerPorts")
    }
}

/// Zeek's default `likely_server_ports`, TCP.
pub const DEFAULT_TCP_SERVER_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445, 502, 563, 585, 587, 614,
    631, 636, 989, 990, 992, 993, 995, 1080, 1434, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269,
    5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];
/// Zeek's default `likely_server_ports`, UDP.
pub const DEFAULT_UDP_SERVER_PORTS: &[u16] = &[
    53, 67, 68, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 2123, 2152, 3544, 4789, 5060, 5072,
    5353, 5355, 6081, 20000,
];

impl Default for ServerPorts {
    fn default() -> Self {
        Self::new(DEFAULT_TCP_SERVER_PORTS, DEFAULT_UDP_SERVER_PORTS)
    }
}

impl ServerPorts {
    /// A set from lists.
    pub fn new(tcp: &[u16], udp: &[u16]) -> Self {
        let mut s = Self {
            tcp: Box::new([0; 1024]),
            udp: Box::new([0; 1024]),
        };
        for &p in tcp {
            s.tcp[p as usize / 64] |= 1 << (p % 64);
        }
        for &p in udp {
            s.udp[p as usize / 64] |= 1 << (p % 64);
        }
        s
    }
    /// Whether `port` is a likely server port for `proto`.
    #[inline]
    pub fn contains(&self, proto: u8, port: u16) -> bool {
        let m = match proto {
            ipproto::TCP => &self.tcp,
            ipproto::UDP => &self.udp,
            _ => return false,
        };
        m[port as usize / 64] & (1 << (port % 64)) != 0
    }
}
