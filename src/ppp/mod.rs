//! PPP for the embedded PPTP client and server, sans-IO: frames, the
//! option-negotiation automaton (RFC 1661 §4) with LCP, IPCP and CCP, and
//! the authentication and MPPE cryptography.
//!
//! These modules parse bytes from remote peers and must not panic or wrap silently on them.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod auth;
pub mod ccp;
pub mod crypto;
pub mod error;
pub mod frame;
pub mod fsm;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod opt;
pub mod packet;
pub mod session;

#[cfg(test)]
mod proptests;
