//! `wirelog tune show|check|apply|generate`: the machine and the capture
//! interface as the kernel describes them, what in them costs packets or
//! splits flows, the changes that fix it, and a profile written from the
//! topology. The rules and the kernel interfaces live in the `tuning`
//! crate; this module prints.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tuning::apply::{self, Change, Saved};
use tuning::check::{self, Finding, Got, NicSnapshot, Severity, Snapshot, Target};
use tuning::ethtool::rxh_letters;
use tuning::host::Roots;
use tuning::topology::format_cpulist;
use tuning::Profile;

/// Where the interface and the profile come from.
#[derive(clap::Args, Debug, Clone)]
pub struct Subject {
    /// The capture interface.
    #[arg(long, short = 'i')]
    pub iface: Option<String>,
    /// A core-pinning profile [default: the capture config's, else derived from the machine].
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// A capture config (`wirelog capture -c FILE`): its `interface` and `profile`.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Where /sys is (tests lay out trees of their own).
    #[arg(long, hide = true, default_value = "/")]
    pub sys_root: PathBuf,
    /// Where /proc is (tests lay out trees of their own).
    #[arg(long, hide = true, default_value = "/")]
    pub proc_root: PathBuf,
}

impl Subject {
    fn roots(&self) -> Roots {
        Roots {
            sys: self.sys_root.clone(),
            proc: self.proc_root.clone(),
        }
    }

    /// The interface and the profile, options first, then the config.
    fn resolve(&self) -> Result<(Option<String>, Profile, bool)> {
        let cfg = match &self.config {
            Some(c) => Some(crate::config::Options::from_file(c)?),
            None => None,
        };
        let iface = self
            .iface
            .clone()
            .or_else(|| cfg.as_ref().and_then(|c| c.interface.clone()));
        let path = self
            .profile
            .clone()
            .or_else(|| cfg.as_ref().and_then(|c| c.profile.clone()));
        Ok(match path {
            Some(p) => (iface, Profile::load(&p)?, true),
            None => (iface, Profile::from_machine(), false),
        })
    }
}

/// `tune show`.
pub fn show(sub: &Subject, json: bool) -> Result<()> {
    let (iface, _, _) = sub.resolve()?;
    let s = apply::snapshot(&sub.roots(), iface.as_deref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&show_json(&s))?);
    } else {
        print!("{}", show_text(&s));
    }
    Ok(())
}

fn got<T>(g: &Got<T>, f: impl Fn(&T) -> String) -> String {
    match g.get() {
        Some(v) => f(v),
        None => g.why_not(),
    }
}

