//! Map elements of calls: the JSON batch that adds and removes them (through
//! the nftables crate) and the parser that reads them back from `nft -j`.

use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddrV4};

use nftables::expr::{Elem, Expression, NamedExpression};
use nftables::schema::{Element, NfCmd, NfListObject, NfObject, Nftables};
use nftables::types::NfFamily;

use super::Dispatch;
use super::table::{FORWARD_CHAIN, GreLookup, forward_rules};
use super::{MAP_CID, MAP_DNAT, SET_IN, SET_OUT, TABLE};
use crate::nat::{Change, Mapping, Role};

/// What the kernel holds of a call's inbound elements. (A call's counters
/// are conntrack's, see `counts`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ElementState {
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
pub(super) fn comment(m: &Mapping) -> String {
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

fn elem<'a>(ip: Ipv4Addr, id: u16, timeout: u32, comment: Option<String>) -> Expression<'a> {
    Expression::Named(NamedExpression::Elem(Elem {
        val: Box::new(key(ip, id)),
        timeout: Some(timeout),
        expires: None,
        comment: comment.map(Cow::Owned),
        counter: None,
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
/// record) and the Call ID restore.
fn inbound_adds<'a>(m: &Mapping, timeout: u32, comment: String) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Add(element(
            MAP_DNAT,
            vec![Expression::List(vec![
                elem(r, p, timeout, Some(comment)),
                Expression::String(m.lan_ip().to_string().into()),
            ])],
        ))),
        NfObject::CmdObject(NfCmd::Add(element(
            MAP_CID,
            vec![Expression::List(vec![
                elem(r, p, timeout, None),
                Expression::Number(m.lan_cid as u32),
            ])],
        ))),
        NfObject::CmdObject(NfCmd::Add(element(SET_IN, vec![elem(r, p, timeout, None)]))),
    ]
}

/// Every element of an established call.
fn adds<'a>(m: &Mapping, timeout: u32) -> Vec<NfObject<'a>> {
    let mut v = inbound_adds(m, timeout, comment(m));
    v.push(NfObject::CmdObject(NfCmd::Add(element(
        SET_OUT,
        vec![elem(m.remote_ip(), m.peer_cid, timeout, None)],
    ))));
    v
}

/// Inbound elements of a call still waiting for its reply.
fn expects<'a>(m: &Mapping, timeout: u32) -> Vec<NfObject<'a>> {
    inbound_adds(m, timeout, format!("{PENDING} {}", comment(m)))
}

fn inbound_deletes<'a>(m: &Mapping) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Delete(element(MAP_DNAT, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(MAP_CID, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(SET_IN, vec![key(r, p)]))),
    ]
}

