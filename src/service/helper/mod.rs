//! The passthrough NAT helper service. One task on one thread: NFQUEUE
//! readiness, a timer, WAN address changes, status requests and stop, each
//! handled to completion in turn. Interface: `start(Options, allocator)`,
//! then the `Handle` answers status and stop.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::config::GreGuard;
use crate::nat::{self, Change, Dir, Output, Tracker, Verdict};
use crate::netfilter::nfqmsg::Decision;
use crate::netfilter::{self, Backend, Setup};
use crate::os::{OsError, addr, netifd, nfqueue, nft};

mod queue_rules;
mod status;
mod upkeep;

use queue_rules::QueueRules;

struct Daemon {
    setup: Setup,
    tracker: Tracker,
    nfq: nfqueue::Nfq,
    /// Packets awaiting their verdict.
    pending: HashSet<u64>,
    wan_index: u32,
    backend: Backend,
    /// Where the xtables back-end's NFQUEUE rules are.
    queue_rules: QueueRules,
    /// Per-call log lines are bounded (a burst of calls is summarised).
    log: crate::ratelimit::LogLimit,
    /// Where the kernel's PPTP helper was last found attached, and when
    /// that was checked.
    kernel_helper: Option<String>,
    kernel_checked: Instant,
    /// The calls' GRE counters come from conntrack (`None`: no ctnetlink).
    conntrack: Option<crate::os::conntrack::Conntrack>,
    counts: netfilter::counts::GreCounts,
    /// With the firewall's dispatch: whether its rules were missing at the
    /// last look (control segments then pass unseen).
    dispatch_missing: bool,
    /// With the firewall's dispatch: when the helper's forward chain may go.
    unhook: upkeep::Unhook,
}

/// What the helper needs from flags or from `config helper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub wan: String,
    pub lan: Vec<String>,
    pub queue_num: u16,
    pub backend: crate::config::Backend,
    pub idle_timeout: Duration,
    pub element_timeout: u32,
    pub guard: netfilter::Guard,
    pub dispatch: netfilter::Dispatch,
}

/// Set to `firewall` by whoever put the firewall's part of the dispatch in
/// place (the OpenWrt package, with fw4's includes) for the helper that
/// `run` starts from the config file.
pub const DISPATCH_ENV: &str = "PPTP_PASSTHROUGH_DISPATCH";

impl Options {
    /// The ruleset these options ask for, on `backend`, before any call
    /// is known.
    pub fn setup(&self, backend: Backend) -> Setup {
        Setup {
            wan: self.wan.clone(),
            lans: self.lan.clone(),
            queue_num: self.queue_num,
            backend,
            element_timeout: self.element_timeout,
            guard: self.guard,
            rewrite_all: false,
            gre_lookup: false,
            dispatch: self.dispatch,
        }
    }

    /// The same options with every interface name turned into the device
    /// it stands for now (a netifd logical interface such as `wan`, or a
    /// device name). [`OsError::InterfaceDown`] names a netifd interface
    /// without a device now; [`OsError::NoInterface`] a name that is neither.
    pub fn resolved(&self) -> Result<Options, OsError> {
        let one = |n: &str| match netifd::resolve(n)? {
            netifd::Resolved::Device(d) if netifd::device_exists(&d) => Ok(d),
            netifd::Resolved::Device(d) if d == n => Err(OsError::NoInterface(d)),
            netifd::Resolved::Device(d) => Err(OsError::NoInterface(format!("{d} (of {n})"))),
            netifd::Resolved::Down(l) => Err(OsError::InterfaceDown(l)),
        };
        Ok(Options {
            wan: one(&self.wan)?,
            lan: self.lan.iter().map(|l| one(l)).collect::<Result<_, _>>()?,
            ..self.clone()
        })
    }

