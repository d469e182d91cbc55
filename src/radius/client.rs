//! The RADIUS client, sans-IO: requests go to the first server that is
//! alive, are resent identically after a time-out (RFC 5080 §2.2.1), move
//! to the next server after the resends, and a server that failed is tried
//! again once `revive_after` has passed (failover and back). Accounting
//! requests are never given up while the backlog has room: they wait for a
//! server, their Acct-Delay-Time growing (RFC 2866 §5.2; a new Identifier
//! with each change). The caller brings the time, the random
//! authenticators, and the datagrams.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::RadiusError;
use super::crypto;
use super::packet::{Code, Packet, attr};

/// One server: where, and its shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Server {
    pub addr: SocketAddr,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({}, secret <redacted>)", self.addr)
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// In order of preference.
    pub servers: Vec<Server>,
    /// Wait this long for an answer before resending.
    pub timeout: Duration,
    /// Sends per server before trying the next (the first included).
    pub tries: u8,
    /// A server that did not answer is skipped this long.
    pub revive_after: Duration,
    /// Requests outstanding at once, accounting backlog included.
    pub max_pending: usize,
    /// Refuse answers without a Message-Authenticator (RFC 3579 §3.2; the
    /// BlastRADIUS mitigation).
    pub require_message_authenticator: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(3),
            tries: 3,
            revive_after: Duration::from_secs(60),
            max_pending: 256,
            require_message_authenticator: true,
        }
    }
}

/// Names one request.
pub type Token = u64;

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A verified answer, with the authenticator of the request it answers
    /// (needed to decrypt its hidden attributes) and the secret's server.
    Answer {
        packet: Packet,
        request_auth: [u8; 16],
        server: usize,
    },
    /// No server answered (never for accounting, which waits).
    TimedOut,
}

/// Counters for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    pub resends: u64,
    pub failovers: u64,
    pub timeouts: u64,
    /// Answers refused: unknown, forged, or without Message-Authenticator.
    pub bad_answers: u64,
    /// Accounting records dropped because the backlog was full.
    pub acct_dropped: u64,
}

#[derive(Debug)]
struct Pending {
    template: Packet,
    /// User-Password in clear, hidden anew for each server.
    password: Option<Vec<u8>>,
    server: usize,
    /// Servers tried, this one included.
    servers_tried: usize,
    sends: u8,
    id: u8,
    auth: [u8; 16],
    bytes: Vec<u8>,
    deadline: Instant,
    created: Instant,
}

impl Pending {
    fn accounting(&self) -> bool {
        self.template.code == Code::AccountingRequest
    }
}

