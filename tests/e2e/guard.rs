//! The helper's guard against GRE of no call, and the kernel behaviour
//! that decides where the Call ID is rewritten.

use std::time::Duration;

use super::capture::Capture;
use super::hostile::hostile;
use super::lab::*;
use super::{hosts, streaming_call};

/// Inbound GRE conntrack entries left without NAT on the router: what
/// PPTP GRE of no call would leave (a call's inbound entry is DNATed to its
/// LAN host, its outbound one masqueraded towards the server).
fn unnated_gre_entries(lab: &Lab) -> usize {
    lab.conntrack_gre(&["--reply-src", PUBLIC]).len()
}

/// Packets of PPTP GRE that reached the router's own input (where its raw
/// GRE sockets read), from a counter in a table of the test's own.
fn gre_to_the_router(lab: &Lab) -> u64 {
    lab.nft_counters("guardtest", &["input"])
}

/// The guard, both ways: GRE of no call must get no conntrack
/// entry. A flood of PPTP GRE with made-up Call IDs leaves no conntrack
/// entry with `--gre-guard raw` (untracked before conntrack, and still
/// delivered to the router's own sockets) nor with `flow` (dropped at each
/// flow's first packet, so never delivered). A live call streams through a
/// helper restart that switches the guard and loses nothing, and a new call
/// passes exactly under each.
#[test]
fn gre_of_no_call_leaves_no_conntrack_entry_with_either_guard() {
    let mut lab = Lab::new(Nat::Ours, &[10, 11, 12]);
    lab.server("net", SERVER_A);
    lab.nft_load(
        "rtr",
        "table ip guardtest {\n chain input {\n  type filter hook input priority filter; policy accept;\n  \
         ip protocol gre @th,13,3 1 counter\n }\n}\n",
    );
    lab.start_helper(&["--gre-guard", "raw"]);
    assert_eq!(lab.status()["gre_guard"], "raw");
    let live = streaming_call(&lab, 10, 400);
    std::thread::sleep(Duration::from_millis(600));
    let flood = |lab: &Lab| {
        let r = hostile(
            &lab.ns("net"),
            &["gre-flood", "--count", "500", "--to", PUBLIC],
        );
        assert_eq!(r["sent"], 500, "{r}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (seen0, local0) = (lab.unmatched_gre(), gre_to_the_router(&lab));
    flood(&lab);
    let (seen1, local1) = (lab.unmatched_gre(), gre_to_the_router(&lab));
    assert_eq!(seen1 - seen0, 500, "raw guard: every flood packet counted");
    assert_eq!(
        local1 - local0,
        500,
        "raw guard: the flood reaches the router untracked"
    );
    assert_eq!(
        unnated_gre_entries(&lab),
        0,
        "raw guard left conntrack entries"
    );
    let b = lab.client(
        "lan",
        &[
            "--server",
            SERVER_A,
            "--from",
            &hosts(11, 1),
            "--packets",
            "50",
        ],
    );
    assert_exact(&b);
    // The other guard, by a restart (SIGKILL: the table and its calls stay).
    lab.kill_helper();
    lab.start_helper(&["--gre-guard", "flow"]);
    assert_eq!(lab.status()["gre_guard"], "flow");
    let table = sh(&[
        "ip",
        "netns",
        "exec",
        &lab.ns("rtr"),
        "nft",
        "list",
        "table",
        "ip",
        "pptp_passthrough",
    ]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("chain gre_nat"), "{table}");
    assert!(
        !table.contains("notrack") && !table.contains("priority raw"),
        "the flow guard left the per-packet chain: {table}"
    );
    let (seen2, local2) = (lab.unmatched_gre(), gre_to_the_router(&lab));
    flood(&lab);
    let (seen3, local3) = (lab.unmatched_gre(), gre_to_the_router(&lab));
    assert_eq!(seen3 - seen2, 500, "flow guard: every made-up flow dropped");
    assert_eq!(
        local3 - local2,
        0,
        "flow guard: the flood reached the router"
    );
    assert_eq!(
        unnated_gre_entries(&lab),
        0,
        "flow guard left conntrack entries"
    );
    let c = lab.client(
        "lan",
        &[
            "--server",
            SERVER_A,
            "--from",
            &hosts(12, 1),
            "--packets",
            "50",
        ],
    );
    assert_exact(&c);
    assert_exact(&parse_report(&live.wait_with_output().unwrap()));
    assert_eq!(unnated_gre_entries(&lab), 0);
}

/// Pinned kernel behaviour (README, "Data path"): a DNAT rule's key range,
/// which nft accepts, leaves a PPTP GRE key alone (the kernel picks a new
/// key only in a flow with a master connection, one the kernel's own PPTP
/// helper expected), so no rule can take over the Call ID rewrite from
/// the helper's map. A kernel that starts rewriting makes this test say so.
#[test]
fn kernel_nat_leaves_a_gre_key_alone() {
    let lab = Lab::new(Nat::Ours, &[10]);
    lab.nft_load(
        "rtr",
        "table ip keynat {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  \
         iifname \"wan0\" meta l4proto gre dnat to 192.168.1.10:77\n }\n}\n",
    );
    let cap = Capture::start(
        &lab.ns("lan"),
        "ip proto 47",
        std::env::temp_dir().join(format!("{}-keynat.txt", lab.prefix)),
    );
    let r = hostile(
        &lab.ns("net"),
        &["gre-flood", "--count", "5", "--key", "1000", "--to", PUBLIC],
    );
    assert_eq!(r["sent"], 5, "{r}");
    std::thread::sleep(Duration::from_millis(500));
    let text = cap.finish();
    let to_host = text
        .lines()
        .filter(|l| l.contains("> 192.168.1.10"))
        .count();
    assert_eq!(to_host, 5, "the DNAT did not deliver: {text}");
    assert_eq!(text.matches("call 1000").count(), 5, "{text}");
    assert!(
        !text.contains("call 77,"),
        "the kernel rewrote the key: {text}"
    );
}
