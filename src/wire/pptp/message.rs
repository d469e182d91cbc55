//! Typed form of the fifteen control messages (RFC 2637 §2.1-§2.15).

use super::Error;
use super::codec::{Reader, Writer};
use super::control::StartControl;
use super::header::{ControlType, Header, MAGIC_COOKIE, MESSAGE_TYPE_CONTROL};
use super::incoming::{IncomingCallConnected, IncomingCallReply, IncomingCallRequest};
use super::notify::{CallDisconnectNotify, WanErrorNotify};
use super::outgoing::{OutgoingCallReply, OutgoingCallRequest};

/// The longest control message (Incoming-Call-Request, §2.9).
pub const MAX_MESSAGE_LEN: usize = 220;

// Common header (§2.1 figure); 10: Reserved0.
const LENGTH: usize = 0;
const PPTP_MESSAGE_TYPE: usize = 2;
const MAGIC: usize = 4;
const CONTROL_MESSAGE_TYPE: usize = 8;

// The small messages' single fields, all right after the header.
const STOP_REASON: usize = 12; // §2.3
const STOP_RESULT: usize = 12; // §2.4
const STOP_ERROR: usize = 13;
const ECHO_IDENTIFIER: usize = 12; // §2.5, §2.6
const ECHO_RESULT: usize = 16; // §2.6
const ECHO_ERROR: usize = 17;
const CCRQ_CALL_ID: usize = 12; // §2.12
const SLI_PEER_CALL_ID: usize = 12; // §2.15
const SLI_SEND_ACCM: usize = 16;
const SLI_RECEIVE_ACCM: usize = 20;

/// One control message. Reserved fields are not represented: they are
/// ignored on parse and emitted as 0, as §2 requires of senders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// §2.1, 156 bytes; `result` and `error` are always 0.
    StartControlConnectionRequest(StartControl),
    /// §2.2, 156 bytes.
    StartControlConnectionReply(StartControl),
    /// §2.3, 16 bytes. Reason: 1 = none, 2 = stop protocol,
    /// 3 = local shutdown.
    StopControlConnectionRequest { reason: u8 },
    /// §2.4, 16 bytes. Result: 1 = OK, 2 = general error.
    StopControlConnectionReply { result: u8, error: u8 },
    /// §2.5, 16 bytes: keep-alive.
    EchoRequest { identifier: u32 },
    /// §2.6, 20 bytes; `identifier` copied from the request.
    EchoReply {
        identifier: u32,
        result: u8,
        error: u8,
    },
    /// §2.7, 168 bytes.
    OutgoingCallRequest(OutgoingCallRequest),
    /// §2.8, 32 bytes.
    OutgoingCallReply(OutgoingCallReply),
    /// §2.9, 220 bytes.
    IncomingCallRequest(IncomingCallRequest),
    /// §2.10, 24 bytes.
    IncomingCallReply(IncomingCallReply),
    /// §2.11, 28 bytes.
    IncomingCallConnected(IncomingCallConnected),
    /// §2.12, 16 bytes; the PNS's own Call ID.
    CallClearRequest { call_id: u16 },
    /// §2.13, 148 bytes.
    CallDisconnectNotify(CallDisconnectNotify),
    /// §2.14, 40 bytes.
    WanErrorNotify(WanErrorNotify),
    /// §2.15, 24 bytes: PPP-negotiated ACCMs for the PAC's framing.
    SetLinkInfo {
        peer_call_id: u16,
        send_accm: u32,
        receive_accm: u32,
    },
}

