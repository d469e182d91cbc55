//! The Link Control Protocol (RFC 1661 §5, §6) on a PPTP link: MRU, ACCM
//! (accepted and ignored, RFC 1662 §7.1), Authentication-Protocol, Magic-
//! Number, PFC and ACFC; everything else is Configure-Rejected. Also the
//! LCP-only packets: Protocol-Reject, Echo-Request/Reply (keepalive) and
//! Discard-Request.

use std::time::{Duration, Instant};

use super::error::Error;
use super::frame::{Compression, Protocol};
use super::fsm::{Ctx, DEFAULT_MRU, Ext, Fsm, Options, Verdict};
use super::packet::{Opt, Packet};

/// Maximum-Receive-Unit (RFC 1661 §6.1).
pub const OPT_MRU: u8 = 1;
/// Async-Control-Character-Map (RFC 1662 §7.1).
pub const OPT_ACCM: u8 = 2;
/// Authentication-Protocol (RFC 1661 §6.2).
pub const OPT_AUTH: u8 = 3;
/// Magic-Number (RFC 1661 §6.4).
pub const OPT_MAGIC: u8 = 5;
/// Protocol-Field-Compression (RFC 1661 §6.5).
pub const OPT_PFC: u8 = 7;
/// Address-and-Control-Field-Compression (RFC 1661 §6.6).
pub const OPT_ACFC: u8 = 8;
/// Smallest MRU accepted from the peer; smaller ones are Nak'd to this.
pub const MIN_MRU: u16 = 128;

/// An authentication method for the Authentication-Protocol option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// PAP (RFC 1334), protocol 0xC023.
    Pap,
    /// CHAP with MD5 (RFC 1994), algorithm 5.
    ChapMd5,
    /// MS-CHAP (RFC 2433), algorithm 0x80.
    MsChapV1,
    /// MS-CHAPv2 (RFC 2759), algorithm 0x81.
    MsChapV2,
}

impl AuthMethod {
    /// The PPP protocol carrying the exchange.
    pub fn protocol(self) -> Protocol {
        match self {
            AuthMethod::Pap => Protocol::PAP,
            _ => Protocol::CHAP,
        }
    }

    /// The CHAP algorithm octet, for CHAP methods.
    pub fn chap_algorithm(self) -> Option<u8> {
        match self {
            AuthMethod::Pap => None,
            AuthMethod::ChapMd5 => Some(5),
            AuthMethod::MsChapV1 => Some(0x80),
            AuthMethod::MsChapV2 => Some(0x81),
        }
    }

    /// Decode option 3's data; `None` for anything else.
    pub fn from_data(data: &[u8]) -> Option<AuthMethod> {
        match data {
            [0xC0, 0x23] => Some(AuthMethod::Pap),
            [0xC2, 0x23, 5] => Some(AuthMethod::ChapMd5),
            [0xC2, 0x23, 0x80] => Some(AuthMethod::MsChapV1),
            [0xC2, 0x23, 0x81] => Some(AuthMethod::MsChapV2),
            _ => None,
        }
    }

    /// Option 3 asking for this method.
    pub fn to_opt(self) -> Opt {
        let [hi, lo] = self.protocol().0.to_be_bytes();
        let data: &[u8] = match self.chap_algorithm() {
            Some(alg) => &[hi, lo, alg],
            None => &[hi, lo],
        };
        Opt::new(OPT_AUTH, data).unwrap_or_else(|_| Opt::flag(OPT_AUTH))
    }
}

/// LCP policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcpConfig {
    /// Our MRU; requested only when it differs from 1500.
    pub mru: u16,
    /// Request a Magic-Number (loopback detection).
    pub magic: bool,
    /// Seed for our Magic-Numbers; give it real randomness (§6.4).
    pub magic_seed: u64,
    /// Request PFC, and accept the peer's request for it.
    pub pfc: bool,
    /// Request ACFC, and accept the peer's request for it.
    pub acfc: bool,
    /// Authenticator: methods the peer must use, most wanted first
    /// (empty: no authentication demanded).
    pub require_auth: Vec<AuthMethod>,
    /// Authenticatee: methods we agree to authenticate with, best first.
    pub accept_auth: Vec<AuthMethod>,
    /// Send an Echo-Request this often while Opened.
    pub echo_interval: Option<Duration>,
    /// Unanswered Echo-Requests before [`Event::KeepaliveTimeout`](super::fsm::Event::KeepaliveTimeout).
    pub echo_failures: u8,
}

