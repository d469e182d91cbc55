//! IPv6 over the link (RFC 5072): IPV6CP beside IPCP in both roles, IPv6
//! packets in clear and inside MPPE, and a peer without IPv6.

use std::time::Duration;

use super::testnet::*;
use super::{SessionError, SessionEvent};
use crate::ppp::auth::AuthMethod;
use crate::ppp::ccp::KeyLength;
use crate::ppp::frame::Protocol;
use crate::ppp::ipv6cp::Ipv6cpConfig;
use crate::wire::nd::RouterAdvert;

const SERVER_ID: u64 = 0x0000_0000_0000_0001;

fn v6(cfg: &mut super::SessionConfig, local: Option<u64>) {
    cfg.ipv6 = Some(Ipv6cpConfig {
        local,
        ..Ipv6cpConfig::default()
    });
}

/// An IPv6-looking packet (version 6) carrying `tag` and `n`.
fn packet6(tag: u8, n: usize) -> Vec<u8> {
    let mut p = packet(tag, n);
    p[0] = 0x60;
    p
}

fn ipv6_up(events: &[SessionEvent]) -> Option<(u64, Option<u64>)> {
    events.iter().find_map(|e| match e {
        SessionEvent::Ipv6Up {
            local_id,
            remote_id,
        } => Some((*local_id, *remote_id)),
        _ => None,
    })
}

fn net(mppe_on: bool, client_v6: bool, server_v6: bool, impair: Impair) -> Net {
    let policy = mppe_on.then(|| mppe(KeyLength::Bits128, true));
    let mut c = client_cfg(AuthMethod::MsChapV2, policy, "bob", "hunter2");
    let mut s = server_cfg(AuthMethod::MsChapV2, policy);
    if client_v6 {
        v6(&mut c, None);
    }
    if server_v6 {
        v6(&mut s, Some(SERVER_ID));
    }
    Net::new(c, s, impair, 0x6)
}

#[test]
fn ipv6_flows_both_ways_in_clear_and_inside_mppe() {
    for mppe_on in [false, true] {
        for impair in [CLEAN, LOSSY] {
            let mut n = net(mppe_on, true, true, impair);
            let ok = n.run_until(Duration::from_secs(60), |n| {
                n.client.is_ipv6_up() && n.server.is_ipv6_up()
            });
            assert!(ok, "mppe {mppe_on} {impair:?}: IPv6 never came up");
            let (c_local, c_remote) = ipv6_up(&n.client_events).unwrap();
            let (s_local, s_remote) = ipv6_up(&n.server_events).unwrap();
            assert_eq!(s_local, SERVER_ID);
            assert_eq!(c_remote, Some(SERVER_ID));
            assert_eq!(s_remote, Some(c_local));
            assert!(c_local != 0 && c_local != SERVER_ID);
            // `Ipv6Up` comes after `Up`.
            let pos = |ev: &[SessionEvent], f: fn(&SessionEvent) -> bool| ev.iter().position(f);
            let up = pos(&n.client_events, |e| matches!(e, SessionEvent::Up { .. }));
            let up6 = pos(&n.client_events, |e| {
                matches!(e, SessionEvent::Ipv6Up { .. })
            });
            assert!(up < up6, "{:?}", n.client_events);

            let wanted = if impair.loss == 0 { 20 } else { 200 };
            for i in 0..wanted {
                n.client.send_ip(&packet6(1, i)).unwrap();
                n.server.send_ip(&packet6(2, i)).unwrap();
                n.client.send_ip(&packet(3, i)).unwrap();
                n.run_for(Duration::from_millis(2));
            }
            n.run_for(Duration::from_secs(1));
            for (got, tag6, tag4) in [(&n.server_ip, 1, 3), (&n.client_ip, 2, 0)] {
                let v6: Vec<_> = got.iter().filter(|p| p[0] >> 4 == 6).collect();
                assert!(v6.iter().all(|p| p[1] == tag6));
                if impair.loss == 0 {
                    assert_eq!(v6.len(), wanted, "mppe {mppe_on}");
                    let expect: Vec<_> = (0..wanted).map(|i| packet6(tag6, i)).collect();
                    assert_eq!(v6.into_iter().cloned().collect::<Vec<_>>(), expect);
                } else {
                    assert!(v6.len() > wanted / 2, "mppe {mppe_on}: {}", v6.len());
                }
                if tag4 != 0 {
                    assert!(got.iter().any(|p| p[0] == 0x45 && p[1] == tag4));
                }
            }
            let clear6 = n.sent(Side::Client, Protocol::IPV6).len()
                + n.sent(Side::Server, Protocol::IPV6).len();
            if mppe_on {
                assert_eq!(clear6, 0, "IPv6 left MPPE");
            } else {
                assert!(clear6 >= 2 * wanted);
            }
        }
    }
}

#[test]
fn a_peer_without_ipv6_leaves_the_link_ipv4_only() {
    let mut n = net(true, true, false, CLEAN);
    assert!(n.run_until(Duration::from_secs(10), |n| n.both_up()));
    n.run_for(Duration::from_secs(5));
    assert!(n.both_up());
    assert!(!n.client.is_ipv6_up());
    assert_eq!(ipv6_up(&n.client_events), None);
    assert_eq!(down_reason(&n.client_events), None);
    // The server Protocol-Rejects IPV6CP (LCP code 8, RFC 1661 §5.7).
    let rejects = n.sent(Side::Server, Protocol::LCP);
    assert!(
        rejects
            .iter()
            .any(|p| p[0] == 8 && p.get(4..6) == Some(&[0x80, 0x57]))
    );
    assert_eq!(
        n.client.send_ip(&packet6(1, 0)),
        Err(SessionError::Ipv6NotUp)
    );
    assert_eq!(n.client.send_ip(&packet(1, 0)), Ok(()));
    assert_eq!(n.client.send_ip(&[0x10, 0, 0]), Err(SessionError::NotIp));
    assert_eq!(n.client.send_ip(&[]), Err(SessionError::NotIp));
}

