//! The helper's nft table as nft's native syntax. nft 1.0.6's JSON cannot
//! declare a set keyed by `typeof ... @th,48,16` (a raw payload: the GRE
//! Call ID, RFC 2637 §4.1 bytes 6-7), so the table is loaded as text in one
//! `nft -f` transaction; elements go through the nftables crate's JSON.

use super::rulemsg::QUEUE_CHAINS;
use super::{Backend, Dispatch, Guard, MAP_CID, MAP_DNAT, SET_IN, SET_OUT, Setup, TABLE};
#[cfg(doc)]
use crate::nat::alloc::REWRITTEN_FROM;

/// ICMP "destination unreachable" of any code but "fragmentation needed"
/// about a PPTP (version 1) GRE packet (the quoted IP header taken as 20
/// bytes: GRE version at bits 237-239). A peer whose GRE socket is
/// connected to our public address fails on it, and pptpd then drops
/// *every* call from that address, not just the one the packet belonged
/// to. The router sends protocol-unreachable for GRE that arrives just
/// after a call's mapping is gone (sent by the server before it saw the
/// Call-Clear-Request), and a firewall's REJECT (fw4's, or a plain
/// `reject`) sends port-unreachable or admin-prohibited; a LAN host sends
/// one when its PPTP client exits while GRE still comes (and it would leave
/// un-NATed). None goes out. Fragmentation-needed passes: path MTU
/// discovery needs it.
const ICMP_GRE_UNREACH: &str = "icmp type destination-unreachable icmp code != frag-needed \
     @th,136,8 47 @th,237,3 1";

/// The rule that keeps [`ICMP_GRE_UNREACH`] from leaving through the WAN.
fn icmp_rule(wan: &str) -> String {
    format!("{ICMP_GRE_UNREACH} oifname \"{wan}\" counter drop")
}

/// The rules that send either end of TCP port 1723 to chain `ctl`, one a
/// line, indented for a chain's body.
fn port_1723_jumps(ctl: &str) -> String {
    format!("        th dport 1723 jump {ctl}\n        th sport 1723 jump {ctl}\n")
}

/// Public Call IDs from [`REWRITTEN_FROM`] up (their top two bits set,
/// the GRE key at bits 48-63 of the header, RFC 2637 §4.1).
const KEY_TOP_BITS: &str = "@th,48,2";
const REWRITTEN_TOP: u16 = 3;

fn quoted(names: &[String]) -> String {
    let v: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("{{ {} }}", v.join(", "))
}

