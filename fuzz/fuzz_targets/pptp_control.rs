//! PPTP control stream: the reassembler fed in fuzz-chosen chunks, and the
//! message codec on every whole message it yields.
//!
//! Invariants: no panic; a parsed message re-emits to exactly its length and
//! parses back to itself; the reassembler yields the same messages whatever
//! the chunking, never buffers more than one partial message once drained,
//! and an error is sticky.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::wire::pptp::{MAX_MESSAGE_LEN, Message, Reassembler};

fn check_round_trip(m: &Message) {
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), m.buffer_len());
    assert_eq!(
        Message::parse(&bytes).as_ref(),
        Ok(m),
        "parse(emit(m)) != m"
    );
    let mut short = vec![0u8; bytes.len() - 1];
    assert!(m.emit(&mut short).is_err());
}

/// Drain `r`; returns the messages and the error that stopped it, if any.
fn drain(r: &mut Reassembler, out: &mut Vec<Message>) -> Option<()> {
    while let Some(m) = r.next_message() {
        match m {
            Ok(m) => out.push(m),
            Err(e) => {
                // Sticky: asking again gives the same error, pushes are ignored.
                assert_eq!(r.next_message(), Some(Err(e)));
                assert_eq!(r.error(), Some(e));
                assert_eq!(r.buffered(), 0);
                return Some(());
            }
        }
    }
    assert!(
        r.buffered() < MAX_MESSAGE_LEN,
        "more than one partial message buffered"
    );
    None
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size (1..=256) for the second pass.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk) + 1;

    // Whole input as one message.
    if let Ok(m) = Message::parse(stream) {
        check_round_trip(&m);
        assert_eq!(m.to_bytes().len(), stream.len());
    }

    // Whole stream in one push.
    let mut one = Reassembler::new();
    one.push(stream);
    let mut a = Vec::new();
    let failed_a = drain(&mut one, &mut a).is_some();

    // The same stream in chunks, draining after each.
    let mut r = Reassembler::new();
    let mut b = Vec::new();
    let mut failed_b = false;
    for c in stream.chunks(chunk) {
        r.push(c);
        if drain(&mut r, &mut b).is_some() {
            failed_b = true;
            r.push(c);
            assert_eq!(r.buffered(), 0, "push after an error must be ignored");
            break;
        }
    }
    assert_eq!(a, b, "chunking changed the messages");
    assert_eq!(failed_a, failed_b, "chunking changed the verdict");
    for m in &a {
        check_round_trip(m);
    }
    // Re-emitting the messages gives back the stream prefix byte for byte,
    // reserved fields aside: at least the lengths agree.
    let total: usize = a.iter().map(Message::buffer_len).sum();
    assert!(total <= stream.len());
});
