//! End-to-end replay checks against data nobody here wrote: Community IDs
//! from the spec's baseline, tshark's TCP analysis on the corpus `tcp/`
//! traces, and the same records for one and four workers.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn replay(trace: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--quiet"];
    args.extend_from_slice(extra);
    run(trace, &args)
        .0
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `wirelog replay`: the record lines and stderr.
fn run(trace: &Path, extra: &[&str]) -> (Vec<String>, String) {
    common::replay(trace, extra)
}

#[test]
fn community_ids_match_the_spec_baseline() {
    let root = shared().join("community-id");
    let text = std::fs::read_to_string(root.join("baseline/baseline_deflt.json")).unwrap();
    let expected: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    // Every flow wirelog finds in the spec's pcaps, by its tuple.
    let mut ours: BTreeMap<String, String> = BTreeMap::new();
    for e in std::fs::read_dir(root.join("pcaps")).unwrap() {
        for r in replay(&e.unwrap().path(), &[]) {
            let k = format!(
                "{} {} {} {} {}",
                r["ip_proto"],
                r["src_ip"].as_str().unwrap(),
                r["src_port"],
                r["dst_ip"].as_str().unwrap(),
                r["dst_port"]
            );
            ours.insert(k, r["community_id"].as_str().unwrap().to_string());
        }
    }
    let mut checked = 0;
    for e in &expected {
        let (p, s, d) = (
            &e["proto"],
            e["saddr"].as_str().unwrap(),
            e["daddr"].as_str().unwrap(),
        );
        // Protocols without ports: wirelog writes port 0.
        let port = |v: &serde_json::Value| {
            if v.is_null() {
                "0".to_string()
            } else {
                v.to_string()
            }
        };
        let (sp, dp) = (port(&e["sport"]), port(&e["dport"]));
        let fwd = format!("{p} {s} {sp} {d} {dp}");
        let rev = format!("{p} {d} {dp} {s} {sp}");
        let got = ours.get(&fwd).or_else(|| ours.get(&rev));
        let want = e["communityid"].as_str().unwrap();
        // One-way ICMP messages are separate flows per direction: only the
        // exact tuple is the same flow.
        if let Some(got) = ours.get(&fwd).or(got) {
            if ours.contains_key(&fwd) || !ours.contains_key(&rev) || got == want {
                assert_eq!(got, want, "{fwd}");
                checked += 1;
            }
        }
    }
    println!(
        "community id: {checked} of {} baseline tuples found with the published id",
        expected.len()
    );
    assert_eq!(
        checked,
        expected.len(),
        "baseline tuples without a wirelog flow"
    );
}

/// Counts tshark's analysis flags over a trace.
fn tshark_count(trace: &Path, filter: &str) -> Option<u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(trace)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).lines().count() as u64)
}

