//! Reward calculation (`api/training/calculate-pending`, `0 * * * *`): the reward of every
//! decision with an outcome and no reward, computed by [`super::reward_fn::reward`] and
//! written by `write_rewards` only where `reward IS NULL` (two round trips per batch).
//! `?dry_run=1` answers the pending count (seed 002) and changes nothing.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::reward_fn::{
    Action, REWARD_VERSION, RewardInput, RewardWeights, TerminalStatus, reward,
};
use super::{BATCH, TrainingReport};
use crate::error::AppError;
use crate::run::{RunContext, RunFailure, RunSummary};
use crate::supabase::Supabase;

/// A decision waiting for its reward (`pending_rewards`).
#[derive(Clone, Debug, Deserialize)]
pub struct PendingReward {
    /// Decision id.
    pub id: Uuid,
    /// `decisions.action`.
    pub action: String,
    /// `decisions.confidence`.
    pub confidence: Option<f64>,
    /// When the decision was made.
    pub decided_at: DateTime<Utc>,
    /// `outcomes.terminal_status`.
    pub terminal_status: String,
    /// `outcomes.resolution_seconds`.
    pub resolution_seconds: f64,
}

#[derive(Deserialize)]
struct Written {
    written: usize,
    errors: usize,
    skipped: usize,
}

#[derive(Deserialize)]
struct Pending {
    pending: i64,
}

/// The row `write_rewards` takes for one decision: its reward, or why there is none.
pub fn compute(pending: &PendingReward, weights: &RewardWeights) -> Value {
    let result = Action::parse(&pending.action).and_then(|action| {
        let status = TerminalStatus::parse(&pending.terminal_status)?;
        let input = RewardInput {
            action,
            status,
            resolution_hours: pending.resolution_seconds / 3600.0,
            confidence: pending.confidence,
        };
        reward(&input, weights)
    });
    match result {
        Ok(r) => {
            json!({ "id": pending.id, "reward": r.value, "details": r.details, "version": REWARD_VERSION })
        }
        Err(error) => json!({ "id": pending.id, "error": error }),
    }
}

/// One run of the reward job (a failure carries the counts of the batches before it).
pub async fn run(
    ctx: &RunContext,
    db: &Supabase,
    weights: &RewardWeights,
) -> Result<RunSummary, RunFailure> {
    let mut report = TrainingReport::default();
    pass(ctx, db, weights, &mut report)
        .await
        .map_err(|error| RunFailure::with_counts(error, &report))
}

/// The run itself, adding to `report` as it goes (so a failure can say how far it got).
async fn pass(
    ctx: &RunContext,
    db: &Supabase,
    weights: &RewardWeights,
    report: &mut TrainingReport,
) -> Result<RunSummary, AppError> {
    // An empty batch proves nothing is pending: no count request needed (an empty run, most
    // cron ticks, is one request).
    let mut drained = false;
    if !ctx.dry_run {
        while !ctx.remaining().is_zero() {
            let batch: Vec<PendingReward> = db
                .rpc("pending_rewards", &json!({ "p_limit": BATCH }))
                .await?;
            if batch.is_empty() {
                drained = true;
                break;
            }
            report.batches += 1;
            report.processed += batch.len();
            let rows: Vec<Value> = batch.iter().map(|p| compute(p, weights)).collect();
            for row in rows.iter().filter(|r| r.get("error").is_some()).take(20) {
                tracing::warn!(decision_id = %row["id"], reason = %row["error"], "reward not computed");
            }
            let written: Written = db
                .rpc("write_rewards", &json!({ "p_rewards": rows }))
                .await?;
            report.ok_count += written.written;
            report.failed_count += written.errors;
            report.skipped += written.skipped;
            if batch.len() < BATCH {
                break;
            }
        }
    }
    report.remaining = if drained {
        0
    } else {
        let pending: Pending = db.rpc("count_pending_rewards", &json!({})).await?;
        pending.pending
    };
    Ok(RunSummary::new(report.status(ctx.dry_run), &*report))
}
