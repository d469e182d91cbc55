//! Pure parts of the services: config sections to runtime options.

use std::time::Duration;

use super::client::Profile;
use super::endpoint::security_policy;
use super::{helper, server};
use crate::config::{self, ClientCfg, KeyBits, Mppe, Security};
use crate::netfilter::Guard;
use crate::ppp::lcp::AuthMethod;

#[test]
fn profile_tun_names_fit_linux_interface_names() {
    let p = Profile::from_config(ClientCfg {
        name: "headquarters-berlin".into(),
        ..ClientCfg::default()
    });
    assert_eq!(p.tun, "pptp-headquarte");
    assert!(p.tun.len() <= 15);
    assert_eq!(p.timeout, Duration::from_secs(15));
}

#[test]
fn security_policy_follows_the_config() {
    let (m, p) = security_policy(&Security::default());
    assert_eq!(m, vec![AuthMethod::MsChapV2]);
    let p = p.unwrap();
    assert!(p.required && p.allow_128 && !p.allow_56 && !p.allow_40 && p.stateless);
    let s = Security {
        auth: vec![config::AuthMethod::MsChapV1, config::AuthMethod::Pap],
        mppe: Mppe::Optional,
        mppe_bits: vec![KeyBits::B40, KeyBits::B128],
        mppe_stateful: true,
    };
    let (m, p) = security_policy(&s);
    assert_eq!(m, vec![AuthMethod::MsChapV1, AuthMethod::Pap]);
    let p = p.unwrap();
    assert!(!p.required && p.allow_128 && p.allow_40 && !p.allow_56 && !p.stateless);
    let (_, p) = security_policy(&Security {
        mppe: Mppe::None,
        ..Security::default()
    });
    assert!(p.is_none());
}

#[test]
fn enabled_sections_without_required_options_are_refused_clearly() {
    // The file is refused by the parser already, naming what is missing.
    let e = config::parse(
        "t",
        "config helper 'h'\n\toption enabled '1'\nconfig server 's'\n\toption enabled '1'\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("wan"), "{e}");
    // The services refuse such sections on their own too, whatever built
    // them: never a half-configured component.
    let h = config::HelperCfg {
        enabled: true,
        wan: None,
        ..config::HelperCfg::default()
    };
    let e = helper::Options::from_config(&h, false).unwrap_err();
    assert!(e.contains("wan"), "{e}");
    let s = config::ServerCfg {
        enabled: true,
        local_ip: None,
        ..config::ServerCfg::default()
    };
    let e = server::Options::from_config(&s).unwrap_err();
    assert!(e.contains("local_ip"), "{e}");
    let c = config::parse(
        "t",
        "config helper 'h'\n\toption enabled '1'\n\toption wan 'eth1'\n\toption idle_timeout '60'\n",
    )
    .unwrap();
    let h = c.helper.as_ref().unwrap();
    let o = helper::Options::from_config(h, false).unwrap();
    assert_eq!(o.wan, "eth1");
    assert_eq!(o.idle_timeout, Duration::from_secs(60));
    assert_eq!(o.element_timeout, 18000);
    // `auto`: per flow, unless tunnels end on the router; an explicit
    // choice holds either way.
    assert_eq!(o.guard, Guard::Flow);
    let o = helper::Options::from_config(h, true).unwrap();
    assert_eq!(o.guard, Guard::Raw);
    for (g, want) in [
        (config::GreGuard::Flow, Guard::Flow),
        (config::GreGuard::Raw, Guard::Raw),
    ] {
        let h = config::HelperCfg {
            gre_guard: g,
            ..h.clone()
        };
        for local in [false, true] {
            assert_eq!(helper::Options::from_config(&h, local).unwrap().guard, want);
        }
    }
}

/// The server's logins: the file's lines, then the config's users, which
/// replace a line of the same name; a disabled user is refused; a missing
/// file is fine only when the config has users.
#[test]
fn logins_merge_the_file_and_the_config_users() {
    let dir = std::env::temp_dir().join(format!("logins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chap-secrets");
    std::fs::write(&file, "alice * file-pass *\ncarol * carol-pass 10.0.0.3\n").unwrap();
    let user = |name: &str, pass: &str, enabled: bool| config::UserCfg {
        name: name.into(),
        password: pass.into(),
        address: None,
        enabled,
    };
    let t = server::logins(
        &file,
        &[
            user("alice", "uci-pass", true),
            user("carol", "x", false),
            user("dave", "d", true),
        ],
    )
    .unwrap();
    let mut names: Vec<&String> = t.keys().collect();
    names.sort();
    assert_eq!(names, ["alice", "dave"]);
    assert_eq!(t["alice"].password, "uci-pass");
    let missing = dir.join("none");
    assert_eq!(
        server::logins(&missing, &[user("dave", "d", true)])
            .unwrap()
            .len(),
        1
    );
    assert!(server::logins(&missing, &[]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
