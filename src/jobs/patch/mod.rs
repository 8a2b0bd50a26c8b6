//! The patch job (`api/cron/patch`): every queued state patch applied exactly once, in
//! order per conversation, with retries and crash recovery, in batches (seed 000).
//!
//! One run: claim a batch (whole conversations, leased) together with its state rows —
//! one round trip (the last, empty claim also says how many jobs are still due, so an empty
//! queue costs one request); plan each unit in memory ([`plan`]); commit every unit in one round
//! trip, each unit atomically with compare-and-swap on its rows and fenced by the lease.
//! A unit whose rows moved (another writer, e.g. the chat route) is retried after
//! 80 ms × 2^k, up to `PATCH_CONFLICT_RETRIES` times, with a fresh read of just its rows;
//! then its jobs become `failed` with a backoff `run_after`, or `dead` at `max_attempts`.
//! Batches repeat until the queue is empty or the time budget is nearly spent; from the
//! second batch on, the next claim is sent while the current batch commits (two requests in
//! flight, other conversations), so the round trip and the database's work overlap.
//!
//! Job lifecycle (moved only by the SQL functions in `supabase/schemas/30_patch_queue.sql`;
//! the `patch_jobs` table is the app's, `supabase/schemas/10_app_contract.sql`):
//!
//! ```text
//!  pending ──claim──▶ processing ──commit──▶ done
//!     ▲                 │  │  └──permanent error / max attempts──▶ dead
//!     │      release    │  └──conflicts exhausted──▶ failed ──run_after──▶ (claimed again)
//!     └─────────────────┘     lease expired: claimed again by a later run
//!  failed / dead ──requeue_patch_jobs──▶ pending
//! ```

pub mod document;
pub mod plan;
pub mod store;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use self::plan::{Unit, UnitPlan, group_units, plan_unit};
use self::store::{Claimed, DeadJob, QueueCounts, UnitAction, UnitResult};
use super::failure_log::FailureLog;
use crate::config::Tunables;
use crate::error::{AppError, cap_error};
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary};
use crate::retry::RetryPolicy;
use crate::supabase::Supabase;

/// Seconds a lease outlives the run's remaining budget (a killed run's jobs are reclaimed
/// this long after its budget ends).
const LEASE_MARGIN_SECS: u64 = 30;

/// How the patch job runs.
#[derive(Clone, Debug)]
pub struct PatchSettings {
    /// Jobs claimed per batch.
    pub batch_size: usize,
    /// In-run retries after a version conflict.
    pub conflict_retries: u32,
    /// First conflict backoff (doubles each retry).
    pub conflict_backoff: Duration,
    /// The clock the SQL functions use: `None` is the database's `now()`; tests set it to
    /// move time instead of sleeping.
    pub now: Option<DateTime<Utc>>,
}

impl PatchSettings {
    /// Settings from the operator's tunables.
    pub fn from_tunables(tunables: &Tunables) -> Self {
        PatchSettings {
            batch_size: tunables.patch_batch_size as usize,
            conflict_retries: tunables.patch_conflict_retries as u32,
            conflict_backoff: Duration::from_millis(tunables.patch_conflict_backoff_ms),
            now: None,
        }
    }
}

/// The counts a patch run answers (seed 000's health check fields, plus ours).
#[derive(Debug, Default, Serialize)]
pub struct PatchReport {
    /// Jobs claimed and handled by this run.
    pub processed: usize,
    /// Jobs applied (`done`).
    pub ok_count: usize,
    /// Jobs that failed this run and will be retried later (`failed`).
    pub failed_count: usize,
    /// Jobs given up on (`dead`).
    pub dead_count: usize,
    /// Jobs still due when the run ended (`null` if they could not be counted).
    pub remaining: Option<i64>,
    /// Batches claimed.
    pub batches: usize,
    /// Version conflicts met (each retried or failed).
    pub conflicts: usize,
    /// Jobs whose lease another run took over (that run applies them).
    pub lease_lost: usize,
    /// Jobs handed back unstarted because the budget ran out.
    pub released: usize,
    /// Open jobs by status (dry runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueCounts>,
    /// Failures logged one line each per run; the rest are only counted.
    #[serde(skip)]
    failures: FailureLog,
}

