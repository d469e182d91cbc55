//! The embedded PPTP client and server (userspace PPP, MPPE, TUN) through
//! the lab router running the passthrough helper.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::lab::*;

const TUNNEL_SERVER: &str = "10.99.0.1";

fn secrets(lab: &Lab) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("{}-chap-secrets", lab.prefix));
    std::fs::write(
        &p,
        "# client server secret address\nalice * \"s3cret pass\" *\n",
    )
    .unwrap();
    p
}

fn start(stateful: bool, password: &str) -> (Lab, Child) {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let stateful_flag: &[&str] = if stateful { &["--mppe-stateful"] } else { &[] };
    our_server(
        &mut lab,
        &[&["--dns", TUNNEL_SERVER][..], stateful_flag].concat(),
    );
    lab.start_helper(&[]);
    let c = alice_connects(&lab, password, stateful_flag);
    (lab, c)
}

/// Alice's `client connect` to our server from the LAN host, its output
/// piped; its control socket under the lab's prefix, which the lab
/// removes (not the default path, which any other client would share).
fn alice_connects(lab: &Lab, password: &str, extra: &[&str]) -> Child {
    let sock = format!("/run/{}-alice.sock", lab.prefix);
    let mut cli = vec![
        "client",
        "connect",
        SERVER_A,
        "--user",
        "alice",
        "--password",
        password,
        "--socket",
        &sock,
    ];
    cli.extend_from_slice(extra);
    lab.command("lan", &cli)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_tunnel(lab: &Lab) {
    let t = Instant::now();
    loop {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.ns("lan"),
                "ip",
                "-4",
                "addr",
                "show",
                "dev",
                "pptpc0",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("inet 10.99.0.") {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "tunnel did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ping(lab: &Lab, count: &str, size: &str) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("lan"),
            "ping",
            "-q",
            "-c",
            count,
            "-i",
            "0.05",
            "-s",
            size,
            "-W",
            "2",
        ])
        .arg(TUNNEL_SERVER)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn stop(mut c: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let t = Instant::now();
    while c.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(5) {
            let _ = c.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tunnel_mppe128_stateless_through_the_helper() {
    let (lab, c) = start(false, "s3cret pass");
    wait_for_tunnel(&lab);
    // The server sends LCP right behind its OCRP; the helper installed the
    // inbound mapping before the OCRQ left, so none of it was lost.
    assert_eq!(lab.unmatched_gre(), 0, "GRE arrived before its mapping");
    assert!(ping(&lab, "20", "56"), "small pings lost");
    assert!(ping(&lab, "20", "1400"), "1400-byte pings lost");
    let out = stop(c);
    assert!(
        out.contains("MPPE Some(MppeMode { key: Bits128, stateless: true })"),
        "{out}"
    );
    // The embedded client's call went through the passthrough helper.
    assert_eq!(lab.elements("gre_dnat"), 0, "call not torn down");
}

#[test]
fn tunnel_mppe128_stateful() {
    let (lab, c) = start(true, "s3cret pass");
    wait_for_tunnel(&lab);
    assert!(
        ping(&lab, "300", "56"),
        "pings lost (stateful, across key changes)"
    );
    let out = stop(c);
    assert!(out.contains("stateless: false"), "{out}");
}

#[test]
fn tunnel_wrong_password_fails_clearly() {
    let (_lab, c) = start(false, "wrong");
    let out = c.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("authentication failed") && err.contains("691"),
        "{err}"
    );
}

/// Send `bytes` of random data from the client through the tunnel to the
/// server's tunnel address with netcat; SHA-256 of what left and arrived.
fn transfer(lab: &Lab, bytes: u64) -> (String, String) {
    let dir = std::env::temp_dir();
    let (tx, rx) = (
        dir.join(format!("{}-tx", lab.prefix)),
        dir.join(format!("{}-rx.sum", lab.prefix)),
    );
    let recv = Command::new("ip")
        .args(["netns", "exec", &lab.ns("net"), "bash", "-c"])
        .arg(format!(
            "timeout 300 nc -l {TUNNEL_SERVER} 5001 | sha256sum > {}",
            rx.display()
        ))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let send = Command::new("ip")
        .args(["netns", "exec", &lab.ns("lan"), "bash", "-c"])
        .arg(format!(
            "head -c {bytes} /dev/urandom > {tx} && sha256sum < {tx} && timeout 300 nc -N -q 2 {TUNNEL_SERVER} 5001 < {tx}",
            tx = tx.display()
        ))
        .output()
        .unwrap();
    let _ = recv.wait_with_output();
    let sent = String::from_utf8_lossy(&send.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    let got = std::fs::read_to_string(&rx)
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    let _ = std::fs::remove_file(&tx);
    let _ = std::fs::remove_file(&rx);
    (sent, got)
}

#[test]
fn tunnel_100mb_transfer_matches_stateless_and_stateful() {
    for stateful in [false, true] {
        let (lab, c) = start(stateful, "s3cret pass");
        wait_for_tunnel(&lab);
        let (sent, got) = transfer(&lab, 100_000_000);
        assert!(!sent.is_empty(), "sender failed");
        assert_eq!(
            sent, got,
            "stateful={stateful}: data changed or was cut in the tunnel"
        );
        stop(c);
    }
}

#[test]
fn tunnel_lockout_after_repeated_bad_passwords() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_with_lockout(&mut lab, 60);
    lab.start_helper(&[]);
    let attempt = |password: &str| {
        let out = lab
            .command(
                "lan",
                &[
                    "client",
                    "connect",
                    SERVER_A,
                    "--user",
                    "alice",
                    "--password",
                    password,
                ],
            )
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for _ in 0..2 {
        let err = attempt("wrong");
        assert!(err.contains("691"), "{err}");
    }
    // Locked out now: even the right password is refused, at call set-up.
    let err = attempt("s3cret pass");
    eprintln!("locked-out attempt: {err}");
    assert!(err.contains("call refused"), "{err}");
}

/// Our server in `net` (pool 10.99.0.10-20, alice's secrets) with `extra`
/// options; its PID.
fn our_server(lab: &mut Lab, extra: &[&str]) -> u32 {
    let sec = secrets(lab).display().to_string();
    // Its control socket under the lab's prefix, which the lab removes.
    let sock = format!("/run/{}-server.sock", lab.prefix);
    let mut args = vec![
        "server",
        "--socket",
        &sock,
        "--listen",
        SERVER_A,
        "--local-ip",
        TUNNEL_SERVER,
        "--pool-start",
        "10.99.0.10",
        "--pool-end",
        "10.99.0.20",
        "--secrets",
        &sec,
    ];
    args.extend_from_slice(extra);
    lab.spawn_bin("net", &args)
}

/// Our server in `net` with a lockout after 2 failures for `secs` seconds.
fn server_with_lockout(lab: &mut Lab, secs: u64) {
    our_server(
        lab,
        &["--auth-fail-limit", "2", "--lockout", &secs.to_string()],
    );
}

/// `client connect` to our server from namespace `ns` (its full name).
fn login(ns: &str, user: &str, password: &str, sock: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, BIN, "client", "connect", SERVER_A])
        .args(["--user", user, "--password", password])
        .args(["--socket", sock, "--timeout", "5"]);
    c
}

/// A login that must fail; its error output.
fn refused(ns: &str, user: &str, password: &str, sock: &str) -> String {
    let out = login(ns, user, password, sock).output().unwrap();
    assert!(!out.status.success(), "{password:?} from {ns} was accepted");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The per-user lockout on its own. Two outside hosts with addresses of
/// their own: the first fails twice as alice, which locks alice (and that
/// address). The second address is clean, so its calls are accepted, yet
/// alice's right password is refused there while her lockout runs, and
/// accepted once it has ended.
#[test]
fn tunnel_user_lockout_holds_from_a_clean_address() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let lockout_secs = 4;
    server_with_lockout(&mut lab, lockout_secs);
    let (guesser, clean) = (lab.add_internet_ns(1), lab.add_internet_ns(2));
    let sock = format!("/run/{}-ul.sock", lab.prefix);
    for _ in 0..2 {
        let err = refused(&guesser, "alice", "wrong", &sock);
        assert!(err.contains("691"), "{err}");
    }
    let locked_at = Instant::now();
    // From the clean address the call is accepted (no "call refused"), but
    // authentication fails although the password is right.
    let err = refused(&clean, "alice", "s3cret pass", &sock);
    assert!(
        locked_at.elapsed() < Duration::from_secs(lockout_secs),
        "too slow to see the lockout"
    );
    assert!(
        !err.contains("call refused"),
        "address lockout, not the user's: {err}"
    );
    assert!(err.contains("691"), "{err}");
    // After the lockout the same login comes up.
    std::thread::sleep(Duration::from_secs(lockout_secs + 1).saturating_sub(locked_at.elapsed()));
    let mut up = login(&clean, "alice", "s3cret pass", &sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &clean, BIN, "client", "status", "--json", "--socket", &sock,
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v[0]["state"] == "connected" {
            break;
        }
        assert!(
            up.try_wait().unwrap().is_none(),
            "the client gave up after the lockout ended"
        );
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no tunnel after the lockout: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &up.id().to_string()])
        .status();
    let _ = up.wait();
}

/// A user name with a newline cannot forge a line in the server's log: it
/// is logged escaped, also on the "user locked out" line.
#[test]
fn server_log_escapes_peer_chosen_names() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    server_with_lockout(&mut lab, 60);
    let (first, second) = (lab.add_internet_ns(1), lab.add_internet_ns(2));
    let sock = format!("/run/{}-le.sock", lab.prefix);
    let evil = "mallory\nFORGED-LINE user root logged in";
    for _ in 0..2 {
        refused(&first, evil, "wrong", &sock);
    }
    // Locked out now: this attempt, from a clean address, reaches the
    // "login refused: user locked out" line.
    refused(&second, evil, "wrong", &sock);
    let log = lab.log();
    assert!(log.contains("user locked out"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.trim_start().starts_with("FORGED-LINE")),
        "a peer forged a log line:\n{log}"
    );
    assert!(
        log.contains("mallory\\nFORGED-LINE"),
        "name not shown escaped:\n{log}"
    );
}

