//! LCP options and LCP-only packets, with hand-written byte vectors.

use std::time::{Duration, Instant};

use super::*;
use crate::ppp::fsm::testutil::{Dir, Link, drain, events};
use crate::ppp::fsm::{Config, Event, State};

fn server() -> LcpConfig {
    LcpConfig {
        mru: 1400,
        magic_seed: 1,
        require_auth: vec![AuthMethod::MsChapV2],
        ..LcpConfig::default()
    }
}

fn client() -> LcpConfig {
    LcpConfig {
        magic_seed: 2,
        accept_auth: vec![AuthMethod::MsChapV2, AuthMethod::ChapMd5],
        ..LcpConfig::default()
    }
}

/// Magic-Number options only, nothing else requested.
fn bare(seed: u64) -> LcpConfig {
    LcpConfig {
        magic_seed: seed,
        pfc: false,
        acfc: false,
        ..LcpConfig::default()
    }
}

fn started(config: LcpConfig, t0: Instant) -> (Lcp, Vec<u8>) {
    let mut f = Lcp::with_config(config, Config::default());
    f.open(t0);
    f.up(t0);
    let mut out = drain(&mut f);
    assert_eq!(out.len(), 1);
    (f, out.remove(0))
}

fn pair(a: LcpConfig, b: LcpConfig) -> Link<LcpOptions, LcpOptions> {
    let mut link = Link::new(
        Lcp::with_config(a, Config::default()),
        Lcp::with_config(b, Config::default()),
    );
    link.start();
    link
}

#[test]
fn configure_request_bytes() {
    let t0 = Instant::now();
    let (_, server_req) = started(server(), t0);
    #[rustfmt::skip]
    let expected = [
        0x01, 0x01, 0x00, 0x17,
        0x01, 0x04, 0x05, 0x78,             // MRU 1400
        0x03, 0x05, 0xc2, 0x23, 0x81,       // CHAP, MS-CHAPv2
        0x05, 0x06, 0x91, 0x0a, 0x2d, 0xec, // Magic-Number
        0x07, 0x02,                         // PFC
        0x08, 0x02,                         // ACFC
    ];
    assert_eq!(server_req, expected);
    let (_, client_req) = started(client(), t0);
    assert_eq!(
        client_req,
        [1, 1, 0, 14, 5, 6, 0x97, 0x58, 0x35, 0xde, 7, 2, 8, 2]
    );
}

#[test]
fn auth_method_codec() {
    assert_eq!(AuthMethod::Pap.to_opt().data(), [0xc0, 0x23]);
    assert_eq!(AuthMethod::ChapMd5.to_opt().data(), [0xc2, 0x23, 5]);
    assert_eq!(AuthMethod::MsChapV1.to_opt().data(), [0xc2, 0x23, 0x80]);
    for m in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV1,
        AuthMethod::MsChapV2,
    ] {
        assert_eq!(AuthMethod::from_data(m.to_opt().data()), Some(m));
    }
    assert_eq!(AuthMethod::from_data(&[0xc2, 0x23, 6]), None);
    assert_eq!(AuthMethod::from_data(&[0xc2]), None);
}

#[test]
fn server_and_client_open() {
    let link = pair(server(), client());
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.b.state(), State::Opened);
    let s = link.a.params();
    assert_eq!(s.local.mru, 1400);
    assert_eq!(s.local.auth, Some(AuthMethod::MsChapV2));
    assert_eq!(s.local.magic, 0x910a_2dec);
    assert_eq!(s.remote.magic, 0x9758_35de);
    assert_eq!(s.remote.auth, None);
    let c = link.b.params();
    assert_eq!(c.remote.mru, 1400);
    assert_eq!(c.remote.auth, Some(AuthMethod::MsChapV2));
    assert_eq!(
        c.tx_compression(),
        Compression {
            acfc: true,
            pfc: true
        }
    );
    assert_eq!(link.a.options().peer_mru(), Some(1500));
    assert_eq!(link.b.options().peer_mru(), Some(1400));
}

