//! The phase machine (RFC 1661 §3.2): LCP's events move the link between
//! Establish, Authenticate, Network and Terminate; the authentication and
//! NCP automata report into it.

use std::time::Instant;

use super::{Mppe, Phase, Role, Session, SessionError, SessionEvent};
use crate::ppp::auth::{AuthEvent, AuthMethod, Authenticator, Peer};
use crate::ppp::ccp::{Ccp, KeyLength, MppeMode};
use crate::ppp::crypto::mppe::{self, Decrypter, Encrypter};
use crate::ppp::crypto::mppe_keys::KeyBits;
use crate::ppp::error::Error;
use crate::ppp::frame::Protocol;
use crate::ppp::fsm::{Event, State};
use crate::ppp::ipcp::Ipcp;
use crate::ppp::ipv6cp::Ipv6cp;

/// The crypto layer's name for a negotiated mode.
pub(super) fn crypto_mode(m: MppeMode) -> mppe::MppeMode {
    mppe::MppeMode {
        bits: match m.key {
            KeyLength::Bits40 => KeyBits::Bits40,
            KeyLength::Bits56 => KeyBits::Bits56,
            KeyLength::Bits128 => KeyBits::Bits128,
        },
        stateless: m.stateless,
    }
}

impl Session {
    /// Move packets and events out of the automata until they are quiet,
    /// then report `Up` if IPv4 can now flow.
    pub(super) fn pump(&mut self, now: Instant) {
        for _ in 0..1000 {
            let moved = self.drain_lcp(now)
                | self.drain_auth(now)
                | self.drain_ipcp(now)
                | self.drain_ipv6cp(now)
                | self.drain_ccp(now);
            if !moved {
                break;
            }
        }
        self.check_up(now);
    }

    /// Record why the link goes down; the first reason wins.
    pub(super) fn set_reason(&mut self, reason: SessionError) {
        if self.reason.is_none() {
            tracing::info!(role = ?self.role, "PPP link ending: {reason}");
            self.reason = Some(reason);
        }
    }

    /// Terminate the link for `reason` (RFC 1661 §3.7).
    pub(super) fn fail(&mut self, now: Instant, reason: SessionError) {
        self.set_reason(reason);
        if self.phase == Phase::Dead {
            return;
        }
        self.phase = Phase::Terminate;
        self.lcp.close(now);
        if matches!(
            self.lcp.state(),
            State::Initial | State::Closed | State::Stopped
        ) {
            self.die();
        }
    }

    /// Enter Dead and report `Down` (once).
    fn die(&mut self) {
        if self.phase == Phase::Dead {
            return;
        }
        self.phase = Phase::Dead;
        self.leave_network();
        self.authenticator = None;
        self.peer = None;
        let terminated = self.terminate_seen.map(SessionError::PeerTerminated);
        let reason = self.reason.take().or(terminated);
        let reason = reason.unwrap_or(SessionError::LcpTimeout);
        self.events.push_back(SessionEvent::Down { reason });
    }

    fn leave_network(&mut self) {
        self.ipcp = None;
        self.ipv6cp = None;
        self.ipv6_up = false;
        self.nd = None;
        self.ccp = None;
        self.ccp_skipped = false;
        self.mppe = None;
        self.up = false;
    }

    fn drain_lcp(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some(p) = self.lcp.poll_transmit() {
            moved = true;
            self.emit(Protocol::LCP, &p);
        }
        while let Some(e) = self.lcp.poll_event() {
            moved = true;
            if self.phase != Phase::Dead {
                self.on_lcp_event(now, e);
            }
        }
        moved
    }

    fn on_lcp_event(&mut self, now: Instant, e: Event) {
        match e {
            Event::Up => self.on_lcp_up(now),
            Event::Down => {
                // Renegotiation or termination: everything above LCP
                // starts over (RFC 1661 §3.4).
                self.leave_network();
                self.authenticator = None;
                self.peer = None;
                self.keys = None;
                self.address = None;
                if self.phase != Phase::Terminate {
                    self.phase = Phase::Establish;
                }
            }
            Event::Failed(err) => {
                self.set_reason(SessionError::Lcp(err));
                self.phase = Phase::Terminate;
            }
            Event::Finished => self.die(),
            Event::KeepaliveTimeout => self.fail(now, SessionError::KeepaliveTimeout),
            Event::LoopedBack => tracing::warn!("LCP: the link appears looped back"),
            Event::ProtocolRejected(p) => self.on_protocol_rejected(now, p),
            Event::Started | Event::ResetRequest { .. } | Event::ResetAck { .. } => {}
        }
    }

