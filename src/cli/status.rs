//! `status`: the running helper's call table.

use std::path::PathBuf;

use crate::os::{OsError, ctl};
use crate::service::control::Status;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the raw JSON document (for scripts and LuCI).
    #[arg(long)]
    json: bool,
    /// Control socket of the helper.
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct HangupArgs {
    /// The session's call ID (`status` lists them).
    call_id: u16,
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

pub async fn hangup(a: HangupArgs) -> Result<(), OsError> {
    let req = crate::service::control::Request::Hangup(a.call_id);
    let body = ctl::request(&a.socket, &req.line()).await?;
    let ans: crate::service::control::Answer =
        serde_json::from_str(&body).map_err(|e| OsError::Command {
            cmd: "hangup".into(),
            detail: format!("bad answer: {e}"),
        })?;
    if !ans.ok {
        return Err(OsError::Command {
            cmd: "hangup".into(),
            detail: ans.error.unwrap_or_else(|| "refused".into()),
        });
    }
    println!("session {} hung up", a.call_id);
    Ok(())
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let body = ctl::fetch(&a.socket).await?;
    if a.json {
        println!("{body}");
        return Ok(());
    }
    let st: Status = serde_json::from_str(&body)
        .map_err(|e| OsError::Nft(format!("bad status document: {e}")))?;
    if st.helper_enabled {
        print!("{}", render(&serde_json::Value::Object(st.helper)));
    } else if let Some(why) = &st.helper_waiting {
        println!("PPTP passthrough: waiting ({why})");
    } else {
        println!("PPTP passthrough: off");
    }
    if let Some(srv) = st.server.filter(|s| !s.is_null()) {
        print!("{}", render_server(&srv));
    }
    if !st.clients.is_empty() {
        print!("{}", super::client::render(&st.clients));
    }
    for w in &st.warnings {
        println!("warning: {w}");
    }
    Ok(())
}

/// The embedded server's sessions.
pub fn render_server(v: &serde_json::Value) -> String {
    let rows = v["sessions"].as_array().cloned().unwrap_or_default();
    let mut out = format!(
        "PPTP server on {}: {} session(s)\n",
        v["listen"],
        rows.len()
    );
    if rows.is_empty() {
        return out;
    }
    out += &format!(
        "{:<16} {:<15} {:<15} {:<14} {:>7} {:>12} {:>12}\n",
        "USER", "PEER", "TUNNEL IP", "STATE", "AGE", "BYTES IN", "BYTES OUT"
    );
    for r in rows {
        let g = |k: &str| match &r[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            x => x.to_string(),
        };
        out += &format!(
            "{:<16} {:<15} {:<15} {:<14} {:>6}s {:>12} {:>12}\n",
            g("user"),
            g("peer"),
            g("tunnel_ip"),
            g("state"),
            g("age_secs"),
            g("bytes_in"),
            g("bytes_out")
        );
    }
    out
}

/// The status document as a table a router owner can read.
pub fn render(v: &serde_json::Value) -> String {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("-").to_string();
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    // Where the xtables back-end's rules sit: one chain in the forward
    // hook (the helper's table) or two (iptables as well).
    let rules = match (s("queue_rules").as_str(), s("dispatch").as_str()) {
        (_, "firewall") => ", rules in the firewall's forward chain",
        ("table", _) => ", rules in the helper's table",
        ("iptables", _) => ", rules in iptables",
        _ => "",
    };
    let mut out = format!(
        "PPTP passthrough: WAN {} ({}), control path via {} NFQUEUE {} (established: {}){rules}\n",
        s("wan"),
        s("public_ip"),
        s("backend"),
        n("queue_num"),
        n("established_queue_num")
    );
    if v.get("dispatch_missing").and_then(|x| x.as_bool()) == Some(true) {
        out += "WARNING: the firewall's rules for this helper are missing; control segments pass unseen\n";
    }
    if let Some(h) = v.get("kernel_helper").and_then(|x| x.as_str()) {
        out += &format!(
            "WARNING: the kernel's PPTP helper is attached ({h}); two rewriters break calls\n"
        );
    }
    let calls = v
        .get("calls")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    out += &format!("{} call(s)\n", calls.len());
    if calls.is_empty() {
        return out;
    }
    out += &format!(
        "{:<4} {:<21} {:>7} {:<21} {:>7} {:>7} {:<11} {:>6} {:>15} {:>15}\n",
        "ROLE",
        "LAN HOST",
        "LAN-ID",
        "PEER",
        "PEER-ID",
        "PUB-ID",
        "STATE",
        "AGE",
        "IN pkts/bytes",
        "OUT pkts/bytes"
    );
    for c in calls {
        let g = |k: &str| match c.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "-".into(),
            Some(x) => x.to_string(),
        };
        out += &format!(
            "{:<4} {:<21} {:>7} {:<21} {:>7} {:>7} {:<11} {:>5}s {:>15} {:>15}\n",
            g("role"),
            g("lan"),
            g("lan_call_id"),
            g("remote"),
            g("peer_call_id"),
            g("public_call_id"),
            g("state"),
            g("age_secs"),
            format!("{}/{}", g("in_packets"), g("in_bytes")),
            format!("{}/{}", g("out_packets"), g("out_bytes")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_says_where_the_queue_rules_are() {
        let mut v = serde_json::json!({
            "wan": "wan0", "public_ip": "203.0.113.2", "backend": "xtables",
            "queue_num": 1723, "established_queue_num": 1724,
            "queue_rules": "table", "calls": [],
        });
        let first = |v: &serde_json::Value| render(v).lines().next().unwrap().to_string();
        assert_eq!(
            first(&v),
            "PPTP passthrough: WAN wan0 (203.0.113.2), control path via xtables NFQUEUE 1723 \
             (established: 1724), rules in the helper's table"
        );
        v["queue_rules"] = "iptables".into();
        assert!(first(&v).ends_with("(established: 1724), rules in iptables"));
        v["queue_rules"] = "nft".into();
        v["backend"] = "nft".into();
        assert!(first(&v).ends_with("via nft NFQUEUE 1723 (established: 1724)"));
        // The firewall's dispatch, and a warning while its rules are gone.
        v["dispatch"] = "firewall".into();
        v["dispatch_missing"] = false.into();
        assert!(first(&v).ends_with("(established: 1724), rules in the firewall's forward chain"));
        assert!(!render(&v).contains("WARNING"));
        v["dispatch_missing"] = true.into();
        assert_eq!(
            render(&v).lines().nth(1),
            Some(
                "WARNING: the firewall's rules for this helper are missing; control segments pass unseen"
            )
        );
    }
}
