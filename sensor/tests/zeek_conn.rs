//! Every conn.log row Zeek gives for the corpus traces, matched against
//! wirelog's flow records on 5-tuple, per-direction packets and IP bytes,
//! conn_state and history.
//!
//! `../shared/corpus/zeek/EXPECTED.md` says which baseline belongs to which
//! trace; `tests/zeek-extra-pairs.tsv` pairs the tunnel and ERSPAN baselines
//! it leaves out. Differences must be listed, with a reason, in
//! `tests/zeek-differences.tsv`; an unlisted difference fails the test, and
//! so does a listed one that no longer occurs. The match rate is printed.
//! `WIRELOG_BLESS=1` rewrites the file (keeping existing reasons) for review.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/zeek")
}

/// (trace path, conn.log path, extra options) from EXPECTED.md and
/// `tests/zeek-extra-pairs.tsv`.
fn pairs() -> Vec<(PathBuf, PathBuf, Vec<String>)> {
    let root = corpus();
    let mut out: Vec<(PathBuf, PathBuf, Vec<String>)> = expected_pairs()
        .into_iter()
        .map(|(t, c)| (t, c, Vec::new()))
        .collect();
    let extra = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeek-extra-pairs.tsv");
    for line in std::fs::read_to_string(extra)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let conn = root.join("Baseline").join(cols[0]).join("conn.log");
        assert!(conn.exists(), "{}: no such baseline", cols[0]);
        let opts = cols
            .get(2)
            .map(|o| o.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        out.push((root.join("Traces").join(cols[1]), conn, opts));
    }
    out
}

/// (trace path, conn.log path) pairs from EXPECTED.md.
fn expected_pairs() -> Vec<(PathBuf, PathBuf)> {
    let root = corpus();
    let text = std::fs::read_to_string(root.join("EXPECTED.md")).expect("EXPECTED.md");
    let mut out = Vec::new();
    let mut trace = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("## `zeek/testing/btest/Traces/") {
            trace = rest.split('`').next().map(|t| root.join("Traces").join(t));
        } else if let (Some(t), Some(pos)) = (&trace, line.find("→ `Baseline/")) {
            let rest = &line[pos + "→ `Baseline/".len()..];
            let dir = rest.split('`').next().unwrap_or("");
            let files = rest.split("files:").nth(1).unwrap_or("");
            for f in files.split(',').map(str::trim) {
                if f == "conn.log" {
                    out.push((t.clone(), root.join("Baseline").join(dir).join(f)));
                }
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Row {
    tuple: String,
    fields: BTreeMap<&'static str, String>,
}

fn zeek_rows(conn: &Path) -> Vec<Row> {
    let Ok(text) = std::fs::read_to_string(conn) else {
        return Vec::new();
    };
    let mut cols: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            cols = f.split('\t').map(String::from).collect();
            continue;
        }
        if line.starts_with('#') || cols.is_empty() {
            continue;
        }
        let v: Vec<&str> = line.split('\t').collect();
        let get = |n: &str| {
            cols.iter()
                .position(|c| c == n)
                .and_then(|i| v.get(i))
                .map(|s| s.to_string())
        };
        let (Some(oh), Some(op), Some(rh), Some(rp), Some(pr)) = (
            get("id.orig_h"),
            get("id.orig_p"),
            get("id.resp_h"),
            get("id.resp_p"),
            get("proto"),
        ) else {
            continue;
        };
        let mut fields = BTreeMap::new();
        for (k, z) in [
            ("orig_pkts", "orig_pkts"),
            ("orig_ip_bytes", "orig_ip_bytes"),
            ("resp_pkts", "resp_pkts"),
            ("resp_ip_bytes", "resp_ip_bytes"),
            ("conn_state", "conn_state"),
            ("history", "history"),
        ] {
            let val = get(z).unwrap_or_default();
            fields.insert(k, if val == "-" { String::new() } else { val });
        }
        rows.push(Row {
            tuple: format!("{pr} {oh}:{op} > {rh}:{rp}"),
            fields,
        });
    }
    rows
}

fn wirelog_rows(trace: &Path, opts: &[String]) -> Vec<Row> {
    let mut args = vec![
        "--quiet",
        "--outer-tunnel-flows",
        "--key-vlan",
        "false",
        "--records",
        "flow",
    ];
    args.extend(opts.iter().map(String::as_str));
    let (lines, _) = common::replay(trace, &args);
    let mut rows = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let proto = match v["proto"].as_str() {
            Some("icmp6") => "icmp".to_string(),
            Some(p) => p.to_string(),
            None => v["proto"].to_string(),
        };
        let s = |k: &str| match &v[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            x => x.to_string(),
        };
        let mut fields = BTreeMap::new();
        fields.insert("orig_pkts", s("src_pkts"));
        fields.insert("orig_ip_bytes", s("src_bytes"));
        fields.insert("resp_pkts", s("dst_pkts"));
        fields.insert("resp_ip_bytes", s("dst_bytes"));
        fields.insert("conn_state", s("conn_state"));
        fields.insert("history", s("history"));
        let tuple = format!(
            "{proto} {}:{} > {}:{}",
            s("src_ip"),
            s("src_port"),
            s("dst_ip"),
            s("dst_port")
        );
        rows.push(Row { tuple, fields });
    }
    rows
}

