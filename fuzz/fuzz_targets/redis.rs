//! Redis: the RESP item parser and the nesting walk on any bytes, then
//! Redis conversations built from the input (pipelined, cut anywhere,
//! lost and reordered segments).
#![no_main]

#[path = "conv.rs"]
mod conv;

use dataplane::app::redis::parse::{self, Parsed, Walk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Item by item: every header consumes bytes, and the walk's stack
    // stays within its bound however the values nest.
    let (mut rest, mut walk) = (data, Walk::new());
    while let Parsed::Done(h) = parse::head(rest) {
        assert!(h.size > 0 && h.size <= rest.len());
        let skip = (h.size as u64).saturating_add(h.payload_size());
        if walk.push(&h).is_err() {
            break;
        }
        assert!(walk.depth() <= parse::MAX_DEPTH);
        rest = rest.get(usize::try_from(skip).unwrap_or(usize::MAX)..).unwrap_or_default();
    }
    let _ = parse::probe(0, data);
    let _ = parse::probe(1, data);
    let _ = parse::inline_args(data, |a| !a.raw.is_empty());
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, 6, [6379, 7000][usize::from(sel) % 2], 0);
});
