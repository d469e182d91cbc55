//! One end of the connection (a `Control` with what the fuzzer did to it)
//! and the invariants checked on everything it writes and reports.

use super::*;

/// What the current step did to one end; evidence for what it says.
#[derive(Default)]
pub(crate) struct Step {
    /// Timers ran at `now`.
    pub(crate) timer: bool,
    /// Messages read (as the wire codec cuts the stream), and whether the
    /// stream broke in this read.
    pub(crate) received: Vec<Message>,
    pub(crate) malformed: bool,
    /// The command, if any.
    pub(crate) cmd: Option<Done>,
}

/// A command an end took, with what it allows the end to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Open(u16),
    Close { id: u16, sends: bool },
    SetLinkInfo { peer: u16, send: u32, receive: u32 },
    Accept { peer: u16, id: u16 },
    Reject { peer: u16, result: u8 },
    Disconnect { id: u16, result: u8, cause: u16 },
    Stop,
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientCall {
    WaitReply,
    Up(u16),
    WaitDisconnect,
}

/// One end and what the harness knows about it.
pub(crate) struct End {
    pub(crate) c: Control,
    pub(crate) role: Role,
    pub(crate) t0: Instant,
    /// The same bytes the end was fed, cut by the wire codec.
    pub(crate) mirror: Reassembler,
    pub(crate) last_rx: Instant,
    /// Start messages received with a version below 1.0.
    pub(crate) bad_versions: Vec<u16>,
    pub(crate) established: bool,
    pub(crate) closed: bool,
    /// Stop-Control-Connection-Request sent, and when.
    pub(crate) stop_sent: Option<Instant>,
    pub(crate) stop_reply_sent: bool,
    pub(crate) start_sent: bool,
    /// PNS: its calls by our Call ID, and since when each waits.
    pub(crate) calls: BTreeMap<u16, (ClientCall, Instant)>,
    /// PAC: calls not yet answered, by the PNS's Call ID.
    pub(crate) pending: BTreeMap<u16, (Instant, OutgoingCallRequest)>,
    /// PAC: answered calls, our Call ID to the PNS's.
    pub(crate) accepted: BTreeMap<u16, u16>,
}

pub(crate) struct Timers {
    pub(crate) reply: Duration,
    pub(crate) echo_interval: Duration,
    pub(crate) echo_timeout: Duration,
    pub(crate) longest: Duration,
    pub(crate) max_calls: usize,
    pub(crate) recv_window: u16,
}

/// One direction of the TCP connection: whole messages as written, the
/// first one possibly partly delivered.
#[derive(Default)]
pub(crate) struct Pipe {
    pub(crate) q: VecDeque<Vec<u8>>,
    /// Bytes of `q[0]` already delivered.
    pub(crate) off: usize,
}

impl Pipe {
    pub(crate) fn take(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(front) = self.q.front() else { break };
            let want = max - out.len();
            let rest = &front[self.off..];
            let n = rest.len().min(want);
            out.extend_from_slice(&rest[..n]);
            self.off += n;
            if self.off == front.len() {
                self.q.pop_front();
                self.off = 0;
            }
        }
        out
    }

    pub(crate) fn push(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.q.push_back(bytes);
        }
        // A peer that only talks is cut off, not buffered without end.
        while self.q.len() > 512 {
            self.q.pop_back();
        }
    }
}

/// A call-ID source offering `ids` in turn, or counting when empty.
#[derive(Clone)]
pub(crate) struct Alloc {
    pub(crate) ids: Vec<u16>,
    pub(crate) at: usize,
    pub(crate) counter: u16,
}

impl Alloc {
    pub(crate) fn next(&mut self) -> u16 {
        if self.ids.is_empty() {
            self.counter = self.counter.wrapping_add(1);
            self.counter
        } else {
            let v = self.ids[self.at % self.ids.len()];
            self.at = self.at.wrapping_add(1);
            v
        }
    }
}

pub(crate) fn ours(c: &Control) -> Vec<u16> {
    c.calls().filter_map(|i| i.call_id).collect()
}

/// The first call the peer knows as `peer` (the table's lookup order).
pub(crate) fn by_peer(c: &Control, peer: u16) -> Option<CallInfo> {
    c.calls().find(|i| i.peer_call_id == Some(peer))
}

impl End {
    pub(crate) fn new(c: Control, t0: Instant) -> Self {
        End {
            role: c.role(),
            c,
            t0,
            mirror: Reassembler::new(),
            last_rx: t0,
            bad_versions: Vec::new(),
            established: false,
            closed: false,
            stop_sent: None,
            stop_reply_sent: false,
            start_sent: false,
            calls: BTreeMap::new(),
            pending: BTreeMap::new(),
            accepted: BTreeMap::new(),
        }
    }

