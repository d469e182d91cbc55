//! Call map changes as one nf_tables netlink batch (NFT_MSG_NEWSETELEM and
//! NFT_MSG_DELSETELEM between NFNL_MSG_BATCH_BEGIN and _END), for the
//! helper's own netlink socket: no listing, no cache, one round trip. The
//! same elements as the JSON batch in `elements`, byte for byte what nft
//! itself sends (linux/netfilter/nf_tables.h, libnftnl's udata comment).
//!
//! Refreshes (a delete and an add of each element) stay on the JSON path (`encodable`).
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::net::Ipv4Addr;

use super::elements::{PENDING, PENDING_TIMEOUT, comment};
pub use super::nfnl::acks;
use super::nfnl::udata_comment;
use super::nfnl::{Attr, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NfGen, message, string};
use super::{MAP_CID, MAP_DNAT, SET_IN, SET_OUT, TABLE};
use crate::nat::{Change, Mapping};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_IPV4: u8 = 2;

// enum nft_set_elem_list_attributes, nft_list_attributes,
// nft_set_elem_attributes, nft_data_attributes.
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const NFTA_DATA_VALUE: u16 = 1;

/// A key of `ip saddr . @th,48,16`: each part padded to 32 bits, as the
/// kernel lays out concatenations in its registers.
fn key(ip: Ipv4Addr, id: u16) -> Attr {
    let mut v = ip.octets().to_vec();
    v.extend(id.to_be_bytes());
    v.extend([0, 0]);
    Attr::Nested(NFTA_SET_ELEM_KEY, vec![Attr::Bytes(NFTA_DATA_VALUE, v)])
}

fn data(bytes: Vec<u8>) -> Attr {
    Attr::Nested(
        NFTA_SET_ELEM_DATA,
        vec![Attr::Bytes(NFTA_DATA_VALUE, bytes)],
    )
}

fn timeout(secs: u32) -> Attr {
    Attr::Bytes(
        NFTA_SET_ELEM_TIMEOUT,
        (u64::from(secs) * 1000).to_be_bytes().to_vec(),
    )
}

/// One element message: `set`, one element made of `parts`.
#[derive(Debug, Clone)]
struct ElemMsg {
    new: bool,
    set: &'static str,
    parts: Vec<Attr>,
}

fn add(set: &'static str, parts: Vec<Attr>) -> ElemMsg {
    ElemMsg {
        new: true,
        set,
        parts,
    }
}

fn del(set: &'static str, ip: Ipv4Addr, id: u16) -> ElemMsg {
    ElemMsg {
        new: false,
        set,
        parts: vec![key(ip, id)],
    }
}

fn inbound_adds(m: &Mapping, secs: u32, text: String) -> Vec<ElemMsg> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        add(
            MAP_DNAT,
            vec![
                key(r, p),
                data(m.lan_ip().octets().to_vec()),
                timeout(secs),
                udata_comment(NFTA_SET_ELEM_USERDATA, &text),
            ],
        ),
        add(
            MAP_CID,
            vec![
                key(r, p),
                data(m.lan_cid.to_be_bytes().to_vec()),
                timeout(secs),
            ],
        ),
        add(SET_IN, vec![key(r, p), timeout(secs)]),
    ]
}

fn adds(m: &Mapping, secs: u32) -> Vec<ElemMsg> {
    let mut v = inbound_adds(m, secs, comment(m));
    v.push(add(
        SET_OUT,
        vec![key(m.remote_ip(), m.peer_cid), timeout(secs)],
    ));
    v
}

fn inbound_deletes(m: &Mapping) -> Vec<ElemMsg> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![del(MAP_DNAT, r, p), del(MAP_CID, r, p), del(SET_IN, r, p)]
}

/// Whether `changes` can go as one netlink batch (refreshes cannot).
pub fn encodable(changes: &[Change]) -> bool {
    !changes.iter().any(|c| matches!(c, Change::Refresh(_)))
}