    /// LCP is Opened: authenticate as negotiated, or go straight to the
    /// Network phase (RFC 1661 §3.5).
    fn on_lcp_up(&mut self, now: Instant) {
        self.phase = Phase::Authenticate;
        self.terminate_seen = None;
        let params = *self.lcp.params();
        if let Some(m) = params.local.auth {
            if self.credentials.is_none() {
                return self.fail(now, SessionError::Lcp(Error::AuthRefused));
            }
            let mut a = Authenticator::new(m, &self.cfg.auth);
            a.start(now, &mut *self.rng);
            self.authenticator = Some(a);
        }
        if let Some(m) = params.remote.auth {
            let mut p = Peer::new(m, &self.cfg.auth);
            p.start(now, &mut *self.rng);
            self.peer = Some(p);
        }
        self.maybe_network(now);
    }

    fn maybe_network(&mut self, now: Instant) {
        let done = self
            .authenticator
            .as_ref()
            .is_none_or(Authenticator::succeeded)
            && self.peer.as_ref().is_none_or(Peer::succeeded);
        if self.phase == Phase::Authenticate && done {
            self.enter_network(now);
        }
    }

    /// The negotiated authentication method, if any.
    fn auth_method(&self) -> Option<AuthMethod> {
        let p = self.lcp.params();
        p.local.auth.or(p.remote.auth)
    }

    fn drain_auth(&mut self, now: Instant) -> bool {
        let mut packets = Vec::new();
        let mut events = Vec::new();
        if let Some(a) = &mut self.authenticator {
            let (protocol, method) = (a.protocol(), a.method());
            packets.extend(std::iter::from_fn(|| a.poll_transmit()).map(|p| (protocol, p)));
            events.extend(std::iter::from_fn(|| a.poll_event()).map(|e| (method, e)));
        }
        if let Some(p) = &mut self.peer {
            let (protocol, method) = (p.protocol(), p.method());
            packets.extend(std::iter::from_fn(|| p.poll_transmit()).map(|x| (protocol, x)));
            events.extend(std::iter::from_fn(|| p.poll_event()).map(|e| (method, e)));
        }
        let moved = !packets.is_empty() || !events.is_empty();
        for (protocol, p) in packets {
            self.emit(protocol, &p);
        }
        for (method, e) in events {
            match e {
                AuthEvent::AuthOk {
                    user,
                    keys,
                    address,
                } => {
                    self.keys = keys.or(self.keys);
                    self.address = address.or(self.address);
                    let ev = SessionEvent::Authenticated { user, method };
                    self.events.push_back(ev);
                    self.maybe_network(now);
                }
                AuthEvent::Verify(request) => {
                    self.events.push_back(SessionEvent::Verify(request));
                }
                AuthEvent::AuthFailed { reason } => {
                    let ev = SessionEvent::AuthFailed {
                        reason: reason.clone(),
                    };
                    self.events.push_back(ev);
                    self.fail(now, SessionError::Auth(reason));
                }
            }
        }
        moved
    }

    /// Authentication is done: start IPCP, and CCP when MPPE is possible
    /// and wanted (RFC 1661 §3.6, RFC 3078 §2). With MPPE required, IPCP
    /// and IPV6CP wait for CCP (see [`Session::ncp_start`]).
    fn enter_network(&mut self, now: Instant) {
        self.phase = Phase::Network;
        let peer_mru = self.lcp.params().remote.mru;
        match self.cfg.mppe {
            Some(policy) if self.keys.is_some() => {
                let mut c = Ccp::with_config(policy, self.cfg.fsm);
                c.set_peer_mru(peer_mru);
                c.open(now);
                c.up(now);
                self.ccp = Some(c);
            }
            Some(policy) if policy.required => {
                let method = self.auth_method();
                return self.fail(now, SessionError::MppeWithoutKeys(method));
            }
            _ => self.ccp_skipped = true,
        }
        let mut cfg = self.cfg.ipcp.clone();
        if self.role == Role::Server && self.address.is_some() {
            cfg.remote = self.address;
        }
        self.ncp_wait = self.ccp.is_some() && self.mppe_required();
        let mut i = Ipcp::with_config(cfg, self.cfg.fsm);
        i.set_peer_mru(peer_mru);
        i.open(now);
        if !self.ncp_wait {
            i.up(now);
        }
        self.ipcp = Some(i);
        if let Some(mut cfg) = self.cfg.ipv6.clone() {
            let mut seed = [0u8; 8];
            self.rng.fill_bytes(&mut seed);
            cfg.seed = u64::from_le_bytes(seed);
            let mut i6 = Ipv6cp::with_config(cfg, self.cfg.fsm);
            i6.set_peer_mru(peer_mru);
            i6.open(now);
            if !self.ncp_wait {
                i6.up(now);
            }
            self.ipv6cp = Some(i6);
        }
    }

