//! `wirelog tune check`: what in the machine and the capture interface
//! costs packets or splits flows, each finding with its severity, why it
//! matters, the exact command that fixes it and the change `tune apply`
//! makes. The rules read a [`Snapshot`], so they are tested on machines
//! described in a test as well as on the live one.

use serde::{Deserialize, Serialize};

use crate::ethtool::{
    Channels, Coalesce, Feature, FlowType, Pause, Rings, Rss, XdpFeatures, RXH_IP_DST, RXH_IP_SRC,
    RXH_L4_B_0_1, RXH_L4_B_2_3, RXH_XFRM_SYM_OR_XOR, RXH_XFRM_SYM_XOR,
};
use crate::host::{HugePages, Irq, NetDev};
use crate::profile::{Profile, Ring, RssWant};
use crate::topology::format_cpulist;
use crate::topology::Topology;

/// A value read from the kernel, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got<T> {
    /// The value.
    Yes(T),
    /// The driver does not offer it (EOPNOTSUPP).
    Unsupported,
    /// Reading it failed.
    Failed(String),
}

impl<T> Got<T> {
    /// From an ioctl or netlink answer.
    pub fn from_io(r: std::io::Result<T>) -> Self {
        match r {
            Ok(v) => Got::Yes(v),
            Err(e) if crate::ethtool::errno(&e) == Some(libc::EOPNOTSUPP) => Got::Unsupported,
            Err(e) => Got::Failed(e.to_string()),
        }
    }

    /// The value, if read.
    pub fn get(&self) -> Option<&T> {
        match self {
            Got::Yes(v) => Some(v),
            _ => None,
        }
    }

    /// What to print when there is no value.
    pub fn why_not(&self) -> String {
        match self {
            Got::Yes(_) => String::new(),
            Got::Unsupported => "not supported by the driver".into(),
            Got::Failed(e) => format!("unreadable: {e}"),
        }
    }
}

/// The capture interface as the kernel describes it.
#[derive(Clone, Debug)]
pub struct NicSnapshot {
    /// sysfs view.
    pub dev: NetDev,
    /// Driver name (ethtool's, which virtual devices have too).
    pub driver: Got<String>,
    /// Offloads.
    pub features: Got<Vec<Feature>>,
    /// Queue counts.
    pub channels: Got<Channels>,
    /// Ring sizes.
    pub rings: Got<Rings>,
    /// Interrupt coalescing.
    pub coalesce: Got<Coalesce>,
    /// Flow control.
    pub pause: Got<Pause>,
    /// RSS key, function, transform and indirection table.
    pub rss: Got<Rss>,
    /// Hash fields per flow type.
    pub rx_hash: Vec<(FlowType, Got<u64>)>,
    /// The device's IRQs.
    pub irqs: Got<Vec<Irq>>,
    /// XDP support.
    pub xdp: Got<XdpFeatures>,
}

impl NicSnapshot {
    /// Receive queues in use: the channel counts, else sysfs's queues.
    pub fn rx_queues(&self) -> u32 {
        match self.channels.get() {
            Some(c) if c.combined + c.rx > 0 => c.combined + c.rx,
            _ => self.dev.rx_queues,
        }
    }

    fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.get()?.iter().find(|f| f.name == name)
    }
}

/// The machine and the interface.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// CPUs and NUMA nodes.
    pub topo: Topology,
    /// `(cpu, governor)` where cpufreq exists.
    pub governors: Vec<(usize, String)>,
    /// Whether irqbalance runs.
    pub irqbalance: bool,
    /// Huge pages.
    pub huge: HugePages,
    /// The interface, when one was named.
    pub nic: Option<NicSnapshot>,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Splits flows or loses packets as things stand.
    Error,
    /// Costs packets or CPU under load.
    Warning,
    /// Worth knowing; does not make the check fail.
    Info,
}

