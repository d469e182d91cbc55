//! When the tracker next has work, so that the I/O edge sleeps until then
//! instead of waking on a fixed tick (an idle helper wakes only for its
//! periodic checks).

use std::time::Instant;

use super::{Config, Conn, ConnKey, Tracker};

impl Conn {
    /// The earliest time [`Tracker::poll`] has work for this connection:
    /// a held or parked segment's hold time, the idle timeout, the next
    /// refresh. `None` where every sum overflows (no work ever).
    pub(super) fn deadline(&self, cfg: &Config) -> Option<Instant> {
        let waits = self
            .streams
            .iter()
            .flat_map(|s| [s.held_since(), s.parked_since()])
            .flatten()
            .filter_map(|t| t.checked_add(cfg.hold_timeout));
        let timers = [
            self.last_seen.checked_add(cfg.idle_timeout),
            self.last_refresh.checked_add(cfg.refresh_every),
        ];
        waits.chain(timers.into_iter().flatten()).min()
    }
}

/// The earlier of two optional deadlines (`None`: never).
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Tracker {
    /// When [`Tracker::poll`] next has work (quinn-style: the caller
    /// sleeps until then). `None` while no connection is tracked: an idle
    /// helper needs no timer at all. It may come early (a connection's
    /// segment moved its idle timeout on); a poll then just sets it anew.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wake
    }

    /// Bring the wake-up forward to `key`'s deadline after its state
    /// changed.
    pub(super) fn rearm(&mut self, key: &ConnKey) {
        if let Some(c) = self.conns.get(key) {
            self.wake = earliest(self.wake, c.deadline(&self.cfg));
        }
    }
}
