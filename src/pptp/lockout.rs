//! Lockout after repeated authentication failures, per user and per source
//! address, with a doubling back-off. Sans-IO: time is passed in.
//!
//! User names come from the peer, so the table is bounded: failures are
//! forgotten `max` after the last one, lockouts `max` after they end, and
//! at most [`MAX_ENTRIES`] keys are kept (the least recently failed key
//! that is not locked out goes first).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What a failure counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    User(String),
    Addr(Ipv4Addr),
}

/// Keys remembered at most: a guesser cycling through user names cannot
/// grow the table beyond this (about 1 MiB with 255-byte names).
pub const MAX_ENTRIES: usize = 4096;

#[derive(Debug)]
struct Entry {
    failures: u32,
    strikes: u32,
    until: Option<Instant>,
    /// The last failure.
    last: Instant,
}

impl Entry {
    fn locked(&self, now: Instant) -> bool {
        self.until.is_some_and(|t| now < t)
    }
}

/// Failure counters and lockouts.
#[derive(Debug)]
pub struct Lockout {
    limit: u32,
    base: Duration,
    max: Duration,
    entries: HashMap<Key, Entry>,
    /// Keys forgotten early because the table was full (for `status`).
    pub evicted: u64,
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
            evicted: 0,
        }
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Record a failure; returns the lockout it started, if any.
    pub fn failure(&mut self, key: Key, now: Instant) -> Option<Duration> {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ENTRIES {
            self.prune(now);
            if self.entries.len() >= MAX_ENTRIES {
                self.evict(now);
            }
        }
        let e = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            strikes: 0,
            until: None,
            last: now,
        });
        e.last = now;
        e.failures = e.failures.saturating_add(1);
        if e.failures < self.limit {
            return None;
        }
        e.failures = 0;
        e.strikes = e.strikes.saturating_add(1);
        let d = self
            .base
            .saturating_mul(1u32 << e.strikes.saturating_sub(1).min(16))
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
        self.entries.get(key).is_some_and(|e| e.locked(now))
    }

    /// Make room for one key: forget the least recently failed key that
    /// is not locked out, or, when all are, the one whose lockout ends
    /// first.
    fn evict(&mut self, now: Instant) {
        let victim = self
            .entries
            .iter()
            .min_by_key(|(_, e)| (e.locked(now), e.until.unwrap_or(e.last), e.last))
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            self.entries.remove(&k);
            self.evicted = self.evicted.saturating_add(1);
        }
    }

    /// Forget what is old: failures `max` after the last one, a lockout
    /// (and its back-off) `max` after it ended.
    pub fn prune(&mut self, now: Instant) {
        let max = self.max;
        self.entries.retain(|_, e| {
            e.until.is_some_and(|t| now < t + max) || (e.failures > 0 && now < e.last + max)
        });
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

    #[test]
    fn failures_are_forgotten_after_max() {
        let t0 = Instant::now();
        let max = Duration::from_secs(3600);
        let mut l = Lockout::new(5, Duration::from_secs(60), max);
        let k = Key::User("bob".into());
        l.failure(k.clone(), t0);
        l.prune(t0 + max - Duration::from_secs(1));
        assert_eq!(l.len(), 1, "a recent failure is kept");
        l.prune(t0 + max);
        assert!(
            l.is_empty(),
            "an old failure without a lockout is forgotten"
        );
    }

    /// A guesser cycling through user names (one failure each) cannot grow
    /// the table, and cannot push a running lockout out of it.
    #[test]
    fn table_is_bounded_and_keeps_lockouts() {
        let t0 = Instant::now();
        let mut l = Lockout::new(2, Duration::from_secs(60), Duration::from_secs(3600));
        let victim = Key::User("alice".into());
        l.failure(victim.clone(), t0);
        assert!(l.failure(victim.clone(), t0).is_some());
        let guesser = Key::Addr(Ipv4Addr::new(203, 0, 113, 9));
        l.failure(guesser.clone(), t0);
        for i in 0..(2 * MAX_ENTRIES) {
            let t = t0 + Duration::from_millis(i as u64);
            l.failure(Key::User(format!("user{i}")), t);
            assert!(l.len() <= MAX_ENTRIES);
        }
        assert_eq!(l.len(), MAX_ENTRIES);
        assert!(l.evicted >= MAX_ENTRIES as u64);
        assert!(
            l.locked(&victim, t0 + Duration::from_secs(30)),
            "lockout kept"
        );
        // The oldest unlocked key went first.
        assert!(!l.entries.contains_key(&guesser));
    }
}
