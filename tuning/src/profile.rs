//! Core-pinning profiles: which queues feed which worker cores, which core
//! is the control core (outputs, stats, the replay reader), how the lanes
//! poll, the batch, ring and UMEM sizes, the memory budget and its split,
//! and what the capture interface should look like (`[nic]`, which
//! `wirelog tune check` and `tune apply` read).
//!
//! A profile is a small TOML file (`profiles/` holds examples):
//!
//! ```toml
//! name = "cloud-2vcpu"
//! control_core = 0
//! worker_cores = [1]
//! queues = [0]               # optional: queue i feeds worker i
//! poll = "adaptive"          # optional: or "busy" for dedicated cores
//! batch = 64                 # optional: frames per poll, 1 to 64
//! xdp_frames = 16384         # optional: UMEM frames (and ring slots) per AF_XDP socket
//! afpacket_ring = "16M"      # optional: AF_PACKET ring per worker
//! steer_ring_slots = 4096    # optional: slots per capture-to-worker ring
//! memory = "512M"            # optional: the budget (--memory)
//! app_memory = "128M"        # optional: its application-layer share (--app-memory)
//!
//! [nic]                      # optional: what `tune check` wants of the interface
//! feed = "span"              # span (plain frames) or vxlan, geneve, erspan (tunnelled)
//! rx_ring = "max"            # or a number of descriptors
//! ```
//!
//! Without one, [`Profile::from_machine`] derives a default: the control
//! core is CPU 0 and workers use the other CPUs (CPU 0 too on a single-CPU
//! machine). Worker `i` runs on `worker_cores[i % len]`.

use serde::{Deserialize, Serialize};

/// A core-pinning profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name shown at start.
    #[serde(default = "default_name")]
    pub name: String,
    /// Core of the control thread.
    pub control_core: usize,
    /// Cores of the workers, in worker order.
    pub worker_cores: Vec<usize>,
    /// AF_XDP queues captured. One per worker: queue `queues[i]` feeds
    /// worker `i` (and its IRQ belongs on `worker_cores[i]`). Fewer than the
    /// workers: the queues' capture lanes run on the control core (their
    /// IRQs belong there) and dispatch to every worker by flow, which is
    /// what a tunnelled feed, landing on one queue, needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<u32>>,
    /// Capture polling: `adaptive` (sleep when idle; right where workers
    /// share cores with the kernel's packet work) or `busy` (dedicated cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<String>,
    /// Frames a capture lane takes per poll (1 to [`MAX_BATCH`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// UMEM frames per AF_XDP socket (also its fill and RX ring sizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xdp_frames: Option<u32>,
    /// AF_PACKET ring bytes per worker, e.g. "16M".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub afpacket_ring: Option<String>,
    /// Slots of each ring that carries packets between capture and workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steer_ring_slots: Option<usize>,
    /// The memory budget, e.g. "512M" (what `--memory` sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// The application layer's part of the budget (what `--app-memory` sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_memory: Option<String>,
    /// What the capture interface should look like.
    #[serde(default, skip_serializing_if = "Nic::is_empty")]
    pub nic: Nic,
}

/// The most frames a lane takes per poll (its batch arrays are sized for it).
pub const MAX_BATCH: usize = 64;

/// What `tune check` and `tune apply` want of the capture interface. Every
/// field is optional; the default is what a mirror-port sensor wants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Nic {
    /// How mirrored traffic arrives: `span` (plain frames from a SPAN/TAP
    /// port or a cloud mirror that delivers them as they were), or
    /// `vxlan`, `geneve`, `erspan` (tunnelled to the sensor's address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<Feed>,
    /// Receive ring descriptors: `"max"` or a number [default: max].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_ring: Option<Ring>,
    /// Interrupt coalescing: microseconds before an RX interrupt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_usecs: Option<u32>,
    /// Adaptive RX coalescing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_rx: Option<bool>,
    /// Smallest MTU wanted [default: 1500 for `span`, 1600 for a tunnelled feed].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Make RSS symmetric (`symmetric`) or leave it (`keep`) [default: symmetric].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss: Option<RssWant>,
    /// Pin each queue's IRQ to its worker's core [default: true].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irq_affinity: Option<bool>,
    /// Keep the interface promiscuous also while wirelog is not running
    /// (for other tools on the mirror port) [default: leave it; a capture
    /// turns it on while it runs].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promisc: Option<bool>,
}

