//! Sessions that must fail, refuse data or end: wrong passwords, a forged
//! authenticator response, MPPE policy, close, keepalive, garbage input.

use std::time::Duration;

use super::*;

#[test]
fn wrong_password_fails_on_both_sides() {
    for method in METHODS {
        for (impair, seed) in [(CLEAN, 3), (LOSSY, 3), (LOSSY, 4), (LOSSY, 5)] {
            let mut net = Net::new(
                client_cfg(method, None, "alice", "wrong"),
                server_cfg(method, None),
                impair,
                seed,
            );
            let label = format!("{method:?} {impair:?} {seed}");
            let done = |n: &Net| n.client.phase() == Phase::Dead && n.server.phase() == Phase::Dead;
            assert!(net.run_until(Duration::from_secs(120), done), "{label}");
            assert!(last_up(&net.client_events).is_none(), "{label}");
            assert!(net.sent(Side::Client, Protocol::IPCP).is_empty(), "{label}");
            let server = down_reason(&net.server_events).unwrap();
            assert_eq!(
                server,
                &SessionError::Auth(AuthError::Denied {
                    user: "alice".into(),
                    why: "wrong password"
                }),
                "{label}"
            );
            assert!(net.server_events.contains(&SessionEvent::AuthFailed {
                reason: AuthError::Denied {
                    user: "alice".into(),
                    why: "wrong password"
                }
            }));
            // Under loss the Failure and both Terminate-Requests may all be
            // lost (or LCP renegotiated meanwhile): the client then only
            // learns that the link is gone.
            if impair.loss > 0 {
                continue;
            }
            let ms_chap = matches!(method, AuthMethod::MsChapV1 | AuthMethod::MsChapV2);
            let client = down_reason(&net.client_events).unwrap();
            assert_eq!(
                client,
                &SessionError::Auth(AuthError::Rejected {
                    code: ms_chap.then_some(691),
                    message: "Authentication failed".into()
                }),
                "{label}"
            );
            let text = client.to_string();
            if ms_chap {
                assert_eq!(
                    text,
                    "authentication failed: E=691 authentication failure: Authentication failed"
                );
            }
        }
    }
}

#[test]
fn tampered_authenticator_response_drops_the_link() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, true));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 9);
    net.edit_hook = Box::new(|side, f| {
        let is_success =
            Frame::parse(f).is_ok_and(|x| x.protocol == Protocol::CHAP && x.payload[0] == 3);
        if side == Side::Server && is_success {
            // The first hex digit of S=.
            let at = f.windows(2).position(|w| w == b"S=").unwrap() + 2;
            f[at] = if f[at] == b'0' { b'1' } else { b'0' };
        }
    });
    let done = |n: &Net| n.client.phase() == Phase::Dead;
    assert!(net.run_until(Duration::from_secs(30), done));
    assert_eq!(
        down_reason(&net.client_events),
        Some(&SessionError::Auth(AuthError::MutualAuthFailed))
    );
    assert!(last_up(&net.client_events).is_none());
    assert!(net.sent(Side::Client, Protocol::COMPRESSED).is_empty());
    assert!(net.run_until(Duration::from_secs(30), |n| n.server.phase() == Phase::Dead));
}

#[test]
fn domain_user_authenticates_as_user() {
    for method in [AuthMethod::MsChapV2, AuthMethod::MsChapV1, AuthMethod::Pap] {
        let policy = (method != AuthMethod::Pap).then(|| testnet::mppe(KeyLength::Bits128, true));
        let mut net = Net::new(
            client_cfg(method, policy, "CORP\\alice", "s3cret"),
            server_cfg(method, policy),
            CLEAN,
            4,
        );
        assert!(
            net.run_until(Duration::from_secs(10), Net::both_up),
            "{method:?}"
        );
        assert!(net.server_events.contains(&SessionEvent::Authenticated {
            user: "alice".into(),
            method
        }));
        check_up(&net, policy, "domain");
    }
}

