//! Fixed-size byte buffers handed out from one mapping made at start.
//!
//! A [`Pool`] owns `count` buffers of `size` bytes each and a free list.
//! Handles are plain `u32` indices, so the structures that hold them stay
//! `Copy` and small; [`NONE`] is the empty handle. Taking a buffer never
//! allocates: an empty free list is the caller's "shed and count" case.

use crate::sys::HugeArray;

/// The empty handle.
pub const NONE: u32 = u32::MAX;

/// A pool of equal byte buffers.
pub struct Pool {
    bytes: HugeArray<u8>,
    size: usize,
    free: Vec<u32>,
    count: usize,
}

impl Pool {
    /// Maps `count` buffers of `size` bytes.
    pub fn new(count: usize, size: usize, huge: bool) -> std::io::Result<Self> {
        let count = count.min(NONE as usize - 1);
        let bytes = HugeArray::new(count.saturating_mul(size), huge)?;
        // Popped from the end: hand out low indices first.
        let free = (0..count as u32).rev().collect();
        Ok(Self {
            bytes,
            size,
            free,
            count,
        })
    }

    /// A free buffer, or `None` when every buffer is in use.
    #[inline]
    pub fn take(&mut self) -> Option<u32> {
        self.free.pop()
    }

    /// Returns buffer `h`; [`NONE`] is ignored.
    #[inline]
    pub fn give(&mut self, h: u32) {
        if h != NONE {
            debug_assert!(self.free.len() < self.count, "buffer given back twice");
            self.free.push(h);
        }
    }

    /// Buffer `h`.
    #[inline]
    pub fn get(&self, h: u32) -> &[u8] {
        let o = h as usize * self.size;
        &self.bytes[o..o + self.size]
    }

    /// Buffer `h`, writable.
    #[inline]
    pub fn get_mut(&mut self, h: u32) -> &mut [u8] {
        let o = h as usize * self.size;
        &mut self.bytes[o..o + self.size]
    }

    /// Bytes per buffer.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Buffers in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Buffers in use.
    pub fn in_use(&self) -> usize {
        self.count - self.free.len()
    }

    /// Bytes mapped.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.bytes() + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_until_empty_then_reuse() {
        let mut p = Pool::new(3, 16, false).unwrap();
        let a: Vec<u32> = (0..3).map(|_| p.take().unwrap()).collect();
        assert_eq!(a, [0, 1, 2]);
        assert_eq!(p.take(), None, "no buffer beyond the count");
        p.get_mut(1).copy_from_slice(&[7; 16]);
        assert_eq!(p.get(1), &[7; 16]);
        assert_eq!(p.get(2), &[0; 16], "buffers do not overlap");
        p.give(1);
        p.give(NONE);
        assert_eq!(p.in_use(), 2);
        assert_eq!(p.take(), Some(1));
    }
}
