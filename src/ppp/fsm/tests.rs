//! The automaton itself (RFC 1661 §4), driven through LCP with a plain
//! configuration (empty Configure-Requests) so packets stay short.

use std::time::{Duration, Instant};

use super::testutil::{Dir, Link, Noise, drain, events};
use super::*;
use crate::ppp::ccp::{Ccp, MppePolicy};
use crate::ppp::ipcp::{Ipcp, IpcpConfig};
use crate::ppp::lcp::{Lcp, LcpConfig};

const SECS3: Duration = Duration::from_secs(3);

fn plain() -> LcpConfig {
    LcpConfig {
        magic: false,
        pfc: false,
        acfc: false,
        ..LcpConfig::default()
    }
}

/// An LCP automaton that has sent its (empty) Configure-Request, id 1.
fn req_sent(t0: Instant) -> Lcp {
    let mut f = Lcp::with_config(plain(), Config::default());
    f.open(t0);
    f.up(t0);
    assert_eq!(drain(&mut f), [vec![1, 1, 0, 4]]);
    f
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn open_then_up_sends_request_and_arms_restart_timer() {
    let t0 = Instant::now();
    let mut f = Lcp::with_config(plain(), Config::default());
    assert_eq!(f.state(), State::Initial);
    assert_eq!(f.poll_timeout(), None);
    f.open(t0);
    assert_eq!(f.state(), State::Starting);
    assert_eq!(events(&mut f), [Event::Started]);
    assert!(drain(&mut f).is_empty());
    f.up(t0);
    assert_eq!(f.state(), State::ReqSent);
    assert_eq!(drain(&mut f), [vec![1, 1, 0, 4]]);
    assert_eq!(f.poll_timeout(), Some(t0 + SECS3));
}

#[test]
fn up_then_open_and_closed_state_answers_terminate_ack() {
    let t0 = Instant::now();
    let mut f = Lcp::with_config(plain(), Config::default());
    f.up(t0);
    assert_eq!(f.state(), State::Closed);
    // RCR in Closed: sta/2. RTA in Closed: nothing.
    f.handle_packet(t0, &[1, 7, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![6, 7, 0, 4]]);
    f.handle_packet(t0, &[6, 8, 0, 4]).unwrap();
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.state(), State::Closed);
    f.open(t0);
    assert_eq!(f.state(), State::ReqSent);
    assert_eq!(drain(&mut f), [vec![1, 1, 0, 4]]);
}

#[test]
fn packets_before_up_are_ignored() {
    let t0 = Instant::now();
    let mut f = Lcp::with_config(plain(), Config::default());
    f.open(t0);
    f.handle_packet(t0, &[1, 1, 0, 4]).unwrap();
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.state(), State::Starting);
}

#[test]
fn full_exchange_reaches_opened() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    // RCR+ in Req-Sent: sca/8.
    f.handle_packet(t0, &[1, 0x42, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![2, 0x42, 0, 4]]);
    assert_eq!(f.state(), State::AckSent);
    // RCA in Ack-Sent: irc,tlu/9; the Restart timer stops.
    f.handle_packet(t0, &[2, 1, 0, 4]).unwrap();
    assert_eq!(f.state(), State::Opened);
    assert_eq!(f.poll_timeout(), None);
    assert_eq!(events(&mut f), [Event::Started, Event::Up]);
}

#[test]
fn stale_or_altered_replies_are_ignored() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    // Wrong Identifier.
    f.handle_packet(t0, &[2, 2, 0, 4]).unwrap();
    f.handle_packet(t0, &[3, 9, 0, 8, 1, 4, 5, 0xdc]).unwrap();
    // Right Identifier but options that were never requested.
    f.handle_packet(t0, &[2, 1, 0, 8, 1, 4, 5, 0xdc]).unwrap();
    f.handle_packet(t0, &[4, 1, 0, 8, 1, 4, 5, 0xdc]).unwrap();
    assert_eq!(f.state(), State::ReqSent);
    assert!(drain(&mut f).is_empty());
    f.handle_packet(t0, &[2, 1, 0, 4]).unwrap();
    assert_eq!(f.state(), State::AckRcvd);
    // A duplicate Ack, and a Nak of the already acknowledged request.
    f.handle_packet(t0, &[2, 1, 0, 4]).unwrap();
    f.handle_packet(t0, &[3, 1, 0, 4]).unwrap();
    assert_eq!(f.state(), State::AckRcvd);
    assert!(drain(&mut f).is_empty());
}

