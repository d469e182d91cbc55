//! One direction of a control connection as segments: several messages in
//! one, one split over several, holds, retransmissions, gaps and reordering.

use std::time::{Duration, Instant};

use super::*;
use crate::nat::stream::MAX_HELD;
use crate::nat::tracker::{MAX_CONNS, MAX_HELD_TOTAL};

const HEADER: usize = crate::wire::pptp::HEADER_LEN;

#[test]
fn several_messages_in_one_segment() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let mut p = msg(StartControlConnectionRequest, &[]);
    p.extend(msg(OutgoingCallRequest, &[(12, 1)]));
    p.extend(msg(OutgoingCallRequest, &[(12, 2)]));
    let (_, b) = c.send(&mut t, now, Outbound, &p);
    let (a1, a2) = (u16_at(&b, 156 + 12), u16_at(&b, 156 + 168 + 12));
    assert!(a1 != 0 && a2 != 0 && a1 != a2 && a1 != 1);
    let mut r = msg(OutgoingCallReply, &[(12, 9), (14, a1), (16, 0x0100)]);
    r.extend(msg(OutgoingCallReply, &[(12, 10), (14, a2), (16, 0x0100)]));
    let (o, b) = c.send(&mut t, now, Inbound, &r);
    assert_eq!((u16_at(&b, 14), u16_at(&b, 32 + 14)), (1, 2));
    assert_eq!(o.changes.len(), 2);
}

#[test]
fn message_split_inside_the_header_passes_at_once() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    // 6 bytes cannot show a PPTP header: the connection is known from its SYN.
    c.open(&mut t, now);
    let (o1, _) = c.send(&mut t, now, Outbound, &m[..6]);
    assert_eq!(o1.verdicts.len(), 1, "header-only segment released");
    let (o2, b) = c.send(&mut t, now, Outbound, &m[6..]);
    // Rewritten to the public Call ID the tracker chose, not refused (0).
    let public = u16_at(&[&m[..6], &b[..]].concat(), 12);
    assert!(
        matches!(o2.changes[..], [Change::Expect(e)] if e.public_cid == public && e.lan_cid == 4660),
        "{:?}",
        o2.changes
    );
    assert!(public != 0 && public != 4660, "{public}");
}

#[test]
fn message_split_inside_the_call_id_is_held_then_rewritten() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    let (id1, p1) = c.seg(Outbound, &m[..13]);
    let mut out = Output::default();
    t.handle(now, id1, Outbound, p1.clone(), &mut out);
    assert!(out.verdicts.is_empty(), "held");
    let (id2, p2) = c.seg(Outbound, &m[13..]);
    t.handle(now, id2, Outbound, p2.clone(), &mut out);
    assert_eq!(
        out.verdicts.iter().map(|v| v.0).collect::<Vec<_>>(),
        vec![id1, id2]
    );
    let b = [
        released_payload(&out, id1, &p1),
        released_payload(&out, id2, &p2),
    ]
    .concat();
    let public = u16_at(&b, 12);
    assert!(public != 4660 && public != 0);
    assert_eq!(t.calls(now)[0].public_call_id, public);
}

