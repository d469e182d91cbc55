//! Incoming-Call-Request, -Reply and -Connected (RFC 2637 §2.9-§2.11).

use super::Error;
use super::codec::{Reader, Writer};
use super::fixed_str::Str64;

// Incoming-Call-Request offsets (§2.9 figure).
mod icrq {
    pub const CALL_ID: usize = 12;
    pub const CALL_SERIAL: usize = 14;
    pub const BEARER_TYPE: usize = 16;
    pub const PHYSICAL_CHANNEL_ID: usize = 20;
    pub const DIALED_NUMBER_LEN: usize = 24;
    pub const DIALING_NUMBER_LEN: usize = 26;
    pub const DIALED_NUMBER: usize = 28;
    pub const DIALING_NUMBER: usize = 92;
    pub const SUBADDRESS: usize = 156;
}

// Incoming-Call-Reply offsets (§2.10 figure); 22: Reserved1.
mod icrp {
    pub const CALL_ID: usize = 12;
    pub const PEER_CALL_ID: usize = 14;
    pub const RESULT: usize = 16;
    pub const ERROR: usize = 17;
    pub const RECV_WINDOW: usize = 18;
    pub const TRANSMIT_DELAY: usize = 20;
}

// Incoming-Call-Connected offsets (§2.11 figure); 14: Reserved1.
mod iccn {
    pub const PEER_CALL_ID: usize = 12;
    pub const CONNECT_SPEED: usize = 16;
    pub const RECV_WINDOW: usize = 20;
    pub const TRANSMIT_DELAY: usize = 22;
    pub const FRAMING_TYPE: usize = 24;
}

/// Incoming-Call-Request, PAC to PNS (§2.9): 220 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IncomingCallRequest {
    /// The PAC's own Call ID.
    pub call_id: u16,
    /// Logging identifier both ends associate with the session.
    pub call_serial: u16,
    /// 1 = analog channel, 2 = digital channel.
    pub bearer_type: u32,
    /// Vendor-specific physical channel the call arrived on.
    pub physical_channel_id: u32,
    /// Valid digits in `dialed_number`, as sent.
    pub dialed_number_len: u16,
    /// Valid digits in `dialing_number`, as sent.
    pub dialing_number_len: u16,
    /// Number the caller dialed.
    pub dialed_number: Str64,
    /// Number the call came from.
    pub dialing_number: Str64,
    /// Additional dialing information.
    pub subaddress: Str64,
}

impl IncomingCallRequest {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use icrq::*;
        Ok(IncomingCallRequest {
            call_id: r.u16(CALL_ID)?,
            call_serial: r.u16(CALL_SERIAL)?,
            bearer_type: r.u32(BEARER_TYPE)?,
            physical_channel_id: r.u32(PHYSICAL_CHANNEL_ID)?,
            dialed_number_len: r.u16(DIALED_NUMBER_LEN)?,
            dialing_number_len: r.u16(DIALING_NUMBER_LEN)?,
            dialed_number: r.str(DIALED_NUMBER)?,
            dialing_number: r.str(DIALING_NUMBER)?,
            subaddress: r.str(SUBADDRESS)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use icrq::*;
        w.u16(CALL_ID, self.call_id);
        w.u16(CALL_SERIAL, self.call_serial);
        w.u32(BEARER_TYPE, self.bearer_type);
        w.u32(PHYSICAL_CHANNEL_ID, self.physical_channel_id);
        w.u16(DIALED_NUMBER_LEN, self.dialed_number_len);
        w.u16(DIALING_NUMBER_LEN, self.dialing_number_len);
        w.str(DIALED_NUMBER, &self.dialed_number);
        w.str(DIALING_NUMBER, &self.dialing_number);
        w.str(SUBADDRESS, &self.subaddress);
    }
}

/// Incoming-Call-Reply, PNS to PAC (§2.10): 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IncomingCallReply {
    /// The PNS's own Call ID.
    pub call_id: u16,
    /// The Call ID from the matching Incoming-Call-Request.
    pub peer_call_id: u16,
    /// 1 = connect, 2 = general error, 3 = do not accept.
    pub result: u8,
    /// General error code (§2.16), 0 unless `result` is 2.
    pub error: u8,
    /// Data packets the PNS will buffer (§4.2 window). The RFC's text
    /// says "PAC" here, but the sender of this message is the PNS.
    pub packet_recv_window_size: u16,
    /// Delay the PNS imposes on data sent to it, in 1/10 s (the RFC's
    /// text says "PAC" here as well).
    pub packet_transmit_delay: u16,
}

