//! The control connection state machine (RFC 2637 §3), both roles: the
//! PNS (client, originator, places outgoing calls) and the PAC (server,
//! receiver, answers them). Several calls may share one connection.
//!
//! Input: TCP payload bytes ([`Control::handle_bytes`]), the caller's
//! commands (`open_call`, `accept_call`, `stop`, ...) and the clock
//! ([`Control::handle_timeout`]). Output: bytes to write to TCP
//! ([`Control::poll_transmit`]) and [`ControlEvent`]s for the layer
//! above ([`Control::poll_event`]); [`ControlEvent::Closed`] is always the
//! last event, after which the caller closes TCP once the queued bytes
//! are written.

mod calls;
mod commands;
mod dispatch;
mod output;
mod types;

use std::collections::VecDeque;
use std::time::Instant;

pub use calls::{CallInfo, CallState};
pub use types::{CallDownReason, CallIdAlloc, ControlConfig, ControlEvent, Role, State};

use super::Error;
use crate::wire::pptp::{ControlType, Message, Reassembler, StartControl};
use calls::Calls;

/// PPTP version 1.0, the only one there is (§2.1).
pub const PROTOCOL_VERSION: u16 = 0x0100;
/// Framing capabilities: asynchronous and synchronous (§2.1).
const FRAMING_ANY: u32 = 3;
/// Bearer capabilities / type: analog and digital (§2.1, §2.7).
const BEARER_ANY: u32 = 3;
/// Stop-Control-Connection-Request reasons (§2.3).
const STOP_NONE: u8 = 1;
const STOP_PROTOCOL: u8 = 2;
/// Outgoing-Call-Reply results (§2.8).
const OCRP_CONNECTED: u8 = 1;
const OCRP_GENERAL_ERROR: u8 = 2;
const OCRP_TIMEOUT: u8 = 6;
const OCRP_DO_NOT_ACCEPT: u8 = 7;
/// General error codes (§2.16).
const ERR_NO_RESOURCE: u8 = 4;
const ERR_BAD_CALL_ID: u8 = 5;
/// How often `open_call` asks the allocator before giving up.
const ALLOC_ATTEMPTS: usize = 64;

/// One PPTP control connection.
#[derive(Debug, Clone)]
pub struct Control {
    role: Role,
    cfg: ControlConfig,
    state: State,
    rx: Reassembler,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ControlEvent>,
    /// Deadline of the connection-level wait (start or stop reply).
    deadline: Option<Instant>,
    /// Last whole control message received (§3.1.4).
    last_rx: Instant,
    /// Outstanding Echo-Request: identifier and when it was sent.
    echo: Option<(u32, Instant)>,
    next_echo_id: u32,
    next_serial: u16,
    calls: Calls,
    peer: Option<StartControl>,
    /// Why we are stopping, reported when the stop completes.
    stop_error: Option<Error>,
}

impl Control {
    /// A PNS that has just opened TCP: queues the Start-Control-Connection-
    /// Request (§3.1.1).
    pub fn client(cfg: ControlConfig, now: Instant) -> Self {
        let mut c = Self::new(Role::Client, cfg, now, State::WaitStartReply);
        let sccrq = c.start_control(0, 0);
        c.send(Message::StartControlConnectionRequest(sccrq));
        c
    }

    /// A PAC that has just accepted TCP: waits for the request (§3.1.2).
    pub fn server(cfg: ControlConfig, now: Instant) -> Self {
        Self::new(Role::Server, cfg, now, State::WaitStartRequest)
    }

    fn new(role: Role, cfg: ControlConfig, now: Instant, state: State) -> Self {
        let deadline = now.checked_add(cfg.reply_timeout);
        Control {
            role,
            cfg,
            state,
            rx: Reassembler::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            deadline,
            last_rx: now,
            echo: None,
            next_echo_id: 1,
            next_serial: 1,
            calls: Calls::default(),
            peer: None,
            stop_error: None,
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// What the peer said about itself in its start message.
    pub fn peer_info(&self) -> Option<&StartControl> {
        self.peer.as_ref()
    }

    /// The calls of this connection.
    pub fn calls(&self) -> impl Iterator<Item = CallInfo> + '_ {
        self.calls.infos()
    }

    /// Feed bytes read from TCP, in order, in any chunking.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.rx.push(data);
        while !self.is_closed() {
            match self.rx.next_message() {
                None => break,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "PPTP control stream malformed");
                    self.close(Some(Error::Malformed(e)));
                }
                Some(Ok(m)) => {
                    self.last_rx = now;
                    self.echo = None;
                    self.on_message(now, m);
                }
            }
        }
    }

    /// Next bytes to write to TCP.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<ControlEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let echo = match (self.state, self.echo) {
            (State::Established, Some((_, sent))) => sent.checked_add(self.cfg.echo_timeout),
            (State::Established, None) => self.last_rx.checked_add(self.cfg.echo_interval),
            _ => None,
        };
        [self.deadline, echo, self.calls.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Run the timers due at `now` (§3.1.4, §3.2.1).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.deadline.is_some_and(|d| d <= now) {
            let waited = match self.state {
                State::WaitStartRequest => ControlType::StartControlConnectionRequest,
                State::WaitStartReply => ControlType::StartControlConnectionReply,
                _ => ControlType::StopControlConnectionReply,
            };
            tracing::info!("PPTP control connection: no {} in time", waited.abbrev());
            let error = self.stop_error.take().unwrap_or(Error::Timeout(waited));
            self.close(Some(error));
            return;
        }
        if self.state != State::Established {
            return;
        }
        match self.echo {
            Some((_, sent)) => {
                if sent
                    .checked_add(self.cfg.echo_timeout)
                    .is_some_and(|d| d <= now)
                {
                    tracing::info!("PPTP control connection lost: no Echo-Reply");
                    self.events.push_back(ControlEvent::ConnectionLost);
                    self.close(Some(Error::Timeout(ControlType::EchoReply)));
                    return;
                }
            }
            None => {
                if self
                    .last_rx
                    .checked_add(self.cfg.echo_interval)
                    .is_some_and(|d| d <= now)
                {
                    let identifier = self.next_echo_id;
                    self.next_echo_id = identifier.wrapping_add(1);
                    self.send(Message::EchoRequest { identifier });
                    self.echo = Some((identifier, now));
                }
            }
        }
        for call in self.calls.take_expired(now) {
            self.call_timed_out(call.info);
        }
    }

    /// Stop the connection (§3.1.1 "Local Terminate"): Stop-Control-
    /// Connection-Request, then `Closed` on the reply or the timeout. Open
    /// calls end at once. Before establishment this just closes.
    pub fn stop(&mut self, now: Instant) {
        match self.state {
            State::Established => self.begin_stop(now, STOP_NONE, None),
            State::WaitStartRequest | State::WaitStartReply => self.close(None),
            State::WaitStopReply | State::Closed => {}
        }
    }

    fn begin_stop(&mut self, now: Instant, reason: u8, error: Option<Error>) {
        self.send(Message::StopControlConnectionRequest { reason });
        self.drop_calls();
        self.state = State::WaitStopReply;
        self.deadline = now.checked_add(self.cfg.reply_timeout);
        self.echo = None;
        self.stop_error = error;
    }
}
