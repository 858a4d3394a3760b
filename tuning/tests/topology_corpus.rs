//! Topology discovery held to hwloc (issue 24).
//!
//! `../shared/corpus/sysfs` holds hwloc's recorded `/sys` and `/proc` trees
//! (`<machine>.tar.bz2`) and, for most, the topology hwloc derives from
//! each (`<machine>.console`, lstopo's verbose console output). A console
//! is the expected answer only for the tree of its own name; the others
//! were made from a shared tree with options not recorded here.
//!
//! Per machine, with the CPUs hwloc shows being those [`Topology::usable`]
//! gives (online, allowed by the recorded cpuset), this checks: the PUs
//! (P#) and the CPUs hwloc lists as "not represented"; which PUs share a
//! Core and the Core's P# (`core_id`); each PU's Package P#; the NUMA
//! nodes, their memory as hwloc prints it, and the CPUs each node holds;
//! and for each network device the console shows under a NUMA node, that
//! [`nic_numa_node`] names that node.
//!
//! The live test compares this machine with `lstopo-no-graphics` (Debian
//! `hwloc`) the same way. Plans ([`plan`]) are checked on two recorded
//! machines: a two-socket hyperthreaded one with its NIC, and one with
//! offline CPUs and CPUs in no node.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use tuning::generate::plan;
use tuning::topology::{nic_numa_node, parse_cpumask, Topology};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/sysfs");

/// Differences hwloc makes on purpose, which wirelog does not copy: the
/// machine, a text every difference line it explains contains, and why.
/// Every difference must be explained by an entry, and every entry must
/// still explain one (an entry that explains nothing fails).
const KNOWN: &[(&str, &str, &str)] = &[(
    "40intel64-4n10c+pci-conflicts",
    "package: hwloc None, read Some(3)",
    "hwloc's test fakes cpu3's core_siblings mask (0-3) to conflict with package 3 and drops \
     that package; physical_package_id still says 3, which wirelog reads",
)];

/// One object of an lstopo console.
#[derive(Debug)]
struct Obj {
    /// `Machine`, `Package`, `Core`, `PU`, `NUMANode`, `Group`, `OSDev` …
    kind: String,
    /// The `P#` (OS index) when the console gives one.
    os: Option<usize>,
    /// `local=` of a NUMA node, as printed.
    local: Option<String>,
    /// The quoted name of an OS device.
    name: Option<String>,
    parent: Option<usize>,
}

struct Console {
    objs: Vec<Obj>,
    /// "N processors not represented in topology: 0x…".
    not_represented: Vec<usize>,
}

fn parse_console(text: &str) -> Console {
    let mut objs: Vec<Obj> = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new(); // (indent, object)
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if line.starts_with("depth ") {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        let (head, rest) = body.split_once(' ').unwrap_or((body, ""));
        // "Group0(Drawer)" is a Group; "OSDev[Network]" an OS device.
        let kind = head.split(['(', '[']).next().unwrap_or(head).to_string();
        let kind = if head.starts_with("OSDev[Net") || head == "Net" || head == "Network" {
            "Net".to_string()
        } else {
            kind
        };
        let rest = match rest.strip_prefix("L#") {
            Some(r) => r
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start(),
            None => rest,
        };
        let os = rest.strip_prefix("(P#").and_then(|r| {
            let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()
        });
        let local = rest
            .split_whitespace()
            .map(|t| t.trim_start_matches('('))
            .find_map(|t| t.strip_prefix("local="))
            .map(|v| v.trim_end_matches(')').to_string());
        let name = body
            .strip_suffix('"')
            .and_then(|b| b.rsplit_once('"'))
            .map(|(_, n)| n.to_string());
        while stack.last().is_some_and(|&(i, _)| i >= indent) {
            stack.pop();
        }
        objs.push(Obj {
            kind,
            os,
            local,
            name,
            parent: stack.last().map(|&(_, o)| o),
        });
        stack.push((indent, objs.len() - 1));
    }
    let not_represented = lines
        .find_map(|l| l.split_once("processors not represented in topology: "))
        .map(|(_, mask)| {
            let words: Vec<&str> = mask.trim().split(',').collect();
            parse_cpumask(&words.join(",")).expect("hwloc's mask")
        })
        .unwrap_or_default();
    Console {
        objs,
        not_represented,
    }
}

impl Console {
    fn ancestors(&self, mut i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::from_fn(move || {
            i = self.objs[i].parent?;
            Some(i)
        })
    }

