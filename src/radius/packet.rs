//! RADIUS packets (RFC 2865 §3, §5): Code, Identifier, Length,
//! Authenticator and attributes as Type-Length-Value, with the
//! Vendor-Specific wrapping of §5.26 for Microsoft's attributes (RFC 2548).
//! Parsing checks every length and never panics.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use super::RadiusError;

/// RFC 2865 §3: a packet is 20 to 4096 octets.
pub const MAX_PACKET: usize = 4096;
const HEADER: usize = 20;

/// Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    AccessRequest = 1,
    AccessAccept = 2,
    AccessReject = 3,
    AccountingRequest = 4,
    AccountingResponse = 5,
    AccessChallenge = 11,
    DisconnectRequest = 40,
    DisconnectAck = 41,
    DisconnectNak = 42,
    CoaRequest = 43,
    CoaAck = 44,
    CoaNak = 45,
}

impl Code {
    fn from_u8(v: u8) -> Option<Code> {
        Some(match v {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            _ => return None,
        })
    }
}

/// Attribute types this project sends or reads.
pub mod attr {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const CHAP_PASSWORD: u8 = 3;
    pub const NAS_IP_ADDRESS: u8 = 4;
    pub const NAS_PORT: u8 = 5;
    pub const SERVICE_TYPE: u8 = 6;
    pub const FRAMED_PROTOCOL: u8 = 7;
    pub const FRAMED_IP_ADDRESS: u8 = 8;
    pub const FRAMED_ROUTE: u8 = 22;
    pub const FRAMED_MTU: u8 = 12;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const CLASS: u8 = 25;
    pub const VENDOR_SPECIFIC: u8 = 26;
    pub const SESSION_TIMEOUT: u8 = 27;
    pub const IDLE_TIMEOUT: u8 = 28;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const NAS_IDENTIFIER: u8 = 32;
    pub const ACCT_STATUS_TYPE: u8 = 40;
    pub const ACCT_DELAY_TIME: u8 = 41;
    pub const ACCT_INPUT_OCTETS: u8 = 42;
    pub const ACCT_OUTPUT_OCTETS: u8 = 43;
    pub const ACCT_SESSION_ID: u8 = 44;
    pub const ACCT_SESSION_TIME: u8 = 46;
    pub const ACCT_INPUT_PACKETS: u8 = 47;
    pub const ACCT_OUTPUT_PACKETS: u8 = 48;
    pub const ACCT_TERMINATE_CAUSE: u8 = 49;
    pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
    pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
    pub const CHAP_CHALLENGE: u8 = 60;
    pub const NAS_PORT_TYPE: u8 = 61;
    pub const ACCT_INTERIM_INTERVAL: u8 = 85;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
    pub const ERROR_CAUSE: u8 = 101;
}

/// Microsoft's vendor ID and attributes (RFC 2548 §2).
pub mod ms {
    pub const VENDOR: u32 = 311;
    pub const CHAP_RESPONSE: u8 = 1;
    pub const CHAP_ERROR: u8 = 2;
    pub const MPPE_ENCRYPTION_POLICY: u8 = 7;
    pub const MPPE_ENCRYPTION_TYPES: u8 = 8;
    pub const CHAP_CHALLENGE: u8 = 11;
    pub const CHAP_MPPE_KEYS: u8 = 12;
    pub const MPPE_SEND_KEY: u8 = 16;
    pub const MPPE_RECV_KEY: u8 = 17;
    pub const CHAP2_RESPONSE: u8 = 25;
    pub const CHAP2_SUCCESS: u8 = 26;
}

/// One attribute: its type and value (at most 253 octets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub kind: u8,
    pub value: Vec<u8>,
}

/// A whole packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub id: u8,
    pub authenticator: [u8; 16],
    pub attrs: Vec<Attr>,
}

impl Packet {
    pub fn new(code: Code, id: u8) -> Packet {
        Packet {
            code,
            id,
            authenticator: [0; 16],
            attrs: Vec::new(),
        }
    }

