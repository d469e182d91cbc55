//! MS-CHAPv2 (RFC 2759): the peer's NT-Response, the authenticator's
//! response and the Response Value field.

use sha1::{Digest, Sha1};

use super::CryptoError;
use super::messages::SuccessMessage;
use super::mschap::{
    RESPONSE_VALUE_LEN, challenge_response, hash_nt_password_hash, nt_password_hash,
};

/// The user name as hashed: without any "DOMAIN\" prefix (RFC 2759 §4,
/// §8.2). Everything up to the last backslash goes, as in pppd.
pub fn strip_domain(user_name: &[u8]) -> &[u8] {
    // `rsplit` yields the last piece first: what follows the last
    // backslash, or the whole name when there is none.
    user_name
        .rsplit(|&b| b == b'\\')
        .next()
        .unwrap_or(user_name)
}

/// ChallengeHash (RFC 2759 §8.2): the 8-byte challenge DES-encrypted into the
/// NT-Response, binding both challenges and the user name.
pub fn challenge_hash(
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    user_name: &[u8],
) -> [u8; 8] {
    let digest: [u8; 20] = Sha1::new()
        .chain_update(peer_challenge)
        .chain_update(authenticator_challenge)
        .chain_update(strip_domain(user_name))
        .finalize()
        .into();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// GenerateNTResponse (RFC 2759 §8.1) from the NT password hash, for
/// authenticators that store hashes.
pub fn generate_nt_response_with_hash(
    authenticator_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    user_name: &[u8],
    password_hash: &[u8; 16],
) -> [u8; 24] {
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    challenge_response(&challenge, password_hash)
}

/// GenerateNTResponse (RFC 2759 §8.1).
pub fn generate_nt_response(
    authenticator_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    user_name: &[u8],
    password: &str,
) -> [u8; 24] {
    let hash = nt_password_hash(password);
    generate_nt_response_with_hash(authenticator_challenge, peer_challenge, user_name, &hash)
}

/// The 20-byte authenticator response digest of RFC 2759 §8.7, from the NT
/// password hash; proves to the peer that the server knows the password.
pub fn authenticator_response_with_hash(
    password_hash: &[u8; 16],
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    user_name: &[u8],
) -> [u8; 20] {
    const MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
    const MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";
    let hash_hash = hash_nt_password_hash(password_hash);
    let digest = Sha1::new()
        .chain_update(hash_hash)
        .chain_update(nt_response)
        .chain_update(MAGIC1)
        .finalize();
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    Sha1::new()
        .chain_update(digest)
        .chain_update(challenge)
        .chain_update(MAGIC2)
        .finalize()
        .into()
}

/// GenerateAuthenticatorResponse (RFC 2759 §8.7): `"S="` and 40 uppercase
/// hex digits, ready for the Success message.
pub fn generate_authenticator_response(
    password: &str,
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    user_name: &[u8],
) -> String {
    let digest = authenticator_response_with_hash(
        &nt_password_hash(password),
        nt_response,
        peer_challenge,
        authenticator_challenge,
        user_name,
    );
    SuccessMessage::new(digest).to_text()
}

/// CheckAuthenticatorResponse (RFC 2759 §8.8), peer side: parses the
/// Success message and compares in constant time. `false` on a missing or
/// malformed `S=` too, since the peer MUST then end the session (§5).
pub fn check_authenticator_response(
    password: &str,
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    user_name: &[u8],
    success_message: &[u8],
) -> bool {
    let Ok(received) = SuccessMessage::parse(success_message) else {
        return false;
    };
    let expected = authenticator_response_with_hash(
        &nt_password_hash(password),
        nt_response,
        peer_challenge,
        authenticator_challenge,
        user_name,
    );
    super::ct_eq(&expected, &received.authenticator_response)
}

/// The MS-CHAPv2 Response Value field (RFC 2759 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsChapV2Response {
    /// The peer's 16 random bytes.
    pub peer_challenge: [u8; 16],
    /// GenerateNTResponse output.
    pub nt_response: [u8; 24],
    /// Reserved, zero when sent.
    pub flags: u8,
}

impl MsChapV2Response {
    /// Peer side: the response to `authenticator_challenge` with the
    /// caller's random `peer_challenge`.
    pub fn generate(
        authenticator_challenge: &[u8; 16],
        peer_challenge: &[u8; 16],
        user_name: &[u8],
        password: &str,
    ) -> Self {
        Self {
            peer_challenge: *peer_challenge,
            nt_response: generate_nt_response(
                authenticator_challenge,
                peer_challenge,
                user_name,
                password,
            ),
            flags: 0,
        }
    }

