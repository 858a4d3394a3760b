//! `wirelog bench report`: benchmark results as one HTML page with SVG
//! plots, no script and nothing fetched.
//!
//! From `bench memory` reports: Gbit/s and frames/s per core against the
//! number of workers, one line per input (profile or traces). From `bench
//! veth` reports: loss against offered load, one line per capture. Every
//! run is also listed in a table with the command's own figures.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::{bail, Result};
use serde_json::Value;

/// One line of a plot: its name and its points.
type Series = (String, Vec<(f64, f64)>);

const W: f64 = 900.0;
/// Width kept right of the plot for the legend.
const LEGEND: f64 = 250.0;
const H: f64 = 360.0;
const PAD: f64 = 56.0;
const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for about five ticks up to `max`.
fn step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * p)
}

fn num(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// How an axis is scaled.
#[derive(Clone, Copy)]
pub struct Axis<'a> {
    /// Its label.
    pub label: &'a str,
    /// Ticks at whole numbers only (counts such as workers).
    pub whole: bool,
    /// The axis reaches at least this far (a flat zero line stays readable).
    pub at_least: f64,
}

impl<'a> Axis<'a> {
    /// A continuous axis from zero to the data.
    fn of(label: &'a str, at_least: f64) -> Self {
        Axis {
            label,
            whole: false,
            at_least,
        }
    }
}

