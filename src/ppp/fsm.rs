//! The PPP option-negotiation automaton (RFC 1661 §4), shared by LCP, IPCP
//! and CCP. Sans-IO: inputs are the §4.3 events (`up`, `down`, `open`,
//! `close`, received packets, `handle_timeout`), outputs are control
//! packets (`poll_transmit`), the §4.4 layer actions as [`Event`]s
//! (`poll_event`) and the Restart timer's deadline (`poll_timeout`).
//! Protocol specifics live behind the [`Options`] trait.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::error::Error;
use super::frame::Protocol;
use super::packet::{Code, Opt, Packet, Repr};

/// RFC 1661 §6.1 default MRU; also the bound for codes 1-7 (§5).
pub const DEFAULT_MRU: u16 = 1500;

/// Automaton states (RFC 1661 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Initial,
    Starting,
    Closed,
    Stopped,
    Closing,
    Stopping,
    ReqSent,
    AckRcvd,
    AckSent,
    Opened,
}

impl State {
    /// The states with TO events, where the Restart timer runs (§4.1).
    fn timer_runs(self) -> bool {
        matches!(
            self,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        )
    }

    /// Mid-negotiation: a new Configure-Request keeps the options state.
    fn negotiating(self) -> bool {
        matches!(self, State::ReqSent | State::AckRcvd | State::AckSent)
    }
}

/// Restart timer and counters (RFC 1661 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Restart timer period (default 3 s).
    pub restart: Duration,
    /// Terminate-Requests sent without a Terminate-Ack (default 2).
    pub max_terminate: u8,
    /// Configure-Requests sent without a reply (default 10).
    pub max_configure: u8,
    /// Configure-Naks sent without an Ack before Naks turn into Rejects
    /// (default 5).
    pub max_failure: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            restart: Duration::from_secs(3),
            max_terminate: 2,
            max_configure: 10,
            max_failure: 5,
        }
    }
}

/// The answer to a peer's Configure-Request (RFC 1661 §5.2-5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every option is acceptable.
    Ack,
    /// Options with the values we would accept, in request order, possibly
    /// followed by options we want the peer to add.
    Nak(Vec<Opt>),
    /// Unmodified copies of the options we refuse to negotiate.
    Reject(Vec<Opt>),
}

impl Verdict {
    /// Reject wins over Nak, and Nak over Ack.
    pub fn from_lists(nak: Vec<Opt>, reject: Vec<Opt>) -> Verdict {
        if !reject.is_empty() {
            Verdict::Reject(reject)
        } else if !nak.is_empty() {
            Verdict::Nak(nak)
        } else {
            Verdict::Ack
        }
    }
}

/// What the automaton reports to the layers around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// This-Layer-Up: entered Opened (§4.4 tlu).
    Up,
    /// This-Layer-Down: left Opened (tld).
    Down,
    /// This-Layer-Started: the lower layer is needed (tls).
    Started,
    /// This-Layer-Finished: the lower layer is no longer needed (tlf).
    Finished,
    /// Negotiation cannot succeed; the automaton acts as on Close.
    Failed(Error),
    /// LCP: the peer Protocol-Rejected this protocol (RXJ+, §5.7); stop
    /// sending it (close that NCP).
    ProtocolRejected(Protocol),
    /// LCP: a packet carried our own Magic-Number (§6.4).
    LoopedBack,
    /// LCP: the configured number of Echo-Requests went unanswered.
    KeepaliveTimeout,
    /// CCP: the peer's decompressor failed (RFC 1962 §3.1).
    ResetRequest { identifier: u8, data: Vec<u8> },
    /// CCP: the peer reset its compressor.
    ResetAck { identifier: u8, data: Vec<u8> },
}

