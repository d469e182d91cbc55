//! A client profile kept up: dial, and after a drop dial again with
//! back-off, until told to stop or retrying cannot help.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use tokio::sync::watch;

use super::dial::{CallIds, Profile, attempt};
use super::status::{State, Status};
use crate::pptp::backoff::Backoff;

/// A running profile.
pub struct Handle {
    pub status: Rc<RefCell<Status>>,
    stop: watch::Sender<bool>,
    task: crate::service::task::Watched<Result<(), String>>,
}

impl Handle {
    /// Start dialing `profile` on the current `LocalSet`.
    pub fn start(profile: Profile, ids: CallIds) -> Handle {
        let status = Rc::new(RefCell::new(Status {
            name: profile.cfg.name.clone(),
            server: profile.cfg.server.to_string(),
            tun: profile.tun.clone(),
            state: State::Connecting,
            ..Status::default()
        }));
        let (tx, rx) = watch::channel(false);
        let task =
            crate::service::task::Watched::spawn_local(keep_up(profile, ids, status.clone(), rx));
        Handle {
            status,
            stop: tx,
            task,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Wait until the profile's task has ended (it gave up).
    pub async fn ended(&mut self) {
        self.task.ended().await;
    }

    /// Hang up (if up) and wait until the profile's task has cleaned up.
    /// Ok, or the error that made it give up before.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(true);
        self.task
            .join()
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    }
}

async fn keep_up(
    p: Profile,
    ids: CallIds,
    status: Rc<RefCell<Status>>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut backoff = Backoff::new(p.cfg.reconnect_min, p.cfg.reconnect_max);
    loop {
        {
            let mut s = status.borrow_mut();
            s.state = State::Connecting;
            s.attempts += 1;
            s.retry_at = None;
        }
        tracing::info!(profile = %p.cfg.name, server = %p.cfg.server, "dialing");
        let out = attempt(&p, &ids, &status, &mut stop).await;
        let stopped = *stop.borrow();
        {
            let mut s = status.borrow_mut();
            s.local_ip = None;
            s.remote_ip = None;
            s.ipv6_link_local = None;
            s.ipv6_peer = None;
            s.ipv6_addr = None;
            s.dns6.clear();
            s.since = None;
            s.last_error = out.error.clone();
            s.state = State::Down;
        }
        if stopped {
            tracing::info!(profile = %p.cfg.name, "disconnected on request");
            println!("disconnected");
            return Ok(());
        }
        let why = out.error.unwrap_or_else(|| "link down".into());
        if out.fatal || !p.cfg.reconnect {
            tracing::error!(profile = %p.cfg.name, error = %why, "giving up");
            status.borrow_mut().state = State::Failed;
            println!("disconnected: {why}");
            return Err(why);
        }
        let wait = backoff.after(out.up_for);
        tracing::warn!(profile = %p.cfg.name, error = %why, retry_in_secs = wait.as_secs(), "link lost; dialing again later");
        {
            let mut s = status.borrow_mut();
            s.state = State::Waiting;
            s.retry_at = Some(Instant::now() + wait);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                status.borrow_mut().state = State::Down;
                return Ok(());
            }
        }
    }
}
