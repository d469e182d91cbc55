//! The client against in-memory servers: answers, identical resends,
//! failover and back, forged answers, and the accounting backlog.

use std::time::{Duration, Instant};

use super::*;
use crate::radius::packet::ms;

fn servers() -> Vec<Server> {
    vec![
        Server {
            addr: "198.51.100.1:1812".parse().unwrap(),
            secret: b"one".to_vec(),
        },
        Server {
            addr: "198.51.100.2:1812".parse().unwrap(),
            secret: b"two".to_vec(),
        },
    ]
}

fn client() -> Client {
    let mut c = Client::new(ClientConfig {
        servers: servers(),
        ..ClientConfig::default()
    });
    for i in 0..8u8 {
        c.add_randomness([i; 16]);
    }
    c
}

fn access(user: &str) -> Packet {
    let mut p = Packet::new(Code::AccessRequest, 0);
    p.add(attr::USER_NAME, user.as_bytes());
    p
}

fn accounting(session: &str) -> Packet {
    let mut p = Packet::new(Code::AccountingRequest, 0);
    p.add(attr::ACCT_SESSION_ID, session.as_bytes());
    p.add_u32(attr::ACCT_STATUS_TYPE, 1);
    p
}

/// What a server with `secret` answers to `req` (`code`), with a
/// Message-Authenticator unless `bare`.
fn answer(req: &[u8], secret: &[u8], code: Code, bare: bool) -> Vec<u8> {
    let r = Packet::parse(req).unwrap();
    let mut a = Packet::new(code, r.id);
    a.add_ms(ms::CHAP2_SUCCESS, b"\x01S=00");
    if bare {
        // Response Authenticator only, as RFC 2865 servers did.
        a.authenticator = r.authenticator;
        let mut b = a.to_vec().unwrap();
        let mut h = <md5::Md5 as md5::Digest>::new();
        md5::Digest::update(&mut h, &b);
        md5::Digest::update(&mut h, secret);
        let sum: [u8; 16] = md5::Digest::finalize(h).into();
        b[4..20].copy_from_slice(&sum);
        return b;
    }
    crypto::finish_response(&mut a, secret, r.authenticator).unwrap()
}

fn sent(c: &mut Client) -> Vec<(SocketAddr, Vec<u8>)> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn done(c: &mut Client) -> Vec<(Token, Outcome)> {
    std::iter::from_fn(|| c.poll_done()).collect()
}

#[test]
fn an_answer_completes_the_request_and_the_password_is_hidden() {
    let mut c = client();
    let t0 = Instant::now();
    let tok = c
        .send(t0, access("alice"), Some(b"s3cret".to_vec()))
        .unwrap();
    let out = sent(&mut c);
    assert_eq!(out.len(), 1);
    let (to, req) = &out[0];
    assert_eq!(*to, servers()[0].addr);
    let r = Packet::parse(req).unwrap();
    let hidden = r.get(attr::USER_PASSWORD).unwrap();
    assert_eq!(
        hidden,
        crypto::hide_password(b"s3cret", b"one", &r.authenticator)
    );
    assert!(r.get(attr::MESSAGE_AUTHENTICATOR).is_some());
    c.handle_datagram(*to, &answer(req, b"one", Code::AccessAccept, false));
    let d = done(&mut c);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, tok);
    let Outcome::Answer { packet, server, .. } = &d[0].1 else {
        panic!("{d:?}");
    };
    assert_eq!((packet.code, *server), (Code::AccessAccept, 0));
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn forged_bare_and_stray_answers_are_refused() {
    let mut c = client();
    let t0 = Instant::now();
    c.send(t0, access("alice"), None).unwrap();
    let (to, req) = sent(&mut c).remove(0);
    c.handle_datagram(to, &answer(&req, b"wrong", Code::AccessAccept, false));
    c.handle_datagram(to, &answer(&req, b"one", Code::AccessAccept, true));
    c.handle_datagram(
        servers()[1].addr,
        &answer(&req, b"one", Code::AccessAccept, false),
    );
    assert!(done(&mut c).is_empty());
    assert_eq!(c.stats.bad_answers, 3);
    // The genuine answer still completes it.
    c.handle_datagram(to, &answer(&req, b"one", Code::AccessReject, false));
    assert_eq!(done(&mut c).len(), 1);
}

