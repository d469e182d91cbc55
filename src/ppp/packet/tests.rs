//! Control packets and option lists with hand-written byte vectors.

use super::*;
use crate::ppp::fsm::testutil::Noise;

fn round_trip(bytes: &[u8], repr: Repr<'_>) {
    assert_eq!(Repr::parse(bytes).as_ref(), Ok(&repr), "{bytes:02x?}");
    assert_eq!(repr.to_vec().unwrap(), bytes);
    assert_eq!(repr.buffer_len(), bytes.len());
}

#[test]
fn codes_map_both_ways() {
    for v in 0..=255u8 {
        assert_eq!(u8::from(Code::from(v)), v);
    }
    assert_eq!(Code::from(14), Code::ResetRequest);
    assert_eq!(Code::from(12), Code::Unknown(12));
}

#[test]
fn configure_packets() {
    #[rustfmt::skip]
    let request = [
        0x01, 0x07, 0x00, 0x12,
        0x01, 0x04, 0x05, 0xdc,             // MRU 1500
        0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic-Number
        0x07, 0x02,                         // PFC
        0x08, 0x02,                         // ACFC
    ];
    let options = vec![
        Opt::u16(1, 1500),
        Opt::u32(5, 0x1234_5678),
        Opt::flag(7),
        Opt::flag(8),
    ];
    round_trip(
        &request,
        Repr::ConfigureRequest {
            identifier: 7,
            options: options.clone(),
        },
    );
    for (code, repr) in [
        (
            2u8,
            Repr::ConfigureAck {
                identifier: 7,
                options: options.clone(),
            },
        ),
        (
            3,
            Repr::ConfigureNak {
                identifier: 7,
                options: options.clone(),
            },
        ),
        (
            4,
            Repr::ConfigureReject {
                identifier: 7,
                options: options.clone(),
            },
        ),
    ] {
        let mut bytes = request;
        bytes[0] = code;
        round_trip(&bytes, repr);
    }
    round_trip(
        &[1, 0, 0, 4],
        Repr::ConfigureRequest {
            identifier: 0,
            options: vec![],
        },
    );
}

#[test]
fn terminate_code_reject_and_reset_packets() {
    round_trip(
        &[5, 2, 0, 6, 0xaa, 0xbb],
        Repr::TerminateRequest {
            identifier: 2,
            data: &[0xaa, 0xbb],
        },
    );
    round_trip(
        &[6, 2, 0, 4],
        Repr::TerminateAck {
            identifier: 2,
            data: &[],
        },
    );
    round_trip(
        &[7, 3, 0, 8, 0x20, 1, 0, 4],
        Repr::CodeReject {
            identifier: 3,
            rejected: &[0x20, 1, 0, 4],
        },
    );
    round_trip(
        &[14, 4, 0, 4],
        Repr::ResetRequest {
            identifier: 4,
            data: &[],
        },
    );
    round_trip(
        &[15, 4, 0, 5, 9],
        Repr::ResetAck {
            identifier: 4,
            data: &[9],
        },
    );
    round_trip(
        &[0x30, 5, 0, 5, 1],
        Repr::Unknown {
            code: 0x30,
            identifier: 5,
            data: &[1],
        },
    );
}

