//! Talking to nftables: the table as text through `nft -f`, element batches
//! as JSON in process through libnftables when it is there (see `libnft`),
//! else through the `nft` binary (the nftables crate); listings as JSON from
//! the `nft` binary.

use super::{OsError, libnft, run};
use crate::netfilter::{self, Setup, TABLE};
use crate::netfilter::{NFPROTO_IPV4, rulesetmsg};

/// Load nft text in one transaction (`check`: kernel dry run only).
pub fn load_text(text: &str, check: bool) -> Result<(), OsError> {
    let mut args = vec![];
    if check {
        args.push("-c".to_string());
    }
    args.extend(["-f".to_string(), "-".to_string()]);
    run("nft", &args, Some(text)).map(|_| ())
}

/// Whether the kernel has the nft `queue` expression.
pub fn queue_supported() -> bool {
    load_text(&netfilter::probe_queue_text(), true).is_ok()
}

/// Install (or rebuild) the helper's table, keeping map elements when the
/// existing table is compatible; otherwise replace it whole.
pub fn install_table(s: &Setup) -> Result<bool, OsError> {
    match load_text(&netfilter::table_text(s, false), false) {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "existing table incompatible: replacing it");
            load_text(&netfilter::table_text(s, true), false).map(|_| false)
        }
    }
}

/// Replace the helper's table with a new, empty one (a table of an older
/// layout; its calls are added again by the caller).
pub fn replace_table(s: &Setup) -> Result<(), OsError> {
    load_text(&netfilter::table_text(s, true), false)
}

/// Remove the helper's table (clean exit).
pub fn delete_table() -> Result<(), OsError> {
    load_text(
        &format!("table ip {TABLE} {{\n}}\ndelete table ip {TABLE}\n"),
        false,
    )
}

/// `nft -j list table ip pptp_passthrough` (JSON text), or None when it
/// does not exist. Listings run the `nft` binary even when libnftables is
/// loaded: building the JSON of every element in process left some 30 MiB
/// of the helper's heap resident at 10 000 calls; in a child process it
/// goes when the child exits.
pub fn list_table() -> Result<Option<String>, OsError> {
    match list_table_binary() {
        Ok(s) => Ok(Some(s)),
        Err(OsError::Command { detail, .. }) if detail.contains("No such file") => Ok(None),
        Err(e) => Err(e),
    }
}