fn deletes<'a>(m: &Mapping) -> Vec<NfObject<'a>> {
    let (r, p) = (m.remote_ip(), m.public_cid);
    vec![
        NfObject::CmdObject(NfCmd::Delete(element(MAP_DNAT, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(MAP_CID, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(SET_IN, vec![key(r, p)]))),
        NfObject::CmdObject(NfCmd::Delete(element(SET_OUT, vec![key(r, m.peer_cid)]))),
    ]
}

/// One transaction for a batch of changes. A refresh deletes and adds the
/// call's elements again; it carries no counters over (a call's GRE is
/// counted by conntrack).
pub fn batch(changes: &[Change], gre_lookup: Option<GreLookup>, timeout: u32) -> Nftables<'static> {
    let mut objs = Vec::new();
    for c in changes {
        match c {
            Change::Add(m) => objs.extend(adds(m, timeout)),
            Change::Remove(m) => objs.extend(deletes(m)),
            Change::Refresh(m) => {
                objs.extend(deletes(m));
                objs.extend(adds(m, timeout));
            }
            Change::Expect(m) => objs.extend(expects(m, PENDING_TIMEOUT)),
            Change::Promote(m) => {
                objs.extend(inbound_deletes(m));
                objs.extend(adds(m, timeout));
            }
            Change::Unexpect(m) => objs.extend(inbound_deletes(m)),
        }
    }
    // The forward chain's rules, after the elements they switch to.
    if let Some(g) = gre_lookup {
        objs.extend(forward_rules_json(g));
    }
    Nftables {
        objects: objs.into(),
    }
}

/// The `forward` chain emptied and its rules added again (see
/// `table::forward_rules`), as nft's JSON; with the firewall's dispatch,
/// the chain made (first, so that a deletion never fails on a chain that
/// is gone) and then filled or deleted.
fn forward_rules_json<'a>(g: GreLookup) -> Vec<NfObject<'a>> {
    use nftables::expr::{Payload, PayloadField};
    use nftables::schema::{Chain, FlushObject, Rule};
    use nftables::stmt::{JumpTarget, Match, Operator, Statement};
    use nftables::types::{NfChainPolicy, NfChainType, NfHook};
    let chain = || Chain {
        family: NfFamily::IP,
        table: TABLE.into(),
        name: FORWARD_CHAIN.into(),
        ..Default::default()
    };
    let mut v = Vec::new();
    if g.dispatch == Dispatch::Firewall {
        v.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(
            Chain {
                _type: Some(NfChainType::Filter),
                hook: Some(NfHook::Forward),
                prio: Some(-150),
                policy: Some(NfChainPolicy::Accept),
                ..chain()
            },
        ))));
        if !g.on {
            v.push(NfObject::CmdObject(NfCmd::Delete(NfListObject::Chain(
                chain(),
            ))));
            return v;
        }
    }
    v.push(NfObject::CmdObject(NfCmd::Flush(FlushObject::Chain(
        chain(),
    ))));
    for r in forward_rules(g.on, g.dispatch) {
        let test = Statement::Match(Match {
            left: Expression::Named(NamedExpression::Payload(Payload::PayloadField(
                PayloadField {
                    protocol: "ip".into(),
                    field: "protocol".into(),
                },
            ))),
            right: Expression::Number(u32::from(r.proto)),
            op: Operator::EQ,
        });
        let verdict = Statement::Goto(JumpTarget {
            target: r.goto.into(),
        });
        v.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Rule(Rule {
            family: NfFamily::IP,
            table: TABLE.into(),
            chain: FORWARD_CHAIN.into(),
            expr: vec![test, verdict].into(),
            ..Default::default()
        }))));
    }
    v
}

// The listing (`nft -j list table`), read into just the fields needed:
// everything else (rules, chains, unknown keys) is skipped without being
// stored, so a table of 10 000 calls costs its text and little more.

#[derive(serde::Deserialize)]
struct Listing {
    #[serde(default)]
    nftables: Vec<Object>,
}

/// One object of the listing; only sets and maps matter.
#[derive(serde::Deserialize)]
struct Object {
    map: Option<SetDump>,
    set: Option<SetDump>,
}

#[derive(serde::Deserialize)]
struct SetDump {
    name: String,
    #[serde(default)]
    elem: Vec<Entry>,
}

/// Map elements are `[key, value]`; set elements are the key alone.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Entry {
    Pair(Key, Mapped),
    Single(Key),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Key {
    Elem { elem: Inner },
    Bare(Concat),
}

#[derive(serde::Deserialize, Default)]
struct Inner {
    val: Option<Concat>,
    #[serde(default)]
    expires: u64,
    comment: Option<String>,
}

#[derive(serde::Deserialize)]
struct Concat {
    concat: (String, u64),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Mapped {
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Concat {
    fn key(&self) -> Option<(Ipv4Addr, u16)> {
        Some((
            self.concat.0.parse().ok()?,
            u16::try_from(self.concat.1).ok()?,
        ))
    }
}

/// Every element of the set or map `name`: key, element details, value.
fn entries<'a>(
    list: &'a Listing,
    name: &str,
) -> impl Iterator<Item = ((Ipv4Addr, u16), Option<&'a Inner>, Option<&'a str>)> {
    list.nftables
        .iter()
        .filter_map(|o| o.map.as_ref().or(o.set.as_ref()))
        .filter(move |s| s.name == name)
        .flat_map(|s| s.elem.iter())
        .filter_map(|e| {
            let (k, v) = match e {
                Entry::Pair(k, Mapped::Text(t)) => (k, Some(t.as_str())),
                Entry::Pair(k, Mapped::Other(_)) | Entry::Single(k) => (k, None),
            };
            match k {
                Key::Elem { elem } => Some((elem.val.as_ref()?.key()?, Some(elem), v)),
                Key::Bare(c) => Some((c.key()?, None, v)),
            }
        })
}

/// Whether the listing declares the set or map `name` (a table made by an
/// older version may lack one).
pub fn declares(text: &str, name: &str) -> bool {
    serde_json::from_str::<Listing>(text).is_ok_and(|l| {
        l.nftables
            .iter()
            .filter_map(|o| o.map.as_ref().or(o.set.as_ref()))
            .any(|s| s.name == name)
    })
}

/// The call a `gre_dnat` element records (keyed by the server's address
/// and the public Call ID, mapped to the LAN host), from its comment; None
/// when the comment does not read or names another key or host.
pub fn recorded(
    remote: Ipv4Addr,
    public_cid: u16,
    lan_ip: Ipv4Addr,
    comment: &str,
    expires: u64,
) -> Option<(Mapping, ElementState)> {
    let (pending, text) = match comment.strip_prefix(PENDING) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, comment),
    };
    let m = parse_comment(text, public_cid)?;
    (lan_ip == m.lan_ip() && remote == m.remote_ip())
        .then_some((m, ElementState { expires, pending }))
}

