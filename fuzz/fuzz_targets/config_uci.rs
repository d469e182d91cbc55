//! The UCI configuration parser (`/etc/config/pptp-passthrough`): the
//! generic UCI reader and the typed model with its checks and warnings.
//!
//! Invariants: no panic; errors carry a line number within the text; a
//! parsed model's warnings and Debug form can be produced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::config::{self, uci};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count().max(1) + 1;
    match uci::parse_uci("fuzz", text) {
        Ok(sections) => {
            for s in &sections {
                let _ = format!("{s:?}");
            }
        }
        Err(e) => {
            let line = e.line().expect("a content error names its line");
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
        }
    }
    match config::parse("fuzz", text) {
        Ok(cfg) => {
            let _ = cfg.warnings();
            let _ = format!("{cfg:?}");
            let _ = cfg.client("x");
        }
        Err(e) => {
            let line = e.line().expect("a content error names its line");
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
            let _ = e.to_string();
        }
    }
});
