//! One dial attempt of a client profile: resolve the server, TCP 1723,
//! PPTP call, PPP on raw GRE and a TUN device, routes and DNS, until the
//! link drops or the profile is told to stop. Cleans up what it installed.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::status::{State, Status};
use crate::config::{ClientCfg, Host, RoutePrefix, Routes};
use crate::nat::alloc::{Owner, SharedAllocator};
use crate::os::gre::GreSocket;
use crate::os::pppk::KernelCall;
use crate::os::tun::Tun;
use crate::os::{OsError, addr};
use crate::ppp::auth::AuthConfig;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::ipv6cp::{Ipv6cpConfig, link_local};
use crate::ppp::session::{Session, SessionConfig, SessionError, SessionEvent};
use crate::pptp::control::{Control, ControlConfig, ControlEvent};
use crate::pptp::gre::{GreChannel, GreConfig};
use crate::pptp::link::Link;
use crate::service::endpoint::{
    KernelLink, OsRng, flush, flush_kernel, kernel_policy, random_call_id, security_policy,
    use_kernel,
};
use crate::wire::mss::{clamp_mss, mss_for_mtu};

/// Most SLAAC addresses one tunnel takes from the server's advertisements.
const MAX_SLAAC_ADDRESSES: usize = 4;

/// A profile ready to dial.
#[derive(Debug, Clone)]
pub struct Profile {
    pub cfg: ClientCfg,
    /// TUN device name.
    pub tun: String,
    /// Time each set-up step may take.
    pub timeout: Duration,
    /// Run with `up` once the tunnel is up and `down` once it is gone
    /// (OpenWrt's netifd protocol handler reports the tunnel this way).
    pub hook: Option<std::path::PathBuf>,
}

/// Where our Call IDs come from: random, or the allocator the passthrough
/// helper uses for public Call IDs when both run in one process.
#[derive(Clone)]
pub enum CallIds {
    Random,
    Shared(SharedAllocator),
}

/// How an attempt ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// How long the tunnel was up, if it came up.
    pub up_for: Option<Duration>,
    /// Why it ended, if not by request.
    pub error: Option<String>,
    /// Retrying cannot help (wrong password, bad profile).
    pub fatal: bool,
}

fn now() -> Instant {
    Instant::now()
}

/// Dial once. `stop` turning true ends the attempt cleanly.
pub async fn attempt(
    p: &Profile,
    ids: &CallIds,
    status: &RefCell<Status>,
    stop: &mut watch::Receiver<bool>,
) -> Outcome {
    let mut up = Tunnel::default();
    let r = run(p, ids, status, stop, &mut up).await;
    up.cleanup(p).await;
    let up_for = up.since.map(|t| t.elapsed());
    match r {
        Ok(()) => Outcome {
            up_for,
            ..Outcome::default()
        },
        Err(Fail { msg, fatal }) => Outcome {
            up_for,
            error: Some(msg),
            fatal,
        },
    }
}

struct Fail {
    msg: String,
    fatal: bool,
}

fn fail(msg: impl Into<String>) -> Fail {
    Fail {
        msg: msg.into(),
        fatal: false,
    }
}

impl From<OsError> for Fail {
    fn from(e: OsError) -> Self {
        fail(e.to_string())
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        fail(e.to_string())
    }
}

/// What an attempt installed, undone by [`Tunnel::cleanup`].
#[derive(Default)]
struct Tunnel {
    since: Option<Instant>,
    h: Option<rtnetlink::Handle>,
    /// Host route to the server kept outside the tunnel (`routes default`).
    server_route: Option<(Ipv4Addr, u32)>,
    dns_written: bool,
    id: Option<(SharedAllocator, Ipv4Addr, Ipv4Addr, u16)>,
    /// The hook ran `up`: it runs `down` at the end (its TUN name, server).
    hooked: Option<(String, Ipv4Addr)>,
}

