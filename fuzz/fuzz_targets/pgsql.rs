//! PostgreSQL: the framing and every message parser on any bytes, then
//! PostgreSQL conversations built from the input (startup or typed
//! messages, cut anywhere, lost and reordered segments).
#![no_main]

#[path = "conv.rs"]
mod conv;

use dataplane::app::pgsql::parse::{self, Frame};
use dataplane::app::sql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Message by message: every frame consumes bytes, and no body is
    // read past the bytes at hand.
    for dir in 0..2 {
        let mut rest = data;
        while let Frame::Msg { hdr, body, .. } = parse::typed_frame(dir, rest) {
            assert!(hdr == 5 && body <= parse::MAX_LEN as usize);
            let b = rest.get(hdr..).unwrap_or_default();
            let b = &b[..body.min(b.len())];
            let _ = (parse::parse_msg(b), parse::bind(b), parse::execute(b), parse::target(b));
            let _ = (parse::command_complete(b), parse::fields(b), parse::auth(b));
            let _ = (parse::parameter_status(b), parse::row_description(b), parse::backend_pid(b));
            // Values never reach past the body.
            for (v, _) in parse::bind_values(b, &[sql::Binary::Int; 3]) {
                if let sql::Value::Text(x) | sql::Value::Binary(x, _) = v {
                    assert!(x.len() <= b.len());
                }
            }
            let Some(r) = rest.get(hdr + body..) else { break };
            rest = r;
        }
        let _ = parse::probe(dir, data);
        let _ = parse::resyncs(dir, data);
        let d = sql::Dialect::Postgres;
        assert!(sql::fingerprint(d, data, &mut [0; 64]) <= data.len());
        let _ = sql::statement_at(d, data, usize::from(data.first().copied().unwrap_or(0) % 8));
    }
    if let Frame::Msg { body, .. } = parse::startup_frame(data) {
        assert!(body + 4 <= parse::MAX_STARTUP);
        let _ = parse::startup(data.get(4..).unwrap_or_default());
    }
    let Some((&sel, rest)) = data.split_first() else { return };
    conv::run(rest, 6, [5432, 7000][usize::from(sel) % 2], 0);
});
