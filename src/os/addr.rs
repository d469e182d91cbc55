//! The WAN interface through rtnetlink: its index, its IPv4 address, and a
//! stream of address-change notifications.

use std::net::{IpAddr, Ipv4Addr};

use futures::StreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::sys::AsyncSocket;

use super::OsError;

/// rtnetlink handle plus the multicast receiver for IPv4 address changes.
pub struct Watch {
    pub handle: rtnetlink::Handle,
    pub events: futures::channel::mpsc::UnboundedReceiver<(
        rtnetlink::packet_core::NetlinkMessage<rtnetlink::packet_route::RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
}

/// Open a netlink connection subscribed to IPv4 address changes; its
/// driver task is spawned on the current tokio runtime.
pub fn watch() -> Result<Watch, OsError> {
    let (mut conn, handle, events) =
        rtnetlink::new_connection().map_err(|e| OsError::Netlink(e.to_string()))?;
    let groups = rtnetlink::constants::RTMGRP_IPV4_IFADDR | rtnetlink::constants::RTMGRP_LINK;
    conn.socket_mut()
        .socket_mut()
        .bind(&rtnetlink::sys::SocketAddr::new(0, groups))
        .map_err(|e| OsError::Netlink(e.to_string()))?;
    tokio::spawn(conn);
    Ok(Watch { handle, events })
}

/// Index of an interface by name.
pub async fn ifindex(h: &rtnetlink::Handle, name: &str) -> Result<u32, OsError> {
    let mut s = h.link().get().match_name(name.to_string()).execute();
    match s.next().await {
        Some(Ok(m)) => Ok(m.header.index),
        _ => Err(OsError::NoInterface(name.to_string())),
    }
}

/// The first IPv4 address of an interface.
pub async fn ipv4_of(h: &rtnetlink::Handle, index: u32) -> Result<Option<Ipv4Addr>, OsError> {
    let mut s = h.address().get().set_link_index_filter(index).execute();
    while let Some(m) = s.next().await {
        let m = m.map_err(|e| OsError::Netlink(e.to_string()))?;
        if m.header.index != index {
            continue;
        }
        for a in m.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = a {
                return Ok(Some(ip));
            }
        }
    }
    Ok(None)
}

/// A plain rtnetlink handle (no multicast groups), driver spawned.
pub fn handle() -> Result<rtnetlink::Handle, OsError> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| OsError::Netlink(e.to_string()))?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Bring a point-to-point link up: MTU, local address (/32), link up, and a
/// host route to the peer through it.
pub async fn configure_p2p(
    h: &rtnetlink::Handle,
    index: u32,
    local: Ipv4Addr,
    peer: Ipv4Addr,
    mtu: u32,
) -> Result<(), OsError> {
    let nl = |e: rtnetlink::Error| OsError::Netlink(e.to_string());
    let link = rtnetlink::LinkUnspec::new_with_index(index)
        .mtu(mtu)
        .up()
        .build();
    h.link().set(link).execute().await.map_err(nl)?;
    h.address()
        .add(index, IpAddr::V4(local), 32)
        .execute()
        .await
        .map_err(nl)?;
    add_route(h, peer, 32, index).await
}

/// Route `dst/len` through interface `index` (replacing an existing one).
pub async fn add_route(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
    len: u8,
    index: u32,
) -> Result<(), OsError> {
    let route = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index)
        .build();
    h.route()
        .add(route)
        .replace()
        .execute()
        .await
        .map_err(|e| OsError::Netlink(e.to_string()))
}

/// The kernel's route to `dst` (RTM_GETROUTE): its gateway, if any, and
/// output interface.
pub async fn route_to(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
) -> Result<Option<(Option<Ipv4Addr>, u32)>, OsError> {
    use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
    let msg = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, 32)
        .build();
    let mut s = h.route().get(msg).execute();
    let Some(r) = s.next().await else {
        return Ok(None);
    };
    let r = r.map_err(|e| OsError::Netlink(e.to_string()))?;
    let mut gw = None;
    let mut oif = None;
    for a in &r.attributes {
        match a {
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => gw = Some(*g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            _ => {}
        }
    }
    Ok(oif.map(|o| (gw, o)))
}

/// Route `dst/len` through `gw` (if any) on interface `index`, replacing
/// an existing route.
pub async fn add_route_via(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
    len: u8,
    gw: Option<Ipv4Addr>,
    index: u32,
) -> Result<(), OsError> {
    let mut b = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index);
    if let Some(g) = gw {
        b = b.gateway(g);
    }
    h.route()
        .add(b.build())
        .replace()
        .execute()
        .await
        .map_err(|e| OsError::Netlink(e.to_string()))
}

/// Delete the route `dst/len` on interface `index`.
pub async fn del_route(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
    len: u8,
    index: u32,
) -> Result<(), OsError> {
    let r = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, len)
        .output_interface(index)
        .build();
    h.route()
        .del(r)
        .execute()
        .await
        .map_err(|e| OsError::Netlink(e.to_string()))
}

/// Interfaces with an IPv4 subnet holding `ip` (for proxy ARP).
pub async fn interfaces_on_subnet(
    h: &rtnetlink::Handle,
    ip: Ipv4Addr,
) -> Result<Vec<u32>, OsError> {
    let mut s = h.address().get().execute();
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        let m = m.map_err(|e| OsError::Netlink(e.to_string()))?;
        let len = m.header.prefix_len;
        if len == 0 || len >= 32 {
            continue;
        }
        let mask = u32::MAX << (32 - u32::from(len));
        for a in &m.attributes {
            if let AddressAttribute::Address(IpAddr::V4(a)) = *a {
                if u32::from(a) & mask == u32::from(ip) & mask && a != ip {
                    out.push(m.header.index);
                }
            }
        }
    }
    out.dedup();
    Ok(out)
}

/// Answer ARP for `ip` on interface `index` (`ip neigh add proxy`), or
/// stop answering.
pub async fn proxy_arp(
    h: &rtnetlink::Handle,
    index: u32,
    ip: Ipv4Addr,
    on: bool,
) -> Result<(), OsError> {
    use rtnetlink::packet_route::neighbour::NeighbourFlags;
    let nl = |e: rtnetlink::Error| OsError::Netlink(e.to_string());
    if on {
        h.neighbours()
            .add(index, IpAddr::V4(ip))
            .flags(NeighbourFlags::Proxy)
            .replace()
            .execute()
            .await
            .map_err(nl)
    } else {
        let mut m = rtnetlink::packet_route::neighbour::NeighbourMessage::default();
        m.header.family = rtnetlink::packet_route::AddressFamily::Inet;
        m.header.ifindex = index;
        m.header.flags = NeighbourFlags::Proxy;
        m.attributes.push(
            rtnetlink::packet_route::neighbour::NeighbourAttribute::Destination(
                rtnetlink::packet_route::neighbour::NeighbourAddress::Inet(ip),
            ),
        );
        h.neighbours().del(m).execute().await.map_err(nl)
    }
}