    /// What is wrong now with the interfaces `c` names, one line each
    /// (`run --check`): the daemon waits for them, so these are warnings.
    pub fn interface_warnings(c: &crate::config::HelperCfg) -> Vec<String> {
        let names = c.wan.iter().chain(&c.lan);
        names
            .filter_map(|n| match netifd::resolve(n) {
                Ok(netifd::Resolved::Device(d)) if netifd::device_exists(&d) => None,
                Ok(netifd::Resolved::Device(d)) if &d == n => Some(format!(
                    "config helper: interface {n} does not exist now; the helper waits \
                     for it (a PPPoE device exists only while its link is up)"
                )),
                Ok(netifd::Resolved::Device(d)) => Some(format!(
                    "config helper: interface {n} stands for device {d}, which does not \
                     exist now; the helper waits for it"
                )),
                Ok(netifd::Resolved::Down(l)) => Some(format!(
                    "config helper: interface {l} is down now; the helper starts when it is up"
                )),
                Err(e) => Some(format!("config helper: {e}")),
            })
            .collect()
    }

    /// From the config file; `None` with a reason when it cannot run.
    /// `local_tunnels`: this process also runs the server or a client
    /// profile, whose GRE the `auto` guard must let reach the router.
    pub fn from_config(
        c: &crate::config::HelperCfg,
        local_tunnels: bool,
    ) -> Result<Options, String> {
        let wan = c
            .wan
            .clone()
            .ok_or("config helper: option wan is required when enabled")?;
        Ok(Options {
            wan,
            lan: c.lan.clone(),
            queue_num: c.queue_num,
            backend: c.backend,
            idle_timeout: c.idle_timeout,
            element_timeout: u32::try_from(c.element_timeout.as_secs()).unwrap_or(u32::MAX),
            guard: match c.gre_guard {
                GreGuard::Flow => netfilter::Guard::Flow,
                GreGuard::Raw => netfilter::Guard::Raw,
                GreGuard::Auto if local_tunnels => netfilter::Guard::Raw,
                GreGuard::Auto => netfilter::Guard::Flow,
            },
            dispatch: match std::env::var(DISPATCH_ENV).as_deref() {
                Ok("firewall") => netfilter::Dispatch::Firewall,
                _ => netfilter::Dispatch::Own,
            },
        })
    }
}

type StatusReq = tokio::sync::oneshot::Sender<serde_json::Value>;

/// A running helper.
pub struct Handle {
    status: tokio::sync::mpsc::UnboundedSender<StatusReq>,
    stop: tokio::sync::watch::Sender<Option<bool>>,
    task: crate::service::task::Watched<Result<nat::Handover, OsError>>,
}

impl Handle {
    /// The status document (`None` if the helper has stopped).
    pub async fn status(&self) -> Option<serde_json::Value> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.status.send(tx).ok()?;
        rx.await.ok()
    }

    /// Wait until the helper's task has ended (an error stopped it).
    pub async fn ended(&mut self) {
        self.task.ended().await;
    }

    /// Stop; `keep` leaves the table and its calls for the next helper,
    /// which takes them with the returned handover.
    pub async fn stop(self, keep: bool) -> Result<nat::Handover, OsError> {
        let _ = self.stop.send(Some(keep));
        self.task
            .join()
            .await
            .unwrap_or_else(|e| Err(OsError::Nft(e.to_string())))
    }
}

