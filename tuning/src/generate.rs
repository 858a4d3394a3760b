//! Core-pinning plans for `wirelog tune`: from a [`Topology`], the NIC's
//! NUMA node and a worker count, which CPU each worker runs on and which
//! one the control core uses (issue 24: "NUMA-local to the NIC, no two
//! workers on hyperthread siblings, the control core apart").
//!
//! The rules, in order of weight:
//! 1. Only CPUs that are online and allowed by this process's cpuset are
//!    used ([`Topology::usable`]).
//! 2. Workers sit on the NIC's node; when it has too few physical cores,
//!    on the nodes nearest to it by the kernel's distance table. With the
//!    NIC's node unknown every node is as near.
//! 3. One worker per physical core; within a node, cores whose CPU is
//!    isolated (`isolcpus=`) first. Hyperthread siblings carry a second
//!    worker only when there are more workers than physical cores.
//! 4. The control core gets a physical core no worker uses, preferably not
//!    an isolated one and on the NIC's node. When the NIC's node has a
//!    core to spare it takes the lowest-numbered one (CPU 0 on most
//!    machines, which the kernel gives housekeeping work anyway); it never
//!    takes a core a worker would need to stay on the NIC's node.
//! 5. Busy polling is proposed only when every worker's CPU is isolated
//!    and none shares its CPU with the control core.
//!
//! Every departure from the ideal (spilling off the NIC's node, siblings,
//! a shared or isolated control core, an unknown NIC node) is said in
//! [`PinPlan::notes`].

use crate::topology::{format_cpulist, Topology};

/// Where workers and the control core run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPlan {
    /// CPU of the control thread.
    pub control_core: usize,
    /// CPU of each worker, in worker order (the NIC's node first).
    pub worker_cores: Vec<usize>,
    /// Every worker has an isolated CPU to itself: busy polling pays.
    pub busy_poll: bool,
    /// Why the plan departs from the ideal, one sentence each.
    pub notes: Vec<String>,
}

/// A physical core's usable CPUs and where it sits.
struct Core {
    /// Usable CPUs, isolated ones first, then by id.
    pus: Vec<usize>,
    /// Nearness to the NIC: `(tier, distance, node id)`, lower is nearer.
    rank: (u8, u32, usize),
    node: Option<usize>,
    /// Every CPU of the core is isolated.
    all_isolated: bool,
    /// Its first CPU (the one a worker gets) is isolated.
    first_isolated: bool,
}