fn show_text(s: &Snapshot) -> String {
    let mut o = String::new();
    let t = &s.topo;
    let online: Vec<usize> = t.online().map(|c| c.id).collect();
    let offline: Vec<usize> = t.cpus.iter().filter(|c| !c.online).map(|c| c.id).collect();
    let _ = writeln!(o, "CPUs");
    let _ = writeln!(
        o,
        "  online {} ({}), offline {}",
        format_cpulist(&online),
        online.len(),
        if offline.is_empty() {
            "none".into()
        } else {
            format_cpulist(&offline)
        }
    );
    let mut cores: Vec<Vec<usize>> = Vec::new();
    for c in t.online() {
        let mut sib = c.siblings.clone();
        sib.sort_unstable();
        if !cores.contains(&sib) {
            cores.push(sib);
        }
    }
    let _ = writeln!(
        o,
        "  physical cores {}: {}",
        cores.len(),
        cores
            .iter()
            .map(|c| format!("[{}]", format_cpulist(c)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut pk: Vec<usize> = t.online().filter_map(|c| c.package).collect();
    pk.sort_unstable();
    pk.dedup();
    let _ = writeln!(o, "  packages {}", pk.len());
    let _ = writeln!(
        o,
        "  isolated {}, nohz_full {}",
        if t.isolated.is_empty() {
            "none".into()
        } else {
            format_cpulist(&t.isolated)
        },
        if t.nohz_full.is_empty() {
            "none".into()
        } else {
            format_cpulist(&t.nohz_full)
        }
    );
    let _ = writeln!(o, "NUMA nodes {}", t.nodes.len());
    for n in &t.nodes {
        let _ = writeln!(
            o,
            "  node {}: cpus {}, {} MiB, distances {:?}",
            n.id,
            format_cpulist(&n.cpus),
            n.mem_bytes >> 20,
            n.distances
        );
    }
    let _ = writeln!(
        o,
        "governors {}",
        if s.governors.is_empty() {
            "none (no cpufreq)".into()
        } else {
            s.governors
                .iter()
                .map(|(c, g)| format!("{c}:{g}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    );
    let _ = writeln!(
        o,
        "irqbalance {}",
        if s.irqbalance {
            "running"
        } else {
            "not running"
        }
    );
    let _ = writeln!(
        o,
        "huge pages {} free of {} ({} KiB), transparent {}",
        s.huge.free,
        s.huge.total,
        s.huge.size_kb,
        s.huge.thp.as_deref().unwrap_or("unknown")
    );
    if let Some(n) = &s.nic {
        o.push_str(&nic_text(n));
    }
    o
}

fn nic_text(n: &NicSnapshot) -> String {
    let mut o = String::new();
    let d = &n.dev;
    let _ = writeln!(o, "interface {}", d.name);
    let _ = writeln!(o, "  driver {}", got(&n.driver, |s| s.clone()));
    let _ = writeln!(
        o,
        "  NUMA node {}",
        d.numa_node.map_or("unknown".into(), |x| x.to_string())
    );
    let _ = writeln!(
        o,
        "  mtu {}, promiscuous {}, {}",
        d.mtu,
        if d.promisc() { "on" } else { "off" },
        if d.flags & tuning::host::IFF_UP != 0 {
            "up"
        } else {
            "down"
        }
    );
    let _ = writeln!(o, "  queues rx {} tx {} (sysfs)", d.rx_queues, d.tx_queues);
    let _ = writeln!(
        o,
        "  channels {}",
        got(&n.channels, |c| format!(
            "combined {}/{} rx {}/{} tx {}/{} other {}/{} (now/max)",
            c.combined, c.combined_max, c.rx, c.rx_max, c.tx, c.tx_max, c.other, c.other_max
        ))
    );
    let _ = writeln!(
        o,
        "  rings {}",
        got(&n.rings, |r| format!(
            "rx {}/{} tx {}/{} (now/max)",
            r.rx, r.rx_max, r.tx, r.tx_max
        ))
    );
    let opt = |v: Option<u32>| v.map_or("-".into(), |v| v.to_string());
    let ob = |v: Option<bool>| v.map_or("-", |v| if v { "on" } else { "off" });
    let _ = writeln!(
        o,
        "  coalescing {}",
        got(&n.coalesce, |c| format!(
            "rx-usecs {} rx-frames {} adaptive-rx {} tx-usecs {} tx-frames {} adaptive-tx {}",
            opt(c.rx_usecs),
            opt(c.rx_max_frames),
            ob(c.adaptive_rx),
            opt(c.tx_usecs),
            opt(c.tx_max_frames),
            ob(c.adaptive_tx)
        ))
    );
    let _ = writeln!(
        o,
        "  pause {}",
        got(&n.pause, |p| format!(
            "autoneg {} rx {} tx {}",
            p.autoneg, p.rx, p.tx
        ))
    );
    let _ = writeln!(
        o,
        "  RSS {}",
        got(&n.rss, |r| {
            let f = r
                .hfuncs
                .iter()
                .find(|(_, b)| *b == r.hfunc)
                .map_or(format!("{:#x}", r.hfunc), |(n, _)| n.clone());
            let x = match r.input_xfrm {
                0 => "none".to_string(),
                tuning::ethtool::RXH_XFRM_SYM_XOR => "symmetric-xor".into(),
                tuning::ethtool::RXH_XFRM_SYM_OR_XOR => "symmetric-or-xor".into(),
                v => format!("{v:#x}"),
            };
            if r.key.is_empty() && r.indir.is_empty() {
                return format!("{} rx rings, no key or table to set", r.rx_rings);
            }
            format!(
                "{} rx rings, function {f}, transform {x}, key ({} B) {}, table ({} entries) {}",
                r.rx_rings,
                r.key.len(),
                r.key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                r.indir.len(),
                table(&r.indir)
            )
        })
    );
    for (f, g) in &n.rx_hash {
        let _ = writeln!(
            o,
            "  hash {} {}",
            f.name(),
            got(g, |v| match v {
                0 => "none".into(),
                v => rxh_letters(*v),
            })
        );
    }
    let _ = writeln!(
        o,
        "  offloads {}",
        got(&n.features, |fs| {
            let shown = [
                "large-receive-offload",
                "rx-gro",
                "rx-gro-hw",
                "rx-gro-list",
                "rx-vlan-hw-parse",
                "rx-checksum",
                "rx-hashing",
                "rx-fcs",
                "rx-all",
            ];
            fs.iter()
                .filter(|f| shown.contains(&f.name.as_str()))
                .map(|f| {
                    format!(
                        "{} {}{}",
                        f.name,
                        if f.active { "on" } else { "off" },
                        if f.changeable { "" } else { " [fixed]" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    );
    let _ = writeln!(
        o,
        "  XDP {}",
        got(&n.xdp, |x| format!(
            "{} (zero-copy {}, rx metadata {:#x})",
            x.names().join(" "),
            if x.zero_copy() { "yes" } else { "no" },
            x.rx_metadata
        ))
    );
    let _ = writeln!(
        o,
        "  IRQs {}",
        got(&n.irqs, |irqs| {
            if irqs.is_empty() {
                return "none (a virtual device, or none found in /proc/interrupts)".into();
            }
            irqs.iter()
                .map(|i| {
                    format!(
                        "{} {}{} → cpus {}",
                        i.irq,
                        i.name,
                        i.queue.map_or(String::new(), |q| format!(" (queue {q})")),
                        format_cpulist(&i.affinity)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    );
    o
}

/// An indirection table in short: runs of `queue×count`.
fn table(t: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() && out.len() < 16 {
        let mut j = i;
        while j + 1 < t.len() && t[j + 1] == t[i] {
            j += 1;
        }
        out.push(if j > i {
            format!("{}×{}", t[i], j - i + 1)
        } else {
            t[i].to_string()
        });
        i = j + 1;
    }
    if i < t.len() {
        out.push("…".into());
    }
    out.join(" ")
}

fn show_json(s: &Snapshot) -> serde_json::Value {
    use serde_json::json;
    let t = &s.topo;
    let mut v = json!({
        "cpus": t.cpus.iter().map(|c| json!({
            "id": c.id, "online": c.online, "package": c.package, "core": c.core,
            "node": c.node, "siblings": c.siblings,
        })).collect::<Vec<_>>(),
        "nodes": t.nodes.iter().map(|n| json!({
            "id": n.id, "cpus": n.cpus, "mem_bytes": n.mem_bytes, "distances": n.distances,
        })).collect::<Vec<_>>(),
        "isolated": t.isolated,
        "nohz_full": t.nohz_full,
        "governors": s.governors.iter().map(|(c, g)| json!({"cpu": c, "governor": g})).collect::<Vec<_>>(),
        "irqbalance": s.irqbalance,
        "huge_pages": {"total": s.huge.total, "free": s.huge.free, "size_kb": s.huge.size_kb, "thp": s.huge.thp},
    });
    if let Some(n) = &s.nic {
        let d = &n.dev;
        let err = |w: String| json!({ "unavailable": w });
        v["interface"] = json!({
            "name": d.name,
            "driver": n.driver.get().map_or_else(|| err(n.driver.why_not()), |x| json!(x)),
            "numa_node": d.numa_node,
            "mtu": d.mtu,
            "promisc": d.promisc(),
            "rx_queues": d.rx_queues,
            "tx_queues": d.tx_queues,
            "channels": n.channels.get().map_or_else(|| err(n.channels.why_not()), |c| json!({
                "rx": c.rx, "tx": c.tx, "other": c.other, "combined": c.combined,
                "rx_max": c.rx_max, "tx_max": c.tx_max, "other_max": c.other_max, "combined_max": c.combined_max,
            })),
            "rings": n.rings.get().map_or_else(|| err(n.rings.why_not()), |r| json!({
                "rx": r.rx, "rx_max": r.rx_max, "tx": r.tx, "tx_max": r.tx_max,
            })),
            "coalesce": n.coalesce.get().map_or_else(|| err(n.coalesce.why_not()), |c| json!({
                "rx_usecs": c.rx_usecs, "rx_frames": c.rx_max_frames, "adaptive_rx": c.adaptive_rx,
                "tx_usecs": c.tx_usecs, "tx_frames": c.tx_max_frames, "adaptive_tx": c.adaptive_tx,
            })),
            "pause": n.pause.get().map_or_else(|| err(n.pause.why_not()), |p| json!({
                "autoneg": p.autoneg, "rx": p.rx, "tx": p.tx,
            })),
            "rss": n.rss.get().map_or_else(|| err(n.rss.why_not()), |r| json!({
                "rx_rings": r.rx_rings, "hfunc": r.hfunc, "input_xfrm": r.input_xfrm,
                "key": r.key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "indir": r.indir,
            })),
            "rx_hash": n.rx_hash.iter().map(|(f, g)| (f.name().to_string(),
                g.get().map_or_else(|| err(g.why_not()), |x| json!(rxh_letters(*x))))).collect::<serde_json::Map<_, _>>(),
            "features": n.features.get().map_or_else(|| err(n.features.why_not()), |fs| json!(
                fs.iter().map(|f| (f.name.clone(), json!({"active": f.active, "changeable": f.changeable})))
                    .collect::<serde_json::Map<_, _>>())),
            "xdp": n.xdp.get().map_or_else(|| err(n.xdp.why_not()), |x| json!({
                "features": x.names(), "zero_copy": x.zero_copy(), "native": x.native(),
                "rx_metadata": x.rx_metadata,
            })),
            "irqs": n.irqs.get().map_or_else(|| err(n.irqs.why_not()), |irqs| json!(irqs.iter().map(|i| json!({
                "irq": i.irq, "name": i.name, "queue": i.queue, "affinity": format_cpulist(&i.affinity),
            })).collect::<Vec<_>>())),
        });
    }
    v
}

/// `tune check`: the exit status is 0 when nothing is wrong, 1 when
/// something is (2, from main, when the check could not run).
pub fn check(sub: &Subject, json: bool) -> Result<bool> {
    let (iface, profile, explicit) = sub.resolve()?;
    let s = apply::snapshot(&sub.roots(), iface.as_deref())?;
    let t = Target {
        profile: &profile,
        iface: iface.as_deref(),
        explicit,
    };
    let f = check::check(&s, &t);
    let wrong = f.iter().any(|f| f.severity != Severity::Info);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "interface": iface,
                "profile": profile.name,
                "wrong": wrong,
                "findings": f,
            }))?
        );
    } else {
        print!("{}", findings_text(iface.as_deref(), &profile, &f));
    }
    Ok(!wrong)
}

fn findings_text(iface: Option<&str>, p: &Profile, f: &[Finding]) -> String {
    let mut o = String::new();
    let wrong = f.iter().filter(|f| f.severity != Severity::Info).count();
    let _ = writeln!(
        o,
        "wirelog tune check: {}profile {}: {}",
        iface.map_or(String::new(), |i| format!("{i}, ")),
        p.name,
        match wrong {
            0 => "nothing wrong".to_string(),
            1 => "1 thing wrong".to_string(),
            n => format!("{n} things wrong"),
        }
    );
    for x in f {
        let _ = writeln!(
            o,
            "{:<8}{:<16}{}: {} (want {})",
            x.severity.name(),
            x.id,
            x.subject,
            x.now,
            x.want
        );
        let _ = writeln!(o, "        why: {}", x.why);
        let _ = writeln!(
            o,
            "        fix: {}{}",
            x.fix,
            if x.action.is_some() {
                "   (tune apply does this)"
            } else {
                ""
            }
        );
    }
    o
}

/// `tune apply`.
pub fn apply_cmd(sub: &Subject, dry: bool, save: Option<PathBuf>, json: bool) -> Result<bool> {
    let (iface, profile, explicit) = sub.resolve()?;
    let Some(iface) = iface else {
        bail!("tune apply needs --iface (or --config naming the interface)");
    };
    let roots = sub.roots();
    let s = apply::snapshot(&roots, Some(&iface))?;
    let t = Target {
        profile: &profile,
        iface: Some(&iface),
        explicit,
    };
    let f = check::check(&s, &t);
    let acting = f.iter().filter(|f| f.action.is_some()).count();
    let save = match (dry, acting, save) {
        (true, _, _) | (_, 0, _) => None,
        (_, _, Some(p)) => Some(p),
        (false, _, None) => Some(default_save(&iface)?),
    };
    let mut saved = Saved::default();
    let mut changes = apply::apply(&roots, &iface, &f, dry, &mut saved, save.as_deref())?;
    // A change may uncover another: new queues bring IRQs of their own to
    // pin. One more round takes what the first did not try.
    if !dry && !changes.is_empty() {
        let tried: Vec<(String, String)> = f
            .iter()
            .map(|x| (x.id.clone(), x.subject.clone()))
            .collect();
        let after = apply::snapshot(&roots, Some(&iface))?;
        let more: Vec<Finding> = check::check(&after, &t)
            .into_iter()
            .filter(|x| x.action.is_some() && !tried.contains(&(x.id.clone(), x.subject.clone())))
            .collect();
        if !more.is_empty() {
            changes.extend(apply::apply(
                &roots,
                &iface,
                &more,
                false,
                &mut saved,
                save.as_deref(),
            )?);
        }
    }
    print_changes(&changes, dry, json);
    if let Some(p) = &save {
        eprintln!(
            "wirelog tune apply: old values saved to {}; `wirelog tune apply --revert {}` puts them back",
            p.display(),
            p.display()
        );
    }
    if dry {
        return Ok(changes.iter().all(|c| c.failed.is_none()));
    }
    // What is left: findings without a change, or changes the driver refused.
    let after = apply::snapshot(&roots, Some(&iface))?;
    let left = check::check(&after, &t);
    if !json {
        print!("{}", findings_text(Some(&iface), &profile, &left));
    }
    Ok(changes.iter().all(|c| c.failed.is_none())
        && left.iter().all(|f| f.severity == Severity::Info))
}

/// `tune apply --revert FILE`.
pub fn revert_cmd(sub: &Subject, file: &Path, json: bool) -> Result<bool> {
    let saved = Saved::load(file)?;
    let changes = apply::revert(&sub.roots(), &saved)?;
    print_changes(&changes, false, json);
    Ok(changes.iter().all(|c| c.failed.is_none()))
}

fn print_changes(changes: &[Change], dry: bool, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(changes).expect("serializable")
        );
        return;
    }
    if changes.is_empty() {
        println!("wirelog tune apply: nothing to change");
    }
    for c in changes {
        match &c.failed {
            None => println!(
                "{}{:<16}{}: {} → {}",
                if dry { "would change " } else { "changed " },
                c.id,
                c.subject,
                c.old,
                c.new
            ),
            Some(e) => println!(
                "failed  {:<16}{}: {} → {}: {e}",
                c.id, c.subject, c.old, c.new
            ),
        }
    }
}

fn default_save(iface: &str) -> Result<PathBuf> {
    let dir = Path::new("/var/lib/wirelog");
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating {} (or name a file with --save)", dir.display()))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(dir.join(format!("tune-{iface}-{secs}.json")))
}

/// `tune generate`.
pub fn generate(sub: &Subject, workers: usize, output: Option<&Path>) -> Result<()> {
    let (iface, _, _) = sub.resolve()?;
    let roots = sub.roots();
    let topo = tuning::topology::Topology::read(&roots.sys)?;
    let node = match &iface {
        Some(i) => {
            tuning::host::netdev(&roots, i)?;
            tuning::topology::nic_numa_node(&roots.sys, i)
        }
        None => None,
    };
    let plan = tuning::generate::plan(&topo, node, workers).map_err(|e| anyhow::anyhow!(e))?;
    let name = format!(
        "{}-{workers}-workers",
        iface.as_deref().unwrap_or("generated")
    );
    let mut p = Profile::for_cpus(topo.cpus.len());
    p.name = name;
    p.control_core = plan.control_core;
    p.worker_cores = plan.worker_cores.clone();
    p.queues = Some((0..workers as u32).collect());
    p.poll = Some(if plan.busy_poll { "busy" } else { "adaptive" }.into());
    p.nic.rx_ring = Some(tuning::profile::Ring::Max);
    p.validate(topo.cpus.len())
        .map_err(|e| anyhow::anyhow!("generated profile: {e}"))?;
    let mut text = format!(
        "# Written by `wirelog tune generate{}` from this machine's topology{}.\n",
        iface
            .as_deref()
            .map_or(String::new(), |i| format!(" --iface {i}"))
            + &format!(" --workers {workers}"),
        node.map_or(String::new(), |n| format!(
            " (the interface is on NUMA node {n})"
        ))
    );
    for n in &plan.notes {
        let _ = writeln!(text, "# {n}");
    }
    text.push_str(&p.to_toml());
    match output {
        Some(f) => {
            std::fs::write(f, &text).with_context(|| format!("writing {}", f.display()))?;
            eprintln!("wirelog tune generate: wrote {}", f.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
