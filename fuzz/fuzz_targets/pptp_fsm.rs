//! The PPTP control connection state machine (RFC 2637 §3), both roles: a
//! PNS (`Control::client`) and a PAC (`Control::server`) joined by a TCP
//! link the fuzzer controls. It delivers the byte stream in chunks of any
//! size, drops, duplicates and corrupts messages, injects messages of its
//! own (built with the wire codec from fuzz data, with Call IDs taken from
//! the receiver's calls so they often match) and raw bytes, lets time pass
//! or jumps to the next deadline, and gives both ends commands (open,
//! close, accept, reject and disconnect calls, Set-Link-Info, stop, and
//! commands of the other role).
//!
//! Invariants: no panic; every message either end writes is one whole
//! message that parses with the wire codec at exactly its type's length,
//! is one its role may send (the PNS never answers a call with "connected",
//! the PAC never places one), and answers something: an Echo-Reply names a
//! request just received, an Echo-Request goes out only after a silence of
//! the echo interval, a Call-Clear-Request or Call-Disconnect-Notify names
//! a call of the sender, "connected" is sent only by `accept_call`; after
//! its Stop-Control-Connection-Request an end sends nothing but replies;
//! at most one message per message received, per command, or per call and
//! keepalive on a timer tick, and boundedly many events. Nothing is
//! claimed without the peer's word: `Established` follows a start message
//! received with version 1.0 or later (and, for the PNS, result 1); a PNS
//! `CallUp` follows an Outgoing-Call-Reply "connected" for that call; an
//! `IncomingCall` follows an Outgoing-Call-Request; call ends name the
//! message, the command or the timer that caused them, and no call or
//! connection times out before its timer. Command results follow the
//! documented rules (role, state, unknown or taken Call IDs, call limit).
//! The calls the machine lists always equal those its events announced,
//! never more than `max_calls`. A connection that is not closed always has
//! a deadline, no later than now plus its longest timer, and after a timer
//! tick never one in the past; a closed one has none, reports `Closed`
//! exactly once, as its last event, after every call's end, and never
//! writes or reports anything again.
#![no_main]

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::pptp::{
    CallDownReason, CallInfo, CallState, Control, ControlConfig, ControlEvent, Error, Role, State,
};
use pptp_passthrough::wire::pptp::{
    CallDisconnectNotify, ControlType, IncomingCallConnected, IncomingCallReply,
    IncomingCallRequest, Message, OutgoingCallReply, OutgoingCallRequest, Reassembler,
    StartControl, Str64, Str128, WanErrorNotify,
};

const VERSION_1_0: u16 = 0x0100;
/// Outgoing-Call-Reply results (§2.8) the machine sends.
const OCRP_CONNECTED: u8 = 1;
const OCRP_GENERAL_ERROR: u8 = 2;
const OCRP_TIMEOUT: u8 = 6;
const OCRP_DO_NOT_ACCEPT: u8 = 7;
/// How often `open_call` asks the allocator (documented on `open_call`'s
/// error `NoFreeCallId`: "kept returning Call IDs already in use").
const ALLOC_ATTEMPTS: usize = 64;

#[path = "pptp_fsm/end.rs"]
mod end;
#[path = "pptp_fsm/input.rs"]
mod input;

use end::*;
use input::*;