/// Set the helper up (table, rules, queue, recovered calls) and start its
/// task; errors here are configuration or kernel problems worth stopping for.
/// `handed` is what the previous helper of this process gave up (a reload).
pub async fn start(
    a: Options,
    ids: nat::alloc::SharedAllocator,
    handed: nat::Handover,
) -> Result<Handle, OsError> {
    let checked = Instant::now();
    if let Some(h) = nft::kernel_pptp_helper()? {
        return Err(OsError::Nft(format!(
            "the kernel's PPTP helper is attached ({h}); two rewriters break calls. \
             Remove that ct helper (OpenWrt: uninstall kmod-nf-nathelper-pptp or set \
             the zone's auto_helper to 0) and start again"
        )));
    }
    let watch = addr::watch()?;
    let wan_index = addr::ifindex(&watch.handle, &a.wan).await?;
    for l in &a.lan {
        addr::ifindex(&watch.handle, l).await?;
    }
    use crate::config::Backend as Choice;
    let backend = match a.backend {
        Choice::Nft => Backend::Nft,
        Choice::Xtables => Backend::Xtables,
        Choice::Auto if nft::queue_supported() => Backend::Nft,
        Choice::Auto => Backend::Xtables,
    };
    if a.dispatch == netfilter::Dispatch::Firewall && backend != Backend::Nft {
        return Err(OsError::Nft(
            "the firewall's dispatch needs the nft `queue` expression (kmod-nft-queue), \
             which this kernel lacks or the backend option turned off"
                .into(),
        ));
    }
    match backend {
        Backend::Nft => {
            tracing::info!("control segments reach the helper through nft `queue` (bypass)")
        }
        Backend::Xtables => tracing::info!(
            "kernel has no nft `queue` expression: control segments reach the helper \
             through the xtables target NFQUEUE --queue-bypass"
        ),
    }
    let mut setup = a.setup(backend);
    if a.dispatch == netfilter::Dispatch::Firewall {
        tracing::info!(
            "TCP and ICMP are picked out in the firewall's forward chain (dispatch firewall): \
             the helper has a chain in the forward hook only while a Call ID is rewritten"
        );
    }
    match a.guard {
        netfilter::Guard::Flow => tracing::info!(
            "GRE of no call is dropped at a flow's first packet (gre_guard flow); \
             PPTP tunnels that end on this router itself get no GRE"
        ),
        netfilter::Guard::Raw => {
            tracing::info!("GRE of no call is left untracked, looked up per packet (gre_guard raw)")
        }
    }
    // Calls that survived a previous helper live in the maps.
    let listing = nft::list_table()?;
    let found = match &listing {
        Some(t) => netfilter::parse_elements(t)
            .map_err(|e| OsError::Nft(format!("unreadable listing of the table: {e}")))?,
        None => Vec::new(),
    };
    // A table of an older layout (without the guard's set, whose elements
    // the raw guard needs for every call): rebuilt, its calls added again.
    let old_layout = listing
        .as_deref()
        .is_some_and(|t| !netfilter::declares(t, netfilter::SET_IN));
    let recovered: Vec<nat::Mapping> = found
        .iter()
        .filter(|(_, s)| !s.pending)
        .map(|(m, _)| *m)
        .collect();
    // Calls still waiting for their reply cannot be finished by a helper
    // that never saw the request: drop their inbound elements.
    let stale: Vec<Change> = found
        .iter()
        .filter(|(_, s)| s.pending)
        .map(|(m, _)| Change::Unexpect(*m))
        .collect();
    // A call of an older version whose public ID is neither its own nor in
    // the rewritten range: every inbound GRE packet is looked up while the
    // helper runs (the next start, without such calls, drops it).
    setup.rewrite_all = recovered
        .iter()
        .any(|m| m.public_cid != m.lan_cid && m.public_cid < nat::alloc::REWRITTEN_FROM);
    // GRE goes to `gre_fwd` only while a call's public Call ID is not its
    // own; the tracker switches it from here on.
    setup.gre_lookup = recovered.iter().any(|m| m.public_cid != m.lan_cid);
    if setup.rewrite_all {
        tracing::info!(
            "calls recovered with public Call IDs from the whole range: every inbound GRE \
             packet is looked up until the next start"
        );
    }
    let kept = if old_layout {
        tracing::info!("table of an older layout: rebuilding it with its calls");
        nft::replace_table(&setup)?;
        false
    } else {
        nft::install_table(&setup)?
    };
    if kept && !stale.is_empty() {
        nft::apply_changes(&stale, None, setup.element_timeout)?;
    }
    if !kept && !recovered.is_empty() {
        let adds: Vec<Change> = recovered.iter().copied().map(Change::Add).collect();
        nft::apply_changes(&adds, None, setup.element_timeout)?;
    }
    let cfg = nat::Config {
        idle_timeout: a.idle_timeout,
        refresh_every: Duration::from_secs(u64::from(a.element_timeout / 4).max(60)),
        ..nat::Config::default()
    };
    let mut tracker = Tracker::with_allocator(cfg, ids);
    let now = Instant::now();
    let public = addr::ipv4_of(&watch.handle, wan_index).await?;
    let mut out = Output::default();
    tracker.set_public_ip(public, now, &mut out);
    let n = tracker.recover(now, &recovered, &handed);
    if n > 0 {
        tracing::info!(calls = n, "recovered calls from the kernel maps");
    }
    let mut conntrack = match crate::os::conntrack::Conntrack::open() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "no ctnetlink socket: calls' GRE is not counted");
            None
        }
    };
    if let (Some(ct), Some(public)) = (conntrack.as_mut(), public) {
        clear_stale_gre(ct, &tracker, public);
    }
    let nfq = nfqueue::open_async(&[setup.queue_num, setup.established_queue()])?;
    let queue_rules = QueueRules::install(backend, &setup)?;
    if crate::os::nftnl::available() {
        tracing::info!(
            "programming the maps over the helper's own nf_tables netlink socket \
             (refreshes through libnftables or nft)"
        );
    } else if crate::os::libnft::available() {
        tracing::info!("programming the maps in process through libnftables");
    } else {
        tracing::info!("libnftables not found: programming the maps by running nft");
    }
    tracing::info!(
        "the kernel's PPTP helper is not attached (nft rules and iptables raw checked; \
         checked again every {} s)",
        KERNEL_HELPER_CHECK.as_secs()
    );
    tracing::info!(
        wan = %a.wan,
        public = ?public,
        queue = a.queue_num,
        established_queue = setup.established_queue(),
        "helper running"
    );
    // Each call's GRE is counted by conntrack, per entry, sampled here more
    // often than an entry can expire after its last packet.
    match crate::os::conntrack::accounting_on() {
        Ok(true) => tracing::info!("conntrack accounting turned on (nf_conntrack_acct=1)"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e,
            "cannot turn conntrack accounting on: calls' GRE counters stay 0"),
    }
    let mut d = Daemon {
        conntrack,
        counts: netfilter::counts::GreCounts::default(),
        setup,
        tracker,
        nfq,
        pending: HashSet::new(),
        wan_index,
        backend,
        queue_rules,
        log: crate::ratelimit::LogLimit::default(),
        kernel_helper: None,
        kernel_checked: checked,
        dispatch_missing: false,
        unhook: upkeep::Unhook::new(Instant::now()),
    };
    d.check_dispatch();
    let (status_tx, status_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None);
    let task = crate::service::task::Watched::spawn_local(main_loop(d, watch, status_rx, stop_rx));
    Ok(Handle {
        status: status_tx,
        stop: stop_tx,
        task,
    })
}

