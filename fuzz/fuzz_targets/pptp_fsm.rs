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

/// A Call ID: a raw value, or one of the receiving end's calls (its own
/// Call ID or its peer's), so that fuzz-built messages hit live calls.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Id {
    Raw(u16),
    Ours(u8),
    Theirs(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Version {
    V1,
    Raw(u16),
}

#[derive(Arbitrary, Debug)]
struct Start {
    version: Version,
    /// `None`: 1, success.
    result: Option<u8>,
    error: u8,
    framing: u32,
    bearer: u32,
    channels: u16,
    firmware: u16,
    host: Vec<u8>,
}

/// A control message built from fuzz data with the wire codec.
#[derive(Arbitrary, Debug)]
enum FuzzMsg {
    StartRequest(Start),
    StartReply(Start),
    StopRequest {
        reason: u8,
    },
    StopReply {
        result: u8,
        error: u8,
    },
    EchoRequest {
        identifier: u32,
    },
    EchoReply {
        identifier: u32,
        result: u8,
        error: u8,
    },
    OutgoingCallRequest {
        call_id: Id,
        serial: u16,
        min_bps: u32,
        max_bps: u32,
        window: u16,
        delay: u16,
    },
    OutgoingCallReply {
        call_id: Id,
        peer_call_id: Id,
        /// `None`: 1, connected.
        result: Option<u8>,
        error: u8,
        cause: u16,
        speed: u32,
        window: u16,
        delay: u16,
    },
    IncomingCallRequest {
        call_id: u16,
        serial: u16,
    },
    IncomingCallReply {
        call_id: Id,
        peer_call_id: Id,
        result: u8,
    },
    IncomingCallConnected {
        peer_call_id: Id,
        speed: u32,
    },
    CallClearRequest {
        call_id: Id,
    },
    CallDisconnectNotify {
        call_id: Id,
        result: u8,
        error: u8,
        cause: u16,
    },
    WanErrorNotify {
        peer_call_id: Id,
        crc: u32,
    },
    SetLinkInfo {
        peer_call_id: Id,
        send: u32,
        receive: u32,
    },
}

#[derive(Arbitrary, Debug)]
enum Cmd {
    /// PNS: place a call; the allocator offers these IDs in turn (a
    /// counter when empty).
    Open {
        ids: Vec<u16>,
    },
    Close {
        call: Id,
    },
    SetLinkInfo {
        call: Id,
        send: u32,
        receive: u32,
    },
    /// PAC: answer the pending call `call` (peer's ID) as `id`.
    Accept {
        call: Id,
        id: Id,
    },
    Reject {
        call: Id,
        result: u8,
    },
    Disconnect {
        call: Id,
        result: u8,
        cause: u16,
    },
    Stop {
        client: bool,
    },
    /// Every command of the other role, on each end.
    WrongRole {
        call: Id,
    },
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Deliver up to `max` bytes (0: all) of the stream to one end, in one
    /// read.
    Deliver {
        to_client: bool,
        max: u8,
    },
    /// Drop the next message (or what is left of a partly delivered one).
    Drop {
        to_client: bool,
    },
    /// Send the next message twice.
    Duplicate {
        to_client: bool,
    },
    /// Flip bits in the undelivered part of the next message.
    Corrupt {
        to_client: bool,
        at: u8,
        xor: u8,
    },
    /// A message of the fuzzer's, queued after what is in flight.
    Inject {
        to_client: bool,
        msg: FuzzMsg,
    },
    /// Raw bytes, queued likewise.
    Raw {
        to_client: bool,
        bytes: Vec<u8>,
    },
    /// Let time pass and run both ends' timers.
    Wait {
        millis: u16,
    },
    /// Jump to the earliest deadline of either end and run the timers.
    Timer,
    Cmd(Cmd),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Timers in milliseconds, plus one.
    reply_timeout: u16,
    echo_interval: u16,
    echo_timeout: u16,
    max_calls: u8,
    recv_window: u16,
    ops: Vec<Op>,
}

/// What the current step did to one end; evidence for what it says.
#[derive(Default)]
struct Step {
    /// Timers ran at `now`.
    timer: bool,
    /// Messages read (as the wire codec cuts the stream), and whether the
    /// stream broke in this read.
    received: Vec<Message>,
    malformed: bool,
    /// The command, if any.
    cmd: Option<Done>,
}

/// A command an end took, with what it allows the end to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
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
enum ClientCall {
    WaitReply,
    Up(u16),
    WaitDisconnect,
}

/// One end and what the harness knows about it.
struct End {
    c: Control,
    role: Role,
    t0: Instant,
    /// The same bytes the end was fed, cut by the wire codec.
    mirror: Reassembler,
    last_rx: Instant,
    /// Start messages received with a version below 1.0.
    bad_versions: Vec<u16>,
    established: bool,
    closed: bool,
    /// Stop-Control-Connection-Request sent, and when.
    stop_sent: Option<Instant>,
    stop_reply_sent: bool,
    start_sent: bool,
    /// PNS: its calls by our Call ID, and since when each waits.
    calls: BTreeMap<u16, (ClientCall, Instant)>,
    /// PAC: calls not yet answered, by the PNS's Call ID.
    pending: BTreeMap<u16, (Instant, OutgoingCallRequest)>,
    /// PAC: answered calls, our Call ID to the PNS's.
    accepted: BTreeMap<u16, u16>,
}

struct Timers {
    reply: Duration,
    echo_interval: Duration,
    echo_timeout: Duration,
    longest: Duration,
    max_calls: usize,
    recv_window: u16,
}

fn start(s: &Start, reply: bool) -> StartControl {
    StartControl {
        protocol_version: match s.version {
            Version::V1 => VERSION_1_0,
            Version::Raw(v) => v,
        },
        result: if reply { s.result.unwrap_or(1) } else { 0 },
        error: if reply { s.error } else { 0 },
        framing_capabilities: s.framing,
        bearer_capabilities: s.bearer,
        maximum_channels: s.channels,
        firmware_revision: s.firmware,
        host_name: Str64::new(&s.host),
        vendor: Str64::from("fuzz"),
    }
}

fn resolve(c: &Control, id: Id) -> u16 {
    let pick = |ids: Vec<u16>, i: u8| -> u16 {
        if ids.is_empty() {
            u16::from(i)
        } else {
            ids[usize::from(i) % ids.len()]
        }
    };
    match id {
        Id::Raw(v) => v,
        Id::Ours(i) => pick(c.calls().filter_map(|x| x.call_id).collect(), i),
        Id::Theirs(i) => pick(c.calls().filter_map(|x| x.peer_call_id).collect(), i),
    }
}

fn build(c: &Control, m: &FuzzMsg) -> Message {
    let id = |i: Id| resolve(c, i);
    match m {
        FuzzMsg::StartRequest(s) => Message::StartControlConnectionRequest(start(s, false)),
        FuzzMsg::StartReply(s) => Message::StartControlConnectionReply(start(s, true)),
        FuzzMsg::StopRequest { reason } => {
            Message::StopControlConnectionRequest { reason: *reason }
        }
        FuzzMsg::StopReply { result, error } => Message::StopControlConnectionReply {
            result: *result,
            error: *error,
        },
        FuzzMsg::EchoRequest { identifier } => Message::EchoRequest {
            identifier: *identifier,
        },
        FuzzMsg::EchoReply {
            identifier,
            result,
            error,
        } => Message::EchoReply {
            identifier: *identifier,
            result: *result,
            error: *error,
        },
        FuzzMsg::OutgoingCallRequest {
            call_id,
            serial,
            min_bps,
            max_bps,
            window,
            delay,
        } => Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id: id(*call_id),
            call_serial: *serial,
            min_bps: *min_bps,
            max_bps: *max_bps,
            bearer_type: 3,
            framing_type: 3,
            packet_recv_window_size: *window,
            packet_processing_delay: *delay,
            phone_number_len: 0,
            phone_number: Str64::empty(),
            subaddress: Str64::empty(),
        }),
        FuzzMsg::OutgoingCallReply {
            call_id,
            peer_call_id,
            result,
            error,
            cause,
            speed,
            window,
            delay,
        } => Message::OutgoingCallReply(OutgoingCallReply {
            call_id: id(*call_id),
            peer_call_id: id(*peer_call_id),
            result: result.unwrap_or(OCRP_CONNECTED),
            error: *error,
            cause: *cause,
            connect_speed: *speed,
            packet_recv_window_size: *window,
            packet_processing_delay: *delay,
            physical_channel_id: 0,
        }),
        FuzzMsg::IncomingCallRequest { call_id, serial } => {
            Message::IncomingCallRequest(IncomingCallRequest {
                call_id: *call_id,
                call_serial: *serial,
                ..Default::default()
            })
        }
        FuzzMsg::IncomingCallReply {
            call_id,
            peer_call_id,
            result,
        } => Message::IncomingCallReply(IncomingCallReply {
            call_id: id(*call_id),
            peer_call_id: id(*peer_call_id),
            result: *result,
            ..Default::default()
        }),
        FuzzMsg::IncomingCallConnected {
            peer_call_id,
            speed,
        } => Message::IncomingCallConnected(IncomingCallConnected {
            peer_call_id: id(*peer_call_id),
            connect_speed: *speed,
            ..Default::default()
        }),
        FuzzMsg::CallClearRequest { call_id } => Message::CallClearRequest {
            call_id: id(*call_id),
        },
        FuzzMsg::CallDisconnectNotify {
            call_id,
            result,
            error,
            cause,
        } => Message::CallDisconnectNotify(CallDisconnectNotify {
            call_id: id(*call_id),
            result: *result,
            error: *error,
            cause: *cause,
            call_statistics: Str128::from("fuzz"),
        }),
        FuzzMsg::WanErrorNotify { peer_call_id, crc } => Message::WanErrorNotify(WanErrorNotify {
            peer_call_id: id(*peer_call_id),
            crc_errors: *crc,
            ..Default::default()
        }),
        FuzzMsg::SetLinkInfo {
            peer_call_id,
            send,
            receive,
        } => Message::SetLinkInfo {
            peer_call_id: id(*peer_call_id),
            send_accm: *send,
            receive_accm: *receive,
        },
    }
}

