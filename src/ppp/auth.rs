//! PPP authentication (RFC 1661 §3.5, the Authenticate phase), sans-IO, in
//! both roles: the [`Authenticator`] (server side) and the [`Peer`] that
//! authenticates itself (client side), for PAP (RFC 1334), CHAP-MD5
//! (RFC 1994), MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759).
//!
//! Inputs are received packets (the PPP Information field of protocol
//! 0xC023 or 0xC223) and `handle_timeout`; outputs are packets
//! (`poll_transmit`), [`AuthEvent`]s (`poll_event`) and the restart
//! deadline (`poll_timeout`). Randomness (challenges, MS-CHAPv2 peer
//! challenges) comes from the caller's [`Rng`], user secrets from the
//! caller's [`Credentials`]. MS-CHAP methods yield the MPPE start keys
//! (RFC 3079) on success.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::crypto::mppe_keys::StartKeys;
use super::crypto::{messages, mschap, mschapv2};
use crate::ratelimit::Untrusted;

pub use super::lcp::AuthMethod;

mod authenticator;
mod peer;
pub mod wire;

pub use authenticator::Authenticator;
pub use peer::Peer;

/// A source of random bytes supplied by the caller (challenges must be
/// unpredictable, RFC 1994 §2.3). Any `FnMut(&mut [u8])` is one.
pub trait Rng {
    /// Fill `dest` with random bytes.
    fn fill_bytes(&mut self, dest: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Rng for F {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self(dest)
    }
}

/// Draw one random byte (e.g. a first Identifier).
pub(crate) fn random_u8(rng: &mut dyn Rng) -> u8 {
    let mut b = [0u8; 1];
    rng.fill_bytes(&mut b);
    b[0]
}

/// What the authenticator knows about one user.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The clear-text password (CHAP needs it, RFC 1994 §2.2).
    pub password: String,
    /// A static address for this user, handed out by IPCP instead of the
    /// pool's (RFC 1332 §3.3).
    pub address: Option<Ipv4Addr>,
}

impl Secret {
    /// A password without a static address.
    pub fn new(password: &str) -> Self {
        Secret {
            password: password.to_owned(),
            address: None,
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The authenticator's user database. `user` never carries a "DOMAIN\"
/// prefix (RFC 2759 §4: it is stripped before the lookup). Any
/// `Fn(&str) -> Option<Secret>` is one.
pub trait Credentials {
    /// The secret of `user`, or `None` for an unknown user.
    fn secret(&self, user: &str) -> Option<Secret>;
}

impl<F: Fn(&str) -> Option<Secret>> Credentials for F {
    fn secret(&self, user: &str) -> Option<Secret> {
        self(user)
    }
}

impl Credentials for std::collections::HashMap<String, Secret> {
    fn secret(&self, user: &str) -> Option<Secret> {
        self.get(user).cloned()
    }
}

/// Authentication policy and timers, for either role.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Authenticator: the methods the peer must use, most wanted first
    /// (empty: none). Peer: the methods we accept, best first.
    pub methods: Vec<AuthMethod>,
    /// Authenticator: our name in CHAP Challenges. Peer: the user name.
    pub name: String,
    /// Peer: the password (unused by the authenticator).
    pub password: String,
    /// Retransmission period (the restart timer of RFC 1334 §2.2.1 and
    /// RFC 1994 §4.1; 3 s by default).
    pub restart: Duration,
    /// Transmissions before giving up (10 by default).
    pub max_tries: u8,
    /// Authenticator: hand the peer's credentials out as
    /// [`AuthEvent::Verify`] (to RADIUS) and wait for
    /// [`Authenticator::complete`], instead of checking them with
    /// [`Credentials`].
    pub external: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            methods: Vec::new(),
            name: String::new(),
            password: String::new(),
            restart: Duration::from_secs(3),
            max_tries: 10,
            external: false,
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("methods", &self.methods)
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("max_tries", &self.max_tries)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// How long a side waits for the other to start (or finish) before
    /// giving up: every try's restart period.
    pub(crate) fn patience(&self) -> Duration {
        self.restart * u32::from(self.max_tries.max(1))
    }
}

/// What an authentication exchange reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEvent {
    /// Authentication succeeded. `user` is the authenticated name without
    /// any domain; `keys` are the MPPE start keys (MS-CHAP only);
    /// `address` is the user's static address (authenticator only).
    AuthOk {
        user: String,
        keys: Option<StartKeys>,
        address: Option<Ipv4Addr>,
    },
    /// Authentication failed; the link should be terminated.
    AuthFailed { reason: AuthError },
    /// With [`AuthConfig::external`]: these credentials need a verdict.
    Verify(VerifyRequest),
}

/// The peer's credentials, for a verdict from elsewhere (RADIUS, RFC 2865
/// §5.2-5.3, RFC 2548 §2.1-2.3).
#[derive(Clone, PartialEq, Eq)]
pub enum VerifyRequest {
    Pap {
        /// The name as the peer sent it.
        name: String,
        password: Vec<u8>,
    },
    Chap {
        method: AuthMethod,
        /// The name as the peer sent it (a "DOMAIN\\" prefix kept).
        name: String,
        identifier: u8,
        challenge: Vec<u8>,
        /// The Response Value.
        response: Vec<u8>,
    },
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyRequest::Pap { name, .. } => write!(f, "Pap({name:?}, <password>)"),
            VerifyRequest::Chap { method, name, .. } => write!(f, "Chap({method:?}, {name:?})"),
        }
    }
}

