//! Call map changes as one nf_tables netlink batch (NFT_MSG_NEWSETELEM and
//! NFT_MSG_DELSETELEM between NFNL_MSG_BATCH_BEGIN and _END), for the
//! helper's own netlink socket: no listing, no cache, one round trip. The
//! same elements as the JSON batch in `elements`, byte for byte what nft
//! itself sends (linux/netfilter/nf_tables.h, libnftnl's udata comment).
//!
//! Refreshes carry counters over and stay on the JSON path (`encodable`).

use std::net::Ipv4Addr;

use netlink_packet_core::{Emitable, NLA_F_NESTED, NetlinkBuffer, NetlinkHeader, Nla};

use super::elements::{PENDING, PENDING_TIMEOUT, comment};
use super::{MAP_CID, MAP_DNAT, SET_OUT, TABLE};
use crate::nat::{Change, Mapping};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_IPV4: u8 = 2;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;

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
/// libnftnl's NFTNL_UDATA_SET_ELEM_COMMENT: how `comment "…"` is stored.
const UDATA_SET_ELEM_COMMENT: u8 = 0;

/// An attribute: bytes, or nested attributes.
#[derive(Debug, Clone)]
enum Attr {
    Bytes(u16, Vec<u8>),
    Nested(u16, Vec<Attr>),
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Bytes(_, v) => v.len(),
            Attr::Nested(_, v) => v.iter().map(Emitable::buffer_len).sum(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            Attr::Bytes(k, _) => *k,
            Attr::Nested(k, _) => *k | NLA_F_NESTED,
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::Bytes(_, v) => buffer.copy_from_slice(v),
            Attr::Nested(_, v) => {
                let mut at = 0;
                for a in v {
                    let n = a.buffer_len();
                    a.emit(&mut buffer[at..at + n]);
                    at += n;
                }
            }
        }
    }
}

fn string(kind: u16, s: &str) -> Attr {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    Attr::Bytes(kind, v)
}

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

fn user_comment(text: &str) -> Attr {
    // type, length (with the NUL), text, NUL; nft keeps comments short.
    let text = &text.as_bytes()[..text.len().min(126)];
    let mut v = vec![UDATA_SET_ELEM_COMMENT, text.len() as u8 + 1];
    v.extend(text);
    v.push(0);
    Attr::Bytes(NFTA_SET_ELEM_USERDATA, v)
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
                user_comment(&text),
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
    vec![del(MAP_DNAT, r, p), del(MAP_CID, r, p)]
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
    message(&mut out, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, s, 0, &[]);
    for (i, m) in msgs.iter().enumerate() {
        s = s.wrapping_add(1);
        let ack = if i + 1 == msgs.len() { NLM_F_ACK } else { 0 };
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
        message(&mut out, ty, flags, s, NFPROTO_IPV4, &attrs);
    }
    s = s.wrapping_add(1);
    message(&mut out, NFNL_MSG_BATCH_END, NLM_F_REQUEST, s, 0, &[]);
    (out, u32::from(!msgs.is_empty()))
}

/// Append one netlink message: header, nfgenmsg, attributes. Batch
/// markers carry the subsystem in nfgenmsg's res_id (big-endian).
fn message(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8, attrs: &[Attr]) {
    let body: usize = attrs.iter().map(Emitable::buffer_len).sum();
    let len = 16 + 4 + body;
    let start = out.len();
    out.resize(start + len, 0);
    let mut hdr = NetlinkHeader::default();
    hdr.length = len as u32;
    hdr.message_type = ty;
    hdr.flags = flags;
    hdr.sequence_number = seq;
    hdr.emit(&mut out[start..start + 16]);
    let res_id = if family == 0 { NFNL_SUBSYS_NFTABLES } else { 0 };
    out[start + 16] = family;
    out[start + 17] = 0; // NFNETLINK_V0
    out[start + 18..start + 20].copy_from_slice(&res_id.to_be_bytes());
    let mut at = start + 20;
    for a in attrs {
        let n = a.buffer_len();
        a.emit(&mut out[at..at + n]);
        at += n;
    }
}