/// Calls recorded in the helper's table (the text of `nft -j list table ip
/// ...`). Elements that do not parse are skipped; a listing that does not
/// parse is an error.
pub fn parse_elements(text: &str) -> Result<Vec<(Mapping, ElementState)>, serde_json::Error> {
    let list: Listing = serde_json::from_str(text)?;
    Ok(entries(&list, MAP_DNAT)
        .filter_map(|((ip, public), e, val)| {
            let e = e?;
            let lan_ip = val?.parse().ok()?;
            recorded(ip, public, lan_ip, e.comment.as_deref()?, e.expires)
        })
        .collect())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// With the firewall's dispatch, the JSON switch makes the base chain
    /// first, then fills it with GRE's rule alone or deletes it.
    #[test]
    fn the_firewalls_dispatch_in_json_makes_and_deletes_the_chain() {
        let fw = |on| {
            Some(GreLookup {
                on,
                dispatch: Dispatch::Firewall,
            })
        };
        let j = serde_json::to_value(batch(&[], fw(true), 3600)).unwrap();
        let objs = j["nftables"].as_array().unwrap();
        assert_eq!(objs.len(), 3, "{j}");
        let c = &objs[0]["add"]["chain"];
        assert_eq!(
            (&c["name"], &c["type"], &c["hook"], &c["prio"], &c["policy"]),
            (
                &"forward".into(),
                &"filter".into(),
                &"forward".into(),
                &(-150).into(),
                &"accept".into()
            )
        );
        assert_eq!(objs[1]["flush"]["chain"]["name"], "forward");
        let r = &objs[2]["add"]["rule"];
        assert_eq!(r["expr"][0]["match"]["right"], 47);
        assert_eq!(r["expr"][1]["goto"]["target"], "gre_fwd");
        let j = serde_json::to_value(batch(&[], fw(false), 3600)).unwrap();
        let objs = j["nftables"].as_array().unwrap();
        assert_eq!(objs.len(), 2, "{j}");
        assert_eq!(objs[0]["add"]["chain"]["hook"], "forward");
        assert_eq!(objs[1]["delete"]["chain"]["name"], "forward");
        assert_eq!(objs[1]["delete"]["chain"]["table"], TABLE);
    }

    /// A switch of the GRE lookup with the helper's own dispatch.
    pub(in crate::netfilter) fn own(on: bool) -> Option<GreLookup> {
        Some(GreLookup {
            on,
            dispatch: Dispatch::Own,
        })
    }

    /// The call both batch encoders are tested with.
    pub(in crate::netfilter) fn m() -> Mapping {
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
        let j = serde_json::to_value(batch(&[Change::Add(m())], None, 3600)).unwrap();
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
        // The raw guard's set: the inbound key only.
        let g = &j["nftables"][2]["add"]["element"];
        assert_eq!(g["name"], SET_IN);
        assert_eq!(
            g["elem"][0]["elem"]["val"]["concat"],
            serde_json::json!(["198.51.100.10", 1001])
        );
        assert_eq!(
            j["nftables"][3]["add"]["element"]["elem"][0]["elem"]["val"]["concat"],
            serde_json::json!(["198.51.100.10", 77])
        );
        let mut pend = m();
        pend.peer_cid = 0;
        let e = serde_json::to_value(batch(&[Change::Expect(pend)], None, 3600)).unwrap();
        let a = &e["nftables"][0]["add"]["element"];
        assert_eq!(a["elem"][0][0]["elem"]["timeout"], PENDING_TIMEOUT);
        assert_eq!(
            a["elem"][0][0]["elem"]["comment"],
            "pending pns 192.168.1.10:40000 198.51.100.10:1723 4660 0"
        );
        let names: Vec<&str> = e["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["add"]["element"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [MAP_DNAT, MAP_CID, SET_IN],
            "no gre_out before the reply"
        );
        let p = serde_json::to_value(batch(&[Change::Promote(m())], None, 3600)).unwrap();
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
                "delete gre_in",
                "add gre_dnat",
                "add gre_cid",
                "add gre_in",
                "add gre_out"
            ]
        );
        let d = serde_json::to_value(batch(&[Change::Remove(m())], None, 3600)).unwrap();
        assert_eq!(
            d["nftables"][0]["delete"]["element"]["elem"][0]["concat"],
            serde_json::json!(["198.51.100.10", 1001])
        );
        assert_eq!(d["nftables"].as_array().unwrap().len(), 4);
    }

    /// Output of `nft -j list table ip pptp_passthrough` as nft 1.0.6 prints it.
    #[test]
    fn reads_calls_back() {
        let j = r#"{"nftables":[
          {"metainfo":{"version":"1.0.6"}},
          {"map":{"family":"ip","name":"gre_dnat","table":"pptp_passthrough","type":["ipv4_addr","integer"],"map":"ipv4_addr",
            "elem":[[{"elem":{"val":{"concat":["198.51.100.10",1001]},"timeout":3600,"expires":3500,
              "comment":"pns 192.168.1.10:40000 198.51.100.10:1723 4660 77"}},"192.168.1.10"],
              [{"elem":{"val":{"concat":["198.51.100.10",1002]},"comment":"junk"}},"192.168.1.11"]]}},
          {"map":{"family":"ip","name":"gre_cid","table":"pptp_passthrough","map":"integer",
            "elem":[[{"elem":{"val":{"concat":["198.51.100.10",1001]},"counter":{"packets":5,"bytes":500}}},4660]]}},
          {"set":{"family":"ip","name":"gre_out","table":"pptp_passthrough",
            "elem":[{"elem":{"val":{"concat":["198.51.100.10",77]},"counter":{"packets":6,"bytes":600}}}]}},
          {"chain":{"family":"ip","table":"pptp_passthrough","name":"gre_nat","handle":3}},
          {"rule":{"family":"ip","table":"pptp_passthrough","chain":"gre_nat","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"wan0"}}]}}]}"#;
        let got = parse_elements(j).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, m());
        // This listing is of the layout before the guard's set: the helper
        // must see that it lacks it (and rebuild the table).
        assert!(declares(j, MAP_DNAT) && declares(j, SET_OUT));
        assert!(!declares(j, SET_IN));
        assert!(!declares("not json", MAP_DNAT));
        assert_eq!(
            got[0].1,
            ElementState {
                expires: 3500,
                pending: false,
            }
        );
        assert!(parse_elements("{not json").is_err());
        assert!(parse_elements(r#"{"nftables":[]}"#).unwrap().is_empty());
    }

    /// Where the batch goes as JSON (it holds refreshes), the forward
    /// chain is flushed and its three rules added, after the elements.
    #[test]
    fn gre_lookup_in_json_flushes_and_adds_the_forward_rules() {
        let j = serde_json::to_value(batch(&[Change::Refresh(m())], own(true), 3600)).unwrap();
        let objs = j["nftables"].as_array().unwrap();
        let n = objs.len();
        assert_eq!(objs[n - 4]["flush"]["chain"]["name"], "forward");
        let rules: Vec<&serde_json::Value> =
            objs[n - 3..].iter().map(|o| &o["add"]["rule"]).collect();
        assert!(
            rules
                .iter()
                .all(|r| r["chain"] == "forward" && r["table"] == TABLE)
        );
        let m0 = &rules[0]["expr"][0]["match"];
        assert_eq!(m0["left"]["payload"]["protocol"], "ip");
        assert_eq!(m0["left"]["payload"]["field"], "protocol");
        assert_eq!(m0["right"], 47);
        assert_eq!(rules[0]["expr"][1]["goto"]["target"], "gre_fwd");
        assert_eq!(rules[1]["expr"][1]["goto"]["target"], "tcp_1723");
        assert_eq!(rules[2]["expr"][1]["goto"]["target"], "icmp_out");
        let j = serde_json::to_value(batch(&[], own(false), 3600)).unwrap();
        let objs = j["nftables"].as_array().unwrap();
        assert_eq!(objs.len(), 3, "no GRE rule: {j}");
        assert_eq!(
            objs[1]["add"]["rule"]["expr"][1]["goto"]["target"],
            "tcp_1723"
        );
        let j = serde_json::to_value(batch(&[Change::Refresh(m())], None, 3600)).unwrap();
        assert!(!j.to_string().contains("\"rule\""));
    }
}
