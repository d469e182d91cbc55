//! Log lines caused by remote input, bounded: a flood of bad packets or
//! calls must not flood the router's log (and its flash or RAM) as well.
//! The first few per window are logged; the rest are counted and reported
//! once when the window closes.

use std::time::{Duration, Instant};

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
}