#[test]
fn no_user_data_before_ccp_is_open_when_mppe_is_required() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, true));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 5);
    let blocked = std::rc::Rc::new(std::cell::Cell::new(true));
    let b = blocked.clone();
    net.drop_hook =
        Box::new(move |_, f| b.get() && Frame::parse(f).is_ok_and(|x| x.protocol == Protocol::CCP));
    net.run_for(Duration::from_secs(2));
    // Both hold IPCP for CCP; a peer that does not (Windows) starts it
    // with its first request, as here, and both sides then open it.
    net.server.handle_frame(net.now, &EARLY_IPCP_REQUEST);
    net.run_for(Duration::from_secs(6));
    assert_eq!(net.client.phase(), Phase::Network);
    // IPCP is open both ways, CCP is not.
    for side in [Side::Client, Side::Server] {
        assert!(
            net.sent(side, Protocol::IPCP).iter().any(|p| p[0] == 2),
            "{side:?} IPCP Ack"
        );
    }
    for _ in 0..3 {
        assert_eq!(
            net.client.send_ip(&packet(1, 0)),
            Err(SessionError::EncryptionNotReady)
        );
        assert_eq!(
            net.server.send_ip(&packet(2, 0)),
            Err(SessionError::EncryptionNotReady)
        );
        net.run_for(Duration::from_millis(500));
    }
    assert!(last_up(&net.client_events).is_none());
    assert!(net.sent(Side::Client, Protocol::IPV4).is_empty());
    assert!(net.sent(Side::Client, Protocol::COMPRESSED).is_empty());
    assert!(net.sent(Side::Server, Protocol::IPV4).is_empty());
    blocked.set(false);
    assert!(net.run_until(Duration::from_secs(30), Net::both_up));
    let sent = exchange(&mut net, 0, 5, Duration::from_millis(20), true);
    assert_eq!(net.server_ip, sent[0]);
    check_wire(&net, true, "after CCP");
}

#[test]
fn required_mppe_with_pap_fails_and_optional_mppe_falls_back() {
    let required = Some(testnet::mppe(KeyLength::Bits128, true));
    let mut net = pair(AuthMethod::Pap, required, CLEAN, 6);
    let dead = |n: &Net| n.client.phase() == Phase::Dead && n.server.phase() == Phase::Dead;
    assert!(net.run_until(Duration::from_secs(30), dead));
    assert_eq!(
        down_reason(&net.server_events),
        Some(&SessionError::MppeWithoutKeys(Some(AuthMethod::Pap)))
    );
    let optional = MppePolicy {
        required: false,
        ..MppePolicy::default()
    };
    for (method, client, server) in [
        (AuthMethod::Pap, Some(optional), Some(optional)),
        (AuthMethod::MsChapV2, Some(optional), None),
        (AuthMethod::MsChapV2, None, Some(optional)),
    ] {
        let mut net = Net::new(
            client_cfg(method, client, "bob", "hunter2"),
            server_cfg(method, server),
            CLEAN,
            8,
        );
        assert!(
            net.run_until(Duration::from_secs(10), Net::both_up),
            "{method:?}"
        );
        let Some(SessionEvent::Up {
            local_ip,
            mppe,
            mtu,
            ..
        }) = last_up(&net.client_events)
        else {
            unreachable!()
        };
        assert_eq!((*local_ip, *mppe, *mtu), (POOL_IP, None, 1500));
        let sent = exchange(&mut net, 0, 3, Duration::from_millis(20), true);
        assert_eq!(net.client_ip, sent[1]);
        check_wire(&net, false, "fallback");
    }
}

#[test]
fn mtu_follows_peer_mru_less_mppe_overhead() {
    let policy = Some(testnet::mppe(KeyLength::Bits56, false));
    let mut server = server_cfg(AuthMethod::MsChapV1, policy);
    server.lcp.mru = 1400;
    let client = client_cfg(AuthMethod::MsChapV1, policy, "alice", "s3cret");
    let mut net = Net::new(client, server, CLEAN, 10);
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    let Some(SessionEvent::Up { mtu, .. }) = last_up(&net.client_events) else {
        unreachable!()
    };
    assert_eq!(*mtu, 1396);
    let big = vec![0x45; 1397];
    assert_eq!(
        net.client.send_ip(&big),
        Err(SessionError::TooLarge {
            len: 1397,
            mtu: 1396
        })
    );
    net.client.send_ip(&big[..1396]).unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.server_ip, [big[..1396].to_vec()]);
    // The whole frame's Information field fits the server's MRU.
    let frame = net.sent(Side::Client, Protocol::COMPRESSED).pop().unwrap();
    assert_eq!(frame.len(), 1400);
}

