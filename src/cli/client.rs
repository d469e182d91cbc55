//! `client`: the embedded PPTP client, for the router itself: dial a
//! server (a named profile from the config file, or a host given on the
//! command line), keep the tunnel up, and report or stop it through the
//! control socket.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{self, ClientCfg, Host, Security};
use crate::os::{OsError, ctl};
use crate::service::client::{CallIds, Handle, Profile};
use crate::service::control::{Answer, Request, Status};
use crate::service::daemon::{self, Daemon};

/// Where `run` and OpenWrt keep the config.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/config/pptp-passthrough";

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Connect a profile (by name, through the running daemon if there is
    /// one) or a HOST given with --user; stays in the foreground otherwise.
    Connect(Box<ConnectArgs>),
    /// Hang up a profile connected through the daemon or a foreground client.
    Disconnect(NameArgs),
    /// Client profiles and their tunnels.
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
struct ConnectArgs {
    /// Profile name from the config file, or the server's DNS name or IPv4
    /// address (then --user is required).
    target: String,
    /// Config file holding the profiles.
    #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[arg(long)]
    user: Option<String>,
    /// Password (prefer --password-file: a command line is visible to others).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// File whose first line is the password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    #[command(flatten)]
    security: super::security::SecurityArgs,
    /// Name of the TUN device (default pptpc0, or pptp-NAME for a profile).
    #[arg(long)]
    tun: Option<String>,
    /// Seconds each set-up step may take.
    #[arg(long, default_value_t = 15)]
    timeout: u64,
    /// Dial again after the link drops (profiles: their `reconnect` option).
    #[arg(long)]
    reconnect: bool,
    /// Tunnel MTU (576-1500; default 1400, profiles: their `mtu` option).
    #[arg(long, value_parser = clap::value_parser!(u16).range(576..=1500))]
    mtu: Option<u16>,
    /// No IPv6 in the tunnel (IPV6CP is Protocol-Rejected; profiles: their
    /// `ipv6` option).
    #[arg(long)]
    no_ipv6: bool,
    /// Where the tunnel's data runs: tun (userspace), kernel (the kernel's
    /// pptp, ppp_generic and ppp_mppe modules) or auto (kernel if there;
    /// profiles: their `data_path` option).
    #[arg(long, value_parser = parse_data_path)]
    data_path: Option<config::DataPath>,
    /// Run this with `up` once the tunnel is up and `down` once it is gone,
    /// the tunnel in its environment (IFNAME, IPLOCAL, IPREMOTE, DNS1,
    /// DNS2, MTU, SERVER), as pppd runs ip-up.
    #[arg(long, value_name = "PATH")]
    hook: Option<PathBuf>,
    /// Control socket: of the daemon, or served by this client.
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

#[derive(clap::Args, Debug)]
struct NameArgs {
    /// Profile name (or the HOST a foreground client was started with).
    name: String,
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

#[derive(clap::Args, Debug)]
struct StatusArgs {
    /// Print JSON (for scripts and LuCI).
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

pub async fn run(a: Args) -> Result<(), OsError> {
    match a.cmd {
        Cmd::Connect(c) => connect(*c).await,
        Cmd::Disconnect(n) => {
            ask(&n.socket, &Request::Disconnect(n.name.clone())).await?;
            println!("{} disconnected", n.name);
            Ok(())
        }
        Cmd::Status(s) => {
            let body = ctl::fetch(&s.socket).await?;
            let st: Status = serde_json::from_str(&body)
                .map_err(|e| fail(format!("bad status document: {e}")))?;
            if s.json {
                println!("{}", serde_json::Value::Array(st.clients));
            } else {
                print!("{}", render(&st.clients));
            }
            Ok(())
        }
    }
}

fn fail(detail: impl Into<String>) -> OsError {
    OsError::Command {
        cmd: "client".into(),
        detail: detail.into(),
    }
}

/// Send a request; an `ok: false` answer becomes the error.
async fn ask(socket: &std::path::Path, req: &Request) -> Result<Answer, OsError> {
    let body = ctl::request(socket, &req.line()).await?;
    let a: Answer = serde_json::from_str(&body).map_err(|e| fail(format!("bad answer: {e}")))?;
    if !a.ok {
        return Err(fail(a.error.unwrap_or_else(|| "refused".into())));
    }
    Ok(a)
}

/// The client rows as a table.
pub fn render(rows: &[serde_json::Value]) -> String {
    if rows.is_empty() {
        return "no client profiles\n".into();
    }
    let s = |r: &serde_json::Value, k: &str| match &r[k] {
        serde_json::Value::Null => "-".to_string(),
        serde_json::Value::String(x) => x.clone(),
        x => x.to_string(),
    };
    let mut out = format!(
        "{:<12} {:<20} {:<10} {:<15} {:<15} {:>7} {:>12} {:>12}  {}\n",
        "PROFILE",
        "SERVER",
        "STATE",
        "LOCAL",
        "REMOTE",
        "AGE",
        "BYTES IN",
        "BYTES OUT",
        "LAST ERROR"
    );
    for r in rows {
        out += &format!(
            "{:<12} {:<20} {:<10} {:<15} {:<15} {:>7} {:>12} {:>12}  {}\n",
            s(r, "name"),
            s(r, "server"),
            s(r, "state"),
            s(r, "local_ip"),
            s(r, "remote_ip"),
            s(r, "age_secs"),
            s(r, "bytes_in"),
            s(r, "bytes_out"),
            s(r, "last_error"),
        );
    }
    out
}

/// Build the profile the command line asks for.
fn profile(a: &ConnectArgs) -> Result<Profile, OsError> {
    let named = match config::load(&a.config) {
        Ok(c) => c.client(&a.target).cloned(),
        Err(e) if a.user.is_none() => return Err(fail(e.to_string())),
        Err(_) => None,
    };
    if let Some(cfg) = named {
        let mut p = Profile::from_config(cfg);
        if let Some(t) = &a.tun {
            p.tun = t.clone();
        }
        p.timeout = Duration::from_secs(a.timeout.max(1));
        p.hook = a.hook.clone();
        if let Some(m) = a.mtu {
            p.cfg.mtu = m;
        }
        if a.no_ipv6 {
            p.cfg.ipv6 = false;
        }
        if let Some(d) = a.data_path {
            p.cfg.data_path = d;
        }
        return Ok(p);
    }
    let Some(user) = a.user.clone() else {
        return Err(fail(format!(
            "{:?} is not a profile in {}; to dial a host give --user and --password-file",
            a.target,
            a.config.display()
        )));
    };
    let password = match (&a.password, &a.password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        (None, None) => return Err(fail("give --password or --password-file")),
    };
    // The policy words mean what they mean in the config file.
    let auth = a
        .security
        .auth
        .iter()
        .map(|m| config::value::auth(m).ok_or_else(|| fail(format!("unknown --auth {m:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mppe = config::value::mppe(&a.security.mppe)
        .ok_or_else(|| fail(format!("unknown --mppe {:?}", a.security.mppe)))?;
    let security = Security {
        auth,
        mppe,
        mppe_bits: match mppe {
            config::Mppe::Require128 => vec![config::KeyBits::B128],
            _ => vec![
                config::KeyBits::B40,
                config::KeyBits::B56,
                config::KeyBits::B128,
            ],
        },
        mppe_stateful: a.security.mppe_stateful,
    };
    let cfg = ClientCfg {
        name: a.target.clone(),
        server: match a.target.parse() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(a.target.clone()),
        },
        username: user,
        password,
        security,
        reconnect: a.reconnect,
        mtu: a.mtu.unwrap_or(ClientCfg::default().mtu),
        ipv6: !a.no_ipv6,
        data_path: a.data_path.unwrap_or_default(),
        ..ClientCfg::default()
    };
    let warn = config::Config {
        clients: vec![cfg.clone()],
        ..Default::default()
    };
    for w in warn.warnings() {
        tracing::warn!("{w}");
    }
    Ok(Profile {
        cfg,
        tun: a.tun.clone().unwrap_or_else(|| "pptpc0".into()),
        timeout: Duration::from_secs(a.timeout.max(1)),
        hook: a.hook.clone(),
    })
}

async fn connect(a: ConnectArgs) -> Result<(), OsError> {
    // A profile the running daemon knows is dialed by the daemon.
    if ctl::alive(&a.socket).await && a.user.is_none() {
        let req = Request::Connect(a.target.clone());
        let body = ctl::request(&a.socket, &req.line()).await?;
        let answer: Answer = serde_json::from_str(&body).unwrap_or_default();
        if answer.ok {
            println!(
                "{}: dialing through the running daemon (see `client status`)",
                a.target
            );
            return Ok(());
        }
    }
    let p = profile(&a)?;
    let socket = daemon::listen_if_free(&a.socket);
    let ids = crate::nat::alloc::Allocator::new(1, Duration::from_secs(300)).shared();
    let mut d = Daemon::new(ids);
    d.exit_with_clients = true;
    d.profiles = vec![p.cfg.clone()];
    d.clients
        .insert(p.cfg.name.clone(), Handle::start(p, CallIds::Random));
    d.serve(socket).await
}

fn parse_data_path(s: &str) -> Result<config::DataPath, String> {
    config::value::data_path(s)
        .ok_or_else(|| format!("{s:?}: expected {}", config::value::EXPECT_DATA_PATH))
}
