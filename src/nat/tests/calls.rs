//! Calls through the tracker: aliasing, mapping, both roles, teardown,
//! exhaustion, recovery, WAN address changes, refreshes and bursts.

use std::time::{Duration, Instant};

use super::alloc::{MAX_LIVE_PER_HOST, MAX_RESTING_PER_HOST};
use super::call::{MAX_CALLS_PER_CONN, MAX_REFUSED_PER_CONN};
use super::*;

#[test]
fn pns_outgoing_call_is_aliased_and_mapped_before_release() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (public, out) = dial(&mut t, &mut c, now, 4660, 77);
    assert_eq!(
        out.changes,
        vec![Change::Promote(Mapping {
            role: Role::Pns,
            lan: lan(10, 40000),
            remote: srv(1723),
            lan_cid: 4660,
            public_cid: public,
            peer_cid: 77,
        })]
    );
    // WEN and SLI from the server name our call: de-aliased.
    for ty in [WanErrorNotify, SetLinkInfo] {
        let (_, b) = c.send(&mut t, now, Inbound, &msg(ty, &[(12, public)]));
        assert_eq!(u16_at(&b, 12), 4660, "{ty:?}");
    }
    // SLI sent by the client names the server's ID: untouched.
    let (_, b) = c.send(&mut t, now, Outbound, &msg(SetLinkInfo, &[(12, 77)]));
    assert_eq!(u16_at(&b, 12), 77);
    // CCRQ carries the client's own ID: aliased; CDN is the server's own: kept.
    let (_, b) = c.send(&mut t, now, Outbound, &msg(CallClearRequest, &[(12, 4660)]));
    assert_eq!(u16_at(&b, 12), public);
    let (o, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(CallDisconnectNotify, &[(12, 77)]),
    );
    assert_eq!(u16_at(&b, 12), 77, "CDN must not be rewritten");
    assert!(matches!(o.changes[..], [Change::Remove(m)] if m.public_cid == public));
    assert!(t.calls(now).is_empty());
}

/// A call whose Call ID is free towards its server keeps it: the
/// requests pass unchanged, and its inbound GRE needs no rewrite. A second
/// host with the same ID towards the same server is given one of the
/// rewritten range (the forward rule's bit test picks those out).
#[test]
fn a_call_keeps_its_own_call_id_when_free() {
    let now = Instant::now();
    let mut t = Tracker::new(Config::default(), 42);
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    let mut b = Conn::new(lan(11, 40000), srv(1723));
    let (pa, out) = dial(&mut t, &mut a, now, 4660, 1);
    assert_eq!(pa, 4660);
    assert!(
        matches!(out.changes[..], [Change::Promote(m)] if m.public_cid == 4660 && m.lan_cid == 4660)
    );
    let (pb, _) = dial(&mut t, &mut b, now, 4660, 2);
    assert!(pb >= super::alloc::REWRITTEN_FROM, "{pb}");
    // The server's messages naming the kept ID pass as they are.
    let (_, got) = a.send(&mut t, now, Inbound, &msg(SetLinkInfo, &[(12, 4660)]));
    assert_eq!(u16_at(&got, 12), 4660);
    let (_, got) = b.send(&mut t, now, Inbound, &msg(SetLinkInfo, &[(12, pb)]));
    assert_eq!(u16_at(&got, 12), 4660);
    assert_eq!(t.allocator().borrow().stats.kept_own, 1);
}

#[test]
fn identical_call_ids_from_two_hosts_get_distinct_aliases() {
    let now = Instant::now();
    let mut t = tracker();
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    let mut b = Conn::new(lan(11, 40000), srv(1723));
    let (pa, _) = dial(&mut t, &mut a, now, 4660, 1);
    let (pb, _) = dial(&mut t, &mut b, now, 4660, 2);
    assert_ne!(pa, pb);
    let mut ids: Vec<u16> = t.mappings().iter().map(|m| m.public_cid).collect();
    ids.sort();
    assert_eq!(ids.len(), 2);
}

#[test]
fn two_calls_in_one_control_connection() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (p1, _) = dial(&mut t, &mut c, now, 100, 7);
    let (p2, _) = dial(&mut t, &mut c, now, 200, 8);
    assert_ne!(p1, p2);
    assert_eq!(t.mappings().len(), 2);
    // Ending one leaves the other.
    c.send(&mut t, now, Inbound, &msg(CallDisconnectNotify, &[(12, 7)]));
    let m = t.mappings();
    assert_eq!((m.len(), m[0].lan_cid), (1, 200));
}

