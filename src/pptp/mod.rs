//! PPTP endpoints, sans-IO (RFC 2637 §3, §4): the control connection
//! state machine for both roles ([`Control`]) and the per-call enhanced GRE
//! data channel ([`GreChannel`]).
//!
//! Nothing here opens sockets, reads the clock or draws random numbers:
//! time comes in as `now: Instant`, Call IDs come from the caller
//! ([`CallIdAlloc`]), and output is queued for the caller to drain
//! (`poll_transmit`, `poll_event`, `poll_timeout` / `handle_timeout`).
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

pub mod backoff;
pub mod control;
pub mod gre;
pub mod link;
pub mod lockout;
mod reorder;

#[cfg(test)]
mod call_tests;
#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod gre_tests;
#[cfg(test)]
mod keepalive_tests;
#[cfg(test)]
mod testutil;

pub use control::{
    CallDownReason, CallIdAlloc, CallInfo, CallState, Control, ControlConfig, ControlEvent, Role,
    State,
};
pub use gre::{GreChannel, GreConfig, GreStats};

use crate::wire::pptp::ControlType;

/// Why the PPTP layer refused an input or an operation, or why a control
/// connection ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The control stream broke (§3: malformed messages close the
    /// connection); the TCP stream has no usable message boundary left.
    #[error("malformed control stream: {0}")]
    Malformed(#[from] crate::wire::pptp::Error),
    /// Not a PPTP GRE packet (§4.1).
    #[error("malformed GRE packet: {0}")]
    Gre(#[from] crate::wire::gre::Error),
    /// A GRE packet carrying another call's Call ID (§4.1).
    #[error("GRE packet for Call ID {got}, this call is {expected}")]
    WrongCallId { expected: u16, got: u16 },
    /// An expected reply did not arrive in time (§3, §3.1.4).
    #[error("no {} within the time limit", .0.abbrev())]
    Timeout(ControlType),
    /// Start-Control-Connection-Reply with a result other than 1 (§2.2).
    #[error("peer refused the control connection: result {result}, error {error}")]
    StartRejected { result: u8, error: u8 },
    /// The peer speaks a PPTP version below 1.0 (§3.1.1).
    #[error("unsupported PPTP protocol version {0:#06x}")]
    BadVersion(u16),
    /// A message the state tables (§3.1) do not allow here.
    #[error("unexpected {} in this state", .0.abbrev())]
    Unexpected(ControlType),
    /// The operation needs an established control connection.
    #[error("control connection is not established")]
    NotEstablished,
    /// The operation belongs to the other role (PNS vs PAC).
    #[error("operation not available to the {0:?}")]
    WrongRole(Role),
    /// No call with this Call ID (ours, or the peer's for pending calls).
    #[error("no call with Call ID {0}")]
    UnknownCall(u16),
    /// Call IDs must be unique on the tunnel (§3.2.2).
    #[error("Call ID {0} is already in use")]
    CallIdInUse(u16),
    /// [`ControlConfig::max_calls`] calls are already open.
    #[error("call limit reached")]
    TooManyCalls,
    /// The allocator kept returning Call IDs already in use.
    #[error("the Call ID allocator found no free Call ID")]
    NoFreeCallId,
}
