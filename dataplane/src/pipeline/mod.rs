//! The data path of every capture thread, as replay, live capture and
//! `bench memory` run it.
//!
//! A thread is a [`Lane`]: maybe a source with its [`Front`] (decoder,
//! duplicate window, filter), maybe a [`Worker`](crate::worker::Worker)
//! with its record output, and the steering [rings](ring) between lanes.
//! One round ([`Lane::step`]) takes a batch from the source, decodes it,
//! hands each packet to the worker that owns its flow (its own, or another
//! lane's through a ring), and runs the worker on what its rings hold.
//!
//! What a lane does between rounds (sleeping, polling the kernel, ticking
//! the flow clock, publishing counters, stopping) is its caller's: the
//! `sensor` crate's commands differ there, and only there.

pub mod front;
pub mod lane;
pub mod ring;

pub use front::{FramePayloads, Front, CHECKSUM_SAMPLE};
pub use lane::{Lane, OnFull, Parts, Policy, Round, Steering};
pub use ring::{owner, pop_into, push_packet, Popped, Slot, MAX_RING_PAYLOAD, SLOT_DATA};

/// Frames per batch.
pub const BATCH: usize = 64;
/// Decoded packets one batch can produce (outer tunnel packets included).
pub const DECODED_PER_BATCH: usize = BATCH * (1 + crate::decode::MAX_TUNNEL_DEPTH as usize);
