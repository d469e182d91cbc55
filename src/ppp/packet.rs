//! Control packets shared by LCP, IPCP and CCP (RFC 1661 §5, RFC 1332 §2,
//! RFC 1962 §3): Code, Identifier, Length and Data. The configuration
//! option list the Configure packets carry is in [`super::opt`] and
//! re-exported here.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use super::error::Error;
pub use super::opt::{MAX_OPTION_DATA, OPTION_HEADER_LEN, Opt, parse_options};

/// Code, Identifier and Length.
pub const HEADER_LEN: usize = 4;
/// Control packet Code (RFC 1661 §5, RFC 1962 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    ConfigureRequest,
    ConfigureAck,
    ConfigureNak,
    ConfigureReject,
    TerminateRequest,
    TerminateAck,
    CodeReject,
    ProtocolReject,
    EchoRequest,
    EchoReply,
    DiscardRequest,
    ResetRequest,
    ResetAck,
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(v: u8) -> Self {
        match v {
            1 => Code::ConfigureRequest,
            2 => Code::ConfigureAck,
            3 => Code::ConfigureNak,
            4 => Code::ConfigureReject,
            5 => Code::TerminateRequest,
            6 => Code::TerminateAck,
            7 => Code::CodeReject,
            8 => Code::ProtocolReject,
            9 => Code::EchoRequest,
            10 => Code::EchoReply,
            11 => Code::DiscardRequest,
            14 => Code::ResetRequest,
            15 => Code::ResetAck,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        match c {
            Code::ConfigureRequest => 1,
            Code::ConfigureAck => 2,
            Code::ConfigureNak => 3,
            Code::ConfigureReject => 4,
            Code::TerminateRequest => 5,
            Code::TerminateAck => 6,
            Code::CodeReject => 7,
            Code::ProtocolReject => 8,
            Code::EchoRequest => 9,
            Code::EchoReply => 10,
            Code::DiscardRequest => 11,
            Code::ResetRequest => 14,
            Code::ResetAck => 15,
            Code::Unknown(v) => v,
        }
    }
}

/// Sequential writer over an output buffer whose size was checked first.
struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if let Some(dst) = self.out.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
        }
        self.at = end;
    }

    fn put_options(&mut self, opts: &[Opt]) {
        for o in opts {
            // Opt's constructors keep the data within MAX_OPTION_DATA.
            let len = u8::try_from(o.buffer_len()).unwrap_or(u8::MAX);
            self.put(&[o.kind(), len]);
            self.put(o.data());
        }
    }
}

/// A checked control packet header: Length is at least 4 and within the
/// buffer; octets beyond Length are padding and dropped (RFC 1661 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub code: Code,
    pub identifier: u8,
    pub data: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Check the header of a control packet (the PPP Information field).
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let [code, identifier, l0, l1, ..] = *buf else {
            return Err(Error::Truncated {
                have: buf.len(),
                need: HEADER_LEN,
            });
        };
        let length = u16::from_be_bytes([l0, l1]);
        // `get` refuses both a Length below 4 (an inverted range) and one
        // running past the end.
        let Some(data) = buf.get(HEADER_LEN..usize::from(length)) else {
            return Err(Error::BadLength {
                length,
                have: buf.len(),
            });
        };
        Ok(Packet {
            code: Code::from(code),
            identifier,
            data,
        })
    }

    /// The packet's Length: header and data, without padding.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.data.len())
    }
}

