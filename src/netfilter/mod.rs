//! Ruleset generation, sans-IO: the helper's own nft table, the element
//! batches that program the GRE data path, the xtables rules of the NFQUEUE
//! fallback, and reading calls and counters back from `nft -j` output.

mod elements;
mod nfnl;
pub mod nfqmsg;
pub mod nlmsg;
mod table;

pub use elements::{ElementState, batch, declares, parse_elements};
pub use table::{probe_queue_text, table_text};

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
    let q = s.queue_num.to_string();
    let lans: Vec<Option<&str>> = if s.lans.is_empty() {
        vec![None]
    } else {
        s.lans.iter().map(|l| Some(l.as_str())).collect()
    };
    let mut out = vec![owned(&["-t", "mangle", "-N", XT_CHAIN])];
    for lan in &lans {
        // LAN client → server, server → LAN client, and the same for a LAN
        // server reached through a port forward.
        for (lan_flag, wan_flag, port_flag) in [
            ("-i", "-o", "--dport"),
            ("-o", "-i", "--sport"),
            ("-o", "-i", "--dport"),
            ("-i", "-o", "--sport"),
        ] {
            let mut r = vec!["-t", "mangle", "-A", XT_CHAIN, wan_flag, s.wan.as_str()];
            if let Some(l) = lan {
                r.extend([lan_flag, l]);
            }
            r.extend(["-p", "tcp", port_flag, "1723", "-j", "NFQUEUE"]);
            r.extend(["--queue-num", q.as_str(), "--queue-bypass"]);
            out.push(owned(&r));
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
/// `ct helper` object of type "pptp" that a rule of its table assigns
/// (`ct helper set "NAME"`). fw4 declares the object whenever the module is
/// loaded, even with `auto_helper` off; only an assignment rewrites calls.
pub fn kernel_pptp_helper(ruleset: &serde_json::Value) -> Option<String> {
    let objs = ruleset.get("nftables")?.as_array()?;
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("?").to_string()
    };
    let helpers: Vec<(String, String, String)> = objs
        .iter()
        .filter_map(|o| o.get("ct helper"))
        .filter(|h| h.get("type").and_then(|t| t.as_str()) == Some("pptp"))
        .map(|h| (s(h, "family"), s(h, "table"), s(h, "name")))
        .collect();
    objs.iter().filter_map(|o| o.get("rule")).find_map(|r| {
        let (fam, table) = (s(r, "family"), s(r, "table"));
        let exprs = r.get("expr")?.as_array()?;
        exprs.iter().find_map(|e| {
            let name = e.get("ct helper")?.as_str()?;
            helpers
                .iter()
                .find(|(f, t, n)| *f == fam && *t == table && n == name)
                .map(|(f, t, n)| {
                    format!(
                        "table {f} {t} ct helper {n}, assigned in chain {}",
                        s(r, "chain")
                    )
                })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtables_check_mirrors_every_installed_rule() {
        let s = Setup {
            wan: "wan0".into(),
            lans: vec!["lan0".into()],
            queue_num: 7,
            backend: Backend::Xtables,
            element_timeout: 60,
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

    fn setup(lans: &[&str]) -> Setup {
        Setup {
            wan: "wan0".into(),
            lans: lans.iter().map(|s| s.to_string()).collect(),
            queue_num: 7,
            backend: Backend::Xtables,
            element_timeout: 18000,
        }
    }

    #[test]
    fn xtables_rules_cover_both_roles_and_directions() {
        let cmds = xtables_install(&setup(&["br-lan"]));
        let lines: Vec<String> = cmds.iter().map(|c| c.join(" ")).collect();
        assert_eq!(lines[0], "-t mangle -N PPTP_PASSTHROUGH");
        let q = "-j NFQUEUE --queue-num 7 --queue-bypass";
        for (w, l, p) in [
            ("-o", "-i", "--dport"),
            ("-i", "-o", "--sport"),
            ("-i", "-o", "--dport"),
            ("-o", "-i", "--sport"),
        ] {
            let want =
                format!("-t mangle -A PPTP_PASSTHROUGH {w} wan0 {l} br-lan -p tcp {p} 1723 {q}");
            assert!(lines.contains(&want), "missing {want}\n{lines:#?}");
        }
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
}
