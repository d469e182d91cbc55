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
        self.check_dispatch();
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
            self.unhook_pending = false;
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
        if !self.unhook_pending || self.last_segment.elapsed() < QUIET_BEFORE_UNHOOK {
            return;
        }
        let switch = Some(netfilter::GreLookup {
            on: false,
            dispatch: self.setup.dispatch,
        });
        match nft::apply_changes(&[], switch, self.setup.element_timeout) {
            Ok(()) => {
                self.unhook_pending = false;
                tracing::debug!("the helper's forward chain is gone: no Call ID is rewritten");
            }
            Err(e) => tracing::error!(error = %e, "removing the helper's forward chain failed"),
        }
    }
}
