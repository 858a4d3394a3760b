//! wirelog's hot path.
//!
//! Everything a worker core runs lives here: capture sources that lend
//! batches of frames ([`capture`]), lax L2–L4 decoding with tunnel
//! decapsulation and bounded fragment reassembly ([`decode`]), the symmetric
//! steering hash ([`steer`]), the per-worker flow table with its TCP tracker
//! and timer wheel ([`flow`]), the stream layer and application analyzers
//! ([`app`]), and the records those produce ([`record`]); and the round a
//! capture thread runs over them, from a batch of frames to its records,
//! steering packets between threads through rings ([`pipeline`]).
//!
//! Nothing here does output I/O or parses command lines: the `sensor` crate
//! owns that. Every structure is sized once, from a
//! [`worker::WorkerConfig`], when a worker starts; in steady state the
//! packet path neither allocates nor locks nor makes a system call.
#![deny(unsafe_code)]

pub mod app;
pub mod capture;
pub mod community_id;
pub mod decode;
pub mod dedup;
pub mod filter;
pub mod flow;
pub mod hash;
pub mod pipeline;
pub mod record;
pub mod spsc;
pub mod steer;
pub mod sys;
pub mod time;
pub mod worker;
