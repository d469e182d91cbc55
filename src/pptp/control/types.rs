//! The public vocabulary of the control connection: roles, states,
//! settings, the Call ID source, and the events reported upward.

use std::time::Duration;

use crate::pptp::Error;
use crate::wire::pptp::{OutgoingCallRequest, StartControl, Str64};

/// Which end of the tunnel this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// PNS: opens the TCP connection and places outgoing calls.
    Client,
    /// PAC: accepts the TCP connection and answers outgoing calls.
    Server,
}

/// Control connection states (§3.1.1, §3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// PAC: waiting for Start-Control-Connection-Request.
    WaitStartRequest,
    /// PNS: waiting for Start-Control-Connection-Reply (wait_ctl_reply).
    WaitStartReply,
    Established,
    /// Stop-Control-Connection-Request sent, waiting for the reply.
    WaitStopReply,
    /// Finished; nothing more is read.
    Closed,
}

/// Settings of a control connection; [`Default`] gives the RFC's timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// Our DNS name, sent in the start messages (§2.1).
    pub host_name: Str64,
    /// Our vendor string (§2.1).
    pub vendor: Str64,
    pub firmware_revision: u16,
    /// PAC: sessions offered in the start reply (a PNS sends 0).
    pub maximum_channels: u16,
    /// Most calls open at once on this connection.
    pub max_calls: usize,
    /// Data packets we buffer per call, announced in OCRQ/OCRP (§4.2).
    pub recv_window: u16,
    /// Our packet processing delay in 1/10 s, announced likewise (§4.4).
    pub processing_delay: u16,
    /// PNS: line speeds asked for in OCRQ, bits/s (§2.7).
    pub min_bps: u32,
    pub max_bps: u32,
    /// PNS: number to dial (§2.7); usually empty for a VPN.
    pub phone_number: Str64,
    /// PAC: speed reported in OCRP, bits/s (§2.8).
    pub connect_speed: u32,
    /// Wait for a reply or a state change (§3, §3.1.4, §3.2.1: 60 s).
    pub reply_timeout: Duration,
    /// Silence before an Echo-Request (§3.1.4: 60 s).
    pub echo_interval: Duration,
    /// Wait for any message after an Echo-Request (§3.1.4: 60 s).
    pub echo_timeout: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            host_name: Str64::from("local"),
            vendor: Str64::from(env!("CARGO_PKG_NAME")),
            firmware_revision: 1,
            maximum_channels: 0,
            max_calls: 256,
            recv_window: 64,
            processing_delay: 0,
            min_bps: 2400,
            max_bps: 100_000_000,
            phone_number: Str64::empty(),
            connect_speed: 100_000_000,
            reply_timeout: Duration::from_secs(60),
            echo_interval: Duration::from_secs(60),
            echo_timeout: Duration::from_secs(60),
        }
    }
}

/// Source of candidate Call IDs (§3.2.2: unique per tunnel; random values
/// are best). Any `FnMut() -> u16` is one.
pub trait CallIdAlloc {
    /// A candidate; `open_call` asks again when it is already in use.
    fn next_call_id(&mut self) -> u16;
}

impl<F: FnMut() -> u16> CallIdAlloc for F {
    fn next_call_id(&mut self) -> u16 {
        self()
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallDownReason {
    /// Outgoing-Call-Reply with a result other than 1 (§2.8).
    Rejected { result: u8, error: u8, cause: u16 },
    /// Call-Disconnect-Notify from the PAC (§2.13); result 4 answers our
    /// Call-Clear-Request.
    Disconnected { result: u8, error: u8, cause: u16 },
    /// PAC: we disconnected it (`disconnect_call`).
    Cleared,
    /// PAC: the PNS sent Call-Clear-Request (§2.12).
    PeerCleared,
    /// The peer did not answer within the reply timeout (§3.2.1).
    Timeout,
    /// The control connection ended (§3.2.1: it takes its calls along).
    ConnectionClosed,
}

/// What the control connection reports to the layer above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlEvent {
    /// Start messages exchanged (§3.1); `peer` is what the peer sent.
    Established { peer: StartControl },
    /// PAC: the PNS asks for a call; answer with `accept_call` or
    /// `reject_call` (within the reply timeout, else it is refused).
    IncomingCall {
        peer_call_id: u16,
        request: OutgoingCallRequest,
    },
    /// PAC: a call not yet answered went away.
    IncomingCallCancelled { peer_call_id: u16 },
    /// A call is connected: start its [`GreChannel`](crate::pptp::GreChannel).
    CallUp {
        call_id: u16,
        peer_call_id: u16,
        /// The peer's receive window and processing delay (§4.2, §4.4).
        peer_recv_window: u16,
        peer_processing_delay: u16,
        connect_speed: u32,
    },
    /// A call that had our Call ID ended.
    CallDown {
        call_id: u16,
        peer_call_id: Option<u16>,
        reason: CallDownReason,
    },
    /// Set-Link-Info received (§2.15); `call_id` is the message's field.
    LinkInfo {
        call_id: u16,
        send_accm: u32,
        receive_accm: u32,
    },
    /// The peer stopped answering keepalives (§3.1.4); the calls'
    /// `CallDown`s and `Closed` follow.
    ConnectionLost,
    /// The connection is over; `error` is `None` for an orderly stop.
    Closed { error: Option<Error> },
}
