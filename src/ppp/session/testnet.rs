//! Test harness: a client and a server [`Session`] joined by an in-memory
//! link on simulated time that may lose, duplicate and reorder frames
//! (deterministic pseudo-randomness), with hooks to drop or edit frames.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Session, SessionConfig, SessionError, SessionEvent};
use crate::ppp::auth::{AuthConfig, AuthMethod, Credentials, Secret};
use crate::ppp::ccp::{KeyLength, MppePolicy};
use crate::ppp::frame::{Frame, Protocol};
use crate::ppp::ipcp::IpcpConfig;

pub(super) const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const ALICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub(super) const POOL_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub(super) const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
/// An IPCP Configure-Request (identifier 0x42, IP-Address 0.0.0.0), as a
/// peer sends it when it starts IPCP without waiting for CCP.
pub(super) const EARLY_IPCP_REQUEST: [u8; 14] =
    [0xff, 0x03, 0x80, 0x21, 1, 0x42, 0, 10, 3, 6, 0, 0, 0, 0];

/// Which end sent a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Client,
    Server,
}

/// Link impairments, in percent of frames.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Impair {
    pub loss: u32,
    pub dup: u32,
    pub reorder: u32,
}

pub(super) const CLEAN: Impair = Impair {
    loss: 0,
    dup: 0,
    reorder: 0,
};
pub(super) const LOSSY: Impair = Impair {
    loss: 10,
    dup: 3,
    reorder: 5,
};

/// A deterministic Rng for sessions (xorshift64).
pub(super) fn rng(mut s: u64) -> impl FnMut(&mut [u8]) + Send + 'static {
    s |= 1;
    move |buf: &mut [u8]| {
        for b in buf {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = (s >> 24) as u8;
        }
    }
}

fn lookup(user: &str) -> Option<Secret> {
    match user {
        "alice" => Some(Secret {
            password: "s3cret".into(),
            address: Some(ALICE_IP),
        }),
        "bob" => Some(Secret::new("hunter2")),
        _ => None,
    }
}

pub(super) fn credentials() -> Arc<dyn Credentials + Send + Sync> {
    Arc::new(lookup)
}

/// MPPE required with exactly one key length.
pub(super) fn mppe(key: KeyLength, stateless: bool) -> MppePolicy {
    MppePolicy {
        allow_128: key == KeyLength::Bits128,
        allow_56: key == KeyLength::Bits56,
        allow_40: key == KeyLength::Bits40,
        stateless,
        required: true,
    }
}

pub(super) fn client_cfg(
    method: AuthMethod,
    mppe: Option<MppePolicy>,
    user: &str,
    password: &str,
) -> SessionConfig {
    SessionConfig {
        auth: AuthConfig {
            methods: vec![method],
            name: user.into(),
            password: password.into(),
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            request_dns: true,
            ..IpcpConfig::default()
        },
        ..SessionConfig::default()
    }
}

pub(super) fn server_cfg(method: AuthMethod, mppe: Option<MppePolicy>) -> SessionConfig {
    SessionConfig {
        auth: AuthConfig {
            methods: vec![method],
            name: "pptpd".into(),
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            local: Some(SERVER_IP),
            remote: Some(POOL_IP),
            dns: [Some(DNS), None],
            ..IpcpConfig::default()
        },
        ..SessionConfig::default()
    }
}

struct Flight {
    at: Instant,
    seq: u64,
    from: Side,
    frame: Vec<u8>,
}

type DropHook = Box<dyn FnMut(Side, &[u8]) -> bool>;
type EditHook = Box<dyn FnMut(Side, &mut Vec<u8>)>;

pub(super) struct Net {
    pub client: Session,
    pub server: Session,
    pub now: Instant,
    pub impair: Impair,
    noise: u64,
    seq: u64,
    flights: Vec<Flight>,
    /// Every frame sent, lost or not.
    pub wire: Vec<(Side, Vec<u8>)>,
    pub client_events: Vec<SessionEvent>,
    pub server_events: Vec<SessionEvent>,
    pub client_ip: Vec<Vec<u8>>,
    pub server_ip: Vec<Vec<u8>>,
    /// Return true to lose the frame (besides the random losses).
    pub drop_hook: DropHook,
    pub edit_hook: EditHook,
}

impl Net {
    pub fn new(client: SessionConfig, server: SessionConfig, impair: Impair, seed: u64) -> Net {
        let now = Instant::now();
        let mut net = Net {
            client: Session::client(client, now, rng(seed ^ 0xC1)),
            server: Session::server(server, now, rng(seed ^ 0x5E), credentials()),
            now,
            impair,
            noise: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            seq: 0,
            flights: Vec::new(),
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_ip: Vec::new(),
            server_ip: Vec::new(),
            drop_hook: Box::new(|_, _| false),
            edit_hook: Box::new(|_, _| {}),
        };
        net.collect();
        net
    }

