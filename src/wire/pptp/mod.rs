//! PPTP control connection messages (RFC 2637 §1.4, §2).
//!
//! [`Header`] is a checked view of the common 12-byte header; [`Message`]
//! is the typed form of all fifteen control messages, parsed from and
//! emitted to exactly one whole message; [`Reassembler`] cuts whole
//! messages out of a TCP byte stream.

mod codec;
mod control;
mod fixed_str;
mod header;
mod incoming;
mod message;
mod notify;
mod outgoing;
#[cfg(test)]
mod robustness;
mod stream;
#[cfg(test)]
mod testutil;

pub use control::StartControl;
pub use fixed_str::{FixedStr, Str64, Str128};
pub use header::{ControlType, HEADER_LEN, Header, MAGIC_COOKIE, MESSAGE_TYPE_CONTROL};
pub use incoming::{IncomingCallConnected, IncomingCallReply, IncomingCallRequest};
pub use message::{MAX_MESSAGE_LEN, Message};
pub use notify::{CallDisconnectNotify, WanErrorNotify};
pub use outgoing::{OutgoingCallReply, OutgoingCallRequest};
pub use stream::Reassembler;

/// Why a control message could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("message truncated: have {have} bytes, need {need}")]
    Truncated { have: usize, need: usize },
    #[error("bad magic cookie {0:#010x}")]
    BadMagic(u32),
    #[error("PPTP message type {0} is not a control message")]
    NotControl(u16),
    #[error("unknown control message type {0}")]
    UnknownType(u16),
    #[error("{ty:?} must be {expected} bytes long, length field says {got}")]
    BadLength {
        ty: ControlType,
        expected: u16,
        got: u16,
    },
    /// The buffer holds more than the one message its length field names.
    #[error("{extra} bytes after a {len}-byte message")]
    TrailingBytes { len: usize, extra: usize },
    /// `emit` was given a buffer shorter than the message.
    #[error("output buffer too small: have {have} bytes, need {need}")]
    BufferTooSmall { have: usize, need: usize },
}
