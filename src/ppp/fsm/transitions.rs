//! The RFC 1661 §4.1 state transition table, event by event, and the §4.4
//! actions.

use std::time::Instant;

use super::{DEFAULT_MRU, Event, Fsm, Options, State, Verdict};
use crate::ppp::packet::{HEADER_LEN, Opt, Repr};

use State::*;

impl<O: Options> Fsm<O> {
    /// Up: the lower layer can carry packets.
    pub fn up(&mut self, now: Instant) {
        match self.state {
            Initial => self.set(Closed),
            Starting => {
                self.irc(false);
                self.scr(now);
                self.set(ReqSent);
            }
            s => self.illegal("Up", s),
        }
    }

    /// Down: the lower layer is gone.
    pub fn down(&mut self, _now: Instant) {
        match self.state {
            Closed | Closing => self.set(Initial),
            Stopped => {
                self.tls();
                self.set(Starting);
            }
            Stopping | ReqSent | AckRcvd | AckSent => self.set(Starting),
            Opened => {
                self.tld();
                self.set(Starting);
            }
            s => self.illegal("Down", s),
        }
    }

    /// Open: the link is administratively available.
    pub fn open(&mut self, now: Instant) {
        match self.state {
            Initial => {
                self.tls();
                self.set(Starting);
            }
            Closed => {
                self.irc(false);
                self.scr(now);
                self.set(ReqSent);
            }
            Closing => self.set(Stopping),
            _ => {}
        }
    }