/// Everything the helper does in the forward hook is one base chain,
/// `forward`, at priority mangle: every packet the router forwards, PPTP or
/// not, pays one chain call for the helper instead of one per chain. It
/// runs before the firewall's forward chain, which the control segments'
/// queue must (its `flow offload` rule would take an established control
/// connection away from the queue). The Call ID rewrite there is
/// invisible to the firewall, which matches addresses and connection
/// state, not GRE keys; and nothing counted per call is read from this
/// chain (a call's GRE is counted by conntrack, whose entries a firewall's
/// drop of a flow's first packet leaves unconfirmed).
///
/// The whole table. With `replace`, an existing table of the same name is
/// deleted in the same transaction (stale rules from an older version);
/// otherwise existing maps and their elements are kept (restart recovery)
/// and only the chains are rebuilt.
pub fn table_text(s: &Setup, replace: bool) -> String {
    let wan = &s.wan;
    let mut t = String::new();
    // `table x {}` first so that `delete`/`flush` always find something.
    t.push_str(&format!("table ip {TABLE} {{\n}}\n"));
    if replace {
        t.push_str(&format!("delete table ip {TABLE}\n"));
    }
    // The guard: per packet before conntrack, or once per flow after the
    // DNAT map (a map lookup that fails ends the rule, so only GRE of no
    // call reaches the drop).
    // With `flow` there is no raw chain at all: even an empty base chain
    // costs every packet through the router a call.
    let (raw_guard, flow_guard) = match s.guard {
        Guard::Raw => (
            format!(
                "    chain gre_raw {{
        type filter hook prerouting priority raw; policy accept;
        ip protocol gre iifname \"{wan}\" @th,13,3 1 ip saddr . @th,48,16 != @{SET_IN} counter notrack
    }}
"
            ),
            String::new(),
        ),
        Guard::Flow => (
            String::new(),
            format!("\n        ip protocol gre iifname \"{wan}\" @th,13,3 1 counter drop"),
        ),
    };
    // Only public Call IDs of the rewritten range differ from the LAN
    // host's own: a GRE packet of any other call (the usual case: a home
    // router's one or two calls keep theirs) leaves the chain at its first
    // rule, one protocol and one bit test: one load and one compare more
    // than the kernel helper's one rule (its `ct helper set` of TCP port
    // 1723) costs a GRE packet.
    let kept = if s.rewrite_all {
        String::new()
    } else {
        format!("\n        {KEY_TOP_BITS} != {REWRITTEN_TOP} return")
    };
    // (`forward` before `tcp_1723`, `tcp_1723` before `ctl_pptp`,
    // `ctl_pptp` before the queue chains: each jumps to the next.
    // `gre_forward` and `ctl_queue` are the two forward chains of earlier
    // versions.) The xtables back-end's queue
    // chains are kept: their rules come from the helper's own netlink
    // message (`rulemsg`), which replaces them in one transaction.
    let mut chains = vec![
        "gre_raw",
        "gre_nat",
        "gre_forward",
        "gre_icmp",
        "ctl_queue",
        FORWARD_CHAIN,
        "gre_fwd",
        "icmp_out",
        "tcp_1723",
        "ctl_pptp",
    ];
    if s.backend == Backend::Nft {
        chains.extend(QUEUE_CHAINS);
    }
    for chain in chains {
        t.push_str(&format!(
            "table ip {TABLE} {{\n    chain {chain} {{\n    }}\n}}\ndelete chain ip {TABLE} {chain}\n"
        ));
    }
    t.push_str(&format!(
        r#"table ip {TABLE} {{
    comment "pptp-passthrough: GRE data path of PPTP calls; managed by the helper"
    map {MAP_DNAT} {{
        typeof ip saddr . @th,48,16 : ip daddr
        flags timeout
    }}
    map {MAP_CID} {{
        typeof ip saddr . @th,48,16 : @th,48,16
        flags timeout
        counter
    }}
    set {SET_OUT} {{
        typeof ip daddr . @th,48,16
        flags timeout
        counter
    }}
    set {SET_IN} {{
        typeof ip saddr . @th,48,16
        flags timeout
    }}
{raw_guard}    chain gre_nat {{
        type nat hook prerouting priority dstnat - 5; policy accept;
        ip protocol gre iifname "{wan}" dnat to ip saddr . @th,48,16 map @{MAP_DNAT}{flow_guard}
    }}
    chain gre_icmp {{
        type filter hook output priority filter; policy accept;
        {icmp}
    }}
"#,
        icmp = icmp_rule(wan)
    ));
    if s.dispatch == Dispatch::Own {
        if s.backend == Backend::Xtables {
            for chain in QUEUE_CHAINS {
                t.push_str(&format!("    chain {chain} {{\n    }}\n"));
            }
        }
        t.push_str(&format!("    chain ctl_pptp {{\n{}    }}\n", ctl_rules(s)));
    }
    // `gre_fwd`: GRE of a call that kept its Call ID returns at the bit
    // test; inbound GRE of a rewritten call gets its LAN Call ID. Outbound
    // GRE in the rewritten range (the server's Call ID) fails the
    // interface test and falls off the end, accepted.
    t.push_str(&format!(
        r#"    chain gre_fwd {{{kept}
        iifname "{wan}" @th,48,16 set ip saddr . @th,48,16 map @{MAP_CID}
    }}