#[test]
fn close_terminates_both_sides() {
    let mut net = pair(AuthMethod::MsChapV2, None, CLEAN, 11);
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    net.client.close(net.now);
    assert_eq!(net.client.send_ip(&packet(1, 1)), Err(SessionError::NotUp));
    let dead = |n: &Net| n.client.phase() == Phase::Dead && n.server.phase() == Phase::Dead;
    assert!(net.run_until(Duration::from_secs(30), dead));
    assert_eq!(down_reason(&net.client_events), Some(&SessionError::Closed));
    // The link was up: a hang-up, not a failure "during the Network phase".
    assert_eq!(
        down_reason(&net.server_events),
        Some(&SessionError::PeerHungUp)
    );
    assert_eq!(
        SessionError::PeerHungUp.to_string(),
        "peer hung up",
        "the log line of a normal hang-up"
    );
    assert_eq!(net.client.poll_timeout(), None);
}

#[test]
fn keepalive_timeout_ends_the_session() {
    let mut client = client_cfg(AuthMethod::ChapMd5, None, "alice", "s3cret");
    client.lcp.echo_interval = Some(Duration::from_secs(5));
    client.lcp.echo_failures = 3;
    let mut net = Net::new(client, server_cfg(AuthMethod::ChapMd5, None), CLEAN, 12);
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    net.run_for(Duration::from_secs(30));
    assert!(net.both_up(), "echoes answered");
    net.impair.loss = 100;
    assert!(net.run_until(Duration::from_secs(60), |n| n.client.phase() == Phase::Dead));
    assert_eq!(
        down_reason(&net.client_events),
        Some(&SessionError::KeepaliveTimeout)
    );
}

#[test]
fn unknown_protocols_are_protocol_rejected() {
    let mut net = pair(AuthMethod::MsChapV2, None, CLEAN, 13);
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    net.client
        .handle_frame(net.now, &[0xff, 0x03, 0x00, 0x57, 0x60, 0, 0, 0]);
    let frame = net.client.poll_transmit().unwrap();
    let f = Frame::parse(&frame).unwrap();
    assert_eq!(f.protocol, Protocol::LCP);
    assert_eq!(
        (f.payload[0], &f.payload[4..6]),
        (8, [0x00, 0x57].as_slice())
    );
    // CCP is Protocol-Rejected when MPPE is disabled.
    net.client.handle_frame(net.now, &[0x80, 0xfd, 1, 1, 0, 4]);
    let f = net.client.poll_transmit().unwrap();
    assert_eq!(Frame::parse(&f).unwrap().payload[4..6], [0x80, 0xfd]);
}

#[test]
fn garbage_frames_never_panic() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, false));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 14);
    let mut noise = testnet::rng(99);
    let protocols: [[u8; 2]; 9] = [
        [0xc0, 0x21],
        [0xc2, 0x23],
        [0xc0, 0x23],
        [0x80, 0x21],
        [0x80, 0xfd],
        [0x00, 0xfd],
        [0x00, 0x21],
        [0x00, 0x57],
        [0xff, 0x03],
    ];
    for round in 0..4000usize {
        let mut body = [0u8; 40];
        noise(&mut body);
        let len = usize::from(body[0]) % 40;
        let mut frame = protocols[round % protocols.len()].to_vec();
        frame.extend_from_slice(&body[..len]);
        let target = if round % 2 == 0 {
            &mut net.client
        } else {
            &mut net.server
        };
        target.handle_frame(net.now, &frame);
        if round % 50 == 0 {
            net.run_for(Duration::from_millis(300));
        }
    }
    net.run_for(Duration::from_secs(5));
}
