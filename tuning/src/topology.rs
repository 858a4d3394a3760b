//! CPU and NUMA topology, read from a Linux `/sys` and `/proc` tree: which
//! CPUs exist and are online, which of them are hyperthread siblings on one
//! physical core, their package and NUMA node, each node's memory and
//! distances, the CPUs the kernel keeps for isolated work (`isolcpus=`,
//! `nohz_full=`), and the CPUs and nodes the caller's cgroup cpuset allows.
//! [`crate::generate`] turns this into a core-pinning plan.
//!
//! The tree is read from a root directory, so a recorded tree (hwloc's test
//! suite keeps dozens, checked in `tests/topology_corpus.rs` against what
//! hwloc derives from them) reads exactly like this machine's.
//!
//! Invariants of a [`Topology`]:
//! - `cpus` holds every `cpuN` the tree lists, sorted by id, online or not;
//!   `nodes` is sorted by id; every id list is sorted and free of duplicates.
//! - `cpu.node == Some(n)` exactly when node `n` is in `nodes` and lists the
//!   CPU: a CPU belongs to at most one node.
//! - A CPU's `siblings` hold the CPU itself and only CPUs of `cpus`.
//!
//! Reading never panics and fails only when `sys/devices/system/cpu` cannot
//! be listed. Virtual machines, containers and old or exotic kernels lack
//! many files; what is missing is left unknown (`None`, empty, `0`) rather
//! than guessed, with two exceptions, both as the kernel and hwloc mean them:
//! a CPU is online unless the kernel's `online` list (or, without one, the
//! CPU's own `online` file) says otherwise (CPU 0 often cannot be taken
//! offline and has no file), and a kernel without NUMA support (no `nodeN`
//! directory at all) has one node 0 holding every CPU and all of
//! `/proc/meminfo`'s memory.
//!
//! Two departures from what `/sys` states, both hwloc's too: a node whose
//! CPU list overlaps an earlier node's is dropped (broken firmware), and
//! the two cores of an AMD family 15h module, which Linux lists as thread
//! siblings, are separate cores.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Highest CPU or node id accepted from a list or mask, so a corrupt file
/// cannot make the reader allocate without bound. Linux's own limit
/// (`NR_CPUS`) is at most 8192.
const MAX_ID: usize = 1 << 16;

/// The CPUs and NUMA nodes of a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Every CPU the tree lists, sorted by id.
    pub cpus: Vec<Cpu>,
    /// NUMA nodes, sorted by id.
    pub nodes: Vec<Node>,
    /// CPUs isolated from the scheduler's load balancing (`isolcpus=`).
    pub isolated: Vec<usize>,
    /// CPUs running without the periodic tick when alone (`nohz_full=`).
    pub nohz_full: Vec<usize>,
}

/// One logical CPU (a hyperthread, or a core without SMT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    /// Kernel CPU number.
    pub id: usize,
    /// Online: the scheduler may run threads on it.
    pub online: bool,
    /// The cgroup cpuset of the reading process allows it (true when there
    /// is no cpuset restriction, or it cannot be read).
    pub allowed: bool,
    /// `physical_package_id`; `None` when the kernel does not say (`-1`
    /// on s390 and some ARM kernels, or no topology directory).
    pub package: Option<usize>,
    /// `core_id`, unique only within a package; `None` when unknown.
    pub core: Option<usize>,
    /// NUMA node listing this CPU; `None` when no node does.
    pub node: Option<usize>,
    /// Hyperthread siblings sharing this CPU's physical core, itself
    /// included (`core_cpus_list`, formerly `thread_siblings_list`). The
    /// kernel lists only online siblings.
    pub siblings: Vec<usize>,
}

/// One NUMA node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Kernel node number.
    pub id: usize,
    /// CPUs of this node (online or not); empty for a memory-only node
    /// (persistent memory, CXL, GPU memory).
    pub cpus: Vec<usize>,
    /// Memory of the node (`MemTotal`), 0 when it has none or says none.
    pub mem_bytes: u64,
    /// Distance to each node of [`Topology::nodes`], in that order (10 is
    /// local); empty when the kernel gives none that can be matched.
    pub distances: Vec<u32>,
    /// The cgroup cpuset of the reading process allows its memory.
    pub allowed: bool,
}