#[test]
fn identical_resends_then_failover_and_back() {
    let mut c = client();
    let t0 = Instant::now();
    let tok = c.send(t0, access("alice"), Some(b"pw".to_vec())).unwrap();
    let first = sent(&mut c);
    let mut t = t0;
    for _ in 0..2 {
        t += Duration::from_secs(3);
        c.handle_timeout(t);
        assert_eq!(
            sent(&mut c),
            first,
            "a resend is identical (RFC 5080 §2.2.1)"
        );
    }
    t += Duration::from_secs(3);
    c.handle_timeout(t);
    let moved = sent(&mut c);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].0, servers()[1].addr);
    // Hidden anew with the second server's secret and authenticator.
    let r = Packet::parse(&moved[0].1).unwrap();
    assert_eq!(
        r.get(attr::USER_PASSWORD).unwrap(),
        crypto::hide_password(b"pw", b"two", &r.authenticator)
    );
    c.handle_datagram(
        moved[0].0,
        &answer(&moved[0].1, b"two", Code::AccessAccept, false),
    );
    assert!(matches!(&done(&mut c)[..], [(x, Outcome::Answer { server: 1, .. })] if *x == tok));
    assert_eq!(c.stats.failovers, 1);
    // The first server is skipped while dead...
    c.send(t, access("bob"), None).unwrap();
    assert_eq!(sent(&mut c)[0].0, servers()[1].addr);
    // ...and preferred again once `revive_after` has passed.
    let later = t + Duration::from_secs(61);
    c.send(later, access("carol"), None).unwrap();
    assert_eq!(sent(&mut c)[0].0, servers()[0].addr);
}

#[test]
fn with_no_server_answering_an_access_request_times_out() {
    let mut c = client();
    let t0 = Instant::now();
    let tok = c.send(t0, access("alice"), None).unwrap();
    let mut t = t0;
    let mut datagrams = sent(&mut c).len();
    for _ in 0..10 {
        t += Duration::from_secs(3);
        c.handle_timeout(t);
        datagrams += sent(&mut c).len();
    }
    assert_eq!(done(&mut c), vec![(tok, Outcome::TimedOut)]);
    // Three sends to each of the two servers.
    assert_eq!(datagrams, 6);
    assert_eq!(c.stats.timeouts, 1);
}

#[test]
fn accounting_waits_with_a_growing_delay_and_a_bounded_backlog() {
    let mut c = Client::new(ClientConfig {
        servers: servers(),
        max_pending: 4,
        ..ClientConfig::default()
    });
    let t0 = Instant::now();
    let first = c.send(t0, accounting("s1"), None).unwrap();
    let mut t = t0;
    let mut ids = Vec::new();
    for _ in 0..40 {
        for (_, b) in sent(&mut c) {
            let p = Packet::parse(&b).unwrap();
            ids.push((p.id, p.get_u32(attr::ACCT_DELAY_TIME)));
        }
        t += Duration::from_secs(3);
        c.handle_timeout(t);
    }
    assert!(done(&mut c).is_empty(), "accounting is never given up");
    // Every resend changed the delay and so the Identifier.
    let delays: Vec<u32> = ids.iter().filter_map(|(_, d)| *d).collect();
    assert!(delays.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(delays.last().is_some_and(|d| *d >= 60), "{ids:?}");
    // Five more records: the backlog holds four, the oldest goes.
    for i in 0..5 {
        c.send(t, accounting(&format!("s{}", i + 2)), None).unwrap();
    }
    assert_eq!(c.stats.acct_dropped, 2);
    // A server answers again: every record left completes.
    let mut answered = Vec::new();
    for _ in 0..40 {
        for (to, b) in sent(&mut c) {
            let secret = if to == servers()[0].addr {
                b"one"
            } else {
                b"two"
            };
            c.handle_datagram(to, &answer(&b, secret, Code::AccountingResponse, false));
        }
        answered.extend(done(&mut c).into_iter().map(|(tok, _)| tok));
        t += Duration::from_secs(3);
        c.handle_timeout(t);
    }
    assert_eq!(answered.len(), 4, "{answered:?}");
    assert!(!answered.contains(&first), "the oldest record was dropped");
    // An Accounting-Request's authenticator is MD5 over it (RFC 2866 §3).
    let tok = c.send(t, accounting("x"), None).unwrap();
    let (_, b) = sent(&mut c).remove(0);
    assert!(crypto::verify_md5_request(&b, b"one").is_ok());
    c.cancel(tok);
    assert_eq!(c.poll_timeout(), None);
}
