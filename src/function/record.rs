//! The run history: every invocation that gets past the method, credential and
//! configuration checks leaves exactly one `cron_runs` row (SQL:
//! `supabase/schemas/20_run_history.sql`).
//!
//! [`Recorder::begin`] opens the run (`begin_cron_run`): it keeps `cron_schedules` current,
//! marks the job's unfinished runs past `maxDuration` as `error`, and counts the job's
//! pending work. When there is none (most cron ticks), that same request records the run as
//! finished with the job's idle answer ([`crate::jobs::IdleCheck`]), and the job's code does
//! not run: an idle tick costs one request. Otherwise the run's row is `running` from its
//! first moment, so a run killed by Vercel at `maxDuration` still leaves a trace, and
//! [`Recorder::finish`] writes its status, counts and error as it ends (`finish_cron_run`,
//! which also prunes the job's runs older than the retention; an idle run prunes too).
//! Dry runs skip the idle check: they always run, to answer their counts.
//!
//! Refused requests (405, 401, 500 configuration) are not runs and write nothing: an
//! unauthenticated caller must not be able to fill the table. Recording never changes
//! the answer: a failed write is reported in the invocation's one log line
//! (`record_error`) and the run goes on (a failed `begin` runs the job as usual).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary};
use crate::jobs::IdleCheck;
use crate::supabase::Supabase;

/// Longest error summary stored (characters).
const MAX_ERROR_CHARS: usize = 1000;

/// Records one run in `cron_runs`.
pub struct Recorder<'a> {
    db: &'a Supabase,
    ctx: &'a RunContext,
    deployment_id: Option<&'a str>,
    keep_days: u64,
}

impl<'a> Recorder<'a> {
    /// A recorder for the run `ctx`, writing through `db`.
    pub fn new(db: &'a Supabase, ctx: &'a RunContext, config: &'a Config) -> Self {
        Recorder {
            db,
            ctx,
            deployment_id: config.deployment_id(),
            keep_days: config.tunables.run_retention_days,
        }
    }

    /// Opens the run: records it as finished when `idle` is given and the job has nothing
    /// pending ([`Begun::Idle`]: answer `idle.summary`, the run is recorded), otherwise as
    /// `running`. A failure is described, for the invocation's log line; the run goes on.
    pub async fn begin(&self, idle: Option<&IdleCheck>) -> Result<Begun, String> {
        #[derive(Deserialize)]
        struct Opened {
            idle: bool,
        }
        let job = self.ctx.job;
        let args = json!({
            "p_run_id": self.ctx.run_id,
            "p_job": job.name(),
            "p_trigger": self.ctx.trigger.as_str(),
            "p_dry_run": self.ctx.dry_run,
            "p_deployment_id": self.deployment_id,
            "p_schedule": job.schedule(),
            "p_path": job.path(),
            "p_max_duration_secs": job.max_duration_secs(),
            "p_idle": idle.map(|idle| json!({ "work": idle.work, "counts": idle.summary.counts })),
            "p_duration_ms": self.elapsed_ms(),
            "p_keep_days": self.keep_days,
        });
        match self.db.rpc::<Opened>("begin_cron_run", &args).await {
            Ok(Opened { idle: true }) => Ok(Begun::Idle),
            Ok(Opened { idle: false }) => Ok(Begun::Running),
            Err(e) => Err(format!("could not record the start in cron_runs: {e}")),
        }
    }

    fn elapsed_ms(&self) -> i64 {
        self.ctx.elapsed().as_millis().min(i32::MAX as u128) as i64
    }

    /// Writes how the run ended (the whole row if the start was not recorded). A failure
    /// is described, for the invocation's log line.
    pub async fn finish(&self, result: &Result<RunSummary, RunFailure>) -> Result<(), String> {
        let (status, counts, error): (RunStatus, &Map<String, Value>, Option<String>) = match result
        {
            Ok(summary) => (summary.status, &summary.counts, None),
            Err(failure) => (
                RunStatus::Error,
                &failure.counts,
                Some(error_summary(failure)),
            ),
        };
        let args = json!({
            "p_run_id": self.ctx.run_id,
            "p_job": self.ctx.job.name(),
            "p_trigger": self.ctx.trigger.as_str(),
            "p_status": status.as_str(),
            "p_duration_ms": self.elapsed_ms(),
            "p_counts": counts,
            "p_error": error,
            "p_dry_run": self.ctx.dry_run,
            "p_deployment_id": self.deployment_id,
            "p_keep_days": self.keep_days,
            "p_schedule": self.ctx.job.schedule(),
            "p_path": self.ctx.job.path(),
            "p_max_duration_secs": self.ctx.job.max_duration_secs(),
        });
        match self.db.rpc::<Value>("finish_cron_run", &args).await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!(
                "could not record this {} run in cron_runs: {e}",
                status.as_str()
            )),
        }
    }
}

/// How [`Recorder::begin`] opened a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The job had nothing pending: the run is recorded as finished with its idle answer.
    Idle,
    /// The run is recorded as `running`; the job runs and [`Recorder::finish`] ends it.
    Running,
}

/// The stored error: the answer's public message (what failed and what to do; never
/// secrets or row data), prefixed with its code and cut to [`MAX_ERROR_CHARS`].
fn error_summary(failure: &RunFailure) -> String {
    let text = format!("{}: {}", failure.error.code(), failure.public_message());
    let text = crate::redact::redact(&text);
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn error_summaries_carry_the_code_and_are_bounded() {
        let short = RunFailure::from(AppError::Internal("boom".into()));
        assert_eq!(
            error_summary(&short),
            "internal: internal error; see the function log for this run id"
        );
        let long = RunFailure::from(AppError::BadRequest("x".repeat(5000)));
        assert_eq!(error_summary(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }
}
