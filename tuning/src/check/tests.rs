//! The rules on machines described here: a two-socket server with
//! everything wrong, the same server tuned, and the corner cases.

use super::*;
use crate::ethtool::{Channels, Coalesce, Feature, FlowType, Pause, Rings, Rss, XdpFeatures};
use crate::host::{HugePages, Irq, NetDev};
use crate::topology::{Cpu, Node, Topology};

/// Two sockets of 4 cores with hyperthreads: node 0 has CPUs 0-3 and
/// siblings 8-11, node 1 has CPUs 4-7 and siblings 12-15.
fn two_sockets() -> Topology {
    let cpus = (0..16)
        .map(|id| {
            let core = id % 8;
            let node = core / 4;
            Cpu {
                id,
                online: true,
                allowed: true,
                package: Some(node),
                core: Some(core % 4),
                node: Some(node),
                siblings: vec![core, core + 8],
            }
        })
        .collect();
    let nodes = (0..2)
        .map(|n| Node {
            id: n,
            cpus: (0..16).filter(|c| (c % 8) / 4 == n).collect(),
            mem_bytes: 32 << 30,
            distances: if n == 0 { vec![10, 21] } else { vec![21, 10] },
            allowed: true,
        })
        .collect();
    Topology {
        cpus,
        nodes,
        isolated: vec![],
        nohz_full: vec![],
    }
}

fn feature(name: &str, active: bool, changeable: bool) -> Feature {
    Feature {
        name: name.into(),
        active,
        wanted: active,
        changeable,
    }
}

/// An ixgbe-like NIC on node 1 with 8 queues, as a driver ships it.
fn shipped_nic() -> NicSnapshot {
    NicSnapshot {
        dev: NetDev {
            name: "eth1".into(),
            mtu: 1500,
            flags: 0x1003,
            driver: Some("ixgbe".into()),
            numa_node: Some(1),
            rx_queues: 8,
            tx_queues: 8,
        },
        driver: Got::Yes("ixgbe".into()),
        features: Got::Yes(vec![
            feature("large-receive-offload", true, true),
            feature("rx-gro", true, true),
            feature("rx-gro-hw", false, false),
            feature("rx-vlan-hw-parse", true, false),
        ]),
        channels: Got::Yes(Channels {
            rx_max: 0,
            tx_max: 0,
            other_max: 1,
            combined_max: 63,
            rx: 0,
            tx: 0,
            other: 1,
            combined: 8,
        }),
        rings: Got::Yes(Rings {
            rx_max: 4096,
            tx_max: 4096,
            rx: 512,
            tx: 512,
        }),
        coalesce: Got::Yes(Coalesce {
            rx_usecs: Some(0),
            rx_max_frames: Some(1),
            adaptive_rx: Some(false),
            ..Default::default()
        }),
        pause: Got::Yes(Pause {
            autoneg: true,
            rx: true,
            tx: true,
        }),
        rss: Got::Yes(Rss {
            rx_rings: 8,
            hfunc: HASH_TOEPLITZ,
            hfuncs: vec![("toeplitz".into(), 1), ("xor".into(), 2)],
            input_xfrm: 0,
            key: (0..40).map(|i| (i * 37 + 11) as u8).collect(),
            indir: (0..128).map(|i| i % 8).collect(),
        }),
        rx_hash: vec![
            (
                FlowType::Tcp4,
                Got::Yes(RXH_IP_SRC | RXH_IP_DST | RXH_L4_B_0_1 | RXH_L4_B_2_3),
            ),
            (
                FlowType::Udp4,
                Got::Yes(RXH_IP_SRC | RXH_IP_DST | RXH_L4_B_0_1 | RXH_L4_B_2_3),
            ),
            (
                FlowType::Tcp6,
                Got::Yes(RXH_IP_SRC | RXH_IP_DST | RXH_L4_B_0_1 | RXH_L4_B_2_3),
            ),
            (FlowType::Udp6, Got::Yes(RXH_IP_SRC | RXH_IP_DST)),
        ],
        irqs: Got::Yes(
            (0..8)
                .map(|q| Irq {
                    irq: 100 + q,
                    name: format!("eth1-TxRx-{q}"),
                    queue: Some(q),
                    affinity: (0..16).collect(),
                })
                .collect(),
        ),
        xdp: Got::Yes(XdpFeatures {
            flags: 0x07,
            zc_max_segs: 1,
            rx_metadata: 0,
            xsk_features: 0,
        }),
    }
}

fn profile(text: &str) -> Profile {
    Profile::parse(text, "test.toml", 16).unwrap()
}

fn snapshot(nic: NicSnapshot) -> Snapshot {
    Snapshot {
        topo: two_sockets(),
        governors: (0..16).map(|c| (c, "powersave".to_string())).collect(),
        irqbalance: true,
        huge: HugePages::default(),
        nic: Some(nic),
    }
}

