//! The training jobs (seed 002): outcome tracking and reward calculation.
//!
//! Both are run-once passes over batches of at most [`BATCH`] decisions, each batch one or
//! two round trips, idempotent by database constraints (a unique outcome per decision; a
//! reward only where `reward IS NULL`), so overlapping runs and duplicate deliveries are
//! harmless. Rows whose data makes no sense get a readable `decisions.last_error` and are
//! skipped from then on; clear it to retry them. SQL: `supabase/schemas/50_training.sql`
//! (the `items`, `decisions` and `outcomes` tables are the app's, `10_app_contract.sql`).

pub mod outcomes;
pub mod reward_fn;
pub mod rewards;

use serde::Serialize;

use crate::invocation::{RunStatus, RunSummary};

/// Decisions per round trip.
pub const BATCH: usize = 1000;

/// The answer of a training run that finds nothing pending (most ticks; see
/// [`crate::jobs::IdleCheck`]).
pub fn idle_summary() -> RunSummary {
    RunSummary::new(RunStatus::Ok, &TrainingReport::default())
}

/// The counts both training jobs answer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrainingReport {
    /// Decisions looked at.
    pub processed: usize,
    /// Outcomes recorded, or rewards written.
    pub ok_count: usize,
    /// Decisions refused for bad data (their `last_error` says why).
    pub failed_count: usize,
    /// Rewards not written because the decision got one elsewhere meanwhile.
    pub skipped: usize,
    /// Decisions still pending when the run ended.
    pub remaining: i64,
    /// Batches of decisions handled (a request that finds none is not a batch).
    pub batches: usize,
}

impl TrainingReport {
    /// `partial` when rows were refused or a real run left work; else `ok`.
    pub fn status(&self, dry_run: bool) -> RunStatus {
        if self.failed_count > 0 || (self.remaining > 0 && !dry_run) {
            RunStatus::Partial
        } else {
            RunStatus::Ok
        }
    }
}
