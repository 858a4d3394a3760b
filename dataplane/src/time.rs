//! Wall-clock formatting for records: RFC 3339, UTC, microseconds.
//!
//! Written by hand so a record is formatted without allocating and without
//! a time-zone database.

/// Nanoseconds per second and per microsecond.
pub const NS_PER_SEC: u64 = 1_000_000_000;
pub const NS_PER_US: u64 = 1_000;

/// Writes `ns` (since the Unix epoch) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn write_rfc3339_us(out: &mut Vec<u8>, ns: u64) {
    let secs = ns / NS_PER_SEC;
    let micros = (ns % NS_PER_SEC) / NS_PER_US;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut buf = [0u8; 27];
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
    buf[19] = b'.';
    put(&mut buf[20..26], micros);
    buf[26] = b'Z';
    out.extend_from_slice(&buf);
}

fn put(dst: &mut [u8], mut v: u64) {
    for b in dst.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
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

/// Wall-clock nanoseconds since the Unix epoch.
pub fn wall_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
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
