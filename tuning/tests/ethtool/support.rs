//! What the ethtool tests share: root and tool checks, a network namespace
//! removed on drop, entering it from a thread, the LD_PRELOAD shim, and
//! running a command under strace and the shim to get the netlink messages
//! and SIOCETHTOOL structs it sent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Runs `cmd` in bash and returns its stdout; fails the test on error.
pub fn sh(cmd: &str) -> String {
    let o = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("bash");
    assert!(
        o.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Root (namespaces, changing devices) and the tools compared with or used.
pub fn require_root_and_tools() {
    assert!(
        sh("id -u").trim() == "0",
        "the ethtool tests need root (namespaces, device settings): run scripts/test.sh as root"
    );
    for tool in ["ip", "ethtool", "strace", "cc"] {
        assert!(
            sh(&format!("command -v {tool} || true")).trim() != "",
            "{tool} is missing: run scripts/setup.sh"
        );
    }
}

/// A network namespace of this test process with a veth pair `va`–`vb`
/// of 4 RX and 4 TX queues each, both up; deleted on drop, also after a
/// failed assertion (deleting it deletes the pair).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn with_veth(prefix: &str) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&format!("ip netns add {name}"));
        let ns = Netns { name };
        ns.exec(
            "ip link add va numrxqueues 4 numtxqueues 4 type veth \
             peer name vb numrxqueues 4 numtxqueues 4 \
             && ip link set va up && ip link set vb up",
        );
        ns
    }

    /// Runs a shell command inside the namespace; fails the test on error.
    pub fn exec(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', r"'\''")
        ))
    }

    /// Runs `f` on a thread that has entered the namespace, so the sockets
    /// it opens live there; the test's own thread never moves.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path).expect("namespace file");
                use std::os::fd::AsRawFd;
                // SAFETY: setns(2) takes a descriptor that stays open for
                // the call and moves only this thread into the namespace.
                let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The shim (tests/ethtool/shim.c), compiled once per test run.
pub fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ethtool/shim.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ethtool-shim-{}.so", std::process::id()));
        sh(&format!(
            "cc -shared -fPIC -O1 -Wall -Werror -o {} {} -ldl",
            out.display(),
            src.display()
        ));
        out
    })
}

/// One SIOCETHTOOL struct as the shim logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ioctl {
    pub cmd: u32,
    pub bytes: Vec<u8>,
}

/// What one traced run sent to the kernel.
#[derive(Debug)]
pub struct Trace {
    /// Every netlink message, whole (strace's dump of each sendto/sendmsg).
    pub netlink: Vec<Vec<u8>>,
    /// Every SIOCETHTOOL struct, as passed to ioctl().
    pub ioctls: Vec<Ioctl>,
    /// The struct after each ioctl the kernel (not the shim) answered.
    pub ioctl_replies: Vec<Ioctl>,
    /// strace's own text.
    pub strace: String,
}

impl Trace {
    /// The ioctl structs with command `cmd`.
    pub fn ioctl(&self, cmd: u32) -> Vec<&Ioctl> {
        self.ioctls.iter().filter(|i| i.cmd == cmd).collect()
    }

    /// The netlink messages that are not nlctrl's, with the sequence
    /// number zeroed: the one field that differs between two programs
    /// sending the same request (the family id does not: both resolve it
    /// from the same kernel, and it is compared).
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.netlink
            .iter()
            .filter(|m| u16::from_ne_bytes([m[4], m[5]]) != 0x10)
            .map(|m| zero_seq(m))
            .collect()
    }

    /// The nlctrl requests, sequence numbers zeroed.
    pub fn ctrl_requests(&self) -> Vec<Vec<u8>> {
        self.netlink
            .iter()
            .filter(|m| u16::from_ne_bytes([m[4], m[5]]) == 0x10)
            .map(|m| zero_seq(m))
            .collect()
    }
}

pub fn zero_seq(m: &[u8]) -> Vec<u8> {
    let mut m = m.to_vec();
    m[8..12].fill(0);
    m
}

