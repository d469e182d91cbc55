//! CCP with MPPE (RFC 3078 §2), with hand-written byte vectors.

use std::time::Instant;

use super::*;
use crate::ppp::error::Error;
use crate::ppp::fsm::testutil::{Dir, Link, drain, events};
use crate::ppp::fsm::{Config, Event, State};

fn all() -> MppePolicy {
    MppePolicy {
        allow_128: true,
        allow_56: true,
        allow_40: true,
        stateless: true,
        required: true,
    }
}

fn only_40() -> MppePolicy {
    MppePolicy {
        allow_128: false,
        allow_40: true,
        ..MppePolicy::default()
    }
}

fn pair(a: MppePolicy, b: MppePolicy) -> Link<CcpOptions, CcpOptions> {
    let mut link = Link::new(
        Ccp::with_config(a, Config::default()),
        Ccp::with_config(b, Config::default()),
    );
    link.start();
    link
}

fn started(policy: MppePolicy, t0: Instant) -> (Ccp, Vec<u8>) {
    let mut f = Ccp::with_config(policy, Config::default());
    f.open(t0);
    f.up(t0);
    let mut out = drain(&mut f);
    assert_eq!(out.len(), 1);
    (f, out.remove(0))
}

const STATELESS_128: MppeMode = MppeMode {
    key: KeyLength::Bits128,
    stateless: true,
};

#[test]
fn bits_and_modes() {
    assert_eq!(KeyLength::strongest_in(0xe0), Some(KeyLength::Bits128));
    assert_eq!(KeyLength::strongest_in(0xa0), Some(KeyLength::Bits56));
    assert_eq!(KeyLength::strongest_in(0x21), Some(KeyLength::Bits40));
    assert_eq!(KeyLength::strongest_in(0x0100_0011), None);
    assert_eq!(STATELESS_128.bits(), 0x0100_0040);
    assert_eq!(MppeMode::from_bits(0x0100_0040), Some(STATELESS_128));
    assert_eq!(all().keys(), bits::KEYS);
}

#[test]
fn strongest_common_mode_is_chosen() {
    let link = pair(all(), all());
    // The initiator offers everything; the responder Naks one strength.
    let offer = [1u8, 1, 0, 10, 18, 6, 0x01, 0, 0, 0xe0];
    let nak = [3u8, 1, 0, 10, 18, 6, 0x01, 0, 0, 0x40];
    assert_eq!(link.sent(Dir::AtoB, 1)[0], offer);
    assert_eq!(link.sent(Dir::BtoA, 3)[0], nak);
    assert_eq!(
        link.sent(Dir::AtoB, 1)[1],
        [1, 2, 0, 10, 18, 6, 0x01, 0, 0, 0x40]
    );
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    assert_eq!(link.a.params().mode(), Some(STATELESS_128));
    assert_eq!(link.b.params().mode(), Some(STATELESS_128));
}

#[test]
fn forty_bit_when_one_side_allows_only_forty() {
    let link = pair(all(), only_40());
    assert_eq!(
        link.sent(Dir::BtoA, 1)[0],
        [1, 1, 0, 10, 18, 6, 0x01, 0, 0, 0x20]
    );
    assert_eq!(
        link.sent(Dir::BtoA, 3)[0],
        [3, 1, 0, 10, 18, 6, 0x01, 0, 0, 0x20]
    );
    let forty = MppeMode {
        key: KeyLength::Bits40,
        stateless: true,
    };
    assert_eq!(link.a.params().mode(), Some(forty));
    assert_eq!(link.b.params().mode(), Some(forty));
}

#[test]
fn no_common_strength_fails() {
    let mut link = pair(MppePolicy::default(), only_40());
    assert!(link.a_events.iter().any(|e| matches!(e, Event::Failed(_))));
    assert!(link.b_events.iter().any(|e| matches!(e, Event::Failed(_))));
    link.run_for(std::time::Duration::from_secs(60));
    assert_ne!(link.a.state(), State::Opened);
    assert_ne!(link.b.state(), State::Opened);
}

#[test]
fn stateful_offer_takes_stateless_when_peer_insists() {
    let stateful = MppePolicy {
        stateless: false,
        ..MppePolicy::default()
    };
    let link = pair(stateful, MppePolicy::default());
    assert_eq!(
        link.sent(Dir::AtoB, 1)[0],
        [1, 1, 0, 10, 18, 6, 0, 0, 0, 0x40]
    );
    assert_eq!(link.a.params().mode(), Some(STATELESS_128));
}

