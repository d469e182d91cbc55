//! A whole PPP link for one PPTP call, sans-IO, as client or server:
//! the RFC 1661 §3.2 phases Establish (LCP), Authenticate ([`super::auth`]),
//! Network (IPCP, and CCP with MPPE, RFC 3078) and Terminate.
//!
//! Inputs: PPP frames from the GRE payload ([`Session::handle_frame`]),
//! IPv4 packets to send ([`Session::send_ip`]), timers
//! ([`Session::handle_timeout`]) and [`Session::close`]. Outputs: frames
//! for GRE ([`Session::poll_transmit`]), received IPv4 packets
//! ([`Session::poll_ip`]), [`SessionEvent`]s and the next deadline.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::auth::{
    AuthConfig, AuthError, AuthMethod, Authenticator, Credentials, Peer, Rng, Verdict,
    VerifyRequest,
};
use super::ccp::{Ccp, MppeMode, MppePolicy};
use super::crypto::mppe::{DEFAULT_MAX_REKEYS, Decrypter, Encrypter};
use super::crypto::mppe_keys::StartKeys;
use super::error::Error;
use super::fsm;
use super::ipcp::{Ipcp, IpcpConfig};
use super::ipv6cp::{Ipv6cp, Ipv6cpConfig};
use super::lcp::{Lcp, LcpConfig};
use crate::wire::nd::RouterAdvert;

mod data;
mod machine;
mod nd;

/// Which end of the call we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Authenticates itself, takes an address (PNS side).
    Client,
    /// Authenticates the peer, assigns an address (PAC side).
    Server,
}

/// The link phases of RFC 1661 §3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Dead,
    Establish,
    Authenticate,
    Network,
    Terminate,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Dead => "Dead",
            Phase::Establish => "Establish",
            Phase::Authenticate => "Authenticate",
            Phase::Network => "Network",
            Phase::Terminate => "Terminate",
        })
    }
}

/// Session policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// LCP policy. `require_auth` and `accept_auth` are set from `auth`
    /// by role, and `magic_seed` is drawn from the session's Rng.
    pub lcp: LcpConfig,
    /// Restart timer and counters of LCP, IPCP and CCP.
    pub fsm: fsm::Config,
    /// Methods (demanded by a server, accepted by a client), names,
    /// password and timers.
    pub auth: AuthConfig,
    /// MPPE policy; `None` disables CCP (its packets are Protocol-
    /// Rejected). MPPE needs MS-CHAP keys: with PAP or CHAP-MD5 a required
    /// MPPE fails the link.
    pub mppe: Option<MppePolicy>,
    /// IPCP policy. A server's `remote` is the pool address for this call,
    /// replaced by the user's static address when it has one.
    pub ipcp: IpcpConfig,
    /// IPV6CP policy (RFC 5072); `None` Protocol-Rejects IPV6CP and IPv6.
    /// Its `seed` is drawn from the session's Rng.
    pub ipv6: Option<Ipv6cpConfig>,
    /// Server: the Router Advertisement for this session's prefix, sent
    /// once IPv6 is up (its MTU option is set from the link).
    pub advertise: Option<RouterAdvert>,
    /// Client: solicit Router Advertisements once IPv6 is up and report
    /// them as [`SessionEvent::RouterAdvert`].
    pub solicit: bool,
    /// Bound on MPPE key changes one received packet may cost.
    pub mppe_max_rekeys: u16,
    /// MPPE runs in the kernel (`ppp_mppe` on the unit the frames pass):
    /// CCP is negotiated here but no cipher is built. The kernel hands up
    /// a compressed frame only when it could not decrypt it, which asks
    /// for a reset (stateful, RFC 3078 §8.2); a peer's Reset-Request is
    /// answered with a Reset-Ack, which the kernel watches for to flush
    /// its encrypter.
    pub kernel_mppe: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            lcp: LcpConfig::default(),
            fsm: fsm::Config::default(),
            auth: AuthConfig::default(),
            mppe: Some(MppePolicy::default()),
            ipcp: IpcpConfig::default(),
            ipv6: None,
            advertise: None,
            solicit: false,
            mppe_max_rekeys: DEFAULT_MAX_REKEYS,
            kernel_mppe: false,
        }
    }
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Authentication succeeded (either role); `user` has no domain.
    Authenticated { user: String, method: AuthMethod },
    /// Server with external authentication: the peer's credentials need a
    /// verdict, given with [`Session::complete_auth`].
    Verify(VerifyRequest),
    /// Authentication failed (either role); `Down` follows.
    AuthFailed { reason: AuthError },
    /// IPv4 can flow: IPCP is open and, when MPPE is in use, CCP too. May
    /// come again after a renegotiation. `mtu` is the largest IPv4 packet
    /// [`Session::send_ip`] takes: the peer's MRU, less the MPPE header and
    /// inner protocol (4 bytes) when encrypting.
    Up {
        local_ip: Ipv4Addr,
        remote_ip: Option<Ipv4Addr>,
        dns: [Option<Ipv4Addr>; 2],
        mtu: u16,
        mppe: Option<MppeMode>,
    },
    /// IPv6 can flow too: IPV6CP is open (after `Up`). The identifiers
    /// form the link-local addresses (RFC 5072 §5).
    Ipv6Up {
        local_id: u64,
        remote_id: Option<u64>,
    },
    /// Client: a valid Router Advertisement came from `router` (a
    /// link-local address); the first one, and every one after.
    RouterAdvert {
        router: std::net::Ipv6Addr,
        ra: RouterAdvert,
    },
    /// The link is dead (final).
    Down { reason: SessionError },
}