fn ids(f: &[Finding]) -> Vec<(&str, Severity)> {
    f.iter().map(|f| (f.id.as_str(), f.severity)).collect()
}

const FOUR_ON_NODE0: &str = "name = \"t\"\ncontrol_core = 0\nworker_cores = [1, 2, 3, 8]\nqueues = [0, 1, 2, 3]\npoll = \"busy\"\n";

#[test]
fn a_shipped_server_has_everything_wrong() {
    let p = profile(FOUR_ON_NODE0);
    let s = snapshot(shipped_nic());
    let f = check(
        &s,
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: true,
        },
    );
    let got = ids(&f);
    for want in [
        ("queues-workers", Severity::Error),
        ("lro", Severity::Error),
        ("rss-symmetric", Severity::Warning),
        ("rx-hash-fields", Severity::Warning),
        ("gro", Severity::Warning),
        ("rings", Severity::Warning),
        ("coalesce", Severity::Warning),
        ("pause", Severity::Warning),
        ("irq-affinity", Severity::Warning),
        ("irqbalance", Severity::Warning),
        ("numa-workers", Severity::Warning),
        ("governor", Severity::Warning),
        ("isolation", Severity::Warning),
        // Fixed by the driver: worth knowing, nothing to do.
        ("vlan-strip", Severity::Info),
        ("xdp-driver", Severity::Info),
    ] {
        assert!(got.contains(&want), "{want:?} not in {got:?}");
    }
    // Worst first.
    assert!(f.windows(2).all(|w| w[0].severity <= w[1].severity));
    // 8 queues, 4 captured: the fix names the count and the change.
    let q = f.iter().find(|f| f.id == "queues-workers").unwrap();
    assert_eq!(q.fix, "ethtool -L eth1 combined 4");
    assert_eq!(
        q.action,
        Some(Action::Channels {
            combined: Some(4),
            rx: None
        })
    );
    // Only UDP hashed with ports is a fragment problem; udp6 is already sd.
    let h: Vec<_> = f.iter().filter(|f| f.id == "rx-hash-fields").collect();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].fix, "ethtool -N eth1 rx-flow-hash udp4 sd");
    // Each captured queue's IRQ goes to its worker's core; the other 4
    // queues are not the profile's.
    let irq: Vec<_> = f.iter().filter(|f| f.id == "irq-affinity").collect();
    assert_eq!(irq.len(), 4);
    assert_eq!(irq[3].fix, "echo 8 > /proc/irq/103/smp_affinity_list");
    // Governors of worker cores only.
    assert_eq!(f.iter().filter(|f| f.id == "governor").count(), 4);
    // Every worker is on node 0, the NIC on node 1.
    let n = f.iter().find(|f| f.id == "numa-workers").unwrap();
    assert!(n.subject.contains("1-3,8"), "{n:?}");
    // The rings go to the device's maximum.
    assert_eq!(
        f.iter().find(|f| f.id == "rings").unwrap().action,
        Some(Action::Rings {
            rx: Some(4096),
            tx: None
        })
    );
}

#[test]
fn a_tuned_server_is_clean() {
    let p = profile("name = \"t\"\ncontrol_core = 0\nworker_cores = [4, 5, 6, 7]\nqueues = [0, 1, 2, 3]\n[nic]\nrx_usecs = 50\n");
    let mut n = shipped_nic();
    n.features = Got::Yes(vec![
        feature("large-receive-offload", false, true),
        feature("rx-gro", false, true),
        feature("rx-vlan-hw-parse", false, true),
    ]);
    n.channels = Got::Yes(Channels {
        combined: 4,
        ..*n.channels.get().unwrap()
    });
    n.rings = Got::Yes(Rings {
        rx: 4096,
        ..*n.rings.get().unwrap()
    });
    n.coalesce = Got::Yes(Coalesce {
        rx_usecs: Some(50),
        ..Default::default()
    });
    n.pause = Got::Yes(Pause {
        autoneg: false,
        rx: false,
        tx: false,
    });
    if let Got::Yes(r) = &mut n.rss {
        r.input_xfrm = RXH_XFRM_SYM_XOR;
    }
    n.rx_hash[1].1 = Got::Yes(RXH_IP_SRC | RXH_IP_DST);
    if let Got::Yes(irqs) = &mut n.irqs {
        for i in irqs.iter_mut() {
            i.affinity = vec![4 + i.queue.unwrap() as usize % 4];
        }
    }
    let mut s = snapshot(n);
    s.governors.clear();
    s.irqbalance = false;
    let f = check(
        &s,
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: true,
        },
    );
    assert!(
        f.iter().all(|f| f.severity == Severity::Info),
        "{:?}",
        ids(&f)
    );
}