    /// Wire form: Peer-Challenge 16 ‖ 8 zero bytes ‖ NT-Response 24 ‖ Flags 1.
    pub fn to_bytes(&self) -> [u8; RESPONSE_VALUE_LEN] {
        let mut out = [0u8; RESPONSE_VALUE_LEN];
        out[..16].copy_from_slice(&self.peer_challenge);
        out[24..48].copy_from_slice(&self.nt_response);
        out[48] = self.flags;
        out
    }

    /// Parses a Response Value field. The reserved bytes are not checked:
    /// they carry nothing and a strict check would only hurt interop.
    pub fn parse(value: &[u8]) -> Result<Self, CryptoError> {
        let v: &[u8; RESPONSE_VALUE_LEN] = value
            .try_into()
            .map_err(|_| CryptoError::InvalidResponseLength(value.len()))?;
        let mut peer_challenge = [0u8; 16];
        let mut nt_response = [0u8; 24];
        peer_challenge.copy_from_slice(&v[..16]);
        nt_response.copy_from_slice(&v[24..48]);
        Ok(Self {
            peer_challenge,
            nt_response,
            flags: v[48],
        })
    }

    /// Authenticator side, from the stored NT hash; constant-time compare.
    pub fn verify_with_hash(
        &self,
        authenticator_challenge: &[u8; 16],
        user_name: &[u8],
        password_hash: &[u8; 16],
    ) -> bool {
        let expected = generate_nt_response_with_hash(
            authenticator_challenge,
            &self.peer_challenge,
            user_name,
            password_hash,
        );
        super::ct_eq(&expected, &self.nt_response)
    }

    /// Authenticator side, from the clear-text password.
    pub fn verify(
        &self,
        authenticator_challenge: &[u8; 16],
        user_name: &[u8],
        password: &str,
    ) -> bool {
        self.verify_with_hash(
            authenticator_challenge,
            user_name,
            &nt_password_hash(password),
        )
    }