/// Drain one end after a step: check what it wrote and said, move the
/// bytes to the peer's pipe.
fn settle(
    end: &mut End,
    pipe: &mut Pipe,
    now: Instant,
    step: &Step,
    t: &Timers,
    calls_before: usize,
    was_closed: bool,
) {
    let mut sent = 0usize;
    while let Some(b) = end.c.poll_transmit() {
        assert!(!was_closed, "wrote after Closed");
        end.check_sent(&b, now, step, t);
        pipe.push(b);
        sent += 1;
    }
    let msgs = step.received.len();
    let max_sent = if step.timer {
        1 + calls_before
    } else if step.cmd.is_some() {
        1
    } else {
        msgs
    };
    assert!(
        sent <= max_sent,
        "{sent} messages in answer to one step (at most {max_sent})"
    );

    let events: Vec<ControlEvent> = std::iter::from_fn(|| end.c.poll_event()).collect();
    assert!(
        !was_closed || events.is_empty(),
        "events after Closed: {events:?}"
    );
    let max_events = 2 * msgs + calls_before + 2;
    assert!(
        events.len() <= max_events,
        "{} events for one step",
        events.len()
    );
    if let Some(i) = events
        .iter()
        .position(|e| matches!(e, ControlEvent::Closed { .. }))
    {
        assert_eq!(i + 1, events.len(), "events after Closed: {events:?}");
    }
    let lost = events.contains(&ControlEvent::ConnectionLost);
    if lost {
        assert!(
            matches!(
                events.last(),
                Some(ControlEvent::Closed {
                    error: Some(Error::Timeout(ControlType::EchoReply))
                })
            ),
            "ConnectionLost not followed by Closed: {events:?}"
        );
    }
    for e in &events {
        end.check_event(e, now, step, t, lost);
    }
    end.check_calls(t);
    end.check_state(now, step.timer, t);
}

