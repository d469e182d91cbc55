//! `fw4-rules`: the firewall's part of the helper's dispatch
//! (`--dispatch firewall`), as the text of fw4's two include files, from
//! the config file's `config helper` (the OpenWrt package writes them) or
//! from flags.

use std::path::PathBuf;

use crate::netfilter::{self, Backend, Dispatch, Guard};
use crate::os::OsError;
use crate::service::helper::Options;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The chains, for fw4's table (`table-post`).
    Chains,
    /// The two rules, for the end of fw4's `mangle_forward`
    /// (`chain-post/mangle_forward`).
    Dispatch,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which include file's text to print.
    #[arg(long, value_enum)]
    part: Part,
    /// Read the WAN, LANs and queue number from this config file's
    /// `config helper` (instead of the flags).
    #[arg(long, conflicts_with_all = ["wan", "lan", "queue_num"])]
    config: Option<PathBuf>,
    /// WAN interface: a device, or on OpenWrt a netifd interface.
    #[arg(long, required_unless_present = "config")]
    wan: Option<String>,
    /// LAN interface(s); default: every interface but the WAN.
    #[arg(long)]
    lan: Vec<String>,
    /// NFQUEUE number for control segments (the helper's `--queue-num`).
    #[arg(long, default_value_t = 1723)]
    queue_num: u16,
}

pub fn run(a: Args) -> Result<(), OsError> {
    let opts = match &a.config {
        Some(path) => {
            let bad = |detail: String| OsError::Command {
                cmd: "fw4-rules".into(),
                detail,
            };
            let cfg = crate::config::load(path).map_err(|e| bad(e.to_string()))?;
            let h = cfg
                .helper
                .ok_or_else(|| bad(format!("{}: no `config helper`", path.display())))?;
            Options::from_config(&h, false).map_err(bad)?
        }
        // Only the interfaces and the queue number go into the text.
        None => Options {
            wan: a.wan.clone().unwrap_or_default(),
            lan: a.lan.clone(),
            queue_num: a.queue_num,
            backend: crate::config::Backend::Nft,
            idle_timeout: std::time::Duration::ZERO,
            element_timeout: 0,
            guard: Guard::Flow,
            dispatch: Dispatch::Firewall,
        },
    };
    let rules = netfilter::firewall_rules(&opts.resolved()?.setup(Backend::Nft));
    print!(
        "{}",
        match a.part {
            Part::Chains => rules.chains,
            Part::Dispatch => rules.dispatch,
        }
    );
    Ok(())
}