impl IncomingCallReply {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use icrp::*;
        Ok(IncomingCallReply {
            call_id: r.u16(CALL_ID)?,
            peer_call_id: r.u16(PEER_CALL_ID)?,
            result: r.u8(RESULT)?,
            error: r.u8(ERROR)?,
            packet_recv_window_size: r.u16(RECV_WINDOW)?,
            packet_transmit_delay: r.u16(TRANSMIT_DELAY)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use icrp::*;
        w.u16(CALL_ID, self.call_id);
        w.u16(PEER_CALL_ID, self.peer_call_id);
        w.u8(RESULT, self.result);
        w.u8(ERROR, self.error);
        w.u16(RECV_WINDOW, self.packet_recv_window_size);
        w.u16(TRANSMIT_DELAY, self.packet_transmit_delay);
    }
}

/// Incoming-Call-Connected, PAC to PNS (§2.11): 28 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IncomingCallConnected {
    /// The PNS's Call ID from the Incoming-Call-Reply.
    pub peer_call_id: u16,
    /// Actual connection speed, bits/s.
    pub connect_speed: u32,
    /// Data packets the PAC will buffer (§4.2 window).
    pub packet_recv_window_size: u16,
    /// Processing delay at the PAC, in 1/10 s.
    pub packet_transmit_delay: u16,
    /// 1 = asynchronous, 2 = synchronous framing.
    pub framing_type: u32,
}

impl IncomingCallConnected {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use iccn::*;
        Ok(IncomingCallConnected {
            peer_call_id: r.u16(PEER_CALL_ID)?,
            connect_speed: r.u32(CONNECT_SPEED)?,
            packet_recv_window_size: r.u16(RECV_WINDOW)?,
            packet_transmit_delay: r.u16(TRANSMIT_DELAY)?,
            framing_type: r.u32(FRAMING_TYPE)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use iccn::*;
        w.u16(PEER_CALL_ID, self.peer_call_id);
        w.u32(CONNECT_SPEED, self.connect_speed);
        w.u16(RECV_WINDOW, self.packet_recv_window_size);
        w.u16(TRANSMIT_DELAY, self.packet_transmit_delay);
        w.u32(FRAMING_TYPE, self.framing_type);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::super::testutil::{cat, check, pad};
    use super::*;

    #[test]
    fn icrq() {
        let b = cat(&[
            &[0x00, 0xdc, 0x00, 0x01], // length 220, control message
            &[0x1a, 0x2b, 0x3c, 0x4d], // magic cookie
            &[0x00, 0x09, 0x00, 0x00], // ICRQ, reserved0
            &[0xbe, 0xef, 0x00, 0x2a], // call id 0xbeef @12, serial 42 @14
            &[0x00, 0x00, 0x00, 0x02], // bearer: digital
            &[0x00, 0x00, 0x01, 0x00], // physical channel 256
            &[0x00, 0x03, 0x00, 0x0a], // dialed length 3, dialing length 10
            &pad(b"911", 64),
            &pad(b"0123456789", 64),
            &pad(b"sub", 64),
        ]);
        assert_eq!(b.len(), 220);
        let expected = Message::IncomingCallRequest(IncomingCallRequest {
            call_id: 0xbeef,
            call_serial: 42,
            bearer_type: 2,
            physical_channel_id: 256,
            dialed_number_len: 3,
            dialing_number_len: 10,
            dialed_number: "911".into(),
            dialing_number: "0123456789".into(),
            subaddress: "sub".into(),
        });
        check(&b, &expected);
    }

    #[test]
    fn icrp() {
        let b = [
            0x00, 0x18, 0x00, 0x01, // length 24, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x0a, 0x00, 0x00, // ICRP, reserved0
            0x01, 0x02, 0xbe, 0xef, // call id 0x0102 @12, peer 0xbeef @14
            0x02, 0x05, 0x00, 0x40, // result 2, error 5, window 64
            0x00, 0x03, 0x00, 0x00, // transmit delay 3, reserved1
        ];
        let expected = Message::IncomingCallReply(IncomingCallReply {
            call_id: 0x0102,
            peer_call_id: 0xbeef,
            result: 2,
            error: 5,
            packet_recv_window_size: 64,
            packet_transmit_delay: 3,
        });
        check(&b, &expected);
    }

    #[test]
    fn iccn() {
        let b = [
            0x00, 0x1c, 0x00, 0x01, // length 28, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x0b, 0x00, 0x00, // ICCN, reserved0
            0x01, 0x02, 0x00, 0x00, // peer call id 0x0102 @12, reserved1
            0x00, 0x00, 0xfa, 0x00, // connect speed 64000
            0x00, 0x08, 0x00, 0x01, // window 8, transmit delay 1
            0x00, 0x00, 0x00, 0x01, // framing: async
        ];
        let expected = Message::IncomingCallConnected(IncomingCallConnected {
            peer_call_id: 0x0102,
            connect_speed: 64000,
            packet_recv_window_size: 8,
            packet_transmit_delay: 1,
            framing_type: 1,
        });
        check(&b, &expected);
    }
}