impl Severity {
    /// The word printed.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A change `tune apply` makes (and, with the old value, what
/// `tune apply --revert` restores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Action {
    /// Offloads on or off, by ethtool's feature name.
    Features {
        /// `(name, on)`.
        set: Vec<(String, bool)>,
    },
    /// Queue counts.
    Channels {
        /// Combined channels.
        combined: Option<u32>,
        /// RX-only channels.
        rx: Option<u32>,
    },
    /// Ring sizes.
    Rings {
        /// RX descriptors.
        rx: Option<u32>,
        /// TX descriptors.
        tx: Option<u32>,
    },
    /// Interrupt coalescing.
    Coalesce {
        /// rx-usecs.
        rx_usecs: Option<u32>,
        /// adaptive-rx.
        adaptive_rx: Option<bool>,
    },
    /// Flow control.
    Pause {
        /// autoneg.
        autoneg: bool,
        /// rx.
        rx: bool,
        /// tx.
        tx: bool,
    },
    /// RSS: transform, function, key, table.
    Rss {
        /// RXH_XFRM_* (0: none).
        input_xfrm: Option<u8>,
        /// ETH_RSS_HASH_* bit.
        hfunc: Option<u32>,
        /// Key, hex.
        key: Option<String>,
        /// Indirection table (empty: the driver's default).
        indir: Option<Vec<u32>>,
    },
    /// Hash fields of one flow type.
    RxHash {
        /// `tcp4`, `udp4`, `tcp6`, `udp6`.
        flow: String,
        /// ethtool's letters (`sd`, `sdfn`).
        fields: String,
    },
    /// An IRQ's CPUs.
    IrqAffinity {
        /// IRQ.
        irq: u32,
        /// CPU list.
        cpus: String,
    },
    /// MTU.
    Mtu {
        /// Bytes.
        mtu: u32,
    },
    /// The interface's own promiscuous flag.
    Promisc {
        /// On or off.
        on: bool,
    },
    /// A CPU's frequency governor.
    Governor {
        /// CPU.
        cpu: usize,
        /// Governor name.
        governor: String,
    },
}

/// One thing wrong, or worth knowing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable name (docs/deploy/tuning.md explains each).
    pub id: String,
    /// How bad.
    pub severity: Severity,
    /// What it is about: the interface, a queue's IRQ, a CPU.
    pub subject: String,
    /// What it is now.
    pub now: String,
    /// What it should be.
    pub want: String,
    /// Why it costs packets or splits flows.
    pub why: String,
    /// The command that fixes it by hand.
    pub fix: String,
    /// What `tune apply` does about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// What the check holds the machine against.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// The interface, if one was named.
    pub iface: Option<&'a str>,
    /// Whether the profile was given (a derived default is not held to
    /// its queue list).
    pub explicit: bool,
}

impl Target<'_> {
    /// Queues the capture takes: the profile's list, else one per worker.
    pub fn queues(&self) -> Vec<u32> {
        match &self.profile.queues {
            Some(q) => q.clone(),
            None => (0..self.profile.worker_cores.len() as u32).collect(),
        }
    }
}

/// The classic symmetric Toeplitz key: 0x6d5a repeated, so swapping source
/// and destination (addresses and ports, each a multiple of 16 bits) gives
/// the same hash.
pub fn symmetric_key(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| if i % 2 == 0 { 0x6d } else { 0x5a })
        .collect()
}

/// Whether a Toeplitz key hashes both directions alike: it repeats every
/// 16 bits.
pub fn key_is_symmetric(key: &[u8]) -> bool {
    key.len() >= 2 && key.iter().enumerate().all(|(i, &b)| b == key[i % 2])
}

/// Whether RSS sends both directions of a flow to one queue: the kernel's
/// symmetric transform, or Toeplitz with a symmetric key.
pub fn rss_is_symmetric(r: &Rss) -> bool {
    r.input_xfrm & (RXH_XFRM_SYM_XOR | RXH_XFRM_SYM_OR_XOR) != 0
        || (r.hfunc == HASH_TOEPLITZ && key_is_symmetric(&r.key))
}

/// ETH_RSS_HASH_TOP: Toeplitz.
pub const HASH_TOEPLITZ: u32 = 1;

/// Bytes as `6d:5a:…`, ethtool's spelling of a key.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Every finding, worst first.
pub fn check(s: &Snapshot, t: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    cores(s, t, &mut out);
    if let (Some(n), Some(ifname)) = (&s.nic, t.iface) {
        nic(s, n, ifname, t, &mut out);
    }
    host(s, t, &mut out);
    out.sort_by_key(|f| f.severity);
    out
}

