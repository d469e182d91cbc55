//! The element and rule batches and the dumps, against the bytes nft and
//! Linux use.

use super::*;
use crate::netfilter::elements::tests::{m, own};
use crate::netfilter::nfnl::{NLMSG_DONE, each_message, message};
use crate::testutil::hex;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

/// The messages: (type, flags, seq, family, payload after nfgenmsg).
fn messages(b: &[u8]) -> Vec<(u16, u16, u32, u8, Vec<u8>)> {
    each_message(b)
        .map(|m| {
            let p = m.payload();
            let (ty, flags, seq) = (m.message_type(), m.flags(), m.sequence_number());
            (ty, flags, seq, p[0], p[4..].to_vec())
        })
        .collect()
}

#[test]
fn add_is_begin_four_elements_end() {
    let (b, n) = batch(&[Change::Add(m())], None, 3600, 100);
    assert_eq!(n, 1, "one acknowledgement: the last element's");
    let ms = messages(&b);
    assert_eq!(ms.len(), 6);
    assert_eq!((ms[0].0, ms[0].2, ms[0].3), (0x10, 100, 0));
    assert_eq!((ms[5].0, ms[5].2), (0x11, 105));
    // The batch begin names the nf_tables subsystem (res_id, big-endian).
    assert_eq!(&b[18..20], &[0, 10]);
    for (i, set) in [MAP_DNAT, MAP_CID, SET_IN, SET_OUT].iter().enumerate() {
        let (ty, flags, seq, fam, p) = &ms[i + 1];
        assert_eq!(*ty, 0x0a0c, "NEWSETELEM");
        let ack = if i == 3 { 4 } else { 0 };
        assert_eq!(*flags, 1 | ack | 0x400);
        assert_eq!(*seq, 101 + i as u32);
        assert_eq!(*fam, 2);
        // Table then set name, NUL-terminated, each padded to 4 bytes.
        assert_eq!(u16_at(p, 2), 1);
        assert_eq!(&p[4..21], b"pptp_passthrough\0");
        let s = &p[24..];
        assert_eq!(u16_at(s, 2), 2);
        assert_eq!(&s[4..4 + set.len()], set.as_bytes());
    }
}

#[test]
fn element_bytes_key_data_timeout_comment() {
    let (b, _) = batch(&[Change::Add(m())], None, 3600, 1);
    let dnat = &messages(&b)[1].4;
    let key = [198u8, 51, 100, 10, 0x03, 0xe9, 0, 0];
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(find(dnat, &key), "concat key, 32-bit parts");
    assert!(find(dnat, &[192, 168, 1, 10]), "DNAT target");
    assert!(find(dnat, &3_600_000u64.to_be_bytes()), "timeout in ms");
    let c = comment(&m());
    let mut udata = vec![0u8, c.len() as u8 + 1];
    udata.extend(c.as_bytes());
    udata.push(0);
    assert!(find(dnat, &udata), "comment as libnftnl udata");
    let cid = &messages(&b)[2].4;
    // The nested data attribute: header (len 6, NFTA_DATA_VALUE) in the
    // host's byte order, then 4660 big-endian.
    let mut data = [6u16.to_ne_bytes(), 1u16.to_ne_bytes()].concat();
    data.extend([0x12, 0x34]);
    assert!(find(cid, &data), "restored Call ID");
    // The guard's set: the inbound key, the timeout, nothing else.
    let inb = &messages(&b)[3].4;
    assert!(find(inb, &key) && find(inb, &3_600_000u64.to_be_bytes()));
    assert!(!find(inb, &udata), "no comment on the guard's set");
    let out = &messages(&b)[4].4;
    assert!(find(out, &[198, 51, 100, 10, 0, 77, 0, 0]), "outbound key");
}

