//! Diagnostics, sans-IO: what `check connect` found, step by step, and the
//! verdict a router owner can act on. Like Windows' pptpclnt/pptpsrv, plus
//! which direction of GRE is lost, whether the NAT allows more than one call,
//! what address the far side sees and what MTU fits.

use std::net::Ipv4Addr;

/// Outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Step {
    Ok(String),
    Failed(String),
    /// Not tried because an earlier step failed, or cannot be verified
    /// against this peer.
    Skipped(String),
}

impl Step {
    pub fn ok(&self) -> bool {
        matches!(self, Step::Ok(_))
    }
}

/// How the TCP connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpOutcome {
    Connected,
    Refused,
    TimedOut,
    Unreachable,
}

/// Everything `check connect` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub host: String,
    pub resolved: Option<Ipv4Addr>,
    pub tcp: Option<TcpOutcome>,
    /// The peer answered SCCRQ with SCCRP.
    pub control: Option<bool>,
    /// The peer is a `check listen` instance (it can report what it saw).
    pub listener: bool,
    pub calls_requested: u32,
    /// Calls the peer accepted (OCRP result 1).
    pub calls_up: u32,
    /// Calls whose GRE probes the listener reported receiving.
    pub gre_out_ok: u32,
    /// Calls that got GRE back (echoes, or any GRE from a real server).
    pub gre_back_ok: u32,
    /// The source address the listener saw.
    pub seen_address: Option<Ipv4Addr>,
    pub local_address: Option<Ipv4Addr>,
    /// Largest GRE packet (IP total length) with DF that made the round trip.
    pub path_mtu: Option<u32>,
    pub steps: Vec<(String, Step)>,
}

impl Report {
    pub fn new(host: &str, calls: u32) -> Self {
        Report {
            host: host.to_string(),
            resolved: None,
            tcp: None,
            control: None,
            listener: false,
            calls_requested: calls,
            calls_up: 0,
            gre_out_ok: 0,
            gre_back_ok: 0,
            seen_address: None,
            local_address: None,
            path_mtu: None,
            steps: Vec::new(),
        }
    }

    /// Whether the far side saw another address than ours: a NAT between.
    pub fn nat_detected(&self) -> Option<bool> {
        Some(self.seen_address? != self.local_address?)
    }
}

/// Failure classes and their exit codes (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Pass = 0,
    Dns = 2,
    TcpBlocked = 3,
    NotPptp = 4,
    CallRefused = 5,
    GreOutBlocked = 6,
    GreBackBlocked = 7,
    OneCallOnly = 8,
}

/// The verdict: a class, its exit code and one line a person understands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub class: Class,
    pub exit_code: i32,
    pub message: String,
}

fn v(class: Class, message: String) -> Verdict {
    Verdict {
        class,
        exit_code: class as i32,
        message,
    }
}

/// The verdict rules, first failure wins.
pub fn verdict(r: &Report) -> Verdict {
    let host = &r.host;
    let Some(ip) = r.resolved else {
        return v(
            Class::Dns,
            format!("cannot resolve {host} to an IPv4 address: check the name and your DNS"),
        );
    };
    match r.tcp {
        Some(TcpOutcome::Connected) => {}
        Some(TcpOutcome::Refused) => {
            return v(
                Class::TcpBlocked,
                format!(
                    "TCP port 1723 on {ip} refuses connections: no PPTP server listens there, or a firewall \
                     (yours, your router's or your ISP's) rejects PPTP's control port"
                ),
            );
        }
        _ => {
            return v(
                Class::TcpBlocked,
                format!(
                    "TCP port 1723 on {ip} does not answer: the server is down, or a firewall drops PPTP's \
                     control port"
                ),
            );
        }
    }
    if r.control != Some(true) {
        return v(
            Class::NotPptp,
            format!("{ip} answers on TCP 1723 but not as a PPTP server"),
        );
    }
    if r.calls_up < r.calls_requested {
        return v(
            Class::CallRefused,
            format!(
                "the PPTP server refused the call ({} of {} accepted)",
                r.calls_up, r.calls_requested
            ),
        );
    }
    if r.listener && r.gre_out_ok == 0 {
        return v(
            Class::GreOutBlocked,
            "GRE from you never reaches the server: your router or ISP blocks IP protocol 47 going out".into(),
        );
    }
    if r.gre_back_ok == 0 {
        let why = if r.listener {
            "the server received your GRE and answered, but its GRE never arrives"
        } else {
            "the server sent no GRE that arrived here (this is not a check listener, so GRE towards it could \
             not be verified)"
        };
        return v(
            Class::GreBackBlocked,
            format!(
                "GRE from the server never arrives: your router or ISP blocks protocol 47 or lacks PPTP \
                 passthrough ({why})"
            ),
        );
    }
    if r.gre_back_ok < r.calls_requested {
        return v(
            Class::OneCallOnly,
            format!(
                "only {} of {} simultaneous calls get GRE back: your router's NAT lets only one PPTP call \
                 through at a time",
                r.gre_back_ok, r.calls_requested
            ),
        );
    }
    let nat = match r.nat_detected() {
        Some(true) => format!(
            ", through NAT (the server sees {})",
            r.seen_address.unwrap_or(ip)
        ),
        Some(false) => ", no NAT on the way".to_string(),
        None => String::new(),
    };
    let calls = if r.calls_requested > 1 {
        format!(", {} calls at once", r.calls_requested)
    } else {
        String::new()
    };
    let unverified = if r.listener {
        ""
    } else {
        " (GRE towards the server not verified: it is not a check listener)"
    };
    v(
        Class::Pass,
        format!("PPTP passes: control connection and GRE both ways{calls}{nat}{unverified}"),
    )
}

#[cfg(test)]
mod tests;