/// Run a command on the end it belongs to, checking its result against the
/// documented rules; returns what it allows the end to send.
fn command(
    ends: &mut [End; 2],
    cmd: &Cmd,
    now: Instant,
    alloc: &mut Alloc,
    t: &Timers,
) -> [Option<Done>; 2] {
    let [client, server] = ends;
    let est = |c: &Control| c.state() == State::Established;
    let mut done = [None, None];
    match cmd {
        Cmd::Open { ids } => {
            if !ids.is_empty() {
                alloc.ids = ids.iter().copied().take(8).collect();
                alloc.at = 0;
            }
            let used = ours(&client.c);
            let want = if !est(&client.c) {
                Err(Error::NotEstablished)
            } else if used.len() >= t.max_calls {
                Err(Error::TooManyCalls)
            } else {
                let mut a = alloc.clone();
                (0..ALLOC_ATTEMPTS)
                    .map(|_| a.next())
                    .find(|id| !used.contains(id))
                    .ok_or(Error::NoFreeCallId)
            };
            let mut draw = || alloc.next();
            let got = client.c.open_call(&mut draw, now);
            assert_eq!(got, want, "open_call");
            if let Ok(id) = got {
                client.calls.insert(id, (ClientCall::WaitReply, now));
                done[0] = Some(Done::Open(id));
            }
        }
        Cmd::Close { call } => {
            let id = resolve(&client.c, *call);
            let info = client.c.calls().find(|i| i.call_id == Some(id));
            let want = if !est(&client.c) {
                Err(Error::NotEstablished)
            } else if info.is_none() {
                Err(Error::UnknownCall(id))
            } else {
                Ok(())
            };
            assert_eq!(client.c.close_call(id, now), want, "close_call");
            if want.is_ok() {
                let sends = info.is_some_and(|i| i.state != CallState::WaitDisconnect);
                if let Some(entry) = client.calls.get_mut(&id)
                    && entry.0 != ClientCall::WaitDisconnect
                {
                    *entry = (ClientCall::WaitDisconnect, now);
                }
                done[0] = Some(Done::Close { id, sends });
            }
        }
        Cmd::SetLinkInfo {
            call,
            send,
            receive,
        } => {
            let id = resolve(&client.c, *call);
            let peer = client
                .c
                .calls()
                .find(|i| i.call_id == Some(id))
                .and_then(|i| i.peer_call_id);
            let want = if !est(&client.c) {
                Err(Error::NotEstablished)
            } else {
                peer.map(|_| ()).ok_or(Error::UnknownCall(id))
            };
            assert_eq!(
                client.c.set_link_info(id, *send, *receive),
                want,
                "set_link_info"
            );
            if let (Ok(()), Some(peer)) = (want, peer) {
                done[0] = Some(Done::SetLinkInfo {
                    peer,
                    send: *send,
                    receive: *receive,
                });
            }
        }
        Cmd::Accept { call, id } => {
            let peer = resolve(&server.c, *call);
            let id = resolve(&server.c, *id);
            let pending =
                by_peer(&server.c, peer).is_some_and(|i| i.state == CallState::WaitAnswer);
            let want = if !est(&server.c) {
                Err(Error::NotEstablished)
            } else if !pending {
                Err(Error::UnknownCall(peer))
            } else if ours(&server.c).contains(&id) {
                Err(Error::CallIdInUse(id))
            } else {
                Ok(())
            };
            assert_eq!(server.c.accept_call(peer, id), want, "accept_call");
            if want.is_ok() {
                done[1] = Some(Done::Accept { peer, id });
            }
        }
        Cmd::Reject { call, result } => {
            let peer = resolve(&server.c, *call);
            let pending =
                by_peer(&server.c, peer).is_some_and(|i| i.state == CallState::WaitAnswer);
            let want = if !est(&server.c) {
                Err(Error::NotEstablished)
            } else if !pending {
                Err(Error::UnknownCall(peer))
            } else {
                Ok(())
            };
            assert_eq!(server.c.reject_call(peer, *result), want, "reject_call");
            if want.is_ok() {
                // Refused: no event follows, the call is simply gone.
                assert!(server.pending.remove(&peer).is_some());
                done[1] = Some(Done::Reject {
                    peer,
                    result: *result,
                });
            }
        }
        Cmd::Disconnect {
            call,
            result,
            cause,
        } => {
            let id = resolve(&server.c, *call);
            let want = if !est(&server.c) {
                Err(Error::NotEstablished)
            } else if !ours(&server.c).contains(&id) {
                Err(Error::UnknownCall(id))
            } else {
                Ok(())
            };
            assert_eq!(
                server.c.disconnect_call(id, *result, *cause),
                want,
                "disconnect_call"
            );
            if want.is_ok() {
                done[1] = Some(Done::Disconnect {
                    id,
                    result: *result,
                    cause: *cause,
                });
            }
        }
        Cmd::Stop { client: on_client } => {
            let (end, i) = if *on_client { (client, 0) } else { (server, 1) };
            end.c.stop(now);
            done[i] = Some(Done::Stop);
        }
        Cmd::WrongRole { call } => {
            let cid = resolve(&client.c, *call);
            let sid = resolve(&server.c, *call);
            let (pac, pns) = (
                Error::WrongRole(Role::Server),
                Error::WrongRole(Role::Client),
            );
            let mut draw = || alloc.next();
            assert_eq!(server.c.open_call(&mut draw, now), Err(pac.clone()));
            assert_eq!(server.c.close_call(sid, now), Err(pac.clone()));
            assert_eq!(server.c.set_link_info(sid, 0, 0), Err(pac));
            assert_eq!(client.c.accept_call(cid, cid), Err(pns.clone()));
            assert_eq!(client.c.reject_call(cid, 2), Err(pns.clone()));
            assert_eq!(client.c.disconnect_call(cid, 3, 0), Err(pns));
            done = [Some(Done::Nothing), Some(Done::Nothing)];
        }
    }
    done
}

fn ms(v: u16) -> Duration {
    Duration::from_millis(u64::from(v) + 1)
}

