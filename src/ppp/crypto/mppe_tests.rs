//! Behaviour of the MPPE engine: round trips in every mode, loss, resync,
//! reordering, forged counts and garbage (byte-exact vectors are in
//! `mppe_vector_tests.rs`).

use super::CryptoError;
use super::mppe::*;

/// RFC 3079 §3.5 server send start key ("User" / "clientPass").
const START: [u8; 16] = [
    0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb,
];
const MSG: &[u8] = b"test message";

const ALL_BITS: [KeyBits; 3] = [KeyBits::Bits40, KeyBits::Bits56, KeyBits::Bits128];

fn mode(bits: KeyBits, stateless: bool) -> MppeMode {
    MppeMode { bits, stateless }
}

fn pair(m: MppeMode) -> (Encrypter, Decrypter) {
    (
        Encrypter::new(&START, m).unwrap(),
        Decrypter::new(&START, m).unwrap(),
    )
}

/// A payload that differs per packet and per length.
fn payload(i: usize) -> Vec<u8> {
    let len = 1 + (i * 37) % 1400;
    (0..len).map(|j| (i + j * 7) as u8).collect()
}

struct XorShift(u32);
impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

#[test]
fn round_trip_every_mode_600_packets() {
    for bits in ALL_BITS {
        for stateless in [true, false] {
            let (mut enc, mut dec) = pair(mode(bits, stateless));
            for i in 0..600 {
                let data = payload(i);
                let pkt = enc.encrypt(&data);
                assert_eq!(pkt.len(), data.len() + HEADER_LEN);
                let h = parse_header(&pkt).unwrap();
                assert_eq!(h.count, i as u16);
                assert!(h.encrypted);
                assert_eq!(h.flushed, stateless || i % 256 == 255);
                assert_ne!(&pkt[HEADER_LEN..], &data[..]);
                assert_eq!(dec.decrypt(&pkt).unwrap(), data, "{bits:?} {stateless} {i}");
            }
            assert_eq!(dec.last_count(), 599);
            assert_eq!(enc.next_count(), 600);
        }
    }
}

#[test]
fn coherency_count_wraps_at_4096() {
    for stateless in [true, false] {
        let (mut enc, mut dec) = pair(mode(KeyBits::Bits40, stateless));
        for i in 0..4200usize {
            let pkt = enc.encrypt(&payload(i));
            assert_eq!(parse_header(&pkt).unwrap().count, (i % 4096) as u16);
            assert_eq!(dec.decrypt(&pkt).unwrap(), payload(i));
        }
    }
}

#[test]
fn stateless_survives_loss_and_rejects_reordering() {
    for bits in ALL_BITS {
        let (mut enc, mut dec) = pair(mode(bits, true));
        let pkts: Vec<Vec<u8>> = (0..1200).map(|i| enc.encrypt(&payload(i))).collect();
        for (i, pkt) in pkts.iter().enumerate().take(700) {
            // Lose every third packet and a burst of 200 around the 256 mark.
            if i % 3 == 1 || (200..400).contains(&i) {
                continue;
            }
            assert_eq!(dec.decrypt(pkt).unwrap(), payload(i));
        }
        assert_eq!(dec.last_count(), 699);
        // Reordering: 701 then 700; 700 is refused and keys stay put.
        assert_eq!(dec.decrypt(&pkts[701]).unwrap(), payload(701));
        assert_eq!(
            dec.decrypt(&pkts[700]),
            Err(CryptoError::Stale {
                got: 700,
                last: 701
            })
        );
        assert_eq!(
            dec.decrypt(&pkts[701]),
            Err(CryptoError::Stale {
                got: 701,
                last: 701
            })
        );
        assert_eq!(dec.decrypt(&pkts[702]).unwrap(), payload(702));
        // A legitimate gap beyond the bound needs a larger limit.
        assert!(matches!(
            dec.decrypt(&pkts[1000]),
            Err(CryptoError::TooManyRekeys {
                needed: 298,
                max: 256,
                ..
            })
        ));
        let mut dec = dec.with_max_rekeys(300);
        assert_eq!(dec.decrypt(&pkts[1000]).unwrap(), payload(1000));
    }
}

#[test]
fn forged_far_count_is_refused_without_losing_sync() {
    for stateless in [true, false] {
        let (mut enc, mut dec) = pair(mode(KeyBits::Bits128, stateless));
        for i in 0..10 {
            assert_eq!(dec.decrypt(&enc.encrypt(&payload(i))).unwrap(), payload(i));
        }
        // Count 9 + 1000, flushed and encrypted, random body.
        let forged = [0x93, 0xf1, 0x12, 0x34, 0x56];
        let before = dec.last_count();
        let r = dec.decrypt(&forged);
        if stateless {
            assert_eq!(
                r,
                Err(CryptoError::TooManyRekeys {
                    got: 1009,
                    needed: 1000,
                    max: 256
                })
            );
            assert_eq!(dec.last_count(), before);
            assert_eq!(
                dec.decrypt(&enc.encrypt(b"\x00\x21ok")).unwrap(),
                b"\x00\x21ok"
            );
        } else {
            // Stateful: a flushed packet ahead is a resync point; at most 8
            // key changes fit in the half window, so the cost stays bounded.
            assert!(r.is_ok());
            assert_eq!(dec.last_count(), 1009);
        }
    }
}