    /// Close: the link is not allowed to be Opened.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            Starting => {
                self.tlf();
                self.set(Initial);
            }
            Stopped => self.set(Closed),
            Stopping => self.set(Closing),
            ReqSent | AckRcvd | AckSent | Opened => {
                if self.state == Opened {
                    self.tld();
                }
                self.irc(true);
                self.str(now);
                self.set(Closing);
            }
            Initial | Closed | Closing => {}
        }
    }

    /// TO+ or TO-, depending on the Restart counter.
    pub(super) fn timeout(&mut self, now: Instant) {
        let plus = self.restart_count > 0;
        match (self.state, plus) {
            (Closing | Stopping, true) => self.str(now),
            (ReqSent | AckRcvd, true) => {
                self.resend_request(now);
                self.set(ReqSent);
            }
            (AckSent, true) => self.resend_request(now),
            (Closing, false) => {
                self.tlf();
                self.set(Closed);
            }
            (Stopping | ReqSent | AckRcvd | AckSent, false) => {
                self.tlf();
                self.set(Stopped);
            }
            (s, _) => self.illegal("TO", s),
        }
    }

    /// RCR+ or RCR-.
    pub(super) fn rcr(&mut self, now: Instant, id: u8, opts: Vec<Opt>) {
        match self.state {
            Closed => return self.sta(id),
            Closing | Stopping | Initial | Starting => return,
            _ => {}
        }
        let verdict = self.judge(&opts);
        let good = verdict == Verdict::Ack;
        match self.state {
            Stopped => {
                self.irc(false);
                self.scr(now);
            }
            Opened => {
                self.tld();
                self.scr(now);
            }
            _ => {}
        }
        self.reply(id, opts, verdict);
        match (self.state, good) {
            (AckRcvd, true) => self.enter_opened(now),
            (AckRcvd, false) => {}
            (_, true) => self.set(AckSent),
            (_, false) => self.set(ReqSent),
        }
    }

    /// RCA. Only an Ack of our outstanding request with exactly its
    /// options is valid (§5.2).
    pub(super) fn rca(&mut self, now: Instant, id: u8, opts: &[Opt]) {
        match self.state {
            Closed | Stopped => return self.sta(id),
            Closing | Stopping | Initial | Starting => return,
            _ => {}
        }
        if !self.reply_matches(id) || opts != self.request.as_slice() {
            tracing::debug!(protocol = ?self.protocol, id, "invalid Configure-Ack dropped");
            return;
        }
        self.awaiting_reply = false;
        self.opts.on_ack(opts);
        match self.state {
            ReqSent => {
                self.irc(false);
                self.set(AckRcvd);
            }
            AckSent => {
                self.irc(false);
                self.enter_opened(now);
            }
            // Crossed connection ([x]).
            AckRcvd => {
                self.scr(now);
                self.set(ReqSent);
            }
            _ => {
                self.tld();
                self.scr(now);
                self.set(ReqSent);
            }
        }
    }

    /// RCN, for both Configure-Nak and Configure-Reject. A Reject must
    /// list only options of our request, unmodified (§5.4).
    pub(super) fn rcn(&mut self, now: Instant, id: u8, opts: &[Opt], reject: bool) {
        match self.state {
            Closed | Stopped => return self.sta(id),
            Closing | Stopping | Initial | Starting => return,
            _ => {}
        }
        let subset = !reject || opts.iter().all(|o| self.request.contains(o));
        if !self.reply_matches(id) || !subset {
            tracing::debug!(protocol = ?self.protocol, id, "invalid Configure-Nak/Reject dropped");
            return;
        }
        self.awaiting_reply = false;
        let adjusted = if reject {
            self.opts.on_reject(opts)
        } else {
            self.opts.on_nak(opts)
        };
        if let Err(e) = adjusted {
            tracing::info!(protocol = ?self.protocol, "negotiation failed: {e}");
            self.events.push_back(Event::Failed(e));
            return self.close(now);
        }
        let next = match self.state {
            ReqSent => {
                self.irc(false);
                ReqSent
            }
            AckSent => {
                self.irc(false);
                AckSent
            }
            AckRcvd => ReqSent,
            _ => {
                self.tld();
                ReqSent
            }
        };
        self.scr(now);
        self.set(next);
    }

    /// RTR.
    pub(super) fn rtr(&mut self, now: Instant, id: u8) {
        match self.state {
            Closed | Stopped | Closing | Stopping => self.sta(id),
            ReqSent | AckRcvd | AckSent => {
                self.sta(id);
                self.set(ReqSent);
            }
            Opened => {
                self.tld();
                self.restart_count = 0;
                self.deadline = Some(now + self.config.restart);
                self.sta(id);
                self.set(Stopping);
            }
            Initial | Starting => {}
        }
    }

    /// RTA.
    pub(super) fn rta(&mut self, now: Instant) {
        match self.state {
            Closing => {
                self.tlf();
                self.set(Closed);
            }
            Stopping => {
                self.tlf();
                self.set(Stopped);
            }
            AckRcvd => self.set(ReqSent),
            Opened => {
                self.tld();
                self.scr(now);
                self.set(ReqSent);
            }
            _ => {}
        }
    }

    /// RUC: Code-Reject the whole packet, truncated to the peer's MRU
    /// (§5.6) and never beyond the default MRU (codes 1-7 are sent as if
    /// nothing were negotiated, §5).
    pub(super) fn ruc(&mut self, packet: &[u8]) {
        let room = self
            .peer_mru_now()
            .min(usize::from(DEFAULT_MRU))
            .saturating_sub(HEADER_LEN);
        let rejected = packet.get(..room).unwrap_or(packet);
        let identifier = super::next(&mut self.next_id);
        self.send(&Repr::CodeReject {
            identifier,
            rejected,
        });
    }

    /// RXJ-: the peer rejected something this protocol cannot do without.
    pub(super) fn rxj_minus(&mut self, now: Instant) {
        match self.state {
            Closed | Closing => {
                self.tlf();
                self.set(Closed);
            }
            Stopped | Stopping | ReqSent | AckRcvd | AckSent => {
                self.tlf();
                self.set(Stopped);
            }
            Opened => {
                self.tld();
                self.irc(true);
                self.str(now);
                self.set(Stopping);
            }
            Initial | Starting => {}
        }
    }
}
