//! OpenWrt's ways of running the daemon, with OpenWrt stood in for where
//! it is absent: logical interfaces resolved through netifd (a stand-in
//! `ubus`), server users kept in UCI and sessions hung up from LuCI, the
//! client's hook for the netifd protocol, and the order of the server's
//! first packets as Windows' client needs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::client::*;
use super::lab::*;

/// Logins kept in UCI (`config user`, LuCI's Users page) without any
/// chap-secrets file: a user logs in; a reload that adds a user with a
/// fixed address and a disabled one lets the new user in, keeps the
/// disabled one out, and leaves the first session up.
#[test]
fn uci_users_log_in_and_change_without_dropping_sessions() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let missing = tmp(&lab, "no-chap-secrets").display().to_string();
    let base = format!(
        "config server 'server'\n\toption enabled '1'\n\tlist listen '{SERVER_A}'\n\
         \toption chap_secrets '{missing}'\n\toption local_ip '{TUNNEL_SERVER}'\n\
         \toption pool_start '10.99.0.10'\n\toption pool_end '10.99.0.120'\n\n\
         config user\n\toption name 'alice'\n\toption password '{PASSWORD}'\n"
    );
    let scfg = write(&lab, "server.conf", &base);
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let srv = lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    let net = lab.ns("net");
    wait_until("server running", Duration::from_secs(10), || {
        !status(&net, &srv_sock)["server"].is_null()
    });
    let (a, b, c) = (
        lab.add_internet_ns(1),
        lab.add_internet_ns(2),
        lab.add_internet_ns(3),
    );
    let sock = |n: &str| format!("/run/{}-{n}.sock", lab.prefix);
    let (sa, sb, sc) = (sock("a"), sock("b"), sock("c"));
    connect_alice(&mut lab, &a, &sa, &[]);
    let up = |ns: &str, s: &str| client_state(ns, s, SERVER_A)["state"] == "connected";
    wait_until("alice connected", Duration::from_secs(20), || up(&a, &sa));
    assert!(ping(&a, TUNNEL_SERVER));
    let users = format!(
        "{base}\nconfig user\n\toption name 'bob'\n\toption password 'bobs pass'\n\
         \toption address '10.99.0.77'\n\n\
         config user\n\toption name 'carol'\n\toption password 'carols pass'\n\
         \toption enabled '0'\n"
    );
    std::fs::write(&scfg, users).unwrap();
    signal(srv, "-HUP");
    wait_until("logins re-read", Duration::from_secs(10), || {
        lab.log().contains("server logins re-read")
    });
    lab.spawn_in(
        &b,
        &[
            "client",
            "connect",
            SERVER_A,
            "--user",
            "bob",
            "--password",
            "bobs pass",
            "--socket",
            &sb,
        ],
        Stdio::null(),
    );
    wait_until("bob connected", Duration::from_secs(20), || up(&b, &sb));
    assert_eq!(client_state(&b, &sb, SERVER_A)["local_ip"], "10.99.0.77");
    assert!(ping(&b, TUNNEL_SERVER));
    // Alice's session was never dropped: the same tunnel, still passing.
    let alice = client_state(&a, &sa, SERVER_A);
    assert_eq!(
        (alice["state"].as_str(), alice["attempts"].as_u64()),
        (Some("connected"), Some(1)),
        "{alice}"
    );
    assert!(ping(&a, TUNNEL_SERVER));
    let mut users: Vec<String> = status(&net, &srv_sock)["server"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"].as_str().unwrap_or("").to_string())
        .collect();
    users.sort();
    assert_eq!(users, ["alice", "bob"]);
    // A disabled user is refused.
    let carol = lab.spawn_in(
        &c,
        &[
            "client",
            "connect",
            SERVER_A,
            "--user",
            "carol",
            "--password",
            "carols pass",
            "--socket",
            &sc,
        ],
        Stdio::null(),
    );
    let st = lab.wait_child(carol, Duration::from_secs(30));
    assert!(st.is_some_and(|s| !s.success()), "carol: {st:?}");
    // The administrator disconnects bob (LuCI's Disconnect): his session
    // ends, alice's stays; an unknown call ID is refused clearly.
    let sessions = status(&net, &srv_sock)["server"]["sessions"].clone();
    let bob_id = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"] == "bob")
        .and_then(|s| s["call_id"].as_u64())
        .unwrap()
        .to_string();
    let out = bin_in(&net, &["hangup", "--socket", &srv_sock, &bob_id]);
    assert!(out.status.success(), "{out:?}");
    wait_until("bob's tunnel down", Duration::from_secs(10), || {
        !up(&b, &sb)
    });
    let left: Vec<String> = status(&net, &srv_sock)["server"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(left, ["alice"]);
    assert!(ping(&a, TUNNEL_SERVER));
    let out = bin_in(&net, &["hangup", "--socket", &srv_sock, "65000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session with call ID 65000"));
}

/// The server answers an Outgoing-Call-Request before it starts LCP: its
/// first GRE packet must not reach the client ahead of the reply, or a
/// client with no call yet (Windows, pptp-linux) drops it and LCP waits
/// for the 3 s resend. Checked on the wire, in the order packets arrive.
#[test]
fn server_sends_its_call_reply_before_its_first_lcp_packet() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_daemon(&mut lab, "run");
    let a = lab.add_internet_ns(1);
    let cap = Capture::start(
        &a,
        &format!("host {SERVER_A} and (tcp port 1723 or proto gre)"),
        tmp(&lab, "order.txt"),
    );
    let sock = format!("/run/{}-a.sock", lab.prefix);
    connect_alice(&mut lab, &a, &sock, &[]);
    let t = Instant::now();
    let up = |_: ()| client_state(&a, &sock, SERVER_A)["state"] == "connected";
    while !up(()) {
        assert!(t.elapsed() < Duration::from_secs(20), "not connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Connected well before the 3 s resend would have allowed.
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "set-up took {:?}",
        t.elapsed()
    );
    std::thread::sleep(Duration::from_millis(300));
    let text = cap.finish();
    let from_server = |l: &&str| {
        l.contains(&format!("{SERVER_A}.1723 >")) || l.contains(&format!("{SERVER_A} >"))
    };
    let lines: Vec<&str> = text.lines().filter(from_server).collect();
    // The Outgoing-Call-Reply is the server's 32-byte control message.
    let reply = lines.iter().position(|l| {
        l.contains(".1723 >") && (l.contains("length 32:") || l.ends_with("length 32"))
    });
    let gre = lines.iter().position(|l| l.contains("GRE"));
    assert!(
        matches!((reply, gre), (Some(r), Some(g)) if r < g),
        "reply at {reply:?}, first GRE at {gre:?}:\n{text}"
    );
}

/// `--hook` (what OpenWrt's netifd protocol handler gives the client): run
/// with `up` and the tunnel's facts once it is up, with `down` once the
/// client has hung up.
#[test]
fn client_hook_reports_the_tunnel_up_and_down() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_daemon(&mut lab, "run");
    let out = tmp(&lab, "hook.out");
    let hook = write(
        &lab,
        "hook",
        &format!(
            "#!/bin/sh\necho \"$1 $IFNAME $IPLOCAL $IPREMOTE $DNS1 $MTU $SERVER\" >>{}\n",
            out.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = lab.add_internet_ns(1);
    let sock = format!("/run/{}-a.sock", lab.prefix);
    let pid = connect_alice(
        &mut lab,
        &a,
        &sock,
        &["--hook", &hook, "--mtu", "1300", "--tun", "pptp-vpn"],
    );
    wait_until("hook ran up", Duration::from_secs(20), || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.starts_with("up "))
    });
    let up = std::fs::read_to_string(&out).unwrap();
    let w: Vec<&str> = up.split_whitespace().collect();
    assert_eq!(w[0..2], ["up", "pptp-vpn"], "{up}");
    assert!(w[2].starts_with("10.99.0."), "{up}");
    assert_eq!(
        w[3..],
        [TUNNEL_SERVER, TUNNEL_SERVER, "1300", SERVER_A],
        "{up}"
    );
    assert!(ping(&a, TUNNEL_SERVER));
    stop_cleanly(&mut lab, pid);
    wait_until("hook ran down", Duration::from_secs(5), || {
        std::fs::read_to_string(&out).is_ok_and(|t| {
            t.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("down pptp-vpn"))
        })
    });
}

