//! What `tune` reads and writes of the host through sysfs and procfs: an
//! interface's MTU, flags, driver, NUMA node and queue counts; its queues'
//! IRQs and their affinity; CPU frequency governors; irqbalance; huge pages.
//!
//! Every path is taken under a root (`/` on a live machine) so the tests
//! can lay out a /proc or /sys tree of their own in a temporary directory.

use std::io;
use std::path::{Path, PathBuf};

use crate::topology::{format_cpulist, nic_numa_node, parse_cpulist};

/// Where the host's /sys and /proc trees are.
#[derive(Clone, Debug)]
pub struct Roots {
    /// Holds `sys/`.
    pub sys: PathBuf,
    /// Holds `proc/`.
    pub proc: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sys: "/".into(),
            proc: "/".into(),
        }
    }
}

impl Roots {
    fn net(&self, ifname: &str) -> PathBuf {
        self.sys.join("sys/class/net").join(ifname)
    }
}

/// An interface as sysfs shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDev {
    /// Name.
    pub name: String,
    /// MTU.
    pub mtu: u32,
    /// IFF_* flags.
    pub flags: u32,
    /// Driver (the `device/driver` link's name; none for virtual devices
    /// such as veth, whose driver only ethtool names).
    pub driver: Option<String>,
    /// NUMA node of the device (none when the machine has one or the
    /// firmware does not say).
    pub numa_node: Option<usize>,
    /// Receive queues.
    pub rx_queues: u32,
    /// Transmit queues.
    pub tx_queues: u32,
}

/// IFF_UP.
pub const IFF_UP: u32 = 0x1;
/// IFF_PROMISC.
pub const IFF_PROMISC: u32 = 0x100;

impl NetDev {
    /// Whether promiscuous mode is on (by anyone: a capture's membership
    /// counts).
    pub fn promisc(&self) -> bool {
        self.flags & IFF_PROMISC != 0
    }
}

fn read_trim(p: &Path) -> io::Result<String> {
    Ok(std::fs::read_to_string(p)?.trim().to_string())
}

fn with_path(p: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// Reads interface `ifname` from sysfs.
pub fn netdev(roots: &Roots, ifname: &str) -> io::Result<NetDev> {
    let dir = roots.net(ifname);
    if !dir.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("interface `{ifname}` does not exist here (`ip link show` lists this namespace's interfaces)"),
        ));
    }
    let num = |f: &str| -> io::Result<String> {
        let p = dir.join(f);
        read_trim(&p).map_err(|e| with_path(&p, e))
    };
    let mtu = num("mtu")?
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "mtu is not a number"))?;
    let flags = u32::from_str_radix(num("flags")?.trim_start_matches("0x"), 16)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "flags is not hex"))?;
    let driver = std::fs::read_link(dir.join("device/driver"))
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()));
    let numa_node = nic_numa_node(&roots.sys, ifname);
    let (mut rx, mut tx) = (0, 0);
    if let Ok(d) = std::fs::read_dir(dir.join("queues")) {
        for e in d.flatten() {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if n.starts_with("rx-") {
                rx += 1;
            } else if n.starts_with("tx-") {
                tx += 1;
            }
        }
    }
    Ok(NetDev {
        name: ifname.into(),
        mtu,
        flags,
        driver,
        numa_node,
        rx_queues: rx,
        tx_queues: tx,
    })
}

/// Sets the MTU through sysfs.
pub fn set_mtu(roots: &Roots, ifname: &str, mtu: u32) -> io::Result<()> {
    let p = roots.net(ifname).join("mtu");
    std::fs::write(&p, mtu.to_string()).map_err(|e| with_path(&p, e))
}

/// Turns the interface's own promiscuous flag on or off through sysfs
/// (the kernel counts it apart from a capture's membership).
pub fn set_promisc(roots: &Roots, ifname: &str, on: bool) -> io::Result<()> {
    let d = netdev(roots, ifname)?;
    let flags = if on {
        d.flags | IFF_PROMISC
    } else {
        d.flags & !IFF_PROMISC
    };
    let p = roots.net(ifname).join("flags");
    std::fs::write(&p, format!("{flags:#x}")).map_err(|e| with_path(&p, e))
}

