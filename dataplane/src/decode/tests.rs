//! Decoder tests on commented byte arrays.

use super::*;

/// Ethernet (dst 02:..:01, src 02:..:02, IPv4) + IPv4 (10.0.0.1 ->
/// 10.0.0.2, total length 44, TCP) + TCP (1234 -> 80, SYN, seq 1, window
/// 1024, MSS option) — 58 bytes.
const ETH_TCP_SYN: [u8; 58] = [
    0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00, // ethernet
    0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, // ipv4: ihl 5, len 44, DF, ttl 64, tcp
    10, 0, 0, 1, 10, 0, 0, 2, // addresses
    0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, // ports, seq, ack
    0x60, 0x02, 0x04, 0x00, 0, 0, 0, 0, // data offset 6, SYN, window 1024
    2, 4, 0x05, 0xb4, // MSS 1460
];

fn dec() -> Decoder {
    Decoder::new(DecodeConfig {
        outer_tunnel_flows: true,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn ethernet_ipv4_tcp() {
    let mut d = Decoded::EMPTY;
    let mut x = dec();
    assert_eq!(
        x.decode(&ETH_TCP_SYN, LinkType::Ethernet, 5, &mut d),
        Outcome::Packet
    );
    assert_eq!(&d.src[..4], &[10, 0, 0, 1]);
    assert_eq!((d.sport, d.dport, d.proto), (1234, 80, 6));
    assert_eq!((d.ip_len, d.payload_wire, d.seq, d.win), (44, 0, 1, 1024));
    assert_eq!(d.tcp_flags, tcpflag::SYN);
    assert_eq!(d.src_mac, [2, 0, 0, 0, 0, 2]);
    assert_eq!(d.vlan, NO_VLAN);
}

#[test]
fn truncation_at_every_length_is_counted_never_a_panic() {
    let mut x = dec();
    let mut d = Decoded::EMPTY;
    for n in 0..ETH_TCP_SYN.len() {
        let r = x.decode(&ETH_TCP_SYN[..n], LinkType::Ethernet, 0, &mut d);
        assert!(matches!(r, Outcome::Malformed(_)), "len {n}: {r:?}");
    }
    for link in [LinkType::Sll, LinkType::Sll2, LinkType::Null, LinkType::Raw] {
        for n in 0..40 {
            let _ = x.decode(&ETH_TCP_SYN[..n], link, 0, &mut d);
        }
    }
    assert_eq!(x.stats.packets, 0);
}

#[test]
fn snaplen_truncated_payload_counts_ip_length() {
    // The IP header says 1044 bytes; only the headers were captured.
    let mut f = ETH_TCP_SYN;
    f[16..18].copy_from_slice(&1044u16.to_be_bytes());
    let mut d = Decoded::EMPTY;
    assert_eq!(
        dec().decode(&f, LinkType::Ethernet, 0, &mut d),
        Outcome::Packet
    );
    assert_eq!((d.ip_len, d.payload_wire, d.payload.len), (1044, 1000, 0));
}

#[test]
fn qinq_and_sll() {
    // Ethernet + 802.1ad tag 100 + 802.1Q tag 200 + the IPv4 packet.
    let mut f = ETH_TCP_SYN[..12].to_vec();
    f.extend_from_slice(&[0x88, 0xa8, 0x00, 100, 0x81, 0x00, 0x00, 200, 0x08, 0x00]);
    f.extend_from_slice(&ETH_TCP_SYN[14..]);
    let mut d = Decoded::EMPTY;
    assert_eq!(
        dec().decode(&f, LinkType::Ethernet, 0, &mut d),
        Outcome::Packet
    );
    assert_eq!((d.vlan, d.inner_vlan, d.dport), (100, 200, 80));
    // Linux cooked v1: type, ARPHRD_ETHER, addr len 6, addr, protocol.
    let mut s = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 0x08, 0x00];
    s.extend_from_slice(&ETH_TCP_SYN[14..]);
    assert_eq!(dec().decode(&s, LinkType::Sll, 0, &mut d), Outcome::Packet);
    assert_eq!(d.src_mac, [2, 0, 0, 0, 0, 9]);
    // ARP is not IP: counted, not an error.
    let mut arp = ETH_TCP_SYN.to_vec();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let mut x = dec();
    assert_eq!(
        x.decode(&arp, LinkType::Ethernet, 0, &mut d),
        Outcome::NonIp
    );
    assert_eq!(x.stats.non_ip, 1);
}

/// Outer IPv4/UDP to port 4789 + VXLAN (VNI 77) + the inner frame.
fn vxlan_frame() -> Vec<u8> {
    let inner = ETH_TCP_SYN;
    let udp_len = 8 + 8 + inner.len();
    let ip_len = 20 + udp_len;
    let mut f = ETH_TCP_SYN[..14].to_vec();
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        2,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[192, 168, 0, 1, 192, 168, 0, 2]);
    f.extend_from_slice(&[
        0xc0,
        0x00,
        0x12,
        0xb5,
        (udp_len >> 8) as u8,
        udp_len as u8,
        0,
        0,
    ]);
    f.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 77, 0]);
    f.extend_from_slice(&inner);
    f
}