#[test]
fn authenticator_takes_an_allowed_nak_suggestion() {
    let mut server = server();
    server.require_auth = vec![AuthMethod::MsChapV2, AuthMethod::ChapMd5];
    let mut client = client();
    client.accept_auth = vec![AuthMethod::ChapMd5];
    let link = pair(server, client);
    // The client Naks MS-CHAPv2 with CHAP-MD5.
    let nak = [3, 1, 0, 9, 3, 5, 0xc2, 0x23, 5];
    assert_eq!(link.sent(Dir::BtoA, 3), [nak.as_slice()]);
    assert_eq!(link.a.state(), State::Opened);
    assert_eq!(link.a.params().local.auth, Some(AuthMethod::ChapMd5));
}

#[test]
fn authenticator_refuses_a_method_outside_its_policy() {
    let mut client = client();
    client.accept_auth = vec![AuthMethod::Pap];
    let mut link = pair(server(), client);
    assert_eq!(
        link.sent(Dir::BtoA, 3),
        [[3u8, 1, 0, 8, 3, 4, 0xc0, 0x23].as_slice()]
    );
    assert!(link.a_events.contains(&Event::Failed(Error::AuthRefused)));
    assert_eq!(link.a.state(), State::Closed);
    link.run_for(Duration::from_secs(60));
    assert_ne!(link.b.state(), State::Opened);
}

#[test]
fn authenticatee_without_methods_rejects_and_authenticator_fails() {
    // bare(2) does not take PFC and ACFC either.
    let link = pair(server(), bare(2));
    assert_eq!(
        link.sent(Dir::BtoA, 4),
        [[4u8, 1, 0, 13, 3, 5, 0xc2, 0x23, 0x81, 7, 2, 8, 2].as_slice()]
    );
    assert!(link.a_events.contains(&Event::Failed(Error::AuthRefused)));
}

#[test]
fn peer_rejecting_mru_falls_back_to_default() {
    let t0 = Instant::now();
    let config = LcpConfig {
        mru: 1400,
        magic: false,
        ..bare(0)
    };
    let (mut f, req) = started(config, t0);
    assert_eq!(req, [1, 1, 0, 8, 1, 4, 0x05, 0x78]);
    f.handle_packet(t0, &[4, 1, 0, 8, 1, 4, 0x05, 0x78])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![1, 2, 0, 4]]);
    f.handle_packet(t0, &[2, 2, 0, 4]).unwrap();
    f.handle_packet(t0, &[1, 1, 0, 4]).unwrap();
    assert_eq!(drain(&mut f), [vec![2, 1, 0, 4]]);
    assert_eq!(f.state(), State::Opened);
    assert_eq!(f.params().local.mru, 1500);
}

#[test]
fn nakd_mru_is_adopted() {
    let t0 = Instant::now();
    let config = LcpConfig {
        mru: 1400,
        magic: false,
        ..bare(0)
    };
    let (mut f, _) = started(config, t0);
    f.handle_packet(t0, &[3, 1, 0, 8, 1, 4, 0x04, 0xb0])
        .unwrap();
    assert_eq!(drain(&mut f), [vec![1, 2, 0, 8, 1, 4, 0x04, 0xb0]]);
}

#[test]
fn unsupported_options_rejected_accm_accepted() {
    let t0 = Instant::now();
    let (mut f, _) = started(bare(1), t0);
    #[rustfmt::skip]
    let request = [
        1, 9, 0, 32,
        0x02, 0x06, 0, 0, 0, 0,                    // ACCM
        0x0d, 0x03, 0x06,                          // Callback
        0x04, 0x08, 0xc0, 0x25, 0, 0, 0, 0x0a,     // Quality-Protocol
        0x11, 0x04, 0x05, 0xdc,                    // MRRU
        0x13, 0x03, 0x00,                          // Endpoint Discriminator
        0x17, 0x04, 0x00, 0x01,                    // Link Discriminator (BACP)
    ];
    f.handle_packet(t0, &request).unwrap();
    #[rustfmt::skip]
    let reject = [
        4, 9, 0, 26,
        0x0d, 0x03, 0x06,
        0x04, 0x08, 0xc0, 0x25, 0, 0, 0, 0x0a,
        0x11, 0x04, 0x05, 0xdc,
        0x13, 0x03, 0x00,
        0x17, 0x04, 0x00, 0x01,
    ];
    assert_eq!(drain(&mut f), [reject.to_vec()]);
    f.handle_packet(t0, &[1, 10, 0, 10, 2, 6, 0xff, 0xff, 0xff, 0xff])
        .unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![2, 10, 0, 10, 2, 6, 0xff, 0xff, 0xff, 0xff]]
    );
}

