//! Shared by the analyzer targets: turns fuzz input into a TCP or UDP
//! conversation (handshake, segments per direction, some lost or
//! swapped), runs it through a worker, and checks every record.

use dataplane::app::AppConfig;
use dataplane::decode::{ipproto, synth, tcpflag, Decoded};
use dataplane::record::VecOut;
use dataplane::worker::{FlatPayloads, Worker, WorkerConfig};

fn pkt(proto: u8, dir: usize, sp: u16, dp: u16, flags: u8, seq: [u32; 2], off: usize, len: usize, ts: u64) -> Decoded {
    synth::packet(proto, dir, (sp, dp), flags, seq, off, len, ts)
}

/// Input: chunks of [control, len, bytes...]; control bit 0 is the
/// direction, bit 1 loses the chunk, bit 2 swaps it with the next.
pub fn run(data: &[u8], proto: u8, port: u16, body_bytes: usize) {
    let mut app = AppConfig::sized(1 << 20);
    app.protos.http.limits.body_bytes = body_bytes;
    app.max_open = 4;
    let mut w = Worker::new(WorkerConfig { flows: 16, huge_pages: false, app, ..Default::default() }).unwrap();
    let mut pkts = Vec::new();
    let mut flat = Vec::new();
    let mut seq = [1000u32, 5000u32];
    let mut ts = 1_000_000_000u64;
    if proto == ipproto::TCP {
        pkts.push(pkt(proto, 0, 40000, port, tcpflag::SYN, seq, 0, 0, ts));
        seq[0] += 1;
        pkts.push(pkt(proto, 1, 40000, port, tcpflag::SYN | tcpflag::ACK, seq, 0, 0, ts));
        seq[1] += 1;
    }
    let mut rest = data;
    while rest.len() >= 2 {
        let (ctl, len) = (rest[0], usize::from(rest[1]) * 4);
        rest = &rest[2..];
        let n = len.min(rest.len());
        let dir = usize::from(ctl & 1);
        ts += u64::from(ctl >> 3) * 50_000_000;
        let flags = if proto == ipproto::TCP { tcpflag::ACK } else { 0 };
        if ctl & 2 == 0 {
            pkts.push(pkt(proto, dir, 40000, port, flags, seq, flat.len(), n, ts));
            flat.extend_from_slice(&rest[..n]);
            if ctl & 4 != 0 && pkts.len() >= 2 {
                let k = pkts.len();
                pkts.swap(k - 1, k - 2);
            }
        }
        if proto == ipproto::TCP {
            seq[dir] = seq[dir].wrapping_add(n as u32);
        }
        rest = &rest[n..];
    }
    if proto == ipproto::TCP {
        for d in [0, 1] {
            pkts.push(pkt(proto, d, 40000, port, tcpflag::FIN | tcpflag::ACK, seq, 0, 0, ts));
        }
    }
    let mut out = VecOut::default();
    for chunk in pkts.chunks(5) {
        w.process(chunk, &FlatPayloads(&flat), &mut out);
    }
    w.flush_all(&mut out);
    assert_eq!(w.app_buffers_in_use(), (0, 0), "a buffer leaked");
    let text = std::str::from_utf8(&out.buf).expect("records are UTF-8");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("records are JSON");
        assert!(line.len() <= dataplane::record::MAX_RECORD, "record over the cap");
        let t = v["type"].as_str().unwrap_or("");
        assert!(t == "flow" || dataplane::app::Info::named(t).is_some(), "{line}");
    }
}
