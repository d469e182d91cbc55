//! What `client status` reports for one profile.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not dialing (never started, or disconnected on request).
    #[default]
    Down,
    /// A dial attempt is under way.
    Connecting,
    /// The tunnel carries IP.
    Connected,
    /// Waiting to dial again after a drop or a failed attempt.
    Waiting,
    /// Gave up: retrying cannot help (e.g. wrong password).
    Failed,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    pub name: String,
    pub server: String,
    pub state: State,
    pub tun: String,
    pub local_ip: Option<Ipv4Addr>,
    pub remote_ip: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    /// Our link-local address once IPv6 is up, and the server's.
    pub ipv6_link_local: Option<Ipv6Addr>,
    pub ipv6_peer: Option<Ipv6Addr>,
    /// The address SLAAC formed from the server's advertisement.
    pub ipv6_addr: Option<Ipv6Addr>,
    /// IPv6 DNS servers the server advertised (RFC 8106).
    pub dns6: Vec<Ipv6Addr>,
    pub mppe: Option<String>,
    /// `tun` or `kernel`, once the call is up.
    pub data_path: Option<&'static str>,
    /// Seconds the tunnel has been up.
    pub age_secs: Option<u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Dial attempts since the profile was started.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Seconds until the next attempt (state `waiting`).
    pub retry_in_secs: Option<u64>,
    #[serde(skip)]
    pub since: Option<Instant>,
    #[serde(skip)]
    pub retry_at: Option<Instant>,
}

impl Status {
    /// The JSON row, with ages computed at `now`.
    pub fn to_json(&self, now: Instant) -> serde_json::Value {
        let mut s = self.clone();
        s.age_secs = (s.state == State::Connected)
            .then(|| s.since.map(|t| now.saturating_duration_since(t).as_secs()))
            .flatten();
        s.retry_in_secs = (s.state == State::Waiting)
            .then(|| {
                s.retry_at
                    .map(|t| t.saturating_duration_since(now).as_secs())
            })
            .flatten();
        serde_json::to_value(s).unwrap_or_default()
    }
}