/// Read the acknowledgements in `buf`: the number seen and the first error
/// (a negative errno) if any.
pub fn acks(buf: &[u8]) -> (u32, Option<i32>) {
    let (mut seen, mut err) = (0, None);
    let mut at = 0;
    while let Some(rest) = buf.get(at..) {
        let Ok(m) = NetlinkBuffer::new_checked(rest) else {
            break;
        };
        let len = m.length() as usize;
        if m.message_type() == NLMSG_ERROR {
            seen += 1;
            let code = m
                .payload()
                .get(..4)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(-1);
            if code != 0 && err.is_none() {
                err = Some(code);
            }
        }
        if len == 0 {
            break;
        }
        at += (len + 3) & !3;
    }
    (seen, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::elements::tests::m;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes([b[at], b[at + 1]])
    }

    /// Walk the messages: (type, flags, seq, family, payload after nfgenmsg).
    fn messages(b: &[u8]) -> Vec<(u16, u16, u32, u8, Vec<u8>)> {
        let mut v = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let m = NetlinkBuffer::new_checked(&b[at..]).unwrap();
            let p = m.payload();
            v.push((
                m.message_type(),
                m.flags(),
                m.sequence_number(),
                p[0],
                p[4..].to_vec(),
            ));
            at += m.length() as usize;
        }
        v
    }

    #[test]
    fn add_is_begin_three_elements_end() {
        let (b, n) = batch(&[Change::Add(m())], 3600, 100);
        assert_eq!(n, 1, "one acknowledgement: the last element's");
        let ms = messages(&b);
        assert_eq!(ms.len(), 5);
        assert_eq!((ms[0].0, ms[0].2, ms[0].3), (0x10, 100, 0));
        assert_eq!((ms[4].0, ms[4].2), (0x11, 104));
        // The batch begin names the nf_tables subsystem (res_id, big-endian).
        assert_eq!(&b[18..20], &[0, 10]);
        for (i, set) in [MAP_DNAT, MAP_CID, SET_OUT].iter().enumerate() {
            let (ty, flags, seq, fam, p) = &ms[i + 1];
            assert_eq!(*ty, 0x0a0c, "NEWSETELEM");
            let ack = if i == 2 { 4 } else { 0 };
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
        // The nested data attribute: header (len 6, NFTA_DATA_VALUE), 4660.
        assert!(find(cid, &[6, 0, 1, 0, 0x12, 0x34]), "restored Call ID");
        let out = &messages(&b)[3].4;
        assert!(find(out, &[198, 51, 100, 10, 0, 77, 0, 0]), "outbound key");
    }

    #[test]
    fn removals_and_promotions() {
        let (b, n) = batch(&[Change::Remove(m())], 60, 1);
        assert_eq!(n, 1);
        let ms = messages(&b);
        assert!(ms[1..4].iter().all(|x| x.0 == 0x0a0e));
        assert_eq!([ms[1].1, ms[2].1, ms[3].1], [1, 1, 1 | 4]);
        let (b, _) = batch(&[Change::Promote(m())], 60, 1);
        let tys: Vec<u16> = messages(&b).iter().map(|x| x.0 & 0xff).collect();
        assert_eq!(tys, [0x10, 14, 14, 12, 12, 12, 0x11]);
        let (b, _) = batch(&[Change::Expect(m()), Change::Unexpect(m())], 60, 1);
        assert_eq!(messages(&b).len(), 6);
        assert_eq!(batch(&[], 60, 1).1, 0);
        assert!(!encodable(&[Change::Refresh(m())]));
        assert!(encodable(&[Change::Add(m()), Change::Remove(m())]));
    }

    #[test]
    fn acks_count_and_first_error() {
        let ack = |code: i32| {
            let mut v = vec![0u8; 36];
            v[..4].copy_from_slice(&36u32.to_ne_bytes());
            v[4..6].copy_from_slice(&2u16.to_ne_bytes());
            v[16..20].copy_from_slice(&code.to_ne_bytes());
            v
        };
        let mut b = ack(0);
        b.extend(ack(-2));
        b.extend(ack(-17));
        assert_eq!(acks(&b), (3, Some(-2)));
        assert_eq!(acks(&ack(0)), (1, None));
        assert_eq!(acks(&[1, 2, 3]), (0, None));
    }
}
