//! The WAN interface through rtnetlink: its index, its IPv4 address, and a
//! stream of address-change notifications; the tunnels' links, addresses,
//! routes and proxy ARP. Requests are built by `rtmsg`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::{Stream, StreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::sys::AsyncSocket;

use super::OsError;
use super::rtmsg::{self, Request};

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

/// Send `r`; the answers, or the first error the kernel reports.
fn send(
    h: &rtnetlink::Handle,
    r: Request,
) -> Result<impl Stream<Item = Result<RouteNetlinkMessage, OsError>> + use<>, OsError> {
    let s = h
        .clone()
        .request(r)
        .map_err(|e| OsError::Netlink(e.to_string()))?;
    Ok(s.filter_map(|m| async move {
        match m.payload {
            NetlinkPayload::InnerMessage(i) => Some(Ok(i)),
            NetlinkPayload::Error(e) if e.code.is_some() => {
                Some(Err(OsError::Netlink(e.to_io().to_string())))
            }
            _ => None,
        }
    }))
}

/// Send a change and wait for the kernel's acknowledgement.
async fn change(h: &rtnetlink::Handle, r: Request) -> Result<(), OsError> {
    let mut s = std::pin::pin!(send(h, r)?);
    while let Some(m) = s.next().await {
        m?;
    }
    Ok(())
}

/// Index of an interface by name.
pub async fn ifindex(h: &rtnetlink::Handle, name: &str) -> Result<u32, OsError> {
    let mut s = std::pin::pin!(send(h, rtmsg::link_by_name(name))?);
    match s.next().await {
        Some(Ok(RouteNetlinkMessage::NewLink(m))) => Ok(m.header.index),
        _ => Err(OsError::NoInterface(name.to_string())),
    }
}

/// Every IPv4 address: (interface index, prefix length, address).
async fn ipv4_addresses(h: &rtnetlink::Handle) -> Result<Vec<(u32, u8, Ipv4Addr)>, OsError> {
    let mut s = std::pin::pin!(send(h, rtmsg::ipv4_addresses())?);
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        let RouteNetlinkMessage::NewAddress(m) = m? else {
            continue;
        };
        for a in &m.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = *a {
                out.push((m.header.index, m.header.prefix_len, ip));
            }
        }
    }
    Ok(out)
}

/// The first IPv4 address of an interface.
pub async fn ipv4_of(h: &rtnetlink::Handle, index: u32) -> Result<Option<Ipv4Addr>, OsError> {
    let all = ipv4_addresses(h).await?;
    Ok(all.into_iter().find(|a| a.0 == index).map(|a| a.2))
}

/// A plain rtnetlink handle (no multicast groups), driver spawned.
pub fn handle() -> Result<rtnetlink::Handle, OsError> {
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| OsError::Netlink(e.to_string()))?;
    tokio::spawn(conn);
    Ok(handle)
}

/// Let the kernel autoconfigure IPv6 from Router Advertisements on
/// `ifname` even when the host forwards (`accept_ra` 2).
pub fn accept_ra(ifname: &str) -> Result<(), OsError> {
    if ifname.contains('/') || ifname.starts_with('.') {
        return Err(OsError::NoInterface(ifname.into()));
    }
    std::fs::write(format!("/proc/sys/net/ipv6/conf/{ifname}/accept_ra"), "2")?;
    Ok(())
}

/// Rename interface `index` (it must be down).
pub async fn rename(h: &rtnetlink::Handle, index: u32, name: &str) -> Result<(), OsError> {
    change(h, rtmsg::link_rename(index, name)).await
}

/// Bring a point-to-point link up: MTU, local address (/32), link up, and a
/// host route to the peer through it. Each request replaces what is there,
/// so doing it again (a new MTU, a new peer) is harmless.
pub async fn configure_p2p(
    h: &rtnetlink::Handle,
    index: u32,
    local: Ipv4Addr,
    peer: Ipv4Addr,
    mtu: u32,
) -> Result<(), OsError> {
    change(h, rtmsg::link_up(index, mtu)).await?;
    change(h, rtmsg::address_add(index, local, 32)).await?;
    add_route(h, peer, 32, index).await
}

/// An IPv6 address on interface `index`, without duplicate detection
/// (replacing the same address).
pub async fn add_address6(
    h: &rtnetlink::Handle,
    index: u32,
    ip: Ipv6Addr,
    len: u8,
) -> Result<(), OsError> {
    change(h, rtmsg::address6_add(index, ip, len)).await
}

/// Route the IPv6 prefix `dst/len` through interface `index` (and `gw`).
pub async fn add_route6(
    h: &rtnetlink::Handle,
    dst: Ipv6Addr,
    len: u8,
    gw: Option<Ipv6Addr>,
    index: u32,
) -> Result<(), OsError> {
    change(h, rtmsg::route6_replace(dst, len, gw, index)).await
}

/// Delete the IPv6 route `dst/len` on interface `index`.
pub async fn del_route6(
    h: &rtnetlink::Handle,
    dst: Ipv6Addr,
    len: u8,
    index: u32,
) -> Result<(), OsError> {
    change(h, rtmsg::route6_del(dst, len, index)).await
}

/// Route `dst/len` through interface `index` (replacing an existing one).
pub async fn add_route(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
    len: u8,
    index: u32,
) -> Result<(), OsError> {
    change(h, rtmsg::route_replace(dst, len, None, index)).await
}

/// The kernel's route to `dst` (RTM_GETROUTE): its gateway, if any, and
/// output interface.
pub async fn route_to(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
) -> Result<Option<(Option<Ipv4Addr>, u32)>, OsError> {
    let mut s = std::pin::pin!(send(h, rtmsg::route_get(dst))?);
    let Some(RouteNetlinkMessage::NewRoute(r)) = s.next().await.transpose()? else {
        return Ok(None);
    };
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
    change(h, rtmsg::route_replace(dst, len, gw, index)).await
}

/// Delete the route `dst/len` on interface `index`.
pub async fn del_route(
    h: &rtnetlink::Handle,
    dst: Ipv4Addr,
    len: u8,
    index: u32,
) -> Result<(), OsError> {
    change(h, rtmsg::route_del(dst, len, index)).await
}

/// Interfaces with an IPv4 subnet holding `ip` (for proxy ARP).
pub async fn interfaces_on_subnet(
    h: &rtnetlink::Handle,
    ip: Ipv4Addr,
) -> Result<Vec<u32>, OsError> {
    let mut out = Vec::new();
    for (index, len, a) in ipv4_addresses(h).await? {
        if len == 0 || len >= 32 {
            continue;
        }
        let mask = u32::MAX << (32 - u32::from(len));
        if u32::from(a) & mask == u32::from(ip) & mask && a != ip {
            out.push(index);
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
    change(h, rtmsg::proxy_neighbour(index, ip, on)).await
}
