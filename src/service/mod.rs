//! The long-running services, each with a small interface: started from
//! its options plus what it shares (the public Call ID allocator), then a
//! handle that answers status and stop. `daemon` composes them for `run`
//! and the single-service commands and serves the control socket, whose
//! protocol is `control`. No service imports another; only `daemon` knows
//! them all.

pub mod client;
pub mod control;
pub mod daemon;
pub mod endpoint;
pub mod helper;
pub mod server;
pub mod task;

#[cfg(test)]
mod tests;
