//! wirelog's tuning: core-pinning profiles, what the machine and the
//! capture interface look like, what in them costs packets or splits flows
//! (`wirelog tune check`), and the changes that fix it (`tune apply`).
#![deny(unsafe_code)]

pub mod apply;
pub mod check;
pub mod ethtool;
pub mod generate;
pub mod host;
pub mod profile;
pub mod topology;

pub use profile::{Profile, ProfileError};