/// A connection that goes idle while a segment is held lets it go, and
/// the totals the global bounds are counted against drop with it.
#[test]
fn idle_connection_lets_go_of_its_held_segment_and_the_totals_follow() {
    let now = Instant::now();
    let cfg = Config {
        idle_timeout: Duration::from_secs(1),
        hold_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let mut t = Tracker::new(cfg, 42);
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    let (id1, p1) = c.seg(Outbound, &m[..13]);
    let mut out = Output::default();
    t.handle(now, id1, Outbound, p1, &mut out);
    assert!(out.verdicts.is_empty(), "held");
    assert_eq!(t.waiting(), ((1, 13 + 40), 0));
    t.poll(now + Duration::from_secs(2), &mut out);
    assert_eq!(out.verdicts.iter().map(|v| v.0).collect::<Vec<_>>(), [id1]);
    assert_eq!(t.connections(), 0);
    assert_eq!(t.waiting(), ((0, 0), 0), "totals kept the gone segment");
}

#[test]
fn held_segment_is_released_unchanged_after_timeout() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    let (id1, p1) = c.seg(Outbound, &m[..20]);
    let mut out = Output::default();
    t.handle(now, id1, Outbound, p1.clone(), &mut out);
    t.poll(now + Duration::from_millis(100), &mut out);
    assert!(out.verdicts.is_empty());
    t.poll(now + Duration::from_secs(3), &mut out);
    assert_eq!(out.verdicts.len(), 1);
    // Released byte for byte as it came: Call ID 4660 still in it.
    assert_eq!(released_payload(&out, id1, &p1), &m[..20]);
    assert_eq!(t.stats.released_unmodified_after_hold, 1);
}

#[test]
fn retransmission_is_rewritten_identically_and_unfilled_gaps_are_dropped() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    let start = c.seq[0];
    let (_, b1) = c.send(&mut t, now, Outbound, &m);
    // The same bytes again (lost after the router).
    c.seq[0] = start;
    let (_, b2) = c.send(&mut t, now, Outbound, &m);
    assert_eq!(b1, b2);
    assert_eq!(t.calls(now).len(), 1, "a retransmission is not a new call");
    // A segment beyond the next expected byte waits for the gap...
    c.seq[0] = c.seq[0].wrapping_add(100);
    let (id, p) = c.seg(Outbound, &m);
    let mut out = Output::default();
    t.handle(now, id, Outbound, p, &mut out);
    assert!(out.verdicts.is_empty());
    t.poll(now + Duration::from_millis(500), &mut out);
    assert!(out.verdicts.is_empty());
    // ...and is dropped when it never fills, so that TCP resends in order.
    t.poll(now + Duration::from_secs(3), &mut out);
    assert_eq!(out.verdicts, vec![(id, Verdict::Drop)]);
    assert_eq!(t.stats.dropped_out_of_order, 1);
    assert_eq!(t.calls(now).len(), 1, "nothing was read past the gap");
}

/// A control connection from LAN host `host` whose SCCRQ has gone out.
fn opened(t: &mut Tracker, now: Instant, host: u8) -> Conn {
    let mut c = Conn::new(lan(host, 40000), srv(1723));
    c.send(t, now, Outbound, &msg(StartControlConnectionRequest, &[]));
    c
}

/// Segments of one burst reordered on the way (veth and multi-queue NICs
/// spread one flow over CPUs): each is rewritten and released once the
/// segment before it has come, nothing is dropped, and the verdicts come in
/// stream order.
#[test]
fn reordered_segments_wait_for_the_gap_and_are_all_rewritten() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = opened(&mut t, now, 10);
    c.send(&mut t, now, Inbound, &msg(StartControlConnectionReply, &[]));
    // Four OCRQs, each in its own segment; the last three overtake the first.
    let segs: Vec<(u64, Vec<u8>)> = (0..4)
        .map(|i| c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, 100 + i)])))
        .collect();
    let mut out = Output::default();
    for (id, p) in segs.iter().skip(1).rev() {
        t.handle(now, *id, Outbound, p.clone(), &mut out);
    }
    assert!(out.verdicts.is_empty(), "nothing passes ahead of the gap");
    assert_eq!(t.stats.parked, 3);
    let (id0, p0) = &segs[0];
    t.handle(now, *id0, Outbound, p0.clone(), &mut out);
    let order: Vec<u64> = out.verdicts.iter().map(|(i, _)| *i).collect();
    assert_eq!(order, segs.iter().map(|(i, _)| *i).collect::<Vec<_>>());
    let mut public = Vec::new();
    for (id, p) in &segs {
        let m = released_payload(&out, *id, p);
        public.push(u16_at(&m, 12));
    }
    public.sort_unstable();
    public.dedup();
    assert_eq!(public.len(), 4, "four calls, four public Call IDs");
    assert_eq!(t.calls(now).len(), 4);
    assert_eq!(t.stats.dropped_out_of_order, 0);
    // A retransmission of a parked-then-released segment is old news.
    let mut again = Output::default();
    t.handle(now, 99, Outbound, segs[2].1.clone(), &mut again);
    assert_eq!(
        released_payload(&again, 99, &segs[2].1),
        released_payload(&out, segs[2].0, &segs[2].1)
    );
    assert_eq!(t.calls(now).len(), 4);
}

