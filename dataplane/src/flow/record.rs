//! The flow record: what a flow table entry says when it is emitted.
//! docs/schema.md documents every field.

use super::tcp::conn_state;
use super::{cf, Cold, Hot, Reason, KEY_ONE_WAY};
use crate::community_id::community_id;
use crate::decode::{addr, ipproto, TunnelKind, NO_VLAN};
use crate::key;
use crate::record::{FieldSink, Key};

/// Name of an IP protocol in records.
pub fn proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        ipproto::TCP => "tcp",
        ipproto::UDP => "udp",
        ipproto::ICMP => "icmp",
        ipproto::ICMPV6 => "icmp6",
        ipproto::SCTP => "sctp",
        ipproto::GRE => "gre",
        _ => return None,
    })
}

/// Zeek's conn_state for any protocol.
pub fn state_of(h: &Hot, c: &Cold) -> &'static str {
    match c.key.proto {
        ipproto::TCP => conn_state(h, c),
        ipproto::UDP => match (h.pkts[0] > 0, h.pkts[1] > 0) {
            (true, true) => "SF",
            (true, false) => "S0",
            (false, true) => "SHR",
            (false, false) => "OTH",
        },
        _ => "OTH",
    }
}

/// The originator's and responder's (address, port).
pub fn endpoints(c: &Cold) -> (([u8; 16], u16), ([u8; 16], u16)) {
    let k = &c.key;
    if c.flags & cf::ORIG_IS_B != 0 {
        ((k.b, k.pb), (k.a, k.pa))
    } else {
        ((k.a, k.pa), (k.b, k.pb))
    }
}

/// Writes the fields every record of a flow carries: sensor, endpoints,
/// protocol, VLANs, tunnel, MACs and Community ID.
pub fn write_endpoints(w: &mut impl FieldSink, c: &Cold, sensor: &str, cid_seed: u16) {
    let k = &c.key;
    let v6 = k.v6();
    let ((sa, sp), (da, dp)) = endpoints(c);
    w.str("sensor", sensor);
    w.ip("src_ip", addr(&sa, v6));
    w.u64_at(key!("src_port"), u64::from(sp));
    w.ip("dst_ip", addr(&da, v6));
    w.u64_at(key!("dst_port"), u64::from(dp));
    match proto_name(k.proto) {
        Some(n) => w.token("proto", n),
        None => w.u64_at(key!("proto"), u64::from(k.proto)),
    }
    w.u64_at(key!("ip_proto"), u64::from(k.proto));
    if k.vlan != NO_VLAN {
        w.u64_at(key!("vlan"), u64::from(k.vlan));
    }
    if k.inner_vlan != NO_VLAN {
        w.u64_at(key!("inner_vlan"), u64::from(k.inner_vlan));
    }
    if c.tunnel() != 0 {
        w.token("tunnel_type", TunnelKind::from_u8(c.tunnel()).name());
        w.u64_at(key!("tunnel_id"), u64::from(c.tunnel_id));
    }
    if c.macs != [0; 12] {
        w.token_bytes("src_mac", &mac(&c.macs[..6]));
        w.token_bytes("dst_mac", &mac(&c.macs[6..]));
    }
    let mut cid = [0u8; 30];
    community_id(
        cid_seed,
        &sa,
        &da,
        v6,
        k.proto,
        sp,
        dp,
        k.flags & KEY_ONE_WAY != 0,
        &mut cid,
    );
    w.token_bytes("community_id", &cid);
}

