//! Transaction buffers: what a request leaves behind until its response
//! completes it, taken from a per-worker pool made at start.
//!
//! A [`TxnBuf`] holds the transaction's fields already written as JSON
//! members (`,"key":value` pairs, see [`JsonWriter::fragment`]), and up to
//! the body limit of each side's body. Every writer checks the room left
//! before it writes ([`TxnBuf::room`]), so no buffer ever grows past the
//! capacity it was made with.
//!
//! [`JsonWriter::fragment`]: crate::record::json::JsonWriter::fragment

/// One transaction's buffer.
pub struct TxnBuf {
    /// JSON members written so far.
    pub frag: Vec<u8>,
    /// Captured body bytes per side (request, response).
    pub body: [Vec<u8>; 2],
}

impl TxnBuf {
    /// Bytes the fragment can still take.
    pub fn room(&self) -> usize {
        self.frag.capacity() - self.frag.len()
    }
}

/// What a buffer holds: the fragment's bytes, and each side's body bytes
/// (the analyzers' limits decide both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnSize {
    /// Bytes of the fields written as JSON members.
    pub frag: usize,
    /// Body bytes kept per side.
    pub body: usize,
}

impl TxnSize {
    /// Bytes one buffer takes.
    pub fn buffer_bytes(self) -> usize {
        self.frag + 2 * self.body + std::mem::size_of::<TxnBuf>() + 4
    }
}

/// The pool.
pub struct TxnPool {
    bufs: Vec<TxnBuf>,
    free: Vec<u32>,
}

impl TxnPool {
    /// `count` buffers of `size`.
    pub fn new(count: usize, size: TxnSize) -> Self {
        let bufs = (0..count)
            .map(|_| TxnBuf {
                frag: Vec::with_capacity(size.frag),
                body: [Vec::with_capacity(size.body), Vec::with_capacity(size.body)],
            })
            .collect();
        Self {
            bufs,
            free: (0..count as u32).rev().collect(),
        }
    }

    /// A free buffer, emptied, or `None`.
    pub fn take(&mut self) -> Option<u32> {
        let h = self.free.pop()?;
        let b = &mut self.bufs[h as usize];
        b.frag.clear();
        b.body[0].clear();
        b.body[1].clear();
        Some(h)
    }

    /// Returns buffer `h` ([`super::pool::NONE`] is ignored).
    pub fn give(&mut self, h: u32) {
        if (h as usize) < self.bufs.len() {
            self.free.push(h);
        }
    }

    /// Buffer `h`.
    pub fn get(&mut self, h: u32) -> Option<&mut TxnBuf> {
        self.bufs.get_mut(h as usize)
    }

    /// Buffers in use.
    pub fn in_use(&self) -> usize {
        self.bufs.len() - self.free.len()
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.bufs
            .iter()
            .map(|b| {
                b.frag.capacity()
                    + b.body[0].capacity()
                    + b.body[1].capacity()
                    + std::mem::size_of::<TxnBuf>()
            })
            .sum::<usize>()
            + self.free.capacity() * 4
    }
}
