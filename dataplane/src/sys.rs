//! The only place that maps memory and touches raw pointers for the tables
//! (and for [`append`], the record writers' short copy).
//!
//! [`HugeArray`] is a fixed-length, zero-initialised array in an anonymous
//! mapping advised for transparent huge pages (`MADV_HUGEPAGE`; this machine
//! runs THP in madvise mode). It never grows: its length is fixed when a
//! worker starts, from the memory budget.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use memmap2::{Advice, MmapMut};

/// Types whose all-zero bit pattern is a valid value and which own no heap
/// memory, so a fresh anonymous mapping is an array of valid values.
///
/// # Safety
/// Implement only for `Copy` types made of integers, arrays of integers and
/// other `Zeroable` types (no references, no `bool`s set by zero-invalid
/// patterns, no enums without a zero discriminant).
pub unsafe trait Zeroable: Copy {}

// SAFETY: zero is a valid integer.
unsafe impl Zeroable for u8 {}
// SAFETY: zero is a valid integer.
unsafe impl Zeroable for u32 {}
// SAFETY: zero is a valid integer.
unsafe impl Zeroable for u64 {}

/// A fixed-length array of `T` in its own anonymous mapping.
pub struct HugeArray<T: Zeroable> {
    map: MmapMut,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Zeroable> HugeArray<T> {
    /// Maps `len` zeroed elements. With `huge`, asks the kernel for huge
    /// pages; a refusal is not an error (the array still works on 4 KiB
    /// pages).
    pub fn new(len: usize, huge: bool) -> std::io::Result<Self> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| std::io::Error::other("array size overflows"))?
            .max(1);
        assert!(
            std::mem::align_of::<T>() <= 4096,
            "mapping alignment is one page"
        );
        let mut map = MmapMut::map_anon(bytes)?;
        if huge {
            let _ = map.advise(Advice::HugePage);
        }
        // Fault every page in now, in order: the budget is resident from the
        // start and the packet path never takes a page fault (with huge
        // pages a first touch would zero 2 MiB under a packet).
        for b in map.iter_mut().step_by(4096) {
            *b = 0;
        }
        Ok(Self {
            map,
            len,
            _t: PhantomData,
        })
    }

    /// Bytes mapped.
    pub fn bytes(&self) -> usize {
        self.map.len()
    }

    /// Hints the CPU to load the cache line holding element `i`.
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        if i < self.len {
            prefetch_ptr(self.map.as_ptr().wrapping_add(i * std::mem::size_of::<T>()));
        }
    }
}

impl<T: Zeroable> Deref for HugeArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the mapping is page-aligned (so aligned for T), at least
        // len * size_of::<T>() bytes long, zero-initialised (valid for any
        // Zeroable T) and lives as long as self.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: Zeroable> DerefMut for HugeArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref; &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<T>(), self.len) }
    }
}