#[test]
fn removals_and_promotions() {
    let (b, n) = batch(&[Change::Remove(m())], None, 60, 1);
    assert_eq!(n, 1);
    let ms = messages(&b);
    assert!(ms[1..5].iter().all(|x| x.0 == 0x0a0e));
    assert_eq!([ms[1].1, ms[2].1, ms[3].1, ms[4].1], [1, 1, 1, 1 | 4]);
    let (b, _) = batch(&[Change::Promote(m())], None, 60, 1);
    let tys: Vec<u16> = messages(&b).iter().map(|x| x.0 & 0xff).collect();
    assert_eq!(tys, [0x10, 14, 14, 14, 12, 12, 12, 12, 0x11]);
    let (b, _) = batch(&[Change::Expect(m()), Change::Unexpect(m())], None, 60, 1);
    assert_eq!(messages(&b).len(), 8);
    assert_eq!(batch(&[], None, 60, 1).1, 0);
    assert!(!encodable(&[Change::Refresh(m())]));
    assert!(encodable(&[Change::Add(m()), Change::Remove(m())]));
}

/// The switch of the GRE lookup rides in the elements' transaction,
/// after them: the forward chain emptied (DELRULE without a handle)
/// and its three rules appended, the last message acknowledged. Alone
/// it still makes a batch.
#[test]
fn gre_lookup_rewrites_the_forward_rules_after_the_elements() {
    let (b, n) = batch(&[Change::Expect(m())], own(true), 60, 1);
    assert_eq!(n, 1);
    let ms = messages(&b);
    let tys: Vec<u16> = ms.iter().map(|x| x.0 & 0xff).collect();
    assert_eq!(tys, [0x10, 12, 12, 12, 8, 6, 6, 6, 0x11]);
    let flags: Vec<u16> = ms.iter().map(|x| x.1).collect();
    assert_eq!(
        flags[4..8],
        [
            1,
            1 | 0x400 | 0x800,
            1 | 0x400 | 0x800,
            1 | 0x400 | 0x800 | 4
        ]
    );
    // DELRULE names the table and the chain, nothing else.
    let del = &ms[4].4;
    assert_eq!(del.len(), 24 + 12);
    assert_eq!(&del[28..36], b"forward\0");
    let (b, n) = batch(&[], own(false), 60, 1);
    assert_eq!(n, 1);
    assert_eq!(messages(&b).len(), 5, "no GRE rule");
    assert_eq!(batch(&[], None, 60, 1).1, 0);
}

/// `ip protocol gre goto gre_fwd` byte for byte as nft 1.0.6 sends it
/// (`nft --debug=mnl add rule ...` on Linux 6.18: a 216-byte NEWRULE),
/// for each host byte order.
#[test]
fn forward_rule_bytes_are_nfts() {
    let (b, _) = batch(&[], own(true), 60, 1);
    let ms = messages(&b);
    let rule = &ms[2].4;
    #[cfg(target_endian = "little")]
    let want = hex(
        "1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
         0c00 0200 666f7277 61726400                              # chain
         a000 0480                                                # expressions
         3400 0180 0c00 0100 7061796c 6f616400                   # payload
         2400 0280 0800 0100 00000001 0800 0200 00000001         # register 1, network header
         0800 0300 00000009 0800 0400 00000001                   # byte 9, 1 byte
         2c00 0180 0800 0100 636d7000                            # cmp
         2000 0280 0800 0100 00000001 0800 0200 00000000         # register 1, equal
         0c00 0380 0500 0100 2f000000                            # GRE (47)
         3c00 0180 0e00 0100 696d6d65 64696174 65000000          # immediate
         2800 0280 0800 0100 00000000                            # the verdict register
         1c00 0280 1800 0280 0800 0100 fffffffc                  # goto
         0c00 0200 6772655f 66776400                             # gre_fwd",
    );
    #[cfg(target_endian = "big")]
    let want = hex(
        "0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
         000c 0002 666f7277 61726400                              # chain
         00a0 8004                                                # expressions
         0034 8001 000c 0001 7061796c 6f616400                   # payload
         0024 8002 0008 0001 00000001 0008 0002 00000001         # register 1, network header
         0008 0003 00000009 0008 0004 00000001                   # byte 9, 1 byte
         002c 8001 0008 0001 636d7000                            # cmp
         0020 8002 0008 0001 00000001 0008 0002 00000000         # register 1, equal
         000c 8003 0005 0001 2f000000                            # GRE (47)
         003c 8001 000e 0001 696d6d65 64696174 65000000          # immediate
         0028 8002 0008 0001 00000000                            # the verdict register
         001c 8002 0018 8002 0008 0001 fffffffc                  # goto
         000c 0002 6772655f 66776400                             # gre_fwd",
    );
    assert_eq!(rule, &want);
    assert_eq!(16 + 4 + rule.len(), 216);
    // Off: no GRE rule; TCP and ICMP go on as ever.
    let (b, _) = batch(&[], own(false), 60, 1);
    let ms = messages(&b);
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(find(&ms[2].4, b"tcp_1723\0") && find(&ms[2].4, &[6, 0, 0, 0]));
    assert!(find(&ms[3].4, b"icmp_out\0") && find(&ms[3].4, &[1, 0, 0, 0]));
    assert!(!ms.iter().any(|m| find(&m.4, b"gre_fwd")));
}

