//! Retransmission, repeated packets and hostile input.

use super::*;

#[test]
fn challenge_resent_with_new_identifier_then_timeout() {
    let method = AuthMethod::ChapMd5;
    let mut a = Authenticator::new(method, &config(&[method], "server", ""));
    let mut rng = noise(5);
    let mut now = Instant::now();
    a.start(now, &mut rng);
    let mut seen = Vec::new();
    while let Some(deadline) = a.poll_timeout() {
        seen.extend(std::iter::from_fn(|| a.poll_transmit()));
        now = deadline;
        a.handle_timeout(now, &mut rng);
    }
    assert_eq!(seen.len(), 10);
    for pair in seen.windows(2) {
        assert_eq!(pair[1][1], pair[0][1].wrapping_add(1), "new Identifier");
        assert_ne!(pair[1][4..], pair[0][4..], "new challenge");
    }
    assert_eq!(
        a.poll_event(),
        Some(AuthEvent::AuthFailed {
            reason: AuthError::Timeout("CHAP Response", 10)
        })
    );
}

#[test]
fn lost_replies_are_recovered_by_retransmission() {
    for method in [AuthMethod::Pap, AuthMethod::MsChapV2] {
        let mut pair = Pair::new(method, "alice", "s3cret");
        // Lose the first reply the authenticator sends.
        let mut lost = false;
        let mut lose_first_reply = |p: &mut Vec<u8>| {
            let reply = if method == AuthMethod::Pap {
                true
            } else {
                p[0] == CHAP_SUCCESS
            };
            if reply && !lost {
                lost = true;
                p.clear();
            }
        };
        pair.run(&mut lose_first_reply);
        assert_eq!(pair.a_events.len(), 1);
        assert!(pair.p_events.is_empty());
        let deadline = pair.p.poll_timeout().expect("peer retransmits");
        pair.now = deadline + Duration::from_millis(1);
        let now = pair.now;
        pair.p.handle_timeout(now, &mut pair.p_rng);
        pair.run(&mut lose_first_reply);
        assert!(matches!(
            pair.p_events.as_slice(),
            [AuthEvent::AuthOk { .. }]
        ));
        assert_eq!(pair.a_events.len(), 1, "no second verdict");
        // Duplicated replies change nothing.
        let last = pair.a_sent.last().unwrap().clone();
        pair.p.handle_packet(now, &last, &mut pair.p_rng);
        assert!(pair.p.poll_event().is_none());
    }
}

#[test]
fn duplicated_challenge_gets_the_same_response() {
    let method = AuthMethod::MsChapV2;
    let mut p = Peer::new(method, &config(&[method], "alice", "s3cret"));
    let mut rng = noise(3);
    let now = Instant::now();
    p.start(now, &mut rng);
    let challenge = ChapPacket::Challenge {
        identifier: 4,
        value: &AUTH_CHALLENGE,
        name: b"srv",
    }
    .to_vec()
    .unwrap();
    p.handle_packet(now, &challenge, &mut rng);
    p.handle_packet(now, &challenge, &mut rng);
    let (r1, r2) = (p.poll_transmit().unwrap(), p.poll_transmit().unwrap());
    assert_eq!(r1[0], CHAP_RESPONSE);
    assert_eq!(r1, r2);
}

#[test]
fn pap_nak_and_repeated_requests() {
    let mut pair = Pair::new(AuthMethod::Pap, "alice", "nope");
    pair.run(|_| {});
    assert!(matches!(
        Pair::failed(&pair.p_events),
        AuthError::Rejected { code: None, .. }
    ));
    // The authenticator answers a repeat with the same Code.
    let req = PapPacket::Request {
        identifier: 99,
        peer_id: b"alice",
        password: b"s3cret",
    };
    pair.a
        .handle_packet(pair.now, &req.to_vec().unwrap(), &creds);
    let reply = pair.a.poll_transmit().unwrap();
    assert!(matches!(
        PapPacket::parse(&reply),
        Ok(PapPacket::Nak { identifier: 99, .. })
    ));
}

#[test]
fn garbage_never_panics() {
    let mut bytes = noise(11);
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV1,
        AuthMethod::MsChapV2,
    ] {
        let mut pair = Pair::new(method, "alice", "s3cret");
        for i in 0..3000usize {
            let mut len = [0u8; 1];
            bytes(&mut len);
            let mut pkt = vec![0u8; usize::from(len[0]) % 80];
            bytes(&mut pkt);
            if pkt.len() >= 4 {
                pkt[0] = (i % 6) as u8;
                let l = u16::try_from(pkt.len() - i % 3).unwrap_or(0);
                pkt[2..4].copy_from_slice(&l.to_be_bytes());
            }
            pair.a.handle_packet(pair.now, &pkt, &creds);
            pair.p.handle_packet(pair.now, &pkt, &mut pair.p_rng);
        }
    }
}
