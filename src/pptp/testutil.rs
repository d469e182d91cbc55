//! A PNS and a PAC wired back to back in memory, on simulated time.

use std::time::{Duration, Instant};

use super::ControlEvent as Ev;
use super::{Control, ControlConfig, ControlEvent, State};
use crate::wire::pptp::Message;

/// Delivery patterns: all at once (many messages per chunk), byte by
/// byte, and odd sizes.
pub(super) const CHUNKINGS: &[&[usize]] = &[&[usize::MAX], &[1], &[7], &[3, 1, 200, 5, 13]];

pub(super) fn config(host: &str) -> ControlConfig {
    ControlConfig {
        host_name: host.into(),
        ..ControlConfig::default()
    }
}

/// Everything `c` wants to write to TCP, as one byte stream.
pub(super) fn drain_bytes(c: &mut Control) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = c.poll_transmit() {
        out.extend(b);
    }
    out
}

/// Everything `c` wants to write, as messages.
pub(super) fn drain_messages(c: &mut Control) -> Vec<Message> {
    let mut r = crate::wire::pptp::Reassembler::new();
    r.push(&drain_bytes(c));
    std::iter::from_fn(|| r.next_message())
        .map(|m| m.expect("we only write valid messages"))
        .collect()
}

pub(super) fn drain_events(c: &mut Control) -> Vec<ControlEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Feed `bytes` cutting them into pieces of the sizes in `chunks`, in turn.
pub(super) fn feed(c: &mut Control, now: Instant, bytes: &[u8], chunks: &[usize]) {
    let mut rest = bytes;
    let mut sizes = chunks.iter().copied().cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(usize::MAX).clamp(1, rest.len());
        let (head, tail) = rest.split_at(n);
        c.handle_bytes(now, head);
        rest = tail;
    }
}

pub(super) struct Pair {
    pub client: Control,
    pub server: Control,
    pub now: Instant,
    pub t0: Instant,
    /// Chunk sizes used when delivering bytes either way.
    pub chunks: Vec<usize>,
}

impl Pair {
    pub fn new(chunks: &[usize]) -> Self {
        let t0 = Instant::now();
        Pair {
            client: Control::client(config("pns"), t0),
            server: Control::server(config("pac"), t0),
            now: t0,
            t0,
            chunks: chunks.to_vec(),
        }
    }

    /// A pair past the start exchange, with the events it caused drained.
    pub fn established(chunks: &[usize]) -> Self {
        let mut p = Pair::new(chunks);
        p.pump();
        assert_eq!(p.client.state(), State::Established);
        assert_eq!(p.server.state(), State::Established);
        drain_events(&mut p.client);
        drain_events(&mut p.server);
        p
    }

    /// Deliver bytes both ways until neither side has more to say.
    pub fn pump(&mut self) {
        loop {
            let to_server = drain_bytes(&mut self.client);
            let to_client = drain_bytes(&mut self.server);
            if to_server.is_empty() && to_client.is_empty() {
                return;
            }
            feed(&mut self.server, self.now, &to_server, &self.chunks);
            feed(&mut self.client, self.now, &to_client, &self.chunks);
        }
    }

    /// Move the clock to `t0 + at` and run both sides' timers, without
    /// delivering anything.
    pub fn at(&mut self, at: Duration) {
        self.now = self.t0 + at;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    pub fn client_events(&mut self) -> Vec<ControlEvent> {
        drain_events(&mut self.client)
    }

    pub fn server_events(&mut self) -> Vec<ControlEvent> {
        drain_events(&mut self.server)
    }
}

/// An allocator handing out `ids` in turn (then 0xFFFF forever).
pub(super) fn ids(ids: &[u16]) -> impl FnMut() -> u16 + use<> {
    let mut queue: std::collections::VecDeque<u16> = ids.iter().copied().collect();
    move || queue.pop_front().unwrap_or(0xFFFF)
}

/// Small deterministic generator so tests need no extra crates.
pub(super) struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u8
    }
}

/// Two calls: ours 100 ↔ PAC's 0 (pptpd's habit), ours 200 ↔ PAC's 7.
pub(super) fn two_calls(chunks: &[usize]) -> Pair {
    let mut p = Pair::established(chunks);
    // The allocator's second 100 is in use and is drawn again.
    let mut alloc = ids(&[100, 100, 200]);
    assert_eq!(p.client.open_call(&mut alloc, p.now), Ok(100));
    assert_eq!(p.client.open_call(&mut alloc, p.now), Ok(200));
    p.pump();
    let ev = p.server_events();
    assert_eq!(ev.len(), 2);
    assert!(
        matches!(ev[0], Ev::IncomingCall { peer_call_id: 100, request } if request.packet_recv_window_size == 64)
    );
    assert!(matches!(
        ev[1],
        Ev::IncomingCall {
            peer_call_id: 200,
            ..
        }
    ));
    assert_eq!(p.server.accept_call(100, 0), Ok(()));
    assert_eq!(p.server.accept_call(200, 7), Ok(()));
    p.pump();
    let up = |call_id, peer_call_id| Ev::CallUp {
        call_id,
        peer_call_id,
        peer_recv_window: 64,
        peer_processing_delay: 0,
        connect_speed: 100_000_000,
    };
    assert_eq!(p.client_events(), [up(100, 0), up(200, 7)]);
    assert_eq!(p.server_events(), [up(0, 100), up(7, 200)]);
    p
}
