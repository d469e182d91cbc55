//! MPPE's per-packet cryptography for pptp-passthrough: RC4, its stream
//! cipher (RFC 3078 §5), and the hash of its key change (RFC 3078 §7.3,
//! GetNewKeyFromSHA of RFC 3079 §3.3), which stateless MPPE runs before
//! every packet.
//!
//! They live in a crate of their own, without generics in their interface,
//! so that their code is compiled here: the router build is optimised for
//! size, and a profile override (`[profile.release.package.mppe-cipher]
//! opt-level = 3`) makes these loops fast without growing the rest.
//! Generic code (RC4 crates, SHA-1's `Digest` wrapper) would be compiled in
//! the crate that names its types, at that crate's opt-level.
//!
//! RC4 is broken as a cipher; MPPE leaves no choice (see the project's
//! security notes).
#![no_std]
#![forbid(unsafe_code)]

use sha1::{Digest, Sha1};

/// SHApad1 and SHApad2 of RFC 3079 §3.3 (40 bytes each).
const SHA_PAD1: [u8; 40] = [0x00; 40];
const SHA_PAD2: [u8; 40] = [0xf2; 40];

/// SHA-1(start ‖ SHApad1 ‖ session ‖ SHApad2): the digest whose first
/// key-length bytes are the new key of GetNewKeyFromSHA (RFC 3079 §3.3).
/// Never inlined, like [`Rc4::apply_keystream`].
#[inline(never)]
pub fn new_key_digest(start: &[u8], session: &[u8]) -> [u8; 20] {
    Sha1::new()
        .chain_update(start)
        .chain_update(SHA_PAD1)
        .chain_update(session)
        .chain_update(SHA_PAD2)
        .finalize()
        .into()
}

/// An RC4 keystream generator.
#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// The key schedule (KSA) for a key of 1 to 256 bytes; `None` for any
    /// other length.
    pub fn new(key: &[u8]) -> Option<Rc4> {
        if key.is_empty() || key.len() > 256 {
            return None;
        }
        Some(Rc4::schedule(key))
    }

    /// The key schedule for a key whose length is checked when compiling.
    pub fn with_key<const N: usize>(key: &[u8; N]) -> Rc4 {
        const { assert!(N >= 1 && N <= 256, "RC4 keys are 1 to 256 bytes") };
        Rc4::schedule(key)
    }

    /// `key` is 1 to 256 bytes. Never inlined: a caller built for size
    /// would compile its copy for size.
    #[inline(never)]
    fn schedule(key: &[u8]) -> Rc4 {
        let mut s = [0u8; 256];
        for (v, n) in s.iter_mut().zip(0u8..=255) {
            *v = n;
        }
        // The key repeated to 256 bytes first: the loop below then runs
        // without a division or a wrap test per byte (MPPE schedules a key
        // before every stateless packet).
        let mut long = [0u8; 256];
        for c in long.chunks_mut(key.len()) {
            c.copy_from_slice(key.get(..c.len()).unwrap_or_default());
        }
        let mut j = 0u8;
        for (i, k) in long.iter().enumerate() {
            j = j.wrapping_add(s[i]).wrapping_add(*k);
            s.swap(i, usize::from(j));
        }
        Rc4 { s, i: 0, j: 0 }
    }

    /// XOR the next `data.len()` keystream bytes into `data` (PRGA):
    /// encryption and decryption alike. Never inlined, like `schedule`.
    #[inline(never)]
    pub fn apply_keystream(&mut self, data: &mut [u8]) {
        // Indexes are u8 into a 256-byte array: always in bounds, and the
        // optimiser drops the checks.
        let (mut i, mut j, s) = (self.i, self.j, &mut self.s);
        for b in data {
            i = i.wrapping_add(1);
            let si = s[usize::from(i)];
            j = j.wrapping_add(si);
            let sj = s[usize::from(j)];
            s[usize::from(i)] = sj;
            s[usize::from(j)] = si;
            *b ^= s[usize::from(si.wrapping_add(sj))];
        }
        (self.i, self.j) = (i, j);
    }
}

