//! `wirelog bench memory`: its accounting adds up, and the workers fed
//! from memory write exactly the records a replay of the same copies
//! written to a pcap file gives (no test here asserts a speed).

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use benches::mix::Traces;
use common::{refused, TempDir};
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

#[test]
fn memory_mode_accounts_for_every_frame_and_matches_a_replay() {
    let paths = traces();
    assert!(paths.len() >= 5, "corpus traces missing: {paths:?}");
    let dir = TempDir::new("wl-bench");
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
    let run = |args: &[&str]| refused(["bench", "memory", "--no-pin"].iter().chain(args));
    let p = traces();
    let err = run(&["--copies", "0", &p[0]]);
    assert!(err.contains("copies must be 1..=256"), "{err}");
    let err = run(&["/nonexistent.pcap"]);
    assert!(err.contains("/nonexistent.pcap"), "{err}");
}

/// Runs `wirelog bench memory` with `args`; its report.
fn bench(args: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "memory", "--no-pin"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON report")
}

#[test]
fn generator_profiles_account_for_what_they_sent() {
    // Enterprise: every HTTP request and DNS query the generator sent is a
    // record; those without their answer at the end say so.
    let r = bench(&[
        "--gen",
        "enterprise",
        "--flows",
        "400",
        "--packets",
        "60000",
        "--workers",
        "2",
        "--memory",
        "256M",
    ]);
    let g = &r["input"]["generated"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    // Byte shares per protocol add up to the whole.
    let shares: f64 = g["byte_shares_percent"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((shares - 100.0).abs() < 0.5, "{g}");
    for k in ["http", "dns", "tls", "redis", "mysql", "pgsql"] {
        assert!(
            g["byte_shares_percent"][k].as_f64().unwrap() > 0.0,
            "{k}: {g}"
        );
    }
    for w in r["per_worker"].as_array().unwrap() {
        assert_eq!(w["busy_fraction"], 1.0, "{w}");
        assert!(w["records_per_s"].as_f64().unwrap() > 0.0, "{w}");
    }
    assert_eq!(n(&r["frames"]), 60_000);
    assert_eq!(n(&g["frames"]), 60_000);
    assert_eq!(r["frame_bytes"], g["bytes"]);
    assert_eq!(r["flows_created"], g["flows"]);
    assert_eq!(n(&r["flows_evicted"]), 0);
    let app = &r["app"];
    assert!(
        n(&g["http_requests"]) > 1000 && n(&g["dns_queries"]) > 300,
        "{g}"
    );
    assert_eq!(app["http"], g["http_requests"], "{app}");
    assert_eq!(app["dns"], g["dns_queries"], "{app}");
    assert_eq!(
        n(&app["dns_unanswered"]),
        n(&g["dns_queries"]) - n(&g["dns_answers"])
    );
    assert!(n(&app["http_unanswered"]) <= n(&g["http_requests"]) - n(&g["http_responses"]));
    assert_eq!(
        n(&app["sessions_full"]) + n(&app["txn_buffers_full"]),
        0,
        "{app}"
    );
    let e = &r["end_to_end"];
    // Every Redis GET the generator answered is a record too (and those
    // it had not answered when the run stopped, unanswered).
    assert_eq!(
        n(&app["redis"]) - n(&app["redis_unanswered"]),
        n(&g["redis_replies"]),
        "{app}"
    );
    assert_eq!(
        n(&e["records"]),
        n(&r["flows_created"]) + n(&app["records"])
    );
    assert_eq!(e["records_delivered"], e["records"]);
    // Every record's latency was measured; percentiles in order.
    let l = &e["record_latency_us"];
    assert_eq!(l["records"], e["records"], "{l}");
    let p: Vec<u64> = ["p50_us", "p90_us", "p99_us", "p99_9_us", "max_us"]
        .iter()
        .map(|k| n(&l[k]))
        .collect();
    assert!(p.windows(2).all(|w| w[0] <= w[1]) && p[0] >= 1, "{l}");

    // Random flows: all N drawn, none twice created.
    let r = bench(&["--gen", "tcp64", "--flows", "1000", "--packets", "50000"]);
    assert_eq!(n(&r["flows_created"]), 1000);
    assert_eq!(n(&r["input"]["generated"]["bytes"]), 50_000 * 60);
    // Duration instead of a frame count: seconds of packet time at the rate.
    let r = bench(&[
        "--gen",
        "tcp64",
        "--flows",
        "100",
        "--seconds",
        "0.01",
        "--rate",
        "500000",
    ]);
    assert_eq!(n(&r["frames"]), 5_000);
    // A SYN flood: a flow per frame, the table sheds and counts.
    let r = bench(&["--gen", "synflood", "--packets", "20000", "--memory", "64M"]);
    assert_eq!(n(&r["flows_created"]), 20_000);
    assert_eq!(n(&r["end_to_end"]["records_delivered"]), 20_000);
    // Churn: every connection ends in the run or at its end, once.
    let r = bench(&["--gen", "churn", "--flows", "100", "--packets", "8000"]);
    assert_eq!(r["flows_created"], r["input"]["generated"]["flows"]);
    assert_eq!(r["end_to_end"]["records"], r["flows_created"]);

    let err = refused(["bench", "memory", "--gen", "nosuch"]);
    assert!(
        err.contains("known: tcp64, imix, synflood, churn, enterprise"),
        "{err}"
    );
}

#[test]
fn compare_sets_a_run_against_an_earlier_report() {
    let dir = TempDir::new("wl-cmp");
    let args = ["--gen", "imix", "--flows", "500", "--packets", "20000"];
    let old = bench(&args);
    let f = dir.0.join("old.json");
    std::fs::write(&f, old.to_string()).unwrap();
    let mut with = args.to_vec();
    with.extend(["--compare", f.to_str().unwrap()]);
    let new = bench(&with);
    let c = &new["compare"];
    assert_eq!(c["same_input"], true, "{c}");
    let ratio = new["per_core"]["frames_per_s"].as_f64().unwrap()
        / old["per_core"]["frames_per_s"].as_f64().unwrap();
    let got = c["ratios"]["per_core.frames_per_s"].as_f64().unwrap();
    assert!((got - ratio).abs() < 0.001, "{got} vs {ratio}");
    // Another input is flagged, not refused; a file that is no report is.
    let other = bench(&[
        "--gen",
        "tcp64",
        "--flows",
        "10",
        "--packets",
        "1000",
        "--compare",
        f.to_str().unwrap(),
    ]);
    assert_eq!(other["compare"]["same_input"], false);
    std::fs::write(&f, "{}").unwrap();
    let err = refused([
        "bench",
        "memory",
        "--gen",
        "tcp64",
        "--packets",
        "10",
        "--compare",
        f.to_str().unwrap(),
    ]);
    assert!(err.contains("not a bench report"), "{err}");
}

#[test]
fn report_plots_per_core_figures_against_workers() {
    let dir = TempDir::new("wl-rep");
    let mut files = Vec::new();
    for (gen, w) in [("imix", "1"), ("imix", "2"), ("churn", "1")] {
        let r = bench(&[
            "--gen",
            gen,
            "--flows",
            "200",
            "--packets",
            "5000",
            "--workers",
            w,
        ]);
        let f = dir.0.join(format!("{gen}-{w}.json"));
        std::fs::write(&f, r.to_string()).unwrap();
        files.push(f);
    }
    let page = dir.0.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "report", "-o"])
        .arg(&page)
        .args(&files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = std::fs::read_to_string(&page).unwrap();
    // Two plots (Gbit/s and frames/s per core), each a line per input
    // (imix at 1 and 2 workers, churn at 1), and the latency percentiles,
    // a line of four points per run.
    assert_eq!(h.matches("<svg").count(), 3);
    assert_eq!(h.matches("</svg>").count(), 3);
    let lines: Vec<&str> = h
        .split(r#"class="series""#)
        .skip(1)
        .map(|s| {
            s.split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 7, "{h}");
    let mut points: Vec<usize> = lines.iter().map(|l| l.split(' ').count()).collect();
    points.sort();
    assert_eq!(points, [1, 1, 2, 2, 4, 4, 4]);
    assert!(h.contains("imix (200 flows)") && h.contains("churn (200 flows)"));
    assert_eq!(h.matches("<tr><td>").count(), 3, "a table row per run");

    // Anything else is refused, naming the file.
    let bad = dir.0.join("bad.json");
    std::fs::write(&bad, r#"{"type":"flow"}"#).unwrap();
    let err = refused([
        OsStr::new("bench"),
        OsStr::new("report"),
        OsStr::new("-o"),
        page.as_os_str(),
        bad.as_os_str(),
    ]);
    assert!(err.contains("bad.json") && err.contains("not a"), "{err}");
}

#[test]
fn generated_conversations_are_what_wireshark_reads() {
    let dir = TempDir::new("wl-gen");
    let f = dir.0.join("enterprise.pcap");
    let report = common::bench_pcap(
        &f,
        &["--gen", "enterprise", "--flows", "60", "--packets", "30000"],
    );
    let g: serde_json::Value = serde_json::from_slice(&report).unwrap();
    let n = |k: &str| g[k].as_u64().unwrap();
    // tshark, a decoder we did not write, counts what it recognises.
    let count = |filter: &str| -> u64 {
        let o = Command::new("tshark")
            .arg("-r")
            .arg(&f)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .expect("tshark (scripts/setup.sh installs it)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().count() as u64
    };
    assert_eq!(count("frame"), 30_000);
    assert_eq!(
        count("_ws.malformed || _ws.expert.severity == \"Error\""),
        0
    );
    assert_eq!(count("http.request"), n("http_requests"));
    assert_eq!(count("http.response"), n("http_responses"));
    assert_eq!(count("dns.flags.response == 0"), n("dns_queries"));
    assert_eq!(count("dns.flags.response == 1"), n("dns_answers"));
    // The server's ChangeCipherSpec completes each TLS handshake.
    assert_eq!(
        count("tls.record.content_type == 20 && tcp.srcport == 443"),
        n("tls_handshakes")
    );
    assert_eq!(count("resp && tcp.srcport == 6379"), n("redis_replies"));
    assert_eq!(count("pgsql.type == \"Data row\""), n("pgsql_results"));
    assert_eq!(count("mysql.num_fields == 2"), n("mysql_results"));
    for k in [
        "tls_handshakes",
        "redis_replies",
        "mysql_results",
        "pgsql_results",
        "http_responses",
        "dns_answers",
    ] {
        assert!(n(k) > 0, "{k}: {g}");
    }
}
