//! Client and server sessions end to end over clean and impaired links.

use std::time::Duration;

use super::testnet::*;
use super::*;
use crate::ppp::auth::AuthError;
use crate::ppp::ccp::KeyLength;
use crate::ppp::frame::{Frame, Protocol};

const METHODS: [AuthMethod; 4] = [
    AuthMethod::Pap,
    AuthMethod::ChapMd5,
    AuthMethod::MsChapV1,
    AuthMethod::MsChapV2,
];

/// No MPPE, then every key length in both modes for MS-CHAP.
fn modes(method: AuthMethod) -> Vec<Option<MppePolicy>> {
    let mut v = vec![None];
    if matches!(method, AuthMethod::MsChapV1 | AuthMethod::MsChapV2) {
        for key in [KeyLength::Bits40, KeyLength::Bits56, KeyLength::Bits128] {
            for stateless in [true, false] {
                v.push(Some(testnet::mppe(key, stateless)));
            }
        }
    }
    v
}

fn pair(method: AuthMethod, policy: Option<MppePolicy>, impair: Impair, seed: u64) -> Net {
    Net::new(
        client_cfg(method, policy, "alice", "s3cret"),
        server_cfg(method, policy),
        impair,
        seed,
    )
}

/// Send `n` packets each way, `gap` apart; what each side sent.
fn exchange(
    net: &mut Net,
    from: usize,
    n: usize,
    gap: Duration,
    strict: bool,
) -> [Vec<Vec<u8>>; 2] {
    let mut sent = [Vec::new(), Vec::new()];
    for i in from..from + n {
        let (c, s) = (packet(1, i), packet(2, i));
        let rc = net.client.send_ip(&c);
        let rs = net.server.send_ip(&s);
        if strict {
            assert_eq!((rc.clone(), rs.clone()), (Ok(()), Ok(())), "packet {i}");
        }
        if rc.is_ok() {
            sent[0].push(c);
        }
        if rs.is_ok() {
            sent[1].push(s);
        }
        net.run_for(gap);
    }
    net.run_for(Duration::from_millis(200));
    sent
}

fn check_up(net: &Net, policy: Option<MppePolicy>, label: &str) {
    let mtu = if policy.is_some() { 1496 } else { 1500 };
    let mode = policy.map(|p| MppeMode {
        key: KeyLength::strongest_in(p.keys()).unwrap(),
        stateless: p.stateless,
    });
    assert_eq!(
        last_up(&net.client_events),
        Some(&SessionEvent::Up {
            local_ip: ALICE_IP,
            remote_ip: Some(SERVER_IP),
            dns: [Some(DNS), None],
            mtu,
            mppe: mode,
        }),
        "{label}: client"
    );
    assert_eq!(
        last_up(&net.server_events),
        Some(&SessionEvent::Up {
            local_ip: SERVER_IP,
            remote_ip: Some(ALICE_IP),
            dns: [None, None],
            mtu,
            mppe: mode,
        }),
        "{label}: server"
    );
}

/// Data frames on the wire use MPPE exactly when it is negotiated.
fn check_wire(net: &Net, encrypted: bool, label: &str) {
    for side in [Side::Client, Side::Server] {
        let clear = net.sent(side, Protocol::IPV4).len();
        let mppe = net.sent(side, Protocol::COMPRESSED).len();
        if encrypted {
            assert_eq!(clear, 0, "{label}: {side:?} sent IPv4 in clear");
            assert!(mppe > 0, "{label}");
        } else {
            assert_eq!(mppe, 0, "{label}");
            assert!(clear > 0, "{label}");
        }
    }
}

#[test]
fn every_method_and_mppe_mode_on_a_clean_link() {
    for method in METHODS {
        for policy in modes(method) {
            let label = format!("{method:?} {policy:?}");
            let mut net = pair(method, policy, CLEAN, 1);
            assert!(
                net.run_until(Duration::from_secs(10), Net::both_up),
                "{label}"
            );
            check_up(&net, policy, &label);
            let sent = exchange(&mut net, 0, 40, Duration::from_millis(20), true);
            assert_eq!(net.server_ip, sent[0], "{label}: client to server");
            assert_eq!(net.client_ip, sent[1], "{label}: server to client");
            check_wire(&net, policy.is_some(), &label);
            assert_eq!(down_reason(&net.client_events), None, "{label}");
        }
    }
}

