//! `wirelog tune check`, `apply` and `apply --revert` on a veth pair in a
//! namespace of the test's own, for what veth lets a driver change
//! (channels, offloads, MTU, promiscuous mode), and IRQ affinity through a
//! /proc tree laid out in a temporary directory (veth has no IRQs). What
//! veth lacks (RSS, hash fields, rings, coalescing) is checked byte for
//! byte against Debian's ethtool in `tuning/tests/ethtool_bytes.rs`.
//!
//! The referees are `ip` and `ethtool`, not wirelog: each value is read
//! with them before, after apply and after revert. `tune generate` runs on a
//! recorded machine of ../shared/corpus/sysfs, checked against the tree's
//! own files.
//!
//! Needs root (namespaces); CI runs as root. The namespace is removed even
//! when an assertion fails.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::sh;

/// A namespace of this test; deleted on drop, also after a failed assertion.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Runs `wirelog ARGS` in namespace `ns`; returns exit code, stdout, stderr.
fn wirelog(ns: &str, args: &[&str]) -> (i32, String, String) {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_wirelog")])
        .args(args)
        .output()
        .expect("run wirelog");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// What `ip` and `ethtool` say about the veth: the referees.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    rx_channels: String,
    mtu: String,
    promisc: bool,
    gro: String,
    vlan: String,
    irq: String,
}

