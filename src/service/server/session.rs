//! The server's sessions: the shared state, moving packets between the
//! GRE socket, the links and the TUN device, timers, and session ends.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::Options;
use super::report::{session_end, session_up};
use crate::os::addr;
use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::ppp::auth::{AuthError, Credentials, Secret};
use crate::ppp::ipv6cp::Ipv6cpConfig;
use crate::ppp::session::{SessionConfig, SessionEvent};
use crate::pptp::link::Link;
use crate::pptp::lockout::{Key, Lockout};
use crate::ratelimit::Untrusted;
use crate::service::endpoint::{KernelLink, flush, flush_kernel, ipv4_dst};
use crate::wire::mss::{clamp_mss, mss_for_mtu};
use crate::wire::nd::{MAX_RTR_ADV_INTERVAL_SECS, PrefixInfo, RouterAdvert};

/// The chap-secrets table, refusing users that are locked out.
pub struct Guarded {
    /// Replaced whole when the users change (a reload).
    pub table: RwLock<HashMap<String, Secret>>,
    pub lock: Arc<Mutex<Lockout>>,
    /// Bounds the "locked out" lines a guesser causes.
    pub log: Mutex<crate::ratelimit::LogLimit>,
}

impl Credentials for Guarded {
    fn secret(&self, user: &str) -> Option<Secret> {
        let locked = self
            .lock
            .lock()
            .map(|l| l.locked(&Key::User(user.to_string()), Instant::now()))
            .unwrap_or(false);
        if locked {
            let (ok, held) = self
                .log
                .lock()
                .map(|mut l| l.allow(Instant::now()))
                .unwrap_or((true, None));
            if let Some(n) = held {
                tracing::warn!(
                    lines = n,
                    "locked-out login lines suppressed in the last 10 s"
                );
            }
            if ok {
                tracing::warn!(user = %Untrusted(user), "login refused: user locked out after failed logins");
            }
            return None;
        }
        self.table.read().ok()?.get(user).cloned()
    }
}

pub struct Session_ {
    pub link: Link,
    /// Set once authenticated: the session no longer counts as pending.
    pub user: Option<String>,
    pub tunnel_ip: Ipv4Addr,
    /// The user's static address from chap-secrets: not from the pool.
    pub static_ip: bool,
    pub started: Instant,
    /// Last IPv4 packet either way (for the idle timeout).
    pub last_ip: Instant,
    /// Set once IP flows: MSS clamp value and host route installed.
    pub up: Option<u16>,
    /// The upper 64 bits of the session's /64 from the IPv6 prefix pool.
    pub prefix6: Option<u64>,
    /// The peer's IPV6CP interface identifier, once IPv6 is up.
    pub peer_id: Option<u64>,
    /// RADIUS authorization and accounting.
    pub aaa: super::aaa::SessionAaa,
    /// IP carried, for accounting and `status`.
    pub counters: super::aaa::Counters,
    /// The call on the kernel's data path, if the server uses it.
    pub kernel: Option<KernelLink>,
}

impl Session_ {
    /// The interface the session's routes point at.
    pub fn dev(&self, tun_index: u32) -> u32 {
        self.kernel.as_ref().map_or(tun_index, |k| k.ifindex)
    }

    /// The IP carried so far: on the kernel's path the unit's counters,
    /// else what the TUN loop counted.
    pub(super) fn current_counters(&self) -> super::aaa::Counters {
        match &self.kernel {
            Some(k) => {
                let (in_octets, in_packets, out_octets, out_packets) = k.call.counters();
                super::aaa::Counters {
                    in_octets,
                    in_packets,
                    out_octets,
                    out_packets,
                }
            }
            None => self.counters,
        }
    }

    /// Take the kernel's counters into `counters` (accounting, idle time).
    pub(super) fn refresh_counters(&mut self) {
        self.counters = self.current_counters();
    }
}

/// IPv6 on the server's TUN device: its interface identifier, the peers'
/// identifiers and /64s by session, and the /64s of the pool.
#[derive(Debug, Default)]
pub struct V6 {
    pub id: u64,
    pub by_id: HashMap<u64, u16>,
    pub by_prefix: HashMap<u64, u16>,
    /// /64s given back, taken before `next`.
    pub free: Vec<u64>,
    /// Index of the next /64 never handed out.
    pub next: u64,
}

