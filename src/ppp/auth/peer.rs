//! The authenticatee role: sends PAP Authenticate-Requests until answered
//! (RFC 1334 §2.2.1) or answers CHAP Challenges (RFC 1994 §4.1), checking
//! an MS-CHAPv2 server's authenticator response (RFC 2759 §5).

use std::collections::VecDeque;
use std::time::Instant;

use super::wire::{ChapPacket, PapPacket};
use super::{
    AuthConfig, AuthError, AuthEvent, AuthMethod, Rng, password_hash_hash, random_u8, user_of,
};
use crate::ppp::crypto::chap::chap_md5_response;
use crate::ppp::crypto::messages::FailureMessage;
use crate::ppp::crypto::mppe_keys::{StartKeys, mschapv1_start_keys, mschapv2_start_keys};
use crate::ppp::crypto::mschap::MsChapV1Response;
use crate::ppp::crypto::mschapv2::{MsChapV2Response, check_authenticator_response};
use crate::ppp::frame::Protocol;

/// Challenges remembered, so that a duplicated Challenge gets the very
/// same Response and a late Success can still be checked.
const HISTORY: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Waiting,
    Succeeded,
    Failed,
}

/// One Challenge answered.
#[derive(Debug, Clone)]
struct Answer {
    identifier: u8,
    challenge: Vec<u8>,
    packet: Vec<u8>,
    v2: Option<MsChapV2Response>,
}

/// The side that authenticates itself, with `config.name` and
/// `config.password`.
#[derive(Debug)]
pub struct Peer {
    method: AuthMethod,
    config: AuthConfig,
    state: State,
    deadline: Option<Instant>,
    tries: u8,
    /// PAP: the first Identifier used and how many requests were sent.
    first_id: u8,
    sent: u8,
    answers: VecDeque<Answer>,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<AuthEvent>,
}

