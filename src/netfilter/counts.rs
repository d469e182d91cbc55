//! Per-call GRE counters from conntrack, sans-IO. Each direction of a
//! call's GRE is its own conntrack entry, which lives until its GRE has
//! been quiet for the GRE timeout; a later packet makes a new entry with
//! new counters. The helper samples every call more often than an entry
//! can die after its last packet, and adds up the entries it has seen, so
//! a call's totals only grow.
//!
//! Conntrack counts a packet when it is tracked, before the firewall's
//! verdict; but an entry whose first packet a firewall drops is never
//! confirmed, so GRE that a firewall refuses is not counted.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::ctmsg::{Answer, Flow, GreTuple, Side};

/// What a call is known by here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub lan: Ipv4Addr,
    pub remote: Ipv4Addr,
    pub public_cid: u16,
    /// None until the peer's Call ID is known (no outbound GRE before).
    pub peer_cid: Option<u16>,
}

impl CallKey {
    pub fn of(c: &crate::nat::tracker::CallInfo) -> Self {
        CallKey {
            lan: *c.lan.ip(),
            remote: *c.remote.ip(),
            public_cid: c.public_call_id,
            peer_cid: c.peer_call_id,
        }
    }

    fn id(&self) -> (Ipv4Addr, Ipv4Addr, u16) {
        (self.lan, self.remote, self.public_cid)
    }

    /// The entries to ask for: inbound GRE by its reply tuple (after the
    /// DNAT to the LAN host; its key, the public Call ID, unchanged by
    /// conntrack), outbound GRE by its original tuple (before masquerade).
    pub fn requests(&self) -> [Option<(Side, GreTuple)>; 2] {
        let inbound = GreTuple {
            src: self.lan,
            dst: self.remote,
            src_key: self.public_cid,
            dst_key: 0,
        };
        let outbound = self.peer_cid.map(|peer| GreTuple {
            src: self.lan,
            dst: self.remote,
            src_key: 0,
            dst_key: peer,
        });
        [
            Some((Side::Reply, inbound)),
            outbound.map(|t| (Side::Original, t)),
        ]
    }
}

/// One direction: the entries already gone, and the live one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Way {
    packets: u64,
    bytes: u64,
    live: Option<Flow>,
}

impl Way {
    fn see(&mut self, a: Answer) {
        let now = match a {
            Answer::Found(f) => Some(f),
            Answer::None => None,
            // Not answered: nothing learnt.
            Answer::Error(_) => return,
        };
        if let Some(old) = self.live {
            // Another entry (a new id, or an id reused with fewer packets
            // than the old one had): the old one is gone.
            let same = now.is_some_and(|f| f.id == old.id && f.packets >= old.packets);
            if !same {
                self.packets = self.packets.saturating_add(old.packets);
                self.bytes = self.bytes.saturating_add(old.bytes);
            }
        }
        self.live = now;
    }

    fn total(&self) -> (u64, u64) {
        let (p, b) = self.live.map_or((0, 0), |f| (f.packets, f.bytes));
        (self.packets.saturating_add(p), self.bytes.saturating_add(b))
    }
}

/// A call's totals: packets and bytes in (to the LAN host) and out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
}

/// The counters of every live call.
#[derive(Debug, Default)]
pub struct GreCounts {
    /// Keyed without the peer's Call ID, which a call learns later.
    calls: HashMap<(Ipv4Addr, Ipv4Addr, u16), [Way; 2]>,
}

impl GreCounts {
    /// The requests for `calls`, in order; `answer` takes what came back.
    pub fn requests(calls: &[CallKey]) -> Vec<(Side, GreTuple)> {
        calls
            .iter()
            .flat_map(|c| c.requests().into_iter().flatten())
            .collect()
    }

    /// Take the answers to [`GreCounts::requests`] of `calls`; calls not
    /// among them are forgotten (ended).
    pub fn answer(&mut self, calls: &[CallKey], answers: &[Answer]) {
        let mut next = HashMap::with_capacity(calls.len());
        let mut it = answers.iter().copied();
        for c in calls {
            let mut ways = self.calls.remove(&c.id()).unwrap_or_default();
            for (way, req) in ways.iter_mut().zip(c.requests()) {
                if req.is_some() {
                    way.see(it.next().unwrap_or(Answer::Error(0)));
                }
            }
            next.insert(c.id(), ways);
        }
        self.calls = next;
    }

    pub fn totals(&self, c: &CallKey) -> Totals {
        let Some([i, o]) = self.calls.get(&c.id()) else {
            return Totals::default();
        };
        let ((in_packets, in_bytes), (out_packets, out_bytes)) = (i.total(), o.total());
        Totals {
            in_packets,
            in_bytes,
            out_packets,
            out_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: CallKey = CallKey {
        lan: Ipv4Addr::new(192, 168, 1, 10),
        remote: Ipv4Addr::new(198, 51, 100, 10),
        public_cid: 4660,
        peer_cid: Some(77),
    };

    fn f(id: u32, packets: u64) -> Answer {
        Answer::Found(Flow {
            id,
            packets,
            bytes: packets * 100,
        })
    }

    #[test]
    fn requests_name_both_entries_of_a_call() {
        let [i, o] = C.requests();
        assert_eq!(
            i,
            Some((
                Side::Reply,
                GreTuple {
                    src: C.lan,
                    dst: C.remote,
                    src_key: 4660,
                    dst_key: 0
                }
            ))
        );
        assert_eq!(
            o,
            Some((
                Side::Original,
                GreTuple {
                    src: C.lan,
                    dst: C.remote,
                    src_key: 0,
                    dst_key: 77
                }
            ))
        );
        let waiting = CallKey {
            peer_cid: None,
            ..C
        };
        assert_eq!(GreCounts::requests(&[waiting, C]).len(), 3);
    }

    #[test]
    fn totals_add_up_the_entries_a_call_has_had() {
        let mut g = GreCounts::default();
        let calls = [C];
        g.answer(&calls, &[f(1, 10), f(2, 5)]);
        g.answer(&calls, &[f(1, 30), f(2, 9)]);
        assert_eq!(
            g.totals(&C),
            Totals {
                in_packets: 30,
                in_bytes: 3000,
                out_packets: 9,
                out_bytes: 900
            }
        );
        // The inbound entry timed out, a new one came; the outbound one is
        // gone and not back yet; then an error teaches nothing.
        g.answer(&calls, &[f(3, 4), Answer::None]);
        g.answer(&calls, &[Answer::Error(-1), Answer::Error(-1)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (34, 9));
        // An id the kernel reuses for a newer entry (fewer packets).
        g.answer(&calls, &[f(3, 2), f(2, 1)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (36, 10));
        assert_eq!(t.in_bytes, 3600);
    }

    #[test]
    fn ended_calls_are_forgotten() {
        let mut g = GreCounts::default();
        g.answer(&[C], &[f(1, 10), f(2, 5)]);
        g.answer(&[], &[]);
        assert_eq!(g.totals(&C), Totals::default());
        // A call still waiting for its peer's ID asks for its inbound
        // entry only.
        let waiting = CallKey {
            peer_cid: None,
            ..C
        };
        g.answer(&[waiting], &[f(1, 3)]);
        assert_eq!(g.totals(&waiting).in_packets, 3);
        assert_eq!(g.totals(&waiting).out_packets, 0);
        // Its peer's ID known, it keeps what it counted.
        g.answer(&[C], &[f(1, 4), f(2, 1)]);
        assert_eq!((g.totals(&C).in_packets, g.totals(&C).out_packets), (4, 1));
    }
}
