//! Log lines that an outsider can trigger, rate-limited.
//!
//! A stranger on the port or a hostile peer decides how often a refusal
//! happens; if every refusal wrote a line, it would also decide how fast the
//! node's log fills the disk. Each such call site owns a [`LogBudget`]: a
//! few lines per window, then silence, and the next line that gets through
//! says how many were suppressed. Counters (metrics, the refusal table) keep
//! the exact numbers; the log only has to show that it happens, and what it
//! looks like.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// A budget of log lines per window for one call site.
///
/// ```
/// use focal_node::base::lograte::LogBudget;
/// static REFUSED: LogBudget = LogBudget::per_minute(10);
/// if let Some(suppressed) = REFUSED.admit() {
///     tracing::warn!(suppressed, "connection refused");
/// }
/// ```
#[derive(Debug)]
pub struct LogBudget {
    lines: u32,
    window: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    started: Option<Instant>,
    written: u32,
    suppressed: u64,
}

impl LogBudget {
    /// At most `lines` lines per `window`.
    pub const fn new(lines: u32, window: Duration) -> Self {
        Self {
            lines,
            window,
            state: Mutex::new(BudgetState {
                started: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// At most `lines` lines a minute.
    pub const fn per_minute(lines: u32) -> Self {
        Self::new(lines, Duration::from_secs(60))
    }

    /// Whether a line may be written now: `Some(n)` with the number of lines
    /// suppressed since the last one written (log it with the line), `None`
    /// to stay silent.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        // A poisoned lock only means another thread panicked while logging:
        // the counts are still usable.
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match s.started {
            Some(start) if now.duration_since(start) < self.window => {}
            _ => {
                s.started = Some(now);
                s.written = 0;
            }
        }
        if s.written < self.lines {
            s.written += 1;
            Some(std::mem::take(&mut s.suppressed))
        } else {
            s.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_writes_its_lines_then_counts_what_it_suppressed() {
        let budget = LogBudget::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(budget.admit_at(t0), Some(0));
        assert_eq!(budget.admit_at(t0), Some(0));
        for _ in 0..1000 {
            assert_eq!(budget.admit_at(t0 + Duration::from_secs(1)), None);
        }
        // The next window: the first line says how many were left out.
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(61)), Some(1000));
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(61)), Some(0));
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(62)), None);
    }
}
