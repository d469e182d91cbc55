//! RADIUS's keyed MD5 constructions: the Response Authenticator (RFC 2865
//! §3), the Accounting and Dynamic Authorization Request Authenticator
//! (RFC 2866 §3, RFC 5176 §2.3), User-Password hiding (RFC 2865 §5.2),
//! Message-Authenticator (HMAC-MD5, RFC 3579 §3.2, RFC 2104) and the
//! salted encryption of MS-MPPE-Send-Key and -Recv-Key (RFC 2548 §2.4.2).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use md5::{Digest, Md5};

use super::RadiusError;
use super::packet::{Code, Packet, attr};
use crate::ppp::crypto::ct_eq;

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 (RFC 2104); keys longer than a block are hashed first.
pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        if let Some(d) = k.get_mut(..16) {
            d.copy_from_slice(&md5(&[key]));
        }
    } else if let Some(d) = k.get_mut(..key.len()) {
        d.copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = md5(&[&ipad, data]);
    md5(&[&opad, &inner])
}

/// Where the authenticator sits in a packet's bytes.
const AUTH: std::ops::Range<usize> = 4..20;

/// Set the Message-Authenticator (already present, zeroed) of `bytes`,
/// whose authenticator field holds what RFC 3579 §3.2 says for the code.
fn set_message_authenticator(bytes: &mut [u8], secret: &[u8]) {
    let Some(at) = message_authenticator_at(bytes) else {
        return;
    };
    let mac = hmac_md5(secret, bytes);
    if let Some(d) = bytes.get_mut(at..at.saturating_add(16)) {
        d.copy_from_slice(&mac);
    }
}

/// Offset of the Message-Authenticator's value in a well-formed packet.
fn message_authenticator_at(bytes: &[u8]) -> Option<usize> {
    let mut at = 20usize;
    while let (Some(&kind), Some(&len)) = (bytes.get(at), bytes.get(at.checked_add(1)?)) {
        if kind == attr::MESSAGE_AUTHENTICATOR && len == 18 {
            return at.checked_add(2);
        }
        at = at.checked_add(usize::from(len.max(2)))?;
    }
    None
}

/// `p`'s bytes with `vector` in the authenticator field and a
/// Message-Authenticator last, set (RFC 3579 §3.2); with `md5`, the
/// authenticator then becomes MD5(packet | secret) (RFC 2865 §3, RFC 2866
/// §3) and is returned.
fn sign(
    p: &mut Packet,
    secret: &[u8],
    vector: [u8; 16],
    md5_auth: bool,
) -> Result<(Vec<u8>, [u8; 16]), RadiusError> {
    p.authenticator = vector;
    p.attrs.retain(|a| a.kind != attr::MESSAGE_AUTHENTICATOR);
    p.add(attr::MESSAGE_AUTHENTICATOR, &[0; 16]);
    let mut b = p.to_vec()?;
    set_message_authenticator(&mut b, secret);
    if !md5_auth {
        return Ok((b, vector));
    }
    let auth = md5(&[&b, secret]);
    if let Some(d) = b.get_mut(AUTH) {
        d.copy_from_slice(&auth);
    }
    Ok((b, auth))
}

/// An Access-Request ready to send: its random Request Authenticator, and
/// a Message-Authenticator last (the BlastRADIUS advice).
pub fn finish_access_request(
    p: &mut Packet,
    secret: &[u8],
    random: [u8; 16],
) -> Result<Vec<u8>, RadiusError> {
    Ok(sign(p, secret, random, false)?.0)
}

/// An Accounting, Disconnect or CoA Request ready to send: a
/// Message-Authenticator over the packet with a zero authenticator, then
/// the Request Authenticator MD5(packet | secret) (RFC 2866 §3, RFC 5176
/// §2.3), also left in `p`.
pub fn finish_md5_request(p: &mut Packet, secret: &[u8]) -> Result<Vec<u8>, RadiusError> {
    let (b, auth) = sign(p, secret, [0; 16], true)?;
    p.authenticator = auth;
    Ok(b)
}