/// An idle server sleeps: with no session its timers wait for one to start
/// instead of ticking every 50 ms (about 80 wake-ups in 4 s before). A
/// session wakes them: the server's idle hang-up, a timer's work, ends
/// the silent session; and once it has gone the server sleeps again.
#[test]
fn an_idle_server_sleeps_and_its_timers_wake_for_a_session() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let pid = our_server(&mut lab, &["--idle-timeout", "2"]);
    lab.start_helper(&[]);
    let idle_wakeups = |what: &str| {
        let before = context_switches(pid);
        std::thread::sleep(Duration::from_secs(4));
        let woke = context_switches(pid) - before;
        eprintln!("{what}: {woke} context switches in 4 s");
        woke
    };
    let woke = idle_wakeups("idle server");
    assert!(woke <= 8, "{woke} wake-ups in 4 s with no session");
    let c = alice_connects(&lab, "s3cret pass", &[]);
    wait_for_tunnel(&lab);
    // No IP through the tunnel: the server hangs up after 2 s, and the
    // client (not told to reconnect) ends.
    let t = Instant::now();
    let mut c = c;
    while c.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the silent session was not hung up: the server's timers slept"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        lab.log().contains("hanging up an idle session"),
        "{}",
        lab.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    let woke = idle_wakeups("server after its session");
    assert!(woke <= 8, "{woke} wake-ups in 4 s after the session ended");
}
