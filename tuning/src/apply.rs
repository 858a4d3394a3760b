//! Reading the live machine into a [`Snapshot`], and `tune apply`: the
//! changes the check's findings name, made through the kernel's own
//! interfaces (ethtool netlink and ioctls, sysfs, procfs), each printed
//! with its old and new value, and saved before anything changes so
//! `tune apply --revert FILE` can put every value back.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::{
    hex, key_is_symmetric, onoff, symmetric_key, Action, Finding, Got, NicSnapshot, Snapshot,
    HASH_TOEPLITZ,
};
use crate::ethtool::{
    parse_rxh, rxh_letters, ChannelsSet, Coalesce, Ethtool, FlowType, Pause, RssSet,
    RXH_XFRM_SYM_OR_XOR, RXH_XFRM_SYM_XOR,
};
use crate::host::{self, Roots};
use crate::topology::Topology;
use crate::topology::{format_cpulist, parse_cpulist};

/// Reads the machine, and `iface` when given.
pub fn snapshot(roots: &Roots, iface: Option<&str>) -> io::Result<Snapshot> {
    let topo = Topology::read(&roots.sys)?;
    let nic = match iface {
        Some(i) => Some(nic_snapshot(roots, i)?),
        None => None,
    };
    Ok(Snapshot {
        topo,
        governors: host::governors(roots),
        irqbalance: host::irqbalance_running(roots),
        huge: host::huge_pages(roots),
        nic,
    })
}

/// Reads one interface: sysfs first (a missing interface is the likeliest
/// mistake and sysfs names it), then what ethtool says.
pub fn nic_snapshot(roots: &Roots, ifname: &str) -> io::Result<NicSnapshot> {
    let dev = host::netdev(roots, ifname)?;
    let e = Ethtool::open()?;
    let ifindex = e.ifindex(ifname)?;
    Ok(NicSnapshot {
        driver: Got::from_io(e.drvinfo(ifname).map(|d| d.driver)),
        features: Got::from_io(e.features(ifname)),
        channels: Got::from_io(e.channels(ifname)),
        rings: Got::from_io(e.rings(ifname)),
        coalesce: Got::from_io(e.coalesce(ifname)),
        pause: Got::from_io(e.pause(ifname)),
        rss: Got::from_io(e.rss(ifname)),
        rx_hash: FlowType::ALL
            .iter()
            .map(|&f| (f, Got::from_io(e.rx_hash(ifname, f))))
            .collect(),
        irqs: Got::from_io(host::nic_irqs(roots, ifname)),
        xdp: Got::from_io(e.xdp_features(ifindex)),
        dev,
    })
}

/// What `tune apply` saved before changing anything: the inverse of each
/// change, in the order the changes were made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// The interface the changes were made on.
    pub iface: String,
    /// The old values, as the changes that restore them.
    pub restore: Vec<Action>,
}

impl Saved {
    /// Reads a file `tune apply` wrote.
    pub fn load(path: &Path) -> io::Result<Saved> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: not a file `wirelog tune apply` saved: {e}",
                    path.display()
                ),
            )
        })
    }
}

/// One change made (or, dry, that would be made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The finding's id, or `revert`.
    pub id: String,
    /// What it is about.
    pub subject: String,
    /// Old value.
    pub old: String,
    /// New value.
    pub new: String,
    /// Why it did not happen, if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Makes changes through the kernel.
pub struct Applier<'a> {
    roots: &'a Roots,
    iface: &'a str,
    eth: Option<Ethtool>,
}

impl<'a> Applier<'a> {
    /// An applier for `iface`.
    pub fn new(roots: &'a Roots, iface: &'a str) -> io::Result<Self> {
        Ok(Applier {
            roots,
            iface,
            eth: Some(Ethtool::open()?),
        })
    }

    fn eth(&self) -> &Ethtool {
        self.eth.as_ref().expect("opened")
    }

