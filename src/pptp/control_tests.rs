//! A PNS and a PAC back to back: start, stop, keepalive-free errors and
//! arbitrary input.

use std::time::Duration;

use super::testutil::{CHUNKINGS, Lcg, Pair, drain_events, drain_messages, feed, two_calls};
use super::{CallDownReason as Why, Control, ControlEvent as Ev, Error, State};
use crate::wire::pptp::{ControlType, Message, StartControl};

#[test]
fn establishes_in_any_chunking() {
    for chunks in CHUNKINGS {
        let mut p = Pair::new(chunks);
        let sccrq = drain_messages(&mut p.client);
        let [Message::StartControlConnectionRequest(s)] = sccrq.as_slice() else {
            panic!("client starts with SCCRQ alone: {sccrq:?}");
        };
        assert_eq!(s.protocol_version, 0x0100);
        assert_eq!((s.framing_capabilities, s.bearer_capabilities), (3, 3));
        assert_eq!(s.host_name.as_bytes(), b"pns");
        feed(
            &mut p.server,
            p.now,
            &Message::StartControlConnectionRequest(*s).to_bytes(),
            chunks,
        );
        p.pump();
        let [Ev::Established { peer }] = p.client_events()[..] else {
            panic!("client not established");
        };
        assert_eq!((peer.host_name.as_bytes(), peer.result), (&b"pac"[..], 1));
        let [Ev::Established { peer }] = p.server_events()[..] else {
            panic!("server not established");
        };
        assert_eq!(peer.host_name.as_bytes(), b"pns");
        assert!(p.client.is_established() && p.server.is_established());
        assert_eq!(p.client.peer_info().map(|s| s.result), Some(1));
        assert_eq!(
            p.client.poll_timeout(),
            Some(p.t0 + Duration::from_secs(60))
        );
    }
}

#[test]
fn client_stops_the_connection() {
    for chunks in CHUNKINGS {
        let mut p = two_calls(chunks);
        p.client.stop(p.now);
        assert_eq!(p.client.state(), State::WaitStopReply);
        let down = |call_id, peer| Ev::CallDown {
            call_id,
            peer_call_id: Some(peer),
            reason: Why::ConnectionClosed,
        };
        assert_eq!(p.client_events(), [down(100, 0), down(200, 7)]);
        p.pump();
        assert_eq!(
            p.server_events(),
            [down(0, 100), down(7, 200), Ev::Closed { error: None }]
        );
        assert_eq!(p.client_events(), [Ev::Closed { error: None }]);
        assert!(p.client.is_closed() && p.server.is_closed());
        assert_eq!(
            (p.client.poll_timeout(), p.server.poll_timeout()),
            (None, None)
        );
        // Nothing more is read once closed.
        p.client
            .handle_bytes(p.now, &Message::EchoRequest { identifier: 1 }.to_bytes());
        assert_eq!(p.client.poll_transmit(), None);
    }
}

#[test]
fn server_stops_the_connection() {
    let mut p = Pair::established(&[2]);
    p.server.stop(p.now);
    p.server.stop(p.now); // once is enough
    p.pump();
    assert_eq!(p.client_events(), [Ev::Closed { error: None }]);
    assert_eq!(p.server_events(), [Ev::Closed { error: None }]);
}

#[test]
fn stop_reply_times_out() {
    let mut p = Pair::established(&[usize::MAX]);
    p.client.stop(p.now);
    p.at(Duration::from_secs(59));
    assert_eq!(p.client.state(), State::WaitStopReply);
    p.at(Duration::from_secs(60));
    let timeout = Error::Timeout(ControlType::StopControlConnectionReply);
    assert_eq!(
        p.client_events(),
        [Ev::Closed {
            error: Some(timeout)
        }]
    );
}

#[test]
fn start_times_out() {
    let mut p = Pair::new(&[1]);
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.t0 + Duration::from_secs(60))
    );
    p.at(Duration::from_secs(60));
    let e = |t| {
        [Ev::Closed {
            error: Some(Error::Timeout(t)),
        }]
    };
    assert_eq!(
        p.server_events(),
        e(ControlType::StartControlConnectionRequest)
    );
    assert_eq!(
        p.client_events(),
        e(ControlType::StartControlConnectionReply)
    );
}

#[test]
fn start_refused_or_old_version() {
    let now = std::time::Instant::now();
    let mut c = Control::client(Default::default(), now);
    let reply = StartControl {
        protocol_version: 0x0100,
        result: 2,
        error: 4,
        ..Default::default()
    };
    c.handle_bytes(now, &Message::StartControlConnectionReply(reply).to_bytes());
    let rejected = Error::StartRejected {
        result: 2,
        error: 4,
    };
    assert_eq!(
        drain_events(&mut c),
        [Ev::Closed {
            error: Some(rejected)
        }]
    );

    let mut s = Control::server(Default::default(), now);
    let old = StartControl {
        protocol_version: 0x00ff,
        ..Default::default()
    };
    s.handle_bytes(now, &Message::StartControlConnectionRequest(old).to_bytes());
    assert!(
        matches!(drain_messages(&mut s)[..], [Message::StartControlConnectionReply(r)] if r.result == 5)
    );
    assert_eq!(
        drain_events(&mut s),
        [Ev::Closed {
            error: Some(Error::BadVersion(0xff))
        }]
    );
}

