//! `check connect` against `check listen` through a router configured four
//! ways; each case asserts the exact verdict class and exit code.

use std::process::Stdio;

use super::lab::*;

fn lab(helper: bool, extra_nft: Option<&str>) -> Lab {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    if let Some(rules) = extra_nft {
        lab.nft_load("rtr", rules);
    }
    lab.spawn_bin("net", &["check", "listen", "--bind", SERVER_A]);
    if helper {
        lab.start_helper(&[]);
    }
    lab
}

fn check(lab: &Lab, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "connect", SERVER_A, "--json", "--timeout", "3"];
    args.extend_from_slice(extra);
    let out = lab
        .command("lan", &args)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check output ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

const DROP_GRE: &str = "table ip block {\n chain filt {\n  type filter hook forward priority filter - 20; policy accept;\n  ip protocol gre drop\n }\n}\n";
const REJECT_1723: &str = "table ip block {\n chain filt {\n  type filter hook forward priority filter - 20; policy accept;\n  tcp dport 1723 reject with tcp reset\n }\n}\n";

#[test]
fn check_a_gre_dropped() {
    let lab = lab(true, Some(DROP_GRE));
    let (code, v) = check(&lab, &["--no-mtu"]);
    assert_eq!(code, 6, "{v:#}");
    assert_eq!(v["verdict"]["class"], "gre_out_blocked");
    assert!(
        v["verdict"]["message"]
            .as_str()
            .unwrap()
            .starts_with("GRE from you never reaches the server")
    );
}

#[test]
fn check_b_tcp_1723_rejected() {
    let lab = lab(true, Some(REJECT_1723));
    let (code, v) = check(&lab, &[]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(v["verdict"]["class"], "tcp_blocked");
    assert_eq!(v["report"]["tcp"], "refused");
}

#[test]
fn check_c_plain_masquerade_loses_inbound_gre() {
    let lab = lab(false, None);
    for extra in [
        &["--no-mtu"][..],
        &["--no-mtu", "--calls", "2", "--same-call-id"][..],
    ] {
        let (code, v) = check(&lab, extra);
        assert_eq!(code, 7, "{extra:?}: {v:#}");
        assert_eq!(v["verdict"]["class"], "gre_back_blocked");
        assert!(
            v["verdict"]["message"]
                .as_str()
                .unwrap()
                .starts_with("GRE from the server never arrives: your router or ISP blocks protocol 47 or lacks PPTP passthrough")
        );
        // The control connection and GRE towards the server did work.
        assert_eq!(v["report"]["control"], true);
        assert!(v["report"]["gre_out_ok"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn check_d_passthrough_helper_everything_passes() {
    let lab = lab(true, None);
    let (code, v) = check(&lab, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"]["class"], "pass");
    assert_eq!(v["report"]["seen_address"], PUBLIC);
    assert_eq!(v["nat_detected"], true);
    assert_eq!(v["report"]["path_mtu"], 1500);
    let (code, v) = check(&lab, &["--no-mtu", "--calls", "2", "--same-call-id"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["report"]["gre_back_ok"], 2);
}

#[test]
fn check_against_a_server_that_is_not_a_listener() {
    let mut lab = Lab::new(Nat::Ours, &[10]);
    lab.server("net", SERVER_A);
    lab.start_helper(&[]);
    let (code, v) = check(&lab, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["report"]["listener"], false);
    assert!(
        v["verdict"]["message"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );
    let steps = v["report"]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s[0] == "GRE out" && s[1]["status"] == "skipped"),
        "{v:#}"
    );
}