#[test]
fn symmetric_keys() {
    assert!(key_is_symmetric(&symmetric_key(40)));
    assert!(key_is_symmetric(&symmetric_key(52)));
    let mut k = symmetric_key(40);
    k[17] ^= 1;
    assert!(!key_is_symmetric(&k));
    // A symmetric key with Toeplitz needs no change; with another
    // function it does.
    let p = profile(FOUR_ON_NODE0);
    let mut n = shipped_nic();
    if let Got::Yes(r) = &mut n.rss {
        r.key = symmetric_key(40);
    }
    let t = Target {
        profile: &p,
        iface: Some("eth1"),
        explicit: true,
    };
    assert!(!check(&snapshot(n.clone()), &t)
        .iter()
        .any(|f| f.id == "rss-symmetric"));
    if let Got::Yes(r) = &mut n.rss {
        r.hfunc = 2;
    }
    let f = check(&snapshot(n), &t);
    let r = f.iter().find(|f| f.id == "rss-symmetric").unwrap();
    assert!(r.now.starts_with("xor hash"), "{r:?}");
}

#[test]
fn a_tunnelled_feed_points_to_the_dispatcher() {
    let p = profile("name = \"t\"\ncontrol_core = 0\nworker_cores = [4]\nqueues = [0]\n[nic]\nfeed = \"vxlan\"\n");
    let mut n = shipped_nic();
    n.channels = Got::Yes(Channels {
        combined: 1,
        ..*n.channels.get().unwrap()
    });
    let f = check(
        &snapshot(n),
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: true,
        },
    );
    let got = ids(&f);
    assert!(got.contains(&("rss-tunnel", Severity::Info)), "{got:?}");
    assert!(!got.iter().any(|(id, _)| *id == "rss-symmetric"), "{got:?}");
    let m = f.iter().find(|f| f.id == "mtu").unwrap();
    assert_eq!(m.severity, Severity::Error);
    assert_eq!(m.action, Some(Action::Mtu { mtu: 1600 }));
}

#[test]
fn unreadable_settings_are_not_findings() {
    // veth: no RSS, rings, coalescing or pause; one queue; no IRQs.
    let p = profile("name = \"t\"\ncontrol_core = 0\nworker_cores = [1]\n");
    let mut n = shipped_nic();
    n.dev.numa_node = None;
    n.channels = Got::Unsupported;
    n.dev.rx_queues = 1;
    n.rings = Got::Unsupported;
    n.coalesce = Got::Unsupported;
    n.pause = Got::Unsupported;
    n.rss = Got::Unsupported;
    n.rx_hash = FlowType::ALL
        .iter()
        .map(|&f| (f, Got::Unsupported))
        .collect();
    n.irqs = Got::Yes(vec![]);
    n.features = Got::Yes(vec![]);
    let mut s = snapshot(n);
    s.governors.clear();
    let f = check(
        &s,
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: false,
        },
    );
    assert!(
        f.iter().all(|f| f.severity == Severity::Info),
        "{:?}",
        ids(&f)
    );
    assert_eq!(
        Got::<u32>::Unsupported.why_not(),
        "not supported by the driver"
    );
}

#[test]
fn findings_round_trip_through_json() {
    let p = profile(FOUR_ON_NODE0);
    let f = check(
        &snapshot(shipped_nic()),
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: true,
        },
    );
    let text = serde_json::to_string(&f).unwrap();
    let back: Vec<Finding> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, f);
    assert!(text.contains("\"change\":\"channels\""), "{text}");
}

#[test]
fn a_dispatching_profile_wants_its_irq_on_the_control_core() {
    // A tunnelled feed on one queue, three workers: the queue's lane runs on
    // the control core and dispatches.
    let p = profile(
        "name = \"t\"\ncontrol_core = 4\nworker_cores = [5, 6, 7]\nqueues = [0]\n[nic]\nfeed = \"geneve\"\nmtu = 9001\n",
    );
    assert!(p.dispatches());
    let mut n = shipped_nic();
    n.dev.mtu = 9001;
    n.channels = Got::Yes(Channels {
        combined: 1,
        ..*n.channels.get().unwrap()
    });
    let f = check(
        &snapshot(n),
        &Target {
            profile: &p,
            iface: Some("eth1"),
            explicit: true,
        },
    );
    assert!(
        !f.iter().any(|f| f.id == "queues-workers" || f.id == "mtu"),
        "{:?}",
        ids(&f)
    );
    let irq: Vec<_> = f.iter().filter(|f| f.id == "irq-affinity").collect();
    assert_eq!(irq.len(), 1, "{irq:?}");
    assert_eq!(irq[0].fix, "echo 4 > /proc/irq/100/smp_affinity_list");
}
