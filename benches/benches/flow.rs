//! criterion: decode + flow tracking of one batch of 64 frames with 1 M
//! flows live, each frame's flow drawn uniformly at random; huge pages on
//! and off. Lookups in a table of 1 M slots filled to 10, 50 and 90 %, and
//! inserts into a full one (each new flow evicts). Also the steering hash,
//! flow-key hashing and decoding alone.

use std::time::Duration;

use benches::gen::{tcp64, tcp64_random, TCP64_LEN};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dataplane::capture::LinkType;
use dataplane::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use dataplane::flow::{FlowKey, KeyConfig};
use dataplane::record::VecOut;
use dataplane::steer::Toeplitz;
use dataplane::worker::{NoPayloads, Worker, WorkerConfig};

const FLOWS: u32 = 1_000_000;
const TS: u64 = 1_700_000_000_000_000_000;

fn filled(huge: bool) -> (Worker, Decoder) {
    filled_to(FLOWS, FLOWS as usize * 3 / 2, huge)
}

/// A worker whose table of `slots` holds `flows` flows (0..flows).
fn filled_to(flows: u32, slots: usize, huge: bool) -> (Worker, Decoder) {
    let cfg = WorkerConfig {
        flows: slots,
        huge_pages: huge,
        app: dataplane::app::AppConfig::off(),
        ..Default::default()
    };
    let mut w = Worker::new(cfg).unwrap();
    let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
    let mut out = VecOut::default();
    let mut f = [0u8; TCP64_LEN];
    let mut batch = Vec::with_capacity(64);
    for i in 0..flows {
        tcp64(i, 1, &mut f);
        let mut d = Decoded::EMPTY;
        dec.decode(&f, LinkType::Ethernet, TS, &mut d);
        batch.push(d);
        if batch.len() == 64 {
            w.process(&batch, &NoPayloads, &mut out);
            batch.clear();
        }
    }
    w.process(&batch, &NoPayloads, &mut out);
    (w, dec)
}

fn flow_tracking(c: &mut Criterion) {
    let pool = tcp64_random(FLOWS, 1 << 20, 3);
    let mut g = c.benchmark_group("decode_and_track_1M_flows");
    g.throughput(Throughput::Elements(64));
    g.measurement_time(Duration::from_secs(10));
    for huge in [true, false] {
        let (mut w, mut dec) = filled(huge);
        let mut out = VecOut::default();
        let mut decoded = vec![Decoded::EMPTY; 64];
        let mut i = 0;
        g.bench_function(if huge { "huge_pages" } else { "4k_pages" }, |b| {
            b.iter(|| {
                let mut n = 0;
                for f in &pool[i..i + 64] {
                    if dec.decode(f, LinkType::Ethernet, TS, &mut decoded[n]) == Outcome::Packet {
                        n += 1;
                    }
                }
                w.process(&decoded[..n], &NoPayloads, &mut out);
                i = (i + 64) % pool.len();
            })
        });
    }
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let t = Toeplitz::default();
    let pool = tcp64_random(1000, 1024, 5);
    let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
    let ds: Vec<Decoded> = pool
        .iter()
        .map(|f| {
            let mut d = Decoded::EMPTY;
            dec.decode(f, LinkType::Ethernet, TS, &mut d);
            d
        })
        .collect();
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(ds.len() as u64));
    g.bench_function("toeplitz_ipv4_tuple", |b| {
        b.iter(|| {
            ds.iter().fold(0u32, |a, d| {
                a ^ t.hash_tuple(&d.src, &d.dst, d.v6, d.sport, d.dport)
            })
        })
    });
    let kc = KeyConfig {
        vlan: true,
        tunnel: false,
    };
    g.bench_function("flow_key_and_hash", |b| {
        b.iter(|| ds.iter().fold(0u64, |a, d| a ^ FlowKey::of(d, kc).0.hash()))
    });
    g.bench_function("decode_tcp64", |b| {
        let mut d = Decoded::EMPTY;
        b.iter(|| {
            pool.iter()
                .filter(|f| dec.decode(&f[..], LinkType::Ethernet, TS, &mut d) == Outcome::Packet)
                .count()
        })
    });
    g.finish();
}

/// One batch of 64 decoded frames of `frames` from `at`.
fn decode64(
    dec: &mut Decoder,
    frames: &[[u8; TCP64_LEN]],
    at: usize,
    out: &mut [Decoded],
) -> usize {
    let mut n = 0;
    for f in &frames[at..at + 64] {
        if dec.decode(f, LinkType::Ethernet, TS, &mut out[n]) == Outcome::Packet {
            n += 1;
        }
    }
    n
}

fn fills(c: &mut Criterion) {
    const SLOTS: usize = 1 << 20;
    let mut g = c.benchmark_group("table_of_1M_slots");
    g.throughput(Throughput::Elements(64));
    g.measurement_time(Duration::from_secs(5));
    for pct in [10u32, 50, 90] {
        let live = (SLOTS as u64 * u64::from(pct) / 100) as u32;
        let (mut w, mut dec) = filled_to(live, SLOTS, true);
        let pool = tcp64_random(live, 1 << 18, 11);
        let (mut out, mut d, mut i) = (VecOut::default(), vec![Decoded::EMPTY; 64], 0);
        g.bench_function(format!("lookup_at_{pct}pct"), |b| {
            b.iter(|| {
                let n = decode64(&mut dec, &pool, i, &mut d);
                w.process(&d[..n], &NoPayloads, &mut out);
                i = (i + 64) % pool.len();
                out.buf.clear();
            })
        });
    }
    // Inserting into a full table: every new flow evicts one (and writes
    // its record), the steady state of a SYN flood.
    let (mut w, mut dec) = filled_to(SLOTS as u32, SLOTS, true);
    let (mut out, mut d, mut next) = (VecOut::default(), vec![Decoded::EMPTY; 64], SLOTS as u32);
    let mut f = vec![[0u8; TCP64_LEN]; 64];
    g.bench_function("insert_into_full", |b| {
        b.iter(|| {
            for x in f.iter_mut() {
                tcp64(next, 1, x);
                next = next.wrapping_add(1) % (1 << 28);
            }
            let n = decode64(&mut dec, &f, 0, &mut d);
            w.process(&d[..n], &NoPayloads, &mut out);
            out.buf.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, flow_tracking, fills, hashing);
criterion_main!(benches);
