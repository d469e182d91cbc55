//! LCP link maintenance (RFC 1661 §5.7-5.9): Protocol-Reject, Echo-Request
//! and Echo-Reply (with the keepalive timer) and Discard-Request; and the
//! informational Identification and Time-Remaining (RFC 1570 §2).

use std::time::Instant;

use super::{LcpConfig, LcpOptions, Params};
use crate::ppp::frame::Protocol;
use crate::ppp::fsm::{self, Ctx, Event, Ext, Fsm, State};
use crate::ppp::packet::{Code, HEADER_LEN, Packet, Repr};

/// Magic-Number and Code/Identifier/Length ahead of Echo data (§5.8).
const ECHO_OVERHEAD: usize = HEADER_LEN + 4;

/// RFC 1570 §2.1 and §2.2.
const CODE_IDENTIFICATION: u8 = 12;
const CODE_TIME_REMAINING: u8 = 13;

impl LcpOptions {
    /// Codes 8-11 (§5.7-5.9) and 12-13 (RFC 1570); anything else is
    /// unknown to LCP.
    pub(super) fn extended(&mut self, ctx: &mut Ctx<'_>, packet: &Packet<'_>) -> Ext {
        if let Code::Unknown(c @ (CODE_IDENTIFICATION | CODE_TIME_REMAINING)) = packet.code {
            informational(c, packet.data);
            return Ext::Handled;
        }
        match Repr::from_packet(packet) {
            Ok(
                r @ (Repr::EchoRequest { .. }
                | Repr::EchoReply { .. }
                | Repr::ProtocolReject { .. }),
            ) => self.echo(ctx, r),
            Ok(Repr::DiscardRequest { .. }) => Ext::Handled,
            Ok(_) => Ext::Unknown,
            Err(e) => {
                tracing::debug!("malformed LCP packet dropped: {e}");
                Ext::Handled
            }
        }
    }

    fn echo(&mut self, ctx: &mut Ctx<'_>, repr: Repr<'_>) -> Ext {
        if ctx.state() != State::Opened {
            return Ext::Handled; // §5.8: only in Opened.
        }
        let ours = self.params.local.magic;
        match repr {
            Repr::EchoRequest { magic, .. } | Repr::EchoReply { magic, .. }
                if ours != 0 && magic == ours =>
            {
                ctx.event(Event::LoopedBack);
            }
            Repr::EchoRequest {
                identifier, data, ..
            } => {
                let room = ctx.peer_mru().saturating_sub(ECHO_OVERHEAD);
                let data = data.get(..room).unwrap_or(data);
                ctx.send(&Repr::EchoReply {
                    identifier,
                    magic: ours,
                    data,
                });
            }
            Repr::EchoReply { .. } => self.echo_outstanding = 0,
            Repr::ProtocolReject { protocol, .. } => {
                if Protocol(protocol) == Protocol::LCP {
                    return Ext::Catastrophic;
                }
                ctx.event(Event::ProtocolRejected(Protocol(protocol)));
            }
            _ => {}
        }
        Ext::Handled
    }

    /// The keepalive timer fired: send an Echo-Request, or give up.
    pub(super) fn keepalive(&mut self, ctx: &mut Ctx<'_>, now: Instant) {
        let Some(interval) = self.config.echo_interval else {
            self.echo_next = None;
            return;
        };
        if ctx.state() != State::Opened || self.echo_outstanding >= self.config.echo_failures {
            if ctx.state() == State::Opened {
                ctx.event(Event::KeepaliveTimeout);
            }
            self.echo_next = None;
            return;
        }
        let identifier = ctx.next_identifier();
        ctx.send(&Repr::EchoRequest {
            identifier,
            magic: self.params.local.magic,
            data: &[],
        });
        self.echo_outstanding = self.echo_outstanding.saturating_add(1);
        self.echo_next = Some(now + interval);
    }
}

impl Fsm<LcpOptions> {
    /// An LCP automaton in the Initial state.
    pub fn with_config(config: LcpConfig, fsm: fsm::Config) -> Self {
        Fsm::new(Protocol::LCP, LcpOptions::new(config), fsm)
    }

    /// The negotiated parameters.
    pub fn params(&self) -> &Params {
        self.options().params()
    }

    /// Protocol-Reject a received frame of an unknown protocol (§5.7):
    /// only in Opened, `info` (the frame's Information field) truncated to
    /// the peer's MRU. Returns whether a packet was queued.
    pub fn protocol_reject(&mut self, protocol: Protocol, info: &[u8]) -> bool {
        self.with_ctx(|_, ctx| {
            if ctx.state() != State::Opened {
                return false;
            }
            let room = ctx.peer_mru().saturating_sub(HEADER_LEN + 2);
            let identifier = ctx.next_identifier();
            ctx.send(&Repr::ProtocolReject {
                identifier,
                protocol: protocol.0,
                info: info.get(..room).unwrap_or(info),
            });
            true
        })
    }

    /// Send an Echo-Request now (only in Opened); returns its Identifier.
    pub fn send_echo_request(&mut self, data: &[u8]) -> Option<u8> {
        self.with_ctx(|o, ctx| {
            if ctx.state() != State::Opened {
                return None;
            }
            let room = ctx.peer_mru().saturating_sub(ECHO_OVERHEAD);
            let identifier = ctx.next_identifier();
            ctx.send(&Repr::EchoRequest {
                identifier,
                magic: o.params.local.magic,
                data: data.get(..room).unwrap_or(data),
            });
            Some(identifier)
        })
    }
}

/// Identification (Magic-Number, Message) and Time-Remaining
/// (Magic-Number, Seconds-Remaining, Message) only inform: Windows sends
/// Identification (its host name and version) as LCP opens, and pppd,
/// pptpd and RRAS take both silently. Logged at debug, never answered:
/// a Code-Reject of them is noise Windows does not expect.
fn informational(code: u8, data: &[u8]) {
    let (what, skip) = if code == CODE_IDENTIFICATION {
        ("Identification", 4)
    } else {
        ("Time-Remaining", 8)
    };
    let seconds = data
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes);
    let message = String::from_utf8_lossy(data.get(skip..).unwrap_or(&[]));
    match (code, seconds) {
        (CODE_TIME_REMAINING, Some(s)) => tracing::debug!(
            seconds = s, message = %crate::ratelimit::Untrusted(&message), "LCP {what} from the peer"
        ),
        _ => {
            tracing::debug!(message = %crate::ratelimit::Untrusted(&message), "LCP {what} from the peer")
        }
    }
}