#[test]
fn lan_server_behind_port_forward() {
    let now = Instant::now();
    let mut t = tracker();
    let client = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 20), 50000);
    let mut c = Conn::new(lan(20, 1723), client);
    // The outside client's OCRQ carries its own ID: untouched.
    let (_, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallRequest, &[(12, 555)]),
    );
    assert_eq!(u16_at(&b, 12), 555);
    // The LAN server's OCRP: its own ID aliased, the client's kept; mapped.
    let (o, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallReply, &[(12, 9), (14, 555), (16, 0x0100)]),
    );
    let public = u16_at(&b, 12);
    assert!(public != 9 && public != 0);
    assert_eq!(u16_at(&b, 14), 555);
    assert!(
        matches!(o.changes[..], [Change::Add(m)] if m.lan_cid == 9 && m.peer_cid == 555 && m.role == Role::Pac)
    );
    // SLI from the client names the server's call: de-aliased.
    let (_, b) = c.send(&mut t, now, Inbound, &msg(SetLinkInfo, &[(12, public)]));
    assert_eq!(u16_at(&b, 12), 9);
    // Incoming call from the LAN server: ICRQ aliased, ICRP de-aliased.
    let (_, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(IncomingCallRequest, &[(12, 10)]),
    );
    let p2 = u16_at(&b, 12);
    let (o, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(IncomingCallReply, &[(12, 556), (14, p2), (16, 0x0100)]),
    );
    assert_eq!((u16_at(&b, 12), u16_at(&b, 14)), (556, 10));
    assert_eq!(o.changes.len(), 1);
    // The client's CCRQ names its own ID: untouched; the server's CDN: aliased.
    let (_, b) = c.send(&mut t, now, Inbound, &msg(CallClearRequest, &[(12, 555)]));
    assert_eq!(u16_at(&b, 12), 555);
    let (o, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(CallDisconnectNotify, &[(12, 9)]),
    );
    assert_eq!(u16_at(&b, 12), public);
    assert!(matches!(o.changes[..], [Change::Remove(m)] if m.public_cid == public));
}

#[test]
fn pns_incoming_call() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (_, b) = c.send(&mut t, now, Inbound, &msg(IncomingCallRequest, &[(12, 31)]));
    assert_eq!(u16_at(&b, 12), 31);
    let (o, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(IncomingCallReply, &[(12, 5), (14, 31), (16, 0x0100)]),
    );
    let public = u16_at(&b, 12);
    assert!(public != 5 && public != 0);
    assert_eq!(u16_at(&b, 14), 31);
    // Mapped as the reply leaves: the PAC sends GRE right behind its ICCN.
    assert!(
        matches!(o.changes[..], [Change::Add(m)] if m.peer_cid == 31 && m.lan_cid == 5 && m.public_cid == public)
    );
    let (o, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(IncomingCallConnected, &[(12, public)]),
    );
    assert_eq!(u16_at(&b, 12), 5);
    assert!(o.changes.is_empty());
    assert_eq!(t.calls(now)[0].state, super::call::CallState::Established);
}

#[test]
fn failed_reply_frees_the_alias() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (_, b) = c.send(&mut t, now, Outbound, &msg(OutgoingCallRequest, &[(12, 1)]));
    let public = u16_at(&b, 12);
    let (o, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 9), (14, public), (16, 0x0400)]),
    );
    assert_eq!(u16_at(&b, 14), 1);
    assert!(
        matches!(o.changes[..], [Change::Unexpect(m)] if m.public_cid == public),
        "{:?}",
        o.changes
    );
    assert!(t.calls(now).is_empty());
}

#[test]
fn stop_fin_rst_and_idle_end_every_call() {
    let now = Instant::now();
    for how in 0..4 {
        let mut t = tracker();
        let mut c = Conn::new(lan(10, 40000), srv(1723));
        dial(&mut t, &mut c, now, 1, 7);
        dial(&mut t, &mut c, now, 2, 8);
        let mut out = Output::default();
        match how {
            0 => {
                c.send(
                    &mut t,
                    now,
                    Outbound,
                    &msg(StopControlConnectionRequest, &[]),
                );
                out = c
                    .send(&mut t, now, Inbound, &msg(StopControlConnectionReply, &[]))
                    .0;
            }
            1 | 2 => {
                let p = build_segment(c.lan, c.remote, c.seq[0], (false, how == 1, how == 2), &[]);
                t.handle(now, 999, Outbound, p, &mut out);
            }
            _ => t.poll(now + Duration::from_secs(301), &mut out),
        }
        let removed = out
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Remove(_)))
            .count();
        assert_eq!(removed, 2, "case {how}");
        assert!(t.mappings().is_empty(), "case {how}");
    }
}