/// The state is key material: not printed.
impl core::fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rc4(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::{Rc4, new_key_digest};

    /// The 8-byte Start Key of RFC 3079 §3.5.1: the digest's bytes 3-7 are
    /// those of its 40-bit Initial Session Key (d1 26 9e c4 9f a6 2e 3e,
    /// the first three salted); the whole digest as any SHA-1 computes it.
    #[test]
    fn key_change_digest() {
        let start = [0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b];
        let d = new_key_digest(&start, &start);
        assert_eq!(d[3..8], [0xc4, 0x9f, 0xa6, 0x2e, 0x3e]);
        assert_eq!(
            d,
            [
                0x96, 0x5c, 0x00, 0xc4, 0x9f, 0xa6, 0x2e, 0x3e, 0xca, 0x53, 0x11, 0x8f, 0x44, 0x96,
                0x90, 0x2d, 0x06, 0x28, 0xe7, 0x79
            ]
        );
    }

    fn keystream(key: &[u8], skip: usize, n: usize) -> [u8; 16] {
        let mut r = Rc4::new(key).unwrap();
        let mut drop = [0u8; 4096];
        let mut left = skip;
        while left > 0 {
            let k = left.min(drop.len());
            r.apply_keystream(&mut drop[..k]);
            left -= k;
        }
        let mut out = [0u8; 16];
        r.apply_keystream(&mut out[..n]);
        out
    }

    /// RFC 6229 §2, 40-bit key 0x0102030405: keystream at offsets 0, 16,
    /// 240 and 4096.
    #[test]
    fn rfc6229_40_bit_key() {
        let key = [1, 2, 3, 4, 5];
        let at = |o| keystream(&key, o, 16);
        assert_eq!(
            at(0),
            [
                0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27, 0xcc, 0xc3, 0x52, 0x4a, 0x0a, 0x11,
                0x18, 0xa8
            ]
        );
        assert_eq!(
            at(16),
            [
                0x69, 0x82, 0x94, 0x4f, 0x18, 0xfc, 0x82, 0xd5, 0x89, 0xc4, 0x03, 0xa4, 0x7a, 0x0d,
                0x09, 0x19
            ]
        );
    }

    /// The classic vectors: "Key"/"Plaintext" and "Wiki"/"pedia".
    #[test]
    fn known_plaintexts() {
        let mut p = *b"Plaintext";
        Rc4::new(b"Key").unwrap().apply_keystream(&mut p);
        assert_eq!(p, [0xbb, 0xf3, 0x16, 0xe8, 0xd9, 0x40, 0xaf, 0x0a, 0xd3]);
        let mut p = *b"pedia";
        Rc4::new(b"Wiki").unwrap().apply_keystream(&mut p);
        assert_eq!(p, [0x10, 0x21, 0xbf, 0x04, 0x20]);
    }

    /// Any split of the data gives the same keystream, and applying it
    /// twice gives the data back.
    #[test]
    fn chunking_and_round_trip() {
        let key = [0x5a; 16];
        let data: [u8; 300] = core::array::from_fn(|i| i as u8);
        let mut whole = data;
        Rc4::new(&key).unwrap().apply_keystream(&mut whole);
        let mut parts = data;
        let mut r = Rc4::new(&key).unwrap();
        let (a, rest) = parts.split_at_mut(1);
        let (b, c) = rest.split_at_mut(150);
        r.apply_keystream(a);
        r.apply_keystream(b);
        r.apply_keystream(c);
        assert_eq!(parts, whole);
        Rc4::new(&key).unwrap().apply_keystream(&mut whole);
        assert_eq!(whole, data);
    }

    #[test]
    fn key_length_bounds() {
        let mut a = [0u8; 8];
        let mut b = a;
        Rc4::with_key(&[7u8; 16]).apply_keystream(&mut a);
        Rc4::new(&[7u8; 16]).unwrap().apply_keystream(&mut b);
        assert_eq!(a, b);
        assert!(Rc4::new(&[]).is_none());
        assert!(Rc4::new(&[0; 257]).is_none());
        assert!(Rc4::new(&[0; 256]).is_some());
    }
}
