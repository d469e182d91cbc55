//! The chap-secrets parser (pppd's format: client, server, secret and
//! addresses, with quoting and comments).
//!
//! Invariants: no panic; errors name a line within the text; the Debug
//! form of an entry does not depend on its secret; looking up an entry's own
//! client and server finds an entry at least as specific.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::config::{Secret, parse_secrets};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count().max(1) + 1;
    match parse_secrets("fuzz", text) {
        Ok(secrets) => {
            assert_eq!(secrets.len(), secrets.entries().len());
            for e in secrets.entries() {
                let found = secrets
                    .lookup(&e.client, &e.server)
                    .expect("an entry's own names must find an entry");
                // pppd's precedence: the found one matches at least as well.
                assert!(found.client == e.client || found.client == "*");
                assert!(found.server == e.server || found.server == "*");
            }
            for e in secrets.entries() {
                // Debug does not depend on the secret at all.
                let blank = Secret {
                    secret: String::new(),
                    ..e.clone()
                };
                assert_eq!(
                    format!("{e:?}"),
                    format!("{blank:?}"),
                    "Debug shows the secret"
                );
            }
            let _ = format!("{secrets:?}");
        }
        Err(e) => {
            let line = e.line().expect("a content error names its line");
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
        }
    }
});
