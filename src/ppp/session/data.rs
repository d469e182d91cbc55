//! Frames in and out: dispatch by protocol and phase (RFC 1661 §3.4-3.6),
//! Protocol-Reject of unknown protocols (§5.7), and IPv4 in clear or
//! inside MPPE (RFC 3078 §3) with stateful resynchronisation (§8.2).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::time::{Duration, Instant};

use super::{Mppe, Phase, Session, SessionError};
use crate::ppp::crypto::CryptoError;
use crate::ppp::frame::{Compression, Frame, Protocol};
use crate::ppp::fsm::State;
use crate::ppp::packet::Code;

/// The inner protocol field ahead of an IPv4 packet inside MPPE, sent
/// uncompressed.
const MPPE_IPV4: [u8; 2] = [0x00, 0x21];
/// The same for an IPv6 packet.
const MPPE_IPV6: [u8; 2] = [0x00, 0x57];

/// RFC 1962 §3.1 repeats the Reset-Request for every packet discarded
/// while waiting for the reset; an MPPE peer need not send a Reset-Ack to
/// stop it (RFC 3078 §8.2), so repeats are spaced at least this far apart.
const RESET_REPEAT: Duration = Duration::from_millis(250);

/// Split a decrypted MPPE payload into its (possibly PFC-compressed)
/// protocol field and data.
fn inner_protocol(plain: &[u8]) -> Option<(Protocol, &[u8])> {
    match plain {
        [p, rest @ ..] if p & 1 == 1 => Some((Protocol(u16::from(*p)), rest)),
        [hi, lo, rest @ ..] => Some((Protocol(u16::from_be_bytes([*hi, *lo])), rest)),
        _ => None,
    }
}

impl Session {
    /// Handle one PPP frame from the GRE payload. Malformed frames and
    /// frames the phase does not allow are silently discarded.
    pub fn handle_frame(&mut self, now: Instant, buf: &[u8]) {
        if self.phase == Phase::Dead {
            return;
        }
        match Frame::parse(buf) {
            Ok(f) => self.dispatch(now, f.protocol, f.payload),
            Err(e) => tracing::debug!("malformed PPP frame dropped: {e}"),
        }
        self.pump(now);
    }

    fn dispatch(&mut self, now: Instant, protocol: Protocol, payload: &[u8]) {
        if protocol == Protocol::LCP {
            self.lcp_start(now);
            let before = self.lcp.state();
            if let Err(e) = self.lcp.handle_packet(now, payload) {
                tracing::debug!("malformed LCP packet dropped: {e}");
                return;
            }
            // A Terminate-Request ends an Opened link (RFC 1661 §5.2);
            // while negotiating LCP acks it and keeps trying (§4.1).
            if payload.first() == Some(&u8::from(Code::TerminateRequest)) {
                match (before, self.lcp.state()) {
                    (State::Opened, State::Stopping) => {
                        self.set_reason(if self.up {
                            SessionError::PeerHungUp
                        } else {
                            SessionError::PeerTerminated(self.phase)
                        });
                    }
                    (State::ReqSent | State::AckRcvd | State::AckSent, _) => {
                        self.terminate_seen = Some(self.phase);
                    }
                    _ => {}
                }
            }
            return;
        }
        // Nothing but LCP until it is Opened, nothing but authentication
        // until the Network phase (RFC 1661 §3.5).
        if self.lcp.state() != State::Opened {
            return;
        }
        match (self.phase, protocol) {
            (Phase::Authenticate | Phase::Network, Protocol::PAP | Protocol::CHAP) => {
                self.auth_input(now, protocol, payload);
            }
            (Phase::Network, _) => self.network_input(now, protocol, payload),
            _ => tracing::debug!(protocol = protocol.0, phase = %self.phase, "frame discarded"),
        }
    }

