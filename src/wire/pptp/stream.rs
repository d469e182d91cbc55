//! Cutting whole control messages out of the TCP byte stream (RFC 2637
//! §1.4: messages are sent as user data on one TCP connection, with no
//! delimiter other than each header's length field).

use super::Error;
use super::header::{HEADER_LEN, Header};
use super::message::Message;

/// Reassembles control messages from TCP payload bytes.
///
/// Buffering is bounded by the stream itself: a message is consumed as
/// soon as it is whole, so what stays buffered is at most the bytes pushed
/// since the last complete message (one partial message, under
/// [`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN) bytes, once
/// [`next_message`](Self::next_message) has been drained to `None`).
///
/// A header with a bad magic cookie, message type or length leaves no way
/// to find the next message boundary, so it is fatal: the buffer is
/// dropped, later pushes are discarded, and every later `next_message`
/// returns the same error again.
#[derive(Debug, Default, Clone)]
pub struct Reassembler {
    buf: Vec<u8>,
    /// Bytes of `buf` already returned as messages.
    start: usize,
    failed: Option<Error>,
}

impl Reassembler {
    /// An empty reassembler at a message boundary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append bytes received from TCP, in stream order.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // Drop what has been consumed before growing.
        self.buf.drain(..self.start.min(self.buf.len()));
        self.start = 0;
        self.buf.extend_from_slice(data);
    }

    /// The next whole message, in stream order; `None` when more bytes are
    /// needed. After an `Err` the stream is unusable (see the type docs).
    pub fn next_message(&mut self) -> Option<Result<Message, Error>> {
        if let Some(e) = self.failed {
            return Some(Err(e));
        }
        let pending = self.buf.get(self.start..).unwrap_or(&[]);
        if pending.len() < HEADER_LEN {
            return None;
        }
        let len = match Header::new_checked(pending) {
            Ok(h) => usize::from(h.length()),
            Err(e) => return Some(Err(self.fail(e))),
        };
        let whole = pending.get(..len)?;
        match Message::parse(whole) {
            Ok(m) => {
                self.start = self.start.saturating_add(len);
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                Some(Ok(m))
            }
            Err(e) => Some(Err(self.fail(e))),
        }
    }

    /// Bytes pushed but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// The error that stopped the stream, if any.
    pub fn error(&self) -> Option<Error> {
        self.failed
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e);
        self.buf = Vec::new();
        self.start = 0;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Vec<Message> {
        vec![
            Message::EchoRequest { identifier: 7 },
            Message::CallClearRequest { call_id: 0x1234 },
            Message::IncomingCallRequest(Default::default()),
            Message::SetLinkInfo {
                peer_call_id: 1,
                send_accm: 0,
                receive_accm: u32::MAX,
            },
        ]
    }

    fn stream() -> Vec<u8> {
        messages().iter().flat_map(Message::to_bytes).collect()
    }

    fn drain(r: &mut Reassembler) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(m) = r.next_message() {
            out.push(m.expect("valid stream"));
        }
        out
    }

    #[test]
    fn several_messages_in_one_push() {
        let mut r = Reassembler::new();
        assert_eq!(r.next_message(), None);
        r.push(&stream());
        assert_eq!(r.buffered(), stream().len());
        assert_eq!(drain(&mut r), messages());
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_message(), None);
    }

    #[test]
    fn byte_by_byte() {
        let mut r = Reassembler::new();
        let mut got = Vec::new();
        for b in stream() {
            r.push(&[b]);
            got.extend(drain(&mut r));
            assert!(r.buffered() < crate::wire::pptp::MAX_MESSAGE_LEN);
        }
        assert_eq!(got, messages());
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn split_in_two_at_every_point() {
        let s = stream();
        for cut in 0..=s.len() {
            let mut r = Reassembler::new();
            r.push(&s[..cut]);
            let mut got = drain(&mut r);
            r.push(&s[cut..]);
            got.extend(drain(&mut r));
            assert_eq!(got, messages(), "cut at {cut}");
        }
    }

    #[test]
    fn header_split_in_the_middle() {
        let b = Message::EchoRequest { identifier: 9 }.to_bytes();
        let mut r = Reassembler::new();
        r.push(&b[..6]); // length, message type, half the magic cookie
        assert_eq!(r.next_message(), None);
        assert_eq!(r.buffered(), 6);
        r.push(&b[6..14]); // header done, body partial
        assert_eq!(r.next_message(), None);
        r.push(&b[14..]);
        assert_eq!(
            r.next_message(),
            Some(Ok(Message::EchoRequest { identifier: 9 }))
        );
        assert_eq!(r.next_message(), None);
    }

    #[test]
    fn bad_magic_mid_stream_is_fatal() {
        let good = Message::EchoRequest { identifier: 1 }.to_bytes();
        let mut bad = good.clone();
        bad[4] = 0;
        let mut r = Reassembler::new();
        r.push(&good);
        r.push(&bad);
        r.push(&good);
        assert_eq!(
            r.next_message(),
            Some(Ok(Message::EchoRequest { identifier: 1 }))
        );
        let err = Error::BadMagic(0x002b_3c4d);
        assert_eq!(r.next_message(), Some(Err(err)));
        assert_eq!(r.next_message(), Some(Err(err)));
        assert_eq!(r.buffered(), 0);
        r.push(&good);
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_message(), Some(Err(err)));
        assert_eq!(r.error(), Some(err));
    }

    #[test]
    fn bad_length_and_type_are_fatal() {
        let mut b = Message::EchoRequest { identifier: 1 }.to_bytes();
        b[1] = 0xff;
        let mut r = Reassembler::new();
        r.push(&b);
        assert!(matches!(
            r.next_message(),
            Some(Err(Error::BadLength { got: 0xff, .. }))
        ));
        let mut b = Message::EchoRequest { identifier: 1 }.to_bytes();
        b[9] = 99;
        let mut r = Reassembler::new();
        r.push(&b[..12]); // detected as soon as the header is complete
        assert_eq!(r.next_message(), Some(Err(Error::UnknownType(99))));
    }
}
