//! A session's addresses and routes: the call's host route (or, on the
//! kernel's path, its interface) before the call is answered, the
//! negotiated MTU and the user's own address at Up, RADIUS's
//! Framed-Routes, and IPv6's link-local address and prefix.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::session::{State, prefix_text};
use crate::os::addr;
use crate::ppp::ipv6cp::link_local;

/// IPv6 is up on a session: route the peer's link-local address and its
/// /64 to it.
pub(super) fn ipv6_up(st: &mut State, cid: u16, remote_id: Option<u64>) {
    let Some(s) = st.sessions.get_mut(&cid) else {
        return;
    };
    if let Some(id) = remote_id {
        match st.v6.by_id.get(&id) {
            Some(other) if *other != cid => {
                tracing::warn!(
                    call_id = cid,
                    "IPv6 interface identifier already in use by another session: its link-local address is not routed"
                );
            }
            _ => {
                st.v6.by_id.insert(id, cid);
                s.peer_id = Some(id);
            }
        }
    }
    tracing::info!(user = s.user.as_deref().unwrap_or("?"), link_local = ?s.peer_id.map(link_local),
        prefix = ?s.prefix6.map(prefix_text), "IPv6 up");
    if let Some(k) = &s.kernel {
        // The session's own interface needs the server's link-local address.
        let (h, idx, ll) = (st.h.clone(), k.ifindex, link_local(st.v6.id));
        tokio::task::spawn_local(async move {
            if let Err(e) = addr::add_address6(&h, idx, ll, 64).await {
                tracing::warn!(error = %e, "IPv6 link-local address on the session's interface");
            }
        });
    }
    let Some(upper) = s.prefix6 else {
        return;
    };
    st.v6.by_prefix.insert(upper, cid);
    let (h, idx) = (st.h.clone(), s.dev(st.tun_index));
    tokio::task::spawn_local(async move {
        let dst = Ipv6Addr::from(u128::from(upper) << 64);
        if let Err(e) = addr::add_route6(&h, dst, 64, None, idx).await {
            tracing::warn!(error = %e, "route to the client's IPv6 prefix");
        }
    });
}

/// RADIUS's Framed-Routes for a session: kernel routes to the TUN device,
/// and the table the TUN loop finds the session in.
pub(super) fn framed_routes(st: &mut State, cid: u16) {
    let Some(s) = st.sessions.get(&cid) else {
        return;
    };
    let routes = s.aaa.framed_routes.clone();
    for (net, len) in &routes {
        st.framed.push((*net, *len, cid));
    }
    let (h, idx) = (st.h.clone(), s.dev(st.tun_index));
    tokio::task::spawn_local(async move {
        for (net, len) in routes {
            if let Err(e) = addr::add_route(&h, net, len, idx).await {
                tracing::warn!(error = %e, %net, len, "Framed-Route");
            }
        }
    });
}

/// The MTU a kernel session's interface has until the session is Up and
/// the peer's MRU known; no IP passes the unit before then.
const PRE_UP_MTU: u32 = 1400;

/// A new call's route to its pool address, set before the call is
/// answered: a side opens once it has sent and received a Configure-Ack
/// (RFC 1661 §4.1), so the client may open, and send, the moment this
/// server's last Configure-Ack reaches it, which is too soon for a route
/// set only when this server opened. On the kernel's path the session's
/// interface comes up with its addresses (its unit drops IP until the
/// session is Up); on the TUN path the host route is set (the TUN loop
/// drops what belongs to no session that is Up). At most
/// [`PREPARE_TIMEOUT`]: the call is answered anyway, and the session's Up
/// sets the route again.
pub fn prepare(st: &State, cid: u16) -> impl std::future::Future<Output = ()> + use<> {
    let s = st.sessions.get(&cid);
    let (h, local) = (st.h.clone(), st.opts.local_ip);
    let target = s.map(|s| (s.dev(st.tun_index), s.kernel.is_some(), s.tunnel_ip));
    async move {
        let Some((idx, kernel, ip)) = target else {
            return;
        };
        let set = async {
            if kernel {
                addr::configure_p2p(&h, idx, local, ip, PRE_UP_MTU).await
            } else {
                addr::add_route(&h, ip, 32, idx).await
            }
        };
        match tokio::time::timeout(PREPARE_TIMEOUT, set).await {
            Ok(Ok(())) => tracing::debug!(call_id = cid, %ip, "new call's address routed"),
            Ok(Err(e)) => {
                tracing::warn!(call_id = cid, error = %e, %ip, "route to a new call's address")
            }
            Err(_) => {
                tracing::warn!(call_id = cid, %ip, "route to a new call's address: no answer from the kernel")
            }
        }
    }
}

/// How long a new call waits for its route before it is answered.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(2);

/// Host route to the client and, if asked, proxy ARP on the LAN whose
/// subnet holds its address.
/// On the kernel's path the session's own interface gets the addresses
/// (its peer address is the host route) and the negotiated MTU; `moved`
/// is the pool address [`prepare`] routed there, when the user's own
/// address replaced it.
pub(super) fn install(st: &State, cid: u16, ip: Ipv4Addr, mtu: u16, moved: Option<Ipv4Addr>) {
    let (h, proxy, local) = (st.h.clone(), st.opts.proxy_arp, st.opts.local_ip);
    let Some(s) = st.sessions.get(&cid) else {
        return;
    };
    let (idx, kernel) = (s.dev(st.tun_index), s.kernel.is_some());
    tokio::task::spawn_local(async move {
        if let (Some(old), true) = (moved, kernel) {
            // Another session may get that address now.
            let _ = addr::del_route(&h, old, 32, idx).await;
        }
        let r = if kernel {
            addr::configure_p2p(&h, idx, local, ip, u32::from(mtu)).await
        } else {
            addr::add_route(&h, ip, 32, idx).await
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "host route to the client");
        }
        if !proxy {
            return;
        }
        match addr::interfaces_on_subnet(&h, ip).await {
            Ok(ifs) => {
                for i in ifs.into_iter().filter(|i| *i != idx) {
                    if let Err(e) = addr::proxy_arp(&h, i, ip, true).await {
                        tracing::warn!(error = %e, %ip, "proxy ARP entry");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "looking up the LAN for proxy ARP"),
        }
    });
}