impl Tunnel {
    async fn cleanup(&mut self, p: &Profile) {
        if let (Some(h), Some((server, oif))) = (&self.h, self.server_route.take()) {
            if let Err(e) = addr::del_route(h, server, 32, oif).await {
                tracing::warn!(error = %e, "removing the host route to the server");
            }
        }
        if self.dns_written {
            if let Some(f) = &p.cfg.dns_file {
                let _ = std::fs::remove_file(f);
            }
        }
        if let Some((alloc, local, server, id)) = self.id.take() {
            alloc.borrow_mut().release(local, server, id, now());
        }
        if let Some((ifname, server)) = self.hooked.take() {
            let env = [("IFNAME", ifname), ("SERVER", server.to_string())];
            run_hook(p, "down", &env);
        }
    }
}

/// Run the profile's hook with `action` and the tunnel's facts in the
/// environment, as pppd gives its ip-up scripts (IFNAME, IPLOCAL, IPREMOTE,
/// DNS1, DNS2, MTU, SERVER). It runs beside the tunnel; a failure is
/// logged.
fn run_hook(p: &Profile, action: &'static str, env: &[(&str, String)]) {
    let Some(path) = &p.hook else {
        return;
    };
    let mut cmd = std::process::Command::new(path);
    cmd.arg(action)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null());
    match cmd.spawn() {
        Ok(mut child) => {
            let path = path.clone();
            std::thread::spawn(move || match child.wait() {
                Ok(st) if st.success() => {}
                Ok(st) => tracing::warn!(hook = %path.display(), action, %st, "hook failed"),
                Err(e) => tracing::warn!(hook = %path.display(), action, error = %e, "hook lost"),
            });
        }
        Err(e) => tracing::warn!(hook = %path.display(), error = %e, "cannot run the hook"),
    }
}

fn resolve(host: &Host) -> Result<Ipv4Addr, Fail> {
    match host {
        Host::Ip(ip) => Ok(*ip),
        Host::Name(n) => (n.as_str(), 1723)
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve {n}: {e}")))?
            .find_map(|s| match s {
                SocketAddr::V4(v) => Some(*v.ip()),
                SocketAddr::V6(_) => None,
            })
            .ok_or_else(|| fail(format!("{n} has no IPv4 address"))),
    }
}