    fn ancestor(&self, i: usize, kind: &str) -> Option<usize> {
        self.ancestors(i).find(|&a| self.objs[a].kind == kind)
    }

    fn pus(&self) -> Vec<usize> {
        (0..self.objs.len())
            .filter(|&i| self.objs[i].kind == "PU")
            .collect()
    }

    /// PUs (P#) in the subtree of object `top`.
    fn pus_under(&self, top: usize) -> BTreeSet<usize> {
        self.pus()
            .into_iter()
            .filter(|&p| self.ancestors(p).any(|a| a == top))
            .filter_map(|p| self.objs[p].os)
            .collect()
    }

    fn numa_nodes(&self) -> Vec<usize> {
        (0..self.objs.len())
            .filter(|&i| self.objs[i].kind == "NUMANode")
            .collect()
    }
}

/// A size as an lstopo console prints it next to `printed`, rounded half
/// up. Since hwloc 2.10 the unit is KiB below 10 MiB, MiB below 10 GiB,
/// GiB below 10 TiB, else TiB (the corpus); hwloc 2.9 in verbose mode
/// prints every size in KB (Debian bookworm's lstopo).
fn hwloc_size(bytes: u64, printed: &str) -> String {
    let (shift, unit) = if printed.ends_with("KB") {
        (10, "KB")
    } else {
        match bytes {
            b if b < 10 << 20 => (10, "KiB"),
            b if b < 10 << 30 => (20, "MiB"),
            b if b < 10 << 40 => (30, "GiB"),
            _ => (40, "TiB"),
        }
    };
    format!("{}{unit}", ((bytes >> (shift - 1)) + 1) >> 1)
}

fn set(v: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    v.into_iter().collect()
}

fn show(s: &BTreeSet<usize>) -> String {
    tuning::topology::format_cpulist(&s.iter().copied().collect::<Vec<_>>())
}

/// What one machine's comparison covered.
#[derive(Default)]
struct Compared {
    pus: usize,
    nodes: usize,
    nics: usize,
}