#[test]
fn vxlan_tracks_the_inner_packet_and_reports_the_outer() {
    let mut x = dec();
    let mut d = Decoded::EMPTY;
    assert_eq!(
        x.decode(&vxlan_frame(), LinkType::Ethernet, 0, &mut d),
        Outcome::Packet
    );
    assert_eq!((d.tunnel, d.tunnel_id), (TunnelKind::Vxlan, 77));
    assert_eq!(
        (&d.src[..4], d.dport, d.ip_len),
        (&[10u8, 0, 0, 1][..], 80, 44)
    );
    let o = x.take_outer().unwrap();
    assert_eq!(
        (o.dport, o.proto, &o.src[..4]),
        (4789, 17, &[192u8, 168, 0, 1][..])
    );
    for n in 0..vxlan_frame().len() {
        let _ = x.decode(&vxlan_frame()[..n], LinkType::Ethernet, 0, &mut d);
    }
}

#[test]
fn gre_erspan_and_depth_limit() {
    // IPv4 proto 47 + GRE (S bit, ERSPAN II) + ERSPAN II (session 5) + inner frame.
    let inner = ETH_TCP_SYN;
    let mut f = vec![
        0x45, 0, 0, 0, 0, 3, 0, 0, 64, 47, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    ];
    f.extend_from_slice(&[0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1]); // GRE with sequence
    f.extend_from_slice(&[0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0]); // ERSPAN II
    f.extend_from_slice(&inner);
    let l = f.len() as u16;
    f[2..4].copy_from_slice(&l.to_be_bytes());
    let mut d = Decoded::EMPTY;
    assert_eq!(dec().decode(&f, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!(
        (d.tunnel, d.tunnel_id, d.dport),
        (TunnelKind::ErspanII, 5, 80)
    );
    // IP-in-IP nested five times is refused.
    let mut p = ETH_TCP_SYN[14..].to_vec();
    for _ in 0..5 {
        let mut o = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 4, 0, 0, 3, 3, 3, 3, 4, 4, 4, 4,
        ];
        let l = (p.len() + 20) as u16;
        o[2..4].copy_from_slice(&l.to_be_bytes());
        o.extend_from_slice(&p);
        p = o;
    }
    assert_eq!(
        dec().decode(&p, LinkType::Raw, 0, &mut d),
        Outcome::Malformed(Malformed::TunnelTooDeep)
    );
}

#[test]
fn ipv4_fragments_reassemble_into_one_packet() {
    // A UDP datagram of 8 + 32 bytes in two fragments (24 + 16).
    let mut udp = vec![0x30, 0x39, 0, 53, 0, 40, 0, 0];
    udp.extend((0..32u8).collect::<Vec<_>>());
    let frag = |off: usize, more: bool, data: &[u8]| {
        let mut f = vec![
            0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let l = (20 + data.len()) as u16;
        f[2..4].copy_from_slice(&l.to_be_bytes());
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        f[6..8].copy_from_slice(&fo.to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    let mut x = dec();
    let mut d = Decoded::EMPTY;
    assert_eq!(
        x.decode(&frag(24, false, &udp[24..]), LinkType::Raw, 0, &mut d),
        Outcome::Fragment
    );
    assert_eq!(
        x.decode(&frag(0, true, &udp[..24]), LinkType::Raw, 0, &mut d),
        Outcome::Packet
    );
    assert!(d.reassembled);
    assert_eq!((d.dport, d.ip_len, d.payload_wire), (53, 60, 32));
    let frame = frag(0, true, &udp[..24]);
    assert_eq!(x.payload(&frame, &d.payload), &udp[8..]);
    x.end_batch();
}