/// A typed control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repr<'a> {
    ConfigureRequest {
        identifier: u8,
        options: Vec<Opt>,
    },
    ConfigureAck {
        identifier: u8,
        options: Vec<Opt>,
    },
    ConfigureNak {
        identifier: u8,
        options: Vec<Opt>,
    },
    ConfigureReject {
        identifier: u8,
        options: Vec<Opt>,
    },
    TerminateRequest {
        identifier: u8,
        data: &'a [u8],
    },
    TerminateAck {
        identifier: u8,
        data: &'a [u8],
    },
    /// `rejected` is the rejected packet from its Code on (RFC 1661 §5.6).
    CodeReject {
        identifier: u8,
        rejected: &'a [u8],
    },
    /// LCP only (RFC 1661 §5.7).
    ProtocolReject {
        identifier: u8,
        protocol: u16,
        info: &'a [u8],
    },
    /// LCP only (RFC 1661 §5.8).
    EchoRequest {
        identifier: u8,
        magic: u32,
        data: &'a [u8],
    },
    EchoReply {
        identifier: u8,
        magic: u32,
        data: &'a [u8],
    },
    /// LCP only (RFC 1661 §5.9).
    DiscardRequest {
        identifier: u8,
        magic: u32,
        data: &'a [u8],
    },
    /// CCP only (RFC 1962 §3.1).
    ResetRequest {
        identifier: u8,
        data: &'a [u8],
    },
    ResetAck {
        identifier: u8,
        data: &'a [u8],
    },
    /// Any other Code; answered with Code-Reject.
    Unknown {
        code: u8,
        identifier: u8,
        data: &'a [u8],
    },
}

