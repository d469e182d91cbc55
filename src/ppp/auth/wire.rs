//! PAP packets (RFC 1334 §2.2) and CHAP packets (RFC 1994 §4): Code,
//! Identifier, Length, then code-specific data. Octets beyond Length are
//! padding and ignored.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use crate::ppp::error::Error;
use crate::ppp::packet::{HEADER_LEN, Packet};

/// PAP Authenticate-Request (RFC 1334 §2.2.1).
pub const PAP_REQUEST: u8 = 1;
/// PAP Authenticate-Ack (RFC 1334 §2.2.2).
pub const PAP_ACK: u8 = 2;
/// PAP Authenticate-Nak (RFC 1334 §2.2.2).
pub const PAP_NAK: u8 = 3;
/// CHAP Challenge (RFC 1994 §4.1).
pub const CHAP_CHALLENGE: u8 = 1;
/// CHAP Response (RFC 1994 §4.1).
pub const CHAP_RESPONSE: u8 = 2;
/// CHAP Success (RFC 1994 §4.2).
pub const CHAP_SUCCESS: u8 = 3;
/// CHAP Failure (RFC 1994 §4.2).
pub const CHAP_FAILURE: u8 = 4;

/// A PAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PapPacket<'a> {
    Request {
        identifier: u8,
        peer_id: &'a [u8],
        password: &'a [u8],
    },
    Ack {
        identifier: u8,
        message: &'a [u8],
    },
    Nak {
        identifier: u8,
        message: &'a [u8],
    },
    /// Any other Code (silently discarded).
    Unknown {
        code: u8,
        identifier: u8,
    },
}

/// A CHAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChapPacket<'a> {
    /// `value` is the challenge, `name` the authenticator's name.
    Challenge {
        identifier: u8,
        value: &'a [u8],
        name: &'a [u8],
    },
    /// `value` is the response value, `name` the peer's name.
    Response {
        identifier: u8,
        value: &'a [u8],
        name: &'a [u8],
    },
    Success {
        identifier: u8,
        message: &'a [u8],
    },
    Failure {
        identifier: u8,
        message: &'a [u8],
    },
    /// Any other Code (e.g. MS-CHAP Change-Password; silently discarded).
    Unknown {
        code: u8,
        identifier: u8,
    },
}

/// Split a field preceded by its one-octet length.
fn counted(data: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    // `data` is a control packet's data, so the sums stay below 64 KiB.
    let truncated = |need: usize| Error::Truncated {
        have: HEADER_LEN.saturating_add(data.len()),
        need: HEADER_LEN.saturating_add(need),
    };
    let (&len, rest) = data.split_first().ok_or(truncated(1))?;
    let len = usize::from(len);
    rest.split_at_checked(len)
        .ok_or_else(|| truncated(len.saturating_add(1)))
}

/// Code, Identifier and Length followed by `parts`.
fn build(code: u8, identifier: u8, parts: &[&[u8]]) -> Result<Vec<u8>, Error> {
    // Saturating: a sum beyond 65535 is refused as too long just below.
    let len = parts
        .iter()
        .map(|p| p.len())
        .fold(HEADER_LEN, usize::saturating_add);
    let length = u16::try_from(len).map_err(|_| Error::PacketTooLong(len))?;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&[code, identifier]);
    v.extend_from_slice(&length.to_be_bytes());
    for p in parts {
        v.extend_from_slice(p);
    }
    Ok(v)
}

/// A one-octet length for `field`.
fn len_octet(field: &[u8]) -> Result<[u8; 1], Error> {
    u8::try_from(field.len())
        .map(|l| [l])
        .map_err(|_| Error::FieldTooLong(field.len()))
}

impl<'a> PapPacket<'a> {
    /// Parse the Information field of a protocol 0xC023 frame.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let p = Packet::parse(buf)?;
        let identifier = p.identifier;
        Ok(match u8::from(p.code) {
            PAP_REQUEST => {
                let (peer_id, rest) = counted(p.data)?;
                let (password, _) = counted(rest)?;
                PapPacket::Request {
                    identifier,
                    peer_id,
                    password,
                }
            }
            // A missing or short Msg-Length is tolerated: the message
            // "MUST NOT affect operation of the protocol" (§2.2.2).
            code @ (PAP_ACK | PAP_NAK) => {
                let message = counted(p.data).map(|(m, _)| m).unwrap_or_default();
                if code == PAP_ACK {
                    PapPacket::Ack {
                        identifier,
                        message,
                    }
                } else {
                    PapPacket::Nak {
                        identifier,
                        message,
                    }
                }
            }
            code => PapPacket::Unknown { code, identifier },
        })
    }

    /// The packet's bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        match *self {
            PapPacket::Request {
                identifier,
                peer_id,
                password,
            } => build(
                PAP_REQUEST,
                identifier,
                &[
                    &len_octet(peer_id)?,
                    peer_id,
                    &len_octet(password)?,
                    password,
                ],
            ),
            PapPacket::Ack {
                identifier,
                message,
            } => build(PAP_ACK, identifier, &[&len_octet(message)?, message]),
            PapPacket::Nak {
                identifier,
                message,
            } => build(PAP_NAK, identifier, &[&len_octet(message)?, message]),
            PapPacket::Unknown { code, identifier } => build(code, identifier, &[]),
        }
    }
}

impl<'a> ChapPacket<'a> {
    /// Parse the Information field of a protocol 0xC223 frame.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let p = Packet::parse(buf)?;
        let identifier = p.identifier;
        Ok(match u8::from(p.code) {
            code @ (CHAP_CHALLENGE | CHAP_RESPONSE) => {
                let (value, name) = counted(p.data)?;
                if code == CHAP_CHALLENGE {
                    ChapPacket::Challenge {
                        identifier,
                        value,
                        name,
                    }
                } else {
                    ChapPacket::Response {
                        identifier,
                        value,
                        name,
                    }
                }
            }
            CHAP_SUCCESS => ChapPacket::Success {
                identifier,
                message: p.data,
            },
            CHAP_FAILURE => ChapPacket::Failure {
                identifier,
                message: p.data,
            },
            code => ChapPacket::Unknown { code, identifier },
        })
    }

    /// The packet's bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        match *self {
            ChapPacket::Challenge {
                identifier,
                value,
                name,
            } => build(
                CHAP_CHALLENGE,
                identifier,
                &[&len_octet(value)?, value, name],
            ),
            ChapPacket::Response {
                identifier,
                value,
                name,
            } => build(
                CHAP_RESPONSE,
                identifier,
                &[&len_octet(value)?, value, name],
            ),
            ChapPacket::Success {
                identifier,
                message,
            } => build(CHAP_SUCCESS, identifier, &[message]),
            ChapPacket::Failure {
                identifier,
                message,
            } => build(CHAP_FAILURE, identifier, &[message]),
            ChapPacket::Unknown { code, identifier } => build(code, identifier, &[]),
        }
    }
}
