//! The authenticator role: demands PAP credentials (RFC 1334 §2.2.1) or
//! sends CHAP Challenges (RFC 1994 §4.1, RFC 2433 §5, RFC 2759 §3) and
//! judges what comes back with the caller's [`Credentials`].

use std::collections::VecDeque;
use std::time::Instant;

use super::wire::{ChapPacket, PapPacket};
use super::{
    AuthConfig, AuthError, AuthEvent, AuthMethod, Credentials, Rng, Verdict, VerifyRequest,
    challenge_len, password_hash_hash, random_u8, user_of,
};
use crate::ppp::crypto::chap::verify_chap_md5;
use crate::ppp::crypto::ct_eq;
use crate::ppp::crypto::messages::{
    ERROR_AUTHENTICATION_FAILURE, FailureChallenge, FailureMessage, SuccessMessage,
};
use crate::ppp::crypto::mppe_keys::{StartKeys, mschapv1_start_keys, mschapv2_start_keys};
use crate::ppp::crypto::mschap::{MsChapV1Response, hash_nt_password_hash, nt_password_hash};
use crate::ppp::crypto::mschapv2::MsChapV2Response;
use crate::ppp::frame::Protocol;

/// The human-readable text of our Success and Ack packets.
const GRANTED: &str = "Access granted";
/// The human-readable text of our Failure and Nak packets.
const DENIED: &str = "Authentication failed";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Waiting,
    /// The credentials are out for a verdict; repeats get no answer yet.
    Verifying,
    Succeeded,
    Failed,
}

/// What a verified request or response earns.
struct Granted {
    keys: Option<StartKeys>,
    address: Option<std::net::Ipv4Addr>,
    message: Vec<u8>,
}

/// The authenticating side of one exchange.
#[derive(Debug)]
pub struct Authenticator {
    method: AuthMethod,
    config: AuthConfig,
    state: State,
    identifier: u8,
    challenge: Vec<u8>,
    tries: u8,
    deadline: Option<Instant>,
    /// The reply that settled the exchange, repeated for retransmitted
    /// Requests/Responses (RFC 1334 §2.2.1, RFC 1994 §4.2).
    reply: Vec<u8>,
    /// While verifying: the Identifier to answer, the user, and the
    /// Response Value and name (for a local check after all).
    verifying: Option<(u8, String)>,
    verifying_response: (Vec<u8>, Vec<u8>),
    out: VecDeque<Vec<u8>>,
    events: VecDeque<AuthEvent>,
}

impl Authenticator {
    /// An authenticator for `method`; `config.name` is sent in Challenges.
    pub fn new(method: AuthMethod, config: &AuthConfig) -> Self {
        Authenticator {
            method,
            config: config.clone(),
            state: State::Idle,
            identifier: 0,
            challenge: Vec::new(),
            tries: 0,
            deadline: None,
            reply: Vec::new(),
            verifying: None,
            verifying_response: (Vec::new(), Vec::new()),
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

    /// Whether the peer was authenticated.
    pub fn succeeded(&self) -> bool {
        self.state == State::Succeeded
    }

    /// Enter the Authenticate phase: wait for PAP's Authenticate-Request,
    /// or send the first Challenge.
    pub fn start(&mut self, now: Instant, rng: &mut dyn Rng) {
        if self.state != State::Idle {
            return;
        }
        self.state = State::Waiting;
        if self.method == AuthMethod::Pap {
            self.deadline = Some(now + self.config.patience());
        } else {
            self.identifier = random_u8(rng);
            self.send_challenge(now, rng);
        }
    }

    /// A fresh challenge under the current Identifier (RFC 1994 §2.3).
    fn send_challenge(&mut self, now: Instant, rng: &mut dyn Rng) {
        self.tries = self.tries.saturating_add(1);
        self.challenge = vec![0; challenge_len(self.method)];
        rng.fill_bytes(&mut self.challenge);
        let packet = ChapPacket::Challenge {
            identifier: self.identifier,
            value: &self.challenge,
            name: self.config.name.as_bytes(),
        };
        self.queue(packet.to_vec());
        self.deadline = Some(now + self.config.restart);
    }

    fn queue(&mut self, packet: Result<Vec<u8>, crate::ppp::error::Error>) {
        match packet {
            Ok(p) => self.out.push_back(p),
            Err(e) => tracing::warn!("authentication packet not sent: {e}"),
        }
    }

    /// The next packet to send (the Information field of a frame of
    /// [`Authenticator::protocol`]).
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

    /// Retransmit a Challenge (with a new Identifier, RFC 1994 §4.1), or
    /// give up.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut dyn Rng) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        if self.state != State::Waiting {
            return;
        }
        if self.method == AuthMethod::Pap {
            self.fail_timeout("Authenticate-Request");
        } else if self.tries < self.config.max_tries {
            self.identifier = self.identifier.wrapping_add(1);
            self.send_challenge(now, rng);
        } else {
            self.fail_timeout("CHAP Response");
        }
    }

