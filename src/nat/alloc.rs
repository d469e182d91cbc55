//! Public Call ID allocator.
//!
//! Public Call IDs must be unique per (public IP, remote IP): the remote
//! peer's GRE to the public address carries the ID, and that pair is all the
//! kernel sees. IDs are never 0 (without the kernel helper an inbound GRE
//! packet with key 0 can match the reply side of an outbound GRE conntrack
//! entry), and a released ID rests in quarantine while a conntrack entry of
//! its GRE could still be alive, so a later call never inherits an earlier
//! call's NAT binding.
//!
//! A LAN host's call keeps its own Call ID as the public one when that is
//! free towards the peer: its inbound GRE then needs no per-packet rewrite
//! (RFC 2637 §4.1: the key is the receiver's Call ID). Any other call gets
//! an ID from [`REWRITTEN_FROM`] up, starting at a random point; inbound
//! GRE is looked up and rewritten only in that range, which a single bit
//! test picks out per packet.
//!
//! A LAN host can end calls as fast as it can send requests, so what one
//! host may hold towards one outside peer is bounded: [`MAX_LIVE_PER_HOST`]
//! calls, and [`MAX_RESTING_PER_HOST`] resting IDs, past which the host's
//! next call gets its own oldest resting ID back (a conntrack entry still
//! bound to that ID points at the same host, so nothing is inherited across
//! hosts). One host can therefore never put the whole ID space to rest and
//! deny other hosts their calls.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Calls one LAN host may hold at once towards one outside peer. A PPTP
/// client holds one; a LAN server holds one per caller, and each caller is
/// its own peer.
pub const MAX_LIVE_PER_HOST: usize = 256;

/// Public IDs of one LAN host's ended calls that rest towards one outside
/// peer before the host's calls start taking back their own.
pub const MAX_RESTING_PER_HOST: usize = 256;

/// Public Call IDs from here up are looked up and rewritten per inbound
/// GRE packet; below it a public ID is the LAN host's own. The top two bits
/// set: what the forward rule tests.
pub const REWRITTEN_FROM: u16 = 0xC000;

/// How many public IDs a pool has for calls that cannot keep their own.
pub const REWRITTEN_IDS: u32 = 0x1_0000 - REWRITTEN_FROM as u32;

/// The `n`-th ID of the rewritten range after `start` (wrapping inside it).
fn rewritten(start: u16, n: u32) -> u16 {
    let off = (u32::from(start.wrapping_sub(REWRITTEN_FROM)) + n) % REWRITTEN_IDS;
    // Below 0x1_0000 by construction.
    (u32::from(REWRITTEN_FROM) + off) as u16
}

/// Who an ID is for: the router's own client (trusted, not bounded) or a
/// LAN host (bounded per outside peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Router,
    Lan(Ipv4Addr),
}

/// Why no ID was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The call cannot keep its own ID, and every ID of the rewritten range
    /// towards the peer is taken or resting.
    Exhausted,
    /// The LAN host already holds [`MAX_LIVE_PER_HOST`] calls to the peer.
    HostLimit,
}

/// Counters for `status`.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct AllocStats {
    /// Calls refused because every ID towards the peer was taken or resting.
    pub refused_exhausted: u64,
    /// Calls refused because their LAN host held [`MAX_LIVE_PER_HOST`].
    pub refused_host_limit: u64,
    /// Calls given their host's own oldest resting ID
    /// ([`MAX_RESTING_PER_HOST`]).
    pub reused_own_resting: u64,
    /// Calls whose public Call ID is the LAN host's own (no per-packet
    /// rewrite).
    pub kept_own: u64,
}

/// What one owner holds in one pool. `resting` is in release order, and
/// holds exactly the pool's resting IDs of this owner.
#[derive(Debug, Default)]
struct Held {
    live: usize,
    resting: VecDeque<u16>,
}

#[derive(Debug, Default)]
struct Pool {
    used: HashMap<u16, Owner>,
    resting: HashMap<u16, (Instant, Owner)>,
    owners: HashMap<Owner, Held>,
    /// Last time `resting` was swept of IDs whose quarantine is over.
    swept: Option<Instant>,
    next: u16,
}

