//! Configuration options (RFC 1661 §6): Type, Length (at least 2, and
//! within the packet) and Data, as carried by Configure-Request, -Ack,
//! -Nak and -Reject of LCP, IPCP and CCP.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::net::Ipv4Addr;

use super::error::Error;

/// Type and Length of a configuration option.
pub const OPTION_HEADER_LEN: usize = 2;
/// The most data one option can carry (its Length is one octet).
pub const MAX_OPTION_DATA: usize = 255 - OPTION_HEADER_LEN;

/// One configuration option (RFC 1661 §6). The data never exceeds
/// [`MAX_OPTION_DATA`], so every `Opt` can be emitted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Opt {
    kind: u8,
    data: Vec<u8>,
}

impl Opt {
    /// An option with arbitrary data, refused if it would not fit.
    pub fn new(kind: u8, data: &[u8]) -> Result<Opt, Error> {
        if data.len() > MAX_OPTION_DATA {
            return Err(Error::OptionTooLong(data.len()));
        }
        Ok(Opt {
            kind,
            data: data.to_vec(),
        })
    }

    /// A boolean option: Type and Length 2 only (e.g. PFC, ACFC).
    pub fn flag(kind: u8) -> Opt {
        Opt {
            kind,
            data: Vec::new(),
        }
    }

    /// An option carrying one 16-bit value (e.g. MRU).
    pub fn u16(kind: u8, v: u16) -> Opt {
        Opt {
            kind,
            data: v.to_be_bytes().to_vec(),
        }
    }

    /// An option carrying one 32-bit value (e.g. Magic-Number, MPPE bits).
    pub fn u32(kind: u8, v: u32) -> Opt {
        Opt {
            kind,
            data: v.to_be_bytes().to_vec(),
        }
    }

    /// An option carrying one 64-bit value (IPV6CP's Interface-Identifier).
    pub fn u64(kind: u8, v: u64) -> Opt {
        Opt {
            kind,
            data: v.to_be_bytes().to_vec(),
        }
    }

    /// An option carrying an IPv4 address (IPCP 3, 129-132).
    pub fn ipv4(kind: u8, addr: Ipv4Addr) -> Opt {
        Opt {
            kind,
            data: addr.octets().to_vec(),
        }
    }

    /// The Type field.
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// The Data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The data as a 16-bit value, if it is exactly two bytes.
    pub fn as_u16(&self) -> Option<u16> {
        Some(u16::from_be_bytes(self.data.as_slice().try_into().ok()?))
    }

    /// The data as a 32-bit value, if it is exactly four bytes.
    pub fn as_u32(&self) -> Option<u32> {
        Some(u32::from_be_bytes(self.data.as_slice().try_into().ok()?))
    }

    /// The data as an IPv4 address, if it is exactly four bytes.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        self.as_u32().map(Ipv4Addr::from)
    }

    /// Encoded length: Type, Length and Data (at most 255: the data never
    /// exceeds [`MAX_OPTION_DATA`]).
    pub fn buffer_len(&self) -> usize {
        OPTION_HEADER_LEN.saturating_add(self.data.len())
    }
}

/// Parse a Configure packet's option list. A Length below 2 or past the
/// end of `data` refuses the whole list (RFC 1661 §6: the packet is then
/// silently discarded).
pub fn parse_options(data: &[u8]) -> Result<Vec<Opt>, Error> {
    let mut opts = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // `rest` is a suffix of `data`, so this never saturates.
        let offset = data.len().saturating_sub(rest.len());
        let (kind, length) = match rest {
            [kind, length, ..] => (*kind, *length),
            _ => return Err(Error::BadOptionLength { offset, length: 0 }),
        };
        let len = usize::from(length);
        // `get` refuses both a Length below 2 (an inverted range) and one
        // running past the end.
        let Some(body) = rest.get(OPTION_HEADER_LEN..len) else {
            return Err(Error::BadOptionLength { offset, length });
        };
        opts.push(Opt {
            kind,
            data: body.to_vec(),
        });
        rest = rest.get(len..).unwrap_or_default();
    }
    Ok(opts)
}
