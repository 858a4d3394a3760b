//! Sessions and parked states, sized at start.
//!
//! A session is a flow in a transaction: its two directions' reassembly
//! and its analyzer's state. Every protocol's sessions come from one pool
//! of equal slots, so a flow of any protocol can take any free slot; a
//! slot holds at most [`MAX_STATE`] bytes of analyzer state, checked at
//! compile time for every registered analyzer, so no protocol's state can
//! grow the slots and shrink how many sessions the others get (what a
//! protocol must keep beyond that lives in transaction buffers, as
//! Redis's open commands do). A slot given back keeps its bytes, for
//! [`open`] to reset in place when the same protocol takes it again.
//!
//! Sessions are given back when the connection rests between
//! transactions; what the analyzer keeps meanwhile (its
//! [`Analyzer::Parked`]) goes to a parked slot of its protocol's
//! [`Parking`].

use super::analyzer::{Analyzer, ProtoConfig};
use super::registry::{Registered, State};
use super::stream::Dir;
use super::AppConfig;

/// The most bytes an analyzer's state may take in a session.
pub const MAX_STATE: usize = 2048;

/// One analyzed flow: reassembly per direction and the analyzer's state.
pub(super) struct Session {
    pub(super) dirs: [Dir; 2],
    pub(super) state: State,
    /// The protocol that handed the flow over to this one.
    pub(super) from: Option<super::Proto>,
}

/// Makes `slot` a session of `A` for a flow over `tcp`, resuming `parked`
/// (`None`: a new flow); a slot that held `A` is reset in place.
pub(super) fn open<A: Registered>(
    slot: &mut Option<Session>,
    dirs: [Dir; 2],
    tcp: bool,
    cfg: &AppConfig,
    parked: Option<A::Parked>,
) {
    let parked = parked.unwrap_or_default();
    if let Some(Session {
        dirs: d,
        state,
        from,
    }) = slot.as_mut()
    {
        if let Some(a) = A::state(state) {
            a.reset(tcp, cfg, parked);
            *d = dirs;
            *from = None;
            return;
        }
    }
    *slot = Some(Session {
        dirs,
        state: A::new(tcp, cfg, parked).into_state(),
        from: None,
    });
}

/// Bytes one session slot takes, with its free-list entry.
pub(super) fn session_bytes() -> usize {
    std::mem::size_of::<Option<Session>>() + 4
}

/// A parked value that names a slot rather than a packed state.
pub(super) const IN_SLOT: u32 = 1 << super::analyzer::PACK_BITS;

/// One protocol's parked states.
pub(super) struct Parking<A: Analyzer> {
    parked: Vec<A::Parked>,
    free: Vec<u32>,
}

impl<A: Analyzer> Parking<A> {
    /// The slots `c` sizes (none when the protocol is off, or keeps
    /// nothing).
    pub(super) fn new(c: &ProtoConfig<A::Limits>) -> Self {
        // A state of no bytes needs no slots.
        let p = if c.enabled && parked_bytes::<A>() > 0 {
            c.parked
        } else {
            0
        };
        Self {
            parked: vec![A::Parked::default(); p],
            free: (0..p as u32).rev().collect(),
        }
    }

    /// Keeps `v` for a connection at rest: the value the flow keeps
    /// (`v` packed, or with [`IN_SLOT`] the slot holding it), or `None`
    /// when every slot is taken.
    #[inline]
    pub(super) fn park(&mut self, v: A::Parked) -> Option<u32> {
        if let Some(p) = A::pack(&v) {
            return Some(p);
        }
        let k = self.free.pop()?;
        self.parked[k as usize] = v;
        Some(IN_SLOT | k)
    }

    /// Takes back what [`Parking::park`] kept as `k`.
    #[inline]
    pub(super) fn unpark(&mut self, k: u32) -> A::Parked {
        if k & IN_SLOT == 0 {
            return A::unpack(k);
        }
        let k = k & !IN_SLOT;
        self.free.push(k);
        self.parked[k as usize]
    }

    /// Bytes held.
    pub(super) fn memory_bytes(&self) -> usize {
        self.parked.capacity() * std::mem::size_of::<A::Parked>() + self.free.capacity() * 4
    }
}

/// Bytes one parked slot of `A` takes (0: it needs none: it keeps
/// nothing, or packs what it keeps into the flow's word).
pub(super) fn parked_bytes<A: Analyzer>() -> usize {
    match std::mem::size_of::<A::Parked>() {
        _ if A::PACKED => 0,
        0 => 0,
        n => n + 4,
    }
}
