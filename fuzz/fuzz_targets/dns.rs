//! DNS: the message parser on any bytes, then DNS over UDP and TCP
//! conversations built from the input.
#![no_main]

#[path = "conv.rs"]
mod conv;

use dataplane::app::dns::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::looks_like(data);
    let mut q = parse::Question::default();
    if let Some(mut off) = parse::question(data, 12, &mut q) {
        let mut buf = Vec::with_capacity(parse::TEXT_BYTES + 64);
        let mut t = parse::Text::new(&mut buf);
        while let Some((r, next)) = parse::rr(data, off) {
            parse::rdata_text(data, &r, &mut t);
            // The text stays within its bound (the buffer never grows).
            assert!(t.len() <= parse::TEXT_BYTES + 64);
            assert!(next > off);
            off = next;
        }
    }
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, if sel & 1 == 0 { 17 } else { 6 }, 53, 0);
});