/// A released public Call ID rests in the allocator for longer than
/// conntrack keeps its inbound GRE entry, DNATed to the call's host. A new
/// process (a crash, a restart, an upgrade) starts with no resting IDs, so
/// another host could keep the same ID to the same server while that entry
/// lives and its GRE would go to the old host. Before any call, the
/// entries of calls this helper does not have are deleted; a recovered
/// call's entry stays.
fn clear_stale_gre(ct: &mut crate::os::conntrack::Conntrack, tracker: &Tracker, public: Ipv4Addr) {
    let owners: HashMap<(Ipv4Addr, u16), Ipv4Addr> = tracker
        .mappings()
        .iter()
        .map(|m| ((m.remote_ip(), m.public_cid), m.lan_ip()))
        .collect();
    let owner = |server, key| owners.get(&(server, key)).copied();
    match ct.gre_entries(|e| e.stale_inbound(public, owner)) {
        Ok(stale) if stale.is_empty() => {}
        Ok(stale) => {
            let n = ct.delete(&stale);
            tracing::info!(
                entries = n,
                "deleted conntrack entries of inbound GRE of calls this helper does not have \
                 (an earlier helper's ended calls)"
            );
        }
        Err(e) => tracing::warn!(error = %e,
            "cannot read conntrack's GRE entries: until the GRE timeout, a call that \
             keeps the ID of a call ended before this start may have its GRE sent to \
             that call's host"),
    }
}

