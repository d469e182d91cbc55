//! The xtables back-end's queue rules inside the helper's own table, sans-IO.
//! A kernel without the nft `queue` expression (CONFIG_NFT_QUEUE off) still
//! runs xtables targets through nft_compat, the way iptables-nft does:
//! a rule whose one expression is `target` NFQUEUE (revision 3). `nft`
//! cannot write such a rule, so the helper sends it itself, and `nft list`
//! shows it as `xt target "NFQUEUE"` with a comment naming the queue.
//!
//! With the rules in the helper's table, GRE crosses one base chain of the
//! helper in the forward hook instead of two (its own, and iptables'
//! `mangle FORWARD` with the jumps to the queue).
//!
//! Each queue rule sits alone in its own chain ([`QUEUE_CHAINS`]); the
//! matches (interfaces, connection state) are nft text in `ctl_pptp`,
//! which jumps there. Netlink and attribute headers are in the host's byte
//! order (`nfnl`); the target's info, `struct xt_NFQ_info_v3`, is too
//! (linux/netfilter/xt_NFQUEUE.h).
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use netlink_packet_core::NlasIterator;

use super::TABLE;
use super::nfnl::{Attr, Dump, NLM_F_CREATE, NLM_F_REQUEST, NfGen, dump_request, transaction};
use super::nfnl::{be32, read_dump, string, string_of, udata_comment};
use super::table::ProtoRule;
use super::uapi::*;

/// The chains of the queue rules: control segments of established
/// connections, and all others (see `Setup::established_queue`).
pub const QUEUE_CHAINS: [&str; 2] = ["nfqueue_est", "nfqueue"];

const TARGET: &str = "NFQUEUE";
/// Revision 3 carries the bypass flag and is in every kernel since 3.10.
const TARGET_REV: u32 = 3;
/// NFQ_FLAG_BYPASS: no listener on the queue means accept (fail-open).
const NFQ_FLAG_BYPASS: u16 = 0x01;

const RULES: NfGen = NfGen {
    family: NFPROTO_IPV4,
    res_id: 0,
};

/// `struct xt_NFQ_info_v3 { __u16 queuenum, queues_total, flags; }` in
/// the host's order, padded to XT_ALIGN (8 bytes).
fn nfqueue_info(queue: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(8);
    v.extend(queue.to_ne_bytes());
    v.extend(1u16.to_ne_bytes());
    v.extend(NFQ_FLAG_BYPASS.to_ne_bytes());
    v.extend([0, 0]);
    v
}

fn chain_attrs(chain: &str) -> [Attr; 2] {
    [
        string(NFTA_RULE_TABLE, TABLE),
        string(NFTA_RULE_CHAIN, chain),
    ]
}

/// One transaction that empties each chain of `rules` (chain, queue) and
/// puts its one queue rule there: a restart or a changed queue number
/// never leaves a moment without the rule, nor two rules. Sequence numbers
/// from `seq`; the last message asks for the acknowledgement (failing
/// messages are reported anyway, before it).
pub fn install(rules: &[(&str, u16)], seq: u32) -> Vec<u8> {
    let mut msgs = Vec::new();
    for (chain, queue) in rules {
        // Without a handle, DELRULE removes every rule of the chain.
        msgs.push((
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE,
            NLM_F_REQUEST,
            chain_attrs(chain).to_vec(),
        ));
        let target = Attr::Nested(
            NFTA_LIST_ELEM,
            vec![
                string(NFTA_EXPR_NAME, "target"),
                Attr::Nested(
                    NFTA_EXPR_DATA,
                    vec![
                        string(NFTA_TARGET_NAME, TARGET),
                        be32(NFTA_TARGET_REV, TARGET_REV),
                        Attr::Bytes(NFTA_TARGET_INFO, nfqueue_info(*queue)),
                    ],
                ),
            ],
        );
        let [table, chain] = chain_attrs(chain);
        let attrs = vec![
            table,
            chain,
            Attr::Nested(NFTA_RULE_EXPRESSIONS, vec![target]),
            udata_comment(
                NFTA_RULE_USERDATA,
                &format!("NFQUEUE --queue-num {queue} --queue-bypass"),
            ),
        ];
        msgs.push((
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
            NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
            attrs,
        ));
    }
    transaction(NFNL_SUBSYS_NFTABLES, &msgs, RULES, seq)
}

