//! The XDP program run in the kernel (`BPF_PROG_TEST_RUN`) on frames built
//! with etherparse, its decisions held to the user-space decoder and
//! filter. A real AF_XDP socket (on `lo`, never attached) sits in each
//! program's XSKMAP, so the program takes its redirect path; the test run
//! reports the redirect without carrying it out. Loading BPF needs root
//! (or cap_bpf): without it these tests say so and return; CI runs as root.

use super::*;
use crate::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use crate::filter::{sampled, Cidr};
use etherparse::PacketBuilder;
use proptest::prelude::*;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_REDIRECT: u32 = 4;

const OWN: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const OTHER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn can_load() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: loading BPF needs root");
        return false;
    }
    true
}

/// One AF_XDP socket on `lo` queue 0 for every test (a queue takes one
/// socket; a socket may sit in several programs' maps).
static LO: std::sync::Mutex<Option<super::super::xdp::XdpSource>> = std::sync::Mutex::new(None);

fn load(cfg: &ProgramConfig) -> XdpProgram {
    use super::super::xdp::{AttachMode, BindMode, XdpConfig, XdpSource};
    let p = XdpProgram::load(cfg, 1).unwrap();
    let mut lo = LO.lock().unwrap_or_else(|e| e.into_inner());
    if lo.is_none() {
        let x = XdpConfig {
            ifname: "lo".into(),
            queue: 0,
            frames: 64,
            frame_size: 2048,
            attach: AttachMode::Skb,
            bind: BindMode::Copy,
            huge: false,
        };
        *lo = Some(XdpSource::open(&x, 16, &p).unwrap());
    }
    p.register(0, lo.as_ref().unwrap().fd()).unwrap();
    p
}

fn config() -> ProgramConfig {
    ProgramConfig {
        mac: OWN,
        take_all: false,
        drop_filtered: true,
        max_len: 2048 - 256 - 16,
        sample: 0,
        tunnel_ports: crate::decode::DecodeConfig::default().udp_tunnel_ports(),
        filter: Filter::default(),
    }
}

fn tcp4(
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    len: usize,
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(OTHER, dst_mac)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1, 1000);
    let mut v = Vec::new();
    b.write(&mut v, &vec![b'x'; len]).unwrap();
    v
}