/// Pairs rows with the same tuple in order; returns the differences as
/// (tuple, field, zeek, wirelog) and the number of rows compared.
/// (tuple, field, zeek's value, wirelog's value).
type Diff = (String, String, String, String);

fn compare(zeek: &[Row], ours: &[Row]) -> (Vec<Diff>, usize, usize) {
    let mut diffs = Vec::new();
    let mut used = vec![false; ours.len()];
    let mut matched_rows = 0;
    for z in zeek {
        let pos = ours
            .iter()
            .enumerate()
            .position(|(i, o)| !used[i] && o.tuple == z.tuple);
        let Some(i) = pos else {
            diffs.push((
                z.tuple.clone(),
                "row".into(),
                "present".into(),
                "missing".into(),
            ));
            continue;
        };
        used[i] = true;
        let mut ok = true;
        for (k, zv) in &z.fields {
            let ov = &ours[i].fields[k];
            if zv != ov {
                ok = false;
                diffs.push((z.tuple.clone(), k.to_string(), zv.clone(), ov.clone()));
            }
        }
        matched_rows += usize::from(ok);
    }
    (diffs, matched_rows, zeek.len())
}

#[test]
fn zeek_conn_log_rows_match_or_are_explained() {
    let known_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeek-differences.tsv");
    let known_text = std::fs::read_to_string(&known_path).unwrap_or_default();
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    for line in known_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            cols.len(),
            6,
            "malformed line in zeek-differences.tsv: {line}"
        );
        assert!(
            !cols[5].trim().is_empty(),
            "difference without a reason: {line}"
        );
        known.insert(cols[..5].join("\t"), cols[5].to_string());
    }
    let mut seen = BTreeSet::new();
    let mut unexplained = Vec::new();
    let mut lines = Vec::new();
    let (mut total, mut exact) = (0, 0);
    let mut cache: BTreeMap<(PathBuf, Vec<String>), Vec<Row>> = BTreeMap::new();
    for (trace, conn, opts) in pairs() {
        let base = conn
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let zeek = zeek_rows(&conn);
        let ours = cache
            .entry((trace.clone(), opts.clone()))
            .or_insert_with(|| wirelog_rows(&trace, &opts))
            .clone();
        let (diffs, ok, n) = compare(&zeek, &ours);
        total += n;
        exact += ok;
        for (tuple, field, z, o) in diffs {
            let key = [base.as_str(), &tuple, &field, &z, &o].join("\t");
            match known.get(&key) {
                Some(reason) => lines.push(format!("{key}\t{reason}")),
                None => {
                    unexplained.push(key.clone());
                    lines.push(format!("{key}\tUNEXPLAINED"));
                }
            }
            seen.insert(key);
        }
    }
    let stale: Vec<_> = known
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect();
    println!(
        "zeek conn.log: {exact} of {total} rows match exactly ({:.1}%), {} differing fields explained in zeek-differences.tsv",
        100.0 * exact as f64 / total.max(1) as f64,
        seen.len() - unexplained.len()
    );
    if std::env::var_os("WIRELOG_BLESS").is_some() {
        let mut f = String::from(
            "# baseline\ttuple\tfield\tzeek\twirelog\treason — differences from Zeek's conn.log, each explained\n",
        );
        for l in &lines {
            f.push_str(l);
            f.push('\n');
        }
        std::fs::write(&known_path, f).unwrap();
    }
    assert!(total > 40, "too few Zeek rows compared: {total}");
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed differences that no longer occur:\n{}",
        stale.join("\n")
    );
}
