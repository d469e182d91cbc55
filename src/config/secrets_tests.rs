//! chap-secrets: pppd's word syntax, address field, lookup order, errors.

use std::net::Ipv4Addr;

use super::secrets::{Secret, Secrets, load_secrets, parse_secrets};

const F: &str = "/etc/ppp/chap-secrets";

fn ok(text: &str) -> Secrets {
    parse_secrets(F, text).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    match parse_secrets(F, text) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// The secret of a one-line file.
fn secret(line: &str) -> String {
    ok(line).entries()[0].secret.clone()
}

fn entry(client: &str, server: &str, secret: &str, address: Option<&str>) -> Secret {
    Secret {
        client: client.into(),
        server: server.into(),
        secret: secret.into(),
        address: address.map(|a| a.parse().unwrap()),
    }
}

#[test]
fn lines_fields_and_comments() {
    let s = ok(
        "# Secrets for authentication using CHAP\n# client\tserver\tsecret\tIP addresses\n\n\
         alice pptpd s3cret 10.0.0.5\n  bob\t*\t\"two words\"   # a comment\n\
         carol * pass#word *\n",
    );
    assert_eq!(
        s.entries(),
        [
            entry("alice", "pptpd", "s3cret", Some("10.0.0.5")),
            entry("bob", "*", "two words", None),
            entry("carol", "*", "pass#word", None),
        ]
    );
    assert_eq!(s.len(), 3);
    assert!(!s.is_empty());
    assert!(ok("").is_empty());
    assert!(ok("\n# only\n   \n").is_empty());
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(secret(r#"a b "x y""#), "x y");
    assert_eq!(secret("a b 'x y'"), "x y");
    assert_eq!(secret(r#"a b "say \"hi\"""#), r#"say "hi""#);
    assert_eq!(secret(r#"a b "back\\slash""#), r"back\slash");
    assert_eq!(secret(r#"a b "it's""#), "it's");
    assert_eq!(secret(r#"a b 'say "hi"'"#), r#"say "hi""#);
    // Parts concatenate; escapes work unquoted and in single quotes too.
    assert_eq!(secret(r#"a b ab"c d"'e'"#), "abc de");
    assert_eq!(secret(r"a b x\ y"), "x y");
    assert_eq!(secret(r"a b 'x\'y'"), "x'y");
    assert_eq!(secret(r"a b \t\n\r\s\a\b\f\v"), "\t\n\r \x07\x08\x0c\x0b");
    assert_eq!(secret(r"a b \101\0612\x41\x4a\xz"), "A12AJxz");
    assert_eq!(secret(r"a b \^A\q"), "\x01q");
    assert_eq!(secret("a b \"#not comment\""), "#not comment");
    assert_eq!(secret("a b 'é ü'"), "é ü");
    // An empty quoted word is a field.
    assert_eq!(ok(r#""" * x"#).entries()[0].client, "");
}

#[test]
fn line_continuation_and_crlf() {
    let s = ok("alice \\\n pptpd \\\r\n sec\r\nbob * x\r\n");
    assert_eq!(s.entries()[0], entry("alice", "pptpd", "sec", None));
    assert_eq!(s.entries()[1], entry("bob", "*", "x", None));
    // Lines after a continuation are still counted.
    assert_eq!(
        err("a \\\nb c\nd e\n"),
        format!("{F}:3: expected 'client server secret [address]', found fewer than 3 fields")
    );
}

#[test]
fn address_field() {
    for (field, want) in [
        ("", None),
        ("*", None),
        ("-", None),
        ("\"\"", None),
        ("10.1.2.3", Some(Ipv4Addr::new(10, 1, 2, 3))),
        ("* 10.1.2.3", Some(Ipv4Addr::new(10, 1, 2, 3))),
        ("- *", None),
    ] {
        assert_eq!(
            ok(&format!("a b c {field}\n")).entries()[0].address,
            want,
            "{field}"
        );
    }
}

#[test]
fn errors() {
    assert_eq!(
        err("alice * secret\nbob *\n"),
        format!("{F}:2: expected 'client server secret [address]', found fewer than 3 fields")
    );
    assert_eq!(
        err("\n\nalice * \"secret\n"),
        format!("{F}:3: expected a closing \" before the end of the line")
    );
    assert_eq!(
        err("alice * 'secret"),
        format!("{F}:1: expected a closing ' before the end of the line")
    );
    assert_eq!(
        err("alice * my secret words\n"),
        format!(
            "{F}:1: field 4: expected an IPv4 address, '*' or '-' (quote a secret that contains spaces)"
        )
    );
    assert_eq!(
        err("alice * s 10.0.0.1 10.0.0.2\n"),
        format!("{F}:1: expected at most one IPv4 address, found more")
    );
    assert_eq!(
        err("alice * s 10.0.0.0/24\n"),
        format!(
            "{F}:1: field 4: expected an IPv4 address, '*' or '-' (quote a secret that contains spaces)"
        )
    );
    assert_eq!(
        err("alice * @/etc/ppp/alice.pw\n"),
        format!("{F}:1: expected the secret itself, found a '@file' reference (not supported)")
    );
    assert_eq!(
        err("a b \\377\n"),
        format!("{F}:1: expected UTF-8 text after escapes")
    );
}

#[test]
fn errors_never_quote_the_file() {
    for text in [
        "alice * hunter2 words here\n",
        "alice * \"hunter2\n",
        "alice * @hunter2\n",
        "alice * hunter2 1.2.3.4 5.6.7.8\n",
        "hunter2 *\n",
        "a b hunter2\\377\n",
    ] {
        let e = parse_secrets(F, text).unwrap_err();
        let all = format!("{e} {e:?}");
        assert!(!all.contains("hunter2"), "{all}");
    }
}

#[test]
fn lookup_prefers_exact_matches() {
    let s = ok(
        "alice * any-server\nalice pptpd exact-server\n* pptpd any-client\n\
         * * anyone\nbob * bob1\nbob * bob2\n",
    );
    let get = |u: &str, srv: &str| s.lookup(u, srv).map(|e| e.secret.as_str());
    assert_eq!(get("alice", "pptpd"), Some("exact-server"));
    assert_eq!(get("alice", "other"), Some("any-server"));
    assert_eq!(get("carol", "pptpd"), Some("any-client"));
    assert_eq!(get("carol", "other"), Some("anyone"));
    // Same score: the earlier line wins.
    assert_eq!(get("bob", "pptpd"), Some("bob1"));
    // Names are case-sensitive, as in pppd.
    assert_eq!(get("ALICE", "x"), Some("anyone"));
    let strict = ok("alice pptpd pw\n");
    assert!(strict.lookup("alice", "other").is_none());
    assert!(strict.lookup("bob", "pptpd").is_none());
    assert!(strict.lookup("alice", "pptpd").is_some());
    // An exact client beats an exact server, as pppd scores them.
    let s = ok("* pptpd server-only\nalice * client-only\n");
    assert_eq!(s.lookup("alice", "pptpd").unwrap().secret, "client-only");
    assert!(Secrets::default().lookup("a", "b").is_none());
}

#[test]
fn debug_redacts_the_secret() {
    let s = ok("alice pptpd hunter2 10.0.0.5\n");
    let d = format!("{s:?} {:#?} {:?}", s, s.entries()[0]);
    assert!(!d.contains("hunter2"), "{d}");
    assert!(
        d.contains("<redacted>") && d.contains("alice") && d.contains("10.0.0.5"),
        "{d}"
    );
}

#[test]
fn load_reads_the_file() {
    let path = std::env::temp_dir().join(format!("pptp-secrets-test-{}", std::process::id()));
    std::fs::write(&path, "alice * pw\n").unwrap();
    assert_eq!(load_secrets(&path).unwrap().len(), 1);
    std::fs::write(&path, "alice *\n").unwrap();
    let e = load_secrets(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:1: expected", path.display())),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    let e = load_secrets(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: cannot read: ", path.display())),
        "{e}"
    );
}
