//! One direction of a control connection's TCP byte stream, as seen by a
//! middlebox that may rewrite bytes but must never reorder or invent them.
//!
//! Segments are taken in sequence order. A segment from the future (an
//! earlier one is late: reordered on the way, or lost and to be resent) is
//! parked until the gap fills, a bounded number for a bounded time; only
//! beyond that is it dropped, so that TCP resends it in order. Dropping at
//! once cost a retransmission timeout for every reordered segment.
//!
//! Whole messages are cut out of the stream even when several share a
//! segment or one spans segments. A segment that carries Call ID
//! bytes (message offset 12 and beyond) of a message that is not complete
//! yet is held back until the message is, so the rewrite can be applied;
//! a segment that ends inside the 12-byte header carries nothing to rewrite
//! and goes on at once. Rewrites are remembered by sequence number so a
//! retransmitted segment is rewritten identically.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::VecDeque;
use std::time::Instant;

use super::packet::TcpPacket;
use crate::wire::pptp::{Error as WireError, HEADER_LEN, Header};

/// How many recent rewrites are kept for retransmissions.
const PATCH_LOG: usize = 64;

/// How many segments from beyond a gap wait for it to fill, per direction
/// of a connection. Reordering on the way moves a segment by a few places.
pub const MAX_PARKED: usize = 16;

/// How many segments may wait for the rest of one message, per direction
/// of a connection. A message (at most 220 bytes) comes in one or two
/// segments from real stacks.
pub const MAX_HELD: usize = 8;

/// Sequence number comparison modulo 2^32 (RFC 793 §3.3).
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// A segment waiting for the rest of a message.
#[derive(Debug)]
pub struct Held {
    pub id: u64,
    pub pkt: TcpPacket,
    pub since: Instant,
}

/// Where a segment falls relative to what the stream has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// No new bytes: a retransmission, a pure ACK, SYN or FIN.
    Old,
    /// New bytes start `skip` bytes into the payload.
    New { skip: usize },
    /// Starts beyond the next expected byte: a gap.
    Future,
}

/// One direction of a control connection.
#[derive(Debug, Default)]
pub struct Stream {
    next_seq: Option<u32>,
    partial: Vec<u8>,
    partial_seq: u32,
    held: Vec<Held>,
    /// Segments beyond a gap, waiting for it to fill.
    parked: Vec<Held>,
    patches: VecDeque<(u32, [u8; 2])>,
    desync: bool,
}

impl Stream {
    /// Place a segment in the stream and advance past its new bytes.
    pub fn classify(&mut self, pkt: &TcpPacket) -> Class {
        if pkt.syn {
            self.next_seq = Some(pkt.seq.wrapping_add(1));
            return Class::Old;
        }
        let n = pkt.payload().len();
        if n == 0 {
            return Class::Old;
        }
        // Picked up mid-stream (helper restarted): assume a message starts here.
        let next = *self.next_seq.get_or_insert(pkt.seq);
        let end = pkt.end_seq();
        if !seq_lt(next, end) {
            Class::Old
        } else if seq_lt(next, pkt.seq) {
            Class::Future
        } else {
            self.next_seq = Some(end);
            Class::New {
                skip: next.wrapping_sub(pkt.seq) as usize,
            }
        }
    }

    /// Re-apply remembered rewrites to a segment (retransmissions).
    pub fn replay_patches(&self, pkt: &mut TcpPacket) {
        for (at, bytes) in &self.patches {
            pkt.patch(*at, bytes);
        }
    }