fn list_table_binary() -> Result<String, OsError> {
    let args: Vec<String> = ["-j", "list", "table", "ip", TABLE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    run("nft", &args, None)
}

/// Whether the helper's table exists: one dump of the table names over
/// the helper's own socket (no nft cache to fill, no transaction). Where
/// that socket is off, a dry-run `create table`, which fails with "File
/// exists" when it does; any nft listing, even `list tables`, would fetch
/// every map element (0.4 s and 14 MiB at 10 000 calls).
pub fn table_exists() -> Result<bool, OsError> {
    if let Some(r) = super::nftnl::tables() {
        let tables = r.map_err(OsError::Nft)?;
        return Ok(rulesetmsg::has_table(&tables, NFPROTO_IPV4, TABLE));
    }
    let cmd = format!("create table ip {TABLE}");
    let r = match libnft::check(&cmd) {
        Some(r) => r,
        None => {
            let args: Vec<String> = vec!["-c".into(), cmd];
            run("nft", &args, None).map_err(|e| match e {
                OsError::Command { detail, .. } => detail,
                e => e.to_string(),
            })
        }
    };
    match r {
        Ok(_) => Ok(false),
        Err(e) if e.contains("File exists") => Ok(true),
        Err(e) => Err(OsError::Nft(e)),
    }
}

/// Whether the xtables chain is still hooked in.
pub fn xtables_present(s: &Setup) -> bool {
    netfilter::xtables_check(s)
        .into_iter()
        .all(|args| run("iptables", &with_wait(args), None).is_ok())
}

/// `nft -j ARGS` in a child process (like `list_table`), parsed.
fn list_json(args: &[&str]) -> Result<serde_json::Value, OsError> {
    let mut all = vec!["-j".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    let s = run("nft", &all, None)?;
    serde_json::from_str(&s).map_err(|e| OsError::Nft(format!("unreadable JSON: {e}")))
}

/// The whole ruleset as JSON, without the elements of named sets and maps
/// (`-t`), then with those of the maps a `ct helper` assignment reads
/// (`netfilter::helper_maps`).
pub fn list_ruleset() -> Result<serde_json::Value, OsError> {
    let mut ruleset = list_json(&["-t", "list", "ruleset"])?;
    for (family, table, name) in netfilter::helper_maps(&ruleset) {
        let map = list_json(&["list", "map", &family, &table, &name])?;
        netfilter::add_listing(&mut ruleset, &map);
    }
    Ok(ruleset)
}

/// Where the kernel's PPTP helper is attached, if anywhere: nft rules
/// (literal, map or named map assignments) and iptables `CT --helper pptp`
/// in the raw table, through iptables-nft and iptables-legacy alike. A
/// missing `iptables-save` is no finding; an unreadable ruleset is an error.
/// A raw table is read only where it exists: reading the legacy one makes
/// it, and every packet through the router would then pass it.
pub fn kernel_pptp_helper() -> Result<Option<String>, OsError> {
    let legacy_raw = std::fs::read_to_string("/proc/net/ip_tables_names")
        .is_ok_and(|names| netfilter::legacy_table_listed(&names, "raw"));
    // Over the helper's own socket, two small dumps settle the usual case:
    // no ct helper object of the PPTP helper (without one no nft rule can
    // attach it) and no raw table for an iptables `CT` rule. Only
    // otherwise is the whole ruleset listed.
    if !legacy_raw && nothing_attaches_pptp() {
        return Ok(None);
    }
    let ruleset = list_ruleset()?;
    if let Some(h) = netfilter::kernel_pptp_helper(&ruleset) {
        return Ok(Some(h));
    }
    let mut backends = Vec::new();
    if netfilter::has_table(&ruleset, "ip", "raw") {
        backends.push(true);
    }
    if legacy_raw {
        backends.push(false);
    }
    let args = vec!["-t".to_string(), "raw".to_string()];
    for nft in backends {
        let save = raw_reader(nft).and_then(|prog| run(prog, &args, None).ok());
        if let Some(h) = save.and_then(|s| netfilter::iptables_pptp_helper(&s)) {
            return Ok(Some(h));
        }
    }
    Ok(None)
}

/// Whether the own socket shows that nothing but iptables-legacy could
/// attach the PPTP helper (see `rulesetmsg::nothing_attaches_pptp`). False
/// when that socket is off or a dump fails: then the ruleset is listed.
fn nothing_attaches_pptp() -> bool {
    match (super::nftnl::tables(), super::nftnl::pptp_helper_objects()) {
        (Some(Ok(tables)), Some(Ok(helpers))) => {
            rulesetmsg::nothing_attaches_pptp(&tables, &helpers)
        }
        _ => false,
    }
}

/// The program that reads the raw table of one back-end (nf_tables or
/// legacy) and never the other's: reading a legacy table makes it (see
/// [`netfilter::legacy_table_listed`]). The back-end's own
/// `iptables-*-save`, else `iptables-save` when its `--version` names
/// that back-end.
fn raw_reader(nft: bool) -> Option<&'static str> {
    let own = if nft {
        "iptables-nft-save"
    } else {
        "iptables-legacy-save"
    };
    let version = vec!["--version".to_string()];
    if run(own, &version, None).is_ok() {
        return Some(own);
    }
    let v = run("iptables-save", &version, None).ok()?;
    (netfilter::xtables_backend_is_nft(&v) == Some(nft)).then_some("iptables-save")
}

/// Whether the firewall's part of the dispatch is loaded and reached
/// (`netfilter::FW_CHAINS`); `Ok(true)` when it cannot be asked without a
/// child process (no guess that would raise an alarm).
pub fn firewall_dispatch() -> Result<bool, OsError> {
    match super::nftnl::firewall_dispatch() {
        Some(r) => r.map_err(OsError::Nft),
        None => Ok(true),
    }
}

/// Apply call map changes in one transaction: over the helper's own
/// netlink socket when it can (see `nftnl`), else as a JSON batch.
pub fn apply_changes(
    changes: &[crate::nat::Change],
    gre_lookup: Option<netfilter::GreLookup>,
    element_timeout: u32,
) -> Result<(), OsError> {
    match super::nftnl::apply(changes, gre_lookup, element_timeout) {
        Some(r) => r.map_err(OsError::Nft),
        None => apply(&netfilter::batch(changes, gre_lookup, element_timeout)),
    }
}

/// Apply one JSON batch of element changes in one transaction.
pub fn apply(batch: &nftables::schema::Nftables) -> Result<(), OsError> {
    let json = serde_json::to_string(batch).map_err(|e| OsError::Nft(e.to_string()))?;
    match libnft::run(&json) {
        Some(r) => r.map(|_| ()).map_err(OsError::Nft),
        None => nftables::helper::apply_ruleset(batch).map_err(|e| OsError::Nft(e.to_string())),
    }
}

/// Install the xtables NFQUEUE rules (after removing stale ones).
pub fn xtables_install(s: &Setup) -> Result<(), OsError> {
    xtables_remove();
    for args in netfilter::xtables_install(s) {
        run("iptables", &with_wait(args), None)?;
    }
    Ok(())
}

/// Remove the xtables rules of this helper or of an earlier one (killed,
/// or an older version), and iptables-nft's mangle table when nothing else
/// is left in it, without making a legacy mangle table where none exists
/// (see [`netfilter::legacy_table_listed`]): iptables-nft makes nothing
/// for a rule it cannot find.
pub fn xtables_clear() {
    let version = vec!["--version".to_string()];
    let Ok(v) = run("iptables", &version, None) else {
        return;
    };
    let legacy = netfilter::xtables_backend_is_nft(&v) != Some(true);
    let mangle = std::fs::read_to_string("/proc/net/ip_tables_names")
        .is_ok_and(|names| netfilter::legacy_table_listed(&names, "mangle"));
    if legacy && mangle {
        xtables_remove();
    }
    if !legacy {
        xtables_remove();
        drop_idle_mangle();
    }
}

/// Delete iptables-nft's mangle table when it changes nothing (see
/// [`netfilter::iptables_table_idle`]): the empty `mangle FORWARD` base
/// chain an earlier helper's rules left would cost every forwarded packet
/// a chain call.
fn drop_idle_mangle() {
    let args = with_wait(vec!["-t".into(), "mangle".into(), "-S".into()]);
    let Ok(listing) = run("iptables", &args, None) else {
        return;
    };
    if netfilter::iptables_table_idle(&listing) {
        let del: Vec<String> = ["delete", "table", "ip", "mangle"].map(String::from).into();
        let _ = run("nft", &del, None);
    }
}

/// Remove the xtables rules; pieces already gone are fine.
pub fn xtables_remove() {
    for args in netfilter::xtables_remove() {
        let _ = run("iptables", &with_wait(args), None);
    }
}

fn with_wait(mut args: Vec<String>) -> Vec<String> {
    args.insert(0, "-w".to_string());
    args
}
