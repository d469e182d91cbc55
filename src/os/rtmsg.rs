//! The rtnetlink requests this project sends (rtnetlink(7)), as values:
//! built here without I/O and sent by `addr`, so their bytes can be pinned
//! for each host byte order. Header flags as `ip(8)` sets them for the same
//! operation: `ip route replace`, `ip neigh replace ... proxy`, `ip addr
//! add` (exclusive).

use std::net::{Ipv4Addr, Ipv6Addr};

use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
};
use rtnetlink::packet_route::address::{AddressHeaderFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::RouteType;
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{AddressMessageBuilder, LinkUnspec, RouteMessageBuilder};

/// One request: the sequence number is set by the connection that sends it.
pub type Request = NetlinkMessage<RouteNetlinkMessage>;

fn request(flags: u16, m: RouteNetlinkMessage) -> Request {
    let mut r = NetlinkMessage::from(m);
    r.header.flags = flags;
    r.finalize();
    r
}

const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;

/// RTM_GETLINK for one interface by name (IFLA_IFNAME).
pub fn link_by_name(name: &str) -> Request {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    request(NLM_F_REQUEST, RouteNetlinkMessage::GetLink(m))
}

/// RTM_GETADDR dump of every IPv4 address.
pub fn ipv4_addresses() -> Request {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    request(
        NLM_F_REQUEST | NLM_F_DUMP,
        RouteNetlinkMessage::GetAddress(m),
    )
}

/// RTM_NEWLINK on an existing link: MTU, and up.
pub fn link_up(index: u32, mtu: u32) -> Request {
    let m = LinkUnspec::new_with_index(index).mtu(mtu).up().build();
    request(CHANGE, RouteNetlinkMessage::SetLink(m))
}

/// RTM_NEWLINK on an existing (down) link: a new name.
pub fn link_rename(index: u32, name: &str) -> Request {
    let m = LinkUnspec::new_with_index(index).name(name).build();
    request(CHANGE, RouteNetlinkMessage::SetLink(m))
}

/// RTM_NEWADDR: `ip/len` on interface `index` (replacing the same
/// address).
pub fn address_add(index: u32, ip: Ipv4Addr, len: u8) -> Request {
    let m = AddressMessageBuilder::<Ipv4Addr>::new()
        .index(index)
        .address(ip, len)
        .build();
    request(
        CHANGE | NLM_F_REPLACE | NLM_F_CREATE,
        RouteNetlinkMessage::NewAddress(m),
    )
}

/// RTM_NEWADDR of an IPv6 address with IFA_F_NODAD, as `ip addr add ...
/// nodad`: a point-to-point tunnel has no one to detect duplicates with.
pub fn address6_add(index: u32, ip: Ipv6Addr, len: u8) -> Request {
    let mut m = AddressMessageBuilder::<Ipv6Addr>::new()
        .index(index)
        .address(ip, len)
        .build();
    m.header.flags = AddressHeaderFlags::Nodad;
    request(
        CHANGE | NLM_F_REPLACE | NLM_F_CREATE,
        RouteNetlinkMessage::NewAddress(m),
    )
}

/// RTM_NEWROUTE (create or replace) of an IPv6 prefix on interface
/// `index`, through `gw` if any.
pub fn route6_replace(dst: Ipv6Addr, len: u8, gw: Option<Ipv6Addr>, index: u32) -> Request {
    let mut b = RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index);
    if let Some(g) = gw {
        b = b.gateway(g);
    }
    request(
        CHANGE | NLM_F_REPLACE | NLM_F_CREATE,
        RouteNetlinkMessage::NewRoute(b.build()),
    )
}

/// RTM_DELROUTE of an IPv6 prefix on interface `index`.
pub fn route6_del(dst: Ipv6Addr, len: u8, index: u32) -> Request {
    let m = RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index)
        .build();
    request(CHANGE, RouteNetlinkMessage::DelRoute(m))
}

/// RTM_NEWROUTE (create or replace): `dst/len` through `gw`, if any, on
/// interface `index`.
pub fn route_replace(dst: Ipv4Addr, len: u8, gw: Option<Ipv4Addr>, index: u32) -> Request {
    let mut b = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index);
    if let Some(g) = gw {
        b = b.gateway(g);
    }
    request(
        CHANGE | NLM_F_REPLACE | NLM_F_CREATE,
        RouteNetlinkMessage::NewRoute(b.build()),
    )
}

/// RTM_GETROUTE: the kernel's route to `dst`.
pub fn route_get(dst: Ipv4Addr) -> Request {
    let m = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, 32)
        .build();
    request(NLM_F_REQUEST, RouteNetlinkMessage::GetRoute(m))
}

/// RTM_DELROUTE: `dst/len` on interface `index`.
pub fn route_del(dst: Ipv4Addr, len: u8, index: u32) -> Request {
    let m = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index)
        .build();
    request(CHANGE, RouteNetlinkMessage::DelRoute(m))
}

/// RTM_NEWNEIGH / RTM_DELNEIGH of a proxy entry (`ip neigh add proxy`):
/// the router answers ARP for `ip` on interface `index`.
pub fn proxy_neighbour(index: u32, ip: Ipv4Addr, add: bool) -> Request {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.ifindex = index;
    m.header.flags = NeighbourFlags::Proxy;
    if add {
        m.header.state = NeighbourState::Permanent;
        m.header.kind = RouteType::Unspec;
    }
    m.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)));
    if add {
        request(
            CHANGE | NLM_F_REPLACE | NLM_F_CREATE,
            RouteNetlinkMessage::NewNeighbour(m),
        )
    } else {
        request(CHANGE, RouteNetlinkMessage::DelNeighbour(m))
    }
}

#[cfg(test)]
mod tests;
