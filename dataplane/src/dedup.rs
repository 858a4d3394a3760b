//! Dropping exact duplicate frames within a short window: the same
//! traffic mirrored from two ports arrives twice, microseconds apart.
//!
//! A direct-mapped table of (frame hash, time); a frame whose hash is in
//! its slot and was seen within the window is a duplicate. Collisions only
//! make the filter forget (miss a duplicate), never drop a distinct frame
//! unless two different frames share a 64-bit hash.

use crate::hash::hash_bytes;

const SLOTS: usize = 4096;

/// The duplicate filter of one capture thread.
pub struct Dedup {
    window_ns: u64,
    slots: Box<[(u64, u64); SLOTS]>,
    /// Frames dropped as duplicates.
    pub dropped: u64,
}

impl Dedup {
    /// A filter with the given window (0 disables it).
    pub fn new(window_ns: u64) -> Self {
        Self {
            window_ns,
            slots: Box::new([(0, 0); SLOTS]),
            dropped: 0,
        }
    }

    /// Whether the filter is on.
    pub fn enabled(&self) -> bool {
        self.window_ns > 0
    }

    /// Whether `frame` at `ts_ns` duplicates a frame seen within the window.
    #[inline]
    pub fn is_duplicate(&mut self, frame: &[u8], ts_ns: u64) -> bool {
        if self.window_ns == 0 {
            return false;
        }
        let h = hash_bytes(frame, 0xd0d0) | 1;
        let s = &mut self.slots[(h as usize) % SLOTS];
        if s.0 == h && ts_ns.saturating_sub(s.1) <= self.window_ns {
            self.dropped += 1;
            return true;
        }
        *s = (h, ts_ns);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let mut d = Dedup::new(1000);
        assert!(!d.is_duplicate(b"abc", 0));
        assert!(d.is_duplicate(b"abc", 500));
        assert!(!d.is_duplicate(b"abd", 600));
        assert!(!d.is_duplicate(b"abc", 5000));
        assert_eq!(d.dropped, 1);
        let mut off = Dedup::new(0);
        assert!(!off.is_duplicate(b"abc", 0) && !off.is_duplicate(b"abc", 0));
    }
}