#[test]
fn lossy_link_first_request_resent_by_restart_timer() {
    let mut link = Link::new(
        Lcp::with_config(LcpConfig::default(), Config::default()),
        Lcp::with_config(
            LcpConfig {
                magic_seed: 2,
                ..LcpConfig::default()
            },
            Config::default(),
        ),
    );
    let mut first = true;
    link.loss = Box::new(move |dir, p| {
        let lose = first && dir == Dir::AtoB && p.first() == Some(&1);
        first &= !lose;
        lose
    });
    link.start();
    assert_eq!(link.a.state(), State::AckSent);
    assert_eq!(link.b.state(), State::AckRcvd);
    link.run_for(Duration::from_millis(2900));
    assert_ne!(link.a.state(), State::Opened);
    link.run_for(Duration::from_millis(200));
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    // The retransmission is the same packet, Identifier included.
    let requests = link.sent(Dir::AtoB, 1);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0], requests[1]);
    assert_eq!(link.a_events, [Event::Started, Event::Up]);
}

#[test]
fn max_configure_exhaustion_finishes() {
    let t0 = Instant::now();
    let mut f = Lcp::with_config(plain(), Config::default());
    f.open(t0);
    f.up(t0);
    let mut sent = drain(&mut f).len();
    let mut now = t0;
    while let Some(t) = f.poll_timeout() {
        now = t;
        f.handle_timeout(now);
        sent += drain(&mut f).len();
    }
    assert_eq!(sent, 10);
    assert_eq!(now, t0 + secs(30));
    assert_eq!(f.state(), State::Stopped);
    assert_eq!(events(&mut f), [Event::Started, Event::Finished]);
}

#[test]
fn max_failure_turns_nak_into_reject() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    // A stubborn peer keeps asking for an MRU of 64.
    for id in 1..=5u8 {
        f.handle_packet(t0, &[1, id, 0, 8, 1, 4, 0, 64]).unwrap();
        assert_eq!(drain(&mut f), [vec![3, id, 0, 8, 1, 4, 0, 128]]);
    }
    f.handle_packet(t0, &[1, 6, 0, 8, 1, 4, 0, 64]).unwrap();
    assert_eq!(drain(&mut f), [vec![4, 6, 0, 8, 1, 4, 0, 64]]);
    assert_eq!(f.state(), State::ReqSent);
    // An acceptable request is Acked and restarts the count.
    f.handle_packet(t0, &[1, 7, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![2, 7, 0, 4]]);
    f.handle_packet(t0, &[1, 8, 0, 8, 1, 4, 0, 64]).unwrap();
    assert_eq!(drain(&mut f), [vec![3, 8, 0, 8, 1, 4, 0, 128]]);
}

fn opened_pair() -> Link<crate::ppp::lcp::LcpOptions, crate::ppp::lcp::LcpOptions> {
    let mut link = Link::new(
        Lcp::with_config(plain(), Config::default()),
        Lcp::with_config(plain(), Config::default()),
    );
    link.start();
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    link.a_events.clear();
    link.b_events.clear();
    link
}

#[test]
fn terminate_exchange() {
    let mut link = opened_pair();
    link.a.close(link.now);
    link.pump();
    assert_eq!(link.sent(Dir::AtoB, 5), [[5u8, 2, 0, 4].as_slice()]);
    assert_eq!(link.sent(Dir::BtoA, 6), [[6u8, 2, 0, 4].as_slice()]);
    assert_eq!(link.a.state(), State::Closed);
    assert_eq!(link.a_events, [Event::Down, Event::Finished]);
    // The peer waits one Restart period in Stopping (zrc) before tlf.
    assert_eq!(link.b.state(), State::Stopping);
    assert_eq!(link.b_events, [Event::Down]);
    link.run_for(SECS3);
    assert_eq!(link.b.state(), State::Stopped);
    assert_eq!(link.b_events, [Event::Down, Event::Finished]);
}

#[test]
fn unanswered_terminate_request_sent_max_terminate_times() {
    let mut link = opened_pair();
    link.loss = Box::new(|_, _| true);
    link.a.close(link.now);
    link.pump();
    link.run_for(secs(10));
    assert_eq!(link.sent(Dir::AtoB, 5).len(), 2);
    assert_eq!(link.a.state(), State::Closed);
    assert_eq!(link.a_events, [Event::Down, Event::Finished]);
}