impl Message {
    /// Parse exactly one whole message: `buf.len()` must equal the length
    /// field, which must be the fixed size of the message type (§2).
    pub fn parse(buf: &[u8]) -> Result<Message, Error> {
        let header = Header::new_checked(buf)?;
        let len = usize::from(header.length());
        if buf.len() < len {
            return Err(Error::Truncated {
                have: buf.len(),
                need: len,
            });
        }
        if buf.len() > len {
            return Err(Error::TrailingBytes {
                len,
                extra: buf.len().saturating_sub(len),
            });
        }
        let r = Reader::new(buf);
        use ControlType as T;
        Ok(match header.control_type() {
            T::StartControlConnectionRequest => {
                Message::StartControlConnectionRequest(StartControl::parse(&r, false)?)
            }
            T::StartControlConnectionReply => {
                Message::StartControlConnectionReply(StartControl::parse(&r, true)?)
            }
            T::StopControlConnectionRequest => Message::StopControlConnectionRequest {
                reason: r.u8(STOP_REASON)?,
            },
            T::StopControlConnectionReply => Message::StopControlConnectionReply {
                result: r.u8(STOP_RESULT)?,
                error: r.u8(STOP_ERROR)?,
            },
            T::EchoRequest => Message::EchoRequest {
                identifier: r.u32(ECHO_IDENTIFIER)?,
            },
            T::EchoReply => Message::EchoReply {
                identifier: r.u32(ECHO_IDENTIFIER)?,
                result: r.u8(ECHO_RESULT)?,
                error: r.u8(ECHO_ERROR)?,
            },
            T::OutgoingCallRequest => Message::OutgoingCallRequest(OutgoingCallRequest::parse(&r)?),
            T::OutgoingCallReply => Message::OutgoingCallReply(OutgoingCallReply::parse(&r)?),
            T::IncomingCallRequest => Message::IncomingCallRequest(IncomingCallRequest::parse(&r)?),
            T::IncomingCallReply => Message::IncomingCallReply(IncomingCallReply::parse(&r)?),
            T::IncomingCallConnected => {
                Message::IncomingCallConnected(IncomingCallConnected::parse(&r)?)
            }
            T::CallClearRequest => Message::CallClearRequest {
                call_id: r.u16(CCRQ_CALL_ID)?,
            },
            T::CallDisconnectNotify => {
                Message::CallDisconnectNotify(CallDisconnectNotify::parse(&r)?)
            }
            T::WanErrorNotify => Message::WanErrorNotify(WanErrorNotify::parse(&r)?),
            T::SetLinkInfo => Message::SetLinkInfo {
                peer_call_id: r.u16(SLI_PEER_CALL_ID)?,
                send_accm: r.u32(SLI_SEND_ACCM)?,
                receive_accm: r.u32(SLI_RECEIVE_ACCM)?,
            },
        })
    }

    /// The control message type this message is sent as.
    pub fn control_type(&self) -> ControlType {
        use ControlType as T;
        match self {
            Message::StartControlConnectionRequest(_) => T::StartControlConnectionRequest,
            Message::StartControlConnectionReply(_) => T::StartControlConnectionReply,
            Message::StopControlConnectionRequest { .. } => T::StopControlConnectionRequest,
            Message::StopControlConnectionReply { .. } => T::StopControlConnectionReply,
            Message::EchoRequest { .. } => T::EchoRequest,
            Message::EchoReply { .. } => T::EchoReply,
            Message::OutgoingCallRequest(_) => T::OutgoingCallRequest,
            Message::OutgoingCallReply(_) => T::OutgoingCallReply,
            Message::IncomingCallRequest(_) => T::IncomingCallRequest,
            Message::IncomingCallReply(_) => T::IncomingCallReply,
            Message::IncomingCallConnected(_) => T::IncomingCallConnected,
            Message::CallClearRequest { .. } => T::CallClearRequest,
            Message::CallDisconnectNotify(_) => T::CallDisconnectNotify,
            Message::WanErrorNotify(_) => T::WanErrorNotify,
            Message::SetLinkInfo { .. } => T::SetLinkInfo,
        }
    }

    /// Bytes `emit` writes: the type's fixed size, header included.
    pub fn buffer_len(&self) -> usize {
        usize::from(self.control_type().fixed_len())
    }

