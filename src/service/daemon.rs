//! The long-running process: whichever of the helper, the server and the
//! client profiles it was asked to run, one Call ID allocator for all of
//! them, the control socket, and signals (SIGHUP reloads `run`'s config).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};

use super::client::{self, CallIds, Profile};
use super::control::{Answer, Request, Status};
use super::{helper, server};
use crate::config::{ClientCfg, Config, ServerCfg};
use crate::nat::alloc::SharedAllocator;
use crate::os::{OsError, ctl};

/// Answers larger than this are followed by a trim of the heap.
const BIG_ANSWER: usize = 64 * 1024;

/// Components and what they were started from (to tell, on reload, what
/// changed).
pub struct Daemon {
    pub ids: SharedAllocator,
    pub helper: Option<helper::Handle>,
    pub server: Option<server::Handle>,
    pub clients: HashMap<String, client::Handle>,
    /// Profiles `connect NAME` may start.
    pub profiles: Vec<ClientCfg>,
    /// `run`: the config file, re-read on SIGHUP.
    pub config: Option<PathBuf>,
    /// The enabled helper's config, and its options with interface names
    /// resolved to devices while it runs.
    helper_cfg: Option<crate::config::HelperCfg>,
    helper_opts: Option<helper::Options>,
    /// The helper is enabled but its interface is down or missing: why.
    helper_waiting: Option<String>,
    server_cfg: Option<ServerCfg>,
    /// The config runs the server or has client profiles: tunnels end on
    /// the router, so the helper's `auto` guard leaves their GRE alone.
    local_tunnels: bool,
    pub warnings: Vec<String>,
    /// Foreground `client connect`: exit when its profile gives up.
    pub exit_with_clients: bool,
    /// Leave the helper's table in place on exit.
    pub keep_on_exit: bool,
}

/// How often a helper waiting for its interface looks again.
const HELPER_RETRY: Duration = Duration::from_secs(10);

/// Bind the control socket unless another live process answers there.
pub fn listen_if_free(path: &Path) -> Option<(UnixListener, PathBuf)> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        tracing::info!(socket = %path.display(),
            "another pptp-passthrough answers on the control socket; this one has none");
        return None;
    }
    match ctl::listen(path) {
        Ok(l) => Some((l, path.to_path_buf())),
        Err(e) => {
            tracing::warn!(socket = %path.display(), error = %e, "no control socket");
            None
        }
    }
}

impl Daemon {
    pub fn new(ids: SharedAllocator) -> Daemon {
        Daemon {
            ids,
            helper: None,
            server: None,
            clients: HashMap::new(),
            profiles: Vec::new(),
            config: None,
            helper_cfg: None,
            helper_opts: None,
            helper_waiting: None,
            server_cfg: None,
            local_tunnels: false,
            warnings: Vec::new(),
            exit_with_clients: false,
            keep_on_exit: false,
        }
    }

    /// Bring the components in line with `cfg`: start what is new or
    /// changed, stop what went away, leave the rest (and its calls) alone.
    pub async fn apply(&mut self, cfg: Config) -> Result<(), OsError> {
        let bad = |e: String| OsError::Command {
            cmd: "run".into(),
            detail: e,
        };
        self.warnings = cfg.warnings();
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
        self.helper_cfg = cfg.helper.clone().filter(|h| h.enabled);
        self.local_tunnels =
            cfg.server.as_ref().is_some_and(|s| s.enabled) || !cfg.clients.is_empty();
        self.apply_helper(true).await?;
        let want_server = cfg.server.clone().filter(|s| s.enabled);
        if want_server != self.server_cfg {
            if let Some(s) = self.server.take() {
                tracing::info!("server settings changed: restarting the server");
                s.stop().await;
            }
            if let Some(c) = &want_server {
                let o = server::Options::from_config(c).map_err(bad)?;
                self.server = Some(server::start(o, &cfg.users).await?);
            }
            self.server_cfg = want_server;
        } else if let Some(s) = &self.server {
            // Users changed (or not): new logins see them, sessions stay.
            match s.set_users(&cfg.users) {
                Ok(n) => tracing::info!(logins = n, "server logins re-read"),
                Err(e) => {
                    tracing::error!(error = %e, "server logins not re-read; the old ones stay")
                }
            }
        }
        let names: Vec<String> = self.clients.keys().cloned().collect();
        for n in names {
            let same = cfg.client(&n).is_some_and(|c| Some(c) == self.profile(&n));
            if !same {
                if let Some(h) = self.clients.remove(&n) {
                    tracing::info!(profile = %n, "profile changed or removed: hanging up");
                    let _ = h.stop().await;
                }
            }
        }
        self.profiles = cfg.clients.clone();
        for c in &cfg.clients {
            if c.autoconnect && !self.clients.contains_key(&c.name) {
                self.connect(&c.name);
            }
        }
        Ok(())
    }