fuzz_target!(|input: Input| {
    let t = Timers {
        reply: ms(input.reply_timeout),
        echo_interval: ms(input.echo_interval),
        echo_timeout: ms(input.echo_timeout),
        longest: ms(input
            .reply_timeout
            .max(input.echo_interval)
            .max(input.echo_timeout)),
        max_calls: usize::from(input.max_calls % 8) + 1,
        recv_window: input.recv_window,
    };
    let cfg = |host: &str| ControlConfig {
        host_name: host.into(),
        max_calls: t.max_calls,
        recv_window: t.recv_window,
        reply_timeout: t.reply,
        echo_interval: t.echo_interval,
        echo_timeout: t.echo_timeout,
        ..ControlConfig::default()
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut ends = [
        End::new(Control::client(cfg("pns"), t0), t0),
        End::new(Control::server(cfg("pac"), t0), t0),
    ];
    // pipes[0] carries bytes to the client, pipes[1] to the server.
    let mut pipes = [Pipe::default(), Pipe::default()];
    let mut alloc = Alloc {
        ids: Vec::new(),
        at: 0,
        counter: 0,
    };

    // The PNS speaks first: its Start-Control-Connection-Request.
    {
        let step = Step::default();
        let [client, _] = &mut ends;
        let b = client.c.poll_transmit().expect("the PNS starts with SCCRQ");
        assert!(matches!(
            client.check_sent(&b, now, &step, &t),
            Message::StartControlConnectionRequest(_)
        ));
        assert_eq!(client.c.poll_transmit(), None);
        pipes[1].push(b);
        for e in &ends {
            e.check_state(now, false, &t);
        }
    }

    for op in input.ops.iter().take(192) {
        let calls_before = [ends[0].c.calls().count(), ends[1].c.calls().count()];
        let was_closed = [ends[0].c.is_closed(), ends[1].c.is_closed()];
        let mut steps = [Step::default(), Step::default()];
        match op {
            Op::Deliver { to_client, max } => {
                let i = usize::from(!*to_client);
                let max = if *max == 0 {
                    usize::MAX
                } else {
                    usize::from(*max)
                };
                let bytes = pipes[i].take(max);
                ends[i].feed(now, &bytes, &mut steps[i]);
            }
            Op::Drop { to_client } => {
                let p = &mut pipes[usize::from(!*to_client)];
                if p.q.pop_front().is_some() {
                    p.off = 0;
                }
            }
            Op::Duplicate { to_client } => {
                let p = &mut pipes[usize::from(!*to_client)];
                if let Some(m) = p.q.front().cloned() {
                    p.q.insert(1, m);
                }
            }
            Op::Corrupt { to_client, at, xor } => {
                let p = &mut pipes[usize::from(!*to_client)];
                let off = p.off;
                if let Some(m) = p.q.front_mut() {
                    let at = off + usize::from(*at) % (m.len() - off);
                    m[at] ^= *xor;
                }
            }
            Op::Inject { to_client, msg } => {
                let i = usize::from(!*to_client);
                let m = build(&ends[i].c, msg);
                pipes[i].push(m.to_bytes());
            }
            Op::Raw { to_client, bytes } => {
                pipes[usize::from(!*to_client)].push(bytes.clone());
            }
            Op::Wait { millis } => {
                now += Duration::from_millis(u64::from(*millis));
                for (e, s) in ends.iter_mut().zip(&mut steps) {
                    e.c.handle_timeout(now);
                    s.timer = true;
                }
            }
            Op::Timer => {
                let next = ends.iter().filter_map(|e| e.c.poll_timeout()).min();
                if let Some(d) = next {
                    now = now.max(d);
                }
                for (e, s) in ends.iter_mut().zip(&mut steps) {
                    e.c.handle_timeout(now);
                    s.timer = true;
                }
            }
            Op::Cmd(cmd) => {
                let done = command(&mut ends, cmd, now, &mut alloc, &t);
                for (s, d) in steps.iter_mut().zip(done) {
                    // A command that failed allows nothing to be sent.
                    s.cmd = Some(d.unwrap_or(Done::Nothing));
                }
            }
        }
        for (i, (end, step)) in ends.iter_mut().zip(&steps).enumerate() {
            // Bytes an end writes go to the other end's pipe.
            let pipe = &mut pipes[1 - i];
            settle(end, pipe, now, step, &t, calls_before[i], was_closed[i]);
        }
    }
});
