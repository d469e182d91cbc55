//! The one error type of the crypto layer, with a variant per condition the
//! PPP layer has to act on differently (drop, send a CCP Reset-Request, tear
//! the link down, reject a peer's message).

/// Errors of the MS-CHAP, CHAP and MPPE layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// An MPPE packet too short to hold the 2-byte header and one data byte.
    #[error("MPPE packet truncated ({len} bytes)")]
    Truncated {
        /// Length of what was received.
        len: usize,
    },
    /// The D (encrypted) bit is clear while MPPE is required (RFC 3078 §3.1).
    #[error("MPPE packet without the encrypted bit")]
    NotEncrypted,
    /// Stateless mode: the coherency count is not ahead of the last one
    /// (duplicate, replay or reordering); the packet is dropped, keys are kept.
    #[error("stale MPPE coherency count {got} (last accepted {last})")]
    Stale {
        /// Coherency count of the dropped packet.
        got: u16,
        /// Coherency count of the last packet accepted.
        last: u16,
    },
    /// Reaching the packet's coherency count would take more key changes
    /// than allowed; nothing changed. Repeated, it means lost sync: the PPP
    /// layer should renegotiate CCP or drop the link.
    #[error("MPPE coherency count {got} needs {needed} key changes (limit {max})")]
    TooManyRekeys {
        /// Coherency count of the refused packet.
        got: u16,
        /// Key changes it would have cost.
        needed: u16,
        /// The configured limit.
        max: u16,
    },
    /// Stateful mode: a packet was lost. Send a CCP Reset-Request (RFC 3078
    /// §8.2); packets are then dropped until one with the FLUSHED bit arrives.
    #[error(
        "stateful MPPE lost sync (expected count {expected}, got {got}): send a CCP Reset-Request"
    )]
    NeedsReset {
        /// Coherency count that was due.
        expected: u16,
        /// Coherency count received.
        got: u16,
    },
    /// Stateful mode, after [`CryptoError::NeedsReset`]: dropped while waiting
    /// for a FLUSHED packet. Do not send another Reset-Request for it (CCP's
    /// restart timer handles a lost request).
    #[error("dropping MPPE packets until the peer flushes")]
    AwaitingFlush,
    /// A key of a length other than MPPE's 8 or 16 bytes (or too short for
    /// the chosen strength).
    #[error("invalid MPPE key length {0}")]
    InvalidKeyLength(usize),
    /// An MPPE strength other than 40, 56 or 128 bits.
    #[error("unsupported MPPE key strength {0} bits")]
    InvalidKeyBits(u16),
    /// An MS-CHAP Response Value field of the wrong size (49 bytes expected).
    #[error("invalid MS-CHAP response value length {0}")]
    InvalidResponseLength(usize),
    /// A Success message without a well-formed `S=<40 hex>` (RFC 2759 §5).
    #[error("malformed MS-CHAPv2 success message")]
    MalformedSuccess,
    /// A password the LAN Manager hash cannot represent (over 14 characters
    /// or not ASCII; RFC 2433 §A.2).
    #[error("password not representable as a LAN Manager password")]
    InvalidLmPassword,
}
