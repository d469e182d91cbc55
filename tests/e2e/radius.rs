//! The server against a real FreeRADIUS (Debian's package) in namespaces of
//! their own: MS-CHAPv2 with MPPE keys from RADIUS, a fixed
//! Framed-IP-Address, Session-Timeout, a rejected login with the server's
//! reason at the client, accounting whose octets match the tunnel's, a
//! Disconnect-Request from radclient, and failover when the first RADIUS
//! server stops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::client::*;
use super::lab::*;

const SECRET: &str = "radius secret 7";

/// A FreeRADIUS configuration in `dir`: Debian's, with a site that signs
/// every answer (Message-Authenticator), our users, and accounting to
/// `dir/radacct`.
fn freeradius_config(dir: &Path) {
    let status = Command::new("cp")
        .args(["-a", "/etc/freeradius/3.0"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "copying FreeRADIUS's configuration");
    let d = dir.display().to_string();
    let conf = std::fs::read_to_string(dir.join("radiusd.conf")).unwrap();
    let conf = conf
        .lines()
        .map(|l| match l.trim_start() {
            x if x.starts_with("logdir =") => format!("logdir = {d}/log"),
            x if x.starts_with("run_dir =") => format!("run_dir = {d}/run"),
            x if x.starts_with("raddbdir =") => format!("raddbdir = {d}"),
            x if x.starts_with("user = freerad") || x.starts_with("group = freerad") => {
                String::new()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("radiusd.conf"), conf).unwrap();
    for sub in ["log", "run"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let _ = std::fs::remove_file(dir.join("mods-enabled/eap"));
    for e in std::fs::read_dir(dir.join("sites-enabled"))
        .unwrap()
        .flatten()
    {
        let _ = std::fs::remove_file(e.path());
    }
    std::fs::write(
        dir.join("sites-enabled/test"),
        "server default {\n\
         listen {\n type = auth\n ipaddr = *\n port = 0\n}\n\
         listen {\n type = acct\n ipaddr = *\n port = 0\n}\n\
         authorize {\n preprocess\n chap\n mschap\n files\n pap\n}\n\
         authenticate {\n Auth-Type PAP {\n pap\n }\n Auth-Type CHAP {\n chap\n }\n\
         Auth-Type MS-CHAP {\n mschap\n }\n}\n\
         preacct {\n preprocess\n acct_unique\n}\n\
         accounting {\n detail\n update reply {\n Message-Authenticator := 0x00\n }\n}\n\
         post-auth {\n update reply {\n Message-Authenticator := 0x00\n }\n\
         Post-Auth-Type REJECT {\n update reply {\n Message-Authenticator := 0x00\n }\n }\n}\n\
         }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("clients.conf"),
        format!("client all {{\n ipaddr = 0.0.0.0/0\n secret = \"{SECRET}\"\n}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("mods-config/files/authorize"),
        "alice\tCleartext-Password := \"radius pass\"\n\
         \tFramed-IP-Address = 10.99.0.77,\n\
         \tClass = \"gold\"\n\
         bob\tCleartext-Password := \"bob pass\"\n\
         \tSession-Timeout = 6\n\
         mallory\tCleartext-Password := \"mallory pass\"\n\
         carol\tCleartext-Password := \"carol pass\"\n\
         \tFramed-Route = \"192.168.55.0/24 0.0.0.0 1\"\n\
         dave\tCleartext-Password := \"dave pass\"\n\
         erin\tCleartext-Password := \"erin pass\"\n\
         \tIdle-Timeout = 3\n",
    )
    .unwrap();
}

struct Radius {
    dir: PathBuf,
    pid: u32,
}

impl Radius {
    /// FreeRADIUS in `ns` (full name), in the foreground, debug log in its
    /// directory.
    fn start(lab: &mut Lab, ns: &str, name: &str) -> Radius {
        let dir = std::env::temp_dir().join(format!("{}-{name}", lab.prefix));
        freeradius_config(&dir);
        let pid = lab.spawn_program(
            ns,
            "freeradius",
            &["-f", "-X", "-d", &dir.display().to_string()],
            &dir.join("out.log"),
        );
        let r = Radius { dir, pid };
        wait_until("FreeRADIUS ready", Duration::from_secs(20), || {
            r.log().contains("Ready to process requests")
        });
        r
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("out.log")).unwrap_or_default()
    }

    /// Every accounting record FreeRADIUS wrote (detail files).
    fn detail(&self) -> String {
        let mut out = String::new();
        let Ok(hosts) = std::fs::read_dir(self.dir.join("log/radacct")) else {
            return out;
        };
        for h in hosts.flatten() {
            for f in std::fs::read_dir(h.path()).into_iter().flatten().flatten() {
                out += &std::fs::read_to_string(f.path()).unwrap_or_default();
            }
        }
        out
    }

    /// The records of `kind` (Start, Stop, ...) for `user`.
    fn records(&self, kind: &str, user: &str) -> Vec<String> {
        self.detail()
            .split("\n\n")
            .filter(|r| r.contains(&format!("Acct-Status-Type = {kind}")))
            .filter(|r| r.contains(&format!("User-Name = \"{user}\"")))
            .map(str::to_string)
            .collect()
    }
}

fn value(record: &str, name: &str) -> Option<String> {
    record.lines().find_map(|l| {
        let (k, v) = l.trim().split_once(" = ")?;
        (k == name).then(|| v.trim_matches('"').to_string())
    })
}

fn server_conf(lab: &Lab, servers: &[&str], extra: &str) -> String {
    // A local password for alice that RADIUS does not know: a login with
    // RADIUS's password proves the verdict came from RADIUS.
    let sec = write(lab, "chap-secrets", "alice * \"local pass\" *\n");
    let mut text = format!(
        "config server 'server'\n\toption enabled '1'\n\tlist listen '{SERVER_A}'\n\
         \toption chap_secrets '{sec}'\n\toption local_ip '{TUNNEL_SERVER}'\n\
         \toption pool_start '10.99.0.10'\n\toption pool_end '10.99.0.120'\n\
         \toption ipv6 '0'\n\toption radius_secret '{SECRET}'\n\
         \toption radius_dae_port '3799'\n\tlist radius_dae_client '198.51.100.131'\n"
    );
    for s in servers {
        text += &format!("\tlist radius_server '{s}'\n");
    }
    text += extra;
    write(lab, "server.conf", &text)
}

/// `client connect` as `user` with `password` in the LAN, `extra` flags
/// added, on a TUN device of its own; its PID and the file its output goes
/// to.
fn connect(
    lab: &mut Lab,
    user: &str,
    password: &str,
    sock: &str,
    extra: &[&str],
) -> (u32, PathBuf) {
    let out = tmp(lab, &format!("client-{user}{}.out", extra.join("")));
    let f = std::fs::File::create(&out).unwrap();
    let lan = lab.ns("lan");
    let tun = format!("pr-{user}");
    let mut args = vec![
        "client",
        "connect",
        SERVER_A,
        "--user",
        user,
        "--password",
        password,
        "--socket",
        sock,
        "--no-ipv6",
        "--timeout",
        "40",
        "--tun",
        &tun,
    ];
    args.extend_from_slice(extra);
    let pid = lab.spawn_in(&lan, &args, Stdio::from(f));
    (pid, out)
}

fn connected(out: &Path) -> bool {
    std::fs::read_to_string(out).is_ok_and(|o| o.contains("connected:"))
}

/// radclient in `ns` sends `attrs` as a `kind` request (disconnect, coa)
/// to the server's DAE port with `secret`; its output.
fn radclient(ns: &str, kind: &str, attrs: &str, secret: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo '{attrs}' | ip netns exec {ns} radclient -r 1 -t 3 -x {SERVER_A}:3799 {kind} '{secret}'"
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn session<'a>(s: &'a serde_json::Value, user: &str) -> Option<&'a serde_json::Value> {
    s["server"]["sessions"]
        .as_array()?
        .iter()
        .find(|r| r["user"] == user)
}

fn routes(ns: &str) -> String {
    String::from_utf8(in_ns(ns, &["ip", "route"]).stdout).unwrap()
}

#[test]
fn freeradius_logins_accounting_disconnect_and_failover() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let (r1ns, r2ns) = (lab.add_internet_ns(1), lab.add_internet_ns(2));
    let r1 = Radius::start(&mut lab, &r1ns, "radius1");
    let r2 = Radius::start(&mut lab, &r2ns, "radius2");
    let net = lab.ns("net");
    let lan = lab.ns("lan");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let scfg = server_conf(&lab, &["198.51.100.131", "198.51.100.132:1812:1813"], "");
    lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    wait_until("Accounting-On", Duration::from_secs(10), || {
        r1.detail().contains("Acct-Status-Type = Accounting-On")
    });

    // MS-CHAPv2 + MPPE-128 with RADIUS's keys; the address RADIUS gave.
    let alice_sock = format!("/run/{}-alice.sock", lab.prefix);
    let (alice, alice_out) = connect(&mut lab, "alice", "radius pass", &alice_sock, &[]);
    wait_until("alice connected", Duration::from_secs(30), || {
        connected(&alice_out)
    });
    let out = std::fs::read_to_string(&alice_out).unwrap();
    assert!(out.contains("tunnel 10.99.0.77 <-> 10.99.0.1"), "{out}");
    assert!(out.contains("Bits128"), "MPPE-128 expected: {out}");
    // 5 pings of 100 bytes: 5 packets of 128 octets each way.
    let pings = in_ns(
        &lan,
        &[
            "ping",
            "-q",
            "-c",
            "5",
            "-i",
            "0.2",
            "-s",
            "100",
            TUNNEL_SERVER,
        ],
    );
    assert!(
        pings.status.success(),
        "the tunnel carries data with RADIUS's keys"
    );
    let row = session(&status(&net, &srv_sock), "alice").cloned().unwrap();
    assert!(row["ip_octets_in"].as_u64().unwrap() >= 640, "{row}");
    let start = r1.records("Start", "alice");
    assert_eq!(start.len(), 1, "{}", r1.detail());
    let st = &start[0];
    for (k, v) in [
        ("Class", "0x676f6c64"),
        ("NAS-Port-Type", "Virtual"),
        ("Calling-Station-Id", PUBLIC),
        ("Framed-IP-Address", "10.99.0.77"),
        ("NAS-Identifier", "pptp-passthrough"),
        ("NAS-IP-Address", SERVER_A),
    ] {
        assert_eq!(value(st, k).as_deref(), Some(v), "{k}: {st}");
    }
    assert_eq!(
        value(st, "Acct-Session-Id"),
        row["acct_session_id"].as_str().map(String::from)
    );

    // A CoA-Request changes the Session-Timeout; one without it is NAK'd.
    let coa = radclient(
        &r1ns,
        "coa",
        "User-Name = alice, Session-Timeout = 3600",
        SECRET,
    );
    assert!(coa.contains("Received CoA-ACK"), "{coa}");
    let coa = radclient(&r1ns, "coa", "User-Name = alice, Idle-Timeout = 5", SECRET);
    assert!(coa.contains("Received CoA-NAK"), "{coa}");
    // A request with the wrong secret gets no answer and changes nothing.
    let forged = radclient(&r1ns, "disconnect", "User-Name = alice", "not the secret");
    assert!(!forged.contains("Received"), "{forged}");
    assert!(session(&status(&net, &srv_sock), "alice").is_some());
    // A Disconnect-Request from radclient ends the session.
    let dae = radclient(&r1ns, "disconnect", "User-Name = alice", SECRET);
    assert!(dae.contains("Received Disconnect-ACK"), "{dae}");
    wait_until("alice's session gone", Duration::from_secs(10), || {
        session(&status(&net, &srv_sock), "alice").is_none()
    });
    wait_until("alice's Stop", Duration::from_secs(10), || {
        !r1.records("Stop", "alice").is_empty()
    });
    let stop = r1.records("Stop", "alice").remove(0);
    assert_eq!(
        value(&stop, "Acct-Terminate-Cause").as_deref(),
        Some("Admin-Reset"),
        "{stop}"
    );
    // The octets RADIUS was told are the tunnel's.
    for (k, v) in [
        ("Acct-Input-Octets", &row["ip_octets_in"]),
        ("Acct-Output-Octets", &row["ip_octets_out"]),
        ("Acct-Input-Packets", &row["ip_packets_in"]),
        ("Acct-Output-Packets", &row["ip_packets_out"]),
    ] {
        assert_eq!(value(&stop, k), Some(v.to_string()), "{k}: {stop}");
    }
    assert_eq!(value(&stop, "Acct-Input-Gigawords").as_deref(), Some("0"));
    assert!(value(&stop, "Acct-Session-Time").is_some());
    let unknown = radclient(&r1ns, "disconnect", "User-Name = nobody", SECRET);
    assert!(unknown.contains("Received Disconnect-NAK"), "{unknown}");
    assert!(unknown.contains("Session-Context-Not-Found"), "{unknown}");
    let _ = lab.wait_child(alice, Duration::from_secs(10));
    // Every answer so far was taken: signed as required, none resent.
    let rad = status(&net, &srv_sock)["server"]["radius"].clone();
    for part in ["auth", "accounting"] {
        assert_eq!(rad[part]["bad_answers"], 0, "{rad}");
        assert_eq!(rad[part]["resends"], 0, "{rad}");
    }

    // A rejected login: the client sees RADIUS's reason (MS-CHAP E=691).
    let m_sock = format!("/run/{}-m.sock", lab.prefix);
    let (m, m_out) = connect(&mut lab, "mallory", "wrong pass", &m_sock, &[]);
    let st = lab.wait_child(m, Duration::from_secs(30));
    let text = std::fs::read_to_string(&m_out).unwrap() + &lab.log();
    assert!(st.is_some_and(|s| !s.success()), "{text}");
    assert!(text.contains("E=691"), "{text}");

    // Session-Timeout (bob, 6 s) and Idle-Timeout (erin, silent for 3 s)
    // end sessions by themselves, with their cause in the Stop record.
    for (user, cause) in [("bob", "Session-Timeout"), ("erin", "Idle-Timeout")] {
        let sock = format!("/run/{}-{user}.sock", lab.prefix);
        let (pid, out) = connect(&mut lab, user, &format!("{user} pass"), &sock, &[]);
        wait_until(
            &format!("{user} connected"),
            Duration::from_secs(30),
            || connected(&out),
        );
        wait_until(
            &format!("{user}'s Stop by {cause}"),
            Duration::from_secs(20),
            || {
                r1.records("Stop", user)
                    .iter()
                    .any(|r| value(r, "Acct-Terminate-Cause").as_deref() == Some(cause))
            },
        );
        let _ = lab.wait_child(pid, Duration::from_secs(10));
    }

    // Framed-Route: carol's prefix is routed to her session.
    let carol_sock = format!("/run/{}-carol.sock", lab.prefix);
    let (carol, carol_out) = connect(&mut lab, "carol", "carol pass", &carol_sock, &[]);
    wait_until("carol connected", Duration::from_secs(30), || {
        connected(&carol_out)
    });
    let r = routes(&net);
    assert!(r.contains("192.168.55.0/24 dev pptps0"), "{r}");

    // Failover: the first RADIUS server stops; the second answers. While
    // dave's login waits for it, carol's session keeps carrying traffic.
    lab.kill_child(r1.pid);
    let dave_sock = format!("/run/{}-dave.sock", lab.prefix);
    let (dave, dave_out) = connect(&mut lab, "dave", "dave pass", &dave_sock, &[]);
    let pings = in_ns(
        &lan,
        &[
            "ping",
            "-q",
            "-c",
            "8",
            "-i",
            "0.5",
            "-W",
            "2",
            TUNNEL_SERVER,
        ],
    );
    assert!(
        pings.status.success(),
        "carol's tunnel while a login waits for RADIUS"
    );
    assert!(
        !connected(&dave_out),
        "dave's login should still wait for the failover"
    );
    wait_until(
        "dave connected through the second server",
        Duration::from_secs(40),
        || connected(&dave_out),
    );
    wait_until(
        "dave's Start at the second server",
        Duration::from_secs(20),
        || !r2.records("Start", "dave").is_empty(),
    );
    let s = status(&net, &srv_sock);
    assert!(
        s["server"]["radius"]["auth"]["failovers"].as_u64().unwrap() >= 1,
        "{s}"
    );
    // Carol's Stop fails over too; her route goes with her session.
    signal(carol, "-TERM");
    let _ = lab.wait_child(carol, Duration::from_secs(10));
    wait_until(
        "carol's Stop at the second server",
        Duration::from_secs(30),
        || !r2.records("Stop", "carol").is_empty(),
    );
    wait_until("carol's route removed", Duration::from_secs(5), || {
        !routes(&net).contains("192.168.55.0/24")
    });
    signal(dave, "-TERM");
    let _ = lab.wait_child(dave, Duration::from_secs(10));
}

/// PAP, CHAP-MD5 and MS-CHAPv1 (its MPPE keys from MS-CHAP-MPPE-Keys)
/// through FreeRADIUS; then, with no RADIUS server left, the local users
/// only when `radius_fallback` says so.
#[test]
fn freeradius_other_methods_and_the_local_fallback() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let r1ns = lab.add_internet_ns(1);
    let r1 = Radius::start(&mut lab, &r1ns, "radius1");
    let net = lab.ns("net");
    let lan = lab.ns("lan");
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let methods = "\tlist auth 'mschapv2'\n\tlist auth 'mschapv1'\n\tlist auth 'chap'\n\
                   \tlist auth 'pap'\n\toption mppe 'optional'\n\tlist mppe_bits '128'\n";
    let scfg = server_conf(&lab, &["198.51.100.131"], methods);
    let srv = lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    for (auth, mppe, want) in [
        ("pap", "none", "MPPE None"),
        ("chap", "none", "MPPE None"),
        ("mschapv1", "require-128", "Bits128"),
    ] {
        let sock = format!("/run/{}-{auth}.sock", lab.prefix);
        let (pid, out) = connect(
            &mut lab,
            "alice",
            "radius pass",
            &sock,
            &["--auth", auth, "--mppe", mppe],
        );
        wait_until(&format!("{auth} login"), Duration::from_secs(30), || {
            connected(&out)
        });
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(want), "{auth}: {text}");
        assert!(ping(&lan, TUNNEL_SERVER), "{auth}: the tunnel carries data");
        signal(pid, "-TERM");
        let _ = lab.wait_child(pid, Duration::from_secs(10));
        wait_until("session gone", Duration::from_secs(10), || {
            session(&status(&net, &srv_sock), "alice").is_none()
        });
    }
    wait_until("three Stops", Duration::from_secs(10), || {
        r1.records("Stop", "alice").len() == 3
    });

    // No RADIUS server answers: the local password is refused...
    lab.kill_child(r1.pid);
    let sock = format!("/run/{}-local.sock", lab.prefix);
    let (pid, out) = connect(&mut lab, "alice", "local pass", &sock, &[]);
    let st = lab.wait_child(pid, Duration::from_secs(45));
    let text = std::fs::read_to_string(&out).unwrap_or_default() + &lab.log();
    assert!(st.is_some_and(|s| !s.success()), "{text}");
    assert!(text.contains("no RADIUS server answered"), "{text}");
    // A RADIUS server that does not answer is no failed guess: no lockout.
    assert_eq!(status(&net, &srv_sock)["server"]["lockout"]["entries"], 0);
    // ...unless the fallback is on (a reload applies it).
    server_conf(
        &lab,
        &["198.51.100.131"],
        &format!("{methods}\toption radius_fallback '1'\n"),
    );
    signal(srv, "-HUP");
    std::thread::sleep(Duration::from_secs(2));
    let (pid, out) = connect(
        &mut lab,
        "alice",
        "local pass",
        &sock,
        &["--mppe", "require-128"],
    );
    wait_until(
        "local login after RADIUS timed out",
        Duration::from_secs(45),
        || connected(&out),
    );
    signal(pid, "-TERM");
    let _ = lab.wait_child(pid, Duration::from_secs(10));
}