/// Plans `workers` workers and a control core on `topo` for a NIC on node
/// `nic_node` (`None`: unknown).
pub fn plan(topo: &Topology, nic_node: Option<usize>, workers: usize) -> Result<PinPlan, String> {
    let usable: Vec<usize> = topo.usable().map(|c| c.id).collect();
    if usable.is_empty() {
        return Err(
            "no usable CPU: none is both online and allowed by this process's cpuset".into(),
        );
    }
    let isolated = |id: usize| topo.isolated.contains(&id);
    let mut notes = Vec::new();

    let nic = match nic_node {
        Some(n) if topo.node(n).is_some() => Some(n),
        Some(n) => {
            notes.push(format!(
                "the NIC's NUMA node {n} is not among this machine's nodes: workers may use every node"
            ));
            None
        }
        None => {
            // One-node machines report no NIC node (-1): nothing to choose.
            let mut nodes = usable.iter().map(|&c| topo.cpu(c).and_then(|c| c.node));
            let first = nodes.next().flatten();
            if nodes.any(|n| n != first) {
                notes.push("the NIC's NUMA node is unknown: workers may use every node".into());
            }
            None
        }
    };
    let rank = |node: Option<usize>| -> (u8, u32, usize) {
        let Some(nic) = nic else { return (0, 0, 0) };
        match node {
            Some(n) if n == nic => (0, 0, n),
            Some(n) => match topo.distance(nic, n) {
                Some(d) => (1, d, n),
                None => (2, 0, n),
            },
            None => (3, 0, usize::MAX),
        }
    };

    let mut cores: Vec<Core> = topo
        .physical_cores()
        .into_iter()
        .filter_map(|group| {
            let mut pus: Vec<usize> = group
                .into_iter()
                .filter(|c| usable.binary_search(c).is_ok())
                .collect();
            pus.sort_by_key(|&c| (!isolated(c), c));
            let first = *pus.first()?;
            let node = topo.cpu(first).and_then(|c| c.node);
            Some(Core {
                rank: rank(node),
                node,
                all_isolated: pus.iter().all(|&c| isolated(c)),
                first_isolated: isolated(first),
                pus,
            })
        })
        .collect();
    let fits = fits(usable.len(), cores.len());
    if workers == 0 {
        return Err(format!("0 workers: at least 1 is needed; {fits}"));
    }
    if workers > usable.len() {
        return Err(format!("{workers} workers do not fit: {fits}"));
    }

    // Worker order: nearest to the NIC, then isolated, then by CPU.
    cores.sort_by_key(|c| (c.rank, !c.first_isolated, c.pus[0]));
    let local = cores.iter().filter(|c| c.rank.0 == 0).count();
    let mut control_core = None;
    if local > workers {
        control_core = cores
            .iter()
            .filter(|c| c.rank.0 == 0 && !c.all_isolated)
            .min_by_key(|c| c.pus[0])
            .map(|c| first_not_isolated(c, &isolated));
    }
    let mut used = vec![false; cores.len()];
    let mut worker_cores = Vec::with_capacity(workers);
    for (i, core) in cores.iter().enumerate() {
        if worker_cores.len() == workers {
            break;
        }
        if control_core.is_some_and(|cc| core.pus.contains(&cc)) {
            continue;
        }
        used[i] = true;
        worker_cores.push(core.pus[0]);
    }

    if let Some(nic) = nic {
        let off: Vec<(usize, u32)> = cores
            .iter()
            .zip(&used)
            .filter(|(c, &u)| u && c.rank.0 != 0)
            .map(|(c, _)| (c.rank.2, c.rank.1))
            .collect();
        if !off.is_empty() {
            let mut spill: Vec<String> = Vec::new();
            for (node, d) in &off {
                let s = if *node == usize::MAX {
                    "CPUs of no node".to_string()
                } else if *d > 0 {
                    format!("node {node} (distance {d})")
                } else {
                    format!("node {node}")
                };
                if !spill.contains(&s) {
                    spill.push(s);
                }
            }
            notes.push(format!(
                "the NIC's node {nic} has {local} usable physical cores for {workers} workers: \
                 {} spill to {}",
                off.len(),
                spill.join(", ")
            ));
        }
    }

    // More workers than physical cores: hyperthread siblings take the rest,
    // one more per core before any core gets a third.
    if worker_cores.len() < workers {
        let mut shared = Vec::new();
        let mut depth = 1;
        while worker_cores.len() < workers {
            let before = worker_cores.len();
            for core in &cores {
                if worker_cores.len() == workers {
                    break;
                }
                if let Some(&pu) = core.pus.get(depth) {
                    worker_cores.push(pu);
                    shared.push(pu);
                }
            }
            if worker_cores.len() == before {
                break;
            }
            depth += 1;
        }
        notes.push(format!(
            "{} physical cores for {workers} workers: the workers on CPUs {} share a core \
             with another worker (hyperthread siblings)",
            cores.len(),
            format_cpulist(&shared)
        ));
    }

    let control_core = match control_core {
        Some(c) => c,
        None => choose_control(&cores, &used, &worker_cores, nic, &isolated, &mut notes),
    };
    let all_isolated = worker_cores.iter().all(|&c| isolated(c));
    let shares = worker_cores.contains(&control_core);
    if all_isolated && shares {
        notes.push(
            "busy polling stays off although every worker's CPU is isolated: \
             it would starve the control core sharing one of them"
                .into(),
        );
    }
    Ok(PinPlan {
        control_core,
        busy_poll: all_isolated && !shares,
        worker_cores,
        notes,
    })
}

fn first_not_isolated(core: &Core, isolated: &impl Fn(usize) -> bool) -> usize {
    core.pus
        .iter()
        .copied()
        .filter(|&c| !isolated(c))
        .min()
        .unwrap_or(core.pus[0])
}