    /// Write the message, header and magic cookie included, into the first
    /// `buffer_len()` bytes of `out`; bytes after those are left alone.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), Error> {
        let need = self.buffer_len();
        let have = out.len();
        match out.get_mut(..need) {
            Some(out) => {
                self.emit_exact(out);
                Ok(())
            }
            None => Err(Error::BufferTooSmall { have, need }),
        }
    }

    /// The message as a freshly allocated buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0; self.buffer_len()];
        self.emit_exact(&mut out);
        out
    }

    /// `out` is exactly `buffer_len()` bytes.
    fn emit_exact(&self, out: &mut [u8]) {
        // Reserved fields are whatever is not written below.
        out.fill(0);
        let ty = self.control_type();
        let mut w = Writer::new(out);
        w.u16(LENGTH, ty.fixed_len());
        w.u16(PPTP_MESSAGE_TYPE, MESSAGE_TYPE_CONTROL);
        w.u32(MAGIC, MAGIC_COOKIE);
        w.u16(CONTROL_MESSAGE_TYPE, ty as u16);
        match self {
            Message::StartControlConnectionRequest(s) => s.emit(&mut w, false),
            Message::StartControlConnectionReply(s) => s.emit(&mut w, true),
            Message::StopControlConnectionRequest { reason } => w.u8(STOP_REASON, *reason),
            Message::StopControlConnectionReply { result, error } => {
                w.u8(STOP_RESULT, *result);
                w.u8(STOP_ERROR, *error);
            }
            Message::EchoRequest { identifier } => w.u32(ECHO_IDENTIFIER, *identifier),
            Message::EchoReply {
                identifier,
                result,
                error,
            } => {
                w.u32(ECHO_IDENTIFIER, *identifier);
                w.u8(ECHO_RESULT, *result);
                w.u8(ECHO_ERROR, *error);
            }
            Message::OutgoingCallRequest(m) => m.emit(&mut w),
            Message::OutgoingCallReply(m) => m.emit(&mut w),
            Message::IncomingCallRequest(m) => m.emit(&mut w),
            Message::IncomingCallReply(m) => m.emit(&mut w),
            Message::IncomingCallConnected(m) => m.emit(&mut w),
            Message::CallClearRequest { call_id } => w.u16(CCRQ_CALL_ID, *call_id),
            Message::CallDisconnectNotify(m) => m.emit(&mut w),
            Message::WanErrorNotify(m) => m.emit(&mut w),
            Message::SetLinkInfo {
                peer_call_id,
                send_accm,
                receive_accm,
            } => {
                w.u16(SLI_PEER_CALL_ID, *peer_call_id);
                w.u32(SLI_SEND_ACCM, *send_accm);
                w.u32(SLI_RECEIVE_ACCM, *receive_accm);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check;
    use super::*;

    #[test]
    fn stop_control_connection_request() {
        let b = [
            0x00, 0x10, 0x00, 0x01, // length 16, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x03, 0x00, 0x00, // StopCCRQ, reserved0
            0x03, 0x00, 0x00, 0x00, // reason 3, reserved1, reserved2
        ];
        check(&b, &Message::StopControlConnectionRequest { reason: 3 });
    }

    #[test]
    fn stop_control_connection_reply() {
        let b = [
            0x00, 0x10, 0x00, 0x01, // length 16, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x04, 0x00, 0x00, // StopCCRP, reserved0
            0x02, 0x03, 0x00, 0x00, // result 2, error 3, reserved1
        ];
        let m = Message::StopControlConnectionReply {
            result: 2,
            error: 3,
        };
        check(&b, &m);
    }

    #[test]
    fn echo_request() {
        let b = [
            0x00, 0x10, 0x00, 0x01, // length 16, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x05, 0x00, 0x00, // EchoRQ, reserved0
            0x89, 0xab, 0xcd, 0xef, // identifier
        ];
        check(
            &b,
            &Message::EchoRequest {
                identifier: 0x89ab_cdef,
            },
        );
    }

    #[test]
    fn echo_reply() {
        let b = [
            0x00, 0x14, 0x00, 0x01, // length 20, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x06, 0x00, 0x00, // EchoRP, reserved0
            0x89, 0xab, 0xcd, 0xef, // identifier
            0x01, 0x00, 0x00, 0x00, // result 1, error 0, reserved1
        ];
        let m = Message::EchoReply {
            identifier: 0x89ab_cdef,
            result: 1,
            error: 0,
        };
        check(&b, &m);
    }

    #[test]
    fn call_clear_request() {
        let b = [
            0x00, 0x10, 0x00, 0x01, // length 16, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x0c, 0x00, 0x00, // CCRQ, reserved0
            0xfe, 0xdc, 0x00, 0x00, // call id 0xfedc @12, reserved1
        ];
        check(&b, &Message::CallClearRequest { call_id: 0xfedc });
    }

    #[test]
    fn set_link_info() {
        let b = [
            0x00, 0x18, 0x00, 0x01, // length 24, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x0f, 0x00, 0x00, // SLI, reserved0
            0x00, 0x07, 0x00, 0x00, // peer call id 7 @12, reserved1
            0xff, 0xff, 0xff, 0xff, // send ACCM
            0x00, 0x0a, 0x00, 0x00, // receive ACCM
        ];
        let m = Message::SetLinkInfo {
            peer_call_id: 7,
            send_accm: 0xffff_ffff,
            receive_accm: 0x000a_0000,
        };
        check(&b, &m);
    }
}
