//! The whole pipeline as it ships: the input is a sequence of frames
//! (2-byte length, 1-byte time step, bytes) written into a capture file,
//! replayed through the lanes replay and live capture run
//! (`dataplane::pipeline`): once through one lane, once through a source
//! lane steering into a second worker's lane by the symmetric hash over a
//! small ring that drops when full. Every record must be one valid JSON
//! line of a known type, and every packet the one lane processed must be
//! processed by the two lanes or counted as a ring drop.
#![no_main]

use dataplane::capture::pcap::{write_header, write_record, PcapReader};
use dataplane::capture::LinkType;
use dataplane::decode::DecodeConfig;
use dataplane::filter::Filter;
use dataplane::pipeline::{Front, Lane, OnFull, Policy, Slot, Steering};
use dataplane::record::VecOut;
use dataplane::spsc;
use dataplane::worker::{Worker, WorkerConfig};
use libfuzzer_sys::fuzz_target;

type FuzzLane = Lane<PcapReader, VecOut>;

fn reader(file: &[u8]) -> PcapReader {
    PcapReader::from_bytes(file.to_vec()).expect("a header we wrote")
}

fn front() -> Front {
    let dec = DecodeConfig { outer_tunnel_flows: true, frag_slots: 4, ..Default::default() };
    Front::new(&dec, 0, &Filter::default(), 1, false).unwrap()
}

fn worker() -> Worker {
    // A small application budget: three workers are built per input.
    let app = dataplane::app::AppConfig::sized(1 << 20);
    Worker::new(WorkerConfig { flows: 32, huge_pages: false, app, ..Default::default() }).unwrap()
}

fn steer(policy: Policy) -> Steering {
    Steering { policy, workers: 2, on_full: OnFull::Drop, ticks: false }
}

/// Checks every record line; returns the packets the worker processed.
fn end(lane: FuzzLane) -> u64 {
    let (mut w, mut out) = lane.into_parts().worker.expect("a worker");
    w.flush_all(&mut out);
    let text = std::str::from_utf8(&out.buf).expect("records are UTF-8");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("records are JSON");
        let t = v["type"].as_str().unwrap_or("");
        assert!(t == "flow" || dataplane::app::Info::named(t).is_some(), "{line}");
    }
    w.stats().packets
}

fuzz_target!(|data: &[u8]| {
    let mut file = Vec::new();
    write_header(&mut file, LinkType::Raw, 65535);
    let (mut rest, mut ts) = (data, 1_000_000_000u64);
    while rest.len() >= 3 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 256;
        ts += u64::from(rest[2]) * 100_000_000;
        rest = &rest[3..];
        let n = len.min(rest.len());
        write_record(&mut file, ts, &rest[..n], n as u32);
        rest = &rest[n..];
    }

    let mut one: FuzzLane =
        Lane::new(Some((reader(&file), front())), Some((0, worker(), VecOut::default())), Vec::new(), Vec::new(), steer(Policy::Local));
    while !one.step().expect("a file in memory").end {}
    let all = end(one);

    let (p, c) = spsc::ring(8, || Slot::EMPTY);
    let mut a: FuzzLane =
        Lane::new(Some((reader(&file), front())), Some((0, worker(), VecOut::default())), vec![None, Some(p)], Vec::new(), steer(Policy::Hash));
    let mut b: FuzzLane = Lane::new(None, Some((1, worker(), VecOut::default())), Vec::new(), vec![c], steer(Policy::Hash));
    loop {
        let r = a.step().expect("a file in memory");
        b.step().expect("no source");
        if r.end {
            break;
        }
    }
    a.close();
    b.drain();
    let drops = a.ring_drops();
    assert_eq!(end(a) + end(b) + drops, all, "a packet lost uncounted");
});
