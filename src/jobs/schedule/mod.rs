//! Schedule ticks (`api/cron/schedule`, `0 * * * *`): characters' posts and diary entries,
//! generated once per slot of each `character_schedules` row (SQL:
//! `supabase/schemas/40_llm_jobs.sql`; schedules and posts are the app's tables).
//!
//! One run: take the job's lease ([`super::lease`]), read the due schedules, compute in Rust
//! ([`slots`]) which slots fire, which are skipped (catch-up policy) and each row's next
//! run time, and record all of that in one round trip (`advance_schedules`: ticks unique per
//! schedule and slot, each row fenced by the `next_run_at` it was read with). Then generate
//! content for the open ticks (new ones and those a failed call left), at most
//! `SCHEDULE_MAX_TICKS_PER_RUN`, `LLM_CONCURRENCY` calls at once, and store each post with
//! its tick marked done in one SQL function (`complete_schedule_tick`, unique per tick).
//!
//! A row with an invalid expression, zone or policy gets `last_error` and `next_run_at =
//! NULL` and stays enabled: it is checked again every run and works again as soon as it is
//! fixed, without stopping the others. An LLM failure marks the tick `failed` (retried by
//! later runs, up to [`MAX_TICK_ATTEMPTS`] times).

pub mod prompt;
pub mod slots;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::prompt::OpenTick;
use self::slots::Plan;
use super::call_gate::CallGate;
use super::failure_log::FailureLog;
use super::lease::{self, Held};
use super::llm_items::{self, Generated, ItemOutcome, Tally};
use crate::config::Tunables;
use crate::error::{AppError, cap_error};
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary};
use crate::jobs::rows::{RawRows, decode_rows};
use crate::llm::Llm;
use crate::supabase::Supabase;

/// Failed generations after which a tick is no longer retried.
pub const MAX_TICK_ATTEMPTS: i32 = 5;
/// Due schedules read per run.
const MAX_DUE_SCHEDULES: usize = 500;

/// How the schedule job runs (from the tunables; tests set `now`).
#[derive(Clone, Debug)]
pub struct ScheduleSettings {
    /// Ticks generated per run at most.
    pub max_ticks: u64,
    /// LLM calls in flight at once.
    pub concurrency: u64,
    /// `max_tokens` per call.
    pub max_tokens: u64,
    /// Tokens the job may spend per UTC day (`LLM_DAILY_TOKEN_BUDGET`; `None`: no cap).
    pub daily_token_budget: Option<u64>,
    /// The time the run acts at (`None`: the clock). Tests move time with it.
    pub now: Option<DateTime<Utc>>,
}

impl ScheduleSettings {
    /// Settings from the operator's tunables.
    pub fn from_tunables(t: &Tunables) -> Self {
        ScheduleSettings {
            max_ticks: t.schedule_max_ticks,
            concurrency: t.llm_concurrency,
            max_tokens: t.minimax_max_tokens,
            daily_token_budget: t.llm_daily_token_budget,
            now: None,
        }
    }
}

/// What a schedule run answers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScheduleReport {
    /// Due schedules looked at.
    pub schedules_due: usize,
    /// Schedules that cannot be scheduled (their `last_error` says why).
    pub invalid: usize,
    /// New ticks recorded to fire.
    pub ticks_fired: i64,
    /// Missed slots recorded as skipped (catch-up policy).
    pub ticks_skipped: i64,
    /// Ticks content was generated for, and how each ended (`ok_count`: posts written,
    /// `failed_count`: generation failed, retried by a later run; `left_for_later`), with
    /// the LLM usage.
    #[serde(flatten)]
    pub items: Tally,
    /// Open ticks and due schedules when the run ended.
    pub remaining: i64,
    /// Why the run did nothing, when it did nothing on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
}

/// What identifies an open tick even when the rest of its row cannot be read.
#[derive(Deserialize)]
struct TickKey {
    tick_id: i64,
}

