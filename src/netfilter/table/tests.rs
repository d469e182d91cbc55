use super::*;

/// The forward chain's rules, as the helper writes them over netlink
/// and as nft reads them back: GRE's rule, first, only while the
/// lookup is on.
#[test]
fn forward_rules_take_gre_only_while_it_is_looked_up() {
    let off: Vec<String> = forward_rules(false, Dispatch::Own)
        .iter()
        .map(ProtoRule::text)
        .collect();
    let on: Vec<String> = forward_rules(true, Dispatch::Own)
        .iter()
        .map(ProtoRule::text)
        .collect();
    assert_eq!(
        off,
        [
            "ip protocol tcp goto tcp_1723",
            "ip protocol icmp goto icmp_out"
        ]
    );
    assert_eq!(on[0], "ip protocol gre goto gre_fwd");
    assert_eq!(on[1..], off[..]);
}

#[test]
fn table_has_data_path_and_optional_queue() {
    let mut s = Setup {
        wan: "wan0".into(),
        lans: vec!["br-lan".into()],
        queue_num: 3,
        backend: Backend::Xtables,
        element_timeout: 100,
        guard: Guard::Raw,
        rewrite_all: false,
        gre_lookup: false,
        dispatch: Dispatch::Own,
    };
    let t = table_text(&s, false);
    assert!(t.contains("dnat to ip saddr . @th,48,16 map @gre_dnat"));
    assert!(t.contains("@th,48,16 set ip saddr . @th,48,16 map @gre_cid"));
    assert!(t.contains("ip protocol gre iifname \"wan0\""));
    assert!(!t.contains("queue num"), "no nft `queue` on this back-end");
    assert!(!t.contains("delete table"));
    // Neither the router nor a LAN host tells the server "unreachable"
    // about PPTP GRE (protocol-, port-unreachable, admin-prohibited: a
    // REJECT's), pptpd would drop every call from the public address;
    // fragmentation-needed passes.
    let icmp = "icmp type destination-unreachable icmp code != frag-needed @th,136,8 47 @th,237,3 1 oifname \"wan0\" counter drop";
    // (The last occurrence: the first is the empty one made to be deleted.)
    let output = t.split("chain gre_icmp {").last().unwrap();
    assert!(output.contains("type filter hook output priority filter;"));
    assert!(output.split('}').next().unwrap().contains(icmp));
    // In `gre_fwd` a GRE packet of a call that kept its Call ID leaves
    // at the first rule; only the rewritten range is looked up.
    let kept = "@th,48,2 != 3 return";
    let rewrite = "iifname \"wan0\" @th,48,16 set ip saddr . @th,48,16 map @gre_cid";
    let jumps = ["th dport 1723 jump ctl_pptp", "th sport 1723 jump ctl_pptp"];
    // One chain in the forward hook, one protocol test per rule: with
    // no rewritten call there is no GRE rule; TCP goes to the jumps of
    // port 1723, ICMP to the ICMP rule.
    let to_tcp = "ip protocol tcp goto tcp_1723";
    let to_icmp = "ip protocol icmp goto icmp_out";
    assert_eq!(chain(&t, "forward"), [to_tcp, to_icmp]);
    assert_eq!(chain(&t, "gre_fwd"), [kept, rewrite]);
    assert_eq!(chain(&t, "icmp_out"), [icmp]);
    assert_eq!(chain(&t, "tcp_1723"), jumps);
    // With a rewritten call, GRE goes on to `gre_fwd`.
    s.gre_lookup = true;
    let looked_up = table_text(&s, false);
    assert_eq!(
        chain(&looked_up, "forward"),
        ["ip protocol gre goto gre_fwd", to_tcp, to_icmp]
    );
    s.gre_lookup = false;
    // The chains and the map the old layout's rules used are rebuilt.
    for c in ["forward", "gre_fwd", "icmp_out", "tcp_1723"] {
        assert!(
            t.contains(&format!("delete chain ip pptp_passthrough {c}\n")),
            "{c}"
        );
    }
    assert!(t.contains("delete chain ip pptp_passthrough gre_icmp"));
    assert_one_forward_chain(&t);
    // Without nft `queue`, the verdicts are jumps to the chains of the
    // xt NFQUEUE rules, which the text declares empty and never
    // deletes (the helper replaces their rules in one transaction).
    assert_eq!(
        chain(&t, "ctl_pptp"),
        [
            "iifname { \"br-lan\" } oifname \"wan0\" ct state established jump nfqueue_est",
            "iifname { \"br-lan\" } oifname \"wan0\" jump nfqueue",
            "iifname \"wan0\" oifname { \"br-lan\" } ct state established jump nfqueue_est",
            "iifname \"wan0\" oifname { \"br-lan\" } jump nfqueue",
        ]
    );
    for q in QUEUE_CHAINS {
        assert!(chain(&t, q).is_empty());
        assert!(!t.contains(&format!("delete chain ip pptp_passthrough {q}\n")));
        assert!(t.find(&format!("chain {q} {{")) < t.rfind("chain ctl_pptp {"));
    }
    // Every forwarded packet meets these rules: each tests a protocol
    // first, and names an interface (a string copy in the kernel) only
    // after that.
    assert_cheap_tests_first(&t);
    s.backend = Backend::Nft;
    let t = table_text(&s, true);
    assert!(t.contains("delete table ip pptp_passthrough"));
    assert_eq!(chain(&t, "forward"), [to_tcp, to_icmp]);
    assert_eq!(chain(&t, "gre_fwd"), [kept, rewrite]);
    assert_eq!(chain(&t, "tcp_1723"), jumps);
    assert_one_forward_chain(&t);
    // Established connections first, to the second queue.
    assert_eq!(
        chain(&t, "ctl_pptp"),
        [
            "iifname { \"br-lan\" } oifname \"wan0\" ct state established queue num 4 bypass",
            "iifname { \"br-lan\" } oifname \"wan0\" queue num 3 bypass",
            "iifname \"wan0\" oifname { \"br-lan\" } ct state established queue num 4 bypass",
            "iifname \"wan0\" oifname { \"br-lan\" } queue num 3 bypass",
        ]
    );
    // Declared before the chain that jumps to it; deleted after it.
    // The xt rules' chains of an earlier xtables run go too.
    assert!(t.rfind("chain ctl_pptp {") < t.rfind("chain tcp_1723 {"));
    assert!(t.rfind("chain tcp_1723 {") < t.rfind("chain forward {"));
    assert!(
        t.find("delete chain ip pptp_passthrough forward")
            < t.find("delete chain ip pptp_passthrough tcp_1723")
    );
    assert!(
        t.find("delete chain ip pptp_passthrough tcp_1723")
            < t.find("delete chain ip pptp_passthrough ctl_pptp")
    );
    for q in QUEUE_CHAINS {
        assert!(
            t.find("delete chain ip pptp_passthrough ctl_pptp")
                < t.find(&format!("delete chain ip pptp_passthrough {q}\n"))
        );
    }
    assert_cheap_tests_first(&t);
    // Inbound GRE is looked up (and its Call ID rewritten) only in the
    // rewritten range of public IDs (above); outbound GRE meets no
    // lookup. Calls recovered from a helper that gave public IDs
    // anywhere are all looked up.
    s.rewrite_all = true;
    s.backend = Backend::Xtables;
    let t = table_text(&s, false);
    assert_eq!(chain(&t, "gre_fwd"), [rewrite]);
}

