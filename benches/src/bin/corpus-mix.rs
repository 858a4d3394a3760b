//! Builds a large replay benchmark pcap from public traces.
//!
//! `corpus-mix OUT.pcap COPIES TRACE...`: every Ethernet/IPv4 frame of the
//! traces is written COPIES times, copy k with the second octet of both
//! addresses XORed with k (so each copy is its own set of flows and both
//! directions stay paired) and its time shifted by k ns. Traces are placed
//! one after another in time.

use anyhow::{bail, Context, Result};
use dataplane::capture::pcap::{write_header, write_record, PcapReader};
use dataplane::capture::{Batch, Capture, LinkType, Poll};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        bail!("usage: corpus-mix OUT.pcap COPIES TRACE...");
    }
    let copies: u32 = args[2].parse().context("COPIES")?;
    if copies == 0 || copies > 256 {
        bail!("COPIES must be 1..=256");
    }
    let mut out = Vec::with_capacity(64 << 20);
    write_header(&mut out, LinkType::Ethernet, 65535);
    let mut base = 1_600_000_000_000_000_000u64;
    let mut frames = 0u64;
    for path in &args[3..] {
        let mut r = PcapReader::open(path)?;
        let mut b = Batch::with_capacity(256);
        let (mut first, mut last) = (None, 0u64);
        loop {
            let p = r.next_batch(&mut b)?;
            for d in b.frames() {
                let f = r.frame(d);
                if d.link != LinkType::Ethernet || f.len() < 34 || f[12..14] != [0x08, 0x00] {
                    continue;
                }
                let t0 = *first.get_or_insert(d.ts_ns);
                let ts = base + d.ts_ns.saturating_sub(t0);
                last = last.max(ts);
                for k in 0..copies {
                    let mut g = f.to_vec();
                    g[14 + 13] ^= k as u8;
                    g[14 + 17] ^= k as u8;
                    write_record(&mut out, ts + u64::from(k), &g, d.wire_len);
                    frames += 1;
                }
            }
            if p == Poll::End {
                break;
            }
        }
        base = last + 1_000_000_000;
    }
    std::fs::write(&args[1], &out).with_context(|| args[1].clone())?;
    eprintln!("corpus-mix: {frames} frames, {} bytes", out.len());
    Ok(())
}
