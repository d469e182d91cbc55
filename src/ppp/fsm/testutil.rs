//! Test harness: two automata back to back in memory on simulated time,
//! with a hook to lose packets, and a small deterministic byte generator.

use std::time::{Duration, Instant};

use super::{Event, Fsm, Options};

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    AtoB,
    BtoA,
}

/// Decides whether a packet is lost (true) on the simulated link.
pub(crate) type Loss = Box<dyn FnMut(Dir, &[u8]) -> bool>;

pub(crate) struct Link<A, B> {
    pub a: Fsm<A>,
    pub b: Fsm<B>,
    pub now: Instant,
    /// Every packet put on the wire, lost or not.
    pub wire: Vec<(Dir, Vec<u8>)>,
    pub a_events: Vec<Event>,
    pub b_events: Vec<Event>,
    pub loss: Loss,
}

impl<A: Options, B: Options> Link<A, B> {
    pub fn new(a: Fsm<A>, b: Fsm<B>) -> Self {
        Link {
            a,
            b,
            now: Instant::now(),
            wire: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
            loss: Box::new(|_, _| false),
        }
    }

    /// Open and Up both sides, then exchange packets until quiet.
    pub fn start(&mut self) {
        self.a.open(self.now);
        self.a.up(self.now);
        self.b.open(self.now);
        self.b.up(self.now);
        self.pump();
    }

    /// Deliver queued packets both ways until neither side has any.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(p) = self.a.poll_transmit() {
                moved = true;
                if !(self.loss)(Dir::AtoB, &p) {
                    let _ = self.b.handle_packet(self.now, &p);
                }
                self.wire.push((Dir::AtoB, p));
            }
            while let Some(p) = self.b.poll_transmit() {
                moved = true;
                if !(self.loss)(Dir::BtoA, &p) {
                    let _ = self.a.handle_packet(self.now, &p);
                }
                self.wire.push((Dir::BtoA, p));
            }
            self.a_events
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.b_events
                .extend(std::iter::from_fn(|| self.b.poll_event()));
            if !moved {
                return;
            }
        }
        panic!("link did not settle");
    }

    /// Advance simulated time to the earliest deadline not after `until`,
    /// fire it and exchange packets. False when no deadline is due.
    pub fn step(&mut self, until: Instant) -> bool {
        let next = match (self.a.poll_timeout(), self.b.poll_timeout()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        match next {
            Some(t) if t <= until => {
                self.now = self.now.max(t);
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
                self.pump();
                true
            }
            _ => false,
        }
    }

    /// Run timers and traffic for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..10_000 {
            if !self.step(until) {
                break;
            }
        }
        self.now = until;
    }

    /// Packets sent in direction `dir` with Code `code`.
    pub fn sent(&self, dir: Dir, code: u8) -> Vec<&[u8]> {
        self.wire
            .iter()
            .filter(|(d, p)| *d == dir && p.first() == Some(&code))
            .map(|(_, p)| p.as_slice())
            .collect()
    }
}

/// Drain an automaton's queued packets.
pub(crate) fn drain<O: Options>(f: &mut Fsm<O>) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| f.poll_transmit()).collect()
}

/// Drain an automaton's events.
pub(crate) fn events<O: Options>(f: &mut Fsm<O>) -> Vec<Event> {
    std::iter::from_fn(|| f.poll_event()).collect()
}

/// Deterministic pseudo-random bytes (xorshift64*), for garbage inputs.
pub(crate) struct Noise(pub u64);

impl Noise {
    pub fn byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    }

    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = usize::from(self.byte()) * max_len / 256;
        (0..len).map(|_| self.byte()).collect()
    }
}