#[allow(clippy::too_many_arguments)]
fn finding(
    id: &str,
    severity: Severity,
    subject: impl Into<String>,
    now: impl Into<String>,
    want: impl Into<String>,
    why: impl Into<String>,
    fix: impl Into<String>,
    action: Option<Action>,
) -> Finding {
    Finding {
        id: id.into(),
        severity,
        subject: subject.into(),
        now: now.into(),
        want: want.into(),
        why: why.into(),
        fix: fix.into(),
        action,
    }
}

fn cores(s: &Snapshot, t: &Target, out: &mut Vec<Finding>) {
    let p = t.profile;
    let offline: Vec<usize> = p
        .worker_cores
        .iter()
        .chain(std::iter::once(&p.control_core))
        .copied()
        .filter(|&c| s.topo.cpu(c).is_none_or(|cpu| !cpu.online))
        .collect();
    if !offline.is_empty() {
        out.push(finding(
            "profile-cores",
            Severity::Error,
            format!("profile {}", p.name),
            format!("cores {} offline or absent", format_cpulist(&offline)),
            "every core of the profile online",
            "a thread pinned to an offline core cannot run there",
            "wirelog tune generate --iface IF --workers N > profile.toml",
            None,
        ));
    }
    let online = s.topo.online().count();
    if online > 1 && p.worker_cores.contains(&p.control_core) {
        out.push(finding(
            "profile-cores",
            Severity::Warning,
            format!("profile {}", p.name),
            format!("control core {} is also a worker core", p.control_core),
            "the control core apart from the workers",
            "the outputs and a worker take turns on one core: the worker's ring fills while the outputs write",
            "wirelog tune generate --iface IF --workers N > profile.toml",
            None,
        ));
    }
    let busy = p.poll.as_deref() == Some("busy");
    let not_iso: Vec<usize> = p
        .worker_cores
        .iter()
        .copied()
        .filter(|c| !s.topo.isolated.contains(c))
        .collect();
    if busy && !not_iso.is_empty() && online > 1 {
        out.push(finding(
            "isolation",
            Severity::Warning,
            format!("cores {}", format_cpulist(&not_iso)),
            "not isolated",
            "isolated from the scheduler",
            "a spinning worker shares its core with whatever the scheduler puts there, and frames wait while it is off the CPU",
            format!(
                "kernel command line: isolcpus={0} nohz_full={0} rcu_nocbs={0} (then reboot), or poll = \"adaptive\"",
                format_cpulist(&p.worker_cores)
            ),
            None,
        ));
    }
    let slow: Vec<usize> = s
        .governors
        .iter()
        .filter(|(c, g)| p.worker_cores.contains(c) && g != "performance")
        .map(|(c, _)| *c)
        .collect();
    for c in &slow {
        let g = &s.governors.iter().find(|(x, _)| x == c).expect("listed").1;
        out.push(finding(
            "governor",
            Severity::Warning,
            format!("cpu {c}"),
            g.clone(),
            "performance",
            "a worker core that clocks down between bursts takes the next burst slowly, and its ring fills",
            format!("echo performance > /sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor"),
            Some(Action::Governor {
                cpu: *c,
                governor: "performance".into(),
            }),
        ));
    }
}

