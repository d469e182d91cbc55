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