impl Default for LcpConfig {
    fn default() -> Self {
        LcpConfig {
            mru: DEFAULT_MRU,
            magic: true,
            magic_seed: 0,
            pfc: true,
            acfc: true,
            require_auth: Vec::new(),
            accept_auth: Vec::new(),
            echo_interval: None,
            echo_failures: 5,
        }
    }
}

/// What one side's Configure-Request got Acked with. For `Params::local`
/// this is what we receive and demand, for `Params::remote` the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub mru: u16,
    /// 0 when not negotiated.
    pub magic: u32,
    /// The method the *other* side must authenticate with.
    pub auth: Option<AuthMethod>,
    pub pfc: bool,
    pub acfc: bool,
    pub accm: Option<u32>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            mru: DEFAULT_MRU,
            magic: 0,
            auth: None,
            pfc: false,
            acfc: false,
            accm: None,
        }
    }
}

/// The negotiated link parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params {
    /// Our request as Acked by the peer.
    pub local: Side,
    /// The peer's request as Acked by us.
    pub remote: Side,
}

impl Params {
    /// Compression we may use when sending: what the peer asked for.
    pub fn tx_compression(&self) -> Compression {
        Compression {
            acfc: self.remote.acfc,
            pfc: self.remote.pfc,
        }
    }
}

/// The LCP half of the automaton.
#[derive(Debug, Clone)]
pub struct LcpOptions {
    config: LcpConfig,
    rng: u64,
    want_mru: Option<u16>,
    want_magic: Option<u32>,
    want_auth: Option<AuthMethod>,
    want_pfc: bool,
    want_acfc: bool,
    params: Params,
    echo_next: Option<Instant>,
    echo_outstanding: u8,
}

/// LCP: the automaton with [`LcpOptions`].
pub type Lcp = Fsm<LcpOptions>;

impl LcpOptions {
    /// The automaton calls `reset` before its first request, which draws
    /// the first Magic-Number.
    pub fn new(config: LcpConfig) -> Self {
        LcpOptions {
            rng: config.magic_seed,
            want_mru: None,
            want_magic: None,
            want_auth: None,
            want_pfc: false,
            want_acfc: false,
            params: Params::default(),
            echo_next: None,
            echo_outstanding: 0,
            config,
        }
    }

    /// The negotiated parameters (meaningful once Opened).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A fresh non-zero Magic-Number, different from the current one
    /// (splitmix64 over the caller's seed).
    fn new_magic(&mut self) -> u32 {
        loop {
            self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let m = ((z ^ (z >> 31)) >> 32) as u32;
            if m != 0 && Some(m) != self.want_magic {
                return m;
            }
        }
    }

    /// Judge the peer's demand that we authenticate (§6.2): Ack a method
    /// we accept, else Nak with our favourite, or Reject if we accept none.
    fn judge_auth(&self, o: &Opt, nak: &mut Vec<Opt>, reject: &mut Vec<Opt>) {
        let ok =
            AuthMethod::from_data(o.data()).is_some_and(|m| self.config.accept_auth.contains(&m));
        match self.config.accept_auth.first() {
            _ if ok => {}
            Some(best) => nak.push(best.to_opt()),
            None => reject.push(o.clone()),
        }
    }

    /// The peer Nak'd our Authentication-Protocol: take its suggestion if
    /// the policy allows it, else the next method on our list (§6.2).
    fn auth_nakd(&mut self, o: &Opt) -> Result<(), Error> {
        let list = &self.config.require_auth;
        if let Some(m) = AuthMethod::from_data(o.data()).filter(|m| list.contains(m)) {
            self.want_auth = Some(m);
            return Ok(());
        }
        let pos = self
            .want_auth
            .and_then(|cur| list.iter().position(|m| *m == cur));
        let next = pos.and_then(|p| list.get(p + 1)).copied();
        self.want_auth = next;
        next.map(|_| ()).ok_or(Error::AuthRefused)
    }
}

impl Options for LcpOptions {
    fn reset(&mut self) {
        self.want_mru = (self.config.mru != DEFAULT_MRU).then_some(self.config.mru);
        self.want_magic = None; // so that any fresh value will do
        self.want_magic = self.config.magic.then(|| self.new_magic());
        self.want_auth = self.config.require_auth.first().copied();
        self.want_pfc = self.config.pfc;
        self.want_acfc = self.config.acfc;
        self.params = Params::default();
    }

