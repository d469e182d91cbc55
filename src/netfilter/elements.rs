//! Map elements of calls: the JSON batch that adds and removes them (through
//! the nftables crate) and the parser that reads them back from `nft -j`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use nftables::expr::{Elem, Expression, NamedExpression};
use nftables::schema::{Element, NfCmd, NfListObject, NfObject, Nftables};
use nftables::stmt::{AnonymousCounter, Counter};
use nftables::types::NfFamily;

use super::{MAP_CID, MAP_DNAT, SET_OUT, TABLE};
use crate::nat::{Change, Mapping, Role};

/// A call found in the kernel maps, with its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ElementState {
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
    /// Seconds until the elements expire.
    pub expires: u64,
    /// Inbound elements of a call that was waiting for its reply.
    pub pending: bool,
}

/// Comment prefix of the inbound elements of a call waiting for its reply.
pub const PENDING: &str = "pending";
/// Their lifetime: a PPTP peer answers a call request within 60 s (§3.1.3).
pub const PENDING_TIMEOUT: u32 = 120;

/// The comment on a `gre_dnat` element: the whole call record.
fn comment(m: &Mapping) -> String {
    let role = match m.role {
        Role::Pns => "pns",
        Role::Pac => "pac",
    };
    format!("{role} {} {} {} {}", m.lan, m.remote, m.lan_cid, m.peer_cid)
}

fn parse_comment(c: &str, public_cid: u16) -> Option<Mapping> {
    let mut it = c.split_whitespace();
    let role = match it.next()? {
        "pns" => Role::Pns,
        "pac" => Role::Pac,
        _ => return None,
    };
    let lan: SocketAddrV4 = it.next()?.parse().ok()?;
    let remote: SocketAddrV4 = it.next()?.parse().ok()?;
    let lan_cid = it.next()?.parse().ok()?;
    let peer_cid = it.next()?.parse().ok()?;
    Some(Mapping {
        role,
        lan,
        remote,
        lan_cid,
        public_cid,
        peer_cid,
    })
}

fn key<'a>(ip: Ipv4Addr, id: u16) -> Expression<'a> {
    Expression::Named(NamedExpression::Concat(vec![
        Expression::String(ip.to_string().into()),
        Expression::Number(id as u32),
    ]))
}

fn elem<'a>(
    ip: Ipv4Addr,
    id: u16,
    timeout: u32,
    comment: Option<String>,
    counter: Option<(u64, u64)>,
) -> Expression<'a> {
    Expression::Named(NamedExpression::Elem(Elem {
        val: Box::new(key(ip, id)),
        timeout: Some(timeout),
        expires: None,
        comment: comment.map(Cow::Owned),
        counter: counter.map(|(p, b)| {
            Counter::Anonymous(Some(AnonymousCounter {
                packets: Some(p as usize),
                bytes: Some(b as usize),
            }))
        }),
    }))
}

fn element<'a>(name: &'a str, elem: Vec<Expression<'a>>) -> NfListObject<'a> {
    NfListObject::Element(Element {
        family: NfFamily::IP,
        table: TABLE.into(),
        name: name.into(),
        elem: elem.into(),
    })
}

/// The inbound half: DNAT to the LAN host (its comment carries the call
/// record) and the Call ID restore (with the inbound counter).
fn inbound_adds<'a>(
    m: &Mapping,
    timeout: u32,
    comment: String,
    counter: Option<(u64, u64)>,
) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Add(element(
            MAP_DNAT,
            vec![Expression::List(vec![
                elem(r, p, timeout, Some(comment), None),
                Expression::String(m.lan_ip().to_string().into()),
            ])],
        ))),
        NfObject::CmdObject(NfCmd::Add(element(
            MAP_CID,
            vec![Expression::List(vec![
                elem(r, p, timeout, None, counter),
                Expression::Number(m.lan_cid as u32),
            ])],
        ))),
    ]
}

/// Every element of an established call; `st` carries counters over.
fn adds<'a>(m: &Mapping, timeout: u32, st: Option<ElementState>) -> Vec<NfObject<'a>> {
    let cin = st.map(|s| (s.in_packets, s.in_bytes));
    let cout = st.map(|s| (s.out_packets, s.out_bytes));
    let mut v = inbound_adds(m, timeout, comment(m), cin);
    v.push(NfObject::CmdObject(NfCmd::Add(element(
        SET_OUT,
        vec![elem(m.remote_ip(), m.peer_cid, timeout, None, cout)],
    ))));
    v
}

