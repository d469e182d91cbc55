//! The helper's `status` document: calls with their counters (conntrack's)
//! and their elements' expiry (the kernel maps'), and the helper's own state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::Daemon;
use crate::nat;
use crate::netfilter;
use crate::os::{nft, nftnl};

/// Whether the dump failed once (it is then said, not again).
static DUMP_FAILED: AtomicBool = AtomicBool::new(false);

/// Expiry of every call in the kernel maps (empty when the table cannot be
/// read): a dump of `gre_dnat` over the helper's own socket, or where that
/// is turned off, a listing of the whole table by nft (at 10 000 calls
/// some 0.4 s of CPU and a few MiB of text).
fn element_state() -> HashMap<nat::Mapping, netfilter::ElementState> {
    let found = match nftnl::dnat_elements() {
        Some(Ok(elems)) => elems
            .iter()
            .filter_map(|e| {
                let expires = e.expires_ms / 1000;
                netfilter::recorded(e.remote, e.public_cid, e.lan_ip, &e.comment, expires)
            })
            .collect(),
        Some(Err(e)) => {
            // Said once: status is asked for every few seconds.
            if !DUMP_FAILED.swap(true, Ordering::Relaxed) {
                tracing::warn!("{e}; status lists the table with nft instead");
            }
            listed()
        }
        None => listed(),
    };
    found.into_iter().collect()
}

fn listed() -> Vec<(nat::Mapping, netfilter::ElementState)> {
    nft::list_table()
        .ok()
        .flatten()
        .and_then(|t| netfilter::parse_elements(&t).ok())
        .unwrap_or_default()
}

impl Daemon {
    /// Read the conntrack entries of every call (the only source of their
    /// counters).
    pub(super) fn sample_counts(&mut self) {
        let Some(ct) = self.conntrack.as_mut() else {
            return;
        };
        let calls: Vec<netfilter::counts::CallKey> = self
            .tracker
            .calls(Instant::now())
            .iter()
            .map(netfilter::counts::CallKey::of)
            .collect();
        let answers = ct.lookup(&netfilter::counts::GreCounts::requests(&calls));
        self.counts.answer(&calls, &answers);
    }

    pub(super) fn status_json(&mut self) -> serde_json::Value {
        self.sample_counts();
        let backend = self.backend;
        let now = Instant::now();
        // Keyed like the inbound maps: (remote address, public Call ID).
        let state: HashMap<(std::net::Ipv4Addr, u16), netfilter::ElementState> = element_state()
            .into_iter()
            .map(|(m, s)| ((m.remote_ip(), m.public_cid), s))
            .collect();
        let calls: Vec<serde_json::Value> = self
            .tracker
            .calls(now)
            .into_iter()
            .map(|c| {
                let mut v = serde_json::to_value(&c).unwrap_or_default();
                let st = state
                    .get(&(*c.remote.ip(), c.public_call_id))
                    .copied()
                    .unwrap_or_default();
                let totals = self.counts.totals(&netfilter::counts::CallKey::of(&c));
                // The elements' expiry; the counters are conntrack's.
                for x in [serde_json::to_value(st), serde_json::to_value(totals)] {
                    if let (Some(o), Ok(serde_json::Value::Object(s))) = (v.as_object_mut(), x) {
                        o.extend(s);
                    }
                }
                v
            })
            .collect();
        serde_json::json!({
            "wan": self.setup.wan,
            "public_ip": self.tracker.public_ip(),
            "backend": backend,
            "queue_rules": self.queue_rules,
            "dispatch": self.setup.dispatch,
            "dispatch_missing": self.dispatch_missing,
            "queue_num": self.setup.queue_num,
            "established_queue_num": self.setup.established_queue(),
            "gre_guard": self.setup.guard,
            "connections": self.tracker.connections(),
            "stats": self.tracker.stats,
            "call_ids": self.tracker.allocator().borrow().stats,
            "kernel_helper": self.kernel_helper,
            "gre_counters": if self.conntrack.is_some() { "conntrack" } else { "unavailable" },
            "calls": calls,
        })
    }
}