/// One direction of the TCP connection: whole messages as written, the
/// first one possibly partly delivered.
#[derive(Default)]
struct Pipe {
    q: VecDeque<Vec<u8>>,
    /// Bytes of `q[0]` already delivered.
    off: usize,
}

impl Pipe {
    fn take(&mut self, max: usize) -> Vec<u8> {
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

    fn push(&mut self, bytes: Vec<u8>) {
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
struct Alloc {
    ids: Vec<u16>,
    at: usize,
    counter: u16,
}

impl Alloc {
    fn next(&mut self) -> u16 {
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

fn ours(c: &Control) -> Vec<u16> {
    c.calls().filter_map(|i| i.call_id).collect()
}

/// The first call the peer knows as `peer` (the table's lookup order).
fn by_peer(c: &Control, peer: u16) -> Option<CallInfo> {
    c.calls().find(|i| i.peer_call_id == Some(peer))
}

impl End {
    fn new(c: Control, t0: Instant) -> Self {
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

    fn client(&self) -> bool {
        self.role == Role::Client
    }

    /// Feed bytes, keeping the mirror in step while the end reads.
    fn feed(&mut self, now: Instant, bytes: &[u8], step: &mut Step) {
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
                    {
                        if s.protocol_version < VERSION_1_0 {
                            self.bad_versions.push(s.protocol_version);
                        }
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
    fn check_sent(&mut self, bytes: &[u8], now: Instant, step: &Step, t: &Timers) -> Message {
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
    fn check_event(
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
    fn check_calls(&self, t: &Timers) {
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

    fn check_state(&self, now: Instant, timer: bool, t: &Timers) {
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
                if let Some(entry) = client.calls.get_mut(&id) {
                    if entry.0 != ClientCall::WaitDisconnect {
                        *entry = (ClientCall::WaitDisconnect, now);
                    }
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