/// Compares a tree read by [`Topology::read`] with hwloc's console;
/// returns the differences.
fn compare(root: &Path, topo: &Topology, console: &Console, seen: &mut Compared) -> Vec<String> {
    let mut diffs = Vec::new();
    let visible: BTreeSet<usize> = topo.usable().map(|c| c.id).collect();

    let pus = console.pus();
    let hw_pus: BTreeSet<usize> = pus.iter().filter_map(|&p| console.objs[p].os).collect();
    if hw_pus != visible {
        diffs.push(format!(
            "PUs: hwloc {} , read {}",
            show(&hw_pus),
            show(&visible)
        ));
    }
    let hidden: BTreeSet<usize> = topo
        .cpus
        .iter()
        .map(|c| c.id)
        .filter(|c| !visible.contains(c))
        .collect();
    if set(console.not_represented.iter().copied()) != hidden {
        diffs.push(format!(
            "not represented: hwloc {} , read (offline or disallowed) {}",
            show(&set(console.not_represented.iter().copied())),
            show(&hidden)
        ));
    }

    for &p in &pus {
        let Some(id) = console.objs[p].os else {
            diffs.push("a PU without P#".into());
            continue;
        };
        let Some(cpu) = topo.cpu(id) else {
            continue; // already reported as a PU difference
        };
        seen.pus += 1;
        // hwloc drops a Core object only when it adds nothing over its one
        // PU (--merge), so a PU without a Core shares no core.
        let core = console.ancestor(p, "Core");
        let hw_siblings = match core {
            Some(c) => console.pus_under(c),
            None => set([id]),
        };
        let siblings: BTreeSet<usize> = cpu
            .siblings
            .iter()
            .copied()
            .filter(|s| visible.contains(s))
            .collect();
        if hw_siblings != siblings {
            diffs.push(format!(
                "PU {id} siblings: hwloc {} , read {}",
                show(&hw_siblings),
                show(&siblings)
            ));
        }
        if let Some(c) = core {
            if console.objs[c].os != cpu.core {
                diffs.push(format!(
                    "PU {id} core id: hwloc {:?}, read {:?}",
                    console.objs[c].os, cpu.core
                ));
            }
        }
        let package = console
            .ancestor(p, "Package")
            .and_then(|k| console.objs[k].os);
        if package != cpu.package {
            diffs.push(format!(
                "PU {id} package: hwloc {package:?}, read {:?}",
                cpu.package
            ));
        }
    }

    let hw_nodes: BTreeMap<usize, usize> = console
        .numa_nodes()
        .into_iter()
        .filter_map(|n| Some((console.objs[n].os?, n)))
        .collect();
    // hwloc hides the memory of NVIDIA GPUs (nodes named in
    // /proc/driver/nvidia/gpus/*/numa_status) unless
    // HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES is set; wirelog keeps them as nodes
    // without CPUs, which no plan uses.
    let gpu_nodes = nvidia_gpu_nodes(root);
    let allowed: Vec<_> = topo
        .nodes
        .iter()
        .filter(|n| n.allowed && !gpu_nodes.contains(&n.id))
        .collect();
    let ids: BTreeSet<usize> = allowed.iter().map(|n| n.id).collect();
    if set(hw_nodes.keys().copied()) != ids {
        diffs.push(format!(
            "NUMA nodes: hwloc {} , read (allowed) {}",
            show(&set(hw_nodes.keys().copied())),
            show(&ids)
        ));
    }
    for node in allowed {
        let Some(&n) = hw_nodes.get(&node.id) else {
            continue;
        };
        seen.nodes += 1;
        let hw_mem = console.objs[n].local.clone();
        let mem = (node.mem_bytes > 0)
            .then(|| hwloc_size(node.mem_bytes, hw_mem.as_deref().unwrap_or("")));
        if hw_mem != mem {
            diffs.push(format!(
                "node {} memory: hwloc {hw_mem:?}, read {mem:?} ({} bytes)",
                node.id, node.mem_bytes
            ));
        }
        // A node's CPUs are those of the object hwloc hangs it under. A
        // node without CPUs hangs where hwloc infers its locality from
        // distances and initiators, which /sys does not state: only its
        // memory is compared.
        let cpus: BTreeSet<usize> = node
            .cpus
            .iter()
            .copied()
            .filter(|c| visible.contains(c))
            .collect();
        if !cpus.is_empty() {
            // Memory-side caches sit between a node and its CPUs' object.
            let parent = console
                .ancestors(n)
                .find(|&a| console.objs[a].kind != "MemCache")
                .expect("a NUMA node has a parent");
            let hw_cpus = console.pus_under(parent);
            if hw_cpus != cpus {
                diffs.push(format!(
                    "node {} CPUs: hwloc {} , read {}",
                    node.id,
                    show(&hw_cpus),
                    show(&cpus)
                ));
            }
        }
    }

    for (i, obj) in console.objs.iter().enumerate() {
        let (true, Some(name)) = (obj.kind == "Net", &obj.name) else {
            continue;
        };
        let near: Vec<usize> = console
            .ancestors(i)
            .map(|a| {
                console
                    .numa_nodes()
                    .into_iter()
                    .filter(|&n| console.objs[n].parent == Some(a))
                    .filter_map(|n| console.objs[n].os)
                    .collect::<Vec<_>>()
            })
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        let [expected] = near[..] else {
            continue; // not under one NUMA node
        };
        seen.nics += 1;
        let got = nic_numa_node(root, name);
        // The kernel gives no affinity (-1) when there is one node to have.
        let one_node = hw_nodes.len() == 1;
        if got != Some(expected) && !(got.is_none() && one_node) {
            diffs.push(format!(
                "NIC {name}: hwloc under node {expected}, numa_node says {got:?}"
            ));
        }
    }
    diffs
}

/// Nodes the NVIDIA driver says hold a GPU's memory.
fn nvidia_gpu_nodes(root: &Path) -> BTreeSet<usize> {
    let Ok(gpus) = std::fs::read_dir(root.join("proc/driver/nvidia/gpus")) else {
        return BTreeSet::new();
    };
    gpus.filter_map(|gpu| {
        let status = std::fs::read_to_string(gpu.ok()?.path().join("numa_status")).ok()?;
        let (_, rest) = status.split_once("Node:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
    .collect()
}

/// A recorded tree extracted into a temporary directory (removed on drop).
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn extract(tarball: &Path) -> Tree {
    let dir = tempfile::Builder::new()
        .prefix("topology-corpus-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary directory");
    let out = Command::new("tar")
        .arg("-xjf")
        .arg(tarball)
        .arg("-C")
        .arg(dir.path())
        .output()
        .expect("tar (with bzip2) runs");
    assert!(
        out.status.success(),
        "tar -xjf {}: {}",
        tarball.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Each tarball holds one directory, not always named like the file.
    let mut tops: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(tops.len(), 1, "{}: one top directory", tarball.display());
    Tree {
        root: tops.pop().unwrap(),
        _dir: dir,
    }
}

/// The corpus's machines by name, each with whether a console of its own
/// comes with it.
fn machines() -> Vec<(String, bool)> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("{CORPUS}: {e} (the corpus sits in ../shared beside the clone)"))
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let machine = name.strip_suffix(".tar.bz2")?.to_string();
            let console = Path::new(CORPUS)
                .join(format!("{machine}.console"))
                .exists();
            Some((machine, console))
        })
        .collect();
    names.sort();
    names
}

