//! The helper's periodic looks at the ruleset while it runs: the kernel's
//! PPTP helper attached after all, the firewall's dispatch gone, its own
//! table or queue rules deleted behind its back, and its forward chain
//! waiting for a quiet queue to go.

use std::time::{Duration, Instant};

use super::Daemon;
use crate::nat::Change;
use crate::netfilter;
use crate::os::nft;

/// How long the queues must have been quiet before the helper's forward
/// chain is deleted (with the firewall's dispatch, when no call's Call ID
/// is rewritten any more). Removing any hook makes the kernel drop every
/// queued packet, and segments this helper has read but not yet given a
/// verdict would then come again as retransmissions: calls end in bursts
/// of control messages, so the chain goes at the next check after a
/// quiet spell instead (one GRE chain call a packet for a few seconds
/// more).
const QUIET_BEFORE_UNHOOK: Duration = Duration::from_secs(2);

/// When the helper's forward chain may go, with the firewall's dispatch
/// (sans-IO: each call takes `now`). The chain's end waits for a quiet
/// queue; a lookup that starts again in the meantime keeps it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unhook {
    /// The lookup has ended; the chain is still there.
    pending: bool,
    /// When the last control segment came.
    last_segment: Instant,
}

impl Unhook {
    pub(super) fn new(now: Instant) -> Self {
        Unhook {
            pending: false,
            last_segment: now,
        }
    }

    /// A control segment came.
    pub(super) fn segment(&mut self, now: Instant) {
        self.last_segment = now;
    }

    /// The switch of the GRE lookup to send with a batch's changes: all
    /// but the end of the lookup with the firewall's dispatch, which waits.
    pub(super) fn switch(
        &mut self,
        gre_lookup: Option<bool>,
        dispatch: netfilter::Dispatch,
    ) -> Option<bool> {
        match (gre_lookup, dispatch) {
            (Some(false), netfilter::Dispatch::Firewall) => {
                self.pending = true;
                None
            }
            (Some(true), _) => {
                self.pending = false;
                Some(true)
            }
            (g, _) => g,
        }
    }

    /// Whether the chain may go now.
    pub(super) fn due(&self, now: Instant) -> bool {
        self.pending && now.saturating_duration_since(self.last_segment) >= QUIET_BEFORE_UNHOOK
    }

    /// The chain is gone, or was made as the lookup is now.
    pub(super) fn done(&mut self) {
        self.pending = false;
    }
}

