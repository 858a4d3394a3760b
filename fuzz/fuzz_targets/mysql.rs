//! MySQL: the framing and every packet parser on any bytes, then MySQL
//! conversations built from the input (greeting, login and commands, cut
//! anywhere, lost and reordered segments).
#![no_main]

#[path = "conv.rs"]
mod conv;

use dataplane::app::mysql::parse::{self, Frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Packet by packet: every frame consumes bytes, and no payload is
    // read past the bytes at hand.
    let mut rest = data;
    while let Frame::Packet { len, .. } = parse::frame(rest) {
        assert!(len <= parse::MAX_PACKET);
        let b = rest.get(parse::HDR..).unwrap_or_default();
        let b = &b[..len.min(b.len())];
        let _ = (parse::greeting(b), parse::login(b), parse::ok(b), parse::err(b));
        let _ = (parse::column_count(b), parse::column_name(b), parse::prepared(b));
        let _ = (parse::query_attributes(b), parse::execute(b), parse::eof(b));
        let caps = u32::from(b.first().copied().unwrap_or(0)) << 15;
        let _ = parse::change_user(b, caps);
        let mut at = 0;
        while let Some((_, _, next)) = parse::value(b, at, u16::from(b.get(at).copied().unwrap_or(0))) {
            if next <= at {
                break;
            }
            at = next;
        }
        let Some(r) = rest.get(parse::HDR + len..) else { break };
        rest = r;
    }
    for dir in 0..2 {
        let _ = parse::probe(dir, data);
    }
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, 6, [3306, 7000][usize::from(sel) % 2], 0);
});