#[test]
fn ipv6_from_a_peer_that_never_negotiated_it_is_rejected_not_delivered() {
    let mut n = net(false, false, true, CLEAN);
    assert!(n.run_until(Duration::from_secs(10), |n| n.both_up()));
    n.run_for(Duration::from_secs(5));
    assert!(!n.server.is_ipv6_up());
    // Sent straight to the server as protocol 0x0057.
    let now = n.now;
    let mut frame = vec![0x00, 0x57];
    frame.extend(packet6(9, 1));
    n.server.handle_frame(now, &frame);
    n.collect();
    assert!(n.server_ip.iter().all(|p| p[0] >> 4 != 6));
    // The client, not running IPv6, Protocol-Rejected the server's IPV6CP.
    let rejects = n.sent(Side::Client, Protocol::LCP);
    assert!(
        rejects
            .iter()
            .any(|p| p[0] == 8 && p.get(4..6) == Some(&[0x80, 0x57]))
    );
}

/// The server's advertisement, its MTU option left to the session.
fn advert() -> RouterAdvert {
    RouterAdvert {
        mtu: None,
        dns_lifetime: 1800,
        ..crate::wire::nd::tests::sample()
    }
}

fn adverts(events: &[SessionEvent]) -> Vec<(std::net::Ipv6Addr, RouterAdvert)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::RouterAdvert { router, ra } => Some((*router, ra.clone())),
            _ => None,
        })
        .collect()
}

/// IPv6 packets on the wire (in clear) that are ICMPv6 of `kind`.
fn icmp6_sent(n: &Net, side: Side, kind: u8) -> usize {
    n.sent(side, Protocol::IPV6)
        .iter()
        .filter(|p| p.get(6) == Some(&58) && p.get(40) == Some(&kind))
        .count()
}

#[test]
fn the_client_solicits_and_takes_the_servers_advertisement() {
    let mut n = net(false, true, true, CLEAN);
    n.client.cfg.solicit = true;
    n.server.cfg.advertise = Some(advert());
    assert!(n.run_until(Duration::from_secs(10), |n| {
        !adverts(&n.client_events).is_empty()
    }));
    let got = adverts(&n.client_events);
    let (router, ra) = &got[0];
    assert_eq!(*router, crate::ppp::ipv6cp::link_local(SERVER_ID));
    assert_eq!(ra.prefixes, advert().prefixes);
    assert_eq!(ra.dns, advert().dns);
    // The MTU option is the server's link MTU: the client's MRU.
    assert_eq!(ra.mtu, Some(1500));
    assert!(icmp6_sent(&n, Side::Client, 133) >= 1);
    // Neighbor discovery stays inside the sessions.
    assert!(n.client_ip.is_empty() && n.server_ip.is_empty());
    // Three initial advertisements 16 s apart, then one every 600 s; the
    // client stops soliciting once answered.
    n.run_for(Duration::from_secs(40));
    let initial = icmp6_sent(&n, Side::Server, 134);
    assert!((3..=4).contains(&initial), "{initial}");
    assert_eq!(icmp6_sent(&n, Side::Client, 133), 1);
    n.run_for(Duration::from_secs(600));
    assert_eq!(icmp6_sent(&n, Side::Server, 134), initial + 1);
    assert_eq!(adverts(&n.client_events).len(), initial + 1);
}

#[test]
fn a_client_without_an_answer_solicits_three_times_four_seconds_apart() {
    let mut n = net(true, true, true, CLEAN);
    n.client.cfg.solicit = true;
    assert!(n.run_until(Duration::from_secs(10), |n| n.client.is_ipv6_up()));
    n.run_for(Duration::from_secs(30));
    // Inside MPPE: count what the server received instead of the wire.
    let rs: Vec<_> = n
        .server_ip
        .iter()
        .filter(|p| crate::wire::nd::is_router_solicitation(p))
        .collect();
    assert_eq!(rs.len(), 3);
    assert!(adverts(&n.client_events).is_empty());
}

/// IPCP renegotiating (the peer sends a Configure-Request on an open link)
/// takes the link down while IPV6CP stays open: IPv6 that arrives then is
/// not delivered, as none may be sent (found by the `ppp_session` fuzzer).
#[test]
fn no_ipv6_delivered_while_the_link_is_down() {
    let mut n = net(false, true, true, CLEAN);
    assert!(n.run_until(Duration::from_secs(60), |n| {
        n.client.is_ipv6_up() && n.server.is_ipv6_up()
    }));
    let now = n.now;
    let v6_frame = |tag| {
        let mut f = vec![0xff, 0x03, 0x00, 0x57];
        f.extend(packet6(tag, 1));
        f
    };
    n.server.handle_frame(now, &v6_frame(7));
    assert_eq!(
        n.server.poll_ip(),
        Some(packet6(7, 1)),
        "delivered while up"
    );
    // An IPCP Configure-Request without options: IPCP leaves Opened.
    n.server
        .handle_frame(now, &[0xff, 0x03, 0x80, 0x21, 1, 0x42, 0, 4]);
    assert!(!n.server.is_ipv6_up());
    n.server.handle_frame(now, &v6_frame(8));
    while let Some(p) = n.server.poll_ip() {
        assert_ne!(p[0] >> 4, 6, "IPv6 delivered while the link is down");
    }
}