impl Topology {
    /// Reads the topology under `root`: `/` for this machine, or a
    /// directory holding a recorded `sys/` and `proc/`.
    pub fn read(root: &Path) -> io::Result<Topology> {
        let cpu_dir = root.join("sys/devices/system/cpu");
        let mut ids: Vec<usize> = fs::read_dir(&cpu_dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| numbered(&e.file_name().to_string_lossy(), "cpu"))
            .collect();
        ids.sort_unstable();
        ids.dedup();

        let online_list = read_list(&cpu_dir.join("online"));
        let mut cpus: Vec<Cpu> = ids
            .iter()
            .map(|&id| read_cpu(&cpu_dir, id, online_list.as_deref()))
            .collect();
        for cpu in &mut cpus {
            cpu.siblings.retain(|s| ids.binary_search(s).is_ok());
        }
        if bulldozer_modules(root) {
            // Linux lists the two cores of an AMD family 15h module as
            // thread siblings, but each has its own core_id, integer units
            // and L1d: they are cores sharing a front end, not
            // hyperthreads (hwloc splits them the same way).
            let core_of: Vec<(Option<usize>, Option<usize>)> =
                cpus.iter().map(|c| (c.package, c.core)).collect();
            for (i, cpu) in cpus.iter_mut().enumerate() {
                cpu.siblings
                    .retain(|s| ids.binary_search(s).is_ok_and(|j| core_of[j] == core_of[i]));
            }
        }

        let mut nodes = read_nodes(root, &ids);
        for node in &nodes {
            for &c in &node.cpus {
                if let Ok(i) = ids.binary_search(&c) {
                    cpus[i].node = Some(node.id);
                }
            }
        }

        if let Some(allowed) = cpuset(root) {
            if let Some(set) = allowed.cpus {
                for cpu in &mut cpus {
                    cpu.allowed = set.binary_search(&cpu.id).is_ok();
                }
            }
            if let Some(set) = allowed.mems {
                for node in &mut nodes {
                    node.allowed = set.binary_search(&node.id).is_ok();
                }
            }
        }

        // `nohz_full` reads "(null)" on kernels booted without it.
        let only_known = |v: Option<Vec<usize>>| {
            let mut v = v.unwrap_or_default();
            v.retain(|c| ids.binary_search(c).is_ok());
            v
        };
        Ok(Topology {
            isolated: only_known(read_list(&cpu_dir.join("isolated"))),
            nohz_full: only_known(read_list(&cpu_dir.join("nohz_full"))),
            cpus,
            nodes,
        })
    }

    /// This machine's topology.
    pub fn live() -> io::Result<Topology> {
        Self::read(Path::new("/"))
    }

    /// The CPU numbered `id`.
    pub fn cpu(&self, id: usize) -> Option<&Cpu> {
        self.cpus
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.cpus[i])
    }

    /// The node numbered `id`.
    pub fn node(&self, id: usize) -> Option<&Node> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// Online CPUs.
    pub fn online(&self) -> impl Iterator<Item = &Cpu> {
        self.cpus.iter().filter(|c| c.online)
    }

    /// CPUs a thread of this process can be pinned to: online and allowed
    /// by its cpuset.
    pub fn usable(&self) -> impl Iterator<Item = &Cpu> {
        self.cpus.iter().filter(|c| c.online && c.allowed)
    }

    /// Physical cores: the online CPUs grouped with their hyperthread
    /// siblings, each group sorted, groups ordered by their first CPU.
    ///
    /// Sibling lists that disagree (A names B, B does not name A) are
    /// merged rather than trusted one way: two workers must never land on
    /// what might be one core.
    pub fn physical_cores(&self) -> Vec<Vec<usize>> {
        let online: Vec<usize> = self.online().map(|c| c.id).collect();
        let index = |id: usize| online.binary_search(&id).ok();
        let mut parent: Vec<usize> = (0..online.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (i, &id) in online.iter().enumerate() {
            let Some(cpu) = self.cpu(id) else { continue };
            for j in cpu.siblings.iter().filter_map(|&s| index(s)) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of_root = vec![usize::MAX; online.len()];
        for (i, &id) in online.iter().enumerate() {
            let r = root(&mut parent, i);
            if group_of_root[r] == usize::MAX {
                group_of_root[r] = groups.len();
                groups.push(Vec::new());
            }
            groups[group_of_root[r]].push(id);
        }
        groups
    }

    /// Distance from node `from` to node `to` as the kernel gives it.
    pub fn distance(&self, from: usize, to: usize) -> Option<u32> {
        let to = self.nodes.iter().position(|n| n.id == to)?;
        self.node(from)?.distances.get(to).copied()
    }
}

/// The NUMA node of network interface `ifname`:
/// `sys/class/net/IF/device/numa_node` under `root`, looked up on the
/// device's parents when the device itself has none (a virtio NIC's
/// `virtioN` device sits under the PCI function that has it). `-1` (the
/// firmware gives no affinity, as on every one-node machine) or no file
/// gives `None`; so does a virtual interface (veth, bridge, VLAN), which has
/// no device.
pub fn nic_numa_node(root: &Path, ifname: &str) -> Option<usize> {
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return None;
    }
    let devices = fs::canonicalize(root.join("sys/devices")).ok()?;
    let mut dev = fs::canonicalize(root.join("sys/class/net").join(ifname).join("device")).ok()?;
    while dev.starts_with(&devices) && dev != devices {
        if let Some(text) = read_trimmed(&dev.join("numa_node")) {
            return text.parse::<i64>().ok().and_then(non_negative);
        }
        if !dev.pop() {
            break;
        }
    }
    None
}