fn read_machine(machine: &str) -> (Tree, Topology) {
    let tree = extract(&Path::new(CORPUS).join(format!("{machine}.tar.bz2")));
    let topo = Topology::read(&tree.root).unwrap_or_else(|e| panic!("{machine}: {e}"));
    (tree, topo)
}

#[test]
fn corpus_matches_hwloc() {
    let machines = machines();
    let with_console = machines.iter().filter(|(_, c)| *c).count();
    assert!(with_console >= 30, "corpus: {machines:?}");
    let mut failures = Vec::new();
    let mut total = Compared::default();
    let mut compared = 0;
    let mut known = Vec::new();
    let mut unchecked = Vec::new();
    for (machine, has_console) in &machines {
        let (tree, topo) = read_machine(machine);
        if !has_console {
            // No expected answer, but one more real tree that must read.
            assert!(topo.usable().count() > 0, "{machine}: no usable CPU read");
            unchecked.push(machine.as_str());
            continue;
        }
        let console =
            std::fs::read_to_string(Path::new(CORPUS).join(format!("{machine}.console"))).unwrap();
        let console = parse_console(&console);
        let mut seen = Compared::default();
        let mut diffs = compare(&tree.root, &topo, &console, &mut seen);
        for (m, what, why) in KNOWN.iter().filter(|(m, _, _)| m == machine) {
            let before = diffs.len();
            diffs.retain(|d| !d.contains(what));
            assert!(
                diffs.len() < before,
                "{m}: the known difference {what:?} ({why}) no longer occurs: drop it"
            );
            known.push(format!("{m}: {what} ({} PUs)", before - diffs.len()));
        }
        if diffs.is_empty() {
            compared += 1;
            total.pus += seen.pus;
            total.nodes += seen.nodes;
            total.nics += seen.nics;
        } else {
            failures.push(format!("{machine}:\n  {}", diffs.join("\n  ")));
        }
    }
    println!(
        "topology corpus: {compared} of {with_console} machines with a console of their own agree \
         with hwloc ({} PUs, {} NUMA nodes, {} NICs), none excluded; known differences: {}; \
         {} trees without a console read without error ({})",
        total.pus,
        total.nodes,
        total.nics,
        if known.is_empty() {
            "none".into()
        } else {
            known.join("; ")
        },
        unchecked.len(),
        unchecked.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} machines differ from hwloc:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn live_matches_lstopo() {
    let mut cmd = Command::new("lstopo-no-graphics");
    cmd.args(["-v", "--of", "console"]);
    // HWLOC_XMLFILE, HWLOC_FSROOT and the like would show another machine.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HWLOC_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .output()
        .expect("lstopo-no-graphics runs (scripts/setup.sh installs Debian's hwloc)");
    assert!(
        out.status.success(),
        "lstopo-no-graphics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = parse_console(&String::from_utf8_lossy(&out.stdout));
    let topo = Topology::live().expect("this machine's /sys");
    let mut seen = Compared::default();
    let diffs = compare(Path::new("/"), &topo, &console, &mut seen);
    assert!(
        diffs.is_empty(),
        "Topology::live differs from lstopo:\n  {}",
        diffs.join("\n  ")
    );
    let count = |kind: &str| console.objs.iter().filter(|o| o.kind == kind).count();
    assert_eq!(seen.pus, count("PU"));
    let cores = topo
        .physical_cores()
        .into_iter()
        .filter(|core| core.iter().any(|&c| topo.cpu(c).is_some_and(|c| c.allowed)))
        .count();
    assert_eq!(cores, count("Core"), "physical cores");
    println!(
        "live: Topology::live agrees with lstopo on {} PUs, {} cores, {} packages, {} NUMA nodes, \
         {} NICs under a node",
        seen.pus,
        count("Core"),
        count("Package"),
        seen.nodes,
        seen.nics
    );
}

/// The NIC of hwloc's two-socket machine sits on node 0; node 0 holds CPUs
/// 0-7 and their hyperthread siblings 16-23, node 1 CPUs 8-15 and 24-31,
/// at distance 21.
#[test]
fn plans_on_a_two_socket_hyperthreaded_machine() {
    let (tree, topo) = read_machine("32intel64-2p8co2t+8ve");
    let nic = nic_numa_node(&tree.root, "enp96s0f0");
    assert_eq!(nic, Some(0));
    let node_of = |c: usize| topo.cpu(c).and_then(|c| c.node);
    let core_of = |c: usize| topo.cpu(c).map(|c| c.siblings.clone()).unwrap();

    let p = plan(&topo, nic, 4).unwrap();
    assert_eq!(p.control_core, 0, "{p:?}");
    assert_eq!(p.worker_cores, [1, 2, 3, 4]);
    assert!(p.notes.is_empty() && !p.busy_poll, "{p:?}");

    // Eight workers fill node 0's eight cores; the control core moves to
    // node 1 rather than push a worker off the NIC's node.
    let p = plan(&topo, nic, 8).unwrap();
    assert_eq!(p.worker_cores, (0..8).collect::<Vec<_>>());
    assert_eq!(node_of(p.control_core), Some(1), "{p:?}");
    assert!(
        p.notes.iter().any(|n| n.contains("not the NIC's node 0")),
        "{p:?}"
    );

    let p = plan(&topo, nic, 10).unwrap();
    assert_eq!(p.worker_cores, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(p.control_core, 10);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("2 spill to node 1 (distance 21)")),
        "{p:?}"
    );

    // Sixteen workers take every physical core; the control core shares one.
    let p = plan(&topo, nic, 16).unwrap();
    let mut cores: Vec<Vec<usize>> = p.worker_cores.iter().map(|&c| core_of(c)).collect();
    cores.sort();
    cores.dedup();
    assert_eq!(cores.len(), 16, "{p:?}");
    assert_eq!(p.control_core, 16, "{p:?}");
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("shares a core with the worker on CPU 0")));

    let p = plan(&topo, nic, 32).unwrap();
    assert_eq!(p.worker_cores.len(), 32);
    let e = plan(&topo, nic, 33).unwrap_err();
    assert!(
        e.contains("33 workers do not fit") && e.contains("up to 32"),
        "{e}"
    );
    assert!(
        e.contains("up to 15 workers each on a core of its own"),
        "{e}"
    );
}

