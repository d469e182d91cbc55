//! The helper's control-segment handler as a pure state machine: a segment
//! goes in with the time, verdicts (with rewritten bytes) and kernel map
//! changes come out. No sockets, no clock.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::alloc::{Allocator, SharedAllocator};
use super::call::{CallState, Calls, Change, Ctx, Mapping};
use super::packet::TcpPacket;
use super::rules::{Dir, Role};
use super::stream::{Class, Held, Stream};

/// PPTP's well-known TCP port (RFC 2637 §1.3).
pub const PPTP_PORT: u16 = 1723;

/// Segments parked beyond a gap over every connection, so that a peer
/// sending from beyond gaps on many connections cannot pin the helper's
/// memory; past this they are dropped and TCP resends them.
pub const MAX_PARKED_TOTAL: usize = 64;

/// Timers of the tracker.
#[derive(Debug, Clone)]
pub struct Config {
    /// A control connection with no segment for this long is dead. PPTP
    /// peers send an Echo-Request after 60 s of silence (§2.4).
    pub idle_timeout: Duration,
    /// How long a segment may wait for the rest of its message.
    pub hold_timeout: Duration,
    /// How long a released public Call ID rests.
    pub quarantine: Duration,
    /// How often an active call's map elements get a fresh timeout.
    pub refresh_every: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: Duration::from_secs(300),
            hold_timeout: Duration::from_secs(2),
            quarantine: Duration::from_secs(300),
            refresh_every: Duration::from_secs(1800),
        }
    }
}

/// What happens to a queued segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it pass, with new bytes if it was rewritten.
    Accept(Option<Vec<u8>>),
    /// Drop it (out of order: TCP resends it).
    Drop,
}

/// Everything a call of `handle`/`poll` asks the I/O edge to do. Changes
/// must reach the kernel before the verdicts are given, so that GRE of a
/// call finds its mapping before the reply that establishes the call.
#[derive(Debug, Default)]
pub struct Output {
    pub verdicts: Vec<(u64, Verdict)>,
    pub changes: Vec<Change>,
}

/// Identity of a control connection from the LAN's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    lan: SocketAddrV4,
    remote: SocketAddrV4,
}

#[derive(Debug)]
struct Conn {
    calls: Calls,
    streams: [Stream; 2],
    last_seen: Instant,
    last_refresh: Instant,
    closing: bool,
    warned: bool,
}

/// One row of `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallInfo {
    pub role: Role,
    pub lan: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub lan_call_id: u16,
    pub public_call_id: u16,
    pub peer_call_id: Option<u16>,
    pub state: CallState,
    pub age_secs: u64,
}

/// Counters for `status`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub segments: u64,
    pub rewritten: u64,
    pub held: u64,
    /// Segments that came before an earlier one and waited for it.
    pub parked: u64,
    pub dropped_out_of_order: u64,
    pub malformed: u64,
    pub released_unmodified_after_hold: u64,
}

/// The call table.
#[derive(Debug)]
pub struct Tracker {
    cfg: Config,
    public: Option<Ipv4Addr>,
    alloc: SharedAllocator,
    conns: HashMap<ConnKey, Conn>,
    pub stats: Stats,
    /// Segments parked beyond a gap, over every connection: each pins a
    /// queued packet (and its receive buffer) until its verdict.
    parked_now: usize,
    /// Bounds log lines caused by remote input.
    log: crate::ratelimit::LogLimit,
}

fn dir_index(d: Dir) -> usize {
    match d {
        Dir::Outbound => 0,
        Dir::Inbound => 1,
    }
}

impl Tracker {
    /// `seed` randomises the public Call ID start points.
    pub fn new(cfg: Config, seed: u64) -> Self {
        let alloc = Allocator::new(seed, cfg.quarantine).shared();
        Self::with_allocator(cfg, alloc)
    }

    /// A tracker whose public Call IDs come from `alloc`, shared with the
    /// router's own PPTP client so its calls never collide with LAN calls.
    pub fn with_allocator(cfg: Config, alloc: SharedAllocator) -> Self {
        Tracker {
            cfg,
            public: None,
            alloc,
            conns: HashMap::new(),
            parked_now: 0,
            stats: Stats::default(),
            log: crate::ratelimit::LogLimit::default(),
        }
    }

    /// The WAN address. A change ends every call made through the old one.
    pub fn set_public_ip(&mut self, ip: Option<Ipv4Addr>, now: Instant, out: &mut Output) {
        if self.public == ip {
            return;
        }
        if let Some(old) = self.public {
            let mut alloc = self.alloc.borrow_mut();
            let mut cx = Ctx {
                alloc: &mut alloc,
                public: old,
                now,
                changes: &mut out.changes,
                log: &mut self.log,
            };
            for (_, mut conn) in self.conns.drain() {
                conn.calls.end_all(&mut cx);
                for s in &mut conn.streams {
                    for h in s.take_held() {
                        out.verdicts
                            .push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
                    }
                    for h in s.take_parked() {
                        self.parked_now -= 1;
                        out.verdicts.push((h.id, Verdict::Drop));
                    }
                }
            }
            alloc.forget_public(old);
        } else if let Some(new) = ip {
            // Calls made while there was no address keep going, under the
            // address that now masquerades them: their public IDs must stay
            // taken there.
            self.alloc.borrow_mut().rehome(Ipv4Addr::UNSPECIFIED, new);
        }
        self.public = ip;
    }