"#
    ));
    // Only TCP goes to `tcp_1723` (either end of port 1723 jumps to
    // `ctl_pptp`; the rest falls off its end, accepted), and only ICMP to
    // `icmp_out`.
    if s.dispatch == Dispatch::Own {
        t.push_str(&format!(
            "    chain tcp_1723 {{\n{}    }}\n    chain icmp_out {{\n        {}\n    }}\n",
            port_1723_jumps("ctl_pptp"),
            icmp_rule(wan)
        ));
    }
    // With the firewall's dispatch, the helper's forward chain exists only
    // while GRE is looked up.
    let rules = forward_rules(s.gre_lookup, s.dispatch);
    if !rules.is_empty() {
        t.push_str(&format!(
            "    chain {FORWARD_CHAIN} {{\n        {FORWARD_HOOK}\n{}    }}\n",
            rules
                .iter()
                .map(|r| format!("        {}\n", r.text()))
                .collect::<String>()
        ));
    }
    t.push_str("}\n");
    t
}

/// The helper's base chain in the forward hook, at priority mangle: before
/// the firewall's forward chain, whose `flow offload` rule would take an
/// established control connection away from the queue.
const FORWARD_HOOK: &str = "type filter hook forward priority mangle; policy accept;";

/// The rules that queue control segments (TCP port 1723 already tested),
/// one a line; with the xtables back-end their verdicts are jumps to the
/// chains of the NFQUEUE targets (declared by [`table_text`]). The
/// firewall's `flow offload` rule must never see an established control
/// connection (see `Setup::established_queue`). Either end: LAN clients,
/// LAN servers behind a port forward. With the firewall's dispatch (an
/// `inet` table) each rule first tests for IPv4: the helper speaks IPv4
/// only.
fn ctl_rules(s: &Setup) -> String {
    let wan = &s.wan;
    let (q, qe) = (s.queue_num, s.established_queue());
    // The verdicts: the nft `queue` expression, or on kernels without it
    // a jump to the chain that holds the xt NFQUEUE target (see
    // `rulemsg`).
    let [est, new] = QUEUE_CHAINS;
    let (to_qe, to_q) = match s.backend {
        Backend::Nft => (
            format!("queue num {qe} bypass"),
            format!("queue num {q} bypass"),
        ),
        Backend::Xtables => (format!("jump {est}"), format!("jump {new}")),
    };
    let lan_in = if s.lans.is_empty() {
        String::new()
    } else {
        format!("iifname {} ", quoted(&s.lans))
    };
    let lan_out = if s.lans.is_empty() {
        String::new()
    } else {
        format!("oifname {} ", quoted(&s.lans))
    };
    let v4 = match s.dispatch {
        Dispatch::Own => "",
        Dispatch::Firewall => "meta nfproto ipv4 ",
    };
    format!(
        r#"        {v4}{lan_in}oifname "{wan}" ct state established {to_qe}
        {v4}{lan_in}oifname "{wan}" {to_q}
        {v4}iifname "{wan}" {lan_out}ct state established {to_qe}
        {v4}iifname "{wan}" {lan_out}{to_q}
"#
    )
}

/// The firewall's part of [`Dispatch::Firewall`], as fw4 includes take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallRules {
    /// Chains for the firewall's table (fw4: a `table-post` include).
    pub chains: String,
    /// Rules for the end of its forward chain that runs before `flow
    /// offload` (fw4: a `chain-post` include of `mangle_forward`).
    pub dispatch: String,
}

/// The chains in the firewall's table, named apart from fw4's own.
pub const FW_CHAINS: [&str; 3] = [
    "pptp_passthrough_tcp",
    "pptp_passthrough_ctl",
    "pptp_passthrough_icmp",
];