/// Parses a kernel CPU list such as `0-3,8,10-11` (sorted, duplicates
/// removed). An empty or all-blank string is the empty list.
pub fn parse_cpulist(s: &str) -> Result<Vec<usize>, String> {
    let s = s.trim();
    let mut out = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    for part in s.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (parse_id(a, s)?, parse_id(b, s)?),
            None => {
                let v = parse_id(part, s)?;
                (v, v)
            }
        };
        if lo > hi {
            return Err(format!("cpu list {s:?}: range {part:?} runs backwards"));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn parse_id(t: &str, whole: &str) -> Result<usize, String> {
    let t = t.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("cpu list {whole:?}: {t:?} is not a number"));
    }
    match t.parse::<usize>() {
        Ok(v) if v <= MAX_ID => Ok(v),
        _ => Err(format!("cpu list {whole:?}: {t} is above {MAX_ID}")),
    }
}

/// Formats CPU ids as a kernel CPU list with compact ranges: the inverse
/// of [`parse_cpulist`]. The input need not be sorted.
pub fn format_cpulist(cpus: &[usize]) -> String {
    let mut v = cpus.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if i == j {
            out.push_str(&v[i].to_string());
        } else {
            out.push_str(&format!("{}-{}", v[i], v[j]));
        }
        i = j + 1;
    }
    out
}

/// Parses a kernel CPU mask as in `/proc/irq/N/smp_affinity`: hexadecimal
/// 32-bit words separated by commas, most significant first (`ff,00000001`
/// is CPUs 0 and 32–39). An optional `0x` before a word is accepted.
pub fn parse_cpumask(s: &str) -> Result<Vec<usize>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let words: Vec<&str> = s.split(',').collect();
    if words.len() > MAX_ID / 32 {
        return Err(format!("cpu mask of {} words is too long", words.len()));
    }
    let mut out = Vec::new();
    for (pos, word) in words.iter().rev().enumerate() {
        let w = word.trim();
        let w = w
            .strip_prefix("0x")
            .or_else(|| w.strip_prefix("0X"))
            .unwrap_or(w);
        if w.is_empty() || w.len() > 8 {
            return Err(format!(
                "cpu mask {s:?}: word {word:?} is not 1 to 8 hex digits"
            ));
        }
        let bits = u32::from_str_radix(w, 16)
            .map_err(|_| format!("cpu mask {s:?}: word {word:?} is not hexadecimal"))?;
        out.extend(
            (0..32)
                .filter(|b| bits & (1 << b) != 0)
                .map(|b| pos * 32 + b),
        );
    }
    out.sort_unstable();
    Ok(out)
}

/// `name` as `prefix` followed by a decimal number (`cpu12` → 12); `cpufreq`
/// and `cpu` alone are not.
fn numbered(name: &str, prefix: &str) -> Option<usize> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&v| v <= MAX_ID)
}