#[test]
fn every_method_and_mppe_mode_on_a_lossy_link() {
    // A few link histories; every combination gets its own.
    for base in 0..3u64 {
        let mut seed = 1000 * base + 100;
        for method in METHODS {
            for policy in modes(method) {
                seed += 1;
                let label = format!("{method:?} {policy:?} seed {seed}");
                let mut net = pair(method, policy, LOSSY, seed);
                assert!(
                    net.run_until(Duration::from_secs(300), Net::both_up),
                    "{label}: {net:?}"
                );
                check_up(&net, policy, &label);
                // Under loss (and renegotiations it causes), until 20 packets
                // made it each way: only packets that were sent, and with MPPE
                // (which drops duplicates and late packets) in order.
                let mut sent = [Vec::new(), Vec::new()];
                let mut n = 0;
                while (net.server_ip.len() < 20 || net.client_ip.len() < 20) && n < 1000 {
                    let [c, s] = exchange(&mut net, n, 10, Duration::from_millis(50), false);
                    sent[0].extend(c);
                    sent[1].extend(s);
                    n += 10;
                }
                for (got, sent, dir) in [
                    (&net.server_ip, &sent[0], "c2s"),
                    (&net.client_ip, &sent[1], "s2c"),
                ] {
                    assert!(
                        got.len() >= 20,
                        "{label} {dir}: {} of {}",
                        got.len(),
                        sent.len()
                    );
                    assert!(
                        got.iter().all(|p| sent.contains(p)),
                        "{label} {dir}: corrupted"
                    );
                    if policy.is_some() {
                        let mut rest = sent.iter();
                        let ordered = got.iter().all(|p| rest.any(|q| q == p));
                        assert!(ordered, "{label} {dir}: replayed or out of order");
                    }
                }
                // Clean again: after at most a resynchronisation, every packet.
                net.impair = CLEAN;
                assert!(
                    net.run_until(Duration::from_secs(60), Net::both_up),
                    "{label}"
                );
                for from in 1000..1010 {
                    let (c, s) = (net.server_ip.len(), net.client_ip.len());
                    exchange(&mut net, from, 1, Duration::from_secs(1), false);
                    if net.server_ip.len() > c && net.client_ip.len() > s {
                        break;
                    }
                }
                net.client_ip.clear();
                net.server_ip.clear();
                let sent = exchange(&mut net, 2000, 20, Duration::from_millis(20), true);
                assert_eq!(net.server_ip, sent[0], "{label}: c2s after recovery");
                assert_eq!(net.client_ip, sent[1], "{label}: s2c after recovery");
                check_wire(&net, policy.is_some(), &label);
            }
        }
    }
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} / {:?}", self.client, self.server)
    }
}

/// A data frame's MPPE payload, if `frame` is one.
fn is_mppe(frame: &[u8]) -> bool {
    Frame::parse(frame).is_ok_and(|f| f.protocol == Protocol::COMPRESSED)
}

/// A frame that is a CCP packet with `code`.
fn is_ccp(frame: &[u8], code: u8) -> bool {
    packet_of(frame, Protocol::CCP).is_some_and(|(c, _)| c == code)
}

/// The code and identifier of a control packet of `protocol` in `frame`.
fn packet_of(frame: &[u8], protocol: Protocol) -> Option<(u8, u8)> {
    let f = Frame::parse(frame).ok()?;
    match f.payload {
        [code, id, ..] if f.protocol == protocol => Some((*code, *id)),
        _ => None,
    }
}

/// With MPPE required, IPCP starts only once CCP is Opened. pppd with
/// `require-mppe` opens IPCP only then and answers an earlier IPCP packet
/// with a Terminate-Ack; here the client loses every IPCP packet of the
/// server that comes before its CCP can be Opened (both Configure-Acks
/// sent). The server's IPCP request must not be one of them, or IPCP
/// waits for its restart timer (3 s).
#[test]
fn ipcp_waits_for_ccp_when_mppe_is_required() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, true));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 7);
    let start = net.now;
    let mut acked = [false; 2];
    net.drop_hook = Box::new(move |side, f| {
        if is_ccp(f, 2) {
            acked[usize::from(side == Side::Server)] = true;
        }
        side == Side::Server && packet_of(f, Protocol::IPCP).is_some() && acked != [true; 2]
    });
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    let took = net.now - start;
    assert!(took < Duration::from_secs(1), "up after {took:?}");
    check_up(&net, policy, "held NCPs");
}

/// A peer that starts IPCP before CCP is Opened (Windows does) starts the
/// held IPCP with its first packet: the request is answered and ours goes
/// out with the answer.
#[test]
fn a_peers_ipcp_request_starts_the_held_ipcp() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, true));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 7);
    // The server's CCP never opens: the client's CCP packets are lost.
    net.drop_hook =
        Box::new(|side, f| side == Side::Client && packet_of(f, Protocol::CCP).is_some());
    assert!(net.run_until(Duration::from_secs(5), |n| {
        !n.sent(Side::Server, Protocol::CCP).is_empty()
    }));
    net.run_for(Duration::from_millis(500));
    assert!(
        net.sent(Side::Server, Protocol::IPCP).is_empty(),
        "IPCP went out before CCP was Opened"
    );
    let before = net.wire.len();
    net.server.handle_frame(net.now, &EARLY_IPCP_REQUEST);
    net.collect();
    let sent: Vec<(u8, u8)> = net.wire[before..]
        .iter()
        .filter(|(side, _)| *side == Side::Server)
        .filter_map(|(_, f)| packet_of(f, Protocol::IPCP))
        .collect();
    assert!(
        sent.iter().any(|&(code, _)| code == 1),
        "its own request: {sent:?}"
    );
    assert!(
        sent.iter()
            .any(|&(code, id)| (2..=4).contains(&code) && id == 0x42),
        "the peer's request answered: {sent:?}"
    );
}

