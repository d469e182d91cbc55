//! Ruleset generation, sans-IO: the helper's own nft table, the element
//! batches that program the GRE data path, the xtables rules of the NFQUEUE
//! fallback, and reading calls and counters back from `nft -j` output.
//
// Bytes from remote peers reach this module: it must not panic on them
// (checked access; tests may index).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod counts;
pub mod ctmsg;
mod elements;
mod nfnl;
pub mod nfqmsg;
pub mod nlmsg;
pub mod rulemsg;
pub mod rulesetmsg;
mod table;
mod uapi;

pub use elements::{ElementState, batch, declares, parse_elements, recorded};
pub use nfnl::Dump;
pub use table::{
    FORWARD_CHAIN, FW_CHAINS, FirewallRules, GreLookup, ProtoRule, firewall_rules, forward_rules,
    probe_queue_text, table_text,
};
pub use uapi::{NFPROTO_INET, NFPROTO_IPV4};

/// The helper's table (family `ip`); nothing else is ever touched.
pub const TABLE: &str = "pptp_passthrough";
/// Inbound GRE: (remote IP, public Call ID) → LAN host. Element comments
/// carry the whole call record, so a restarted helper can rebuild its table.
pub const MAP_DNAT: &str = "gre_dnat";
/// Inbound GRE after DNAT: (remote IP, public Call ID) → LAN Call ID, with a
/// per-call counter.
pub const MAP_CID: &str = "gre_cid";
/// Outbound GRE: (remote IP, remote's Call ID), with a per-call counter.
pub const SET_OUT: &str = "gre_out";
/// Inbound GRE of known calls: (remote IP, public Call ID), the same keys
/// as [`MAP_DNAT`]. The raw-priority guard looks here. It cannot look in
/// the map: kernels before Linux 6.5 refuse a lookup in a map that does not
/// use the map's value (Debian 12's 6.1, OpenWrt 23.05's 5.15).
pub const SET_IN: &str = "gre_in";
/// iptables chain of the xtables NFQUEUE back-end (table `mangle`).
pub const XT_CHAIN: &str = "PPTP_PASSTHROUGH";

/// How control segments reach userspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// nft `queue ... bypass` (needs CONFIG_NFT_QUEUE / kmod-nft-queue).
    Nft,
    /// xtables `NFQUEUE --queue-bypass` through iptables (nft-compat).
    Xtables,
}

/// Where GRE whose key names no call is stopped, so that it never leaves a
/// conntrack entry: a flood of made-up Call IDs cannot fill the table, and
/// no entry without the call's DNAT is ever confirmed.
///
/// PPTP GRE flows stay "new" to conntrack for every packet: without the
/// kernel helper's keymap the two directions of a call never pair up
/// (RFC 2637 §4.1: each carries the receiver's Call ID). A NAT chain, which
/// conntrack consults once per flow, is the one place that sees only a
/// flow's first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Guard {
    /// Once per flow, in the NAT chain after the DNAT map: the first packet
    /// of a flow whose key names no call is dropped before its entry is
    /// confirmed. PPTP tunnels that end on the router itself would be
    /// dropped too.
    Flow,
    /// Every packet, before conntrack (priority raw): GRE whose key names
    /// no call is not tracked, and still reaches PPTP tunnels that end on
    /// the router itself (their raw GRE sockets need no conntrack).
    Raw,
}

/// Where the rules are that pick TCP and ICMP out of every packet the
/// router forwards. Each base chain in the forward hook costs every such
/// packet (GRE included) about 200 instructions to enter; a firewall
/// already has one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dispatch {
    /// In the helper's own base chain, `forward`.
    Own,
    /// In the firewall's forward chain that runs before its `flow offload`
    /// (fw4's `mangle_forward`), through include files whose text is
    /// [`firewall_rules`]: the helper's table then has a base chain in the
    /// forward hook only while some call's Call ID is rewritten. Needs the
    /// nft `queue` expression.
    Firewall,
}

