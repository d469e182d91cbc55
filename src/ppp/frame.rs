//! PPP frames as PPTP carries them in the GRE payload (RFC 1661 §2,
//! RFC 2637 §4): no HDLC flags, escapes or FCS, only the address and
//! control octets `FF 03` (omitted once Address-and-Control-Field-
//! Compression is negotiated, RFC 1661 §6.6), the Protocol field (one
//! octet once Protocol-Field-Compression is negotiated, §6.5) and the
//! Information field.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use super::error::Error;

/// HDLC all-stations address (RFC 1662 §3.1).
pub const ADDRESS: u8 = 0xFF;
/// HDLC Unnumbered Information control octet (RFC 1662 §3.1).
pub const CONTROL: u8 = 0x03;

/// A PPP Protocol field value (RFC 1661 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(pub u16);

impl Protocol {
    /// Internet Protocol version 4.
    pub const IPV4: Protocol = Protocol(0x0021);
    /// Internet Protocol version 6 (RFC 5072 §3).
    pub const IPV6: Protocol = Protocol(0x0057);
    /// Compressed datagram (RFC 1962 §2.1); MPPE uses it (RFC 3078 §3).
    pub const COMPRESSED: Protocol = Protocol(0x00FD);
    /// IP Control Protocol (RFC 1332).
    pub const IPCP: Protocol = Protocol(0x8021);
    /// IPv6 Control Protocol (RFC 5072 §2).
    pub const IPV6CP: Protocol = Protocol(0x8057);
    /// Compression Control Protocol (RFC 1962).
    pub const CCP: Protocol = Protocol(0x80FD);
    /// Link Control Protocol (RFC 1661).
    pub const LCP: Protocol = Protocol(0xC021);
    /// Password Authentication Protocol (RFC 1334).
    pub const PAP: Protocol = Protocol(0xC023);
    /// Challenge Handshake Authentication Protocol (RFC 1994).
    pub const CHAP: Protocol = Protocol(0xC223);

    /// RFC 1661 §2: the last octet is odd and the first one even.
    pub fn is_valid(self) -> bool {
        self.0 & 0x0001 == 0x0001 && self.0 & 0x0100 == 0
    }

    /// Whether Protocol-Field-Compression can shorten this value to one
    /// octet (RFC 1661 §6.5). Not 0x00FF: a lone 0xFF octet is read as the
    /// address field, so it must keep its leading zero.
    pub fn is_compressible(self) -> bool {
        self.is_valid() && self.0 < 0x00FF
    }
}

/// Which header compressions the peer agreed to receive (negotiated by
/// LCP; see `lcp::Params::tx_compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compression {
    /// Omit `FF 03` (RFC 1661 §6.6); never done for LCP.
    pub acfc: bool,
    /// One-octet Protocol field where possible (RFC 1661 §6.5).
    pub pfc: bool,
}

/// A PPP frame: the protocol and the Information field (with any padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub protocol: Protocol,
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parse a GRE payload. Both the compressed and the uncompressed
    /// address/control and Protocol fields are accepted, whatever was
    /// negotiated (RFC 1661 §6.5: "MUST accept ... either").
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let rest = match buf {
            [ADDRESS, CONTROL, rest @ ..] => rest,
            // A lone 0xFF would be protocol 0x00FF, reserved because it
            // cannot be told apart from the address field.
            [ADDRESS, ..] => return Err(Error::BadProtocol),
            _ => buf,
        };
        // Both short cases lack exactly one octet of the Protocol field:
        // none of it is there, or only an even first octet that needs a
        // second. `buf` is at most three bytes long then.
        let truncated = || Error::Truncated {
            have: buf.len(),
            need: buf.len().saturating_add(1),
        };
        match rest {
            [] => Err(truncated()),
            [first, payload @ ..] if first & 1 == 1 => Ok(Frame {
                protocol: Protocol(u16::from(*first)),
                payload,
            }),
            [_] => Err(truncated()),
            [hi, lo, payload @ ..] => {
                let protocol = Protocol(u16::from_be_bytes([*hi, *lo]));
                if !protocol.is_valid() {
                    return Err(Error::BadProtocol);
                }
                Ok(Frame { protocol, payload })
            }
        }
    }

    fn keeps_address(&self, comp: Compression) -> bool {
        !comp.acfc || self.protocol == Protocol::LCP
    }

    fn compresses_protocol(&self, comp: Compression) -> bool {
        comp.pfc && self.protocol.is_compressible()
    }

    /// Length of address/control and Protocol fields when emitted with
    /// `comp`. LCP is never compressed (RFC 1661 §6.5, §6.6).
    pub fn header_len(&self, comp: Compression) -> usize {
        match (self.keeps_address(comp), self.compresses_protocol(comp)) {
            (true, false) => 4,
            (true, true) => 3,
            (false, false) => 2,
            (false, true) => 1,
        }
    }

    /// Length of the whole frame when emitted with `comp`. A slice is at
    /// most `isize::MAX` bytes long, so the sum never saturates.
    pub fn buffer_len(&self, comp: Compression) -> usize {
        self.header_len(comp).saturating_add(self.payload.len())
    }

    /// Write the frame into `out`, compressing only what `comp` allows;
    /// returns the number of bytes written.
    pub fn emit(&self, comp: Compression, out: &mut [u8]) -> Result<usize, Error> {
        if !self.protocol.is_valid() {
            return Err(Error::BadProtocol);
        }
        let len = self.buffer_len(comp);
        let have = out.len();
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { have, need: len });
        };
        let ac: &[u8] = if self.keeps_address(comp) {
            &[ADDRESS, CONTROL]
        } else {
            &[]
        };
        let [hi, lo] = self.protocol.0.to_be_bytes();
        let proto: &[u8] = if self.compresses_protocol(comp) {
            &[lo]
        } else {
            &[hi, lo]
        };
        // Three slice copies: a byte-wise chained iterator cost microseconds
        // per full-size frame in the size-optimised build.
        // `out` is exactly `ac`, `proto` and the payload long, so the splits
        // succeed and each part has the length of what is copied into it.
        let short = Error::BufferTooSmall { have, need: len };
        let (head, rest) = out.split_at_mut_checked(ac.len()).ok_or(short)?;
        head.copy_from_slice(ac);
        let (p, body) = rest.split_at_mut_checked(proto.len()).ok_or(short)?;
        p.copy_from_slice(proto);
        body.copy_from_slice(self.payload);
        Ok(len)
    }

    /// The frame as a new vector.
    pub fn to_vec(&self, comp: Compression) -> Result<Vec<u8>, Error> {
        let mut v = vec![0; self.buffer_len(comp)];
        self.emit(comp, &mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests;
