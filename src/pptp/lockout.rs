//! Lockout after repeated authentication failures, per user and per source
//! address, with a doubling back-off. Sans-IO: time is passed in.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What a failure counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    User(String),
    Addr(Ipv4Addr),
}

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    strikes: u32,
    until: Option<Instant>,
}

/// Failure counters and lockouts.
#[derive(Debug)]
pub struct Lockout {
    limit: u32,
    base: Duration,
    max: Duration,
    entries: HashMap<Key, Entry>,
}

impl Lockout {
    /// Lock a key out for `base` after `limit` failures in a row, twice as
    /// long each further time, at most `max`.
    pub fn new(limit: u32, base: Duration, max: Duration) -> Self {
        Lockout {
            limit: limit.max(1),
            base,
            max,
            entries: HashMap::new(),
        }
    }

    /// Record a failure; returns the lockout it started, if any.
    pub fn failure(&mut self, key: Key, now: Instant) -> Option<Duration> {
        let e = self.entries.entry(key).or_default();
        e.failures += 1;
        if e.failures < self.limit {
            return None;
        }
        e.failures = 0;
        e.strikes = e.strikes.saturating_add(1);
        let d = self
            .base
            .saturating_mul(1u32 << (e.strikes - 1).min(16))
            .min(self.max);
        e.until = Some(now + d);
        Some(d)
    }

    /// A success clears the counter (not a running lockout's back-off).
    pub fn success(&mut self, key: &Key) {
        if let Some(e) = self.entries.get_mut(key) {
            e.failures = 0;
        }
    }

    /// Whether `key` is locked out at `now`.
    pub fn locked(&self, key: &Key, now: Instant) -> bool {
        self.entries
            .get(key)
            .and_then(|e| e.until)
            .is_some_and(|t| now < t)
    }

    /// Forget entries with nothing left to remember (bounded memory).
    pub fn prune(&mut self, now: Instant) {
        let max = self.max;
        self.entries
            .retain(|_, e| e.failures > 0 || e.until.is_some_and(|t| now < t + max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_and_doubles() {
        let t0 = Instant::now();
        let mut l = Lockout::new(3, Duration::from_secs(60), Duration::from_secs(3600));
        let k = Key::User("alice".into());
        assert_eq!(l.failure(k.clone(), t0), None);
        assert_eq!(l.failure(k.clone(), t0), None);
        assert_eq!(l.failure(k.clone(), t0), Some(Duration::from_secs(60)));
        assert!(l.locked(&k, t0 + Duration::from_secs(59)));
        assert!(!l.locked(&k, t0 + Duration::from_secs(60)));
        let t1 = t0 + Duration::from_secs(61);
        for _ in 0..2 {
            l.failure(k.clone(), t1);
        }
        assert_eq!(l.failure(k.clone(), t1), Some(Duration::from_secs(120)));
        for _ in 0..30 {
            l.failure(k.clone(), t1);
        }
        assert!(l.locked(&k, t1 + Duration::from_secs(3599)));
        assert!(
            !l.locked(&k, t1 + Duration::from_secs(3600)),
            "capped at max"
        );
        assert!(
            !l.locked(&Key::Addr(Ipv4Addr::LOCALHOST), t1),
            "keys are separate"
        );
    }

    #[test]
    fn success_resets_the_count() {
        let t0 = Instant::now();
        let mut l = Lockout::new(2, Duration::from_secs(60), Duration::from_secs(3600));
        let k = Key::Addr(Ipv4Addr::new(198, 51, 100, 20));
        l.failure(k.clone(), t0);
        l.success(&k);
        assert_eq!(l.failure(k.clone(), t0), None);
        l.prune(t0);
        assert_eq!(l.entries.len(), 1);
    }
}
