//! `server`: the embedded PPTP server on its own, from flags or from the
//! `config server` section of a file.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::os::{OsError, ctl};
use crate::service::daemon::{self, Daemon};
use crate::service::endpoint::{auth_methods, mppe_policy};
use crate::service::server::{self, Options};

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
    security: super::security::SecurityArgs,
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
    /// Where the sessions' data runs: tun (userspace), kernel (the kernel's
    /// pptp, ppp_generic and ppp_mppe modules) or auto (kernel if there).
    #[arg(long, default_value = "tun", value_parser = parse_data_path)]
    data_path: crate::config::DataPath,
    /// No IPv6 in the tunnels (IPV6CP is Protocol-Rejected).
    #[arg(long)]
    no_ipv6: bool,
    /// IPv6 prefix (length 32-64) from which each session gets a /64,
    /// announced by Router Advertisements.
    #[arg(long, value_parser = parse_prefix6)]
    ipv6_prefix: Option<crate::config::Ipv6Prefix>,
    /// IPv6 DNS servers announced with the prefix (RDNSS, at most 3).
    #[arg(long)]
    ipv6_dns: Vec<std::net::Ipv6Addr>,
    /// Control socket for `status` (skipped if another process has it).
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

fn parse_data_path(s: &str) -> Result<crate::config::DataPath, String> {
    crate::config::value::data_path(s)
        .ok_or_else(|| format!("{s:?}: expected {}", crate::config::value::EXPECT_DATA_PATH))
}

fn parse_prefix6(s: &str) -> Result<crate::config::Ipv6Prefix, String> {
    crate::config::value::prefix6_pool(s).ok_or_else(|| {
        format!(
            "{s:?}: expected {}",
            crate::config::value::EXPECT_PREFIX6_POOL
        )
    })
}

/// The options the flags (or the file `--config` names) ask for.
fn options(a: &Args) -> Result<Options, String> {
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
    let (Some(local_ip), Some(start), Some(end)) = (a.local_ip, a.pool_start, a.pool_end) else {
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
        data_path: a.data_path,
        ipv6: !a.no_ipv6,
        ipv6_prefix: a.ipv6_prefix,
        ipv6_dns: a
            .ipv6_dns
            .iter()
            .take(crate::wire::nd::MAX_RDNSS)
            .copied()
            .collect(),
        radius: None,
    })
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let bad = |e: String| OsError::Command {
        cmd: "server".into(),
        detail: e,
    };
    let opts = options(&a).map_err(bad)?;
    let server = server::start(opts, &[]).await?;
    let listener = daemon::listen_if_free(&a.socket);
    let ids = crate::nat::alloc::Allocator::new(1, Duration::from_secs(300)).shared();
    let mut d = Daemon::new(ids);
    d.server = Some(server);
    d.serve(listener).await
}