/// What the ruleset is generated from.
#[derive(Debug, Clone)]
pub struct Setup {
    pub wan: String,
    /// LAN interfaces; empty means every interface but the WAN.
    pub lans: Vec<String>,
    pub queue_num: u16,
    pub backend: Backend,
    /// Element timeout in seconds (a safety net; teardown removes elements).
    pub element_timeout: u32,
    pub guard: Guard,
    /// Look up every inbound GRE packet's Call ID, not only those of the
    /// rewritten range: calls recovered from a helper that gave public IDs
    /// from the whole range are alive.
    pub rewrite_all: bool,
    /// Whether inbound GRE goes to `gre_fwd` for its Call ID at all (some
    /// call's public Call ID is not its own; see `table::forward_rules`).
    pub gre_lookup: bool,
    pub dispatch: Dispatch,
}

impl Setup {
    /// The second queue: control segments of connections conntrack calls
    /// established come here, and their verdict (`NF_STOP`) skips the rest
    /// of the forward hook. A firewall accepts them there anyway (fw4:
    /// `ct state established accept`), but first its `flow offload` rule
    /// would move the connection into a flowtable, whose packets bypass
    /// the forward hook and so the queue: the helper would never see the
    /// connection's calls. `queue_num + 1` (65534 for 65535).
    pub fn established_queue(&self) -> u16 {
        self.queue_num.checked_add(1).unwrap_or(self.queue_num - 1)
    }
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The FORWARD rules that send TCP port 1723, and nothing else, to the
/// chain (`op`: `-I` or `-D`). iptables puts interface names first in a
/// rule, and comparing names cost every forwarded packet (GRE included) a
/// string copy per rule.
fn xtables_jumps(op: &str) -> [Vec<String>; 2] {
    ["--sport", "--dport"].map(|port| {
        owned(&[
            "-t", "mangle", op, "FORWARD", "-p", "tcp", port, "1723", "-j", XT_CHAIN,
        ])
    })
}

/// Arguments of the iptables commands that install the xtables back-end.
pub fn xtables_install(s: &Setup) -> Vec<Vec<String>> {
    let (q, qe) = (s.queue_num.to_string(), s.established_queue().to_string());
    let lans: Vec<Option<&str>> = if s.lans.is_empty() {
        vec![None]
    } else {
        s.lans.iter().map(|l| Some(l.as_str())).collect()
    };
    let mut out = vec![owned(&["-t", "mangle", "-N", XT_CHAIN])];
    for lan in &lans {
        // Only TCP port 1723 jumps here (either end: LAN clients and LAN
        // servers behind a port forward), from the LAN out and back in;
        // established connections to their own queue.
        for (lan_flag, wan_flag) in [("-i", "-o"), ("-o", "-i")] {
            for established in [true, false] {
                let mut r = vec!["-t", "mangle", "-A", XT_CHAIN, wan_flag, s.wan.as_str()];
                if let Some(l) = lan {
                    r.extend([lan_flag, l]);
                }
                let num = if established {
                    r.extend(["-m", "conntrack", "--ctstate", "ESTABLISHED"]);
                    qe.as_str()
                } else {
                    q.as_str()
                };
                r.extend(["-j", "NFQUEUE", "--queue-num", num, "--queue-bypass"]);
                out.push(owned(&r));
            }
        }
    }
    out.extend(xtables_jumps("-I"));
    out
}

/// Arguments of the iptables commands that remove the xtables back-end;
/// each may fail harmlessly when the piece is already gone.
pub fn xtables_remove() -> Vec<Vec<String>> {
    let mut out = Vec::from(xtables_jumps("-D"));
    for rest in [
        // The catch-all jump earlier builds installed.
        &["-t", "mangle", "-D", "FORWARD", "-j", XT_CHAIN][..],
        &["-t", "mangle", "-F", XT_CHAIN],
        &["-t", "mangle", "-X", XT_CHAIN],
    ] {
        out.push(owned(rest));
    }
    out
}

/// `iptables -C` checks for every rule [`xtables_install`] adds: all
/// succeed only while the whole path to the queue is in place.
pub fn xtables_check(s: &Setup) -> Vec<Vec<String>> {
    xtables_install(s)
        .into_iter()
        .filter(|r| !r.iter().any(|a| a == "-N"))
        .map(|mut r| {
            for a in r.iter_mut() {
                if a == "-A" || a == "-I" {
                    *a = "-C".into();
                }
            }
            r
        })
        .collect()
}

/// Whether a `nft -j list ruleset` attaches the kernel's PPTP helper: a
/// `ct helper` object of type "pptp" that a rule of its table assigns,
/// literally (`ct helper set "NAME"`), through an anonymous map (`ct helper
/// set tcp dport map { 1723 : "NAME" }`) or through a named map
/// (`... map @helpers`). A rule reached through a jump or a verdict map is
/// found in its own chain. fw4 declares the object whenever the module is
/// loaded, even with `auto_helper` off; only an assignment rewrites calls.
pub fn kernel_pptp_helper(ruleset: &serde_json::Value) -> Option<String> {
    let objs = ruleset.get("nftables")?.as_array()?;
    let helpers: Vec<(String, String, String)> = objs
        .iter()
        .filter_map(|o| o.get("ct helper"))
        .filter(|h| h.get("type").and_then(|t| t.as_str()) == Some("pptp"))
        .map(|h| (field(h, "family"), field(h, "table"), field(h, "name")))
        .collect();
    // Element values of every named map, by (family, table, name).
    let map_values = |fam: &str, table: &str, name: &str| -> Vec<String> {
        let mut out = Vec::new();
        for m in objs.iter().filter_map(|o| o.get("map")) {
            if field(m, "family") == fam && field(m, "table") == table && field(m, "name") == name {
                if let Some(e) = m.get("elem") {
                    strings(e, &mut out);
                }
            }
        }
        out
    };
    objs.iter().filter_map(|o| o.get("rule")).find_map(|r| {
        let (fam, table) = (field(r, "family"), field(r, "table"));
        let exprs = r.get("expr")?.as_array()?;
        exprs.iter().find_map(|e| {
            let mut names = Vec::new();
            strings(e.get("ct helper")?, &mut names);
            let named: Vec<String> = names
                .iter()
                .filter_map(|n| n.strip_prefix('@'))
                .flat_map(|m| map_values(&fam, &table, m))
                .collect();
            let (n, how) = names
                .iter()
                .map(|n| (n, "assigned"))
                .chain(named.iter().map(|n| (n, "assigned through a map")))
                .find(|(n, _)| {
                    helpers
                        .iter()
                        .any(|(f, t, h)| *f == fam && *t == table && h == *n)
                })?;
            Some(format!(
                "table {fam} {table} ct helper {n}, {how} in chain {}",
                field(r, "chain")
            ))
        })
    })
}

/// The named maps a `ct helper` assignment reads, as (family, table,
/// name). The ruleset is listed tersely (`nft -t`: no set's elements; the
/// helper's own maps hold four per call, and listing 10 000 calls'
/// elements took `nft` 0.4 s of CPU and over 100 MiB), and only these maps are then listed
/// whole for [`kernel_pptp_helper`] (see [`add_listing`]).
pub fn helper_maps(ruleset: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let objs = ruleset.get("nftables").and_then(|o| o.as_array());
    for r in objs.into_iter().flatten().filter_map(|o| o.get("rule")) {
        let exprs = r.get("expr").and_then(|e| e.as_array());
        for h in exprs
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("ct helper"))
        {
            let mut names = Vec::new();
            strings(h, &mut names);
            for m in names.iter().filter_map(|n| n.strip_prefix('@')) {
                let key = (field(r, "family"), field(r, "table"), m.to_string());
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    }
    out
}

/// The objects of `listing` (one map listed on its own) added to
/// `ruleset`'s, where [`kernel_pptp_helper`] finds their elements.
pub fn add_listing(ruleset: &mut serde_json::Value, listing: &serde_json::Value) {
    let more = listing.get("nftables").and_then(|o| o.as_array()).cloned();
    if let (Some(objs), Some(more)) = (
        ruleset.get_mut("nftables").and_then(|o| o.as_array_mut()),
        more,
    ) {
        objs.extend(more.into_iter().filter(|o| o.get("map").is_some()));
    }
}

/// A string field of an nft JSON object ("?" when missing).
fn field(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("?").to_string()
}

/// Every string in a JSON value (names in a map's data or elements).
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Whether an `iptables-save -t raw` attaches the kernel's PPTP helper
/// with `-j CT --helper pptp` (iptables-nft shows such a rule to `nft`
/// only as an opaque `xt` target, so it is read from iptables itself).
pub fn iptables_pptp_helper(save: &str) -> Option<String> {
    save.lines().find_map(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        let target = t.windows(2).any(|w| w == ["-j", "CT"]);
        let helper = t.windows(2).any(|w| w == ["--helper", "pptp"]);
        (t.first() == Some(&"-A") && target && helper)
            .then(|| format!("iptables raw: {}", l.trim()))
    })
}

/// Whether an `nft -j list ruleset` holds table `family name` (the raw
/// table of iptables-nft is one).
pub fn has_table(ruleset: &serde_json::Value, family: &str, name: &str) -> bool {
    let Some(objs) = ruleset.get("nftables").and_then(|o| o.as_array()) else {
        return false;
    };
    objs.iter().filter_map(|o| o.get("table")).any(|t| {
        t.get("family").and_then(|f| f.as_str()) == Some(family)
            && t.get("name").and_then(|n| n.as_str()) == Some(name)
    })
}

/// Which back-end an iptables program drives, from its `--version`
/// ("iptables-save v1.8.9 (nf_tables)" or "... (legacy)"): Some(true) for
/// nf_tables. Releases before 1.8 name none and are legacy; anything else
/// is not an iptables program (None).
pub fn xtables_backend_is_nft(version: &str) -> Option<bool> {
    let v = version.trim();
    if !v.starts_with("iptables") {
        return None;
    }
    Some(v.ends_with("(nf_tables)"))
}

/// Whether an `iptables -t TABLE -S` listing holds no rule and no chain of
/// its own, and every built-in chain's policy is ACCEPT: such a table
/// changes nothing, yet under iptables-nft each of its base chains costs
/// every packet on its hook a chain call (iptables-nft leaves the chains it
/// made when their last rule goes).
pub fn iptables_table_idle(listing: &str) -> bool {
    listing
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .all(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            t.len() == 3 && t.first() == Some(&"-P") && t.get(2) == Some(&"ACCEPT")
        })
}

