//! Key-derivation vectors of RFC 3079 §2.5 and §3.5 (with the RFC's two
//! misprints corrected, each noted where it occurs), plus key changes
//! checked against an independent computation.

use super::mppe_keys::*;
use super::mschap::{hash_nt_password_hash, lm_password_hash, nt_password_hash};

// RFC 2759 §9.2 / RFC 3079 §3.5 inputs: "User" / "clientPass".
const NT_RESPONSE: [u8; 24] = [
    0x82, 0x30, 0x9e, 0xcd, 0x8d, 0x70, 0x8b, 0x5e, 0xa0, 0x8f, 0xaa, 0x39, 0x81, 0xcd, 0x83, 0x54,
    0x42, 0x33, 0x11, 0x4a, 0x3d, 0x85, 0xd6, 0xdf,
];
const MASTER_KEY: [u8; 16] = [
    0xfd, 0xec, 0xe3, 0x71, 0x7a, 0x8c, 0x83, 0x8c, 0xb3, 0x88, 0xe5, 0x27, 0xae, 0x3c, 0xdd, 0x31,
];
/// The server's send start key (Magic3), RFC 3079 §3.5.3.
const SEND_START_KEY: [u8; 16] = [
    0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb,
];
const TEST_MESSAGE: &[u8] = b"test message";

fn password_hash_hash() -> [u8; 16] {
    hash_nt_password_hash(&nt_password_hash("clientPass"))
}

fn rc4_encrypt(key: &MppeKey, data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    key.cipher().apply_keystream(&mut out);
    out
}

#[test]
fn rfc3079_3_5_master_and_start_keys() {
    assert_eq!(
        get_master_key(&password_hash_hash(), &NT_RESPONSE),
        MASTER_KEY
    );
    assert_eq!(
        get_asymmetric_start_key(&MASTER_KEY, true, true),
        SEND_START_KEY
    );
    let server = mschapv2_start_keys(&password_hash_hash(), &NT_RESPONSE, true);
    let client = mschapv2_start_keys(&password_hash_hash(), &NT_RESPONSE, false);
    assert_eq!(server.send, SEND_START_KEY);
    assert_eq!(client.receive, SEND_START_KEY);
    assert_eq!(client.send, server.receive);
    assert_ne!(client.send, client.receive);
}

#[test]
fn rfc3079_3_5_1_forty_bit() {
    let keys = KeySchedule::new(&SEND_START_KEY, KeyBits::Bits40).unwrap();
    let session = keys.session_key();
    assert_eq!(
        session.as_bytes(),
        [0xd1, 0x26, 0x9e, 0xc4, 0x9f, 0xa6, 0x2e, 0x3e]
    );
    assert_eq!(
        rc4_encrypt(session, TEST_MESSAGE),
        [
            0x92, 0x91, 0x37, 0x91, 0x7e, 0x58, 0x03, 0xd6, 0x68, 0xd7, 0x58, 0x98
        ]
    );
}

#[test]
fn rfc3079_3_5_2_fifty_six_bit() {
    let keys = KeySchedule::new(&SEND_START_KEY[..8], KeyBits::Bits56).unwrap();
    let session = keys.session_key();
    assert_eq!(
        session.as_bytes(),
        [0xd1, 0x5c, 0x00, 0xc4, 0x9f, 0xa6, 0x2e, 0x3e]
    );
    // The RFC prints a last byte of 58: a typo, B8 is right (the RC4 of
    // the test message under the session key gives B8).
    assert_eq!(
        rc4_encrypt(session, TEST_MESSAGE),
        [
            0x3f, 0x10, 0x68, 0x33, 0xfa, 0x44, 0x8d, 0xa8, 0x42, 0xbc, 0x57, 0xb8
        ]
    );
}

#[test]
fn rfc3079_3_5_3_one_twenty_eight_bit() {
    let keys = KeySchedule::new(&SEND_START_KEY, KeyBits::Bits128).unwrap();
    let session = keys.session_key();
    assert_eq!(
        session.as_bytes(),
        [
            0x40, 0x5c, 0xb2, 0x24, 0x7a, 0x79, 0x56, 0xe6, 0xe2, 0x11, 0x00, 0x7a, 0xe2, 0x7b,
            0x22, 0xd4
        ]
    );
    assert_eq!(
        rc4_encrypt(session, TEST_MESSAGE),
        [
            0x81, 0x84, 0x83, 0x17, 0xdf, 0x68, 0x84, 0x62, 0x72, 0xfb, 0x5a, 0xbe
        ]
    );
}

