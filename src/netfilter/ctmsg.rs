//! ctnetlink messages (linux/netfilter/nfnetlink_conntrack.h), sans-IO:
//! the dump of the GRE entries, with each entry's id and counters, and the
//! deletion of one entry (stale entries a new helper process clears).
//! Each direction of a call's GRE is its own entry without the kernel's
//! PPTP helper, so a call's traffic is counted by conntrack at no cost per
//! packet to the helper's rules.
//! Netlink and attribute headers are in the host's byte order (`nfnl`),
//! the values inside the attributes big-endian. The socket is
//! `os::conntrack`.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::net::Ipv4Addr;

use netlink_packet_core::NlasIterator;

use super::nfnl::{
    Attr, Dump, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NfGen, each_message, error_code, message,
    read_dump,
};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;

// enum ctattr_type, ctattr_tuple, ctattr_ip, ctattr_l4proto,
// ctattr_counters
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_TIMEOUT: u16 = 7;
const CTA_COUNTERS_ORIG: u16 = 9;
const CTA_ID: u16 = 12;
const CTA_TUPLE_MASTER: u16 = 14;
const CTA_ZONE: u16 = 18;
const CTA_FILTER: u16 = 25;
const CTA_FILTER_ORIG_FLAGS: u16 = 1;
/// `CTA_FILTER_F_CTA_PROTO_NUM`: the dump filter's flag for "the original
/// tuple's protocol is the one given" (part of the ABI, not exported in
/// the uapi headers).
const CTA_FILTER_F_PROTO_NUM: u32 = 1 << 3;
/// `IPS_DST_NAT` of enum ip_conntrack_status.
const IPS_DST_NAT: u32 = 1 << 5;
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

/// A conntrack tuple of PPTP GRE. Without the kernel's PPTP helper the
/// source key is 0 and the destination key is the packet's Call ID
/// (RFC 2637 §4.1: the receiver's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GreTuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_key: u16,
    pub dst_key: u16,
}

/// Which of an entry's two tuples a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Original,
    Reply,
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

/// One ctnetlink message about IPv4 entries.
fn ct_message(ty: u16, flags: u16, seq: u32, attrs: &[Attr]) -> Vec<u8> {
    let mut out = Vec::new();
    let nfgen = NfGen {
        family: AF_INET,
        res_id: 0,
    };
    message(
        &mut out,
        (NFNL_SUBSYS_CTNETLINK << 8) | ty,
        flags,
        seq,
        nfgen,
        attrs,
    );
    out
}

fn be_of<const N: usize>(v: &[u8]) -> Option<[u8; N]> {
    v.get(..N)?.try_into().ok()
}

/// Packets and bytes of a CTA_COUNTERS_* attribute's value.
fn counters(v: &[u8]) -> Option<(u64, u64)> {
    let (mut packets, mut bytes) = (0, 0);
    for c in NlasIterator::new(v) {
        let c = c.ok()?;
        let n = be_of::<8>(c.value()).map(u64::from_be_bytes);
        // The kind without NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        match c.kind() & 0x3fff {
            CTA_COUNTERS_PACKETS => packets = n?,
            CTA_COUNTERS_BYTES => bytes = n?,
            _ => {}
        }
    }
    Some((packets, bytes))
}

/// One GRE entry of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: u32,
    pub orig: GreTuple,
    pub reply: GreTuple,
    /// The original direction's destination was rewritten (`IPS_DST_NAT`).
    pub dnat: bool,
    /// Expected by a conntrack helper's master connection (the kernel's
    /// PPTP helper): never the helper's own.
    pub master: bool,
    pub zone: u16,
    /// What the original direction counted (0 with accounting off).
    pub packets: u64,
    pub bytes: u64,
    /// Seconds until the entry times out. Only a packet moves it up (GRE's
    /// timeout restarts with each one), so it tells a new entry from an
    /// old one of the same id and count.
    pub timeout: u32,
}