    pub fn public_ip(&self) -> Option<Ipv4Addr> {
        self.public
    }

    /// Take back calls found in the kernel maps after a restart.
    pub fn recover(&mut self, now: Instant, mappings: &[Mapping]) -> usize {
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mut n = 0;
        for m in mappings {
            if !self
                .alloc
                .borrow_mut()
                .reserve(public, m.remote_ip(), m.public_cid)
            {
                continue;
            }
            let conn = conn_entry(&mut self.conns, m.role, m.lan, m.remote, now);
            conn.calls.list.push(super::call::Call {
                lan_cid: m.lan_cid,
                public_cid: m.public_cid,
                peer_cid: Some(m.peer_cid),
                state: CallState::Established,
                since: now,
                expected: false,
                mapped: true,
            });
            n += 1;
        }
        n
    }
}

fn conn_entry(
    conns: &mut HashMap<ConnKey, Conn>,
    role: Role,
    lan: SocketAddrV4,
    remote: SocketAddrV4,
    now: Instant,
) -> &mut Conn {
    conns
        .entry(ConnKey { lan, remote })
        .or_insert_with(|| Conn {
            calls: Calls::new(role, lan, remote),
            streams: Default::default(),
            last_seen: now,
            last_refresh: now,
            closing: false,
            warned: false,
        })
}

impl Tracker {
    /// Handle one queued IPv4 packet travelling in `dir`.
    pub fn handle(&mut self, now: Instant, id: u64, dir: Dir, data: Vec<u8>, out: &mut Output) {
        self.stats.segments += 1;
        let pkt = match TcpPacket::parse(data) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed += 1;
                out.verdicts.push((id, Verdict::Accept(None)));
                return;
            }
        };
        let (lan, remote) = match dir {
            Dir::Outbound => (pkt.src, pkt.dst),
            Dir::Inbound => (pkt.dst, pkt.src),
        };
        let role = if remote.port() == PPTP_PORT {
            Role::Pns
        } else if lan.port() == PPTP_PORT {
            Role::Pac
        } else {
            out.verdicts.push((id, Verdict::Accept(None)));
            return;
        };
        let key = ConnKey { lan, remote };
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let conn = conn_entry(&mut self.conns, role, lan, remote, now);
        conn.last_seen = now;
        let mut cx = Ctx {
            alloc: &mut self.alloc.borrow_mut(),
            public,
            now,
            changes: &mut out.changes,
            log: &mut self.log,
        };
        if pkt.rst || (pkt.fin && !conn.closing) {
            conn.closing = true;
            conn.calls.end_all(&mut cx);
        }
        // This segment, then any parked ones its bytes have made current.
        let mut next = Some((id, pkt));
        while let Some((id, mut pkt)) = next.take() {
            let stream = &mut conn.streams[dir_index(dir)];
            let held = |pkt| Held {
                id,
                pkt,
                since: now,
            };
            match stream.classify(&pkt) {
                Class::Old => {
                    stream.replay_patches(&mut pkt);
                    out.verdicts.push((id, finish(pkt, &mut self.stats)));
                }
                Class::Future => {
                    let parked = &mut self.parked_now;
                    park(
                        stream,
                        held(pkt),
                        parked,
                        &mut self.stats,
                        &mut out.verdicts,
                    );
                }
                Class::New { skip } => {
                    let verdicts = &mut out.verdicts;
                    take_new(
                        conn,
                        dir,
                        held(pkt),
                        skip,
                        &mut cx,
                        &mut self.stats,
                        verdicts,
                    );
                }
            }
            next = conn.streams[dir_index(dir)].unpark().map(|h| {
                self.parked_now -= 1;
                (h.id, h.pkt)
            });
        }
        if pkt_closed(&self.conns, &key) {
            self.conns.remove(&key);
        }
    }

    /// Timers: held segments, idle connections, map refreshes.
    pub fn poll(&mut self, now: Instant, out: &mut Output) {
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let cfg = self.cfg.clone();
        let mut cx = Ctx {
            alloc: &mut self.alloc.borrow_mut(),
            public,
            now,
            changes: &mut out.changes,
            log: &mut self.log,
        };
        self.conns.retain(|_, conn| {
            for s in &mut conn.streams {
                if s.held_since()
                    .is_some_and(|t| now.duration_since(t) >= cfg.hold_timeout)
                {
                    for h in s.give_up() {
                        self.stats.released_unmodified_after_hold += 1;
                        out.verdicts
                            .push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
                    }
                }
                // The gap never filled: TCP resends these in order.
                if s.parked_since()
                    .is_some_and(|t| now.duration_since(t) >= cfg.hold_timeout)
                {
                    for h in s.take_parked() {
                        self.parked_now -= 1;
                        self.stats.dropped_out_of_order += 1;
                        out.verdicts.push((h.id, Verdict::Drop));
                    }
                }
            }
            if now.saturating_duration_since(conn.last_seen) >= cfg.idle_timeout {
                conn.calls.end_all(&mut cx);
                for s in &mut conn.streams {
                    for h in s.take_held() {
                        out.verdicts
                            .push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
                    }
                    for h in s.take_parked() {
                        self.parked_now -= 1;
                        out.verdicts.push((h.id, Verdict::Drop));
                    }
                }
                return false;
            }
            if now.saturating_duration_since(conn.last_refresh) >= cfg.refresh_every {
                conn.last_refresh = now;
                for m in conn.calls.mappings() {
                    cx.changes.push(Change::Refresh(m));
                }
            }
            true
        });
    }

    /// Every call, for `status`.
    pub fn calls(&self, now: Instant) -> Vec<CallInfo> {
        let mut v: Vec<CallInfo> = self
            .conns
            .values()
            .flat_map(|c| {
                c.calls.list.iter().map(move |x| CallInfo {
                    role: c.calls.role,
                    lan: c.calls.lan,
                    remote: c.calls.remote,
                    lan_call_id: x.lan_cid,
                    public_call_id: x.public_cid,
                    peer_call_id: x.peer_cid,
                    state: x.state,
                    age_secs: now.saturating_duration_since(x.since).as_secs(),
                })
            })
            .collect();
        v.sort_by_key(|c| (c.lan, c.remote, c.public_call_id));
        v
    }

    /// Mappings of every established call.
    pub fn mappings(&self) -> Vec<Mapping> {
        self.conns
            .values()
            .flat_map(|c| c.calls.mappings())
            .collect()
    }

    /// Number of tracked control connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

