//! Big-endian field access at fixed offsets (RFC 2637 §2: "All data is sent
//! in network order"). Reads fail instead of panicking when an offset falls
//! outside the buffer; writes are only done after `emit` checked the length.

use super::Error;
use super::fixed_str::FixedStr;

/// Reads fields of one message.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], Error> {
        let need = at.saturating_add(N);
        self.buf
            .get(at..need)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(Error::Truncated {
                have: self.buf.len(),
                need,
            })
    }

    pub(super) fn u8(&self, at: usize) -> Result<u8, Error> {
        self.array::<1>(at).map(|[b]| b)
    }

    pub(super) fn u16(&self, at: usize) -> Result<u16, Error> {
        self.array(at).map(u16::from_be_bytes)
    }

    pub(super) fn u32(&self, at: usize) -> Result<u32, Error> {
        self.array(at).map(u32::from_be_bytes)
    }

    pub(super) fn str<const N: usize>(&self, at: usize) -> Result<FixedStr<N>, Error> {
        self.array::<N>(at).map(|a| FixedStr::new(&a))
    }
}

/// Writes fields of one message into a buffer already checked to be long
/// enough; an out-of-range write (a bug in an offset table, caught by the
/// byte-exact tests) is skipped rather than panicking.
pub(super) struct Writer<'a> {
    buf: &'a mut [u8],
}

impl<'a> Writer<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf }
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        let end = at.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(at..end) {
            dst.copy_from_slice(bytes);
        }
    }

    pub(super) fn u8(&mut self, at: usize, v: u8) {
        self.put(at, &[v]);
    }

    pub(super) fn u16(&mut self, at: usize, v: u16) {
        self.put(at, &v.to_be_bytes());
    }

    pub(super) fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_be_bytes());
    }

    pub(super) fn str<const N: usize>(&mut self, at: usize, v: &FixedStr<N>) {
        self.put(at, v.wire_bytes());
    }
}
