//! A lab of network namespaces for one test: LAN hosts, a router that
//! masquerades behind one public address, and an internet side with PPTP
//! servers. Names are unique per run; everything is deleted on drop, also
//! when the test fails. Processes are ended by PID only.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use super::capture::Capture;

pub const BIN: &str = env!("CARGO_BIN_EXE_pptp-passthrough");

/// An example built beside this test (`cargo build --examples`, which
/// scripts/test.sh runs before the end-to-end tests): the lab peer, the
/// hostile-traffic generator.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("examples").join(name))
        .unwrap();
    assert!(
        p.exists(),
        "{} missing: run `cargo build --examples` first (scripts/test.sh does)",
        p.display()
    );
    p
}
pub const PUBLIC: &str = "203.0.113.2";
pub const SERVER_A: &str = "198.51.100.10";
pub const SERVER_B: &str = "198.51.100.11";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Refuse to run (loudly) without root instead of passing silently.
pub fn require_root() {
    let uid = Command::new("id").arg("-u").output().expect("run id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "end-to-end tests need root (network namespaces, nftables): run scripts/test.sh as root"
    );
}

/// Which PPTP NAT helper the router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// pptp-passthrough helper.
    Ours,
    /// The kernel's `ct helper` of type "pptp", for comparison.
    Kernel,
}

pub struct Lab {
    pub prefix: String,
    pub nat: Nat,
    pub socket: PathBuf,
    children: Vec<Child>,
    /// Extra namespaces (`{prefix}-cN`), deleted on drop.
    extra: Vec<String>,
    helper: Option<Child>,
    helper_args: Vec<String>,
    /// Environment for the helper (e.g. to force the `nft` binary path).
    pub helper_env: Vec<(String, String)>,
}

pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Lab {
    /// `hosts`: last octets of the LAN hosts (192.168.1.x, one namespace).
    pub fn new(nat: Nat, hosts: &[u8]) -> Lab {
        require_root();
        let prefix = format!(
            "ppt{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let lab = Lab {
            socket: PathBuf::from(format!("/run/{prefix}.sock")),
            prefix,
            nat,
            children: Vec::new(),
            extra: Vec::new(),
            helper: None,
            helper_args: Vec::new(),
            helper_env: Vec::new(),
        };
        let (lan, rtr, net) = (lab.ns("lan"), lab.ns("rtr"), lab.ns("net"));
        for ns in [&lan, &rtr, &net] {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        sh(&[
            "ip", "link", "add", "eth0", "netns", &lan, "type", "veth", "peer", "name", "lan0",
            "netns", &rtr,
        ]);
        sh(&[
            "ip", "link", "add", "wan0", "netns", &rtr, "type", "veth", "peer", "name", "eth0",
            "netns", &net,
        ]);
        for h in hosts {
            sh(&[
                "ip",
                "-n",
                &lan,
                "addr",
                "add",
                &format!("192.168.1.{h}/24"),
                "dev",
                "eth0",
            ]);
        }
        sh(&["ip", "-n", &lan, "link", "set", "eth0", "up"]);
        sh(&[
            "ip",
            "-n",
            &lan,
            "route",
            "add",
            "default",
            "via",
            "192.168.1.1",
        ]);
        sh(&[
            "ip",
            "-n",
            &rtr,
            "addr",
            "add",
            "192.168.1.1/24",
            "dev",
            "lan0",
        ]);
        sh(&[
            "ip",
            "-n",
            &rtr,
            "addr",
            "add",
            &format!("{PUBLIC}/24"),
            "dev",
            "wan0",
        ]);
        sh(&["ip", "-n", &rtr, "link", "set", "lan0", "up"]);
        sh(&["ip", "-n", &rtr, "link", "set", "wan0", "up"]);
        sh(&[
            "ip",
            "-n",
            &rtr,
            "route",
            "add",
            "default",
            "via",
            "203.0.113.1",
        ]);
        sh(&[
            "ip",
            "netns",
            "exec",
            &rtr,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]);
        sh(&[
            "ip",
            "-n",
            &net,
            "addr",
            "add",
            "203.0.113.1/24",
            "dev",
            "eth0",
        ]);
        for a in [SERVER_A, SERVER_B, "198.51.100.20", "198.51.100.21"] {
            sh(&[
                "ip",
                "-n",
                &net,
                "addr",
                "add",
                &format!("{a}/32"),
                "dev",
                "lo",
            ]);
        }
        sh(&["ip", "-n", &net, "link", "set", "eth0", "up"]);
        let mut nft = String::from(
            "table ip lab {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname \"wan0\" masquerade\n }\n",
        );
        if nat == Nat::Kernel {
            nft += " ct helper pptp-h {\n  type \"pptp\" protocol tcp\n }\n chain pre {\n  type filter hook prerouting priority filter; policy accept;\n  tcp dport 1723 ct helper set \"pptp-h\"\n }\n";
        }
        nft += "}\n";
        lab.nft_load("rtr", &nft);
        lab
    }

    pub fn ns(&self, which: &str) -> String {
        format!("{}-{which}", self.prefix)
    }

    /// Forward TCP 1723 arriving at the public address to a LAN server.
    pub fn port_forward(&self, to: &str) {
        self.nft_load(
            "rtr",
            &format!("table ip portfwd {{\n chain pre {{\n  type nat hook prerouting priority dstnat; policy accept;\n  ip daddr {PUBLIC} tcp dport 1723 dnat to {to}\n }}\n}}\n"),
        );
    }

    /// One more LAN host in a namespace of its own (`c{k}`, address
    /// 192.168.2.{k}/24 behind the router's bridge `br1`), so that several
    /// tunnel clients each have their own TUN device and routes.
    pub fn add_host_ns(&mut self, k: u8) -> String {
        let addr = format!("192.168.2.{k}/24");
        self.leaf_ns(&format!("c{k}"), "rtr", ("br1", "192.168.2.1", 24), &addr)
    }

    /// A host on the internet side in a namespace of its own (`i{k}`,
    /// address 198.51.100.{130+k}/25 behind the bridge `br9` of `net`):
    /// an outside client or attacker with its own source address.
    pub fn add_internet_ns(&mut self, k: u8) -> String {
        let addr = format!("198.51.100.{}/25", 130 + u32::from(k));
        self.leaf_ns(
            &format!("i{k}"),
            "net",
            ("br9", "198.51.100.129", 25),
            &addr,
        )
    }

    /// Namespace `name` with one veth into `bridge` (created on first use)
    /// of namespace `hub`, which is also its default gateway.
    fn leaf_ns(&mut self, name: &str, hub: &str, bridge: (&str, &str, u8), addr: &str) -> String {
        let (hub, ns) = (self.ns(hub), self.ns(name));
        let (br, gw, len) = bridge;
        let sibling = format!("{}-{}", self.prefix, &name[..1]);
        if !self.extra.iter().any(|n| n.starts_with(&sibling)) {
            sh(&["ip", "-n", &hub, "link", "add", br, "type", "bridge"]);
            sh(&[
                "ip",
                "-n",
                &hub,
                "addr",
                "add",
                &format!("{gw}/{len}"),
                "dev",
                br,
            ]);
            sh(&["ip", "-n", &hub, "link", "set", br, "up"]);
        }
        sh(&["ip", "netns", "add", &ns]);
        self.extra.push(ns.clone());
        let port = format!("p{name}");
        sh(&[
            "ip", "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
            "netns", &hub,
        ]);
        sh(&["ip", "-n", &hub, "link", "set", &port, "master", br, "up"]);
        sh(&["ip", "-n", &ns, "addr", "add", addr, "dev", "eth0"]);
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        sh(&["ip", "-n", &ns, "route", "add", "default", "via", gw]);
        ns
    }

    /// Whether the helper process is still running.
    pub fn helper_alive(&mut self) -> bool {
        self.helper
            .as_mut()
            .is_some_and(|h| h.try_wait().ok().flatten().is_none())
    }

    /// The lab log so far (helper, servers, spawned binaries).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Start the binary in a namespace given by full name; ended on drop.
    pub fn spawn_in(&mut self, ns: &str, args: &[&str], stdout: Stdio) -> u32 {
        self.spawn_in_env(ns, args, stdout, &[])
    }

    /// Like [`Lab::spawn_in`], with environment variables set.
    pub fn spawn_in_env(
        &mut self,
        ns: &str,
        args: &[&str],
        stdout: Stdio,
        env: &[(&str, String)],
    ) -> u32 {
        let c = Command::new("ip")
            .args(["netns", "exec", ns, BIN])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(stdout)
            .stderr(self.log_file())
            .spawn()
            .expect("spawn");
        let pid = c.id();
        self.children.push(c);
        pid
    }

    /// Start another program in a namespace given by full name, its output
    /// to `out`; ended on drop.
    pub fn spawn_program(&mut self, ns: &str, program: &str, args: &[&str], out: &Path) -> u32 {
        let f = std::fs::File::create(out).expect("program log");
        let c = Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .stdout(f.try_clone().expect("log"))
            .stderr(f)
            .spawn()
            .expect("spawn");
        let pid = c.id();
        self.children.push(c);
        pid
    }

    /// Let the lab own `c`: ended on drop (also when the test fails) or
    /// by [`Lab::kill_child`] with the PID returned.
    pub fn adopt(&mut self, c: Child) -> u32 {
        let pid = c.id();
        self.children.push(c);
        pid
    }

    /// End one child started by the lab (SIGKILL) and reap it.
    pub fn kill_child(&mut self, pid: u32) {
        if let Some(c) = self.children.iter_mut().find(|c| c.id() == pid) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Wait for a child started with `spawn_in`/`spawn_bin` to exit.
    pub fn wait_child(&mut self, pid: u32, limit: Duration) -> Option<std::process::ExitStatus> {
        let t = Instant::now();
        let c = self.children.iter_mut().find(|c| c.id() == pid)?;
        loop {
            if let Some(st) = c.try_wait().ok().flatten() {
                return Some(st);
            }
            if t.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The binary in a namespace, not started.
    pub fn command(&self, ns: &str, args: &[&str]) -> Command {
        self.exec(ns, args)
    }

    /// Start the binary in a namespace; ended on drop. Its log goes to the
    /// lab's log, printed when the test fails.
    pub fn spawn_bin(&mut self, ns: &str, args: &[&str]) -> u32 {
        let c = self
            .exec(ns, args)
            .stdout(Stdio::null())
            .stderr(self.log_file())
            .spawn()
            .expect("spawn");
        let pid = c.id();
        self.children.push(c);
        std::thread::sleep(Duration::from_millis(200));
        pid
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(ns), BIN]).args(args);
        c
    }

    /// The lab peer (`examples/lab-peer.rs`) in `ns`.
    fn peer(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(ns)])
            .arg(example("lab-peer"))
            .args(args);
        c
    }

    /// Start a lab-peer server in `ns` on `addr`.
    pub fn server(&mut self, ns: &str, addr: &str) {
        let c = self
            .peer(ns, &["server", "--listen", addr])
            .stderr(Stdio::null())
            .spawn()
            .expect("server");
        self.children.push(c);
        std::thread::sleep(Duration::from_millis(200));
    }

    /// Start our helper on the router (no-op for the kernel helper).
    pub fn start_helper(&mut self, extra: &[&str]) {
        if self.nat == Nat::Kernel {
            return;
        }
        let _ = std::fs::remove_file(&self.socket);
        let mut args: Vec<String> = ["helper", "--wan", "wan0", "--lan", "lan0", "--socket"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(self.socket.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        self.helper_args = args.clone();
        self.respawn_helper();
    }

    /// Run the helper on the router with `extra`, which must make it refuse
    /// to start: its standard error.
    pub fn helper_refused(&self, extra: &[&str]) -> String {
        let out = self
            .command("rtr", &["helper", "--wan", "wan0"])
            .args(extra)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{extra:?}: started: {err}");
        err
    }

    /// Start the helper again with the same arguments.
    pub fn respawn_helper(&mut self) {
        let args: Vec<&str> = self.helper_args.iter().map(|s| s.as_str()).collect();
        let child = self
            .exec("rtr", &args)
            .envs(self.helper_env.iter().map(|(k, v)| (k, v)))
            .stderr(self.log_file())
            .spawn()
            .expect("helper");
        self.helper = Some(child);
        let t = Instant::now();
        while !self.socket.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "helper did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL the helper (by PID) and reap it.
    pub fn kill_helper(&mut self) {
        let mut h = self.helper.take().expect("helper running");
        h.kill().unwrap();
        h.wait().unwrap();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Run a lab-peer client to completion; its JSON report.
    pub fn client(&self, ns: &str, args: &[&str]) -> serde_json::Value {
        let out = self
            .spawn_client(ns, args)
            .wait_with_output()
            .expect("client");
        parse_report(&out)
    }

    /// One call from LAN host 192.168.1.`host` to server A: `packets` GRE
    /// packets, torn down without lingering; its report.
    pub fn one_call(&self, host: u8, packets: u32) -> serde_json::Value {
        let (from, packets) = (format!("192.168.1.{host}"), packets.to_string());
        let args = ["--server", SERVER_A, "--from", &from, "--packets", &packets];
        self.client("lan", &[&args[..], &["--linger", "0"]].concat())
    }

    pub fn spawn_client(&self, ns: &str, args: &[&str]) -> Child {
        let mut a = vec!["client"];
        a.extend_from_slice(args);
        self.peer(ns, &a)
            .stdout(Stdio::piped())
            .spawn()
            .expect("client")
    }

    /// The helper's status document.
    pub fn status(&self) -> serde_json::Value {
        let out = self
            .exec(
                "rtr",
                &[
                    "status",
                    "--json",
                    "--socket",
                    &self.socket.display().to_string(),
                ],
            )
            .output()
            .expect("status");
        assert!(
            out.status.success(),
            "status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }
}

pub fn parse_report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client report unreadable ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every GRE packet came back to the host that sent it, with its own Call
/// ID, and no call failed.
pub fn assert_exact(r: &serde_json::Value) {
    assert_eq!(r["errors"], 0, "a call failed: {r:#}");
    assert_eq!(r["misdelivered"], 0, "GRE misdelivered: {r:#}");
    assert!(r["sent"].as_u64().unwrap() > 0, "nothing sent: {r:#}");
    assert_eq!(r["received"], r["sent"], "GRE lost: {r:#}");
}

/// Whether the run was exact (for the kernel comparison).
pub fn exact(r: &serde_json::Value) -> bool {
    r["errors"] == 0
        && r["misdelivered"] == 0
        && r["sent"].as_u64().unwrap_or(0) > 0
        && r["received"] == r["sent"]
}

/// Remove what in `dir` is named `{prefix}-...{suffix}` (directories with
/// their contents).
fn remove_own(dir: &Path, prefix: &str, suffix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mine = format!("{prefix}-");
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(&mine) || !name.ends_with(suffix) {
            continue;
        }
        if e.path().is_dir() {
            let _ = std::fs::remove_dir_all(e.path());
        } else {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(log) = std::fs::read_to_string(self.log_path()) {
                eprintln!(
                    "---- lab log: helper, servers ({}) ----\n{log}",
                    self.prefix
                );
            }
        }
        let _ = std::fs::remove_file(self.log_path());
        // Files the tests wrote for this lab (configs, secrets, DNS files).
        remove_own(&std::env::temp_dir(), &self.prefix, "");
        if let Some(mut h) = self.helper.take() {
            let _ = h.kill();
            let _ = h.wait();
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
        // The control sockets of the servers and clients the tests started
        // (`/run/{prefix}-srv.sock` and the like): a killed process leaves
        // its socket file behind.
        remove_own(Path::new("/run"), &self.prefix, ".sock");
        let mut all: Vec<String> = ["lan", "rtr", "net"].iter().map(|n| self.ns(n)).collect();
        all.append(&mut self.extra);
        for ns in all {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

impl Lab {
    fn log_file(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("lab log")
    }

    fn log_path(&self) -> PathBuf {
        std::env::temp_dir().join(format!("{}-helper.log", self.prefix))
    }

    pub fn helper_pid(&self) -> u32 {
        self.helper.as_ref().expect("helper").id()
    }

    pub fn wait_helper(&mut self) {
        let mut h = self.helper.take().expect("helper");
        let t = Instant::now();
        loop {
            if h.try_wait().unwrap().is_some() {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "helper did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Context switches of a live process, over all its threads.
pub fn context_switches(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap_or_else(|e| panic!("process {pid} is gone: {e}"));
    tasks
        .map(|t| {
            let status = std::fs::read_to_string(t.unwrap().path().join("status")).unwrap();
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
                .sum::<u64>()
        })
        .sum()
}
