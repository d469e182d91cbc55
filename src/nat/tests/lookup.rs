//! The switch of the GRE lookup (`Output::gre_lookup`): on with the first
//! call whose public Call ID is not its own, off after the last.

use std::time::Instant;

use super::*;

/// GRE is looked up only while some call's public Call ID is not its own:
/// the switch comes in the output that carries the first such call's
/// elements (its request), and goes in the one that removes the last
/// one's; calls that keep their own ID never switch it.
#[test]
fn gre_lookup_is_on_only_while_a_call_is_rewritten() {
    let now = Instant::now();
    let mut t = Tracker::new(Config::default(), 42);
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    let mut a = Conn::new(lan(10, 40000), srv(1723));
    let mut b = Conn::new(lan(11, 40000), srv(1723));
    let mut c = Conn::new(lan(12, 40000), srv(1723));
    // Host 10 keeps 4660: nothing to look up.
    let (req, _) = a.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 4660)]),
    );
    assert_eq!(req.gre_lookup, None);
    let (rep, _) = a.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 1), (14, 4660), (16, 0x0100)]),
    );
    assert_eq!(rep.gre_lookup, None);
    assert!(!t.looks_up_gre());
    // Host 11's 4660 to the same server is rewritten: on with its request.
    let (req, out) = b.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 4660)]),
    );
    let pb = u16_at(&out, 12);
    assert!(pb >= super::alloc::REWRITTEN_FROM);
    assert_eq!(req.gre_lookup, Some(true));
    assert!(matches!(req.changes[..], [Change::Expect(m)] if m.public_cid == pb));
    let (rep, _) = b.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 2), (14, pb), (16, 0x0100)]),
    );
    assert_eq!(rep.gre_lookup, None, "already on");
    // Host 12's rewritten call fails: the lookup stays for host 11's.
    let (req, out) = c.send(
        &mut t,
        now,
        Outbound,
        &msg(OutgoingCallRequest, &[(12, 4660)]),
    );
    let pc = u16_at(&out, 12);
    assert_eq!(req.gre_lookup, None);
    let (rep, _) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 3), (14, pc), (16, 0x0400)]),
    );
    assert!(matches!(rep.changes[..], [Change::Unexpect(_)]));
    assert_eq!(rep.gre_lookup, None);
    // Host 11's connection is reset: its call goes, and the lookup with it.
    let rst = build_segment(b.lan, b.remote, b.seq[0], (false, false, true), &[]);
    let mut out = Output::default();
    t.handle(now, 99, Outbound, rst, &mut out);
    assert!(matches!(out.changes[..], [Change::Remove(m)] if m.public_cid == pb));
    assert_eq!(out.gre_lookup, Some(false));
    assert!(!t.looks_up_gre());
    // Host 10's kept call ends without touching it.
    let rst = build_segment(a.lan, a.remote, a.seq[0], (false, false, true), &[]);
    let mut out = Output::default();
    t.handle(now, 100, Outbound, rst, &mut out);
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.gre_lookup, None);
}

/// A failed rewritten call, the last one, switches the lookup off; calls
/// recovered after a restart switch it on by themselves; a reload hands
/// them over and leaves the next tracker to decide.
#[test]
fn gre_lookup_follows_failed_recovered_and_handed_calls() {
    let now = Instant::now();
    let mut t = tracker();
    let mut c = Conn::new(lan(10, 40000), srv(1723));
    let (req, out) = c.send(&mut t, now, Outbound, &msg(OutgoingCallRequest, &[(12, 1)]));
    let public = u16_at(&out, 12);
    assert_eq!(req.gre_lookup, Some(true));
    let (rep, _) = c.send(
        &mut t,
        now,
        Inbound,
        &msg(OutgoingCallReply, &[(12, 9), (14, public), (16, 0x0400)]),
    );
    assert_eq!(rep.gre_lookup, Some(false));
    let kept = Mapping {
        role: Role::Pns,
        lan: lan(10, 40001),
        remote: srv(1723),
        lan_cid: 7,
        public_cid: 7,
        peer_cid: 9,
    };
    let rewritten = Mapping {
        lan_cid: 8,
        public_cid: 0xc001,
        ..kept
    };
    let mut t = Tracker::new(Config::default(), 42);
    t.set_public_ip(Some(PUB), now, &mut Output::default());
    t.recover(now, &[kept], &Handover::default());
    assert!(!t.looks_up_gre());
    t.recover(now, &[rewritten], &Handover::default());
    assert!(t.looks_up_gre());
    let mut out = Output::default();
    let handed = t.hand_over(now, &mut out);
    assert_eq!(handed.calls.len(), 2);
    assert_eq!(
        out.gre_lookup, None,
        "the table keeps its rules for the next tracker"
    );
    assert!(!t.looks_up_gre());
}
