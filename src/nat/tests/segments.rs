//! One direction of a control connection as segments: several messages in
//! one, one split over several, holds, retransmissions, gaps and reordering.

use std::time::{Duration, Instant};

use super::*;

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