/// A response to a request whose authenticator was `request_auth`: its
/// Message-Authenticator, then its Response Authenticator.
pub fn finish_response(
    p: &mut Packet,
    secret: &[u8],
    request_auth: [u8; 16],
) -> Result<Vec<u8>, RadiusError> {
    Ok(sign(p, secret, request_auth, true)?.0)
}

/// Check a Message-Authenticator: `bytes` with the authenticator field set
/// to `auth` and the attribute's value zeroed.
fn message_authenticator_ok(bytes: &[u8], auth: &[u8; 16], secret: &[u8]) -> Option<bool> {
    let at = message_authenticator_at(bytes)?;
    let mut copy = bytes.to_vec();
    copy.get_mut(AUTH)?.copy_from_slice(auth);
    let got: [u8; 16] = bytes.get(at..at.checked_add(16)?)?.try_into().ok()?;
    copy.get_mut(at..at.checked_add(16)?)?.fill(0);
    Some(ct_eq(&hmac_md5(secret, &copy), &got))
}

/// The datagram without padding past its Length field.
fn exact(bytes: &[u8]) -> &[u8] {
    let len = bytes
        .get(2..4)
        .and_then(|l| <[u8; 2]>::try_from(l).ok())
        .map_or(0, |l| usize::from(u16::from_be_bytes(l)));
    bytes.get(..len).unwrap_or(bytes)
}

/// A response to our request (authenticator `request_auth`): its Response
/// Authenticator must match, and it must carry a valid
/// Message-Authenticator (the BlastRADIUS mitigation for Access-*;
/// required of every answer here).
pub fn verify_response(
    bytes: &[u8],
    request_auth: &[u8; 16],
    secret: &[u8],
) -> Result<Packet, RadiusError> {
    verify_response_with(bytes, request_auth, secret, true)
}

/// [`verify_response`], with the Message-Authenticator optional unless
/// `require_ma` (for servers that do not sign their answers yet; a
/// present one is always checked).
pub fn verify_response_with(
    bytes: &[u8],
    request_auth: &[u8; 16],
    secret: &[u8],
    require_ma: bool,
) -> Result<Packet, RadiusError> {
    let p = Packet::parse(bytes)?;
    let b = exact(bytes);
    let mut copy = b.to_vec();
    if let Some(d) = copy.get_mut(AUTH) {
        d.copy_from_slice(request_auth);
    }
    if !ct_eq(&md5(&[&copy, secret]), &p.authenticator) {
        return Err(RadiusError::BadAuthenticator);
    }
    // No RFC says how an Accounting-Response's Message-Authenticator is
    // computed: with the request's authenticator like Access-* answers
    // (RFC 3579 §3.2), or with zeros like the requests, as FreeRADIUS
    // does. Either is taken.
    let ok = message_authenticator_ok(b, request_auth, secret).map(|ok| {
        ok || (p.code == Code::AccountingResponse
            && message_authenticator_ok(b, &[0; 16], secret) == Some(true))
    });
    match ok {
        Some(true) => Ok(p),
        Some(false) => Err(RadiusError::BadAuthenticator),
        None if require_ma => Err(RadiusError::NoMessageAuthenticator),
        None => Ok(p),
    }
}

/// A Disconnect or CoA Request from a dynamic authorization client
/// (RFC 5176 §2.3): its Request Authenticator, and its
/// Message-Authenticator if it has one.
pub fn verify_md5_request(bytes: &[u8], secret: &[u8]) -> Result<Packet, RadiusError> {
    let p = Packet::parse(bytes)?;
    if !matches!(
        p.code,
        Code::DisconnectRequest | Code::CoaRequest | Code::AccountingRequest
    ) {
        return Err(RadiusError::Malformed(
            "not a request with an MD5 authenticator",
        ));
    }
    let b = exact(bytes);
    let mut copy = b.to_vec();
    if let Some(d) = copy.get_mut(AUTH) {
        d.fill(0);
    }
    if !ct_eq(&md5(&[&copy, secret]), &p.authenticator) {
        return Err(RadiusError::BadAuthenticator);
    }
    match message_authenticator_ok(b, &[0; 16], secret) {
        Some(false) => Err(RadiusError::BadAuthenticator),
        _ => Ok(p),
    }
}

