//! Hand-written enhanced GRE packets (RFC 2637 §4.1) and malformed input.

use super::*;

/// Data packet with sequence and acknowledgment numbers.
const SEQ_ACK: [u8; 20] = [
    0x30, 0x81, // K, S, A, version 1
    0x88, 0x0b, // PPP
    0x00, 0x04, // payload length 4
    0x12, 0x34, // call id
    0x00, 0x00, 0x00, 0x01, // sequence number 1
    0xff, 0xff, 0xff, 0xfe, // acknowledgment number
    0xff, 0x03, 0xc0, 0x21, // PPP: LCP
];

/// Data packet with a sequence number only.
const SEQ_ONLY: [u8; 15] = [
    0x30, 0x01, // K, S, version 1
    0x88, 0x0b, // PPP
    0x00, 0x03, // payload length 3
    0x00, 0x00, // call id 0 (pptpd's)
    0x80, 0x00, 0x00, 0x00, // sequence number
    0x21, 0x45, 0x00, // PPP: IPv4, first payload byte
];

/// Ack-only packet: the acknowledgment follows the Call ID.
const ACK_ONLY: [u8; 12] = [
    0x20, 0x81, // K, A, version 1
    0x88, 0x0b, // PPP
    0x00, 0x00, // no payload
    0xab, 0xcd, // call id
    0x00, 0x00, 0x00, 0x07, // acknowledgment number 7
];

fn check(bytes: &[u8], expected: Repr, payload: &[u8]) {
    let p = Packet::new_checked(bytes).expect("valid packet");
    assert_eq!(Repr::parse(&p), expected);
    assert_eq!(p.header_len(), expected.header_len());
    assert_eq!(p.payload(), payload);
    assert_eq!(
        build(expected.call_id, expected.seq, expected.ack, payload),
        bytes
    );
    let mut out = [0xAAu8; MAX_HEADER_LEN + 1];
    expected.emit(&mut out).unwrap();
    assert_eq!(&out[..p.header_len()], &bytes[..p.header_len()]);
    assert!(out[p.header_len()..].iter().all(|&b| b == 0xAA));
    for cut in 0..bytes.len() {
        assert!(
            matches!(
                Packet::new_checked(&bytes[..cut]),
                Err(Error::Truncated { have, .. }) if have == cut
            ),
            "{cut}-byte prefix accepted"
        );
    }
}

#[test]
fn seq_and_ack() {
    let repr = Repr {
        call_id: 0x1234,
        seq: Some(1),
        ack: Some(0xffff_fffe),
        payload_len: 4,
    };
    check(&SEQ_ACK, repr, &[0xff, 0x03, 0xc0, 0x21]);
    assert_eq!(Packet::new_checked(&SEQ_ACK[..]).unwrap().header_len(), 16);
}

#[test]
fn seq_only() {
    let repr = Repr {
        call_id: 0,
        seq: Some(0x8000_0000),
        ack: None,
        payload_len: 3,
    };
    check(&SEQ_ONLY, repr, &[0x21, 0x45, 0x00]);
}

#[test]
fn ack_only() {
    let repr = Repr {
        call_id: 0xabcd,
        seq: None,
        ack: Some(7),
        payload_len: 0,
    };
    check(&ACK_ONLY, repr, &[]);
    assert_eq!(Packet::new_checked(&ACK_ONLY[..]).unwrap().header_len(), 12);
}

#[test]
fn padding_after_payload_is_ignored() {
    let mut b = SEQ_ONLY.to_vec();
    b.extend_from_slice(&[0; 10]);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.payload(), &[0x21, 0x45, 0x00]);
}

#[test]
fn payload_length_beyond_buffer() {
    let mut b = SEQ_ACK;
    b[5] = 5;
    assert_eq!(
        Packet::new_checked(&b[..]).unwrap_err(),
        Error::Truncated { have: 20, need: 21 }
    );
    b[4] = 0xff;
    assert!(matches!(
        Packet::new_checked(&b[..]),
        Err(Error::Truncated { have: 20, .. })
    ));
}

#[test]
fn rejects_other_gre() {
    let with = |fv: u16, proto: u16| {
        let mut b = SEQ_ACK;
        b[..2].copy_from_slice(&fv.to_be_bytes());
        b[2..4].copy_from_slice(&proto.to_be_bytes());
        Packet::new_checked(b).map(|_| ())
    };
    assert_eq!(with(0x3081, 0x880b), Ok(()));
    // Plain GRE (RFC 2784) carrying IPv4.
    assert_eq!(with(0x0000, 0x0800), Err(Error::BadVersion(0)));
    assert_eq!(with(0x3082, 0x880b), Err(Error::BadVersion(2)));
    assert_eq!(with(0x3081, 0x0800), Err(Error::BadProtocol(0x0800)));
    for bad in [0xb081, 0x7081, 0x3881, 0x3181, 0x3481, 0x1081] {
        assert_eq!(with(bad, 0x880b), Err(Error::BadFlags(bad)), "{bad:#x}");
    }
    // Flags bits 9-12 are tolerated.
    assert_eq!(with(0x30f9, 0x880b), Ok(()));
}

#[test]
fn set_call_id_touches_only_the_key() {
    let mut b = SEQ_ACK;
    let mut p = Packet::new_checked(&mut b[..]).unwrap();
    p.set_call_id(0x0102);
    assert_eq!(p.call_id(), 0x0102);
    assert_eq!(p.seq(), Some(1));
    let mut expected = SEQ_ACK;
    expected[6..8].copy_from_slice(&[0x01, 0x02]);
    assert_eq!(b, expected);
}

#[test]
fn round_trip() {
    for seq in [None, Some(0), Some(u32::MAX)] {
        for ack in [None, Some(0), Some(0x0102_0304)] {
            let payload = [0x5a; 9];
            let b = build(0x4242, seq, ack, &payload);
            let p = Packet::new_checked(&b[..]).unwrap();
            let repr = Repr::parse(&p);
            assert_eq!(
                repr,
                Repr {
                    call_id: 0x4242,
                    seq,
                    ack,
                    payload_len: 9
                }
            );
            assert_eq!(p.payload(), &payload);
            assert_eq!(b.len(), repr.header_len() + 9);
        }
    }
}

#[test]
fn emit_needs_room_for_the_header() {
    let repr = Repr {
        call_id: 1,
        seq: Some(1),
        ack: Some(1),
        payload_len: 0,
    };
    assert_eq!(
        repr.emit(&mut [0; 15]),
        Err(Error::BufferTooSmall { have: 15, need: 16 })
    );
}

#[test]
fn oversized_payload_is_cut() {
    let big = vec![0u8; 70_000];
    let b = build(1, Some(0), None, &big);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.payload_len(), u16::MAX);
    assert_eq!(b.len(), 12 + usize::from(u16::MAX));
}

#[test]
fn arbitrary_input_never_panics() {
    let mut x: u64 = 0x9e37_79b9;
    for _ in 0..20_000 {
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        };
        let len = usize::from(next()) % 40;
        let mut b: Vec<u8> = (0..len).map(|_| next()).collect();
        if len >= 4 {
            // Mostly valid flags and protocol, random S/A and lengths.
            b[0] = 0x20 | (b[0] & 0x10);
            b[1] = 0x01 | (b[1] & 0x80);
            b[2..4].copy_from_slice(&[0x88, 0x0b]);
        }
        if let Ok(p) = Packet::new_checked(&b[..]) {
            let r = Repr::parse(&p);
            assert_eq!(r.header_len(), p.header_len());
            assert_eq!(p.payload().len(), usize::from(r.payload_len));
        }
    }
}