    /// The change that puts back what `a` is about to change, and a
    /// description of the old value.
    pub fn inverse(&self, a: &Action) -> io::Result<(Action, String)> {
        let e = self.eth();
        let i = self.iface;
        Ok(match a {
            Action::Features { set } => {
                let now = e.features(i)?;
                let old: Vec<(String, bool)> = set
                    .iter()
                    .filter_map(|(n, _)| now.iter().find(|f| &f.name == n))
                    .map(|f| (f.name.clone(), f.active))
                    .collect();
                let text = old
                    .iter()
                    .map(|(n, on)| format!("{n} {}", onoff(*on)))
                    .collect::<Vec<_>>()
                    .join(", ");
                (Action::Features { set: old }, text)
            }
            Action::Channels { .. } => {
                let c = e.channels(i)?;
                let (combined, rx) = (
                    (c.combined_max > 0).then_some(c.combined),
                    (c.rx_max > 0).then_some(c.rx),
                );
                (
                    Action::Channels { combined, rx },
                    channels_text(combined, rx),
                )
            }
            Action::Rings { .. } => {
                let r = e.rings(i)?;
                (
                    Action::Rings {
                        rx: Some(r.rx),
                        tx: Some(r.tx),
                    },
                    format!("rx {} tx {}", r.rx, r.tx),
                )
            }
            Action::Coalesce { .. } => {
                let c = e.coalesce(i)?;
                (
                    Action::Coalesce {
                        rx_usecs: c.rx_usecs,
                        adaptive_rx: c.adaptive_rx,
                    },
                    format!(
                        "rx-usecs {} adaptive-rx {}",
                        c.rx_usecs.map_or("-".into(), |v| v.to_string()),
                        c.adaptive_rx.map_or("-", onoff)
                    ),
                )
            }
            Action::Pause { .. } => {
                let p = e.pause(i)?;
                (
                    Action::Pause {
                        autoneg: p.autoneg,
                        rx: p.rx,
                        tx: p.tx,
                    },
                    format!("autoneg {} rx {} tx {}", p.autoneg, p.rx, p.tx),
                )
            }
            Action::Rss { .. } => {
                let r = e.rss(i)?;
                (
                    Action::Rss {
                        input_xfrm: Some(r.input_xfrm),
                        hfunc: Some(r.hfunc),
                        key: Some(hex(&r.key)),
                        indir: Some(r.indir.clone()),
                    },
                    format!(
                        "transform {:#x}, function {:#x}, key {}",
                        r.input_xfrm,
                        r.hfunc,
                        hex(&r.key)
                    ),
                )
            }
            Action::RxHash { flow, .. } => {
                let f = flow_type(flow)?;
                let v = e.rx_hash(i, f)?;
                (
                    Action::RxHash {
                        flow: flow.clone(),
                        fields: rxh_letters(v),
                    },
                    format!("{flow} {}", rxh_letters(v)),
                )
            }
            Action::IrqAffinity { irq, .. } => {
                let c = host::irq_affinity(self.roots, *irq)?;
                (
                    Action::IrqAffinity {
                        irq: *irq,
                        cpus: format_cpulist(&c),
                    },
                    format!("cpus {}", format_cpulist(&c)),
                )
            }
            Action::Mtu { .. } => {
                let d = host::netdev(self.roots, i)?;
                (Action::Mtu { mtu: d.mtu }, format!("mtu {}", d.mtu))
            }
            Action::Promisc { .. } => {
                let d = host::netdev(self.roots, i)?;
                (
                    Action::Promisc { on: d.promisc() },
                    format!("promisc {}", if d.promisc() { "on" } else { "off" }),
                )
            }
            Action::Governor { cpu, .. } => {
                let g = host::governors(self.roots)
                    .into_iter()
                    .find(|(c, _)| c == cpu)
                    .map(|(_, g)| g)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("cpu {cpu} has no cpufreq governor"),
                        )
                    })?;
                (
                    Action::Governor {
                        cpu: *cpu,
                        governor: g.clone(),
                    },
                    g,
                )
            }
        })
    }

    /// Makes change `a`; returns what was set.
    pub fn make(&self, a: &Action) -> io::Result<String> {
        let e = self.eth();
        let i = self.iface;
        match a {
            Action::Features { set } => {
                let want: Vec<(&str, bool)> = set.iter().map(|(n, b)| (n.as_str(), *b)).collect();
                e.set_features(i, &want)?;
                Ok(set
                    .iter()
                    .map(|(n, on)| format!("{n} {}", onoff(*on)))
                    .collect::<Vec<_>>()
                    .join(", "))
            }
            Action::Channels { combined, rx } => {
                e.set_channels(
                    i,
                    &ChannelsSet {
                        combined: *combined,
                        rx: *rx,
                        ..Default::default()
                    },
                )?;
                Ok(channels_text(*combined, *rx))
            }
            Action::Rings { rx, tx } => {
                e.set_rings(i, *rx, *tx)?;
                Ok(format!(
                    "rx {} tx {}",
                    rx.map_or("-".into(), |v| v.to_string()),
                    tx.map_or("-".into(), |v| v.to_string())
                ))
            }
            Action::Coalesce {
                rx_usecs,
                adaptive_rx,
            } => {
                e.set_coalesce(
                    i,
                    &Coalesce {
                        rx_usecs: *rx_usecs,
                        adaptive_rx: *adaptive_rx,
                        ..Default::default()
                    },
                )?;
                Ok(format!(
                    "rx-usecs {} adaptive-rx {}",
                    rx_usecs.map_or("-".into(), |v| v.to_string()),
                    adaptive_rx.map_or("-", onoff)
                ))
            }
            Action::Pause { autoneg, rx, tx } => {
                e.set_pause(
                    i,
                    &Pause {
                        autoneg: *autoneg,
                        rx: *rx,
                        tx: *tx,
                    },
                )?;
                Ok(format!("autoneg {autoneg} rx {rx} tx {tx}"))
            }
            Action::Rss {
                input_xfrm,
                hfunc,
                key,
                indir,
            } => {
                let key = key.as_deref().map(unhex).transpose()?;
                if *input_xfrm == Some(RXH_XFRM_SYM_XOR) && hfunc.is_none() && key.is_none() {
                    return self.make_symmetric();
                }
                e.set_rss(
                    i,
                    &RssSet {
                        hfunc: *hfunc,
                        input_xfrm: *input_xfrm,
                        key,
                        indir: indir.clone(),
                    },
                )?;
                Ok(format!("transform {input_xfrm:?} function {hfunc:?}"))
            }
            Action::RxHash { flow, fields } => {
                let f = flow_type(flow)?;
                let v = parse_rxh(fields)
                    .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
                e.set_rx_hash(i, f, v)?;
                Ok(format!("{flow} {fields}"))
            }
            Action::IrqAffinity { irq, cpus } => {
                let c = parse_cpulist(cpus)
                    .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
                host::set_irq_affinity(self.roots, *irq, &c)?;
                Ok(format!("cpus {cpus}"))
            }
            Action::Mtu { mtu } => {
                host::set_mtu(self.roots, i, *mtu)?;
                Ok(format!("mtu {mtu}"))
            }
            Action::Promisc { on } => {
                host::set_promisc(self.roots, i, *on)?;
                Ok(format!("promisc {}", onoff(*on)))
            }
            Action::Governor { cpu, governor } => {
                host::set_governor(self.roots, *cpu, governor)?;
                Ok(governor.clone())
            }
        }
    }

    /// Symmetric RSS, the best way the kernel and driver offer: the
    /// kernel's symmetric-xor transform, else symmetric-or-xor, else a
    /// symmetric Toeplitz key of the device's key size.
    fn make_symmetric(&self) -> io::Result<String> {
        let e = self.eth();
        let i = self.iface;
        let mut tried = Vec::new();
        for x in [RXH_XFRM_SYM_XOR, RXH_XFRM_SYM_OR_XOR] {
            match e.set_rss(
                i,
                &RssSet {
                    input_xfrm: Some(x),
                    ..Default::default()
                },
            ) {
                Ok(()) => {
                    return Ok(if x == RXH_XFRM_SYM_XOR {
                        "transform symmetric-xor".into()
                    } else {
                        "transform symmetric-or-xor".into()
                    })
                }
                Err(err) => tried.push(err.to_string()),
            }
        }
        let r = e.rss(i)?;
        if r.key.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "no symmetric transform ({}) and no RSS key to replace",
                    tried.join("; ")
                ),
            ));
        }
        let key = symmetric_key(r.key.len());
        debug_assert!(key_is_symmetric(&key));
        e.set_rss(
            i,
            &RssSet {
                hfunc: Some(HASH_TOEPLITZ),
                key: Some(key.clone()),
                ..Default::default()
            },
        )?;
        Ok(format!("toeplitz with symmetric key {}", hex(&key)))
    }
}

