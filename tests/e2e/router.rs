//! What the lab's router holds in its kernel, read from outside the
//! helper: nft tables, the helper's maps and counters, conntrack entries.

use std::process::{Command, Stdio};

use super::lab::{Lab, sh};

impl Lab {
    pub fn nft_load(&self, ns: &str, text: &str) {
        use std::io::Write;
        let mut c = Command::new("ip")
            .args(["netns", "exec", &self.ns(ns), "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft");
        c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        assert!(c.wait().unwrap().success(), "nft load failed:\n{text}");
    }

    /// `nft list table ip pptp_passthrough` in the router: the listing,
    /// or `None` when there is no such table.
    pub fn helper_table(&self) -> Option<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns("rtr"), "nft", "list", "table"])
            .args(["ip", "pptp_passthrough"])
            .output()
            .expect("nft");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The objects of `nft -j list table ip TABLE` on the router; the
    /// test fails when the table does not exist.
    fn nft_objects(&self, table: &str) -> Vec<serde_json::Value> {
        let rtr = self.ns("rtr");
        let out = sh(&[
            "ip", "netns", "exec", &rtr, "nft", "-j", "list", "table", "ip", table,
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no table ip {table} on the router ({e}): {out:?}"));
        v["nftables"].as_array().cloned().unwrap_or_default()
    }

    /// Number of elements in the helper's map or set `name`.
    /// Like [`Lab::elements`], 0 while the table does not exist.
    pub fn elements_or_zero(&self, name: &str) -> usize {
        if self.helper_table().is_some() {
            self.elements(name)
        } else {
            0
        }
    }

    pub fn elements(&self, name: &str) -> usize {
        self.nft_objects("pptp_passthrough")
            .iter()
            .filter_map(|o| o.get("map").or_else(|| o.get("set")))
            .filter(|m| m["name"] == name)
            .map(|m| {
                m.get("elem")
                    .and_then(|e| e.as_array())
                    .map_or(0, |e| e.len())
            })
            .sum()
    }

    /// Packets counted by the helper's guard for PPTP GRE that matched no
    /// call (arrived before its mapping, or after it ended): the `raw`
    /// guard's rule, or the `flow` guard's drop in the NAT chain.
    pub fn unmatched_gre(&self) -> u64 {
        self.nft_counters("pptp_passthrough", &["gre_raw", "gre_nat"])
    }

    /// The sum of the rule counters in `chains` of table `ip TABLE` on the
    /// router (0 for a chain that does not exist).
    pub fn nft_counters(&self, table: &str, chains: &[&str]) -> u64 {
        self.nft_objects(table)
            .iter()
            .filter_map(|o| o.get("rule"))
            .filter(|r| chains.iter().any(|c| r["chain"] == *c))
            .flat_map(|r| r["expr"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e.get("counter").and_then(|c| c["packets"].as_u64()))
            .sum()
    }

    /// The router's conntrack entries of GRE that `filter` (conntrack -L
    /// options) selects, a line each.
    pub fn conntrack_gre(&self, filter: &[&str]) -> Vec<String> {
        let rtr = self.ns("rtr");
        let mut args = vec!["ip", "netns", "exec", &rtr, "conntrack", "-L", "-p", "gre"];
        args.extend_from_slice(filter);
        let out = sh(&args);
        assert!(out.status.success(), "conntrack -L: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("gre"))
            .map(str::to_string)
            .collect()
    }
}
