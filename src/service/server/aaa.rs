//! RADIUS for the server's sessions: logins (RFC 2865; MS-CHAP per RFC
//! 2548), the authorization an Access-Accept carries and accounting (RFC
//! 2866, RFC 2869). The protocol is in [`crate::radius`]; here are its two
//! clients with their socket, the requests a session makes and the
//! verdicts it gets. What answers do to the sessions is in `radius_io`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;

use crate::config::RadiusCfg;
use crate::ppp::auth::{AuthMethod, Rng, Verdict, VerifyRequest};
use crate::ppp::crypto::mppe_keys::{StartKeys, mschapv1_start_keys};
use crate::radius::client::{Client, ClientConfig, Outcome, Server, Token};
use crate::radius::crypto;
use crate::radius::packet::{Code, Packet, attr, ms};
use crate::ratelimit::Untrusted;
use crate::service::endpoint::OsRng;

/// Acct-Status-Type (RFC 2866 §5.1, RFC 2866 §5.1 Accounting-On/Off).
pub const START: u32 = 1;
pub const STOP: u32 = 2;
pub const INTERIM: u32 = 3;
const ACCOUNTING_ON: u32 = 7;
const ACCOUNTING_OFF: u32 = 8;
/// NAS-Port-Type Virtual (RFC 2865 §5.41).
const VIRTUAL: u32 = 5;
/// Refusals that say nothing about the password, so no lockout follows.
pub const NOT_A_GUESS: [&str; 3] = [NO_ANSWER, REQUIRES_MPPE, NO_COMMON_KEY];
const NO_ANSWER: &str = "no RADIUS server answered";
const REQUIRES_MPPE: &str = "RADIUS requires encryption and MPPE is off";
const NO_COMMON_KEY: &str = "no MPPE key length both RADIUS and the server allow";

/// Framed-Routes taken from one Access-Accept.
pub const MAX_FRAMED_ROUTES: usize = 8;
/// Interim-Updates no more often than this (RFC 2869 §5.16: 60 s).
const MIN_INTERIM: Duration = Duration::from_secs(60);

/// Acct-Terminate-Cause (RFC 2866 §5.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    UserRequest = 1,
    LostCarrier = 2,
    IdleTimeout = 4,
    SessionTimeout = 5,
    AdminReset = 6,
    NasReboot = 11,
}

/// What a session got from RADIUS, and its accounting.
#[derive(Debug, Default)]
pub struct SessionAaa {
    pub acct_session_id: String,
    pub class: Vec<Vec<u8>>,
    pub session_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub interim: Option<Duration>,
    pub next_interim: Option<Instant>,
    pub framed_mtu: Option<u32>,
    /// Framed-Route prefixes routed to the session (at most
    /// [`MAX_FRAMED_ROUTES`]).
    pub framed_routes: Vec<(Ipv4Addr, u8)>,
    /// Set when the session is hung up for a known reason.
    pub cause: Option<Cause>,
    pub started: bool,
}

/// Octets and packets a session carried (for accounting and `status`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub in_octets: u64,
    pub in_packets: u64,
    pub out_octets: u64,
    pub out_packets: u64,
}

/// What one session's accounting record says.
pub struct Record<'a> {
    pub cid: u16,
    pub user: &'a str,
    pub peer: Ipv4Addr,
    pub ip: Ipv4Addr,
    /// Seconds since the call came.
    pub secs: u64,
    pub aaa: &'a SessionAaa,
    pub counters: Counters,
}

/// A login's verdict, for its session.
pub struct Settled {
    pub cid: u16,
    pub verdict: Verdict,
    /// The Access-Accept, for its authorization.
    pub accept: Option<Packet>,
}

enum Waiting {
    Auth { cid: u16, req: VerifyRequest },
    Acct,
}

pub struct Aaa {
    pub cfg: RadiusCfg,
    auth: Client,
    acct: Client,
    sock: Rc<UdpSocket>,
    pub dae: Option<Rc<UdpSocket>>,
    waiting: HashMap<Token, Waiting>,
    nas_ip: Option<Ipv4Addr>,
    /// Disconnect and CoA Requests that named a session (`status`).
    pub dae_handled: u64,
}

fn servers(cfg: &RadiusCfg, acct: bool) -> Vec<Server> {
    cfg.servers
        .iter()
        .map(|s| Server {
            addr: SocketAddr::from((s.addr, if acct { s.acct_port } else { s.auth_port })),
            secret: cfg.secret.as_bytes().to_vec(),
        })
        .collect()
}