/// The IPv4 header's protocol field, byte 9 (RFC 791 §3.1).
const IP_PROTOCOL_AT: u32 = 9;

fn expr(name: &str, data: Vec<Attr>) -> Attr {
    Attr::Nested(
        NFTA_LIST_ELEM,
        vec![
            string(NFTA_EXPR_NAME, name),
            Attr::Nested(NFTA_EXPR_DATA, data),
        ],
    )
}

/// `ip protocol P goto C` as nft itself encodes it: the protocol byte
/// loaded into register 1, compared, the verdict.
fn proto_rule_expressions(r: &ProtoRule) -> Attr {
    let verdict = vec![
        be32(NFTA_VERDICT_CODE, NFT_GOTO),
        string(NFTA_VERDICT_CHAIN, r.goto),
    ];
    Attr::Nested(
        NFTA_RULE_EXPRESSIONS,
        vec![
            expr(
                "payload",
                vec![
                    be32(NFTA_PAYLOAD_DREG, NFT_REG_1),
                    be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER),
                    be32(NFTA_PAYLOAD_OFFSET, IP_PROTOCOL_AT),
                    be32(NFTA_PAYLOAD_LEN, 1),
                ],
            ),
            expr(
                "cmp",
                vec![
                    be32(NFTA_CMP_SREG, NFT_REG_1),
                    be32(NFTA_CMP_OP, NFT_CMP_EQ),
                    Attr::Nested(
                        NFTA_CMP_DATA,
                        vec![Attr::Bytes(NFTA_DATA_VALUE, vec![r.proto])],
                    ),
                ],
            ),
            expr(
                "immediate",
                vec![
                    be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT),
                    Attr::Nested(
                        NFTA_IMMEDIATE_DATA,
                        vec![Attr::Nested(NFTA_DATA_VERDICT, verdict)],
                    ),
                ],
            ),
        ],
    )
}

/// The messages that replace the rules of `chain` by `rules`, for a
/// transaction of the caller's (which adds sequence numbers and asks for
/// the acknowledgement): every rule of the chain removed, then each one
/// appended. The kernel swaps the chain's rules at the commit: a packet
/// sees the old rules or the new, never none.
pub fn replace_rules(chain: &str, rules: &[ProtoRule]) -> Vec<(u16, u16, Vec<Attr>)> {
    let mut v = vec![(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE,
        NLM_F_REQUEST,
        chain_attrs(chain).to_vec(),
    )];
    for r in rules {
        let [table, chain] = chain_attrs(chain);
        v.push((
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
            NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
            vec![table, chain, proto_rule_expressions(r)],
        ));
    }
    v
}

/// The message that makes `chain` a base chain in the forward hook at
/// priority mangle, policy accept, as nft sends `add chain ... { type
/// filter hook forward priority mangle; policy accept; }`. Without
/// NLM_F_EXCL an existing chain of that hook is left as it is, so it can
/// precede a deletion that must not fail on a chain that is gone.
pub fn forward_base_chain(chain: &str) -> (u16, u16, Vec<Attr>) {
    (
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
        NLM_F_REQUEST | NLM_F_CREATE,
        vec![
            string(NFTA_CHAIN_TABLE, TABLE),
            string(NFTA_CHAIN_NAME, chain),
            string(NFTA_CHAIN_TYPE, "filter"),
            be32(NFTA_CHAIN_POLICY, NF_ACCEPT),
            Attr::Nested(
                NFTA_CHAIN_HOOK,
                vec![
                    be32(NFTA_HOOK_HOOKNUM, NF_INET_FORWARD),
                    be32(NFTA_HOOK_PRIORITY, PRIORITY_MANGLE),
                ],
            ),
        ],
    )
}

/// The message that deletes `chain` with its rules (the kernel removes a
/// chain's rules along with it unless asked not to).
pub fn delete_chain(chain: &str) -> (u16, u16, Vec<Attr>) {
    (
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELCHAIN,
        NLM_F_REQUEST,
        vec![
            string(NFTA_CHAIN_TABLE, TABLE),
            string(NFTA_CHAIN_NAME, chain),
        ],
    )
}

/// How many messages [`install`] sends, batch markers included.
pub fn install_messages(rules: usize) -> u32 {
    u32::try_from(rules.saturating_mul(2).saturating_add(2)).unwrap_or(u32::MAX)
}

