//! Malformed and arbitrary input for [`Message::parse`]: every error path
//! of the header, and a pseudo-random sweep that must never panic.

use super::{ControlType, Error, MAX_MESSAGE_LEN, Message};

fn echo_request_bytes() -> Vec<u8> {
    Message::EchoRequest { identifier: 1 }.to_bytes()
}

#[test]
fn rejects_bad_headers() {
    let mut b = echo_request_bytes();
    b[7] = 0x4e;
    assert_eq!(Message::parse(&b), Err(Error::BadMagic(0x1a2b_3c4e)));

    let mut b = echo_request_bytes();
    b[1] = 20; // length field of an EchoRP on an EchoRQ
    assert_eq!(
        Message::parse(&b),
        Err(Error::BadLength {
            ty: ControlType::EchoRequest,
            expected: 16,
            got: 20
        })
    );

    let mut b = echo_request_bytes();
    b[9] = 16;
    assert_eq!(Message::parse(&b), Err(Error::UnknownType(16)));
    b[9] = 0;
    assert_eq!(Message::parse(&b), Err(Error::UnknownType(0)));

    let mut b = echo_request_bytes();
    b[3] = 2; // management message
    assert_eq!(Message::parse(&b), Err(Error::NotControl(2)));
}

#[test]
fn length_field_must_match_buffer() {
    // A valid 16-byte header but only 15 or 17 bytes of buffer.
    let b = echo_request_bytes();
    assert_eq!(
        Message::parse(&b[..15]),
        Err(Error::Truncated { have: 15, need: 16 })
    );
    let mut long = b.clone();
    long.extend_from_slice(&b);
    assert_eq!(
        Message::parse(&long),
        Err(Error::TrailingBytes { len: 16, extra: 16 })
    );
    assert_eq!(
        Message::parse(&[]),
        Err(Error::Truncated { have: 0, need: 12 })
    );
}

#[test]
fn max_message_len_is_the_largest() {
    let max = (1..=15)
        .filter_map(ControlType::from_u16)
        .map(|t| usize::from(t.fixed_len()))
        .max();
    assert_eq!(max, Some(MAX_MESSAGE_LEN));
}

/// Small deterministic generator so the test needs no extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u8
    }
}

#[test]
fn arbitrary_input_never_panics() {
    // Every prefix of every type, with and without garbage bodies.
    for ct in 1..=15u16 {
        let ty = ControlType::from_u16(ct).unwrap();
        let len = usize::from(ty.fixed_len());
        let mut b = vec![0xff; len];
        b[..12].copy_from_slice(&[0, 0, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, 0, 0, 0]);
        b[..2].copy_from_slice(&ty.fixed_len().to_be_bytes());
        b[8..10].copy_from_slice(&ct.to_be_bytes());
        for cut in 0..=len + 1 {
            let mut p = b.clone();
            p.resize(cut, 0xee);
            let _ = Message::parse(&p);
        }
        let m = Message::parse(&b).expect("valid header and length");
        assert_eq!(m.control_type(), ty);
        assert_eq!(Message::parse(&m.to_bytes()), Ok(m));
    }

    let mut rng = Lcg(0x5eed);
    for i in 0..20_000 {
        let len = usize::from(rng.next()) % (MAX_MESSAGE_LEN + 40);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next()).collect();
        // Most random buffers die at the magic cookie; make half of them
        // get past the header to exercise the field decoding.
        if i % 2 == 0 && len >= 12 {
            b[2..8].copy_from_slice(&[0, 1, 0x1a, 0x2b, 0x3c, 0x4d]);
            b[8] = 0;
            b[9] %= 17;
            if let Some(t) = ControlType::from_u16(u16::from(b[9])) {
                if rng.next() < 200 {
                    b.resize(usize::from(t.fixed_len()), 0);
                }
                b[..2].copy_from_slice(&t.fixed_len().to_be_bytes());
            }
        }
        if let Ok(m) = Message::parse(&b) {
            // Re-emitting clears only reserved fields.
            assert_eq!(Message::parse(&m.to_bytes()), Ok(m));
        }
    }
}
