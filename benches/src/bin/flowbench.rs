//! Decode + flow tracking per core with many flows live.
//!
//! `flowbench [--flows N] [--seconds S] [--huge true|false] [--seed X]`
//! fills a worker's table with N flows (one packet each), then feeds it
//! batches of 64 frames whose flows are drawn uniformly at random, for at
//! least S seconds on one thread. Prints packets/s, TSC cycles per packet,
//! bytes per flow and the process RSS with the table full, as JSON.

use std::time::{Duration, Instant};

use benches::arg;
use benches::gen::{tcp64_random, TCP64_LEN};
use dataplane::capture::LinkType;
use dataplane::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use dataplane::flow::BYTES_PER_FLOW;
use dataplane::record::VecOut;
use dataplane::worker::{NoPayloads, Worker, WorkerConfig};

fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

fn main() {
    let flows: u32 = arg("--flows", 1_000_000);
    let secs: u64 = arg("--seconds", 10);
    let huge: bool = arg("--huge", true);
    let seed: u64 = arg("--seed", 1);
    let rss0 = benches::rss_bytes();
    let capacity: usize = arg("--capacity", flows as usize * 2);
    let cfg = WorkerConfig {
        flows: capacity,
        huge_pages: huge,
        batch: dataplane::worker::STAGE,
        app: dataplane::app::AppConfig::off(),
        ..Default::default()
    };
    let mut worker = Worker::new(cfg).expect("table");
    let mut dec = Decoder::new(DecodeConfig::default()).expect("decoder");
    let mut out = VecOut::default();
    let mut batch = Vec::with_capacity(64);
    let ts = 1_700_000_000_000_000_000u64;
    // Fill: one packet per flow.
    let mut frame = [0u8; TCP64_LEN];
    for f in 0..flows {
        benches::gen::tcp64(f, 1, &mut frame);
        let mut d = Decoded::EMPTY;
        assert_eq!(
            dec.decode(&frame, LinkType::Ethernet, ts, &mut d),
            Outcome::Packet
        );
        batch.push(d);
        if batch.len() == 64 {
            worker.process(&batch, &NoPayloads, &mut out);
            batch.clear();
        }
    }
    worker.process(&batch, &NoPayloads, &mut out);
    let filled = worker.stats();
    let rss_full = benches::rss_bytes();
    // Random-flow traffic, generated before timing.
    let pool = tcp64_random(flows, 1 << 22, seed);
    let mut decoded = vec![Decoded::EMPTY; 64];
    let start = Instant::now();
    let c0 = tsc();
    let mut pkts = 0u64;
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..1024 {
            let mut n = 0;
            for f in &pool[i..i + 64] {
                if dec.decode(f, LinkType::Ethernet, ts, &mut decoded[n]) == Outcome::Packet {
                    n += 1;
                }
            }
            worker.process(&decoded[..n], &NoPayloads, &mut out);
            pkts += n as u64;
            i = (i + 64) % pool.len();
        }
    }
    let cycles = tsc() - c0;
    let el = start.elapsed().as_secs_f64();
    let s = worker.stats();
    println!(
        "{{\"flows\":{flows},\"huge_pages\":{huge},\"seconds\":{el:.2},\"packets\":{pkts},\"mpps\":{:.2},\
         \"tsc_cycles_per_packet\":{:.1},\"capacity\":{},\"live_after_fill\":{},\"evicted_total\":{},\"bytes_per_flow\":{BYTES_PER_FLOW},\"table_bytes\":{},\
         \"rss_before_bytes\":{rss0},\"rss_table_full_bytes\":{rss_full},\"peak_rss_bytes\":{}}}",
        pkts as f64 / el / 1e6,
        cycles as f64 / pkts as f64,
        s.flows_capacity,
        filled.flows_active,
        s.flows_evicted,
        worker.table_bytes(),
        benches::peak_rss_bytes(),
    );
}
