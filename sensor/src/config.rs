//! Options of `wirelog replay` and `wirelog capture`: the same names on the command line (`--tcp-idle-timeout`)
//! and in the TOML config (`tcp_idle_timeout`). The file is read first;
//! flags given on the command line win. Every bad key or value is a
//! one-line error naming it.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;

/// Options of `wirelog replay` and `capture`, also accepted as keys of the
/// config file (the capture keys are ignored by replay).
#[derive(Args, Debug, Default, Deserialize, Clone)]
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
    #[arg(long)]
    pub pace: Option<String>,
    /// Core-pinning profile (TOML, see tuning/profiles) [default: derived from the machine].
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Do not pin threads to cores [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub no_pin: Option<bool>,
    /// Sensor name written in every record [default: the host name].
    #[arg(long)]
    pub sensor_name: Option<String>,
    /// Record types to emit: `flow`, `http`, `dns`; an analyzer runs only when its type is listed [default: flow,http,dns].
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
    /// TCP ports that select HTTP, confirmed by the bytes; HTTP elsewhere is found by its bytes [default: 80,81,591,3128,8000,8008,8080,8081,8088,8888].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub http_ports: Vec<u16>,
    /// TCP and UDP ports that select DNS [default: 53,5353,5355].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub dns_ports: Vec<u16>,
    /// Analyze one HTTP flow in N (by flow hash) [default: 1].
    #[arg(long)]
    pub http_sample: Option<u32>,
    /// Analyze one DNS flow in N [default: 1].
    #[arg(long)]
    pub dns_sample: Option<u32>,
    /// HTTP body bytes logged per side, at most 8K; gzip/deflate bodies are inflated up to it; 0 logs only lengths [default: 0].
    #[arg(long)]
    pub http_body_bytes: Option<String>,
    /// HTTP header bytes logged per message, at most 8K [default: 4K].
    #[arg(long)]
    pub http_header_bytes: Option<String>,
    /// HTTP headers logged per message [default: 64].
    #[arg(long)]
    pub http_headers: Option<usize>,
    /// Bytes of the request target logged, at most 8K [default: 2K].
    #[arg(long)]
    pub http_uri_bytes: Option<String>,
    /// Replace secrets in HTTP records: the --redact-headers values and the --redact-keys query/body values [default: true].
    #[arg(long, value_name = "BOOL")]
    pub redact: Option<bool>,
    /// More headers whose values are redacted (besides authorization, proxy-authorization, cookie, set-cookie, x-api-key).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub redact_headers: Vec<String>,
    /// More query and form/JSON body keys whose values are redacted (besides password, token, secret, api_key and the like).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub redact_keys: Vec<String>,
    /// Headers naming the original client, in order of preference; `orig_client` is the first present [default: x-forwarded-for,forwarded,x-real-ip,true-client-ip,cf-connecting-ip].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub http_client_ip_headers: Vec<String>,
    /// Content types whose bodies --http-body-bytes captures, `type/subtype` or `type/*` [default: every type].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub http_body_types: Vec<String>,
    /// Seconds a request waits for its response before it is logged unanswered [default: 30].
    #[arg(long)]
    pub txn_timeout: Option<f64>,
    /// Seconds a DNS query waits for its response [default: 5].
    #[arg(long)]
    pub dns_timeout: Option<f64>,
    /// Open transactions per flow; more are counted, not logged [default: 16].
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
    #[arg(long)]
    pub source: Option<String>,
    /// Capture: AF_XDP attach mode, `auto` (driver, else SKB), `skb` or `drv` [default: auto].
    #[arg(long)]
    pub xdp_mode: Option<String>,
    /// Capture: which frames wirelog's XDP program takes: `mirror` (frames for other MACs, a SPAN/TAP feed, and VXLAN/Geneve/GRE mirror tunnels sent to this host; the host's own traffic goes to its stack), `all` (a dedicated mirror port), or `auto` (`all` on an interface without the host's addresses, `mirror` on one with them) [default: auto].
    #[arg(long)]
    pub xdp_take: Option<String>,
    /// Capture: allow `--xdp-take all` on an interface that carries the host's addresses, cutting the host's own traffic on it off [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub xdp_take_host_traffic: Option<bool>,
    /// Capture: frames the filters or the flow sample leave out, `drop` them in the XDP program or `pass` them to the kernel stack [default: drop].
    #[arg(long)]
    pub xdp_filtered: Option<String>,
    /// Capture: AF_XDP bind mode, `auto` (zero-copy where offered), `copy` or `zero-copy` [default: auto].
    #[arg(long)]
    pub xdp_bind: Option<String>,
    /// Capture: AF_XDP queues, one socket each [default: every receive queue].
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub queues: Vec<u32>,
    /// Capture: `asymmetric` (wirelog re-steers every packet by its own symmetric hash) or `symmetric` (the NIC's RSS key is symmetric: each AF_XDP queue keeps its flows) [default: asymmetric].
    #[arg(long)]
    pub rss: Option<String>,
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
    #[arg(long)]
    pub poll: Option<String>,
    /// Capture: stop after this many seconds (SIGINT/SIGTERM stop it too) [default: run until stopped].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Capture: a `stats` record into the outputs every this many seconds; 0 is off [default: 60].
    #[arg(long)]
    pub stats_interval: Option<f64>,
    /// Do not print the summary on stderr at the end [default: false].
    #[arg(long, short = 'q', value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub quiet: Option<bool>,
}

macro_rules! overlay {
    ($dst:ident, $src:ident; opt: $($o:ident),*; vec: $($v:ident),*) => {
        $( if $src.$o.is_some() { $dst.$o = $src.$o.clone(); } )*
        $( if !$src.$v.is_empty() { $dst.$v = $src.$v.clone(); } )*
    };
}

impl Options {
    /// Reads a config file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("config {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let msg = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            anyhow::anyhow!("config {}: {msg}", path.display())
        })
    }

    /// `self` with every option that `over` sets replaced.
    pub fn overlay(mut self, over: &Options) -> Self {
        overlay!(self, over;
            opt: workers, memory, output, pace, profile, no_pin, sensor_name, dedup_window_us, key_vlan,
                 key_tunnel, outer_tunnel_flows, tcp_idle_timeout, udp_idle_timeout, icmp_idle_timeout,
                 other_idle_timeout, tcp_close_timeout, active_timeout, huge_pages, quiet,
                 interface, source, rss, xdp_mode, xdp_take, xdp_take_host_traffic, xdp_filtered, flow_sample, xdp_bind, xdp_frames, xdp_frame_size, afpacket_ring, poll,
                 duration, stats_interval, app_memory, http_sample, dns_sample, http_body_bytes,
                 http_header_bytes, http_headers, http_uri_bytes, redact, txn_timeout, dns_timeout,
                 max_open_txns, stream_depth;
            vec: out, queues, records, http_ports, dns_ports, redact_headers, redact_keys,
                 http_client_ip_headers, http_body_types, vxlan_ports, geneve_ports, gtpu_ports,
                 vxlan_gpe_ports, include_net, exclude_net, include_port, exclude_port,
                 include_proto, exclude_proto, include_vlan, exclude_vlan);
        self
    }
}

/// Parses a size such as `128M`, `1G`, `65536`, `512K` given to `--flag`.
pub fn parse_size(flag: &str, s: &str) -> Result<usize> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1usize << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: usize = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--{flag}: `{s}` is not a size (e.g. 128M, 1G)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| anyhow::anyhow!("--{flag}: `{s}` is too large"))
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
        let m = o.overlay(&cli);
        assert_eq!((m.workers, m.include_port), (Some(4), vec![80]));
    }
}
