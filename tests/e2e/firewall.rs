//! The helper beside the firewall: it will not run beside the kernel's
//! PPTP helper (however that is attached, at start and later), and no ICMP
//! about PPTP GRE leaves through the WAN, whatever the firewall rejects.

use std::time::Duration;

use super::lab::*;
use super::lan_clients;

#[test]
fn refuses_to_run_beside_the_kernel_helper() {
    let lab = Lab::new(Nat::Kernel, &[10]);
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("rtr"),
            BIN,
            "helper",
            "--wan",
            "wan0",
            "--socket",
        ])
        .arg(&lab.socket)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kernel's PPTP helper is attached"), "{err}");
}

/// The kernel's helper assigned through an nft map stops the start; one
/// attached later through iptables `CT --helper pptp` is found while the
/// helper runs, shown in `status` and logged, and so is its removal.
#[test]
fn finds_the_kernel_helper_through_maps_and_iptables_while_running() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let rtr = lab.ns("rtr");
    lab.nft_load(
        "rtr",
        "table inet khelp {\n\
           ct helper pptp-h { type \"pptp\" protocol tcp; }\n\
           chain pre { type filter hook prerouting priority filter;\n\
             ct helper set tcp dport map { 1723 : \"pptp-h\" }\n\
           }\n\
         }\n",
    );
    let err = lab.helper_refused(&[]);
    assert!(
        err.contains("ct helper pptp-h, assigned in chain pre"),
        "{err}"
    );
    sh(&[
        "ip", "netns", "exec", &rtr, "nft", "delete", "table", "inet", "khelp",
    ]);
    lab.start_helper(&[]);
    assert_eq!(lab.status()["kernel_helper"], serde_json::Value::Null);
    let rule = [
        "-p", "tcp", "--dport", "1723", "-j", "CT", "--helper", "pptp",
    ];
    let ipt = |op: &str| {
        let mut a = vec![
            "ip",
            "netns",
            "exec",
            &rtr,
            "iptables",
            "-w",
            "-t",
            "raw",
            op,
            "PREROUTING",
        ];
        a.extend_from_slice(&rule);
        let o = sh(&a);
        assert!(o.status.success(), "iptables {op}: {o:?}");
    };
    ipt("-A");
    let t = std::time::Instant::now();
    while !lab.status()["kernel_helper"]
        .as_str()
        .is_some_and(|h| h.contains("iptables raw") && h.contains("--helper pptp"))
    {
        assert!(t.elapsed() < Duration::from_secs(15), "{}", lab.status());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        lab.log()
            .contains("the kernel's PPTP helper is now attached (iptables raw")
    );
    ipt("-D");
    let t = std::time::Instant::now();
    while !lab.status()["kernel_helper"].is_null() {
        assert!(t.elapsed() < Duration::from_secs(15), "{}", lab.status());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(lab.log().contains("no longer attached"));
}

/// A firewall that REJECTs a call's inbound GRE (fw4's reject, a plain
/// `reject`: ICMP port-unreachable, admin-prohibited) must not tell the
/// server: pptpd drops every call from the public address on such an ICMP.
/// The router's unreachables about PPTP GRE stay home, whatever their code.
#[test]
fn icmp_from_a_reject_about_gre_never_reaches_the_server() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let net = lab.ns("net");
    let cap = Capture::start(
        &net,
        &format!("icmp and src {PUBLIC}"),
        std::env::temp_dir().join(format!("{}-icmp.txt", lab.prefix)),
    );
    for (i, how) in ["reject", "reject with icmp type admin-prohibited"]
        .iter()
        .enumerate()
    {
        // The LAN's firewall refuses GRE to the LAN host, as fw4's forward
        // policy does without the package's rule.
        lab.nft_load(
            "rtr",
            &format!(
                "table ip rej{i} {{\n chain refuse {{\n  type filter hook forward priority filter + 10; policy accept;\n  ip protocol gre oifname \"lan0\" {how}\n }}\n}}\n"
            ),
        );
        // A call: its GRE from the server meets the reject (the report
        // does not matter, nothing arrives).
        let _ = lab.one_call(10, 20);
        sh(&[
            "ip",
            "netns",
            "exec",
            &lab.ns("rtr"),
            "nft",
            "delete",
            "table",
            "ip",
            &format!("rej{i}"),
        ]);
    }
    std::thread::sleep(Duration::from_millis(500));
    let seen = cap.finish();
    assert!(seen.trim().is_empty(), "ICMP reached the server:\n{seen}");
    // The helper's rule is what stopped them (they were sent).
    let (dropped, text) = counted(&lab, "chain ip pptp_passthrough gre_icmp", "frag-needed");
    assert!(
        dropped > 0,
        "no ICMP was dropped, so none was tested:\n{text}"
    );
}

