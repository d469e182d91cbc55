//! Every PPP parser on arbitrary bytes: frames, LCP/IPCP/CCP packets and
//! option lists, PAP and CHAP packets, MS-CHAPv1/v2 Response values, the
//! MS-CHAP Success and Failure texts, LCP's Authentication-Protocol option
//! and the MPPE header.
//!
//! Invariants: no panic; whatever parses re-emits, and the re-emitted bytes
//! parse back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::ppp::auth::wire::{ChapPacket, PapPacket};
use pptp_passthrough::ppp::crypto::messages::{FailureMessage, SuccessMessage};
use pptp_passthrough::ppp::crypto::mppe;
use pptp_passthrough::ppp::crypto::mschap::MsChapV1Response;
use pptp_passthrough::ppp::crypto::mschapv2::MsChapV2Response;
use pptp_passthrough::ppp::frame::{Compression, Frame};
use pptp_passthrough::ppp::lcp::AuthMethod;
use pptp_passthrough::ppp::packet::{Packet, Repr, parse_options};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frame::parse(data) {
        for (acfc, pfc) in [(false, false), (true, true), (true, false), (false, true)] {
            let comp = Compression { acfc, pfc };
            let v = f.to_vec(comp).expect("a parsed frame re-emits");
            assert_eq!(v.len(), f.buffer_len(comp));
            assert_eq!(Frame::parse(&v), Ok(f), "frame round trip with {comp:?}");
        }
    }

    if let Ok(p) = Packet::parse(data) {
        assert!(p.buffer_len() <= data.len());
        if let Ok(r) = Repr::from_packet(&p) {
            assert_eq!(r.buffer_len(), p.buffer_len());
            let v = r.to_vec().expect("a parsed packet re-emits");
            assert_eq!(v, data[..p.buffer_len()], "packet re-emitted differently");
            assert_eq!(Repr::parse(&v), Ok(r));
        }
    }

    if let Ok(opts) = parse_options(data) {
        let r = Repr::ConfigureRequest {
            identifier: 1,
            options: opts.clone(),
        };
        let v = r.to_vec().expect("parsed options re-emit");
        assert_eq!(v[4..], *data);
        for o in &opts {
            let _ = (o.as_u16(), o.as_u32(), o.as_ipv4());
            if o.kind() == 3 {
                if let Some(m) = AuthMethod::from_data(o.data()) {
                    assert_eq!(AuthMethod::from_data(m.to_opt().data()), Some(m));
                }
            }
        }
    }

    if let Ok(p) = PapPacket::parse(data) {
        let v = p.to_vec().expect("a parsed PAP packet re-emits");
        assert_eq!(PapPacket::parse(&v), Ok(p), "PAP round trip");
    }
    if let Ok(p) = ChapPacket::parse(data) {
        let v = p.to_vec().expect("a parsed CHAP packet re-emits");
        assert_eq!(ChapPacket::parse(&v), Ok(p), "CHAP round trip");
    }

    if let Ok(r) = MsChapV1Response::parse(data) {
        assert_eq!(MsChapV1Response::parse(&r.to_bytes()), Ok(r));
    }
    if let Ok(r) = MsChapV2Response::parse(data) {
        assert_eq!(MsChapV2Response::parse(&r.to_bytes()), Ok(r));
    }

    if let Ok(s) = SuccessMessage::parse(data) {
        let t = s.to_text();
        assert_eq!(
            SuccessMessage::parse(t.as_bytes()).as_ref(),
            Ok(&s),
            "{t:?}"
        );
    }
    let f = FailureMessage::parse(data);
    let t = f.to_text();
    assert_eq!(FailureMessage::parse(t.as_bytes()), f, "{t:?}");
    let _ = f.challenge_v2();

    if let Ok(h) = mppe::parse_header(data) {
        assert!(h.count <= 0x0fff);
    }
});