    /// The held NCPs start (their Up event). A peer that requires MPPE,
    /// as pppd does, starts its NCPs only once CCP is Opened, and until
    /// then answers their packets with a Terminate-Ack (RFC 1661 §4.2,
    /// Closed state): an IPCP Configure-Request sent with CCP's would be
    /// lost, and IPCP would wait for the restart timer (3 s). A peer that
    /// starts them at once (Windows) makes ours start with its first one.
    pub(super) fn ncp_start(&mut self, now: Instant) {
        if !std::mem::take(&mut self.ncp_wait) {
            return;
        }
        if let Some(i) = &mut self.ipcp {
            i.up(now);
        }
        if let Some(i6) = &mut self.ipv6cp {
            i6.up(now);
        }
    }

    /// IPV6CP is optional: when it fails or the peer closes it, IPv4
    /// carries on alone.
    fn drain_ipv6cp(&mut self, _now: Instant) -> bool {
        let Some(i) = &mut self.ipv6cp else {
            return false;
        };
        let packets: Vec<_> = std::iter::from_fn(|| i.poll_transmit()).collect();
        let events: Vec<_> = std::iter::from_fn(|| i.poll_event()).collect();
        let moved = !packets.is_empty() || !events.is_empty();
        for p in packets {
            self.emit(Protocol::IPV6CP, &p);
        }
        for e in events {
            match e {
                Event::Failed(err) => tracing::info!("IPV6CP failed, IPv4 only: {err}"),
                Event::Finished => tracing::info!("IPV6CP closed, IPv4 only"),
                _ => {}
            }
        }
        moved
    }

    fn drain_ipcp(&mut self, now: Instant) -> bool {
        let Some(i) = &mut self.ipcp else {
            return false;
        };
        let packets: Vec<_> = std::iter::from_fn(|| i.poll_transmit()).collect();
        let events: Vec<_> = std::iter::from_fn(|| i.poll_event()).collect();
        let moved = !packets.is_empty() || !events.is_empty();
        for p in packets {
            self.emit(Protocol::IPCP, &p);
        }
        for e in events {
            match e {
                Event::Failed(err) => self.fail(now, SessionError::Ipcp(err)),
                // No answer, or the peer closed IPCP: no network left.
                Event::Finished => self.fail(now, SessionError::NcpDown("IPCP")),
                _ => {}
            }
        }
        moved
    }

    fn drain_ccp(&mut self, now: Instant) -> bool {
        let Some(c) = &mut self.ccp else {
            return false;
        };
        let packets: Vec<_> = std::iter::from_fn(|| c.poll_transmit()).collect();
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        let moved = !packets.is_empty() || !events.is_empty();
        for p in packets {
            self.emit(Protocol::CCP, &p);
        }
        for e in events {
            match e {
                Event::Up => {
                    self.mppe_up(now);
                    self.ncp_start(now);
                }
                Event::Down => self.mppe = None,
                Event::Failed(err) => self.ccp_gone(now, SessionError::Mppe(err)),
                Event::Finished => self.ccp_gone(now, SessionError::NcpDown("CCP")),
                // RFC 3078 §8.2: flush before the next packet. MPPE needs no
                // Reset-Ack, but Linux's `ppp_generic` does: a kernel
                // encrypter flushes on seeing ours go out, and a peer's
                // kernel decrypter, once it failed, decrypts nothing more
                // until one comes in (pppd always sends it, RFC 1962 §2.2).
                Event::ResetRequest { identifier, .. } => {
                    let Some(m) = &mut self.mppe else { continue };
                    if let Some((enc, _)) = &mut m.engines {
                        enc.reset();
                    }
                    // Sent by the next round of `pump`.
                    if let Some(c) = &mut self.ccp {
                        c.send_reset_ack(identifier, &[]);
                    }
                }
                Event::ResetAck { .. } => tracing::debug!("CCP Reset-Ack (not needed by MPPE)"),
                _ => {}
            }
        }
        moved
    }

    /// CCP failed: fatal when MPPE is required, else carry on in clear.
    fn ccp_gone(&mut self, now: Instant, reason: SessionError) {
        self.mppe = None;
        if self.mppe_required() {
            self.fail(now, reason);
        } else {
            tracing::info!("continuing without MPPE: {reason}");
            self.ccp_skipped = true;
        }
    }

