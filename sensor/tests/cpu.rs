//! The start-up instruction-set check (sensor/src/cpu.rs), on CPUs that
//! qemu's user mode emulates: an x86-64-v3 build must refuse an older CPU
//! with a clear error and exit status 2, and run on a CPU that has what it
//! was built for.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::process::{Command, Output};

fn on_cpu(cpu: &str) -> Output {
    Command::new("qemu-x86_64")
        .args(["-cpu", cpu, env!("CARGO_BIN_EXE_wirelog"), "--version"])
        .output()
        .expect("qemu-x86_64 runs (scripts/setup.sh installs qemu-user)")
}

fn runs(o: &Output) -> bool {
    o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("wirelog ")
}

#[test]
fn an_older_cpu_gets_an_error_not_sigill() {
    // Westmere: SSE4.2, no AVX. Ivy Bridge: AVX without AVX2 or BMI2.
    for cpu in ["Westmere", "IvyBridge"] {
        let o = on_cpu(cpu);
        if !cfg!(target_feature = "avx2") {
            // A baseline build (RUSTFLAGS replaced the default) runs anywhere.
            assert!(runs(&o), "{cpu}: {o:?}");
            continue;
        }
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cpu}: {o:?}");
        assert!(o.stdout.is_empty(), "{cpu}: {o:?}");
        assert!(
            err.contains("wirelog: error: this binary uses instructions this CPU lacks")
                && err.contains("RUSTFLAGS=\"-C target-cpu=native\""),
            "{cpu}: {err}"
        );
    }
}

#[test]
fn a_cpu_with_what_the_build_needs_runs_it() {
    if cfg!(target_feature = "avx512f") {
        // qemu does not emulate AVX-512: a build for this machine
        // (target-cpu=native) runs on it, and is refused on Haswell.
        let o = Command::new(env!("CARGO_BIN_EXE_wirelog"))
            .arg("--version")
            .output()
            .expect("wirelog runs");
        assert!(runs(&o), "{o:?}");
        assert_eq!(on_cpu("Haswell").status.code(), Some(2));
        return;
    }
    // Haswell is x86-64-v3 (what the workspace builds for by default).
    let o = on_cpu("Haswell");
    assert!(runs(&o), "Haswell: {o:?}");
}
