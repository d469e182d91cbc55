//! The RFC 2865 §7 example packets, parsed and emitted byte for byte.

use super::*;
use crate::testutil::hex;

pub(crate) const SECRET: &[u8] = b"xyzzy5461";

pub(crate) fn pap_request() -> Vec<u8> {
    hex("01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
         98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
         93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
         01 10 05 06 00 00 00 03")
}

pub(crate) fn pap_accept() -> Vec<u8> {
    hex("02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
         9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
         0e 06 c0 a8 01 03")
}

pub(crate) fn chap_request() -> Vec<u8> {
    hex("01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e
         0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9
         75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04
         06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00
         02 07 06 00 00 00 01")
}

pub(crate) fn chap_accept() -> Vec<u8> {
    hex("02 01 00 38 15 ef bc 7d ab 26 cf a3 dc 34 d9 c0
         3c 86 01 a4 06 06 00 00 00 02 07 06 00 00 00 01
         08 06 ff ff ff fe 0a 06 00 00 00 02 0d 06 00 00
         00 01 0c 06 00 00 05 dc")
}

#[test]
fn rfc2865_examples_parse_and_emit_byte_for_byte() {
    for b in [pap_request(), pap_accept(), chap_request(), chap_accept()] {
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.to_vec().unwrap(), b);
    }
    let p = Packet::parse(&pap_request()).unwrap();
    assert_eq!((p.code, p.id), (Code::AccessRequest, 0));
    assert_eq!(p.get(attr::USER_NAME), Some(&b"nemo"[..]));
    assert_eq!(p.get_u32(attr::NAS_PORT), Some(3));
    let c = Packet::parse(&chap_accept()).unwrap();
    assert_eq!(
        c.get(attr::FRAMED_IP_ADDRESS),
        Some(&[255, 255, 255, 254][..])
    );
    assert_eq!(c.get_u32(attr::FRAMED_MTU), Some(1500));
}

#[test]
fn lengths_are_checked() {
    let good = pap_request();
    // Padding past Length is ignored (§3).
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 5]);
    assert_eq!(
        Packet::parse(&padded).unwrap(),
        Packet::parse(&good).unwrap()
    );
    for (what, b) in [
        ("truncated", good[..good.len() - 1].to_vec()),
        ("header only", good[..19].to_vec()),
        ("length 19", {
            let mut b = good.clone();
            b[3] = 19;
            b
        }),
        ("attribute length 1", {
            let mut b = good.clone();
            b[21] = 1;
            b
        }),
        ("attribute past the end", {
            let mut b = good.clone();
            b[21] = 200;
            b
        }),
        ("unknown code", {
            let mut b = good.clone();
            b[0] = 99;
            b
        }),
    ] {
        assert!(Packet::parse(&b).is_err(), "{what}");
    }
    let mut big = Packet::new(Code::AccessRequest, 1);
    big.add(attr::REPLY_MESSAGE, &[b'x'; 254]);
    assert_eq!(big.to_vec(), Err(RadiusError::TooLong));
}

#[test]
fn microsoft_vendor_attributes() {
    let mut p = Packet::new(Code::AccessAccept, 9);
    p.add_ms(ms::CHAP2_SUCCESS, b"\x01S=00");
    p.add_u32(attr::SESSION_TIMEOUT, 60);
    let b = p.to_vec().unwrap();
    // Type 26, length 13, vendor 311, sub-type 26, sub-length 7.
    assert_eq!(&b[20..28], &[26, 13, 0, 0, 1, 55, 26, 7]);
    let back = Packet::parse(&b).unwrap();
    assert_eq!(back.get_ms(ms::CHAP2_SUCCESS), Some(&b"\x01S=00"[..]));
    assert_eq!(back.get_ms(ms::CHAP_ERROR), None);
    assert_eq!(back.get_u32(attr::SESSION_TIMEOUT), Some(60));
}

#[test]
fn garbage_never_panics() {
    let mut x: u32 = 1;
    for n in 0..3000usize {
        let mut b = chap_accept();
        b.truncate(n % (b.len() + 1));
        for _ in 0..(n % 4) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x as usize >> 8) % b.len().max(1);
            if let Some(v) = b.get_mut(i) {
                *v = (x >> 16) as u8;
            }
        }
        if let Ok(p) = Packet::parse(&b) {
            let _ = p.get_ms(ms::MPPE_SEND_KEY);
        }
        let _ = crate::radius::crypto::verify_response(&b, &[0; 16], SECRET);
        let _ = crate::radius::crypto::verify_md5_request(&b, SECRET);
    }
}
