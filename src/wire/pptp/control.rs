//! Start-Control-Connection-Request and -Reply (RFC 2637 §2.1, §2.2).

use super::Error;
use super::codec::{Reader, Writer};
use super::fixed_str::Str64;

// Offsets from the start of the message (§2.1 figure); the reply puts
// Result Code and Error Code where the request has Reserved1 (§2.2).
const PROTOCOL_VERSION: usize = 12;
const RESULT: usize = 14;
const ERROR: usize = 15;
const FRAMING_CAPABILITIES: usize = 16;
const BEARER_CAPABILITIES: usize = 20;
const MAXIMUM_CHANNELS: usize = 24;
const FIRMWARE_REVISION: usize = 26;
const HOST_NAME: usize = 28;
const VENDOR: usize = 92;

/// Body of Start-Control-Connection-Request and -Reply, which share one
/// 156-byte layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StartControl {
    /// PPTP version the sender wishes to use (0x0100 for version 1.0).
    pub protocol_version: u16,
    /// Reply only (§2.2): 1 = success, 2 = general error (see `error`),
    /// 3 = already exists, 4 = not authorized, 5 = bad version. A request
    /// carries Reserved1 here: it is emitted as 0 and parsed as 0.
    pub result: u8,
    /// Reply only: general error code (§2.16), 0 unless `result` is 2.
    pub error: u8,
    /// Bit 1 = asynchronous framing, bit 2 = synchronous framing.
    pub framing_capabilities: u32,
    /// Bit 1 = analog access, bit 2 = digital access.
    pub bearer_capabilities: u32,
    /// PPP sessions the PAC supports; a PNS sends 0.
    pub maximum_channels: u16,
    /// PAC firmware revision or PNS driver version.
    pub firmware_revision: u16,
    /// DNS name of the sender.
    pub host_name: Str64,
    /// Vendor string describing the sender's implementation.
    pub vendor: Str64,
}

impl StartControl {
    /// `reply` selects §2.2 (result and error codes) over §2.1 (reserved).
    pub(super) fn parse(r: &Reader<'_>, reply: bool) -> Result<Self, Error> {
        let (result, error) = if reply {
            (r.u8(RESULT)?, r.u8(ERROR)?)
        } else {
            (0, 0)
        };
        Ok(StartControl {
            protocol_version: r.u16(PROTOCOL_VERSION)?,
            result,
            error,
            framing_capabilities: r.u32(FRAMING_CAPABILITIES)?,
            bearer_capabilities: r.u32(BEARER_CAPABILITIES)?,
            maximum_channels: r.u16(MAXIMUM_CHANNELS)?,
            firmware_revision: r.u16(FIRMWARE_REVISION)?,
            host_name: r.str(HOST_NAME)?,
            vendor: r.str(VENDOR)?,
        })
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>, reply: bool) {
        w.u16(PROTOCOL_VERSION, self.protocol_version);
        if reply {
            w.u8(RESULT, self.result);
            w.u8(ERROR, self.error);
        }
        w.u32(FRAMING_CAPABILITIES, self.framing_capabilities);
        w.u32(BEARER_CAPABILITIES, self.bearer_capabilities);
        w.u16(MAXIMUM_CHANNELS, self.maximum_channels);
        w.u16(FIRMWARE_REVISION, self.firmware_revision);
        w.str(HOST_NAME, &self.host_name);
        w.str(VENDOR, &self.vendor);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Message;
    use super::super::testutil::{cat, check, pad};
    use super::*;

    fn sccrq_bytes() -> Vec<u8> {
        cat(&[
            &[0x00, 0x9c, 0x00, 0x01], // length 156, control message
            &[0x1a, 0x2b, 0x3c, 0x4d], // magic cookie
            &[0x00, 0x01, 0x00, 0x00], // SCCRQ, reserved0
            &[0x01, 0x00, 0x00, 0x00], // version 1.0, reserved1
            &[0x00, 0x00, 0x00, 0x01], // framing: async
            &[0x00, 0x00, 0x00, 0x01], // bearer: analog
            &[0x00, 0x00, 0x00, 0x01], // max channels 0, firmware 1
            &pad(b"local", 64),
            &pad(b"cananian", 64),
        ])
    }

    #[test]
    fn sccrq() {
        let b = sccrq_bytes();
        assert_eq!(b.len(), 156);
        let expected = Message::StartControlConnectionRequest(StartControl {
            protocol_version: 0x0100,
            result: 0,
            error: 0,
            framing_capabilities: 1,
            bearer_capabilities: 1,
            maximum_channels: 0,
            firmware_revision: 1,
            host_name: "local".into(),
            vendor: "cananian".into(),
        });
        check(&b, &expected);
    }

    #[test]
    fn sccrq_ignores_reserved1() {
        let mut b = sccrq_bytes();
        b[14] = 7;
        b[15] = 9;
        let Ok(Message::StartControlConnectionRequest(s)) = Message::parse(&b) else {
            panic!("SCCRQ did not parse");
        };
        assert_eq!((s.result, s.error), (0, 0));
        // A request never carries result/error, whatever the struct says.
        let m = Message::StartControlConnectionRequest(StartControl { result: 1, ..s });
        assert_eq!(&m.to_bytes()[12..16], &[0x01, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn sccrp() {
        let b = cat(&[
            &[0x00, 0x9c, 0x00, 0x01],
            &[0x1a, 0x2b, 0x3c, 0x4d],
            &[0x00, 0x02, 0x00, 0x00], // SCCRP
            &[0x01, 0x00, 0x02, 0x04], // version 1.0, result 2, error 4
            &[0x00, 0x00, 0x00, 0x03], // framing: async + sync
            &[0x00, 0x00, 0x00, 0x02], // bearer: digital
            &[0x04, 0x00, 0x12, 0x34], // max channels 1024, firmware 0x1234
            &pad(b"pptpd.example", 64),
            // 64 non-NUL octets: no padding at all
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ]);
        let expected = Message::StartControlConnectionReply(StartControl {
            protocol_version: 0x0100,
            result: 2,
            error: 4,
            framing_capabilities: 3,
            bearer_capabilities: 2,
            maximum_channels: 1024,
            firmware_revision: 0x1234,
            host_name: "pptpd.example".into(),
            vendor: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
        });
        check(&b, &expected);
    }
}
