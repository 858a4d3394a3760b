//! wirelog: a passive network sensor.
//!
//! This crate owns the edges: the command line, configuration, the output
//! thread and the run summary. The hot path lives in `dataplane`.
#![deny(unsafe_code)]

mod config;
mod output;
mod replay;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dataplane::decode::DecodeConfig;
use dataplane::filter::Filter;
use dataplane::worker::WorkerConfig;

use config::{parse_proto, parse_size, Options};

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
    /// Prints the core-pinning profile wirelog would use on this machine.
    Profile {
        /// A profile file to check instead of the default.
        file: Option<PathBuf>,
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
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Profile { file } => {
            let p = match file {
                Some(f) => tuning::Profile::load(&f)?,
                None => tuning::Profile::from_machine(),
            };
            println!(
                "name = {:?}\ncontrol_core = {}\nworker_cores = {:?}",
                p.name, p.control_core, p.worker_cores
            );
            Ok(())
        }
        Cmd::Replay { file, config, opts } => {
            let o = match config {
                Some(c) => Options::from_file(&c)?.overlay(&opts),
                None => *opts,
            };
            replay_cmd(file, o)
        }
    }
}

fn replay_cmd(file: PathBuf, o: Options) -> Result<()> {
    let workers = o.workers.unwrap_or(1);
    if workers == 0 || workers > 256 {
        bail!("--workers must be between 1 and 256, not {workers}");
    }
    let memory = parse_size(o.memory.as_deref().unwrap_or("128M"))?;
    let paced = match o.pace.as_deref().unwrap_or("max") {
        "max" => false,
        "recorded" => true,
        other => bail!("--pace must be `max` or `recorded`, not `{other}`"),
    };
    let mut emit_flows = o.records.is_empty();
    for r in &o.records {
        match r.as_str() {
            "flow" => emit_flows = true,
            other => bail!("--records: unknown record type `{other}` (known: flow)"),
        }
    }
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
    let profile = if o.no_pin.unwrap_or(false) {
        None
    } else {
        Some(match &o.profile {
            Some(p) => tuning::Profile::load(p)?,
            None => tuning::Profile::from_machine(),
        })
    };
    let mut plan = replay::Plan {
        path: file.display().to_string(),
        workers,
        memory,
        worker: WorkerConfig {
            flow: replay::flow_config(&o),
            flows: 0,
            huge_pages: o.huge_pages.unwrap_or(true),
            sensor: sensor.clone(),
            cid_seed: 0,
            emit_flows,
            batch: 64,
        },
        decode,
        filter,
        dedup_ns: o.dedup_window_us.unwrap_or(0) * 1000,
        paced,
        profile,
    };
    plan.size()?;
    let sink: Box<dyn std::io::Write + Send> = match o.output.as_deref().unwrap_or("-") {
        "-" => Box::new(std::io::stdout()),
        path => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("--output {path}"))?,
        ),
    };
    let s = replay::run(plan, sink)?;
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

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "wirelog".into())
}
