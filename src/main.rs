use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::filter::LevelFilter;

fn main() {
    let cli = pptp_passthrough::cli::Cli::parse();
    // logd and journald want plain lines: colour only on a terminal.
    tracing_subscriber::fmt()
        // RUST_LOG takes a level (error, warn, info, debug, trace); a full
        // filter language would cost the router ~0.3 MiB of flash.
        .with_max_level(
            std::env::var("RUST_LOG")
                .ok()
                .and_then(|v| v.parse::<LevelFilter>().ok())
                .unwrap_or(LevelFilter::INFO),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    std::process::exit(pptp_passthrough::cli::run(cli));
}
