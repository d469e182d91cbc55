//! The model: every option, every default, every check, warnings, Debug.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::value::{EXPECT_NAS_ID, EXPECT_RADIUS_SERVER, EXPECT_SECRET};
use super::*;

pub(super) const F: &str = "/etc/config/pptp-passthrough";

pub(super) fn ok(text: &str) -> Config {
    parse(F, text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn err(text: &str) -> String {
    match parse(F, text) {
        Ok(c) => panic!("parsed: {c:?}"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) const CLIENT: &str = "config client 'office'\n\toption server 'vpn.example.com'\n\
     \toption username 'alice'\n\toption password 'hunter2'\n";

/// A helper section with one extra line (line 2).
pub(super) fn helper(line: &str) -> String {
    format!("config helper 'passthrough'\n\t{line}\n")
}

pub(super) fn server(line: &str) -> String {
    format!("config server 'server'\n\t{line}\n")
}

pub(super) fn client(line: &str) -> String {
    format!("{CLIENT}\t{line}\n")
}

#[test]
fn helper_every_option() {
    let c = ok(
        "config helper 'passthrough'\n\toption enabled 'yes'\n\toption wan 'eth1'\n\
         \tlist lan 'br-lan'\n\tlist lan 'wlan0'\n\toption queue_num '7'\n\
         \toption backend 'xtables'\n\toption idle_timeout '60'\n\toption element_timeout '600'\n\
         \toption gre_guard 'raw'\n",
    );
    let h = c.helper.unwrap();
    assert_eq!(
        h,
        HelperCfg {
            enabled: true,
            wan: Some("eth1".into()),
            lan: vec!["br-lan".into(), "wlan0".into()],
            queue_num: 7,
            backend: Backend::Xtables,
            idle_timeout: secs(60),
            element_timeout: secs(600),
            gre_guard: GreGuard::Raw,
        }
    );
    for (v, want) in [
        ("auto", GreGuard::Auto),
        ("flow", GreGuard::Flow),
        ("raw", GreGuard::Raw),
    ] {
        let h = ok(&helper(&format!("option gre_guard {v}")))
            .helper
            .unwrap();
        assert_eq!(h.gre_guard, want);
    }
    assert_eq!(
        ok(&helper("option wan eth1")).helper.unwrap().gre_guard,
        GreGuard::Auto
    );
    assert_eq!(
        ok(&helper("option backend nft")).helper.unwrap().backend,
        Backend::Nft
    );
    assert_eq!(
        ok(&helper("option backend auto")).helper.unwrap().backend,
        Backend::Auto
    );
    // The single-value form works for list options.
    assert_eq!(
        ok(&helper("option lan br-lan")).helper.unwrap().lan,
        ["br-lan"]
    );
}

#[test]
fn server_every_option() {
    let c = ok(
        "config server 'server'\n\toption enabled 'on'\n\tlist listen '192.0.2.1'\n\
         \tlist listen '192.0.2.2'\n\toption chap_secrets '/etc/pptp/secrets'\n\
         \toption local_ip '10.9.0.1'\n\toption pool_start '10.9.0.200'\n\
         \toption pool_end '10.9.1.20'\n\tlist dns '1.1.1.1'\n\tlist dns '8.8.8.8'\n\
         \tlist wins '10.0.0.3'\n\toption proxy_arp '1'\n\toption mss_clamp 'off'\n\toption data_path 'kernel'\n\
         \toption max_sessions '7'\n\toption max_pending_auth '3'\n\toption auth_fail_limit '2'\n\
         \toption lockout '30'\n\toption idle_timeout '900'\n\tlist auth 'mschapv2'\n\
         \tlist auth 'mschapv1'\n\tlist auth 'chap'\n\tlist auth 'pap'\n\toption mppe 'require'\n\
         \tlist mppe_bits '128'\n\tlist mppe_bits '56'\n\tlist mppe_bits '40'\n\
         \toption mppe_stateful 'true'\n\toption ipv6 '0'\n\toption ipv6_prefix '2001:db8:1::/48'\n\
         \tlist ipv6_dns '2001:db8::53'\n",
    );
    let s = c.server.unwrap();
    assert_eq!(
        s,
        ServerCfg {
            enabled: true,
            listen: vec![ip("192.0.2.1"), ip("192.0.2.2")],
            chap_secrets: PathBuf::from("/etc/pptp/secrets"),
            local_ip: Some(ip("10.9.0.1")),
            pool: Some(IpPool {
                start: ip("10.9.0.200"),
                end: ip("10.9.1.20")
            }),
            dns: vec![ip("1.1.1.1"), ip("8.8.8.8")],
            wins: vec![ip("10.0.0.3")],
            proxy_arp: true,
            mss_clamp: false,
            data_path: DataPath::Kernel,
            max_sessions: 7,
            max_pending_auth: 3,
            auth_fail_limit: 2,
            lockout: secs(30),
            idle_timeout: Some(secs(900)),
            ipv6: false,
            ipv6_prefix: Ipv6Prefix::new("2001:db8:1::".parse().unwrap(), 48),
            ipv6_dns: vec!["2001:db8::53".parse().unwrap()],
            radius: RadiusCfg::default(),
            security: Security {
                auth: vec![
                    AuthMethod::MsChapV2,
                    AuthMethod::MsChapV1,
                    AuthMethod::Chap,
                    AuthMethod::Pap
                ],
                mppe: Mppe::Require,
                mppe_bits: vec![KeyBits::B128, KeyBits::B56, KeyBits::B40],
                mppe_stateful: true,
            },
        }
    );
    // A pool may cross /24 boundaries; its size counts both ends.
    assert_eq!(s.pool.unwrap().size(), 77);
    assert!(s.pool.unwrap().contains(ip("10.9.1.0")));
    let o = ok(&server("option mppe optional")).server.unwrap();
    assert_eq!(o.security.mppe, Mppe::Optional);
    let n = ok(&server("option mppe none")).server.unwrap();
    assert_eq!(n.security.mppe, Mppe::None);
    let t = ok(&server("option data_path tun")).server.unwrap();
    assert_eq!(t.data_path, DataPath::Tun);
    assert!(err(&server("option data_path fast")).contains("'tun', 'kernel' or 'auto'"));
    let i = ok(&server("option idle_timeout 0")).server.unwrap();
    assert_eq!(i.idle_timeout, None);
}

#[test]
fn client_every_option() {
    let c = ok(&format!(
        "{CLIENT}\tlist auth 'mschapv1'\n\toption mppe 'optional'\n\tlist mppe_bits '40'\n\
         \toption mppe_stateful '1'\n\toption routes 'prefixes'\n\tlist route '10.0.0.0/8'\n\
         \tlist route '192.168.5.0/24'\n\toption dns_file '/tmp/resolv.conf.d/office'\n\
         \toption autoconnect '1'\n\toption reconnect 'no'\n\toption reconnect_min '2'\n\
         \toption reconnect_max '60'\n\toption mtu '1300'\n\tlist route '2001:db8:5::/48'\n\
         \toption ipv6 'off'\n\toption data_path 'auto'\n"
    ));
    let p = |s: &str| {
        let (a, l) = s.split_once('/').unwrap();
        Ipv4Prefix::new(ip(a), l.parse().unwrap()).unwrap()
    };
    assert_eq!(
        c.clients,
        vec![ClientCfg {
            name: "office".into(),
            server: Host::Name("vpn.example.com".into()),
            username: "alice".into(),
            password: "hunter2".into(),
            security: Security {
                auth: vec![AuthMethod::MsChapV1],
                mppe: Mppe::Optional,
                mppe_bits: vec![KeyBits::B40],
                mppe_stateful: true,
            },
            routes: Routes::Prefixes(vec![
                RoutePrefix::V4(p("10.0.0.0/8")),
                RoutePrefix::V4(p("192.168.5.0/24")),
                RoutePrefix::V6(Ipv6Prefix::new("2001:db8:5::".parse().unwrap(), 48).unwrap()),
            ]),
            dns_file: Some(PathBuf::from("/tmp/resolv.conf.d/office")),
            autoconnect: true,
            reconnect: false,
            reconnect_min: secs(2),
            reconnect_max: secs(60),
            mtu: 1300,
            ipv6: false,
            data_path: DataPath::Auto,
        }]
    );
    assert_eq!(c.client("office").unwrap().username, "alice");
    assert!(c.client("home").is_none());
    let d = ok(&client("option routes default"));
    assert_eq!(d.clients[0].routes, Routes::Default);
    let n = ok(&client("option server 192.0.2.7"));
    assert_eq!(n.clients[0].server, Host::Ip(ip("192.0.2.7")));
    assert_eq!(n.clients[0].server.to_string(), "192.0.2.7");
    let two = ok(&format!("{CLIENT}{}", CLIENT.replace("office", "home")));
    assert_eq!(two.clients.len(), 2);
    assert_eq!(two.clients[1].name, "home");
}

#[test]
fn defaults() {
    assert_eq!(ok(""), Config::default());
    assert_eq!(
        ok("config helper 'passthrough'\n").helper,
        Some(HelperCfg::default())
    );
    assert_eq!(
        ok("config server 'server'\n").server,
        Some(ServerCfg::default())
    );
    let h = HelperCfg::default();
    assert!(!h.enabled && h.wan.is_none() && h.lan.is_empty());
    assert_eq!((h.queue_num, h.backend), (1723, Backend::Auto));
    assert_eq!(
        (h.idle_timeout, h.element_timeout),
        (secs(300), secs(18000))
    );
    let s = ServerCfg::default();
    assert!(!s.enabled && !s.proxy_arp && s.mss_clamp);
    assert_eq!(s.listen, [Ipv4Addr::UNSPECIFIED]);
    assert_eq!(s.chap_secrets, Path::new("/etc/ppp/chap-secrets"));
    assert_eq!((s.local_ip, s.pool), (None, None));
    assert!(s.dns.is_empty() && s.wins.is_empty());
    assert_eq!(
        (s.max_sessions, s.max_pending_auth, s.auth_fail_limit),
        (100, 16, 5)
    );
    assert_eq!((s.lockout, s.idle_timeout), (secs(60), None));
    let sec = Security::default();
    assert_eq!(sec.auth, [AuthMethod::MsChapV2]);
    assert_eq!(sec.mppe, Mppe::Require128);
    assert_eq!(sec.mppe_bits, [KeyBits::B128]);
    assert!(!sec.mppe_stateful);
    let c = ok(CLIENT).clients.remove(0);
    let expect = ClientCfg {
        name: "office".into(),
        server: Host::Name("vpn.example.com".into()),
        username: "alice".into(),
        password: "hunter2".into(),
        ..ClientCfg::default()
    };
    assert_eq!(c, expect);
    assert_eq!(c.security, Security::default());
    assert_eq!(c.routes, Routes::None);
    assert!(c.dns_file.is_none() && !c.autoconnect && c.reconnect);
    assert_eq!(
        (c.reconnect_min, c.reconnect_max, c.mtu),
        (secs(5), secs(300), 1400)
    );
}

#[test]
fn default_config_text_parses_to_defaults() {
    let c = ok(DEFAULT_CONFIG);
    assert_eq!(
        c,
        Config {
            // The one value that is not a default: OpenWrt's logical WAN.
            helper: Some(HelperCfg {
                wan: Some("wan".into()),
                ..HelperCfg::default()
            }),
            server: Some(ServerCfg::default()),
            clients: Vec::new(),
            users: Vec::new(),
        }
    );
    assert!(c.warnings().is_empty());
    // Uncommenting the examples gives a valid file whose unset options are
    // the defaults (`list route` goes with routes 'prefixes' only).
    let on: String = DEFAULT_CONFIG
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let cmd = ["#config ", "#option ", "#list "]
                .iter()
                .any(|p| t.starts_with(p))
                && !t.starts_with("#list route ");
            if cmd {
                l.replacen('#', "", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = ok(&on);
    let h = c.helper.unwrap();
    assert_eq!(
        (h.wan.as_deref(), h.lan.as_slice()),
        (Some("wan"), &["lan".to_string()][..])
    );
    let s = c.server.unwrap();
    assert_eq!(s.local_ip, Some(ip("192.168.200.1")));
    let cl = &c.clients[0];
    assert_eq!(cl.name, "office");
    assert_eq!(cl.security, Security::default());
    assert_eq!(
        (cl.reconnect_min, cl.reconnect_max, cl.mtu),
        (secs(5), secs(300), 1400)
    );
    // Every option of the model appears in the shipped file.
    for opt in [
        "enabled",
        "wan",
        "lan",
        "queue_num",
        "backend",
        "idle_timeout",
        "element_timeout",
        "listen",
        "chap_secrets",
        "local_ip",
        "pool_start",
        "pool_end",
        "dns",
        "wins",
        "proxy_arp",
        "mss_clamp",
        "data_path",
        "ipv6",
        "ipv6_prefix",
        "ipv6_dns",
        "radius_server",
        "radius_secret",
        "radius_accounting",
        "radius_interim",
        "radius_nas_identifier",
        "radius_fallback",
        "radius_require_message_authenticator",
        "radius_dae_port",
        "radius_dae_client",
        "max_sessions",
        "max_pending_auth",
        "auth_fail_limit",
        "lockout",
        "auth",
        "mppe",
        "mppe_bits",
        "mppe_stateful",
        "server",
        "username",
        "password",
        "routes",
        "route",
        "dns_file",
        "autoconnect",
        "reconnect",
        "reconnect_min",
        "reconnect_max",
        "mtu",
    ] {
        assert!(
            DEFAULT_CONFIG.contains(&format!("option {opt} "))
                || DEFAULT_CONFIG.contains(&format!("list {opt} ")),
            "{opt}"
        );
    }
}

#[test]
fn readme_documents_every_option_of_the_default_config() {
    let readme = include_str!("../../README.md");
    let mut missing = Vec::new();
    for line in super::DEFAULT_CONFIG.lines() {
        let l = line.trim().trim_start_matches('#');
        let mut w = l.split_whitespace();
        if let (Some("option" | "list"), Some(name)) = (w.next(), w.next()) {
            if !readme.contains(&format!("`{name}`")) && !readme.contains(&format!("`list {name}`"))
            {
                missing.push(name.to_string());
            }
        }
    }
    assert!(missing.is_empty(), "README lacks {missing:?}");
}

#[test]
fn user_sections_are_the_servers_logins() {
    let c = ok(
        "config user\n\toption name 'alice'\n\toption password 'a b'\n\n\
         config user 'bob'\n\toption name 'bob'\n\toption password 'x'\n\
         \toption address '192.168.200.7'\n\toption enabled '0'\n",
    );
    assert_eq!(c.users.len(), 2);
    let (a, b) = (&c.users[0], &c.users[1]);
    assert_eq!(
        (a.name.as_str(), a.password.as_str(), a.address, a.enabled),
        ("alice", "a b", None, true)
    );
    assert_eq!(
        (b.name.as_str(), b.address, b.enabled),
        ("bob", Some(ip("192.168.200.7")), false)
    );
    // The password never reaches a log.
    assert!(!format!("{a:?}").contains("a b"), "{a:?}");
    assert!(format!("{a:?}").contains("<redacted>"));
}

#[test]
fn user_sections_are_checked() {
    let two = "config user\n\toption name 'alice'\n\toption password 'x'\n\n\
               config user\n\toption name 'alice'\n\toption password 'y'\n";
    assert_eq!(
        err(two),
        format!("{F}:6: user section: user \"alice\" is already defined on line 2")
    );
    assert!(err("config user\n\toption password 'x'\n").contains("option 'name' is required"));
    assert!(err("config user\n\toption name 'a'\n").contains("option 'password' is required"));
    let e = err("config user\n\toption name 'a'\n\toption password 'x'\n\toption secret 'y'\n");
    assert!(
        e.contains("expected one of: enabled, name, password, address"),
        "{e}"
    );
    let e = err("config user\n\toption name 'a'\n\toption password 'x'\n\toption address 'z'\n");
    assert!(e.contains("an IPv4 address"), "{e}");
}

#[test]
fn radius_options() {
    let c = ok(&server(
        "list radius_server '192.0.2.5'\n\tlist radius_server '192.0.2.6:11812:11813'\n\
         \toption radius_secret 'a b c'\n\toption radius_accounting '0'\n\
         \toption radius_interim '300'\n\toption radius_nas_identifier 'office gw'\n\
         \toption radius_fallback '1'\n\toption radius_require_message_authenticator '0'\n\
         \toption radius_dae_port '3799'\n\tlist radius_dae_client '192.0.2.5'",
    ));
    let r = c.server.as_ref().unwrap().radius.clone();
    assert_eq!(
        r.servers,
        vec![
            RadiusServer {
                addr: ip("192.0.2.5"),
                auth_port: 1812,
                acct_port: 1813
            },
            RadiusServer {
                addr: ip("192.0.2.6"),
                auth_port: 11812,
                acct_port: 11813
            },
        ]
    );
    assert_eq!(r.secret, "a b c");
    assert!(!r.accounting && r.fallback && !r.require_message_authenticator);
    assert_eq!(r.interim, Some(secs(300)));
    assert_eq!(r.nas_identifier, "office gw");
    assert_eq!(
        (r.dae_port, r.dae_clients.clone()),
        (3799, vec![ip("192.0.2.5")])
    );
    // The secret never reaches Debug output; both risks are warned about.
    assert!(!format!("{r:?}").contains("a b c"));
    let w = c.warnings();
    assert!(w.iter().any(|x| x.contains("BlastRADIUS")), "{w:?}");
    assert!(w.iter().any(|x| x.contains("radius_fallback")), "{w:?}");
    // Defaults: off, accounting and Message-Authenticator on.
    let d = RadiusCfg::default();
    assert!(d.servers.is_empty() && d.accounting && d.require_message_authenticator);
    assert_eq!(
        (d.dae_port, d.interim, d.nas_identifier.as_str()),
        (0, None, "pptp-passthrough")
    );
    // Servers need the secret; a DAE port needs its clients.
    assert!(err(&server("list radius_server '192.0.2.5'")).contains("radius_secret"));
    assert!(err(&server("option radius_dae_port '3799'")).contains("radius_dae_client"));
    for bad in [
        "192.0.2.5:0",
        "192.0.2.5:1:2:3",
        "vpn.example.com",
        "192.0.2.5:x",
    ] {
        assert!(
            err(&server(&format!("list radius_server '{bad}'"))).contains(EXPECT_RADIUS_SERVER),
            "{bad}"
        );
    }
    assert!(err(&server("option radius_secret ''")).contains(EXPECT_SECRET));
    assert!(err(&server("option radius_nas_identifier ''")).contains(EXPECT_NAS_ID));
}
