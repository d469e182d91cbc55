//! IPCP with RFC 1877 name servers, with hand-written byte vectors.

use std::time::Instant;

use super::*;
use crate::ppp::fsm::testutil::{Dir, Link, drain, events};
use crate::ppp::fsm::{Config, Event, State};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ASSIGNED: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const DNS1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
const DNS2: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

fn server() -> IpcpConfig {
    IpcpConfig {
        local: Some(SERVER),
        remote: Some(ASSIGNED),
        dns: [Some(DNS1), Some(DNS2)],
        ..IpcpConfig::default()
    }
}

fn client() -> IpcpConfig {
    IpcpConfig {
        request_dns: true,
        ..IpcpConfig::default()
    }
}

fn started(config: IpcpConfig, t0: Instant) -> (Ipcp, Vec<u8>) {
    let mut f = Ipcp::with_config(config, Config::default());
    f.open(t0);
    f.up(t0);
    let mut out = drain(&mut f);
    assert_eq!(out.len(), 1);
    (f, out.remove(0))
}

#[rustfmt::skip]
const CLIENT_REQUEST: [u8; 22] = [
    1, 1, 0, 22,
    3, 6, 0, 0, 0, 0,       // IP-Address 0.0.0.0: please assign
    129, 6, 0, 0, 0, 0,     // Primary DNS
    131, 6, 0, 0, 0, 0,     // Secondary DNS
];

#[rustfmt::skip]
const SERVER_NAK: [u8; 22] = [
    3, 1, 0, 22,
    3, 6, 10, 0, 0, 2,
    129, 6, 10, 0, 0, 53,
    131, 6, 8, 8, 8, 8,
];

#[test]
fn server_assigns_address_and_pushes_dns() {
    let mut link = Link::new(
        Ipcp::with_config(server(), Config::default()),
        Ipcp::with_config(client(), Config::default()),
    );
    link.start();
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    let requests = link.sent(Dir::BtoA, 1);
    assert_eq!(requests[0], CLIENT_REQUEST);
    let mut second = SERVER_NAK;
    second[0] = 1;
    second[1] = 2;
    assert_eq!(requests[1], second);
    assert_eq!(link.sent(Dir::AtoB, 3), [SERVER_NAK.as_slice()]);
    assert_eq!(
        link.sent(Dir::AtoB, 1),
        [[1u8, 1, 0, 10, 3, 6, 10, 0, 0, 1].as_slice()]
    );
    let c = link.b.params();
    assert_eq!(c.local, Some(ASSIGNED));
    assert_eq!(c.remote, Some(SERVER));
    assert_eq!(c.dns, [Some(DNS1), Some(DNS2)]);
    assert_eq!(c.nbns, [None, None]);
    let s = link.a.params();
    assert_eq!(s.local, Some(SERVER));
    assert_eq!(s.remote, Some(ASSIGNED));
    assert_eq!(link.b_events, [Event::Started, Event::Up]);
}

#[test]
fn server_without_name_servers_rejects_them() {
    let mut config = server();
    config.dns = [None, None];
    let mut link = Link::new(
        Ipcp::with_config(config, Config::default()),
        Ipcp::with_config(client(), Config::default()),
    );
    link.start();
    let reject = [4u8, 1, 0, 16, 129, 6, 0, 0, 0, 0, 131, 6, 0, 0, 0, 0];
    assert_eq!(link.sent(Dir::AtoB, 4), [reject.as_slice()]);
    assert_eq!(link.b.state(), State::Opened);
    assert_eq!(link.b.params().local, Some(ASSIGNED));
    assert_eq!(link.b.params().dns, [None, None]);
}

