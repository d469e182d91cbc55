//! MPPE keys: start keys from MS-CHAP credentials (RFC 3079), the initial
//! session key and the key change (RFC 3078 §7.3).
//!
//! The two derivations differ on purpose and are kept apart here:
//! - the *initial* session key is `GetNewKeyFromSHA(StartKey, StartKey)`
//!   then the 40/56-bit salt, with no RC4 step (RFC 3079 §2.3, §3.1-§3.3);
//! - every later *key change* is `GetNewKeyFromSHA(StartKey, SessionKey)`,
//!   then RC4-encrypting that interim key with itself, then the salt
//!   (RFC 3078 §7.3).

use core::fmt;

use mppe_cipher::Rc4;
use sha1::{Digest, Sha1};

use super::CryptoError;

/// MPPE key strength, negotiated by the CCP option bits L, M and S
/// (RFC 3078 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyBits {
    /// 40-bit: an 8-byte key whose first 3 bytes are fixed.
    Bits40,
    /// 56-bit: an 8-byte key whose first byte is fixed.
    Bits56,
    /// 128-bit: a 16-byte key.
    Bits128,
}

impl KeyBits {
    /// From the number of bits (40, 56 or 128).
    pub fn from_bits(bits: u16) -> Result<Self, CryptoError> {
        match bits {
            40 => Ok(Self::Bits40),
            56 => Ok(Self::Bits56),
            128 => Ok(Self::Bits128),
            other => Err(CryptoError::InvalidKeyBits(other)),
        }
    }

    /// 40, 56 or 128.
    pub fn bits(self) -> u16 {
        match self {
            Self::Bits40 => 40,
            Self::Bits56 => 56,
            Self::Bits128 => 128,
        }
    }

    /// Key length in bytes: 40- and 56-bit keys are 8 bytes with salt.
    pub fn key_len(self) -> usize {
        match self {
            Self::Bits40 | Self::Bits56 => 8,
            Self::Bits128 => 16,
        }
    }
}

/// An 8- or 16-byte MPPE key. `Debug` hides the bytes so keys stay out of
/// logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MppeKey {
    bytes: [u8; 16],
    /// 16 bytes long, else 8: only the two lengths can be expressed.
    long: bool,
}

impl MppeKey {
    /// Accepts exactly 8 or 16 bytes.
    pub fn from_slice(key: &[u8]) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 16];
        let long = match key.len() {
            8 => false,
            16 => true,
            n => return Err(CryptoError::InvalidKeyLength(n)),
        };
        for (b, k) in bytes.iter_mut().zip(key) {
            *b = *k;
        }
        Ok(Self { bytes, long })
    }

    /// The key length in bytes: 8 or 16.
    fn len(&self) -> usize {
        if self.long { 16 } else { 8 }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        if self.long {
            &self.bytes
        } else {
            &self.bytes[..8]
        }
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        if self.long {
            &mut self.bytes
        } else {
            &mut self.bytes[..8]
        }
    }

    /// Sets the fixed leading bytes that reduce the effective strength to
    /// 40 or 56 bits (RFC 3078 §7.3, RFC 3079 §3.1/§3.2).
    pub fn apply_salt(&mut self, bits: KeyBits) {
        match bits {
            KeyBits::Bits40 => self.bytes[..3].copy_from_slice(&[0xd1, 0x26, 0x9e]),
            KeyBits::Bits56 => self.bytes[0] = 0xd1,
            KeyBits::Bits128 => {}
        }
    }

    /// An RC4 keyed with this key (`rc4_key` of RFC 3078 §5).
    pub(crate) fn cipher(&self) -> Rc4 {
        let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = self.bytes;
        if self.long {
            Rc4::with_key(&self.bytes)
        } else {
            Rc4::with_key(&[b0, b1, b2, b3, b4, b5, b6, b7])
        }
    }

    fn rc4_self_encrypted(&self) -> Self {
        let mut out = *self;
        self.cipher().apply_keystream(out.as_bytes_mut());
        out
    }
}

impl fmt::Debug for MppeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MppeKey({} bytes)", self.len())
    }
}

/// GetNewKeyFromSHA (RFC 3078 §7.3), also RFC 3079's GetKey: SHA-1 of the
/// first `len` bytes of `start_key` and `session_key` between the pads.
/// `len` must be 8 or 16 and both keys at least that long.
pub fn get_new_key_from_sha(
    start_key: &[u8],
    session_key: &[u8],
    len: usize,
) -> Result<MppeKey, CryptoError> {
    let (Some(start), Some(session)) = (start_key.get(..len), session_key.get(..len)) else {
        return Err(CryptoError::InvalidKeyLength(
            start_key.len().min(session_key.len()),
        ));
    };
    Ok(new_key_from_sha(
        &MppeKey::from_slice(start)?,
        &MppeKey::from_slice(session)?,
    ))
}

/// GetNewKeyFromSHA on keys of the same length (the caller's invariant).
fn new_key_from_sha(start: &MppeKey, session: &MppeKey) -> MppeKey {
    let digest = mppe_cipher::new_key_digest(start.as_bytes(), session.as_bytes());
    let mut out = *start;
    // The key is shorter than the 20-byte digest: its first bytes.
    for (o, d) in out.as_bytes_mut().iter_mut().zip(digest) {
        *o = d;
    }
    out
}