/// With the firewall's dispatch the helper's table has no base chain
/// in the forward hook while no call is rewritten, and none of the
/// chains the firewall's rules now hold (those of an earlier run with
/// its own dispatch are deleted); the firewall's part tests the same
/// things, IPv4 only, with the queue verdicts.
#[test]
fn the_firewalls_dispatch_leaves_the_forward_hook_to_the_firewall() {
    let mut s = Setup {
        wan: "wan0".into(),
        lans: vec!["br-lan".into()],
        queue_num: 1723,
        backend: Backend::Nft,
        element_timeout: 100,
        guard: Guard::Flow,
        rewrite_all: false,
        gre_lookup: false,
        dispatch: Dispatch::Firewall,
    };
    let t = table_text(&s, false);
    assert!(!t.contains("hook forward"), "{t}");
    for c in [
        "forward",
        "tcp_1723",
        "ctl_pptp",
        "icmp_out",
        "nfqueue",
        "nfqueue_est",
    ] {
        assert!(
            t.contains(&format!("delete chain ip pptp_passthrough {c}\n")),
            "{c}"
        );
        assert_eq!(t.matches(&format!("chain {c} {{")).count(), 1, "{c}: {t}");
    }
    // The GRE data path stays the helper's.
    assert!(t.contains("dnat to ip saddr . @th,48,16 map @gre_dnat"));
    assert_eq!(chain(&t, "gre_fwd").len(), 2);
    assert!(t.contains("chain gre_icmp {"));
    // A rewritten call: the chain, with GRE's rule alone.
    s.gre_lookup = true;
    let t = table_text(&s, false);
    assert_eq!(t.matches("hook forward").count(), 1);
    assert_eq!(chain(&t, "forward"), ["ip protocol gre goto gre_fwd"]);
    assert!(forward_rules(false, Dispatch::Firewall).is_empty());

    let f = firewall_rules(&s);
    assert_eq!(
        f.dispatch.lines().collect::<Vec<_>>(),
        [
            "meta l4proto tcp jump pptp_passthrough_tcp comment \"pptp-passthrough: PPTP control connections to the helper\"",
            "meta l4proto icmp jump pptp_passthrough_icmp comment \"pptp-passthrough: no unreachable about PPTP GRE out\"",
        ]
    );
    let c = format!("{}\n{}", f.chains, "}");
    assert_eq!(
        chain(&c, "pptp_passthrough_tcp"),
        [
            "th dport 1723 jump pptp_passthrough_ctl",
            "th sport 1723 jump pptp_passthrough_ctl"
        ]
    );
    assert_eq!(
        chain(&c, "pptp_passthrough_ctl"),
        [
            "meta nfproto ipv4 iifname { \"br-lan\" } oifname \"wan0\" ct state established queue num 1724 bypass",
            "meta nfproto ipv4 iifname { \"br-lan\" } oifname \"wan0\" queue num 1723 bypass",
            "meta nfproto ipv4 iifname \"wan0\" oifname { \"br-lan\" } ct state established queue num 1724 bypass",
            "meta nfproto ipv4 iifname \"wan0\" oifname { \"br-lan\" } queue num 1723 bypass",
        ]
    );
    assert_eq!(
        chain(&c, "pptp_passthrough_icmp"),
        [
            "icmp type destination-unreachable icmp code != frag-needed @th,136,8 47 @th,237,3 1 oifname \"wan0\" counter drop"
        ]
    );
    // The firewall's rules are the same for either guard and lookup,
    // and use none of the helper's maps (they cannot reach them).
    s.gre_lookup = false;
    s.guard = Guard::Raw;
    assert_eq!(firewall_rules(&s), f);
    for m in [MAP_DNAT, MAP_CID, SET_IN, SET_OUT] {
        assert!(!f.chains.contains(m) && !f.dispatch.contains(m), "{m}");
    }
}