impl Nic {
    fn is_empty(&self) -> bool {
        *self == Nic::default()
    }

    /// The feed, `span` when unset.
    pub fn feed(&self) -> Feed {
        self.feed.unwrap_or(Feed::Span)
    }

    /// The smallest MTU wanted.
    pub fn min_mtu(&self) -> u32 {
        self.mtu.unwrap_or(match self.feed() {
            Feed::Span => 1500,
            // 1500 of the mirrored frame plus the outer Ethernet (14),
            // IPv6 (40), UDP (8) and a Geneve header with options: 1600
            // leaves room for every encapsulation wirelog decapsulates.
            _ => 1600,
        })
    }
}

/// How mirrored traffic arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// Plain frames (SPAN, TAP, GCP Packet Mirroring).
    Span,
    /// VXLAN to the sensor (AWS Traffic Mirroring, Azure vTAP).
    Vxlan,
    /// Geneve to the sensor (AWS Gateway Load Balancer).
    Geneve,
    /// GRE/ERSPAN to the sensor (a switch's ERSPAN session).
    Erspan,
}

impl Feed {
    /// Whether frames arrive inside a tunnel to the sensor's address.
    pub fn tunnelled(self) -> bool {
        self != Feed::Span
    }

    /// The word in a profile.
    pub fn name(self) -> &'static str {
        match self {
            Feed::Span => "span",
            Feed::Vxlan => "vxlan",
            Feed::Geneve => "geneve",
            Feed::Erspan => "erspan",
        }
    }
}

/// What RSS should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RssWant {
    /// Both directions of a flow hash to the same queue.
    Symmetric,
    /// Leave RSS as the driver set it.
    Keep,
}

/// A ring size: the device's maximum or a number of descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ring {
    /// The device's maximum.
    Max,
    /// This many descriptors.
    N(u32),
}

impl<'de> Deserialize<'de> for Ring {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(0) => Err(serde::de::Error::custom(
                "a ring of 0 descriptors: use \"max\" or a number",
            )),
            Raw::N(n) => Ok(Ring::N(n)),
            Raw::S(s) if s == "max" => Ok(Ring::Max),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "`{s}` is not a ring size: use \"max\" or a number of descriptors"
            ))),
        }
    }
}

impl Serialize for Ring {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ring::Max => s.serialize_str("max"),
            Ring::N(n) => s.serialize_u32(*n),
        }
    }
}

fn default_name() -> String {
    "custom".into()
}

/// Errors loading a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("profile {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("profile {path}: {msg}")]
    Invalid {
        /// Path.
        path: String,
        /// What is wrong, naming the key and the fix.
        msg: String,
    },
}

impl Profile {
    /// The default for a machine with `cpus` CPUs.
    pub fn for_cpus(cpus: usize) -> Self {
        let cpus = cpus.max(1);
        let worker_cores = if cpus == 1 {
            vec![0]
        } else {
            (1..cpus).collect()
        };
        Profile {
            name: format!("default-{cpus}cpu"),
            control_core: 0,
            worker_cores,
            queues: None,
            poll: None,
            batch: None,
            xdp_frames: None,
            afpacket_ring: None,
            steer_ring_slots: None,
            memory: None,
            app_memory: None,
            nic: Nic::default(),
        }
    }

    /// The default for this machine.
    pub fn from_machine() -> Self {
        Self::for_cpus(machine_cpus())
    }

    /// Parses a profile and checks it against a machine of `cpus` CPUs.
    pub fn parse(text: &str, path: &str, cpus: usize) -> Result<Self, ProfileError> {
        let bad = |msg: String| ProfileError::Invalid {
            path: path.into(),
            msg,
        };
        let p: Profile = toml::from_str(text).map_err(|e| bad(toml_error(&e, text)))?;
        p.validate(cpus).map_err(bad)?;
        Ok(p)
    }

