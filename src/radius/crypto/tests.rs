//! RFC 2865 §7's authenticators and hidden password, RFC 2104's HMAC-MD5
//! vectors, Message-Authenticator and the RFC 2548 key encryption.

use super::*;
use crate::radius::packet::tests::{SECRET, chap_accept, chap_request, pap_accept, pap_request};
use crate::testutil::hex;

fn auth_of(b: &[u8]) -> [u8; 16] {
    b[4..20].try_into().unwrap()
}

#[test]
fn rfc2104_hmac_md5_vectors() {
    assert_eq!(
        hmac_md5(&[0x0b; 16], b"Hi There").to_vec(),
        hex("9294727a3638bb1c13f48ef8158bfc9d")
    );
    assert_eq!(
        hmac_md5(b"Jefe", b"what do ya want for nothing?").to_vec(),
        hex("750c783e6ab0b503eaa86e310a5db738")
    );
    assert_eq!(
        hmac_md5(&[0xaa; 16], &[0xdd; 50]).to_vec(),
        hex("56be34521d144c88dbb8c733f0e8b3f6")
    );
}

#[test]
fn rfc2865_user_password_is_hidden_as_the_example_shows() {
    let req = pap_request();
    assert_eq!(
        hide_password(b"arctangent", SECRET, &auth_of(&req)),
        req[0x1c..0x2c].to_vec()
    );
}

/// RFC 2865 §7 answers carry no Message-Authenticator: their Response
/// Authenticators check, and the missing attribute is refused.
#[test]
fn unhide_reverses_hide() {
    let req = pap_request();
    let hidden = &req[0x1c..0x2c];
    assert_eq!(&unhide(hidden, SECRET, &auth_of(&req))[..10], b"arctangent");
    let long: Vec<u8> = (0..40).collect();
    let h = hide_password(&long, SECRET, &[3; 16]);
    assert_eq!(&unhide(&h, SECRET, &[3; 16])[..40], &long[..]);
}

#[test]
fn rfc2865_response_authenticators_check() {
    for (req, acc) in [
        (pap_request(), pap_accept()),
        (chap_request(), chap_accept()),
    ] {
        assert_eq!(
            verify_response(&acc, &auth_of(&req), SECRET),
            Err(RadiusError::NoMessageAuthenticator)
        );
        // Without the requirement, the Response Authenticator alone.
        assert!(verify_response_with(&acc, &auth_of(&req), SECRET, false).is_ok());
        assert_eq!(
            verify_response(&acc, &auth_of(&req), b"wrong"),
            Err(RadiusError::BadAuthenticator)
        );
        let mut forged = acc.clone();
        forged[25] ^= 1;
        assert_eq!(
            verify_response(&forged, &auth_of(&req), SECRET),
            Err(RadiusError::BadAuthenticator)
        );
    }
}

#[test]
fn responses_with_a_message_authenticator_are_accepted_and_checked() {
    let req_auth = auth_of(&pap_request());
    let mut p = Packet::parse(&pap_accept()).unwrap();
    let b = finish_response(&mut p, SECRET, req_auth).unwrap();
    // Message-Authenticator: type 80, length 18, last.
    assert_eq!(&b[b.len() - 18..b.len() - 16], &[80, 18]);
    let back = verify_response(&b, &req_auth, SECRET).unwrap();
    assert_eq!(back.get(attr::USER_NAME), None);
    // Any bit flipped in the Message-Authenticator: refused.
    let mut bad = b.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        verify_response(&bad, &req_auth, SECRET),
        Err(RadiusError::BadAuthenticator)
    );
    // Its HMAC-MD5 is over the packet with the Request Authenticator and
    // the attribute zeroed (RFC 3579 §3.2).
    let mut zeroed = b.clone();
    zeroed[4..20].copy_from_slice(&req_auth);
    zeroed[n - 16..].fill(0);
    assert_eq!(b[n - 16..], hmac_md5(SECRET, &zeroed));
}

/// FreeRADIUS signs an Accounting-Response's Message-Authenticator over a
/// zero authenticator (as for requests); that is taken, for it only.
#[test]
fn an_accounting_response_signed_over_zeros_is_taken() {
    let req_auth = [5u8; 16];
    let sign = |code: Code| {
        let mut p = Packet::new(code, 4);
        p.add(attr::MESSAGE_AUTHENTICATOR, &[0; 16]);
        let mut b = p.to_vec().unwrap();
        let n = b.len();
        let mac = hmac_md5(SECRET, &b); // authenticator field all zero
        b[n - 16..].copy_from_slice(&mac);
        b[4..20].copy_from_slice(&req_auth);
        let sum = md5(&[&b, SECRET]);
        b[4..20].copy_from_slice(&sum);
        b
    };
    assert!(verify_response(&sign(Code::AccountingResponse), &req_auth, SECRET).is_ok());
    assert_eq!(
        verify_response(&sign(Code::AccessAccept), &req_auth, SECRET),
        Err(RadiusError::BadAuthenticator)
    );
}

#[test]
fn access_request_ends_with_its_message_authenticator() {
    let mut p = Packet::new(Code::AccessRequest, 7);
    p.add(attr::USER_NAME, b"nemo");
    let b = finish_access_request(&mut p, SECRET, [0x42; 16]).unwrap();
    assert_eq!(&b[4..20], &[0x42; 16]);
    let n = b.len();
    assert_eq!(&b[n - 18..n - 16], &[80, 18]);
    let mut zeroed = b.clone();
    zeroed[n - 16..].fill(0);
    assert_eq!(b[n - 16..], hmac_md5(SECRET, &zeroed));
}

#[test]
fn md5_requests_round_trip_and_reject_a_wrong_secret() {
    let mut p = Packet::new(Code::DisconnectRequest, 3);
    p.add(attr::USER_NAME, b"alice");
    let b = finish_md5_request(&mut p, SECRET).unwrap();
    let back = verify_md5_request(&b, SECRET).unwrap();
    assert_eq!(back.get(attr::USER_NAME), Some(&b"alice"[..]));
    assert_eq!(
        verify_md5_request(&b, b"other"),
        Err(RadiusError::BadAuthenticator)
    );
    // The authenticator is MD5 over the packet with 16 zero octets there.
    let mut z = b.clone();
    z[4..20].fill(0);
    assert_eq!(auth_of(&b), md5(&[&z, SECRET]));
}

#[test]
fn mppe_keys_round_trip_and_refuse_bad_salts() {
    let ra = [7u8; 16];
    let key: Vec<u8> = (0..16).collect();
    let enc = encrypt_mppe_key(&key, [0x80, 0x01], SECRET, &ra);
    // Salt, then one length octet, the key and padding: 32 octets.
    assert_eq!(enc.len(), 2 + 32);
    assert_eq!(decrypt_mppe_key(&enc, SECRET, &ra).unwrap(), key);
    assert_ne!(
        decrypt_mppe_key(&enc, b"wrong", &ra).ok(),
        Some(key.clone())
    );
    let mut no_high_bit = enc.clone();
    no_high_bit[0] = 0x01;
    assert!(decrypt_mppe_key(&no_high_bit, SECRET, &ra).is_err());
    assert!(decrypt_mppe_key(&enc[..20], SECRET, &ra).is_err());
    // The first block depends on the salt: two salts, two ciphertexts.
    let enc2 = encrypt_mppe_key(&key, [0x80, 0x02], SECRET, &ra);
    assert_ne!(enc[2..18], enc2[2..18]);
}
