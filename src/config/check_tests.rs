//! The model's checks: value forms, ranges, unknown names, duplicates.

use super::model::Ipv4Prefix;
use super::model_tests::{F, client, err, helper, ip, ok, server};
use super::value::*;

#[test]
fn bool_spellings() {
    for (s, b) in [
        ("1", true),
        ("0", false),
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
        ("ON", true),
        ("False", false),
    ] {
        let h = ok(&helper(&format!("option enabled '{s}'\n\toption wan eth1")));
        assert_eq!(h.helper.unwrap().enabled, b, "{s}");
    }
    assert_eq!(
        err(&helper("option enabled 2")),
        format!(
            "{F}:2: option 'enabled': expected a boolean ('1', '0', 'true', 'false', 'yes', \
             'no', 'on' or 'off'), found \"2\""
        )
    );
    assert!(err(&helper("option enabled ''")).contains("found \"\""));
    assert!(
        err(&server("option mss_clamp enabled")).starts_with(&format!("{F}:2: option 'mss_clamp'"))
    );
}

/// Each malformed value is reported with its option, value and form.
#[test]
fn value_type_errors() {
    type Section = fn(&str) -> String;
    let cases: &[(Section, &str, &str)] = &[
        (helper, "option queue_num 70000", EXPECT_U16),
        (helper, "option queue_num +5", EXPECT_U16),
        (helper, "option backend iptables", EXPECT_BACKEND),
        (helper, "option gre_guard conntrack", EXPECT_GRE_GUARD),
        (helper, "option idle_timeout 0", EXPECT_SECS_POS),
        (helper, "option element_timeout 5m", EXPECT_SECS_POS),
        (helper, "option wan eth/1", EXPECT_IFNAME),
        (helper, "option wan eth1:1", EXPECT_IFNAME),
        (helper, "list lan 'br lan'", EXPECT_IFNAME),
        (helper, "option wan 0123456789abcdef", EXPECT_IFNAME),
        (helper, "option wan ..", EXPECT_IFNAME),
        (server, "option lockout -1", EXPECT_SECS),
        (server, "option max_sessions abc", EXPECT_U32),
        (server, "option max_pending_auth 4294967296", EXPECT_U32),
        (server, "option auth_fail_limit 1.5", EXPECT_U32),
        (server, "option chap_secrets chap-secrets", EXPECT_PATH),
        (server, "list auth eap", EXPECT_AUTH),
        (server, "list auth MSCHAPV2", EXPECT_AUTH),
        (server, "option mppe required", EXPECT_MPPE),
        (server, "list mppe_bits 64", EXPECT_BITS),
        (server, "option mppe_stateful maybe", EXPECT_BOOL),
        (server, "option proxy_arp x", EXPECT_BOOL),
        (server, "option idle_timeout 1h", EXPECT_SECS),
        (server, "list listen 0.0.0", EXPECT_IPV4),
        (server, "list dns 1.1.1.1.1", EXPECT_IPV4),
        (server, "list wins x", EXPECT_IPV4),
        (server, "option pool_start 10.0.0", EXPECT_IPV4),
        (server, "option pool_end ''", EXPECT_IPV4),
        (client, "option routes all", EXPECT_ROUTES),
        (client, "option mtu 9000", EXPECT_MTU),
        (client, "option mtu 500", EXPECT_MTU),
        (client, "option reconnect_min 0", EXPECT_SECS_POS),
        (client, "option reconnect_max x", EXPECT_SECS_POS),
        (client, "option autoconnect 11", EXPECT_BOOL),
        (client, "option reconnect y", EXPECT_BOOL),
        (client, "option dns_file ''", EXPECT_PATH),
        (client, "option server bad_name", EXPECT_HOST),
        (client, "option server 300.1.1.1", EXPECT_HOST),
        (client, "option server -vpn.example.com", EXPECT_HOST),
        (client, "option server a..b", EXPECT_HOST),
        (client, "option username ''", EXPECT_USER),
        (server, "option ipv6 maybe", EXPECT_BOOL),
        (
            server,
            "option ipv6_prefix 2001:db8::/80",
            EXPECT_PREFIX6_POOL,
        ),
        (
            server,
            "option ipv6_prefix 2001:db8::/16",
            EXPECT_PREFIX6_POOL,
        ),
        (
            server,
            "option ipv6_prefix 2001:db8::1/48",
            EXPECT_PREFIX6_POOL,
        ),
        (server, "option ipv6_prefix 10.0.0.0/8", EXPECT_PREFIX6_POOL),
        (server, "list ipv6_dns 10.0.0.1", EXPECT_IPV6),
        (client, "list route 2001:db8::1/32", EXPECT_ROUTE),
        (client, "list route 2001:db8::/129", EXPECT_ROUTE),
        (client, "option ipv6 x", EXPECT_BOOL),
    ];
    for (section, line, expected) in cases {
        let text = section(line);
        let mut words = line.splitn(3, ' ');
        let (opt, value) = (
            words.nth(1).unwrap(),
            words.next().unwrap().trim_matches('\''),
        );
        let n = text.lines().count();
        assert_eq!(
            err(&text),
            format!("{F}:{n}: option '{opt}': expected {expected}, found {value:?}"),
            "{text}"
        );
    }
    assert!(EXPECT_U16.contains("0 to 65535") && EXPECT_MTU.contains("576 to 1500"));
    ok(&client("option server vpn.example.com."));
    ok(&client("option server localhost"));
    ok(&client(&format!(
        "option server {}",
        vec!["a".repeat(63); 3].join(".")
    )));
    assert!(err(&client(&format!("option server {}", "a".repeat(64)))).contains("'server'"));
    ok(&helper("option wan 0123456789abcde"));
    ok(&helper("option wan wan_6"));
}