    /// xorshift64* (the high bits of the product are well mixed).
    fn next(&mut self) -> u64 {
        self.noise ^= self.noise >> 12;
        self.noise ^= self.noise << 25;
        self.noise ^= self.noise >> 27;
        self.noise.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32
    }

    fn percent(&mut self, p: u32) -> bool {
        self.next() % 100 < u64::from(p)
    }

    fn send(&mut self, from: Side, mut frame: Vec<u8>) {
        (self.edit_hook)(from, &mut frame);
        self.wire.push((from, frame.clone()));
        if (self.drop_hook)(from, &frame) || self.percent(self.impair.loss) {
            return;
        }
        let copies = if self.percent(self.impair.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let mut delay = Duration::from_millis(5);
            if self.percent(self.impair.reorder) {
                delay += Duration::from_millis(1 + self.next() % 30);
            }
            self.seq += 1;
            self.flights.push(Flight {
                at: self.now + delay,
                seq: self.seq,
                from,
                frame: frame.clone(),
            });
        }
    }

    /// Move every output of both sessions onto the link or into the
    /// collected events and packets.
    pub fn collect(&mut self) {
        while let Some(f) = self.client.poll_transmit() {
            self.send(Side::Client, f);
        }
        while let Some(f) = self.server.poll_transmit() {
            self.send(Side::Server, f);
        }
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
        self.server_events
            .extend(std::iter::from_fn(|| self.server.poll_event()));
        self.client_ip
            .extend(std::iter::from_fn(|| self.client.poll_ip()));
        self.server_ip
            .extend(std::iter::from_fn(|| self.server.poll_ip()));
    }

    /// Advance to the next delivery or timer not after `until`.
    fn step(&mut self, until: Instant) -> bool {
        self.collect();
        let next = self
            .flights
            .iter()
            .map(|f| f.at)
            .chain(self.client.poll_timeout())
            .chain(self.server.poll_timeout())
            .min();
        let Some(next) = next.filter(|t| *t <= until) else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        let mut due: Vec<Flight> = Vec::new();
        let mut i = 0;
        while i < self.flights.len() {
            if self.flights[i].at <= now {
                due.push(self.flights.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|f| (f.at, f.seq));
        for f in due {
            match f.from {
                Side::Client => self.server.handle_frame(now, &f.frame),
                Side::Server => self.client.handle_frame(now, &f.frame),
            }
            self.collect();
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        if self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.server.handle_timeout(now);
        }
        self.collect();
        true
    }

    /// Run for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..1_000_000 {
            if !self.step(until) {
                break;
            }
        }
        self.now = until;
    }

    /// Run until `done` holds (checked every 10 ms), at most `max`.
    pub fn run_until(&mut self, max: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        let end = self.now + max;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.run_for(Duration::from_millis(10));
        }
        done(self)
    }

    pub fn both_up(&self) -> bool {
        self.client.is_up() && self.server.is_up()
    }

    /// Frames sent by `side` with `protocol`, as (protocol, payload).
    pub fn sent(&self, side: Side, protocol: Protocol) -> Vec<Vec<u8>> {
        self.wire
            .iter()
            .filter(|(s, _)| *s == side)
            .filter_map(|(_, f)| Frame::parse(f).ok())
            .filter(|f| f.protocol == protocol)
            .map(|f| f.payload.to_vec())
            .collect()
    }
}

/// The last `Up` in `events`.
pub(super) fn last_up(events: &[SessionEvent]) -> Option<&SessionEvent> {
    events
        .iter()
        .rev()
        .find(|e| matches!(e, SessionEvent::Up { .. }))
}

/// The reason of the `Down` in `events`, if any.
pub(super) fn down_reason(events: &[SessionEvent]) -> Option<&SessionError> {
    events.iter().find_map(|e| match e {
        SessionEvent::Down { reason } => Some(reason),
        _ => None,
    })
}

/// A recognisable IPv4-looking packet.
pub(super) fn packet(tag: u8, n: usize) -> Vec<u8> {
    let len = 20 + (n * 37) % 300;
    let mut p = vec![0x45, 0, 0, 0];
    p.extend((0..len - 4).map(|i| tag ^ (n as u8).wrapping_mul(31) ^ (i as u8)));
    p[1] = tag;
    p[2..4].copy_from_slice(&u16::try_from(n).unwrap_or(0).to_be_bytes());
    p
}
