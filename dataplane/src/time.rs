//! Wall-clock formatting for records: RFC 3339, UTC, microseconds.
//!
//! Written by hand so a record is formatted without allocating and without
//! a time-zone database.

use std::cell::Cell;

/// Nanoseconds per second and per microsecond.
pub const NS_PER_SEC: u64 = 1_000_000_000;
pub const NS_PER_US: u64 = 1_000;

/// Writes `ns` (since the Unix epoch) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn write_rfc3339_us(out: &mut Vec<u8>, ns: u64) {
    crate::sys::append(out, &rfc3339_us(ns));
}

thread_local! {
    /// The second last formatted on this thread and its text up to the
    /// seconds: a record's times, and consecutive records', mostly share
    /// one, and the calendar arithmetic was most of the formatting.
    static LAST_SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// `ns` (since the Unix epoch) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339_us(ns: u64) -> [u8; 27] {
    let secs = ns / NS_PER_SEC;
    let micros = (ns % NS_PER_SEC) / NS_PER_US;
    let mut buf = [0u8; 27];
    let (last, head) = LAST_SECOND.get();
    if last == secs {
        buf[..19].copy_from_slice(&head);
    } else {
        let days = (secs / 86_400) as i64;
        let sod = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        put(&mut buf[0..4], y as u64);
        buf[4] = b'-';
        put(&mut buf[5..7], m as u64);
        buf[7] = b'-';
        put(&mut buf[8..10], d as u64);
        buf[10] = b'T';
        put(&mut buf[11..13], sod / 3600);
        buf[13] = b':';
        put(&mut buf[14..16], (sod / 60) % 60);
        buf[16] = b':';
        put(&mut buf[17..19], sod % 60);
        let mut head = [0; 19];
        head.copy_from_slice(&buf[..19]);
        LAST_SECOND.set((secs, head));
    }
    buf[19] = b'.';
    put(&mut buf[20..26], micros);
    buf[26] = b'Z';
    buf
}

/// Writes `v` as `dst.len()` digits (an even number), two at a time.
fn put(dst: &mut [u8], mut v: u64) {
    for pair in dst.rchunks_exact_mut(2) {
        crate::record::two_digits(pair, v);
        v /= 100;
    }
}

/// Howard Hinnant's days-to-civil: proleptic Gregorian date of `z` days
/// after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days from 1970-01-01 to the proleptic Gregorian date (Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses what [`write_rfc3339_us`] writes (`YYYY-MM-DDTHH:MM:SS.ffffffZ`,
/// any number of fraction digits) back to nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || *b.last()? != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<u64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut frac_ns = 0u64;
    let rest = &s[19..s.len() - 1];
    if let Some(f) = rest.strip_prefix('.') {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac_ns = f.parse::<u64>().ok()? * 10u64.pow(9 - f.len() as u32);
    } else if !rest.is_empty() {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + se;
    Some(secs * NS_PER_SEC + frac_ns)
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn wall_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of the kernel's
/// `bpf_ktime_get_ns`, which wirelog's XDP program stamps frames with.
#[allow(unsafe_code)]
pub fn mono_now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * NS_PER_SEC + t.tv_nsec as u64
}

/// The offset that turns a CLOCK_MONOTONIC time into wall-clock time, kept
/// by each capture lane. Both clocks are slewed alike by NTP, so the offset
/// moves only when the wall clock is stepped and durations taken on the
/// monotonic clock stay exact. Reading the two clocks one after the other is
/// off by however long the thread was interrupted between the reads: on this
/// project's 2-vCPU VM 1 in ~7,000 pairs was split by more than 0.2 µs, up
/// to 0.2 ms, which moved every frame of a batch by as much. So a reading is
/// kept only when two monotonic reads bracket the wall read tightly;
/// otherwise the last good offset stays.
#[derive(Debug, Clone, Copy)]
pub struct MonoWall {
    offset: u64,
}

