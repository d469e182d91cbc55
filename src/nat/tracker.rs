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
use super::stream::{Class, Held, MAX_HELD, Stream};
use crate::wire::pptp::MAGIC_COOKIE;

/// PPTP's well-known TCP port (RFC 2637 §1.3).
pub const PPTP_PORT: u16 = 1723;

/// Segments parked beyond a gap over every connection, so that a peer
/// sending from beyond gaps on many connections cannot pin the helper's
/// memory; past this they are dropped and TCP resends them.
pub const MAX_PARKED_TOTAL: usize = 64;

/// Segments held for the rest of their message over every connection. Each
/// pins a packet in the kernel's queue (4 096 at most, then it fails open
/// for everyone), so a peer trickling messages a byte at a time on many
/// connections must not fill it: past this, the connection holding the
/// oldest segment gives up on its message (its held segments go on as
/// they are, as after the hold time).
pub const MAX_HELD_TOTAL: usize = 256;

/// Bytes of those held segments (whole packets, as queued).
pub const MAX_HELD_BYTES: usize = 512 * 1024;

/// Control connections tracked at most. Entries are made only for a SYN or
/// a segment that starts with a PPTP header; when full, the least recently
/// seen eighth of the connections that carry no call and hold no segment
/// are forgotten; when none can go, the new connection's segment is dropped.
pub const MAX_CONNS: usize = 16384;

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
    /// Whether GRE is looked up at all, where it changed: on with the
    /// elements of the first call whose public Call ID is not its own, off
    /// once the last one's are gone; applied in the same transaction as
    /// `changes`. While off the forward chain has no GRE rule: a GRE
    /// packet fails its TCP and ICMP tests and leaves, with no lookup.
    pub gre_lookup: Option<bool>,
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
    /// Held segments let go early because [`MAX_HELD_TOTAL`],
    /// [`MAX_HELD_BYTES`] or a stream's own bound was reached.
    pub released_over_hold_limit: u64,
    /// Segments of no tracked connection that could not start one (no SYN,
    /// no PPTP header): passed on, no state kept.
    pub untracked: u64,
    /// Connections without calls forgotten to make room ([`MAX_CONNS`]).
    pub conns_evicted: u64,
    /// New connections refused because the table was full of calls.
    pub conns_refused: u64,
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
    /// queued packet until its verdict.
    parked_now: usize,
    /// Segments held for the rest of their message, and their bytes, over
    /// every connection.
    held_now: (usize, usize),
    /// Bounds log lines caused by remote input.
    log: crate::ratelimit::LogLimit,
    /// Calls whose inbound GRE must be rewritten (public Call ID not their
    /// own), by (server, public Call ID), as their elements reach the
    /// kernel: while there are none, [`Output::gre_lookup`] is off.
    rewritten: std::collections::HashSet<(Ipv4Addr, u16)>,
    /// No later than the earliest [`Conn::deadline`]: where the I/O edge
    /// sleeps until, instead of waking on a fixed tick. Input only ever
    /// brings it forward; [`Tracker::poll`] sets it exactly.
    wake: Option<Instant>,
}

/// The stream of one direction: outbound first, inbound second.
fn stream_of(streams: &mut [Stream; 2], d: Dir) -> &mut Stream {
    let [outbound, inbound] = streams;
    match d {
        Dir::Outbound => outbound,
        Dir::Inbound => inbound,
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
            held_now: (0, 0),
            stats: Stats::default(),
            log: crate::ratelimit::LogLimit::default(),
            wake: None,
            rewritten: std::collections::HashSet::new(),
        }
    }

    /// The WAN address. A change ends every call made through the old one.
    pub fn set_public_ip(&mut self, ip: Option<Ipv4Addr>, now: Instant, out: &mut Output) {
        if self.public == ip {
            return;
        }
        let from = out.changes.len();
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
                let_go(
                    &mut conn.streams,
                    (&mut self.held_now, &mut self.parked_now),
                    &mut out.verdicts,
                );
            }
            alloc.forget_public(old);
            drop(alloc);
            self.follow_lookups(out, from);
        } else if let Some(new) = ip {
            // Calls made while there was no address keep going, under the
            // address that now masquerades them: their public IDs must stay
            // taken there.
            self.alloc.borrow_mut().rehome(Ipv4Addr::UNSPECIFIED, new);
        }
        self.public = ip;
    }

    /// Segments waiting over every connection: held (count, bytes), parked.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> ((usize, usize), usize) {
        (self.held_now, self.parked_now)
    }

    /// The allocator this tracker takes public IDs from.
    pub fn allocator(&self) -> &SharedAllocator {
        &self.alloc
    }

    pub fn public_ip(&self) -> Option<Ipv4Addr> {
        self.public
    }
}

