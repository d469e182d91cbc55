//! ctnetlink messages (linux/netfilter/nfnetlink_conntrack.h), sans-IO:
//! the request for one conntrack entry of PPTP GRE by its tuple, and the
//! entry's id and counters from the answer. Each direction of a call's GRE
//! is its own entry without the kernel's PPTP helper, so a call's traffic
//! is counted by conntrack at no cost per packet to the helper's rules.
//! Netlink and attribute headers are in the host's byte order (`nfnl`),
//! the values inside the attributes big-endian. The socket is
//! `os::conntrack`.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::net::Ipv4Addr;

use netlink_packet_core::NlasIterator;

use super::nfnl::{Attr, HEADERS, NLM_F_REQUEST, NLMSG_ERROR, NfGen, each_message, message};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;

// enum ctattr_type, ctattr_tuple, ctattr_ip, ctattr_l4proto,
// ctattr_counters
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_COUNTERS_ORIG: u16 = 9;
const CTA_ID: u16 = 12;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
/// For GRE the "ports" are the keys (`nf_conntrack_proto_gre`).
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_COUNTERS_PACKETS: u16 = 1;
const CTA_COUNTERS_BYTES: u16 = 2;

const IPPROTO_GRE: u8 = 47;
const AF_INET: u8 = 2;
const ENOENT: i32 = 2;

/// A conntrack tuple of PPTP GRE. Without the kernel's PPTP helper the
/// source key is 0 and the destination key is the packet's Call ID
/// (RFC 2637 §4.1: the receiver's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreTuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_key: u16,
    pub dst_key: u16,
}

/// Which of an entry's two tuples a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Original,
    Reply,
}

/// One entry's id and what it counted in its original direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flow {
    pub id: u32,
    pub packets: u64,
    pub bytes: u64,
}

/// What the kernel answered to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Found(Flow),
    /// No such entry (ENOENT).
    None,
    /// Another error (a negative errno).
    Error(i32),
}

fn tuple_attr(kind: u16, t: &GreTuple) -> Attr {
    Attr::Nested(
        kind,
        vec![
            Attr::Nested(
                CTA_TUPLE_IP,
                vec![
                    Attr::Bytes(CTA_IP_V4_SRC, t.src.octets().to_vec()),
                    Attr::Bytes(CTA_IP_V4_DST, t.dst.octets().to_vec()),
                ],
            ),
            Attr::Nested(
                CTA_TUPLE_PROTO,
                vec![
                    Attr::Bytes(CTA_PROTO_NUM, vec![IPPROTO_GRE]),
                    Attr::Bytes(CTA_PROTO_SRC_PORT, t.src_key.to_be_bytes().to_vec()),
                    Attr::Bytes(CTA_PROTO_DST_PORT, t.dst_key.to_be_bytes().to_vec()),
                ],
            ),
        ],
    )
}