#[test]
fn server_rejects_compression_and_unconfigured_nbns() {
    let t0 = Instant::now();
    let (mut f, req) = started(server(), t0);
    assert_eq!(req, [1, 1, 0, 10, 3, 6, 10, 0, 0, 1]);
    #[rustfmt::skip]
    let request = [
        1, 5, 0, 28,
        2, 6, 0x00, 0x2d, 0x0f, 0x01,   // VJ compression
        3, 6, 0, 0, 0, 0,
        130, 6, 0, 0, 0, 0,             // Primary NBNS
        132, 6, 0, 0, 0, 0,             // Secondary NBNS
    ];
    f.handle_packet(t0, &request).unwrap();
    #[rustfmt::skip]
    let reject = [
        4, 5, 0, 22,
        2, 6, 0x00, 0x2d, 0x0f, 0x01,
        130, 6, 0, 0, 0, 0,
        132, 6, 0, 0, 0, 0,
    ];
    assert_eq!(drain(&mut f), [reject.to_vec()]);
}

#[test]
fn server_naks_wrong_values_and_appends_the_address() {
    let t0 = Instant::now();
    let (mut f, _) = started(server(), t0);
    f.handle_packet(t0, &[1, 6, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![3, 6, 0, 10, 3, 6, 10, 0, 0, 2]]);
    f.handle_packet(t0, &[1, 7, 0, 10, 3, 6, 192, 168, 1, 5])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![3, 7, 0, 10, 3, 6, 10, 0, 0, 2]]);
    f.handle_packet(t0, &[1, 8, 0, 10, 129, 6, 1, 2, 3, 4])
        .unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![3, 8, 0, 16, 129, 6, 10, 0, 0, 53, 3, 6, 10, 0, 0, 2]]
    );
    f.handle_packet(t0, &[1, 9, 0, 10, 3, 6, 10, 0, 0, 2])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![2, 9, 0, 10, 3, 6, 10, 0, 0, 2]]);
    // A malformed IP-Address is Nak'd with a proper one.
    f.handle_packet(t0, &[1, 10, 0, 8, 3, 4, 10, 0]).unwrap();
    assert_eq!(drain(&mut f), [vec![3, 10, 0, 10, 3, 6, 10, 0, 0, 2]]);
}

#[test]
fn peer_without_assignment_takes_any_nonzero_address() {
    let t0 = Instant::now();
    let (mut f, _) = started(client(), t0);
    f.handle_packet(t0, &[1, 4, 0, 10, 3, 6, 172, 16, 0, 1])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![2, 4, 0, 10, 3, 6, 172, 16, 0, 1]]);
    // Nothing to assign: asking for 0.0.0.0 is Rejected.
    f.handle_packet(t0, &[1, 5, 0, 10, 3, 6, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![4, 5, 0, 10, 3, 6, 0, 0, 0, 0]]);
}

#[test]
fn client_without_address_fails_when_rejected() {
    let t0 = Instant::now();
    let (mut f, req) = started(IpcpConfig::default(), t0);
    assert_eq!(req, [1, 1, 0, 10, 3, 6, 0, 0, 0, 0]);
    f.handle_packet(t0, &[4, 1, 0, 10, 3, 6, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(
        events(&mut f),
        [Event::Started, Event::Failed(Error::AddressRefused),]
    );
    assert_eq!(f.state(), State::Closing);
    assert_eq!(drain(&mut f), [vec![5, 2, 0, 4]]);
}

#[test]
fn client_with_fixed_address_survives_reject() {
    let t0 = Instant::now();
    let config = IpcpConfig {
        local: Some(ASSIGNED),
        ..IpcpConfig::default()
    };
    let (mut f, _) = started(config, t0);
    f.handle_packet(t0, &[4, 1, 0, 10, 3, 6, 10, 0, 0, 2])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![1, 2, 0, 4]]);
    f.handle_packet(t0, &[2, 2, 0, 4]).unwrap();
    f.handle_packet(t0, &[1, 1, 0, 10, 3, 6, 10, 0, 0, 1])
        .unwrap();
    assert_eq!(f.state(), State::Opened);
    assert_eq!(f.params().local, Some(ASSIGNED));
}

#[test]
fn lcp_only_codes_are_code_rejected() {
    let t0 = Instant::now();
    let (mut f, _) = started(server(), t0);
    f.handle_packet(t0, &[9, 1, 0, 8, 0, 0, 0, 0]).unwrap();
    assert_eq!(drain(&mut f), [vec![7, 2, 0, 12, 9, 1, 0, 8, 0, 0, 0, 0]]);
}
