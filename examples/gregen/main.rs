//! GRE load generator for `scripts/bench.sh` (not shipped): PPTP calls are
//! set up through the router under test, then enhanced GRE (RFC 2637 §4.1)
//! is blasted in one direction with `sendmmsg` and counted with `recvmmsg`
//! on raw GRE sockets, 64 packets per system call.
//!
//! ```text
//! gregen peer --listen IP --calls N --dir in|out [--size B] [--secs S] ...
//! gregen pns  --server IP --calls N --dir in|out [--per-conn K] [--from IP --hosts H] ...
//! ```
//!
//! `peer` (internet side) is a minimal PAC on IP:1723: it answers every
//! SCCRQ and Outgoing-Call-Request (its own Call IDs 1..N) and records the
//! caller's Call ID of each request: after the router's NAT, the public
//! one. `pns` (LAN side) opens N / K control connections (K = `--per-conn`,
//! default 1: one call per connection, as PPTP clients do and the only
//! layout the kernel's helper handles), sends SCCRQ, then after the SCCRP
//! the connection's K requests (its Call IDs 1..N), on `--window`
//! connections at a time, reading every connection while it writes the
//! others; once every reply is back it sends an Echo-Request: the "go".
//! With `--from IP --hosts H` the connections come round-robin from H
//! consecutive LAN addresses (all on the `pns` host), each call's GRE from
//! its connection's address.
//!
//! `--dir out`: `pns` sends to the peer with the peer's Call IDs, `peer`
//! counts. `--dir in`: on the go, `peer` sends to the address the control
//! connection of each call came from (the router's public address behind
//! NAT) with the recorded Call IDs, `pns` counts. Calls are used
//! round-robin. The sender stops after `--secs` or `--max-packets`; the
//! receiver counts packets whose Call ID is one of its live calls and stops
//! after `--quiet-ms` without packets (or a deadline). Each side prints one
//! line (`keys`:
//! distinct Call IDs sent on / received on):
//!
//! ```text
//! sent=P bytes=B secs=S errors=E calls=N keys=K
//! received=P bytes=B secs=S other=O calls=N keys=K
//! ```
//!
//! Bytes are whole IP packets (20 + 12 + size); the receiver's seconds run
//! from its first counted packet to its last. Every wait has a deadline.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use pptp_passthrough::wire::gre;
use pptp_passthrough::wire::pptp::{
    Message, OutgoingCallReply, OutgoingCallRequest, Reassembler, StartControl, Str64,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Packets per sendmmsg/recvmmsg.
const BATCH: usize = 64;
/// Receive slot per packet: more than the MTU of the bench links.
const SLOT: usize = 2048;
/// IPv4 header without options, as the kernel builds it for raw sockets.
const IP_HEADER: usize = 20;
/// GRE header with a sequence number and no acknowledgment.
const GRE_HEADER: usize = 12;

mod blast;
mod control;
mod latency;

use blast::{Flows, blast, count, gre_socket};
use control::{dial, peer, pns, start_control};
use latency::latency;

#[derive(Parser, Debug)]
#[command(about = "GRE forwarding load generator (scripts/bench.sh)")]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Internet side: a minimal PAC on LISTEN:1723.
    Peer {
        #[arg(long)]
        listen: Ipv4Addr,
        #[command(flatten)]
        o: Opts,
    },
    /// LAN side: dial SERVER:1723 and open the calls.
    Pns {
        #[arg(long)]
        server: Ipv4Addr,
        /// The first LAN address to dial from (with --hosts, the first of
        /// that many consecutive addresses, each on this host).
        #[arg(long)]
        from: Option<Ipv4Addr>,
        /// Spread the control connections over this many LAN addresses,
        /// round-robin (the helper lets one LAN host hold 256 calls to one
        /// server).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024), requires = "from")]
        hosts: u16,
        #[command(flatten)]
        o: Opts,
    },
    /// Control-plane round trips to any PPTP server on SERVER:1723, one at
    /// a time: COUNT Outgoing-Call-Request/Reply pairs on one reused
    /// connection, then COUNT fresh connections each doing TCP connect,
    /// SCCRQ/SCCRP and OCRQ/OCRP. Prints percentiles in microseconds.
    Latency {
        #[arg(long)]
        server: Ipv4Addr,
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..))]
        count: u16,
        /// Seconds for the whole run at most.
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Dir {
    /// Internet to LAN: the peer sends, the PNS counts.
    In,
    /// LAN to internet: the PNS sends, the peer counts.
    Out,
}

#[derive(clap::Args, Debug, Clone, Copy)]
struct Opts {
    /// Calls in all (1..=65535).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    calls: u16,
    /// pns: calls per control connection (the kernel's helper tracks one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    per_conn: u16,
    /// pns: control connections with a request outstanding at a time (a
    /// thousand clients do not all dial in the same millisecond).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    window: u16,
    /// Which side sends the GRE.
    #[arg(long, value_enum)]
    dir: Dir,
    /// GRE payload bytes per packet.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1460))]
    size: u16,
    /// The receiver never sleeps once packets come (non-blocking reads in
    /// a loop): on a machine that also routes, waking it would be charged
    /// to the sender's softirq, the path being measured.
    #[arg(long)]
    spin: bool,
    /// Seconds the sender sends.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Packets the sender sends at most.
    #[arg(long, default_value_t = 100_000_000)]
    max_packets: u64,
    /// Seconds to wait for the connection, the calls and the first packet.
    #[arg(long, default_value_t = 20)]
    wait: u64,
    /// The receiver stops after this many milliseconds without a packet.
    #[arg(long, default_value_t = 1000)]
    quiet_ms: u64,
}

type Res<T> = Result<T, String>;

/// `hosts` consecutive addresses from `from` (none: the route picks one).
fn sources(from: Option<Ipv4Addr>, hosts: u16) -> Res<Vec<Ipv4Addr>> {
    let Some(first) = from else {
        return Ok(Vec::new());
    };
    (0..u32::from(hosts))
        .map(|i| {
            u32::from(first)
                .checked_add(i)
                .map(Ipv4Addr::from)
                .ok_or_else(|| format!("{hosts} addresses from {first} run past 255.255.255.255"))
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, r) = match cli.role {
        Role::Peer { listen, o } => ("peer", peer(listen, o)),
        Role::Pns {
            server,
            from,
            hosts,
            o,
        } => ("pns", sources(from, hosts).and_then(|s| pns(server, &s, o))),
        Role::Latency {
            server,
            count,
            wait,
        } => ("latency", latency(server, count, wait)),
    };
    match r {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gregen {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