/// The batch marker and a whole DELSETELEM, byte for byte, for each
/// host byte order: netlink and attribute headers in the host's order,
/// nfgenmsg's res_id and the key (address, Call ID) big-endian.
#[test]
fn marker_and_delete_bytes_per_host_byte_order() {
    let (b, _) = batch(&[Change::Remove(m())], None, 60, 7);
    #[cfg(target_endian = "little")]
    let (begin, del) = (
        hex("14000000 1000 0100 07000000 00000000  00 00 000a"),
        hex("54000000 0e0a 0100 08000000 00000000  02 00 0000
             1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
             0d00 0200 6772655f 646e6174 00000000                    # set
             1800 0380 1400 0180 1000 0180 0c00 0100                 # elements, elem, key, value
             c633640a 03e9 0000                                      # 198.51.100.10 . 1001"),
    );
    #[cfg(target_endian = "big")]
    let (begin, del) = (
        hex("00000014 0010 0001 00000007 00000000  00 00 000a"),
        hex("00000054 0a0e 0001 00000008 00000000  02 00 0000
             0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
             000d 0002 6772655f 646e6174 00000000                    # set
             0018 8003 0014 8001 0010 8001 000c 0001                 # elements, elem, key, value
             c633640a 03e9 0000                                      # 198.51.100.10 . 1001"),
    );
    assert_eq!(&b[..20], &begin[..]);
    assert_eq!(&b[20..104], &del[..]);
}

/// The dump request pinned byte for byte for each host byte order.
#[test]
fn dnat_dump_request_bytes_per_host_byte_order() {
    #[cfg(target_endian = "little")]
    let want = hex("3c000000 0d0a 0103 09000000 00000000  02 00 0000
         1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
         0d00 0200 6772655f 646e6174 00000000                    # set");
    #[cfg(target_endian = "big")]
    let want = hex("0000003c 0a0d 0301 00000009 00000000  02 00 0000
         0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
         000d 0002 6772655f 646e6174 00000000                    # set");
    assert_eq!(dnat_dump_request(9), want);
}

/// One NFT_MSG_NEWSETELEM of a dump as the kernel sends it: table,
/// set, and each element with key, value, timeout, time left and the
/// comment.
fn dumped_message(set: &str, elems: &[(Ipv4Addr, u16, [u8; 4], u64, &str)]) -> Vec<u8> {
    let list = elems
        .iter()
        .map(|(ip, id, lan, left, text)| {
            Attr::Nested(
                NFTA_LIST_ELEM,
                vec![
                    key(*ip, *id),
                    data(lan.to_vec()),
                    timeout(3600),
                    Attr::Bytes(NFTA_SET_ELEM_EXPIRATION, left.to_be_bytes().to_vec()),
                    udata_comment(NFTA_SET_ELEM_USERDATA, text),
                ],
            )
        })
        .collect();
    let attrs = [
        string(NFTA_SET_ELEM_LIST_TABLE, TABLE),
        string(NFTA_SET_ELEM_LIST_SET, set),
        Attr::Nested(NFTA_SET_ELEM_LIST_ELEMENTS, list),
    ];
    let mut out = Vec::new();
    let ty = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
    message(&mut out, ty, NLM_F_MULTI, 9, ELEMENTS, &attrs);
    out
}

const NLM_F_MULTI: u16 = 2;
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const CALL: &str = "pns 192.168.1.10:40000 198.51.100.10:1723 4660 77";

fn done() -> Vec<u8> {
    let mut out = Vec::new();
    let nfgen = NfGen {
        family: 0,
        res_id: 0,
    };
    message(&mut out, NLMSG_DONE, NLM_F_MULTI, 9, nfgen, &[]);
    out
}

#[test]
fn dnat_dump_reads_each_elements_key_value_time_left_and_comment() {
    let pending = format!("{PENDING} {CALL}");
    let mut b = dumped_message(
        MAP_DNAT,
        &[
            (SERVER, 1001, [192, 168, 1, 10], 3_499_250, CALL),
            (SERVER, 0xc001, [192, 168, 1, 11], 119_000, &pending),
        ],
    );
    // Another set's elements in the same dump are not taken.
    b.extend(dumped_message(
        MAP_CID,
        &[(SERVER, 7, [0, 0, 0, 0], 1, CALL)],
    ));
    let d = dnat_dumped(&b);
    assert!(!d.done && d.error.is_none());
    assert_eq!(
        d.items,
        [
            DnatElem {
                remote: SERVER,
                public_cid: 1001,
                lan_ip: Ipv4Addr::new(192, 168, 1, 10),
                expires_ms: 3_499_250,
                comment: CALL.into(),
            },
            DnatElem {
                remote: SERVER,
                public_cid: 0xc001,
                lan_ip: Ipv4Addr::new(192, 168, 1, 11),
                expires_ms: 119_000,
                comment: pending.clone(),
            }
        ]
    );
    // What status makes of them: the first is the call of `m()`, with
    // its seconds left; the second names host .10 in its comment but
    // maps to .11, and is not taken.
    let e = &d.items[0];
    let (call, state) =
        crate::netfilter::recorded(e.remote, e.public_cid, e.lan_ip, &e.comment, 3499).unwrap();
    assert_eq!(call, m());
    assert_eq!((state.expires, state.pending), (3499, false));
    let e = &d.items[1];
    assert!(
        crate::netfilter::recorded(e.remote, e.public_cid, e.lan_ip, &e.comment, 119).is_none()
    );
    let (call, state) = crate::netfilter::recorded(
        e.remote,
        1001,
        Ipv4Addr::new(192, 168, 1, 10),
        &e.comment,
        119,
    )
    .unwrap();
    assert_eq!((call, state.pending), (m(), true));
    // The end, and the error of a dump of a table or map that is gone.
    b.extend(done());
    assert!(dnat_dumped(&b).done);
    let mut gone = Vec::new();
    let nfgen = NfGen {
        family: 0,
        res_id: 0,
    };
    let mut err = (-2i32).to_ne_bytes().to_vec();
    err.extend(&dnat_dump_request(9)[..16]);
    message(&mut gone, 2, 0, 9, nfgen, &[]);
    gone.truncate(16);
    gone.extend(err);
    let len = gone.len() as u32;
    gone[..4].copy_from_slice(&len.to_ne_bytes());
    assert_eq!(dnat_dumped(&gone).error, Some(-2));
}

/// An element without a comment or with a short key is skipped; cut
/// and flipped datagrams never panic.
#[test]
fn dnat_dump_skips_what_does_not_read() {
    let whole = dumped_message(MAP_DNAT, &[(SERVER, 1001, [192, 168, 1, 10], 5, CALL)]);
    for cut in 0..whole.len() {
        let d = dnat_dumped(&whole[..cut]);
        assert!(d.items.len() <= 1);
    }
    crate::testutil::with_bytes_flipped(&whole, 19, |b| {
        let _ = dnat_dumped(b);
    });
    // No user data: the attribute's kind changed to one the reader
    // does not know.
    let mut no_comment = whole.clone();
    // (The last attribute: header, type and length bytes, text, NUL,
    // padded to 4 bytes.)
    let at = no_comment.len() - (4 + 2 + CALL.len() + 1).next_multiple_of(4);
    let kind = u16::from_ne_bytes([no_comment[at + 2], no_comment[at + 3]]);
    assert_eq!(kind, NFTA_SET_ELEM_USERDATA);
    no_comment[at + 2..at + 4].copy_from_slice(&99u16.to_ne_bytes());
    assert!(dnat_dumped(&no_comment).items.is_empty());
    assert_eq!(dnat_dumped(&whole).items.len(), 1);
    assert_eq!(
        udata_comment_text(&[0, 3, b'a', b'b', 0]).as_deref(),
        Some("ab")
    );
    assert_eq!(
        udata_comment_text(&[1, 1, 9, 0, 2, b'x', 0]).as_deref(),
        Some("x")
    );
    assert_eq!(udata_comment_text(&[0, 9, b'a']), None, "cut");
    assert_eq!(udata_comment_text(&[1, 1, 9]), None, "no comment");
}

/// With the firewall's dispatch the switch makes the forward chain (as
/// nft 1.0.6 sends `add chain ip pptp_passthrough forward { type filter
/// hook forward priority mangle; policy accept; }`, byte for byte) and
/// then fills it with GRE's rule alone, or deletes it: made first, so
/// that the deletion cannot fail on a chain someone removed.
#[test]
fn the_firewalls_dispatch_makes_and_deletes_the_forward_chain() {
    let fw = |on| {
        Some(GreLookup {
            on,
            dispatch: Dispatch::Firewall,
        })
    };
    let (b, n) = batch(&[Change::Expect(m())], fw(true), 60, 1);
    assert_eq!(n, 1);
    let ms = messages(&b);
    let tys: Vec<u16> = ms.iter().map(|x| x.0 & 0xff).collect();
    assert_eq!(tys, [0x10, 12, 12, 12, 3, 8, 6, 0x11]);
    assert_eq!(ms[4].1, 1 | 0x400, "NEWCHAIN without NLM_F_EXCL");
    #[cfg(target_endian = "little")]
    let want = hex(
        "1500 0100 70707470 5f706173 73746872 6f756768 00000000  # table
         0c00 0300 666f7277 61726400                              # name
         0b00 0700 66696c74 65720000                              # type filter
         0800 0500 00000001                                       # policy accept
         1400 0480 0800 0100 00000002 0800 0200 ffffff6a         # hook forward, priority -150",
    );
    #[cfg(target_endian = "big")]
    let want = hex(
        "0015 0001 70707470 5f706173 73746872 6f756768 00000000  # table
         000c 0003 666f7277 61726400                              # name
         000b 0007 66696c74 65720000                              # type filter
         0008 0005 00000001                                       # policy accept
         0014 8004 0008 0001 00000002 0008 0002 ffffff6a         # hook forward, priority -150",
    );
    assert_eq!(ms[4].4, want);
    // The one rule is GRE's, byte for byte as with the helper's own
    // dispatch (where it comes first of three).
    let own_rules = messages(&batch(&[], own(true), 60, 1).0);
    assert_eq!(ms[6].4, own_rules[2].4);
    // Off: made, then deleted by table and name.
    let (b, n) = batch(&[], fw(false), 60, 1);
    assert_eq!(n, 1);
    let ms = messages(&b);
    let tys: Vec<u16> = ms.iter().map(|x| x.0 & 0xff).collect();
    assert_eq!(tys, [0x10, 3, 5, 0x11]);
    assert_eq!(ms[1].4, want);
    assert_eq!(ms[2].4, want[..36]);
    assert_eq!(ms[2].1 & 4, 4, "the last message is acknowledged");
}
