//! Where the control segments' queue rules live: on the xtables back-end
//! as NFQUEUE targets in the helper's own table (iptables untouched, one
//! chain in the forward hook), in iptables only as the fallback; and
//! nothing of either left after a clean exit.

use std::time::Duration;

use crate::hosts;
use crate::lab::*;

/// `ARGS` run in the router's namespace; their standard output. A failure
/// fails the test.
fn in_rtr(lab: &Lab, args: &[&str]) -> String {
    let rtr = lab.ns("rtr");
    let mut all = vec!["ip", "netns", "exec", rtr.as_str()];
    all.extend_from_slice(args);
    let o = sh(&all);
    assert!(o.status.success(), "{args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn clean_exit_removes_table_and_rules() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.start_helper(&[]);
    stop_helper(&mut lab);
    assert!(lab.helper_table().is_none(), "table left behind");
    assert!(!iptables_mangle(&lab).contains("PPTP_PASSTHROUGH"));
}

/// `nft list chain ip pptp_passthrough CHAIN` in the router.
fn helper_chain(lab: &Lab, chain: &str) -> String {
    in_rtr(
        lab,
        &["nft", "list", "chain", "ip", "pptp_passthrough", chain],
    )
}

/// End the helper as its service does (SIGTERM) and wait for it.
fn stop_helper(lab: &mut Lab) {
    let pid = lab.helper_pid();
    sh(&["kill", "-TERM", &pid.to_string()]);
    lab.wait_helper();
}

/// Control segments the helper has seen through its queues.
fn segments(lab: &Lab) -> u64 {
    lab.status()["stats"]["segments"].as_u64().unwrap()
}

/// iptables' mangle table in the router, as `-S` prints it.
fn iptables_mangle(lab: &Lab) -> String {
    in_rtr(lab, &["iptables", "-w", "-t", "mangle", "-S"])
}

/// The xtables back-end puts its NFQUEUE rules, xt targets, into the
/// helper's own table: iptables gets nothing, so the helper has one base
/// chain in the forward hook. A rule flushed behind its back comes back
/// within the check interval; calls go through the queue before and after.
#[test]
fn xtables_queue_rules_sit_in_the_helpers_table() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    // An older helper, killed, left its iptables chain and jumps.
    for r in [
        "-t mangle -N PPTP_PASSTHROUGH",
        "-t mangle -A PPTP_PASSTHROUGH -o wan0 -j NFQUEUE --queue-num 1723 --queue-bypass",
        "-t mangle -I FORWARD -p tcp --dport 1723 -j PPTP_PASSTHROUGH",
    ] {
        let mut args = vec!["iptables", "-w"];
        args.extend(r.split(' '));
        in_rtr(&lab, &args);
    }
    lab.start_helper(&["--backend", "xtables"]);
    let st = lab.status();
    assert_eq!(st["backend"], "xtables");
    assert_eq!(st["queue_rules"], "table", "{st}");
    assert!(
        !iptables_mangle(&lab).contains("PPTP_PASSTHROUGH"),
        "the stale iptables rules were not removed"
    );
    for (chain, q) in [("nfqueue", 1723), ("nfqueue_est", 1724)] {
        // One rule: nft prints the xt target as `xt target "NFQUEUE"`, or
        // translated (`queue num Q bypass`) where it is built with
        // libxtables; the comment names the queue either way.
        let c = helper_chain(&lab, chain);
        let rules: Vec<&str> = c.lines().filter(|l| l.contains("comment")).collect();
        assert_eq!(rules.len(), 1, "{c}");
        assert!(
            rules[0].contains("xt target \"NFQUEUE\"")
                || rules[0].contains(&format!("queue num {q} bypass")),
            "{c}"
        );
        assert!(
            rules[0].contains(&format!(
                "comment \"NFQUEUE --queue-num {q} --queue-bypass\""
            )),
            "{c}"
        );
    }
    // One base chain of the helper in the forward hook, none of iptables.
    let rules = lab.helper_table().unwrap();
    assert_eq!(rules.matches("hook forward").count(), 1, "{rules}");
    let ruleset = in_rtr(&lab, &["nft", "list", "ruleset"]);
    assert!(!ruleset.contains("table ip mangle"), "{ruleset}");
    assert_exact(&lab.client("lan", &["--server", SERVER_A, "--from", &hosts(10, 1)]));
    let queued = segments(&lab);
    assert!(queued > 0, "no control segment was queued");
    // Flushed behind the helper's back: restored within its interval.
    in_rtr(
        &lab,
        &["nft", "flush", "chain", "ip", "pptp_passthrough", "nfqueue"],
    );
    assert!(!helper_chain(&lab, "nfqueue").contains("NFQUEUE"));
    let gone = std::time::Instant::now();
    while !helper_chain(&lab, "nfqueue").contains("NFQUEUE") {
        assert!(
            gone.elapsed() < Duration::from_secs(8),
            "queue rule not restored"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(lab.log().contains("restoring them"));
    assert_exact(&lab.client("lan", &["--server", SERVER_A, "--from", &hosts(10, 1)]));
    assert!(segments(&lab) > queued, "the second call was not queued");
}

/// Where the kernel refuses the table's xt rules (or it is asked to), the
/// helper puts them into iptables, and takes them out on exit.
#[test]
fn xtables_queue_rules_through_iptables() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.helper_env
        .push(("PPTP_PASSTHROUGH_QUEUE_RULES".into(), "iptables".into()));
    lab.server("net", SERVER_A);
    lab.start_helper(&["--backend", "xtables"]);
    assert_eq!(lab.status()["queue_rules"], "iptables");
    let x = iptables_mangle(&lab);
    assert!(
        x.contains("-A PPTP_PASSTHROUGH") && x.contains("--queue-bypass"),
        "{x}"
    );
    for chain in ["nfqueue", "nfqueue_est"] {
        assert!(!helper_chain(&lab, chain).contains("NFQUEUE"));
    }
    assert_exact(&lab.client("lan", &["--server", SERVER_A, "--from", &hosts(10, 1)]));
    assert!(segments(&lab) > 0, "no control segment was queued");
    stop_helper(&mut lab);
    assert!(!iptables_mangle(&lab).contains("PPTP_PASSTHROUGH"));
}

/// The firewall's dispatch needs nft's `queue` (its rules sit in the
/// firewall's table, where no xtables target of the helper's can go): on
/// a kernel without it (this host's) the helper refuses to start, says
/// why, and leaves no table. `fw4-rules` prints the firewall's part all
/// the same.
#[test]
fn the_firewalls_dispatch_needs_nft_queue() {
    let lab = Lab::new(Nat::Ours, &[10]);
    let probe = lab
        .command("rtr", &["fw4-rules", "--wan", "wan0", "--part", "chains"])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");
    assert!(String::from_utf8_lossy(&probe.stdout).contains("queue num 1723 bypass"));
    for extra in [&[][..], &["--backend", "xtables"][..]] {
        let err = lab.helper_refused(&[&["--dispatch", "firewall"], extra].concat());
        assert!(
            err.contains("the firewall's dispatch needs the nft `queue` expression"),
            "{extra:?}: {err}"
        );
        assert!(lab.helper_table().is_none(), "{extra:?}: a table was left");
    }
}