/// The control core once workers are placed: a free physical core
/// (not isolated, nearest the NIC, lowest CPU), else a free sibling of a
/// worker, else a worker's own CPU.
fn choose_control(
    cores: &[Core],
    used: &[bool],
    worker_cores: &[usize],
    nic: Option<usize>,
    isolated: &impl Fn(usize) -> bool,
    notes: &mut Vec<String>,
) -> usize {
    let free_core = cores
        .iter()
        .zip(used)
        .filter(|(_, &u)| !u)
        .map(|(c, _)| c)
        .min_by_key(|c| (c.all_isolated, c.rank, c.pus[0]));
    if let Some(core) = free_core {
        let cpu = first_not_isolated(core, isolated);
        if isolated(cpu) {
            notes.push(format!(
                "the control core is on isolated CPU {cpu}: no free physical core is left \
                 outside the isolated set"
            ));
        }
        if let Some(nic) = nic {
            if core.node != Some(nic) {
                let at = core.node.map_or("no node".into(), |n| format!("node {n}"));
                notes.push(format!(
                    "the control core (CPU {cpu}) is on {at}, not the NIC's node {nic}: \
                     no core is free there"
                ));
            }
        }
        return cpu;
    }

    let free_pu = cores
        .iter()
        .flat_map(|c| c.pus.iter().map(move |&p| (c, p)))
        .filter(|(_, p)| !worker_cores.contains(p))
        .min_by_key(|&(c, p)| (isolated(p), c.rank, p));
    if let Some((core, cpu)) = free_pu {
        let worker = core
            .pus
            .iter()
            .find(|p| worker_cores.contains(p))
            .copied()
            .unwrap_or(core.pus[0]);
        notes.push(format!(
            "no physical core is left for the control core: CPU {cpu} shares a core with \
             the worker on CPU {worker} (hyperthread siblings)"
        ));
        return cpu;
    }

    let cpu = worker_cores
        .iter()
        .copied()
        .min_by_key(|&c| (isolated(c), c))
        .unwrap_or(worker_cores[0]);
    if worker_cores.len() == 1 && cores.len() == 1 && cores[0].pus.len() == 1 {
        notes.push(format!(
            "a single usable CPU: the control core and the worker share CPU {cpu}"
        ));
    } else {
        notes.push(format!(
            "every usable CPU runs a worker: the control core shares CPU {cpu} with one"
        ));
    }
    cpu
}

