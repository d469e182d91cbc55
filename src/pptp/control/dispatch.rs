//! Received control messages, by state (§3.1) and by call (§3.2).

use std::time::Instant;

use super::calls::{Call, CallInfo, CallState};
use super::{
    CallDownReason, Control, ControlEvent, ERR_BAD_CALL_ID, ERR_NO_RESOURCE, OCRP_CONNECTED,
    OCRP_DO_NOT_ACCEPT, OCRP_GENERAL_ERROR, PROTOCOL_VERSION, Role, STOP_PROTOCOL, State,
};
use crate::pptp::Error;
use crate::wire::pptp::{
    CallDisconnectNotify, IncomingCallReply, Message, OutgoingCallReply, OutgoingCallRequest,
    StartControl,
};

/// Start-Control-Connection-Reply results (§2.2).
const START_OK: u8 = 1;
const START_BAD_VERSION: u8 = 5;
/// Incoming-Call-Reply result "do not accept" (§2.10).
const ICRP_DO_NOT_ACCEPT: u8 = 3;
/// Call-Disconnect-Notify result "Call-Clear-Request received" (§2.13).
const CDN_CLEAR_REQUEST: u8 = 4;

impl Control {
    /// One whole message from the peer.
    pub(super) fn on_message(&mut self, now: Instant, m: Message) {
        let ty = m.control_type();
        tracing::trace!(msg = ty.abbrev(), state = ?self.state, "PPTP control message");
        match m {
            // Answered in every state (§2.5, §2.6).
            Message::EchoRequest { identifier } => {
                self.send(Message::EchoReply {
                    identifier,
                    result: 1,
                    error: 0,
                });
                return;
            }
            // Any message is proof of life; the reply needs no more.
            Message::EchoReply { .. } => return,
            // §3.1.1, §3.1.2: reply, then close.
            Message::StopControlConnectionRequest { reason } => {
                tracing::info!(reason, "PPTP peer stopped the control connection");
                self.send(Message::StopControlConnectionReply {
                    result: 1,
                    error: 0,
                });
                let error = self.stop_error.take();
                self.close(error);
                return;
            }
            _ => {}
        }
        match (self.state, m) {
            (State::WaitStopReply, Message::StopControlConnectionReply { .. }) => {
                let error = self.stop_error.take();
                self.close(error);
            }
            (State::WaitStartRequest, Message::StartControlConnectionRequest(s)) => {
                self.start_request(now, s);
            }
            (State::WaitStartReply, Message::StartControlConnectionReply(s)) => {
                self.start_reply(now, s);
            }
            (State::WaitStartRequest | State::WaitStartReply, _)
            | (
                State::Established,
                Message::StartControlConnectionRequest(_) | Message::StartControlConnectionReply(_),
            ) => {
                tracing::warn!(msg = ty.abbrev(), "unexpected PPTP control message");
                self.close(Some(Error::Unexpected(ty)));
            }
            (State::Established, m) => self.on_established(now, m),
            (State::WaitStopReply | State::Closed, _) => {}
        }
    }

    /// PAC (§3.1.2 idle): check the version, reply.
    fn start_request(&mut self, now: Instant, s: StartControl) {
        if s.protocol_version < PROTOCOL_VERSION {
            let reply = self.start_control(START_BAD_VERSION, 0);
            self.send(Message::StartControlConnectionReply(reply));
            self.close(Some(Error::BadVersion(s.protocol_version)));
            return;
        }
        let reply = self.start_control(START_OK, 0);
        self.send(Message::StartControlConnectionReply(reply));
        self.established(now, s);
    }

    /// PNS (§3.1.1 wait_ctl_reply).
    fn start_reply(&mut self, now: Instant, s: StartControl) {
        if s.result != START_OK {
            let (result, error) = (s.result, s.error);
            self.close(Some(Error::StartRejected { result, error }));
        } else if s.protocol_version < PROTOCOL_VERSION {
            // "earlier and not supported": Stop with reason Stop-Protocol.
            let error = Some(Error::BadVersion(s.protocol_version));
            self.begin_stop(now, STOP_PROTOCOL, error);
        } else {
            self.established(now, s);
        }
    }

    fn established(&mut self, now: Instant, peer: StartControl) {
        tracing::info!(
            peer = %peer.host_name,
            vendor = %peer.vendor,
            "PPTP control connection established"
        );
        self.state = State::Established;
        self.deadline = None;
        self.last_rx = now;
        self.peer = Some(peer);
        self.events.push_back(ControlEvent::Established { peer });
    }

