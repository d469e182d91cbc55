//! One call's GRE data channel (RFC 2637 §4.2-§4.4) with its reorder
//! buffer: the fuzzer plays the peer. It sends data packets numbered from
//! any start (wrap-around at 2^32 included) in order, with gaps, late or
//! reordered, or far off (a peer that restarts its numbering); ack-only
//! packets and acks piggybacked on data, naming packets we sent or not;
//! exact replays of earlier packets, earlier packets with bits flipped,
//! packets for another call and raw bytes; the channel sends frames of its
//! own, time passes, or jumps to the channel's next deadline. Every data
//! packet for this call carries a payload that starts with a tag of its own
//! (an exact replay keeps its original's), so each frame handed to PPP is
//! traced to the packet it came from (packets whose payload is too short
//! to carry a tag are not fed).
//!
//! Invariants: no panic; `receive` refuses exactly what the wire codec
//! does not read as a GRE packet for this call, and a refused packet
//! changes nothing; every frame delivered is the payload of a data packet
//! fed, byte for byte, and each packet fed is delivered at most once;
//! frames come in increasing sequence order (serial arithmetic), the only
//! step back being a restart of the peer's numbering, which is followed
//! only on the packet just received, as the last frame of that call, after
//! at least 32 data packets since the previous start; the packets neither
//! delivered nor counted as duplicate or late (those held for a gap) never
//! exceed `reorder_window`, and none is held past `reorder_timeout` once
//! the timers ran; one call returns at most `reorder_window` + 1 frames;
//! the counters of frames, bytes, acks and lost numbers match what was
//! delivered and sent. Sent data packets parse, carry the peer's Call ID,
//! consecutive sequence numbers from `initial_seq` and the frame intact;
//! acks (piggybacked or ack-only, at most one ack-only packet per timer
//! run, only from the timers) are well formed, name exactly the last frame
//! delivered and are sent only when that number has not been acknowledged
//! yet; an owed ack always has a deadline no later than `ack_delay` after
//! it became owed, held packets one no later than `reorder_timeout` after
//! the last one arrived, and after the timers ran no deadline is in the
//! past. The peer's ack only moves forward and only ever names a packet we
//! sent; `in_flight` counts the packets sent after it.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::pptp::{GreChannel, GreConfig};
use pptp_passthrough::wire::gre::{self, Packet, Repr};

/// Our Call ID (in packets we receive) and the peer's (in those we send).
const OURS: u16 = 0x1234;
const PEERS: u16 = 0x4321;
/// Bytes at the start of each payload naming the packet it came from.
const TAG: usize = 4;
/// Data packets too old to place, in a row, after which the channel
/// follows a peer that restarted its numbering (`src/pptp/reorder.rs`).
const RESYNC_AFTER: u64 = 32;

