//! Shared checks for the per-message tests.

use super::{Error, Message};

/// Concatenate hand-written pieces of a message.
pub(super) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `s` followed by NULs up to `n` octets, as the RFC fills string fields.
pub(super) fn pad(s: &[u8], n: usize) -> Vec<u8> {
    assert!(s.len() <= n);
    let mut v = s.to_vec();
    v.resize(n, 0);
    v
}

/// `bytes` (written out by hand) must parse to `expected`, and `expected`
/// must emit back to exactly `bytes`; every truncation and an extra
/// trailing byte must be refused.
pub(super) fn check(bytes: &[u8], expected: &Message) {
    let len = bytes.len();
    assert_eq!(Message::parse(bytes), Ok(expected.clone()));
    assert_eq!(expected.buffer_len(), len);
    assert_eq!(usize::from(expected.control_type().fixed_len()), len);
    assert_eq!(expected.to_bytes(), bytes);

    // Emit overwrites stale bytes (reserved fields too) and nothing past
    // the message.
    let mut out = vec![0xAA; len + 5];
    assert_eq!(expected.emit(&mut out), Ok(()));
    assert_eq!(&out[..len], bytes);
    assert!(out[len..].iter().all(|&b| b == 0xAA));
    assert_eq!(
        expected.emit(&mut out[..len - 1]),
        Err(Error::BufferTooSmall {
            have: len - 1,
            need: len
        })
    );

    assert_eq!(Message::parse(&expected.to_bytes()), Ok(expected.clone()));

    for cut in 0..len {
        assert!(
            Message::parse(&bytes[..cut]).is_err(),
            "{cut}-byte prefix parsed"
        );
    }
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(
        Message::parse(&long),
        Err(Error::TrailingBytes { len, extra: 1 })
    );
}
