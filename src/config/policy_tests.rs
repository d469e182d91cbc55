//! Section-level checks, security policy, warnings, redaction and loading.

use super::model_tests::{CLIENT, F, client, err, helper, ok, secs, server};
use super::*;

#[test]
fn client_checks() {
    let name = "config client 'c'\n\toption server vpn\n\toption username bob\n";
    assert_eq!(
        err("config client 'c'\n\toption username bob\n\toption password x\n"),
        format!("{F}:1: client 'c': option 'server' is required")
    );
    assert_eq!(
        err("config client 'c'\n\toption server vpn\n\toption password x\n"),
        format!("{F}:1: client 'c': option 'username' is required")
    );
    assert_eq!(
        err(name),
        format!("{F}:1: client 'c': option 'password' is required")
    );
    assert_eq!(
        err(&format!("{name}\toption password ''\n")),
        format!("{F}:4: client 'c': option 'password': expected 1 to 256 characters")
    );
    assert!(err(&format!("{name}\toption password '{}'\n", "p".repeat(257))).contains("1 to 256"));
    ok(&format!("{name}\toption password '{}'\n", "é".repeat(256)));
    assert_eq!(
        err(&format!("{name}\tlist password 'hunter2'\n")),
        format!(
            "{F}:4: client 'c': expected 'option password VALUE', found 'list password' (it takes one value)"
        )
    );
    assert_eq!(
        err(&client("option routes prefixes")),
        format!(
            "{F}:5: client 'office': routes 'prefixes' expected at least one 'list route' prefix"
        )
    );
    assert_eq!(
        err(&client("list route 10.0.0.0/8")),
        format!(
            "{F}:5: client 'office': 'list route' has no effect, expected option routes 'prefixes' with it"
        )
    );
    assert_eq!(
        err(&client(
            "option reconnect_min 60\n\toption reconnect_max 30"
        )),
        format!("{F}:6: client 'office': expected reconnect_min <= reconnect_max, found 60 > 30")
    );
    ok(&client(
        "option reconnect_min 30\n\toption reconnect_max 30",
    ));
    ok(&client("option mtu 576\n\toption routes none"));
    ok(&client("option mtu 1500"));
}

#[test]
fn impossible_security_is_an_error() {
    assert_eq!(
        err(&server("list auth pap\n\tlist auth chap")),
        format!(
            "{F}:2: server section: MPPE is required but only MS-CHAP yields its keys, \
             expected 'list auth mschapv2'"
        )
    );
    assert!(err(&client("list auth pap\n\toption mppe require")).contains("MPPE is required"));
    ok(&server("list auth pap\n\toption mppe optional"));
    ok(&server("list auth mschapv1"));
    assert_eq!(
        err(&server("list mppe_bits 128\n\tlist mppe_bits 40")),
        format!(
            "{F}:2: server section: mppe 'require-128' allows only 128-bit keys, expected \
             mppe_bits '128' alone or mppe 'require'"
        )
    );
    ok(&server("list mppe_bits 40\n\toption mppe require"));
}

#[test]
fn warnings_for_each_weak_setting() {
    let w = ok(&server(
        "list auth mschapv2\n\tlist auth mschapv1\n\tlist auth chap\n\tlist auth pap\n\
         \toption mppe optional\n\tlist mppe_bits 40\n\tlist mppe_bits 56\n\tlist mppe_bits 128",
    ))
    .warnings();
    assert_eq!(
        w,
        [
            "server: MS-CHAPv1 is broken: its responses reveal the password hash to an eavesdropper",
            "server: CHAP (MD5) gives no MPPE keys and its exchange allows offline password guessing",
            "server: PAP sends the password in clear text",
            "server: MPPE is optional: a peer can choose an unencrypted tunnel",
            "server: 40-bit MPPE keys can be found by brute force",
            "server: 56-bit MPPE keys can be found by brute force",
        ]
    );
    let w = ok(&client(
        "option mppe none\n\tlist mppe_bits 40\n\tlist auth pap",
    ))
    .warnings();
    assert_eq!(
        w,
        [
            "client 'office': PAP sends the password in clear text",
            "client 'office': MPPE is off: tunnel traffic is not encrypted",
        ]
    );
    let w = ok(&client("option mppe require\n\tlist mppe_bits 56")).warnings();
    assert_eq!(
        w,
        ["client 'office': 56-bit MPPE keys can be found by brute force"]
    );
    assert!(
        ok(&format!("{}{CLIENT}", server("option enabled 0")))
            .warnings()
            .is_empty()
    );
}

#[test]
fn lockout_doubles_up_to_an_hour() {
    let s = ServerCfg::default();
    let got: Vec<u64> = (1..=8).map(|n| s.lockout_for(n).as_secs()).collect();
    assert_eq!(got, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    assert_eq!(s.lockout_for(0), secs(60));
    assert_eq!(s.lockout_for(u32::MAX), super::model::LOCKOUT_MAX);
    let long = ServerCfg {
        lockout: secs(7200),
        ..ServerCfg::default()
    };
    assert_eq!(long.lockout_for(5), secs(7200));
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let c = ok(&format!(
        "{}\n{}",
        helper("option wan eth1"),
        client("option mtu 1400")
    ));
    let d = format!("{c:?} {:?} {:#?}", c.clients[0], c);
    assert!(!d.contains("hunter2"), "{d}");
    assert!(d.contains("<redacted>") && d.contains("alice"));
    for bad in [
        client("option password 'other'"),
        format!("{CLIENT}\toption pasword 'hunter2'\n"),
        format!("{CLIENT}\tlist password 'hunter2'\n"),
        format!("{CLIENT}\toption password 'hunter2' extra\n"),
        format!("{CLIENT}\toptoin password 'hunter2'\n"),
        format!("{CLIENT}\toption mtu x\n"),
    ] {
        if let Err(e) = parse(F, &bad) {
            let text = format!("{e} {e:?}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
}

#[test]
fn load_reads_the_file() {
    let dir = std::env::temp_dir().join(format!("pptp-cfg-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pptp-passthrough");
    std::fs::write(&path, DEFAULT_CONFIG).unwrap();
    assert_eq!(load(&path).unwrap(), ok(DEFAULT_CONFIG));
    std::fs::write(&path, "config helper\n\toption wna x\n").unwrap();
    let e = load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2: unknown option", path.display())),
        "{e}"
    );
    assert_eq!(e.line(), Some(2));
    std::fs::write(&path, b"config helper\n\toption wan '\xff'\n").unwrap();
    assert_eq!(
        load(&path).unwrap_err().to_string(),
        format!(
            "{}:2: expected UTF-8 text, found invalid bytes",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();
    let e = load(&path).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", path.display())),
        "{e}"
    );
    assert_eq!(e.line(), None);
    let _ = std::fs::remove_dir(&dir);
}