fn non_negative(v: i64) -> Option<usize> {
    usize::try_from(v).ok().filter(|&v| v <= MAX_ID)
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn read_list(path: &Path) -> Option<Vec<usize>> {
    parse_cpulist(&read_trimmed(path)?).ok()
}

fn read_mask(path: &Path) -> Option<Vec<usize>> {
    parse_cpumask(&read_trimmed(path)?).ok()
}

fn read_cpu(cpu_dir: &Path, id: usize, online_list: Option<&[usize]>) -> Cpu {
    let dir = cpu_dir.join(format!("cpu{id}"));
    // The kernel's online list first, as hwloc reads it; the per-CPU file
    // where a tree has no list.
    let online = match online_list {
        Some(list) => list.binary_search(&id).is_ok(),
        None => read_trimmed(&dir.join("online")).as_deref() != Some("0"),
    };
    let topo = dir.join("topology");
    let int = |name: &str| {
        read_trimmed(&topo.join(name))
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|v| usize::try_from(v).ok())
    };
    // Kernels since 5.7 name the sibling list core_cpus; thread_siblings is
    // the older name, and some trees hold only the masks.
    let mut siblings = read_list(&topo.join("core_cpus_list"))
        .or_else(|| read_list(&topo.join("thread_siblings_list")))
        .or_else(|| read_mask(&topo.join("core_cpus")))
        .or_else(|| read_mask(&topo.join("thread_siblings")))
        .unwrap_or_default();
    if let Err(i) = siblings.binary_search(&id) {
        siblings.insert(i, id);
    }
    Cpu {
        id,
        online,
        allowed: true,
        package: int("physical_package_id"),
        core: int("core_id"),
        node: None,
        siblings,
    }
}

/// `/proc/cpuinfo` names an AMD family 15h CPU (Bulldozer to Excavator),
/// whose modules pair two cores.
fn bulldozer_modules(root: &Path) -> bool {
    let Ok(info) = fs::read_to_string(root.join("proc/cpuinfo")) else {
        return false;
    };
    let field = |name: &str| {
        info.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim())
        })
    };
    field("vendor_id") == Some("AuthenticAMD") && field("cpu family") == Some("21")
}

fn read_nodes(root: &Path, cpu_ids: &[usize]) -> Vec<Node> {
    let node_dir = root.join("sys/devices/system/node");
    let mut ids: Vec<usize> = fs::read_dir(&node_dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| numbered(&e.file_name().to_string_lossy(), "node"))
                .collect()
        })
        .unwrap_or_default();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return vec![Node {
            id: 0,
            cpus: cpu_ids.to_vec(),
            mem_bytes: mem_total(&root.join("proc/meminfo")),
            distances: Vec::new(),
            allowed: true,
        }];
    }

    let mut nodes = Vec::with_capacity(ids.len());
    let mut claimed: Vec<usize> = Vec::new();
    let mut dropped = false;
    for &id in &ids {
        let dir = node_dir.join(format!("node{id}"));
        let mut cpus = read_list(&dir.join("cpulist"))
            .or_else(|| read_mask(&dir.join("cpumap")))
            .unwrap_or_default();
        cpus.retain(|c| cpu_ids.binary_search(c).is_ok());
        // The kernel puts a CPU in one node. Tables that put it in several
        // come from broken firmware (hwloc's "buggynuma" machine lists
        // every CPU in all eight nodes): like hwloc, keep the first node
        // that claims a CPU and drop the later ones, whose distances are
        // then no more trustworthy than their CPU lists.
        if cpus.iter().any(|c| claimed.binary_search(c).is_ok()) {
            dropped = true;
            continue;
        }
        claimed.extend(&cpus);
        claimed.sort_unstable();
        nodes.push(Node {
            id,
            cpus,
            mem_bytes: mem_total(&dir.join("meminfo")),
            distances: Vec::new(),
            allowed: true,
        });
    }
    if !dropped {
        attach_distances(&node_dir, &ids, &mut nodes);
    }
    nodes
}

