//! PPP frame parsing and emission with hand-written byte vectors.

use super::*;
use crate::ppp::fsm::testutil::Noise;

const NONE: Compression = Compression {
    acfc: false,
    pfc: false,
};
const BOTH: Compression = Compression {
    acfc: true,
    pfc: true,
};

#[test]
fn parses_every_header_form() {
    let cases: [(&[u8], Protocol, &[u8]); 6] = [
        (
            &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4],
            Protocol::LCP,
            &[1, 1, 0, 4],
        ),
        (&[0xc0, 0x21, 1, 1, 0, 4], Protocol::LCP, &[1, 1, 0, 4]),
        (&[0xff, 0x03, 0x00, 0x21, 0x45], Protocol::IPV4, &[0x45]),
        (&[0xff, 0x03, 0x21, 0x45], Protocol::IPV4, &[0x45]),
        (&[0x21, 0x45], Protocol::IPV4, &[0x45]),
        (&[0xfd, 0x90, 0x00], Protocol::COMPRESSED, &[0x90, 0x00]),
    ];
    for (bytes, protocol, payload) in cases {
        assert_eq!(
            Frame::parse(bytes),
            Ok(Frame { protocol, payload }),
            "{bytes:02x?}"
        );
    }
    assert_eq!(
        Frame::parse(&[0x80, 0xfd, 0x01]).map(|f| f.protocol),
        Ok(Protocol::CCP)
    );
    assert_eq!(
        Frame::parse(&[0x80, 0x21]),
        Ok(Frame {
            protocol: Protocol::IPCP,
            payload: &[]
        })
    );
}

#[test]
fn rejects_truncated_and_invalid_frames() {
    assert_eq!(
        Frame::parse(&[]),
        Err(Error::Truncated { have: 0, need: 1 })
    );
    assert_eq!(
        Frame::parse(&[0xff, 0x03]),
        Err(Error::Truncated { have: 2, need: 3 })
    );
    assert_eq!(
        Frame::parse(&[0xff, 0x03, 0xc0]),
        Err(Error::Truncated { have: 3, need: 4 })
    );
    // Even last octet, odd first octet of two, a lone 0xFF address.
    assert_eq!(Frame::parse(&[0xc0, 0x20]), Err(Error::BadProtocol));
    assert_eq!(Frame::parse(&[0x00, 0x00, 1]), Err(Error::BadProtocol));
    assert_eq!(Frame::parse(&[0xff, 0x21]), Err(Error::BadProtocol));
    assert_eq!(Frame::parse(&[0xff]), Err(Error::BadProtocol));
}

#[test]
fn emits_only_negotiated_compression() {
    let ip = Frame {
        protocol: Protocol::IPV4,
        payload: &[0x45, 0x00],
    };
    assert_eq!(
        ip.to_vec(NONE).unwrap(),
        [0xff, 0x03, 0x00, 0x21, 0x45, 0x00]
    );
    assert_eq!(ip.to_vec(BOTH).unwrap(), [0x21, 0x45, 0x00]);
    let pfc = Compression {
        acfc: false,
        pfc: true,
    };
    assert_eq!(ip.to_vec(pfc).unwrap(), [0xff, 0x03, 0x21, 0x45, 0x00]);
    let acfc = Compression {
        acfc: true,
        pfc: false,
    };
    assert_eq!(ip.to_vec(acfc).unwrap(), [0x00, 0x21, 0x45, 0x00]);
    // LCP is never compressed; other control protocols lose only FF 03.
    let lcp = Frame {
        protocol: Protocol::LCP,
        payload: &[9],
    };
    assert_eq!(lcp.to_vec(BOTH).unwrap(), [0xff, 0x03, 0xc0, 0x21, 9]);
    let ccp = Frame {
        protocol: Protocol::CCP,
        payload: &[14],
    };
    assert_eq!(ccp.to_vec(BOTH).unwrap(), [0x80, 0xfd, 14]);
    let mppe = Frame {
        protocol: Protocol::COMPRESSED,
        payload: &[0x90, 0x01],
    };
    assert_eq!(mppe.to_vec(BOTH).unwrap(), [0xfd, 0x90, 0x01]);
    assert_eq!(mppe.header_len(NONE), 4);
}

#[test]
fn emit_checks_buffer_and_protocol() {
    let f = Frame {
        protocol: Protocol::CHAP,
        payload: &[1, 2, 3],
    };
    let mut small = [0u8; 6];
    assert_eq!(
        f.emit(NONE, &mut small),
        Err(Error::BufferTooSmall { have: 6, need: 7 })
    );
    let mut big = [0u8; 10];
    assert_eq!(f.emit(NONE, &mut big), Ok(7));
    assert_eq!(big[..7], [0xff, 0x03, 0xc2, 0x23, 1, 2, 3]);
    let bad = Frame {
        protocol: Protocol(0x0020),
        payload: &[],
    };
    assert_eq!(bad.to_vec(NONE), Err(Error::BadProtocol));
}

#[test]
fn round_trips_and_survives_garbage() {
    for p in [
        0x0021u16, 0x00fd, 0x8021, 0x80fd, 0xc021, 0xc023, 0xc223, 0x0231,
    ] {
        for comp in [NONE, BOTH] {
            let f = Frame {
                protocol: Protocol(p),
                payload: &[1, 2, 3],
            };
            let bytes = f.to_vec(comp).unwrap();
            assert_eq!(Frame::parse(&bytes), Ok(f));
        }
    }
    let mut noise = Noise(7);
    for _ in 0..5000 {
        let bytes = noise.bytes(16);
        if let Ok(f) = Frame::parse(&bytes) {
            assert!(f.protocol.is_valid());
            assert!(f.payload.len() < bytes.len());
        }
    }
}

/// Found by fuzzing (ppp_parsers): protocol 0x00FF parsed from its two-octet
/// form was emitted as the single octet 0xFF, which reads back as an address
/// field, so the frame did not survive a round trip.
#[test]
fn protocol_00ff_is_never_compressed() {
    let f = Frame {
        protocol: Protocol(0x00ff),
        payload: &[0xff, 0x00],
    };
    assert!(!f.protocol.is_compressible());
    for comp in [NONE, BOTH] {
        let bytes = f.to_vec(comp).unwrap();
        assert_eq!(&bytes[bytes.len() - 4..bytes.len() - 2], &[0x00, 0xff]);
        assert_eq!(Frame::parse(&bytes), Ok(f));
    }
    let parsed = Frame::parse(&[0x00, 0xff, 0xff, 0x00]).unwrap();
    assert_eq!(Frame::parse(&parsed.to_vec(BOTH).unwrap()), Ok(parsed));
}
