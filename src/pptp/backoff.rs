//! When a client dials again after its link dropped: exponential back-off
//! between a floor and a ceiling, so a dead server is not hammered and a
//! short outage is over quickly.

use std::time::Duration;

/// A link that stayed up this long was healthy: the next retry starts
/// from the floor again.
pub const HEALTHY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_secs(1));
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The wait before the next attempt, after an attempt that failed or a
    /// link that was up for `up_for`.
    pub fn after(&mut self, up_for: Option<Duration>) -> Duration {
        if up_for.is_some_and(|d| d >= HEALTHY) {
            self.next = self.min;
        }
        let wait = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling_and_resets_after_a_healthy_link() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(s(5), s(30));
        let waits: Vec<u64> = (0..5).map(|_| b.after(None).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 30, 30]);
        // A link that held briefly does not reset; a healthy one does.
        assert_eq!(b.after(Some(s(10))), s(30));
        assert_eq!(b.after(Some(s(600))), s(5));
        assert_eq!(b.after(None), s(10));
    }

    #[test]
    fn silly_settings_are_made_safe() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.after(None), Duration::from_secs(1));
        assert_eq!(b.after(None), Duration::from_secs(1));
    }
}
