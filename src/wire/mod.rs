//! Wire codecs: checked views over byte buffers, typed representations, and
//! `emit` back to bytes (the smoltcp pattern). Nothing here touches I/O or
//! panics on malformed input.

pub mod gre;
pub mod mss;
pub mod pptp;

#[cfg(test)]
mod proptests;
