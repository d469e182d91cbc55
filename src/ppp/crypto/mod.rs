//! MS-CHAP, CHAP-MD5 and MPPE cryptography (RFC 1994, 2433, 2759, 3078, 3079).
//!
//! Everything here is pure: functions of their inputs, plus the sans-IO MPPE
//! [`mppe::Encrypter`] / [`mppe::Decrypter`] state machines. Nothing does I/O,
//! reads a clock or draws randomness: callers supply challenges.
//!
//! - [`chap`]: CHAP-MD5 (RFC 1994 §4.1).
//! - [`mschap`]: primitives shared by both MS-CHAP versions and MS-CHAPv1
//!   (RFC 2433).
//! - [`mschapv2`]: MS-CHAPv2 (RFC 2759) responses and authenticator response.
//! - [`messages`]: the text of MS-CHAP Success and Failure packets.
//! - [`mppe_keys`]: MPPE start keys, initial session keys and key changes
//!   (RFC 3079, RFC 3078 §7.3).
//! - [`mppe`]: the MPPE data engine (RFC 3078).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod chap;
mod error;
pub mod messages;
pub mod mppe;
pub mod mppe_keys;
pub mod mschap;
pub mod mschapv2;

#[cfg(test)]
mod mppe_keys_tests;
#[cfg(test)]
mod mppe_tests;
#[cfg(test)]
mod mppe_vector_tests;

pub use error::CryptoError;

/// Compares two byte strings without an early exit, so the time taken does
/// not reveal how many leading bytes of a secret-derived value matched.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// Uppercase hex, as RFC 2759 §5 requires for the authenticator response.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        // Both nibbles are below 16, so `get` always finds the digit.
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
    out
}

/// Decodes hex of either case into exactly `N` bytes; `None` on any other
/// length or a non-hex digit (peers' text is untrusted).
pub(crate) fn hex_decode<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        // Only 0-9, a-f and A-F are digits in radix 16; bytes above 0x7F
        // become non-ASCII chars, which are not.
        let digit = char::from(c).to_digit(16)?;
        u8::try_from(digit).ok()
    }
    if N.checked_mul(2) != Some(text.len()) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let &[hi, lo] = pair else {
            return None;
        };
        *o = (nibble(hi)? << 4) | nibble(lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod util_tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(hex_upper(&[0x0a, 0xbc, 0xff]), "0ABCFF");
        assert_eq!(hex_decode::<3>(b"0aBcfF"), Some([0x0a, 0xbc, 0xff]));
        assert_eq!(hex_decode::<3>(b"0aBcf"), None);
        assert_eq!(hex_decode::<2>(b"0g00"), None);
        assert_eq!(hex_decode::<1>("é".as_bytes()), None);
    }

    #[test]
    fn ct_eq_basics() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
