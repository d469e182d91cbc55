//! RADIUS for the embedded server, sans-IO: packets (RFC 2865, RFC 2866,
//! RFC 5176), their keyed-MD5 authenticators and hidden attributes
//! (RFC 2865 §5.2, RFC 2548, RFC 3579), and the client that sends requests
//! with time-outs, resends and failover across servers.
//!
//! Answers come from the network: they are parsed without panicking.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod client;
pub mod crypto;
pub mod packet;

/// What can go wrong with a RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RadiusError {
    #[error("malformed RADIUS packet: {0}")]
    Malformed(&'static str),
    #[error("RADIUS packet over 4096 octets or an attribute over 253")]
    TooLong,
    #[error("RADIUS authenticator does not match (wrong secret, or forged)")]
    BadAuthenticator,
    #[error("RADIUS answer without a Message-Authenticator")]
    NoMessageAuthenticator,
}
