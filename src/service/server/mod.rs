//! `server`: the embedded PPTP server. One TUN device for every session
//! (a host route per client), one raw GRE socket demultiplexed by Call ID,
//! a task per control connection; all on one thread.

mod aaa;
mod control;
mod radius_io;
mod report;
mod routes;
mod session;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::endpoint::security_policy;
use crate::config::secrets::load_secrets;
use crate::config::{ConfigError, Ipv6Prefix, ServerCfg, UserCfg};
use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::os::{OsError, addr};
use crate::ppp::auth::{AuthConfig, Secret};
use crate::ppp::ccp::MppePolicy;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::lcp::AuthMethod;
use crate::ppp::session::SessionConfig;
use crate::pptp::lockout::Lockout;
use session::{Guarded, State};

/// Everything the server runs with.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: Vec<Ipv4Addr>,
    pub secrets: PathBuf,
    pub local_ip: Ipv4Addr,
    pub pool: (Ipv4Addr, Ipv4Addr),
    pub dns: Vec<Ipv4Addr>,
    pub wins: Vec<Ipv4Addr>,
    pub methods: Vec<AuthMethod>,
    pub mppe: Option<MppePolicy>,
    pub tun: String,
    pub max_sessions: usize,
    pub max_pending_auth: usize,
    pub auth_fail_limit: u32,
    pub lockout: Duration,
    pub idle_timeout: Option<Duration>,
    pub proxy_arp: bool,
    pub mss_clamp: bool,
    /// Userspace (TUN), the kernel's PPTP path, or the kernel's if it is there.
    pub data_path: crate::config::DataPath,
    /// IPV6CP with link-local addresses.
    pub ipv6: bool,
    /// A /64 of it per session, advertised (needs `ipv6`).
    pub ipv6_prefix: Option<Ipv6Prefix>,
    pub ipv6_dns: Vec<Ipv6Addr>,
    /// Logins, accounting and disconnects through RADIUS.
    pub radius: Option<crate::config::RadiusCfg>,
}

/// TUN device of the server run by the daemon.
pub const TUN: &str = "pptps0";

impl Options {
    pub fn from_config(c: &ServerCfg) -> Result<Options, String> {
        let local_ip = c
            .local_ip
            .ok_or("config server: option local_ip is required when enabled")?;
        let pool = c
            .pool
            .ok_or("config server: options pool_start and pool_end are required")?;
        let (methods, mppe) = security_policy(&c.security);
        Ok(Options {
            listen: c.listen.clone(),
            secrets: c.chap_secrets.clone(),
            local_ip,
            pool: (pool.start, pool.end),
            dns: c.dns.clone(),
            wins: c.wins.clone(),
            methods,
            mppe,
            tun: TUN.into(),
            max_sessions: c.max_sessions as usize,
            max_pending_auth: c.max_pending_auth as usize,
            auth_fail_limit: c.auth_fail_limit,
            lockout: c.lockout,
            idle_timeout: c.idle_timeout,
            proxy_arp: c.proxy_arp,
            mss_clamp: c.mss_clamp,
            data_path: c.data_path,
            ipv6: c.ipv6,
            ipv6_prefix: c.ipv6_prefix,
            ipv6_dns: c.ipv6_dns.clone(),
            radius: (!c.radius.servers.is_empty()).then(|| c.radius.clone()),
        })
    }
}

/// The login table: the chap-secrets file's lines, then the config's
/// users, which replace a file line of the same name (LuCI edits them);
/// a disabled user's login is refused. A missing file is no error when the
/// config has users.
pub fn logins(file: &Path, users: &[UserCfg]) -> Result<HashMap<String, Secret>, String> {
    let mut table: HashMap<String, Secret> = HashMap::new();
    match load_secrets(file) {
        Ok(secrets) => {
            for s in secrets.entries() {
                let secret = Secret {
                    password: s.secret.clone(),
                    address: s.address,
                };
                table.insert(s.client.clone(), secret);
            }
        }
        Err(ConfigError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound && !users.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    for u in users {
        if u.enabled {
            let secret = Secret {
                password: u.password.clone(),
                address: u.address,
            };
            table.insert(u.name.clone(), secret);
        } else {
            table.remove(&u.name);
        }
    }
    Ok(table)
}

/// A running server.
pub struct Handle {
    st: session::Shared,
    guard: Arc<Guarded>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Replace the logins (the file read again, and `users`); sessions
    /// already up stay up. The number of logins now.
    pub fn set_users(&self, users: &[UserCfg]) -> Result<usize, String> {
        let secrets = self.st.borrow().opts.secrets.clone();
        let table = logins(&secrets, users)?;
        let n = table.len();
        if let Ok(mut t) = self.guard.table.write() {
            *t = table;
        }
        Ok(n)
    }

    /// Hang up one session (the administrator's Disconnect); false if no
    /// session has this call ID.
    pub fn hang_up(&self, call_id: u16) -> bool {
        session::hang_up(&mut self.st.borrow_mut(), call_id, Instant::now())
    }

    /// Sessions for `status`.
    pub fn status(&self) -> serde_json::Value {
        report::status(&self.st.borrow(), Instant::now())
    }

    /// Hang up every session and close the listeners and the TUN device.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        {
            let mut st = self.st.borrow_mut();
            session::hang_up_all(&mut st, Instant::now());
            if let Some(a) = &mut st.aaa {
                a.stop(Instant::now());
                a.transmit();
            }
        }
        // The Stop records and Accounting-Off: answered, or 2 s.
        for _ in 0..40 {
            let busy = self.st.borrow().aaa.as_ref().is_some_and(aaa::Aaa::busy);
            if !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut st = self.st.borrow_mut();
            radius_io::tick(&mut st, Instant::now());
        }
        let mut st = self.st.borrow_mut();
        for t in st.tasks.drain(..) {
            t.abort();
        }
        for c in st.conns.drain(..) {
            c.task.abort();
        }
    }
}