/// What fits on a machine, for error messages.
fn fits(cpus: usize, cores: usize) -> String {
    let apart = cores.saturating_sub(1);
    let cpu_s = if cpus == 1 { "CPU" } else { "CPUs" };
    let worker_s = if apart == 1 { "worker" } else { "workers" };
    if apart == 0 {
        format!(
            "this machine has {cpus} usable {cpu_s} on one physical core: \
             1 to {cpus} workers, sharing with the control core"
        )
    } else {
        format!(
            "this machine has {cpus} usable {cpu_s} on {cores} physical cores: up to {apart} \
             {worker_s} each on a core of its own with the control core apart, up to {cpus} sharing"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Cpu, Node};

    /// A machine from a list of nodes, each a list of physical cores, each
    /// a list of hyperthreads. Node `i` is package `i`; the distance from
    /// node `i` to node `j` is `10 + 10 * |i - j|` (a chain).
    fn machine(nodes: &[&[&[usize]]]) -> Topology {
        let mut cpus = Vec::new();
        let mut out = Vec::new();
        for (n, cores) in nodes.iter().enumerate() {
            let mut node_cpus = Vec::new();
            for (k, core) in cores.iter().enumerate() {
                for &id in *core {
                    cpus.push(Cpu {
                        id,
                        online: true,
                        allowed: true,
                        package: Some(n),
                        core: Some(k),
                        node: Some(n),
                        siblings: core.to_vec(),
                    });
                    node_cpus.push(id);
                }
            }
            node_cpus.sort();
            out.push(Node {
                id: n,
                cpus: node_cpus,
                mem_bytes: 1 << 30,
                distances: (0..nodes.len())
                    .map(|m| 10 + 10 * n.abs_diff(m) as u32)
                    .collect(),
                allowed: true,
            });
        }
        cpus.sort_by_key(|c| c.id);
        for c in &mut cpus {
            c.siblings.sort();
        }
        Topology {
            cpus,
            nodes: out,
            isolated: vec![],
            nohz_full: vec![],
        }
    }

    /// Two sockets, four cores each, two threads per core: node 0 holds
    /// CPUs 0-3 and siblings 8-11, node 1 CPUs 4-7 and siblings 12-15.
    fn two_sockets() -> Topology {
        machine(&[
            &[&[0, 8], &[1, 9], &[2, 10], &[3, 11]],
            &[&[4, 12], &[5, 13], &[6, 14], &[7, 15]],
        ])
    }

    fn cores_of(t: &Topology, cpus: &[usize]) -> Vec<Vec<usize>> {
        let mut v: Vec<Vec<usize>> = cpus
            .iter()
            .map(|&c| t.cpu(c).unwrap().siblings.clone())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn workers_on_the_nic_node_one_per_core_control_apart() {
        let t = two_sockets();
        let p = plan(&t, Some(1), 3).unwrap();
        assert_eq!(
            p,
            PinPlan {
                control_core: 4,
                worker_cores: vec![5, 6, 7],
                busy_poll: false,
                notes: vec![],
            }
        );
        let p = plan(&t, Some(0), 2).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (0, &[1, 2][..]));
    }

    #[test]
    fn isolated_cpus_go_to_workers_and_allow_busy_polling() {
        let mut t = two_sockets();
        t.isolated = vec![2, 3, 10, 11];
        let p = plan(&t, Some(0), 2).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (0, &[2, 3][..]));
        assert!(p.busy_poll && p.notes.is_empty(), "{p:?}");
        // A third worker has no isolated core left: no busy polling.
        let p = plan(&t, Some(0), 3).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (0, &[2, 3, 1][..]));
        assert!(!p.busy_poll);
    }

    #[test]
    fn the_control_core_avoids_isolated_cpus() {
        let mut t = two_sockets();
        t.isolated = (0..4).chain(8..12).collect();
        let p = plan(&t, Some(0), 2).unwrap();
        assert_eq!(p.worker_cores, [0, 1]);
        assert_eq!(
            p.control_core, 4,
            "a free core of node 1 rather than an isolated one"
        );
        assert!(p.busy_poll);
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].contains("is on node 1, not the NIC's node 0"),
            "{p:?}"
        );
        // With node 1 full too, an isolated core is all that is left.
        let mut t = machine(&[&[&[0], &[1], &[2]]]);
        t.isolated = vec![0, 1, 2];
        let p = plan(&t, Some(0), 2).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (2, &[0, 1][..]));
        assert!(p.notes[0].contains("isolated CPU 2"), "{p:?}");
        assert!(p.busy_poll, "the control core has a CPU of its own");
    }

    #[test]
    fn spill_to_the_nearest_node() {
        // Three nodes in a chain: node 1 is nearer to node 2 than node 0 is.
        let t = machine(&[&[&[0], &[1]], &[&[2], &[3]], &[&[4], &[5]]]);
        let p = plan(&t, Some(2), 3).unwrap();
        assert_eq!(p.worker_cores, [4, 5, 2]);
        assert_eq!(p.control_core, 3);
        assert_eq!(p.notes.len(), 2, "{p:?}");
        assert!(p.notes[0].contains(
            "node 2 has 2 usable physical cores for 3 workers: 1 spill to node 1 (distance 20)"
        ));
        assert!(p.notes[1].contains("CPU 3) is on node 1"));
        let p = plan(&t, Some(0), 5).unwrap();
        assert_eq!(p.worker_cores, [0, 1, 2, 3, 4]);
        assert!(
            p.notes[0].contains("3 spill to node 1 (distance 20), node 2 (distance 30)"),
            "{p:?}"
        );
    }

    #[test]
    fn siblings_only_when_cores_run_out() {
        let t = two_sockets();
        let p = plan(&t, Some(0), 8).unwrap();
        assert_eq!(cores_of(&t, &p.worker_cores).len(), 8);
        assert_eq!(p.control_core, 8, "sibling of worker 0");
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("shares a core with the worker on CPU 0")));
        let p = plan(&t, Some(0), 10).unwrap();
        assert_eq!(p.worker_cores, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(p.control_core, 10);
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("workers on CPUs 8-9 share a core")),
            "{p:?}"
        );
        let p = plan(&t, Some(0), 16).unwrap();
        assert_eq!(p.control_core, 0);
        assert!(p
            .notes
            .iter()
            .any(|n| n.contains("every usable CPU runs a worker")));
    }

    #[test]
    fn a_single_cpu() {
        let t = machine(&[&[&[0]]]);
        let p = plan(&t, None, 1).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (0, &[0][..]));
        assert!(!p.busy_poll);
        assert!(
            p.notes.iter().any(|n| n.contains("single usable CPU")),
            "{p:?}"
        );
        let e = plan(&t, None, 2).unwrap_err();
        assert!(
            e.contains("2 workers do not fit") && e.contains("1 usable CPU on one physical core"),
            "{e}"
        );
    }

    #[test]
    fn a_single_isolated_cpu_is_not_busy_polled() {
        let mut t = machine(&[&[&[0]]]);
        t.isolated = vec![0];
        let p = plan(&t, Some(0), 1).unwrap();
        assert!(!p.busy_poll);
        assert!(
            p.notes.iter().any(|n| n.contains("busy polling stays off")),
            "{p:?}"
        );
    }

    #[test]
    fn errors_name_what_fits() {
        let t = two_sockets();
        let e = plan(&t, Some(0), 0).unwrap_err();
        assert!(e.starts_with("0 workers: at least 1 is needed"), "{e}");
        assert!(
            e.contains("16 usable CPUs on 8 physical cores: up to 7 workers"),
            "{e}"
        );
        let e = plan(&machine(&[&[&[0], &[1]]]), Some(0), 3).unwrap_err();
        assert!(
            e.contains("on 2 physical cores: up to 1 worker each"),
            "{e}"
        );
        let e = plan(&t, Some(0), 17).unwrap_err();
        assert!(
            e.contains("17 workers do not fit") && e.contains("up to 16 sharing"),
            "{e}"
        );
        let mut none = t.clone();
        none.cpus.iter_mut().for_each(|c| c.online = false);
        assert!(plan(&none, None, 1).unwrap_err().contains("no usable CPU"));
    }

    #[test]
    fn an_unknown_nic_node_uses_every_node() {
        let t = two_sockets();
        let p = plan(&t, None, 5).unwrap();
        assert_eq!(p.control_core, 0);
        assert_eq!(p.worker_cores, [1, 2, 3, 4, 5]);
        assert_eq!(
            p.notes,
            ["the NIC's NUMA node is unknown: workers may use every node"]
        );
        // On one node there is nothing to know.
        let p = plan(&machine(&[&[&[0], &[1]]]), None, 1).unwrap();
        assert!(p.notes.is_empty(), "{p:?}");
        let p = plan(&t, Some(7), 1).unwrap();
        assert!(
            p.notes[0].contains("node 7 is not among this machine's nodes"),
            "{p:?}"
        );
    }

    #[test]
    fn offline_and_disallowed_cpus_are_never_used() {
        let mut t = two_sockets();
        for c in &mut t.cpus {
            c.online = c.id != 1;
            c.allowed = c.id != 2;
            c.siblings.retain(|&s| s != 1); // the kernel lists online siblings
        }
        let p = plan(&t, Some(0), 2).unwrap();
        assert_eq!((p.control_core, &p.worker_cores[..]), (0, &[3, 9][..]));
        assert!(p.notes.is_empty(), "9 is alone on its core now: {p:?}");
        let p = plan(&t, Some(0), 14).unwrap();
        assert!(!p.worker_cores.contains(&1) && !p.worker_cores.contains(&2));
        assert!(plan(&t, Some(0), 15).is_err());
    }
}
