//! `status`: the running helper's call table.

use std::path::PathBuf;

use crate::os::{OsError, ctl};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the raw JSON document (for scripts and LuCI).
    #[arg(long)]
    json: bool,
    /// Control socket of the helper.
    #[arg(long, default_value = ctl::DEFAULT_SOCKET)]
    socket: PathBuf,
}

pub async fn run(a: Args) -> Result<(), OsError> {
    let body = ctl::fetch(&a.socket).await?;
    if a.json {
        println!("{body}");
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| OsError::Nft(format!("bad status document: {e}")))?;
    print!("{}", render(&v));
    Ok(())
}

/// The status document as a table a router owner can read.
pub fn render(v: &serde_json::Value) -> String {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("-").to_string();
    let mut out = format!(
        "PPTP passthrough: WAN {} ({}), control path via {} NFQUEUE {}\n",
        s("wan"),
        s("public_ip"),
        s("backend"),
        v.get("queue_num").and_then(|x| x.as_u64()).unwrap_or(0)
    );
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