    /// Authenticator side: the digest for the Success message's `S=` (see
    /// [`SuccessMessage`]), given the stored NT hash.
    pub fn authenticator_response(
        &self,
        authenticator_challenge: &[u8; 16],
        user_name: &[u8],
        password_hash: &[u8; 16],
    ) -> [u8; 20] {
        authenticator_response_with_hash(
            password_hash,
            &self.nt_response,
            &self.peer_challenge,
            authenticator_challenge,
            user_name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2759 §9.2 (also the inputs of RFC 3079 §3.5).
    const USER: &[u8] = b"User";
    const PASSWORD: &str = "clientPass";
    const AUTH_CHALLENGE: [u8; 16] = [
        0x5b, 0x5d, 0x7c, 0x7d, 0x7b, 0x3f, 0x2f, 0x3e, 0x3c, 0x2c, 0x60, 0x21, 0x32, 0x26, 0x26,
        0x28,
    ];
    const PEER_CHALLENGE: [u8; 16] = [
        0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c,
        0x7e,
    ];
    const CHALLENGE: [u8; 8] = [0xd0, 0x2e, 0x43, 0x86, 0xbc, 0xe9, 0x12, 0x26];
    const PASSWORD_HASH: [u8; 16] = [
        0x44, 0xeb, 0xba, 0x8d, 0x53, 0x12, 0xb8, 0xd6, 0x11, 0x47, 0x44, 0x11, 0xf5, 0x69, 0x89,
        0xae,
    ];
    const NT_RESPONSE: [u8; 24] = [
        0x82, 0x30, 0x9e, 0xcd, 0x8d, 0x70, 0x8b, 0x5e, 0xa0, 0x8f, 0xaa, 0x39, 0x81, 0xcd, 0x83,
        0x54, 0x42, 0x33, 0x11, 0x4a, 0x3d, 0x85, 0xd6, 0xdf,
    ];
    const PASSWORD_HASH_HASH: [u8; 16] = [
        0x41, 0xc0, 0x0c, 0x58, 0x4b, 0xd2, 0xd9, 0x1c, 0x40, 0x17, 0xa2, 0xa1, 0x2f, 0xa5, 0x9f,
        0x3f,
    ];
    const AUTH_RESPONSE: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

    #[test]
    fn rfc2759_9_2_intermediate_values() {
        assert_eq!(
            challenge_hash(&PEER_CHALLENGE, &AUTH_CHALLENGE, USER),
            CHALLENGE
        );
        assert_eq!(nt_password_hash(PASSWORD), PASSWORD_HASH);
        assert_eq!(
            generate_nt_response(&AUTH_CHALLENGE, &PEER_CHALLENGE, USER, PASSWORD),
            NT_RESPONSE
        );
        assert_eq!(hash_nt_password_hash(&PASSWORD_HASH), PASSWORD_HASH_HASH);
        assert_eq!(
            generate_authenticator_response(
                PASSWORD,
                &NT_RESPONSE,
                &PEER_CHALLENGE,
                &AUTH_CHALLENGE,
                USER
            ),
            AUTH_RESPONSE
        );
    }

    #[test]
    fn domain_prefix_is_stripped() {
        assert_eq!(strip_domain(b"BIGCO\\johndoe"), b"johndoe");
        assert_eq!(strip_domain(b"a\\b\\User"), b"User");
        assert_eq!(strip_domain(b"User"), b"User");
        assert_eq!(strip_domain(b"DOMAIN\\"), b"");
        let with_domain = b"DOMAIN\\User";
        assert_eq!(
            challenge_hash(&PEER_CHALLENGE, &AUTH_CHALLENGE, with_domain),
            CHALLENGE
        );
        assert_eq!(
            generate_nt_response(&AUTH_CHALLENGE, &PEER_CHALLENGE, with_domain, PASSWORD),
            NT_RESPONSE
        );
        assert!(check_authenticator_response(
            PASSWORD,
            &NT_RESPONSE,
            &PEER_CHALLENGE,
            &AUTH_CHALLENGE,
            with_domain,
            AUTH_RESPONSE.as_bytes()
        ));
    }

    #[test]
    fn check_authenticator_response_accepts_and_rejects() {
        let check = |msg: &[u8]| {
            check_authenticator_response(
                PASSWORD,
                &NT_RESPONSE,
                &PEER_CHALLENGE,
                &AUTH_CHALLENGE,
                USER,
                msg,
            )
        };
        assert!(check(AUTH_RESPONSE.as_bytes()));
        assert!(check(
            b"S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted"
        ));
        assert!(check(b"S=407a5589115fd0d6209f510fe9c04566932cda56"));
        assert!(!check(b"S=407A5589115FD0D6209F510FE9C04566932CDA57"));
        assert!(!check(b"S=407A5589115FD0D6209F510FE9C04566932CDA5"));
        assert!(!check(b"M=Access granted"));
        assert!(!check(b""));
        assert!(!check_authenticator_response(
            "clientpass",
            &NT_RESPONSE,
            &PEER_CHALLENGE,
            &AUTH_CHALLENGE,
            USER,
            AUTH_RESPONSE.as_bytes()
        ));
    }

    #[test]
    fn response_value_layout_round_trip_and_verify() {
        let r = MsChapV2Response::generate(&AUTH_CHALLENGE, &PEER_CHALLENGE, USER, PASSWORD);
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 49);
        assert_eq!(&bytes[..16], &PEER_CHALLENGE);
        assert_eq!(&bytes[16..24], &[0u8; 8]);
        assert_eq!(&bytes[24..48], &NT_RESPONSE);
        assert_eq!(bytes[48], 0);
        let parsed = MsChapV2Response::parse(&bytes).unwrap();
        assert_eq!(parsed, r);
        assert!(parsed.verify(&AUTH_CHALLENGE, USER, PASSWORD));
        assert!(parsed.verify(&AUTH_CHALLENGE, b"CORP\\User", PASSWORD));
        assert!(!parsed.verify(&AUTH_CHALLENGE, b"user", PASSWORD));
        assert!(!parsed.verify(&PEER_CHALLENGE, USER, PASSWORD));
        assert_eq!(
            parsed.authenticator_response(&AUTH_CHALLENGE, USER, &PASSWORD_HASH),
            SuccessMessage::parse(AUTH_RESPONSE.as_bytes())
                .unwrap()
                .authenticator_response
        );
        for len in [0, 48, 50] {
            assert_eq!(
                MsChapV2Response::parse(&vec![0; len]),
                Err(CryptoError::InvalidResponseLength(len))
            );
        }
    }
}