#[test]
fn lcp_maintenance_packets() {
    round_trip(
        &[8, 9, 0, 9, 0x80, 0x57, 1, 2, 3],
        Repr::ProtocolReject {
            identifier: 9,
            protocol: 0x8057,
            info: &[1, 2, 3],
        },
    );
    round_trip(
        &[9, 1, 0, 10, 0xde, 0xad, 0xbe, 0xef, 0x55, 0x66],
        Repr::EchoRequest {
            identifier: 1,
            magic: 0xdead_beef,
            data: &[0x55, 0x66],
        },
    );
    round_trip(
        &[10, 1, 0, 8, 0, 0, 0, 0],
        Repr::EchoReply {
            identifier: 1,
            magic: 0,
            data: &[],
        },
    );
    round_trip(
        &[11, 2, 0, 9, 1, 2, 3, 4, 5],
        Repr::DiscardRequest {
            identifier: 2,
            magic: 0x0102_0304,
            data: &[5],
        },
    );
    assert!(matches!(
        Repr::parse(&[8, 9, 0, 5, 0x80]),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        Repr::parse(&[9, 1, 0, 7, 1, 2, 3]),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn length_field_rules() {
    // Padding after Length is ignored.
    let p = Packet::parse(&[6, 1, 0, 5, 9, 0, 0, 0]).unwrap();
    assert_eq!(p.data, [9]);
    assert_eq!(p.buffer_len(), 5);
    assert_eq!(
        Packet::parse(&[6, 1, 0]),
        Err(Error::Truncated { have: 3, need: 4 })
    );
    assert_eq!(
        Packet::parse(&[6, 1, 0, 3]),
        Err(Error::BadLength { length: 3, have: 4 })
    );
    assert_eq!(
        Packet::parse(&[6, 1, 0, 9, 1]),
        Err(Error::BadLength { length: 9, have: 5 })
    );
}

#[test]
fn option_list_rules() {
    assert_eq!(
        parse_options(&[3, 5, 0xc2, 0x23, 0x81, 7, 2]),
        Ok(vec![
            Opt::new(3, &[0xc2, 0x23, 0x81]).unwrap(),
            Opt::flag(7)
        ])
    );
    assert_eq!(parse_options(&[]), Ok(vec![]));
    // Length 0, 1, past the end, a lone type octet.
    for (bytes, offset, length) in [
        (&[7u8, 0][..], 0, 0),
        (&[7, 2, 1, 1], 2, 1),
        (&[1, 4, 5], 0, 4),
        (&[7, 2, 8], 2, 0),
    ] {
        assert_eq!(
            parse_options(bytes),
            Err(Error::BadOptionLength { offset, length })
        );
    }
    assert_eq!(
        Repr::parse(&[1, 1, 0, 6, 1, 4]),
        Err(Error::BadOptionLength {
            offset: 0,
            length: 4
        })
    );
}

#[test]
fn option_values() {
    let o = Opt::ipv4(3, std::net::Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(o.data(), [10, 0, 0, 2]);
    assert_eq!(o.as_ipv4(), Some(std::net::Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(o.as_u16(), None);
    assert_eq!(Opt::u16(1, 1400).as_u32(), None);
    assert_eq!(Opt::new(1, &[0; 254]), Err(Error::OptionTooLong(254)));
    let max = Opt::new(99, &[1; MAX_OPTION_DATA]).unwrap();
    assert_eq!(max.buffer_len(), 255);
    let bytes = Repr::ConfigureRequest {
        identifier: 1,
        options: vec![max.clone()],
    }
    .to_vec()
    .unwrap();
    assert_eq!(bytes[4..6], [99, 255]);
    assert_eq!(parse_options(&bytes[4..]), Ok(vec![max]));
}

#[test]
fn emit_refuses_small_buffers_and_huge_packets() {
    let repr = Repr::TerminateRequest {
        identifier: 1,
        data: &[1, 2],
    };
    let mut buf = [0u8; 5];
    assert_eq!(
        repr.emit(&mut buf),
        Err(Error::BufferTooSmall { have: 5, need: 6 })
    );
    let huge = vec![0u8; 70_000];
    let repr = Repr::TerminateRequest {
        identifier: 1,
        data: &huge,
    };
    assert_eq!(repr.to_vec(), Err(Error::PacketTooLong(70_004)));
}

#[test]
fn truncations_and_garbage_never_panic() {
    let packets: [&[u8]; 4] = [
        &[1, 7, 0, 0x12, 1, 4, 5, 0xdc, 5, 6, 1, 2, 3, 4, 7, 2, 8, 2],
        &[8, 9, 0, 9, 0x80, 0x57, 1, 2, 3],
        &[9, 1, 0, 10, 0xde, 0xad, 0xbe, 0xef, 0x55, 0x66],
        &[14, 4, 0, 4],
    ];
    for p in packets {
        for n in 0..p.len() {
            assert!(Repr::parse(&p[..n]).is_err(), "{:02x?}", &p[..n]);
        }
    }
    let mut noise = Noise(99);
    for _ in 0..20_000 {
        let mut bytes = noise.bytes(40);
        if bytes.len() >= 4 && noise.byte() < 200 {
            bytes[2] = 0;
            bytes[3] = u8::try_from(bytes.len()).unwrap();
        }
        if let Ok(repr) = Repr::parse(&bytes) {
            // Whatever parses re-encodes to the bytes within Length.
            let again = repr.to_vec().unwrap();
            assert_eq!(Repr::parse(&again), Ok(repr));
        }
        let _ = parse_options(&bytes);
    }
}
