//! The singleton lease of a job (`job_locks`): one run of the memory or schedule job works
//! at a time, so two overlapping runs never pay for the same LLM calls. [`hold`] runs a job's
//! work holding it (a run that finds it held does nothing and answers `skipped`).
//!
//! The lease lasts the job's `maxDuration` plus a minute, so a run Vercel killed frees it
//! by itself; a finished run releases it at once. The unique keys on memories, ticks and
//! posts make a duplicate harmless anyway: the lease is about money, not correctness.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::invocation::RunContext;
use crate::supabase::Supabase;

/// The answer of `acquire_job_lock`.
#[derive(Clone, Debug, Deserialize)]
pub struct Lease {
    /// Whether this run now holds the lease.
    pub acquired: bool,
    /// Who holds it (this run, or the run that keeps this one out).
    pub lease_owner: Option<String>,
    /// Until when.
    pub lease_until: Option<DateTime<Utc>>,
}

impl Lease {
    /// Why a run that did not get the lease did nothing, for its answer and log.
    pub fn busy_reason(&self) -> String {
        format!(
            "another run ({}) holds this job's lease until {}; this run did nothing. \
             If that run is gone, the lease expires by itself (or see docs/operations.md: clear a stale job_locks row)",
            self.lease_owner.as_deref().unwrap_or("unknown"),
            self.lease_until
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "unknown".into())
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
    let seconds = ctx.job.max_duration_secs() + 60;
    Ok(db
        .rpc(
            "acquire_job_lock",
            &json!({
                "p_job": ctx.job.name(),
                "p_owner": ctx.lease_owner(),
                "p_lease_seconds": seconds,
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