/// Only so many segments wait beyond a gap, per stream and in all; the rest
/// are dropped at once.
#[test]
fn parked_segments_are_bounded() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = opened(&mut t, now, 10);
    c.seq[0] = c.seq[0].wrapping_add(1000);
    let mut out = Output::default();
    let n = super::stream::MAX_PARKED as u16 + 5;
    for i in 0..n {
        let (id, p) = c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, i)]));
        t.handle(now, id, Outbound, p, &mut out);
    }
    assert_eq!(out.verdicts.len(), 5);
    assert!(out.verdicts.iter().all(|(_, v)| *v == Verdict::Drop));
    assert_eq!(t.stats.dropped_out_of_order, 5);
    assert_eq!(t.stats.parked, super::stream::MAX_PARKED as u64);
    // Many connections, each with a gap: the total is bounded too.
    let mut out = Output::default();
    for host in 20..40 {
        let mut c = opened(&mut t, now, host);
        c.seq[0] = c.seq[0].wrapping_add(1000);
        for i in 0..8 {
            let (id, p) = c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, i)]));
            t.handle(now, id, Outbound, p, &mut out);
        }
    }
    let parked = super::stream::MAX_PARKED + 20 * 8 - out.verdicts.len();
    assert_eq!(parked, super::tracker::MAX_PARKED_TOTAL);
    // When the gaps never fill, every parked segment is dropped and the
    // count starts again from zero.
    let mut late = Output::default();
    t.poll(now + Duration::from_secs(3), &mut late);
    assert_eq!(late.verdicts.len(), super::tracker::MAX_PARKED_TOTAL);
    let (id, p) = c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, 999)]));
    let mut again = Output::default();
    t.handle(now + Duration::from_secs(3), id, Outbound, p, &mut again);
    assert!(again.verdicts.is_empty(), "room to park again");
}

#[test]
fn garbage_passes_unchanged_and_never_panics() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let mut bad = msg(OutgoingCallRequest, &[(12, 1)]);
    bad[4] ^= 0xff;
    let (_, b) = c.send(&mut t, now, Outbound, &bad);
    assert_eq!(b, bad);
    // The stream resynchronises on the next segment that starts cleanly.
    let (_, b) = c.send(&mut t, now, Outbound, &msg(OutgoingCallRequest, &[(12, 1)]));
    assert_ne!(u16_at(&b, 12), 1);
    // Pseudo-random payloads and raw packets.
    let mut x = 0x1234_5678u32;
    for n in 0..2000usize {
        let len = n % 300;
        let p: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut out = Output::default();
        t.handle(now, n as u64, Inbound, p.clone(), &mut out);
        c.send(&mut t, now, if n % 2 == 0 { Inbound } else { Outbound }, &p);
    }
}