#[test]
fn stateful_loss_needs_reset_then_recovers_on_flushed_packet() {
    for bits in ALL_BITS {
        let (mut enc, mut dec) = pair(mode(bits, false));
        for i in 0..5 {
            assert_eq!(dec.decrypt(&enc.encrypt(&payload(i))).unwrap(), payload(i));
        }
        let _lost = enc.encrypt(&payload(5));
        assert_eq!(
            dec.decrypt(&enc.encrypt(&payload(6))),
            Err(CryptoError::NeedsReset {
                expected: 5,
                got: 6
            })
        );
        assert!(dec.needs_reset());
        assert_eq!(
            dec.decrypt(&enc.encrypt(&payload(7))),
            Err(CryptoError::AwaitingFlush)
        );
        // The CCP Reset-Request reaches the sender (twice: collapses).
        enc.reset();
        enc.reset();
        let flushed = enc.encrypt(&payload(8));
        assert!(parse_header(&flushed).unwrap().flushed);
        assert_eq!(dec.decrypt(&flushed).unwrap(), payload(8));
        assert!(!dec.needs_reset());
        for i in 9..600 {
            let pkt = enc.encrypt(&payload(i));
            assert_eq!(parse_header(&pkt).unwrap().flushed, i % 256 == 255);
            assert_eq!(dec.decrypt(&pkt).unwrap(), payload(i), "{bits:?} {i}");
        }
    }
}

#[test]
fn stateful_resync_catches_up_on_missed_flag_packets() {
    // Loss spanning one flag packet (0xFF), then more than 256 packets.
    for (lost_from, lost_to) in [(0xf0usize, 0x110usize), (0x150, 0x3a0), (0x1fe, 0x200)] {
        let (mut enc, mut dec) = pair(mode(KeyBits::Bits56, false));
        for i in 0..lost_from {
            assert_eq!(dec.decrypt(&enc.encrypt(&payload(i))).unwrap(), payload(i));
        }
        for i in lost_from..lost_to {
            let _ = enc.encrypt(&payload(i));
        }
        let first = enc.encrypt(&payload(lost_to));
        assert!(matches!(
            dec.decrypt(&first),
            Err(CryptoError::NeedsReset { .. })
        ));
        enc.reset();
        for i in lost_to + 1..lost_to + 300 {
            assert_eq!(dec.decrypt(&enc.encrypt(&payload(i))).unwrap(), payload(i));
        }
    }
}

#[test]
fn stateful_unrequested_flushed_packet_resyncs_directly() {
    let (mut enc, mut dec) = pair(mode(KeyBits::Bits128, false));
    for i in 0..3 {
        assert_eq!(dec.decrypt(&enc.encrypt(&payload(i))).unwrap(), payload(i));
    }
    let _lost = enc.encrypt(&payload(3));
    enc.reset();
    assert_eq!(dec.decrypt(&enc.encrypt(&payload(4))).unwrap(), payload(4));
    assert!(!dec.needs_reset());
}

#[test]
fn stateful_duplicate_is_dropped_without_reset() {
    let (mut enc, mut dec) = pair(mode(KeyBits::Bits40, false));
    let p0 = enc.encrypt(&payload(0));
    assert_eq!(dec.decrypt(&p0).unwrap(), payload(0));
    assert_eq!(
        dec.decrypt(&p0),
        Err(CryptoError::Stale { got: 0, last: 0 })
    );
    assert_eq!(dec.decrypt(&enc.encrypt(&payload(1))).unwrap(), payload(1));
    assert!(!dec.needs_reset());
}

#[test]
fn header_errors() {
    let (_, mut dec) = pair(mode(KeyBits::Bits128, true));
    for short in [&[][..], &[0x90], &[0x90, 0x00]] {
        assert_eq!(
            dec.decrypt(short),
            Err(CryptoError::Truncated { len: short.len() })
        );
    }
    assert_eq!(
        dec.decrypt(&[0x80, 0x00, 0x21]),
        Err(CryptoError::NotEncrypted)
    );
    assert_eq!(
        dec.decrypt(&[0x00, 0x00, 0x00, 0x21]),
        Err(CryptoError::NotEncrypted)
    );
    // Errors leave the state untouched: count 0 still decrypts.
    let mut enc = Encrypter::new(&START, mode(KeyBits::Bits128, true)).unwrap();
    assert_eq!(dec.decrypt(&enc.encrypt(MSG)).unwrap(), MSG);
}

#[test]
fn stateless_reset_is_a_no_op() {
    let (mut enc, mut dec) = pair(mode(KeyBits::Bits40, true));
    enc.reset();
    assert_eq!(dec.decrypt(&enc.encrypt(MSG)).unwrap(), MSG);
}

#[test]
fn bad_start_keys_are_refused() {
    let m = mode(KeyBits::Bits128, true);
    assert_eq!(
        Encrypter::new(&START[..8], m).map(|_| ()),
        Err(CryptoError::InvalidKeyLength(8))
    );
    assert!(Decrypter::new(&[], mode(KeyBits::Bits40, false)).is_err());
    assert!(Decrypter::new(&START[..8], mode(KeyBits::Bits40, false)).is_ok());
}

#[test]
fn garbage_never_panics() {
    let mut rng = XorShift(0x9e37_79b9);
    for bits in ALL_BITS {
        for stateless in [true, false] {
            let (mut enc, mut dec) = pair(mode(bits, stateless));
            for _ in 0..1000 {
                let len = (rng.next() % 40) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let _ = dec.decrypt(&bytes);
                let _ = parse_header(&bytes);
            }
            // Encrypting odd sizes, including empty, is fine too.
            assert_eq!(enc.encrypt(&[]).len(), HEADER_LEN);
            let _ = format!("{enc:?} {dec:?}");
        }
    }
}