impl Pool {
    fn with_start(next: u16) -> Pool {
        Pool {
            next: rewritten(next, 0),
            ..Pool::default()
        }
    }

    /// Take `id` out of quarantine (over, reserved again or reused).
    fn unrest(&mut self, id: u16) {
        let Some((_, owner)) = self.resting.remove(&id) else {
            return;
        };
        if let Some(h) = self.owners.get_mut(&owner) {
            if let Some(i) = h.resting.iter().position(|&r| r == id) {
                h.resting.remove(i);
            }
            if h.live == 0 && h.resting.is_empty() {
                self.owners.remove(&owner);
            }
        }
    }

    fn take(&mut self, id: u16, owner: Owner) {
        self.unrest(id);
        self.used.insert(id, owner);
        self.owners.entry(owner).or_default().live += 1;
    }

    fn rest(&mut self, id: u16, since: Instant, owner: Owner) {
        self.resting.insert(id, (since, owner));
        self.owners.entry(owner).or_default().resting.push_back(id);
    }

    fn sweep(&mut self, now: Instant, quarantine: Duration) {
        let over: Vec<u16> = self
            .resting
            .iter()
            .filter(|(_, (since, _))| now.saturating_duration_since(*since) >= quarantine)
            .map(|(id, _)| *id)
            .collect();
        for id in over {
            self.unrest(id);
        }
    }
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
    /// Whether a LAN call may keep its own ID (off only in tests of the
    /// rewriting itself).
    keep_own: bool,
    pub stats: AllocStats,
}

impl Allocator {
    /// `seed` gives the random start of each pool; `quarantine` is how long a
    /// released ID rests (longer than the GRE conntrack stream timeout).
    pub fn new(seed: u64, quarantine: Duration) -> Self {
        Allocator {
            pools: HashMap::new(),
            quarantine,
            rng: seed | 1,
            keep_own: true,
            stats: AllocStats::default(),
        }
    }

    /// Give every call an ID of the rewritten range (tests of the rewrite).
    #[cfg(test)]
    pub fn rewrite_every_call(mut self) -> Self {
        self.keep_own = false;
        self
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

    fn pool(&mut self, public: Ipv4Addr, remote: Ipv4Addr) -> &mut Pool {
        let start = self.random_u16();
        self.pools
            .entry((public, remote))
            .or_insert_with(|| Pool::with_start(start))
    }

    /// A fresh ID for `owner`'s call to `remote`, from the rewritten range.
    pub fn alloc(
        &mut self,
        public: Ipv4Addr,
        remote: Ipv4Addr,
        owner: Owner,
        now: Instant,
    ) -> Result<u16, Refused> {
        self.alloc_keeping(public, remote, owner, 0, now)
    }

    /// An ID for `owner`'s call to `remote`: `own` itself if it is not 0,
    /// not taken, and not resting for another owner (a conntrack entry
    /// still bound to an ID the same host rests points at that host with
    /// that very Call ID); otherwise one from the rewritten range.
    pub fn alloc_keeping(
        &mut self,
        public: Ipv4Addr,
        remote: Ipv4Addr,
        owner: Owner,
        own: u16,
        now: Instant,
    ) -> Result<u16, Refused> {
        let (quarantine, keep_own) = (self.quarantine, self.keep_own);
        let pool = self.pool(public, remote);
        if pool
            .swept
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY)
        {
            pool.swept = Some(now);
            pool.sweep(now, quarantine);
        }
        let rests = |since: &Instant| now.saturating_duration_since(*since) < quarantine;
        if let (Owner::Lan(_), Some(h)) = (owner, pool.owners.get(&owner)) {
            if h.live >= MAX_LIVE_PER_HOST {
                self.stats.refused_host_limit += 1;
                return Err(Refused::HostLimit);
            }
        }
        if own != 0
            && keep_own
            && !pool.used.contains_key(&own)
            && pool
                .resting
                .get(&own)
                .is_none_or(|(s, o)| *o == owner || !rests(s))
        {
            pool.take(own, owner);
            self.stats.kept_own += 1;
            return Ok(own);
        }
        if let (Owner::Lan(_), Some(h)) = (owner, pool.owners.get(&owner)) {
            if h.resting.len() >= MAX_RESTING_PER_HOST {
                // Only an ID of the rewritten range: one below it is some
                // other call's own.
                if let Some(&id) = h.resting.iter().find(|&&id| id >= REWRITTEN_FROM) {
                    pool.take(id, owner);
                    self.stats.reused_own_resting += 1;
                    return Ok(id);
                }
            }
        }
        let start = pool.next;
        for n in 0..REWRITTEN_IDS {
            let id = rewritten(start, n);
            if !pool.used.contains_key(&id) && !pool.resting.get(&id).is_some_and(|(s, _)| rests(s))
            {
                pool.take(id, owner);
                pool.next = rewritten(id, 1);
                return Ok(id);
            }
        }
        self.stats.refused_exhausted += 1;
        Err(Refused::Exhausted)
    }

