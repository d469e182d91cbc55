//! Log lines caused by remote input, bounded: a flood of bad packets or
//! calls must not flood the router's log (and its flash or RAM) as well.
//! The first few per window are logged; the rest are counted and reported
//! once when the window closes. Text a peer chose (user and host names,
//! vendor strings, PPP messages) is logged through [`Untrusted`], so it
//! can neither forge a log line nor make one arbitrarily long.

use std::fmt;
use std::time::{Duration, Instant};

/// Characters of peer-chosen text kept in a log line.
pub const UNTRUSTED_MAX: usize = 128;

/// Peer-chosen text for a log line: control characters (a newline would
/// start a forged line), quotes and backslashes escaped as Rust does in
/// `{:?}`, cut to [`UNTRUSTED_MAX`] characters with `…` after.
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars().take(UNTRUSTED_MAX) {
            if c.is_control() || c == '\\' || c == '"' {
                write!(f, "{}", c.escape_debug())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        if self.0.chars().nth(UNTRUSTED_MAX).is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Lines logged per window before suppression starts.
pub const BURST: u32 = 10;
/// Window length.
pub const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct LogLimit {
    start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    /// Whether to log one more line now. `Some(n)` in the second field:
    /// `n` lines were suppressed in the window that just closed (report it).
    pub fn allow(&mut self, now: Instant) -> (bool, Option<u64>) {
        let mut report = None;
        match self.start {
            Some(s) if now.saturating_duration_since(s) < WINDOW => {}
            _ => {
                if self.suppressed > 0 {
                    report = Some(self.suppressed);
                }
                self.start = Some(now);
                self.logged = 0;
                self.suppressed = 0;
            }
        }
        if self.logged < BURST {
            self.logged += 1;
            (true, report)
        } else {
            self.suppressed += 1;
            (false, report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_a_burst_then_counts_and_reports_once_per_window() {
        let t0 = Instant::now();
        let mut l = LogLimit::default();
        let allowed = (0..1000).filter(|_| l.allow(t0).0).count();
        assert_eq!(allowed, BURST as usize);
        // Next window: the 990 suppressed lines are reported, logging resumes.
        assert_eq!(l.allow(t0 + WINDOW), (true, Some(1000 - u64::from(BURST))));
        assert_eq!(l.allow(t0 + WINDOW), (true, None));
        // A quiet window reports nothing.
        assert_eq!(l.allow(t0 + WINDOW * 3), (true, None));
    }

    #[test]
    fn untrusted_text_cannot_forge_a_line_or_run_long() {
        let forged = "alice\n2026-12-03T00:00:00Z INFO login ok \"root\"\r\u{1b}[2J\\";
        let shown = Untrusted(forged).to_string();
        assert!(!shown.contains('\n') && !shown.contains('\r') && !shown.contains('\u{1b}'));
        assert_eq!(
            shown,
            "alice\\n2026-12-03T00:00:00Z INFO login ok \\\"root\\\"\\r\\u{1b}[2J\\\\"
        );
        assert_eq!(Untrusted("Grüße, Gerät 1").to_string(), "Grüße, Gerät 1");
        let long = "x".repeat(10_000);
        let shown = Untrusted(&long).to_string();
        assert_eq!(shown.chars().count(), UNTRUSTED_MAX + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(
            Untrusted(&long[..UNTRUSTED_MAX]).to_string(),
            long[..UNTRUSTED_MAX]
        );
    }
}