    pub(crate) fn client(&self) -> bool {
        self.role == Role::Client
    }

    /// Feed bytes, keeping the mirror in step while the end reads.
    pub(crate) fn feed(&mut self, now: Instant, bytes: &[u8], step: &mut Step) {
        let was_closed = self.c.is_closed();
        self.c.handle_bytes(now, bytes);
        if was_closed {
            return;
        }
        self.mirror.push(bytes);
        while let Some(m) = self.mirror.next_message() {
            match m {
                Ok(m) => {
                    self.last_rx = now;
                    if let Message::StartControlConnectionRequest(s)
                    | Message::StartControlConnectionReply(s) = m
                        && s.protocol_version < VERSION_1_0
                    {
                        self.bad_versions.push(s.protocol_version);
                    }
                    step.received.push(m);
                }
                Err(_) => {
                    step.malformed = true;
                    break;
                }
            }
        }
        if step.malformed {
            assert!(self.c.is_closed(), "a broken control stream must close");
        }
    }

    /// Check one message written by the end.
    pub(crate) fn check_sent(
        &mut self,
        bytes: &[u8],
        now: Instant,
        step: &Step,
        t: &Timers,
    ) -> Message {
        let m = Message::parse(bytes).expect("an end wrote something that does not parse");
        assert_eq!(bytes.len(), m.buffer_len(), "wrong length");
        assert_eq!(
            bytes.len(),
            usize::from(m.control_type().fixed_len()),
            "not the type's fixed length"
        );
        assert_eq!(
            u16::from_be_bytes([bytes[0], bytes[1]]),
            m.control_type().fixed_len(),
            "length field"
        );
        let received = |f: &dyn Fn(&Message) -> bool| step.received.iter().any(f);
        let client = self.client();
        if self.stop_sent.is_some() {
            assert!(
                matches!(
                    m,
                    Message::EchoReply { .. } | Message::StopControlConnectionReply { .. }
                ),
                "{m:?} after Stop-Control-Connection-Request"
            );
        }
        match m.clone() {
            Message::StartControlConnectionRequest(s) => {
                assert!(client && !self.start_sent, "SCCRQ from {:?}", self.role);
                assert_eq!(s.protocol_version, VERSION_1_0);
                self.start_sent = true;
            }
            Message::StartControlConnectionReply(s) => {
                assert!(!client && !self.start_sent, "SCCRP from {:?}", self.role);
                assert!(
                    received(&|r| matches!(r, Message::StartControlConnectionRequest(_))),
                    "SCCRP without a request"
                );
                assert!(s.result == 1 || s.result == 5, "SCCRP result {}", s.result);
                self.start_sent = true;
            }
            Message::StopControlConnectionRequest { .. } => {
                self.stop_sent = Some(now);
            }
            Message::StopControlConnectionReply { result, .. } => {
                assert!(!self.stop_reply_sent, "two StopCCRP");
                assert_eq!(result, 1);
                assert!(
                    received(&|r| matches!(r, Message::StopControlConnectionRequest { .. })),
                    "StopCCRP without a request"
                );
                self.stop_reply_sent = true;
            }
            Message::EchoRequest { .. } => {
                assert!(step.timer, "Echo-Request outside a timer tick");
                assert!(
                    now >= self.last_rx + t.echo_interval,
                    "Echo-Request before the echo interval"
                );
            }
            Message::EchoReply {
                identifier, result, ..
            } => {
                assert_eq!(result, 1);
                assert!(
                    received(
                        &|r| matches!(r, Message::EchoRequest { identifier: i } if *i == identifier)
                    ),
                    "Echo-Reply to no request"
                );
            }
            Message::OutgoingCallRequest(r) => {
                assert!(client, "OCRQ from the PAC");
                assert_eq!(
                    step.cmd,
                    Some(Done::Open(r.call_id)),
                    "OCRQ without open_call"
                );
                assert_eq!(r.packet_recv_window_size, t.recv_window);
            }
            Message::OutgoingCallReply(r) if r.result == OCRP_CONNECTED => {
                assert!(!client, "the PNS accepted a call");
                assert_eq!(
                    step.cmd,
                    Some(Done::Accept {
                        peer: r.peer_call_id,
                        id: r.call_id
                    }),
                    "OCRP connected without accept_call"
                );
            }
            Message::OutgoingCallReply(r) => {
                assert_eq!(r.call_id, 0, "a refusal names no call of ours");
                let asked = received(
                    &|q| matches!(q, Message::OutgoingCallRequest(q) if q.call_id == r.peer_call_id),
                );
                let ok = if client {
                    r.result == OCRP_DO_NOT_ACCEPT && asked
                } else {
                    let rejected = matches!(step.cmd, Some(Done::Reject { peer, result })
                        if peer == r.peer_call_id
                            && r.result == if result == OCRP_CONNECTED { OCRP_DO_NOT_ACCEPT } else { result });
                    let timed_out = step.timer
                        && r.result == OCRP_TIMEOUT
                        && self
                            .pending
                            .get(&r.peer_call_id)
                            .is_some_and(|(since, _)| now >= *since + t.reply);
                    let refused = r.result == OCRP_GENERAL_ERROR
                        && (asked
                            || received(
                                &|q| matches!(q, Message::CallClearRequest { call_id } if *call_id == r.peer_call_id),
                            ));
                    rejected || timed_out || refused
                };
                assert!(ok, "unexplained {r:?} from {:?}", self.role);
            }
            Message::IncomingCallReply(r) => {
                assert!(client, "ICRP from the PAC");
                assert_eq!(r.result, 3, "this PNS takes no incoming calls");
                assert!(
                    received(
                        &|q| matches!(q, Message::IncomingCallRequest(q) if q.call_id == r.peer_call_id)
                    ),
                    "ICRP to no request"
                );
            }
            Message::CallClearRequest { call_id } => {
                assert!(client, "CCRQ from the PAC");
                let closed =
                    matches!(step.cmd, Some(Done::Close { id, sends: true }) if id == call_id);
                let timed_out = step.timer
                    && matches!(self.calls.get(&call_id), Some((ClientCall::WaitReply, since)) if now >= *since + t.reply);
                assert!(closed || timed_out, "unexplained CCRQ for {call_id}");
            }
            Message::CallDisconnectNotify(n) => {
                assert!(!client, "CDN from the PNS");
                let cut = matches!(step.cmd, Some(Done::Disconnect { id, result, cause })
                    if id == n.call_id && result == n.result && cause == n.cause);
                let cleared = n.result == 4 && self.accepted.get(&n.call_id).is_some_and(|peer| {
                    received(
                        &|q| matches!(q, Message::CallClearRequest { call_id } if call_id == peer),
                    )
                });
                assert!(cut || cleared, "unexplained {n:?}");
            }
            Message::SetLinkInfo {
                peer_call_id,
                send_accm,
                receive_accm,
            } => {
                assert!(client, "SLI from the PAC");
                assert_eq!(
                    step.cmd,
                    Some(Done::SetLinkInfo {
                        peer: peer_call_id,
                        send: send_accm,
                        receive: receive_accm
                    })
                );
            }
            Message::IncomingCallRequest(_)
            | Message::IncomingCallConnected(_)
            | Message::WanErrorNotify(_) => panic!("{m:?}: never sent by this implementation"),
        }
        m
    }

