//! Outcome tracking (`api/training/outcomes`, `15 * * * *`): one outcome for every decision
//! whose item reached `DONE` or `COLD_STORAGE`, via `record_outcomes` (one round trip per
//! batch of [`super::BATCH`]; a unique key per decision makes duplicates impossible).

use serde::Deserialize;
use serde_json::json;

use super::{BATCH, TrainingReport};
use crate::error::AppError;
use crate::invocation::{RunContext, RunFailure, RunSummary};
use crate::supabase::Supabase;

#[derive(Deserialize)]
struct Recorded {
    candidates: usize,
    inserted: usize,
    invalid: usize,
}

/// One run of the outcome job (a failure carries the counts of the batches before it).
pub async fn run(ctx: &RunContext, db: &Supabase) -> Result<RunSummary, RunFailure> {
    let mut report = TrainingReport::default();
    pass(ctx, db, &mut report)
        .await
        .map_err(|error| RunFailure::with_counts(error, &report))
}

/// The run itself, adding to `report` as it goes (so a failure can say how far it got).
async fn pass(
    ctx: &RunContext,
    db: &Supabase,
    report: &mut TrainingReport,
) -> Result<RunSummary, AppError> {
    // An answer with no candidates proves nothing is pending: no count request needed (an
    // empty run, most cron ticks, is one request).
    let mut drained = false;
    if !ctx.dry_run {
        while !ctx.remaining().is_zero() {
            let recorded: Recorded = db
                .rpc("record_outcomes", &json!({ "p_limit": BATCH }))
                .await?;
            if recorded.candidates == 0 {
                drained = true;
                break;
            }
            report.batches += 1;
            report.processed += recorded.candidates;
            report.ok_count += recorded.inserted;
            report.failed_count += recorded.invalid;
            if recorded.invalid > 0 {
                tracing::warn!(
                    invalid = recorded.invalid,
                    "decisions refused: resolved before they were made (see decisions.last_error)"
                );
            }
            if recorded.candidates < BATCH {
                break;
            }
        }
    }
    report.remaining = if drained {
        0
    } else {
        db.rpc("count_pending_outcomes", &json!({})).await?
    };
    Ok(RunSummary::new(report.status(ctx.dry_run), &*report))
}
