//! UCI syntax: every quoting, comment and statement rule, every error.

use super::uci::{Section, Value, parse_uci};

const F: &str = "/etc/config/pptp-passthrough";

fn ok(text: &str) -> Vec<Section> {
    parse_uci(F, text).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    match parse_uci(F, text) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// The value of `option o <raw>` in a section.
fn value(raw: &str) -> Value {
    let s = ok(&format!("config t\n\toption o {raw}\n"));
    s[0].get("o").cloned().expect("option o")
}

fn single(raw: &str) -> String {
    match value(raw) {
        Value::Single(s) => s,
        v => panic!("{v:?}"),
    }
}

fn list(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn sections_options_lists_and_lines() {
    let s = ok(
        "package 'pptp'\n\n# comment\nconfig helper 'passthrough'\n\toption enabled '1'\n\
         \tlist lan 'br-lan'\n\tlist lan \"lan2\"\n\nconfig client office\n\toption server vpn\n",
    );
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].kind, "helper");
    assert_eq!(s[0].name.as_deref(), Some("passthrough"));
    assert_eq!(s[0].line, 4);
    assert_eq!(
        s[0].options,
        vec![
            ("enabled".into(), Value::Single("1".into()), 5),
            ("lan".into(), list(&["br-lan", "lan2"]), 6),
        ]
    );
    assert_eq!(s[1].kind, "client");
    assert_eq!(s[1].name.as_deref(), Some("office"));
    assert_eq!(s[1].line, 9);
    assert_eq!(
        s[1].options,
        vec![("server".into(), Value::Single("vpn".into()), 10)]
    );
}

#[test]
fn anonymous_sections() {
    let s = ok("config server\n\toption a 1\nconfig server ''\nconfig server\n");
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|s| s.name.is_none() && s.kind == "server"));
}

