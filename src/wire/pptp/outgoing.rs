//! Outgoing-Call-Request and -Reply (RFC 2637 §2.7, §2.8).

use super::Error;
use super::codec::{Reader, Writer};
use super::fixed_str::Str64;

// Outgoing-Call-Request offsets (§2.7 figure).
mod ocrq {
    pub const CALL_ID: usize = 12;
    pub const CALL_SERIAL: usize = 14;
    pub const MIN_BPS: usize = 16;
    pub const MAX_BPS: usize = 20;
    pub const BEARER_TYPE: usize = 24;
    pub const FRAMING_TYPE: usize = 28;
    pub const RECV_WINDOW: usize = 32;
    pub const PROCESSING_DELAY: usize = 34;
    pub const PHONE_NUMBER_LEN: usize = 36;
    // 38: Reserved1
    pub const PHONE_NUMBER: usize = 40;
    pub const SUBADDRESS: usize = 104;
}

// Outgoing-Call-Reply offsets (§2.8 figure).
mod ocrp {
    pub const CALL_ID: usize = 12;
    pub const PEER_CALL_ID: usize = 14;
    pub const RESULT: usize = 16;
    pub const ERROR: usize = 17;
    pub const CAUSE: usize = 18;
    pub const CONNECT_SPEED: usize = 20;
    pub const RECV_WINDOW: usize = 24;
    pub const PROCESSING_DELAY: usize = 26;
    pub const PHYSICAL_CHANNEL_ID: usize = 28;
}

/// Outgoing-Call-Request, PNS to PAC (§2.7): 168 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OutgoingCallRequest {
    /// The PNS's own Call ID; the PAC puts it in GRE packets it sends.
    pub call_id: u16,
    /// Logging identifier both ends associate with the session.
    pub call_serial: u16,
    /// Lowest acceptable line speed, bits/s.
    pub min_bps: u32,
    /// Highest acceptable line speed, bits/s.
    pub max_bps: u32,
    /// 1 = analog, 2 = digital, 3 = any.
    pub bearer_type: u32,
    /// 1 = asynchronous, 2 = synchronous, 3 = either.
    pub framing_type: u32,
    /// Data packets the PNS will buffer (§4.2 window).
    pub packet_recv_window_size: u16,
    /// Processing delay at the PNS, in 1/10 s (§4.4).
    pub packet_processing_delay: u16,
    /// Number of valid digits in `phone_number`, as sent (not derived).
    pub phone_number_len: u16,
    /// Number to dial.
    pub phone_number: Str64,
    /// Additional dialing information.
    pub subaddress: Str64,
}

impl OutgoingCallRequest {
    /// A VPN call request as PPTP clients send it: any bearer and framing,
    /// 300 bit/s to 100 Mbit/s, a 64-packet window, no number to dial.
    pub fn vpn(call_id: u16) -> Self {
        OutgoingCallRequest {
            call_id,
            call_serial: call_id,
            min_bps: 300,
            max_bps: 100_000_000,
            bearer_type: 3,
            framing_type: 3,
            packet_recv_window_size: 64,
            ..OutgoingCallRequest::default()
        }
    }

    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use ocrq::*;
        Ok(OutgoingCallRequest {
            call_id: r.u16(CALL_ID)?,
            call_serial: r.u16(CALL_SERIAL)?,
            min_bps: r.u32(MIN_BPS)?,
            max_bps: r.u32(MAX_BPS)?,
            bearer_type: r.u32(BEARER_TYPE)?,
            framing_type: r.u32(FRAMING_TYPE)?,
            packet_recv_window_size: r.u16(RECV_WINDOW)?,
            packet_processing_delay: r.u16(PROCESSING_DELAY)?,
            phone_number_len: r.u16(PHONE_NUMBER_LEN)?,
            phone_number: r.str(PHONE_NUMBER)?,
            subaddress: r.str(SUBADDRESS)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use ocrq::*;
        w.u16(CALL_ID, self.call_id);
        w.u16(CALL_SERIAL, self.call_serial);
        w.u32(MIN_BPS, self.min_bps);
        w.u32(MAX_BPS, self.max_bps);
        w.u32(BEARER_TYPE, self.bearer_type);
        w.u32(FRAMING_TYPE, self.framing_type);
        w.u16(RECV_WINDOW, self.packet_recv_window_size);
        w.u16(PROCESSING_DELAY, self.packet_processing_delay);
        w.u16(PHONE_NUMBER_LEN, self.phone_number_len);
        w.str(PHONE_NUMBER, &self.phone_number);
        w.str(SUBADDRESS, &self.subaddress);
    }
}

/// Outgoing-Call-Reply, PAC to PNS (§2.8): 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OutgoingCallReply {
    /// The PAC's own Call ID; the PNS puts it in GRE packets it sends.
    pub call_id: u16,
    /// The Call ID from the matching Outgoing-Call-Request.
    pub peer_call_id: u16,
    /// 1 = connected, 2 = general error, 3 = no carrier, 4 = busy,
    /// 5 = no dial tone, 6 = time-out, 7 = do not accept.
    pub result: u8,
    /// General error code (§2.16), 0 unless `result` is 2.
    pub error: u8,
    /// Extra failure information, e.g. a Q.931 cause code.
    pub cause: u16,
    /// Actual connection speed, bits/s.
    pub connect_speed: u32,
    /// Data packets the PAC will buffer (§4.2 window).
    pub packet_recv_window_size: u16,
    /// Processing delay at the PAC, in 1/10 s (§4.4).
    pub packet_processing_delay: u16,
    /// Vendor-specific physical channel number, for logging.
    pub physical_channel_id: u32,
}

