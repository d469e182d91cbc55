//! MPPE engine output checked byte for byte: RFC 3079 §3.5 vectors through
//! the engine, and per-packet vectors from an independent computation.

use super::mppe::*;

/// RFC 3079 §3.5 server send start key ("User" / "clientPass").
const START: [u8; 16] = [
    0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb,
];
const MSG: &[u8] = b"test message";

fn mode(bits: KeyBits, stateless: bool) -> MppeMode {
    MppeMode { bits, stateless }
}

fn pair(m: MppeMode) -> (Encrypter, Decrypter) {
    (
        Encrypter::new(&START, m).unwrap(),
        Decrypter::new(&START, m).unwrap(),
    )
}

#[test]
fn stateful_first_packet_is_rfc3079_ciphertext() {
    // With no key change before count 0, stateful MPPE's first packet is
    // exactly rc4(SendSessionKey, "test message") of RFC 3079 §3.5.
    let expected: [(KeyBits, [u8; 12]); 3] = [
        (
            KeyBits::Bits40,
            [
                0x92, 0x91, 0x37, 0x91, 0x7e, 0x58, 0x03, 0xd6, 0x68, 0xd7, 0x58, 0x98,
            ],
        ),
        // Last byte B8, not the RFC's misprinted 58.
        (
            KeyBits::Bits56,
            [
                0x3f, 0x10, 0x68, 0x33, 0xfa, 0x44, 0x8d, 0xa8, 0x42, 0xbc, 0x57, 0xb8,
            ],
        ),
        (
            KeyBits::Bits128,
            [
                0x81, 0x84, 0x83, 0x17, 0xdf, 0x68, 0x84, 0x62, 0x72, 0xfb, 0x5a, 0xbe,
            ],
        ),
    ];
    for (bits, ct) in expected {
        let mut enc = Encrypter::new(&START, mode(bits, false)).unwrap();
        let pkt = enc.encrypt(MSG);
        assert_eq!(&pkt[..2], &[0x10, 0x00], "{bits:?}");
        assert_eq!(&pkt[2..], &ct, "{bits:?}");
    }
}

// The vectors below were produced once by a ~40-line python3 script
// written independently of this code (hashlib.sha1 for GetNewKeyFromSHA, a
// textbook RC4, the salt, key change = RC4 of the interim key with itself),
// starting from the RFC 3079 §3.5 send start key; the script is not kept.

#[test]
fn stateless_per_packet_vectors() {
    let expected: [(KeyBits, [[u8; 12]; 3]); 3] = [
        (
            KeyBits::Bits40,
            [
                [
                    0xea, 0x98, 0xa2, 0x12, 0xb4, 0x83, 0x25, 0xfc, 0x44, 0x3f, 0xba, 0x20,
                ],
                [
                    0x86, 0x47, 0x2d, 0x18, 0x6d, 0x94, 0xf4, 0x89, 0xc8, 0x3f, 0x58, 0x96,
                ],
                [
                    0x43, 0x4e, 0xf3, 0x4a, 0xc3, 0xa6, 0x1d, 0xfc, 0xfc, 0xb0, 0x09, 0x59,
                ],
            ],
        ),
        (
            KeyBits::Bits56,
            [
                [
                    0x1c, 0x9e, 0x80, 0x2f, 0x85, 0x16, 0xe2, 0x2a, 0x7c, 0xe3, 0x82, 0x70,
                ],
                [
                    0xc6, 0x78, 0x81, 0x72, 0x90, 0xda, 0xcf, 0xc6, 0x1a, 0xcd, 0x39, 0xa6,
                ],
                [
                    0xf9, 0x78, 0xfc, 0xc3, 0xe9, 0xab, 0x49, 0xb5, 0x4f, 0x5f, 0xfa, 0x83,
                ],
            ],
        ),
        (
            KeyBits::Bits128,
            [
                [
                    0x04, 0x1c, 0x25, 0x5f, 0xc0, 0x02, 0x3d, 0xc9, 0xa0, 0x07, 0xee, 0x40,
                ],
                [
                    0x41, 0x78, 0x92, 0x5d, 0x86, 0x5c, 0x8b, 0x2f, 0x31, 0xbc, 0x7c, 0xf2,
                ],
                [
                    0xb8, 0x9d, 0x43, 0xaf, 0x11, 0xd4, 0xae, 0x2c, 0xa7, 0x28, 0xc2, 0x76,
                ],
            ],
        ),
    ];
    for (bits, cts) in expected {
        let (mut enc, mut dec) = pair(mode(bits, true));
        for (count, ct) in cts.iter().enumerate() {
            let pkt = enc.encrypt(MSG);
            assert_eq!(&pkt[..2], &[0x90, count as u8], "{bits:?} {count}");
            assert_eq!(&pkt[2..], ct, "{bits:?} {count}");
            assert_eq!(dec.decrypt(&pkt).unwrap(), MSG);
        }
    }
}

#[test]
fn stateful_flag_packet_vectors() {
    let expected: [(KeyBits, [[u8; 12]; 3]); 2] = [
        (
            KeyBits::Bits40,
            [
                [
                    0x64, 0x5e, 0x6c, 0x89, 0xba, 0xc3, 0x61, 0x21, 0x14, 0x0d, 0xe7, 0x0b,
                ],
                [
                    0xea, 0x98, 0xa2, 0x12, 0xb4, 0x83, 0x25, 0xfc, 0x44, 0x3f, 0xba, 0x20,
                ],
                [
                    0x20, 0xed, 0x62, 0x31, 0x37, 0x8e, 0x60, 0x63, 0xa2, 0x93, 0x33, 0x2e,
                ],
            ],
        ),
        (
            KeyBits::Bits128,
            [
                [
                    0x3c, 0xa0, 0xed, 0x1e, 0x6d, 0x2c, 0x47, 0xc5, 0xac, 0x0e, 0x24, 0xfa,
                ],
                [
                    0x04, 0x1c, 0x25, 0x5f, 0xc0, 0x02, 0x3d, 0xc9, 0xa0, 0x07, 0xee, 0x40,
                ],
                [
                    0x0b, 0x31, 0xe6, 0xce, 0x49, 0x9d, 0x5d, 0xa0, 0x36, 0x94, 0xd3, 0x51,
                ],
            ],
        ),
    ];
    for (bits, cts) in expected {
        let (mut enc, mut dec) = pair(mode(bits, false));
        for _ in 0..0xfe {
            assert_eq!(dec.decrypt(&enc.encrypt(MSG)).unwrap(), MSG);
        }
        // Counts 0xFE, 0xFF (flag: key change, FLUSHED) and 0x100.
        let headers = [[0x10, 0xfe], [0x90, 0xff], [0x11, 0x00]];
        for (ct, header) in cts.iter().zip(headers) {
            let pkt = enc.encrypt(MSG);
            assert_eq!(&pkt[..2], &header, "{bits:?}");
            assert_eq!(&pkt[2..], ct, "{bits:?}");
            assert_eq!(dec.decrypt(&pkt).unwrap(), MSG);
        }
    }
}
