//! Puts the 64-byte TCP profile (or larger frames of it) on an interface
//! through a PACKET_MMAP TX ring that bypasses the qdisc.
//!
//! `wlgen --iface IF [--seconds S] [--pps R] [--flows N] [--size B] [--seed X]`
//! sends for S seconds at R frames/s (0: as fast as the ring goes), each
//! frame's flow drawn at random among N, frames of B bytes (60-1514), and
//! prints what it sent as JSON. The same seed gives the same frames.

use benches::arg;
use benches::gen::{tcp64, Rng, TCP64_LEN};
use benches::wire::TxRing;

fn main() {
    let iface: String = arg("--iface", String::new());
    if iface.is_empty() {
        eprintln!("wlgen: --iface is required");
        std::process::exit(2);
    }
    let secs: f64 = arg("--seconds", 5.0);
    let pps: u64 = arg("--pps", 0);
    let flows: u32 = arg("--flows", 10_000);
    let size: usize = arg("--size", TCP64_LEN).clamp(TCP64_LEN, 1514);
    let seed: u64 = arg("--seed", 1);
    let mut ring = TxRing::open(&iface, 4096).unwrap_or_else(|e| {
        eprintln!("wlgen: {iface}: {e}");
        std::process::exit(2);
    });
    // A pool of frames generated up front: the send loop only copies.
    let pool_len = 1 << 16;
    let mut rng = Rng::new(seed);
    let mut pool = vec![0u8; pool_len * size];
    let mut f = [0u8; TCP64_LEN];
    for (i, slot) in pool.chunks_exact_mut(size).enumerate() {
        tcp64(
            rng.below(u64::from(flows)) as u32,
            1000 + i as u32 * 6,
            &mut f,
        );
        slot[..TCP64_LEN].copy_from_slice(&f);
        // Grow the IP total length to the frame size (payload bytes stay zero).
        let ip_len = (size - 14) as u16;
        slot[16..18].copy_from_slice(&ip_len.to_be_bytes());
    }
    let mut i = 0usize;
    let sent = benches::wire::send_paced(&mut ring, pps, secs, |f: &mut Vec<u8>| {
        f.extend_from_slice(&pool[i * size..(i + 1) * size]);
        i = (i + 1) % pool_len;
    })
    .unwrap_or_else(|e| {
        eprintln!("wlgen: send: {e}");
        std::process::exit(1);
    });
    let el = sent.seconds;
    println!(
        "{{\"sent\":{},\"seconds\":{el:.3},\"pps\":{:.0},\"frame_bytes\":{size},\"rejected\":{},\"unsent\":{}}}",
        sent.frames,
        sent.frames as f64 / el,
        ring.rejected,
        sent.unsent
    );
}
