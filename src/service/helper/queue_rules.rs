//! Where the control segments' queue rules live, for the helper's life:
//! chosen and installed at start, checked and restored while it runs,
//! removed at its end.

use crate::netfilter::{Backend, Setup};
use crate::os::{OsError, nft, nftnl};

/// Where the control segments' queue rules are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum QueueRules {
    /// nft `queue` in the helper's table.
    Nft,
    /// xt NFQUEUE targets in the helper's table (nft_compat): one base
    /// chain of the helper in the forward hook, as with nft `queue`.
    Table,
    /// iptables' `mangle FORWARD`: a second base chain every forwarded
    /// packet crosses. Only where the kernel refuses the table's rules
    /// (no nft_compat) or `PPTP_PASSTHROUGH_QUEUE_RULES=iptables` asks.
    Iptables,
}

/// Install the xtables back-end's NFQUEUE rules: in the helper's table
/// where the kernel takes them, else through iptables.
fn install_xt(setup: &Setup) -> Result<QueueRules, OsError> {
    let forced = std::env::var("PPTP_PASSTHROUGH_QUEUE_RULES").is_ok_and(|v| v == "iptables");
    if !forced {
        // What an earlier helper left in iptables would queue every
        // control segment a second time.
        nft::xtables_clear();
        match nftnl::install_queue_rules(setup) {
            Ok(()) => {
                tracing::info!(
                    "NFQUEUE rules in the helper's table (xt target through nft_compat): \
                     one chain in the forward hook"
                );
                return Ok(QueueRules::Table);
            }
            Err(e) => tracing::warn!(error = %e,
                "the kernel refused NFQUEUE rules in the helper's table: using iptables"),
        }
    }
    nft::xtables_install(setup)?;
    Ok(QueueRules::Iptables)
}

impl QueueRules {
    /// The rules of `backend` (nft `queue` ones come with the table).
    pub(super) fn install(backend: Backend, setup: &Setup) -> Result<Self, OsError> {
        match backend {
            Backend::Nft => Ok(QueueRules::Nft),
            Backend::Xtables => install_xt(setup),
        }
    }

    /// Whether the rules are still in place (`table`: whether the helper's
    /// table is; a deleted table took rules in it along). A dump that
    /// cannot be read counts as present: no restore on a guess.
    pub(super) fn present(self, setup: &Setup, table: bool) -> bool {
        match self {
            QueueRules::Nft => true,
            QueueRules::Table if !table => false,
            QueueRules::Table => nftnl::queue_rules_present(setup).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "could not read the queue rules");
                true
            }),
            QueueRules::Iptables => nft::xtables_present(setup),
        }
    }

    /// Put the rules back (after the table, for rules in it).
    pub(super) fn restore(self, setup: &Setup) -> Result<(), OsError> {
        match self {
            QueueRules::Nft => Ok(()),
            QueueRules::Table => nftnl::install_queue_rules(setup).map_err(OsError::Nft),
            QueueRules::Iptables => nft::xtables_install(setup),
        }
    }

    /// At the helper's end: rules in the table stay with it (a reload
    /// keeps them, so not one control segment passes unseen) or go with
    /// it; rules in iptables go now.
    pub(super) fn remove(self) {
        if self == QueueRules::Iptables {
            nft::xtables_clear();
        }
    }
}