/// Why the session ended, or why data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// LCP negotiation failed (e.g. no common authentication method).
    #[error("LCP negotiation failed: {0}")]
    Lcp(Error),
    /// LCP gave up: the peer stopped answering.
    #[error("LCP gave up: the peer is not responding")]
    LcpTimeout,
    /// Authentication failed, in either role.
    #[error("authentication failed: {0}")]
    Auth(AuthError),
    /// MPPE is required but was not agreed (RFC 3078 §2).
    #[error("MPPE required but not negotiated: {0}")]
    Mppe(Error),
    /// MPPE is required but the authentication method yields no keys.
    #[error("MPPE required but {0:?} authentication yields no MPPE keys")]
    MppeWithoutKeys(Option<AuthMethod>),
    /// IPCP negotiation failed.
    #[error("IPCP negotiation failed: {0}")]
    Ipcp(Error),
    /// An NCP finished: the peer did not answer or closed it.
    #[error("{0} went down (no answer, or closed by the peer)")]
    NcpDown(&'static str),
    /// The peer Protocol-Rejected a protocol we cannot do without.
    #[error("peer Protocol-Rejected {0}")]
    ProtocolRejected(&'static str),
    /// The peer sent an LCP Terminate-Request before the link was up.
    #[error("peer terminated the link during the {0} phase")]
    PeerTerminated(Phase),
    /// The peer hung up a link that was up (LCP Terminate-Request): the
    /// normal end of a session.
    #[error("peer hung up")]
    PeerHungUp,
    /// The configured number of LCP Echo-Requests went unanswered.
    #[error("peer stopped answering LCP Echo-Requests")]
    KeepaliveTimeout,
    /// [`Session::close`] was called.
    #[error("link closed locally")]
    Closed,
    /// `send_ip` before the Network phase is usable.
    #[error("the link is not up")]
    NotUp,
    /// `send_ip` while MPPE is required and CCP is not open: no user data
    /// goes out unencrypted.
    #[error("MPPE is required and CCP is not open yet")]
    EncryptionNotReady,
    /// `send_ip` with an IPv6 packet while IPV6CP is not open.
    #[error("IPv6 is not negotiated on this link")]
    Ipv6NotUp,
    /// `send_ip` with a packet that is neither IPv4 nor IPv6.
    #[error("not an IPv4 or IPv6 packet")]
    NotIp,
    /// `send_ip` with a packet beyond the MTU.
    #[error("IP packet of {len} bytes exceeds the MTU of {mtu}")]
    TooLarge { len: usize, mtu: u16 },
}

/// MPPE state of both directions, alive while CCP is Opened with a mode.
#[derive(Debug)]
struct Mppe {
    mode: MppeMode,
    /// The ciphers; `None` when the kernel runs them.
    engines: Option<(Encrypter, Decrypter)>,
    /// When the last CCP Reset-Request went out.
    last_reset: Option<Instant>,
}

/// How long a server's LCP waits for the peer's first packet before it
/// starts on its own. The call's GRE reaches a PNS only once the PNS has
/// read our Outgoing-Call-Reply (RFC 2637 §2.8): one on Linux's kernel
/// data path can bind its PPTP socket only then, and a Configure-Request
/// sent with the reply would be lost there, to be sent again only when
/// the restart timer runs out (3 s). So the link counts as up (the Up
/// event, RFC 1661 §4.1) when the peer's first LCP packet arrives, or
/// after this wait for a peer that waits for us.
pub const SERVER_LCP_WAIT: Duration = Duration::from_secs(1);

/// One PPP link.
pub struct Session {
    role: Role,
    cfg: SessionConfig,
    rng: Box<dyn Rng + Send>,
    credentials: Option<Arc<dyn Credentials + Send + Sync>>,
    phase: Phase,
    lcp: Lcp,
    authenticator: Option<Authenticator>,
    peer: Option<Peer>,
    /// Keys and static address from the successful authentication.
    keys: Option<StartKeys>,
    address: Option<Ipv4Addr>,
    ipcp: Option<Ipcp>,
    ipv6cp: Option<Ipv6cp>,
    /// `Ipv6Up` was reported and still holds.
    ipv6_up: bool,
    /// Router Solicitation or Advertisement, while IPv6 is up.
    nd: Option<nd::Nd>,
    ccp: Option<Ccp>,
    /// CCP is not in use (disabled, impossible or given up) and MPPE is
    /// not required.
    ccp_skipped: bool,
    mppe: Option<Mppe>,
    up: bool,
    reason: Option<SessionError>,
    /// A Terminate-Request arrived while LCP was negotiating (it keeps
    /// trying, RFC 1661 §4.1 RTR): the reason if it then gives up.
    terminate_seen: Option<Phase>,
    /// A server's LCP is not up yet: until the peer's first LCP packet,
    /// or this instant ([`SERVER_LCP_WAIT`]).
    lcp_wait: Option<Instant>,
    /// IPCP and IPV6CP are open but not yet Up: MPPE is required, and they
    /// start once CCP is Opened or the peer sends one of their packets.
    ncp_wait: bool,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    ip_in: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("phase", &self.phase)
            .field("up", &self.up)
            .field("lcp", &self.lcp.state())
            .field("mppe", &self.mppe.as_ref().map(|m| m.mode))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A client: authenticates with `cfg.auth.name`/`password` using one
    /// of `cfg.auth.methods`. LCP starts at once (the call is up).
    pub fn client(cfg: SessionConfig, now: Instant, rng: impl Rng + Send + 'static) -> Session {
        Session::new(Role::Client, cfg, now, Box::new(rng), None)
    }

    /// A server: demands one of `cfg.auth.methods` and checks it against
    /// `credentials`.
    pub fn server(
        cfg: SessionConfig,
        now: Instant,
        rng: impl Rng + Send + 'static,
        credentials: Arc<dyn Credentials + Send + Sync>,
    ) -> Session {
        Session::new(Role::Server, cfg, now, Box::new(rng), Some(credentials))
    }

    fn new(
        role: Role,
        cfg: SessionConfig,
        now: Instant,
        mut rng: Box<dyn Rng + Send>,
        credentials: Option<Arc<dyn Credentials + Send + Sync>>,
    ) -> Session {
        let mut lcp_cfg = cfg.lcp.clone();
        let methods = cfg.auth.methods.clone();
        (lcp_cfg.require_auth, lcp_cfg.accept_auth) = match role {
            Role::Client => (Vec::new(), methods),
            Role::Server => (methods, Vec::new()),
        };
        let mut seed = [0u8; 8];
        rng.fill_bytes(&mut seed);
        lcp_cfg.magic_seed = u64::from_le_bytes(seed);
        let mut s = Session {
            role,
            lcp: Lcp::with_config(lcp_cfg, cfg.fsm),
            cfg,
            rng,
            credentials,
            phase: Phase::Establish,
            authenticator: None,
            peer: None,
            keys: None,
            address: None,
            ipcp: None,
            ipv6cp: None,
            ipv6_up: false,
            nd: None,
            ccp: None,
            ccp_skipped: false,
            mppe: None,
            up: false,
            reason: None,
            terminate_seen: None,
            lcp_wait: None,
            ncp_wait: false,
            out: VecDeque::new(),
            events: VecDeque::new(),
            ip_in: VecDeque::new(),
        };
        s.lcp.open(now);
        match role {
            Role::Client => s.lcp.up(now),
            Role::Server => s.lcp_wait = Some(now + SERVER_LCP_WAIT),
        }
        s.pump(now);
        s
    }

    /// The server's LCP starts (the Up event): the peer has spoken, or
    /// [`SERVER_LCP_WAIT`] is over.
    fn lcp_start(&mut self, now: Instant) {
        if self.lcp_wait.take().is_some() {
            self.lcp.up(now);
        }
    }

    /// The MPPE start keys of both directions, once authentication gave
    /// them: what the kernel needs when it runs MPPE.
    pub fn start_keys(&self) -> Option<StartKeys> {
        self.keys
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether IPv4 can flow (an `Up` was reported and still holds).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Whether IPv6 can flow too (an `Ipv6Up` was reported and still holds).
    pub fn is_ipv6_up(&self) -> bool {
        self.ipv6_up
    }

    /// The MPPE mode in force, if any.
    pub fn mppe_mode(&self) -> Option<MppeMode> {
        self.mppe.as_ref().map(|m| m.mode)
    }

    /// The next PPP frame to put in a GRE packet.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The next IPv4 or IPv6 packet received.
    pub fn poll_ip(&mut self) -> Option<Vec<u8>> {
        self.ip_in.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Dead {
            return None;
        }
        [
            self.lcp_wait,
            self.lcp.poll_timeout(),
            self.authenticator
                .as_ref()
                .and_then(Authenticator::poll_timeout),
            self.peer.as_ref().and_then(Peer::poll_timeout),
            self.ipcp.as_ref().and_then(Ipcp::poll_timeout),
            self.ipv6cp.as_ref().and_then(Ipv6cp::poll_timeout),
            self.ccp.as_ref().and_then(Ccp::poll_timeout),
            self.nd_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Run the timers due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Dead {
            return;
        }
        if self.lcp_wait.is_some_and(|t| t <= now) {
            self.lcp_start(now);
        }
        self.lcp.handle_timeout(now);
        if let Some(a) = &mut self.authenticator {
            a.handle_timeout(now, &mut *self.rng);
        }
        if let Some(p) = &mut self.peer {
            p.handle_timeout(now, &mut *self.rng);
        }
        if let Some(i) = &mut self.ipcp {
            i.handle_timeout(now);
        }
        if let Some(i) = &mut self.ipv6cp {
            i.handle_timeout(now);
        }
        if let Some(c) = &mut self.ccp {
            c.handle_timeout(now);
        }
        self.run_nd(now);
        self.pump(now);
    }

    /// The verdict on the credentials of [`SessionEvent::Verify`].
    pub fn complete_auth(&mut self, now: Instant, verdict: Verdict) {
        if let (Some(a), Some(creds)) = (&mut self.authenticator, &self.credentials) {
            a.complete(verdict, &**creds);
        }
        self.pump(now);
    }

    /// Terminate the link (RFC 1661 §3.7): LCP Terminate-Request, then
    /// `Down` with [`SessionError::Closed`].
    pub fn close(&mut self, now: Instant) {
        if self.phase == Phase::Dead {
            return;
        }
        self.fail(now, SessionError::Closed);
        self.pump(now);
    }
}

#[cfg(test)]
mod external_tests;
#[cfg(test)]
mod ipv6_tests;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod testnet;
#[cfg(test)]
mod tests;