/// Prefetches the cache line at `p` into all cache levels. Never faults.
#[inline(always)]
pub fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint; it does not dereference p and cannot fault
    // even on an invalid address.
    unsafe {
        core::arch::x86_64::_mm_prefetch(p.cast::<i8>(), core::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Appends `s` to `out`. Short slices (numbers, keys, most record field
/// values) are copied inline: a libc `memcpy` call for every few bytes of a
/// record was a tenth of a worker's time.
#[inline(always)]
pub fn append(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() > 32 {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(s.len());
    let at = out.len();
    // SAFETY: `reserve` made `at..at + s.len()` writable; all of it is
    // written before `set_len`.
    unsafe {
        copy_short(s, out.as_mut_ptr().add(at));
        out.set_len(at + s.len());
    }
}

/// Appends the JSON member `,"key":value` (the comma only when `comma`;
/// `value` between quotes when `quoted`) with one reservation and one
/// length update: a record field is a handful of short pieces, and
/// updating the vector's length after each cost more than copying them.
/// `key` must need no escaping and `value` must be valid JSON text.
#[inline(always)]
pub fn append_member(out: &mut Vec<u8>, comma: bool, key: &[u8], value: &[u8], quoted: bool) {
    let (c, q) = (usize::from(comma), usize::from(quoted));
    let n = c + key.len() + 3 + value.len() + 2 * q;
    out.reserve(n);
    let at = out.len();
    let d = out.as_mut_ptr();
    // SAFETY: `reserve` made `d[at..at + n]` writable. The pieces are
    // written back to back from `at`: the comma (`c` bytes; written
    // always, then overwritten by the quote when `c` is 0), quote, key,
    // quote, colon, opening quote (`q`), value, closing quote (`q`): `n`
    // bytes in all, every one written before `set_len`.
    unsafe {
        let d = d.add(at);
        *d = b',';
        *d.add(c) = b'"';
        copy_short(key, d.add(c + 1));
        let k = c + 1 + key.len();
        *d.add(k) = b'"';
        *d.add(k + 1) = b':';
        copy_short(value, d.add(k + 2 + q));
        if quoted {
            *d.add(k + 2) = b'"';
            *d.add(n - 1) = b'"';
        }
        out.set_len(at + n);
    }
}

/// Appends `a` then `b` with one reservation and one length update.
#[inline(always)]
pub fn append_two(out: &mut Vec<u8>, a: &[u8], b: &[u8]) {
    let n = a.len() + b.len();
    out.reserve(n);
    let at = out.len();
    // SAFETY: `reserve` made `out[at..at + n]` writable; `a` fills its
    // first `a.len()` bytes and `b` the rest before `set_len`.
    unsafe {
        let d = out.as_mut_ptr().add(at);
        copy_short(a, d);
        copy_short(b, d.add(a.len()));
        out.set_len(at + n);
    }
}

/// Copies `s` to `d`: short lengths inline, with two overlapping loads and
/// stores of the widest width `w <= s.len()` (what libc does for short
/// lengths, minus the call), longer ones by `copy_nonoverlapping`.
///
/// # Safety
/// `d` must be valid for `s.len()` bytes of writes and not overlap `s`.
#[inline(always)]
unsafe fn copy_short(s: &[u8], d: *mut u8) {
    let (n, p) = (s.len(), s.as_ptr());
    // SAFETY: offsets are 0 and `n - w` with `w <= n`, so every read is
    // inside `s` and every write inside `d[..n]`, which the caller vouches
    // for.
    unsafe {
        if n > 32 {
            std::ptr::copy_nonoverlapping(p, d, n);
        } else if n >= 16 {
            let a = p.cast::<u128>().read_unaligned();
            let b = p.add(n - 16).cast::<u128>().read_unaligned();
            d.cast::<u128>().write_unaligned(a);
            d.add(n - 16).cast::<u128>().write_unaligned(b);
        } else if n >= 8 {
            let a = p.cast::<u64>().read_unaligned();
            let b = p.add(n - 8).cast::<u64>().read_unaligned();
            d.cast::<u64>().write_unaligned(a);
            d.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = p.cast::<u32>().read_unaligned();
            let b = p.add(n - 4).cast::<u32>().read_unaligned();
            d.cast::<u32>().write_unaligned(a);
            d.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            *d = *p;
            *d.add(n / 2) = *p.add(n / 2);
            *d.add(n - 1) = *p.add(n - 1);
        }
    }
}

/// Whether transparent huge pages can be used by `madvise` on this machine
/// (`/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`).
pub fn thp_available() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .map(|s| s.contains("[always]") || s.contains("[madvise]"))
        .unwrap_or(false)
}

/// A libc return value as a `Result`: negative means `errno`.
pub fn cvt(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `setsockopt(2)` with a value of type `T`.
pub fn setsockopt<T>(
    fd: &impl std::os::fd::AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: &T,
) -> std::io::Result<()> {
    // SAFETY: `v` is a live value of the size passed; the kernel only reads it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// An AF_PACKET raw socket bound to no EtherType yet (protocol 0), so it
/// receives nothing until it is bound to an interface.
pub fn packet_socket() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2), checked.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The CPU's time-stamp counter (constant rate on every CPU this build
/// runs on): a few cycles to read, no system call, so a thread can time
/// each batch it works. Elsewhere, the monotonic clock in nanoseconds.
#[inline]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        crate::time::mono_now_ns()
    }
}

/// CPU time the calling thread has used, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Set by SIGINT or SIGTERM once [`stop_on_signals`] ran.
pub static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set [`STOP`] instead of killing the process,
/// so a capture can end its flows and flush its records.
pub fn stop_on_signals() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain data; zero is a valid start.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: the handler only stores to an atomic; `sa` is valid.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A `kB` field of /proc/self/status, in bytes (0 when absent).
fn status_bytes(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// Peak resident set size of this process, bytes.
pub fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_and_writable() {
        let mut a: HugeArray<u64> = HugeArray::new(1 << 16, true).unwrap();
        assert!(a.iter().all(|&x| x == 0));
        a[65535] = 7;
        assert_eq!(a[65535], 7);
        assert_eq!(a.len(), 1 << 16);
        a.prefetch(1 << 20); // out of range: a no-op, not a fault
    }

    proptest::proptest! {
        /// The inline short copy appends exactly what `extend_from_slice`
        /// does, at every length around each copy width and whatever room
        /// the buffer has left.
        #[test]
        fn append_is_extend(
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
            spare in 0usize..40,
        ) {
            let mut out = Vec::with_capacity(before.len() + spare);
            out.extend_from_slice(&before);
            append(&mut out, &s);
            let mut want = before.clone();
            want.extend_from_slice(&s);
            proptest::prop_assert_eq!(out, want);
        }

        /// A member written in one piece is the member written in pieces.
        #[test]
        fn append_member_is_its_pieces(
            before in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            key in "[a-z_]{0,40}",
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..50),
            comma: bool,
            quoted: bool,
            spare in 0usize..60,
        ) {
            let mut out = Vec::with_capacity(before.len() + spare);
            out.extend_from_slice(&before);
            append_member(&mut out, comma, key.as_bytes(), &value, quoted);
            let mut want = before.clone();
            if comma {
                want.push(b',');
            }
            want.push(b'"');
            want.extend_from_slice(key.as_bytes());
            want.extend_from_slice(b"\":");
            if quoted {
                want.push(b'"');
            }
            want.extend_from_slice(&value);
            if quoted {
                want.push(b'"');
            }
            proptest::prop_assert_eq!(out, want);
        }
    }
}
