//! The MPPE data engine (RFC 3078), sans-IO: [`Encrypter`] turns a PPP
//! protocol field and payload into an MPPE datagram (the Information field
//! of a protocol 0x00FD packet) and [`Decrypter`] reverses it, keeping the
//! RC4 state and coherency count in step with the peer.
//!
//! Stateful mode follows RFC 3078 §8.2 as written: a CCP Reset-Request makes
//! the sender re-initialise RC4 with the *current* session key and set the
//! FLUSHED bit, without a key change. (Linux's ppp_mppe also changes the key
//! on a reset, so stateful resync with it fails; stateless mode, which every
//! common peer prefers, is unaffected.)

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use core::fmt;

use mppe_cipher::Rc4;

use super::CryptoError;
pub use super::mppe_keys::KeyBits;
use super::mppe_keys::KeySchedule;

/// Length of the MPPE header (A/B/C/D bits and coherency count).
pub const HEADER_LEN: usize = 2;
/// Bit A: RC4 was re-initialised before this packet (RFC 3078 §3.1).
pub const BIT_FLUSHED: u8 = 0x80;
/// Bit D: the packet is encrypted.
pub const BIT_ENCRYPTED: u8 = 0x10;
/// Default bound on key changes one received packet may cost, so a forged
/// coherency count cannot buy thousands of SHA-1 and RC4 set-ups.
pub const DEFAULT_MAX_REKEYS: u16 = 256;

const COUNT_MASK: u16 = 0x0fff;
/// Counts further ahead than this are taken as behind (late or replayed).
const HALF_SPACE: u16 = 0x0800;

/// Negotiated MPPE options (CCP option 18, RFC 3078 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppeMode {
    /// Key strength (L, M or S bit).
    pub bits: KeyBits,
    /// Stateless mode (H bit): a key change before every packet.
    pub stateless: bool,
}

/// The decoded MPPE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppeHeader {
    /// Bit A (FLUSHED).
    pub flushed: bool,
    /// Bit D (encrypted).
    pub encrypted: bool,
    /// The 12-bit coherency count.
    pub count: u16,
}

/// Reads the header of an MPPE datagram, which must carry at least one
/// byte of data (the protocol field).
pub fn parse_header(packet: &[u8]) -> Result<MppeHeader, CryptoError> {
    match packet {
        [a, b, _, ..] => Ok(MppeHeader {
            flushed: a & BIT_FLUSHED != 0,
            encrypted: a & BIT_ENCRYPTED != 0,
            count: (u16::from(a & 0x0f) << 8) | u16::from(*b),
        }),
        _ => Err(CryptoError::Truncated { len: packet.len() }),
    }
}

/// A "flag" packet: stateful mode changes keys on it (RFC 3078 §7.2).
fn is_flag(count: u16) -> bool {
    count & 0xff == 0xff
}

/// Flag counts in `(last, last + ahead]`: the key changes a stateful sender
/// made in that span (RFC 3078 §8.2).
fn flags_passed(last: u16, ahead: u16) -> u16 {
    // Both are 12-bit counts: in u32 nothing here comes near saturating.
    let (last, ahead) = (u32::from(last), u32::from(ahead));
    let end = last.saturating_add(ahead).saturating_add(1) / 256;
    let n = end.saturating_sub(last.saturating_add(1) / 256);
    // At most 4096 / 256 = 16, so the conversion cannot fail.
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Sending side of one direction.
pub struct Encrypter {
    mode: MppeMode,
    keys: KeySchedule,
    rc4: Rc4,
    next_count: u16,
    flush_pending: bool,
}

impl Encrypter {
    /// From this direction's start key (see [`super::mppe_keys::StartKeys`])
    /// and the negotiated mode. The first packet has coherency count 0.
    pub fn new(start_key: &[u8], mode: MppeMode) -> Result<Self, CryptoError> {
        let keys = KeySchedule::new(start_key, mode.bits)?;
        let rc4 = keys.cipher();
        Ok(Self {
            mode,
            keys,
            rc4,
            next_count: 0,
            flush_pending: false,
        })
    }

    /// Encrypts a PPP protocol field plus payload and returns the MPPE
    /// header followed by the ciphertext (same length as the input).
    pub fn encrypt(&mut self, protocol_and_payload: &[u8]) -> Vec<u8> {
        let count = self.next_count;
        self.next_count = count.wrapping_add(1) & COUNT_MASK;
        // RFC 3078 §7.1/§7.2: stateless changes keys before every packet,
        // stateful before each flag packet; a key change re-keys RC4, which
        // is what the FLUSHED bit announces. After a Reset-Request, RC4 is
        // re-initialised with the current key (§8.2).
        let flushed = if self.mode.stateless || is_flag(count) {
            self.keys.change_key();
            self.rc4 = self.keys.cipher();
            true
        } else if self.flush_pending {
            self.rc4 = self.keys.cipher();
            true
        } else {
            false
        };
        self.flush_pending = false;

        let [hi, lo] = count.to_be_bytes();
        let mut first = BIT_ENCRYPTED | hi;
        if flushed {
            first |= BIT_FLUSHED;
        }
        let mut out = Vec::with_capacity(HEADER_LEN.saturating_add(protocol_and_payload.len()));
        out.extend_from_slice(&[first, lo]);
        out.extend_from_slice(protocol_and_payload);
        // The header was just pushed: the body is everything after it.
        // Were it not, nothing is sent rather than clear text.
        match out.get_mut(HEADER_LEN..) {
            Some(body) => self.rc4.apply_keystream(body),
            None => out.clear(),
        }
        out
    }

    /// Call on receiving a CCP Reset-Request: the next packet re-initialises
    /// RC4 and carries the FLUSHED bit (RFC 3078 §8.2). Repeated requests
    /// before that packet collapse into one. A no-op in stateless mode, where
    /// every packet is flushed anyway.
    pub fn reset(&mut self) {
        if !self.mode.stateless {
            self.flush_pending = true;
        }
    }

    /// The negotiated mode.
    pub fn mode(&self) -> MppeMode {
        self.mode
    }

    /// Coherency count the next packet will carry.
    pub fn next_count(&self) -> u16 {
        self.next_count
    }
}

impl fmt::Debug for Encrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encrypter")
            .field("mode", &self.mode)
            .field("next_count", &self.next_count)
            .field("flush_pending", &self.flush_pending)
            .finish_non_exhaustive()
    }
}