/// One direction's keys: the start (master session) key, which never changes,
/// and the current session key. Built from a start key with the initial
/// derivation; [`KeySchedule::change_key`] applies RFC 3078 §7.3.
#[derive(Clone)]
pub struct KeySchedule {
    bits: KeyBits,
    start: MppeKey,
    session: MppeKey,
}

impl KeySchedule {
    /// From a start key (at least [`KeyBits::key_len`] bytes; longer keys are
    /// truncated, as RFC 3079 §4 does): the initial session key is
    /// GetNewKeyFromSHA(StartKey, StartKey) plus the salt, without RC4.
    pub fn new(start_key: &[u8], bits: KeyBits) -> Result<Self, CryptoError> {
        let len = bits.key_len();
        let start = start_key
            .get(..len)
            .ok_or(CryptoError::InvalidKeyLength(start_key.len()))?;
        let start = MppeKey::from_slice(start)?;
        let mut session = new_key_from_sha(&start, &start);
        session.apply_salt(bits);
        Ok(Self {
            bits,
            start,
            session,
        })
    }

    /// The key strength.
    pub fn bits(&self) -> KeyBits {
        self.bits
    }

    /// The current session key.
    pub fn session_key(&self) -> &MppeKey {
        &self.session
    }

    /// The key change of RFC 3078 §7.3: interim key by GetNewKeyFromSHA,
    /// RC4-encrypted with itself, then salted.
    pub fn change_key(&mut self) {
        let interim = new_key_from_sha(&self.start, &self.session);
        self.session = interim.rc4_self_encrypted();
        self.session.apply_salt(self.bits);
    }

    /// RC4 keyed with the current session key.
    pub(crate) fn cipher(&self) -> Rc4 {
        self.session.cipher()
    }
}

impl fmt::Debug for KeySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySchedule")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Start keys of both directions of one end, 16 bytes each; 40/56-bit MPPE
/// uses the first 8 bytes ([`KeySchedule::new`] truncates).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StartKeys {
    /// Start key for what this end sends.
    pub send: [u8; 16],
    /// Start key for what this end receives.
    pub receive: [u8; 16],
}

impl fmt::Debug for StartKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartKeys { .. }")
    }
}

/// Get_Start_Key (RFC 3079 §2.4): the MS-CHAPv1 128-bit start key from the
/// authenticator's challenge and the password hash hash.
pub fn mschapv1_start_key(challenge: &[u8; 8], password_hash_hash: &[u8; 16]) -> [u8; 16] {
    let digest: [u8; 20] = Sha1::new()
        .chain_update(password_hash_hash)
        .chain_update(password_hash_hash)
        .chain_update(challenge)
        .finalize()
        .into();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// MS-CHAPv1 start keys: the same key both ways (RFC 3079 §2). pppd and
/// Linux use this for every strength (40/56-bit take its first 8 bytes).
pub fn mschapv1_start_keys(challenge: &[u8; 8], password_hash_hash: &[u8; 16]) -> StartKeys {
    let key = mschapv1_start_key(challenge, password_hash_hash);
    StartKeys {
        send: key,
        receive: key,
    }
}

/// MS-CHAPv1 40/56-bit start keys from the LAN Manager hash, as RFC 3079
/// §2.1/§2.2 describe (only its first 8 bytes are used).
pub fn mschapv1_lm_start_keys(lm_password_hash: &[u8; 16]) -> StartKeys {
    StartKeys {
        send: *lm_password_hash,
        receive: *lm_password_hash,
    }
}

/// GetMasterKey (RFC 3079 §3.4): MS-CHAPv2's shared master key, bound to
/// this authentication's NT-Response.
pub fn get_master_key(password_hash_hash: &[u8; 16], nt_response: &[u8; 24]) -> [u8; 16] {
    const MAGIC1: &[u8; 27] = b"This is the MPPE Master Key";
    let digest: [u8; 20] = Sha1::new()
        .chain_update(password_hash_hash)
        .chain_update(nt_response)
        .chain_update(MAGIC1)
        .finalize()
        .into();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// GetAsymmetricStartKey (RFC 3079 §3.4), 16 bytes (8-byte keys are its
/// prefix). The magic is Magic2 when `is_send XOR is_server` (client send,
/// server receive) and Magic3 otherwise (server send, client receive), so
/// both ends derive the same key for each direction.
pub fn get_asymmetric_start_key(master_key: &[u8; 16], is_send: bool, is_server: bool) -> [u8; 16] {
    const MAGIC2: &[u8; 84] = b"On the client side, this is the send key; \
on the server side, it is the receive key.";
    const MAGIC3: &[u8; 84] = b"On the client side, this is the receive key; \
on the server side, it is the send key.";
    let magic = if is_send == is_server { MAGIC3 } else { MAGIC2 };
    // The same padded hash as GetNewKeyFromSHA (RFC 3079 §3.3, §3.4).
    let digest = mppe_cipher::new_key_digest(master_key, magic);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// MS-CHAPv2 start keys of one end (RFC 3079 §3): the client's send key is
/// the server's receive key and vice versa.
pub fn mschapv2_start_keys(
    password_hash_hash: &[u8; 16],
    nt_response: &[u8; 24],
    is_server: bool,
) -> StartKeys {
    let master = get_master_key(password_hash_hash, nt_response);
    StartKeys {
        send: get_asymmetric_start_key(&master, true, is_server),
        receive: get_asymmetric_start_key(&master, false, is_server),
    }
}