    /// Checks the values against each other and a machine of `cpus` CPUs;
    /// the message names the key and what to write instead.
    pub fn validate(&self, cpus: usize) -> Result<(), String> {
        let fix = "(`wirelog tune generate` writes a profile for this machine)";
        if self.worker_cores.is_empty() {
            return Err(format!(
                "worker_cores is empty: list at least one core, e.g. worker_cores = [{}] {fix}",
                cpus.saturating_sub(1)
            ));
        }
        let last = cpus.saturating_sub(1);
        if self.control_core >= cpus {
            return Err(format!(
                "control_core = {}: that core does not exist (this machine has CPUs 0-{last}) {fix}",
                self.control_core
            ));
        }
        if let Some(c) = self.worker_cores.iter().find(|&&c| c >= cpus) {
            return Err(format!(
                "worker_cores: core {c} does not exist (this machine has CPUs 0-{last}) {fix}"
            ));
        }
        let mut seen = self.worker_cores.clone();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "worker_cores lists core {} twice: two workers on one core queue behind each other; list each core once",
                w[0]
            ));
        }
        if let Some(q) = &self.queues {
            if q.is_empty() || q.len() > self.worker_cores.len() {
                return Err(format!(
                    "queues has {} entries and worker_cores {}: give one queue per worker (each queue's worker runs on the core at the same position), or fewer queues than workers (the capture lanes run on the control core and dispatch to every worker)",
                    q.len(),
                    self.worker_cores.len()
                ));
            }
            let mut s = q.clone();
            s.sort_unstable();
            if let Some(w) = s.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!(
                    "queues lists queue {} twice: one AF_XDP socket per queue; list each queue once",
                    w[0]
                ));
            }
        }
        if let Some(p) = &self.poll {
            if p != "adaptive" && p != "busy" {
                return Err(format!(
                    "poll = \"{p}\": use \"adaptive\" (sleep when idle) or \"busy\" (spin on dedicated cores)"
                ));
            }
        }
        if let Some(b) = self.batch {
            if !(1..=MAX_BATCH).contains(&b) {
                return Err(format!(
                    "batch = {b}: a lane takes 1 to {MAX_BATCH} frames per poll"
                ));
            }
        }
        if let Some(f) = self.xdp_frames {
            if !f.is_power_of_two() || !(64..=1 << 20).contains(&f) {
                return Err(format!(
                    "xdp_frames = {f}: use a power of two between 64 and 1048576, e.g. {}",
                    f.clamp(64, 1 << 20).next_power_of_two().min(1 << 20)
                ));
            }
        }
        if let Some(s) = self.steer_ring_slots {
            if !(64..=1 << 16).contains(&s) {
                return Err(format!("steer_ring_slots = {s}: use 64 to 65536 slots"));
            }
        }
        for (key, v) in [
            ("memory", &self.memory),
            ("app_memory", &self.app_memory),
            ("afpacket_ring", &self.afpacket_ring),
        ] {
            if let Some(v) = v {
                size_bytes(v).map_err(|e| format!("{key} = \"{v}\": {e}"))?;
            }
        }
        if let (Some(m), Some(a)) = (&self.memory, &self.app_memory) {
            let (m, a) = (size_bytes(m)?, size_bytes(a)?);
            if a >= m {
                return Err(format!(
                    "app_memory ({} MiB) is not less than memory ({} MiB): the flow tables, rings and outputs share the rest; give app_memory at most half of memory",
                    a >> 20,
                    m >> 20
                ));
            }
        }
        if let Some(m) = self.nic.mtu {
            if !(576..=65535).contains(&m) {
                return Err(format!("nic.mtu = {m}: use 576 to 65535"));
            }
        }
        Ok(())
    }

    /// Loads a profile file.
    pub fn load(path: &std::path::Path) -> Result<Self, ProfileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: name.clone(),
            source,
        })?;
        Self::parse(&text, &name, machine_cpus())
    }

    /// The core of worker `i`.
    pub fn worker_core(&self, i: usize) -> usize {
        self.worker_cores[i % self.worker_cores.len()]
    }

    /// Whether the queues' capture lanes dispatch to the workers (fewer
    /// queues than workers) rather than each feeding its own.
    pub fn dispatches(&self) -> bool {
        self.queues
            .as_ref()
            .is_some_and(|q| q.len() < self.worker_cores.len())
    }

    /// The core that reads queue `queues[i]`, where its IRQ belongs: its
    /// worker's, or the control core's when the lanes dispatch.
    pub fn queue_core(&self, i: usize) -> usize {
        if self.dispatches() {
            self.control_core
        } else {
            self.worker_core(i)
        }
    }

    /// The profile as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a profile serializes")
    }
}