fn seen(ns: &str, dev: &str, proc_root: &Path) -> Seen {
    let chans = sh(&format!("ip netns exec {ns} ethtool -l {dev}"));
    // The second "RX:" line is the current setting.
    let rx_channels = chans
        .lines()
        .filter(|l| l.starts_with("RX:"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let link = sh(&format!("ip -n {ns} -d -j link show {dev}"));
    let link: Value = serde_json::from_str(&link).unwrap();
    let feats = sh(&format!("ip netns exec {ns} ethtool -k {dev}"));
    let feat = |name: &str| {
        feats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} not in ethtool -k"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    Seen {
        rx_channels,
        mtu: link[0]["mtu"].to_string(),
        promisc: link[0]["promiscuity"].as_u64().unwrap() > 0,
        gro: feat("generic-receive-offload"),
        vlan: feat("rx-vlan-offload"),
        irq: std::fs::read_to_string(proc_root.join("proc/irq/77/smp_affinity_list"))
            .unwrap()
            .trim()
            .to_string(),
    }
}

fn ids(json: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn check_apply_revert_on_a_veth() {
    assert!(
        sh("id -u").trim() == "0",
        "the tune test needs root (namespaces): run scripts/test.sh as root"
    );
    let ns = Netns(format!("wltune{}", std::process::id() % 10000));
    sh(&format!("ip netns add {}", ns.0));
    let ns_name = ns.0.as_str();
    // Four queues each way; GRO and VLAN stripping on, as a driver may ship.
    sh(&format!(
        "ip -n {ns_name} link add tv0 numrxqueues 4 numtxqueues 4 type veth peer name tv1 numrxqueues 4 numtxqueues 4 \
         && ip -n {ns_name} link set tv0 up && ip -n {ns_name} link set tv1 up \
         && ip netns exec {ns_name} ethtool -K tv0 gro on rxvlan on"
    ));
    let dir = common::TempDir::new("wl-tune");
    // A /proc tree whose interrupts name a queue IRQ of tv0 (veth has none).
    let proc_root = dir.0.join("procroot");
    std::fs::create_dir_all(proc_root.join("proc/irq/77")).unwrap();
    std::fs::create_dir_all(proc_root.join("proc/irq/78")).unwrap();
    std::fs::write(
        proc_root.join("proc/interrupts"),
        "           CPU0       CPU1\n  0:         44          0   IO-APIC   2-edge      timer\n 77:        10         20   PCI-MSIX-0000:00:05.0   1-edge      tv0-rx-0\n 78:         0          0   PCI-MSIX-0000:00:05.0   2-edge      eth7-rx-0\n",
    )
    .unwrap();
    std::fs::write(proc_root.join("proc/irq/77/smp_affinity_list"), "0-1\n").unwrap();
    std::fs::write(proc_root.join("proc/irq/78/smp_affinity_list"), "0-1\n").unwrap();
    let profile = dir.0.join("p.toml");
    std::fs::write(
        &profile,
        "name = \"veth-test\"\ncontrol_core = 0\nworker_cores = [1]\nqueues = [0]\n[nic]\nfeed = \"vxlan\"\npromisc = true\n",
    )
    .unwrap();
    let save = dir.0.join("saved.json");
    let (p, pr, sv) = (
        profile.to_str().unwrap(),
        proc_root.to_str().unwrap(),
        save.to_str().unwrap(),
    );
    let before = seen(ns_name, "tv0", &proc_root);
    assert_eq!(
        before,
        Seen {
            rx_channels: "4".into(),
            mtu: "1500".into(),
            promisc: false,
            gro: "on".into(),
            vlan: "on".into(),
            irq: "0-1".into(),
        }
    );

    // check: what is wrong, exit 1.
    let args = |extra: &[&'static str]| -> Vec<&str> {
        let mut a = vec!["--iface", "tv0", "--profile", p, "--proc-root", pr];
        a.extend_from_slice(extra);
        a
    };
    let (code, out, err) = wirelog(
        ns_name,
        &[&["tune", "check", "--json"][..], &args(&[])].concat(),
    );
    assert_eq!(code, 1, "check exits 1 when something is wrong: {err}");
    let found = ids(&out);
    for want in [
        ("queues-workers", "error"),
        ("mtu", "error"),
        ("gro", "warning"),
        ("vlan-strip", "warning"),
        ("promisc", "warning"),
        ("irq-affinity", "warning"),
        ("rss-tunnel", "info"),
    ] {
        assert!(
            found.contains(&(want.0.into(), want.1.into())),
            "{want:?} missing from {found:?}"
        );
    }
    // The other interface's IRQ in the same tree is not tv0's.
    assert!(!out.contains("IRQ 78"), "{out}");

    // dry run: says what it would change, changes nothing.
    let (code, out, err) = wirelog(
        ns_name,
        &[&["tune", "apply", "--dry-run"][..], &args(&[])].concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("would change queues-workers"), "{out}");
    assert_eq!(
        seen(ns_name, "tv0", &proc_root),
        before,
        "a dry run changed something"
    );
    assert!(!save.exists());

    // apply: every change made, the old values saved, then a clean check.
    let (code, out, err) = wirelog(
        ns_name,
        &[&["tune", "apply", "--save", sv][..], &args(&[])].concat(),
    );
    assert_eq!(code, 0, "apply leaves nothing wrong: {out}{err}");
    for id in [
        "queues-workers",
        "mtu",
        "gro",
        "vlan-strip",
        "promisc",
        "irq-affinity",
    ] {
        assert!(
            out.contains(&format!("changed {id:<16}")),
            "{id} not changed: {out}"
        );
    }
    assert_eq!(
        seen(ns_name, "tv0", &proc_root),
        Seen {
            rx_channels: "1".into(),
            mtu: "1600".into(),
            promisc: true,
            gro: "off".into(),
            vlan: "off".into(),
            irq: "1".into(),
        }
    );
    let (code, out, err) = wirelog(
        ns_name,
        &[&["tune", "check", "--json"][..], &args(&[])].concat(),
    );
    assert_eq!(code, 0, "check after apply: {out}{err}");
    assert!(
        ids(&out).iter().all(|(_, sev)| sev == "info"),
        "only notes left after apply: {out}"
    );
    // A second apply has nothing to do.
    let (code, out, _) = wirelog(
        ns_name,
        &[&["tune", "apply", "--dry-run"][..], &args(&[])].concat(),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("nothing to change"),
        "apply is idempotent: {out}"
    );

    // revert: every value back.
    let (code, out, err) = wirelog(
        ns_name,
        &["tune", "apply", "--revert", sv, "--proc-root", pr],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(seen(ns_name, "tv0", &proc_root), before, "revert: {out}");

    // A saved file that is not one is refused with a clear error, exit 2.
    std::fs::write(&save, "{}").unwrap();
    let (code, _, err) = wirelog(ns_name, &["tune", "apply", "--revert", sv]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not a file `wirelog tune apply` saved"),
        "{err}"
    );
    // An interface that does not exist: exit 2, named.
    let (code, _, err) = wirelog(ns_name, &["tune", "check", "--iface", "nosuch0"]);
    assert_eq!(code, 2);
    assert!(err.contains("interface `nosuch0` does not exist"), "{err}");
}

/// `tune show` on this machine agrees with what `ip` and `nproc` say.
#[test]
fn show_names_what_the_kernel_says() {
    assert!(sh("id -u").trim() == "0", "needs root (namespaces)");
    let ns = Netns(format!("wlshow{}", std::process::id() % 10000));
    sh(&format!(
        "ip netns add {0} && ip -n {0} link add sv0 numrxqueues 2 numtxqueues 2 type veth peer name sv1 && ip -n {0} link set sv0 mtu 1700 up",
        ns.0
    ));
    let (code, out, err) = wirelog(&ns.0, &["tune", "show", "--iface", "sv0", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let nproc: usize = sh("nproc --all").trim().parse().unwrap();
    assert_eq!(v["cpus"].as_array().unwrap().len(), nproc);
    let i = &v["interface"];
    assert_eq!(i["driver"], "veth");
    assert_eq!(i["mtu"], 1700);
    assert_eq!(i["rx_queues"], 2);
    assert_eq!(i["channels"]["rx_max"], 2);
    assert!(
        i["rss"]["unavailable"]
            .as_str()
            .unwrap()
            .contains("not supported"),
        "{i}"
    );
    assert!(i["features"]["rx-gro"].is_object(), "{i}");
    let (code, out, _) = wirelog(&ns.0, &["tune", "show", "--iface", "sv0"]);
    assert_eq!(code, 0);
    for l in [
        "interface sv0",
        "driver veth",
        "mtu 1700",
        "RSS not supported by the driver",
    ] {
        assert!(out.contains(l), "`{l}` missing:\n{out}");
    }
}

/// `tune generate` on a recorded two-socket machine with hyperthreads
/// (hwloc's `32intel64-2p8co2t+8ve` tree): the workers sit on the NIC's
/// NUMA node, no two on siblings of one core, the control core apart, and
/// the profile it writes loads.
#[test]
fn generate_places_workers_by_the_topology() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/sysfs/32intel64-2p8co2t+8ve.tar.bz2");
    assert!(
        corpus.exists(),
        "{} is needed (../shared beside the project)",
        corpus.display()
    );
    let dir = common::TempDir::new("wl-generate");
    sh(&format!(
        "tar xjf {} -C {}",
        corpus.display(),
        dir.0.display()
    ));
    let tree = dir.0.join("32intel64-2p8co2t+8ve");
    let out = dir.0.join("gen.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args([
            "tune",
            "generate",
            "--workers",
            "6",
            "--iface",
            "enp96s0f0",
            "-o",
        ])
        .arg(&out)
        .arg("--sys-root")
        .arg(&tree)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let p = tuning::Profile::parse(&text, "gen.toml", 32).unwrap();
    // The referee is the recorded tree itself, read here with plain file
    // reads: the NIC's node, each CPU's node and its siblings.
    let read = |rel: String| {
        std::fs::read_to_string(tree.join(rel))
            .unwrap()
            .trim()
            .to_string()
    };
    let nic_node: usize = read("sys/class/net/enp96s0f0/device/numa_node".into())
        .parse()
        .unwrap();
    let node_cpus = tuning::topology::parse_cpulist(&read(format!(
        "sys/devices/system/node/node{nic_node}/cpulist"
    )))
    .unwrap();
    assert_eq!(p.worker_cores.len(), 6);
    let mut cores = Vec::new();
    for &c in &p.worker_cores {
        assert!(
            node_cpus.contains(&c),
            "worker core {c} is not on node {nic_node}: {text}"
        );
        let sib = read(format!(
            "sys/devices/system/cpu/cpu{c}/topology/thread_siblings_list"
        ));
        assert!(
            !cores.contains(&sib),
            "two workers share core {sib}: {text}"
        );
        cores.push(sib);
    }
    let control_sib = read(format!(
        "sys/devices/system/cpu/cpu{}/topology/thread_siblings_list",
        p.control_core
    ));
    assert!(
        !cores.contains(&control_sib),
        "control core on a worker's core: {text}"
    );
    assert_eq!(p.queues, Some((0..6).collect()));
    assert!(
        text.contains(&format!("the interface is on NUMA node {nic_node}")),
        "{text}"
    );
}
