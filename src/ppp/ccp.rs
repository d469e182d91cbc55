//! The Compression Control Protocol (RFC 1962) negotiating only MPPE
//! (RFC 3078 §2, option 18); every other option is Configure-Rejected.
//! Reset-Request and Reset-Ack (codes 14 and 15, RFC 1962 §3.1) are passed
//! to the caller as events: MPPE resynchronises stateful mode with them
//! (RFC 3078 §8.2).

use std::time::Instant;

use super::error::Error;
use super::frame::Protocol;
use super::fsm::{self, Ctx, Event, Ext, Fsm, Options, State, Verdict};
use super::packet::{Opt, Packet, Repr};

/// The MPPE/MPPC option (RFC 3078 §2).
pub const OPT_MPPE: u8 = 18;
/// Supported Bits (RFC 3078 §2). The letters in the RFC's figure and text
/// disagree; the values below are the ones peers use.
pub mod bits {
    /// H: stateless mode, a new key for every packet.
    pub const STATELESS: u32 = 0x0100_0000;
    /// 128-bit session keys.
    pub const KEY_128: u32 = 0x0000_0040;
    /// 56-bit session keys.
    pub const KEY_56: u32 = 0x0000_0080;
    /// 40-bit session keys.
    pub const KEY_40: u32 = 0x0000_0020;
    /// D: obsolete, never accepted.
    pub const OBSOLETE_D: u32 = 0x0000_0010;
    /// C: MPPC compression, never offered nor accepted.
    pub const MPPC: u32 = 0x0000_0001;
    /// All key-length bits.
    pub const KEYS: u32 = KEY_128 | KEY_56 | KEY_40;
}

/// MPPE session key length, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyLength {
    Bits40,
    Bits56,
    Bits128,
}

impl KeyLength {
    /// Strongest first (RFC 3078 §2.1).
    const BY_STRENGTH: [KeyLength; 3] = [KeyLength::Bits128, KeyLength::Bits56, KeyLength::Bits40];

    /// The Supported Bits flag for this length.
    pub fn bit(self) -> u32 {
        match self {
            KeyLength::Bits40 => bits::KEY_40,
            KeyLength::Bits56 => bits::KEY_56,
            KeyLength::Bits128 => bits::KEY_128,
        }
    }

    /// The strongest length whose bit is set in `b`.
    pub fn strongest_in(b: u32) -> Option<KeyLength> {
        Self::BY_STRENGTH.into_iter().find(|k| b & k.bit() != 0)
    }
}

/// A negotiated MPPE mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MppeMode {
    pub key: KeyLength,
    pub stateless: bool,
}

impl MppeMode {
    /// The mode an Acked option value selects: its strongest key length
    /// (a well-behaved responder leaves exactly one) and the H bit.
    pub fn from_bits(b: u32) -> Option<MppeMode> {
        Some(MppeMode {
            key: KeyLength::strongest_in(b)?,
            stateless: b & bits::STATELESS != 0,
        })
    }

    /// The Supported Bits for exactly this mode.
    pub fn bits(self) -> u32 {
        self.key.bit() | if self.stateless { bits::STATELESS } else { 0 }
    }
}

/// MPPE policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MppePolicy {
    pub allow_128: bool,
    pub allow_56: bool,
    pub allow_40: bool,
    /// Insist on stateless mode. When false, stateful mode is offered and
    /// stateless still taken if the peer asks for it.
    pub stateless: bool,
    /// Fail the layer when no MPPE mode is agreed (RFC 3078 §2).
    pub required: bool,
}

impl Default for MppePolicy {
    /// 128-bit stateless, required.
    fn default() -> Self {
        MppePolicy {
            allow_128: true,
            allow_56: false,
            allow_40: false,
            stateless: true,
            required: true,
        }
    }
}

impl MppePolicy {
    /// The key-length bits allowed.
    pub fn keys(&self) -> u32 {
        [
            (self.allow_128, bits::KEY_128),
            (self.allow_56, bits::KEY_56),
            (self.allow_40, bits::KEY_40),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, b)| acc | b)
    }

    fn h(&self) -> u32 {
        if self.stateless { bits::STATELESS } else { 0 }
    }

    /// The responder's answer to an offer: the strongest key length both
    /// allow (or our strongest, which the peer will refuse), and H if
    /// either side wants it (RFC 3078 §2.1). `None` when we allow none.
    fn answer(&self, offer: u32) -> Option<u32> {
        let key = KeyLength::strongest_in(offer & self.keys())
            .or_else(|| KeyLength::strongest_in(self.keys()))?;
        Some(key.bit() | self.h() | (offer & bits::STATELESS))
    }
}

/// The negotiated modes, per direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CcpParams {
    /// Our request as Acked: the mode for what we receive.
    pub local: Option<MppeMode>,
    /// The peer's request as Acked by us: the mode for what we send.
    pub remote: Option<MppeMode>,
}

impl CcpParams {
    /// The link's MPPE mode, when both directions agree.
    pub fn mode(&self) -> Option<MppeMode> {
        self.local.filter(|l| Some(*l) == self.remote)
    }
}

/// The CCP half of the automaton.
#[derive(Debug, Clone)]
pub struct CcpOptions {
    policy: MppePolicy,
    want: Option<u32>,
    params: CcpParams,
}

/// CCP: the automaton with [`CcpOptions`].
pub type Ccp = Fsm<CcpOptions>;

