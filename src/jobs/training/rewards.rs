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
use crate::error::{AppError, cap_error};
use crate::invocation::{RunContext, RunFailure, RunSummary};
use crate::jobs::rows::{RawRows, decode_rows};
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

/// What identifies a pending decision even when the rest of its row cannot be read.
#[derive(Deserialize)]
struct DecisionKey {
    id: Uuid,
}

/// A batch of `pending_rewards` decoded row by row ([`crate::jobs::rows`]): the decisions
/// that decoded, and a `write_rewards` error row for each that did not (a NaN or infinite
/// `resolution_seconds`, an infinite `decided_at`): that decision's `last_error`.
pub struct PendingBatch {
    /// Decisions to compute.
    pub rows: Vec<PendingReward>,
    /// `{"id", "error"}` rows for the decisions that cannot be read.
    pub refused: Vec<Value>,
}

/// Decodes a `pending_rewards` answer one decision at a time.
pub fn decode_batch(raw: RawRows) -> PendingBatch {
    let decoded = decode_rows::<PendingReward, DecisionKey>(raw);
    let mut refused = Vec::new();
    for row in decoded.refused {
        match row.key {
            Some(key) => refused.push(json!({ "id": key.id, "error": cap_error(&format!("decision cannot be read: {}", row.reason)) })),
            None => tracing::error!(reason = %row.reason, "a pending decision has no readable id"),
        }
    }
    PendingBatch {
        rows: decoded.rows,
        refused,
    }
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
        Err(error) => json!({ "id": pending.id, "error": cap_error(&error.to_string()) }),
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
            let raw: RawRows = db
                .rpc("pending_rewards", &json!({ "p_limit": BATCH }))
                .await?;
            let fetched = raw.0.len();
            if fetched == 0 {
                drained = true;
                break;
            }
            report.batches += 1;
            report.processed += fetched;
            let batch = decode_batch(raw);
            let mut rows: Vec<Value> = batch.rows.iter().map(|p| compute(p, weights)).collect();
            rows.extend(batch.refused);
            for row in rows.iter().filter(|r| r.get("error").is_some()).take(20) {
                tracing::warn!(decision_id = %row["id"], reason = %row["error"], "reward not computed");
            }
            let written: Written = db
                .rpc("write_rewards", &json!({ "p_rewards": rows }))
                .await?;
            report.ok_count += written.written;
            report.failed_count += written.errors;
            report.skipped += written.skipped;
            if fetched < BATCH {
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
