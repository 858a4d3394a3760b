//! Helpers the integration tests share.
// Each test binary compiles this module and uses its own part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

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