impl Aaa {
    /// The sockets (an ephemeral one for requests, and the DAE port) and the
    /// two clients; then Accounting-On.
    pub async fn start(cfg: RadiusCfg, nas_ip: Option<Ipv4Addr>) -> std::io::Result<Aaa> {
        let sock = Rc::new(UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?);
        let dae = match cfg.dae_port {
            0 => None,
            p => Some(Rc::new(
                UdpSocket::bind((nas_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), p)).await?,
            )),
        };
        let client = |acct| {
            Client::new(ClientConfig {
                servers: servers(&cfg, acct),
                require_message_authenticator: cfg.require_message_authenticator,
                ..ClientConfig::default()
            })
        };
        let mut a = Aaa {
            auth: client(false),
            acct: client(true),
            sock,
            dae,
            waiting: HashMap::new(),
            nas_ip,
            dae_handled: 0,
            cfg,
        };
        a.refill();
        if a.cfg.accounting {
            let p = a.nas_packet(Code::AccountingRequest, ACCOUNTING_ON);
            a.send_acct(Instant::now(), p);
        }
        tracing::info!(servers = ?a.cfg.servers.iter().map(|s| s.addr).collect::<Vec<_>>(),
            accounting = a.cfg.accounting, dae_port = a.cfg.dae_port, "RADIUS in use");
        Ok(a)
    }

    pub fn refill(&mut self) {
        for c in [&mut self.auth, &mut self.acct] {
            for _ in 0..c.wants_randomness() {
                let mut r = [0u8; 16];
                OsRng.fill_bytes(&mut r);
                c.add_randomness(r);
            }
        }
    }

    /// A request with the NAS's own attributes.
    fn nas_packet(&self, code: Code, status: u32) -> Packet {
        let mut p = Packet::new(code, 0);
        if code == Code::AccountingRequest {
            p.add_u32(attr::ACCT_STATUS_TYPE, status);
        }
        p.add(attr::NAS_IDENTIFIER, self.cfg.nas_identifier.as_bytes());
        if let Some(ip) = self.nas_ip {
            p.add(attr::NAS_IP_ADDRESS, &ip.octets());
        }
        p
    }

    fn send_acct(&mut self, now: Instant, p: Packet) {
        match self.acct.send(now, p, None) {
            Ok(t) => {
                self.waiting.insert(t, Waiting::Acct);
            }
            Err(e) => tracing::warn!("RADIUS accounting record not sent: {e}"),
        }
    }

    /// The Access-Request for a session's credentials.
    pub fn ask(&mut self, now: Instant, cid: u16, peer: Ipv4Addr, req: VerifyRequest) {
        let mut p = self.nas_packet(Code::AccessRequest, 0);
        p.add_u32(attr::NAS_PORT, u32::from(cid));
        p.add_u32(attr::NAS_PORT_TYPE, VIRTUAL);
        p.add_u32(attr::SERVICE_TYPE, 2); // Framed
        p.add_u32(attr::FRAMED_PROTOCOL, 1); // PPP
        p.add(attr::CALLING_STATION_ID, peer.to_string().as_bytes());
        let mut password = None;
        match &req {
            VerifyRequest::Pap { name, password: pw } => {
                p.add(attr::USER_NAME, name.as_bytes());
                password = Some(pw.clone());
            }
            VerifyRequest::Chap {
                method,
                name,
                identifier,
                challenge,
                response,
            } => {
                p.add(attr::USER_NAME, name.as_bytes());
                match method {
                    AuthMethod::ChapMd5 => {
                        p.add(attr::CHAP_CHALLENGE, challenge);
                        p.add(
                            attr::CHAP_PASSWORD,
                            &[&[*identifier][..], response].concat(),
                        );
                    }
                    // RFC 2548 §2.1.3: Ident, Flags, LM-Response, NT-Response
                    // (PPP's order is LM, NT, Flags).
                    AuthMethod::MsChapV1 => {
                        p.add_ms(ms::CHAP_CHALLENGE, challenge);
                        let (lm_nt, flags) = response.split_at(response.len().saturating_sub(1));
                        p.add_ms(
                            ms::CHAP_RESPONSE,
                            &[&[*identifier][..], flags, lm_nt].concat(),
                        );
                    }
                    // RFC 2548 §2.3.2: Ident, Flags, Peer-Challenge, Reserved,
                    // Response (PPP's order ends with Flags).
                    AuthMethod::MsChapV2 => {
                        p.add_ms(ms::CHAP_CHALLENGE, challenge);
                        let (body, flags) = response.split_at(response.len().saturating_sub(1));
                        p.add_ms(
                            ms::CHAP2_RESPONSE,
                            &[&[*identifier][..], flags, body].concat(),
                        );
                    }
                    AuthMethod::Pap => {}
                }
            }
        }
        self.refill();
        match self.auth.send(now, p, password) {
            Ok(t) => {
                self.waiting.insert(t, Waiting::Auth { cid, req });
            }
            Err(e) => tracing::warn!(call_id = cid, "RADIUS request not sent: {e}"),
        }
    }

    /// Forget what a session waits for (it ended).
    pub fn forget(&mut self, cid: u16) {
        let tokens: Vec<Token> = self
            .waiting
            .iter()
            .filter(|(_, w)| matches!(w, Waiting::Auth { cid: c, .. } if *c == cid))
            .map(|(t, _)| *t)
            .collect();
        for t in tokens {
            self.waiting.remove(&t);
            self.auth.cancel(t);
        }
    }

    /// An accounting record for a session.
    pub fn account(&mut self, now: Instant, status: u32, r: &Record<'_>) {
        if !self.cfg.accounting {
            return;
        }
        let (a, c, cid, secs) = (r.aaa, r.counters, r.cid, r.secs);
        let mut p = self.nas_packet(Code::AccountingRequest, status);
        p.add(attr::USER_NAME, r.user.as_bytes());
        p.add(attr::ACCT_SESSION_ID, a.acct_session_id.as_bytes());
        p.add_u32(attr::NAS_PORT, u32::from(cid));
        p.add_u32(attr::NAS_PORT_TYPE, VIRTUAL);
        p.add_u32(attr::SERVICE_TYPE, 2);
        p.add_u32(attr::FRAMED_PROTOCOL, 1);
        p.add(attr::FRAMED_IP_ADDRESS, &r.ip.octets());
        p.add(attr::CALLING_STATION_ID, r.peer.to_string().as_bytes());
        for class in &a.class {
            p.add(attr::CLASS, class);
        }
        if status != START {
            let split = |v: u64| ((v & 0xffff_ffff) as u32, (v >> 32) as u32);
            let (io, ig) = split(c.in_octets);
            let (oo, og) = split(c.out_octets);
            p.add_u32(
                attr::ACCT_SESSION_TIME,
                u32::try_from(secs).unwrap_or(u32::MAX),
            );
            p.add_u32(attr::ACCT_INPUT_OCTETS, io);
            p.add_u32(attr::ACCT_OUTPUT_OCTETS, oo);
            p.add_u32(attr::ACCT_INPUT_GIGAWORDS, ig);
            p.add_u32(attr::ACCT_OUTPUT_GIGAWORDS, og);
            p.add_u32(
                attr::ACCT_INPUT_PACKETS,
                u32::try_from(c.in_packets).unwrap_or(u32::MAX),
            );
            p.add_u32(
                attr::ACCT_OUTPUT_PACKETS,
                u32::try_from(c.out_packets).unwrap_or(u32::MAX),
            );
        }
        if status == STOP {
            p.add_u32(
                attr::ACCT_TERMINATE_CAUSE,
                a.cause.unwrap_or(Cause::LostCarrier) as u32,
            );
        }
        self.send_acct(now, p);
    }

    /// Accounting-Off, as the server stops.
    pub fn stop(&mut self, now: Instant) {
        if self.cfg.accounting {
            let p = self.nas_packet(Code::AccountingRequest, ACCOUNTING_OFF);
            self.send_acct(now, p);
        }
    }

    /// Whether accounting records still wait for an answer.
    pub fn busy(&self) -> bool {
        self.waiting.values().any(|w| matches!(w, Waiting::Acct))
    }

    /// Send what the clients queued.
    pub fn transmit(&mut self) {
        for c in [&mut self.auth, &mut self.acct] {
            while let Some((to, b)) = c.poll_transmit() {
                if let Err(e) = self.sock.try_send_to(&b, to) {
                    tracing::debug!(%to, "RADIUS datagram not sent: {e}");
                }
            }
        }
    }

    /// A datagram on the socket: an answer for one of the two clients.
    pub fn handle_answer(&mut self, from: SocketAddr, bytes: &[u8]) {
        let mine = |c: &Client| c.servers().iter().any(|x| x.addr == from);
        if mine(&self.auth) {
            self.auth.handle_datagram(from, bytes);
        } else if mine(&self.acct) {
            self.acct.handle_datagram(from, bytes);
        }
    }

    /// Resends and failover that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.auth.handle_timeout(now);
            self.acct.handle_timeout(now);
        }
    }

    /// The verdicts of finished logins (`mppe`: the server's MPPE policy,
    /// against RADIUS's encryption policy).
    pub fn take_verdicts(&mut self, mppe: Option<crate::ppp::ccp::MppePolicy>) -> Vec<Settled> {
        let mut done = Vec::new();
        for c in [&mut self.auth, &mut self.acct] {
            done.extend(std::iter::from_fn(|| c.poll_done()));
        }
        let mut out = Vec::new();
        for (token, outcome) in done {
            let Some(Waiting::Auth { cid, req }) = self.waiting.remove(&token) else {
                continue;
            };
            let (verdict, accept) = verdict(self, outcome, &req, mppe);
            out.push(Settled {
                cid,
                verdict,
                accept,
            });
        }
        out
    }

    /// The socket answers come on.
    pub fn socket(&self) -> Rc<UdpSocket> {
        self.sock.clone()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.auth.poll_timeout(), self.acct.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "servers": self.cfg.servers.iter().map(|s| s.addr.to_string()).collect::<Vec<_>>(),
            "auth": self.auth.stats,
            "accounting": self.acct.stats,
            "dae_requests": self.dae_handled,
        })
    }
}

