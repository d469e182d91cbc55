//! Echo keepalive (RFC 2637 §3.1.4): Echo-Request after 60 s without a
//! control message, connection lost 60 s later if nothing comes back.

use std::time::Duration;

use super::ControlEvent as Ev;
use super::Error;
use super::testutil::{Pair, drain_bytes, drain_messages, feed, ids};
use crate::wire::pptp::{ControlType, Message};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn is_echo_request(m: &[Message]) -> bool {
    matches!(m, [Message::EchoRequest { .. }])
}

#[test]
fn silent_peer_is_lost_after_two_minutes() {
    let mut p = Pair::established(&[1]);
    assert_eq!(p.client.open_call(&mut ids(&[5]), p.now), Ok(5));
    p.pump();
    p.server.accept_call(5, 6).expect("pending call");
    p.pump();
    p.client_events();
    p.server_events();
    assert_eq!(p.client.poll_timeout(), Some(p.t0 + secs(60)));

    p.at(secs(60) - Duration::from_millis(1));
    assert_eq!(p.client.poll_transmit(), None);
    p.at(secs(60));
    // Both ends heard nothing for 60 s; the server is silenced from here.
    assert!(is_echo_request(&drain_messages(&mut p.client)));
    assert!(is_echo_request(&drain_messages(&mut p.server)));
    assert_eq!(p.client.poll_timeout(), Some(p.t0 + secs(120)));

    p.at(secs(119));
    assert!(p.client.is_established());
    assert!(p.client_events().is_empty());
    p.at(secs(120));
    let lost = Error::Timeout(ControlType::EchoReply);
    let down = Ev::CallDown {
        call_id: 5,
        peer_call_id: Some(6),
        reason: super::CallDownReason::ConnectionClosed,
    };
    let closed = Ev::Closed { error: Some(lost) };
    assert_eq!(p.client_events(), [Ev::ConnectionLost, down, closed]);
    assert!(p.client.is_closed());
    assert_eq!(p.client.poll_transmit(), None);
}

#[test]
fn echo_replies_keep_the_connection() {
    let mut p = Pair::established(&[3]);
    let mut requests = 0;
    for minute in 1..=10u64 {
        p.at(secs(60 * minute));
        // Count what goes out while delivering it.
        let to_server = drain_bytes(&mut p.client);
        let to_client = drain_bytes(&mut p.server);
        requests += usize::from(!to_server.is_empty()) + usize::from(!to_client.is_empty());
        feed(&mut p.server, p.now, &to_server, &[3]);
        feed(&mut p.client, p.now, &to_client, &[3]);
        p.pump();
        assert!(p.client.is_established() && p.server.is_established());
        assert!(p.client_events().is_empty() && p.server_events().is_empty());
    }
    // Each side asked each minute: the request, answered, reset the timer.
    assert_eq!(requests, 20);
}

#[test]
fn any_message_counts_as_an_answer() {
    let mut p = Pair::established(&[usize::MAX]);
    p.at(secs(60));
    assert!(is_echo_request(&drain_messages(&mut p.client)));
    drain_messages(&mut p.server);
    // No Echo-Reply, but the server says something else at 90 s.
    p.now = p.t0 + secs(90);
    let sli = Message::SetLinkInfo {
        peer_call_id: 1,
        send_accm: 0,
        receive_accm: 0,
    };
    p.client.handle_bytes(p.now, &sli.to_bytes());
    p.client_events();
    p.at(secs(120));
    assert!(p.client.is_established());
    assert_eq!(p.client.poll_transmit(), None);
    assert_eq!(p.client.poll_timeout(), Some(p.t0 + secs(150)));
    p.at(secs(150));
    assert!(is_echo_request(&drain_messages(&mut p.client)));
}

#[test]
fn traffic_defers_the_echo() {
    let mut p = Pair::established(&[usize::MAX]);
    p.now = p.t0 + secs(30);
    assert_eq!(p.client.open_call(&mut ids(&[1]), p.now), Ok(1));
    p.pump();
    p.at(secs(60));
    assert_eq!(p.server.poll_transmit(), None);
    assert_eq!(p.server.poll_timeout(), Some(p.t0 + secs(60 + 30)));
}
