//! The 12-byte header every control message starts with (RFC 2637 §2):
//! length (2), PPTP message type (2), magic cookie (4), control message
//! type (2), reserved0 (2).

use super::Error;

/// Length of the common header.
pub const HEADER_LEN: usize = 12;
/// RFC 2637 §2: every control message carries this constant.
pub const MAGIC_COOKIE: u32 = 0x1A2B_3C4D;
/// PPTP message type 1: control message (2 = management, never used).
pub const MESSAGE_TYPE_CONTROL: u16 = 1;

/// Control message types, RFC 2637 §2.1-§2.16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ControlType {
    StartControlConnectionRequest = 1,
    StartControlConnectionReply = 2,
    StopControlConnectionRequest = 3,
    StopControlConnectionReply = 4,
    EchoRequest = 5,
    EchoReply = 6,
    OutgoingCallRequest = 7,
    OutgoingCallReply = 8,
    IncomingCallRequest = 9,
    IncomingCallReply = 10,
    IncomingCallConnected = 11,
    CallClearRequest = 12,
    CallDisconnectNotify = 13,
    WanErrorNotify = 14,
    SetLinkInfo = 15,
}

impl ControlType {
    /// Decode a control message type field.
    pub fn from_u16(v: u16) -> Option<Self> {
        use ControlType::*;
        Some(match v {
            1 => StartControlConnectionRequest,
            2 => StartControlConnectionReply,
            3 => StopControlConnectionRequest,
            4 => StopControlConnectionReply,
            5 => EchoRequest,
            6 => EchoReply,
            7 => OutgoingCallRequest,
            8 => OutgoingCallReply,
            9 => IncomingCallRequest,
            10 => IncomingCallReply,
            11 => IncomingCallConnected,
            12 => CallClearRequest,
            13 => CallDisconnectNotify,
            14 => WanErrorNotify,
            15 => SetLinkInfo,
            _ => return None,
        })
    }

    /// Every control message has a fixed size (RFC 2637 §2.1-§2.16).
    pub fn fixed_len(self) -> u16 {
        use ControlType::*;
        match self {
            StartControlConnectionRequest | StartControlConnectionReply => 156,
            StopControlConnectionRequest | StopControlConnectionReply => 16,
            EchoRequest => 16,
            EchoReply => 20,
            OutgoingCallRequest => 168,
            OutgoingCallReply => 32,
            IncomingCallRequest => 220,
            IncomingCallReply => 24,
            IncomingCallConnected => 28,
            CallClearRequest => 16,
            CallDisconnectNotify => 148,
            WanErrorNotify => 40,
            SetLinkInfo => 24,
        }
    }

    /// Short name used in logs (the RFC's abbreviations).
    pub fn abbrev(self) -> &'static str {
        use ControlType::*;
        match self {
            StartControlConnectionRequest => "SCCRQ",
            StartControlConnectionReply => "SCCRP",
            StopControlConnectionRequest => "StopCCRQ",
            StopControlConnectionReply => "StopCCRP",
            EchoRequest => "EchoRQ",
            EchoReply => "EchoRP",
            OutgoingCallRequest => "OCRQ",
            OutgoingCallReply => "OCRP",
            IncomingCallRequest => "ICRQ",
            IncomingCallReply => "ICRP",
            IncomingCallConnected => "ICCN",
            CallClearRequest => "CCRQ",
            CallDisconnectNotify => "CDN",
            WanErrorNotify => "WEN",
            SetLinkInfo => "SLI",
        }
    }
}

/// Checked view of a control message header.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wrap `buffer` after checking that it holds a whole header whose magic
    /// cookie, message type and length agree with RFC 2637. The buffer may be
    /// shorter than `length()`: this only validates the header itself, which
    /// is what a stream reassembler needs to know how much to wait for.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated {
                have: b.len(),
                need: HEADER_LEN,
            });
        }
        let h = Header { buffer };
        let magic = h.magic_cookie();
        if magic != MAGIC_COOKIE {
            return Err(Error::BadMagic(magic));
        }
        let mt = h.message_type();
        if mt != MESSAGE_TYPE_CONTROL {
            return Err(Error::NotControl(mt));
        }
        let raw = h.raw_control_type();
        let ty = ControlType::from_u16(raw).ok_or(Error::UnknownType(raw))?;
        if h.length() != ty.fixed_len() {
            return Err(Error::BadLength {
                ty,
                expected: ty.fixed_len(),
                got: h.length(),
            });
        }
        Ok(h)
    }

    /// Fields of the checked header (0 only if it were short).
    fn u16_at(&self, at: usize) -> u16 {
        crate::wire::read_u16(self.buffer.as_ref(), at).unwrap_or(0)
    }

    /// Total message length, header included.
    pub fn length(&self) -> u16 {
        self.u16_at(0)
    }

    /// PPTP message type (1 = control).
    pub fn message_type(&self) -> u16 {
        self.u16_at(2)
    }

    /// The magic cookie field.
    pub fn magic_cookie(&self) -> u32 {
        crate::wire::read_u32(self.buffer.as_ref(), 4).unwrap_or(0)
    }

    /// Raw control message type field.
    pub fn raw_control_type(&self) -> u16 {
        self.u16_at(8)
    }

    /// Control message type; valid because `new_checked` verified it.
    pub fn control_type(&self) -> ControlType {
        // new_checked guarantees a known type; fall back defensively.
        ControlType::from_u16(self.raw_control_type())
            .unwrap_or(ControlType::StartControlConnectionRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u16, mt: u16, magic: u32, ct: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&mt.to_be_bytes());
        v.extend_from_slice(&magic.to_be_bytes());
        v.extend_from_slice(&ct.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v
    }

    #[test]
    fn accepts_every_type_at_its_fixed_length() {
        for ct in 1..=15u16 {
            let ty = ControlType::from_u16(ct).unwrap();
            let b = hdr(ty.fixed_len(), 1, MAGIC_COOKIE, ct);
            let h = Header::new_checked(&b[..]).unwrap();
            assert_eq!(h.control_type(), ty);
            assert_eq!(h.length(), ty.fixed_len());
        }
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(
            Header::new_checked(&[0u8; 11][..]).unwrap_err(),
            Error::Truncated { have: 11, need: 12 }
        );
        let b = hdr(168, 1, 0x1A2B_3C4E, 7);
        assert_eq!(
            Header::new_checked(&b[..]).unwrap_err(),
            Error::BadMagic(0x1A2B_3C4E)
        );
        let b = hdr(168, 2, MAGIC_COOKIE, 7);
        assert_eq!(
            Header::new_checked(&b[..]).unwrap_err(),
            Error::NotControl(2)
        );
        let b = hdr(168, 1, MAGIC_COOKIE, 16);
        assert_eq!(
            Header::new_checked(&b[..]).unwrap_err(),
            Error::UnknownType(16)
        );
        let b = hdr(169, 1, MAGIC_COOKIE, 7);
        assert!(matches!(
            Header::new_checked(&b[..]).unwrap_err(),
            Error::BadLength {
                expected: 168,
                got: 169,
                ..
            }
        ));
    }
}