/// Sends `n` Outgoing-Call-Requests on `c`, `per` to a segment, the LAN
/// Call ID of request `i` given by `cid(i)`; the public IDs they got.
fn ocrq_burst(
    t: &mut Tracker,
    c: &mut Conn,
    now: Instant,
    n: u32,
    cid: impl Fn(u32) -> u16,
) -> Vec<u16> {
    let mut got = Vec::new();
    let mut p = Vec::new();
    for i in 0..n {
        p.extend(msg(OutgoingCallRequest, &[(12, cid(i))]));
        if p.len() > 60000 || i + 1 == n {
            let (_, b) = c.send(t, now, Outbound, &p);
            got.extend((0..p.len() / 168).map(|k| u16_at(&b, k * 168 + 12)));
            p.clear();
        }
    }
    got
}

#[test]
fn exhaustion_refuses_the_call_cleanly() {
    let now = Instant::now();
    let shared = super::alloc::Allocator::new(7, Duration::from_secs(300))
        .rewrite_every_call()
        .shared();
    for _ in 0..super::alloc::REWRITTEN_IDS {
        shared
            .borrow_mut()
            .alloc(PUB, SRV, super::alloc::Owner::Router, now)
            .unwrap();
    }
    let mut t = Tracker::with_allocator(Config::default(), shared.clone());
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    // Every public ID towards this server is taken: the call is refused.
    let (_, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 61000)]),
    );
    assert_eq!(u16_at(&b, 12), 0, "refused call must not take a live ID");
    let (o, b) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 9), (14, 0), (16, 0x0100)]),
    );
    assert_eq!(u16_at(&b, 14), 61000);
    assert_eq!((b[16], b[17]), (2, 4), "General Error / No-Resource");
    assert!(o.changes.is_empty());
    assert_eq!(shared.borrow().stats.refused_exhausted, 1);
}

/// A connection that holds the most calls allowed: each request beyond is
/// refused, and each reply (Call ID 0 at the peer's) goes back to its own
/// request's Call ID, in order, as General Error / No-Resource, whatever
/// the server said: the client is told at once instead of timing out.
#[test]
fn a_full_connection_tells_each_refused_request() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let n = MAX_CALLS_PER_CONN as u32;
    let got = ocrq_burst(&mut t, &mut c, now, n + 3, |i| i as u16 + 1);
    assert!(got[..n as usize].iter().all(|&id| id != 0));
    assert_eq!(got[n as usize..], [0, 0, 0], "beyond the bound: refused");
    // The server answers the three in order; the second it even accepts.
    for (k, result) in [(0u16, 0x0200), (1, 0x0100), (2, 0x0300)] {
        let (o, b) = c.send(
            &mut t,
            now,
            Inbound,
            &msg(OutgoingCallReply, &[(12, 500 + k), (14, 0), (16, result)]),
        );
        assert_eq!(u16_at(&b, 14), n as u16 + 1 + k, "reply {k}");
        assert_eq!((b[16], b[17]), (2, 4), "General Error / No-Resource");
        assert!(o.changes.is_empty(), "a refused call maps nothing");
    }
    // Told once each: another reply naming Call ID 0 passes unchanged.
    let stray = msg(OutgoingCallReply, &[(12, 600), (14, 0), (16, 0x0100)]);
    let (_, b) = c.send(&mut t, now, Inbound, &stray);
    assert_eq!(b, stray);
    assert_eq!(t.calls(now).len(), MAX_CALLS_PER_CONN);
}

/// Refused requests waiting for their replies are bounded per connection:
/// past the bound the oldest is forgotten, and the replies go to the
/// newest ones, in order.
#[test]
fn refused_requests_waiting_for_replies_are_bounded() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let full = MAX_CALLS_PER_CONN as u32;
    let over = MAX_REFUSED_PER_CONN as u32 + 10;
    let got = ocrq_burst(&mut t, &mut c, now, full + over, |i| i as u16 + 1);
    assert!(got[full as usize..].iter().all(|&id| id == 0));
    let mut told = Vec::new();
    for k in 0..over {
        let r = msg(
            OutgoingCallReply,
            &[(12, 700 + k as u16), (14, 0), (16, 0x0100)],
        );
        let (_, b) = c.send(&mut t, now, Inbound, &r);
        if b != r {
            told.push(u16_at(&b, 14));
        }
    }
    let newest: Vec<u16> = (full + 10 + 1..=full + over).map(|i| i as u16).collect();
    assert_eq!(told, newest);
}