/// One IRQ of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Irq {
    /// IRQ number.
    pub irq: u32,
    /// Its action name in /proc/interrupts (`eth0-TxRx-3`, `virtio0-input.1`).
    pub name: String,
    /// The receive queue it serves, when its name says.
    pub queue: Option<u32>,
    /// CPUs it may run on (`smp_affinity_list`).
    pub affinity: Vec<usize>,
}

/// The IRQs of `ifname`'s device, with the queue each serves.
///
/// The device's IRQs are its MSI vectors (`device/msi_irqs`, or the parent
/// device's for virtio); an interface without them (veth, or a tree without
/// them) is matched by name in /proc/interrupts.
pub fn nic_irqs(roots: &Roots, ifname: &str) -> io::Result<Vec<Irq>> {
    let p = roots.proc.join("proc/interrupts");
    let text = std::fs::read_to_string(&p).map_err(|e| with_path(&p, e))?;
    let dev = roots.net(ifname).join("device");
    let mut msi: Vec<u32> = Vec::new();
    for d in [dev.join("msi_irqs"), dev.join("../msi_irqs")] {
        if let Ok(rd) = std::fs::read_dir(&d) {
            msi.extend(
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()),
            );
            break;
        }
    }
    let mut out = Vec::new();
    for (irq, name) in parse_interrupts(&text) {
        let mine = if msi.is_empty() {
            name_mentions(&name, ifname)
        } else {
            msi.contains(&irq)
        };
        if !mine {
            continue;
        }
        let affinity = irq_affinity(roots, irq).unwrap_or_default();
        out.push(Irq {
            irq,
            queue: rx_queue_of(&name),
            name,
            affinity,
        });
    }
    Ok(out)
}

/// `(irq, action name)` of every numbered line of /proc/interrupts.
pub fn parse_interrupts(text: &str) -> Vec<(u32, String)> {
    let mut lines = text.lines();
    let cpus = lines
        .next()
        .map(|h| {
            h.split_whitespace()
                .filter(|w| w.starts_with("CPU"))
                .count()
        })
        .unwrap_or(0);
    let mut out = Vec::new();
    for l in lines {
        let Some((num, rest)) = l.trim_start().split_once(':') else {
            continue;
        };
        let Ok(irq) = num.parse::<u32>() else {
            continue;
        };
        // Per-CPU counts, then the chip, the hardware IRQ and its trigger,
        // then the action names: the last field is the action.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() <= cpus + 1 {
            continue;
        }
        out.push((irq, fields[fields.len() - 1].to_string()));
    }
    out
}

fn name_mentions(name: &str, ifname: &str) -> bool {
    name.split(['-', '@', ':']).any(|part| part == ifname)
}

/// The receive queue an IRQ's action name serves: the number at its end
/// when the name says it carries receive work (`TxRx`, `rx`, `input`,
/// `comp` completion vectors, `fp` fast paths).
pub fn rx_queue_of(name: &str) -> Option<u32> {
    let base = name.split('@').next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    let rx = ["rx", "input", "comp", "fp-", "-q"]
        .iter()
        .any(|k| lower.contains(k));
    let tx_only = lower.contains("output") || (lower.contains("tx") && !lower.contains("rx"));
    if !rx || tx_only {
        return None;
    }
    let digits: String = base
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The CPUs IRQ `irq` may run on.
pub fn irq_affinity(roots: &Roots, irq: u32) -> io::Result<Vec<usize>> {
    let p = roots.proc.join(format!("proc/irq/{irq}/smp_affinity_list"));
    let s = read_trim(&p).map_err(|e| with_path(&p, e))?;
    parse_cpulist(&s)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", p.display())))
}

/// Pins IRQ `irq` to `cpus`.
pub fn set_irq_affinity(roots: &Roots, irq: u32, cpus: &[usize]) -> io::Result<()> {
    let p = roots.proc.join(format!("proc/irq/{irq}/smp_affinity_list"));
    std::fs::write(&p, format_cpulist(cpus)).map_err(|e| with_path(&p, e))
}

/// Each CPU's frequency governor (none on machines without cpufreq, such
/// as most cloud VMs).
pub fn governors(roots: &Roots) -> Vec<(usize, String)> {
    let dir = roots.sys.join("sys/devices/system/cpu");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let n = e.file_name();
            let Some(id) = n.to_str().and_then(|n| n.strip_prefix("cpu")) else {
                continue;
            };
            let Ok(id) = id.parse::<usize>() else {
                continue;
            };
            if let Ok(g) = read_trim(&e.path().join("cpufreq/scaling_governor")) {
                out.push((id, g));
            }
        }
    }
    out.sort();
    out
}