/// User-Password (RFC 2865 §5.2): the password padded to 16 octets, each
/// block XORed with MD5(secret | previous block), the first with the
/// Request Authenticator. At most 128 octets.
pub fn hide_password(password: &[u8], secret: &[u8], request_auth: &[u8; 16]) -> Vec<u8> {
    let mut p = password
        .get(..password.len().min(128))
        .unwrap_or_default()
        .to_vec();
    let padded = p.len().div_ceil(16).max(1).saturating_mul(16);
    p.resize(padded, 0);
    let mut prev: Vec<u8> = request_auth.to_vec();
    for block in p.chunks_mut(16) {
        let b = md5(&[secret, &prev]);
        for (x, k) in block.iter_mut().zip(b) {
            *x ^= k;
        }
        prev = block.to_vec();
    }
    p
}

/// The inverse of [`hide_password`]: also how MS-CHAP-MPPE-Keys is hidden
/// (RFC 2548 §2.4.1).
pub fn unhide(cipher: &[u8], secret: &[u8], request_auth: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cipher.len());
    let mut prev: &[u8] = request_auth;
    for block in cipher.chunks(16) {
        let b = md5(&[secret, prev]);
        out.extend(block.iter().zip(b).map(|(c, k)| c ^ k));
        prev = block;
    }
    out
}

/// The key inside an MS-MPPE-Send-Key or -Recv-Key value (RFC 2548
/// §2.4.2): Salt (2 octets, high bit set), then the key length, key and
/// padding, encrypted like User-Password with the salt after the Request
/// Authenticator in the first block.
pub fn decrypt_mppe_key(
    value: &[u8],
    secret: &[u8],
    request_auth: &[u8; 16],
) -> Result<Vec<u8>, RadiusError> {
    let (salt, cipher) = value
        .split_at_checked(2)
        .ok_or(RadiusError::Malformed("MPPE key"))?;
    if salt.first().is_none_or(|s| s & 0x80 == 0) || cipher.is_empty() || cipher.len() % 16 != 0 {
        return Err(RadiusError::Malformed("MPPE key"));
    }
    let mut plain = Vec::with_capacity(cipher.len());
    let mut prev: Vec<u8> = [request_auth.as_slice(), salt].concat();
    for block in cipher.chunks(16) {
        let b = md5(&[secret, &prev]);
        plain.extend(block.iter().zip(b).map(|(c, k)| c ^ k));
        prev = block.to_vec();
    }
    let (len, rest) = plain
        .split_first()
        .ok_or(RadiusError::Malformed("MPPE key"))?;
    rest.get(..usize::from(*len))
        .map(<[u8]>::to_vec)
        .ok_or(RadiusError::Malformed("MPPE key length"))
}

/// The inverse of [`decrypt_mppe_key`] (for tests and a RADIUS server's
/// side).
pub fn encrypt_mppe_key(
    key: &[u8],
    salt: [u8; 2],
    secret: &[u8],
    request_auth: &[u8; 16],
) -> Vec<u8> {
    let mut plain = vec![u8::try_from(key.len()).unwrap_or(u8::MAX)];
    plain.extend_from_slice(key);
    let padded = plain.len().div_ceil(16).saturating_mul(16);
    plain.resize(padded, 0);
    let mut out = salt.to_vec();
    let mut prev: Vec<u8> = [request_auth.as_slice(), &salt].concat();
    for block in plain.chunks(16) {
        let b = md5(&[secret, &prev]);
        let c: Vec<u8> = block.iter().zip(b).map(|(p, k)| p ^ k).collect();
        out.extend_from_slice(&c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests;