/// Runs `argv` in the namespace under strace and the shim (`fake`: the
/// shim answers the RSS GETs veth lacks), with `env` set for it.
pub fn trace(ns: &Netns, argv: &[&str], env: &[(&str, &str)], fake: bool) -> Trace {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    static N: AtomicU32 = AtomicU32::new(0);
    let tag = format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let strace_out = dir.join(format!("ethtool-strace-{tag}.txt"));
    let shim_log = dir.join(format!("ethtool-shim-{tag}.log"));
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, "strace", "-f", "-qq", "-o"])
        .arg(&strace_out)
        .args([
            "-e",
            "trace=ioctl,sendmsg,sendto",
            "-e",
            "write=all",
            "-X",
            "raw",
            "-s",
            "4096",
        ])
        .arg("-E")
        .arg(format!("LD_PRELOAD={}", shim().display()))
        .arg("-E")
        .arg(format!("WL_SHIM_LOG={}", shim_log.display()));
    if fake {
        cmd.args(["-E", "WL_SHIM_FAKE=1"]);
    }
    for (k, v) in env {
        cmd.arg("-E").arg(format!("{k}={v}"));
    }
    cmd.args(argv);
    // ethtool exits non-zero where veth refuses; that is expected here.
    let out = cmd.output().expect("strace");
    let strace = std::fs::read_to_string(&strace_out).unwrap_or_else(|e| {
        panic!(
            "no strace output for {argv:?} ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let log = std::fs::read_to_string(&shim_log).unwrap_or_default();
    let _ = std::fs::remove_file(&strace_out);
    let _ = std::fs::remove_file(&shim_log);
    let (mut ioctls, mut ioctl_replies) = (Vec::new(), Vec::new());
    for line in log.lines() {
        let (list, rest) = match line.strip_prefix("reply ") {
            Some(rest) => (&mut ioctl_replies, rest),
            None => (&mut ioctls, line),
        };
        let (cmd, hex) = rest.split_once(' ').expect("shim log line");
        list.push(Ioctl {
            cmd: u32::from_str_radix(cmd, 16).expect("cmd"),
            bytes: unhex(hex),
        });
    }
    Trace {
        netlink: netlink_dumps(&strace),
        ioctls,
        ioctl_replies,
        strace,
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The messages in strace's `-e write=` dumps: lines like
/// ` | 00010  10 01 00 00 0c 00 01 80  07 00 02 00 76 61 00 00  ....`
/// (offset, then 16 bytes in a 49-column field, then their text); a dump
/// restarts at offset 0 for each syscall, and one dump may hold several
/// messages, split by their nlmsg_len.
fn netlink_dumps(strace: &str) -> Vec<Vec<u8>> {
    let mut dumps: Vec<Vec<u8>> = Vec::new();
    for line in strace.lines() {
        let Some(at) = line.find(" | ") else { continue };
        let rest = &line[at + 3..];
        if rest.len() < 5 + 2 || !rest[..5].bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let hex_field = &rest[7..(7 + 49).min(rest.len())];
        let bytes: Vec<u8> = hex_field
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("dump byte"))
            .collect();
        if &rest[..5] == "00000" {
            dumps.push(bytes);
        } else if let Some(last) = dumps.last_mut() {
            last.extend_from_slice(&bytes);
        }
    }
    let mut messages = Vec::new();
    for d in dumps {
        let mut rest = &d[..];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
            assert!(len >= 16 && len <= rest.len(), "bad message in a dump");
            messages.push(rest[..len].to_vec());
            rest = &rest[(len + 3) & !3..];
        }
    }
    messages
}

/// The top-level attributes of a generic netlink message (after the
/// netlink and genl headers), each with its header and padding.
pub fn attrs(msg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = &msg[20..];
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let padded = ((len + 3) & !3).min(rest.len());
        out.push(rest[..padded].to_vec());
        rest = &rest[padded..];
    }
    out
}
