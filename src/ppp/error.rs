//! The one error type of the PPP layer (frames, control packets and the
//! option negotiation of LCP, IPCP and CCP).

/// Why a PPP frame or control packet was refused, or why a negotiation
/// gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer ends before a field the format requires.
    #[error("PPP data truncated: have {have} bytes, need {need}")]
    Truncated { have: usize, need: usize },
    /// A protocol field that breaks the RFC 1661 §2 rule (last octet odd,
    /// the octets before it even).
    #[error("invalid PPP protocol field")]
    BadProtocol,
    /// A control packet Length below 4 or beyond the buffer (RFC 1661 §5:
    /// such packets are silently discarded).
    #[error("control packet length {length} invalid for {have} bytes")]
    BadLength { length: u16, have: usize },
    /// A configuration option whose Length is below 2 or runs past the end
    /// of the packet (RFC 1661 §6).
    #[error("configuration option at offset {offset} has invalid length {length}")]
    BadOptionLength { offset: usize, length: u8 },
    /// Option data longer than the 253 bytes one option can carry.
    #[error("option data of {0} bytes does not fit in a configuration option")]
    OptionTooLong(usize),
    /// A control packet longer than its 16-bit Length field can express.
    #[error("control packet of {0} bytes is too long")]
    PacketTooLong(usize),
    /// `emit` was given a buffer shorter than the encoding.
    #[error("output buffer too small: have {have} bytes, need {need}")]
    BufferTooSmall { have: usize, need: usize },
    /// The peer insists on an authentication method the policy forbids, or
    /// refuses to authenticate at all (RFC 1661 §6.2).
    #[error("peer refused every authentication method the policy allows")]
    AuthRefused,
    /// The peer refused MPPE or offered only modes the policy forbids
    /// (RFC 3078 §2: the link SHOULD then be terminated).
    #[error("MPPE negotiation failed: {0}")]
    MppeRefused(&'static str),
    /// A PAP or CHAP field longer than its one-octet length can express
    /// (RFC 1334 §2.2.1, RFC 1994 §4.1).
    #[error("authentication field of {0} bytes does not fit its length octet")]
    FieldTooLong(usize),
    /// IPCP could not obtain a local IP address (RFC 1332 §3.3).
    #[error("peer refused to provide or accept our IP address")]
    AddressRefused,
}
