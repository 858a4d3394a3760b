//! Builds wirelog's XDP program (`bpf/wirelog_xdp.c`) into an object file
//! the capture module embeds: clang's BPF target, with BTF for libbpf's
//! map definitions, debug sections stripped. The same clang builds the
//! libxdp/libbpf that xsk-rs vendors, so nothing new is needed.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "bpf/wirelog_xdp.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("wirelog_xdp.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // <linux/bpf.h> pulls in <asm/types.h>, which lives under the host's
    // multiarch directory; the BPF target does not search it by itself.
    let multiarch = Command::new("gcc")
        .arg("-dumpmachine")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "x86_64-linux-gnu".into());
    let status = Command::new(&clang)
        .args([
            "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-Wall", "-Werror",
        ])
        .arg(format!("-I/usr/include/{multiarch}"))
        .args(["-c", src, "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to build {src} ({s})"),
        Err(e) => panic!(
            "cannot run {clang} ({e}): the XDP program needs clang (Debian: `apt-get install clang`, which scripts/setup.sh does)"
        ),
    }
    // BTF stays (libbpf needs it for the maps); DWARF goes.
    for strip in ["llvm-strip", "llvm-strip-14"] {
        if Command::new(strip)
            .arg("-g")
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success())
        {
            break;
        }
    }
}