    fn auth_input(&mut self, now: Instant, protocol: Protocol, payload: &[u8]) {
        if let (Some(a), Some(creds)) = (&mut self.authenticator, &self.credentials) {
            if a.protocol() == protocol {
                a.handle_packet(now, payload, &**creds);
            }
        }
        if let Some(p) = &mut self.peer {
            if p.protocol() == protocol {
                p.handle_packet(now, payload, &mut *self.rng);
            }
        }
    }

    fn network_input(&mut self, now: Instant, protocol: Protocol, payload: &[u8]) {
        if matches!(protocol, Protocol::IPCP | Protocol::IPV6CP) {
            self.ncp_start(now);
        }
        let result = match (protocol, &mut self.ipcp, &mut self.ccp) {
            (Protocol::IPCP, Some(i), _) => i.handle_packet(now, payload),
            (Protocol::CCP, _, Some(c)) => c.handle_packet(now, payload),
            (Protocol::IPCP, None, _) => Ok(()),
            (Protocol::IPV6CP, _, _) if self.ipv6cp.is_some() => match &mut self.ipv6cp {
                Some(i) => i.handle_packet(now, payload),
                None => Ok(()),
            },
            (Protocol::IPV4, _, _) => {
                self.rx_plain(now, protocol, payload);
                Ok(())
            }
            (Protocol::IPV6, _, _) if self.ipv6cp.is_some() => {
                self.rx_plain(now, protocol, payload);
                Ok(())
            }
            (Protocol::COMPRESSED, _, _) => {
                self.rx_mppe(now, payload);
                Ok(())
            }
            // CCP when we run none, and anything unknown.
            _ => {
                self.lcp.protocol_reject(protocol, payload);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::debug!(
                protocol = protocol.0,
                "malformed control packet dropped: {e}"
            );
        }
    }

    /// Whether the network protocol's NCP is open (IPCP for IPv4, IPV6CP
    /// for IPv6).
    fn ncp_open(&self, p: Protocol) -> bool {
        match p {
            Protocol::IPV4 => self
                .ipcp
                .as_ref()
                .is_some_and(|i| i.state() == State::Opened),
            Protocol::IPV6 => self
                .ipv6cp
                .as_ref()
                .is_some_and(|i| i.state() == State::Opened),
            _ => false,
        }
    }

    /// IP in clear: only when MPPE is neither in use nor required.
    fn rx_plain(&mut self, now: Instant, protocol: Protocol, payload: &[u8]) {
        if self.mppe.is_some() || self.mppe_required() {
            tracing::debug!("unencrypted IP dropped: MPPE in force");
            return;
        }
        self.deliver(now, protocol, payload);
    }

    /// A received packet of an open protocol: Neighbor Discovery for the
    /// session itself, the rest for [`Session::poll_ip`]. IPv6 only once
    /// `Ipv6Up` is out, as on the way out: IPV6CP can be open while the
    /// link is not (IPCP renegotiating, RFC 1661 §4.3), and a consumer
    /// without the event has no interface for the packet.
    fn deliver(&mut self, now: Instant, protocol: Protocol, ip: &[u8]) {
        if !self.ncp_open(protocol) || (protocol == Protocol::IPV6 && !self.ipv6_up) {
            return;
        }
        if protocol == Protocol::IPV6 && self.nd_input(now, ip) {
            return;
        }
        self.ip_in.push_back(ip.to_vec());
    }

    /// An MPPE datagram (RFC 3078 §3): decrypt, or act on the loss.
    fn rx_mppe(&mut self, now: Instant, payload: &[u8]) {
        let Some(m) = &mut self.mppe else {
            tracing::debug!("MPPE packet while CCP is not open dropped");
            return;
        };
        let Some((_, dec)) = &mut m.engines else {
            // The kernel could not decrypt it. Linux's unit then stops
            // decrypting (`SC_DC_ERROR`), stateless mode too, until it
            // sees a Reset-Ack come in: ask for one, as pppd does.
            self.reset_request(now, true);
            return;
        };
        match dec.decrypt(payload) {
            Ok(plain) => match inner_protocol(&plain) {
                Some((p @ (Protocol::IPV4 | Protocol::IPV6), ip)) => self.deliver(now, p, ip),
                Some((p, _)) => tracing::debug!(protocol = p.0, "MPPE payload dropped"),
                None => tracing::debug!("empty MPPE payload dropped"),
            },
            Err(CryptoError::NeedsReset { expected, got }) => {
                tracing::debug!(expected, got, "stateful MPPE lost sync");
                self.reset_request(now, false);
            }
            // RFC 1962 §3.1: repeat the Reset-Request while discarding.
            Err(CryptoError::AwaitingFlush) => self.reset_request(now, true),
            Err(e @ CryptoError::TooManyRekeys { .. }) => {
                tracing::warn!("MPPE lost sync: {e}");
                self.reset_request(now, false);
            }
            Err(e) => tracing::debug!("MPPE packet dropped: {e}"),
        }
    }

    /// Send a CCP Reset-Request without data (RFC 3078 §8.2); with
    /// `unless_recent`, only if the last one is [`RESET_REPEAT`] old.
    fn reset_request(&mut self, now: Instant, unless_recent: bool) {
        let (Some(m), Some(c)) = (&mut self.mppe, &mut self.ccp) else {
            return;
        };
        // A reset so late that the interval cannot be added counts as recent.
        let recent = |t: Instant| t.checked_add(RESET_REPEAT).is_none_or(|end| now < end);
        if unless_recent && m.last_reset.is_some_and(recent) {
            return;
        }
        if c.send_reset_request(&[]).is_some() {
            m.last_reset = Some(now);
        }
    }

    /// Queue an IPv4 or IPv6 packet (by its version field): inside MPPE
    /// (frame protocol 0x00FD, inner protocol 0x0021 or 0x0057) when
    /// negotiated, else as protocol 0x0021 or 0x0057 (RFC 5072 §3).
    /// Refused before `Up` (and IPv6 before `Ipv6Up`), so nothing goes out
    /// in clear while MPPE is required and CCP is not open.
    pub fn send_ip(&mut self, packet: &[u8]) -> Result<(), SessionError> {
        let (protocol, inner) = match packet.first().map(|b| b >> 4) {
            Some(4) => (Protocol::IPV4, MPPE_IPV4),
            Some(6) => (Protocol::IPV6, MPPE_IPV6),
            _ => return Err(SessionError::NotIp),
        };
        if !self.up {
            let waiting_for_ccp = self.phase == Phase::Network && self.mppe_required();
            return Err(if waiting_for_ccp {
                SessionError::EncryptionNotReady
            } else {
                SessionError::NotUp
            });
        }
        if protocol == Protocol::IPV6 && !self.ipv6_up {
            return Err(SessionError::Ipv6NotUp);
        }
        let mtu = self.mtu();
        if packet.len() > usize::from(mtu) {
            return Err(SessionError::TooLarge {
                len: packet.len(),
                mtu,
            });
        }
        match &mut self.mppe {
            Some(Mppe {
                engines: Some((enc, _)),
                ..
            }) => {
                // `packet` is at most the MTU long (checked above).
                let mut plain = Vec::with_capacity(inner.len().saturating_add(packet.len()));
                plain.extend_from_slice(&inner);
                plain.extend_from_slice(packet);
                let datagram = enc.encrypt(&plain);
                self.emit(Protocol::COMPRESSED, &datagram);
            }
            // The kernel encrypts what passes its unit.
            _ => self.emit(protocol, packet),
        }
        Ok(())
    }

    /// Frame and queue a packet, compressed as LCP negotiated.
    pub(super) fn emit(&mut self, protocol: Protocol, payload: &[u8]) {
        let comp = if self.lcp.state() == State::Opened {
            self.lcp.params().tx_compression()
        } else {
            Compression::default()
        };
        match (Frame { protocol, payload }).to_vec(comp) {
            Ok(v) => self.out.push_back(v),
            Err(e) => tracing::warn!(protocol = protocol.0, "frame not sent: {e}"),
        }
    }
}