async fn main_loop(
    mut d: Daemon,
    mut watch: addr::Watch,
    mut status: tokio::sync::mpsc::UnboundedReceiver<StatusReq>,
    mut stop: tokio::sync::watch::Receiver<Option<bool>>,
) -> Result<nat::Handover, OsError> {
    let mut guard = tokio::time::interval(TABLE_CHECK);
    let mut kernel = tokio::time::interval_at(
        tokio::time::Instant::now() + KERNEL_HELPER_CHECK,
        KERNEL_HELPER_CHECK,
    );
    let mut sample = tokio::time::interval(count_every());
    // Heap returned to the kernel a moment after work (see trim_heap).
    let mut trim_at: Option<Instant> = None;
    let keep = loop {
        // No fixed tick: the loop sleeps until the tracker's next deadline
        // (a held segment's hold time, a connection's idle timeout or
        // refresh) or the pending trim, so an idle helper sleeps until its
        // periodic checks.
        let wake = nat::tracker::earliest(d.tracker.poll_timeout(), trim_at);
        tokio::select! {
            r = d.nfq.fd.readable() => {
                // Clear first, then read until the socket is empty: a
                // segment arriving meanwhile raises readiness again.
                r?.clear_ready();
                while !d.drain() {}
                trim_at = trim_at.or_else(|| Some(Instant::now() + TRIM_AFTER));
            }
            () = sleep_until(wake) => {
                let now = Instant::now();
                if trim_at.is_some_and(|t| t <= now) {
                    trim_at = None;
                    crate::os::trim_heap();
                }
                if d.tracker.poll_timeout().is_some_and(|t| t <= now) {
                    let mut out = Output::default();
                    d.tracker.poll(now, &mut out);
                    d.finish(out);
                }
            }
            Some(_) = watch.events.next() => {
                // A PPPoE reconnect makes the WAN device anew, under the
                // same name and another index.
                if let Ok(i) = addr::ifindex(&watch.handle, &d.setup.wan).await {
                    d.wan_index = i;
                }
                let ip = addr::ipv4_of(&watch.handle, d.wan_index).await.unwrap_or(None);
                if ip != d.tracker.public_ip() {
                    tracing::info!(old = ?d.tracker.public_ip(), new = ?ip,
                        "WAN address changed: ending calls made through the old one");
                    let mut out = Output::default();
                    d.tracker.set_public_ip(ip, Instant::now(), &mut out);
                    d.finish(out);
                }
            }
            _ = guard.tick() => {
                d.check_dispatch();
                d.ensure_rules();
                d.unhook();
            }
            _ = sample.tick() => d.sample_counts(),
            _ = kernel.tick() => d.check_kernel_helper(),
            Some(reply) = status.recv() => {
                if d.kernel_checked.elapsed() >= KERNEL_HELPER_FRESH {
                    d.check_kernel_helper();
                }
                let _ = reply.send(d.status_json());
                trim_at = trim_at.or_else(|| Some(Instant::now() + TRIM_AFTER));
            }
            r = stop.changed() => break r.is_err() || stop.borrow().unwrap_or(false),
        }
    };
    tracing::info!("helper stopping");
    let mut out = Output::default();
    let handed = d.tracker.hand_over(Instant::now(), &mut out);
    d.queue_rules.remove();
    if keep {
        d.finish(out);
        Ok(handed)
    } else {
        // The calls end with the table: their IDs rest like any ended
        // call's (the router's own client shares the allocator).
        let now = Instant::now();
        let mut ids = d.tracker.allocator().borrow_mut();
        for m in &handed.calls {
            ids.release(handed.public, m.remote_ip(), m.public_cid, now);
        }
        drop(ids);
        nft::delete_table()?;
        Ok(nat::Handover::default())
    }
}

/// Sleep until `t`; never where there is no deadline.
async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// How long after a burst of work (segments, a `status`) the heap is given
/// back: a burst is done by then, and one trim serves all of it.
const TRIM_AFTER: Duration = Duration::from_millis(250);

