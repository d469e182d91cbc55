//! The helper's periodic looks at the ruleset, sans-IO: which tables exist
//! (its own table still there? an `ip raw` table an iptables `CT` rule could
//! sit in?) and which ct helper objects are of the kernel's "pptp" helper.
//! Each is one nf_tables dump (`NFT_MSG_GETTABLE`, `NFT_MSG_GETOBJ` of type
//! `NFT_OBJECT_CT_HELPER`) over the helper's own socket, where listing the
//! whole ruleset means a child `nft` process and every rule of the
//! firewall: a router's CPU pays that every few seconds for as long as
//! the helper runs. An nft rule can assign a helper only through a ct
//! helper object, so without one of type "pptp" no nft rule attaches it.
//! Netlink and attribute headers are in the host's byte order (`nfnl`);
//! the object type is big-endian, as every nf_tables number.
//
// Offsets and lengths here come from the kernel's bytes: no silent
// wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use netlink_packet_core::NlasIterator;

use super::nfnl::{Dump, NfGen, be32, dump_request, read_dump_family, string_of};
use super::uapi::*;

/// The kernel's name of the PPTP conntrack helper.
const PPTP: &str = "pptp";

/// Every family: a dump of all tables or objects.
const ALL: NfGen = NfGen {
    family: NFPROTO_UNSPEC,
    res_id: 0,
};

/// A table: its family (`NFPROTO_*`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: u8,
    pub name: String,
}

/// A ct helper object of the kernel's PPTP helper: its family, table and
/// name (the one a `ct helper set` names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PptpHelper {
    pub family: u8,
    pub table: String,
    pub name: String,
}

/// A dump of every table of every family.
pub fn tables_request(seq: u32) -> Vec<u8> {
    dump_request(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
        seq,
        ALL,
        &[],
    )
}

fn table(family: u8, attrs: &[u8]) -> Option<Table> {
    Some(Table {
        family,
        name: string_of(&nested(attrs, NFTA_TABLE_NAME)?),
    })
}

/// Read one datagram of a table dump. Never panics on short or bad input.
pub fn tables_dumped(buf: &[u8]) -> Dump<Table> {
    read_dump_family(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE, table)
}

/// A dump of the ct helper objects of every table (the kernel filters by
/// type).
pub fn ct_helpers_request(seq: u32) -> Vec<u8> {
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
    dump_request(ty, seq, ALL, &[be32(NFTA_OBJ_TYPE, NFT_OBJECT_CT_HELPER)])
}

/// The object, if it is a ct helper of the PPTP helper.
fn pptp_helper(family: u8, attrs: &[u8]) -> Option<PptpHelper> {
    let (mut table, mut name, mut ty, mut helper) = (None, None, None, None);
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        match a.kind() & 0x3fff {
            NFTA_OBJ_TABLE => table = Some(string_of(a.value())),
            NFTA_OBJ_NAME => name = Some(string_of(a.value())),
            NFTA_OBJ_TYPE => ty = Some(u32::from_be_bytes(a.value().try_into().ok()?)),
            NFTA_OBJ_DATA => {
                helper = nested(a.value(), NFTA_CT_HELPER_NAME).map(|n| string_of(&n));
            }
            _ => {}
        }
    }
    (ty == Some(NFT_OBJECT_CT_HELPER) && helper.as_deref() == Some(PPTP)).then_some(PptpHelper {
        family,
        table: table?,
        name: name?,
    })
}

/// Read one datagram of a ct helper object dump: the PPTP helper's
/// objects (others are left out). Never panics on short or bad input.
pub fn pptp_helpers_dumped(buf: &[u8]) -> Dump<PptpHelper> {
    read_dump_family(
        buf,
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ,
        pptp_helper,
    )
}

/// Whether what the two dumps show leaves no way to attach the PPTP helper
/// but iptables-legacy (the caller looks at that itself): no ct helper
/// object of it (an nft rule can attach a helper only through one), and no
/// `ip raw` table (iptables-nft's, where a `CT --helper pptp` rule would
/// sit).
pub fn nothing_attaches_pptp(tables: &[Table], helpers: &[PptpHelper]) -> bool {
    helpers.is_empty() && !has_table(tables, NFPROTO_IPV4, "raw")
}

/// A chain of an `inet` table; `forward`: a base chain in the forward
/// hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub table: String,
    pub name: String,
    pub forward: bool,
}

