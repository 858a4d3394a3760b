//! The template protocol's record.

use crate::app::Cx;
use crate::key;
use crate::record::{FieldSink, RecordOut};

/// Logs a request (time, length) and its answer's length.
pub fn emit<O: RecordOut>(req: Option<(u64, usize)>, resp: Option<usize>, cx: &mut Cx<'_, O>) {
    let ts = req.map_or(cx.now, |r| r.0);
    let now = cx.now;
    cx.record("line", ts, |w| {
        if let Some((t, n)) = req {
            w.u64_at(key!("request_len"), n as u64);
            if resp.is_some() {
                w.u64_at(key!("latency_us"), now.saturating_sub(t) / 1000);
            }
        }
        match resp {
            Some(n) => w.u64_at(key!("response_len"), n as u64),
            None => w.bool("unanswered", true),
        }
    });
}
