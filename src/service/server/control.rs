//! One control connection (RFC 2637 §3): answers calls, creates and ends
//! sessions, enforcing the session, login-in-progress and lockout limits.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use std::cell::Cell;
use std::rc::Rc;

use tokio::net::TcpListener;

use super::session::{Conn, Session_, Shared, end_session, pump};
use crate::os::pppk::KernelCall;
use crate::ppp::session::Session;
use crate::pptp::control::{Control, ControlConfig, ControlEvent};
use crate::pptp::gre::{GreChannel, GreConfig};
use crate::pptp::link::Link;
use crate::pptp::lockout::Key;
use crate::service::endpoint::{KernelLink, OsRng, random_call_id};

/// The call on the kernel's data path, with a task that feeds the
/// session the frames userspace must see.
fn kernel_link(
    st: &Shared,
    local: std::net::Ipv4Addr,
    cid: u16,
    peer: std::net::Ipv4Addr,
    peer_cid: u16,
    mppe_required: bool,
) -> Result<KernelLink, crate::os::OsError> {
    let call = Rc::new(KernelCall::open(local, cid, peer, peer_cid)?);
    let ifindex = call.ifindex()?;
    tracing::info!(call_id = cid, %peer, interface = %call.ifname(), "call on the kernel's data path");
    let reader = tokio::task::spawn_local(kernel_reader(st.clone(), cid, call.clone()));
    Ok(KernelLink {
        call,
        ifindex,
        keys_set: false,
        ccp_up: false,
        mppe_required,
        reader: Some(reader),
    })
}

/// Frames the kernel hands up (LCP, CCP, the NCPs, undecryptable MPPE)
/// into the session, until the session or the call is gone.
async fn kernel_reader(st: Shared, cid: u16, call: Rc<KernelCall>) {
    let mut buf = vec![0u8; crate::os::pppk::FRAME_BUF];
    loop {
        let n = match call.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(call_id = cid, error = %e, "reading the kernel's PPP unit");
                return;
            }
        };
        let now = Instant::now();
        let mut g = st.borrow_mut();
        let Some(s) = g.sessions.get_mut(&cid) else {
            return;
        };
        s.link.ppp.handle_frame(now, &buf[..n]);
        pump(&mut g, cid, now);
    }
}

/// A session for the call a client asks for (its Outgoing-Call-Request,
/// RFC 2637 §2.7) within the session, pending-login and lockout limits, or
/// the call rejected. Returns its Call ID and the future that
/// routes its address ([`super::routes::prepare`]).
fn new_session(
    st: &Shared,
    ctl: &mut Control,
    local: std::net::Ipv4Addr,
    peer: std::net::SocketAddrV4,
    peer_call_id: u16,
    now: Instant,
) -> Option<(u16, impl std::future::Future<Output = ()> + 'static)> {
    let mut g = st.borrow_mut();
    let pending = g.sessions.values().filter(|x| x.user.is_none()).count();
    let locked = g
        .lock
        .lock()
        .map(|l| l.locked(&Key::Addr(*peer.ip()), now))
        .unwrap_or(false);
    if locked || pending >= g.opts.max_pending_auth {
        tracing::warn!(peer = %peer, locked, pending,
            "call refused: address locked out, or too many logins in progress");
        let _ = ctl.reject_call(peer_call_id, 7);
        return None;
    }
    let full = g.sessions.len() >= g.opts.max_sessions;
    let (Some(ip), false) = (g.free.pop(), full) else {
        tracing::warn!(peer = %peer, "call refused: no free address or session limit");
        let _ = ctl.reject_call(peer_call_id, 4);
        return None;
    };
    let mut cid = random_call_id();
    while g.sessions.contains_key(&cid) {
        cid = random_call_id();
    }
    let kernel = if g.kernel {
        let required = g.cfg.mppe.is_some_and(|p| p.required);
        match kernel_link(st, local, cid, *peer.ip(), peer_call_id, required) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(peer = %peer, error = %e, "call refused: the kernel's PPTP path failed");
                g.free.push(ip);
                let _ = ctl.reject_call(peer_call_id, 2);
                return None;
            }
        }
    } else {
        None
    };
    let mut cfg = g.cfg.clone();
    cfg.ipcp.remote = Some(ip);
    let prefix6 = super::session::ipv6_for_call(&mut g, &mut cfg);
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
            static_ip: false,
            started: now,
            last_ip: now,
            up: None,
            prefix6,
            peer_id: None,
            aaa: super::aaa::SessionAaa {
                acct_session_id: super::aaa::session_id(cid),
                ..Default::default()
            },
            counters: Default::default(),
            kernel,
        },
    );
    g.session_started.send_replace(());
    Some((cid, super::routes::prepare(&g, cid)))
}