#[test]
fn rfc3079_2_5_mschapv1_lm_keys() {
    let lm = lm_password_hash("clientPass").unwrap();
    // Step 3: GetKey(PasswordHash, SessionKey, 8) before the salt.
    let raw = get_new_key_from_sha(&lm, &lm, 8).unwrap();
    assert_eq!(
        raw.as_bytes(),
        [0xd8, 0x08, 0x01, 0x53, 0x8c, 0xec, 0x4a, 0x08]
    );
    let start = mschapv1_lm_start_keys(&lm);
    let k40 = KeySchedule::new(&start.send, KeyBits::Bits40).unwrap();
    assert_eq!(
        k40.session_key().as_bytes(),
        [0xd1, 0x26, 0x9e, 0x53, 0x8c, 0xec, 0x4a, 0x08]
    );
    let k56 = KeySchedule::new(&start.receive, KeyBits::Bits56).unwrap();
    assert_eq!(
        k56.session_key().as_bytes(),
        [0xd1, 0x08, 0x01, 0x53, 0x8c, 0xec, 0x4a, 0x08]
    );
}

#[test]
fn rfc3079_2_5_3_mschapv1_128_bit() {
    let challenge = [0x10, 0x2d, 0xb5, 0xdf, 0x08, 0x5d, 0x30, 0x41];
    // Step 3 in the RFC prints "ac ca" at bytes 6-7; the value is "ac c1"
    // (step 4, a plain copy of it, shows it).
    let initial = [
        0xa8, 0x94, 0x78, 0x50, 0xcf, 0xc0, 0xac, 0xc1, 0xd1, 0x78, 0x9f, 0xb6, 0x2d, 0xdc, 0xdd,
        0xb0,
    ];
    assert_eq!(
        mschapv1_start_key(&challenge, &password_hash_hash()),
        initial
    );
    let start = mschapv1_start_keys(&challenge, &password_hash_hash());
    assert_eq!(start.send, start.receive);
    let keys = KeySchedule::new(&start.send, KeyBits::Bits128).unwrap();
    assert_eq!(
        keys.session_key().as_bytes(),
        [
            0x59, 0xd1, 0x59, 0xbc, 0x09, 0xf7, 0x6f, 0x1d, 0xa2, 0xa8, 0x6a, 0x28, 0xff, 0xec,
            0x0b, 0x1e
        ]
    );
}

// Expected keys after one key change were produced once with a short
// independent python3 script (hashlib.sha1 for GetNewKeyFromSHA and a
// textbook RC4), not kept in the repository.
#[test]
fn key_change_adds_rc4_step_unlike_initial_key() {
    let mut keys = KeySchedule::new(&SEND_START_KEY, KeyBits::Bits128).unwrap();
    let initial = *keys.session_key();
    let interim = get_new_key_from_sha(&SEND_START_KEY, initial.as_bytes(), 16).unwrap();
    keys.change_key();
    assert_ne!(*keys.session_key(), interim);
    assert_eq!(
        keys.session_key().as_bytes(),
        rc4_encrypt(&interim, interim.as_bytes())
    );
    assert_eq!(
        keys.session_key().as_bytes(),
        [
            0x72, 0x6f, 0x10, 0x50, 0x0e, 0x2b, 0x54, 0x13, 0x5b, 0x1b, 0x74, 0xd7, 0x68, 0x2f,
            0x04, 0x71
        ]
    );

    let mut keys = KeySchedule::new(&SEND_START_KEY, KeyBits::Bits40).unwrap();
    keys.change_key();
    assert_eq!(
        keys.session_key().as_bytes(),
        [0xd1, 0x26, 0x9e, 0xce, 0x4d, 0x98, 0xd1, 0x81]
    );
}

/// Our RC4 (crate `mppe-cipher`) gives the keystream of an independent
/// implementation for both key lengths.
#[test]
fn rc4_matches_an_independent_implementation() {
    use rc4::{KeyInit, Rc4, StreamCipher};
    for key in [&SEND_START_KEY[..8], &SEND_START_KEY[..]] {
        let mut a = vec![0u8; 300];
        let mut b = vec![0u8; 300];
        MppeKey::from_slice(key)
            .unwrap()
            .cipher()
            .apply_keystream(&mut a);
        Rc4::new_from_slice(key).unwrap().apply_keystream(&mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn key_lengths_and_bits_are_validated() {
    assert_eq!(KeyBits::from_bits(40), Ok(KeyBits::Bits40));
    assert_eq!(KeyBits::from_bits(56).map(KeyBits::bits), Ok(56));
    assert_eq!(KeyBits::from_bits(128).map(KeyBits::key_len), Ok(16));
    assert!(KeyBits::from_bits(64).is_err());
    assert!(MppeKey::from_slice(&[0; 7]).is_err());
    assert!(MppeKey::from_slice(&[0; 8]).is_ok());
    assert!(KeySchedule::new(&[0; 8], KeyBits::Bits128).is_err());
    assert!(KeySchedule::new(&[0; 7], KeyBits::Bits40).is_err());
    assert!(KeySchedule::new(&[], KeyBits::Bits56).is_err());
    assert!(get_new_key_from_sha(&[0; 16], &[0; 8], 16).is_err());
    assert!(get_new_key_from_sha(&[0; 16], &[0; 16], 12).is_err());
    assert_eq!(
        format!("{:?}", MppeKey::from_slice(&[7; 16]).unwrap()),
        "MppeKey(16 bytes)"
    );
}