/// A dump of the chains of every `inet` table (a firewall's few dozen; the
/// rules and set elements stay in the kernel).
pub fn inet_chains_request(seq: u32) -> Vec<u8> {
    let inet = NfGen {
        family: NFPROTO_INET,
        res_id: 0,
    };
    dump_request(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN,
        seq,
        inet,
        &[],
    )
}

/// The value of the first attribute of type `kind` in `attrs`.
fn nested(attrs: &[u8], kind: u16) -> Option<Vec<u8>> {
    NlasIterator::new(attrs)
        .filter_map(Result::ok)
        .find(|a| a.kind() & 0x3fff == kind)
        .map(|a| a.value().to_vec())
}

fn chain(_family: u8, attrs: &[u8]) -> Option<Chain> {
    let hook = nested(attrs, NFTA_CHAIN_HOOK)
        .and_then(|h| nested(&h, NFTA_HOOK_HOOKNUM))
        .and_then(|n| n.as_slice().try_into().ok().map(u32::from_be_bytes));
    Some(Chain {
        table: string_of(&nested(attrs, NFTA_CHAIN_TABLE)?),
        name: string_of(&nested(attrs, NFTA_CHAIN_NAME)?),
        forward: hook == Some(NF_INET_FORWARD),
    })
}

/// Read one datagram of a chain dump. Never panics on short or bad input.
pub fn chains_dumped(buf: &[u8]) -> Dump<Chain> {
    read_dump_family(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN, chain)
}

/// The chains a rule's verdicts jump or go to.
fn targets(_family: u8, attrs: &[u8]) -> Option<Vec<String>> {
    let exprs = nested(attrs, NFTA_RULE_EXPRESSIONS)?;
    Some(
        NlasIterator::new(exprs.as_slice())
            .filter_map(Result::ok)
            .filter_map(|e| {
                let e = e.value();
                (string_of(&nested(e, NFTA_EXPR_NAME)?) == "immediate").then_some(())?;
                let data = nested(&nested(e, NFTA_EXPR_DATA)?, NFTA_IMMEDIATE_DATA)?;
                let verdict = nested(&data, NFTA_DATA_VERDICT)?;
                Some(string_of(&nested(&verdict, NFTA_VERDICT_CHAIN)?))
            })
            .collect(),
    )
}

/// Read one datagram of a rule dump (asked with `rulemsg::rules_request`):
/// each rule's jump targets. Never panics on short or bad input.
pub fn jump_targets_dumped(buf: &[u8]) -> Dump<Vec<String>> {
    read_dump_family(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, targets)
}