    fn request(&mut self) -> Vec<Opt> {
        let mut v = Vec::new();
        v.extend(self.want_mru.map(|m| Opt::u16(OPT_MRU, m)));
        v.extend(self.want_auth.map(AuthMethod::to_opt));
        v.extend(self.want_magic.map(|m| Opt::u32(OPT_MAGIC, m)));
        v.extend(self.want_pfc.then(|| Opt::flag(OPT_PFC)));
        v.extend(self.want_acfc.then(|| Opt::flag(OPT_ACFC)));
        v
    }

    fn on_peer_request(&mut self, opts: &[Opt]) -> Verdict {
        let (mut nak, mut reject) = (Vec::new(), Vec::new());
        for o in opts {
            match o.kind() {
                OPT_MRU => match o.as_u16() {
                    Some(m) if m >= MIN_MRU => {}
                    Some(_) => nak.push(Opt::u16(OPT_MRU, MIN_MRU)),
                    None => nak.push(Opt::u16(OPT_MRU, DEFAULT_MRU)),
                },
                OPT_ACCM if o.data().len() == 4 => {}
                OPT_AUTH => self.judge_auth(o, &mut nak, &mut reject),
                // Zero is illegal; our own value hints at a loopback (§6.4).
                OPT_MAGIC => match o.as_u32() {
                    Some(m) if m != 0 && Some(m) != self.want_magic => {}
                    _ => {
                        let suggestion = self.new_magic();
                        nak.push(Opt::u32(OPT_MAGIC, suggestion));
                    }
                },
                OPT_PFC if self.config.pfc && o.data().is_empty() => {}
                OPT_ACFC if self.config.acfc && o.data().is_empty() => {}
                _ => reject.push(o.clone()),
            }
        }
        Verdict::from_lists(nak, reject)
    }

    fn on_peer_acked(&mut self, opts: &[Opt]) {
        self.params.remote = side_from(opts);
    }

    fn on_ack(&mut self, opts: &[Opt]) {
        self.params.local = side_from(opts);
    }

    fn on_nak(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts {
            match o.kind() {
                OPT_MRU => {
                    let max = self.config.mru.max(DEFAULT_MRU);
                    self.want_mru = o
                        .as_u16()
                        .filter(|m| (MIN_MRU..=max).contains(m) && *m != DEFAULT_MRU);
                }
                OPT_AUTH if self.want_auth.is_some() => self.auth_nakd(o)?,
                // Either way a new number is chosen (§6.4).
                OPT_MAGIC if self.want_magic.is_some() => {
                    self.want_magic = Some(self.new_magic());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn on_reject(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts {
            match o.kind() {
                OPT_MRU => self.want_mru = None,
                OPT_AUTH => return Err(Error::AuthRefused),
                OPT_MAGIC => self.want_magic = None,
                OPT_PFC => self.want_pfc = false,
                OPT_ACFC => self.want_acfc = false,
                _ => {}
            }
        }
        Ok(())
    }

    fn peer_mru(&self) -> Option<u16> {
        Some(self.params.remote.mru)
    }

    fn on_up(&mut self, now: Instant) -> Result<(), Error> {
        self.echo_outstanding = 0;
        self.echo_next = self.config.echo_interval.map(|i| now + i);
        if !self.config.require_auth.is_empty() && self.params.local.auth.is_none() {
            return Err(Error::AuthRefused);
        }
        Ok(())
    }

    fn on_down(&mut self) {
        self.echo_next = None;
    }

    fn on_extended(&mut self, ctx: &mut Ctx<'_>, _now: Instant, packet: &Packet<'_>) -> Ext {
        self.extended(ctx, packet)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.echo_next
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        self.keepalive(ctx, now);
    }
}

/// The parameters an Acked option list sets.
fn side_from(opts: &[Opt]) -> Side {
    let mut s = Side::default();
    for o in opts {
        match o.kind() {
            OPT_MRU => s.mru = o.as_u16().unwrap_or(DEFAULT_MRU),
            OPT_ACCM => s.accm = o.as_u32(),
            OPT_AUTH => s.auth = AuthMethod::from_data(o.data()),
            OPT_MAGIC => s.magic = o.as_u32().unwrap_or(0),
            OPT_PFC => s.pfc = true,
            OPT_ACFC => s.acfc = true,
            _ => {}
        }
    }
    s
}

mod maintenance;

#[cfg(test)]
mod tests;