/// The verdict an answer (or its absence) gives.
fn verdict(
    aaa: &Aaa,
    outcome: Outcome,
    req: &VerifyRequest,
    mppe: Option<crate::ppp::ccp::MppePolicy>,
) -> (Verdict, Option<Packet>) {
    let secret = aaa.cfg.secret.as_bytes();
    if let Outcome::Answer { packet, .. } = &outcome {
        if packet.code == Code::AccessAccept {
            if let Err(why) = mppe_allowed(packet, mppe) {
                tracing::warn!("RADIUS accepted a login the server cannot serve: {why}");
                return (Verdict::Reject { message: None, why }, None);
            }
        }
    }
    match outcome {
        Outcome::Answer {
            packet,
            request_auth,
            ..
        } if packet.code == Code::AccessAccept => {
            let address = packet
                .get(attr::FRAMED_IP_ADDRESS)
                .and_then(|v| <[u8; 4]>::try_from(v).ok())
                .map(Ipv4Addr::from)
                // 255.255.255.254: the NAS picks (the pool); .255: the user.
                .filter(|a| u32::from(*a) < 0xffff_fffe);
            let (keys, message) = match req {
                VerifyRequest::Chap {
                    method: AuthMethod::MsChapV2,
                    ..
                } => {
                    let key = |k| {
                        packet
                            .get_ms(k)
                            .and_then(|v| crypto::decrypt_mppe_key(v, secret, &request_auth).ok())
                            .and_then(|v| <[u8; 16]>::try_from(v.get(..16)?).ok())
                    };
                    let keys = match (key(ms::MPPE_SEND_KEY), key(ms::MPPE_RECV_KEY)) {
                        (Some(send), Some(receive)) => Some(StartKeys { send, receive }),
                        _ => None,
                    };
                    // MS-CHAP2-Success: Ident, then the "S=..." text.
                    let message = packet
                        .get_ms(ms::CHAP2_SUCCESS)
                        .and_then(|v| v.get(1..))
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default();
                    (keys, message)
                }
                VerifyRequest::Chap {
                    method: AuthMethod::MsChapV1,
                    challenge,
                    ..
                } => {
                    // MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1): hidden like
                    // User-Password; LM key (8), then the NT hash hash (16).
                    let keys = packet.get_ms(ms::CHAP_MPPE_KEYS).and_then(|v| {
                        let plain = crypto::unhide(v, secret, &request_auth);
                        let nt: [u8; 16] = plain.get(8..24)?.try_into().ok()?;
                        let ch: [u8; 8] = challenge.as_slice().try_into().ok()?;
                        Some(mschapv1_start_keys(&ch, &nt))
                    });
                    (keys, Vec::new())
                }
                _ => (None, b"Access granted".to_vec()),
            };
            let needs_keys = matches!(
                req,
                VerifyRequest::Chap {
                    method: AuthMethod::MsChapV1 | AuthMethod::MsChapV2,
                    ..
                }
            );
            if needs_keys && keys.is_none() {
                tracing::warn!("RADIUS accepted the login without MPPE keys: MPPE cannot start");
            }
            (
                Verdict::Accept {
                    keys,
                    address,
                    message,
                },
                Some(packet),
            )
        }
        Outcome::Answer { packet, .. } => {
            // MS-CHAP-Error: Ident, then "E=691 R=0 ..." as is.
            let message = packet
                .get_ms(ms::CHAP_ERROR)
                .and_then(|v| v.get(1..))
                .map(<[u8]>::to_vec);
            if let Some(r) = packet.get(attr::REPLY_MESSAGE) {
                tracing::info!(reply = %Untrusted(&String::from_utf8_lossy(r)), "RADIUS rejected the login");
            }
            (
                Verdict::Reject {
                    message,
                    why: "rejected by RADIUS",
                },
                None,
            )
        }
        Outcome::TimedOut if aaa.cfg.fallback => {
            tracing::warn!("no RADIUS server answered: checking the local users");
            (Verdict::Local, None)
        }
        Outcome::TimedOut => (
            Verdict::Reject {
                message: None,
                why: NO_ANSWER,
            },
            None,
        ),
    }
}

