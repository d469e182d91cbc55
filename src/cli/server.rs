//! `server`: the embedded PPTP server. One TUN device for every session
//! (a host route per client), one raw GRE socket demultiplexed by Call ID,
//! a task per control connection; all on one thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::endpoint::{OsRng, auth_methods, flush, ipv4_dst, mppe_policy, random_call_id};
use crate::config::secrets::load_secrets;
use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::os::{OsError, addr};
use crate::ppp::auth::{AuthConfig, AuthError, Credentials, Secret};
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::session::{Session, SessionConfig, SessionEvent};
use crate::pptp::control::{Control, ControlConfig, ControlEvent};
use crate::pptp::gre::{GreChannel, GreConfig};
use crate::pptp::link::Link;
use crate::pptp::lockout::{Key, Lockout};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (TCP 1723 and GRE).
    #[arg(long, default_value = "0.0.0.0")]
    listen: Ipv4Addr,
    /// pppd-format chap-secrets file (client server secret [address]).
    #[arg(long, default_value = "/etc/ppp/chap-secrets")]
    secrets: PathBuf,
    /// The server's address inside the tunnels.
    #[arg(long)]
    local_ip: Ipv4Addr,
    /// First and last address handed to clients.
    #[arg(long)]
    pool_start: Ipv4Addr,
    #[arg(long)]
    pool_end: Ipv4Addr,
    /// DNS servers pushed to clients (at most 2).
    #[arg(long)]
    dns: Vec<Ipv4Addr>,
    /// Authentication methods the server accepts, strongest first.
    #[arg(long, default_value = "mschapv2", value_delimiter = ',')]
    auth: Vec<String>,
    /// MPPE policy: require-128, require, optional, none.
    #[arg(long, default_value = "require-128")]
    mppe: String,
    /// Offer stateful MPPE (stateless is the default and more robust).
    #[arg(long)]
    mppe_stateful: bool,
    /// Name of the TUN device.
    #[arg(long, default_value = "pptps0")]
    tun: String,
    /// Sessions at most.
    #[arg(long, default_value_t = 100)]
    max_sessions: usize,
    /// Sessions still authenticating at most (slow or hostile clients).
    #[arg(long, default_value_t = 16)]
    max_pending_auth: usize,
    /// Failed logins in a row before a user or source address is locked out.
    #[arg(long, default_value_t = 5)]
    auth_fail_limit: u32,
    /// First lockout in seconds; doubled each time, at most an hour.
    #[arg(long, default_value_t = 60)]
    lockout: u64,
}

/// The chap-secrets table, refusing users that are locked out.
struct Guarded {
    table: HashMap<String, Secret>,
    lock: Arc<Mutex<Lockout>>,
}

impl Credentials for Guarded {
    fn secret(&self, user: &str) -> Option<Secret> {
        let locked = self
            .lock
            .lock()
            .map(|l| l.locked(&Key::User(user.to_string()), Instant::now()))
            .unwrap_or(false);
        if locked {
            tracing::warn!(%user, "login refused: user locked out after failed logins");
            return None;
        }
        self.table.get(user).cloned()
    }
}

struct Session_ {
    link: Link,
    user: Option<String>,
    tunnel_ip: Ipv4Addr,
    started: Instant,
}

struct State {
    gre: Rc<GreSocket>,
    tun: Rc<Tun>,
    tun_index: u32,
    h: rtnetlink::Handle,
    sessions: HashMap<u16, Session_>,
    by_ip: HashMap<Ipv4Addr, u16>,
    free: Vec<Ipv4Addr>,
    cfg: SessionConfig,
    secrets: Arc<dyn Credentials + Send + Sync>,
    lock: Arc<Mutex<Lockout>>,
    max_sessions: usize,
    max_pending_auth: usize,
}

type Shared = Rc<RefCell<State>>;