impl Daemon {
    /// Look for the kernel's PPTP helper; say so when that changes.
    pub(super) fn check_kernel_helper(&mut self) {
        self.kernel_checked = Instant::now();
        let found = match nft::kernel_pptp_helper() {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(error = %e, "could not read the ruleset for the kernel's PPTP helper");
                return;
            }
        };
        if found == self.kernel_helper {
            return;
        }
        match &found {
            Some(h) => tracing::error!(
                "the kernel's PPTP helper is now attached ({h}); two rewriters break calls. \
                 Remove that ct helper (OpenWrt: uninstall kmod-nf-nathelper-pptp or set the \
                 zone's auto_helper to 0)"
            ),
            None => tracing::info!("the kernel's PPTP helper is no longer attached"),
        }
        self.kernel_helper = found;
    }

    /// With the firewall's dispatch, whether its rules are loaded and
    /// reached; said on every change. The helper cannot put them back: they
    /// are the firewall's (fw4 loads them from the package's include files
    /// on every reload).
    pub(super) fn check_dispatch(&mut self) {
        if self.setup.dispatch != netfilter::Dispatch::Firewall {
            return;
        }
        let missing = match nft::firewall_dispatch() {
            Ok(present) => !present,
            Err(e) => {
                tracing::debug!(error = %e, "could not read the firewall's chains");
                return;
            }
        };
        if missing == self.dispatch_missing {
            return;
        }
        self.dispatch_missing = missing;
        let [tcp, _, icmp] = netfilter::FW_CHAINS;
        if missing {
            tracing::error!(
                "the firewall's dispatch is missing (no rule jumps to chains {tcp} and {icmp} \
                 of one inet table): control segments pass unseen. Load `fw4-rules`' \
                 include files into the firewall (OpenWrt: /etc/init.d/pptp-passthrough restart)"
            );
        } else {
            tracing::info!("the firewall's dispatch is in place");
        }
    }

    /// Someone flushed the ruleset or deleted the table (a firewall reload
    /// that does not know about us): put the table, the queue rules and
    /// every live call back.
    pub(super) fn ensure_rules(&mut self) {
        let table = nft::table_exists().unwrap_or(true);
        let xt = self.queue_rules.present(&self.setup, table);
        if table && xt {
            return;
        }
        tracing::warn!(
            table,
            queue_rules = xt,
            "helper rules removed behind our back: restoring them"
        );
        if !table {
            self.setup.gre_lookup = self.tracker.looks_up_gre();
            if let Err(e) = nft::install_table(&self.setup) {
                tracing::error!(error = %e, "cannot restore the table");
                return;
            }
            // Made as the lookup is now: nothing waits to be removed.
            self.unhook.done();
            let adds: Vec<Change> = self
                .tracker
                .mappings()
                .into_iter()
                .map(Change::Add)
                .collect();
            if !adds.is_empty() {
                let n = adds.len();
                match nft::apply_changes(&adds, None, self.setup.element_timeout) {
                    Ok(()) => tracing::info!(calls = n, "calls restored to the kernel maps"),
                    Err(e) => tracing::error!(error = %e, "cannot restore the calls"),
                }
            }
        }
        if let Err(e) = self.queue_rules.restore(&self.setup) {
            tracing::error!(error = %e, "cannot restore the NFQUEUE rules");
        }
    }

    /// With the firewall's dispatch, delete the helper's forward chain once
    /// the GRE lookup has ended and the queues have been quiet for
    /// [`QUIET_BEFORE_UNHOOK`] (at the periodic check).
    pub(super) fn unhook(&mut self) {
        if !self.unhook.due(Instant::now()) {
            return;
        }
        let switch = Some(netfilter::GreLookup {
            on: false,
            dispatch: self.setup.dispatch,
        });
        match nft::apply_changes(&[], switch, self.setup.element_timeout) {
            Ok(()) => {
                self.unhook.done();
                tracing::debug!("the helper's forward chain is gone: no Call ID is rewritten");
            }
            Err(e) => tracing::error!(error = %e, "removing the helper's forward chain failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::Dispatch::{Firewall, Own};

    /// With the firewall's dispatch the lookup's end waits for 2 s without
    /// a control segment; a lookup that starts again keeps the chain; with
    /// the helper's own dispatch every switch goes out at once.
    #[test]
    fn the_forward_chain_goes_only_after_a_quiet_queue() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_millis(n);
        let mut u = Unhook::new(t0);
        assert!(!u.due(s(10_000)), "nothing ended");
        assert_eq!(u.switch(Some(true), Firewall), Some(true));
        assert_eq!(u.switch(None, Firewall), None);
        assert_eq!(u.switch(Some(false), Firewall), None, "the end waits");
        u.segment(s(1_000));
        assert!(!u.due(s(2_999)));
        assert!(u.due(s(3_000)));
        u.segment(s(2_500));
        assert!(!u.due(s(3_000)), "a later segment restarts the wait");
        assert!(u.due(s(4_500)));
        // A new rewritten call before the chain went: it stays.
        assert_eq!(u.switch(Some(true), Firewall), Some(true));
        assert!(!u.due(s(60_000)));
        assert_eq!(u.switch(Some(false), Firewall), None);
        assert!(u.due(s(60_000)));
        u.done();
        assert!(!u.due(s(60_000)));
        // The helper's own dispatch rewrites its rules at once.
        let mut own = Unhook::new(t0);
        assert_eq!(own.switch(Some(false), Own), Some(false));
        assert!(!own.due(s(60_000)));
    }
}
