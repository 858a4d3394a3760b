//! Pure parsing for the template protocol: one message is one line.

/// Longest line: longer ones are not this protocol.
pub const MAX_LINE: usize = 1024;

/// The length of the first line including its `\n`, or `None` if it has
/// not ended yet.
pub fn line_end(data: &[u8]) -> Option<usize> {
    data.iter().position(|&c| c == b'\n').map(|i| i + 1)
}

/// The protocol an `UPGRADE <name>` line asks for.
pub fn upgrade(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"UPGRADE ")?;
    let name = rest.split(|c| c.is_ascii_whitespace()).next()?;
    std::str::from_utf8(name).ok()
}

/// Whether `data` can start a message (printable ASCII).
pub fn probe(data: &[u8]) -> bool {
    data.iter()
        .take(16)
        .all(|&c| c == b'\r' || c == b'\n' || (0x20..0x7f).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(line_end(b"ab\ncd"), Some(3));
        assert_eq!(line_end(b"ab"), None);
        assert!(probe(b"HELLO\r\n") && !probe(b"\x00\x01"));
    }
}
