//! Calls on a PNS-PAC pair (RFC 2637 §3.2.4): several per connection,
//! cleared by either end, refused, aborted, timed out.

use std::time::Duration;

use super::testutil::{CHUNKINGS, Pair, drain_messages, ids, two_calls};
use super::{CallDownReason as Why, CallState, Control, ControlEvent as Ev, Error, Role};
use crate::wire::pptp::Message;

#[test]
fn two_calls_on_one_connection() {
    for chunks in CHUNKINGS {
        let p = two_calls(chunks);
        let calls: Vec<_> = p.client.calls().collect();
        assert_eq!(calls.len(), 2);
        assert!(calls.iter().all(|c| c.state == CallState::Established));
        assert_eq!(
            (calls[1].call_id, calls[1].peer_call_id),
            (Some(200), Some(7))
        );
        assert_eq!(p.server.calls().count(), 2);
    }
}

#[test]
fn client_clears_one_call() {
    for chunks in CHUNKINGS {
        let mut p = two_calls(chunks);
        assert_eq!(p.client.close_call(100, p.now), Ok(()));
        assert_eq!(
            p.client.calls().next().map(|c| c.state),
            Some(CallState::WaitDisconnect)
        );
        p.pump();
        let peer_cleared = Ev::CallDown {
            call_id: 0,
            peer_call_id: Some(100),
            reason: Why::PeerCleared,
        };
        assert_eq!(p.server_events(), [peer_cleared]);
        let why = Why::Disconnected {
            result: 4,
            error: 0,
            cause: 0,
        };
        let down = Ev::CallDown {
            call_id: 100,
            peer_call_id: Some(0),
            reason: why,
        };
        assert_eq!(p.client_events(), [down]);
        // The other call is untouched.
        let left: Vec<_> = p.client.calls().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].call_id, left[0].state),
            (Some(200), CallState::Established)
        );
        assert_eq!(p.server.calls().count(), 1);
    }
}

#[test]
fn server_disconnects_a_call() {
    let mut p = two_calls(&[5]);
    assert_eq!(p.server.disconnect_call(7, 3, 0x10), Ok(()));
    assert_eq!(
        p.server.disconnect_call(7, 3, 0x10),
        Err(Error::UnknownCall(7))
    );
    p.pump();
    let cleared = Ev::CallDown {
        call_id: 7,
        peer_call_id: Some(200),
        reason: Why::Cleared,
    };
    assert_eq!(p.server_events(), [cleared]);
    let why = Why::Disconnected {
        result: 3,
        error: 0,
        cause: 0x10,
    };
    assert_eq!(
        p.client_events(),
        [Ev::CallDown {
            call_id: 200,
            peer_call_id: Some(7),
            reason: why
        }]
    );
    assert_eq!(p.client.calls().count(), 1);
}

#[test]
fn server_rejects_a_call() {
    let mut p = Pair::established(&[1]);
    assert_eq!(p.client.open_call(&mut ids(&[9]), p.now), Ok(9));
    p.pump();
    p.server_events();
    assert_eq!(p.server.reject_call(9, 4), Ok(()));
    assert_eq!(p.server.accept_call(9, 1), Err(Error::UnknownCall(9)));
    p.pump();
    let why = Why::Rejected {
        result: 4,
        error: 0,
        cause: 0,
    };
    assert_eq!(
        p.client_events(),
        [Ev::CallDown {
            call_id: 9,
            peer_call_id: None,
            reason: why
        }]
    );
    assert_eq!(p.client.calls().count(), 0);
}

#[test]
fn client_aborts_during_setup() {
    let mut p = Pair::established(&[usize::MAX]);
    assert_eq!(p.client.open_call(&mut ids(&[9]), p.now), Ok(9));
    assert_eq!(p.client.close_call(9, p.now), Ok(()));
    p.pump();
    // OCRQ and CCRQ arrive together: the PAC refuses the call.
    let ev = p.server_events();
    assert!(matches!(
        ev[..],
        [
            Ev::IncomingCall {
                peer_call_id: 9,
                ..
            },
            Ev::IncomingCallCancelled { peer_call_id: 9 }
        ]
    ));
    let why = Why::Rejected {
        result: 2,
        error: 0,
        cause: 0,
    };
    assert_eq!(
        p.client_events(),
        [Ev::CallDown {
            call_id: 9,
            peer_call_id: None,
            reason: why
        }]
    );
}