    /// Parse a datagram: the Length field must fit it (octets past it are
    /// padding and ignored, §3) and attributes must fill it exactly.
    pub fn parse(buf: &[u8]) -> Result<Packet, RadiusError> {
        let (hdr, _) = buf
            .split_at_checked(HEADER)
            .ok_or(RadiusError::Malformed("short"))?;
        let [code, id, l0, l1, auth @ ..] = hdr else {
            return Err(RadiusError::Malformed("short"));
        };
        let code = Code::from_u8(*code).ok_or(RadiusError::Malformed("unknown code"))?;
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if !(HEADER..=MAX_PACKET).contains(&len) || len > buf.len() {
            return Err(RadiusError::Malformed("bad length"));
        }
        let mut rest = buf
            .get(HEADER..len)
            .ok_or(RadiusError::Malformed("bad length"))?;
        let mut attrs = Vec::new();
        while let [kind, alen, ..] = rest {
            let alen = usize::from(*alen);
            if alen < 2 {
                return Err(RadiusError::Malformed("attribute length"));
            }
            let (a, tail) = rest
                .split_at_checked(alen)
                .ok_or(RadiusError::Malformed("attribute length"))?;
            attrs.push(Attr {
                kind: *kind,
                value: a.get(2..).unwrap_or_default().to_vec(),
            });
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(RadiusError::Malformed("trailing octet"));
        }
        let authenticator = auth
            .try_into()
            .map_err(|_| RadiusError::Malformed("short"))?;
        Ok(Packet {
            code,
            id: *id,
            authenticator,
            attrs,
        })
    }

    /// The packet's bytes; refused beyond 4096 octets or with an attribute
    /// over 253.
    pub fn to_vec(&self) -> Result<Vec<u8>, RadiusError> {
        let mut v = Vec::with_capacity(64);
        v.push(self.code as u8);
        v.push(self.id);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&self.authenticator);
        for a in &self.attrs {
            let len =
                u8::try_from(a.value.len().saturating_add(2)).map_err(|_| RadiusError::TooLong)?;
            v.push(a.kind);
            v.push(len);
            v.extend_from_slice(&a.value);
        }
        let len = u16::try_from(v.len())
            .ok()
            .filter(|l| usize::from(*l) <= MAX_PACKET)
            .ok_or(RadiusError::TooLong)?;
        if let Some(l) = v.get_mut(2..4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        Ok(v)
    }

    pub fn add(&mut self, kind: u8, value: &[u8]) {
        self.attrs.push(Attr {
            kind,
            value: value.to_vec(),
        });
    }

    pub fn add_u32(&mut self, kind: u8, v: u32) {
        self.add(kind, &v.to_be_bytes());
    }

    /// A Microsoft Vendor-Specific attribute (RFC 2865 §5.26, RFC 2548).
    pub fn add_ms(&mut self, kind: u8, value: &[u8]) {
        let mut v = ms::VENDOR.to_be_bytes().to_vec();
        v.push(kind);
        v.push(u8::try_from(value.len().saturating_add(2)).unwrap_or(u8::MAX));
        v.extend_from_slice(value);
        self.add(attr::VENDOR_SPECIFIC, &v);
    }

    /// The first attribute of `kind`.
    pub fn get(&self, kind: u8) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.value.as_slice())
    }

    /// Every attribute of `kind`, in order.
    pub fn all(&self, kind: u8) -> impl Iterator<Item = &[u8]> {
        self.attrs
            .iter()
            .filter(move |a| a.kind == kind)
            .map(|a| a.value.as_slice())
    }

    pub fn get_u32(&self, kind: u8) -> Option<u32> {
        self.get(kind)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes)
    }

    /// The first Microsoft sub-attribute of `kind`.
    pub fn get_ms(&self, kind: u8) -> Option<&[u8]> {
        self.all(attr::VENDOR_SPECIFIC).find_map(|v| {
            let (vendor, sub) = v.split_at_checked(4)?;
            if vendor != ms::VENDOR.to_be_bytes() {
                return None;
            }
            match sub {
                [k, len, value @ ..]
                    if *k == kind && usize::from(*len) == value.len().checked_add(2)? =>
                {
                    Some(value)
                }
                _ => None,
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
