//! Wire codecs: checked views over byte buffers, typed representations, and
//! `emit` back to bytes (the smoltcp pattern). Nothing here touches I/O or
//! panics on malformed input.
//
// Bytes from remote peers reach this module: it must not panic or wrap
// silently on them (checked access and arithmetic; tests may index).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

/// The big-endian `u16` at `at`, if `b` holds it.
pub(crate) fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    let bytes = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

/// The big-endian `u32` at `at`, if `b` holds it.
pub(crate) fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Write `bytes` at `at` if they fit (callers checked the length).
pub(crate) fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    let end = at.saturating_add(bytes.len());
    if let Some(dst) = out.get_mut(at..end) {
        dst.copy_from_slice(bytes);
    }
}

pub mod gre;
pub mod mss;
pub mod nd;
pub mod pptp;

#[cfg(test)]
mod proptests;
