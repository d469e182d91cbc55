//! `helper`: the passthrough NAT helper on its own, with a control socket
//! for `status`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Backend;
use crate::nat;
use crate::os::{OsError, ctl};
use crate::service::daemon::Daemon;
use crate::service::helper::{self, Options};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    Auto,
    Nft,
    Xtables,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardChoice {
    Flow,
    Raw,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchChoice {
    Own,
    Firewall,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// WAN interface (the one masquerading to the public address): a
    /// device, or on OpenWrt a netifd interface such as `wan`.
    #[arg(long)]
    wan: String,
    /// LAN interface(s), devices or netifd interfaces; default: every
    /// interface but the WAN.
    #[arg(long)]
    lan: Vec<String>,
    /// NFQUEUE number for control segments.
    #[arg(long, default_value_t = 1723)]
    queue_num: u16,
    /// How control segments reach the helper.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    backend: BackendChoice,
    /// Control socket for `status`.
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Seconds without a control segment before a connection's calls end.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Lifetime of map elements in seconds (a safety net; refreshed while
    /// the control connection is alive).
    #[arg(long, default_value_t = 18000)]
    element_timeout: u32,
    /// Where GRE whose Call ID names no call is stopped: `flow` drops it at
    /// a flow's first packet (nothing per packet); `raw` leaves it
    /// untracked, looked up per packet, for PPTP tunnels that end on this
    /// router itself (pptpd, this program's server or client).
    #[arg(long, value_enum, default_value_t = GuardChoice::Flow)]
    gre_guard: GuardChoice,
    /// Where TCP and ICMP are picked out of forwarded packets: `own`, a
    /// base chain of the helper's in the forward hook; `firewall`, the
    /// firewall's forward chain before its `flow offload` (fw4's
    /// `mangle_forward`), whose rules `fw4-rules` prints: every forwarded
    /// packet then crosses one base chain fewer. Needs nft `queue`.
    #[arg(long, value_enum, default_value_t = DispatchChoice::Own)]
    dispatch: DispatchChoice,
    /// Leave the table and the calls in place on exit (for upgrades).
    #[arg(long)]
    keep_on_exit: bool,
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let opts = Options {
        wan: a.wan.clone(),
        lan: a.lan.clone(),
        queue_num: a.queue_num,
        backend: match a.backend {
            BackendChoice::Auto => Backend::Auto,
            BackendChoice::Nft => Backend::Nft,
            BackendChoice::Xtables => Backend::Xtables,
        },
        idle_timeout: Duration::from_secs(a.idle_timeout),
        element_timeout: a.element_timeout,
        guard: match a.gre_guard {
            GuardChoice::Flow => crate::netfilter::Guard::Flow,
            GuardChoice::Raw => crate::netfilter::Guard::Raw,
        },
        dispatch: match a.dispatch {
            DispatchChoice::Own => crate::netfilter::Dispatch::Own,
            DispatchChoice::Firewall => crate::netfilter::Dispatch::Firewall,
        },
    }
    .resolved()?;
    let ids = nat::alloc::Allocator::new(seed()?, nat::Config::default().quarantine).shared();
    ctl::ensure_free(&a.socket)?;
    let helper = helper::start(opts, ids.clone(), nat::Handover::default()).await?;
    let listener = match ctl::listen(&a.socket) {
        Ok(l) => l,
        Err(e) => {
            let _ = helper.stop(false).await;
            return Err(e);
        }
    };
    let mut d = Daemon::new(ids);
    d.helper = Some(helper);
    d.keep_on_exit = a.keep_on_exit;
    d.serve(Some((listener, a.socket.clone()))).await
}

fn seed() -> Result<u64, OsError> {
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| OsError::Io(std::io::Error::other(e.to_string())))?;
    Ok(u64::from_le_bytes(seed))
}