/// One base chain in the forward hook, at priority mangle (before the
/// firewall's); the two forward chains of earlier versions are deleted
/// and not declared again.
fn assert_one_forward_chain(t: &str) {
    assert_eq!(t.matches("hook forward").count(), 1, "{t}");
    assert!(t.contains("type filter hook forward priority mangle;"));
    for old in ["gre_forward", "ctl_queue"] {
        assert!(t.contains(&format!("delete chain ip pptp_passthrough {old}\n")));
        assert_eq!(t.matches(&format!("chain {old} {{")).count(), 1, "{old}");
    }
}

/// The bit test picks out exactly the allocator's rewritten range.
#[test]
fn the_bit_test_is_the_rewritten_range() {
    let bits: u32 = KEY_TOP_BITS
        .strip_prefix("@th,48,")
        .unwrap()
        .parse()
        .unwrap();
    let value = REWRITTEN_TOP;
    assert_eq!(value, (1 << bits) - 1, "all tested bits set");
    assert_eq!(crate::nat::alloc::REWRITTEN_FROM, value << (16 - bits));
}

/// The chain's rules, from its last declaration (the first is the
/// empty one made to be deleted).
fn chain<'a>(t: &'a str, name: &str) -> Vec<&'a str> {
    let body = t.split(&format!("chain {name} {{")).last().unwrap();
    body.lines()
        .map(str::trim)
        .take_while(|l| *l != "}")
        .filter(|l| !l.is_empty() && !l.starts_with("type "))
        .collect()
}

