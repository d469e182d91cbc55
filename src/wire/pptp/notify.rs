//! Call-Disconnect-Notify and WAN-Error-Notify (RFC 2637 §2.13, §2.14).

use super::Error;
use super::codec::{Reader, Writer};
use super::fixed_str::Str128;

// Call-Disconnect-Notify offsets (§2.13 figure); 18: Reserved1.
mod cdn {
    pub const CALL_ID: usize = 12;
    pub const RESULT: usize = 14;
    pub const ERROR: usize = 15;
    pub const CAUSE: usize = 16;
    pub const CALL_STATISTICS: usize = 20;
}

// WAN-Error-Notify offsets (§2.14 figure); 14: Reserved1.
mod wen {
    pub const PEER_CALL_ID: usize = 12;
    pub const CRC_ERRORS: usize = 16;
    pub const FRAMING_ERRORS: usize = 20;
    pub const HARDWARE_OVERRUNS: usize = 24;
    pub const BUFFER_OVERRUNS: usize = 28;
    pub const TIMEOUT_ERRORS: usize = 32;
    pub const ALIGNMENT_ERRORS: usize = 36;
}

/// Call-Disconnect-Notify, PAC to PNS (§2.13): 148 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CallDisconnectNotify {
    /// The PAC's own Call ID (§2.13: not the peer's, which the PNS may
    /// not know yet when a call is aborted during setup).
    pub call_id: u16,
    /// 1 = lost carrier, 2 = general error, 3 = admin shutdown,
    /// 4 = Call-Clear-Request received.
    pub result: u8,
    /// General error code (§2.16), 0 unless `result` is 2.
    pub error: u8,
    /// Extra disconnect information, e.g. a Q.931 cause code.
    pub cause: u16,
    /// Vendor-specific ASCII statistics for logging.
    pub call_statistics: Str128,
}

impl CallDisconnectNotify {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use cdn::*;
        Ok(CallDisconnectNotify {
            call_id: r.u16(CALL_ID)?,
            result: r.u8(RESULT)?,
            error: r.u8(ERROR)?,
            cause: r.u16(CAUSE)?,
            call_statistics: r.str(CALL_STATISTICS)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use cdn::*;
        w.u16(CALL_ID, self.call_id);
        w.u8(RESULT, self.result);
        w.u8(ERROR, self.error);
        w.u16(CAUSE, self.cause);
        w.str(CALL_STATISTICS, &self.call_statistics);
    }
}

/// WAN-Error-Notify, PAC to PNS (§2.14): 40 bytes. The counters are
/// cumulative since the call was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WanErrorNotify {
    /// The PNS's Call ID for the session.
    pub peer_call_id: u16,
    pub crc_errors: u32,
    pub framing_errors: u32,
    pub hardware_overruns: u32,
    pub buffer_overruns: u32,
    pub timeout_errors: u32,
    pub alignment_errors: u32,
}

impl WanErrorNotify {
    pub(super) fn parse(r: &Reader<'_>) -> Result<Self, Error> {
        use wen::*;
        Ok(WanErrorNotify {
            peer_call_id: r.u16(PEER_CALL_ID)?,
            crc_errors: r.u32(CRC_ERRORS)?,
            framing_errors: r.u32(FRAMING_ERRORS)?,
            hardware_overruns: r.u32(HARDWARE_OVERRUNS)?,
            buffer_overruns: r.u32(BUFFER_OVERRUNS)?,
            timeout_errors: r.u32(TIMEOUT_ERRORS)?,
            alignment_errors: r.u32(ALIGNMENT_ERRORS)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) {
        use wen::*;
        w.u16(PEER_CALL_ID, self.peer_call_id);
        w.u32(CRC_ERRORS, self.crc_errors);
        w.u32(FRAMING_ERRORS, self.framing_errors);
        w.u32(HARDWARE_OVERRUNS, self.hardware_overruns);
        w.u32(BUFFER_OVERRUNS, self.buffer_overruns);
        w.u32(TIMEOUT_ERRORS, self.timeout_errors);
        w.u32(ALIGNMENT_ERRORS, self.alignment_errors);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::super::testutil::{cat, check, pad};
    use super::*;

    #[test]
    fn cdn() {
        let b = cat(&[
            &[0x00, 0x94, 0x00, 0x01], // length 148, control message
            &[0x1a, 0x2b, 0x3c, 0x4d], // magic cookie
            &[0x00, 0x0d, 0x00, 0x00], // CDN, reserved0
            &[0xca, 0xfe, 0x04, 0x00], // call id 0xcafe @12, result 4 @14, error 0
            &[0x00, 0x10, 0x00, 0x00], // cause 16, reserved1
            &pad(b"rx 10 tx 12", 128),
        ]);
        assert_eq!(b.len(), 148);
        let expected = Message::CallDisconnectNotify(CallDisconnectNotify {
            call_id: 0xcafe,
            result: 4,
            error: 0,
            cause: 16,
            call_statistics: "rx 10 tx 12".into(),
        });
        check(&b, &expected);
    }

    #[test]
    fn wen() {
        let b = [
            0x00, 0x28, 0x00, 0x01, // length 40, control message
            0x1a, 0x2b, 0x3c, 0x4d, // magic cookie
            0x00, 0x0e, 0x00, 0x00, // WEN, reserved0
            0x43, 0x21, 0x00, 0x00, // peer call id 0x4321 @12, reserved1
            0x00, 0x00, 0x00, 0x01, // CRC errors
            0x00, 0x00, 0x00, 0x02, // framing errors
            0x00, 0x00, 0x00, 0x03, // hardware overruns
            0x00, 0x00, 0x01, 0x00, // buffer overruns
            0x00, 0x01, 0x00, 0x00, // time-out errors
            0xff, 0xff, 0xff, 0xff, // alignment errors
        ];
        let expected = Message::WanErrorNotify(WanErrorNotify {
            peer_call_id: 0x4321,
            crc_errors: 1,
            framing_errors: 2,
            hardware_overruns: 3,
            buffer_overruns: 256,
            timeout_errors: 65536,
            alignment_errors: u32::MAX,
        });
        check(&b, &expected);
    }
}
