//! The whole flow pipeline: the input is a sequence of frames (2-byte
//! length, 1-byte time step, bytes), decoded and tracked by a small worker,
//! with their payloads going to the analyzers, then flushed; every record
//! must be one valid JSON line.
#![no_main]

use dataplane::capture::LinkType;
use dataplane::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use dataplane::record::VecOut;
use dataplane::worker::{FlatPayloads, Worker, WorkerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new(DecodeConfig { outer_tunnel_flows: true, frag_slots: 4, ..Default::default() }).unwrap();
    let mut w = Worker::new(WorkerConfig { flows: 32, huge_pages: false, ..Default::default() }).unwrap();
    let mut out = VecOut::default();
    let (mut rest, mut ts) = (data, 1_000_000_000u64);
    let mut batch = Vec::new();
    let mut flat = Vec::new();
    while rest.len() >= 3 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 256;
        ts += u64::from(rest[2]) * 100_000_000;
        rest = &rest[3..];
        let n = len.min(rest.len());
        let mut d = Decoded::EMPTY;
        if dec.decode(&rest[..n], LinkType::Raw, ts, &mut d) == Outcome::Packet {
            // Payloads move to one buffer, as a steering ring's slots do.
            let p = dec.payload(&rest[..n], &d.payload);
            d.payload.off = flat.len() as u32;
            flat.extend_from_slice(p);
            batch.push(d);
        }
        rest = &rest[n..];
        if batch.len() == 8 {
            w.process(&batch, &FlatPayloads(&flat), &mut out);
            batch.clear();
            flat.clear();
            dec.end_batch();
        }
    }
    w.process(&batch, &FlatPayloads(&flat), &mut out);
    w.flush_all(&mut out);
    let text = std::str::from_utf8(&out.buf).expect("records are UTF-8");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("records are JSON");
        let t = v["type"].as_str().unwrap_or("");
        assert!(t == "flow" || dataplane::app::Info::named(t).is_some(), "{line}");
    }
});