pub async fn run(a: Args) -> Result<(), OsError> {
    let bad = |e: String| OsError::Command {
        cmd: "server".into(),
        detail: e,
    };
    let methods = auth_methods(&a.auth).map_err(bad)?;
    let mppe = mppe_policy(&a.mppe, a.mppe_stateful).map_err(bad)?;
    let secrets = load_secrets(&a.secrets).map_err(|e| bad(e.to_string()))?;
    let table: HashMap<String, Secret> = secrets
        .entries()
        .iter()
        .map(|s| {
            (
                s.client.clone(),
                Secret {
                    password: s.secret.clone(),
                    address: s.address,
                },
            )
        })
        .collect();
    let (s, e) = (u32::from(a.pool_start), u32::from(a.pool_end));
    if s > e || e - s > 65535 {
        return Err(bad(
            "--pool-start must not be after --pool-end (at most 65536 addresses)".into(),
        ));
    }
    let free: Vec<Ipv4Addr> = (s..=e)
        .rev()
        .map(Ipv4Addr::from)
        .filter(|ip| *ip != a.local_ip)
        .collect();
    let cfg = SessionConfig {
        auth: AuthConfig {
            methods,
            name: "pptp-passthrough".into(),
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            local: Some(a.local_ip),
            remote: None,
            dns: [a.dns.first().copied(), a.dns.get(1).copied()],
            nbns: [None, None],
            request_dns: false,
            request_nbns: false,
        },
        ..SessionConfig::default()
    };
    let tun = Tun::open(&a.tun)?;
    let h = addr::handle()?;
    let tun_index = addr::ifindex(&h, tun.name()).await?;
    addr::configure_p2p(&h, tun_index, a.local_ip, a.local_ip, 1400).await?;
    let gre = GreSocket::bind(a.listen)?;
    let listener = TcpListener::bind((a.listen, 1723)).await?;
    tracing::info!(listen = %a.listen, tun = tun.name(), "PPTP server running");
    let lock = Arc::new(Mutex::new(Lockout::new(
        a.auth_fail_limit,
        Duration::from_secs(a.lockout),
        Duration::from_secs(3600),
    )));
    let st: Shared = Rc::new(RefCell::new(State {
        gre: Rc::new(gre),
        tun: Rc::new(tun),
        tun_index,
        h,
        sessions: HashMap::new(),
        by_ip: HashMap::new(),
        free,
        cfg,
        secrets: Arc::new(Guarded {
            table,
            lock: lock.clone(),
        }),
        lock,
        max_sessions: a.max_sessions,
        max_pending_auth: a.max_pending_auth,
    }));
    tokio::task::spawn_local(gre_loop(st.clone()));
    tokio::task::spawn_local(tun_loop(st.clone()));
    tokio::task::spawn_local(tick_loop(st.clone()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            r = listener.accept() => {
                let (s, peer) = r?;
                tokio::task::spawn_local(control_task(st.clone(), s, peer));
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("PPTP server stopping");
    Ok(())
}

/// Send a link's output and act on its events.
fn pump(st: &mut State, cid: u16, now: Instant) {
    let (gre, tun) = (st.gre.clone(), st.tun.clone());
    let Some(s) = st.sessions.get_mut(&cid) else {
        return;
    };
    let events = flush(&mut s.link, now, &gre, &tun);
    for ev in events {
        let Some(s) = st.sessions.get_mut(&cid) else {
            return;
        };
        match ev {
            SessionEvent::Authenticated { user, method } => {
                tracing::info!(%user, ?method, peer = %s.link.peer, "authenticated");
                if let Ok(mut l) = st.lock.lock() {
                    l.success(&Key::User(user.clone()));
                    l.success(&Key::Addr(s.link.peer));
                }
                s.user = Some(user);
            }
            SessionEvent::AuthFailed { reason } => {
                let peer = s.link.peer;
                tracing::warn!(%peer, %reason, "authentication failed");
                if let (AuthError::Denied { user, .. }, Ok(mut l)) = (&reason, st.lock.lock()) {
                    let now = Instant::now();
                    for key in [Key::User(user.clone()), Key::Addr(peer)] {
                        if let Some(d) = l.failure(key.clone(), now) {
                            tracing::warn!(
                                ?key,
                                secs = d.as_secs(),
                                "locked out after repeated failed logins"
                            );
                        }
                    }
                }
            }
            SessionEvent::Up {
                remote_ip, mppe, ..
            } => {
                let ip = remote_ip.unwrap_or(s.tunnel_ip);
                tracing::info!(user = s.user.as_deref().unwrap_or("?"), peer = %s.link.peer,
                    tunnel_ip = %ip, ?mppe, "session up");
                st.by_ip.insert(ip, cid);
                let (h, idx) = (st.h.clone(), st.tun_index);
                tokio::task::spawn_local(async move {
                    if let Err(e) = addr::add_route(&h, ip, 32, idx).await {
                        tracing::warn!(error = %e, "host route to the client");
                    }
                });
            }
            SessionEvent::Down { reason } => {
                end_session(st, cid, &reason.to_string());
                return;
            }
        }
    }
}

fn end_session(st: &mut State, cid: u16, why: &str) {
    let Some(s) = st.sessions.remove(&cid) else {
        return;
    };
    let g = s.link.gre.stats();
    tracing::info!(
        user = s.user.as_deref().unwrap_or("?"), peer = %s.link.peer, tunnel_ip = %s.tunnel_ip,
        duration_secs = s.started.elapsed().as_secs(), bytes_in = g.bytes_in, bytes_out = g.bytes_out,
        reason = why, "session end"
    );
    st.by_ip.retain(|_, c| *c != cid);
    st.free.push(s.tunnel_ip);
}

async fn gre_loop(st: Shared) {
    let mut buf = vec![0u8; 65536];
    loop {
        // Never hold the RefCell across an await: other tasks borrow it.
        let gre = st.borrow().gre.clone();
        let r = gre.recv(&mut buf).await;
        let Ok((src, range)) = r else { continue };
        let pkt = &buf[range];
        let Ok(p) = crate::wire::gre::Packet::new_checked(pkt) else {
            continue;
        };
        let cid = p.call_id();
        let now = Instant::now();
        let mut s = st.borrow_mut();
        if let Some(sess) = s.sessions.get_mut(&cid).filter(|x| x.link.peer == src) {
            sess.link.on_gre(now, pkt);
            pump(&mut s, cid, now);
        }
    }
}

async fn tun_loop(st: Shared) {
    let mut buf = vec![0u8; 65536];
    loop {
        let tun = st.borrow().tun.clone();
        let r = tun.recv(&mut buf).await;
        let Ok(n) = r else { continue };
        let Some(dst) = ipv4_dst(&buf[..n]) else {
            continue;
        };
        let now = Instant::now();
        let mut s = st.borrow_mut();
        let Some(&cid) = s.by_ip.get(&dst) else {
            continue;
        };
        if let Some(sess) = s.sessions.get_mut(&cid) {
            let _ = sess.link.ppp.send_ip(&buf[..n]);
        }
        pump(&mut s, cid, now);
    }
}

async fn tick_loop(st: Shared) {
    let mut t = tokio::time::interval(Duration::from_millis(50));
    loop {
        t.tick().await;
        let now = Instant::now();
        let mut s = st.borrow_mut();
        if let Ok(mut l) = s.lock.lock() {
            l.prune(now);
        }
        let ids: Vec<u16> = s.sessions.keys().copied().collect();
        for cid in ids {
            if let Some(sess) = s.sessions.get_mut(&cid) {
                sess.link.on_timeout(now);
            }
            pump(&mut s, cid, now);
        }
    }
}

async fn control_task(st: Shared, mut s: TcpStream, peer: SocketAddr) {
    let SocketAddr::V4(peer) = peer else { return };
    let _ = s.set_nodelay(true);
    let mut ctl = Control::server(ControlConfig::default(), Instant::now());
    let mut mine: Vec<u16> = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        // Answers queued while handling events go out before waiting again.
        loop {
            while let Some(bytes) = ctl.poll_transmit() {
                if s.write_all(&bytes).await.is_err() {
                    ctl.stop(Instant::now());
                    break;
                }
            }
            let mut handled = false;
            while let Some(ev) = ctl.poll_event() {
                handled = true;
                let now = Instant::now();
                match ev {
                    ControlEvent::IncomingCall { peer_call_id, .. } => {
                        let mut g = st.borrow_mut();
                        let pending = g.sessions.values().filter(|x| x.user.is_none()).count();
                        let locked = g
                            .lock
                            .lock()
                            .map(|l| l.locked(&Key::Addr(*peer.ip()), now))
                            .unwrap_or(false);
                        if locked || pending >= g.max_pending_auth {
                            tracing::warn!(peer = %peer, locked, pending,
                                "call refused: address locked out, or too many logins in progress");
                            let _ = ctl.reject_call(peer_call_id, 7);
                            continue;
                        }
                        let full = g.sessions.len() >= g.max_sessions;
                        let (Some(ip), false) = (g.free.pop(), full) else {
                            tracing::warn!(peer = %peer, "call refused: no free address or session limit");
                            let _ = ctl.reject_call(peer_call_id, 4);
                            continue;
                        };
                        let mut cid = random_call_id();
                        while g.sessions.contains_key(&cid) {
                            cid = random_call_id();
                        }
                        let mut cfg = g.cfg.clone();
                        cfg.ipcp.remote = Some(ip);
                        let ppp = Session::server(cfg, now, OsRng, g.secrets.clone());
                        let link = Link::new(
                            GreChannel::new(cid, peer_call_id, GreConfig::default()),
                            ppp,
                            *peer.ip(),
                        );
                        g.sessions.insert(
                            cid,
                            Session_ {
                                link,
                                user: None,
                                tunnel_ip: ip,
                                started: Instant::now(),
                            },
                        );
                        mine.push(cid);
                        let _ = ctl.accept_call(peer_call_id, cid);
                        pump(&mut g, cid, now);
                    }
                    ControlEvent::CallDown { call_id, .. } => {
                        end_session(&mut st.borrow_mut(), call_id, "call cleared");
                    }
                    ControlEvent::Closed { .. } => {
                        let mut g = st.borrow_mut();
                        for cid in mine.drain(..) {
                            end_session(&mut g, cid, "control connection closed");
                        }
                        return;
                    }
                    _ => {}
                }
            }
            if !handled {
                break;
            }
        }
        let wait = ctl
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    let mut g = st.borrow_mut();
                    for cid in mine.drain(..) {
                        end_session(&mut g, cid, "control connection closed");
                    }
                    return;
                }
                Ok(n) => ctl.handle_bytes(Instant::now(), &buf[..n]),
            },
            _ = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600))) => ctl.handle_timeout(Instant::now()),
        }
    }
}
