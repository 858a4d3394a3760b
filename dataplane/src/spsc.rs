//! A fixed-slot single-producer single-consumer ring.
//!
//! Slots are written and read in place ([`Producer::push_with`],
//! [`Consumer::pop_with`]), so a packet copy crosses cores once. Capacity is
//! a power of two fixed at creation; a full ring refuses the push and the
//! producer decides (a live capture drops and counts, a file replay waits).
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[repr(align(128))]
struct Padded(AtomicUsize);

struct Ring<T> {
    slots: Box<[UnsafeCell<T>]>,
    mask: usize,
    head: Padded,
    tail: Padded,
    closed: AtomicBool,
}

// SAFETY: the producer only writes slots in [tail, head + cap) it owns and
// the consumer only reads slots in [head, tail); the Acquire/Release pairs
// on head and tail order those accesses. T: Send moves across threads.
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Ring<T> {}

/// The writing end.
pub struct Producer<T> {
    ring: Arc<Ring<T>>,
}

/// The reading end.
pub struct Consumer<T> {
    ring: Arc<Ring<T>>,
}

/// A ring of `capacity` (rounded up to a power of two) slots, each
/// initialised by `init`.
pub fn ring<T: Send>(capacity: usize, init: impl Fn() -> T) -> (Producer<T>, Consumer<T>) {
    let cap = capacity.max(2).next_power_of_two();
    let slots: Box<[UnsafeCell<T>]> = (0..cap).map(|_| UnsafeCell::new(init())).collect();
    let ring = Arc::new(Ring {
        slots,
        mask: cap - 1,
        head: Padded(AtomicUsize::new(0)),
        tail: Padded(AtomicUsize::new(0)),
        closed: AtomicBool::new(false),
    });
    (Producer { ring: ring.clone() }, Consumer { ring })
}

impl<T> Producer<T> {
    /// Fills the next free slot with `f`; false if the ring is full.
    #[inline]
    pub fn push_with(&mut self, f: impl FnOnce(&mut T)) -> bool {
        let r = &*self.ring;
        let tail = r.tail.0.load(Ordering::Relaxed);
        let head = r.head.0.load(Ordering::Acquire);
        if tail.wrapping_sub(head) > r.mask {
            return false;
        }
        // SAFETY: slot `tail` is outside [head, tail), so the consumer does
        // not read it until the Release store below publishes it; only this
        // (single) producer writes slots.
        f(unsafe { &mut *r.slots[tail & r.mask].get() });
        r.tail.0.store(tail.wrapping_add(1), Ordering::Release);
        true
    }

    /// Fills the next `k` free slots with `f(j, slot)`, all or none: the
    /// consumer sees them together. False if fewer than `k` are free.
    #[inline]
    pub fn push_many(&mut self, k: usize, mut f: impl FnMut(usize, &mut T)) -> bool {
        let r = &*self.ring;
        let tail = r.tail.0.load(Ordering::Relaxed);
        let head = r.head.0.load(Ordering::Acquire);
        if tail.wrapping_sub(head) + k > r.mask + 1 {
            return false;
        }
        for j in 0..k {
            // SAFETY: as in push_with; slots tail..tail+k are free and
            // unpublished until the one Release store below.
            f(j, unsafe {
                &mut *r.slots[tail.wrapping_add(j) & r.mask].get()
            });
        }
        r.tail.0.store(tail.wrapping_add(k), Ordering::Release);
        true
    }

    /// Slots in use.
    pub fn len(&self) -> usize {
        let r = &*self.ring;
        r.tail
            .0
            .load(Ordering::Relaxed)
            .wrapping_sub(r.head.0.load(Ordering::Acquire))
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tells the consumer no more items come.
    pub fn close(&self) {
        self.ring.closed.store(true, Ordering::Release);
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> Consumer<T> {
    /// Reads up to `max` items in order with `f`; returns how many.
    #[inline]
    pub fn pop_with(&mut self, max: usize, mut f: impl FnMut(&T)) -> usize {
        let r = &*self.ring;
        let head = r.head.0.load(Ordering::Relaxed);
        let tail = r.tail.0.load(Ordering::Acquire);
        let n = tail.wrapping_sub(head).min(max);
        for k in 0..n {
            // SAFETY: slots in [head, tail) were published by the producer's
            // Release store and are not written again until head passes them.
            f(unsafe { &*r.slots[head.wrapping_add(k) & r.mask].get() });
        }
        r.head.0.store(head.wrapping_add(n), Ordering::Release);
        n
    }

    /// Like [`Consumer::pop_with`], then goes on past `max` while the next
    /// item satisfies `more` (the rest of a group pushed together).
    #[inline]
    pub fn pop_groups(
        &mut self,
        max: usize,
        more: impl Fn(&T) -> bool,
        mut f: impl FnMut(&T),
    ) -> usize {
        let r = &*self.ring;
        let head = r.head.0.load(Ordering::Relaxed);
        let tail = r.tail.0.load(Ordering::Acquire);
        let avail = tail.wrapping_sub(head);
        let mut n = avail.min(max);
        // SAFETY (both reads): slots in [head, tail) are published (see
        // pop_with).
        let at = |k: usize| unsafe { &*r.slots[head.wrapping_add(k) & r.mask].get() };
        while n < avail && more(at(n)) {
            n += 1;
        }
        for k in 0..n {
            f(at(k));
        }
        r.head.0.store(head.wrapping_add(n), Ordering::Release);
        n
    }

    /// Whether the producer closed the ring and everything was read.
    pub fn finished(&self) -> bool {
        let r = &*self.ring;
        r.closed.load(Ordering::Acquire)
            && r.head.0.load(Ordering::Relaxed) == r.tail.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_capacity_across_threads() {
        let (mut p, mut c) = ring(8, || 0u64);
        assert_eq!(p.len(), 0);
        let t = std::thread::spawn(move || {
            let mut next = 0u64;
            while !c.finished() {
                c.pop_with(3, |&v| {
                    assert_eq!(v, next);
                    next += 1;
                });
            }
            next
        });
        for i in 0..100_000u64 {
            while !p.push_with(|s| *s = i) {
                std::thread::yield_now();
            }
        }
        drop(p);
        assert_eq!(t.join().unwrap(), 100_000);
    }

    #[test]
    fn groups_arrive_whole() {
        let (mut p, mut c) = ring(8, || 0u64);
        // A group of 3: [10, 11, 12]; items >= 11 continue the one before.
        assert!(p.push_with(|s| *s = 1));
        assert!(p.push_many(3, |j, s| *s = 10 + j as u64));
        assert!(!p.push_many(5, |_, _| ()), "only 4 slots free");
        let mut got = Vec::new();
        assert_eq!(c.pop_groups(2, |&v| v > 10, |&v| got.push(v)), 4);
        assert_eq!(
            got,
            [1, 10, 11, 12],
            "max 2, but the group's tail came with it"
        );
    }
}
