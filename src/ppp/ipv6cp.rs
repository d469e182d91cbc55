//! The IPv6 Control Protocol (RFC 5072). Only Interface-Identifier (1) is
//! negotiated; IPv6-Compression-Protocol (2) and anything else are
//! Configure-Rejected. The identifiers form each end's link-local address
//! `fe80::/64` (RFC 5072 §5) and, on the client, its SLAAC addresses.

use super::error::Error;
use super::frame::Protocol;
use super::fsm::{self, Fsm, Options, Verdict};
use super::packet::Opt;

/// Interface-Identifier (RFC 5072 §4.1).
pub const OPT_INTERFACE_ID: u8 = 1;
/// IPv6-Compression-Protocol (RFC 5072 §4.2), always rejected.
pub const OPT_IPV6_COMPRESSION: u8 = 2;

/// IPV6CP policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv6cpConfig {
    /// Our interface identifier; `None` draws one from `seed`. A server
    /// with one TUN device for every session uses one identifier for all.
    pub local: Option<u64>,
    /// Identifiers the peer must not use (other sessions' peers on the
    /// same device): Nak'd like a collision with ours (RFC 5072 §4.1).
    pub avoid: Vec<u64>,
    /// Seed for the identifiers we draw (ours, and those we suggest).
    pub seed: u64,
}

/// The negotiated identifiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv6cpParams {
    /// Ours, as Acked by the peer.
    pub local: Option<u64>,
    /// The peer's, as Acked by us; `None` if it sent none.
    pub remote: Option<u64>,
}

/// The IPV6CP half of the automaton.
#[derive(Debug, Clone)]
pub struct Ipv6cpOptions {
    config: Ipv6cpConfig,
    /// splitmix64 state: identifiers need to be unlikely to collide, not
    /// secret (RFC 5072 §4.1 suggests any random source).
    state: u64,
    /// Our identifier; `None` once the peer rejected the option.
    want: Option<u64>,
    params: Ipv6cpParams,
}

/// IPV6CP: the automaton with [`Ipv6cpOptions`].
pub type Ipv6cp = Fsm<Ipv6cpOptions>;

/// The link-local address of an interface identifier (RFC 4291 §2.5.6).
pub fn link_local(id: u64) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::from((0xfe80u128 << 112) | u128::from(id))
}

impl Ipv6cpOptions {
    pub fn new(config: Ipv6cpConfig) -> Self {
        let mut o = Ipv6cpOptions {
            state: config.seed,
            want: None,
            params: Ipv6cpParams::default(),
            config,
        };
        let first = o.config.local.unwrap_or_else(|| o.fresh(None));
        o.config.local = Some(first);
        o.reset();
        o
    }

    /// The negotiated identifiers (meaningful once Opened).
    pub fn params(&self) -> &Ipv6cpParams {
        &self.params
    }

    /// A new non-zero identifier that is neither ours, `not`, nor one to
    /// avoid.
    fn fresh(&mut self, not: Option<u64>) -> u64 {
        loop {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            if z != 0 && Some(z) != not && Some(z) != self.want && !self.config.avoid.contains(&z) {
                return z;
            }
        }
    }
}

fn id_of(o: &Opt) -> Option<u64> {
    <[u8; 8]>::try_from(o.data()).ok().map(u64::from_be_bytes)
}

fn id_opt(id: u64) -> Opt {
    Opt::u64(OPT_INTERFACE_ID, id)
}

impl Options for Ipv6cpOptions {
    fn reset(&mut self) {
        self.want = self.config.local;
        self.params = Ipv6cpParams::default();
    }

    fn request(&mut self) -> Vec<Opt> {
        self.want.map(id_opt).into_iter().collect()
    }

    /// RFC 5072 §4.1: a zero identifier, or one equal to ours (or to
    /// another session's peer), is Nak'd with a fresh suggestion.
    fn on_peer_request(&mut self, opts: &[Opt]) -> Verdict {
        let (mut nak, mut reject) = (Vec::new(), Vec::new());
        for o in opts {
            match (o.kind(), id_of(o)) {
                (OPT_INTERFACE_ID, Some(id)) => {
                    let ours = self.want.or(self.config.local);
                    if id == 0 || Some(id) == ours || self.config.avoid.contains(&id) {
                        let suggestion = self.fresh(Some(id));
                        nak.push(id_opt(suggestion));
                    }
                }
                _ => reject.push(o.clone()),
            }
        }
        Verdict::from_lists(nak, reject)
    }

    fn on_peer_acked(&mut self, opts: &[Opt]) {
        self.params.remote = opts
            .iter()
            .find(|o| o.kind() == OPT_INTERFACE_ID)
            .and_then(id_of);
    }

    fn on_ack(&mut self, _opts: &[Opt]) {
        self.params.local = self.want.or(self.config.local);
    }

    /// Take the peer's suggestion unless it is zero or what we already
    /// asked for (a collision on its side: draw a new one, §4.1).
    fn on_nak(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts {
            if o.kind() != OPT_INTERFACE_ID || self.want.is_none() {
                continue;
            }
            match id_of(o) {
                Some(id) if id != 0 && Some(id) != self.want => self.want = Some(id),
                _ => self.want = Some(self.fresh(self.want)),
            }
        }
        Ok(())
    }

    /// A peer that rejects the identifier still has ours for its link-local
    /// address; it is kept for our own.
    fn on_reject(&mut self, opts: &[Opt]) -> Result<(), Error> {
        if opts.iter().any(|o| o.kind() == OPT_INTERFACE_ID) {
            self.config.local = self.want.or(self.config.local);
            self.want = None;
        }
        Ok(())
    }
}

impl Fsm<Ipv6cpOptions> {
    /// An IPV6CP automaton in the Initial state.
    pub fn with_config(config: Ipv6cpConfig, fsm: fsm::Config) -> Self {
        Fsm::new(Protocol::IPV6CP, Ipv6cpOptions::new(config), fsm)
    }

    /// The negotiated identifiers.
    pub fn params(&self) -> &Ipv6cpParams {
        self.options().params()
    }
}

#[cfg(test)]
mod tests;