/// Sets CPU `cpu`'s frequency governor.
pub fn set_governor(roots: &Roots, cpu: usize, governor: &str) -> io::Result<()> {
    let p = roots.sys.join(format!(
        "sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"
    ));
    std::fs::write(&p, governor).map_err(|e| with_path(&p, e))
}

/// Whether an irqbalance daemon runs (it moves IRQs behind tune's back).
pub fn irqbalance_running(roots: &Roots) -> bool {
    let Ok(rd) = std::fs::read_dir(roots.proc.join("proc")) else {
        return false;
    };
    rd.flatten().any(|e| {
        e.file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            && read_trim(&e.path().join("comm")).is_ok_and(|c| c == "irqbalance")
    })
}

/// Huge pages: the default size's pool and transparent huge pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HugePages {
    /// Pages reserved.
    pub total: u64,
    /// Pages free.
    pub free: u64,
    /// Page size in KiB.
    pub size_kb: u64,
    /// Transparent huge pages mode (`always`, `madvise`, `never`).
    pub thp: Option<String>,
}

/// Reads /proc/meminfo and the THP mode.
pub fn huge_pages(roots: &Roots) -> HugePages {
    let mut h = HugePages::default();
    if let Ok(m) = std::fs::read_to_string(roots.proc.join("proc/meminfo")) {
        for l in m.lines() {
            let mut w = l.split_whitespace();
            let (Some(k), Some(v)) = (w.next(), w.next()) else {
                continue;
            };
            let v = v.parse().unwrap_or(0);
            match k {
                "HugePages_Total:" => h.total = v,
                "HugePages_Free:" => h.free = v,
                "Hugepagesize:" => h.size_kb = v,
                _ => {}
            }
        }
    }
    h.thp = read_trim(&roots.sys.join("sys/kernel/mm/transparent_hugepage/enabled"))
        .ok()
        .and_then(|s| {
            let a = s.find('[')?;
            let b = s[a..].find(']')?;
            Some(s[a + 1..a + b].to_string())
        });
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupts_and_queues() {
        let text = "           CPU0       CPU1       \n  0:         44          0   IO-APIC   2-edge      timer\n 24:          0          0  PCI-MSIX-0000:00:05.0   0-edge      ens5-Tx-Rx-0\n 25:        120      99000  PCI-MSIX-0000:00:05.0   1-edge      ens5-Tx-Rx-1\n 30:          1          0   PCI-MSI 49152-edge      virtio0-config\n 31:        800          0   PCI-MSI 49153-edge      virtio0-input.0\n 32:        200          0   PCI-MSI 49154-edge      virtio0-output.0\n 40:          0          0  IR-PCI-MSIX-0000:3b:00.0   3-edge      i40e-eth2-TxRx-3\n 41:          0          0  IR-PCI-MSIX-0000:3b:00.0  13-edge      mlx5_comp7@pci:0000:3b:00.0\nNMI:          0          0   Non-maskable interrupts\n";
        let irqs = parse_interrupts(text);
        assert_eq!(irqs.len(), 8);
        let q: Vec<_> = irqs.iter().map(|(i, n)| (*i, rx_queue_of(n))).collect();
        assert_eq!(
            q,
            vec![
                (0, None),
                (24, Some(0)),
                (25, Some(1)),
                (30, None),
                (31, Some(0)),
                (32, None),
                (40, Some(3)),
                (41, Some(7)),
            ]
        );
        assert!(name_mentions("i40e-eth2-TxRx-3", "eth2"));
        assert!(!name_mentions("i40e-eth20-TxRx-3", "eth2"));
    }
}