    /// Check one event and update the model.
    pub(crate) fn check_event(
        &mut self,
        ev: &ControlEvent,
        now: Instant,
        step: &Step,
        t: &Timers,
        lost: bool,
    ) {
        let received = |f: &dyn Fn(&Message) -> bool| step.received.iter().any(f);
        let client = self.client();
        match *ev {
            ControlEvent::Established { peer } => {
                assert!(!self.established, "established twice");
                assert!(peer.protocol_version >= VERSION_1_0);
                let want = if client {
                    assert_eq!(peer.result, 1);
                    Message::StartControlConnectionReply(peer)
                } else {
                    Message::StartControlConnectionRequest(peer)
                };
                assert!(
                    received(&|m| *m == want),
                    "Established without the peer's start message"
                );
                self.established = true;
            }
            ControlEvent::IncomingCall {
                peer_call_id,
                request,
            } => {
                assert!(!client, "IncomingCall on the PNS");
                assert_eq!(request.call_id, peer_call_id);
                assert!(
                    received(&|m| *m == Message::OutgoingCallRequest(request)),
                    "IncomingCall without an OCRQ"
                );
                assert!(
                    !self.pending.contains_key(&peer_call_id)
                        && !self.accepted.values().any(|p| *p == peer_call_id),
                    "two calls with the PNS's Call ID {peer_call_id}"
                );
                self.pending.insert(peer_call_id, (now, request));
            }
            ControlEvent::IncomingCallCancelled { peer_call_id } => {
                assert!(!client);
                let (since, _) = self
                    .pending
                    .remove(&peer_call_id)
                    .expect("IncomingCallCancelled for no pending call");
                let cleared = received(
                    &|m| matches!(m, Message::CallClearRequest { call_id } if *call_id == peer_call_id),
                );
                let timed_out = step.timer && now >= since + t.reply;
                let closing = self.c.is_closed() || self.stop_sent.is_some();
                assert!(
                    cleared || timed_out || closing,
                    "unexplained IncomingCallCancelled"
                );
            }
            ControlEvent::CallUp {
                call_id,
                peer_call_id,
                peer_recv_window,
                peer_processing_delay,
                connect_speed,
            } => {
                if client {
                    let Some((state, _)) = self.calls.get_mut(&call_id) else {
                        panic!("CallUp for no call of ours: {call_id}");
                    };
                    assert_eq!(*state, ClientCall::WaitReply, "CallUp twice or after close");
                    let reply = received(&|m| {
                        matches!(m, Message::OutgoingCallReply(r)
                            if r.result == OCRP_CONNECTED
                                && r.peer_call_id == call_id
                                && r.call_id == peer_call_id
                                && r.packet_recv_window_size == peer_recv_window
                                && r.packet_processing_delay == peer_processing_delay
                                && r.connect_speed == connect_speed)
                    });
                    assert!(reply, "CallUp without the PAC's reply");
                    *state = ClientCall::Up(peer_call_id);
                } else {
                    assert_eq!(
                        step.cmd,
                        Some(Done::Accept {
                            peer: peer_call_id,
                            id: call_id
                        }),
                        "PAC CallUp without accept_call"
                    );
                    let (_, req) = self
                        .pending
                        .remove(&peer_call_id)
                        .expect("accepted a call that was not pending");
                    assert_eq!(
                        (peer_recv_window, peer_processing_delay),
                        (req.packet_recv_window_size, req.packet_processing_delay)
                    );
                    assert!(self.accepted.insert(call_id, peer_call_id).is_none());
                }
            }
            ControlEvent::CallDown {
                call_id,
                peer_call_id,
                reason,
            } => {
                let closing = self.c.is_closed() || self.stop_sent.is_some();
                if client {
                    let Some((state, since)) = self.calls.remove(&call_id) else {
                        panic!("CallDown for no call of ours: {call_id}");
                    };
                    if let ClientCall::Up(p) = state {
                        assert_eq!(peer_call_id, Some(p), "CallDown names another peer ID");
                    }
                    let ok = match reason {
                        CallDownReason::Rejected {
                            result,
                            error,
                            cause,
                        } => {
                            result != OCRP_CONNECTED
                                && matches!(
                                    state,
                                    ClientCall::WaitReply | ClientCall::WaitDisconnect
                                )
                                && received(&|m| {
                                    matches!(m, Message::OutgoingCallReply(r)
                                        if r.peer_call_id == call_id && r.result == result
                                            && r.error == error && r.cause == cause)
                                })
                        }
                        CallDownReason::Disconnected {
                            result,
                            error,
                            cause,
                        } => peer_call_id.is_some_and(|p| {
                            received(&|m| {
                                matches!(m, Message::CallDisconnectNotify(n)
                                    if n.call_id == p && n.result == result
                                        && n.error == error && n.cause == cause)
                            })
                        }),
                        CallDownReason::Timeout => {
                            step.timer
                                && matches!(
                                    state,
                                    ClientCall::WaitReply | ClientCall::WaitDisconnect
                                )
                                && now >= since + t.reply
                        }
                        CallDownReason::ConnectionClosed => closing,
                        CallDownReason::Cleared | CallDownReason::PeerCleared => false,
                    };
                    assert!(ok, "unexplained PNS CallDown {reason:?} in {state:?}");
                } else {
                    let Some(peer) = self.accepted.remove(&call_id) else {
                        panic!("CallDown for no answered call: {call_id}");
                    };
                    assert_eq!(peer_call_id, Some(peer));
                    let ok = match reason {
                        CallDownReason::Cleared => matches!(
                            step.cmd,
                            Some(Done::Disconnect { id, .. }) if id == call_id
                        ),
                        CallDownReason::PeerCleared => received(
                            &|m| matches!(m, Message::CallClearRequest { call_id } if *call_id == peer),
                        ),
                        CallDownReason::ConnectionClosed => closing,
                        _ => false,
                    };
                    assert!(ok, "unexplained PAC CallDown {reason:?}");
                }
            }
            ControlEvent::LinkInfo {
                call_id,
                send_accm,
                receive_accm,
            } => {
                let want = Message::SetLinkInfo {
                    peer_call_id: call_id,
                    send_accm,
                    receive_accm,
                };
                assert!(received(&|m| *m == want), "LinkInfo without Set-Link-Info");
            }
            ControlEvent::ConnectionLost => {
                assert!(step.timer, "ConnectionLost outside a timer tick");
                assert!(
                    now >= self.last_rx + t.echo_interval + t.echo_timeout,
                    "connection lost before the keepalive timers ran out"
                );
            }
            ControlEvent::Closed { ref error } => {
                assert!(!self.closed, "Closed twice");
                self.closed = true;
                let ok = match error {
                    None => {
                        step.cmd == Some(Done::Stop)
                            || received(&|m| {
                                matches!(
                                    m,
                                    Message::StopControlConnectionRequest { .. }
                                        | Message::StopControlConnectionReply { .. }
                                )
                            })
                    }
                    Some(Error::Malformed(_)) => step.malformed,
                    Some(Error::Timeout(ty)) => {
                        step.timer
                            && match ty {
                                ControlType::StartControlConnectionRequest => {
                                    !client && now >= self.t0 + t.reply
                                }
                                ControlType::StartControlConnectionReply => {
                                    client && now >= self.t0 + t.reply
                                }
                                ControlType::StopControlConnectionReply => {
                                    self.stop_sent.is_some_and(|at| now >= at + t.reply)
                                }
                                ControlType::EchoReply => lost,
                                _ => false,
                            }
                    }
                    Some(Error::StartRejected { result, error }) => {
                        client
                            && *result != 1
                            && received(&|m| {
                                matches!(m, Message::StartControlConnectionReply(s)
                                    if s.result == *result && s.error == *error)
                            })
                    }
                    Some(Error::BadVersion(v)) => self.bad_versions.contains(v),
                    Some(Error::Unexpected(ty)) => received(&|m| m.control_type() == *ty),
                    Some(_) => false,
                };
                assert!(ok, "unexplained Closed {error:?} ({:?})", self.role);
                assert!(
                    self.calls.is_empty() && self.pending.is_empty() && self.accepted.is_empty(),
                    "Closed before every call ended"
                );
            }
        }
    }

