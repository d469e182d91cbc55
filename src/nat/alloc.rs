//! Public Call ID allocator.
//!
//! Public Call IDs must be unique per (public IP, remote IP): the remote
//! peer's GRE to the public address carries the ID, and that pair is all the
//! kernel sees. IDs are never 0 (without the kernel helper an inbound GRE
//! packet with key 0 can match the reply side of an outbound GRE conntrack
//! entry), start at a random point, and a released ID rests in quarantine
//! while a conntrack entry of its GRE could still be alive, so a later call
//! never inherits an earlier call's NAT binding.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Pool {
    used: HashSet<u16>,
    resting: HashMap<u16, Instant>,
    /// Last time `resting` was swept of IDs whose quarantine is over.
    swept: Option<Instant>,
    next: u16,
}

/// How often a pool forgets IDs whose quarantine is over: sweeping on every
/// allocation would make a burst of failed calls quadratic.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One allocator shared by the helper and the router's own client (one
/// thread, so `Rc<RefCell<_>>`).
pub type SharedAllocator = Rc<RefCell<Allocator>>;

/// Allocator of public Call IDs, one pool per (public IP, remote IP).
#[derive(Debug)]
pub struct Allocator {
    pools: HashMap<(Ipv4Addr, Ipv4Addr), Pool>,
    quarantine: Duration,
    rng: u64,
}

impl Allocator {
    /// `seed` gives the random start of each pool; `quarantine` is how long a
    /// released ID rests (longer than the GRE conntrack stream timeout).
    pub fn new(seed: u64, quarantine: Duration) -> Self {
        Allocator {
            pools: HashMap::new(),
            quarantine,
            rng: seed | 1,
        }
    }

    /// Wrap for sharing.
    pub fn shared(self) -> SharedAllocator {
        Rc::new(RefCell::new(self))
    }

    fn random_u16(&mut self) -> u16 {
        // xorshift64*: enough to spread pool start points.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 48) as u16
    }