/// IPv6 policy for a new call: IPV6CP with the device's identifier (the
/// other peers' identifiers to be avoided) and, with a prefix pool, a /64
/// to advertise. The /64 taken, if any.
pub fn ipv6_for_call(st: &mut State, cfg: &mut SessionConfig) -> Option<u64> {
    if !st.opts.ipv6 {
        return None;
    }
    cfg.ipv6 = Some(Ipv6cpConfig {
        local: Some(st.v6.id),
        avoid: st.v6.by_id.keys().copied().collect(),
        seed: 0,
    });
    let pool = st.opts.ipv6_prefix?;
    let upper = match st.v6.free.pop() {
        Some(p) => p,
        None => {
            let a = pool.subnet64(st.v6.next)?;
            st.v6.next = st.v6.next.saturating_add(1);
            (u128::from(a) >> 64) as u64
        }
    };
    let prefix = Ipv6Addr::from(u128::from(upper) << 64);
    cfg.advertise = Some(RouterAdvert {
        router_lifetime: (3 * MAX_RTR_ADV_INTERVAL_SECS) as u16,
        prefixes: vec![PrefixInfo {
            prefix,
            len: 64,
            valid: 86400,
            preferred: 14400,
            autonomous: true,
        }],
        mtu: None,
        dns: st.opts.ipv6_dns.clone(),
        dns_lifetime: 3 * MAX_RTR_ADV_INTERVAL_SECS,
    });
    Some(upper)
}

pub(super) fn prefix_text(upper: u64) -> String {
    format!("{}/64", Ipv6Addr::from(u128::from(upper) << 64))
}

pub struct State {
    pub gre: Rc<GreSocket>,
    pub tun: Rc<Tun>,
    pub tun_index: u32,
    /// Calls run on the kernel's data path (the TUN device and the GRE
    /// socket idle).
    pub kernel: bool,
    pub h: rtnetlink::Handle,
    pub sessions: HashMap<u16, Session_>,
    pub by_ip: HashMap<Ipv4Addr, u16>,
    pub free: Vec<Ipv4Addr>,
    pub v6: V6,
    /// RADIUS, when configured.
    pub aaa: Option<super::aaa::Aaa>,
    /// Framed-Route prefixes (network, length) and their session.
    pub framed: Vec<(Ipv4Addr, u8, u16)>,
    pub cfg: SessionConfig,
    pub secrets: Arc<dyn Credentials + Send + Sync>,
    pub lock: Arc<Mutex<Lockout>>,
    pub opts: Options,
    /// Listener and loop tasks, aborted on stop.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Control connections.
    pub conns: Vec<Conn>,
    /// Bounds log lines caused by remote input.
    pub log: crate::ratelimit::LogLimit,
    /// Marked when a session starts: the timer loops sleep while there is
    /// none (each loop's receiver sees every start since it last looked).
    pub session_started: tokio::sync::watch::Sender<()>,
}