#[derive(Deserialize)]
struct Advanced {
    fired: i64,
    skipped: i64,
}

#[derive(Deserialize)]
struct Work {
    due_schedules: i64,
    open_ticks: i64,
    #[serde(default)]
    waiting_for_fix: i64,
}

/// The answer of a run that finds nothing to do (most hours; see
/// [`crate::jobs::IdleCheck`]).
pub fn idle_summary() -> RunSummary {
    RunSummary::new(RunStatus::Ok, &ScheduleReport::default())
}

/// One run of the schedule job.
pub async fn run(
    ctx: &RunContext,
    db: &Supabase,
    llm: &Llm,
    settings: &ScheduleSettings,
) -> Result<RunSummary, RunFailure> {
    let now = settings.now.unwrap_or_else(Utc::now);
    let mut report = ScheduleReport::default();
    if ctx.dry_run {
        report.remaining = count_work(db, now).await?;
        return Ok(RunSummary::new(RunStatus::Ok, &report));
    }
    // Nothing to do (most hours): one request, no lease. Rows waiting for a fix count as
    // work, because every run checks them again.
    let work_left = read_work(db, now).await?;
    if work_left.due_schedules + work_left.open_ticks + work_left.waiting_for_fix == 0 {
        return Ok(idle_summary());
    }
    let work = async {
        advance(db, now, &mut report).await?;
        generate_open(ctx, db, llm, settings, now, &mut report).await
    };
    let result = match lease::hold(db, ctx, now, work).await? {
        Held::Ran(result) => result,
        Held::Busy(reason) => {
            report.skipped_reason = Some(reason);
            report.remaining = work_left.due_schedules + work_left.open_ticks;
            return Ok(RunSummary::new(RunStatus::Skipped, &report));
        }
    };
    // A failure midway still reports what the run did before it.
    if let Err(error) = result {
        return Err(RunFailure::with_counts(error, &report));
    }
    report.remaining = count_work(db, now).await?;
    let status = llm_items::status(&report.items, report.invalid, report.remaining);
    Ok(RunSummary::new(status, &report))
}

/// Open ticks plus valid due schedules.
async fn count_work(db: &Supabase, now: DateTime<Utc>) -> Result<i64, AppError> {
    let work = read_work(db, now).await?;
    Ok(work.due_schedules + work.open_ticks)
}

async fn read_work(db: &Supabase, now: DateTime<Utc>) -> Result<Work, AppError> {
    Ok(db
        .rpc(
            "count_schedule_work",
            &json!({ "p_now": now, "p_max_attempts": MAX_TICK_ATTEMPTS }),
        )
        .await?)
}

/// Records fired and skipped ticks and every due row's next run time.
async fn advance(
    db: &Supabase,
    now: DateTime<Utc>,
    report: &mut ScheduleReport,
) -> Result<(), AppError> {
    let raw: RawRows = db
        .rpc(
            "due_schedules",
            &json!({ "p_now": now, "p_limit": MAX_DUE_SCHEDULES }),
        )
        .await?;
    let (due, refused) = slots::decode_due(raw);
    report.schedules_due = due.len() + refused.len();
    if report.schedules_due == 0 {
        return Ok(());
    }
    let mut plans: Vec<Plan> = due.iter().map(|row| slots::plan(row, now)).collect();
    for plan in &mut plans {
        plan.error = plan.error.as_deref().map(cap_error);
    }
    let failures = FailureLog::default();
    let errors = plans
        .iter()
        .filter_map(|p| Some((p.id, p.error.as_deref()?)))
        .chain(refused.iter().map(|p| (p.id, p.error.as_str())));
    for (id, error) in errors {
        report.invalid += 1;
        if failures.admit() {
            tracing::warn!(
                schedule_id = %id,
                error,
                "schedule skipped: fix the row (its last_error says how); the others go on"
            );
        }
    }
    let mut sent: Vec<serde_json::Value> = plans.iter().map(|p| json!(p)).collect();
    sent.extend(refused.iter().map(|p| json!(p)));
    let advanced: Advanced = db
        .rpc(
            "advance_schedules",
            &json!({ "p_plans": sent, "p_now": now }),
        )
        .await?;
    report.ticks_fired = advanced.fired;
    report.ticks_skipped = advanced.skipped;
    Ok(())
}