/// `a` comes before `b` in 32-bit serial-number order.
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Seq {
    /// The peer's next number, `skip` numbers after the last one it used.
    Next { skip: u8 },
    /// One of the peer's earlier numbers: late, reordered or a copy.
    Back { by: u8 },
    /// Anywhere; the peer carries on from there (a restart or a jump).
    Jump(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ack {
    None,
    /// `back` numbers before the last one we sent (maybe before the first).
    Ours {
        back: u8,
    },
    /// Beyond the last one we sent.
    Ahead {
        by: u8,
    },
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A data packet from the peer with a payload of TAG + `len` bytes.
    Data {
        seq: Seq,
        ack: Ack,
        len: u8,
    },
    AckOnly {
        ack: Ack,
    },
    /// A data packet for another call.
    Foreign {
        call_id: u16,
        seq: Seq,
    },
    /// An earlier packet again, byte for byte.
    Replay {
        back: u8,
    },
    /// An earlier packet with bits flipped.
    Corrupt {
        back: u8,
        at: u8,
        xor: u8,
    },
    Garbage {
        bytes: Vec<u8>,
    },
    /// A PPP frame of ours out.
    Send {
        len: u16,
    },
    Wait {
        millis: u16,
    },
    /// Jump to the channel's next deadline and run the timers.
    Timer,
}

#[derive(Arbitrary, Debug)]
struct Input {
    initial_seq: u32,
    peer_first: u32,
    /// Taken modulo 20: 0 (skip every gap at once) to the default 16 and more.
    reorder_window: u8,
    reorder_ms: u16,
    ack_delay_ms: u16,
    ops: Vec<Op>,
}

/// A data packet fed: its number, payload and copies not yet delivered.
struct Fed {
    seq: u32,
    payload: Vec<u8>,
    undelivered: u32,
}

struct Harness {
    c: GreChannel,
    cfg: GreConfig,
    now: Instant,
    /// The peer's next sequence number.
    peer_next: u32,
    next_tag: u32,
    fed: HashMap<u32, Fed>,
    history: Vec<Vec<u8>>,
    /// Data packets for this call fed; since the last (re)start of the
    /// numbering; and when the last one came.
    data_in: u64,
    since_start: u64,
    last_data_at: Option<Instant>,
    ack_only_in: u64,
    /// Frames delivered, their bytes, restarts followed, numbers skipped.
    delivered: u64,
    delivered_bytes: u64,
    restarts: u64,
    lost: u64,
    last_seq: Option<u32>,
    /// Ours: data packets and their bytes, ack-only packets, last ack sent.
    sent: u64,
    sent_bytes: u64,
    acks_out: u64,
    last_ack: Option<u32>,
    owed_since: Option<Instant>,
    peer_ack: Option<u32>,
}

impl Harness {
    fn our_last(&self) -> u32 {
        self.cfg
            .initial_seq
            .wrapping_add(self.sent as u32)
            .wrapping_sub(1)
    }

    fn ack(&self, a: Ack) -> Option<u32> {
        match a {
            Ack::None => None,
            Ack::Ours { back } => Some(self.our_last().wrapping_sub(u32::from(back))),
            Ack::Ahead { by } => Some(self.our_last().wrapping_add(u32::from(by) + 1)),
            Ack::Raw(v) => Some(v),
        }
    }

    fn seq(&mut self, s: Seq) -> u32 {
        match s {
            Seq::Next { skip } => {
                let seq = self.peer_next.wrapping_add(u32::from(skip));
                self.peer_next = seq.wrapping_add(1);
                seq
            }
            Seq::Back { by } => self.peer_next.wrapping_sub(1).wrapping_sub(u32::from(by)),
            Seq::Jump(seq) => {
                self.peer_next = seq.wrapping_add(1);
                seq
            }
        }
    }

    fn tag(&mut self) -> [u8; TAG] {
        self.next_tag = self.next_tag.wrapping_add(1);
        self.next_tag.to_be_bytes()
    }

    fn old_packet(&self, back: u8) -> Option<Vec<u8>> {
        let n = self.history.len();
        (n > 0).then(|| self.history[n - 1 - usize::from(back) % n].clone())
    }

    fn window(&self) -> u64 {
        self.cfg.reorder_window as u64
    }

    /// Packets held for a gap, from the counters.
    fn held(&self) -> u64 {
        let s = self.c.stats();
        let gone = self.delivered + s.duplicates + s.late;
        let came = self.data_in + self.restarts;
        assert!(
            gone <= came,
            "more packets delivered or discarded ({gone}) than received ({came})"
        );
        came - gone
    }

    /// Feed one packet. `retag`: give a data packet for this call a fresh
    /// tag (it is not an exact copy of one fed before).
    fn feed(&mut self, mut bytes: Vec<u8>, retag: bool) {
        let parsed = Packet::new_checked(&bytes[..]).ok().map(|p| {
            let r = Repr::parse(&p);
            (r, p.header_len(), p.payload().len())
        });
        let ours = parsed.filter(|(r, _, _)| r.call_id == OURS);
        let mut tag = None;
        if let Some((r, hlen, plen)) = ours {
            if r.seq.is_some() {
                if plen < TAG {
                    return;
                }
                if retag {
                    let t = self.tag();
                    bytes[hlen..hlen + TAG].copy_from_slice(&t);
                }
                let t = u32::from_be_bytes(bytes[hlen..hlen + TAG].try_into().unwrap());
                tag = Some(t);
            }
        }
        let stats = self.c.stats();
        let deadline = self.c.poll_timeout();
        let result = self.c.receive(self.now, &bytes);
        let Some((r, hlen, plen)) = ours else {
            assert!(result.is_err(), "accepted {bytes:02x?}");
            assert_eq!(
                self.c.stats(),
                stats,
                "a refused packet changed the counters"
            );
            assert_eq!(self.c.peer_ack(), self.peer_ack);
            assert_eq!(self.c.poll_timeout(), deadline);
            return;
        };
        let frames = result.expect("refused a GRE packet for this call");
        self.history.push(bytes.clone());
        if self.history.len() > 64 {
            self.history.remove(0);
        }
        if let (Some(seq), Some(t)) = (r.seq, tag) {
            let payload = bytes[hlen..hlen + plen].to_vec();
            let e = self.fed.entry(t).or_insert(Fed {
                seq,
                payload: payload.clone(),
                undelivered: 0,
            });
            assert_eq!((e.seq, &e.payload), (seq, &payload), "harness: tag reused");
            e.undelivered += 1;
            self.data_in += 1;
            self.since_start += 1;
            self.last_data_at = Some(self.now);
        } else {
            self.ack_only_in += 1;
        }
        if let Some(a) = r.ack {
            let named =
                self.sent > 0 && u64::from(a.wrapping_sub(self.cfg.initial_seq)) < self.sent;
            if named && self.peer_ack.is_none_or(|p| seq_before(p, a)) {
                self.peer_ack = Some(a);
            }
        }
        assert_eq!(self.c.peer_ack(), self.peer_ack, "peer ack");
        let late_before = stats.late;
        assert!(
            frames.len() as u64 <= self.window() + 1,
            "{} frames from one packet",
            frames.len()
        );
        self.deliver(&frames, tag.map(|t| (t, late_before)));
        assert_eq!(self.c.poll_transmit(), None, "receive queued a packet");
    }

    /// Check frames handed to PPP. `current`: the tag of the packet just
    /// received and the late count before it.
    fn deliver(&mut self, frames: &[Vec<u8>], current: Option<(u32, u64)>) {
        for (i, f) in frames.iter().enumerate() {
            assert!(f.len() >= TAG, "delivered a frame never sent: {f:02x?}");
            let t = u32::from_be_bytes(f[..TAG].try_into().unwrap());
            let fed = self.fed.get_mut(&t).expect("delivered a frame never sent");
            assert_eq!(&fed.payload, f, "frame differs from the payload sent");
            assert!(fed.undelivered > 0, "packet delivered twice");
            fed.undelivered -= 1;
            let seq = fed.seq;
            // The packet just received, delivered although counted late:
            // the channel followed a restart of the peer's numbering (a
            // late packet is otherwise discarded).
            let is_current = current.is_some_and(|(c, _)| c == t);
            let restarted =
                is_current && current.is_some_and(|(_, late)| self.c.stats().late > late);
            match self.last_seq {
                Some(prev) if !restarted => {
                    assert!(
                        seq_before(prev, seq),
                        "frame {seq} out of order after {prev}"
                    );
                    self.lost += u64::from(seq.wrapping_sub(prev).wrapping_sub(1));
                }
                prev => {
                    assert!(
                        is_current && i + 1 == frames.len(),
                        "a (re)start of the numbering not at the packet just received"
                    );
                    if prev.is_some() {
                        assert!(
                            self.since_start >= RESYNC_AFTER,
                            "followed a restart after only {} packets",
                            self.since_start
                        );
                        self.restarts += 1;
                    }
                    self.since_start = 0;
                }
            }
            self.last_seq = Some(seq);
            self.delivered += 1;
            self.delivered_bytes += f.len() as u64;
        }
    }

    fn send(&mut self, len: u16) {
        let frame: Vec<u8> = (0..len % 1600).map(|i| i as u8 ^ 0x5a).collect();
        let owed = self.last_seq.is_some() && self.last_seq != self.last_ack;
        let p = self.c.send(self.now, &frame);
        let q = Packet::new_checked(&p[..]).expect("sent an unreadable packet");
        let r = Repr::parse(&q);
        assert_eq!(r.call_id, PEERS);
        assert_eq!(
            r.seq,
            Some(self.cfg.initial_seq.wrapping_add(self.sent as u32))
        );
        assert_eq!(q.payload(), &frame[..]);
        assert_eq!(p.len(), q.header_len() + frame.len(), "trailing bytes");
        if owed {
            assert_eq!(r.ack, self.last_seq, "piggybacked ack");
            self.last_ack = r.ack;
        } else {
            assert_eq!(r.ack, None, "ack sent twice or for nothing");
        }
        self.sent += 1;
        self.sent_bytes += frame.len() as u64;
        assert_eq!(self.c.poll_transmit(), None, "send queued a packet");
    }

    fn timers(&mut self) {
        let frames = self.c.handle_timeout(self.now);
        assert!(
            frames.len() as u64 <= self.window(),
            "{} frames from one timer run",
            frames.len()
        );
        self.deliver(&frames, None);
        let mut acks = 0;
        while let Some(p) = self.c.poll_transmit() {
            acks += 1;
            let q = Packet::new_checked(&p[..]).expect("sent an unreadable ack");
            let r = Repr::parse(&q);
            assert_eq!(
                (r.call_id, r.seq, r.payload_len, p.len()),
                (PEERS, None, 0, 12),
                "ack-only packet"
            );
            assert!(r.ack.is_some() && r.ack == self.last_seq, "ack {:?}", r.ack);
            assert_ne!(r.ack, self.last_ack, "the same ack twice");
            self.last_ack = r.ack;
            self.acks_out += 1;
        }
        assert!(acks <= 1, "{acks} ack-only packets from one timer run");
        if let Some(d) = self.c.poll_timeout() {
            assert!(d > self.now, "deadline in the past after the timers ran");
        }
        if self
            .last_data_at
            .is_some_and(|at| self.now >= at + self.cfg.reorder_timeout)
        {
            assert_eq!(self.held(), 0, "packets held past the reorder timeout");
        }
    }

    fn check(&mut self) {
        let held = self.held();
        assert!(
            held <= self.window(),
            "{held} packets held, window {}",
            self.window()
        );
        let owed = self.last_seq.is_some() && self.last_seq != self.last_ack;
        if owed {
            let since = *self.owed_since.get_or_insert(self.now);
            let d = self
                .c
                .poll_timeout()
                .expect("an owed ack without a deadline");
            assert!(d <= since + self.cfg.ack_delay, "ack deadline too late");
        } else {
            self.owed_since = None;
        }
        if held > 0 {
            let d = self
                .c
                .poll_timeout()
                .expect("packets held without a deadline");
            let last = self.last_data_at.expect("held packets came in");
            assert!(
                d <= last + self.cfg.reorder_timeout,
                "reorder deadline too late"
            );
        }
        assert_eq!(self.c.last_received(), self.last_seq);
        assert_eq!(self.c.peer_ack(), self.peer_ack);
        let in_flight = match self.peer_ack {
            Some(a) => u64::from(self.our_last().wrapping_sub(a)),
            None => self.sent,
        };
        assert_eq!(self.c.in_flight(), in_flight);
        assert!(in_flight <= self.sent);
        let s = self.c.stats();
        assert_eq!(
            (s.packets_in, s.bytes_in, s.lost),
            (self.delivered, self.delivered_bytes, self.lost),
            "receive counters"
        );
        assert_eq!(
            (s.packets_out, s.bytes_out, s.acks_out, s.acks_in),
            (self.sent, self.sent_bytes, self.acks_out, self.ack_only_in),
            "send counters"
        );
    }
}

fuzz_target!(|input: Input| {
    let cfg = GreConfig {
        initial_seq: input.initial_seq,
        reorder_window: usize::from(input.reorder_window % 20),
        reorder_timeout: Duration::from_millis(u64::from(input.reorder_ms)),
        ack_delay: Duration::from_millis(u64::from(input.ack_delay_ms)),
    };
    let t0 = Instant::now();
    let mut h = Harness {
        c: GreChannel::new(OURS, PEERS, cfg),
        cfg,
        now: t0,
        peer_next: input.peer_first,
        next_tag: 0,
        fed: HashMap::new(),
        history: Vec::new(),
        data_in: 0,
        since_start: 0,
        last_data_at: None,
        ack_only_in: 0,
        delivered: 0,
        delivered_bytes: 0,
        restarts: 0,
        lost: 0,
        last_seq: None,
        sent: 0,
        sent_bytes: 0,
        acks_out: 0,
        last_ack: None,
        owed_since: None,
        peer_ack: None,
    };
    assert_eq!(h.c.poll_timeout(), None);
    for op in input.ops.iter().take(512) {
        match *op {
            Op::Data { seq, ack, len } => {
                let seq = h.seq(seq);
                let ack = h.ack(ack);
                let mut payload = h.tag().to_vec();
                payload.extend(std::iter::repeat_n(payload[3], usize::from(len)));
                h.feed(gre::build(OURS, Some(seq), ack, &payload), false);
            }
            Op::AckOnly { ack } => {
                let ack = h.ack(ack);
                h.feed(gre::build(OURS, None, ack, &[]), false);
            }
            Op::Foreign { call_id, seq } => {
                let seq = h.seq(seq);
                let payload = h.tag();
                h.feed(
                    gre::build(call_id, Some(seq), None, &payload),
                    call_id == OURS,
                );
            }
            Op::Replay { back } => {
                if let Some(p) = h.old_packet(back) {
                    h.feed(p, false);
                }
            }
            Op::Corrupt { back, at, xor } => {
                if let Some(mut p) = h.old_packet(back) {
                    let at = usize::from(at) % p.len();
                    p[at] ^= xor;
                    h.feed(p, true);
                }
            }
            Op::Garbage { ref bytes } => h.feed(bytes.clone(), true),
            Op::Send { len } => h.send(len),
            Op::Wait { millis } => {
                h.now += Duration::from_millis(u64::from(millis));
                h.timers();
            }
            Op::Timer => {
                if let Some(d) = h.c.poll_timeout() {
                    h.now = h.now.max(d);
                }
                h.timers();
            }
        }
        h.check();
    }
});