/// A stand-in for OpenWrt's `ubus` with netifd's answers: `wan` is up on
/// wan0, `lan` on lan0, `vpn` is down (no device); other names are unknown.
fn fake_ubus(lab: &Lab) -> String {
    let dir = tmp(lab, "bin");
    std::fs::create_dir_all(&dir).unwrap();
    let script = "#!/bin/sh\n\
        [ \"$1 $3\" = 'call status' ] || exit 2\n\
        case \"$2\" in\n\
        network.interface.wan) echo '{\"up\":true,\"proto\":\"static\",\"l3_device\":\"wan0\",\"device\":\"wan0\"}' ;;\n\
        network.interface.lan) echo '{\"up\":true,\"proto\":\"static\",\"l3_device\":\"lan0\",\"device\":\"lan0\"}' ;;\n\
        network.interface.vpn) echo '{\"up\":false,\"pending\":true,\"proto\":\"pppoe\",\"device\":\"eth9\"}' ;;\n\
        *) echo 'Command failed: Not found' >&2; exit 4 ;;\n\
        esac\n";
    let path = dir.join("ubus");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// On OpenWrt the config names netifd's logical interfaces (`wan`, `lan`):
/// `run --check` knows what exists, and the daemon resolves them to their
/// devices through ubus (here a stand-in) so LAN calls pass; a logical WAN
/// that is down makes the helper wait, not the daemon die.
#[test]
fn logical_interface_names_resolve_through_netifd() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    let path = fake_ubus(&lab);
    let rtr = lab.ns("rtr");
    // The shipped file with the passthrough ticked: wan stays 'wan'.
    let text = pptp_passthrough::config::DEFAULT_CONFIG
        .replacen("option enabled '0'", "option enabled '1'", 1)
        .replacen("#list lan 'lan'", "list lan 'lan'", 1);
    assert!(text.contains("option wan 'wan'"));
    let rcfg = write(&lab, "router.conf", &text);
    let check = |cfg: &str| {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &rtr, BIN, "run", "--check", "--config", cfg,
            ])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let ok = check(&rcfg);
    assert!(!ok.contains("warning"), "{ok}");
    let down_cfg = write(
        &lab,
        "down.conf",
        &text.replacen("option wan 'wan'", "option wan 'vpn'", 1),
    );
    assert!(check(&down_cfg).contains("warning: config helper: interface vpn is down now"));
    let missing = write(
        &lab,
        "missing.conf",
        &text.replacen("option wan 'wan'", "option wan 'pppoe-wan'", 1),
    );
    assert!(check(&missing).contains("interface pppoe-wan does not exist now"));
    // The daemon on the shipped names: a LAN call passes.
    let sock = lab.socket.display().to_string();
    let run = lab.spawn_in_env(
        &rtr,
        &["run", "--config", &rcfg, "--socket", &sock],
        Stdio::null(),
        &[("PATH", path.clone())],
    );
    wait_until("helper running", Duration::from_secs(10), || {
        status(&rtr, &sock)["helper_enabled"] == true
    });
    assert_eq!(lab.status()["wan"], "wan0");
    let r = lab.one_call(10, 50);
    assert_exact(&r);
    stop_cleanly(&mut lab, run);
    // A WAN that is down: the daemon runs on, the helper waits and says why.
    let run = lab.spawn_in_env(
        &rtr,
        &["run", "--config", &down_cfg, "--socket", &sock],
        Stdio::null(),
        &[("PATH", path)],
    );
    wait_until("daemon answering", Duration::from_secs(10), || {
        !status(&rtr, &sock).is_null()
    });
    let st = status(&rtr, &sock);
    assert_eq!(st["helper_enabled"], false, "{st}");
    assert!(
        st["helper_waiting"]
            .as_str()
            .is_some_and(|w| w.contains("interface vpn is down")),
        "{st}"
    );
    assert!(lab.log().contains("helper waiting: interface vpn is down"));
    stop_cleanly(&mut lab, run);
    // No daemon: `status` says so once, with its own exit code (LuCI
    // tells "nothing enabled" from a failure by it).
    let out = bin_in(&rtr, &["status", "--json", "--socket", &sock]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not running"), "{err}");
}
