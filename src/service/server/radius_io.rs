//! The server's RADIUS edge: the loops that take answers and Disconnect or
//! CoA requests off their sockets, the timers, and what a verdict or a
//! timer does to a session.

use std::time::{Duration, Instant};

use super::aaa::{Cause, INTERIM, authorize};
use super::session::{self, Shared, State};

mod dae;
pub use dae::dae_loop;

/// Deliver finished logins to their sessions.
pub fn settle(st: &mut State, now: Instant) {
    let mppe = st.cfg.mppe;
    let Some(aaa) = &mut st.aaa else { return };
    let done = aaa.take_verdicts(mppe);
    let cfg = aaa.cfg.clone();
    for d in done {
        if let Some(s) = st.sessions.get_mut(&d.cid) {
            if let Some(p) = &d.accept {
                authorize(&mut s.aaa, p, &cfg);
            }
            s.link.ppp.complete_auth(now, d.verdict);
            session::pump(st, d.cid, now);
        }
    }
}

/// Answers from RADIUS servers.
pub async fn answers_loop(st: Shared) {
    let mut buf = vec![0u8; 4096];
    loop {
        let sock = match &st.borrow().aaa {
            Some(a) => a.socket(),
            None => return,
        };
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let now = Instant::now();
        let mut s = st.borrow_mut();
        if let Some(a) = &mut s.aaa {
            a.handle_answer(from, buf.get(..n).unwrap_or_default());
        }
        settle(&mut s, now);
        if let Some(a) = &mut s.aaa {
            a.transmit();
        }
    }
}

/// The timers, every 50 ms while a session lives or a request waits for
/// its answer; otherwise the loop sleeps until a session starts (requests
/// are sent for sessions only).
pub async fn timer_loop(st: Shared) {
    let mut started = st.borrow().session_started.subscribe();
    let mut t = tokio::time::interval(Duration::from_millis(50));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let idle = {
            let s = st.borrow();
            let Some(a) = &s.aaa else { return };
            s.sessions.is_empty() && a.poll_timeout().is_none()
        };
        if idle {
            if started.changed().await.is_err() {
                return;
            }
            t.reset_immediately();
        }
        t.tick().await;
        if st.borrow().aaa.is_none() {
            return;
        }
        tick(&mut st.borrow_mut(), Instant::now());
    }
}

/// Timers: resends and failover, Interim-Updates, Session-Timeout and the
/// RADIUS Idle-Timeout.
pub fn tick(st: &mut State, now: Instant) {
    let Some(a) = &mut st.aaa else { return };
    a.handle_timeout(now);
    settle(st, now);
    let ids: Vec<u16> = st.sessions.keys().copied().collect();
    for cid in ids {
        let Some(s) = st.sessions.get_mut(&cid) else {
            continue;
        };
        if s.up.is_none() || !s.aaa.started {
            continue;
        }
        let age = now.saturating_duration_since(s.started);
        let idle = now.saturating_duration_since(s.last_ip);
        let expired = if s.aaa.session_timeout.is_some_and(|t| age >= t) {
            Some(Cause::SessionTimeout)
        } else if s.aaa.idle_timeout.is_some_and(|t| idle >= t) {
            Some(Cause::IdleTimeout)
        } else {
            None
        };
        if let Some(cause) = expired {
            tracing::info!(
                user = s.user.as_deref().unwrap_or("?"),
                ?cause,
                "RADIUS time limit reached: hanging up"
            );
            s.aaa.cause = Some(cause);
            (s.aaa.session_timeout, s.aaa.idle_timeout) = (None, None);
            s.link.ppp.close(now);
            continue;
        }
        if s.aaa.next_interim.is_some_and(|t| t <= now) {
            s.aaa.next_interim = s.aaa.interim.and_then(|i| now.checked_add(i));
            super::report::account(st, cid, now, INTERIM);
        }
    }
    if let Some(a) = &mut st.aaa {
        a.refill();
        a.transmit();
    }
}