/// The tables that hold every chain of `names`, each with its base chains
/// in the forward hook: where the rules that reach them must be.
pub fn dispatch_tables(chains: &[Chain], names: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut tables: Vec<&str> = chains.iter().map(|c| c.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    tables
        .into_iter()
        .filter(|t| {
            names
                .iter()
                .all(|n| chains.iter().any(|c| c.table == *t && c.name == *n))
        })
        .map(|t| {
            let bases = chains
                .iter()
                .filter(|c| c.table == t && c.forward)
                .map(|c| c.name.clone())
                .collect();
            (t.to_string(), bases)
        })
        .collect()
}

/// Whether `tables` holds the table `name` of `family`.
pub fn has_table(tables: &[Table], family: u8, name: &str) -> bool {
    tables.iter().any(|t| t.family == family && t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{hex, with_bytes_flipped};

    /// The netlink header in the host's byte order, as the kernel writes
    /// it: length, type, flags (NLM_F_MULTI, and NLM_F_APPEND on objects),
    /// sequence 0, port id 0x3ccf.
    fn header(len: u32, ty: u16, flags: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&ty.to_ne_bytes());
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&0u32.to_ne_bytes());
        h.extend_from_slice(&0x3ccfu32.to_ne_bytes());
        h
    }

    /// An attribute header (length, type) in the host's byte order.
    fn nla(len: u16, ty: u16) -> Vec<u8> {
        [len.to_ne_bytes(), ty.to_ne_bytes()].concat()
    }

    /// One datagram of a table dump, as Linux 6.18 sends it for `table inet
    /// fwx` and `table ip raw` (nfgenmsg, then name, flags, handle, use).
    fn two_tables() -> Vec<u8> {
        let mut b = Vec::new();
        let tables = [
            (1u8, "fwx", "00000001", "0000000000000001"),
            (2, "raw", "00000000", "0000000000000002"),
        ];
        for (family, name, uses, handle) in tables {
            b.extend(header(56, 0x0a00, 0x0002));
            b.extend([family, 0, 0, 2]);
            b.extend(nla(8, 1));
            b.extend(name.bytes().chain([0]));
            b.extend(nla(8, 3));
            b.extend(hex(uses));
            b.extend(nla(12, 4));
            b.extend(hex(handle));
            b.extend(nla(8, 2));
            b.extend(hex("00000000"));
        }
        b
    }

    /// One datagram of an object dump, as Linux 6.18 sends it for `ct
    /// helper pptp-h { type "pptp" protocol tcp; }` in `table inet fwx`.
    fn pptp_object() -> Vec<u8> {
        let mut b = header(100, 0x0a12, 0x0802);
        b.extend([1, 0, 0, 2]);
        b.extend(nla(8, 1));
        b.extend(b"fwx\0");
        b.extend(nla(11, 2));
        b.extend(b"pptp-h\0\0");
        b.extend(nla(8, 3));
        b.extend(hex("00000003"));
        b.extend(nla(12, 6));
        b.extend(hex("0000000000000001"));
        b.extend(nla(8, 5));
        b.extend(hex("00000000"));
        // NFTA_OBJ_DATA: helper name, l4 protocol (tcp), l3 protocol (big-endian 2).
        b.extend(nla(32, 4));
        b.extend(nla(9, 1));
        b.extend(b"pptp\0\0\0\0");
        b.extend(nla(5, 3));
        b.extend([6, 0, 0, 0]);
        b.extend(nla(6, 2));
        b.extend([0, 2, 0, 0]);
        b
    }

    fn done() -> Vec<u8> {
        let mut b = header(20, 3, 0x0002);
        b.extend([0, 0, 0, 0]);
        b
    }

    #[test]
    fn the_requests_are_dumps_of_every_family() {
        let t = tables_request(7);
        assert_eq!(t.len(), 20);
        assert_eq!(u16::from_ne_bytes([t[4], t[5]]), 0x0a01);
        assert_eq!(u16::from_ne_bytes([t[6], t[7]]), 0x0301);
        assert_eq!(u32::from_ne_bytes(t[8..12].try_into().unwrap()), 7);
        assert_eq!(t[16..20], [0, 0, 0, 0]);
        // The object dump asks for ct helpers only: NFTA_OBJ_TYPE 3.
        let o = ct_helpers_request(8);
        assert_eq!(o.len(), 28);
        assert_eq!(u16::from_ne_bytes([o[4], o[5]]), 0x0a13);
        assert_eq!(u16::from_ne_bytes([o[6], o[7]]), 0x0301);
        assert_eq!(o[16..20], [0, 0, 0, 0]);
        assert_eq!(o[20..24], nla(8, 3)[..]);
        assert_eq!(o[24..28], [0, 0, 0, 3]);
    }

    #[test]
    fn reads_every_table_with_its_family() {
        let d = tables_dumped(&two_tables());
        assert_eq!(
            d.items,
            [
                Table {
                    family: 1,
                    name: "fwx".into()
                },
                Table {
                    family: NFPROTO_IPV4,
                    name: "raw".into()
                },
            ]
        );
        assert!(!d.done);
        assert!(tables_dumped(&done()).done);
    }

    #[test]
    fn finds_a_pptp_helper_object_and_only_those() {
        let d = pptp_helpers_dumped(&[pptp_object(), done()].concat());
        assert_eq!(
            d.items,
            [PptpHelper {
                family: 1,
                table: "fwx".into(),
                name: "pptp-h".into()
            }]
        );
        assert!(d.done);
        // The same object of the FTP helper is no finding.
        let mut ftp = pptp_object();
        let at = ftp.windows(5).position(|w| w == b"pptp\0").unwrap();
        ftp[at..at + 4].copy_from_slice(b"ftp\0");
        assert!(pptp_helpers_dumped(&ftp).items.is_empty());
        // Nor is an object of another type with that data.
        let mut quota = pptp_object();
        let at = quota.windows(4).position(|w| w == [0, 0, 0, 3]).unwrap();
        quota[at + 3] = 2;
        assert!(pptp_helpers_dumped(&quota).items.is_empty());
    }

    #[test]
    fn only_a_pptp_helper_object_or_an_ip_raw_table_can_attach_the_helper() {
        let t = |family, name: &str| Table {
            family,
            name: name.into(),
        };
        let fw = [t(1, "fw4"), t(NFPROTO_IPV4, "pptp_passthrough")];
        assert!(nothing_attaches_pptp(&fw, &[]));
        // iptables-nft's raw table, where `CT --helper pptp` would sit.
        assert!(!nothing_attaches_pptp(&[t(NFPROTO_IPV4, "raw")], &[]));
        // A table named raw of another family is no iptables table.
        assert!(nothing_attaches_pptp(&[t(1, "raw")], &[]));
        let d = pptp_helpers_dumped(&pptp_object());
        assert!(!nothing_attaches_pptp(&fw, &d.items));
        assert!(has_table(&fw, NFPROTO_IPV4, "pptp_passthrough"));
        assert!(!has_table(&fw, 1, "pptp_passthrough"));
    }

    /// An attribute in the host's byte order (the kernel's numbers inside
    /// stay big-endian), padded to four bytes; `nested` as the kernel
    /// marks it (NLA_F_NESTED, which it leaves off some nests).
    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + payload.len()).unwrap();
        let mut a = nla(len, ty);
        a.extend_from_slice(payload);
        a.resize(a.len().div_ceil(4) * 4, 0);
        a
    }
    fn nest(ty: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        attr(ty, &parts.concat())
    }
    fn dumped(ty: u16, flags: u16, attrs: &[Vec<u8>]) -> Vec<u8> {
        let body = attrs.concat();
        let mut m = header(u32::try_from(20 + body.len()).unwrap(), ty, flags);
        m.extend([NFPROTO_INET, 0, 0, 2]);
        m.extend(body);
        m
    }

    /// A chain dump and a rule dump as Linux 6.18 sends them for `table
    /// inet fwx` with a regular chain `pptp_passthrough_tcp` (one rule) and
    /// a base chain `f` in the forward hook whose one rule jumps to it
    /// (chains: table, name, handle, use, and for `f` hook, policy, type,
    /// flags; the rule: table, chain, handle, expressions meta, cmp,
    /// immediate, then its comment). Built in the host's byte order; on a
    /// little-endian host the bytes are the kernel's as captured.
    fn inet_chains() -> Vec<u8> {
        let b = [
            dumped(
                0x0a03,
                0x0002,
                &[
                    attr(1, b"fwx\0"),
                    attr(3, b"pptp_passthrough_tcp\0"),
                    attr(2, &hex("0000000000000001")),
                    attr(6, &hex("00000002")),
                ],
            ),
            dumped(
                0x0a03,
                0x0002,
                &[
                    attr(1, b"fwx\0"),
                    attr(3, b"f\0"),
                    attr(2, &hex("0000000000000002")),
                    nest(4, &[attr(1, &hex("00000002")), attr(2, &hex("ffffff6a"))]),
                    attr(5, &hex("00000001")),
                    attr(7, b"filter\0"),
                    attr(10, &hex("00000001")),
                    attr(6, &hex("00000001")),
                ],
            ),
        ]
        .concat();
        #[cfg(target_endian = "little")]
        assert_eq!(
            b,
            hex(
                "4c000000030a020000000000cf3c000001000002080001006677780019000300\
                 707074705f706173737468726f7567685f746370000000000c00020000000000\
                 00000001080006000000000268000000030a020000000000cf3c000001000002\
                 080001006677780006000300660000000c000200000000000000000214000400\
                 080001000000000208000200ffffff6a08000500000000010b00070066696c74\
                 6572000008000a00000000010800060000000001"
            )
        );
        b
    }
    fn jump_rule() -> Vec<u8> {
        let expr = |name: &[u8], data: &[Vec<u8>]| nest(1, &[attr(1, name), nest(2, data)]);
        let b = dumped(
            0x0a06,
            0x0802,
            &[
                attr(1, b"fwx\0"),
                attr(2, b"f\0"),
                attr(3, &hex("0000000000000004")),
                nest(
                    4,
                    &[
                        expr(
                            b"meta\0",
                            &[attr(2, &hex("00000010")), attr(1, &hex("00000001"))],
                        ),
                        expr(
                            b"cmp\0",
                            &[
                                attr(1, &hex("00000001")),
                                attr(2, &hex("00000000")),
                                nest(3, &[attr(1, &[6])]),
                            ],
                        ),
                        expr(
                            b"immediate\0",
                            &[
                                attr(1, &hex("00000000")),
                                nest(
                                    2,
                                    &[nest(
                                        2,
                                        &[
                                            attr(1, &hex("fffffffd")),
                                            attr(2, b"pptp_passthrough_tcp\0"),
                                        ],
                                    )],
                                ),
                            ],
                        ),
                    ],
                ),
                attr(7, &hex("00026300")),
            ],
        );
        #[cfg(target_endian = "little")]
        assert_eq!(
            b,
            hex(
                "d8000000060a020800000000cf3c00000100000208000100667778000600020\
                 0660000000c0003000000000000000004a000040024000100090001006d6574\
                 610000000014000200080002000000001008000100000000012c0001000800\
                 0100636d700020000200080001000000000108000200000000000c00030005\
                 000100060000004c0001000e000100696d6d656469617465000000380002000\
                 8000100000000002c0002002800020008000100fffffffd1900020070707470\
                 5f706173737468726f7567685f746370000000000800070000026300"
            )
        );
        b
    }

    #[test]
    fn the_firewalls_chains_and_the_rules_that_reach_them() {
        let r = inet_chains_request(9);
        assert_eq!(r.len(), 20);
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), 0x0a04);
        assert_eq!(u16::from_ne_bytes([r[6], r[7]]), 0x0301);
        assert_eq!(r[16], NFPROTO_INET);
        let d = chains_dumped(&[inet_chains(), done()].concat());
        assert!(d.done);
        let c = |name: &str, forward| Chain {
            table: "fwx".into(),
            name: name.into(),
            forward,
        };
        assert_eq!(d.items, [c("pptp_passthrough_tcp", false), c("f", true)]);
        // The rules of `f`: asked by table and chain.
        let q = super::super::rulemsg::rules_request(NFPROTO_INET, "fwx", "f", 10);
        assert_eq!(u16::from_ne_bytes([q[4], q[5]]), 0x0a07);
        assert_eq!(q[16], NFPROTO_INET);
        assert_eq!(q[20..], [attr(1, b"fwx\0"), attr(2, b"f\0")].concat()[..]);
        let t = jump_targets_dumped(&[jump_rule(), done()].concat());
        assert!(t.done);
        assert_eq!(t.items, [vec!["pptp_passthrough_tcp".to_string()]]);
        // Where to look: tables with every chain named, their forward
        // base chains.
        assert_eq!(
            dispatch_tables(&d.items, &["pptp_passthrough_tcp"]),
            [("fwx".to_string(), vec!["f".to_string()])]
        );
        let both = ["pptp_passthrough_tcp", "pptp_passthrough_icmp"];
        assert!(dispatch_tables(&d.items, &both).is_empty());
        let mut more = d.items.clone();
        more.push(c("pptp_passthrough_icmp", false));
        more.push(Chain {
            table: "other".into(),
            name: "pptp_passthrough_icmp".into(),
            forward: false,
        });
        assert_eq!(dispatch_tables(&more, &both).len(), 1);
    }

    #[test]
    fn the_kernels_error_is_reported() {
        let mut e = header(36, 2, 0);
        e.extend((-libc::ENOENT).to_ne_bytes());
        e.extend(header(16, 0x0a13, 0x0301));
        assert_eq!(pptp_helpers_dumped(&e).error, Some(-libc::ENOENT));
    }

    #[test]
    fn never_panics_on_cut_or_flipped_bytes() {
        for b in [two_tables(), pptp_object(), inet_chains(), jump_rule()] {
            for n in 0..b.len() {
                let _ = tables_dumped(&b[..n]);
                let _ = pptp_helpers_dumped(&b[..n]);
                let _ = chains_dumped(&b[..n]);
                let _ = jump_targets_dumped(&b[..n]);
            }
            with_bytes_flipped(&b, 23, |b| {
                let _ = tables_dumped(b);
                let _ = pptp_helpers_dumped(b);
                let _ = chains_dumped(b);
                let _ = jump_targets_dumped(b);
            });
        }
    }
}
