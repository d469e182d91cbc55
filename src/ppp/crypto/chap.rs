//! CHAP with MD5 (RFC 1994, algorithm 5).

use md5::{Digest, Md5};

/// The CHAP-MD5 response value: MD5(Identifier ‖ secret ‖ Challenge)
/// (RFC 1994 §4.1). The identifier binds the answer to one Challenge packet.
pub fn chap_md5_response(identifier: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([identifier]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Authenticator side: checks a peer's response value in constant time, so
/// timing does not help guess it byte by byte.
pub fn verify_chap_md5(identifier: u8, secret: &[u8], challenge: &[u8], response: &[u8]) -> bool {
    super::ct_eq(&chap_md5_response(identifier, secret, challenge), response)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with python3:
    // hashlib.md5(bytes([0x2a]) + b'secret' + bytes(range(16))).hexdigest()
    const EXPECTED: [u8; 16] = [
        0x03, 0xdc, 0x98, 0xc5, 0xa8, 0x32, 0x69, 0x2b, 0x49, 0xdf, 0x73, 0xcf, 0x48, 0xfc, 0xb4,
        0xe9,
    ];

    #[test]
    fn response_matches_independent_md5() {
        let challenge: Vec<u8> = (0u8..16).collect();
        assert_eq!(chap_md5_response(0x2a, b"secret", &challenge), EXPECTED);
    }

    #[test]
    fn verify_accepts_only_exact_response() {
        let challenge: Vec<u8> = (0u8..16).collect();
        assert!(verify_chap_md5(0x2a, b"secret", &challenge, &EXPECTED));
        assert!(!verify_chap_md5(0x2b, b"secret", &challenge, &EXPECTED));
        assert!(!verify_chap_md5(
            0x2a,
            b"secret",
            &challenge,
            &EXPECTED[..15]
        ));
        assert!(!verify_chap_md5(0x2a, b"secret", &challenge, &[]));
    }
}
