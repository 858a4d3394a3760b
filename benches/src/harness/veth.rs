//! `wirelog bench veth` and `wirelog bench tx`: what a capture holds
//! before it drops, on a veth pair, RFC 2544 style.
//!
//! The harness makes two network namespaces joined by a veth pair: the
//! generator's end (`wlv<ID>g`) and the sensor's (`wlv<ID>p`, promiscuous,
//! IPv6 off so the kernel sends nothing of its own). Each trial starts
//! `wirelog capture` on the sensor's end, runs `wirelog bench tx` (a
//! generator profile through a PACKET_MMAP TX ring with qdisc bypass) in
//! the generator's namespace at the offered rate, then stops the capture
//! and reads every stage's count: sent, dropped by the link, dropped by
//! the interface, the kernel or XDP, the steering rings, received, records.
//! A rate is lossless when every trial at it has zero drops everywhere and
//! the capture received every frame sent; the zero-loss rate is found by
//! bisection between zero and the generator's own ceiling. Namespaces are
//! removed when the run ends, also on error.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::profile::{Generator, Profile, VERSION};
use crate::wire::{send_paced, Sender, TxRing, XskTx};
use anyhow::{bail, Context, Result};

use super::{r3, WIRE_OVERHEAD};

/// What a veth run needs.
pub struct Plan {
    /// Generator profile, flows and seed.
    pub profile: Profile,
    pub flows: u32,
    pub seed: u64,
    /// Seconds per trial.
    pub seconds: f64,
    /// Trials per rate; all must be lossless.
    pub trials: u32,
    /// Rates to run (frames/s); empty: search.
    pub rates: Vec<u64>,
    /// Bisection steps when searching.
    pub steps: u32,
    /// Arguments for `wirelog capture` (source, mode, workers, polling).
    pub capture: Vec<String>,
    /// How the generator sends.
    pub via: Via,
}

/// How `bench tx` puts frames on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A PACKET_MMAP TX ring with qdisc bypass.
    Ring,
    /// An AF_XDP socket's TX ring (copy mode on veth).
    Afxdp,
}

impl Via {
    /// Parses `ring` or `afxdp`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ring" => Ok(Via::Ring),
            "afxdp" | "af_xdp" | "xdp" => Ok(Via::Afxdp),
            other => bail!("--via must be `ring` or `afxdp`, not `{other}`"),
        }
    }

    /// The name `--via` takes.
    pub fn name(self) -> &'static str {
        match self {
            Via::Ring => "ring",
            Via::Afxdp => "afxdp",
        }
    }
}

/// The namespaces and veth pair of one run; removed on drop.
struct Bed {
    gen_ns: String,
    sen_ns: String,
    g_if: String,
    p_if: String,
}

fn stopped() -> bool {
    dataplane::sys::STOP.load(std::sync::atomic::Ordering::Relaxed)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn sh(args: &[&str]) -> Result<String> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("running {}", args[0]))?;
    if !o.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

impl Bed {
    fn up() -> Result<Self> {
        if !is_root() {
            bail!("bench veth makes network namespaces: run it as root");
        }
        let id = std::process::id();
        let (gen_ns, sen_ns) = (format!("wlv{id}-gen"), format!("wlv{id}-sen"));
        // Never take over (and then delete) namespaces this run did not make.
        let have = sh(&["ip", "netns", "list"])?;
        for ns in [&gen_ns, &sen_ns] {
            if have
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns.as_str()))
            {
                bail!("network namespace {ns} exists (left by a run that was killed?): `ip netns del {ns}`");
            }
        }
        let b = Bed {
            gen_ns,
            sen_ns,
            g_if: format!("wlv{id}g"),
            p_if: format!("wlv{id}p"),
        };
        let (g, s) = (b.gen_ns.as_str(), b.sen_ns.as_str());
        for ns in [g, s] {
            sh(&["ip", "netns", "add", ns])?;
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        }
        sh(&[
            "ip", "link", "add", &b.g_if, "netns", g, "type", "veth", "peer", "name", &b.p_if,
            "netns", s,
        ])?;
        for (ns, i) in [(g, &b.g_if), (s, &b.p_if)] {
            // Nothing of the kernel's own on the link: no IPv6 (router and
            // neighbour solicitations), real frame sizes.
            sh(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{i}.disable_ipv6=1"),
            ])?;
            sh(&["ip", "-n", ns, "link", "set", i, "up"])?;
            let _ = sh(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", i, "tso", "off", "gso", "off", "tx",
                "off",
            ]);
        }
        sh(&["ip", "-n", s, "link", "set", &b.p_if, "promisc", "on"])?;
        Ok(b)
    }

    fn down(&self) {
        for ns in [&self.gen_ns, &self.sen_ns] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }

    fn counter(&self, ns: &str, iface: &str, name: &str) -> Result<u64> {
        let v = sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "cat",
            &format!("/sys/class/net/{iface}/statistics/{name}"),
        ])?;
        v.trim().parse().context("interface counter")
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.down();
    }
}