    /// Mark an ID as taken (calls recovered after a restart). False if it
    /// was already taken.
    pub fn reserve(&mut self, public: Ipv4Addr, remote: Ipv4Addr, id: u16, owner: Owner) -> bool {
        let pool = self.pool(public, remote);
        if id == 0 || pool.used.contains_key(&id) {
            return false;
        }
        pool.take(id, owner);
        true
    }

    /// Give an ID back; it rests for the quarantine time first.
    pub fn release(&mut self, public: Ipv4Addr, remote: Ipv4Addr, id: u16, now: Instant) {
        if let Some(pool) = self.pools.get_mut(&(public, remote)) {
            if let Some(owner) = pool.used.remove(&id) {
                if let Some(h) = pool.owners.get_mut(&owner) {
                    h.live = h.live.saturating_sub(1);
                }
                pool.rest(id, now, owner);
            }
        }
    }

    /// Free an ID at once, without rest: its call lives on and passes to
    /// another holder (a reload hands the helper's calls to the next one).
    pub fn forget(&mut self, public: Ipv4Addr, remote: Ipv4Addr, id: u16) {
        if let Some(pool) = self.pools.get_mut(&(public, remote)) {
            if let Some(owner) = pool.used.remove(&id) {
                if let Some(h) = pool.owners.get_mut(&owner) {
                    h.live = h.live.saturating_sub(1);
                    if h.live == 0 && h.resting.is_empty() {
                        pool.owners.remove(&owner);
                    }
                }
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
            let pool = self
                .pools
                .entry((to, key.1))
                .or_insert_with(|| Pool::with_start(old.next));
            let mut resting: Vec<_> = old.resting.into_iter().collect();
            resting.sort_by_key(|(_, (since, _))| *since);
            for (id, (since, owner)) in resting {
                if !pool.used.contains_key(&id) && !pool.resting.contains_key(&id) {
                    pool.rest(id, since, owner);
                }
            }
            for (id, owner) in old.used {
                if !pool.used.contains_key(&id) {
                    pool.take(id, owner);
                }
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
    use std::collections::HashSet;

    const R: Owner = Owner::Router;

    const P: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
    const S1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    const S2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);

    #[test]
    fn unique_per_pair_never_zero_until_exhausted() {
        let now = Instant::now();
        let mut a = Allocator::new(7, Duration::from_secs(300));
        let mut seen = HashSet::new();
        for _ in 0..REWRITTEN_IDS {
            let id = a.alloc(P, S1, R, now).expect("free id");
            assert_ne!(id, 0);
            assert!(seen.insert(id), "duplicate {id}");
        }
        assert_eq!(a.alloc(P, S1, R, now).ok(), None, "exhaustion must refuse");
        // Another server has its own pool.
        assert!(a.alloc(P, S2, R, now).ok().is_some());
    }

    #[test]
    fn random_start_differs_by_seed() {
        let now = Instant::now();
        let firsts: HashSet<u16> = (1..20u64)
            .map(|s| {
                Allocator::new(s * 7919, Duration::ZERO)
                    .alloc(P, S1, R, now)
                    .ok()
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
        let ids: Vec<u16> = (0..REWRITTEN_IDS)
            .map(|_| a.alloc(P, S1, R, t0).unwrap())
            .collect();
        a.release(P, S1, ids[5], t0);
        assert_eq!(
            a.alloc(P, S1, R, t0 + q / 2).ok(),
            None,
            "resting id reused"
        );
        assert_eq!(a.alloc(P, S1, R, t0 + q).ok(), Some(ids[5]));
    }

    #[test]
    fn quarantine_is_exact_between_sweeps_and_swept_later() {
        let q = Duration::from_secs(300);
        // Later than `now` by q, so that `t0 - q` cannot underflow.
        let t0 = Instant::now() + q;
        let mut a = Allocator::new(3, q);
        let ids: Vec<u16> = (0..REWRITTEN_IDS)
            .map(|_| a.alloc(P, S1, R, t0).unwrap())
            .collect();
        // A sweep just ran (at t0); the ID's rest ends 0.5 s later, before
        // the next sweep is due: it must be free all the same.
        a.release(P, S1, ids[9], t0 + SWEEP_EVERY / 2 - q);
        assert_eq!(a.alloc(P, S1, R, t0 + SWEEP_EVERY / 2).ok(), Some(ids[9]));
        // Rested IDs are forgotten once a sweep runs.
        a.release(P, S1, ids[1], t0);
        a.release(P, S1, ids[2], t0);
        let _ = a.alloc(P, S1, R, t0 + q + SWEEP_EVERY).ok();
        assert!(a.pools[&(P, S1)].resting.is_empty());
    }

    #[test]
    fn rehome_keeps_ids_taken_and_releasable() {
        let now = Instant::now();
        let q = Duration::from_secs(300);
        let mut a = Allocator::new(5, q);
        let early = a.alloc(Ipv4Addr::UNSPECIFIED, S1, R, now).unwrap();
        let gone = a.alloc(Ipv4Addr::UNSPECIFIED, S1, R, now).unwrap();
        a.release(Ipv4Addr::UNSPECIFIED, S1, gone, now);
        let other = a.alloc(P, S2, R, now).unwrap();
        a.rehome(Ipv4Addr::UNSPECIFIED, P);
        assert_eq!(a.in_use(Ipv4Addr::UNSPECIFIED, S1), 0);
        assert_eq!(a.in_use(P, S1), 1);
        assert_eq!(a.in_use(P, S2), 1);
        // Neither the live ID nor the resting one is handed out again.
        for _ in 0..REWRITTEN_IDS - 2 {
            let id = a.alloc(P, S1, R, now).expect("free id");
            assert!(id != early && id != gone);
        }
        assert_eq!(a.alloc(P, S1, R, now).ok(), None);
        // Releasing the early call's ID now finds it in the new pool.
        a.release(P, S1, early, now);
        let later: HashSet<u16> = (0..2)
            .filter_map(|_| a.alloc(P, S1, R, now + q).ok())
            .collect();
        assert_eq!(later, HashSet::from([early, gone]));
        assert_ne!(a.alloc(P, S2, R, now).ok(), Some(other));
    }

    #[test]
    fn reserve_blocks_recovered_ids() {
        let now = Instant::now();
        let mut a = Allocator::new(3, Duration::ZERO);
        let first = a.alloc(P, S1, R, now).unwrap();
        a.release(P, S1, first, now);
        let mut b = Allocator::new(3, Duration::ZERO);
        assert!(b.reserve(P, S1, first, R));
        assert!(!b.reserve(P, S1, first, R));
        assert!(!b.reserve(P, S1, 0, R));
        assert_ne!(b.alloc(P, S1, R, now).ok(), Some(first));
        assert_eq!(b.in_use(P, S1), 2);
        b.forget_public(P);
        assert_eq!(b.in_use(P, S1), 0);
    }

    const H1: Owner = Owner::Lan(Ipv4Addr::new(192, 168, 1, 10));
    const H2: Owner = Owner::Lan(Ipv4Addr::new(192, 168, 1, 11));

    /// A host that ends call after call (a new request each time) cannot
    /// put the peer's IDs to rest: past its resting bound its calls take
    /// back its own oldest IDs, and another host still gets a fresh one.
    #[test]
    fn one_host_cannot_put_every_id_to_rest() {
        let t0 = Instant::now();
        let mut a = Allocator::new(11, Duration::from_secs(300));
        let mut own = HashSet::new();
        for k in 0..65535u32 {
            let now = t0 + Duration::from_millis(u64::from(k));
            let id = a.alloc(P, S1, H1, now).expect("own call");
            own.insert(id);
            a.release(P, S1, id, now);
        }
        assert!(own.len() <= MAX_RESTING_PER_HOST + 1, "{}", own.len());
        assert_eq!(
            a.stats.reused_own_resting,
            65535 - MAX_RESTING_PER_HOST as u64
        );
        let later = t0 + Duration::from_secs(66);
        let other = a.alloc(P, S1, H2, later).expect("another host's call");
        assert!(!own.contains(&other), "{other} still rests for H1");
        // The reused ID is the oldest of H1's resting ones.
        let pool = &a.pools[&(P, S1)];
        let h = &pool.owners[&H1];
        assert_eq!(h.resting.len(), MAX_RESTING_PER_HOST);
        assert!(h.resting.iter().all(|id| pool.resting[id].1 == H1));
    }

    #[test]
    fn one_host_holds_a_bounded_number_of_live_calls() {
        let now = Instant::now();
        let mut a = Allocator::new(13, Duration::from_secs(300));
        let ids: Vec<u16> = (0..MAX_LIVE_PER_HOST)
            .map(|_| a.alloc(P, S1, H1, now).unwrap())
            .collect();
        assert_eq!(a.alloc(P, S1, H1, now), Err(Refused::HostLimit));
        assert_eq!(a.stats.refused_host_limit, 1);
        // Other hosts, other peers and the router are not limited by it.
        assert!(a.alloc(P, S1, H2, now).is_ok());
        assert!(a.alloc(P, S2, H1, now).is_ok());
        assert!(a.alloc(P, S1, R, now).is_ok());
        // Ending one call makes room for one.
        a.release(P, S1, ids[0], now);
        let next = a.alloc(P, S1, H1, now).unwrap();
        assert_ne!(next, ids[0], "a resting ID below the bound is not reused");
        assert_eq!(a.alloc(P, S1, H1, now), Err(Refused::HostLimit));
    }

    #[test]
    fn exhaustion_is_counted_apart_from_the_host_limit() {
        let now = Instant::now();
        let mut a = Allocator::new(17, Duration::from_secs(300));
        for _ in 0..REWRITTEN_IDS {
            a.alloc(P, S1, R, now).unwrap();
        }
        assert_eq!(a.alloc(P, S1, H1, now), Err(Refused::Exhausted));
        assert_eq!(a.stats.refused_exhausted, 1);
    }

    /// A call keeps its own Call ID when it is free towards the peer;
    /// otherwise it gets one from the rewritten range.
    #[test]
    fn a_call_keeps_its_own_id_when_free() {
        let t0 = Instant::now();
        let q = Duration::from_secs(300);
        let mut a = Allocator::new(23, q);
        assert_eq!(a.alloc_keeping(P, S1, H1, 4660, t0), Ok(4660));
        // Another host with the same ID towards the same peer: rewritten.
        let b = a.alloc_keeping(P, S1, H2, 4660, t0).unwrap();
        assert!(b >= REWRITTEN_FROM, "{b}");
        // Towards another peer the ID is free again.
        assert_eq!(a.alloc_keeping(P, S2, H2, 4660, t0), Ok(4660));
        // 0 is never public; an own ID in the rewritten range is kept too
        // (the rule looks it up and writes the same value back).
        assert!(a.alloc_keeping(P, S1, H1, 0, t0).unwrap() >= REWRITTEN_FROM);
        assert_eq!(a.alloc_keeping(P, S1, H1, 0xFFF0, t0), Ok(0xFFF0));
        assert_eq!(a.stats.kept_own, 3);
        // Resting: for its own host the ID comes back at once (a conntrack
        // entry still bound to it points at that host and that ID) ...
        a.release(P, S1, 4660, t0);
        assert_eq!(a.alloc_keeping(P, S1, H1, 4660, t0), Ok(4660));
        // ... for another host only after the quarantine.
        a.release(P, S1, 4660, t0);
        assert!(a.alloc_keeping(P, S1, H2, 4660, t0 + q / 2).unwrap() >= REWRITTEN_FROM);
        assert_eq!(a.alloc_keeping(P, S1, H2, 4660, t0 + q), Ok(4660));
    }

    /// Past its resting bound a host takes back its own oldest resting ID
    /// of the rewritten range, never an ID below it (another call's own).
    #[test]
    fn reuse_past_the_resting_bound_stays_in_the_rewritten_range() {
        let t0 = Instant::now();
        let mut a = Allocator::new(29, Duration::from_secs(300));
        // H1's calls keep IDs 1..=300, each ended.
        for own in 1..=300u16 {
            assert_eq!(a.alloc_keeping(P, S1, H1, own, t0), Ok(own));
            a.release(P, S1, own, t0);
        }
        // H2 holds 7, so H1's next call with 7 cannot keep it.
        a.release(P, S1, 7, t0);
        let t1 = t0 + Duration::from_secs(400);
        assert_eq!(a.alloc_keeping(P, S1, H2, 7, t1), Ok(7));
        let r = a.alloc_keeping(P, S1, H1, 7, t1).unwrap();
        assert!(r >= REWRITTEN_FROM, "{r}");
        a.release(P, S1, r, t1);
        // H1 now rests more than the bound (within the quarantine): its
        // next such call gets its resting rewritten ID back.
        for own in 1000..1300u16 {
            assert_eq!(a.alloc_keeping(P, S1, H1, own, t1), Ok(own));
            a.release(P, S1, own, t1);
        }
        assert_eq!(a.alloc_keeping(P, S1, H1, 7, t1), Ok(r));
        assert_eq!(a.stats.reused_own_resting, 1);
    }

    #[test]
    fn the_rewritten_range_wraps_inside_itself() {
        assert_eq!(rewritten(0xFFFF, 1), REWRITTEN_FROM);
        assert_eq!(rewritten(0x0005, 0), REWRITTEN_FROM + 5);
        assert_eq!(rewritten(REWRITTEN_FROM, REWRITTEN_IDS), REWRITTEN_FROM);
        // The forward rule's bit test (top two bits set) is this range.
        assert_eq!(REWRITTEN_FROM, 0b11 << 14);
    }

    /// The owners' books match the pool after any mix of operations.
    #[test]
    fn owner_books_stay_consistent() {
        let t0 = Instant::now();
        let q = Duration::from_secs(2);
        let mut a = Allocator::new(19, q);
        let hosts = [H1, H2, R];
        let mut live: Vec<u16> = Vec::new();
        let mut x = 12345u32;
        for k in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let now = t0 + Duration::from_millis(u64::from(k));
            match x % 4 {
                0 | 1 => {
                    // Own IDs from a small range, so that they collide.
                    let own = (x >> 20) as u16 % 64;
                    if let Ok(id) = a.alloc_keeping(P, S1, hosts[(x / 4 % 3) as usize], own, now) {
                        // Kept, or in the range the forward rule rewrites.
                        assert!(id == own || id >= REWRITTEN_FROM, "{id} for {own}");
                        assert_ne!(id, 0);
                        live.push(id);
                    }
                }
                2 if !live.is_empty() => {
                    let id = live.swap_remove((x / 4) as usize % live.len());
                    a.release(P, S1, id, now);
                }
                _ => {
                    let id = (x >> 16) as u16;
                    if a.reserve(P, S1, id, hosts[(x % 3) as usize]) {
                        live.push(id);
                    }
                }
            }
            let pool = &a.pools[&(P, S1)];
            if k % 997 == 0 {
                assert_eq!(pool.used.len(), live.len());
                for (o, h) in &pool.owners {
                    assert_eq!(h.live, pool.used.values().filter(|u| *u == o).count());
                    for id in &h.resting {
                        assert_eq!(pool.resting[id].1, *o);
                    }
                }
                let books: usize = pool.owners.values().map(|h| h.resting.len()).sum();
                assert_eq!(books, pool.resting.len());
            }
        }
    }
}
