//! One protocol's sessions and parked states, sized at start.
//!
//! A session is a flow in a transaction: its two directions' reassembly
//! and the analyzer's state. Sessions are given back when the connection
//! rests between transactions; what the analyzer keeps meanwhile (its
//! [`Analyzer::Parked`]) goes to a parked slot of the same protocol.
//! Both pools are per protocol, so a protocol with a large state does not
//! shrink how many sessions the others get. A slot given back keeps its
//! bytes, for [`Slab::open`] to reset in place.

use super::analyzer::{Analyzer, ProtoConfig};
use super::stream::Dir;
use super::AppConfig;

/// One analyzed flow: reassembly per direction and the analyzer's state.
pub(super) struct Session<A> {
    pub(super) dirs: [Dir; 2],
    pub(super) a: A,
}

/// One protocol's pools.
pub(super) struct Slab<A: Analyzer> {
    pub(super) sessions: Vec<Option<Session<A>>>,
    free: Vec<u32>,
    parked: Vec<A::Parked>,
    parked_free: Vec<u32>,
}

impl<A: Analyzer> Slab<A> {
    /// The pools `c` sizes (none when the protocol is off).
    pub(super) fn new(c: &ProtoConfig<A::Limits>) -> Self {
        let n = if c.enabled { c.sessions } else { 0 };
        let mut sessions = Vec::with_capacity(n);
        sessions.resize_with(n, || None);
        // A state of no bytes needs no slots: every parked flow shares
        // slot 0.
        let p = if c.enabled && std::mem::size_of::<A::Parked>() > 0 {
            c.parked
        } else {
            0
        };
        Self {
            sessions,
            free: (0..n as u32).rev().collect(),
            parked: vec![A::Parked::default(); p],
            parked_free: (0..p as u32).rev().collect(),
        }
    }

    /// A free session, or `None`.
    #[inline]
    pub(super) fn take(&mut self) -> Option<u32> {
        self.free.pop()
    }

    /// Gives session `k` back.
    #[inline]
    pub(super) fn give(&mut self, k: u32) {
        self.free.push(k);
    }

    /// Makes session `k` a new one for a flow over `tcp`, resuming
    /// `parked` (`None`: a new flow).
    pub(super) fn open(
        &mut self,
        k: u32,
        dirs: [Dir; 2],
        tcp: bool,
        cfg: &AppConfig,
        parked: Option<A::Parked>,
    ) {
        let parked = parked.unwrap_or_default();
        match &mut self.sessions[k as usize] {
            Some(s) => {
                s.dirs = dirs;
                s.a.reset(tcp, cfg, parked);
            }
            slot => {
                *slot = Some(Session {
                    dirs,
                    a: A::new(tcp, cfg, parked),
                })
            }
        }
    }

    /// Keeps `v` for a connection at rest: its slot, or `None` when every
    /// slot is taken.
    #[inline]
    pub(super) fn park(&mut self, v: A::Parked) -> Option<u32> {
        if std::mem::size_of::<A::Parked>() == 0 {
            return Some(0);
        }
        let k = self.parked_free.pop()?;
        self.parked[k as usize] = v;
        Some(k)
    }

    /// Takes back what slot `k` kept.
    #[inline]
    pub(super) fn unpark(&mut self, k: u32) -> A::Parked {
        if std::mem::size_of::<A::Parked>() == 0 {
            return A::Parked::default();
        }
        self.parked_free.push(k);
        self.parked[k as usize]
    }

    /// Sessions in use.
    pub(super) fn active(&self) -> usize {
        self.sessions.len() - self.free.len()
    }

    /// Bytes held.
    pub(super) fn memory_bytes(&self) -> usize {
        self.sessions.capacity() * std::mem::size_of::<Option<Session<A>>>()
            + self.free.capacity() * 4
            + self.parked.capacity() * std::mem::size_of::<A::Parked>()
            + self.parked_free.capacity() * 4
    }
}

/// Bytes one session of `A` takes, with its free-list entry.
pub(super) fn session_bytes<A: Analyzer>() -> usize {
    std::mem::size_of::<Option<Session<A>>>() + 4
}

/// Bytes one parked slot of `A` takes (0: it keeps nothing).
pub(super) fn parked_bytes<A: Analyzer>() -> usize {
    match std::mem::size_of::<A::Parked>() {
        0 => 0,
        n => n + 4,
    }
}
