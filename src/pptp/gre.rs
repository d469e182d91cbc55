//! One call's GRE data channel (RFC 2637 §4.1-§4.4), sans-IO.
//!
//! Sending numbers each PPP frame and piggybacks an acknowledgment of the
//! peer's data when one is owed (§4.2); receiving checks the Call ID,
//! records the peer's acknowledgments and hands PPP its frames in order
//! (§4.3). When data arrived and nothing went back for
//! [`GreConfig::ack_delay`], an ack-only packet is queued (§4.2: acks "can
//! also be sent separately"). Acks here are for the peer's flow control
//! and for status: there is no retransmission, and, like pptp-linux and
//! the Linux pptp driver, no transmit window is enforced.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::Error;
use super::reorder::{Sequencer, seq_before};
use crate::wire::gre::{self, Packet, Repr};

/// Tunables of a data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreConfig {
    /// First sequence number sent. §4.1 says 0; pptp-linux starts at 1
    /// (the default), and receivers accept any.
    pub initial_seq: u32,
    /// Out-of-order packets held while waiting for a gap (default 16);
    /// 0 skips every gap at once.
    pub reorder_window: usize,
    /// How long a held packet waits for its gap (default 100 ms).
    pub reorder_timeout: Duration,
    /// Delay before an ack-only packet when no data goes back (default
    /// 500 ms).
    pub ack_delay: Duration,
}

impl Default for GreConfig {
    fn default() -> Self {
        GreConfig {
            initial_seq: 1,
            reorder_window: 16,
            reorder_timeout: Duration::from_millis(100),
            ack_delay: Duration::from_millis(500),
        }
    }
}

/// Counters of one data channel, for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GreStats {
    /// PPP frames delivered, and their bytes.
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Data packets sent, and their PPP bytes.
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Ack-only packets received and sent.
    pub acks_in: u64,
    pub acks_out: u64,
    /// Sequence numbers never received before their gap was skipped.
    pub lost: u64,
    /// Packets received out of order but delivered in order.
    pub reordered: u64,
    /// Copies of packets already delivered or held: discarded.
    pub duplicates: u64,
    /// Packets arriving after their gap was skipped: discarded.
    pub late: u64,
}

/// The GRE side of one call.
#[derive(Debug, Clone)]
pub struct GreChannel {
    our_call_id: u16,
    peer_call_id: u16,
    cfg: GreConfig,
    next_seq: u32,
    /// Highest of our sequence numbers the peer acknowledged.
    peer_ack: Option<u32>,
    rx: Sequencer,
    /// Last acknowledgment number we sent.
    ack_sent: Option<u32>,
    /// When an ack-only packet goes out if no data does first.
    ack_due: Option<Instant>,
    transmit: VecDeque<Vec<u8>>,
    stats: GreStats,
}

impl GreChannel {
    /// A channel for the call both ends know as `our_call_id` (carried in
    /// the GRE packets we receive) and `peer_call_id` (in those we send).
    pub fn new(our_call_id: u16, peer_call_id: u16, cfg: GreConfig) -> Self {
        GreChannel {
            our_call_id,
            peer_call_id,
            cfg,
            next_seq: cfg.initial_seq,
            peer_ack: None,
            rx: Sequencer::new(cfg.reorder_window, cfg.reorder_timeout),
            ack_sent: None,
            ack_due: None,
            transmit: VecDeque::new(),
            stats: GreStats::default(),
        }
    }

    /// The Call ID the peer puts in packets to us.
    pub fn our_call_id(&self) -> u16 {
        self.our_call_id
    }

    /// The Call ID we put in packets to the peer.
    pub fn peer_call_id(&self) -> u16 {
        self.peer_call_id
    }

    /// Encapsulate one PPP frame (without HDLC framing, §4) as the next
    /// data packet, with a piggybacked ack if one is owed. A frame over
    /// 65535 bytes cannot be described by GRE and is cut to fit. Sending
    /// needs no timer today (`now` is taken for symmetry with `receive`).
    pub fn send(&mut self, now: Instant, ppp_frame: &[u8]) -> Vec<u8> {
        let _ = now;
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let ack = self.take_ack();
        let packet = gre::build(self.peer_call_id, Some(seq), ack, ppp_frame);
        let sent = ppp_frame.len().min(usize::from(u16::MAX)) as u64;
        self.stats.packets_out = self.stats.packets_out.saturating_add(1);
        self.stats.bytes_out = self.stats.bytes_out.saturating_add(sent);
        packet
    }

