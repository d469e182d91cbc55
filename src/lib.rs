//! pptp-passthrough: PPTP passthrough NAT helper, embedded PPTP endpoints and
//! diagnostics for Linux and OpenWrt routers.
//!
//! Layout: `wire` (codecs), `nat` (call table and rewrite rules, sans-IO),
//! `netfilter` (ruleset generation), `radius` (RADIUS client, sans-IO), `os` (the I/O edge: NFQUEUE, nft,
//! rtnetlink, sockets), `cli` (subcommands).

pub mod cli;
pub mod config;
pub mod diag;
pub mod nat;
pub mod netfilter;
pub mod os;
pub mod ppp;
pub mod pptp;
pub mod radius;
pub mod ratelimit;
pub mod service;
#[cfg(test)]
mod testutil;
pub mod wire;
