//! wirelog's traffic generator and benchmark harness.
//!
//! The generator is seeded and reproducible: the same seed gives the same
//! frames; its versioned profiles are in [`profile`]. [`mix`] feeds copies
//! of capture files from memory, [`wire`] sends frames on a veth, and
//! [`harness`] is what `wirelog bench` runs: memory mode, the veth
//! zero-loss search and the HTML report.
#![deny(unsafe_code)]

pub mod encap;
pub mod gen;
pub mod harness;
pub mod mix;
pub mod profile;
pub mod wire;

/// The value after `--name` on the command line, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("bad value for {name}")))
        .unwrap_or(default)
}

pub use dataplane::sys::{peak_rss_bytes, rss_bytes};