/// An SVG line plot of `series` from zero, with ticks and a legend.
pub fn plot(title: &str, xa: Axis, ya: Axis, series: &[Series]) -> String {
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let (mx, my) = pts.fold((xa.at_least, ya.at_least), |(a, b), &(x, y)| {
        (a.max(x), b.max(y))
    });
    let snap = |s: f64, whole: bool| if whole { s.max(1.0).round() } else { s };
    let (sx, sy) = (snap(step(mx), xa.whole), snap(step(my), ya.whole));
    let (xlabel, ylabel) = (xa.label, ya.label);
    let (xmax, ymax) = (
        (mx / sx).ceil().max(1.0) * sx,
        (my / sy).ceil().max(1.0) * sy,
    );
    let px = |x: f64| PAD + x / xmax * (W - LEGEND - 2.0 * PAD);
    let py = |y: f64| H - PAD - y / ymax * (H - 2.0 * PAD);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">{}</text>"#,
        (W - LEGEND) / 2.0,
        esc(title)
    );
    let mut t = 0.0;
    while t <= xmax + sx / 2.0 {
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
            py(0.0),
            py(ymax),
            H - PAD + 16.0,
            num(t),
            x = px(t)
        );
        t += sx;
    }
    let mut t = 0.0;
    while t <= ymax + sy / 2.0 {
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            px(0.0),
            px(xmax),
            PAD - 6.0,
            py(t) + 4.0,
            num(t),
            y = py(t)
        );
        t += sy;
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (W - LEGEND) / 2.0,
        H - 12.0,
        esc(xlabel)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>"#,
        H / 2.0,
        H / 2.0,
        esc(ylabel)
    );
    for (i, (name, p)) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let line: Vec<String> = p
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="series" fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
            line.join(" ")
        );
        for &(x, y) in p {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{c}"/>"#,
                px(x),
                py(y)
            );
        }
        let ly = PAD + 14.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{c}"/><text x="{}" y="{}">{}</text>"#,
            W - LEGEND,
            ly - 9.0,
            W - LEGEND + 14.0,
            ly,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Latency percentiles as points: x in nines (p50 at 0.3, p90 at 1, p99
/// at 2, p99.9 at 3), y in µs.
fn percentiles(l: &Value) -> Option<Vec<(f64, f64)>> {
    let at = |k: &str| l[k].as_f64();
    Some(vec![
        (0.301, at("p50_us")?),
        (1.0, at("p90_us")?),
        (2.0, at("p99_us")?),
        (3.0, at("p99_9_us")?),
    ])
}

/// What a memory run was fed, in a few words.
fn input_name(r: &Value) -> String {
    let i = &r["input"];
    if let Some(p) = i["profile"].as_str() {
        format!("{p} ({} flows)", i["flows"])
    } else {
        format!("{} traces x {} copies", i["traces"], i["copies"])
    }
}

/// The page for `reports` (each a `bench memory` or `bench veth` report).
pub fn html(reports: &[(String, Value)]) -> Result<String> {
    let mut per_core: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut fps: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut loss: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut latency: Vec<Series> = Vec::new();
    let mut rows = String::new();
    for (file, r) in reports {
        match r["mode"].as_str() {
            Some("memory") => {
                let w = r["workers"].as_f64().unwrap_or(1.0);
                let name = input_name(r);
                if let Some(p) = percentiles(&r["end_to_end"]["record_latency_us"]) {
                    latency.push((format!("{name}, {w} w."), p));
                }
                let pc = &r["per_core"];
                per_core
                    .entry(name.clone())
                    .or_default()
                    .push((w, pc["gbit_per_s"].as_f64().unwrap_or(0.0)));
                fps.entry(name.clone())
                    .or_default()
                    .push((w, pc["frames_per_s"].as_f64().unwrap_or(0.0)));
                let _ = write!(
                    rows,
                    "<tr><td>{}</td><td>memory</td><td>{}</td><td>{w}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(file),
                    esc(&name),
                    num(pc["frames_per_s"].as_f64().unwrap_or(0.0)),
                    pc["gbit_per_s"],
                    pc["ns_per_frame"],
                    r["end_to_end"]["records_delivered"],
                );
            }
            Some("veth") => {
                let cap = r["capture_args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                let name = if cap.is_empty() {
                    format!("{}, capture defaults", r["profile"].as_str().unwrap_or("?"))
                } else {
                    format!("{}, {cap}", r["profile"].as_str().unwrap_or("?"))
                };
                let mut pts = Vec::new();
                for t in r["trials"].as_array().into_iter().flatten() {
                    // Frames that never reached a worker, at any stage
                    // (older reports have no `processed`: received).
                    let st = &t["stages"];
                    let sent = st["sent"].as_f64().unwrap_or(0.0);
                    let done = st["processed"]
                        .as_f64()
                        .or(st["received"].as_f64())
                        .unwrap_or(0.0);
                    let lost = if sent > 0.0 {
                        (sent - done).max(0.0) / sent * 100.0
                    } else {
                        0.0
                    };
                    pts.push((t["sent_per_s"].as_f64().unwrap_or(0.0), lost));
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                loss.entry(name.clone()).or_default().extend(pts);
                let z = &r["zero_loss"];
                let _ = write!(
                    rows,
                    "<tr><td>{}</td><td>veth</td><td>{}</td><td></td><td>{} zero-loss{}</td><td>{}</td><td></td><td></td></tr>",
                    esc(file),
                    esc(&name),
                    num(z["frames_per_s"].as_f64().unwrap_or(0.0)),
                    if z["generator_bound"] == true { " (generator-bound)" } else { "" },
                    z["gbit_per_s"],
                );
            }
            _ => bail!("{file}: not a `wirelog bench memory` or `bench veth` report"),
        }
    }
    let series = |m: BTreeMap<String, Vec<(f64, f64)>>| -> Vec<Series> {
        m.into_iter()
            .map(|(k, mut v)| {
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
                (k, v)
            })
            .collect()
    };
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wirelog benchmarks</title>\
         <style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>\n<h1>wirelog benchmarks</h1>\n",
    );
    if !per_core.is_empty() {
        page.push_str("<h2>Memory mode: per worker core</h2>\n");
        let workers = Axis {
            label: "workers",
            whole: true,
            at_least: 1.0,
        };
        let y = |label| Axis {
            label,
            whole: false,
            at_least: 0.0,
        };
        page.push_str(&plot(
            "Gbit/s of frame bytes per core",
            workers,
            y("Gbit/s per core"),
            &series(per_core),
        ));
        page.push_str(&plot(
            "Frames/s per core",
            workers,
            y("frames/s per core"),
            &series(fps),
        ));
    }
    if !loss.is_empty() {
        page.push_str("\n<h2>veth mode: loss against offered load</h2>\n");
        let x = Axis::of("frames/s sent", 0.0);
        let y = Axis::of("% of frames lost (any stage)", 1.0);
        page.push_str(&plot("Loss against offered load", x, y, &series(loss)));
    }
    if !latency.is_empty() {
        page.push_str("\n<h2>Record latency (memory mode)</h2>\n");
        let x = Axis::of("nines: 0.3 = p50, 1 = p90, 2 = p99, 3 = p99.9", 3.0);
        let y = Axis::of("µs from packet to record out", 1.0);
        page.push_str(&plot("Record latency percentiles", x, y, &latency));
        page.push_str(
            "<p>Per output block: from its first record written to its delivery to the sinks, counted \
             for each of its records (an upper bound for all but the first).</p>\n",
        );
    }
    page.push_str(
        "\n<h2>Runs</h2>\n<table><tr><th>file</th><th>mode</th><th>input</th><th>workers</th>\
         <th>frames/s (per core)</th><th>Gbit/s</th><th>ns/frame</th><th>records delivered</th></tr>",
    );
    page.push_str(&rows);
    page.push_str("</table>\n</body></html>\n");
    Ok(page)
}