fn nic(s: &Snapshot, n: &NicSnapshot, ifname: &str, t: &Target, out: &mut Vec<Finding>) {
    let want = &t.profile.nic;
    let queues = t.queues();
    let have = n.rx_queues();
    let feed = want.feed();
    // Queues: a queue without a socket is a queue whose frames nobody reads.
    if t.explicit || t.profile.queues.is_some() {
        let wanted = queues.len() as u32;
        if have != wanted {
            let (fix, action) = match n.channels.get() {
                Some(c) if c.combined_max > 0 => (
                    format!("ethtool -L {ifname} combined {wanted}"),
                    Some(Action::Channels {
                        combined: Some(wanted),
                        rx: None,
                    }),
                ),
                Some(c) if c.rx_max > 0 => (
                    format!("ethtool -L {ifname} rx {wanted}"),
                    Some(Action::Channels {
                        combined: None,
                        rx: Some(wanted),
                    }),
                ),
                _ => (
                    format!("ethtool -L {ifname} combined {wanted} (the driver does not offer it: set queues in the profile to 0-{})", have.saturating_sub(1)),
                    None,
                ),
            };
            let (sev, why) = if have > wanted {
                (
                    Severity::Error,
                    format!(
                        "RSS spreads frames over {have} queues and the profile captures {wanted}: frames on the other queues reach no socket and are lost"
                    ),
                )
            } else {
                (
                    Severity::Error,
                    format!("the profile captures queues the interface does not have (it has {have}): the capture cannot bind them"),
                )
            };
            out.push(finding(
                "queues-workers",
                sev,
                ifname,
                format!("{have} receive queues"),
                format!("{wanted} (one per worker)"),
                why,
                fix,
                action,
            ));
        }
    }
    let multi = queues.len() > 1 || have > 1;
    if feed.tunnelled() {
        out.push(finding(
            "rss-tunnel",
            Severity::Info,
            ifname,
            format!("{} feed", feed.name()),
            "the dispatcher spreading flows",
            format!(
                "a {} mirror reaches the sensor as one outer flow per session and direction (fixed outer addresses; AWS's VXLAN source port differs per direction), which no RSS key spreads: everything lands on one or two queues, and wirelog re-steers each frame by its inner tuple",
                feed.name()
            ),
            format!("one queue (ethtool -L {ifname} combined 1, and queues = [0] in the profile): its lane on the control core dispatches to every worker by the inner flow"),
            None,
        ));
    } else if multi && want.rss != Some(RssWant::Keep) {
        rss(n, ifname, out);
    }
    // A tunnelled feed's outer UDP is the mirror session's, not a
    // fragmenting application's: its hash fields are left as they are.
    if multi && !feed.tunnelled() {
        hash_fields(n, ifname, out);
    }
    offloads(n, ifname, out);
    if let Some(r) = n.rings.get() {
        let target = match want.rx_ring.unwrap_or(Ring::Max) {
            Ring::Max => r.rx_max,
            Ring::N(x) => x.min(r.rx_max),
        };
        if r.rx_max > 0 && r.rx < target {
            out.push(finding(
                "rings",
                Severity::Warning,
                ifname,
                format!("rx ring {} descriptors (max {})", r.rx, r.rx_max),
                format!("{target}"),
                "the receive ring is what holds frames while the kernel is late to serve the queue: a short one overflows in a burst (rx_missed / rx_no_buffer in `ethtool -S`)",
                format!("ethtool -G {ifname} rx {target}"),
                Some(Action::Rings {
                    rx: Some(target),
                    tx: None,
                }),
            ));
        }
    }
    if let Some(c) = n.coalesce.get() {
        coalesce(c, want, ifname, out);
    }
    if let Some(p) = n.pause.get() {
        if p.tx || p.rx || p.autoneg {
            out.push(finding(
                "pause",
                Severity::Warning,
                ifname,
                format!(
                    "autoneg {} rx {} tx {}",
                    onoff(p.autoneg),
                    onoff(p.rx),
                    onoff(p.tx)
                ),
                "autoneg off rx off tx off",
                "with flow control the port sends PAUSE frames to the switch when its buffers fill: the switch then holds back or drops the mirror, and on some switches the monitored links",
                format!("ethtool -A {ifname} autoneg off rx off tx off"),
                Some(Action::Pause {
                    autoneg: false,
                    rx: false,
                    tx: false,
                }),
            ));
        }
    }
    // IRQs: queue i's interrupt belongs on worker i's core, where its frames
    // are read.
    if want.irq_affinity != Some(false) {
        if let Some(irqs) = n.irqs.get() {
            for (i, q) in queues.iter().enumerate() {
                let core = t.profile.queue_core(i);
                for irq in irqs.iter().filter(|x| x.queue == Some(*q)) {
                    if irq.affinity != [core] {
                        out.push(finding(
                            "irq-affinity",
                            Severity::Warning,
                            format!("{ifname} queue {q} IRQ {}", irq.irq),
                            format!("cpus {}", format_cpulist(&irq.affinity)),
                            if t.profile.dispatches() {
                                format!("cpu {core} (the control core, whose lane reads the queue)")
                            } else {
                                format!("cpu {core} (worker {i})")
                            },
                            "the queue's interrupt and its softirq work run where the IRQ is routed: elsewhere than the worker, every frame crosses cores, and an XDP attach resets the routing on some kernels (check again after start)",
                            format!("echo {core} > /proc/irq/{}/smp_affinity_list", irq.irq),
                            Some(Action::IrqAffinity {
                                irq: irq.irq,
                                cpus: core.to_string(),
                            }),
                        ));
                    }
                }
            }
            if s.irqbalance && irqs.iter().any(|x| x.queue.is_some()) {
                out.push(finding(
                    "irqbalance",
                    Severity::Warning,
                    "irqbalance",
                    "running",
                    "stopped, or told to leave the capture IRQs alone",
                    "irqbalance moves IRQs every 10 s, undoing the pinning of the capture queues",
                    format!(
                        "systemctl disable --now irqbalance (or IRQBALANCE_BANNED_CPULIST={} in /etc/default/irqbalance)",
                        format_cpulist(&t.profile.worker_cores)
                    ),
                    None,
                ));
            }
        }
    }
    // NUMA: a worker on the far node reads every frame across the
    // interconnect.
    if let Some(node) = n.dev.numa_node {
        let far: Vec<usize> = t
            .profile
            .worker_cores
            .iter()
            .copied()
            .filter(|&c| {
                s.topo
                    .cpu(c)
                    .and_then(|x| x.node)
                    .is_some_and(|x| x != node)
            })
            .collect();
        if !far.is_empty() {
            out.push(finding(
                "numa-workers",
                Severity::Warning,
                format!("cores {}", format_cpulist(&far)),
                "on another NUMA node than the interface",
                format!("node {node}'s cores"),
                "the NIC writes frames into its own node's memory: a worker on another node reads each one across the interconnect, at about twice the latency",
                format!("wirelog tune generate --iface {ifname} --workers {}", t.profile.worker_cores.len()),
                None,
            ));
        }
    }
    if let Some(on) = want.promisc {
        if n.dev.promisc() != on {
            out.push(finding(
                "promisc",
                Severity::Warning,
                ifname,
                format!("promiscuous {}", onoff(n.dev.promisc())),
                format!("promiscuous {}", onoff(on)),
                "the profile asks for it: the capture turns promiscuous mode on only while it runs, so other tools on the mirror port (tcpdump, a second sensor) and the time between restarts miss frames addressed to other hosts",
                format!("ip link set {ifname} promisc {}", onoff(on)),
                Some(Action::Promisc { on }),
            ));
        }
    }
    let min = want.min_mtu();
    if n.dev.mtu < min {
        out.push(finding(
            "mtu",
            if feed.tunnelled() {
                Severity::Error
            } else {
                Severity::Warning
            },
            ifname,
            format!("mtu {}", n.dev.mtu),
            format!("at least {min}"),
            if feed.tunnelled() {
                format!("a {} mirror adds 50 or more bytes to each mirrored frame: a full-size frame arrives larger than the MTU and the NIC drops it before any capture sees it", feed.name())
            } else {
                "frames larger than the MTU are dropped by the NIC before any capture sees them".into()
            },
            format!("ip link set {ifname} mtu {min}"),
            Some(Action::Mtu { mtu: min }),
        ));
    }
    if let Some(x) = n.xdp.get() {
        if !x.native() {
            out.push(finding(
                "xdp-driver",
                Severity::Info,
                ifname,
                "no native XDP",
                "native XDP",
                "AF_XDP runs in generic (SKB) mode: the kernel builds a socket buffer for each frame and copies it, about twice the CPU per frame of driver mode",
                "use --source afpacket, or a NIC whose driver has XDP (ixgbe, i40e, ice, mlx5, ena, virtio_net)",
                None,
            ));
        } else if !x.zero_copy() {
            out.push(finding(
                "xdp-driver",
                Severity::Info,
                ifname,
                "native XDP without zero-copy",
                "zero-copy AF_XDP",
                "frames are copied once into the UMEM: fine to a few Mpps per core",
                "nothing to do unless the copy shows in the worker's CPU",
                None,
            ));
        }
    }
}