/// A request for the entry with tuple `t` on `side`.
pub fn get(seq: u32, side: Side, t: &GreTuple) -> Vec<u8> {
    let kind = match side {
        Side::Original => CTA_TUPLE_ORIG,
        Side::Reply => CTA_TUPLE_REPLY,
    };
    let mut out = Vec::new();
    message(
        &mut out,
        (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
        NLM_F_REQUEST,
        seq,
        NfGen {
            family: AF_INET,
            res_id: 0,
        },
        &[tuple_attr(kind, t)],
    );
    out
}

fn be_of<const N: usize>(v: &[u8]) -> Option<[u8; N]> {
    v.get(..N)?.try_into().ok()
}

fn flow(attrs: &[u8]) -> Option<Flow> {
    let mut f = Flow::default();
    let mut id = None;
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        // The kind without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        match a.kind() & 0x3fff {
            CTA_ID => id = be_of::<4>(a.value()).map(u32::from_be_bytes),
            CTA_COUNTERS_ORIG => {
                for c in NlasIterator::new(a.value()) {
                    let c = c.ok()?;
                    let v = be_of::<8>(c.value()).map(u64::from_be_bytes);
                    match c.kind() & 0x3fff {
                        CTA_COUNTERS_PACKETS => f.packets = v?,
                        CTA_COUNTERS_BYTES => f.bytes = v?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    f.id = id?;
    Some(f)
}

/// The answers in one datagram, each with its request's sequence number;
/// malformed messages are skipped. Never panics.
pub fn answers(buf: &[u8]) -> Vec<(u32, Answer)> {
    let mut out = Vec::new();
    for m in each_message(buf) {
        let (seq, p) = (m.sequence_number(), m.payload());
        if m.message_type() == NLMSG_ERROR {
            // A truncated error is no answer.
            if let Some(code) = be_of::<4>(p).map(i32::from_ne_bytes) {
                out.push((
                    seq,
                    match code {
                        0 => Answer::None,
                        c if c == -ENOENT => Answer::None,
                        c => Answer::Error(c),
                    },
                ));
            }
        } else if m.message_type() == (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW {
            if let Some(f) = p.get(HEADERS - 16..).and_then(flow) {
                out.push((seq, Answer::Found(f)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: GreTuple = GreTuple {
        src: Ipv4Addr::new(192, 168, 1, 10),
        dst: Ipv4Addr::new(198, 51, 100, 10),
        src_key: 0xc001,
        dst_key: 0,
    };

    /// The request pinned byte for byte for each host byte order.
    #[test]
    fn request_bytes_per_host_byte_order() {
        let got = get(0x0102_0304, Side::Reply, &T);
        let attrs: [u8; 52] = {
            let mut a = [0u8; 52];
            let nla = |len: u16, ty: u16| -> [u8; 4] {
                #[cfg(target_endian = "little")]
                let b = [len.to_le_bytes(), ty.to_le_bytes()];
                #[cfg(target_endian = "big")]
                let b = [len.to_be_bytes(), ty.to_be_bytes()];
                [b[0][0], b[0][1], b[1][0], b[1][1]]
            };
            let parts: Vec<Vec<u8>> = vec![
                nla(52, 2 | 0x8000).to_vec(), // CTA_TUPLE_REPLY, nested
                nla(20, 1 | 0x8000).to_vec(), // CTA_TUPLE_IP
                nla(8, 1).to_vec(),
                vec![192, 168, 1, 10],
                nla(8, 2).to_vec(),
                vec![198, 51, 100, 10],
                nla(28, 2 | 0x8000).to_vec(), // CTA_TUPLE_PROTO
                nla(5, 1).to_vec(),
                vec![47, 0, 0, 0], // GRE, padded
                nla(6, 2).to_vec(),
                vec![0xc0, 0x01, 0, 0], // source key, big-endian, padded
                nla(6, 3).to_vec(),
                vec![0, 0, 0, 0],
            ];
            let flat: Vec<u8> = parts.concat();
            a.copy_from_slice(&flat);
            a
        };
        #[cfg(target_endian = "little")]
        let head: [u8; 20] = [
            72, 0, 0, 0, // nlmsg_len
            1, 1, // (CTNETLINK << 8) | GET
            1, 0, // NLM_F_REQUEST
            4, 3, 2, 1, // seq
            0, 0, 0, 0, // pid
            2, 0, 0, 0, // AF_INET, v0, res_id
        ];
        #[cfg(target_endian = "big")]
        let head: [u8; 20] = [
            0, 0, 0, 72, // nlmsg_len
            1, 1, // (CTNETLINK << 8) | GET
            0, 1, // NLM_F_REQUEST
            1, 2, 3, 4, // seq
            0, 0, 0, 0, // pid
            2, 0, 0, 0, // AF_INET, v0, res_id
        ];
        assert_eq!(got[..20], head);
        assert_eq!(got[20..], attrs);
        // The original side names the other attribute.
        let orig = get(1, Side::Original, &T);
        assert_eq!(orig[22..24], (1u16 | 0x8000).to_ne_bytes());
    }

    fn attr(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend(((4 + v.len()) as u16).to_ne_bytes());
        a.extend(kind.to_ne_bytes());
        a.extend(v);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn msg(ty: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((16 + body.len()) as u32).to_ne_bytes());
        m.extend(ty.to_ne_bytes());
        m.extend(0u16.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend(body);
        m
    }

    fn entry(seq: u32, id: u32, packets: u64, bytes: u64) -> Vec<u8> {
        let mut body = vec![2, 0, 0, 0];
        body.extend(attr(CTA_TUPLE_ORIG | 0x8000, &attr(1 | 0x8000, &[])));
        let mut counters = attr(CTA_COUNTERS_PACKETS | 0x4000, &packets.to_be_bytes());
        counters.extend(attr(CTA_COUNTERS_BYTES | 0x4000, &bytes.to_be_bytes()));
        body.extend(attr(CTA_COUNTERS_ORIG | 0x8000, &counters));
        body.extend(attr(CTA_ID | 0x4000, &id.to_be_bytes()));
        msg(0x0100, seq, &body)
    }

    fn error(seq: u32, code: i32) -> Vec<u8> {
        let mut body = code.to_ne_bytes().to_vec();
        body.extend([0u8; 16]);
        msg(NLMSG_ERROR, seq, &body)
    }

    #[test]
    fn answers_parse() {
        let flow = Flow {
            id: 0xdead_beef,
            packets: 200,
            bytes: 0x1_0000_0010,
        };
        assert_eq!(
            answers(&entry(9, 0xdead_beef, 200, 0x1_0000_0010)),
            [(9, Answer::Found(flow))]
        );
        assert_eq!(answers(&error(9, -2)), [(9, Answer::None)]);
        assert_eq!(answers(&error(9, -1)), [(9, Answer::Error(-1))]);
        // Several in one datagram, each with its sequence number.
        let mut two = entry(8, 1, 1, 1);
        two.extend(error(9, -2));
        two.extend(entry(10, 2, 3, 4));
        let f = |id, packets, bytes| Answer::Found(Flow { id, packets, bytes });
        assert_eq!(
            answers(&two),
            [(8, f(1, 1, 1)), (9, Answer::None), (10, f(2, 3, 4))]
        );
        // An entry without counters (accounting off) counts nothing.
        let mut body = vec![2, 0, 0, 0];
        body.extend(attr(CTA_ID, &7u32.to_be_bytes()));
        assert_eq!(answers(&msg(0x0100, 5, &body)), [(5, f(7, 0, 0))]);
        // An entry without its id is not taken.
        let mut body = vec![2, 0, 0, 0];
        body.extend(attr(CTA_COUNTERS_ORIG | 0x8000, &[]));
        assert!(answers(&msg(0x0100, 5, &body)).is_empty());
    }

    #[test]
    fn answers_survive_truncation_and_garbage() {
        let whole = entry(9, 5, 6, 7);
        for n in 0..whole.len() {
            let _ = answers(&whole[..n]);
        }
        let mut x = 0x9e37_79b9u32;
        for _ in 0..2000 {
            let mut b = whole.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % b.len();
                b[i] = (x >> 24) as u8;
            }
            let _ = answers(&b);
        }
    }
}
