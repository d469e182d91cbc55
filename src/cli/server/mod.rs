//! `server`: the embedded PPTP server. One TUN device for every session
//! (a host route per client), one raw GRE socket demultiplexed by Call ID,
//! a task per control connection; all on one thread.

mod control;
mod session;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::endpoint::{auth_methods, mppe_policy, security_policy};
use crate::config::ServerCfg;
use crate::config::secrets::load_secrets;
use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::os::{OsError, addr, ctl};
use crate::ppp::auth::{AuthConfig, Secret};
use crate::ppp::ccp::MppePolicy;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::lcp::AuthMethod;
use crate::ppp::session::SessionConfig;
use crate::pptp::lockout::Lockout;
use session::{Guarded, State};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Take every setting from the `config server` section of this file
    /// (UCI syntax); the other flags are then not allowed.
    #[arg(long, conflicts_with_all = ["local_ip", "pool_start", "pool_end"])]
    config: Option<PathBuf>,
    /// Address to listen on (TCP 1723 and GRE).
    #[arg(long, default_value = "0.0.0.0")]
    listen: Ipv4Addr,
    /// pppd-format chap-secrets file (client server secret [address]).
    #[arg(long, default_value = "/etc/ppp/chap-secrets")]
    secrets: PathBuf,
    /// The server's address inside the tunnels.
    #[arg(long, required_unless_present = "config")]
    local_ip: Option<Ipv4Addr>,
    /// First and last address handed to clients.
    #[arg(long, required_unless_present = "config")]
    pool_start: Option<Ipv4Addr>,
    #[arg(long, required_unless_present = "config")]
    pool_end: Option<Ipv4Addr>,
    /// DNS servers pushed to clients (at most 2).
    #[arg(long)]
    dns: Vec<Ipv4Addr>,
    /// WINS servers pushed to clients (at most 2).
    #[arg(long)]
    wins: Vec<Ipv4Addr>,
    #[command(flatten)]
    security: super::endpoint::SecurityArgs,
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
    /// Hang up sessions that carried no IP for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    idle_timeout: u64,
    /// Answer ARP on the LAN for client addresses inside the LAN's subnet.
    #[arg(long)]
    proxy_arp: bool,
    /// Do not clamp the TCP MSS of packets through the tunnels.
    #[arg(long)]
    no_mss_clamp: bool,
    /// Control socket for `status` (skipped if another process has it).
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

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
        })
    }

    fn from_args(a: &Args) -> Result<Options, String> {
        if let Some(path) = &a.config {
            let cfg = crate::config::load(path).map_err(|e| e.to_string())?;
            for w in cfg.warnings() {
                tracing::warn!("{w}");
            }
            let s = cfg
                .server
                .ok_or_else(|| format!("{}: no `config server` section", path.display()))?;
            return Options::from_config(&s);
        }
        let (Some(local_ip), Some(start), Some(end)) = (a.local_ip, a.pool_start, a.pool_end)
        else {
            return Err("--local-ip, --pool-start and --pool-end are required".into());
        };
        Ok(Options {
            listen: vec![a.listen],
            secrets: a.secrets.clone(),
            local_ip,
            pool: (start, end),
            dns: a.dns.clone(),
            wins: a.wins.clone(),
            methods: auth_methods(&a.security.auth)?,
            mppe: mppe_policy(&a.security.mppe, a.security.mppe_stateful)?,
            tun: a.tun.clone(),
            max_sessions: a.max_sessions,
            max_pending_auth: a.max_pending_auth,
            auth_fail_limit: a.auth_fail_limit,
            lockout: Duration::from_secs(a.lockout),
            idle_timeout: (a.idle_timeout > 0).then(|| Duration::from_secs(a.idle_timeout)),
            proxy_arp: a.proxy_arp,
            mss_clamp: !a.no_mss_clamp,
        })
    }
}

/// A running server.
pub struct Handle {
    st: session::Shared,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Sessions for `status`.
    pub fn status(&self) -> serde_json::Value {
        session::status(&self.st.borrow(), Instant::now())
    }

    /// Hang up every session and close the listeners and the TUN device.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut st = self.st.borrow_mut();
        session::hang_up_all(&mut st, Instant::now());
        for t in st.tasks.drain(..) {
            t.abort();
        }
        for c in st.conns.drain(..) {
            c.task.abort();
        }
    }
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let bad = |e: String| OsError::Command {
        cmd: "server".into(),
        detail: e,
    };
    let opts = Options::from_args(&a).map_err(bad)?;
    let server = start(opts).await?;
    let listener = super::daemon::listen_if_free(&a.socket);
    let ids = crate::nat::alloc::Allocator::new(1, Duration::from_secs(300)).shared();
    let mut d = super::daemon::Daemon::new(ids);
    d.server = Some(server);
    d.serve(listener).await
}

/// Open the TUN device, GRE socket and listeners and start serving.
pub async fn start(o: Options) -> Result<Handle, OsError> {
    let bad = |e: String| OsError::Command {
        cmd: "server".into(),
        detail: e,
    };
    let secrets = load_secrets(&o.secrets).map_err(|e| bad(e.to_string()))?;
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
            ..AuthConfig::default()
        },
        mppe: o.mppe,
        ipcp: IpcpConfig {
            local: Some(o.local_ip),
            remote: None,
            dns: [o.dns.first().copied(), o.dns.get(1).copied()],
            nbns: [o.wins.first().copied(), o.wins.get(1).copied()],
            request_dns: false,
            request_nbns: false,
        },
        ..SessionConfig::default()
    };
    let tun = Tun::open(&o.tun)?;
    let h = addr::handle()?;
    let tun_index = addr::ifindex(&h, tun.name()).await?;
    addr::configure_p2p(&h, tun_index, o.local_ip, o.local_ip, 1400).await?;
    // One raw socket sees GRE to every local address; bind it only when
    // there is a single listen address.
    let gre_addr = match o.listen[..] {
        [one] => one,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let gre = GreSocket::bind(gre_addr)?;
    let mut listeners = Vec::new();
    for ip in &o.listen {
        listeners.push(TcpListener::bind((*ip, 1723)).await?);
    }
    tracing::info!(listen = ?o.listen, tun = tun.name(), "PPTP server running");
    let lock = Arc::new(Mutex::new(Lockout::new(
        o.auth_fail_limit,
        o.lockout,
        Duration::from_secs(3600),
    )));
    let st: session::Shared = Rc::new(RefCell::new(State {
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
        opts: o,
        tasks: Vec::new(),
        conns: Vec::new(),
        log: crate::ratelimit::LogLimit::default(),
    }));
    let mut tasks = vec![
        tokio::task::spawn_local(session::gre_loop(st.clone())),
        tokio::task::spawn_local(session::tun_loop(st.clone())),
        tokio::task::spawn_local(session::tick_loop(st.clone())),
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
        stop: stop_tx,
        task,
    })
}