impl Entry {
    /// Whether this is the inbound GRE of a call the helper does not have:
    /// addressed to `public` with a Call ID, DNATed without a master
    /// connection (the helper's own map), and not to the host that `owner`
    /// names for its (server, public Call ID). Such an entry would carry a
    /// new call's GRE to the old call's host until the GRE timeout.
    pub fn stale_inbound(
        &self,
        public: Ipv4Addr,
        owner: impl Fn(Ipv4Addr, u16) -> Option<Ipv4Addr>,
    ) -> bool {
        self.dnat
            && !self.master
            && self.orig.dst == public
            && self.orig.dst_key != 0
            && owner(self.orig.src, self.orig.dst_key) != Some(self.reply.src)
    }
}

/// A request for every IPv4 GRE entry: a dump that the kernel filters on
/// the original tuple's protocol (`CTA_FILTER`), so that the rest of the
/// table costs a compare each and never reaches the helper. A kernel
/// without the filter ignores it and dumps every IPv4 entry; [`dumped`]
/// reads only the GRE ones.
pub fn dump_request(seq: u32) -> Vec<u8> {
    let gre = Attr::Nested(
        CTA_TUPLE_ORIG,
        vec![Attr::Nested(
            CTA_TUPLE_PROTO,
            vec![Attr::Bytes(CTA_PROTO_NUM, vec![IPPROTO_GRE])],
        )],
    );
    // The flags are in the host's byte order (nla_get_u32).
    let filter = Attr::Nested(
        CTA_FILTER,
        vec![Attr::Bytes(
            CTA_FILTER_ORIG_FLAGS,
            CTA_FILTER_F_PROTO_NUM.to_ne_bytes().to_vec(),
        )],
    );
    ct_message(
        IPCTNL_MSG_CT_GET,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &[gre, filter],
    )
}

/// A request to delete `e`, acknowledged. Its id goes with it, so an entry
/// made since the dump with the same tuple stays (ENOENT).
pub fn delete(seq: u32, e: &Entry) -> Vec<u8> {
    let mut attrs = vec![
        tuple_attr(CTA_TUPLE_ORIG, &e.orig),
        Attr::Bytes(CTA_ID, e.id.to_be_bytes().to_vec()),
    ];
    if e.zone != 0 {
        attrs.push(Attr::Bytes(CTA_ZONE, e.zone.to_be_bytes().to_vec()));
    }
    ct_message(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq, &attrs)
}

/// The acknowledgements in one datagram, each with its request's sequence
/// number: 0 when a deletion removed its entry, else a negative errno
/// (ENOENT: gone already, or another entry with that tuple now).
pub fn acks(buf: &[u8]) -> Vec<(u32, i32)> {
    each_message(buf)
        .filter_map(|m| Some((m.sequence_number(), error_code(&m)?)))
        .collect()
}