#[test]
fn quoting() {
    assert_eq!(single("plain"), "plain");
    assert_eq!(single("'single quoted'"), "single quoted");
    assert_eq!(single("\"double quoted\""), "double quoted");
    assert_eq!(single("''"), "");
    assert_eq!(single("\"\""), "");
    // No escapes inside single quotes.
    assert_eq!(single(r"'a\b\'"), r"a\b\");
    // Inside double quotes `\` takes the next character literally.
    assert_eq!(single(r#""a\"b\\c\$d\n""#), r#"a"b\c$dn"#);
    // Unquoted too.
    assert_eq!(single(r"a\ b\#c"), "a b#c");
    // Quotes keep `#`, `;` and blanks.
    assert_eq!(single("'a # b; c'"), "a # b; c");
    assert_eq!(single("\"x#y;z\""), "x#y;z");
    assert_eq!(single("'é ü 日本'"), "é ü 日本");
}

#[test]
fn concatenation_of_adjacent_parts() {
    assert_eq!(single(r#"a'b c'"d""#), "ab cd");
    assert_eq!(single(r#"'x'"y"z"#), "xyz");
    // How `uci export` writes a single quote inside a value.
    assert_eq!(single(r"'it'\''s'"), "it's");
}

#[test]
fn comments() {
    let s = ok(
        "# whole line\n  # indented\nconfig t # after a word\n\toption a b # trailing\n\
         \toption c d#e\n\toption f 'g#h'\n#option x y\n",
    );
    assert_eq!(s[0].get("a"), Some(&Value::Single("b".into())));
    // As in libuci, `#` outside quotes ends the line even inside a word.
    assert_eq!(s[0].get("c"), Some(&Value::Single("d".into())));
    assert_eq!(s[0].get("f"), Some(&Value::Single("g#h".into())));
    assert_eq!(s[0].get("x"), None);
    assert_eq!(s[0].options.len(), 3);
}

#[test]
fn blank_lines_tabs_and_crlf() {
    let s = ok("\r\n\n   \t\nconfig\tt\t'n'\r\n\t\toption\ta\t'b'\r\n\r\n");
    assert_eq!(s[0].line, 4);
    assert_eq!(
        s[0].options,
        vec![("a".into(), Value::Single("b".into()), 5)]
    );
    assert!(ok("").is_empty());
    assert!(ok("\n\n# only comments\n").is_empty());
}

#[test]
fn semicolon_separates_statements() {
    let s = ok("config t 'n'; option a 1; list b x;list b y\n");
    assert_eq!(s[0].get("a"), Some(&Value::Single("1".into())));
    assert_eq!(s[0].get("b"), Some(&list(&["x", "y"])));
    assert!(s[0].options.iter().all(|(_, _, l)| *l == 1));
}

#[test]
fn backslash_newline_joins_lines() {
    let s = ok(
        "config t\n\toption a fo\\\no\n\toption \\\n b c\n\toption d \"x\\\ny\"\n\toption e f\n",
    );
    assert_eq!(s[0].get("a"), Some(&Value::Single("foo".into())));
    assert_eq!(s[0].get("b"), Some(&Value::Single("c".into())));
    assert_eq!(s[0].get("d"), Some(&Value::Single("xy".into())));
    let lines: Vec<usize> = s[0].options.iter().map(|o| o.2).collect();
    assert_eq!(lines, [2, 4, 6, 8]);
}

#[test]
fn abbreviated_commands() {
    let s = ok("p pkg\nc t n\no a 1\nl b 2\nl b 3\n");
    assert_eq!(s[0].kind, "t");
    assert_eq!(s[0].get("a"), Some(&Value::Single("1".into())));
    assert_eq!(s[0].get("b"), Some(&list(&["2", "3"])));
}

#[test]
fn option_and_list_replace_and_append() {
    let s = ok(
        "config t\n\toption a 1\n\toption a 2\n\tlist b x\n\toption b y\n\
         \toption c p\n\tlist c q\n\tlist c r\n",
    );
    assert_eq!(s[0].options[0], ("a".into(), Value::Single("2".into()), 3));
    assert_eq!(s[0].options[1], ("b".into(), Value::Single("y".into()), 5));
    assert_eq!(s[0].options[2], ("c".into(), list(&["p", "q", "r"]), 6));
    assert_eq!(value("'v'").items(), ["v"]);
}

#[test]
fn same_named_sections_merge() {
    let s = ok("config t 'n'\n\toption a 1\nconfig u\nconfig t 'n'\n\toption a 2\n\toption b 3\n");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].line, 1);
    assert_eq!(s[0].get("a"), Some(&Value::Single("2".into())));
    assert_eq!(s[0].get("b"), Some(&Value::Single("3".into())));
    assert!(s[1].options.is_empty());
    assert_eq!(
        err("config t 'n'\nconfig u 'n'\n"),
        format!(
            "{F}:2: section 'n' is declared as 'config t' at line 1, expected the same type, found 'u'"
        )
    );
}

#[test]
fn debug_redacts_secret_options() {
    let s = ok("config client x\n\toption password 'hunter2'\n\toption user 'bob'\n");
    let d = format!("{s:?}");
    assert!(!d.contains("hunter2"), "{d}");
    assert!(d.contains("<redacted>") && d.contains("bob"), "{d}");
}

#[test]
fn error_option_before_config() {
    assert_eq!(
        err("\n# c\noption wan eth1\n"),
        format!(
            "{F}:3: expected 'config TYPE [NAME]' before the first option, found \"option wan eth1\""
        )
    );
    assert_eq!(
        err("package p\nlist lan eth0\n"),
        format!(
            "{F}:2: expected 'config TYPE [NAME]' before the first option, found \"list lan eth0\""
        )
    );
}

#[test]
fn error_unterminated_quotes() {
    let e = format!("{F}:2: expected a closing ' before the end of the line");
    assert_eq!(err("config t\noption a 'b\noption c d\n"), e);
    assert_eq!(err("config t\noption a 'b"), e);
    assert_eq!(
        err("config t\n\n\toption a \"b\\\"\n"),
        format!("{F}:3: expected a closing \" before the end of the line")
    );
    assert_eq!(
        err("config 't\n"),
        format!("{F}:1: expected a closing ' before the end of the line")
    );
}

#[test]
fn error_missing_value_and_extra_words() {
    assert_eq!(
        err("config t\n\toption wan\n"),
        format!("{F}:2: expected 'option NAME VALUE', found \"option wan\"")
    );
    assert_eq!(
        err("config t\n\tlist lan\n"),
        format!("{F}:2: expected 'list NAME VALUE', found \"list lan\"")
    );
    assert_eq!(
        err("config t\n\toption lan eth0 eth1\n"),
        format!("{F}:2: expected 'option NAME VALUE', found \"option lan eth0 eth1\"")
    );
    assert_eq!(
        err("config\n"),
        format!("{F}:1: expected 'config TYPE [NAME]', found \"config\"")
    );
    assert_eq!(
        err("config a b c\n"),
        format!("{F}:1: expected 'config TYPE [NAME]', found \"config a b c\"")
    );
    assert_eq!(
        err("package\n"),
        format!("{F}:1: expected 'package NAME', found \"package\"")
    );
    assert_eq!(
        err("package 'a b'\n"),
        format!("{F}:1: expected 'package NAME', found \"package a b\"")
    );
}

#[test]
fn error_bad_identifiers() {
    assert_eq!(
        err("config t\n\toption wan-if eth1\n"),
        format!("{F}:2: expected an option name of letters, digits and '_', found \"wan-if\"")
    );
    assert_eq!(
        err("config t\n\toption '' x\n"),
        format!("{F}:2: expected an option name of letters, digits and '_', found \"\"")
    );
    assert_eq!(
        err("config my-type\n"),
        format!("{F}:1: expected a section type of letters, digits and '_', found \"my-type\"")
    );
    assert_eq!(
        err("config t 'my name'\n"),
        format!("{F}:1: expected a section name of letters, digits and '_', found \"my name\"")
    );
    ok("package my-pkg_1\nconfig T_1 N_2\n\toption O_3 v\n");
}

#[test]
fn error_unknown_command() {
    assert_eq!(
        err("config helper 'passthrough'\n\toptoin wan eth1\n"),
        format!(
            "{F}:2: expected 'option NAME VALUE', 'list NAME VALUE' or 'config TYPE [NAME]', \
             found \"optoin wan eth1\""
        )
    );
    assert_eq!(
        err("cnofig helper\n"),
        format!("{F}:1: expected 'config TYPE [NAME]' or 'package NAME', found \"cnofig helper\"")
    );
}

#[test]
fn error_excerpts_hide_secrets_and_stay_short() {
    let e = err("config client x\n\toptoin password 'hunter2 x'\n");
    assert!(e.ends_with("found \"optoin password <redacted>\""), "{e}");
    let e = err("config client x\n\toption secret a b\n");
    assert!(!e.contains(" a b") && e.contains("<redacted>"), "{e}");
    let long = "x".repeat(200);
    let e = err(&format!("config t\n\tbad {long}\n"));
    assert!(
        e.ends_with(&format!("found \"bad {}...\"", "x".repeat(53))),
        "{e}"
    );
}

#[test]
fn error_line_counts_continuations() {
    assert_eq!(
        err("config t\n\toption a \\\nb\n\toption c\n"),
        format!("{F}:4: expected 'option NAME VALUE', found \"option c\"")
    );
}
