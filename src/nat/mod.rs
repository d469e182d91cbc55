//! The passthrough NAT core, sans-IO: which Call IDs to rewrite, the public
//! Call ID allocator, TCP stream tracking and the call table.
//
// Bytes from remote peers reach this module: it must not panic on them
// (checked access; tests may index).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod alloc;
pub mod call;
pub mod packet;
pub mod rules;
pub mod stream;
pub mod tracker;

pub use call::{Change, Mapping};
pub use rules::{Dir, Role};
pub use tracker::{Config, Handover, Output, Tracker, Verdict};

#[cfg(test)]
mod tests;