#[test]
fn magic_number_zero_and_loopback_are_nakd() {
    let t0 = Instant::now();
    let (mut f, req) = started(bare(1), t0);
    assert_eq!(req, [1, 1, 0, 10, 5, 6, 0x91, 0x0a, 0x2d, 0xec]);
    // Our own number comes back: Nak with a different one.
    f.handle_packet(t0, &req).unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![3, 1, 0, 10, 5, 6, 0xbe, 0xeb, 0x8d, 0xa1]]
    );
    // That Nak looped back too: choose a new number and ask again.
    f.handle_packet(t0, &[3, 1, 0, 10, 5, 6, 0xbe, 0xeb, 0x8d, 0xa1])
        .unwrap();
    assert_eq!(
        drain(&mut f),
        [vec![1, 2, 0, 10, 5, 6, 0xf8, 0x93, 0xa2, 0xee]]
    );
    // Zero is illegal.
    f.handle_packet(t0, &[1, 7, 0, 10, 5, 6, 0, 0, 0, 0])
        .unwrap();
    let out = drain(&mut f);
    assert_eq!(out[0][..6], [3, 7, 0, 10, 5, 6]);
    assert_ne!(out[0][6..], [0, 0, 0, 0]);
}

/// A (MRU 200) and B opened; B must keep its packets within 200 bytes.
fn small_mru_pair() -> Link<LcpOptions, LcpOptions> {
    let mut a = bare(1);
    a.mru = 200;
    let link = pair(a, bare(2));
    assert_eq!(link.b.state(), State::Opened);
    assert_eq!(link.b.params().remote.mru, 200);
    link
}

#[test]
fn echo_reply_carries_our_magic_and_fits_the_peer_mru() {
    let mut link = small_mru_pair();
    let t = link.now;
    let mut request = vec![9, 0x77, 0x01, 0x34, 0x91, 0x0a, 0x2d, 0xec];
    request.extend((0..300u16).map(|i| i as u8));
    link.b.handle_packet(t, &request).unwrap();
    let mut reply = vec![10, 0x77, 0, 200, 0x97, 0x58, 0x35, 0xde];
    reply.extend((0..192u16).map(|i| i as u8));
    assert_eq!(drain(&mut link.b), [reply]);
    // A short one is echoed whole.
    link.b
        .handle_packet(t, &[9, 0x78, 0, 10, 0x91, 0x0a, 0x2d, 0xec, 1, 2])
        .unwrap();
    assert_eq!(
        drain(&mut link.b),
        [vec![10, 0x78, 0, 10, 0x97, 0x58, 0x35, 0xde, 1, 2]]
    );
}

#[test]
fn echo_with_our_own_magic_means_loopback() {
    let mut link = small_mru_pair();
    let t = link.now;
    link.b
        .handle_packet(t, &[9, 1, 0, 8, 0x97, 0x58, 0x35, 0xde])
        .unwrap();
    assert!(drain(&mut link.b).is_empty());
    assert_eq!(events(&mut link.b), [Event::LoopedBack]);
}

#[test]
fn echo_and_discard_outside_opened_are_dropped() {
    let t0 = Instant::now();
    let (mut f, _) = started(bare(1), t0);
    f.handle_packet(t0, &[9, 1, 0, 8, 0, 0, 0, 0]).unwrap();
    f.handle_packet(t0, &[11, 1, 0, 9, 0, 0, 0, 0, 5]).unwrap();
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.send_echo_request(&[]), None);
    // Too short for the Magic-Number: dropped, not Code-Rejected.
    f.handle_packet(t0, &[9, 1, 0, 6, 0, 0]).unwrap();
    assert!(drain(&mut f).is_empty());
}

