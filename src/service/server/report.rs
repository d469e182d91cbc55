//! What the server reports: the `status` document, and the RADIUS
//! accounting records of its sessions (Start, Interim-Update, Stop).

use std::time::Instant;

use super::session::{State, prefix_text};
use crate::ppp::ipv6cp::link_local;

/// The `server` part of the status document.
pub fn status(st: &State, now: Instant) -> serde_json::Value {
    let mut rows: Vec<serde_json::Value> = st
        .sessions
        .iter()
        .map(|(cid, s)| {
            let g = s.link.gre.stats();
            let counters = s.current_counters();
            let bytes = match &s.kernel {
                Some(_) => (counters.in_octets, counters.out_octets),
                None => (g.bytes_in, g.bytes_out),
            };
            serde_json::json!({
                "user": s.user,
                "peer": s.link.peer,
                "tunnel_ip": s.tunnel_ip,
                "call_id": cid,
                "state": if s.up.is_some() { "up" } else if s.user.is_some() { "negotiating" } else { "authenticating" },
                "age_secs": now.saturating_duration_since(s.started).as_secs(),
                "bytes_in": bytes.0,
                "bytes_out": bytes.1,
                "ip_octets_in": counters.in_octets,
                "ip_octets_out": counters.out_octets,
                "ip_packets_in": counters.in_packets,
                "ip_packets_out": counters.out_packets,
                "data_path": if s.kernel.is_some() { "kernel" } else { "tun" },
                "interface": s.kernel.as_ref().map(|k| k.call.ifname()),
                "acct_session_id": (!s.aaa.acct_session_id.is_empty()).then_some(&s.aaa.acct_session_id),
                "ipv6_link_local": s.peer_id.map(link_local),
                "ipv6_prefix": s.prefix6.filter(|_| s.peer_id.is_some()).map(prefix_text),
            })
        })
        .collect();
    rows.sort_by_key(|r| r["tunnel_ip"].as_str().map(str::to_string));
    // Keys remembered for lockouts, and those forgotten early because the
    // table was full (a guesser cycling through user names).
    let (entries, evicted) = st
        .lock
        .lock()
        .map(|l| (l.len(), l.evicted))
        .unwrap_or_default();
    serde_json::json!({
        "listen": st.opts.listen,
        "tun": st.tun.name(),
        "data_path": if st.kernel { "kernel" } else { "tun" },
        "max_sessions": st.opts.max_sessions,
        "sessions": rows,
        "lockout": {"entries": entries, "evicted": evicted},
        "radius": st.aaa.as_ref().map(super::aaa::Aaa::status),
    })
}

/// An accounting record of `status` for a session, to RADIUS.
pub fn account(st: &mut State, cid: u16, now: Instant, status: u32) {
    if let Some(s) = st.sessions.get_mut(&cid) {
        s.refresh_counters();
    }
    let (Some(s), Some(a)) = (st.sessions.get(&cid), &mut st.aaa) else {
        return;
    };
    let r = super::aaa::Record {
        cid,
        user: s.user.as_deref().unwrap_or_default(),
        peer: s.link.peer,
        ip: s.tunnel_ip,
        secs: now.saturating_duration_since(s.started).as_secs(),
        aaa: &s.aaa,
        counters: s.counters,
    };
    a.account(now, status, &r);
    a.transmit();
}

/// Accounting Start once a session is up (with RADIUS).
pub(super) fn session_up(st: &mut State, cid: u16, now: Instant) {
    let Some(s) = st.sessions.get_mut(&cid) else {
        return;
    };
    if s.aaa.started || st.aaa.is_none() {
        return;
    }
    s.aaa.started = true;
    s.aaa.next_interim = s.aaa.interim.and_then(|i| now.checked_add(i));
    account(st, cid, now, super::aaa::START);
}

/// Accounting Stop as a session ends (before it is removed); a login still
/// waiting for RADIUS is forgotten.
pub(super) fn session_end(st: &mut State, cid: u16, now: Instant, default: super::aaa::Cause) {
    if let Some(a) = &mut st.aaa {
        a.forget(cid);
    }
    let Some(s) = st.sessions.get_mut(&cid) else {
        return;
    };
    if !s.aaa.started {
        return;
    }
    s.aaa.cause.get_or_insert(default);
    account(st, cid, now, super::aaa::STOP);
}