/// Inbound elements of a call still waiting for its reply.
fn expects<'a>(m: &Mapping, timeout: u32) -> Vec<NfObject<'a>> {
    inbound_adds(m, timeout, format!("{PENDING} {}", comment(m)), None)
}

fn inbound_deletes<'a>(m: &Mapping) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Delete(element(MAP_DNAT, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(MAP_CID, vec![key(r, p)]))),
    ]
}

fn deletes<'a>(m: &Mapping) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Delete(element(MAP_DNAT, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(MAP_CID, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(SET_OUT, vec![key(r, m.peer_cid)]))),
    ]
}

/// One transaction for a batch of changes. `state` supplies the counters a
/// refreshed call carries over.
pub fn batch(
    changes: &[Change],
    timeout: u32,
    state: impl Fn(&Mapping) -> Option<ElementState>,
) -> Nftables<'static> {
    let mut objs = Vec::new();
    for c in changes {
        match c {
            Change::Add(m) => objs.extend(adds(m, timeout, None)),
            Change::Remove(m) => objs.extend(deletes(m)),
            Change::Refresh(m) => {
                objs.extend(deletes(m));
                objs.extend(adds(m, timeout, state(m)));
            }
            Change::Expect(m) => objs.extend(expects(m, PENDING_TIMEOUT)),
            Change::Promote(m) => {
                objs.extend(inbound_deletes(m));
                objs.extend(adds(m, timeout, None));
            }
            Change::Unexpect(m) => objs.extend(inbound_deletes(m)),
        }
    }
    Nftables {
        objects: objs.into(),
    }
}

fn concat_key(v: &serde_json::Value) -> Option<(Ipv4Addr, u16)> {
    let c = v.get("concat")?.as_array()?;
    let ip = c.first()?.as_str()?.parse().ok()?;
    let id = u16::try_from(c.get(1)?.as_u64()?).ok()?;
    Some((ip, id))
}

/// (key, elem object, mapped value) of every element of a set or map,
/// borrowed from the listing (a big table must not be copied).
fn entries<'a>(
    list: &'a serde_json::Value,
    kind: &str,
    name: &str,
) -> Vec<(Ipv4Addr, u16, &'a serde_json::Value, &'a serde_json::Value)> {
    static NULL: serde_json::Value = serde_json::Value::Null;
    let mut out = Vec::new();
    let Some(objs) = list.get("nftables").and_then(|v| v.as_array()) else {
        return out;
    };
    for o in objs {
        let Some(s) = o.get(kind) else { continue };
        if s.get("name").and_then(|v| v.as_str()) != Some(name) {
            continue;
        }
        for e in s
            .get("elem")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            // Map elements are [key, value]; set elements are the key alone.
            let (k, val) = match e.as_array() {
                Some(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                _ => (e, &NULL),
            };
            let inner = k.get("elem").unwrap_or(&NULL);
            let keyv = inner.get("val").unwrap_or(k);
            if let Some((ip, id)) = concat_key(keyv) {
                out.push((ip, id, inner, val));
            }
        }
    }
    out
}

