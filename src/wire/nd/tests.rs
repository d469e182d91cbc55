//! RS and RA against hand-written bytes (RFC 4861 §4.1, §4.2, §4.6.2,
//! §4.6.4, RFC 8106 §5.1), checksums checked by an independent ICMPv6
//! implementation (etherparse), and the receive checks of §6.1.

use super::*;
use crate::testutil::hex;

fn ll(id: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, id)
}

/// An advertisement with every option this project sends.
pub(crate) fn sample() -> RouterAdvert {
    RouterAdvert {
        router_lifetime: 1800,
        prefixes: vec![PrefixInfo {
            prefix: "2001:db8:0:7::".parse().unwrap(),
            len: 64,
            valid: 86400,
            preferred: 14400,
            autonomous: true,
        }],
        mtu: Some(1396),
        dns: vec!["2001:db8::53".parse().unwrap()],
        dns_lifetime: 600,
    }
}

fn etherparse_checksum_ok(pkt: &[u8]) -> bool {
    let (src, dst) = addresses(pkt).unwrap();
    let icmp = etherparse::Icmpv6Slice::from_slice(&pkt[40..]).unwrap();
    icmp.is_checksum_valid(src.octets(), dst.octets())
}

#[test]
fn router_advertisement_bytes() {
    let p = router_advertisement(ll(1), ALL_NODES, &sample());
    let want = hex(
        // IPv6: version 6, payload 80 bytes, ICMPv6, hop limit 255
        "60000000 0050 3a ff
         fe800000000000000000000000000001
         ff020000000000000000000000000001
         86 00 ____ 40 00 0708 00000000 00000000
         03 04 40 c0 00015180 00003840 00000000
         20010db8000000070000000000000000
         05 01 0000 00000574
         19 03 0000 00000258 20010db8000000000000000000000053"
            .replace(
                "____",
                &format!("{:04x}", u16::from_be_bytes([p[42], p[43]])),
            )
            .as_str(),
    );
    assert_eq!(p, want);
    assert!(etherparse_checksum_ok(&p));
    let (src, back) = parse_router_advertisement(&p).unwrap();
    assert_eq!((src, back), (ll(1), sample()));
}

#[test]
fn router_solicitation_bytes_and_recognition() {
    let p = router_solicitation(ll(2));
    assert_eq!(p.len(), 48);
    assert_eq!(&p[..8], &hex("60000000 0008 3a ff")[..]);
    assert_eq!(&p[24..40], &ALL_ROUTERS.octets());
    assert_eq!(&p[40..42], &[133, 0]);
    assert_eq!(&p[44..], &[0, 0, 0, 0]);
    assert!(etherparse_checksum_ok(&p));
    assert!(is_router_solicitation(&p));
    assert!(parse_router_advertisement(&p).is_none());
}

#[test]
fn receive_checks_of_section_6_1() {
    let good = router_advertisement(ll(1), ALL_NODES, &sample());
    let mut bad_hop = good.clone();
    bad_hop[7] = 64;
    let mut bad_sum = good.clone();
    bad_sum[60] ^= 1;
    let global = router_advertisement("2001:db8::1".parse().unwrap(), ALL_NODES, &sample());
    let mut zero_len_opt = good.clone();
    zero_len_opt[57] = 0;
    let mut fixed = zero_len_opt.clone();
    let sum = checksum(ll(1), ALL_NODES, &{
        let mut m = fixed[40..].to_vec();
        m[2] = 0;
        m[3] = 0;
        m
    });
    fixed[42..44].copy_from_slice(&sum.to_be_bytes());
    for (what, p) in [
        ("hop limit 64", &bad_hop),
        ("bad checksum", &bad_sum),
        ("global source", &global),
        ("zero-length option", &fixed),
        ("truncated", &good[..good.len() - 1].to_vec()),
    ] {
        assert!(parse_router_advertisement(p).is_none(), "{what}");
    }
    let mut rs = router_solicitation(ll(2));
    rs[7] = 1;
    assert!(!is_router_solicitation(&rs));
    assert!(!is_router_solicitation(&[0x45; 60]));
}

#[test]
fn garbage_never_panics() {
    let mut x: u32 = 7;
    for n in 0..2000usize {
        let mut p = router_advertisement(ll(1), ALL_NODES, &sample());
        p.truncate(n % (p.len() + 1));
        for _ in 0..(n % 5) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x as usize >> 8) % p.len().max(1);
            if let Some(b) = p.get_mut(i) {
                *b = (x >> 16) as u8;
            }
        }
        let _ = parse_router_advertisement(&p);
        let _ = is_router_solicitation(&p);
        let _ = addresses(&p);
    }
}

#[test]
fn at_most_four_prefixes_and_three_dns_servers_are_taken() {
    let mut ra = sample();
    ra.prefixes = (0..8u16)
        .map(|i| PrefixInfo {
            prefix: Ipv6Addr::new(0x2001, 0xdb8, 0, i, 0, 0, 0, 0),
            ..sample().prefixes[0]
        })
        .collect();
    ra.dns = (1..=5u16)
        .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
        .collect();
    let p = router_advertisement(ll(1), ALL_NODES, &ra);
    let (_, back) = parse_router_advertisement(&p).unwrap();
    assert_eq!(back.prefixes, ra.prefixes[..MAX_PREFIXES]);
    // Only three are ever sent, and only three taken.
    assert_eq!(back.dns, ra.dns[..MAX_RDNSS]);
}
