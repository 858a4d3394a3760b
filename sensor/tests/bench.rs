//! `wirelog bench memory`: its accounting adds up, and the workers fed
//! from memory write exactly the records a replay of the same copies
//! written to a pcap file gives (no test here asserts a speed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use benches::mix::Traces;
use dataplane::capture::pcap::{write_header, write_record};
use dataplane::capture::LinkType;

fn traces() -> Vec<String> {
    let t = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/zeek/Traces");
    [
        "http/get.pcap",
        "http/get-gzip.pcap",
        "http/100-continue.pcap",
        "http/pipelined-requests.pcap",
        "dns53.pcap",
        "dns-edns-cookie.pcap",
        "dns/dns-binds.pcap",
    ]
    .iter()
    .map(|p| t.join(p).display().to_string())
    .filter(|p| Path::new(p).exists())
    .collect()
}

/// Records by type, each as its sorted JSON text.
fn by_type(lines: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON record");
        m.entry(v["type"].as_str().unwrap().to_string())
            .or_default()
            .push(l.to_string());
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn memory_mode_accounts_for_every_frame_and_matches_a_replay() {
    let paths = traces();
    assert!(paths.len() >= 5, "corpus traces missing: {paths:?}");
    let dir = TempDir(std::env::temp_dir().join(format!("wl-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let copies = 6u32;
    // The same copies as a pcap file, as corpus-mix writes them.
    let t = Traces::load(&paths).unwrap();
    let mut pcap = Vec::new();
    write_header(&mut pcap, LinkType::Ethernet, 65535);
    let mut g = Vec::new();
    for i in 0..t.len() {
        for k in 0..copies {
            g.clear();
            let (ts, wire) = t.copy_into(i, k, &mut g);
            write_record(&mut pcap, ts, &g, wire);
        }
    }
    let mix = dir.0.join("mix.pcap");
    std::fs::write(&mix, &pcap).unwrap();
    let replayed = dir.0.join("replay.json");
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["replay", "--quiet", "--no-pin", "-o"])
        .arg(&replayed)
        .arg(&mix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let benched = dir.0.join("bench.json");
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "memory", "--no-pin", "--workers", "2", "--copies"])
        .arg(copies.to_string())
        .arg("-o")
        .arg(&benched)
        .args(&paths)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON report");

    // Every frame of every copy went through a worker, once.
    let frames = t.len() as u64 * u64::from(copies);
    assert_eq!(r["frames"], frames);
    assert_eq!(r["frame_bytes"], t.bytes() * u64::from(copies));
    let w = r["per_worker"].as_array().unwrap();
    assert_eq!(w.len(), 2);
    let sum = |k: &str| w.iter().map(|x| x[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("frames"), frames);
    assert!(w.iter().all(|x| x["frames"].as_u64().unwrap() > 0), "{w:?}");
    // Every record written was shipped; none dropped.
    let e = &r["end_to_end"];
    assert_eq!(e["records"].as_u64(), Some(sum("records")));
    assert_eq!(e["records_delivered"], e["records"]);
    assert_eq!(sum("records_dropped"), 0);
    assert!(r["per_core"]["frames_per_s"].as_f64().unwrap() > 0.0);
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);

    // The same records as the replay, field for field.
    let ours = by_type(&std::fs::read_to_string(&benched).unwrap());
    let theirs = by_type(&std::fs::read_to_string(&replayed).unwrap());
    assert_eq!(
        e["records"].as_u64().unwrap() as usize,
        ours.values().map(Vec::len).sum::<usize>()
    );
    for ty in ["flow", "http", "dns"] {
        let (a, b) = (&ours[ty], &theirs[ty]);
        assert!(!a.is_empty(), "no {ty} records");
        assert_eq!(a.len(), b.len(), "{ty} records");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x, y);
        }
    }
    assert_eq!(
        r["app"]["http"].as_u64().unwrap() as usize,
        ours["http"].len()
    );
    assert_eq!(
        r["app"]["dns"].as_u64().unwrap() as usize,
        ours["dns"].len()
    );
}

#[test]
fn memory_mode_refuses_bad_input() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
            .args(["bench", "memory", "--no-pin"])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let p = traces();
    let (ok, err) = run(&["--copies", "0", &p[0]]);
    assert!(!ok && err.contains("copies must be 1..=256"), "{err}");
    let (ok, err) = run(&["/nonexistent.pcap"]);
    assert!(!ok && err.contains("/nonexistent.pcap"), "{err}");
}