/// The attack: one connection sends request after request with the same
/// LAN Call ID, each superseding the last and sending its public ID to
/// rest. Its host never holds more than its bound, and another host's call
/// to the same server still gets a public ID.
#[test]
fn one_connection_cannot_put_every_public_id_to_rest() {
    let now = Instant::now();
    let mut t = tracker();
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    let got = ocrq_burst(&mut t, &mut a, now, 65535, |_| 4660);
    assert!(got.iter().all(|&id| id != 0), "the host's own calls pass");
    let distinct: std::collections::HashSet<u16> = got.iter().copied().collect();
    assert!(
        distinct.len() <= MAX_RESTING_PER_HOST + 1,
        "{} public IDs used by one connection",
        distinct.len()
    );
    let mut b = Conn::new(lan(11, 40000), srv(1723));
    let (pb, _) = dial(&mut t, &mut b, now, 4660, 5);
    assert!(!distinct.contains(&pb));
    // Many connections from the one host do no better: the host's live
    // calls are bounded too, and the calls beyond are refused.
    let mut refused = 0;
    for port in 0..8u16 {
        let mut c = Conn::new(lan(10, 41000 + port), srv(1723));
        let ids = ocrq_burst(&mut t, &mut c, now, 200, |i| i as u16 + 1);
        refused += ids.iter().filter(|&&id| id == 0).count();
    }
    let calls = t.calls(now);
    let live = calls
        .iter()
        .filter(|c| c.public_call_id != 0 && c.lan.ip() == lan(10, 0).ip())
        .count();
    assert_eq!(live, MAX_LIVE_PER_HOST, "calls held by the host");
    assert_eq!(refused, 8 * 200 + 1 - MAX_LIVE_PER_HOST);
    // Refused calls wait for their reply, but each connection holds few.
    let per_conn = |port: u16| calls.iter().filter(|c| c.lan == lan(10, port)).count();
    assert!((0..8).all(|p| per_conn(41000 + p) <= MAX_CALLS_PER_CONN));
    let mut e = Conn::new(lan(13, 40000), srv(1723));
    let ids = ocrq_burst(&mut t, &mut e, now, 1000, |i| i as u16 + 1);
    assert_eq!(
        ids.iter().filter(|&&id| id != 0).count(),
        MAX_CALLS_PER_CONN
    );
    assert_eq!(
        t.calls(now)
            .iter()
            .filter(|c| c.lan == lan(13, 40000))
            .count(),
        MAX_CALLS_PER_CONN
    );
    let mut d = Conn::new(lan(12, 40000), srv(1723));
    dial(&mut t, &mut d, now, 4660, 6);
}

#[test]
fn recovered_calls_block_their_ids_and_keep_working() {
    let now = Instant::now();
    let mut t1 = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    dial(&mut t1, &mut c, now, 4660, 7);
    let maps = t1.mappings();
    // A restarted helper with the same seed would start at the same ID.
    let mut t2 = tracker();
    assert_eq!(t2.recover(now, &maps, &super::Handover::default()), 1);
    let mut c2 = Conn::new(lan(11, 40000), srv(1723));
    let (p2, _) = dial(&mut t2, &mut c2, now, 4660, 8);
    assert_ne!(p2, maps[0].public_cid);
    // The recovered call is torn down by its CDN, picked up mid-stream.
    let (o, _) = c.send(
        &mut t2,
        now,
        Inbound,
        &msg(CallDisconnectNotify, &[(12, 7)]),
    );
    assert_eq!(o.changes, vec![Change::Remove(maps[0])]);
}

#[test]
fn wan_address_change_ends_every_call() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    dial(&mut t, &mut c, now, 1, 7);
    let mut out = Output::default();
    t.set_public_ip(Some(Ipv4Addr::new(203, 0, 113, 3)), now, &mut out);
    assert_eq!(out.changes.len(), 1);
    assert!(t.mappings().is_empty() && t.connections() == 0);
}

