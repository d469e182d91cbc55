//! Hostile input through the real programs (issue: fuzzing, floods, kills):
//! the helper and the server stay up, keep memory bounded, keep serving the
//! legitimate calls, and log what happened without flooding the log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::lab::*;

pub(super) fn hostile(ns: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(example("hostile"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "hostile {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Resident memory of a live process; a process that is gone (or a
/// status without VmRSS) fails the test instead of reading as 0 KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("process {pid} is gone: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS for process {pid}"))
}

fn lines_from(log: &str, target: &str) -> usize {
    log.lines().filter(|l| l.contains(target)).count()
}

#[test]
fn helper_survives_garbage_bursts_and_rst_storms_and_keeps_other_calls() {
    let mut lab = Lab::new(Nat::Ours, &[10, 11]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let pid = lab.helper_pid();
    // A legitimate call sending GRE for 15 s through everything below.
    let legit = lab.spawn_client(
        "lan",
        &[
            "--server",
            SERVER_A,
            "--from",
            "192.168.1.10",
            "--packets",
            "1500",
            "--interval-ms",
            "10",
        ],
    );
    std::thread::sleep(Duration::from_millis(800));
    let lan = lab.ns("lan");
    let from = ["--to", SERVER_A, "--bind", "192.168.1.11"];
    let g = hostile(&lan, &[&["garbage", "--count", "300"][..], &from].concat());
    let b = hostile(
        &lan,
        &[&["ocrq-burst", "--count", "10000"][..], &from].concat(),
    );
    let r = hostile(
        &lan,
        &[&["rst-storm", "--count", "300"][..], &from].concat(),
    );
    eprintln!("hostile: {g} {b} {r}; helper RSS {} KiB", rss_kib(pid));
    // The burst's connection holds its 64 calls. (Its refusals outrun
    // their replies by far more than the 64 that wait per connection, so
    // most replies come back to Call ID 0: the bound at work.)
    assert_eq!(b["connected"], 64, "{b}");
    assert!(lab.helper_alive(), "the helper died");
    assert!(rss_kib(pid) < 64 * 1024, "helper RSS {} KiB", rss_kib(pid));
    let report = parse_report(&legit.wait_with_output().unwrap());
    assert_exact(&report);
    // Every hostile connection is gone: their calls and map elements too.
    let t = Instant::now();
    while !lab.status()["calls"].as_array().unwrap().is_empty() || lab.elements("gre_dnat") > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "calls left behind: {}",
            lab.status()["calls"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The log tells, without a line per hostile message.
    let log = lab.log();
    let n = lines_from(&log, "pptp_passthrough::service::helper")
        + lines_from(&log, "pptp_passthrough::nat");
    // Counted by module path: none counted means the path is wrong.
    assert!(n > 0, "no helper log lines found: has the module moved?");
    assert!(n < 200, "{n} helper log lines for 10 600 hostile messages");
    assert!(log.contains("suppressed"), "no summary of suppressed lines");
}

/// A connection's requests past its 64 calls are refused, and each is told
/// so under its own Call ID (General Error, No-Resource), in order, though
/// the server accepted it: the client gives up at once instead of waiting
/// for a reply that names Call ID 0.
#[test]
fn requests_past_a_connections_limit_are_told_they_are_refused() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let lan = lab.ns("lan");
    let b = hostile(
        &lan,
        &[
            "ocrq-burst",
            "--count",
            "80",
            "--to",
            SERVER_A,
            "--bind",
            "192.168.1.10",
        ],
    );
    assert_eq!(b["sent"], 80, "{b}");
    assert_eq!(b["connected"], 64, "{b}");
    assert_eq!(b["no_resource"], 16, "{b}");
    assert_eq!(b["unmatched"], 0, "{b}");
}

fn server_config(lab: &Lab, dir: &std::path::Path) -> String {
    let sec = dir.join("chap-secrets");
    std::fs::write(&sec, "alice * \"s3cret pass\" *\nbob * \"bobs pass\" *\n").unwrap();
    let cfg = dir.join("server.conf");
    std::fs::write(
        &cfg,
        format!(
            "config server 'server'\n\toption enabled '1'\n\tlist listen '{SERVER_A}'\n\
             \toption chap_secrets '{}'\n\toption local_ip '10.99.0.1'\n\
             \toption pool_start '10.99.0.10'\n\toption pool_end '10.99.0.60'\n\
             \toption max_sessions '20'\n\toption max_pending_auth '4'\n\
             \toption auth_fail_limit '3'\n\toption lockout '60'\n",
            sec.display()
        ),
    )
    .unwrap();
    let _ = lab;
    cfg.display().to_string()
}

fn client(lab: &mut Lab, ns: &str, user: &str, pass: &str, sock: &str) -> u32 {
    lab.spawn_in(
        ns,
        &[
            "client",
            "connect",
            SERVER_A,
            "--user",
            user,
            "--password",
            pass,
            "--socket",
            sock,
            "--timeout",
            "5",
        ],
        Stdio::null(),
    )
}

fn state(ns: &str, sock: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, BIN, "client", "status", "--json", "--socket", sock,
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v[0]["state"].as_str().unwrap_or("").to_string()
}

fn ping(ns: &str) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "ping",
            "-q",
            "-c",
            "10",
            "-i",
            "0.1",
            "-W",
            "2",
            "10.99.0.1",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn server_survives_slow_clients_floods_and_password_guessing() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let dir = std::env::temp_dir().join(format!("{}-srv", lab.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = server_config(&lab, &dir);
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let srv = lab.spawn_bin("net", &["run", "--config", &cfg, "--socket", &srv_sock]);
    let h = lab.add_host_ns(20);
    lab.start_helper(&["--lan", "br1"]);
    let lan = lab.ns("lan");
    let sock1 = format!("/run/{}-a.sock", lab.prefix);
    client(&mut lab, &lan, "alice", "s3cret pass", &sock1);
    let t = Instant::now();
    while state(&lan, &sock1) != "connected" {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "alice did not connect"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let attackers: Vec<String> = (0..3).map(|k| lab.add_internet_ns(k)).collect();
    let to = ["--to", SERVER_A];
    // 200 silent connections held for 8 s, in the background.
    let slow = Command::new("ip")
        .args(["netns", "exec", &attackers[0]])
        .arg(example("hostile"))
        .args(["slow", "--count", "200", "--secs", "8"])
        .args(to)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let f = hostile(
        &attackers[1],
        &[&["sccrq-flood", "--count", "1000"][..], &to].concat(),
    );
    let g = hostile(
        &attackers[1],
        &[&["gre-flood", "--count", "100000"][..], &to].concat(),
    );
    // Password guessing for bob from every attacker address.
    for ns in &attackers {
        for i in 0..3 {
            let s = format!("/run/{}-g{i}.sock", lab.prefix);
            let pid = client(&mut lab, ns, "bob", "guess", &s);
            let st = lab.wait_child(pid, Duration::from_secs(20));
            assert!(
                st.is_some_and(|s| !s.success()),
                "a wrong password was accepted"
            );
        }
    }
    // While the slow connections still hold their slots: the existing
    // session carries traffic and a new legitimate user gets in.
    assert!(ping(&lan), "alice's tunnel stopped passing traffic");
    let sock2 = format!("/run/{}-b.sock", lab.prefix);
    client(&mut lab, &h, "alice", "s3cret pass", &sock2);
    let t = Instant::now();
    while state(&h, &sock2) != "connected" {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "a new user could not connect"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ping(&h));
    // bob is locked out now, even with the right password.
    let s = format!("/run/{}-bob.sock", lab.prefix);
    let pid = client(&mut lab, &attackers[2], "bob", "bobs pass", &s);
    let st = lab.wait_child(pid, Duration::from_secs(20));
    assert!(st.is_some_and(|s| !s.success()), "lockout did not hold");
    let slow = slow.wait_with_output().unwrap();
    eprintln!(
        "slow: {} flood: {f} gre: {g}; server RSS {} KiB",
        String::from_utf8_lossy(&slow.stdout).trim(),
        rss_kib(srv)
    );
    assert!(rss_kib(srv) < 64 * 1024, "server RSS {} KiB", rss_kib(srv));
    let log = lab.log();
    assert!(log.contains("locked out"), "no lockout in the log");
    assert!(
        log.contains("connection limit reached"),
        "slow clients were never evicted"
    );
    let n = lines_from(&log, "pptp_passthrough::service::server");
    assert!(n > 0, "no server log lines found: has the module moved?");
    assert!(n < 400, "{n} server log lines");
    let _ = std::fs::remove_dir_all(&dir);
}
