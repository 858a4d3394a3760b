//! Records and how they are written.
//!
//! A record writes its fields into a [`FieldSink`]; the sink decides the
//! encoding. [`json::JsonWriter`] writes one JSON object per line with
//! nested maps; the GELF output flattens the same calls by the one rule of
//! DESIGN.md. Records are written where they are produced (the worker), into
//! buffers that are handed to the output thread whole.

pub mod json;

/// Where a record's fields go.
pub trait FieldSink {
    /// A string known to be valid UTF-8.
    fn str(&mut self, key: &str, v: &str);
    /// Text from the wire: written losslessly even when not UTF-8.
    fn text(&mut self, key: &str, v: &[u8]);
    /// An unsigned integer.
    fn u64(&mut self, key: &str, v: u64);
    /// A floating-point number.
    fn f64(&mut self, key: &str, v: f64);
    /// A boolean.
    fn bool(&mut self, key: &str, v: bool);
    /// A time, ns since the Unix epoch, written as RFC 3339 UTC.
    fn time(&mut self, key: &str, ns: u64);
    /// An IP address.
    fn ip(&mut self, key: &str, v: std::net::IpAddr);
    /// Opens a nested map.
    fn begin_map(&mut self, key: &str);
    /// Closes the innermost map.
    fn end_map(&mut self);
    /// Opens a list; the values inside it ignore their keys.
    fn begin_list(&mut self, key: &str);
    /// Closes the innermost list.
    fn end_list(&mut self);
}

/// Buffers records are written into, handed out by the output side.
pub trait RecordOut {
    /// A buffer with room for at least one more record of up to
    /// [`MAX_RECORD`] bytes, or `None` when no buffer is free (the caller
    /// drops the record and counts it).
    fn buffer(&mut self) -> Option<&mut Vec<u8>>;
    /// Hands any partly filled buffer to the output.
    fn flush(&mut self);
}

/// `v` in decimal, written into `buf`; the digits are the returned slice.
#[inline]
pub fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// The largest record a worker writes.
pub const MAX_RECORD: usize = 64 * 1024;

/// A [`RecordOut`] collecting everything in memory (tests, tools).
#[derive(Default)]
pub struct VecOut {
    /// All records written, one per line.
    pub buf: Vec<u8>,
}

impl RecordOut for VecOut {
    fn buffer(&mut self) -> Option<&mut Vec<u8>> {
        Some(&mut self.buf)
    }
    fn flush(&mut self) {}
}