#[test]
fn ipv4_and_prefix_validation() {
    for bad in [
        "192.168.1",
        "1.2.3.4.5",
        "01.2.3.4",
        "256.0.0.1",
        "1.2.3.4/32",
        " 1.2.3.4",
        "::1",
    ] {
        assert_eq!(
            err(&server(&format!("option local_ip '{bad}'"))),
            format!("{F}:2: option 'local_ip': expected an IPv4 address a.b.c.d, found {bad:?}")
        );
    }
    let route = |p: &str| format!("option routes prefixes\n\tlist route '{p}'");
    for good in ["10.0.0.0/8", "0.0.0.0/0", "192.0.2.1/32", "172.16.0.0/12"] {
        ok(&client(&route(good)));
    }
    for bad in [
        "10.0.0.1/8",
        "10.0.0.0/33",
        "10.0.0.0",
        "10.0.0.0/",
        "/8",
        "10.0.0.0/+8",
        "10.0.0.0/8/8",
    ] {
        assert_eq!(
            err(&client(&route(bad))),
            format!("{F}:6: option 'route': expected {EXPECT_ROUTE}, found {bad:?}")
        );
    }
    let p = Ipv4Prefix::new(ip("10.1.0.0"), 16).unwrap();
    assert_eq!(
        (p.addr(), p.prefix_len(), p.to_string()),
        (ip("10.1.0.0"), 16, "10.1.0.0/16".into())
    );
    assert!(Ipv4Prefix::new(ip("10.1.0.0"), 15).is_none());
}