impl OutgoingCallReply {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use ocrp::*;
        Ok(OutgoingCallReply {
            call_id: r.u16(CALL_ID)?,
            peer_call_id: r.u16(PEER_CALL_ID)?,
            result: r.u8(RESULT)?,
            error: r.u8(ERROR)?,
            cause: r.u16(CAUSE)?,
            connect_speed: r.u32(CONNECT_SPEED)?,
            packet_recv_window_size: r.u16(RECV_WINDOW)?,
            packet_processing_delay: r.u16(PROCESSING_DELAY)?,
            physical_channel_id: r.u32(PHYSICAL_CHANNEL_ID)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use ocrp::*;
        w.u16(CALL_ID, self.call_id);
        w.u16(PEER_CALL_ID, self.peer_call_id);
        w.u8(RESULT, self.result);
        w.u8(ERROR, self.error);
        w.u16(CAUSE, self.cause);
        w.u32(CONNECT_SPEED, self.connect_speed);
        w.u16(RECV_WINDOW, self.packet_recv_window_size);
        w.u16(PROCESSING_DELAY, self.packet_processing_delay);
        w.u32(PHYSICAL_CHANNEL_ID, self.physical_channel_id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::super::testutil::{cat, check, pad};
    use super::*;

    #[test]
    fn ocrq() {
        let b = cat(&[
            &[0x00, 0xa8, 0x00, 0x01], // length 168, control message
            &[0x1a, 0x2b, 0x3c, 0x4d], // magic cookie
            &[0x00, 0x07, 0x00, 0x00], // OCRQ, reserved0
            &[0x12, 0x34, 0x56, 0x78], // call id 0x1234 @12, serial 0x5678 @14
            &[0x00, 0x00, 0x0b, 0xb8], // min bps 3000
            &[0x05, 0xf5, 0xe1, 0x00], // max bps 100 000 000
            &[0x00, 0x00, 0x00, 0x03], // bearer: any
            &[0x00, 0x00, 0x00, 0x03], // framing: either
            &[0x00, 0x40, 0x00, 0x00], // window 64, delay 0
            &[0x00, 0x07, 0x00, 0x00], // phone number length 7, reserved1
            &pad(b"5551234", 64),
            &pad(b"ext9", 64),
        ]);
        assert_eq!(b.len(), 168);
        let expected = Message::OutgoingCallRequest(OutgoingCallRequest {
            call_id: 0x1234,
            call_serial: 0x5678,
            min_bps: 3000,
            max_bps: 100_000_000,
            bearer_type: 3,
            framing_type: 3,
            packet_recv_window_size: 64,
            packet_processing_delay: 0,
            phone_number_len: 7,
            phone_number: "5551234".into(),
            subaddress: "ext9".into(),
        });
        check(&b, &expected);
    }

    #[test]
    fn ocrq_ignores_reserved() {
        let mut b = Message::OutgoingCallRequest(OutgoingCallRequest::default()).to_bytes();
        b[10] = 0xff; // reserved0
        b[38] = 0xff; // reserved1
        assert_eq!(
            Message::parse(&b),
            Ok(Message::OutgoingCallRequest(OutgoingCallRequest::default()))
        );
    }

    #[test]
    fn ocrp() {
        let b = [
            0x00, 0x20, 0x00, 0x01, // length 32, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x08, 0x00, 0x00, // OCRP, reserved0
            0x00, 0x00, 0x12, 0x34, // call id 0 @12 (pptpd), peer 0x1234 @14
            0x01, 0x00, 0xab, 0xcd, // result 1 @16, error 0 @17, cause 0xabcd @18
            0x3b, 0x9a, 0xca, 0x00, // connect speed 1e9
            0x00, 0x10, 0x00, 0x05, // window 16, delay 5
            0xde, 0xad, 0xbe, 0xef, // physical channel id
        ];
        let expected = Message::OutgoingCallReply(OutgoingCallReply {
            call_id: 0,
            peer_call_id: 0x1234,
            result: 1,
            error: 0,
            cause: 0xabcd,
            connect_speed: 1_000_000_000,
            packet_recv_window_size: 16,
            packet_processing_delay: 5,
            physical_channel_id: 0xdead_beef,
        });
        check(&b, &expected);
    }
}
