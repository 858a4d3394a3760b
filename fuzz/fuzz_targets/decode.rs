//! Decode one frame of any link type: never panics, and a decoded packet's
//! payload reference always lies inside its buffer.
#![no_main]

use dataplane::capture::LinkType;
use dataplane::decode::{DecodeConfig, Decoded, Decoder, Outcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let link = [LinkType::Ethernet, LinkType::Sll, LinkType::Sll2, LinkType::Null, LinkType::Loop, LinkType::Raw]
        [usize::from(sel) % 6];
    let mut dec = Decoder::new(DecodeConfig { outer_tunnel_flows: true, frag_slots: 4, ..Default::default() }).unwrap();
    let mut d = Decoded::EMPTY;
    if dec.decode(frame, link, 0, &mut d) == Outcome::Packet {
        let p = dec.payload(frame, &d.payload);
        assert_eq!(p.len(), d.payload.len as usize);
    }
    dec.end_batch();
});
