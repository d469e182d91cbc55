//! Dynamic authorization (RFC 5176): Disconnect-Request ends the named
//! sessions, CoA-Request changes their Session-Timeout; only from the
//! configured clients, with the shared secret.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::super::aaa::Cause;
use super::super::session::{self, Shared, State};
use crate::radius::crypto;
use crate::radius::packet::{Code, Packet, attr};

/// Error-Cause (RFC 5176 §3.5).
const SESSION_NOT_FOUND: u32 = 503;
const UNSUPPORTED_ATTRIBUTE: u32 = 401;

/// Sessions an RFC 5176 request names: by Acct-Session-Id, User-Name or
/// Framed-IP-Address (all that are given must match).
fn named(st: &State, p: &Packet) -> Option<Vec<u16>> {
    let sid = p.get(attr::ACCT_SESSION_ID);
    let user = p.get(attr::USER_NAME);
    let ip = p.get(attr::FRAMED_IP_ADDRESS);
    if sid.is_none() && user.is_none() && ip.is_none() {
        return None;
    }
    Some(
        st.sessions
            .iter()
            .filter(|(_, s)| sid.is_none_or(|v| v == s.aaa.acct_session_id.as_bytes()))
            .filter(|(_, s)| user.is_none_or(|v| s.user.as_deref().map(str::as_bytes) == Some(v)))
            .filter(|(_, s)| ip.is_none_or(|v| v == s.tunnel_ip.octets()))
            .map(|(c, _)| *c)
            .collect(),
    )
}

/// Answer one Disconnect or CoA Request (RFC 5176 §3).
fn dae_request(st: &mut State, now: Instant, from: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let aaa = st.aaa.as_ref()?;
    let SocketAddr::V4(v4) = from else {
        return None;
    };
    if !aaa.cfg.dae_clients.contains(v4.ip()) {
        tracing::warn!(%from, "RADIUS dynamic authorization request from an unknown client dropped");
        return None;
    }
    let secret = aaa.cfg.secret.clone().into_bytes();
    let p = match crypto::verify_md5_request(bytes, &secret) {
        Ok(p) if p.code != Code::AccountingRequest => p,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(%from, "RADIUS dynamic authorization request refused: {e}");
            return None;
        }
    };
    let (ack, nak) = match p.code {
        Code::DisconnectRequest => (Code::DisconnectAck, Code::DisconnectNak),
        _ => (Code::CoaAck, Code::CoaNak),
    };
    let found = named(st, &p);
    let reply = |code, cause: Option<u32>| {
        let mut r = Packet::new(code, p.id);
        if let Some(c) = cause {
            r.add_u32(attr::ERROR_CAUSE, c);
        }
        crypto::finish_response(&mut r, &secret, p.authenticator).ok()
    };
    let cids = match found {
        Some(c) if !c.is_empty() => c,
        _ => return reply(nak, Some(SESSION_NOT_FOUND)),
    };
    if let Some(a) = &mut st.aaa {
        a.dae_handled = a.dae_handled.saturating_add(1);
    }
    if p.code == Code::DisconnectRequest {
        for cid in cids {
            if let Some(s) = st.sessions.get_mut(&cid) {
                tracing::info!(user = s.user.as_deref().unwrap_or("?"), call_id = cid, %from,
                    "session disconnected by a RADIUS Disconnect-Request");
                s.aaa.cause = Some(Cause::AdminReset);
            }
            session::hang_up_as(st, cid, now, "RADIUS Disconnect-Request");
        }
        return reply(ack, None);
    }
    // CoA: only Session-Timeout is changed here.
    let Some(t) = p.get_u32(attr::SESSION_TIMEOUT) else {
        return reply(nak, Some(UNSUPPORTED_ATTRIBUTE));
    };
    for cid in cids {
        if let Some(s) = st.sessions.get_mut(&cid) {
            s.aaa.session_timeout = (t > 0).then(|| Duration::from_secs(t.into()));
            tracing::info!(
                call_id = cid,
                session_timeout = t,
                "RADIUS CoA-Request applied"
            );
        }
    }
    reply(ack, None)
}

/// Disconnect and CoA Requests.
pub async fn dae_loop(st: Shared) {
    let mut buf = vec![0u8; 4096];
    loop {
        let sock = match st.borrow().aaa.as_ref().and_then(|a| a.dae.clone()) {
            Some(s) => s,
            None => return,
        };
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let now = Instant::now();
        let answer = {
            let mut s = st.borrow_mut();
            let a = dae_request(&mut s, now, from, buf.get(..n).unwrap_or_default());
            if let Some(x) = &mut s.aaa {
                x.transmit();
            }
            a
        };
        if let Some(b) = answer {
            let _ = sock.send_to(&b, from).await;
        }
    }
}
