//! `client connect`: dial a PPTP server from the router itself, entirely in
//! userspace (PPP over a raw GRE socket, IP on a TUN device). Runs in the
//! foreground until the link drops or it is told to stop.

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::endpoint::{OsRng, auth_methods, flush, mppe_policy, random_call_id};
use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::os::{OsError, addr};
use crate::ppp::auth::AuthConfig;
use crate::ppp::ipcp::IpcpConfig;
use crate::ppp::session::{Session, SessionConfig, SessionEvent};
use crate::pptp::control::{Control, ControlConfig, ControlEvent};
use crate::pptp::gre::{GreChannel, GreConfig};
use crate::pptp::link::Link;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Connect to HOST and keep the tunnel up until stopped.
    Connect(ConnectArgs),
}

#[derive(clap::Args, Debug)]
struct ConnectArgs {
    /// PPTP server: DNS name or IPv4 address.
    host: String,
    #[arg(long)]
    user: String,
    /// Password (prefer --password-file: a command line is visible to others).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// File whose first line is the password.
    #[arg(long)]
    password_file: Option<std::path::PathBuf>,
    /// Authentication methods accepted, best first.
    #[arg(long, default_value = "mschapv2", value_delimiter = ',')]
    auth: Vec<String>,
    /// MPPE policy: require-128, require, optional, none.
    #[arg(long, default_value = "require-128")]
    mppe: String,
    /// Offer stateful MPPE.
    #[arg(long)]
    mppe_stateful: bool,
    /// Name of the TUN device.
    #[arg(long, default_value = "pptpc0")]
    tun: String,
    /// Seconds each set-up step may take.
    #[arg(long, default_value_t = 15)]
    timeout: u64,
}

pub async fn run(a: Args) -> Result<(), OsError> {
    match a.cmd {
        Cmd::Connect(c) => connect(c).await,
    }
}

fn fail(detail: impl Into<String>) -> OsError {
    OsError::Command {
        cmd: "client connect".into(),
        detail: detail.into(),
    }
}

async fn connect(a: ConnectArgs) -> Result<(), OsError> {
    let password = match (&a.password, &a.password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        (None, None) => return Err(fail("give --password or --password-file")),
    };
    let methods = auth_methods(&a.auth).map_err(fail)?;
    let mppe = mppe_policy(&a.mppe, a.mppe_stateful).map_err(fail)?;
    let limit = Duration::from_secs(a.timeout.max(1));
    let server: Ipv4Addr = match a.host.parse() {
        Ok(ip) => ip,
        Err(_) => (a.host.as_str(), 1723)
            .to_socket_addrs()?
            .find_map(|s| match s {
                SocketAddr::V4(v) => Some(*v.ip()),
                SocketAddr::V6(_) => None,
            })
            .ok_or_else(|| fail(format!("{} has no IPv4 address", a.host)))?,
    };
    let mut tcp = tokio::time::timeout(limit, TcpStream::connect((server, 1723)))
        .await
        .map_err(|_| fail(format!("TCP 1723 to {server} timed out")))??;
    tcp.set_nodelay(true)?;
    let SocketAddr::V4(local) = tcp.local_addr()? else {
        return Err(fail("not IPv4"));
    };
    tracing::info!(%server, "control connection up, starting PPTP");
    // Open GRE before the call: the server's first LCP packet may come
    // right behind its Outgoing-Call-Reply.
    let gre = GreSocket::bind(*local.ip())?;
    let mut ctl = Control::client(ControlConfig::default(), Instant::now());
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + limit;
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
            ctl.open_call(&mut random_call_id, Instant::now())
                .map_err(|e| fail(e.to_string()))?;
            continue;
        }
        if call.is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(fail(
                "the server did not answer the control handshake or call in time",
            ));
        }
        match tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Err(fail("the server closed the control connection")),
            Ok(Ok(n)) => ctl.handle_bytes(Instant::now(), &buf[..n]),
            Err(_) => ctl.handle_timeout(Instant::now()),
        }
    }
    let Some((call_id, peer_call_id)) = call else {
        return Err(fail("no call"));
    };
    tracing::info!(call_id, peer_call_id, "call up, starting PPP");
    let tun = Tun::open(&a.tun)?;
    let h = addr::handle()?;
    let tun_index = addr::ifindex(&h, tun.name()).await?;
    let cfg = SessionConfig {
        auth: AuthConfig {
            methods,
            name: a.user.clone(),
            password,
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
        ..SessionConfig::default()
    };
    let now = Instant::now();
    let ppp = Session::client(cfg, now, OsRng);
    let mut link = Link::new(
        GreChannel::new(call_id, peer_call_id, GreConfig::default()),
        ppp,
        server,
    );
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let (mut gbuf, mut tbuf) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut stopping: Option<Instant> = None;
    let result = 'run: loop {
        let now = Instant::now();
        for ev in flush(&mut link, now, &gre, &tun) {
            match ev {
                SessionEvent::Up {
                    local_ip,
                    remote_ip,
                    dns,
                    mtu,
                    mppe,
                } => {
                    let peer = remote_ip.unwrap_or(local_ip);
                    addr::configure_p2p(&h, tun_index, local_ip, peer, u32::from(mtu)).await?;
                    println!(
                        "connected: tunnel {local_ip} <-> {peer} on {}, MTU {mtu}, MPPE {mppe:?}, DNS {:?}",
                        tun.name(),
                        dns.iter().flatten().collect::<Vec<_>>()
                    );
                }
                SessionEvent::AuthFailed { reason } => {
                    tracing::warn!(%reason, "authentication failed")
                }
                SessionEvent::Authenticated { .. } => tracing::info!("authenticated"),
                SessionEvent::Down { reason } => {
                    break 'run Err(fail(format!("link down: {reason}")));
                }
            }
        }
        while let Some(b) = ctl.poll_transmit() {
            let _ = tcp.write_all(&b).await;
        }
        if stopping.is_some_and(|t| now >= t) {
            break Ok(());
        }
        tokio::select! {
            r = gre.recv(&mut gbuf) => if let Ok((src, range)) = r {
                if src == server {
                    link.on_gre(Instant::now(), &gbuf[range]);
                }
            },
            r = tun.recv(&mut tbuf) => if let Ok(n) = r {
                let _ = link.ppp.send_ip(&tbuf[..n]);
            },
            r = tcp.read(&mut buf) => match r {
                Ok(0) | Err(_) => break Err(fail("the server closed the control connection")),
                Ok(n) => ctl.handle_bytes(Instant::now(), &buf[..n]),
            },
            _ = tick.tick() => {
                let now = Instant::now();
                link.on_timeout(now);
                if ctl.poll_timeout().is_some_and(|t| t <= now) {
                    ctl.handle_timeout(now);
                }
            },
            _ = term.recv(), if stopping.is_none() => {
                link.ppp.close(Instant::now());
                stopping = Some(Instant::now() + Duration::from_millis(500));
            },
            _ = tokio::signal::ctrl_c(), if stopping.is_none() => {
                link.ppp.close(Instant::now());
                stopping = Some(Instant::now() + Duration::from_millis(500));
            },
        }
    };
    let _ = ctl.close_call(call_id, Instant::now());
    ctl.stop(Instant::now());
    while let Some(b) = ctl.poll_transmit() {
        let _ = tcp.write_all(&b).await;
    }
    println!("disconnected");
    result
}
