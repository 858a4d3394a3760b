//! The instruction-set check, before any code of this binary runs. The
//! workspace builds for x86-64-v3 (`.cargo/config.toml`); on a CPU without
//! those instructions the binary must stop with an error that says so, not
//! die of SIGILL. Rust code cannot make that check: with fat LTO the
//! standard library's start-up code is compiled for x86-64-v3 too and uses
//! AVX before `main`. So it is written in assembly and run as the first
//! ELF constructor (`.init_array.00001`: numbered constructors run in
//! order before unnumbered ones, and the standard library's own is
//! `.00099`; the C library's and the loader's, which run before, are not
//! ours). It asks for the x86-64-v2 and -v3 features and AVX-512's
//! foundation the build was compiled with; a build for one particular CPU
//! (`target-cpu=native`) may use others it does not ask for.
#![allow(unsafe_code)]

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod check {
    const fn bit(on: bool, b: u32) -> u32 {
        if on {
            1 << b
        } else {
            0
        }
    }

    const AVX: bool = cfg!(target_feature = "avx");
    const AVX512: bool = cfg!(target_feature = "avx512f");
    /// CPUID leaf 1, ECX. OSXSAVE (27) comes with AVX: XGETBV needs it.
    const LEAF1_ECX: u32 = bit(cfg!(target_feature = "sse3"), 0)
        | bit(cfg!(target_feature = "ssse3"), 9)
        | bit(cfg!(target_feature = "fma"), 12)
        | bit(cfg!(target_feature = "cmpxchg16b"), 13)
        | bit(cfg!(target_feature = "sse4.1"), 19)
        | bit(cfg!(target_feature = "sse4.2"), 20)
        | bit(cfg!(target_feature = "movbe"), 22)
        | bit(cfg!(target_feature = "popcnt"), 23)
        | bit(AVX, 27)
        | bit(AVX, 28)
        | bit(cfg!(target_feature = "f16c"), 29);
    /// CPUID leaf 7 (sub-leaf 0), EBX.
    const LEAF7_EBX: u32 = bit(cfg!(target_feature = "bmi1"), 3)
        | bit(cfg!(target_feature = "avx2"), 5)
        | bit(cfg!(target_feature = "bmi2"), 8)
        | bit(AVX512, 16)
        | bit(cfg!(target_feature = "avx512dq"), 17)
        | bit(cfg!(target_feature = "avx512cd"), 28)
        | bit(cfg!(target_feature = "avx512bw"), 30)
        | bit(cfg!(target_feature = "avx512vl"), 31);
    /// CPUID leaf 0x8000_0001, ECX: LZCNT.
    const EXT_ECX: u32 = bit(cfg!(target_feature = "lzcnt"), 5);
    /// XCR0: the OS saves SSE and AVX state (and AVX-512's opmask and
    /// upper registers).
    const XCR0: u32 = bit(AVX, 1) | bit(AVX, 2) | if AVX512 { 0xe0 } else { 0 };

    const TEXT: &[u8] = b"wirelog: error: this binary uses instructions this CPU lacks: it was \
built for x86-64-v3 (AVX2, BMI2, FMA, MOVBE: Intel Haswell, AMD Excavator and later CPUs) \
or for a newer CPU than this one. Rebuild it on this machine with RUSTFLAGS=\"-C target-cpu=native\" cargo build --release \
(README, \"Older CPUs\").\n";
    #[used]
    static MESSAGE: [u8; TEXT.len()] = {
        let mut m = [0; TEXT.len()];
        let mut i = 0;
        while i < m.len() {
            m[i] = TEXT[i];
            i += 1;
        }
        m
    };

    // Exit status 2, as for any other start-up error. Labels avoid 0 and
    // 1 (Intel syntax reads `1b` as a binary number).
    // SAFETY: a leaf function called once by the C runtime with no
    // arguments: it saves the one callee-saved register it uses (rbx,
    // which CPUID writes), uses only caller-saved ones besides (rax, rcx,
    // rdx, rsi, rdi, r8-r11), calls nothing (so stack alignment does not
    // matter), reads only its own message, and on the error path never
    // returns (exit_group).
    std::arch::global_asm!(
        ".pushsection .text.wirelog_cpu_check,\"ax\",@progbits",
        ".p2align 4",
        ".type wirelog_cpu_check,@function",
        "wirelog_cpu_check:",
        "push rbx",
        "xor eax, eax",
        "cpuid",
        "mov r10d, eax", // the highest basic leaf
        "mov eax, 1",
        "cpuid",
        "and ecx, {leaf1}",
        "cmp ecx, {leaf1}",
        "jne 4f",
        // Leaf 7 and the extended leaf only when the build needs them (an
        // old CPU may not have them at all).
        "mov r9d, {leaf7}",
        "test r9d, r9d",
        "jz 5f",
        "cmp r10d, 7",
        "jb 4f",
        "mov eax, 7",
        "xor ecx, ecx",
        "cpuid",
        "and ebx, r9d",
        "cmp ebx, r9d",
        "jne 4f",
        "5:",
        "mov r9d, {ext}",
        "test r9d, r9d",
        "jz 6f",
        "mov eax, 0x80000000",
        "cpuid",
        "cmp eax, 0x80000001",
        "jb 4f",
        "mov eax, 0x80000001",
        "cpuid",
        "and ecx, r9d",
        "cmp ecx, r9d",
        "jne 4f",
        "6:",
        "mov r8d, {xcr0}",
        "test r8d, r8d",
        "jz 3f",
        "xor ecx, ecx",
        "xgetbv",
        "and eax, r8d",
        "cmp eax, r8d",
        "jne 4f",
        "3:",
        "pop rbx",
        "ret",
        "4:",
        "mov eax, 1", // write(2, MESSAGE, len)
        "mov edi, 2",
        "lea rsi, [rip + {msg}]",
        "mov edx, {len}",
        "syscall",
        "mov eax, 231", // exit_group(2)
        "mov edi, 2",
        "syscall",
        "ud2",
        ".size wirelog_cpu_check, . - wirelog_cpu_check",
        ".popsection",
        ".pushsection .init_array.00001,\"aw\"",
        ".p2align 3",
        ".quad wirelog_cpu_check",
        ".popsection",
        leaf1 = const LEAF1_ECX,
        leaf7 = const LEAF7_EBX,
        ext = const EXT_ECX,
        xcr0 = const XCR0,
        msg = sym MESSAGE,
        len = const TEXT.len(),
    );
}
