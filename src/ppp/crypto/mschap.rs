//! Primitives shared by MS-CHAPv1 and MS-CHAPv2, and MS-CHAPv1 itself
//! (RFC 2433, RFC 2759 §8.3-§8.6).

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};

use super::CryptoError;

/// Size of the MS-CHAP (v1 and v2) Response Value field.
pub const RESPONSE_VALUE_LEN: usize = 49;

/// MD4 of the UTF-16LE password without terminator (RFC 2759 §8.3,
/// RFC 2433 §A.6): what Windows stores, so servers may keep this instead of
/// the password.
pub fn nt_password_hash(password: &str) -> [u8; 16] {
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    h.finalize().into()
}

/// MD4 of the NT password hash (RFC 2759 §8.4): the secret both ends share
/// for the authenticator response and the MPPE keys.
pub fn hash_nt_password_hash(password_hash: &[u8; 16]) -> [u8; 16] {
    Md4::digest(password_hash).into()
}

/// The LAN Manager hash (RFC 2433 §A.2), only needed for the RFC 3079 §2.1
/// and §2.2 MS-CHAPv1 40/56-bit keys. The password is upper-cased and limited
/// to 14 characters; non-ASCII text is refused rather than guessing an OEM
/// code page.
pub fn lm_password_hash(password: &str) -> Result<[u8; 16], CryptoError> {
    if !password.is_ascii() || password.len() > 14 {
        return Err(CryptoError::InvalidLmPassword);
    }
    let mut padded = [0u8; 14];
    for (p, c) in padded.iter_mut().zip(password.bytes()) {
        *p = c.to_ascii_uppercase();
    }
    const STD_TEXT: &[u8; 8] = b"KGS!@#$%";
    let mut out = [0u8; 16];
    for (half, key) in out.chunks_exact_mut(8).zip(padded.chunks_exact(7)) {
        half.copy_from_slice(&des_encrypt(STD_TEXT, &seven(key)));
    }
    Ok(out)
}

fn seven(bytes: &[u8]) -> [u8; 7] {
    let mut k = [0u8; 7];
    for (d, s) in k.iter_mut().zip(bytes) {
        *d = *s;
    }
    k
}

/// Spreads a 56-bit key over 8 bytes, 7 key bits per byte and the low bit
/// set for odd parity (RFC 2759 §8.6 and the §9.3 example), because DES
/// engines take 64-bit keys.
pub fn des_key_with_parity(key: &[u8; 7]) -> [u8; 8] {
    let mut wide = [0u8; 8];
    wide[1..].copy_from_slice(key);
    let bits = u64::from_be_bytes(wide);
    // Where each 7-bit group starts, most significant first.
    const SHIFTS: [u32; 8] = [49, 42, 35, 28, 21, 14, 7, 0];
    let mut out = [0u8; 8];
    for (o, shift) in out.iter_mut().zip(SHIFTS) {
        // Truncation intended: the mask keeps 7 bits.
        let b = (((bits >> shift) & 0x7f) as u8) << 1;
        *o = if b.count_ones() % 2 == 0 { b | 1 } else { b };
    }
    out
}

