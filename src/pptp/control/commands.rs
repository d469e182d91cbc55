//! The caller's commands on calls (§3.2.4): placing and clearing them as
//! the PNS, answering and disconnecting them as the PAC.

use std::time::Instant;

use super::calls::{Call, CallInfo, CallState};
use super::{
    ALLOC_ATTEMPTS, BEARER_ANY, CallDownReason, CallIdAlloc, Control, ControlEvent, FRAMING_ANY,
    OCRP_CONNECTED, OCRP_DO_NOT_ACCEPT, Role,
};
use crate::pptp::Error;
use crate::wire::pptp::{Message, OutgoingCallRequest, Str64};

impl Control {
    /// PNS: place a call (§3.2.4.2): Outgoing-Call-Request with a Call ID
    /// from `alloc`. Returns our Call ID; `CallUp` or `CallDown` follows.
    pub fn open_call(&mut self, alloc: &mut impl CallIdAlloc, now: Instant) -> Result<u16, Error> {
        self.require(Role::Client)?;
        if self.calls.len() >= self.cfg.max_calls {
            return Err(Error::TooManyCalls);
        }
        let call_id = (0..ALLOC_ATTEMPTS)
            .map(|_| alloc.next_call_id())
            .find(|id| self.calls.by_ours(*id).is_none())
            .ok_or(Error::NoFreeCallId)?;
        let call_serial = self.next_serial;
        self.next_serial = call_serial.wrapping_add(1);
        self.send(Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id,
            call_serial,
            min_bps: self.cfg.min_bps,
            max_bps: self.cfg.max_bps,
            bearer_type: BEARER_ANY,
            framing_type: FRAMING_ANY,
            packet_recv_window_size: self.cfg.recv_window,
            packet_processing_delay: self.cfg.processing_delay,
            phone_number_len: u16::try_from(self.cfg.phone_number.len()).unwrap_or(64),
            phone_number: self.cfg.phone_number,
            subaddress: Str64::empty(),
        }));
        let info = CallInfo {
            call_id: Some(call_id),
            peer_call_id: None,
            state: CallState::WaitReply,
        };
        self.calls.push(Call {
            info,
            deadline: now.checked_add(self.cfg.reply_timeout),
            peer_recv_window: 0,
            peer_processing_delay: 0,
        });
        Ok(call_id)
    }

    /// PNS: hang up (§3.2.4.2): Call-Clear-Request, then `CallDown` when
    /// the Call-Disconnect-Notify (or the timeout) comes.
    pub fn close_call(&mut self, call_id: u16, now: Instant) -> Result<(), Error> {
        self.require(Role::Client)?;
        let deadline = now.checked_add(self.cfg.reply_timeout);
        let i = self
            .calls
            .by_ours(call_id)
            .ok_or(Error::UnknownCall(call_id))?;
        let call = self.calls.get_mut(i).ok_or(Error::UnknownCall(call_id))?;
        if call.info.state != CallState::WaitDisconnect {
            call.info.state = CallState::WaitDisconnect;
            call.deadline = deadline;
            self.send(Message::CallClearRequest { call_id });
        }
        Ok(())
    }

    /// PNS: pass the PPP-negotiated ACCMs to the PAC (§2.15).
    pub fn set_link_info(
        &mut self,
        call_id: u16,
        send_accm: u32,
        receive_accm: u32,
    ) -> Result<(), Error> {
        self.require(Role::Client)?;
        let peer_call_id = self
            .calls
            .by_ours(call_id)
            .and_then(|i| self.calls.get_mut(i))
            .and_then(|c| c.info.peer_call_id)
            .ok_or(Error::UnknownCall(call_id))?;
        self.send(Message::SetLinkInfo {
            peer_call_id,
            send_accm,
            receive_accm,
        });
        Ok(())
    }

    /// PAC: accept the call `peer_call_id` announced by `IncomingCall`,
    /// as our `call_id` (§2.8): Outgoing-Call-Reply "connected", `CallUp`.
    pub fn accept_call(&mut self, peer_call_id: u16, call_id: u16) -> Result<(), Error> {
        self.require(Role::Server)?;
        let i = self.pending(peer_call_id)?;
        if self.calls.by_ours(call_id).is_some() {
            return Err(Error::CallIdInUse(call_id));
        }
        let call = self
            .calls
            .get_mut(i)
            .ok_or(Error::UnknownCall(peer_call_id))?;
        call.info.call_id = Some(call_id);
        call.info.state = CallState::Established;
        call.deadline = None;
        let (peer_recv_window, peer_processing_delay) =
            (call.peer_recv_window, call.peer_processing_delay);
        self.reply_call(call_id, peer_call_id, OCRP_CONNECTED, 0);
        self.events.push_back(ControlEvent::CallUp {
            call_id,
            peer_call_id,
            peer_recv_window,
            peer_processing_delay,
            connect_speed: self.cfg.connect_speed,
        });
        Ok(())
    }

    /// PAC: refuse the call `peer_call_id` with an Outgoing-Call-Reply
    /// result (§2.8: 2 general error ... 7 do not accept; 1 is sent as 7).
    pub fn reject_call(&mut self, peer_call_id: u16, result: u8) -> Result<(), Error> {
        self.require(Role::Server)?;
        let i = self.pending(peer_call_id)?;
        self.calls.remove(i);
        let result = if result == OCRP_CONNECTED {
            OCRP_DO_NOT_ACCEPT
        } else {
            result
        };
        self.reply_call(0, peer_call_id, result, 0);
        Ok(())
    }

    /// PAC: end an established call (§3.2.4.1): Call-Disconnect-Notify
    /// with `result` (1 lost carrier, 2 general error, 3 admin shutdown)
    /// and `cause`, and `CallDown`.
    pub fn disconnect_call(&mut self, call_id: u16, result: u8, cause: u16) -> Result<(), Error> {
        self.require(Role::Server)?;
        let call = self
            .calls
            .by_ours(call_id)
            .and_then(|i| self.calls.remove(i))
            .ok_or(Error::UnknownCall(call_id))?;
        self.send_cdn(call_id, result, cause);
        self.call_down(call.info, CallDownReason::Cleared);
        Ok(())
    }
}