    fn on_established(&mut self, now: Instant, m: Message) {
        let client = self.role == Role::Client;
        match m {
            Message::OutgoingCallRequest(req) if !client => self.outgoing_call(now, req),
            // A PNS places calls, it does not take them.
            Message::OutgoingCallRequest(req) => {
                self.reply_call(0, req.call_id, OCRP_DO_NOT_ACCEPT, 0);
            }
            Message::OutgoingCallReply(rep) if client => self.call_reply(rep),
            // Incoming calls (§3.2.3) are not offered by this PNS.
            Message::IncomingCallRequest(req) if client => {
                self.send(Message::IncomingCallReply(IncomingCallReply {
                    call_id: 0,
                    peer_call_id: req.call_id,
                    result: ICRP_DO_NOT_ACCEPT,
                    error: 0,
                    packet_recv_window_size: self.cfg.recv_window,
                    packet_transmit_delay: self.cfg.processing_delay,
                }));
            }
            Message::CallClearRequest { call_id } if !client => self.clear_request(call_id),
            Message::CallDisconnectNotify(cdn) if client => self.disconnect_notify(cdn),
            Message::SetLinkInfo {
                peer_call_id,
                send_accm,
                receive_accm,
            } => self.events.push_back(ControlEvent::LinkInfo {
                call_id: peer_call_id,
                send_accm,
                receive_accm,
            }),
            other => {
                tracing::debug!(
                    msg = other.control_type().abbrev(),
                    "PPTP control message ignored"
                );
            }
        }
    }

    /// PAC (§3.2.4.1 idle): hand the request to the caller.
    fn outgoing_call(&mut self, now: Instant, req: OutgoingCallRequest) {
        let peer_call_id = req.call_id;
        if self.calls.by_peer(peer_call_id).is_some() {
            self.reply_call(0, peer_call_id, OCRP_GENERAL_ERROR, ERR_BAD_CALL_ID);
            return;
        }
        if self.calls.len() >= self.cfg.max_calls {
            self.reply_call(0, peer_call_id, OCRP_GENERAL_ERROR, ERR_NO_RESOURCE);
            return;
        }
        self.calls.push(Call {
            info: CallInfo {
                call_id: None,
                peer_call_id: Some(peer_call_id),
                state: CallState::WaitAnswer,
            },
            deadline: now.checked_add(self.cfg.reply_timeout),
            peer_recv_window: req.packet_recv_window_size,
            peer_processing_delay: req.packet_processing_delay,
        });
        self.events.push_back(ControlEvent::IncomingCall {
            peer_call_id,
            request: req,
        });
    }

    /// PNS (§3.2.4.2 wait_reply).
    fn call_reply(&mut self, rep: OutgoingCallReply) {
        let Some(i) = self.calls.by_ours(rep.peer_call_id) else {
            tracing::debug!(call_id = rep.peer_call_id, "OCRP for no call of ours");
            return;
        };
        let Some(call) = self.calls.get_mut(i) else {
            return;
        };
        let info = call.info;
        let connected = rep.result == OCRP_CONNECTED;
        match (info.state, info.peer_call_id) {
            (CallState::WaitReply, _) if connected => {
                call.info.peer_call_id = Some(rep.call_id);
                call.info.state = CallState::Established;
                call.deadline = None;
                self.events.push_back(ControlEvent::CallUp {
                    call_id: rep.peer_call_id,
                    peer_call_id: rep.call_id,
                    peer_recv_window: rep.packet_recv_window_size,
                    peer_processing_delay: rep.packet_processing_delay,
                    connect_speed: rep.connect_speed,
                });
            }
            // Aborted while waiting: the PAC connected anyway, so the
            // Call-Disconnect-Notify will name this ID.
            (CallState::WaitDisconnect, None) if connected => {
                call.info.peer_call_id = Some(rep.call_id);
            }
            (CallState::WaitReply, _) | (CallState::WaitDisconnect, None) => {
                self.calls.remove(i);
                let reason = CallDownReason::Rejected {
                    result: rep.result,
                    error: rep.error,
                    cause: rep.cause,
                };
                self.call_down(info, reason);
            }
            _ => tracing::debug!(call_id = rep.peer_call_id, "duplicate OCRP ignored"),
        }
    }

    /// PAC (§3.2.4.1): the PNS hangs up.
    fn clear_request(&mut self, peer_call_id: u16) {
        let Some(call) = self
            .calls
            .by_peer(peer_call_id)
            .and_then(|i| self.calls.remove(i))
        else {
            tracing::debug!(peer_call_id, "CCRQ for no call");
            return;
        };
        match call.info.call_id {
            Some(call_id) => {
                self.send_cdn(call_id, CDN_CLEAR_REQUEST, 0);
                self.call_down(call.info, CallDownReason::PeerCleared);
            }
            // Not answered yet: we have no Call ID to put in a
            // Call-Disconnect-Notify, so refuse the request instead.
            None => {
                self.reply_call(0, peer_call_id, OCRP_GENERAL_ERROR, 0);
                self.call_down(call.info, CallDownReason::PeerCleared);
            }
        }
    }

    /// PNS (§3.2.4.2 established, wait_disconnect): CDN names the PAC's
    /// Call ID (§2.13).
    fn disconnect_notify(&mut self, cdn: CallDisconnectNotify) {
        let Some(call) = self
            .calls
            .by_peer(cdn.call_id)
            .and_then(|i| self.calls.remove(i))
        else {
            tracing::debug!(peer_call_id = cdn.call_id, "CDN for no call");
            return;
        };
        tracing::info!(
            result = cdn.result,
            cause = cdn.cause,
            stats = %cdn.call_statistics,
            "PPTP call disconnected"
        );
        let reason = CallDownReason::Disconnected {
            result: cdn.result,
            error: cdn.error,
            cause: cdn.cause,
        };
        self.call_down(call.info, reason);
    }
}