/// DES-ECB of one block under a 7-byte key (RFC 2759 §8.6 DesEncrypt).
pub fn des_encrypt(clear: &[u8; 8], key: &[u8; 7]) -> [u8; 8] {
    let cipher = Des::new(&des_key_with_parity(key).into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// ChallengeResponse (RFC 2759 §8.5, RFC 2433 §A.7): three DES encryptions
/// of the 8-byte challenge under the zero-padded 21-byte password hash.
pub fn challenge_response(challenge: &[u8; 8], password_hash: &[u8; 16]) -> [u8; 24] {
    let mut z = [0u8; 21];
    z[..16].copy_from_slice(password_hash);
    let mut out = [0u8; 24];
    for (block, key) in out.chunks_exact_mut(8).zip(z.chunks_exact(7)) {
        block.copy_from_slice(&des_encrypt(challenge, &seven(key)));
    }
    out
}

/// MS-CHAPv1 NtChallengeResponse (RFC 2433 §A.5).
pub fn nt_challenge_response(challenge: &[u8; 8], password: &str) -> [u8; 24] {
    challenge_response(challenge, &nt_password_hash(password))
}

/// The challenge an MS-CHAPv1 retry answers when the Failure message carries
/// no `C=`: the previous one plus 23 in its first octet (RFC 2433 §8).
pub fn v1_retry_challenge(previous: &[u8; 8]) -> [u8; 8] {
    let mut c = *previous;
    c[0] = c[0].wrapping_add(23);
    c
}

/// The MS-CHAPv1 Response Value field (RFC 2433 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsChapV1Response {
    /// LAN Manager response; deprecated, zero-filled when `use_nt` is set.
    pub lm_response: [u8; 24],
    /// Windows NT response (NtChallengeResponse).
    pub nt_response: [u8; 24],
    /// The "use Windows NT compatible challenge response" flag.
    pub use_nt: bool,
}

impl MsChapV1Response {
    /// Peer side: an NT-only response, as RFC 2433 §6 recommends.
    pub fn generate(challenge: &[u8; 8], password: &str) -> Self {
        Self {
            lm_response: [0; 24],
            nt_response: nt_challenge_response(challenge, password),
            use_nt: true,
        }
    }

    /// Wire form: LM-Response 24 ‖ NT-Response 24 ‖ flag 1.
    pub fn to_bytes(&self) -> [u8; RESPONSE_VALUE_LEN] {
        let mut out = [0u8; RESPONSE_VALUE_LEN];
        out[..24].copy_from_slice(&self.lm_response);
        out[24..48].copy_from_slice(&self.nt_response);
        out[48] = u8::from(self.use_nt);
        out
    }

    /// Parses a Response Value field; any non-zero flag means "use NT".
    pub fn parse(value: &[u8]) -> Result<Self, CryptoError> {
        let v: &[u8; RESPONSE_VALUE_LEN] = value
            .try_into()
            .map_err(|_| CryptoError::InvalidResponseLength(value.len()))?;
        let mut lm_response = [0u8; 24];
        let mut nt_response = [0u8; 24];
        lm_response.copy_from_slice(&v[..24]);
        nt_response.copy_from_slice(&v[24..48]);
        Ok(Self {
            lm_response,
            nt_response,
            use_nt: v[48] != 0,
        })
    }

    /// Authenticator side, from the stored NT hash: accepts only the NT
    /// response (LM authentication is deprecated), compared in constant time.
    pub fn verify_with_hash(&self, challenge: &[u8; 8], password_hash: &[u8; 16]) -> bool {
        let expected = challenge_response(challenge, password_hash);
        self.use_nt && super::ct_eq(&expected, &self.nt_response)
    }

    /// Authenticator side, from the clear-text password.
    pub fn verify(&self, challenge: &[u8; 8], password: &str) -> bool {
        self.verify_with_hash(challenge, &nt_password_hash(password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B2_CHALLENGE: [u8; 8] = [0x10, 0x2d, 0xb5, 0xdf, 0x08, 0x5d, 0x30, 0x41];
    const B2_NT_HASH: [u8; 16] = [
        0xfc, 0x15, 0x6a, 0xf7, 0xed, 0xcd, 0x6c, 0x0e, 0xdd, 0xe3, 0x33, 0x7d, 0x42, 0x7f, 0x4e,
        0xac,
    ];
    const B2_RESPONSE: [u8; 24] = [
        0x4e, 0x9d, 0x3c, 0x8f, 0x9c, 0xfd, 0x38, 0x5d, 0x5b, 0xf4, 0xd3, 0x24, 0x67, 0x91, 0x95,
        0x6c, 0xa4, 0xc3, 0x51, 0xab, 0x40, 0x9a, 0x3d, 0x61,
    ];

    // RFC 2433 §B.2, password "MyPw".
    #[test]
    fn rfc2433_b2_nt_hash_and_response() {
        assert_eq!(nt_password_hash("MyPw"), B2_NT_HASH);
        assert_eq!(challenge_response(&B2_CHALLENGE, &B2_NT_HASH), B2_RESPONSE);
        assert_eq!(nt_challenge_response(&B2_CHALLENGE, "MyPw"), B2_RESPONSE);
    }

    // RFC 2433 §B.3 and RFC 2759 §9.3: parity-expanded DES keys of "MyPw".
    #[test]
    fn des_key_parity_examples() {
        let first = [0xfc, 0x15, 0x6a, 0xf7, 0xed, 0xcd, 0x6c];
        let second = [0x0e, 0xdd, 0xe3, 0x33, 0x7d, 0x42, 0x7f];
        assert_eq!(
            des_key_with_parity(&first),
            [0xfd, 0x0b, 0x5b, 0x5e, 0x7f, 0x6e, 0x34, 0xd9]
        );
        assert_eq!(
            des_key_with_parity(&second),
            [0x0e, 0x6e, 0x79, 0x67, 0x37, 0xea, 0x08, 0xfe]
        );
    }

    // RFC 3079 §2.5.1: LmPasswordHash("clientPass").
    #[test]
    fn lm_hash_of_client_pass() {
        assert_eq!(
            lm_password_hash("clientPass"),
            Ok([
                0x76, 0xa1, 0x52, 0x93, 0x60, 0x96, 0xd7, 0x83, 0x0e, 0x23, 0x90, 0x22, 0x74, 0x04,
                0xaf, 0xd2
            ])
        );
        assert_eq!(
            lm_password_hash("clientPass"),
            lm_password_hash("CLIENTPASS")
        );
        assert_eq!(
            lm_password_hash("fifteen chars!!"),
            Err(CryptoError::InvalidLmPassword)
        );
        assert_eq!(
            lm_password_hash("pässword"),
            Err(CryptoError::InvalidLmPassword)
        );
        assert!(lm_password_hash("").is_ok());
    }

    // RFC 3079 §2.5.3: HashNtPasswordHash of "clientPass".
    #[test]
    fn password_hash_hash() {
        let hash = nt_password_hash("clientPass");
        assert_eq!(
            hash_nt_password_hash(&hash),
            [
                0x41, 0xc0, 0x0c, 0x58, 0x4b, 0xd2, 0xd9, 0x1c, 0x40, 0x17, 0xa2, 0xa1, 0x2f, 0xa5,
                0x9f, 0x3f
            ]
        );
    }

    #[test]
    fn v1_response_layout_round_trip_and_verify() {
        let r = MsChapV1Response::generate(&B2_CHALLENGE, "MyPw");
        let bytes = r.to_bytes();
        assert_eq!(&bytes[..24], &[0u8; 24]);
        assert_eq!(&bytes[24..48], &B2_RESPONSE);
        assert_eq!(bytes[48], 1);
        let parsed = MsChapV1Response::parse(&bytes).unwrap();
        assert_eq!(parsed, r);
        assert!(parsed.verify(&B2_CHALLENGE, "MyPw"));
        assert!(!parsed.verify(&B2_CHALLENGE, "MyPW"));
        assert!(!parsed.verify(&v1_retry_challenge(&B2_CHALLENGE), "MyPw"));
        let lm_only = MsChapV1Response {
            use_nt: false,
            ..parsed
        };
        assert!(!lm_only.verify(&B2_CHALLENGE, "MyPw"));
        assert_eq!(
            MsChapV1Response::parse(&bytes[..48]),
            Err(CryptoError::InvalidResponseLength(48))
        );
    }

    #[test]
    fn retry_challenge_adds_23_with_wrap() {
        let c = v1_retry_challenge(&[250, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(c, [17, 1, 2, 3, 4, 5, 6, 7]);
    }
}