    fn fail_timeout(&mut self, what: &'static str) {
        tracing::info!(method = ?self.method, "peer did not authenticate");
        self.state = State::Failed;
        let reason = AuthError::Timeout(what, self.config.max_tries);
        self.events.push_back(AuthEvent::AuthFailed { reason });
    }

    /// Handle a received packet of [`Authenticator::protocol`]. Packets
    /// for the other role and malformed ones are silently discarded.
    pub fn handle_packet(&mut self, _now: Instant, buf: &[u8], creds: &dyn Credentials) {
        if self.state == State::Idle {
            return;
        }
        if self.method == AuthMethod::Pap {
            match PapPacket::parse(buf) {
                Ok(PapPacket::Request {
                    identifier,
                    peer_id,
                    password,
                }) => self.pap_request(identifier, peer_id, password, creds),
                Ok(_) => {}
                Err(e) => tracing::debug!("malformed PAP packet dropped: {e}"),
            }
            return;
        }
        match ChapPacket::parse(buf) {
            Ok(ChapPacket::Response {
                identifier,
                value,
                name,
            }) => self.chap_response(identifier, value, name, creds),
            Ok(_) => {}
            Err(e) => tracing::debug!("malformed CHAP packet dropped: {e}"),
        }
    }

    fn pap_request_local(
        &mut self,
        id: u8,
        peer_id: &[u8],
        password: &[u8],
        creds: &dyn Credentials,
    ) {
        let external = std::mem::replace(&mut self.config.external, false);
        self.pap_request(id, peer_id, password, creds);
        self.config.external = external;
    }

    fn chap_response_local(&mut self, id: u8, value: &[u8], name: &[u8], creds: &dyn Credentials) {
        let external = std::mem::replace(&mut self.config.external, false);
        self.chap_response(id, value, name, creds);
        self.config.external = external;
    }

    fn pap_request(&mut self, id: u8, peer_id: &[u8], password: &[u8], creds: &dyn Credentials) {
        let user = user_of(peer_id);
        if self.state == State::Verifying {
            return;
        }
        if self.state == State::Waiting && self.config.external {
            self.state = State::Verifying;
            self.deadline = None;
            self.verifying = Some((id, user));
            self.verifying_response = (password.to_vec(), peer_id.to_vec());
            let name = String::from_utf8_lossy(peer_id).into_owned();
            let password = password.to_vec();
            self.events
                .push_back(AuthEvent::Verify(VerifyRequest::Pap { name, password }));
            return;
        }
        if self.state == State::Waiting {
            let verdict = match creds.secret(&user) {
                Some(s) if ct_eq(s.password.as_bytes(), password) => Ok(Granted {
                    keys: None,
                    address: s.address,
                    message: GRANTED.into(),
                }),
                Some(_) => Err("wrong password"),
                None => Err("unknown user"),
            };
            self.settle(user, verdict);
        }
        // The same reply Code for every repeated request (§2.2.1).
        let message = self.reply.as_slice();
        let packet = if self.state == State::Succeeded {
            PapPacket::Ack {
                identifier: id,
                message,
            }
        } else {
            PapPacket::Nak {
                identifier: id,
                message,
            }
        };
        let packet = packet.to_vec();
        self.queue(packet);
    }

    fn chap_response(&mut self, id: u8, value: &[u8], name: &[u8], creds: &dyn Credentials) {
        if id != self.identifier {
            tracing::debug!(id, "CHAP Response to another Challenge dropped");
            return;
        }
        if self.state == State::Verifying {
            return;
        }
        if self.state == State::Waiting && self.config.external {
            self.state = State::Verifying;
            self.deadline = None;
            self.verifying = Some((id, user_of(name)));
            self.verifying_response = (value.to_vec(), name.to_vec());
            self.events
                .push_back(AuthEvent::Verify(VerifyRequest::Chap {
                    method: self.method,
                    name: String::from_utf8_lossy(name).into_owned(),
                    identifier: id,
                    challenge: self.challenge.clone(),
                    response: value.to_vec(),
                }));
            return;
        }
        if self.state == State::Waiting {
            let verdict = self.verify_chap(id, value, name, creds);
            self.settle(user_of(name), verdict);
        }
        // Repeated Responses get the same reply (RFC 1994 §4.2).
        let message = self.reply.as_slice();
        let packet = if self.state == State::Succeeded {
            ChapPacket::Success {
                identifier: id,
                message,
            }
        } else {
            ChapPacket::Failure {
                identifier: id,
                message,
            }
        };
        let packet = packet.to_vec();
        self.queue(packet);
    }