/// (protocol, tuple) of a CTA_TUPLE_* attribute's value.
fn tuple(v: &[u8]) -> Option<(u8, GreTuple)> {
    let (mut proto, mut src, mut dst, mut src_key, mut dst_key) = (None, None, None, 0, 0);
    for a in NlasIterator::new(v) {
        let a = a.ok()?;
        match a.kind() & 0x3fff {
            CTA_TUPLE_IP => {
                for ip in NlasIterator::new(a.value()) {
                    let ip = ip.ok()?;
                    let addr = be_of::<4>(ip.value()).map(Ipv4Addr::from);
                    match ip.kind() & 0x3fff {
                        CTA_IP_V4_SRC => src = addr,
                        CTA_IP_V4_DST => dst = addr,
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for p in NlasIterator::new(a.value()) {
                    let p = p.ok()?;
                    let key = be_of::<2>(p.value()).map(u16::from_be_bytes);
                    match p.kind() & 0x3fff {
                        CTA_PROTO_NUM => proto = p.value().first().copied(),
                        CTA_PROTO_SRC_PORT => src_key = key?,
                        CTA_PROTO_DST_PORT => dst_key = key?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some((
        proto?,
        GreTuple {
            src: src?,
            dst: dst?,
            src_key,
            dst_key,
        },
    ))
}

/// The GRE entry in a dumped message's attributes; None for any other
/// protocol or a malformed entry.
fn entry(attrs: &[u8]) -> Option<Entry> {
    let (mut id, mut orig, mut reply) = (None, None, None);
    let (mut status, mut master, mut zone) = (0, false, 0);
    let (mut packets, mut bytes, mut timeout) = (0, 0, 0);
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        match a.kind() & 0x3fff {
            CTA_ID => id = be_of::<4>(a.value()).map(u32::from_be_bytes),
            CTA_TUPLE_ORIG => orig = tuple(a.value()),
            CTA_TUPLE_REPLY => reply = tuple(a.value()),
            CTA_STATUS => status = be_of::<4>(a.value()).map(u32::from_be_bytes)?,
            CTA_TIMEOUT => timeout = be_of::<4>(a.value()).map(u32::from_be_bytes)?,
            CTA_TUPLE_MASTER => master = true,
            CTA_ZONE => zone = be_of::<2>(a.value()).map(u16::from_be_bytes)?,
            CTA_COUNTERS_ORIG => (packets, bytes) = counters(a.value())?,
            _ => {}
        }
    }
    let ((IPPROTO_GRE, orig), (IPPROTO_GRE, reply)) = (orig?, reply?) else {
        return None;
    };
    Some(Entry {
        id: id?,
        orig,
        reply,
        dnat: status & IPS_DST_NAT != 0,
        master,
        zone,
        packets,
        bytes,
        timeout,
    })
}

/// Read one datagram of a dump: its GRE entries (others are skipped).
/// Never panics.
pub fn dumped(buf: &[u8]) -> Dump<Entry> {
    read_dump(buf, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::nfnl::{NLMSG_DONE, NLMSG_ERROR};
    use crate::testutil::with_bytes_flipped;

    /// The dump's request pinned byte for byte for each host byte order:
    /// the kernel's filter is what keeps the rest of the table away.
    #[test]
    fn dump_request_bytes_per_host_byte_order() {
        let got = dump_request(0x0102_0304);
        let nla = |len: u16, ty: u16| -> [u8; 4] {
            #[cfg(target_endian = "little")]
            let b = [len.to_le_bytes(), ty.to_le_bytes()];
            #[cfg(target_endian = "big")]
            let b = [len.to_be_bytes(), ty.to_be_bytes()];
            [b[0][0], b[0][1], b[1][0], b[1][1]]
        };
        let attrs: Vec<u8> = [
            nla(16, 1 | 0x8000).to_vec(),  // CTA_TUPLE_ORIG, nested
            nla(12, 2 | 0x8000).to_vec(),  // CTA_TUPLE_PROTO
            nla(5, 1).to_vec(),            // CTA_PROTO_NUM
            vec![47, 0, 0, 0],             // GRE, padded
            nla(12, 25 | 0x8000).to_vec(), // CTA_FILTER
            nla(8, 1).to_vec(),            // CTA_FILTER_ORIG_FLAGS
            8u32.to_ne_bytes().to_vec(),   // the protocol number's flag
        ]
        .concat();
        #[cfg(target_endian = "little")]
        let head: [u8; 20] = [
            48, 0, 0, 0, // nlmsg_len
            1, 1, // (CTNETLINK << 8) | GET
            1, 3, // NLM_F_REQUEST | NLM_F_DUMP
            4, 3, 2, 1, // seq
            0, 0, 0, 0, // pid
            2, 0, 0, 0, // AF_INET, v0, res_id
        ];
        #[cfg(target_endian = "big")]
        let head: [u8; 20] = [
            0, 0, 0, 48, // nlmsg_len
            1, 1, // (CTNETLINK << 8) | GET
            3, 1, // NLM_F_REQUEST | NLM_F_DUMP
            1, 2, 3, 4, // seq
            0, 0, 0, 0, // pid
            2, 0, 0, 0, // AF_INET, v0, res_id
        ];
        assert_eq!(got[..20], head);
        assert_eq!(got[20..], attrs[..]);
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

    fn error(seq: u32, code: i32) -> Vec<u8> {
        let mut body = code.to_ne_bytes().to_vec();
        body.extend([0u8; 16]);
        msg(NLMSG_ERROR, seq, &body)
    }

    fn tuple_value(proto: u8, t: &GreTuple) -> Vec<u8> {
        let mut ip = attr(CTA_IP_V4_SRC, &t.src.octets());
        ip.extend(attr(CTA_IP_V4_DST, &t.dst.octets()));
        let mut l4 = attr(CTA_PROTO_NUM, &[proto]);
        l4.extend(attr(CTA_PROTO_SRC_PORT, &t.src_key.to_be_bytes()));
        l4.extend(attr(CTA_PROTO_DST_PORT, &t.dst_key.to_be_bytes()));
        let mut v = attr(CTA_TUPLE_IP | 0x8000, &ip);
        v.extend(attr(CTA_TUPLE_PROTO | 0x8000, &l4));
        v
    }

    /// A dumped entry as ctnetlink writes one (CTA_STATUS with
    /// IPS_CONFIRMED, 0x8, always set).
    fn dump_message(proto: u8, e: &Entry) -> Vec<u8> {
        let mut body = vec![2, 0, 0, 0];
        body.extend(attr(CTA_TUPLE_ORIG | 0x8000, &tuple_value(proto, &e.orig)));
        body.extend(attr(
            CTA_TUPLE_REPLY | 0x8000,
            &tuple_value(proto, &e.reply),
        ));
        let status = if e.dnat { IPS_DST_NAT | 0x8 } else { 0x8 };
        body.extend(attr(CTA_STATUS, &status.to_be_bytes()));
        body.extend(attr(CTA_TIMEOUT, &e.timeout.to_be_bytes()));
        if e.master {
            body.extend(attr(CTA_TUPLE_MASTER | 0x8000, &tuple_value(6, &e.orig)));
        }
        if e.zone != 0 {
            body.extend(attr(CTA_ZONE, &e.zone.to_be_bytes()));
        }
        // Counters as the kernel writes them (NLA_F_NET_BYTEORDER set);
        // none where accounting is off.
        if e.packets != 0 {
            let mut c = attr(CTA_COUNTERS_PACKETS | 0x4000, &e.packets.to_be_bytes());
            c.extend(attr(CTA_COUNTERS_BYTES | 0x4000, &e.bytes.to_be_bytes()));
            body.extend(attr(CTA_COUNTERS_ORIG | 0x8000, &c));
        }
        body.extend(attr(CTA_ID, &e.id.to_be_bytes()));
        msg(0x0100, 7, &body)
    }

    const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    const PUBLIC: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
    const HOST_A: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
    const HOST_B: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 11);

    /// The inbound entry of a call with public Call ID 4660, DNATed to A
    /// (conntrack keeps the key: without a master it never rewrites one).
    const INBOUND: Entry = Entry {
        id: 0x0a0b_0c0d,
        orig: GreTuple {
            src: SERVER,
            dst: PUBLIC,
            src_key: 0,
            dst_key: 4660,
        },
        reply: GreTuple {
            src: HOST_A,
            dst: SERVER,
            src_key: 4660,
            dst_key: 0,
        },
        dnat: true,
        master: false,
        zone: 0,
        packets: 200,
        bytes: 0x1_0000_0010,
        timeout: 29,
    };

    #[test]
    fn dump_reads_gre_entries_only() {
        // With accounting off the kernel writes no counters: 0.
        let outbound = Entry {
            orig: INBOUND.reply,
            reply: INBOUND.orig,
            dnat: false,
            id: 9,
            packets: 0,
            bytes: 0,
            ..INBOUND
        };
        let zoned = Entry {
            zone: 3,
            master: true,
            ..INBOUND
        };
        let mut b = dump_message(IPPROTO_GRE, &INBOUND);
        b.extend(dump_message(6, &INBOUND)); // TCP: skipped
        b.extend(dump_message(IPPROTO_GRE, &outbound));
        b.extend(dump_message(IPPROTO_GRE, &zoned));
        assert_eq!(
            dumped(&b),
            Dump {
                items: vec![INBOUND, outbound, zoned],
                done: false,
                error: None
            }
        );
        let mut end = b.clone();
        end.extend(msg(NLMSG_DONE, 7, &0i32.to_ne_bytes()));
        assert!(dumped(&end).done);
        assert_eq!(dumped(&error(7, -1)).error, Some(-1));
        // An entry without its id or status is not taken.
        let whole = dump_message(IPPROTO_GRE, &INBOUND);
        let no_id = &whole[..whole.len() - 8];
        let mut fixed = no_id.to_vec();
        fixed[..4].copy_from_slice(&(no_id.len() as u32).to_ne_bytes());
        assert!(dumped(&fixed).items.is_empty());
    }

    #[test]
    fn stale_inbound_is_a_dnat_to_another_host_or_to_no_call() {
        let owner_a = |s: Ipv4Addr, k: u16| (s == SERVER && k == 4660).then_some(HOST_A);
        let owner_b = |s: Ipv4Addr, k: u16| (s == SERVER && k == 4660).then_some(HOST_B);
        let none = |_: Ipv4Addr, _: u16| None;
        // The call is the helper's, to the same host: kept.
        assert!(!INBOUND.stale_inbound(PUBLIC, owner_a));
        // Another host has that (server, Call ID) now, or no call has.
        assert!(INBOUND.stale_inbound(PUBLIC, owner_b));
        assert!(INBOUND.stale_inbound(PUBLIC, none));
        // Never: an entry to another address, one without DNAT (the
        // outbound direction, or GRE to the router itself), one a helper
        // expected (the kernel's PPTP helper), or one without a Call ID.
        assert!(!INBOUND.stale_inbound(Ipv4Addr::new(203, 0, 113, 3), none));
        let plain = Entry {
            dnat: false,
            ..INBOUND
        };
        assert!(!plain.stale_inbound(PUBLIC, none));
        let expected = Entry {
            master: true,
            ..INBOUND
        };
        assert!(!expected.stale_inbound(PUBLIC, none));
        let v0 = Entry {
            orig: GreTuple {
                dst_key: 0,
                ..INBOUND.orig
            },
            ..INBOUND
        };
        assert!(!v0.stale_inbound(PUBLIC, none));
    }

    #[test]
    fn dump_and_delete_requests() {
        let d = dump_request(5);
        let m = each_message(&d).next().unwrap();
        assert_eq!(
            (m.message_type(), m.flags(), m.sequence_number()),
            (0x0101, NLM_F_REQUEST | NLM_F_DUMP, 5)
        );
        assert_eq!(m.payload()[..4], [AF_INET, 0, 0, 0]);
        for zone in [0, 3] {
            let e = Entry { zone, ..INBOUND };
            let b = delete(6, &e);
            let ms: Vec<_> = each_message(&b).collect();
            assert_eq!(ms.len(), 1);
            let m = &ms[0];
            assert_eq!(
                (m.message_type(), m.flags(), m.sequence_number()),
                (0x0102, NLM_F_REQUEST | NLM_F_ACK, 6)
            );
            let mut seen = (None, None, None);
            for a in NlasIterator::new(&m.payload()[4..]) {
                let a = a.unwrap();
                match a.kind() & 0x3fff {
                    CTA_TUPLE_ORIG => seen.0 = tuple(a.value()),
                    CTA_ID => seen.1 = Some(a.value().to_vec()),
                    CTA_ZONE => seen.2 = Some(a.value().to_vec()),
                    k => panic!("attribute {k}"),
                }
            }
            assert_eq!(seen.0, Some((IPPROTO_GRE, INBOUND.orig)));
            assert_eq!(seen.1, Some(vec![0x0a, 0x0b, 0x0c, 0x0d]));
            assert_eq!(seen.2, (zone != 0).then(|| vec![0, 3]));
        }
        // Acknowledgements: removed, gone already (ENOENT), removed.
        let mut acks = error(6, 0);
        acks.extend(error(7, -2));
        acks.extend(error(8, 0));
        assert_eq!(super::acks(&acks), [(6, 0), (7, -2), (8, 0)]);
        assert!(super::acks(&[]).is_empty());
    }

    #[test]
    fn dump_survives_truncation_and_garbage() {
        let whole = dump_message(IPPROTO_GRE, &INBOUND);
        for n in 0..whole.len() {
            let d = dumped(&whole[..n]);
            assert!(d.items.is_empty(), "a cut entry read at {n}");
        }
        with_bytes_flipped(&whole, 0x2545_f491, |b| {
            let _ = dumped(b);
        });
    }
}
