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
use netlink_packet_core::NlasIterator;

use super::nfnl::{Attr, Dump, NLM_F_CREATE, NLM_F_REQUEST, NfGen, dump_request, transaction};
use super::nfnl::{read_dump, string, string_of, udata_comment, udata_comment_text};
use super::table::{FORWARD_CHAIN, GreLookup, forward_rules};
use super::uapi::*;
use super::{Dispatch, rulemsg};
use super::{MAP_CID, MAP_DNAT, SET_IN, SET_OUT, TABLE};
use crate::nat::{Change, Mapping};

/// The nfgenmsg of element messages.
const ELEMENTS: NfGen = NfGen {
    family: NFPROTO_IPV4,
    res_id: 0,
};

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
pub fn batch(
    changes: &[Change],
    gre_lookup: Option<GreLookup>,
    element_timeout: u32,
    seq: u32,
) -> (Vec<u8>, u32) {
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
    // Each message: type, flags (the acknowledgement comes below), attributes.
    let mut msgs: Vec<(u16, u16, Vec<Attr>)> = msgs
        .iter()
        .map(|m| {
            let attrs = vec![
                string(NFTA_SET_ELEM_LIST_TABLE, TABLE),
                string(NFTA_SET_ELEM_LIST_SET, m.set),
                Attr::Nested(
                    NFTA_SET_ELEM_LIST_ELEMENTS,
                    vec![Attr::Nested(NFTA_LIST_ELEM, m.parts.clone())],
                ),
            ];
            let (ty, flags) = if m.new {
                (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE)
            } else {
                (NFT_MSG_DELSETELEM, NLM_F_REQUEST)
            };
            ((NFNL_SUBSYS_NFTABLES << 8) | ty, flags, attrs)
        })
        .collect();
    // The forward chain's rules, after the elements they switch to. With
    // the firewall's dispatch the chain comes and goes with the lookup
    // (made first: a deletion never fails on a chain that is gone).
    if let Some(GreLookup { on, dispatch }) = gre_lookup {
        if dispatch == Dispatch::Firewall {
            msgs.push(rulemsg::forward_base_chain(FORWARD_CHAIN));
        }
        if dispatch == Dispatch::Firewall && !on {
            msgs.push(rulemsg::delete_chain(FORWARD_CHAIN));
        } else {
            let rules = forward_rules(on, dispatch);
            msgs.extend(rulemsg::replace_rules(FORWARD_CHAIN, &rules));
        }
    }
    let out = transaction(NFNL_SUBSYS_NFTABLES, &msgs, ELEMENTS, seq);
    (out, u32::from(!msgs.is_empty()))
}

/// A dump of the `gre_dnat` elements (NFT_MSG_GETSETELEM): what `status`
/// reads of every call without listing the whole table.
pub fn dnat_dump_request(seq: u32) -> Vec<u8> {
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
    let attrs = [
        string(NFTA_SET_ELEM_LIST_TABLE, TABLE),
        string(NFTA_SET_ELEM_LIST_SET, MAP_DNAT),
    ];
    dump_request(ty, seq, ELEMENTS, &attrs)
}

/// One `gre_dnat` element as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnatElem {
    /// The key: the server's address and the public Call ID.
    pub remote: Ipv4Addr,
    pub public_cid: u16,
    /// The value: the LAN host's address.
    pub lan_ip: Ipv4Addr,
    /// Milliseconds until the element expires.
    pub expires_ms: u64,
    /// The call record (see `elements::comment`).
    pub comment: String,
}

fn data_value(nested: &[u8]) -> Option<Vec<u8>> {
    NlasIterator::new(nested)
        .filter_map(Result::ok)
        .find(|a| a.kind() & 0x3fff == NFTA_DATA_VALUE)
        .map(|a| a.value().to_vec())
}

fn dnat_elem(attrs: &[u8]) -> Option<DnatElem> {
    let (mut key, mut val, mut expires_ms, mut comment) = (None, None, 0, None);
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        let v = a.value();
        match a.kind() & 0x3fff {
            NFTA_SET_ELEM_KEY => key = data_value(v),
            NFTA_SET_ELEM_DATA => val = data_value(v),
            NFTA_SET_ELEM_EXPIRATION => expires_ms = u64::from_be_bytes(v.try_into().ok()?),
            NFTA_SET_ELEM_USERDATA => comment = udata_comment_text(v),
            _ => {}
        }
    }
    let (key, val) = (key?, val?);
    let (ip, rest) = key.split_first_chunk::<4>()?;
    let (id, _pad) = rest.split_first_chunk::<2>()?;
    Some(DnatElem {
        remote: Ipv4Addr::from(*ip),
        public_cid: u16::from_be_bytes(*id),
        lan_ip: Ipv4Addr::from(<[u8; 4]>::try_from(val.as_slice()).ok()?),
        expires_ms,
        comment: comment?,
    })
}

/// The elements in one NFT_MSG_NEWSETELEM message of the dump (those of
/// another table or set, or that do not read, are skipped).
fn dnat_elems(attrs: &[u8]) -> Option<Vec<DnatElem>> {
    let mut ours = (false, false);
    let mut elems = Vec::new();
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        match a.kind() & 0x3fff {
            NFTA_SET_ELEM_LIST_TABLE => ours.0 = string_of(a.value()) == TABLE,
            NFTA_SET_ELEM_LIST_SET => ours.1 = string_of(a.value()) == MAP_DNAT,
            NFTA_SET_ELEM_LIST_ELEMENTS => {
                elems = NlasIterator::new(a.value())
                    .filter_map(Result::ok)
                    .filter(|e| e.kind() & 0x3fff == NFTA_LIST_ELEM)
                    .filter_map(|e| dnat_elem(e.value()))
                    .collect();
            }
            _ => {}
        }
    }
    (ours == (true, true)).then_some(elems)
}

/// Read one datagram of the `gre_dnat` dump; an error when the table or
/// the map is gone. Never panics on short or bad input.
pub fn dnat_dumped(buf: &[u8]) -> Dump<DnatElem> {
    let d = read_dump(
        buf,
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
        dnat_elems,
    );
    Dump {
        items: d.items.into_iter().flatten().collect(),
        done: d.done,
        error: d.error,
    }
}

#[cfg(test)]
mod tests;
