//! Enhanced GRE, the PPTP data channel (RFC 2637 §4.1).
//!
//! Version 1 GRE always carries a key, split into the payload length and
//! the receiver's Call ID; an optional sequence number (S) marks a data
//! packet and an optional acknowledgment number (A) acknowledges the peer's
//! data. There is no checksum, so rewriting the Call ID needs no fix-up
//! here.

use super::{put, read_u16, read_u32};

/// Protocol type of the payload: PPP (RFC 2637 §4.1, "hex 880B").
pub const PROTOCOL_PPP: u16 = 0x880B;
/// Enhanced GRE is version 1 (plain GRE, RFC 2784, is version 0).
pub const VERSION: u8 = 1;
/// Flags/version, protocol, payload length and Call ID.
pub const BASE_HEADER_LEN: usize = 8;
/// With both sequence and acknowledgment numbers.
pub const MAX_HEADER_LEN: usize = 16;

// Flags and version word, bytes 0-1 (§4.1 bit numbering: bit 0 is 0x8000).
const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQ: u16 = 0x1000;
const FLAG_STRICT_ROUTE: u16 = 0x0800;
const RECURSION: u16 = 0x0700;
const FLAG_ACK: u16 = 0x0080;
const VERSION_MASK: u16 = 0x0007;
/// Must be clear for PPTP; any of these means a different GRE flavour.
const FORBIDDEN: u16 = FLAG_CHECKSUM | FLAG_ROUTING | FLAG_STRICT_ROUTE | RECURSION;

// Byte offsets.
const FLAGS_VERSION: usize = 0;
const PROTOCOL: usize = 2;
const PAYLOAD_LEN: usize = 4;
const CALL_ID: usize = 6;
const OPTIONAL: usize = 8;

/// Why a buffer is not a PPTP GRE packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The header, or the payload its length field announces, does not fit.
    #[error("GRE packet truncated: have {have} bytes, need {need}")]
    Truncated { have: usize, need: usize },
    #[error("GRE version {0}, PPTP uses version 1")]
    BadVersion(u8),
    #[error("GRE protocol type {0:#06x}, PPTP carries PPP (0x880b)")]
    BadProtocol(u16),
    /// Checksum, routing, strict source route or recursion present, or
    /// the key absent; carries the whole flags/version word.
    #[error("GRE flags {0:#06x} not allowed for PPTP")]
    BadFlags(u16),
    /// `emit` was given a buffer shorter than the header.
    #[error("output buffer too small: have {have} bytes, need {need}")]
    BufferTooSmall { have: usize, need: usize },
}

/// Where the acknowledgment sits after a sequence number.
const OPTIONAL_SECOND: usize = OPTIONAL + 4;

fn header_len_for(seq: bool, ack: bool) -> usize {
    match (seq, ack) {
        (false, false) => BASE_HEADER_LEN,
        (true, false) | (false, true) => BASE_HEADER_LEN + 4,
        (true, true) => BASE_HEADER_LEN + 8,
    }
}

