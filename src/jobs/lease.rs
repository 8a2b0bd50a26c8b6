//! The singleton lease of a job (`job_locks`): one run of the memory or schedule job works
//! at a time, so two overlapping runs never pay for the same LLM calls. [`hold`] runs a job's
//! work holding it (a run that finds it held does nothing and answers `skipped`).
//!
//! The lease lasts the run's own time budget plus a minute ([`lease_seconds`]; issue #21: it
//! was `maxDuration` + 60 s whatever the budget, so a run with a longer budget outlived it and
//! a second run paid again). Before every paid call the run renews it ([`renew`], through
//! [`super::call_gate`]); a renewal that finds it taken stops the run before that call. A
//! run Vercel killed frees it by itself when it expires; a finished run releases it at once.
//! The unique keys on memories, ticks and posts make a duplicate harmless anyway: the lease
//! is about money, not correctness.
//! SQL: `acquire_job_lock` / `renew_job_lock` / `release_job_lock` in
//! `supabase/schemas/40_llm_jobs.sql`.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::invocation::RunContext;
use crate::supabase::Supabase;

/// Who holds a job's lease and until when, as `acquire_job_lock` and `renew_job_lock`
/// answer it.
#[derive(Clone, Debug, Deserialize)]
pub struct Holder {
    /// Who holds it (this run, or the run that keeps this one out).
    pub lease_owner: Option<String>,
    /// Until when.
    pub lease_until: Option<DateTime<Utc>>,
}

impl Holder {
    /// The owner, or `nobody` when the answer names none.
    fn owner<'a>(&'a self, nobody: &'a str) -> &'a str {
        self.lease_owner.as_deref().unwrap_or(nobody)
    }

    /// Until when, or `none` when the answer says nothing.
    fn until(&self, none: &str) -> String {
        self.lease_until
            .map_or_else(|| none.to_string(), |t| t.to_rfc3339())
    }
}

/// The answer of `acquire_job_lock`.
#[derive(Clone, Debug, Deserialize)]
pub struct Lease {
    /// Whether this run now holds the lease.
    pub acquired: bool,
    /// Who holds it now.
    #[serde(flatten)]
    pub holder: Holder,
}

impl Lease {
    /// Why a run that did not get the lease did nothing, for its answer and log.
    pub fn busy_reason(&self) -> String {
        format!(
            "another run ({}) holds this job's lease until {}; this run did nothing. \
             If that run is gone, the lease expires by itself (or see docs/operations.md: clear a stale job_locks row)",
            self.holder.owner("unknown"),
            self.holder.until("unknown")
        )
    }
}

/// What [`hold`] did.
pub enum Held<T> {
    /// This run took the lease, ran the work, and released the lease.
    Ran(T),
    /// Another live run holds the lease; the work did not run. Why, for the answer.
    Busy(String),
}

/// Runs `work` holding the job's lease and releases the lease after it (whatever `work`
/// returned). When another live run holds the lease, logs why and runs nothing.
pub async fn hold<T>(
    db: &Supabase,
    ctx: &RunContext,
    now: DateTime<Utc>,
    work: impl Future<Output = T>,
) -> Result<Held<T>, AppError> {
    let held = acquire(db, ctx, now).await?;
    if !held.acquired {
        let reason = held.busy_reason();
        tracing::info!(reason = %reason, "{} run skipped", ctx.job);
        return Ok(Held::Busy(reason));
    }
    let done = work.await;
    release(db, ctx).await;
    Ok(Held::Ran(done))
}

/// Takes the job's lease for this run, if no live run holds it.
pub async fn acquire(
    db: &Supabase,
    ctx: &RunContext,
    now: DateTime<Utc>,
) -> Result<Lease, AppError> {
    Ok(db
        .rpc(
            "acquire_job_lock",
            &json!({
                "p_job": ctx.job.name(),
                "p_owner": ctx.lease_owner(),
                "p_lease_seconds": lease_seconds(ctx),
                "p_now": now,
            }),
        )
        .await?)
}

/// How long the lease is taken or renewed for: what is left of the run's budget, plus a
/// minute for the writes after its last call (and for clocks that disagree a little).
pub fn lease_seconds(ctx: &RunContext) -> u64 {
    ctx.remaining().as_secs() + 1 + LEASE_MARGIN_SECS
}

/// The lease's margin beyond the run's budget.
pub const LEASE_MARGIN_SECS: u64 = 60;

/// The answer of `renew_job_lock`.
#[derive(Clone, Debug, Deserialize)]
pub struct Renewal {
    /// Whether this run still holds the lease (now extended).
    pub held: bool,
    /// Who holds it now.
    #[serde(flatten)]
    pub holder: Holder,
}

impl Renewal {
    /// Why the run stopped, when it no longer holds the lease.
    pub fn lost_reason(&self) -> String {
        format!(
            "this run's lease was taken by {} (until {}) while it worked; it stopped before its next paid call. \
             Another run took an expired lease: check that SUPACRON_TIME_BUDGET_SECS fits the job and the clocks agree",
            self.holder.owner("nobody (it was cleared)"),
            self.holder.until("-")
        )
    }
}

/// Extends this run's lease at `now` if it still holds it (see [`lease_seconds`]).
pub async fn renew(
    db: &Supabase,
    ctx: &RunContext,
    now: DateTime<Utc>,
) -> Result<Renewal, AppError> {
    Ok(db
        .rpc(
            "renew_job_lock",
            &json!({
                "p_job": ctx.job.name(),
                "p_owner": ctx.lease_owner(),
                "p_lease_seconds": lease_seconds(ctx),
                "p_now": now,
            }),
        )
        .await?)
}

/// Frees the lease if this run still holds it. A failure is logged, not raised: the lease
/// expires by itself.
pub async fn release(db: &Supabase, ctx: &RunContext) {
    let released: Result<bool, _> = db
        .rpc(
            "release_job_lock",
            &json!({ "p_job": ctx.job.name(), "p_owner": ctx.lease_owner() }),
        )
        .await;
    if let Err(error) = released {
        tracing::warn!(error = %error, "could not release the job's lease; it expires by itself");
    }
}