/// The verdict on a [`VerifyRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `message` is the text of the Success or Ack packet: for MS-CHAPv2
    /// the `S=` authenticator response (RFC 2759 §5); `keys` are MPPE's.
    Accept {
        keys: Option<StartKeys>,
        address: Option<Ipv4Addr>,
        message: Vec<u8>,
    },
    /// `message`, if given, is the Failure text as is (for MS-CHAP,
    /// `E=691 R=0 ...`, RFC 2759 §6); else the usual one.
    Reject {
        message: Option<Vec<u8>>,
        why: &'static str,
    },
    /// Check them with the local [`Credentials`] after all (RADIUS did not
    /// answer and the fallback is on).
    Local,
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Authenticator: the peer's credentials were refused.
    #[error("authentication of user {user:?} failed: {why}")]
    Denied { user: String, why: &'static str },
    /// Peer: the authenticator sent a PAP Authenticate-Nak or a CHAP
    /// Failure; `code` is the MS-CHAP `E=` value (RFC 2759 §6).
    #[error("{}", rejected_text(*.code, .message))]
    Rejected { code: Option<u32>, message: String },
    /// Peer, MS-CHAPv2: the Success packet's authenticator response is
    /// missing or wrong, so the server does not know our password
    /// (RFC 2759 §5: the peer MUST end the session).
    #[error("MS-CHAPv2 authenticator response missing or wrong: mutual authentication failed")]
    MutualAuthFailed,
    /// No answer after every retransmission.
    #[error("no {0} from the other side after {1} tries")]
    Timeout(&'static str, u8),
    /// Our own user name or password cannot be encoded (PAP fields hold
    /// at most 255 bytes).
    #[error("credentials cannot be encoded: {0}")]
    Encoding(super::error::Error),
}

/// "E=691 authentication failure: <message>" for MS-CHAP errors, the bare
/// message otherwise.
fn rejected_text(code: Option<u32>, message: &str) -> String {
    let Some(code) = code else {
        return format!(
            "authentication rejected by the authenticator: {}",
            Untrusted(message)
        );
    };
    let what = match code {
        messages::ERROR_RESTRICTED_LOGON_HOURS => "restricted logon hours",
        messages::ERROR_ACCT_DISABLED => "account disabled",
        messages::ERROR_PASSWD_EXPIRED => "password expired",
        messages::ERROR_NO_DIALIN_PERMISSION => "no dial-in permission",
        messages::ERROR_AUTHENTICATION_FAILURE => "authentication failure",
        messages::ERROR_CHANGING_PASSWORD => "error changing password",
        _ => "error",
    };
    format!("E={code} {what}: {}", Untrusted(message))
}

/// The MD4 of the NT password hash (RFC 2759 §8.4), the MPPE key secret.
fn password_hash_hash(password: &str) -> [u8; 16] {
    mschap::hash_nt_password_hash(&mschap::nt_password_hash(password))
}

/// The user name as looked up and reported: without "DOMAIN\", lossily
/// decoded.
fn user_of(name: &[u8]) -> String {
    String::from_utf8_lossy(mschapv2::strip_domain(name)).into_owned()
}

/// The challenge length an authenticator sends for a CHAP method.
fn challenge_len(method: AuthMethod) -> usize {
    match method {
        AuthMethod::MsChapV1 => 8,
        _ => 16,
    }
}

#[cfg(test)]
mod tests;