/// A connection that was closed and has no calls nor held segments left.
fn pkt_closed(conns: &HashMap<ConnKey, Conn>, key: &ConnKey) -> bool {
    conns.get(key).is_some_and(|c| {
        c.closing
            && c.calls.list.is_empty()
            && c.streams
                .iter()
                .all(|s| s.held_since().is_none() && s.parked_since().is_none())
    })
}

/// A segment from beyond a gap waits for it, within [`MAX_PARKED_TOTAL`]
/// and the stream's own bound; otherwise it is dropped and TCP resends it.
fn park(
    stream: &mut Stream,
    h: Held,
    parked_now: &mut usize,
    stats: &mut Stats,
    verdicts: &mut Vec<(u64, Verdict)>,
) {
    let refused = if *parked_now >= MAX_PARKED_TOTAL {
        Some(h)
    } else {
        stream.park(h)
    };
    match refused {
        Some(h) => {
            stats.dropped_out_of_order += 1;
            verdicts.push((h.id, Verdict::Drop));
        }
        None => {
            *parked_now += 1;
            stats.parked += 1;
        }
    }
}

/// A segment with new bytes: cut out the messages it completes, rewrite
/// their Call IDs, then release the held segments that no longer wait and
/// this one, unless it must wait for the rest of its message.
fn take_new(
    conn: &mut Conn,
    dir: Dir,
    h: Held,
    skip: usize,
    cx: &mut Ctx,
    stats: &mut Stats,
    verdicts: &mut Vec<(u64, Verdict)>,
) {
    let Held { id, mut pkt, since } = h;
    let stream = &mut conn.streams[dir_index(dir)];
    stream.replay_patches(&mut pkt);
    let msgs = match stream.feed(&pkt, skip) {
        Ok(m) => m,
        Err(e) => {
            stats.malformed += 1;
            if !conn.warned {
                conn.warned = true;
                if cx.log_allowed() {
                    let (lan, remote) = (conn.calls.lan, conn.calls.remote);
                    tracing::warn!(%lan, %remote, error = %e,
                        "unreadable PPTP control stream: passing it unchanged");
                }
            }
            Vec::new()
        }
    };
    for (seq, msg) in msgs {
        for (off, bytes) in conn.calls.on_message(dir, &msg, cx) {
            stream.patch(seq.wrapping_add(off as u32), bytes, &mut pkt);
        }
    }
    let mine = if stream.must_hold() {
        stats.held += 1;
        stream.hold(Held { id, pkt, since });
        None
    } else {
        Some(pkt)
    };
    for h in stream.releasable() {
        verdicts.push((h.id, finish(h.pkt, stats)));
    }
    if let Some(pkt) = mine {
        verdicts.push((id, finish(pkt, stats)));
    }
}

fn finish(pkt: TcpPacket, stats: &mut Stats) -> Verdict {
    if pkt.is_modified() {
        stats.rewritten += 1;
        Verdict::Accept(Some(pkt.into_bytes()))
    } else {
        Verdict::Accept(None)
    }
}