async fn generate_open(
    ctx: &RunContext,
    db: &Supabase,
    llm: &Llm,
    settings: &ScheduleSettings,
    now: DateTime<Utc>,
    report: &mut ScheduleReport,
) -> Result<(), AppError> {
    let raw: RawRows = db
        .rpc(
            "open_schedule_ticks",
            &json!({ "p_limit": settings.max_ticks, "p_max_attempts": MAX_TICK_ATTEMPTS }),
        )
        .await?;
    let decoded = decode_rows::<OpenTick, TickKey>(raw);
    let failures = FailureLog::default();
    // A tick whose row cannot be read fails like a failed call (retried, given up after
    // MAX_TICK_ATTEMPTS); the others go on.
    for refused in &decoded.refused {
        let Some(key) = &refused.key else { continue };
        let error = format!("tick cannot be read: {}", refused.reason);
        if failures.admit() {
            tracing::warn!(tick_id = key.tick_id, error = %error, "post not written");
        }
        let _: serde_json::Value = db
            .rpc(
                "fail_schedule_tick",
                &json!({ "p_tick_id": key.tick_id, "p_error": error }),
            )
            .await?;
    }
    let gate = CallGate::new(ctx, db, now, settings.daily_token_budget);
    let work: Vec<_> = decoded
        .rows
        .iter()
        .map(|tick| generate_one(&gate, db, llm, settings, tick, &failures))
        .collect();
    let (mut tally, error) = llm_items::run_items(&gate, work, settings.concurrency).await;
    tally.processed += decoded.refused.len();
    tally.failed_count += decoded.refused.len();
    report.items = tally;
    error.map_or(Ok(()), Err)
}

async fn generate_one(
    gate: &CallGate<'_>,
    db: &Supabase,
    llm: &Llm,
    settings: &ScheduleSettings,
    tick: &OpenTick,
    failures: &FailureLog,
) -> Result<ItemOutcome, AppError> {
    let generated = llm_items::generate(
        gate,
        llm,
        settings.max_tokens,
        || prompt::messages(tick),
        prompt::parse,
        || prompt::offline(tick),
    )
    .await?;
    let (content, completion) = match generated {
        Generated::Done(content, completion) => (content, completion),
        Generated::Left => return Ok(ItemOutcome::Left),
        Generated::Failed(error) => {
            if failures.admit() {
                tracing::warn!(
                    tick_id = tick.tick_id,
                    schedule_id = %tick.schedule_id,
                    class = error.class.as_str(),
                    http_status = error.status,
                    error = %error,
                    "post not written: the LLM call failed; the tick stays open for a later run"
                );
            }
            let _: serde_json::Value = db
                .rpc(
                    "fail_schedule_tick",
                    &json!({ "p_tick_id": tick.tick_id, "p_error": cap_error(&error.to_string()) }),
                )
                .await?;
            return Ok(ItemOutcome::Failed);
        }
    };
    let (model, prompt_tokens, completion_tokens) = llm_items::provenance(&completion);
    let written: String = db
        .rpc(
            "complete_schedule_tick",
            &json!({
                "p_tick_id": tick.tick_id,
                "p_content": content,
                "p_model": model,
                "p_prompt_tokens": prompt_tokens,
                "p_completion_tokens": completion_tokens,
            }),
        )
        .await?;
    Ok(if written == "written" {
        ItemOutcome::Written(completion)
    } else {
        ItemOutcome::NotWritten(completion)
    })
}
