//! TLS client fingerprints against a referee nobody here wrote the
//! dissector of: for every ClientHello in ../shared/corpus (the traces
//! `tls-traces.tsv` lists), `scripts/ja4-tshark.py` computes JA4 (all four
//! forms), JA3 and the SNI from tshark's dissection, and wirelog's `tls`
//! record of the connection must carry the same values. A trace listed
//! with a reason must differ (so the list stays true); every other
//! connection must match exactly. suricata-verify's JA4 checks are
//! reproduced directly.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// The traces, each with the reason it differs (if it does).
fn traces() -> Vec<(String, Option<String>)> {
    let list = include_str!("tls-traces.tsv");
    list.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((f, why)) => (f.to_string(), Some(why.to_string())),
            None => (l.to_string(), None),
        })
        .collect()
}

fn replay(trace: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        // HTTP too: a CONNECT tunnel is handed to TLS.
        .args(["replay", "--no-pin", "--quiet", "--records", "tls,http"])
        .args(["--tls-ja4-raw", "true"])
        .arg(trace)
        .output()
        .expect("wirelog runs");
    assert!(
        out.status.success(),
        "{}: {}",
        trace.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .filter(|r: &Value| r["type"] == "tls")
        .collect()
}

/// The referee's ClientHellos, the first of each connection.
fn referee(files: &[String]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ja4-tshark.py");
    let out = Command::new("python3")
        .arg(script)
        .args(files.iter().map(|f| corpus().join(f)))
        .output()
        .expect("python3 and tshark (scripts/setup.sh installs them)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = BTreeSet::new();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
        .filter(|r| {
            let ports = [r["sport"].as_u64(), r["dport"].as_u64()];
            let mut key = ports.to_vec();
            key.sort();
            seen.insert((r["file"].as_str().unwrap_or("").to_string(), key))
        })
        .collect()
}

#[test]
fn ja4_and_ja3_match_tshark_on_every_corpus_client_hello() {
    let list = traces();
    let files: Vec<String> = list.iter().map(|t| t.0.clone()).collect();
    let reasons: BTreeMap<&str, &Option<String>> =
        list.iter().map(|(f, w)| (f.as_str(), w)).collect();
    let refs = referee(&files);
    let mut ours: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let (mut matched, mut skipped, mut explained) = (0, 0, 0);
    let mut differing_files = BTreeSet::new();
    let mut unexplained = Vec::new();
    for r in &refs {
        let path = PathBuf::from(r["file"].as_str().unwrap());
        let file = path
            .strip_prefix(corpus())
            .unwrap()
            .to_string_lossy()
            .to_string();
        // DTLS and SSL 2 hellos are not read (docs/schema.md).
        if r["proto"] != "tls" || r["sslv2"] == true {
            skipped += 1;
            continue;
        }
        let recs = ours.entry(file.clone()).or_insert_with(|| replay(&path));
        let ports = [r["sport"].as_u64(), r["dport"].as_u64()];
        let found = recs.iter().find(|o| {
            let p = [o["src_port"].as_u64(), o["dst_port"].as_u64()];
            p == ports || p == [ports[1], ports[0]]
        });
        let diff: Vec<String> = match found {
            None => vec!["no tls record".into()],
            Some(o) => ["ja4", "ja4_r", "ja4_o", "ja4_ro", "sni"]
                .iter()
                .filter(|k| o[**k] != r[**k])
                .map(|k| format!("{k}: ours {} tshark's {}", o[*k], r[*k]))
                .chain(
                    (o["ja3"] != r["ja3_hash"])
                        .then(|| format!("ja3: ours {} tshark's {}", o["ja3"], r["ja3_hash"])),
                )
                .collect(),
        };
        if diff.is_empty() {
            matched += 1;
        } else if reasons.get(file.as_str()).is_some_and(|w| w.is_some()) {
            explained += 1;
            differing_files.insert(file);
        } else {
            unexplained.push(format!("{file} {:?}: {}", ports, diff.join("; ")));
        }
    }
    let total = matched + explained + unexplained.len();
    println!(
        "tls: {matched} of {total} ClientHellos match tshark's JA4, JA3 and SNI exactly ({:.1} %), {explained} differ as tls-traces.tsv explains, {skipped} DTLS or SSL 2 hellos not read",
        100.0 * matched as f64 / total.max(1) as f64
    );
    assert!(
        unexplained.is_empty(),
        "unexplained differences:\n{}",
        unexplained.join("\n")
    );
    for (f, why) in &list {
        if why.is_some() {
            assert!(
                differing_files.contains(f),
                "{f} is listed as differing but matches now: update tls-traces.tsv"
            );
        }
    }
    assert!(matched >= 140, "{matched} matches");
}

/// suricata-verify's JA4 and JA3 checks, reproduced.
#[test]
fn suricata_verify_fingerprints() {
    let sv = "suricata-verify/tests";
    let checks = [
        (
            "ja4-tls/input.pcap",
            "ja4",
            "t12i1810s1_27d4652c4487_06a4338d0495",
        ),
        (
            "tls/tls13-draft14/tls13_draft14.pcap",
            "ja3",
            "65825469c473e48f3ee2571129256ab0",
        ),
        (
            "tls/tls13-draft18/tls13_draft18.pcap",
            "ja3",
            "23d254f72096d25c350e4a4a792f4948",
        ),
        (
            "tls/tls13-draft19/tls13_draft19.pcap",
            "ja3",
            "0e870cb29dd59424064948532781a7f6",
        ),
        (
            "tls/tls13-draft19/tls13_draft19.pcap",
            "ja3",
            "30e5035b2d6787e7b319f75c36c438fe",
        ),
        (
            "tls/tls13-draft19/tls13_draft19.pcap",
            "ja3",
            "e6ae7b5efb58894bd43d6fa73420d267",
        ),
        (
            "tls/tls13-draft22/tls13_draft22.pcap",
            "ja3",
            "786468211b4d23f9b725987b0de9d090",
        ),
        (
            "tls/tls13-draft23/tls13_draft23.pcap",
            "ja3",
            "0558cf38ebac58d332d7f39308fcd006",
        ),
        (
            "tls/tls13-draft28/tls13_draft28.pcap",
            "ja3",
            "43202faa1c8c1760d6f7f4bd9adde4ab",
        ),
        (
            "tls/tls13-draft28/tls13_draft28.pcap",
            "ja3",
            "d00857e0c8e7a7f35e446508c6233460",
        ),
    ];
    for (trace, field, want) in checks {
        let recs = replay(&corpus().join(sv).join(trace));
        assert!(
            recs.iter().any(|r| r[field] == want),
            "{trace}: no {field} {want} in {recs:?}"
        );
    }
}