fn magic_and_data(data: &[u8]) -> Result<(u32, &[u8]), Error> {
    match data {
        [a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        _ => Err(Error::Truncated {
            have: HEADER_LEN.saturating_add(data.len()),
            need: HEADER_LEN + 4,
        }),
    }
}

impl<'a> Repr<'a> {
    /// Parse a control packet: the header, then the body its Code implies.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        Self::from_packet(&Packet::parse(buf)?)
    }

    /// Type the body of a checked packet.
    pub fn from_packet(p: &Packet<'a>) -> Result<Self, Error> {
        let identifier = p.identifier;
        let data = p.data;
        Ok(match p.code {
            Code::ConfigureRequest => Repr::ConfigureRequest {
                identifier,
                options: parse_options(data)?,
            },
            Code::ConfigureAck => Repr::ConfigureAck {
                identifier,
                options: parse_options(data)?,
            },
            Code::ConfigureNak => Repr::ConfigureNak {
                identifier,
                options: parse_options(data)?,
            },
            Code::ConfigureReject => Repr::ConfigureReject {
                identifier,
                options: parse_options(data)?,
            },
            Code::TerminateRequest => Repr::TerminateRequest { identifier, data },
            Code::TerminateAck => Repr::TerminateAck { identifier, data },
            Code::CodeReject => Repr::CodeReject {
                identifier,
                rejected: data,
            },
            Code::ProtocolReject => match data {
                [hi, lo, info @ ..] => Repr::ProtocolReject {
                    identifier,
                    protocol: u16::from_be_bytes([*hi, *lo]),
                    info,
                },
                _ => {
                    return Err(Error::Truncated {
                        have: p.buffer_len(),
                        need: HEADER_LEN + 2,
                    });
                }
            },
            Code::EchoRequest => {
                let (magic, data) = magic_and_data(data)?;
                Repr::EchoRequest {
                    identifier,
                    magic,
                    data,
                }
            }
            Code::EchoReply => {
                let (magic, data) = magic_and_data(data)?;
                Repr::EchoReply {
                    identifier,
                    magic,
                    data,
                }
            }
            Code::DiscardRequest => {
                let (magic, data) = magic_and_data(data)?;
                Repr::DiscardRequest {
                    identifier,
                    magic,
                    data,
                }
            }
            Code::ResetRequest => Repr::ResetRequest { identifier, data },
            Code::ResetAck => Repr::ResetAck { identifier, data },
            Code::Unknown(code) => Repr::Unknown {
                code,
                identifier,
                data,
            },
        })
    }

    /// The packet's Code.
    pub fn code(&self) -> Code {
        match self {
            Repr::ConfigureRequest { .. } => Code::ConfigureRequest,
            Repr::ConfigureAck { .. } => Code::ConfigureAck,
            Repr::ConfigureNak { .. } => Code::ConfigureNak,
            Repr::ConfigureReject { .. } => Code::ConfigureReject,
            Repr::TerminateRequest { .. } => Code::TerminateRequest,
            Repr::TerminateAck { .. } => Code::TerminateAck,
            Repr::CodeReject { .. } => Code::CodeReject,
            Repr::ProtocolReject { .. } => Code::ProtocolReject,
            Repr::EchoRequest { .. } => Code::EchoRequest,
            Repr::EchoReply { .. } => Code::EchoReply,
            Repr::DiscardRequest { .. } => Code::DiscardRequest,
            Repr::ResetRequest { .. } => Code::ResetRequest,
            Repr::ResetAck { .. } => Code::ResetAck,
            Repr::Unknown { code, .. } => Code::from(*code),
        }
    }

    /// The packet's Identifier.
    pub fn identifier(&self) -> u8 {
        match self {
            Repr::ConfigureRequest { identifier, .. }
            | Repr::ConfigureAck { identifier, .. }
            | Repr::ConfigureNak { identifier, .. }
            | Repr::ConfigureReject { identifier, .. }
            | Repr::TerminateRequest { identifier, .. }
            | Repr::TerminateAck { identifier, .. }
            | Repr::CodeReject { identifier, .. }
            | Repr::ProtocolReject { identifier, .. }
            | Repr::EchoRequest { identifier, .. }
            | Repr::EchoReply { identifier, .. }
            | Repr::DiscardRequest { identifier, .. }
            | Repr::ResetRequest { identifier, .. }
            | Repr::ResetAck { identifier, .. }
            | Repr::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Encoded length (the Length field). Saturates instead of wrapping,
    /// so an impossible length is refused by `emit` as too long.
    pub fn buffer_len(&self) -> usize {
        let body = match self {
            Repr::ConfigureRequest { options, .. }
            | Repr::ConfigureAck { options, .. }
            | Repr::ConfigureNak { options, .. }
            | Repr::ConfigureReject { options, .. } => options
                .iter()
                .map(Opt::buffer_len)
                .fold(0, usize::saturating_add),
            Repr::ProtocolReject { info, .. } => info.len().saturating_add(2),
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::DiscardRequest { data, .. } => data.len().saturating_add(4),
            Repr::TerminateRequest { data, .. }
            | Repr::TerminateAck { data, .. }
            | Repr::CodeReject { rejected: data, .. }
            | Repr::ResetRequest { data, .. }
            | Repr::ResetAck { data, .. }
            | Repr::Unknown { data, .. } => data.len(),
        };
        HEADER_LEN.saturating_add(body)
    }

    /// Write the packet into `out`; returns the number of bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        let length = u16::try_from(len).map_err(|_| Error::PacketTooLong(len))?;
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall {
                have: out.len(),
                need: len,
            });
        };
        let mut w = Writer { out, at: 0 };
        w.put(&[u8::from(self.code()), self.identifier()]);
        w.put(&length.to_be_bytes());
        match self {
            Repr::ConfigureRequest { options, .. }
            | Repr::ConfigureAck { options, .. }
            | Repr::ConfigureNak { options, .. }
            | Repr::ConfigureReject { options, .. } => w.put_options(options),
            Repr::ProtocolReject { protocol, info, .. } => {
                w.put(&protocol.to_be_bytes());
                w.put(info);
            }
            Repr::EchoRequest { magic, data, .. }
            | Repr::EchoReply { magic, data, .. }
            | Repr::DiscardRequest { magic, data, .. } => {
                w.put(&magic.to_be_bytes());
                w.put(data);
            }
            Repr::TerminateRequest { data, .. }
            | Repr::TerminateAck { data, .. }
            | Repr::CodeReject { rejected: data, .. }
            | Repr::ResetRequest { data, .. }
            | Repr::ResetAck { data, .. }
            | Repr::Unknown { data, .. } => w.put(data),
        }
        Ok(len)
    }

    /// The packet as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let len = self.buffer_len();
        // Refuse what `emit` would refuse before allocating for it.
        if u16::try_from(len).is_err() {
            return Err(Error::PacketTooLong(len));
        }
        let mut v = vec![0; len];
        self.emit(&mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests;
