//! The GRE path through the forward chain, and what `status` reads of each
//! call: a call that keeps its own Call ID is not looked up per packet, a
//! call's totals (conntrack's) outlive the entries that counted them, and
//! the kernel map's time left comes for every call.

use std::time::{Duration, Instant};

use super::lab::*;
use super::{hosts, streaming_call};

/// `nft ARGS` in the router's namespace.
fn rtr_nft(lab: &Lab, args: &[&str]) -> std::process::Output {
    let rtr = lab.ns("rtr");
    sh(&[&["ip", "netns", "exec", &rtr, "nft"][..], args].concat())
}

/// The packets counted on the `gre_cid` element of (server A, `public`).
fn cid_element_packets(lab: &Lab, public: u64) -> Option<u64> {
    let out = rtr_nft(
        lab,
        &["-j", "list", "map", "ip", "pptp_passthrough", "gre_cid"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("nft JSON");
    let map = v["nftables"]
        .as_array()?
        .iter()
        .find_map(|o| o.get("map"))?
        .clone();
    map["elem"].as_array()?.iter().find_map(|e| {
        let e = &e[0]["elem"];
        let key = &e["val"]["concat"];
        (key[0] == SERVER_A && key[1] == public)
            .then(|| e["counter"]["packets"].as_u64().unwrap_or(0))
    })
}

/// Status until `ok` holds of the calls (at most 10 s).
fn calls_until(lab: &Lab, ok: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let t = Instant::now();
    loop {
        let calls = lab.status()["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if ok(&calls) || t.elapsed() > Duration::from_secs(10) {
            return calls;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two hosts call server A with Call ID 4660. The first keeps 4660 as its
/// public ID; the second gets one of the rewritten range (from 0xC000).
/// While both stream, the second's `gre_cid` element counts its packets
/// (looked up and rewritten) and the first's counts none (it passed the
/// forward chain on the bit test). Both get every packet back with 4660.
#[test]
fn a_kept_call_id_is_not_looked_up_and_a_rewritten_one_is() {
    let mut lab = Lab::new(Nat::Ours, &[10, 11]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let a = streaming_call(&lab, 10, 300);
    std::thread::sleep(Duration::from_millis(500));
    let b = streaming_call(&lab, 11, 300);
    let calls = calls_until(&lab, |c| {
        c.len() == 2
            && c.iter()
                .all(|c| c["in_packets"].as_u64().unwrap_or(0) >= 50)
    });
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let public = |host: &str| {
        calls
            .iter()
            .find(|c| c["lan"].as_str().unwrap_or("").starts_with(host))
            .map(|c| c["public_call_id"].as_u64().unwrap())
            .unwrap()
    };
    let (pa, pb) = (public("192.168.1.10:"), public("192.168.1.11:"));
    assert_eq!(pa, 4660, "the first call keeps its own ID: {calls:#?}");
    assert!(pb >= 0xC000, "the second is in the rewritten range: {pb}");
    let kept = cid_element_packets(&lab, pa).expect("element of the kept call");
    let rewritten = cid_element_packets(&lab, pb).expect("element of the rewritten call");
    assert_eq!(kept, 0, "the kept call's GRE was looked up");
    assert!(rewritten >= 50, "the rewritten call's GRE: {rewritten}");
    for c in [a, b] {
        let r = parse_report(&c.wait_with_output().unwrap());
        assert_exact(&r);
    }
    let st = lab.status();
    assert_eq!(st["call_ids"]["kept_own"], 1, "{st:#}");
}

/// With conntrack's GRE timeout at 2 s, a call's GRE entries die while it
/// lingers after its last packet; its counters in `status` stay what was
/// sent and echoed (100 each way, exactly), as the helper adds up the
/// entries it has seen.
#[test]
fn call_counters_outlive_their_conntrack_entries() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    let rtr = lab.ns("rtr");
    let set = sh(&[
        "ip",
        "netns",
        "exec",
        &rtr,
        "sh",
        "-c",
        "echo 2 > /proc/sys/net/netfilter/nf_conntrack_gre_timeout",
    ]);
    assert!(set.status.success());
    lab.start_helper(&[]);
    let c = lab.spawn_client(
        "lan",
        &[
            "--server",
            SERVER_A,
            "--from",
            &hosts(10, 1),
            "--packets",
            "100",
            "--interval-ms",
            "5",
            "--linger",
            "6",
        ],
    );
    let calls = calls_until(&lab, |c| {
        c.first()
            .is_some_and(|c| c["in_packets"] == 100 && c["out_packets"] == 100)
    });
    assert_eq!(calls.len(), 1, "{calls:#?}");
    // The entries expire 2 s after the last packet; the helper samples
    // every second.
    let gre_entries = || {
        let out = sh(&["ip", "netns", "exec", &rtr, "cat", "/proc/net/nf_conntrack"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(" gre "))
            .count()
    };
    assert!(gre_entries() > 0, "no GRE entries while the call streamed");
    let t = Instant::now();
    while gre_entries() > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(gre_entries(), 0, "the call's GRE entries did not expire");
    let st = lab.status();
    let call = &st["calls"][0];
    assert_eq!(st["gre_counters"], "conntrack");
    for (k, want) in [("in_packets", 100), ("out_packets", 100)] {
        assert_eq!(call[k], want, "{k} after the entries died: {call:#}");
    }
    assert!(call["in_bytes"].as_u64().unwrap() >= 100 * 64, "{call:#}");
    let r = parse_report(&c.wait_with_output().unwrap());
    assert_exact(&r);
}

/// A thousand calls held (16 connections of 64 from four hosts, each at its
/// limit of 256 towards one server): the dump of `gre_dnat` takes several
/// datagrams, and `status` gives every call its element's time left (the
/// default lifetime, 18 000 s, less the seconds since it was set) and says
/// it is answered, over the helper's own socket.
#[test]
fn status_reads_the_time_left_of_a_thousand_calls() {
    const N: usize = 1024;
    let mut lab = Lab::new(Nat::Ours, &[10, 11, 12, 13]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let lan = lab.ns("lan");
    let burst = std::process::Command::new("ip")
        .args(["netns", "exec", &lan])
        .arg(example("hostile"))
        .args(["ocrq-burst", "--count", &N.to_string(), "--per-conn", "64"])
        .args(["--bind", "192.168.1.10", "--hosts", "4", "--hold", "30"])
        .args(["--to", SERVER_A])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.adopt(burst);
    let answered = |c: &[serde_json::Value]| {
        c.iter()
            .filter(|c| {
                c["pending"] == false
                    && c["expires"]
                        .as_u64()
                        .is_some_and(|e| (17_900..18_000).contains(&e))
            })
            .count()
    };
    let calls = calls_until(&lab, |c| answered(c) == N);
    assert_eq!(calls.len(), N);
    assert_eq!(answered(&calls), N, "{:#}", calls[0]);
    assert_eq!(lab.elements("gre_dnat"), N);
    assert!(
        !lab.log()
            .contains("status lists the table with nft instead")
    );
}

/// The rule of the forward chain that GRE meets, as `nft` lists it.
fn gre_rule(lab: &Lab) -> String {
    let out = rtr_nft(lab, &["list", "chain", "ip", "pptp_passthrough", "forward"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("ip protocol gre"))
        .unwrap_or_default()
        .to_string()
}

/// The forward chain has no rule for GRE until some call's public Call ID
/// is not its own. The first such call sends GRE to
/// `gre_fwd` in the transaction of its elements (every one of its packets
/// comes back with its own Call ID), and its end switches GRE back; a call
/// that keeps its ID switches nothing. Over the helper's own netlink socket
/// and over nft's JSON (the `nft` binary).
#[test]
fn gre_is_looked_up_only_while_a_call_is_rewritten() {
    for via in ["own socket", "binary"] {
        let mut lab = Lab::new(Nat::Ours, &[10, 11]);
        if via == "binary" {
            lab.helper_env
                .push(("PPTP_PASSTHROUGH_NFT".into(), "binary".into()));
        }
        lab.server("net", SERVER_A);
        lab.start_helper(&[]);
        assert_eq!(gre_rule(&lab), "", "{via}: no GRE rule");
        let a = streaming_call(&lab, 10, 300);
        let calls = calls_until(&lab, |c| c.len() == 1);
        assert_eq!(calls[0]["public_call_id"], 4660, "{calls:#?}");
        assert_eq!(gre_rule(&lab), "", "{via}: a kept call");
        let b = streaming_call(&lab, 11, 300);
        let calls = calls_until(&lab, |c| {
            c.len() == 2
                && c.iter()
                    .all(|c| c["in_packets"].as_u64().unwrap_or(0) >= 20)
        });
        assert_eq!(calls.len(), 2, "{calls:#?}");
        assert_eq!(
            gre_rule(&lab),
            "ip protocol gre goto gre_fwd",
            "{via}: a rewritten call"
        );
        for c in [a, b] {
            assert_exact(&parse_report(&c.wait_with_output().unwrap()));
        }
        let calls = calls_until(&lab, <[serde_json::Value]>::is_empty);
        assert!(calls.is_empty(), "{calls:#?}");
        assert_eq!(gre_rule(&lab), "", "{via}: calls ended");
        assert!(
            lab.log().contains("GRE Call IDs looked up"),
            "{}",
            lab.log()
        );
    }
}
