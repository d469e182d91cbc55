//! The MPPE receive path (RFC 3078): a `Decrypter` with a key and mode from
//! the fuzz input, fed forged or genuine datagrams; genuine ones come from
//! an `Encrypter` with the same key, then get dropped, reordered, replayed
//! or corrupted by the fuzzer.
//!
//! Invariants: no panic; the output is exactly as long as the datagram's
//! data; a stateless receiver never does more than `max_rekeys` key changes
//! for one packet, and its coherency count only moves forward (never more
//! than half the count space); an undisturbed genuine packet decrypts to
//! what was sent once the receiver is in step.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::ppp::crypto::mppe::{Decrypter, Encrypter, HEADER_LEN, KeyBits, MppeMode};

#[derive(Arbitrary, Debug)]
enum Op {
    /// A forged datagram.
    Forged(Vec<u8>),
    /// Encrypt `len` bytes and deliver them (maybe corrupted).
    Genuine { len: u8, corrupt: Option<(u8, u8)> },
    /// Encrypt and lose the packet.
    Lose { n: u8 },
    /// Replay the last genuine datagram.
    Replay,
    /// The receiver asked for a reset (stateful): the sender flushes.
    Reset,
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 16],
    bits: u8,
    stateless: bool,
    max_rekeys: u16,
    ops: Vec<Op>,
}

const COUNT_MASK: u16 = 0x0fff;

fuzz_target!(|input: Input| {
    let bits = [KeyBits::Bits40, KeyBits::Bits56, KeyBits::Bits128][usize::from(input.bits % 3)];
    let mode = MppeMode {
        bits,
        stateless: input.stateless,
    };
    let mut enc = Encrypter::new(&input.key, mode).expect("16-byte key");
    let mut dec = Decrypter::new(&input.key, mode)
        .expect("16-byte key")
        .with_max_rekeys(input.max_rekeys);
    let max = input.max_rekeys.clamp(1, 2048);
    let mut last: Option<Vec<u8>> = None;
    // Whether nothing has disturbed the stream yet (payload corruption
    // aside, which keeps RC4 in step): then every clean packet decrypts.
    let mut in_step = true;
    for op in input.ops.into_iter().take(256) {
        let (datagram, plain, clean) = match op {
            Op::Forged(d) => {
                in_step = false;
                (d, None, false)
            }
            Op::Genuine { len, corrupt } => {
                let plain: Vec<u8> = (0..=len).collect();
                let mut d = enc.encrypt(&plain);
                assert_eq!(d.len(), plain.len() + HEADER_LEN);
                last = Some(d.clone());
                let clean = corrupt.is_none();
                if let Some((at, x)) = corrupt {
                    let at = usize::from(at) % d.len();
                    d[at] ^= x;
                    if at < HEADER_LEN {
                        in_step = false;
                    }
                }
                (d, Some(plain), clean)
            }
            Op::Lose { n } => {
                for _ in 0..=n % 8 {
                    enc.encrypt(&[0x21]);
                }
                in_step = false;
                continue;
            }
            Op::Replay => match &last {
                Some(d) => (d.clone(), None, false),
                None => continue,
            },
            Op::Reset => {
                enc.reset();
                continue;
            }
        };
        let before = dec.last_count();
        match dec.decrypt(&datagram) {
            Ok(out) => {
                assert_eq!(out.len(), datagram.len() - HEADER_LEN);
                let moved = dec.last_count().wrapping_sub(before) & COUNT_MASK;
                assert!(
                    moved != 0 && moved <= 0x0800,
                    "count moved back or by {moved}"
                );
                if input.stateless {
                    assert!(
                        moved <= max,
                        "{moved} key changes for one packet, bound {max}"
                    );
                }
                if let (Some(p), true, true) = (plain, clean, in_step) {
                    assert_eq!(out, p, "genuine packet decrypted wrongly");
                }
            }
            Err(_) => {
                assert_eq!(dec.last_count(), before, "a refused packet moved the count");
            }
        }
    }
});
