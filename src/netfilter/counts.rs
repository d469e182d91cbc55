//! Per-call GRE counters from conntrack, sans-IO. Each direction of a
//! call's GRE is its own conntrack entry, which lives until its GRE has
//! been quiet for the GRE timeout; a later packet makes a new entry with
//! new counters. The helper samples every call more often than an entry
//! can die after its last packet, from one dump of the GRE entries
//! ([`Matcher`]), and adds up the entries it has seen, so a call's totals
//! only grow.
//!
//! Conntrack counts a packet when it is tracked, before the firewall's
//! verdict; but an entry whose first packet a firewall drops is never
//! confirmed, so GRE that a firewall refuses is not counted.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::ctmsg::{Entry, GreTuple, Side};

/// One entry's id, what it counted in its original direction, and the
/// seconds it had left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flow {
    pub id: u32,
    pub packets: u64,
    pub bytes: u64,
    pub timeout: u32,
}

impl Flow {
    fn of(e: &Entry) -> Self {
        Flow {
            id: e.id,
            packets: e.packets,
            bytes: e.bytes,
            timeout: e.timeout,
        }
    }

    /// Whether `self`, seen later, is still the entry `old` was. An id
    /// is a hash of the entry's memory and tuple, so an entry that timed
    /// out and came back for the same call often has its predecessor's
    /// id: fewer packets, or as many with more time left (only a packet
    /// restarts the timeout, and a packet is counted), is a new entry.
    /// More packets cannot tell the two apart; that is taken as the same.
    fn continues(&self, old: &Flow) -> bool {
        self.id == old.id
            && (self.packets > old.packets
                || (self.packets == old.packets && self.timeout <= old.timeout))
    }
}

