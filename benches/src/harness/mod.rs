//! The benchmark harness behind `wirelog bench`: `memory` (the dataplane's
//! ceiling per core, lanes fed from memory), `veth` (live capture of a
//! paced generator on a veth pair, the zero-loss rate), `report` (the HTML
//! page of several reports), and what every report shares: the figures
//! `--compare` sets side by side.
//!
//! The `wirelog` binary is the entry: it parses the options, owns the
//! outputs the records go to, and hands this harness the lanes' outputs.

pub mod memory;
pub mod report;
pub mod veth;

use crate::profile::Generated;

/// Ethernet overhead on the wire per frame: preamble and start delimiter
/// (8), FCS (4, not in captured frames) and the inter-frame gap (12).
pub const WIRE_OVERHEAD: u64 = 24;

/// `x` rounded to three decimals (rates in reports).
pub fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// What a generator produced, as the reports give it.
pub fn generated_json(m: &Generated) -> serde_json::Value {
    serde_json::json!({
        "frames": m.frames,
        "bytes": m.bytes,
        "mean_frame_bytes": (m.bytes as f64 * 10.0 / m.frames.max(1) as f64).round() / 10.0,
        "flows": m.flows,
        "http_requests": m.http_requests,
        "http_responses": m.http,
        "dns_queries": m.dns_queries,
        "dns_answers": m.dns,
        "tls_handshakes": m.tls,
        "redis_replies": m.redis,
        "mysql_results": m.mysql,
        "pgsql_results": m.pgsql,
        "byte_shares_percent": m
            .byte_shares()
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
    })
}

/// The figures `--compare` sets side by side: (path in the report,
/// whether more is better), per mode.
const COMPARED_MEMORY: [(&str, bool); 7] = [
    ("/per_core/frames_per_s", true),
    ("/per_core/gbit_per_s", true),
    ("/per_core/ns_per_frame", false),
    ("/end_to_end/frames_per_s", true),
    ("/end_to_end/gbit_per_s", true),
    ("/end_to_end/output_cpu_s", false),
    ("/peak_rss_bytes", false),
];
const COMPARED_VETH: [(&str, bool); 3] = [
    ("/zero_loss/frames_per_s", true),
    ("/zero_loss/gbit_per_s", true),
    ("/lossy_from", true),
];

fn compared(r: &serde_json::Value) -> &'static [(&'static str, bool)] {
    if r["mode"] == "veth" {
        &COMPARED_VETH
    } else {
        &COMPARED_MEMORY
    }
}

/// This run's figures over an earlier report's, and whether both ran the
/// same input with the same workers (ratios of different inputs are
/// printed but flagged).
pub fn compare(new: &serde_json::Value, old: &serde_json::Value) -> serde_json::Value {
    let mut ratios = serde_json::Map::new();
    for (path, _) in compared(new) {
        let (a, b) = (new.pointer(path), old.pointer(path));
        if let (Some(a), Some(b)) = (a.and_then(|v| v.as_f64()), b.and_then(|v| v.as_f64())) {
            if b != 0.0 {
                let r = (a / b * 1000.0).round() / 1000.0;
                ratios.insert(path.trim_start_matches('/').replace('/', "."), r.into());
            }
        }
    }
    serde_json::json!({
        "mode": new["mode"],
        "same_input": new["mode"] == old["mode"]
            && new["input"] == old["input"]
            && new["workers"] == old["workers"]
            && new["profile"] == old["profile"]
            && new["capture_args"] == old["capture_args"],
        "ratios": ratios,
    })
}

/// `compare`'s result as lines for a terminal.
pub fn compare_text(c: &serde_json::Value) -> String {
    let mut s = String::new();
    if c["same_input"] != true {
        s.push_str("wirelog: note: the earlier report ran another input or worker count\n");
    }
    // `compare` keeps the report's mode, which picks the same list.
    for &(path, more_is_better) in compared(c) {
        let key = path.trim_start_matches('/').replace('/', ".");
        if let Some(r) = c["ratios"][&key].as_f64() {
            let better = if more_is_better { r > 1.0 } else { r < 1.0 };
            let word = if (r - 1.0).abs() < 0.005 {
                "same"
            } else if better {
                "better"
            } else {
                "worse"
            };
            s.push_str(&format!("{key:<26} x{r:<8.3} {word}\n"));
        }
    }
    s
}
