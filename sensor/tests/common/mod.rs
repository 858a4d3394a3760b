//! Helpers the integration tests share.
// Each test binary compiles this module and uses its own part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cmd` with bash, failing the test with its stderr when it fails;
/// returns its stdout.
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

/// Runs `wirelog ARGS`, which must fail; returns its stderr (the message
/// a user would read).
pub fn refused<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "wirelog succeeded: {err}");
    err
}

/// Runs `wirelog replay --no-pin ARGS TRACE`, failing the test with its
/// stderr when it fails; returns the record lines and stderr.
pub fn replay(trace: &Path, args: &[&str]) -> (Vec<String>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["replay", "--no-pin"])
        .args(args)
        .arg(trace)
        .output()
        .expect("run wirelog");
    assert!(
        out.status.success(),
        "{}: {}",
        trace.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    (recs, String::from_utf8(out.stderr).unwrap())
}

/// A directory removed with everything in it when dropped (a test that
/// fails leaves nothing behind either).
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new directory under the system's temporary directory.
    pub fn new(name: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a generator profile to `out` with `wirelog bench pcap ARGS`;
/// returns the report it prints (JSON: what it generated).
pub fn bench_pcap(out: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
        .args(["bench", "pcap"])
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}