/// A dump of the rules of chain `chain` of table `table` of `family`: the
/// helper's own (`ip`), or a firewall's (`inet`).
pub fn rules_request(family: u8, table: &str, chain: &str, seq: u32) -> Vec<u8> {
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
    let attrs = [
        string(NFTA_RULE_TABLE, table),
        string(NFTA_RULE_CHAIN, chain),
    ];
    dump_request(ty, seq, NfGen { family, res_id: 0 }, &attrs)
}

/// What one datagram of a rule dump holds: (chain, queue) of every rule
/// that is one NFQUEUE target, any other rule (chain, None); an error
/// when the chain or table is gone.
pub type Dumped = Dump<(String, Option<u16>)>;

/// The queue of a rule whose expressions are exactly one NFQUEUE target.
fn queue_of(expressions: &[u8]) -> Option<u16> {
    let mut found = None;
    for (n, e) in NlasIterator::new(expressions).enumerate() {
        let e = e.ok()?;
        if n > 0 {
            return None;
        }
        let (mut name, mut data) = (None, None);
        for a in NlasIterator::new(e.value()) {
            let a = a.ok()?;
            match a.kind() & 0x3fff {
                NFTA_EXPR_NAME => name = Some(string_of(a.value())),
                NFTA_EXPR_DATA => data = Some(a.value().to_vec()),
                _ => {}
            }
        }
        if name.as_deref() != Some("target") {
            return None;
        }
        let (mut tname, mut info) = (None, None);
        for a in NlasIterator::new(&data?[..]) {
            let a = a.ok()?;
            match a.kind() & 0x3fff {
                NFTA_TARGET_NAME => tname = Some(string_of(a.value())),
                NFTA_TARGET_INFO => info = Some(a.value().to_vec()),
                _ => {}
            }
        }
        let info = info?;
        let flags = u16::from_ne_bytes(info.get(4..6)?.try_into().ok()?);
        if tname.as_deref() != Some(TARGET) || flags & NFQ_FLAG_BYPASS == 0 {
            return None;
        }
        found = Some(u16::from_ne_bytes(info.get(..2)?.try_into().ok()?));
    }
    found
}

fn rule(attrs: &[u8]) -> Option<(String, Option<u16>)> {
    let (mut chain, mut queue) = (None, None);
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        match a.kind() & 0x3fff {
            NFTA_RULE_CHAIN => chain = Some(string_of(a.value())),
            NFTA_RULE_EXPRESSIONS => queue = queue_of(a.value()),
            _ => {}
        }
    }
    Some((chain?, queue))
}

