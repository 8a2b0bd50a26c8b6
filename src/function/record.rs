//! The run history: every invocation that gets past the method, credential and
//! configuration checks leaves exactly one `cron_runs` row.
//!
//! [`Recorder::finish`] writes the row with its status, counts and error summary
//! (`finish_cron_run`: inserts the whole row unless the start was recorded, sets the job's
//! unfinished runs past `maxDuration` to `error`, keeps `cron_schedules` current, and prunes
//! the job's runs older than the retention). A run still going after [`START_RECORD_DELAY`]
//! first gets its `running` row ([`Recorder::start`], `start_cron_run`), so a run killed by
//! Vercel at `maxDuration` still leaves a trace, while a short run (most cron ticks) costs
//! one request, not two on two connections (found by the benchmark: ~3.5 ms of a cold
//! start). A process that dies within that delay leaves no row; its log line remains.
//!
//! Refused requests (405, 401, 500 configuration) are not runs and write nothing: an
//! unauthenticated caller must not be able to fill the table. Recording never changes
//! the answer: a failed write is reported in the invocation's one log line
//! (`record_error`) and the run goes on.

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::run::{RunContext, RunFailure, RunStatus, RunSummary};
use crate::supabase::Supabase;

/// Longest error summary stored (characters).
const MAX_ERROR_CHARS: usize = 1000;

/// A run still going after this long gets its `running` row before it ends.
pub const START_RECORD_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

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

    /// Inserts the run's `running` row. A failure is described, for the invocation's log
    /// line; the run goes on.
    pub async fn start(&self) -> Result<(), String> {
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
        });
        match self.db.rpc::<Value>("start_cron_run", &args).await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("could not record the start in cron_runs: {e}")),
        }
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
            "p_duration_ms": self.ctx.elapsed().as_millis().min(i32::MAX as u128) as i64,
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

/// The stored error: the answer's public message (what failed and what to do; never
/// secrets or row data), prefixed with its code and cut to [`MAX_ERROR_CHARS`].
fn error_summary(failure: &RunFailure) -> String {
    let text = format!(
        "{}: {}",
        failure.error.code(),
        failure.error.public_message()
    );
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