/// A file removed when the trial ends, however it ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kills a child left running when a trial fails.
struct Reap(Option<Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One trial at one offered rate (0: as fast as the generator goes).
fn trial(plan: &Plan, bed: &Bed, exe: &PathBuf, rate: u64, n: u32) -> Result<serde_json::Value> {
    let err = TempFile(std::env::temp_dir().join(format!("wlv-{}-{n}.err", std::process::id())));
    let err_path = &err.0;
    let err_file = std::fs::File::create(err_path)?;
    // A capture that outlives this process still stops on its own.
    let failsafe = (plan.seconds + 60.0).to_string();
    let duration: &[&str] = if plan.capture.iter().any(|a| a.starts_with("--duration")) {
        &[]
    } else {
        &["--duration", &failsafe]
    };
    let mut cap = Command::new("ip");
    cap.args(["netns", "exec", &bed.sen_ns])
        .arg(exe)
        .args([
            "capture",
            "-i",
            &bed.p_if,
            "--records",
            "flow",
            "-o",
            "/dev/null",
        ])
        .args(duration)
        .args(&plan.capture)
        .stdout(Stdio::null())
        .stderr(err_file);
    let mut reap = Reap(Some(cap.spawn().context("starting wirelog capture")?));
    // The capture says when every lane runs.
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(err_path).unwrap_or_default();
        if text.contains("worker(s),") {
            break;
        }
        if stopped() {
            bail!("stopped by a signal");
        }
        if let Some(st) = reap.0.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            bail!(
                "wirelog capture ended ({st}) before it was ready: {}",
                text.trim()
            );
        }
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("wirelog capture not ready after 30 s: {}", text.trim());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let link0 = bed.counter(&bed.gen_ns, &bed.g_if, "tx_dropped")?;
    let tx = Command::new("ip")
        .args(["netns", "exec", &bed.gen_ns])
        .arg(exe)
        .args([
            "bench",
            "tx",
            "--via",
            plan.via.name(),
            "--iface",
            &bed.g_if,
            "--gen",
            plan.profile.name(),
        ])
        .args([
            "--flows",
            &plan.flows.to_string(),
            "--seed",
            &(plan.seed + u64::from(n)).to_string(),
        ])
        .args([
            "--rate",
            &rate.to_string(),
            "--seconds",
            &plan.seconds.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting wirelog bench tx")?;
    // Waited for in steps, so a signal ends the trial at once.
    let mut gen = Reap(Some(tx));
    loop {
        if stopped() {
            bail!("stopped by a signal");
        }
        if gen
            .0
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
            .is_some()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let tx = gen.0.take().expect("generator child").wait_with_output()?;
    if stopped() {
        bail!("stopped by a signal");
    }
    if !tx.status.success() {
        bail!("bench tx: {}", String::from_utf8_lossy(&tx.stderr).trim());
    }
    let sent: serde_json::Value = serde_json::from_slice(&tx.stdout).context("bench tx report")?;
    // Let the last frames land before the capture stops.
    std::thread::sleep(Duration::from_millis(500));
    let link = bed.counter(&bed.gen_ns, &bed.g_if, "tx_dropped")? - link0;
    let mut child = reap.0.take().expect("capture child");
    // SIGINT: the capture ends its flows and prints its summary.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let t0 = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("wirelog capture did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(err_path).unwrap_or_default();
    if !st.success() {
        bail!("wirelog capture failed ({st}): {}", text.trim());
    }
    let summary: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .filter(|v| v["type"] == "stats")
        })
        .context("no summary from wirelog capture")?;
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let n_sent = u(&sent["sent"]);
    let received = u(&summary["frames"]);
    let d = &summary["drops"];
    // `frames` counts what the sockets took; steering-ring drops happen
    // after that (a subset of it) and `output` counts records, not frames.
    let all_drops = u(&d["total"]);
    let (iface, rings, records_dropped) = (u(&d["interface"]), u(&d["rings"]), u(&d["output"]));
    let kernel = all_drops.saturating_sub(iface + rings + records_dropped);
    let unaccounted = n_sent as i64 - link as i64 - iface as i64 - kernel as i64 - received as i64;
    let lossless = link == 0 && all_drops == 0 && received == n_sent;
    let secs = sent["seconds"].as_f64().unwrap_or(plan.seconds).max(1e-9);
    let bytes = u(&sent["bytes"]);
    Ok(serde_json::json!({
        "offered_rate": rate,
        "sent": n_sent,
        "sent_per_s": (n_sent as f64 / secs).round(),
        "gbit_per_s": r3(bytes as f64 * 8.0 / secs / 1e9),
        "gbit_per_s_on_wire": r3((bytes + n_sent * WIRE_OVERHEAD) as f64 * 8.0 / secs / 1e9),
        "seconds": secs,
        "stages": {
            "sent": n_sent,
            "link_dropped": link,
            "interface_dropped": iface,
            "kernel_or_xdp_dropped": kernel,
            "received": received,
            "rings_dropped": rings,
            "processed": received.saturating_sub(rings),
            "unaccounted": unaccounted,
            "records": u(&summary["records"]),
            "records_dropped": records_dropped,
        },
        "drops": d,
        "record_latency_us": summary["record_latency_us"],
        "capture_peak_rss_bytes": summary["peak_rss_bytes"],
        "records_per_s": summary["records_per_s"],
        "lossless": lossless,
        "captures": summary["captures"],
        "workers": summary["workers"],
        "capture": summary["capture"],
    }))
}

/// Runs the plan: the trials at each rate, or the zero-loss search.
pub fn run(plan: &Plan) -> Result<serde_json::Value> {
    if plan
        .capture
        .iter()
        .any(|a| a == "-q" || a.starts_with("--quiet"))
    {
        bail!("bench veth reads the capture's summary: leave --quiet out of the capture options");
    }
    let exe = std::env::current_exe().context("locating the wirelog binary")?;
    // SIGINT/SIGTERM end the run between steps, so the namespaces are
    // removed (Drop) instead of left behind.
    dataplane::sys::stop_on_signals().context("signal handlers")?;
    let bed = Bed::up()?;
    let mut all = Vec::new();
    let mut n = 0;
    // Every trial at `rate` lossless: the rate achieved (the offered one,
    // or for 0, "flat out", the lowest any trial reached).
    let mut at = |rate: u64, all: &mut Vec<serde_json::Value>| -> Result<Option<u64>> {
        let mut achieved = u64::MAX;
        for _ in 0..plan.trials {
            if stopped() {
                bail!("stopped by a signal");
            }
            let t = trial(plan, &bed, &exe, rate, n)?;
            n += 1;
            eprintln!(
                "wirelog bench veth: offered {} fps: sent {}, received {}, lossless {}",
                if rate == 0 {
                    "max".to_string()
                } else {
                    rate.to_string()
                },
                t["sent"],
                t["stages"]["received"],
                t["lossless"]
            );
            let ok = t["lossless"] == true;
            achieved = achieved.min(t["sent_per_s"].as_f64().unwrap_or(0.0) as u64);
            all.push(t);
            if !ok {
                return Ok(None);
            }
        }
        Ok(Some(if rate == 0 { achieved } else { rate }))
    };
    // The zero-loss rate, and when there is none, the lowest lossy rate.
    let (mut zero_loss, mut upper) = (None::<u64>, None::<u64>);
    if plan.rates.is_empty() {
        // The generator's ceiling first, then bisection below it.
        match at(0, &mut all)? {
            Some(r) => zero_loss = Some(r),
            None => {
                let ceiling = all
                    .last()
                    .map_or(0, |t| t["sent_per_s"].as_f64().unwrap_or(0.0) as u64);
                let (mut lo, mut hi) = (0u64, ceiling);
                for _ in 0..plan.steps {
                    let mid = (lo + hi) / 2;
                    if mid == 0 || hi - lo <= hi / 100 {
                        break;
                    }
                    match at(mid, &mut all)? {
                        Some(_) => lo = mid,
                        None => hi = mid,
                    }
                }
                zero_loss = (lo > 0).then_some(lo);
                upper = Some(hi);
            }
        }
    } else {
        for &r in &plan.rates {
            match at(r, &mut all)? {
                Some(a) => zero_loss = Some(zero_loss.unwrap_or(0).max(a)),
                None => upper = Some(upper.map_or(r, |u: u64| u.min(r))),
            }
        }
    }
    let generator_bound = all
        .first()
        .is_some_and(|t| t["offered_rate"] == 0 && t["lossless"] == true);
    // Frame size of the profile as sent, for the rate in Gbit/s.
    let bits = all
        .iter()
        .find_map(|t| {
            let (g, f) = (t["gbit_per_s"].as_f64()?, t["sent_per_s"].as_f64()?);
            let w = t["gbit_per_s_on_wire"].as_f64()?;
            (f > 0.0).then(|| (g * 1e9 / f, w * 1e9 / f))
        })
        .unwrap_or((0.0, 0.0));
    let zero = zero_loss.map(|r| {
        serde_json::json!({
            "frames_per_s": r,
            "gbit_per_s": r3(r as f64 * bits.0 / 1e9),
            "gbit_per_s_on_wire": r3(r as f64 * bits.1 / 1e9),
            "generator_bound": generator_bound,
        })
    });
    Ok(serde_json::json!({
        "type": "bench",
        "mode": "veth",
        "profile": plan.profile.name(),
        "version": VERSION,
        "describe": plan.profile.describe(),
        "flows": plan.flows,
        "seconds_per_trial": plan.seconds,
        "trials_per_rate": plan.trials,
        "capture_args": plan.capture,
        "zero_loss_rate": zero_loss,
        "zero_loss": zero,
        "lossy_from": upper,
        "trials": all,
        "peak_rss_bytes": dataplane::sys::peak_rss_bytes(),
    }))
}

/// `wirelog bench tx`: a profile on an interface for `seconds` at `rate`
/// frames/s (0: as fast as the ring goes); prints what it sent as JSON.
pub fn tx(
    iface: &str,
    via: Via,
    profile: Profile,
    flows: u32,
    seed: u64,
    rate: u64,
    seconds: f64,
) -> Result<()> {
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        bail!("--seconds must be more than 0 and at most 86400, not {seconds}");
    }
    // Timestamps are not sent; the generator's own rate only spaces them.
    let mut g = Generator::new(profile, flows, 0, rate.max(1), seed);
    let mut frame = |f: &mut Vec<u8>| {
        g.next_frame(f);
    };
    let (sent, rejected) = match via {
        Via::Ring => {
            let mut ring =
                TxRing::open(iface, 4096).with_context(|| format!("{iface}: TX ring"))?;
            let s = send_paced(&mut ring, rate, seconds, &mut frame).context("send")?;
            (s, ring.rejected)
        }
        Via::Afxdp => {
            let mut x = XskTx::open(iface, 4096).with_context(|| format!("{iface}: AF_XDP TX"))?;
            let s = send_paced(&mut x, rate, seconds, &mut frame).context("send")?;
            (s, x.rejected())
        }
    };
    let (unsent, bytes, el) = (sent.unsent, sent.bytes, sent.seconds);
    let sent = sent.frames;
    println!(
        "{}",
        serde_json::json!({
            "sent": sent,
            "bytes": bytes,
            "seconds": (el * 1000.0).round() / 1000.0,
            "rejected": rejected,
            "via": via.name(),
            "unsent": unsent,
        })
    );
    Ok(())
}