/// `on` or `off`, as ethtool writes a flag.
pub(crate) fn onoff(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn rss(n: &NicSnapshot, ifname: &str, out: &mut Vec<Finding>) {
    let Some(r) = n.rss.get() else {
        return;
    };
    if r.key.is_empty() && r.indir.is_empty() {
        out.push(finding(
            "rss-symmetric",
            Severity::Info,
            ifname,
            "no RSS key or table to set",
            "symmetric RSS",
            "the driver spreads frames over its queues by a hash wirelog cannot make symmetric: wirelog re-steers every frame between workers",
            "nothing to do on this device; one queue and --workers N avoid the second hop",
            None,
        ));
        return;
    }
    if rss_is_symmetric(r) {
        return;
    }
    let key = symmetric_key(r.key.len());
    out.push(finding(
        "rss-symmetric",
        Severity::Warning,
        ifname,
        format!(
            "{} hash, transform {}, key {}…",
            hash_name(r),
            if r.input_xfrm == 0 { "none".into() } else { format!("{:#x}", r.input_xfrm) },
            hex(&r.key[..r.key.len().min(4)])
        ),
        "symmetric: both directions of a flow on one queue",
        "the two directions of a flow hash to different queues: wirelog must then re-steer every frame between workers (a ring hop per frame) instead of keeping each queue's frames on its core",
        format!(
            "ethtool -X {ifname} xfrm symmetric-xor (ethtool 6.8 or later), or ethtool -X {ifname} hfunc toeplitz hkey {}; then capture with --rss symmetric",
            hex(&key)
        ),
        Some(Action::Rss {
            input_xfrm: Some(RXH_XFRM_SYM_XOR),
            hfunc: None,
            key: None,
            indir: None,
        }),
    ));
}

fn hash_name(r: &Rss) -> String {
    r.hfuncs
        .iter()
        .find(|(_, bit)| *bit == r.hfunc)
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| format!("function {:#x}", r.hfunc))
}