#[test]
fn stateful_mppe_recovers_after_loss_via_reset_request() {
    let policy = Some(testnet::mppe(KeyLength::Bits128, false));
    let mut net = pair(AuthMethod::MsChapV2, policy, CLEAN, 7);
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    // Lose the 6th encrypted packet from the client, and the first
    // Reset-Request the server sends.
    let (mut data, mut resets) = (0, 0);
    net.drop_hook = Box::new(move |side, f| match side {
        Side::Client if is_mppe(f) => {
            data += 1;
            data == 6
        }
        Side::Server if is_ccp(f, 14) => {
            resets += 1;
            resets == 1
        }
        _ => false,
    });
    let sent = exchange(&mut net, 0, 10, Duration::from_millis(20), true);
    // 5 arrive; 6 is lost; 7-10 are dropped while the server waits for a
    // flushed packet: its first Reset-Request was lost.
    assert_eq!(net.server_ip, sent[0][..5]);
    assert_eq!(
        net.sent(Side::Server, Protocol::CCP)
            .iter()
            .filter(|p| p[0] == 14)
            .count(),
        1
    );
    // Later, the next discarded packet repeats the Reset-Request;
    // the client flushes and everything after that arrives.
    net.run_for(Duration::from_secs(3));
    let more = exchange(&mut net, 10, 10, Duration::from_millis(50), true);
    let resets = net.sent(Side::Server, Protocol::CCP);
    assert_eq!(
        resets.iter().filter(|p| p[0] == 14).count(),
        2,
        "Reset-Request repeated"
    );
    assert_eq!(
        net.server_ip[5..],
        more[0][1..],
        "packets after the reset arrive"
    );
    assert_eq!(net.client_ip, [sent[1].clone(), more[1].clone()].concat());
    // The flushed packet carries the A bit (RFC 3078 §3.1).
    let flushed: Vec<_> = net
        .sent(Side::Client, Protocol::COMPRESSED)
        .into_iter()
        .filter(|p| p[0] & 0x80 != 0)
        .collect();
    assert_eq!(flushed.len(), 1);
    // The Reset-Request that arrived got a Reset-Ack with its identifier:
    // a peer whose decrypter is Linux's decrypts nothing until then.
    let second_reset = resets.iter().filter(|p| p[0] == 14).nth(1).expect("repeat");
    let acks: Vec<_> = net
        .sent(Side::Client, Protocol::CCP)
        .into_iter()
        .filter(|p| p[0] == 15)
        .collect();
    assert_eq!(
        acks.len(),
        1,
        "one Reset-Ack for the one Reset-Request that arrived"
    );
    assert_eq!(
        acks[0][1], second_reset[1],
        "the Reset-Request's identifier"
    );
}

mod failures;

#[test]
fn session_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Session>();
}

/// The LCP packets a session has queued, as (code, identifier).
fn lcp_sent(s: &mut Session) -> Vec<(u8, u8)> {
    std::iter::from_fn(|| s.poll_transmit())
        .filter_map(|f| packet_of(&f, Protocol::LCP))
        .collect()
}

/// A server says nothing until the peer's first LCP packet (its first
/// Configure-Request would be lost on a PNS that binds its GRE only
/// after the Outgoing-Call-Reply), then answers it and sends its own at
/// once; a peer that says nothing gets the server's request after
/// `SERVER_LCP_WAIT`, and the restart timer's retries from there.
#[test]
fn a_server_starts_lcp_when_the_peer_speaks_or_after_its_wait() {
    let t0 = Instant::now();
    let cfg = || server_cfg(AuthMethod::MsChapV2, None);
    let mut s = Session::server(cfg(), t0, rng(1), credentials());
    assert!(
        lcp_sent(&mut s).is_empty(),
        "nothing before the peer speaks"
    );
    assert_eq!(s.poll_timeout(), Some(t0 + SERVER_LCP_WAIT));
    // The peer's Configure-Request (no options) 10 ms later.
    let now = t0 + Duration::from_millis(10);
    s.handle_frame(now, &[0xff, 0x03, 0xc0, 0x21, 1, 7, 0, 4]);
    let sent = lcp_sent(&mut s);
    assert!(
        sent.iter().any(|&(code, _)| code == 1),
        "its own request: {sent:?}"
    );
    assert!(sent.contains(&(2, 7)), "the peer's request acked: {sent:?}");

    let mut quiet = Session::server(cfg(), t0, rng(2), credentials());
    quiet.handle_timeout(t0 + SERVER_LCP_WAIT - Duration::from_millis(1));
    assert!(lcp_sent(&mut quiet).is_empty());
    quiet.handle_timeout(t0 + SERVER_LCP_WAIT);
    let sent = lcp_sent(&mut quiet);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 1, "a Configure-Request");
    assert!(
        quiet.poll_timeout() > Some(t0 + SERVER_LCP_WAIT),
        "restart timer armed"
    );
}
