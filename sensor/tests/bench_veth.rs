//! `wirelog bench veth` in a smoke configuration (seconds, tiny rates):
//! every frame sent is accounted for at some stage, the records match the
//! flows offered, the search returns a rate, and nothing is left behind.
//! No test here asserts a speed.

mod common;

use std::process::Command;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn veth(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "veth"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON report")
}

fn namespaces_left() -> Vec<String> {
    let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("wlv"))
        .map(String::from)
        .collect()
}

fn root() -> bool {
    let o = Command::new("id").arg("-u").output().unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).trim() == "0",
        "bench veth needs root (namespaces, XDP): run scripts/test.sh as root"
    );
    true
}

/// Every stage adds up: sent = link + interface + kernel/XDP drops +
/// received, and what reached a worker is received less the rings' drops.
fn accounted(t: &serde_json::Value) {
    let s = &t["stages"];
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(s["unaccounted"], 0, "{t}");
    assert_eq!(
        n("sent"),
        n("link_dropped") + n("interface_dropped") + n("kernel_or_xdp_dropped") + n("received"),
        "{t}"
    );
    assert_eq!(n("processed"), n("received") - n("rings_dropped"), "{t}");
}

#[test]
fn trials_account_for_every_frame_on_each_capture() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(root());
    // The generator through its PACKET_MMAP ring, and through an AF_XDP
    // socket (`--via afxdp`).
    for (capture, via, args) in [
        ("afpacket", "ring", vec!["--source", "afpacket"]),
        (
            "afxdp",
            "ring",
            vec!["--source", "afxdp", "--xdp-mode", "skb"],
        ),
        (
            "afxdp",
            "afxdp",
            vec!["--source", "afxdp", "--xdp-mode", "skb"],
        ),
    ] {
        let mut a = vec![
            "--via",
            via,
            "--flows",
            "500",
            "--seconds",
            "1",
            "--trials",
            "1",
            "--rates",
            "2000,10000",
            "--",
        ];
        a.extend(args);
        let r = veth(&a);
        let trials = r["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 2, "{r}");
        for t in trials {
            accounted(t);
            assert_eq!(t["capture"], capture);
            // Tiny rates: nothing lost anywhere.
            assert_eq!(t["lossless"], true, "{t}");
            let sent = t["stages"]["sent"].as_u64().unwrap();
            let want = t["offered_rate"].as_u64().unwrap();
            assert!(sent >= want * 9 / 10 && sent <= want * 11 / 10, "{t}");
            // Every flow drawn is one record (500 flows, ≥ 2,000 frames:
            // nearly all of them drawn).
            let rec = t["stages"]["records"].as_u64().unwrap();
            assert!((450..=500).contains(&rec), "{t}");
            assert_eq!(t["record_latency_us"]["records"], rec, "{t}");
        }
        assert_eq!(r["zero_loss_rate"], 10000);
        assert_eq!(r["zero_loss"]["generator_bound"], false);
        assert!(r["lossy_from"].is_null(), "{r}");
        assert!(trials
            .iter()
            .all(|t| t["capture_peak_rss_bytes"].as_u64().unwrap() > 0));
    }
    assert!(namespaces_left().is_empty(), "{:?}", namespaces_left());
}

#[test]
fn search_finds_a_zero_loss_rate() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(root());
    let r = veth(&[
        "--seconds",
        "1",
        "--trials",
        "1",
        "--steps",
        "2",
        "--",
        "--source",
        "afpacket",
    ]);
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(
        trials[0]["offered_rate"], 0,
        "the generator's ceiling first"
    );
    for t in trials {
        accounted(t);
    }
    assert!(r["zero_loss_rate"].as_u64().unwrap() > 0, "{r}");
    assert!(
        r["zero_loss"]["frames_per_s"].as_f64().unwrap() > 0.0,
        "{r}"
    );
    assert!(namespaces_left().is_empty());

    // The report plots loss against offered load: a point per trial.
    let dir = std::env::temp_dir().join(format!("wl-vrep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("veth.json");
    std::fs::write(&f, r.to_string()).unwrap();
    let page = dir.join("r.html");
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "report", "-o"])
        .arg(&page)
        .arg(&f)
        .output()
        .unwrap();
    let h = std::fs::read_to_string(&page).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(h.matches("<svg").count(), 1);
    let pts = h
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(pts.split(' ').count(), trials.len(), "{h}");
    assert!(h.contains("--source afpacket"));
}

#[test]
fn bad_options_are_refused() {
    let run = |a: &[&str]| common::refused(["bench", "veth"].iter().chain(a));
    let err = run(&["--gen", "nosuch"]);
    assert!(err.contains("unknown profile"), "{err}");
    let err = run(&["--seconds", "0"]);
    assert!(err.contains("must be positive"), "{err}");
    let err = run(&["--", "--quiet"]);
    assert!(err.contains("leave --quiet out"), "{err}");
    // A capture that cannot start is reported, and cleaned up after.
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let err = run(&[
        "--seconds",
        "1",
        "--trials",
        "1",
        "--rates",
        "1000",
        "--",
        "--source",
        "nosuch",
    ]);
    assert!(err.contains("capture"), "{err}");
    assert!(namespaces_left().is_empty());
}

#[test]
fn a_signal_ends_the_run_and_removes_its_namespaces() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(root());
    // SIGTERM in the middle of a 30-second trial.
    let o = Command::new("timeout")
        .args(["-s", "TERM", "4"])
        .arg(env!("CARGO_BIN_EXE_wirelog"))
        .args([
            "bench",
            "veth",
            "--seconds",
            "30",
            "--trials",
            "1",
            "--rates",
            "1000",
            "--",
            "--source",
            "afpacket",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("stopped by a signal"), "{err}");
    assert!(namespaces_left().is_empty(), "{:?}", namespaces_left());
    // No capture of ours left running.
    let ps = Command::new("pgrep")
        .args(["-f", "capture -i wlv"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ps.stdout).trim().is_empty(),
        "capture still running"
    );
}