/// How often every call's conntrack entries are read: half the GRE
/// timeout, so that an entry is seen once more after its last packet, and
/// at most 15 s.
fn count_every() -> Duration {
    crate::os::conntrack::gre_timeout()
        .map_or(Duration::from_secs(15), |t| t / 2)
        .clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// How often the helper checks that its table and rules are still there.
const TABLE_CHECK: Duration = Duration::from_secs(5);

/// How often the helper looks for the kernel's PPTP helper attached after
/// it started (a firewall reload, an admin's rule): two rewriters break
/// calls. `status` looks again when the last look is older than
/// [`KERNEL_HELPER_FRESH`].
const KERNEL_HELPER_CHECK: Duration = Duration::from_secs(30);
const KERNEL_HELPER_FRESH: Duration = Duration::from_secs(5);

impl Daemon {
    /// Read a batch of queued segments; true when the socket is drained.
    /// A batch stays small (segments wait for their verdicts until it
    /// ends); one map transaction per batch.
    fn drain(&mut self) -> bool {
        let now = Instant::now();
        let mut out = Output::default();
        let mut drained = false;
        for _ in 0..64 {
            let pkt = match self.nfq.recv() {
                Ok(p) => p,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(e) => {
                    // ENOBUFS and the like: the kernel let packets pass (fail-open).
                    tracing::warn!(error = %e, "NFQUEUE receive error");
                    drained = true;
                    break;
                }
            };
            // Packet ids count per queue: the queue goes in the high bits.
            let id = (u64::from(pkt.queue) << 32) | u64::from(pkt.id);
            let dir = if pkt.outdev == self.wan_index {
                Some(Dir::Outbound)
            } else if pkt.indev == self.wan_index {
                Some(Dir::Inbound)
            } else {
                None
            };
            match dir {
                Some(dir) => {
                    self.unhook.segment(now);
                    self.pending.insert(id);
                    self.tracker.handle(now, id, dir, pkt.payload, &mut out);
                }
                None => {
                    let _ = self.nfq.verdict(pkt.queue, pkt.id, Decision::Accept);
                }
            }
        }
        self.finish(out);
        drained
    }

    /// Program the kernel, then give the verdicts.
    fn finish(&mut self, out: Output) {
        if let Some(on) = out.gre_lookup {
            tracing::info!(
                "GRE Call IDs {}",
                if on {
                    "looked up from now: a call's public Call ID is not its own"
                } else {
                    "no longer looked up: every call keeps its own Call ID"
                }
            );
        }
        let dispatch = self.setup.dispatch;
        // With the firewall's dispatch, the lookup's end deletes a base
        // chain: that waits for a quiet queue (`unhook`).
        let gre_lookup = self
            .unhook
            .switch(out.gre_lookup, dispatch)
            .map(|on| netfilter::GreLookup { on, dispatch });
        if !out.changes.is_empty() || gre_lookup.is_some() {
            match nft::apply_changes(&out.changes, gre_lookup, self.setup.element_timeout) {
                Ok(()) => {
                    let now = Instant::now();
                    for c in &out.changes {
                        if matches!(c, Change::Refresh(_) | Change::Expect(_)) {
                            continue;
                        }
                        let (ok, held) = self.log.allow(now);
                        if let Some(n) = held {
                            tracing::info!(lines = n, "call log lines suppressed in the last 10 s");
                        }
                        if !ok {
                            continue;
                        }
                        match c {
                            Change::Add(m) => tracing::info!("call up: {m}"),
                            Change::Remove(m) => tracing::info!("call down: {m}"),
                            Change::Refresh(m) => tracing::debug!("call refreshed: {m}"),
                            Change::Expect(m) => tracing::debug!("call requested: {m}"),
                            Change::Promote(m) => tracing::info!("call up: {m}"),
                            Change::Unexpect(m) => tracing::info!("call failed: {m}"),
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "programming the GRE maps failed"),
            }
        }
        let established = self.setup.established_queue();
        for (id, v) in out.verdicts {
            if !self.pending.remove(&id) {
                continue;
            }
            let (queue, id) = ((id >> 32) as u16, id as u32);
            // An established connection's segment skips the rest of the
            // forward hook: the firewall's flowtable never takes it.
            let d = match (&v, queue == established) {
                (Verdict::Accept(None), false) => Decision::Accept,
                (Verdict::Accept(Some(bytes)), false) => Decision::AcceptAs(bytes),
                (Verdict::Accept(None), true) => Decision::Stop,
                (Verdict::Accept(Some(bytes)), true) => Decision::StopAs(bytes),
                (Verdict::Drop, _) => Decision::Drop,
            };
            if let Err(e) = self.nfq.verdict(queue, id, d) {
                tracing::warn!(error = %e, "NFQUEUE verdict failed");
            }
        }
    }
}