#[test]
fn the_guard_per_packet_or_per_flow() {
    let mut s = Setup {
        wan: "wan0".into(),
        lans: vec![],
        queue_num: 3,
        backend: Backend::Nft,
        element_timeout: 100,
        guard: Guard::Raw,
        rewrite_all: false,
        gre_lookup: false,
        dispatch: Dispatch::Own,
    };
    let dnat = "ip protocol gre iifname \"wan0\" dnat to ip saddr . @th,48,16 map @gre_dnat";
    // Raw: every inbound PPTP GRE packet is looked up before conntrack;
    // no call's is left untracked (and still reaches the router).
    let t = table_text(&s, false);
    assert_eq!(
        chain(&t, "gre_raw"),
        [
            "ip protocol gre iifname \"wan0\" @th,13,3 1 ip saddr . @th,48,16 != @gre_in counter notrack"
        ]
    );
    assert_eq!(chain(&t, "gre_nat"), [dnat]);
    assert!(t.contains("type filter hook prerouting priority raw;"));
    // Flow: nothing per packet before conntrack; in the NAT chain (a
    // flow's first packet only) PPTP GRE the map did not take is dropped.
    s.guard = Guard::Flow;
    let t = table_text(&s, false);
    assert!(
        !t.contains("priority raw"),
        "a raw chain with the flow guard"
    );
    assert!(t.contains("delete chain ip pptp_passthrough gre_raw\n"));
    assert_eq!(
        t.matches("chain gre_raw {").count(),
        1,
        "only the one made to be deleted"
    );
    assert_eq!(
        chain(&t, "gre_nat"),
        [
            dnat,
            "ip protocol gre iifname \"wan0\" @th,13,3 1 counter drop"
        ]
    );
    assert!(t.contains("type nat hook prerouting priority dstnat - 5;"));
    // Switching rebuilds the chains (declared, deleted, declared again)
    // and keeps the maps: a restart with the other guard loses no call.
    for c in ["gre_raw", "gre_nat"] {
        assert!(t.contains(&format!("delete chain ip pptp_passthrough {c}\n")));
    }
    assert!(!t.contains("delete table"));
    assert_cheap_tests_first(&t);
}

/// Rules every forwarded packet meets. (Only TCP port 1723 enters
/// `ctl_pptp`, only GRE `gre_fwd`, only ICMP `icmp_out`.)
fn assert_cheap_tests_first(t: &str) {
    let t: String = t
        .split("chain ")
        .filter(|c| {
            !["ctl_pptp {", "gre_fwd {", "icmp_out {"]
                .iter()
                .any(|n| c.starts_with(n))
        })
        .collect::<Vec<_>>()
        .join("chain ");
    let rules = t.lines().map(str::trim).filter(|l| {
        ["ip protocol", "th ", "tcp ", "icmp ", "iifname", "oifname"]
            .iter()
            .any(|p| l.starts_with(p))
    });
    let mut n = 0;
    for r in rules {
        n += 1;
        assert!(
            !r.starts_with("iifname") && !r.starts_with("oifname"),
            "interface name tested first: {r}"
        );
    }
    assert!(n >= 5, "{t}");
}