    /// Feed the new bytes of a segment; returns the messages it completes,
    /// each with the sequence number of its first byte, or the header error
    /// that made the stream unreadable (it then passes bytes unchanged until
    /// a segment starts with a valid header again).
    pub fn feed(&mut self, pkt: &TcpPacket, skip: usize) -> Result<Vec<(u32, Vec<u8>)>, WireError> {
        let data = pkt.payload().get(skip..).unwrap_or(&[]);
        let start = pkt.seq.wrapping_add(skip as u32);
        if self.desync {
            if skip == 0 && Header::new_checked(data).is_ok() {
                self.desync = false;
            } else {
                return Ok(Vec::new());
            }
        }
        if self.partial.is_empty() {
            self.partial_seq = start;
        }
        self.partial.extend_from_slice(data);
        // Cut whole messages from the front and drop their bytes once: a
        // segment of many small messages must not shift the buffer each time.
        let mut done = Vec::new();
        let mut at = 0usize;
        while let Some(rest) = self.partial.get(at..).filter(|r| r.len() >= HEADER_LEN) {
            let len = match Header::new_checked(rest) {
                Ok(h) => usize::from(h.length()),
                Err(e) => {
                    self.desync = true;
                    self.partial.clear();
                    return Err(e);
                }
            };
            // A checked header's length is at least HEADER_LEN: `at` moves.
            let Some(msg) = rest.get(..len) else {
                break;
            };
            done.push((self.partial_seq, msg.to_vec()));
            self.partial_seq = self.partial_seq.wrapping_add(len as u32);
            at = at.saturating_add(len);
        }
        self.partial.drain(..at);
        Ok(done)
    }

    /// Remember a rewrite at stream position `at` and apply it to the held
    /// segments and to `pkt`.
    pub fn patch(&mut self, at: u32, bytes: [u8; 2], pkt: &mut TcpPacket) {
        if self.patches.len() == PATCH_LOG {
            self.patches.pop_front();
        }
        self.patches.push_back((at, bytes));
        pkt.patch(at, &bytes);
        for h in &mut self.held {
            h.pkt.patch(at, &bytes);
        }
    }

    /// Whether the segment just fed must wait: the incomplete message at the
    /// head of the stream already has bytes past its header.
    pub fn must_hold(&self) -> bool {
        !self.desync && self.partial.len() > HEADER_LEN
    }

    /// Keep a segment until its message completes.
    pub fn hold(&mut self, h: Held) {
        self.held.push(h);
    }

    /// Segments no longer needed by the incomplete message, oldest first.
    pub fn releasable(&mut self) -> Vec<Held> {
        if !self.must_hold() {
            return std::mem::take(&mut self.held);
        }
        let boundary = self.partial_seq;
        let (go, stay): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| !seq_lt(boundary, h.pkt.end_seq()));
        self.held = stay;
        go
    }

    /// Give up on the incomplete message (its rest never came): release the
    /// held segments as they are and pass bytes until the next clean start.
    pub fn give_up(&mut self) -> Vec<Held> {
        self.partial.clear();
        self.desync = true;
        std::mem::take(&mut self.held)
    }

    /// Segments held and their bytes (whole packets).
    pub fn held_size(&self) -> (usize, usize) {
        (self.held.len(), self.held.iter().map(|h| h.pkt.len()).sum())
    }

    /// Nothing held or parked.
    pub fn is_idle(&self) -> bool {
        self.held.is_empty() && self.parked.is_empty()
    }

    /// Oldest hold time, if any segment is held.
    pub fn held_since(&self) -> Option<Instant> {
        self.held.iter().map(|h| h.since).min()
    }

    /// Drop everything held (the connection is gone).
    pub fn take_held(&mut self) -> Vec<Held> {
        std::mem::take(&mut self.held)
    }

    /// Keep a segment from beyond a gap; gives it back when
    /// [`MAX_PARKED`] already wait (the caller drops it).
    pub fn park(&mut self, h: Held) -> Option<Held> {
        if self.parked.len() >= MAX_PARKED {
            return Some(h);
        }
        self.parked.push(h);
        None
    }

    /// A parked segment the gap in front of which has filled, the earliest
    /// first.
    pub fn unpark(&mut self) -> Option<Held> {
        let next = self.next_seq?;
        let (i, _) = self
            .parked
            .iter()
            .enumerate()
            .filter(|(_, h)| !seq_lt(next, h.pkt.seq))
            .min_by_key(|(_, h)| h.pkt.seq.wrapping_sub(next) as i32)?;
        Some(self.parked.swap_remove(i))
    }

    /// Oldest park time, if any segment is parked.
    pub fn parked_since(&self) -> Option<Instant> {
        self.parked.iter().map(|h| h.since).min()
    }

    /// Every parked segment (its gap never filled, or the connection is gone).
    pub fn take_parked(&mut self) -> Vec<Held> {
        std::mem::take(&mut self.parked)
    }
}