    /// The verdict on the credentials given out with [`AuthEvent::Verify`]:
    /// settle and answer the peer. Ignored unless one is awaited.
    /// `creds` serve a [`Verdict::Local`].
    pub fn complete(&mut self, verdict: Verdict, creds: &dyn Credentials) {
        let Some((id, user)) = self.verifying.take() else {
            return;
        };
        if self.state != State::Verifying {
            return;
        }
        if verdict == Verdict::Local {
            let (value, name) = std::mem::take(&mut self.verifying_response);
            self.state = State::Waiting;
            if self.method == AuthMethod::Pap {
                return self.pap_request_local(id, &name, &value, creds);
            }
            return self.chap_response_local(id, &value, &name, creds);
        }
        let custom = match &verdict {
            Verdict::Reject {
                message: Some(m), ..
            } => Some(m.clone()),
            _ => None,
        };
        let verdict = match verdict {
            Verdict::Accept {
                keys,
                address,
                message,
            } => Ok(Granted {
                keys,
                address,
                message,
            }),
            Verdict::Reject { why, .. } => Err(why),
            Verdict::Local => Err("no verdict"),
        };
        self.settle(user, verdict);
        if let Some(m) = custom {
            self.reply = m;
        }
        let message = self.reply.as_slice();
        let ok = self.state == State::Succeeded;
        let packet = match (self.method, ok) {
            (AuthMethod::Pap, true) => PapPacket::Ack {
                identifier: id,
                message,
            }
            .to_vec(),
            (AuthMethod::Pap, false) => PapPacket::Nak {
                identifier: id,
                message,
            }
            .to_vec(),
            (_, true) => ChapPacket::Success {
                identifier: id,
                message,
            }
            .to_vec(),
            (_, false) => ChapPacket::Failure {
                identifier: id,
                message,
            }
            .to_vec(),
        };
        self.queue(packet);
    }

    /// Record the verdict and report it.
    fn settle(&mut self, user: String, verdict: Result<Granted, &'static str>) {
        self.deadline = None;
        match verdict {
            Ok(g) => {
                tracing::info!(method = ?self.method, user, "peer authenticated");
                self.state = State::Succeeded;
                self.reply = g.message;
                self.events.push_back(AuthEvent::AuthOk {
                    user,
                    keys: g.keys,
                    address: g.address,
                });
            }
            Err(why) => {
                tracing::info!(method = ?self.method, user, why, "peer authentication failed");
                self.state = State::Failed;
                self.reply = self.failure_text().into_bytes();
                let reason = AuthError::Denied { user, why };
                self.events.push_back(AuthEvent::AuthFailed { reason });
            }
        }
    }

    /// The Failure/Nak text: MS-CHAP's `E=691 R=0 C=... V=...` form
    /// (RFC 2433 §8, RFC 2759 §6) or plain text.
    fn failure_text(&self) -> String {
        let (challenge, version) = match self.method {
            AuthMethod::MsChapV1 => match self.challenge.as_slice().try_into() {
                Ok(c) => (Some(FailureChallenge::V1(c)), 2),
                Err(_) => (None, 2),
            },
            AuthMethod::MsChapV2 => match self.challenge.as_slice().try_into() {
                Ok(c) => (Some(FailureChallenge::V2(c)), 3),
                Err(_) => (None, 3),
            },
            _ => return DENIED.into(),
        };
        FailureMessage {
            error: Some(ERROR_AUTHENTICATION_FAILURE),
            retry: Some(false),
            challenge,
            version: Some(version),
            message: Some(DENIED.into()),
        }
        .to_text()
    }

    /// Check a CHAP Response Value against the user's password.
    fn verify_chap(
        &self,
        id: u8,
        value: &[u8],
        name: &[u8],
        creds: &dyn Credentials,
    ) -> Result<Granted, &'static str> {
        let secret = creds.secret(&user_of(name)).ok_or("unknown user")?;
        let password = secret.password.as_str();
        let address = secret.address;
        match self.method {
            AuthMethod::Pap => Err("not a CHAP method"),
            AuthMethod::ChapMd5 => {
                if !verify_chap_md5(id, password.as_bytes(), &self.challenge, value) {
                    return Err("wrong password");
                }
                Ok(Granted {
                    keys: None,
                    address,
                    message: GRANTED.into(),
                })
            }
            AuthMethod::MsChapV1 => {
                let challenge: [u8; 8] = self
                    .challenge
                    .as_slice()
                    .try_into()
                    .map_err(|_| "bad state")?;
                let r = MsChapV1Response::parse(value).map_err(|_| "malformed response")?;
                if !r.verify(&challenge, password) {
                    return Err("wrong password");
                }
                let keys = mschapv1_start_keys(&challenge, &password_hash_hash(password));
                Ok(Granted {
                    keys: Some(keys),
                    address,
                    message: GRANTED.into(),
                })
            }
            AuthMethod::MsChapV2 => {
                let challenge: [u8; 16] = self
                    .challenge
                    .as_slice()
                    .try_into()
                    .map_err(|_| "bad state")?;
                let r = MsChapV2Response::parse(value).map_err(|_| "malformed response")?;
                let hash = nt_password_hash(password);
                if !r.verify_with_hash(&challenge, name, &hash) {
                    return Err("wrong password");
                }
                // RFC 2759 §5; the text is left out when the peer set any
                // of the reserved Flags.
                let success = SuccessMessage {
                    authenticator_response: r.authenticator_response(&challenge, name, &hash),
                    message: (r.flags == 0).then(|| GRANTED.to_owned()),
                };
                let hash_hash = hash_nt_password_hash(&hash);
                Ok(Granted {
                    keys: Some(mschapv2_start_keys(&hash_hash, &r.nt_response, true)),
                    address,
                    message: success.to_text().into_bytes(),
                })
            }
        }
    }
}
