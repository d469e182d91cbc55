//! Router Solicitation and Advertisement over the link once IPV6CP is open
//! (RFC 5072 §5, RFC 4861 §6): a server that has a prefix for the session
//! advertises it, a client solicits and reports what it is told. The
//! session keeps these packets from the TUN device.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use super::{Session, SessionEvent};
use crate::ppp::ipv6cp::link_local;
use crate::wire::nd::{self, RouterAdvert};

/// RFC 4861 §10: the first advertisements come faster than the rest.
const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// MaxRtrAdvInterval's default (§6.2.1); the lifetimes we send are
/// several times it (router 3×, RFC 8106 §5.1 DNS 3×).
const MAX_RTR_ADV_INTERVAL: Duration = Duration::from_secs(nd::MAX_RTR_ADV_INTERVAL_SECS as u64);
/// §6.2.6: answers to solicitations at most this often.
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// §10: a host solicits at most 3 times, 4 s apart.
const MAX_RTR_SOLICITATIONS: u8 = 3;
const RTR_SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);

/// The Neighbor Discovery role of an IPv6-up link.
#[derive(Debug)]
pub(super) enum Nd {
    /// Server: advertise `ra` (its MTU option set from the link).
    Advertise {
        ra: RouterAdvert,
        src: Ipv6Addr,
        next: Instant,
        initial_left: u8,
        last: Option<Instant>,
    },
    /// Client: solicit until an advertisement comes.
    Solicit {
        src: Ipv6Addr,
        left: u8,
        next: Option<Instant>,
    },
}

impl Session {
    /// IPv6 just came up: start advertising or soliciting.
    pub(super) fn start_nd(&mut self, now: Instant, local_id: u64) {
        let src = link_local(local_id);
        self.nd = match (&self.cfg.advertise, self.role) {
            (Some(ra), super::Role::Server) => {
                let mut ra = ra.clone();
                ra.mtu = Some(u32::from(self.mtu()));
                Some(Nd::Advertise {
                    ra,
                    src,
                    next: now,
                    initial_left: MAX_INITIAL_RTR_ADVERTISEMENTS,
                    last: None,
                })
            }
            (_, super::Role::Client) if self.cfg.solicit => Some(Nd::Solicit {
                src,
                left: MAX_RTR_SOLICITATIONS,
                next: Some(now),
            }),
            _ => None,
        };
        self.run_nd(now);
    }

    pub(super) fn nd_timeout(&self) -> Option<Instant> {
        match &self.nd {
            Some(Nd::Advertise { next, .. }) => Some(*next),
            Some(Nd::Solicit { next, .. }) => *next,
            None => None,
        }
    }

    /// Send what is due by `now`.
    pub(super) fn run_nd(&mut self, now: Instant) {
        let out = match &mut self.nd {
            Some(Nd::Advertise {
                ra,
                src,
                next,
                initial_left,
                last,
            }) if *next <= now => {
                let gap = if *initial_left > 0 {
                    *initial_left = initial_left.saturating_sub(1);
                    MAX_INITIAL_RTR_ADVERT_INTERVAL
                } else {
                    MAX_RTR_ADV_INTERVAL
                };
                *next = now.checked_add(gap).unwrap_or(now);
                *last = Some(now);
                nd::router_advertisement(*src, nd::ALL_NODES, ra)
            }
            Some(Nd::Solicit { src, left, next }) if next.is_some_and(|t| t <= now) => {
                *left = left.saturating_sub(1);
                *next = (*left > 0)
                    .then(|| now.checked_add(RTR_SOLICITATION_INTERVAL))
                    .flatten();
                nd::router_solicitation(*src)
            }
            _ => return,
        };
        if let Err(e) = self.send_ip(&out) {
            tracing::debug!("neighbor discovery packet not sent: {e}");
        }
    }

    /// Take a received IPv6 packet that is ours: a solicitation (server)
    /// or an advertisement (client). True if it was taken.
    pub(super) fn nd_input(&mut self, now: Instant, pkt: &[u8]) -> bool {
        match &mut self.nd {
            Some(Nd::Advertise { next, last, .. }) if nd::is_router_solicitation(pkt) => {
                let soonest = last
                    .and_then(|t| t.checked_add(MIN_DELAY_BETWEEN_RAS))
                    .unwrap_or(now)
                    .max(now);
                *next = (*next).min(soonest);
                self.run_nd(now);
                true
            }
            Some(Nd::Solicit { next, .. }) => match nd::parse_router_advertisement(pkt) {
                Some((router, ra)) => {
                    *next = None;
                    self.events
                        .push_back(SessionEvent::RouterAdvert { router, ra });
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}