/// Take the authorization of an Access-Accept into the session.
pub fn authorize(a: &mut SessionAaa, p: &Packet, cfg: &RadiusCfg) {
    a.class = p.all(attr::CLASS).map(<[u8]>::to_vec).collect();
    let secs = |k| {
        p.get_u32(k)
            .filter(|v| *v > 0)
            .map(|v| Duration::from_secs(v.into()))
    };
    a.session_timeout = secs(attr::SESSION_TIMEOUT);
    a.idle_timeout = secs(attr::IDLE_TIMEOUT);
    a.interim = secs(attr::ACCT_INTERIM_INTERVAL)
        .or(cfg.interim)
        .map(|d| d.max(MIN_INTERIM));
    a.framed_mtu = p.get_u32(attr::FRAMED_MTU);
    a.framed_routes = p
        .all(attr::FRAMED_ROUTE)
        .filter_map(framed_route)
        .take(MAX_FRAMED_ROUTES)
        .collect();
}

/// The prefix of a Framed-Route (RFC 2865 §5.22): "a.b.c.d/len" or
/// "a.b.c.d" (a host), then optional gateway and metrics, ignored: the
/// route goes to the session.
fn framed_route(v: &[u8]) -> Option<(Ipv4Addr, u8)> {
    let text = std::str::from_utf8(v).ok()?;
    let first = text.split_whitespace().next()?;
    let (addr, len) = match first.split_once('/') {
        Some((a, l)) => (a.parse::<Ipv4Addr>().ok()?, l.parse::<u8>().ok()?),
        None => (first.parse::<Ipv4Addr>().ok()?, 32),
    };
    let mask = u32::MAX
        .checked_shl(32u32.checked_sub(u32::from(len))?)
        .unwrap_or(0);
    (len <= 32 && u32::from(addr) & !mask == 0).then_some((addr, len))
}