    /// Take one GRE packet for this call: record its ack and return the
    /// PPP frames now deliverable, in order (possibly none, possibly
    /// several when the packet closed a gap).
    pub fn receive(&mut self, now: Instant, gre_packet: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let packet = Packet::new_checked(gre_packet)?;
        let repr = Repr::parse(&packet);
        if repr.call_id != self.our_call_id {
            return Err(Error::WrongCallId {
                expected: self.our_call_id,
                got: repr.call_id,
            });
        }
        if let Some(ack) = repr.ack {
            self.record_ack(ack);
        }
        let mut out = Vec::new();
        match repr.seq {
            Some(seq) => self.rx.push(now, seq, packet.payload().to_vec(), &mut out),
            None => {
                self.stats.acks_in = self.stats.acks_in.saturating_add(1);
                self.rx.expire(now, &mut out);
            }
        }
        self.delivered(now, &out);
        Ok(out)
    }

    /// Packets to send besides data: ack-only packets.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.ack_due, self.rx.deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Run timers: skip gaps whose packets waited too long (the frames
    /// this releases are returned, in order) and queue an ack-only packet
    /// when one is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.rx.expire(now, &mut out);
        self.delivered(now, &out);
        if self.ack_due.is_some_and(|due| due <= now) {
            if let Some(ack) = self.take_ack() {
                self.transmit
                    .push_back(gre::build(self.peer_call_id, None, Some(ack), &[]));
                self.stats.acks_out = self.stats.acks_out.saturating_add(1);
            }
            self.ack_due = None;
        }
        out
    }

    /// Counters so far, reorder-buffer outcomes included.
    pub fn stats(&self) -> GreStats {
        let c = self.rx.counts;
        GreStats {
            lost: c.lost,
            reordered: c.reordered,
            duplicates: c.duplicates,
            late: c.late,
            ..self.stats
        }
    }

    /// Highest of our sequence numbers the peer acknowledged.
    pub fn peer_ack(&self) -> Option<u32> {
        self.peer_ack
    }

    /// Highest sequence number of the peer's delivered to PPP.
    pub fn last_received(&self) -> Option<u32> {
        self.rx.last_delivered()
    }

    /// Data packets sent and not yet acknowledged (§4.2).
    pub fn in_flight(&self) -> u64 {
        let last_sent = self.next_seq.wrapping_sub(1);
        match self.peer_ack {
            Some(ack) => u64::from(last_sent.wrapping_sub(ack)),
            None => self.stats.packets_out,
        }
    }

    /// The ack owed to the peer, if any, now counted as sent.
    fn take_ack(&mut self) -> Option<u32> {
        let last = self.rx.last_delivered()?;
        if self.ack_sent == Some(last) {
            return None;
        }
        self.ack_sent = Some(last);
        self.ack_due = None;
        Some(last)
    }

    /// Count delivered frames and start the ack delay if an ack is owed.
    fn delivered(&mut self, now: Instant, frames: &[Vec<u8>]) {
        let bytes = frames
            .iter()
            .map(|f| f.len() as u64)
            .fold(0, u64::saturating_add);
        self.stats.packets_in = self.stats.packets_in.saturating_add(frames.len() as u64);
        self.stats.bytes_in = self.stats.bytes_in.saturating_add(bytes);
        let owed = self.rx.last_delivered().is_some() && self.rx.last_delivered() != self.ack_sent;
        if owed && self.ack_due.is_none() {
            self.ack_due = now.checked_add(self.cfg.ack_delay);
        }
    }

    /// Keep the highest ack that names a packet we actually sent.
    fn record_ack(&mut self, ack: u32) {
        let last_sent = self.next_seq.wrapping_sub(1);
        let behind = u64::from(last_sent.wrapping_sub(ack));
        if seq_before(last_sent, ack) || behind >= self.stats.packets_out {
            return;
        }
        if self.peer_ack.is_none_or(|prev| seq_before(prev, ack)) {
            self.peer_ack = Some(ack);
        }
    }
}
