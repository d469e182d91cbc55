//! Both authentication roles back to back, with the RFC 2759 §9.2 and
//! RFC 3079 §3.5 vectors and hand-built packets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::wire::{CHAP_RESPONSE, CHAP_SUCCESS, ChapPacket, PapPacket};
use super::*;
use crate::ppp::crypto::mschapv2::MsChapV2Response;

const AUTH_CHALLENGE: [u8; 16] = [
    0x5b, 0x5d, 0x7c, 0x7d, 0x7b, 0x3f, 0x2f, 0x3e, 0x3c, 0x2c, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28,
];
const PEER_CHALLENGE: [u8; 16] = [
    0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c, 0x7e,
];
const NT_RESPONSE: [u8; 24] = [
    0x82, 0x30, 0x9e, 0xcd, 0x8d, 0x70, 0x8b, 0x5e, 0xa0, 0x8f, 0xaa, 0x39, 0x81, 0xcd, 0x83, 0x54,
    0x42, 0x33, 0x11, 0x4a, 0x3d, 0x85, 0xd6, 0xdf,
];
/// RFC 3079 §3.5: the server's 128-bit send start key.
const SERVER_SEND_START_KEY: [u8; 16] = [
    0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb,
];

/// An Rng replaying `bytes`, then zeros.
fn fixed(bytes: &[u8]) -> impl FnMut(&mut [u8]) + use<> {
    let mut q: VecDeque<u8> = bytes.iter().copied().collect();
    move |buf: &mut [u8]| {
        for b in buf {
            *b = q.pop_front().unwrap_or(0);
        }
    }
}

/// A deterministic pseudo-random Rng (xorshift64).
fn noise(mut s: u64) -> impl FnMut(&mut [u8]) {
    move |buf: &mut [u8]| {
        for b in buf {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = (s >> 32) as u8;
        }
    }
}

fn creds(user: &str) -> Option<Secret> {
    assert!(!user.contains('\\'), "lookup with a domain: {user}");
    match user {
        "User" => Some(Secret::new("clientPass")),
        "alice" => Some(Secret {
            password: "s3cret".into(),
            address: Some([10, 0, 0, 2].into()),
        }),
        _ => None,
    }
}

fn config(methods: &[AuthMethod], name: &str, password: &str) -> AuthConfig {
    AuthConfig {
        methods: methods.to_vec(),
        name: name.into(),
        password: password.into(),
        ..AuthConfig::default()
    }
}

type TestRng = Box<dyn FnMut(&mut [u8])>;

/// An authenticator and a peer for `method`, started.
struct Pair {
    a: Authenticator,
    p: Peer,
    a_rng: TestRng,
    p_rng: TestRng,
    now: Instant,
    a_events: Vec<AuthEvent>,
    p_events: Vec<AuthEvent>,
    /// Packets from the authenticator, as sent.
    a_sent: Vec<Vec<u8>>,
    p_sent: Vec<Vec<u8>>,
}

impl Pair {
    fn new(method: AuthMethod, user: &str, password: &str) -> Pair {
        let mut pair = Pair {
            a: Authenticator::new(method, &config(&[method], "server", "")),
            p: Peer::new(method, &config(&[method], user, password)),
            a_rng: Box::new(noise(1)),
            p_rng: Box::new(noise(2)),
            now: Instant::now(),
            a_events: Vec::new(),
            p_events: Vec::new(),
            a_sent: Vec::new(),
            p_sent: Vec::new(),
        };
        pair.a.start(pair.now, &mut pair.a_rng);
        pair.p.start(pair.now, &mut pair.p_rng);
        pair
    }

    /// Exchange packets until quiet; `edit` may change (or drop, by
    /// emptying) each authenticator packet.
    fn run(&mut self, mut edit: impl FnMut(&mut Vec<u8>)) {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(mut pkt) = self.a.poll_transmit() {
                moved = true;
                edit(&mut pkt);
                self.a_sent.push(pkt.clone());
                self.p.handle_packet(self.now, &pkt, &mut self.p_rng);
            }
            while let Some(pkt) = self.p.poll_transmit() {
                moved = true;
                self.p_sent.push(pkt.clone());
                self.a.handle_packet(self.now, &pkt, &creds);
            }
            self.a_events
                .extend(std::iter::from_fn(|| self.a.poll_event()));
            self.p_events
                .extend(std::iter::from_fn(|| self.p.poll_event()));
            if !moved {
                return;
            }
        }
        panic!("no quiet");
    }

    fn ok_keys(events: &[AuthEvent]) -> Option<StartKeys> {
        match events {
            [AuthEvent::AuthOk { keys, .. }] => *keys,
            other => panic!("expected one AuthOk, got {other:?}"),
        }
    }

    fn failed(events: &[AuthEvent]) -> AuthError {
        match events {
            [AuthEvent::AuthFailed { reason }] => reason.clone(),
            other => panic!("expected one AuthFailed, got {other:?}"),
        }
    }
}