/// Accept control connections for ever. At most `max_sessions +
/// max_pending_auth` at once: when full, the oldest connection that carries
/// no call (a slow or silent client) makes room; if every one carries a
/// call, the newcomer is turned away. Accept errors (out of file
/// descriptors) pause instead of ending the loop.
pub async fn accept_loop(st: Shared, l: TcpListener) {
    loop {
        let (s, peer) = match l.accept().await {
            Ok(x) => x,
            Err(e) => {
                if st.borrow_mut().log_allowed(Instant::now()) {
                    tracing::warn!(error = %e, "accepting a control connection failed");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let now = Instant::now();
        let mut g = st.borrow_mut();
        g.conns.retain(|c| !c.task.is_finished());
        let cap = g.opts.max_sessions + g.opts.max_pending_auth;
        if g.conns.len() >= cap {
            let idle = g
                .conns
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.busy.get())
                .min_by_key(|(_, c)| c.since)
                .map(|(i, _)| i);
            let Some(i) = idle else {
                if g.log_allowed(now) {
                    tracing::warn!(%peer, cap, "control connection refused: every slot carries a call");
                }
                continue;
            };
            g.conns.swap_remove(i).task.abort();
            if g.log_allowed(now) {
                tracing::warn!(%peer, cap, "connection limit reached: closed the oldest idle control connection");
            }
        }
        let busy = Rc::new(Cell::new(false));
        let task = tokio::task::spawn_local(control_task(st.clone(), s, peer, busy.clone()));
        g.conns.push(Conn {
            since: now,
            busy,
            task,
        });
    }
}

async fn control_task(st: Shared, mut s: TcpStream, peer: SocketAddr, busy: Rc<Cell<bool>>) {
    let SocketAddr::V4(peer) = peer else { return };
    let local = match s.local_addr() {
        Ok(SocketAddr::V4(a)) => *a.ip(),
        _ => return,
    };
    let _ = s.set_nodelay(true);
    let mut ctl = Control::server(ControlConfig::default(), Instant::now());
    let mut mine: Vec<u16> = Vec::new();
    // Calls accepted whose PPP starts once their reply has gone out.
    let mut starting: Vec<u16> = Vec::new();
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
            // The Outgoing-Call-Reply is on the wire: now the first LCP
            // Configure-Request. Sent before it, it would reach a client
            // that has no call to give it to yet, and LCP would start only
            // at the 3 s resend (pptpd and Windows RRAS reply first).
            if !starting.is_empty() {
                let mut g = st.borrow_mut();
                let now = Instant::now();
                for cid in starting.drain(..) {
                    pump(&mut g, cid, now);
                }
            }
            let mut handled = false;
            while let Some(ev) = ctl.poll_event() {
                handled = true;
                let now = Instant::now();
                match ev {
                    ControlEvent::IncomingCall { peer_call_id, .. } => {
                        let Some((cid, ready)) =
                            new_session(&st, &mut ctl, local, peer, peer_call_id, now)
                        else {
                            continue;
                        };
                        // Answered once the call's address is routed: the
                        // client starts PPP when the reply reaches it.
                        ready.await;
                        if !st.borrow().sessions.contains_key(&cid) {
                            let _ = ctl.reject_call(peer_call_id, 2);
                            continue;
                        }
                        mine.push(cid);
                        busy.set(true);
                        let _ = ctl.accept_call(peer_call_id, cid);
                        starting.push(cid);
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