/// CPUs of this machine (the scheduler's view: a cgroup limit counts).
pub fn machine_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Bytes of a size such as `128M`, `1G`, `64KiB` (the spelling the command
/// line takes).
pub fn size_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1usize << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 128M, 1G)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// toml's message on one line, naming the key of the line it points at
/// and the position.
fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let msg = one_line(e.message());
    let Some(span) = e.span() else {
        return msg;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let col = start - line_start + 1;
    match line.split_once('=') {
        Some((k, _)) if !msg.contains(&format!("`{}`", k.trim())) && !k.trim().is_empty() => {
            format!("{}: {msg} (line {line_no}, column {col})", k.trim())
        }
        _ => format!("{msg} (line {line_no}, column {col})"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        assert_eq!(Profile::for_cpus(1).worker_cores, vec![0]);
        assert_eq!(Profile::for_cpus(4).worker_cores, vec![1, 2, 3]);
        let p = Profile::parse("control_core = 0\nworker_cores = [1]\n", "p", 2).unwrap();
        assert_eq!(p.worker_core(3), 1);
        let e = Profile::parse("control_core = 0\nworker_cores = [5]\n", "p", 2).unwrap_err();
        assert!(e.to_string().contains("core 5 does not exist"), "{e}");
        assert!(e.to_string().contains("tune generate"), "{e}");
        let e = Profile::parse("control_core = 0\nworkers = [1]\n", "p", 2).unwrap_err();
        assert!(e.to_string().contains("unknown field `workers`"), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn every_key_is_named_in_its_error() {
        let base = "control_core = 0\nworker_cores = [1, 2]\n";
        for (extra, key) in [
            ("queues = [0, 1, 2]\n", "queues has 3 entries"),
            ("queues = []\n", "queues has 0 entries"),
            ("queues = [3, 3]\n", "queues lists queue 3 twice"),
            ("poll = \"spin\"\n", "poll = \"spin\""),
            ("batch = 65\n", "batch = 65"),
            ("xdp_frames = 3000\n", "xdp_frames = 3000"),
            ("steer_ring_slots = 8\n", "steer_ring_slots = 8"),
            ("memory = \"lots\"\n", "memory = \"lots\""),
            (
                "memory = \"128M\"\napp_memory = \"256M\"\n",
                "app_memory (256 MiB)",
            ),
            ("[nic]\nrx_ring = \"big\"\n", "not a ring size"),
            ("[nic]\nfeed = \"gre\"\n", "unknown variant `gre`"),
            ("[nic]\nmtu = 100\n", "nic.mtu = 100"),
        ] {
            let e = Profile::parse(&format!("{base}{extra}"), "p", 4).unwrap_err();
            assert!(e.to_string().contains(key), "{extra:?}: {e}");
        }
        let e = Profile::parse("control_core = 0\nworker_cores = [1, 1]\n", "p", 4).unwrap_err();
        assert!(e.to_string().contains("core 1 twice"), "{e}");
    }

    #[test]
    fn nic_section_and_round_trip() {
        let p = Profile::parse(
            "control_core = 0\nworker_cores = [1]\nqueues = [0]\nmemory = \"512M\"\n[nic]\nfeed = \"vxlan\"\nrx_ring = \"max\"\n",
            "p",
            2,
        )
        .unwrap();
        assert_eq!(p.nic.feed(), Feed::Vxlan);
        assert_eq!(p.nic.rx_ring, Some(Ring::Max));
        assert_eq!(p.nic.min_mtu(), 1600);
        let again = Profile::parse(&p.to_toml(), "again", 2).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn shipped_profiles_parse() {
        let mut n = 0;
        for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles")).unwrap() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            Profile::parse(&text, &f.display().to_string(), 64).unwrap();
            n += 1;
        }
        assert!(n >= 4, "the four shipped examples");
    }
}
