//! HTTP over a reassembled TCP stream: any bytes, any segmentation, loss
//! and reordering never panic, never leak a buffer, and every record is
//! one JSON line under the cap.
#![no_main]

#[path = "conv.rs"]
mod conv;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, 6, [80, 8080, 12345][usize::from(sel) % 3], usize::from(sel >> 2) * 16);
});
