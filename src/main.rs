use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::filter::LevelFilter;

fn main() {
    let cli = pptp_passthrough::cli::Cli::parse();
    // RUST_LOG takes a level (error, warn, info, debug, trace); a full
    // filter language would cost the router ~0.3 MiB of flash.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let syslog = cli
        .syslog
        .then(|| pptp_passthrough::os::syslog::Syslog::connect("pptp-passthrough"));
    match syslog {
        // The log daemon stamps the time and shows the priority.
        Some(Ok(w)) => tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .without_time()
            .with_level(false)
            .with_writer(w)
            .init(),
        // logd and journald want plain lines: colour only on a terminal.
        other => {
            tracing_subscriber::fmt()
                .with_max_level(level)
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .init();
            if let Some(Err(e)) = other {
                tracing::warn!("no system log at /dev/log ({e}): logging to stderr");
            }
        }
    }
    std::process::exit(pptp_passthrough::cli::run(cli));
}
