//! Builds a large replay benchmark pcap from public traces.
//!
//! `corpus-mix OUT.pcap COPIES TRACE...`: every Ethernet/IPv4 frame of the
//! traces is written COPIES times, copy k with the second octet of both
//! addresses XORed with k (so each copy is its own set of flows and both
//! directions stay paired) and its time shifted by k ns. Traces are placed
//! one after another in time. `wirelog bench memory` feeds the same copies
//! to the workers from memory ([`benches::mix`]).

use anyhow::{bail, Context, Result};
use benches::mix::Traces;
use dataplane::capture::pcap::{write_header, write_record};
use dataplane::capture::LinkType;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        bail!("usage: corpus-mix OUT.pcap COPIES TRACE...");
    }
    let copies: u32 = args[2].parse().context("COPIES")?;
    if copies == 0 || copies > 256 {
        bail!("COPIES must be 1..=256");
    }
    let t = Traces::load(&args[3..])?;
    let mut out = Vec::with_capacity(64 << 20);
    write_header(&mut out, LinkType::Ethernet, 65535);
    let mut g = Vec::with_capacity(65536);
    for i in 0..t.len() {
        for k in 0..copies {
            g.clear();
            let (ts, wire) = t.copy_into(i, k, &mut g);
            write_record(&mut out, ts, &g, wire);
        }
    }
    std::fs::write(&args[1], &out).with_context(|| args[1].clone())?;
    eprintln!(
        "corpus-mix: {} frames, {} bytes",
        t.len() as u64 * u64::from(copies),
        out.len()
    );
    Ok(())
}