    /// CCP is Opened: set up the MPPE engines from the start keys.
    fn mppe_up(&mut self, now: Instant) {
        let mode = self.ccp.as_ref().and_then(|c| c.params().mode());
        let (Some(mode), Some(keys)) = (mode, self.keys) else {
            if self.mppe_required() {
                let e = Error::MppeRefused("MPPE not negotiated");
                self.fail(now, SessionError::Mppe(e));
            }
            return;
        };
        if self.cfg.kernel_mppe {
            tracing::info!(?mode, "MPPE enabled (in the kernel)");
            self.mppe = Some(Mppe {
                mode,
                engines: None,
                last_reset: None,
            });
            return;
        }
        let m = crypto_mode(mode);
        let engines = Encrypter::new(&keys.send, m).and_then(|enc| {
            let dec = Decrypter::new(&keys.receive, m)?;
            Ok((enc, dec.with_max_rekeys(self.cfg.mppe_max_rekeys)))
        });
        match engines {
            Ok(engines) => {
                tracing::info!(?mode, "MPPE enabled");
                self.mppe = Some(Mppe {
                    mode,
                    engines: Some(engines),
                    last_reset: None,
                });
            }
            Err(e) => {
                tracing::warn!("MPPE keys unusable: {e}");
                let e = Error::MppeRefused("unusable keys");
                self.fail(now, SessionError::Mppe(e));
            }
        }
    }

    fn on_protocol_rejected(&mut self, now: Instant, p: Protocol) {
        match p {
            Protocol::CCP => {
                self.ccp = None;
                self.ccp_gone(now, SessionError::ProtocolRejected("CCP"));
            }
            Protocol::IPCP => self.fail(now, SessionError::ProtocolRejected("IPCP")),
            Protocol::IPV6CP => {
                tracing::info!("peer Protocol-Rejected IPV6CP: IPv4 only");
                self.ipv6cp = None;
                self.ipv6_up = false;
                self.nd = None;
            }
            other => tracing::debug!(protocol = other.0, "peer Protocol-Rejected"),
        }
    }

    pub(super) fn mppe_required(&self) -> bool {
        self.cfg.mppe.is_some_and(|p| p.required)
    }

    /// Whether IPv4 may be sent now.
    fn data_ready(&self) -> bool {
        let ipcp_open = self
            .ipcp
            .as_ref()
            .is_some_and(|i| i.state() == State::Opened && i.params().local.is_some());
        if self.phase != Phase::Network || !ipcp_open {
            return false;
        }
        if self.mppe.is_some() {
            return true;
        }
        !self.mppe_required()
            && (self.ccp_skipped || self.ccp.as_ref().is_none_or(|c| c.state() == State::Opened))
    }

    /// The largest IPv4 packet the peer's MRU allows (RFC 1661 §6.1),
    /// less MPPE's header and inner protocol field when encrypting.
    pub(super) fn mtu(&self) -> u16 {
        let mru = self.lcp.params().remote.mru;
        match self.mppe {
            Some(_) => mru.saturating_sub(4),
            None => mru,
        }
    }

    fn check_up(&mut self, now: Instant) {
        let ready = self.data_ready();
        if ready && !self.up {
            self.up = true;
            let Some(p) = self.ipcp.as_ref().map(|i| *i.params()) else {
                return;
            };
            let Some(local_ip) = p.local else {
                return;
            };
            tracing::info!(role = ?self.role, %local_ip, remote = ?p.remote, "PPP link up");
            self.events.push_back(SessionEvent::Up {
                local_ip,
                remote_ip: p.remote,
                dns: p.dns,
                mtu: self.mtu(),
                mppe: self.mppe.as_ref().map(|m| m.mode),
            });
        } else if !ready {
            self.up = false;
        }
        let v6 = self
            .ipv6cp
            .as_ref()
            .filter(|i| self.up && i.state() == State::Opened)
            .map(|i| *i.params());
        match v6 {
            Some(p) if !self.ipv6_up => {
                let Some(local_id) = p.local else { return };
                self.ipv6_up = true;
                tracing::info!(role = ?self.role, local = %crate::ppp::ipv6cp::link_local(local_id),
                    remote = ?p.remote.map(crate::ppp::ipv6cp::link_local), "IPv6 up");
                self.events.push_back(SessionEvent::Ipv6Up {
                    local_id,
                    remote_id: p.remote,
                });
                self.start_nd(now, local_id);
            }
            Some(_) => {}
            None => {
                self.ipv6_up = false;
                self.nd = None;
            }
        }
    }
}
