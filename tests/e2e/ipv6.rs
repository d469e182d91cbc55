//! IPv6 inside the tunnel (RFC 5072): this project's client dials this
//! project's server through the helper; IPV6CP gives both ends link-local
//! addresses, the server advertises a /64 of its prefix pool with a DNS
//! server, the client forms its address by SLAAC, and IPv6 pings pass both
//! ways. The server's route to the /64 goes with the session.

use std::process::Stdio;
use std::time::Duration;

use super::client::*;
use super::lab::*;

const POOL6: &str = "2001:db8:77::/48";
const DNS6: &str = "2001:db8:77::53";
/// An address of the server's own, reached through the tunnel.
const BEHIND_SERVER: &str = "2001:db8:ffff::1";

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn ipv6_link_local_slaac_dns_and_pings_through_the_tunnel() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let net = lab.ns("net");
    in_ns(
        &net,
        &[
            "ip",
            "addr",
            "add",
            &format!("{BEHIND_SERVER}/128"),
            "dev",
            "lo",
        ],
    );
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    let scfg = server_config(
        &lab,
        &format!("\toption ipv6_prefix '{POOL6}'\n\tlist ipv6_dns '{DNS6}'\n"),
    );
    let srv = lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    let ccfg = client_config(&lab, &["10.98.0.0/24", "2001:db8:ffff::/48"]);
    let lan = lab.ns("lan");
    let cli = lab.spawn_in(
        &lan,
        &["run", "--config", &ccfg, "--socket", &cli_sock],
        Stdio::null(),
    );
    wait_until("IPv6 address by SLAAC", Duration::from_secs(30), || {
        !client_state(&lan, &cli_sock, "office")["ipv6_addr"].is_null()
    });
    let st = client_state(&lan, &cli_sock, "office");
    let (ll, peer, global) = (
        text(&st["ipv6_link_local"]),
        text(&st["ipv6_peer"]),
        text(&st["ipv6_addr"]),
    );
    assert!(
        ll.starts_with("fe80::") && peer.starts_with("fe80::"),
        "{st}"
    );
    assert_ne!(ll, peer);
    // SLAAC: the first /64 of the pool with the identifier IPV6CP agreed.
    assert!(global.starts_with("2001:db8:77:"), "{st}");
    let low = |a: &str| u128::from(a.parse::<std::net::Ipv6Addr>().unwrap()) as u64;
    assert_eq!(low(&global), low(&ll), "{st}");
    assert_eq!(st["dns6"][0], DNS6, "{st}");
    let dns = std::fs::read_to_string(tmp(&lab, "resolv")).unwrap();
    assert!(dns.contains(&format!("nameserver {DNS6}")), "{dns}");
    assert!(
        dns.contains(&format!("nameserver {TUNNEL_SERVER}")),
        "{dns}"
    );
    // The server reports the session's IPv6.
    let s = status(&net, &srv_sock);
    let row = s["server"]["sessions"][0].clone();
    assert_eq!(row["ipv6_link_local"], ll.as_str(), "{s}");
    assert_eq!(row["ipv6_prefix"], "2001:db8:77::/64", "{s}");
    // Addresses and routes in the kernel.
    let addrs =
        String::from_utf8(in_ns(&lan, &["ip", "-6", "addr", "show", "dev", "pptp-office"]).stdout)
            .unwrap();
    assert!(
        addrs.contains(&format!("{global}/64")) && addrs.contains(&format!("{ll}/64")),
        "{addrs}"
    );
    let routes = String::from_utf8(in_ns(&lan, &["ip", "-6", "route"]).stdout).unwrap();
    assert!(
        routes.contains("2001:db8:ffff::/48 dev pptp-office"),
        "{routes}"
    );
    let sroutes = String::from_utf8(in_ns(&net, &["ip", "-6", "route"]).stdout).unwrap();
    assert!(sroutes.contains("2001:db8:77::/64 dev pptps0"), "{sroutes}");
    // Pings: link-local both ways, global both ways, IPv4 still.
    assert!(
        ping(&lan, &format!("{peer}%pptp-office")),
        "client to server link-local"
    );
    assert!(
        ping(&net, &format!("{ll}%pptps0")),
        "server to client link-local"
    );
    assert!(
        ping(&lan, BEHIND_SERVER),
        "client to the server's global address"
    );
    assert!(ping(&net, &global), "server to the client's SLAAC address");
    assert!(ping(&lan, TUNNEL_SERVER));
    // The session ends: its /64 route goes with it.
    stop_cleanly(&mut lab, cli);
    wait_until("server session ended", Duration::from_secs(10), || {
        status(&net, &srv_sock)["server"]["sessions"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    wait_until("the /64 route removed", Duration::from_secs(5), || {
        let r = String::from_utf8(in_ns(&net, &["ip", "-6", "route"]).stdout).unwrap();
        !r.contains("2001:db8:77::/64")
    });
    stop_cleanly(&mut lab, srv);
}

#[test]
fn a_server_without_ipv6_leaves_the_tunnel_ipv4_only() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    let srv_sock = format!("/run/{}-srv.sock", lab.prefix);
    let cli_sock = format!("/run/{}-cli.sock", lab.prefix);
    let scfg = server_config(&lab, "\toption ipv6 '0'\n");
    lab.spawn_bin("net", &["run", "--config", &scfg, "--socket", &srv_sock]);
    lab.start_helper(&[]);
    let ccfg = client_config(&lab, &["10.98.0.0/24"]);
    let lan = lab.ns("lan");
    lab.spawn_in(
        &lan,
        &["run", "--config", &ccfg, "--socket", &cli_sock],
        Stdio::null(),
    );
    wait_until("connected", Duration::from_secs(20), || {
        client_state(&lan, &cli_sock, "office")["state"] == "connected"
    });
    std::thread::sleep(Duration::from_secs(3));
    let st = client_state(&lan, &cli_sock, "office");
    assert!(
        st["ipv6_link_local"].is_null() && st["ipv6_addr"].is_null(),
        "{st}"
    );
    assert!(ping(&lan, TUNNEL_SERVER));
    assert_eq!(
        client_state(&lan, &cli_sock, "office")["state"],
        "connected"
    );
}
