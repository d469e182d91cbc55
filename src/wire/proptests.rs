//! Round-trip properties of the wire codecs: `parse(emit(x)) == x` for all
//! fifteen PPTP control messages, through the stream reassembler too, and
//! for the enhanced GRE header.

use proptest::collection::vec;
use proptest::prelude::*;

use super::gre::{self, Packet, Repr};
use super::pptp::{
    CallDisconnectNotify, FixedStr, IncomingCallConnected, IncomingCallReply, IncomingCallRequest,
    Message, OutgoingCallReply, OutgoingCallRequest, Reassembler, StartControl, WanErrorNotify,
};

fn fixed<const N: usize>() -> impl Strategy<Value = FixedStr<N>> {
    vec(any::<u8>(), 0..=N).prop_map(|v| FixedStr::new(&v))
}

fn start_control(reply: bool) -> impl Strategy<Value = StartControl> {
    (
        any::<(u16, u8, u8, u32, u32, u16, u16)>(),
        fixed::<64>(),
        fixed::<64>(),
    )
        .prop_map(
            move |((v, r, e, f, b, m, fw), host_name, vendor)| StartControl {
                protocol_version: v,
                // A request has no result or error code (§2.1: Reserved1).
                result: if reply { r } else { 0 },
                error: if reply { e } else { 0 },
                framing_capabilities: f,
                bearer_capabilities: b,
                maximum_channels: m,
                firmware_revision: fw,
                host_name,
                vendor,
            },
        )
}

fn ocrq() -> impl Strategy<Value = OutgoingCallRequest> {
    (
        any::<(u16, u16, u32, u32, u32, u32, u16, u16, u16)>(),
        fixed::<64>(),
        fixed::<64>(),
    )
        .prop_map(
            |((c, s, min, max, bt, ft, w, d, pl), phone, sub)| OutgoingCallRequest {
                call_id: c,
                call_serial: s,
                min_bps: min,
                max_bps: max,
                bearer_type: bt,
                framing_type: ft,
                packet_recv_window_size: w,
                packet_processing_delay: d,
                phone_number_len: pl,
                phone_number: phone,
                subaddress: sub,
            },
        )
}

fn ocrp() -> impl Strategy<Value = OutgoingCallReply> {
    any::<(u16, u16, u8, u8, u16, u32, u16, u16, u32)>().prop_map(
        |(c, p, r, e, cause, speed, w, d, ch)| OutgoingCallReply {
            call_id: c,
            peer_call_id: p,
            result: r,
            error: e,
            cause,
            connect_speed: speed,
            packet_recv_window_size: w,
            packet_processing_delay: d,
            physical_channel_id: ch,
        },
    )
}

fn icrq() -> impl Strategy<Value = IncomingCallRequest> {
    (
        any::<(u16, u16, u32, u32, u16, u16)>(),
        fixed::<64>(),
        fixed::<64>(),
        fixed::<64>(),
    )
        .prop_map(
            |((c, s, bt, ch, l1, l2), dialed, dialing, sub)| IncomingCallRequest {
                call_id: c,
                call_serial: s,
                bearer_type: bt,
                physical_channel_id: ch,
                dialed_number_len: l1,
                dialing_number_len: l2,
                dialed_number: dialed,
                dialing_number: dialing,
                subaddress: sub,
            },
        )
}

fn icrp() -> impl Strategy<Value = IncomingCallReply> {
    any::<(u16, u16, u8, u8, u16, u16)>().prop_map(|(c, p, r, e, w, d)| IncomingCallReply {
        call_id: c,
        peer_call_id: p,
        result: r,
        error: e,
        packet_recv_window_size: w,
        packet_transmit_delay: d,
    })
}

fn iccn() -> impl Strategy<Value = IncomingCallConnected> {
    any::<(u16, u32, u16, u16, u32)>().prop_map(|(p, s, w, d, f)| IncomingCallConnected {
        peer_call_id: p,
        connect_speed: s,
        packet_recv_window_size: w,
        packet_transmit_delay: d,
        framing_type: f,
    })
}

fn cdn() -> impl Strategy<Value = CallDisconnectNotify> {
    (any::<(u16, u8, u8, u16)>(), fixed::<128>()).prop_map(|((c, r, e, cause), stats)| {
        CallDisconnectNotify {
            call_id: c,
            result: r,
            error: e,
            cause,
            call_statistics: stats,
        }
    })
}