#[test]
fn protocol_reject_fits_the_peer_mru() {
    let mut link = small_mru_pair();
    assert!(link.b.protocol_reject(Protocol(0x8057), &[0xee; 500]));
    let out = drain(&mut link.b);
    let mut expected = vec![8, 2, 0, 200, 0x80, 0x57];
    expected.extend([0xee; 194]);
    assert_eq!(out, [expected]);
    // Short ones are copied whole.
    assert!(link.b.protocol_reject(Protocol(0x8057), &[1, 2, 3]));
    assert_eq!(drain(&mut link.b), [vec![8, 3, 0, 9, 0x80, 0x57, 1, 2, 3]]);
    let (mut idle, _) = started(bare(3), link.now);
    assert!(!idle.protocol_reject(Protocol(0x8057), &[1]));
}

#[test]
fn received_protocol_reject() {
    let mut link = small_mru_pair();
    let t = link.now;
    link.a
        .handle_packet(t, &[8, 5, 0, 8, 0x80, 0x21, 1, 1])
        .unwrap();
    assert_eq!(
        events(&mut link.a),
        [Event::ProtocolRejected(Protocol::IPCP)]
    );
    assert_eq!(link.a.state(), State::Opened);
    // Protocol-Reject of LCP itself: RXJ-, tld,irc,str/5.
    link.a.handle_packet(t, &[8, 6, 0, 6, 0xc0, 0x21]).unwrap();
    assert_eq!(link.a.state(), State::Stopping);
    assert_eq!(events(&mut link.a), [Event::Down]);
    assert_eq!(drain(&mut link.a)[0][0], 5);
}

#[test]
fn ccp_codes_are_code_rejected_by_lcp() {
    let mut link = small_mru_pair();
    let t = link.now;
    link.a.handle_packet(t, &[14, 3, 0, 4]).unwrap();
    assert_eq!(drain(&mut link.a), [vec![7, 2, 0, 8, 14, 3, 0, 4]]);
}

#[test]
fn keepalive_echoes_and_times_out() {
    let mut a = bare(1);
    a.echo_interval = Some(Duration::from_secs(10));
    a.echo_failures = 3;
    let mut link = pair(a, bare(2));
    link.a_events.clear();
    link.run_for(Duration::from_secs(35));
    assert_eq!(link.sent(Dir::AtoB, 9).len(), 3);
    assert_eq!(link.sent(Dir::BtoA, 10).len(), 3);
    assert_eq!(
        link.sent(Dir::AtoB, 9)[0],
        [9, 2, 0, 8, 0x91, 0x0a, 0x2d, 0xec]
    );
    assert!(link.a_events.is_empty());
    link.loss = Box::new(|_, _| true);
    link.run_for(Duration::from_secs(40));
    assert_eq!(link.sent(Dir::AtoB, 9).len(), 6);
    assert_eq!(link.a_events, [Event::KeepaliveTimeout]);
    assert_eq!(link.a.poll_timeout(), None);
}

/// Windows sends Identification (RFC 1570) right after LCP opens; pppd,
/// pptpd and RRAS take it silently. Neither it nor Time-Remaining is
/// Code-Rejected, in any state, and the link stays open.
#[test]
fn identification_and_time_remaining_are_taken_silently() {
    let mut link = small_mru_pair();
    let t = link.now;
    assert_eq!(link.a.state(), State::Opened);
    // Identification: magic, "MSRASV5.20" as Windows sends it.
    let mut id = vec![12, 1, 0, 0, 0x12, 0x34, 0x56, 0x78];
    id.extend_from_slice(b"MSRASV5.20");
    id[3] = id.len() as u8;
    link.a.handle_packet(t, &id).unwrap();
    // Time-Remaining: magic, 3600 s, no message.
    let tr = [13, 2, 0, 12, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x0e, 0x10];
    link.a.handle_packet(t, &tr).unwrap();
    // A message with control characters and no magic at all: still quiet.
    link.a.handle_packet(t, &[12, 3, 0, 6, b'\n', 0]).unwrap();
    assert!(
        drain(&mut link.a).is_empty(),
        "answered an informational packet"
    );
    assert_eq!(link.a.state(), State::Opened);
    // Other unknown codes are still Code-Rejected.
    link.a.handle_packet(t, &[16, 4, 0, 4]).unwrap();
    assert_eq!(drain(&mut link.a), [vec![7, 2, 0, 8, 16, 4, 0, 4]]);
}