fn hash_fields(n: &NicSnapshot, ifname: &str, out: &mut Vec<Finding>) {
    let l4 = RXH_L4_B_0_1 | RXH_L4_B_2_3;
    let ips = RXH_IP_SRC | RXH_IP_DST;
    for (flow, got) in &n.rx_hash {
        let Some(&fields) = got.get() else {
            continue;
        };
        let udp = matches!(flow, FlowType::Udp4 | FlowType::Udp6);
        if udp && fields & l4 != 0 {
            out.push(finding(
                "rx-hash-fields",
                Severity::Warning,
                format!("{ifname} {}", flow.name()),
                crate::ethtool::rxh_letters(fields),
                "sd",
                "only the first fragment of a UDP datagram carries its ports: hashed with ports, the first fragment and the rest land on different queues, and the datagram cannot be reassembled",
                format!("ethtool -N {ifname} rx-flow-hash {} sd", flow.name()),
                Some(Action::RxHash {
                    flow: flow.name().into(),
                    fields: "sd".into(),
                }),
            ));
        } else if fields & ips != ips {
            out.push(finding(
                "rx-hash-fields",
                Severity::Warning,
                format!("{ifname} {}", flow.name()),
                crate::ethtool::rxh_letters(fields),
                if udp { "sd" } else { "sdfn" },
                "without both addresses in the hash, flows do not spread over the queues",
                format!(
                    "ethtool -N {ifname} rx-flow-hash {} {}",
                    flow.name(),
                    if udp { "sd" } else { "sdfn" }
                ),
                Some(Action::RxHash {
                    flow: flow.name().into(),
                    fields: if udp { "sd" } else { "sdfn" }.into(),
                }),
            ));
        }
    }
}

fn offloads(n: &NicSnapshot, ifname: &str, out: &mut Vec<Finding>) {
    // (id, severity, features, ethtool -K words, why)
    let rules: [(&str, Severity, &[&str], &str, &str); 4] = [
        (
            "lro",
            Severity::Error,
            &["large-receive-offload"],
            "lro off",
            "the NIC merges TCP segments before any capture sees them: packet counts, sizes and TCP analysis (retransmissions, windows, RTT) come out wrong, and many drivers refuse XDP while it is on",
        ),
        (
            "gro-hw",
            Severity::Error,
            &["rx-gro-hw"],
            "rx-gro-hw off",
            "hardware GRO merges segments in the NIC, before XDP and AF_PACKET: packet counts and TCP analysis come out wrong",
        ),
        (
            "gro",
            Severity::Warning,
            &["rx-gro", "rx-gro-list", "rx-udp-gro-forwarding"],
            "gro off rx-gro-list off rx-udp-gro-forwarding off",
            "GRO merges segments before AF_PACKET and generic (SKB-mode) XDP see them (driver-mode XDP sees frames before GRO): packet counts and TCP analysis come out wrong, and AF_XDP drops a merged frame larger than a UMEM frame",
        ),
        (
            "vlan-strip",
            Severity::Warning,
            &["rx-vlan-hw-parse", "rx-vlan-stag-hw-parse"],
            "rxvlan off rx-vlan-stag-hw-parse off",
            "the NIC strips 802.1Q tags into metadata: AF_XDP frames arrive without them, so flows of different VLANs merge",
        ),
    ];
    for (id, sev, names, words, why) in rules {
        let active: Vec<&Feature> = names
            .iter()
            .filter_map(|name| n.feature(name))
            .filter(|f| f.active)
            .collect();
        if active.is_empty() {
            continue;
        }
        let changeable: Vec<&&Feature> = active.iter().filter(|f| f.changeable).collect();
        let fix = if changeable.is_empty() {
            "the driver does not let it be turned off".to_string()
        } else {
            format!("ethtool -K {ifname} {words}")
        };
        out.push(finding(
            id,
            if changeable.is_empty() {
                Severity::Info
            } else {
                sev
            },
            ifname,
            active
                .iter()
                .map(|f| format!("{} on", f.name))
                .collect::<Vec<_>>()
                .join(", "),
            "off",
            why,
            fix,
            (!changeable.is_empty()).then(|| Action::Features {
                set: changeable.iter().map(|f| (f.name.clone(), false)).collect(),
            }),
        ));
    }
}

