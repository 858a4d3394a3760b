//! Writes a pcap of many short UDP flows, for measuring records/s through
//! the outputs: `flowpcap --flows N --seconds S --out FILE [--seed X]`.
//! Flow i is a request and a response of seeded random sizes from a
//! distinct client address and port, started at i·S/N seconds.

use std::io::Write;

use benches::arg;
use benches::gen::Rng;
use dataplane::capture::pcap;
use dataplane::capture::LinkType;

fn main() {
    let flows: u32 = arg("--flows", 1_000_000);
    let secs: u64 = arg("--seconds", 100);
    let out: String = arg("--out", String::new());
    let seed: u64 = arg("--seed", 1);
    if out.is_empty() {
        eprintln!("flowpcap: --out FILE is required");
        std::process::exit(2);
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).expect("create"));
    let mut rec = Vec::with_capacity(2048);
    pcap::write_header(&mut rec, LinkType::Ethernet, 65535);
    w.write_all(&rec).unwrap();
    let mut rng = Rng::new(seed);
    let mut frame = Vec::with_capacity(1514);
    let t0 = 1_700_000_000u64 * 1_000_000;
    for i in 0..flows {
        let cli = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let srv = [172, 16, 0, 1 + (i % 200) as u8];
        let sp = 1024 + (rng.below(60_000)) as u16;
        let dp = [53u16, 123, 5353, 8125][(i % 4) as usize];
        let t = t0 + u64::from(i) * secs * 1_000_000 / u64::from(flows);
        for (k, (s, d, a, b, n)) in [
            (cli, srv, sp, dp, 20 + rng.below(200) as usize),
            (srv, cli, dp, sp, 40 + rng.below(1200) as usize),
        ]
        .into_iter()
        .enumerate()
        {
            frame.clear();
            frame.extend_from_slice(&[
                0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0,
            ]);
            frame.extend_from_slice(&((28 + n) as u16).to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0]);
            frame.extend_from_slice(&s);
            frame.extend_from_slice(&d);
            frame.extend_from_slice(&a.to_be_bytes());
            frame.extend_from_slice(&b.to_be_bytes());
            frame.extend_from_slice(&((8 + n) as u16).to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
            frame.resize(frame.len() + n, 0);
            let ts_ns = (t + k as u64 * 500) * 1000;
            rec.clear();
            pcap::write_record(&mut rec, ts_ns, &frame, frame.len() as u32);
            w.write_all(&rec).unwrap();
        }
    }
    w.flush().unwrap();
    eprintln!("flowpcap: {flows} flows over {secs} s in {out}");
}