impl MonoWall {
    /// The widest bracket a kept reading may have (a clean one takes
    /// ~0.1 µs; 1 µs keeps the error under a microsecond).
    pub const BRACKET_NS: u64 = 1_000;

    /// Takes the first tight reading of a few; if none is (a thread that
    /// is interrupted constantly), the tightest one.
    pub fn new() -> Self {
        let mut best = (u64::MAX, 0);
        for _ in 0..64 {
            let (gap, offset) = Self::read();
            if gap < best.0 {
                best = (gap, offset);
            }
            if gap <= Self::BRACKET_NS {
                break;
            }
        }
        MonoWall { offset: best.1 }
    }

    /// One bracketed reading: (bracket width, offset at its middle).
    fn read() -> (u64, u64) {
        let m1 = mono_now_ns();
        let w = wall_now_ns();
        let m2 = mono_now_ns();
        let gap = m2.saturating_sub(m1);
        (gap, w.wrapping_sub(m1 + gap / 2))
    }

    /// Takes a new reading (once per batch: a wall-clock step shows within
    /// one); returns whether it was tight enough to keep.
    pub fn refresh(&mut self) -> bool {
        let (gap, offset) = Self::read();
        let keep = gap <= Self::BRACKET_NS;
        if keep {
            self.offset = offset;
        }
        keep
    }

    /// Wall-clock time of a CLOCK_MONOTONIC time.
    #[inline]
    pub fn wall(&self, mono_ns: u64) -> u64 {
        mono_ns.wrapping_add(self.offset)
    }
}

impl Default for MonoWall {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ns: u64) -> String {
        let mut v = Vec::new();
        write_rfc3339_us(&mut v, ns);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn mono_wall_offset_agrees_with_the_wall_clock() {
        let mut c = MonoWall::new();
        for _ in 0..1000 {
            c.refresh();
            let before = wall_now_ns();
            let t = c.wall(mono_now_ns());
            let after = wall_now_ns();
            // Within the two wall reads, give or take the bracket.
            assert!(
                t + MonoWall::BRACKET_NS >= before && t <= after + MonoWall::BRACKET_NS,
                "{before} {t} {after}"
            );
        }
    }

    #[test]
    fn parse_is_the_inverse() {
        for ns in [
            0,
            1_234_567_890_123_456_000,
            951_782_400 * NS_PER_SEC,
            4_102_444_799 * NS_PER_SEC + 999_999_000,
        ] {
            assert_eq!(parse_rfc3339(&fmt(ns)), Some(ns), "{}", fmt(ns));
        }
        assert_eq!(
            parse_rfc3339("2009-02-13T23:31:30Z"),
            Some(1_234_567_890 * NS_PER_SEC)
        );
        for bad in [
            "",
            "2009-02-13 23:31:30Z",
            "2009-13-13T23:31:30Z",
            "2009-02-13T23:31:30.Z",
            "2009-02-13T23:31:30+01:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    /// The cached second is only reused for the same second: times in
    /// one second, then another, then back, each read back exactly.
    #[test]
    fn repeated_and_alternating_seconds() {
        let a = 1_234_567_890 * NS_PER_SEC;
        let b = 951_782_400 * NS_PER_SEC;
        for ns in [
            a,
            a + 5_000,
            a + 999_999_000,
            a + NS_PER_SEC,
            b,
            a,
            b + 1_000,
            b,
            0,
            a,
        ] {
            assert_eq!(parse_rfc3339(&fmt(ns)), Some(ns), "{}", fmt(ns));
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000000Z");
        // 2009-02-13T23:31:30Z is 1234567890.
        assert_eq!(
            fmt(1_234_567_890_123_456_789),
            "2009-02-13T23:31:30.123456Z"
        );
        // A leap day.
        assert_eq!(fmt(951_782_400 * NS_PER_SEC), "2000-02-29T00:00:00.000000Z");
        assert_eq!(
            fmt(4_102_444_799 * NS_PER_SEC),
            "2099-12-31T23:59:59.000000Z"
        );
    }
}