#[derive(Debug)]
pub struct Client {
    cfg: ClientConfig,
    pending: HashMap<Token, Pending>,
    /// Accounting requests in the order they were made (oldest first).
    acct_order: VecDeque<Token>,
    next_token: Token,
    next_id: Vec<u8>,
    dead_until: Vec<Option<Instant>>,
    /// Fresh random authenticators, supplied by the caller.
    random: VecDeque<[u8; 16]>,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    done: VecDeque<(Token, Outcome)>,
    pub stats: Stats,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Client {
        let n = cfg.servers.len();
        Client {
            cfg,
            pending: HashMap::new(),
            acct_order: VecDeque::new(),
            next_token: 1,
            next_id: vec![0; n],
            dead_until: vec![None; n],
            random: VecDeque::new(),
            out: VecDeque::new(),
            done: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Random Request Authenticators for Access-Requests (RFC 2865 §3:
    /// unpredictable); the caller keeps a few in stock.
    pub fn add_randomness(&mut self, r: [u8; 16]) {
        self.random.push_back(r);
    }

    /// How many more random authenticators it wants.
    pub fn wants_randomness(&self) -> usize {
        8usize.saturating_sub(self.random.len())
    }

    pub fn servers(&self) -> &[Server] {
        &self.cfg.servers
    }

    /// Whether server `i` is skipped now.
    pub fn is_dead(&self, i: usize, now: Instant) -> bool {
        self.dead_until
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|t| now < t)
    }

    /// The first server alive after skipping `tried` from the preferred
    /// order; the first one at all if every one is dead.
    fn pick(&self, now: Instant, exclude: Option<usize>) -> Option<usize> {
        let n = self.cfg.servers.len();
        (0..n)
            .find(|i| Some(*i) != exclude && !self.is_dead(*i, now))
            .or_else(|| (0..n).find(|i| Some(*i) != exclude))
            .or((n > 0).then_some(0))
    }

    /// Queue a request (Access-Request or Accounting-Request). `password`
    /// becomes its User-Password. Accounting beyond the limit pushes the
    /// oldest record out (counted); an Access-Request beyond it is refused.
    pub fn send(
        &mut self,
        now: Instant,
        template: Packet,
        password: Option<Vec<u8>>,
    ) -> Result<Token, RadiusError> {
        let Some(server) = self.pick(now, None) else {
            return Err(RadiusError::Malformed("no RADIUS server configured"));
        };
        if self.pending.len() >= self.cfg.max_pending {
            if template.code != Code::AccountingRequest {
                return Err(RadiusError::TooLong);
            }
            if let Some(old) = self.acct_order.pop_front() {
                self.pending.remove(&old);
                self.stats.acct_dropped = self.stats.acct_dropped.saturating_add(1);
                tracing::warn!("RADIUS accounting backlog full: the oldest record was dropped");
            }
        }
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let mut p = Pending {
            template,
            password,
            server,
            servers_tried: 1,
            sends: 0,
            id: 0,
            auth: [0; 16],
            bytes: Vec::new(),
            deadline: now,
            created: now,
        };
        self.build(&mut p, now)?;
        self.stats.requests = self.stats.requests.saturating_add(1);
        if p.accounting() {
            self.acct_order.push_back(token);
        }
        self.transmit(&mut p, now);
        self.pending.insert(token, p);
        Ok(token)
    }

    /// A fresh Identifier for `server`, not used by another request to it.
    fn fresh_id(&mut self, server: usize) -> u8 {
        let Some(next) = self.next_id.get_mut(server) else {
            return 0;
        };
        for _ in 0..256 {
            let id = *next;
            *next = next.wrapping_add(1);
            let taken = self
                .pending
                .values()
                .any(|p| p.server == server && p.id == id);
            if !taken {
                return id;
            }
        }
        *next
    }

    /// The request's bytes for its current server.
    fn build(&mut self, p: &mut Pending, now: Instant) -> Result<(), RadiusError> {
        let secret = self
            .cfg
            .servers
            .get(p.server)
            .map(|s| s.secret.clone())
            .unwrap_or_default();
        p.id = self.fresh_id(p.server);
        let mut packet = p.template.clone();
        packet.id = p.id;
        p.bytes = if packet.code == Code::AccountingRequest {
            let delay = now.saturating_duration_since(p.created).as_secs();
            if delay > 0 {
                packet.attrs.retain(|a| a.kind != attr::ACCT_DELAY_TIME);
                packet.add_u32(
                    attr::ACCT_DELAY_TIME,
                    u32::try_from(delay).unwrap_or(u32::MAX),
                );
            }
            let b = crypto::finish_md5_request(&mut packet, &secret)?;
            p.auth = packet.authenticator;
            b
        } else {
            let random = self.random.pop_front().unwrap_or_else(|| {
                // Never reuse an authenticator: mix the token and time in.
                let mut r = [0u8; 16];
                let t = now.elapsed().as_nanos().to_le_bytes();
                for (i, b) in r.iter_mut().enumerate() {
                    *b = t.get(i).copied().unwrap_or(0)
                        ^ (self.next_token as u8).wrapping_add(i as u8);
                }
                r
            });
            if let Some(pw) = &p.password {
                packet.attrs.retain(|a| a.kind != attr::USER_PASSWORD);
                packet.add(
                    attr::USER_PASSWORD,
                    &crypto::hide_password(pw, &secret, &random),
                );
            }
            crypto::finish_access_request(&mut packet, &secret, random)?
        };
        if packet.code != Code::AccountingRequest {
            p.auth = packet.authenticator;
        }
        p.sends = 0;
        Ok(())
    }

    fn transmit(&mut self, p: &mut Pending, now: Instant) {
        if let Some(s) = self.cfg.servers.get(p.server) {
            self.out.push_back((s.addr, p.bytes.clone()));
        }
        p.sends = p.sends.saturating_add(1);
        p.deadline = now.checked_add(self.cfg.timeout).unwrap_or(now);
    }

    /// The next datagram to send, and where.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.out.pop_front()
    }

    /// The next finished request.
    pub fn poll_done(&mut self) -> Option<(Token, Outcome)> {
        self.done.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// Forget a request (its session ended); its answer will be refused.
    pub fn cancel(&mut self, token: Token) {
        self.pending.remove(&token);
        self.acct_order.retain(|t| *t != token);
    }

    /// A datagram from `from`: the answer to a request of ours if its
    /// Identifier, Response Authenticator and Message-Authenticator say so.
    pub fn handle_datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        let Some(&id) = bytes.get(1) else {
            return;
        };
        let hit = self.pending.iter().find_map(|(t, p)| {
            let s = self.cfg.servers.get(p.server)?;
            (s.addr == from && p.id == id).then_some(*t)
        });
        let Some(token) = hit else {
            self.stats.bad_answers = self.stats.bad_answers.saturating_add(1);
            return;
        };
        let Some(p) = self.pending.get(&token) else {
            return;
        };
        let secret = self
            .cfg
            .servers
            .get(p.server)
            .map(|s| s.secret.as_slice())
            .unwrap_or_default();
        let require = self.cfg.require_message_authenticator;
        match crypto::verify_response_with(bytes, &p.auth, secret, require) {
            Ok(packet) => {
                let (server, request_auth) = (p.server, p.auth);
                self.pending.remove(&token);
                self.acct_order.retain(|t| *t != token);
                if let Some(d) = self.dead_until.get_mut(server) {
                    *d = None;
                }
                self.done.push_back((
                    token,
                    Outcome::Answer {
                        packet,
                        request_auth,
                        server,
                    },
                ));
            }
            Err(e) => {
                self.stats.bad_answers = self.stats.bad_answers.saturating_add(1);
                tracing::warn!(server = %from, "RADIUS answer refused: {e}");
            }
        }
    }

    /// Resend, fail over, or give up what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<Token> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in due {
            let Some(mut p) = self.pending.remove(&token) else {
                continue;
            };
            if p.bytes.is_empty() {
                // Parked accounting: a server may be back; start over.
                p.server = self.pick(now, None).unwrap_or(0);
                p.servers_tried = 1;
                self.rebuild_and_send(token, p, now);
                continue;
            }
            if p.sends < self.cfg.tries {
                self.stats.resends = self.stats.resends.saturating_add(1);
                if p.accounting() {
                    // A changed Acct-Delay-Time needs a new Identifier.
                    let sends = p.sends;
                    if self.build(&mut p, now).is_err() {
                        continue;
                    }
                    p.sends = sends;
                }
                self.transmit(&mut p, now);
                self.pending.insert(token, p);
                continue;
            }
            // This server had its chances.
            let revive = now.checked_add(self.cfg.revive_after).unwrap_or(now);
            if let Some(d) = self.dead_until.get_mut(p.server) {
                if d.is_none_or(|t| t <= now) {
                    tracing::warn!(server = ?self.cfg.servers.get(p.server).map(|s| s.addr),
                        "RADIUS server not answering: failing over");
                }
                *d = Some(revive);
            }
            if p.servers_tried < self.cfg.servers.len() {
                if let Some(next) = self.pick(now, Some(p.server)) {
                    self.stats.failovers = self.stats.failovers.saturating_add(1);
                    p.server = next;
                    p.servers_tried = p.servers_tried.saturating_add(1);
                    self.rebuild_and_send(token, p, now);
                    continue;
                }
            }
            if p.accounting() {
                p.bytes.clear();
                p.deadline = revive;
                self.pending.insert(token, p);
                continue;
            }
            self.stats.timeouts = self.stats.timeouts.saturating_add(1);
            self.done.push_back((token, Outcome::TimedOut));
        }
    }

    fn rebuild_and_send(&mut self, token: Token, mut p: Pending, now: Instant) {
        if self.build(&mut p, now).is_ok() {
            self.transmit(&mut p, now);
            self.pending.insert(token, p);
        }
    }
}

#[cfg(test)]
mod tests;
