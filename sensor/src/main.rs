//! wirelog: a passive network sensor.
//!
//! This crate owns the edges: the command line, configuration, the output
//! thread and the run summary. The hot path lives in `dataplane`.
#![deny(unsafe_code)]

mod commands;
mod config;
mod cores;
mod cpu;
mod outputs;
mod setup;
mod stats;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dataplane::decode::DecodeConfig;
use dataplane::filter::Filter;
use dataplane::worker::WorkerConfig;

use commands::{bench, capture as live, replay};
use config::{
    parse_proto, parse_size, Options, Pace, Poll, Rss, Source, XdpBind, XdpFiltered, XdpMode,
    XdpTake,
};

/// wirelog turns mirrored traffic into flow records (JSON lines).
#[derive(Parser)]
#[command(name = "wirelog", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replays a pcap/pcapng file (optionally .gz) and prints one JSON
    /// record per flow: `wirelog replay trace.pcap | jq`.
    Replay {
        /// Capture file.
        file: PathBuf,
        /// TOML config whose keys are the long option names with `_`.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        #[command(flatten)]
        opts: Box<Options>,
    },
    /// Captures live on an interface (a mirror port) with AF_XDP or
    /// AF_PACKET until SIGINT/SIGTERM or --duration, then ends every flow:
    /// `wirelog capture -i eth1 | jq`.
    Capture {
        /// TOML config whose keys are the long option names with `_`.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        #[command(flatten)]
        opts: Box<Options>,
    },
    /// Measures the dataplane: `wirelog bench memory TRACE... | jq`.
    Bench {
        #[command(subcommand)]
        mode: BenchMode,
    },
    /// Prints the core-pinning profile wirelog would use on this machine.
    Profile {
        /// A profile file to check instead of the default.
        file: Option<PathBuf>,
    },
    /// Checks and tunes the machine and the capture interface for a
    /// mirror-port sensor: `wirelog tune check -i eth1`.
    Tune {
        #[command(subcommand)]
        mode: TuneMode,
    },
}

