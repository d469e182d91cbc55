//! Round-trip properties of the PPP codecs: frames under every header
//! compression, LCP/IPCP/CCP control packets with their options, PAP and
//! CHAP packets, MS-CHAP Response values and Success/Failure texts.

use std::net::Ipv4Addr;

use proptest::collection::vec;
use proptest::prelude::*;

use super::auth::wire::{ChapPacket, PapPacket};
use super::ccp::OPT_MPPE;
use super::crypto::messages::{FailureChallenge, FailureMessage, SuccessMessage};
use super::crypto::mschap::MsChapV1Response;
use super::crypto::mschapv2::MsChapV2Response;
use super::frame::{Compression, Frame, Protocol};
use super::ipcp::{OPT_IP_ADDRESS, OPT_PRIMARY_DNS, OPT_SECONDARY_NBNS};
use super::lcp::{AuthMethod, OPT_ACCM, OPT_ACFC, OPT_MAGIC, OPT_MRU, OPT_PFC};
use super::packet::{Code, MAX_OPTION_DATA, Opt, Repr, parse_options};

fn auth_method() -> impl Strategy<Value = AuthMethod> {
    prop_oneof![
        Just(AuthMethod::Pap),
        Just(AuthMethod::ChapMd5),
        Just(AuthMethod::MsChapV1),
        Just(AuthMethod::MsChapV2),
    ]
}

/// LCP, IPCP and CCP options as the endpoints build them, and arbitrary ones.
fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        any::<u16>().prop_map(|v| Opt::u16(OPT_MRU, v)),
        any::<u32>().prop_map(|v| Opt::u32(OPT_ACCM, v)),
        auth_method().prop_map(AuthMethod::to_opt),
        any::<u32>().prop_map(|v| Opt::u32(OPT_MAGIC, v)),
        Just(Opt::flag(OPT_PFC)),
        Just(Opt::flag(OPT_ACFC)),
        any::<u32>().prop_map(|v| Opt::ipv4(OPT_IP_ADDRESS, Ipv4Addr::from(v))),
        any::<u32>().prop_map(|v| Opt::ipv4(OPT_PRIMARY_DNS, Ipv4Addr::from(v))),
        any::<u32>().prop_map(|v| Opt::ipv4(OPT_SECONDARY_NBNS, Ipv4Addr::from(v))),
        any::<u32>().prop_map(|v| Opt::u32(OPT_MPPE, v)),
        (any::<u8>(), vec(any::<u8>(), 0..=MAX_OPTION_DATA))
            .prop_map(|(k, d)| Opt::new(k, &d).expect("within MAX_OPTION_DATA")),
    ]
}

fn valid_protocol() -> impl Strategy<Value = Protocol> {
    any::<u16>()
        .prop_map(Protocol)
        .prop_filter("RFC 1661 §2 protocol", |p| p.is_valid())
}

fn name() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

/// Builds a control packet of `code` from the generated parts.
fn repr<'a>(code: u8, id: u8, options: &[Opt], data: &'a [u8], magic: u32, proto: u16) -> Repr<'a> {
    let options = options.to_vec();
    match code {
        1 => Repr::ConfigureRequest {
            identifier: id,
            options,
        },
        2 => Repr::ConfigureAck {
            identifier: id,
            options,
        },
        3 => Repr::ConfigureNak {
            identifier: id,
            options,
        },
        4 => Repr::ConfigureReject {
            identifier: id,
            options,
        },
        5 => Repr::TerminateRequest {
            identifier: id,
            data,
        },
        6 => Repr::TerminateAck {
            identifier: id,
            data,
        },
        7 => Repr::CodeReject {
            identifier: id,
            rejected: data,
        },
        8 => Repr::ProtocolReject {
            identifier: id,
            protocol: proto,
            info: data,
        },
        9 => Repr::EchoRequest {
            identifier: id,
            magic,
            data,
        },
        10 => Repr::EchoReply {
            identifier: id,
            magic,
            data,
        },
        11 => Repr::DiscardRequest {
            identifier: id,
            magic,
            data,
        },
        14 => Repr::ResetRequest {
            identifier: id,
            data,
        },
        15 => Repr::ResetAck {
            identifier: id,
            data,
        },
        code => Repr::Unknown {
            code,
            identifier: id,
            data,
        },
    }
}