#[test]
fn stateless_policy_refuses_stateful_nak() {
    let t0 = Instant::now();
    let (mut f, _) = started(MppePolicy::default(), t0);
    f.handle_packet(t0, &[3, 1, 0, 10, 18, 6, 0, 0, 0, 0x40])
        .unwrap();
    assert_eq!(
        events(&mut f),
        [
            Event::Started,
            Event::Failed(Error::MppeRefused(
                "peer insists on a mode the policy forbids"
            )),
        ]
    );
    assert_eq!(f.state(), State::Closing);
}

#[test]
fn required_mppe_rejected_fails_optional_continues() {
    let t0 = Instant::now();
    let (mut f, req) = started(all(), t0);
    f.handle_packet(t0, &[4, 1, 0, 10, 18, 6, 0x01, 0, 0, 0xe0])
        .unwrap();
    assert!(events(&mut f).contains(&Event::Failed(Error::MppeRefused("peer rejected MPPE"))));
    let optional = MppePolicy {
        required: false,
        ..all()
    };
    let (mut f, _) = started(optional, t0);
    let mut reject = req.clone();
    reject[0] = 4;
    f.handle_packet(t0, &reject).unwrap();
    assert_eq!(drain(&mut f), [vec![1, 2, 0, 4]]);
    f.handle_packet(t0, &[2, 2, 0, 4]).unwrap();
    f.handle_packet(t0, &[1, 1, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![2, 1, 0, 4]]);
    assert_eq!(f.state(), State::Opened);
    assert_eq!(f.params().mode(), None);
}

#[test]
fn other_options_rejected_and_mppc_or_d_bits_nakd() {
    let t0 = Instant::now();
    let (mut f, _) = started(all(), t0);
    #[rustfmt::skip]
    let request = [
        1, 5, 0, 17,
        26, 4, 0x78, 0x00,              // Deflate
        21, 3, 0x2f,                    // BSD-Compress
        18, 6, 0x01, 0, 0, 0x41,        // MPPE-128 + MPPC
    ];
    f.handle_packet(t0, &request).unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![4, 5, 0, 11, 26, 4, 0x78, 0x00, 21, 3, 0x2f]]
    );
    f.handle_packet(t0, &[1, 6, 0, 10, 18, 6, 0x01, 0, 0, 0x41])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![3, 6, 0, 10, 18, 6, 0x01, 0, 0, 0x40]]);
    f.handle_packet(t0, &[1, 7, 0, 10, 18, 6, 0, 0, 0, 0x30])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![3, 7, 0, 10, 18, 6, 0x01, 0, 0, 0x20]]);
    // A peer asking for nothing is prompted to ask for MPPE.
    f.handle_packet(t0, &[1, 8, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![3, 8, 0, 10, 18, 6, 0x01, 0, 0, 0x40]]);
    // Bad length: Nak'd with a proper option.
    f.handle_packet(t0, &[1, 9, 0, 6, 18, 2]).unwrap();
    assert_eq!(drain(&mut f), [vec![3, 9, 0, 10, 18, 6, 0x01, 0, 0, 0x40]]);
}

#[test]
fn reset_request_and_ack_pass_through() {
    let mut link = pair(all(), all());
    link.a_events.clear();
    let t = link.now;
    let id = link.a.send_reset_request(&[]).unwrap();
    let request = drain(&mut link.a);
    assert_eq!(request, [vec![14, id, 0, 4]]);
    link.b.handle_packet(t, &request[0]).unwrap();
    assert_eq!(
        events(&mut link.b),
        [Event::ResetRequest {
            identifier: id,
            data: vec![]
        }]
    );
    assert!(link.b.send_reset_ack(id, &[7]));
    let ack = drain(&mut link.b);
    assert_eq!(ack, [vec![15, id, 0, 5, 7]]);
    link.a.handle_packet(t, &ack[0]).unwrap();
    assert_eq!(
        events(&mut link.a),
        [Event::ResetAck {
            identifier: id,
            data: vec![7]
        }]
    );
    // LCP-only codes are unknown to CCP.
    link.a.handle_packet(t, &[9, 1, 0, 8, 0, 0, 0, 0]).unwrap();
    assert_eq!(drain(&mut link.a)[0][..4], [7, id + 1, 0, 12]);
}

#[test]
fn reset_before_opened_is_dropped() {
    let t0 = Instant::now();
    let (mut f, _) = started(all(), t0);
    f.handle_packet(t0, &[14, 1, 0, 4]).unwrap();
    assert!(drain(&mut f).is_empty());
    assert_eq!(events(&mut f), [Event::Started]);
    assert_eq!(f.send_reset_request(&[]), None);
    assert!(!f.send_reset_ack(1, &[]));
}
