//! Outputs. GELF, decoded by decoders we did not write: graygelf's server
//! (npm) for UDP (zlib, gzip, plain, chunked), Graylog's go-gelf reader
//! (Debian) as a second opinion, a plain NUL split for TCP.
//! Each run also writes JSON lines to a file; every GELF message must carry
//! exactly the fields of its JSON line, flattened by the documented rule,
//! and every record must be accounted for (delivered or counted dropped).
//!
//! The capture is made here: 300 UDP request/response flows spread over
//! two seconds, replayed at the recorded pace with a 1 s UDP idle timeout,
//! so records leave while the replay runs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dataplane::capture::{pcap, LinkType};
use serde_json::{Map, Value};

const FLOWS: u32 = 300;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gelf")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("wl-gelf-{}-{name}", std::process::id()))
}

/// A pcap of `FLOWS` UDP exchanges over `secs` seconds, payloads of varied size.
fn make_pcap(path: &Path, secs: u64) {
    let mut f = Vec::new();
    pcap::write_header(&mut f, LinkType::Ethernet, 65535);
    let frame = |src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, n: usize| -> Vec<u8> {
        let mut p = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let ip_len = (20 + 8 + n) as u16;
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&ip_len.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sp.to_be_bytes());
        p.extend_from_slice(&dp.to_be_bytes());
        p.extend_from_slice(&((8 + n) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend(std::iter::repeat_n(b'x', n));
        p
    };
    let t0 = 1_700_000_000u64 * 1_000_000;
    for i in 0..FLOWS {
        let cli = [10, 1, (i >> 8) as u8, i as u8];
        let srv = [10, 2, 0, 1];
        let sp = 20_000 + i as u16;
        let dp = 5000 + (i % 7) as u16;
        let t = t0 + u64::from(i) * secs * 1_000_000 / u64::from(FLOWS);
        for (k, fr) in [
            frame(cli, srv, sp, dp, 10 + (i as usize % 50)),
            frame(srv, cli, dp, sp, 100 + (i as usize * 7 % 900)),
        ]
        .into_iter()
        .enumerate()
        {
            let ts_us = t + k as u64 * 300;
            pcap::write_record(&mut f, ts_us * 1000, &fr, fr.len() as u32);
        }
    }
    std::fs::write(path, f).unwrap();
}

/// Loopback UDP has no back-pressure: a record burst (every flow still
/// open at the end of the capture, chunked) overflows a receiver's default
/// socket buffer, as it would a real Graylog's without its larger one. The
/// receivers here get 16 MiB by default while a test runs (restored after;
/// needs root, as CI runs).
struct RcvBuf {
    old: String,
    _lock: std::sync::MutexGuard<'static, ()>,
}

static UDP_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl RcvBuf {
    fn raise() -> Self {
        let lock = UDP_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let path = "/proc/sys/net/core/rmem_default";
        let old = std::fs::read_to_string(path).unwrap();
        std::fs::write(path, (16 << 20).to_string())
            .expect("raising net.core.rmem_default needs root (CI runs as root)");
        RcvBuf { old, _lock: lock }
    }
}

impl Drop for RcvBuf {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/net/core/rmem_default", self.old.trim());
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A receiver process whose stdout lines are collected; killed on drop.
struct Receiver {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Receiver {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("receiver (scripts/setup.sh installs node, python3 and graygelf)");
        let out = child.stdout.take().unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        assert!(first.starts_with("listening"), "receiver: {first}");
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            if !rest.is_empty() {
                eprintln!("receiver stderr: {rest}");
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Receiver { child, lines: rx }
    }

    /// Messages received until `n` came or `wait` passed without any.
    fn collect(&self, n: usize, wait: Duration) -> Vec<Map<String, Value>> {
        let mut v = Vec::new();
        while v.len() < n {
            match self.lines.recv_timeout(wait) {
                Ok(l) => v.push(serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"))),
                Err(_) => break,
            }
        }
        v
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn udp_receiver(port: u16) -> Receiver {
    let d = dir();
    assert!(
        d.join("node_modules/graygelf").exists(),
        "graygelf is missing: scripts/setup.sh installs it (npm install --prefix sensor/tests/gelf)"
    );
    Receiver::start(
        Command::new("node")
            .arg(d.join("receive-udp.js"))
            .arg(port.to_string()),
    )
}

/// Graylog's go-gelf reader, built from Debian's package.
fn gogelf_receiver(port: u16) -> Receiver {
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join("receive-gogelf");
    if !bin.exists() {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
        let o = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(dir().join("receive-gogelf.go"))
            .env("GOPATH", "/usr/share/gocode")
            .env("GO111MODULE", "off")
            .env("GOCACHE", &cache)
            .output()
            .expect(
                "go (scripts/setup.sh installs golang-go and golang-github-graylog2-go-gelf-dev)",
            );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    Receiver::start(Command::new(&bin).arg(port.to_string()))
}

fn tcp_receiver(port: u16) -> Receiver {
    Receiver::start(
        Command::new("python3")
            .arg(dir().join("receive-tcp.py"))
            .arg(port.to_string()),
    )
}

/// Replays the test capture to `--out` specs plus a JSON lines file;
/// returns the file's records and the summary.
fn replay(pcap: &Path, outs: &[String], json: &Path) -> (Vec<Map<String, Value>>, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirelog"));
    cmd.args([
        "replay",
        "--no-pin",
        "--pace",
        "recorded",
        "--udp-idle-timeout",
        "1",
    ])
    .args(["--sensor-name", "gelf-test", "--out"])
    .arg(format!("file:{}", json.display()));
    for o in outs {
        cmd.args(["--out", o]);
    }
    let o = cmd.arg(pcap).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let summary: Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let recs = std::fs::read_to_string(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (recs, summary)
}

/// The documented rule, written again here from docs/schema.md.
fn expected_fields(rec: &Map<String, Value>) -> Map<String, Value> {
    fn go(out: &mut Map<String, Value>, k: String, v: &Value) {
        match v {
            Value::Null => {}
            Value::Bool(b) => {
                out.insert(k, b.to_string().into());
            }
            Value::Object(m) => {
                for (kk, vv) in m {
                    go(out, format!("{k}_{kk}"), vv);
                }
            }
            Value::Array(a) => {
                let s: Vec<String> = a
                    .iter()
                    .map(|e| e.as_str().map_or(e.to_string(), String::from))
                    .collect();
                out.insert(k, s.join(",").into());
            }
            other => {
                out.insert(k, other.clone());
            }
        }
    }
    let mut out = Map::new();
    for (k, v) in rec {
        let name = if k == "id" {
            "_id_".into()
        } else {
            format!("_{k}")
        };
        go(&mut out, name, v);
    }
    out
}

/// Every GELF message matches its JSON line field by field, and the
/// required GELF fields are set.
fn compare(json: &[Map<String, Value>], gelf: &[Map<String, Value>]) {
    let key = |m: &Map<String, Value>, p: &str| -> String {
        ["ts", "src_ip", "src_port", "dst_ip", "dst_port"]
            .iter()
            .map(|k| {
                m.get(&format!("{p}{k}"))
                    .map_or(String::new(), |v| v.to_string())
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let by_key: HashMap<String, &Map<String, Value>> =
        gelf.iter().map(|g| (key(g, "_"), g)).collect();
    assert_eq!(
        by_key.len(),
        gelf.len(),
        "two GELF messages share a flow key"
    );
    for r in json {
        let g = by_key
            .get(&key(r, ""))
            .unwrap_or_else(|| panic!("no GELF message for {r:?}"));
        let want = expected_fields(r);
        let have: Map<String, Value> = g
            .iter()
            .filter(|(k, _)| k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(have, want, "fields differ for {r:?}");
        assert_eq!(g["version"], "1.1");
        assert_eq!(g["host"], "gelf-test");
        let ts = dataplane_ts(r["ts"].as_str().unwrap());
        assert!(
            (g["timestamp"].as_f64().unwrap() - ts).abs() < 1e-6,
            "{g:?}"
        );
        assert!(g["short_message"]
            .as_str()
            .is_some_and(|s| s.starts_with("udp ")));
        assert!([5, 6].contains(&g["level"].as_u64().unwrap()));
    }
}

/// RFC 3339 with microseconds to seconds (independent of wirelog's parser).
fn dataplane_ts(s: &str) -> f64 {
    let o = Command::new("date")
        .args(["-u", "-d", s, "+%s.%6N"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

fn outputs<'a>(summary: &'a Value, prefix: &str) -> &'a Value {
    summary["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no output {prefix} in {summary}"))
}

#[test]
fn gelf_udp_zlib_gzip_plain_and_chunked_decoded_by_graygelf() {
    let _buf = RcvBuf::raise();
    let pcap = tmp("flows.pcap");
    make_pcap(&pcap, 2);
    for (i, params) in [
        "compression=zlib",
        "compression=gzip&level=9",
        "compression=none",
        // ~1 KB messages in 100-byte datagrams: ten or more chunks each.
        "compression=none&chunk_size=100",
        "compression=gzip&chunk_size=40",
        // Two encoder threads, each with its own socket and compressor.
        "compression=zlib&threads=2",
    ]
    .iter()
    .enumerate()
    {
        let port = free_udp_port();
        let rx = udp_receiver(port);
        let json = tmp(&format!("udp{i}.json"));
        let spec = format!("gelf-udp:127.0.0.1:{port}?{params}");
        let (recs, summary) = replay(&pcap, std::slice::from_ref(&spec), &json);
        assert_eq!(recs.len(), FLOWS as usize, "{summary}");
        let got = rx.collect(recs.len(), Duration::from_secs(3));
        let o = outputs(&summary, "gelf-udp");
        assert_eq!(o["records"], FLOWS, "{params}: {o}");
        assert_eq!(o["delivered"], FLOWS, "{params}: {o}");
        assert_eq!(
            got.len(),
            FLOWS as usize,
            "{params}: graygelf decoded {} of {FLOWS}",
            got.len()
        );
        compare(&recs, &got);
        let _ = std::fs::remove_file(&json);
        eprintln!(
            "gelf-udp {params}: {} messages match their JSON lines",
            got.len()
        );
    }
    let _ = std::fs::remove_file(&pcap);
}

/// A second opinion: go-gelf, whose reader takes datagrams of up to 1420
/// bytes (its own writer's chunk size).
#[test]
fn gelf_udp_decoded_by_go_gelf() {
    let _buf = RcvBuf::raise();
    let pcap = tmp("gogelf.pcap");
    make_pcap(&pcap, 2);
    for (i, params) in [
        "compression=zlib&chunk_size=1420",
        "compression=gzip&chunk_size=1420",
        "compression=none&chunk_size=400",
    ]
    .iter()
    .enumerate()
    {
        let port = free_udp_port();
        let rx = gogelf_receiver(port);
        let json = tmp(&format!("gogelf{i}.json"));
        let spec = format!("gelf-udp:127.0.0.1:{port}?{params}");
        let (recs, summary) = replay(&pcap, std::slice::from_ref(&spec), &json);
        let got = rx.collect(recs.len(), Duration::from_secs(3));
        let o = outputs(&summary, "gelf-udp");
        assert_eq!(o["delivered"], FLOWS, "{params}: {o}");
        assert_eq!(
            got.len(),
            FLOWS as usize,
            "{params}: go-gelf decoded {} of {FLOWS}",
            got.len()
        );
        compare(&recs, &got);
        let _ = std::fs::remove_file(&json);
        eprintln!(
            "go-gelf {params}: {} messages match their JSON lines",
            got.len()
        );
    }
    let _ = std::fs::remove_file(&pcap);
}

#[test]
fn gelf_udp_past_the_size_cap_is_counted_not_sent() {
    let _buf = RcvBuf::raise();
    let pcap = tmp("cap.pcap");
    make_pcap(&pcap, 2);
    let port = free_udp_port();
    let rx = udp_receiver(port);
    let json = tmp("cap.json");
    // 128 chunks of 2 payload bytes: 256 bytes, less than any flow record
    // even compressed.
    let spec = format!("gelf-udp:127.0.0.1:{port}?compression=zlib&chunk_size=14");
    let (recs, summary) = replay(&pcap, &[spec], &json);
    let o = outputs(&summary, "gelf-udp");
    assert_eq!(o["records"], recs.len() as u64, "{o}");
    assert_eq!(o["too_large"], recs.len() as u64, "{o}");
    assert_eq!(o["dropped"], recs.len() as u64, "{o}");
    assert_eq!(o["delivered"], 0, "{o}");
    assert!(rx.collect(1, Duration::from_millis(500)).is_empty());
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&pcap);
}

#[test]
fn gelf_tcp_null_delimited() {
    let pcap = tmp("tcp.pcap");
    make_pcap(&pcap, 2);
    let port = free_tcp_port();
    let rx = tcp_receiver(port);
    let json = tmp("tcp.json");
    let spec = format!("gelf-tcp:127.0.0.1:{port}");
    let (recs, summary) = replay(&pcap, &[spec], &json);
    let got = rx.collect(recs.len(), Duration::from_secs(3));
    let o = outputs(&summary, "gelf-tcp");
    assert_eq!(
        (o["records"].as_u64(), o["delivered"].as_u64()),
        (Some(300), Some(300)),
        "{o}"
    );
    assert_eq!(got.len(), recs.len());
    compare(&recs, &got);
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&pcap);
}

/// The receiver is away for the first four seconds of a six-second replay
/// (flows end from about 2.5 s on):
/// records wait in the buffer (16 KiB here, so most of them are dropped),
/// the sink reconnects when it comes back, and every record is delivered or
/// counted as dropped.
#[test]
fn gelf_tcp_receiver_away_then_back_accounts_every_record() {
    let pcap = tmp("away.pcap");
    make_pcap(&pcap, 6);
    let port = free_tcp_port();
    let json = tmp("away.json");
    let spec = format!("gelf-tcp:127.0.0.1:{port}?buffer=16K");
    let pcap2 = pcap.clone();
    let json2 = json.clone();
    let t0 = Instant::now();
    let run = std::thread::spawn(move || replay(&pcap2, &[spec], &json2));
    std::thread::sleep(Duration::from_millis(4000));
    let rx = tcp_receiver(port);
    let (recs, summary) = run.join().unwrap();
    assert!(
        t0.elapsed() > Duration::from_millis(5000),
        "the replay ended too early"
    );
    let got = rx.collect(recs.len(), Duration::from_secs(2));
    let o = outputs(&summary, "gelf-tcp");
    let (records, delivered, dropped) = (
        o["records"].as_u64().unwrap(),
        o["delivered"].as_u64().unwrap(),
        o["dropped"].as_u64().unwrap(),
    );
    assert_eq!(records, recs.len() as u64, "{o}");
    assert_eq!(records, delivered + dropped, "{o}");
    assert!(dropped > 0, "the buffer never filled: {o}");
    assert!(
        delivered > 0,
        "nothing delivered after the receiver came back: {o}"
    );
    assert_eq!(got.len() as u64, delivered, "{o}");
    eprintln!("gelf-tcp receiver away then back: {o}");
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&pcap);
}

/// A file output on a full filesystem (a 64 KiB tmpfs): records that do
/// not fit are counted, the run goes on and ends normally, and what was
/// written is whole lines.
#[test]
fn file_output_on_a_full_filesystem_counts_and_goes_on() {
    assert!(
        Command::new("id").arg("-u").output().unwrap().stdout == b"0\n",
        "this test mounts a tmpfs: run it as root (CI does)"
    );
    let pcap = tmp("full.pcap");
    make_pcap(&pcap, 2);
    let mnt = tmp("fullfs");
    std::fs::create_dir_all(&mnt).unwrap();
    struct Umount(PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs");
    let _u = Umount(mnt.clone());
    let full = mnt.join("flows.json");
    let json = tmp("full-ref.json");
    let spec = format!("file:{}", full.display());
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["replay", "--no-pin", "--out"])
        .arg(&spec)
        .arg("--out")
        .arg(format!("file:{}", json.display()))
        .arg(&pcap)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let summary: Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let st = outputs(&summary, &spec);
    let (records, delivered, dropped) = (
        st["records"].as_u64().unwrap(),
        st["delivered"].as_u64().unwrap(),
        st["dropped"].as_u64().unwrap(),
    );
    assert_eq!(records, u64::from(FLOWS), "{st}");
    assert_eq!(records, delivered + dropped, "{st}");
    assert!(
        dropped > 0 && st["errors"].as_u64() > Some(0),
        "the disk never filled: {st}"
    );
    assert!(delivered > 0, "what fitted was not kept: {st}");
    let written = std::fs::read_to_string(&full).unwrap();
    for l in written.lines() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("a torn line ({e}): {l}"));
    }
    assert_eq!(written.lines().count() as u64, delivered, "{st}");
    // The other output got everything.
    assert_eq!(
        std::fs::read_to_string(&json).unwrap().lines().count(),
        FLOWS as usize
    );
    eprintln!("file output on a full disk: {st}");
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&pcap);
}