fn coalesce(c: &Coalesce, want: &crate::profile::Nic, ifname: &str, out: &mut Vec<Finding>) {
    let mut now = Vec::new();
    let mut wanted = Vec::new();
    let mut act = (None, None);
    if let (Some(w), Some(h)) = (want.rx_usecs, c.rx_usecs) {
        if w != h {
            now.push(format!("rx-usecs {h}"));
            wanted.push(format!("rx-usecs {w}"));
            act.0 = Some(w);
        }
    }
    if let (Some(w), Some(h)) = (want.adaptive_rx, c.adaptive_rx) {
        if w != h {
            now.push(format!("adaptive-rx {}", onoff(h)));
            wanted.push(format!("adaptive-rx {}", onoff(w)));
            act.1 = Some(w);
        }
    }
    if want.rx_usecs.is_none()
        && c.rx_usecs == Some(0)
        && c.rx_max_frames.unwrap_or(0) <= 1
        && c.adaptive_rx != Some(true)
    {
        now.push("rx-usecs 0 rx-frames ≤ 1".into());
        wanted.push("rx-usecs 50".into());
        act.0 = Some(50);
    }
    if now.is_empty() {
        return;
    }
    out.push(finding(
        "coalesce",
        Severity::Warning,
        ifname,
        now.join(", "),
        wanted.join(", "),
        "an interrupt per frame spends the worker's core on interrupt entry and exit at high rates; too long a wait delays frames and fills the ring",
        format!("ethtool -C {ifname} {}", wanted.join(" ")),
        Some(Action::Coalesce {
            rx_usecs: act.0,
            adaptive_rx: act.1,
        }),
    ));
}

fn host(s: &Snapshot, t: &Target, out: &mut Vec<Finding>) {
    // The UMEM a capture maps: the profile's frames, else what `capture`
    // derives (a quarter of the budget over the sockets, 4096 to 2^18
    // frames of 2 KiB, rounded down to a power of two).
    let queues = t.queues().len().max(1) as u64;
    let memory = t
        .profile
        .memory
        .as_deref()
        .and_then(|m| crate::profile::size_bytes(m).ok())
        .unwrap_or(128 << 20) as u64;
    let frames = match t.profile.xdp_frames {
        Some(f) => u64::from(f),
        None => 1 << (memory / 4 / queues / 2048).clamp(4096, 1 << 18).ilog2(),
    };
    let umem_kb = frames * 2 * queues;
    let free_kb = s.huge.free * s.huge.size_kb;
    if s.huge.size_kb > 0 && free_kb < umem_kb {
        let pages = umem_kb.div_ceil(s.huge.size_kb) + 1;
        out.push(finding(
            "hugepages",
            Severity::Info,
            "huge pages",
            format!("{} free ({} KiB pages)", s.huge.free, s.huge.size_kb),
            format!("{pages} free for the UMEM"),
            "without reserved huge pages the UMEM is mapped with 4 KiB pages: more TLB misses per frame",
            format!("sysctl vm.nr_hugepages={}", s.huge.total + pages),
            None,
        ));
    }
}

#[cfg(test)]
mod tests;
