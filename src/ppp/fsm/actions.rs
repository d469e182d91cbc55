//! The RFC 1661 §4.4 actions (tlu, tld, tls, tlf, irc, zrc, scr, sca/scn,
//! str, sta) and the bookkeeping around them.

use std::time::Instant;

use super::{Event, Fsm, Options, State, Verdict};
use crate::ppp::packet::{Opt, Repr};

use State::*;

impl<O: Options> Fsm<O> {
    /// Ask the options half, then apply Max-Failure: past it a Nak becomes
    /// a Reject of the same options and appended options are dropped
    /// (§4.6).
    pub(super) fn judge(&mut self, opts: &[Opt]) -> Verdict {
        match self.opts.on_peer_request(opts) {
            Verdict::Nak(nak) if self.naks_sent >= self.config.max_failure => {
                let reject: Vec<Opt> = opts
                    .iter()
                    .filter(|o| nak.iter().any(|n| n.kind() == o.kind()))
                    .cloned()
                    .collect();
                Verdict::from_lists(Vec::new(), reject)
            }
            Verdict::Nak(nak) => Verdict::from_lists(nak, Vec::new()),
            Verdict::Reject(rej) => Verdict::from_lists(Vec::new(), rej),
            Verdict::Ack => Verdict::Ack,
        }
    }

    /// sca or scn.
    pub(super) fn reply(&mut self, identifier: u8, opts: Vec<Opt>, verdict: Verdict) {
        let repr = match verdict {
            Verdict::Ack => {
                self.naks_sent = 0;
                self.opts.on_peer_acked(&opts);
                Repr::ConfigureAck {
                    identifier,
                    options: opts,
                }
            }
            Verdict::Nak(options) => {
                self.naks_sent = self.naks_sent.saturating_add(1);
                Repr::ConfigureNak {
                    identifier,
                    options,
                }
            }
            Verdict::Reject(options) => Repr::ConfigureReject {
                identifier,
                options,
            },
        };
        self.send(&repr);
    }

    pub(super) fn reply_matches(&self, id: u8) -> bool {
        self.awaiting_reply && id == self.req_id
    }

    /// Change state; the Restart timer stops outside its states (§4.1).
    pub(super) fn set(&mut self, state: State) {
        if state != self.state {
            tracing::debug!(protocol = ?self.protocol, from = ?self.state, to = ?state, "PPP FSM");
        }
        self.state = state;
        if !state.timer_runs() {
            self.deadline = None;
        }
    }

    pub(super) fn illegal(&self, event: &str, state: State) {
        tracing::warn!(protocol = ?self.protocol, ?state, "illegal PPP FSM event {event}");
    }

    /// Enter Opened with tlu; a failed check on the options closes again.
    pub(super) fn enter_opened(&mut self, now: Instant) {
        self.set(Opened);
        self.events.push_back(Event::Up);
        if let Err(e) = self.opts.on_up(now) {
            tracing::info!(protocol = ?self.protocol, "negotiated options refused: {e}");
            self.events.push_back(Event::Failed(e));
            self.close(now);
        }
    }

    pub(super) fn tld(&mut self) {
        self.opts.on_down();
        self.events.push_back(Event::Down);
    }

    pub(super) fn tls(&mut self) {
        self.events.push_back(Event::Started);
    }

    pub(super) fn tlf(&mut self) {
        self.events.push_back(Event::Finished);
    }

    /// irc: Max-Terminate before str, Max-Configure before scr.
    pub(super) fn irc(&mut self, terminate: bool) {
        self.restart_count = if terminate {
            self.config.max_terminate
        } else {
            self.config.max_configure
        };
    }

    pub(super) fn arm(&mut self, now: Instant) {
        self.restart_count = self.restart_count.saturating_sub(1);
        self.deadline = Some(now + self.config.restart);
    }

    /// scr: a new Configure-Request with a new Identifier (§5.1). Outside
    /// a negotiation the options start over from the configuration.
    pub(super) fn scr(&mut self, now: Instant) {
        if !self.state.negotiating() {
            self.opts.reset();
            self.naks_sent = 0;
        }
        self.req_id = super::next(&mut self.next_id);
        self.request = self.opts.request();
        self.resend_request(now);
    }

    /// scr on TO+: the same request again, Identifier unchanged.
    pub(super) fn resend_request(&mut self, now: Instant) {
        self.awaiting_reply = true;
        self.send(&Repr::ConfigureRequest {
            identifier: self.req_id,
            options: self.request.clone(),
        });
        self.arm(now);
    }

    pub(super) fn str(&mut self, now: Instant) {
        let identifier = super::next(&mut self.next_id);
        self.send(&Repr::TerminateRequest {
            identifier,
            data: &[],
        });
        self.arm(now);
    }

    pub(super) fn sta(&mut self, identifier: u8) {
        self.send(&Repr::TerminateAck {
            identifier,
            data: &[],
        });
    }

    pub(super) fn send(&mut self, repr: &Repr<'_>) {
        match repr.to_vec() {
            Ok(v) => self.out.push_back(v),
            Err(e) => tracing::warn!(protocol = ?self.protocol, "packet not sent: {e}"),
        }
    }
}