fn udp4(dst_mac: [u8; 6], dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(OTHER, dst_mac)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(40000, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

/// What one run did: the action, the stamp if any, the counters it moved.
struct Run {
    action: u32,
    stamp: Option<Stamp>,
    frame: Vec<u8>,
    delta: XdpCounters,
}

fn run(p: &XdpProgram, frame: &[u8]) -> Run {
    let before = p.counters().unwrap();
    let (action, out) = p.test_run(frame).unwrap();
    let after = p.counters().unwrap();
    let d = |a: u64, b: u64| a - b;
    let delta = XdpCounters {
        frames: d(after.frames, before.frames),
        redirected: d(after.redirected, before.redirected),
        host: d(after.host, before.host),
        filtered: d(after.filtered, before.filtered),
        sampled_out: d(after.sampled_out, before.sampled_out),
        up_unparsed: d(after.up_unparsed, before.up_unparsed),
        trimmed: d(after.trimmed, before.trimmed),
        no_stamp: d(after.no_stamp, before.no_stamp),
        no_socket: d(after.no_socket, before.no_socket),
        mirror_tunnel: d(after.mirror_tunnel, before.mirror_tunnel),
    };
    // A stamped frame comes behind its stamp.
    let stamp = Stamp::parse(&out);
    let frame = if stamp.is_some() {
        out[Stamp::LEN..].to_vec()
    } else {
        out
    };
    Run {
        action,
        stamp,
        frame,
        delta,
    }
}

/// Bound for the socket, stamped.
fn wanted_socket(r: &Run) -> bool {
    r.action == XDP_REDIRECT && r.delta.redirected == 1 && r.stamp.is_some()
}

#[test]
fn mirrored_frames_are_stamped_and_the_hosts_own_pass() {
    if !can_load() {
        return;
    }
    let p = load(&config());
    // A SPAN frame (another host's MAC): stamped, bound for the socket.
    let f = tcp4(OTHER, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 80, 100);
    let mut ts = [0u64; 2];
    for t in ts.iter_mut() {
        let r = run(&p, &f);
        assert!(wanted_socket(&r), "{:?}", r.delta);
        let m = r.stamp.unwrap();
        assert_eq!(m.wire_len as usize, f.len());
        assert_eq!(r.frame, f);
        *t = m.ts_ns;
    }
    // CLOCK_MONOTONIC, advancing.
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let now = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
    assert!(ts[0] > 0 && ts[0] <= ts[1] && ts[1] <= now, "{ts:?} {now}");
    assert!(now - ts[1] < 5_000_000_000);

    // The host's own traffic goes to its stack, untouched, unstamped.
    let own = tcp4(OWN, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 22, 10);
    let r = run(&p, &own);
    assert_eq!((r.action, r.delta.host, r.stamp), (XDP_PASS, 1, None));
    assert_eq!(r.frame, own);
    // So are broadcasts (ARP) and multicasts.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&OTHER);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0u8; 28]);
    let r = run(&p, &arp);
    assert_eq!((r.action, r.delta.host), (XDP_PASS, 1));
    // A VXLAN mirror feed sent to the host's own address is the sensor's.
    let inner = tcp4(OTHER, [192, 168, 1, 1], [192, 168, 1, 2], 1, 2, 5);
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
    vx.extend_from_slice(&inner);
    let r = run(&p, &udp4(OWN, 4789, &vx));
    assert!(wanted_socket(&r), "{:?}", r.delta);
    assert_eq!((r.delta.mirror_tunnel, r.delta.up_unparsed), (1, 1));
    // Other UDP to the host is the host's (its DNS resolver, say).
    let r = run(&p, &udp4(OWN, 53, b"0123456789ab"));
    assert_eq!((r.action, r.delta.host), (XDP_PASS, 1));

    // Take-all mode: the host's frames too.
    let p = load(&ProgramConfig {
        take_all: true,
        ..config()
    });
    assert!(wanted_socket(&run(&p, &own)));
    assert!(wanted_socket(&run(&p, &arp)));
}

#[test]
fn jumbo_frames_are_trimmed_not_dropped() {
    if !can_load() {
        return;
    }
    let p = load(&config());
    let f = tcp4(OTHER, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 80, 3000);
    let r = run(&p, &f);
    assert!(wanted_socket(&r), "{:?}", r.delta);
    assert_eq!(r.delta.trimmed, 1);
    assert_eq!(r.frame.len(), 2048 - 256 - 16);
    assert_eq!(r.frame[..], f[..2048 - 256 - 16]);
    assert_eq!(r.stamp.unwrap().wire_len as usize, f.len());
}

#[test]
fn kernel_filters_drop_or_pass_per_option() {
    if !can_load() {
        return;
    }
    let filter = Filter {
        exclude_port: vec![22],
        include_net: vec!["10.0.0.0/8".parse().unwrap()],
        ..Default::default()
    };
    for drop in [true, false] {
        let p = load(&ProgramConfig {
            filter: filter.clone(),
            drop_filtered: drop,
            ..config()
        });
        let ssh = tcp4(OTHER, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 22, 10);
        let r = run(&p, &ssh);
        assert_eq!(r.delta.filtered, 1);
        assert_eq!(r.action, if drop { XDP_DROP } else { XDP_PASS });
        assert_eq!(r.stamp, None);
        let outside = tcp4(OTHER, [192, 168, 0, 1], [172, 16, 0, 2], 40000, 80, 10);
        assert_eq!(run(&p, &outside).delta.filtered, 1);
        let web = tcp4(OTHER, [192, 168, 0, 1], [10, 9, 0, 2], 40000, 80, 10);
        assert!(wanted_socket(&run(&p, &web)));
        // Fragments go up whatever their ports say: user space reassembles
        // and filters the datagram. First fragment (MF), then a later one.
        for frag in [0x2000u16, 0x0010] {
            let mut f = ssh.clone();
            f[20..22].copy_from_slice(&frag.to_be_bytes());
            let r = run(&p, &f);
            assert!(wanted_socket(&r), "{frag:#x} {:?}", r.delta);
            assert_eq!(r.delta.up_unparsed, 1);
        }
        // So do tunnels, whose inner packets the filter is for.
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        vx.extend_from_slice(&ssh);
        let r = run(&p, &udp4(OTHER, 4789, &vx));
        assert!(wanted_socket(&r), "{:?}", r.delta);
        assert_eq!(r.delta.up_unparsed, 1);
    }
}

/// A frame the test builds: the choices that matter to the program.
#[derive(Clone, Debug)]
struct Shape {
    v6: bool,
    vlans: Vec<u16>,
    proto: u8,
    src: u8,
    dst: u8,
    sport: u16,
    dport: u16,
    fragment: bool,
    cut: usize,
}

fn build(s: &Shape) -> Vec<u8> {
    let mut l4 = Vec::new();
    match s.proto {
        6 => {
            l4.extend_from_slice(&s.sport.to_be_bytes());
            l4.extend_from_slice(&s.dport.to_be_bytes());
            l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0]);
        }
        17 | 132 => {
            l4.extend_from_slice(&s.sport.to_be_bytes());
            l4.extend_from_slice(&s.dport.to_be_bytes());
            let extra = if s.proto == 132 { 8 } else { 4 };
            let len = (4 + extra + 8) as u16;
            l4.extend_from_slice(&len.to_be_bytes());
            l4.extend_from_slice(&vec![0u8; extra - 2]);
        }
        1 | 58 => l4.extend_from_slice(&[
            (s.sport & 0xff) as u8,
            (s.dport & 0xff) as u8,
            0,
            0,
            0,
            0,
            0,
            0,
        ]),
        _ => l4.extend_from_slice(&[0u8; 8]),
    }
    l4.extend_from_slice(b"payload!");
    let mut f = Vec::new();
    f.extend_from_slice(&OTHER);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x09]);
    for v in &s.vlans {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    if s.v6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        f.extend_from_slice(&[s.proto, 64]);
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = s.src;
        f.extend_from_slice(&a);
        a[15] = s.dst;
        f.extend_from_slice(&a);
    } else {
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        let frag: u16 = if s.fragment { 0x2000 } else { 0x4000 };
        f.extend_from_slice(&[0, 1]);
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, s.proto, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, s.src]);
        f.extend_from_slice(&[10, 0, 1, s.dst]);
    }
    f.extend_from_slice(&l4);
    let keep = f.len().saturating_sub(s.cut).max(1);
    f.truncate(keep);
    f
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(vec![5u16, 7, 100]), 0..=3),
        prop::sample::select(vec![6u8, 17, 1, 58, 132, 47, 50]),
        0u8..4,
        0u8..4,
        prop::sample::select(vec![22u16, 53, 80, 443, 4789, 40000]),
        prop::sample::select(vec![22u16, 53, 80, 443, 4789, 40000]),
        prop::bool::weighted(0.1),
        prop::sample::select(vec![0usize, 0, 0, 0, 3, 9, 30]),
    )
        .prop_map(
            |(v6, vlans, proto, src, dst, sport, dport, fragment, cut)| Shape {
                v6,
                vlans,
                proto,
                src,
                dst,
                sport,
                dport,
                fragment,
                cut,
            },
        )
}

