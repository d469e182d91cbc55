//! One call's data path, sans-IO: the GRE channel (RFC 2637 §4) carrying a
//! PPP session. GRE packets and timer ticks in; GRE packets, IPv4 packets
//! and session events out.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::gre::GreChannel;
use crate::ppp::session::Session;

/// A call's GRE channel and PPP session, and the peer's address.
pub struct Link {
    pub gre: GreChannel,
    pub ppp: Session,
    pub peer: Ipv4Addr,
}

impl Link {
    pub fn new(gre: GreChannel, ppp: Session, peer: Ipv4Addr) -> Self {
        Link { gre, ppp, peer }
    }

    /// A GRE packet (header onwards) from the peer.
    pub fn on_gre(&mut self, now: Instant, pkt: &[u8]) {
        if let Ok(frames) = self.gre.receive(now, pkt) {
            for f in frames {
                self.ppp.handle_frame(now, &f);
            }
        }
    }

    /// Timers of both layers.
    pub fn on_timeout(&mut self, now: Instant) {
        if self.gre.poll_timeout().is_some_and(|t| t <= now) {
            for f in self.gre.handle_timeout(now) {
                self.ppp.handle_frame(now, &f);
            }
        }
        if self.ppp.poll_timeout().is_some_and(|t| t <= now) {
            self.ppp.handle_timeout(now);
        }
    }

    /// Next GRE packet to send to the peer.
    pub fn poll_gre(&mut self, now: Instant) -> Option<Vec<u8>> {
        match self.ppp.poll_transmit() {
            Some(frame) => Some(self.gre.send(now, &frame)),
            None => self.gre.poll_transmit(),
        }
    }
}