/// The batch for `changes` (none of them a refresh), sequence numbers from
/// `seq`; returns the bytes and how many acknowledgements to expect (0 or
/// 1). Only the last element message asks for one: a batch of hundreds of
/// acknowledgements overflowed the socket, and the kernel reports every
/// failing message anyway, before that last acknowledgement.
pub fn batch(changes: &[Change], element_timeout: u32, seq: u32) -> (Vec<u8>, u32) {
    let mut msgs = Vec::new();
    for c in changes {
        match c {
            Change::Add(m) => msgs.extend(adds(m, element_timeout)),
            Change::Remove(m) => {
                msgs.extend(inbound_deletes(m));
                msgs.push(del(SET_OUT, m.remote_ip(), m.peer_cid));
            }
            Change::Expect(m) => msgs.extend(inbound_adds(
                m,
                PENDING_TIMEOUT,
                format!("{PENDING} {}", comment(m)),
            )),
            Change::Promote(m) => {
                msgs.extend(inbound_deletes(m));
                msgs.extend(adds(m, element_timeout));
            }
            Change::Unexpect(m) => msgs.extend(inbound_deletes(m)),
            Change::Refresh(_) => {}
        }
    }
    let mut out = Vec::new();
    let mut s = seq;
    // Batch markers name the subsystem in res_id.
    let marker = NfGen {
        family: 0,
        res_id: NFNL_SUBSYS_NFTABLES,
    };
    let elements = NfGen {
        family: NFPROTO_IPV4,
        res_id: 0,
    };
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        s,
        marker,
        &[],
    );
    for (i, m) in msgs.iter().enumerate() {
        s = s.wrapping_add(1);
        let ack = if i.saturating_add(1) == msgs.len() {
            NLM_F_ACK
        } else {
            0
        };
        let attrs = [
            string(NFTA_SET_ELEM_LIST_TABLE, TABLE),
            string(NFTA_SET_ELEM_LIST_SET, m.set),
            Attr::Nested(
                NFTA_SET_ELEM_LIST_ELEMENTS,
                vec![Attr::Nested(NFTA_LIST_ELEM, m.parts.clone())],
            ),
        ];
        let (ty, flags) = if m.new {
            (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE | ack)
        } else {
            (NFT_MSG_DELSETELEM, NLM_F_REQUEST | ack)
        };
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | ty;
        message(&mut out, ty, flags, s, elements, &attrs);
    }
    s = s.wrapping_add(1);
    message(&mut out, NFNL_MSG_BATCH_END, NLM_F_REQUEST, s, marker, &[]);
    (out, u32::from(!msgs.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::elements::tests::m;
    use crate::netfilter::nfnl::each_message;
    use crate::testutil::hex;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes([b[at], b[at + 1]])
    }

    /// The messages: (type, flags, seq, family, payload after nfgenmsg).
    fn messages(b: &[u8]) -> Vec<(u16, u16, u32, u8, Vec<u8>)> {
        each_message(b)
            .map(|m| {
                let p = m.payload();
                let (ty, flags, seq) = (m.message_type(), m.flags(), m.sequence_number());
                (ty, flags, seq, p[0], p[4..].to_vec())
            })
            .collect()
    }

    #[test]
    fn add_is_begin_four_elements_end() {
        let (b, n) = batch(&[Change::Add(m())], 3600, 100);
        assert_eq!(n, 1, "one acknowledgement: the last element's");
        let ms = messages(&b);
        assert_eq!(ms.len(), 6);
        assert_eq!((ms[0].0, ms[0].2, ms[0].3), (0x10, 100, 0));
        assert_eq!((ms[5].0, ms[5].2), (0x11, 105));
        // The batch begin names the nf_tables subsystem (res_id, big-endian).
        assert_eq!(&b[18..20], &[0, 10]);
        for (i, set) in [MAP_DNAT, MAP_CID, SET_IN, SET_OUT].iter().enumerate() {
            let (ty, flags, seq, fam, p) = &ms[i + 1];
            assert_eq!(*ty, 0x0a0c, "NEWSETELEM");
            let ack = if i == 3 { 4 } else { 0 };
            assert_eq!(*flags, 1 | ack | 0x400);
            assert_eq!(*seq, 101 + i as u32);
            assert_eq!(*fam, 2);
            // Table then set name, NUL-terminated, each padded to 4 bytes.
            assert_eq!(u16_at(p, 2), 1);
            assert_eq!(&p[4..21], b"pptp_passthrough\0");
            let s = &p[24..];
            assert_eq!(u16_at(s, 2), 2);
            assert_eq!(&s[4..4 + set.len()], set.as_bytes());
        }
    }

    #[test]
    fn element_bytes_key_data_timeout_comment() {
        let (b, _) = batch(&[Change::Add(m())], 3600, 1);
        let dnat = &messages(&b)[1].4;
        let key = [198u8, 51, 100, 10, 0x03, 0xe9, 0, 0];
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(find(dnat, &key), "concat key, 32-bit parts");
        assert!(find(dnat, &[192, 168, 1, 10]), "DNAT target");
        assert!(find(dnat, &3_600_000u64.to_be_bytes()), "timeout in ms");
        let c = comment(&m());
        let mut udata = vec![0u8, c.len() as u8 + 1];
        udata.extend(c.as_bytes());
        udata.push(0);
        assert!(find(dnat, &udata), "comment as libnftnl udata");
        let cid = &messages(&b)[2].4;
        // The nested data attribute: header (len 6, NFTA_DATA_VALUE) in the
        // host's byte order, then 4660 big-endian.
        let mut data = [6u16.to_ne_bytes(), 1u16.to_ne_bytes()].concat();
        data.extend([0x12, 0x34]);
        assert!(find(cid, &data), "restored Call ID");
        // The guard's set: the inbound key, the timeout, nothing else.
        let inb = &messages(&b)[3].4;
        assert!(find(inb, &key) && find(inb, &3_600_000u64.to_be_bytes()));
        assert!(!find(inb, &udata), "no comment on the guard's set");
        let out = &messages(&b)[4].4;
        assert!(find(out, &[198, 51, 100, 10, 0, 77, 0, 0]), "outbound key");
    }

    #[test]
    fn removals_and_promotions() {
        let (b, n) = batch(&[Change::Remove(m())], 60, 1);
        assert_eq!(n, 1);
        let ms = messages(&b);
        assert!(ms[1..5].iter().all(|x| x.0 == 0x0a0e));
        assert_eq!([ms[1].1, ms[2].1, ms[3].1, ms[4].1], [1, 1, 1, 1 | 4]);
        let (b, _) = batch(&[Change::Promote(m())], 60, 1);
        let tys: Vec<u16> = messages(&b).iter().map(|x| x.0 & 0xff).collect();
        assert_eq!(tys, [0x10, 14, 14, 14, 12, 12, 12, 12, 0x11]);
        let (b, _) = batch(&[Change::Expect(m()), Change::Unexpect(m())], 60, 1);
        assert_eq!(messages(&b).len(), 8);
        assert_eq!(batch(&[], 60, 1).1, 0);
        assert!(!encodable(&[Change::Refresh(m())]));
        assert!(encodable(&[Change::Add(m()), Change::Remove(m())]));
    }

    /// The batch marker and a whole DELSETELEM, byte for byte, for each
    /// host byte order: netlink and attribute headers in the host's order,
    /// nfgenmsg's res_id and the key (address, Call ID) big-endian.
    #[test]
    fn marker_and_delete_bytes_per_host_byte_order() {
        let (b, _) = batch(&[Change::Remove(m())], 60, 7);
        #[cfg(target_endian = "little")]
        let (begin, del) = (
            hex("14000000 1000 0100 07000000 00000000  00 00 000a"),
            hex("54000000 0e0a 0100 08000000 00000000  02 00 0000
                 1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
                 0d00 0200 6772655f 646e6174 00000000                    # set
                 1800 0380 1400 0180 1000 0180 0c00 0100                 # elements, elem, key, value
                 c633640a 03e9 0000                                      # 198.51.100.10 . 1001"),
        );
        #[cfg(target_endian = "big")]
        let (begin, del) = (
            hex("00000014 0010 0001 00000007 00000000  00 00 000a"),
            hex("00000054 0a0e 0001 00000008 00000000  02 00 0000
                 0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
                 000d 0002 6772655f 646e6174 00000000                    # set
                 0018 8003 0014 8001 0010 8001 000c 0001                 # elements, elem, key, value
                 c633640a 03e9 0000                                      # 198.51.100.10 . 1001"),
        );
        assert_eq!(&b[..20], &begin[..]);
        assert_eq!(&b[20..104], &del[..]);
    }
}