mod deadline;
mod handover;
mod lookup;
pub use deadline::earliest;
pub use handover::Handover;

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
        let from = out.changes.len();
        self.handle_segment(now, id, dir, data, out);
        self.follow_lookups(out, from);
    }

    fn handle_segment(&mut self, now: Instant, id: u64, dir: Dir, data: Vec<u8>, out: &mut Output) {
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
        if !self.conns.contains_key(&key) {
            if pkt.rst || !(pkt.syn || starts_pptp(pkt.payload())) {
                // Nothing that can become a PPTP call: no state for it.
                self.stats.untracked += 1;
                out.verdicts.push((id, Verdict::Accept(None)));
                return;
            }
            if self.conns.len() >= MAX_CONNS && !self.make_room() {
                self.stats.conns_refused += 1;
                if self.log.allow(now).0 {
                    tracing::warn!(%lan, %remote, "control connection refused: every tracked connection carries a call");
                }
                out.verdicts.push((id, Verdict::Drop));
                return;
            }
        }
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let conn = conn_entry(&mut self.conns, role, lan, remote, now);
        conn.last_seen = now;
        let alloc = self.alloc.clone();
        let mut alloc = alloc.borrow_mut();
        let mut cx = Ctx {
            alloc: &mut alloc,
            public,
            now,
            changes: &mut out.changes,
            log: &mut self.log,
        };
        let held_before = stream_of(&mut conn.streams, dir).held_size();
        if pkt.rst || (pkt.fin && !conn.closing) {
            conn.closing = true;
            conn.calls.end_all(&mut cx);
        }
        // This segment, then any parked ones its bytes have made current.
        let mut next = Some((id, pkt));
        while let Some((id, mut pkt)) = next.take() {
            let stream = stream_of(&mut conn.streams, dir);
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
            next = stream_of(&mut conn.streams, dir).unpark().map(|h| {
                self.parked_now -= 1;
                (h.id, h.pkt)
            });
        }
        drop(alloc);
        if let Some(c) = self.conns.get_mut(&key) {
            let after = stream_of(&mut c.streams, dir).held_size();
            self.held_now = adjust(self.held_now, held_before, after);
        }
        if self.held_now.0 > MAX_HELD_TOTAL || self.held_now.1 > MAX_HELD_BYTES {
            self.bound_held(out);
        }
        if pkt_closed(&self.conns, &key) {
            self.conns.remove(&key);
        }
        self.rearm(&key);
    }

    /// Make room for one connection: forget the least recently seen eighth
    /// of those that carry no call and hold no segment. False if none can go.
    fn make_room(&mut self) -> bool {
        let mut idle: Vec<(Instant, ConnKey)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.calls.list.is_empty() && c.streams.iter().all(Stream::is_idle))
            .map(|(k, c)| (c.last_seen, *k))
            .collect();
        if idle.is_empty() {
            return false;
        }
        let n = (MAX_CONNS / 8).clamp(1, idle.len());
        if n < idle.len() {
            idle.select_nth_unstable_by_key(n - 1, |(t, _)| *t);
        }
        for (_, k) in idle.iter().take(n) {
            self.conns.remove(k);
        }
        self.stats.conns_evicted += n as u64;
        true
    }

    /// Within [`MAX_HELD_TOTAL`] and [`MAX_HELD_BYTES`]: while over, the
    /// stream holding the oldest segment gives up on its message. Runs only
    /// when over, so the scan costs nothing in normal traffic.
    fn bound_held(&mut self, out: &mut Output) {
        while self.held_now.0 > MAX_HELD_TOTAL || self.held_now.1 > MAX_HELD_BYTES {
            let oldest = self
                .conns
                .iter()
                .flat_map(|(k, c)| {
                    c.streams
                        .iter()
                        .enumerate()
                        .filter_map(move |(i, s)| Some((s.held_since()?, *k, i)))
                })
                .min_by_key(|(t, _, _)| *t);
            let Some((_, k, i)) = oldest else {
                self.held_now = (0, 0);
                return;
            };
            let Some(s) = self.conns.get_mut(&k).and_then(|c| c.streams.get_mut(i)) else {
                return;
            };
            let before = s.held_size();
            for h in s.give_up() {
                self.stats.released_over_hold_limit += 1;
                out.verdicts
                    .push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
            }
            self.held_now = adjust(self.held_now, before, (0, 0));
        }
    }

    /// Timers: held segments, idle connections, map refreshes.
    pub fn poll(&mut self, now: Instant, out: &mut Output) {
        let from = out.changes.len();
        self.poll_conns(now, out);
        self.follow_lookups(out, from);
    }

    fn poll_conns(&mut self, now: Instant, out: &mut Output) {
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let cfg = self.cfg.clone();
        let mut cx = Ctx {
            alloc: &mut self.alloc.borrow_mut(),
            public,
            now,
            changes: &mut out.changes,
            log: &mut self.log,
        };
        let mut wake = None;
        self.conns.retain(|_, conn| {
            for s in &mut conn.streams {
                let before = s.held_size();
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
                self.held_now = adjust(self.held_now, before, s.held_size());
            }
            if now.saturating_duration_since(conn.last_seen) >= cfg.idle_timeout {
                conn.calls.end_all(&mut cx);
                let_go(
                    &mut conn.streams,
                    (&mut self.held_now, &mut self.parked_now),
                    &mut out.verdicts,
                );
                return false;
            }
            if now.saturating_duration_since(conn.last_refresh) >= cfg.refresh_every {
                conn.last_refresh = now;
                for m in conn.calls.mappings() {
                    cx.changes.push(Change::Refresh(m));
                }
            }
            wake = earliest(wake, conn.deadline(&cfg));
            true
        });
        self.wake = wake;
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

/// Let go of an ending connection's waiting segments: held ones pass as
/// they are (what was patched stays patched), parked ones are dropped (TCP
/// resends them). The totals over every connection, `(held, parked)`,
/// follow.
fn let_go(
    streams: &mut [Stream; 2],
    (held_now, parked_now): (&mut (usize, usize), &mut usize),
    verdicts: &mut Vec<(u64, Verdict)>,
) {
    for s in streams {
        *held_now = adjust(*held_now, s.held_size(), (0, 0));
        for h in s.take_held() {
            verdicts.push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
        }
        for h in s.take_parked() {
            *parked_now = parked_now.saturating_sub(1);
            verdicts.push((h.id, Verdict::Drop));
        }
    }
}

/// A running total `(count, bytes)` after one stream went from `before`
/// to `after`.
fn adjust(total: (usize, usize), before: (usize, usize), after: (usize, usize)) -> (usize, usize) {
    (
        (total.0 + after.0).saturating_sub(before.0),
        (total.1 + after.1).saturating_sub(before.1),
    )
}

/// Whether a payload starts with a PPTP control header (the magic cookie
/// at offset 4, RFC 2637 §2.1): a connection the helper did not see open
/// (it started before the helper) is tracked from such a segment on.
fn starts_pptp(payload: &[u8]) -> bool {
    payload.get(4..8) == Some(&MAGIC_COOKIE.to_be_bytes()[..])
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
    let stream = stream_of(&mut conn.streams, dir);
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
        if stream.held_size().0 > MAX_HELD {
            // A message trickled a few bytes per segment: no real stack
            // does that; stop waiting for it.
            for h in stream.give_up() {
                stats.released_over_hold_limit += 1;
                verdicts.push((h.id, Verdict::Accept(Some(h.pkt.into_bytes()))));
            }
        }
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