#[derive(Subcommand)]
enum TuneMode {
    /// CPUs, cores, NUMA nodes, isolation, governors, huge pages, and the
    /// interface: driver, queues, RSS, hash fields, offloads, rings,
    /// coalescing, pause, IRQs, XDP support.
    Show {
        #[command(flatten)]
        sub: commands::tune::Subject,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Every setting that costs packets or splits flows, with why and the
    /// fix. Exit status: 0 nothing wrong, 1 something wrong, 2 could not check.
    Check {
        #[command(flatten)]
        sub: commands::tune::Subject,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Makes the changes `tune check` names (ethtool netlink and ioctls,
    /// sysfs, procfs), saving the old values first; `--revert FILE` puts
    /// them back.
    Apply {
        #[command(flatten)]
        sub: commands::tune::Subject,
        /// Print the changes without making them.
        #[arg(long)]
        dry_run: bool,
        /// Where the old values go [default: /var/lib/wirelog/tune-IFACE-TIME.json].
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// Put back the values a `tune apply` saved in FILE.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "save"])]
        revert: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Writes a profile for this machine: workers NUMA-local to the
    /// interface, no two on hyperthread siblings, the control core apart.
    Generate {
        #[command(flatten)]
        sub: commands::tune::Subject,
        /// Workers (and queues).
        #[arg(long, short = 'w')]
        workers: usize,
        /// Where the profile goes [default: stdout].
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// The generator of the modes that put frames on a wire.
#[derive(clap::Args)]
struct WireGen {
    /// Generator profile: tcp64, imix, synflood, churn, enterprise.
    #[arg(long = "gen", value_name = "PROFILE", default_value = "tcp64")]
    generator: String,
    /// Flows of the profile (1 to 16,777,216: churn and enterprise hold a
    /// conversation per flow).
    #[arg(long, default_value_t = 10_000, value_parser = flows_arg())]
    flows: u32,
    /// The profile's seed (veth: trial i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum BenchMode {
    /// One HTML page with SVG plots from `bench memory` and `bench veth`
    /// reports: per-core throughput against workers, loss against offered
    /// load, and a table of every run.
    Report {
        /// Report files (one JSON object each, as the bench commands print).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where the page goes.
        #[arg(long, short = 'o', default_value = "wirelog-bench.html")]
        output: PathBuf,
    },
    /// The zero-loss rate of `wirelog capture` on a veth pair, RFC 2544
    /// style: a generator profile offered at stepped rates from a second
    /// namespace, trials of --seconds, loss counted at every stage. Needs
    /// root; the namespaces it makes are removed at the end. Arguments
    /// after `--` go to `wirelog capture` (e.g. `-- --source afpacket`).
    Veth {
        #[command(flatten)]
        wire: WireGen,
        /// Seconds per trial.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Trials per rate; a rate is lossless when all of them are.
        #[arg(long, default_value_t = 3)]
        trials: u32,
        /// Offered rates to run, frames/s, comma-separated; without them the
        /// zero-loss rate is searched below the generator's ceiling.
        #[arg(long, value_delimiter = ',')]
        rates: Vec<u64>,
        /// Bisection steps of the search.
        #[arg(long, default_value_t = 8)]
        steps: u32,
        /// An earlier `bench veth` report: ratios of the zero-loss rate.
        #[arg(long, value_name = "OLD.json")]
        compare: Option<PathBuf>,
        /// How the generator sends: `ring` (PACKET_MMAP TX ring) or `afxdp`
        /// (an AF_XDP socket's TX ring, past the ring's ~0.45 M frames/s here).
        #[arg(long, default_value = "ring")]
        via: String,
        /// `wirelog capture` options.
        #[arg(last = true)]
        capture: Vec<String>,
    },
    /// Writes a generator profile's frames to a pcap file.
    Pcap {
        #[command(flatten)]
        wire: WireGen,
        /// Frames.
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Frames per second of packet time.
        #[arg(long, default_value_t = 10_000_000)]
        rate: u64,
        /// Wrap every frame in a tunnel from 192.0.2.1 to 192.0.2.2: none,
        /// vxlan, vxlan-gpe (the IP packet), gtpu (the IP packet, TEID the
        /// inner source address).
        #[arg(long, default_value = "none")]
        encap: String,
        /// The file.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Puts a generator profile on an interface through a PACKET_MMAP TX
    /// ring with qdisc bypass, or an AF_XDP socket; prints what it sent as
    /// JSON.
    Tx {
        /// Interface.
        #[arg(long)]
        iface: String,
        /// `ring` (PACKET_MMAP TX ring) or `afxdp` (an AF_XDP socket on queue 0).
        #[arg(long, default_value = "ring")]
        via: String,
        #[command(flatten)]
        wire: WireGen,
        /// Frames/s, 0 for as fast as the ring goes.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Frames straight into the pinned workers from memory: copies of the
    /// traces' Ethernet/IPv4 frames (addresses rewritten per copy, as
    /// `corpus-mix` writes them) or a generator profile (--gen). Reports
    /// packets/s and Gbit/s per worker core, with every record written and
    /// shipped to the outputs (default: none kept, `-o /dev/null`), as one
    /// JSON object.
    Memory {
        /// Capture files (pcap/pcapng) whose frames are copied; none with
        /// --gen.
        traces: Vec<PathBuf>,
        /// Copies of every trace frame, 1-256, spread over the workers.
        #[arg(long, default_value_t = 256)]
        copies: u32,
        /// A generator profile instead of traces: tcp64, imix, synflood,
        /// churn, enterprise (see docs/benchmarks.md).
        #[arg(long = "gen", value_name = "PROFILE")]
        generator: Option<String>,
        /// Flows, or conversations open at once, of the profile (split over
        /// the workers; 1 to 16,777,216).
        #[arg(long, default_value_t = 1_000_000, value_parser = flows_arg())]
        flows: u32,
        /// Frames the profile makes in all.
        #[arg(long, default_value_t = 20_000_000, conflicts_with = "seconds")]
        packets: u64,
        /// Or: seconds of packet time at --rate (frames = seconds x rate).
        #[arg(long)]
        seconds: Option<f64>,
        /// Frames per second of packet time the profile's timestamps follow.
        #[arg(long, default_value_t = 10_000_000)]
        rate: u64,
        /// The profile's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// An earlier report (this command's JSON output): ratios of this
        /// run's figures to its figures are added and printed on stderr.
        #[arg(long, value_name = "OLD.json")]
        compare: Option<PathBuf>,
        /// TOML config whose keys are the long option names with `_`.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        #[command(flatten)]
        opts: Box<Options>,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("wirelog: error: {}", one_line(&e));
        std::process::exit(2);
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn run() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // A word option's value refused: its parser's one-line message,
        // which names the option (clap's own messages name it too).
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            match std::error::Error::source(&e).map(|w| w.to_string()) {
                Some(why) if why.starts_with("--") => bail!("{why}"),
                _ => e.exit(),
            }
        }
        Err(e) => e.exit(),
    };
    match cli.cmd {
        Cmd::Profile { file } => {
            let p = match file {
                Some(f) => tuning::Profile::load(&f)?,
                None => tuning::Profile::from_machine(),
            };
            print!("{}", p.to_toml());
            Ok(())
        }
        Cmd::Tune { mode } => {
            use commands::tune;
            let ok = match mode {
                TuneMode::Show { sub, json } => tune::show(&sub, json).map(|()| true)?,
                TuneMode::Check { sub, json } => tune::check(&sub, json)?,
                TuneMode::Apply {
                    sub,
                    revert: Some(f),
                    json,
                    ..
                } => tune::revert_cmd(&sub, &f, json)?,
                TuneMode::Apply {
                    sub,
                    dry_run,
                    save,
                    json,
                    revert: None,
                } => tune::apply_cmd(&sub, dry_run, save, json)?,
                TuneMode::Generate {
                    sub,
                    workers,
                    output,
                } => tune::generate(&sub, workers, output.as_deref()).map(|()| true)?,
            };
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Replay { file, config, opts } => replay_cmd(file, merged(config, *opts)?),
        Cmd::Capture { config, opts } => capture_cmd(merged(config, *opts)?),
        Cmd::Bench {
            mode:
                BenchMode::Memory {
                    traces,
                    copies,
                    generator,
                    flows,
                    packets,
                    seconds,
                    rate,
                    seed,
                    compare,
                    config,
                    opts,
                },
        } => {
            let input = match generator {
                Some(name) => {
                    if !traces.is_empty() {
                        bail!("--gen and trace files exclude each other");
                    }
                    let profile = profile_named(&name)?;
                    let packets = match seconds {
                        Some(s) if s.is_finite() && s > 0.0 => (s * rate as f64).round() as u64,
                        Some(s) => bail!("--seconds must be a positive number, not {s}"),
                        None => packets,
                    };
                    if flows == 0 || packets == 0 || rate == 0 {
                        bail!("--flows, --packets and --rate must be positive");
                    }
                    bench::Input::Profile(bench::Gen {
                        profile,
                        flows,
                        packets,
                        rate,
                        seed,
                    })
                }
                None => {
                    if traces.is_empty() {
                        bail!("bench memory needs trace files or --gen PROFILE");
                    }
                    if copies == 0 || copies > 256 {
                        bail!("--copies must be 1..=256 (the copy number is one address octet), not {copies}");
                    }
                    let paths: Vec<String> =
                        traces.iter().map(|p| p.display().to_string()).collect();
                    bench::Input::Traces {
                        traces: benches::mix::Traces::load(&paths)?,
                        files: paths.len(),
                        copies,
                    }
                }
            };
            let old = compare.as_deref().map(earlier_report).transpose()?;
            bench_memory_cmd(input, old, merged(config, *opts)?)
        }
        Cmd::Bench {
            mode:
                BenchMode::Pcap {
                    wire,
                    packets,
                    rate,
                    encap,
                    output,
                },
        } => {
            let profile = profile_named(&wire.generator)?;
            let Some(encap) = benches::encap::Encap::by_name(&encap) else {
                let names: Vec<_> = benches::encap::Encap::ALL.iter().map(|(n, _)| *n).collect();
                bail!("--encap {encap}: not one of {}", names.join(", "));
            };
            let mut g =
                benches::profile::Generator::new(profile, wire.flows, 0, rate.max(1), wire.seed);
            let file =
                std::fs::File::create(&output).with_context(|| output.display().to_string())?;
            let mut w = std::io::BufWriter::new(file);
            let (mut rec, mut frame, mut wrapped) = (
                Vec::with_capacity(2048),
                Vec::with_capacity(2048),
                Vec::with_capacity(2048),
            );
            dataplane::capture::pcap::write_header(
                &mut rec,
                dataplane::capture::LinkType::Ethernet,
                65535,
            );
            for _ in 0..packets {
                frame.clear();
                wrapped.clear();
                let ts = g.next_frame(&mut frame);
                benches::encap::encapsulate(encap, &frame, &mut wrapped);
                dataplane::capture::pcap::write_record(
                    &mut rec,
                    ts,
                    &wrapped,
                    wrapped.len() as u32,
                );
                if rec.len() >= 1 << 16 {
                    std::io::Write::write_all(&mut w, &rec)
                        .with_context(|| output.display().to_string())?;
                    rec.clear();
                }
            }
            std::io::Write::write_all(&mut w, &rec)
                .with_context(|| output.display().to_string())?;
            std::io::Write::flush(&mut w).with_context(|| output.display().to_string())?;
            let mut report = bench::generated_json(&g.made);
            report["profile"] = profile.name().into();
            report["version"] = benches::profile::VERSION.into();
            println!("{report}");
            Ok(())
        }
        Cmd::Bench {
            mode: BenchMode::Report { files, output },
        } => {
            let mut reports = Vec::new();
            for f in &files {
                reports.push((f.display().to_string(), read_report(f)?));
            }
            let page = bench::report::html(&reports)?;
            std::fs::write(&output, page).with_context(|| output.display().to_string())?;
            eprintln!("wirelog: wrote {}", output.display());
            Ok(())
        }
        Cmd::Bench {
            mode:
                BenchMode::Veth {
                    wire,
                    seconds,
                    trials,
                    rates,
                    steps,
                    compare,
                    via,
                    capture,
                },
        } => {
            let old = compare.as_deref().map(earlier_report).transpose()?;
            if !seconds.is_finite() || seconds <= 0.0 || trials == 0 || wire.flows == 0 {
                bail!("--seconds, --trials and --flows must be positive");
            }
            let plan = bench::veth::Plan {
                profile: profile_named(&wire.generator)?,
                flows: wire.flows,
                seed: wire.seed,
                seconds,
                trials,
                rates,
                steps,
                capture,
                via: bench::veth::Via::parse(&via)?,
            };
            println!("{}", with_comparison(bench::veth::run(&plan)?, old));
            Ok(())
        }
        Cmd::Bench {
            mode:
                BenchMode::Tx {
                    iface,
                    via,
                    wire,
                    rate,
                    seconds,
                },
        } => bench::veth::tx(
            &iface,
            bench::veth::Via::parse(&via)?,
            profile_named(&wire.generator)?,
            wire.flows,
            wire.seed,
            rate,
            seconds,
        ),
    }
}

fn merged(config: Option<PathBuf>, opts: Options) -> Result<Options> {
    Ok(match config {
        Some(c) => Options::from_file(&c)?.overlay(&opts)?,
        None => opts,
    })
}

/// What replay and capture resolve alike from the options.
struct Common {
    sensor: String,
    setup: setup::Setup,
    sinks: Vec<outputs::Output>,
}

/// The profile `--profile` names, the machine's default, or none
/// (`--no-pin`).
fn load_profile(o: &Options) -> Result<Option<tuning::Profile>> {
    if o.no_pin.unwrap_or(false) {
        return Ok(None);
    }
    Ok(Some(match &o.profile {
        Some(p) => tuning::Profile::load(p)?,
        None => tuning::Profile::from_machine(),
    }))
}

fn common(o: &Options, workers: usize, profile: Option<tuning::Profile>) -> Result<Common> {
    if workers == 0 || workers > 256 {
        bail!("--workers must be between 1 and 256, not {workers}");
    }
    // An option beats the profile, which beats the default.
    let from_profile =
        |f: fn(&tuning::Profile) -> &Option<String>| profile.as_ref().and_then(|p| f(p).clone());
    let memory_opt = o.memory.clone().or_else(|| from_profile(|p| &p.memory));
    let memory = parse_size("memory", memory_opt.as_deref().unwrap_or("128M"))?;
    let all = o.records.is_empty();
    let mut emit_flows = all;
    let mut on = [all; dataplane::app::PROTOCOLS.len()];
    for r in &o.records {
        match dataplane::app::Info::named(r) {
            _ if r == "flow" => emit_flows = true,
            Some(p) => on[p as usize] = true,
            None => bail!(
                "--records: unknown record type `{r}` (known: {})",
                stats::record_types().join(", ")
            ),
        }
    }
    let app_memory = match o
        .app_memory
        .clone()
        .or_else(|| from_profile(|p| &p.app_memory))
    {
        Some(s) => parse_size("app-memory", &s)?,
        None => memory / 4,
    };
    let app = app_config(o, &on)?;
    let sensor = o.sensor_name.clone().unwrap_or_else(hostname);
    let nets = |v: &[String], flag: &str| -> Result<Vec<_>> {
        v.iter()
            .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--{flag}: {e}")))
            .collect()
    };
    let protos = |v: &[String], flag: &str| -> Result<Vec<u8>> {
        v.iter()
            .map(|s| parse_proto(s).with_context(|| format!("--{flag}")))
            .collect()
    };
    let filter = Filter {
        include_net: nets(&o.include_net, "include-net")?,
        exclude_net: nets(&o.exclude_net, "exclude-net")?,
        include_port: o.include_port.clone(),
        exclude_port: o.exclude_port.clone(),
        include_proto: protos(&o.include_proto, "include-proto")?,
        exclude_proto: protos(&o.exclude_proto, "exclude-proto")?,
        include_vlan: o.include_vlan.clone(),
        exclude_vlan: o.exclude_vlan.clone(),
    };
    for v in o.include_vlan.iter().chain(&o.exclude_vlan) {
        if *v > 4095 {
            bail!("VLAN id {v} is out of range (0-4095)");
        }
    }
    let mut decode = DecodeConfig {
        outer_tunnel_flows: o.outer_tunnel_flows.unwrap_or(false),
        ..Default::default()
    };
    if !o.vxlan_ports.is_empty() {
        decode.vxlan_ports = o.vxlan_ports.clone();
    }
    if !o.geneve_ports.is_empty() {
        decode.geneve_ports = o.geneve_ports.clone();
    }
    if !o.gtpu_ports.is_empty() {
        decode.gtpu_ports = o.gtpu_ports.clone();
    }
    if !o.vxlan_gpe_ports.is_empty() {
        decode.vxlan_gpe_ports = o.vxlan_gpe_ports.clone();
    }
    let mut sinks = Vec::new();
    // `--output` is the short form of one JSON lines output; it is the
    // default (stdout) when no `--out` is given.
    if o.output.is_some() || o.out.is_empty() {
        let spec = match o.output.as_deref().unwrap_or("-") {
            "-" => "stdout".to_string(),
            path => format!("file:{path}"),
        };
        sinks.push(outputs::from_spec(&spec, &sensor).context("--output")?);
    }
    for spec in &o.out {
        sinks.push(outputs::from_spec(spec, &sensor)?);
    }
    Ok(Common {
        setup: setup::Setup {
            workers,
            memory,
            worker: WorkerConfig {
                flow: replay::flow_config(o),
                flows: 0,
                huge_pages: o.huge_pages.unwrap_or(true),
                sensor: sensor.clone(),
                cid_seed: 0,
                emit_flows,
                batch: dataplane::worker::STAGE,
                app,
            },
            app_memory,
            decode,
            filter,
            sample: match o.flow_sample.unwrap_or(1) {
                0 => bail!("--flow-sample must be 1 or more (one flow in N)"),
                n => n,
            },
            dedup_ns: o.dedup_window_us.unwrap_or(0) * 1000,
            profile,
            sinks_bytes: sinks.iter().map(|o| o.sink.memory_bytes()).sum(),
            blocks: crate::outputs::thread::MIN_BLOCKS,
        },
        sensor,
        sinks,
    })
}

/// The application layer's settings from the options (counts are sized
/// later, from the budget); `on`: which protocols' records are wanted.
fn app_config(o: &Options, on: &[bool]) -> Result<dataplane::app::AppConfig> {
    use dataplane::app::{AppConfig, PortSet, Proto};
    let mut a = AppConfig::sized(1 << 20);
    let v = &o.protos.values;
    let mut err = None;
    a.protos.each(|p, s| {
        let n = p.info().name;
        // Listed record types switch analyzers on; by default those on
        // by default run.
        *s.enabled = on[p as usize] && (!o.records.is_empty() || p.info().on);
        if let Some(list) = v.get(&format!("{n}-ports")) {
            match list
                .split(',')
                .map(|x| x.trim().parse::<u16>())
                .collect::<Result<Vec<u16>, _>>()
            {
                Ok(ports) => {
                    // A protocol found on UDP takes the ports for both; one
                    // with no default port at all is a TCP protocol.
                    let info = p.info();
                    if !info.tcp_ports.is_empty() || info.udp_ports.is_empty() {
                        *s.tcp_ports = PortSet::new(&ports);
                    }
                    if !info.udp_ports.is_empty() {
                        *s.udp_ports = PortSet::new(&ports);
                    }
                }
                Err(_) => err = Some(format!("--{n}-ports: `{list}` is not a list of ports")),
            }
        }
        if let Some(x) = v.get(&format!("{n}-sample")) {
            match x.trim().parse::<u32>() {
                Ok(k) if k >= 1 => *s.sample = k,
                _ => {
                    err = Some(format!(
                        "--{n}-sample must be at least 1 (1 analyzes every flow), not {x}"
                    ))
                }
            }
        }
    });
    if let Some(e) = err {
        bail!(e);
    }
    for &p in Proto::ALL {
        let info = p.info();
        for st in info.settings {
            let flag = if st.shared {
                st.name.to_string()
            } else {
                format!("{}-{}", info.name, st.name)
            };
            if let Some(x) = v.get(&flag) {
                a.set(p, st.name, x)
                    .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))?;
            }
        }
    }
    if let Some(x) = o.txn_timeout {
        a.txn_timeout_ns = dataplane::app::analyzer::parse_seconds(&x.to_string())
            .map_err(|e| anyhow::anyhow!("--txn-timeout {e}"))?;
    }
    if let Some(n) = o.max_open_txns {
        if n == 0 || n > dataplane::app::MAX_OPEN {
            bail!(
                "--max-open-txns must be between 1 and {}, not {n}",
                dataplane::app::MAX_OPEN
            );
        }
        a.max_open = n;
    }
    if let Some(s) = &o.stream_depth {
        a.depth = parse_size("stream-depth", s)? as u64;
    }
    Ok(a)
}

/// Whether the NIC's RSS is symmetric (as `wirelog tune apply` makes it):
/// then each AF_XDP queue's worker keeps its flows without a second hop.
fn rss_found_symmetric(ifname: &str) -> bool {
    let Ok(r) = tuning::ethtool::Ethtool::open().and_then(|e| e.rss(ifname)) else {
        return false;
    };
    let sym = tuning::check::rss_is_symmetric(&r);
    if sym {
        eprintln!(
            "wirelog: {ifname}: RSS is symmetric: each queue's worker keeps its flows (--rss asymmetric re-steers every frame instead)"
        );
    }
    sym
}

fn capture_cmd(o: Options) -> Result<()> {
    use dataplane::capture::afpacket::PacketConfig;
    use dataplane::capture::xdp::{AttachMode, BindMode, XdpConfig};
    let Some(ifname) = o.interface.clone() else {
        bail!("--interface is required: the mirror port to capture on");
    };
    let xdp = o.source.unwrap_or(Source::AfXdp) == Source::AfXdp;
    // Interface checks come first: a missing interface is the likeliest mistake.
    dataplane::capture::iface::check_up(&ifname)?;
    let profile = load_profile(&o)?;
    let explicit = o.profile.is_some();
    let queues = if !xdp {
        Vec::new()
    } else if !o.queues.is_empty() {
        o.queues.clone()
    } else if let Some(q) = profile
        .as_ref()
        .and_then(|p| p.queues.clone())
        .filter(|_| explicit)
    {
        q
    } else {
        (0..dataplane::capture::iface::rx_queues(&ifname)?).collect()
    };
    // A profile with fewer queues than worker cores dispatches: its workers
    // are its cores, not its queues.
    let dispatching =
        explicit && o.queues.is_empty() && profile.as_ref().is_some_and(|p| p.dispatches());
    let workers = o.workers.unwrap_or(match &profile {
        Some(p) if xdp && dispatching => p.worker_cores.len(),
        _ if xdp => queues.len(),
        _ => 1,
    });
    let mut c = common(&o, workers, profile)?;
    // Live workers drop a record when no output block is free: give the
    // hand-off what the budget affords.
    c.setup.blocks = c.setup.handoff_blocks();
    let prof = c
        .setup
        .profile
        .clone()
        .unwrap_or_else(tuning::Profile::from_machine);
    let poll = match (o.poll, &prof.poll) {
        (Some(p), _) => p,
        (None, Some(p)) => p.parse().map_err(|e| anyhow::anyhow!("profile: {e}"))?,
        (None, None) => Poll::Adaptive,
    };
    let busy = poll == Poll::Busy;
    let mut program = None;
    let backend = if xdp {
        let attach = match o.xdp_mode.unwrap_or(XdpMode::Auto) {
            XdpMode::Auto => AttachMode::Auto,
            XdpMode::Skb => AttachMode::Skb,
            XdpMode::Drv => AttachMode::Drv,
        };
        let bind = match o.xdp_bind.unwrap_or(XdpBind::Auto) {
            XdpBind::Auto => BindMode::Auto,
            XdpBind::Copy => BindMode::Copy,
            XdpBind::ZeroCopy => BindMode::ZeroCopy,
        };
        let frame_size = o.xdp_frame_size.unwrap_or(2048);
        // What the sockets hold is what carries the capture through a
        // moment its lane does not run (on a shared VM, a vCPU descheduled
        // for a few ms): a quarter of the budget over the sockets, at least
        // 4096 frames. Measured (bench veth, enterprise mix, SKB mode):
        // 4096 frames of 4 KiB lost frames from 275,000 frames/s, 16384 of
        // 2 KiB none at 400,000.
        let budget_frames = (c.setup.memory / 4 / queues.len().max(1) / frame_size as usize)
            .clamp(4096, 1 << 18) as u32;
        let frames = o
            .xdp_frames
            .or(prof.xdp_frames)
            .unwrap_or(1 << budget_frames.ilog2());
        if !frames.is_power_of_two() || !(64..=1 << 20).contains(&frames) {
            bail!("--xdp-frames must be a power of two between 64 and 1048576, not {frames}");
        }
        if frame_size != 2048 && frame_size != 4096 {
            bail!("--xdp-frame-size must be 2048 or 4096, not {frame_size}");
        }
        let umem = frames as u64 * u64::from(frame_size) * queues.len() as u64;
        let (free, page) = dataplane::capture::iface::hugetlb_free();
        let huge = o.huge_pages.unwrap_or(true) && page > 0 && free >= umem;
        if o.huge_pages.unwrap_or(true) && !huge {
            eprintln!(
                "wirelog: note: the UMEM ({} MiB) is mapped with 4 KiB pages: reserve huge pages (`sysctl vm.nr_hugepages={}`) to map it with 2 MiB pages",
                umem >> 20,
                umem.div_ceil(2 << 20) + 1
            );
        }
        let x = XdpConfig {
            ifname: ifname.clone(),
            queue: 0,
            frames,
            frame_size,
            attach,
            bind,
            huge,
        };
        program = Some(xdp_program(&o, &ifname, &x, &c.setup)?);
        live::Backend::Xdp(x)
    } else {
        let ring = parse_size(
            "afpacket-ring",
            o.afpacket_ring
                .as_deref()
                .or(prof.afpacket_ring.as_deref())
                .unwrap_or("16M"),
        )?;
        let block = 1usize << 20;
        if ring < 2 * block {
            bail!("--afpacket-ring must be at least 2M, not {ring}");
        }
        live::Backend::Packet(PacketConfig {
            ifname: ifname.clone(),
            block_size: block as u32,
            blocks: (ring / block) as u32,
            block_timeout_ms: 10,
            fanout: None,
        })
    };
    let secs = |v: Option<f64>, flag: &str| -> Result<Option<std::time::Duration>> {
        match v {
            None => Ok(None),
            Some(s) if s.is_finite() && s >= 0.0 => {
                Ok((s > 0.0).then(|| std::time::Duration::from_secs_f64(s)))
            }
            Some(s) => bail!("--{flag} must be a number of seconds, not {s}"),
        }
    };
    // The derived profile has fewer worker cores than workers when the
    // machine is small: pinned workers would then queue behind each other
    // and the kernel's packet work on one core. Let the scheduler place them.
    if let Some(p) = &c.setup.profile {
        if o.profile.is_none() && workers > p.worker_cores.len() {
            eprintln!(
                "wirelog: note: {workers} workers and {} worker core(s) here: threads are not pinned (a --profile pins them as it says)",
                p.worker_cores.len()
            );
            c.setup.profile = None;
        }
    }
    let symmetric_rss = match o.rss {
        Some(r) => r == Rss::Symmetric,
        None => xdp && queues.len() > 1 && rss_found_symmetric(&ifname),
    };
    let mut plan = live::LivePlan {
        iface: ifname,
        backend,
        program,
        queues,
        s: c.setup,
        busy,
        duration: secs(o.duration, "duration")?,
        stats_interval: secs(Some(o.stats_interval.unwrap_or(60.0)), "stats-interval")?,
        ring_slots: prof.steer_ring_slots.unwrap_or(4096).clamp(64, 1 << 16),
        symmetric_rss,
        batch: prof.batch.unwrap_or(dataplane::pipeline::BATCH),
        profile_path: o.profile.clone(),
    };
    live::preflight(&plan)?;
    plan.size()?;
    dataplane::sys::stop_on_signals().context("installing the SIGINT/SIGTERM handler")?;
    let was_promisc =
        dataplane::capture::iface::flags(&plan.iface)? & libc::IFF_PROMISC as u32 != 0;
    // AF_PACKET sockets hold their own membership; AF_XDP has none.
    let _promisc = if xdp {
        Some(dataplane::capture::iface::PromiscGuard::new(&plan.iface)?)
    } else {
        None
    };
    if !was_promisc {
        eprintln!(
            "wirelog: {}: promiscuous mode set for the capture (released at exit)",
            plan.iface
        );
    }
    let s = live::run(plan, c.sinks)?;
    for w in s.mirror_health().warnings() {
        eprintln!("wirelog: warning: {w}");
    }
    if !o.quiet.unwrap_or(false) {
        eprintln!("{}", live::summary_json(&s, &c.sensor));
    }
    Ok(())
}

/// What wirelog's XDP program is told: which frames it takes (a shared
/// interface keeps the host's own traffic), the filters, the sample.
fn xdp_program(
    o: &Options,
    ifname: &str,
    x: &dataplane::capture::xdp::XdpConfig,
    s: &setup::Setup,
) -> Result<dataplane::capture::xdp_prog::ProgramConfig> {
    use dataplane::capture::iface;
    let host = iface::host_addresses(ifname)?;
    let list = || {
        host.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let take_all = match o.xdp_take.unwrap_or(XdpTake::Auto) {
        XdpTake::Auto => host.is_empty(),
        XdpTake::Mirror => false,
        XdpTake::All => {
            if !host.is_empty() && !o.xdp_take_host_traffic.unwrap_or(false) {
                bail!(
                    "--xdp-take all on {ifname}, which carries this host's addresses ({}): every frame would go to wirelog and the host's own traffic on {ifname} (an SSH session, say) would stop. Safe choices: --xdp-take mirror (the default here: frames for other MACs and mirror tunnels only), --source afpacket (copies, takes nothing away), or a dedicated mirror port without addresses; --xdp-take-host-traffic takes every frame all the same",
                    list()
                );
            }
            true
        }
    };
    let drop_filtered = o.xdp_filtered.unwrap_or(XdpFiltered::Drop) == XdpFiltered::Drop;
    if take_all {
        eprintln!(
            "wirelog: {ifname}: the XDP program takes every frame ({})",
            if host.is_empty() {
                "no host address on it: a dedicated mirror port".to_string()
            } else {
                format!("--xdp-take-host-traffic: the host's own traffic on {ifname} ({}) stops while wirelog runs", list())
            }
        );
    } else {
        eprintln!(
            "wirelog: {ifname}: the XDP program takes mirrored frames (for other MACs) and mirror tunnels (VXLAN, Geneve, GRE) sent to {}; the host's own traffic goes to its stack",
            list()
        );
    }
    let d = &s.decode;
    Ok(dataplane::capture::xdp_prog::ProgramConfig {
        mac: iface::mac(ifname)?,
        take_all,
        drop_filtered,
        max_len: x.max_frame(),
        sample: s.sample,
        tunnel_ports: d.udp_tunnel_ports(),
        filter: s.filter.clone(),
    })
}

fn replay_cmd(file: PathBuf, o: Options) -> Result<()> {
    let workers = o.workers.unwrap_or(1);
    let c = common(&o, workers, load_profile(&o)?)?;
    let paced = o.pace == Some(Pace::Recorded);
    let sensor = c.sensor;
    let sinks = c.sinks;
    let mut plan = replay::Plan {
        path: file.display().to_string(),
        paced,
        s: c.setup,
    };
    plan.size()?;
    let s = replay::run(plan, sinks)?;
    for w in s.mirror_health().warnings() {
        eprintln!("wirelog: warning: {}: {w}", file.display());
    }
    if s.pcap.truncated_tail_bytes > 0 {
        eprintln!(
            "wirelog: warning: {}: the last record is truncated ({} bytes ignored)",
            file.display(),
            s.pcap.truncated_tail_bytes
        );
    }
    if let Some(off) = s.pcap.corrupt_at {
        eprintln!(
            "wirelog: warning: {}: corrupt record header at offset {off}; reading stopped there",
            file.display()
        );
    }
    if !o.quiet.unwrap_or(false) {
        eprintln!("{}", replay::summary_json(&s, &sensor));
    }
    Ok(())
}

fn bench_memory_cmd(
    input: bench::Input,
    old: Option<serde_json::Value>,
    mut o: Options,
) -> Result<()> {
    if o.output.is_none() && o.out.is_empty() {
        o.output = Some("/dev/null".into());
    }
    let workers = o.workers.unwrap_or(1);
    let c = common(&o, workers, load_profile(&o)?)?;
    let mut plan = bench::Plan { input, s: c.setup };
    plan.size()?;
    println!("{}", with_comparison(bench::run(plan, c.sinks)?, old));
    Ok(())
}

/// A report of an earlier `wirelog bench` run, for `--compare`.
fn earlier_report(p: &std::path::Path) -> Result<serde_json::Value> {
    read_report(p).context("--compare")
}

/// A report a bench command printed, read back from `p`.
fn read_report(p: &std::path::Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("{}: not a bench report", p.display()))?;
    if v["type"] != "bench" {
        bail!("{}: not a bench report", p.display());
    }
    Ok(v)
}

/// Adds `--compare`'s ratios to `report` and prints them on stderr.
fn with_comparison(
    mut report: serde_json::Value,
    old: Option<serde_json::Value>,
) -> serde_json::Value {
    if let Some(old) = old {
        let cmp = bench::compare(&report, &old);
        eprint!("{}", bench::compare_text(&cmp));
        report["compare"] = cmp;
    }
    report
}

/// `--flows` of a generator profile: positive and bounded, since the
/// conversation profiles hold state for every flow from the start.
fn flows_arg() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(benches::profile::MAX_FLOWS))
}

fn profile_named(name: &str) -> Result<benches::profile::Profile> {
    let known: Vec<_> = benches::profile::Profile::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect();
    benches::profile::Profile::by_name(name).with_context(|| {
        format!(
            "--gen: unknown profile `{name}` (known: {})",
            known.join(", ")
        )
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "wirelog".into())
}
