//! The stream layer alone: segments of a known stream in any order, with
//! loss, overlaps and short captures, into small windows. Every byte the
//! analyzer receives sits at its place in the stream.
#![no_main]

use dataplane::app::pool::Pool;
use dataplane::app::stream::{Dir, Feed, Sink, StreamLimits, StreamStats};
use dataplane::app::Step;
use libfuzzer_sys::fuzz_target;

/// Checks each byte against the stream (byte i of the stream is i % 251).
struct Check {
    pos: u64,
    lines: bool,
}

impl Sink<()> for Check {
    fn parse(&mut self, _d: usize, data: &[u8], _cx: &mut ()) -> Step {
        let n = if self.lines { data.iter().rposition(|&c| c % 7 == 0).map_or(0, |i| i + 1) } else { data.len() };
        for (k, &b) in data[..n].iter().enumerate() {
            assert_eq!(u64::from(b), (self.pos + k as u64) % 251, "misplaced byte");
        }
        self.pos += n as u64;
        if n == 0 {
            Step::Need { consumed: 0, min: 0 }
        } else {
            Step::Consumed(n)
        }
    }
    fn gap(&mut self, _d: usize, len: u64, _cx: &mut ()) {
        self.pos += len;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, ops)) = data.split_first() else { return };
    let stream: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let mut pool = Pool::new(2, 16 + usize::from(sel % 64), false).unwrap();
    let mut st = StreamStats::default();
    let mut sink = Check { pos: 0, lines: sel & 64 != 0 };
    let mut dir = Dir::default();
    dir.start(0, false);
    let mut unit = ();
    let mut f = Feed { pool: &mut pool, stats: &mut st, limits: StreamLimits { depth: 0 }, sink: &mut sink, cx: &mut unit, dir: 0 };
    let mut pending_held = 0u64;
    for op in ops.chunks(4) {
        if op.len() < 4 {
            break;
        }
        let off = u32::from(u16::from_le_bytes([op[0], op[1]])) % 4000;
        let len = usize::from(op[2] % 96);
        let end = (off as usize + len).min(stream.len());
        let bytes = &stream[off as usize..end];
        match op[3] % 8 {
            0 => dir.ack(&mut f, off),
            1 => dir.segment(&mut f, off, &bytes[..bytes.len() / 2], bytes.len() as u32),
            _ => dir.segment(&mut f, off, bytes, bytes.len() as u32),
        }
        pending_held += 1;
    }
    dir.finish(&mut f, false);
    let _ = pending_held;
    assert_eq!(pool.in_use(), 0, "a buffer leaked");
});