/// RFC 2548 §2.4.4-2.4.5: MS-MPPE-Encryption-Policy 2 requires
/// encryption, MS-MPPE-Encryption-Types names the key lengths allowed (2:
/// 40-bit, 8: 56-bit, 4: 128-bit). A login they cannot be met for is
/// refused here rather than after CCP.
fn mppe_allowed(p: &Packet, mppe: Option<crate::ppp::ccp::MppePolicy>) -> Result<(), &'static str> {
    let policy = p
        .get_ms(ms::MPPE_ENCRYPTION_POLICY)
        .and_then(|v| <[u8; 4]>::try_from(v).ok());
    let types = p
        .get_ms(ms::MPPE_ENCRYPTION_TYPES)
        .and_then(|v| <[u8; 4]>::try_from(v).ok());
    if let (Some(2), None) = (policy.map(u32::from_be_bytes), mppe) {
        return Err(REQUIRES_MPPE);
    }
    if let (Some(t), Some(m)) = (types.map(u32::from_be_bytes), mppe) {
        let ours = (if m.allow_40 { 2 } else { 0 })
            | (if m.allow_128 { 4 } else { 0 })
            | (if m.allow_56 { 8 } else { 0 });
        if t != 0 && t & ours == 0 {
            return Err(NO_COMMON_KEY);
        }
    }
    Ok(())
}

/// A new session's Acct-Session-Id: unique across restarts (time and
/// Call ID).
pub fn session_id(cid: u16) -> String {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{t:08X}{cid:04X}")
}

#[cfg(test)]
mod tests;