#[test]
fn tcp_analysis_counts_agree_with_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        panic!("tshark is required (scripts/test.sh installs it)");
    }
    let dir = shared().join("zeek/Traces/tcp");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    traces.sort();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for t in &traces {
        let recs = replay(t, &[]);
        let sum = |k: &str| -> u64 {
            recs.iter()
                .map(|r| {
                    r[format!("src_{k}")].as_u64().unwrap_or(0)
                        + r[format!("dst_{k}")].as_u64().unwrap_or(0)
                })
                .sum()
        };
        for (ours, filter) in [
            (sum("retrans"), "tcp.analysis.retransmission"),
            (sum("out_of_order"), "tcp.analysis.out_of_order"),
            (sum("zero_win"), "tcp.analysis.zero_window"),
        ] {
            let Some(theirs) = tshark_count(t, filter) else {
                continue;
            };
            compared += 1;
            if ours != theirs {
                mismatches.push(format!(
                    "{}: {filter}: tshark {theirs}, wirelog {ours}",
                    t.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    // Differences explained: wirelog splits flows the way Zeek does, tshark
    // counts per TCP conversation.
    const EXPLAINED: &[(&str, &str)] = &[
        (
            "option-sack.pcap: tcp.analysis.retransmission: tshark 3, wirelog 1",
            "the SYN is retransmitted after Zeek's 5 s attempt timeout, so those SYNs open new flow records (S0) and each is its flow's first SYN",
        ),
        (
            "retransmit-timeout.pcapng: tcp.analysis.retransmission: tshark 1, wirelog 0",
            "the spurious retransmission comes 300 s after the last packet, past the TCP idle timeout, so it starts a new flow",
        ),
    ];
    let unexplained: Vec<_> = mismatches
        .iter()
        .filter(|m| !EXPLAINED.iter().any(|(e, _)| m.ends_with(e)))
        .cloned()
        .collect();
    println!(
        "tshark tcp.analysis: {} of {compared} counts agree, {} differences explained",
        compared - mismatches.len(),
        mismatches.len() - unexplained.len()
    );
    assert!(compared >= 60, "only {compared} counts compared");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

#[test]
fn one_and_four_workers_give_the_same_records() {
    let root = shared().join("zeek/Traces");
    for t in [
        "http/bro.org.pcap",
        "wikipedia.pcap",
        "tunnels/gre-sample.pcap",
        "ipv6-fragmented-dns.pcap",
        "workshop_2011_browse.pcap",
    ] {
        let norm = |mut v: Vec<serde_json::Value>| {
            for r in v.iter_mut() {
                r.as_object_mut().unwrap().remove("sensor");
            }
            let mut s: Vec<String> = v.iter().map(|r| r.to_string()).collect();
            s.sort();
            s
        };
        let one = norm(replay(&root.join(t), &["--workers", "1"]));
        let four = norm(replay(&root.join(t), &["--workers", "4"]));
        assert!(!one.is_empty(), "{t}: no records");
        assert_eq!(one, four, "{t}: records differ between 1 and 4 workers");
    }
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, err) = run(&["replay", "/nonexistent.pcap"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("wirelog: error: /nonexistent.pcap"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, err) = run(&["replay", "--memory", "lots", "x.pcap"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--memory"), "{err}");
    let (_, err) = run(&["replay", "--memory", "1M", "x.pcap"]);
    assert!(err.contains("too small"), "{err}");
    let cfg = std::env::temp_dir().join(format!("wirelog-bad-{}.toml", std::process::id()));
    std::fs::write(&cfg, "workerz = 3\n").unwrap();
    let (code, err) = run(&["replay", "-c", cfg.to_str().unwrap(), "x.pcap"]);
    let _ = std::fs::remove_file(&cfg);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown field `workerz`"), "{err}");
}

fn stats_of(trace: &Path, extra: &[&str]) -> (Vec<String>, serde_json::Value) {
    let (mut recs, err) = run(trace, extra);
    recs.sort();
    let stats = err
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"type\":\"stats\""))
        .expect("summary line");
    (recs, serde_json::from_str(stats).unwrap())
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("wirelog-test-{}-{name}", std::process::id()))
}

/// A gzipped capture streams to the same records as the plain file.
#[test]
fn gzip_input_streams_to_the_same_records() {
    use std::io::Read;
    let gz = shared().join("zeek/Traces/http/1000-requests-one-dropped-response.pcap.gz");
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut plain)
        .unwrap();
    let p = tmp("plain.pcap");
    std::fs::write(&p, &plain).unwrap();
    let (a, sa) = stats_of(&gz, &["--sensor-name", "t"]);
    let (b, sb) = stats_of(&p, &["--sensor-name", "t"]);
    let _ = std::fs::remove_file(&p);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_eq!(sa["frames"], sb["frames"]);
    assert_eq!(sa["frames"], 4102);
}

/// Every frame mirrored twice: the duplicate window drops exactly the
/// copies and the records equal the original's.
#[test]
fn duplicate_frames_are_dropped_and_counted() {
    use dataplane::capture::pcap::{write_header, write_record, PcapReader};
    use dataplane::capture::{Batch, Capture, LinkType, Poll};
    let src = shared().join("zeek/Traces/wikipedia.pcap");
    let mut r = PcapReader::open(&src).unwrap();
    let mut out = Vec::new();
    write_header(&mut out, LinkType::Ethernet, 65535);
    let mut b = Batch::with_capacity(64);
    let mut n = 0u64;
    loop {
        let p = r.next_batch(&mut b).unwrap();
        for f in b.frames() {
            write_record(&mut out, f.ts_ns, r.frame(f), f.wire_len);
            write_record(&mut out, f.ts_ns + 3_000, r.frame(f), f.wire_len);
            n += 1;
        }
        if p == Poll::End {
            break;
        }
    }
    let dup = tmp("dup.pcap");
    std::fs::write(&dup, &out).unwrap();
    let (orig, _) = stats_of(&src, &["--sensor-name", "t"]);
    let (dedup, s) = stats_of(&dup, &["--sensor-name", "t", "--dedup-window-us", "100"]);
    let (doubled, _) = stats_of(&dup, &["--sensor-name", "t"]);
    let _ = std::fs::remove_file(&dup);
    assert_eq!(s["duplicates"], n);
    // Times differ by the 3 µs of the copies at most: compare without them.
    let strip = |v: &[String]| -> Vec<String> {
        let mut o: Vec<String> = v
            .iter()
            .map(|l| {
                let mut j: serde_json::Value = serde_json::from_str(l).unwrap();
                for k in ["end", "duration_us"] {
                    j.as_object_mut().unwrap().remove(k);
                }
                j.to_string()
            })
            .collect();
        o.sort();
        o
    };
    assert_eq!(strip(&orig), strip(&dedup));
    assert_ne!(strip(&orig), strip(&doubled));
}

/// `--pace recorded` keeps the capture's timing (a lower bound only).
#[test]
fn recorded_pace_waits_for_packet_time() {
    use dataplane::capture::pcap::{write_header, write_record};
    use dataplane::capture::LinkType;
    let mut frame = vec![
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    frame.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
    let mut out = Vec::new();
    write_header(&mut out, LinkType::Raw, 65535);
    write_record(&mut out, 1_000_000_000, &frame, 28);
    write_record(&mut out, 1_600_000_000, &frame, 28);
    let p = tmp("pace.pcap");
    std::fs::write(&p, &out).unwrap();
    let t = std::time::Instant::now();
    let (recs, _) = stats_of(&p, &["--pace", "recorded"]);
    let el = t.elapsed();
    let _ = std::fs::remove_file(&p);
    assert_eq!(recs.len(), 1);
    assert!(el >= std::time::Duration::from_millis(550), "{el:?}");
}

/// `--flow-sample N` keeps whole flows (both directions, every packet) by
/// a hash of the inner tuple: the sampled records are a subset of the full
/// ones, equal to them, about one in N, and the same for 1 and 4 workers.
/// Tunnelled flows are sampled by their inner tuple (erspan.pcap).
#[test]
fn flow_sample_keeps_whole_flows() {
    let root = shared().join("zeek/Traces");
    for t in ["wikipedia.pcap", "erspan.pcap"] {
        let key = |r: &serde_json::Value| r.to_string();
        let flows = |extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = replay(&root.join(t), extra)
                .into_iter()
                .filter(|r| r["type"] == "flow")
                .map(|mut r| {
                    r.as_object_mut().unwrap().remove("sensor");
                    key(&r)
                })
                .collect();
            v.sort();
            v
        };
        let all = flows(&["--records", "flow"]);
        let half = flows(&["--records", "flow", "--flow-sample", "2"]);
        let half4 = flows(&["--records", "flow", "--flow-sample", "2", "--workers", "4"]);
        assert_eq!(half, half4, "{t}: 1 and 4 workers sample differently");
        for r in &half {
            assert!(
                all.contains(r),
                "{t}: a sampled flow differs from the full run: {r}"
            );
        }
        let share = half.len() as f64 / all.len() as f64;
        assert!(
            all.len() >= 10 && (0.25..=0.75).contains(&share),
            "{t}: {} of {} flows kept",
            half.len(),
            all.len()
        );
    }
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["replay", "--flow-sample", "0"])
        .arg(root.join("wikipedia.pcap"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--flow-sample must be 1 or more"), "{err}");
}