/// Open the TUN device, GRE socket and listeners and start serving.
/// `users` are the config's `config user` sections (see [`logins`]).
pub async fn start(o: Options, users: &[UserCfg]) -> Result<Handle, OsError> {
    let bad = |e: String| OsError::Command {
        cmd: "server".into(),
        detail: e,
    };
    let table = logins(&o.secrets, users).map_err(bad)?;
    let kernel = super::endpoint::use_kernel(o.data_path, o.mppe).map_err(bad)?;
    let (s, e) = (u32::from(o.pool.0), u32::from(o.pool.1));
    if s > e || e - s > 65535 {
        return Err(bad(
            "the pool's start must not be after its end (at most 65536 addresses)".into(),
        ));
    }
    let free: Vec<Ipv4Addr> = (s..=e)
        .rev()
        .map(Ipv4Addr::from)
        .filter(|ip| *ip != o.local_ip)
        .collect();
    let cfg = SessionConfig {
        auth: AuthConfig {
            methods: o.methods.clone(),
            name: "pptp-passthrough".into(),
            external: o.radius.is_some(),
            ..AuthConfig::default()
        },
        mppe: if kernel {
            super::endpoint::kernel_policy(o.mppe)
        } else {
            o.mppe
        },
        ipcp: IpcpConfig {
            local: Some(o.local_ip),
            remote: None,
            dns: [o.dns.first().copied(), o.dns.get(1).copied()],
            nbns: [o.wins.first().copied(), o.wins.get(1).copied()],
            request_dns: false,
            request_nbns: false,
        },
        kernel_mppe: kernel,
        ..SessionConfig::default()
    };
    let tun = Tun::open(&o.tun)?;
    let h = addr::handle()?;
    let tun_index = addr::ifindex(&h, tun.name()).await?;
    addr::configure_p2p(&h, tun_index, o.local_ip, o.local_ip, 1400).await?;
    // One interface identifier for the whole device: every session's
    // link-local route points at it (RFC 5072 §5).
    let ipv6_id = {
        let mut b = [0u8; 8];
        crate::ppp::auth::Rng::fill_bytes(&mut super::endpoint::OsRng, &mut b);
        u64::from_be_bytes(b).max(1)
    };
    if o.ipv6 {
        let ll = crate::ppp::ipv6cp::link_local(ipv6_id);
        if let Err(e) = addr::add_address6(&h, tun_index, ll, 64).await {
            tracing::warn!(error = %e, "IPv6 link-local address on the TUN device (is IPv6 disabled?)");
        }
    }
    // One raw socket sees GRE to every local address; bind it only when
    // there is a single listen address.
    let gre_addr = match o.listen[..] {
        [one] => one,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let gre = GreSocket::bind(gre_addr)?;
    if kernel {
        gre.mute()?;
    }
    let mut listeners = Vec::new();
    for ip in &o.listen {
        listeners.push(TcpListener::bind((*ip, 1723)).await?);
    }
    let aaa = match &o.radius {
        Some(r) => {
            let nas_ip = o.listen.iter().copied().find(|a| !a.is_unspecified());
            Some(aaa::Aaa::start(r.clone(), nas_ip).await?)
        }
        None => None,
    };
    let path = if kernel {
        "kernel (pptp, ppp_generic, ppp_mppe)"
    } else {
        "TUN"
    };
    tracing::info!(listen = ?o.listen, tun = tun.name(), data_path = path, "PPTP server running");
    let lock = Arc::new(Mutex::new(Lockout::new(
        o.auth_fail_limit,
        o.lockout,
        Duration::from_secs(3600),
    )));
    let guard = Arc::new(Guarded {
        table: RwLock::new(table),
        lock: lock.clone(),
        log: Mutex::default(),
    });
    let st: session::Shared = Rc::new(RefCell::new(State {
        gre: Rc::new(gre),
        tun: Rc::new(tun),
        tun_index,
        kernel,
        h,
        sessions: HashMap::new(),
        by_ip: HashMap::new(),
        free,
        v6: session::V6 {
            id: ipv6_id,
            ..session::V6::default()
        },
        aaa,
        framed: Vec::new(),
        cfg,
        secrets: guard.clone(),
        lock,
        opts: o,
        tasks: Vec::new(),
        conns: Vec::new(),
        log: crate::ratelimit::LogLimit::default(),
        session_started: tokio::sync::watch::Sender::new(()),
    }));
    let mut tasks = vec![
        tokio::task::spawn_local(session::gre_loop(st.clone())),
        tokio::task::spawn_local(session::tun_loop(st.clone())),
        tokio::task::spawn_local(session::tick_loop(st.clone())),
        tokio::task::spawn_local(radius_io::answers_loop(st.clone())),
        tokio::task::spawn_local(radius_io::dae_loop(st.clone())),
        tokio::task::spawn_local(radius_io::timer_loop(st.clone())),
    ];
    let (stop_tx, mut stop_rx) = watch::channel(false);
    for l in listeners {
        tasks.push(tokio::task::spawn_local(control::accept_loop(
            st.clone(),
            l,
        )));
    }
    st.borrow_mut().tasks.extend(tasks);
    let task = tokio::task::spawn_local(async move {
        let _ = stop_rx.changed().await;
        tracing::info!("PPTP server stopping");
    });
    Ok(Handle {
        st,
        guard,
        stop: stop_tx,
        task,
    })
}