/// What conntrack's table says about an entry the helper asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Found(Flow),
    /// No such entry.
    None,
    /// Not known: the dump failed before it reached the entry.
    Unknown,
}

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
            Answer::Unknown => return,
        };
        if let Some(old) = self.live {
            // Another entry (see `Flow::continues`): the old one is gone.
            if !now.is_some_and(|f| f.continues(&old)) {
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
                    way.see(it.next().unwrap_or(Answer::Unknown));
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

/// The answers a dump gives to the helper's questions, each an entry by
/// one of its tuples (the default zone's, as a lookup by tuple finds).
/// Built from the questions, fed the dump's entries as they come; memory
/// is bounded by the questions, not by the table.
#[derive(Debug)]
pub struct Matcher {
    /// Each distinct question's slot.
    slot: HashMap<(Side, GreTuple), usize>,
    /// Each question's slot, in the questions' order.
    asked: Vec<usize>,
    found: Vec<Option<Flow>>,
}

impl Matcher {
    pub fn new(questions: &[(Side, GreTuple)]) -> Self {
        let mut slot = HashMap::with_capacity(questions.len());
        let asked = questions
            .iter()
            .map(|q| {
                let n = slot.len();
                *slot.entry(*q).or_insert(n)
            })
            .collect();
        let found = vec![None; slot.len()];
        Matcher { slot, asked, found }
    }

    /// Take one dumped entry.
    pub fn see(&mut self, e: &Entry) {
        if e.zone != 0 {
            return;
        }
        let flow = Flow::of(e);
        for key in [(Side::Original, e.orig), (Side::Reply, e.reply)] {
            if let Some(&i) = self.slot.get(&key) {
                if let Some(f) = self.found.get_mut(i) {
                    *f = Some(flow);
                }
            }
        }
    }

    /// The answer to each question, in order. Where the dump did not
    /// complete, an entry not seen is not known to be gone.
    pub fn answers(&self, complete: bool) -> Vec<Answer> {
        self.asked
            .iter()
            .map(|&i| match self.found.get(i).copied().flatten() {
                Some(f) => Answer::Found(f),
                None if complete => Answer::None,
                None => Answer::Unknown,
            })
            .collect()
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
        ft(id, packets, 0)
    }

    /// With the seconds the entry had left.
    fn ft(id: u32, packets: u64, timeout: u32) -> Answer {
        Answer::Found(Flow {
            id,
            packets,
            bytes: packets * 100,
            timeout,
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

    /// A call asks for its inbound entry by the reply tuple and its
    /// outbound entry by the original one ([`CallKey::requests`]).
    #[test]
    fn a_dump_answers_each_question_by_its_side_and_tuple() {
        let [Some(inq), Some(outq)] = C.requests() else {
            panic!("a call with its peer's ID asks two questions");
        };
        let inbound = Entry {
            id: 1,
            orig: GreTuple {
                src: C.remote,
                dst: Ipv4Addr::new(203, 0, 113, 2),
                src_key: 0,
                dst_key: C.public_cid,
            },
            reply: inq.1,
            dnat: true,
            master: false,
            zone: 0,
            packets: 200,
            bytes: 20_000,
            timeout: 29,
        };
        let outbound = Entry {
            id: 9,
            orig: outq.1,
            reply: GreTuple {
                src: C.remote,
                dst: Ipv4Addr::new(203, 0, 113, 2),
                src_key: 77,
                dst_key: 0,
            },
            dnat: false,
            packets: 5,
            bytes: 500,
            ..inbound
        };
        let gone = GreTuple {
            src_key: C.public_cid + 1,
            ..inq.1
        };
        let questions = [
            inq,
            outq,
            (Side::Reply, gone),
            // The same entry asked for twice (two calls that share a
            // peer's Call ID), and by the wrong side.
            inq,
            (Side::Original, inq.1),
        ];
        let mut m = Matcher::new(&questions);
        // Another zone's entry with the same tuples is not the one asked.
        m.see(&Entry {
            zone: 2,
            packets: 1,
            ..inbound
        });
        m.see(&inbound);
        m.see(&outbound);
        let found = |e: &Entry| Answer::Found(Flow::of(e));
        assert_eq!(
            m.answers(true),
            [
                found(&inbound),
                found(&outbound),
                Answer::None,
                found(&inbound),
                Answer::None
            ]
        );
        // A dump cut short knows nothing of the entries it did not reach.
        assert_eq!(m.answers(false)[2], Answer::Unknown);
        assert_eq!(m.answers(false)[0], found(&inbound));
        assert!(Matcher::new(&[]).answers(true).is_empty());
        // Its answers feed the call's totals.
        let mut g = GreCounts::default();
        g.answer(&[C], &m.answers(true)[..2]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (200, 5));
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
        g.answer(&calls, &[Answer::Unknown, Answer::Unknown]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (34, 9));
        // An id the kernel reuses for a newer entry (fewer packets).
        g.answer(&calls, &[f(3, 2), f(2, 1)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (36, 10));
        assert_eq!(t.in_bytes, 3600);
    }

    /// An idle call's GRE (LCP echoes now and then): its entry times out
    /// and comes back in the same memory, so with the same id, and as few
    /// packets as before. Only its timeout, up without a packet counted,
    /// says that it is another entry.
    #[test]
    fn an_entry_back_with_its_old_id_is_counted_anew() {
        let mut g = GreCounts::default();
        let calls = [C];
        g.answer(&calls, &[ft(5, 1, 20), ft(6, 1, 20)]);
        // Fifteen seconds on, nothing came: the same entries, less time.
        g.answer(&calls, &[ft(5, 1, 5), ft(6, 1, 5)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (1, 1));
        // The inbound one timed out and an echo made it again: same id,
        // same count, more time. The outbound one counted two more.
        g.answer(&calls, &[ft(5, 1, 28), ft(6, 3, 29)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (2, 3));
        assert_eq!(t.in_bytes, 200);
        // Asked again within the second (a `status`): the same entries.
        g.answer(&calls, &[ft(5, 1, 28), ft(6, 3, 29)]);
        let t = g.totals(&C);
        assert_eq!((t.in_packets, t.out_packets), (2, 3));
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
