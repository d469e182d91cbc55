//! A reload hands the helper's calls from one tracker to the next on the
//! same allocator: the calls whose mappings are installed keep their
//! public IDs taken throughout, so no other call can be given one between
//! the two trackers; what the next tracker does not find in the kernel's
//! maps rests like any ended call's ID.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::{Output, Tracker, conn_entry, let_go};
use crate::nat::alloc::Owner;
use crate::nat::call::{Call, CallState, Ctx, Mapping};

impl Tracker {
    /// Give up every call for the next helper (a reload): calls whose
    /// mappings are installed keep their public IDs taken, so no other call
    /// can be given one before the next tracker takes them over; calls still
    /// waiting for their reply end (no helper after this one saw their
    /// request).
    pub fn hand_over(&mut self, now: Instant, out: &mut Output) -> Handover {
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mut alloc = self.alloc.borrow_mut();
        let mut cx = Ctx {
            alloc: &mut alloc,
            public,
            now,
            changes: &mut out.changes,
            log: &mut self.log,
        };
        let mut calls = Vec::new();
        for (_, mut conn) in self.conns.drain() {
            calls.extend(conn.calls.mappings());
            conn.calls.list.retain(|c| !c.mapped);
            conn.calls.end_all(&mut cx);
            let_go(
                &mut conn.streams,
                (&mut self.held_now, &mut self.parked_now),
                &mut out.verdicts,
            );
        }
        drop(alloc);
        // The next tracker's start sets the lookup for the calls it takes.
        self.rewritten.clear();
        Handover { public, calls }
    }

    /// Take back calls found in the kernel maps after a restart or a
    /// reload. `handed` is what the previous tracker of this process gave
    /// up: its calls' IDs are still taken in the shared allocator, so they
    /// pass from it to this tracker at once; those no longer in the maps
    /// rest like any ended call's.
    pub fn recover(&mut self, now: Instant, mappings: &[Mapping], handed: &Handover) -> usize {
        let public = self.public.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let found: std::collections::HashSet<&Mapping> = mappings.iter().collect();
        // Calls handed over without an address moved with the address that
        // appeared since (`set_public_ip`).
        let from = if handed.public.is_unspecified() {
            public
        } else {
            handed.public
        };
        {
            let mut alloc = self.alloc.borrow_mut();
            for m in &handed.calls {
                let (remote, id) = (m.remote_ip(), m.public_cid);
                if found.contains(m) {
                    alloc.forget(from, remote, id);
                } else {
                    alloc.release(from, remote, id, now);
                }
            }
        }
        let mut n = 0;
        for m in mappings {
            if !self.alloc.borrow_mut().reserve(
                public,
                m.remote_ip(),
                m.public_cid,
                Owner::Lan(m.lan_ip()),
            ) {
                continue;
            }
            let conn = conn_entry(&mut self.conns, m.role, m.lan, m.remote, now);
            self.wake = super::earliest(self.wake, conn.deadline(&self.cfg));
            if m.public_cid != m.lan_cid {
                self.rewritten.insert((m.remote_ip(), m.public_cid));
            }
            conn.calls.list.push(Call {
                lan_cid: m.lan_cid,
                public_cid: m.public_cid,
                peer_cid: Some(m.peer_cid),
                state: CallState::Established,
                since: now,
                expected: false,
                mapped: true,
            });
            n += 1;
        }
        n
    }
}

/// The calls one tracker gives up for the next (see [`Tracker::hand_over`]):
/// their public IDs stay taken under `public` until the next tracker's
/// [`Tracker::recover`].
#[derive(Debug, Clone)]
pub struct Handover {
    pub public: Ipv4Addr,
    pub calls: Vec<Mapping>,
}

impl Default for Handover {
    /// Nothing handed over (the first helper of a process).
    fn default() -> Self {
        Handover {
            public: Ipv4Addr::UNSPECIFIED,
            calls: Vec::new(),
        }
    }
}
