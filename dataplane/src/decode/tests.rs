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
fn ieee_802_3_with_llc_snap() {
    // The same packet as an 802.3 frame: a length (52) instead of the
    // EtherType, then LLC (AA AA 03) and SNAP (OUI 0, EtherType IPv4).
    let mut f = ETH_TCP_SYN[..12].to_vec();
    f.extend_from_slice(&[0, 52, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(&ETH_TCP_SYN[14..]);
    let mut d = Decoded::EMPTY;
    assert_eq!(
        dec().decode(&f, LinkType::Ethernet, 5, &mut d),
        Outcome::Packet
    );
    assert_eq!((d.sport, d.dport, d.ip_len), (1234, 80, 44));
    // Other LLC (spanning tree, say) is not IP.
    f[14..17].copy_from_slice(&[0x42, 0x42, 0x03]);
    assert_eq!(
        dec().decode(&f, LinkType::Ethernet, 5, &mut d),
        Outcome::NonIp
    );
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
    let o = x.outers()[0];
    assert_eq!(
        (o.dport, o.proto, &o.src[..4]),
        (4789, 17, &[192u8, 168, 0, 1][..])
    );
    for n in 0..vxlan_frame().len() {
        let _ = x.decode(&vxlan_frame()[..n], LinkType::Ethernet, 0, &mut d);
    }
}

/// Ethernet/IPv4/UDP to 2152 + GTP-U (version 1, E flag, G-PDU, TEID 0x1234,
/// one 4-byte extension header, type 0x85) + the IPv4/TCP SYN.
fn gtpu_frame() -> Vec<u8> {
    let inner = &ETH_TCP_SYN[14..];
    let gtp_len = 4 + 4 + inner.len();
    let mut gtp = vec![
        0x34,
        0xff,
        (gtp_len >> 8) as u8,
        gtp_len as u8,
        0,
        0,
        0x12,
        0x34,
    ];
    gtp.extend_from_slice(&[0, 0, 0, 0x85]); // sequence, N-PDU, next: 0x85
    gtp.extend_from_slice(&[1, 0x10, 0x01, 0]); // 1 × 4 bytes, then none
    gtp.extend_from_slice(inner);
    let mut f = vxlan_frame();
    f.truncate(14 + 20 + 8);
    f[36..38].copy_from_slice(&2152u16.to_be_bytes());
    let udp_len = 8 + gtp.len();
    f[38..40].copy_from_slice(&(udp_len as u16).to_be_bytes());
    f[16..18].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    f.extend_from_slice(&gtp);
    f
}

#[test]
fn gtpu_with_extension_headers_and_vxlan_gpe() {
    let mut x = dec();
    let mut d = Decoded::EMPTY;
    let f = gtpu_frame();
    assert_eq!(x.decode(&f, LinkType::Ethernet, 0, &mut d), Outcome::Packet);
    assert_eq!((d.tunnel, d.tunnel_id), (TunnelKind::GtpU, 0x1234));
    assert_eq!((&d.src[..4], d.dport), (&[10u8, 0, 0, 1][..], 80));
    // An extension header of length 0 would never end: malformed.
    let mut bad = f.clone();
    bad[42 + 12] = 0;
    assert_eq!(
        x.decode(&bad, LinkType::Ethernet, 0, &mut d),
        Outcome::Malformed(Malformed::TunnelInvalid)
    );
    // An echo request on 2152 is the outer flow's own packet.
    let mut echo = f.clone();
    echo[42 + 1] = 1;
    assert_eq!(
        x.decode(&echo, LinkType::Ethernet, 0, &mut d),
        Outcome::Packet
    );
    assert_eq!((d.tunnel, d.dport), (TunnelKind::None, 2152));
    // VXLAN-GPE to 4790 carrying IPv4 (next protocol 1).
    let mut g = vxlan_frame();
    g[36..38].copy_from_slice(&4790u16.to_be_bytes());
    g[42..50].copy_from_slice(&[0x0c, 0, 0, 1, 0, 0, 9, 0]);
    g.drain(50..64);
    let udp_len = g.len() - 34;
    g[38..40].copy_from_slice(&(udp_len as u16).to_be_bytes());
    g[16..18].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    assert_eq!(x.decode(&g, LinkType::Ethernet, 0, &mut d), Outcome::Packet);
    assert_eq!(
        (d.tunnel, d.tunnel_id, d.dport),
        (TunnelKind::VxlanGpe, 9, 80)
    );
    // Next protocol NSH (4): counted as a tunnel not decoded.
    g[45] = 4;
    assert_eq!(
        x.decode(&g, LinkType::Ethernet, 0, &mut d),
        Outcome::Malformed(Malformed::TunnelUnsupported)
    );
    assert_eq!(x.stats.unsupported_tunnel, Some((TunnelKind::VxlanGpe, 4)));
    for n in 0..f.len() {
        let _ = x.decode(&f[..n], LinkType::Ethernet, 0, &mut d);
    }
}

/// IPv4 (id `id`, protocol GRE, 1.1.1.1 → 2.2.2.2) carrying `parts`, with
/// its total length set.
fn ip_gre(id: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut f = vec![
        0x45, 0, 0, 0, 0, id, 0, 0, 64, 47, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
    ];
    for p in parts {
        f.extend_from_slice(p);
    }
    let l = f.len() as u16;
    f[2..4].copy_from_slice(&l.to_be_bytes());
    f
}

#[test]
fn gre_erspan_and_depth_limit() {
    // IPv4 proto 47 + GRE (S bit, ERSPAN II) + ERSPAN II (session 5) + inner frame.
    let f = ip_gre(
        3,
        &[
            &[0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1], // GRE with sequence
            &[0x10, 0x00, 0x00, 0x05, 0, 0, 0, 0], // ERSPAN II
            &ETH_TCP_SYN,
        ],
    );
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

/// Geneve (VNI 9, one 4-byte option) carrying IPv4 directly.
#[test]
fn geneve_with_options() {
    let inner = &ETH_TCP_SYN[14..];
    let mut g = vec![0x01, 0x00, 0x08, 0x00, 0, 0, 9, 0, 0, 0, 0, 0];
    g.extend_from_slice(inner);
    let udp_len = 8 + g.len();
    let mut f = vec![
        0x45, 0, 0, 0, 0, 2, 0, 0, 64, 17, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2,
    ];
    let l = (20 + udp_len) as u16;
    f[2..4].copy_from_slice(&l.to_be_bytes());
    f.extend_from_slice(&[
        0x30,
        0x39,
        0x17,
        0xc1,
        (udp_len >> 8) as u8,
        udp_len as u8,
        0,
        0,
    ]);
    f.extend_from_slice(&g);
    let mut d = Decoded::EMPTY;
    let mut x = dec();
    assert_eq!(x.decode(&f, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!(
        (d.tunnel, d.tunnel_id, d.dport),
        (TunnelKind::Geneve, 9, 80)
    );
    // Cut inside the outer headers: malformed. Cut before the Geneve
    // header is whole: the outer UDP datagram (a snaplen cut, not a tunnel).
    // Cut later: malformed, or the inner packet with its payload cut.
    for n in 0..f.len() {
        let r = x.decode(&f[..n], LinkType::Raw, 0, &mut d);
        if n < 28 {
            assert_ne!(r, Outcome::Packet, "len {n}");
        } else if n < 36 && r == Outcome::Packet {
            assert_eq!((d.tunnel, d.dport), (TunnelKind::None, 6081), "len {n}");
        }
    }
}

/// ERSPAN III with the optional platform sub-header, and GRE v1 (PPTP)
/// carrying PPP/IPv4.
#[test]
fn erspan3_and_pptp() {
    let f = ip_gre(
        3,
        &[
            &[0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 7], // GRE, S bit, ERSPAN III
            &[0x20, 0x00, 0x00, 0x2a, 0, 0, 0, 0, 0, 0, 0, 0x01], // session 42, O bit
            &[0; 8],                               // platform-specific sub-header
            &ETH_TCP_SYN,
        ],
    );
    let mut d = Decoded::EMPTY;
    assert_eq!(dec().decode(&f, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!(
        (d.tunnel, d.tunnel_id, d.dport),
        (TunnelKind::ErspanIII, 42, 80)
    );
    // The header of erspanIII.pcap (Zeek's corpus): P bit and a hardware id
    // set around a frame type of 0, no sub-header.
    let r = ip_gre(
        3,
        &[
            &[0x10, 0x00, 0x22, 0xeb, 0x03, 0xb3, 0xed, 0x5c],
            &[
                0x20, 0x14, 0x00, 0x00, 0x00, 0x00, 0x14, 0x58, 0x00, 0x00, 0x80, 0x30,
            ],
            &ETH_TCP_SYN,
        ],
    );
    assert_eq!(dec().decode(&r, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!((d.tunnel, d.dport), (TunnelKind::ErspanIII, 80));
    // PPTP: GRE version 1, key present (payload length, call id), PPP ff 03 00 21.
    let p = ip_gre(
        4,
        &[
            &[0x20, 0x01, 0x88, 0x0b, 0, 44, 0, 5, 0xff, 0x03, 0x00, 0x21],
            &ETH_TCP_SYN[14..],
        ],
    );
    assert_eq!(dec().decode(&p, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!((d.tunnel, d.dport), (TunnelKind::Gre, 80));
}

/// IPv6 with a hop-by-hop header, UDP; and ICMPv6 echo.
#[test]
fn ipv6_extension_headers_udp_and_icmp6() {
    let mut f = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop: next UDP, PadN
    f.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4]); // UDP 5000 -> 53, 4 bytes
    let pl = (f.len() - 40) as u16;
    f[4..6].copy_from_slice(&pl.to_be_bytes());
    let mut d = Decoded::EMPTY;
    assert_eq!(dec().decode(&f, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert!(d.v6);
    assert_eq!(
        (d.proto, d.dport, d.ip_len, d.payload_wire),
        (17, 53, 60, 4)
    );
    // Cut in the headers: malformed; cut in the payload: still counted
    // with the IP length.
    for n in 0..f.len() {
        let r = dec().decode(&f[..n], LinkType::Raw, 0, &mut d);
        if n < 56 {
            assert_ne!(r, Outcome::Packet, "len {n}");
        } else {
            assert_eq!((r, d.ip_len), (Outcome::Packet, 60), "len {n}");
        }
    }
    let mut e = f[..40].to_vec();
    e[6] = 58;
    e.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
    e[4..6].copy_from_slice(&8u16.to_be_bytes());
    assert_eq!(dec().decode(&e, LinkType::Raw, 0, &mut d), Outcome::Packet);
    assert_eq!((d.proto, d.sport, d.dport), (58, 128, 0));
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes, any link type: a value, never a panic; a packet's
        /// payload lies inside its buffer.
        #[test]
        fn any_bytes_decode_safely(sel in 0usize..9, frame in proptest::collection::vec(any::<u8>(), 0..200)) {
            let link = [LinkType::Ethernet, LinkType::Sll, LinkType::Sll2, LinkType::Null, LinkType::Loop, LinkType::Raw, LinkType::Ppp, LinkType::CHdlc, LinkType::Nflog][sel];
            let mut x = Decoder::new(DecodeConfig { outer_tunnel_flows: true, frag_slots: 2, ..Default::default() }).unwrap();
            let mut d = Decoded::EMPTY;
            if x.decode(&frame, link, 0, &mut d) == Outcome::Packet {
                prop_assert_eq!(x.payload(&frame, &d.payload).len(), d.payload.len as usize);
            }
        }

        /// The hand-written IPv4 path reads every header it takes as
        /// etherparse's lax slicing does: headers near the edges (options,
        /// lengths around the header's and the capture's, fragment bits).
        #[test]
        fn plain_ipv4_is_what_etherparse_reads(
            ihl in 4u8..8, tl_delta in -30i32..30, frag in prop_oneof![Just(0u16), Just(0x4000), any::<u16>()],
            proto in prop_oneof![Just(6u8), Just(17), Just(51), any::<u8>()], addrs: [u8; 8], cap_delta in -10i32..40,
        ) {
            let hl = usize::from(ihl) * 4;
            let tl = (hl as i32 + 20 + tl_delta).clamp(0, 0xffff) as u16;
            let mut r = vec![0u8; (hl as i32 + 20 + cap_delta).max(1) as usize];
            let n = r.len().min(20);
            let mut h = [0u8; 20];
            h[0] = 0x40 | ihl;
            h[2..4].copy_from_slice(&tl.to_be_bytes());
            h[6..8].copy_from_slice(&frag.to_be_bytes());
            h[8] = 64;
            h[9] = proto;
            h[12..20].copy_from_slice(&addrs);
            r[..n].copy_from_slice(&h[..n]);
            let (mut fast, mut lax) = (Decoded::EMPTY, Decoded::EMPTY);
            if let Some(ip) = plain_ipv4(&r, &mut fast) {
                prop_assert_eq!(parse_ip_lax(&r, &mut lax), Ok(ip));
                prop_assert_eq!(fast, lax);
            }
        }

        /// The Ethernet/IPv4/TCP shortcut gives what the layered decoder
        /// gives, on the SYN frame (with its options) and data frames with
        /// any byte of the headers changed and any capture length.
        #[test]
        fn shortcut_is_what_the_layers_read(
            syn: bool, pos in 0usize..64, val: u8, payload in 0usize..40, cut in 0usize..120,
        ) {
            let mut f = ETH_TCP_SYN.to_vec();
            if !syn {
                f[47] = 0x18; // ACK|PSH
                f.extend((0..payload).map(|i| i as u8));
                let tl = (f.len() - 14) as u16;
                f[16..18].copy_from_slice(&tl.to_be_bytes());
            }
            if pos < f.len() {
                f[pos] = val;
            }
            f.truncate(cut.max(1));
            let (mut fast, mut layered) = (Decoded::EMPTY, Decoded::EMPTY);
            let (mut x, mut y) = (dec(), dec());
            if plain_tcp_frame(&f, 7, &mut fast) {
                prop_assert_eq!(y.decode_layered(&f, LinkType::Ethernet, 7, &mut layered), Outcome::Packet);
                prop_assert_eq!(fast, layered);
            }
            // Through `decode`, both ways agree on the outcome and counters.
            let (a, b) = (x.decode(&f, LinkType::Ethernet, 7, &mut fast), dec().decode_layered(&f, LinkType::Ethernet, 7, &mut layered));
            prop_assert_eq!(a, b);
            if a == Outcome::Packet {
                prop_assert_eq!(fast, layered);
            }
            prop_assert_eq!(x.stats.packets, u64::from(a == Outcome::Packet));
        }

        /// Mutations of a valid tunnelled frame.
        #[test]
        fn mutated_vxlan_decodes_safely(pos in 0usize..98, val: u8, cut in 0usize..99, gtp: bool) {
            let mut f = if gtp { gtpu_frame() } else { vxlan_frame() };
            let n = f.len();
            f[pos % n] = val;
            f.truncate(cut.max(1));
            let mut d = Decoded::EMPTY;
            let _ = dec().decode(&f, LinkType::Ethernet, 0, &mut d);
        }
    }
}