/// How an [`Options`] implementation took a packet with a Code other than
/// 1-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ext {
    /// Not a Code of this protocol: answered with Code-Reject (RUC).
    Unknown,
    /// Dealt with (RXR, RXJ+, or silently discarded).
    Handled,
    /// A catastrophic reject, e.g. Protocol-Reject of LCP (RXJ-).
    Catastrophic,
}

/// What an [`Options`] implementation may use while handling extra codes
/// and its own timers.
pub struct Ctx<'a> {
    state: State,
    peer_mru: usize,
    next_id: &'a mut u8,
    out: &'a mut VecDeque<Vec<u8>>,
    events: &'a mut VecDeque<Event>,
}

impl Ctx<'_> {
    /// The automaton's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The largest control packet the peer accepts (its MRU, §6.1).
    pub fn peer_mru(&self) -> usize {
        self.peer_mru
    }

    /// A fresh Identifier.
    pub fn next_identifier(&mut self) -> u8 {
        next(self.next_id)
    }

    /// Queue a control packet.
    pub fn send(&mut self, repr: &Repr<'_>) {
        match repr.to_vec() {
            Ok(v) => self.out.push_back(v),
            Err(e) => tracing::warn!("PPP control packet not sent: {e}"),
        }
    }

    /// Report an event.
    pub fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }
}

fn next(id: &mut u8) -> u8 {
    let v = *id;
    *id = id.wrapping_add(1);
    v
}

