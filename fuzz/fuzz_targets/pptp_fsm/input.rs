//! What the fuzzer chooses (messages, commands, operations on the link)
//! and the control messages built from it.

use super::*;

/// A Call ID: a raw value, or one of the receiving end's calls (its own
/// Call ID or its peer's), so that fuzz-built messages hit live calls.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub(crate) enum Id {
    Raw(u16),
    Ours(u8),
    Theirs(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub(crate) enum Version {
    V1,
    Raw(u16),
}

#[derive(Arbitrary, Debug)]
pub(crate) struct Start {
    pub(crate) version: Version,
    /// `None`: 1, success.
    pub(crate) result: Option<u8>,
    pub(crate) error: u8,
    pub(crate) framing: u32,
    pub(crate) bearer: u32,
    pub(crate) channels: u16,
    pub(crate) firmware: u16,
    pub(crate) host: Vec<u8>,
}

/// A control message built from fuzz data with the wire codec.
#[derive(Arbitrary, Debug)]
pub(crate) enum FuzzMsg {
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
pub(crate) enum Cmd {
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
pub(crate) enum Op {
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
pub(crate) struct Input {
    /// Timers in milliseconds, plus one.
    pub(crate) reply_timeout: u16,
    pub(crate) echo_interval: u16,
    pub(crate) echo_timeout: u16,
    pub(crate) max_calls: u8,
    pub(crate) recv_window: u16,
    pub(crate) ops: Vec<Op>,
}

pub(crate) fn start(s: &Start, reply: bool) -> StartControl {
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

pub(crate) fn resolve(c: &Control, id: Id) -> u16 {
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

pub(crate) fn build(c: &Control, m: &FuzzMsg) -> Message {
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