impl CcpOptions {
    pub fn new(policy: MppePolicy) -> Self {
        let mut o = CcpOptions {
            policy,
            want: None,
            params: CcpParams::default(),
        };
        o.reset();
        o
    }

    /// The negotiated modes (meaningful once Opened).
    pub fn params(&self) -> &CcpParams {
        &self.params
    }
}

impl Options for CcpOptions {
    /// Offer every allowed key length (RFC 3078 §2.1), never C.
    fn reset(&mut self) {
        let keys = self.policy.keys();
        self.want = (keys != 0).then_some(keys | self.policy.h());
        self.params = CcpParams::default();
    }

    fn request(&mut self) -> Vec<Opt> {
        self.want
            .map(|b| Opt::u32(OPT_MPPE, b))
            .into_iter()
            .collect()
    }

    fn on_peer_request(&mut self, opts: &[Opt]) -> Verdict {
        let (mut nak, mut reject) = (Vec::new(), Vec::new());
        let mut saw_mppe = false;
        for o in opts {
            let answer = self.policy.answer(o.as_u32().unwrap_or(0));
            match (o.kind(), answer) {
                (OPT_MPPE, Some(a)) => {
                    saw_mppe = true;
                    if o.as_u32() != Some(a) {
                        nak.push(Opt::u32(OPT_MPPE, a));
                    }
                }
                _ => reject.push(o.clone()),
            }
        }
        if !saw_mppe && self.policy.required {
            nak.extend(self.policy.answer(0).map(|a| Opt::u32(OPT_MPPE, a)));
        }
        Verdict::from_lists(nak, reject)
    }

    fn on_peer_acked(&mut self, opts: &[Opt]) {
        self.params.remote = mppe_mode(opts);
    }

    fn on_ack(&mut self, opts: &[Opt]) {
        self.params.local = mppe_mode(opts);
    }

    /// The responder picked one mode: take it if the policy allows it.
    fn on_nak(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts.iter().filter(|o| o.kind() == OPT_MPPE) {
            let b = o.as_u32().unwrap_or(0);
            let mode = MppeMode::from_bits(b);
            let ok = match mode {
                Some(m) => {
                    m.bits() == b
                        && self.policy.keys() & m.key.bit() != 0
                        && (m.stateless || !self.policy.stateless)
                }
                None => false,
            };
            if !ok {
                return Err(Error::MppeRefused(
                    "peer insists on a mode the policy forbids",
                ));
            }
            self.want = Some(b);
        }
        Ok(())
    }

    fn on_reject(&mut self, opts: &[Opt]) -> Result<(), Error> {
        if opts.iter().any(|o| o.kind() == OPT_MPPE) {
            if self.policy.required {
                return Err(Error::MppeRefused("peer rejected MPPE"));
            }
            self.want = None;
        }
        Ok(())
    }

    /// Both directions must use the same mode, and one is needed when
    /// MPPE is required.
    fn on_up(&mut self, _now: Instant) -> Result<(), Error> {
        match (self.params.local, self.params.remote) {
            (None, None) if !self.policy.required => Ok(()),
            (Some(l), Some(r)) if l == r => Ok(()),
            (None, None) => Err(Error::MppeRefused("MPPE not negotiated")),
            _ => Err(Error::MppeRefused("directions disagree")),
        }
    }

    fn on_extended(&mut self, ctx: &mut Ctx<'_>, _now: Instant, packet: &Packet<'_>) -> Ext {
        let opened = ctx.state() == State::Opened;
        match Repr::from_packet(packet) {
            Ok(Repr::ResetRequest { identifier, data }) if opened => {
                ctx.event(Event::ResetRequest {
                    identifier,
                    data: data.to_vec(),
                });
            }
            Ok(Repr::ResetAck { identifier, data }) if opened => {
                ctx.event(Event::ResetAck {
                    identifier,
                    data: data.to_vec(),
                });
            }
            Ok(Repr::ResetRequest { .. } | Repr::ResetAck { .. }) => {}
            _ => return Ext::Unknown,
        }
        Ext::Handled
    }
}

/// The MPPE mode an Acked option list selects.
fn mppe_mode(opts: &[Opt]) -> Option<MppeMode> {
    opts.iter()
        .find(|o| o.kind() == OPT_MPPE)
        .and_then(Opt::as_u32)
        .and_then(MppeMode::from_bits)
}

impl Fsm<CcpOptions> {
    /// A CCP automaton in the Initial state.
    pub fn with_config(policy: MppePolicy, fsm: fsm::Config) -> Self {
        Fsm::new(Protocol::CCP, CcpOptions::new(policy), fsm)
    }

    /// The negotiated modes.
    pub fn params(&self) -> &CcpParams {
        self.options().params()
    }

    /// Send a Reset-Request (RFC 1962 §3.1), only in Opened; returns its
    /// Identifier.
    pub fn send_reset_request(&mut self, data: &[u8]) -> Option<u8> {
        self.with_ctx(|_, ctx| {
            if ctx.state() != State::Opened {
                return None;
            }
            let identifier = ctx.next_identifier();
            ctx.send(&Repr::ResetRequest { identifier, data });
            Some(identifier)
        })
    }

    /// Answer a Reset-Request with a Reset-Ack carrying its Identifier.
    pub fn send_reset_ack(&mut self, identifier: u8, data: &[u8]) -> bool {
        self.with_ctx(|_, ctx| {
            if ctx.state() != State::Opened {
                return false;
            }
            ctx.send(&Repr::ResetAck { identifier, data });
            true
        })
    }
}

#[cfg(test)]
mod tests;
