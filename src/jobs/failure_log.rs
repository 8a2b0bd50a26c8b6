//! Per-run cap on failure log lines: Vercel keeps about 256 lines per request, so a run
//! logs its first [`MAX_FAILURE_LINES`] item failures and counts the rest in its answer.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Item failures logged per run at most.
pub const MAX_FAILURE_LINES: usize = 20;

/// Counts a run's failure lines.
#[derive(Debug, Default)]
pub struct FailureLog {
    lines: AtomicUsize,
}

impl FailureLog {
    /// Whether the next failure may still be logged (counts it).
    pub fn admit(&self) -> bool {
        self.lines.fetch_add(1, Ordering::Relaxed) < MAX_FAILURE_LINES
    }

    /// How many failures were counted past the cap, and so not logged.
    pub fn unlogged(&self) -> usize {
        self.lines
            .load(Ordering::Relaxed)
            .saturating_sub(MAX_FAILURE_LINES)
    }
}
