//! Content decoding up to a limit, shared by the analyzers: a body's
//! gzip or deflate coding undone into a buffer made once per worker, its
//! output stopping at the buffer's capacity.

/// Content codings a captured body may need undone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Coding {
    /// None, or one we do not undo.
    #[default]
    Identity,
    /// gzip.
    Gzip,
    /// deflate (zlib, or raw as some servers send).
    Deflate,
}

/// A decompressor and its output buffer (capacity: the body limit), made
/// once per worker.
pub struct Inflate {
    d: flate2::Decompress,
    /// The last output.
    pub out: Vec<u8>,
}

impl Inflate {
    /// For bodies of up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            d: flate2::Decompress::new(false),
            out: Vec::with_capacity(limit),
        }
    }

    /// Inflates `body` into `self.out`; false if it does not decode.
    pub fn run(&mut self, coding: Coding, body: &[u8]) -> bool {
        inflate(&mut self.d, coding, body, &mut self.out)
    }

    /// Whether the last output filled the buffer (the body goes on).
    pub fn full(&self) -> bool {
        self.out.len() == self.out.capacity()
    }
}

/// Undoes a content coding into `out` (capacity: the body limit), up to
/// its capacity. Returns false if the bytes do not decode (then the raw
/// bytes are logged).
fn inflate(d: &mut flate2::Decompress, coding: Coding, body: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let input = match coding {
        Coding::Identity => return false,
        Coding::Gzip => {
            let Some(n) = gzip_header_len(body) else {
                return false;
            };
            d.reset(false);
            &body[n..]
        }
        Coding::Deflate => {
            let zlib = body.len() >= 2
                && body[0] & 0x0f == 8
                && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
            d.reset(zlib);
            body
        }
    };
    // Output past the capacity is not wanted: the call stops there.
    match d.decompress_vec(input, out, flate2::FlushDecompress::Sync) {
        Ok(_) => !out.is_empty() || input.is_empty(),
        Err(_) => !out.is_empty(),
    }
}

/// Length of a gzip member header (RFC 1952), if `b` starts with one.
fn gzip_header_len(b: &[u8]) -> Option<usize> {
    if b.len() < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
        return None;
    }
    let flg = b[3];
    let mut i = 10;
    if flg & 4 != 0 {
        let xlen = usize::from(*b.get(i)?) | usize::from(*b.get(i + 1)?) << 8;
        i += 2 + xlen;
    }
    for bit in [8u8, 16] {
        if flg & bit != 0 {
            i += memchr::memchr(0, b.get(i..)?)? + 1;
        }
    }
    if flg & 2 != 0 {
        i += 2;
    }
    (i <= b.len()).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_headers() {
        let mut h = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
        h.extend_from_slice(b"name\0");
        assert_eq!(gzip_header_len(&h), Some(15));
        assert_eq!(gzip_header_len(&h[..12]), None, "cut inside the name");
        assert_eq!(gzip_header_len(b"\x1f\x8b"), None);
    }
}
