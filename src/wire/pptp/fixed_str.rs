//! Fixed-width string fields: host name, vendor, phone numbers (64 octets)
//! and call statistics (128 octets), RFC 2637 §2.1, §2.7, §2.9, §2.13.

use std::fmt;

/// A string field that occupies exactly `N` octets on the wire.
///
/// The RFC fills the unused tail with octets of value 0 (§2.1 "Host
/// Name"), so trailing NULs are not part of the value: they are dropped on
/// parse and put back on emit. The bytes are kept as received, not forced
/// into UTF-8, so a parsed message re-emits byte for byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize> {
    // Everything after the value is zero, so the value's length is
    // implied and equality needs no extra bookkeeping.
    bytes: [u8; N],
}

/// The 64-octet fields (host name, vendor, numbers, subaddress).
pub type Str64 = FixedStr<64>;
/// The 128-octet Call Statistics field of Call-Disconnect-Notify (§2.13).
pub type Str128 = FixedStr<128>;

impl<const N: usize> FixedStr<N> {
    /// Octets the field takes on the wire.
    pub const WIRE_LEN: usize = N;

    /// Take at most `N` bytes of `value` (longer input is truncated, as it
    /// would be on the wire); trailing NULs are dropped.
    pub fn new(value: &[u8]) -> Self {
        let mut bytes = [0u8; N];
        for (dst, src) in bytes.iter_mut().zip(value) {
            *dst = *src;
        }
        FixedStr { bytes }
    }

    /// The empty field: `N` NULs on the wire.
    pub const fn empty() -> Self {
        FixedStr { bytes: [0u8; N] }
    }

    /// The value, without the NUL padding.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self
            .bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i.saturating_add(1));
        self.bytes.get(..end).unwrap_or(&[])
    }

    /// All `N` octets as they go on the wire.
    pub fn wire_bytes(&self) -> &[u8; N] {
        &self.bytes
    }

    /// Length of the value in octets.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the field is all NULs.
    pub fn is_empty(&self) -> bool {
        self.bytes.iter().all(|&b| b == 0)
    }

    /// Text for logs: read as a C string (up to the first NUL, since
    /// senders fill these from C buffers), invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        let b = self.as_bytes();
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(b.get(..end).unwrap_or(&[])).into_owned()
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<const N: usize> From<&str> for FixedStr<N> {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

/// Host names, vendor strings and call statistics come from the peer:
/// shown escaped (`ratelimit::Untrusted`), so they cannot forge log lines.
impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::ratelimit::Untrusted(&self.to_string_lossy()).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_trailing_nuls_and_truncates() {
        let s = Str64::new(b"host\0\0\0");
        assert_eq!(s.as_bytes(), b"host");
        assert_eq!(s.len(), 4);
        assert_eq!(&s.wire_bytes()[..5], b"host\0");
        assert_eq!(s, Str64::from("host"));

        let long = [b'x'; 100];
        let t = Str64::new(&long);
        assert_eq!(t.len(), 64);
        assert!(Str64::default().is_empty());
        assert_eq!(Str64::empty().as_bytes(), b"");
    }

    #[test]
    fn keeps_inner_nuls_and_non_utf8() {
        let s = FixedStr::<8>::new(b"ab\0\xffc");
        assert_eq!(s.as_bytes(), b"ab\0\xffc");
        assert_eq!(s.to_string_lossy(), "ab");
        let u = FixedStr::<8>::new(b"\xfe\xff");
        assert_eq!(u.to_string(), "\u{fffd}\u{fffd}");
        assert_eq!(format!("{:?}", Str64::from("a\"b")), "\"a\\\"b\"");
    }
}
