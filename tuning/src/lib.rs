//! Core-pinning profiles: which cores run workers and which is the
//! control core (outputs, stats, the replay reader).
//!
//! A profile is a small TOML file (`profiles/` holds examples):
//!
//! ```toml
//! name = "two-cores"
//! control_core = 0
//! worker_cores = [1]
//! poll = "adaptive"          # optional: or "busy" for dedicated cores
//! xdp_frames = 4096          # optional: UMEM frames (and ring slots) per AF_XDP socket
//! afpacket_ring = "16M"      # optional: AF_PACKET ring per worker
//! steer_ring_slots = 2048    # optional: slots per capture-to-worker ring
//! ```
//!
//! Without one, [`Profile::from_machine`] derives a default: the control
//! core is CPU 0 and workers use the other CPUs (CPU 0 too on a single-CPU
//! machine). Worker `i` runs on `worker_cores[i % len]`.
#![deny(unsafe_code)]

pub mod ethtool;
pub mod generate;
pub mod topology;

use serde::Deserialize;

/// A core-pinning profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name shown at start.
    #[serde(default = "default_name")]
    pub name: String,
    /// Core of the control thread.
    pub control_core: usize,
    /// Cores of the workers, in worker order.
    pub worker_cores: Vec<usize>,
    /// Capture polling: `adaptive` (sleep when idle; right where workers
    /// share cores with the kernel's packet work) or `busy` (dedicated cores).
    #[serde(default)]
    pub poll: Option<String>,
    /// UMEM frames per AF_XDP socket (also its fill and RX ring sizes).
    #[serde(default)]
    pub xdp_frames: Option<u32>,
    /// AF_PACKET ring bytes per worker, e.g. "16M".
    #[serde(default)]
    pub afpacket_ring: Option<String>,
    /// Slots of each ring that carries packets between capture and workers.
    #[serde(default)]
    pub steer_ring_slots: Option<usize>,
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
        /// What is wrong.
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
            poll: None,
            xdp_frames: None,
            afpacket_ring: None,
            steer_ring_slots: None,
        }
    }

    /// The default for this machine.
    pub fn from_machine() -> Self {
        Self::for_cpus(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )
    }

    /// Parses a profile and checks it against a machine of `cpus` CPUs.
    pub fn parse(text: &str, path: &str, cpus: usize) -> Result<Self, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|e| ProfileError::Invalid {
            path: path.into(),
            msg: one_line(&e.to_string()),
        })?;
        if p.worker_cores.is_empty() {
            return Err(ProfileError::Invalid {
                path: path.into(),
                msg: "worker_cores is empty".into(),
            });
        }
        for &c in p
            .worker_cores
            .iter()
            .chain(std::iter::once(&p.control_core))
        {
            if c >= cpus {
                return Err(ProfileError::Invalid {
                    path: path.into(),
                    msg: format!("core {c} does not exist (this machine has {cpus} CPUs)"),
                });
            }
        }
        Ok(p)
    }

    /// Loads a profile file.
    pub fn load(path: &std::path::Path) -> Result<Self, ProfileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: name.clone(),
            source,
        })?;
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self::parse(&text, &name, cpus)
    }

    /// The core of worker `i`.
    pub fn worker_core(&self, i: usize) -> usize {
        self.worker_cores[i % self.worker_cores.len()]
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
        let e = Profile::parse("control_core = 0\nworkers = [1]\n", "p", 2).unwrap_err();
        assert!(e.to_string().contains("unknown field `workers`"), "{e}");
    }

    #[test]
    fn shipped_profiles_parse() {
        for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles")).unwrap() {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap();
            Profile::parse(&text, &f.display().to_string(), 64).unwrap();
        }
    }
}
