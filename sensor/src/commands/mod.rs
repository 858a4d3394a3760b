//! The commands: `wirelog replay` (a capture file), `wirelog capture` (a
//! live mirror port), `wirelog bench …` (the benchmark harness's entry)
//! and `wirelog tune …` (the machine and the capture interface).
//! `main.rs` parses the options and calls them.

pub mod bench;
pub mod capture;
pub mod replay;
pub mod tune;