#[test]
fn call_setup_times_out() {
    let mut p = Pair::established(&[usize::MAX]);
    assert_eq!(p.client.open_call(&mut ids(&[9]), p.now), Ok(9));
    p.pump();
    assert!(matches!(p.server_events()[..], [Ev::IncomingCall { .. }]));
    p.at(Duration::from_secs(59));
    assert!(p.client_events().is_empty() && p.server_events().is_empty());
    p.at(Duration::from_secs(60));
    assert_eq!(
        p.client_events(),
        [Ev::CallDown {
            call_id: 9,
            peer_call_id: None,
            reason: Why::Timeout
        }]
    );
    assert_eq!(
        p.server_events(),
        [Ev::IncomingCallCancelled { peer_call_id: 9 }]
    );
    // Besides the refusal and the abort, each side sends its first
    // keepalive: neither has heard anything for 60 s either.
    let m = drain_messages(&mut p.server);
    assert!(
        matches!(m[..], [Message::EchoRequest { .. }, Message::OutgoingCallReply(r)] if r.result == 6 && r.peer_call_id == 9),
        "{m:?}"
    );
    let m = drain_messages(&mut p.client);
    assert!(
        matches!(
            m[..],
            [
                Message::EchoRequest { .. },
                Message::CallClearRequest { call_id: 9 }
            ]
        ),
        "{m:?}"
    );
    assert!(p.client.is_established() && p.server.is_established());
}

#[test]
fn commands_check_role_state_and_ids() {
    let mut p = Pair::new(&[usize::MAX]);
    assert_eq!(
        p.client.open_call(&mut ids(&[1]), p.now),
        Err(Error::NotEstablished)
    );
    p.pump();
    assert_eq!(
        p.server.open_call(&mut ids(&[1]), p.now),
        Err(Error::WrongRole(Role::Server))
    );
    assert_eq!(
        p.client.accept_call(1, 1),
        Err(Error::WrongRole(Role::Client))
    );
    assert_eq!(p.client.close_call(1, p.now), Err(Error::UnknownCall(1)));
    assert_eq!(p.client.set_link_info(1, 0, 0), Err(Error::UnknownCall(1)));
    let mut same = || 42;
    assert_eq!(p.client.open_call(&mut same, p.now), Ok(42));
    assert_eq!(
        p.client.open_call(&mut same, p.now),
        Err(Error::NoFreeCallId)
    );
    assert_eq!(p.client.open_call(&mut ids(&[43]), p.now), Ok(43));
    p.pump();
    assert_eq!(p.server.accept_call(42, 1), Ok(()));
    assert_eq!(p.server.accept_call(43, 1), Err(Error::CallIdInUse(1)));
    assert_eq!(p.server.accept_call(42, 2), Err(Error::UnknownCall(42)));
    p.pump();
    assert_eq!(p.client.set_link_info(42, 0, 0), Ok(()));
    assert_eq!(
        drain_messages(&mut p.client),
        [Message::SetLinkInfo {
            peer_call_id: 1,
            send_accm: 0,
            receive_accm: 0
        }]
    );

    // Call ID 42 again from the PNS is refused (§3.2.2 uniqueness).
    let dup = Message::OutgoingCallRequest(crate::wire::pptp::OutgoingCallRequest {
        call_id: 42,
        ..Default::default()
    });
    p.server.handle_bytes(p.now, &dup.to_bytes());
    assert!(
        matches!(drain_messages(&mut p.server)[..], [Message::OutgoingCallReply(r)] if r.result == 2 && r.error == 5)
    );

    let mut small = Pair::new(&[usize::MAX]);
    small.client = Control::client(
        super::ControlConfig {
            max_calls: 1,
            ..Default::default()
        },
        small.now,
    );
    small.pump();
    assert_eq!(small.client.open_call(&mut ids(&[1]), small.now), Ok(1));
    assert_eq!(
        small.client.open_call(&mut ids(&[2]), small.now),
        Err(Error::TooManyCalls)
    );
}
