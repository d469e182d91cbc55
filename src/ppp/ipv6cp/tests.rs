//! IPV6CP (RFC 5072) with hand-written byte vectors: the identifiers, the
//! collisions of §4.1 and the rejected compression option.

use std::time::Instant;

use super::*;
use crate::ppp::fsm::testutil::{Dir, Link, drain};
use crate::ppp::fsm::{Config, State};

const SERVER_ID: u64 = 0x0200_5eff_fe00_0001;
const CLIENT_ID: u64 = 0x1122_3344_5566_7788;

fn cfg(local: Option<u64>, seed: u64) -> Ipv6cpConfig {
    Ipv6cpConfig {
        local,
        seed,
        ..Ipv6cpConfig::default()
    }
}

fn request(id: u8, iid: u64) -> Vec<u8> {
    let mut v = vec![1, id, 0, 14, 1, 10];
    v.extend_from_slice(&iid.to_be_bytes());
    v
}

fn link(a: Ipv6cpConfig, b: Ipv6cpConfig) -> Link<Ipv6cpOptions, Ipv6cpOptions> {
    let mut l = Link::new(
        Ipv6cp::with_config(a, Config::default()),
        Ipv6cp::with_config(b, Config::default()),
    );
    l.start();
    l
}

#[test]
fn distinct_identifiers_are_acked_as_sent() {
    let l = link(cfg(Some(SERVER_ID), 1), cfg(Some(CLIENT_ID), 2));
    assert_eq!(l.a.state(), State::Opened);
    assert_eq!(l.b.state(), State::Opened);
    // Configure-Request: Interface-Identifier, Length 10, the 8 octets.
    assert_eq!(l.sent(Dir::AtoB, 1), [request(1, SERVER_ID).as_slice()]);
    assert_eq!(l.sent(Dir::BtoA, 1), [request(1, CLIENT_ID).as_slice()]);
    let mut ack = request(1, CLIENT_ID);
    ack[0] = 2;
    assert_eq!(l.sent(Dir::AtoB, 2), [ack.as_slice()]);
    assert_eq!(l.sent(Dir::AtoB, 3), Vec::<&[u8]>::new());
    assert_eq!(
        *l.a.params(),
        Ipv6cpParams {
            local: Some(SERVER_ID),
            remote: Some(CLIENT_ID)
        }
    );
    assert_eq!(
        *l.b.params(),
        Ipv6cpParams {
            local: Some(CLIENT_ID),
            remote: Some(SERVER_ID)
        }
    );
}

#[test]
fn a_peer_using_our_identifier_is_naked_to_a_fresh_one() {
    let l = link(cfg(Some(SERVER_ID), 1), cfg(Some(SERVER_ID), 2));
    assert_eq!(l.a.state(), State::Opened);
    assert_eq!(l.b.state(), State::Opened);
    let naks = l.sent(Dir::AtoB, 3);
    assert!(!naks.is_empty(), "the collision must be Nak'd");
    let (a, b) = (l.a.params(), l.b.params());
    let (Some(al), Some(bl)) = (a.local, b.local) else {
        panic!("both ends need an identifier: {a:?} {b:?}");
    };
    assert_ne!(al, bl);
    assert_eq!(a.remote, Some(bl));
    assert_eq!(b.remote, Some(al));
    assert!(al != 0 && bl != 0);
}

#[test]
fn a_zero_identifier_is_naked_with_a_non_zero_suggestion() {
    let mut f = Ipv6cp::with_config(cfg(Some(SERVER_ID), 7), Config::default());
    let t0 = Instant::now();
    f.open(t0);
    f.up(t0);
    drain(&mut f);
    f.handle_packet(t0, &request(9, 0)).unwrap();
    let out = drain(&mut f);
    assert_eq!(out.len(), 1);
    let nak = &out[0];
    assert_eq!(&nak[..6], &[3, 9, 0, 14, 1, 10]);
    let id = u64::from_be_bytes(nak[6..14].try_into().unwrap());
    assert!(id != 0 && id != SERVER_ID);
}

#[test]
fn another_sessions_identifier_is_naked() {
    let avoid = vec![CLIENT_ID];
    let server = Ipv6cpConfig {
        local: Some(SERVER_ID),
        avoid: avoid.clone(),
        seed: 3,
    };
    let l = link(server, cfg(Some(CLIENT_ID), 4));
    assert_eq!(l.a.state(), State::Opened);
    assert_eq!(l.sent(Dir::AtoB, 3).len(), 1);
    let got = l.b.params().local.unwrap();
    assert!(!avoid.contains(&got) && got != SERVER_ID && got != 0);
    assert_eq!(l.a.params().remote, Some(got));
}

#[test]
fn compression_and_unknown_options_are_rejected() {
    let mut f = Ipv6cp::with_config(cfg(Some(SERVER_ID), 7), Config::default());
    let t0 = Instant::now();
    f.open(t0);
    f.up(t0);
    drain(&mut f);
    // IPv6-Compression-Protocol 0x004f (RFC 2507), then the identifier.
    let mut req = vec![1, 5, 0, 18, 2, 4, 0x00, 0x4f, 1, 10];
    req.extend_from_slice(&CLIENT_ID.to_be_bytes());
    f.handle_packet(t0, &req).unwrap();
    assert_eq!(drain(&mut f), [vec![4, 5, 0, 8, 2, 4, 0x00, 0x4f]]);
}

#[test]
fn a_rejected_identifier_keeps_ours_for_our_link_local_address() {
    let mut f = Ipv6cp::with_config(cfg(Some(CLIENT_ID), 7), Config::default());
    let t0 = Instant::now();
    f.open(t0);
    f.up(t0);
    assert_eq!(drain(&mut f), [request(1, CLIENT_ID)]);
    let mut rej = request(1, CLIENT_ID);
    rej[0] = 4;
    f.handle_packet(t0, &rej).unwrap();
    // The next request carries no options; the peer Acks it.
    assert_eq!(drain(&mut f), [vec![1, 2, 0, 4]]);
    f.handle_packet(t0, &[2, 2, 0, 4]).unwrap();
    f.handle_packet(t0, &request(1, SERVER_ID)).unwrap();
    assert_eq!(f.state(), State::Opened);
    assert_eq!(f.params().local, Some(CLIENT_ID));
    assert_eq!(f.params().remote, Some(SERVER_ID));
}

#[test]
fn identifiers_drawn_from_the_seed_are_non_zero_and_differ() {
    let a = Ipv6cpOptions::new(cfg(None, 1));
    let b = Ipv6cpOptions::new(cfg(None, 2));
    let (Some(x), Some(y)) = (a.config.local, b.config.local) else {
        panic!("no identifier drawn");
    };
    assert!(x != 0 && y != 0 && x != y);
    assert_eq!(
        link_local(0x0211_22ff_fe33_4455).to_string(),
        "fe80::211:22ff:fe33:4455"
    );
}