/// The per-call GRE counters in `status` count what the firewall let
/// through: with inbound GRE to the LAN dropped by a forward filter (as
/// fw4's policy does without the package's rule), the call shows its
/// packets out and none in. A call's GRE is counted by conntrack, and the
/// filter's drop of a flow's first packet leaves its entry unconfirmed.
#[test]
fn per_call_counters_count_only_what_the_firewall_let_through() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    lab.nft_load(
        "rtr",
        "table ip fwlike {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  ip protocol gre oifname \"lan0\" counter drop\n }\n}\n",
    );
    let mut call = super::streaming_call(&lab, 10, 300);
    let t = std::time::Instant::now();
    let mut calls = serde_json::Value::Null;
    while t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(300));
        calls = lab.status()["calls"].clone();
        if calls[0]["out_packets"].as_u64().unwrap_or(0) >= 50 {
            break;
        }
    }
    let _ = call.kill();
    let _ = call.wait();
    assert!(
        calls[0]["out_packets"].as_u64().unwrap_or(0) >= 50,
        "{calls:#}"
    );
    assert_eq!(
        calls[0]["in_packets"], 0,
        "GRE the firewall dropped was counted: {calls:#}"
    );
    // The server did answer: the firewall dropped its GRE.
    let (dropped, text) = counted(&lab, "table ip fwlike", "drop");
    assert!(dropped >= 50, "{text}");
}