/// Found while writing the nat_tracker fuzz target: calls made before the
/// WAN had an address took their public IDs from the `0.0.0.0` pools, and
/// when the address appeared, new calls were allocated from fresh pools, so
/// two live calls towards one server could share a public Call ID.
#[test]
fn address_appearing_keeps_earlier_calls_ids_taken() {
    let now = Instant::now();
    let mut t = Tracker::new(Config::default(), 42);
    let mut c1 = Conn::new(lan(10, 40000), srv(1723));
    let (early, _) = dial(&mut t, &mut c1, now, 1, 7);
    let mut out = Output::default();
    t.set_public_ip(Some(PUB), now, &mut out);
    assert!(out.changes.is_empty(), "the early call goes on");
    assert_eq!(t.mappings().len(), 1);
    // 65534 more calls fill every other ID; the next one is refused.
    let mut c2 = Conn::new(lan(11, 40000), srv(1723));
    let mut p = Vec::new();
    for i in 0..65534u32 {
        p.extend(msg(OutgoingCallRequest, &[(12, (i % 60000) as u16 + 1)]));
        if p.len() > 60000 || i == 65533 {
            let (_, b) = c2.send(&mut t, now, Outbound, &p);
            for m in b.chunks(168) {
                assert_ne!(u16_at(m, 12), early, "live public Call ID handed out twice");
            }
            p.clear();
        }
    }
    let (_, b) = c2.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 61000)]),
    );
    assert_eq!(u16_at(&b, 12), 0, "every ID is taken or resting");
    // The early call still ends cleanly and releases its ID.
    let (o, _) = c1.send(&mut t, now, Inbound, &msg(CallDisconnectNotify, &[(12, 7)]));
    assert!(matches!(o.changes[..], [Change::Remove(m)] if m.public_cid == early));
}

#[test]
fn active_calls_get_their_elements_refreshed() {
    let now = Instant::now();
    let cfg = Config {
        refresh_every: Duration::from_secs(60),
        ..Config::default()
    };
    let mut t = Tracker::new(cfg, 9);
    let mut out = Output::default();
    t.set_public_ip(Some(PUB), now, &mut out);
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    dial(&mut t, &mut c, now, 1, 7);
    let mut out = Output::default();
    t.poll(now + Duration::from_secs(30), &mut out);
    assert!(out.changes.is_empty());
    // An Echo keeps the connection alive; the next poll refreshes the call.
    c.send(
        &mut t,
        now + Duration::from_secs(59),
        Outbound,
        &msg(EchoRequest, &[]),
    );
    t.poll(now + Duration::from_secs(61), &mut out);
    assert!(matches!(out.changes[..], [Change::Refresh(m)] if m.lan_cid == 1));
}

#[test]
fn ids_held_by_the_routers_own_client_are_never_given_to_lan_calls() {
    let now = Instant::now();
    let shared = super::alloc::Allocator::new(7, Duration::from_secs(300))
        .rewrite_every_call()
        .shared();
    // The router's own client dials SRV first and keeps most IDs: only
    // one ID towards SRV is left for LAN calls.
    let own: Vec<u16> = (0..super::alloc::REWRITTEN_IDS - 1)
        .map(|_| {
            shared
                .borrow_mut()
                .alloc(PUB, SRV, super::alloc::Owner::Router, now)
                .unwrap()
        })
        .collect();
    let mut t = Tracker::with_allocator(Config::default(), shared.clone());
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (public, _) = dial(&mut t, &mut c, now, 4660, 5);
    assert!(!own.contains(&public), "LAN call got the router's own ID");
    // Nothing left: the next LAN call is refused rather than colliding.
    let (_, b) = c.send(&mut t, now, Outbound, &msg(OutgoingCallRequest, &[(12, 9)]));
    assert_eq!(u16_at(&b, 12), 0);
    // The client releases one ID: after the quarantine it can serve again.
    shared.borrow_mut().release(PUB, SRV, own[0], now);
    assert_eq!(
        shared.borrow().in_use(PUB, SRV) as u32,
        super::alloc::REWRITTEN_IDS - 1
    );
}