#[test]
fn lower_layer_down_then_up_renegotiates() {
    let mut link = opened_pair();
    link.a.down(link.now);
    assert_eq!(link.a.state(), State::Starting);
    link.a.up(link.now);
    link.pump();
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    assert_eq!(link.a_events, [Event::Down, Event::Up]);
    // RCR in Opened: tld,scr,sca, then the new request is Acked.
    assert_eq!(link.b_events, [Event::Down, Event::Up]);
}

#[test]
fn unknown_code_is_code_rejected_without_padding() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    f.handle_packet(t0, &[0x20, 5, 0, 6, 0xab, 0xcd, 0, 0])
        .unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![7, 2, 0, 10, 0x20, 5, 0, 6, 0xab, 0xcd]]
    );
    assert_eq!(f.state(), State::ReqSent);
}

#[test]
fn code_reject_of_configure_request_is_catastrophic() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    // Code-Reject of an Echo-Request: RXJ+, nothing changes.
    f.handle_packet(t0, &[7, 3, 0, 12, 9, 1, 0, 8, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(f.state(), State::ReqSent);
    // Code-Reject of our Configure-Request: RXJ-, tlf/3.
    f.handle_packet(t0, &[7, 4, 0, 8, 1, 1, 0, 4]).unwrap();
    assert_eq!(f.state(), State::Stopped);
    assert_eq!(events(&mut f), [Event::Started, Event::Finished]);
    assert_eq!(f.poll_timeout(), None);
}

#[test]
fn terminate_request_while_negotiating() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    f.handle_packet(t0, &[1, 9, 0, 4]).unwrap();
    assert_eq!(f.state(), State::AckSent);
    drain(&mut f);
    f.handle_packet(t0, &[5, 0x33, 0, 6, 0xaa, 0xbb]).unwrap();
    assert_eq!(drain(&mut f), [vec![6, 0x33, 0, 4]]);
    assert_eq!(f.state(), State::ReqSent);
}

#[test]
fn malformed_packets_are_discarded() {
    let t0 = Instant::now();
    let mut f = req_sent(t0);
    // Length beyond the buffer; option running past the end.
    assert!(f.handle_packet(t0, &[1, 9, 0, 8, 1, 4]).is_err());
    assert!(f.handle_packet(t0, &[1, 9, 0, 6, 1, 4]).is_err());
    assert!(f.handle_packet(t0, &[1, 9, 0, 6, 1, 0]).is_err());
    assert!(f.handle_packet(t0, &[1]).is_err());
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.state(), State::ReqSent);
}

#[test]
fn garbage_never_panics_in_any_protocol_or_state() {
    let mut noise = Noise(0x1234_5678_9abc_def0);
    let t0 = Instant::now();
    for round in 0..300u32 {
        let now = t0 + Duration::from_millis(u64::from(round) * 100);
        let mut lcp = Lcp::with_config(LcpConfig::default(), Config::default());
        let mut ipcp = Ipcp::with_config(IpcpConfig::default(), Config::default());
        let mut ccp = Ccp::with_config(MppePolicy::default(), Config::default());
        if round % 3 != 0 {
            lcp.open(now);
            ipcp.open(now);
            ccp.open(now);
        }
        if round % 2 == 0 {
            lcp.up(now);
            ipcp.up(now);
            ccp.up(now);
        }
        for _ in 0..20 {
            let mut p = noise.bytes(64);
            if let Some(code) = p.first_mut() {
                *code %= 17;
            }
            // Mostly a consistent Length, so the deeper code runs.
            if round % 4 != 3 && p.len() >= 4 {
                let [hi, lo] = u16::try_from(p.len()).unwrap().to_be_bytes();
                p[2] = hi;
                p[3] = lo;
            }
            let _ = lcp.handle_packet(now, &p);
            let _ = ipcp.handle_packet(now, &p);
            let _ = ccp.handle_packet(now, &p);
            lcp.handle_timeout(now + secs(4));
            drain(&mut lcp);
            drain(&mut ipcp);
            drain(&mut ccp);
        }
    }
}

#[test]
fn garbage_never_panics_when_opened() {
    let mut noise = Noise(42);
    let mut link = opened_pair();
    for _ in 0..2000 {
        let mut p = noise.bytes(80);
        if let Some(code) = p.first_mut() {
            *code %= 17;
        }
        if p.len() >= 4 {
            let [hi, lo] = u16::try_from(p.len()).unwrap().to_be_bytes();
            p[2] = hi;
            p[3] = lo;
        }
        let _ = link.a.handle_packet(link.now, &p);
        link.pump();
        link.run_for(Duration::from_millis(700));
    }
}