#[test]
fn server_range_and_count_checks() {
    let base = "config server 'server'\n";
    assert_eq!(
        err(&format!(
            "{base}\toption pool_start 10.0.0.50\n\toption pool_end 10.0.0.10\n"
        )),
        format!(
            "{F}:3: server section: expected pool_start <= pool_end, found 10.0.0.50 > 10.0.0.10"
        )
    );
    let one = ok(&format!(
        "{base}\toption pool_start 10.0.0.5\n\toption pool_end 10.0.0.5\n"
    ));
    assert_eq!(one.server.unwrap().pool.unwrap().size(), 1);
    assert_eq!(
        err(&format!("{base}\n\toption pool_start 10.0.0.5\n")),
        format!("{F}:3: server section: option 'pool_end' is required with pool_start")
    );
    assert_eq!(
        err(&format!("{base}\toption pool_end 10.0.0.5\n")),
        format!("{F}:2: server section: option 'pool_start' is required with pool_end")
    );
    assert_eq!(
        err(&format!(
            "{base}\toption local_ip 10.0.0.7\n\toption pool_start 10.0.0.5\n\toption pool_end 10.0.0.9\n"
        )),
        format!(
            "{F}:2: server section: local_ip 10.0.0.7 lies in the pool 10.0.0.5-10.0.0.9, \
             expected an address outside it"
        )
    );
    assert_eq!(
        err(&format!("{base}\toption enabled 1\n")),
        format!("{F}:1: server section: option 'local_ip' is required when enabled")
    );
    assert_eq!(
        err(&format!(
            "{base}\toption enabled 1\n\toption local_ip 10.0.0.1\n"
        )),
        format!("{F}:1: server section: option 'pool_start' is required when enabled")
    );
    assert_eq!(
        err(&format!(
            "{base}\tlist dns 1.1.1.1\n\tlist dns 1.0.0.1\n\tlist dns 9.9.9.9\n"
        )),
        format!("{F}:2: server section: 'list dns': expected at most 2 addresses, found 3")
    );
    assert_eq!(
        err(&format!(
            "{base}\tlist wins 1.1.1.1\n\tlist wins 1.0.0.1\n\tlist wins 9.9.9.9\n"
        )),
        format!("{F}:2: server section: 'list wins': expected at most 2 addresses, found 3")
    );
    assert_eq!(
        err(&format!(
            "{base}\tlist ipv6_dns 2001:db8::1\n\tlist ipv6_dns 2001:db8::2\n\
             \tlist ipv6_dns 2001:db8::3\n\tlist ipv6_dns 2001:db8::4\n"
        )),
        format!("{F}:2: server section: 'list ipv6_dns': expected at most 3 addresses, found 4")
    );
    // Repeats are dropped before counting.
    let d = ok(&format!(
        "{base}\tlist dns 1.1.1.1\n\tlist dns 1.1.1.1\n\tlist dns 8.8.8.8\n"
    ));
    assert_eq!(d.server.unwrap().dns, [ip("1.1.1.1"), ip("8.8.8.8")]);
    assert_eq!(
        err(&format!(
            "{base}\tlist listen 0.0.0.0\n\tlist listen 192.0.2.1\n"
        )),
        format!(
            "{F}:2: server section: 'list listen': 0.0.0.0 already covers every address, \
             expected it alone"
        )
    );
}

#[test]
fn helper_checks() {
    assert_eq!(
        err("config helper 'passthrough'\n\toption enabled 1\n"),
        format!("{F}:1: helper section: option 'wan' is required when enabled")
    );
    assert_eq!(
        err(&helper(
            "option wan eth1\n\tlist lan br-lan\n\tlist lan eth1"
        )),
        format!(
            "{F}:3: helper section: interface 'eth1' is both 'wan' and 'lan', expected \
             different interfaces"
        )
    );
    assert_eq!(
        err(&helper("list enabled 1")),
        format!(
            "{F}:2: helper section: expected 'option enabled VALUE', found 'list enabled' (it takes one value)"
        )
    );
}

#[test]
fn unknown_sections_and_options() {
    assert_eq!(
        err("config helper\n\nconfig sever 'server'\n"),
        format!("{F}:3: unknown section type 'sever', expected 'helper', 'server' or 'client'")
    );
    assert_eq!(
        err(&helper("option wna eth1")),
        format!(
            "{F}:2: unknown option 'wna' in helper section, expected one of: enabled, wan, lan, \
             queue_num, backend, idle_timeout, element_timeout, gre_guard"
        )
    );
    let e = err(&format!(
        "{}\n\n\toption pool eth1",
        server("option enabled 0")
    ));
    assert!(
        e.starts_with(&format!(
            "{F}:5: unknown option 'pool' in server section, expected one of: enabled, listen,"
        )),
        "{e}"
    );
    let e = err(&client("option route_mode x"));
    assert!(
        e.starts_with(&format!(
            "{F}:5: unknown option 'route_mode' in client 'office', expected one of: server,"
        )),
        "{e}"
    );
    // A server option is no client option.
    assert!(err(&client("option max_sessions 1")).contains("unknown option 'max_sessions'"));
}

#[test]
fn duplicate_and_unnamed_sections() {
    assert_eq!(
        err("config helper 'a'\nconfig helper 'b'\n"),
        format!(
            "{F}:2: helper section: expected one 'config helper' section, found another (the first is at line 1)"
        )
    );
    assert_eq!(
        err("config server\n\nconfig server\n"),
        format!(
            "{F}:3: server section: expected one 'config server' section, found another (the first is at line 1)"
        )
    );
    // Anonymous helper and server are fine.
    assert!(ok("config helper\nconfig server\n").helper.is_some());
    assert_eq!(
        err("config client\n\toption server x\n"),
        format!("{F}:1: client section: expected a profile name, config client 'NAME'")
    );
}