async fn run(
    p: &Profile,
    ids: &CallIds,
    status: &RefCell<Status>,
    stop: &mut watch::Receiver<bool>,
    up: &mut Tunnel,
) -> Result<(), Fail> {
    let limit = p.timeout.max(Duration::from_secs(1));
    let server = resolve(&p.cfg.server)?;
    let mut tcp = tokio::time::timeout(limit, TcpStream::connect((server, 1723)))
        .await
        .map_err(|_| fail(format!("TCP 1723 to {server} timed out")))?
        .map_err(|e| fail(format!("TCP 1723 to {server}: {e}")))?;
    tcp.set_nodelay(true)?;
    let SocketAddr::V4(local) = tcp.local_addr()? else {
        return Err(fail("not IPv4"));
    };
    let local = *local.ip();
    let (methods, mppe) = security_policy(&p.cfg.security);
    let kernel = use_kernel(p.cfg.data_path, mppe).map_err(|e| Fail {
        msg: e,
        fatal: true,
    })?;
    let mppe = if kernel { kernel_policy(mppe) } else { mppe };
    // Open GRE before the call: the server's first LCP packet may come
    // right behind its Outgoing-Call-Reply. (On the kernel's path the
    // packets wait in the PPPoX socket's queue until it is connected.)
    let gre = if kernel {
        None
    } else {
        Some(GreSocket::bind(local)?)
    };
    let mut ctl = Control::client(ControlConfig::default(), now());
    let mut next_id = || match ids {
        CallIds::Random => random_call_id(),
        CallIds::Shared(a) => match a.borrow_mut().alloc(local, server, Owner::Router, now()) {
            Ok(id) => {
                up.id = Some((a.clone(), local, server, id));
                id
            }
            Err(_) => 0,
        },
    };
    let mut buf = vec![0u8; 4096];
    let deadline = now() + limit;
    let mut call: Option<(u16, u16)> = None;
    let mut requested = false;
    while call.is_none() {
        while let Some(b) = ctl.poll_transmit() {
            tcp.write_all(&b).await?;
        }
        while let Some(ev) = ctl.poll_event() {
            match ev {
                ControlEvent::CallUp {
                    call_id,
                    peer_call_id,
                    ..
                } => call = Some((call_id, peer_call_id)),
                ControlEvent::CallDown { reason, .. } => {
                    return Err(fail(format!("call refused: {reason:?}")));
                }
                ControlEvent::Closed { error } => {
                    return Err(fail(format!("control connection closed: {error:?}")));
                }
                _ => {}
            }
        }
        if ctl.is_established() && !requested {
            requested = true;
            ctl.open_call(&mut next_id, now())
                .map_err(|e| fail(e.to_string()))?;
            continue;
        }
        if call.is_some() {
            break;
        }
        if now() > deadline {
            return Err(fail(
                "the server did not answer the control handshake or call in time",
            ));
        }
        tokio::select! {
            r = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => return Err(fail("the server closed the control connection")),
                Ok(Ok(n)) => ctl.handle_bytes(now(), &buf[..n]),
                Err(_) => ctl.handle_timeout(now()),
            },
            _ = stop.changed() => return Ok(()),
        }
    }
    let Some((call_id, peer_call_id)) = call else {
        return Err(fail("no call"));
    };
    tracing::info!(profile = %p.cfg.name, %server, call_id, peer_call_id, "call up, starting PPP");
    let h = addr::handle()?;
    up.h = Some(h.clone());
    let (tun, mut klink, tun_index, ifname) = if kernel {
        let mut call = KernelCall::open(local, call_id, server, peer_call_id)?;
        let index = call.ifindex()?;
        // The profile's interface name, as on the TUN path (firewall zones
        // and the netifd handler know it).
        match addr::rename(&h, index, &p.tun).await {
            Ok(()) => call.set_ifname(p.tun.clone()),
            Err(e) => {
                tracing::warn!(error = %e, name = %p.tun, "keeping the kernel's interface name")
            }
        }
        let name = call.ifname();
        tracing::info!(interface = %name, "data on the kernel's path");
        let k = KernelLink {
            call: std::rc::Rc::new(call),
            ifindex: index,
            keys_set: false,
            ccp_up: false,
            mppe_required: mppe.is_some_and(|m| m.required),
            reader: None,
        };
        (None, Some(k), index, name)
    } else {
        let tun = Tun::open(&p.tun)?;
        let index = addr::ifindex(&h, tun.name()).await?;
        let name = tun.name().to_string();
        (Some(tun), None, index, name)
    };
    status.borrow_mut().data_path = Some(if kernel { "kernel" } else { "tun" });
    let cfg = SessionConfig {
        auth: AuthConfig {
            methods,
            name: p.cfg.username.clone(),
            password: p.cfg.password.clone(),
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            local: None,
            remote: None,
            dns: [None, None],
            nbns: [None, None],
            request_dns: true,
            request_nbns: false,
        },
        ipv6: p.cfg.ipv6.then(Ipv6cpConfig::default),
        solicit: p.cfg.ipv6,
        kernel_mppe: kernel,
        ..SessionConfig::default()
    };
    let ppp = Session::client(cfg, now(), OsRng);
    let mut link = Link::new(
        GreChannel::new(call_id, peer_call_id, GreConfig::default()),
        ppp,
        server,
    );
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let (mut gbuf, mut tbuf) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut kbuf = vec![
        0u8;
        if klink.is_some() {
            crate::os::pppk::FRAME_BUF
        } else {
            0
        }
    ];
    let mut stopping: Option<Instant> = None;
    let mut mss: Option<u16> = None;
    let mut dns4: Vec<Ipv4Addr> = Vec::new();
    // What the hook was told at `up`, told again with IPv6 at `up6`.
    let mut hook_env: Vec<(&str, String)> = Vec::new();
    let mut local_id: Option<u64> = None;
    let mut v6_addrs: Vec<Ipv6Addr> = Vec::new();
    let result = 'run: loop {
        let t = now();
        let events = match (&mut klink, &gre, &tun) {
            (Some(k), _, _) => flush_kernel(&mut link.ppp, k),
            (None, Some(g), Some(tn)) => flush(&mut link, t, g, tn, mss).0,
            _ => Vec::new(),
        };
        for ev in events {
            match ev {
                SessionEvent::Up {
                    local_ip,
                    remote_ip,
                    dns,
                    mtu,
                    mppe,
                } => {
                    let peer = remote_ip.unwrap_or(local_ip);
                    let mtu = mtu.min(p.cfg.mtu);
                    mss = Some(mss_for_mtu(mtu));
                    addr::configure_p2p(&h, tun_index, local_ip, peer, u32::from(mtu)).await?;
                    let dns: Vec<Ipv4Addr> = dns.iter().flatten().copied().collect();
                    install_routes(p, &h, tun_index, server, up).await?;
                    dns4.clone_from(&dns);
                    write_dns(p, &dns, &status.borrow().dns6, up);
                    if up.hooked.is_none() {
                        let mut env = vec![
                            ("IFNAME", ifname.clone()),
                            ("IPLOCAL", local_ip.to_string()),
                            ("IPREMOTE", peer.to_string()),
                            ("MTU", mtu.to_string()),
                            ("SERVER", server.to_string()),
                        ];
                        for (k, d) in ["DNS1", "DNS2"].into_iter().zip(&dns) {
                            env.push((k, d.to_string()));
                        }
                        run_hook(p, "up", &env);
                        hook_env = env;
                        up.hooked = Some((ifname.clone(), server));
                    }
                    up.since.get_or_insert_with(now);
                    let mut s = status.borrow_mut();
                    s.state = State::Connected;
                    s.local_ip = Some(local_ip);
                    s.remote_ip = Some(peer);
                    s.dns = dns.clone();
                    s.mppe = mppe.map(|m| format!("{m:?}"));
                    s.since = up.since;
                    s.last_error = None;
                    println!(
                        "connected: tunnel {local_ip} <-> {peer} on {ifname}, MTU {mtu}, MPPE {mppe:?}, DNS {dns:?}",
                    );
                }
                SessionEvent::AuthFailed { reason } => {
                    tracing::warn!(%reason, "authentication failed")
                }
                SessionEvent::Verify(_) => {}
                SessionEvent::Ipv6Up {
                    local_id: id,
                    remote_id,
                } => {
                    local_id = Some(id);
                    let ll = link_local(id);
                    addr::add_address6(&h, tun_index, ll, 64).await?;
                    if klink.is_some() {
                        // The server's advertisements reach the kernel, not
                        // the session: the kernel forms the address (from
                        // the link-local identifier) and the routes.
                        if let Err(e) = addr::accept_ra(&ifname) {
                            tracing::warn!(error = %e, "IPv6 autoconfiguration on {ifname}");
                        }
                    }
                    if let Routes::Prefixes(list) = &p.cfg.routes {
                        for r in list {
                            if let RoutePrefix::V6(r) = r {
                                addr::add_route6(&h, r.addr(), r.prefix_len(), None, tun_index)
                                    .await?;
                            }
                        }
                    }
                    let mut s = status.borrow_mut();
                    s.ipv6_link_local = Some(ll);
                    s.ipv6_peer = remote_id.map(link_local);
                    let peer = s.ipv6_peer.map_or("?".to_string(), |a| a.to_string());
                    println!("IPv6 up: {ll} <-> {peer} on {ifname}");
                }
                SessionEvent::RouterAdvert { router, ra } => {
                    let Some(id) = local_id else { continue };
                    let slaac = slaac(&ra, id);
                    for a in &slaac {
                        if !v6_addrs.contains(a) {
                            if v6_addrs.len() >= MAX_SLAAC_ADDRESSES {
                                tracing::warn!(address = %a, "IPv6 address from the server ignored: the tunnel has {MAX_SLAAC_ADDRESSES} already");
                                continue;
                            }
                            v6_addrs.push(*a);
                        }
                        addr::add_address6(&h, tun_index, *a, 64).await?;
                    }
                    if ra.router_lifetime > 0 && p.cfg.routes == Routes::Default {
                        for half in [
                            Ipv6Addr::UNSPECIFIED,
                            Ipv6Addr::new(0x8000, 0, 0, 0, 0, 0, 0, 0),
                        ] {
                            addr::add_route6(&h, half, 1, Some(router), tun_index).await?;
                        }
                    }
                    let changed = {
                        let mut s = status.borrow_mut();
                        let changed = s.ipv6_addr != slaac.first().copied() || s.dns6 != ra.dns;
                        s.ipv6_addr = slaac.first().copied();
                        s.dns6.clone_from(&ra.dns);
                        changed
                    };
                    if changed {
                        tracing::info!(address = ?slaac.first(), dns = ?ra.dns, "IPv6 address from the server's Router Advertisement");
                        write_dns(p, &dns4, &ra.dns, up);
                        if up.hooked.is_some() {
                            let mut env = hook_env.clone();
                            let words = |v: &[Ipv6Addr]| {
                                v.iter()
                                    .map(Ipv6Addr::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            };
                            env.push(("LLLOCAL", link_local(id).to_string()));
                            env.push(("LLREMOTE", router.to_string()));
                            env.push(("IP6ADDR", words(&slaac[..slaac.len().min(1)])));
                            env.push(("IP6ROUTER", u8::from(ra.router_lifetime > 0).to_string()));
                            env.push(("DNS6", words(&ra.dns)));
                            run_hook(p, "up6", &env);
                        }
                    }
                }
                SessionEvent::Authenticated { .. } => tracing::info!("authenticated"),
                SessionEvent::Down { reason } => {
                    let fatal = matches!(
                        reason,
                        SessionError::Auth(_) | SessionError::MppeWithoutKeys(_)
                    );
                    break 'run Err(Fail {
                        msg: format!("link down: {reason}"),
                        fatal,
                    });
                }
            }
        }
        {
            let (bytes_in, bytes_out) = match &klink {
                Some(k) => {
                    let (i, _, o, _) = k.call.counters();
                    (i, o)
                }
                None => {
                    let g = link.gre.stats();
                    (g.bytes_in, g.bytes_out)
                }
            };
            let mut s = status.borrow_mut();
            s.bytes_in = bytes_in;
            s.bytes_out = bytes_out;
        }
        while let Some(b) = ctl.poll_transmit() {
            let _ = tcp.write_all(&b).await;
        }
        if stopping.is_some_and(|x| t >= x) || ctl.is_closed() {
            break if stopping.is_some() {
                Ok(())
            } else {
                Err(fail("the server closed the control connection"))
            };
        }
        tokio::select! {
            r = recv_gre(gre.as_ref(), &mut gbuf) => if let Ok((src, range)) = r {
                if src == server {
                    link.on_gre(now(), &gbuf[range]);
                }
            },
            r = recv_kernel(klink.as_ref(), &mut kbuf) => match r {
                Ok(n) => link.ppp.handle_frame(now(), &kbuf[..n]),
                Err(e) => break Err(fail(format!("the kernel's PPP unit: {e}"))),
            },
            r = recv_tun(tun.as_ref(), &mut tbuf) => if let Ok(n) = r {
                if let Some(m) = mss {
                    clamp_mss(&mut tbuf[..n], m);
                }
                let _ = link.ppp.send_ip(&tbuf[..n]);
            },
            r = tcp.read(&mut buf) => match r {
                Ok(0) | Err(_) => break Err(fail("the server closed the control connection")),
                Ok(n) => ctl.handle_bytes(now(), &buf[..n]),
            },
            _ = tick.tick() => {
                let t = now();
                link.on_timeout(t);
                if ctl.poll_timeout().is_some_and(|x| x <= t) {
                    ctl.handle_timeout(t);
                }
            },
            _ = stop.changed(), if stopping.is_none() => {
                link.ppp.close(now());
                stopping = Some(now() + Duration::from_millis(500));
            },
        }
    };
    let _ = ctl.close_call(call_id, now());
    ctl.stop(now());
    while let Some(b) = ctl.poll_transmit() {
        let _ = tcp.write_all(&b).await;
    }
    result
}

