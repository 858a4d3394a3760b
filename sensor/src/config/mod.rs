//! Options of `wirelog replay` and `wirelog capture`: the same names on the command line (`--tcp-idle-timeout`)
//! and in the TOML config (`tcp_idle_timeout`). The file is read first;
//! flags given on the command line win. Every bad key or value is a
//! one-line error naming it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

/// An option that takes one of a few words: an enum whose variants each
/// have a canonical word (the first) and aliases. Parsing (command line and
/// config file) refuses anything else with a one-line error naming the
/// option and the words.
macro_rules! words {
    ($(#[$m:meta])* $name:ident, $flag:literal,
     $($(#[$vm:meta])* $v:ident = [$first:literal $(, $alias:literal)*]),+ $(,)?) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* $v,)+
        }

        impl $name {
            /// The canonical words.
            pub const WORDS: &'static [&'static str] = &[$($first),+];

            /// The canonical word.
            pub fn word(self) -> &'static str {
                match self {
                    $(Self::$v => $first,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($first $(| $alias)* => Ok(Self::$v),)+
                    other => Err(format!(
                        "--{} must be {}, not `{other}`",
                        $flag,
                        either(Self::WORDS)
                    )),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.word())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// `` `a` ``, `` `a` or `b` ``, `` `a`, `b` or `c` ``.
fn either(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match q.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => q.concat(),
    }
}

/// A word option's value parser for clap.
fn word<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

words!(
    /// Replay speed.
    Pace, "pace",
    /// As fast as possible.
    Max = ["max"],
    /// At the capture's own pace.
    Recorded = ["recorded"],
);
words!(
    /// The capture backend.
    Source, "source",
    /// AF_XDP sockets fed by wirelog's XDP program.
    AfXdp = ["afxdp", "af_xdp", "xdp"],
    /// AF_PACKET TPACKET_V3 rings.
    AfPacket = ["afpacket", "af_packet", "packet"],
);
words!(
    /// The XDP attach mode.
    XdpMode, "xdp-mode",
    /// Driver mode, else SKB.
    Auto = ["auto"],
    /// SKB (generic) mode.
    Skb = ["skb", "generic"],
    /// Driver (native) mode.
    Drv = ["drv", "driver", "native"],
);
words!(
    /// Which frames the XDP program takes.
    XdpTake, "xdp-take",
    /// `all` on an interface without the host's addresses, else `mirror`.
    Auto = ["auto"],
    /// Frames for other MACs and mirror tunnels to this host.
    Mirror = ["mirror"],
    /// Every frame.
    All = ["all"],
);
words!(
    /// What the XDP program does with frames the filters leave out.
    XdpFiltered, "xdp-filtered",
    /// Drop them in the kernel.
    Drop = ["drop"],
    /// Pass them to the kernel stack.
    Pass = ["pass"],
);
words!(
    /// The AF_XDP bind mode.
    XdpBind, "xdp-bind",
    /// Zero-copy where offered.
    Auto = ["auto"],
    /// Copy mode.
    Copy = ["copy"],
    /// Zero-copy mode.
    ZeroCopy = ["zero-copy", "zerocopy"],
);
words!(
    /// Whether the NIC's RSS key is symmetric.
    Rss, "rss",
    /// Re-steer every packet by wirelog's symmetric hash.
    Asymmetric = ["asymmetric"],
    /// Each queue keeps its flows.
    Symmetric = ["symmetric"],
);
words!(
    /// How a capture lane waits for frames.
    Poll, "poll",
    /// Sleep when idle.
    Adaptive = ["adaptive"],
    /// Spin.
    Busy = ["busy"],
);

/// Options of `wirelog replay` and `capture`, also accepted as keys of the
/// config file (the capture keys are ignored by replay).
#[derive(Args, Debug, Default, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Worker threads; flows are spread over them by the symmetric hash
    /// [default: 1].
    #[arg(long, short = 'w')]
    pub workers: Option<usize>,
    /// Memory budget of the whole process, e.g. 128M, 1G [default: 128M].
    #[arg(long)]
    pub memory: Option<String>,
    /// JSON lines to `-` (stdout) or appended to a file; the default when no --out is given [default: -].
    #[arg(long, short = 'o')]
    pub output: Option<String>,
    /// An output, repeatable: `stdout`, `file:PATH`, `gelf-udp:HOST:PORT`, `gelf-tcp:HOST:PORT`, each with `?key=value&…` settings and `records=flow,http,dns,stats` (see the README).
    #[arg(long)]
    #[serde(default)]
    pub out: Vec<String>,
    /// Replay speed: `max` or `recorded` (the capture's own pace) [default: max].
    #[arg(long, value_parser = word::<Pace>)]
    pub pace: Option<Pace>,
    /// Core-pinning profile (TOML, see tuning/profiles) [default: derived from the machine].
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Do not pin threads to cores [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub no_pin: Option<bool>,
    /// Sensor name written in every record [default: the host name].
    #[arg(long)]
    pub sensor_name: Option<String>,
    /// Record types to emit: `flow` and every protocol's (`http`, `dns`, …; see --help's protocol options); an analyzer runs only when its type is listed [default: all].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub records: Vec<String>,
    /// Drop exact duplicate frames seen within this many µs; 0 is off [default: 0].
    #[arg(long)]
    pub dedup_window_us: Option<u64>,
    /// Make VLAN ids part of the flow key [default: true].
    #[arg(long, value_name = "BOOL")]
    pub key_vlan: Option<bool>,
    /// Make tunnel ids (VNI, GRE key, ERSPAN session) part of the flow key [default: false].
    #[arg(long, value_name = "BOOL")]
    pub key_tunnel: Option<bool>,
    /// Also report a UDP tunnel's outer packets as their own flow, as Zeek does [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub outer_tunnel_flows: Option<bool>,
    /// UDP ports decoded as VXLAN [default: 4789].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub vxlan_ports: Vec<u16>,
    /// UDP ports decoded as Geneve [default: 6081].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub geneve_ports: Vec<u16>,
    /// UDP ports decoded as GTP-U, a mobile core's user plane [default: 2152].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub gtpu_ports: Vec<u16>,
    /// UDP ports decoded as VXLAN-GPE [default: 4790].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub vxlan_gpe_ports: Vec<u16>,
    /// TCP idle timeout once established, seconds [default: 300].
    #[arg(long)]
    pub tcp_idle_timeout: Option<u64>,
    /// UDP idle timeout, seconds [default: 60].
    #[arg(long)]
    pub udp_idle_timeout: Option<u64>,
    /// ICMP idle timeout, seconds [default: 60].
    #[arg(long)]
    pub icmp_idle_timeout: Option<u64>,
    /// Idle timeout of other IP protocols, seconds [default: 60].
    #[arg(long)]
    pub other_idle_timeout: Option<u64>,
    /// A closed TCP flow ends this many seconds after its last packet [default: 5].
    #[arg(long)]
    pub tcp_close_timeout: Option<u64>,
    /// Interim records every this many seconds of a flow's life; 0 is off [default: 0].
    #[arg(long)]
    pub active_timeout: Option<u64>,
    /// Track only packets to or from these networks (CIDR, repeatable).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub include_net: Vec<String>,
    /// Skip packets to or from these networks.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub exclude_net: Vec<String>,
    /// Track only packets with one of these ports.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub include_port: Vec<u16>,
    /// Skip packets with one of these ports.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub exclude_port: Vec<u16>,
    /// Track only these protocols (tcp, udp, icmp, icmp6 or a number).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub include_proto: Vec<String>,
    /// Skip these protocols.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub exclude_proto: Vec<String>,
    /// Track only these VLAN ids.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub include_vlan: Vec<u16>,
    /// Skip these VLAN ids.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub exclude_vlan: Vec<u16>,
    /// Keep one flow in N, chosen by a symmetric hash of the innermost addresses, ports and protocol; with AF_XDP the kernel drops the rest before they are copied [default: 1].
    #[arg(long)]
    pub flow_sample: Option<u32>,
    /// Memory of the application layer (sessions, stream and transaction buffers), part of --memory [default: a quarter of --memory].
    #[arg(long)]
    pub app_memory: Option<String>,
    /// Seconds a request waits for its response before it is logged unanswered [default: 30].
    #[arg(long)]
    pub txn_timeout: Option<f64>,
    /// Open transactions per flow of HTTP and DNS (Redis has --redis-max-open); more are counted, not logged [default: 16].
    #[arg(long)]
    pub max_open_txns: Option<usize>,
    /// Bytes per direction given to an analyzer before it stops (skipped bodies do not count); 0 is no limit [default: 0].
    #[arg(long)]
    pub stream_depth: Option<String>,
    /// Map flow tables with transparent huge pages [default: true].
    #[arg(long, value_name = "BOOL")]
    pub huge_pages: Option<bool>,
    /// Capture: interface to capture on (the mirror port).
    #[arg(long, short = 'i')]
    pub interface: Option<String>,
    /// Capture: `afxdp` or `afpacket` [default: afxdp].
    #[arg(long, value_parser = word::<Source>)]
    pub source: Option<Source>,
    /// Capture: AF_XDP attach mode, `auto` (driver, else SKB), `skb` or `drv` [default: auto].
    #[arg(long, value_parser = word::<XdpMode>)]
    pub xdp_mode: Option<XdpMode>,
    /// Capture: which frames wirelog's XDP program takes: `mirror` (frames for other MACs, a SPAN/TAP feed, and VXLAN/Geneve/GRE mirror tunnels sent to this host; the host's own traffic goes to its stack), `all` (a dedicated mirror port), or `auto` (`all` on an interface without the host's addresses, `mirror` on one with them) [default: auto].
    #[arg(long, value_parser = word::<XdpTake>)]
    pub xdp_take: Option<XdpTake>,
    /// Capture: allow `--xdp-take all` on an interface that carries the host's addresses, cutting the host's own traffic on it off [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub xdp_take_host_traffic: Option<bool>,
    /// Capture: frames the filters or the flow sample leave out, `drop` them in the XDP program or `pass` them to the kernel stack [default: drop].
    #[arg(long, value_parser = word::<XdpFiltered>)]
    pub xdp_filtered: Option<XdpFiltered>,
    /// Capture: AF_XDP bind mode, `auto` (zero-copy where offered), `copy` or `zero-copy` [default: auto].
    #[arg(long, value_parser = word::<XdpBind>)]
    pub xdp_bind: Option<XdpBind>,
    /// Capture: AF_XDP queues, one socket each [default: every receive queue].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub queues: Vec<u32>,
    /// Capture: `asymmetric` (wirelog re-steers every packet by its own symmetric hash) or `symmetric` (the NIC's RSS key is symmetric: each AF_XDP queue keeps its flows) [default: symmetric when the NIC reports a symmetric transform or key, as `wirelog tune apply` sets it, else asymmetric].
    #[arg(long, value_parser = word::<Rss>)]
    pub rss: Option<Rss>,
    /// Capture: UMEM frames per AF_XDP socket, a power of two [default: the profile's, else a quarter of --memory over the sockets, at least 4096].
    #[arg(long)]
    pub xdp_frames: Option<u32>,
    /// Capture: bytes per UMEM frame, 2048 or 4096; longer frames (over 1776 or 3824 bytes) are trimmed to fit (counted), their byte counts kept [default: 2048].
    #[arg(long)]
    pub xdp_frame_size: Option<u32>,
    /// Capture: AF_PACKET ring per worker, e.g. 16M [default: the profile's, else 16M].
    #[arg(long)]
    pub afpacket_ring: Option<String>,
    /// Capture: `adaptive` (sleep when idle) or `busy` (spin on dedicated cores) [default: the profile's, else adaptive].
    #[arg(long, value_parser = word::<Poll>)]
    pub poll: Option<Poll>,
    /// Capture: stop after this many seconds (SIGINT/SIGTERM stop it too) [default: run until stopped].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Capture: a `stats` record into the outputs every this many seconds; 0 is off [default: 60].
    #[arg(long)]
    pub stats_interval: Option<f64>,
    /// Do not print the summary on stderr at the end [default: false].
    #[arg(long, short = 'q', value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub quiet: Option<bool>,
    /// Every protocol's options, made from the analyzer registry.
    #[command(flatten)]
    #[serde(skip)]
    pub protos: ProtoOptions,
}

impl Options {
    /// Reads a config file. Keys are the long options with `_` for `-`;
    /// a protocol's options are recognised by the registry's names.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("config {}", path.display()))?;
        let one_line = |e: &dyn std::fmt::Display| {
            let msg = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            anyhow::anyhow!("config {}: {msg}", path.display())
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| one_line(&e))?;
        let mut protos = ProtoOptions::default();
        for (flag, _) in ProtoOptions::flags() {
            if let Some(v) = table.remove(&flag.replace('-', "_")) {
                protos.values.insert(flag, toml_text(&v));
            }
        }
        let mut o: Options = table.try_into().map_err(|e| one_line(&e))?;
        o.protos = protos;
        Ok(o)
    }

    /// `self` with every option that `over` sets replaced (an option is
    /// set when it is given: a value, or a non-empty list).
    ///
    /// # Errors
    ///
    /// A value TOML cannot hold (a number past `i64::MAX`, a path that is
    /// not UTF-8), named.
    pub fn overlay(self, over: &Options) -> Result<Self> {
        let table = |o: &Options| {
            toml::Table::try_from(o).map_err(|e| {
                let msg = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                anyhow::anyhow!("an option's value cannot be merged with the config file: {msg}")
            })
        };
        let mut base = table(&self)?;
        for (k, v) in table(over)? {
            if !matches!(&v, toml::Value::Array(a) if a.is_empty()) {
                base.insert(k, v);
            }
        }
        let mut merged: Options = base
            .try_into()
            .map_err(|e| anyhow::anyhow!("merging the options: {e}"))?;
        merged.protos = self.protos;
        merged.protos.values.extend(over.protos.values.clone());
        Ok(merged)
    }
}

/// A TOML value as the text its option would take (a list comma-joined).
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(toml_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The options every registered protocol brings: `--<name>-ports`,
/// `--<name>-sample` and its limits (`--http-body-bytes`), plus the
/// shared ones (`--redact`). They are made from
/// [`dataplane::app::PROTOCOLS`], so adding a protocol adds its options.
#[derive(Clone, Debug, Default)]
pub struct ProtoOptions {
    /// Given options by long name, lists comma-joined.
    pub values: std::collections::BTreeMap<String, String>,
}

impl ProtoOptions {
    /// Every option's long name and help.
    pub fn flags() -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        for p in dataplane::app::PROTOCOLS {
            let (n, t) = (p.name, p.title);
            let list = |ports: &[u16]| {
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let which = match (p.tcp_ports.is_empty(), p.udp_ports.is_empty()) {
                (false, true) => "TCP ports",
                (true, false) => "UDP ports",
                _ => "TCP and UDP ports",
            };
            let ports = if p.tcp_ports.is_empty() {
                list(p.udp_ports)
            } else {
                list(p.tcp_ports)
            };
            v.push((
                format!("{n}-ports"),
                format!("{which} that select {t}, confirmed by its bytes [default: {ports}]"),
            ));
            v.push((
                format!("{n}-sample"),
                format!("Analyze one {t} flow in N (by flow hash) [default: 1]"),
            ));
            for s in p.settings {
                let flag = if s.shared {
                    s.name.to_string()
                } else {
                    format!("{n}-{}", s.name)
                };
                if !v.iter().any(|(f, _)| *f == flag) {
                    v.push((flag, s.help.to_string()));
                }
            }
        }
        v
    }

    /// Whether option `flag` takes a list.
    fn is_list(flag: &str) -> bool {
        flag.ends_with("-ports")
            || dataplane::app::PROTOCOLS.iter().any(|p| {
                p.settings
                    .iter()
                    .any(|s| s.list && (flag == s.name || flag == format!("{}-{}", p.name, s.name)))
            })
    }
}

impl clap::FromArgMatches for ProtoOptions {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut o = Self::default();
        o.update_from_arg_matches(m)?;
        Ok(o)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for (flag, _) in Self::flags() {
            if let Some(v) = m.get_many::<String>(&flag) {
                let v: Vec<&str> = v.map(String::as_str).collect();
                self.values.insert(flag, v.join(","));
            }
        }
        Ok(())
    }
}

impl clap::Args for ProtoOptions {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let mut cmd = cmd;
        for (flag, help) in Self::flags() {
            let mut a = clap::Arg::new(flag.clone())
                .long(flag.clone())
                .help(help)
                .value_name("VALUE");
            if Self::is_list(&flag) {
                a = a
                    .value_delimiter(',')
                    .action(clap::ArgAction::Append)
                    .value_name("LIST");
            }
            cmd = cmd.arg(a);
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Parses a size such as `128M`, `1G`, `65536`, `512K` given to `--flag`.
pub fn parse_size(flag: &str, s: &str) -> Result<usize> {
    dataplane::app::analyzer::parse_size(s).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

/// Parses a protocol name or number.
pub fn parse_proto(s: &str) -> Result<u8> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmp6" | "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        "gre" => 47,
        other => match other.parse() {
            Ok(n) => n,
            Err(_) => {
                bail!("unknown protocol `{s}` (tcp, udp, icmp, icmp6, sctp, gre or a number)")
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_protocols() {
        assert_eq!(parse_size("memory", "128M").unwrap(), 128 << 20);
        assert_eq!(parse_size("memory", "1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("memory", "2G").unwrap(), 2 << 30);
        assert!(parse_size("memory", "lots")
            .unwrap_err()
            .to_string()
            .contains("--memory"));
        assert_eq!(parse_proto("UDP").unwrap(), 17);
        assert!(parse_proto("tcpp").is_err());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = toml::from_str::<Options>("workerz = 2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `workerz`"), "{e}");
        let o: Options = toml::from_str("workers = 2\ninclude_port = [80]").unwrap();
        let cli = Options {
            workers: Some(4),
            ..Default::default()
        };
        let m = o.overlay(&cli).unwrap();
        assert_eq!((m.workers, m.include_port), (Some(4), vec![80]));
        // A value TOML cannot hold is an error, not a panic.
        let huge = Options {
            dedup_window_us: Some(u64::MAX),
            ..Default::default()
        };
        assert!(Options::default().overlay(&huge).is_err());
    }

    /// Word options are enums, from the command line and the file alike,
    /// with one-line errors naming the option and its words.
    #[test]
    fn word_options() {
        let o: Options = toml::from_str("pace = \"recorded\"\nsource = \"af_packet\"").unwrap();
        assert_eq!(
            (o.pace, o.source),
            (Some(Pace::Recorded), Some(Source::AfPacket))
        );
        let e = toml::from_str::<Options>("xdp_mode = \"fast\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--xdp-mode must be `auto`, `skb` or `drv`, not `fast`"),
            "{e}"
        );
        assert_eq!("zerocopy".parse::<XdpBind>(), Ok(XdpBind::ZeroCopy));
        let back = toml::Table::try_from(&o).unwrap();
        assert_eq!(back["source"].as_str(), Some("afpacket"));
    }

    /// A protocol's options come from the registry, in the config file
    /// as on the command line, and the command line wins.
    #[test]
    fn protocol_options_from_the_registry() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            o: Options,
        }
        let dir = std::env::temp_dir().join(format!("wl-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "workers = 2\nhttp_body_bytes = \"1K\"\ndns_ports = [53, 5300]\nredact = false\n",
        )
        .unwrap();
        let file = Options::from_file(&f).unwrap();
        let cli = Cli::parse_from(["x", "--http-body-bytes", "2K", "--http-ports", "81,82"]).o;
        let m = file.overlay(&cli).unwrap();
        let v = &m.protos.values;
        assert_eq!(v["http-body-bytes"], "2K");
        assert_eq!(v["http-ports"], "81,82");
        assert_eq!(v["dns-ports"], "53,5300");
        assert_eq!(v["redact"], "false");
        assert_eq!(m.workers, Some(2));
        std::fs::write(&f, "http_bodyy_bytes = 3").unwrap();
        let e = Options::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("unknown field `http_bodyy_bytes`"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