    /// Bring the helper in line with `helper_cfg`, its interface names
    /// resolved now. A helper whose interface is down or missing waits
    /// (said once when `tell`); netifd's `reload` and a retry every
    /// [`HELPER_RETRY`] start it when the interface is there.
    async fn apply_helper(&mut self, tell: bool) -> Result<(), OsError> {
        let bad = |e: String| OsError::Command {
            cmd: "run".into(),
            detail: e,
        };
        self.helper_waiting = None;
        let want = match &self.helper_cfg {
            None => None,
            Some(c) => {
                let o = helper::Options::from_config(c, self.local_tunnels).map_err(bad)?;
                match o.resolved() {
                    Ok(o) => Some(o),
                    Err(e @ (OsError::InterfaceDown(_) | OsError::NoInterface(_))) => {
                        if tell {
                            tracing::warn!(
                                "helper waiting: {e}; it starts when the interface is there"
                            );
                        }
                        self.helper_waiting = Some(e.to_string());
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if want == self.helper_opts {
            return Ok(());
        }
        let mut handed = crate::nat::Handover::default();
        if let Some(h) = self.helper.take() {
            // A changed helper hands its calls to the next one.
            handed = h.stop(want.is_some()).await?;
        }
        if let Some(o) = &want {
            if let Some(old) = self.helper_opts.as_ref().filter(|p| p.wan != o.wan) {
                tracing::info!(old = %old.wan, new = %o.wan, "WAN device changed");
            }
            self.helper = Some(helper::start(o.clone(), self.ids.clone(), handed).await?);
        }
        self.helper_opts = want;
        Ok(())
    }

    fn profile(&self, name: &str) -> Option<&ClientCfg> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Start dialing a known profile; false if there is none by that name.
    fn connect(&mut self, name: &str) -> bool {
        let Some(cfg) = self.profile(name).cloned() else {
            return false;
        };
        let ids = if self.helper.is_some() {
            CallIds::Shared(self.ids.clone())
        } else {
            CallIds::Random
        };
        let p = Profile::from_config(cfg);
        self.clients
            .insert(name.to_string(), client::Handle::start(p, ids));
        true
    }

    /// The status document (`control::Status`).
    pub async fn status(&self) -> Status {
        let helper = match &self.helper {
            Some(h) => h.status().await.unwrap_or_default(),
            None => serde_json::Value::Null,
        };
        let now = Instant::now();
        let mut clients: Vec<serde_json::Value> = self
            .clients
            .values()
            .map(|c| c.status.borrow().to_json(now))
            .collect();
        for p in &self.profiles {
            if !self.clients.contains_key(&p.name) {
                clients.push(serde_json::json!({
                    "name": p.name, "server": p.server.to_string(), "state": "down",
                }));
            }
        }
        clients.sort_by_key(|c| c["name"].as_str().map(str::to_string));
        Status {
            helper: match helper {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            helper_enabled: self.helper.is_some(),
            helper_waiting: self.helper_waiting.clone(),
            server: self.server.as_ref().map(|s| s.status()),
            clients,
            warnings: self.warnings.clone(),
        }
    }

    /// One control request; the JSON document that answers it.
    async fn request(&mut self, line: &str) -> String {
        let answer = match Request::parse(line) {
            Ok(Request::Status) => return json(&self.status().await),
            Ok(Request::Connect(name)) => self.connect_request(&name).await,
            Ok(Request::Disconnect(name)) => match self.clients.remove(&name) {
                Some(c) => Answer {
                    error: c.stop().await.err(),
                    ..Answer::ok()
                },
                None => Answer::refused(format!("{name:?} is not connected")),
            },
            Ok(Request::Hangup(id)) => match &self.server {
                Some(s) if s.hang_up(id) => Answer::ok(),
                Some(_) => Answer::refused(format!("the server has no session with call ID {id}")),
                None => Answer::refused("the server is not running"),
            },
            Err(e) => Answer::refused(e),
        };
        json(&answer)
    }

    async fn connect_request(&mut self, name: &str) -> Answer {
        if let Some(c) = self.clients.get(name).filter(|c| !c.is_finished()) {
            return Answer {
                already: Some(true),
                client: Some(c.status.borrow().to_json(Instant::now())),
                ..Answer::ok()
            };
        }
        if let Some(old) = self.clients.remove(name) {
            let _ = old.stop().await;
        }
        if self.connect(name) {
            Answer::ok()
        } else {
            Answer::refused(format!("no client profile named {name:?}"))
        }
    }

    async fn reload(&mut self) {
        let Some(path) = self.config.clone() else {
            return;
        };
        match crate::config::load(&path) {
            Ok(cfg) => match self.apply(cfg).await {
                Ok(()) => tracing::info!(config = %path.display(), "configuration reloaded"),
                Err(e) => tracing::error!(error = %e, "reload failed; some parts may be stopped"),
            },
            Err(e) => {
                tracing::error!(error = %e, "reload refused: the configuration has errors; running on")
            }
        }
    }

    /// Stop whatever was started (a start-up step failed).
    pub async fn serve_until_stopped_now(mut self) -> Result<(), OsError> {
        self.shutdown().await
    }

    async fn shutdown(&mut self) -> Result<(), OsError> {
        for (_, c) in self.clients.drain() {
            let _ = c.stop().await;
        }
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        if let Some(h) = self.helper.take() {
            h.stop(self.keep_on_exit).await?;
        }
        Ok(())
    }

    /// Serve requests and signals until told to stop, then stop everything.
    pub async fn serve(mut self, socket: Option<(UnixListener, PathBuf)>) -> Result<(), OsError> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut retry = tokio::time::interval(HELPER_RETRY);
        let mut result = Ok(());
        loop {
            tokio::select! {
                Ok((mut s, _)) = async { socket.as_ref().unwrap().0.accept().await }, if socket.is_some() => {
                    let req = ctl::read_request(&mut s).await;
                    let body = self.request(&req).await;
                    ctl::reply(s, &body).await;
                    // A status of thousands of calls is megabytes, built
                    // and gone: give its heap back (as the helper does
                    // after a burst).
                    if body.len() > BIG_ANSWER {
                        drop(body);
                        crate::os::trim_heap();
                    }
                }
                _ = hup.recv() => self.reload().await,
                _ = retry.tick(), if self.helper_waiting.is_some() => {
                    if let Err(e) = self.apply_helper(false).await {
                        tracing::error!(error = %e, "starting the helper failed");
                    }
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
                // The services' ends are awaited, not looked for on a timer:
                // an idle daemon sleeps.
                () = helper_ended(self.helper.as_mut()) => {
                    if let Some(h) = self.helper.take() {
                        result = h.stop(true).await.and(Err(OsError::Nft("the helper stopped".into())));
                    }
                    break;
                }
                () = clients_ended(&mut self.clients), if self.exit_with_clients => {
                    for (_, c) in self.clients.drain() {
                        if let Err(e) = c.stop().await {
                            result = Err(OsError::Command { cmd: "client connect".into(), detail: e });
                        }
                    }
                    break;
                }
            }
        }
        self.shutdown().await?;
        if let Some((_, path)) = socket {
            let _ = std::fs::remove_file(path);
        }
        result
    }
}

/// The running helper's end; never without one.
async fn helper_ended(h: Option<&mut helper::Handle>) {
    match h {
        Some(h) => h.ended().await,
        None => std::future::pending().await,
    }
}

/// The end of every client profile (at once without any).
async fn clients_ended(clients: &mut HashMap<String, client::Handle>) {
    futures::future::join_all(clients.values_mut().map(client::Handle::ended)).await;
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"ok\":false,\"error\":\"{e}\"}}"))
}