/// Forged segments on port 1723 that neither open a connection (SYN) nor
/// start with a PPTP header leave no state behind: they pass unchanged.
#[test]
fn segments_that_cannot_start_a_call_leave_no_state() {
    let now = Instant::now();
    let mut t = tracker();
    for i in 0..1000u16 {
        let mut c = Conn::new(lan(10, 20000 + i), srv(1723));
        let (id, p) = c.seg(Outbound, b"not pptp at all");
        let mut out = Output::default();
        t.handle(now, id, Outbound, p, &mut out);
        assert_eq!(out.verdicts, vec![(id, Verdict::Accept(None))]);
        // A reset for a connection never seen: nothing to end, no entry.
        let rst = build_segment(c.lan, c.remote, c.seq[0], (false, false, true), &[]);
        t.handle(now, id + 1, Outbound, rst, &mut out);
    }
    assert_eq!(t.connections(), 0);
    assert_eq!(t.stats.untracked, 2000);
    // A connection picked up mid-stream by its PPTP header is still tracked.
    let mut c = Conn::new(lan(11, 40000), srv(1723));
    let (_, b) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 4660)]),
    );
    assert_ne!(u16_at(&b, 12), 4660);
    assert_eq!(t.connections(), 1);
}

/// A flood of SYNs cannot grow the table past its bound, and the
/// connections that carry calls are never the ones forgotten.
#[test]
fn connection_table_is_bounded_and_keeps_calls() {
    let now = Instant::now();
    let mut t = tracker();
    let mut caller = Conn::new(lan(10, 40000), srv(1723));
    let (public, _) = dial(&mut t, &mut caller, now, 4660, 77);
    for i in 0..(MAX_CONNS + 1000) {
        let host = 20 + (i / 50_000) as u8;
        let mut c = Conn::new(lan(host, 1024 + (i % 50_000) as u16), srv(1723));
        c.open(&mut t, now + Duration::from_millis(i as u64));
        assert!(t.connections() <= MAX_CONNS);
    }
    assert!(t.stats.conns_evicted >= 1000, "{:?}", t.stats);
    assert_eq!(t.mappings().len(), 1, "the call was forgotten");
    assert_eq!(t.mappings()[0].public_cid, public);
}

/// Count of segments handed in that have no verdict yet.
fn waiting(ids: &std::collections::HashSet<u64>, out: &Output) -> usize {
    let done: std::collections::HashSet<u64> = out.verdicts.iter().map(|(i, _)| *i).collect();
    ids.difference(&done).count()
}

/// A message trickled a byte per segment: one connection holds at most
/// MAX_HELD segments, and many such connections together at most
/// MAX_HELD_TOTAL, so the kernel's queue never fills and another host's
/// call is still rewritten.
#[test]
fn trickled_messages_are_bounded_per_connection_and_in_all() {
    let now = Instant::now();
    let mut t = tracker();
    let mut out = Output::default();
    let mut ids = std::collections::HashSet::new();
    let m = msg(IncomingCallRequest, &[(12, 4660)]);
    let conns = MAX_HELD_TOTAL / (MAX_HELD - 1) + 8;
    let mut trick: Vec<Conn> = (0..conns)
        .map(|i| Conn::new(lan(30, 10_000 + i as u16), srv(1723)))
        .collect();
    // Each connection: the header in one segment, then one byte at a time.
    for (k, c) in trick.iter_mut().enumerate() {
        let at = now + Duration::from_millis(k as u64);
        let (id, p) = c.seg(Outbound, &m[..HEADER]);
        ids.insert(id);
        t.handle(at, id, Outbound, p, &mut out);
        for j in 0..(MAX_HELD + 3) {
            let (id, p) = c.seg(Outbound, &m[HEADER + j..HEADER + j + 1]);
            ids.insert(id);
            t.handle(at, id, Outbound, p, &mut out);
            assert!(waiting(&ids, &out) <= MAX_HELD_TOTAL);
        }
    }
    assert!(t.stats.released_over_hold_limit > 0);
    assert!(waiting(&ids, &out) <= MAX_HELD_TOTAL);
    // Another host's call request goes out rewritten, at once.
    let mut other = Conn::new(lan(11, 40000), srv(1723));
    let (o, b) = other.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 4660)]),
    );
    assert_ne!(u16_at(&b, 12), 4660);
    assert!(
        matches!(o.changes[..], [Change::Expect(_)]),
        "{:?}",
        o.changes
    );
}
