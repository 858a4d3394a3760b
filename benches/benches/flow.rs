//! criterion: decode + flow tracking of one batch of 64 frames with 1 M
//! flows live, each frame's flow drawn uniformly at random; huge pages on
//! and off. Also the steering hash and flow-key hashing alone.

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
    let cfg = WorkerConfig {
        flows: FLOWS as usize * 3 / 2,
        huge_pages: huge,
        app: dataplane::app::AppConfig::off(),
        ..Default::default()
    };
    let mut w = Worker::new(cfg).unwrap();
    let mut dec = Decoder::new(DecodeConfig::default()).unwrap();
    let mut out = VecOut::default();
    let mut f = [0u8; TCP64_LEN];
    let mut batch = Vec::with_capacity(64);
    for i in 0..FLOWS {
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

criterion_group!(benches, flow_tracking, hashing);
criterion_main!(benches);
