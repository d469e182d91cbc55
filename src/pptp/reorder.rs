//! Receive-side sequencing of the GRE data channel (RFC 2637 §4.3): PPP
//! must see frames in order, so out-of-sequence packets are held briefly
//! and put back in order, or their gap is skipped; duplicates and packets
//! older than what was already delivered are discarded.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::time::{Duration, Instant};

/// `a` comes before `b` in 32-bit serial-number order (RFC 1982 style).
pub(crate) fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Consecutive packets far behind the delivery point after which the peer
/// is taken to have restarted its numbering.
const RESYNC_AFTER: u32 = 32;
/// Width of the record of recently delivered numbers.
const SEEN_BITS: u32 = u64::BITS;

/// What happened to received packets, for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RxCounts {
    /// Sequence numbers skipped: never received before their gap closed.
    pub lost: u64,
    /// Packets that arrived after a higher-numbered one and were still
    /// delivered in order.
    pub reordered: u64,
    /// Copies of packets already delivered or already held.
    pub duplicates: u64,
    /// Packets arriving after their gap had been skipped (or too old to
    /// tell): discarded.
    pub late: u64,
}

#[derive(Debug, Clone)]
struct Held {
    seq: u32,
    at: Instant,
    frame: Vec<u8>,
}

/// Puts received data packets back in order.
#[derive(Debug, Clone)]
pub(crate) struct Sequencer {
    /// Packets held while waiting for a gap: at most this many.
    window: u32,
    /// How long a held packet waits for its gap to close.
    timeout: Duration,
    /// Next sequence number to deliver; `None` before the first packet
    /// (any first number is accepted: §4.1 says 0, pptp-linux uses 1).
    expected: Option<u32>,
    /// Bit i set: `expected - 1 - i` was delivered.
    seen: u64,
    /// Sorted by sequence number, all after `expected`.
    held: Vec<Held>,
    /// Consecutive packets too old for `seen`.
    far_run: u32,
    pub counts: RxCounts,
}

impl Sequencer {
    pub fn new(window: usize, timeout: Duration) -> Self {
        Sequencer {
            window: u32::try_from(window).unwrap_or(u32::MAX),
            timeout,
            expected: None,
            seen: 0,
            held: Vec::new(),
            far_run: 0,
            counts: RxCounts::default(),
        }
    }

    /// The highest sequence number delivered (what an ack reports, §4.1).
    pub fn last_delivered(&self) -> Option<u32> {
        self.expected.map(|e| e.wrapping_sub(1))
    }

    /// When the oldest held packet stops waiting for its gap.
    pub fn deadline(&self) -> Option<Instant> {
        self.held
            .iter()
            .filter_map(|h| h.at.checked_add(self.timeout))
            .min()
    }

    /// Accept data packet `seq`; frames now deliverable go to `out`.
    pub fn push(&mut self, now: Instant, seq: u32, frame: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        self.expire(now, out);
        let Some(expected) = self.expected else {
            self.start_at(seq, frame, out);
            return;
        };
        if seq_before(seq, expected) {
            self.old(seq, frame, out);
            return;
        }
        self.far_run = 0;
        let ahead = seq.wrapping_sub(expected);
        if self.held.iter().any(|h| h.seq == seq) {
            self.counts.duplicates = self.counts.duplicates.saturating_add(1);
            return;
        }
        if ahead == 0 {
            if !self.held.is_empty() {
                self.counts.reordered = self.counts.reordered.saturating_add(1);
            }
            self.deliver(seq, frame, out);
            self.drain(out);
        } else if ahead > self.window || self.held.len() >= self.window as usize {
            // The gap cannot close inside the window: skip it now.
            self.flush(out);
            self.deliver(seq, frame, out);
        } else {
            if self.held.iter().any(|h| seq_before(seq, h.seq)) {
                self.counts.reordered = self.counts.reordered.saturating_add(1);
            }
            let at = self
                .held
                .iter()
                .position(|h| seq_before(seq, h.seq))
                .unwrap_or(self.held.len());
            self.held.insert(
                at,
                Held {
                    seq,
                    at: now,
                    frame,
                },
            );
        }
    }

    /// Skip the gaps before held packets that have waited long enough.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        let timeout = self.timeout;
        let due = self.held.iter().rposition(|h| {
            h.at.checked_add(timeout)
                .is_some_and(|deadline| deadline <= now)
        });
        if let Some(last) = due {
            let ready: Vec<Held> = self.held.drain(..=last).collect();
            for h in ready {
                self.deliver(h.seq, h.frame, out);
            }
            self.drain(out);
        }
    }

    fn start_at(&mut self, seq: u32, frame: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        self.expected = Some(seq.wrapping_add(1));
        self.seen = 1;
        self.far_run = 0;
        out.push(frame);
    }

    /// A packet before the delivery point: a duplicate or too late.
    fn old(&mut self, seq: u32, frame: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        let Some(expected) = self.expected else {
            return;
        };
        let back = expected.wrapping_sub(1).wrapping_sub(seq);
        if back < SEEN_BITS {
            self.far_run = 0;
            if self.seen & (1u64 << back) != 0 {
                self.counts.duplicates = self.counts.duplicates.saturating_add(1);
            } else {
                self.counts.late = self.counts.late.saturating_add(1);
            }
            return;
        }
        self.counts.late = self.counts.late.saturating_add(1);
        self.far_run = self.far_run.saturating_add(1);
        if self.far_run >= RESYNC_AFTER {
            // Only a peer that restarted its numbering sends this many
            // packets this old in a row: follow it.
            self.flush(out);
            self.start_at(seq, frame, out);
        }
    }

    /// Deliver `seq`, counting the numbers skipped before it as lost.
    fn deliver(&mut self, seq: u32, frame: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        let expected = self.expected.unwrap_or(seq);
        let gap = seq.wrapping_sub(expected);
        self.counts.lost = self.counts.lost.saturating_add(u64::from(gap));
        let shift = gap.saturating_add(1);
        self.seen = if shift >= SEEN_BITS {
            0
        } else {
            self.seen << shift
        } | 1;
        self.expected = Some(seq.wrapping_add(1));
        out.push(frame);
    }

    /// Deliver held packets that are now next in line.
    fn drain(&mut self, out: &mut Vec<Vec<u8>>) {
        while let Some(first) = self.held.first() {
            if Some(first.seq) != self.expected {
                break;
            }
            let h = self.held.remove(0);
            self.deliver(h.seq, h.frame, out);
        }
    }

    /// Deliver every held packet, skipping the gaps between them.
    fn flush(&mut self, out: &mut Vec<Vec<u8>>) {
        for h in std::mem::take(&mut self.held) {
            self.deliver(h.seq, h.frame, out);
        }
    }
}
