//! The commands: `wirelog replay` (a capture file), `wirelog capture` (a
//! live mirror port) and `wirelog bench …` (the benchmark harness's
//! entry). `main.rs` parses the options and calls them.

pub mod bench;
pub mod capture;
pub mod replay;