proptest! {
    #[test]
    fn frame_round_trips(
        protocol in valid_protocol(),
        payload in vec(any::<u8>(), 0..64),
        acfc in any::<bool>(),
        pfc in any::<bool>(),
    ) {
        let f = Frame { protocol, payload: &payload };
        let comp = Compression { acfc, pfc };
        let bytes = f.to_vec(comp).unwrap();
        prop_assert_eq!(bytes.len(), f.buffer_len(comp));
        prop_assert_eq!(Frame::parse(&bytes), Ok(f));
    }

    #[test]
    fn control_packet_round_trips(
        code in any::<u8>(),
        id in any::<u8>(),
        options in vec(opt(), 0..8),
        data in vec(any::<u8>(), 0..64),
        magic in any::<u32>(),
        proto in any::<u16>(),
    ) {
        let r = repr(code, id, &options, &data, magic, proto);
        prop_assert_eq!(r.code(), Code::from(code));
        let bytes = r.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), r.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes), Ok(r));
        // Padding after Length is ignored.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        prop_assert_eq!(Repr::parse(&padded), Repr::parse(&bytes));
    }

    #[test]
    fn option_list_round_trips(options in vec(opt(), 0..12)) {
        let r = Repr::ConfigureRequest { identifier: 0, options: options.clone() };
        let bytes = r.to_vec().unwrap();
        prop_assert_eq!(parse_options(&bytes[4..]), Ok(options.clone()));
        for o in &options {
            if o.kind() == 3 && o.data().len() >= 2 {
                if let Some(m) = AuthMethod::from_data(o.data()) {
                    prop_assert_eq!(&m.to_opt(), o);
                }
            }
        }
    }

    #[test]
    fn pap_round_trips(
        kind in 0u8..4,
        id in any::<u8>(),
        a in vec(any::<u8>(), 0..=255),
        b in vec(any::<u8>(), 0..=255),
        unknown in 4u8..,
    ) {
        let p = match kind {
            0 => PapPacket::Request { identifier: id, peer_id: &a, password: &b },
            1 => PapPacket::Ack { identifier: id, message: &a },
            2 => PapPacket::Nak { identifier: id, message: &a },
            _ => PapPacket::Unknown { code: unknown, identifier: id },
        };
        let bytes = p.to_vec().unwrap();
        prop_assert_eq!(PapPacket::parse(&bytes), Ok(p));
    }

    #[test]
    fn chap_round_trips(
        kind in 0u8..5,
        id in any::<u8>(),
        value in vec(any::<u8>(), 0..=255),
        text in vec(any::<u8>(), 0..100),
        unknown in 5u8..,
    ) {
        let p = match kind {
            0 => ChapPacket::Challenge { identifier: id, value: &value, name: &text },
            1 => ChapPacket::Response { identifier: id, value: &value, name: &text },
            2 => ChapPacket::Success { identifier: id, message: &text },
            3 => ChapPacket::Failure { identifier: id, message: &text },
            _ => ChapPacket::Unknown { code: unknown, identifier: id },
        };
        let bytes = p.to_vec().unwrap();
        prop_assert_eq!(ChapPacket::parse(&bytes), Ok(p));
    }

    #[test]
    fn mschap_responses_round_trip(
        lm in any::<[u8; 24]>(),
        nt in any::<[u8; 24]>(),
        peer in any::<[u8; 16]>(),
        use_nt in any::<bool>(),
        flags in any::<u8>(),
    ) {
        let v1 = MsChapV1Response { lm_response: lm, nt_response: nt, use_nt };
        prop_assert_eq!(MsChapV1Response::parse(&v1.to_bytes()), Ok(v1));
        let v2 = MsChapV2Response { peer_challenge: peer, nt_response: nt, flags };
        prop_assert_eq!(MsChapV2Response::parse(&v2.to_bytes()), Ok(v2));
    }

    #[test]
    fn mschap_success_round_trips(
        response in any::<[u8; 20]>(),
        message in proptest::option::of(name()),
    ) {
        let s = SuccessMessage { authenticator_response: response, message };
        prop_assert_eq!(SuccessMessage::parse(s.to_text().as_bytes()), Ok(s));
    }

    #[test]
    fn mschap_failure_round_trips(
        error in any::<Option<u32>>(),
        retry in any::<Option<bool>>(),
        challenge in proptest::option::of(prop_oneof![
            any::<[u8; 8]>().prop_map(FailureChallenge::V1),
            any::<[u8; 16]>().prop_map(FailureChallenge::V2),
        ]),
        version in any::<Option<u32>>(),
        message in proptest::option::of(name()),
    ) {
        let f = FailureMessage { error, retry, challenge, version, message };
        prop_assert_eq!(FailureMessage::parse(f.to_text().as_bytes()), f);
    }
}