/// Fills each node's distances to the nodes kept. A `distance` file lists
/// one value per online node in id order; the node directories are the
/// online nodes, unless a recording lost some, so the columns are matched
/// through the `online` list when there is one.
fn attach_distances(node_dir: &Path, dir_ids: &[usize], nodes: &mut [Node]) {
    let columns = read_list(&node_dir.join("online")).unwrap_or_else(|| dir_ids.to_vec());
    let kept: Vec<usize> = nodes.iter().map(|n| n.id).collect();
    let Some(pick): Option<Vec<usize>> = kept
        .iter()
        .map(|id| columns.binary_search(id).ok())
        .collect()
    else {
        return;
    };
    for node in nodes.iter_mut() {
        let path = node_dir.join(format!("node{}/distance", node.id));
        let Some(text) = read_trimmed(&path) else {
            continue;
        };
        let row: Option<Vec<u32>> = text.split_whitespace().map(|t| t.parse().ok()).collect();
        match row {
            Some(row) if row.len() == columns.len() => {
                node.distances = pick.iter().map(|&i| row[i]).collect();
            }
            _ => {}
        }
    }
}

/// `MemTotal` of a meminfo file in bytes; `/proc/meminfo` says
/// `MemTotal: N kB`, a node's says `Node 3 MemTotal: N kB`.
fn mem_total(path: &Path) -> u64 {
    let Some(text) = read_trimmed(path) else {
        return 0;
    };
    text.lines()
        .find_map(|line| {
            let (_, rest) = line.split_once("MemTotal:")?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            kb.checked_mul(1024)
        })
        .unwrap_or(0)
}

/// CPUs and memory nodes a cgroup cpuset allows; `None` in a field when
/// that file could not be read (then everything is allowed).
struct Allowed {
    cpus: Option<Vec<usize>>,
    mems: Option<Vec<usize>>,
}

#[derive(Clone, Copy)]
enum CgroupKind {
    /// cgroup v2: `cpuset.cpus.effective` already folds in the parents.
    V2,
    /// cgroup v1 cpuset hierarchy: `cpuset.cpus`.
    V1,
    /// The legacy cpuset filesystem, or v1 mounted with `noprefix`: `cpus`.
    Legacy,
}

/// The cpuset of the reading process, found the way hwloc finds it (so
/// the two agree on the recorded trees): the usual mount points first,
/// then `/proc/mounts`; the process's cpuset path from `/proc/self/cpuset`,
/// else from `/proc/self/cgroup`.
fn cpuset(root: &Path) -> Option<Allowed> {
    let (kind, mount) = cpuset_mount(root)?;
    let name = cpuset_name(root)?;
    let base = under(root, &mount).join(name.trim_start_matches('/'));
    let file = |attr: &str| -> PathBuf {
        match kind {
            CgroupKind::V2 => base.join(format!("cpuset.{attr}.effective")),
            CgroupKind::V1 => base.join(format!("cpuset.{attr}")),
            CgroupKind::Legacy => base.join(attr),
        }
    };
    Some(Allowed {
        cpus: read_list(&file("cpus")),
        mems: read_list(&file("mems")),
    })
}

fn cpuset_mount(root: &Path) -> Option<(CgroupKind, String)> {
    let standard = [
        (
            "sys/fs/cgroup/cpuset.cpus.effective",
            CgroupKind::V2,
            "/sys/fs/cgroup",
        ),
        (
            "sys/fs/cgroup/cpuset/cpuset.cpus",
            CgroupKind::V1,
            "/sys/fs/cgroup/cpuset",
        ),
        ("dev/cpuset/cpus", CgroupKind::Legacy, "/dev/cpuset"),
    ];
    for (probe, kind, mount) in standard {
        if root.join(probe).is_file() {
            return Some((kind, mount.to_string()));
        }
    }
    let mounts = fs::read_to_string(root.join("proc/mounts")).ok()?;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, dir, fstype, opts, ..] = f[..] else {
            continue;
        };
        let dir = unescape_mount(dir);
        match fstype {
            "cgroup2" => {
                let controllers = read_trimmed(&under(root, &dir).join("cgroup.controllers"));
                if controllers.is_some_and(|c| c.split_whitespace().any(|c| c == "cpuset")) {
                    return Some((CgroupKind::V2, dir));
                }
            }
            "cpuset" => return Some((CgroupKind::Legacy, dir)),
            "cgroup" => {
                let opts: Vec<&str> = opts.split(',').collect();
                if opts.contains(&"cpuset") {
                    let kind = if opts.contains(&"noprefix") {
                        CgroupKind::Legacy
                    } else {
                        CgroupKind::V1
                    };
                    return Some((kind, dir));
                }
            }
            _ => {}
        }
    }
    None
}