fn filters() -> impl Strategy<Value = (Filter, u32)> {
    let nets = prop::collection::vec(
        prop::sample::select(vec![
            "10.0.0.1/32",
            "10.0.1.0/24",
            "10.0.0.0/8",
            "fd00::1/128",
            "fd00::/16",
            "fd00::2/127",
        ]),
        0..3,
    );
    let ports = prop::collection::vec(prop::sample::select(vec![22u16, 53, 80, 40000]), 0..3);
    let protos = prop::collection::vec(prop::sample::select(vec![6u8, 17, 1, 58]), 0..2);
    let vlans = prop::collection::vec(prop::sample::select(vec![5u16, 7]), 0..2);
    (
        (nets.clone(), nets),
        (ports.clone(), ports),
        (protos.clone(), protos),
        (vlans.clone(), vlans),
        prop::sample::select(vec![0u32, 1, 2, 3]),
    )
        .prop_map(|(n, p, pr, v, sample)| {
            let cidrs = |l: Vec<&str>| l.into_iter().map(|s| s.parse::<Cidr>().unwrap()).collect();
            (
                Filter {
                    include_net: cidrs(n.0),
                    exclude_net: cidrs(n.1),
                    include_port: p.0,
                    exclude_port: p.1,
                    include_proto: pr.0,
                    exclude_proto: pr.1,
                    include_vlan: v.0,
                    exclude_vlan: v.1,
                },
                sample,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The program drops a frame only when user space would keep nothing of
    /// it (its filter or sample leaves the decoded packet out), and keeps
    /// every frame it decides on that user space would keep.
    #[test]
    fn the_kernel_decides_as_user_space_would(
        (filter, sample) in filters(),
        frames in prop::collection::vec(shapes(), 1..24),
    ) {
        if !can_load() {
            return Ok(());
        }
        let p = load(&ProgramConfig { filter: filter.clone(), sample, ..config() });
        let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
        for s in &frames {
            let f = build(s);
            let r = run(&p, &f);
            let mut d = Decoded::EMPTY;
            let o = dec.decode(&f, super::super::LinkType::Ethernet, 1, &mut d);
            dec.end_batch();
            let keeps = o == Outcome::Packet && filter.pass(&d) && sampled(&d, sample);
            let dropped = r.delta.filtered + r.delta.sampled_out;
            prop_assert_eq!(r.delta.frames, 1);
            if dropped == 1 {
                prop_assert!(!keeps, "kernel dropped what user space keeps: {:?} {:?}", s, d);
                prop_assert_eq!(r.action, XDP_DROP);
            } else {
                prop_assert!(wanted_socket(&r), "{:?} {:?}", s, r.delta);
                if r.delta.up_unparsed == 0 {
                    prop_assert!(keeps, "kernel kept what user space drops: {:?} {:?}", s, d);
                }
            }
        }
    }
}