/// The protocol-specific half of the automaton (LCP, IPCP, CCP).
pub trait Options {
    /// A new negotiation starts: go back to the configured wishes.
    fn reset(&mut self) {}
    /// The options for our next Configure-Request.
    fn request(&mut self) -> Vec<Opt>;
    /// Judge the peer's Configure-Request (no state change yet).
    fn on_peer_request(&mut self, opts: &[Opt]) -> Verdict;
    /// We Acked these options of the peer: they are now in force.
    fn on_peer_acked(&mut self, opts: &[Opt]);
    /// The peer Acked our request `opts`.
    fn on_ack(&mut self, opts: &[Opt]);
    /// The peer Nak'd: adjust the next request, or give up.
    fn on_nak(&mut self, opts: &[Opt]) -> Result<(), Error>;
    /// The peer Rejected `opts`: stop asking for them, or give up.
    fn on_reject(&mut self, opts: &[Opt]) -> Result<(), Error>;
    /// The peer's MRU, if this protocol negotiates it (LCP).
    fn peer_mru(&self) -> Option<u16> {
        None
    }
    /// Called on tlu. An error (e.g. a required option that ended up not
    /// negotiated) is reported as [`Event::Failed`] and closes the layer.
    fn on_up(&mut self, _now: Instant) -> Result<(), Error> {
        Ok(())
    }
    /// Called on tld.
    fn on_down(&mut self) {}
    /// A packet with a Code other than 1-7.
    fn on_extended(&mut self, _ctx: &mut Ctx<'_>, _now: Instant, _packet: &Packet<'_>) -> Ext {
        Ext::Unknown
    }
    /// The protocol's own timer (e.g. LCP keepalive).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// Called when `poll_timeout` has passed.
    fn handle_timeout(&mut self, _ctx: &mut Ctx<'_>, _now: Instant) {}
}

/// One option-negotiation automaton for one protocol.
#[derive(Debug)]
pub struct Fsm<O> {
    protocol: Protocol,
    opts: O,
    config: Config,
    state: State,
    restart_count: u8,
    deadline: Option<Instant>,
    next_id: u8,
    /// Identifier and options of our last Configure-Request.
    req_id: u8,
    request: Vec<Opt>,
    /// Whether a reply to that request is still welcome.
    awaiting_reply: bool,
    naks_sent: u8,
    peer_mru: u16,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

mod actions;
mod transitions;

impl<O: Options> Fsm<O> {
    /// A new automaton in the Initial state.
    pub fn new(protocol: Protocol, opts: O, config: Config) -> Self {
        Fsm {
            protocol,
            opts,
            config,
            state: State::Initial,
            restart_count: 0,
            deadline: None,
            next_id: 1,
            req_id: 0,
            request: Vec::new(),
            awaiting_reply: false,
            naks_sent: 0,
            peer_mru: DEFAULT_MRU,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The protocol this automaton negotiates (frame its packets with it).
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol-specific half.
    pub fn options(&self) -> &O {
        &self.opts
    }

    /// The protocol-specific half, mutably (e.g. to change policy).
    pub fn options_mut(&mut self) -> &mut O {
        &mut self.opts
    }

    /// Set the peer's MRU learned by LCP (for NCPs; LCP knows its own).
    pub fn set_peer_mru(&mut self, mru: u16) {
        self.peer_mru = mru;
    }

    fn peer_mru_now(&self) -> usize {
        usize::from(self.opts.peer_mru().unwrap_or(self.peer_mru))
    }

    /// Run `f` with the options half and a context to send packets and
    /// report events (for protocol-specific packets such as Echo).
    pub fn with_ctx<R>(&mut self, f: impl FnOnce(&mut O, &mut Ctx<'_>) -> R) -> R {
        let peer_mru = self.peer_mru_now();
        let mut ctx = Ctx {
            state: self.state,
            peer_mru,
            next_id: &mut self.next_id,
            out: &mut self.out,
            events: &mut self.events,
        };
        f(&mut self.opts, &mut ctx)
    }

    /// The next control packet to send, Code through Data.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// The next event for the surrounding layers.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.deadline, self.opts.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run the timers that expired by `now` (TO+/TO-, §4.3).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            self.timeout(now);
        }
        if self.opts.poll_timeout().is_some_and(|d| d <= now) {
            self.with_ctx(|o, ctx| o.handle_timeout(ctx, now));
        }
    }

    /// Handle a received control packet (the PPP Information field).
    /// Malformed packets are discarded without affecting the automaton
    /// (§5) and reported as the error.
    pub fn handle_packet(&mut self, now: Instant, buf: &[u8]) -> Result<(), Error> {
        let packet = Packet::parse(buf)?;
        if matches!(self.state, State::Initial | State::Starting) {
            tracing::debug!(protocol = ?self.protocol, "packet while lower layer down");
            return Ok(());
        }
        let repr = match packet.code {
            Code::ConfigureRequest
            | Code::ConfigureAck
            | Code::ConfigureNak
            | Code::ConfigureReject
            | Code::TerminateRequest
            | Code::TerminateAck
            | Code::CodeReject => Repr::from_packet(&packet)?,
            _ => {
                let verdict = self.with_ctx(|o, ctx| o.on_extended(ctx, now, &packet));
                match verdict {
                    Ext::Unknown => {
                        let whole = buf.get(..packet.buffer_len()).unwrap_or(buf);
                        self.ruc(whole);
                    }
                    Ext::Handled => {}
                    Ext::Catastrophic => self.rxj_minus(now),
                }
                return Ok(());
            }
        };
        match repr {
            Repr::ConfigureRequest {
                identifier,
                options,
            } => self.rcr(now, identifier, options),
            Repr::ConfigureAck {
                identifier,
                options,
            } => self.rca(now, identifier, &options),
            Repr::ConfigureNak {
                identifier,
                options,
            } => self.rcn(now, identifier, &options, false),
            Repr::ConfigureReject {
                identifier,
                options,
            } => self.rcn(now, identifier, &options, true),
            Repr::TerminateRequest { identifier, .. } => self.rtr(now, identifier),
            Repr::TerminateAck { .. } => self.rta(now),
            Repr::CodeReject { rejected, .. } => match rejected.first() {
                // Rejecting any of codes 1-7 is catastrophic (§4.3).
                Some(1..=7) => self.rxj_minus(now),
                _ => tracing::debug!(protocol = ?self.protocol, "Code-Reject (RXJ+)"),
            },
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests;
