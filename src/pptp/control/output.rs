//! Queueing messages and events, closing, and the checks shared by the
//! caller's commands.

use super::calls::{CallInfo, CallState};
use super::{
    BEARER_ANY, CallDownReason, Control, ControlEvent, FRAMING_ANY, OCRP_CONNECTED, OCRP_TIMEOUT,
    PROTOCOL_VERSION, Role, State,
};
use crate::pptp::Error;
use crate::wire::pptp::{CallDisconnectNotify, Message, OutgoingCallReply, StartControl, Str128};

impl Control {
    pub(super) fn send(&mut self, m: Message) {
        tracing::trace!(msg = m.control_type().abbrev(), "PPTP control message out");
        self.transmit.push_back(m.to_bytes());
    }

    /// End the connection: every call goes down, then `Closed`.
    pub(super) fn close(&mut self, error: Option<Error>) {
        if self.state == State::Closed {
            return;
        }
        self.drop_calls();
        self.state = State::Closed;
        self.deadline = None;
        self.echo = None;
        self.events.push_back(ControlEvent::Closed { error });
    }

    /// The connection takes its calls along (§3.2.1).
    pub(super) fn drop_calls(&mut self) {
        for call in self.calls.take_all() {
            self.call_down(call.info, CallDownReason::ConnectionClosed);
        }
    }

    /// `CallDown` for a call with our Call ID, else (a PAC call not yet
    /// answered) `IncomingCallCancelled`.
    pub(super) fn call_down(&mut self, info: CallInfo, reason: CallDownReason) {
        let event = match (info.call_id, info.peer_call_id) {
            (Some(call_id), peer_call_id) => ControlEvent::CallDown {
                call_id,
                peer_call_id,
                reason,
            },
            (None, Some(peer_call_id)) => ControlEvent::IncomingCallCancelled { peer_call_id },
            (None, None) => return,
        };
        self.events.push_back(event);
    }

    /// A call stuck in a waiting state for the reply timeout (§3.2.1).
    /// The RFC would restart the whole connection; the keepalive already
    /// vouches for it, so only the stuck call is released.
    pub(super) fn call_timed_out(&mut self, info: CallInfo) {
        tracing::info!(?info, "PPTP call timed out");
        match (info.state, info.call_id, info.peer_call_id) {
            // Tell the PAC to abandon the call should it still connect.
            (CallState::WaitReply, Some(call_id), _) => {
                self.send(Message::CallClearRequest { call_id });
            }
            (CallState::WaitAnswer, None, Some(peer_call_id)) => {
                self.reply_call(0, peer_call_id, OCRP_TIMEOUT, 0);
            }
            _ => {}
        }
        self.call_down(info, CallDownReason::Timeout);
    }

    /// Commands need the right role and an established connection.
    pub(super) fn require(&self, role: Role) -> Result<(), Error> {
        if self.role != role {
            return Err(Error::WrongRole(self.role));
        }
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        Ok(())
    }

    /// Index of the PAC call `peer_call_id` still waiting for an answer.
    pub(super) fn pending(&self, peer_call_id: u16) -> Result<usize, Error> {
        self.calls
            .by_peer(peer_call_id)
            .filter(|&i| {
                self.calls
                    .get(i)
                    .is_some_and(|c| c.info.state == CallState::WaitAnswer)
            })
            .ok_or(Error::UnknownCall(peer_call_id))
    }

    /// Outgoing-Call-Reply (§2.8).
    pub(super) fn reply_call(&mut self, call_id: u16, peer_call_id: u16, result: u8, error: u8) {
        let connect_speed = if result == OCRP_CONNECTED {
            self.cfg.connect_speed
        } else {
            0
        };
        self.send(Message::OutgoingCallReply(OutgoingCallReply {
            call_id,
            peer_call_id,
            result,
            error,
            cause: 0,
            connect_speed,
            packet_recv_window_size: self.cfg.recv_window,
            packet_processing_delay: self.cfg.processing_delay,
            physical_channel_id: 0,
        }));
    }

    /// Call-Disconnect-Notify (§2.13), naming our own Call ID.
    pub(super) fn send_cdn(&mut self, call_id: u16, result: u8, cause: u16) {
        self.send(Message::CallDisconnectNotify(CallDisconnectNotify {
            call_id,
            result,
            error: 0,
            cause,
            call_statistics: Str128::empty(),
        }));
    }

    /// Our half of the start exchange (§2.1, §2.2).
    pub(super) fn start_control(&self, result: u8, error: u8) -> StartControl {
        StartControl {
            protocol_version: PROTOCOL_VERSION,
            result,
            error,
            framing_capabilities: FRAMING_ANY,
            bearer_capabilities: BEARER_ANY,
            maximum_channels: match self.role {
                Role::Server => self.cfg.maximum_channels,
                Role::Client => 0,
            },
            firmware_revision: self.cfg.firmware_revision,
            host_name: self.cfg.host_name,
            vendor: self.cfg.vendor,
        }
    }
}
