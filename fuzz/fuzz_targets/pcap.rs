//! Read any bytes as a capture file: errors or frames, never a panic.
#![no_main]

use dataplane::capture::pcap::PcapReader;
use dataplane::capture::{Batch, Capture, Poll};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = PcapReader::from_bytes(data.to_vec()) else { return };
    let mut b = Batch::with_capacity(16);
    for _ in 0..10_000 {
        match r.next_batch(&mut b) {
            Ok(p) => {
                for f in b.frames() {
                    let _ = r.frame(f).len();
                }
                if p == Poll::End {
                    break;
                }
            }
            Err(_) => break,
        }
    }
});