fn chap_message(pkt: &[u8]) -> String {
    match ChapPacket::parse(pkt).unwrap() {
        ChapPacket::Success { message, .. } | ChapPacket::Failure { message, .. } => {
            String::from_utf8(message.to_vec()).unwrap()
        }
        other => panic!("not a reply: {other:?}"),
    }
}

#[test]
fn mschapv2_rfc2759_vectors_and_rfc3079_keys() {
    let method = AuthMethod::MsChapV2;
    let mut pair = Pair::new(method, "User", "clientPass");
    let mut a_rng = fixed(&[[7].as_slice(), &AUTH_CHALLENGE].concat());
    let mut p_rng = fixed(&PEER_CHALLENGE);
    pair.a = Authenticator::new(method, &config(&[method], "server", ""));
    pair.a.start(pair.now, &mut a_rng);
    pair.p_rng = Box::new(move |b: &mut [u8]| p_rng(b));
    pair.run(|_| {});
    let challenge = ChapPacket::parse(&pair.a_sent[0]).unwrap();
    assert_eq!(
        challenge,
        ChapPacket::Challenge {
            identifier: 7,
            value: &AUTH_CHALLENGE,
            name: b"server"
        }
    );
    let ChapPacket::Response {
        identifier,
        value,
        name,
    } = ChapPacket::parse(&pair.p_sent[0]).unwrap()
    else {
        panic!("not a Response");
    };
    assert_eq!((identifier, name), (7, b"User".as_slice()));
    let expected: Vec<u8> = [&PEER_CHALLENGE[..], &[0; 8], &NT_RESPONSE, &[0]].concat();
    assert_eq!(value, expected.as_slice());
    assert_eq!(
        chap_message(&pair.a_sent[1]),
        "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted"
    );
    let server = Pair::ok_keys(&pair.a_events).unwrap();
    let client = Pair::ok_keys(&pair.p_events).unwrap();
    assert_eq!(server.send, SERVER_SEND_START_KEY);
    assert_eq!((client.send, client.receive), (server.receive, server.send));
    assert_ne!(server.send, server.receive);
}

#[test]
fn success_message_without_text_when_peer_flags_are_set() {
    for (flags, expect_text) in [(0u8, true), (1, false), (0x80, false)] {
        let method = AuthMethod::MsChapV2;
        let mut a = Authenticator::new(method, &config(&[method], "server", ""));
        let now = Instant::now();
        a.start(now, &mut fixed(&[[9].as_slice(), &AUTH_CHALLENGE].concat()));
        a.poll_transmit().unwrap();
        let mut r =
            MsChapV2Response::generate(&AUTH_CHALLENGE, &PEER_CHALLENGE, b"User", "clientPass");
        r.flags = flags;
        let value = r.to_bytes();
        let resp = ChapPacket::Response {
            identifier: 9,
            value: &value,
            name: b"User",
        };
        a.handle_packet(now, &resp.to_vec().unwrap(), &creds);
        let reply = a.poll_transmit().unwrap();
        assert_eq!(reply[0], CHAP_SUCCESS);
        let text = chap_message(&reply);
        let s = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
        if expect_text {
            assert_eq!(text, format!("{s} M=Access granted"));
        } else {
            assert_eq!(text, s, "flags {flags:#x}: S= alone");
        }
        assert!(matches!(a.poll_event(), Some(AuthEvent::AuthOk { .. })));
    }
}

