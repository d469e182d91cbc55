//! Every request pinned byte for byte for each host byte order: nlmsghdr,
//! the family headers' multi-byte fields (ifinfomsg, ifaddrmsg, ndmsg,
//! rtmsg flags), nlattr headers and integer attributes in the host's order;
//! addresses in network order.

use super::*;
use crate::testutil::hex;

fn bytes(r: &Request) -> Vec<u8> {
    let mut b = vec![0; r.buffer_len()];
    r.serialize(&mut b);
    b
}

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 1);
const LINK_LOCAL: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const PREFIX6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, 0, 0);

fn requests() -> Vec<(&'static str, Request)> {
    vec![
        ("link_by_name", link_by_name("wan0")),
        ("ipv4_addresses", ipv4_addresses()),
        ("link_up", link_up(7, 1400)),
        ("address_add", address_add(7, LOCAL, 32)),
        ("route_replace", route_replace(SERVER, 32, Some(GATEWAY), 7)),
        ("route_get", route_get(SERVER)),
        ("route_del", route_del(SERVER, 32, 7)),
        ("neigh_add", proxy_neighbour(7, SERVER, true)),
        ("neigh_del", proxy_neighbour(7, SERVER, false)),
        ("address6_add", address6_add(7, LINK_LOCAL, 64)),
        (
            "route6_replace",
            route6_replace(PREFIX6, 64, Some(LINK_LOCAL), 7),
        ),
        ("route6_del", route6_del(PREFIX6, 64, 7)),
        ("link_rename", link_rename(7, "pptpi0")),
    ]
}

#[cfg(target_endian = "little")]
const WANT: [&str; 13] = [
    // RTM_GETLINK, request; ifinfomsg all zero; IFLA_IFNAME "wan0"
    "2c000000 1200 0100 00000000 00000000  00000000 00000000 00000000 00000000
     0900 0300 77616e30 00000000",
    // RTM_GETADDR, request | dump; ifaddrmsg AF_INET
    "18000000 1600 0103 00000000 00000000  02 00 00 00 00000000",
    // RTM_SETLINK, request | ack; ifinfomsg index 7, flags and change IFF_UP; IFLA_MTU 1400
    "28000000 1300 0500 00000000 00000000  00 00 0000 07000000 01000000 01000000
     0800 0400 78050000",
    // RTM_NEWADDR, request | ack | replace | create; AF_INET /32 index 7; IFA_ADDRESS, IFA_LOCAL
    "28000000 1400 0505 00000000 00000000  02 20 00 00 07000000
     0800 0100 c0a84d01  0800 0200 c0a84d01",
    // RTM_NEWROUTE, request | ack | replace | create; rtmsg AF_INET /32, main,
    // static, universe, unicast; RTA_DST, RTA_OIF 7, RTA_GATEWAY
    "34000000 1800 0505 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0800 0100 c633640a  0800 0400 07000000  0800 0500 cb007101",
    // RTM_GETROUTE, request; RTA_DST
    "24000000 1a00 0100 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0800 0100 c633640a",
    // RTM_DELROUTE, request | ack; RTA_DST, RTA_OIF 7
    "2c000000 1900 0500 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0800 0100 c633640a  0800 0400 07000000",
    // RTM_NEWNEIGH, request | ack | replace | create; ndmsg AF_INET, index 7,
    // NUD_PERMANENT, NTF_PROXY; NDA_DST
    "24000000 1c00 0505 00000000 00000000  02 00 0000 07000000 8000 08 00
     0800 0100 c633640a",
    // RTM_DELNEIGH, request | ack; ndmsg AF_INET, index 7, NTF_PROXY; NDA_DST
    "24000000 1d00 0500 00000000 00000000  02 00 0000 07000000 0000 08 00
     0800 0100 c633640a",
    // RTM_NEWADDR, request | ack | replace | create; AF_INET6 /64, IFA_F_NODAD,
    // index 7; IFA_ADDRESS, IFA_LOCAL
    "40000000 1400 0505 00000000 00000000  0a 40 02 00 07000000
     1400 0100 fe800000000000000000000000000001
     1400 0200 fe800000000000000000000000000001",
    // RTM_NEWROUTE, request | ack | replace | create; rtmsg AF_INET6 /64;
    // RTA_DST, RTA_OIF 7, RTA_GATEWAY
    "4c000000 1800 0505 00000000 00000000  0a 40 00 00 fe 04 00 01 00000000
     1400 0100 20010db8000000070000000000000000  0800 0400 07000000
     1400 0500 fe800000000000000000000000000001",
    // RTM_DELROUTE, request | ack; RTA_DST, RTA_OIF 7
    "38000000 1900 0500 00000000 00000000  0a 40 00 00 fe 04 00 01 00000000
     1400 0100 20010db8000000070000000000000000  0800 0400 07000000",
    // RTM_SETLINK, request | ack; ifinfomsg index 7; IFLA_IFNAME "pptpi0"
    "2c000000 1300 0500 00000000 00000000  00 00 0000 07000000 00000000 00000000
     0b00 0300 70707470 69300000",
];

#[cfg(target_endian = "big")]
const WANT: [&str; 13] = [
    "0000002c 0012 0001 00000000 00000000  00000000 00000000 00000000 00000000
     0009 0003 77616e30 00000000",
    "00000018 0016 0301 00000000 00000000  02 00 00 00 00000000",
    "00000028 0013 0005 00000000 00000000  00 00 0000 00000007 00000001 00000001
     0008 0004 00000578",
    "00000028 0014 0505 00000000 00000000  02 20 00 00 00000007
     0008 0001 c0a84d01  0008 0002 c0a84d01",
    "00000034 0018 0505 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0008 0001 c633640a  0008 0004 00000007  0008 0005 cb007101",
    "00000024 001a 0001 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0008 0001 c633640a",
    "0000002c 0019 0005 00000000 00000000  02 20 00 00 fe 04 00 01 00000000
     0008 0001 c633640a  0008 0004 00000007",
    "00000024 001c 0505 00000000 00000000  02 00 0000 00000007 0080 08 00
     0008 0001 c633640a",
    "00000024 001d 0005 00000000 00000000  02 00 0000 00000007 0000 08 00
     0008 0001 c633640a",
    "00000040 0014 0505 00000000 00000000  0a 40 02 00 00000007
     0014 0001 fe800000000000000000000000000001
     0014 0002 fe800000000000000000000000000001",
    "0000004c 0018 0505 00000000 00000000  0a 40 00 00 fe 04 00 01 00000000
     0014 0001 20010db8000000070000000000000000  0008 0004 00000007
     0014 0005 fe800000000000000000000000000001",
    "00000038 0019 0005 00000000 00000000  0a 40 00 00 fe 04 00 01 00000000
     0014 0001 20010db8000000070000000000000000  0008 0004 00000007",
    "0000002c 0013 0005 00000000 00000000  00 00 0000 00000007 00000000 00000000
     000b 0003 70707470 69300000",
];

#[test]
fn request_bytes_per_host_byte_order() {
    for ((name, r), want) in requests().iter().zip(WANT) {
        assert_eq!(bytes(r), hex(want), "{name}");
    }
}

/// A round trip through the crate's parser: what is sent reads back as
/// the same request (family headers and attributes both ways).
#[test]
fn requests_read_back() {
    for (name, r) in requests() {
        let b = bytes(&r);
        let back = Request::deserialize(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, r, "{name}");
    }
}