/// Many requests per segment and many calls on one connection (the burst
/// of the hostile tests): every call is aliased, de-aliased and mapped.
#[test]
fn burst_of_calls_on_one_connection() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let n = MAX_CALLS_PER_CONN;
    let mut publics = Vec::new();
    // Eight requests per segment, then eight replies per segment.
    for chunk in 0..n / 8 {
        let p: Vec<u8> = (0..8)
            .flat_map(|i| msg(OutgoingCallRequest, &[(12, (chunk * 8 + i + 1) as u16)]))
            .collect();
        let (_, b) = c.send(&mut t, now, Outbound, &p);
        publics.extend((0..8).map(|i| u16_at(&b, i * 168 + 12)));
    }
    for chunk in 0..n / 8 {
        let r: Vec<u8> = (0..8)
            .flat_map(|i| {
                let k = chunk * 8 + i;
                msg(
                    OutgoingCallReply,
                    &[(12, 9000 + k as u16), (14, publics[k]), (16, 0x0100)],
                )
            })
            .collect();
        let (_, b) = c.send(&mut t, now, Inbound, &r);
        for i in 0..8 {
            assert_eq!(u16_at(&b, i * 32 + 14) as usize, chunk * 8 + i + 1);
        }
    }
    let maps = t.mappings();
    assert_eq!(maps.len(), n);
    let distinct: std::collections::HashSet<u16> = maps.iter().map(|m| m.public_cid).collect();
    assert_eq!(distinct.len(), n);
}

/// A reload hands the calls from one tracker to the next on the same
/// allocator: the new one takes every mapped call (their IDs stay taken
/// throughout), rewrites and tears them down, and no ID leaks.
#[test]
fn reload_hands_every_call_to_the_next_tracker() {
    let now = Instant::now();
    let shared = super::alloc::Allocator::new(9, Duration::from_secs(300)).shared();
    let mut t1 = Tracker::with_allocator(Config::default(), shared.clone());
    t1.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    let mut b = Conn::new(lan(11, 40000), srv(1723));
    let (pa, _) = dial(&mut t1, &mut a, now, 4660, 7);
    let (pb, _) = dial(&mut t1, &mut b, now, 4660, 8);
    // A third call still waits for its reply: nobody can finish it.
    let (_, r) = b.send(
        &mut t1,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 99)]),
    );
    let pending = u16_at(&r, 12);
    let maps = t1.mappings();
    let mut out = Output::default();
    let handed = t1.hand_over(now, &mut out);
    assert_eq!(handed.calls.len(), 2);
    assert!(matches!(out.changes[..], [Change::Unexpect(m)] if m.public_cid == pending));
    assert_eq!(shared.borrow().in_use(PUB, SRV), 2, "handed IDs stay taken");
    // The next tracker, as a reload starts it: the maps list both calls.
    let mut t2 = Tracker::with_allocator(Config::default(), shared.clone());
    t2.set_public_ip(Some(PUB), now, &mut Output::default());
    assert_eq!(t2.recover(now, &maps, &handed), 2);
    assert_eq!(shared.borrow().in_use(PUB, SRV), 2);
    // Rewriting goes on: CCRQ from the LAN carries the public ID.
    let (_, x) = a.send(
        &mut t2,
        now,
        Outbound,
        &msg(CallClearRequest, &[(12, 4660)]),
    );
    assert_eq!(u16_at(&x, 12), pa);
    for (c, peer, public) in [(&mut a, 7, pa), (&mut b, 8, pb)] {
        let (o, _) = c.send(
            &mut t2,
            now,
            Inbound,
            &msg(CallDisconnectNotify, &[(12, peer)]),
        );
        assert!(matches!(o.changes[..], [Change::Remove(m)] if m.public_cid == public));
    }
    assert!(t2.calls(now).is_empty());
    assert_eq!(shared.borrow().in_use(PUB, SRV), 0, "an ID leaked");
}

/// A handed call that vanished from the maps meanwhile is not taken, and
/// its ID rests instead of staying taken for ever.
#[test]
fn handed_calls_gone_from_the_maps_rest() {
    let now = Instant::now();
    let shared = super::alloc::Allocator::new(9, Duration::from_secs(300)).shared();
    let mut t1 = Tracker::with_allocator(Config::default(), shared.clone());
    t1.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    dial(&mut t1, &mut a, now, 4660, 7);
    let handed = t1.hand_over(now, &mut Output::default());
    let mut t2 = Tracker::with_allocator(Config::default(), shared.clone());
    t2.set_public_ip(Some(PUB), now, &mut Output::default());
    assert_eq!(t2.recover(now, &[], &handed), 0);
    assert_eq!(shared.borrow().in_use(PUB, SRV), 0);
}