    /// A fresh ID, or `None` when every ID for this pair is taken or resting.
    pub fn alloc(&mut self, public: Ipv4Addr, remote: Ipv4Addr, now: Instant) -> Option<u16> {
        let start = self.random_u16();
        let quarantine = self.quarantine;
        let pool = self.pools.entry((public, remote)).or_insert_with(|| Pool {
            next: start,
            ..Pool::default()
        });
        if pool
            .swept
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY)
        {
            pool.swept = Some(now);
            pool.resting
                .retain(|_, since| now.saturating_duration_since(*since) < quarantine);
        }
        let rests = |since: &Instant| now.saturating_duration_since(*since) < quarantine;
        let mut id = pool.next;
        for _ in 0..=u16::MAX as u32 {
            if id != 0 && !pool.used.contains(&id) && !pool.resting.get(&id).is_some_and(rests) {
                pool.used.insert(id);
                pool.next = id.wrapping_add(1);
                return Some(id);
            }
            id = id.wrapping_add(1);
        }
        None
    }

    /// Mark an ID as taken (calls recovered after a restart). False if it
    /// was already taken.
    pub fn reserve(&mut self, public: Ipv4Addr, remote: Ipv4Addr, id: u16) -> bool {
        let start = self.random_u16();
        let pool = self.pools.entry((public, remote)).or_insert_with(|| Pool {
            next: start,
            ..Pool::default()
        });
        pool.resting.remove(&id);
        id != 0 && pool.used.insert(id)
    }

    /// Give an ID back; it rests for the quarantine time first.
    pub fn release(&mut self, public: Ipv4Addr, remote: Ipv4Addr, id: u16, now: Instant) {
        if let Some(pool) = self.pools.get_mut(&(public, remote)) {
            if pool.used.remove(&id) {
                pool.resting.insert(id, now);
            }
        }
    }

    /// Move every pool of `from` over to `to`: the WAN address appeared
    /// while calls made without one (under `0.0.0.0`) are alive. Their IDs
    /// stay taken in the new address's pools, so no new call can be given
    /// one of them, and releasing them later finds them.
    pub fn rehome(&mut self, from: Ipv4Addr, to: Ipv4Addr) {
        if from == to {
            return;
        }
        let keys: Vec<_> = self
            .pools
            .keys()
            .filter(|(p, _)| *p == from)
            .copied()
            .collect();
        for key in keys {
            let Some(old) = self.pools.remove(&key) else {
                continue;
            };
            let pool = self.pools.entry((to, key.1)).or_insert_with(|| Pool {
                next: old.next,
                ..Pool::default()
            });
            for (id, since) in old.resting {
                pool.resting.entry(id).or_insert(since);
            }
            for id in old.used {
                pool.resting.remove(&id);
                pool.used.insert(id);
            }
        }
    }

    /// Forget every pool of a public address (it went away).
    pub fn forget_public(&mut self, public: Ipv4Addr) {
        self.pools.retain(|(p, _), _| *p != public);
    }

    /// IDs in use for the pair.
    pub fn in_use(&self, public: Ipv4Addr, remote: Ipv4Addr) -> usize {
        self.pools
            .get(&(public, remote))
            .map_or(0, |p| p.used.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
    const S1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    const S2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);

    #[test]
    fn unique_per_pair_never_zero_until_exhausted() {
        let now = Instant::now();
        let mut a = Allocator::new(7, Duration::from_secs(300));
        let mut seen = HashSet::new();
        for _ in 0..65535 {
            let id = a.alloc(P, S1, now).expect("free id");
            assert_ne!(id, 0);
            assert!(seen.insert(id), "duplicate {id}");
        }
        assert_eq!(a.alloc(P, S1, now), None, "exhaustion must refuse");
        // Another server has its own pool.
        assert!(a.alloc(P, S2, now).is_some());
    }

    #[test]
    fn random_start_differs_by_seed() {
        let now = Instant::now();
        let firsts: HashSet<u16> = (1..20u64)
            .map(|s| {
                Allocator::new(s * 7919, Duration::ZERO)
                    .alloc(P, S1, now)
                    .unwrap()
            })
            .collect();
        assert!(firsts.len() > 10, "starts not spread: {firsts:?}");
    }

    #[test]
    fn released_ids_rest_in_quarantine() {
        let t0 = Instant::now();
        let q = Duration::from_secs(300);
        let mut a = Allocator::new(1, q);
        let ids: Vec<u16> = (0..65535).map(|_| a.alloc(P, S1, t0).unwrap()).collect();
        a.release(P, S1, ids[5], t0);
        assert_eq!(a.alloc(P, S1, t0 + q / 2), None, "resting id reused");
        assert_eq!(a.alloc(P, S1, t0 + q), Some(ids[5]));
    }

    #[test]
    fn quarantine_is_exact_between_sweeps_and_swept_later() {
        let q = Duration::from_secs(300);
        // Later than `now` by q, so that `t0 - q` cannot underflow.
        let t0 = Instant::now() + q;
        let mut a = Allocator::new(3, q);
        let ids: Vec<u16> = (0..65535).map(|_| a.alloc(P, S1, t0).unwrap()).collect();
        // A sweep just ran (at t0); the ID's rest ends 0.5 s later, before
        // the next sweep is due: it must be free all the same.
        a.release(P, S1, ids[9], t0 + SWEEP_EVERY / 2 - q);
        assert_eq!(a.alloc(P, S1, t0 + SWEEP_EVERY / 2), Some(ids[9]));
        // Rested IDs are forgotten once a sweep runs.
        a.release(P, S1, ids[1], t0);
        a.release(P, S1, ids[2], t0);
        let _ = a.alloc(P, S1, t0 + q + SWEEP_EVERY);
        assert!(a.pools[&(P, S1)].resting.is_empty());
    }

    #[test]
    fn rehome_keeps_ids_taken_and_releasable() {
        let now = Instant::now();
        let q = Duration::from_secs(300);
        let mut a = Allocator::new(5, q);
        let early = a.alloc(Ipv4Addr::UNSPECIFIED, S1, now).unwrap();
        let gone = a.alloc(Ipv4Addr::UNSPECIFIED, S1, now).unwrap();
        a.release(Ipv4Addr::UNSPECIFIED, S1, gone, now);
        let other = a.alloc(P, S2, now).unwrap();
        a.rehome(Ipv4Addr::UNSPECIFIED, P);
        assert_eq!(a.in_use(Ipv4Addr::UNSPECIFIED, S1), 0);
        assert_eq!(a.in_use(P, S1), 1);
        assert_eq!(a.in_use(P, S2), 1);
        // Neither the live ID nor the resting one is handed out again.
        for _ in 0..65533 {
            let id = a.alloc(P, S1, now).expect("free id");
            assert!(id != early && id != gone);
        }
        assert_eq!(a.alloc(P, S1, now), None);
        // Releasing the early call's ID now finds it in the new pool.
        a.release(P, S1, early, now);
        let later: HashSet<u16> = (0..2).filter_map(|_| a.alloc(P, S1, now + q)).collect();
        assert_eq!(later, HashSet::from([early, gone]));
        assert_ne!(a.alloc(P, S2, now), Some(other));
    }

    #[test]
    fn reserve_blocks_recovered_ids() {
        let now = Instant::now();
        let mut a = Allocator::new(3, Duration::ZERO);
        let first = a.alloc(P, S1, now).unwrap();
        a.release(P, S1, first, now);
        let mut b = Allocator::new(3, Duration::ZERO);
        assert!(b.reserve(P, S1, first));
        assert!(!b.reserve(P, S1, first));
        assert!(!b.reserve(P, S1, 0));
        assert_ne!(b.alloc(P, S1, now), Some(first));
        assert_eq!(b.in_use(P, S1), 2);
        b.forget_public(P);
        assert_eq!(b.in_use(P, S1), 0);
    }
}