/// `combined N rx M`, naming only the counts the device has.
fn channels_text(combined: Option<u32>, rx: Option<u32>) -> String {
    let parts: Vec<String> = [("combined", combined), ("rx", rx)]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
        .collect();
    parts.join(" ")
}

fn flow_type(name: &str) -> io::Result<FlowType> {
    FlowType::ALL
        .iter()
        .copied()
        .find(|f| f.name() == name)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown flow type `{name}`"),
            )
        })
}

fn unhex(s: &str) -> io::Result<Vec<u8>> {
    s.split(':')
        .filter(|p| !p.is_empty())
        .map(|p| {
            u8::from_str_radix(p, 16).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("bad key byte `{p}`"))
            })
        })
        .collect()
}

/// Applies the actions of `findings`: adds every old value to `saved` and
/// writes it to `save` first (unless `dry`), then makes the changes, one at
/// a time, in order. A change that fails is reported and the rest go on.
pub fn apply(
    roots: &Roots,
    iface: &str,
    findings: &[Finding],
    dry: bool,
    saved: &mut Saved,
    save: Option<&Path>,
) -> io::Result<Vec<Change>> {
    let ap = Applier::new(roots, iface)?;
    saved.iface = iface.into();
    let mut planned = Vec::new();
    for f in findings {
        let Some(a) = &f.action else { continue };
        let (inv, old) = match ap.inverse(a) {
            Ok(x) => x,
            Err(e) => {
                planned.push((
                    f,
                    None,
                    Change {
                        id: f.id.clone(),
                        subject: f.subject.clone(),
                        old: f.now.clone(),
                        new: f.want.clone(),
                        failed: Some(format!("reading the old value: {e}")),
                    },
                ));
                continue;
            }
        };
        saved.restore.push(inv);
        planned.push((
            f,
            Some(a),
            Change {
                id: f.id.clone(),
                subject: f.subject.clone(),
                old,
                new: f.want.clone(),
                failed: None,
            },
        ));
    }
    if !dry {
        if let Some(p) = save {
            let text = serde_json::to_string_pretty(&*saved).expect("serializable");
            std::fs::write(p, text + "\n").map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("saving old values to {}: {e}", p.display()),
                )
            })?;
        }
    }
    let mut out = Vec::new();
    for (_, a, mut c) in planned {
        if let (Some(a), false, None) = (a, dry, &c.failed) {
            match ap.make(a) {
                Ok(new) => c.new = new,
                Err(e) => c.failed = Some(e.to_string()),
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// Puts back what a `tune apply` saved, last change first.
pub fn revert(roots: &Roots, saved: &Saved) -> io::Result<Vec<Change>> {
    let ap = Applier::new(roots, &saved.iface)?;
    let mut out = Vec::new();
    for a in saved.restore.iter().rev() {
        let old = ap
            .inverse(a)
            .map(|x| x.1)
            .unwrap_or_else(|e| format!("unreadable: {e}"));
        let mut c = Change {
            id: "revert".into(),
            subject: saved.iface.clone(),
            old,
            new: String::new(),
            failed: None,
        };
        match ap.make(a) {
            Ok(n) => c.new = n,
            Err(e) => c.failed = Some(e.to_string()),
        }
        out.push(c);
    }
    Ok(out)
}
