//! `run --config FILE`: every part the config file enables, in one
//! process sharing one Call ID allocator (OpenWrt's procd service).

use std::path::PathBuf;
use std::time::Duration;

use crate::nat::alloc::Allocator;
use crate::os::{OsError, ctl};
use crate::service::daemon::Daemon;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config file (UCI syntax).
    #[arg(long, default_value = super::client::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Control socket for `status` and `client`.
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Only check the config file: print its warnings, exit 0 if usable,
    /// 2 with `file:line: what` if not.
    #[arg(long)]
    check: bool,
}

/// Exit code of `--check` for a file that does not parse.
pub const EXIT_BAD_CONFIG: i32 = 2;

/// `--check`: the process exit code.
pub fn check(a: &Args) -> Option<i32> {
    if !a.check {
        return None;
    }
    Some(match crate::config::load(&a.config) {
        Ok(cfg) => {
            let mut warnings = cfg.warnings();
            if let Some(h) = cfg.helper.as_ref().filter(|h| h.enabled) {
                warnings.extend(crate::service::helper::Options::interface_warnings(h));
            }
            for w in warnings {
                println!("warning: {w}");
            }
            let parts = [
                cfg.helper
                    .as_ref()
                    .is_some_and(|h| h.enabled)
                    .then_some("helper"),
                cfg.server
                    .as_ref()
                    .is_some_and(|s| s.enabled)
                    .then_some("server"),
            ];
            let on: Vec<&str> = parts.into_iter().flatten().collect();
            println!(
                "{}: OK ({} enabled; {} client profile(s))",
                a.config.display(),
                if on.is_empty() {
                    "nothing".into()
                } else {
                    on.join(", ")
                },
                cfg.clients.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_BAD_CONFIG
        }
    })
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let cfg = crate::config::load(&a.config).map_err(|e| OsError::Command {
        cmd: "run".into(),
        detail: e.to_string(),
    })?;
    ctl::ensure_free(&a.socket)?;
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| OsError::Io(std::io::Error::other(e.to_string())))?;
    let ids = Allocator::new(u64::from_le_bytes(seed), Duration::from_secs(300)).shared();
    let mut d = Daemon::new(ids);
    d.config = Some(a.config.clone());
    if let Err(e) = d.apply(cfg).await {
        let _ = d.serve_until_stopped_now().await;
        return Err(e);
    }
    let listener = match ctl::listen(&a.socket) {
        Ok(l) => l,
        Err(e) => {
            let _ = d.serve_until_stopped_now().await;
            return Err(e);
        }
    };
    tracing::info!(config = %a.config.display(), "running; SIGHUP reloads the config");
    d.serve(Some((listener, a.socket.clone()))).await
}
