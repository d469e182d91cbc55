//! Command-line interface: one binary, one subcommand per job. It parses
//! arguments, starts a service (`crate::service`) or asks the running
//! daemon over the control socket, and prints.

mod check;
mod client;
mod fw4;
mod helper;
mod run;
mod security;
mod server;
pub(crate) mod status;

use clap::{Parser, Subcommand};

use crate::os::OsError;

/// PPTP passthrough for Linux and OpenWrt routers.
#[derive(Parser, Debug)]
#[command(name = "pptp-passthrough", version, about)]
pub struct Cli {
    /// Log to the system log (/dev/log, facility daemon) with each line's
    /// priority, instead of stderr: for procd, whose stderr capture makes
    /// every line an error.
    #[arg(long, global = true)]
    pub syslog: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the passthrough NAT helper: many LAN clients share PPTP through
    /// one public IPv4 address.
    Helper(helper::Args),
    /// Diagnostics: is TCP 1723 reachable, does GRE pass each way, does the
    /// NAT allow a second call (exit codes per failure class).
    Check(check::Args),
    /// The embedded PPTP client (userspace PPP, TUN, raw GRE).
    Client(client::Args),
    /// Run the embedded PPTP server (userspace PPP, TUN, raw GRE).
    Server(Box<server::Args>),
    /// Run every part the config file enables (helper, server, client
    /// profiles) in one process; SIGHUP reloads. OpenWrt's service.
    Run(run::Args),
    /// Show the calls the running helper tracks.
    Status(status::Args),
    /// Hang up one session of the running server (its call ID from
    /// `status`).
    Hangup(status::HangupArgs),
    /// Print the firewall's part of the helper's `--dispatch firewall`:
    /// the text of an fw4 include file.
    #[command(name = "fw4-rules")]
    Fw4Rules(fw4::Args),
}

/// Run the chosen subcommand; the process exit code.
pub fn run(cli: Cli) -> i32 {
    let syslog = cli.syslog;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pptp-passthrough: cannot start the runtime: {e}");
            return 1;
        }
    };
    let res = match cli.cmd {
        Cmd::Check(a) => return check::run(a),
        Cmd::Helper(a) => rt.block_on(tokio::task::LocalSet::new().run_until(helper::run(a))),
        Cmd::Status(a) => rt.block_on(status::run(a)),
        Cmd::Hangup(a) => rt.block_on(status::hangup(a)),
        Cmd::Fw4Rules(a) => fw4::run(a),
        Cmd::Client(a) => rt.block_on(tokio::task::LocalSet::new().run_until(client::run(a))),
        Cmd::Server(a) => rt.block_on(tokio::task::LocalSet::new().run_until(server::run(*a))),
        Cmd::Run(a) => match run::check(&a) {
            Some(code) => return code,
            None => rt.block_on(tokio::task::LocalSet::new().run_until(run::run(a))),
        },
    };
    match res {
        Ok(()) => 0,
        // Not an error for a script or LuCI: nothing is enabled, or the
        // service is stopped.
        Err(e @ OsError::NotRunning(_)) => {
            eprintln!("pptp-passthrough: {e}");
            EXIT_NOT_RUNNING
        }
        Err(e) => {
            // Once: in the system log when logging there, else on stderr.
            if syslog {
                tracing::error!("{e}");
            } else {
                eprintln!("pptp-passthrough: {e}");
            }
            1
        }
    }
}

/// Exit code of `status` and `client` requests when no daemon answers.
pub const EXIT_NOT_RUNNING: i32 = 3;