/// Whether `/proc/net/ip_tables_names` (one legacy iptables table of the
/// current network namespace per line) lists `table`. The kernel makes a
/// legacy table in a namespace the first time anything reads it there, and
/// from then on runs it for every packet on its hooks; a table not listed
/// holds no rule.
pub fn legacy_table_listed(names: &str, table: &str) -> bool {
    names.lines().any(|l| l.trim() == table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_iptables_table_is_policies_of_accept_only() {
        let idle = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n\n";
        assert!(iptables_table_idle(idle));
        assert!(iptables_table_idle(""));
        assert!(!iptables_table_idle(&format!(
            "{idle}-A FORWARD -j MARK --set-mark 1\n"
        )));
        assert!(!iptables_table_idle(&format!("{idle}-N MINE\n")));
        assert!(!iptables_table_idle("-P FORWARD DROP\n"));
        assert!(!iptables_table_idle(
            "iptables: No chain/target/match by that name.\n"
        ));
    }

    #[test]
    fn the_xtables_backend_is_read_from_the_version() {
        assert_eq!(
            xtables_backend_is_nft("iptables-save v1.8.9 (nf_tables)\n"),
            Some(true)
        );
        assert_eq!(
            xtables_backend_is_nft("iptables-save v1.8.9 (legacy)\n"),
            Some(false)
        );
        assert_eq!(xtables_backend_is_nft("iptables-save v1.6.1"), Some(false));
        assert_eq!(xtables_backend_is_nft(""), None);
        assert_eq!(xtables_backend_is_nft("sh: iptables-save: not found"), None);
    }

    #[test]
    fn a_legacy_table_is_read_only_where_it_exists() {
        assert!(legacy_table_listed("filter\nraw\n", "raw"));
        assert!(legacy_table_listed("raw", "raw"));
        assert!(!legacy_table_listed("filter\nmangle\n", "raw"));
        assert!(!legacy_table_listed("", "raw"));
        assert!(!legacy_table_listed("rawish\n", "raw"));
        let r: serde_json::Value = serde_json::from_str(
            r#"{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "raw", "handle": 1}},
                {"table": {"family": "inet", "name": "fw4", "handle": 2}}]}"#,
        )
        .unwrap();
        assert!(has_table(&r, "ip", "raw"));
        assert!(!has_table(&r, "ip6", "raw"));
        assert!(!has_table(&r, "inet", "raw"));
        assert!(!has_table(&serde_json::json!({}), "ip", "raw"));
    }

    #[test]
    fn xtables_check_mirrors_every_installed_rule() {
        let s = Setup {
            wan: "wan0".into(),
            lans: vec!["lan0".into()],
            queue_num: 7,
            backend: Backend::Xtables,
            element_timeout: 60,
            guard: Guard::Raw,
            rewrite_all: false,
            gre_lookup: false,
            dispatch: Dispatch::Own,
        };
        let install = xtables_install(&s);
        let check = xtables_check(&s);
        assert_eq!(check.len(), install.len() - 1, "all but the chain creation");
        for c in &check {
            assert!(c.contains(&"-C".to_string()), "{c:?}");
            assert!(!c.iter().any(|a| a == "-A" || a == "-I" || a == "-N"));
        }
        for port in ["--sport", "--dport"] {
            let jump = format!("-t mangle -C FORWARD -p tcp {port} 1723 -j {XT_CHAIN}");
            assert!(check.iter().any(|c| c.join(" ") == jump), "{jump}");
        }
    }

    #[test]
    fn the_established_queue_is_the_next_one() {
        let mut s = setup(&[]);
        assert_eq!(s.established_queue(), 8);
        s.queue_num = u16::MAX;
        assert_eq!(s.established_queue(), u16::MAX - 1);
    }

    fn setup(lans: &[&str]) -> Setup {
        Setup {
            wan: "wan0".into(),
            lans: lans.iter().map(|s| s.to_string()).collect(),
            queue_num: 7,
            backend: Backend::Xtables,
            element_timeout: 18000,
            guard: Guard::Flow,
            rewrite_all: false,
            gre_lookup: false,
            dispatch: Dispatch::Own,
        }
    }

    #[test]
    fn xtables_rules_cover_both_roles_and_directions() {
        let cmds = xtables_install(&setup(&["br-lan"]));
        let lines: Vec<String> = cmds.iter().map(|c| c.join(" ")).collect();
        assert_eq!(lines[0], "-t mangle -N PPTP_PASSTHROUGH");
        // Out and back in; an established connection's segments first, to
        // the second queue (their verdict skips the rest of the hook).
        let est = "-m conntrack --ctstate ESTABLISHED -j NFQUEUE --queue-num 8 --queue-bypass";
        let any = "-j NFQUEUE --queue-num 7 --queue-bypass";
        assert_eq!(
            lines[1..5],
            [
                format!("-t mangle -A PPTP_PASSTHROUGH -o wan0 -i br-lan {est}"),
                format!("-t mangle -A PPTP_PASSTHROUGH -o wan0 -i br-lan {any}"),
                format!("-t mangle -A PPTP_PASSTHROUGH -i wan0 -o br-lan {est}"),
                format!("-t mangle -A PPTP_PASSTHROUGH -i wan0 -o br-lan {any}"),
            ]
        );
        // Only TCP 1723 enters the chain: other traffic never compares
        // interface names.
        assert_eq!(
            lines[lines.len() - 2..],
            [
                "-t mangle -I FORWARD -p tcp --sport 1723 -j PPTP_PASSTHROUGH",
                "-t mangle -I FORWARD -p tcp --dport 1723 -j PPTP_PASSTHROUGH"
            ]
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.ends_with("FORWARD -j PPTP_PASSTHROUGH"))
        );
        assert_eq!(xtables_install(&setup(&[])).len(), 7);
        // Removal takes both jumps, and an older version's catch-all one.
        let rm: Vec<String> = xtables_remove().iter().map(|c| c.join(" ")).collect();
        for l in &lines[lines.len() - 2..] {
            assert!(rm.contains(&l.replace("-I", "-D")), "{l}");
        }
        assert!(rm.contains(&"-t mangle -D FORWARD -j PPTP_PASSTHROUGH".to_string()));
    }

    #[test]
    fn finds_the_kernel_pptp_helper_only_where_a_rule_assigns_it() {
        let obj = r#"{"ct helper":{"family":"inet","table":"fw4","name":"pptp","type":"pptp","protocol":"tcp"}}"#;
        let rule = r#"{"rule":{"family":"inet","table":"fw4","chain":"helper_lan","expr":[
            {"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":1723}},
            {"ct helper":"pptp"}]}}"#;
        let doc = |parts: &[&str]| -> serde_json::Value {
            serde_json::from_str(&format!("{{\"nftables\":[{}]}}", parts.join(","))).unwrap()
        };
        assert_eq!(
            kernel_pptp_helper(&doc(&[obj, rule])).as_deref(),
            Some("table inet fw4 ct helper pptp, assigned in chain helper_lan")
        );
        // Declared but never assigned (fw4 with auto_helper off): harmless.
        assert_eq!(kernel_pptp_helper(&doc(&[obj])), None);
        // Assigned, but the object is an FTP helper.
        let ftp = r#"{"ct helper":{"family":"inet","table":"fw4","name":"pptp","type":"ftp"}}"#;
        assert_eq!(kernel_pptp_helper(&doc(&[ftp, rule])), None);
        // Same name in another table does not count.
        let other = rule.replace("\"fw4\"", "\"other\"");
        assert_eq!(kernel_pptp_helper(&doc(&[obj, &other])), None);
    }

    /// The forms `nft -j list ruleset` prints (nft 1.0): an anonymous map,
    /// a named map, and a chain reached through a verdict map.
    #[test]
    fn finds_the_kernel_pptp_helper_assigned_through_maps() {
        let doc = |parts: &[&str]| -> serde_json::Value {
            serde_json::from_str(&format!("{{\"nftables\":[{}]}}", parts.join(","))).unwrap()
        };
        let pptp = r#"{"ct helper":{"family":"inet","name":"pptp-h","table":"t","type":"pptp","protocol":"tcp"}}"#;
        let ftp = r#"{"ct helper":{"family":"inet","name":"ftp-h","table":"t","type":"ftp","protocol":"tcp"}}"#;
        let anon = r#"{"rule":{"family":"inet","table":"t","chain":"pre","expr":[
            {"ct helper":{"map":{"key":{"payload":{"protocol":"tcp","field":"dport"}},
             "data":{"set":[[21,"ftp-h"],[1723,"pptp-h"]]}}}}]}}"#;
        assert_eq!(
            kernel_pptp_helper(&doc(&[pptp, ftp, anon])).as_deref(),
            Some("table inet t ct helper pptp-h, assigned in chain pre")
        );
        // The same map naming only the FTP helper: nothing.
        let ftp_only = anon.replace(",[1723,\"pptp-h\"]", "");
        assert_eq!(kernel_pptp_helper(&doc(&[pptp, ftp, &ftp_only])), None);
        let named_rule = r#"{"rule":{"family":"inet","table":"t","chain":"pre","expr":[
            {"ct helper":{"map":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":"@helpers"}}}]}}"#;
        let named_map = r#"{"map":{"family":"inet","name":"helpers","table":"t",
            "type":"inet_service","map":"ct helper","elem":[[1723,"pptp-h"]]}}"#;
        assert_eq!(
            kernel_pptp_helper(&doc(&[pptp, named_map, named_rule])).as_deref(),
            Some("table inet t ct helper pptp-h, assigned through a map in chain pre")
        );
        assert_eq!(kernel_pptp_helper(&doc(&[pptp, named_rule])), None);
        // A terse listing names the map without its elements; the map
        // listed on its own fills them in.
        let terse_map = r#"{"map":{"family":"inet","name":"helpers","table":"t",
            "type":"inet_service","map":"ct helper"}}"#;
        assert_eq!(
            kernel_pptp_helper(&doc(&[pptp, terse_map, named_rule, anon])).as_deref(),
            Some("table inet t ct helper pptp-h, assigned in chain pre")
        );
        let mut ruleset_named = doc(&[pptp, terse_map, named_rule]);
        assert_eq!(kernel_pptp_helper(&ruleset_named), None);
        assert_eq!(
            helper_maps(&ruleset_named),
            [("inet".to_string(), "t".to_string(), "helpers".to_string())]
        );
        let meta = r#"{"metainfo":{"version":"1.0.6"}}"#;
        add_listing(&mut ruleset_named, &doc(&[meta, named_map]));
        assert_eq!(
            kernel_pptp_helper(&ruleset_named).as_deref(),
            Some("table inet t ct helper pptp-h, assigned through a map in chain pre")
        );
        // Only maps a `ct helper` reads, each once; anonymous ones are in
        // the rule already.
        let twice = doc(&[named_rule, named_rule, anon]);
        assert_eq!(helper_maps(&twice).len(), 1);
        assert!(helper_maps(&doc(&[anon])).is_empty());
        let vmap = r#"{"rule":{"family":"inet","table":"t","chain":"pre","expr":[
            {"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},
             "data":{"set":[[1723,{"jump":{"target":"hchain"}}]]}}}]}}"#;
        let target = r#"{"rule":{"family":"inet","table":"t","chain":"hchain","expr":[{"ct helper":"pptp-h"}]}}"#;
        assert_eq!(
            kernel_pptp_helper(&doc(&[pptp, vmap, target])).as_deref(),
            Some("table inet t ct helper pptp-h, assigned in chain hchain")
        );
    }

    #[test]
    fn finds_the_kernel_pptp_helper_in_iptables_raw() {
        let save = "# Generated by iptables-save v1.8.9 (nf_tables)\n*raw\n\
                    :PREROUTING ACCEPT [0:0]\n\
                    -A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\n\
                    -A PREROUTING -p tcp -m tcp --dport 1723 -j CT --helper pptp\nCOMMIT\n";
        assert_eq!(
            iptables_pptp_helper(save).as_deref(),
            Some("iptables raw: -A PREROUTING -p tcp -m tcp --dport 1723 -j CT --helper pptp")
        );
        assert_eq!(iptables_pptp_helper(&save.replace("pptp\n", "ftp\n")), None);
        assert_eq!(
            iptables_pptp_helper("-A PREROUTING -j CT --notrack\n"),
            None
        );
    }
}