/// The check for the kernel's helper reads iptables' legacy raw table only
/// where it exists: reading it makes it in the namespace, and every packet
/// through the router then passes it (an x_tables hook per packet).
#[test]
fn the_kernel_helper_check_makes_no_legacy_raw_table() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let names = |ns: &str| {
        let out = sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "cat",
            "/proc/net/ip_tables_names",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The mechanism, in the LAN host's namespace: reading makes the table.
    let lan = lab.ns("lan");
    let save = sh(&[
        "ip",
        "netns",
        "exec",
        &lan,
        "iptables-legacy-save",
        "-t",
        "raw",
    ]);
    assert!(save.status.success(), "iptables-legacy-save: {save:?}");
    assert!(
        names(&lan).lines().any(|l| l == "raw"),
        "reading did not make the legacy raw table: {:?}",
        names(&lan)
    );
    lab.start_helper(&[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        lab.status()["kernel_helper"].is_null(),
        "{:#}",
        lab.status()
    );
    let rtr = names(&lab.ns("rtr"));
    assert!(!rtr.lines().any(|l| l == "raw"), "{rtr:?}");
}

/// The packets counted by the rules of `what` (an nft object, "chain ip t
/// c" or "table ip t") in the router whose text holds `rule`, and the
/// listing.
fn counted(lab: &Lab, what: &str, rule: &str) -> (u64, String) {
    let mut args = vec!["ip", "netns", "exec"];
    let rtr = lab.ns("rtr");
    args.push(&rtr);
    args.extend(["nft", "list"]);
    args.extend(what.split_whitespace());
    let text = String::from_utf8_lossy(&sh(&args).stdout).into_owned();
    let n = text
        .lines()
        .filter(|l| l.contains(rule))
        .filter_map(|l| {
            l.split("packets ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    (n, text)
}

/// A firewall's `flow offload` rule (fw4's software and hardware flow
/// offloading) moves every established TCP connection into a flowtable,
/// whose packets never reach the forward hook again, the helper's queue
/// included. So the helper's verdict for a segment of an established
/// connection skips the rest of the hook (`NF_STOP`), and only each
/// connection's SYN (conntrack: new) reaches a chain after the queue's,
/// while the helper sees and rewrites every segment and the calls work.
/// (A real flowtable is tested in the VM lab: this kernel has none.)
#[test]
fn established_control_segments_skip_the_rest_of_the_forward_hook() {
    let mut lab = Lab::new(Nat::Ours, &[10, 11]);
    lab.server("net", SERVER_A);
    lab.nft_load(
        "rtr",
        "table ip offloadlike {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  \
         tcp dport 1723 counter\n  tcp sport 1723 counter\n }\n}\n",
    );
    lab.start_helper(&[]);
    let st = lab.status();
    assert_eq!(
        st["established_queue_num"].as_u64(),
        st["queue_num"].as_u64().map(|q| q + 1),
        "{st}"
    );
    assert_exact(&lan_clients(&lab, 10, 2, 50, &[]));
    let segments = lab.status()["stats"]["segments"].as_u64().unwrap_or(0);
    let (after, text) = counted(&lab, "table ip offloadlike", "counter");
    // Two connections: their SYNs (a lost SYN sent again may add one).
    assert!(
        (2..=4).contains(&after),
        "{after} control segments reached the chain after the queue's; the helper saw {segments}\n{text}"
    );
    assert!(
        segments >= 12,
        "the helper saw only {segments} control segments"
    );
}

/// The look for the kernel's helper lists the whole ruleset (a child `nft`
/// that reads every rule of the firewall) only where something could attach
/// the helper: a ct helper object of type "pptp", or a raw table. Otherwise
/// two dumps over the helper's own socket settle it.
#[test]
fn the_kernel_helper_look_lists_the_ruleset_only_where_something_could_attach_it() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    // First on the helper's PATH: an `nft` that writes down each listing
    // of the ruleset and runs the real one.
    let real = sh(&["sh", "-c", "command -v nft"]);
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    assert!(real.starts_with('/'), "no nft: {real:?}");
    let dir = std::env::temp_dir().join(format!("{}-path", lab.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let listings = dir.join("listings");
    let wrapper = dir.join("nft");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$*\" in *'list ruleset'*) echo \"$*\" >>'{}' ;; esac\nexec '{real}' \"$@\"\n",
            listings.display()
        ),
    )
    .unwrap();
    sh(&["chmod", "755", &wrapper.display().to_string()]);
    let path = std::env::var("PATH").unwrap_or_default();
    lab.helper_env
        .push(("PATH".into(), format!("{}:{path}", dir.display())));
    lab.start_helper(&[]);
    let listed = || std::fs::read_to_string(&listings).unwrap_or_default();
    // `status` looks again once the last look is older than 5 s.
    std::thread::sleep(Duration::from_secs(6));
    assert!(lab.status()["kernel_helper"].is_null(), "{}", lab.status());
    assert_eq!(
        listed(),
        "",
        "the ruleset was listed with nothing to attach the helper"
    );
    // A ct helper object of the PPTP helper that no rule assigns: now the
    // look lists the ruleset, and finds no assignment.
    lab.nft_load(
        "rtr",
        "table inet khelp {\n  ct helper pptp-h { type \"pptp\" protocol tcp; }\n}\n",
    );
    std::thread::sleep(Duration::from_secs(6));
    assert!(lab.status()["kernel_helper"].is_null(), "{}", lab.status());
    assert!(
        listed().contains("list ruleset"),
        "not listed beside a pptp helper object: {:?}",
        listed()
    );
}