/// Writes one flow record.
pub fn write_flow(
    w: &mut impl FieldSink,
    h: &Hot,
    c: &Cold,
    reason: Reason,
    sensor: &str,
    cid_seed: u16,
) {
    w.token("type", "flow");
    w.time("ts", c.first_ns);
    w.time("end", h.last_ns);
    write_endpoints(w, c, sensor, cid_seed);
    let k = &c.key;
    w.u64_at(
        key!("duration_us"),
        h.last_ns.saturating_sub(c.first_ns) / 1000,
    );
    w.token("reason", reason.name());
    w.bool("final", reason != Reason::Active);
    w.token("conn_state", state_of(h, c));
    let hist = c.hist();
    w.token_bytes("history", hist);
    if c.flags & cf::HIST_FULL != 0 {
        w.bool("history_truncated", true);
    }
    w.u64_at(key!("src_pkts"), u64::from(h.pkts[0]));
    w.u64_at(key!("src_bytes"), h.bytes[0]);
    w.u64_at(key!("dst_pkts"), u64::from(h.pkts[1]));
    w.u64_at(key!("dst_bytes"), h.bytes[1]);
    if k.proto == ipproto::TCP {
        w.u64_at(key!("src_syn"), u64::from(c.syn));
        w.u64_at(key!("dst_syn_ack"), u64::from(c.synack));
        for (d, k) in TCP_KEYS.iter().enumerate() {
            w.u64_at(k[0], u64::from(c.fin[d]));
            w.u64_at(k[1], u64::from(c.rst[d]));
            w.u64_at(k[2], u64::from(c.retrans[d]));
            w.u64_at(k[3], u64::from(c.ooo[d]));
            w.u64_at(k[4], u64::from(c.zero_win[d]));
            w.u64_at(k[5], u64::from(c.pure_ack[d]));
            w.u64_at(k[6], u64::from(c.tiny[d]));
        }
        if c.flags & cf::HS_SYNACK != 0 {
            w.u64_at(key!("rtt_server_us"), u64::from(c.hs_a));
        }
        if c.flags & cf::HS_ACK != 0 {
            w.u64_at(key!("rtt_client_us"), u64::from(c.hs_b));
        }
        for (d, k) in DELAY_KEYS.iter().enumerate() {
            if c.nd_cnt[d] > 0 {
                w.u64_at(k[0], u64::from(c.nd_min[d]));
                w.u64_at(k[1], u64::from(c.nd_sum[d] / u32::from(c.nd_cnt[d])));
                w.u64_at(k[2], u64::from(c.nd_max[d]));
                w.u64_at(k[3], u64::from(c.nd_cnt[d]));
            }
        }
    }
    if c.art_cnt > 0 {
        w.u64_at(key!("app_turns"), u64::from(c.art_cnt));
        w.u64_at(
            key!("app_response_avg_us"),
            u64::from(c.art_sum / u32::from(c.art_cnt)),
        );
        w.u64_at(key!("app_transfer_us"), u64::from(c.xfer_sum));
    }
}

/// Per-side TCP counters' keys, originator first.
const TCP_KEYS: [[Key; 7]; 2] = [
    [
        key!("src_fin"),
        key!("src_rst"),
        key!("src_retrans"),
        key!("src_out_of_order"),
        key!("src_zero_win"),
        key!("src_pure_ack"),
        key!("src_tiny"),
    ],
    [
        key!("dst_fin"),
        key!("dst_rst"),
        key!("dst_retrans"),
        key!("dst_out_of_order"),
        key!("dst_zero_win"),
        key!("dst_pure_ack"),
        key!("dst_tiny"),
    ],
];

/// Per-side network-delay keys, originator first.
const DELAY_KEYS: [[Key; 4]; 2] = [
    [
        key!("src_net_delay_min_us"),
        key!("src_net_delay_avg_us"),
        key!("src_net_delay_max_us"),
        key!("src_net_delay_samples"),
    ],
    [
        key!("dst_net_delay_min_us"),
        key!("dst_net_delay_avg_us"),
        key!("dst_net_delay_max_us"),
        key!("dst_net_delay_samples"),
    ],
];

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
fn mac(m: &[u8]) -> [u8; 17] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = [b':'; 17];
    for (i, &b) in m.iter().take(6).enumerate() {
        s[i * 3] = HEX[usize::from(b >> 4)];
        s[i * 3 + 1] = HEX[usize::from(b & 15)];
    }
    s
}