/// The answer of a run that finds no job due (most ticks; see [`crate::jobs::IdleCheck`]).
pub fn idle_summary() -> RunSummary {
    let report = PatchReport {
        remaining: Some(0),
        ..PatchReport::default()
    };
    RunSummary::new(RunStatus::Ok, &report)
}

/// One run of the patch job. If Supabase fails midway, the failure carries the counts of
/// the batches committed before.
pub async fn run(
    ctx: &RunContext,
    db: &Supabase,
    settings: &PatchSettings,
) -> Result<RunSummary, RunFailure> {
    let mut report = PatchReport::default();
    pass(ctx, db, settings, &mut report)
        .await
        .map_err(|error| RunFailure::with_counts(error, &report))
}

/// The run itself, adding to `report` as it goes (so a failure can say how far it got).
async fn pass(
    ctx: &RunContext,
    db: &Supabase,
    settings: &PatchSettings,
    report: &mut PatchReport,
) -> Result<RunSummary, AppError> {
    if ctx.dry_run {
        let queue = store::count(db, settings.now).await?;
        report.remaining = Some(queue.due);
        report.queue = Some(queue);
        return Ok(RunSummary::new(RunStatus::Ok, &*report));
    }
    let owner = ctx.lease_owner();
    let mut slowest_batch = Duration::ZERO;
    let mut stopped_early = false;
    // What the last, empty claim said is still due: `remaining` without another request.
    let mut due_at_end = None;
    // The next batch, claimed while this one was committed (see `overlap_next_claim`).
    let mut next: Option<Prefetched> = None;
    loop {
        let remaining = ctx.remaining();
        if remaining.is_zero() || (report.batches > 0 && remaining < slowest_batch * 2) {
            if let Some(prefetched) = next.take() {
                count_exhausted(report, &prefetched.claimed);
                release_unstarted(db, settings, &owner, &prefetched.claimed, report).await;
            }
            stopped_early = true;
            break;
        }
        let started = Instant::now();
        let (claimed, prefetched) = match next.take() {
            Some(p) => (p.claimed, Some(p.clean)),
            None => {
                let lease_secs = remaining.as_secs() + LEASE_MARGIN_SECS;
                let claimed =
                    store::claim(db, &owner, lease_secs, settings.batch_size, settings.now).await?;
                (claimed, None)
            }
        };
        count_exhausted(report, &claimed);
        if claimed.jobs.is_empty() {
            if !claimed.exhausted.is_empty() {
                continue;
            }
            match prefetched {
                None => {
                    due_at_end = claimed.due;
                    break;
                }
                // Claimed while the previous batch was still leased: an empty answer ends the
                // run only when nothing at all was due then and that batch left nothing
                // behind; otherwise (jobs queued behind our own lease) claim once more.
                Some(true) if claimed.due == Some(0) => {
                    due_at_end = claimed.due;
                    break;
                }
                Some(_) => continue,
            }
        }
        report.batches += 1;
        report.processed += claimed.jobs.len();
        if overlap_next_claim(ctx, report, slowest_batch) {
            let before = (report.conflicts, report.released, report.lease_lost);
            let lease_secs = ctx.remaining().as_secs() + LEASE_MARGIN_SECS;
            let (committed, claimed_next) = tokio::join!(
                process_batch(ctx, db, settings, &owner, claimed, report),
                store::claim(db, &owner, lease_secs, settings.batch_size, settings.now)
            );
            match (committed, claimed_next) {
                (Ok(()), Ok(claimed_next)) => {
                    let clean = before == (report.conflicts, report.released, report.lease_lost);
                    next = Some(Prefetched {
                        claimed: claimed_next,
                        clean,
                    });
                }
                (Err(e), Ok(claimed_next)) => {
                    count_exhausted(report, &claimed_next);
                    release_unstarted(db, settings, &owner, &claimed_next, report).await;
                    return Err(e);
                }
                (Err(e), Err(_)) => return Err(e),
                (Ok(()), Err(e)) => return Err(e.into()),
            }
        } else {
            process_batch(ctx, db, settings, &owner, claimed, report).await?;
        }
        slowest_batch = slowest_batch.max(started.elapsed());
    }
    report.remaining = match due_at_end {
        Some(due) => Some(due),
        None => match store::count(db, settings.now).await {
            Ok(queue) => Some(queue.due),
            Err(e) => {
                tracing::warn!(cause = %e, "could not count the remaining jobs");
                None
            }
        },
    };
    let unlogged = report.failures.unlogged();
    if unlogged > 0 {
        tracing::warn!(unlogged, "more job failures not logged");
    }
    let left_work = stopped_early && report.remaining.unwrap_or(1) > 0;
    let status = if report.failed_count + report.dead_count > 0 || left_work {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    Ok(RunSummary::new(status, &*report))
}

/// A batch claimed while the one before it was being committed.
struct Prefetched {
    claimed: Claimed,
    /// The batch before it met no conflict, release or lost lease (so an empty claim's
    /// `due` is still the run's `remaining`).
    clean: bool,
}

/// Whether to claim the next batch while this one commits: the two requests overlap (the
/// claim reads other conversations than the leased ones, so order and exactly-once are the
/// claim's and the commit's as ever). Only once a batch's time is known, and only when the
/// budget leaves room for this batch and the next.
fn overlap_next_claim(ctx: &RunContext, report: &PatchReport, slowest_batch: Duration) -> bool {
    report.batches > 1 && ctx.remaining() >= slowest_batch * 3
}

/// Counts and logs the jobs a claim made dead for exceeding `max_attempts`.
fn count_exhausted(report: &mut PatchReport, claimed: &Claimed) {
    // Jobs past max_attempts were made dead by the claim itself (a run that claimed them
    // kept stopping before its commit): counted, logged, never leased again.
    report.processed += claimed.exhausted.len();
    report.dead_count += claimed.exhausted.len();
    for id in &claimed.exhausted {
        log_failure(
            report,
            *id,
            "dead",
            "claimed max_attempts times, never committed",
        );
    }
}

/// Hands a claimed batch back unstarted (the run stops before it); if that fails, the
/// jobs' lease runs out and a later run takes them.
async fn release_unstarted(
    db: &Supabase,
    settings: &PatchSettings,
    owner: &str,
    claimed: &Claimed,
    report: &mut PatchReport,
) {
    if claimed.jobs.is_empty() {
        return;
    }
    let jobs: Vec<i64> = claimed.jobs.iter().map(|j| j.id).collect();
    match store::commit(db, owner, &[UnitAction::Release { jobs }], settings.now).await {
        Ok(results) => {
            for result in results {
                if result.result == "released" {
                    report.released += claimed.jobs.len();
                }
            }
        }
        Err(e) => {
            tracing::warn!(cause = %e, jobs = claimed.jobs.len(), "could not hand back a claimed batch; its lease runs out");
        }
    }
}

/// Commits one claimed batch, retrying the units that meet version conflicts.
async fn process_batch(
    ctx: &RunContext,
    db: &Supabase,
    settings: &PatchSettings,
    owner: &str,
    claimed: Claimed,
    report: &mut PatchReport,
) -> Result<(), AppError> {
    let mut states = claimed.states;
    let mut units = group_units(&claimed.jobs);
    let mut retry = 0u32;
    loop {
        let plans: Vec<UnitPlan> = units.iter().map(|unit| plan_unit(unit, &states)).collect();
        let actions: Vec<UnitAction> = units
            .iter()
            .zip(&plans)
            .map(|(u, p)| commit_action(u, p))
            .collect();
        let results = store::commit(db, owner, &actions, settings.now).await?;
        let mut conflicted = Vec::new();
        for result in results {
            let (unit, plan) = (&units[result.unit], &plans[result.unit]);
            match result.result.as_str() {
                "committed" => {
                    report.ok_count += plan.done.len();
                    report.dead_count += plan.dead.len();
                    for (id, reason) in &plan.dead {
                        log_failure(report, *id, "dead", reason);
                    }
                }
                "conflict" => {
                    report.conflicts += 1;
                    conflicted.push(with_attempt(unit));
                }
                _ => {
                    report.lease_lost += unit.jobs.len();
                    tracing::warn!(jobs = ?job_ids(unit), "lease taken over by another run; it applies these jobs");
                }
            }
        }
        if conflicted.is_empty() {
            return Ok(());
        }
        // Units at max_attempts, or past the in-run retries, fail now; the rest retry.
        let (exhausted, retrying): (Vec<Unit>, Vec<Unit>) = conflicted.into_iter().partition(|u| {
            retry >= settings.conflict_retries
                || u.jobs.iter().any(|j| j.attempts >= j.max_attempts)
        });
        let delay = RetryPolicy::conflict(settings.conflict_backoff).delay(retry, fastrand::f64());
        let (to_release, retrying): (Vec<Unit>, Vec<Unit>) = if ctx.remaining() < delay * 2 {
            (retrying, Vec::new())
        } else {
            (Vec::new(), retrying)
        };
        finish_without_commit(db, settings, owner, exhausted, to_release, report).await?;
        if retrying.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(delay).await;
        retry += 1;
        let conversations: Vec<Uuid> = retrying
            .iter()
            .flat_map(|u| u.jobs.iter().map(|j| j.conversation_id))
            .collect();
        let characters: Vec<Uuid> = retrying
            .iter()
            .flat_map(|u| u.jobs.iter().filter_map(|j| j.character_id))
            .collect();
        states = store::read_states(db, &conversations, &characters).await?;
        units = retrying;
    }
}

/// Fails units whose conflicts are exhausted and releases units the budget cannot retry.
async fn finish_without_commit(
    db: &Supabase,
    settings: &PatchSettings,
    owner: &str,
    exhausted: Vec<Unit>,
    to_release: Vec<Unit>,
    report: &mut PatchReport,
) -> Result<(), AppError> {
    if exhausted.is_empty() && to_release.is_empty() {
        return Ok(());
    }
    let now = settings.now.unwrap_or_else(Utc::now);
    let mut actions = Vec::new();
    for unit in &exhausted {
        let attempts = unit
            .jobs
            .iter()
            .map(|j| j.attempts)
            .max()
            .unwrap_or(1)
            .max(1) as u32;
        let backoff = RetryPolicy::failed_job().delay(attempts - 1, fastrand::f64());
        actions.push(UnitAction::Fail {
            jobs: job_ids(unit),
            error: format!(
                "version conflict on every attempt: the state kept changing while the patch was applied \
                 ({attempts} attempts); a later run retries"
            ),
            run_after: now + chrono::Duration::from_std(backoff).unwrap_or_default(),
        });
    }
    for unit in &to_release {
        actions.push(UnitAction::Release {
            jobs: job_ids(unit),
        });
    }
    let results: Vec<UnitResult> = store::commit(db, owner, &actions, settings.now).await?;
    for result in results {
        let unit = if result.unit < exhausted.len() {
            &exhausted[result.unit]
        } else {
            &to_release[result.unit - exhausted.len()]
        };
        match result.result.as_str() {
            "failed" => {
                report.dead_count += result.dead.len();
                report.failed_count += unit.jobs.len() - result.dead.len();
                for id in job_ids(unit) {
                    log_failure(
                        report,
                        id,
                        if result.dead.contains(&id) {
                            "dead"
                        } else {
                            "failed"
                        },
                        "version conflict",
                    );
                }
            }
            "released" => report.released += unit.jobs.len(),
            _ => report.lease_lost += unit.jobs.len(),
        }
    }
    Ok(())
}

fn commit_action(unit: &Unit, plan: &UnitPlan) -> UnitAction {
    UnitAction::Commit {
        jobs: job_ids(unit),
        states: plan.writes.clone(),
        done: plan.done.clone(),
        dead: plan
            .dead
            .iter()
            .map(|(id, error)| DeadJob {
                id: *id,
                error: cap_error(error),
            })
            .collect(),
    }
}

/// The unit after a conflict: the SQL function counted one more attempt per job.
fn with_attempt(unit: &Unit) -> Unit {
    let mut unit = unit.clone();
    for job in &mut unit.jobs {
        job.attempts += 1;
    }
    unit
}

fn job_ids(unit: &Unit) -> Vec<i64> {
    unit.jobs.iter().map(|j| j.id).collect()
}

fn log_failure(report: &mut PatchReport, job_id: i64, status: &str, reason: &str) {
    if report.failures.admit() {
        tracing::warn!(job_id, status, reason = %cap_error(reason), "patch job failed");
    }
}
