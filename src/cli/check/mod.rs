//! `check`: is PPTP getting through? A listener on one side, a prober on
//! the other, like Windows' pptpsrv/pptpclnt. The listener reports what it
//! saw back to the prober in WAN-Error-Notify messages (a PAC may send them,
//! RFC 2637 §2.14): `crc_errors` = GRE probes received for the call,
//! `framing_errors` = the source address they came from.

mod connect;
mod listen;

use crate::wire::pptp::Str64;

/// Vendor string by which a prober recognises a check listener.
pub const VENDOR: &[u8] = b"pptp-passthrough check";
/// GRE probe payloads start with this.
pub const MAGIC: &[u8] = b"PPTPCHECK";

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Answer probes on TCP 1723 and GRE, printing each one.
    Listen(listen::Args),
    /// Probe a `check listen` instance (or any PPTP server) step by step.
    Connect(connect::Args),
}

/// Exit code of the subcommand.
pub fn run(a: Args) -> i32 {
    match a.cmd {
        Cmd::Listen(l) => match listen::run(l) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("pptp-passthrough check listen: {e}");
                1
            }
        },
        Cmd::Connect(c) => connect::run(c),
    }
}

fn is_listener(vendor: &Str64) -> bool {
    vendor.as_bytes() == VENDOR
}