/// Receiving side of one direction.
pub struct Decrypter {
    mode: MppeMode,
    keys: KeySchedule,
    rc4: Rc4,
    last_count: u16,
    awaiting_flush: bool,
    max_rekeys: u16,
}

impl Decrypter {
    /// From this direction's start key and the negotiated mode; expects the
    /// first packet to carry coherency count 0.
    pub fn new(start_key: &[u8], mode: MppeMode) -> Result<Self, CryptoError> {
        let keys = KeySchedule::new(start_key, mode.bits)?;
        let rc4 = keys.cipher();
        Ok(Self {
            mode,
            keys,
            rc4,
            last_count: COUNT_MASK,
            awaiting_flush: false,
            max_rekeys: DEFAULT_MAX_REKEYS,
        })
    }

    /// Sets the bound on key changes per stateless packet (at least 1, at
    /// most 2048). A larger bound rides out longer bursts of loss, a smaller
    /// one caps what a forged count costs.
    pub fn with_max_rekeys(mut self, max: u16) -> Self {
        self.max_rekeys = max.clamp(1, HALF_SPACE);
        self
    }

    /// Decrypts an MPPE datagram into the protocol field and payload.
    /// On error nothing is returned and the packet must be dropped; the
    /// variant says what else to do (see [`CryptoError`]).
    pub fn decrypt(&mut self, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let header = parse_header(packet)?;
        let body = packet
            .get(HEADER_LEN..)
            .ok_or(CryptoError::Truncated { len: packet.len() })?;
        if !header.encrypted {
            return Err(CryptoError::NotEncrypted);
        }
        if self.mode.stateless {
            self.sync_stateless(header)?;
        } else {
            self.sync_stateful(header)?;
        }
        let mut out = body.to_vec();
        self.rc4.apply_keystream(&mut out);
        Ok(out)
    }

    /// RFC 3078 §8.1: one key change per count advanced, only forwards.
    fn sync_stateless(&mut self, h: MppeHeader) -> Result<(), CryptoError> {
        let ahead = h.count.wrapping_sub(self.last_count) & COUNT_MASK;
        if ahead == 0 || ahead > HALF_SPACE {
            return Err(CryptoError::Stale {
                got: h.count,
                last: self.last_count,
            });
        }
        if ahead > self.max_rekeys {
            return Err(CryptoError::TooManyRekeys {
                got: h.count,
                needed: ahead,
                max: self.max_rekeys,
            });
        }
        for _ in 0..ahead {
            self.keys.change_key();
        }
        self.rc4 = self.keys.cipher();
        self.last_count = h.count;
        Ok(())
    }

    /// RFC 3078 §7.2 and §8.2: in sequence, change keys on flag packets;
    /// on loss, ask for a reset and drop until a FLUSHED packet, then catch
    /// up on the key changes of the flag packets passed meanwhile.
    fn sync_stateful(&mut self, h: MppeHeader) -> Result<(), CryptoError> {
        let expected = self.last_count.wrapping_add(1) & COUNT_MASK;
        let ahead = h.count.wrapping_sub(self.last_count) & COUNT_MASK;
        if !self.awaiting_flush && h.count == expected {
            if is_flag(h.count) {
                self.keys.change_key();
                self.rc4 = self.keys.cipher();
            } else if h.flushed {
                self.rc4 = self.keys.cipher();
            }
            self.last_count = h.count;
            return Ok(());
        }
        if ahead == 0 || ahead > HALF_SPACE {
            // A duplicate or late packet: our RC4 state has not moved, so
            // dropping it keeps us in step without a reset.
            return Err(if self.awaiting_flush {
                CryptoError::AwaitingFlush
            } else {
                CryptoError::Stale {
                    got: h.count,
                    last: self.last_count,
                }
            });
        }
        if !h.flushed {
            if self.awaiting_flush {
                return Err(CryptoError::AwaitingFlush);
            }
            self.awaiting_flush = true;
            return Err(CryptoError::NeedsReset {
                expected,
                got: h.count,
            });
        }
        // A FLUSHED packet ahead of us is a resync point, whether or not we
        // asked for it. At most 8 flag packets fit in half the count space,
        // so no bound is needed here.
        for _ in 0..flags_passed(self.last_count, ahead) {
            self.keys.change_key();
        }
        self.rc4 = self.keys.cipher();
        self.last_count = h.count;
        self.awaiting_flush = false;
        Ok(())
    }

    /// Whether a loss was detected and no FLUSHED packet has arrived yet.
    pub fn needs_reset(&self) -> bool {
        self.awaiting_flush
    }

    /// The negotiated mode.
    pub fn mode(&self) -> MppeMode {
        self.mode
    }

    /// Coherency count of the last packet accepted (4095 before the first).
    pub fn last_count(&self) -> u16 {
        self.last_count
    }
}

impl fmt::Debug for Decrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypter")
            .field("mode", &self.mode)
            .field("last_count", &self.last_count)
            .field("awaiting_flush", &self.awaiting_flush)
            .field("max_rekeys", &self.max_rekeys)
            .finish_non_exhaustive()
    }
}