/// hwloc's machine with CPUs 0-3 and 21-23 offline, and the even CPUs in
/// no node (the recording lost node 0): plans never use an offline CPU.
#[test]
fn plans_skip_offline_cpus() {
    let (_tree, topo) = read_machine("offline-cpu0-node0");
    let online: Vec<usize> = topo.online().map(|c| c.id).collect();
    assert_eq!(online, (4..=20).collect::<Vec<_>>());
    assert_eq!(topo.cpu(4).unwrap().node, None);
    assert_eq!(topo.cpu(5).unwrap().node, Some(1));
    assert_eq!(
        topo.cpu(1).unwrap().node,
        Some(1),
        "offline, still in its node"
    );

    let p = plan(&topo, Some(1), 4).unwrap();
    assert_eq!(
        (p.control_core, &p.worker_cores[..]),
        (5, &[7, 9, 11, 13][..])
    );
    assert!(p.notes.is_empty(), "{p:?}");

    let p = plan(&topo, Some(1), 12).unwrap();
    assert!(p.worker_cores.iter().all(|c| online.contains(c)), "{p:?}");
    assert_eq!(&p.worker_cores[..8], [5, 7, 9, 11, 13, 15, 17, 19]);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("4 spill to CPUs of no node")),
        "{p:?}"
    );

    let p = plan(&topo, Some(0), 17).unwrap();
    assert!(
        p.notes[0].contains("node 0 is not among this machine's nodes"),
        "{p:?}"
    );
    let mut all = p.worker_cores.clone();
    all.sort();
    assert_eq!(all, online);
    assert!(p.notes.iter().any(|n| n.contains("shares CPU 4")), "{p:?}");
    let e = plan(&topo, None, 18).unwrap_err();
    assert!(e.contains("17 usable CPUs"), "{e}");
}