/// A control connection's task; `busy` once it carries a call, which
/// protects it from eviction.
pub struct Conn {
    pub since: Instant,
    pub busy: Rc<std::cell::Cell<bool>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl State {
    /// Whether a log line caused by remote input may be written now.
    pub fn log_allowed(&mut self, now: Instant) -> bool {
        let (ok, held) = self.log.allow(now);
        if let Some(n) = held {
            tracing::warn!(lines = n, "similar log lines suppressed in the last 10 s");
        }
        ok
    }
}

pub type Shared = Rc<RefCell<State>>;

/// Send a link's output and act on its events.
pub fn pump(st: &mut State, cid: u16, now: Instant) {
    let (gre, tun) = (st.gre.clone(), st.tun.clone());
    let Some(s) = st.sessions.get_mut(&cid) else {
        return;
    };
    let mss = s.up.filter(|_| st.opts.mss_clamp);
    let (events, delivered, octets) = match &mut s.kernel {
        Some(k) => (flush_kernel(&mut s.link.ppp, k), 0, 0),
        None => flush(&mut s.link, now, &gre, &tun, mss),
    };
    if delivered > 0 {
        s.last_ip = now;
        s.counters.in_packets = s.counters.in_packets.saturating_add(delivered as u64);
        s.counters.in_octets = s.counters.in_octets.saturating_add(octets);
    }
    for ev in events {
        let Some(s) = st.sessions.get_mut(&cid) else {
            return;
        };
        match ev {
            SessionEvent::Authenticated { user, method } => {
                tracing::info!(user = %Untrusted(&user), ?method, peer = %s.link.peer, "authenticated");
                if let Ok(mut l) = st.lock.lock() {
                    l.success(&Key::User(user.clone()));
                    l.success(&Key::Addr(s.link.peer));
                }
                s.user = Some(user);
            }
            SessionEvent::AuthFailed { reason } => {
                let peer = s.link.peer;
                if st.log_allowed(now) {
                    tracing::warn!(%peer, %reason, "authentication failed");
                }
                // Only refused credentials count towards a lockout: not a
                // RADIUS server that did not answer, nor a policy mismatch.
                let guess = match &reason {
                    AuthError::Denied { why, .. } => !super::aaa::NOT_A_GUESS.contains(why),
                    _ => false,
                };
                if let (AuthError::Denied { user, .. }, true, Ok(mut l)) =
                    (&reason, guess, st.lock.lock())
                {
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
                remote_ip,
                mppe,
                mtu,
                ..
            } => {
                let ip = remote_ip.unwrap_or(s.tunnel_ip);
                if st.by_ip.get(&ip).is_some_and(|c| *c != cid) {
                    tracing::error!(call_id = cid, %ip, "the user's fixed address is another session's: hanging up");
                    s.link.ppp.close(now);
                    continue;
                }
                let mut moved = None;
                if ip != s.tunnel_ip && !s.static_ip {
                    // The user's static address replaced the pool's.
                    let pool_ip = std::mem::replace(&mut s.tunnel_ip, ip);
                    s.static_ip = true;
                    st.free.push(pool_ip);
                    st.free.retain(|a| *a != ip);
                    moved = Some(pool_ip);
                }
                let first = s.up.is_none();
                let mtu = s
                    .aaa
                    .framed_mtu
                    .and_then(|m| u16::try_from(m).ok())
                    .map_or(mtu, |m| mtu.min(m));
                s.up = Some(mss_for_mtu(mtu));
                s.last_ip = now;
                tracing::info!(user = s.user.as_deref().unwrap_or("?"), peer = %s.link.peer,
                    tunnel_ip = %ip, ?mppe, "session up");
                st.by_ip.insert(ip, cid);
                if first {
                    super::routes::install(st, cid, ip, mtu, moved);
                    super::routes::framed_routes(st, cid);
                    session_up(st, cid, now);
                }
            }
            SessionEvent::Verify(req) => {
                let peer = s.link.peer;
                match &mut st.aaa {
                    Some(a) => {
                        a.ask(now, cid, peer, req);
                        a.transmit();
                    }
                    None => s
                        .link
                        .ppp
                        .complete_auth(now, crate::ppp::auth::Verdict::Local),
                }
            }
            SessionEvent::Ipv6Up { remote_id, .. } => super::routes::ipv6_up(st, cid, remote_id),
            SessionEvent::RouterAdvert { .. } => {}
            SessionEvent::Down { reason } => {
                let cause = match reason {
                    crate::ppp::session::SessionError::PeerHungUp => super::aaa::Cause::UserRequest,
                    _ => super::aaa::Cause::LostCarrier,
                };
                end_session_as(st, cid, &reason.to_string(), now, cause);
                return;
            }
        }
    }
}

/// Close one session's link (LCP Terminate-Request to the peer) for `why`
/// and end it.
pub fn hang_up_as(st: &mut State, cid: u16, now: Instant, why: &str) {
    if let Some(s) = st.sessions.get_mut(&cid) {
        s.link.ppp.close(now);
    }
    pump(st, cid, now);
    end_session_as(st, cid, why, now, super::aaa::Cause::AdminReset);
}

/// Close one session's link and end it; false if there is none with this
/// call ID.
pub fn hang_up(st: &mut State, cid: u16, now: Instant) -> bool {
    let Some(s) = st.sessions.get_mut(&cid) else {
        return false;
    };
    if let Some(user) = &s.user {
        tracing::info!(user = %Untrusted(user), call_id = cid, "session disconnected by the administrator");
    }
    s.aaa.cause = Some(super::aaa::Cause::AdminReset);
    s.link.ppp.close(now);
    pump(st, cid, now);
    end_session(st, cid, "disconnected by the administrator");
    true
}

/// Hang up every session (LCP Terminate-Request out first).
pub fn hang_up_all(st: &mut State, now: Instant) {
    let ids: Vec<u16> = st.sessions.keys().copied().collect();
    for cid in ids {
        if let Some(s) = st.sessions.get_mut(&cid) {
            s.link.ppp.close(now);
        }
        pump(st, cid, now);
        end_session_as(
            st,
            cid,
            "server stopping",
            now,
            super::aaa::Cause::NasReboot,
        );
    }
}

pub fn end_session(st: &mut State, cid: u16, why: &str) {
    let cause = match why {
        "call cleared" => super::aaa::Cause::UserRequest,
        "disconnected by the administrator" => super::aaa::Cause::AdminReset,
        _ => super::aaa::Cause::LostCarrier,
    };
    end_session_as(st, cid, why, Instant::now(), cause);
}

/// End a session; `cause` is its Acct-Terminate-Cause unless one was set.
pub fn end_session_as(st: &mut State, cid: u16, why: &str, now: Instant, cause: super::aaa::Cause) {
    session_end(st, cid, now, cause);
    let Some(mut s) = st.sessions.remove(&cid) else {
        return;
    };
    let g = s.link.gre.stats();
    let (bytes_in, bytes_out) = match &s.kernel {
        Some(_) => {
            s.refresh_counters();
            (s.counters.in_octets, s.counters.out_octets)
        }
        None => (g.bytes_in, g.bytes_out),
    };
    tracing::info!(
        user = s.user.as_deref().unwrap_or("?"), peer = %s.link.peer, tunnel_ip = %s.tunnel_ip,
        duration_secs = s.started.elapsed().as_secs(), bytes_in, bytes_out,
        reason = why, "session end"
    );
    st.by_ip.retain(|_, c| *c != cid);
    let gone: Vec<(Ipv4Addr, u8)> = st
        .framed
        .iter()
        .filter(|r| r.2 == cid)
        .map(|r| (r.0, r.1))
        .collect();
    st.framed.retain(|r| r.2 != cid);
    // A kernel session's interface takes its routes along when it goes.
    if !gone.is_empty() && s.kernel.is_none() {
        let (h, idx) = (st.h.clone(), st.tun_index);
        tokio::task::spawn_local(async move {
            for (net, len) in gone {
                let _ = addr::del_route(&h, net, len, idx).await;
            }
        });
    }
    if !s.static_ip {
        st.free.push(s.tunnel_ip);
    }
    st.v6.by_id.retain(|_, c| *c != cid);
    if let Some(upper) = s.prefix6 {
        st.v6.free.push(upper);
        if st.v6.by_prefix.remove(&upper).is_some() && s.kernel.is_none() {
            let (h, idx) = (st.h.clone(), st.tun_index);
            tokio::task::spawn_local(async move {
                let dst = Ipv6Addr::from(u128::from(upper) << 64);
                let _ = addr::del_route6(&h, dst, 64, idx).await;
            });
        }
    }
    if st.opts.proxy_arp && s.up.is_some() {
        let (h, ip, idx) = (st.h.clone(), s.tunnel_ip, st.tun_index);
        let kidx = s.kernel.as_ref().map(|k| k.ifindex);
        tokio::task::spawn_local(async move {
            if let Ok(ifs) = addr::interfaces_on_subnet(&h, ip).await {
                for i in ifs.into_iter().filter(|i| *i != idx && Some(*i) != kidx) {
                    let _ = addr::proxy_arp(&h, i, ip, false).await;
                }
            }
        });
    }
}

pub async fn gre_loop(st: Shared) {
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
        let mine = |x: &&mut Session_| x.link.peer == src && x.kernel.is_none();
        if let Some(sess) = s.sessions.get_mut(&cid).filter(mine) {
            sess.link.on_gre(now, pkt);
            pump(&mut s, cid, now);
        }
    }
}

/// The session a packet from the TUN device is for: by IPv4 address, by
/// the peer's link-local address, or by its /64. Multicast (the kernel's
/// own neighbour discovery, MLD) goes to no session.
fn session_for(st: &State, pkt: &[u8]) -> Option<u16> {
    if let Some(dst) = ipv4_dst(pkt) {
        if let Some(c) = st.by_ip.get(&dst) {
            return Some(*c);
        }
        // The longest Framed-Route that holds it.
        let d = u32::from(dst);
        return st
            .framed
            .iter()
            .filter(|(net, len, _)| {
                let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
                d & mask == u32::from(*net)
            })
            .max_by_key(|r| r.1)
            .map(|r| r.2);
    }
    let (_, dst) = crate::wire::nd::addresses(pkt)?;
    let bits = u128::from(dst);
    let (upper, lower) = ((bits >> 64) as u64, bits as u64);
    if upper == 0xfe80_0000_0000_0000 {
        st.v6.by_id.get(&lower).copied()
    } else {
        st.v6.by_prefix.get(&upper).copied()
    }
}

pub async fn tun_loop(st: Shared) {
    let mut buf = vec![0u8; 65536];
    loop {
        let tun = st.borrow().tun.clone();
        let r = tun.recv(&mut buf).await;
        let Ok(n) = r else { continue };
        let now = Instant::now();
        let mut s = st.borrow_mut();
        let Some(cid) = session_for(&s, &buf[..n]) else {
            continue;
        };
        let clamp = s.opts.mss_clamp;
        if let Some(sess) = s.sessions.get_mut(&cid) {
            if let (Some(m), true) = (sess.up, clamp) {
                clamp_mss(&mut buf[..n], m);
            }
            sess.last_ip = now;
            if sess.link.ppp.send_ip(&buf[..n]).is_ok() {
                sess.counters.out_packets = sess.counters.out_packets.saturating_add(1);
                sess.counters.out_octets = sess.counters.out_octets.saturating_add(n as u64);
            }
        }
        pump(&mut s, cid, now);
    }
}

/// The sessions' timers (PPP restarts and echoes, the idle hang-up), every
/// 50 ms while a session lives. With none the loop sleeps until one
/// starts: an idle server does not wake 20 times a second. (Control
/// connections keep their own timers.)
pub async fn tick_loop(st: Shared) {
    let mut started = st.borrow().session_started.subscribe();
    let mut t = tokio::time::interval(Duration::from_millis(50));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if st.borrow().sessions.is_empty() {
            // A start since the last look counts: none is missed.
            if started.changed().await.is_err() {
                return;
            }
            t.reset_immediately();
        }
        t.tick().await;
        let now = Instant::now();
        let mut s = st.borrow_mut();
        if let Ok(mut l) = s.lock.lock() {
            l.prune(now);
        }
        let idle = s.opts.idle_timeout;
        let ids: Vec<u16> = s.sessions.keys().copied().collect();
        for cid in ids {
            if let Some(sess) = s.sessions.get_mut(&cid) {
                sess.link.on_timeout(now);
                let quiet = |s: &Session_| {
                    idle.is_some_and(|d| s.up.is_some() && now.duration_since(s.last_ip) >= d)
                };
                if quiet(sess) && sess.kernel.is_some() {
                    // The kernel's counters tell whether IP moved since.
                    let before = sess.counters;
                    sess.refresh_counters();
                    if sess.counters != before {
                        sess.last_ip = now;
                    }
                }
                if quiet(sess) {
                    tracing::info!(peer = %sess.link.peer, tunnel_ip = %sess.tunnel_ip,
                        "hanging up an idle session");
                    sess.link.ppp.close(now);
                }
            }
            pump(&mut s, cid, now);
        }
    }
}