#[test]
fn unexpected_messages() {
    let now = std::time::Instant::now();
    let mut s = Control::server(Default::default(), now);
    s.handle_bytes(now, &Message::CallClearRequest { call_id: 1 }.to_bytes());
    let unexpected = Error::Unexpected(ControlType::CallClearRequest);
    assert_eq!(
        drain_events(&mut s),
        [Ev::Closed {
            error: Some(unexpected)
        }]
    );

    // A second SCCRQ on an established connection.
    let mut p = Pair::established(&[usize::MAX]);
    let again = Message::StartControlConnectionRequest(StartControl::default());
    p.server.handle_bytes(p.now, &again.to_bytes());
    let unexpected = Error::Unexpected(ControlType::StartControlConnectionRequest);
    assert_eq!(
        p.server_events(),
        [Ev::Closed {
            error: Some(unexpected)
        }]
    );

    // Messages for the other role or for no call are ignored.
    let mut p = Pair::established(&[usize::MAX]);
    let cdn = Message::CallDisconnectNotify(Default::default());
    p.server.handle_bytes(p.now, &cdn.to_bytes());
    p.client.handle_bytes(p.now, &cdn.to_bytes());
    p.client
        .handle_bytes(p.now, &Message::CallClearRequest { call_id: 3 }.to_bytes());
    p.server
        .handle_bytes(p.now, &Message::CallClearRequest { call_id: 3 }.to_bytes());
    p.client.handle_bytes(
        p.now,
        &Message::OutgoingCallReply(Default::default()).to_bytes(),
    );
    assert!(p.client_events().is_empty() && p.server_events().is_empty());
    assert!(p.client.is_established() && p.server.is_established());
    // The PNS refuses calls offered to it.
    p.client.handle_bytes(
        p.now,
        &Message::IncomingCallRequest(Default::default()).to_bytes(),
    );
    assert!(
        matches!(drain_messages(&mut p.client)[..], [Message::IncomingCallReply(r)] if r.result == 3)
    );
}

#[test]
fn echo_set_link_info_and_wan_error() {
    let mut p = Pair::established(&[usize::MAX]);
    p.server.handle_bytes(
        p.now,
        &Message::EchoRequest {
            identifier: 0xdead_beef,
        }
        .to_bytes(),
    );
    let reply = Message::EchoReply {
        identifier: 0xdead_beef,
        result: 1,
        error: 0,
    };
    assert_eq!(drain_messages(&mut p.server), [reply]);
    let sli = Message::SetLinkInfo {
        peer_call_id: 5,
        send_accm: 0,
        receive_accm: u32::MAX,
    };
    p.server.handle_bytes(p.now, &sli.to_bytes());
    p.client.handle_bytes(
        p.now,
        &Message::WanErrorNotify(Default::default()).to_bytes(),
    );
    let info = Ev::LinkInfo {
        call_id: 5,
        send_accm: 0,
        receive_accm: u32::MAX,
    };
    assert_eq!(p.server_events(), [info]);
    assert!(p.client_events().is_empty());
    assert_eq!(p.client.poll_transmit(), None);
}

#[test]
fn garbage_closes_with_an_error() {
    let mut p = Pair::established(&[usize::MAX]);
    p.server
        .handle_bytes(p.now, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(
        p.server_events()[..],
        [Ev::Closed {
            error: Some(Error::Malformed(_))
        }]
    ));
    assert!(p.server.is_closed());

    // A valid header announcing a wrong length.
    let mut b = Message::EchoRequest { identifier: 1 }.to_bytes();
    b[1] = 17;
    p.client.handle_bytes(p.now, &b);
    assert!(matches!(
        p.client_events()[..],
        [Ev::Closed {
            error: Some(Error::Malformed(_))
        }]
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Lcg(0x5eed_1723);
    let valid: Vec<u8> = [
        Message::EchoRequest { identifier: 3 },
        Message::OutgoingCallRequest(Default::default()),
        Message::CallClearRequest { call_id: 0 },
        Message::CallDisconnectNotify(Default::default()),
        Message::OutgoingCallReply(Default::default()),
    ]
    .iter()
    .flat_map(Message::to_bytes)
    .collect();
    for round in 0..300 {
        let mut p = if round % 3 == 0 {
            Pair::new(&[1])
        } else {
            two_calls(&[usize::MAX])
        };
        let mut stream = valid.clone();
        for _ in 0..usize::from(rng.next()) {
            let at = usize::from(rng.next()) % stream.len();
            stream[at] = rng.next();
        }
        let chunks: Vec<usize> = (0..4).map(|_| usize::from(rng.next() % 40) + 1).collect();
        feed(&mut p.server, p.now, &stream, &chunks);
        feed(&mut p.client, p.now, &stream, &chunks);
        p.pump();
        p.at(Duration::from_secs(u64::from(rng.next())));
        for c in [&mut p.client, &mut p.server] {
            let ev = drain_events(c);
            if c.is_closed() {
                assert!(matches!(ev.last(), Some(Ev::Closed { .. })), "{ev:?}");
            }
        }
    }
}