fn cpuset_name(root: &Path) -> Option<String> {
    if let Some(name) = read_trimmed(&root.join("proc/self/cpuset")).filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let cgroup = fs::read_to_string(root.join("proc/self/cgroup")).ok()?;
    cgroup.lines().find_map(|line| {
        let (_, rest) = line.split_once(':')?;
        rest.strip_prefix("cpuset:")
            .or_else(|| rest.strip_prefix(':'))
            .map(str::to_string)
    })
}

/// An absolute path of the recorded machine, under `root`.
fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// `/proc/mounts` writes space, tab, newline and backslash in octal.
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) if d[0] <= b'3' => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn cpulists() {
        assert_eq!(
            parse_cpulist("0-3,8,10-11\n"),
            Ok(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpulist(""), Ok(vec![]));
        assert_eq!(parse_cpulist(" \n"), Ok(vec![]));
        assert_eq!(parse_cpulist("5,1-2,2"), Ok(vec![1, 2, 5]));
        for bad in [
            "3-1",
            "a",
            "1,,2",
            "-1",
            "1-",
            "0-99999999",
            "(null)",
            "1 2",
        ] {
            assert!(parse_cpulist(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_cpulist(&[11, 0, 1, 2, 3, 8, 10, 3]), "0-3,8,10-11");
        assert_eq!(format_cpulist(&[]), "");
        assert_eq!(format_cpulist(&[4, 5]), "4-5");
        // Every subset of 0..12 survives the round trip.
        for bits in 0u32..1 << 12 {
            let cpus: Vec<usize> = (0..12).filter(|b| bits & (1 << b) != 0).collect();
            assert_eq!(parse_cpulist(&format_cpulist(&cpus)), Ok(cpus));
        }
    }

    #[test]
    fn cpumasks() {
        assert_eq!(
            parse_cpumask("ff,00000001"),
            Ok((0..1).chain(32..40).collect())
        );
        assert_eq!(parse_cpumask("00000005\n"), Ok(vec![0, 2]));
        assert_eq!(parse_cpumask("0x3"), Ok(vec![0, 1]));
        assert_eq!(parse_cpumask("0000,00000000,00000000"), Ok(vec![]));
        assert_eq!(parse_cpumask("80000000,0"), Ok(vec![63]));
        assert_eq!(parse_cpumask(""), Ok(vec![]));
        for bad in ["g", "1,,2", "123456789", ",1", "0x"] {
            assert!(parse_cpumask(bad).is_err(), "{bad:?}");
        }
        assert!(parse_cpumask(&vec!["ffffffff"; 4096].join(",")).is_err());
    }

    /// A KVM guest as many clouds give it: two CPUs with no topology
    /// directory, no NUMA support, no isolation files.
    #[test]
    fn a_bare_vm() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("sys/devices/system/cpu/cpu0")).unwrap();
        fs::create_dir_all(root.join("sys/devices/system/cpu/cpu1")).unwrap();
        fs::create_dir_all(root.join("sys/devices/system/cpu/cpufreq")).unwrap();
        put(
            root,
            "proc/meminfo",
            "MemTotal:        2048000 kB\nMemFree: 1 kB\n",
        );
        let t = Topology::read(root).unwrap();
        assert_eq!(t.cpus.len(), 2);
        let c1 = t.cpu(1).unwrap();
        assert!(c1.online && c1.allowed);
        assert_eq!((c1.package, c1.core, c1.node), (None, None, Some(0)));
        assert_eq!(c1.siblings, [1]);
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].cpus, [0, 1]);
        assert_eq!(t.nodes[0].mem_bytes, 2048000 * 1024);
        assert!(t.isolated.is_empty() && t.nohz_full.is_empty());
        assert_eq!(t.physical_cores(), [vec![0], vec![1]]);
    }

    /// Two nodes, one memoryless and one without CPUs, an offline CPU, a
    /// CPU in no node, isolation and a cgroup v2 cpuset.
    #[test]
    fn a_strange_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let cpu = "sys/devices/system/cpu";
        put(root, &format!("{cpu}/online"), "0-2\n");
        put(root, &format!("{cpu}/isolated"), "2\n");
        put(root, &format!("{cpu}/nohz_full"), "(null)\n");
        for (id, pkg, core, sib) in [
            (0, "0", "0", "0,2"),
            (1, "0", "1", "1"),
            (2, "0", "0", "0,2"),
        ] {
            let t = format!("{cpu}/cpu{id}/topology");
            put(root, &format!("{t}/physical_package_id"), pkg);
            put(root, &format!("{t}/core_id"), core);
            put(root, &format!("{t}/thread_siblings_list"), sib);
        }
        // CPU 3 is offline: the kernel removed its topology directory.
        put(root, &format!("{cpu}/cpu3/online"), "0\n");
        let node = "sys/devices/system/node";
        put(root, &format!("{node}/online"), "0-2\n");
        put(root, &format!("{node}/node0/cpulist"), "0-1,3\n");
        put(root, &format!("{node}/node0/distance"), "10 20 30\n");
        put(root, &format!("{node}/node1/cpulist"), "\n");
        put(
            root,
            &format!("{node}/node1/meminfo"),
            "Node 1 MemTotal: 1024 kB\n",
        );
        put(root, &format!("{node}/node1/distance"), "20 10 30\n");
        put(root, &format!("{node}/node2/cpumap"), "00000000\n");
        put(
            root,
            &format!("{node}/node2/meminfo"),
            "Node 2 MemTotal: garbage\n",
        );
        put(root, &format!("{node}/node2/distance"), "30 30\n");
        put(root, "proc/self/cgroup", "0::/sensor\n");
        put(
            root,
            "proc/mounts",
            "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n",
        );
        put(
            root,
            "sys/fs/cgroup/cgroup.controllers",
            "cpu cpuset memory\n",
        );
        put(root, "sys/fs/cgroup/sensor/cpuset.cpus.effective", "0-1\n");
        put(root, "sys/fs/cgroup/sensor/cpuset.mems.effective", "0\n");

        let t = Topology::read(root).unwrap();
        let ids = |v: Vec<&Cpu>| v.iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(t.online().collect()), [0, 1, 2]);
        assert_eq!(ids(t.usable().collect()), [0, 1]);
        assert_eq!(t.cpu(3).unwrap().siblings, [3]);
        assert_eq!(t.cpu(3).unwrap().node, Some(0));
        assert_eq!(t.cpu(2).unwrap().node, None);
        assert_eq!(t.cpu(2).unwrap().siblings, [0, 2]);
        assert_eq!(t.isolated, [2]);
        assert!(t.nohz_full.is_empty());
        assert_eq!(t.physical_cores(), [vec![0, 2], vec![1]]);
        let n: Vec<(usize, &[usize], u64, bool)> = t
            .nodes
            .iter()
            .map(|n| (n.id, &n.cpus[..], n.mem_bytes, n.allowed))
            .collect();
        assert_eq!(
            n,
            [
                (0, &[0, 1, 3][..], 0, true),
                (1, &[][..], 1024 * 1024, false),
                (2, &[][..], 0, false)
            ]
        );
        assert_eq!(t.nodes[0].distances, [10, 20, 30]);
        assert!(
            t.nodes[2].distances.is_empty(),
            "a short row is not guessed at"
        );
        assert_eq!(t.distance(1, 2), Some(30));
        assert_eq!(t.distance(2, 0), None);
        assert_eq!(t.distance(0, 7), None);
    }

    /// Firmware that puts every CPU in every node: the later nodes go, as
    /// in hwloc, and with them the distance table.
    #[test]
    fn overlapping_nodes_keep_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("sys/devices/system/cpu/cpu0")).unwrap();
        fs::create_dir_all(root.join("sys/devices/system/cpu/cpu1")).unwrap();
        for n in 0..3 {
            let node = format!("sys/devices/system/node/node{n}");
            put(root, &format!("{node}/cpulist"), "0-1");
            put(root, &format!("{node}/distance"), "10 10 10");
        }
        let t = Topology::read(root).unwrap();
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(t.nodes[0].cpus, [0, 1]);
        assert!(t.nodes[0].distances.is_empty());
    }

    #[test]
    fn disagreeing_siblings_make_one_core() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let cpu = "sys/devices/system/cpu";
        put(
            root,
            &format!("{cpu}/cpu0/topology/thread_siblings_list"),
            "0-1",
        );
        put(
            root,
            &format!("{cpu}/cpu1/topology/thread_siblings_list"),
            "1",
        );
        put(
            root,
            &format!("{cpu}/cpu2/topology/thread_siblings"),
            "00000004",
        );
        put(root, &format!("{cpu}/cpu3/topology/core_cpus_list"), "3,9");
        let t = Topology::read(root).unwrap();
        assert_eq!(t.physical_cores(), [vec![0, 1], vec![2], vec![3]]);
        assert_eq!(t.cpu(3).unwrap().siblings, [3], "CPU 9 does not exist");
    }

    /// Nothing in a garbled tree panics; only a missing CPU directory is
    /// an error.
    #[test]
    fn garbage_is_unknown_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(Topology::read(root).is_err());
        let cpu = "sys/devices/system/cpu";
        for (file, text) in [
            ("online", "zz"),
            ("isolated", "4-1"),
            ("cpu0/topology/physical_package_id", "-1"),
            ("cpu0/topology/core_id", "99999999999999999999999"),
            ("cpu0/topology/thread_siblings_list", "0-4294967295"),
            ("cpu70000/online", "1"),
            ("cpu1/online", "\u{0}\u{ff}"),
        ] {
            put(root, &format!("{cpu}/{file}"), text);
        }
        put(root, "sys/devices/system/node/node0/cpumap", "not a mask");
        put(root, "sys/devices/system/node/node0/distance", "-5 x");
        put(root, "sys/devices/system/node/node99999999/cpulist", "0");
        put(
            root,
            "proc/mounts",
            "cpuset /x\\777y cpuset rw 0 0\nshort\n",
        );
        put(root, "proc/self/cpuset", "/../../..\n");
        let t = Topology::read(root).unwrap();
        assert_eq!(t.cpus.iter().map(|c| c.id).collect::<Vec<_>>(), [0, 1]);
        let c0 = t.cpu(0).unwrap();
        assert_eq!(
            (c0.package, c0.core, &c0.siblings[..]),
            (None, None, &[0][..])
        );
        assert!(t.online().count() == 2 && t.isolated.is_empty());
        assert_eq!(t.nodes.len(), 1);
        assert!(t.nodes[0].cpus.is_empty() && t.nodes[0].distances.is_empty());
    }

    #[test]
    fn nic_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let pci = "sys/devices/pci0000:00/0000:00:03.0";
        put(root, &format!("{pci}/numa_node"), "1\n");
        put(root, &format!("{pci}/virtio0/net/eth0/mtu"), "1500");
        put(root, &format!("{pci}/virtio0/net/eth0/addr_len"), "6");
        put(
            root,
            "sys/devices/pci0000:00/0000:00:04.0/numa_node",
            "-1\n",
        );
        put(root, "sys/devices/virtual/net/veth0/mtu", "1500");
        fs::create_dir_all(root.join("sys/class/net")).unwrap();
        let link = |name: &str, target: &str| {
            std::os::unix::fs::symlink(target, root.join("sys/class/net").join(name)).unwrap();
        };
        link(
            "eth0",
            "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0",
        );
        std::os::unix::fs::symlink(
            "../../../virtio0",
            root.join(format!("{pci}/virtio0/net/eth0/device")),
        )
        .unwrap();
        fs::create_dir_all(root.join("sys/devices/pci0000:00/0000:00:04.0/net/eth1")).unwrap();
        link("eth1", "../../devices/pci0000:00/0000:00:04.0/net/eth1");
        std::os::unix::fs::symlink(
            "../../../0000:00:04.0",
            root.join("sys/devices/pci0000:00/0000:00:04.0/net/eth1/device"),
        )
        .unwrap();
        link("veth0", "../../devices/virtual/net/veth0");
        assert_eq!(
            nic_numa_node(root, "eth0"),
            Some(1),
            "from the virtio device's PCI parent"
        );
        assert_eq!(nic_numa_node(root, "eth1"), None, "-1");
        assert_eq!(nic_numa_node(root, "veth0"), None, "no device");
        assert_eq!(nic_numa_node(root, "nope"), None);
        assert_eq!(nic_numa_node(root, "../../devices"), None);
        assert_eq!(nic_numa_node(root, ""), None);
    }
}