/// The profile's routes through the tunnel. For `default`, a host route
/// to the server through its current gateway keeps GRE out of the tunnel,
/// and two /1 routes override the default route without removing it.
/// The next packet of whichever data path the attempt uses; the others
/// never complete.
async fn recv_gre(
    g: Option<&GreSocket>,
    buf: &mut [u8],
) -> Result<(Ipv4Addr, std::ops::Range<usize>), OsError> {
    match g {
        Some(g) => g.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_tun(t: Option<&Tun>, buf: &mut [u8]) -> Result<usize, OsError> {
    match t {
        Some(t) => t.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn recv_kernel(k: Option<&KernelLink>, buf: &mut [u8]) -> Result<usize, OsError> {
    match k {
        Some(k) => k.call.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn install_routes(
    p: &Profile,
    h: &rtnetlink::Handle,
    tun_index: u32,
    server: Ipv4Addr,
    up: &mut Tunnel,
) -> Result<(), OsError> {
    match &p.cfg.routes {
        Routes::None => Ok(()),
        Routes::Default => {
            if up.server_route.is_none() {
                if let Some((gw, oif)) = addr::route_to(h, server).await? {
                    if oif != tun_index {
                        addr::add_route_via(h, server, 32, gw, oif).await?;
                        up.server_route = Some((server, oif));
                    }
                }
            }
            for half in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(128, 0, 0, 0)] {
                addr::add_route(h, half, 1, tun_index).await?;
            }
            Ok(())
        }
        Routes::Prefixes(list) => {
            for r in list {
                if let RoutePrefix::V4(r) = r {
                    addr::add_route(h, r.addr(), r.prefix_len(), tun_index).await?;
                }
            }
            Ok(())
        }
    }
}

/// The addresses SLAAC forms from an advertisement (RFC 4862 §5.5.3):
/// each autonomous /64 with a lifetime, and the identifier IPV6CP agreed
/// (RFC 5072 §5).
fn slaac(ra: &crate::wire::nd::RouterAdvert, id: u64) -> Vec<Ipv6Addr> {
    ra.prefixes
        .iter()
        .filter(|p| p.autonomous && p.len == 64 && p.valid > 0 && p.preferred <= p.valid)
        .map(|p| Ipv6Addr::from(u128::from(p.prefix) & !u128::from(u64::MAX) | u128::from(id)))
        .collect()
}

/// The server's DNS servers (IPCP's, then the advertised IPv6 ones) in
/// resolv.conf format, written atomically.
fn write_dns(p: &Profile, dns: &[Ipv4Addr], dns6: &[Ipv6Addr], up: &mut Tunnel) {
    let dns: Vec<IpAddr> = dns
        .iter()
        .map(|a| IpAddr::V4(*a))
        .chain(dns6.iter().map(|a| IpAddr::V6(*a)))
        .collect();
    let Some(file) = &p.cfg.dns_file else { return };
    let mut text = format!(
        "# DNS of PPTP profile '{}' (pptp-passthrough)\n",
        p.cfg.name
    );
    for d in dns {
        text += &format!("nameserver {d}\n");
    }
    let tmp = file.with_extension("tmp");
    match std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, file)) {
        Ok(()) => up.dns_written = true,
        Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot write the DNS file"),
    }
}