    /// The calls the machine lists equal those its events announced.
    pub(crate) fn check_calls(&self, t: &Timers) {
        let listed: Vec<CallInfo> = self.c.calls().collect();
        assert!(listed.len() <= t.max_calls, "more calls than max_calls");
        if self.client() {
            assert_eq!(listed.len(), self.calls.len(), "{listed:?}");
            for info in &listed {
                let id = info.call_id.expect("a PNS call always has our Call ID");
                let (state, _) = self.calls.get(&id).expect("a call no event announced");
                match (state, info.state) {
                    (ClientCall::WaitReply, CallState::WaitReply) => {
                        assert_eq!(info.peer_call_id, None)
                    }
                    (ClientCall::Up(p), CallState::Established) => {
                        assert_eq!(info.peer_call_id, Some(*p))
                    }
                    (ClientCall::WaitDisconnect, CallState::WaitDisconnect) => {}
                    (s, st) => panic!("call {id}: harness {s:?}, machine {st:?}"),
                }
            }
        } else {
            assert_eq!(
                listed.len(),
                self.pending.len() + self.accepted.len(),
                "{listed:?}"
            );
            for info in &listed {
                match (info.call_id, info.peer_call_id, info.state) {
                    (None, Some(p), CallState::WaitAnswer) => {
                        assert!(
                            self.pending.contains_key(&p),
                            "unannounced pending call {p}"
                        )
                    }
                    (Some(id), Some(p), CallState::Established) => {
                        assert_eq!(self.accepted.get(&id), Some(&p), "unannounced call {id}")
                    }
                    other => panic!("PAC call in an impossible shape: {other:?}"),
                }
            }
        }
    }

    pub(crate) fn check_state(&self, now: Instant, timer: bool, t: &Timers) {
        let closed = self.c.is_closed();
        assert_eq!(closed, self.closed, "closed without Closed, or the reverse");
        if self.c.is_established() {
            assert!(self.established && self.stop_sent.is_none());
        }
        if self.c.state() == State::WaitStopReply {
            assert!(self.stop_sent.is_some(), "stopping without a StopCCRQ");
        }
        match self.c.poll_timeout() {
            None => assert!(
                closed,
                "{:?} with no deadline: it could wait forever",
                self.c.state()
            ),
            Some(d) => {
                assert!(!closed, "a closed connection keeps a timer");
                assert!(d <= now + t.longest, "deadline beyond the longest timer");
                if timer {
                    assert!(d > now, "deadline in the past after the timers ran");
                }
            }
        }
    }
}