/// Checked view of an enhanced GRE packet (header and payload). Bytes
/// after the payload (e.g. link-layer padding) are allowed and ignored.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap `buffer` after checking that it is PPTP's GRE (§4.1: version
    /// 1, key present, C/R/s/recursion clear, protocol 0x880B) and holds
    /// the whole header and the payload length it announces. Flags bits
    /// 9-12 "must be zero" but are not checked: they change nothing here.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        let (Some(fv), Some(proto)) = (read_u16(b, FLAGS_VERSION), read_u16(b, PROTOCOL)) else {
            return Err(Error::Truncated {
                have: b.len(),
                need: BASE_HEADER_LEN,
            });
        };
        let version = (fv & VERSION_MASK) as u8;
        if version != VERSION {
            return Err(Error::BadVersion(version));
        }
        if fv & FORBIDDEN != 0 || fv & FLAG_KEY == 0 {
            return Err(Error::BadFlags(fv));
        }
        if proto != PROTOCOL_PPP {
            return Err(Error::BadProtocol(proto));
        }
        let header_len = header_len_for(fv & FLAG_SEQ != 0, fv & FLAG_ACK != 0);
        if b.len() < header_len {
            return Err(Error::Truncated {
                have: b.len(),
                need: header_len,
            });
        }
        let payload_len = read_u16(b, PAYLOAD_LEN).unwrap_or(0);
        let need = header_len.saturating_add(usize::from(payload_len));
        if b.len() < need {
            return Err(Error::Truncated {
                have: b.len(),
                need,
            });
        }
        Ok(Packet { buffer })
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags_version(&self) -> u16 {
        read_u16(self.buffer.as_ref(), FLAGS_VERSION).unwrap_or(0)
    }

    /// Call ID of the receiver (the Peer's Call ID, §4.1).
    pub fn call_id(&self) -> u16 {
        read_u16(self.buffer.as_ref(), CALL_ID).unwrap_or(0)
    }

    /// Sequence number, present on packets that carry data.
    pub fn seq(&self) -> Option<u32> {
        if self.flags_version() & FLAG_SEQ == 0 {
            return None;
        }
        read_u32(self.buffer.as_ref(), OPTIONAL)
    }

    /// Acknowledgment number; follows the sequence number if there is one,
    /// else the Call ID (an ack-only packet).
    pub fn ack(&self) -> Option<u32> {
        let fv = self.flags_version();
        if fv & FLAG_ACK == 0 {
            return None;
        }
        let at = if fv & FLAG_SEQ != 0 {
            OPTIONAL_SECOND
        } else {
            OPTIONAL
        };
        read_u32(self.buffer.as_ref(), at)
    }

    /// Length of the payload, GRE header excluded (the key's high half).
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), PAYLOAD_LEN).unwrap_or(0)
    }

    /// 8, 12 or 16 bytes depending on S and A.
    pub fn header_len(&self) -> usize {
        let fv = self.flags_version();
        header_len_for(fv & FLAG_SEQ != 0, fv & FLAG_ACK != 0)
    }

    /// The PPP payload: `payload_len()` bytes after the header.
    pub fn payload(&self) -> &[u8] {
        let start = self.header_len();
        let end = start.saturating_add(usize::from(self.payload_len()));
        self.buffer.as_ref().get(start..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Rewrite the Call ID, as a NAT does to restore an inside host's ID.
    pub fn set_call_id(&mut self, id: u16) {
        put(self.buffer.as_mut(), CALL_ID, &id.to_be_bytes());
    }
}

/// Typed enhanced GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The receiver's Call ID.
    pub call_id: u16,
    /// Present (S set) on data packets.
    pub seq: Option<u32>,
    /// Present (A set) when acknowledging the peer's data.
    pub ack: Option<u32>,
    /// Length of the payload that follows the header.
    pub payload_len: u16,
}

impl Repr {
    /// Read the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            call_id: p.call_id(),
            seq: p.seq(),
            ack: p.ack(),
            payload_len: p.payload_len(),
        }
    }

    /// 8, 12 or 16 bytes depending on which numbers are present.
    pub fn header_len(&self) -> usize {
        header_len_for(self.seq.is_some(), self.ack.is_some())
    }

    /// Write the header (only) into the start of `out`; the payload goes
    /// at `header_len()`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), Error> {
        let need = self.header_len();
        let have = out.len();
        let Some(out) = out.get_mut(..need) else {
            return Err(Error::BufferTooSmall { have, need });
        };
        self.write(out);
        Ok(())
    }

    /// `out` is at least `header_len()` bytes.
    fn write(&self, out: &mut [u8]) {
        let mut fv = FLAG_KEY | u16::from(VERSION);
        if self.seq.is_some() {
            fv |= FLAG_SEQ;
        }
        if self.ack.is_some() {
            fv |= FLAG_ACK;
        }
        put(out, FLAGS_VERSION, &fv.to_be_bytes());
        put(out, PROTOCOL, &PROTOCOL_PPP.to_be_bytes());
        put(out, PAYLOAD_LEN, &self.payload_len.to_be_bytes());
        put(out, CALL_ID, &self.call_id.to_be_bytes());
        // The acknowledgment moves up when there is no sequence number.
        let at = [OPTIONAL, OPTIONAL_SECOND];
        for (n, at) in [self.seq, self.ack].into_iter().flatten().zip(at) {
            put(out, at, &n.to_be_bytes());
        }
    }
}

/// A whole packet: header then `payload`. A payload over 65535 bytes
/// cannot be described by the length field and is cut to fit.
pub fn build(call_id: u16, seq: Option<u32>, ack: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let payload = payload.get(..usize::from(u16::MAX)).unwrap_or(payload);
    let repr = Repr {
        call_id,
        seq,
        ack,
        payload_len: u16::try_from(payload.len()).unwrap_or(u16::MAX),
    };
    let mut out = vec![0; repr.header_len()];
    repr.write(&mut out);
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests;