impl Peer {
    /// A peer authenticating with `method`.
    pub fn new(method: AuthMethod, config: &AuthConfig) -> Self {
        Peer {
            method,
            config: config.clone(),
            state: State::Idle,
            deadline: None,
            tries: 0,
            first_id: 0,
            sent: 0,
            answers: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The method being used.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// The PPP protocol of the packets exchanged.
    pub fn protocol(&self) -> Protocol {
        self.method.protocol()
    }

    /// Whether the authenticator accepted us.
    pub fn succeeded(&self) -> bool {
        self.state == State::Succeeded
    }

    /// Enter the Authenticate phase: send PAP's first request, or wait for
    /// a Challenge.
    pub fn start(&mut self, now: Instant, rng: &mut dyn Rng) {
        if self.state != State::Idle {
            return;
        }
        self.state = State::Waiting;
        if self.method == AuthMethod::Pap {
            self.first_id = random_u8(rng);
            self.send_pap_request(now);
        } else {
            self.deadline = Some(now + self.config.patience());
        }
    }

    /// Each request gets a new Identifier (RFC 1334 §2.2.1).
    fn send_pap_request(&mut self, now: Instant) {
        let packet = PapPacket::Request {
            identifier: self.first_id.wrapping_add(self.sent),
            peer_id: self.config.name.as_bytes(),
            password: self.config.password.as_bytes(),
        };
        match packet.to_vec() {
            Ok(p) => self.out.push_back(p),
            Err(e) => return self.fail(AuthError::Encoding(e)),
        }
        self.sent = self.sent.saturating_add(1);
        self.tries = self.sent;
        self.deadline = Some(now + self.config.restart);
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<AuthEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Retransmit the request or Response, or give up.
    pub fn handle_timeout(&mut self, now: Instant, _rng: &mut dyn Rng) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        if self.state != State::Waiting {
            return;
        }
        let max = self.config.max_tries;
        if self.method == AuthMethod::Pap {
            if self.tries < max {
                self.send_pap_request(now);
            } else {
                self.fail(AuthError::Timeout("PAP Authenticate-Ack", max));
            }
            return;
        }
        match self.answers.back() {
            None => self.fail(AuthError::Timeout("CHAP Challenge", max)),
            Some(a) if self.tries < max => {
                // The authenticator allows repeated Responses (RFC 1994 §4.2).
                self.out.push_back(a.packet.clone());
                self.tries += 1;
                self.deadline = Some(now + self.config.restart);
            }
            Some(_) => self.fail(AuthError::Timeout("CHAP Success or Failure", max)),
        }
    }

    fn fail(&mut self, reason: AuthError) {
        tracing::info!(method = ?self.method, "authentication failed: {reason}");
        self.state = State::Failed;
        self.deadline = None;
        self.events.push_back(AuthEvent::AuthFailed { reason });
    }

    fn succeed(&mut self, keys: Option<StartKeys>) {
        tracing::info!(method = ?self.method, "authenticated to the peer");
        self.state = State::Succeeded;
        self.deadline = None;
        self.events.push_back(AuthEvent::AuthOk {
            user: user_of(self.config.name.as_bytes()),
            keys,
            address: None,
        });
    }

    /// Handle a received packet of [`Peer::protocol`]. Packets for the
    /// other role and malformed ones are silently discarded.
    pub fn handle_packet(&mut self, now: Instant, buf: &[u8], rng: &mut dyn Rng) {
        if matches!(self.state, State::Idle | State::Failed) {
            return;
        }
        if self.method == AuthMethod::Pap {
            match PapPacket::parse(buf) {
                Ok(PapPacket::Ack { identifier, .. }) if self.pap_id_sent(identifier) => {
                    self.succeed(None);
                }
                Ok(PapPacket::Nak {
                    identifier,
                    message,
                }) if self.pap_id_sent(identifier) => self.fail(AuthError::Rejected {
                    code: None,
                    message: String::from_utf8_lossy(message).into_owned(),
                }),
                Ok(_) => {}
                Err(e) => tracing::debug!("malformed PAP packet dropped: {e}"),
            }
            return;
        }
        match ChapPacket::parse(buf) {
            Ok(ChapPacket::Challenge {
                identifier, value, ..
            }) => self.answer(now, identifier, value, rng),
            Ok(ChapPacket::Success {
                identifier,
                message,
            }) => self.success(identifier, message),
            Ok(ChapPacket::Failure {
                identifier,
                message,
            }) => self.failure(identifier, message),
            Ok(_) => {}
            Err(e) => tracing::debug!("malformed CHAP packet dropped: {e}"),
        }
    }

    /// Whether `id` is the Identifier of one of our PAP requests, while
    /// still waiting for the answer.
    fn pap_id_sent(&self, id: u8) -> bool {
        self.state == State::Waiting && id.wrapping_sub(self.first_id) < self.sent
    }

    /// Answer a Challenge; a repeated one gets the same Response.
    fn answer(&mut self, now: Instant, id: u8, challenge: &[u8], rng: &mut dyn Rng) {
        let known = self
            .answers
            .iter()
            .find(|a| a.identifier == id && a.challenge == challenge);
        if let Some(a) = known {
            self.out.push_back(a.packet.clone());
            return;
        }
        let password = self.config.password.as_str();
        let user = self.config.name.as_bytes();
        let (value, v2) = match (self.method, challenge.len()) {
            (AuthMethod::ChapMd5, 1..) => (
                chap_md5_response(id, password.as_bytes(), challenge).to_vec(),
                None,
            ),
            (AuthMethod::MsChapV1, 8) => {
                let c: [u8; 8] = challenge.try_into().unwrap_or_default();
                (
                    MsChapV1Response::generate(&c, password).to_bytes().to_vec(),
                    None,
                )
            }
            (AuthMethod::MsChapV2, 16) => {
                let c: [u8; 16] = challenge.try_into().unwrap_or_default();
                let mut peer_challenge = [0u8; 16];
                rng.fill_bytes(&mut peer_challenge);
                let r = MsChapV2Response::generate(&c, &peer_challenge, user, password);
                (r.to_bytes().to_vec(), Some(r))
            }
            (m, len) => {
                tracing::debug!(method = ?m, len, "Challenge of the wrong size dropped");
                return;
            }
        };
        let packet = ChapPacket::Response {
            identifier: id,
            value: &value,
            name: user,
        };
        let packet = match packet.to_vec() {
            Ok(p) => p,
            Err(e) => return self.fail(AuthError::Encoding(e)),
        };
        self.out.push_back(packet.clone());
        if self.answers.len() >= HISTORY {
            self.answers.pop_front();
        }
        self.answers.push_back(Answer {
            identifier: id,
            challenge: challenge.to_vec(),
            packet,
            v2,
        });
        if self.state == State::Waiting {
            self.tries = 1;
            self.deadline = Some(now + self.config.restart);
        }
    }

    /// The newest Challenge answered under `id`.
    fn answered(&self, id: u8) -> Option<&Answer> {
        self.answers.iter().rev().find(|a| a.identifier == id)
    }

    fn success(&mut self, id: u8, message: &[u8]) {
        if self.state != State::Waiting {
            return;
        }
        let Some(a) = self.answered(id).cloned() else {
            tracing::debug!(id, "CHAP Success for no Response of ours dropped");
            return;
        };
        let password = self.config.password.as_str();
        let keys = match (self.method, a.v2) {
            (AuthMethod::MsChapV2, Some(r)) => {
                let challenge: [u8; 16] = a.challenge.as_slice().try_into().unwrap_or_default();
                let user = self.config.name.as_bytes();
                let ok = check_authenticator_response(
                    password,
                    &r.nt_response,
                    &r.peer_challenge,
                    &challenge,
                    user,
                    message,
                );
                if !ok {
                    return self.fail(AuthError::MutualAuthFailed);
                }
                let hash_hash = password_hash_hash(password);
                Some(mschapv2_start_keys(&hash_hash, &r.nt_response, false))
            }
            (AuthMethod::MsChapV1, _) => {
                let challenge: [u8; 8] = a.challenge.as_slice().try_into().unwrap_or_default();
                Some(mschapv1_start_keys(
                    &challenge,
                    &password_hash_hash(password),
                ))
            }
            _ => None,
        };
        self.succeed(keys);
    }

    fn failure(&mut self, id: u8, message: &[u8]) {
        if self.state != State::Waiting || self.answered(id).is_none() {
            return;
        }
        let reason = match self.method {
            AuthMethod::MsChapV1 | AuthMethod::MsChapV2 => {
                let f = FailureMessage::parse(message);
                AuthError::Rejected {
                    code: f.error,
                    message: f
                        .message
                        .unwrap_or_else(|| String::from_utf8_lossy(message).into_owned()),
                }
            }
            _ => AuthError::Rejected {
                code: None,
                message: String::from_utf8_lossy(message).into_owned(),
            },
        };
        self.fail(reason);
    }
}