/// The rules of [`Dispatch::Firewall`]: the same tests as the helper's own
/// chains, in an `inet` table (so `meta l4proto`, which either family
/// has). Every forwarded packet meets the two dispatch rules; only TCP
/// goes on to the port tests, only port 1723 to the queue, only ICMP to
/// the ICMP rule. Counted in the bench's VM behind a firewall, these two
/// tests cost a GRE packet less than the kernel helper's rule and its GRE
/// work; the helper's own chain costs about 200 instructions more.
pub fn firewall_rules(s: &Setup) -> FirewallRules {
    let [tcp, ctl, icmp] = FW_CHAINS;
    let rules = ctl_rules(&Setup {
        backend: Backend::Nft,
        dispatch: Dispatch::Firewall,
        ..s.clone()
    });
    let chains = format!(
        "chain {tcp} {{\n{}}}\nchain {ctl} {{\n{rules}}}\nchain {icmp} {{\n        {}\n}}\n",
        port_1723_jumps(ctl),
        icmp_rule(&s.wan)
    );
    let dispatch = format!(
        "meta l4proto tcp jump {tcp} comment \"pptp-passthrough: PPTP control connections to the helper\"\n\
         meta l4proto icmp jump {icmp} comment \"pptp-passthrough: no unreachable about PPTP GRE out\"\n"
    );
    FirewallRules { chains, dispatch }
}

/// One rule of the `forward` chain: a protocol and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoRule {
    /// IP protocol number (RFC 790 via the IANA registry: 1 ICMP, 6 TCP,
    /// 47 GRE).
    pub proto: u8,
    /// Its name in nft's syntax.
    pub name: &'static str,
    /// The chain the packet continues in (`goto`: the end of that chain
    /// ends the hook's walk, with this chain's policy, accept).
    pub goto: &'static str,
}

impl ProtoRule {
    fn text(&self) -> String {
        format!("ip protocol {} goto {}", self.name, self.goto)
    }
}

/// The rules of the `forward` chain, which every packet the router
/// forwards walks: each a payload load and an equality compare on nft's
/// inline fast path (no function call, no lookup: `ip protocol` rather
/// than `tcp dport` or `icmp type`, whose protocol test is `meta l4proto`,
/// a call), and a `goto` for the packets it takes. With no call whose
/// Call ID is rewritten (`gre_lookup` off, the usual home router's one or
/// two calls) there is no GRE rule: a GRE packet, like any packet but TCP
/// and ICMP, fails the two tests and leaves with the chain's policy,
/// without a verdict to carry out. Otherwise GRE is taken first, to
/// `gre_fwd`. The helper rewrites these rules (in the transaction of the
/// elements of the call that switches the lookup) when `gre_lookup`
/// changes.
///
/// With the firewall's dispatch only GRE's rule is the helper's, and no
/// rule means no chain.
pub fn forward_rules(gre_lookup: bool, dispatch: Dispatch) -> Vec<ProtoRule> {
    let gre = ProtoRule {
        proto: 47,
        name: "gre",
        goto: "gre_fwd",
    };
    let rest = [
        ProtoRule {
            proto: 6,
            name: "tcp",
            goto: "tcp_1723",
        },
        ProtoRule {
            proto: 1,
            name: "icmp",
            goto: "icmp_out",
        },
    ];
    let rest = match dispatch {
        Dispatch::Own => &rest[..],
        Dispatch::Firewall => &[],
    };
    gre_lookup
        .then_some(gre)
        .into_iter()
        .chain(rest.iter().copied())
        .collect()
}

/// A switch of the GRE lookup (see [`forward_rules`]), and where the
/// dispatch is: with the helper's own, the switch rewrites the forward
/// chain's rules; with the firewall's, it makes the chain or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreLookup {
    pub on: bool,
    pub dispatch: Dispatch,
}

/// The chain whose rules [`forward_rules`] are.
pub const FORWARD_CHAIN: &str = "forward";

/// A throw-away table for `nft --check`: loads only where the kernel has
/// the nft `queue` expression.
pub fn probe_queue_text() -> String {
    format!(
        "table ip {TABLE}_probe {{\n chain c {{\n  type filter hook forward priority 0; policy accept;\n  queue num 0 bypass\n }}\n}}\n"
    )
}

#[cfg(test)]
mod tests;
