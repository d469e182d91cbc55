//! The embedded client and server as a router owner runs them: `run
//! --config` with profiles, `client status/connect/disconnect`, reload on
//! SIGHUP, reconnect after a server restart, fifty clients at once, proxy
//! ARP.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::lab::*;

pub(super) const TUNNEL_SERVER: &str = "10.99.0.1";
pub(super) const PASSWORD: &str = "s3cret pass";

pub(super) fn tmp(lab: &Lab, name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{}-{name}", lab.prefix))
}

pub(super) fn write(lab: &Lab, name: &str, text: &str) -> String {
    let p = tmp(lab, name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

pub(super) fn secrets(lab: &Lab) -> String {
    write(lab, "chap-secrets", &format!("alice * \"{PASSWORD}\" *\n"))
}

/// A command inside a namespace (full name).
pub(super) fn in_ns(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .unwrap()
}

pub(super) fn bin_in(ns: &str, args: &[&str]) -> Output {
    in_ns(ns, &[&[BIN][..], args].concat())
}

/// The status document from a control socket (`Null` if nobody answers).
pub(super) fn status(ns: &str, socket: &str) -> serde_json::Value {
    let out = bin_in(ns, &["status", "--json", "--socket", socket]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

pub(super) fn client_state(ns: &str, socket: &str, name: &str) -> serde_json::Value {
    let out = bin_in(ns, &["client", "status", "--json", "--socket", socket]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name).cloned())
        .unwrap_or_default()
}

pub(super) fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(super) fn signal(pid: u32, sig: &str) {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
}

pub(super) fn ping(ns: &str, to: &str) -> bool {
    in_ns(ns, &["ping", "-q", "-c", "3", "-i", "0.2", "-W", "2", to])
        .status
        .success()
}

/// `client connect SERVER_A` as alice in `ns`, in the foreground, serving
/// its status on `sock`; `extra` flags appended. Returns the PID.
pub(super) fn connect_alice(lab: &mut Lab, ns: &str, sock: &str, extra: &[&str]) -> u32 {
    let mut args = vec![
        "client",
        "connect",
        SERVER_A,
        "--user",
        "alice",
        "--password",
        PASSWORD,
        "--socket",
        sock,
    ];
    args.extend_from_slice(extra);
    lab.spawn_in(ns, &args, Stdio::null())
}

/// The helper on the router and alice's client on the LAN, connected; the
/// LAN namespace and the client's socket.
pub(super) fn alice_connected(lab: &mut Lab) -> (String, String) {
    lab.start_helper(&[]);
    let lan = lab.ns("lan");
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    connect_alice(lab, &lan, &cli_sock, &[]);
    wait_until("connected", Duration::from_secs(20), || {
        client_state(&lan, &cli_sock, SERVER_A)["state"] == "connected"
    });
    (lan, cli_sock)
}

pub(super) fn server_config(lab: &Lab, extra: &str) -> String {
    let sec = secrets(lab);
    write(
        lab,
        "server.conf",
        &format!(
            "config server 'server'\n\toption enabled '1'\n\tlist listen '{SERVER_A}'\n\
             \toption chap_secrets '{sec}'\n\toption local_ip '{TUNNEL_SERVER}'\n\
             \toption pool_start '10.99.0.10'\n\toption pool_end '10.99.0.120'\n\
             \tlist dns '{TUNNEL_SERVER}'\n\toption max_pending_auth '64'\n{extra}"
        ),
    )
}

/// The server of [`server_config`] in `net`, started by `cmd` (`run` or
/// `server`); its PID and control socket.
pub(super) fn server_daemon(lab: &mut Lab, cmd: &str) -> (u32, String) {
    let scfg = server_config(lab, "");
    let sock = format!("/run/{}-srv.sock", lab.prefix);
    let pid = lab.spawn_bin("net", &[cmd, "--config", &scfg, "--socket", &sock]);
    (pid, sock)
}

/// The shipped config with the passthrough ticked, on the lab's devices.
pub(super) fn helper_on_config() -> String {
    pptp_passthrough::config::DEFAULT_CONFIG
        .replacen("option enabled '0'", "option enabled '1'", 1)
        .replacen("option wan 'wan'", "option wan 'wan0'", 1)
        .replacen("#list lan 'lan'", "list lan 'lan0'", 1)
}

/// `run` on the router with `text` as its config (written to `router.conf`)
/// and the lab's control socket; its PID, the namespace and the socket.
pub(super) fn run_router(lab: &mut Lab, text: &str) -> (u32, String, String) {
    let rcfg = write(lab, "router.conf", text);
    let rtr = lab.ns("rtr");
    let sock = lab.socket.display().to_string();
    let run = lab.spawn_in(
        &rtr,
        &["run", "--config", &rcfg, "--socket", &sock],
        Stdio::null(),
    );
    (run, rtr, sock)
}

/// SIGTERM a daemon started by the lab; it must exit cleanly within 10 s.
pub(super) fn stop_cleanly(lab: &mut Lab, pid: u32) {
    signal(pid, "-TERM");
    let st = lab.wait_child(pid, Duration::from_secs(10));
    assert!(st.is_some_and(|s| s.success()), "exit: {st:?}");
}

pub(super) fn client_config(lab: &Lab, routes: &[&str]) -> String {
    let dns = tmp(lab, "resolv").display().to_string();
    let mut text = format!(
        "config client 'office'\n\toption server '{SERVER_A}'\n\toption username 'alice'\n\
         \toption password '{PASSWORD}'\n\toption dns_file '{dns}'\n\toption autoconnect '1'\n\
         \toption reconnect_min '1'\n\toption routes 'prefixes'\n"
    );
    for r in routes {
        text += &format!("\tlist route '{r}'\n");
    }
    write(lab, "client.conf", &text)
}

#[test]
fn run_daemon_profile_status_disconnect_connect_and_reload() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    let scfg = server_config(&lab, "");
    let srv = lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    let ccfg = client_config(&lab, &["10.98.0.0/24"]);
    let lan = lab.ns("lan");
    let cli = lab.spawn_in(
        &lan,
        &["run", "--config", &ccfg, "--socket", &cli_sock],
        Stdio::null(),
    );
    let connected =
        |lab_ns: &str| client_state(lab_ns, &cli_sock, "office")["state"] == "connected";
    wait_until("profile office connected", Duration::from_secs(20), || {
        connected(&lan)
    });
    let st = client_state(&lan, &cli_sock, "office");
    assert_eq!(st["tun"], "pptp-office");
    assert_eq!(st["remote_ip"], TUNNEL_SERVER);
    assert_eq!(st["dns"][0], TUNNEL_SERVER);
    // Routes, DNS file, traffic.
    let routes = String::from_utf8(in_ns(&lan, &["ip", "route"]).stdout).unwrap();
    assert!(routes.contains("10.98.0.0/24 dev pptp-office"), "{routes}");
    let dns = std::fs::read_to_string(tmp(&lab, "resolv")).unwrap();
    assert!(
        dns.contains(&format!("nameserver {TUNNEL_SERVER}")),
        "{dns}"
    );
    assert!(ping(&lan, TUNNEL_SERVER));
    // The server reports the session.
    let s = status(&lab.ns("net"), &srv_sock);
    assert_eq!(s["helper_enabled"], false);
    let sessions = s["server"]["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{s}");
    assert_eq!(sessions[0]["user"], "alice");
    assert_eq!(sessions[0]["state"], "up");
    // Disconnect: the tunnel, its routes and the DNS file go.
    let out = bin_in(
        &lan,
        &["client", "disconnect", "office", "--socket", &cli_sock],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(client_state(&lan, &cli_sock, "office")["state"], "down");
    assert!(!tmp(&lab, "resolv").exists(), "DNS file left behind");
    assert!(
        !in_ns(&lan, &["ip", "link", "show", "pptp-office"])
            .status
            .success()
    );
    wait_until("server session ended", Duration::from_secs(10), || {
        status(&lab.ns("net"), &srv_sock)["server"]["sessions"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    // Unknown profile: a clear error.
    let out = bin_in(
        &lan,
        &["client", "disconnect", "home", "--socket", &cli_sock],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not connected"));
    // Connect by name through the daemon.
    let out = bin_in(
        &lan,
        &["client", "connect", "office", "--socket", &cli_sock],
    );
    assert!(out.status.success(), "{out:?}");
    wait_until("reconnected by name", Duration::from_secs(20), || {
        connected(&lan)
    });
    // Reload: a changed profile is redialed with its new routes.
    client_config(&lab, &["10.98.0.0/24", "10.97.0.0/24"]);
    signal(cli, "-HUP");
    wait_until("new route after reload", Duration::from_secs(20), || {
        let r = String::from_utf8(in_ns(&lan, &["ip", "route"]).stdout).unwrap();
        r.contains("10.97.0.0/24 dev pptp-office") && connected(&lan)
    });
    // Clean stop of both daemons.
    signal(cli, "-TERM");
    let st = lab.wait_child(cli, Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| s.success()),
        "client daemon exit: {st:?}"
    );
    signal(srv, "-TERM");
    let st = lab.wait_child(srv, Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| s.success()),
        "server daemon exit: {st:?}"
    );
}

#[test]
fn client_redials_after_the_server_restarts() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let scfg = server_config(&lab, "");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    let srv = lab.spawn_bin("net", &["server", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    let lan = lab.ns("lan");
    connect_alice(&mut lab, &lan, &cli_sock, &["--reconnect"]);
    let state = || client_state(&lan, &cli_sock, SERVER_A);
    wait_until("first connection", Duration::from_secs(20), || {
        state()["state"] == "connected"
    });
    assert!(ping(&lan, TUNNEL_SERVER));
    // The harshest restart: SIGKILL, no goodbye to anyone.
    signal(srv, "-KILL");
    let killed = Instant::now();
    assert!(lab.wait_child(srv, Duration::from_secs(10)).is_some());
    wait_until("client noticed the drop", Duration::from_secs(20), || {
        state()["state"] != "connected"
    });
    lab.spawn_bin("net", &["server", "--config", &scfg, "--socket", &srv_sock]);
    wait_until("client redialed", Duration::from_secs(30), || {
        state()["state"] == "connected"
    });
    eprintln!(
        "server killed with SIGKILL and restarted: client back up after {} ms",
        killed.elapsed().as_millis()
    );
    let st = state();
    assert!(st["attempts"].as_u64().unwrap() >= 2, "{st}");
    assert!(ping(&lan, TUNNEL_SERVER));
}

#[test]
fn fifty_clients_to_one_server_through_the_helper() {
    const N: u8 = 50;
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let scfg = server_config(&lab, "\toption max_sessions '60'\n");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    let hosts: Vec<String> = (0..N).map(|k| lab.add_host_ns(10 + k)).collect();
    lab.start_helper(&["--lan", "br1"]);
    for (k, ns) in hosts.iter().enumerate() {
        let sock = format!("/run/{}-c{k}.sock", lab.prefix);
        connect_alice(&mut lab, ns, &sock, &[]);
    }
    wait_until("50 sessions up", Duration::from_secs(90), || {
        let s = status(&lab.ns("net"), &srv_sock);
        s["server"]["sessions"]
            .as_array()
            .is_some_and(|a| a.len() == N as usize && a.iter().all(|x| x["state"] == "up"))
    });
    let failed: Vec<&String> = hosts.iter().filter(|ns| !ping(ns, TUNNEL_SERVER)).collect();
    assert!(failed.is_empty(), "no traffic through {failed:?}");
    // Fifty calls through the helper, each with its own public Call ID.
    let calls = lab.status()["calls"].as_array().unwrap().clone();
    let mut ids: Vec<u64> = calls
        .iter()
        .map(|c| c["public_call_id"].as_u64().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N as usize);
}

#[test]
fn proxy_arp_makes_clients_reachable_from_the_servers_lan() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let net = lab.ns("net");
    let rtr = lab.ns("rtr");
    // The server's "LAN" is the link to the router: 10.99.0.0/24 on both
    // ends, the pool inside it. Only proxy ARP lets the router reach a
    // client's tunnel address.
    sh(&[
        "ip",
        "-n",
        &net,
        "addr",
        "add",
        "10.99.0.254/24",
        "dev",
        "eth0",
    ]);
    sh(&[
        "ip",
        "-n",
        &rtr,
        "addr",
        "add",
        "10.99.0.253/24",
        "dev",
        "wan0",
    ]);
    in_ns(&net, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    let scfg = server_config(&lab, "\toption proxy_arp '1'\n");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    lab.spawn_bin("net", &["server", "--config", &scfg, "--socket", &srv_sock]);
    let (lan, cli_sock) = alice_connected(&mut lab);
    let ip = client_state(&lan, &cli_sock, SERVER_A)["local_ip"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("proxy entry", Duration::from_secs(5), || {
        String::from_utf8_lossy(&in_ns(&net, &["ip", "neigh", "show", "proxy"]).stdout)
            .contains(&ip)
    });
    assert!(ping(&rtr, &ip), "router could not reach {ip} via proxy ARP");
}

#[test]
fn run_check_reports_bad_config_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("pptp-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(
        &bad,
        "config helper 'passthrough'\n\toption queue_num 'lots'\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:2"), "{err}");
    let good = dir.join("good.conf");
    std::fs::write(
        &good,
        "config helper 'passthrough'\n\toption enabled '1'\n\toption wan 'eth1'\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["run", "--check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (helper enabled"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shipped default config, with the helper switched on and a profile
/// for the router's own client: one `run` process does both (one Call ID
/// allocator), LAN clients pass at the same time, and SIGTERM leaves no
/// firewall state behind.
#[test]
fn run_default_config_helper_and_own_client_then_clean_stop() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_daemon(&mut lab, "server");
    let mut text = helper_on_config();
    text += &format!(
        "\nconfig client 'office'\n\toption server '{SERVER_A}'\n\toption username 'alice'\n\
         \toption password '{PASSWORD}'\n\toption autoconnect '1'\n"
    );
    let (run, rtr, sock) = run_router(&mut lab, &text);
    wait_until("router's own client up", Duration::from_secs(20), || {
        client_state(&rtr, &sock, "office")["state"] == "connected"
    });
    assert_eq!(status(&rtr, &sock)["helper_enabled"], true);
    let lan = lab.ns("lan");
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    connect_alice(&mut lab, &lan, &cli_sock, &[]);
    wait_until(
        "LAN client up through the helper",
        Duration::from_secs(20),
        || client_state(&lan, &cli_sock, SERVER_A)["state"] == "connected",
    );
    assert!(ping(&lan, TUNNEL_SERVER), "LAN tunnel");
    assert!(ping(&rtr, TUNNEL_SERVER), "router's own tunnel");
    let calls = lab.status()["calls"].as_array().unwrap().clone();
    assert_eq!(calls.len(), 1, "only the LAN call is NATed: {calls:?}");
    // SIGHUP with nothing changed: the helper keeps its call (same public
    // Call ID) and the router's own tunnel is not redialed.
    signal(run, "-HUP");
    std::thread::sleep(Duration::from_millis(1500));
    let again = lab.status()["calls"].as_array().unwrap().clone();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["public_call_id"], calls[0]["public_call_id"]);
    let own = client_state(&rtr, &sock, "office");
    assert_eq!(
        (own["state"].as_str(), own["attempts"].as_u64()),
        (Some("connected"), Some(1))
    );
    assert!(
        ping(&lan, TUNNEL_SERVER) && ping(&rtr, TUNNEL_SERVER),
        "reload broke a tunnel"
    );
    stop_cleanly(&mut lab, run);
    assert!(
        !in_ns(&rtr, &["nft", "list", "table", "ip", "pptp_passthrough"])
            .status
            .success(),
        "table left behind"
    );
    let x = in_ns(&rtr, &["iptables", "-w", "-t", "mangle", "-S"]);
    assert!(!String::from_utf8_lossy(&x.stdout).contains("PPTP_PASSTHROUGH"));
    assert!(!lab.socket.exists(), "control socket left behind");
}

/// A reload that changes a helper option restarts the helper under two
/// live LAN calls: the new helper takes both over (same public Call IDs),
/// their GRE keeps flowing both ways, their CCRQ/CDN are still rewritten
/// and remove their map elements, and no public ID leaks.
#[test]
fn reload_with_a_changed_helper_hands_over_live_calls() {
    let mut lab = Lab::new(Nat::Ours, &[10, 11]);
    lab.server("net", SERVER_A);
    let text = helper_on_config();
    let (run, rtr, sock) = run_router(&mut lab, &text);
    let rcfg = tmp(&lab, "router.conf").display().to_string();
    wait_until("helper running", Duration::from_secs(10), || {
        status(&rtr, &sock)["helper_enabled"] == true
    });
    // Two calls sending GRE 10 ms apart for 6 s, then tearing down.
    let calls: Vec<_> = [10, 11]
        .iter()
        .map(|h| {
            lab.spawn_client(
                "lan",
                &[
                    "--server",
                    SERVER_A,
                    "--from",
                    &format!("192.168.1.{h}"),
                    "--packets",
                    "600",
                    "--interval-ms",
                    "10",
                ],
            )
        })
        .collect();
    let ids = |lab: &Lab| {
        let mut v: Vec<u64> = lab.status()["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["public_call_id"].as_u64().unwrap())
            .collect();
        v.sort();
        v
    };
    wait_until("two calls up", Duration::from_secs(5), || {
        ids(&lab).len() == 2
    });
    let before = ids(&lab);
    let changed = text.replacen("option idle_timeout '300'", "option idle_timeout '240'", 1);
    assert_ne!(changed, text);
    std::fs::write(&rcfg, changed).unwrap();
    signal(run, "-HUP");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        lab.log().contains("recovered calls"),
        "the restarted helper took over no call"
    );
    assert_eq!(ids(&lab), before, "calls not taken over by the new helper");
    for c in calls {
        // Every GRE packet came back to its sender with its own Call ID,
        // and the call's teardown went through.
        assert_exact(&parse_report(&c.wait_with_output().unwrap()));
    }
    // The teardown (CCRQ rewritten, CDN seen) removed the calls and their
    // elements; no ID stays taken.
    wait_until("calls torn down", Duration::from_secs(5), || {
        ids(&lab).is_empty() && lab.elements("gre_dnat") == 0
    });
    let again = lab.one_call(10, 20);
    assert_exact(&again);
    stop_cleanly(&mut lab, run);
}

/// `routes default`: everything through the tunnel except the server
/// itself, which keeps its route through the LAN gateway (so GRE does not
/// loop into the tunnel); hanging up restores the table.
#[test]
fn routes_default_keeps_the_server_outside_the_tunnel() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_daemon(&mut lab, "server");
    lab.start_helper(&[]);
    let text = format!(
        "config client 'office'\n\toption server '{SERVER_A}'\n\toption username 'alice'\n\
         \toption password '{PASSWORD}'\n\toption routes 'default'\n"
    );
    let ccfg = write(&lab, "client.conf", &text);
    let lan = lab.ns("lan");
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    let before = String::from_utf8(in_ns(&lan, &["ip", "route"]).stdout).unwrap();
    let pid = lab.spawn_in(
        &lan,
        &[
            "client", "connect", "office", "--config", &ccfg, "--socket", &cli_sock,
        ],
        Stdio::null(),
    );
    wait_until("connected", Duration::from_secs(20), || {
        client_state(&lan, &cli_sock, "office")["state"] == "connected"
    });
    let via =
        |dst: &str| String::from_utf8(in_ns(&lan, &["ip", "route", "get", dst]).stdout).unwrap();
    assert!(
        via("203.0.113.77").contains("dev pptp-office"),
        "{}",
        via("203.0.113.77")
    );
    assert!(
        via(SERVER_A).contains("via 192.168.1.1 dev eth0"),
        "{}",
        via(SERVER_A)
    );
    // Traffic still flows, so GRE did not loop into the tunnel.
    assert!(ping(&lan, TUNNEL_SERVER));
    stop_cleanly(&mut lab, pid);
    let after = String::from_utf8(in_ns(&lan, &["ip", "route"]).stdout).unwrap();
    assert_eq!(before, after, "routes not restored");
}

/// `data_path`: `kernel` needs the kernel's PPTP modules and says which
/// are missing; `auto` falls back to TUN without them; `status` shows the
/// path of the server, of each session and of the client. (The kernel's
/// path itself runs in the interop VM, whose kernel has the modules.)
#[test]
fn data_path_kernel_needs_the_modules_and_auto_falls_back_as_status_says() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let modules = pptp_passthrough::os::pppk::available();
    let want = if modules { "kernel" } else { "tun" };
    let net = lab.ns("net");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let kcfg = server_config(&lab, "\toption data_path 'kernel'\n");
    let log = tmp(&lab, "kernel-server.log");
    let pid = lab.spawn_program(
        &net,
        BIN,
        &["server", "--config", &kcfg, "--socket", &srv_sock],
        &log,
    );
    let exit = lab.wait_child(pid, Duration::from_secs(3));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if modules {
        assert!(exit.is_none(), "the kernel path did not start: {text}");
        lab.kill_child(pid);
    } else {
        assert!(
            exit.is_some_and(|s| !s.success()),
            "started without the modules: {exit:?}"
        );
        assert!(
            text.contains("no PPTP PPPoX sockets") && text.contains("kmod-pptp"),
            "{text}"
        );
    }
    let acfg = server_config(&lab, "\toption data_path 'auto'\n");
    lab.spawn_bin("net", &["server", "--config", &acfg, "--socket", &srv_sock]);
    let (lan, cli_sock) = alice_connected(&mut lab);
    assert!(ping(&lan, TUNNEL_SERVER));
    let s = status(&net, &srv_sock);
    assert_eq!(s["server"]["data_path"], want, "{s}");
    assert_eq!(s["server"]["sessions"][0]["data_path"], want, "{s}");
    let c = client_state(&lan, &cli_sock, SERVER_A);
    assert_eq!(c["data_path"], "tun", "{c}");
}