/// Read one datagram of a rule dump. Never panics on short or bad input.
pub fn dumped(buf: &[u8]) -> Dumped {
    read_dump(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::nfnl::{NLMSG_DONE, each_message};
    use crate::testutil::hex;

    /// The messages: (type, flags, seq, payload after nfgenmsg).
    fn messages(b: &[u8]) -> Vec<(u16, u16, u32, Vec<u8>)> {
        each_message(b)
            .map(|m| {
                let p = m.payload()[4..].to_vec();
                (m.message_type(), m.flags(), m.sequence_number(), p)
            })
            .collect()
    }

    #[test]
    fn install_empties_each_chain_then_adds_its_rule_in_one_batch() {
        let b = install(&[("nfqueue_est", 1), ("nfqueue", 0)], 40);
        let ms = messages(&b);
        let tys: Vec<u16> = ms.iter().map(|m| m.0).collect();
        assert_eq!(tys, [0x10, 0x0a08, 0x0a06, 0x0a08, 0x0a06, 0x11]);
        assert_eq!(ms.len() as u32, install_messages(2));
        let seqs: Vec<u32> = ms.iter().map(|m| m.2).collect();
        assert_eq!(seqs, [40, 41, 42, 43, 44, 45]);
        // Deletes ask no acknowledgement; only the last rule does; rules
        // are created and appended.
        let flags: Vec<u16> = ms.iter().map(|m| m.1).collect();
        assert_eq!(flags, [1, 1, 0x0c01, 1, 0x0c05, 1]);
        // Each rule reads back as its chain and queue.
        let mut again = Vec::new();
        for (ty, _, _, p) in &ms {
            if *ty == 0x0a06 {
                again.push(rule(p).unwrap());
            }
        }
        assert_eq!(
            again,
            [("nfqueue_est".into(), Some(1)), ("nfqueue".into(), Some(0))]
        );
    }

    /// The rule message pinned byte for byte for each host byte order.
    #[test]
    fn rule_bytes_per_host_byte_order() {
        let b = install(&[("nfqueue", 7)], 1);
        let ms = messages(&b);
        let rule = &ms[2].3;
        #[cfg(target_endian = "little")]
        let want = hex(
            "1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
             0c00 0200 6e667175 65756500                              # chain
             3800 0480 3400 0180 0b00 0100 74617267 657400 00        # expressions, elem, name
             2400 0280 0c00 0100 4e465155 45554500                   # data, target name
             0800 0200 00000003                                      # revision (big-endian)
             0c00 0300 0700 0100 0100 0000                           # queue 7, 1 queue, bypass
             2b00 0700 0025                                          # comment",
        );
        #[cfg(target_endian = "big")]
        let want = hex(
            "0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
             000c 0002 6e667175 65756500                              # chain
             0038 8004 0034 8001 000b 0001 74617267 657400 00        # expressions, elem, name
             0024 8002 000c 0001 4e465155 45554500                   # data, target name
             0008 0002 00000003                                      # revision (big-endian)
             000c 0003 0007 0001 0001 0000                           # queue 7, 1 queue, bypass
             002b 0007 0025                                          # comment",
        );
        assert_eq!(&rule[..want.len()], &want[..]);
        let text = b"NFQUEUE --queue-num 7 --queue-bypass\0";
        assert_eq!(&rule[want.len()..want.len() + text.len()], text);
    }

    #[test]
    fn dump_request_names_table_and_chain() {
        let b = rules_request(NFPROTO_IPV4, TABLE, "nfqueue", 9);
        let ms = messages(&b);
        assert_eq!(ms.len(), 1);
        assert_eq!((ms[0].0, ms[0].1, ms[0].2), (0x0a07, 0x301, 9));
        assert_eq!(
            rule(&ms[0].3),
            Some(("nfqueue".into(), None)),
            "table and chain, no expressions"
        );
    }

    /// A dump answer as the kernel sends it: the rule (what `install`
    /// sent, the kernel adds a handle and position), then NLMSG_DONE.
    #[test]
    fn dumped_reads_rules_done_and_errors() {
        let sent = install(&[("nfqueue", 3)], 1);
        let mut answer = messages_bytes(&sent, 2);
        answer.extend(done());
        let d = dumped(&answer);
        assert_eq!(d.items, [("nfqueue".to_string(), Some(3))]);
        assert!(d.done);
        assert_eq!(d.error, None);
        // Without the bypass flag the rule is not ours.
        let mut no_bypass = messages_bytes(&sent, 2);
        let at = find(&no_bypass, &nfqueue_info(3)) + 4;
        no_bypass[at] = 0;
        no_bypass[at + 1] = 0;
        assert_eq!(dumped(&no_bypass).items, [("nfqueue".to_string(), None)]);
        // An error (the chain is gone).
        let mut err = vec![0u8; 36];
        err[..4].copy_from_slice(&36u32.to_ne_bytes());
        err[4..6].copy_from_slice(&2u16.to_ne_bytes());
        err[16..20].copy_from_slice(&(-2i32).to_ne_bytes());
        assert_eq!(dumped(&err).error, Some(-2));
        assert!(!dumped(&err).done);
    }

    #[test]
    fn dumped_survives_truncation_and_garbage() {
        let sent = install(&[("nfqueue", 3)], 1);
        let rule = messages_bytes(&sent, 2);
        for cut in 0..rule.len() {
            let _ = dumped(&rule[..cut]);
        }
        let mut bad = rule.clone();
        for i in 20..bad.len() {
            bad[i] ^= 0xff;
            let _ = dumped(&bad);
            bad[i] ^= 0xff;
        }
        assert_eq!(dumped(&[]), Dumped::default());
    }

    fn find(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).position(|w| w == needle).unwrap()
    }

    /// The bytes of message `n` of a batch.
    fn messages_bytes(b: &[u8], n: usize) -> Vec<u8> {
        let m = each_message(b).nth(n).unwrap();
        let len = m.length() as usize;
        m.into_inner()[..len].to_vec()
    }

    fn done() -> Vec<u8> {
        let mut v = vec![0u8; 20];
        v[..4].copy_from_slice(&20u32.to_ne_bytes());
        v[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        v
    }
}
