//! The tracker's timers as a deadline (`poll_timeout`): the I/O edge
//! sleeps until then instead of ticking, so every timer must fire at the
//! deadline it gave, and an idle tracker gives none.

use std::time::{Duration, Instant};

use super::*;

const NS: Duration = Duration::from_nanos(1);

#[test]
fn an_idle_tracker_asks_for_no_timer() {
    let now = Instant::now();
    let mut t = tracker();
    assert_eq!(t.poll_timeout(), None);
    // Segments that start nothing leave no timer either.
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (id, p) = c.seg(Outbound, b"not pptp at all");
    t.handle(now, id, Outbound, p, &mut Output::default());
    assert_eq!(t.poll_timeout(), None);
    // A connection's timer, and none once it has gone at its idle timeout.
    c.open(&mut t, now);
    let idle = Config::default().idle_timeout;
    assert_eq!(t.poll_timeout(), Some(now + idle));
    let mut out = Output::default();
    t.poll(now + idle, &mut out);
    assert_eq!(t.connections(), 0);
    assert_eq!(t.poll_timeout(), None);
}

/// A held segment is let go at exactly the deadline the tracker gave, not
/// a nanosecond before; then the deadline is the connection's idle timeout.
#[test]
fn a_held_segment_goes_at_the_deadline_given_for_it() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    c.open(&mut t, now);
    let later = now + Duration::from_secs(7);
    let m = msg(OutgoingCallRequest, &[(12, 4660)]);
    let (id, p) = c.seg(Outbound, &m[..20]);
    let mut out = Output::default();
    t.handle(later, id, Outbound, p, &mut out);
    assert!(out.verdicts.is_empty(), "held");
    let cfg = Config::default();
    let due = later + cfg.hold_timeout;
    assert_eq!(t.poll_timeout(), Some(due));
    t.poll(due - NS, &mut out);
    assert!(out.verdicts.is_empty(), "let go early");
    assert_eq!(t.poll_timeout(), Some(due), "the early poll moved it");
    t.poll(due, &mut out);
    assert_eq!(out.verdicts.iter().map(|v| v.0).collect::<Vec<_>>(), [id]);
    assert_eq!(t.poll_timeout(), Some(later + cfg.idle_timeout));
}

/// A segment parked beyond a gap is dropped at its deadline.
#[test]
fn a_parked_segment_goes_at_the_deadline_given_for_it() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    c.open(&mut t, now);
    let _lost = c.seg(Outbound, &msg(StartControlConnectionRequest, &[]));
    let (id, p) = c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, 1)]));
    let at = now + Duration::from_secs(1);
    let mut out = Output::default();
    t.handle(at, id, Outbound, p, &mut out);
    assert!(out.verdicts.is_empty(), "parked");
    let due = at + Config::default().hold_timeout;
    assert_eq!(t.poll_timeout(), Some(due));
    t.poll(due, &mut out);
    assert_eq!(out.verdicts, [(id, Verdict::Drop)]);
}

/// The refresh of an active call's map elements comes at its deadline,
/// and the next one is `refresh_every` later.
#[test]
fn a_calls_refresh_comes_at_the_deadline_given_for_it() {
    let now = Instant::now();
    let cfg = Config {
        refresh_every: Duration::from_secs(60),
        ..Config::default()
    };
    let mut t = Tracker::new(cfg.clone(), 42);
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    dial(&mut t, &mut c, now, 4660, 9);
    assert_eq!(t.poll_timeout(), Some(now + cfg.refresh_every));
    let mut out = Output::default();
    t.poll(now + cfg.refresh_every - NS, &mut out);
    assert!(out.changes.is_empty(), "refreshed early");
    t.poll(now + cfg.refresh_every, &mut out);
    assert!(
        matches!(out.changes[..], [Change::Refresh(m)] if m.lan_cid == 4660),
        "{:?}",
        out.changes
    );
    assert_eq!(t.poll_timeout(), Some(now + 2 * cfg.refresh_every));
}

/// Poll as the I/O edge does: at each deadline up to `until`. Returns
/// what was let go, with when.
fn run_until(t: &mut Tracker, until: Instant, polls: &mut usize) -> Vec<(u64, Instant)> {
    let mut let_go = Vec::new();
    while let Some(due) = t.poll_timeout().filter(|d| *d <= until) {
        let mut out = Output::default();
        t.poll(due, &mut out);
        let_go.extend(out.verdicts.iter().map(|v| (v.0, due)));
        *polls += 1;
        assert!(*polls < 1000, "the deadlines never end");
    }
    let_go
}

/// Polling only at the deadlines misses no timer: over eight connections
/// at their own times, every held segment goes exactly at its hold time
/// and every connection ends exactly at its idle timeout, though later
/// segments moved some of those on.
#[test]
fn polling_only_at_the_deadlines_misses_no_timer() {
    let start = Instant::now();
    let cfg = Config::default();
    let mut t = tracker();
    let mut polls = 0;
    let mut let_go = Vec::new();
    let mut held = Vec::new();
    let mut seen = Vec::new();
    let mut now = start;
    for i in 0..8u16 {
        now += Duration::from_millis(300 * u64::from(i) + 1);
        let_go.extend(run_until(&mut t, now, &mut polls));
        let mut c = Conn::new(lan(10, 40000 + i), srv(1723));
        c.open(&mut t, now);
        c.send(
            &mut t,
            now,
            Outbound,
            &msg(StartControlConnectionRequest, &[]),
        );
        let (id, p) = c.seg(Outbound, &msg(OutgoingCallRequest, &[(12, 100 + i)])[..20]);
        let mut out = Output::default();
        t.handle(now, id, Outbound, p, &mut out);
        assert!(out.verdicts.is_empty(), "held");
        held.push((id, now + cfg.hold_timeout));
        if i % 3 == 0 {
            // The peer's answer moves the connection's idle timeout on.
            now += Duration::from_millis(50);
            let_go.extend(run_until(&mut t, now, &mut polls));
            c.send(&mut t, now, Inbound, &msg(StartControlConnectionReply, &[]));
        }
        seen.push(now);
    }
    // Each connection goes at its own idle timeout, not a nanosecond
    // before or after.
    for (k, s) in seen.iter().enumerate() {
        let_go.extend(run_until(&mut t, *s + cfg.idle_timeout - NS, &mut polls));
        assert_eq!(t.connections(), 8 - k, "a connection ended early");
        let_go.extend(run_until(&mut t, *s + cfg.idle_timeout, &mut polls));
        assert_eq!(t.connections(), 8 - k - 1, "a connection ended late");
    }
    for h in &held {
        assert!(
            let_go.contains(h),
            "{h:?} not let go at its hold time: {let_go:?}"
        );
    }
    assert_eq!(t.waiting(), ((0, 0), 0));
    assert_eq!(t.poll_timeout(), None);
}

/// Calls taken back after a restart have the connection's timers too.
#[test]
fn recovered_calls_have_a_deadline() {
    let now = Instant::now();
    let mut t = tracker();
    assert_eq!(t.poll_timeout(), None);
    let m = Mapping {
        role: Role::Pns,
        lan: lan(10, 40000),
        remote: srv(1723),
        lan_cid: 7,
        public_cid: 0xc001,
        peer_cid: 9,
    };
    assert_eq!(t.recover(now, &[m], &Handover::default()), 1);
    assert_eq!(t.poll_timeout(), Some(now + Config::default().idle_timeout));
}