fn counter(e: &serde_json::Value) -> (u64, u64) {
    let c = e.get("counter");
    let f = |k: &str| {
        c.and_then(|c| c.get(k))
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    (f("packets"), f("bytes"))
}

/// Calls recorded in the helper's table (`nft -j list table ip ...`), with
/// their counters. Elements that do not parse are skipped.
pub fn parse_elements<'a>(list: &'a serde_json::Value) -> Vec<(Mapping, ElementState)> {
    let index = |v: Vec<(Ipv4Addr, u16, &'a serde_json::Value, &'a serde_json::Value)>| {
        v.into_iter()
            .map(|(ip, id, e, _)| ((ip, id), e))
            .collect::<HashMap<_, _>>()
    };
    let cid = index(entries(list, "map", MAP_CID));
    let out = index(entries(list, "set", SET_OUT));
    entries(list, "map", MAP_DNAT)
        .into_iter()
        .filter_map(|(ip, public, e, val)| {
            let text = e.get("comment")?.as_str()?;
            let (pending, text) = match text.strip_prefix(PENDING) {
                Some(rest) => (true, rest.trim_start()),
                None => (false, text),
            };
            let m = parse_comment(text, public)?;
            if val.as_str()?.parse::<Ipv4Addr>().ok()? != m.lan_ip() || ip != m.remote_ip() {
                return None;
            }
            let mut st = ElementState {
                expires: e.get("expires").and_then(|v| v.as_u64()).unwrap_or(0),
                pending,
                ..Default::default()
            };
            if let Some(ce) = cid.get(&(ip, public)) {
                (st.in_packets, st.in_bytes) = counter(ce);
            }
            if let Some(oe) = out.get(&(ip, m.peer_cid)) {
                (st.out_packets, st.out_bytes) = counter(oe);
            }
            Some((m, st))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Mapping {
        Mapping {
            role: Role::Pns,
            lan: "192.168.1.10:40000".parse().unwrap(),
            remote: "198.51.100.10:1723".parse().unwrap(),
            lan_cid: 4660,
            public_cid: 1001,
            peer_cid: 77,
        }
    }

    #[test]
    fn add_batch_is_the_json_nft_expects() {
        let j = serde_json::to_value(batch(&[Change::Add(m())], 3600, |_| None)).unwrap();
        let a = &j["nftables"][0]["add"]["element"];
        assert_eq!(a["table"], "pptp_passthrough");
        assert_eq!(a["name"], "gre_dnat");
        assert_eq!(
            a["elem"][0][0]["elem"]["val"]["concat"],
            serde_json::json!(["198.51.100.10", 1001])
        );
        assert_eq!(a["elem"][0][0]["elem"]["timeout"], 3600);
        assert_eq!(
            a["elem"][0][0]["elem"]["comment"],
            "pns 192.168.1.10:40000 198.51.100.10:1723 4660 77"
        );
        assert_eq!(a["elem"][0][1], "192.168.1.10");
        assert_eq!(j["nftables"][1]["add"]["element"]["elem"][0][1], 4660);
        assert_eq!(
            j["nftables"][2]["add"]["element"]["elem"][0]["elem"]["val"]["concat"],
            serde_json::json!(["198.51.100.10", 77])
        );
        let mut pend = m();
        pend.peer_cid = 0;
        let e = serde_json::to_value(batch(&[Change::Expect(pend)], 3600, |_| None)).unwrap();
        let a = &e["nftables"][0]["add"]["element"];
        assert_eq!(a["elem"][0][0]["elem"]["timeout"], PENDING_TIMEOUT);
        assert_eq!(
            a["elem"][0][0]["elem"]["comment"],
            "pending pns 192.168.1.10:40000 198.51.100.10:1723 4660 0"
        );
        assert_eq!(
            e["nftables"].as_array().unwrap().len(),
            2,
            "no gre_out before the reply"
        );
        let p = serde_json::to_value(batch(&[Change::Promote(m())], 3600, |_| None)).unwrap();
        let ops: Vec<String> = p["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let (k, v) = o.as_object().unwrap().iter().next().unwrap();
                format!("{k} {}", v["element"]["name"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            ops,
            [
                "delete gre_dnat",
                "delete gre_cid",
                "add gre_dnat",
                "add gre_cid",
                "add gre_out"
            ]
        );
        let d = serde_json::to_value(batch(&[Change::Remove(m())], 3600, |_| None)).unwrap();
        assert_eq!(
            d["nftables"][0]["delete"]["element"]["elem"][0]["concat"],
            serde_json::json!(["198.51.100.10", 1001])
        );
        assert_eq!(d["nftables"].as_array().unwrap().len(), 3);
    }

    /// Output of `nft -j list table ip pptp_passthrough` as nft 1.0.6 prints it.
    #[test]
    fn reads_calls_and_counters_back() {
        let j: serde_json::Value = serde_json::from_str(r#"{"nftables":[
          {"metainfo":{"version":"1.0.6"}},
          {"map":{"family":"ip","name":"gre_dnat","table":"pptp_passthrough","type":["ipv4_addr","integer"],"map":"ipv4_addr",
            "elem":[[{"elem":{"val":{"concat":["198.51.100.10",1001]},"timeout":3600,"expires":3500,
              "comment":"pns 192.168.1.10:40000 198.51.100.10:1723 4660 77"}},"192.168.1.10"],
              [{"elem":{"val":{"concat":["198.51.100.10",1002]},"comment":"junk"}},"192.168.1.11"]]}},
          {"map":{"family":"ip","name":"gre_cid","table":"pptp_passthrough","map":"integer",
            "elem":[[{"elem":{"val":{"concat":["198.51.100.10",1001]},"counter":{"packets":5,"bytes":500}}},4660]]}},
          {"set":{"family":"ip","name":"gre_out","table":"pptp_passthrough",
            "elem":[{"elem":{"val":{"concat":["198.51.100.10",77]},"counter":{"packets":6,"bytes":600}}}]}}]}"#).unwrap();
        let got = parse_elements(&j);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, m());
        assert_eq!(
            got[0].1,
            ElementState {
                in_packets: 5,
                in_bytes: 500,
                out_packets: 6,
                out_bytes: 600,
                expires: 3500,
                pending: false,
            }
        );
    }
}