#[test]
fn every_method_succeeds_and_keys_match() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV1,
        AuthMethod::MsChapV2,
    ] {
        let mut pair = Pair::new(method, "alice", "s3cret");
        pair.run(|_| {});
        let server = Pair::ok_keys(&pair.a_events);
        let client = Pair::ok_keys(&pair.p_events);
        match method {
            AuthMethod::Pap | AuthMethod::ChapMd5 => assert_eq!((server, client), (None, None)),
            AuthMethod::MsChapV1 => {
                let (s, c) = (server.unwrap(), client.unwrap());
                assert_eq!(s, c, "MS-CHAPv1: the same key both ways");
                assert_eq!(s.send, s.receive);
            }
            AuthMethod::MsChapV2 => {
                let (s, c) = (server.unwrap(), client.unwrap());
                assert_eq!((s.send, s.receive), (c.receive, c.send));
            }
        }
        match &pair.a_events[0] {
            AuthEvent::AuthOk { user, address, .. } => {
                assert_eq!(user, "alice");
                assert_eq!(*address, Some([10, 0, 0, 2].into()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pair.a.poll_timeout(), None);
        assert_eq!(pair.p.poll_timeout(), None);
    }
}

#[test]
fn wrong_password_fails_on_both_sides_with_clear_reasons() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV1,
        AuthMethod::MsChapV2,
    ] {
        let mut pair = Pair::new(method, "alice", "wrong");
        pair.run(|_| {});
        let server = Pair::failed(&pair.a_events);
        assert_eq!(
            server,
            AuthError::Denied {
                user: "alice".into(),
                why: "wrong password"
            }
        );
        let client = Pair::failed(&pair.p_events).to_string();
        let reply = pair.a_sent.last().unwrap();
        match method {
            AuthMethod::MsChapV2 => {
                let text = chap_message(reply);
                assert!(text.starts_with("E=691 R=0 C="), "{text}");
                assert!(text.ends_with(" V=3 M=Authentication failed"), "{text}");
                assert_eq!(
                    client,
                    "E=691 authentication failure: Authentication failed"
                );
            }
            AuthMethod::MsChapV1 => {
                assert!(chap_message(reply).starts_with("E=691 R=0 C="));
                assert_eq!(
                    client,
                    "E=691 authentication failure: Authentication failed"
                );
            }
            _ => assert!(client.contains("Authentication failed"), "{client}"),
        }
    }
    let mut pair = Pair::new(AuthMethod::MsChapV2, "mallory", "x");
    pair.run(|_| {});
    assert!(matches!(
        Pair::failed(&pair.a_events),
        AuthError::Denied {
            why: "unknown user",
            ..
        }
    ));
}

#[test]
fn tampered_authenticator_response_fails_mutual_authentication() {
    for tamper in [
        |p: &mut Vec<u8>| {
            // Change one hex digit of S=.
            let i = 4 + 2 + 5;
            p[i] = if p[i] == b'0' { b'1' } else { b'0' };
        },
        |p: &mut Vec<u8>| {
            // No S= at all.
            *p = ChapPacket::Success {
                identifier: p[1],
                message: b"M=Access granted",
            }
            .to_vec()
            .unwrap();
        },
    ] {
        let mut pair = Pair::new(AuthMethod::MsChapV2, "alice", "s3cret");
        pair.run(|p| {
            if p[0] == CHAP_SUCCESS {
                tamper(p);
            }
        });
        assert!(matches!(pair.a_events[0], AuthEvent::AuthOk { .. }));
        assert_eq!(Pair::failed(&pair.p_events), AuthError::MutualAuthFailed);
        assert!(!pair.p.succeeded());
    }
}

#[test]
fn domain_prefix_is_stripped_for_lookup_and_hash() {
    for method in [AuthMethod::Pap, AuthMethod::MsChapV2, AuthMethod::MsChapV1] {
        let mut pair = Pair::new(method, "CORP\\alice", "s3cret");
        pair.run(|_| {});
        for events in [&pair.a_events, &pair.p_events] {
            match events.as_slice() {
                [AuthEvent::AuthOk { user, .. }] => assert_eq!(user, "alice"),
                other => panic!("{method:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn lenient_failure_parsing() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"E=691 R=0 V=3 M=Authentication failed",
            "E=691 authentication failure: Authentication failed",
        ),
        (
            b"E=648 R=0 C=0123456789ABCDEF0123456789ABCDEF V=3 M=expired",
            "E=648 password expired: expired",
        ),
        (
            b"go away",
            "authentication rejected by the authenticator: go away",
        ),
    ];
    for (text, want) in cases {
        let mut pair = Pair::new(AuthMethod::MsChapV2, "alice", "s3cret");
        pair.run(|p| {
            if p[0] == CHAP_SUCCESS {
                *p = ChapPacket::Failure {
                    identifier: p[1],
                    message: text,
                }
                .to_vec()
                .unwrap();
            }
        });
        assert_eq!(Pair::failed(&pair.p_events).to_string(), want);
    }
}

mod retransmit;
