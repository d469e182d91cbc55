//! Enhanced GRE header (RFC 2637 §4.1): the checked view, the typed header
//! and the Call ID rewrite.
//!
//! Invariants: no panic; a checked packet's header re-emits byte for byte
//! (the reserved flag bits aside) and parses back to the same `Repr`;
//! `set_call_id` changes only bytes 6-7.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::wire::gre::{self, Packet, Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let repr = Repr::parse(&p);
    assert_eq!(repr.header_len(), p.header_len());
    assert!(p.header_len() + p.payload().len() <= data.len());
    assert_eq!(p.payload().len(), usize::from(p.payload_len()));

    let mut hdr = vec![0u8; repr.header_len()];
    repr.emit(&mut hdr).expect("buffer of header_len() bytes");
    // Bytes 2.. of the header are exactly what was received.
    assert_eq!(hdr[2..], data[2..repr.header_len()]);
    let whole = gre::build(repr.call_id, repr.seq, repr.ack, p.payload());
    let q = Packet::new_checked(&whole[..]).expect("emitted packet must check");
    assert_eq!(Repr::parse(&q), repr);
    assert_eq!(q.payload(), p.payload());
    if repr.header_len() > 0 {
        let mut short = vec![0u8; repr.header_len() - 1];
        assert!(repr.emit(&mut short).is_err());
    }

    let mut owned = data.to_vec();
    let new_id = repr.call_id.wrapping_add(0x1234);
    let mut p = Packet::new_checked(&mut owned[..]).expect("same bytes");
    p.set_call_id(new_id);
    assert_eq!(p.call_id(), new_id);
    for (i, (a, b)) in data.iter().zip(&owned).enumerate() {
        if i != 6 && i != 7 {
            assert_eq!(a, b, "set_call_id touched byte {i}");
        }
    }
});