fn wen() -> impl Strategy<Value = WanErrorNotify> {
    any::<(u16, u32, u32, u32, u32, u32, u32)>().prop_map(|(p, crc, fr, hw, buf, to, al)| {
        WanErrorNotify {
            peer_call_id: p,
            crc_errors: crc,
            framing_errors: fr,
            hardware_overruns: hw,
            buffer_overruns: buf,
            timeout_errors: to,
            alignment_errors: al,
        }
    })
}

/// Any of the fifteen control messages.
fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        start_control(false).prop_map(Message::StartControlConnectionRequest),
        start_control(true).prop_map(Message::StartControlConnectionReply),
        any::<u8>().prop_map(|reason| Message::StopControlConnectionRequest { reason }),
        any::<(u8, u8)>()
            .prop_map(|(result, error)| Message::StopControlConnectionReply { result, error }),
        any::<u32>().prop_map(|identifier| Message::EchoRequest { identifier }),
        any::<(u32, u8, u8)>().prop_map(|(identifier, result, error)| Message::EchoReply {
            identifier,
            result,
            error
        }),
        ocrq().prop_map(Message::OutgoingCallRequest),
        ocrp().prop_map(Message::OutgoingCallReply),
        icrq().prop_map(Message::IncomingCallRequest),
        icrp().prop_map(Message::IncomingCallReply),
        iccn().prop_map(Message::IncomingCallConnected),
        any::<u16>().prop_map(|call_id| Message::CallClearRequest { call_id }),
        cdn().prop_map(Message::CallDisconnectNotify),
        wen().prop_map(Message::WanErrorNotify),
        any::<(u16, u32, u32)>().prop_map(|(peer_call_id, send_accm, receive_accm)| {
            Message::SetLinkInfo {
                peer_call_id,
                send_accm,
                receive_accm,
            }
        }),
    ]
}

fn gre_repr() -> impl Strategy<Value = Repr> {
    any::<(u16, Option<u32>, Option<u32>, u16)>().prop_map(|(call_id, seq, ack, payload_len)| {
        Repr {
            call_id,
            seq,
            ack,
            payload_len,
        }
    })
}

proptest! {
    #[test]
    fn pptp_message_round_trips(m in message()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(bytes.len(), m.buffer_len());
        prop_assert_eq!(usize::from(u16::from_be_bytes([bytes[0], bytes[1]])), bytes.len());
        prop_assert_eq!(Message::parse(&bytes), Ok(m.clone()));
        // emit into a larger buffer leaves the tail alone.
        let mut big = vec![0xAA; bytes.len() + 3];
        m.emit(&mut big).unwrap();
        prop_assert_eq!(&big[..bytes.len()], &bytes[..]);
        prop_assert_eq!(&big[bytes.len()..], &[0xAA; 3][..]);
    }

    #[test]
    fn pptp_stream_round_trips_whatever_the_cuts(
        msgs in vec(message(), 0..6),
        cuts in vec(1usize..64, 0..40),
    ) {
        let stream: Vec<u8> = msgs.iter().flat_map(Message::to_bytes).collect();
        let mut r = Reassembler::new();
        let mut got = Vec::new();
        let mut at = 0;
        let mut sizes = cuts.into_iter().chain(std::iter::repeat(usize::MAX));
        while at < stream.len() {
            let end = at.saturating_add(sizes.next().unwrap_or(usize::MAX)).min(stream.len());
            r.push(&stream[at..end]);
            at = end;
            while let Some(m) = r.next_message() {
                got.push(m.unwrap());
            }
        }
        prop_assert_eq!(got, msgs);
        prop_assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn gre_header_round_trips(repr in gre_repr()) {
        let mut buf = vec![0u8; repr.header_len() + usize::from(repr.payload_len)];
        repr.emit(&mut buf).unwrap();
        let p = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Repr::parse(&p), repr);
        prop_assert_eq!(p.header_len(), repr.header_len());
    }

    #[test]
    fn gre_packet_round_trips(
        call_id in any::<u16>(),
        seq in any::<Option<u32>>(),
        ack in any::<Option<u32>>(),
        payload in vec(any::<u8>(), 0..300),
    ) {
        let bytes = gre::build(call_id, seq, ack, &payload);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!((p.call_id(), p.seq(), p.ack()), (call_id, seq, ack));
        prop_assert_eq!(p.payload(), &payload[..]);
    }
}
